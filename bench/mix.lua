-- wrk script for the realistic mix (bench/realistic.py). Each wrk thread holds one connection
-- and replays its own plan, bench/out/mix/plan-<thread>.txt, line by line, round and round:
--   G <path> <cookie index> <lang>   a GET: cookie index 0 = a visitor, n = member n's cookie
--   B                                 a purchase by this thread's own buyer: POST /cart/add,
--                                     POST /checkout, GET the order page (three requests)
-- Arguments after "--": the plan directory, the book bought, the number of buyers B, then one
-- "cookie|csrf token" per buyer (one per thread, with an empty cart) and then per member
-- (member n of the plans is pair B + n).
-- Counted: responses with X-Cache: hit / miss (the page cache's say), non-2xx/3xx answers, and
-- orders placed.

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
  local dir, book, buyers = args[1], args[2], tonumber(args[3])
  local pairs = {}
  for i = 4, #args do
    local cookie, token = args[i]:match("^(.-)|(.*)$")
    table.insert(pairs, { cookie = cookie, token = token })
  end
  buyer = pairs[id]
  members = {}
  for i = buyers + 1, #pairs do table.insert(members, pairs[i]) end
  plan = {}
  for line in io.lines(dir .. "/plan-" .. id .. ".txt") do
    local kind, path, who, lang = line:match("^(%a) ?(%S*) ?(%d*) ?(%S*)$")
    table.insert(plan, { kind = kind, path = path, who = tonumber(who) or 0, lang = lang })
  end
  add = "book_id=" .. book .. "&quantity=1&csrf_token=" .. urlencode(buyer.token)
  address = "name=Bench+Shopper&line1=1+Load+Street&city=Shanghai&postcode=200000"
    .. "&country=China&payment_method=cod&csrf_token=" .. urlencode(buyer.token)
  position, step = 0, 0
  hits, misses, failures, orders = 0, 0, 0, 0
  location = nil
end

local function advance()
  position = position % #plan + 1
  return plan[position]
end

function request()
  if step == 0 then
    current = advance()
  end
  if current.kind == "B" then
    local headers = { ["Cookie"] = buyer.cookie }
    if step == 0 then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      return wrk.format("POST", "/cart/add", headers, add)
    elseif step == 1 then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      return wrk.format("POST", "/checkout", headers, address)
    end
    return wrk.format("GET", location, headers)
  end
  local cookie = "lang=" .. current.lang
  if current.who > 0 then
    cookie = cookie .. "; " .. members[current.who].cookie
  end
  return wrk.format("GET", current.path, { ["Cookie"] = cookie })
end

function response(status, headers, body)
  local cache = headers["X-Cache"]
  if cache == "hit" then hits = hits + 1 elseif cache == "miss" then misses = misses + 1 end
  if current.kind ~= "B" then
    if status >= 400 then failures = failures + 1 end
    return
  end
  local set = headers["Set-Cookie"]
  if set then
    local value = set:match("^session=([^;]*)")
    if value then buyer.cookie = "session=" .. value end
  end
  if step == 0 then
    if status == 302 then step = 1 else failures = failures + 1 end
  elseif step == 1 then
    local target = headers["Location"]
    if status == 302 and target and target:find("/orders/") then
      orders = orders + 1
      location = target:gsub("^https?://[^/]+", "")
      step = 2
    else
      failures = failures + 1
      step = 0
    end
  else
    if status ~= 200 then failures = failures + 1 end
    step = 0
  end
end

function done(summary, latency, requests)
  local h, m, f, o = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    h = h + thread:get("hits")
    m = m + thread:get("misses")
    f = f + thread:get("failures")
    o = o + thread:get("orders")
  end
  io.write(string.format("mix hits %d misses %d failures %d orders %d\n", h, m, f, o))
end
