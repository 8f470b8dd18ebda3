// Downloads of the register's exports: postal labels (admin, customer
// service) and the finance export (admin, finance).  Each is a GET that
// records who was on it, so it goes through fetch() with the session's
// X-CSRF-Token (a plain link could not send it), and is saved from a Blob
// under the name the server gives in Content-Disposition.  What the server
// recorded is said after each download; an error body is shown as it came.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const Staff = window.SeulaStaff;
  const EXPORTS = {
    'labels-csv': {
      section: 'labels', path: '/api/labels?format=csv', route: 'GET /api/labels',
      fallback: 'labels.csv',
      recorded: 'Each person on the labels is recorded as on a label export (by you, as CSV), ' +
        'and shown in their access export; the audit log has one entry for the download.',
    },
    'labels-pdf': {
      section: 'labels', path: '/api/labels?format=pdf', route: 'GET /api/labels',
      fallback: 'labels.pdf',
      recorded: 'Each person on the labels is recorded as on a label export (by you, as PDF), ' +
        'and shown in their access export; the audit log has one entry for the download.',
    },
    'finance-csv': {
      section: 'finance', path: '/api/customers/export/finance?format=csv',
      route: 'GET /api/customers/export/finance', fallback: 'finance.csv',
      recorded: 'Each person in the file is recorded as a disclosure to the finance partner ' +
        '(by you, with the fields sent), and shown in their access export; the audit log ' +
        'has one entry for the download.',
    },
  };
  let me = null;

  // The file name of a Content-Disposition header (RFC 6266: filename*
  // first), without any folder part; null when there is none.
  function fileName(header) {
    if (!header) return null;
    let name = null;
    const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
    if (star) {
      try { name = decodeURIComponent(star[1].trim()); } catch (e) { name = null; }
    }
    if (!name) {
      const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
      if (plain) name = plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2];
    }
    if (!name) return null;
    name = name.split(/[/\\]/).pop().trim();
    return name && name !== '.' && name !== '..' ? name : null;
  }

  // Records of a CSV (RFC 4180: a quoted cell may hold a line break).
  function csvRecords(text) {
    let n = 0, quoted = false, any = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '"') quoted = !quoted;
      else if (c === '\n' && !quoted) { n++; any = false; continue; }
      if (c !== '\r') any = true;
    }
    return n + (any ? 1 : 0);
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + ' bytes';
    return new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }).format(bytes / 1024) + ' kB';
  }

  function save(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
    // The download has its own copy once it has started.
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function para(text, cls) {
    const p = document.createElement('p');
    p.textContent = text;
    if (cls) p.className = cls;
    return p;
  }

  // An admin can read the audit entry the download made: its own words,
  // with the number of persons.
  async function auditEntry(spec) {
    if (me.role !== 'admin') return null;
    const q = new URLSearchParams({ action: 'export', staff: me.name, limit: '5' });
    try {
      const r = await Staff.request('GET', '/api/audit?' + q);
      if (!r.ok) return null;
      const doc = await r.json();
      return doc.entries.find((e) => e.route === spec.route) || null;
    } catch (e) {
      return null;
    }
  }

  async function download(button) {
    const spec = EXPORTS[button.dataset.export];
    const result = $(spec.section + '-result');
    const error = $(spec.section + '-error');
    const buttons = document.querySelectorAll('#' + spec.section + ' button');
    result.replaceChildren();
    error.hidden = true;
    error.textContent = '';
    buttons.forEach((b) => { b.disabled = true; });
    button.setAttribute('aria-busy', 'true');
    result.append(para('Preparing the file…', 'muted'));
    try {
      let r;
      try {
        r = await Staff.request('GET', spec.path);
      } catch (e) {
        throw new Error('The server cannot be reached. Nothing was downloaded.');
      }
      if (Staff.sessionEnded(r)) return;
      if (!r.ok)
        throw new Error('The export was refused: ' + await Staff.errorText(r) +
          '. Nothing was downloaded or recorded.');
      const blob = await r.blob();
      const name = fileName(r.headers.get('Content-Disposition')) || spec.fallback;
      save(blob, name);
      result.replaceChildren();
      let what = 'Saved ' + name + ' (' + size(blob.size) + ')';
      if (/csv/.test(blob.type)) {
        const rows = csvRecords(await blob.text()) - 1;
        what += ': ' + rows + ' ' + (rows === 1 ? 'row' : 'rows') + ' besides the header';
      }
      result.append(para(what + '.', 'ok'));
      result.append(para('Recorded: ' + spec.recorded));
      const entry = await auditEntry(spec);
      if (entry)
        result.append(para('Audit entry #' + entry.id + ': ' + (entry.detail || entry.action) + '.',
          'small audit-entry'));
    } catch (e) {
      result.replaceChildren();
      error.textContent = e.message;
      error.hidden = false;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      button.removeAttribute('aria-busy');
    }
  }

  function start(who) {
    me = who;
    if (!me) return;
    const labels = me.role === 'admin' || me.role === 'customer_service';
    const finance = me.role === 'admin' || me.role === 'finance';
    $('labels').hidden = !labels;
    $('finance').hidden = !finance;
    if (!labels && !finance) {
      $('refused-text').textContent = 'Exports of customers\' personal data are for ' +
        'administrators, customer service (postal labels) and finance (the finance ' +
        'export). You are signed in as ' + me.name + ', whose role is ' +
        Staff.roleName(me.role) + ', so none of them is yours.';
      $('refused').hidden = false;
      return;
    }
    for (const b of document.querySelectorAll('button[data-export]'))
      b.addEventListener('click', () => download(b));
  }

  Staff.start().then(start);
})();
