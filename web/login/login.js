// The staff sign-in page: POST /api/login, then who is signed in, a
// sign-out button and, for admins, the newest audit entries.  No inline
// script: the page's Content-Security-Policy allows only 'self'.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  let csrf = null;

  // Where to go after signing in: only a path on this server, so the
  // page cannot be used to send someone elsewhere.  Resolved as the
  // browser will (it drops tabs and newlines: "/\t/evil" is "//evil"),
  // and kept only when it stays on this origin.
  function nextPath() {
    const next = new URLSearchParams(location.search).get('next');
    if (!next || !next.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(next)) {
      return null;
    }
    let u;
    try { u = new URL(next, location.origin); } catch (e) { return null; }
    if (u.origin !== location.origin) return null;
    return u.pathname + u.search + u.hash;
  }

  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
    const r = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (r.status !== 204) {
      try { data = await r.json(); } catch (e) { data = null; }
    }
    return { status: r.status, data, retryAfter: r.headers.get('Retry-After') };
  }

  function showError(el, text) {
    el.textContent = text;
    el.hidden = !text;
  }

  function cell(row, text, cls) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (cls) td.className = cls;
    row.appendChild(td);
  }

  async function showAudit() {
    // The dashboard's reports (aggregates, action "statistics") would
    // fill the 20 rows: left out unless asked for.
    const q = $('audit-statistics').checked ? '' : '&exclude_action=statistics';
    const r = await api('GET', `/api/audit?limit=20${q}`);
    if (r.status !== 200 || !r.data) return;
    const body = $('audit-rows');
    body.replaceChildren();
    for (const e of r.data.entries) {
      const tr = document.createElement('tr');
      cell(tr, e.id);
      cell(tr, e.time.replace('T', ' ').replace('Z', ''));
      cell(tr, e.staff);
      cell(tr, e.ip);
      cell(tr, e.action);
      cell(tr, e.route);
      cell(tr, e.subject);
      cell(tr, e.outcome, e.outcome === 'ok' ? '' : 'refused');
      body.appendChild(tr);
    }
    $('audit').hidden = false;
  }

  // The way on from here: the pages of the signed-in role (the
  // dashboard says "not for your role" to customer service and finance,
  // whose work is on the staff pages).
  const WAYS = [
    ['/', 'The statistics dashboard', ['admin', 'analyst']],
    ['/admin/', 'Customer service: the register and data subject requests', ['admin', 'customer_service']],
    ['/admin/exports/', 'Exports: postal labels and the finance export', ['admin', 'customer_service', 'finance']],
  ];

  function showWays(role) {
    const items = WAYS.filter(([, , roles]) => roles.includes(role)).map(([href, text]) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = href;
      a.textContent = text;
      li.appendChild(a);
      return li;
    });
    $('ways').replaceChildren(...items);
  }

  function showSignedIn(me) {
    csrf = me.csrf;
    $('login').hidden = true;
    $('who').textContent = me.name;
    $('role').textContent = me.role.replace('_', ' ');
    $('idle').textContent = String(Math.round((me.idle_timeout_s || 1800) / 60));
    showWays(me.role);
    $('signed-in').hidden = false;
    if (me.role === 'admin') showAudit();
  }

  function showForm() {
    csrf = null;
    $('signed-in').hidden = true;
    $('audit').hidden = true;
    $('login').hidden = false;
    // Sent here by the dashboard when a session ended under it.
    if (new URLSearchParams(location.search).get('ended') === '1')
      showError($('error'), 'Your session has ended. Sign in again to go back where you were.');
    $('username').focus();
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    const username = $('username').value.trim();
    const password = $('password').value;
    if (!username || !password) {
      showError($('error'), 'Give your name and password.');
      return;
    }
    $('submit').disabled = true;
    showError($('error'), '');
    try {
      const r = await api('POST', '/api/login', { username, password });
      if (r.status === 200) {
        $('password').value = '';
        const next = nextPath();
        if (next) { location.assign(next); return; }
        const me = await api('GET', '/api/me');
        if (me.status === 200) showSignedIn(me.data);
      } else if (r.status === 401) {
        showError($('error'), 'Wrong name or password.');
      } else if (r.status === 429) {
        const wait = Math.ceil(Number(r.retryAfter || 60) / 60);
        showError($('error'), 'Too many failed attempts. Try again in ' +
          wait + ' minute' + (wait === 1 ? '' : 's') + '.');
      } else {
        showError($('error'), (r.data && r.data.message) ||
          'The server could not sign you in (' + r.status + ').');
      }
    } catch (e) {
      showError($('error'), 'The server cannot be reached.');
    } finally {
      $('submit').disabled = false;
    }
  }

  async function onLogout() {
    showError($('logout-error'), '');
    const r = await api('POST', '/api/logout');
    if (r.status === 204 || r.status === 401) {
      // Other staff pages of this browser clear what they show.
      if ('BroadcastChannel' in window) new BroadcastChannel('seula-staff').postMessage('signed-out');
      showForm();
    }
    else showError($('logout-error'), 'Signing out failed (' + r.status + ').');
  }

  async function start() {
    $('login').addEventListener('submit', onSubmit);
    $('logout').addEventListener('click', onLogout);
    $('audit-statistics').addEventListener('change', showAudit);
    // Asked without a 401: not being signed in is the usual answer here.
    const me = await api('GET', '/api/session').catch(() => ({ status: 0 }));
    const signedIn = me.status === 200 && me.data && me.data.signed_in;
    // ?again=1: a page wants a fresh sign-in (making an API key does), so
    // the form even for a session, its name filled in.
    if (signedIn && new URLSearchParams(location.search).get('again') !== '1') {
      showSignedIn(me.data);
      return;
    }
    showForm();
    if (signedIn) {
      $('username').value = me.data.name || '';
      showError($('error'), 'Give your password again to go on.');
      $('password').focus();
    }
  }

  start();
})();
