// `seula report --format html` in Debian's Chromium, driven by
// playwright-core: the file a report is mailed as, made from a log imported
// with seula import-log.  Its tables stay inside their columns when a page's
// path has no break points (a long one of letters past ASCII), at a desktop's
// width and a phone's, without a script; a one-day report's chart runs over
// that day's hours, and today's stops at the hour it was made in.
//
// Each width's page is saved as a screenshot the test output keeps.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/report.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchChromium, testPaths } from './harness.mjs';

const { BIN, ROOT, OUTPUT } = testPaths();
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
// A path of letters past ASCII: stored as %C3%A4..., no place to break.
const LONG = `/tuotteet/${'käyttäjäystävällisyysärsyttävyyskäsittely'.repeat(3)}`;
const PAGES = ['/', '/pricing', LONG, '/blog/a-very-long-but-hyphenated-title-that-can-wrap-at-its-hyphens'];

let dir, day, report, todayReport, weeksReport, madeAt, browser;

function stamp(t) {
  const p = (n) => String(n).padStart(2, '0');
  return `[${p(t.getUTCDate())}/${MONTHS[t.getUTCMonth()]}/${t.getUTCFullYear()}:` +
    `${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())} +0000]`;
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seula-report-'));
  const config = path.join(dir, 'seula.ini');
  writeFileSync(config, [
    '[server]', `db = ${path.join(dir, 'seula.db')}`, `web_root = ${path.join(ROOT, 'web')}`,
    `plugin_dir = ${path.join(path.dirname(path.resolve(BIN)), 'plugins')}`,
    '[plugins]', 'load = anonymize, analytics',
    '[plugin.analytics]', 'goals = demo:page:/pricing*',
    '[site.demo]', 'domains = www.example.com', ''].join('\n'));
  // Yesterday (UTC), one visitor an hour, each on a page of PAGES.
  const start = new Date();
  start.setUTCHours(0, 20, 0, 0);
  start.setUTCDate(start.getUTCDate() - 1);
  day = start.toISOString().slice(0, 10);
  const lines = [];
  for (let h = 0; h < 24; h += 2) {
    const t = new Date(start.getTime() + h * 3600e3);
    lines.push(`81.${h + 1}.1.1 - - ${stamp(t)} "GET ${PAGES[h % 4]} HTTP/1.1" 200 5 "-" "${UA}"`);
  }
  const log = path.join(dir, 'access.log');
  writeFileSync(log, `${lines.join('\n')}\n`);
  // Into the database `seula migrate` makes: import-log makes none.
  execFileSync(BIN, ['migrate', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
  execFileSync(BIN, ['import-log', '--config', config, '--site', 'demo', '--quiet', log],
    { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
  report = path.join(dir, 'report.html');
  execFileSync(BIN, ['report', '--config', config, '--site', 'demo', '--from', day, '--to', day,
    '--format', 'html', '-o', report], { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
  // Today's, in UTC (the site has no zone), made at an hour of madeAt.
  const today = new Date().toISOString().slice(0, 10);
  todayReport = path.join(dir, 'today.html');
  madeAt = [new Date().getUTCHours()];
  execFileSync(BIN, ['report', '--config', config, '--site', 'demo', '--from', today, '--to', today,
    '--format', 'html', '-o', todayReport], { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
  madeAt.push(new Date().getUTCHours());
  // 100 days by the week, Wednesday to Thursday: the first and last weeks
  // in part.
  const wed = new Date(Date.UTC(2026, 0, 7));
  weeksReport = path.join(dir, 'weeks.html');
  execFileSync(BIN, ['report', '--config', config, '--site', 'demo', '--from', wed.toISOString().slice(0, 10),
    '--to', new Date(wed.getTime() + 99 * 86400e3).toISOString().slice(0, 10), '--format', 'html',
    '-o', weeksReport], { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// What sticks out: a table past its section, a cell past its table or
// its text past the cell, sections of the grid over one another, the page
// wider than the window.
async function overflows(page) {
  return page.evaluate(() => {
    const out = [];
    const box = (e) => e.getBoundingClientRect();
    const name = (e) => (e.closest('section')?.querySelector('h2')?.textContent || 'a table');
    for (const table of document.querySelectorAll('table')) {
      const t = box(table);
      const s = box(table.closest('section') || document.body);
      if (t.left < s.left - 1 || t.right > s.right + 1)
        out.push(`${name(table)}: the table (${t.left}-${t.right}) leaves its section (${s.left}-${s.right})`);
      for (const cell of table.querySelectorAll('th, td')) {
        const c = box(cell);
        if (c.right > t.right + 1)
          out.push(`${name(table)}: a cell ends at ${c.right}, past the table's ${t.right}`);
        if (cell.scrollWidth > cell.clientWidth + 1)
          out.push(`${name(table)}: "${cell.textContent.slice(0, 40)}" is wider than its cell`);
      }
    }
    const grid = [...document.querySelectorAll('.grid > section')].map((e) => [e, box(e)]);
    for (let i = 0; i < grid.length; i++)
      for (let j = i + 1; j < grid.length; j++) {
        const [a, b] = [grid[i][1], grid[j][1]];
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
          out.push(`${name(grid[i][0])} and ${name(grid[j][0])} overlap`);
      }
    if (document.documentElement.scrollWidth > window.innerWidth + 1)
      out.push(`the page is ${document.documentElement.scrollWidth} px wide in a ${window.innerWidth} px window`);
    return out;
  });
}

// The heads of a table whose words run into one another: each head's text
// (a Range over it, as drawn) must stay in its own cell.
async function headsOverlap(page, title) {
  return page.evaluate((title) => {
    const section = [...document.querySelectorAll('section')]
      .find((s) => s.querySelector('h2')?.textContent === title);
    const heads = [...section.querySelectorAll('thead th')];
    const text = (th) => {
      const r = document.createRange();
      r.selectNodeContents(th);
      return r.getBoundingClientRect();
    };
    const out = [];
    heads.forEach((th, i) => {
      const [t, c] = [text(th), th.getBoundingClientRect()];
      if (t.left < c.left - 0.5 || t.right > c.right + 0.5)
        out.push(`"${th.textContent}" (${t.left}-${t.right}) leaves its cell (${c.left}-${c.right})`);
      const next = heads[i + 1] && text(heads[i + 1]);
      if (next && t.right > next.left + 0.5 && t.top < next.bottom && next.top < t.bottom)
        out.push(`"${th.textContent}" runs into "${heads[i + 1].textContent}"`);
    });
    return { heads: heads.map((th) => th.textContent), out };
  }, title);
}

for (const [width, javaScript] of [[1000, true], [1000, false], [420, true]]) {
  test(`no table runs over another at ${width} px${javaScript ? '' : ' without JavaScript'}`, async () => {
    const context = await browser.newContext({ viewport: { width, height: 900 }, javaScriptEnabled: javaScript });
    try {
      const page = await context.newPage();
      await page.goto(`file://${report}`);
      // The long path is there, whole, as a person reads it (stored
      // percent-encoded, as the browser sent it).
      const keys = await page.locator('.key').allTextContents();
      const long = keys.find((k) => k.startsWith('/tuotteet/'));
      assert.equal(long, LONG);
      const shot = path.join(OUTPUT, `report-${width}${javaScript ? '' : '-nojs'}.png`);
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`screenshot: ${shot}`);
      // The goals' heads each in its cell: "Completions" ran into
      // "Conversion" in columns of a fixed width.
      const goals = await headsOverlap(page, 'Goals');
      assert.deepEqual(goals.heads, ['Goal', 'Converted', 'Completions', 'Conversion']);
      assert.deepEqual(goals.out, []);
      assert.deepEqual(await overflows(page), []);
    } finally {
      await context.close();
    }
  });
}

// A report file opened in a new page of `context`, its charts kept as they
// are made (window.charts) and its script errors in `problems`.
async function openReport(context, file) {
  const page = await context.newPage();
  await keepCharts(page);
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(`file://${file}`);
  return { page, problems };
}

// The report's uPlot charts, kept as they are made: window.charts.
async function keepCharts(page) {
  await page.addInitScript(() => {
    let real;
    Object.defineProperty(window, 'uPlot', {
      configurable: true,
      get: () => real,
      set: (v) => {
        real = new Proxy(v, {
          construct(target, args) {
            const u = Reflect.construct(target, args);
            (window.charts ||= []).push(u);
            return u;
          },
        });
      },
    });
  });
}

test("a day's chart runs over its hours", async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  try {
    const { page, problems } = await openReport(context, report);
    const x = await page.evaluate(() => window.charts.map((u) => [u.scales.x.min, u.scales.x.max, u.data[0].length]));
    assert.deepEqual(problems, []);
    assert.equal(x.length, 1);
    const [min, max, points] = x[0];
    assert.equal(points, 24);
    assert.equal(min, Date.parse(`${day}T00:00:00Z`) / 1000);
    assert.equal(max, Date.parse(`${day}T23:00:00Z`) / 1000);
    // A past day is drawn whole: its quiet hours are zeros.
    const values = await page.evaluate(() => window.charts[0].data.slice(1));
    for (const series of values)
      assert.ok(series.every((v) => typeof v === 'number'), JSON.stringify(series));
  } finally {
    await context.close();
  }
});

test("today's chart stops at the hour it was made in", async () => {
  // The hours still to come are no zeros ("traffic stopped at 10 am"):
  // no points past the report's hour, as on the dashboard; the axis
  // still runs over the whole day.
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  try {
    const { page, problems } = await openReport(context, todayReport);
    assert.deepEqual(problems, []);
    const [xs, ...series] = await page.evaluate(() => window.charts[0].data.map((d) => [...d]));
    const dashes = await page.evaluate(() => window.charts[0].series.slice(1).map((x) => Boolean(x.dash)));
    assert.equal(xs.length, 24);
    // Visitors and page views, whole, then the hour it was made in (not
    // over) hanging off the last whole one by a dashed line.
    assert.deepEqual(dashes, [false, false, true, true]);
    for (const k of [0, 1]) {
      const [whole, part] = [series[k], series[k + 2]];
      const ys = whole.map((v, i) => (v === null ? part[i] : v));
      const drawn = ys.filter((v) => v !== null).length;
      assert.ok(madeAt.includes(drawn - 1), `${drawn} hours drawn, made at ${madeAt.join(' or ')} UTC`);
      assert.ok(ys.slice(0, drawn).every((v) => typeof v === 'number'), JSON.stringify(ys));
      assert.ok(ys.slice(drawn).every((v) => v === null), JSON.stringify(ys));
      assert.equal(whole[drawn - 1], null, 'the running hour is not drawn whole');
      assert.deepEqual(part.map((v, i) => (v === null ? -1 : i)).filter((i) => i >= 0),
        drawn > 1 ? [drawn - 2, drawn - 1] : [0]);
    }
  } finally {
    await context.close();
  }
});

test('weeks the period cuts hang off their whole neighbours by a dashed line', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  try {
    const { page, problems } = await openReport(context, weeksReport);
    assert.deepEqual(problems, []);
    const [xs, ...series] = await page.evaluate(() => window.charts[0].data.map((d) => [...d]));
    const dashes = await page.evaluate(() => window.charts[0].series.slice(1).map((x) => Boolean(x.dash)));
    assert.equal(xs.length, 15);
    assert.deepEqual(dashes, [false, false, true, true]);
    const drawn = (ys) => ys.map((v, i) => (v === null ? -1 : i)).filter((i) => i >= 0);
    // Whole: the 13 weeks between; in part: the first and last with
    // their neighbours, to join the lines.
    assert.deepEqual(drawn(series[0]), Array.from({ length: 13 }, (_, i) => i + 1));
    assert.deepEqual(drawn(series[2]), [0, 1, 13, 14]);
    assert.match(await page.textContent('p.note'), /^Dashed: the week of 2026-01-05 has 5 of its 7 days/);
  } finally {
    await context.close();
  }
});
