-- wrk script for bench/load_test.sh: POSTs one image (WRK_BODY, WRK_TYPE) to the URL and prints
-- one machine-readable RESULT line with throughput, latency percentiles and error counts.
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
local body = f:read("*all")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = os.getenv("WRK_TYPE") or "image/jpeg"
local token = os.getenv("FACEAGE_API_TOKEN")
if token and #token > 0 then wrk.headers["Authorization"] = "Bearer " .. token end

done = function(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "rps": %.2f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, ' ..
    '"max_ms": %.2f, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
