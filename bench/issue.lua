-- issue.lua - POST /issue with a fixed JSON body, keep-alive; a 200 answer
-- must carry a token. Used by bench/run.sh for the Certificate realm (wrk then
-- runs with bench/clientcert.c preloaded, to present the client certificate).
--
-- Environment: KW_ISSUE_BODY (default {"realm":"Certificate"}).
-- Prints one line "RESULT key=value ..." from done(); latencies in µs.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- per-thread state
ok     = 0   -- 200 with a token
failed = 0   -- anything else

local req

function init(args)
   req = wrk.format("POST", "/issue", {
      ["Content-Type"] = "application/json",
      ["Accept"]       = "application/json",
   }, os.getenv("KW_ISSUE_BODY") or '{"realm":"Certificate"}')
end

function request()
   return req
end

function response(status, hdrs, body)
   if status == 200 and string.find(body, '"token":"ey', 1, true) then
      ok = ok + 1
   else
      failed = failed + 1
      if failed <= 3 then
         io.stderr:write(string.format("issue: status %d: %s\n", status,
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
