-- wrk script for `make bench`: counts every non-2xx answer (wrk itself only
-- counts >= 400) and prints one machine-readable summary line at the end,
-- with the latency distribution as quantiles (every 0.5 % up to p95, then
-- every 0.1 %) so that several runs can be merged into one distribution.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx_total = 0
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + thread:get("non2xx")
  end
  local quantiles = {}
  if summary.requests > 0 then
    for i = 1, 190 do
      table.insert(quantiles, string.format("[%.1f, %d]", i / 2, latency:percentile(i / 2)))
    end
    for i = 951, 1000 do
      table.insert(quantiles, string.format("[%.1f, %d]", i / 10, latency:percentile(i / 10)))
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "max_us": %d, "quantiles_us": [%s]}\n',
    summary.requests, summary.duration, non2xx_total, e.connect, e.read, e.write, e.timeout,
    latency.max, table.concat(quantiles, ", ")
  ))
end
