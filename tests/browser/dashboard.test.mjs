// The marketing dashboard (web/index.html, web/dashboard/) in Debian's
// Chromium, driven by playwright-core, against the real server with the
// example configuration plus the analytics plugin, on a database filled with
// known traffic through the real POST /api/collect: the sign-in it sends a
// stranger to, the summary numbers and the top pages against the stats API
// for the same query, filtering by clicking a row (and by the keyboard),
// chips that combine and are removed, the comparison with the previous
// period, the chart drawn by uPlot, the CSV exports, the URL as bookmark,
// real-time visitors, axe-core's WCAG 2.1 A/AA rules, no CSP violation, and
// a full-page screenshot that the test output keeps.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/dashboard.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshot goes (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, setIni, recordProblems, axeCheck, shutDown, addStaff,
  withoutPluginSections, postBeacon, testPaths } from './harness.mjs';

const { BIN, ROOT, OUTPUT, AXE } = testPaths();
// The demo site's zone ([site.demo] timezone in contrib/seula.ini.example):
// the dashboard's reports are in it whatever the browser's is.
const TZ = 'Europe/Helsinki';
const BROWSER_TZ = 'America/New_York';
const ANALYST = { name: 'ann', password: 'copper+Fjord+42+heron' };
const SERVICE = { name: 'cas', password: 'walnut-Harbor-19-quill' };

// ---- the known traffic ------------------------------------------------------
// Seven cookieless visitors (no consent: counted by the cookieless hash of
// the masked address and the user agent), each from its own /16 so that
// the anonymiser's masking keeps them apart.
const UA = {
  chromeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  chromeAndroid: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  edgeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  chromeMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
};
const VISITORS = [
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
const PAGEVIEWS = VISITORS.reduce((n, v) => n + v.pages.length, 0);

let dir, seula, base, browser;

// The INI text without the [plugin.NAME] sections of plugins not loaded
// (the example may configure more plugins than this test needs).
// The collect and consent routes take their JSON as text/plain (a beacon's).
const post = (pathname, body, headers) => postBeacon(base, pathname, body, headers);

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
const CHOICES = [
  { method: 'accept_all', decisions: { analytics: true, marketing: true, personalization: true } },
  { method: 'reject_all', decisions: { analytics: false, marketing: false, personalization: false } },
  { method: 'custom', decisions: { analytics: true, marketing: false, personalization: false } },
];
const OPT_IN = { analytics: 2 / 3, marketing: 1 / 3, personalization: 1 / 3 };

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

before(async () => {
  for (const f of [BIN, AXE, path.join(ROOT, 'node_modules', 'uplot', 'dist', 'uPlot.iife.min.js')])
    if (!existsSync(f)) throw new Error(`${f} is missing (build seula; npm ci installs the rest)`);
  dir = mkdtempSync(path.join(tmpdir(), 'seula-dashboard-'));
  const config = path.join(dir, 'seula.ini');
  // contrib/seula.ini.example with a free port, a database of its own, the
  // plugins of the build and the analytics plugin; it starts in the
  // repository root, where the example's relative paths point.
  let ini = readFileSync(path.join(ROOT, 'contrib', 'seula.ini.example'), 'utf8');
  ini = setIni(ini, 'server', 'listen', '127.0.0.1:0');
  ini = setIni(ini, 'server', 'db', path.join(dir, 'seula.db'));
  ini = setIni(ini, 'server', 'web_root', path.join(ROOT, 'web'));
  ini = setIni(ini, 'server', 'plugin_dir', path.join(path.dirname(path.resolve(BIN)), 'plugins'));
  const load = ['geoip', 'useragent', 'referrer', 'anonymize', 'analytics'];
  ini = setIni(ini, 'plugins', 'load', load.join(', '));
  ini = withoutPluginSections(ini, load);
  ini = setIni(ini, 'plugin.analytics', 'goals', 'demo:event:signup, demo:page:/pricing, demo:page:/docs*');
  ini = setIni(ini, 'plugin.analytics', 'content_groups', 'demo:Docs:/docs*, demo:Buying:/pricing|/signup, demo:Unread:/none*');
  // A second site, configured but never visited.
  ini += '\n[site.quiet]\ndomains = quiet.example\n';
  writeFileSync(config, `; written by tests/browser/dashboard.test.mjs\n${ini}`);
  addStaff(BIN, config, [{ ...ANALYST, role: 'analyst' }, { ...SERVICE, role: 'customer_service' }], { cwd: ROOT });

  seula = await startSeula(BIN, config, { cwd: ROOT });
  base = seula.base;
  await sendTraffic();
  await sendConsent();
  browser = await launchChromium();
});

after(async () => {
  const code = await shutDown({ browser, seula, dir });
  if (seula) assert.equal(code, 0, 'seula stops with status 0 on SIGTERM');
});

// ---- helpers ------------------------------------------------------------------

// What the dashboard shows for a metric's value (web/dashboard/dashboard.js).
function shown(metric, v) {
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
const SUMMARY = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration', 'events'];

// A signed-in page that records script errors and CSP violations.
async function open(context, url) {
  const page = await context.newPage();
  // A 401 is an answer only to the reports of a session that ended under
  // the page: a first visit asks whether it is signed in without one.
  await recordProblems(page, (m) => /status of 401/.test(m.text()) && /\/api\/stats\//.test(m.location().url));
  await page.goto(url);
  return page;
}

// The dashboard has drawn everything for the state in its URL: `what`
// (run in the page; a function, since the page's CSP forbids eval) holds,
// and then the redraw it started is over.  The URL and the 'loading' state
// change in the same task, so the second wait cannot see a stale 'ready'.
async function ready(page, what) {
  if (what) await page.waitForFunction(what, null, { timeout: 15000 });
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 15000 });
}

// Sign in on the login page the browser is on; back on the dashboard.
async function signIn(page, user) {
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#username', user.name);
  await page.fill('#password', user.password);
  await page.click('#submit');
  await page.waitForURL((u) => u.pathname === '/');
}

async function api(context, url) {
  const r = await context.request.get(new URL(url, base).href);
  assert.equal(r.status(), 200, `GET ${url}: ${await r.text()}`);
  return r.json();
}

// The summary the page shows equals the API's answer to the query it made.
async function checkSummary(page, context) {
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
async function checkTable(page, context, table, columns) {
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

const chips = (page) => page.$$eval('#filters .chip', (lis) => lis.map((li) => li.querySelector('.chip-text').textContent));

// Minor violations are shown; serious and critical ones fail.
const axe = (page, minPasses = 15) => axeCheck(page, minPasses);

// ---- the test -------------------------------------------------------------------

test('the dashboard shows what the API answers, filters by a click, exports CSV, passes axe', async () => {
  const t0 = Date.now();
  const context = await browser.newContext({ timezoneId: BROWSER_TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });

  // A stranger is sent to sign in, and comes back.
  const page = await open(context, `${base}/`);
  await page.waitForURL(/\/login\/\?next=%2F/);
  await signIn(page, ANALYST);
  await ready(page);
  assert.equal(new URL(page.url()).searchParams.get('site'), 'demo', 'the site is in the URL');
  assert.equal(await page.inputValue('#site'), 'demo');
  assert.equal(await page.inputValue('#period'), '30d');
  assert.equal(await page.textContent('#tz'), TZ);

  // The summary, and the API's numbers are the traffic sent.
  const { data: all, query } = await checkSummary(page, context);
  assert.equal(all.results.pageviews, PAGEVIEWS, 'every page view sent is counted');
  assert.ok(Math.abs(all.results.visitors - VISITORS.length) <= 1, `about ${VISITORS.length} visitors: ${all.results.visitors}`);
  assert.equal(all.results.events, 2, 'two custom events');
  assert.ok(query.get('from') && query.get('to'), 'an explicit range');
  assert.ok('comparison' in all, 'the change against the previous period');

  // Top pages against the breakdown.
  const pages = await checkTable(page, context, '#table-pages', ['visitors', 'pageviews', 'time_on_page']);
  // Countries by name, in the browser's language; the row keeps the code.
  const countries = await checkTable(page, context, '#table-locations', ['visitors']);
  const coded = countries.results.filter((r) => /^[A-Z]{2}$/.test(r.country || ''));
  assert.ok(coded.length >= 1, 'a country from the public address');
  for (const r of coded) {
    const label = await page.textContent(`#table-locations tr[data-value="${r.country}"] .name`);
    const want = await page.evaluate((c) => new Intl.DisplayNames(undefined, { type: 'region' }).of(c), r.country);
    assert.ok(want && want !== r.country, `a name for ${r.country}`);
    assert.equal(label, want);
  }
  assert.equal(pages.results[0].page, '/', 'the most visited page first');
  assert.equal(pages.results.reduce((n, r) => n + r.pageviews, 0), PAGEVIEWS);
  // A path as browsers send it, percent-encoded, is shown as it reads.
  assert.equal(await page.textContent('#table-pages tbody tr[data-value="/docs/k%C3%A4ytt%C3%B6"] .name'),
    '/docs/käyttö');
  // And so is a referrer, its value (the filter's) as stored.
  await page.click('#card-sources .tab[data-dimension="referrer"]');
  await page.waitForSelector('#table-sources tbody tr[data-value="https://t.co/k%C3%A4ytt%C3%B6"]');
  assert.equal(await page.textContent('#table-sources tbody tr[data-value="https://t.co/k%C3%A4ytt%C3%B6"] .name'),
    'https://t.co/käyttö');
  await page.click('#card-sources .tab[data-dimension="channel"]');
  await page.waitForFunction(() => document.querySelector('#table-sources').dataset.dimension === 'channel');

  // The chart: uPlot drew a canvas with a point per day of the range.
  const canvas = await page.$eval('#chart canvas', (c) => ({ w: c.width, h: c.height }));
  assert.ok(canvas.w > 200 && canvas.h > 100, `a canvas ${canvas.w}×${canvas.h}`);
  const points = Number(await page.getAttribute('#chart', 'data-points'));
  assert.equal(points, 30, 'a point per day of the last 30 days');
  const ts = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.equal(ts.results.length, points);
  assert.ok(ts.results.reduce((n, r) => n + r.visitors, 0) >= 1, 'the traffic is on the chart');

  // Consent opt-in rates, as GET /api/consent/stats has them.
  const consent = await api(context, await page.getAttribute('#table-consent', 'data-api'));
  assert.equal(consent.tz, TZ, 'consent is counted by the same local days');
  assert.equal(consent.totals.choices, CHOICES.length);
  const rates = await page.$$eval('#table-consent tbody tr', (trs) => trs.map((tr) =>
    [tr.dataset.value, tr.querySelector('td').dataset.value, tr.querySelector('td').textContent]));
  assert.deepEqual(rates.map((r) => r[0]).sort(), Object.keys(OPT_IN).sort());
  for (const [cat, raw, text] of rates) {
    assert.equal(raw, String(consent.totals.opt_in_rate[cat]), `${cat}: the rate shown is the API's`);
    assert.ok(Math.abs(Number(raw) - OPT_IN[cat]) < 1e-9, `${cat}: ${raw}`);
    assert.equal(text, shown('conversion_rate', OPT_IN[cat] * 100));
  }
  // Its CSV (made in the page) gives the day's rates in percent, as the
  // other exports do.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#card-consent a.csv')]);
  const consentCsv = readFileSync(await download.path(), 'utf8');
  const [head, ...days] = consentCsv.trim().split('\n').map((l) => l.split(','));
  const daysWithChoices = days.filter((d) => d.slice(head.findIndex((h) => h.startsWith('opt_in_rate_'))).some((v) => v !== ''));
  assert.ok(daysWithChoices.length >= 1, consentCsv);
  for (const d of daysWithChoices)
    for (const [i, h] of head.entries())
      if (h.startsWith('opt_in_rate_') && d[i] !== '') {
        const cat = h.slice('opt_in_rate_'.length);
        if (cat in OPT_IN && daysWithChoices.length === 1) assert.equal(Number(d[i]), Math.round(OPT_IN[cat] * 1000) / 10, h);
        assert.ok(Number(d[i]) >= 0 && Number(d[i]) <= 100, `${h}: ${d[i]}`);
      }

  // Real-time visitors, as the API counts them.
  const rt = await api(context, '/api/stats/demo/realtime');
  assert.equal(await page.getAttribute('#realtime-count', 'data-value'), String(rt.visitors));
  assert.ok(rt.visitors >= 1);

  // A CSV export of a table answers text/csv.
  const csvHref = await page.getAttribute('#card-pages a.csv', 'href');
  assert.match(csvHref, /format=csv/);
  const csv = await context.request.get(new URL(csvHref, base).href);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /^text\/csv/);
  assert.match(await csv.text(), /page/);
  // All of its rows, not the table's top ten, saved under the name the
  // page gives it (a browser takes the server's name over the page's).
  assert.equal(new URL(csvHref, base).searchParams.get('limit'), '1000000');
  const saveAs = await page.getAttribute('#card-pages a.csv', 'download');
  assert.match(saveAs, /^demo-page-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/);
  assert.equal(csv.headers()['content-disposition'], `attachment; filename="${saveAs}"`);
  const chartCsv = await context.request.get(new URL(await page.getAttribute('#chart-csv', 'href'), base).href);
  assert.equal(chartCsv.headers()['content-disposition'],
    `attachment; filename="${await page.getAttribute('#chart-csv', 'download')}"`);
  const csvLinks = await page.$$eval('a.csv[href]', (as) => as.length);
  assert.ok(csvLinks >= 10, `every table has a CSV link (${csvLinks})`);

  // Two tabs clicked one after the other, both answers held back: the
  // first answer, when it comes, does not clear the second's busy state.
  const gates = {};
  const tabReport = (url) => url.pathname.endsWith('/breakdown') && ['os', 'device'].includes(url.searchParams.get('dimension'));
  await page.route(tabReport, async (route) => {
    const dim = new URL(route.request().url()).searchParams.get('dimension');
    await new Promise((resolve) => { gates[dim] = resolve; });
    await route.continue();
  });
  await page.click('#card-devices .tab[data-dimension="os"]');
  await page.waitForFunction(() => document.querySelector('#table-devices').dataset.dimension === 'os');
  await page.click('#card-devices .tab[data-dimension="device"]');
  await page.waitForFunction(() => document.querySelector('#table-devices').dataset.dimension === 'device');
  while (!gates.os || !gates.device) await new Promise((resolve) => setTimeout(resolve, 20));
  gates.os();
  await page.waitForResponse((r) => r.url().includes('dimension=os'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(await page.getAttribute('#table-devices', 'aria-busy'), 'true', 'the device tab is still on its way');
  gates.device();
  await page.waitForFunction(() => !document.querySelector('#table-devices').hasAttribute('aria-busy'), null, { timeout: 5000 });
  await page.unroute(tabReport);
  await checkTable(page, context, '#table-devices', ['visitors']);

  // Time of day: all 24 hours, in the hours' order, as the API counts
  // them, zeros for the hours it does not list; an hour is no filter.
  const hoursUrl = await page.getAttribute('#table-hours', 'data-api');
  assert.equal(new URL(hoursUrl, base).searchParams.get('limit'), '24');
  const hours = (await api(context, hoursUrl)).results;
  assert.ok(hours.length > 0 && hours.length < 24, `${hours.length} hours with visits`);
  const hourRow = (h) => hours.find((r) => r.hour === h) || { hour: h, visitors: 0, visits: 0 };
  const shownHours = await page.$$eval('#table-hours tbody tr', (trs) => trs.map((tr) => ({
    value: tr.dataset.value, label: tr.querySelector('th').textContent,
    visits: tr.querySelector('td[data-metric="visits"]').dataset.value, button: !!tr.querySelector('button') })));
  assert.deepEqual(shownHours.map((r) => [r.value, r.visits, r.button]),
    Array.from({ length: 24 }, (_, h) => [String(h), String(hourRow(h).visits), false]));
  assert.deepEqual([shownHours[0].label, shownHours[23].label], ['00:00–01:00', '23:00–00:00']);
  assert.equal(await page.isHidden('#card-hours .more'), true);
  // Its CSV: the same 24 hours in order, with the API's columns, the
  // API's figures for the hours it lists (its CSV for the same query).
  const [hoursDownload] = await Promise.all([page.waitForEvent('download'), page.click('#card-hours a.csv')]);
  assert.match(hoursDownload.suggestedFilename(), /^demo-hour-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/);
  const hoursCsvText = readFileSync(await hoursDownload.path(), 'utf8');
  const apiHoursCsv = await (await context.request.get(new URL(`${hoursUrl}&format=csv`, base).href)).text();
  assert.ok(hoursCsvText.endsWith('\r\n') && apiHoursCsv.endsWith('\r\n'), 'CRLF, as the API\'s CSV');
  const hoursCsv = hoursCsvText.trim().split('\r\n');
  const [apiHead, ...apiHours] = apiHoursCsv.trim().split('\r\n');
  assert.equal(hoursCsv.length, 25);
  assert.equal(hoursCsv[0], apiHead, 'the API\'s columns');
  assert.deepEqual(hoursCsv.slice(1).map((l) => l.split(',')[0]), Array.from({ length: 24 }, (_, h) => String(h)));
  for (const line of apiHours) assert.ok(hoursCsv.includes(line), `the API's row ${line}`);
  const quiet = hoursCsv.slice(1).find((l) => !hours.some((r) => String(r.hour) === l.split(',')[0]));
  assert.match(quiet, /^\d+,0,0,0,,,,0,$/, 'an hour without visits: zeros, and no rate');

  // Custom properties: the site's keys in a menu beside the tabs, shown
  // with the Properties tab; their values as the API breaks them down.
  assert.equal(await page.isHidden('#card-events .prop-key'), true, 'no key menu on the Events tab');
  await page.click('#card-events .tab[data-dimension="prop"]');
  await page.waitForFunction(() => document.querySelector('#table-events').dataset.dimension === 'prop:plan' &&
    !document.querySelector('#table-events').hasAttribute('aria-busy'));
  assert.deepEqual(await page.$$eval('#card-events .prop-key option', (os) => os.map((o) => o.value)), ['plan']);
  assert.equal(await page.isVisible('#card-events .prop-key'), true);
  const plans = await checkTable(page, context, '#table-events', ['visitors', 'events']);
  assert.deepEqual(plans.results.map((r) => [r['prop:plan'], r.events]).sort(), [['free', 1], ['pro', 1]]);
  assert.equal(await page.textContent('#table-events thead th'), 'Property plan');
  // The tab and the property stay chosen in this browser: a reload
  // shows them again, though the address does not hold them.
  assert.doesNotMatch(page.url(), /plan|prop/);
  await page.reload();
  await ready(page);
  await page.waitForFunction(() => document.querySelector('#table-events').dataset.dimension === 'prop:plan' &&
    !document.querySelector('#table-events').hasAttribute('aria-busy'));
  assert.equal(await page.inputValue('#card-events .prop-key'), 'plan');
  await page.click('#card-events .tab[data-dimension="event"]');
  await page.waitForFunction(() => document.querySelector('#table-events').dataset.dimension === 'event');

  // Filter by a browser: click its row.
  await page.click('#card-devices .tab[data-dimension="browser"]');
  await page.waitForSelector('#table-browser, #table-devices[data-dimension="browser"]');
  await page.waitForFunction(() => document.querySelector('#table-devices tbody tr[data-value="Firefox"]'));
  await checkTable(page, context, '#table-devices', ['visitors']);
  // The pages' breakdown held back: until it comes, the table shows the
  // last answer greyed and says it is busy; the summary, answered, not.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const pagesReport = (url) => url.pathname.endsWith('/breakdown') && url.searchParams.get('dimension') === 'page';
  await page.route(pagesReport, async (route) => { await held; await route.continue(); });
  await page.click('#table-devices tbody tr[data-value="Firefox"] button');
  await page.waitForFunction(() => {
    const t = document.querySelector('#table-pages');
    return t.getAttribute('aria-busy') === 'true' && new URLSearchParams(t.dataset.api.split('?')[1]).get('filter') === 'browser==Firefox' &&
      getComputedStyle(t.tBodies[0]).opacity === '0.4' && t.tBodies[0].rows.length > 0;
  }, null, { timeout: 5000 });
  await page.waitForFunction(() => !document.querySelector('#summary').hasAttribute('aria-busy') &&
    getComputedStyle(document.querySelector('#summary')).opacity === '1', null, { timeout: 5000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'loading');
  release();
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'browser==Firefox');
  await page.unroute(pagesReport);
  assert.equal(await page.$eval('#table-pages', (t) => t.hasAttribute('aria-busy')), false);
  await page.waitForFunction(() => getComputedStyle(document.querySelector('#table-pages').tBodies[0]).opacity === '1',
    null, { timeout: 5000 });
  assert.deepEqual(await chips(page), ['Browser is Firefox']);
  const { data: firefox } = await checkSummary(page, context);
  assert.deepEqual(firefox.filters, [{ dimension: 'browser', op: '==', value: 'Firefox' }]);
  assert.ok(firefox.results.visitors < all.results.visitors, 'the filter changed the numbers');
  assert.equal(firefox.results.pageviews, 4, 'the two Firefox visitors viewed 4 pages');
  await checkTable(page, context, '#table-pages', ['visitors', 'pageviews', 'time_on_page']);

  // A second filter, with the keyboard: they combine.
  await page.focus('#table-pages tbody tr[data-value="/pricing"] button');
  await page.keyboard.press('Enter');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'browser==Firefox;page==/pricing');
  assert.deepEqual(await chips(page), ['Browser is Firefox', 'Page is /pricing']);
  assert.equal(await page.evaluate(() => document.activeElement.className), 'chip-remove',
    'the keyboard lands on the new chip');
  const { data: both } = await checkSummary(page, context);
  assert.equal(both.filters.length, 2);
  // The page's own views, as its row said before the click, and its
  // time on page among the figures.
  const pricingRow = (await api(context, `/api/stats/demo/breakdown?${new URLSearchParams({
    dimension: 'page', limit: '100', from: both.from, to: both.to, tz: TZ, filter: 'browser==Firefox' })}`))
    .results.find((r) => r.page === '/pricing');
  assert.equal(both.results.pageviews, pricingRow.pageviews);
  assert.ok(both.results.pageviews < firefox.results.pageviews, 'only /pricing\'s views');
  assert.equal(await page.isVisible('#summary [data-metric="time_on_page"]'), true);

  // Comparison with the previous period, and the URL as a bookmark.
  await page.selectOption('#compare', 'previous_period');
  await ready(page, () => new URLSearchParams(location.search).get('compare') === 'previous_period');
  assert.equal(await page.getAttribute('#chart', 'data-series'), '2', 'the previous period drawn too');
  const compared = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.ok(compared.comparison && Array.isArray(compared.comparison.results), 'the timeseries has a comparison');
  const bookmark = page.url();
  await page.reload();
  await ready(page);
  assert.equal(page.url(), bookmark);
  assert.deepEqual(await chips(page), ['Browser is Firefox', 'Page is /pricing'], 'the filters come back');
  assert.equal(await page.inputValue('#compare'), 'previous_period', 'so does the comparison');
  await checkSummary(page, context);

  // Removing a chip: the other stays, the numbers follow.
  await page.click('#filters .chip[data-dimension="page"] .chip-remove');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'browser==Firefox');
  assert.deepEqual(await chips(page), ['Browser is Firefox']);
  const { data: again } = await checkSummary(page, context);
  assert.deepEqual(again.results, firefox.results);

  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));

  // A goal is named, not matched: a page goal's pattern (/docs*) is no
  // glob to escape when its row is clicked (on a figure of it: the whole
  // row filters, not only its name).
  await page.click('#table-goals tbody tr[data-value="Visit /docs*"] td.num');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'goal==Visit /docs*');
  assert.deepEqual(await chips(page), ['Goal is Visit /docs*']);
  const { data: docs } = await checkSummary(page, context);
  assert.ok(docs.results.visits > 0 && docs.results.visits < all.results.visits, 'the goal filtered');
  assert.equal(await page.isHidden('#segment-note'), true, 'an ad hoc filter is no segment');
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));

  // A value holding | (which separates a filter's alternatives) and ;
  // (which separates filters) is chosen as it reads: the dashboard puts
  // them in brackets, and the filter beside it stays a filter of its own.
  await page.click('#card-campaigns .tab[data-dimension="utm_content"]');
  await page.waitForSelector('#table-campaigns tbody tr[data-value="thread|x;y"] button');
  await page.click('#table-campaigns tbody tr[data-value="thread|x;y"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'utm_content==thread[|]x[;]y');
  assert.deepEqual(await chips(page), ['UTM content is thread|x;y']);
  const { data: thread } = await checkSummary(page, context);
  assert.equal(thread.results.visits, 1, 'the one visit with that content');
  await page.click('#table-pages tbody tr[data-value="/"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'utm_content==thread[|]x[;]y;page==/');
  assert.deepEqual(await chips(page), ['UTM content is thread|x;y', 'Page is /']);
  const { data: threadHome } = await checkSummary(page, context);
  assert.equal(threadHome.results.visits, 1, 'still that visit, on /');
  await page.reload();
  await ready(page, () => document.querySelectorAll('#filters .chip').length === 2);
  assert.deepEqual(await chips(page), ['UTM content is thread|x;y', 'Page is /']);
  await page.click('#filters .chip-remove');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page==/');
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  await page.click('#card-campaigns .tab[data-dimension="utm_campaign"]');

  // The configured segments (contrib/seula.ini.example): a click sets
  // their filters, whose reports are pre-processed; another clears them.
  assert.deepEqual(await page.$$eval('#segments .segment', (bs) => bs.map((b) => b.textContent)),
    ['Device is mobile', 'Channel is search']);
  await page.click('#segments .segment[data-filter="device==mobile"]');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'device==mobile');
  assert.deepEqual(await chips(page), ['Device is mobile']);
  assert.equal(await page.getAttribute('#segments .segment[data-filter="device==mobile"]', 'aria-pressed'), 'true');
  // The keyboard stays on the segment (redrawn pressed), not thrown back
  // to the top of the page.
  const focusedSegment = () => page.evaluate(() => document.activeElement.matches('#segments .segment')
    && `${document.activeElement.dataset.filter} ${document.activeElement.getAttribute('aria-pressed')}`);
  assert.equal(await focusedSegment(), 'device==mobile true');
  await page.waitForSelector('#segment-note', { state: 'visible' });
  const { data: mobile } = await checkSummary(page, context);
  assert.equal(mobile.preprocessed, true, 'the API read the segment\'s rollups');
  assert.ok(mobile.results.visits > 0 && mobile.results.visits < all.results.visits, 'the segment filtered');
  await page.click('#segments .segment[data-filter="device==mobile"]');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(await page.isHidden('#segment-note'), true);
  assert.equal(await focusedSegment(), 'device==mobile false');

  // The date range: today by the hour, a custom range by the day.
  await page.selectOption('#period', 'today');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'today');
  const { query: todayQuery, data: todayData } = await checkSummary(page, context);
  assert.equal(todayQuery.get('from'), todayQuery.get('to'), 'today is one day');
  // Set against yesterday as far as now (all of it in the day's last
  // hour), and the range compared with says so.
  assert.equal(await page.inputValue('#compare'), 'previous_period');
  const againstYesterday = await page.textContent('#compare-range');
  if (todayData.comparison.until) {
    assert.match(todayData.comparison.until, new RegExp(`^${todayData.comparison.to} \\d\\d:00$`));
    assert.match(againstYesterday, new RegExp(`, until ${todayData.comparison.until.slice(11)}\\)$`), againstYesterday);
  } else {
    assert.doesNotMatch(againstYesterday, /until/);
  }
  const hourly = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.equal(hourly.interval, 'hour');
  // One day: its hours alone on the axis (uPlot may draw after the answer).
  await page.waitForFunction(() => /^\d\d:00(\|\d\d:00)+$/.test(document.querySelector('#chart').dataset.xLabels),
    null, { timeout: 5000 });
  assert.equal(Number(await page.getAttribute('#chart', 'data-points')), hourly.results.length);
  assert.ok(hourly.results.length >= 23 && hourly.results.length <= 25, 'an hour a point');
  // The hours still to come are not drawn as zeros.
  const started = () => {
    const p = new Intl.DateTimeFormat('en-US', {
      timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    }).formatToParts(new Date());
    const g = (t) => Number(p.find((x) => x.type === t).value);
    const wall = Date.UTC(g('year'), g('month') - 1, g('day'), g('hour'), g('minute'));
    return hourly.results.filter((r) => {
      const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})/.exec(r.date);
      return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) <= wall;
    }).length;
  };
  const drawn = Number(await page.getAttribute('#chart', 'data-drawn'));
  const upTo = started();
  assert.ok(drawn >= 1 && (drawn === upTo || drawn === upTo - 1), `${drawn} hours drawn, ${upTo} begun`);
  // The hour now runs in is drawn apart (dashed), not as a fall; it is the
  // last begun.
  const lastBegun = hourly.results[upTo - 1].date.slice(11, 16);
  const current = await page.getAttribute('#chart', 'data-current');
  assert.ok(current.endsWith(` ${lastBegun}`) || (drawn === upTo - 1 && current === ''),
    `the hour running (${current}) is the last begun (${lastBegun})`);
  const to = todayQuery.get('to');
  // Yesterday: the day before, by the hour, against the day before it.
  await page.selectOption('#period', 'yesterday');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'yesterday');
  const { query: yQuery, data: yData } = await checkSummary(page, context);
  const dayBefore = (d, n) => new Date(Date.parse(`${d}T00:00:00Z`) - n * 86400000).toISOString().slice(0, 10);
  assert.deepEqual([yQuery.get('from'), yQuery.get('to')], [dayBefore(to, 1), dayBefore(to, 1)]);
  assert.deepEqual([yData.comparison.from, yData.comparison.to], [dayBefore(to, 2), dayBefore(to, 2)]);
  // A day over has no bucket running.
  await page.waitForFunction(() => document.querySelector('#chart').dataset.current === '', null, { timeout: 5000 });
  const from = new Date(Date.parse(`${to}T00:00:00Z`) - 6 * 86400000).toISOString().slice(0, 10);
  await page.selectOption('#period', 'custom');
  await page.fill('#from', from);
  await page.fill('#to', to);
  await page.click('#apply');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'custom');
  const { query: customQuery, data: week } = await checkSummary(page, context);
  assert.deepEqual([customQuery.get('from'), customQuery.get('to')], [from, to]);
  // The period compared with is named.
  const prevFrom = new Date(Date.parse(`${from}T00:00:00Z`) - 7 * 86400000).toISOString().slice(0, 10);
  assert.equal(week.comparison.from, prevFrom);
  const named = await page.textContent('#compare-range');
  const day = (d) => new Date(`${d}T00:00:00Z`).getUTCDate();
  assert.match(named, new RegExp(`^\\(${day(prevFrom)} .* – ${day(week.comparison.to)} .*\\)$`), named);
  assert.equal(await page.getAttribute('#chart', 'data-points'), '7');
  // The chart's buckets as chosen: the week by the hour, kept in the URL;
  // Auto again goes by the range.
  await page.selectOption('#interval', 'hour');
  await ready(page, () => new URLSearchParams(location.search).get('interval') === 'hour');
  await page.waitForFunction(() => new URLSearchParams(
    document.querySelector('#chart').dataset.api.split('?')[1]).get('interval') === 'hour');
  await page.waitForFunction(() => Number(document.querySelector('#chart').dataset.points) >= 7 * 24 - 1);
  // Its axis names the day at each midnight, and the hours between.
  await page.waitForFunction(() => /\d\d:00/.test(document.querySelector('#chart').dataset.xLabels || ''),
    null, { timeout: 5000 });
  const xLabels = (await page.getAttribute('#chart', 'data-x-labels') || '').split('|');
  const dated = xLabels.filter((l) => /^\d{1,2} [A-Z][a-z]{2,3}$/.test(l));
  assert.ok(dated.length >= 3, `days named on the axis: ${xLabels.join(' ')}`);
  assert.ok(dated[0].startsWith(`${day(from)} `), `the first day named: ${xLabels.join(' ')}`);
  assert.ok(xLabels.every((l) => dated.includes(l) || /^\d\d:00$/.test(l)), xLabels.join(' '));
  await page.selectOption('#interval', '');
  await ready(page, () => !new URLSearchParams(location.search).has('interval'));
  await page.waitForFunction(() => document.querySelector('#chart').dataset.points === '7');
  // On a phone every table's numbers stay inside its card.
  await page.setViewportSize({ width: 375, height: 800 });
  for (const id of ['#table-pages', '#table-goals', '#table-sources'])
    await page.waitForFunction((sel) => {
      const t = document.querySelector(sel);
      return t.scrollWidth <= t.parentElement.clientWidth + 1;
    }, id, { timeout: 5000 });
  // ... and the custom range's form wraps rather than widen the page.
  await page.waitForFunction(() => document.documentElement.scrollWidth <= 375, null, { timeout: 5000 });
  await page.setViewportSize({ width: 1280, height: 900 });
  await checkTable(page, context, '#table-pages', ['visitors', 'pageviews', 'time_on_page']);

  // A week without visits: no bounce rate of 0%, and no change against
  // a week that had none either.
  await page.fill('#from', '2020-01-06');
  await page.fill('#to', '2020-01-12');
  await page.click('#apply');
  await ready(page, () => new URLSearchParams(location.search).get('from') === '2020-01-06');
  const { data: empty } = await checkSummary(page, context);
  assert.equal(empty.results.visits, 0);
  assert.equal(await page.textContent('#summary [data-metric="bounce_rate"] .value'), '–');
  assert.equal(await page.$('#summary [data-metric="bounce_rate"] .change'), null);
  // ... nor a line of 0% in the chart: seven days, none drawn.
  await page.click('#summary button[data-metric="bounce_rate"]');
  await ready(page, () => new URLSearchParams(location.search).get('metric') === 'bounce_rate');
  await page.waitForFunction(() => document.querySelector('#chart').dataset.api.includes('bounce_rate'));
  await page.waitForFunction(() => !document.querySelector('#chart').hasAttribute('aria-busy'));
  assert.equal(await page.getAttribute('#chart', 'data-points'), '7');
  assert.equal(await page.getAttribute('#chart', 'data-drawn'), '0');
  // A range past the reports' limit: one notice, no request, nothing changes.
  const asked = [];
  const onRequest = (r) => { if (r.url().includes('/api/stats/')) asked.push(r.url()); };
  page.on('request', onRequest);
  await page.fill('#from', '2000-01-01');
  await page.fill('#to', '2030-12-31');
  await page.click('#apply');
  await page.waitForSelector('#notice:not([hidden])');
  assert.match(await page.textContent('#notice'), /at most 3,700 days/);
  page.off('request', onRequest);
  assert.deepEqual(asked, []);
  assert.equal(new URL(page.url()).searchParams.get('from'), '2020-01-06');
  await page.fill('#from', '2020-01-06');
  await page.fill('#to', '2020-01-12');

  // The server out of reach: one notice says so, and the chart does not
  // keep the last dates' line under the new ones.
  assert.deepEqual(page.problems, [], 'no script error, no CSP violation so far');
  await page.route('**/api/stats/**', (route) => route.abort('connectionrefused'));
  await page.selectOption('#period', '7d');
  await ready(page, () => new URLSearchParams(location.search).get('period') === '7d');
  assert.match(await page.textContent('#notice'), /server cannot be reached/);
  assert.match(await page.textContent('#chart-error'), /server cannot be reached/);
  assert.equal(await page.getAttribute('#chart', 'data-points'), '0');
  await page.unroute('**/api/stats/**');
  page.problems.length = 0; // the refused requests, on purpose

  // A goal's row filters by it: the summary adds the conversion rate.
  await page.click('#table-goals tbody tr[data-value="signup"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'goal==signup');
  const { data: converted } = await checkSummary(page, context);
  assert.ok(converted.results.conversion_rate > 0 && converted.results.conversion_rate < 100);
  // Each table gives its rows' conversion rates, as the API's breakdown.
  await page.waitForFunction(() => document.querySelector('#table-sources tbody td[data-metric="conversion_rate"]'));
  assert.match(await page.textContent('#table-sources thead'), /CR/);
  const sources = await api(context, await page.getAttribute('#table-sources', 'data-api'));
  assert.ok(sources.results.some((r) => r.conversion_rate > 0 && r.conversion_rate <= 100), 'a source converts');
  assert.deepEqual(
    await page.$$eval('#table-sources tbody tr', (trs) => trs.map((tr) => [tr.dataset.value,
      tr.querySelector('td[data-metric="conversion_rate"]').dataset.value])),
    sources.results.map((r) => [r[sources.dimension],
      r.conversion_rate === null ? '' : String(r.conversion_rate)]));
  // The time of day's CSV, made here, has the API's columns: the rate too.
  await page.waitForFunction(() => document.querySelector('#table-hours tbody td[data-metric="conversion_rate"]'));
  const [goalHours] = await Promise.all([page.waitForEvent('download'), page.click('#card-hours a.csv')]);
  const goalHoursCsv = readFileSync(await goalHours.path(), 'utf8').split('\r\n');
  const apiGoalHoursCsv = (await (await context.request.get(new URL(
    `${await page.getAttribute('#table-hours', 'data-api')}&format=csv`, base).href)).text()).split('\r\n');
  assert.equal(goalHoursCsv[0], apiGoalHoursCsv[0]);
  assert.match(goalHoursCsv[0], /,conversion_rate$/);
  for (const line of apiGoalHoursCsv.slice(1).filter(Boolean)) assert.ok(goalHoursCsv.includes(line), line);
  // Charted like any figure: the timeseries' rate by the bucket.
  await page.click('#summary [data-metric="conversion_rate"]');
  await page.waitForFunction(() => /metric=conversion_rate/.test(document.querySelector('#chart').dataset.api)
    && Number(document.querySelector('#chart').dataset.points) > 0);
  const byBucket = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.ok(byBucket.results.some((r) => r.conversion_rate > 0), 'a bucket with its rate');
  assert.equal(await page.isHidden('#chart-error'), true);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('metric'), 'conversion_rate');
  // Without the goal there is no rate: the chart goes back to visitors.
  await page.click('#filters .chip[data-dimension="goal"] .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(await page.$('#summary [data-metric="conversion_rate"]'), null);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('metric'), null);

  // A full-page screenshot that the test output keeps, of the default view.
  await page.selectOption('#period', '30d');
  await ready(page, () => !new URLSearchParams(location.search).has('period'));
  assert.equal(await page.isHidden('#notice'), true, 'back: the notice goes');
  await checkSummary(page, context);
  mkdirSync(OUTPUT, { recursive: true });
  const shot = path.join(OUTPUT, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);

  // axe-core on the page itself (evaluated through the driver, which the
  // page's CSP does not block, unlike an injected script tag).
  await axe(page);
  assert.deepEqual(page.problems, [], 'no script error, no CSP violation');
  await context.close();
  console.log(`dashboard test body: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('a role without statistics is told so; the assets are served from this server', async () => {
  // The page and uPlot come from the server itself (no CDN).
  for (const p of ['/', '/dashboard/dashboard.js', '/dashboard/dashboard.css',
    '/vendor/uplot/uPlot.iife.min.js', '/vendor/uplot/uPlot.min.css']) {
    const r = await fetch(`${base}${p}`);
    assert.equal(r.status, 200, p);
  }
  const html = await (await fetch(`${base}/`)).text();
  assert.doesNotMatch(html, /src="https?:|href="https?:/, 'no third-party asset');
  const r = await fetch(`${base}/api/stats/sites`);
  assert.equal(r.status, 401, 'the stats need a session');

  // Customer service signs in, and is told the statistics are not theirs.
  const context = await browser.newContext();
  const page = await open(context, `${base}/login/?next=%2F`);
  await signIn(page, SERVICE);
  await page.waitForSelector('#notice:not([hidden])');
  assert.match(await page.textContent('#notice'), /admins and analysts/);
  // Nothing of the statistics: no "0 current visitors" of no site.
  assert.equal(await page.isHidden('.context'), true);
  assert.equal(await page.isHidden('#card-realtime'), true);
  await page.waitForFunction((n) => document.querySelector('#who').textContent.startsWith(n), SERVICE.name);
  assert.deepEqual(page.problems.filter((p) => !/status of 403/.test(p)), []);
  // Nothing to show: the controls ask for nothing.
  assert.equal(await page.isDisabled('#period'), true);
  await context.close();
});

test('a configured site opens before its first visit; an unknown one says so', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=quiet')}`);
  await signIn(page, ANALYST);
  await ready(page);
  assert.equal(await page.inputValue('#site'), 'quiet', 'not replaced by another site');
  // Listed with the others, though no visit has reached it.
  assert.deepEqual(await page.$$eval('#site option', (os) => os.map((o) => o.value)), ['demo', 'quiet']);
  assert.equal(await page.textContent('#summary [data-metric="visits"] .value'), '0');
  assert.equal(await page.isHidden('#notice'), true);
  // It says how to add the tracker, with this server's address.
  assert.equal(await page.isVisible('#first-visit'), true);
  assert.equal(await page.textContent('#first-visit-site'), 'quiet');
  assert.equal(await page.textContent('#first-visit-snippet'),
    `<script defer src="${base}/seula.js" data-site="quiet"></script>`);
  assert.match(await page.textContent('#first-visit-banner'), /\/consent\.js" data-site="quiet"/);
  mkdirSync(OUTPUT, { recursive: true });
  await page.locator('#first-visit').screenshot({ path: path.join(OUTPUT, 'dashboard-first-visit.png') });
  // On a phone its code scrolls sideways: the keyboard can reach it.
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await page.$eval('#first-visit pre', (p) => p.scrollWidth > p.clientWidth), 'the code scrolls');
  await axe(page);
  await page.setViewportSize({ width: 1280, height: 720 });
  // No custom properties on this site: no tab for them.
  assert.equal(await page.isHidden('#card-events .tab[data-dimension="prop"]'), true);
  assert.equal(await page.isHidden('#card-events .prop-key'), true);
  // A filter form opened for this site offered its dimensions and values:
  // it closes when another site is chosen.
  await page.click('#filter-add');
  await page.waitForSelector('#filter-form:not([hidden])');
  await page.fill('#filter-value', '/quiet-only');
  // A site with visits shows no such thing.
  await page.selectOption('#site', 'demo');
  await ready(page, () => new URLSearchParams(location.search).get('site') === 'demo');
  assert.equal(await page.isHidden('#first-visit'), true);
  assert.equal(await page.isHidden('#filter-form'), true, 'the other site\'s filter form is closed');
  assert.equal(await page.getAttribute('#filter-add', 'aria-expanded'), 'false');
  assert.equal(new URL(page.url()).searchParams.get('filter'), null);
  // Once its first visit is counted, its numbers instead.
  const r = await post('/api/collect', { site: 'quiet', type: 'pageview', url: 'http://quiet.example/' },
    { 'User-Agent': UA.chromeWin, 'X-Forwarded-For': '10.30.0.1', Origin: 'http://quiet.example' });
  assert.equal(r.status, 204, r.text);
  await page.goto(`${base}/?site=quiet`);
  await ready(page);
  assert.equal(await page.isHidden('#first-visit'), true);
  assert.equal(await page.textContent('#summary [data-metric="visits"] .value'), '1');
  await page.goto(`${base}/?site=nosuch`);
  await ready(page);
  assert.equal(await page.inputValue('#site'), 'demo');
  assert.match(await page.textContent('#notice'), /no site "nosuch" in the configuration: showing demo/);
  // The session ends under the page: the sign-in page says so, and
  // signing in again comes back to the same view.
  await context.clearCookies();
  await page.selectOption('#period', '7d');
  await page.waitForURL(/\/login\/\?next=.*&ended=1$/);
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /session has ended/);
  await signIn(page, ANALYST);
  await ready(page, () => new URLSearchParams(location.search).get('period') === '7d');
  await context.close();
});

test('a sign-out in another tab clears the dashboard at once; its requests keep the other staff pages alive', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  // Another staff tab hears of each request the dashboard makes (the
  // server restarts the session's idle time on each).
  const other = await open(context, `${base}/login/`);
  await other.waitForSelector('#logout:not([hidden])');
  await other.evaluate(() => {
    window.heard = [];
    new BroadcastChannel('seula-staff').onmessage = (ev) => window.heard.push(ev.data);
  });
  await page.selectOption('#period', '7d');
  await ready(page, () => new URLSearchParams(location.search).get('period') === '7d');
  assert.ok((await other.evaluate(() => window.heard)).includes('active'), 'a request announced');

  // Signing out there: the dashboard leaves, told by the other tab, not
  // by a 401, and takes the statistics off the screen.
  const asked = [];
  page.on('request', (r) => asked.push(r.url()));
  await other.click('#logout');
  await other.waitForSelector('#login:not([hidden])');
  await page.waitForURL(/\/login\/\?next=.*&ended=1$/, { timeout: 5000 });
  assert.deepEqual(asked.filter((u) => u.includes('/api/') && !u.endsWith('/api/session')), [],
    'no report asked after the sign-out');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(other.problems, []);
  await context.close();
});

test('a dashboard left in a hidden tab past the session\'s idle time takes its figures off the screen', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  await context.clock.install();
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  // Hidden: the real-time figure is not polled, so nothing asks the
  // server and the session's 30 idle minutes run.
  await page.evaluate(() => Object.defineProperty(document, 'hidden', { get: () => true }));
  await context.clock.runFor(29 * 60 * 1000);
  assert.equal(new URL(page.url()).pathname, '/');
  await context.clock.runFor(2 * 60 * 1000);
  await page.waitForURL(/\/login\/\?next=.*&ended=1$/, { timeout: 5000 });
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a visible dashboard nobody uses still idles out: its real-time poll is no activity', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  await context.clock.install();
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  // Shown, the real-time figure is polled every 30 s, marked so that
  // neither the server nor the page takes it for someone there.
  const marks = [];
  page.on('request', (r) => {
    if (r.url().includes('/realtime')) marks.push(r.headers()['x-seula-background']);
  });
  await context.clock.runFor(29 * 60 * 1000);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.ok(marks.length > 0, 'polled');
  assert.deepEqual([...new Set(marks)], ['1']);
  await context.clock.runFor(2 * 60 * 1000);
  await page.waitForURL(/\/login\/\?next=.*&ended=1$/, { timeout: 5000 });
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a filter part of the address that is no filter is named, not silently dropped', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('device==Desktop;countyr==FI;;browser')}`);
  await ready(page);
  const chips = await page.$$eval('#filters .chip', (els) => els.map((e) => e.dataset.dimension));
  assert.deepEqual(chips, ['device']);
  const text = await page.textContent('#notice');
  assert.match(text, /Not applied: "countyr==FI", "browser" from the address is no filter/);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('filter'), 'device==Desktop');
  // A saved link's goal that is no longer configured is dropped and
  // named, not sent (its 400 would fail every card); a configured one,
  // or alternatives of them, stay.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('device==Desktop;goal==Nope;goal==signup|Visit /docs*')}`);
  await ready(page);
  const kept = await page.$$eval('#filters .chip', (els) => els.map((e) => e.dataset.dimension));
  assert.deepEqual(kept, ['device', 'goal']);
  assert.match(await page.textContent('#notice'), /Not applied: "goal==Nope" from the address: demo has no such goal/);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('filter'), 'device==Desktop;goal==signup|Visit /docs*');
  assert.equal(await page.locator('.error:visible').count(), 0);
  // Its conversion rate on the chart goes with it: the chart shows the
  // visitors, not the API's refusal of a rate without a goal.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('goal==Nope')}&metric=conversion_rate`);
  await ready(page);
  assert.match(await page.textContent('#notice'), /Not applied: "goal==Nope" from the address: demo has no such goal/);
  assert.equal(await page.locator('.error:visible').count(), 0);
  assert.equal(new URL(await page.getAttribute('#chart', 'data-api'), base).searchParams.get('metric'), 'visitors');
  assert.equal(await page.getAttribute('#summary [data-metric="visitors"]', 'aria-pressed'), 'true');
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('metric'), null, 'the address says what is shown');
  // A custom range that is no range of days: the last 30 days, said.
  await page.goto(`${base}/?site=demo&period=custom&from=2026-02-30&to=2026-03-01`);
  await ready(page);
  assert.match(await page.textContent('#notice'),
    /Not applied: the custom range "2026-02-30–2026-03-01" from the address is no range of days .*the last 30 days are shown/);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('period'), null, 'the address says the days shown');
  // A comparison the page does not offer (a custom one, the API's): none, said.
  await page.goto(`${base}/?site=demo&period=yesterday&compare=custom&compare_from=2026-11-01&compare_to=2026-11-02`);
  await ready(page);
  assert.match(await page.textContent('#notice'),
    /Not applied: the comparison "custom" from the address: the dashboard compares with the previous period or the year before/);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('compare'), null, 'the address says what is shown');
  // A chart with no value in its range (a rate of no visits) says so.
  await page.goto(`${base}/?site=demo&period=custom&from=2020-01-01&to=2020-01-07&metric=bounce_rate`);
  await ready(page);
  await page.waitForFunction(() => document.querySelector('#chart').dataset.drawn === '0', null, { timeout: 5000 });
  assert.equal(await page.textContent('#chart .chart-empty'), 'No bounce rate in this period.');
  // An address whose filters all parse says nothing.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('device==Desktop')}`);
  await ready(page);
  assert.equal(await page.isHidden('#notice'), true);
  await context.close();
});

test('an hourly chart of a day the clocks go back has its hours evenly on the axis', async () => {
  // The browser in the site's zone too: uPlot's own hour steps went by
  // its clock, 00:00|01:00|04:00|06:00 on 25 Oct 2026 in Helsinki.
  for (const [from, to] of [['2026-10-25', '2026-10-25'], ['2026-03-29', '2026-03-29'], ['2026-10-24', '2026-10-26']]) {
    const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    const page = await open(context, `${base}/login/?next=${encodeURIComponent(
      `/?site=demo&period=custom&from=${from}&to=${to}&interval=hour`)}`);
    await signIn(page, ANALYST);
    await ready(page);
    await page.waitForFunction(() => /\d\d:00/.test(document.querySelector('#chart').dataset.xLabels || ''),
      null, { timeout: 5000 });
    const labels = (await page.getAttribute('#chart', 'data-x-labels')).split('|');
    // As wall-clock seconds from the first midnight: hours, and the days
    // named at each midnight of a longer range.
    let dayN = -1;
    const at = labels.map((l) => {
      const m = /^(\d\d):(\d\d)$/.exec(l);
      if (!m) return ++dayN * 86400;
      return Math.max(dayN, 0) * 86400 + (+m[1]) * 3600 + (+m[2]) * 60;
    });
    assert.ok(labels.length >= 3, `${from}: ${labels.join('|')}`);
    const gaps = new Set(at.slice(1).map((t, i) => t - at[i]));
    assert.equal(gaps.size, 1, `${from}: evenly spaced: ${labels.join('|')}`);
    const [gap] = gaps;
    assert.ok(gap % 3600 === 0 && at.every((t) => t % gap === 0), `${from}: whole steps: ${labels.join('|')}`);
    assert.deepEqual(page.problems, []);
    await context.close();
  }
});

test('the last 30 days are compared with the 30 days before, even when they are a whole month', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await context.newPage();
  // 30 September, in Helsinki: "last 30 days" is all of September, which
  // the API's previous_period would compare with August's 31 days.
  await page.clock.setFixedTime(new Date('2026-09-30T09:00:00Z'));
  await page.goto(`${base}/login/?next=${encodeURIComponent('/?site=demo&compare=previous_period')}`);
  await signIn(page, ANALYST);
  await ready(page);
  const summary = new URL(await page.getAttribute('#summary', 'data-api'), base).searchParams;
  assert.deepEqual([summary.get('from'), summary.get('to')], ['2026-09-01', '2026-09-30']);
  const data = await api(context, await page.getAttribute('#summary', 'data-api'));
  assert.deepEqual([data.comparison.from, data.comparison.to], ['2026-08-02', '2026-08-31']);
  const chart = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.deepEqual([chart.comparison.from, chart.comparison.to], ['2026-08-02', '2026-08-31']);
  assert.equal(chart.comparison.results.length, chart.results.length, 'a previous day for every day');
  // A month chosen as a month is compared with the month before.
  await page.selectOption('#period', 'month');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'month');
  const month = await api(context, await page.getAttribute('#summary', 'data-api'));
  assert.deepEqual([month.comparison.from, month.comparison.to], ['2026-08-01', '2026-08-31']);
  // Year over year: the same month a year before, in the summary, the
  // chart, the words a screen reader hears, and the URL.
  await page.selectOption('#compare', 'year_over_year');
  await ready(page, () => new URLSearchParams(location.search).get('compare') === 'year_over_year');
  for (const id of ['#summary', '#chart']) {
    const yoy = await api(context, await page.getAttribute(id, 'data-api'));
    assert.deepEqual([yoy.comparison.from, yoy.comparison.to], ['2025-09-01', '2025-09-30'], id);
  }
  assert.equal(await page.getAttribute('#chart', 'data-series'), '2', 'the year before drawn too');
  assert.match(await page.textContent('#summary .change .visually-hidden'), /from a year before$/);
  assert.match(await page.textContent('#compare-range'), /^\(1 Sept? 2025 – 30 Sept? 2025\)$/);
  await page.reload();
  await ready(page);
  assert.equal(await page.inputValue('#compare'), 'year_over_year', 'kept in the URL');
  // No comparison: no second line, and no period named beside the choice.
  await page.selectOption('#compare', '');
  await ready(page, () => !new URLSearchParams(location.search).has('compare'));
  assert.equal(await page.getAttribute('#chart', 'data-series'), '1');
  assert.equal(await page.textContent('#compare-range'), '');
  // This year: from 1 January to today, by the month; a year before is
  // the same days of the year before.
  await page.selectOption('#period', 'year');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'year');
  const year = new URL(await page.getAttribute('#chart', 'data-api'), base).searchParams;
  assert.deepEqual([year.get('from'), year.get('to'), year.get('interval')], ['2026-01-01', '2026-09-30', 'month']);
  assert.match(await page.textContent('#range-text'), /^1 Jan 2026 – 30 Sept? 2026$/);
  await page.selectOption('#compare', 'year_over_year');
  await ready(page, () => new URLSearchParams(location.search).get('compare') === 'year_over_year');
  const ytd = await api(context, await page.getAttribute('#summary', 'data-api'));
  assert.deepEqual([ytd.comparison.from, ytd.comparison.to], ['2025-01-01', '2025-09-30']);
  await page.reload();
  await ready(page);
  assert.equal(await page.inputValue('#period'), 'year', 'kept in the URL');
  await context.close();
});

test('the about and demo pages, with their code to copy, pass axe on a phone', async () => {
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 390, height: 844 } });
  for (const url of ['/about/', '/demo/']) {
    const page = await open(context, `${base}${url}`);
    await page.waitForSelector('pre code');
    // The code blocks scroll sideways here: each must take the focus.
    await axe(page, 10);
    assert.deepEqual(page.problems, [], `${url}: no script error, no CSP violation`);
    await page.close();
  }
  await context.close();
});

test('a table shows more of its rows on request, as many as there are', async () => {
  // 14 more pages (21 in all): past a table's ten.
  const headers = { 'User-Agent': UA.chromeWin, 'X-Forwarded-For': '10.20.0.1', Origin: 'http://localhost' };
  for (let i = 0; i < 14; i++) {
    const r = await post('/api/collect', { site: 'demo', type: 'pageview', url: `http://localhost/more/${i}` }, headers);
    assert.equal(r.status, 204, r.text);
  }
  const context = await browser.newContext({ timezoneId: BROWSER_TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  const shown = () => page.$$eval('#table-pages tbody tr:not(.empty)', (trs) => trs.length);
  const all = await api(context, `/api/stats/demo/breakdown?${new URLSearchParams({
    dimension: 'page', limit: '1000', tz: TZ })}`);
  assert.ok(all.results.length > 10 && all.results.length <= 60, `${all.results.length} pages`);
  await page.waitForSelector('#card-pages .more:not([hidden])');
  assert.equal(await shown(), 10);
  // By the keyboard: the button goes once all are shown, and the focus
  // goes on to the first row it added, not to the top of the page.
  await page.focus('#card-pages .more');
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('#table-pages tbody tr:not(.empty)').length === n,
    all.results.length);
  assert.equal(await page.isHidden('#card-pages .more'), true, 'no more to show');
  await page.waitForFunction(() => document.activeElement !== document.querySelector('#card-pages .more'));
  assert.equal(await page.evaluate(() => document.activeElement.closest('#table-pages tbody tr')
    === document.querySelectorAll('#table-pages tbody tr')[10]), true, 'the eleventh row has the focus');
  await checkTable(page, context, '#table-pages', ['visitors', 'pageviews']);
  // Another tab starts at ten again.
  await page.click('#card-pages .tab[data-dimension="entry_page"]');
  await page.waitForFunction(() => document.querySelector('#table-pages').dataset.dimension === 'entry_page');
  assert.equal(new URL(await page.getAttribute('#table-pages', 'data-api'), base).searchParams.get('limit'), '10');
  // All time: from the site's first visit's day in the reports' zone
  // (by its hour: no empty day before it), with nothing before it to
  // compare with.
  const { since, first_hour: firstHour } = await api(context, '/api/stats/sites');
  assert.match(since.demo, /^\d{4}-\d\d-\d\d$/);
  assert.match(firstHour.demo, /^\d{4}-\d\d-\d\dT\d\d:00:00Z$/);
  assert.equal(firstHour.demo.slice(0, 10), since.demo, 'the hour is of the UTC day');
  await page.selectOption('#period', 'all');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'all');
  const { query, data } = await checkSummary(page, context);
  const local = new Intl.DateTimeFormat('en-CA', { timeZone: query.get('tz'), year: 'numeric',
    month: '2-digit', day: '2-digit' }).format(new Date(firstHour.demo));
  assert.equal(query.get('from'), local);
  const first = await api(context, `/api/stats/demo/timeseries?${new URLSearchParams({
    from: local, to: local, tz: query.get('tz'), metric: 'visits' })}`);
  assert.ok(first.results.some((r) => r.visits > 0), 'the first day shown has visits');
  assert.equal(query.has('compare'), false);
  assert.equal(data.comparison, undefined);
  assert.ok(data.results.visits > 0);
  await context.close();
});

test('the time of day lists all 24 hours in their order, whatever the API ranks first', async () => {
  // The API ranks hours by visitors; the card puts them in the day's
  // order.  The live data has visits in one hour only, so the answer
  // is one the test gives.
  const context = await browser.newContext({ timezoneId: BROWSER_TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await page.route((url) => url.pathname.endsWith('/breakdown') && url.searchParams.get('dimension') === 'hour',
    (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify({
      dimension: 'hour', page: 1, more: false, results: [
        { hour: 14, visitors: 9, visits: 10 }, { hour: 3, visitors: 5, visits: 5 },
        { hour: 23, visitors: 2, visits: 2 }, { hour: 9, visitors: 1, visits: 1 }] }) }));
  await signIn(page, ANALYST);
  await ready(page);
  const rows = await page.$$eval('#table-hours tbody tr', (trs) => trs.map((tr) =>
    [tr.querySelector('th').textContent, tr.querySelector('td[data-metric="visits"]').textContent]));
  const visits = { 3: '5', 9: '1', 14: '10', 23: '2' };
  const pad = (h) => String(h % 24).padStart(2, '0');
  assert.deepEqual(rows, Array.from({ length: 24 }, (_, h) => [`${pad(h)}:00–${pad(h + 1)}:00`, visits[h] || '0']));
  await context.close();
});

test('the bar stays above the tables scrolled under it, and a row taking the focus is not hidden under it', async () => {
  // From 640 px the bar sticks to the top; at 800 px its controls wrap.
  for (const width of [1280, 800]) {
    const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width, height: 700 } });
    const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
    await signIn(page, ANALYST);
    await ready(page);
    const bar = 'body > header';
    assert.equal(await page.$eval(bar, (b) => getComputedStyle(b).position), 'sticky');
    // A table's name cells are no bar of their own, stuck to the top.
    assert.equal(await page.$eval('#table-pages tbody th', (th) => getComputedStyle(th).position), 'static');
    // The top pages' third row scrolled to the middle of the bar: what is
    // under the bar is the bar, and the Site menu takes its own clicks.
    const row = '#table-pages tbody tr:nth-child(3)';
    const under = await page.$eval(row, (tr, sel) => {
      const header = document.querySelector(sel);
      const bar = header.getBoundingClientRect();
      window.scrollBy(0, tr.getBoundingClientRect().top - bar.height / 2);
      const site = document.querySelector('#site');
      const s = site.getBoundingClientRect();
      const r = tr.getBoundingClientRect();
      const misses = [];
      for (let x = 2; x < innerWidth; x += 20)
        for (const y of [2, bar.height / 2, bar.height - 2]) {
          const hit = document.elementFromPoint(x, y);
          if (!header.contains(hit)) misses.push(`${x},${y}: ${hit && hit.tagName}.${hit && hit.className}`);
        }
      return { rowTop: r.top, barHeight: bar.height, site: document.elementFromPoint(s.left + s.width / 2, s.top + s.height / 2) === site, misses };
    }, bar);
    assert.ok(under.rowTop < under.barHeight, `the row is under the bar (${under.rowTop} < ${under.barHeight})`);
    assert.deepEqual(under.misses.slice(0, 5), [], `${width} px: nothing paints over the bar`);
    assert.equal(under.site, true, `${width} px: a click on the Site menu is the menu's`);
    await page.click('#site', { trial: true, timeout: 3000 });
    // The keyboard back to that row (Shift+Tab from the next): it is
    // scrolled out from under the bar.
    await page.$eval(`${row} + tr button`, (b) => b.focus({ preventScroll: true }));
    await page.keyboard.press('Shift+Tab');
    const focused = await page.evaluate((sel) => ({
      value: document.activeElement.closest('tr') && document.activeElement.closest('tr').dataset.value,
      top: document.activeElement.getBoundingClientRect().top,
      bar: document.querySelector(sel).getBoundingClientRect().bottom,
    }), bar);
    assert.equal(focused.value, await page.getAttribute(row, 'data-value'));
    assert.ok(focused.top >= focused.bar, `${width} px: the focused row (top ${focused.top}) is below the bar (${focused.bar})`);
    assert.deepEqual(page.problems, []);
    await context.close();
  }
});

test('a property sent empty reads "(empty)", filters by a click, and keeps its filter', async () => {
  // A visitor whose event has the property, empty.
  const headers = { 'User-Agent': UA.firefoxLinux, 'X-Forwarded-For': '10.30.0.1', Origin: 'http://localhost' };
  for (const ev of [{ site: 'demo', type: 'pageview', url: 'http://localhost/plans' },
    { site: 'demo', type: 'event', name: 'choose', props: { plan: '' }, url: 'http://localhost/plans' }]) {
    const r = await post('/api/collect', ev, headers);
    assert.equal(r.status, 204, r.text);
  }
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  await page.click('#card-events .tab[data-dimension="prop"]');
  const button = page.locator('#table-events tbody tr[data-value=""] button');
  await button.waitFor({ state: 'attached' });
  await checkTable(page, context, '#table-events', ['visitors', 'events']);
  assert.equal(await button.textContent(), '(empty)', 'a label to read and to click');
  const box = await button.boundingBox();
  assert.ok(box.width > 20 && box.height > 10, `a button of ${box.width}×${box.height}`);
  await button.click();
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'prop:plan==');
  assert.deepEqual(await chips(page), ['Property plan is (empty)']);
  // The API takes the filter as the dashboard sends it.
  const { data } = await checkSummary(page, context);
  assert.deepEqual(data.filters, [{ dimension: 'prop:plan', op: '==', value: '' }]);
  assert.equal(data.results.visitors, 1, 'the one visitor who sent it empty');
  const sentFilter = async () => new URL(await page.getAttribute('#summary', 'data-api'), base).searchParams.get('filter');
  // A reload keeps it (a shared link shows the same numbers) ...
  await page.reload();
  await ready(page);
  assert.equal(new URL(page.url()).searchParams.get('filter'), 'prop:plan==');
  assert.deepEqual(await chips(page), ['Property plan is (empty)']);
  assert.equal(await sentFilter(), 'prop:plan==');
  // ... and so do back and forward.
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(await sentFilter(), null);
  await page.goBack();
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'prop:plan==');
  assert.deepEqual(await chips(page), ['Property plan is (empty)']);
  assert.equal(await sentFilter(), 'prop:plan==');
  assert.equal((await checkSummary(page, context)).data.results.visitors, 1);
  await page.goForward();
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.deepEqual(await chips(page), []);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('time on page goes with the page filter that offered it', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&filter=page==/pricing&metric=time_on_page')}`);
  await signIn(page, ANALYST);
  await ready(page);
  const pressed = () => page.$$eval('#summary button[aria-pressed="true"]', (bs) => bs.map((b) => b.dataset.metric));
  const charted = () => new URL(document.querySelector('#chart').dataset.api, location.href).searchParams.get('metric');
  assert.deepEqual(await pressed(), ['time_on_page']);
  assert.match(await page.evaluate(charted), /^time_on_page/);
  // The filter removed: time on page is no longer offered, and the chart
  // and the address go back to the visitors.
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(new URL(page.url()).searchParams.get('metric'), null);
  assert.equal(await page.$('#summary [data-metric="time_on_page"]'), null);
  assert.deepEqual(await pressed(), ['visitors']);
  assert.equal(await page.evaluate(charted), 'visitors');
  // Back: the page filter, and its time on page, again.
  await page.goBack();
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page==/pricing');
  assert.deepEqual(await pressed(), ['time_on_page']);
  // A link asking for time on page without a page filter: the default.
  await page.goto(`${base}/?site=demo&metric=time_on_page`);
  await ready(page);
  assert.equal(new URL(page.url()).searchParams.get('metric'), null);
  assert.deepEqual(await pressed(), ['visitors']);
  assert.equal(await page.evaluate(charted), 'visitors');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the goals say whose rate they give: of all visitors, or of those the filters keep', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&filter=device==desktop')}`);
  await signIn(page, ANALYST);
  await ready(page);
  const note = () => page.textContent('#card-goals p.small');
  // As the API's goals report counts them: under a filter, its visitors.
  const url = new URL(await page.getAttribute('#table-goals', 'data-api'), base);
  assert.equal(url.searchParams.get('filter'), 'device==desktop');
  assert.match(await note(), /the rate is of the visitors the filter keeps\.$/);
  await page.click('#table-pages tbody tr[data-value="/pricing"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'device==desktop;page==/pricing');
  assert.match(await note(), /the rate is of the visitors the filters keep\.$/);
  // A goal's filter chooses the goals shown, not the rate's base.
  await page.click('#table-goals tbody tr[data-value="signup"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'device==desktop;page==/pricing;goal==signup');
  assert.match(await note(), /the rate is of the visitors the other filters keep\.$/);
  await page.click('#filters .chip[data-dimension="page"] .chip-remove');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'device==desktop;goal==signup');
  assert.match(await note(), /the rate is of the visitors the other filter keeps\.$/);
  await page.click('#filters .chip[data-dimension="device"] .chip-remove');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'goal==signup');
  assert.match(await note(), /the rate is of all visitors\.$/);
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.match(await note(), /the rate is of all visitors\.$/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the conversion rate against a period before: what it was, and its change in percentage points', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&filter=goal==signup&compare=previous_period')}`);
  // Rates the test chooses: 63.2% now, 61.9% before.
  await page.route((url) => url.pathname.endsWith('/summary'), async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    json.results.conversion_rate = 63.2;
    json.comparison.results.conversion_rate = 61.9;
    await route.fulfill({ response, json });
  });
  await signIn(page, ANALYST);
  await ready(page);
  const rate = '#summary [data-metric="conversion_rate"]';
  assert.equal(await page.textContent(`${rate} .value`), '63.2%');
  assert.equal(await page.textContent(`${rate} .change [aria-hidden="true"]`), '↑ 1.3 pp', 'percentage points, as the bounce rate');
  assert.equal(await page.textContent(`${rate} .change .visually-hidden`), 'up 1.3 pp from the previous period');
  assert.equal(await page.textContent(`${rate} .previous`), 'before: 61.9%');
  // As every figure with a comparison chosen has its line.
  assert.equal(await page.$$eval('#summary [data-metric]', (ms) => ms.filter((m) => !m.querySelector('.previous')).length), 0);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a change is rounded alike up and down: half a percent down is 1%, not an arrow to 0%', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&compare=previous_period')}`);
  // Counts the test chooses: -0.5%, -2.5% and +2.5%.
  await page.route((url) => url.pathname.endsWith('/summary'), async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    Object.assign(json.results, { visitors: 199, visits: 195, pageviews: 205 });
    Object.assign(json.comparison.results, { visitors: 200, visits: 200, pageviews: 200 });
    await route.fulfill({ response, json });
  });
  await signIn(page, ANALYST);
  await ready(page);
  const change = (m) => page.$eval(`#summary [data-metric="${m}"] .change`, (c) =>
    [c.className, c.querySelector('[aria-hidden="true"]').textContent, c.querySelector('.visually-hidden').textContent]);
  assert.deepEqual(await change('visitors'), ['change worse', '↓ 1%', 'down 1% from the previous period']);
  assert.deepEqual(await change('visits'), ['change worse', '↓ 3%', 'down 3% from the previous period']);
  assert.deepEqual(await change('pageviews'), ['change better', '↑ 3%', 'up 3% from the previous period']);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the conversion rate against a period without visitors: no rate then, so no change', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&filter=goal==signup&compare=previous_period')}`);
  await signIn(page, ANALYST);
  await ready(page);
  const { data } = await checkSummary(page, context);
  assert.ok(data.results.conversion_rate > 0);
  assert.equal(data.comparison.results.visitors, 0, 'the traffic is all in this period');
  assert.equal(data.comparison.results.conversion_rate, null, 'a rate of nobody is none, not 0%');
  const rate = '#summary [data-metric="conversion_rate"]';
  assert.equal(await page.$(`${rate} .change`), null, 'no "↑ 100 pp" against an empty period');
  assert.equal(await page.textContent(`${rate} .previous`), 'before: –');
  // A period without visitors now: no rate either, shown as none.
  await page.goto(`${base}/?site=demo&filter=goal==signup&period=custom&from=2001-01-01&to=2001-01-31`);
  await ready(page);
  const { data: none } = await checkSummary(page, context);
  assert.equal(none.results.conversion_rate, null);
  assert.equal(await page.textContent(`${rate} .value`), '–');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a filter of two goals (goal==A|B): the visits that reached either, with their conversion rate', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&filter=goal==signup|Visit /pricing')}`);
  await signIn(page, ANALYST);
  await ready(page);
  assert.deepEqual(await chips(page), ['Goal is signup or Visit /pricing']);
  const { data: either } = await checkSummary(page, context);
  assert.ok(either.results.conversion_rate > 0);
  // The union counted another way: each goal's, less those of both.
  const url = new URL(await page.getAttribute('#summary', 'data-api'), base);
  const visits = async (filter) => {
    url.searchParams.set('filter', filter);
    return (await api(context, url.pathname + url.search)).results.visits;
  };
  const [a, b, both] = [await visits('goal==signup'), await visits('goal==Visit /pricing'),
    await visits('goal==signup;goal==Visit /pricing')];
  assert.ok(a > both && b > both, 'each goal has visits the other has not');
  assert.equal(either.results.visits, a + b - both);
  // A chip tells alternatives apart from a '|' of the value's own.
  for (const [filter, chip] of [
    ['goal!=signup|Visit /pricing', 'Goal is neither signup nor Visit /pricing'],
    ['country!=FI|SE|DE', 'Country is none of Finland, Sweden, Germany'],
    ['browser==Firefox|Chrome|Safari', 'Browser is Firefox, Chrome or Safari'],
    ['utm_content==thread[|]x[;]y|z', 'UTM content is thread|x;y or z'],
  ]) {
    await page.goto(`${base}/?site=demo&filter=${encodeURIComponent(filter)}`);
    await ready(page);
    assert.deepEqual(await chips(page), [chip]);
  }
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a custom range ends today in the site\'s zone: the date pickers go no further, later days are cut', async () => {
  const context = await browser.newContext({ timezoneId: BROWSER_TZ, locale: 'en-GB' });
  const page = await context.newPage();
  // 22:30 UTC on 30 September: 1 October in Helsinki, the site's zone,
  // still 30 September in New York, the browser's.
  await page.clock.setFixedTime(new Date('2026-09-30T22:30:00Z'));
  await page.goto(`${base}/login/?next=${encodeURIComponent('/?site=demo&period=custom&from=2026-09-20&to=2026-10-20')}`);
  await signIn(page, ANALYST);
  // A link past today: the range ends today, and the address says so.
  await ready(page, () => new URLSearchParams(location.search).get('to') === '2026-10-01');
  const asked = async () => {
    const q = new URL(await page.getAttribute('#summary', 'data-api'), base).searchParams;
    return [q.get('from'), q.get('to')];
  };
  assert.deepEqual(await asked(), ['2026-09-20', '2026-10-01']);
  assert.deepEqual(await page.$$eval('#from, #to', (is) => is.map((i) => i.max)), ['2026-10-01', '2026-10-01']);
  assert.equal(await page.inputValue('#to'), '2026-10-01');
  // An end typed past today is cut to today.
  await page.fill('#from', '2026-09-25');
  await page.fill('#to', '2026-12-31');
  await page.click('#apply');
  await ready(page, () => new URLSearchParams(location.search).get('from') === '2026-09-25');
  assert.equal(new URL(page.url()).searchParams.get('to'), '2026-10-01');
  assert.deepEqual(await asked(), ['2026-09-25', '2026-10-01']);
  assert.equal(await page.inputValue('#to'), '2026-10-01');
  // A range all to come: today.
  await page.fill('#from', '2026-11-01');
  await page.fill('#to', '2026-11-30');
  await page.click('#apply');
  await ready(page, () => new URLSearchParams(location.search).get('from') === '2026-10-01');
  assert.deepEqual(await asked(), ['2026-10-01', '2026-10-01']);
  assert.equal(await page.isHidden('#notice'), true);
  await context.close();
});

test('the filter form adds what a click cannot: is not, contains, does not contain, typed values', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  const filterOf = () => new URL(page.url()).searchParams.get('filter');
  // Visitors of the summary under `filter` (every test's traffic).
  const visitors = async (filter) => {
    const url = new URL(await page.getAttribute('#summary', 'data-api'), base);
    if (filter) url.searchParams.set('filter', filter);
    else url.searchParams.delete('filter');
    return (await api(context, url.pathname + url.search)).results.visitors;
  };
  const all = await visitors(null);
  // The brute force over the known traffic: visitors with a page whose
  // stored path holds `part`.
  const withPage = (part) => VISITORS.filter((v) => v.pages.some((p) => p.includes(part))).length;
  const add = async (dimension, how, value) => {
    if (await page.isHidden('#filter-form')) await page.click('#filter-add');
    await page.selectOption('#filter-dim', dimension);
    await page.selectOption('#filter-op', how);
    await page.fill('#filter-value', value);
    await page.press('#filter-value', 'Enter');
  };

  // Opened, it takes the keyboard; its suggestions are the period's
  // values, paths as they read.
  await page.click('#filter-add');
  assert.equal(await page.getAttribute('#filter-add', 'aria-expanded'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'filter-dim');
  await page.selectOption('#filter-dim', 'page');
  await page.waitForFunction(() => document.querySelectorAll('#filter-values option').length > 0);
  const suggested = await page.$$eval('#filter-values option', (os) => os.map((o) => o.value));
  for (const p of ['/', '/pricing', '/docs/käyttö']) assert.ok(suggested.includes(p), `${p} among ${suggested}`);
  await axe(page);
  // No value: said, nothing applied.
  await page.selectOption('#filter-op', 'contains');
  await page.click('#filter-apply');
  assert.match(await page.textContent('#filter-error'), /Type a value/);
  assert.equal(filterOf(), null);
  // Escape closes it; the keyboard is back on its button.
  await page.press('#filter-value', 'Escape');
  assert.equal(await page.isHidden('#filter-form'), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'filter-add');

  // Contains: a glob around the value, the chip in words.
  await add('page', 'contains', 'docs');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page==*docs*');
  assert.deepEqual(await chips(page), ['Page contains docs']);
  let { data } = await checkSummary(page, context);
  assert.equal(data.results.visitors, withPage('docs'));
  assert.ok(withPage('docs') > 1 && withPage('docs') < VISITORS.length);
  assert.equal(await page.evaluate(() => document.activeElement.className), 'chip-remove');
  // A second value of the same kind is an alternative; a path typed as
  // it reads is matched as stored (percent-encoded).
  await add('page', 'contains', 'käyttö');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page==*docs*|*käyttö*');
  assert.deepEqual(await chips(page), ['Page contains docs or käyttö']);
  // Does not contain replaces it: the visits without such a page.
  await add('page', 'not_contains', 'docs');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page!=*docs*');
  assert.deepEqual(await chips(page), ['Page does not contain docs']);
  ({ data } = await checkSummary(page, context));
  assert.deepEqual(data.filters, [{ dimension: 'page', op: '!=', value: '*docs*' }]);
  assert.equal(data.results.visitors, all - withPage('docs'), 'the visitors without a docs page');
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));

  // Is not, a country typed by its name: its code.
  await add('country', 'is_not', 'finland');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'country!=FI');
  assert.deepEqual(await chips(page), ['Country is not Finland']);
  ({ data } = await checkSummary(page, context));
  assert.equal(await visitors('country==FI'), 1, 'the one from a Finnish address');
  assert.equal(data.results.visitors, all - 1, 'all but the one from a Finnish address');
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  // A value's own | and ; are characters, not alternatives or filters.
  await add('utm_content', 'is', 'thread|x;y');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'utm_content==thread[|]x[;]y');
  assert.deepEqual(await chips(page), ['UTM content is thread|x;y']);
  ({ data } = await checkSummary(page, context));
  assert.equal(data.results.visitors, 1);
  // A goal is named, never matched in part.
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'goal');
  assert.deepEqual(await page.$$eval('#filter-op option', (os) => os.filter((o) => o.disabled).map((o) => o.value)),
    ['contains', 'not_contains']);
  // So is a country, a code: "does not contain" chosen becomes "is not".
  await page.selectOption('#filter-dim', 'page');
  await page.selectOption('#filter-op', 'not_contains');
  await page.selectOption('#filter-dim', 'country');
  assert.equal(await page.inputValue('#filter-op'), 'is_not');
  assert.deepEqual(await page.$$eval('#filter-op option', (os) => os.filter((o) => o.disabled).map((o) => o.value)),
    ['contains', 'not_contains']);
  await page.selectOption('#filter-dim', 'goal');
  await page.fill('#filter-value', 'nosuch');
  await page.press('#filter-value', 'Enter');
  assert.match(await page.textContent('#filter-error'), /no goal "nosuch"/);
  assert.equal(filterOf(), 'utm_content==thread[|]x[;]y');
  await page.click('#filter-cancel');
  assert.equal(await page.isHidden('#filter-form'), true);
  assert.deepEqual(page.problems, []);
  await page.screenshot({ path: path.join(OUTPUT, 'dashboard-filter-form.png'), fullPage: false });
  await context.close();
});

test('a week or month the period cuts is drawn apart, and says how many of its days it holds', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const go = (q) => `/?site=demo&period=custom&${q}`;
  const page = await open(context, `${base}/login/?next=${encodeURIComponent(go('from=2026-11-04&to=2026-11-20&interval=week'))}`);
  await signIn(page, ANALYST);
  await ready(page, () => document.querySelector('#chart').dataset.points === '3');
  const readout = async (where) => {
    const box = await (await page.$('#chart .u-over')).boundingBox();
    const x = { first: 1, middle: box.width / 2, last: box.width - 1 }[where];
    await page.mouse.move(box.x + x, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
    const text = await page.textContent('#chart-readout');
    await page.mouse.move(0, 0);
    await page.waitForFunction(() => document.querySelector('#chart-readout').textContent === '');
    return text;
  };
  // Wednesday 4 to Friday 20 November: the weeks of the 2nd, 9th and
  // 16th, the first and the last in part.
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '0,2');
  assert.match(await readout('first'), /^week of 2 Nov: .* \(5 of its 7 days in the period\)$/);
  assert.match(await readout('last'), /^week of 16 Nov: .* \(5 of its 7 days in the period\)$/);
  assert.doesNotMatch(await readout('middle'), /days in the period/);
  // Whole weeks, whole months: nothing apart.
  for (const [q, partial] of [['from=2026-11-02&to=2026-11-22&interval=week', ''],
    ['from=2026-09-01&to=2026-10-31&interval=month', ''],
    ['from=2026-09-15&to=2026-10-31&interval=month', '0']]) {
    await page.goto(`${base}${go(q)}`);
    await ready(page, () => document.querySelector('#chart').dataset.points !== undefined);
    assert.equal(await page.getAttribute('#chart', 'data-partial'), partial, q);
  }
  assert.match(await readout('first'), /^September 2026: .* \(16 of its 30 days in the period\)$/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('cut weeks and months count their days across the clocks\' changes, a leap February and a new year', async () => {
  // The chart's arithmetic is wall-clock days: a 23- or 25-hour day in
  // the site's zone or the browser's (New York changes on other Sundays)
  // is one day.
  for (const timezoneId of [TZ, BROWSER_TZ]) {
    const context = await browser.newContext({ timezoneId, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    const go = (q) => `/?site=demo&period=custom&${q}`;
    const page = await open(context, `${base}/login/?next=${encodeURIComponent(go('from=2026-03-26&to=2026-10-24&interval=week'))}`);
    await signIn(page, ANALYST);
    const readout = async (where) => {
      const box = await (await page.$('#chart .u-over')).boundingBox();
      await page.mouse.move(box.x + (where === 'first' ? 1 : box.width - 1), box.y + box.height / 2);
      await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
      const text = await page.textContent('#chart-readout');
      await page.mouse.move(0, 0);
      await page.waitForFunction(() => document.querySelector('#chart-readout').textContent === '');
      return text.replace(/: .* \(/, ' (');
    };
    const cases = [
      // Thursday 26 March (the clocks go forward on the 29th) to
      // Saturday 24 October (back on the 25th).
      ['from=2026-03-26&to=2026-10-24&interval=week', '0,30',
        'week of 23 Mar (4 of its 7 days in the period)', 'week of 19 Oct (6 of its 7 days in the period)'],
      ['from=2026-03-23&to=2026-10-25&interval=week', '', null, null],
      ['from=2024-03-15&to=2026-10-20&interval=month', '0,31',
        'March 2024 (17 of its 31 days in the period)', 'October 2026 (20 of its 31 days in the period)'],
      // 2024's February has 29 days.
      ['from=2023-11-01&to=2024-02-28&interval=month', '3', null, 'February 2024 (28 of its 29 days in the period)'],
      ['from=2023-11-01&to=2024-02-29&interval=month', '', null, null],
      // Monday 29 December 2025 to Sunday 4 January 2026.
      ['from=2025-09-03&to=2025-12-31&interval=week', '0,17',
        'week of 1 Sept (5 of its 7 days in the period)', 'week of 29 Dec (3 of its 7 days in the period)'],
      ['from=2026-01-01&to=2026-02-15&interval=week', '0',
        'week of 29 Dec (4 of its 7 days in the period)', null],
    ];
    for (const [q, partial, first, last] of cases) {
      await page.goto(`${base}${go(q)}`);
      await ready(page, () => document.querySelector('#chart').dataset.partial !== undefined &&
        new URLSearchParams((document.querySelector('#chart').dataset.api || '?').split('?')[1]).get('from') ===
        new URLSearchParams(location.search).get('from'));
      assert.equal(await page.getAttribute('#chart', 'data-partial'), partial, `${timezoneId} ${q}`);
      if (first) assert.equal(await readout('first'), first, `${timezoneId} ${q}`);
      if (last) assert.equal(await readout('last'), last, `${timezoneId} ${q}`);
    }
    assert.deepEqual(page.problems, []);
    await context.close();
  }
  // 2028's February, seen from March 2028 (the range ends today).
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  await context.clock.install({ time: new Date('2028-03-10T10:00:00Z') });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&period=custom&from=2027-11-01&to=2028-02-28&interval=month')}`);
  await signIn(page, ANALYST);
  await ready(page, () => document.querySelector('#chart').dataset.points === '4');
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '3');
  const box = await (await page.$('#chart .u-over')).boundingBox();
  await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
  assert.match(await page.textContent('#chart-readout'), /^February 2028: .* \(28 of its 29 days in the period\)$/);
  await page.goto(`${base}/?site=demo&period=custom&from=2027-11-01&to=2028-02-29&interval=month`);
  await ready(page, () => new URLSearchParams(location.search).get('to') === '2028-02-29' &&
    (document.querySelector('#chart').dataset.api || '').includes('to=2028-02-29'));
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the last 12 months begin with a whole month; this one is the month they hold only part of', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&period=12mo')}`);
  await signIn(page, ANALYST);
  await ready(page, () => document.querySelector('#chart').dataset.points === '12');
  const data = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.equal(data.interval, 'month');
  assert.match(data.from, /^\d{4}-\d\d-01$/);
  assert.equal(data.results[0].date.slice(0, 10), data.from);
  // Only the last, this month, is drawn apart (cut at today, or running).
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '11');
  const box = await (await page.$('#chart .u-over')).boundingBox();
  await page.mouse.move(box.x + 1, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
  assert.doesNotMatch(await page.textContent('#chart-readout'), /days in the period|so far/);
  await page.mouse.move(0, 0);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a cut week drawn again while other dates load counts its days in the period of the answer it shows', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&period=custom&from=2026-11-04&to=2026-11-20&interval=week')}`);
  await signIn(page, ANALYST);
  await ready(page, () => document.querySelector('#chart').dataset.points === '3');
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '0,2');
  const label = await page.getAttribute('#chart', 'aria-label');
  // The next dates' chart held back: the last answer stays on the screen.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const chartReport = (url) => url.pathname.endsWith('/timeseries');
  await page.route(chartReport, async (route) => { await held; await route.continue(); });
  await page.fill('#from', '2026-11-09');
  await page.fill('#to', '2026-11-22');
  await page.click('#apply');
  await page.waitForFunction(() => document.querySelector('#chart').getAttribute('aria-busy') === 'true');
  // A change of colour scheme draws that answer again: Wednesday 4 to
  // Friday 20 November still, not the whole weeks of 9 to 22 November.
  await page.$eval('#chart', (c) => { c.dataset.partial = 'before the redraw'; });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.querySelector('#chart').dataset.partial !== 'before the redraw');
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '0,2');
  assert.equal(await page.getAttribute('#chart', 'aria-label'), label);
  const box = await (await page.$('#chart .u-over')).boundingBox();
  await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
  assert.match(await page.textContent('#chart-readout'), /^week of 16 Nov: .* \(5 of its 7 days in the period\)$/);
  await page.mouse.move(0, 0);
  release();
  await ready(page, () => new URLSearchParams(location.search).get('from') === '2026-11-09' &&
    !document.querySelector('#chart').hasAttribute('aria-busy'));
  await page.unroute(chartReport);
  // The answer for the new dates: two whole weeks.
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the filter form: a referrer picked or typed as it reads, a country named before its list came', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  const filterOf = () => new URL(page.url()).searchParams.get('filter');
  const visitors = async () => {
    const url = new URL(await page.getAttribute('#summary', 'data-api'), base);
    return (await api(context, url.pathname + url.search)).results.visitors;
  };
  const fromTco = VISITORS.filter((v) => v.ref === 'https://t.co/k%C3%A4ytt%C3%B6').length;
  assert.equal(fromTco, 1);
  // A referrer as the list shows it (as it reads) is the stored one.
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'referrer');
  await page.waitForFunction(() => document.querySelectorAll('#filter-values option').length > 0);
  const suggested = await page.$$eval('#filter-values option', (os) => os.map((o) => o.value));
  assert.ok(suggested.includes('https://t.co/käyttö'), suggested.join(' '));
  await page.fill('#filter-value', 'https://t.co/käyttö');
  await page.press('#filter-value', 'Enter');
  await ready(page, () => new URLSearchParams(location.search).has('filter'));
  assert.equal(filterOf(), 'referrer==https://t.co/k%C3%A4ytt%C3%B6');
  assert.deepEqual(await chips(page), ['Referrer is https://t.co/käyttö']);
  assert.equal(await visitors(), fromTco);
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  // Typed as it reads, in part.
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'referrer');
  await page.selectOption('#filter-op', 'contains');
  await page.fill('#filter-value', 'käyttö');
  await page.press('#filter-value', 'Enter');
  await ready(page, () => new URLSearchParams(location.search).has('filter'));
  assert.equal(filterOf(), 'referrer==*k%C3%A4ytt%C3%B6*');
  assert.deepEqual(await chips(page), ['Referrer contains käyttö']);
  assert.equal(await visitors(), fromTco);
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));

  // A country's name or code in any case is its code, the list of
  // suggestions come or not; a name that is none is said.
  await page.route('**/breakdown?*dimension=country*', async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  for (const [typed, code] of [['Finland', 'FI'], ['se', 'SE']]) {
    await page.click('#filter-add');
    await page.selectOption('#filter-dim', 'country');
    await page.selectOption('#filter-op', 'is_not');
    await page.fill('#filter-value', typed);
    await page.press('#filter-value', 'Enter');
    await ready(page, () => new URLSearchParams(location.search).has('filter'));
    assert.equal(filterOf(), `country!=${code}`);
    await page.click('#filters .chip-remove');
    await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  }
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'country');
  await page.fill('#filter-value', 'Atlantis');
  await page.press('#filter-value', 'Enter');
  assert.match(await page.textContent('#filter-error'), /No country is named "Atlantis"/);
  assert.equal(filterOf(), null);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the filter form: a path with a percent sign in it, picked as it reads, filters on the path stored', async () => {
  // Stored "/sale/100%25-off" reads "/sale/100%-off"; the API takes a typed
  // "%" as the start of an escape, so the form sends the stored value.
  const headers = { 'User-Agent': UA.firefoxLinux, 'X-Forwarded-For': '10.40.0.1', Origin: 'http://localhost' };
  const r = await post('/api/collect', { site: 'demo', type: 'pageview', url: 'http://localhost/sale/100%25-off' }, headers);
  assert.equal(r.status, 204, r.text);
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  const pages = async () => (await api(context, `/api/stats/demo/breakdown?${new URLSearchParams({
    dimension: 'page', limit: '1000', tz: TZ })}`)).results.map((x) => x.page);
  for (let i = 0; i < 50 && !(await pages()).includes('/sale/100%25-off'); i++) await page.waitForTimeout(100);
  assert.ok((await pages()).includes('/sale/100%25-off'), 'the page is counted');
  await page.reload();
  await ready(page);
  // The value picked from the form's list, as it reads.
  const pick = async (op) => {
    await page.click('#filter-add');
    await page.selectOption('#filter-dim', 'page');
    await page.selectOption('#filter-op', op);
    await page.waitForFunction(() => [...document.querySelectorAll('#filter-values option')].some((o) => o.value === '/sale/100%-off'));
    await page.fill('#filter-value', '/sale/100%-off');
    await page.press('#filter-value', 'Enter');
    await ready(page, () => new URLSearchParams(location.search).has('filter'));
    return new URL(page.url()).searchParams.get('filter');
  };
  assert.equal(await pick('is'), 'page==/sale/100%25-off');
  assert.deepEqual(await chips(page), ['Page is /sale/100%-off']);
  assert.equal(await page.textContent('#summary [data-metric="pageviews"] .value'), '1');
  // "contains" of a part picked likewise is the stored part too.
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(await pick('contains'), 'page==*/sale/100%25-off*');
  assert.equal(await page.textContent('#summary [data-metric="pageviews"] .value'), '1');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('content groups: a tab of the pages card where the site has some, a row per group, a click its filter', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signIn(page, ANALYST);
  await ready(page);
  const tab = '#card-pages .tab[data-dimension="content_group"]';
  assert.equal(await page.isVisible(tab), true);
  await page.click(tab);
  await page.waitForFunction(() => document.querySelector('#table-pages').dataset.dimension === 'content_group'
    && !document.querySelector('#table-pages').getAttribute('aria-busy'));
  const data = await checkTable(page, context, '#table-pages', ['visitors', 'visits', 'pageviews']);
  assert.deepEqual(data.results.map((r) => r.content_group).sort(), ['Buying', 'Docs', 'Unread']);
  // Each group's row is the summary of its pages' filter.
  for (const [name, pages] of [['Docs', 'page==/docs*'], ['Buying', 'page==/pricing|/signup']]) {
    const q = new URLSearchParams({ tz: TZ, filter: pages });
    const s = (await api(context, `/api/stats/demo/summary?${q}`)).results;
    const row = data.results.find((r) => r.content_group === name);
    assert.deepEqual([row.visitors, row.visits, row.pageviews], [s.visitors, s.visits, s.pageviews], name);
  }
  // The known traffic's: visitors 1 and 5 read the docs; 1, 2, 4 and 7
  // priced or signed up.
  const docs = data.results.find((r) => r.content_group === 'Docs');
  assert.equal(docs.visitors, VISITORS.filter((v) => v.pages.some((p) => p.startsWith('/docs'))).length);
  assert.equal(docs.pageviews, VISITORS.reduce((n, v) => n + v.pages.filter((p) => p.startsWith('/docs')).length, 0));
  // A click on a group's row filters by it, and the chip names it.
  await page.click('#table-pages tbody tr[data-value="Docs"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'content_group==Docs');
  assert.deepEqual(await chips(page), ['Content group is Docs']);
  const { data: summary } = await checkSummary(page, context);
  assert.equal(summary.results.visitors, docs.visitors);
  // Under it, the pages are the group's.
  await page.click('#card-pages .tab[data-dimension="page"]');
  await page.waitForFunction(() => document.querySelector('#table-pages').dataset.dimension === 'page'
    && !document.querySelector('#table-pages').getAttribute('aria-busy'));
  const pages = await page.$$eval('#table-pages tbody tr:not(.empty)', (trs) => trs.map((tr) => tr.dataset.value));
  assert.ok(pages.length > 0 && pages.every((p) => p.startsWith('/docs')), pages.join(' '));
  // The filter form offers the groups by name, whole.
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'content_group');
  assert.equal(await page.isDisabled('#filter-op option[value="contains"]'), true);
  await page.waitForFunction(() => document.querySelectorAll('#filter-values option').length === 3);
  await page.fill('#filter-value', 'Buying');
  await page.selectOption('#filter-op', 'is_not');
  await page.press('#filter-value', 'Enter');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'content_group!=Buying');
  assert.deepEqual(await chips(page), ['Content group is not Buying']);
  await axe(page);
  // A link's group the site does not have is dropped and said.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('content_group==Gone')}`);
  await ready(page);
  assert.deepEqual(await chips(page), []);
  assert.match(await page.textContent('#notice'), /"content_group==Gone" from the address: demo has no such goal or content group/);
  // A site without groups has no such tab.
  await page.goto(`${base}/?site=quiet`);
  await ready(page);
  assert.equal(await page.isHidden(tab), true);
  assert.deepEqual(page.problems, []);
  await context.close();
});
