// The audit log for admins: GET /api/audit with the filters it takes
// (from, to, staff, action, subject, exclude_action), a page at a time
// (limit, and before= the oldest id shown, from the answer's next_before).
// The filters and the page are kept in the address, so a reload or a
// bookmark shows the same entries.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const Staff = window.SeulaStaff;
  const TEXT = ['staff', 'action', 'subject'];
  // The `before` of each page shown since the newest, for "Newer".
  let pages = [];
  let next = null;

  // "2026-11-25" (a date input's value) as the browser's local midnight,
  // in milliseconds: the table shows local times, so the filter is local
  // too (the API would read a bare date as a UTC day).
  function localDay(value, plusDays) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (!m) return null;
    return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).getTime();
  }

  function formState() {
    const q = new URLSearchParams();
    for (const k of ['from', 'to']) if ($('f-' + k).value) q.set(k, $('f-' + k).value);
    for (const k of TEXT) {
      const v = $('f-' + k).value.trim();
      if (v) q.set(k, v);
    }
    if ($('f-limit').value !== '100') q.set('limit', $('f-limit').value);
    if ($('f-statistics').checked) q.set('statistics', '1');
    return q;
  }

  function fillForm(q) {
    for (const k of ['from', 'to', ...TEXT]) $('f-' + k).value = q.get(k) || '';
    const limit = q.get('limit') || '100';
    $('f-limit').value = [...$('f-limit').options].some((o) => o.value === limit) ? limit : '100';
    $('f-statistics').checked = q.get('statistics') === '1';
  }

  // The page's query (its address) as the API's.
  function apiQuery(q) {
    const a = new URLSearchParams();
    const from = q.get('from') ? localDay(q.get('from'), 0) : null;
    const to = q.get('to') ? localDay(q.get('to'), 1) : null;
    if (from !== null) a.set('from', String(from));
    if (to !== null) a.set('to', String(to));
    for (const k of TEXT) if (q.get(k)) a.set(k, q.get(k));
    // The dashboard's reports would fill the page: left out unless asked
    // for (or unless they are the action asked for).
    if (q.get('statistics') !== '1' && q.get('action') !== 'statistics')
      a.set('exclude_action', 'statistics');
    a.set('limit', q.get('limit') || '100');
    if (q.get('before')) a.set('before', q.get('before'));
    return a;
  }

  const { cell, timeCell } = window.SeulaStaff;

  // An export names everyone in it ("3,17-42,..."): a long list is cut
  // at an element, with how many it has (a search by one id finds it).
  // The API sends the first 4 KiB of a longer one, and its count.
  const SUBJECT_SHOWN = 200;
  function shortSubject(subject, count) {
    if (typeof subject !== 'string' || !subject.includes(',')) return subject;
    if (subject.length <= SUBJECT_SHOWN && !count) return subject;
    const cut = subject.lastIndexOf(',', SUBJECT_SHOWN);
    if (cut <= 0) return subject; // one long element: shown whole
    let n = 1;
    for (let i = subject.indexOf(','); i >= 0; i = subject.indexOf(',', i + 1)) n++;
    return `${subject.slice(0, cut)}, … (${(count || n).toLocaleString('en-US')} ids and ranges in all)`;
  }

  function render(entries) {
    const body = $('audit-rows');
    body.replaceChildren();
    for (const e of entries) {
      const tr = document.createElement('tr');
      tr.dataset.id = String(e.id);
      cell(tr, e.id);
      timeCell(tr, e.time, { seconds: true });
      cell(tr, e.staff, 'staff');
      cell(tr, e.action, 'action');
      cell(tr, shortSubject(e.subject, e.subject_count), 'subject');
      cell(tr, e.outcome, e.outcome === 'ok' ? 'outcome' : 'outcome refused');
      cell(tr, e.ip, 'nowrap client');
      cell(tr, e.route, 'route');
      cell(tr, e.detail, 'detail');
      body.appendChild(tr);
    }
  }

  function showError(text) {
    $('audit-error').textContent = text;
    $('audit-error').hidden = !text;
  }

  // Each load has a number: only the answer to the last one is shown (a
  // slow page of older entries must not land under the newest page's
  // address, with the pager set for it).
  let loads = 0;

  async function load() {
    const seq = ++loads;
    const q = new URLSearchParams(location.search);
    showError('');
    $('audit-status').textContent = 'Loading…';
    $('audit-table').setAttribute('aria-busy', 'true');
    let r;
    try {
      r = await Staff.request('GET', '/api/audit?' + apiQuery(q));
    } catch (e) {
      if (seq !== loads) return;
      $('audit-table').removeAttribute('aria-busy');
      $('audit-status').textContent = '';
      showError('The server cannot be reached.');
      return;
    }
    if (seq !== loads) return;
    $('audit-table').removeAttribute('aria-busy');
    if (Staff.sessionEnded(r)) return;
    if (!r.ok) {
      $('audit-status').textContent = '';
      showError('The audit log could not be read: ' + await Staff.errorText(r));
      render([]);
      next = null;
      updatePager();
      return;
    }
    const doc = await r.json();
    if (seq !== loads) return;
    render(doc.entries);
    next = doc.next_before;
    const n = doc.entries.length;
    $('audit-status').textContent = n === 0
      ? (q.get('before') ? 'No older entries match these filters.' : 'No entries match these filters.')
      : `${n} ${n === 1 ? 'entry' : 'entries'}, #${doc.entries[0].id} to #${doc.entries[n - 1].id}` +
        (next === null ? ': the oldest that match.' : '.');
    updatePager();
  }

  function updatePager() {
    const before = new URLSearchParams(location.search).get('before');
    $('older').disabled = next === null;
    $('newer').disabled = !before;
    $('newest').disabled = !before;
  }

  function go(q, push) {
    const url = location.pathname + (q.toString() ? '?' + q : '');
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    load();
  }

  function onSubmit(ev) {
    ev.preventDefault();
    const q = formState();
    if (q.get('from') && q.get('to') && q.get('from') > q.get('to')) {
      showError('"From" is after "To".');
      $('f-from').focus();
      return;
    }
    pages = [];
    go(q, true);
  }

  function pageTo(before) {
    const q = new URLSearchParams(location.search);
    if (before) q.set('before', String(before));
    else q.delete('before');
    go(q, true);
    // The new page starts at the table's top, not below it.
    $('audit-caption').scrollIntoView({ block: 'nearest' });
  }

  function start(me) {
    if (!me) return;
    if (me.role !== 'admin') {
      $('refused-text').textContent = 'The audit log is for administrators. You are ' +
        'signed in as ' + me.name + ', whose role is ' + Staff.roleName(me.role) +
        '. Ask an administrator if you need to know who did what.';
      $('refused').hidden = false;
      return;
    }
    $('audit-page').hidden = false;
    fillForm(new URLSearchParams(location.search));
    $('filters').addEventListener('submit', onSubmit);
    $('clear').addEventListener('click', () => {
      fillForm(new URLSearchParams());
      pages = [];
      go(new URLSearchParams(), true);
    });
    $('f-statistics').addEventListener('change', () => $('filters').requestSubmit());
    $('older').addEventListener('click', () => {
      if (next === null) return;
      pages.push(new URLSearchParams(location.search).get('before') || '');
      pageTo(next);
    });
    $('newer').addEventListener('click', () => pageTo(pages.pop() || ''));
    $('newest').addEventListener('click', () => { pages = []; pageTo(''); });
    window.addEventListener('popstate', () => {
      fillForm(new URLSearchParams(location.search));
      load();
    });
    load();
  }

  Staff.start().then(start);
})();
