-- oauth2.lua - POST /oauth2/access_token, OAuth 2.0 client credentials (RFC 6749
-- 4.4) with HTTP Basic client authentication, keep-alive. Used by bench/run.sh.
--
-- Environment: KW_BASIC (base64 of "clientID:clientSecret").
-- Prints one line "RESULT key=value ..." from done(); latencies in µs. A 200
-- answer without an access_token counts as an error.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- per-thread state
ok     = 0   -- 200 with an access_token
failed = 0   -- anything else

local req

function init(args)
   req = wrk.format("POST", "/oauth2/access_token", {
      ["Authorization"] = "Basic " .. (os.getenv("KW_BASIC") or ""),
      ["Content-Type"]  = "application/x-www-form-urlencoded",
      ["Accept"]        = "application/json",
   }, "grant_type=client_credentials")
end

function request()
   return req
end

function response(status, hdrs, body)
   if status == 200 and string.find(body, '"access_token":"ey', 1, true) then
      ok = ok + 1
   else
      failed = failed + 1
      if failed <= 3 then
         io.stderr:write(string.format("oauth2: status %d: %s\n", status,
                                       string.sub(body or "", 1, 300)))
      end
   end
end

function done(summary, latency, requests)
   local o, f = 0, 0
   for _, t in ipairs(threads) do
      o = o + (t:get("ok") or 0)
      f = f + (t:get("failed") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d ok=%d failed=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d " ..
      "p99_us=%d max_us=%d status_errors=%d socket_errors=%d\n",
      summary.requests, o, f, summary.duration,
      o / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, f, e.connect + e.read + e.write + e.timeout))
end
