-- create.lua - POST /namespaces with a unique name per request, counting the
-- acknowledged creates (status 200) per thread. Used by bench/run.sh.
--
-- Environment: KW_TOKEN (bearer token), KW_NAMESPACE (parent namespace),
-- KW_RUN (a per-run prefix so names never repeat across runs).
-- Prints one line "RESULT key=value ..." from done().

local token  = os.getenv("KW_TOKEN") or ""
local parent = os.getenv("KW_NAMESPACE") or "/"
local run    = os.getenv("KW_RUN") or "r"

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

-- per-thread state (each wrk thread has its own Lua state)
acked   = 0   -- 200 answers
failed  = 0   -- anything else
counter = 0

local prefix, headers

function init(args)
   prefix = run .. "-t" .. tostring(tid) .. "-"
   headers = {
      ["Authorization"] = "Bearer " .. token,
      ["X-Namespace"]   = parent,
      ["Content-Type"]  = "application/json",
   }
end

function request()
   counter = counter + 1
   local body = '{"name":"' .. prefix .. tostring(counter) .. '"}'
   return wrk.format("POST", "/namespaces", headers, body)
end

function response(status, hdrs, body)
   if status == 200 then
      acked = acked + 1
   else
      failed = failed + 1
   end
end

function done(summary, latency, requests)
   local a, f, s = 0, 0, 0
   for _, t in ipairs(threads) do
      a = a + (t:get("acked") or 0)
      f = f + (t:get("failed") or 0)
      s = s + (t:get("counter") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT acked=%d failed=%d sent=%d requests=%d duration_us=%d " ..
      "p50_us=%d p99_us=%d socket_errors=%d\n",
      a, f, s, summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99),
      e.connect + e.read + e.write + e.timeout))
end
