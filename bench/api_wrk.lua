-- wrk script of bench/api.py; configured by environment variables:
--   BENCH_METHOD  GET | POST | PATCH
--   BENCH_BODY    fixed JSON body (optional)
--   BENCH_MODE    static | trigger | patch  (trigger: a new run id per request; patch: a new value)
--   BENCH_AUTH    Authorization header value
--   BENCH_NONCE   makes the created run ids of this measurement unique
-- done() prints one line "BENCHJSON {...}" that bench/api.py reads.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body == "" then body = nil end
local mode = os.getenv("BENCH_MODE") or "static"
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())

local threads = {}
function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

non2xx = 0
counter = 0
local static_request

function init(args)
   wrk.method = method
   wrk.headers["Accept"] = "application/json"
   wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
   if body or mode ~= "static" then wrk.headers["Content-Type"] = "application/json" end
   if mode == "static" then static_request = wrk.format(method, nil, nil, body) end
end

function request()
   if mode == "static" then return static_request end
   counter = counter + 1
   local b
   if mode == "trigger" then
      b = string.format('{"dag_run_id":"bench_trig_%s_%d_%d","conf":{}}', nonce, tid, counter)
   else
      b = string.format('{"key":"bench_var_0000","value":"bench value %s %d %d"}', nonce, tid, counter)
   end
   return wrk.format(method, nil, nil, b)
end

function response(status, headers, resp_body)
   if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
   local n = 0
   for _, t in ipairs(threads) do n = n + (t:get("non2xx") or 0) end
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"seconds":%.3f,"p50_ms":%.2f,"p99_ms":%.2f,"non2xx":%d,' ..
      '"socket_errors":%d}\n',
      summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, n, e.connect + e.read + e.write + e.timeout))
end
