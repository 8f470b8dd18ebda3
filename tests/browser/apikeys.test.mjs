// Personal API keys (web/admin/keys/) in Debian's Chromium, driven by
// playwright-core, against the real server with the analytics plugin: an
// analyst sent to sign in and back creates a key through the page, copies
// it, and the key read from the page reads the statistics from Node
// (Authorization: Bearer) and nothing else; the key is not shown again;
// revoking it through the page, after its confirmation (which Cancel or
// Escape leaves alone), refuses it at once.  An admin sees every account's
// keys with their owner and revokes another's; an analyst sees only their
// own, and at the most keys an account may have is told so, the server's
// refusal shown as it came; an expired key is marked.  Customer service is
// told the page is not theirs; the dashboard's header links the page for
// the roles it is for.  axe-core's WCAG 2.1 A/AA rules; no script error or
// CSP violation.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/apikeys.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshots go (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, axeCheck, shutDown, addStaff, postBeacon,
  openRecording, signInAs, testPaths } from './harness.mjs';

const { BIN, ROOT, OUTPUT } = testPaths();
const TZ = 'Europe/Helsinki';
const DAY = 86400000;

const USERS = {
  ann: { role: 'analyst', password: 'copper+Fjord+42+heron' },
  ben: { role: 'analyst', password: 'birch~Comet~19~otter' },
  ada: { role: 'admin', password: 'plum-Orbit-7-lantern' },
  cas: { role: 'customer_service', password: 'linen/Harbor/5/wren' },
};
const KEY = /^seula_[A-Za-z0-9_-]{43}$/;

let dir, db, config, seula, base, browser;

before(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing`);
  dir = mkdtempSync(path.join(tmpdir(), 'seula-apikeys-'));
  config = path.join(dir, 'seula.ini');
  db = path.join(dir, 'seula.db');
  writeFileSync(config, `; written by tests/browser/apikeys.test.mjs
[server]
listen = 127.0.0.1:0
db = ${db}
web_root = ${path.join(ROOT, 'web')}
plugin_dir = ${path.join(path.dirname(path.resolve(BIN)), 'plugins')}
trusted_proxies = 127.0.0.1/8, ::1

[auth]
login_max_failures = 100
session_sync = 1s

[plugins]
load = anonymize, analytics

[site.demo]
domains = localhost, 127.0.0.1
`);
  addStaff(BIN, config, Object.entries(USERS).map(([name, u]) => ({ name, ...u })));
  seula = await startSeula(BIN, config);
  base = seula.base;
  // A page view, so that the summary a key reads has something in it.
  const r = await postBeacon(base, '/api/collect',
    { site: 'demo', type: 'pageview', url: 'http://localhost/pricing' },
    { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36',
      Origin: 'http://localhost' });
  assert.equal(r.status, 204, r.text);
  browser = await launchChromium();
});

after(async () => {
  const code = await shutDown({ browser, seula, dir });
  if (seula) assert.equal(code, 0, 'seula stops with status 0 on SIGTERM');
});

const open = openRecording;
const signIn = (page, name) => signInAs(page, name, USERS[name].password);

// A browser signed in as `name`, on the keys page.
async function keysPage(name, options = {}, expected = []) {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', ...options });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/admin/keys/')}`, expected);
  await signIn(page, name);
  await page.waitForURL((u) => u.pathname === '/admin/keys/');
  return { context, page };
}

const axe = (page, minPasses = 12) => axeCheck(page, minPasses, { strict: true });

// A request from Node with the key, as a reporting tool would send it:
// { status, body } (the body parsed when it is JSON).
async function withKey(key, pathname, { method = 'GET' } = {}) {
  const r = await fetch(`${base}${pathname}`, { method, headers: { Authorization: `Bearer ${key}` } });
  const text = await r.text();
  let body = text;
  try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: r.status, body };
}

async function csrfOf(context) {
  return (await (await context.request.get(`${base}/api/session`)).json()).csrf;
}

// The keys GET /api/keys lists for the context's session.
async function listed(context) {
  const r = await context.request.get(`${base}/api/keys`);
  assert.equal(r.status(), 200, await r.text());
  return r.json();
}

async function createByApi(context, body) {
  const r = await context.request.post(`${base}/api/keys`, {
    headers: { 'X-CSRF-Token': await csrfOf(context) }, data: body });
  return { status: r.status(), body: await r.json().catch(() => null) };
}

// The table's rows, as the page shows them.
const rowsOf = (page) => page.$$eval('#keys-rows tr:not(.empty)', (trs) => trs.map((tr) => {
  const time = (cls) => {
    const td = tr.querySelector(`td.${cls}`);
    const t = td.querySelector('time');
    return t ? t.dateTime : td.textContent;
  };
  return {
    id: tr.dataset.id,
    name: tr.querySelector('td.name').textContent,
    hint: tr.querySelector('td.hint').textContent,
    owner: tr.querySelector('td.owner') ? tr.querySelector('td.owner').textContent : null,
    created: time('created'),
    last_used: time('last-used'),
    expires: time('expires'),
  };
}));

// The API's keys as rowsOf() has them: "never" where a time is null.
const asRows = (keys, admin) => keys.map((k) => ({
  id: k.id, name: k.name, hint: `${k.hint}…`, owner: admin ? k.owner : null, created: k.created,
  last_used: k.last_used || 'never', expires: k.expires || 'never',
}));

test('an analyst creates a key, reads the statistics with it, and revokes it', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB',
    viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });

  // A stranger is sent to sign in, and comes back.
  const page = await open(context, `${base}/admin/keys/`);
  await page.waitForURL((u) => u.pathname === '/login/');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/admin/keys/');
  await signIn(page, 'ann');
  await page.waitForURL((u) => u.pathname === '/admin/keys/');
  await page.waitForSelector('#keys-page:not([hidden])');
  await page.waitForSelector('#keys-rows tr');
  assert.equal(await page.textContent('#staff-name'), 'ann');
  assert.deepEqual(await page.$$eval('#staff-nav a', (as) => as.map((a) =>
    [a.textContent, a.getAttribute('href'), a.getAttribute('aria-current')])),
  [['API keys', '/admin/keys/', 'page'], ['Dashboard', '/', null]]);
  assert.equal(await page.textContent('#keys-rows'), 'You have no key.');
  assert.equal(await page.isHidden('th.owner-col'), true, 'no owner column for an analyst');
  assert.equal(await page.isHidden('#refused'), true);

  // No name: said, and nothing asked of the server.
  await page.click('#create-key');
  await page.waitForSelector('#create-error:not([hidden])');
  assert.equal(await page.textContent('#create-error'), 'Give the key a name: what it is for.');
  assert.equal(await page.getAttribute('#key-name', 'aria-invalid'), 'true');
  assert.deepEqual((await listed(context)).keys, []);

  // A key for 90 days, the list read slowly after it: the key has the
  // focus as it appears (CI once saw it still on the button).
  const slowList = async (route) => {
    if (route.request().method() === 'GET') await new Promise((r) => setTimeout(r, 1000));
    await route.continue();
  };
  await context.route('**/api/keys*', slowList);
  await page.fill('#key-name', 'Looker Studio');
  await page.selectOption('#key-expires', '90');
  const asked = Date.now();
  await page.click('#create-key');
  await page.waitForSelector('#new-key:not([hidden])');
  assert.equal(await page.isHidden('#create-error'), true);
  assert.equal(await page.getAttribute('#key-name', 'aria-invalid'), null);
  const key = await page.inputValue('#new-key-value');
  assert.match(key, KEY);
  assert.equal(await page.getAttribute('#new-key-value', 'readonly'), '');
  assert.match(await page.textContent('#create-status'),
    /^Key "Looker Studio" created, until .*\. Copy it now: you will not see it again\.$/);
  assert.match(await page.textContent('#new-key .warning'), /you will not see it again/);
  assert.equal(await page.textContent('#curl-example'),
    `curl -H "Authorization: Bearer ${key}" ${base}/api/stats/demo/summary`);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'new-key-value',
    'the key has the focus, selected');
  assert.equal(await page.evaluate(() => {
    const input = document.activeElement;
    return input.value.slice(input.selectionStart, input.selectionEnd);
  }), key, 'all of it selected');
  assert.equal(await page.inputValue('#key-name'), '', 'the form is ready for another');

  // Copy puts it on the clipboard.
  await page.click('#copy-key');
  await page.waitForFunction(() => document.querySelector('#copy-status').textContent === 'Copied.');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);

  // The list shows it as the API has it; the API never shows the key again.
  await page.waitForSelector('#keys-rows tr[data-id]');
  await context.unroute('**/api/keys*', slowList);
  let doc = await listed(context);
  assert.equal(doc.keys.length, 1);
  assert.ok(!JSON.stringify(doc).includes(key.slice(10)), 'the list does not hold the key');
  const [made] = doc.keys;
  assert.equal(made.name, 'Looker Studio');
  assert.equal(made.owner, 'ann');
  assert.ok(key.startsWith(made.hint), `the hint ${made.hint} is the key's start`);
  const expires = Date.parse(made.expires);
  assert.ok(expires >= asked + 90 * DAY - 5000 && expires <= Date.now() + 90 * DAY + 5000,
    `expires in 90 days: ${made.expires}`);
  assert.deepEqual(await rowsOf(page), asRows(doc.keys, false));
  assert.equal(await page.textContent('#create-limit'), `You have 1 of the ${doc.max_per_account} keys an account may have.`);
  await axe(page);
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT, 'admin-keys-created.png'), fullPage: true });

  // The key read from the page reads the statistics, from Node, and
  // nothing else.
  let r = await withKey(key, '/api/stats/demo/summary');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(typeof r.body, 'object');
  r = await withKey(key, '/api/stats/sites');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.sites, ['demo']);
  for (const [method, pathname] of [['GET', '/api/keys'], ['POST', '/api/keys'],
    ['GET', '/api/audit'], ['DELETE', `/api/keys/${made.id}`]]) {
    r = await withKey(key, pathname, { method });
    assert.equal(r.status, 403, `${method} ${pathname} with a key: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, 'api_key_scope', `${method} ${pathname}`);
  }
  // The sign-in routes read the cookie only: to them a key is no one.
  r = await withKey(key, '/api/me');
  assert.equal(r.status, 401, `GET /api/me with a key: ${JSON.stringify(r.body)}`);
  r = await withKey(`${key.slice(0, -4)}AAAA`, '/api/stats/demo/summary');
  assert.equal(r.status, 401, 'a key that is not one');
  assert.equal(r.body.error, 'invalid_api_key');

  // Shown once: gone after a reload, and after "I have copied it".
  await page.click('#forget-key');
  assert.equal(await page.isHidden('#new-key'), true);
  assert.equal(await page.inputValue('#new-key-value'), '');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'key-name');
  await page.reload();
  await page.waitForSelector('#keys-rows tr[data-id]');
  assert.equal(await page.isHidden('#new-key'), true);
  assert.ok(!(await page.content()).includes(key.slice(10)), 'the key is nowhere in the page');
  // Its use is written at session_sync (1 s here).
  const until = Date.now() + 10000;
  while (!(doc = await listed(context)).keys[0].last_used) {
    assert.ok(Date.now() < until, 'the key\'s use is recorded');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await page.reload();
  await page.waitForSelector('#keys-rows tr[data-id] td.last-used time');
  assert.deepEqual(await rowsOf(page), asRows(doc.keys, false), 'last used shown');

  // Revoke asks first; Cancel leaves the key working.
  const row = `#keys-rows tr[data-id="${made.id}"]`;
  assert.equal(await page.getAttribute(`${row} button.revoke`, 'type'), 'button');
  assert.equal(await page.evaluate((sel) => document.querySelector(sel).textContent,
    `${row} button.revoke`), 'Revoke Looker Studio', 'the button names the key');
  await page.click(`${row} button.revoke`);
  await page.waitForSelector(`${row} .confirm`);
  assert.match(await page.textContent(`${row} .confirm p`), /^Revoke "Looker Studio"\? Programs that use it are refused/);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
  await axe(page);
  await page.keyboard.press('Escape');
  await page.waitForSelector(`${row} button.revoke`);
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('revoke')), true);
  assert.equal((await withKey(key, '/api/stats/demo/summary')).status, 200, 'Cancel revokes nothing');

  // Yes: the row goes, and the key is refused at once.
  await page.click(`${row} button.revoke`);
  await page.click(`${row} button.confirm-revoke`);
  await page.waitForSelector(row, { state: 'detached' });
  assert.equal(await page.textContent('#list-status'),
    '"Looker Studio" is revoked: requests with it are refused from now on.');
  assert.equal(await page.textContent('#keys-rows'), 'You have no key.');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'list-title');
  assert.deepEqual((await listed(context)).keys, []);
  r = await withKey(key, '/api/stats/demo/summary');
  assert.equal(r.status, 401, `a revoked key: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error, 'invalid_api_key');

  // The dashboard's header links the page for an analyst.
  await page.goto(`${base}/`);
  await page.waitForSelector('#keys-link:not([hidden]) a[href="/admin/keys/"]');
  assert.deepEqual(page.problems, [], 'no script error, no CSP violation');
  await context.close();
});

test('an admin sees every account\'s keys with their owner; an analyst only their own', async () => {
  const ann = await keysPage('ann');
  await ann.page.waitForSelector('#keys-rows tr');
  const sheets = await createByApi(ann.context, { name: 'Sheets' });
  assert.equal(sheets.status, 201, JSON.stringify(sheets.body));
  assert.equal(sheets.body.expires, null, 'no expires_days: never expires');
  assert.match(sheets.body.key, KEY);
  const ben = await keysPage('ben');
  await ben.page.waitForSelector('#keys-rows tr');
  const benKey = await createByApi(ben.context, { name: 'Ben\'s script', expires_days: 30 });
  assert.equal(benKey.status, 201, JSON.stringify(benKey.body));
  await ben.page.reload();
  await ben.page.waitForSelector('#keys-rows tr[data-id]');
  assert.deepEqual((await rowsOf(ben.page)).map((k) => k.name), ['Ben\'s script'], 'ben sees only his own');

  const { context, page } = await keysPage('ada', { viewport: { width: 390, height: 844 },
    isMobile: true, hasTouch: true });
  await page.waitForSelector('#keys-rows tr[data-id]');
  assert.deepEqual(await page.$$eval('#staff-nav a', (as) => as.map((a) => a.textContent)),
    ['Register and requests', 'Exports', 'Audit log', 'API keys', 'Dashboard']);
  assert.equal(await page.isVisible('th.owner-col'), true);
  assert.equal(await page.textContent('#keys-caption'), 'Every account\'s keys, newest first');
  const doc = await listed(context);
  assert.deepEqual(doc.keys.map((k) => [k.name, k.owner]), [['Ben\'s script', 'ben'], ['Sheets', 'ann']]);
  const rows = await rowsOf(page);
  assert.deepEqual(rows, asRows(doc.keys, true));
  assert.equal(rows[1].expires, 'never');
  assert.equal(rows[1].last_used, 'never');
  assert.match(await page.textContent('#create-limit'), /^You have 0 of the \d+ keys an account may have\.$/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page fits a phone (${overflow} px too wide)`);
  await axe(page);
  await page.screenshot({ path: path.join(OUTPUT, 'admin-keys-admin-phone.png'), fullPage: true });

  // The admin revokes ann's key: the confirmation says whose it is.
  const row = `#keys-rows tr[data-id="${sheets.body.id}"]`;
  await page.click(`${row} button.revoke`);
  assert.match(await page.textContent(`${row} .confirm p`), /^Revoke "Sheets" \(ann's key\)\?/);
  await page.click(`${row} button.cancel-revoke`);
  await page.waitForSelector(`${row} button.revoke`);
  assert.equal((await withKey(sheets.body.key, '/api/stats/demo/summary')).status, 200, 'Cancel revokes nothing');
  await page.click(`${row} button.revoke`);
  await page.click(`${row} button.confirm-revoke`);
  await page.waitForSelector(row, { state: 'detached' });
  assert.equal((await withKey(sheets.body.key, '/api/stats/demo/summary')).status, 401);
  assert.deepEqual((await rowsOf(page)).map((k) => k.owner), ['ben']);
  assert.equal((await withKey(benKey.body.key, '/api/stats/demo/summary')).status, 200, 'ben\'s key is left');

  // An admin's key reads with the admin's role, the statistics still only.
  await page.goto(`${base}/`);
  await page.waitForSelector('#keys-link:not([hidden])');
  assert.equal(await page.isVisible('#admin-link'), true);
  for (const p of [page, ann.page, ben.page]) assert.deepEqual(p.problems, []);
  for (const c of [context, ann.context, ben.context]) await c.close();
});

test('at the most keys an account may have, an analyst is told so, and the server\'s refusal is shown', async () => {
  const { context, page } = await keysPage('ben', {}, [/status of 409 .*\/api\/keys/]);
  await page.waitForSelector('#keys-rows tr');
  const max = (await listed(context)).max_per_account;
  assert.ok(Number.isInteger(max) && max > 1, `max_per_account ${max}`);
  // Up to one short of it, then the page is loaded; the last is taken
  // behind its back.
  for (let n = (await listed(context)).keys.length; n < max - 1; n++)
    assert.equal((await createByApi(context, { name: `Key ${n}`, expires_days: 1 })).status, 201);
  await page.reload();
  await page.waitForSelector(`#keys-rows tr[data-id]:nth-child(${max - 1})`);
  assert.equal(await page.isEnabled('#create-key'), true);
  const last = (await createByApi(context, { name: 'The last one' })).body;
  assert.match(last.key, KEY);
  const over = await createByApi(context, { name: 'One too many' });
  assert.equal(over.status, 409);
  assert.equal(over.body.error, 'too_many_keys');

  await page.fill('#key-name', 'Yet another');
  await page.click('#create-key');
  await page.waitForSelector('#create-error:not([hidden])');
  assert.match(await page.textContent('#create-error'), /^No key was made: .*\(too_many_keys, HTTP 409\)\.$/);
  assert.equal(await page.isHidden('#new-key'), true);
  assert.equal(await page.inputValue('#key-name'), 'Yet another', 'what was typed is kept');
  // The last one's time runs out (the clock wound on in the database, as
  // the server's own tests do): refused, and listed as expired.
  execFileSync('sqlite3', ['-cmd', '.timeout 10000', db,
    `UPDATE sessions SET expires_at = ${Date.now() - 1000} WHERE label = 'The last one'`]);
  const until = Date.now() + 10000;
  while ((await withKey(last.key, '/api/stats/demo/summary')).status !== 401) {
    assert.ok(Date.now() < until, 'the expiry reached the server');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal((await withKey(last.key, '/api/stats/demo/summary')).body.error, 'api_key_expired');
  await page.reload();
  await page.waitForSelector(`#keys-rows tr[data-id]:nth-child(${max})`);
  assert.match(await page.textContent(`#keys-rows tr[data-id="${last.id}"] td.expires`),
    / UTC expired$/, 'an expired key says so');
  assert.equal(await page.$$eval('#keys-rows .expired', (es) => es.length), 1);
  assert.equal(await page.isDisabled('#create-key'), true);
  assert.equal(await page.textContent('#create-limit'),
    `You have ${max} keys, the most an account may have: revoke one to create another.`);
  await axe(page);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('customer service is told the page is not theirs', async () => {
  const { context, page } = await keysPage('cas');
  await page.waitForSelector('#refused:not([hidden])');
  assert.equal(await page.textContent('#refused-title'), 'No API keys for your role');
  assert.match(await page.textContent('#refused-text'), /signed in as cas, whose role is customer service/);
  assert.equal(await page.isHidden('#keys-page'), true);
  assert.deepEqual(await page.$$eval('#staff-nav a', (as) => as.map((a) => a.textContent)),
    ['Register and requests', 'Exports'], 'no link to the keys');
  const r = await context.request.get(`${base}/api/keys`);
  assert.equal(r.status(), 403, 'the server refuses them too');
  await axe(page, 8);
  assert.deepEqual(page.problems, [], 'the page asked the server nothing it refuses');
  // Nor does the dashboard's header link it.
  const dash = await open(context, `${base}/`, [/status of 403/]);
  await dash.waitForFunction(() => document.querySelector('#who').textContent.startsWith('cas'));
  assert.equal(await dash.isHidden('#keys-link'), true);
  await context.close();
});

test('making a key asks for a sign-in of the last 15 minutes, and the page leads to one', async () => {
  const { context, page } = await keysPage('ada', {}, [/status of 403 .*\/api\/keys/]);
  await page.waitForSelector('#keys-rows tr');
  // The sign-in grows old while the server is stopped (the clock wound
  // on in the database); the session itself goes on.
  assert.equal(await seula.stop(), 0);
  execFileSync('sqlite3', ['-cmd', '.timeout 10000', db,
    `UPDATE sessions SET created_at = created_at - ${16 * 60000} WHERE kind = 'browser'`]);
  seula = await startSeula(BIN, config);
  base = seula.base;
  await page.goto(`${base}/admin/keys/`);
  await page.waitForSelector('#keys-rows tr');
  await page.fill('#key-name', 'After a while');
  await page.click('#create-key');
  await page.waitForSelector('#create-error:not([hidden])');
  assert.equal(await page.textContent('#create-error'), 'No key was made: making a key asks for ' +
    'a sign-in of the last 15 minutes. Sign in again to make it.');
  assert.equal(await page.isHidden('#new-key'), true);
  await axe(page);
  await Promise.all([page.waitForURL((u) => u.pathname === '/login/'), page.click('#create-error a')]);
  // The form, though the session goes on, the name filled in.
  await page.waitForSelector('#login:not([hidden])');
  assert.equal(await page.inputValue('#username'), 'ada');
  assert.equal(await page.textContent('#error'), 'Give your password again to go on.');
  await signIn(page, 'ada');
  await page.waitForURL((u) => u.pathname === '/admin/keys/');
  await page.fill('#key-name', 'After a while');
  await page.click('#create-key');
  await page.waitForSelector('#new-key:not([hidden])');
  assert.match(await page.inputValue('#new-key-value'), KEY);
  assert.deepEqual(page.problems, []);
  await context.close();
});
