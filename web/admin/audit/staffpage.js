// What the staff pages under /admin/ share: the session (a stranger is sent
// to sign in and back), the nav with who is signed in and a sign-out
// button, and requests that carry the CSRF token.  Loaded before the page's
// own script by /admin/audit/, /admin/exports/ and /admin/keys/; no inline
// script: the static server's Content-Security-Policy allows only 'self'.
'use strict';

window.SeulaStaff = (function () {
  const LINKS = [
    // [path, text, the roles the page is for]
    ['/admin/', 'Register and requests', ['admin', 'customer_service']],
    ['/admin/exports/', 'Exports', ['admin', 'customer_service', 'finance']],
    ['/admin/audit/', 'Audit log', ['admin']],
    ['/admin/keys/', 'API keys', ['admin', 'analyst']],
    ['/', 'Dashboard', ['admin', 'analyst']],
  ];
  let me = null;

  function roleName(role) {
    return String(role).replace(/_/g, ' ');
  }

  function toSignIn() {
    const here = location.pathname + location.search;
    // Replaced, not pushed: Back from the sign-in page leaves, rather
    // than coming here to be sent to sign in again.
    location.replace('/login/?next=' + encodeURIComponent(here));
  }

  // fetch() with the session's CSRF token on every request: the server
  // wants it on anything that changes state, which includes the GET
  // exports (they record who was on them).  Resolves to the Response.
  function request(method, path, body) {
    const headers = {};
    if (me && me.csrf) headers['X-CSRF-Token'] = me.csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    lastRequest = Date.now();
    if (channel) channel.postMessage('active');
    return fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  // The message of a JSON error body ({"error", "message"}), or the text,
  // or the status: what the server said, plainly.
  async function errorText(r) {
    const text = await r.text().catch(() => '');
    try {
      const doc = JSON.parse(text);
      if (doc && doc.message)
        return doc.message + (doc.error ? ' (' + doc.error + ', HTTP ' + r.status + ')' : '');
    } catch (e) { /* not JSON: the text as it is */ }
    return (text.trim() || 'no answer') + ' (HTTP ' + r.status + ')';
  }

  function buildNav(nav) {
    const list = document.createElement('ul');
    for (const [href, text, roles] of LINKS) {
      if (me && !roles.includes(me.role)) continue;
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = href;
      a.textContent = text;
      if (href === location.pathname) a.setAttribute('aria-current', 'page');
      li.appendChild(a);
      list.appendChild(li);
    }
    nav.replaceChildren(list);
  }

  // Staff pages tell each other of a sign-out, and of each request (the
  // session's idle time restarts whichever tab asks); a page whose session
  // went (there, or idle) clears what it showed at once.
  const channel = 'BroadcastChannel' in window ? new BroadcastChannel('seula-staff') : null;
  let lastRequest = Date.now();

  function sessionGone() {
    for (const main of document.querySelectorAll('main')) main.replaceChildren();
    location.replace('/login/?ended=1&next=' +
      encodeURIComponent(location.pathname + location.search));
  }

  async function signOut() {
    const status = document.getElementById('staff-status');
    let r;
    try {
      r = await request('POST', '/api/logout');
    } catch (e) {
      status.textContent = 'Signing out failed: the server cannot be reached.';
      return;
    }
    if (r.status === 204 || r.status === 401) {
      if (channel) channel.postMessage('signed-out');
      location.assign('/login/');
      return;
    }
    status.textContent = 'Signing out failed: ' + await errorText(r);
  }

  // Asks who is signed in; sends a stranger (or an ended session) to sign
  // in and resolves to null, else fills the nav and resolves to
  // {name, role, csrf}.
  async function start() {
    let r;
    try {
      r = await fetch('/api/session', { credentials: 'same-origin', cache: 'no-store' });
    } catch (e) {
      r = null;
    }
    const doc = r && r.ok ? await r.json().catch(() => null) : null;
    if (!doc) {
      document.getElementById('staff-status').textContent =
        'The server cannot be reached. Reload the page to try again.';
      return null;
    }
    if (!doc.signed_in) {
      toSignIn();
      return null;
    }
    me = { name: doc.name, role: doc.role, csrf: doc.csrf };
    if (channel) {
      channel.onmessage = (ev) => {
        if (ev.data === 'signed-out') sessionGone();
        else if (ev.data === 'active') lastRequest = Date.now();
      };
    }
    const idleMs = (Number(doc.idle_timeout_s) || 0) * 1000;
    if (idleMs > 0) setInterval(() => { if (Date.now() - lastRequest >= idleMs) sessionGone(); }, Math.min(30000, idleMs / 4));
    buildNav(document.getElementById('staff-nav'));
    document.getElementById('staff-name').textContent = me.name;
    document.getElementById('staff-role').textContent = roleName(me.role);
    document.getElementById('staff-who').hidden = false;
    document.getElementById('sign-out').addEventListener('click', signOut);
    return me;
  }

  // A table cell with `text`, appended to the row `tr`.
  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  const FORMAT = {
    minutes: new Intl.DateTimeFormat(undefined, {
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    }),
    seconds: new Intl.DateTimeFormat(undefined, {
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    }),
  };

  // A time of the API ("2026-12-04T16:00:00Z") in the browser's zone.
  function localTime(iso, seconds) {
    const when = new Date(iso);
    return isNaN(when) ? iso : FORMAT[seconds ? 'seconds' : 'minutes'].format(when);
  }

  // A cell of such a time, with UTC below; opts.none (muted) where it is
  // null, opts.cls a class besides nowrap, opts.seconds to show them.
  function timeCell(tr, iso, opts = {}) {
    const td = cell(tr, '', 'nowrap' + (opts.cls ? ' ' + opts.cls : ''));
    if (!iso) {
      td.textContent = opts.none || '';
      td.classList.add('muted');
      return td;
    }
    const t = document.createElement('time');
    t.dateTime = iso;
    t.textContent = localTime(iso, opts.seconds);
    const utc = document.createElement('span');
    utc.className = 'utc';
    utc.textContent = iso.replace('T', ' ').replace('Z', ' UTC');
    td.append(t, utc);
    return td;
  }

  // A request whose session ended under the page: back to sign in.
  function sessionEnded(r) {
    if (r.status !== 401) return false;
    location.replace('/login/?ended=1&next=' +
      encodeURIComponent(location.pathname + location.search));
    return true;
  }

  return { start, request, errorText, sessionEnded, roleName, cell, timeCell, localTime };
})();
