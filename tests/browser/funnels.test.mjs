// The dashboard's Funnels card in Debian's Chromium, driven by
// playwright-core, against the real server (the example configuration,
// the analytics plugin with two funnels) on a database of known traffic
// sent through the real POST /api/collect: each step's figures shown equal
// the funnel report's for the query the card made, for either funnel,
// under a filter and for another range; the CSV link is the API's CSV of
// the same query; a site without funnels says so; on a phone the key
// columns fit and "All columns" shows the rest; axe-core finds nothing
// serious.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/funnels.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, setIni, recordProblems, axeCheck, shutDown, addStaff,
  withoutPluginSections, postBeacon, testPaths, exampleIni } from './harness.mjs';

const { BIN, ROOT } = testPaths();
const TZ = 'Europe/Helsinki';
const ANALYST = { name: 'ann', password: 'copper+Fjord+42+heron' };
const FUNNELS = 'demo:signup:page:/pricing>event:signup>page:/thanks, demo:docs:page:/docs*>page:/pricing';

const DESKTOP = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
// Each visitor's page views ('/x') and custom events ('!name'), in order.
const VISITORS = [
  { ua: DESKTOP, ip: '10.1.0.1', steps: ['/pricing', '!signup', '/thanks'] },
  { ua: DESKTOP, ip: '10.2.0.1', steps: ['/docs', '/pricing', '!signup'] },
  { ua: DESKTOP, ip: '10.3.0.1', steps: ['/thanks', '/pricing'] },
  { ua: PHONE, ip: '10.4.0.1', steps: ['/pricing', '/thanks'] },
  { ua: PHONE, ip: '10.5.0.1', steps: ['/docs/install', '/pricing', '!signup', '/thanks'] },
  { ua: DESKTOP, ip: '10.6.0.1', steps: ['/'] },
];

let dir, seula, base, browser;

// The collect and consent routes take their JSON as text/plain (a beacon's).
const post = (pathname, body, headers) => postBeacon(base, pathname, body, headers);

before(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing`);
  dir = mkdtempSync(path.join(tmpdir(), 'seula-funnels-'));
  const config = path.join(dir, 'seula.ini');
  let ini = exampleIni(path.join(dir, 'seula.db'));
  const load = ['useragent', 'referrer', 'anonymize', 'analytics'];
  ini = setIni(ini, 'plugins', 'load', load.join(', '));
  ini = withoutPluginSections(ini, load);
  ini = setIni(ini, 'plugin.analytics', 'funnels', FUNNELS);
  ini += '\n[site.quiet]\ndomains = quiet.example\n';
  writeFileSync(config, `; written by tests/browser/funnels.test.mjs\n${ini}`);
  addStaff(BIN, config, [{ ...ANALYST, role: 'analyst' }], { cwd: ROOT });
  seula = await startSeula(BIN, config, { cwd: ROOT });
  base = seula.base;
  for (const v of VISITORS) {
    const headers = { 'User-Agent': v.ua, 'X-Forwarded-For': v.ip, Origin: 'http://localhost' };
    let last = '/';
    for (const s of v.steps) {
      const ev = s.startsWith('!')
        ? { site: 'demo', type: 'event', name: s.slice(1), url: `http://localhost${last}` }
        : { site: 'demo', type: 'pageview', url: `http://localhost${s}` };
      if (!s.startsWith('!')) last = s;
      const r = await post('/api/collect', ev, headers);
      assert.equal(r.status, 204, `collect ${s}: ${r.text}`);
    }
  }
  browser = await launchChromium();
});

after(async () => {
  const code = await shutDown({ browser, seula, dir });
  if (seula) assert.equal(code, 0, 'seula stops with status 0 on SIGTERM');
});

function shown(metric, v) {
  if (v === null || v === undefined) return '–';
  const n = Number(v);
  if (metric === 'conversion_rate' || metric === 'dropoff_rate')
    return `${new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(n)}%`;
  return new Intl.NumberFormat('en-US').format(n);
}
const COLS = ['visits', 'visitors', 'conversion_rate', 'dropoff', 'dropoff_rate'];

async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 15000 });
}

// The card's rows against the API's answer to the query it made.
async function checkFunnel(page, context, name) {
  const url = await page.getAttribute('#table-funnels', 'data-api');
  const q = new URL(url, base).searchParams;
  assert.equal(q.get('funnel'), name);
  assert.equal(q.get('tz'), TZ);
  const r = await context.request.get(new URL(url, base).href);
  assert.equal(r.status(), 200, await r.text());
  const data = await r.json();
  const rows = await page.$$eval('#table-funnels tbody tr:not(.empty)', (trs) => trs.map((tr) => ({
    head: tr.querySelector('th[scope="row"]').textContent,
    cells: Object.fromEntries([...tr.querySelectorAll('td[data-metric]')].map((td) =>
      [td.dataset.metric, { raw: td.dataset.value, text: td.textContent }])),
  })));
  assert.equal(rows.length, data.results.length, 'a row per step');
  data.results.forEach((s, i) => {
    assert.equal(rows[i].head, `${s.step}. ${s.name}`);
    for (const m of COLS) {
      assert.equal(rows[i].cells[m].raw, s[m] === null ? '' : String(s[m]), `step ${s.step} ${m}`);
      assert.equal(rows[i].cells[m].text, shown(m, s[m]), `step ${s.step} ${m} shown`);
    }
  });
  const heads = await page.$$eval('#table-funnels thead th', (ths) => ths.map((th) => th.getAttribute('scope')));
  assert.deepEqual(heads, Array(COLS.length + 1).fill('col'));
  const note = await page.textContent('#funnels-note');
  assert.ok(note.startsWith(`${data.results.at(-1).visits} of ${data.visits} visits completed it`), note);
  // The CSV: the API's, for the same query.
  const href = await page.getAttribute('#card-funnels a.csv', 'href');
  const hq = new URL(href, base).searchParams;
  assert.equal(hq.get('format'), 'csv');
  hq.delete('format');
  assert.equal(hq.toString(), q.toString());
  const csv = await (await context.request.get(new URL(href, base).href)).text();
  const lines = csv.trim().split(/\r?\n/);
  assert.equal(lines[0], 'step,name,definition,visitors,visits,conversion_rate,dropoff,dropoff_rate');
  assert.equal(lines.length, data.results.length + 1);
  return data;
}

test('the Funnels card shows what the funnel report answers, under filters, and passes axe', async () => {
  const context = await browser.newContext({ timezoneId: 'America/New_York', locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await recordProblems(page, (m) => /status of 401/.test(m.text()) && /\/api\/stats\//.test(m.location().url));
  await page.goto(`${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#username', ANALYST.name);
  await page.fill('#password', ANALYST.password);
  await page.click('#submit');
  await page.waitForURL((u) => u.pathname === '/');
  await ready(page);

  assert.deepEqual(await page.$$eval('#funnel-choice option', (os) => os.map((o) => o.value)), ['signup', 'docs']);
  let data = await checkFunnel(page, context, 'signup');
  // The traffic above, counted by hand: 5 enter, 3 sign up after, 2 thank.
  assert.deepEqual(data.results.map((s) => s.visits), [5, 3, 2]);

  await page.selectOption('#funnel-choice', 'docs');
  await page.waitForFunction(() => /funnel=docs/.test(document.querySelector('#table-funnels').dataset.api)
    && !document.querySelector('#table-funnels').getAttribute('aria-busy'));
  data = await checkFunnel(page, context, 'docs');
  assert.deepEqual(data.results.map((s) => s.visits), [2, 2]);

  await axeCheck(page, 15);
  // On a phone its key columns fit; all of them scroll sideways, and
  // the keyboard can reach them.
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await page.$eval('#card-funnels .table-wrap', (w) => w.scrollWidth <= w.clientWidth), 'the key columns fit');
  await page.click('#card-funnels button.columns');
  assert.ok(await page.$eval('#card-funnels .table-wrap', (w) => w.scrollWidth > w.clientWidth), 'all columns scroll');
  await axeCheck(page, 15);
  await page.click('#card-funnels button.columns');
  await page.setViewportSize({ width: 1280, height: 900 });

  // A filter in the address: the card follows it.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('device==mobile')}`);
  await ready(page);
  await page.selectOption('#funnel-choice', 'signup');
  await page.waitForFunction(() => /funnel=signup/.test(document.querySelector('#table-funnels').dataset.api)
    && !document.querySelector('#table-funnels').getAttribute('aria-busy'));
  data = await checkFunnel(page, context, 'signup');
  assert.match(await page.getAttribute('#table-funnels', 'data-api'), /filter=device%3D%3Dmobile/);
  assert.equal(data.visits, 2);
  assert.deepEqual(data.results.map((s) => s.visits), [2, 1, 1]);

  // Yesterday alone: nobody.
  const y = new Date(Date.now() - 86400000).toLocaleDateString('en-CA', { timeZone: TZ });
  await page.goto(`${base}/?site=demo&period=custom&from=${y}&to=${y}`);
  await ready(page);
  data = await checkFunnel(page, context, 'signup');
  assert.equal(data.visits, 0);

  // A site without funnels says so, and offers no CSV.
  await page.goto(`${base}/?site=quiet`);
  await ready(page);
  assert.match(await page.textContent('#funnels-note'), /quiet has no funnel/);
  assert.ok(await page.$eval('#funnel-choice', (s) => s.hidden));
  assert.ok(await page.$eval('#card-funnels a.csv', (a) => a.hidden));
  await axeCheck(page, 15);
  await context.close();
});
