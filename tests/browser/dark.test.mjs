// The dashboard and the staff pages in dark mode (prefers-color-scheme:
// dark) in Debian's Chromium, driven by playwright-core, against the real
// server with the analytics and customers plugins on known traffic:
// axe-core's colour-contrast rule finds nothing, in dark as in light, on
// the sign-in page (its error, and signed in its audit rows), the customer
// register, a customer's page (an erasure's red button), the requests,
// the exports, the audit log and the API keys; and screenshots that the
// test output keeps.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/dark.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshots go (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, recordProblems, axeRun, shutDown, addStaff, postBeacon,
  signInAs } from './harness.mjs';

const BIN = process.env.SEULA_BIN;
const SOURCE = process.env.SEULA_SOURCE_DIR;
if (!BIN || !SOURCE)
  throw new Error('set SEULA_BIN (the seula binary) and SEULA_SOURCE_DIR (the repository root); ctest does');
const ROOT = path.resolve(SOURCE);
const OUTPUT = path.resolve(process.env.SEULA_TEST_OUTPUT || path.join(ROOT, 'tests', 'output'));
const ADA = { name: 'ada', role: 'admin', password: 'plum-Orbit-7-lantern' };

const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const VISITS = [
  { ip: '10.1.0.1', ref: 'https://www.google.com/', steps: ['/', '/pricing', '!signup'] },
  { ip: '10.2.0.1', steps: ['/pricing'] },
  { ip: '10.3.0.1', ref: 'https://duckduckgo.com/', steps: ['/docs', '/pricing', '!signup'] },
];

let dir, seula, base, browser;

before(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing`);
  dir = mkdtempSync(path.join(tmpdir(), 'seula-dark-'));
  const config = path.join(dir, 'seula.ini');
  writeFileSync(config, `; written by tests/browser/dark.test.mjs
[server]
listen = 127.0.0.1:0
db = ${path.join(dir, 'seula.db')}
web_root = ${path.join(ROOT, 'web')}
plugin_dir = ${path.join(path.dirname(path.resolve(BIN)), 'plugins')}
trusted_proxies = 127.0.0.1/8, ::1
[plugins]
load = useragent, referrer, anonymize, analytics, customers
[plugin.analytics]
goals = demo:event:signup
funnels = demo:signup:page:/pricing>event:signup
[site.demo]
domains = localhost, 127.0.0.1
timezone = Europe/Helsinki
`);
  addStaff(BIN, config, [ADA], { cwd: ROOT });
  // The plugins' data (node_modules/...) is found from the repository root.
  seula = await startSeula(BIN, config, { cwd: ROOT });
  base = seula.base;
  for (const v of VISITS) {
    const headers = { 'User-Agent': UA, 'X-Forwarded-For': v.ip, Origin: 'http://localhost' };
    let last = null;
    for (const s of v.steps) {
      const ev = s.startsWith('!')
        ? { site: 'demo', type: 'event', name: s.slice(1), url: `http://localhost${last}` }
        : { site: 'demo', type: 'pageview', url: `http://localhost${s}`, ...(last === null && v.ref ? { referrer: v.ref } : {}) };
      if (!s.startsWith('!')) last = s;
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

// axe-core on the page in its scheme: no colour-contrast violation at
// all, nothing else serious; a full-page screenshot of the dark one.
async function contrast(page, scheme, name) {
  const r = await axeRun(page);
  assert.deepEqual(r.violations.filter((v) => / color-contrast/.test(v)), [], `${name} (${scheme}): axe's colour contrast`);
  assert.deepEqual(r.serious, [], `${name} (${scheme}): nothing serious`);
  assert.ok(r.passes >= 10, `axe ran ${r.passes} passing rules`);
  if (scheme === 'dark') {
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, `dark-${name}.png`), fullPage: true });
  }
}

test('the sign-in page and the staff pages are readable in dark mode: axe finds no contrast to fault', async () => {
  for (const scheme of ['dark', 'light']) {
    const context = await browser.newContext({ colorScheme: scheme, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await recordProblems(page, (m) => /status of 40[13]/.test(m.text()));
    await page.goto(`${base}/login/`);
    await page.waitForSelector('#login:not([hidden])');
    // A wrong password first: its error, and a refusal in the audit log.
    await page.fill('#username', ADA.name);
    await page.fill('#password', 'not-the-password');
    await page.click('#submit');
    await page.waitForSelector('#error:not([hidden])');
    await contrast(page, scheme, 'login');
    await signInAs(page, ADA.name, ADA.password);
    // Signed in, an admin sees the last entries of the audit log here.
    await page.waitForSelector('#audit:not([hidden]) td.refused');
    await contrast(page, scheme, 'login-signed-in');

    // The register, with a customer whose flags are badges.
    const made = await page.evaluate(async () => {
      const s = await (await fetch('/api/session')).json();
      const post = (url, body) => fetch(url, {
        method: 'POST', body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
      }).then(async (r) => ({ status: r.status, data: await r.json() }));
      const c = await post('/api/customers', { first_name: 'Maija', last_name: 'Meikäläinen', email: `maija${Date.now()}@example.com`, city: 'Tampere' });
      const d = await post('/api/dsr', { type: 'access', customer_id: c.data.id, verification: 'ID card seen at the desk' });
      return { c, d };
    });
    assert.equal(made.c.status, 201, JSON.stringify(made.c.data));
    assert.equal(made.d.status, 201, JSON.stringify(made.d.data));
    const id = made.c.data.id;
    await page.goto(`${base}/admin/`);
    await page.waitForSelector('#view input');
    await page.fill('#view input[type="search"], #view input[name="q"]', 'Maija');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#results-table');
    await contrast(page, scheme, 'admin-register');
    // A customer's page, an erasure asked for: its red button.
    await page.goto(`${base}/admin/customers/${id}`);
    await page.waitForSelector('#dsr-type');
    await page.selectOption('#dsr-type', 'erasure');
    await page.waitForSelector('#dsr-form button.danger');
    await contrast(page, scheme, 'admin-customer');
    await page.goto(`${base}/admin/requests`);
    await page.waitForSelector('.requests-table tbody tr');
    await contrast(page, scheme, 'admin-requests');
    for (const [p, sel, name] of [['/admin/exports/', '#labels', 'admin-exports'],
      ['/admin/audit/', '#audit-table tbody tr', 'admin-audit'], ['/admin/keys/', '#key-name', 'admin-keys']]) {
      await page.goto(`${base}${p}`);
      await page.waitForSelector(sel);
      await page.waitForTimeout(300);
      await contrast(page, scheme, name);
    }
    assert.deepEqual(page.problems, [], 'no script error, no CSP violation');
    await context.close();
  }
});
