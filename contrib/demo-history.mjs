#!/usr/bin/env node
// demo-history.mjs - sixty days of made-up traffic for the demo site, as
// an nginx access log (combined format) on standard output, so that the
// demo's dashboard has a month to show, and one before it to compare with:
//
//   node contrib/demo-history.mjs | seula import-log --config contrib/seula.ini.example --site demo -
//
// contrib/setup.sh demo does this once, before the server's first start,
// into the database `seula migrate` makes (import-log makes none).
// The visits are invented: addresses from a few countries' public ranges
// (the GeoIP database names them), common browsers and a crawler or two,
// search, social, newsletter and paid arrivals, the demo's pages with the
// assets a browser fetches beside them.  The days end yesterday (UTC): the
// tracker counts from today.  Runs on the same day write the same log.
'use strict';

const SEED = 20261201;
const DAYS = 60;

// mulberry32: a small, well-known deterministic generator.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const pick = (list) => list[Math.floor(rand() * list.length)];
// [value, weight] pairs.
function weighted(pairs) {
  const total = pairs.reduce((n, [, w]) => n + w, 0);
  let r = rand() * total;
  for (const [v, w] of pairs) if ((r -= w) < 0) return v;
  return pairs[pairs.length - 1][0];
}

// /16s the demo's GeoIP database puts in these countries.
const NETWORKS = [
  ['193.166', 30], ['85.76', 25], // Finland
  ['78.69', 8], ['81.228', 6], // Sweden
  ['91.64', 7], ['84.128', 5], // Germany
  ['86.1', 5], // United Kingdom
  ['24.1', 4], ['73.1', 4], // United States
  ['90.190', 3], ['88.196', 3], // Estonia
];
const BROWSERS = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 30],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 10],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0', 8],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 8],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 3],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1', 22],
  ['Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36', 15],
  ['Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1', 4],
];
const CRAWLERS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
];
// Where a visit comes from: its referrer and the query of its landing.
const ARRIVALS = [
  [{ ref: '-', query: '' }, 30],
  [{ ref: 'https://www.google.com/', query: '' }, 28],
  [{ ref: 'https://www.bing.com/', query: '' }, 4],
  [{ ref: 'https://duckduckgo.com/', query: '' }, 4],
  [{ ref: 'https://www.linkedin.com/', query: '' }, 6],
  [{ ref: 'https://l.facebook.com/', query: '' }, 4],
  [{ ref: 'https://news.ycombinator.com/', query: '' }, 2],
  [{ ref: '-', query: '?utm_source=newsletter&utm_medium=email&utm_campaign=november' }, 8],
  [{ ref: 'https://www.google.com/', query: '?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=privacy+analytics' }, 6],
  [{ ref: 'https://www.linkedin.com/', query: '?utm_source=linkedin&utm_medium=social&utm_campaign=launch' }, 4],
];
const LANDINGS = [['/demo/', 55], ['/demo/pricing', 20], ['/demo/contact', 8],
  ['/demo/blog/privacy-first-analytics', 10], ['/demo/blog/consent-done-right', 7]];
const NEXT = [['/demo/pricing', 40], ['/demo/', 20], ['/demo/contact', 20],
  ['/demo/blog/privacy-first-analytics', 10], ['/demo/blog/consent-done-right', 10]];
const ASSETS = ['/demo/demo.css', '/demo/demo.js', '/seula.js', '/consent.js'];
const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');

const two = (n) => String(n).padStart(2, '0');
function stamp(ms) {
  const d = new Date(ms);
  return `[${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000]`;
}

const lines = [];
function hit(ms, ip, path, status, ref, ua) {
  lines.push([ms, `${ip} - - ${stamp(ms)} "GET ${path} HTTP/1.1" ${status} ` +
    `${1000 + Math.floor(rand() * 30000)} "${ref}" "${ua}"`]);
}

const today = Math.floor(Date.now() / 86400000) * 86400000;
for (let day = DAYS; day >= 1; day--) {
  const start = today - day * 86400000;
  const weekday = new Date(start).getUTCDay();
  // Weekdays busier; a slow rise over the weeks.
  const visits = Math.round((weekday === 0 || weekday === 6 ? 70 : 120) *
    (1 + (DAYS - day) / 200) * (0.85 + rand() * 0.3));
  for (let v = 0; v < visits; v++) {
    // Office hours in Finland (UTC+2) most, evenings some, a few at night
    // (hours are UTC here).
    const hour = weighted([[5, 3], [6, 6], [7, 9], [8, 10], [9, 10], [10, 9],
      [11, 9], [12, 8], [13, 7], [14, 6], [15, 5], [16, 5], [17, 6], [18, 6],
      [19, 5], [20, 3], [21, 2], [22, 1.5], [23, 1], [0, 0.6], [1, 0.4],
      [2, 0.4], [3, 0.7], [4, 1.5]]);
    let t = start + hour * 3600000 + Math.floor(rand() * 3600000);
    const ip = `${weighted(NETWORKS)}.${1 + Math.floor(rand() * 254)}.${1 + Math.floor(rand() * 254)}`;
    const ua = weighted(BROWSERS);
    const from = weighted(ARRIVALS);
    let path = weighted(LANDINGS);
    let ref = from.ref;
    const pages = weighted([[1, 45], [2, 25], [3, 15], [4, 10], [5, 5]]);
    for (let p = 0; p < pages; p++) {
      hit(t, ip, p === 0 ? path + from.query : path, 200, ref, ua);
      for (const a of ASSETS) if (p === 0 || rand() < 0.1) hit(t + 200, ip, a, 200, `http://localhost${path}`, ua);
      ref = `http://localhost${path}`;
      t += 10000 + Math.floor(rand() * 110000);
      path = weighted(NEXT);
    }
  }
  // Crawlers, counted apart as bots.
  for (let c = 0; c < 15; c++)
    hit(start + Math.floor(rand() * 86400000), `66.249.66.${1 + c}`, pick(['/demo/', '/demo/pricing', '/demo/contact']),
      200, '-', pick(CRAWLERS));
}
lines.sort((a, b) => a[0] - b[0]);
process.stdout.write(lines.map((l) => l[1]).join('\n') + '\n');
