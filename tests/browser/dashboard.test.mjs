// The marketing dashboard (web/index.html, web/dashboard/) in Debian's
// Chromium, driven by playwright-core, against the real server with the
// example configuration plus the analytics plugin, on a database filled with
// known traffic through the real POST /api/collect: the sign-in it sends a
// stranger to, the summary numbers and the top pages against the stats API
// for the same query, filtering by clicking a row (and by the keyboard),
// chips that combine and are removed, the comparison with the previous
// period, the chart drawn by uPlot, the CSV exports, the URL as bookmark,
// real-time visitors, axe-core's WCAG 2.1 A/AA rules, no CSP violation, and
// a full-page screenshot that the test output keeps.  The server and the
// checks are dashboard-fixture.mjs's; dashboard-reports.test.mjs has the
// rest of the reports.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/dashboard.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshot goes (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { testPaths } from './harness.mjs';
import { startDashboard, stopDashboard, analystPage, TZ, BROWSER_TZ, ANALYST, SERVICE, UA, VISITORS,
  PAGEVIEWS, CHOICES, OPT_IN, post, shown, open, ready, signIn, api, checkSummary, checkTable,
  chips, axe } from './dashboard-fixture.mjs';

const { OUTPUT } = testPaths();
const fx = {};
let base, browser;
before(async () => {
  await startDashboard(fx);
  ({ base, browser } = fx);
});
after(() => stopDashboard(fx));

test('the dashboard shows what the API answers, filters by a click, exports CSV, passes axe', async () => {
  const t0 = Date.now();
  const context = await browser.newContext({ timezoneId: BROWSER_TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });

  // A stranger is sent to sign in, and comes back.
  const page = await open(context, `${base}/`);
  await page.waitForURL(/\/login\/\?next=%2F/);
  await signIn(page, ANALYST);
  await ready(page);
  assert.equal(new URL(page.url()).searchParams.get('site'), 'demo', 'the site is in the URL');
  assert.equal(await page.inputValue('#site'), 'demo');
  assert.equal(await page.inputValue('#period'), '30d');
  assert.equal(await page.textContent('#tz'), TZ);

  // The summary, and the API's numbers are the traffic sent.
  const { data: all, query } = await checkSummary(page, context);
  assert.equal(all.results.pageviews, PAGEVIEWS, 'every page view sent is counted');
  assert.ok(Math.abs(all.results.visitors - VISITORS.length) <= 1, `about ${VISITORS.length} visitors: ${all.results.visitors}`);
  assert.equal(all.results.events, 2, 'two custom events');
  assert.ok(query.get('from') && query.get('to'), 'an explicit range');
  assert.ok('comparison' in all, 'the change against the previous period');

  // Top pages against the breakdown.
  const pages = await checkTable(page, context, '#table-pages', ['visitors', 'pageviews', 'time_on_page']);
  // Countries by name, in the browser's language; the row keeps the code.
  const countries = await checkTable(page, context, '#table-locations', ['visitors']);
  const coded = countries.results.filter((r) => /^[A-Z]{2}$/.test(r.country || ''));
  assert.ok(coded.length >= 1, 'a country from the public address');
  for (const r of coded) {
    const label = await page.textContent(`#table-locations tr[data-value="${r.country}"] .name`);
    const want = await page.evaluate((c) => new Intl.DisplayNames(undefined, { type: 'region' }).of(c), r.country);
    assert.ok(want && want !== r.country, `a name for ${r.country}`);
    assert.equal(label, want);
  }
  assert.equal(pages.results[0].page, '/', 'the most visited page first');
  assert.equal(pages.results.reduce((n, r) => n + r.pageviews, 0), PAGEVIEWS);
  // A path as browsers send it, percent-encoded, is shown as it reads.
  assert.equal(await page.textContent('#table-pages tbody tr[data-value="/docs/k%C3%A4ytt%C3%B6"] .name'),
    '/docs/käyttö');
  // And so is a referrer, its value (the filter's) as stored.
  await page.click('#card-sources .tab[data-dimension="referrer"]');
  await page.waitForSelector('#table-sources tbody tr[data-value="https://t.co/k%C3%A4ytt%C3%B6"]');
  assert.equal(await page.textContent('#table-sources tbody tr[data-value="https://t.co/k%C3%A4ytt%C3%B6"] .name'),
    'https://t.co/käyttö');
  await page.click('#card-sources .tab[data-dimension="channel"]');
  await page.waitForFunction(() => document.querySelector('#table-sources').dataset.dimension === 'channel');

  // The chart: uPlot drew a canvas with a point per day of the range.
  const canvas = await page.$eval('#chart canvas', (c) => ({ w: c.width, h: c.height }));
  assert.ok(canvas.w > 200 && canvas.h > 100, `a canvas ${canvas.w}×${canvas.h}`);
  const points = Number(await page.getAttribute('#chart', 'data-points'));
  assert.equal(points, 30, 'a point per day of the last 30 days');
  const ts = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.equal(ts.results.length, points);
  assert.ok(ts.results.reduce((n, r) => n + r.visitors, 0) >= 1, 'the traffic is on the chart');

  // Consent opt-in rates, as GET /api/consent/stats has them.
  const consent = await api(context, await page.getAttribute('#table-consent', 'data-api'));
  assert.equal(consent.tz, TZ, 'consent is counted by the same local days');
  assert.equal(consent.totals.choices, CHOICES.length);
  const rates = await page.$$eval('#table-consent tbody tr', (trs) => trs.map((tr) =>
    [tr.dataset.value, tr.querySelector('td').dataset.value, tr.querySelector('td').textContent]));
  assert.deepEqual(rates.map((r) => r[0]).sort(), Object.keys(OPT_IN).sort());
  for (const [cat, raw, text] of rates) {
    assert.equal(raw, String(consent.totals.opt_in_rate[cat]), `${cat}: the rate shown is the API's`);
    assert.ok(Math.abs(Number(raw) - OPT_IN[cat]) < 1e-9, `${cat}: ${raw}`);
    assert.equal(text, shown('conversion_rate', OPT_IN[cat] * 100));
  }
  // Its CSV (made in the page) gives the day's rates in percent, as the
  // other exports do.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#card-consent a.csv')]);
  const consentCsv = readFileSync(await download.path(), 'utf8');
  const [head, ...days] = consentCsv.trim().split('\n').map((l) => l.split(','));
  const daysWithChoices = days.filter((d) => d.slice(head.findIndex((h) => h.startsWith('opt_in_rate_'))).some((v) => v !== ''));
  assert.ok(daysWithChoices.length >= 1, consentCsv);
  for (const d of daysWithChoices)
    for (const [i, h] of head.entries())
      if (h.startsWith('opt_in_rate_') && d[i] !== '') {
        const cat = h.slice('opt_in_rate_'.length);
        if (cat in OPT_IN && daysWithChoices.length === 1) assert.equal(Number(d[i]), Math.round(OPT_IN[cat] * 1000) / 10, h);
        assert.ok(Number(d[i]) >= 0 && Number(d[i]) <= 100, `${h}: ${d[i]}`);
      }

  // Real-time visitors, as the API counts them.
  const rt = await api(context, '/api/stats/demo/realtime');
  assert.equal(await page.getAttribute('#realtime-count', 'data-value'), String(rt.visitors));
  assert.ok(rt.visitors >= 1);

  // A CSV export of a table answers text/csv.
  const csvHref = await page.getAttribute('#card-pages a.csv', 'href');
  assert.match(csvHref, /format=csv/);
  const csv = await context.request.get(new URL(csvHref, base).href);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /^text\/csv/);
  assert.match(await csv.text(), /page/);
  // All of its rows, not the table's top ten, saved under the name the
  // page gives it (a browser takes the server's name over the page's).
  assert.equal(new URL(csvHref, base).searchParams.get('limit'), '1000000');
  const saveAs = await page.getAttribute('#card-pages a.csv', 'download');
  assert.match(saveAs, /^demo-page-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/);
  assert.equal(csv.headers()['content-disposition'], `attachment; filename="${saveAs}"`);
  const chartCsv = await context.request.get(new URL(await page.getAttribute('#chart-csv', 'href'), base).href);
  assert.equal(chartCsv.headers()['content-disposition'],
    `attachment; filename="${await page.getAttribute('#chart-csv', 'download')}"`);
  const csvLinks = await page.$$eval('a.csv[href]', (as) => as.length);
  assert.ok(csvLinks >= 10, `every table has a CSV link (${csvLinks})`);

  // Two tabs clicked one after the other, both answers held back: the
  // first answer, when it comes, does not clear the second's busy state.
  const gates = {};
  const tabReport = (url) => url.pathname.endsWith('/breakdown') && ['os', 'device'].includes(url.searchParams.get('dimension'));
  await page.route(tabReport, async (route) => {
    const dim = new URL(route.request().url()).searchParams.get('dimension');
    await new Promise((resolve) => { gates[dim] = resolve; });
    await route.continue();
  });
  await page.click('#card-devices .tab[data-dimension="os"]');
  await page.waitForFunction(() => document.querySelector('#table-devices').dataset.dimension === 'os');
  await page.click('#card-devices .tab[data-dimension="device"]');
  await page.waitForFunction(() => document.querySelector('#table-devices').dataset.dimension === 'device');
  while (!gates.os || !gates.device) await new Promise((resolve) => setTimeout(resolve, 20));
  gates.os();
  await page.waitForResponse((r) => r.url().includes('dimension=os'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(await page.getAttribute('#table-devices', 'aria-busy'), 'true', 'the device tab is still on its way');
  gates.device();
  await page.waitForFunction(() => !document.querySelector('#table-devices').hasAttribute('aria-busy'), null, { timeout: 5000 });
  await page.unroute(tabReport);
  await checkTable(page, context, '#table-devices', ['visitors']);

  // Time of day: all 24 hours, in the hours' order, as the API counts
  // them, zeros for the hours it does not list; each row filters by its
  // hour (dashboard-reports.test.mjs clicks one).
  const hoursUrl = await page.getAttribute('#table-hours', 'data-api');
  assert.equal(new URL(hoursUrl, base).searchParams.get('limit'), '24');
  const hours = (await api(context, hoursUrl)).results;
  assert.ok(hours.length > 0 && hours.length < 24, `${hours.length} hours with visits`);
  const hourRow = (h) => hours.find((r) => r.hour === h) || { hour: h, visitors: 0, visits: 0 };
  const shownHours = await page.$$eval('#table-hours tbody tr', (trs) => trs.map((tr) => ({
    value: tr.dataset.value, label: tr.querySelector('th').textContent,
    visits: tr.querySelector('td[data-metric="visits"]').dataset.value, button: !!tr.querySelector('button') })));
  assert.deepEqual(shownHours.map((r) => [r.value, r.visits, r.button]),
    Array.from({ length: 24 }, (_, h) => [String(h), String(hourRow(h).visits), true]));
  assert.deepEqual([shownHours[0].label, shownHours[23].label], ['00:00–01:00', '23:00–00:00']);
  assert.equal(await page.isHidden('#card-hours .more'), true);
  // Its CSV: the same 24 hours in order, with the API's columns, the
  // API's figures for the hours it lists (its CSV for the same query).
  const [hoursDownload] = await Promise.all([page.waitForEvent('download'), page.click('#card-hours a.csv')]);
  assert.match(hoursDownload.suggestedFilename(), /^demo-hour-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/);
  const hoursCsvText = readFileSync(await hoursDownload.path(), 'utf8');
  const apiHoursCsv = await (await context.request.get(new URL(`${hoursUrl}&format=csv`, base).href)).text();
  assert.ok(hoursCsvText.endsWith('\r\n') && apiHoursCsv.endsWith('\r\n'), 'CRLF, as the API\'s CSV');
  const hoursCsv = hoursCsvText.trim().split('\r\n');
  const [apiHead, ...apiHours] = apiHoursCsv.trim().split('\r\n');
  assert.equal(hoursCsv.length, 25);
  assert.equal(hoursCsv[0], apiHead, 'the API\'s columns');
  assert.deepEqual(hoursCsv.slice(1).map((l) => l.split(',')[0]), Array.from({ length: 24 }, (_, h) => String(h)));
  for (const line of apiHours) assert.ok(hoursCsv.includes(line), `the API's row ${line}`);
  const quiet = hoursCsv.slice(1).find((l) => !hours.some((r) => String(r.hour) === l.split(',')[0]));
  assert.match(quiet, /^\d+,0,0,0,,,,0,$/, 'an hour without visits: zeros, and no rate');

  // Custom properties: the site's keys in a menu beside the tabs, shown
  // with the Properties tab; their values as the API breaks them down.
  assert.equal(await page.isHidden('#card-events .prop-key'), true, 'no key menu on the Events tab');
  await page.click('#card-events .tab[data-dimension="prop"]');
  await page.waitForFunction(() => document.querySelector('#table-events').dataset.dimension === 'prop:plan' &&
    !document.querySelector('#table-events').hasAttribute('aria-busy'));
  assert.deepEqual(await page.$$eval('#card-events .prop-key option', (os) => os.map((o) => o.value)), ['plan']);
  assert.equal(await page.isVisible('#card-events .prop-key'), true);
  const plans = await checkTable(page, context, '#table-events', ['visitors', 'events']);
  assert.deepEqual(plans.results.map((r) => [r['prop:plan'], r.events]).sort(), [['free', 1], ['pro', 1]]);
  assert.equal(await page.textContent('#table-events thead th'), 'Property plan');
  // The tab and the property stay chosen in this browser: a reload
  // shows them again, though the address does not hold them.
  assert.doesNotMatch(page.url(), /plan|prop/);
  await page.reload();
  await ready(page);
  await page.waitForFunction(() => document.querySelector('#table-events').dataset.dimension === 'prop:plan' &&
    !document.querySelector('#table-events').hasAttribute('aria-busy'));
  assert.equal(await page.inputValue('#card-events .prop-key'), 'plan');
  await page.click('#card-events .tab[data-dimension="event"]');
  await page.waitForFunction(() => document.querySelector('#table-events').dataset.dimension === 'event');

  // Filter by a browser: click its row.
  await page.click('#card-devices .tab[data-dimension="browser"]');
  await page.waitForSelector('#table-browser, #table-devices[data-dimension="browser"]');
  await page.waitForFunction(() => document.querySelector('#table-devices tbody tr[data-value="Firefox"]'));
  await checkTable(page, context, '#table-devices', ['visitors']);
  // The pages' breakdown held back: until it comes, the table shows the
  // last answer greyed and says it is busy; the summary, answered, not.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const pagesReport = (url) => url.pathname.endsWith('/breakdown') && url.searchParams.get('dimension') === 'page';
  await page.route(pagesReport, async (route) => { await held; await route.continue(); });
  await page.click('#table-devices tbody tr[data-value="Firefox"] button');
  await page.waitForFunction(() => {
    const t = document.querySelector('#table-pages');
    return t.getAttribute('aria-busy') === 'true' && new URLSearchParams(t.dataset.api.split('?')[1]).get('filter') === 'browser==Firefox' &&
      getComputedStyle(t.tBodies[0]).opacity === '0.4' && t.tBodies[0].rows.length > 0;
  }, null, { timeout: 5000 });
  await page.waitForFunction(() => !document.querySelector('#summary').hasAttribute('aria-busy') &&
    getComputedStyle(document.querySelector('#summary')).opacity === '1', null, { timeout: 5000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'loading');
  release();
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'browser==Firefox');
  await page.unroute(pagesReport);
  assert.equal(await page.$eval('#table-pages', (t) => t.hasAttribute('aria-busy')), false);
  await page.waitForFunction(() => getComputedStyle(document.querySelector('#table-pages').tBodies[0]).opacity === '1',
    null, { timeout: 5000 });
  assert.deepEqual(await chips(page), ['Browser is Firefox']);
  const { data: firefox } = await checkSummary(page, context);
  assert.deepEqual(firefox.filters, [{ dimension: 'browser', op: '==', value: 'Firefox' }]);
  assert.ok(firefox.results.visitors < all.results.visitors, 'the filter changed the numbers');
  assert.equal(firefox.results.pageviews, 4, 'the two Firefox visitors viewed 4 pages');
  await checkTable(page, context, '#table-pages', ['visitors', 'pageviews', 'time_on_page']);

  // A second filter, with the keyboard: they combine.
  await page.focus('#table-pages tbody tr[data-value="/pricing"] button');
  await page.keyboard.press('Enter');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'browser==Firefox;page==/pricing');
  assert.deepEqual(await chips(page), ['Browser is Firefox', 'Page is /pricing']);
  assert.equal(await page.evaluate(() => document.activeElement.className), 'chip-remove',
    'the keyboard lands on the new chip');
  const { data: both } = await checkSummary(page, context);
  assert.equal(both.filters.length, 2);
  // The page's own views, as its row said before the click, and its
  // time on page among the figures.
  const pricingRow = (await api(context, `/api/stats/demo/breakdown?${new URLSearchParams({
    dimension: 'page', limit: '100', from: both.from, to: both.to, tz: TZ, filter: 'browser==Firefox' })}`))
    .results.find((r) => r.page === '/pricing');
  assert.equal(both.results.pageviews, pricingRow.pageviews);
  assert.ok(both.results.pageviews < firefox.results.pageviews, 'only /pricing\'s views');
  assert.equal(await page.isVisible('#summary [data-metric="time_on_page"]'), true);

  // Comparison with the previous period, and the URL as a bookmark.
  await page.selectOption('#compare', 'previous_period');
  await ready(page, () => new URLSearchParams(location.search).get('compare') === 'previous_period');
  assert.equal(await page.getAttribute('#chart', 'data-series'), '2', 'the previous period drawn too');
  const compared = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.ok(compared.comparison && Array.isArray(compared.comparison.results), 'the timeseries has a comparison');
  const bookmark = page.url();
  await page.reload();
  await ready(page);
  assert.equal(page.url(), bookmark);
  assert.deepEqual(await chips(page), ['Browser is Firefox', 'Page is /pricing'], 'the filters come back');
  assert.equal(await page.inputValue('#compare'), 'previous_period', 'so does the comparison');
  await checkSummary(page, context);

  // Removing a chip: the other stays, the numbers follow.
  await page.click('#filters .chip[data-dimension="page"] .chip-remove');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'browser==Firefox');
  assert.deepEqual(await chips(page), ['Browser is Firefox']);
  const { data: again } = await checkSummary(page, context);
  assert.deepEqual(again.results, firefox.results);

  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));

  // A goal is named, not matched: a page goal's pattern (/docs*) is no
  // glob to escape when its row is clicked (on a figure of it: the whole
  // row filters, not only its name).
  await page.click('#table-goals tbody tr[data-value="Visit /docs*"] td.num');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'goal==Visit /docs*');
  assert.deepEqual(await chips(page), ['Goal is Visit /docs*']);
  const { data: docs } = await checkSummary(page, context);
  assert.ok(docs.results.visits > 0 && docs.results.visits < all.results.visits, 'the goal filtered');
  assert.equal(await page.isHidden('#segment-note'), true, 'an ad hoc filter is no segment');
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));

  // A value holding | (which separates a filter's alternatives) and ;
  // (which separates filters) is chosen as it reads: the dashboard puts
  // them in brackets, and the filter beside it stays a filter of its own.
  await page.click('#card-campaigns .tab[data-dimension="utm_content"]');
  await page.waitForSelector('#table-campaigns tbody tr[data-value="thread|x;y"] button');
  await page.click('#table-campaigns tbody tr[data-value="thread|x;y"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'utm_content==thread[|]x[;]y');
  assert.deepEqual(await chips(page), ['UTM content is thread|x;y']);
  const { data: thread } = await checkSummary(page, context);
  assert.equal(thread.results.visits, 1, 'the one visit with that content');
  await page.click('#table-pages tbody tr[data-value="/"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'utm_content==thread[|]x[;]y;page==/');
  assert.deepEqual(await chips(page), ['UTM content is thread|x;y', 'Page is /']);
  const { data: threadHome } = await checkSummary(page, context);
  assert.equal(threadHome.results.visits, 1, 'still that visit, on /');
  await page.reload();
  await ready(page, () => document.querySelectorAll('#filters .chip').length === 2);
  assert.deepEqual(await chips(page), ['UTM content is thread|x;y', 'Page is /']);
  await page.click('#filters .chip-remove');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page==/');
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  await page.click('#card-campaigns .tab[data-dimension="utm_campaign"]');

  // The configured segments (contrib/seula.ini.example): a click sets
  // their filters, whose reports are pre-processed; another clears them.
  assert.deepEqual(await page.$$eval('#segments .segment', (bs) => bs.map((b) => b.textContent)),
    ['Device is mobile', 'Channel is search']);
  await page.click('#segments .segment[data-filter="device==mobile"]');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'device==mobile');
  assert.deepEqual(await chips(page), ['Device is mobile']);
  assert.equal(await page.getAttribute('#segments .segment[data-filter="device==mobile"]', 'aria-pressed'), 'true');
  // The keyboard stays on the segment (redrawn pressed), not thrown back
  // to the top of the page.
  const focusedSegment = () => page.evaluate(() => document.activeElement.matches('#segments .segment')
    && `${document.activeElement.dataset.filter} ${document.activeElement.getAttribute('aria-pressed')}`);
  assert.equal(await focusedSegment(), 'device==mobile true');
  await page.waitForSelector('#segment-note', { state: 'visible' });
  const { data: mobile } = await checkSummary(page, context);
  assert.equal(mobile.preprocessed, true, 'the API read the segment\'s rollups');
  assert.ok(mobile.results.visits > 0 && mobile.results.visits < all.results.visits, 'the segment filtered');
  await page.click('#segments .segment[data-filter="device==mobile"]');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(await page.isHidden('#segment-note'), true);
  assert.equal(await focusedSegment(), 'device==mobile false');

  // The date range: today by the hour, a custom range by the day.
  await page.selectOption('#period', 'today');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'today');
  const { query: todayQuery, data: todayData } = await checkSummary(page, context);
  assert.equal(todayQuery.get('from'), todayQuery.get('to'), 'today is one day');
  // Set against yesterday as far as now (all of it in the day's last
  // hour), and the range compared with says so.
  assert.equal(await page.inputValue('#compare'), 'previous_period');
  const againstYesterday = await page.textContent('#compare-range');
  if (todayData.comparison.until) {
    assert.match(todayData.comparison.until, new RegExp(`^${todayData.comparison.to} \\d\\d:00$`));
    assert.match(againstYesterday, new RegExp(`, until ${todayData.comparison.until.slice(11)}\\)$`), againstYesterday);
  } else {
    assert.doesNotMatch(againstYesterday, /until/);
  }
  const hourly = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.equal(hourly.interval, 'hour');
  // One day: its hours alone on the axis (uPlot may draw after the answer).
  await page.waitForFunction(() => /^\d\d:00(\|\d\d:00)+$/.test(document.querySelector('#chart').dataset.xLabels),
    null, { timeout: 5000 });
  assert.equal(Number(await page.getAttribute('#chart', 'data-points')), hourly.results.length);
  assert.ok(hourly.results.length >= 23 && hourly.results.length <= 25, 'an hour a point');
  // The hours still to come are not drawn as zeros.
  const started = () => {
    const p = new Intl.DateTimeFormat('en-US', {
      timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    }).formatToParts(new Date());
    const g = (t) => Number(p.find((x) => x.type === t).value);
    const wall = Date.UTC(g('year'), g('month') - 1, g('day'), g('hour'), g('minute'));
    return hourly.results.filter((r) => {
      const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})/.exec(r.date);
      return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) <= wall;
    }).length;
  };
  const drawn = Number(await page.getAttribute('#chart', 'data-drawn'));
  const upTo = started();
  assert.ok(drawn >= 1 && (drawn === upTo || drawn === upTo - 1), `${drawn} hours drawn, ${upTo} begun`);
  // The hour now runs in is drawn apart (dashed), not as a fall; it is the
  // last begun.
  const lastBegun = hourly.results[upTo - 1].date.slice(11, 16);
  const current = await page.getAttribute('#chart', 'data-current');
  assert.ok(current.endsWith(` ${lastBegun}`) || (drawn === upTo - 1 && current === ''),
    `the hour running (${current}) is the last begun (${lastBegun})`);
  const to = todayQuery.get('to');
  // Yesterday: the day before, by the hour, against the day before it.
  await page.selectOption('#period', 'yesterday');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'yesterday');
  const { query: yQuery, data: yData } = await checkSummary(page, context);
  const dayBefore = (d, n) => new Date(Date.parse(`${d}T00:00:00Z`) - n * 86400000).toISOString().slice(0, 10);
  assert.deepEqual([yQuery.get('from'), yQuery.get('to')], [dayBefore(to, 1), dayBefore(to, 1)]);
  assert.deepEqual([yData.comparison.from, yData.comparison.to], [dayBefore(to, 2), dayBefore(to, 2)]);
  // A day over has no bucket running.
  await page.waitForFunction(() => document.querySelector('#chart').dataset.current === '', null, { timeout: 5000 });
  const from = new Date(Date.parse(`${to}T00:00:00Z`) - 6 * 86400000).toISOString().slice(0, 10);
  await page.selectOption('#period', 'custom');
  await page.fill('#from', from);
  await page.fill('#to', to);
  await page.click('#apply');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'custom');
  const { query: customQuery, data: week } = await checkSummary(page, context);
  assert.deepEqual([customQuery.get('from'), customQuery.get('to')], [from, to]);
  // The period compared with is named.
  const prevFrom = new Date(Date.parse(`${from}T00:00:00Z`) - 7 * 86400000).toISOString().slice(0, 10);
  assert.equal(week.comparison.from, prevFrom);
  const named = await page.textContent('#compare-range');
  const day = (d) => new Date(`${d}T00:00:00Z`).getUTCDate();
  assert.match(named, new RegExp(`^\\(${day(prevFrom)} .* – ${day(week.comparison.to)} .*\\)$`), named);
  assert.equal(await page.getAttribute('#chart', 'data-points'), '7');
  // The chart's buckets as chosen: the week by the hour, kept in the URL;
  // Auto again goes by the range.
  await page.selectOption('#interval', 'hour');
  await ready(page, () => new URLSearchParams(location.search).get('interval') === 'hour');
  await page.waitForFunction(() => new URLSearchParams(
    document.querySelector('#chart').dataset.api.split('?')[1]).get('interval') === 'hour');
  await page.waitForFunction(() => Number(document.querySelector('#chart').dataset.points) >= 7 * 24 - 1);
  // Its axis names the day at each midnight, and the hours between.
  await page.waitForFunction(() => /\d\d:00/.test(document.querySelector('#chart').dataset.xLabels || ''),
    null, { timeout: 5000 });
  const xLabels = (await page.getAttribute('#chart', 'data-x-labels') || '').split('|');
  const dated = xLabels.filter((l) => /^\d{1,2} [A-Z][a-z]{2,3}$/.test(l));
  assert.ok(dated.length >= 3, `days named on the axis: ${xLabels.join(' ')}`);
  assert.ok(dated[0].startsWith(`${day(from)} `), `the first day named: ${xLabels.join(' ')}`);
  assert.ok(xLabels.every((l) => dated.includes(l) || /^\d\d:00$/.test(l)), xLabels.join(' '));
  await page.selectOption('#interval', '');
  await ready(page, () => !new URLSearchParams(location.search).has('interval'));
  await page.waitForFunction(() => document.querySelector('#chart').dataset.points === '7');
  // On a phone every table's numbers stay inside its card.
  await page.setViewportSize({ width: 375, height: 800 });
  for (const id of ['#table-pages', '#table-goals', '#table-sources'])
    await page.waitForFunction((sel) => {
      const t = document.querySelector(sel);
      return t.scrollWidth <= t.parentElement.clientWidth + 1;
    }, id, { timeout: 5000 });
  // ... and the custom range's form wraps rather than widen the page.
  await page.waitForFunction(() => document.documentElement.scrollWidth <= 375, null, { timeout: 5000 });
  await page.setViewportSize({ width: 1280, height: 900 });
  await checkTable(page, context, '#table-pages', ['visitors', 'pageviews', 'time_on_page']);

  // A week without visits: no bounce rate of 0%, and no change against
  // a week that had none either.
  await page.fill('#from', '2020-01-06');
  await page.fill('#to', '2020-01-12');
  await page.click('#apply');
  await ready(page, () => new URLSearchParams(location.search).get('from') === '2020-01-06');
  const { data: empty } = await checkSummary(page, context);
  assert.equal(empty.results.visits, 0);
  assert.equal(await page.textContent('#summary [data-metric="bounce_rate"] .value'), '–');
  assert.equal(await page.$('#summary [data-metric="bounce_rate"] .change'), null);
  // ... nor a line of 0% in the chart: seven days, none drawn.
  await page.click('#summary button[data-metric="bounce_rate"]');
  await ready(page, () => new URLSearchParams(location.search).get('metric') === 'bounce_rate');
  await page.waitForFunction(() => document.querySelector('#chart').dataset.api.includes('bounce_rate'));
  await page.waitForFunction(() => !document.querySelector('#chart').hasAttribute('aria-busy'));
  assert.equal(await page.getAttribute('#chart', 'data-points'), '7');
  assert.equal(await page.getAttribute('#chart', 'data-drawn'), '0');
  // A range past the reports' limit: one notice, no request, nothing changes.
  const asked = [];
  const onRequest = (r) => { if (r.url().includes('/api/stats/')) asked.push(r.url()); };
  page.on('request', onRequest);
  await page.fill('#from', '2000-01-01');
  await page.fill('#to', '2030-12-31');
  await page.click('#apply');
  await page.waitForSelector('#notice:not([hidden])');
  assert.match(await page.textContent('#notice'), /at most 3,700 days/);
  page.off('request', onRequest);
  assert.deepEqual(asked, []);
  assert.equal(new URL(page.url()).searchParams.get('from'), '2020-01-06');
  await page.fill('#from', '2020-01-06');
  await page.fill('#to', '2020-01-12');

  // The server out of reach: one notice says so, and the chart does not
  // keep the last dates' line under the new ones.
  assert.deepEqual(page.problems, [], 'no script error, no CSP violation so far');
  await page.route('**/api/stats/**', (route) => route.abort('connectionrefused'));
  await page.selectOption('#period', '7d');
  await ready(page, () => new URLSearchParams(location.search).get('period') === '7d');
  assert.match(await page.textContent('#notice'), /server cannot be reached/);
  assert.match(await page.textContent('#chart-error'), /server cannot be reached/);
  assert.equal(await page.getAttribute('#chart', 'data-points'), '0');
  await page.unroute('**/api/stats/**');
  page.problems.length = 0; // the refused requests, on purpose

  // A goal's row filters by it: the summary adds the conversion rate.
  await page.click('#table-goals tbody tr[data-value="signup"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'goal==signup');
  const { data: converted } = await checkSummary(page, context);
  assert.ok(converted.results.conversion_rate > 0 && converted.results.conversion_rate < 100);
  // Each table gives its rows' conversion rates, as the API's breakdown.
  await page.waitForFunction(() => document.querySelector('#table-sources tbody td[data-metric="conversion_rate"]'));
  assert.match(await page.textContent('#table-sources thead'), /CR/);
  const sources = await api(context, await page.getAttribute('#table-sources', 'data-api'));
  assert.ok(sources.results.some((r) => r.conversion_rate > 0 && r.conversion_rate <= 100), 'a source converts');
  assert.deepEqual(
    await page.$$eval('#table-sources tbody tr', (trs) => trs.map((tr) => [tr.dataset.value,
      tr.querySelector('td[data-metric="conversion_rate"]').dataset.value])),
    sources.results.map((r) => [r[sources.dimension],
      r.conversion_rate === null ? '' : String(r.conversion_rate)]));
  // The time of day's CSV, made here, has the API's columns: the rate too.
  await page.waitForFunction(() => document.querySelector('#table-hours tbody td[data-metric="conversion_rate"]'));
  const [goalHours] = await Promise.all([page.waitForEvent('download'), page.click('#card-hours a.csv')]);
  const goalHoursCsv = readFileSync(await goalHours.path(), 'utf8').split('\r\n');
  const apiGoalHoursCsv = (await (await context.request.get(new URL(
    `${await page.getAttribute('#table-hours', 'data-api')}&format=csv`, base).href)).text()).split('\r\n');
  assert.equal(goalHoursCsv[0], apiGoalHoursCsv[0]);
  assert.match(goalHoursCsv[0], /,conversion_rate$/);
  for (const line of apiGoalHoursCsv.slice(1).filter(Boolean)) assert.ok(goalHoursCsv.includes(line), line);
  // Charted like any figure: the timeseries' rate by the bucket.
  await page.click('#summary [data-metric="conversion_rate"]');
  await page.waitForFunction(() => /metric=conversion_rate/.test(document.querySelector('#chart').dataset.api)
    && Number(document.querySelector('#chart').dataset.points) > 0);
  const byBucket = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.ok(byBucket.results.some((r) => r.conversion_rate > 0), 'a bucket with its rate');
  assert.equal(await page.isHidden('#chart-error'), true);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('metric'), 'conversion_rate');
  // Without the goal there is no rate: the chart goes back to visitors.
  await page.click('#filters .chip[data-dimension="goal"] .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(await page.$('#summary [data-metric="conversion_rate"]'), null);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('metric'), null);

  // A full-page screenshot that the test output keeps, of the default view.
  await page.selectOption('#period', '30d');
  await ready(page, () => !new URLSearchParams(location.search).has('period'));
  assert.equal(await page.isHidden('#notice'), true, 'back: the notice goes');
  await checkSummary(page, context);
  mkdirSync(OUTPUT, { recursive: true });
  const shot = path.join(OUTPUT, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);

  // axe-core on the page itself (evaluated through the driver, which the
  // page's CSP does not block, unlike an injected script tag).
  await axe(page);
  assert.deepEqual(page.problems, [], 'no script error, no CSP violation');
  await context.close();
  console.log(`dashboard test body: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('a role without statistics is told so; the assets are served from this server', async () => {
  // The page and uPlot come from the server itself (no CDN).
  for (const p of ['/', '/dashboard/dashboard.js', '/dashboard/dashboard.css',
    '/vendor/uplot/uPlot.iife.min.js', '/vendor/uplot/uPlot.min.css']) {
    const r = await fetch(`${base}${p}`);
    assert.equal(r.status, 200, p);
  }
  const html = await (await fetch(`${base}/`)).text();
  assert.doesNotMatch(html, /src="https?:|href="https?:/, 'no third-party asset');
  const r = await fetch(`${base}/api/stats/sites`);
  assert.equal(r.status, 401, 'the stats need a session');

  // Customer service signs in, and is told the statistics are not theirs.
  const context = await browser.newContext();
  const page = await open(context, `${base}/login/?next=%2F`);
  await signIn(page, SERVICE);
  await page.waitForSelector('#notice:not([hidden])');
  assert.match(await page.textContent('#notice'), /admins and analysts/);
  // Nothing of the statistics: no "0 current visitors" of no site.
  assert.equal(await page.isHidden('.context'), true);
  assert.equal(await page.isHidden('#card-realtime'), true);
  await page.waitForFunction((n) => document.querySelector('#who').textContent.startsWith(n), SERVICE.name);
  assert.deepEqual(page.problems.filter((p) => !/status of 403/.test(p)), []);
  // Nothing to show: the controls ask for nothing.
  assert.equal(await page.isDisabled('#period'), true);
  await context.close();
});

test('a configured site opens before its first visit; an unknown one says so', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await analystPage(context, '/?site=quiet');
  await ready(page);
  assert.equal(await page.inputValue('#site'), 'quiet', 'not replaced by another site');
  // Listed with the others, though no visit has reached it.
  assert.deepEqual(await page.$$eval('#site option', (os) => os.map((o) => o.value)), ['demo', 'quiet']);
  assert.equal(await page.textContent('#summary [data-metric="visits"] .value'), '0');
  assert.equal(await page.isHidden('#notice'), true);
  // It says how to add the tracker, with this server's address.
  assert.equal(await page.isVisible('#first-visit'), true);
  assert.equal(await page.textContent('#first-visit-site'), 'quiet');
  assert.equal(await page.textContent('#first-visit-snippet'),
    `<script defer src="${base}/seula.js" data-site="quiet"></script>`);
  assert.match(await page.textContent('#first-visit-banner'), /\/consent\.js" data-site="quiet"/);
  mkdirSync(OUTPUT, { recursive: true });
  await page.locator('#first-visit').screenshot({ path: path.join(OUTPUT, 'dashboard-first-visit.png') });
  // On a phone its code scrolls sideways: the keyboard can reach it.
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await page.$eval('#first-visit pre', (p) => p.scrollWidth > p.clientWidth), 'the code scrolls');
  await axe(page);
  await page.setViewportSize({ width: 1280, height: 720 });
  // No custom properties on this site: no tab for them.
  assert.equal(await page.isHidden('#card-events .tab[data-dimension="prop"]'), true);
  assert.equal(await page.isHidden('#card-events .prop-key'), true);
  // A filter form opened for this site offered its dimensions and values:
  // it closes when another site is chosen.
  await page.click('#filter-add');
  await page.waitForSelector('#filter-form:not([hidden])');
  await page.fill('#filter-value', '/quiet-only');
  // A site with visits shows no such thing.
  await page.selectOption('#site', 'demo');
  await ready(page, () => new URLSearchParams(location.search).get('site') === 'demo');
  assert.equal(await page.isHidden('#first-visit'), true);
  assert.equal(await page.isHidden('#filter-form'), true, 'the other site\'s filter form is closed');
  assert.equal(await page.getAttribute('#filter-add', 'aria-expanded'), 'false');
  assert.equal(new URL(page.url()).searchParams.get('filter'), null);
  // Once its first visit is counted, its numbers instead.
  const r = await post('/api/collect', { site: 'quiet', type: 'pageview', url: 'http://quiet.example/' },
    { 'User-Agent': UA.chromeWin, 'X-Forwarded-For': '10.30.0.1', Origin: 'http://quiet.example' });
  assert.equal(r.status, 204, r.text);
  await page.goto(`${base}/?site=quiet`);
  await ready(page);
  assert.equal(await page.isHidden('#first-visit'), true);
  assert.equal(await page.textContent('#summary [data-metric="visits"] .value'), '1');
  await page.goto(`${base}/?site=nosuch`);
  await ready(page);
  assert.equal(await page.inputValue('#site'), 'demo');
  assert.match(await page.textContent('#notice'), /no site "nosuch" in the configuration: showing demo/);
  // The session ends under the page: the sign-in page says so, and
  // signing in again comes back to the same view.
  await context.clearCookies();
  await page.selectOption('#period', '7d');
  await page.waitForURL(/\/login\/\?next=.*&ended=1$/);
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /session has ended/);
  await signIn(page, ANALYST);
  await ready(page, () => new URLSearchParams(location.search).get('period') === '7d');
  await context.close();
});

test('a sign-out in another tab clears the dashboard at once; its requests keep the other staff pages alive', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  // Another staff tab hears of each request the dashboard makes (the
  // server restarts the session's idle time on each).
  const other = await open(context, `${base}/login/`);
  await other.waitForSelector('#logout:not([hidden])');
  await other.evaluate(() => {
    window.heard = [];
    new BroadcastChannel('seula-staff').onmessage = (ev) => window.heard.push(ev.data);
  });
  await page.selectOption('#period', '7d');
  await ready(page, () => new URLSearchParams(location.search).get('period') === '7d');
  assert.ok((await other.evaluate(() => window.heard)).includes('active'), 'a request announced');

  // Signing out there: the dashboard leaves, told by the other tab, not
  // by a 401, and takes the statistics off the screen.
  const asked = [];
  page.on('request', (r) => asked.push(r.url()));
  await other.click('#logout');
  await other.waitForSelector('#login:not([hidden])');
  await page.waitForURL(/\/login\/\?next=.*&ended=1$/, { timeout: 5000 });
  assert.deepEqual(asked.filter((u) => u.includes('/api/') && !u.endsWith('/api/session')), [],
    'no report asked after the sign-out');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(other.problems, []);
  await context.close();
});

test('a dashboard left in a hidden tab past the session\'s idle time takes its figures off the screen', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  await context.clock.install();
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  // Hidden: the real-time figure is not polled, so nothing asks the
  // server and the session's 30 idle minutes run.
  await page.evaluate(() => Object.defineProperty(document, 'hidden', { get: () => true }));
  await context.clock.runFor(29 * 60 * 1000);
  assert.equal(new URL(page.url()).pathname, '/');
  await context.clock.runFor(2 * 60 * 1000);
  await page.waitForURL(/\/login\/\?next=.*&ended=1$/, { timeout: 5000 });
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a visible dashboard nobody uses still idles out: its real-time poll is no activity', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  await context.clock.install();
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  // Shown, the real-time figure is polled every 30 s, marked so that
  // neither the server nor the page takes it for someone there.
  const marks = [];
  page.on('request', (r) => {
    if (r.url().includes('/realtime')) marks.push(r.headers()['x-seula-background']);
  });
  await context.clock.runFor(29 * 60 * 1000);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.ok(marks.length > 0, 'polled');
  assert.deepEqual([...new Set(marks)], ['1']);
  await context.clock.runFor(2 * 60 * 1000);
  await page.waitForURL(/\/login\/\?next=.*&ended=1$/, { timeout: 5000 });
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a filter part of the address that is no filter is named, not silently dropped', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('device==Desktop;countyr==FI;;browser')}`);
  await ready(page);
  const chips = await page.$$eval('#filters .chip', (els) => els.map((e) => e.dataset.dimension));
  assert.deepEqual(chips, ['device']);
  const text = await page.textContent('#notice');
  assert.match(text, /Not applied: "countyr==FI", "browser" from the address is no filter/);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('filter'), 'device==Desktop');
  // A saved link's goal that is no longer configured is dropped and
  // named, not sent (its 400 would fail every card); a configured one,
  // or alternatives of them, stay.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('device==Desktop;goal==Nope;goal==signup|Visit /docs*')}`);
  await ready(page);
  const kept = await page.$$eval('#filters .chip', (els) => els.map((e) => e.dataset.dimension));
  assert.deepEqual(kept, ['device', 'goal']);
  assert.match(await page.textContent('#notice'), /Not applied: "goal==Nope" from the address: demo has no such goal/);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('filter'), 'device==Desktop;goal==signup|Visit /docs*');
  assert.equal(await page.locator('.error:visible').count(), 0);
  // Its conversion rate on the chart goes with it: the chart shows the
  // visitors, not the API's refusal of a rate without a goal.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('goal==Nope')}&metric=conversion_rate`);
  await ready(page);
  assert.match(await page.textContent('#notice'), /Not applied: "goal==Nope" from the address: demo has no such goal/);
  assert.equal(await page.locator('.error:visible').count(), 0);
  assert.equal(new URL(await page.getAttribute('#chart', 'data-api'), base).searchParams.get('metric'), 'visitors');
  assert.equal(await page.getAttribute('#summary [data-metric="visitors"]', 'aria-pressed'), 'true');
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('metric'), null, 'the address says what is shown');
  // A custom range that is no range of days: the last 30 days, said.
  await page.goto(`${base}/?site=demo&period=custom&from=2026-02-30&to=2026-03-01`);
  await ready(page);
  assert.match(await page.textContent('#notice'),
    /Not applied: the custom range "2026-02-30–2026-03-01" from the address is no range of days .*the last 30 days are shown/);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('period'), null, 'the address says the days shown');
  // A comparison the page does not offer (a custom one, the API's): none, said.
  await page.goto(`${base}/?site=demo&period=yesterday&compare=custom&compare_from=2026-11-01&compare_to=2026-11-02`);
  await ready(page);
  assert.match(await page.textContent('#notice'),
    /Not applied: the comparison "custom" from the address: the dashboard compares with the previous period or the year before/);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('compare'), null, 'the address says what is shown');
  // A chart with no value in its range (a rate of no visits) says so.
  await page.goto(`${base}/?site=demo&period=custom&from=2020-01-01&to=2020-01-07&metric=bounce_rate`);
  await ready(page);
  await page.waitForFunction(() => document.querySelector('#chart').dataset.drawn === '0', null, { timeout: 5000 });
  assert.equal(await page.textContent('#chart .chart-empty'), 'No bounce rate in this period.');
  // An address whose filters all parse says nothing.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('device==Desktop')}`);
  await ready(page);
  assert.equal(await page.isHidden('#notice'), true);
  await context.close();
});

test('an hourly chart of a day the clocks go back has its hours evenly on the axis', async () => {
  // The browser in the site's zone too: uPlot's own hour steps went by
  // its clock, 00:00|01:00|04:00|06:00 on 25 Oct 2026 in Helsinki.
  for (const [from, to] of [['2026-10-25', '2026-10-25'], ['2026-03-29', '2026-03-29'], ['2026-10-24', '2026-10-26']]) {
    const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    const page = await open(context, `${base}/login/?next=${encodeURIComponent(
      `/?site=demo&period=custom&from=${from}&to=${to}&interval=hour`)}`);
    await signIn(page, ANALYST);
    await ready(page);
    await page.waitForFunction(() => /\d\d:00/.test(document.querySelector('#chart').dataset.xLabels || ''),
      null, { timeout: 5000 });
    const labels = (await page.getAttribute('#chart', 'data-x-labels')).split('|');
    // As wall-clock seconds from the first midnight: hours, and the days
    // named at each midnight of a longer range.
    let dayN = -1;
    const at = labels.map((l) => {
      const m = /^(\d\d):(\d\d)$/.exec(l);
      if (!m) return ++dayN * 86400;
      return Math.max(dayN, 0) * 86400 + (+m[1]) * 3600 + (+m[2]) * 60;
    });
    assert.ok(labels.length >= 3, `${from}: ${labels.join('|')}`);
    const gaps = new Set(at.slice(1).map((t, i) => t - at[i]));
    assert.equal(gaps.size, 1, `${from}: evenly spaced: ${labels.join('|')}`);
    const [gap] = gaps;
    assert.ok(gap % 3600 === 0 && at.every((t) => t % gap === 0), `${from}: whole steps: ${labels.join('|')}`);
    assert.deepEqual(page.problems, []);
    await context.close();
  }
});

test('the last 30 days are compared with the 30 days before, even when they are a whole month', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  // 30 September, in Helsinki: "last 30 days" is all of September, which
  // the API's previous_period would compare with August's 31 days.
  const page = await analystPage(context, '/?site=demo&compare=previous_period', new Date('2026-09-30T09:00:00Z'));
  await ready(page);
  const summary = new URL(await page.getAttribute('#summary', 'data-api'), base).searchParams;
  assert.deepEqual([summary.get('from'), summary.get('to')], ['2026-09-01', '2026-09-30']);
  const data = await api(context, await page.getAttribute('#summary', 'data-api'));
  assert.deepEqual([data.comparison.from, data.comparison.to], ['2026-08-02', '2026-08-31']);
  const chart = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.deepEqual([chart.comparison.from, chart.comparison.to], ['2026-08-02', '2026-08-31']);
  assert.equal(chart.comparison.results.length, chart.results.length, 'a previous day for every day');
  // A month chosen as a month is compared with the month before.
  await page.selectOption('#period', 'month');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'month');
  const month = await api(context, await page.getAttribute('#summary', 'data-api'));
  assert.deepEqual([month.comparison.from, month.comparison.to], ['2026-08-01', '2026-08-31']);
  // Year over year: the same month a year before, in the summary, the
  // chart, the words a screen reader hears, and the URL.
  await page.selectOption('#compare', 'year_over_year');
  await ready(page, () => new URLSearchParams(location.search).get('compare') === 'year_over_year');
  for (const id of ['#summary', '#chart']) {
    const yoy = await api(context, await page.getAttribute(id, 'data-api'));
    assert.deepEqual([yoy.comparison.from, yoy.comparison.to], ['2025-09-01', '2025-09-30'], id);
  }
  assert.equal(await page.getAttribute('#chart', 'data-series'), '2', 'the year before drawn too');
  assert.match(await page.textContent('#summary .change .visually-hidden'), /from a year before$/);
  assert.match(await page.textContent('#compare-range'), /^\(1 Sept? 2025 – 30 Sept? 2025\)$/);
  await page.reload();
  await ready(page);
  assert.equal(await page.inputValue('#compare'), 'year_over_year', 'kept in the URL');
  // No comparison: no second line, and no period named beside the choice.
  await page.selectOption('#compare', '');
  await ready(page, () => !new URLSearchParams(location.search).has('compare'));
  assert.equal(await page.getAttribute('#chart', 'data-series'), '1');
  assert.equal(await page.textContent('#compare-range'), '');
  // This year: from 1 January to today, by the month; a year before is
  // the same days of the year before.
  await page.selectOption('#period', 'year');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'year');
  const year = new URL(await page.getAttribute('#chart', 'data-api'), base).searchParams;
  assert.deepEqual([year.get('from'), year.get('to'), year.get('interval')], ['2026-01-01', '2026-09-30', 'month']);
  assert.match(await page.textContent('#range-text'), /^1 Jan 2026 – 30 Sept? 2026$/);
  await page.selectOption('#compare', 'year_over_year');
  await ready(page, () => new URLSearchParams(location.search).get('compare') === 'year_over_year');
  const ytd = await api(context, await page.getAttribute('#summary', 'data-api'));
  assert.deepEqual([ytd.comparison.from, ytd.comparison.to], ['2025-01-01', '2025-09-30']);
  await page.reload();
  await ready(page);
  assert.equal(await page.inputValue('#period'), 'year', 'kept in the URL');
  await context.close();
});

test('the about and demo pages, with their code to copy, pass axe on a phone', async () => {
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 390, height: 844 } });
  for (const url of ['/about/', '/demo/']) {
    const page = await open(context, `${base}${url}`);
    await page.waitForSelector('pre code');
    // The code blocks scroll sideways here: each must take the focus.
    await axe(page, 10);
    assert.deepEqual(page.problems, [], `${url}: no script error, no CSP violation`);
    await page.close();
  }
  await context.close();
});
