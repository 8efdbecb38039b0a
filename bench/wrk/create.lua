-- POST /v1/links with a fixed body (BENCH_BODY): every request creates a new link. The API keys
-- (BENCH_API_KEYS, comma-separated) are used in turn, so the per-key rate limit of the API is
-- not what is measured. The requests are formatted once per thread.
local body = os.getenv("BENCH_BODY")
local keys = {}
for k in string.gmatch(os.getenv("BENCH_API_KEYS") or os.getenv("BENCH_API_KEY") or "", "[^,]+") do
  table.insert(keys, k)
end
local reqs = {}
local i = 0

function init(args)
  for _, k in ipairs(keys) do
    table.insert(reqs, wrk.format("POST", "/v1/links",
      { ["Content-Type"] = "application/json", ["X-Incarts-API-Key"] = k }, body))
  end
  i = bench_tid or 0
end

function request()
  i = i + 1
  return reqs[(i % #reqs) + 1]
end
