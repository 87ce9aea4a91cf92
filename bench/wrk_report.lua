-- wrk script for `make bench`: counts every non-2xx answer (wrk itself only
-- counts >= 400) and prints one machine-readable summary line at the end,
-- with the latency distribution as quantiles (every 0.5 % up to p95, then
-- every 0.1 %) so that several runs can be merged into one distribution.
-- A script put before this one (load.wrk_script) may define request(),
-- bench_init(args) and bench_response(status, headers, body), and name in
-- `bench_counters` more per-thread counters (globals, 0 at the start) that
-- the summary line adds up over the threads.
local threads = {}
bench_counters = bench_counters or {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  for _, name in ipairs(bench_counters) do
    _G[name] = 0
  end
  if bench_init then
    bench_init(args)
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  if bench_response then
    bench_response(status, headers, body)
  end
end

local function total(name)
  local sum = 0
  for _, thread in ipairs(threads) do
    sum = sum + (thread:get(name) or 0)
  end
  return sum
end

function done(summary, latency, requests)
  local quantiles = {}
  if summary.requests > 0 then
    for i = 1, 190 do
      table.insert(quantiles, string.format("[%.1f, %d]", i / 2, latency:percentile(i / 2)))
    end
    for i = 951, 1000 do
      table.insert(quantiles, string.format("[%.1f, %d]", i / 10, latency:percentile(i / 10)))
    end
  end
  local counters = {}
  for _, name in ipairs(bench_counters) do
    table.insert(counters, string.format('"%s": %d, ', name, total(name)))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "max_us": %d, %s"quantiles_us": [%s]}\n',
    summary.requests, summary.duration, total("non2xx"), e.connect, e.read, e.write, e.timeout,
    latency.max, table.concat(counters), table.concat(quantiles, ", ")
  ))
end
