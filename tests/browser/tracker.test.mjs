// The tracker in a real browser (Debian's Chromium through playwright-core)
// against the real server and its SQLite file: page views, single-page-app
// navigation, engagement time, custom events, UTM parameters, and the consent
// hook (no cookie and no visitor id until analytics is allowed; PROMISES #21,
// #22, #24).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const BIN = process.env.SEULA_BIN;
const SOURCE = process.env.SEULA_SOURCE_DIR;
if (!BIN || !SOURCE) throw new Error('set SEULA_BIN and SEULA_SOURCE_DIR (ctest does)');
const OUTPUT = process.env.SEULA_TEST_OUTPUT || path.join(SOURCE, 'tests', 'output');

let dir, db, server, base, browser, exitCode;

function query(sql) {
  const out = execFileSync('sqlite3', ['-json', `file:${db}?mode=ro`, sql], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

async function waitFor(what, fn, timeoutMs = 10000) {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rows = (where) => query(`SELECT * FROM events WHERE ${where} ORDER BY id`);

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seula-browser-'));
  db = path.join(dir, 'seula.db');
  const config = path.join(dir, 'seula.ini');
  writeFileSync(config, [
    '[server]', 'listen = 127.0.0.1:0', `db = ${db}`, `web_root = ${path.join(SOURCE, 'web')}`,
    `plugin_dir = ${path.join(path.dirname(BIN), 'plugins')}`, 'trusted_proxies = 127.0.0.1/8, ::1',
    '[plugins]', 'load = anonymize',
    '[site.demo]', 'domains = localhost, 127.0.0.1',
  ].join('\n') + '\n');
  server = spawn(BIN, ['serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  server.on('exit', (code) => { exitCode = code; });
  const lines = createInterface({ input: server.stdout });
  base = await new Promise((resolve, reject) => {
    lines.once('line', (line) => {
      const m = /^listening on (http:\/\/\S+)$/.exec(line);
      m ? resolve(m[1]) : reject(new Error(`unexpected first line: ${line}`));
    });
    server.once('exit', (code) => reject(new Error(`seula exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server && exitCode === undefined) {
    const done = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await done;
  }
  assert.equal(exitCode, 0, 'seula stops cleanly on SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('the tracker on the demo site, with and without consent', async () => {
  const context = await browser.newContext({ locale: 'fi-FI', viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const hosts = new Set();
  page.on('request', (r) => hosts.add(new URL(r.url()).host));
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // First page view, counted without cookies.
  await page.goto(`${base}/demo/`);
  const first = await waitFor('the first page view', () => rows("type = 1 AND path = '/demo/'")[0]);
  assert.equal(first.site, 'demo');
  assert.equal(first.title, 'Welcome – Kahvila Seula');
  assert.equal(first.language, 'fi-FI');
  assert.equal(first.screen_width, 1280);
  assert.equal(first.visitor_id, null, 'no visitor id before consent');
  assert.ok(first.visitor_hash, 'counted by the cookieless hash');
  assert.equal(first.ip_anon, '127.0.0.0');
  assert.deepEqual(await context.cookies(), [], 'no cookie before consent');

  // Single-page navigation: a page view per route, engagement for the last.
  await page.waitForTimeout(1300);
  await page.click('nav a[data-route="/demo/menu"]');
  const menu = await waitFor('the SPA page view', () => rows("type = 1 AND path = '/demo/menu'")[0]);
  assert.equal(menu.referrer, `${base}/demo/`);
  const engaged = await waitFor('engagement of the first page',
    () => rows("type = 3 AND path = '/demo/'")[0]);
  assert.ok(engaged.engagement_ms >= 1000 && engaged.engagement_ms < 60000, `${engaged.engagement_ms} ms`);

  // A custom event with its properties.
  await page.click('#signup');
  const signup = await waitFor('the custom event', () => rows("type = 2 AND name = 'signup'")[0]);
  assert.deepEqual(JSON.parse(signup.props), { plan: 'pro', source: 'menu' });
  assert.equal(signup.path, '/demo/menu');

  // Campaign parameters reach their own columns.
  await page.click('nav a[data-route="/demo/"]');
  await page.click('a[href*="utm_source=newsletter"]');
  const campaign = await waitFor('the campaign page view', () => rows("utm_source = 'newsletter'")[0]);
  assert.equal(campaign.utm_medium, 'email');
  assert.equal(campaign.utm_campaign, 'autumn');
  assert.equal(campaign.url, `${base}/demo/menu`, 'the query string is not stored');

  // Consent given: a first-party cookie and its id on every event.
  await page.click('#allow');
  const cookies = await context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].name, 'seula_vid');
  assert.match(cookies[0].value, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(cookies[0].sameSite, 'Lax');
  const days = (cookies[0].expires * 1000 - Date.now()) / 86400000;
  assert.ok(days > 380 && days <= 396, `cookie lives ${days} days, at most 13 months`);
  await page.click('nav a[data-route="/demo/contact"]');
  const contact = await waitFor('the consented page view', () => rows("type = 1 AND path = '/demo/contact'")[0]);
  assert.equal(contact.visitor_id, cookies[0].value);

  // Withdrawn: the cookie goes and no id is sent any more.
  await page.click('#deny');
  assert.deepEqual(await context.cookies(), []);
  const lastId = query('SELECT max(id) AS id FROM events')[0].id;
  await page.click('nav a[data-route="/demo/menu"]');
  const after = await waitFor('the page view after withdrawal',
    () => rows(`id > ${lastId} AND type = 1 AND path = '/demo/menu'`)[0]);
  assert.equal(after.visitor_id, null);

  mkdirSync(OUTPUT, { recursive: true });
  const shot = path.join(OUTPUT, 'demo-site.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);

  // Leaving the page sends its engagement with sendBeacon.
  const beforeLeave = query('SELECT max(id) AS id FROM events')[0].id;
  await page.waitForTimeout(1100);
  await page.goto('about:blank');
  await waitFor('engagement sent on pagehide',
    () => rows(`id > ${beforeLeave} AND type = 3 AND path = '/demo/menu'`)[0]);

  // Only the Seula server was ever contacted; the page threw nothing.
  hosts.delete('');
  assert.deepEqual([...hosts], [new URL(base).host]);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a blocked tracker request does not break the page', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.route('**/api/collect', (route) => route.abort());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/demo/`);
  await page.click('nav a[data-route="/demo/menu"]');
  await page.click('#signup');
  assert.equal(await page.textContent('#signup-done'), 'Thank you! (a custom event was sent)');
  assert.deepEqual(errors, []);
  await context.close();
});
