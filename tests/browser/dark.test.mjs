// The dashboard and the staff pages in dark mode (prefers-color-scheme:
// dark) in Debian's Chromium, driven by playwright-core, against the real
// server with the analytics and customers plugins on known traffic:
// axe-core's colour-contrast rule finds nothing, in dark as in light, on
// the sign-in page (its error, and signed in its audit rows), the customer
// register, a customer's page (an erasure's red button), the requests,
// the exports, the audit log, the API keys, and the dashboard (a
// comparison, a note marked on the chart and its removal asked, the
// chart's readout, a goal filter's chip focused); the chart's axis labels,
// which uPlot draws on its canvas, are in the scheme's colour, differ
// between light and dark, and follow a change of the scheme without a
// reload; and screenshots that the test output keeps.
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
  signInAs, testPaths } from './harness.mjs';

const { BIN, ROOT, OUTPUT } = testPaths();
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

async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 15000 });
}

// axe-core on the page in its scheme: no colour-contrast violation at
// all, nothing else serious; a full-page screenshot of the dark one.
async function contrast(page, scheme, name) {
  const r = await axeRun(page);
  assert.deepEqual(r.violations.filter((v) => / color-contrast/.test(v)), [], `${name} (${scheme}): axe's colour contrast`);
  assert.deepEqual(r.serious, [], `${name} (${scheme}): nothing serious`);
  assert.ok(r.passes >= 10, `axe ran ${r.passes} passing rules`);
  // What axe does not check, WCAG's 3:1 for what is not text: each
  // field's border, and the focus ring of what the keyboard reaches first.
  await page.keyboard.press('Tab');
  const weak = await page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }).reduce((a, c, i) => a + c * [0.2126, 0.7152, 0.0722][i], 0);
    const ratio = (a, b) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
      return (x + 0.05) / (y + 0.05);
    };
    const behind = (node) => {
      for (let n = node; n; n = n.parentElement) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return rgb(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
    };
    const out = [];
    const visible = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
    for (const f of document.querySelectorAll('input:not([type="checkbox"]):not([type="radio"]):not([type="hidden"]), select, textarea')) {
      const cs = getComputedStyle(f);
      if (!visible(f) || parseFloat(cs.borderBottomWidth) === 0) continue;
      const r = ratio(rgb(cs.borderBottomColor), behind(f.parentElement));
      if (r < 3) out.push(`#${f.id || f.name}: border ${cs.borderBottomColor} ${r.toFixed(2)}:1`);
    }
    const a = document.activeElement;
    if (a && a !== document.body) {
      const cs = getComputedStyle(a);
      const r = cs.outlineStyle === 'none' ? 0 : ratio(rgb(cs.outlineColor), behind(a.parentElement));
      if (r < 3) out.push(`focus on ${a.tagName} ${a.id || a.textContent.trim().slice(0, 20)}: outline ${cs.outlineStyle} ${cs.outlineColor} ${r.toFixed(2)}:1`);
    }
    return out;
  });
  assert.deepEqual(weak, [], `${name} (${scheme}): fields' borders and the focus ring at 3:1`);
  if (scheme === 'dark') {
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, `dark-${name}.png`), fullPage: true });
  }
}

// The colour the chart's axes are drawn in on uPlot's canvas: the most
// frequent opaque colour left of the plot, where only the y axis' labels
// (and the start of the x axis') are; "r,g,b", and the card's colour.
function axisColour(page) {
  return page.evaluate(() => {
    const box = document.querySelector('#chart');
    const canvas = box.querySelector('canvas');
    const over = box.querySelector('.u-over');
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    const w = Math.floor((over.offsetLeft - 8) * ratio);
    const h = Math.floor((over.offsetTop + over.offsetHeight) * ratio);
    const px = canvas.getContext('2d').getImageData(0, 0, w, h).data;
    const counts = new Map();
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] < 250) continue;
      const k = `${px[i]},${px[i + 1]},${px[i + 2]}`;
      counts.set(k, (counts.get(k) || 0) + 1);
    }
    const top = [...counts].sort((a, b) => b[1] - a[1])[0];
    const card = getComputedStyle(box.closest('.card')).backgroundColor.match(/\d+/g).slice(0, 3).join(',');
    const muted = getComputedStyle(document.documentElement).getPropertyValue('--muted').trim();
    return { axis: top ? top[0] : null, card, muted };
  });
}

const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)).join(',');
function ratio(a, b) {
  const lum = (rgb) => {
    const [r, g, b2] = rgb.split(',').map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b2;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
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

test('the dashboard in dark mode: readable, its chart axes drawn in the dark colours, also after a switch', async () => {
  const axes = {};
  for (const scheme of ['light', 'dark']) {
    const context = await browser.newContext({ colorScheme: scheme, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await recordProblems(page, (m) => /status of 401/.test(m.text()));
    await page.goto(`${base}/login/?next=${encodeURIComponent('/?site=demo&compare=previous_period')}`);
    await signInAs(page, ADA.name, ADA.password);
    await page.waitForURL((u) => u.pathname === '/');
    await ready(page);
    await page.waitForFunction(() => Number(document.querySelector('#chart').dataset.points) > 0);
    axes[scheme] = await axisColour(page);
    assert.equal(axes[scheme].axis, hex(axes[scheme].muted), `${scheme}: the axes are drawn in --muted`);
    assert.ok(ratio(axes[scheme].axis, axes[scheme].card) >= 4.5,
      `${scheme}: the axes' text against the card: ${ratio(axes[scheme].axis, axes[scheme].card).toFixed(2)}`);
    if (scheme === 'dark') {
      // A note, marked on the chart, its removal asked; a goal filter.
      await page.fill('#note-text', 'Newsletter sent');
      await page.click('#note-add');
      await page.waitForSelector('#notes-list .note');
      await page.waitForFunction(() => document.querySelector('#chart').dataset.notes !== '');
      await page.click('#notes-list .note-remove');
      await page.waitForSelector('#notes-list button.danger');
      await page.hover('#chart .u-over', { position: { x: 300, y: 120 } });
      await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
      await contrast(page, scheme, 'dashboard');
      await (await page.$('#chart')).screenshot({ path: path.join(OUTPUT, 'dark-chart.png') });
      await page.click('#table-goals tbody tr[data-value="signup"] button');
      await ready(page);
      await page.waitForSelector('#filters .chip');
      await page.focus('#filters .chip-remove');
      await contrast(page, scheme, 'dashboard-goal');
      // The scheme changed under the page (the system's, at sunset): the
      // chart is drawn again in the other's colours, without a reload.
      for (const [now, was] of [['light', 'dark'], ['dark', 'light']]) {
        await page.emulateMedia({ colorScheme: now });
        let seen;
        for (let t0 = Date.now(); Date.now() - t0 < 3000; await page.waitForTimeout(50)) {
          seen = await axisColour(page);
          if (seen.card === axes[now].card && seen.axis !== axes[was].axis) break;
        }
        assert.equal(seen.card, axes[now].card, `${now} again: the card's colour`);
        assert.equal(seen.axis, axes[now].axis, `${now} again: the axes in the ${now} colour`);
      }
    }
    assert.deepEqual(page.problems, [], 'no script error, no CSP violation');
    await context.close();
  }
  assert.notEqual(axes.dark.axis, axes.light.axis, 'the axes\' colour differs between light and dark');
  assert.notEqual(axes.dark.card, axes.light.card);
  console.log(`axes: light ${axes.light.axis} on ${axes.light.card}, dark ${axes.dark.axis} on ${axes.dark.card}; `
    + `screenshots: ${path.join(OUTPUT, 'dark-dashboard.png')} and the others dark-*.png`);
});
