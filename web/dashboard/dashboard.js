// The marketing dashboard served at /: summary numbers, a time-series chart
// (uPlot, served from /vendor/uplot/), tables of pages, sources, campaigns,
// places, devices, languages, goals, custom events, real-time visitors and
// consent opt-in rates, all read from the stats API (GET /api/stats/...)
// and GET /api/consent/stats.  The state (site, period, filters, comparison,
// chart metric) lives in the URL's query, so a view can be bookmarked.
// The team's dated notes ("Newsletter sent") are marked on the chart and
// listed under it (GET, POST and DELETE /api/stats/SITE/annotations).
// No inline script and no third-party request: the page's
// Content-Security-Policy allows only 'self'.  It shows counts, never a
// person.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  // The zone of the reports: the site's configured one (so a team sees the
  // same days), else the browser's.
  const BROWSER_TZ = (() => {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) { return 'UTC'; }
  })();
  let siteZones = {}; // site: IANA zone ([site.ID] timezone, /api/stats/sites)
  let siteSince = {}; // site: the UTC day of its first visit (/api/stats/sites)
  let siteFirstHour = {}; // site: the UTC hour of its first visit, when known
  let siteProps = {}; // site: its custom property keys (/api/stats/sites)
  const tz = () => siteZones[state.site] || BROWSER_TZ;

  const PERIODS = ['today', 'yesterday', '7d', '30d', 'month', 'lastmonth', 'year', '12mo', 'all', 'custom'];
  // The API's longest range, in days: "all time" reaches back at most so far.
  const MAX_DAYS = 3700;

  const DIMENSIONS = {
    page: 'Page', entry_page: 'Entry page', exit_page: 'Exit page', source: 'Source',
    referrer: 'Referrer', channel: 'Channel', utm_source: 'UTM source', utm_medium: 'UTM medium',
    utm_campaign: 'UTM campaign', utm_term: 'UTM term', utm_content: 'UTM content',
    country: 'Country', region: 'Region', city: 'City', browser: 'Browser',
    os: 'Operating system', device: 'Device', screen: 'Screen size', language: 'Language',
    event: 'Event', goal: 'Goal', hour: 'Hour of day', content_group: 'Content group',
  };
  const dimLabel = (d) => (d.startsWith('prop:') ? `Property ${d.slice(5)}` : DIMENSIONS[d] || d);

  const METRICS = {
    visitors: 'Unique visitors', visits: 'Total visits', pageviews: 'Total pageviews',
    views_per_visit: 'Views per visit', bounce_rate: 'Bounce rate',
    visit_duration: 'Visit duration', events: 'Events', conversion_rate: 'Conversion rate',
    time_on_page: 'Time on page',
  };
  const SUMMARY = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate',
    'visit_duration', 'events'];
  // Under a page filter (is), whose page views are the page's own, the
  // page's time too, after the visits' duration, as Plausible shows it (a
  // content group's filter is one on its pages).
  const pageScoped = () => state.filters.some((f) => (f.dimension === 'page' || f.dimension === 'content_group')
    && f.op === '==');
  // A goal among the filters: its conversion rate, a figure and a chart.
  const goalScoped = () => state.filters.some((f) => f.dimension === 'goal' && f.op === '==');
  const summaryMetrics = () => [...(pageScoped()
    ? [...SUMMARY.slice(0, 6), 'time_on_page', ...SUMMARY.slice(6)] : SUMMARY),
  ...(goalScoped() ? ['conversion_rate'] : [])];
  // Where a smaller number is the better one.
  const LOWER_IS_BETTER = new Set(['bounce_rate']);
  // Rates in percent, whose change is in percentage points (63.2% against
  // 61.9% is up 1.3 pp, not "2%").
  const POINTS = new Set(['bounce_rate', 'conversion_rate']);

  // The tables: a card per subject, a tab per dimension, the columns shown.
  const VISITORS = [['visitors', 'Visitors']];
  const CARDS = [
    { id: 'pages', title: 'Pages', tabs: [
      ['page', 'Top pages', [['visitors', 'Visitors'], ['pageviews', 'Pageviews'], ['time_on_page', 'Time on page']]],
      ['entry_page', 'Entry pages', [['visitors', 'Visitors'], ['visits', 'Entrances']]],
      ['exit_page', 'Exit pages', [['visitors', 'Visitors'], ['visits', 'Exits']]],
      // The site's content groups (the server's configuration), when it
      // has some: each group's visitors, visits and page views.
      ['content_group', 'Groups', [['visitors', 'Visitors'], ['visits', 'Visits'], ['pageviews', 'Pageviews']]]] },
    { id: 'sources', title: 'Sources', tabs: [
      ['channel', 'Channels', [['visitors', 'Visitors'], ['bounce_rate', 'Bounce rate']]],
      ['source', 'Sources', [['visitors', 'Visitors'], ['bounce_rate', 'Bounce rate']]],
      ['referrer', 'Referrers', [['visitors', 'Visitors'], ['bounce_rate', 'Bounce rate']]]] },
    { id: 'campaigns', title: 'Campaigns', tabs: [
      ['utm_campaign', 'Campaign', [['visitors', 'Visitors'], ['visits', 'Visits']]],
      ['utm_source', 'Source', [['visitors', 'Visitors'], ['visits', 'Visits']]],
      ['utm_medium', 'Medium', [['visitors', 'Visitors'], ['visits', 'Visits']]],
      ['utm_term', 'Term', [['visitors', 'Visitors'], ['visits', 'Visits']]],
      ['utm_content', 'Content', [['visitors', 'Visitors'], ['visits', 'Visits']]]] },
    { id: 'locations', title: 'Locations', tabs: [
      ['country', 'Countries', VISITORS], ['region', 'Regions', VISITORS],
      ['city', 'Cities', VISITORS]] },
    { id: 'devices', title: 'Devices', tabs: [
      ['device', 'Devices', VISITORS], ['browser', 'Browsers', VISITORS],
      ['os', 'Operating systems', VISITORS], ['screen', 'Screen sizes', VISITORS]] },
    { id: 'languages', title: 'Languages', tabs: [['language', 'Languages', VISITORS]] },
    // All 24 hours, in their order (the reports' time zone), zeros where
    // none: when visits start; a row filters by its hour, as any row.
    // The API lists the hours with visits, ranked as any breakdown: the
    // card and its CSV (made here, as the consent card's) fill in the
    // rest (allHours()).
    { id: 'hours', title: 'Time of day', all: 24, tabs: [
      ['hour', 'Hours', [['visitors', 'Visitors'], ['visits', 'Visits']]]] },
    { id: 'events', title: 'Custom events', tabs: [
      ['event', 'Events', [['visitors', 'Visitors'], ['events', 'Events']]],
      // The values of one property, chosen beside the tabs (propKey()).
      ['prop', 'Properties', [['visitors', 'Visitors'], ['events', 'Events']]]] },
  ];
  const LIMIT = 10;
  const MORE_STEP = 50;
  const MAX_ROWS = 1000; // the API's most a page
  const shownRows = {}; // card id: rows shown past LIMIT, until its tab changes
  // A table shows its top LIMIT rows; its CSV has them all (the API lists
  // up to a million rows in a CSV).
  const EXPORT_LIMIT = 1000000;

  const state = {
    site: null, period: '30d', from: null, to: null, filters: [], compare: '',
    metric: 'visitors', interval: '', tabs: {}, prop: '',
  };
  let sites = [];
  let segments = {}; // site: [{ filter, ready }] (/api/stats/sites)
  let droppedFilters = []; // parts of the address's filter= that are none
  let droppedNames = []; // its goal== and content_group== filters naming what the site does not have
  let droppedRange = ''; // its custom range, when that is no range of days
  let droppedCompare = ''; // its compare=, when the page offers no such comparison
  let siteGoals = null; // site: the names of its configured goals (/api/stats/sites)
  let siteGroups = {}; // site: the names of its content groups (/api/stats/sites)
  const groupsOf = (site) => siteGroups[site] || [];
  let siteFunnels = {}; // site: its configured funnels, [{name, steps}] (/api/stats/sites)
  let funnelChoice = ''; // the funnel the Funnels card shows, by name
  let generation = 0;
  let redirecting = false;
  let plot = null;
  let csrf = null; // the session's CSRF token, for the notes' POST and DELETE
  // The notes of the range shown (GET .../annotations), and for which site
  // and days they are: an answer for others is not drawn.
  let notes = [];
  let notesKey = '';

  // ---- numbers --------------------------------------------------------------

  const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  // The longest range a report answers (MAX_DAYS in plugins/analytics/query.c).
  const MAX_RANGE_DAYS = 3700;
  const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  const percent = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

  function duration(s) {
    s = Math.round(Number(s) || 0);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${s % 60}s`;
    return `${Math.floor(m / 60)}h ${m % 60}m`;
  }

  function format(metric, v) {
    if (v === null || v === undefined || Number.isNaN(Number(v))) return '–';
    switch (metric) {
      case 'views_per_visit': return decimal.format(v);
      case 'bounce_rate': case 'conversion_rate': case 'dropoff_rate': return `${percent.format(v)}%`;
      case 'visit_duration': case 'time_on_page': return duration(v);
      default: return integer.format(v);
    }
  }

  // ---- dates, in the reports' time zone (tz()) -----------------------------

  const DAY = /^\d{4}-\d{2}-\d{2}$/;
  // Now on the browser's wall clock: the figures of its date and time.
  function wallClock() {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: tz(), hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    }).formatToParts(new Date());
    const get = (t) => parts.find((p) => p.type === t).value;
    return { y: get('year'), m: get('month'), d: get('day'), h: get('hour'), min: get('minute') };
  }
  function today() {
    const w = wallClock();
    return `${w.y}-${w.m}-${w.d}`;
  }
  // The day (YYYY-MM-DD) in the reports' zone at a time of the API.
  function localDay(iso) {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: tz(), year: 'numeric', month: '2-digit', day: '2-digit',
    }).formatToParts(new Date(iso));
    const get = (t) => parts.find((p) => p.type === t).value;
    return `${get('year')}-${get('month')}-${get('day')}`;
  }
  const ymd = (d) => new Date(d).toISOString().slice(0, 10);
  function parseDay(s) {
    const [y, m, d] = s.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d));
  }
  function addDays(s, n) {
    const d = parseDay(s);
    d.setUTCDate(d.getUTCDate() + n);
    return ymd(d);
  }
  const validDay = (s) => (s && DAY.test(s) && ymd(parseDay(s)) === s ? s : null);

  function range() {
    const t = today();
    const d = parseDay(t);
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    switch (state.period) {
      case 'today': return [t, t];
      case 'yesterday': return [addDays(t, -1), addDays(t, -1)];
      case '7d': return [addDays(t, -6), t];
      case 'month': return [ymd(Date.UTC(y, m, 1)), t];
      case 'lastmonth': return [ymd(Date.UTC(y, m - 1, 1)), ymd(Date.UTC(y, m, 0))];
      case 'year': return [ymd(Date.UTC(y, 0, 1)), t];
      case '12mo': return [ymd(Date.UTC(y, m - 11, 1)), t];
      case 'all': {
        // From the site's first visit's day here, by the hour it came in;
        // known only by its UTC day (its hours merged into days), from
        // the day before (a zone west of UTC began that day earlier).
        const hour = siteFirstHour[state.site];
        const since = siteSince[state.site];
        const from = hour ? localDay(hour) : since ? addDays(since, -1) : t;
        const oldest = addDays(t, -(MAX_DAYS - 1));
        return [from < oldest ? oldest : from > t ? t : from, t];
      }
      case 'custom': return [state.from, state.to];
      default: return [addDays(t, -29), t];
    }
  }

  // The comparison's query parameters.  A preset of days is compared with
  // as many days before it: "last 30 days" that happen to be all of
  // November are not compared with the 31 days of October, as the API's
  // previous_period would (it compares whole months with whole months).
  // The summary's change is against the previous period when nothing is
  // chosen.
  const COMPARES = ['previous_period', 'year_over_year'];
  const compareName = () => (state.compare === 'year_over_year' ? 'A year before' : 'The previous period');
  function comparison() {
    if (state.compare === 'year_over_year') return { compare: 'year_over_year' };
    // All time has nothing before it to change from, unless asked.
    if (state.period === 'all') return state.compare ? { compare: 'previous_period' } : {};
    if (!['today', 'yesterday', '7d', '30d'].includes(state.period)) return { compare: 'previous_period' };
    const [from, to] = range();
    const days = (parseDay(to) - parseDay(from)) / 86400000 + 1;
    return { compare: 'custom', compare_from: addDays(from, -days), compare_to: addDays(from, -1) };
  }

  // The chart's buckets: as chosen under "By", else by the range's length.
  // Hours only for ranges the API gives by the hour (93 days at most).
  const INTERVALS = ['hour', 'day', 'week', 'month'];
  const HOURLY_DAYS = 93;
  function interval(from, to) {
    const days = (parseDay(to) - parseDay(from)) / 86400000 + 1;
    if (state.interval && (state.interval !== 'hour' || days <= HOURLY_DAYS)) return state.interval;
    if (days <= 1) return 'hour';
    if (days <= 62) return 'day';
    if (days <= 190) return 'week';
    return 'month';
  }

  const dayText = (s) => parseDay(s).toLocaleDateString('en-GB',
    { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
  function rangeText(from, to) {
    return from === to ? dayText(from) : `${dayText(from)} – ${dayText(to)}`;
  }

  // ---- filters: "country==FI;device!=mobile" ----------------------------------

  const FILTER = /^([a-z_]+|prop:[^=!;]+)(==|!=)(.*)$/;
  // Text split at each `sep` outside a glob bracket, as the API splits a
  // filter into parts at ';' and a value into alternatives at '|'
  // ("utm_content==a[;]b" is one part, "a[|]b" one value).
  function splitOutside(text, sep) {
    const parts = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '[') {
        // A ']' first (after a '^') is one of the bracket's characters.
        let j = i + 1;
        if (text[j] === '^') j++;
        if (text[j] === ']') j++;
        while (j < text.length && text[j] !== ']') j++;
        if (j < text.length) i = j;
      } else if (text[i] === sep) {
        parts.push(text.slice(start, i));
        start = i + 1;
      }
    }
    parts.push(text.slice(start));
    return parts;
  }
  const filterParts = (text) => splitOutside(text, ';');
  // The parts that are no filter go to `dropped`, if given, so that a
  // mistyped address says what it lost rather than showing unfiltered
  // figures as if filtered.
  function parseFilters(text, dropped) {
    const out = [];
    for (const part of filterParts(text || '')) {
      const m = FILTER.exec(part);
      // An empty value is a value (a property sent as ""): its filter
      // is kept, as the API takes it (prop:plan==).
      if (m && (DIMENSIONS[m[1]] || m[1].startsWith('prop:')))
        out.push({ dimension: m[1], op: m[2], value: m[3] });
      else if (part && dropped) dropped.push(part);
    }
    return out;
  }
  const formatFilters = (list) => list.map((f) => `${f.dimension}${f.op}${f.value}`).join(';');
  // A value with * ? or [ is a glob pattern to the API, | separates
  // alternatives and ; filters: a clicked value is matched exactly, each
  // of them in brackets.  A goal is named, not matched: its name goes as
  // it is, but for a | or ; in it (goal==A|B is either goal), which go in
  // brackets, and so then does a [ (a bracket would hold them).
  const literal = (dimension) => dimension === 'goal';
  const globEscape = (v, dimension) => (literal(dimension)
    ? (/[|;]/.test(v) ? v.replace(/[[|;]/g, (c) => `[${c}]`) : v)
    : v.replace(/[*?[|;]/g, (c) => `[${c}]`));
  const globUnescape = (v, dimension) => v.replace(literal(dimension) ? /\[([[|;])\]/g : /\[([*?[|;])\]/g, '$1');

  // ---- the URL is the state ---------------------------------------------------

  function readUrl() {
    const q = new URLSearchParams(location.search);
    state.site = q.get('site');
    state.period = PERIODS.includes(q.get('period')) ? q.get('period') : '30d';
    state.from = validDay(q.get('from'));
    state.to = validDay(q.get('to'));
    droppedRange = '';
    if (state.period === 'custom' && !(state.from && state.to && state.from <= state.to)) {
      droppedRange = `${q.get('from') || ''}–${q.get('to') || ''}`;
      state.period = '30d';
    }
    if (state.period !== 'custom') state.from = state.to = null;
    droppedFilters = [];
    droppedNames = [];
    state.filters = parseFilters(q.get('filter'), droppedFilters);
    state.compare = COMPARES.includes(q.get('compare')) ? q.get('compare') : '';
    droppedCompare = q.get('compare') && !state.compare ? q.get('compare') : '';
    state.metric = q.get('metric') || 'visitors';
    offeredMetric();
    state.interval = INTERVALS.includes(q.get('interval')) ? q.get('interval') : '';
  }

  // The chart's metric is one the summary offers, else the default: time
  // on page goes with the page filter that brought it.
  function offeredMetric() {
    if (!summaryMetrics().includes(state.metric)) state.metric = 'visitors';
  }

  function writeUrl(push) {
    const q = new URLSearchParams();
    if (state.site) q.set('site', state.site);
    if (state.period !== '30d') q.set('period', state.period);
    if (state.period === 'custom') {
      q.set('from', state.from);
      q.set('to', state.to);
    }
    if (state.filters.length) q.set('filter', formatFilters(state.filters));
    if (state.compare) q.set('compare', state.compare);
    if (state.metric !== 'visitors') q.set('metric', state.metric);
    if (state.interval) q.set('interval', state.interval);
    const url = location.pathname + (q.toString() ? `?${q}` : '');
    if (url !== location.pathname + location.search)
      history[push ? 'pushState' : 'replaceState'](null, '', url);
  }

  // ---- what a person chose to see, kept in this browser -------------------------

  // The cards' tabs and the property shown, per site, as Plausible keeps
  // its tabs: how to look, not what, so not in the address that is shared.
  const VIEW_KEY = 'seula.view';

  function loadView() {
    let saved;
    try { saved = JSON.parse(localStorage.getItem(VIEW_KEY) || '{}')[state.site]; } catch { /* none */ }
    state.tabs = {};
    for (const card of CARDS) {
      const tab = saved && saved.tabs && saved.tabs[card.id];
      if (card.tabs.some((t) => t[0] === tab)) state.tabs[card.id] = tab;
    }
    state.prop = saved && typeof saved.prop === 'string' ? saved.prop : '';
  }

  function saveView() {
    try {
      const all = JSON.parse(localStorage.getItem(VIEW_KEY) || '{}');
      all[state.site] = { tabs: state.tabs, prop: state.prop };
      localStorage.setItem(VIEW_KEY, JSON.stringify(all));
    } catch { /* no storage: the choice lasts as long as the page */ }
  }

  // ---- the API ------------------------------------------------------------------

  // Once the page has shown statistics, a 401 is a session that ended:
  // the sign-in page says so (a first visit is sent there without it).
  let shown = false;
  function toLogin(ended = shown) {
    if (redirecting) return;
    redirecting = true;
    location.replace(`/login/?next=${encodeURIComponent(location.pathname + location.search)}${ended ? '&ended=1' : ''}`);
  }

  // Staff pages of this browser tell each other of a sign-out and of each
  // request (the session's idle time restarts whichever tab asks): the
  // statistics go from the screen at once when the session has gone.
  const staffChannel = 'BroadcastChannel' in window ? new BroadcastChannel('seula-staff') : null;
  let lastRequest = Date.now();
  function sessionGone() {
    if (redirecting) return;
    document.querySelector('main').replaceChildren();
    toLogin(true);
  }
  function listenToStaffPages(idleTimeoutS) {
    if (staffChannel) {
      staffChannel.onmessage = (ev) => {
        if (ev.data === 'signed-out') sessionGone();
        else if (ev.data === 'active') lastRequest = Date.now();
      };
    }
    const idleMs = (Number(idleTimeoutS) || 0) * 1000;
    if (idleMs > 0) {
      setInterval(() => { if (Date.now() - lastRequest >= idleMs) sessionGone(); },
        Math.min(30000, idleMs / 4));
    }
  }

  // The server could not be reached (a network error, not an answer).
  let unreachable = false;
  // A background request (the page's own poll) is no sign that anyone is
  // there: the server does not restart the session's idle time for it,
  // and neither does this page.
  async function getJson(url, background = false) {
    let r;
    const headers = { Accept: 'application/json' };
    if (background) {
      headers['X-Seula-Background'] = '1';
    } else {
      lastRequest = Date.now();
      if (staffChannel) staffChannel.postMessage('active');
    }
    try {
      r = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers });
    } catch (err) {
      unreachable = true;
      const e = new Error('Not loaded: the server cannot be reached.');
      e.network = true;
      throw e;
    }
    return answer(r);
  }

  // The JSON of an answer, or an Error with the API's message, status and
  // code; a 401 sends the page to sign in.
  async function answer(r, empty = false) {
    if (r.status === 401) {
      toLogin();
      throw new Error('Signed out.');
    }
    if (empty && r.status === 204) return null;
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok || !data) {
      const e = new Error((data && data.message) || `The server answered ${r.status}.`);
      e.status = r.status;
      e.code = data && data.error;
      throw e;
    }
    return data;
  }

  // A change (POST, DELETE) with the session's CSRF token, as the staff
  // pages send theirs; a JSON body when given.  Resolves to the answer's
  // JSON, null for a 204.
  async function send(method, url, body) {
    const headers = { Accept: 'application/json' };
    if (csrf) headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    lastRequest = Date.now();
    if (staffChannel) staffChannel.postMessage('active');
    let r;
    try {
      r = await fetch(url, {
        method, headers, credentials: 'same-origin', cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const e = new Error('The server cannot be reached.');
      e.network = true;
      throw e;
    }
    return answer(r, true);
  }

  // /api/stats/SITE/KIND?from&to&tz&filter&...; format=csv for the exports.
  function statsUrl(kind, extra, fmt) {
    const [from, to] = range();
    const q = new URLSearchParams({ from, to, tz: tz() });
    if (state.filters.length) q.set('filter', formatFilters(state.filters));
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    if (fmt) q.set('format', fmt);
    return `/api/stats/${encodeURIComponent(state.site)}/${kind}?${q}`;
  }

  function csvLink(a, url, name) {
    const [from, to] = range();
    a.href = url;
    a.download = `${state.site}-${name}-${from}-${to}.csv`;
  }

  // ---- small DOM helpers ------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function showError(p, err) {
    p.textContent = err ? (err.message || String(err)) : '';
    p.hidden = !err;
  }

  // A saved link's goal== or content_group== filter may name a goal or a
  // group since removed from the configuration: the API refuses it, and
  // every card would show the error.  Such a filter is dropped and said,
  // as a mistyped one is.
  function dropUnknownNames() {
    if (!siteGoals) return;
    const names = siteGoals[state.site] || [];
    state.filters = state.filters.filter((f) => {
      if (f.dimension !== 'content_group') return true;
      const known = splitOutside(f.value, '|').every((v) => groupsOf(state.site).includes(v));
      if (!known) droppedNames.push(formatFilters([f]));
      return known;
    });
    state.filters = state.filters.filter((f) => {
      if (f.dimension !== 'goal') return true;
      // A goal's own name may hold a '|': the API takes the whole
      // value as one name before it splits it into alternatives.
      const known = names.includes(f.value) || names.includes(globUnescape(f.value, 'goal'))
        || splitOutside(f.value, '|').every((v) => names.includes(globUnescape(v, 'goal')));
      if (!known) droppedNames.push(formatFilters([f]));
      return known;
    });
    // Its conversion rate on the chart goes with it.
    offeredMetric();
  }

  // What readUrl() and dropUnknownNames() left out of the filters, said
  // once.
  function droppedText() {
    const known = Object.keys(DIMENSIONS).join(', ');
    return [droppedFilters.length
      ? `Not applied: ${droppedFilters.map((p) => `"${p}"`).join(', ')} from the address `
        + `is no filter (a filter is DIMENSION==VALUE or DIMENSION!=VALUE, DIMENSION one of ${known} or prop:NAME).`
      : '',
    droppedNames.length
      ? `Not applied: ${droppedNames.map((p) => `"${p}"`).join(', ')} from the address: `
        + `${state.site} has no such goal or content group (they are set in the server's configuration).`
      : '',
    droppedRange
      ? `Not applied: the custom range "${droppedRange}" from the address is no range of days `
        + '(from and to as YYYY-MM-DD, from not after to): the last 30 days are shown.'
      : '',
    droppedCompare
      ? `Not applied: the comparison "${droppedCompare}" from the address: the dashboard compares `
        + 'with the previous period or the year before (a custom one is the API\'s, compare=custom).'
      : ''].filter(Boolean).join(' ');
  }

  function notice(text) {
    $('notice').textContent = text || '';
    $('notice').hidden = !text;
  }

  // ---- filters ------------------------------------------------------------------------

  function addFilter(dimension, value, op = '==') {
    const same = state.filters.findIndex((f) => f.dimension === dimension);
    const f = { dimension, op, value: globEscape(String(value), dimension) };
    if (same >= 0) state.filters[same] = f;
    else state.filters.push(f);
    change(true);
    // The row that was clicked is redrawn: the keyboard goes to its chip.
    const chip = document.querySelector(`#filters .chip[data-dimension="${CSS.escape(dimension)}"] .chip-remove`);
    if (chip) chip.focus();
  }

  function removeFilter(i) {
    state.filters.splice(i, 1);
    change(true);
    // Keep the keyboard near: the next chip, or the hint where chips go.
    const chips = document.querySelectorAll('#filters .chip-remove');
    if (chips.length) chips[Math.min(i, chips.length - 1)].focus();
    else $('filters-empty').focus();
  }

  // "Country is FI or SE", "Goal is neither A nor B": a value's
  // alternatives (country==FI|SE) told apart from a '|' of its own.
  function filterText(f) {
    const raw = splitOutside(f.value, '|');
    // "*x*" with nothing else a pattern in x: the form's "contains x".
    const inner = raw.map((v) => containsPart(v, f.dimension));
    const contains = inner.every((v) => v !== null);
    const alts = (contains ? inner : raw).map((v) => shownValue(f.dimension, globUnescape(v, f.dimension)));
    const n = alts.length;
    const anyOf = () => `${alts.slice(0, -1).join(', ')} or ${alts[n - 1]}`;
    let what;
    if (contains) {
      what = f.op === '=='
        ? `contains ${n === 1 ? alts[0] : anyOf()}`
        : n === 1 ? `does not contain ${alts[0]}` : `contains none of ${alts.join(', ')}`;
    } else {
      what = f.op === '=='
        ? `is ${n === 1 ? alts[0] : anyOf()}`
        : n === 1 ? `is not ${alts[0]}` : n === 2 ? `is neither ${alts[0]} nor ${alts[1]}` : `is none of ${alts.join(', ')}`;
    }
    return `${dimLabel(f.dimension)} ${what}`;
  }
  // The x of an alternative "*x*" whose x has no pattern of its own (each
  // of its * ? [ | ; in brackets, as globEscape() writes them), else null.
  function containsPart(v, dimension) {
    if (literal(dimension) || v.length < 3 || v[0] !== '*' || v[v.length - 1] !== '*') return null;
    const x = v.slice(1, -1);
    return /^(?:[^*?[]|\[[*?[|;]\])+$/.test(x) ? x : null;
  }
  // The same filters, in any order (as the server matches a segment).
  const sameFilters = (a, b) => filterParts(formatFilters(a)).sort().join(';')
    === filterParts(formatFilters(b)).sort().join(';');

  // The site's configured segments: one click sets their filters, whose
  // reports the server keeps pre-processed.
  function renderSegments() {
    const box = $('segments');
    const list = (segments[state.site] || [])
      .map((s) => ({ ...s, filters: parseFilters(s.filter) }))
      .filter((s) => s.filters.length);
    box.querySelectorAll('button').forEach((b) => b.remove());
    for (const seg of list) {
      const on = state.filters.length > 0 && sameFilters(seg.filters, state.filters);
      box.append(el('button', {
        type: 'button', class: 'segment', 'aria-pressed': on ? 'true' : 'false',
        'data-filter': seg.filter,
        title: seg.ready ? 'Pre-processed: fast over any period'
          : 'Being pre-processed: until then read from the visits',
        text: seg.filters.map(filterText).join(' and '),
        onclick: () => {
          state.filters = on ? [] : seg.filters.map((f) => ({ ...f }));
          change(true);
          // Redrawn: the keyboard goes to the same segment's new button.
          const again = box.querySelector(`button[data-filter="${CSS.escape(seg.filter)}"]`);
          if (again) again.focus();
        },
      }));
    }
    box.hidden = list.length === 0;
  }

  function renderChips() {
    const ul = $('filters');
    ul.replaceChildren();
    state.filters.forEach((f, i) => {
      const text = filterText(f);
      ul.append(el('li', { class: 'chip', 'data-dimension': f.dimension, 'data-value': f.value },
        el('span', { class: 'chip-text', text }),
        el('button', {
          type: 'button', class: 'chip-remove', 'aria-label': `Remove filter: ${text}`,
          title: 'Remove this filter', onclick: () => removeFilter(i),
        }, el('span', { 'aria-hidden': 'true', text: '×' }))));
    });
    if (state.filters.length > 1) {
      ul.append(el('li', {}, el('button', {
        type: 'button', class: 'link', text: 'Clear all filters',
        onclick: () => { state.filters = []; change(true); $('filters-empty').focus(); },
      })));
    }
    $('filters-empty').hidden = state.filters.length > 0;
    renderSegments();
  }

  // ---- the filter form: is, is not, contains, does not contain ----------------
  // What a click on a row cannot say (Plausible's filter dialogue): the
  // pages that contain "/blog/", the visits not from a country.  The
  // value is matched as typed: its own * ? [ | ; are characters, not
  // patterns (globEscape()); a path may be typed as it reads, the API
  // percent-encodes it as stored.

  function formDimensions() {
    const dims = Object.keys(DIMENSIONS).filter((d) => (d !== 'goal' || (siteGoals && (siteGoals[state.site] || []).length))
      && (d !== 'content_group' || groupsOf(state.site).length));
    return [...dims, ...(siteProps[state.site] || []).map((k) => `prop:${k}`)];
  }

  let suggestFor = '';
  // A path suggested as it reads, and the value stored: "/100%" may be
  // "/100%25", which the API, taking a typed "%" as the start of an
  // escape, would never match.
  let suggestedPaths = new Map();
  async function suggestValues() {
    const dimension = $('filter-dim').value;
    const list = $('filter-values');
    const key = `${state.site} ${range().join(' ')} ${dimension}`;
    if (key === suggestFor) return;
    suggestFor = key;
    list.replaceChildren();
    suggestedPaths = new Map();
    let values = [];
    if (dimension === 'goal') {
      values = (siteGoals && siteGoals[state.site]) || [];
    } else if (dimension === 'content_group') {
      values = groupsOf(state.site);
    } else {
      // The period's most seen values, under the other filters.
      const [from, to] = range();
      const q = new URLSearchParams({ from, to, tz: tz(), dimension, limit: '100' });
      const others = state.filters.filter((f) => f.dimension !== dimension);
      if (others.length) q.set('filter', formatFilters(others));
      try {
        const data = await getJson(`/api/stats/${encodeURIComponent(state.site)}/breakdown?${q}`);
        values = (data.results || []).map((r) => r[dimension])
          .filter((v) => typeof v === 'string' || typeof v === 'number').map(String);
      } catch (e) {
        values = []; // suggestions only: the form works without them
      }
    }
    if (suggestFor !== key) return;
    list.replaceChildren(...values.filter((v) => v !== '').map((v) => {
      const shown = shownValue(dimension, v);
      // A path as it reads; a country by its code, its name beside.
      const typed = PATH_DIMENSIONS.has(dimension) ? shown : v;
      if (PATH_DIMENSIONS.has(dimension) && !suggestedPaths.has(shown)) suggestedPaths.set(shown, v);
      return el('option', { value: typed, label: shown !== typed ? shown : null });
    }));
  }

  // What collect stores of a typed text: controls, space, " < > and all
  // past ASCII as %XX in upper case (its '%' and the rest as they are).
  const encodeStored = (v) => v.replace(/[\u0000-\u0020"<>\u007f-\u{10ffff}]+/gu, (run) => {
    try { return encodeURIComponent(run); } catch { return run; }
  });
  // "FI" of "Finland", "finland" or "fi"; null for none.
  function countryCode(text) {
    const t = text.trim();
    if (/^[a-z]{2}$/i.test(t)) return t.toUpperCase();
    const o = [...$('filter-values').options].find((x) => x.label && x.label.toLowerCase() === t.toLowerCase());
    if (o) return o.value;
    if (!regionNames) return null;
    const A = 65;
    for (let i = 0; i < 26; i++) {
      for (let j = 0; j < 26; j++) {
        const code = String.fromCharCode(A + i, A + j);
        let name = null;
        try { name = regionNames.of(code); } catch { /* not a region */ }
        if (name && name !== code && name.toLowerCase() === t.toLowerCase()) return code;
      }
    }
    return null;
  }

  // Values matched whole: a goal is named, a country and an hour are
  // codes and numbers, in which "contains" would mean nothing.
  const WHOLE_VALUES = new Set(['goal', 'country', 'hour', 'content_group']);
  function syncFilterOps() {
    const whole = WHOLE_VALUES.has($('filter-dim').value);
    for (const o of $('filter-op').options) o.disabled = whole && o.value.includes('contains');
    if (whole && $('filter-op').value.includes('contains'))
      $('filter-op').value = $('filter-op').value === 'contains' ? 'is' : 'is_not';
  }

  function openFilterForm() {
    const form = $('filter-form');
    const dims = formDimensions();
    const was = $('filter-dim').value;
    $('filter-dim').replaceChildren(...dims.map((d) => el('option', { value: d, text: dimLabel(d) })));
    $('filter-dim').value = dims.includes(was) ? was : 'page';
    $('filter-value').value = '';
    showError($('filter-error'), null);
    suggestFor = '';
    syncFilterOps();
    form.hidden = false;
    $('filter-add').setAttribute('aria-expanded', 'true');
    $('filter-dim').focus();
    suggestValues();
  }

  function closeFilterForm() {
    $('filter-form').hidden = true;
    $('filter-add').setAttribute('aria-expanded', 'false');
    $('filter-add').focus();
  }

  function applyFilterForm(ev) {
    ev.preventDefault();
    const dimension = $('filter-dim').value;
    const how = $('filter-op').value;
    let typed = $('filter-value').value.trim();
    if (!DIMENSIONS[dimension] && !dimension.startsWith('prop:')) return;
    if (!typed && (how.includes('contains') || !dimension.startsWith('prop:'))) {
      showError($('filter-error'), new Error('Type a value, or choose one of the list.'));
      $('filter-value').focus();
      return;
    }
    if (dimension === 'goal' && !((siteGoals && siteGoals[state.site]) || []).includes(typed)) {
      showError($('filter-error'), new Error(`${state.site} has no goal "${typed}".`));
      $('filter-value').focus();
      return;
    }
    if (dimension === 'content_group' && !groupsOf(state.site).includes(typed)) {
      showError($('filter-error'), new Error(`${state.site} has no content group "${typed}".`));
      $('filter-value').focus();
      return;
    }
    // A country typed by its name, as the list shows it, or by its code
    // in any case: its code, whether the list has come yet or not.
    if (dimension === 'country' && !how.includes('contains')) {
      const code = countryCode(typed);
      if (!code) {
        showError($('filter-error'), new Error(`No country is named "${typed}": type its name or its two-letter code.`));
        $('filter-value').focus();
        return;
      }
      typed = code;
    }
    // A referrer is stored percent-encoded, as a page is, but the API
    // matches its value as given: typed as it reads, it is encoded here.
    if (PATH_DIMENSIONS.has(dimension) && suggestedPaths.has(typed) && suggestFor.endsWith(` ${dimension}`))
      typed = suggestedPaths.get(typed);
    else if (dimension === 'referrer') typed = encodeStored(typed);
    const contains = how.includes('contains');
    const value = contains ? `*${globEscape(typed, dimension)}*` : globEscape(typed, dimension);
    const op = how === 'is' || how === 'contains' ? '==' : '!=';
    // A second value of the same kind for a dimension is one more
    // alternative ("country is FI or SE"); another kind replaces it.
    const same = state.filters.findIndex((f) => f.dimension === dimension);
    const prev = same >= 0 ? state.filters[same] : null;
    const kind = (f) => `${f.op}${splitOutside(f.value, '|').every((v) => containsPart(v, f.dimension) !== null)}`;
    const f = { dimension, op, value };
    if (prev && kind(prev) === kind(f) && !splitOutside(prev.value, '|').includes(value))
      f.value = `${prev.value}|${value}`;
    else if (prev && kind(prev) === kind(f))
      f.value = prev.value;
    if (same >= 0) state.filters[same] = f;
    else state.filters.push(f);
    $('filter-form').hidden = true;
    $('filter-add').setAttribute('aria-expanded', 'false');
    change(true);
    const chip = document.querySelector(`#filters .chip[data-dimension="${CSS.escape(dimension)}"] .chip-remove`);
    if (chip) chip.focus();
  }

  // ---- summary ------------------------------------------------------------------

  function changeText(metric, now, before) {
    if (before === null || before === undefined || now === null || now === undefined) return null;
    // What the reader sees: no arrow between two figures shown alike
    // ("0s" and "0s").
    if (format(metric, now) === format(metric, before)) return { cls: 'same', arrow: '', text: '0%', words: 'no change' };
    const lower = LOWER_IS_BETTER.has(metric);
    let diff;
    let text;
    if (POINTS.has(metric)) {
      diff = now - before;
      text = `${percent.format(Math.abs(diff))} pp`;
    } else if (Number(before) === 0) {
      if (Number(now) === 0) return { cls: 'same', arrow: '', text: '0%', words: 'no change' };
      return { cls: lower ? 'worse' : 'better', arrow: '↑', text: 'new', words: 'up from none' };
    } else {
      diff = ((now - before) / before) * 100;
      // Its size rounded, half away from zero either way (Math.round of
      // -0.5 is -0: "↓ 0%").
      text = `${integer.format(Math.round(Math.abs(diff)))}%`;
    }
    // As shown: a change that rounds to 0% has no arrow either.
    const none = POINTS.has(metric) ? Math.abs(diff) < 0.05 : Math.round(Math.abs(diff)) === 0;
    if (none) return { cls: 'same', arrow: '', text: '0%', words: 'no change' };
    const up = diff > 0;
    return {
      cls: up !== lower ? 'better' : 'worse', arrow: up ? '↑' : '↓', text,
      words: `${up ? 'up' : 'down'} ${text}`,
    };
  }

  // A rate per visit of a period without visits is no figure: the API's 0
  // would read as "nobody bounced", and its change as a gain or a loss.
  const PER_VISIT = new Set(['views_per_visit', 'bounce_rate', 'visit_duration']);
  const figure = (results, m) => (PER_VISIT.has(m) && !Number(results.visits) ? null : results[m]);

  function renderSummary(data) {
    const ul = $('summary');
    ul.replaceChildren();
    const now = data.results || {};
    const before = data.comparison ? data.comparison.results || {} : null;
    // Which period "before" is: whole months against whole months, else
    // as many days before.
    const c = data.comparison;
    // Named only when a comparison is chosen (the change shown without
    // one is against the previous period).
    // A period still running is set against as much of the last one:
    // the API says where that ends ("YYYY-MM-DD HH:00").
    const until = c && c.until ? `, until ${c.until.slice(11)}` : '';
    $('compare-range').textContent = state.compare && c && c.from && c.to ? `(${rangeText(c.from, c.to)}${until})` : '';
    // A figure's change, and what it was before when a comparison is chosen.
    const changeNodes = (m, v, was) => {
      const c = before ? changeText(m, v, was) : null;
      return [c ? el('span', { class: `change ${c.cls}` },
        el('span', { 'aria-hidden': 'true', text: `${c.arrow}${c.arrow ? ' ' : ''}${c.text}` }),
        el('span', { class: 'visually-hidden', text: `${c.words} from ${compareName().toLowerCase()}` })) : null,
      state.compare && before ? el('span', { class: 'previous', text: `before: ${format(m, was)}` }) : null];
    };
    for (const m of summaryMetrics()) {
      const v = figure(now, m);
      const button = el('button', {
        type: 'button', class: 'metric', 'data-metric': m,
        'aria-pressed': state.metric === m ? 'true' : 'false',
        onclick: () => {
          if (state.metric === m) return;
          state.metric = m;
          writeUrl(false);
          for (const b of ul.querySelectorAll('button'))
            b.setAttribute('aria-pressed', b.dataset.metric === m ? 'true' : 'false');
          loadChart(generation);
        },
      },
      el('span', { class: 'metric-label', text: METRICS[m] }),
      el('span', { class: 'value', 'data-value': v === null || v === undefined ? '' : String(v), text: format(m, v) }),
      ...changeNodes(m, v, before ? figure(before, m) : null));
      ul.append(el('li', {}, button));
    }
  }

  async function loadSummary(g) {
    // The change against the previous period is always shown.
    const url = statsUrl('summary', comparison());
    $('summary').dataset.api = url;
    const req = busy($('summary'));
    try {
      const data = await getJson(url);
      if (g !== generation) return;
      renderSummary(data);
      $('segment-note').hidden = data.preprocessed !== true;
    } catch (e) {
      if (g !== generation) return;
      $('segment-note').hidden = true;
      $('summary').replaceChildren(el('li', { class: 'error', role: 'alert', text: e.message }));
    } finally {
      idle($('summary'), req);
    }
  }

  // ---- the chart (uPlot) ----------------------------------------------------------

  const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  // "YYYY-MM-DD" or "YYYY-MM-DD HH:00", wall time in tz(), as seconds of a
  // UTC clock: the chart draws its labels in UTC, so they read as wall time.
  function bucketTime(s) {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}))?/.exec(s);
    if (!m) return NaN;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0)) / 1000;
  }

  // Now on the browser's wall clock, as bucketTime() gives a bucket's start.
  function nowWall() {
    const w = wallClock();
    return Date.UTC(+w.y, +w.m - 1, +w.d, +w.h, +w.min) / 1000;
  }

  function bucketText(t, iv) {
    const d = new Date(t * 1000);
    const opts = { timeZone: 'UTC', day: 'numeric', month: 'short' };
    if (iv === 'month') return d.toLocaleDateString('en-GB', { timeZone: 'UTC', month: 'long', year: 'numeric' });
    if (iv === 'hour') return `${d.toLocaleDateString('en-GB', opts)} ${String(d.getUTCHours()).padStart(2, '0')}:00`;
    if (iv === 'week') return `week of ${d.toLocaleDateString('en-GB', opts)}`;
    return d.toLocaleDateString('en-GB', { ...opts, weekday: 'short' });
  }

  // An hourly chart of several days names the day at each midnight
  // ("2 Dec", then "08:00", "16:00"): times alone do not say which day.
  function axisText(t, iv, manyDays) {
    const d = new Date(t * 1000);
    if (iv === 'hour' && manyDays && d.getUTCHours() === 0 && d.getUTCMinutes() === 0)
      return d.toLocaleDateString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short' });
    if (iv === 'hour') return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    if (iv === 'month') return d.toLocaleDateString('en-GB', { timeZone: 'UTC', month: 'short', year: 'numeric' });
    return d.toLocaleDateString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short' });
  }

  const COUNT_STEPS = [];
  for (let p = 1; p <= 1e9; p *= 10) COUNT_STEPS.push(p, 2 * p, 5 * p);
  const SECOND_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
  // The colours are the style's (cssVar()) when the chart is drawn, on
  // uPlot's canvas: a change of the light or dark scheme draws it again
  // from the last answer (lastChart), or its axes keep the other's.
  let lastChart = null;
  function drawChart(data, metric) {
    lastChart = { data, metric };
    const box = $('chart');
    const iv = data.interval;
    const xs = data.results.map((r) => bucketTime(r.date));
    // Buckets still to come (the rest of today) are no zeros: the line
    // stops at the one now runs in.
    const now = nowWall();
    const base = RATE_BASE[metric];
    const value = (r) => (r[metric] === undefined || (base && !r[base]) ? null : r[metric]);
    const ys = data.results.map((r, i) => (xs[i] > now ? null : value(r)));
    // The bucket now runs in is not over: its point hangs off the last
    // whole one by a dashed line, as in Plausible, so that a day begun
    // does not read as a fall.
    const cur = xs.reduce((at, t, i) => (t <= now ? i : at), -1);
    const open = cur >= 0 && ys[cur] !== null && now < bucketEnd(xs, cur, iv);
    // So is a week or month the period cuts (the last 30 days by the week
    // begin on a Wednesday, the last 12 months end in this one): fewer days,
    // not fewer visitors.  Such buckets, and the one now runs in, are
    // drawn dashed from their whole neighbour.
    const days = partialDays(xs, iv, data.from, data.to);
    const partial = new Set(days.map((d, i) => (d ? i : -1)).filter((i) => i >= 0));
    if (open) partial.add(cur);
    const whole = ys.map((v, i) => (partial.has(i) ? null : v));
    const series = [{}, {
      label: METRICS[metric], stroke: cssVar('--chart'), fill: cssVar('--chart-fill'), width: 2,
      // The points hollow on the card's colour (uPlot's own is white).
      points: { show: xs.length <= 62, fill: cssVar('--card') },
    }];
    const plotData = [xs, whole];
    if (partial.size) {
      const near = (i) => partial.has(i) || partial.has(i - 1) || partial.has(i + 1);
      plotData.push(ys.map((v, i) => (near(i) && (partial.has(i) || whole[i] !== null) ? v : null)));
      series.push({ label: `${METRICS[metric]}, part of a ${iv}`, stroke: cssVar('--chart'), width: 2, dash: [4, 4],
        points: { show: true, fill: cssVar('--card') } });
    }
    let previous = null;
    if (state.compare && data.comparison && Array.isArray(data.comparison.results)) {
      previous = data.comparison.results.map(value);
      previous = xs.map((_, i) => (i < previous.length ? previous[i] : null));
      plotData.push(previous);
      series.push({ label: compareName(), stroke: cssVar('--chart-previous'), width: 1.5, dash: [6, 4],
        points: { fill: cssVar('--card') } });
    }
    const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--line'), width: 1 }, ticks: { show: false } };
    const width = Math.max(200, box.clientWidth);
    // Days, weeks and months are labelled at their buckets' starts (uPlot's
    // own steps fall between them: "24 Nov" three times, or "9 Aug" for the
    // week of 10 Aug), as many as fit; hours below.
    const fit = Math.max(2, Math.floor(width / 80));
    const every = Math.ceil(xs.length / fit);
    // Hours of more than one day.
    const manyDays = xs.length > 1 && xs[xs.length - 1] - xs[0] >= 86400;
    // Hours at whole steps of the wall clock (xs are wall time): uPlot's
    // own steps go by the browser's clock, uneven on a day it changes
    // ("00:00|01:00|04:00").  A zone off by a half hour has hh:30 buckets.
    let xSplits;
    if (iv === 'hour' && xs.length) {
      const hours = (xs[xs.length - 1] - xs[0]) / 3600 + 1;
      const step = [1, 2, 3, 4, 6, 8, 12].find((h) => hours / h <= fit) || 24 * Math.ceil(hours / 24 / fit);
      const off = ((xs[0] % 3600) + 3600) % 3600;
      xSplits = xs.filter((t) => (t - off) % (step * 3600) === 0);
    } else {
      xSplits = xs.filter((_, i) => i % every === 0);
    }
    // Counts and seconds step by whole units: no "0 0 0 1 1 1".
    const steps = metric === 'visit_duration' || metric === 'time_on_page' ? SECOND_STEPS
      : ['visitors', 'visits', 'pageviews', 'events'].includes(metric) ? COUNT_STEPS : null;
    const opts = {
      width,
      height: 260,
      padding: [12, 28, 0, 0], // room for the last label
      legend: { show: false },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [{
        ...axis, splits: () => xSplits,
        values: (u, vals) => {
          const texts = vals.map((t) => axisText(t, iv, manyDays));
          box.dataset.xLabels = texts.join('|');
          return texts;
        },
      },
        { ...axis, size: 60, ...(steps ? { incrs: steps } : {}), values: (u, vals) => vals.map((v) => format(metric, v)) }],
      cursor: { drag: { x: false, y: false } },
      series,
      hooks: {
        setCursor: [(u) => {
          const i = u.cursor.idx;
          if (i === null || i === undefined) { $('chart-readout').textContent = ''; return; }
          let text = `${bucketText(xs[i], iv)}: ${format(metric, ys[i])} ${METRICS[metric].toLowerCase()}`;
          if (days[i]) text += ` (${days[i][0]} of its ${days[i][1]} days in the period)`;
          else if (open && i === cur) text += ' (so far)';
          if (previous) text += ` (${compareName().toLowerCase()}: ${format(metric, previous[i])})`;
          // The notes of the bucket, as the marker's words.
          const end = bucketEnd(xs, i, iv);
          const said = shownNotes().filter((n) => bucketTime(n.date) >= xs[i] && bucketTime(n.date) < end);
          if (said.length) text += ` · Note: ${said.map((n) => n.text).join('; ')}`;
          $('chart-readout').textContent = text;
        }],
        draw: [(u) => drawNotes(u, box)],
      },
    };
    if (plot) plot.destroy();
    box.replaceChildren();
    plot = new uPlot(opts, plotData, box);
    // What the picture says, for those who do not see it.
    const values = ys.filter((v) => v !== null);
    const total = values.reduce((a, b) => a + b, 0);
    const top = values.length ? Math.max(...values) : 0;
    const at = ys.indexOf(top);
    box.setAttribute('aria-label', `Chart of ${METRICS[metric].toLowerCase()} per ${iv}, ` +
      `${rangeText(data.from, data.to)}: ${xs.length} points` +
      (values.length ? `, highest ${format(metric, top)} (${bucketText(xs[at], iv)})` : '') +
      (['visitors', 'visits', 'pageviews', 'events'].includes(metric) && metric !== 'visitors'
        ? `, ${format(metric, total)} in all` : '') + '.');
    if (!values.length) {
      const empty = document.createElement('p');
      empty.className = 'chart-empty muted';
      empty.textContent = `No ${METRICS[metric].toLowerCase()} in this period.`;
      box.append(empty);
    }
    box.dataset.points = String(xs.length);
    box.dataset.drawn = String(values.length);
    box.dataset.series = String(previous ? 2 : 1);
    box.dataset.current = open ? bucketText(xs[cur], iv) : '';
    box.dataset.partial = [...partial].sort((a, b) => a - b).join(',');
  }

  // Per bucket of a week or month chart, [days in the period, days] when
  // the period holds only part of it, else null: the first may begin
  // before `from`, the last end after `to`.  The answer's from and to: a
  // redraw may come after the picker has moved on to other dates.
  function partialDays(xs, iv, from, to) {
    if (iv !== 'week' && iv !== 'month') return xs.map(() => null);
    const start = bucketTime(from);
    const end = bucketTime(to) + 86400;
    return xs.map((t, i) => {
      const full = bucketEnd(xs, i, iv);
      const inside = Math.min(full, end) - Math.max(t, start);
      const total = full - t;
      return inside < total ? [Math.round(inside / 86400), Math.round(total / 86400)] : null;
    });
  }

  // The end of bucket i of a timeseries: the next one's start, and for the
  // last one its interval's length on.
  function bucketEnd(xs, i, iv) {
    if (i + 1 < xs.length) return xs[i + 1];
    const d = new Date(xs[i] * 1000);
    switch (iv) {
      case 'hour': return xs[i] + 3600;
      case 'day': return xs[i] + 86400;
      case 'week': return xs[i] + 7 * 86400;
      default: return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
    }
  }

  // While a report is on its way, what shows is the last answer, for
  // other filters, dates or tabs: aria-busy says so, and the style greys
  // it.  Only the node's latest request clears it (a tab or metric click
  // asks again within one refresh).
  let requests = 0;
  function busy(node) {
    const id = ++requests;
    node.dataset.request = id;
    node.setAttribute('aria-busy', 'true');
    return id;
  }
  function idle(node, id) {
    if (Number(node.dataset.request) === id) node.removeAttribute('aria-busy');
  }

  // A rate's bucket without visits (page views) has no rate: the API says
  // 0, the chart leaves a gap, as the summary shows "–".
  const RATE_BASE = { bounce_rate: 'visits', views_per_visit: 'visits', visit_duration: 'visits', time_on_page: 'pageviews' };

  async function loadChart(g) {
    const [from, to] = range();
    const extra = { metric: state.metric, interval: interval(from, to), ...(state.compare ? comparison() : {}) };
    csvLink($('chart-csv'), statsUrl('timeseries', extra, 'csv'), `timeseries-${state.metric}`);
    const base = RATE_BASE[state.metric];
    if (base) extra.metric = `${state.metric},${base}`;
    const url = statsUrl('timeseries', extra);
    $('chart').dataset.api = url;
    $('chart-csv').setAttribute('aria-label', `Download the chart's ${METRICS[state.metric].toLowerCase()} as CSV`);
    const req = busy($('chart'));
    try {
      const data = await getJson(url);
      if (g !== generation || $('chart').dataset.api !== url) return;
      showError($('chart-error'), null);
      if (typeof uPlot === 'undefined') throw new Error('The chart library did not load.');
      drawChart(data, state.metric);
    } catch (e) {
      if (g !== generation || $('chart').dataset.api !== url) return;
      showError($('chart-error'), e);
      // The last answer was for other dates or filters: not under these.
      if (plot) plot.destroy();
      plot = null;
      $('chart').replaceChildren();
      $('chart').dataset.points = '0';
      $('chart').dataset.notes = '';
    } finally {
      idle($('chart'), req);
    }
  }

  window.addEventListener('resize', () => {
    if (plot) plot.setSize({ width: Math.max(200, $('chart').clientWidth), height: 260 });
  });
  if (window.matchMedia) {
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
      // Not once the figures have been taken off the screen (sessionGone()).
      if (plot && lastChart && !redirecting && $('chart')) drawChart(lastChart.data, lastChart.metric);
    });
  }

  // ---- notes on the chart (annotations) -------------------------------------------

  // A note is a day as written, in no zone: it is marked at that day's
  // start on the chart, whose x values are wall time in tz() (bucketTime()).
  const notesUrl = (q) => `/api/stats/${encodeURIComponent(state.site)}/annotations${q ? `?${q}` : ''}`;
  const notesFor = () => `${state.site} ${range().join(' ')}`;
  // The notes loaded for the site and days shown, none while another
  // site's or range's are all there is.
  const shownNotes = () => (notesKey === notesFor() ? notes : []);

  // uPlot's draw hook: a thin dashed line down the plot at each note's day,
  // with a small flag on top, on uPlot's own canvas.  A day inside a week or
  // month is marked where it falls between the buckets; one after the last
  // bucket's start (the month still running) at that bucket.  The chart box
  // lists the days marked (data-notes); the list under the chart is the
  // same notes for a screen reader and the keyboard.
  function drawNotes(u, box) {
    const days = [...new Set(shownNotes().map((n) => n.date))];
    const { min, max } = u.scales.x;
    const drawn = [];
    if (days.length && min !== undefined && max !== undefined && min !== null && max !== null) {
      const ctx = u.ctx;
      const { left, top, width, height } = u.bbox;
      const px = uPlot.pxRatio || 1;
      ctx.save();
      ctx.strokeStyle = ctx.fillStyle = cssVar('--note');
      ctx.lineWidth = Math.max(1, Math.round(px));
      ctx.setLineDash([4 * px, 3 * px]);
      for (const day of days) {
        const t = Math.min(Math.max(bucketTime(day), min), max);
        if (!Number.isFinite(t)) continue;
        const x = Math.round(u.valToPos(t, 'x', true)) + (ctx.lineWidth % 2 ? 0.5 : 0);
        if (x < left - 1 || x > left + width + 1) continue;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
        ctx.beginPath();
        ctx.moveTo(x - 4 * px, top);
        ctx.lineTo(x + 4 * px, top);
        ctx.lineTo(x, top + 6 * px);
        ctx.closePath();
        ctx.fill();
        drawn.push(day);
      }
      ctx.restore();
    }
    box.dataset.notes = drawn.join(' ');
  }

  const noteDay = (s) => parseDay(s).toLocaleDateString('en-GB',
    { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });

  function renderNotes() {
    const ul = $('notes-list');
    ul.replaceChildren();
    for (const n of shownNotes()) {
      const li = el('li', { class: 'note', 'data-id': n.id, 'data-date': n.date },
        el('time', { class: 'note-date', datetime: n.date, text: noteDay(n.date) }),
        el('span', { class: 'note-text', text: n.text }),
        n.by ? el('span', { class: 'note-by muted', text: `by ${n.by}` }) : null,
        el('span', { class: 'note-actions' }));
      li.lastChild.append(removeButton(n));
      ul.append(li);
    }
    $('notes-empty').hidden = shownNotes().length > 0;
  }

  // The button's name says which note: a list of them each called
  // "Remove" tells a screen reader's user nothing.
  function removeButton(n) {
    const b = el('button', { type: 'button', class: 'secondary note-remove', onclick: () => askRemove(n, b.parentElement) },
      'Remove', el('span', { class: 'visually-hidden', text: ` the note of ${noteDay(n.date)}: ${n.text}` }));
    return b;
  }

  // Asked in the row itself, as the keys page asks before a revocation (no
  // window.confirm, outside the page's focus order).
  function askRemove(n, where) {
    const q = el('p', { id: `note-confirm-${n.id}-q`, text: 'Remove this note, for everyone who sees the dashboard?' });
    const box = el('div', { class: 'confirm', role: 'group', 'aria-labelledby': q.id });
    const no = el('button', {
      type: 'button', class: 'secondary note-cancel', text: 'Cancel',
      onclick: () => {
        const again = removeButton(n);
        where.replaceChildren(again);
        again.focus();
      },
    });
    const yes = el('button', { type: 'button', class: 'danger note-confirm', text: 'Yes, remove it', onclick: () => removeNote(n, box) });
    box.append(q, yes, no);
    box.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && !no.disabled) no.click();
    });
    where.replaceChildren(box);
    // Focus on the safe choice: Enter pressed once more does no harm.
    no.focus();
  }

  async function removeNote(n, box) {
    for (const b of box.querySelectorAll('button')) b.disabled = true;
    showError($('notes-error'), null);
    $('notes-status').textContent = '';
    let gone;
    try {
      await send('DELETE', `${notesUrl()}/${encodeURIComponent(n.id)}`);
      gone = 'removed';
    } catch (e) {
      // 404: removed already (in another tab, by a colleague): the same end.
      if (e.status === 404) {
        gone = 'already removed';
      } else {
        if (redirecting) return;
        showError($('notes-error'), new Error(`The note was not removed: ${e.message}`));
        for (const b of box.querySelectorAll('button')) b.disabled = false;
        return;
      }
    }
    $('notes-status').textContent = `The note of ${noteDay(n.date)} is ${gone}.`;
    await loadNotes(generation);
    // Its row, and the button that had the focus, are gone.
    $('notes-heading').focus();
  }

  // The notes of the range, with the reports; the chart is redrawn with
  // their markers once here.
  async function loadNotes(g) {
    const [from, to] = range();
    const key = notesFor();
    const url = notesUrl(new URLSearchParams({ from, to }));
    const list = $('notes-list');
    list.dataset.api = url;
    const req = busy(list);
    try {
      const data = await getJson(url);
      if (g !== generation || notesFor() !== key) return;
      notes = Array.isArray(data.results) ? data.results : [];
      notesKey = key;
      showError($('notes-error'), null);
      $('note-form').hidden = false;
    } catch (e) {
      if (g !== generation) return;
      notes = [];
      notesKey = '';
      // A role or a sign-in that may not read them may not add any either.
      $('note-form').hidden = e.status === 403;
      showError($('notes-error'), new Error(e.status === 403
        ? 'Notes are for admins and analysts.' : `The notes cannot be read: ${e.message}`));
    } finally {
      idle(list, req);
    }
    renderNotes();
    if (plot) plot.redraw(false, false);
  }

  async function addNote(ev) {
    ev.preventDefault();
    const date = $('note-date');
    const input = $('note-text');
    const button = $('note-add');
    const text = input.value.trim();
    showError($('note-error'), null);
    $('notes-status').textContent = '';
    date.removeAttribute('aria-invalid');
    input.removeAttribute('aria-invalid');
    const bad = (field, message) => {
      field.setAttribute('aria-invalid', 'true');
      showError($('note-error'), new Error(message));
      field.focus();
    };
    const problem = !validDay(date.value) ? [date, 'Give the note\'s date.']
      : !text ? [input, 'Write the note: what happened that day, up to 200 characters.']
        : [...text].length > 200 ? [input, 'A note is at most 200 characters.'] : null;
    if (problem) {
      bad(...problem);
      return;
    }
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const made = await send('POST', notesUrl(), { date: date.value, text });
      input.value = '';
      const [from, to] = range();
      const day = made && made.date ? made.date : date.value;
      $('notes-status').textContent = day >= from && day <= to
        ? `Note added for ${noteDay(day)}.`
        : `Note added for ${noteDay(day)}, outside the period shown: choose a period with that day to see it.`;
      await loadNotes(generation);
      input.focus();
    } catch (e) {
      if (redirecting) return;
      if (e.code === 'invalid_date') date.setAttribute('aria-invalid', 'true');
      if (e.code === 'invalid_text') input.setAttribute('aria-invalid', 'true');
      showError($('note-error'), new Error(`The note was not added: ${e.message}`));
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  // ---- tables ---------------------------------------------------------------------

  // A table of rows; a row's first cell is a button that filters by it.
  // Paths are kept as the browser sent them, percent-encoded; shown as a
  // person reads them (/käyttäjä/, not /k%C3%A4ytt%C3%A4j%C3%A4/).  The
  // filter and the CSV keep the stored value.
  // Countries by name ("Finland", not "FI"), in the browser's language;
  // the filter and the CSV keep the code.
  // Values stored percent-encoded (paths, and referrers' paths), shown
  // as they read.
  const PATH_DIMENSIONS = new Set(['page', 'entry_page', 'exit_page', 'referrer']);
  let regionNames = null;
  try { regionNames = new Intl.DisplayNames(undefined, { type: 'region' }); } catch { /* no names */ }
  // An empty value (a property sent as "") reads "(empty)": no row or
  // chip without words.  A value missing altogether is "(none)".
  const EMPTY = '(empty)';
  function shownValue(dimension, text) {
    if (text === '') return EMPTY;
    if (dimension === 'hour' && /^\d+$/.test(text)) return `${text.padStart(2, '0')}:00–${String((+text + 1) % 24).padStart(2, '0')}:00`;
    if (dimension === 'country' && regionNames && /^[A-Z]{2}$/.test(text)) {
      try {
        const name = regionNames.of(text);
        return name && name !== text ? name : text;
      } catch { return text; }
    }
    if (!PATH_DIMENSIONS.has(dimension)) return text;
    try { return decodeURI(text); } catch { return text; }
  }

  // On a phone (the style's max-width: 40rem) a table of more than two
  // figures shows its key ones alone, as Plausible's does: the rest are
  // cells of class "extra", which the style hides there until the card's
  // "All columns" is pressed (then the table scrolls sideways); the CSV
  // has them all.
  const KEY_METRICS = new Set(['visitors', 'conversion_rate', 'dropoff']);
  const numClass = (cols, m) => (cols.length > 2 && !KEY_METRICS.has(m) ? 'num extra' : 'num');
  function columnsButton(table) {
    return el('button', {
      type: 'button', class: 'columns', text: 'All columns', 'aria-pressed': 'false',
      'aria-controls': table.id, hidden: true,
      onclick: (ev) => {
        const on = ev.currentTarget.getAttribute('aria-pressed') !== 'true';
        ev.currentTarget.setAttribute('aria-pressed', String(on));
        ev.currentTarget.closest('.card').classList.toggle('all-columns', on);
      },
    });
  }

  function fillTable(table, dimension, rows, cols, opts = {}) {
    const tbody = table.tBodies[0];
    tbody.replaceChildren();
    const max = Math.max(1, ...rows.map((r) => Number(r[cols[0][0]]) || 0));
    for (const r of rows) {
      const value = r[opts.key || dimension];
      const text = value === null || value === undefined ? '(none)' : String(value);
      const share = Math.round(((Number(r[cols[0][0]]) || 0) / max) * 100);
      const label = shownValue(dimension, text);
      const cls = text === '' ? 'name placeholder' : 'name';
      const first = opts.filter === false
        ? el('span', { class: cls, text: label })
        : el('button', {
          type: 'button', class: cls, text: label, title: `Filter by ${dimLabel(opts.filterDimension || dimension)}: ${label}`,
          onclick: () => addFilter(opts.filterDimension || dimension, text),
        });
      const th = el('th', { scope: 'row', class: 'bar' }, first);
      th.style.setProperty('--share', `${share}%`);
      const tr = el('tr', { 'data-value': text }, th);
      // The whole row filters, as the hint says; the button is what a
      // keyboard or a screen reader reaches.
      if (opts.filter !== false) {
        tr.classList.add('filterable');
        tr.addEventListener('click', (e) => {
          if (!e.target.closest('button, a')) first.click();
        });
      }
      for (const [m] of cols)
        tr.append(el('td', { class: numClass(cols, m), 'data-metric': m, 'data-value': r[m] === undefined || r[m] === null ? '' : String(r[m]), text: format(m, r[m]) }));
      tbody.append(tr);
    }
    if (!rows.length)
      tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: cols.length + 1, class: 'muted', text: 'Nothing in this period.' })));
  }

  function tableHead(table, first, cols) {
    const row = el('tr', {}, el('th', { scope: 'col', text: first }));
    for (const [m, label] of cols) row.append(el('th', { scope: 'col', class: numClass(cols, m), text: label }));
    table.tHead.replaceChildren(row);
    const card = table.closest('.card');
    const button = card && card.querySelector('.columns');
    if (button) button.hidden = !cols.some(([m]) => numClass(cols, m) !== 'num');
  }

  function buildCard(card) {
    const headingId = `${card.id}-heading`;
    const tabs = card.tabs.length > 1
      ? el('div', { class: 'tabs', role: 'group', 'aria-label': `${card.title}: show` })
      : null;
    const table = el('table', { id: `table-${card.id}` },
      el('caption', { class: 'visually-hidden' }), el('thead'), el('tbody'));
    const csv = el('a', { class: 'csv', text: 'CSV' });
    const error = el('p', { class: 'error', role: 'alert', hidden: true });
    // Past the top LIMIT: MORE_STEP rows more a click, while the API says
    // more follow.
    const more = el('button', {
      type: 'button', class: 'more', text: 'Show more', hidden: true,
      onclick: async () => {
        const before = table.tBodies[0].rows.length;
        shownRows[card.id] = (shownRows[card.id] || LIMIT) + MORE_STEP;
        await loadCard(card, generation);
        // All shown, the button has gone: the keyboard goes on to the
        // first row it added, not back to the top of the page.
        const next = more.hidden && table.tBodies[0].rows[before];
        const button = next && next.querySelector('button');
        if (button) button.focus();
      },
    });
    const keys = card.tabs.some((t) => t[0] === 'prop')
      ? el('select', {
        class: 'prop-key', 'aria-label': 'Property', hidden: true,
        onchange: (ev) => {
          state.prop = ev.target.value;
          saveView();
          delete shownRows[card.id];
          loadCard(card, generation);
        },
      })
      : null;
    const section = el('section', { class: 'card', id: `card-${card.id}`, 'aria-labelledby': headingId },
      el('div', { class: 'card-head' }, el('h2', { id: headingId, text: card.title }), tabs, keys,
        columnsButton(table), csv),
      el('div', { class: 'table-wrap' }, table), more, error);
    if (tabs) {
      for (const [dim, label] of card.tabs) {
        tabs.append(el('button', {
          type: 'button', class: 'tab', 'data-dimension': dim, text: label,
          'aria-pressed': 'false',
          onclick: () => {
            state.tabs[card.id] = dim;
            saveView();
            delete shownRows[card.id];
            loadCard(card, generation);
          },
        }));
      }
    }
    card.el = { section, table, csv, error, tabs, more, keys };
    return section;
  }

  // The property the Properties tab shows: the one chosen, if the site
  // has it, else its first; '' when it has none.
  function propKey() {
    const keys = siteProps[state.site] || [];
    return keys.includes(state.prop) ? state.prop : keys[0] || '';
  }

  // A card's tab as the API names its dimension ('prop' is prop:KEY).
  function apiDimension(card) {
    const dim = state.tabs[card.id] || card.tabs[0][0];
    return dim === 'prop' ? `prop:${propKey()}` : dim;
  }

  async function loadCard(card, g) {
    const tab = state.tabs[card.id] || card.tabs[0][0];
    const [, label, tabCols] = card.tabs.find((t) => t[0] === tab);
    // Under a goal filter, each row's conversion rate too (as Plausible).
    const cols = goalScoped() ? [...tabCols, ['conversion_rate', 'CR']] : tabCols;
    const { table, csv, error, tabs, more, keys } = card.el;
    if (tabs)
      for (const b of tabs.children) {
        b.setAttribute('aria-pressed', b.dataset.dimension === tab ? 'true' : 'false');
        // A site without custom properties has nothing to show there.
        if (b.dataset.dimension === 'prop') b.hidden = !propKey();
        if (b.dataset.dimension === 'content_group') b.hidden = !groupsOf(state.site).length;
      }
    if (keys) {
      const list = siteProps[state.site] || [];
      keys.replaceChildren(...list.map((k) => el('option', { value: k, text: k })));
      keys.value = propKey();
      keys.hidden = tab !== 'prop' || !list.length;
    }
    if ((tab === 'prop' && !propKey()) || (tab === 'content_group' && !groupsOf(state.site).length)) {
      state.tabs[card.id] = card.tabs[0][0];
      loadCard(card, g);
      return;
    }
    const dim = apiDimension(card);
    const extra = { dimension: dim, limit: card.all || Math.min(shownRows[card.id] || LIMIT, MAX_ROWS) };
    // The rows' conversion rates are asked for, as in Plausible's API.
    if (goalScoped()) extra.metric = 'conversion_rate';
    const url = statsUrl('breakdown', extra);
    table.dataset.api = url;
    table.dataset.dimension = dim;
    table.caption.textContent = `${card.title}: ${label}, ${rangeText(...range())}`;
    // The hours' CSV is made from the answer, once it is here.
    if (card.all) csv.removeAttribute('href');
    else csvLink(csv, statsUrl('breakdown', { ...extra, limit: EXPORT_LIMIT }, 'csv'), dim.replace(':', '-'));
    csv.setAttribute('aria-label', `Download ${label.toLowerCase()} as CSV`);
    tableHead(table, dimLabel(dim), cols);
    const req = busy(table);
    try {
      const data = await getJson(url);
      if (g !== generation || apiDimension(card) !== dim) return;
      showError(error, null);
      const rows = card.all ? allHours(data.results || [], dim) : data.results || [];
      fillTable(table, dim, rows, cols);
      if (card.all) hoursCsv(csv, dim, rows);
      more.hidden = !data.more || extra.limit >= MAX_ROWS || !!card.all;
    } catch (e) {
      if (g !== generation) return;
      table.tBodies[0].replaceChildren();
      more.hidden = true;
      showError(error, e);
    } finally {
      idle(table, req);
    }
  }

  // The hours of the day, 0 to 23, each with the API's row or zeros: the
  // API's breakdown lists only the hours with visits, by visitors.  A rate
  // per visit of an hour without visits is no figure (null).
  const HOUR_METRICS = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate',
    'visit_duration', 'events', 'time_on_page'];
  function allHours(rows, dim) {
    const by = new Map(rows.map((r) => [Number(r[dim]), r]));
    return Array.from({ length: 24 }, (_, h) => by.get(h) || {
      [dim]: h, visitors: 0, visits: 0, pageviews: 0, views_per_visit: null, bounce_rate: null,
      visit_duration: null, events: 0, time_on_page: null,
    });
  }
  // Their CSV, made here from the same rows, as the API writes its CSV:
  // its columns, an empty cell for null, CRLF line ends.
  let hoursCsvUrl = null;
  function hoursCsv(a, dim, rows) {
    const cell = (v) => (v === null || v === undefined ? '' : String(v));
    // Under a goal filter the API's rows have their conversion rate too.
    const metrics = goalScoped() ? [...HOUR_METRICS, 'conversion_rate'] : HOUR_METRICS;
    const lines = [[dim, ...metrics].join(','),
      ...rows.map((r) => [r[dim], ...metrics.map((m) => cell(r[m]))].join(','))];
    if (hoursCsvUrl) URL.revokeObjectURL(hoursCsvUrl);
    hoursCsvUrl = URL.createObjectURL(new Blob([`${lines.join('\r\n')}\r\n`], { type: 'text/csv' }));
    const [from, to] = range();
    a.href = hoursCsvUrl;
    a.download = `${state.site}-${dim}-${from}-${to}.csv`;
  }

  // Goals: their own endpoint, with conversion rates.
  const GOALS = { id: 'goals', title: 'Goals' };
  const GOAL_COLS = [['visitors', 'Uniques'], ['events', 'Total'], ['conversion_rate', 'Conversion rate']];
  function buildGoals() {
    const card = { ...GOALS, tabs: [['goal', 'Goals', GOAL_COLS]] };
    const section = buildCard(card);
    GOALS.el = card.el;
    section.append(el('p', { class: 'muted small', id: 'goals-note' }));
    return section;
  }
  async function loadGoals(g) {
    const { table, csv, error } = GOALS.el;
    const url = statsUrl('goals');
    table.dataset.api = url;
    table.caption.textContent = `Goals, ${rangeText(...range())}`;
    csvLink(csv, statsUrl('goals', {}, 'csv'), 'goals');
    csv.setAttribute('aria-label', 'Download goals as CSV');
    tableHead(table, 'Goal', GOAL_COLS);
    // Of whom the rate is: the API's goals report counts the visitors the
    // filters keep, but for a goal's (goal==), which chooses the goals
    // listed and leaves the rate's base alone, as the summary's.
    const namesGoals = (f) => f.dimension === 'goal' && f.op === '==';
    const n = state.filters.filter((f) => !namesGoals(f)).length;
    const other = state.filters.some(namesGoals) ? 'other ' : '';
    const whom = n === 0 ? 'all visitors' : `the visitors the ${other}${n === 1 ? 'filter keeps' : 'filters keep'}`;
    $('goals-note').textContent = `Goals are set per site in the server's configuration; the rate is of ${whom}.`;
    const req = busy(table);
    try {
      const data = await getJson(url);
      if (g !== generation) return;
      showError(error, null);
      fillTable(table, 'goal', data.results || [], GOAL_COLS);
    } catch (e) {
      if (g !== generation) return;
      table.tBodies[0].replaceChildren();
      showError(error, e);
    } finally {
      idle(table, req);
    }
  }

  // Funnels: a configured funnel's steps (GET /api/stats/SITE/funnel),
  // for the range and filters shown.  A bar per step, its width the step's
  // share of step 1's visits; the table is the figures, the CSV the API's.
  const FUNNELS = { id: 'funnels', title: 'Funnels' };
  const FUNNEL_COLS = [['visits', 'Visits'], ['visitors', 'Visitors'], ['conversion_rate', 'Conversion'],
    ['dropoff', 'Drop-off'], ['dropoff_rate', 'Drop-off rate']];
  function buildFunnels() {
    const table = el('table', { id: 'table-funnels' },
      el('caption', { class: 'visually-hidden' }), el('thead'), el('tbody'));
    const choice = el('select', {
      id: 'funnel-choice', 'aria-label': 'Funnel',
      onchange: (ev) => { funnelChoice = ev.target.value; loadFunnels(generation); },
    });
    const csv = el('a', { class: 'csv', text: 'CSV' });
    const note = el('p', { class: 'muted small', id: 'funnels-note' });
    const error = el('p', { class: 'error', role: 'alert', hidden: true });
    const section = el('section', { class: 'card', id: 'card-funnels', 'aria-labelledby': 'funnels-heading' },
      el('div', { class: 'card-head' }, el('h2', { id: 'funnels-heading', text: 'Funnels' }), choice,
        columnsButton(table), csv),
      // All six columns (on a phone, "All columns") scroll sideways, with
      // no button in them to reach them by: the keyboard scrolls the
      // wrapper itself.
      el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Funnel steps' }, table),
      note, error);
    FUNNELS.el = { table, choice, csv, note, error };
    return section;
  }
  async function loadFunnels(g) {
    const { table, choice, csv, note, error } = FUNNELS.el;
    const list = siteFunnels[state.site] || [];
    if (!list.some((f) => f.name === funnelChoice)) funnelChoice = list.length ? list[0].name : '';
    choice.replaceChildren(...list.map((f) => el('option', { value: f.name, text: f.name })));
    choice.value = funnelChoice;
    choice.hidden = !list.length;
    tableHead(table, 'Step', FUNNEL_COLS);
    if (!list.length) {
      delete table.dataset.api;
      csv.hidden = true;
      table.closest('.card').querySelector('.columns').hidden = true;
      table.tBodies[0].replaceChildren();
      showError(error, null);
      note.textContent = `${state.site} has no funnel: funnels are set per site in the server's configuration.`;
      return;
    }
    csv.hidden = false;
    const url = statsUrl('funnel', { funnel: funnelChoice });
    table.dataset.api = url;
    table.caption.textContent = `Funnel ${funnelChoice}, ${rangeText(...range())}`;
    csvLink(csv, statsUrl('funnel', { funnel: funnelChoice }, 'csv'), `funnel-${funnelChoice}`);
    csv.setAttribute('aria-label', `Download funnel ${funnelChoice} as CSV`);
    const req = busy(table);
    try {
      const data = await getJson(url);
      if (g !== generation) return;
      showError(error, null);
      const rows = (data.results || []).map((r) => ({ ...r, label: `${r.step}. ${r.name}` }));
      fillTable(table, 'funnel', rows, FUNNEL_COLS, { key: 'label', filter: false });
      const done = data.results && data.results.length ? data.results[data.results.length - 1].visits : 0;
      const parts = [`${format('visits', done)} of ${format('visits', data.visits)} visits completed it`
        + (data.conversion_rate === null ? '.' : ` (${format('conversion_rate', data.conversion_rate)}).`),
      'Steps count within one visit, in order; from the raw events.'];
      if (data.uncovered_visits)
        parts.push(`${format('visits', data.uncovered_visits)} earlier visits are not counted: the raw events `
          + `cover visits from ${data.covered_from} on.`);
      note.textContent = parts.join(' ');
    } catch (e) {
      if (g !== generation) return;
      table.tBodies[0].replaceChildren();
      note.textContent = '';
      showError(error, e);
    } finally {
      idle(table, req);
    }
  }

  // Consent: opt-in rates of the banner (GET /api/consent/stats).  Its CSV
  // is made here from the same numbers: that endpoint answers JSON only.
  const CONSENT = { id: 'consent', title: 'Consent' };
  function buildConsent() {
    const table = el('table', { id: 'table-consent' },
      el('caption', { class: 'visually-hidden', text: 'Consent opt-in rates' }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Category' }),
        el('th', { scope: 'col', class: 'num', text: 'Opt-in rate' }))),
      el('tbody'));
    const csv = el('a', { class: 'csv', text: 'CSV', 'aria-label': 'Download consent choices per day as CSV' });
    const facts = el('p', { class: 'muted small', id: 'consent-facts' });
    const error = el('p', { class: 'error', role: 'alert', hidden: true });
    const section = el('section', { class: 'card', id: 'card-consent', 'aria-labelledby': 'consent-heading' },
      el('div', { class: 'card-head' }, el('h2', { id: 'consent-heading', text: 'Consent' }), csv),
      facts, el('div', { class: 'table-wrap' }, table), error);
    CONSENT.el = { table, csv, facts, error };
    return section;
  }
  let consentCsvUrl = null;
  async function loadConsent(g) {
    const { table, csv, facts, error } = CONSENT.el;
    const [from, to] = range();
    const url = `/api/consent/stats?${new URLSearchParams({ site: state.site, from, to, tz: tz() })}`;
    table.dataset.api = url;
    const tbody = table.tBodies[0];
    try {
      const data = await getJson(url);
      if (g !== generation) return;
      showError(error, null);
      const t = data.totals || {};
      facts.textContent = `Banner shown ${integer.format(t.shown || 0)} times; ` +
        `${integer.format(t.choices || 0)} choices: ${integer.format(t.accepted_all || 0)} accepted all, ` +
        `${integer.format(t.rejected_all || 0)} rejected all, ${integer.format(t.custom || 0)} chose, ` +
        `${integer.format(t.withdrawn || 0)} withdrew; ${integer.format(t.gpc || 0)} Global Privacy Control signals.` +
        ' Not filtered.';
      tbody.replaceChildren();
      const rates = t.opt_in_rate || {};
      const max = 100;
      for (const [cat, rate] of Object.entries(rates)) {
        const pct = rate === null ? null : rate * 100;
        const th = el('th', { scope: 'row', class: 'bar' }, el('span', { class: 'name', text: cat.charAt(0).toUpperCase() + cat.slice(1) }));
        th.style.setProperty('--share', `${pct === null ? 0 : Math.round((pct / max) * 100)}%`);
        tbody.append(el('tr', { 'data-value': cat }, th,
          el('td', { class: 'num', 'data-value': rate === null ? '' : String(rate), text: format('conversion_rate', pct) })));
      }
      if (!Object.keys(rates).length)
        tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: 2, class: 'muted', text: 'No categories offered.' })));
      // The CSV: a row per day.
      const keys = ['shown', 'choices', 'accepted_all', 'rejected_all', 'custom', 'withdrawn', 'gpc'];
      const cats = Object.keys(rates);
      const lines = [['date', ...keys, ...cats.map((c) => `opt_in_rate_${c}`)].join(',')];
      for (const d of data.days || [])
        // In percent, as every other export gives its rates.
        lines.push([d.date, ...keys.map((k) => d[k] || 0),
          ...cats.map((c) => (d.opt_in_rate && d.opt_in_rate[c] !== null && d.opt_in_rate[c] !== undefined
            ? Math.round(d.opt_in_rate[c] * 1000) / 10 : ''))].join(','));
      if (consentCsvUrl) URL.revokeObjectURL(consentCsvUrl);
      consentCsvUrl = URL.createObjectURL(new Blob([`${lines.join('\n')}\n`], { type: 'text/csv' }));
      csv.href = consentCsvUrl;
      csv.download = `${state.site}-consent-${from}-${to}.csv`;
    } catch (e) {
      if (g !== generation) return;
      tbody.replaceChildren();
      facts.textContent = '';
      csv.removeAttribute('href');
      showError(error, e.code === 'unknown_site'
        ? new Error('This site has no consent banner configured.') : e);
    }
  }

  // ---- real time ------------------------------------------------------------------------

  // A site no visit has reached yet: how to add the tracker, with this
  // server's address, in place of a dashboard of zeros (as Plausible
  // waits for a first page view).
  function showFirstVisit() {
    const waiting = Boolean(state.site) && !siteSince[state.site];
    $('first-visit').hidden = !waiting;
    if (!waiting) return;
    const site = state.site.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    $('first-visit-site').textContent = state.site;
    $('first-visit-snippet').textContent =
      `<script defer src="${location.origin}/seula.js" data-site="${site}"></script>`;
    $('first-visit-banner').textContent =
      `<script src="${location.origin}/consent.js" data-site="${site}"></script>`;
  }

  async function loadRealtime(background = false) {
    if (!state.site) return;
    const url = `/api/stats/${encodeURIComponent(state.site)}/realtime`;
    const table = $('table-realtime');
    table.dataset.api = url;
    const csv = $('realtime-csv');
    csv.href = `${url}?format=csv`;
    csv.download = `${state.site}-realtime.csv`;
    try {
      const data = await getJson(url, background);
      // A poll answered after the session ended has no screen to fill.
      if (redirecting) return;
      // The first visit has come: the reports have something to show.
      if (!$('first-visit').hidden && data.visitors > 0) {
        siteSince[state.site] = today();
        showFirstVisit();
        refresh();
      }
      $('realtime-count').textContent = integer.format(data.visitors || 0);
      $('realtime-count').dataset.value = String(data.visitors || 0);
      $('realtime-label').textContent = data.visitors === 1 ? 'current visitor' : 'current visitors';
      fillTable(table, 'page', data.pages || [], VISITORS);
    } catch (e) {
      if (redirecting) return;
      $('realtime-count').textContent = '–';
      table.tBodies[0].replaceChildren();
    }
  }

  // ---- controls -------------------------------------------------------------------------

  // A custom range ends today at the latest, in the site's zone: the days
  // to come have no visits, and every figure would read as a fall to 0.
  // True when it changed.
  function clampRange() {
    if (state.period !== 'custom') return false;
    const t = today();
    const was = `${state.from} ${state.to}`;
    if (state.to > t) state.to = t;
    if (state.from > state.to) state.from = state.to;
    return `${state.from} ${state.to}` !== was;
  }

  function syncControls() {
    $('site').value = state.site || '';
    $('period').value = state.period;
    $('custom').hidden = state.period !== 'custom';
    // The date pickers offer no day past today, in the site's zone.
    $('from').max = $('to').max = today();
    const [from, to] = range();
    $('from').value = from;
    $('to').value = to;
    $('compare').value = state.compare;
    // Hours past HOURLY_DAYS: the chart goes by the range, and says so.
    const days = (parseDay(to) - parseDay(from)) / 86400000 + 1;
    $('interval').querySelector('option[value="hour"]').disabled = days > HOURLY_DAYS;
    $('interval').value = state.interval === 'hour' && days > HOURLY_DAYS ? '' : state.interval;
    $('range-text').textContent = rangeText(from, to);
    $('tz').textContent = tz();
    document.title = `${state.site || 'Dashboard'} · ${rangeText(from, to)} · Seula`;
  }

  // The state changed: the URL, then every report.
  function change(push) {
    offeredMetric();
    writeUrl(push);
    refresh();
  }

  let retry = null;
  async function refresh() {
    const g = ++generation;
    clearTimeout(retry);
    unreachable = false;
    document.body.dataset.state = 'loading';
    // A shared link's range may end past today (or past the day it is in
    // the site's zone): the address says what is shown.
    if (clampRange()) writeUrl(false);
    syncControls();
    renderChips();
    // A note's default day: the last of the range.
    $('note-date').value = range()[1];
    await Promise.allSettled([
      loadSummary(g), loadChart(g), loadNotes(g), ...CARDS.map((c) => loadCard(c, g)),
      loadGoals(g), loadFunnels(g), loadConsent(g), loadRealtime(),
    ]);
    if (g !== generation || redirecting) return;
    document.body.dataset.state = 'ready';
    // One notice for all the cards, and another try when the server may
    // be back, rather than only when the user changes something.
    if (unreachable) {
      notice('The server cannot be reached: what is shown may be out of date. Trying again every 15 seconds.');
      retry = setTimeout(() => { if (!redirecting) refresh(); }, 15000);
    } else if ($('notice').textContent.startsWith('The server cannot be reached')) {
      notice('');
    }
  }

  // The sticky bar's height, which the page's scroll padding keeps clear
  // (dashboard.css): a row taking the focus is not hidden under the bar,
  // however many lines its controls wrap to.
  function trackTopbar() {
    const bar = document.querySelector('.topbar');
    const set = () => document.documentElement.style.setProperty('--topbar-height', `${bar.offsetHeight}px`);
    set();
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(set).observe(bar);
  }

  function wire() {
    $('site').addEventListener('change', () => {
      state.site = $('site').value;
      state.filters = [];
      // The form's dimensions (properties, goals) and values were the
      // other site's.
      $('filter-form').hidden = true;
      $('filter-add').setAttribute('aria-expanded', 'false');
      showFirstVisit();
      loadView();
      change(true);
    });
    $('interval').addEventListener('change', () => {
      state.interval = $('interval').value;
      writeUrl(true);
      loadChart(generation);
    });
    $('period').addEventListener('change', () => {
      const p = $('period').value;
      if (p === 'custom') {
        const [from, to] = range();
        state.from = from;
        state.to = to;
        state.period = 'custom';
        syncControls();
        $('from').focus();
        writeUrl(true);
        return;
      }
      state.period = p;
      state.from = state.to = null;
      change(true);
    });
    $('custom').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = today();
      let from = validDay($('from').value);
      let to = validDay($('to').value);
      // Days past today are cut: the range ends today.
      if (to && to > t) to = t;
      if (from && from > t) from = t;
      if (!from || !to || from > to) {
        notice('Give a start date on or before the end date.');
        return;
      }
      // The reports' limit, said once here rather than by every card.
      if ((Date.parse(to) - Date.parse(from)) / 86400000 + 1 > MAX_RANGE_DAYS) {
        notice(`Choose at most ${integer.format(MAX_RANGE_DAYS)} days (about ten years).`);
        return;
      }
      notice('');
      Object.assign(state, { period: 'custom', from, to });
      change(true);
    });
    $('note-form').addEventListener('submit', addNote);
    $('filter-add').addEventListener('click', () => ($('filter-form').hidden ? openFilterForm() : closeFilterForm()));
    $('filter-cancel').addEventListener('click', closeFilterForm);
    $('filter-form').addEventListener('submit', applyFilterForm);
    $('filter-form').addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        ev.preventDefault();
        closeFilterForm();
      }
    });
    $('filter-dim').addEventListener('change', () => {
      syncFilterOps();
      suggestValues();
    });
    $('compare').addEventListener('change', () => {
      state.compare = COMPARES.includes($('compare').value) ? $('compare').value : '';
      change(true);
    });
    window.addEventListener('popstate', () => {
      readUrl();
      if (!sites.includes(state.site)) state.site = sites[0];
      dropUnknownNames();
      writeUrl(false);
      notice(droppedText());
      showFirstVisit();
      loadView();
      refresh();
    });
  }

  async function start() {
    readUrl();
    wire();
    trackTopbar();
    $('tz').textContent = tz();
    // Nothing to show: the controls would only ask for reports of no site.
    const stop = (text) => {
      document.body.dataset.state = 'error';
      for (const id of ['site', 'period', 'compare', 'from', 'to', 'apply']) $(id).disabled = true;
      // No figures at all rather than a "0 current visitors" of no site.
      document.querySelector('.context').hidden = true;
      $('card-realtime').hidden = true;
      $('notes').hidden = true;
      notice(text);
    };
    // Signed in?  Asked first, so a first visit goes to the sign-in page
    // without a 401 from every report.
    let me = null;
    try { me = await getJson('/api/session'); } catch (e) { me = null; }
    if (me && !me.signed_in) {
      toLogin(me.expired);
      return;
    }
    if (me) {
      csrf = me.csrf || null;
      listenToStaffPages(me.idle_timeout_s);
      $('who').textContent = `${me.name} (${me.role})`;
      $('who').setAttribute('aria-label', `Signed in as ${me.name}, ${me.role}: account and sign-out`);
      // The register and data subject requests (/admin/), for the roles
      // that may use them.
      $('admin-link').hidden = !['admin', 'customer_service'].includes(me.role);
      // Personal API keys (/admin/keys/) read the statistics: for the
      // roles that see them.
      $('keys-link').hidden = !['admin', 'analyst'].includes(me.role);
    }
    let list;
    try {
      list = await getJson('/api/stats/sites');
    } catch (e) {
      if (redirecting) return;
      stop(e.status === 403
        ? 'Your role cannot see the statistics: they are for admins and analysts.'
        : `The statistics cannot be read: ${e.message}`);
      return;
    }
    sites = list.sites || [];
    segments = list.segments || {};
    siteZones = list.timezones || {};
    siteSince = list.since || {};
    siteFirstHour = list.first_hour || {};
    siteProps = list.props || {};
    siteGoals = list.goals || null;
    siteGroups = list.content_groups || {};
    siteFunnels = list.funnels || {};
    // The list holds every configured site, before its first visit too.
    const unknown = state.site && !sites.includes(state.site) ? state.site : null;
    $('site').replaceChildren(...sites.map((s) => el('option', { value: s, text: s })));
    if (!sites.length) {
      stop('The server\'s configuration has no site: add a [site.ID] section with its domains, '
        + 'and put the tracker (seula.js) on the site\'s pages.');
      return;
    }
    if (!sites.includes(state.site)) state.site = sites[0];
    showFirstVisit();
    dropUnknownNames();
    loadView();
    writeUrl(false);
    notice([unknown ? `There is no site "${unknown}" in the configuration: showing ${state.site}.` : '',
      droppedText()].filter(Boolean).join(' '));

    const cards = $('cards');
    const realtime = $('card-realtime');
    for (const card of CARDS) cards.insertBefore(buildCard(card), realtime);
    cards.insertBefore(buildGoals(), realtime);
    cards.insertBefore(buildFunnels(), realtime);
    cards.insertBefore(buildConsent(), realtime);

    shown = true;
    await refresh();
    setInterval(() => {
      if (!document.hidden && !redirecting) loadRealtime(true);
    }, 30000);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
