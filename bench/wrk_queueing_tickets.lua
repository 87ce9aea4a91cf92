-- `make bench BENCH=queueing`: walk-in tickets taken at the kiosk, followed by
-- bench/wrk_report.lua. Every request is the kiosk's form POSTed by an enabled device (its
-- signed kiosk cookie and a CSRF cookie and token), W (a service, counted in the day's
-- same-day quota) and K (information, not counted) in turn. A ticket is answered with a 302
-- to its page. The arguments: the form's path, the Cookie header, the CSRF form token.
bench_counters = {"issued", "redirects", "refused", "other"}
local path, cookie, token = nil, nil, nil
local built = nil

function bench_init(args)
  path, cookie, token = args[1], args[2], args[3]
end

function request()
  if built == nil then
    built = {}
    local headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = cookie,
    }
    for i, prefix in ipairs({"W", "K"}) do
      local body = "csrfmiddlewaretoken=" .. token .. "&prefix=" .. prefix .. "&priority="
      built[i] = wrk.format("POST", path, headers, body)
    end
  end
  issued = issued + 1
  return built[issued % 2 + 1]
end

function bench_response(status, headers, body)
  if status == 302 then
    redirects = redirects + 1
  elseif status == 400 then
    refused = refused + 1  -- the form with an error: quota used up or the kiosk closed
  else
    other = other + 1
  end
end

