// Personal API keys (admins and analysts): GET /api/keys lists them (an
// admin's list has every account's, with their owner), POST /api/keys
// makes one and answers its secret this once, DELETE /api/keys/{id}
// revokes one.  The new key is shown in a read-only field with a Copy
// button and an example request, until the page is left or the user says
// they copied it; nothing keeps it (no storage, no address).  A revocation
// asks first, in the row itself (no window.confirm: a dialog of the
// browser's own is outside the page's focus order and its tests).
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const Staff = window.SeulaStaff;
  const ROLES = ['admin', 'analyst'];
  let me = null;
  let site = null; // a configured site for the example request, or null
  let keys = [];
  let maxPerAccount = null;

  const { cell, timeCell } = window.SeulaStaff;

  // Past its expiry, by the server's clock: it lists an expired key,
  // refused, for 30 days, then deletes it.
  const expired = (k) => k.expired === true;

  function showError(id, text) {
    $(id).textContent = text;
    $(id).hidden = !text;
  }

  // ---- the list ------------------------------------------------------------

  function render() {
    const admin = me.role === 'admin';
    const body = $('keys-rows');
    body.replaceChildren();
    for (const th of document.querySelectorAll('.owner-col')) th.hidden = !admin;
    $('keys-caption').textContent = admin
      ? 'Every account\'s keys, newest first' : 'Your keys, newest first';
    if (!keys.length) {
      const tr = document.createElement('tr');
      tr.className = 'empty';
      const td = cell(tr, admin ? 'No account has a key.' : 'You have no key.', 'muted');
      td.colSpan = admin ? 7 : 6;
      body.appendChild(tr);
    }
    for (const k of keys) {
      const tr = document.createElement('tr');
      tr.dataset.id = k.id;
      tr.dataset.owner = k.owner;
      cell(tr, k.name, 'name');
      const hint = cell(tr, '', 'hint');
      const code = document.createElement('code');
      code.textContent = k.hint + '…';
      hint.appendChild(code);
      if (admin) cell(tr, k.owner, 'owner');
      timeCell(tr, k.created, { cls: 'created' });
      timeCell(tr, k.last_used, { none: 'never', cls: 'last-used' });
      const exp = timeCell(tr, k.expires, { none: 'never', cls: 'expires' });
      if (expired(k)) {
        const note = document.createElement('strong');
        note.className = 'expired';
        note.textContent = 'expired';
        exp.append(' ', note);
      }
      const act = cell(tr, '', 'actions');
      act.appendChild(revokeButton(k));
      body.appendChild(tr);
    }
    const own = keys.filter((k) => k.owner === me.name).length;
    const full = maxPerAccount !== null && own >= maxPerAccount;
    $('create-fields').disabled = full;
    $('create-limit').hidden = maxPerAccount === null;
    $('create-limit').textContent = full
      ? `You have ${own} keys, the most an account may have: revoke one to create another.`
      : `You have ${own} of the ${maxPerAccount} keys an account may have.`;
  }

  async function load() {
    let r;
    try {
      r = await Staff.request('GET', '/api/keys');
    } catch (e) {
      showError('list-error', 'The server cannot be reached. Reload the page to try again.');
      return false;
    }
    if (Staff.sessionEnded(r)) return false;
    if (!r.ok) {
      showError('list-error', 'The keys cannot be read: ' + await Staff.errorText(r) + '.');
      return false;
    }
    const doc = await r.json();
    keys = doc.keys || [];
    maxPerAccount = Number.isInteger(doc.max_per_account) ? doc.max_per_account : null;
    showError('list-error', '');
    render();
    return true;
  }

  // ---- revoking, with an inline confirmation -------------------------------

  function button(text, cls, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener('click', onClick);
    return b;
  }

  // The button's name says which key ("Revoke Looker"): a list of them
  // each called "Revoke" tells a screen reader's user nothing.
  function revokeButton(k) {
    const b = button('Revoke', 'secondary revoke', () => askRevoke(k, b.parentElement));
    const which = document.createElement('span');
    which.className = 'visually-hidden';
    which.textContent = ' ' + k.name;
    b.appendChild(which);
    return b;
  }

  function askRevoke(k, td) {
    const whose = k.owner === me.name ? '' : ` (${k.owner}'s key)`;
    const box = document.createElement('div');
    box.className = 'confirm';
    box.setAttribute('role', 'group');
    box.id = 'confirm-' + k.id;
    const q = document.createElement('p');
    q.id = box.id + '-q';
    q.textContent = `Revoke "${k.name}"${whose}? Programs that use it are refused from now on. ` +
      'This cannot be undone.';
    box.setAttribute('aria-labelledby', q.id);
    const yes = button('Yes, revoke it', 'danger confirm-revoke', () => revoke(k, box));
    const no = button('Cancel', 'secondary cancel-revoke', () => {
      const again = revokeButton(k);
      td.replaceChildren(again);
      again.focus();
    });
    box.append(q, yes, no);
    box.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && !no.disabled) no.click();
    });
    td.replaceChildren(box);
    // Focus on the safe choice: Enter pressed once more does no harm.
    no.focus();
  }

  async function revoke(k, box) {
    for (const b of box.querySelectorAll('button')) b.disabled = true;
    showError('list-error', '');
    let r;
    try {
      r = await Staff.request('DELETE', '/api/keys/' + encodeURIComponent(k.id));
    } catch (e) {
      r = null;
    }
    if (r && Staff.sessionEnded(r)) return;
    if (!r || (r.status !== 204 && r.status !== 404)) {
      showError('list-error', `"${k.name}" was not revoked: ` +
        (r ? await Staff.errorText(r) : 'the server cannot be reached') + '.');
      for (const b of box.querySelectorAll('button')) b.disabled = false;
      return;
    }
    // 404: gone already (revoked in another tab, or its account's
    // password changed): the same outcome.
    $('list-status').textContent = r.status === 204
      ? `"${k.name}" is revoked: requests with it are refused from now on.`
      : `"${k.name}" was already gone.`;
    await load();
    // Its row, and the button that had the focus, are gone.
    $('list-title').focus();
  }

  // ---- creating a key --------------------------------------------------------

  function example(key) {
    const where = site === null ? 'SITE' : encodeURIComponent(site);
    return `curl -H "Authorization: Bearer ${key}" ${location.origin}/api/stats/${where}/summary`;
  }

  function forgetKey() {
    $('new-key-value').value = '';
    $('curl-example').textContent = '';
    $('copy-status').textContent = '';
    $('new-key').hidden = true;
  }

  async function create(ev) {
    ev.preventDefault();
    const nameInput = $('key-name');
    const name = nameInput.value.trim();
    showError('create-error', '');
    $('create-status').textContent = '';
    nameInput.removeAttribute('aria-invalid');
    forgetKey();
    let problem = null;
    if (!name) problem = 'Give the key a name: what it is for.';
    else if ([...name].length > 64) problem = 'The name is longer than 64 characters.';
    // eslint-disable-next-line no-control-regex
    else if (/[\u0000-\u001f\u007f]/.test(name)) problem = 'The name cannot hold control characters.';
    if (problem) {
      nameInput.setAttribute('aria-invalid', 'true');
      showError('create-error', problem);
      nameInput.focus();
      return;
    }
    const body = { name };
    const days = $('key-expires').value;
    if (days) body.expires_days = Number(days);
    const submit = $('create-key');
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      let r;
      try {
        r = await Staff.request('POST', '/api/keys', body);
      } catch (e) {
        throw new Error('The server cannot be reached. No key was made.');
      }
      if (Staff.sessionEnded(r)) return;
      if (r.status !== 201) {
        const text = await Staff.errorText(r);
        if (r.status === 403 && /\(sign_in_again,/.test(text)) {
          // The server asks for a fresh sign-in: the way to one, and back.
          showError('create-error', 'No key was made: making a key asks for a sign-in of the ' +
            'last 15 minutes. ');
          const again = document.createElement('a');
          again.href = '/login/?again=1&next=' + encodeURIComponent('/admin/keys/');
          again.textContent = 'Sign in again';
          $('create-error').append(again, ' to make it.');
          return;
        }
        if (r.status === 400 && /invalid_name/.test(text)) nameInput.setAttribute('aria-invalid', 'true');
        throw new Error('No key was made: ' + text + '.');
      }
      const made = await r.json();
      $('new-key-name').textContent = `("${made.name}")`;
      $('new-key-value').value = made.key;
      $('curl-example').textContent = example(made.key);
      $('new-key').hidden = false;
      $('create-status').textContent = `Key "${made.name}" created` +
        (made.expires ? `, until ${window.SeulaStaff.localTime(made.expires)}` : ', with no end') +
        '. Copy it now: you will not see it again.';
      nameInput.value = '';
      // The key to copy has the focus as it appears, not once the list
      // is read again (a slow server left the focus on the button).
      $('new-key-value').focus();
      $('new-key-value').select();
      await load();
    } catch (e) {
      showError('create-error', e.message);
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  }

  async function copyKey() {
    const input = $('new-key-value');
    const status = $('copy-status');
    status.className = 'small';
    let done = false;
    try {
      // Only in a secure context (https, or this machine).
      if (navigator.clipboard) {
        await navigator.clipboard.writeText(input.value);
        done = true;
      }
    } catch (e) { done = false; }
    if (!done) {
      input.focus();
      input.select();
      try { done = document.execCommand('copy'); } catch (e) { done = false; }
    }
    status.textContent = done ? 'Copied.' : 'The browser did not let the page copy: the key ' +
      'is selected, copy it yourself (Ctrl+C or ⌘C).';
    status.classList.add(done ? 'ok' : 'error');
  }

  // A site for the example request: the first the statistics list.
  async function findSite() {
    try {
      const r = await Staff.request('GET', '/api/stats/sites');
      if (!r.ok) return null;
      const doc = await r.json();
      return doc.sites && doc.sites.length ? doc.sites[0] : null;
    } catch (e) {
      return null;
    }
  }

  async function start(who) {
    me = who;
    if (!me) return;
    if (!ROLES.includes(me.role)) {
      $('refused-text').textContent = 'API keys read the statistics, which are for ' +
        'administrators and analysts. You are signed in as ' + me.name + ', whose role is ' +
        Staff.roleName(me.role) + ', so there are none for you.';
      $('refused').hidden = false;
      return;
    }
    $('keys-page').hidden = false;
    $('create-form').addEventListener('submit', create);
    $('copy-key').addEventListener('click', copyKey);
    $('forget-key').addEventListener('click', () => {
      forgetKey();
      $('create-status').textContent = '';
      $('key-name').focus();
    });
    findSite().then((s) => { site = s; });
    await load();
  }

  Staff.start().then(start);
})();
