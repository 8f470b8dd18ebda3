"""The data subject rights (POST /api/dsr and friends, the customers plugin
with every plugin's subject hook) against the real server and real SQLite:
access as one zip of JSON and CSV across every plugin (PROMISES 27, 29),
rectification with the recipients to notify or a written refusal (30),
erasure that leaves nothing of the person in the database files, the WAL
or the shared memory while both hash chains still verify (17, 33), legal
holds answering 409 and restricting instead (17, 31), restriction and
objections honoured by labels and the finance export (28, 31),
anonymisation (33), deadlines and their extension, roles, and the audit
entries of every step (6).
"""
import calendar
import csv
import datetime
import io
import json
import os
import re
import sqlite3
import time
import unittest
import uuid
import zipfile
import zoneinfo

from seulatest import (Server, add_closed_visits, add_user, assert_json_error,
                       block_ints, drop_api_key_columns, login, record_consent,
                       run_seula)

PASSWORDS = {
    "ada": "plum-Orbit-7-lantern",
    "ann": "copper+Fjord+42+heron",
    "cid": "velvet_Quarry_19_moss",
    "fin": "maple.Signal.88.drift",
}
ROLES = {"ada": "admin", "ann": "analyst", "cid": "customer_service",
         "fin": "finance"}
PLUGINS = ("anonymize", "analytics", "customers")


def start_server(sections=None, server=None):
    secs = {"auth": {"login_max_failures": "1000"}}
    secs.update(sections or {})
    srv = Server(plugins=PLUGINS, sections=secs, server=server)
    for name, role in ROLES.items():
        add_user(srv, name, role, PASSWORDS[name])
    srv.start()
    staff = {name: login(srv, name, PASSWORDS[name]) for name in ROLES}
    return srv, staff


def person(tag):
    """A person whose every identifying value is unique to the test, so a
    byte search finds only them."""
    return {"first_name": "Fn%sqz" % tag, "last_name": "Ln%sqz" % tag,
            "organisation": "Org%sqz Oy" % tag,
            "email": "mail.%s@dsr-test.example" % tag.lower(),
            "street": "Katu%sqz 5" % tag, "postal_code": "00100",
            "city": "Helsinki", "country": "FI",
            "phone": "+358 40 %s" % str(abs(hash(tag)) % 10**7).zfill(7),
            "website": "https://%s.dsr-test.example/" % tag.lower(),
            "source": "registration", "relationship_start": "2024-01-15"}


def create(s, tag, **fields):
    body = person(tag)
    body.update(fields)
    r = s.request("POST", "/api/customers", body)
    if r.status != 201:
        raise AssertionError("create: %r" % r)
    return r.json()


def add_order(s, cid, number, status="paid"):
    r = s.request("POST", "/api/customers/%d/orders" % cid, {
        "number": number, "date": "2025-03-01", "currency": "EUR",
        "invoice_status": status,
        "lines": [{"description": "Widget", "quantity": 2,
                   "unit_price_cents": 1250}]})
    if r.status != 201:
        raise AssertionError("order: %r" % r)
    return r.json()


def send(srv, vid, events):
    for ev in events:
        ev.setdefault("site", "demo")
        ev.setdefault("url", "http://localhost/shop")
        if vid:
            ev["visitor_id"] = vid
    r = srv.collect(events)
    if r.status != 204:
        raise AssertionError("collect: %r" % r)


def linked_visitor(srv, email):
    """A visitor with analytics and marketing consent, three page views
    and an identify event that links them to the customer of `email`."""
    vid = str(uuid.uuid4())
    record_consent(srv, "accept_all", vid)
    send(srv, vid, [{"type": "pageview", "url": "http://localhost/a"},
                    {"type": "pageview", "url": "http://localhost/b"},
                    {"type": "event", "name": "identify",
                     "props": {"email": email}},
                    {"type": "pageview", "url": "http://localhost/c"}])
    return vid


def dsr(s, type_, customer_id, **extra):
    body = {"type": type_, "customer_id": customer_id,
            "verification": "passport checked at the counter"}
    body.update(extra)
    return s.request("POST", "/api/dsr", body)


def add_months(day, months):
    """Regulation 1182/71: the same day `months` later, or the month's
    last day."""
    y, m, d = (int(x) for x in day.split("-"))
    total = m - 1 + months
    y, m = y + total // 12, total % 12 + 1
    d = min(d, calendar.monthrange(y, m)[1])
    return "%04d-%02d-%02d" % (y, m, d)


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def audit_of(srv, customer_id):
    return srv.query("SELECT staff_name, action, route, subject, outcome, "
                     "detail FROM audit_log WHERE subject = ? ORDER BY id",
                     (str(customer_id),))


class DsrTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv, cls.staff = start_server()
        cls.cid = cls.staff["cid"]
        cls.ada = cls.staff["ada"]
        cls.fin = cls.staff["fin"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    # -- roles and validation -------------------------------------------
    def test_only_admin_and_customer_service(self):
        cust = create(self.cid, "Roles")
        for name in ("ann", "fin"):
            s = self.staff[name]
            assert_json_error(self, dsr(s, "access", cust["id"]), 403)
            assert_json_error(self, s.request("GET", "/api/dsr"), 403)
        r = self.srv.request("GET", "/api/dsr")
        self.assertEqual(r.status, 401)
        self.assertEqual(dsr(self.ada, "access", cust["id"]).status, 201)
        self.assertEqual(dsr(self.cid, "access", cust["id"]).status, 201)

    def test_bad_requests_store_nothing(self):
        cust = create(self.cid, "Bad")
        before = self.srv.query(
            "SELECT count(*) AS n FROM customer_dsr_requests")[0]["n"]
        cases = [
            ({"type": "forget", "customer_id": cust["id"],
              "verification": "x"}, 400, "type"),
            ({"type": "access", "customer_id": "1", "verification": "x"},
             400, "customer_id"),
            ({"type": "access", "customer_id": cust["id"]}, 400,
             "verification"),
            ({"type": "access", "customer_id": cust["id"],
              "verification": ""}, 400, "verification"),
            ({"type": "access", "customer_id": cust["id"],
              "verification": "x", "changes": {}}, 400, "changes"),
            ({"type": "objection", "customer_id": cust["id"],
              "verification": "x", "objections": ["spam"]}, 400,
             "objections"),
            ({"type": "rectification", "customer_id": cust["id"],
              "verification": "x", "changes": {"email": "nope"}}, 400,
             "email"),
            ({"type": "rectification", "customer_id": cust["id"],
              "verification": "x"}, 400, "changes"),
        ]
        for body, status, field in cases:
            r = self.cid.request("POST", "/api/dsr", body)
            doc = assert_json_error(self, r, status)
            self.assertEqual(doc.get("field"), field, (body, doc))
        assert_json_error(self, dsr(self.cid, "access", 999999), 404,
                          "not_found")
        r = self.cid.request("POST", "/api/dsr", b"{}",
                             {"Content-Type": "text/plain"})
        assert_json_error(self, r, 415)
        after = self.srv.query(
            "SELECT count(*) AS n FROM customer_dsr_requests")[0]["n"]
        self.assertEqual(before, after)
        self.assertEqual(self.srv.query(
            "SELECT email FROM customers WHERE id = ?",
            (cust["id"],))[0]["email"], cust["email"])

    # -- access and portability -------------------------------------------
    def test_access_export_is_one_zip_of_json_and_csv(self):
        cust = create(self.cid, "Access")
        add_order(self.cid, cust["id"], "A-1001")
        vid = linked_visitor(self.srv, cust["email"])
        # A disclosure to the finance partner, and staff reading the
        # record: both belong in the export.
        self.assertEqual(self.fin.request(
            "GET", "/api/customers/export/finance", csrf=True).status, 200)
        self.assertEqual(self.ada.request(
            "GET", "/api/customers/%d" % cust["id"]).status, 200)
        # Their address printed on postal labels: so is that.
        self.assertEqual(self.ada.request("GET", "/api/labels?format=pdf",
                                          csrf=True).status, 200)

        r = dsr(self.cid, "access", cust["id"])
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        req = doc["request"]
        self.assertEqual(r.header("Location"), "/api/dsr/%d" % req["id"])
        self.assertEqual(doc["export"], "/api/dsr/%d/export" % req["id"])
        self.assertEqual(req["status"], "open")
        self.assertEqual(req["type"], "access")
        self.assertEqual(req["received_by"], "cid")
        self.assertEqual(req["received_date"], today())
        self.assertEqual(req["due_date"], add_months(today(), 1))
        self.assertGreaterEqual(req["days_left"], 28)
        self.assertFalse(req["overdue"])

        z = self.cid.request("GET", doc["export"], csrf=True)
        self.assertEqual(z.status, 200, z)
        self.assertEqual(z.header("Content-Type"), "application/zip")
        self.assertIn("dsr-%d-export.zip" % req["id"],
                      z.header("Content-Disposition"))
        archive = zipfile.ZipFile(io.BytesIO(z.body))
        self.assertIsNone(archive.testzip())
        names = set(archive.namelist())
        for n in ("export.json", "README.txt", "customers_customer.csv",
                  "customers_orders.csv", "customers_order_lines.csv",
                  "customers_disclosures.csv", "customers_links.csv",
                  "customers_label_exports.csv",
                  "customers_requests.csv", "core_events.csv",
                  "core_consent_records.csv", "core_audit_log.csv",
                  "analytics_visits.csv", "analytics_visit_pages.csv"):
            self.assertIn(n, names)
        # What art. 15(1) gives beside the data, from [privacy] and the
        # record: purposes, recipients, source, retention, rights, and
        # where to complain.
        readme = archive.read("README.txt").decode("utf-8")
        about = readme[readme.index("About this processing"):]
        for part in ("Purposes", "Legal bases", "Recipients", "Processors",
                     "Transfers outside the EU/EEA",
                     "your record: %s\n  the register's sources, of which "
                     "yours is one:\n  - registration" % cust["source"],
                     "10 years after the customer relationship ends",
                     "to withdraw a consent at any time",
                     "Tietosuojavaltuutetun toimisto, PL 800, 00531 Helsinki"):
            self.assertIn(part, about)
        export = json.loads(archive.read("export.json"))
        self.assertEqual(export["customer_id"], cust["id"])
        self.assertEqual(export["request"]["id"], req["id"])
        data = export["data"]
        reg = data["customers"]
        self.assertEqual(reg["customer"][0]["email"], cust["email"])
        self.assertEqual(reg["customer"][0]["last_name"], cust["last_name"])
        self.assertNotIn("link_hash", reg["customer"][0])
        self.assertEqual([o["number"] for o in reg["orders"]], ["A-1001"])
        self.assertEqual(reg["order_lines"][0]["description"], "Widget")
        self.assertEqual(reg["disclosures"][0]["recipient"], "finance partner")
        self.assertEqual([(x["staff_name"], x["via"], x["format"]) for x in
                          reg["label_exports"]], [("ada", "GET /api/labels", "pdf")])
        self.assertEqual([l["visitor_id"] for l in reg["links"]], [vid])
        core = data["core"]
        self.assertEqual({e["visitor_id"] for e in core["events"]}, {vid})
        self.assertEqual(len(core["events"]), 4)
        # Readable: the kind by name, the time in ISO 8601 (UTC), and
        # every other column of the events table as it is.
        self.assertEqual(sorted(e["type"] for e in core["events"]),
                         ["event", "pageview", "pageview", "pageview"])
        for e in core["events"]:
            self.assertRegex(e["time"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        db = sqlite3.connect(self.srv.db_path, timeout=30)
        cols = {r[1] for r in db.execute("PRAGMA table_info(events)")}
        db.close()
        self.assertEqual(set(core["events"][0]), cols - {"ts"} | {"time"})
        [state] = core["consent_state"]
        self.assertRegex(state["valid_until"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual([c["visitor_id"] for c in core["consent_records"]],
                         [vid])
        self.assertEqual(core["consent_records"][0]["method"], "accept_all")
        # JSON columns are JSON in export.json, not strings of it; the CSV
        # keeps the text, as the table does.
        self.assertEqual(core["consent_records"][0]["decisions"]["analytics"], "granted")
        self.assertIsInstance(reg["disclosures"][0]["fields"], list)
        self.assertIsInstance(reg["requests"][0]["details"], dict)
        self.assertEqual(core["consent_state"][0]["marketing"], 1)
        # Who read their data: ada's read of the record is there.
        reads = [a for a in core["audit_log"]
                 if a["staff_name"] == "ada" and a["action"] == "read"]
        self.assertTrue(reads, core["audit_log"])
        self.assertNotIn("ip_anon", core["audit_log"][0])
        visits = data["analytics"]["visits"]
        self.assertEqual(len(visits), 1)
        self.assertEqual(visits[0]["pageviews"], 3)
        self.assertNotIn("visitor", visits[0])
        paths = {p["path"] for p in data["analytics"]["visit_pages"]}
        self.assertEqual(paths, {"/a", "/b", "/c"})

        # The CSVs say what the JSON says.
        def rows(name):
            return list(csv.DictReader(io.StringIO(
                archive.read(name).decode("utf-8"))))
        [c] = rows("customers_customer.csv")
        self.assertEqual(c["email"], cust["email"])
        # A cell a spreadsheet would run as a formula is kept as text.
        self.assertEqual(c["phone"], "'" + cust["phone"])
        self.assertEqual(json.loads(rows("core_consent_records.csv")[0]["decisions"]),
                         core["consent_records"][0]["decisions"])
        ev = rows("core_events.csv")
        self.assertEqual(len(ev), len(core["events"]))
        self.assertEqual({e["visitor_id"] for e in ev}, {vid})
        self.assertEqual(len(rows("core_audit_log.csv")),
                         len(core["audit_log"]))
        self.assertEqual(rows("analytics_visits.csv")[0]["pageviews"], "3")

        # Fetching it answered the request, and is audited as an export.
        got = self.cid.request("GET", "/api/dsr/%d" % req["id"]).json()
        self.assertEqual(got["status"], "completed")
        self.assertIsNotNone(got["completed_at"])
        self.assertIsNone(got["days_left"])
        actions = [(a["action"], a["staff_name"])
                   for a in audit_of(self.srv, cust["id"])]
        self.assertIn(("dsr", "cid"), actions)
        self.assertIn(("export", "cid"), actions)
        [ex] = [a for a in audit_of(self.srv, cust["id"])
                if a["action"] == "export" and a["route"].startswith("GET /api/dsr/")]
        self.assertIn("access export (request %d)" % req["id"], ex["detail"])
        self.assertEqual(ex["route"], "GET /api/dsr/{id}/export")
        # Only an access request has an export.
        r = dsr(self.cid, "restriction", cust["id"])
        assert_json_error(self, self.cid.request(
            "GET", "/api/dsr/%d/export" % r.json()["request"]["id"],
            csrf=True), 409,
            "not_access")

    def test_gets_that_record_something_need_the_csrf_token(self):
        # A GET on the writer changes state: the first access export
        # completes the request, labels and the finance export record
        # disclosures.  SameSite=Strict keeps other sites' pages out but
        # not a sibling subdomain's, so each needs the session's token.
        cust = create(self.cid, "Csrf")
        add_order(self.cid, cust["id"], "C-1", status="open")
        req = dsr(self.cid, "access", cust["id"]).json()["request"]
        export = "/api/dsr/%d/export" % req["id"]
        routes = [(self.cid, export, "GET /api/dsr/{id}/export"),
                  (self.cid, "/api/labels?format=csv", "GET /api/labels"),
                  (self.ada, "/api/labels?format=pdf", "GET /api/labels"),
                  (self.fin, "/api/customers/export/finance",
                   "GET /api/customers/export/finance")]

        def counts():
            return [self.srv.query("SELECT count(*) AS n FROM %s" % t)[0]["n"]
                    for t in ("customer_disclosures", "customer_label_exports")]

        def exports():
            return self.srv.query(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'export'"
            )[0]["n"]

        def denials():
            return self.srv.query(
                "SELECT staff_name, route FROM audit_log WHERE outcome = "
                "'denied' AND detail = 'missing or wrong CSRF token'")

        before, exports_before = counts(), exports()
        denied_before = len(denials())
        wrong = [None, {"X-CSRF-Token": "A" * 43},
                 {"X-CSRF-Token": self.ada.csrf},  # another session's
                 {"X-CSRF-Token": ""}]
        for s, path, _ in routes:
            for headers in wrong:
                if headers and headers["X-CSRF-Token"] == s.csrf:
                    continue
                r = s.request("GET", path, headers=headers)
                assert_json_error(self, r, 403, "csrf_failed")
                self.assertIsNone(r.header("Content-Disposition"))
        # Nothing happened: the request is open, no disclosure or label
        # export is recorded, no export is in the audit log...
        got = self.cid.request("GET", "/api/dsr/%d" % req["id"]).json()
        self.assertEqual((got["status"], got["completed_at"]), ("open", None))
        self.assertEqual(counts(), before)
        self.assertEqual(exports(), exports_before)
        # ...but each refusal is, as a denial (written after the reply).
        want = denied_before + sum(
            1 for s, _, _ in routes for h in wrong
            if not (h and h["X-CSRF-Token"] == s.csrf))
        deadline = time.monotonic() + 10
        while len(denials()) < want and time.monotonic() < deadline:
            time.sleep(0.1)
        got = denials()
        self.assertEqual(len(got), want)
        self.assertEqual({(d["staff_name"], d["route"]) for d in got[denied_before:]},
                         {(s.name, label) for s, _, label in routes})
        # A read on a reader thread still needs no token.
        self.assertEqual(self.cid.request("GET", "/api/dsr").status, 200)

        # With the token each works and records what it did.
        for s, path, _ in routes:
            r = s.request("GET", path, csrf=True)
            self.assertEqual(r.status, 200, (path, r))
            self.assertIn("attachment", r.header("Content-Disposition"))
        got = self.cid.request("GET", "/api/dsr/%d" % req["id"]).json()
        self.assertEqual(got["status"], "completed")
        after = counts()
        self.assertGreater(after[0], before[0])
        self.assertGreater(after[1], before[1])
        self.assertEqual(exports(), exports_before + len(routes))

    def access_audit(self, customer_id):
        """The audit entries of the person's access export."""
        r = dsr(self.cid, "access", customer_id)
        self.assertEqual(r.status, 201, r)
        z = self.cid.request("GET", r.json()["export"], csrf=True)
        self.assertEqual(z.status, 200, z)
        export = json.loads(zipfile.ZipFile(io.BytesIO(z.body)).read("export.json"))
        return export["data"]["core"]["audit_log"]

    def import_people(self, first, last, n):
        """n customers by CSV import (first names first0.., one last
        name, addresses first0@dsr-test.example..): their first and
        last ids."""
        text = "".join("%s%d,%s,%s%d@dsr-test.example,FI,2024-01-15\n"
                       % (first, i, last, first.lower(), i) for i in range(n))
        r = self.cid.request("POST", "/api/customers/import?source=partner%20list",
                             ("first_name,last_name,email,country,"
                              "relationship_start\n" + text).encode(),
                             {"Content-Type": "text/csv"})
        self.assertEqual(r.status, 200, r)
        return r.json()["first_id"], r.json()["last_id"]

    def test_access_export_has_reads_by_receipt_and_the_import(self):
        # Entries about the person that do not name their customer id:
        # the CSV import that made them (its ids in the detail), and a
        # read of their consent history by one of their receipts.
        first, last = self.import_people("Imp", "Ortqz", 3)
        self.assertEqual(last - first, 2)
        vid = linked_visitor(self.srv, "imp1@dsr-test.example")
        [mine] = self.srv.query("SELECT receipt FROM consent_records WHERE "
                                "visitor_id = ?", (vid,))
        other = record_consent(self.srv, "accept_all", str(uuid.uuid4()))["receipt"]
        for receipt in (mine["receipt"], other):
            self.assertEqual(self.ada.request(
                "GET", "/api/consent/records?receipt=" + receipt).status, 200)
        self.assertEqual(self.ada.request(
            "GET", "/api/consent/records?visitor_id=" + vid).status, 200)
        imported = "import: 3 customers, ids %d-%d" % (first, last)

        audit = self.access_audit(first + 1)
        # The import's subject names all it made; theirs says them alone.
        self.assertIn(("cid", "change", str(first + 1), imported),
                      [(a["staff_name"], a["action"], a["subject"], a["detail"])
                       for a in audit])
        self.assertIn(("ada", "read", mine["receipt"], "consent history"),
                      [(a["staff_name"], a["action"], a["subject"], a["detail"])
                       for a in audit])
        # The read by visitor id, named by the id's keyed hash.
        self.assertIn(("ada", "read", "consent history"),
                      [(a["staff_name"], a["action"], a["detail"]) for a in audit
                       if (a["subject"] or "").startswith("visitor:")])
        self.assertNotIn(other, [a["subject"] for a in audit])
        # The import is each of its customers', and no one else's.
        for cid in (first, last):
            self.assertIn(imported, [a["detail"] for a in self.access_audit(cid)])
        later = create(self.cid, "AfterImport")
        self.assertGreater(later["id"], last)
        self.assertNotIn(imported, [a["detail"] for a in self.access_audit(later["id"])])
        # Erasure keeps them all, and counts them before the consent
        # records lose the visitor id that ties the receipt to the person
        # (one more: the export just fetched).
        audit = self.access_audit(first + 1)
        r = dsr(self.cid, "erasure", first + 1)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["erased"]["core"]["audit_entries_kept"], len(audit) + 1)

    def test_audit_search_by_customer_finds_their_consent_history_reads(self):
        # GET /api/audit?subject=<customer id> finds what the person's
        # access export lists: also the reads of a linked visitor's
        # consent history, whose entries name the visitor (its keyed
        # hash) or a receipt, not the customer (PROMISES 6).
        mine, theirs = create(self.cid, "AudSrchMine"), create(self.cid, "AudSrchTheirs")
        vid = linked_visitor(self.srv, mine["email"])
        other = linked_visitor(self.srv, theirs["email"])
        for cust, v in ((mine, vid), (theirs, other)):
            self.assertEqual(self.srv.query(
                "SELECT customer_id FROM customer_links WHERE visitor_id = ?",
                (v,)), [{"customer_id": cust["id"]}])
        [receipt] = self.srv.query("SELECT receipt FROM consent_records WHERE "
                                   "visitor_id = ?", (vid,))

        def read(query):
            """Read a consent history as staff: its audit entry."""
            [before] = self.srv.query("SELECT max(id) AS id FROM audit_log")
            self.assertEqual(self.ada.request(
                "GET", "/api/consent/records?" + query).status, 200)
            [entry] = self.srv.query(
                "SELECT id, subject FROM audit_log WHERE id > ? AND detail = "
                "'consent history'", (before["id"],))
            return entry
        by_visitor = read("visitor_id=" + vid)
        by_receipt = read("receipt=" + receipt["receipt"])
        self.assertTrue(by_visitor["subject"].startswith("visitor:"), by_visitor)
        self.assertNotIn(vid, by_visitor["subject"])
        self.assertEqual(by_receipt["subject"], receipt["receipt"])
        their_read = read("visitor_id=" + other)

        def search(customer_id):
            r = self.ada.request("GET", "/api/audit?limit=1000&subject=%d" % customer_id)
            self.assertEqual(r.status, 200, r)
            return {e["id"] for e in r.json()["entries"]}
        found = search(mine["id"])
        self.assertLessEqual({by_visitor["id"], by_receipt["id"]}, found)
        self.assertNotIn(their_read["id"], found)
        # An unrelated customer's search finds neither read.
        self.assertFalse({by_visitor["id"], by_receipt["id"]} & search(theirs["id"]))
        self.assertIn(their_read["id"], search(theirs["id"]))
        # Reading the log is itself audited, by route (no subject).
        [last] = self.srv.query("SELECT staff_name, action, route FROM "
                                "audit_log ORDER BY id DESC LIMIT 1")
        self.assertEqual(last, {"staff_name": "ada", "action": "read",
                                "route": "GET /api/audit"})
        # The same set as the access export: all the search found, and
        # then what the export recorded about itself.
        exported = {a["id"] for a in self.access_audit(mine["id"])}
        self.assertLessEqual(found, exported)
        self.assertLessEqual(exported, search(mine["id"]))

    def test_access_export_has_every_list_that_showed_them(self):
        # A page of 150 search results, and the list of requests: each
        # person on them is named, not the first few dozen.
        first, last = self.import_people("List", "Listqz", 150)
        r = self.cid.request("GET", "/api/customers?q=Listqz&limit=1000")
        self.assertEqual(r.json()["total"], 150)
        for cid in (first, last):
            self.assertEqual(dsr(self.cid, "restriction", cid).status, 201)
        self.assertEqual(self.cid.request("GET", "/api/dsr").status, 200)
        for cid in (first, last):
            reads = [a["detail"] for a in self.access_audit(cid)
                     if a["action"] == "read"]
            self.assertIn("search: 150 of 150 (offset 0, limit 1000)", reads)
            self.assertTrue(any(d.startswith("data subject requests: ") for d in reads),
                            reads)
            # A list names the others on it too: not theirs to read, so
            # the export gives its subject as the person's id alone.
            self.assertEqual({a["subject"] for a in self.access_audit(cid)
                              if a["action"] in ("read", "change")}, {str(cid)})

    def test_access_export_has_how_each_request_was_verified(self):
        # How the person's identity was checked (a document's number, a
        # birth date) is kept with each of their requests until erasure
        # empties it: data about them, so their export has it.
        cust = create(self.cid, "Verified")
        r = dsr(self.cid, "objection", cust["id"],
                verification="birth date 1981-04-02, passport FI-VER-613370",
                objections=["publication"])
        self.assertEqual(r.status, 201, r)
        r = dsr(self.cid, "access", cust["id"])
        self.assertEqual(r.status, 201, r)
        z = self.cid.request("GET", r.json()["export"], csrf=True)
        self.assertEqual(z.status, 200, z)
        archive = zipfile.ZipFile(io.BytesIO(z.body))
        reqs = json.loads(archive.read("export.json"))["data"]["customers"]["requests"]
        self.assertEqual([(q["type"], q["verification"]) for q in reqs],
                         [("objection", "birth date 1981-04-02, passport "
                           "FI-VER-613370"),
                          ("access", "passport checked at the counter")])
        rows = list(csv.DictReader(io.StringIO(
            archive.read("customers_requests.csv").decode("utf-8"))))
        self.assertEqual(rows[0]["verification"],
                         "birth date 1981-04-02, passport FI-VER-613370")

    # -- deadlines ------------------------------------------------------
    def test_deadline_and_extension_arithmetic(self):
        cust = create(self.cid, "Deadline")
        req = dsr(self.cid, "access", cust["id"]).json()["request"]
        path = "/api/dsr/%d/extend" % req["id"]
        received = req["received_date"]
        self.assertEqual(req["due_date"], add_months(received, 1))
        for body, field in (({"months": 3, "reason": "x"}, "months"),
                            ({"months": 0, "reason": "x"}, "months"),
                            ({"months": 1}, "reason"),
                            ({"months": 1, "reason": ""}, "reason"),
                            ({"months": 1, "reason": "x", "who": 1}, "who")):
            doc = assert_json_error(self, self.cid.request("POST", path, body),
                                    400)
            self.assertEqual(doc["field"], field)
        r = self.cid.request("POST", path, {
            "months": 1, "reason": "the register is being migrated"})
        self.assertEqual(r.status, 200, r)
        ext = r.json()
        self.assertEqual(ext["due_date"], add_months(received, 2))
        self.assertEqual(ext["extended_months"], 1)
        self.assertEqual(ext["extensions"][0]["reason"],
                         "the register is being migrated")
        self.assertEqual(ext["extensions"][0]["by"], "cid")
        d0 = datetime.date.fromisoformat(today())
        self.assertEqual(ext["days_left"],
                         (datetime.date.fromisoformat(ext["due_date"]) - d0).days)
        assert_json_error(self, self.ada.request(
            "POST", path, {"months": 2, "reason": "more"}), 409,
            "extension_limit")
        r = self.ada.request("POST", path, {"months": 1, "reason": "more"})
        self.assertEqual(r.status, 200, r)
        # Counted from the receipt: three months in all.
        self.assertEqual(r.json()["due_date"], add_months(received, 3))
        self.assertEqual(r.json()["handled_by"], "ada")
        assert_json_error(self, self.ada.request(
            "POST", path, {"months": 1, "reason": "again"}), 409,
            "extension_limit")
        details = [a["detail"] for a in audit_of(self.srv, cust["id"])
                   if a["action"] == "dsr"]
        self.assertIn("request %d: extended by 1 month to %s"
                      % (req["id"], add_months(received, 2)), details)

        # An overdue request: negative days left, and no extension after
        # the deadline.  (The clock is the server's; the date is moved.)
        late = dsr(self.cid, "access", cust["id"]).json()["request"]
        db = sqlite3.connect(self.srv.db_path, timeout=30)
        with db:
            db.execute("UPDATE customer_dsr_requests SET received_date = "
                       "'2020-01-31', due_date = '2020-02-29' WHERE id = ?",
                       (late["id"],))
        db.close()
        got = self.cid.request("GET", "/api/dsr/%d" % late["id"]).json()
        self.assertTrue(got["overdue"])
        self.assertEqual(got["days_left"], (datetime.date(2020, 2, 29) - d0).days)
        assert_json_error(self, self.cid.request(
            "POST", "/api/dsr/%d/extend" % late["id"],
            {"months": 1, "reason": "late"}), 409, "deadline_passed")
        # The list: open first, nearest deadline first, with days left.
        listed = self.cid.request("GET", "/api/dsr?status=open").json()
        ids = [x["id"] for x in listed["requests"]]
        self.assertLess(ids.index(late["id"]), ids.index(req["id"]))
        self.assertTrue(all(x["status"] == "open" for x in listed["requests"]))
        mine = self.cid.request("GET", "/api/dsr?customer_id=%d"
                                % cust["id"]).json()["requests"]
        self.assertEqual({x["id"] for x in mine}, {req["id"], late["id"]})
        assert_json_error(self, self.cid.request(
            "GET", "/api/dsr?status=bogus"), 400)
        # A completed request is not extended.
        done = dsr(self.cid, "restriction", cust["id"]).json()["request"]
        assert_json_error(self, self.cid.request(
            "POST", "/api/dsr/%d/extend" % done["id"],
            {"months": 1, "reason": "x"}), 409, "not_open")
        assert_json_error(self, self.cid.request(
            "GET", "/api/dsr/999999"), 404)

    def test_requests_name_their_person_while_the_register_does(self):
        # A list to work through: each request says whose it is, and how
        # the identity was verified, as long as the register holds them.
        cust = create(self.cid, "Named")
        org = create(self.cid, "Orgonly", first_name="", last_name="")
        a = dsr(self.cid, "access", cust["id"]).json()["request"]
        b = dsr(self.cid, "access", org["id"]).json()["request"]
        self.assertEqual(a["customer_name"], "FnNamedqz LnNamedqz")
        self.assertEqual(a["customer_organisation"], "OrgNamedqz Oy")
        self.assertEqual(a["verification"], "passport checked at the counter")
        listed = {x["id"]: x for x in self.cid.request(
            "GET", "/api/dsr?status=open").json()["requests"]}
        self.assertEqual(listed[a["id"]]["customer_name"], "FnNamedqz LnNamedqz")
        self.assertIsNone(listed[b["id"]]["customer_name"])
        self.assertEqual(listed[b["id"]]["customer_organisation"], "OrgOrgonlyqz Oy")
        got = self.cid.request("GET", "/api/dsr/%d" % a["id"]).json()
        self.assertEqual(got["verification"], "passport checked at the counter")
        self.assertEqual(got["customer_name"], "FnNamedqz LnNamedqz")
        # The list's read names every person on it.
        [entry] = [x for x in self.srv.query(
            "SELECT subject, detail FROM audit_log WHERE route = 'GET /api/dsr' "
            "ORDER BY id DESC LIMIT 1")]
        self.assertIn(str(cust["id"]), entry["subject"].split(","))
        self.assertIn(str(org["id"]), entry["subject"].split(","))
        # Erased (its access request answered first): no name, no
        # organisation, no verification text.
        self.assertEqual(self.cid.request(
            "GET", "/api/dsr/%d/export" % a["id"], csrf=True).status, 200)
        r = dsr(self.cid, "erasure", cust["id"])
        self.assertEqual(r.status, 201, r)
        got = self.cid.request("GET", "/api/dsr/%d" % a["id"]).json()
        self.assertIsNone(got["customer_name"])
        self.assertIsNone(got["customer_organisation"])
        self.assertEqual(got["verification"], "")

    # -- rectification ----------------------------------------------------
    def test_rectification_lists_the_recipients_to_notify(self):
        cust = create(self.cid, "Rect")
        add_order(self.cid, cust["id"], "R-1")
        self.assertEqual(self.fin.request(
            "GET", "/api/customers/export/finance", csrf=True).status, 200)
        r = dsr(self.cid, "rectification", cust["id"],
                changes={"email": "fixed.rect@dsr-test.example",
                         "city": "Espoo", "phone": None})
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        self.assertEqual(doc["request"]["status"], "completed")
        self.assertEqual(sorted(doc["changed"]), ["city", "email", "phone"])
        [n] = doc["notify"]
        self.assertEqual(n["recipient"], "finance partner")
        # The phone was never disclosed to them.
        self.assertEqual(sorted(n["fields"]), ["city", "email"])
        self.assertEqual(n["legal_grounds"], ["contract: billing and accounting"])
        # The source the data came from is told too, and the request
        # keeps whom.
        self.assertEqual(doc["source"], cust["source"])
        self.assertEqual(doc["request"]["details"]["source_to_notify"],
                         cust["source"])
        row = self.srv.query("SELECT email, city, phone FROM customers "
                             "WHERE id = ?", (cust["id"],))[0]
        self.assertEqual(row, {"email": "fixed.rect@dsr-test.example",
                               "city": "Espoo", "phone": None})
        # The request log names the fields, never the values.
        stored = self.srv.query("SELECT details FROM customer_dsr_requests "
                                "WHERE id = ?", (doc["request"]["id"],))[0]
        self.assertNotIn("fixed.rect", stored["details"])
        self.assertNotIn("Espoo", stored["details"])
        [a] = [a for a in audit_of(self.srv, cust["id"])
               if a["detail"] and a["detail"].startswith("rectification")]
        self.assertEqual(a["action"], "change")
        self.assertIn("email", a["detail"])
        self.assertNotIn("fixed.rect", a["detail"])
        # A change of a field nobody received notifies nobody.
        r = dsr(self.cid, "rectification", cust["id"],
                changes={"website": "https://new.dsr-test.example/"})
        self.assertEqual(r.json()["notify"], [])
        # A correction of the source itself names the one it had.
        r = dsr(self.cid, "rectification", cust["id"],
                changes={"source": "update service"})
        self.assertEqual(r.json()["source"], cust["source"])
        # Nothing changed: nobody to tell.
        r = dsr(self.cid, "rectification", cust["id"],
                changes={"source": "update service"})
        self.assertEqual(r.json()["changed"], [])
        self.assertNotIn("source", r.json())

    def test_rectification_to_a_blank_source_is_refused(self):
        # A source of no-break or ideographic spaces alone is none, as the
        # staff page's trim() reads it, and so is one of zero width
        # characters: refused as an empty one.
        cust = create(self.cid, "Blank")
        for blank in ("", "\u00a0", "\u3000\u2028", "\u200b", "\u200d\u2060\ufeff"):
            r = dsr(self.cid, "rectification", cust["id"], changes={"source": blank})
            self.assertEqual(r.status, 400, r)
            self.assertEqual((r.json()["field"], r.json()["message"]),
                             ("source", "source: the source of the data cannot be removed"),
                             ascii(blank))
        self.assertEqual(self.srv.query("SELECT source FROM customers WHERE id = ?",
                                        (cust["id"],))[0]["source"], cust["source"])

    def test_rectification_to_anothers_address_is_refused(self):
        # One address, one customer: the rectification answers as PATCH
        # does, changes nothing and records no request.
        holder = create(self.cid, "DupA")
        cust = create(self.cid, "DupB")
        before = self.srv.query(
            "SELECT count(*) AS n FROM customer_dsr_requests")[0]["n"]
        taken = " " + holder["email"].upper() + " "
        r = dsr(self.cid, "rectification", cust["id"],
                changes={"email": taken, "city": "Espoo"})
        doc = assert_json_error(self, r, 409, "duplicate_email")
        patch = self.cid.request("PATCH", "/api/customers/%d" % cust["id"],
                                 {"email": taken})
        self.assertEqual(doc, patch.json())
        self.assertEqual((doc["field"], doc["customer_id"]),
                         ("email", holder["id"]))
        row = self.srv.query("SELECT email, city FROM customers WHERE id = ?",
                             (cust["id"],))[0]
        self.assertEqual(row, {"email": cust["email"], "city": cust["city"]})
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM customer_dsr_requests")[0]["n"], before)
        # Naming the holder is a read of theirs, on record.
        self.assertIn(("read", "failed"),
                      [(a["action"], a["outcome"])
                       for a in audit_of(self.srv, holder["id"])
                       if a["route"] == "POST /api/dsr"])
        # Their own address in another case is no duplicate.
        r = dsr(self.cid, "rectification", cust["id"],
                changes={"email": cust["email"].upper()})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["changed"], ["email"])

    def test_staff_texts_are_counted_in_characters(self):
        # The staff page lets 800 characters of details follow the
        # method, 4000 of reasons and 1000 of an extension's reason;
        # in Finnish each is near twice as many bytes.
        cust = create(self.cid, "Merkit")
        details = "Other: " + "ä" * 800
        r = dsr(self.cid, "access", cust["id"], verification=details)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["request"]["verification"], details)
        r = dsr(self.cid, "rectification", cust["id"], refuse="ö" * 4000)
        self.assertEqual(r.status, 201, r)
        req = dsr(self.cid, "access", cust["id"]).json()["request"]
        r = self.cid.request("POST", "/api/dsr/%d/extend" % req["id"],
                             {"months": 1, "reason": "å" * 1000})
        self.assertEqual(r.status, 200, r)
        # One more character is too many, and says so in characters.
        for extra, field in (({"verification": "ä" * 1001}, "verification"),
                             ({"refuse": "ö" * 4001}, "refuse")):
            kind = "rectification" if "refuse" in extra else "access"
            doc = assert_json_error(self, dsr(self.cid, kind, cust["id"],
                                              **extra), 400)
            self.assertEqual(doc["field"], field)
            self.assertIn("characters", doc["message"])
        other = dsr(self.cid, "access", cust["id"]).json()["request"]
        doc = assert_json_error(self, self.cid.request(
            "POST", "/api/dsr/%d/extend" % other["id"],
            {"months": 1, "reason": "å" * 1001}), 400)
        self.assertEqual(doc["field"], "reason")

    def test_refused_rectification_has_a_written_statement(self):
        cust = create(self.cid, "Refuse")
        reasons = ("The name is as on the signed contract of 2024-01-15;\n"
                   "no document showing another name was given.")
        r = dsr(self.cid, "rectification", cust["id"], refuse=reasons)
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        self.assertEqual(doc["request"]["status"], "refused")
        self.assertTrue(doc["request"]["has_statement"])
        self.assertIn(reasons, doc["statement"])
        self.assertIn("supervisory authority", doc["statement"])
        # In the register's language too, as its privacy statement
        # promises (the refusal "tietosuojavaltuutetun ratkaistavaksi"),
        # naming the authority as [privacy] declares it.
        self.assertIn("Evätty / Refused: oikaisupyyntö / request for rectification",
                      doc["statement"])
        self.assertIn("valvontaviranomaisen ratkaistavaksi", doc["statement"])
        for v in ("Tietosuojavaltuutetun toimisto", "PL 800, 00531 Helsinki",
                  "tietosuoja@om.fi", "029 566 6700", "https://tietosuoja.fi"):
            self.assertIn("\n  %s\n" % v, doc["statement"])
        rid = doc["request"]["id"]
        got = self.ada.request("GET", "/api/dsr/%d" % rid).json()
        self.assertEqual(got["statement"], doc["statement"])
        txt = self.ada.request("GET", "/api/dsr/%d/statement" % rid)
        self.assertEqual(txt.status, 200)
        self.assertTrue(txt.header("Content-Type").startswith("text/plain"))
        self.assertEqual(txt.body.decode("utf-8"), doc["statement"])
        self.assertEqual(self.srv.query(
            "SELECT last_name FROM customers WHERE id = ?",
            (cust["id"],))[0]["last_name"], cust["last_name"])
        other = dsr(self.cid, "access", cust["id"]).json()["request"]["id"]
        assert_json_error(self, self.ada.request(
            "GET", "/api/dsr/%d/statement" % other), 404, "no_statement")

    # -- restriction and objection ------------------------------------------
    def test_restriction_and_objections_are_honoured(self):
        a = create(self.cid, "Restr")
        b = create(self.cid, "Objct")
        add_order(self.cid, a["id"], "X-1")
        r = dsr(self.cid, "restriction", a["id"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["request"]["details"], {"restricted": True, "notify": []})
        r = dsr(self.cid, "objection", b["id"],
                objections=["direct_marketing", "profiling"])
        self.assertEqual(r.status, 201, r)
        flags = {c["id"]: c["flags"] for c in (
            self.cid.request("GET", "/api/customers/%d" % i).json()
            for i in (a["id"], b["id"]))}
        self.assertTrue(flags[a["id"]]["restricted"])
        self.assertTrue(flags[b["id"]]["objects_direct_marketing"])
        self.assertTrue(flags[b["id"]]["objects_profiling"])
        self.assertFalse(flags[b["id"]]["objects_publication"])
        labels = self.cid.request("GET", "/api/labels?format=csv",
                                  csrf=True).body
        self.assertNotIn(a["last_name"].encode(), labels)
        self.assertNotIn(b["last_name"].encode(), labels)
        finance = self.fin.request("GET", "/api/customers/export/finance",
                                   csrf=True).body
        self.assertNotIn(a["last_name"].encode(), finance)
        # Lifting a restriction is a request too.
        r = dsr(self.cid, "restriction", a["id"], restricted=False)
        self.assertEqual(r.status, 201, r)
        self.assertFalse(self.cid.request(
            "GET", "/api/customers/%d" % a["id"]).json()["flags"]["restricted"])
        details = [x["detail"] for x in audit_of(self.srv, b["id"])
                   if x["action"] == "change"]
        self.assertTrue(any("direct_marketing profiling" in d
                            for d in details), details)

    def test_an_erasure_a_hold_refused_is_open_again_when_the_hold_ends(self):
        cust = create(self.cid, "HoldEnds")
        order = add_order(self.cid, cust["id"], "HOLD-1", status="open")
        r = dsr(self.cid, "erasure", cust["id"])
        assert_json_error(self, r, 409, "legal_hold")
        held = r.json()["request"]
        self.assertEqual((held["status"], held["hold_ended"]), ("restricted", False))

        def open_ids():
            return [x["id"] for x in self.cid.request(
                "GET", "/api/dsr?status=open&customer_id=%d" % cust["id"]
            ).json()["requests"]]
        self.assertEqual(open_ids(), [])
        # The invoice paid: nothing holds the record, and the refused
        # erasure is to be done.
        r = self.cid.request("PATCH", "/api/customers/%d/orders/%d"
                             % (cust["id"], order["id"]),
                             {"invoice_status": "paid"})
        self.assertEqual(r.status, 200, r)
        got = self.cid.request("GET", "/api/dsr/%d" % held["id"]).json()
        self.assertTrue(got["hold_ended"])
        self.assertEqual(open_ids(), [held["id"]])
        # Not while an access request of theirs is open: the erasure
        # would wait for it (open_request).
        access = dsr(self.cid, "access", cust["id"]).json()
        got = self.cid.request("GET", "/api/dsr/%d" % held["id"]).json()
        self.assertFalse(got["hold_ended"])
        self.assertEqual(open_ids(), [access["request"]["id"]])
        self.assertEqual(self.cid.request("GET", access["export"],
                                          csrf=True).status, 200)
        self.assertEqual(open_ids(), [held["id"]])
        # Carried out: the earlier request is answered by it.
        r = dsr(self.cid, "erasure", cust["id"])
        self.assertEqual(r.status, 201, r)
        done = r.json()["request"]["id"]
        row = self.srv.query("SELECT status, details, completed_at FROM "
                             "customer_dsr_requests WHERE id = ?",
                             (held["id"],))[0]
        self.assertEqual(row["status"], "completed")
        self.assertIsNotNone(row["completed_at"])
        details = json.loads(row["details"])
        self.assertEqual((details["carried_out_by"], details["holds"]),
                         (done, ["open_invoice"]))
        self.assertEqual(open_ids(), [])

    def test_refusals_about_a_request_name_its_person_not_its_id(self):
        # The audit log reads a number as a customer's id: a refused
        # request about request N must not be filed under customer N,
        # whose access export would then list it.
        cust = create(self.cid, "Refusals")
        while True:
            rect = dsr(self.cid, "rectification", cust["id"],
                       changes={"city": "Oulu"}).json()["request"]
            if rect["id"] != cust["id"]:
                break
        rid = rect["id"]

        def last(route):
            return self.srv.query(
                "SELECT action, subject, outcome, detail FROM audit_log "
                "WHERE route = ? ORDER BY id DESC LIMIT 1", (route,))[0]

        cases = [
            ("POST", "/api/dsr/%d/extend" % rid, {"months": 1,
                                                  "reason": "busy"},
             409, "POST /api/dsr/{id}/extend", "change", "not extended"),
            ("POST", "/api/dsr/%d/extend" % rid, {"months": 3,
                                                  "reason": "busy"},
             400, "POST /api/dsr/{id}/extend", "change", "not extended"),
            ("GET", "/api/dsr/%d/statement" % rid, None, 404,
             "GET /api/dsr/{id}/statement", "read",
             "no statement: not refused in writing"),
            ("GET", "/api/dsr/%d/export" % rid, None, 409,
             "GET /api/dsr/{id}/export", "export",
             "no export: not an access request"),
        ]
        for method, path, body, status, route, action, what in cases:
            r = self.cid.request(method, path, body, csrf=True)
            assert_json_error(self, r, status)
            self.assertEqual(dict(last(route)), {
                "action": action, "subject": str(cust["id"]),
                "outcome": "failed",
                "detail": "request %d: %s" % (rid, what)}, path)
        # No such request: about no one.
        for route, path in (("GET /api/dsr/{id}", "/api/dsr/99999999"),
                            ("GET /api/dsr/{id}/export",
                             "/api/dsr/99999998/export")):
            assert_json_error(self, self.cid.request("GET", path, csrf=True),
                              404, "not_found")
            row = last(route)
            self.assertEqual((row["subject"], row["outcome"], row["detail"]),
                             (None, "failed", "no such request"), path)

    def test_erasure_waits_for_an_open_access_request(self):
        # The access request's export would be gone: it is given first.
        cust = create(self.cid, "Waiting")
        access = dsr(self.cid, "access", cust["id"]).json()
        for kind in ("erasure", "anonymisation"):
            r = dsr(self.cid, kind, cust["id"])
            assert_json_error(self, r, 409, "open_request")
            self.assertEqual(r.json()["requests"], [access["request"]["id"]])
        # Nothing was done nor recorded.
        self.assertEqual(self.cid.request(
            "GET", "/api/customers/%d" % cust["id"]).status, 200)
        self.assertEqual([x["type"] for x in self.srv.query(
            "SELECT type FROM customer_dsr_requests WHERE customer_id = ?",
            (cust["id"],))], ["access"])
        # But the refusals are in the audit log under the person, so
        # their own export shows that they asked and who answered.
        refused = [(x["action"], x["outcome"], x["detail"])
                   for x in audit_of(self.srv, cust["id"])
                   if x["route"] == "POST /api/dsr"
                   and x["outcome"] == "failed"]
        self.assertEqual(refused, [
            ("change", "failed", "%s refused: access request %d still open"
             % (kind, access["request"]["id"]))
            for kind in ("erasure", "anonymisation")])
        z = self.cid.request("GET", access["export"], csrf=True)
        self.assertEqual(z.status, 200, z)
        r = dsr(self.cid, "erasure", cust["id"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.cid.request(
            "GET", "/api/customers/%d" % cust["id"]).status, 404)

    def test_restriction_and_erasure_list_the_recipients_to_notify(self):
        # Art. 19: a restriction and an erasure are told to every
        # recipient of the data, as a rectification is.
        finance = "/api/customers/export/finance"
        owing, paid = create(self.cid, "NotifyOwing"), create(self.cid, "NotifyPaid")
        add_order(self.cid, owing["id"], "NTFY-1", status="open")
        add_order(self.cid, paid["id"], "NTFY-2")
        self.assertEqual(self.fin.request("GET", finance, csrf=True).status, 200)

        r = dsr(self.cid, "restriction", paid["id"])
        self.assertEqual(r.status, 201, r)
        [n] = r.json()["notify"]
        self.assertEqual(n["recipient"], "finance partner")
        self.assertIn("email", n["fields"])
        self.assertEqual(r.json()["request"]["details"]["notify"], [n])
        lifted = dsr(self.cid, "restriction", paid["id"], restricted=False)
        self.assertNotIn("notify", lifted.json())

        # The erasure deletes the disclosures; its request keeps whom to tell.
        r = dsr(self.cid, "erasure", paid["id"])
        self.assertEqual(r.status, 201, r)
        [n] = r.json()["notify"]
        self.assertEqual(n["recipient"], "finance partner")
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM customer_disclosures WHERE customer_id = ?",
            (paid["id"],))[0]["n"], 0)
        got = self.ada.request("GET", "/api/dsr/%d" % r.json()["request"]["id"]).json()
        self.assertEqual(got["details"]["notify"], [n])
        # Refused for a hold, it restricts: that is told too.
        doc = assert_json_error(self, dsr(self.cid, "erasure", owing["id"]), 409, "legal_hold")
        self.assertEqual([x["recipient"] for x in doc["notify"]], ["finance partner"])

    # -- legal holds ------------------------------------------------------
    def test_erasure_with_a_hold_answers_409_and_restricts(self):
        cust = create(self.cid, "Hold")
        add_order(self.cid, cust["id"], "H-1", status="open")
        r = dsr(self.cid, "erasure", cust["id"])
        doc = assert_json_error(self, r, 409, "legal_hold")
        self.assertEqual(doc["holds"], ["open_invoice"])
        self.assertTrue(doc["restricted"])
        self.assertEqual(doc["request"]["status"], "restricted")
        self.assertEqual(doc["request"]["details"]["holds"], ["open_invoice"])
        # Not acted on: a written statement of why, and the remedies
        # (GDPR art. 12(4)), kept with the request.
        self.assertTrue(doc["request"]["has_statement"])
        self.assertIn("Evätty / Refused: poistopyyntö / request for erasure",
                      doc["statement"])
        self.assertIn("unpaid invoices", doc["statement"])
        self.assertIn("maksamattomia laskuja", doc["statement"])
        self.assertNotIn("Accounting Act", doc["statement"])
        self.assertIn("Tietosuojavaltuutetun toimisto", doc["statement"])
        self.assertNotIn(cust["email"], doc["statement"])
        txt = self.ada.request("GET", "/api/dsr/%d/statement" % doc["request"]["id"])
        self.assertEqual(txt.body.decode("utf-8"), doc["statement"])
        got = self.cid.request("GET", "/api/customers/%d" % cust["id"]).json()
        self.assertTrue(got["flags"]["restricted"])
        self.assertEqual(got["email"], cust["email"])
        # Anonymisation cannot take away who owes the invoice either.
        doc = assert_json_error(self, dsr(self.cid, "anonymisation",
                                          cust["id"]), 409, "legal_hold")
        self.assertEqual(doc["holds"], ["open_invoice"])
        other = create(self.cid, "Hold2", statutory_retention_until="2099-12-31")
        self.cid.request("PATCH", "/api/customers/%d" % other["id"],
                         {"flags": {"active_contact": True}})
        doc = assert_json_error(self, dsr(self.cid, "erasure", other["id"]),
                                409, "legal_hold")
        self.assertEqual(doc["holds"], ["active_contact", "statutory_retention"])
        # Each hold's own reason: a contact person is told it is their
        # role as their organisation's contact, and the law's period
        # how long it runs.
        self.assertIn("You act as your organisation's contact person",
                      doc["statement"])
        self.assertIn("organisaatiosi yhteyshenkilönä", doc["statement"])
        self.assertIn("Accounting Act", doc["statement"])
        self.assertIn("To be kept until 2099-12-31.", doc["statement"])
        [a] = [a for a in audit_of(self.srv, cust["id"])
               if a["detail"] and a["detail"].startswith("erasure refused")]
        self.assertIn("open_invoice", a["detail"])
        self.assertEqual(a["outcome"], "failed")

    # -- anonymisation ----------------------------------------------------
    def test_anonymisation_keeps_statistics_not_the_person(self):
        cust = create(self.cid, "Anon")
        add_order(self.cid, cust["id"], "N-1")
        vid = linked_visitor(self.srv, cust["email"])
        n_events = self.srv.count("visitor_id = ?", (vid,))
        self.assertEqual(n_events, 4)
        r = dsr(self.cid, "anonymisation", cust["id"])
        self.assertEqual(r.status, 201, r)
        done = r.json()["anonymised"]
        self.assertEqual(done["core"]["events_anonymised"], 4)
        self.assertEqual(done["core"]["consent_records_pseudonymised"], 1)
        self.assertEqual(done["analytics"]["visits_unlinked"], 1)
        self.assertEqual(done["customers"]["links_deleted"], 1)
        row = self.srv.query("SELECT * FROM customers WHERE id = ?",
                             (cust["id"],))[0]
        for k in ("first_name", "last_name", "organisation", "email",
                  "street", "phone", "website"):
            self.assertIsNone(row[k], k)
        self.assertEqual(row["country"], "FI")
        self.assertEqual(row["restricted"], 1)
        self.assertEqual(len(self.srv.query(
            "SELECT * FROM customer_orders WHERE customer_id = ?",
            (cust["id"],))), 1)
        self.assertEqual(self.srv.count("visitor_id = ?", (vid,)), 0)
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM consent_records WHERE visitor_id = ?",
            (vid,))[0]["n"], 0)
        self.assertEqual(run_seula("consent", "verify", "--config",
                                   self.srv.config_path).returncode, 0)


class RegisterTimeZoneTest(unittest.TestCase):
    """A request's received and due days, and the days left, are the
    register's ([plugin.customers] timezone), not UTC's: one received at
    00:30 in Helsinki is received that day, not the day before."""

    def test_days_are_the_register_zone_days(self):
        # A zone whose date differs from UTC's right now: UTC-11 until
        # 11:00 UTC, UTC+14 from 10:00 UTC.
        utc = datetime.datetime.now(datetime.timezone.utc)
        zone = "Pacific/Pago_Pago" if utc.hour < 10 else "Pacific/Kiritimati"
        tz = zoneinfo.ZoneInfo(zone)
        local = lambda: datetime.datetime.now(tz).date().isoformat()
        before = local()
        self.assertNotEqual(before, today(), zone)
        srv, staff = start_server({"plugin.customers": {"timezone": zone}})
        try:
            cid = staff["cid"]
            cust = create(cid, "Zone")
            req = dsr(cid, "access", cust["id"]).json()["request"]
            after = local()
            self.assertIn(req["received_date"], {before, after})
            self.assertEqual(req["due_date"], add_months(req["received_date"], 1))
            self.assertEqual(req["days_left"], (
                datetime.date.fromisoformat(req["due_date"])
                - datetime.date.fromisoformat(req["received_date"])).days)
            listed = cid.request("GET", "/api/dsr").json()
            self.assertIn(listed["today"], {before, after})
            # A statutory hold runs to the end of its day there, and the
            # retention period is counted to the register's today (the
            # command's as the task's).  Ahead of UTC, UTC's today is
            # already past; behind it, the local today is still UTC's
            # yesterday.
            ahead = before > today()
            d = datetime.date.fromisoformat
            until = min(before, today())
            held = create(cid, "ZoneHold", statutory_retention_until=until)
            self.assertEqual("statutory_retention" in held["holds"], not ahead, zone)
            end = d(until).replace(year=d(until).year - 10).isoformat()
            gone = create(cid, "ZoneGone", relationship_start="2000-01-01",
                          relationship_end=end)
            r = run_seula("retention", "run", "--dry-run", "--config", srv.config_path)
            self.assertEqual(r.returncode, 0, r.stderr)
            ids = re.search(r"^customer ids: (.*)$", r.stdout, re.M).group(1).split(",")
            self.assertEqual(str(gone["id"]) in ids, ahead, (zone, end, r.stdout))
        finally:
            srv.close()

    def test_an_unknown_zone_is_refused_at_start(self):
        srv = Server(plugins=PLUGINS, sections={"plugin.customers": {"timezone": "Mars/Olympus"}})
        try:
            self.assertNotEqual(srv.start(expect_fail=True), 0)
            self.assertIn("timezone Mars/Olympus: not an IANA time zone", srv.stderr())
        finally:
            srv.close()


class ErasureProofTest(unittest.TestCase):
    """An erased consent record carries the server's keyed proof that it
    erased it: someone who can write the file can clear another record
    as an erasure does, even copy a real erasure's proof, and `seula
    consent verify` finds it."""

    def test_a_copied_proof_does_not_fit(self):
        srv, staff = start_server()
        try:
            cid = staff["cid"]
            gone, kept = create(cid, "Proof1"), create(cid, "Proof2")
            linked_visitor(srv, gone["email"])
            vid = linked_visitor(srv, kept["email"])
            self.assertEqual(dsr(cid, "erasure", gone["id"]).status, 201)
            verify = lambda: run_seula("consent", "verify", "--config", srv.config_path)
            r = verify()
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            [erased] = srv.query("SELECT id, erased_at, erased_mac FROM consent_records "
                                 "WHERE erased_at IS NOT NULL")
            self.assertEqual(len(erased["erased_mac"]), 32)
            [other] = srv.query("SELECT id FROM consent_records WHERE visitor_id = ?",
                                (vid,))
            db = sqlite3.connect(srv.db_path, timeout=10)
            db.execute("UPDATE consent_records SET visitor_id = NULL, ip_anon = NULL, "
                       "page = NULL, erased_at = ?, erased_mac = ? WHERE id = ?",
                       (erased["erased_at"], erased["erased_mac"], other["id"]))
            db.commit()
            db.close()
            r = verify()
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("BROKEN at record %d" % other["id"], r.stdout)
            self.assertIn("erased without the server's proof", r.stdout)
        finally:
            srv.close()


class ErasureBeforeProofsTest(unittest.TestCase):
    """A database whose erasures predate erased_mac (core migration 7):
    the migration signs them with the key, in its own transaction, so the
    chain verifies after an upgrade, and any unsigned one found later is a
    forgery.  Without the key it refuses rather than leave them
    unsigned."""

    def upgrade_signs_earlier_erasures(self, *command):
        srv, staff = start_server()
        try:
            cid = staff["cid"]
            gone = create(cid, "Old1")
            linked_visitor(srv, gone["email"])
            self.assertEqual(dsr(cid, "erasure", gone["id"]).status, 201)
            srv.stop()
            # The database as the version before migration 7 left it
            # (and without the later ones: 8, collect_since; 9, the
            # standing consent's record id and MAC).
            db = sqlite3.connect(srv.db_path)
            db.execute("ALTER TABLE consent_records DROP COLUMN erased_mac")
            db.execute("DROP TABLE collect_since")
            db.execute("ALTER TABLE consent_visitors DROP COLUMN mac")
            db.execute("ALTER TABLE consent_visitors DROP COLUMN record_id")
            db.execute("DELETE FROM seula_migrations WHERE component = 'core' "
                       "AND version >= 7")
            drop_api_key_columns(db)
            db.commit()
            db.close()
            verify = lambda: run_seula("consent", "verify", "--config", srv.config_path)
            r = verify()
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("seula migrate", r.stdout + r.stderr)
            # Without the key the migration refuses, and changes nothing.
            key = os.path.join(srv.dir, "seula.key")
            os.rename(key, key + ".away")
            r = run_seula(*command, "--config", srv.config_path)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("signed with the server's key", r.stderr)
            os.rename(key + ".away", key)
            self.assertEqual(srv.query("SELECT count(*) AS n FROM seula_migrations WHERE "
                                       "component = 'core' AND version = 7")[0]["n"], 0)
            r = run_seula(*command, "--config", srv.config_path)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = verify()
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(srv.query("SELECT count(*) AS n FROM consent_records "
                                       "WHERE erased_at IS NOT NULL AND length(erased_mac) "
                                       "= 32")[0]["n"], 1)
        finally:
            srv.close()

    def test_seula_migrate_signs_earlier_erasures(self):
        self.upgrade_signs_earlier_erasures("migrate")

    def test_a_retention_run_signs_them_as_it_upgrades(self):
        self.upgrade_signs_earlier_erasures("retention", "run")


class ErasureOfABlockedDayTest(unittest.TestCase):
    """A visit on a past day is also in that day's block (the analytics
    plugin's columns for filtered reports): erasing the person drops the
    block at once, and it is built again without them."""

    def test_erased_visit_leaves_the_block(self):
        srv, staff = start_server()
        try:
            self.erase(srv, staff)
        finally:
            srv.close()

    def until(self, srv, day, want):
        deadline = time.time() + 20
        while time.time() < deadline:
            got = block_ints(srv, day, "visitor")
            if got is not None and len(got) == want:
                return got
            time.sleep(0.2)
        self.fail("the block of day %d: %r" % (day, block_ints(srv, day, "visitor")))

    def erase(self, srv, staff):
        cid = staff["cid"]
        cust = create(cid, "Blocked")
        linked_visitor(srv, cust["email"])
        send(srv, None, [{"type": "pageview", "url": "http://localhost/x"}])
        self.assertEqual(srv.query("SELECT count(*) AS n FROM "
                                   "analytics_visits")[0]["n"], 2)
        # Five days ago, at noon (two visits begun either side of a
        # midnight would be two days' blocks): the restarted server ends
        # both visits and builds the day's block.
        srv.stop()
        db = sqlite3.connect(srv.db_path)
        [(first,)] = db.execute("SELECT min(start_ts) FROM analytics_visits")
        noon = (first // 86400000 - 5) * 86400000 + 43200000
        db.execute("UPDATE analytics_visits SET start_ts = start_ts - ? + ?, "
                   "last_ts = last_ts - ? + ?", (first, noon, first, noon))
        # What the plugin does when a visit starts on a day its blocks
        # have passed (block_touch()): the day is marked to be built.
        # Had the blocks task run between the visits and the stop (it
        # runs each second), the day would be behind built_to unmarked.
        db.execute("INSERT INTO analytics_block_dirty (site, day) SELECT "
                   "site, ? FROM analytics_block_state WHERE ? < built_to",
                   (noon // 86400000, noon // 86400000))
        db.commit()
        db.close()
        srv.start()
        [v] = srv.query("SELECT visitor, start_ts FROM analytics_visits "
                        "WHERE pageviews = 3")
        day = v["start_ts"] // 86400000
        self.assertIn(v["visitor"], self.until(srv, day, 2))

        def day_totals():
            return srv.query("SELECT sum(visits) AS v, sum(pageviews) AS p "
                             "FROM analytics_rollup WHERE dim = '' AND gran = 1 "
                             "AND t = ?", (day * 86400,))[0]
        # Five days ago is merged: its day's row counts both visits.
        self.assertEqual(day_totals(), {"v": 2, "p": 4})
        r = dsr(cid, "erasure", cust["id"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["erased"]["analytics"]["visits_deleted"], 1)
        self.assertEqual(day_totals(), {"v": 1, "p": 1})
        got = block_ints(srv, day, "visitor")
        self.assertTrue(got is None or v["visitor"] not in got, got)
        self.assertNotIn(v["visitor"], self.until(srv, day, 1))
        self.assertEqual(srv.query("SELECT count(*) AS n FROM "
                                   "analytics_block_dirty")[0]["n"], 0)


class ErasureTest(unittest.TestCase):
    """Its own server: the byte search covers the whole database."""

    def test_erasure_leaves_nothing_and_the_chains_verify(self):
        srv, staff = start_server()
        try:
            self.erase(srv, staff)
        finally:
            srv.close()

    def test_a_reader_delays_the_wal_truncation_not_forever(self):
        # A backup or a report reading at the moment of the erasure keeps
        # the old frames in the WAL; once it is done, they go.
        srv, staff = start_server()
        try:
            cid = staff["cid"]
            cust = create(cid, "Held")
            needle = cust["email"].encode()
            reader = sqlite3.connect(srv.db_path, isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM customers").fetchone()
            r = dsr(cid, "erasure", cust["id"])
            self.assertEqual(r.status, 201, r)
            self.assertTrue(any(needle in b for b in srv.db_files().values()),
                            "the reader's snapshot keeps the old frames")
            reader.execute("ROLLBACK")
            reader.close()
            # The frames can be gone (the WAL written over) a moment
            # before the retry that truncates it logs: both are waited for.
            deadline = time.time() + 10
            while time.time() < deadline and (any(
                    needle in b for b in srv.db_files().values()) or
                    "WAL truncated after an erasure" not in srv.stderr()):
                time.sleep(0.2)
            for name, blob in srv.db_files().items():
                self.assertNotIn(needle, blob, "found in %s" % name)
            self.assertIn("WAL truncated after an erasure", srv.stderr())
        finally:
            srv.close()

    def erase(self, srv, staff):
        cid, fin = staff["cid"], staff["fin"]
        cust = create(cid, "Erase")
        keep = create(cid, "Keeper")
        add_order(cid, cust["id"], "E-1")
        add_order(cid, cust["id"], "E-2")
        add_order(cid, keep["id"], "K-1")
        vid = linked_visitor(srv, cust["email"])
        other_vid = linked_visitor(srv, keep["email"])
        self.assertEqual(fin.request("GET", "/api/customers/export/finance",
                                     csrf=True)
                         .status, 200)
        # How they were identified (a document's number) goes with them.
        # A read of their consent history by visitor id: the audit entry
        # stays after the erasure, but not the id.
        self.assertEqual(cid.request("GET", "/api/consent/records?visitor_id="
                                     + vid).status, 200)
        access = dsr(cid, "access", cust["id"],
                     verification="passport FI-ACC-418273 at the counter").json()
        self.assertEqual(cid.request("GET", access["export"], csrf=True).status, 200)
        rollup = srv.query("SELECT sum(pageviews) AS n FROM analytics_rollup "
                           "WHERE dim = '' AND gran = 0")[0]["n"] or 0

        needles = [cust[k].encode() for k in (
            "email", "first_name", "last_name", "street", "phone",
            "organisation", "website")] + [vid.encode(), b"FI-ACC-418273",
                                           b"FI-ERA-905511"]
        files = srv.db_files()
        self.assertTrue(any(n in b for b in files.values() for n in needles))

        r = dsr(cid, "erasure", cust["id"],
                verification="id card FI-ERA-905511 by video call")
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        erased = doc["erased"]
        self.assertEqual(doc["request"]["status"], "completed")
        self.assertEqual(erased["customers"]["customers"], 1)
        self.assertEqual(erased["customers"]["orders"], 2)
        self.assertEqual(erased["customers"]["disclosures"], 1)
        self.assertEqual(erased["customers"]["links"], 1)
        self.assertEqual(erased["core"]["events_deleted"], 4)
        self.assertEqual(erased["core"]["consent_records_pseudonymised"], 1)
        self.assertGreater(erased["core"]["audit_entries_kept"], 0)
        self.assertEqual(erased["analytics"]["visits_deleted"], 1)

        # Nothing of them in the database, its WAL or its shared memory.
        files = srv.db_files()
        self.assertIn("db", files)
        for name, blob in files.items():
            for n in needles:
                self.assertNotIn(n, blob, "%s found in %s" % (n, name))
        # The other customer is untouched.
        self.assertEqual(cid.request("GET", "/api/customers/%d"
                                     % keep["id"]).status, 200)
        self.assertEqual(srv.count("visitor_id = ?", (other_vid,)), 4)
        assert_json_error(self, cid.request(
            "GET", "/api/customers/%d" % cust["id"]), 404)
        # The erased visit, open till now, never reaches the rollups.
        after = srv.query("SELECT sum(pageviews) AS n FROM analytics_rollup "
                          "WHERE dim = '' AND gran = 0")[0]["n"] or 0
        self.assertEqual(after, rollup)
        # The consent record stays as proof, pseudonymised.
        [rec] = srv.query("SELECT * FROM consent_records WHERE erased_at "
                          "IS NOT NULL")
        self.assertIsNone(rec["visitor_id"])
        self.assertIsNone(rec["page"])
        self.assertIsNone(rec["ip_anon"])
        # The audit entries stay, the id naming no one now.
        actions = [a["action"] for a in audit_of(srv, cust["id"])]
        self.assertIn("erase", actions)
        self.assertIn("export", actions)
        # The request is the record of having answered.
        self.assertEqual(cid.request("GET", "/api/dsr/%d"
                                     % doc["request"]["id"]).status, 200)
        # An erased person's export is gone; a second erasure finds no one.
        assert_json_error(self, cid.request("GET", access["export"], csrf=True), 410,
                          "gone")
        assert_json_error(self, dsr(cid, "erasure", cust["id"]), 404)

        for chain in ("consent", "audit"):
            v = run_seula(chain, "verify", "--config", srv.config_path)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # And after a clean stop, which folds the WAL back, still nothing.
        self.assertEqual(srv.stop(), 0)
        for name, blob in srv.db_files().items():
            for n in needles:
                self.assertNotIn(n, blob, "%s found in %s" % (n, name))


class CustomerIdTest(unittest.TestCase):
    """A customer id is never given twice: an erased or deleted person's
    requests and audit entries keep naming their id, and a new customer
    who got it would inherit them (in their access export, in the list of
    requests)."""

    def setUp(self):
        self.srv, self.staff = start_server()
        self.addCleanup(self.srv.close)
        self.cid = self.staff["cid"]

    def past_retention(self, tag):
        return create(self.cid, tag, relationship_start="2000-01-01",
                      relationship_end="2001-01-01")

    def retention(self):
        r = run_seula("retention", "run", "--config", self.srv.config_path)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_an_import_of_a_log_leaves_retention_to_the_server(self):
        # import-log opens the store for page views; the register's
        # deletions past retention are the server's (and the retention
        # command's), logged there, not a quiet import's side effect.
        old = self.past_retention("Old")
        log = os.path.join(self.srv.dir, "access.log")
        with open(log, "w") as f:
            f.write('81.2.69.142 - - [01/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 '
                    '"-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"\n')
        r = run_seula("import-log", "--config", self.srv.config_path, "--site", "demo",
                      "--quiet", log)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.srv.query("SELECT id FROM customers WHERE id = ?",
                                             (old["id"],))), 1)
        self.retention()
        self.assertEqual(self.srv.query("SELECT id FROM customers WHERE id = ?",
                                        (old["id"],)), [])

    def import_one(self, tag):
        p = person(tag)
        text = ",".join(p) + "\r\n" + ",".join(p.values()) + "\r\n"
        r = self.cid.request("POST", "/api/customers/import?source=partner%20list", text,
                             {"Content-Type": "text/csv"})
        self.assertEqual(r.status, 200, r)
        return r.json()["first_id"]

    def test_not_after_erasure_retention_or_import(self):
        pekka = create(self.cid, "Pekka")
        add_order(self.cid, pekka["id"], "P-1")
        access = dsr(self.cid, "access", pekka["id"]).json()
        self.assertEqual(self.cid.request("GET", access["export"], csrf=True).status, 200)
        self.assertEqual(dsr(self.cid, "erasure", pekka["id"]).status, 201)
        # Pekka had the highest id: SQLite alone would give it again.
        liisa = create(self.cid, "Liisa")
        self.assertGreater(liisa["id"], pekka["id"])
        r = dsr(self.cid, "access", liisa["id"])
        self.assertEqual(r.status, 201, r)
        z = self.cid.request("GET", r.json()["export"], csrf=True)
        self.assertEqual(z.status, 200, z)
        archive = zipfile.ZipFile(io.BytesIO(z.body))

        def rows(name):
            return list(csv.DictReader(io.StringIO(
                archive.read(name).decode("utf-8"))))
        # Her own entries only: created once, never erased.
        audit = rows("core_audit_log.csv")
        self.assertEqual([a["detail"] for a in audit
                          if a["detail"] == "created"], ["created"])
        self.assertNotIn("erase", [a["action"] for a in audit])
        self.assertEqual([q["id"] for q in rows("customers_requests.csv")],
                         [str(r.json()["request"]["id"])])
        listed = self.cid.request("GET", "/api/dsr?customer_id=%d"
                                  % liisa["id"]).json()["requests"]
        self.assertEqual([q["type"] for q in listed], ["access"])

        # Deleted by retention, then a new one from a CSV import.
        gone = self.past_retention("Gone")
        self.retention()
        self.assertEqual(self.srv.query("SELECT id FROM customers WHERE "
                                        "id = ?", (gone["id"],)), [])
        self.assertGreater(self.import_one("Imported"), gone["id"])

    def test_not_after_an_upgrade(self):
        """A database from before the high-water mark (customers migration
        5): the ids of people deleted before it are not given again."""
        erased = create(self.cid, "Erased")
        self.assertEqual(dsr(self.cid, "erasure", erased["id"]).status, 201)
        # The highest, deleted by retention: only its audit entries
        # remain to name its id.
        gone = self.past_retention("Old")
        self.retention()
        self.srv.stop()
        # The database as the version before migration 5 left it (and
        # without the later ones: 6, customer_link_shared).
        db = sqlite3.connect(self.srv.db_path)
        db.executescript(
            "DROP TRIGGER customers_id_never_reused;"
            "DROP TABLE customer_id_high;"
            "DROP TABLE customer_link_shared;"
            "DELETE FROM seula_migrations WHERE component = 'customers' "
            "AND version >= 5;")
        db.close()
        self.assertEqual(self.srv.query("SELECT max(id) AS n FROM "
                                        "customers")[0]["n"], None)
        self.srv.start()
        cid = login(self.srv, "cid", PASSWORDS["cid"])
        self.assertGreater(create(cid, "Next")["id"], gone["id"])



class ErasureOfPendingVisitTest(unittest.TestCase):
    """A visit the close task has gathered but not yet written to the
    rollups (rollup_delay) is erased: written and taken back out in the
    erasure's transaction, it is in no rollup row, nor after a kill and a
    restart."""

    def test_pending_visit_counted_once(self):
        srv, staff = start_server(
            sections={"plugin.analytics": {"visit_timeout": "1s",
                                           "rollup_delay": "1h"}},
            server={"log_level": "debug"})
        self.addCleanup(srv.close)
        cust = create(staff["cid"], "Pend")
        linked_visitor(srv, cust["email"])
        deadline = time.monotonic() + 15
        while "1 waiting for the rollups" not in srv.stderr():
            self.assertLess(time.monotonic(), deadline, srv.stderr()[-2000:])
            time.sleep(0.1)

        def totals():
            return srv.query("SELECT coalesce(sum(visits), 0) AS v, "
                             "coalesce(sum(pageviews), 0) AS p FROM "
                             "analytics_rollup WHERE dim = '' AND gran = 0")[0]
        self.assertEqual(totals(), {"v": 0, "p": 0})
        r = dsr(staff["cid"], "erasure", cust["id"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["erased"]["analytics"]["visits_deleted"], 1)
        self.assertEqual(totals(), {"v": 0, "p": 0})
        self.assertEqual(srv.query("SELECT count(*) AS n FROM "
                                   "analytics_visits")[0]["n"], 0)
        self.assertEqual(srv.query("SELECT count(*) AS n FROM "
                                   "analytics_rollup")[0]["n"], 0)
        srv.kill9()
        srv.start()
        login(srv, "ann", PASSWORDS["ann"])
        self.assertEqual(totals(), {"v": 0, "p": 0})

class ErasureDuringSegmentBackfillTest(unittest.TestCase):
    """A visit erased before a new segment's backfill has reached it is in
    none of the segment's rows yet: the erasure takes it out of the site's
    own rows alone, and the backfill, which no longer finds it, never adds
    it."""

    def test_erased_visit_is_in_no_segment_row(self):
        srv, staff = start_server(
            sections={"plugin.analytics": {"visit_timeout": "1s",
                                           "rollup_delay": "0s"}})
        self.addCleanup(srv.close)
        cust = create(staff["cid"], "Seg")
        linked_visitor(srv, cust["email"])
        deadline = time.monotonic() + 15
        while srv.query("SELECT count(*) AS n FROM analytics_visits "
                        "WHERE closed = 1")[0]["n"] != 1:
            self.assertLess(time.monotonic(), deadline, srv.stderr()[-2000:])
            time.sleep(0.1)
        srv.stop()
        # Newer visits for the backfill to walk first (newest first): the
        # linked visitor's comes last.
        n = 50000
        (start,) = [r["start_ts"] for r in srv.query("SELECT start_ts FROM analytics_visits")]
        add_closed_visits(srv.db_path, n, start, 1)
        with open(srv.config_path) as f:
            ini = f.read()
        with open(srv.config_path, "w") as f:
            f.write(ini.replace("[plugin.analytics]\n", "[plugin.analytics]\n"
                                "segments = demo:entry_page!=/nosuch\n"))
        srv.start()
        cid = login(srv, "cid", PASSWORDS["cid"])
        while "registered" not in srv.stderr():
            self.assertLess(time.monotonic(), deadline + 30, srv.stderr()[-2000:])
            time.sleep(0.05)
        self.assertIsNotNone(srv.query("SELECT cursor_ts FROM analytics_segments")[0]
                             ["cursor_ts"], "the backfill ended before the erasure")
        r = dsr(cid, "erasure", cust["id"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["erased"]["analytics"]["visits_deleted"], 1)
        while "entry_page!=/nosuch backfilled" not in srv.stderr():
            self.assertLess(time.monotonic(), deadline + 150, srv.stderr()[-2000:])
            time.sleep(0.1)
        got = srv.query("SELECT sum(visits) AS v, sum(pageviews) AS p FROM "
                        "analytics_rollup WHERE dim = (SELECT 'seg:' || id || ':' "
                        "FROM analytics_segments) AND gran = 0")[0]
        self.assertEqual(got, {"v": n, "p": n})
        # The added visits were written to the table alone: the site's own
        # rows held the erased one only, and are gone with it.
        self.assertEqual(srv.query("SELECT count(*) AS n FROM analytics_rollup "
                                   "WHERE dim NOT GLOB 'seg:*'")[0]["n"], 0)


class ErasureFromRollupsTest(unittest.TestCase):
    """An erased person's ended visits are taken back out of the rollups:
    the site's rows, a segment's and a goal's.  A value only they sent is
    no row of any breakdown; one shared keeps the others' counts."""

    def test_their_share_goes_and_the_others_stays(self):
        srv, staff = start_server(sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s",
            "segments": "demo:entry_page!=/nosuch",
            "goals": "demo:page:/b, demo:event:signup"}})
        self.addCleanup(srv.close)
        cust = create(staff["cid"], "Rollups")
        vid = linked_visitor(srv, cust["email"])
        send(srv, vid, [{"type": "pageview", "url": "http://localhost/only-theirs"},
                        {"type": "event", "name": "signup",
                         "props": {"plan": "uniqueplanvalue"}}])
        send(srv, None, [{"type": "pageview", "url": "http://localhost/b"},
                         {"type": "event", "name": "signup",
                          "props": {"plan": "pro"}}])
        deadline = time.monotonic() + 20
        while srv.query("SELECT count(*) AS n FROM analytics_visits "
                        "WHERE closed = 1")[0]["n"] != 2:
            self.assertLess(time.monotonic(), deadline, srv.stderr()[-2000:])
            time.sleep(0.1)

        def rows(where, *args):
            return {(r["dim"].split(":", 2)[-1] if r["dim"].startswith("seg:")
                     else r["dim"], r["dim"].startswith("seg:"), r["value"]):
                    (r["visits"], r["pageviews"], r["events"])
                    for r in srv.query("SELECT dim, value, visits, pageviews, "
                                       "events FROM analytics_rollup WHERE gran = 0 "
                                       "AND " + where, args)}
        before = rows("1")
        for seg in (False, True):
            self.assertEqual(before[("", seg, "")], (2, 5, 3))
            self.assertEqual(before[("page", seg, "/b")], (2, 2, 0))
            self.assertEqual(before[("prop:plan", seg, "uniqueplanvalue")], (1, 0, 1))
            self.assertEqual(before[("goal", seg, "Visit /b")], (2, 0, 2))
            self.assertEqual(before[("goal", seg, "signup")], (2, 0, 2))

        r = dsr(staff["cid"], "erasure", cust["id"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["erased"]["analytics"]["visits_deleted"], 1)
        self.assertEqual(rows("value IN ('uniqueplanvalue', '/only-theirs', "
                              "'/a', '/c', 'identify')"), {})
        after = rows("1")
        for seg in (False, True):
            self.assertEqual(after[("", seg, "")], (1, 1, 1))
            self.assertEqual(after[("page", seg, "/b")], (1, 1, 0))
            self.assertEqual(after[("prop:plan", seg, "pro")], (1, 0, 1))
            self.assertEqual(after[("goal", seg, "Visit /b")], (1, 0, 1))
            self.assertEqual(after[("goal", seg, "signup")], (1, 0, 1))
        ann = login(srv, "ann", PASSWORDS["ann"])
        got = ann.request("GET", "/api/stats/demo/breakdown?dimension=prop:plan")
        self.assertEqual(got.status, 200, got)
        self.assertEqual([x["prop:plan"] if "prop:plan" in x else x for x in
                          got.json()["results"]], ["pro"])



def visitor(srv, path):
    """A visitor who is not in the register: statistics consent and three
    page views under their visitor id, no identify event."""
    vid = str(uuid.uuid4())
    receipt = record_consent(srv, "accept_all", vid)["receipt"]
    send(srv, vid, [{"type": "pageview", "url": "http://localhost/%s/1" % path},
                    {"type": "pageview", "url": "http://localhost/%s/2" % path},
                    {"type": "event", "name": "signup"}])
    return vid, receipt


def visitor_dsr(s, type_, vid, **extra):
    body = {"type": type_, "visitor_id": vid,
            "verification": "receipt shown by the person"}
    body.update(extra)
    return s.request("POST", "/api/dsr", body)


class VisitorRequestTest(unittest.TestCase):
    """A visitor who is not a customer gives their visitor id (art. 11(2)):
    access and erasure reach what every plugin holds under it."""

    @classmethod
    def setUpClass(cls):
        cls.srv, cls.staff = start_server()
        cls.cid = cls.staff["cid"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def requests(self):
        return self.srv.query(
            "SELECT count(*) AS n FROM customer_dsr_requests")[0]["n"]

    def test_bad_requests_answer_400_and_store_nothing(self):
        vid = str(uuid.uuid4())
        cust = create(self.cid, "VisBad")
        before = self.requests()
        # Both ids, or neither.
        assert_json_error(self, self.cid.request("POST", "/api/dsr", {
            "type": "access", "customer_id": cust["id"], "visitor_id": vid,
            "verification": "receipt"}), 400)
        assert_json_error(self, self.cid.request("POST", "/api/dsr", {
            "type": "access", "verification": "receipt"}), 400)
        # The other rights need a record in the register.
        for t in ("rectification", "anonymisation", "restriction",
                  "objection"):
            doc = assert_json_error(self, visitor_dsr(self.cid, t, vid), 400)
            self.assertIn("register", doc["message"])
        # Not a UUID.
        for bad in ("not-a-uuid", vid[:-1], vid + "0", vid.replace("-", "x"),
                    12345, ["x"]):
            assert_json_error(self, visitor_dsr(self.cid, "access", bad), 400)
        assert_json_error(self, visitor_dsr(self.cid, "access", vid,
                                            verification=""), 400)
        self.assertEqual(self.requests(), before)

    def test_a_linked_visitor_id_names_the_customers_request(self):
        cust = create(self.cid, "VisLinked")
        vid = linked_visitor(self.srv, cust["email"])
        before = self.requests()
        for t in ("access", "erasure"):
            doc = assert_json_error(self, visitor_dsr(self.cid, t, vid),
                                    409, "linked_visitor")
            self.assertEqual(doc["customer_id"], cust["id"])
            self.assertIn("customer_id %d" % cust["id"], doc["message"])
        self.assertEqual(self.requests(), before)
        self.assertEqual(self.srv.count("visitor_id = ?", (vid,)), 4)
        # In upper case it is the same id.
        assert_json_error(self, visitor_dsr(self.cid, "erasure", vid.upper()),
                          409, "linked_visitor")

    def test_the_list_finds_a_visitors_requests_by_their_id(self):
        vid, _ = visitor(self.srv, "listed")
        other, _ = visitor(self.srv, "unlisted")
        cust = create(self.cid, "VisList")
        mine = visitor_dsr(self.cid, "access", vid).json()["request"]
        visitor_dsr(self.cid, "access", other)
        dsr(self.cid, "restriction", cust["id"])

        def listed(query):
            r = self.cid.request("GET", "/api/dsr?" + query)
            self.assertEqual(r.status, 200, r)
            return [x["id"] for x in r.json()["requests"]]
        # In any case, and with the other filters.
        for given in (vid, vid.upper()):
            self.assertEqual(listed("visitor_id=" + given), [mine["id"]])
        self.assertEqual(listed("status=open&visitor_id=" + vid), [mine["id"]])
        self.assertEqual(listed("status=completed&visitor_id=" + vid), [])
        self.assertEqual(listed("visitor_id=" + str(uuid.uuid4())), [])
        # Validated as the request's visitor id is.
        for bad in ("", "not-a-uuid", vid[:-1], vid + "0",
                    vid.replace("-", "x"), "%20" + vid, "12345"):
            assert_json_error(self, self.cid.request(
                "GET", "/api/dsr?visitor_id=" + bad), 400, "invalid_query")
        assert_json_error(self, self.cid.request(
            "GET", "/api/dsr?visitor_id=" + vid[:8] + "%00" + vid[9:]), 400)
        assert_json_error(self, self.cid.request(
            "GET", "/api/dsr?visitor_id=%s&customer_id=%d"
            % (vid, cust["id"])), 400, "invalid_query")
        # A staff role's list only.
        self.assertEqual(self.staff["ann"].request(
            "GET", "/api/dsr?visitor_id=" + vid).status, 403)
        # Each search is a read about the visitor, found or not, under
        # the pseudonym, never the id.
        nobody = str(uuid.uuid4())
        self.assertEqual(listed("visitor_id=" + nobody), [])
        entries = self.srv.query(
            "SELECT subject, detail FROM audit_log WHERE action = 'read' "
            "AND detail LIKE 'data subject requests by visitor id: %' "
            "ORDER BY id")
        self.assertEqual(entries[0]["subject"], mine["visitor_subject"])
        self.assertEqual(entries[0]["detail"],
                         "data subject requests by visitor id: 1")
        self.assertTrue(entries[-1]["subject"].startswith("visitor:"))
        self.assertNotEqual(entries[-1]["subject"], mine["visitor_subject"])
        self.assertEqual(entries[-1]["detail"],
                         "data subject requests by visitor id: 0")
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM audit_log WHERE instr(coalesce("
            "subject, '') || coalesce(detail, '') || route, ?) OR instr("
            "coalesce(subject, '') || coalesce(detail, '') || route, ?)",
            (vid, nobody))[0]["n"], 0)

    def test_an_access_request_made_before_linking_holds_the_erasure(self):
        # The visitor asked for their data; their id is linked to a
        # customer afterwards.  The customer's erasure would delete what
        # that export must give: it waits for it, as for the customer's
        # own access request.
        vid, _ = visitor(self.srv, "laterlinked")
        access = visitor_dsr(self.cid, "access", vid).json()
        cust = create(self.cid, "VisLater")
        order = add_order(self.cid, cust["id"], "VL-1", status="open")
        send(self.srv, vid, [{"type": "event", "name": "identify",
                              "props": {"email": cust["email"]}}])
        assert_json_error(self, visitor_dsr(self.cid, "erasure", vid), 409,
                          "linked_visitor")
        events = self.srv.count("visitor_id = ?", (vid,))
        self.assertEqual(events, 4)
        # A hold refuses the erasure first; once it ends, the open access
        # request still keeps it from being carried out.
        r = dsr(self.cid, "erasure", cust["id"])
        assert_json_error(self, r, 409, "legal_hold")
        held = r.json()["request"]
        self.assertEqual(self.cid.request(
            "PATCH", "/api/customers/%d/orders/%d" % (cust["id"], order["id"]),
            {"invoice_status": "paid"}).status, 200)

        def hold_ended():
            return self.cid.request("GET", "/api/dsr/%d" % held["id"]).json()[
                "hold_ended"]
        self.assertFalse(hold_ended())
        for kind in ("erasure", "anonymisation"):
            r = dsr(self.cid, kind, cust["id"])
            assert_json_error(self, r, 409, "open_request")
            self.assertEqual(r.json()["requests"], [access["request"]["id"]])
        # Nothing was done nor recorded.
        self.assertEqual(self.srv.count("visitor_id = ?", (vid,)), events)
        self.assertEqual(self.cid.request(
            "GET", "/api/customers/%d" % cust["id"]).status, 200)
        self.assertEqual([x["id"] for x in self.srv.query(
            "SELECT id FROM customer_dsr_requests WHERE customer_id = ?",
            (cust["id"],))], [held["id"]])
        # The export has what they asked for; then the erasure goes on.
        z = self.cid.request("GET", access["export"], csrf=True)
        self.assertEqual(z.status, 200, z)
        events_csv = zipfile.ZipFile(io.BytesIO(z.body)).read(
            "core_events.csv").decode()
        self.assertEqual(events_csv.count(vid), events)
        self.assertTrue(hold_ended())
        r = dsr(self.cid, "erasure", cust["id"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.srv.count("visitor_id = ?", (vid,)), 0)

    def test_access_export_has_their_data_and_not_anothers(self):
        vid, receipt = visitor(self.srv, "mine")
        other, other_receipt = visitor(self.srv, "theirs")
        # Staff read their consent history: an entry about them.
        self.assertEqual(self.cid.request(
            "GET", "/api/consent/records?visitor_id=" + vid).status, 200)
        self.assertEqual(self.cid.request(
            "GET", "/api/consent/records?visitor_id=" + other).status, 200)
        r = visitor_dsr(self.cid, "access", vid.upper())
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        req = doc["request"]
        self.assertEqual(req["visitor_id"], vid)
        self.assertIsNone(req["customer_id"])
        self.assertTrue(req["visitor_subject"].startswith("visitor:"))
        self.assertEqual(req["status"], "open")
        got = self.cid.request("GET", "/api/dsr/%d" % req["id"]).json()
        self.assertEqual(got["visitor_id"], vid)
        listed = [q for q in self.cid.request("GET", "/api/dsr").json()
                  ["requests"] if q["id"] == req["id"]]
        self.assertEqual(listed[0]["visitor_id"], vid)

        z = self.cid.request("GET", doc["export"], csrf=True)
        self.assertEqual(z.status, 200, z)
        archive = zipfile.ZipFile(io.BytesIO(z.body))
        names = set(archive.namelist())
        for n in ("export.json", "README.txt", "core_events.csv",
                  "core_consent_records.csv", "core_audit_log.csv",
                  "analytics_visits.csv", "customers_requests.csv"):
            self.assertIn(n, names)
        export = json.loads(archive.read("export.json"))
        self.assertEqual(export["visitor_id"], vid)
        self.assertIsNone(export["customer_id"])

        def rows(name):
            return list(csv.DictReader(io.StringIO(
                archive.read(name).decode("utf-8"))))
        events = rows("core_events.csv")
        self.assertEqual(len(events), 3)
        self.assertEqual({e["visitor_id"] for e in events}, {vid})
        self.assertEqual([c["receipt"] for c in
                          rows("core_consent_records.csv")], [receipt])
        self.assertEqual(rows("analytics_visits.csv")[0]["pageviews"], "2")
        self.assertEqual([q["id"] for q in rows("customers_requests.csv")],
                         [str(req["id"])])
        audit = rows("core_audit_log.csv")
        self.assertIn("consent history", [a["detail"] for a in audit])
        self.assertTrue(any(a["action"] == "dsr" for a in audit), audit)
        # Nothing of the other visitor in any file of it.
        for n in names:
            blob = archive.read(n)
            self.assertNotIn(other.encode(), blob, n)
            self.assertNotIn(other_receipt.encode(), blob, n)
        # The export is audited under the audit log's name for them,
        # and the request is answered.
        [entry] = self.srv.query(
            "SELECT subject, detail FROM audit_log WHERE action = 'export' "
            "AND detail LIKE ?", ("access export (request %d)%%" % req["id"],))
        self.assertEqual(entry["subject"], req["visitor_subject"])
        self.assertEqual(self.cid.request("GET", "/api/dsr/%d" % req["id"])
                         .json()["status"], "completed")
        # The log names them by that pseudonym, never by the id itself.
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM audit_log WHERE instr(coalesce("
            "subject, '') || coalesce(detail, '') || route, ?)",
            (vid,))[0]["n"], 0)


class VisitorErasureTest(unittest.TestCase):
    """Its own server: the byte search covers the whole database."""

    def test_erasure_leaves_nothing_of_the_visitor_id(self):
        srv, staff = start_server()
        self.addCleanup(srv.close)
        cid = staff["cid"]
        vid, receipt = visitor(srv, "erase")
        other, _ = visitor(srv, "keep")
        self.assertEqual(cid.request(
            "GET", "/api/consent/records?visitor_id=" + vid).status, 200)
        access = visitor_dsr(cid, "access", vid,
                             verification="receipt VIS-ACC-771204 by email")
        self.assertEqual(access.status, 201, access)
        access = access.json()
        # Their export goes to them before their data does.
        assert_json_error(self, visitor_dsr(cid, "erasure", vid), 409,
                          "open_request")
        self.assertEqual(cid.request("GET", access["export"], csrf=True)
                         .status, 200)
        needles = [vid.encode(), b"VIS-ACC-771204", b"VIS-ERA-330917"]
        self.assertTrue(any(vid.encode() in b
                            for b in srv.db_files().values()))

        r = visitor_dsr(cid, "erasure", vid,
                        verification="receipt VIS-ERA-330917 by email")
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        erased = doc["erased"]
        self.assertEqual(doc["request"]["status"], "completed")
        self.assertIsNone(doc["request"]["visitor_id"])
        self.assertIsNone(doc["request"]["customer_id"])
        self.assertEqual(erased["core"]["events_deleted"], 3)
        self.assertEqual(erased["core"]["consent_records_pseudonymised"], 1)
        self.assertGreater(erased["core"]["audit_entries_kept"], 0)
        self.assertEqual(erased["analytics"]["visits_deleted"], 1)
        self.assertEqual(erased["customers"]["visitor_requests_unidentified"],
                         1)

        for name, blob in srv.db_files().items():
            for n in needles:
                self.assertNotIn(n, blob, "%s found in %s" % (n, name))
        # The other visitor is untouched.
        self.assertEqual(srv.count("visitor_id = ?", (other,)), 3)
        # The consent record stays as proof, without the id.
        [rec] = srv.query("SELECT * FROM consent_records WHERE receipt = ?",
                          (receipt,))
        self.assertIsNone(rec["visitor_id"])
        self.assertIsNotNone(rec["erased_at"])
        # The erasure is audited under their pseudonym, which stays.
        subject = doc["request"]["visitor_subject"]
        actions = [a["action"] for a in srv.query(
            "SELECT action FROM audit_log WHERE subject = ?", (subject,))]
        for a in ("dsr", "export", "erase", "read"):
            self.assertIn(a, actions)
        # The earlier request stays as the record of the answer; its
        # export is gone, and the list still shows both.
        got = cid.request("GET", "/api/dsr/%d" % access["request"]["id"])
        self.assertEqual(got.status, 200)
        self.assertIsNone(got.json()["visitor_id"])
        self.assertEqual(got.json()["verification"], "")
        assert_json_error(self, cid.request("GET", access["export"],
                                            csrf=True), 410, "gone")
        self.assertEqual(len(cid.request("GET", "/api/dsr").json()
                             ["requests"]), 2)
        # The id they give again finds the record of both answers.
        self.assertEqual(sorted(x["id"] for x in cid.request(
            "GET", "/api/dsr?visitor_id=" + vid).json()["requests"]),
            [access["request"]["id"], doc["request"]["id"]])
        self.assertEqual(cid.request("GET", "/api/dsr?visitor_id=" + other)
                         .json()["requests"], [])
        for chain in ("consent", "audit"):
            v = run_seula(chain, "verify", "--config", srv.config_path)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertEqual(srv.stop(), 0)
        for name, blob in srv.db_files().items():
            for n in needles:
                self.assertNotIn(n, blob, "%s found in %s" % (n, name))



class VisitorRequestRetentionTest(unittest.TestCase):
    """An answered visitor request keeps the visitor id only while
    something is held under it."""

    def test_the_id_goes_once_nothing_is_held_under_it(self):
        srv, staff = start_server()
        self.addCleanup(srv.close)
        cid = staff["cid"]
        aged, _ = visitor(srv, "aged")
        held, _ = visitor(srv, "held")
        waiting, _ = visitor(srv, "waiting")
        ids = {}
        for vid in (aged, held, waiting):
            r = visitor_dsr(cid, "access", vid,
                            verification="receipt RET-%s" % vid[:8])
            self.assertEqual(r.status, 201, r)
            ids[vid] = r.json()["request"]["id"]
            if vid != waiting:  # answered
                self.assertEqual(cid.request("GET", r.json()["export"],
                                             csrf=True).status, 200)
        srv.stop()
        # Their events and consent aged out by their own retention (by
        # hand: the server's clock cannot be moved).
        db = sqlite3.connect(srv.db_path)
        db.execute("DROP TRIGGER IF EXISTS consent_records_kept")
        for vid in (aged, waiting):
            for table in ("events", "consent_records", "consent_visitors"):
                db.execute("DELETE FROM %s WHERE visitor_id = ?" % table, (vid,))
        db.commit()
        db.close()
        srv.start()  # the retention task runs at start

        def row(vid):
            return srv.query("SELECT visitor_id, visitor_subject, verification "
                             "FROM customer_dsr_requests WHERE id = ?",
                             (ids[vid],))[0]
        deadline = time.time() + 15
        while row(aged)["visitor_id"] is not None and time.time() < deadline:
            time.sleep(0.2)
        gone = row(aged)
        self.assertIsNone(gone["visitor_id"])
        self.assertEqual(gone["verification"], "")
        self.assertTrue(gone["visitor_subject"].startswith("visitor:"))
        self.assertEqual(row(held)["visitor_id"], held, "data still held")
        self.assertEqual(row(waiting)["visitor_id"], waiting, "still open")
        self.assertEqual(row(waiting)["verification"], "receipt RET-%s" % waiting[:8])


if __name__ == "__main__":
    unittest.main()
