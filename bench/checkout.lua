-- wrk script for the checkout row (bench/run.py): each wrk thread holds one connection and is
-- one logged-in member who, in a loop, does what a browser does to buy a book:
--   POST /cart/add            (302)
--   POST /checkout            (302 to /orders/<n>)
--   GET  /orders/<n>          (200: the confirmation page, which also shows the messages)
-- Arguments after "--": the book id, then one "cookie|csrf token" pair per thread.
-- The session cookie changes as messages are flashed and read, so it is taken from every
-- response's Set-Cookie, as a browser would.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  book = args[1]
  local pair = args[1 + id]
  cookie, token = pair:match("^(.-)|(.*)$")
  step = 0
  orders = 0
  failures = 0
  unexpected = ""  -- what the failures were: "step:status>location" (bench/run.py prints them)
  location = nil
  address = "name=Bench+Shopper&line1=1+Load+Street&city=Shanghai&postcode=200000"
    .. "&country=China&payment_method=cod&csrf_token=" .. urlencode(token)
  add = "book_id=" .. book .. "&quantity=1&csrf_token=" .. urlencode(token)
end

function request()
  local headers = { ["Cookie"] = cookie }
  if step == 0 then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", "/cart/add", headers, add)
  elseif step == 1 then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", "/checkout", headers, address)
  end
  return wrk.format("GET", location, headers)
end

local function failed(status, headers)
  failures = failures + 1
  local where = headers["Location"] or ""
  unexpected = unexpected .. string.format(" %d:%d>%s", step, status, where:gsub("^https?://[^/]+", ""))
end

function response(status, headers, body)
  local set = headers["Set-Cookie"]
  if set then
    local value = set:match("^session=([^;]*)")
    if value then cookie = "session=" .. value end
  end
  if step == 0 then
    if status == 302 then step = 1 else failed(status, headers) end
  elseif step == 1 then
    local target = headers["Location"]
    if status == 302 and target and target:find("/orders/") then
      orders = orders + 1
      location = target:gsub("^https?://[^/]+", "")
      step = 2
    else
      failed(status, headers)
      step = 0
    end
  else
    if status ~= 200 then failed(status, headers) end
    step = 0
  end
end

function done(summary, latency, requests)
  local placed, failed_count, what = 0, 0, ""
  for _, thread in ipairs(threads) do
    placed = placed + thread:get("orders")
    failed_count = failed_count + thread:get("failures")
    what = what .. thread:get("unexpected")
  end
  io.write(string.format("checkout orders %d failures %d\n", placed, failed_count))
  if what ~= "" then io.write("checkout unexpected" .. what .. "\n") end
end
