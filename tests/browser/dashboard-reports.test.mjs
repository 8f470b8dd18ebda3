// The marketing dashboard's reports in Debian's Chromium, on the traffic of
// dashboard-fixture.mjs: tables that show more rows, the hours of the day,
// properties sent empty, time on page, goals and their conversion rates
// against a period before, two goals at once, custom ranges, the filter
// form (is not, contains, typed and picked values), weeks and months a
// period cuts, and content groups.  dashboard.test.mjs has the first
// walk through the page, sign-in and sign-out, and axe.
//
//   SEULA_BIN=build/dev/seula SEULA_SOURCE_DIR=. node --test tests/browser/dashboard-reports.test.mjs
//
// SEULA_TEST_OUTPUT: where the screenshots go (default tests/output/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { testPaths } from './harness.mjs';
import { startDashboard, stopDashboard, analystPage, TZ, BROWSER_TZ, ANALYST, UA, VISITORS, post,
  shown, open, ready, signIn, api, checkSummary, checkTable, chips, axe } from './dashboard-fixture.mjs';

const { OUTPUT } = testPaths();
const fx = {};
let base, browser;
before(async () => {
  await startDashboard(fx);
  ({ base, browser } = fx);
});
after(() => stopDashboard(fx));

test('a table shows more of its rows on request, as many as there are', async () => {
  // 14 more pages (21 in all): past a table's ten.
  const headers = { 'User-Agent': UA.chromeWin, 'X-Forwarded-For': '10.20.0.1', Origin: 'http://localhost' };
  for (let i = 0; i < 14; i++) {
    const r = await post('/api/collect', { site: 'demo', type: 'pageview', url: `http://localhost/more/${i}` }, headers);
    assert.equal(r.status, 204, r.text);
  }
  const context = await browser.newContext({ timezoneId: BROWSER_TZ, locale: 'en-GB' });
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  const shown = () => page.$$eval('#table-pages tbody tr:not(.empty)', (trs) => trs.length);
  const all = await api(context, `/api/stats/demo/breakdown?${new URLSearchParams({
    dimension: 'page', limit: '1000', tz: TZ })}`);
  assert.ok(all.results.length > 10 && all.results.length <= 60, `${all.results.length} pages`);
  await page.waitForSelector('#card-pages .more:not([hidden])');
  assert.equal(await shown(), 10);
  // By the keyboard: the button goes once all are shown, and the focus
  // goes on to the first row it added, not to the top of the page.
  await page.focus('#card-pages .more');
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('#table-pages tbody tr:not(.empty)').length === n,
    all.results.length);
  assert.equal(await page.isHidden('#card-pages .more'), true, 'no more to show');
  await page.waitForFunction(() => document.activeElement !== document.querySelector('#card-pages .more'));
  assert.equal(await page.evaluate(() => document.activeElement.closest('#table-pages tbody tr')
    === document.querySelectorAll('#table-pages tbody tr')[10]), true, 'the eleventh row has the focus');
  await checkTable(page, context, '#table-pages', ['visitors', 'pageviews']);
  // Another tab starts at ten again.
  await page.click('#card-pages .tab[data-dimension="entry_page"]');
  await page.waitForFunction(() => document.querySelector('#table-pages').dataset.dimension === 'entry_page');
  assert.equal(new URL(await page.getAttribute('#table-pages', 'data-api'), base).searchParams.get('limit'), '10');
  // All time: from the site's first visit's day in the reports' zone
  // (by its hour: no empty day before it), with nothing before it to
  // compare with.
  const { since, first_hour: firstHour } = await api(context, '/api/stats/sites');
  assert.match(since.demo, /^\d{4}-\d\d-\d\d$/);
  assert.match(firstHour.demo, /^\d{4}-\d\d-\d\dT\d\d:00:00Z$/);
  assert.equal(firstHour.demo.slice(0, 10), since.demo, 'the hour is of the UTC day');
  await page.selectOption('#period', 'all');
  await ready(page, () => new URLSearchParams(location.search).get('period') === 'all');
  const { query, data } = await checkSummary(page, context);
  const local = new Intl.DateTimeFormat('en-CA', { timeZone: query.get('tz'), year: 'numeric',
    month: '2-digit', day: '2-digit' }).format(new Date(firstHour.demo));
  assert.equal(query.get('from'), local);
  const first = await api(context, `/api/stats/demo/timeseries?${new URLSearchParams({
    from: local, to: local, tz: query.get('tz'), metric: 'visits' })}`);
  assert.ok(first.results.some((r) => r.visits > 0), 'the first day shown has visits');
  assert.equal(query.has('compare'), false);
  assert.equal(data.comparison, undefined);
  assert.ok(data.results.visits > 0);
  await context.close();
});

test('the time of day lists all 24 hours in their order, whatever the API ranks first', async () => {
  // The API ranks hours by visitors; the card puts them in the day's
  // order.  The live data has visits in one hour only, so the answer
  // is one the test gives.
  const context = await browser.newContext({ timezoneId: BROWSER_TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo')}`);
  await page.route((url) => url.pathname.endsWith('/breakdown') && url.searchParams.get('dimension') === 'hour',
    (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify({
      dimension: 'hour', page: 1, more: false, results: [
        { hour: 14, visitors: 9, visits: 10 }, { hour: 3, visitors: 5, visits: 5 },
        { hour: 23, visitors: 2, visits: 2 }, { hour: 9, visitors: 1, visits: 1 }] }) }));
  await signIn(page, ANALYST);
  await ready(page);
  const rows = await page.$$eval('#table-hours tbody tr', (trs) => trs.map((tr) =>
    [tr.querySelector('th').textContent, tr.querySelector('td[data-metric="visits"]').textContent]));
  const visits = { 3: '5', 9: '1', 14: '10', 23: '2' };
  const pad = (h) => String(h % 24).padStart(2, '0');
  assert.deepEqual(rows, Array.from({ length: 24 }, (_, h) => [`${pad(h)}:00–${pad(h + 1)}:00`, visits[h] || '0']));
  // An hour's row filters by it, as any row does: the reports (the real
  // API's but for this card) are those of the visits begun in that hour.
  await page.click('#table-hours tbody tr[data-value="14"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'hour==14');
  assert.deepEqual(await chips(page), ['Hour of day is 14:00–15:00']);
  const { data } = await checkSummary(page, context);
  assert.deepEqual(data.filters, [{ dimension: 'hour', op: '==', value: '14' }]);
  assert.equal(await page.isHidden('#notice'), true, 'no error said');
  await context.close();
});

test('the bar stays above the tables scrolled under it, and a row taking the focus is not hidden under it', async () => {
  // From 640 px the bar sticks to the top; at 800 px its controls wrap.
  for (const width of [1280, 800]) {
    const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width, height: 700 } });
    const page = await analystPage(context, '/?site=demo');
    await ready(page);
    const bar = 'body > header';
    assert.equal(await page.$eval(bar, (b) => getComputedStyle(b).position), 'sticky');
    // A table's name cells are no bar of their own, stuck to the top.
    assert.equal(await page.$eval('#table-pages tbody th', (th) => getComputedStyle(th).position), 'static');
    // The top pages' third row scrolled to the middle of the bar: what is
    // under the bar is the bar, and the Site menu takes its own clicks.
    const row = '#table-pages tbody tr:nth-child(3)';
    const under = await page.$eval(row, (tr, sel) => {
      const header = document.querySelector(sel);
      const bar = header.getBoundingClientRect();
      window.scrollBy(0, tr.getBoundingClientRect().top - bar.height / 2);
      const site = document.querySelector('#site');
      const s = site.getBoundingClientRect();
      const r = tr.getBoundingClientRect();
      const misses = [];
      for (let x = 2; x < innerWidth; x += 20)
        for (const y of [2, bar.height / 2, bar.height - 2]) {
          const hit = document.elementFromPoint(x, y);
          if (!header.contains(hit)) misses.push(`${x},${y}: ${hit && hit.tagName}.${hit && hit.className}`);
        }
      return { rowTop: r.top, barHeight: bar.height, site: document.elementFromPoint(s.left + s.width / 2, s.top + s.height / 2) === site, misses };
    }, bar);
    assert.ok(under.rowTop < under.barHeight, `the row is under the bar (${under.rowTop} < ${under.barHeight})`);
    assert.deepEqual(under.misses.slice(0, 5), [], `${width} px: nothing paints over the bar`);
    assert.equal(under.site, true, `${width} px: a click on the Site menu is the menu's`);
    await page.click('#site', { trial: true, timeout: 3000 });
    // The keyboard back to that row (Shift+Tab from the next): it is
    // scrolled out from under the bar.
    await page.$eval(`${row} + tr button`, (b) => b.focus({ preventScroll: true }));
    await page.keyboard.press('Shift+Tab');
    const focused = await page.evaluate((sel) => ({
      value: document.activeElement.closest('tr') && document.activeElement.closest('tr').dataset.value,
      top: document.activeElement.getBoundingClientRect().top,
      bar: document.querySelector(sel).getBoundingClientRect().bottom,
    }), bar);
    assert.equal(focused.value, await page.getAttribute(row, 'data-value'));
    assert.ok(focused.top >= focused.bar, `${width} px: the focused row (top ${focused.top}) is below the bar (${focused.bar})`);
    assert.deepEqual(page.problems, []);
    await context.close();
  }
});

test('a property sent empty reads "(empty)", filters by a click, and keeps its filter', async () => {
  // A visitor whose event has the property, empty.
  const headers = { 'User-Agent': UA.firefoxLinux, 'X-Forwarded-For': '10.30.0.1', Origin: 'http://localhost' };
  for (const ev of [{ site: 'demo', type: 'pageview', url: 'http://localhost/plans' },
    { site: 'demo', type: 'event', name: 'choose', props: { plan: '' }, url: 'http://localhost/plans' }]) {
    const r = await post('/api/collect', ev, headers);
    assert.equal(r.status, 204, r.text);
  }
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  await page.click('#card-events .tab[data-dimension="prop"]');
  const button = page.locator('#table-events tbody tr[data-value=""] button');
  await button.waitFor({ state: 'attached' });
  await checkTable(page, context, '#table-events', ['visitors', 'events']);
  assert.equal(await button.textContent(), '(empty)', 'a label to read and to click');
  const box = await button.boundingBox();
  assert.ok(box.width > 20 && box.height > 10, `a button of ${box.width}×${box.height}`);
  await button.click();
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'prop:plan==');
  assert.deepEqual(await chips(page), ['Property plan is (empty)']);
  // The API takes the filter as the dashboard sends it.
  const { data } = await checkSummary(page, context);
  assert.deepEqual(data.filters, [{ dimension: 'prop:plan', op: '==', value: '' }]);
  assert.equal(data.results.visitors, 1, 'the one visitor who sent it empty');
  const sentFilter = async () => new URL(await page.getAttribute('#summary', 'data-api'), base).searchParams.get('filter');
  // A reload keeps it (a shared link shows the same numbers) ...
  await page.reload();
  await ready(page);
  assert.equal(new URL(page.url()).searchParams.get('filter'), 'prop:plan==');
  assert.deepEqual(await chips(page), ['Property plan is (empty)']);
  assert.equal(await sentFilter(), 'prop:plan==');
  // ... and so do back and forward.
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(await sentFilter(), null);
  await page.goBack();
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'prop:plan==');
  assert.deepEqual(await chips(page), ['Property plan is (empty)']);
  assert.equal(await sentFilter(), 'prop:plan==');
  assert.equal((await checkSummary(page, context)).data.results.visitors, 1);
  await page.goForward();
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.deepEqual(await chips(page), []);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('time on page goes with the page filter that offered it', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await analystPage(context, '/?site=demo&filter=page==/pricing&metric=time_on_page');
  await ready(page);
  const pressed = () => page.$$eval('#summary button[aria-pressed="true"]', (bs) => bs.map((b) => b.dataset.metric));
  const charted = () => new URL(document.querySelector('#chart').dataset.api, location.href).searchParams.get('metric');
  assert.deepEqual(await pressed(), ['time_on_page']);
  assert.match(await page.evaluate(charted), /^time_on_page/);
  // The filter removed: time on page is no longer offered, and the chart
  // and the address go back to the visitors.
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(new URL(page.url()).searchParams.get('metric'), null);
  assert.equal(await page.$('#summary [data-metric="time_on_page"]'), null);
  assert.deepEqual(await pressed(), ['visitors']);
  assert.equal(await page.evaluate(charted), 'visitors');
  // Back: the page filter, and its time on page, again.
  await page.goBack();
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page==/pricing');
  assert.deepEqual(await pressed(), ['time_on_page']);
  // A link asking for time on page without a page filter: the default.
  await page.goto(`${base}/?site=demo&metric=time_on_page`);
  await ready(page);
  assert.equal(new URL(page.url()).searchParams.get('metric'), null);
  assert.deepEqual(await pressed(), ['visitors']);
  assert.equal(await page.evaluate(charted), 'visitors');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the goals say whose rate they give: of all visitors, or of those the filters keep', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await analystPage(context, '/?site=demo&filter=device==desktop');
  await ready(page);
  const note = () => page.textContent('#card-goals p.small');
  // As the API's goals report counts them: under a filter, its visitors.
  const url = new URL(await page.getAttribute('#table-goals', 'data-api'), base);
  assert.equal(url.searchParams.get('filter'), 'device==desktop');
  assert.match(await note(), /the rate is of the visitors the filter keeps\.$/);
  await page.click('#table-pages tbody tr[data-value="/pricing"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'device==desktop;page==/pricing');
  assert.match(await note(), /the rate is of the visitors the filters keep\.$/);
  // A goal's filter chooses the goals shown, not the rate's base.
  await page.click('#table-goals tbody tr[data-value="signup"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'device==desktop;page==/pricing;goal==signup');
  assert.match(await note(), /the rate is of the visitors the other filters keep\.$/);
  await page.click('#filters .chip[data-dimension="page"] .chip-remove');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'device==desktop;goal==signup');
  assert.match(await note(), /the rate is of the visitors the other filter keeps\.$/);
  await page.click('#filters .chip[data-dimension="device"] .chip-remove');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'goal==signup');
  assert.match(await note(), /the rate is of all visitors\.$/);
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.match(await note(), /the rate is of all visitors\.$/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the conversion rate against a period before: what it was, and its change in percentage points', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&filter=goal==signup&compare=previous_period')}`);
  // Rates the test chooses: 63.2% now, 61.9% before.
  await page.route((url) => url.pathname.endsWith('/summary'), async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    json.results.conversion_rate = 63.2;
    json.comparison.results.conversion_rate = 61.9;
    await route.fulfill({ response, json });
  });
  await signIn(page, ANALYST);
  await ready(page);
  const rate = '#summary [data-metric="conversion_rate"]';
  assert.equal(await page.textContent(`${rate} .value`), '63.2%');
  assert.equal(await page.textContent(`${rate} .change [aria-hidden="true"]`), '↑ 1.3 pp', 'percentage points, as the bounce rate');
  assert.equal(await page.textContent(`${rate} .change .visually-hidden`), 'up 1.3 pp from the previous period');
  assert.equal(await page.textContent(`${rate} .previous`), 'before: 61.9%');
  // As every figure with a comparison chosen has its line.
  assert.equal(await page.$$eval('#summary [data-metric]', (ms) => ms.filter((m) => !m.querySelector('.previous')).length), 0);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a change is rounded alike up and down: half a percent down is 1%, not an arrow to 0%', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await open(context, `${base}/login/?next=${encodeURIComponent('/?site=demo&compare=previous_period')}`);
  // Counts the test chooses: -0.5%, -2.5% and +2.5%.
  await page.route((url) => url.pathname.endsWith('/summary'), async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    Object.assign(json.results, { visitors: 199, visits: 195, pageviews: 205 });
    Object.assign(json.comparison.results, { visitors: 200, visits: 200, pageviews: 200 });
    await route.fulfill({ response, json });
  });
  await signIn(page, ANALYST);
  await ready(page);
  const change = (m) => page.$eval(`#summary [data-metric="${m}"] .change`, (c) =>
    [c.className, c.querySelector('[aria-hidden="true"]').textContent, c.querySelector('.visually-hidden').textContent]);
  assert.deepEqual(await change('visitors'), ['change worse', '↓ 1%', 'down 1% from the previous period']);
  assert.deepEqual(await change('visits'), ['change worse', '↓ 3%', 'down 3% from the previous period']);
  assert.deepEqual(await change('pageviews'), ['change better', '↑ 3%', 'up 3% from the previous period']);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the conversion rate against a period without visitors: no rate then, so no change', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await analystPage(context, '/?site=demo&filter=goal==signup&compare=previous_period');
  await ready(page);
  const { data } = await checkSummary(page, context);
  assert.ok(data.results.conversion_rate > 0);
  assert.equal(data.comparison.results.visitors, 0, 'the traffic is all in this period');
  assert.equal(data.comparison.results.conversion_rate, null, 'a rate of nobody is none, not 0%');
  const rate = '#summary [data-metric="conversion_rate"]';
  assert.equal(await page.$(`${rate} .change`), null, 'no "↑ 100 pp" against an empty period');
  assert.equal(await page.textContent(`${rate} .previous`), 'before: –');
  // A period without visitors now: no rate either, shown as none.
  await page.goto(`${base}/?site=demo&filter=goal==signup&period=custom&from=2001-01-01&to=2001-01-31`);
  await ready(page);
  const { data: none } = await checkSummary(page, context);
  assert.equal(none.results.conversion_rate, null);
  assert.equal(await page.textContent(`${rate} .value`), '–');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a filter of two goals (goal==A|B): the visits that reached either, with their conversion rate', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB' });
  const page = await analystPage(context, '/?site=demo&filter=goal==signup|Visit /pricing');
  await ready(page);
  assert.deepEqual(await chips(page), ['Goal is signup or Visit /pricing']);
  const { data: either } = await checkSummary(page, context);
  assert.ok(either.results.conversion_rate > 0);
  // The union counted another way: each goal's, less those of both.
  const url = new URL(await page.getAttribute('#summary', 'data-api'), base);
  const visits = async (filter) => {
    url.searchParams.set('filter', filter);
    return (await api(context, url.pathname + url.search)).results.visits;
  };
  const [a, b, both] = [await visits('goal==signup'), await visits('goal==Visit /pricing'),
    await visits('goal==signup;goal==Visit /pricing')];
  assert.ok(a > both && b > both, 'each goal has visits the other has not');
  assert.equal(either.results.visits, a + b - both);
  // A chip tells alternatives apart from a '|' of the value's own.
  for (const [filter, chip] of [
    ['goal!=signup|Visit /pricing', 'Goal is neither signup nor Visit /pricing'],
    ['country!=FI|SE|DE', 'Country is none of Finland, Sweden, Germany'],
    ['browser==Firefox|Chrome|Safari', 'Browser is Firefox, Chrome or Safari'],
    ['utm_content==thread[|]x[;]y|z', 'UTM content is thread|x;y or z'],
  ]) {
    await page.goto(`${base}/?site=demo&filter=${encodeURIComponent(filter)}`);
    await ready(page);
    assert.deepEqual(await chips(page), [chip]);
  }
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a custom range ends today in the site\'s zone: the date pickers go no further, later days are cut', async () => {
  const context = await browser.newContext({ timezoneId: BROWSER_TZ, locale: 'en-GB' });
  // 22:30 UTC on 30 September: 1 October in Helsinki, the site's zone,
  // still 30 September in New York, the browser's.
  const page = await analystPage(context, '/?site=demo&period=custom&from=2026-09-20&to=2026-10-20', new Date('2026-09-30T22:30:00Z'));
  // A link past today: the range ends today, and the address says so.
  await ready(page, () => new URLSearchParams(location.search).get('to') === '2026-10-01');
  const asked = async () => {
    const q = new URL(await page.getAttribute('#summary', 'data-api'), base).searchParams;
    return [q.get('from'), q.get('to')];
  };
  assert.deepEqual(await asked(), ['2026-09-20', '2026-10-01']);
  assert.deepEqual(await page.$$eval('#from, #to', (is) => is.map((i) => i.max)), ['2026-10-01', '2026-10-01']);
  assert.equal(await page.inputValue('#to'), '2026-10-01');
  // An end typed past today is cut to today.
  await page.fill('#from', '2026-09-25');
  await page.fill('#to', '2026-12-31');
  await page.click('#apply');
  await ready(page, () => new URLSearchParams(location.search).get('from') === '2026-09-25');
  assert.equal(new URL(page.url()).searchParams.get('to'), '2026-10-01');
  assert.deepEqual(await asked(), ['2026-09-25', '2026-10-01']);
  assert.equal(await page.inputValue('#to'), '2026-10-01');
  // A range all to come: today.
  await page.fill('#from', '2026-11-01');
  await page.fill('#to', '2026-11-30');
  await page.click('#apply');
  await ready(page, () => new URLSearchParams(location.search).get('from') === '2026-10-01');
  assert.deepEqual(await asked(), ['2026-10-01', '2026-10-01']);
  assert.equal(await page.isHidden('#notice'), true);
  await context.close();
});

test('the filter form adds what a click cannot: is not, contains, does not contain, typed values', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  const filterOf = () => new URL(page.url()).searchParams.get('filter');
  // Visitors of the summary under `filter` (every test's traffic).
  const visitors = async (filter) => {
    const url = new URL(await page.getAttribute('#summary', 'data-api'), base);
    if (filter) url.searchParams.set('filter', filter);
    else url.searchParams.delete('filter');
    return (await api(context, url.pathname + url.search)).results.visitors;
  };
  const all = await visitors(null);
  // The brute force over the known traffic: visitors with a page whose
  // stored path holds `part`.
  const withPage = (part) => VISITORS.filter((v) => v.pages.some((p) => p.includes(part))).length;
  const add = async (dimension, how, value) => {
    if (await page.isHidden('#filter-form')) await page.click('#filter-add');
    await page.selectOption('#filter-dim', dimension);
    await page.selectOption('#filter-op', how);
    await page.fill('#filter-value', value);
    await page.press('#filter-value', 'Enter');
  };

  // Opened, it takes the keyboard; its suggestions are the period's
  // values, paths as they read.
  await page.click('#filter-add');
  assert.equal(await page.getAttribute('#filter-add', 'aria-expanded'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'filter-dim');
  await page.selectOption('#filter-dim', 'page');
  await page.waitForFunction(() => document.querySelectorAll('#filter-values option').length > 0);
  const suggested = await page.$$eval('#filter-values option', (os) => os.map((o) => o.value));
  for (const p of ['/', '/pricing', '/docs/käyttö']) assert.ok(suggested.includes(p), `${p} among ${suggested}`);
  await axe(page);
  // No value: said, nothing applied.
  await page.selectOption('#filter-op', 'contains');
  await page.click('#filter-apply');
  assert.match(await page.textContent('#filter-error'), /Type a value/);
  assert.equal(filterOf(), null);
  // Escape closes it; the keyboard is back on its button.
  await page.press('#filter-value', 'Escape');
  assert.equal(await page.isHidden('#filter-form'), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'filter-add');

  // Contains: a glob around the value, the chip in words.
  await add('page', 'contains', 'docs');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page==*docs*');
  assert.deepEqual(await chips(page), ['Page contains docs']);
  let { data } = await checkSummary(page, context);
  assert.equal(data.results.visitors, withPage('docs'));
  assert.ok(withPage('docs') > 1 && withPage('docs') < VISITORS.length);
  assert.equal(await page.evaluate(() => document.activeElement.className), 'chip-remove');
  // A second value of the same kind is an alternative; a path typed as
  // it reads is matched as stored (percent-encoded).
  await add('page', 'contains', 'käyttö');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page==*docs*|*käyttö*');
  assert.deepEqual(await chips(page), ['Page contains docs or käyttö']);
  // Does not contain replaces it: the visits without such a page.
  await add('page', 'not_contains', 'docs');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'page!=*docs*');
  assert.deepEqual(await chips(page), ['Page does not contain docs']);
  ({ data } = await checkSummary(page, context));
  assert.deepEqual(data.filters, [{ dimension: 'page', op: '!=', value: '*docs*' }]);
  assert.equal(data.results.visitors, all - withPage('docs'), 'the visitors without a docs page');
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));

  // Is not, a country typed by its name: its code.
  await add('country', 'is_not', 'finland');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'country!=FI');
  assert.deepEqual(await chips(page), ['Country is not Finland']);
  ({ data } = await checkSummary(page, context));
  assert.equal(await visitors('country==FI'), 1, 'the one from a Finnish address');
  assert.equal(data.results.visitors, all - 1, 'all but the one from a Finnish address');
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  // A value's own | and ; are characters, not alternatives or filters.
  await add('utm_content', 'is', 'thread|x;y');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'utm_content==thread[|]x[;]y');
  assert.deepEqual(await chips(page), ['UTM content is thread|x;y']);
  ({ data } = await checkSummary(page, context));
  assert.equal(data.results.visitors, 1);
  // A goal is named, never matched in part.
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'goal');
  assert.deepEqual(await page.$$eval('#filter-op option', (os) => os.filter((o) => o.disabled).map((o) => o.value)),
    ['contains', 'not_contains']);
  // So is a country, a code: "does not contain" chosen becomes "is not".
  await page.selectOption('#filter-dim', 'page');
  await page.selectOption('#filter-op', 'not_contains');
  await page.selectOption('#filter-dim', 'country');
  assert.equal(await page.inputValue('#filter-op'), 'is_not');
  assert.deepEqual(await page.$$eval('#filter-op option', (os) => os.filter((o) => o.disabled).map((o) => o.value)),
    ['contains', 'not_contains']);
  await page.selectOption('#filter-dim', 'goal');
  await page.fill('#filter-value', 'nosuch');
  await page.press('#filter-value', 'Enter');
  assert.match(await page.textContent('#filter-error'), /no goal "nosuch"/);
  assert.equal(filterOf(), 'utm_content==thread[|]x[;]y');
  await page.click('#filter-cancel');
  assert.equal(await page.isHidden('#filter-form'), true);
  assert.deepEqual(page.problems, []);
  await page.screenshot({ path: path.join(OUTPUT, 'dashboard-filter-form.png'), fullPage: false });
  await context.close();
});

test('a week or month the period cuts is drawn apart, and says how many of its days it holds', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const go = (q) => `/?site=demo&period=custom&${q}`;
  const page = await open(context, `${base}/login/?next=${encodeURIComponent(go('from=2026-11-04&to=2026-11-20&interval=week'))}`);
  await signIn(page, ANALYST);
  await ready(page, () => document.querySelector('#chart').dataset.points === '3');
  const readout = async (where) => {
    const box = await (await page.$('#chart .u-over')).boundingBox();
    const x = { first: 1, middle: box.width / 2, last: box.width - 1 }[where];
    await page.mouse.move(box.x + x, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
    const text = await page.textContent('#chart-readout');
    await page.mouse.move(0, 0);
    await page.waitForFunction(() => document.querySelector('#chart-readout').textContent === '');
    return text;
  };
  // Wednesday 4 to Friday 20 November: the weeks of the 2nd, 9th and
  // 16th, the first and the last in part.
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '0,2');
  assert.match(await readout('first'), /^week of 2 Nov: .* \(5 of its 7 days in the period\)$/);
  assert.match(await readout('last'), /^week of 16 Nov: .* \(5 of its 7 days in the period\)$/);
  assert.doesNotMatch(await readout('middle'), /days in the period/);
  // Whole weeks, whole months: nothing apart.
  for (const [q, partial] of [['from=2026-11-02&to=2026-11-22&interval=week', ''],
    ['from=2026-09-01&to=2026-10-31&interval=month', ''],
    ['from=2026-09-15&to=2026-10-31&interval=month', '0']]) {
    await page.goto(`${base}${go(q)}`);
    await ready(page, () => document.querySelector('#chart').dataset.points !== undefined);
    assert.equal(await page.getAttribute('#chart', 'data-partial'), partial, q);
  }
  assert.match(await readout('first'), /^September 2026: .* \(16 of its 30 days in the period\)$/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('cut weeks and months count their days across the clocks\' changes, a leap February and a new year', async () => {
  // The chart's arithmetic is wall-clock days: a 23- or 25-hour day in
  // the site's zone or the browser's (New York changes on other Sundays)
  // is one day.
  for (const timezoneId of [TZ, BROWSER_TZ]) {
    const context = await browser.newContext({ timezoneId, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    const go = (q) => `/?site=demo&period=custom&${q}`;
    const page = await open(context, `${base}/login/?next=${encodeURIComponent(go('from=2026-03-26&to=2026-10-24&interval=week'))}`);
    await signIn(page, ANALYST);
    const readout = async (where) => {
      const box = await (await page.$('#chart .u-over')).boundingBox();
      await page.mouse.move(box.x + (where === 'first' ? 1 : box.width - 1), box.y + box.height / 2);
      await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
      const text = await page.textContent('#chart-readout');
      await page.mouse.move(0, 0);
      await page.waitForFunction(() => document.querySelector('#chart-readout').textContent === '');
      return text.replace(/: .* \(/, ' (');
    };
    const cases = [
      // Thursday 26 March (the clocks go forward on the 29th) to
      // Saturday 24 October (back on the 25th).
      ['from=2026-03-26&to=2026-10-24&interval=week', '0,30',
        'week of 23 Mar (4 of its 7 days in the period)', 'week of 19 Oct (6 of its 7 days in the period)'],
      ['from=2026-03-23&to=2026-10-25&interval=week', '', null, null],
      ['from=2024-03-15&to=2026-10-20&interval=month', '0,31',
        'March 2024 (17 of its 31 days in the period)', 'October 2026 (20 of its 31 days in the period)'],
      // 2024's February has 29 days.
      ['from=2023-11-01&to=2024-02-28&interval=month', '3', null, 'February 2024 (28 of its 29 days in the period)'],
      ['from=2023-11-01&to=2024-02-29&interval=month', '', null, null],
      // Monday 29 December 2025 to Sunday 4 January 2026.
      ['from=2025-09-03&to=2025-12-31&interval=week', '0,17',
        'week of 1 Sept (5 of its 7 days in the period)', 'week of 29 Dec (3 of its 7 days in the period)'],
      ['from=2026-01-01&to=2026-02-15&interval=week', '0',
        'week of 29 Dec (4 of its 7 days in the period)', null],
    ];
    for (const [q, partial, first, last] of cases) {
      await page.goto(`${base}${go(q)}`);
      await ready(page, () => document.querySelector('#chart').dataset.partial !== undefined &&
        new URLSearchParams((document.querySelector('#chart').dataset.api || '?').split('?')[1]).get('from') ===
        new URLSearchParams(location.search).get('from'));
      assert.equal(await page.getAttribute('#chart', 'data-partial'), partial, `${timezoneId} ${q}`);
      if (first) assert.equal(await readout('first'), first, `${timezoneId} ${q}`);
      if (last) assert.equal(await readout('last'), last, `${timezoneId} ${q}`);
    }
    assert.deepEqual(page.problems, []);
    await context.close();
  }
  // 2028's February, seen from March 2028 (the range ends today).
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  await context.clock.install({ time: new Date('2028-03-10T10:00:00Z') });
  const page = await analystPage(context, '/?site=demo&period=custom&from=2027-11-01&to=2028-02-28&interval=month');
  await ready(page, () => document.querySelector('#chart').dataset.points === '4');
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '3');
  const box = await (await page.$('#chart .u-over')).boundingBox();
  await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
  assert.match(await page.textContent('#chart-readout'), /^February 2028: .* \(28 of its 29 days in the period\)$/);
  await page.goto(`${base}/?site=demo&period=custom&from=2027-11-01&to=2028-02-29&interval=month`);
  await ready(page, () => new URLSearchParams(location.search).get('to') === '2028-02-29' &&
    (document.querySelector('#chart').dataset.api || '').includes('to=2028-02-29'));
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the last 12 months begin with a whole month; this one is the month they hold only part of', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await analystPage(context, '/?site=demo&period=12mo');
  await ready(page, () => document.querySelector('#chart').dataset.points === '12');
  const data = await api(context, await page.getAttribute('#chart', 'data-api'));
  assert.equal(data.interval, 'month');
  assert.match(data.from, /^\d{4}-\d\d-01$/);
  assert.equal(data.results[0].date.slice(0, 10), data.from);
  // Only the last, this month, is drawn apart (cut at today, or running).
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '11');
  const box = await (await page.$('#chart .u-over')).boundingBox();
  await page.mouse.move(box.x + 1, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
  assert.doesNotMatch(await page.textContent('#chart-readout'), /days in the period|so far/);
  await page.mouse.move(0, 0);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a cut week drawn again while other dates load counts its days in the period of the answer it shows', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await analystPage(context, '/?site=demo&period=custom&from=2026-11-04&to=2026-11-20&interval=week');
  await ready(page, () => document.querySelector('#chart').dataset.points === '3');
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '0,2');
  const label = await page.getAttribute('#chart', 'aria-label');
  // The next dates' chart held back: the last answer stays on the screen.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const chartReport = (url) => url.pathname.endsWith('/timeseries');
  await page.route(chartReport, async (route) => { await held; await route.continue(); });
  await page.fill('#from', '2026-11-09');
  await page.fill('#to', '2026-11-22');
  await page.click('#apply');
  await page.waitForFunction(() => document.querySelector('#chart').getAttribute('aria-busy') === 'true');
  // A change of colour scheme draws that answer again: Wednesday 4 to
  // Friday 20 November still, not the whole weeks of 9 to 22 November.
  await page.$eval('#chart', (c) => { c.dataset.partial = 'before the redraw'; });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.querySelector('#chart').dataset.partial !== 'before the redraw');
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '0,2');
  assert.equal(await page.getAttribute('#chart', 'aria-label'), label);
  const box = await (await page.$('#chart .u-over')).boundingBox();
  await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector('#chart-readout').textContent !== '');
  assert.match(await page.textContent('#chart-readout'), /^week of 16 Nov: .* \(5 of its 7 days in the period\)$/);
  await page.mouse.move(0, 0);
  release();
  await ready(page, () => new URLSearchParams(location.search).get('from') === '2026-11-09' &&
    !document.querySelector('#chart').hasAttribute('aria-busy'));
  await page.unroute(chartReport);
  // The answer for the new dates: two whole weeks.
  assert.equal(await page.getAttribute('#chart', 'data-partial'), '');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the filter form: a referrer picked or typed as it reads, a country named before its list came', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  const filterOf = () => new URL(page.url()).searchParams.get('filter');
  const visitors = async () => {
    const url = new URL(await page.getAttribute('#summary', 'data-api'), base);
    return (await api(context, url.pathname + url.search)).results.visitors;
  };
  const fromTco = VISITORS.filter((v) => v.ref === 'https://t.co/k%C3%A4ytt%C3%B6').length;
  assert.equal(fromTco, 1);
  // A referrer as the list shows it (as it reads) is the stored one.
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'referrer');
  await page.waitForFunction(() => document.querySelectorAll('#filter-values option').length > 0);
  const suggested = await page.$$eval('#filter-values option', (os) => os.map((o) => o.value));
  assert.ok(suggested.includes('https://t.co/käyttö'), suggested.join(' '));
  await page.fill('#filter-value', 'https://t.co/käyttö');
  await page.press('#filter-value', 'Enter');
  await ready(page, () => new URLSearchParams(location.search).has('filter'));
  assert.equal(filterOf(), 'referrer==https://t.co/k%C3%A4ytt%C3%B6');
  assert.deepEqual(await chips(page), ['Referrer is https://t.co/käyttö']);
  assert.equal(await visitors(), fromTco);
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  // Typed as it reads, in part.
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'referrer');
  await page.selectOption('#filter-op', 'contains');
  await page.fill('#filter-value', 'käyttö');
  await page.press('#filter-value', 'Enter');
  await ready(page, () => new URLSearchParams(location.search).has('filter'));
  assert.equal(filterOf(), 'referrer==*k%C3%A4ytt%C3%B6*');
  assert.deepEqual(await chips(page), ['Referrer contains käyttö']);
  assert.equal(await visitors(), fromTco);
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));

  // A country's name or code in any case is its code, the list of
  // suggestions come or not; a name that is none is said.
  await page.route('**/breakdown?*dimension=country*', async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  for (const [typed, code] of [['Finland', 'FI'], ['se', 'SE']]) {
    await page.click('#filter-add');
    await page.selectOption('#filter-dim', 'country');
    await page.selectOption('#filter-op', 'is_not');
    await page.fill('#filter-value', typed);
    await page.press('#filter-value', 'Enter');
    await ready(page, () => new URLSearchParams(location.search).has('filter'));
    assert.equal(filterOf(), `country!=${code}`);
    await page.click('#filters .chip-remove');
    await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  }
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'country');
  await page.fill('#filter-value', 'Atlantis');
  await page.press('#filter-value', 'Enter');
  assert.match(await page.textContent('#filter-error'), /No country is named "Atlantis"/);
  assert.equal(filterOf(), null);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the filter form: a path with a percent sign in it, picked as it reads, filters on the path stored', async () => {
  // Stored "/sale/100%25-off" reads "/sale/100%-off"; the API takes a typed
  // "%" as the start of an escape, so the form sends the stored value.
  const headers = { 'User-Agent': UA.firefoxLinux, 'X-Forwarded-For': '10.40.0.1', Origin: 'http://localhost' };
  const r = await post('/api/collect', { site: 'demo', type: 'pageview', url: 'http://localhost/sale/100%25-off' }, headers);
  assert.equal(r.status, 204, r.text);
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  const pages = async () => (await api(context, `/api/stats/demo/breakdown?${new URLSearchParams({
    dimension: 'page', limit: '1000', tz: TZ })}`)).results.map((x) => x.page);
  for (let i = 0; i < 50 && !(await pages()).includes('/sale/100%25-off'); i++) await page.waitForTimeout(100);
  assert.ok((await pages()).includes('/sale/100%25-off'), 'the page is counted');
  await page.reload();
  await ready(page);
  // The value picked from the form's list, as it reads.
  const pick = async (op) => {
    await page.click('#filter-add');
    await page.selectOption('#filter-dim', 'page');
    await page.selectOption('#filter-op', op);
    await page.waitForFunction(() => [...document.querySelectorAll('#filter-values option')].some((o) => o.value === '/sale/100%-off'));
    await page.fill('#filter-value', '/sale/100%-off');
    await page.press('#filter-value', 'Enter');
    await ready(page, () => new URLSearchParams(location.search).has('filter'));
    return new URL(page.url()).searchParams.get('filter');
  };
  assert.equal(await pick('is'), 'page==/sale/100%25-off');
  assert.deepEqual(await chips(page), ['Page is /sale/100%-off']);
  assert.equal(await page.textContent('#summary [data-metric="pageviews"] .value'), '1');
  // "contains" of a part picked likewise is the stored part too.
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  assert.equal(await pick('contains'), 'page==*/sale/100%25-off*');
  assert.equal(await page.textContent('#summary [data-metric="pageviews"] .value'), '1');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('content groups: a tab of the pages card where the site has some, a row per group, a click its filter', async () => {
  const context = await browser.newContext({ timezoneId: TZ, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await analystPage(context, '/?site=demo');
  await ready(page);
  const tab = '#card-pages .tab[data-dimension="content_group"]';
  assert.equal(await page.isVisible(tab), true);
  await page.click(tab);
  await page.waitForFunction(() => document.querySelector('#table-pages').dataset.dimension === 'content_group'
    && !document.querySelector('#table-pages').getAttribute('aria-busy'));
  const data = await checkTable(page, context, '#table-pages', ['visitors', 'visits', 'pageviews']);
  assert.deepEqual(data.results.map((r) => r.content_group).sort(), ['Buying', 'Docs', 'Unread']);
  // Each group's row is the summary of its pages' filter.
  for (const [name, pages] of [['Docs', 'page==/docs*'], ['Buying', 'page==/pricing|/signup']]) {
    const q = new URLSearchParams({ tz: TZ, filter: pages });
    const s = (await api(context, `/api/stats/demo/summary?${q}`)).results;
    const row = data.results.find((r) => r.content_group === name);
    assert.deepEqual([row.visitors, row.visits, row.pageviews], [s.visitors, s.visits, s.pageviews], name);
  }
  // The known traffic's: visitors 1 and 5 read the docs; 1, 2, 4 and 7
  // priced or signed up.
  const docs = data.results.find((r) => r.content_group === 'Docs');
  assert.equal(docs.visitors, VISITORS.filter((v) => v.pages.some((p) => p.startsWith('/docs'))).length);
  assert.equal(docs.pageviews, VISITORS.reduce((n, v) => n + v.pages.filter((p) => p.startsWith('/docs')).length, 0));
  // A click on a group's row filters by it, and the chip names it.
  await page.click('#table-pages tbody tr[data-value="Docs"] button');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'content_group==Docs');
  assert.deepEqual(await chips(page), ['Content group is Docs']);
  const { data: summary } = await checkSummary(page, context);
  assert.equal(summary.results.visitors, docs.visitors);
  // Under it, the pages are the group's.
  await page.click('#card-pages .tab[data-dimension="page"]');
  await page.waitForFunction(() => document.querySelector('#table-pages').dataset.dimension === 'page'
    && !document.querySelector('#table-pages').getAttribute('aria-busy'));
  const pages = await page.$$eval('#table-pages tbody tr:not(.empty)', (trs) => trs.map((tr) => tr.dataset.value));
  assert.ok(pages.length > 0 && pages.every((p) => p.startsWith('/docs')), pages.join(' '));
  // The filter form offers the groups by name, whole.
  await page.click('#filters .chip-remove');
  await ready(page, () => !new URLSearchParams(location.search).has('filter'));
  await page.click('#filter-add');
  await page.selectOption('#filter-dim', 'content_group');
  assert.equal(await page.isDisabled('#filter-op option[value="contains"]'), true);
  await page.waitForFunction(() => document.querySelectorAll('#filter-values option').length === 3);
  await page.fill('#filter-value', 'Buying');
  await page.selectOption('#filter-op', 'is_not');
  await page.press('#filter-value', 'Enter');
  await ready(page, () => new URLSearchParams(location.search).get('filter') === 'content_group!=Buying');
  assert.deepEqual(await chips(page), ['Content group is not Buying']);
  await axe(page);
  // A link's group the site does not have is dropped and said.
  await page.goto(`${base}/?site=demo&filter=${encodeURIComponent('content_group==Gone')}`);
  await ready(page);
  assert.deepEqual(await chips(page), []);
  assert.match(await page.textContent('#notice'), /"content_group==Gone" from the address: demo has no such goal or content group/);
  // A site without groups has no such tab.
  await page.goto(`${base}/?site=quiet`);
  await ready(page);
  assert.equal(await page.isHidden(tab), true);
  assert.deepEqual(page.problems, []);
  await context.close();
});
