-- wrk script of bench/storefront.sh: sends one request (a POST of CHECK_BODY's JSON, or
-- a GET when CHECK_BODY is empty) and checks EVERY response, because GraphQL answers
-- 200 even when a request failed (STYLE.md, field notes): a load test that only counts
-- statuses can measure errors at high speed.
--
-- Environment:
--   CHECK_BODY    file holding the request body (JSON); empty or unset for a GET
--   CHECK_EXPECT  file holding the response the server gave when the script checked it
--   CHECK_MODE    "exact" (default): every response must be 200 and byte for byte the
--                 checked one, or the same bytes in another order (same length, same count
--                 of every byte value: JSON members serialized in another order, which a
--                 server may do when it resolves fields concurrently; counted apart as
--                 "reordered"); "data": 200, starts with {"data": and holds no "errors"
--   CHECK_REPORT  where done() writes the run's figures as JSON; the first bad response
--                 (status and up to 4 KiB of body) goes to CHECK_REPORT .. ".bad"

local function slurp(path)
  local file = assert(io.open(path, "rb"), "cannot read " .. tostring(path))
  local text = file:read("*a")
  file:close()
  return text
end

local body_path = os.getenv("CHECK_BODY")
local mode = os.getenv("CHECK_MODE") or "exact"
local report_path = os.getenv("CHECK_REPORT")
local expected = slurp(os.getenv("CHECK_EXPECT"))

if body_path and body_path ~= "" then
  wrk.method = "POST"
  wrk.body = slurp(body_path)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
end

-- Counters live in each thread's own Lua state; done() collects them through setup().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(_)
  checked, bad, reordered, bad_status, bad_body = 0, 0, 0, 0, ""
end

local byte = string.byte

local function histogram(text)
  local counts = {}
  for c = 0, 255 do
    counts[c] = 0
  end
  for i = 1, #text do
    local c = byte(text, i)
    counts[c] = counts[c] + 1
  end
  return counts
end

local expected_histogram = nil

-- The same bytes in another order: what reordered JSON members look like. Anything else
-- (an error, another row, another value) changes the length or the bytes.
local function permutation_of_expected(body)
  if #body ~= #expected or body:sub(1, 8) ~= expected:sub(1, 8) or body:find('"errors"', 1, true) then
    return false
  end
  expected_histogram = expected_histogram or histogram(expected)
  local counts = histogram(body)
  for c = 0, 255 do
    if counts[c] ~= expected_histogram[c] then
      return false
    end
  end
  return true
end

local function acceptable(status, body)
  if status ~= 200 then
    return false
  end
  if mode == "exact" then
    if body == expected then
      return true
    end
    if permutation_of_expected(body) then
      reordered = reordered + 1
      return true
    end
    return false
  end
  return body:sub(1, 8) == '{"data":' and not body:find('"errors"', 1, true)
end

function response(status, _, body)
  checked = checked + 1
  if not acceptable(status, body) then
    bad = bad + 1
    if bad == 1 then
      bad_status, bad_body = status, body:sub(1, 4096)
    end
  end
end

function done(summary, latency, _)
  local total_checked, total_bad, total_reordered, sample_status, sample_body = 0, 0, 0, 0, nil
  for _, thread in ipairs(threads) do
    total_checked = total_checked + thread:get("checked")
    total_reordered = total_reordered + thread:get("reordered")
    local n = thread:get("bad")
    total_bad = total_bad + n
    if n > 0 and sample_body == nil then
      sample_status, sample_body = thread:get("bad_status"), thread:get("bad_body")
    end
  end
  local e = summary.errors
  local out = assert(io.open(report_path, "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "checked": %d, "bad": %d, "reordered": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes, total_checked, total_bad, total_reordered,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
  out:close()
  if sample_body ~= nil then
    local bad_out = assert(io.open(report_path .. ".bad", "w"))
    bad_out:write("status ", tostring(sample_status), "\n", sample_body, "\n")
    bad_out:close()
  end
end
