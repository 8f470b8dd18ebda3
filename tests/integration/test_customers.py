"""The customer register (the customers plugin) against the real server:
CRUD with validation, roles, search, CSV import (all or nothing), orders and
legal holds, postal labels honouring every objection, the finance export
with its disclosures, and the audit entries of every read.
"""
import csv
import io
import itertools
import json
import os
import pwd
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
import urllib.parse
import zlib

from seulatest import (BIN, SOURCE, Server, add_user, assert_json_error, login, run_seula)

PASSWORDS = {
    "ada": "plum-Orbit-7-lantern",
    "ann": "copper+Fjord+42+heron",
    "cid": "velvet_Quarry_19_moss",
    "fin": "maple.Signal.88.drift",
}
ROLES = {"ada": "admin", "ann": "analyst", "cid": "customer_service",
         "fin": "finance"}
PLUGINS = ("anonymize", "customers")


def subject_ids(subject):
    """The ids an audit subject's list names ("3,17-42")."""
    ids = set()
    for part in (subject or "").split(","):
        first, _, last = part.partition("-")
        ids |= set(range(int(first), int(last or first) + 1))
    return ids


def audit_search(admin, customer_id):
    """The routes of the audit entries a search by the person finds."""
    r = admin.request("GET", "/api/audit?limit=1000&subject=%d" % customer_id)
    assert r.status == 200, r
    return [e["route"] for e in r.json()["entries"]]

PERSON = {
    "first_name": "Aino", "last_name": "Äijälä", "organisation": "Tuisku Oy",
    "email": "aino@tuisku.example", "street": "Esimerkkikatu 1",
    "postal_code": "00100", "city": "Helsinki", "country": "FI",
    "phone": "+358 40 123 4567", "website": "https://tuisku.example/",
    "source": "registration", "segment": "wholesale",
    "relationship_start": "2024-01-15",
}


def start_server(**kw):
    srv = Server(plugins=PLUGINS,
                 sections={"auth": {"login_max_failures": "1000"}}, **kw)
    for name, role in ROLES.items():
        add_user(srv, name, role, PASSWORDS[name])
    srv.start()
    staff = {name: login(srv, name, PASSWORDS[name]) for name in ROLES}
    return srv, staff


def n_customers(srv):
    return srv.query("SELECT count(*) AS n FROM customers")[0]["n"]


_PEOPLE = itertools.count(1)


def create(s, **fields):
    body = dict(PERSON)
    # Each one a person of their own: one address is one customer.
    body["email"] = "aino.%d@tuisku.example" % next(_PEOPLE)
    body.update(fields)
    r = s.request("POST", "/api/customers", body)
    if r.status != 201:
        raise AssertionError("create: %r" % r)
    return r.json()


def import_csv(s, text, content_type="text/csv", source="trade fair 2025"):
    """`source`: the import's (?source=), for rows without their own;
    None sends none."""
    q = "?" + urllib.parse.urlencode({"source": source}) if source is not None else ""
    return s.request("POST", "/api/customers/import" + q, text.encode("utf-8"),
                     {"Content-Type": content_type})


def csv_rows(body):
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


class RegisterTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv, cls.staff = start_server()
        cls.cid = cls.staff["cid"]
        cls.ada = cls.staff["ada"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_create_read_and_the_ip_is_masked(self):
        r = self.cid.request("POST", "/api/customers",
                             dict(PERSON, country="fi", ip="192.168.10.20"))
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        self.assertEqual(r.header("Location"), "/api/customers/%d" % doc["id"])
        for k, v in PERSON.items():
            self.assertEqual(doc[k], "FI" if k == "country" else v, k)
        self.assertEqual(doc["ip"], "192.168.0.0")
        self.assertEqual(doc["flags"], {
            "restricted": False, "objects_direct_marketing": False,
            "objects_publication": False, "objects_profiling": False,
            "active_contact": False})
        self.assertEqual(doc["holds"], [])
        self.assertIsNone(doc["relationship_end"])
        self.assertRegex(doc["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        got = self.cid.request("GET", "/api/customers/%d" % doc["id"])
        self.assertEqual(got.status, 200)
        self.assertEqual(got.json(), doc)
        # The full address is nowhere in the database files.
        for blob in self.srv.db_files().values():
            self.assertNotIn(b"192.168.10.20", blob)

    def test_validation_answers_400_naming_the_field(self):
        cases = [
            ({"email": "not-an-email"}, "email"),
            ({"email": "a@b"}, "email"),
            ({"email": "a..b@example.com"}, "email"),
            ({"country": "XX"}, "country"),
            ({"country": "FIN"}, "country"),
            ({"relationship_start": "2026-02-30"}, "relationship_start"),
            ({"relationship_end": "2023-01-01"}, "relationship_end"),
            ({"statutory_retention_until": "31.12.2030"},
             "statutory_retention_until"),
            ({"first_name": "x" * 101}, "first_name"),
            ({"last_name": "Bad\u0001Name"}, "last_name"),
            ({"street": "two\nlines"}, "street"),
            ({"phone": "call me"}, "phone"),
            ({"website": "javascript:alert(1)"}, "website"),
            ({"postal_code": "00100!"}, "postal_code"),
            ({"ip": "999.1.1.1"}, "ip"),
            ({"city": 42}, "city"),
            ({"favourite_colour": "blue"}, "favourite_colour"),
            ({"flags": {"restricted": "yes"}}, "restricted"),
            ({"flags": {"vip": True}}, "vip"),
            ({"first_name": None, "last_name": None, "organisation": None},
             "last_name"),
        ]
        before = n_customers(self.srv)
        for change, field in cases:
            body = dict(PERSON)
            body.update(change)
            r = self.cid.request("POST", "/api/customers", body)
            doc = assert_json_error(self, r, 400, "invalid_field")
            self.assertEqual(doc["field"], field, (change, doc))
            self.assertIn(field, doc["message"])
        for body, headers, status in (
                ("{", {"Content-Type": "application/json"}, 400),
                ("[1]", {"Content-Type": "application/json"}, 400),
                (json.dumps(PERSON), {"Content-Type": "text/plain"}, 415)):
            assert_json_error(self, self.cid.request(
                "POST", "/api/customers", body, headers), status)
        self.assertEqual(n_customers(self.srv), before)
        self.assertTrue(self.srv.alive())

    def test_put_replaces_patch_changes_flags_stay(self):
        doc = create(self.cid, last_name="Putte")
        path = "/api/customers/%d" % doc["id"]
        r = self.cid.request("PATCH", path, {"flags": {"objects_publication": True},
                                             "phone": None, "city": "Espoo"})
        self.assertEqual(r.status, 200, r)
        got = r.json()
        self.assertEqual((got["city"], got["phone"], got["email"]),
                         ("Espoo", None, doc["email"]))
        self.assertTrue(got["flags"]["objects_publication"])
        # PUT: every field as sent, the rest cleared; the objection stays.
        r = self.cid.request("PUT", path, {"last_name": "Putte", "email": "p@example.fi"})
        self.assertEqual(r.status, 200, r)
        got = r.json()
        self.assertEqual(got["email"], "p@example.fi")
        self.assertIsNone(got["street"])
        self.assertEqual(got["source"], PERSON["source"])
        self.assertTrue(got["flags"]["objects_publication"])
        # Sending back what GET gave is a valid PUT.
        again = self.cid.request("PUT", path, got)
        self.assertEqual(again.status, 200, again)
        doc = assert_json_error(self, self.cid.request("PUT", path, dict(got, id=got["id"] + 1)),
                                400, "invalid_field")
        self.assertEqual(doc["field"], "id")
        assert_json_error(self, self.cid.request("PATCH", path, {"source": None}),
                          400, "invalid_field")
        for p in ("/api/customers/999999", "/api/customers/abc", "/api/customers/0"):
            assert_json_error(self, self.cid.request("GET", p), 404, "not_found")
            assert_json_error(self, self.cid.request("PATCH", p, {"city": "X"}), 404)
        # No DELETE: erasure goes through the data subject rights.
        assert_json_error(self, self.cid.request("DELETE", path), 405)

    def test_unicode_spaces_are_trimmed_and_alone_are_no_value(self):
        # As the staff pages' JavaScript trim() reads them: a no-break or
        # ideographic space around a value is not part of it, and a value
        # of such spaces alone is empty, a required one refused.
        doc = create(self.cid, city="\u00a0Espoo\u3000", segment="\ufeff\u2003")
        self.assertEqual((doc["city"], doc["segment"]), ("Espoo", None))
        path = "/api/customers/%d" % doc["id"]
        for blank in ("", "\u00a0", "\u3000 \u2028\ufeff", "\u1680\u205f"):
            got = assert_json_error(self, self.cid.request("PATCH", path, {"source": blank}),
                                    400, "invalid_field")
            self.assertEqual((got["field"], got["message"]),
                             ("source", "source: the source of the data cannot be removed"),
                             ascii(blank))
        got = assert_json_error(self, self.cid.request(
            "POST", "/api/customers", {"first_name": "\u00a0", "last_name": "\u3000",
                                       "source": "web form"}), 400, "invalid_field")
        self.assertEqual(got["field"], "last_name")

    def test_a_value_of_zero_width_characters_alone_is_no_value(self):
        doc = create(self.cid, segment="\u200b\u2060")
        self.assertIsNone(doc["segment"])
        path = "/api/customers/%d" % doc["id"]
        for blank in ("\u200b", "\u200c\u200d", "\u2060\ufeff", "\u200b \u00a0\u200d"):
            got = assert_json_error(self, self.cid.request("PATCH", path, {"source": blank}),
                                    400, "invalid_field")
            self.assertEqual((got["field"], got["message"]),
                             ("source", "source: the source of the data cannot be removed"),
                             ascii(blank))
        # One with something to read is kept as given.
        r = self.cid.request("PATCH", path, {"source": "fair\u200b2025"})
        self.assertEqual((r.status, r.json()["source"]), (200, "fair\u200b2025"))

    def test_text_fields_are_counted_in_characters(self):
        doc = create(self.cid, first_name="ä" * 100, organisation="\U0001f332" * 200,
                     segment="ö" * 64)
        self.assertEqual((doc["first_name"], doc["organisation"], doc["segment"]),
                         ("ä" * 100, "\U0001f332" * 200, "ö" * 64))
        path = "/api/customers/%d" % doc["id"]
        for field, value in (("first_name", "ä" * 101), ("organisation", "\U0001f332" * 201),
                             ("segment", "ö" * 65), ("source", "ä" * 101)):
            got = assert_json_error(self, self.cid.request("PATCH", path, {field: value}),
                                    400, "invalid_field")
            self.assertEqual(got["message"], "%s: too long" % field)

    def test_search_and_paging(self):
        for i in range(12):
            create(self.cid, first_name="Pekka%02d" % i, last_name="Pager",
                   organisation="Sivutus Oy" if i % 2 else "Muu Oy",
                   email="pekka%d@pager.example" % i)
        create(self.cid, first_name="Sata%", last_name="Wild_card",
               email="w@wild.example")
        r = self.cid.request("GET", "/api/customers?q=Pager&limit=5")
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["total"], 12)
        self.assertEqual(len(doc["results"]), 5)
        seen = [c["id"] for c in doc["results"]]
        for offset in (5, 10):
            page = self.cid.request("GET", "/api/customers?q=Pager&limit=5&offset=%d"
                                    % offset).json()
            seen += [c["id"] for c in page["results"]]
        self.assertEqual(len(seen), 12)
        self.assertEqual(len(set(seen)), 12)
        by = lambda q: self.cid.request("GET", "/api/customers?q=" + q).json()["total"]
        self.assertEqual(by("Sivutus"), 6)           # organisation
        self.assertEqual(by("pekka3%40pager"), 1)     # email
        self.assertEqual(by("Pekka07%20Pager"), 1)   # "first last"
        self.assertEqual(by("%25"), 1)               # a literal %, not a wildcard
        self.assertEqual(by("d_c"), 1)               # a literal _, not any char
        self.assertEqual(by("nobody-like-this"), 0)
        # Case is folded beyond ASCII, as Finnish and Swedish names need.
        create(self.cid, first_name="Åsa", last_name="Väänänen-Ölander",
               organisation="STRAßE Oy", email="asa@vaananen.example")
        self.assertEqual(by(urllib.parse.quote("väänänen-ölander")), 1)
        self.assertEqual(by(urllib.parse.quote("VÄÄNÄNEN")), 1)
        self.assertEqual(by(urllib.parse.quote("åsa vää")), 1)      # "first last"
        self.assertEqual(by(urllib.parse.quote("strasse")), 1)      # ß folds to ss
        self.assertEqual(by("vaananen"), 1)                          # the email
        self.assertEqual(by(urllib.parse.quote("Vaananen-Ö")), 0)   # not accents
        assert_json_error(self, self.cid.request("GET", "/api/customers?q=%FF"), 400)
        for q in ("limit=0", "limit=1001", "limit=x", "offset=-1"):
            assert_json_error(self, self.cid.request("GET", "/api/customers?" + q),
                              400, "invalid_query")

    def test_every_read_is_audited_with_the_customer_as_subject(self):
        doc = create(self.cid, last_name="Auditoitu")
        self.cid.request("GET", "/api/customers/%d" % doc["id"])
        self.cid.request("GET", "/api/customers/%d/orders" % doc["id"])
        self.cid.request("GET", "/api/customers?q=Auditoitu")
        self.cid.request("PATCH", "/api/customers/%d" % doc["id"], {"city": "Turku"})
        self.cid.request("PATCH", "/api/customers/%d" % doc["id"], {"city": "Turku"})
        rows = self.srv.query(
            "SELECT action, subject, detail, staff_name FROM audit_log WHERE "
            "route LIKE '%customers%' AND subject = ? ORDER BY id", (str(doc["id"]),))
        self.assertEqual([(r["action"], r["detail"]) for r in rows], [
            ("change", "created"), ("read", "customer record"), ("read", "orders"),
            ("read", "search: 1 of 1 (offset 0, limit 50)"), ("change", "updated: city"),
            ("change", "updated: nothing changed")])
        self.assertTrue(all(r["staff_name"] == "cid" for r in rows))
        # The audit log names fields, never their values.
        for r in self.srv.query("SELECT detail FROM audit_log WHERE detail IS NOT NULL"):
            self.assertNotIn("Turku", r["detail"])
        self.assertEqual(run_seula("audit", "verify", "--config",
                                   self.srv.config_path).returncode, 0)


class AuditSubjectTest(unittest.TestCase):
    """GET /api/audit?subject= finds a person in a read that showed several
    (its subject is the list of ids it showed), and only that person."""

    def test_a_list_names_each_of_its_ids_and_no_other(self):
        srv, staff = start_server()
        try:
            cid, ada = staff["cid"], staff["ada"]
            people = [create(cid, last_name="Listattu%02d" % i) for i in range(11)]
            ids = [p["id"] for p in people]
            self.assertEqual(ids, list(range(1, 12)))
            self.assertEqual(cid.request("GET", "/api/customers/11").status, 200)
            r = cid.request("GET", "/api/customers?q=Listattu02")
            self.assertEqual(r.json()["total"], 1)
            r = cid.request("GET", "/api/customers?q=Listattu0&limit=2")
            shown = [c["id"] for c in r.json()["results"]]
            self.assertEqual(len(shown), 2)
            search = srv.query("SELECT id, subject FROM audit_log WHERE detail "
                               "LIKE 'search: 2 of %'")[0]
            self.assertIn(",", search["subject"])

            def entries(subject):
                r = ada.request("GET", "/api/audit?limit=1000&subject=" + subject)
                self.assertEqual(r.status, 200, r)
                return r.json()["entries"]
            for one in shown:
                got = entries(str(one))
                self.assertIn(search["id"], [e["id"] for e in got])
                self.assertTrue(all(str(one) in e["subject"].split(",") for e in got))
            # 1 is not 11: only customer 1's own entries.
            self.assertEqual({e["subject"] for e in entries("1")}
                             - {search["subject"]}, {"1"})
            self.assertIn("11", {e["subject"] for e in entries("11")})
            # The whole list still finds its entry.
            got = entries(urllib.parse.quote(search["subject"]))
            self.assertEqual([e["id"] for e in got], [search["id"]])
        finally:
            srv.close()


    def test_a_page_past_the_end_names_everyone_its_total_counts(self):
        srv, staff = start_server()
        try:
            cid, ada = staff["cid"], staff["ada"]
            found = [create(cid, last_name="Ohitettu%d" % i)["id"]
                     for i in range(2)]
            other = create(cid, last_name="Muu")["id"]
            r = cid.request("GET", "/api/customers?q=ohitettu&offset=5")
            self.assertEqual((r.json()["results"], r.json()["total"]), ([], 2))
            [e] = srv.query("SELECT subject, detail FROM audit_log WHERE "
                            "route = 'GET /api/customers' ORDER BY id")
            self.assertEqual(subject_ids(e["subject"]), set(found))
            self.assertTrue(e["detail"].startswith("search: 0 of 2"), e)
            for one in found:
                self.assertIn("GET /api/customers", audit_search(ada, one))
            self.assertNotIn("GET /api/customers", audit_search(ada, other))
            # Without q the total is the register's size: it names no one.
            r = cid.request("GET", "/api/customers?offset=5")
            self.assertEqual((r.json()["results"], r.json()["total"]), ([], 3))
            self.assertEqual([e["subject"] for e in srv.query(
                "SELECT subject FROM audit_log WHERE route = "
                "'GET /api/customers' ORDER BY id")], [e["subject"], None])
        finally:
            srv.close()

    def test_a_failed_request_names_an_id_never_what_was_typed(self):
        # The core's entry for a request its handler left no entry for.
        srv, staff = start_server()
        try:
            cid, ada = staff["cid"], staff["ada"]
            person = create(cid)
            typed = "PIIQ3-maija@example.com"
            quoted = urllib.parse.quote(typed)
            for method, url in (
                    ("GET", "/api/customers/" + quoted),
                    ("PATCH", "/api/customers/" + quoted),
                    ("GET", "/api/dsr/" + quoted),
                    ("PATCH", "/api/customers/%d/orders/%s"
                     % (person["id"], quoted))):
                r = cid.request(method, url, {"city": "Espoo"}
                                if method == "PATCH" else None)
                assert_json_error(self, r, 404)
            for row in srv.query("SELECT route, subject, detail "
                                 "FROM audit_log"):
                self.assertNotIn("maija", json.dumps(row).lower())
            [e] = srv.query("SELECT subject, outcome FROM audit_log "
                            "WHERE route = 'GET /api/customers/{id}'")
            self.assertEqual(e, {"subject": "(invalid)", "outcome": "failed"})
            # A failed change on a real customer is theirs: the subject
            # search (and so their access export) finds it.
            r = cid.request("PATCH", "/api/customers/%d" % person["id"],
                            {"email": "not an address"})
            assert_json_error(self, r, 400)
            self.assertIn("PATCH /api/customers/{id}",
                          audit_search(ada, person["id"]))
            [e] = srv.query("SELECT subject, detail FROM audit_log WHERE "
                            "route = 'PATCH /api/customers/{id}/orders/{order}'")
            self.assertEqual(e, {"subject": str(person["id"]),
                                 "detail": "order=(invalid)"})
        finally:
            srv.close()


class AuditFailureTest(unittest.TestCase):
    """A person's data leaves only once its reading is on record: when the
    audit entry cannot be written (a full disk, a damaged log), a read
    answers 503 without the data, and a write is rolled back with its
    entry and answers 503 too."""

    def setUp(self):
        self.srv, self.staff = start_server()
        self.cid = self.staff["cid"]
        self.person = create(self.cid)
        self.url = "/api/customers/%d" % self.person["id"]

    def tearDown(self):
        self.srv.close()

    def audit_fails(self, route_like):
        db = sqlite3.connect(self.srv.db_path)
        db.execute("DROP TRIGGER IF EXISTS audit_fails")
        if route_like:
            db.execute("CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log "
                       "WHEN new.route LIKE '%s' BEGIN SELECT RAISE(ABORT, "
                       "'disk full'); END" % route_like)
        db.commit()
        db.close()

    def entries(self):
        return self.srv.query("SELECT count(*) AS n FROM audit_log")[0]["n"]

    def test_a_read_is_not_answered_without_its_entry(self):
        self.audit_fails("GET /api/customers%")
        before = self.entries()
        for url in (self.url, "/api/customers?q=Aino"):
            r = self.cid.request("GET", url)
            assert_json_error(self, r, 503, "storage_unavailable")
            self.assertNotIn("Aino".encode(), r.body)
            self.assertNotIn(self.person["email"].encode(), r.body)
        self.assertEqual(self.entries(), before)
        self.audit_fails(None)
        r = self.cid.request("GET", self.url)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["email"], self.person["email"])
        self.assertEqual(self.entries(), before + 1)

    def test_a_write_is_rolled_back_with_its_entry(self):
        self.audit_fails("PATCH /api/customers%")
        before = self.entries()
        r = self.cid.request("PATCH", self.url, {"city": "Tampere"})
        assert_json_error(self, r, 503, "storage_unavailable")
        self.assertNotIn(b"Tampere", r.body)
        [row] = self.srv.query("SELECT city FROM customers WHERE id = ?",
                               (self.person["id"],))
        self.assertEqual(row["city"], "Helsinki")
        self.assertEqual(self.entries(), before)
        self.audit_fails(None)
        r = self.cid.request("PATCH", self.url, {"city": "Tampere"})
        self.assertEqual(r.status, 200, r)
        [row] = self.srv.query("SELECT city FROM customers WHERE id = ?",
                               (self.person["id"],))
        self.assertEqual(row["city"], "Tampere")

    def test_a_logout_not_on_record_says_so(self):
        self.audit_fails("POST /api/logout")
        r = self.cid.request("POST", "/api/logout")
        assert_json_error(self, r, 503, "storage_unavailable")


class RolesTest(unittest.TestCase):

    def test_who_may_do_what(self):
        srv, staff = start_server()
        try:
            doc = create(staff["cid"])
            cid_paths = [("GET", "/api/customers"),
                         ("GET", "/api/customers/%d" % doc["id"]),
                         ("GET", "/api/customers/%d/orders" % doc["id"]),
                         ("GET", "/api/labels?format=csv")]
            for method, path in cid_paths:
                self.assertEqual(staff["cid"].request(method, path, csrf=True).status,
                                 200, path)
                self.assertEqual(staff["ada"].request(method, path, csrf=True).status,
                                 200, path)
                for name in ("ann", "fin"):
                    assert_json_error(self, staff[name].request(method, path, csrf=True), 403,
                                      "forbidden")
            for name in ("ann", "fin"):
                assert_json_error(self, staff[name].request(
                    "POST", "/api/customers", PERSON), 403, "forbidden")
                assert_json_error(self, staff[name].request(
                    "PATCH", "/api/customers/%d" % doc["id"], {"city": "X"}), 403)
                assert_json_error(self, import_csv(staff[name], "last_name\nX\n"), 403)
            finance = "/api/customers/export/finance?format=csv"
            self.assertEqual(staff["fin"].request("GET", finance, csrf=True).status, 200)
            self.assertEqual(staff["ada"].request("GET", finance, csrf=True).status, 200)
            for name in ("ann", "cid"):
                assert_json_error(self, staff[name].request("GET", finance, csrf=True), 403)
            assert_json_error(self, srv.request("GET", "/api/customers"), 401)
            self.assertEqual(n_customers(srv), 1)
        finally:
            srv.close()


class DemoRegisterTest(unittest.TestCase):
    """contrib/demo-customers.mjs, as contrib/setup.sh demo runs it: the
    made-up register goes in through the staff API, audited, once."""

    @classmethod
    def setUpClass(cls):
        cls.srv, cls.staff = start_server()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def seed(self, password):
        return subprocess.run(["node", os.path.join(SOURCE, "contrib", "demo-customers.mjs"),
                               self.srv.url, "cid"], input=password + "\n",
                              capture_output=True, text=True, timeout=60)

    def test_the_demo_register(self):
        r = self.seed("not-the-password")
        self.assertEqual(r.returncode, 1)
        self.assertIn("login as cid: 401", r.stderr)
        self.assertEqual(n_customers(self.srv), 0)
        r = self.seed(PASSWORDS["cid"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("10 made-up customers", r.stdout)
        rows = self.srv.query("SELECT * FROM customers ORDER BY id")
        self.assertEqual(len(rows), 10)
        self.assertEqual({c["source"] for c in rows}, {"demo"})
        self.assertTrue(all(c["email"].endswith(("@example.fi", "@example.com"))
                            for c in rows))
        by_name = {c["last_name"]: c for c in rows}
        holds = {name: self.staff["cid"].request(
            "GET", "/api/customers/%d" % c["id"]).json()["holds"]
            for name, c in by_name.items()}
        self.assertEqual({n: h for n, h in holds.items() if h},
                         {"Lehtonen": ["open_invoice"], "Koskinen": ["open_invoice"],
                          "Heinonen": ["debt_collection"]})
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM customer_orders")[0]["n"], 7)
        self.assertEqual(by_name["Kivelä"]["objects_direct_marketing"], 1)
        self.assertEqual(by_name["Laine"]["objects_publication"], 1)
        self.assertEqual(by_name["Salo"]["restricted"], 1)
        dsr = self.srv.query("SELECT type, status, customer_id FROM customer_dsr_requests "
                             "ORDER BY id")
        self.assertEqual([(d["type"], d["status"], d["customer_id"]) for d in dsr],
                         [("restriction", "completed", by_name["Salo"]["id"]),
                          ("access", "open", by_name["Mäkinen"]["id"])])
        # Customer service's own work, on record under the account used.
        audit = self.srv.query("SELECT action, count(*) AS n FROM audit_log "
                               "WHERE staff_name = 'cid' AND action IN ('change', 'dsr') "
                               "GROUP BY action ORDER BY action")
        # The import, 7 orders, 2 flags, the restriction; the 2 requests.
        self.assertEqual([(a["action"], a["n"]) for a in audit],
                         [("change", 1 + 7 + 2 + 1), ("dsr", 2)])
        # A second run (its marker lost) adds nobody and nothing twice.
        r = self.seed(PASSWORDS["cid"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("10 of the made-up customers were already in", r.stdout)
        self.assertEqual(n_customers(self.srv), 10)
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM customer_orders")[0]["n"], 7)
        self.assertEqual(len(self.srv.query("SELECT id FROM customer_dsr_requests")), 2)


class ImportTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv, cls.staff = start_server()
        cls.cid = cls.staff["cid"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_a_good_file_imports_every_row(self):
        text = ("\ufefffirst_name;last_name;organisation;email;country;"
                "objects_publication;source\r\n"
                "Matti;Meikäläinen;\"Oy \"\"Iso\"\" Ab; Helsinki\";m@example.fi;fi;yes;\r\n"
                "Maija;Virtanen;;maija@example.fi;SE;0;fair 2025\r\n"
                "\r\n"
                "Øre;Ødegård;;;NO;;\r\n")
        before = n_customers(self.srv)
        r = import_csv(self.cid, text, "text/csv; charset=utf-8")
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["imported"], 3)
        self.assertEqual(n_customers(self.srv), before + 3)
        rows = self.srv.query("SELECT * FROM customers WHERE id >= ? ORDER BY id",
                              (doc["first_id"],))
        self.assertEqual(rows[0]["organisation"], 'Oy "Iso" Ab; Helsinki')
        self.assertEqual(rows[0]["country"], "FI")
        self.assertEqual(rows[0]["objects_publication"], 1)
        # A row's own source wins; the import's fills those without.
        self.assertEqual(rows[0]["source"], "trade fair 2025")
        self.assertEqual(rows[1]["source"], "fair 2025")
        self.assertEqual(rows[2]["first_name"], "Øre")
        audit = self.srv.query("SELECT subject, detail FROM audit_log WHERE route = "
                               "'POST /api/customers/import' ORDER BY id DESC LIMIT 1")
        self.assertTrue(audit[0]["detail"].startswith("import: 3 customers"))
        # The subject names the customers it made, found by each.
        self.assertEqual(audit[0]["subject"], "%d-%d" % (doc["first_id"], doc["last_id"]))
        self.assertIn("POST /api/customers/import",
                      audit_search(self.staff["ada"], doc["first_id"] + 1))

    def test_every_record_says_where_it_comes_from(self):
        # The person is told where their record comes from (GDPR art.
        # 14(2)(f)): an import says it, by a column or for all its rows.
        before = n_customers(self.srv)
        doc = assert_json_error(self, import_csv(self.cid, "first_name,email\nA,a@src.example\n",
                                                 source=None), 422, "invalid_rows")
        self.assertEqual([(p["line"], p["field"]) for p in doc["rows"]], [(1, "source")])
        self.assertEqual(doc["message"], "1 row cannot be imported; nothing was stored")
        doc = assert_json_error(self, import_csv(
            self.cid, "first_name,email,source\nA,a@src.example,web form\nB,b@src.example,\n",
            source=None), 422, "invalid_rows")
        self.assertEqual([(p["line"], p["field"]) for p in doc["rows"]], [(3, "source")])
        for bad, code in (("", "invalid_source"), ("   ", "invalid_source"),
                          ("x" * 101, "invalid_source"), ("a\x01b", "bad_request")):
            assert_json_error(self, import_csv(self.cid, "first_name\nA\n", source=bad),
                              400, code)
        self.assertEqual(n_customers(self.srv), before)
        r = import_csv(self.cid, "first_name,email,source\nA,a@src.example,web form\n"
                       "B,b@src.example,\n", source="  partner list ")
        self.assertEqual(r.status, 200, r)
        rows = self.srv.query("SELECT source FROM customers WHERE id >= ? ORDER BY id",
                              (r.json()["first_id"],))
        self.assertEqual([x["source"] for x in rows], ["web form", "partner list"])

    def test_a_source_of_unicode_spaces_is_no_source(self):
        # Trimmed as JavaScript's trim() does: no-break, ideographic and
        # other Unicode spaces, line separators and U+FEFF.
        before = n_customers(self.srv)
        for blank in ("\u00a0", "\u3000\u00a0", "\u2028 \ufeff\u202f"):
            doc = assert_json_error(self, import_csv(self.cid, "first_name\nA\n", source=blank),
                                    400, "invalid_source")
            self.assertEqual(doc["message"], "source: empty", ascii(blank))
            doc = assert_json_error(self, import_csv(
                self.cid, "first_name,email,source\nA,a@ws.example,%s\n" % blank, source=None),
                422, "invalid_rows")
            self.assertEqual([(p["line"], p["field"]) for p in doc["rows"]], [(2, "source")])
        self.assertEqual(n_customers(self.srv), before)
        r = import_csv(self.cid, "first_name,city,source\nA,\u3000Turku\u00a0,\u00a0fair\u3000\n"
                       "B,,\n", source="\u00a0partner list\u3000")
        self.assertEqual(r.status, 200, r)
        rows = self.srv.query("SELECT city, source FROM customers WHERE id >= ? ORDER BY id",
                              (r.json()["first_id"],))
        self.assertEqual([(x["city"], x["source"]) for x in rows],
                         [("Turku", "fair"), (None, "partner list")])

    def test_a_source_of_zero_width_characters_is_no_source(self):
        before = n_customers(self.srv)
        for blank in ("\u200b", "\u200c\u200d\u2060", "\ufeff\u200b", " \u200b "):
            doc = assert_json_error(self, import_csv(self.cid, "first_name\nA\n", source=blank),
                                    400, "invalid_source")
            self.assertEqual(doc["message"], "source: empty", ascii(blank))
            doc = assert_json_error(self, import_csv(
                self.cid, "first_name,email,source\nA,a@zw.example,%s\n" % blank, source=None),
                422, "invalid_rows")
            self.assertEqual([(p["line"], p["field"]) for p in doc["rows"]], [(2, "source")])
        self.assertEqual(n_customers(self.srv), before)

    def test_a_source_is_up_to_100_characters_not_bytes(self):
        # Characters are code points: "ä" is two bytes, the tree four (and
        # two to a browser's maxlength, which the staff page does not use).
        for ch in ("ä", "\U0001f332"):
            r = import_csv(self.cid, "first_name\nA\n", source=ch * 100)
            self.assertEqual(r.status, 200, r)
            rows = self.srv.query("SELECT source FROM customers WHERE id = ?",
                                  (r.json()["first_id"],))
            self.assertEqual(rows[0]["source"], ch * 100)
            doc = assert_json_error(self, import_csv(self.cid, "first_name\nA\n",
                                                     source=ch * 101), 400, "invalid_source")
            self.assertEqual(doc["message"], "source: too long")
            r = import_csv(self.cid, "first_name,source\nA,%s\n" % (ch * 100), source=None)
            self.assertEqual(r.status, 200, r)
            doc = assert_json_error(self, import_csv(
                self.cid, "first_name,source\nA,%s\n" % (ch * 101), source=None),
                422, "invalid_rows")
            self.assertEqual([(p["line"], p["field"], p["reason"]) for p in doc["rows"]],
                             [(2, "source", "too long")])

    def test_a_bad_file_stores_nothing_and_names_every_bad_line(self):
        text = ("first_name,last_name,email,country,relationship_start,restricted\n"
                "Good,One,good1@example.fi,FI,2020-01-01,0\n"        # line 2
                "Bad,Email,not-an-email,FI,2020-01-01,0\n"           # line 3
                "\"Note: a\nquoted field\",Two,g2@example.fi,FI,,\n"  # lines 4-5, bad
                "Bad,Country,b@example.fi,ZZ,2020-01-01,1\n"         # line 6
                "Good,Three,good3@example.fi,SE,2021-05-05,false\n"  # line 7
                "Too,Few\n"                                          # line 8
                "Bad,Flag,f@example.fi,FI,,perhaps\n"                # line 9
                "Bad,Date,d@example.fi,FI,2021-13-01,0\n")           # line 10
        before = n_customers(self.srv)
        r = import_csv(self.cid, text)
        doc = assert_json_error(self, r, 422, "invalid_rows")
        self.assertEqual(doc["bad_rows"], 6)
        got = [(p["line"], p.get("field")) for p in doc["rows"]]
        self.assertEqual(got, [(3, "email"), (4, "first_name"), (6, "country"),
                               (8, None), (9, "restricted"),
                               (10, "relationship_start")])
        for p in doc["rows"]:
            self.assertTrue(p["reason"])
        # All or nothing: the good rows before and after did not stay.
        self.assertEqual(n_customers(self.srv), before)
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM customers WHERE email LIKE 'good%'")[0]["n"], 0)

    def test_bad_headers_and_bodies(self):
        before = n_customers(self.srv)
        doc = assert_json_error(self, import_csv(self.cid, "first_name,shoe_size\nA,42\n"),
                                422, "invalid_rows")
        self.assertEqual(doc["rows"][0]["field"], "shoe_size")
        assert_json_error(self, import_csv(self.cid, "email,city\na@b.fi,X\n"), 422)
        assert_json_error(self, import_csv(self.cid, "last_name,last_name\nA,B\n"), 422)
        doc = assert_json_error(self, import_csv(self.cid, 'last_name\n"unclosed\n'), 422)
        self.assertEqual(doc["rows"][0]["line"], 2)
        assert_json_error(self, import_csv(self.cid, 'last_name\nab"c\n'), 422)
        assert_json_error(self, import_csv(self.cid, ""), 400, "empty_import")
        assert_json_error(self, import_csv(self.cid, "last_name\nX\n", "application/json"),
                          415)
        # A charset other than UTF-8 is refused, as collect and login
        # refuse it, rather than read as UTF-8.
        assert_json_error(self, import_csv(self.cid, "last_name\nX\n",
                                           "text/csv; charset=latin1"), 415)
        self.assertEqual(import_csv(self.cid, "last_name\nUtf\n",
                                    "text/csv; charset=UTF-8").status, 200)
        before += 1
        self.assertEqual(n_customers(self.srv), before)

    def test_too_many_rows(self):
        srv = Server(plugins=PLUGINS,
                     sections={"plugin.customers": {"import_max_rows": "3"}})
        try:
            add_user(srv, "cid", "customer_service", PASSWORDS["cid"])
            srv.start()
            s = login(srv, "cid", PASSWORDS["cid"])
            self.assertEqual(import_csv(s, "last_name\nA\nB\nC\n").status, 200)
            assert_json_error(self, import_csv(s, "last_name\nA\nB\nC\nD\n"), 422)
            self.assertEqual(n_customers(srv), 3)
        finally:
            srv.close()


class DuplicateEmailTest(unittest.TestCase):
    """One address, one customer: a second record of a person would be
    mailed although the first objected, and would make the address link
    nobody.  Addresses are compared as linkage compares them (trimmed, in
    lower case); customers without one are never duplicates."""

    def setUp(self):
        self.srv, self.staff = start_server()
        self.cid = self.staff["cid"]
        # She objected to direct marketing: no labels for her.
        self.aino = create(self.cid, email="aino@example.fi",
                           flags={"objects_direct_marketing": True})
        self.assertNotIn("Aino Äijälä", self.labels())

    def tearDown(self):
        self.srv.close()

    def labels(self):
        r = self.cid.request("GET", "/api/labels?format=csv", csrf=True)
        self.assertEqual(r.status, 200, r)
        return [row["name"] for row in csv_rows(r.body)]

    def assert_duplicate(self, r, existing):
        doc = assert_json_error(self, r, 409, "duplicate_email")
        self.assertEqual(doc["customer_id"], existing)
        self.assertEqual(doc["field"], "email")
        return doc

    def test_a_second_customer_with_the_address_is_refused(self):
        before = n_customers(self.srv)
        r = self.cid.request("POST", "/api/customers",
                             dict(PERSON, email="AINO@example.fi"))
        self.assert_duplicate(r, self.aino["id"])
        self.assertEqual(n_customers(self.srv), before)
        self.assertNotIn("Aino Äijälä", self.labels())
        # Naming her is a read of hers, on record.
        [e] = self.srv.query("SELECT action, subject, outcome FROM audit_log "
                             "WHERE route = 'POST /api/customers' ORDER BY "
                             "id DESC LIMIT 1")
        self.assertEqual((e["action"], e["subject"]), ("read", str(self.aino["id"])))
        # Without an address nobody is a duplicate.
        for _ in range(2):
            r = self.cid.request("POST", "/api/customers",
                                 dict(PERSON, email=None, last_name="Osoitteeton"))
            self.assertEqual(r.status, 201, r)

    def test_a_change_to_anothers_address_is_refused(self):
        other = create(self.cid, first_name="Bertta", email="bertta@example.fi")
        url = "/api/customers/%d" % other["id"]
        self.assert_duplicate(
            self.cid.request("PATCH", url, {"email": " Aino@Example.FI "}),
            self.aino["id"])
        self.assert_duplicate(
            self.cid.request("PUT", url, dict(PERSON, email="aino@EXAMPLE.fi")),
            self.aino["id"])
        self.assertEqual(self.cid.request("GET", url).json()["email"],
                         "bertta@example.fi")
        # Her own address in another case is hers to keep.
        r = self.cid.request("PATCH", url, {"email": "Bertta@example.fi"})
        self.assertEqual(r.status, 200, r)
        r = self.cid.request("PATCH", url, {"email": None})
        self.assertEqual(r.status, 200, r)

    def test_an_import_skips_known_addresses_and_repeated_rows(self):
        text = ("first_name,last_name,email,street,postal_code,city,country\n"
                "Aino,Äijälä,AINO@example.fi,Katu 2,00100,Helsinki,FI\n"
                "Cecilia,Uusi,cecilia@example.fi,Katu 3,00100,Helsinki,FI\n"
                "Nimetön,Ilman,,Katu 4,00100,Helsinki,FI\n"
                "Nimetön,Toinen,,Katu 5,00100,Helsinki,FI\n"
                "Cecilia,Taas,Cecilia@Example.fi,Katu 3,00100,Helsinki,FI\n")
        before = n_customers(self.srv)
        r = import_csv(self.cid, text)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["imported"], 3)
        self.assertEqual(n_customers(self.srv), before + 3)
        self.assertEqual(doc["duplicates"], 2)
        cecilia = doc["first_id"]
        self.assertEqual(
            [(x["line"], x["field"], x["customer_id"]) for x in doc["duplicate_rows"]],
            [(2, "email", self.aino["id"]), (6, "email", cecilia)])
        self.assertEqual(self.srv.query(
            "SELECT last_name FROM customers WHERE id >= ? ORDER BY id",
            (doc["first_id"],)), [{"last_name": n} for n in ("Uusi", "Ilman", "Toinen")])
        # The objection still holds: she is on no label.
        names = self.labels()
        self.assertNotIn("Aino Äijälä", names)
        self.assertIn("Cecilia Uusi", names)
        self.assertNotIn("Cecilia Taas", names)
        # The import names the customers it made; the answer named two.
        audit = self.srv.query("SELECT action, subject, detail FROM audit_log "
                               "WHERE route = 'POST /api/customers/import' "
                               "ORDER BY id")
        self.assertEqual([(a["action"], a["subject"]) for a in audit],
                         [("change", "%d-%d" % (doc["first_id"], doc["last_id"])),
                          ("read", "%d,%d" % (self.aino["id"], cecilia))])
        self.assertTrue(audit[0]["detail"].startswith("import: 3 customers"))

    def test_duplicates_kept_from_before_still_work(self):
        # A register from before the check may hold two with one address:
        # the check refuses new ones, never edits of those.
        twin = create(self.cid, first_name="Kaksonen", email="twin@example.fi")
        with sqlite3.connect(self.srv.db_path, timeout=10) as db:
            db.execute("UPDATE customers SET email = 'aino@example.fi' WHERE id = ?",
                       (twin["id"],))
        db.close()
        r = self.cid.request("PATCH", "/api/customers/%d" % twin["id"],
                             {"city": "Turku"})
        self.assertEqual(r.status, 200, r)
        r = import_csv(self.cid, "last_name,email\nKolmas,aino@example.fi\n")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["imported"], r.json()["duplicates"]), (0, 1))
        self.assertEqual(r.json()["duplicate_rows"][0]["customer_id"], self.aino["id"])
        # Nothing imported: the audit names no range of ids, and counts in
        # the singular what is one.
        audit = self.srv.query("SELECT action, subject, detail FROM audit_log "
                               "WHERE route = 'POST /api/customers/import' "
                               "ORDER BY id DESC LIMIT 2")
        self.assertEqual([(a["action"], a["subject"], a["detail"]) for a in audit], [
            ("read", str(self.aino["id"]), "import: 1 row skipped, their email a customer's"),
            ("change", None, "import: no customers added")])


class OrdersTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv, cls.staff = start_server()
        cls.cid = cls.staff["cid"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def order(self, cust, number, status=None, **extra):
        body = {"number": number, "date": "2026-03-01", "currency": "EUR",
                "lines": [{"description": "Työkalu", "quantity": 3,
                           "unit_price_cents": 1990},
                          {"description": "Alennus", "quantity": 1,
                           "unit_price_cents": -500}]}
        if status:
            body["invoice_status"] = status
        body.update(extra)
        return self.cid.request("POST", "/api/customers/%d/orders" % cust["id"], body)

    def holds(self, cust):
        return self.cid.request("GET", "/api/customers/%d" % cust["id"]).json()["holds"]

    def test_orders_and_the_holds_they_make(self):
        cust = create(self.cid, last_name="Tilaaja")
        r = self.order(cust, "A-1001")
        self.assertEqual(r.status, 201, r)
        o = r.json()
        self.assertEqual(o["total_cents"], 3 * 1990 - 500)
        self.assertEqual(o["invoice_status"], "open")
        self.assertEqual([l["description"] for l in o["lines"]], ["Työkalu", "Alennus"])
        self.assertEqual(self.holds(cust), ["open_invoice"])
        path = "/api/customers/%d/orders/%d" % (cust["id"], o["id"])
        r = self.cid.request("PATCH", path, {"invoice_status": "collection"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["invoice_status"], "collection")
        self.assertEqual(self.holds(cust), ["debt_collection"])
        self.cid.request("PATCH", path, {"invoice_status": "paid"})
        self.assertEqual(self.holds(cust), [])
        r = self.cid.request("PATCH", "/api/customers/%d" % cust["id"],
                             {"flags": {"active_contact": True},
                              "statutory_retention_until": "2099-12-31"})
        self.assertEqual(r.json()["holds"], ["active_contact", "statutory_retention"])
        r = self.cid.request("PATCH", "/api/customers/%d" % cust["id"],
                             {"flags": {"active_contact": False},
                              "statutory_retention_until": "2001-01-01"})
        self.assertEqual(r.json()["holds"], [])
        listed = self.cid.request("GET", "/api/customers/%d/orders" % cust["id"]).json()
        self.assertEqual([x["number"] for x in listed["orders"]], ["A-1001"])
        self.assertEqual(listed["orders"][0]["invoice_status"], "paid")

    def test_bad_orders(self):
        cust = create(self.cid, last_name="Virheellinen")
        other = create(self.cid, last_name="Toinen")
        self.assertEqual(self.order(cust, "B-1").status, 201)
        for extra, field in (({"currency": "EUX"}, "currency"),
                             ({"date": "2026-02-29"}, "date"),
                             ({"total_cents": 1}, "total_cents"),
                             ({"lines": []}, "lines"),
                             ({"lines": [{"description": "x", "quantity": 0,
                                          "unit_price_cents": 1}]}, "quantity"),
                             ({"lines": [{"description": "x", "quantity": 1,
                                          "unit_price_cents": 1.5}]}, "unit_price_cents"),
                             ({"invoice_status": "lost"}, "invoice_status"),
                             # Each line in bounds, the sum not: 64 bits
                             # overflowed into a negative total.
                             ({"lines": [{"description": "x",
                                          "quantity": 1000000,
                                          "unit_price_cents": 10 ** 11}] * 100},
                              "total_cents"),
                             ({"discount": 5}, "discount")):
            doc = assert_json_error(self, self.order(cust, "B-2", **extra), 400,
                                    "invalid_field")
            self.assertEqual(doc["field"], field, extra)
        assert_json_error(self, self.order(cust, "B-1"), 409, "duplicate_order_number")
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM customer_orders WHERE customer_id = ?",
            (cust["id"],))[0]["n"], 1)
        o = self.cid.request("GET", "/api/customers/%d/orders" % cust["id"]).json()["orders"][0]
        # Another customer's order is not found through this one.
        assert_json_error(self, self.cid.request(
            "PATCH", "/api/customers/%d/orders/%d" % (other["id"], o["id"]),
            {"invoice_status": "paid"}), 404)
        doc = assert_json_error(self, self.cid.request(
            "PATCH", "/api/customers/%d/orders/%d" % (cust["id"], o["id"]),
            {"total_cents": 0}), 400)
        self.assertEqual(doc["field"], "total_cents")
        assert_json_error(self, self.cid.request(
            "POST", "/api/customers/999999/orders", {}), 404)

    def test_lines_and_orders_go_with_the_customer(self):
        # The schema the erasure builds on: deleting a customer takes every
        # row of theirs in this plugin with it.
        cust = create(self.cid, last_name="Poistuva")
        self.assertEqual(self.order(cust, "C-1").status, 201)
        self.staff["fin"].request("GET", "/api/customers/export/finance", csrf=True)
        for table, n in (("customer_orders", 1), ("customer_order_lines", 2),
                         ("customer_disclosures", 1)):
            self.assertEqual(self.srv.query(
                "SELECT count(*) AS n FROM %s WHERE customer_id = ?" % table,
                (cust["id"],))[0]["n"], n, table)
        import sqlite3
        db = sqlite3.connect(self.srv.db_path, timeout=10)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("DELETE FROM customers WHERE id = ?", (cust["id"],))
            db.commit()
        finally:
            db.close()
        for table in ("customer_orders", "customer_order_lines", "customer_disclosures"):
            self.assertEqual(self.srv.query(
                "SELECT count(*) AS n FROM %s WHERE customer_id = ?" % table,
                (cust["id"],))[0]["n"], 0, table)


class LabelsTest(unittest.TestCase):
    """Who gets direct mail: one test per flag."""

    @classmethod
    def setUpClass(cls):
        cls.srv, cls.staff = start_server()
        cls.cid = cls.staff["cid"]
        cls.control = create(cls.cid, last_name="Kontrolli", first_name="Kaisa")

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def labels(self):
        r = self.cid.request("GET", "/api/labels?format=csv", csrf=True)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("text/csv"))
        return [row["name"] for row in csv_rows(r.body)]

    def check_flag(self, flag, excluded=True):
        who = create(self.cid, first_name="Flag", last_name=flag)
        self.assertIn("Flag " + flag, self.labels())
        r = self.cid.request("PATCH", "/api/customers/%d" % who["id"],
                             {"flags": {flag: True}})
        self.assertEqual(r.status, 200, r)
        names = self.labels()
        self.assertIn("Kaisa Kontrolli", names)
        if excluded:
            self.assertNotIn("Flag " + flag, names)
        else:
            self.assertIn("Flag " + flag, names)

    def test_restricted_is_left_out(self):
        self.check_flag("restricted")

    def test_publication_objection_is_left_out(self):
        self.check_flag("objects_publication")

    def test_direct_marketing_objection_is_left_out(self):
        self.check_flag("objects_direct_marketing")

    def test_profiling_objection_still_gets_mail(self):
        self.check_flag("objects_profiling", excluded=False)

    def test_past_retention_no_label(self):
        # Kept past the register's retention (10 years after the end)
        # only while a legal hold lasts: for that, not for mail.
        create(self.cid, first_name="Ended", last_name="Longago",
               relationship_start="2000-01-01", relationship_end="2001-01-01")
        create(self.cid, first_name="Ended", last_name="Lately",
               relationship_start="2020-01-01", relationship_end="2024-01-01")
        # Ended long ago by the record, but an order came later: the
        # relationship went on.
        went_on = create(self.cid, first_name="Ordered", last_name="Since",
                         relationship_start="2000-01-01",
                         relationship_end="2001-01-01")
        r = self.cid.request("POST", "/api/customers/%d/orders" % went_on["id"], {
            "number": "L-1", "date": "2024-06-01", "currency": "EUR",
            "invoice_status": "paid",
            "lines": [{"description": "Kirja", "quantity": 1,
                       "unit_price_cents": 1000}]})
        self.assertEqual(r.status, 201, r)
        names = self.labels()
        self.assertNotIn("Ended Longago", names)
        self.assertIn("Ended Lately", names)
        self.assertIn("Ordered Since", names)
        # The command chooses the same people.
        r = run_seula("labels", "--config", self.srv.config_path, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("Ended Longago", r.stdout)
        self.assertIn("Ended Lately", r.stdout)
        self.assertIn("Ordered Since", r.stdout)

    def test_no_full_address_no_label(self):
        create(self.cid, first_name="Ilman", last_name="Osoitetta", street=None)
        self.assertNotIn("Ilman Osoitetta", self.labels())

    def test_csv_shape_and_audit(self):
        create(self.cid, first_name="=cmd", last_name="Ulkomaa", organisation=None,
               country="SE", postal_code="111 22", city="Stockholm")
        r = self.cid.request("GET", "/api/labels", csrf=True)
        rows = csv_rows(r.body)
        self.assertEqual(list(rows[0]), ["organisation", "name", "street",
                                         "postal_code", "city", "country"])
        abroad = [x for x in rows if x["name"].endswith("Ulkomaa")][0]
        # A cell a spreadsheet would run is text.
        self.assertEqual(abroad["name"], "'=cmd Ulkomaa")
        self.assertEqual(abroad["country"], "SE")
        self.assertNotIn(b"@", r.body)  # no email addresses on labels
        audit = self.srv.query("SELECT id, action, detail FROM audit_log WHERE "
                               "route = 'GET /api/labels' ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual((audit["action"], audit["detail"]),
                         ("export", "labels %d persons (each in customer_label_exports)"
                          % len(rows)))
        # Each person on them is recorded, with who and how (their access
        # export shows it: test_dsr).
        rec = self.srv.query("SELECT e.*, c.first_name || ' ' || c.last_name AS name "
                             "FROM customer_label_exports e JOIN customers c ON "
                             "c.id = e.customer_id WHERE e.exported_at = (SELECT "
                             "max(exported_at) FROM customer_label_exports)")
        self.assertEqual(sorted(r["name"] for r in rec),
                         sorted(x["name"].lstrip("'") for x in rows))
        self.assertEqual({(r["staff_name"], r["via"], r["format"]) for r in rec},
                         {("cid", "GET /api/labels", "csv")})
        # The audit entry names them all, as a list of ids and runs, so a
        # search of the log by person finds the export.
        subject = self.srv.query("SELECT subject FROM audit_log WHERE id = ?",
                                 (audit["id"],))[0]["subject"]
        self.assertEqual(subject_ids(subject), {r["customer_id"] for r in rec})
        self.assertIn("GET /api/labels", audit_search(self.staff["ada"], rec[0]["customer_id"]))
        # So does the command's.
        r = run_seula("labels", "--config", self.srv.config_path, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        cli = self.srv.query("SELECT subject FROM audit_log WHERE route = "
                             "'command line: seula labels' ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual(subject_ids(cli["subject"]), {r["customer_id"] for r in rec})
        # Each person on them is recorded, with who and how (their access
        # export shows it: test_dsr).
        # Nobody left off the labels is recorded: one of each kind.
        for field in ("street", "postal_code", "city"):
            create(self.cid, first_name="Vajaa", last_name=field, **{field: None})
        for flag in ("restricted", "objects_direct_marketing", "objects_publication"):
            create(self.cid, first_name="Lippu", last_name=flag, flags={flag: True})
        self.assertEqual(self.cid.request("GET", "/api/labels", csrf=True).status, 200)
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM customer_label_exports e JOIN customers c "
            "ON c.id = e.customer_id WHERE c.street IS NULL OR c.postal_code IS NULL "
            "OR c.city IS NULL OR c.restricted OR c.objects_direct_marketing "
            "OR c.objects_publication")[0]["n"], 0)
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM customers WHERE first_name IN ('Vajaa', "
            "'Lippu')")[0]["n"], 6)
        assert_json_error(self, self.cid.request("GET", "/api/labels?format=docx",
                                                        csrf=True), 400)


def pdf_pages(data):
    return len(re.findall(rb"/Type\s*/Page(?![a-z])", data))


def pdf_texts(data):
    """The strings shown on the pages (libharu writes UTF-16BE hex with the
    UTF-8 encoder)."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(m.group(1))
        except zlib.error:
            continue
        for h in re.findall(rb"<([0-9A-Fa-f]+)>\s*Tj", content):
            out.append(bytes.fromhex(h.decode()).decode("utf-16-be"))
    return out


class LongAuditSubjectTest(unittest.TestCase):

    def test_an_export_of_thousands_is_named_whole_and_listed_in_part(self):
        # Every other customer on the labels: no runs, a subject of ~10 KB.
        # The audit list gives its first 4 KiB, cut at an element, and how
        # many elements it has; a search by the last id still finds it.
        srv, staff = start_server(limits={"max_body_bytes": 1048576})
        try:
            for batch in range(2):
                rows = ["first_name,last_name,street,postal_code,city,country,"
                        "objects_direct_marketing"]
                rows += ["A,L%d-%d,Tie 1,00100,Helsinki,FI,%d" % (batch, i, i % 2)
                         for i in range(2000)]
                r = import_csv(staff["cid"], "\n".join(rows) + "\n")
                self.assertEqual(r.status, 200, r)
            self.assertEqual(staff["cid"].request("GET", "/api/labels?format=csv",
                                                  csrf=True).status, 200)
            [stored] = srv.query("SELECT id, subject FROM audit_log WHERE route = "
                                 "'GET /api/labels'")
            ids = subject_ids(stored["subject"])
            self.assertEqual(len(ids), 2000)
            self.assertGreater(len(stored["subject"]), 8000)
            r = staff["ada"].request("GET", "/api/audit?action=export")
            [entry] = [e for e in r.json()["entries"] if e["id"] == stored["id"]]
            self.assertLessEqual(len(entry["subject"]), 4096)
            self.assertTrue(stored["subject"].startswith(entry["subject"] + ","))
            self.assertEqual(entry["subject_count"], 2000)
            self.assertIn("GET /api/labels", audit_search(staff["ada"], max(ids)))
        finally:
            srv.close()


class LabelsPdfTest(unittest.TestCase):

    def test_25_people_make_two_a4_sheets_with_every_letter(self):
        srv, staff = start_server()
        try:
            cid = staff["cid"]
            names = ["Äijälä", "Øre", "Šťastný", "Żółć", "Ñúñez"]
            for i in range(25):
                create(cid, first_name="Nro%02d" % i, last_name=names[i % 5],
                       organisation=None)
            create(cid, first_name="Ei", last_name="Postia",
                   flags={"objects_direct_marketing": True})
            r = cid.request("GET", "/api/labels?format=pdf", csrf=True)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("Content-Type"), "application/pdf")
            self.assertTrue(r.body.startswith(b"%PDF-"))
            self.assertTrue(r.body.rstrip().endswith(b"%%EOF"))
            self.assertEqual(pdf_pages(r.body), 2)
            # A4 portrait in points.
            self.assertRegex(r.body, rb"/MediaBox \[ ?0 0 595\.\d* 841\.\d* ?\]")
            self.assertIn(b"/FontFile2", r.body)  # the TrueType font is embedded
            shown = pdf_texts(r.body)
            for i in range(25):
                self.assertIn("Nro%02d %s" % (i, names[i % 5]), shown)
            self.assertNotIn("Ei Postia", shown)
            audit = srv.query("SELECT detail FROM audit_log WHERE route = "
                              "'GET /api/labels' ORDER BY id DESC LIMIT 1")[0]
            self.assertEqual(audit["detail"],
                             "labels 25 persons (each in customer_label_exports)")
            # The command line: the same people, from the database file.
            out = os.path.join(srv.dir, "labels.pdf")
            c = run_seula("labels", "--config", srv.config_path, "--format", "pdf",
                          "-o", out)
            self.assertEqual(c.returncode, 0, c.stderr)
            self.assertIn("25 labels", c.stderr)
            with open(out, "rb") as f:
                cli = f.read()
            self.assertEqual(pdf_pages(cli), 2)
            self.assertEqual(sorted(pdf_texts(cli)), sorted(shown))
            c = run_seula("labels", "--config", srv.config_path)
            self.assertEqual(c.returncode, 0, c.stderr)
            api = cid.request("GET", "/api/labels?format=csv", csrf=True).body.decode()
            self.assertEqual(c.stdout, api.replace("\r\n", "\n"))
            c = run_seula("labels", "--db", srv.db_path, "--format", "csv")
            self.assertEqual(c.returncode, 0, c.stderr)
            self.assertEqual(c.stdout, api.replace("\r\n", "\n"))
            # Each run from the command line is recorded as the route's
            # are: the 25 on the labels, and an audit entry that verifies.
            user = pwd.getpwuid(os.geteuid()).pw_name
            runs = srv.query("SELECT format, count(*) AS n FROM customer_label_exports "
                             "WHERE staff_name = ? AND via = 'command line' "
                             "GROUP BY exported_at, format ORDER BY exported_at",
                             ("cli:" + user,))
            self.assertEqual([(r["format"], r["n"]) for r in runs],
                             [("pdf", 25), ("csv", 25), ("csv", 25)])
            audit = srv.query("SELECT staff_name, action, detail FROM audit_log "
                              "WHERE route = 'command line: seula labels' ORDER BY id")
            self.assertEqual([(a["staff_name"], a["action"]) for a in audit],
                             [("cli:" + user, "export")] * 3)
            self.assertEqual(audit[0]["detail"],
                             "labels 25 persons (each in customer_label_exports), pdf")
            v = run_seula("audit", "verify", "--config", srv.config_path)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            # A file that cannot be written records nothing.
            count = lambda: srv.query("SELECT count(*) AS n FROM "
                                      "customer_label_exports")[0]["n"]
            before = count()
            c = run_seula("labels", "--config", srv.config_path, "-o",
                          os.path.join(srv.dir, "no", "such", "labels.csv"))
            self.assertEqual(c.returncode, 1)
            self.assertIn("cannot write", c.stderr)
            self.assertEqual(count(), before)
            # A run that fails once the file is open (the database held
            # by another writer past the busy timeout) leaves a file that
            # was there as it was, and records nothing.
            keep = os.path.join(srv.dir, "last-month.csv")
            with open(keep, "w") as f:
                f.write("last month's labels\n")
            lock = sqlite3.connect(srv.db_path, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            try:
                c = run_seula("labels", "--config", srv.config_path, "-o", keep)
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            self.assertEqual(c.returncode, 1, c.stderr)
            self.assertIn("locked", c.stderr)
            with open(keep) as f:
                self.assertEqual(f.read(), "last month's labels\n")
            self.assertEqual(count(), before)
            # ... and when it succeeds, the file holds the labels alone.
            c = run_seula("labels", "--config", srv.config_path, "-o", keep)
            self.assertEqual(c.returncode, 0, c.stderr)
            with open(keep, newline="") as f:
                self.assertEqual(f.read(), api)
            # Another SQLite file, even with a key beside it, is not
            # given the schema: the command changes none.
            other = os.path.join(srv.dir, "other")
            os.mkdir(other)
            shutil.copy(os.path.join(srv.dir, "seula.key"), os.path.join(other, "seula.key"))
            con = sqlite3.connect(os.path.join(other, "seula.db"))
            con.execute("CREATE TABLE t (x)")
            con.close()
            c = run_seula("labels", "--db", os.path.join(other, "seula.db"))
            self.assertEqual(c.returncode, 1)
            self.assertIn("seula migrate", c.stderr)
            con = sqlite3.connect(os.path.join(other, "seula.db"))
            self.assertEqual([r[0] for r in con.execute(
                "SELECT name FROM sqlite_schema")], ["t"])
            self.assertEqual(con.execute("PRAGMA journal_mode").fetchone()[0], "delete")
            con.close()
            # A file that is no database is said to be unreadable, not to
            # lack the table.
            with open(os.path.join(other, "seula.db"), "wb") as f:
                f.write(b"not a database, " * 256)
            c = run_seula("labels", "--db", os.path.join(other, "seula.db"))
            self.assertEqual(c.returncode, 1)
            self.assertIn("cannot be read: file is not a database", c.stderr)
            self.assertNotIn("customer_label_exports", c.stderr)
            # Never over the server's own files; through /dev/stdout to
            # the standard output.
            for own in (srv.db_path, os.path.join(srv.dir, "seula.key")):
                size = os.path.getsize(own)
                c = run_seula("labels", "--config", srv.config_path, "-o", own)
                self.assertEqual(c.returncode, 1, c.stderr)
                self.assertIn("the server's own", c.stderr)
                self.assertEqual(os.path.getsize(own), size)
            self.assertEqual(count(), before + 25)
            c = run_seula("labels", "--config", srv.config_path, "-o", "/dev/stdout")
            self.assertEqual(c.returncode, 0, c.stderr)
            self.assertEqual(c.stdout, api.replace("\r\n", "\n"))
            # Nothing is left beside the file.
            self.assertEqual([f for f in os.listdir(srv.dir) if f.startswith("last-month")],
                             ["last-month.csv"])
            # Runs at once, beside the server's own route: each waits its
            # turn for the database, writes its own file whole, and the
            # audit chain stays one chain (each entry read its
            # predecessor inside its own write).
            before = count()
            outs = [os.path.join(srv.dir, "at-once-%d.csv" % i) for i in range(4)]
            procs = [subprocess.Popen([BIN, "labels", "--config", srv.config_path,
                                       "-o", o], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
                     for o in outs]
            during = cid.request("GET", "/api/labels?format=csv", csrf=True)
            for p in procs:
                _, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, err)
            self.assertEqual(during.status, 200, during)
            self.assertEqual(during.body.decode(), api)
            for o in outs:
                with open(o, newline="") as f:
                    self.assertEqual(f.read(), api)
            self.assertEqual(count(), before + 5 * 25)
            v = run_seula("audit", "verify", "--config", srv.config_path)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.assertEqual(run_seula("labels", "--format", "odt").returncode, 2)
        finally:
            srv.close()

    def test_no_font_no_start(self):
        srv = Server(plugins=PLUGINS, sections={"plugin.customers": {
            "label_font": "/nonexistent/font.ttf"}})
        try:
            self.assertNotEqual(srv.start(expect_fail=True), 0)
            self.assertIn("label_font", srv.stderr())
        finally:
            srv.close()


class FinanceExportTest(unittest.TestCase):

    def test_billing_fields_only_each_one_a_disclosure(self):
        srv, staff = start_server()
        try:
            cid, fin = staff["cid"], staff["fin"]
            payer = create(cid, last_name="Maksaja")
            # Restricted: sent only for what is open or in collection,
            # billing being what the record is still kept for.
            owing = create(cid, last_name="Rajoitettu",
                           flags={"restricted": True})
            paid_up = create(cid, last_name="Maksanut", flags={"restricted": True})
            create(cid, last_name="Tilaamaton")  # no orders: not sent
            for cust, number, status, currency in (
                    (payer, "F-1", "open", "EUR"), (payer, "F-2", "paid", "EUR"),
                    (payer, "F-3", "collection", "EUR"),
                    (owing, "F-4", "open", "EUR"), (owing, "F-5", "paid", "SEK"),
                    (paid_up, "F-6", "paid", "EUR")):
                r = cid.request("POST", "/api/customers/%d/orders" % cust["id"],
                                {"number": number, "date": "2026-01-01",
                                 "currency": currency, "invoice_status": status,
                                 "lines": [{"description": "Palvelu", "quantity": 1,
                                            "unit_price_cents": 10000}]})
                self.assertEqual(r.status, 201, r)
            r = fin.request("GET", "/api/customers/export/finance?format=csv",
                            csrf=True)
            self.assertEqual(r.status, 200, r)
            rows = csv_rows(r.body)
            self.assertEqual([(x["last_name"], x["currency"]) for x in rows],
                             [("Maksaja", "EUR"), ("Rajoitettu", "EUR")])
            self.assertEqual(rows[1]["open_cents"], "10000")
            d = {x["customer_id"]: x for x in srv.query("SELECT * FROM customer_disclosures")}
            self.assertIn("art. 18(2)", d[owing["id"]]["legal_ground"])
            self.assertNotIn("restricted", d[payer["id"]]["legal_ground"])

            self.assertEqual(set(rows[0]), {
                "customer_id", "first_name", "last_name", "organisation", "street",
                "postal_code", "city", "country", "email", "currency",
                "open_invoices", "open_cents", "collection_cents"})
            self.assertEqual((rows[0]["open_invoices"], rows[0]["open_cents"],
                              rows[0]["collection_cents"]), ("1", "10000", "10000"))
            self.assertNotIn(PERSON["phone"].encode(), r.body)
            d = srv.query("SELECT * FROM customer_disclosures ORDER BY customer_id")
            self.assertEqual([x["customer_id"] for x in d], [payer["id"], owing["id"]])
            self.assertEqual((d[0]["customer_id"], d[0]["recipient"], d[0]["staff_name"]),
                             (payer["id"], "finance partner", "fin"))
            self.assertIn("email", json.loads(d[0]["fields"]))
            self.assertTrue(d[0]["legal_ground"])
            audit = srv.query("SELECT action, subject, detail FROM audit_log WHERE route = "
                              "'GET /api/customers/export/finance'")[0]
            self.assertEqual(audit["action"], "export")
            self.assertIn("2 persons", audit["detail"])
            self.assertEqual(subject_ids(audit["subject"]), {payer["id"], owing["id"]})
            self.assertIn("GET /api/customers/export/finance",
                          audit_search(staff["ada"], owing["id"]))
            self.assertNotIn("GET /api/customers/export/finance",
                             audit_search(staff["ada"], paid_up["id"]))
            assert_json_error(self, fin.request(
                "GET", "/api/customers/export/finance?format=pdf", csrf=True), 400)
            self.assertEqual(len(srv.query("SELECT * FROM customer_disclosures")), 2)
        finally:
            srv.close()

    def test_a_credit_is_a_number_and_text_stays_guarded(self):
        srv, staff = start_server()
        try:
            cid, fin = staff["cid"], staff["fin"]
            cust = create(cid, organisation="=SUM(A1:A9)", last_name="-Hyvitetty")
            r = cid.request("POST", "/api/customers/%d/orders" % cust["id"],
                            {"number": "H-1", "date": "2026-01-01",
                             "currency": "EUR", "invoice_status": "open",
                             "lines": [{"description": "Hyvitys", "quantity": 1,
                                        "unit_price_cents": -300}]})
            self.assertEqual(r.status, 201, r)
            r = fin.request("GET", "/api/customers/export/finance", csrf=True)
            self.assertEqual(r.status, 200, r)
            # The numbers as numbers: a spreadsheet or an import reads
            # -300, where '-300 would be text.
            self.assertTrue(r.body.startswith(b'"customer_id",'), r.body[:80])
            row = r.body.split(b"\r\n")[1]
            self.assertTrue(row.startswith(b"%d," % cust["id"]), row)
            self.assertTrue(row.endswith(b',"EUR",1,-300,0'), row)
            rows = csv_rows(r.body)
            self.assertEqual((rows[0]["open_invoices"], rows[0]["open_cents"],
                              rows[0]["collection_cents"]), ("1", "-300", "0"))
            # Text that a spreadsheet would run stays guarded.
            self.assertEqual(rows[0]["organisation"], "'=SUM(A1:A9)")
            self.assertEqual(rows[0]["last_name"], "'-Hyvitetty")
        finally:
            srv.close()


if __name__ == "__main__":
    unittest.main()
