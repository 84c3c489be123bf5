-- wrk script for bench/search_http.sh: each request is the next query path
-- from the file in $SEARCH_BENCH_QUERIES (one `/api/v1/search?q=…` a line, the
-- queries URL-encoded), each thread starting at its own offset, so the server
-- sees many distinct queries, not one cached URL. Every response that is not
-- 2xx is counted (a 429 from a rate limit must not pass as throughput), and
-- the summary prints the counts by status with the latency percentiles.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(os.getenv("SEARCH_BENCH_QUERIES")) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("no queries in $SEARCH_BENCH_QUERIES") end
  position = (id * 7919) % #paths
  non2xx = 0
  statuses = {}
end

function request()
  position = position % #paths + 1
  return wrk.format("GET", paths[position])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local total_non2xx, by_status = 0, {}
  for _, thread in ipairs(threads) do
    total_non2xx = total_non2xx + thread:get("non2xx")
    for status, n in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  local seconds = summary.duration / 1e6
  local ok = summary.requests - total_non2xx
  io.write(string.format("requests: %d in %.1f s = %.0f req/s; 2xx: %d = %.0f req/s; non-2xx: %d\n",
    summary.requests, seconds, summary.requests / seconds, ok, ok / seconds, total_non2xx))
  local parts = {}
  for status, n in pairs(by_status) do parts[#parts + 1] = string.format("%d: %d", status, n) end
  table.sort(parts)
  io.write("by status: " .. table.concat(parts, ", ") .. "\n")
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("latency ms: p50 %.2f, p90 %.2f, p99 %.2f, max %.2f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
