// The staff sign-in page (web/login/) in Debian's Chromium, driven by
// playwright-core, against the real server: a wrong password, signing in,
// the session cookie the page cannot read, the admin's audit view, a
// role that does not see it, signing out for real, the lockout message,
// a browser that signed in before getting past a lockout others caused,
// the ?next= redirect that stays on this server, and a page that runs
// under its Content-Security-Policy without one violation.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/login.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, recordProblems, shutDown, addStaff, testPaths } from './harness.mjs';

const { BIN, SOURCE } = testPaths();

const USERS = {
  ada: { role: 'admin', password: 'plum-Orbit-7-lantern' },
  ann: { role: 'analyst', password: 'copper+Fjord+42+heron' },
  cas: { role: 'customer_service', password: 'walrus-Meadow-93-quill' },
  fin: { role: 'finance', password: 'saffron=Delta=58=kettle' },
};

let dir, config, seula, base, browser;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seula-login-'));
  config = path.join(dir, 'seula.ini');
  writeFileSync(config, `; written by tests/browser/login.test.mjs
[server]
listen = 127.0.0.1:0
db = ${path.join(dir, 'seula.db')}
web_root = ${path.join(path.resolve(SOURCE), 'web')}
plugin_dir = ${path.join(path.dirname(path.resolve(BIN)), 'plugins')}
trusted_proxies = 127.0.0.1/8, ::1

[auth]
login_max_failures = 3
login_lockout = 10m

[plugins]
load = anonymize

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

// A page that records script errors and CSP violations.
async function open(context, url) {
  const page = await context.newPage();
  // A 401 is an answer only to a wrong password (or a sign-out of an
  // ended session): the page asks whether it is signed in without one.
  const problems = await recordProblems(page,
    (m) => /status of 401/.test(m.text()) && /\/api\/log(in|out)$/.test(m.location().url));
  await page.goto(url);
  return { page, problems };
}

async function signIn(page, name, password) {
  await page.fill('#username', name);
  await page.fill('#password', password);
  await page.click('#submit');
}

test('an admin signs in, sees the audit log, and signs out for real', async () => {
  const context = await browser.newContext();
  const { page, problems } = await open(context, `${base}/login/`);
  await page.waitForSelector('#login:not([hidden])');

  await signIn(page, 'ada', 'not-the-password');
  await page.waitForSelector('#error:not([hidden])');
  assert.equal(await page.textContent('#error'), 'Wrong name or password.');
  assert.deepEqual(await context.cookies(), [], 'no cookie for a failed login');

  await signIn(page, 'ada', USERS.ada.password);
  await page.waitForSelector('#signed-in:not([hidden])');
  assert.equal(await page.textContent('#who'), 'ada');
  // Not a dead end: the way on to the dashboard.
  assert.equal(await page.getAttribute('#signed-in a[href="/"]', 'href'), '/');
  assert.equal(await page.textContent('#role'), 'admin');
  assert.equal(await page.inputValue('#password'), '', 'the password is not left in the form');

  const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
  assert.deepEqual(Object.keys(cookies).sort(), ['seula_device', 'seula_session']);
  const cookie = cookies.seula_session;
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  // The device cookie: this browser signed in to ada; only the login reads it.
  const device = cookies.seula_device;
  assert.equal(device.path, '/api/login');
  assert.equal(device.httpOnly, true);
  assert.equal(device.sameSite, 'Strict');
  assert.ok(device.expires > Date.now() / 1000 + 300 * 86400, 'it lasts a year');
  assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session');

  // The admin's view of the audit log shows this very login and the failure.
  await page.waitForSelector('#audit:not([hidden]) tbody tr');
  const rows = await page.$$eval('#audit-rows tr', (trs) => trs.map((tr) =>
    [...tr.children].map((td) => td.textContent)));
  const actions = rows.map((r) => `${r[2]} ${r[4]} ${r[7]}`);
  assert.ok(actions.includes('ada login ok'), actions.join('\n'));
  assert.ok(actions.includes('ada login_failed failed'), actions.join('\n'));
  assert.ok(rows.every((r) => r[3] === '' || r[3].endsWith('.0')), 'addresses are shown masked');

  // Reads of statistics (aggregates: a dashboard makes a dozen a view)
  // do not push the rest out of this view unless asked for.
  for (let i = 0; i < 25; i++) {
    const r = await context.request.get(`${base}/api/consent/stats?site=demo`);
    assert.equal(r.status(), 200);
  }
  await page.reload();
  await page.waitForSelector('#audit:not([hidden]) tbody tr');
  const actionsShown = () => page.$$eval('#audit-rows tr', (trs) => trs.map((tr) => tr.children[4].textContent));
  let shownActions = await actionsShown();
  assert.ok(shownActions.includes('login'), shownActions.join(' '));
  assert.ok(!shownActions.includes('statistics'), shownActions.join(' '));
  // The box sits at the start of its words' line, as a checkbox does.
  const box = await page.$eval('#audit-statistics', (b) => {
    const r = b.getBoundingClientRect();
    const words = document.createRange();
    words.selectNodeContents(b.parentElement);
    const first = words.getClientRects()[0];
    const text = [...words.getClientRects()].find((q) => q.left > r.right) || first;
    return { width: r.width, top: r.top, bottom: r.bottom, textTop: text.top, textBottom: text.bottom, left: r.left, textLeft: text.left };
  });
  assert.ok(box.width < 40, `the checkbox is a box, not a line (${box.width} px wide)`);
  assert.ok(box.top < box.textBottom && box.bottom > box.textTop && box.textLeft > box.left,
    `the checkbox is beside its words: ${JSON.stringify(box)}`);
  await page.check('#audit-statistics');
  await page.waitForFunction(() => [...document.querySelectorAll('#audit-rows tr')]
    .some((tr) => tr.children[4].textContent === 'statistics'));
  shownActions = await actionsShown();
  assert.ok(shownActions.filter((a) => a === 'statistics').length >= 15, shownActions.join(' '));

  // A reload keeps the session; signing out ends it on the server too.
  await page.reload();
  await page.waitForSelector('#signed-in:not([hidden])');
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  const me = await context.request.get(`${base}/api/me`);
  assert.equal(me.status(), 401);
  const audit = await context.request.get(`${base}/api/audit`);
  assert.equal(audit.status(), 401);
  assert.deepEqual(problems, []);
  await context.close();
});

test('an analyst does not see the audit log', async () => {
  const context = await browser.newContext();
  const { page, problems } = await open(context, `${base}/login/`);
  await page.waitForSelector('#login:not([hidden])');
  await signIn(page, 'ann', USERS.ann.password);
  await page.waitForSelector('#signed-in:not([hidden])');
  assert.equal(await page.textContent('#role'), 'analyst');
  await page.waitForTimeout(300);
  assert.equal(await page.isHidden('#audit'), true);
  const r = await context.request.get(`${base}/api/audit`);
  assert.equal(r.status(), 403);
  assert.deepEqual(Object.keys(await r.json()).sort(), ['error', 'message']);
  assert.deepEqual(problems.filter((p) => !/status of 403/.test(p)), []);
  await context.close();
});

test('each role is led on to its own pages, not to a dashboard that is not theirs', async () => {
  const ways = {
    ada: ['/', '/admin/', '/admin/exports/'],
    ann: ['/'],
    cas: ['/admin/', '/admin/exports/'],
    fin: ['/admin/exports/'],
  };
  for (const [name, want] of Object.entries(ways)) {
    const context = await browser.newContext();
    const { page, problems } = await open(context, `${base}/login/`);
    await page.waitForSelector('#login:not([hidden])');
    await signIn(page, name, USERS[name].password);
    await page.waitForSelector('#signed-in:not([hidden])');
    assert.equal(await page.textContent('#who'), name);
    assert.deepEqual(await page.$$eval('#ways a', (as) => as.map((a) => a.getAttribute('href'))), want, name);
    assert.deepEqual(problems.filter((p) => !/status of 403/.test(p)), [], name);
    await context.close();
  }
});

test('next= goes back to a page of this server only', async () => {
  for (const [next, expected] of [['/demo/', `${base}/demo/`],
    ['//evil.example/', null], ['https://evil.example/', null], ['/\\evil.example', null],
    ['/\t/evil.example/x', null], ['/\n/evil.example/x', null], ['/\r//evil.example', null]]) {
    const context = await browser.newContext();
    const { page } = await open(context, `${base}/login/?next=${encodeURIComponent(next)}`);
    await page.waitForSelector('#login:not([hidden])');
    await signIn(page, 'ann', USERS.ann.password);
    if (expected) {
      await page.waitForURL(expected);
    } else {
      await page.waitForSelector('#signed-in:not([hidden])');
      assert.equal(new URL(page.url()).host, new URL(base).host, `next=${next} stays here`);
    }
    await context.close();
  }
});

test('a locked-out account is told to wait', async () => {
  const context = await browser.newContext();
  const { page } = await open(context, `${base}/login/`);
  await page.waitForSelector('#login:not([hidden])');
  for (let i = 0; i < 3; i++) {
    await signIn(page, 'ann', `wrong-${i}`);
    await page.waitForFunction((n) => document.querySelector('#error').textContent &&
      !document.querySelector('#submit').disabled, i);
  }
  await signIn(page, 'ann', USERS.ann.password);
  await page.waitForFunction(() => /Too many failed attempts/.test(document.querySelector('#error').textContent));
  assert.match(await page.textContent('#error'), /Try again in 10 minutes\./);
  assert.deepEqual(await context.cookies(), []);
  await context.close();
});

test('a browser that signed in before is not locked out by others', async () => {
  const mine = await browser.newContext();
  const { page } = await open(mine, `${base}/login/`);
  await page.waitForSelector('#login:not([hidden])');
  await signIn(page, 'ada', USERS.ada.password);
  await page.waitForSelector('#signed-in:not([hidden])');
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');

  // Someone else guesses at the account until it is locked.
  const theirs = await browser.newContext();
  const { page: other } = await open(theirs, `${base}/login/`);
  await other.waitForSelector('#login:not([hidden])');
  for (let i = 0; i < 3; i++) {
    await signIn(other, 'ada', `wrong-${i}`);
    await other.waitForFunction(() => document.querySelector('#error').textContent &&
      !document.querySelector('#submit').disabled);
  }
  await signIn(other, 'ada', USERS.ada.password);
  await other.waitForFunction(() => /Too many failed attempts/.test(document.querySelector('#error').textContent));

  // The admin's own browser still gets in.
  await signIn(page, 'ada', USERS.ada.password);
  await page.waitForSelector('#signed-in:not([hidden])');
  assert.equal(await page.textContent('#who'), 'ada');
  await theirs.close();
  await mine.close();
});
