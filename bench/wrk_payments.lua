-- `make bench BENCH=payments`: the bench's sequence of signed notifications for one wrk
-- thread, followed by bench/wrk_report.lua. The requests are read from files (one
-- "signature<TAB>body" line per event, one event number per position). The arguments: the
-- position to start from (after the warm-up's), the two files, the webhook's path and the
-- signature's header.
bench_counters = {"issued", "fillers", "received", "duplicate", "applied", "other"}
local offset, lines_path, order_path, path, header = 0, nil, nil, nil, nil
local lines = {}
local order = {}
local built = nil
local filler = nil

function bench_init(args)
  offset = tonumber(args[1]) or 0
  lines_path, order_path, path, header = args[2], args[3], args[4], args[5]
  for line in io.lines(lines_path) do
    lines[#lines + 1] = line
  end
  for line in io.lines(order_path) do
    order[#order + 1] = tonumber(line) + 1
  end
end

function request()
  if built == nil then
    built = {}
    for i, line in ipairs(lines) do
      local tab = string.find(line, "\t", 1, true)
      local headers = {["Content-Type"] = "application/json"}
      headers[header] = string.sub(line, 1, tab - 1)
      built[i] = wrk.format("POST", path, headers, string.sub(line, tab + 1))
    end
    filler = wrk.format("GET", "/bench/hello", {}, nil)
  end
  issued = issued + 1
  local position = offset + issued
  if position > #order then
    return filler  -- the bills ran out: a cheap request, counted apart
  end
  return built[order[position]]
end

function bench_response(status, headers, body)
  if body == "hello" then
    fillers = fillers + 1
    return
  end
  local word = body and string.match(body, '"result"%s*:%s*"([^"]*)"')
  if status ~= 200 then
    other = other + 1
  elseif word == "received" then
    received = received + 1
  elseif word == "duplicate" then
    duplicate = duplicate + 1
  elseif word == "applied" then
    applied = applied + 1
  else
    other = other + 1
  end
end

