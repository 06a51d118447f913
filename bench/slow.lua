-- slow.lua - the well-behaved client of the slow-client part: GET /health,
-- over keep-alive connections, or with a new connection (and TLS handshake)
-- per request when KW_NEWCONN=1 (Connection: close; wrk reconnects).
--
-- Prints one line "RESULT key=value ..." from done(); latencies in µs. wrk
-- counts a request once its answer is complete; connection, read, write and
-- time-out errors are counted apart (socket_errors).

wrk.path = "/health"
wrk.headers["Accept"] = "application/json"
if os.getenv("KW_NEWCONN") == "1" then
   wrk.headers["Connection"] = "close"
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
      "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d " ..
      "socket_errors=%d\n",
      summary.requests, summary.duration,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99), latency.max,
      e.status, e.connect, e.read, e.write, e.timeout,
      e.connect + e.read + e.write + e.timeout))
end
