-- csr.lua - POST one fixed JSON body (a certificate signing request) over and
-- over, keep-alive; every answer is a new certificate. Used by bench/run.sh for
-- Keyward's POST /certificaterequests and for cfssl's /api/v1/cfssl/sign (the
-- path is the URL's).
--
-- Environment:
--   KW_BODY_FILE   the request body (JSON)
--   KW_OK          a string every successful 200 answer holds
--                  ('"status":"ISSUED"' for Keyward, '"success":true' for cfssl)
--   KW_TOKEN       bearer token (no Authorization header when unset)
--   KW_NAMESPACE   X-Namespace (no header when unset)
--   KW_IDS         when set, a file prefix: each thread appends the
--                  "certificateID" of each successful answer to KW_IDS<n>, one
--                  per line, line-buffered (bench/run.sh counts them while wrk runs)
-- Prints one line "RESULT key=value ..." from done(); latencies in µs; rps
-- counts successful answers only.

local threads = {}
local nsetup  = 0

function setup(thread)
   thread:set("tid", nsetup)
   nsetup = nsetup + 1
   table.insert(threads, thread)
end

-- per-thread state
ok     = 0   -- 200 holding KW_OK
failed = 0   -- anything else
noid   = 0   -- successful, but no certificateID found (KW_IDS set)

local req, okstr, ids

function init(args)
   local f = assert(io.open(os.getenv("KW_BODY_FILE"), "rb"))
   local body = f:read("*a")
   f:close()
   local headers = {
      ["Content-Type"] = "application/json",
      ["Accept"]       = "application/json",
   }
   local token = os.getenv("KW_TOKEN")
   if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
   local ns = os.getenv("KW_NAMESPACE")
   if ns and ns ~= "" then headers["X-Namespace"] = ns end
   req = wrk.format("POST", nil, headers, body)
   okstr = os.getenv("KW_OK") or '"status":"ISSUED"'
   local prefix = os.getenv("KW_IDS")
   if prefix and prefix ~= "" then
      ids = assert(io.open(prefix .. tostring(tid), "a"))
      ids:setvbuf("line")
   end
end

function request()
   return req
end

function response(status, hdrs, body)
   if status == 200 and string.find(body, okstr, 1, true) then
      ok = ok + 1
      if ids then
         local id = string.match(body, '"certificateID":"(%x+)"')
         if id then ids:write(id, "\n") else noid = noid + 1 end
      end
   else
      failed = failed + 1
      if failed <= 3 then
         io.stderr:write(string.format("csr: status %d: %s\n", status,
                                       string.sub(body or "", 1, 300)))
      end
   end
end

function done(summary, latency, requests)
   local o, f, n = 0, 0, 0
   for _, t in ipairs(threads) do
      o = o + (t:get("ok") or 0)
      f = f + (t:get("failed") or 0)
      n = n + (t:get("noid") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d ok=%d failed=%d noid=%d duration_us=%d rps=%.1f p50_us=%d " ..
      "p90_us=%d p99_us=%d max_us=%d status_errors=%d socket_errors=%d\n",
      summary.requests, o, f, n, summary.duration,
      o / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, f, e.connect + e.read + e.write + e.timeout))
end
