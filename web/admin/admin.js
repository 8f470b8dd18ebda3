// The customer-service pages at /admin/: the customer register (search,
// a customer's fields, flags, legal holds and orders) and the data subject
// requests (filing each type, a visitor's access or erasure by visitor id,
// deadlines, extensions, the access export and a refusal's statement), all
// through the customers plugin's JSON API
// (/api/customers, /api/dsr) as the signed-in staff member.
//
// Addresses hold ids only (/admin/customers/12, /admin/requests/7): what is
// searched for stays in the page, out of the address bar and the history.
// Nothing is written to the console.  Every request carries the session's
// X-CSRF-Token, files too: they are fetched and saved through a Blob.  No
// inline script: the page's Content-Security-Policy allows only 'self'.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const ROLES = ['admin', 'customer_service'];

  const FIELDS = [
    // name, label, input type, hint
    ['first_name', 'First name', 'text'],
    ['last_name', 'Last name', 'text'],
    ['organisation', 'Organisation', 'text'],
    ['email', 'E-mail', 'email'],
    ['phone', 'Phone', 'tel'],
    ['website', 'Website', 'url'],
    ['street', 'Street address', 'text'],
    ['postal_code', 'Postal code', 'text'],
    ['city', 'City', 'text'],
    ['country', 'Country', 'text', 'Two letters: FI, SE, DE…'],
    ['segment', 'Segment', 'text'],
    ['source', 'Source', 'text', 'Where the data came from'],
    ['relationship_start', 'Customer since', 'date'],
    ['relationship_end', 'Relationship ended', 'date', 'Retention counts from this day, or from a later order\'s'],
    ['statutory_retention_until', 'Keep by law until', 'date'],
    ['ip', 'IP address', 'text', 'Stored masked'],
  ];
  const FIELD_LABEL = Object.fromEntries(FIELDS.map((f) => [f[0], f[1]]));

  const FLAGS = [
    ['restricted', 'Processing restricted',
      'Left out of mailing labels, visitor linkage and, but for open invoices, the finance export.'],
    ['objects_direct_marketing', 'Objects to direct marketing',
      'No direct marketing, no mailing labels, no segments.'],
    ['objects_publication', 'Objects to publication',
      'Never on a published list or mailing labels.'],
    ['objects_profiling', 'Objects to profiling', 'No visitor linkage, no segments.'],
    ['active_contact', 'Active organisation contact',
      'Acts as their organisation\'s contact: a legal hold against erasure.'],
  ];
  const FLAG_LABEL = Object.fromEntries(FLAGS.map((f) => [f[0], f[1]]));

  const HOLDS = {
    open_invoice: ['Open invoice', 'an order\'s invoice is unpaid: the data are needed to bill it'],
    debt_collection: ['Debt collection', 'an invoice is in debt collection'],
    active_contact: ['Active organisation contact', 'the person acts as their organisation\'s contact'],
    statutory_retention: ['Statutory retention', 'the law requires the record to be kept until a date'],
  };
  const holdName = (h) => (HOLDS[h] ? HOLDS[h][0] : h);

  const TYPES = {
    access: ['Access', 'A copy of everything held about the person (a zip to give them).'],
    rectification: ['Rectification', 'Correct their data, or refuse in writing with the reasons.'],
    erasure: ['Erasure', 'Remove the person from every table. A legal hold refuses it and restricts the record instead.'],
    anonymisation: ['Anonymisation', 'Clear names and contact details and cut the links; orders stay, as accounting law keeps them.'],
    restriction: ['Restriction', 'Restrict processing, or lift a restriction.'],
    objection: ['Objection', 'Record an objection to direct marketing, publication or profiling.'],
  };
  const typeName = (t) => (TYPES[t] ? TYPES[t][0] : t);

  const STATUSES = {
    open: 'Open', completed: 'Completed', refused: 'Refused', restricted: 'Restricted instead',
  };
  // A refused erasure whose hold has ended is to be done now.
  const statusText = (r) => (r.hold_ended
    ? `Hold ended: ${r.type === 'anonymisation' ? 'anonymise' : 'erase'} now`
    : STATUSES[r.status] || r.status);
  const VERIFICATIONS = [
    'Signed written request, signature checked against the register',
    'Identity document checked in person',
    'Request from the e-mail address in the register, confirmed by reply',
    'Strong electronic identification',
    'Other',
  ];
  const OBJECTIONS = [['direct_marketing', 'Direct marketing'], ['publication', 'Publication'],
    ['profiling', 'Profiling']];
  const INVOICE = { open: 'Open', paid: 'Paid', collection: 'In collection' };

  let me = null; // the session: { name, role, csrf }
  let redirecting = false;
  let firstView = true;
  // The register's last search, kept while the page is open so that
  // "back" finds it again; never in the address or the history.
  const search = { q: '', limit: 50, offset: 0, data: null, searched: false };

  // ---- small helpers ---------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c);
    return e;
  }

  let uid = 0;
  const nextId = (p) => `${p}-${++uid}`;

  function displayName(c) {
    const n = [c.first_name, c.last_name].filter(Boolean).join(' ');
    if (n && c.organisation) return `${n} (${c.organisation})`;
    return n || c.organisation || `Customer ${c.id}`;
  }
  // A request's person as the API names them (the register now: none
  // once erased or anonymised).
  function requestName(r) {
    // A visitor's request (no register record): their visitor id, until
    // it is erased.
    if (r.customer_id == null) return `Visitor ${r.visitor_id || '(erased)'}`;
    const n = r.customer_name;
    const o = r.customer_organisation;
    if (n && o) return `${n} (${o})`;
    if (n || o) return n || o;
    return `Customer ${r.customer_id} (no name held)`;
  }

  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  function money(cents, currency) {
    const v = Number(cents) / 100;
    try {
      // The currency's own decimals: yen have none.
      return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(v);
    } catch (e) {
      return `${v.toFixed(2)} ${currency}`;
    }
  }

  // "12.50", "12,50", "-3", "1 200.00" → cents, or null.
  function toCents(text) {
    const s = String(text).trim().replace(/[\s\u00a0]/g, '').replace(',', '.');
    const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(s);
    if (!m) return null;
    const cents = Number(m[2]) * 100 + Number((m[3] || '0').padEnd(2, '0'));
    return m[1] ? -cents : cents;
  }

  const day = (iso) => (iso ? iso.slice(0, 10) : '');
  const when = (iso) => (iso ? iso.replace('T', ' ').replace(/:\d\dZ$/, ' UTC') : '');
  function today() {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  }

  function daysLeftText(r) {
    if (r.status !== 'open' || r.days_left === null || r.days_left === undefined) return '–';
    const n = r.days_left;
    if (n < 0) return `Overdue by ${plural(-n, 'day', 'days')}`;
    if (n === 0) return 'Due today';
    return plural(n, 'day', 'days');
  }

  // ---- the API ------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, data, fallback) {
      super((data && data.message) || fallback || `The server answered ${status}.`);
      this.status = status;
      this.data = data || {};
    }
  }

  function toLogin(ended) {
    if (redirecting) return;
    redirecting = true;
    location.replace(`/login/?next=${encodeURIComponent(location.pathname + location.search)}${ended ? '&ended=1' : ''}`);
  }

  // The session ended elsewhere (signed out in another tab) or by being
  // idle: what was on screen goes at once, not at the next request.
  function sessionGone() {
    $('view').replaceChildren();
    $('account').hidden = true;
    $('nav').hidden = true;
    toLogin(true);
  }
  // Staff pages tell each other of a sign-out (the login page, the admin
  // pages): same origin only.
  const staffChannel = 'BroadcastChannel' in window ? new BroadcastChannel('seula-staff') : null;
  // When this page, or another staff page of this browser, last asked
  // the server anything: each request restarts the session's idle time
  // there, whichever tab made it.
  let lastRequest = Date.now();

  // A request as the signed-in staff member; the answer's JSON, or the
  // Response itself with { raw: true }.  Throws ApiError.
  async function api(method, path, body, opts = {}) {
    const headers = { Accept: opts.raw ? '*/*' : 'application/json' };
    if (me && me.csrf) headers['X-CSRF-Token'] = me.csrf;
    if (body !== undefined) headers['Content-Type'] = opts.type || 'application/json';
    let r;
    lastRequest = Date.now();
    if (staffChannel) staffChannel.postMessage('active');
    try {
      r = await fetch(path, {
        method, headers, credentials: 'same-origin', cache: 'no-store',
        body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      });
    } catch (e) {
      throw new ApiError(0, null, 'The server cannot be reached. Check the connection and try again.');
    }
    if (r.status === 401) {
      toLogin(true);
      throw new ApiError(401, null, 'Your session has ended: sign in again.');
    }
    if (r.ok && opts.raw) return r;
    let data = null;
    if (r.status !== 204) {
      const text = await r.text();
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!r.ok) {
      if (r.status === 403 && data && data.error === 'csrf_failed') {
        throw new ApiError(403, data, 'The page\'s session token is out of date: reload the page and try again.');
      }
      throw new ApiError(r.status, data);
    }
    return data;
  }

  // A file (the access export, a statement) fetched with the session's
  // token and saved through a Blob URL and <a download>.
  async function download(path, fallbackName) {
    const r = await api('GET', path, undefined, { raw: true });
    const blob = await r.blob();
    const m = /filename="([^"\\/]+)"/.exec(r.headers.get('Content-Disposition') || '');
    saveBlob(blob, m ? m[1] : fallbackName);
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // What an error says to a person: the API's message with the field's
  // label in front, in a sentence.
  function errorText(e) {
    if (!(e instanceof ApiError)) return 'Something went wrong in this page. Reload it and try again.';
    let msg = e.message;
    const field = e.data && e.data.field;
    if (field && msg.startsWith(`${field}: `)) {
      const label = FIELD_LABEL[field] || FLAG_LABEL[field] || field.replace(/_/g, ' ');
      msg = `${label}: ${msg.slice(field.length + 2)}`;
    }
    msg = msg.charAt(0).toUpperCase() + msg.slice(1);
    if (!/[.!?]$/.test(msg)) msg += '.';
    if (e.status >= 500) msg += ` (The server answered ${e.status}; try again in a moment.)`;
    return msg;
  }

  // ---- forms: errors shown next to them ------------------------------------

  function formError(form) {
    let p = form.querySelector(':scope > .form-error');
    if (!p) {
      p = el('p', { class: 'error form-error', role: 'alert', id: nextId('err') });
      const actions = form.querySelector(':scope > .actions');
      if (actions) form.insertBefore(p, actions);
      else form.append(p);
    }
    return p;
  }

  function clearErrors(form) {
    formError(form).textContent = '';
    for (const f of form.querySelectorAll('[aria-invalid="true"]')) {
      f.removeAttribute('aria-invalid');
      const d = (f.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && !x.startsWith('err-'));
      if (d.length) f.setAttribute('aria-describedby', d.join(' '));
      else f.removeAttribute('aria-describedby');
    }
  }

  // The error beside the form; the field it names marked and focused.
  function showFormError(form, e, fieldMap) {
    const p = formError(form);
    p.textContent = typeof e === 'string' ? e : errorText(e);
    const field = e && e.data && e.data.field;
    const input = field && (fieldMap ? fieldMap(field) : form.querySelector(`[name="${CSS.escape(field)}"]`));
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      const d = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
      d.push(p.id);
      input.setAttribute('aria-describedby', d.join(' '));
      input.focus();
    } else {
      p.tabIndex = -1;
      p.focus();
    }
    // A person already in the register: their record is a click away.
    const existing = e && e.data && e.data.error === 'duplicate_email' && e.data.customer_id;
    if (Number.isInteger(existing)) p.append(' ', link(`/admin/customers/${existing}`, `Open customer ${existing}`));
  }

  function markInvalid(form, input, text) {
    showFormError(form, text);
    input.setAttribute('aria-invalid', 'true');
    const d = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    d.push(formError(form).id);
    input.setAttribute('aria-describedby', d.join(' '));
    input.focus();
  }

  // Run `work` with the form's buttons disabled; its errors beside it.
  // The form's request: errors shown beside it, undefined for a failure.
  // Its buttons stay disabled by onSubmit() until the handler is done.
  async function busy(form, work, fieldMap) {
    clearErrors(form);
    try {
      return await work();
    } catch (e) {
      if (!redirecting) showFormError(form, e, fieldMap);
      return undefined;
    }
  }

  // A form's submit handler, one run at a time: from the click until the
  // handler is done (its request and the view it redraws) the buttons are
  // disabled and another submit (a double click, Enter) does nothing, so
  // nothing is imported, added, filed or extended twice.
  function onSubmit(form, handler) {
    let running = false;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (running) return;
      running = true;
      const buttons = [...form.querySelectorAll('button')];
      for (const b of buttons) b.disabled = true;
      form.setAttribute('aria-busy', 'true');
      try {
        await handler(ev);
      } finally {
        running = false;
        form.removeAttribute('aria-busy');
        for (const b of buttons) if (b.isConnected) b.disabled = false;
      }
    });
  }

  function say(node, text) {
    node.textContent = '';
    // A change of text the live region announces, even when it is the same.
    requestAnimationFrame(() => { node.textContent = text; });
  }

  function field(name, label, input, hint) {
    const id = input.id || nextId(`f-${name}`);
    input.id = id;
    const l = el('label', { for: id }, label);
    let h = null;
    if (hint) {
      h = el('span', { class: 'hint', id: `${id}-hint` }, hint);
      input.setAttribute('aria-describedby', h.id);
    }
    return el('div', { class: 'field' }, l, h, input);
  }

  // ---- the frame: who is signed in, navigation ----------------------------------

  // title: the window's, which the browser keeps in its history: never a
  // person's name (the callers give ids).
  function setView(title, ...nodes) {
    document.title = `${title} · Customer service · Seula`;
    const view = $('view');
    view.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
    const section = /^\/admin\/requests/.test(location.pathname) ? 'requests'
      : /^\/admin\/?$|^\/admin\/customers/.test(location.pathname) ? 'register' : '';
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.body.dataset.state = 'ready';
    // After a move within the pages, the new heading takes the focus (a
    // screen reader says where it is); not on the first load.
    const h1 = view.querySelector('h1');
    if (h1) h1.tabIndex = -1;
    if (!firstView && h1) h1.focus();
    firstView = false;
  }

  // Each view's load has a number; an answer that comes after another
  // view has begun loading is dropped (stale(n)), or a slow customer's
  // record would take over the page the address no longer names.
  let viewSeq = 0;
  function loading() {
    document.body.dataset.state = 'loading';
    return ++viewSeq;
  }
  const stale = (n) => n !== viewSeq || redirecting;

  function viewError(title, e) {
    if (redirecting) return;
    setView(title, el('h1', { text: title }),
      el('div', { class: 'notice bad', role: 'alert' }, el('p', { text: errorText(e) })),
      el('p', {}, link('/admin/', 'Back to the register')));
  }

  // An in-page link: a real address (a new tab, a bookmark), followed here
  // without reloading.
  function link(href, text, attrs = {}) {
    return el('a', { href, ...attrs, onclick: (ev) => {
      if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      ev.preventDefault();
      go(href);
    } }, text);
  }

  function go(path, replace = false) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    route();
  }

  function route() {
    if (redirecting) return;
    viewSeq++; // whatever view was loading is stale now
    const p = location.pathname;
    let m;
    if ((m = /^\/admin\/customers\/(\d+)\/?$/.exec(p))) return showCustomer(Number(m[1]));
    if (/^\/admin\/customers\/new\/?$/.test(p)) return showNewCustomer();
    if ((m = /^\/admin\/requests\/(\d+)\/?$/.exec(p))) return showRequest(Number(m[1]));
    if (/^\/admin\/requests\/?$/.test(p)) return showRequests();
    if (p !== '/admin/') history.replaceState(null, '', '/admin/');
    return showRegister();
  }

  // ---- the register -----------------------------------------------------------------

  function showRegister() {
    const q = el('input', { type: 'search', name: 'q', id: 'search-q', maxlength: 200, autocomplete: 'off', spellcheck: 'false' });
    q.value = search.q;
    const size = el('select', { name: 'limit', id: 'search-limit' },
      [20, 50, 100, 200].map((n) => el('option', { value: n, text: `${n} a page`, selected: n === search.limit })));
    const form = el('form', { class: 'search', role: 'search', 'aria-label': 'The register', novalidate: true },
      el('div', { class: 'grow' }, field('q', 'Search the register', q, 'Name, organisation or e-mail; leave empty to list everyone')),
      el('div', { class: 'size' }, field('limit', 'Show', size)),
      el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'search-submit' }, 'Search')));
    const results = el('div', { id: 'results' });
    onSubmit(form, (ev) => {
      ev.preventDefault();
      search.q = q.value.trim();
      search.limit = Number(size.value);
      search.offset = 0;
      runSearch(form, results, true);
    });

    setView('Register',
      el('h1', { text: 'Customer register' }),
      el('section', { class: 'card', 'aria-labelledby': 'search-heading' },
        el('h2', { id: 'search-heading', class: 'visually-hidden', text: 'Search' }),
        form, results),
      el('p', { class: 'actions' }, link('/admin/customers/new', 'Add a customer', { class: 'button', id: 'add-customer' })),
      importSection());
    if (search.searched) runSearch(form, results, false);
  }

  async function runSearch(form, results, focusCount) {
    const params = new URLSearchParams({ limit: search.limit, offset: search.offset });
    if (search.q) params.set('q', search.q);
    const data = await busy(form, () => api('GET', `/api/customers?${params}`));
    if (!data) return;
    search.searched = true;
    search.data = data;
    renderResults(form, results, data);
    if (focusCount) $('results-count').focus();
  }

  function renderResults(form, results, data) {
    const n = data.results.length;
    const count = el('p', { id: 'results-count', tabindex: -1, role: 'status' });
    if (!data.total) count.textContent = search.q ? 'No customer matches the search.' : 'The register is empty.';
    else if (n === data.total) count.textContent = `${plural(data.total, 'customer', 'customers')}${search.q ? ' match' : ''}.`;
    else count.textContent = `${data.offset + 1}–${data.offset + n} of ${data.total} customers.`;
    const pager = el('div', { class: 'pager' });
    const page = (offset) => () => { search.offset = Math.max(0, offset); runSearch(form, results, true); };
    if (data.total > n || data.offset > 0) {
      pager.append(
        el('button', { type: 'button', class: 'secondary small', id: 'page-prev', disabled: data.offset === 0,
          onclick: page(data.offset - data.limit) }, 'Previous'),
        el('span', { class: 'muted small', text: `Page ${Math.floor(data.offset / data.limit) + 1} of ${Math.max(1, Math.ceil(data.total / data.limit))}` }),
        el('button', { type: 'button', class: 'secondary small', id: 'page-next',
          disabled: data.offset + n >= data.total, onclick: page(data.offset + data.limit) }, 'Next'));
    }
    const nodes = [el('div', { class: 'toolbar' }, count, pager)];
    if (n) {
      nodes.push(el('div', { class: 'table-wrap' }, el('table', { id: 'results-table' },
        el('caption', { class: 'visually-hidden', text: 'Customers found' }),
        el('thead', {}, el('tr', {}, ['Name', 'Organisation', 'E-mail', 'City', 'Flags and holds']
          .map((t) => el('th', { scope: 'col', text: t })))),
        el('tbody', {}, data.results.map((c) => el('tr', {},
          el('th', { scope: 'row' }, link(`/admin/customers/${c.id}`,
            [c.first_name, c.last_name].filter(Boolean).join(' ') || c.organisation || `Customer ${c.id}`)),
          el('td', { text: c.organisation || '' }),
          el('td', { text: c.email || '' }),
          el('td', { text: c.city || '' }),
          el('td', {}, badges(c))))))));
    }
    results.replaceChildren(...nodes);
  }

  function badges(c) {
    const out = [];
    if (c.flags.restricted) out.push(el('span', { class: 'badge bad', text: 'Restricted' }));
    for (const [k, label] of [['objects_direct_marketing', 'No marketing'],
      ['objects_publication', 'No publication'], ['objects_profiling', 'No profiling']]) {
      if (c.flags[k]) out.push(el('span', { class: 'badge warn', text: label }));
    }
    for (const h of c.holds) out.push(el('span', { class: 'badge', text: `Hold: ${holdName(h)}` }));
    return out;
  }

  function importSection() {
    const file = el('input', { type: 'file', name: 'file', accept: '.csv,text/csv' });
    // Where the records come from, which each person is told (GDPR art.
    // 14): for the rows without a source column's own.  Up to 100
    // characters as the server counts them, code points: maxlength would
    // count an emoji as two (UTF-16) and refuse what the server takes.
    const SOURCE_MAX = 100;
    const source = el('input', { type: 'text', name: 'source', autocomplete: 'off' });
    const out = el('div', { role: 'status' });
    const form = el('form', { novalidate: true },
      el('p', { class: 'muted small' }, 'A header row of field and flag names (', el('code', { text: 'first_name,last_name,email,…' }),
        '), one customer a row. All rows or none: any bad row stores nothing and is listed here.'),
      field('file', 'CSV file', file),
      field('source', 'Source', source, 'Where these records come from ("trade fair 2025", "partner list"): each person is told. A source column in the file wins for its rows.'),
      el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Import')));
    onSubmit(form, async (ev) => {
      ev.preventDefault();
      out.replaceChildren();
      if (!file.files.length) { markInvalid(form, file, 'Choose a CSV file to import.'); return; }
      const given = source.value.trim();
      if ([...given].length > SOURCE_MAX) {
        markInvalid(form, source, `The source is up to ${SOURCE_MAX} characters; this one has ${[...given].length}.`);
        return;
      }
      // Decoded strictly: Blob.text() turns bytes that are not UTF-8 (a
      // spreadsheet's "CSV" in Windows-1252) into U+FFFD, and the
      // register would keep "M\uFFFDkinen" for Mäkinen without a word.
      let text;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(await file.files[0].arrayBuffer());
      } catch (e) {
        markInvalid(form, file, 'The file is not UTF-8 text: letters such as ä and ö in it would be lost. Save it as "CSV UTF-8" (in Excel: Save As, CSV UTF-8) and import that; nothing was imported.');
        return;
      }
      await busy(form, async () => {
        try {
          const r = await api('POST', `/api/customers/import${given ? `?source=${encodeURIComponent(given)}` : ''}`,
            text, { type: 'text/csv; charset=utf-8' });
          out.replaceChildren(el('p', { class: 'notice ok', text: `${plural(r.imported, 'customer', 'customers')} imported.` }));
          // Rows of a person already in the register (or on an earlier
          // row) were skipped, not added twice.
          if (r.duplicates) {
            const listed = r.duplicate_rows || [];
            out.append(el('div', { class: 'notice warn' },
              el('p', { text: `${plural(r.duplicates, 'row was', 'rows were')} skipped: the e-mail address is already a customer's.` }),
              el('ul', {}, listed.map((d) => el('li', {},
                `Line ${d.line}: ${d.reason} (`, link(`/admin/customers/${d.customer_id}`, `customer ${d.customer_id}`), ')'))),
              r.duplicates > listed.length ? el('p', { text: `The first ${listed.length} are listed.` }) : null));
          }
          file.value = '';
        } catch (e) {
          // The server's [limits] max_body_bytes: said in the words of
          // the one importing, with what to do about it.
          if (e.status === 413) {
            const max = /(\d+) bytes/.exec((e.data && e.data.message) || '');
            const kib = max ? ` (the server takes up to ${Math.floor(Number(max[1]) / 1024)} KiB)` : '';
            throw new ApiError(413, null, `The file is too large to import at once${kib}: split it into smaller files, or ask an administrator to raise [limits] max_body_bytes. Nothing was imported.`);
          }
          if (e.status === 422 && Array.isArray(e.data.rows)) {
            out.replaceChildren(el('div', { class: 'notice bad' },
              el('p', { text: errorText(e) }),
              el('ul', {}, e.data.rows.map((r) => el('li', {
                text: `Line ${r.line}${r.field ? `, ${FIELD_LABEL[r.field] || r.field}` : ''}: ${r.reason}`,
              })))));
            return;
          }
          throw e;
        }
      });
    });
    return el('details', { class: 'card' }, el('summary', {}, el('strong', { text: 'Import customers from a CSV file' })), form, out);
  }

  // ---- one customer ---------------------------------------------------------------------

  function customerFields(c, idPrefix) {
    return el('div', { class: 'fields' }, FIELDS.map(([name, label, type, hint]) => {
      const input = el('input', { type, name, id: `${idPrefix}-${name}`, autocomplete: 'off' });
      if (type === 'email' || type === 'url') input.spellcheck = false;
      if (name === 'country') { input.maxLength = 2; input.autocapitalize = 'characters'; }
      if (name === 'postal_code') input.inputMode = 'text';
      input.value = (c && c[name]) || '';
      return field(name, label, input, hint);
    }));
  }

  // The fields of a form as the API takes them: empty is null.
  function readFields(form, only) {
    const out = {};
    for (const [name] of FIELDS) {
      const input = form.elements[name];
      if (!input) continue;
      let v = input.value.trim();
      if (name === 'country') v = v.toUpperCase();
      out[name] = v === '' ? null : v;
    }
    if (only) for (const k of Object.keys(out)) if ((only[k] || null) === out[k]) delete out[k];
    return out;
  }

  function showNewCustomer() {
    const form = el('form', { id: 'new-customer', novalidate: true },
      el('p', { class: 'muted', text: 'A name or an organisation is needed; the rest as the person gave it.' }),
      customerFields(null, 'new'),
      el('div', { class: 'actions' },
        el('button', { type: 'submit', id: 'new-submit' }, 'Add the customer'),
        link('/admin/', 'Cancel', { class: 'button secondary' })));
    form.elements.source.value = 'customer service';
    onSubmit(form, async (ev) => {
      ev.preventDefault();
      const body = readFields(form);
      for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
      if (!body.first_name && !body.last_name && !body.organisation) {
        markInvalid(form, form.elements.first_name, 'Give a name or an organisation.');
        return;
      }
      const c = await busy(form, () => api('POST', '/api/customers', body));
      if (!c) return;
      flash = { id: c.id, text: `${displayName(c)} was added to the register.` };
      go(`/admin/customers/${c.id}`);
    });
    setView('Add a customer',
      link('/admin/', '← The register', { class: 'back' }),
      el('h1', { text: 'Add a customer' }),
      el('section', { class: 'card', 'aria-label': 'The new customer' }, form));
    form.elements.first_name.focus();
  }

  // A message for the next view of a customer (after adding them).
  let flash = null;

  async function showCustomer(id, opts = {}) {
    const seq = loading();
    let c, orders, requests;
    try {
      [c, orders, requests] = await Promise.all([
        api('GET', `/api/customers/${id}`),
        api('GET', `/api/customers/${id}/orders`),
        api('GET', `/api/dsr?customer_id=${id}`),
      ]);
    } catch (e) {
      if (stale(seq)) return;
      if (e.status === 404) {
        setView('Not in the register', link('/admin/', '← The register', { class: 'back' }),
          el('h1', { text: 'Not in the register' }),
          el('div', { class: 'notice warn', role: 'alert' },
            el('p', { text: `There is no customer ${id}: the record may have been erased.` })),
          el('p', {}, link(`/admin/requests`, 'The data subject requests')));
        return;
      }
      viewError('Customer', e);
      return;
    }
    if (stale(seq)) return;
    const name = displayName(c);
    const top = [];
    if (flash && flash.id === id) {
      top.push(el('p', { class: 'notice ok', role: 'status', text: flash.text }));
    }
    flash = null;
    if (c.flags.restricted) {
      top.push(el('div', { class: 'notice warn', id: 'restricted-notice' },
        el('p', {}, el('strong', { text: 'Processing restricted. ' }),
          'The record is kept but left out of mailing labels, visitor linkage and, but for its open invoices, the finance export.')));
    }

    setView(`Customer ${c.id}`,
      link('/admin/', '← The register', { class: 'back' }),
      el('h1', {}, name, ' ', el('span', { class: 'muted', text: `· customer ${c.id}` })),
      top,
      el('div', { class: 'two' },
        el('div', {}, detailsSection(c)),
        el('div', {}, flagsSection(c), holdsSection(c))),
      ordersSection(c, orders.orders),
      requestsSection(c, requests.requests, opts.result));
    if (opts.result) {
      opts.result.tabIndex = -1;
      opts.result.focus();
    } else if (opts.focus) {
      const f = $(opts.focus);
      if (f) f.focus();
    }
  }

  function section(id, title, ...nodes) {
    return el('section', { class: 'card', id, 'aria-labelledby': `${id}-heading` },
      el('h2', { id: `${id}-heading`, text: title }), ...nodes);
  }

  function detailsSection(c) {
    const status = el('p', { class: 'status', role: 'status' });
    const form = el('form', { id: 'customer-form', novalidate: true },
      customerFields(c, 'c'),
      el('p', { class: 'muted small', text: `Added ${when(c.created_at)}, last changed ${when(c.updated_at)}.` }),
      el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'customer-save' }, 'Save changes')),
      status);
    onSubmit(form, async (ev) => {
      ev.preventDefault();
      status.textContent = '';
      const changes = readFields(form, c);
      const changed = Object.keys(changes);
      if (!changed.length) { say(status, 'Nothing has changed.'); return; }
      const updated = await busy(form, () => api('PATCH', `/api/customers/${c.id}`, changes));
      if (!updated) return;
      Object.assign(c, updated);
      // As stored: an address the server masked shows masked, and the
      // next save does not send the full one again.
      for (const [name] of FIELDS) if (form.elements[name]) form.elements[name].value = c[name] || '';
      say(status, `Saved: ${changed.map((n) => FIELD_LABEL[n].toLowerCase()).join(', ')}.`);
    });
    return section('details', 'Details', form);
  }

  function flagsSection(c) {
    const status = el('p', { class: 'status', role: 'status' });
    const form = el('form', { id: 'flags-form', novalidate: true },
      el('fieldset', {}, el('legend', { text: 'Flags of the record' }),
        FLAGS.map(([name, label, hint]) => {
          const box = el('input', { type: 'checkbox', name, id: `flag-${name}`, checked: c.flags[name] });
          return el('label', { class: 'check', for: box.id }, box,
            el('span', {}, el('strong', { text: label }), el('span', { class: 'hint', text: hint })));
        })),
      el('p', { class: 'muted small' }, 'A person\'s own request (restriction, objection) is better filed as a data subject request below: it is then on record with its deadline.'),
      el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'flags-save' }, 'Save flags')),
      status);
    onSubmit(form, async (ev) => {
      ev.preventDefault();
      status.textContent = '';
      const flags = {};
      for (const [name] of FLAGS) if (form.elements[name].checked !== c.flags[name]) flags[name] = form.elements[name].checked;
      if (!Object.keys(flags).length) { say(status, 'Nothing has changed.'); return; }
      const updated = await busy(form, () => api('PATCH', `/api/customers/${c.id}`, { flags }),
        (f) => form.elements[f]);
      if (!updated) return;
      await showCustomer(c.id, { focus: 'flags-save' });
      const s = document.querySelector('#flags .status');
      if (s) say(s, `Saved: ${Object.entries(flags).map(([k, v]) => `${FLAG_LABEL[k].toLowerCase()} ${v ? 'on' : 'off'}`).join(', ')}.`);
    });
    return section('flags', 'Flags', form);
  }

  function holdsSection(c) {
    const list = c.holds.length
      ? el('ul', { id: 'holds-list' }, c.holds.map((h) => el('li', {}, el('strong', { text: holdName(h) }),
        h === 'statutory_retention' && c.statutory_retention_until
          ? `: the law requires the record to be kept until ${c.statutory_retention_until}`
          : HOLDS[h] ? `: ${HOLDS[h][1]}` : '')))
      : el('p', { id: 'holds-list', class: 'muted', text: 'None: nothing keeps the record from erasure.' });
    return section('holds', 'Legal holds',
      el('p', { class: 'muted small', text: 'A hold keeps the record when the person asks for erasure: it is restricted instead.' }),
      list);
  }

  function ordersSection(c, orders) {
    const status = el('p', { class: 'status', role: 'status', id: 'orders-status' });
    const rows = orders.map((o) => {
      const sel = el('select', { name: 'invoice_status', id: `invoice-${o.id}`,
        'aria-label': `Invoice status of order ${o.number}` },
      Object.entries(INVOICE).map(([v, t]) => el('option', { value: v, text: t, selected: o.invoice_status === v })));
      const save = el('button', { type: 'submit', class: 'small secondary' }, 'Change');
      const f = el('form', { class: 'inline', novalidate: true, 'aria-label': `Invoice of order ${o.number}` }, sel, save);
      onSubmit(f, async (ev) => {
        ev.preventDefault();
        if (sel.value === o.invoice_status) { say(status, `The invoice of order ${o.number} is already ${INVOICE[o.invoice_status].toLowerCase()}.`); return; }
        const got = await busy(f, () => api('PATCH', `/api/customers/${c.id}/orders/${o.id}`, { invoice_status: sel.value }));
        if (!got) return;
        await showCustomer(c.id, { focus: `invoice-${o.id}` });
        const s = $('orders-status');
        if (s) say(s, `The invoice of order ${got.number} is now ${INVOICE[got.invoice_status].toLowerCase()}.`);
      });
      return el('tr', { class: o.invoice_status !== 'paid' ? 'unpaid' : null },
        el('th', { scope: 'row', class: 'nowrap', text: o.number }),
        el('td', { class: 'nowrap', text: o.date }),
        el('td', {}, o.lines.map((l) => el('div', { class: 'small',
          text: `${l.quantity} × ${l.description} à ${money(l.unit_price_cents, o.currency)}` }))),
        el('td', { class: 'num', text: money(o.total_cents, o.currency) }),
        el('td', {}, f));
    });
    const table = orders.length
      ? el('div', { class: 'table-wrap' }, el('table', { id: 'orders-table' },
        el('caption', { class: 'visually-hidden', text: 'Orders' }),
        el('thead', {}, el('tr', {}, ['Order', 'Date', 'Lines', 'Total', 'Invoice'].map((t, i) =>
          el('th', { scope: 'col', class: i === 3 ? 'num' : null, text: t })))),
        el('tbody', {}, rows)))
      : el('p', { class: 'muted', text: 'No orders.' });
    return section('orders', 'Orders', table, status, newOrderForm(c));
  }

  function newOrderForm(c) {
    const lines = el('tbody');
    // Each line's fields are named by its place, so again after a removal
    // (two "Line 2"s otherwise); the only line cannot go.
    const renumber = () => [...lines.children].forEach((tr, i) => {
      const [desc, qty, price, remove] = tr.querySelectorAll('input, button');
      desc.setAttribute('aria-label', `Line ${i + 1}: description`);
      qty.setAttribute('aria-label', `Line ${i + 1}: quantity`);
      price.setAttribute('aria-label', `Line ${i + 1}: unit price`);
      remove.setAttribute('aria-label', `Remove line ${i + 1}`);
      remove.disabled = lines.children.length === 1;
    });
    const addLine = (focus) => {
      const desc = el('input', { type: 'text', name: 'description', maxlength: 200 });
      const qty = el('input', { type: 'number', name: 'quantity', min: 1, step: 1, value: 1, inputmode: 'numeric' });
      const price = el('input', { type: 'text', name: 'unit_price', inputmode: 'decimal' });
      const remove = el('button', { type: 'button', class: 'small secondary' }, 'Remove');
      const tr = el('tr', {}, el('td', {}, desc), el('td', {}, qty), el('td', {}, price), el('td', {}, remove));
      remove.addEventListener('click', () => {
        if (lines.children.length === 1) return;
        tr.remove();
        renumber();
        lines.querySelector('input').focus();
      });
      lines.append(tr);
      renumber();
      if (focus) desc.focus();
    };
    addLine(false);
    const currency = el('input', { type: 'text', name: 'currency', value: 'EUR', maxlength: 3, autocapitalize: 'characters' });
    const form = el('form', { id: 'order-form', novalidate: true },
      el('div', { class: 'fields' },
        field('number', 'Order number', el('input', { type: 'text', name: 'number', id: 'order-number', maxlength: 64 })),
        field('date', 'Date', el('input', { type: 'date', name: 'date', id: 'order-date', value: today() })),
        field('currency', 'Currency', currency, 'ISO code: EUR, SEK…'),
        field('invoice_status', 'Invoice', el('select', { name: 'invoice_status', id: 'order-invoice' },
          Object.entries(INVOICE).map(([v, t]) => el('option', { value: v, text: t }))))),
      el('div', { class: 'table-wrap' }, el('table', { class: 'lines-table' },
        el('caption', { text: 'Lines' }),
        el('thead', {}, el('tr', {}, ['Description', 'Quantity', 'Unit price', ''].map((t) => el('th', { scope: 'col', text: t })))),
        lines)),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'secondary', onclick: () => addLine(true) }, 'Add a line'),
        el('button', { type: 'submit', id: 'order-submit' }, 'Add the order')));
    onSubmit(form, async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const body = {
        number: form.elements.number.value.trim(),
        date: form.elements.date.value,
        currency: currency.value.trim().toUpperCase(),
        invoice_status: form.elements.invoice_status.value,
        lines: [],
      };
      for (const tr of lines.children) {
        const [d, q, p] = tr.querySelectorAll('input');
        const cents = toCents(p.value);
        if (!d.value.trim()) { markInvalid(form, d, 'Each line needs a description.'); return; }
        if (!/^\d+$/.test(q.value) || Number(q.value) < 1) { markInvalid(form, q, 'The quantity is a whole number, 1 or more.'); return; }
        if (cents === null) { markInvalid(form, p, 'The unit price is an amount such as 12.50.'); return; }
        body.lines.push({ description: d.value.trim(), quantity: Number(q.value), unit_price_cents: cents });
      }
      const got = await busy(form, () => api('POST', `/api/customers/${c.id}/orders`, body), (f) =>
        (['description', 'quantity', 'unit_price_cents'].includes(f)
          ? lines.querySelector(`[name="${f === 'unit_price_cents' ? 'unit_price' : f}"]`) : form.elements[f]));
      if (!got) return;
      await showCustomer(c.id, { focus: 'order-number' });
      const s = $('orders-status');
      if (s) say(s, `Order ${got.number} added: ${money(got.total_cents, got.currency)}, invoice ${INVOICE[got.invoice_status].toLowerCase()}.`);
    });
    return el('div', {}, el('h3', { text: 'Add an order' }), form);
  }

  // ---- requests of one customer, and filing one ------------------------------------

  function requestsTable(list, { withCustomer }) {
    if (!list.length) return el('p', { class: 'muted', text: 'No requests.' });
    return el('div', { class: 'table-wrap' }, el('table', { class: 'requests-table' },
      el('caption', { class: 'visually-hidden', text: 'Data subject requests' }),
      el('thead', {}, el('tr', {}, ['Request', 'Type', withCustomer ? 'Customer' : null, 'Received', 'Deadline', 'Days left', 'Status']
        .filter(Boolean).map((t) => el('th', { scope: 'col', text: t })))),
      el('tbody', {}, list.map((r) => el('tr', { class: r.overdue ? 'overdue' : null, 'data-request': r.id },
        el('th', { scope: 'row' }, link(`/admin/requests/${r.id}`, `#${r.id}`, { 'aria-label': `#${r.id}: ${typeName(r.type)} request` })),
        el('td', { text: typeName(r.type) }),
        withCustomer ? el('td', {}, r.customer_id == null ? requestName(r) : link(`/admin/customers/${r.customer_id}`, requestName(r))) : null,
        el('td', { class: 'nowrap', text: r.received_date }),
        el('td', { class: 'nowrap', text: r.due_date }),
        el('td', { class: `nowrap${r.overdue ? ' overdue-text' : ''}`, text: daysLeftText(r) }),
        el('td', { class: 'status-cell', text: statusText(r) }))))));
  }

  function requestsSection(c, list, result) {
    return section('requests', 'Data subject requests',
      result ? el('div', { id: 'dsr-result' }, result) : null,
      requestsTable(list, { withCustomer: false }),
      el('h3', { text: 'File a request' }),
      newRequestForm(c));
  }

  // How the person's identity was verified: a method and its details, the
  // same for a customer's request and a visitor's.  read() marks what is
  // missing and gives undefined, or the request's "verification".
  function verificationPart(idPrefix) {
    const method = el('select', { name: 'verification', id: `${idPrefix}-verification` },
      el('option', { value: '', text: 'Choose…' }), VERIFICATIONS.map((v) => el('option', { value: v, text: v })));
    const detail = el('input', { type: 'text', name: 'verification_detail', id: `${idPrefix}-verification-detail`, maxlength: 800 });
    const nodes = [
      el('div', { class: 'wide' }, field('verification', 'How the identity was verified', method)),
      el('div', { class: 'wide' }, field('verification_detail', 'Details of the check', detail,
        'What was seen or asked; needed for "Other". No copies of documents here.')),
    ];
    const read = (f) => {
      if (!method.value) { markInvalid(f, method, 'Say how the person\'s identity was verified.'); return undefined; }
      const d = detail.value.trim();
      if (method.value === 'Other' && !d) { markInvalid(f, detail, 'Describe how the identity was verified.'); return undefined; }
      return d ? `${method.value}: ${d}` : method.value;
    };
    return { method, detail, nodes, read };
  }

  // The box to tick before what cannot be undone (erasure, anonymisation).
  function confirmPart(id) {
    const box = el('input', { type: 'checkbox', name: 'confirm', id });
    const text = el('span');
    const part = el('fieldset', { hidden: true }, el('legend', { text: 'Cannot be undone' }),
      el('label', { class: 'check', for: box.id }, box, text));
    return { box, text, part };
  }

  function newRequestForm(c) {
    const type = el('select', { name: 'type', id: 'dsr-type' },
      el('option', { value: '', text: 'Choose…' }),
      Object.entries(TYPES).map(([v, [t]]) => el('option', { value: v, text: t })));
    const typeHint = el('p', { class: 'hint', id: 'dsr-type-hint' });
    const verified = verificationPart('dsr');
    const detail = verified.detail;

    // Rectification: corrections, or a refusal with reasons.
    const changes = el('div', { class: 'changes' });
    const addChange = (focus) => {
      const n = changes.children.length + 1;
      const which = el('select', { name: 'change_field', 'aria-label': `Correction ${n}: field` },
        FIELDS.map(([f, l]) => el('option', { value: f, text: l })));
      const value = el('input', { type: 'text', name: 'change_value', 'aria-label': `Correction ${n}: the correct value (empty clears it)` });
      which.addEventListener('change', () => { value.value = c[which.value] || ''; });
      value.value = c[which.value] || '';
      changes.append(el('div', { class: 'fields' }, el('div', {}, which), el('div', {}, value)));
      if (focus) which.focus();
    };
    addChange(false);
    const rectMode = nextId('rect');
    const rectCorrect = el('input', { type: 'radio', name: 'rect_mode', value: 'correct', id: `${rectMode}-c`, checked: true });
    const rectRefuse = el('input', { type: 'radio', name: 'rect_mode', value: 'refuse', id: `${rectMode}-r` });
    const reasons = el('textarea', { name: 'refuse', id: 'dsr-refuse', maxlength: 4000 });
    const correctPart = el('div', {}, changes,
      el('button', { type: 'button', class: 'secondary small', onclick: () => addChange(true) }, 'Correct another field'));
    const refusePart = el('div', { hidden: true }, field('refuse', 'Reasons for refusing', reasons,
      'The person gets these in a written statement with the right to complain to the supervisory authority.'));
    const syncRect = () => { correctPart.hidden = !rectCorrect.checked; refusePart.hidden = !rectRefuse.checked; };
    rectCorrect.addEventListener('change', syncRect);
    rectRefuse.addEventListener('change', syncRect);
    const rectPart = el('fieldset', { hidden: true }, el('legend', { text: 'Rectification' }),
      el('label', { class: 'check', for: rectCorrect.id }, rectCorrect, 'Correct the data'),
      el('label', { class: 'check', for: rectRefuse.id }, rectRefuse, 'Refuse, with the reasons in writing'),
      correctPart, refusePart);

    const restrictOn = el('input', { type: 'radio', name: 'restricted', value: 'true', id: nextId('rs'), checked: true });
    const restrictOff = el('input', { type: 'radio', name: 'restricted', value: 'false', id: nextId('rs') });
    const restrictPart = el('fieldset', { hidden: true }, el('legend', { text: 'Restriction' }),
      el('label', { class: 'check', for: restrictOn.id }, restrictOn, 'Restrict processing'),
      el('label', { class: 'check', for: restrictOff.id }, restrictOff, 'Lift the restriction'));

    const objectPart = el('fieldset', { hidden: true, id: 'dsr-objections' }, el('legend', { text: 'The person objects to' }),
      OBJECTIONS.map(([v, t]) => {
        const box = el('input', { type: 'checkbox', name: 'objections', value: v, id: `dsr-obj-${v}` });
        return el('label', { class: 'check', for: box.id }, box, t);
      }));

    const { box: confirm, text: confirmText, part: forgetPart } = confirmPart('dsr-confirm');

    const submit = el('button', { type: 'submit', id: 'dsr-submit' }, 'File the request');
    const form = el('form', { id: 'dsr-form', novalidate: true },
      el('div', { class: 'fields' },
        el('div', { class: 'wide' }, field('type', 'Type of request', type), typeHint),
        verified.nodes),
      rectPart, restrictPart, objectPart, forgetPart,
      el('div', { class: 'actions' }, submit));

    type.setAttribute('aria-describedby', typeHint.id);
    type.addEventListener('change', () => {
      const t = type.value;
      typeHint.textContent = TYPES[t] ? TYPES[t][1] : '';
      rectPart.hidden = t !== 'rectification';
      restrictPart.hidden = t !== 'restriction';
      objectPart.hidden = t !== 'objection';
      forgetPart.hidden = t !== 'erasure' && t !== 'anonymisation';
      confirm.checked = false;
      confirmText.textContent = t === 'erasure'
        ? `Erase ${displayName(c)} from every table, unless a legal hold keeps the record.`
        : `Clear the name and contact details of ${displayName(c)} and cut their links.`;
      submit.className = forgetPart.hidden ? '' : 'danger';
      submit.textContent = t === 'erasure' ? 'Erase' : t === 'anonymisation' ? 'Anonymise' : 'File the request';
    });

    onSubmit(form, async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const t = type.value;
      if (!t) { markInvalid(form, type, 'Choose the type of request.'); return; }
      const verification = verified.read(form);
      if (verification === undefined) return;
      const body = { type: t, customer_id: c.id, verification };
      if (t === 'rectification') {
        if (rectRefuse.checked) {
          if (!reasons.value.trim()) { markInvalid(form, reasons, 'Give the reasons for refusing.'); return; }
          body.refuse = reasons.value.trim();
        } else {
          body.changes = {};
          for (const row of changes.children) {
            const [sel, input] = row.querySelectorAll('select, input');
            const v = input.value.trim();
            body.changes[sel.value] = v === '' ? null : (sel.value === 'country' ? v.toUpperCase() : v);
          }
        }
      } else if (t === 'restriction') {
        body.restricted = restrictOn.checked;
      } else if (t === 'objection') {
        body.objections = [...objectPart.querySelectorAll('input:checked')].map((b) => b.value);
        if (!body.objections.length) { markInvalid(form, objectPart.querySelector('input'), 'Tick what the person objects to.'); return; }
      } else if (t === 'erasure' || t === 'anonymisation') {
        if (!confirm.checked) { markInvalid(form, confirm, 'Tick the box to confirm: this cannot be undone.'); return; }
      }
      await busy(form, async () => {
        let answer;
        try {
          answer = await api('POST', '/api/dsr', body);
        } catch (e) {
          if (e.status === 409 && e.data.error === 'legal_hold') {
            await showCustomer(c.id, { result: holdResult(e.data) });
            return;
          }
          throw e;
        }
        if (answer.erased || answer.anonymised) {
          if (answer.erased) {
            setView('Erased', el('h1', { text: 'Erased' }),
              el('div', { class: 'notice ok', role: 'status', id: 'dsr-result' },
                el('p', { text: `Customer ${c.id} was erased from every table (request #${answer.request.id}).` }),
                el('p', {}, 'The request stays as the record of the answer: ',
                  link(`/admin/requests/${answer.request.id}`, `request #${answer.request.id}`), '.'),
                notifyPart(answer.notify, 'Tell these recipients of the person\'s data about the erasure (the request keeps this list):',
                  'Nobody was given the person\'s data: nobody to notify.')),
              el('p', {}, link('/admin/', 'Back to the register')));
            return;
          }
        }
        await showCustomer(c.id, { result: doneResult(answer, (result) => showCustomer(c.id, { result })) });
      }, (f) => {
        const own = { refuse: reasons, objections: objectPart.querySelector('input'), verification: detail, type }[f];
        if (own) return own;
        const row = [...changes.children].find((x) => x.querySelector('select').value === f);
        return row ? row.querySelector('input') : null;
      });
    });
    return form;
  }

  // Whom to tell of a rectification, restriction or erasure (GDPR art. 19):
  // the recipients the server recorded giving the person's data to.
  function notifyPart(list, intro, none) {
    return list && list.length
      ? el('div', { class: 'notify' }, el('p', { text: intro }),
        el('ul', {}, list.map((n) => el('li', { text: `${n.recipient}: ${n.fields.map((f) => FIELD_LABEL[f] || f).join(', ')} (last sent ${day(n.last_disclosed_at)})` }))))
      : el('p', { class: 'notify', text: none });
  }

  // The 409 of an erasure (or anonymisation) a legal hold refused.
  function holdResult(data) {
    const r = data.request || {};
    return el('div', { class: 'notice bad', role: 'alert' },
      el('p', {}, el('strong', { text: `Not ${r.type === 'anonymisation' ? 'anonymised' : 'erased'}: a legal hold keeps the record.` })),
      el('ul', { class: 'holds' }, (data.holds || []).map((h) => el('li', {}, el('strong', { text: holdName(h) }),
        HOLDS[h] ? `: ${HOLDS[h][1]}` : ''))),
      el('p', { text: data.restricted ? 'The record has been restricted instead: it is used only for what the hold is for.' : '' }),
      data.restricted && data.notify ? notifyPart(data.notify, 'Tell these recipients of the person\'s data about the restriction:',
        'Nobody was given the person\'s data: nobody to notify.') : null,
      r.id ? el('p', {}, 'The refusal is on record as ', link(`/admin/requests/${r.id}`, `request #${r.id}`),
        ', with a written statement of the reasons for the person.') : null,
      data.statement ? el('details', {}, el('summary', { text: 'The statement of reasons' }),
        el('pre', { class: 'statement', tabindex: 0, text: data.statement })) : null);
  }

  // What a filed request did.  redraw(result): the page again, with the
  // result given (the access export's download, which completes it).
  function doneResult(a, redraw) {
    const r = a.request;
    const box = el('div', { class: 'notice ok', role: 'status' },
      el('p', {}, el('strong', { text: `${typeName(r.type)} request #${r.id} recorded.` }),
        r.status === 'open' ? ` Due ${r.due_date} (${daysLeftText(r).toLowerCase()}).` : ''));
    if (r.type === 'access') {
      const btn = el('button', { type: 'button', id: 'dsr-download' }, 'Download the export (zip)');
      const err = el('p', { class: 'error', role: 'alert' });
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        err.textContent = '';
        try {
          await download(`/api/dsr/${r.id}/export`, `dsr-${r.id}-export.zip`);
          await redraw(el('div', { class: 'notice ok', role: 'status' },
            el('p', { text: `The export of request #${r.id} was downloaded; the request is completed. Give the file to the person by a safe route.` })));
        } catch (e) {
          err.textContent = errorText(e);
          btn.disabled = false;
        }
      });
      box.append(el('p', { text: 'The first download completes the request.' }), el('p', {}, btn), err);
    }
    if (a.changed) {
      box.append(el('p', { text: `Corrected: ${a.changed.map((f) => FIELD_LABEL[f] || f).join(', ') || 'nothing changed'}.` }));
      box.append(notifyPart(a.notify, 'Tell these recipients, who were given the fields:',
        'No recipient was given these fields: nobody to notify.'));
      if (a.source) box.append(el('p', { class: 'notify', text: `Tell the source of the data too: ${a.source}.` }));
    }
    if (a.statement) {
      box.append(el('p', { text: 'Refused: give the person this statement of reasons.' }),
        el('pre', { class: 'statement', tabindex: 0, text: a.statement }));
    }
    if (a.anonymised) {
      box.append(el('p', { text: 'Names and contact details were cleared; orders stay, as accounting law keeps them.' }),
        notifyPart(a.notify, 'Tell these recipients of the person\'s data about the anonymisation:',
          'Nobody was given the person\'s data: nobody to notify.'));
    }
    if (r.type === 'restriction') box.append(el('p', { text: r.details && r.details.restricted ? 'The record is now restricted.' : 'The restriction was lifted.' }));
    if (r.type === 'restriction' && a.notify) {
      box.append(notifyPart(a.notify, 'Tell these recipients of the person\'s data about the restriction:',
        'Nobody was given the person\'s data: nobody to notify.'));
    }
    if (r.type === 'objection') box.append(el('p', { text: `Recorded objections: ${(r.details.objections || []).join(', ').replace(/_/g, ' ')}.` }));
    return box;
  }

  // ---- all requests -----------------------------------------------------------------------

  async function showRequests(opts = {}) {
    const seq = loading();
    const params = new URLSearchParams(location.search);
    let status = params.get('status');
    if (status === null) status = 'open';
    if (status !== 'all' && !STATUSES[status]) status = 'open';
    let data;
    try {
      data = await api('GET', `/api/dsr${status === 'all' ? '' : `?status=${status}`}`);
    } catch (e) {
      if (!stale(seq)) viewError('Requests', e);
      return;
    }
    if (stale(seq)) return;
    const list = data.requests;
    const filter = el('select', { id: 'dsr-status', name: 'status' },
      [['open', 'Open'], ['completed', 'Completed'], ['refused', 'Refused'], ['restricted', 'Restricted instead'], ['all', 'All']]
        .map(([v, t]) => el('option', { value: v, text: t, selected: v === status })));
    filter.addEventListener('change', () => {
      history.replaceState(null, '', filter.value === 'open' ? '/admin/requests' : `/admin/requests?status=${filter.value}`);
      showRequests().then(() => { const f = $('dsr-status'); if (f) f.focus(); });
    });
    const overdue = list.filter((r) => r.overdue).length;
    setView('Requests',
      el('h1', { text: 'Data subject requests' }),
      el('section', { class: 'card', 'aria-labelledby': 'dsr-list-heading' },
        el('h2', { id: 'dsr-list-heading', class: 'visually-hidden', text: 'The list' }),
        el('div', { class: 'toolbar' },
          el('div', { class: 'inline' }, el('label', { for: 'dsr-status', text: 'Status' }), filter),
          el('p', { id: 'dsr-count', role: 'status' },
            `${plural(list.length, 'request', 'requests')}`,
            overdue ? el('span', { class: 'overdue-text', text: ` · ${overdue} overdue` }) : null)),
        requestsTable(list, { withCustomer: true }),
        el('p', { class: 'muted small', text: 'Open requests first, the nearest deadline first. The deadline is one month from receipt; it can be extended by two months in all, before it passes.' })),
      el('p', { class: 'muted' }, 'To file a new request for a customer, ', link('/admin/', 'find the customer in the register'), ' and use the form on their page.'),
      visitorSection(opts.result));
    if (opts.result) {
      opts.result.tabIndex = -1;
      opts.result.focus();
    }
  }

  // ---- a visitor who is not in the register --------------------------------------------

  const VISITOR_TYPES = {
    access: ['Access', 'A copy of everything held under the visitor id: raw events, consent history, analytics visits (a zip to give them).'],
    erasure: ['Erasure', 'Delete everything held under the visitor id; consent records stay as proof, without the id.'],
  };
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  // What an erasure's answer says each part of the server did, by its
  // counts ({core: {events_deleted: 3, ...}, analytics: {...}, ...}).
  const ERASED = {
    events_deleted: ['raw event deleted', 'raw events deleted'],
    consent_records_pseudonymised: ['consent record kept as proof without the visitor id',
      'consent records kept as proof without the visitor id'],
    audit_entries_kept: ['audit log entry about them kept, naming them by a pseudonym',
      'audit log entries about them kept, naming them by a pseudonym'],
    visits_deleted: ['analytics visit deleted', 'analytics visits deleted'],
    visitor_requests_unidentified: ['request of theirs kept without the visitor id or how they were identified',
      'requests of theirs kept without the visitor id or how they were identified'],
    shared_visitor_ids_deleted: ['shared visitor id deleted', 'shared visitor ids deleted'],
  };
  function erasedList(erased) {
    const items = [];
    for (const [part, counts] of Object.entries(erased || {})) {
      for (const [k, n] of Object.entries(counts || {})) {
        if (typeof n !== 'number') continue;
        items.push(ERASED[k] ? plural(n, ...ERASED[k]) : `${part}: ${k.replace(/_/g, ' ')}: ${n}`);
      }
    }
    return items.length ? el('ul', {}, items.map((t) => el('li', { text: t }))) : null;
  }

  function visitorSection(result) {
    return section('visitor-dsr', 'A website visitor who is not in the register',
      el('p', { class: 'muted small', text: 'A visitor who gave statistics consent has a visitor id, which their consent receipt shows. With it they can ask for a copy of what is held under it, or for its erasure. A visitor id linked to a customer is theirs: file the request on the customer\'s page.' }),
      result ? el('div', { id: 'visitor-result' }, result) : null,
      visitorRequestForm());
  }

  function visitorRequestForm() {
    const vid = el('input', { type: 'text', name: 'visitor_id', id: 'visitor-id', maxlength: 36,
      autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
    const type = el('select', { name: 'type', id: 'visitor-type' },
      el('option', { value: '', text: 'Choose…' }),
      Object.entries(VISITOR_TYPES).map(([v, [t]]) => el('option', { value: v, text: t })));
    const typeHint = el('p', { class: 'hint', id: 'visitor-type-hint' });
    const verified = verificationPart('visitor');
    const { box: confirm, text: confirmText, part: forgetPart } = confirmPart('visitor-confirm');
    const submit = el('button', { type: 'submit', id: 'visitor-submit' }, 'File the request');
    const form = el('form', { id: 'visitor-form', novalidate: true, 'aria-labelledby': 'visitor-dsr-heading' },
      el('div', { class: 'fields' },
        el('div', { class: 'wide' }, field('visitor_id', 'Visitor id', vid,
          'As the person\'s consent receipt shows it: 32 hexadecimal digits in groups of 8-4-4-4-12, such as 3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f60718.')),
        el('div', { class: 'wide' }, field('type', 'Type of request', type), typeHint),
        verified.nodes),
      forgetPart,
      el('div', { class: 'actions' }, submit));

    type.setAttribute('aria-describedby', typeHint.id);
    type.addEventListener('change', () => {
      const t = type.value;
      typeHint.textContent = VISITOR_TYPES[t] ? VISITOR_TYPES[t][1] : '';
      forgetPart.hidden = t !== 'erasure';
      confirm.checked = false;
      confirmText.textContent = 'Erase everything held under this visitor id. An access request of theirs still open must be answered first.';
      submit.className = forgetPart.hidden ? '' : 'danger';
      submit.textContent = t === 'erasure' ? 'Erase' : 'File the request';
    });

    onSubmit(form, async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const id = vid.value.trim();
      if (!id) { markInvalid(form, vid, 'Enter the visitor id from the person\'s consent receipt.'); return; }
      if (!UUID.test(id)) {
        markInvalid(form, vid, 'This is not a visitor id: it has 32 hexadecimal digits (0-9, a-f) in groups of 8-4-4-4-12, separated by hyphens.');
        return;
      }
      const t = type.value;
      if (!t) { markInvalid(form, type, 'Choose the type of request.'); return; }
      const verification = verified.read(form);
      if (verification === undefined) return;
      if (t === 'erasure' && !confirm.checked) { markInvalid(form, confirm, 'Tick the box to confirm: this cannot be undone.'); return; }
      await busy(form, async () => {
        let answer;
        try {
          answer = await api('POST', '/api/dsr', { type: t, visitor_id: id.toLowerCase(), verification });
        } catch (e) {
          const linked = e.status === 409 && e.data.error === 'linked_visitor' && e.data.customer_id;
          if (Number.isInteger(linked)) {
            markInvalid(form, vid, `This visitor id is linked to customer ${linked}: file the request on their page, where it covers all their visitor ids and their record.`);
            formError(form).append(' ', link(`/admin/customers/${linked}`, `Open customer ${linked}`));
            return;
          }
          if (e.status === 409 && e.data.error === 'open_request') {
            const open = (e.data.requests || []).filter(Number.isInteger);
            showFormError(form, 'Not erased: an access request of this visitor is still open. Give them its export first, then erase.');
            if (open.length) formError(form).append(' ', ...open.flatMap((n, i) => [i ? ', ' : '', link(`/admin/requests/${n}`, `Request #${n}`)]));
            return;
          }
          throw e;
        }
        const r = answer.request;
        if (answer.erased) {
          await showRequests({ result: el('div', { class: 'notice ok', role: 'status' },
            el('p', {}, el('strong', { text: `Erasure request #${r.id} recorded: the visitor's data was erased.` })),
            erasedList(answer.erased),
            el('p', {}, 'The request stays as the record of the answer, without the visitor id: ',
              link(`/admin/requests/${r.id}`, `request #${r.id}`), '.'),
            answer.notify ? notifyPart(answer.notify, 'Tell these recipients of the visitor\'s data about the erasure:',
              'Nobody was given the visitor\'s data: nobody to notify.') : null) });
          return;
        }
        await showRequests({ result: doneResult(answer, (result) => showRequests({ result })) });
      }, (f) => ({ visitor_id: vid, verification: verified.detail, type }[f] || null));
    });
    return form;
  }

  async function showRequest(id) {
    const seq = loading();
    let r;
    try {
      r = await api('GET', `/api/dsr/${id}`);
    } catch (e) {
      if (!stale(seq)) viewError(`Request ${id}`, e);
      return;
    }
    if (stale(seq)) return;
    const d = r.details || {};
    const facts = [
      r.customer_id == null ? ['Visitor', requestName(r)] : ['Customer', link(`/admin/customers/${r.customer_id}`, requestName(r))],
      ['Identity verified', r.verification || '(not kept: the person was erased)'],
      ['Status', el('span', { id: 'request-status', text: statusText(r) })],
      ['Received', `${r.received_date} by ${r.received_by}`],
      ['Deadline', el('span', {}, r.due_date, r.status === 'open'
        ? el('span', { class: r.overdue ? 'overdue-text' : 'muted', text: ` · ${daysLeftText(r)}` }) : '')],
      r.extended_months ? ['Extended', `by ${plural(r.extended_months, 'month', 'months')}`] : null,
      r.handled_by ? ['Handled by', r.handled_by] : null,
      r.completed_at ? ['Answered', when(r.completed_at)] : null,
      d.holds ? ['Legal holds', d.holds.map(holdName).join(', ')] : null,
      d.restricted !== undefined ? ['Restricted', d.restricted ? 'Yes' : 'Lifted'] : null,
      d.changed ? ['Corrected', d.changed.map((f) => FIELD_LABEL[f] || f).join(', ')] : null,
      d.recipients_to_notify !== undefined ? ['Recipients to notify', String(d.recipients_to_notify)] : null,
      d.source_to_notify ? ['Source to notify', d.source_to_notify] : null,
      d.objections ? ['Objections', d.objections.join(', ').replace(/_/g, ' ')] : null,
    ].filter(Boolean);
    const parts = [
      link('/admin/requests', '← All requests', { class: 'back' }),
      el('h1', {}, `${typeName(r.type)} request `, el('span', { class: 'muted', text: `#${r.id}` })),
      r.overdue ? el('div', { class: 'notice bad', role: 'alert' }, el('p', { text: `Overdue: the deadline was ${r.due_date}.` })) : null,
      r.hold_ended ? el('div', { class: 'notice warn', role: 'alert', id: 'hold-ended' }, el('p', {
        text: `The legal hold has ended: nothing keeps the record now. File the ${r.type} again on the customer's page; it answers this request too.` })) : null,
      el('section', { class: 'card', 'aria-label': 'The request' },
        el('dl', { class: 'facts' }, facts.map(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]))),
    ];
    if (r.type === 'access') parts.push(exportSection(r));
    // Whom to tell (art. 19), as the answer said: kept with the request, so
    // an erasure's list outlives the disclosures it deleted.
    if (d.notify) {
      parts.push(section('notify', 'Recipients to notify', notifyPart(d.notify,
        'The person\'s data was given to these recipients: tell them of this request\'s outcome.',
        'Nobody was given the person\'s data: nobody to notify.')));
    }
    if (r.has_statement) parts.push(statementSection(r));
    if (r.extensions && r.extensions.length) {
      parts.push(section('extensions', 'Extensions', el('ul', {}, r.extensions.map((x) =>
        el('li', { text: `${day(x.at)}: ${plural(x.months, 'month', 'months')} by ${x.by}, to ${x.due_date}. Reason: ${x.reason}` })))));
    }
    if (r.status === 'open' && !r.overdue) parts.push(extendSection(r));
    else if (r.status === 'open') {
      parts.push(section('extend', 'Extend the deadline',
        el('p', { class: 'muted', text: 'The deadline has passed: it can no longer be extended. Answer the request now.' })));
    }
    setView(`Request ${r.id}`, ...parts);
  }

  function exportSection(r) {
    const btn = el('button', { type: 'button', id: 'export-download' }, 'Download the export (zip)');
    const err = el('p', { class: 'error', role: 'alert' });
    const status = el('p', { class: 'status', role: 'status' });
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      err.textContent = '';
      try {
        await download(`/api/dsr/${r.id}/export`, `dsr-${r.id}-export.zip`);
        if (r.status === 'open') {
          await showRequest(r.id);
          const s = document.querySelector('#export .status');
          if (s) say(s, 'Downloaded; the request is completed.');
          const b = $('export-download');
          if (b) b.focus();
          return;
        }
        say(status, 'Downloaded.');
      } catch (e) {
        err.textContent = e.status !== 410 ? errorText(e) : r.customer_id == null
          ? 'The visitor id has been erased since: there is nothing to export.'
          : 'The customer has been erased since: there is nothing to export.';
      }
      btn.disabled = false;
    });
    return section('export', 'The access export',
      el('p', { class: 'muted small', text: 'A zip of export.json and one CSV per table: everything held about the person. The first download completes the request; later ones are copies. Give it to the person by a safe route.' }),
      el('p', {}, btn), err, status);
  }

  function statementSection(r) {
    const pre = el('pre', { class: 'statement', id: 'statement-text', tabindex: 0, hidden: true });
    const show = el('button', { type: 'button', id: 'statement-show', class: 'secondary' }, 'Show the statement');
    const save = el('button', { type: 'button', id: 'statement-save', class: 'secondary' }, 'Download it (text)');
    const err = el('p', { class: 'error', role: 'alert' });
    show.addEventListener('click', async () => {
      err.textContent = '';
      if (!pre.hidden) { pre.hidden = true; show.textContent = 'Show the statement'; show.setAttribute('aria-expanded', 'false'); return; }
      try {
        const res = await api('GET', `/api/dsr/${r.id}/statement`, undefined, { raw: true });
        pre.textContent = await res.text();
        pre.hidden = false;
        show.textContent = 'Hide the statement';
        show.setAttribute('aria-expanded', 'true');
        pre.focus();
      } catch (e) { err.textContent = errorText(e); }
    });
    show.setAttribute('aria-expanded', 'false');
    show.setAttribute('aria-controls', pre.id);
    save.addEventListener('click', async () => {
      err.textContent = '';
      try { await download(`/api/dsr/${r.id}/statement`, `dsr-${r.id}-statement.txt`); } catch (e) { err.textContent = errorText(e); }
    });
    return section('statement', 'Statement of reasons',
      el('p', { class: 'muted small', text: 'The written refusal the person is given, in Finnish and English, with their right to complain to the supervisory authority.' }),
      el('div', { class: 'actions' }, show, save), err, pre);
  }

  function extendSection(r) {
    const left = 2 - (r.extended_months || 0);
    if (left <= 0) {
      return section('extend', 'Extend the deadline',
        el('p', { class: 'muted', text: 'Already extended by two months, the most the law allows.' }));
    }
    const months = el('select', { name: 'months', id: 'extend-months' },
      [1, 2].filter((n) => n <= left).map((n) => el('option', { value: n, text: plural(n, 'month', 'months') })));
    const reason = el('textarea', { name: 'reason', id: 'extend-reason', maxlength: 1000 });
    const form = el('form', { id: 'extend-form', novalidate: true },
      el('div', { class: 'fields' },
        field('months', 'Extend by', months),
        el('div', { class: 'wide' }, field('reason', 'Reason', reason, 'The person is told why: the number or complexity of their requests.'))),
      el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'extend-submit' }, 'Extend the deadline')));
    onSubmit(form, async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      if (!reason.value.trim()) { markInvalid(form, reason, 'Give the reason: the person is told it.'); return; }
      const got = await busy(form, () => api('POST', `/api/dsr/${r.id}/extend`, { months: Number(months.value), reason: reason.value.trim() }));
      if (!got) return;
      await showRequest(r.id);
      const h = $('extensions-heading');
      if (h) { h.tabIndex = -1; h.focus(); }
    });
    return section('extend', 'Extend the deadline',
      el('p', { class: 'muted small', text: 'By up to two months in all, counted from the receipt, before the deadline passes. Tell the person within the first month.' }),
      form);
  }

  // ---- start ----------------------------------------------------------------------------

  function refuseRole() {
    setView('Not for your role', el('h1', { text: 'Not for your role' }),
      el('div', { class: 'notice warn', role: 'alert', id: 'role-notice' },
        el('p', { text: `Signed in as ${me.name}, ${me.role.replace(/_/g, ' ')}: the customer register and data subject requests are for customer service and admins.` }),
        el('p', { text: 'Ask an administrator if your work needs them.' })),
      el('p', {}, me.role === 'analyst' ? el('a', { href: '/', text: 'The statistics dashboard' })
        : me.role === 'finance' ? el('a', { href: '/admin/exports/', text: 'The finance export (Exports)' })
          : el('a', { href: '/about/', text: 'About Seula' })));
  }

  async function logout() {
    const b = $('logout');
    b.disabled = true;
    $('logout-error').hidden = true;
    try {
      const r = await fetch('/api/logout', {
        method: 'POST', credentials: 'same-origin', cache: 'no-store',
        headers: me && me.csrf ? { 'X-CSRF-Token': me.csrf } : {},
      });
      if (r.status === 204 || r.status === 401) {
        if (staffChannel) staffChannel.postMessage('signed-out');
        redirecting = true;
        location.replace('/login/');
        return;
      }
      $('logout-error').textContent = `Signing out failed (the server answered ${r.status}). Try again.`;
    } catch (e) {
      $('logout-error').textContent = 'Signing out failed: the server cannot be reached.';
    }
    $('logout-error').hidden = false;
    b.disabled = false;
  }

  async function start() {
    $('logout').addEventListener('click', logout);
    for (const a of document.querySelectorAll('[data-nav]')) {
      a.addEventListener('click', (ev) => {
        if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
        ev.preventDefault();
        go(a.getAttribute('href'));
      });
    }
    window.addEventListener('popstate', route);
    // Asked without a 401: not being signed in is an answer here.
    let s = null;
    try {
      const r = await fetch('/api/session', { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
      if (r.ok) s = await r.json();
    } catch (e) { s = null; }
    if (!s) {
      setView('Customer service', el('h1', { text: 'Customer service' }),
        el('div', { class: 'notice bad', role: 'alert' }, el('p', { text: 'The server cannot be reached. Reload the page to try again.' })));
      return;
    }
    if (!s.signed_in) { toLogin(s.expired); return; }
    me = { name: s.name, role: s.role, csrf: s.csrf };
    if (staffChannel) {
      staffChannel.onmessage = (ev) => {
        if (ev.data === 'signed-out') sessionGone();
        else if (ev.data === 'active') lastRequest = Date.now();
      };
    }
    const idleMs = (Number(s.idle_timeout_s) || 0) * 1000;
    if (idleMs > 0) setInterval(() => { if (Date.now() - lastRequest >= idleMs) sessionGone(); }, Math.min(30000, idleMs / 4));
    $('who').textContent = me.name;
    $('role').textContent = me.role.replace(/_/g, ' ');
    $('account').hidden = false;
    if (!ROLES.includes(me.role)) { refuseRole(); return; }
    $('nav').hidden = false;
    $('nav-dashboard').hidden = me.role !== 'admin';
    $('nav-audit').hidden = me.role !== 'admin';
    $('nav-keys').hidden = me.role !== 'admin';
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
