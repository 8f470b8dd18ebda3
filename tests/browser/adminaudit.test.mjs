// The admin's audit log (web/admin/audit/) and exports (web/admin/exports/)
// in Debian's Chromium, driven by playwright-core, against the real server
// with the customers plugin: a stranger sent to sign in and back; an
// admin's reads of a customer through the API seen in the log under their
// name, with local and UTC times, filters and paging; the labels (CSV and
// PDF) and the finance export downloaded through the page (fetch with the
// CSRF token, a Blob saved under the server's file name) and checked byte
// by byte, with the disclosures they recorded; a finance user who sees the
// finance export only, and is shown the server's refusal plainly when their
// role changes under the page; an analyst refused politely; a phone-wide
// screen; axe-core's WCAG 2.1 A/AA rules; no script error or CSP violation;
// screenshots the test output keeps.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/adminaudit.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshots go (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, axeCheck, shutDown, addStaff, openRecording,
  signInAs, testPaths } from './harness.mjs';

const { BIN, ROOT, OUTPUT } = testPaths();
const BROWSER_TZ = 'America/New_York';
const RECIPIENT = 'Tilitoimisto Esimerkki Oy';

const USERS = {
  ada: { role: 'admin', password: 'plum-Orbit-7-lantern' },
  ann: { role: 'analyst', password: 'copper+Fjord+42+heron' },
  fin: { role: 'finance', password: 'maple.Signal.88.drift' },
};

let dir, db, config, seula, base, browser;

function query(sql) {
  const out = execFileSync('sqlite3', ['-json', `file:${db}?mode=ro`, sql], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seula-adminaudit-'));
  db = path.join(dir, 'seula.db');
  config = path.join(dir, 'seula.ini');
  writeFileSync(config, `; written by tests/browser/adminaudit.test.mjs
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
load = anonymize, customers

[plugin.customers]
home_country = FI
finance_recipient = ${RECIPIENT}
finance_legal_ground = contract: billing and accounting

[site.demo]
domains = localhost, 127.0.0.1
`);
  addStaff(BIN, config, Object.entries(USERS).map(([name, u]) => ({ name, ...u })));
  seula = await startSeula(BIN, config);
  base = seula.base;
  browser = await launchChromium();
});

after(async () => {
  const code = await shutDown({ browser, seula, dir });
  if (seula) assert.equal(code, 0, 'seula stops with status 0 on SIGTERM');
});

const open = openRecording;
const signIn = (page, name) => signInAs(page, name, USERS[name].password);

const axe = (page, minPasses = 12) => axeCheck(page, minPasses, { strict: true });

// The session's CSRF token, for requests the test makes as the browser.
async function csrfOf(context) {
  const r = await context.request.get(`${base}/api/session`);
  return (await r.json()).csrf;
}

async function createCustomer(context, csrf, body) {
  const r = await context.request.post(`${base}/api/customers`, {
    headers: { 'X-CSRF-Token': csrf }, data: body,
  });
  assert.equal(r.status(), 201, await r.text());
  return (await r.json()).id;
}

// Clicks `selector` and resolves to the file the page saved: its name and
// bytes.  An error the page shows instead fails at once, with its words.
async function downloadBy(page, selector) {
  const error = `#${selector.slice(1).split('-')[0]}-error`;
  const saved = page.waitForEvent('download');
  saved.catch(() => {});
  const refused = page.waitForSelector(`${error}:not([hidden])`)
    .then(async () => `the page says: ${await page.textContent(error)}`, () => null);
  await page.click(selector);
  const first = await Promise.race([saved, refused]);
  if (typeof first === 'string') throw new Error(first);
  const download = await saved;
  const file = await download.path();
  return { name: download.suggestedFilename(), bytes: readFileSync(file) };
}

const rowsOf = (page) => page.$$eval('#audit-rows tr', (trs) => trs.map((tr) => ({
  id: Number(tr.dataset.id),
  time: tr.querySelector('time').dateTime,
  local: tr.querySelector('time').textContent,
  utc: tr.querySelector('.utc').textContent,
  staff: tr.querySelector('.staff').textContent,
  action: tr.querySelector('.action').textContent,
  subject: tr.querySelector('.subject').textContent,
  outcome: tr.querySelector('.outcome').textContent,
  client: tr.querySelector('.client').textContent,
  route: tr.children[7].textContent,
  detail: tr.querySelector('.detail').textContent,
})));

// The table shows what GET /api/audit answers for the page's own query.
async function waitForRows(page, what) {
  await page.waitForFunction(what);
  await page.waitForFunction(() => !document.querySelector('#audit-table[aria-busy]'));
}

test('an admin reads the audit log, pages through it, and downloads the exports', async () => {
  const context = await browser.newContext({ timezoneId: BROWSER_TZ, locale: 'en-GB',
    viewport: { width: 1280, height: 900 } });

  // A stranger is sent to sign in, and comes back.
  const page = await open(context, `${base}/admin/audit/?action=read`);
  await page.waitForURL((u) => u.pathname === '/login/');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/admin/audit/?action=read');
  await signIn(page, 'ada');
  await page.waitForURL((u) => u.pathname === '/admin/audit/');
  await page.waitForSelector('#audit-page:not([hidden])');
  assert.equal(await page.textContent('#staff-name'), 'ada');
  assert.equal(await page.textContent('#staff-role'), 'admin');
  assert.deepEqual(await page.$$eval('#staff-nav a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')])),
    [['Register and requests', '/admin/'], ['Exports', '/admin/exports/'],
      ['Audit log', '/admin/audit/'], ['API keys', '/admin/keys/'], ['Dashboard', '/']]);
  assert.equal(await page.inputValue('#f-action'), 'read', 'the filter came from the address');

  // Audited activity with this session: customers made and read through
  // the API, 60 reads in all so that the log has pages.
  const csrf = await csrfOf(context);
  const kaisa = await createCustomer(context, csrf, {
    first_name: 'Kaisa', last_name: 'Kontrolli', email: 'kaisa@example.com', street: 'Katu 1',
    postal_code: '00100', city: 'Helsinki', country: 'FI', source: 'registration',
    relationship_start: '2024-01-15' });
  const olli = await createCustomer(context, csrf, {
    first_name: 'Olli', last_name: 'Ostaja', organisation: 'Osto Oy', email: 'olli@example.com',
    street: 'Tie 2', postal_code: '33100', city: 'Tampere', country: 'FI',
    source: 'registration', relationship_start: '2024-02-01' });
  const order = await context.request.post(`${base}/api/customers/${olli}/orders`, {
    headers: { 'X-CSRF-Token': csrf },
    data: { number: 'A-1', date: '2025-03-01', currency: 'EUR', invoice_status: 'open',
      lines: [{ description: 'Widget', quantity: 2, unit_price_cents: 1250 }] } });
  assert.equal(order.status(), 201, await order.text());
  for (let i = 0; i < 60; i++) {
    const r = await context.request.get(`${base}/api/customers/${i % 2 ? olli : kaisa}`);
    assert.equal(r.status(), 200);
  }

  // The reads are in the log, under ada's name, as the API has them.
  await page.reload();
  await waitForRows(page, () => document.querySelectorAll('#audit-rows tr').length > 0);
  let rows = await rowsOf(page);
  // The API's answer to the same query, less what came after the page's
  // (reading the log is a read of its own).
  const api = (await (await context.request.get(
    `${base}/api/audit?action=read&exclude_action=statistics&limit=1000`)).json())
    .entries.filter((e) => e.id <= rows[0].id).slice(0, 100);
  assert.deepEqual(rows.map((r) => r.id), api.map((e) => e.id));
  assert.ok(rows.every((r) => r.action === 'read' && r.staff === 'ada' && r.outcome === 'ok'));
  const reads = rows.filter((r) => r.route === 'GET /api/customers/{id}');
  assert.equal(reads.length, 60, 'every read of a customer');
  assert.deepEqual(new Set(reads.map((r) => r.subject)), new Set([String(kaisa), String(olli)]));
  assert.ok(rows.every((r) => r.client === '127.0.0.0'), 'the client as the log masked it');
  // The browser's local time, with the UTC value below it.
  const first = api[0];
  assert.equal(rows[0].time, first.time);
  assert.equal(rows[0].utc, first.time.replace('T', ' ').replace('Z', ' UTC'));
  assert.equal(rows[0].local, new Intl.DateTimeFormat('en-GB', { timeZone: BROWSER_TZ,
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit' }).format(new Date(first.time)));
  assert.notEqual(rows[0].local.slice(-8), first.time.slice(11, 19), 'local, not UTC');

  // The log's chain: the page says plainly it cannot check it.
  assert.match(await page.textContent('#chain'), /cannot check[\s\S]*seula audit verify/);

  // Filters: a subject, then all actions from today, then paging by 50.
  await page.fill('#f-subject', String(kaisa));
  await page.click('#apply');
  await waitForRows(page, () => new URLSearchParams(location.search).get('subject') !== null);
  rows = await rowsOf(page);
  assert.ok(rows.length >= 30 && rows.every((r) => r.subject === String(kaisa)), rows.length);

  await page.click('#clear');
  await waitForRows(page, () => location.search === '');
  const today = await page.evaluate(() => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  });
  await page.fill('#f-from', today);
  await page.fill('#f-to', today);
  await page.selectOption('#f-limit', '50');
  await page.click('#apply');
  await waitForRows(page, () => new URLSearchParams(location.search).get('limit') === '50');
  const page1 = await rowsOf(page);
  assert.equal(page1.length, 50);
  const actions = new Set(page1.map((r) => r.action));
  assert.ok(actions.has('read') && !actions.has('statistics'), [...actions].join(' '));
  assert.equal(await page.isDisabled('#newer'), true);
  await page.click('#older');
  await waitForRows(page, () => new URLSearchParams(location.search).has('before'));
  const page2 = await rowsOf(page);
  assert.ok(page2.length > 0);
  assert.ok(page2[0].id < page1[page1.length - 1].id, 'older entries follow on');
  const all = (await rowsOf(page)).concat(page1);
  assert.ok(all.some((r) => r.action === 'login' && r.staff === 'ada'), 'the sign-in is there');
  assert.ok(all.some((r) => r.action === 'change' && r.subject === String(olli)));
  // The keyboard pages back.
  await page.focus('#newer');
  await page.keyboard.press('Enter');
  await waitForRows(page, () => !new URLSearchParams(location.search).has('before'));
  // The newest page again (with the reads of the log made since on top).
  const back = (await rowsOf(page)).map((r) => r.id);
  const kept = back.filter((id) => id <= page1[0].id);
  assert.ok(kept.length >= 40, back.join(' '));
  assert.deepEqual(kept, page1.slice(0, kept.length).map((r) => r.id));
  // A slow older page does not land under the newest page's address.
  // (20 a page, as an address may say, so that there are three pages)
  await page.goto(`${base}/admin/audit/?limit=20`);
  await waitForRows(page, () => document.querySelectorAll('#audit-rows tr').length === 20);
  await page.click('#older');
  await waitForRows(page, () => new URLSearchParams(location.search).has('before'));
  const slowOlder = (u) => u.pathname === '/api/audit' && u.searchParams.has('before');
  await page.route(slowOlder, async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await page.click('#older');
  await page.click('#newest');
  await page.waitForTimeout(2500);
  await page.unroute(slowOlder);
  await waitForRows(page, () => !new URLSearchParams(location.search).has('before'));
  const newest = (await rowsOf(page)).map((r) => r.id);
  assert.equal(newest.length, 20);
  assert.ok(newest[0] >= back[0], `the newest page is shown: ${newest[0]} against ${back[0]}`);
  assert.equal(await page.isDisabled('#newer'), true);
  assert.equal(await page.isDisabled('#older'), false);

  await axe(page);
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT, 'admin-audit.png'), fullPage: true });

  // The exports, downloaded through the page.
  const exportsPage = await open(context, `${base}/admin/exports/`);
  await exportsPage.waitForSelector('#labels:not([hidden])');
  assert.equal(await exportsPage.isVisible('#finance'), true);
  const labelsBefore = query('SELECT count(*) AS n FROM customer_label_exports')[0].n;

  const csv = await downloadBy(exportsPage, '#labels-csv');
  assert.equal(csv.name, 'labels.csv');
  const lines = csv.bytes.toString('utf8').split(/\r?\n/);
  assert.equal(lines[0], '"organisation","name","street","postal_code","city","country"');
  assert.ok(lines.some((l) => l.includes('Kaisa Kontrolli')));
  await exportsPage.waitForSelector('#labels-result .audit-entry');
  const labelsSaid = await exportsPage.textContent('#labels-result');
  assert.match(labelsSaid, /Saved labels\.csv \(\d+ bytes\): 2 rows besides the header\./);
  assert.match(labelsSaid, /Recorded: Each person on the labels/);
  assert.match(labelsSaid, /Audit entry #\d+: labels 2 persons/);

  const pdf = await downloadBy(exportsPage, '#labels-pdf');
  assert.equal(pdf.name, 'labels.pdf');
  assert.equal(pdf.bytes.subarray(0, 5).toString('latin1'), '%PDF-');
  await exportsPage.waitForFunction(() => /labels\.pdf/.test(document.querySelector('#labels-result').textContent));
  assert.deepEqual(query('SELECT format, count(*) AS n FROM customer_label_exports WHERE ' +
    "staff_name = 'ada' GROUP BY format ORDER BY format"), [{ format: 'csv', n: 2 }, { format: 'pdf', n: 2 }]);
  assert.equal(query('SELECT count(*) AS n FROM customer_label_exports')[0].n, labelsBefore + 4);

  const fin = await downloadBy(exportsPage, '#finance-csv');
  assert.equal(fin.name, 'finance.csv');
  const finLines = fin.bytes.toString('utf8').split(/\r?\n/);
  assert.equal(finLines[0], '"customer_id","first_name","last_name","organisation","street",' +
    '"postal_code","city","country","email","currency","open_invoices","open_cents","collection_cents"');
  assert.equal(finLines[1], `${olli},"Olli","Ostaja","Osto Oy","Tie 2","33100","Tampere","FI",` +
    '"olli@example.com","EUR",1,2500,0');
  assert.equal(finLines.length, 3, 'one customer has orders');
  await exportsPage.waitForSelector('#finance-result .audit-entry');
  assert.match(await exportsPage.textContent('#finance-result'),
    new RegExp(`disclosure to the finance partner[\\s\\S]*Audit entry #\\d+: finance export: 1 person to ${RECIPIENT}`));
  // The disclosure is on record, and in the audit log page.
  assert.deepEqual(query('SELECT customer_id, recipient, staff_name FROM customer_disclosures'),
    [{ customer_id: olli, recipient: RECIPIENT, staff_name: 'ada' }]);
  await page.goto(`${base}/admin/audit/?action=export`);
  await waitForRows(page, () => document.querySelectorAll('#audit-rows tr').length >= 3);
  rows = await rowsOf(page);
  // Each names everyone in it: consecutive ids as a range.
  const [lo, hi] = [kaisa, olli].sort((a, b) => a - b);
  const both = hi === lo + 1 ? `${lo}-${hi}` : `${lo},${hi}`;
  assert.deepEqual(rows.map((r) => [r.staff, r.route, r.subject, r.detail]), [
    ['ada', 'GET /api/customers/export/finance', String(olli), `finance export: 1 person to ${RECIPIENT}`],
    ['ada', 'GET /api/labels', both, 'labels 2 persons (each in customer_label_exports)'],
    ['ada', 'GET /api/labels', both, 'labels 2 persons (each in customer_label_exports)'],
  ]);
  // A long list is cut at an element, with how many it has.
  const long = Array.from({ length: 400 }, (_, i) => String(2 * i + 1)).join(',');
  await page.route('**/api/audit?*', (route) => route.fulfill({
    status: 200, contentType: 'application/json',
    body: JSON.stringify({ entries: [{ id: 99999, time: '2026-01-01T00:00:00Z', staff: 'ada', ip: null,
      action: 'export', route: 'GET /api/labels', subject: long, outcome: 'ok',
      detail: 'labels 400 persons (each in customer_label_exports)' }], next_before: null }),
  }));
  await page.goto(`${base}/admin/audit/?action=export&staff=ada`);
  await waitForRows(page, () => document.querySelector('#audit-rows tr[data-id="99999"]'));
  const cut = await page.textContent('#audit-rows tr[data-id="99999"] .subject');
  assert.ok(cut.startsWith('1,3,5,') && cut.length < 260 && cut.endsWith(', … (400 ids and ranges in all)'), cut);
  await page.unroute('**/api/audit?*');

  await axe(exportsPage);
  await exportsPage.screenshot({ path: path.join(OUTPUT, 'admin-exports.png'), fullPage: true });
  console.log(`screenshots: ${path.join(OUTPUT, 'admin-audit.png')}, admin-exports.png`);

  // Signing out ends the session on the server, and the audit page in
  // the other tab leaves at once, its table cleared.
  await exportsPage.click('#sign-out');
  await exportsPage.waitForURL((u) => u.pathname === '/login/');
  assert.equal((await context.request.get(`${base}/api/me`)).status(), 401);
  await page.waitForURL((u) => u.pathname === '/login/' && u.searchParams.get('ended') === '1',
    { timeout: 5000 });
  assert.deepEqual(page.problems, [], 'no script error, no CSP violation (audit)');
  assert.deepEqual(exportsPage.problems, [], 'no script error, no CSP violation (exports)');
  await context.close();
});

test('finance sees the finance export only, on a phone, and the server\'s refusal plainly', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 },
    isMobile: true, hasTouch: true });
  const page = await open(context, `${base}/admin/exports/`, [/status of 403 .*\/api\/customers\/export\/finance/]);
  await page.waitForURL((u) => u.pathname === '/login/');
  await signIn(page, 'fin');
  await page.waitForURL((u) => u.pathname === '/admin/exports/');
  await page.waitForSelector('#finance:not([hidden])');
  assert.equal(await page.isHidden('#labels'), true, 'no labels for finance');
  assert.equal(await page.isHidden('#refused'), true);
  assert.deepEqual(await page.$$eval('#staff-nav a', (as) => as.map((a) => a.textContent)), ['Exports'],
    'no link to pages finance cannot use');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page fits a phone (${overflow} px too wide)`);

  const before = query('SELECT count(*) AS n FROM customer_disclosures')[0].n;
  const fin = await downloadBy(page, '#finance-csv');
  assert.equal(fin.name, 'finance.csv');
  assert.match(fin.bytes.toString('utf8'), /^"customer_id","first_name",/);
  await page.waitForSelector('#finance-result .ok');
  assert.match(await page.textContent('#finance-result'), /Recorded: Each person in the file is recorded as a disclosure/);
  assert.equal(await page.$('#finance-result .audit-entry'), null, 'finance cannot read the audit log');
  assert.equal(query("SELECT count(*) AS n FROM customer_disclosures WHERE staff_name = 'fin'")[0].n, 1);
  assert.equal(query('SELECT count(*) AS n FROM customer_disclosures')[0].n, before + 1);
  await page.screenshot({ path: path.join(OUTPUT, 'admin-exports-phone.png'), fullPage: true });

  // The audit log is not theirs: said so, and nothing asked of the API.
  const audit = await open(context, `${base}/admin/audit/`);
  await audit.waitForSelector('#refused:not([hidden])');
  assert.match(await audit.textContent('#refused'), /for administrators.*fin.*finance/s);
  assert.equal(await audit.isHidden('#audit-page'), true);

  // Their role changes under the page: the server's answer is shown as it is.
  execFileSync(BIN, ['user', 'role', 'fin', 'analyst', '--config', config], { stdio: 'ignore' });
  const deadline = Date.now() + 10000;
  while ((await context.request.get(`${base}/api/me`).then((r) => r.json())).role !== 'analyst') {
    assert.ok(Date.now() < deadline, 'the role change reached the session');
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.click('#finance-csv');
  await page.waitForSelector('#finance-error:not([hidden])');
  assert.equal(await page.textContent('#finance-error'), 'The export was refused: the analyst role ' +
    'may not use this route (forbidden, HTTP 403). Nothing was downloaded or recorded.');
  assert.equal(await page.textContent('#finance-result'), '');
  assert.equal(query('SELECT count(*) AS n FROM customer_disclosures')[0].n, before + 1);
  execFileSync(BIN, ['user', 'role', 'fin', 'finance', '--config', config], { stdio: 'ignore' });
  assert.deepEqual(page.problems, []);
  assert.deepEqual(audit.problems, []);
  await context.close();
});

test('an analyst is told politely that neither page is theirs', async () => {
  const context = await browser.newContext();
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/admin/exports/')}`);
  await signIn(page, 'ann');
  await page.waitForURL((u) => u.pathname === '/admin/exports/');
  await page.waitForSelector('#refused:not([hidden])');
  assert.match(await page.textContent('#refused'),
    /No exports for your role[\s\S]*signed in as ann, whose role is analyst, so none of them is yours/);
  assert.equal(await page.isHidden('#labels'), true);
  assert.equal(await page.isHidden('#finance'), true);
  assert.deepEqual(await page.$$eval('#staff-nav a', (as) => as.map((a) => a.textContent)),
    ['API keys', 'Dashboard']);
  await axe(page, 8);
  await page.goto(`${base}/admin/audit/`);
  await page.waitForSelector('#refused:not([hidden])');
  assert.match(await page.textContent('#refused-text'), /The audit log is for administrators/);
  assert.equal(await page.isHidden('#audit-page'), true);
  assert.deepEqual(page.problems, []);
  await context.close();
});
