-- wrk: each request a new Beds24 booking webhook of about 1.6 KB, with the bench secret.
local counter = 0
local thread_base = 0
local pad = string.rep("x", 1150)

function setup(thread)
  thread_base = thread_base + 1
  thread:set("base", thread_base * 100000000 + (os.time() % 1000) * 100000)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"timeStamp":"2026-11-25T10:00:00Z","retries":0,"booking":{"id":%d,"propertyId":4242,'
    .. '"roomId":5001,"status":"confirmed","arrival":"2031-06-01","departure":"2031-06-04",'
    .. '"numAdult":2,"firstName":"Bench","lastName":"Guest","modifiedTime":'
    .. '"2026-11-25T10:00:00Z","comments":"%s"}}', base + counter, pad)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_SECRET"),
  }, body)
end
