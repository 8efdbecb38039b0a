-- GET /qr/{id}?size=S&margin=M with a (size, margin) pair no earlier request used, so every
-- request misses the image cache and renders. Request k (k = BENCH_OFFSET + n * threads + tid)
-- gets size 128 + k % 1921 (128..2048) and margin 4, then 0..16 once every size was used
-- (128 px leaves a short link's code at least 2 px per module at any margin, as served images need).
-- Counts the x-qr-cache answers (hit/miss) to prove it.
local path = os.getenv("BENCH_QR_PATH")
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local SIZES = 2048 - 128 + 1
local MARGINS = { 4, 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }

bench_counts = { n = 0, hit = 0, miss = 0, none = 0 }

function request()
  local k = offset + bench_counts.n * nthreads + bench_tid
  bench_counts.n = bench_counts.n + 1
  local size = 128 + k % SIZES
  local margin = MARGINS[(math.floor(k / SIZES) % #MARGINS) + 1]
  return wrk.format("GET", path .. "?size=" .. size .. "&margin=" .. margin)
end

function response(status, headers, body)
  local v
  for name, value in pairs(headers) do
    if string.lower(name) == "x-qr-cache" then v = value end
  end
  if v == "hit" then
    bench_counts.hit = bench_counts.hit + 1
  elseif v == "miss" then
    bench_counts.miss = bench_counts.miss + 1
  else
    bench_counts.none = bench_counts.none + 1
  end
end
