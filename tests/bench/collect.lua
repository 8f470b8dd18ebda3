-- collect.lua: wrk load for POST /api/collect, shaped like tracker beacons.
--
--   wrk -t2 -c64 -d10s -s tests/bench/collect.lua http://127.0.0.1:PORT/api/collect
--
-- Every wrk thread builds its own pool of finished requests once, in init(),
-- with wrk.format(); request() only hands out the next one, so the load
-- generator spends its CPU on sockets, not on Lua.  The pool is made of
-- visits: a visitor (a public IPv4/IPv6 client in X-Forwarded-For, one of a
-- dozen browser user agents, a language and a screen) sends ~3 page views
-- (one, then a geometric tail), the first with an outside referrer and maybe
-- UTM tags, the next ones referred by the site, and after a page view now and
-- then a custom event or an engagement beacon for that page: 80% page views,
-- 10% custom events and 10% engagement beacons over a few hundred paths
-- (popular ones more often), titles with non-ASCII text.  A visitor's beacons
-- follow one another in the pool, and the visitor comes back only when the
-- pool does (32,768 requests a thread: seconds later), so the server sees
-- visits of a few beacons, not one visitor, nor a new visitor per request.
-- Pools are seeded per thread, so two runs send the same requests.
--
-- done() prints machine-readable lines, "BENCH <key> <value>":
--   requests, duration_s, rps, latency_{p50,p90,p99,max}_ms, non2xx,
--   ok (requests - non2xx), socket_errors, errors_{connect,read,write,timeout}
-- wrk counts a response as an error status when its code is >= 400; the
-- collect endpoint never answers 1xx or 3xx, so non2xx is exact here.

local POOL_SIZE = 32768

-- Browsers people use, desktop and mobile, plus one crawler.
local agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
  "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
}

-- "" is a direct visit (no referrer); it is the most common case.
local referrers = {
  "", "", "", "", "",
  "https://www.google.com/", "https://www.google.com/", "https://www.google.fi/",
  "https://www.bing.com/", "https://duckduckgo.com/", "https://search.brave.com/",
  "https://t.co/", "https://www.facebook.com/", "https://l.facebook.com/",
  "https://www.linkedin.com/", "https://www.reddit.com/r/selfhosted/",
  "https://news.ycombinator.com/", "https://github.com/",
  "https://example.com/", "https://example.com/blog/",
  "android-app://com.google.android.gm/",
}

local queries = {
  "", "", "", "", "", "", "", "",
  "?utm_source=newsletter&utm_medium=email&utm_campaign=2026-11",
  "?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=web+analytics",
  "?utm_source=mastodon&utm_medium=social",
  "?page=2", "?ref=producthunt", "?q=pricing&sort=asc",
}

local languages = { "fi-FI", "fi-FI", "fi", "sv-FI", "en-US", "en-US", "en-GB", "de-DE", "et-EE", "fr-FR" }
local screens = {
  { 1920, 1080 }, { 1920, 1080 }, { 1536, 864 }, { 1366, 768 }, { 2560, 1440 },
  { 1440, 900 }, { 390, 844 }, { 393, 873 }, { 414, 896 }, { 360, 800 }, { 820, 1180 },
}

local custom = {
  { "signup", '{"plan":"pro"}' },
  { "signup", '{"plan":"free"}' },
  { "signup", '{"plan":"team","seats":"5"}' },
  { "download", '{"file":"seula-1.4.2.tar.gz"}' },
  { "outbound", '{"to":"github.com"}' },
  { "newsletter", '{}' },
  { "search", '{"results":"12"}' },
}

-- A few hundred distinct pages: a blog, docs, products and fixed pages.
local pages = {}
local function page(path, title) pages[#pages + 1] = { path, title } end
for _, p in ipairs({ { "/", "Etusivu" }, { "/pricing", "Hinnoittelu" }, { "/about", "Tietoa meistä" },
  { "/contact", "Yhteystiedot" }, { "/signup", "Sign up" }, { "/login", "Log in" },
  { "/careers", "Careers" }, { "/privacy", "Tietosuojaseloste" } }) do
  page(p[1], p[2])
end
for i = 1, 160 do page(string.format("/blog/post-%d", i), string.format("Post %d – Example blog", i)) end
for i = 1, 80 do page(string.format("/docs/guide/chapter-%d", i), string.format("Guide, chapter %d", i)) end
for i = 1, 50 do page(string.format("/products/item-%04d", i * 37), string.format("Tuote %d", i)) end

-- Random public addresses: no private, loopback, link-local, CGNAT,
-- multicast or documentation ranges.
local function public_ipv4()
  while true do
    local a, b = math.random(1, 223), math.random(0, 255)
    if not (a == 10 or a == 127 or (a == 100 and b >= 64 and b < 128) or
            (a == 169 and b == 254) or (a == 172 and b >= 16 and b < 32) or
            (a == 192 and b == 168) or (a == 192 and b == 0) or
            (a == 198 and (b == 18 or b == 19 or b == 51)) or (a == 203 and b == 0)) then
      return string.format("%d.%d.%d.%d", a, b, math.random(0, 255), math.random(1, 254))
    end
  end
end

local v6_prefixes = { "2a00", "2a01", "2a02", "2001:14ba", "2001:998", "2600", "2603", "2804", "240e" }
local function public_ipv6()
  local p = v6_prefixes[math.random(#v6_prefixes)]
  local groups = {}
  local _, colons = p:gsub(":", "")
  for i = 1, 7 - colons do groups[i] = string.format("%x", math.random(0, 65535)) end
  return p .. ":" .. table.concat(groups, ":")
end

local function pick(t) return t[math.random(#t)] end

-- Popular pages more often: squaring skews toward the front of the list.
local function pick_page()
  local r = math.random()
  return pages[math.floor(r * r * #pages) + 1]
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

-- A visitor: the client address, the browser, its language and screen.
local function visitor()
  return {
    xff = math.random() < 0.25 and public_ipv6() or public_ipv4(),
    ua = pick(agents), lang = pick(languages), screen = pick(screens),
  }
end

-- The beacons of one visit, in order: { page, body } pairs.
local function visit(v)
  local out, prev = {}, nil
  local views = 1
  while views < 30 and math.random() < 2 / 3 do views = views + 1 end
  for _ = 1, views do
    local pg = pick_page()
    local url = "https://example.com" .. pg[1]
    local ref
    if prev then
      ref = "https://example.com" .. prev[1]
    else
      url = url .. pick(queries)
      ref = pick(referrers)
    end
    out[#out + 1] = { pg, string.format(
      '{"site":"demo","type":"pageview","url":%s,"referrer":%s,"title":%s,"language":%s,"screen_width":%d,"screen_height":%d}',
      json_string(url), json_string(ref), json_string(pg[2]), json_string(v.lang), v.screen[1], v.screen[2]) }
    if math.random() < 0.125 then
      local e = pick(custom)
      out[#out + 1] = { pg, string.format('{"site":"demo","type":"event","url":%s,"name":%s,"props":%s}',
        json_string(url), json_string(e[1]), e[2]) }
    end
    if math.random() < 0.125 then
      out[#out + 1] = { pg, string.format('{"site":"demo","type":"engagement","url":%s,"engagement_ms":%d}',
        json_string(url), math.floor(math.random() ^ 2 * 600000) + 300) }
    end
    prev = pg
  end
  return out
end

-- Main script state: number the threads so that each seeds its own pool.
local threads_made = 0
function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_no", threads_made)
end

local pool, n, i = {}, 0, 0

function init(args)
  math.randomseed(20261125 + 7919 * (thread_no or 1))
  local k = 0
  while k < POOL_SIZE do
    local v = visitor()
    for _, b in ipairs(visit(v)) do
      if k == POOL_SIZE then break end
      k = k + 1
      pool[k] = wrk.format("POST", "/api/collect", {
        ["Content-Type"] = "text/plain;charset=UTF-8",
        ["User-Agent"] = v.ua,
        ["Accept-Language"] = "fi-FI,fi;q=0.9,en-US;q=0.8,en;q=0.7",
        ["Origin"] = "https://example.com",
        ["Referer"] = "https://example.com" .. b[1][1],
        ["X-Forwarded-For"] = v.xff,
      }, b[2])
    end
  end
  n = POOL_SIZE
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return pool[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local function out(k, v) io.write("BENCH ", k, " ", v, "\n") end
  out("requests", summary.requests)
  out("duration_s", string.format("%.3f", secs))
  out("rps", string.format("%.0f", summary.requests / secs))
  for _, p in ipairs({ 50, 90, 99 }) do
    out("latency_p" .. p .. "_ms", string.format("%.3f", latency:percentile(p) / 1000))
  end
  out("latency_max_ms", string.format("%.3f", latency.max / 1000))
  out("non2xx", e.status)
  out("ok", summary.requests - e.status)
  out("socket_errors", e.connect + e.read + e.write + e.timeout)
  out("errors_connect", e.connect)
  out("errors_read", e.read)
  out("errors_write", e.write)
  out("errors_timeout", e.timeout)
end
