#!/usr/bin/env python3
"""A deterministic, realistic Combined-format access log for the import
benchmark (run.sh import).

usage: gen_accesslog.py LINES OUT [UA_TESTS_YAML] [CRAWLERS_JSON]

The mix, per visit of a browser: a page, then most of its assets (CSS, JS,
images, fonts, favicon), then a few more pages; bots fetch pages, robots.txt
and sitemaps; some POSTs (forms, API), HEAD checks, redirects, 404s from
scanners, a few 5xx and 206 ranges.  Clients: 200,000 public addresses
(30% IPv6), a long tail of user agents (uap-core's test agents when given)
and the crawlers of crawler-user-agents.  30 days, ending an hour ago, in
one time zone.  The same seed always writes the same file.
"""
import datetime
import json
import random
import re
import sys

SEED = 20261129
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
FALLBACK_UAS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 "
    "Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
]
FALLBACK_BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
]


def load_uas(path):
    if not path:
        return FALLBACK_UAS
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.match(r"\s*-?\s*user_agent_string:\s*['\"]?(.*?)['\"]?\s*$", line)
                if m and m.group(1) and '"' not in m.group(1) and "\\" not in m.group(1):
                    out.append(m.group(1))
    except OSError:
        return FALLBACK_UAS
    return out or FALLBACK_UAS


def load_bots(path):
    if not path:
        return FALLBACK_BOTS
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return FALLBACK_BOTS
    out = [i for e in data for i in e.get("instances", []) if '"' not in i and "\\" not in i]
    return out or FALLBACK_BOTS


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    n = int(sys.argv[1])
    out_path = sys.argv[2]
    rng = random.Random(SEED)
    uas = load_uas(sys.argv[3] if len(sys.argv) > 3 else None)
    bots = load_bots(sys.argv[4] if len(sys.argv) > 4 else None)
    # Popular agents are far more common than the tail.
    ua_weights = [1.0 / (i + 1) ** 0.8 for i in range(len(uas))]
    ips = []
    for _ in range(200000):
        if rng.random() < 0.3:
            ips.append("2a0%x:%x:%x:%x::%x" % (rng.randint(0, 9), rng.randint(0, 0xffff),
                                              rng.randint(0, 0xffff), rng.randint(0, 0xffff),
                                              rng.randint(1, 0xffff)))
        else:
            ips.append("%d.%d.%d.%d" % (rng.choice([5, 31, 37, 46, 62, 77, 80, 81, 83, 84,
                                                    85, 88, 91, 93, 94, 95, 109, 176, 178,
                                                    185, 188, 193, 194, 195, 212, 213, 217]),
                                        rng.randint(0, 255), rng.randint(0, 255),
                                        rng.randint(1, 254)))
    sections = ["blog", "docs", "products", "news", "help", "fi/blogi", "sv/blogg"]
    pages = ["/", "/pricing", "/about", "/contact", "/search?q=seula"]
    for s in sections:
        for k in range(60):
            pages.append("/%s/%s-%d" % (s, rng.choice(["intro", "guide", "release", "case",
                                                      "how-to", "notes"]), k))
    page_weights = [1.0 / (i + 1) ** 0.9 for i in range(len(pages))]
    assets = (["/static/css/site.%d.css" % v for v in range(3)]
              + ["/static/js/app.%d.js" % v for v in range(3)]
              + ["/static/js/vendor.js", "/fonts/inter.woff2", "/fonts/inter-bold.woff2",
                 "/favicon.ico", "/apple-touch-icon.png"]
              + ["/img/%s-%d.%s" % (n_, k, e) for n_ in ("hero", "photo", "icon")
                 for k in range(20) for e in ("jpg", "webp", "png", "svg")])
    refs = ["-"] * 6 + ["https://www.google.com/", "https://www.google.fi/",
                        "https://www.bing.com/search?q=seula", "https://duckduckgo.com/",
                        "https://t.co/abc", "https://www.facebook.com/",
                        "https://news.ycombinator.com/item?id=1", "https://example.org/links"]
    utms = ["", "", "", "", "?utm_source=newsletter&utm_medium=email&utm_campaign=nov",
            "?utm_source=twitter&utm_medium=social", "?gclid=abc123"]
    scanner = ["/wp-login.php", "/.env", "/admin/config.php", "/xmlrpc.php",
               "/phpmyadmin/", "/.git/config"]

    t = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) \
        - datetime.timedelta(days=30, hours=1)
    step = 30 * 86400 / n
    zone = datetime.timedelta(hours=2)
    written = 0
    f = open(out_path, "w")
    buf = []
    elapsed = 0.0

    def emit(ip, method, target, status, size, ref, ua):
        nonlocal written, elapsed
        elapsed += rng.expovariate(1.0 / step)
        lt = t + datetime.timedelta(seconds=int(elapsed)) + zone
        buf.append('%s - - [%02d/%s/%04d:%02d:%02d:%02d +0200] "%s %s HTTP/1.1" %d %d "%s" "%s"\n'
                   % (ip, lt.day, MONTHS[lt.month - 1], lt.year, lt.hour, lt.minute,
                      lt.second, method, target, status, size, ref, ua))
        written += 1

    host = "https://www.example.com"
    while written < n:
        ip = rng.choice(ips)
        r = rng.random()
        if r < 0.12:  # a crawler
            ua = rng.choice(bots)
            for _ in range(rng.randint(1, 6)):
                target = rng.choice(["/robots.txt", "/sitemap.xml"] + pages[:50]) \
                    if rng.random() < 0.5 else rng.choices(pages, page_weights)[0]
                emit(ip, "GET", target, rng.choices([200, 304, 301, 404], [85, 5, 5, 5])[0],
                     rng.randint(200, 60000), "-", ua)
        elif r < 0.16:  # a scanner
            ua = rng.choice(FALLBACK_UAS + ["python-requests/2.31.0", "curl/8.4.0", "-"])
            for _ in range(rng.randint(1, 5)):
                emit(ip, rng.choice(["GET", "POST"]), rng.choice(scanner), 404, 153, "-", ua)
        elif r < 0.18:  # monitoring
            emit(ip, "HEAD", "/", 200, 0, "-", "UptimeRobot/2.0")
        else:  # a browser visit
            ua = rng.choices(uas, ua_weights)[0]
            ref = rng.choice(refs)
            for k in range(rng.choices([1, 2, 3, 5], [50, 25, 15, 10])[0]):
                page = rng.choices(pages, page_weights)[0]
                status = rng.choices([200, 304, 301, 404, 500], [86, 8, 3, 2, 1])[0]
                emit(ip, "GET", page + (rng.choice(utms) if k == 0 else ""), status,
                     rng.randint(2000, 90000), ref, ua)
                first = k == 0 and rng.random() < 0.7
                for a in (rng.sample(assets, rng.randint(3, 9)) if first else
                          rng.sample(assets, rng.randint(0, 2))):
                    emit(ip, "GET", a, rng.choices([200, 304, 206], [70, 28, 2])[0],
                         rng.randint(300, 400000), host + page, ua)
                if rng.random() < 0.05:
                    emit(ip, "POST", "/api/contact", 200, 20, host + page, ua)
                ref = host + page
        if len(buf) >= 10000:
            f.write("".join(buf))
            buf.clear()
    f.write("".join(buf))
    f.close()
    print(written)


if __name__ == "__main__":
    main()
