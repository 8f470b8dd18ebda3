// Notes on the dashboard's chart (annotations) in Debian's Chromium, driven
// by playwright-core, against the real server (the example configuration
// with the analytics plugin) on a database with traffic sent through the
// real POST /api/collect: an analyst adds a note through the form under the
// chart; the list shows it with who added it and the API lists it; uPlot's
// canvas has a dashed line of the notes' colour at that day's place (and
// nowhere before), the chart box names the day (data-notes), by the day and
// by the month; the API's refusal shows in the form; a removal asks first
// in the row (Cancel keeps the note) and then the API lists it no more; a
// text with markup shows as text; a list the API refuses leaves no form;
// a role without the statistics sees no notes; axe-core finds nothing; a
// screenshot that the test output keeps.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/annotations.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshot goes (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSeula, launchChromium, setIni, axeCheck, shutDown, addStaff,
  withoutPluginSections, postBeacon, openRecording, signInAs, testPaths, exampleIni } from './harness.mjs';

const { BIN, ROOT, OUTPUT } = testPaths();
// The demo site's zone ([site.demo] timezone in contrib/seula.ini.example);
// the browser is elsewhere, so that a day off by the zone shows.
const TZ = 'Europe/Helsinki';
const ANALYST = { name: 'ann', password: 'copper+Fjord+42+heron' };
const SERVICE = { name: 'cas', password: 'walnut-Harbor-19-quill' };

const DESKTOP = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

// Days in the site's zone.
const dayOf = (ms) => new Date(ms).toLocaleDateString('en-CA', { timeZone: TZ });
const TODAY = dayOf(Date.now());
const addDays = (s, n) => {
  const d = new Date(`${s}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
};
// The default range is the last 30 days: a note inside it, away from its
// ends, and one for the markup.
const NOTE_DAY = addDays(TODAY, -10);
const NOTE_TEXT = 'Newsletter sent';
const MARKUP_DAY = addDays(TODAY, -20);
const MARKUP = '<script>window.__noted = 1</script><b>Campaign</b> & <img src=x onerror="window.__noted = 2">';

let dir, seula, base, browser;

before(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing`);
  dir = mkdtempSync(path.join(tmpdir(), 'seula-annotations-'));
  const config = path.join(dir, 'seula.ini');
  let ini = exampleIni(path.join(dir, 'seula.db'));
  const load = ['useragent', 'referrer', 'anonymize', 'analytics'];
  ini = setIni(ini, 'plugins', 'load', load.join(', '));
  ini = withoutPluginSections(ini, load);
  writeFileSync(config, `; written by tests/browser/annotations.test.mjs\n${ini}`);
  addStaff(BIN, config, [{ ...ANALYST, role: 'analyst' }, { ...SERVICE, role: 'customer_service' }], { cwd: ROOT });
  seula = await startSeula(BIN, config, { cwd: ROOT });
  base = seula.base;
  // A few visitors today, so that the chart has a line.
  for (const [i, ua] of [DESKTOP, PHONE, DESKTOP].entries()) {
    const headers = { 'User-Agent': ua, 'X-Forwarded-For': `10.${i + 1}.0.1`, Origin: 'http://localhost' };
    for (const p of ['/', '/pricing']) {
      const r = await postBeacon(base, '/api/collect', { site: 'demo', type: 'pageview', url: `http://localhost${p}` }, headers);
      assert.equal(r.status, 204, `collect ${p}: ${r.text}`);
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

// The site's notes as the API lists them to the signed-in browser.
async function listed(context, q = '') {
  const r = await context.request.get(`${base}/api/stats/demo/annotations${q}`);
  assert.equal(r.status(), 200, await r.text());
  return (await r.json()).results;
}

// The notes the page lists: [{ id, date, time, text, by }].
const shownNotes = (page) => page.$$eval('#notes-list li', (lis) => lis.map((li) => ({
  id: li.dataset.id, date: li.dataset.date,
  time: li.querySelector('time').getAttribute('datetime'),
  text: li.querySelector('.note-text').textContent,
  by: li.querySelector('.note-by') ? li.querySelector('.note-by').textContent : null,
})));

// The columns of the chart's canvas (in CSS pixels from the plot area's
// left edge) where at least a fifth of the plot's height is the notes'
// colour: the markers uPlot's draw hook drew.
async function markerColumns(page) {
  return page.evaluate(() => {
    const canvas = document.querySelector('#chart canvas');
    const over = document.querySelector('#chart .u-over');
    const probe = document.createElement('span');
    probe.style.color = getComputedStyle(document.documentElement).getPropertyValue('--note').trim();
    document.body.append(probe);
    const [r, g, b] = getComputedStyle(probe).color.match(/\d+/g).map(Number);
    probe.remove();
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    const left = Math.round(over.offsetLeft * ratio);
    const top = Math.round(over.offsetTop * ratio);
    const w = Math.round(over.clientWidth * ratio);
    const h = Math.round(over.clientHeight * ratio);
    const img = canvas.getContext('2d').getImageData(left, top, w, h).data;
    const cols = [];
    for (let x = 0; x < w; x++) {
      let n = 0;
      for (let y = 0; y < h; y++) {
        const i = (y * w + x) * 4;
        if (Math.abs(img[i] - r) < 40 && Math.abs(img[i + 1] - g) < 40 && Math.abs(img[i + 2] - b) < 40 && img[i + 3] > 100) n++;
      }
      if (n >= h / 5) cols.push(x / ratio);
    }
    return { cols, width: over.clientWidth };
  });
}

// Where day lies on a chart of days from..to, in CSS pixels of the plot
// area of width `width`.
const dayX = (day, from, to, width) => ((Date.parse(day) - Date.parse(from)) / (Date.parse(to) - Date.parse(from))) * width;

test('a note added under the chart is listed, marked on the chart, removed after a confirmation', async () => {
  const context = await browser.newContext({ timezoneId: 'America/New_York', locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  // The API's 400 for the refused note, which the browser logs.
  const page = await openRecording(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`,
    [/status of 400.*\/api\/stats\/demo\/annotations/]);
  await signInAs(page, ANALYST.name, ANALYST.password);
  await page.waitForURL((u) => u.pathname === '/');
  await ready(page);

  // Nothing yet: no note listed, none drawn; the form's day is the last of
  // the range (today, in the site's zone).
  assert.deepEqual(await shownNotes(page), []);
  assert.ok(await page.isVisible('#notes-empty'));
  assert.equal(await page.getAttribute('#chart', 'data-notes'), '');
  assert.equal(await page.inputValue('#note-date'), TODAY);
  assert.deepEqual((await markerColumns(page)).cols, [], 'no marker before any note');
  const api = await page.getAttribute('#notes-list', 'data-api');
  assert.equal(api, `/api/stats/demo/annotations?from=${addDays(TODAY, -29)}&to=${TODAY}`);

  // Added through the form.
  await page.fill('#note-date', NOTE_DAY);
  await page.fill('#note-text', NOTE_TEXT);
  await page.click('#note-add');
  await page.waitForFunction(() => document.querySelectorAll('#notes-list li').length === 1);
  let notes = await listed(context);
  assert.equal(notes.length, 1);
  assert.deepEqual({ date: notes[0].date, text: notes[0].text, by: notes[0].by },
    { date: NOTE_DAY, text: NOTE_TEXT, by: ANALYST.name });
  assert.deepEqual(await shownNotes(page),
    [{ id: String(notes[0].id), date: NOTE_DAY, time: NOTE_DAY, text: NOTE_TEXT, by: `by ${ANALYST.name}` }]);
  assert.ok(await page.isHidden('#notes-empty'));
  assert.equal(await page.inputValue('#note-text'), '', 'the text is cleared for the next note');
  assert.match(await page.textContent('#notes-status'), /^Note added for /);
  assert.ok(await page.isHidden('#note-error'));

  // Marked on the chart: one dashed column of the notes' colour, where the
  // day falls between the range's first and last day.
  await page.waitForFunction((d) => document.querySelector('#chart').dataset.notes === d, NOTE_DAY);
  let m = await markerColumns(page);
  assert.ok(m.cols.length >= 1 && m.cols.length <= 3, `one marker column: ${m.cols}`);
  const want = dayX(NOTE_DAY, addDays(TODAY, -29), TODAY, m.width);
  assert.ok(Math.abs(m.cols[0] - want) <= 2, `the marker at ${m.cols[0]}px, the day at ${want}px`);
  // The readout over that day says the note.
  const over = await page.$('#chart .u-over');
  const box = await over.boundingBox();
  await page.mouse.move(box.x + want, box.y + box.height / 2);
  await page.waitForFunction(() => /Note: Newsletter sent/.test(document.querySelector('#chart-readout').textContent));
  await page.mouse.move(0, 0);

  // The API's refusal shows in the form: a format character alone (the
  // browser's trim keeps it) is no text.
  await page.fill('#note-text', '\u200b');
  await page.click('#note-add');
  await page.waitForSelector('#note-error:not([hidden])');
  assert.match(await page.textContent('#note-error'), /^The note was not added: text is 1 to 200 characters/);
  assert.equal(await page.getAttribute('#note-error', 'role'), 'alert');
  assert.equal(await page.getAttribute('#note-text', 'aria-invalid'), 'true');
  assert.equal((await listed(context)).length, 1, 'nothing added');
  // A blank one is not sent at all.
  await page.fill('#note-text', '   ');
  await page.click('#note-add');
  assert.match(await page.textContent('#note-error'), /^Write the note/);

  // Markup in a note is text: shown as typed, run never.
  await page.fill('#note-date', MARKUP_DAY);
  await page.fill('#note-text', MARKUP);
  await page.click('#note-add');
  await page.waitForFunction(() => document.querySelectorAll('#notes-list li').length === 2);
  assert.ok(await page.isHidden('#note-error'));
  notes = await listed(context);
  assert.deepEqual(notes.map((n) => [n.date, n.text]), [[MARKUP_DAY, MARKUP], [NOTE_DAY, NOTE_TEXT]], 'by day');
  assert.deepEqual((await shownNotes(page)).map((n) => n.text), [MARKUP, NOTE_TEXT]);
  assert.equal(await page.$$eval('#notes-list b, #notes-list img, #notes-list script', (es) => es.length), 0);
  assert.equal(await page.evaluate(() => window.__noted), undefined, 'no script of the note ran');
  await page.waitForFunction((d) => document.querySelector('#chart').dataset.notes === d, `${MARKUP_DAY} ${NOTE_DAY}`);
  m = await markerColumns(page);
  const wantMarkup = dayX(MARKUP_DAY, addDays(TODAY, -29), TODAY, m.width);
  assert.ok(m.cols.some((x) => Math.abs(x - wantMarkup) <= 2) && m.cols.some((x) => Math.abs(x - want) <= 2),
    `markers at ${m.cols}, the days at ${wantMarkup} and ${want}`);

  await axeCheck(page, 15, { strict: true });
  mkdirSync(OUTPUT, { recursive: true });
  const shot = path.join(OUTPUT, 'dashboard-notes.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  // On a phone the list and the form fold up, nothing wider than the page.
  await page.setViewportSize({ width: 390, height: 844 });
  // The chart is redrawn to the new width on the window's resize event,
  // which may come after this point: wait for it, then name what is wider.
  await page.waitForFunction(() => document.documentElement.scrollWidth <= innerWidth, null, { timeout: 5000 })
    .catch(() => {});
  const wider = await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''} ${Math.round(e.getBoundingClientRect().right)}px`)
    .slice(0, 5));
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
    `no sideways scroll; wider than the window: ${wider.join(', ')}`);
  await axeCheck(page, 15, { strict: true });
  await (await page.$('#notes')).screenshot({ path: path.join(OUTPUT, 'dashboard-notes-phone.png') });
  await page.setViewportSize({ width: 1280, height: 900 });

  // By the month: the day is still marked, where it falls in its month.
  await page.goto(`${base}/?site=demo&period=12mo`);
  await ready(page);
  assert.equal(await page.getAttribute('#chart', 'data-notes'), `${MARKUP_DAY} ${NOTE_DAY}`);
  assert.ok((await markerColumns(page)).cols.length >= 1, 'marked on the monthly chart');
  // A range without the notes' days lists and marks none.
  await page.goto(`${base}/?site=demo&period=today`);
  await ready(page);
  assert.deepEqual(await shownNotes(page), []);
  assert.equal(await page.getAttribute('#chart', 'data-notes'), '');
  await page.goto(`${base}/?site=demo`);
  await ready(page);
  await page.waitForFunction(() => document.querySelectorAll('#notes-list li').length === 2);

  // Removing asks first, in the row; Cancel (which has the focus) keeps it.
  const row = `#notes-list li[data-date="${NOTE_DAY}"]`;
  const name = await page.$eval(`${row} .note-remove`, (b) => b.textContent);
  assert.equal(name, `Remove the note of ${await page.$eval(`${row} time`, (t) => t.textContent)}: ${NOTE_TEXT}`);
  await page.click(`${row} .note-remove`);
  await page.waitForSelector(`${row} .confirm[role="group"]`);
  assert.equal(await page.evaluate(() => document.activeElement.className), 'secondary note-cancel');
  assert.equal((await listed(context)).length, 2, 'nothing removed before the confirmation');
  await axeCheck(page, 15, { strict: true });
  await page.keyboard.press('Escape');
  await page.waitForSelector(`${row} .note-remove`);
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('note-remove')), true);
  assert.equal((await listed(context)).length, 2, 'Escape removed nothing');

  await page.click(`${row} .note-remove`);
  await page.click(`${row} .note-confirm`);
  await page.waitForFunction(() => document.querySelectorAll('#notes-list li').length === 1);
  notes = await listed(context);
  assert.deepEqual(notes.map((n) => n.text), [MARKUP], 'the API lists it no more');
  assert.match(await page.textContent('#notes-status'), /is removed\.$/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'notes-heading');
  await page.waitForFunction((d) => document.querySelector('#chart').dataset.notes === d, MARKUP_DAY);
  m = await markerColumns(page);
  assert.ok(!m.cols.some((x) => Math.abs(x - want) <= 2), 'its marker has gone');
  assert.ok(m.cols.some((x) => Math.abs(x - wantMarkup) <= 2), 'the other stays');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a list the API refuses leaves no form; a role without the statistics sees no notes', async () => {
  const context = await browser.newContext({ timezoneId: 'Europe/Helsinki', locale: 'en-GB' });
  let page = await openRecording(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await signInAs(page, ANALYST.name, ANALYST.password);
  await page.waitForURL((u) => u.pathname === '/');
  await ready(page);
  assert.ok(await page.isVisible('#note-form'));
  // Refused (as the API refuses a role or a key): said, and no controls.
  await page.route('**/api/stats/demo/annotations?*', (r) => r.fulfill({
    status: 403, contentType: 'application/json', body: '{"error":"forbidden","message":"not for your role"}',
  }));
  page.problems.length = 0;
  await page.goto(`${base}/?site=demo&period=7d`);
  await ready(page);
  assert.ok(await page.isHidden('#note-form'));
  assert.equal(await page.textContent('#notes-error'), 'Notes are for admins and analysts.');
  assert.equal(await page.$$eval('#notes-list button', (bs) => bs.length), 0);
  await page.close();

  // Customer service reads no statistics: no notes either.
  const other = await browser.newContext();
  page = await openRecording(other, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`,
    [/status of 403/]);
  await signInAs(page, SERVICE.name, SERVICE.password);
  await page.waitForURL((u) => u.pathname === '/');
  await page.waitForFunction(() => document.body.dataset.state === 'error');
  assert.ok(await page.isHidden('#notes'));
  const r = await other.request.get(`${base}/api/stats/demo/annotations`);
  assert.equal(r.status(), 403);
  await other.close();
  await context.close();
});
