-- get.lua - one authenticated GET, the same request bytes for Keyward and for
-- nginx (nginx ignores the headers). Used by bench/run.sh for the GET-by-ID
-- rounds and for the list latency runs (the URL carries path and query).
--
-- Environment: KW_TOKEN (bearer token), KW_NAMESPACE (X-Namespace).
-- Prints one line "RESULT key=value ..." from done(); latencies in µs.

wrk.headers["Authorization"] = "Bearer " .. (os.getenv("KW_TOKEN") or "")
wrk.headers["X-Namespace"]   = os.getenv("KW_NAMESPACE") or "/"
wrk.headers["Accept"]        = "application/json"

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d " ..
      "p99_us=%d max_us=%d status_errors=%d socket_errors=%d\n",
      summary.requests, summary.duration,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
