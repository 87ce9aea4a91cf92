-- `make bench BENCH=queueing`: the display board's content polled as a browser does,
-- followed by bench/wrk_report.lua. The first request asks for the content; every later one
-- sends back the last ETag received (If-None-Match), and is answered 304 while the board is
-- unchanged. The argument: the content's path.
bench_counters = {"not_modified", "full", "other"}
local path = nil
local etag = nil
local plain, conditional = nil, nil

function bench_init(args)
  path = args[1]
end

function request()
  if etag == nil then
    if plain == nil then
      plain = wrk.format("GET", path)
    end
    return plain
  end
  if conditional == nil then
    conditional = wrk.format("GET", path, {["If-None-Match"] = etag})
  end
  return conditional
end

function bench_response(status, headers, body)
  if status == 304 then
    not_modified = not_modified + 1
  elseif status == 200 then
    full = full + 1
    local received = headers["ETag"] or headers["Etag"] or headers["etag"]
    if received ~= nil and received ~= etag then
      etag = received
      conditional = nil
    end
  else
    other = other + 1
  end
end

