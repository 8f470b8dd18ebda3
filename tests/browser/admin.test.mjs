// The customer-service pages (web/admin/) in Debian's Chromium, driven by
// playwright-core, against the real server with the customers plugin: the
// sign-in they send a stranger to, adding a customer (with a validation
// error shown beside the form first), a CSV import and search with paging,
// a flag and a field changed, an order with an open invoice, an erasure the
// open invoice refuses (409: the holds named, the record restricted), an
// invoice paid, an access request whose export is downloaded with the
// session's CSRF token (a zip) and completes the request, the request list
// with an overdue request highlighted and a filter, a refusal's statement,
// a deadline extended, signing out; a visitor who is not in the register
// (a consent and events under their visitor id) given their export and
// then erased from the requests page, a malformed id refused in the page,
// an erasure waiting for an open access request, and a linked id sent to
// its customer's page; finance and analyst accounts told politely the pages are not theirs; the dashboard's link for the roles
// that may use them; ids only in the addresses; axe-core's WCAG 2.1 A/AA
// rules; a phone's width; no script error, no CSP violation, and a
// screenshot that the test output keeps.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/admin.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshot goes (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, recordProblems, axeCheck, axeRun, shutDown, addStaff, testPaths } from './harness.mjs';

const { BIN, ROOT, OUTPUT, AXE } = testPaths();

const USERS = {
  cas: { role: 'customer_service', password: 'walnut-Harbor-19-quill' },
  fin: { role: 'finance', password: 'maple.Signal.88.drift' },
  ann: { role: 'analyst', password: 'copper+Fjord+42+heron' },
};

let dir, db, seula, base, browser;

before(async () => {
  for (const f of [BIN, AXE]) if (!existsSync(f)) throw new Error(`${f} is missing (build seula; npm ci installs the rest)`);
  dir = mkdtempSync(path.join(tmpdir(), 'seula-admin-'));
  db = path.join(dir, 'seula.db');
  const config = path.join(dir, 'seula.ini');
  writeFileSync(config, `; written by tests/browser/admin.test.mjs
[server]
listen = 127.0.0.1:0
db = ${db}
web_root = ${path.join(ROOT, 'web')}
plugin_dir = ${path.join(path.dirname(path.resolve(BIN)), 'plugins')}
trusted_proxies = 127.0.0.1/8, ::1

[auth]
login_max_failures = 100

[plugins]
load = anonymize, analytics, customers

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

// A page that records script errors, console errors and CSP violations,
// and every address it was at.  `expected`: [status, method, path regexp]
// of the API answers the test provokes on purpose (the browser reports
// each 4xx of a fetch as a console error).
async function open(context, url, expected = []) {
  const page = await context.newPage();
  page.addresses = [];
  const failed = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push({ status: r.status(), method: r.request().method(), url: r.url() });
  });
  await recordProblems(page, (m) => {
    const s = /status of (\d+)/.exec(m.text());
    const at = m.location().url;
    return !!s && expected.some(([status, method, re]) => Number(s[1]) === status && re.test(new URL(at).pathname) &&
      failed.some((f) => f.status === status && f.method === method && f.url === at));
  });
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) page.addresses.push(f.url()); });
  await page.goto(url);
  return page;
}

async function signIn(page, name) {
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#username', name);
  await page.fill('#password', USERS[name].password);
  await page.click('#submit');
}

// The server's database, read only, as sqlite3 -json gives it.
function query(sql) {
  const out = execFileSync('sqlite3', ['-json', `file:${db}?mode=ro`, sql], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}
const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;

async function until(what, fn, timeoutMs = 10000) {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A visitor as the banner and the tracker make one: a new visitor id with
// every category consented to, and `events` sent under it; the id, once
// the events are stored.
async function consentedVisitor(events) {
  const vid = randomUUID();
  const cfg = await (await fetch(`${base}/api/consent/config?site=demo&lang=en`)).json();
  const offered = cfg.categories.filter((c) => c !== 'necessary');
  const consent = await fetch(`${base}/api/consent`, {
    method: 'POST', headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify({
      site: 'demo', policy_version: cfg.policy_version, texts_hash: cfg.texts_hash, language: cfg.language,
      decisions: Object.fromEntries(offered.map((c) => [c, true])),
      preselected: Object.fromEntries(offered.map((c) => [c, false])),
      method: 'accept_all', source: 'banner', given_at: Date.now(), page: 'http://localhost/', visitor_id: vid,
    }),
  });
  assert.equal(consent.status, 201, await consent.text());
  const sent = await fetch(`${base}/api/collect`, {
    method: 'POST', headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify(events.map((e) => ({ site: 'demo', url: 'http://localhost/shop', ...e, visitor_id: vid }))),
  });
  assert.equal(sent.status, 204, await sent.text());
  await until(`the events of ${vid}`, () =>
    query(`SELECT count(*) AS n FROM events WHERE visitor_id = ${quote(vid)}`)[0].n === events.length);
  return vid;
}

// The CSV files of a zip by name, as rows of objects (python3's zipfile).
function zipCsv(file) {
  return JSON.parse(execFileSync('python3', ['-c', `import csv, io, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({n: list(csv.DictReader(io.StringIO(z.read(n).decode("utf-8"))))
                  for n in z.namelist() if n.endswith(".csv")}))`, file], { encoding: 'utf8' }));
}

// Minor violations are shown; serious and critical ones fail.
const axe = (page, minPasses = 15) => axeCheck(page, minPasses);

const text = (page, sel) => page.textContent(sel).then((t) => t.replace(/\s+/g, ' ').trim());
const focused = (page) => page.evaluate(() => document.activeElement && (document.activeElement.id || document.activeElement.tagName));

// The signed-in browser's own answer from the API (its cookie, no page).
async function apiGet(context, p) {
  const r = await context.request.get(`${base}${p}`);
  assert.equal(r.status(), 200, `${p}: ${await r.text()}`);
  return r.json();
}

// File a request of `type` on the customer's page, with a way of
// verification; once its answer (a new one) is shown, the request's id.
async function fileRequest(page, type, extra = async () => {}) {
  const shown = () => document.querySelector('#dsr-result')?.textContent || '';
  const before = await page.evaluate(shown);
  await page.selectOption('#dsr-type', type);
  await page.selectOption('#dsr-verification', { index: 1 });
  await page.fill('#dsr-verification-detail', 'signature compared with the order form');
  await extra();
  await page.click('#dsr-submit');
  await page.waitForFunction((b) => {
    const t = document.querySelector('#dsr-result')?.textContent;
    return t && t !== b;
  }, before);
  return Number(/#(\d+)/.exec(await page.evaluate(shown))[1]);
}

test('customer service keeps the register and answers requests', async () => {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await open(context, `${base}/admin/`, [
    [400, 'POST', /^\/api\/customers$/], // the bad e-mail address, on purpose
    [409, 'POST', /^\/api\/customers$/], // her address again, on purpose
    [409, 'POST', /^\/api\/dsr$/], // the erasure a legal hold refuses
    [413, 'POST', /^\/api\/customers\/import$/], // a file too large, on purpose
    [422, 'POST', /^\/api\/customers\/import$/], // a file without its source, on purpose
  ]);

  // A stranger is sent to sign in, and comes back.
  await page.waitForURL(/\/login\/\?next=/);
  assert.equal(new URL(page.url()).searchParams.get('next'), '/admin/');
  await signIn(page, 'cas');
  await page.waitForURL(`${base}/admin/`);
  await page.waitForSelector('#account:not([hidden])');
  assert.equal(await text(page, '#who'), 'cas');
  assert.equal(await text(page, '#role'), 'customer service');
  assert.equal(await page.isHidden('#nav-dashboard'), true, 'no statistics link for customer service');
  assert.equal(await page.isHidden('#nav-audit'), true, 'no audit log link for customer service');
  assert.equal(await page.isHidden('#nav-keys'), true, 'no API keys link for customer service');
  assert.equal(await page.isVisible('#nav a[href="/admin/exports/"]'), true, 'the labels are theirs');

  // Add a customer: the API's validation error beside the form, the field
  // marked and focused; then added.
  await page.click('#add-customer');
  await page.waitForURL(`${base}/admin/customers/new`);
  assert.equal(await focused(page), 'new-first_name', 'the first field has the focus');
  await page.fill('#new-first_name', 'Aino');
  await page.fill('#new-last_name', 'Testinen');
  await page.fill('#new-email', 'aino.testinen-at-example');
  await page.fill('#new-country', 'fi');
  await page.click('#new-submit');
  await page.waitForSelector('#new-customer .form-error:not(:empty)');
  assert.match(await text(page, '#new-customer .form-error'), /^E-mail: not an email address\.$/);
  assert.equal(await page.getAttribute('#new-email', 'aria-invalid'), 'true');
  assert.equal(await focused(page), 'new-email');
  await page.fill('#new-email', 'aino.testinen@example.com');
  await page.fill('#new-phone', '+358 40 123 4567');
  await page.fill('#new-city', 'Turku');
  await page.click('#new-submit');
  await page.waitForURL(/\/admin\/customers\/\d+$/);
  const id = Number(/(\d+)$/.exec(page.url())[1]);
  await page.waitForSelector('#details');
  assert.match(await text(page, 'h1'), /^Aino Testinen · customer \d+$/);
  // The window title, which the browser's history keeps, has the id only.
  assert.equal(await page.title(), `Customer ${id} · Customer service · Seula`);
  assert.match(await text(page, '.notice.ok'), /Aino Testinen was added/);
  assert.equal(await focused(page), 'H1', 'the new view\'s heading has the focus');
  let c = await apiGet(context, `/api/customers/${id}`);
  assert.equal(c.email, 'aino.testinen@example.com');
  assert.equal(c.country, 'FI');

  // A CSV import of 21 more, through the page, then search with paging.
  await page.click('a[data-nav="register"]');
  await page.waitForURL(`${base}/admin/`);
  const rows = Array.from({ length: 21 }, (_, i) => `Sivu${String(i).padStart(2, '0')},Pagerson,sivu${i}@example.com`);
  await page.click('details.card summary');
  // A spreadsheet's "CSV" in Windows-1252 is refused in the page, not
  // stored with its ä and ö turned into U+FFFD.
  const early = [];
  const onImport = (r) => { if (r.url().endsWith('/api/customers/import')) early.push(r.method()); };
  page.on('request', onImport);
  await page.setInputFiles('input[type="file"]', {
    name: 'ansi.csv', mimeType: 'text/csv',
    buffer: Buffer.from('first_name,last_name,email\nP\xe4ivi,M\xe4kel\xe4,paivi.ansi@example.com\n', 'latin1'),
  });
  await page.click('details.card button[type="submit"]');
  await page.waitForSelector('details.card .form-error:not(:empty)');
  assert.match(await text(page, 'details.card .form-error'), /not UTF-8 text.*nothing was imported/);
  assert.equal(await page.getAttribute('input[type="file"]', 'aria-invalid'), 'true');
  page.off('request', onImport);
  assert.deepEqual(early, [], 'nothing sent');
  assert.equal((await apiGet(context, '/api/customers?q=paivi.ansi')).total, 0);
  // One larger than the server takes ([limits] max_body_bytes, 64 KiB by
  // default) is said so in words, with what to do, not as "the body".
  const many = Array.from({ length: 2500 }, (_, i) => `Big${i},Person,big${i}@example.org`).join('\n');
  await page.setInputFiles('input[type="file"]', {
    name: 'big.csv', mimeType: 'text/csv', buffer: Buffer.from(`first_name,last_name,email\n${many}\n`),
  });
  await page.click('details.card button[type="submit"]');
  await page.waitForFunction(() => /too large/.test(document.querySelector('details.card .form-error').textContent));
  assert.equal(await text(page, 'details.card .form-error'),
    'The file is too large to import at once (the server takes up to 64 KiB): split it into smaller files, or ask an administrator to raise [limits] max_body_bytes. Nothing was imported.');
  assert.equal((await apiGet(context, '/api/customers?q=big1@example.org')).total, 0);
  await page.setInputFiles('input[type="file"]', {
    name: 'register.csv', mimeType: 'text/csv',
    buffer: Buffer.from(`first_name,last_name,email\n${rows.join('\n')}\nAino,Toinen,AINO.Testinen@example.com\n`),
  });
  // Without a source (the file has no column of it), nothing: each person
  // is told where their record comes from.
  await page.click('details.card button[type="submit"]');
  await page.waitForSelector('details.card .notice.bad');
  assert.match(await text(page, 'details.card .notice.bad'), /Line 1, Source: say where these records come from/);
  // The Source field counts characters as the server does, code points:
  // 100 trees (200 UTF-16 units) fit, 101 are said too many, nothing sent.
  const tooLong = [];
  const onTooLong = (r) => { if (r.url().includes('/api/customers/import')) tooLong.push(r.method()); };
  page.on('request', onTooLong);
  await page.fill('details.card input[name="source"]', '\u{1f332}'.repeat(100));
  assert.equal([...await page.inputValue('details.card input[name="source"]')].length, 100);
  await page.fill('details.card input[name="source"]', '\u{1f332}'.repeat(101));
  await page.click('details.card button[type="submit"]');
  await page.waitForFunction(() => /up to 100/.test(document.querySelector('details.card .form-error').textContent));
  assert.equal(await text(page, 'details.card .form-error'), 'The source is up to 100 characters; this one has 101.');
  page.off('request', onTooLong);
  assert.deepEqual(tooLong, [], 'nothing sent');
  await page.fill('details.card input[name="source"]', 'trade fair 2025');
  // A double click imports once.
  const imports = [];
  page.on('request', (r) => { if (r.url().includes('/api/customers/import')) imports.push(r.method()); });
  await page.dblclick('details.card button[type="submit"]');
  await page.waitForSelector('details.card .notice.ok');
  assert.equal(await text(page, 'details.card .notice.ok'), '21 customers imported.');
  assert.deepEqual(imports, ['POST'], 'one import of the file');
  const [sivu] = (await apiGet(context, '/api/customers?q=sivu3@example.com')).results;
  assert.equal((await apiGet(context, `/api/customers/${sivu.id}`)).source, 'trade fair 2025');
  // A row of a person already in the register is skipped, and said so.
  const skipped = await text(page, 'details.card .notice.warn');
  assert.match(skipped, /^1 row was skipped: the e-mail address is already a customer's\./);
  assert.match(skipped, new RegExp(`Line 23: a customer has this email: skipped \\(customer ${id}\\)$`));

  // Adding her again is refused beside the form, her record a click away.
  await page.click('#add-customer');
  await page.waitForURL(`${base}/admin/customers/new`);
  await page.fill('#new-first_name', 'Aino');
  await page.fill('#new-email', 'Aino.Testinen@EXAMPLE.com');
  await page.click('#new-submit');
  await page.waitForSelector('#new-customer .form-error:not(:empty)');
  assert.equal(await text(page, '#new-customer .form-error'),
    `E-mail: customer ${id} has this address. Open customer ${id}`);
  assert.equal(await page.getAttribute('#new-email', 'aria-invalid'), 'true');
  assert.equal(await focused(page), 'new-email');
  await page.click('#new-customer .form-error a');
  await page.waitForURL(`${base}/admin/customers/${id}`);
  await page.waitForSelector('#flags-form');
  await page.click('a[data-nav="register"]');
  await page.waitForURL(`${base}/admin/`);

  await page.fill('#search-q', 'pagerson');
  await page.selectOption('#search-limit', '20');
  await page.press('#search-q', 'Enter');
  await page.waitForFunction(() => /of 21 customers/.test(document.querySelector('#results-count')?.textContent));
  assert.equal(await text(page, '#results-count'), '1–20 of 21 customers.');
  assert.equal(await page.locator('#results-table tbody tr').count(), 20);
  assert.equal(await focused(page), 'results-count');
  await page.click('#page-next');
  await page.waitForFunction(() => /^21–21/.test(document.querySelector('#results-count')?.textContent));
  assert.equal(await text(page, '#results-table tbody tr th'), 'Sivu20 Pagerson');
  await page.click('#page-prev');
  await page.waitForFunction(() => /^1–20/.test(document.querySelector('#results-count')?.textContent));

  // Find her, by a part of the name in another case.
  await page.fill('#search-q', 'TESTIN');
  await page.click('#search-submit');
  await page.waitForFunction(() => document.querySelector('#results-count')?.textContent === '1 customer match.');
  assert.equal(await text(page, '#results-table tbody tr th'), 'Aino Testinen');
  assert.match(await text(page, '#results-table tbody tr'), /aino\.testinen@example\.com/);
  await page.click('#results-table tbody tr th a');
  await page.waitForURL(`${base}/admin/customers/${id}`);
  await page.waitForSelector('#flags-form');

  // Back keeps the search (in the page, not in the address).
  await page.goBack();
  await page.waitForSelector('#results-table');
  assert.equal(await page.inputValue('#search-q'), 'TESTIN');
  await page.goForward();
  await page.waitForSelector('#flags-form');

  // A flag set.
  await page.check('#flag-objects_direct_marketing');
  await page.click('#flags-save');
  await page.waitForFunction(() => /Saved: objects to direct marketing on/.test(document.querySelector('#flags .status')?.textContent));
  c = await apiGet(context, `/api/customers/${id}`);
  assert.equal(c.flags.objects_direct_marketing, true);
  assert.equal(c.flags.restricted, false);
  assert.equal(await page.isChecked('#flag-objects_direct_marketing'), true);

  // A field changed.
  await page.fill('#c-city', 'Tampere');
  await page.click('#customer-save');
  await page.waitForFunction(() => document.querySelector('#details .status')?.textContent === 'Saved: city.');
  assert.equal((await apiGet(context, `/api/customers/${id}`)).city, 'Tampere');

  // An order with an open invoice: the hold appears.
  assert.equal(await text(page, '#holds-list'), 'None: nothing keeps the record from erasure.');
  // The lines are named by their place, after a removal too; the only
  // line cannot be removed.
  const lineLabels = () => page.$$eval('.lines-table tbody input[name="description"]',
    (xs) => xs.map((x) => x.getAttribute('aria-label')));
  assert.equal(await page.isDisabled('.lines-table button'), true);
  await page.click('#order-form button:has-text("Add a line")');
  assert.deepEqual(await lineLabels(), ['Line 1: description', 'Line 2: description']);
  await page.click('.lines-table tbody tr:first-child button');
  assert.deepEqual(await lineLabels(), ['Line 1: description']);
  assert.equal(await page.getAttribute('.lines-table button', 'aria-label'), 'Remove line 1');
  assert.equal(await page.isDisabled('.lines-table button'), true);
  await page.fill('#order-number', 'A-1001');
  await page.fill('#order-date', '2026-01-15');
  await page.selectOption('#order-invoice', 'open');
  await page.fill('#order-form [name="description"]', 'Widget');
  await page.fill('#order-form [name="quantity"]', '2');
  await page.fill('#order-form [name="unit_price"]', '12,50');
  await page.click('#order-submit');
  await page.waitForSelector('#orders-table');
  await page.waitForFunction(() => /Order A-1001 added/.test(document.querySelector('#orders-status')?.textContent));
  const orderRow = await page.$$eval('#orders-table tbody tr:first-child > *', (cells) => cells.map((x) => x.textContent));
  assert.deepEqual(orderRow.slice(0, 4), ['A-1001', '2026-01-15', '2 × Widget à €12.50', '€25.00']);
  assert.equal(await page.inputValue('#orders-table select'), 'open');
  assert.match(await text(page, '#holds-list'), /Open invoice/);
  const [order] = (await apiGet(context, `/api/customers/${id}/orders`)).orders;
  assert.equal(order.total_cents, 2500);
  assert.equal(order.invoice_status, 'open');

  // Erasure: the open invoice refuses it; the page names the hold and
  // says the record was restricted instead.
  const erasureId = await fileRequest(page, 'erasure', () => page.check('#dsr-confirm'));
  await page.waitForSelector('#dsr-result .notice.bad');
  const refusal = await text(page, '#dsr-result');
  assert.match(refusal, /Not erased: a legal hold keeps the record\./);
  assert.match(refusal, /Open invoice: an order's invoice is unpaid/);
  assert.match(refusal, /restricted instead/);
  assert.match(refusal, /Nobody was given the person's data: nobody to notify\./);
  assert.ok(await page.evaluate(() => document.querySelector('#dsr-result').contains(document.activeElement)),
    'the answer has the focus');
  await page.waitForSelector('#restricted-notice');
  assert.equal(await page.isChecked('#flag-restricted'), true);
  c = await apiGet(context, `/api/customers/${id}`);
  assert.equal(c.flags.restricted, true, 'restricted instead');

  // The invoice paid.
  await page.selectOption(`#invoice-${order.id}`, 'paid');
  await page.click(`#orders-table form button`);
  await page.waitForFunction(() => /now paid/.test(document.querySelector('#orders-status')?.textContent));
  assert.equal((await apiGet(context, `/api/customers/${id}/orders`)).orders[0].invoice_status, 'paid');
  assert.doesNotMatch(await text(page, '#holds-list'), /Open invoice/);

  // Access: the export downloaded with the CSRF token, a zip; the request
  // is completed.
  const exportHeaders = [];
  page.on('request', (r) => { if (/\/api\/dsr\/\d+\/export$/.test(r.url())) exportHeaders.push(r.headers()); });
  const access = await fileRequest(page, 'access');
  await page.waitForSelector('#dsr-download');
  assert.equal((await apiGet(context, `/api/dsr/${access}`)).status, 'open');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dsr-download')]);
  assert.equal(download.suggestedFilename(), `dsr-${access}-export.zip`);
  const zip = readFileSync(await download.path());
  assert.ok(zip.length > 100, `a zip of ${zip.length} bytes`);
  assert.equal(zip.subarray(0, 2).toString('latin1'), 'PK', 'a zip file');
  assert.equal(exportHeaders.length, 1);
  const me = await apiGet(context, '/api/me');
  assert.equal(exportHeaders[0]['x-csrf-token'], me.csrf, 'the file is fetched with the CSRF token');
  await page.waitForFunction(() => /request is completed/.test(document.querySelector('#dsr-result')?.textContent));
  assert.equal(await text(page, `#requests tr[data-request="${access}"] .status-cell`), 'Completed');
  assert.equal((await apiGet(context, `/api/dsr/${access}`)).status, 'completed');

  // Another access request, left open, and made overdue (the server's
  // clock is real: its dates are moved in the database).
  const late = await fileRequest(page, 'access');
  execFileSync('python3', ['-c', `import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
with db:
    db.execute("UPDATE customer_dsr_requests SET received_date = '2020-01-31', due_date = '2020-02-29' WHERE id = ?", (int(sys.argv[2]),))
db.close()`, db, String(late)]);
  // A restriction is done at once (completed); one more open request.
  const restriction = await fileRequest(page, 'restriction');
  assert.match(await text(page, '#dsr-result'), /Restriction request #\d+ recorded\.\s*The record is now restricted\.\s*Nobody was given the person's data: nobody to notify\./);
  const pending = await fileRequest(page, 'access');
  assert.deepEqual([access, late, restriction, pending].map((n) => n - access), [0, 1, 2, 3],
    `request ids ${[access, late, restriction, pending]}`);

  // The list: open ones, the overdue one first and highlighted.
  await page.click('a[data-nav="requests"]');
  await page.waitForURL(`${base}/admin/requests`);
  // The list's own count: the customer page just left has a requests
  // table too, which a wait for the table could still find.
  await page.waitForSelector('#dsr-count');
  const listed = await page.$$eval('.requests-table tbody tr', (trs) => trs.map((tr) => ({
    id: Number(tr.dataset.request), overdue: tr.classList.contains('overdue'),
    cells: [...tr.children].map((td) => td.textContent),
  })));
  // The refused erasure is not open again, though the invoice that held
  // it was paid above: Aino's access requests are open (an erasure waits
  // for them).
  assert.deepEqual(listed.map((r) => r.id), [late, pending]);
  assert.equal(listed[0].overdue, true);
  assert.equal(listed[1].overdue, false);
  assert.deepEqual(listed[0].cells.slice(1, 4), ['Access', 'Aino Testinen', '2020-01-31']);
  assert.match(listed[0].cells[5], /^Overdue by \d+ days$/);
  assert.match(listed[1].cells[5], /^\d+ days$/);
  assert.match(await text(page, '#dsr-count'), /2 requests · 1 overdue/);

  // Filtered: all of them; the refused erasure's statement.
  await page.selectOption('#dsr-status', 'all');
  await page.waitForURL(`${base}/admin/requests?status=all`);
  await page.waitForFunction(() => document.querySelectorAll('.requests-table tbody tr').length === 5);
  await page.selectOption('#dsr-status', 'restricted');
  await page.waitForFunction(() => document.querySelectorAll('.requests-table tbody tr').length === 1);
  const erasure = await page.$$eval('.requests-table tbody tr > *', (cells) => cells.map((x) => x.textContent));
  assert.deepEqual([erasure[1], erasure[2], erasure[6]], ['Erasure', 'Aino Testinen', 'Restricted instead']);
  await page.click('.requests-table tbody tr th a');
  await page.waitForSelector('#statement-show');
  assert.equal(await text(page, '#request-status'), 'Restricted instead');
  assert.equal(await page.locator('#hold-ended').count(), 0);
  // The request page says whose it is and how the identity was checked.
  const facts = await page.$$eval('dl.facts > *', (xs) => xs.map((x) => x.textContent));
  assert.equal(facts[facts.indexOf('Customer') + 1], 'Aino Testinen');
  assert.equal(facts[facts.indexOf('Identity verified') + 1],
    'Signed written request, signature checked against the register: signature compared with the order form');
  await page.click('#statement-show');
  await page.waitForSelector('#statement-text:not([hidden])');
  const statement = await text(page, '#statement-text');
  assert.match(statement, /Statement of reasons/);
  assert.match(statement, /unpaid invoices/);
  assert.equal(await focused(page), 'statement-text');

  // Extend the open request's deadline, with the reason.
  await page.goto(`${base}/admin/requests/${pending}`);
  await page.waitForSelector('#extend-form');
  const before = await apiGet(context, `/api/dsr/${pending}`);
  await page.click('#extend-submit');
  await page.waitForSelector('#extend-form .form-error:not(:empty)');
  assert.equal(await focused(page), 'extend-reason', 'a reason is asked for first');
  await page.selectOption('#extend-months', '1');
  await page.fill('#extend-reason', 'Several requests at once');
  await page.dblclick('#extend-submit'); // extended once, by the month chosen
  await page.waitForSelector('#extensions');
  assert.match(await text(page, '#extensions'), /1 month by cas, to \d{4}-\d\d-\d\d\. Reason: Several requests at once/);
  const after = await apiGet(context, `/api/dsr/${pending}`);
  assert.equal(after.extended_months, 1);
  assert.notEqual(after.due_date, before.due_date);

  // A restriction's page keeps whom to tell, as its answer said.
  await page.goto(`${base}/admin/requests/${restriction}`);
  await page.waitForSelector('#notify');
  assert.match(await text(page, '#notify'), /Recipients to notify\s*Nobody was given the person's data: nobody to notify\./);

  // The overdue request cannot be extended: no form, and why.
  await page.goto(`${base}/admin/requests/${late}`);
  await page.waitForSelector('#extend');
  assert.equal(await page.locator('#extend-form').count(), 0);
  assert.match(await text(page, '#extend'), /deadline has passed/);

  // Her access requests answered, nothing holds the refused erasure: it
  // is open again, to be filed anew.
  for (const r of [late, pending]) {
    const got = await context.request.get(`${base}/api/dsr/${r}/export`, { headers: { 'X-CSRF-Token': me.csrf } });
    assert.equal(got.status(), 200);
  }
  await page.goto(`${base}/admin/requests`);
  await page.waitForSelector('#dsr-count');
  const reopened = await page.$$eval('.requests-table tbody tr', (trs) => trs.map((tr) => [
    Number(tr.dataset.request), tr.querySelector('.status-cell').textContent]));
  assert.deepEqual(reopened, [[erasureId, 'Hold ended: erase now']]);
  await page.goto(`${base}/admin/requests/${erasureId}`);
  await page.waitForSelector('#hold-ended');
  assert.equal(await text(page, '#request-status'), 'Hold ended: erase now');
  assert.match(await text(page, '#hold-ended'), /The legal hold has ended: nothing keeps the record now\. File the erasure again/);
  // A new access request of hers, open, for the pages below.
  const again = await context.request.post(`${base}/api/dsr`, {
    headers: { 'X-CSRF-Token': me.csrf },
    data: { type: 'access', customer_id: id, verification: 'Identity document checked in person' },
  });
  assert.equal(again.status(), 201, await again.text());

  // A slow record does not take over the page the user went on to.
  await page.goto(`${base}/admin/requests`);
  await page.waitForSelector('.requests-table');
  const slow = `${base}/api/customers/${id}`;
  await page.route(slow, async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await page.click(`.requests-table a[href="/admin/customers/${id}"] >> nth=0`);
  await page.click('a[data-nav="requests"]');
  await page.waitForTimeout(2500);
  await page.unroute(slow);
  assert.equal(new URL(page.url()).pathname, '/admin/requests');
  assert.equal(await text(page, 'h1'), 'Data subject requests');
  assert.match(await page.title(), /^Requests · /);

  // An address saved shows as stored, masked, and is not sent again.
  await page.goto(`${base}/admin/customers/${id}`);
  await page.waitForSelector('#details');
  await page.fill('#c-ip', '203.0.113.77');
  await page.click('#customer-save');
  await page.waitForFunction(() => /Saved: ip address/.test(document.querySelector('#details .status')?.textContent));
  const stored = (await apiGet(context, `/api/customers/${id}`)).ip;
  assert.notEqual(stored, '203.0.113.77');
  assert.equal(await page.inputValue('#c-ip'), stored);

  // Amounts in the currency's own decimals: yen have none.
  await page.fill('#order-number', 'Y-1');
  await page.fill('#order-date', '2026-02-01');
  await page.fill('#order-form [name="currency"]', 'JPY');
  await page.fill('#order-form [name="description"]', 'Tenugui');
  await page.fill('#order-form [name="unit_price"]', '300');
  await page.click('#order-submit');
  await page.waitForFunction(() => /Order Y-1 added/.test(document.querySelector('#orders-status')?.textContent));
  const yen = await page.$$eval('#orders-table tbody tr', (trs) => trs.map((tr) => tr.children[3].textContent));
  assert.ok(yen.includes('JP¥300'), `yen without decimals: ${yen.join(' | ')}`);

  // A phone's width: nothing wider than the screen.
  await page.goto(`${base}/admin/customers/${id}`);
  await page.waitForSelector('#dsr-form');
  await page.setViewportSize({ width: 375, height: 800 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the page is ${width} px wide at 375`);
  await page.setViewportSize({ width: 1280, height: 900 });

  mkdirSync(OUTPUT, { recursive: true });
  const shot = path.join(OUTPUT, 'admin.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  await axe(page);

  // Only ids in the addresses the page was at.
  for (const a of page.addresses)
    assert.doesNotMatch(a, /aino|testinen|pagerson|example\.com|tampere/i, `no personal data in ${a}`);

  // Signing out ends the session on the server, and another tab of the
  // pages clears the record it showed at once, without a request.
  const other = await open(context, `${base}/admin/customers/${id}`);
  await other.waitForSelector('#details');
  const asked = [];
  other.on('request', (r) => asked.push(r.url()));
  await page.click('#logout');
  await page.waitForURL(`${base}/login/`);
  assert.equal((await context.request.get(`${base}/api/me`)).status(), 401);
  await other.waitForURL(/\/login\/\?next=%2Fadmin%2Fcustomers%2F\d+&ended=1$/, { timeout: 5000 });
  // (the sign-in page it lands on asks /api/session itself)
  assert.deepEqual(asked.filter((u) => u.includes('/api/') && !u.endsWith('/api/session')), [],
    'told by the other tab, not by a 401');
  assert.deepEqual(page.problems, [], 'no script error, no unexpected error answer, no CSP violation');
  assert.deepEqual(other.problems, []);
  await context.close();
});

test('a visitor who is not in the register is given their export and erased from the requests page', async () => {
  const mine = await consentedVisitor([
    { type: 'pageview', url: 'http://localhost/visitor/1' },
    { type: 'pageview', url: 'http://localhost/visitor/2' },
    { type: 'event', name: 'signup' },
  ]);
  const theirs = await consentedVisitor([{ type: 'pageview', url: 'http://localhost/other/1' },
    { type: 'pageview', url: 'http://localhost/other/2' }]);

  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await open(context, `${base}/admin/requests`, [
    [409, 'POST', /^\/api\/dsr$/], // the open request and the linked visitor id, on purpose
  ]);
  await page.waitForURL(/\/login\/\?next=%2Fadmin%2Frequests/);
  await signIn(page, 'cas');
  await page.waitForURL(`${base}/admin/requests`);
  await page.waitForSelector('#visitor-form');
  const me = await apiGet(context, '/api/me');
  const posted = [];
  page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/dsr') posted.push(r.postDataJSON()); });

  // Labelled, the hints tied to their fields.
  assert.equal(await text(page, '#visitor-dsr-heading'), 'A website visitor who is not in the register');
  assert.equal(await text(page, 'label[for="visitor-id"]'), 'Visitor id');
  assert.equal(await page.getAttribute('#visitor-id', 'aria-describedby'), 'visitor-id-hint');
  assert.deepEqual(await page.$$eval('#visitor-type option', (os) => os.map((o) => o.value)), ['', 'access', 'erasure']);
  assert.equal(await page.isHidden('#visitor-confirm'), true, 'no box to tick for access');

  // A malformed id is refused in the page: nothing is sent.
  await page.fill('#visitor-id', `${mine.slice(0, -1)}g`);
  await page.selectOption('#visitor-type', 'access');
  await page.click('#visitor-submit');
  await page.waitForSelector('#visitor-form .form-error:not(:empty)');
  assert.match(await text(page, '#visitor-form .form-error'), /^This is not a visitor id: it has 32 hexadecimal digits/);
  assert.equal(await page.getAttribute('#visitor-id', 'aria-invalid'), 'true');
  assert.match(await page.getAttribute('#visitor-id', 'aria-describedby'), /^visitor-id-hint err-\d+$/);
  assert.equal(await focused(page), 'visitor-id');
  // The form's rules in the invalid state too.
  const scoped = await axeRun(page, '#visitor-dsr');
  assert.deepEqual(scoped.violations, [], 'axe: no violation in the visitor\'s form');
  await axe(page);
  // The way of verification is asked for as on a customer's page.
  await page.fill('#visitor-id', mine.toUpperCase());
  await page.selectOption('#visitor-verification', 'Other');
  await page.click('#visitor-submit');
  await page.waitForFunction(() => document.activeElement?.id === 'visitor-verification-detail');
  assert.equal(await page.getAttribute('#visitor-id', 'aria-invalid'), null, 'the id is right now');
  assert.match(await text(page, '#visitor-form .form-error'), /^Describe how the identity was verified\.$/);
  assert.deepEqual(posted, [], 'nothing was sent while the form was not right');

  // Access: the request, its export downloaded (a zip of the visitor's
  // events and nobody else's), which completes it.
  await page.fill('#visitor-verification-detail', 'consent receipt shown by the person');
  await page.click('#visitor-submit');
  await page.waitForSelector('#visitor-result .notice.ok');
  assert.deepEqual(posted, [{ type: 'access', visitor_id: mine, verification: 'Other: consent receipt shown by the person' }]);
  const result = await text(page, '#visitor-result');
  const access = Number(/^Access request #(\d+) recorded\./.exec(result)[1]);
  assert.match(result, /The first download completes the request\./);
  assert.ok(await page.evaluate(() => document.querySelector('#visitor-result').contains(document.activeElement)),
    'the answer has the focus');
  assert.equal(await page.inputValue('#visitor-id'), '', 'the form is empty again');
  assert.deepEqual(await page.$$eval(`.requests-table tr[data-request="${access}"] > *`, (xs) => xs.map((x) => x.textContent)).then((c) => [c[1], c[2], c[6]]),
    ['Access', `Visitor ${mine}`, 'Open']);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dsr-download')]);
  assert.equal(download.suggestedFilename(), `dsr-${access}-export.zip`);
  const file = await download.path();
  const zip = readFileSync(file);
  assert.equal(zip.subarray(0, 2).toString('latin1'), 'PK', 'a zip file');
  const csvs = zipCsv(file);
  const events = csvs['core_events.csv'];
  assert.equal(events.length, 3, JSON.stringify(events));
  assert.deepEqual([...new Set(events.map((e) => e.visitor_id))], [mine]);
  assert.ok(!zip.includes(Buffer.from(theirs)), 'nothing of the other visitor in the zip');
  await page.waitForFunction((n) => new RegExp(`export of request #${n} was downloaded; the request is completed`)
    .test(document.querySelector('#visitor-result')?.textContent), access);
  assert.ok(await page.evaluate(() => document.querySelector('#visitor-result').contains(document.activeElement)));
  assert.equal(await page.locator(`.requests-table tr[data-request="${access}"]`).count(), 0, 'no longer open');
  const done = await apiGet(context, `/api/dsr/${access}`);
  assert.equal(done.status, 'completed');
  assert.equal(done.visitor_id, mine);

  // Erasure: the box to tick first, then everything under the id goes.
  await page.fill('#visitor-id', mine);
  await page.selectOption('#visitor-type', 'erasure');
  await page.selectOption('#visitor-verification', { index: 1 });
  await page.fill('#visitor-verification-detail', 'receipt and consent time given by e-mail');
  assert.equal(await text(page, '#visitor-submit'), 'Erase');
  await page.click('#visitor-submit');
  await page.waitForSelector('#visitor-form .form-error:not(:empty)');
  assert.equal(await text(page, '#visitor-form .form-error'), 'Tick the box to confirm: this cannot be undone.');
  assert.equal(await focused(page), 'visitor-confirm');
  assert.equal(posted.length, 1);
  await page.check('#visitor-confirm');
  await page.click('#visitor-submit');
  await page.waitForFunction(() => /^Erasure request #\d+ recorded/.test(document.querySelector('#visitor-result')?.textContent));
  const erased = await text(page, '#visitor-result');
  const erasure = Number(/^Erasure request #(\d+) recorded: the visitor's data was erased\./.exec(erased)[1]);
  assert.match(erased, /3 raw events deleted/);
  assert.match(erased, /1 consent record kept as proof without the visitor id/);
  assert.match(erased, /1 analytics visit deleted/);
  assert.equal(await page.getAttribute('#visitor-result a', 'href'), `/admin/requests/${erasure}`);
  assert.ok(await page.evaluate(() => document.querySelector('#visitor-result').contains(document.activeElement)));
  assert.equal(query(`SELECT count(*) AS n FROM events WHERE visitor_id = ${quote(mine)}`)[0].n, 0, 'their events are gone');
  assert.equal(query(`SELECT count(*) AS n FROM consent_records WHERE visitor_id = ${quote(mine)}`)[0].n, 0);
  assert.equal(query(`SELECT count(*) AS n FROM customer_dsr_requests WHERE visitor_id = ${quote(mine)}`)[0].n, 0);
  assert.equal(query(`SELECT count(*) AS n FROM events WHERE visitor_id = ${quote(theirs)}`)[0].n, 2, 'the other visitor\'s stay');
  await axe(page);
  await page.click('#visitor-result a');
  await page.waitForURL(`${base}/admin/requests/${erasure}`);
  await page.waitForSelector('dl.facts');
  const facts = await page.$$eval('dl.facts > *', (xs) => xs.map((x) => x.textContent));
  assert.equal(facts[facts.indexOf('Visitor') + 1], 'Visitor (erased)');
  assert.equal(await text(page, '#request-status'), 'Completed');

  // The other visitor's erasure waits for their open access request.
  const asked = await context.request.post(`${base}/api/dsr`, {
    headers: { 'X-CSRF-Token': me.csrf },
    data: { type: 'access', visitor_id: theirs, verification: 'Identity document checked in person' },
  });
  assert.equal(asked.status(), 201, await asked.text());
  const waiting = (await asked.json()).request.id;
  await page.click('a[data-nav="requests"]');
  await page.waitForSelector('#visitor-form');
  await page.fill('#visitor-id', theirs);
  await page.selectOption('#visitor-type', 'erasure');
  await page.selectOption('#visitor-verification', { index: 2 });
  await page.check('#visitor-confirm');
  await page.click('#visitor-submit');
  await page.waitForSelector('#visitor-form .form-error a');
  assert.equal(await text(page, '#visitor-form .form-error'),
    `Not erased: an access request of this visitor is still open. Give them its export first, then erase. Request #${waiting}`);
  assert.equal(await page.getAttribute('#visitor-form .form-error a', 'href'), `/admin/requests/${waiting}`);
  assert.equal(await focused(page), (await page.getAttribute('#visitor-form .form-error', 'id')));
  assert.equal(query(`SELECT count(*) AS n FROM events WHERE visitor_id = ${quote(theirs)}`)[0].n, 2, 'nothing erased');

  // A visitor id linked to a customer: the request is the customer's.
  const made = await context.request.post(`${base}/api/customers`, {
    headers: { 'X-CSRF-Token': me.csrf },
    data: { first_name: 'Linnea', last_name: 'Linked', email: 'linnea.linked@example.com' },
  });
  assert.equal(made.status(), 201, await made.text());
  const customer = (await made.json()).id;
  const linked = await consentedVisitor([{ type: 'pageview', url: 'http://localhost/a' },
    { type: 'event', name: 'identify', props: { email: 'linnea.linked@example.com' } }]);
  await until('the link', () => query(`SELECT customer_id FROM customer_links WHERE visitor_id = ${quote(linked)}`)
    .some((r) => r.customer_id === customer));
  await page.fill('#visitor-id', linked);
  await page.selectOption('#visitor-type', 'access');
  await page.selectOption('#visitor-verification', { index: 2 });
  await page.click('#visitor-submit');
  await page.waitForSelector('#visitor-form .form-error a');
  assert.equal(await text(page, '#visitor-form .form-error'),
    `This visitor id is linked to customer ${customer}: file the request on their page, where it covers all their visitor ids and their record. Open customer ${customer}`);
  assert.equal(await page.getAttribute('#visitor-form .form-error', 'role'), 'alert');
  assert.equal(await page.getAttribute('#visitor-id', 'aria-invalid'), 'true');
  assert.equal(await focused(page), 'visitor-id');
  assert.equal(query(`SELECT count(*) AS n FROM customer_dsr_requests WHERE visitor_id = ${quote(linked)}`)[0].n, 0);
  await page.click('#visitor-form .form-error a');
  await page.waitForURL(`${base}/admin/customers/${customer}`);
  await page.waitForSelector('#dsr-form');

  // Her anonymisation from her page: the record keeps no name or address,
  // the link to her visitor id is cut and no event keeps that id; the page
  // gives the reason the README gives for keeping her orders.
  const anonymised = await fileRequest(page, 'anonymisation', () => page.check('#dsr-confirm'));
  assert.match(await text(page, '#dsr-result'),
    /Names and contact details were cleared; orders stay, as accounting law keeps them\./);
  assert.deepEqual(query(`SELECT type, status FROM customer_dsr_requests WHERE id = ${anonymised}`),
    [{ type: 'anonymisation', status: 'completed' }]);
  assert.deepEqual(query(`SELECT first_name, last_name, email FROM customers WHERE id = ${customer}`),
    [{ first_name: null, last_name: null, email: null }]);
  assert.equal(query(`SELECT count(*) AS n FROM customer_links WHERE customer_id = ${customer}`)[0].n, 0);
  assert.equal(query(`SELECT count(*) AS n FROM events WHERE visitor_id = ${quote(linked)}`)[0].n, 0,
    'no event keeps her visitor id');

  for (const a of page.addresses) assert.doesNotMatch(a, new RegExp(`${mine}|${linked}`, 'i'), `no visitor id in ${a}`);
  assert.deepEqual(page.problems, [], 'no script error, no unexpected error answer, no CSP violation');
  await context.close();
});

test('a page left idle past the session\'s idle time clears what it shows', async () => {
  const context = await browser.newContext();
  await context.clock.install();
  const page = await open(context, `${base}/admin/requests`);
  await page.waitForURL(/\/login\/\?next=%2Fadmin%2Frequests/);
  await signIn(page, 'cas');
  await page.waitForURL(`${base}/admin/requests`);
  await page.waitForSelector('.requests-table');
  // 29 minutes without a request: still there (the idle time is 30).
  await context.clock.runFor(29 * 60 * 1000);
  assert.equal(new URL(page.url()).pathname, '/admin/requests');
  // Another tab's requests keep the session, and this tab, alive.
  const busy = await open(context, `${base}/admin/requests`);
  await busy.waitForSelector('.requests-table');
  for (const status of ['all', 'open', 'all']) {
    await context.clock.runFor(12 * 60 * 1000);
    await busy.selectOption('#dsr-status', status);
    await busy.waitForFunction((s) => new URLSearchParams(location.search).get('status') === (s === 'open' ? null : s)
      && document.body.dataset.state === 'ready', status);
  }
  assert.equal(new URL(page.url()).pathname, '/admin/requests', '36 minutes, the other tab busy');
  // Then both idle past 30 minutes: both leave.
  await context.clock.runFor(31 * 60 * 1000);
  await page.waitForURL(/\/login\/\?next=%2Fadmin%2Frequests&ended=1$/);
  await busy.waitForURL(/\/login\/\?next=%2Fadmin%2Frequests.*&ended=1$/);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(busy.problems, []);
  await context.close();
});

test('finance and analysts are told the pages are not theirs; the dashboard links them for the others', async () => {
  for (const name of ['fin', 'ann']) {
    const context = await browser.newContext();
    const page = await open(context, `${base}/admin/requests`);
    await page.waitForURL(/\/login\/\?next=%2Fadmin%2Frequests/);
    await signIn(page, name);
    await page.waitForURL(`${base}/admin/requests`);
    await page.waitForSelector('#role-notice');
    assert.match(await text(page, '#role-notice'),
      new RegExp(`Signed in as ${name}, ${USERS[name].role}: the customer register and data subject requests are for customer service and admins\\.`));
    assert.equal(await text(page, 'h1'), 'Not for your role');
    assert.equal(await page.isHidden('#nav'), true);
    assert.equal(await page.isVisible('#logout'), true, 'they can still sign out');
    // Finance is sent on to its own page, the finance export.
    if (name === 'fin') assert.equal(await page.getAttribute('#view a[href="/admin/exports/"]', 'href'), '/admin/exports/');
    await axe(page);
    assert.deepEqual(page.problems, [], `${name}: no error, not even a 403`);
    await context.close();
  }

  // The dashboard's header links here for customer service, not analysts.
  for (const [name, shown] of [['cas', true], ['ann', false]]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/login/`);
    await signIn(page, name);
    await page.waitForSelector('#signed-in:not([hidden])');
    await page.goto(`${base}/`);
    await page.waitForFunction((n) => document.querySelector('#who').textContent.startsWith(n), name);
    assert.equal(await page.isVisible('#admin-link a[href="/admin/"]'), shown, `${name}: the link`);
    await context.close();
  }
  const about = await (await fetch(`${base}/about/`)).text();
  assert.match(about, /<a href="\/admin\/">Customer service<\/a>/);
});
