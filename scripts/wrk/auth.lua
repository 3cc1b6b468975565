-- GET with the session token.
request = function()
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. os.getenv("TOKEN")})
end
done = function(summary, latency, requests)
  io.write(string.format("p50=%.2fms p99=%.2fms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
