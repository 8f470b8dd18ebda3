-- wrk script: realistic tracker beacons for POST /api/collect.
-- A pool of requests is built once per thread (80% page views, 10% custom
-- events, 10% engagement; a few hundred paths, real browser user agents,
-- public IPv4 and IPv6 clients in X-Forwarded-For) and cycled through, so
-- wrk spends its time sending, not building.
-- done() prints one machine-readable line:  RESULT rps=.. p50_ms=.. ...

local agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
}
local referrers = {
  "", "", "", "https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/",
  "https://www.facebook.com/", "https://t.co/abc", "https://www.linkedin.com/feed/",
  "https://news.ycombinator.com/", "https://example.com/blog/", "android-app://com.google.android.gm/",
}
local sections = { "blog", "products", "docs", "pricing", "about", "careers", "support", "news" }
local languages = { "fi-FI", "en-US", "sv-SE", "en-GB", "de-DE", "fi", "et-EE" }
local screens = { {1920, 1080}, {1366, 768}, {390, 844}, {414, 896}, {1536, 864}, {2560, 1440}, {820, 1180} }
local utm = { "", "", "", "", "?utm_source=newsletter&utm_medium=email&utm_campaign=autumn",
  "?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=seula", "?ref=partner" }

local function ip()
  if math.random() < 0.2 then
    return string.format("2001:db8:%x:%x::%x", math.random(0, 65535), math.random(0, 65535), math.random(1, 65535))
  end
  -- Public-looking IPv4 (documentation and random high ranges).
  return string.format("%d.%d.%d.%d", math.random(11, 223), math.random(0, 255), math.random(0, 255), math.random(1, 254))
end

local pool = {}
local pos = 0

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
  for i = 1, 2000 do
    local path = string.format("/%s/%s-%d", sections[math.random(#sections)], "page", math.random(1, 300))
    local url = "https://example.com" .. path .. utm[math.random(#utm)]
    local r = math.random()
    local body
    if r < 0.8 then
      local s = screens[math.random(#screens)]
      body = string.format('{"site":"demo","type":"pageview","url":"%s","referrer":"%s","title":"Page %d","language":"%s","screen_width":%d,"screen_height":%d}',
        url, referrers[math.random(#referrers)], i, languages[math.random(#languages)], s[1], s[2])
    elseif r < 0.9 then
      body = string.format('{"site":"demo","type":"event","url":"%s","name":"signup","props":{"plan":"%s","seats":%d}}',
        url, ({ "free", "pro", "team" })[math.random(3)], math.random(1, 50))
    else
      body = string.format('{"site":"demo","type":"engagement","url":"%s","engagement_ms":%d}',
        url, math.random(500, 600000))
    end
    pool[i] = wrk.format("POST", "/api/collect", {
      ["Content-Type"] = "text/plain;charset=UTF-8",
      ["User-Agent"] = agents[math.random(#agents)],
      ["X-Forwarded-For"] = ip(),
      ["Origin"] = "https://example.com",
    }, body)
  end
end

function request()
  pos = pos % #pool + 1
  return pool[pos]
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.0f requests=%d non2xx=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f sock_errors=%d\n",
    summary.requests / secs, summary.requests, e.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout))
end
