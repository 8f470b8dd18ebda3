// The dashboard on a phone (390 x 844 CSS pixels at a device pixel ratio
// of 2, an iPhone's) in Debian's Chromium, driven by playwright-core,
// against the real server (the example configuration, the analytics
// plugin with goals and a funnel) on known traffic sent through the real
// POST /api/collect: each wide table (top pages with their metrics, goals
// with their conversion rate, a funnel with its drop-off, sources,
// campaigns, and every table's CR under a goal filter) shows its key
// figures inside the screen without sideways scrolling; a long page path
// wraps and can be read whole; axe-core finds nothing serious; and
// screenshots that the test output keeps.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/phone.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshots go (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, setIni, recordProblems, axeCheck, shutDown, addStaff,
  withoutPluginSections, postBeacon, signInAs, testPaths, exampleIni } from './harness.mjs';

const { BIN, ROOT, OUTPUT } = testPaths();
const ANALYST = { name: 'ann', password: 'copper+Fjord+42+heron' };
const GOALS = 'demo:event:signup, demo:page:/pricing';
const FUNNELS = 'demo:signup:page:/pricing>event:signup>page:/thanks';
// A path longer than any phone is wide, with no place to break but its
// slashes and hyphens.
const LONG = '/blog/2026/11/how-we-cut-our-checkout-abandonment-rate-in-half-without-any-cookies-at-all';

const PHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
// Each visitor's page views ('/x') and custom events ('!name'), in order,
// with the first page's campaign and the referrer.
const CAMPAIGN = '?utm_source=newsletter&utm_medium=email&utm_campaign=black-friday-early-bird-2026';
const VISITORS = [
  { ua: DESKTOP_UA, ip: '10.1.0.1', ref: 'https://www.google.com/', steps: [LONG, '/pricing', '!signup', '/thanks'] },
  { ua: DESKTOP_UA, ip: '10.2.0.1', query: CAMPAIGN, steps: ['/pricing', '!signup'] },
  { ua: PHONE_UA, ip: '10.3.0.1', ref: 'https://news.ycombinator.com/', steps: [LONG] },
  { ua: PHONE_UA, ip: '10.4.0.1', query: CAMPAIGN, steps: ['/pricing', '/thanks'] },
  { ua: DESKTOP_UA, ip: '10.5.0.1', ref: 'https://duckduckgo.com/', steps: ['/docs/install', '/pricing', '!signup', '/thanks'] },
  { ua: DESKTOP_UA, ip: '10.6.0.1', steps: ['/'] },
];

let dir, seula, base, browser;

before(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing`);
  dir = mkdtempSync(path.join(tmpdir(), 'seula-phone-'));
  const config = path.join(dir, 'seula.ini');
  let ini = exampleIni(path.join(dir, 'seula.db'));
  const load = ['useragent', 'referrer', 'anonymize', 'analytics'];
  ini = setIni(ini, 'plugins', 'load', load.join(', '));
  ini = withoutPluginSections(ini, load);
  ini = setIni(ini, 'plugin.analytics', 'goals', GOALS);
  ini = setIni(ini, 'plugin.analytics', 'funnels', FUNNELS);
  writeFileSync(config, `; written by tests/browser/phone.test.mjs\n${ini}`);
  addStaff(BIN, config, [{ ...ANALYST, role: 'analyst' }], { cwd: ROOT });
  seula = await startSeula(BIN, config, { cwd: ROOT });
  base = seula.base;
  for (const v of VISITORS) {
    const headers = { 'User-Agent': v.ua, 'X-Forwarded-For': v.ip, Origin: 'http://localhost' };
    let last = null;
    for (const s of v.steps) {
      let ev;
      if (s.startsWith('!')) {
        ev = { site: 'demo', type: 'event', name: s.slice(1), url: `http://localhost${last}` };
      } else {
        const url = `http://localhost${s}${last === null && v.query ? v.query : ''}`;
        ev = { site: 'demo', type: 'pageview', url };
        const referrer = last === null ? v.ref : `http://localhost${last}`;
        if (referrer) ev.referrer = referrer;
        last = s;
      }
      const r = await postBeacon(base, '/api/collect', ev, headers);
      assert.equal(r.status, 204, `collect ${s}: ${r.text}`);
    }
  }
  browser = await launchChromium();
});

after(async () => {
  const code = await shutDown({ browser, seula, dir });
  if (seula) assert.equal(code, 0, 'seula stops with status 0 on SIGTERM');
});

async function ready(page, what) {
  if (what) await page.waitForFunction(what, null, { timeout: 15000 });
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 15000 });
}

// Where the cells of `metric` in `table`'s rows are, against the screen:
// [{ text, left, right, visible }], visible: shown at all (not display:
// none), and each that is, wholly inside the viewport's width.
function cells(page, table, metric) {
  return page.$$eval(`${table} tbody tr:not(.empty) td[data-metric="${metric}"]`, (tds) => tds.map((td) => {
    const r = td.getBoundingClientRect();
    return { text: td.textContent, left: r.left, right: r.right, visible: r.width > 0 && getComputedStyle(td).display !== 'none' };
  }));
}

async function inView(page, table, metric) {
  const width = page.viewportSize().width;
  const list = await cells(page, table, metric);
  assert.ok(list.length > 0, `${table}: rows with ${metric}`);
  for (const c of list) {
    assert.ok(c.visible, `${table} ${metric} ${c.text}: shown`);
    assert.ok(c.left >= 0 && c.right <= width, `${table} ${metric} ${c.text}: at ${c.left}..${c.right}, inside 0..${width}`);
  }
  // Nothing to scroll to: the wrapper shows its table whole.
  const wrap = await page.$eval(table, (t) => {
    const w = t.closest('.table-wrap');
    return { scroll: w.scrollWidth, client: w.clientWidth };
  });
  assert.ok(wrap.scroll <= wrap.client + 1, `${table}: no sideways scrolling (${wrap.scroll} > ${wrap.client})`);
}

// The row of `value` in `table`: its name's text as shown, and whether
// all of it is in sight: neither cut by its cell nor past the screen.
function nameShown(page, table, value) {
  return page.$eval(`${table} tbody tr[data-value="${value}"] th .name`, (b) => {
    const th = b.closest('th');
    const r = b.getBoundingClientRect();
    return {
      text: b.textContent, lines: Math.round(r.height / parseFloat(getComputedStyle(b).lineHeight || '20')),
      whole: b.scrollWidth <= b.clientWidth + 1 && th.scrollWidth <= th.clientWidth + 1
        && b.scrollHeight <= b.clientHeight + 1 && getComputedStyle(b).textOverflow !== 'ellipsis',
      left: r.left, right: r.right
    };
  });
}

test('on a phone the wide tables show their key figures in the screen, and a long path can be read', async () => {
  const context = await browser.newContext({
    locale: 'en-GB', viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    userAgent: PHONE_UA,
  });
  const page = await context.newPage();
  await recordProblems(page, (m) => /status of 401/.test(m.text()) && /\/api\/stats\//.test(m.location().url));
  await page.goto(`${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signInAs(page, ANALYST.name, ANALYST.password);
  await page.waitForURL((u) => u.pathname === '/');
  await ready(page);
  mkdirSync(OUTPUT, { recursive: true });

  // The key figures of each wide table, in the screen, nothing to scroll.
  await inView(page, '#table-pages', 'visitors');
  await inView(page, '#table-goals', 'conversion_rate');
  await inView(page, '#table-goals', 'visitors');
  await inView(page, '#table-funnels', 'visitors');
  await inView(page, '#table-funnels', 'conversion_rate');
  await inView(page, '#table-funnels', 'dropoff');
  await inView(page, '#table-sources', 'visitors');
  await inView(page, '#table-campaigns', 'visitors');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'the page itself does not scroll sideways');

  // The long path: all of it in sight, wrapped over lines.
  const long = await nameShown(page, '#table-pages', LONG);
  assert.equal(long.text, LONG);
  assert.ok(long.whole, `the long path is not cut: ${JSON.stringify(long)}`);
  assert.ok(long.lines >= 2, `the long path wraps (${long.lines} lines)`);
  assert.ok(long.left >= 0 && long.right <= 390, `the long path is in the screen (${long.left}..${long.right})`);
  await (await page.$('#card-pages')).screenshot({ path: path.join(OUTPUT, 'dashboard-phone-pages.png') });

  // The other figures are a tap away: "All columns", and back.
  assert.equal((await cells(page, '#table-pages', 'pageviews'))[0].visible, false, 'pageviews left out');
  await page.click('#card-pages button.columns');
  assert.equal(await page.getAttribute('#card-pages button.columns', 'aria-pressed'), 'true');
  assert.ok((await cells(page, '#table-pages', 'pageviews')).every((c) => c.visible), 'pageviews shown');
  assert.ok((await cells(page, '#table-pages', 'time_on_page')).every((c) => c.visible), 'time on page shown');
  await page.click('#card-funnels button.columns');
  assert.ok((await cells(page, '#table-funnels', 'dropoff_rate')).every((c) => c.visible), 'drop-off rate shown');
  // ... whose wrapper the keyboard can scroll (it has no button of its own).
  await page.focus('#card-funnels .table-wrap');
  await axeCheck(page, 15);
  await page.click('#card-pages button.columns');
  await page.click('#card-funnels button.columns');
  assert.equal((await cells(page, '#table-pages', 'pageviews'))[0].visible, false, 'pageviews left out again');

  // Under a goal filter every table adds its CR: in the screen too.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('goal==signup')}`);
  await ready(page);
  await page.waitForFunction(() => document.querySelector('#table-campaigns td[data-metric="conversion_rate"]'));
  for (const t of ['#table-pages', '#table-sources', '#table-campaigns', '#table-goals']) {
    await inView(page, t, 'conversion_rate');
    await inView(page, t, 'visitors');
  }
  await axeCheck(page, 15);
  await page.screenshot({ path: path.join(OUTPUT, 'dashboard-phone.png'), fullPage: true });
  console.log(`screenshots: ${path.join(OUTPUT, 'dashboard-phone.png')}, dashboard-phone-pages.png`);

  // On a wide screen every column shows, and there is no such button.
  await page.setViewportSize({ width: 1280, height: 900 });
  for (const m of ['visitors', 'pageviews', 'time_on_page', 'conversion_rate'])
    assert.ok((await cells(page, '#table-pages', m)).every((c) => c.visible), `${m} shown on a wide screen`);
  assert.ok(await page.isHidden('#card-pages button.columns'));
  assert.deepEqual(page.problems, [], 'no script error, no CSP violation');
  await context.close();
});
