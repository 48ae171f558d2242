-- wrk script for the benchmark: optionally POSTs JSON bodies from a file (one body per line,
-- sent in rotation, each thread starting at its own offset, so no two consecutive requests of
-- a connection carry the same patient), counts every response that is not HTTP 200 across all
-- threads, and prints one JSON line (prefixed BENCH_JSON) when done.
-- Usage: wrk -s bench/wrk_report.lua URL [-- BODIES_FILE]

local threads = {}
local counter = 0

function setup(thread)
   thread:set("offset", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   responses = 0
   not_ok = 0
   requests = {}
   local path = args[1]
   if path ~= nil and path ~= "" then
      wrk.method = "POST"
      wrk.headers["Content-Type"] = "application/json"
      wrk.headers["Accept"] = "application/json"
      for line in io.lines(path) do
         if line ~= "" then
            table.insert(requests, wrk.format(nil, nil, nil, line))
         end
      end
   else
      wrk.headers["Accept"] = "application/json"
   end
   -- Threads start apart in the rotation (offset is set by setup before init runs).
   next_index = ((offset or 0) * 7919) % math.max(#requests, 1)
end

function request()
   if #requests == 0 then
      return wrk.format()
   end
   next_index = next_index % #requests + 1
   return requests[next_index]
end

function response(status, headers, body)
   responses = responses + 1
   if status ~= 200 then
      not_ok = not_ok + 1
   end
end

function done(summary, latency, requests)
   local counted, non_200 = 0, 0
   for _, thread in ipairs(threads) do
      counted = counted + thread:get("responses")
      non_200 = non_200 + thread:get("not_ok")
   end
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "responses": %d, "non_200": %d, "non_2xx_3xx": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
      '"duration_s": %.6f, "requests_per_s": %.3f, "bytes": %d, ' ..
      '"latency_us": {"p50": %.1f, "p90": %.1f, "p99": %.1f, "mean": %.1f, "max": %.1f}}\n',
      summary.requests, counted, non_200, e.status,
      e.connect, e.read, e.write, e.timeout,
      seconds, summary.requests / seconds, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max))
end
