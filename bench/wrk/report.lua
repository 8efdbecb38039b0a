-- Appended by bench/run.mjs to every scenario script: numbers each wrk thread (bench_tid)
-- and prints one machine-readable line at the end (latencies in microseconds).
local bench_threads = {}

function setup(thread)
  thread:set("bench_tid", #bench_threads)
  table.insert(bench_threads, thread)
end

local function flat(t)
  local parts = {}
  for k, v in pairs(t) do
    if type(v) == "number" then
      table.insert(parts, string.format("%q:%d", tostring(k), v))
    end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local e = summary.errors
  local threads = {}
  for _, t in ipairs(bench_threads) do
    local c = t:get("bench_counts")
    table.insert(threads, type(c) == "table" and flat(c) or "{}")
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"threads":[%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    table.concat(threads, ",")))
end
