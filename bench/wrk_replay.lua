-- wrk script: replay distinct pre-signed request bodies, one per request.
--
--   wrk -t2 -c64 -d20s -s bench/wrk_replay.lua URL -- BODIES THREADS MARKER
--
-- BODIES is a file of frames `u32 big-endian length . body` (binary CBOR envelopes, written
-- by bench/http_bench.py). Thread k of THREADS sends frames k, k+THREADS, k+2*THREADS...
-- so no body is sent twice unless a thread runs out (then it starts over and `wrapped`
-- counts it: those requests are duplicates, answered from the ingress history).
-- A response counts as `ok` when its status is 200 and its body contains MARKER (e.g.
-- "certificate" for a replied synchronous call, "replied" for a query).
-- done() prints one line `WRK_RESULT k=v ...` that http_bench.py parses.

local counter = 0
local threads = {}

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads = args[1], tonumber(args[2])
   marker = args[3]
   local f = assert(io.open(file, "rb"))
   local data = f:read("*a")
   f:close()
   local headers = { ["Content-Type"] = "application/cbor" }
   requests = {}
   local pos, i = 1, 0
   while pos <= #data do
      local b1, b2, b3, b4 = data:byte(pos, pos + 3)
      local n = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
      if i % nthreads == tid then
         requests[#requests + 1] = wrk.format("POST", nil, headers, data:sub(pos + 4, pos + 3 + n))
      end
      pos = pos + 4 + n
      i = i + 1
   end
   data = nil
   index = 0
   wrapped = 0
   ok = 0
   other = 0
end

function request()
   index = index + 1
   if index > #requests then
      index = 1
      wrapped = wrapped + 1
   end
   return requests[index]
end

function response(status, headers, body)
   if status == 200 and body:find(marker, 1, true) then
      ok = ok + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local ok_total, other_total, wrapped_total = 0, 0, 0
   for _, thread in ipairs(threads) do
      ok_total = ok_total + thread:get("ok")
      other_total = other_total + thread:get("other")
      wrapped_total = wrapped_total + thread:get("wrapped")
   end
   local e = summary.errors
   io.write(string.format(
      "WRK_RESULT requests=%d duration_us=%d ok=%d other=%d wrapped=%d "
         .. "p50_us=%d p90_us=%d p99_us=%d errors=%d\n",
      summary.requests, summary.duration, ok_total, other_total, wrapped_total,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      e.connect + e.read + e.write + e.status + e.timeout))
end
