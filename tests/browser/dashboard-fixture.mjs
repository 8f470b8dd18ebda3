// What the dashboard's browser tests share (dashboard.test.mjs and
// dashboard-reports.test.mjs, two files so that each runs well inside its
// time limit): the server with the example configuration plus the analytics
// plugin, on a database filled with known traffic through the real POST
// /api/collect and three consent choices; Chromium; and the checks of what
// a page shows against the stats API's answer to the query it made.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, setIni, recordProblems, axeCheck, shutDown, addStaff,
  withoutPluginSections, postBeacon, testPaths, exampleIni } from './harness.mjs';

const { BIN, ROOT, AXE } = testPaths();
// The demo site's zone ([site.demo] timezone in contrib/seula.ini.example):
// the dashboard's reports are in it whatever the browser's is.
export const TZ = 'Europe/Helsinki';
export const BROWSER_TZ = 'America/New_York';
export const ANALYST = { name: 'ann', password: 'copper+Fjord+42+heron' };
export const SERVICE = { name: 'cas', password: 'walnut-Harbor-19-quill' };

// ---- the known traffic ------------------------------------------------------
// Seven cookieless visitors (no consent: counted by the cookieless hash of
// the masked address and the user agent), each from its own /16 so that
// the anonymiser's masking keeps them apart.
export const UA = {
  chromeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  chromeAndroid: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  edgeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  chromeMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
};
export const VISITORS = [
  { ua: UA.chromeWin, ip: '10.1.0.1', lang: 'en-US', screen: [1920, 1080], ref: 'https://www.google.com/',
    pages: ['/', '/pricing', '/docs'], engaged: 15000 },
  { ua: UA.firefoxLinux, ip: '10.2.0.1', lang: 'fi-FI', screen: [1366, 768], ref: null,
    query: '?utm_source=newsletter&utm_medium=email&utm_campaign=autumn-sale', pages: ['/', '/pricing'] },
  { ua: UA.safariIphone, ip: '10.3.0.1', lang: 'fi-FI', screen: [390, 844], ref: 'https://news.ycombinator.com/',
    pages: ['/blog/hello'] },
  { ua: UA.chromeAndroid, ip: '10.4.0.1', lang: 'sv-SE', screen: [412, 915], ref: null,
    pages: ['/', '/signup'], event: { name: 'signup', props: { plan: 'pro' } } },
  { ua: UA.edgeWin, ip: '10.5.0.1', lang: 'en-GB', screen: [1536, 864], ref: 'https://duckduckgo.com/',
    pages: ['/docs', '/docs/install', '/docs/k%C3%A4ytt%C3%B6'] },
  { ua: UA.chromeMac, ip: '10.6.0.1', lang: 'en-US', screen: [1440, 900], ref: 'https://t.co/k%C3%A4ytt%C3%B6',
    query: '?utm_source=twitter&utm_medium=social&utm_campaign=autumn-sale&utm_content=thread%7Cx%3By', pages: ['/'] },
  // A public address (Finnish), for a country from the GeoIP database.
  { ua: UA.firefoxWin, ip: '193.166.3.2', lang: 'fi-FI', screen: [1920, 1080], ref: null,
    pages: ['/pricing', '/signup'], event: { name: 'signup', props: { plan: 'free' } } },
];
export const PAGEVIEWS = VISITORS.reduce((n, v) => n + v.pages.length, 0);

// The server's address, once startDashboard() has run (each test file is
// a process of its own).
let base;

// The INI text without the [plugin.NAME] sections of plugins not loaded
// (the example may configure more plugins than this test needs).
// The collect and consent routes take their JSON as text/plain (a beacon's).
export const post = (pathname, body, headers) => postBeacon(base, pathname, body, headers);

async function sendTraffic() {
  for (const v of VISITORS) {
    const headers = { 'User-Agent': v.ua, 'X-Forwarded-For': v.ip, Origin: 'http://localhost' };
    let referrer = v.ref;
    for (const [i, p] of v.pages.entries()) {
      const url = `http://localhost${p}${i === 0 && v.query ? v.query : ''}`;
      const ev = { site: 'demo', type: 'pageview', url, language: v.lang,
        screen_width: v.screen[0], screen_height: v.screen[1] };
      if (referrer) ev.referrer = referrer;
      const r = await post('/api/collect', ev, headers);
      assert.equal(r.status, 204, `collect ${url}: ${r.text}`);
      if (v.engaged) {
        const e = await post('/api/collect', { site: 'demo', type: 'engagement', url, engagement_ms: v.engaged }, headers);
        assert.equal(e.status, 204, `engagement ${url}: ${e.text}`);
      }
      referrer = url;
    }
    if (v.event) {
      const ev = { site: 'demo', type: 'event', name: v.event.name, props: v.event.props,
        url: `http://localhost${v.pages.at(-1)}` };
      const r = await post('/api/collect', ev, headers);
      assert.equal(r.status, 204, `collect event: ${r.text}`);
    }
  }
}

// Three choices on the banner: accept all, reject all, analytics alone.
export const CHOICES = [
  { method: 'accept_all', decisions: { analytics: true, marketing: true, personalization: true } },
  { method: 'reject_all', decisions: { analytics: false, marketing: false, personalization: false } },
  { method: 'custom', decisions: { analytics: true, marketing: false, personalization: false } },
];
export const OPT_IN = { analytics: 2 / 3, marketing: 1 / 3, personalization: 1 / 3 };

async function sendConsent() {
  const cfg = await (await fetch(`${base}/api/consent/config?site=demo&lang=en`)).json();
  const offered = cfg.categories.filter((c) => c !== 'necessary');
  assert.deepEqual(offered.sort(), Object.keys(OPT_IN).sort());
  for (const [i, c] of CHOICES.entries()) {
    const body = {
      site: 'demo', policy_version: cfg.policy_version, texts_hash: cfg.texts_hash,
      language: cfg.language, decisions: c.decisions,
      preselected: Object.fromEntries(offered.map((k) => [k, false])),
      method: c.method, source: 'banner', given_at: Date.now(), page: 'http://localhost/',
    };
    const r = await post('/api/consent', body, { 'X-Forwarded-For': `10.9.${i}.1`, Origin: 'http://localhost' });
    assert.equal(r.status, 201, `consent ${c.method}: ${r.text}`);
  }
}

// Starts the server on the known traffic and Chromium, filling `fx` (dir,
// seula, base, browser) as each part runs, so that stopDashboard(fx)
// stops what started even when a later part failed.
export async function startDashboard(fx) {
  for (const f of [BIN, AXE, path.join(ROOT, 'node_modules', 'uplot', 'dist', 'uPlot.iife.min.js')])
    if (!existsSync(f)) throw new Error(`${f} is missing (build seula; npm ci installs the rest)`);
  const dir = fx.dir = mkdtempSync(path.join(tmpdir(), 'seula-dashboard-'));
  const config = path.join(dir, 'seula.ini');
  // contrib/seula.ini.example with a free port, a database of its own, the
  // plugins of the build and the analytics plugin; it starts in the
  // repository root, where the example's relative paths point.
  let ini = exampleIni(path.join(dir, 'seula.db'));
  const load = ['geoip', 'useragent', 'referrer', 'anonymize', 'analytics'];
  ini = setIni(ini, 'plugins', 'load', load.join(', '));
  ini = withoutPluginSections(ini, load);
  ini = setIni(ini, 'plugin.analytics', 'goals', 'demo:event:signup, demo:page:/pricing, demo:page:/docs*');
  ini = setIni(ini, 'plugin.analytics', 'content_groups', 'demo:Docs:/docs*, demo:Buying:/pricing|/signup, demo:Unread:/none*');
  // A second site, configured but never visited.
  ini += '\n[site.quiet]\ndomains = quiet.example\n';
  writeFileSync(config, `; written by tests/browser/dashboard-fixture.mjs\n${ini}`);
  addStaff(BIN, config, [{ ...ANALYST, role: 'analyst' }, { ...SERVICE, role: 'customer_service' }], { cwd: ROOT });

  fx.seula = await startSeula(BIN, config, { cwd: ROOT });
  base = fx.base = fx.seula.base;
  await sendTraffic();
  await sendConsent();
  fx.browser = await launchChromium();
}

export async function stopDashboard(fx) {
  const code = await shutDown(fx);
  if (fx.seula) assert.equal(code, 0, 'seula stops with status 0 on SIGTERM');
}

// ---- helpers ------------------------------------------------------------------

// What the dashboard shows for a metric's value (web/dashboard/dashboard.js).
export function shown(metric, v) {
  if (v === null || v === undefined) return '–';
  const n = Number(v);
  switch (metric) {
    case 'views_per_visit': return new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(n);
    case 'bounce_rate': case 'conversion_rate':
      return `${new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(n)}%`;
    case 'visit_duration': case 'time_on_page': {
      const s = Math.round(n);
      if (s < 60) return `${s}s`;
      const m = Math.floor(s / 60);
      return m < 60 ? `${m}m ${s % 60}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
    }
    default: return new Intl.NumberFormat('en-US').format(n);
  }
}
export const SUMMARY = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration', 'events'];

// A signed-in page that records script errors and CSP violations.
// With `at` (a Date), the page's clock stands still there from its first
// script on.
export async function open(context, url, at) {
  const page = await context.newPage();
  // A 401 is an answer only to the reports of a session that ended under
  // the page: a first visit asks whether it is signed in without one.
  await recordProblems(page, (m) => /status of 401/.test(m.text()) && /\/api\/stats\//.test(m.location().url));
  if (at) await page.clock.setFixedTime(at);
  await page.goto(url);
  return page;
}

// The dashboard at `next` (its path and query) for the analyst, who is
// sent to sign in first, as a stranger is; `at` as for open().
export async function analystPage(context, next, at) {
  const page = await open(context, `${base}/login/?next=${encodeURIComponent(next)}`, at);
  await signIn(page, ANALYST);
  return page;
}

// The dashboard has drawn everything for the state in its URL: `what`
// (run in the page; a function, since the page's CSP forbids eval) holds,
// and then the redraw it started is over.  The URL and the 'loading' state
// change in the same task, so the second wait cannot see a stale 'ready'.
export async function ready(page, what) {
  if (what) await page.waitForFunction(what, null, { timeout: 15000 });
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 15000 });
}

// Sign in on the login page the browser is on; back on the dashboard.
export async function signIn(page, user) {
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#username', user.name);
  await page.fill('#password', user.password);
  await page.click('#submit');
  await page.waitForURL((u) => u.pathname === '/');
}

export async function api(context, url) {
  const r = await context.request.get(new URL(url, base).href);
  assert.equal(r.status(), 200, `GET ${url}: ${await r.text()}`);
  return r.json();
}

// The summary the page shows equals the API's answer to the query it made.
export async function checkSummary(page, context) {
  const url = await page.getAttribute('#summary', 'data-api');
  assert.match(url, /^\/api\/stats\/demo\/summary\?/);
  const q = new URL(url, base).searchParams;
  assert.equal(q.get('tz'), TZ, 'the time zone is the site\'s, not the browser\'s');
  const data = await api(context, url);
  const cells = await page.$$eval('#summary [data-metric]', (bs) => bs.map((b) => ({
    metric: b.dataset.metric, raw: b.querySelector('.value').dataset.value,
    text: b.querySelector('.value').textContent,
  })));
  // With a goal filter, its conversion rate after the rest.
  // With a page filter, the page's time after the visits' duration.
  const pageScoped = data.filters.some((f) => ['page', 'content_group'].includes(f.dimension) && f.op === '==');
  const metrics = pageScoped ? [...SUMMARY.slice(0, 6), 'time_on_page', ...SUMMARY.slice(6)] : SUMMARY;
  assert.deepEqual(cells.map((c) => c.metric),
    'conversion_rate' in data.results ? [...metrics, 'conversion_rate'] : metrics);
  const perVisit = ['views_per_visit', 'bounce_rate', 'visit_duration'];
  for (const c of cells) {
    // A rate per visit of a period without visits is shown as none.
    const v = perVisit.includes(c.metric) && !data.results.visits ? null : data.results[c.metric];
    assert.equal(c.raw, v === null || v === undefined ? '' : String(v), `${c.metric}: the value shown is the API's`);
    assert.equal(c.text, shown(c.metric, v), `${c.metric}: shown as ${shown(c.metric, v)}`);
  }
  return { data, query: q };
}

// A table's rows against the API's breakdown for the query it made.
export async function checkTable(page, context, table, columns) {
  const url = await page.getAttribute(table, 'data-api');
  const data = await api(context, url);
  const dim = data.dimension;
  const rows = await page.$$eval(`${table} tbody tr:not(.empty)`, (trs) => trs.map((tr) => ({
    value: tr.dataset.value,
    cells: Object.fromEntries([...tr.querySelectorAll('td[data-metric]')].map((td) =>
      [td.dataset.metric, { raw: td.dataset.value, text: td.textContent }])),
  })));
  assert.equal(rows.length, data.results.length, `${table}: a row per result`);
  data.results.forEach((r, i) => {
    assert.equal(rows[i].value, String(r[dim]), `${table} row ${i}`);
    for (const m of columns) {
      // null (a page's time without any engagement reported): no value.
      assert.equal(rows[i].cells[m].raw, r[m] === null ? '' : String(r[m]), `${table} row ${i} ${m}`);
      assert.equal(rows[i].cells[m].text, shown(m, r[m]), `${table} row ${i} ${m} shown`);
    }
  });
  return data;
}

export const chips = (page) => page.$$eval('#filters .chip', (lis) => lis.map((li) => li.querySelector('.chip-text').textContent));

// Minor violations are shown; serious and critical ones fail.
export const axe = (page, minPasses = 15) => axeCheck(page, minPasses);

// ---- the test -------------------------------------------------------------------
