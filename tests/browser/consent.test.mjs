// The consent banner (web/consent.js) in Debian's Chromium, driven by
// playwright-core, against the real server with the example configuration
// (contrib/seula.ini.example: the demo site, its texts in fi, sv and en) and
// its SQLite file: reject all, accept all, withdrawal through the reopen
// button, Global Privacy Control, the banner in three languages (screenshots
// that are looked at), axe-core's WCAG 2.1 A/AA rules, the keyboard, the
// cookies the privacy statement and the banner list, the scripts that wait
// for a category, the JS API, Google Consent Mode, a stale policy and an
// unreachable server.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/consent.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshots go (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { startSeula, launchChromium, setIni, axeRun, shutDown, testPaths, exampleIni } from './harness.mjs';

const { BIN, ROOT, OUTPUT, AXE } = testPaths();

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const GCM_TYPES = ['ad_storage', 'ad_user_data', 'ad_personalization', 'analytics_storage',
  'functionality_storage', 'personalization_storage', 'security_storage'];
const CATEGORIES = ['analytics', 'marketing', 'personalization'];
const DESKTOP_CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/124.0.0.0 Safari/537.36';
const FIRST_LAYER = ['seula-consent-accept-all', 'seula-consent-reject-all', 'seula-consent-choose'];

let dir, db, seula, base, browser, shop, shopBase;

// ---- helpers ---------------------------------------------------------------

function query(sql) {
  const out = execFileSync('sqlite3', ['-json', `file:${db}?mode=ro`, sql], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}
const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;
const events = (where) => query(`SELECT * FROM events WHERE ${where} ORDER BY id`);
const lastEvent = () => query('SELECT coalesce(max(id), 0) AS id FROM events')[0].id;

async function waitFor(what, fn, timeoutMs = 10000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v && (!Array.isArray(v) || v.length)) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function getJson(url) {
  const r = await fetch(url);
  assert.equal(r.status, 200, `GET ${url}`);
  return r.json();
}
const config = (lang) => getJson(`${base}/api/consent/config?site=demo&lang=${lang}`);

// The record of a receipt as the server serves it, and its row in the
// database: both must say the same.
async function consentRecord(receipt) {
  const api = await getJson(`${base}/api/consent/${receipt}`);
  const [row] = query(`SELECT * FROM consent_records WHERE receipt = ${quote(receipt)}`);
  assert.ok(row, `the database holds the record ${receipt}`);
  return { api, row };
}
const isGranted = (v) => v === true || v === 1 || v === 'granted';
// The receipt page the banner links to: the record in the visitor's
// language (the demo's: English), by the words of the banner shown, its
// data a link away, with the visitor id a request for their data names
// them by; an unknown receipt said so.
async function checkReceipt(context, href, receipt, vid) {
  const page = await open(context, href);
  await page.waitForSelector('#record:not([hidden])');
  assert.equal(await page.textContent('h1'), 'Consent receipt');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('#receipt'), receipt);
  assert.equal(await page.isVisible('#visitor'), true, 'the visitor id is shown');
  assert.equal(await page.textContent('#visitor'), vid);
  assert.equal(await page.textContent('#label-visitor'), 'Visitor id');
  assert.equal(await page.textContent('#site'), 'demo');
  // Who holds it, and their statement in the language of the choice.
  const shownTexts = (await getJson(`${base}/api/consent/${receipt}`)).texts_shown;
  assert.ok(shownTexts.controller, 'the texts shown name the controller');
  assert.equal(await page.textContent('#controller'), shownTexts.controller);
  assert.equal(await page.textContent('#label-controller'), 'Data controller');
  const privacy = await page.getAttribute('#privacy', 'href');
  assert.equal(privacy, '/privacy?lang=en');
  assert.equal((await fetch(new URL(privacy, href))).status, 200);
  assert.equal(await page.textContent('#method'), 'Accept all');
  const rows = await page.$$eval('#choices tr', (trs) => trs.map((tr) => [tr.dataset.category,
    tr.querySelector('th').textContent, tr.querySelector('td').textContent]));
  const texts = (await getJson(`${base}/api/consent/config?site=demo&lang=en`)).texts;
  const name = (c) => texts.categories.find((x) => x.id === c).name;
  assert.deepEqual(rows, ['necessary', ...CATEGORIES].map((c) => [c, name(c),
    c === 'necessary' ? texts.always_on : 'Allowed']));
  assert.match(await page.textContent('#change'), new RegExp(`“${texts.reopen}”`));
  assert.equal(await page.isHidden('#erased'), true);
  const json = await page.getAttribute('#json', 'href');
  assert.equal((await getJson(new URL(json, href).href)).method, 'accept_all');
  assert.deepEqual((await axeRun(page)).violations, [], 'the receipt page passes axe');
  await page.goto(`${base}/consent/receipt/#00000000-0000-4000-8000-000000000000`);
  await page.waitForFunction(() => /No consent record/.test(document.querySelector('#status').textContent));
  assert.equal(await page.isHidden('#record'), true);
  // A malformed escape in the address: said the same, not left loading.
  const broken = await open(context, `${base}/consent/receipt/#%E0%A4%A`);
  await broken.waitForFunction(() => /No consent record/.test(document.querySelector('#status').textContent));
  assert.equal(await broken.isHidden('#record'), true);
  assert.deepEqual(broken.errors, []);
  await broken.close();
  assert.deepEqual(page.errors, []);
  await page.close();
}

function decisionsOf(rec) {
  const d = typeof rec.decisions === 'string' ? JSON.parse(rec.decisions) : rec.decisions;
  return Object.fromEntries(CATEGORIES.map((c) => [c, isGranted(d[c])]));
}
const count = (where) => query(`SELECT count(*) AS n FROM consent_records WHERE ${where}`)[0].n;

// seula_consent=2|RECEIPT|POLICY|GRANTED|METHOD|EXPIRES|GCM|TEXTS (web/consent.js)
function parseConsent(value) {
  const p = value.split('|');
  assert.equal(p.length, 8, `seula_consent=${value}`);
  assert.equal(p[0], '2');
  const [lang, hash] = p[7].split('~');
  return {
    receipt: p[1], policy: decodeURIComponent(p[2]),
    granted: p[3] === '-' ? [] : p[3].split('.'), method: p[4], expires: Number(p[5]) * 1000,
    gcm: Object.fromEntries(GCM_TYPES.map((t, i) => [t, p[6][i] === 'g' ? 'granted' : 'denied'])),
    texts: { lang, hash },
  };
}
// The collect requests a context makes, as their bodies.
function collects(context) {
  const sent = [];
  context.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/collect') sent.push(r.postData() || '');
  });
  return sent;
}
async function cookies(context) {
  return Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
}

// A page that records script errors, and the hosts its context talks to.
async function open(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(url);
  return page;
}
const shown = (page) => page.waitForSelector('#seula-consent', { state: 'visible' });
const gone = (page) => page.waitForSelector('#seula-consent', { state: 'detached' });
async function choose(page, button) {
  await page.click(button);
  await gone(page);
}
const focused = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

// Google Consent Mode calls in dataLayer, as [command, values].
const gcmCalls = (page) => page.evaluate(() => window.dataLayer
  .filter((a) => Object.prototype.toString.call(a) === '[object Arguments]' && a[0] === 'consent')
  .map((a) => [a[1], { ...a[2] }]));
function gcmExpected(cfg, granted) {
  return Object.fromEntries(GCM_TYPES.map((t) => {
    const c = cfg.google_consent_mode[t];
    return [t, c === 'necessary' || granted[c] ? 'granted' : 'denied'];
  }));
}

// ---- the server, a second site, the browser ------------------------------------

before(async () => {
  for (const f of [BIN, AXE]) if (!existsSync(f)) throw new Error(`${f} is missing (build seula; npm ci)`);
  dir = mkdtempSync(path.join(tmpdir(), 'seula-consent-'));
  db = path.join(dir, 'seula.db');
  // The example configuration as it is (run from the repository root, as
  // it says), with a free port, a database of its own and the built plugins.
  let ini = exampleIni(db);
  // DNT: 1 objects to marketing as Sec-GPC does (only the test of it sends it).
  ini = setIni(ini, 'site.demo', 'dnt', 'objection');
  // /privacy needs a controller; the example may not name one.
  if (!/^\[controller\]/m.test(ini))
    ini += '\n[controller]\nname = Tuisku Oy (imaginary)\naddress = Esimerkkikatu 1, 00100 Helsinki\n' +
      'email = privacy@tuisku.example\n';
  const file = path.join(dir, 'seula.ini');
  writeFileSync(file, `; written by tests/browser/consent.test.mjs from contrib/seula.ini.example\n${ini}`);
  seula = await startSeula(BIN, file, { echo: true, cwd: ROOT });
  base = seula.base;

  // Another site (another origin: localhost, not 127.0.0.1) that loads the
  // banner from the Seula server, without a Content-Security-Policy:
  // /page?html=fi&data=en&inline=1.
  shop = http.createServer((req, res) => {
    const q = new URL(req.url, 'http://x').searchParams;
    const lang = q.get('html') ? ` lang="${q.get('html')}"` : '';
    const dataLang = q.get('data') ? ` data-lang="${q.get('data')}"` : '';
    const dir = q.get('dir') ? ` dir="${q.get('dir')}"` : '';
    // &hostile=1: the sweeping rules some themes have.
    const hostile = q.get('hostile') ? '<style>*{text-transform:uppercase;letter-spacing:.3em;' +
      'word-spacing:1em;font-style:italic;text-indent:2em}input[type=checkbox]{display:none}' +
      'button{float:right}</style>' : '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html${lang}${dir}><head><meta charset="utf-8"><title>Shop</title>${hostile}
<script src="${base}/consent.js" data-site="demo"${dataLang}></script>
<style>body{font:16px/1.5 sans-serif;margin:2rem;background:#f4f1ea}</style></head>
<body><h1>Kauppa · Butik · Shop</h1><p>${'Lorem ipsum dolor sit amet. '.repeat(40)}</p>
<script type="text/plain" data-seula-category="analytics" data-note="copied">
  window.inlineAnalytics = (window.inlineAnalytics || 0) + 1;
  window.inlineAttr = document.currentScript.getAttribute('data-note');
</script>
<script type="text/plain" data-seula-category="analytics marketing">window.both = true;</script>
</body></html>`);
  });
  await new Promise((r) => shop.listen(0, '127.0.0.1', r));
  shopBase = `http://localhost:${shop.address().port}`;
  browser = await launchChromium();
});

after(async () => {
  if (shop) shop.close();
  const code = await shutDown({ browser, seula, dir });
  if (seula) assert.equal(code, 0, 'seula stops with status 0 on SIGTERM');
});

// ---- 1. reject all -----------------------------------------------------------

test('reject all: only seula_consent, a record with everything denied, and nothing counted any more', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const hosts = new Set();
  context.on('request', (r) => hosts.add(new URL(r.url()).host));
  const sent = collects(context);
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  // Before a choice the visit is counted, without cookies (the example
  // config's without_consent = cookieless).
  await waitFor('the page view before a choice', () => sent.length);
  assert.ok(sent.every((b) => !b.includes('visitor_id')), `no id before a choice: ${sent}`);
  assert.deepEqual(await context.cookies(), [], 'no cookie before a choice');
  assert.equal(await page.evaluate(() => seulaConsent.get()), null);
  const t0 = Date.now();
  await choose(page, '#seula-consent-reject-all');

  const jar = await cookies(context);
  assert.deepEqual(Object.keys(jar), ['seula_consent'], 'no cookie but seula_consent');
  const c = jar.seula_consent;
  assert.equal(c.path, '/');
  assert.equal(c.sameSite, 'Lax');
  assert.equal(c.secure, false, 'Secure only on https pages');
  const cfg = await config('en');
  const days = (c.expires * 1000 - Date.now()) / 86400000;
  assert.ok(Math.abs(days - cfg.consent_period_days) < 0.01, `lives consent_period_days, not ${days}`);
  const stored = parseConsent(c.value);
  assert.equal(stored.method, 'reject_all');
  assert.deepEqual(stored.granted, []);
  assert.equal(stored.policy, cfg.policy_version);
  assert.deepEqual(stored.texts, { lang: 'en', hash: cfg.texts_hash }, 'the texts it was given under');

  const { api, row } = await consentRecord(stored.receipt);
  for (const rec of [api, row]) {
    assert.deepEqual(decisionsOf(rec), { analytics: false, marketing: false, personalization: false });
    assert.equal(rec.method, 'reject_all');
    assert.equal(rec.source, 'banner');
    assert.equal(rec.policy_version, cfg.policy_version);
    assert.ok(!rec.visitor_id, 'no visitor id on a first refusal');
  }
  assert.equal(api.language, 'en', 'the demo page is in English');
  assert.ok(api.given_at === undefined || Math.abs(new Date(api.given_at) - t0) < 60000);

  assert.deepEqual(await page.evaluate(() => seulaConsent.get()), {
    necessary: true, analytics: false, marketing: false, personalization: false,
    receipt: stored.receipt, policy_version: cfg.policy_version, method: 'reject_all',
  });
  // Refusing statistics objects to the counting itself: a pushState
  // navigation, an event, engagement, sends nothing, cookieless or not.
  const before = sent.length;
  await page.click('nav >> text=Pricing');
  await page.waitForFunction(() => location.pathname === '/demo/pricing');
  await page.click('#signup');
  await page.evaluate(() => history.pushState(null, '', '/demo/contact'));
  // A second on that page: its engagement would go when it is left.
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(sent.slice(before), [], 'nothing sent after Reject all');

  // The next page: no banner, the reopen button, still nothing sent.
  await page.goto(`${base}/demo/`);
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  assert.equal(await page.$('#seula-consent'), null, 'a choice made is not asked again');
  await page.click('nav >> text=Pricing');
  await page.waitForFunction(() => location.pathname === '/demo/pricing');
  await page.close({ runBeforeUnload: true });
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(sent.slice(before), [], 'nor on the next page, nor when it is left');
  assert.deepEqual(Object.keys(await cookies(context)), ['seula_consent']);
  assert.deepEqual([...hosts], [new URL(base).host], 'no third-party request');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a visitor who leaves the banner alone is counted cookieless, page after page', async () => {
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  const mark = lastEvent();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await page.click('nav >> text=Pricing');
  const views = await waitFor('two page views without a choice',
    () => { const r = events(`id > ${mark} AND type = 1`); return r.length >= 2 && r; });
  assert.deepEqual(views.map((v) => v.path).slice(0, 2), ['/demo/', '/demo/pricing']);
  assert.ok(views.every((v) => v.visitor_id === null && v.visitor_hash), 'by the daily hash, no id');
  // The next page asks again, and still counts.
  await page.goto(`${base}/demo/contact`);
  await shown(page);
  await waitFor('the next page\'s view', () => events(`id > ${mark} AND type = 1 AND path = '/demo/contact'`));
  assert.deepEqual(await context.cookies(), [], 'no cookie without a choice');
  assert.deepEqual(page.errors, []);
  await context.close();
});

// ---- 2. accept all -------------------------------------------------------------

test('accept all: seula_vid, a granted record naming it, page views with it (applied from the cookie)', async () => {
  // A browser's own agent: HeadlessChrome's is a crawler's, counted apart
  // from the visits.
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-accept-all');
  const jar = await cookies(context);
  assert.deepEqual(Object.keys(jar).sort(), ['seula_consent', 'seula_vid']);
  const vid = jar.seula_vid;
  assert.match(vid.value, UUID_V4);
  assert.equal(vid.path, '/');
  assert.equal(vid.sameSite, 'Lax');
  const stored = parseConsent(jar.seula_consent.value);
  assert.ok(vid.expires <= jar.seula_consent.expires + 1 && vid.expires >= jar.seula_consent.expires - 2,
    `seula_vid lapses with the consent (${vid.expires}), not after it (${jar.seula_consent.expires})`);
  assert.equal(stored.method, 'accept_all');
  assert.deepEqual(stored.granted.sort(), CATEGORIES);

  const { api, row } = await consentRecord(stored.receipt);
  for (const rec of [api, row]) {
    assert.deepEqual(decisionsOf(rec), { analytics: true, marketing: true, personalization: true });
    assert.equal(rec.method, 'accept_all');
    assert.equal(rec.visitor_id, vid.value);
  }

  let mark = lastEvent();
  await page.click('nav >> text=Contact');
  const [view] = await waitFor('the page view after accepting', () => events(`id > ${mark} AND type = 1`));
  assert.equal(view.path, '/demo/contact');
  assert.equal(view.visitor_id, vid.value);
  // The landing page was counted cookieless, before the choice: the visit
  // goes on under the id with it (one visit, not a bounce and a second one).
  const visitPages = query('SELECT b.path FROM analytics_visit_pages a JOIN analytics_visit_pages b ' +
    "ON b.visit = a.visit WHERE a.path = '/demo/contact'").map((r) => r.path);
  assert.ok(visitPages.includes('/demo/'), `the landing page is in the visit: ${visitPages}`);

  // The next page, its config delayed by a second: the stored choice is
  // applied only once the server says its policy is current; the tracker
  // holds its first page view for it, and sends it with the id.
  await page.route('**/api/consent/config*', async (route) => {
    await new Promise((r) => setTimeout(r, 1000));
    await route.continue();
  });
  mark = lastEvent();
  await page.reload();
  assert.equal((await gcmCalls(page)).length, 1, 'nothing applied before the config');
  assert.ok(!await page.$('#seula-consent-reopen'), 'the config is not there yet');
  const [next] = await waitFor('the first page view of the next page',
    () => events(`id > ${mark} AND type = 1`), 5000);
  assert.equal(next.visitor_id, vid.value, 'held for the config, then sent with the id');
  const calls = await gcmCalls(page);
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1], ['update', stored.gcm]);
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  assert.equal(await page.$('#seula-consent'), null);
  assert.equal((await cookies(context)).seula_vid.expires, vid.expires, 'seula_vid is not extended');
  assert.deepEqual(page.errors, []);
  // A page left before the config comes still counts, without the id
  // (no consent is known yet).  The config is held until the page is
  // gone: a second's delay was not always enough on a loaded machine.
  await page.route('**/api/consent/config*', () => new Promise(() => {}));
  mark = lastEvent();
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.seula && window.seula.loaded);
  await page.close({ runBeforeUnload: true });
  const [left] = await waitFor('the held page view of a page left early',
    () => events(`id > ${mark} AND type = 1`), 5000);
  assert.equal(left.path, '/demo/contact');
  assert.equal(left.visitor_id, null);
  await context.close();
});

// ---- 3. withdrawal -------------------------------------------------------------

test('withdrawal through the reopen button: seula_vid gone, a withdraw record, the old id refused', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-accept-all');
  const vid = (await cookies(context)).seula_vid.value;
  const first = parseConsent((await cookies(context)).seula_consent.value);

  await page.click('#seula-consent-reopen');
  await shown(page);
  assert.equal(await focused(page), 'seula-consent', 'the focus moves into the banner');
  assert.equal(await page.isHidden('#seula-consent-reopen'), true);
  // The visitor's own choices, filled in; the receipt linked.
  for (const c of CATEGORIES)
    assert.equal(await page.isChecked(`#seula-consent-${c}`), true, c);
  const receiptHref = await page.getAttribute('#seula-consent-receipt', 'href');
  assert.equal(receiptHref, `${base}/consent/receipt/#${first.receipt}`);
  await checkReceipt(context, receiptHref, first.receipt, vid);
  // Withdrawing is one click, like giving.
  await choose(page, '#seula-consent-withdraw');
  assert.equal(await focused(page), 'seula-consent-reopen', 'the focus goes back where it was');

  const jar = await cookies(context);
  assert.deepEqual(Object.keys(jar), ['seula_consent'], 'seula_vid is deleted');
  const stored = parseConsent(jar.seula_consent.value);
  assert.notEqual(stored.receipt, first.receipt, 'a new record');
  assert.equal(stored.method, 'withdraw');
  const { api, row } = await consentRecord(stored.receipt);
  for (const rec of [api, row]) {
    assert.equal(rec.method, 'withdraw');
    assert.equal(rec.source, 'preference_link');
    assert.deepEqual(decisionsOf(rec), { analytics: false, marketing: false, personalization: false });
    assert.equal(rec.visitor_id, vid, 'the record names the id withdrawn');
  }
  assert.equal(await page.evaluate(() => seulaConsent.get().method), 'withdraw');

  // The old id sent by hand afterwards: an objector's event, not stored.
  const post = (name, id) => page.evaluate(([n, i]) => fetch('/api/collect', {
    method: 'POST', headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify({ site: 'demo', type: 'event', name: n, url: location.href, visitor_id: i }),
  }).then((r) => r.status), [name, id]);
  assert.equal(await post('after-withdrawal', vid), 204);
  assert.equal(await post('after-withdrawal-marker'), 204);
  await waitFor('the marker sent after it', () => events("name = 'after-withdrawal-marker'"));
  assert.deepEqual(events("name = 'after-withdrawal'"), [], 'a withdrawn id\'s event is not stored');
  // And the tracker sends nothing: a withdrawal refuses statistics.
  const sent = collects(context);
  await page.click('nav >> text=Pricing');
  await page.waitForFunction(() => location.pathname === '/demo/pricing');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(sent, [], 'no page view after withdrawal');

  // The API's withdraw(), after a new grant: source api.
  await page.click('#seula-consent-reopen');
  await choose(page, '#seula-consent-accept-all');
  const vid2 = (await cookies(context)).seula_vid.value;
  assert.notEqual(vid2, vid, 'a new id after the old one was withdrawn');
  assert.equal(await page.evaluate(() => seulaConsent.withdraw()), true);
  const byApi = parseConsent((await cookies(context)).seula_consent.value);
  const rec = (await consentRecord(byApi.receipt)).api;
  assert.equal(rec.method, 'withdraw');
  assert.equal(rec.source, 'api');
  assert.equal(rec.visitor_id, vid2);
  assert.equal((await cookies(context)).seula_vid, undefined);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the banner and the reopen button are not printed', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  const display = (sel) => page.$eval(sel, (e) => getComputedStyle(e).display);
  await page.emulateMedia({ media: 'print' });
  assert.equal(await display('#seula-consent'), 'none', 'the banner on paper');
  await page.emulateMedia({ media: 'screen' });
  assert.notEqual(await display('#seula-consent'), 'none');
  await choose(page, '#seula-consent-reject-all');
  assert.notEqual(await display('#seula-consent-reopen'), 'none');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await display('#seula-consent-reopen'), 'none', 'the reopen button on paper');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('on a phone the privacy statement\'s wide tables scroll from the keyboard', async () => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, bypassCSP: true });
  const page = await open(context, `${base}/privacy?lang=en`);
  const boxes = await page.$$eval('.table', (els) => els.map((e) => ({
    wide: e.scrollWidth > e.clientWidth, tab: e.tabIndex, role: e.getAttribute('role'),
    name: e.getAttribute('aria-label') })));
  assert.ok(boxes.length >= 2, 'the statement has its tables');
  assert.ok(boxes.some((b) => b.wide), 'a table wider than the phone (or the test tests nothing)');
  for (const b of boxes) {
    assert.equal(b.tab, 0, 'each a tab stop');
    assert.equal(b.role, 'region');
    assert.ok(b.name && b.name.length > 3, 'named by its section');
  }
  // Tab to the first wide one (through the links before it), then scroll it.
  const wide = boxes.findIndex((b) => b.wide);
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => [...document.querySelectorAll('.table')].indexOf(document.activeElement));
    if (at === wide) break;
  }
  assert.equal(await page.evaluate(() => [...document.querySelectorAll('.table')].indexOf(document.activeElement)),
    wide, 'the keyboard reaches it');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.equal(outline, 'solid', 'and shows where it is');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.activeElement.scrollLeft > 0);
  const r = await axeRun(page);
  assert.deepEqual(r.violations, [], 'axe on the statement');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the reopen button\'s focus ring shows on a dark page', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await focused(page), 'seula-consent-reject-all');
  await page.keyboard.press('Enter');
  await gone(page);
  assert.equal(await focused(page), 'seula-consent-reopen');
  assert.equal(await page.evaluate(() => document.activeElement.matches(':focus-visible')), true);
  await page.evaluate(() => {
    document.documentElement.style.background = '#0d1117';
    document.body.style.background = '#0d1117';
    document.body.style.color = '#0d1117';
  });
  // The band just outside the button: what tells a keyboard user where they are.
  const box = await page.$eval('#seula-consent-reopen', (e) => {
    const r = e.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  });
  const pad = 8;
  const png = await page.screenshot({ clip: { x: box.x - pad, y: box.y - pad,
    width: box.width + 2 * pad, height: box.height + 2 * pad } });
  const bright = (await measure(page, png, pad)).bandLight;
  assert.ok(bright > 0.3, `the ring around it is light on the dark page: ${(bright * 100).toFixed(1)} % of the band`);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a host page\'s sweeping styles and right-to-left direction stop at the banner', async () => {
  const context = await browser.newContext({ bypassCSP: true });
  const page = await open(context, `${shopBase}/page?html=en&dir=rtl&hostile=1`);
  await shown(page);
  await page.click('#seula-consent-choose');
  const look = (sel) => page.$eval(sel, (e) => {
    const c = getComputedStyle(e);
    return { transform: c.textTransform, spacing: c.letterSpacing, words: c.wordSpacing,
      style: c.fontStyle, indent: c.textIndent, display: c.display, direction: c.direction,
      float: c.cssFloat, visible: e.getBoundingClientRect().width > 0 };
  });
  for (const sel of ['#seula-consent', '#seula-consent-title', '#seula-consent-description',
    '#seula-consent-save', '#seula-consent-analytics']) {
    const l = await look(sel);
    assert.deepEqual([l.transform, l.spacing, l.words, l.style, l.indent, l.direction, l.float],
      ['none', 'normal', '0px', 'normal', '0px', 'ltr', 'none'], sel);
    assert.ok(l.visible && l.display !== 'none', `${sel} shows`);
  }
  // The checkboxes work as ever.
  await page.click('#seula-consent-analytics');
  assert.equal(await page.isChecked('#seula-consent-analytics'), true);
  await page.click('#seula-consent-save');
  await gone(page);
  // The reopen button where it always is, in the left corner.
  const reopen = await look('#seula-consent-reopen');
  assert.deepEqual([reopen.transform, reopen.spacing, reopen.direction], ['none', 'normal', 'ltr']);
  const x = await page.$eval('#seula-consent-reopen', (e) => e.getBoundingClientRect().left);
  assert.ok(x < 40, `at the left: ${x}`);
  // axe has nothing against it either.
  await page.click('#seula-consent-reopen');
  await shown(page);
  const r = await axeRun(page, '#seula-consent');
  assert.deepEqual(r.violations, []);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the receipt page: an id in capitals, a late answer for an earlier id, a page that is no record', async () => {
  const receipts = [];
  for (const button of ['#seula-consent-accept-all', '#seula-consent-reject-all']) {
    const c = await browser.newContext();
    const p = await open(c, `${base}/demo/`);
    await shown(p);
    await choose(p, button);
    receipts.push(parseConsent((await cookies(c)).seula_consent.value).receipt);
    await c.close();
  }
  const [first, second] = receipts;
  const context = await browser.newContext();
  const page = await open(context, `${base}/consent/receipt/#${first.toUpperCase()}`);
  await page.waitForSelector('#record:not([hidden])');
  assert.equal(await page.textContent('#receipt'), first, 'read off paper in capitals, found');
  assert.equal(await page.textContent('#method'), 'Accept all');
  // The first receipt's answer held back until the second's is shown.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route(`**/api/consent/${first}`, async (route) => { await held; await route.continue(); });
  await page.evaluate((id) => { location.hash = id; }, first);
  await page.evaluate((id) => { location.hash = id; }, second);
  await page.waitForFunction((id) => document.querySelector('#receipt').textContent === id
    && !document.querySelector('#record').hidden, second);
  release();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await page.textContent('#receipt'), second, 'the late answer is not shown');
  assert.equal(await page.textContent('#method'), 'Reject all');
  await page.unroute(`**/api/consent/${first}`);
  // A captive portal's page in the answer's place: said, not left loading.
  await page.route(`**/api/consent/${first}`, (route) => route.fulfill({
    status: 200, contentType: 'text/html', body: '<html><body>Sign in to the Wi-Fi</body></html>' }));
  await page.evaluate((id) => { location.hash = id; }, first);
  await page.waitForFunction(() => /could not be loaded/.test(document.querySelector('#status').textContent));
  assert.equal(await page.isHidden('#record'), true);
  // And a JSON answer that is another record's.
  await page.unroute(`**/api/consent/${first}`);
  await page.route(`**/api/consent/${first}`, (route) => route.fulfill({
    status: 200, contentType: 'application/json', body: JSON.stringify({ receipt: second }) }));
  await page.evaluate(() => { location.hash = ''; });
  await page.evaluate((id) => { location.hash = id; }, first);
  await page.waitForFunction(() => /could not be loaded/.test(document.querySelector('#status').textContent));
  assert.equal(await page.isHidden('#record'), true);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('on a phone the receipt\'s ids are each on one line, and the page does not scroll sideways', async () => {
  const made = await browser.newContext();
  const p = await open(made, `${base}/demo/`);
  await shown(p);
  await choose(p, '#seula-consent-accept-all');
  const { receipt } = parseConsent((await cookies(made)).seula_consent.value);
  await made.close();
  for (const width of [320, 360, 412]) {
    const context = await browser.newContext({ viewport: { width, height: 800 }, isMobile: true });
    const page = await open(context, `${base}/consent/receipt/#${receipt}`);
    await page.waitForSelector('#record:not([hidden])');
    for (const id of ['#receipt', '#visitor']) {
      const lines = await page.$eval(id, (e) => new Set([...e.getClientRects()].map((r) => Math.round(r.top))).size);
      assert.equal(lines, 1, `${id} on one line at ${width} px`);
    }
    const wide = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
    assert.ok(wide <= 0, `no sideways scroll at ${width} px (${wide} px over)`);
    assert.deepEqual(page.errors, []);
    await context.close();
  }
});

// ---- 4. Global Privacy Control ---------------------------------------------------

test('Global Privacy Control: marketing off and locked, one gpc record, accept all keeps marketing denied', async () => {
  const context = await browser.newContext({ extraHTTPHeaders: { 'Sec-GPC': '1' } });
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true });
  });
  const gpcBefore = count("method = 'gpc'");
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  const cfg = await (await fetch(`${base}/api/consent/config?site=demo&lang=en`, { headers: { 'Sec-GPC': '1' } })).json();
  assert.equal(cfg.gpc, true, 'the server saw Sec-GPC');
  assert.equal(await page.textContent('#seula-consent-gpc'), cfg.texts.gpc_note);

  // One record, made by GPC: everything denied, and not a choice.
  await waitFor('the gpc record', () => count("method = 'gpc'") === gpcBefore + 1);
  const stored = await waitFor('the gpc state in the cookie', async () => {
    const c = (await cookies(context)).seula_consent;
    return c && parseConsent(c.value);
  });
  assert.equal(stored.method, 'gpc');
  assert.deepEqual(stored.granted, []);
  const gpcRec = (await consentRecord(stored.receipt)).api;
  assert.deepEqual(decisionsOf(gpcRec), { analytics: false, marketing: false, personalization: false });
  assert.equal(await page.evaluate(() => seulaConsent.get()), null, 'GPC is not a choice');
  assert.equal((await cookies(context)).seula_vid, undefined);

  // Still asked: analytics and personalization can be chosen, marketing not.
  await page.click('#seula-consent-choose');
  assert.equal(await page.isDisabled('#seula-consent-marketing'), true);
  assert.equal(await page.isChecked('#seula-consent-marketing'), false);
  assert.match(await page.getAttribute('#seula-consent-marketing', 'aria-describedby'), /seula-consent-gpc/);
  assert.equal(await page.isEnabled('#seula-consent-analytics'), true);
  assert.equal(await page.isEnabled('#seula-consent-personalization'), true);

  // The next page shows the banner again, but GPC records nothing more.
  await page.reload();
  await shown(page);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(count("method = 'gpc'"), gpcBefore + 1, 'one gpc record per visitor');

  // The server's answer to each choice, to name it when it refuses one.
  const answers = [];
  page.on('response', async (r) => {
    if (new URL(r.url()).pathname === '/api/consent')
      answers.push(`${r.status()} ${await r.text().catch(() => '')}`);
  });
  async function recorded(button, method) {
    const n = answers.length;
    await page.click(button);
    await waitFor(`the answer to ${method}`, () => answers.length > n);
    assert.match(answers[n], /^201 /, `${method} under GPC is recorded (POST /api/consent answered ${answers[n]})`);
    await gone(page);
    const stored = parseConsent((await cookies(context)).seula_consent.value);
    assert.equal(stored.method, method);
    assert.deepEqual(stored.granted.sort(), ['analytics', 'personalization']);
    const { api, row } = await consentRecord(stored.receipt);
    for (const rec of [api, row])
      assert.deepEqual(decisionsOf(rec), { analytics: true, marketing: false, personalization: true });
    assert.equal(api.signals.gpc, true, 'the record keeps the signal');
    const calls = await gcmCalls(page);
    assert.deepEqual(calls.at(-1), ['update', gcmExpected(cfg, { analytics: true, personalization: true })]);
    assert.equal(calls.at(-1)[1].ad_storage, 'denied');
  }

  // Everything the visitor can tick, saved.
  await page.click('#seula-consent-choose');
  await page.check('#seula-consent-analytics');
  await page.check('#seula-consent-personalization');
  await recorded('#seula-consent-save', 'custom');
  // Reopened: marketing still locked; Accept all keeps it denied.
  await page.click('#seula-consent-reopen');
  await shown(page);
  assert.equal(await page.isDisabled('#seula-consent-marketing'), true);
  assert.equal(await page.isChecked('#seula-consent-marketing'), false);
  await recorded('#seula-consent-accept-all', 'accept_all');
  assert.equal(await page.evaluate(() => window.seulaDemoMarketing), undefined, 'no marketing script');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('Do Not Track under dnt = objection: marketing locked, and the banner says why, in each language', async () => {
  const shipped = JSON.parse(readFileSync(path.join(ROOT, 'core', 'consent_texts.json'), 'utf8'));
  const context = await browser.newContext({ extraHTTPHeaders: { DNT: '1' }, bypassCSP: true });
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1', configurable: true });
  });
  for (const lang of ['fi', 'sv', 'en']) {
    const page = await open(context, `${shopBase}/page?html=${lang}`);
    await shown(page);
    assert.equal((await config(lang)).dnt, 'objection');
    assert.equal(await page.$('#seula-consent-gpc'), null, 'no GPC here');
    assert.ok(await page.$('#seula-consent-dnt'), `${lang}: a note says why marketing is off`);
    const note = await page.textContent('#seula-consent-dnt');
    assert.equal(note, shipped[lang].dnt_note, `${lang}: the note`);
    assert.ok(await page.isVisible('#seula-consent-dnt'), `${lang}: shown on the first layer`);
    await page.click('#seula-consent-choose');
    assert.equal(await page.isDisabled('#seula-consent-marketing'), true);
    // The disabled box is described by its purpose and by the reason.
    const described = await page.evaluate(() => document.getElementById('seula-consent-marketing')
      .getAttribute('aria-describedby').split(' ').map((id) => document.getElementById(id)?.textContent));
    assert.equal(described.length, 2);
    assert.equal(described[1], note, `${lang}: aria-describedby names the note`);
    await axe(page, '#seula-consent');
    assert.deepEqual(page.errors, []);
    await page.close();
  }
  await context.close();
});

// ---- 5. three languages, looked at ---------------------------------------------------

// Decodes a PNG in the browser and measures it: size, and how much it varies;
// with `band`, the share of light pixels in the outer band that wide.
async function measure(page, png, band = 0) {
  return page.evaluate(async ([b64, pad]) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    const { data } = g.getImageData(0, 0, img.width, img.height);
    let sum = 0, sq = 0, dark = 0, outer = 0, light = 0;
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4) {
      const y = 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
      sum += y;
      sq += y * y;
      if (y < 128) dark++;
      colours.add((data[i] >> 4) << 8 | (data[i + 1] >> 4) << 4 | data[i + 2] >> 4);
      const px = (i / 4) % img.width, py = Math.floor(i / 4 / img.width);
      if (pad && (px < pad || px >= img.width - pad || py < pad || py >= img.height - pad)) {
        outer++;
        if (y > 160) light++;
      }
    }
    const n = data.length / 4, mean = sum / n;
    return { width: img.width, height: img.height, stddev: Math.sqrt(sq / n - mean * mean),
      darkShare: dark / n, colours: colours.size, bandLight: outer ? light / outer : 0 };
  }, [png.toString('base64'), band]);
}

test('the banner in Finnish, Swedish and English, as the page and the browser ask; screenshots looked at', async () => {
  mkdirSync(OUTPUT, { recursive: true });
  const cases = [
    { lang: 'fi', url: '/page?html=fi', locale: 'en-US', why: '<html lang="fi">' },
    { lang: 'sv', url: '/page', locale: 'sv-SE', why: "the browser's language" },
    { lang: 'en', url: '/page?html=fi&data=en', locale: 'sv-SE', why: 'data-lang over <html lang>' },
    { lang: 'sv', url: '/page?html=de', locale: 'de-DE', languages: ['de-DE', 'sv-FI', 'en'],
      why: "the first of the browser's languages the server has" },
  ];
  const seen = {};
  for (const c of cases) {
    const context = await browser.newContext({ locale: c.locale, viewport: { width: 1000, height: 700 } });
    if (c.languages)
      await context.addInitScript((l) => Object.defineProperty(Navigator.prototype, 'languages', { get: () => l }), c.languages);
    const page = await open(context, `${shopBase}${c.url}`);
    await shown(page);
    const cfg = await config(c.lang);
    assert.equal(cfg.language, c.lang);
    const title = await page.textContent('#seula-consent-title');
    assert.equal(title, cfg.texts.title, `${c.lang} (${c.why})`);
    assert.equal(await page.getAttribute('#seula-consent', 'lang'), c.lang);
    assert.deepEqual(await Promise.all(FIRST_LAYER.map((id) => page.textContent(`#${id}`))),
      [cfg.texts.accept_all, cfg.texts.reject_all, cfg.texts.choose]);
    assert.equal(await page.textContent('#seula-consent-description'), cfg.texts.description);
    assert.equal(await page.getAttribute('#seula-consent-privacy', 'href'), new URL(cfg.privacy_url, base).href,
      "the server's privacy statement, in the banner's language");
    if (seen[c.lang]) {
      await context.close();
      continue;
    }
    seen[c.lang] = { title, description: cfg.texts.description };

    // Visible, at the bottom, within the window, not covering the page.
    const box = await page.locator('#seula-consent').boundingBox();
    assert.ok(box.width > 300 && box.height > 100, `banner ${JSON.stringify(box)}`);
    assert.ok(box.y >= 0 && Math.abs(box.y + box.height - 700) < 2, 'at the bottom of the window');
    assert.ok(box.height < 700 * 0.6, 'the page above stays visible');
    const shot = path.join(OUTPUT, `consent-banner-${c.lang}.png`);
    const png = await page.locator('#seula-consent').screenshot({ path: shot });
    await page.screenshot({ path: path.join(OUTPUT, `consent-page-${c.lang}.png`) });
    await page.click('#seula-consent-choose');
    const choosePng = await page.locator('#seula-consent').screenshot({
      path: path.join(OUTPUT, `consent-choose-${c.lang}.png`) });
    console.log(`screenshots: ${shot} and the page, the Choose layer`);
    // Saved as it stands (nothing ticked): the receipt reads in the
    // language of the choice, by the words of that banner.
    if (c.lang === 'fi') {
      await choose(page, '#seula-consent-save');
      const { receipt } = parseConsent((await cookies(context)).seula_consent.value);
      const r = await open(context, `${base}/consent/receipt/#${receipt}`);
      await r.waitForSelector('#record:not([hidden])');
      assert.equal(await r.getAttribute('html', 'lang'), 'fi');
      assert.equal(await r.textContent('h1'), cfg.texts.receipt);
      assert.equal(await r.textContent('#method'), cfg.texts.save);
      assert.deepEqual(await r.$$eval('#choices td', (tds) => tds.map((td) => td.textContent)),
        [cfg.texts.always_on, 'Kielletty', 'Kielletty', 'Kielletty']);
      await r.screenshot({ path: path.join(OUTPUT, 'consent-receipt-fi.png'), fullPage: true });
    }

    const blank = await context.newPage();
    const m = await measure(blank, png);
    assert.ok(Math.abs(m.width - box.width) <= 1 && Math.abs(m.height - box.height) <= 1,
      `the PNG (${m.width}×${m.height}) is the banner`);
    assert.ok(png.length > 5000, `a PNG of ${png.length} bytes`);
    assert.ok(m.stddev > 25, `the banner is not blank (luminance stddev ${m.stddev.toFixed(1)})`);
    assert.ok(m.darkShare > 0.05 && m.darkShare < 0.6, `text and buttons: ${(m.darkShare * 100).toFixed(1)} % dark`);
    assert.ok(m.colours > 20, `${m.colours} colours`);
    const mc = await measure(blank, choosePng);
    assert.ok(mc.height > m.height + 100, 'the Choose layer shows the categories');
    assert.ok(mc.stddev > 25);
    await context.close();
  }
  const titles = Object.values(seen).map((s) => s.title);
  assert.equal(new Set(titles).size, 3, `the three texts differ: ${titles.join(' | ')}`);
  assert.equal(new Set(Object.values(seen).map((s) => s.description)).size, 3);
});

// What Accept all agrees to, on the first layer (EDPB 05/2020, the CNIL):
// each purpose in a line, and who asks, without a taller banner on a phone.
test('the first layer names each purpose in a line and the controller; its answers stay in view on a phone', async () => {
  const cfg = await config('en');
  const firstSentence = (t) => (/^[\s\S]*?[.!?](?=\s+[A-Z])/.exec(t) || [t])[0];
  const expected = cfg.categories.filter((c) => c !== 'necessary').map((id) => {
    const info = cfg.texts.categories.find((c) => c.id === id);
    return `${info.name} – ${firstSentence(info.purpose)}`;
  });
  assert.equal(expected.length, 3);
  assert.match(expected[1], /^Marketing – [^.]+\.$/, 'one sentence');
  // That visits are counted until a choice and refusing stops it (the
  // example site counts without consent): a line of its own.
  const texts = JSON.parse(readFileSync(path.join(ROOT, 'core', 'consent_texts.json'), 'utf8'));
  const counting = (lang) => texts[lang].analytics_without_consent;
  assert.ok(cfg.texts.categories.find((c) => c.id === 'analytics').purpose.endsWith(` ${counting('en')}`));
  // The buttons, each whole within the window and the banner's visible box.
  const answers = (page) => page.evaluate((ids) => {
    const root = document.getElementById('seula-consent').getBoundingClientRect();
    return ids.map((id) => {
      const r = document.getElementById(id).getBoundingClientRect();
      return r.height > 0 && r.top >= root.top && r.bottom <= Math.min(root.bottom, innerHeight) + 0.5;
    });
  }, FIRST_LAYER);

  for (const viewport of [{ width: 360, height: 640 }, { width: 1280, height: 720 }]) {
    const where = `at ${viewport.width}x${viewport.height}`;
    const context = await browser.newContext({ viewport });
    const page = await open(context, `${base}/demo/`);
    await shown(page);
    assert.deepEqual(await page.$$eval('#seula-consent-summary li', (li) => li.map((e) => e.textContent)), expected, where);
    assert.equal(await page.textContent('#seula-consent-counting'), counting('en'), where);
    assert.equal(await page.isVisible('#seula-consent-counting'), true, where);
    assert.ok(await page.evaluate(() => document.getElementById('seula-consent-counting').getBoundingClientRect().bottom <=
      document.querySelector('#seula-consent .seula-consent__buttons').getBoundingClientRect().top + 0.5),
    `the line whole above the answers ${where}`);
    assert.deepEqual(await answers(page), [true, true, true], `the three answers in view ${where}`);
    const height = (await page.locator('#seula-consent').boundingBox()).height;
    assert.ok(height <= viewport.height * 0.75, `the banner ${height}px high ${where}`);
    // Choose has the purposes whole: the lines go.
    await page.click('#seula-consent-choose');
    assert.equal(await page.isHidden('#seula-consent-summary'), true);
    assert.equal(await page.isHidden('#seula-consent-counting'), true);
    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible('#seula-consent-summary'), true);
    assert.equal(await page.isVisible('#seula-consent-counting'), true);
    await context.close();
  }

  // A signal's note too on a phone: the text scrolls, the answers stay.
  const gpc = await browser.newContext({ viewport: { width: 360, height: 640 }, extraHTTPHeaders: { 'Sec-GPC': '1' } });
  let page = await open(gpc, `${shopBase}/page?html=fi`);
  await shown(page);
  assert.ok(await page.$('#seula-consent-gpc'));
  assert.equal(await page.textContent('#seula-consent-counting'), counting('fi'));
  assert.deepEqual(await answers(page), [true, true, true], 'the three answers in view under GPC, in Finnish');
  // Tabbed to, the privacy link is scrolled clear of them.
  await page.keyboard.press('Tab');
  assert.equal(await focused(page), 'seula-consent-privacy');
  const clear = await page.evaluate(() => document.getElementById('seula-consent-privacy').getBoundingClientRect().bottom <=
    document.querySelector('#seula-consent .seula-consent__buttons').getBoundingClientRect().top + 0.5);
  assert.ok(clear, 'the focused link is not under the answers');
  await gpc.close();

  // The controller, [controller] name of the config, in the server's
  // texts (so in their hash) and beside the privacy statement's link.
  const context = await browser.newContext();
  page = await open(context, `${base}/demo/`);
  await shown(page);
  const served = await page.evaluate(async () =>
    (await (await fetch('/api/consent/config?site=demo&lang=en')).json()).texts);
  assert.equal(served.controller, 'Tuisku Oy (imaginary)');
  assert.equal(served.controller_label, 'Data controller');
  assert.equal(served.analytics_without_consent, counting('en'), 'the note apart');
  assert.equal(await page.textContent('#seula-consent-controller'), 'Data controller: Tuisku Oy (imaginary)');
  await axe(page, '#seula-consent');
  await context.close();
  // Texts without one: nothing in its place.
  const plain = await browser.newContext();
  await plain.route('**/api/consent/config*', async (route) => {
    const r = await route.fetch();
    const body = await r.json();
    delete body.texts.controller;
    // And a statistics purpose of one sentence, as a site that does not
    // count without consent (without_consent = drop) has it.
    const stats = body.texts.categories.find((c) => c.id === 'analytics');
    stats.purpose = stats.purpose.slice(0, -counting('en').length - 1);
    delete body.texts.analytics_without_consent;
    await route.fulfill({ response: r, json: body });
  });
  page = await open(plain, `${base}/demo/`);
  await shown(page);
  assert.equal(await page.$('#seula-consent-controller'), null);
  assert.equal(await page.$('#seula-consent-counting'), null, 'no line when visits are not counted');
  assert.deepEqual(page.errors, []);
  await plain.close();
});

// ---- 6. axe-core ---------------------------------------------------------------------

async function axe(page, selector, minPasses = 10) {
  const r = await axeRun(page, selector);
  assert.deepEqual(r.violations, [], `axe on ${selector}`);
  assert.ok(r.passes >= minPasses, `axe ran ${r.passes} passing rules`);
  return r;
}

test('axe-core finds no WCAG 2.1 A or AA violation in any state of the banner', async () => {
  // bypassCSP: axe is injected as an inline script; the demo allows none.
  for (const gpc of [false, true]) {
    const context = await browser.newContext({ bypassCSP: true,
      extraHTTPHeaders: gpc ? { 'Sec-GPC': '1' } : {} });
    const page = await open(context, `${base}/demo/`);
    await shown(page);
    await axe(page, '#seula-consent');                       // the first layer
    await page.click('#seula-consent-choose');
    await page.check('#seula-consent-analytics');
    await axe(page, '#seula-consent');                       // the Choose layer
    if (!gpc) {
      await choose(page, '#seula-consent-save');
      await axe(page, '#seula-consent-reopen', 3);           // the reopen button
      await page.click('#seula-consent-reopen');
      await shown(page);
      await axe(page, '#seula-consent');                     // reopened: withdraw, receipt, close
    }
    assert.deepEqual(page.errors, []);
    await context.close();
  }
});

// ---- 7. the keyboard, and no dark pattern ------------------------------------------------

test('keyboard: focus in the banner, Tab through the three buttons, Enter and Space; the buttons look alike', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  let page = await open(context, `${base}/demo/`);
  await shown(page);
  assert.equal(await focused(page), 'seula-consent', 'the focus moves into the banner');
  assert.equal(await page.evaluate(() => document.body.firstElementChild.id), 'seula-consent',
    'first in the keyboard order');
  const dialog = await page.evaluate(() => {
    const r = document.getElementById('seula-consent');
    const name = (a) => document.getElementById(r.getAttribute(a)).textContent;
    return { role: r.getAttribute('role'), label: name('aria-labelledby'), description: name('aria-describedby'),
      modal: r.getAttribute('aria-modal') };
  });
  const cfg = await config('en');
  assert.deepEqual(dialog, { role: 'dialog', label: cfg.texts.title, description: cfg.texts.description, modal: 'false' });

  // Tab: the privacy link, then the three choices in order.
  const order = [];
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    order.push(await focused(page));
  }
  assert.deepEqual(order, ['seula-consent-privacy', ...FIRST_LAYER]);
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  assert.ok(ring.style !== 'none' && ring.width >= 2, `a visible focus outline: ${JSON.stringify(ring)}`);

  // The three look alike: same size, weight, colours and border.
  const looks = await page.evaluate((ids) => ids.map((id) => {
    const e = document.getElementById(id), s = getComputedStyle(e), r = e.getBoundingClientRect();
    return { fontSize: s.fontSize, fontWeight: s.fontWeight, fontFamily: s.fontFamily, color: s.color,
      background: s.backgroundColor, border: `${s.borderTopWidth} ${s.borderTopStyle} ${s.borderTopColor}`,
      radius: s.borderTopLeftRadius, padding: s.padding, width: Math.round(r.width), height: Math.round(r.height) };
  }), FIRST_LAYER);
  assert.deepEqual(looks[1], looks[0]);
  assert.deepEqual(looks[2], looks[0]);

  // Enter on Choose opens the layer, nothing ticked; Space ticks; Escape folds it.
  await page.keyboard.press('Enter');
  assert.equal(await page.isVisible('#seula-consent-details'), true);
  assert.equal(await focused(page), 'seula-consent-analytics');
  for (const c of CATEGORIES) assert.equal(await page.isChecked(`#seula-consent-${c}`), false, `${c} is not pre-ticked`);
  await page.keyboard.press('Space');
  assert.equal(await page.isChecked('#seula-consent-analytics'), true);
  await page.keyboard.press('Escape');
  assert.equal(await page.isVisible('#seula-consent-details'), false);
  assert.equal(await focused(page), 'seula-consent-choose');
  assert.ok(await page.isVisible('#seula-consent'), 'Escape does not close the banner: no choice was made');
  assert.deepEqual(await context.cookies(), []);

  // Space on Reject all.
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(page), 'seula-consent-reject-all');
  await page.keyboard.press('Space');
  await gone(page);
  assert.equal(parseConsent((await cookies(context)).seula_consent.value).method, 'reject_all');
  // The focus goes to the button that brings the banner back, not to <body>.
  assert.equal(await focused(page), 'seula-consent-reopen', 'the focus after an answer');
  assert.equal(await page.evaluate(() => document.activeElement.matches(':focus-visible')), true);
  await context.close();

  // Enter on Accept all, in a new visit.
  const second = await browser.newContext();
  page = await open(second, `${base}/demo/`);
  await shown(page);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await focused(page), 'seula-consent-accept-all');
  await page.keyboard.press('Enter');
  await gone(page);
  assert.equal(parseConsent((await cookies(second)).seula_consent.value).method, 'accept_all');
  assert.equal(await focused(page), 'seula-consent-reopen', 'the focus after an answer');
  // The reopen button by keyboard; the choice by the Choose layer's Save.
  await page.focus('#seula-consent-reopen');
  await page.keyboard.press('Enter');
  await shown(page);
  await page.focus('#seula-consent-marketing');
  await page.keyboard.press('Space');
  await page.focus('#seula-consent-save');
  await page.keyboard.press('Enter');
  await gone(page);
  assert.equal(await focused(page), 'seula-consent-reopen');
  const stored = parseConsent((await cookies(second)).seula_consent.value);
  assert.equal(stored.method, 'custom');
  assert.deepEqual(stored.granted.sort(), ['analytics', 'personalization']);
  assert.equal((await consentRecord(stored.receipt)).api.source, 'preference_link');
  assert.deepEqual(page.errors, []);
  await second.close();
});

// WCAG 2.2, 2.4.11 (focus not obscured): the banner is not modal, so the
// page behind it is in the keyboard order; none of it may be hidden under
// the banner when focused, and the end of the page must scroll into view.
test('the banner keeps room at the end of the page: no tab stop hidden under it, the footer reachable', async () => {
  for (const viewport of [{ width: 1280, height: 720 }, { width: 360, height: 640 }]) {
    const context = await browser.newContext({ viewport });
    const page = await open(context, `${base}/demo/`);
    await shown(page);
    const padding = await page.evaluate(() => getComputedStyle(document.body).paddingBottom);
    // Kept to the banner's height as it changes: the Choose layer opened, folded.
    const fits = () => Math.abs(parseFloat(getComputedStyle(document.body).paddingBottom) -
      Math.ceil(document.getElementById('seula-consent').getBoundingClientRect().height)) < 1;
    assert.ok(await page.evaluate(fits), `the padding, ${padding}, is the banner's height`);
    await page.click('#seula-consent-choose');
    await page.waitForFunction(fits);
    assert.notEqual(await page.evaluate(() => getComputedStyle(document.body).paddingBottom), padding);
    await page.keyboard.press('Escape');
    await page.waitForFunction(fits);
    // Tab from the banner through the page, to its last tab stop.
    const hidden = [];
    let last = null;
    for (let i = 0; i < 40 && !last; i++) {
      await page.keyboard.press('Tab');
      const at = await page.evaluate(() => {
        const e = document.activeElement, banner = document.getElementById('seula-consent');
        if (!e || banner.contains(e)) return null;
        const r = e.getBoundingClientRect(), top = banner.getBoundingClientRect().top;
        return { what: e.id || `${e.tagName} ${e.textContent.trim().slice(0, 30)}`, top: r.top, bottom: r.bottom,
          bannerTop: top, last: e.matches('footer [data-seula-consent-open]') };
      });
      if (!at) continue;
      if (at.top >= at.bannerTop - 1) hidden.push(at.what);
      if (at.last) last = at;
    }
    const where = `at ${viewport.width}x${viewport.height}`;
    assert.ok(last, `the footer's Cookie settings link reached by Tab ${where}`);
    assert.deepEqual(hidden, [], `no tab stop hidden under the banner ${where}`);
    assert.ok(last.bottom <= last.bannerTop + 1, `the last tab stop clear of the banner ${where}: ${JSON.stringify(last)}`);
    // The end of the page scrolls into view above the banner.
    const end = await page.evaluate(() => {
      window.scrollTo(0, document.documentElement.scrollHeight);
      return { footer: document.querySelector('footer').getBoundingClientRect().bottom,
        banner: document.getElementById('seula-consent').getBoundingClientRect().top };
    });
    assert.ok(end.footer <= end.banner + 1, `the footer scrolls clear of the banner ${where}: ${JSON.stringify(end)}`);
    // Closed: the page's own styles back.
    await page.focus('#seula-consent-reject-all');
    await choose(page, '#seula-consent-reject-all');
    assert.deepEqual(await page.evaluate(() => [document.body.style.cssText,
      document.documentElement.style.cssText]), ['', '']);
    assert.notEqual(await page.evaluate(() => getComputedStyle(document.body).paddingBottom), padding);
    assert.deepEqual(page.errors, []);
    await context.close();
  }
});

// ---- 8. every cookie is declared -------------------------------------------------------

test('every cookie set after accept all is in the privacy statement and in the banner\'s cookie table', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-accept-all');
  await page.click('nav >> text=Pricing'); // the tracker at work too
  const names = (await context.cookies()).map((c) => c.name).sort();
  assert.deepEqual(names, ['seula_consent', 'seula_vid']);

  const r = await fetch(`${base}/privacy?lang=en`);
  assert.equal(r.status, 200);
  const statement = await r.text();
  for (const n of names) assert.ok(statement.includes(n), `/privacy?lang=en names ${n}`);

  await page.click('#seula-consent-reopen');
  await shown(page);
  const table = await page.$$eval('.seula-consent__cookie-name', (els) => els.map((e) => e.textContent));
  for (const n of names) assert.ok(table.includes(n), `the banner lists ${n}: ${table}`);
  // seula_consent is the necessary category's cookie; seula_vid analytics'.
  assert.ok(await page.$('.seula-consent__category--necessary .seula-consent__cookie-name >> text=seula_consent'));
  assert.ok(await page.$('.seula-consent__category--analytics .seula-consent__cookie-name >> text=seula_vid'));
  await context.close();
});

// ---- 9. waiting scripts, the API, Google Consent Mode -------------------------------------

test('scripts wait for their category; seulaConsent.on fires; Consent Mode default then an update per choice', async () => {
  const cfg = await config('en');
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  const calls = await gcmCalls(page);
  assert.deepEqual(calls, [['default', { ...Object.fromEntries(GCM_TYPES.map((t) => [t, 'denied'])), wait_for_update: 500 }]],
    'the first consent entry: every type denied');
  assert.equal(await page.evaluate(() => Object.prototype.toString.call(window.dataLayer[0])),
    '[object Arguments]', 'pushed the way gtag() pushes');
  assert.equal(await page.getAttribute('script[data-seula-category="marketing"]', 'type'), 'text/plain');
  await page.evaluate(() => {
    window.changes = [];
    window.events = [];
    window.listener = (s) => window.changes.push(s);
    seulaConsent.on('change', window.listener);
    window.addEventListener('seula:consent', (e) => window.events.push(e.detail));
  });

  // Analytics only: no marketing script.
  await page.click('#seula-consent-choose');
  await page.check('#seula-consent-analytics');
  await choose(page, '#seula-consent-save');
  assert.equal(await page.evaluate(() => window.seulaDemoMarketing), undefined);
  let state = await page.evaluate(() => ({ changes: window.changes, events: window.events }));
  assert.equal(state.changes.length, 1);
  assert.equal(state.changes[0].analytics, true);
  assert.equal(state.changes[0].marketing, false);
  assert.equal(state.changes[0].method, 'custom');
  // create_id: false tells the tracker the id is the banner's to make.
  assert.deepEqual(state.events, [{ necessary: true, analytics: true, marketing: false,
    personalization: false, create_id: false, objection: false }]);
  let gcm = await gcmCalls(page);
  assert.deepEqual(gcm.at(-1), ['update', gcmExpected(cfg, { analytics: true })]);
  assert.equal(gcm.at(-1)[1].security_storage, 'granted', 'necessary is granted with any choice');
  assert.equal(gcm.at(-1)[1].ad_storage, 'denied');

  // Marketing too: the script runs, once.
  await page.click('#seula-consent-reopen');
  await page.check('#seula-consent-marketing');
  await choose(page, '#seula-consent-save');
  await page.waitForFunction(() => window.seulaDemoMarketing === 1);
  assert.equal(await page.textContent('#marketing-status'), 'ran: marketing was allowed');
  gcm = await gcmCalls(page);
  assert.deepEqual(gcm.at(-1), ['update', gcmExpected(cfg, { analytics: true, marketing: true })]);
  await page.click('#seula-consent-reopen');
  await choose(page, '#seula-consent-accept-all');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await page.evaluate(() => window.seulaDemoMarketing), 1, 'activated once');
  state = await page.evaluate(() => window.changes.map((c) => c.method));
  assert.deepEqual(state, ['custom', 'custom', 'accept_all']);

  // off(): no more calls; reject all: every type but security_storage denied.
  await page.evaluate(() => seulaConsent.off('change', window.listener));
  await page.click('#seula-consent-reopen');
  await choose(page, '#seula-consent-reject-all');
  assert.equal(await page.evaluate(() => window.changes.length), 3);
  gcm = await gcmCalls(page);
  assert.deepEqual(gcm.at(-1), ['update', gcmExpected(cfg, {})]);
  assert.equal(gcm.filter(([k]) => k === 'update').length, 4, 'one update per choice');
  assert.equal(gcm.filter(([k]) => k === 'default').length, 1);

  // A stored grant activates on the next page by itself.
  await page.click('#seula-consent-reopen');
  await page.check('#seula-consent-marketing');
  await choose(page, '#seula-consent-save');
  await page.reload();
  await page.waitForFunction(() => window.seulaDemoMarketing === 1);
  assert.deepEqual((await gcmCalls(page))[1], ['update', gcmExpected(cfg, { marketing: true })]);
  assert.deepEqual(page.errors, []);
  await context.close();

  // Inline scripts, attributes copied; a script needing two categories.
  const shopContext = await browser.newContext();
  const shopPage = await open(shopContext, `${shopBase}/page?html=en`);
  await shown(shopPage);
  await shopPage.click('#seula-consent-choose');
  await shopPage.check('#seula-consent-analytics');
  await choose(shopPage, '#seula-consent-save');
  await shopPage.waitForFunction(() => window.inlineAnalytics === 1);
  assert.equal(await shopPage.evaluate(() => window.inlineAttr), 'copied');
  assert.equal(await shopPage.evaluate(() => window.both), undefined, 'needs marketing too');
  await shopPage.click('#seula-consent-reopen');
  await choose(shopPage, '#seula-consent-accept-all');
  await shopPage.waitForFunction(() => window.both === true);
  assert.equal(await shopPage.evaluate(() => window.inlineAnalytics), 1);
  assert.deepEqual(shopPage.errors, []);
  await shopContext.close();
});

// ---- stale policies, an unreachable server --------------------------------------------

test('a choice under an older policy is asked again; a 409 stale_policy shows the banner again', async () => {
  const cfg = await config('en');
  const context = await browser.newContext();
  // A grant under a policy that is no longer current, and its visitor id.
  const old = '00000000-0000-4000-8000-000000000001';
  const url = new URL(base);
  await context.addCookies([
    { name: 'seula_consent', value: `1|${old}|1999-01-01|analytics|accept_all|${Math.floor(Date.now() / 1000) + 86400}|dddgddg`,
      domain: url.hostname, path: '/' },
    { name: 'seula_vid', value: '11111111-1111-4111-8111-111111111111', domain: url.hostname, path: '/' },
  ]);
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  assert.equal(await page.evaluate(() => seulaConsent.get()), null, 'no valid choice');
  assert.deepEqual(await context.cookies(), [], 'the old choice and its id are gone');
  const gcm = await gcmCalls(page);
  assert.deepEqual(gcm.at(-1), ['update', Object.fromEntries(GCM_TYPES.map((t) => [t, 'denied']))]);
  await choose(page, '#seula-consent-reject-all');
  const stored = parseConsent((await cookies(context)).seula_consent.value);
  assert.equal(stored.policy, cfg.policy_version);
  assert.equal((await consentRecord(stored.receipt)).api.visitor_id, '11111111-1111-4111-8111-111111111111',
    'the refusal names the id it stops');
  await context.close();

  // The banner shown with texts that are no longer current: the server
  // answers 409, the banner asks again with the current ones.
  const ctx2 = await browser.newContext();
  const page2 = await ctx2.newPage();
  page2.errors = [];
  page2.on('pageerror', (e) => page2.errors.push(String(e)));
  let served = 0;
  await page2.route('**/api/consent/config*', async (route) => {
    if (served++) return route.continue();
    const r = await route.fetch();
    const body = await r.json();
    body.texts_hash = '0'.repeat(64);
    await route.fulfill({ response: r, json: body });
  });
  const statuses = [];
  page2.on('response', (r) => { if (new URL(r.url()).pathname === '/api/consent') statuses.push(r.status()); });
  await page2.goto(`${base}/demo/`);
  await shown(page2);
  await page2.click('#seula-consent-accept-all');
  await waitFor('the 409', () => statuses.includes(409));
  await waitFor('the config fetched again', () => served >= 2);
  await shown(page2);
  assert.deepEqual(await ctx2.cookies(), [], 'nothing stored for a refused record');
  assert.equal(await page2.isEnabled('#seula-consent-accept-all'), true);
  await choose(page2, '#seula-consent-accept-all');
  assert.deepEqual(statuses, [409, 201]);
  assert.equal(parseConsent((await cookies(ctx2)).seula_consent.value).method, 'accept_all');
  assert.deepEqual(page2.errors, []);
  await ctx2.close();
});

test('a grant under another policy version is never applied: no id sent, no marketing script, the banner', async () => {
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  const url = new URL(base);
  const vid = '22222222-2222-4222-8222-222222222222';
  await context.addCookies([
    { name: 'seula_consent', value: `1|00000000-0000-4000-8000-000000000002|1999-01-01|` +
      `analytics.marketing.personalization|accept_all|${Math.floor(Date.now() / 1000) + 86400}|ggggggg`,
      domain: url.hostname, path: '/' },
    { name: 'seula_vid', value: vid, domain: url.hostname, path: '/' },
  ]);
  // The config slower than the deferred tracker, as on a slow network.
  await context.route('**/api/consent/config*', async (route) => {
    await new Promise((r) => setTimeout(r, 500));
    await route.continue();
  });
  const sent = [];
  context.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/collect') sent.push(r.postData() || '');
  });
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await waitFor('the first page view', () => sent.length);
  assert.ok(sent.every((b) => !b.includes(vid)), `no request carries the old id: ${sent}`);
  assert.equal(await page.evaluate(() => window.seulaDemoMarketing), undefined, 'marketing.js did not run');
  const granted = (await gcmCalls(page)).filter(([, v]) => v.ad_storage === 'granted' ||
    v.analytics_storage === 'granted');
  assert.deepEqual(granted, [], 'Consent Mode never granted');
  assert.equal((await cookies(context)).seula_vid, undefined, 'the old id is gone');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a seula_vid without a consent cookie is deleted, and no page view carries it', async () => {
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  const url = new URL(base);
  const vid = '33333333-3333-4333-8333-333333333333';
  await context.addCookies([{ name: 'seula_vid', value: vid, domain: url.hostname, path: '/',
    expires: Math.floor(Date.now() / 1000) + 86400 }]);
  const sent = [];
  context.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/collect') sent.push(r.postData() || '');
  });
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  assert.equal((await cookies(context)).seula_vid, undefined, 'the id is gone on the first page');
  await page.click('nav >> text=Contact');
  await waitFor('the page views', () => sent.length >= 2);
  assert.ok(sent.every((b) => !b.includes(vid)), `no request carries the id: ${sent}`);
  // The refusal names the id it stops.
  await choose(page, '#seula-consent-reject-all');
  const stored = parseConsent((await cookies(context)).seula_consent.value);
  assert.equal((await consentRecord(stored.receipt)).api.visitor_id, vid);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a stored grant whose seula_vid was cleared counts cookieless: no id made that no record names', async () => {
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-accept-all');
  const vid = (await cookies(context)).seula_vid.value;
  await context.clearCookies({ name: 'seula_vid' });
  const sent = [];
  context.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/collect') sent.push(r.postData() || '');
  });
  const mark = lastEvent();
  await page.goto(`${base}/demo/pricing`);
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  const [view] = await waitFor('the page view with the grant applied',
    () => events(`id > ${mark} AND type = 1`), 5000);
  assert.equal(view.path, '/demo/pricing');
  assert.equal(view.visitor_id, null);
  assert.equal((await cookies(context)).seula_vid, undefined, 'no new seula_vid');
  assert.ok(sent.length && sent.every((b) => !b.includes('visitor_id') && !b.includes(vid)),
    `no request carries an id: ${sent}`);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a choice sends its page without the query, fragment or path parameters', async () => {
  // The path parameters (";jsessionid=", a session token) on a page the
  // demo's own: served the demo page.
  const params = `${base}/demo/;jsessionid=SECRETX;x=1`;
  for (const url of [`${base}/demo/?token=SECRETX&q=ann%40example.org#frag`, params]) {
    const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
    await context.route(params, async (route) =>
      route.fulfill({ response: await route.fetch({ url: `${base}/demo/` }) }));
    const posted = [];
    context.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/consent' && r.method() === 'POST') {
        posted.push(r.postData() || '');
      }
    });
    const page = await open(context, url);
    await shown(page);
    await choose(page, '#seula-consent-reject-all');
    assert.equal(posted.length, 1);
    assert.equal(JSON.parse(posted[0]).page, `${base}/demo/`);
    assert.ok(!/SECRETX|example\.org|frag|jsessionid/.test(posted[0]), posted[0]);
    assert.deepEqual(page.errors, []);
    await context.close();
  }
});

test('the receipt gives the server\'s time, not the browser\'s clock', async () => {
  const cfg = await config('en');
  const given = Date.now() - 20 * 3600000; // a clock hours off: taken
  const r = await fetch(`${base}/api/consent`, {
    method: 'POST', headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify({
      site: 'demo', policy_version: cfg.policy_version, texts_hash: cfg.texts_hash,
      language: 'en', decisions: Object.fromEntries(CATEGORIES.map((c) => [c, false])),
      preselected: Object.fromEntries(CATEGORIES.map((c) => [c, false])),
      method: 'reject_all', source: 'banner', given_at: given, page: `${base}/demo/`,
    }),
  });
  assert.equal(r.status, 201);
  const { receipt, received_at: received } = await r.json();
  const context = await browser.newContext();
  const page = await open(context, `${base}/consent/receipt/#${receipt}`);
  await page.waitForSelector('#record:not([hidden])');
  const [server, browserClock] = await page.evaluate(([a, b]) => [a, b].map((t) =>
    new Intl.DateTimeFormat('en', { dateStyle: 'long', timeStyle: 'short' }).format(new Date(t))),
  [received, given]);
  assert.notEqual(server, browserClock);
  assert.equal(await page.textContent('#label-recorded'), 'Recorded');
  assert.equal(await page.textContent('#recorded'), server);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the server unreachable: no banner, nothing granted, the page unharmed', async () => {
  const context = await browser.newContext();
  await context.route('**/api/consent/**', (route) => route.abort());
  const page = await open(context, `${base}/demo/`);
  await page.waitForLoadState('load');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await page.$('#seula-consent'), null);
  assert.equal(await page.$('#seula-consent-reopen'), null);
  assert.equal(await page.evaluate(() => seulaConsent.get()), null);
  assert.equal((await gcmCalls(page)).length, 1, 'the defaults only: everything denied');
  await page.click('nav >> text=Pricing');
  assert.equal(await page.title(), 'Pricing – Tuisku');
  assert.deepEqual(await context.cookies(), []);
  assert.deepEqual(page.errors, []);
  await context.close();
});

// ---- a choice the server did not take ---------------------------------------------------

// The raw fields of seula_consent (a pending one has a ninth).
const consentFields = async (context) => ((await cookies(context)).seula_consent?.value || '').split('|');

test('a withdrawal that fails is said in the banner, holds, and is sent again naming the id until taken', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-accept-all');
  const vid = (await cookies(context)).seula_vid.value;
  const withdrawals = () => count(`visitor_id = ${quote(vid)} AND method = 'withdraw'`);

  // The server answers 500: the banner says so and stays.
  const refuse = (route) => (route.request().method() === 'POST'
    ? route.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"internal"}' })
    : route.continue());
  await context.route('**/api/consent', refuse);
  await page.click('#seula-consent-reopen');
  await shown(page);
  await page.click('#seula-consent-withdraw');
  const said = await page.waitForFunction(() => document.getElementById('seula-consent-status')?.textContent);
  assert.match(await said.jsonValue(), /could not be saved/);
  assert.equal(await page.getAttribute('#seula-consent-status', 'role'), 'status');
  assert.ok(await page.isVisible('#seula-consent'), 'the banner stays');
  assert.equal(await page.isEnabled('#seula-consent-withdraw'), true, 'to try again');
  // It holds at once, and is owed: the id kept in seula_consent only.
  assert.equal((await cookies(context)).seula_vid, undefined);
  let fields = await consentFields(context);
  assert.deepEqual([fields[1], fields[3], fields[4], fields[8]], ['0', '-', 'withdraw', `preference_link~${vid}`]);
  assert.equal(await page.evaluate(() => seulaConsent.get().analytics), false);
  assert.equal(withdrawals(), 0);

  // The next page, the server unreachable: still owed, nothing lost.
  await context.unroute('**/api/consent', refuse);
  const abort = (route) => (route.request().method() === 'POST' ? route.abort() : route.continue());
  await context.route('**/api/consent', abort);
  await page.reload();
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  await new Promise((r) => setTimeout(r, 300));
  fields = await consentFields(context);
  assert.equal(fields[8], `preference_link~${vid}`);

  // Reachable again: the next page load sends it, naming the id.
  await context.unroute('**/api/consent', abort);
  await page.reload();
  fields = await waitFor('the withdrawal taken', async () => {
    const f = await consentFields(context);
    return f.length === 8 && f[1] !== '0' && f;
  });
  assert.equal(fields[4], 'withdraw');
  const { api, row } = await consentRecord(fields[1]);
  for (const rec of [api, row]) {
    assert.equal(rec.method, 'withdraw');
    assert.equal(rec.source, 'preference_link');
    assert.equal(rec.visitor_id, vid, 'the record names the id withdrawn');
    assert.deepEqual(decisionsOf(rec), { analytics: false, marketing: false, personalization: false });
  }
  assert.equal(withdrawals(), 1);
  // The server refuses the id from now on: its events are an objector's.
  for (const [name, id] of [['after-late-withdrawal', vid], ['after-late-withdrawal-marker', undefined]])
    await page.evaluate(([n, i]) => fetch('/api/collect', {
      method: 'POST', headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ site: 'demo', type: 'event', name: n, url: location.href, visitor_id: i }),
    }), [name, id]);
  await waitFor('the marker sent after it', () => events("name = 'after-late-withdrawal-marker'"));
  assert.deepEqual(events("name = 'after-late-withdrawal'"), []);
  assert.deepEqual(page.errors, []);
  await context.close();
});

// POST /api/consent held unanswered, as a stalled server holds it, until
// released: release() lets the held ones through to the server.
async function stallRecords(context) {
  const held = [];
  const hold = (route) => (route.request().method() === 'POST' ? held.push(route) : route.continue());
  await context.route('**/api/consent', hold);
  return {
    held,
    release: async () => {
      await context.unroute('**/api/consent', hold);
      // One the page gave up on is gone: nothing to let through.
      await Promise.all(held.splice(0).map((r) => r.continue().catch(() => {})));
    },
  };
}

test('a denial holds at once while the server is slow; a record that hangs fails in time and is sent again', async () => {
  const cfg = await config('en');
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-accept-all');
  const vid = (await cookies(context)).seula_vid.value;
  await page.waitForFunction(() => window.seulaDemoMarketing === 1);
  const sent = [];
  context.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/collect') sent.push(r.postData() || '');
  });
  const withdrawals = () => count(`visitor_id = ${quote(vid)} AND method = 'withdraw'`);

  // The server stalls: the withdrawal holds before any answer.
  const stall = await stallRecords(context);
  await page.click('#seula-consent-reopen');
  await shown(page);
  const t0 = Date.now();
  await page.click('#seula-consent-withdraw');
  await waitFor('the withdrawal sent', () => stall.held.length === 1);
  assert.equal(await page.evaluate(() => seulaConsent.get().analytics), false, 'analytics off at once');
  assert.equal(await page.evaluate(() => seulaConsent.get().marketing), false);
  assert.equal((await cookies(context)).seula_vid, undefined, 'seula_vid gone at once');
  assert.deepEqual((await gcmCalls(page)).at(-1), ['update', gcmExpected(cfg, {})], 'Consent Mode denied at once');
  // A withdrawal refuses statistics: from now on nothing is sent, id or not.
  await page.evaluate(() => seula('event', 'while-stalled'));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(sent.filter((p) => p.includes('while-stalled')), [], 'nothing sent while it stalls');
  assert.equal((await consentFields(context))[8], `preference_link~${vid}`, 'owed, naming the id');
  assert.equal(await page.getAttribute('#seula-consent', 'aria-busy'), 'true');

  // It hangs: given up after a short time, said, and the banner usable again.
  const said = await page.waitForFunction(() => document.getElementById('seula-consent-status')?.textContent,
    null, { timeout: 15000 });
  const waited = Date.now() - t0;
  assert.ok(waited > 5000 && waited < 12000, `given up after ${waited} ms`);
  assert.match(await said.jsonValue(), /could not be saved/);
  assert.equal(await page.getAttribute('#seula-consent', 'aria-busy'), 'false');
  assert.equal(await page.isEnabled('#seula-consent-withdraw'), true, 'to try again');
  assert.equal(await page.evaluate(() => seulaConsent.get().analytics), false, 'still withdrawn');
  await stall.release();

  // Tried again with the server back: recorded, naming the id.
  await choose(page, '#seula-consent-withdraw');
  const fields = await consentFields(context);
  assert.equal(fields.length, 8, 'no longer pending');
  const rec = (await consentRecord(fields[1])).api;
  assert.equal(rec.method, 'withdraw');
  assert.equal(rec.visitor_id, vid);
  assert.ok(withdrawals() >= 1);

  // Unticking in the Choose layer, the server slow: off at once; the
  // answer, when it comes, records it and tells nobody twice.
  await page.click('#seula-consent-reopen');
  await choose(page, '#seula-consent-accept-all');
  const vid2 = (await cookies(context)).seula_vid.value;
  const updates = async () => (await gcmCalls(page)).filter(([k]) => k === 'update').length;
  const slow = await stallRecords(context);
  await page.click('#seula-consent-reopen');
  await shown(page);
  await page.uncheck('#seula-consent-analytics');
  await page.click('#seula-consent-save');
  await waitFor('the choice sent', () => slow.held.length === 1);
  const before = await updates();
  assert.equal(await page.evaluate(() => seulaConsent.get().analytics), false);
  assert.equal(await page.evaluate(() => seulaConsent.get().marketing), true, 'what is kept stays');
  assert.equal((await cookies(context)).seula_vid, undefined);
  assert.deepEqual((await gcmCalls(page)).at(-1), ['update', gcmExpected(cfg, { marketing: true, personalization: true })]);
  await slow.release();
  await gone(page);
  const custom = parseConsent((await cookies(context)).seula_consent.value);
  assert.equal(custom.method, 'custom');
  assert.equal((await consentRecord(custom.receipt)).api.visitor_id, vid2, 'the record names the id it stops');
  assert.equal(await updates(), before, 'one Consent Mode update for the choice');
  assert.equal(await page.evaluate(() => seulaConsent.get().receipt), custom.receipt);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a denial that fails is owed to the next choice: a Reject all names the id', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-accept-all');
  const vid = (await cookies(context)).seula_vid.value;
  const abort = (route) => (route.request().method() === 'POST' ? route.abort() : route.continue());
  await context.route('**/api/consent', abort);
  // Not settled at the next load either (still unreachable).
  await page.evaluate(() => seulaConsent.withdraw());
  await page.reload();
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await consentFields(context))[8], `api~${vid}`);
  await context.unroute('**/api/consent', abort);
  await page.click('#seula-consent-reopen');
  await shown(page);
  await page.click('#seula-consent-reject-all');
  const fields = await waitFor('the refusal taken', async () => {
    const f = await consentFields(context);
    return f.length === 8 && f[4] === 'reject_all' && f;
  });
  assert.equal((await consentRecord(fields[1])).api.visitor_id, vid, 'the refusal names the owed id');
  await context.close();
});

test('a first visit\'s Reject all holds at once while the server stalls, and is owed when it fails', async () => {
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  const sent = collects(context);
  const stall = await stallRecords(context);
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await waitFor('the page view before a choice', () => sent.length);
  const t0 = Date.now();
  await page.click('#seula-consent-reject-all');
  await waitFor('the refusal sent', () => stall.held.length === 1);
  // Before any answer: refused, nothing sent any more, cookieless or not.
  const before = sent.length;
  const state = await page.evaluate(() => seulaConsent.get());
  assert.equal(state?.method, 'reject_all', 'in force at once');
  assert.equal(state.analytics, false);
  let fields = await consentFields(context);
  assert.deepEqual([fields[1], fields[3], fields[4], fields[8]], ['0', '-', 'reject_all', 'banner~'], 'owed');
  await page.evaluate(() => seula('event', 'while-refusal-stalls'));
  await page.evaluate(() => history.pushState(null, '', '/demo/contact'));
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(sent.slice(before), [], 'nothing sent while the refusal stalls');

  // It hangs and fails: said, and still owed.
  await page.waitForFunction(() => document.getElementById('seula-consent-status')?.textContent,
    null, { timeout: 15000 });
  assert.ok(Date.now() - t0 < 12000);
  fields = await consentFields(context);
  assert.deepEqual([fields[1], fields[4], fields[8]], ['0', 'reject_all', 'banner~'], 'still owed');
  await page.evaluate(() => seula('event', 'after-refusal-failed'));
  await stall.release();

  // The next page: not asked again, nothing counted, the refusal recorded.
  await page.goto(`${base}/demo/pricing`);
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  assert.equal(await page.$('#seula-consent'), null, 'the refusal is not lost');
  fields = await waitFor('the refusal taken', async () => {
    const f = await consentFields(context);
    return f.length === 8 && f[1] !== '0' && f;
  });
  const { api, row } = await consentRecord(fields[1]);
  for (const rec of [api, row]) {
    assert.equal(rec.method, 'reject_all');
    assert.equal(rec.source, 'banner');
    assert.ok(!rec.visitor_id);
    assert.deepEqual(decisionsOf(rec), { analytics: false, marketing: false, personalization: false });
  }
  await page.evaluate(() => history.pushState(null, '', '/demo/contact'));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(sent.slice(before), [], 'nothing sent after the refusal, on any page');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a failed save that takes one grant away and gives another applies only the taking away', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await page.click('#seula-consent-choose');
  await page.check('#seula-consent-analytics');
  await choose(page, '#seula-consent-save');
  const abort = (route) => (route.request().method() === 'POST' ? route.abort() : route.continue());
  await context.route('**/api/consent', abort);
  // Analytics off, marketing on: not recorded.
  await page.click('#seula-consent-reopen');
  await shown(page);
  await page.uncheck('#seula-consent-analytics');
  await page.check('#seula-consent-marketing');
  await page.click('#seula-consent-save');
  await page.waitForFunction(() => document.getElementById('seula-consent-status')?.textContent);
  const state = await page.evaluate(() => seulaConsent.get());
  assert.equal(state.analytics, false, 'the denial holds at once');
  assert.equal(state.marketing, false, 'the grant waits for a record');
  assert.equal(await page.evaluate(() => window.seulaDemoMarketing), undefined);
  const fields = await consentFields(context);
  assert.equal(fields[3], '-', 'nothing granted is stored');
  // The next page, still unreachable: no marketing, no id made.
  await page.reload();
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await page.evaluate(() => window.seulaDemoMarketing), undefined);
  assert.equal((await cookies(context)).seula_vid, undefined);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a withdrawal owed from under an older policy is sent at the next load all the same', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-accept-all');
  const vid = (await cookies(context)).seula_vid.value;
  // Withdrawn, not taken, and the policy has changed since.
  const url = new URL(base);
  await context.clearCookies();
  await context.addCookies([{ name: 'seula_consent', domain: url.hostname, path: '/',
    value: `1|0|1999-01-01|-|withdraw|${Math.floor(Date.now() / 1000) + 86400}|ddddddd|api~${vid}` }]);
  await page.reload();
  await shown(page);
  await waitFor('the withdrawal taken', () => count(`visitor_id = ${quote(vid)} AND method = 'withdraw'`) === 1);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a refusal under an older policy still objects while the banner asks again', async () => {
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-reject-all');
  // The same refusal, written under a policy the site no longer has.
  const url = new URL(base);
  await context.clearCookies();
  await context.addCookies([{ name: 'seula_consent', domain: url.hostname, path: '/',
    value: `1|00000000-0000-4000-8000-000000000003|1999-01-01|-|reject_all|${Math.floor(Date.now() / 1000) + 86400}|ddddddd` }]);
  const sent = [];
  context.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/collect') sent.push(r.postData() || '');
  });
  await page.reload();
  await shown(page);
  await page.evaluate(() => {
    history.pushState({}, '', '/demo/asked-again');
    seula('event', 'signup');
  });
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(sent, [], 'nothing is counted until the new answer');
  assert.equal(await page.evaluate(() => seulaConsent.get()), null);
  // The new answer lifts it.
  await choose(page, '#seula-consent-accept-all');
  await page.evaluate(() => history.pushState({}, '', '/demo/answered'));
  await waitFor('a page view after the answer', () => sent.some((b) => b.includes('/demo/answered')), 5000);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a choice another tab made under a policy this tab does not know is not deleted here', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-reject-all');
  // Another tab, with a newer policy's config, accepted.
  const url = new URL(base);
  const newer = [{ name: 'seula_consent', domain: url.hostname, path: '/',
    value: `1|00000000-0000-4000-8000-000000000002|2999-01-01|analytics.marketing.personalization|accept_all|${Math.floor(Date.now() / 1000) + 86400}|ggggggg` },
  { name: 'seula_vid', value: '22222222-2222-4222-8222-222222222222', domain: url.hostname, path: '/' }];
  await context.addCookies(newer);
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await new Promise((r) => setTimeout(r, 300));
  const jar = await cookies(context);
  assert.equal(jar.seula_consent?.value, newer[0].value, 'the other tab\'s choice stays');
  assert.equal(jar.seula_vid?.value, newer[1].value);
  // Nothing more is granted here than this tab had.
  const state = await page.evaluate(() => seulaConsent.get());
  assert.equal(state === null || (!state.analytics && !state.marketing), true);
  assert.equal(await page.evaluate(() => window.seulaDemoMarketing), undefined);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('Global Privacy Control holds for a stored accept all too: no marketing script, no ad_storage granted', async () => {
  const cfg = await config('en');
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await choose(page, '#seula-consent-accept-all');
  await page.waitForFunction(() => window.seulaDemoMarketing === 1);
  const gpcBefore = count("method = 'gpc'");
  // The browser sends the signal from now on.
  await context.setExtraHTTPHeaders({ 'Sec-GPC': '1' });
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true });
  });
  await page.reload();
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await page.evaluate(() => window.seulaDemoMarketing), undefined, 'the marketing script waits');
  const state = await page.evaluate(() => seulaConsent.get());
  assert.equal(state.marketing, false);
  assert.equal(state.analytics, true, 'the rest of the choice holds');
  const update = (await gcmCalls(page)).filter(([k]) => k === 'update');
  assert.equal(update.length, 1);
  assert.deepEqual(update[0][1], gcmExpected(cfg, { analytics: true, personalization: true }));
  assert.equal(count("method = 'gpc'"), gpcBefore, 'a stored choice is asked no GPC record');
  // As the reopened banner shows it.
  await page.click('#seula-consent-reopen');
  assert.equal(await page.isChecked('#seula-consent-marketing'), false);
  assert.equal(await page.isDisabled('#seula-consent-marketing'), true);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a withdrawal in one tab holds in the others: nothing sent at once, applied when the tab is looked at', async () => {
  const cfg = await config('en');
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  const a = await open(context, `${base}/demo/`);
  await shown(a);
  await choose(a, '#seula-consent-accept-all');
  const vid = (await cookies(context)).seula_vid.value;
  const sent = [];
  context.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/collect') sent.push(r.postData() || '');
  });
  const b = await open(context, `${base}/demo/pricing`);
  await b.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  await b.waitForFunction(() => window.seulaDemoMarketing === 1);
  assert.equal(await b.evaluate(() => seulaConsent.get().method), 'accept_all');

  await a.bringToFront();
  await a.click('#seula-consent-reopen');
  await choose(a, '#seula-consent-withdraw');
  // The other tab, before anything tells it: the tracker reads the
  // refusal in seula_consent and sends nothing, the withdrawn id least.
  const mark = sent.length;
  await b.evaluate(() => seula('event', 'tab-b-unfocused'));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(sent.slice(mark), [], 'nothing sent from the other tab');
  // Looked at again: the withdrawal is applied there too.
  await b.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  const state = await b.evaluate(() => seulaConsent.get());
  assert.equal(state.method, 'withdraw');
  assert.equal(state.marketing, false);
  assert.equal(state.analytics, false);
  assert.deepEqual((await gcmCalls(b)).at(-1), ['update', gcmExpected(cfg, {})]);
  // Withdrawn, statistics are refused: that tab counts nothing either.
  await b.evaluate(() => seula('event', 'tab-b-focused'));
  await b.evaluate(() => history.pushState(null, '', '/demo/contact'));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(sent.filter((p) => p.includes('tab-b-focused') || p.includes('/demo/contact')), []);
  assert.equal((await cookies(context)).seula_vid, undefined);
  assert.deepEqual([...a.errors, ...b.errors], []);
  await context.close();
});

test('under a nonce-based Content-Security-Policy the banner is styled: its <style> carries the nonce', async () => {
  const nonce = 'c2V1bGEtdGVzdC1ub25jZQ';
  const site = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'self'; script-src 'nonce-${nonce}'; ` +
        `style-src 'self' 'nonce-${nonce}'; connect-src ${base}` });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Nonce</title>
<script nonce="${nonce}" src="${base}/consent.js" data-site="demo"></script></head>
<body><p>A page with a strict policy.</p></body></html>`);
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations = [];
    page.on('console', (m) => { if (/Content Security Policy|CSP/i.test(m.text())) violations.push(m.text()); });
    await page.goto(`http://localhost:${site.address().port}/`);
    await shown(page);
    assert.equal(await page.evaluate(() => getComputedStyle(document.getElementById('seula-consent')).position), 'fixed',
      'the banner\'s style applies');
    assert.deepEqual(violations, []);
    await context.close();
  } finally {
    site.close();
  }
});

test('the reopened banner closes without a new choice: Close, Escape, Save unchanged; a reopen is not counted as shown', async () => {
  const shownCount = () => query('SELECT coalesce(sum(shown), 0) AS n FROM consent_hourly')[0].n;
  const before = shownCount();
  const context = await browser.newContext();
  const page = await open(context, `${base}/demo/`);
  await shown(page);
  await waitFor('the banner counted as shown', () => shownCount() === before + 1);
  await choose(page, '#seula-consent-accept-all');
  const jar = await cookies(context);
  const records = () => count(`visitor_id = ${quote(jar.seula_vid.value)}`);
  assert.equal(records(), 1);

  // Close.
  await page.click('#seula-consent-reopen');
  await shown(page);
  assert.equal(await page.textContent('#seula-consent-close'), 'Close');
  await choose(page, '#seula-consent-close');
  assert.equal(await focused(page), 'seula-consent-reopen');
  // Escape.
  await page.click('#seula-consent-reopen');
  await shown(page);
  await page.keyboard.press('Escape');
  await gone(page);
  // Save without a change: nothing recorded, nothing renewed.
  await new Promise((r) => setTimeout(r, 1100));
  await page.click('#seula-consent-reopen');
  await shown(page);
  await choose(page, '#seula-consent-save');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(records(), 1, 'no new record');
  const after = await cookies(context);
  assert.equal(after.seula_consent.value, jar.seula_consent.value);
  assert.equal(after.seula_consent.expires, jar.seula_consent.expires, 'the consent is not renewed');
  assert.equal(shownCount(), before + 1, 'three reopens, none counted as the banner shown');
  // A change is a choice.
  await page.click('#seula-consent-reopen');
  await shown(page);
  await page.uncheck('#seula-consent-marketing');
  await choose(page, '#seula-consent-save');
  assert.equal(records(), 2);
  assert.equal(parseConsent((await cookies(context)).seula_consent.value).method, 'custom');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a site that swaps its whole page on navigation keeps the banner and the reopen button', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${shopBase}/page`);
  await shown(page);
  // What Turbo does: a new <body>, the address pushed.  The banner, not
  // answered yet, is in the new page, with the room it needs.
  await page.evaluate(() => {
    const next = document.createElement('body');
    next.innerHTML = '<h1>Pricing</h1><p>The next page.</p>';
    document.body.replaceWith(next);
    history.pushState(null, '', '/pricing');
  });
  await shown(page);
  assert.ok(await page.evaluate(() => parseFloat(document.body.style.paddingBottom) > 0),
    'the new page makes room for the banner');
  await choose(page, '#seula-consent-accept-all');
  assert.equal(await page.evaluate(() => document.body.style.paddingBottom), '', 'and gives it back');
  assert.ok((await cookies(context)).seula_vid);

  // Turbo's snapshot of a page: a copy of the button, without its
  // handler; htmx's boost: the body's children replaced.
  await page.evaluate(() => {
    const copy = document.body.cloneNode(true);
    copy.querySelector('h1').textContent = 'Home again';
    document.body.replaceWith(copy);
  });
  await page.waitForFunction(() => document.querySelector('h1').textContent === 'Home again');
  await page.evaluate(() => { document.body.innerHTML = '<h1>Contact</h1>'; });
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  assert.equal(await page.locator('#seula-consent-reopen').count(), 1);
  // Withdrawing is still one click away.
  await page.click('#seula-consent-reopen');
  await shown(page);
  await choose(page, '#seula-consent-withdraw');
  assert.deepEqual(Object.keys(await cookies(context)), ['seula_consent'], 'seula_vid is deleted');
  assert.equal(await page.evaluate(() => seulaConsent.get().method), 'withdraw');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a prerendered page asks nothing and records nothing until the visitor opens it', async () => {
  const shownCount = () => query('SELECT coalesce(sum(shown), 0) AS n FROM consent_hourly')[0].n;
  const context = await browser.newContext({ extraHTTPHeaders: { 'Sec-GPC': '1' } });
  // Chromium's prerendering, as the page sees it, until "opened".
  await context.addInitScript(() => {
    Object.defineProperty(Document.prototype, 'prerendering',
      { get: () => !window.__opened, configurable: true });
    Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true });
  });
  const sent = collects(context);
  const shownBefore = shownCount(), gpcBefore = count("method = 'gpc'");
  const page = await open(context, `${base}/demo/`);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await page.$('#seula-consent'), null, 'no banner in a page not opened');
  assert.equal(shownCount(), shownBefore, 'not counted as shown');
  assert.equal(count("method = 'gpc'"), gpcBefore, 'no gpc record');
  assert.deepEqual(sent, [], 'nothing counted');

  // Opened: asked, its GPC recorded, counted.
  await page.evaluate(() => {
    window.__opened = true;
    document.dispatchEvent(new Event('prerenderingchange'));
  });
  await shown(page);
  await waitFor('the banner counted as shown', () => shownCount() === shownBefore + 1);
  await waitFor('the gpc record', () => count("method = 'gpc'") === gpcBefore + 1);
  await waitFor('the page view', () => sent.length);
  assert.deepEqual(page.errors, []);
  await context.close();
});
