// The visitor's consent receipt (/consent/receipt/#ID, linked from the
// banner): the record GET /api/consent/{receipt} returns, in the language
// the visitor chose in, with the words of the banner they were shown
// (texts_shown), so that they can read and keep what they agreed to.
'use strict';
(() => {
  const WORDS = {
    en: {
      title: 'Consent receipt', site: 'Site', recorded: 'Recorded', method: 'Choice made with',
      until: 'Valid until', policy: 'Version of the texts', receipt: 'Receipt',
      choices: 'Your choices', category: 'Purpose', decision: 'Decision',
      allowed: 'Allowed', refused: 'Refused', gpc: 'Global Privacy Control signal of the browser',
      staff: 'Recorded by the site\'s staff', withdraw: 'Withdrawn',
      erased: 'The personal data of this record (the browser\'s identifier and address) has been erased; the record of the decision is kept as proof.',
      change: 'You can change or withdraw your choices at any time on the site, with the “{reopen}” button.',
      visitor: 'Visitor id',
      visitor_note: 'The identifier of this browser in the site\'s statistics. Give it when you ask the site for a copy of the data held under it or for its erasure.',
      controller: 'Data controller', privacy: 'Privacy statement',
      json: 'This record as data (JSON)', loading: 'Loading…',
      missing: 'No consent record has this receipt. Check the address: it ends with the receipt\'s identifier.',
      failed: 'The receipt could not be loaded. Try again in a moment.',
    },
    fi: {
      title: 'Suostumuskuitti', site: 'Sivusto', recorded: 'Kirjattu', method: 'Valinta tehty',
      until: 'Voimassa', policy: 'Tekstien versio', receipt: 'Kuitti',
      choices: 'Valintasi', category: 'Käyttötarkoitus', decision: 'Päätös',
      allowed: 'Sallittu', refused: 'Kielletty', gpc: 'selaimen Global Privacy Control -signaalilla',
      staff: 'Sivuston henkilökunnan kirjaama', withdraw: 'Peruutettu',
      erased: 'Tämän merkinnän henkilötiedot (selaimen tunniste ja osoite) on poistettu; merkintä päätöksestä säilyy todisteena.',
      change: 'Voit muuttaa tai peruuttaa valintasi milloin tahansa sivustolla painikkeella ”{reopen}”.',
      visitor: 'Kävijätunniste',
      visitor_note: 'Tämän selaimen tunniste sivuston tilastoissa. Ilmoita se, kun pyydät sivustolta kopiota sillä säilytetyistä tiedoista tai niiden poistamista.',
      controller: 'Rekisterinpitäjä', privacy: 'Tietosuojaseloste',
      json: 'Merkintä datana (JSON)', loading: 'Ladataan…',
      missing: 'Tällä kuitilla ei löydy suostumusmerkintää. Tarkista osoite: sen lopussa on kuitin tunnus.',
      failed: 'Kuittia ei voitu ladata. Yritä hetken päästä uudelleen.',
    },
    sv: {
      title: 'Samtyckeskvitto', site: 'Webbplats', recorded: 'Registrerat', method: 'Valet gjort med',
      until: 'Giltigt till', policy: 'Textversion', receipt: 'Kvitto',
      choices: 'Dina val', category: 'Ändamål', decision: 'Beslut',
      allowed: 'Tillåtet', refused: 'Nekat', gpc: 'webbläsarens Global Privacy Control-signal',
      staff: 'Registrerat av webbplatsens personal', withdraw: 'Återkallat',
      erased: 'Personuppgifterna i denna post (webbläsarens identifierare och adress) har raderats; posten om beslutet sparas som bevis.',
      change: 'Du kan när som helst ändra eller återkalla dina val på webbplatsen med knappen ”{reopen}”.',
      visitor: 'Besökar-id',
      visitor_note: 'Denna webbläsares identifierare i webbplatsens statistik. Uppge den när du begär en kopia av uppgifterna som sparas under den eller att de raderas.',
      controller: 'Personuppgiftsansvarig', privacy: 'Dataskyddsbeskrivning',
      json: 'Posten som data (JSON)', loading: 'Laddar…',
      missing: 'Det finns ingen samtyckespost med detta kvitto. Kontrollera adressen: den slutar med kvittots id.',
      failed: 'Kvittot kunde inte laddas. Försök igen om en stund.',
    },
  };
  const $ = (id) => document.getElementById(id);
  const pick = (lang) => (WORDS[lang] ? lang : 'en');
  let lang = pick((navigator.language || 'en').slice(0, 2).toLowerCase());

  function setLanguage(l) {
    lang = pick(l);
    document.documentElement.lang = lang;
  }

  function when(iso) {
    const t = new Date(iso);
    if (Number.isNaN(t.getTime())) return iso || '';
    return new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'short' }).format(t);
  }

  function say(text) {
    $('status').textContent = text;
    $('status').hidden = !text;
  }

  function show(rec) {
    setLanguage(rec.language);
    const w = WORDS[lang];
    const texts = rec.texts_shown && typeof rec.texts_shown === 'object' ? rec.texts_shown : {};
    const word = (key, fallback) => (typeof texts[key] === 'string' && texts[key]) || fallback;
    const title = word('receipt', w.title);
    $('heading').textContent = title;
    document.title = `${title} · ${rec.site}`;
    for (const k of ['site', 'recorded', 'method', 'until', 'policy', 'receipt', 'choices', 'category', 'decision'])
      $(`label-${k}`).textContent = w[k];
    $('site').textContent = rec.site;
    // Who holds the record, and where they say what they do with it: the
    // texts shown name the controller when the server has one, which is
    // also when it serves its privacy statement.
    const controller = word('controller', '').trim();
    $('label-controller').textContent = w.controller;
    $('controller').textContent = controller;
    $('label-controller').hidden = $('controller').hidden = !controller;
    $('privacy').textContent = w.privacy;
    $('privacy').href = `/privacy?lang=${encodeURIComponent(rec.language || lang)}`;
    $('privacy-line').hidden = !controller;
    // The server's time: given_at is the browser's clock, which can be
    // anything.
    $('recorded').textContent = when(rec.received_at);
    // The method by the words of the button that made it.
    const methods = {
      accept_all: word('accept_all', 'Accept all'), reject_all: word('reject_all', 'Reject all'),
      custom: word('save', 'Save choices'), withdraw: word('withdraw', w.withdraw), gpc: w.gpc,
    };
    $('method').textContent = rec.source === 'staff' ? w.staff : (methods[rec.method] || rec.method);
    $('until').textContent = when(rec.valid_until);
    $('policy').textContent = rec.policy_version;
    $('receipt').textContent = rec.receipt;
    // The id a request for the visitor's data names them by (GDPR art.
    // 11(2)): staff ask for it as the receipt shows it.  None once erased,
    // nor when no id was ever set.
    const vid = typeof rec.visitor_id === 'string' && rec.visitor_id ? rec.visitor_id : '';
    $('label-visitor').textContent = w.visitor;
    $('visitor').textContent = vid;
    $('visitor-note').textContent = w.visitor_note;
    $('label-visitor').hidden = !vid;
    $('visitor-fact').hidden = !vid;
    // The categories as the banner listed them: [{ id, name, ... }].
    const names = {};
    for (const c of Array.isArray(texts.categories) ? texts.categories : [])
      if (c && typeof c.id === 'string' && typeof c.name === 'string') names[c.id] = c.name;
    const rows = [];
    // Stored as "granted" or "denied" (a boolean in older records).
    for (const [key, v] of Object.entries(rec.decisions || {})) {
      const name = names[key] || key;
      const granted = v === 'granted' || v === true;
      const decision = key === 'necessary' ? word('always_on', w.allowed) : granted ? w.allowed : w.refused;
      const tr = document.createElement('tr');
      tr.dataset.category = key;
      for (const [tag, text] of [['th', name], ['td', decision]]) {
        const cell = document.createElement(tag);
        if (tag === 'th') cell.scope = 'row';
        cell.textContent = text;
        tr.append(cell);
      }
      rows.push(tr);
    }
    $('choices').replaceChildren(...rows);
    $('erased').textContent = w.erased;
    $('erased').hidden = !rec.erased;
    $('change').textContent = w.change.replace('{reopen}', word('reopen', 'Cookie settings'));
    $('json').textContent = w.json;
    $('json').href = `/api/consent/${encodeURIComponent(rec.receipt)}`;
    say('');
    $('record').hidden = false;
  }

  // Which lookup is the latest: an earlier one answering late (the
  // address's '#' part changed meanwhile) is not shown.
  let asked = 0;

  async function start() {
    const mine = ++asked;
    // Another receipt's, when only the address's '#' part changed.
    $('record').hidden = true;
    setLanguage(lang);
    say(WORDS[lang].loading);
    let id;
    try {
      id = decodeURIComponent(location.hash.slice(1)).trim();
    } catch {
      id = ''; // a broken escape ("#%E0%A4%A") is no receipt either
    }
    // A receipt id is a UUID: anything else is not asked for.
    if (!/^[0-9a-fA-F-]{36}$/.test(id)) {
      say(WORDS[lang].missing);
      return;
    }
    let r, rec = null;
    try {
      r = await fetch(`/api/consent/${encodeURIComponent(id)}`, { headers: { Accept: 'application/json' } });
      // A proxy's or a portal's page in its place is no record.
      if (r.ok) rec = await r.json();
    } catch {
      r = null;
    }
    if (mine !== asked) return;
    if (r && r.status === 404) {
      say(WORDS[lang].missing);
      return;
    }
    if (!rec || typeof rec !== 'object' || String(rec.receipt).toLowerCase() !== id.toLowerCase()) {
      say(WORDS[lang].failed);
      return;
    }
    show(rec);
  }

  window.addEventListener('hashchange', start);
  start();
})();
