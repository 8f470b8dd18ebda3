#!/usr/bin/env node
// A made-up customer register for the demo, put in through the staff API
// as customer service would: so the admin pages have people, orders,
// legal holds, objections and a data subject request to show, and every
// step is in the audit log under the demo account.
//
//   node contrib/demo-customers.mjs BASE-URL NAME < password-file
//
// contrib/setup.sh demo runs it once, after the server's first start.
// Everyone here is invented (e-mail at example.fi and example.com).  Waits
// up to 30 s for the server to answer; exits non-zero, having said why,
// when a step is refused.
'use strict';

const [base, name] = process.argv.slice(2);
if (!base || !name) {
  console.error('usage: demo-customers.mjs BASE-URL NAME < password-file');
  process.exit(2);
}

async function readStdin() {
  let s = '';
  for await (const chunk of process.stdin) s += chunk;
  return s.trim();
}

async function waitForServer() {
  for (let i = 0; i < 60; i++) {
    try {
      const r = await fetch(`${base}/api/health`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 500));
  }
  throw new Error(`${base} did not answer in 30 s`);
}

let cookie = '';
let csrf = '';

async function call(method, path, body, type = 'application/json') {
  const headers = { cookie };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = type;
  const r = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const people = [
  // first, last, organisation, email, street, postal code, city, country, segment, start, end
  ['Aino', 'Lehtonen', 'Lehtonen Design Oy', 'aino.lehtonen@example.fi', 'Satamakatu 4 B 12', '00160', 'Helsinki', 'FI', 'agency', '2019-03-11', ''],
  ['Mikko', 'Rantanen', 'Rantasen Puutarha', 'mikko@example.fi', 'Koulutie 7', '33100', 'Tampere', 'FI', 'retail', '2021-06-01', ''],
  ['Sanna', 'Kivelä', '', 'sanna.kivela@example.com', 'Rauhankatu 18 A 3', '20100', 'Turku', 'FI', 'consumer', '2023-01-20', ''],
  ['Jukka', 'Heinonen', 'Heinonen & Poika Ky', 'jukka.heinonen@example.fi', 'Teollisuustie 22', '90620', 'Oulu', 'FI', 'manufacturing', '2016-09-05', '2024-12-31'],
  ['Elina', 'Mäkinen', 'Kahvila Kulma', 'elina@example.com', 'Kauppakatu 9', '40100', 'Jyväskylä', 'FI', 'retail', '2022-04-14', ''],
  ['Oskari', 'Laine', '', 'oskari.laine@example.fi', 'Mäntytie 3', '15110', 'Lahti', 'FI', 'consumer', '2024-08-02', ''],
  ['Linnea', 'Berg', 'Berg Konsult AB', 'linnea.berg@example.com', 'Storgatan 12', '11455', 'Stockholm', 'SE', 'agency', '2020-11-23', ''],
  ['Kadri', 'Tamm', 'Tamm OÜ', 'kadri@example.com', 'Narva mnt 5', '10117', 'Tallinn', 'EE', 'manufacturing', '2025-02-10', ''],
  ['Ville', 'Koskinen', 'Koskisen Kuljetus Oy', 'ville.koskinen@example.fi', 'Rahtarintie 1', '01530', 'Vantaa', 'FI', 'logistics', '2018-05-30', ''],
  ['Helmi', 'Salo', '', 'helmi.salo@example.com', 'Puistokatu 2 C 9', '70100', 'Kuopio', 'FI', 'consumer', '2025-09-18', ''],
];

const csvField = (v) => (/[;"\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

function registerCsv() {
  const header = ['first_name', 'last_name', 'organisation', 'email', 'phone', 'street', 'postal_code', 'city', 'country', 'segment', 'relationship_start', 'relationship_end', 'source'];
  const rows = people.map((p, i) => {
    const [first, last, org, email, street, postal, city, country, segment, start, end] = p;
    const phone = `+358 50 555 01${String(i).padStart(2, '0')}`;
    return [first, last, org, email, phone, street, postal, city, country, segment, start, end, 'demo'];
  });
  return [header, ...rows].map((r) => r.map(csvField).join(';')).join('\r\n') + '\r\n';
}

function order(number, date, status, lines) {
  return {
    number,
    date,
    currency: 'EUR',
    invoice_status: status,
    lines: lines.map(([description, quantity, cents]) => ({ description, quantity, unit_price_cents: cents })),
  };
}

async function main() {
  const password = await readStdin();
  await waitForServer();
  const r = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, password }),
  });
  if (!r.ok) throw new Error(`login as ${name}: ${r.status} ${await r.text()}`);
  cookie = (r.headers.getSetCookie() || []).map((c) => c.split(';')[0]).join('; ');
  csrf = (await r.json()).csrf;

  const imported = await call('POST', '/api/customers/import', registerCsv(), 'text/csv; charset=utf-8');
  if (imported.imported !== people.length) {
    // Some were in already (a run whose marker was not left): their
    // orders and requests are not made twice.
    console.log(`demo register: ${imported.duplicates} of the made-up customers were already in; nothing more added`);
    return;
  }
  const id = (i) => imported.first_id + i;

  // Orders: paid ones, an open invoice (a legal hold on erasure) and one
  // in debt collection.
  const orders = [
    [0, order('D-2025-0141', '2025-10-02', 'paid', [['Verkkosivujen ylläpito, vuosi', 1, 180000]])],
    [0, order('D-2026-0087', '2026-09-15', 'open', [['Kampanjasivu', 1, 64000], ['Kuvapankki, lisenssi', 3, 4900]])],
    [1, order('D-2026-0032', '2026-04-22', 'paid', [['Taimet, kevätlähetys', 40, 350], ['Rahti', 1, 2900]])],
    [3, order('D-2024-0210', '2024-11-08', 'collection', [['Huoltosopimus, Q4', 1, 42000]])],
    [4, order('D-2026-0101', '2026-10-30', 'paid', [['Kahvinpaahtimon esittely', 1, 15000]])],
    [6, order('D-2026-0055', '2026-06-12', 'paid', [['Consulting day', 2, 95000]])],
    [8, order('D-2026-0120', '2026-11-20', 'open', [['Kuljetusseuranta, kuukausi', 1, 24900]])],
  ];
  for (const [i, o] of orders) await call('POST', `/api/customers/${id(i)}/orders`, o);

  // The rights in use: an objection to direct marketing (kept out of the
  // postal labels), a restriction, and an access request still open.
  await call('PATCH', `/api/customers/${id(2)}`, { flags: { objects_direct_marketing: true } });
  await call('PATCH', `/api/customers/${id(5)}`, { flags: { objects_publication: true } });
  await call('POST', '/api/dsr', { type: 'restriction', customer_id: id(9), verification: 'demo: asked by e-mail from the address on file', restricted: true });
  await call('POST', '/api/dsr', { type: 'access', customer_id: id(4), verification: 'demo: signed letter, ID checked at the counter' });

  console.log(`demo register: ${imported.imported} made-up customers (ids ${imported.first_id}-${imported.last_id}), ${orders.length} orders, 2 requests`);
}

main().catch((e) => {
  console.error(`demo-customers: ${e.message}`);
  process.exit(1);
});
