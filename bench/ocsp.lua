-- ocsp.lua - GET one OCSP request carried in the URL (RFC 6960 appendix A.1:
-- GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}), with
-- no token and no other header, keep-alive, as a relying party asks. Used by
-- bench/run.sh (part 11). Only a 200 whose body is an OCSPResponse with
-- responseStatus successful counts; anything else is an error.
--
-- Prints one line "RESULT key=value ..." from done(); latencies in µs; rps
-- counts successful answers only.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- per-thread state
ok     = 0   -- 200, OCSPResponse with responseStatus successful (0)
failed = 0   -- anything else

local req

function init(args)
   req = wrk.format("GET", nil, {}, nil)
end

function request()
   return req
end

-- OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, ... }: the DER
-- starts 30 <length, 1 to 3 bytes> 0a 01 <status>.
local successful = "\10\1\0"

function response(status, hdrs, body)
   if status == 200 and body and string.find(string.sub(body, 1, 8), successful, 1, true) then
      ok = ok + 1
   else
      failed = failed + 1
      if failed <= 3 then
         io.stderr:write(string.format("ocsp: status %d, %d bytes\n", status,
                                       body and #body or 0))
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
