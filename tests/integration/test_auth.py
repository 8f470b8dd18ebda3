"""Staff logins, sessions, roles and the audit log, against the real server.

Accounts are made with the real CLI (`seula user add`), passwords are
checked with Argon2id, sessions live in the server and in SQLite, the
audit chain is checked with `seula audit verify`.
"""
import datetime
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
import unittest
import urllib.parse

from seulatest import (PLUGIN_DIR, Response, Server, add_user, assert_json_error,
                       login, run_seula, session_cookie, xff_padding)

PASSWORDS = {
    "ada": "plum-Orbit-7-lantern",
    "ann": "copper+Fjord+42+heron",
    "cid": "velvet_Quarry_19_moss",
    "fin": "maple.Signal.88.drift",
}
ROLES = {"ada": "admin", "ann": "analyst", "cid": "customer_service",
         "fin": "finance"}
ALL_STAFF = set(ROLES.values())

# Every route the server answers and the roles it admits.  The test below
# fails when `seula routes` lists a route that is not here, so a new route
# must be added with a decision about who may call it.
ROUTE_TABLE = {
    ("GET POST OPTIONS", "/api/collect"): {"public"},
    ("GET HEAD", "/api/health"): {"public"},
    ("POST", "/api/login"): {"public"},
    ("POST", "/api/logout"): ALL_STAFF,
    ("GET", "/api/me"): ALL_STAFF,
    ("GET", "/api/session"): {"public"},
    ("GET", "/api/audit"): {"admin"},
    ("GET", "/api/keys"): {"admin", "analyst"},
    ("POST", "/api/keys"): {"admin", "analyst"},
    ("DELETE", "/api/keys/{id}"): {"admin", "analyst"},
    ("GET", "/api/consent/config"): {"public"},
    ("POST", "/api/consent"): {"public"},
    ("POST", "/api/consent/shown"): {"public"},
    ("GET", "/api/consent/{receipt}"): {"public"},
    ("GET", "/api/consent/records"): {"admin", "customer_service"},
    ("POST", "/api/consent/records"): {"admin", "customer_service"},
    ("GET", "/api/consent/stats"): {"admin", "analyst"},
    # the analytics plugin: statistics, nothing personal
    ("GET", "/api/stats/sites"): {"admin", "analyst"},
    ("GET", "/api/stats/{site}/summary"): {"admin", "analyst"},
    ("GET", "/api/stats/{site}/timeseries"): {"admin", "analyst"},
    ("GET", "/api/stats/{site}/breakdown"): {"admin", "analyst"},
    ("GET", "/api/stats/{site}/realtime"): {"admin", "analyst"},
    ("GET", "/api/stats/{site}/goals"): {"admin", "analyst"},
    ("GET", "/api/stats/{site}/funnel"): {"admin", "analyst"},
    ("GET", "/api/stats/{site}/annotations"): {"admin", "analyst"},
    ("POST", "/api/stats/{site}/annotations"): {"admin", "analyst"},
    ("DELETE", "/api/stats/{site}/annotations/{id}"): {"admin", "analyst"},
    # the customers plugin: the register is customer service's, billing
    # data the finance partner's
    ("GET", "/api/customers"): {"admin", "customer_service"},
    ("POST", "/api/customers"): {"admin", "customer_service"},
    ("GET", "/api/customers/{id}"): {"admin", "customer_service"},
    ("PUT", "/api/customers/{id}"): {"admin", "customer_service"},
    ("PATCH", "/api/customers/{id}"): {"admin", "customer_service"},
    ("GET", "/api/customers/{id}/orders"): {"admin", "customer_service"},
    ("POST", "/api/customers/{id}/orders"): {"admin", "customer_service"},
    ("PATCH", "/api/customers/{id}/orders/{order}"): {"admin", "customer_service"},
    ("POST", "/api/customers/import"): {"admin", "customer_service"},
    ("GET", "/api/labels"): {"admin", "customer_service"},
    ("GET", "/api/customers/export/finance"): {"admin", "finance"},
    # linked visitors' aggregates by organisation or segment (k-anonymous)
    ("GET", "/api/segments"): {"admin", "analyst"},
    # data subject requests (the customers plugin's dsr.c): customer
    # service's, like the register
    ("GET", "/api/dsr"): {"admin", "customer_service"},
    ("POST", "/api/dsr"): {"admin", "customer_service"},
    ("GET", "/api/dsr/{id}"): {"admin", "customer_service"},
    ("POST", "/api/dsr/{id}/extend"): {"admin", "customer_service"},
    ("GET", "/api/dsr/{id}/export"): {"admin", "customer_service"},
    ("GET", "/api/dsr/{id}/statement"): {"admin", "customer_service"},
    # the test plugin's routes
    ("GET", "/api/testkit/echo/{name}"): {"public"},
    ("GET", "/api/testkit/count"): {"public"},
    ("POST", "/api/testkit/note"): {"public"},
    ("GET", "/api/testkit/secret"): {"admin"},
    ("GET", "/api/testkit/staffcount"): {"admin"},
}


def all_plugins():
    names = sorted(n[:-3] for n in os.listdir(PLUGIN_DIR) if n.endswith(".so"))
    # The pipeline runs enrich plugins before anonymize, filter plugins
    # (customers, testkit) after it.
    names.remove("anonymize")
    names.remove("customers")
    return tuple(names) + ("anonymize", "customers", "testkit")


def add_staff(server, names=ROLES):
    for name in names:
        add_user(server, name, ROLES[name], PASSWORDS[name])


def audit_rows(server, where="1", args=()):
    return server.query("SELECT * FROM audit_log WHERE %s ORDER BY id" % where, args)


def verify(config, db=None):
    args = ["audit", "verify", "--config", config]
    if db:
        args += ["--db", db]
    return run_seula(*args)


class LoginTest(unittest.TestCase):
    """One server for the tests that do not need their own settings."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=("anonymize", "testkit"),
                         sections={"auth": {"login_max_failures": "1000"}})
        add_staff(cls.srv)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_no_default_account(self):
        fresh = Server()
        try:
            fresh.start()
            self.assertEqual(fresh.query("SELECT count(*) AS n FROM staff")[0]["n"], 0)
            for name, pw in (("admin", "admin"), ("root", "root"), ("seula", "seula")):
                r = login(fresh, name, pw)
                assert_json_error(self, r, 401, "invalid_credentials")
            assert_json_error(self, login(fresh, "admin", ""), 400, "invalid_field")
        finally:
            fresh.close()

    def test_login_gives_a_strict_http_only_cookie(self):
        r = self.srv.request("POST", "/api/login",
                             {"username": "ada", "password": PASSWORDS["ada"]},
                             {"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual((doc["name"], doc["role"]), ("ada", "admin"))
        cookie = r.header("Set-Cookie")
        attrs = [a.strip() for a in cookie.split(";")]
        self.assertRegex(attrs[0], r"^seula_session=[A-Za-z0-9_-]{43}$")
        self.assertIn("HttpOnly", attrs)
        self.assertIn("SameSite=Strict", attrs)
        self.assertIn("Path=/", attrs)
        self.assertNotIn("Secure", attrs)  # plain HTTP, no proxy saying https
        self.assertEqual(r.header("Cache-Control"), "no-store")
        token = session_cookie(r)
        # 256 bits of token; only a hash of it is stored, anywhere.
        self.assertEqual(len(token), 43)
        for blob in self.srv.db_files().values():
            self.assertNotIn(token.encode(), blob)
        self.assertRegex(doc["csrf"], r"^[A-Za-z0-9_-]{43}$")

    def test_case_of_the_name_does_not_matter(self):
        s = login(self.srv, "ADA", PASSWORDS["ada"])
        self.assertEqual(getattr(s, "name", None), "ada", s)

    def test_wrong_password_and_unknown_name_answer_alike(self):
        bodies = set()
        for name, pw in (("ada", "not-the-password-123"), ("nobody", PASSWORDS["ada"]),
                         ("ada", "y"), ("x" * 64, "y"), ("Ada ", PASSWORDS["ada"])):
            r = login(self.srv, name, pw)
            assert_json_error(self, r, 401, "invalid_credentials")
            self.assertIsNone(r.header("Set-Cookie"))
            bodies.add(r.body)
        self.assertEqual(len(bodies), 1, bodies)

    def test_login_timing_does_not_tell_unknown_names(self):
        # Interleaved, so machine noise hits both sides alike.
        known, unknown = [], []
        for i in range(9):
            for name, out in (("cid", known), ("nobody%d" % i, unknown)):
                t0 = time.perf_counter()
                r = login(self.srv, name, "wrong-password-%d" % i)
                out.append(time.perf_counter() - t0)
                self.assertEqual(r.status, 401)
        # Each known-name try is timed right beside an unknown-name one,
        # so a pair shares the machine's noise (other tests share its two
        # cores).  The median of the pairs' ratios shrugs off a burst or
        # a quiet moment that hits one side: medians of each side moved
        # apart by a quarter once, and the fastest of each by a third
        # (one known-name try in a quiet moment).  A name skipping
        # Argon2id would answer in about a millisecond: a ratio near 100.
        ratios = sorted(k / u for k, u in zip(known, unknown))
        ratio = ratios[len(ratios) // 2]
        print("\nlogin failure, medians: known name %.1f ms, unknown name %.1f ms;"
              " median ratio of the pairs %.2f"
              % (statistics.median(known) * 1000, statistics.median(unknown) * 1000, ratio))
        # Both pay one Argon2id computation: same order, within 25%.
        self.assertGreater(min(unknown), 0.01)
        self.assertLess(abs(ratio - 1), 0.25, (known, unknown))

    def test_bad_login_requests(self):
        cases = [
            ({"Content-Type": "text/plain"}, '{"username":"ada","password":"x"}', 415),
            ({"Content-Type": "application/jsonp"}, '{"username":"ada","password":"x"}', 415),
            ({}, '{"username":"ada","password":"x"}', 415),
            ({"Content-Type": "application/x-www-form-urlencoded"},
             "username=ada&password=x", 415),
            ({"Content-Type": "application/json"}, "{", 400),
            ({"Content-Type": "application/json"}, '{"username":"ada"}', 400),
            ({"Content-Type": "application/json"},
             '{"username":"ada","password":"x","extra":1}', 400),
            ({"Content-Type": "application/json"},
             '{"username":"ada","username":"ann","password":"x"}', 400),
            ({"Content-Type": "application/json"}, '{"username":1,"password":"x"}', 400),
            ({"Content-Type": "application/json"}, '["ada","x"]', 400),
            ({"Content-Type": "application/json"},
             json.dumps({"username": "ada", "password": "x" * 20000}), 413),
        ]
        for headers, body, status in cases:
            r = self.srv.request("POST", "/api/login", body, headers)
            assert_json_error(self, r, status)
        r = self.srv.request("GET", "/api/login")
        assert_json_error(self, r, 405)
        self.assertTrue(self.srv.alive())

    def test_me_and_logout_end_the_session(self):
        s = login(self.srv, "ann", PASSWORDS["ann"])
        me = s.request("GET", "/api/me")
        self.assertEqual(me.status, 200)
        self.assertEqual(me.json()["role"], "analyst")
        self.assertEqual(me.json()["csrf"], s.csrf)
        # /api/session: the same with a 200, and "no" without a 401.
        r = s.request("GET", "/api/session")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), me.json())
        r = self.srv.request("GET", "/api/session")
        self.assertEqual((r.status, r.json()), (200, {"signed_in": False, "expired": False}))
        assert_json_error(self, self.srv.request("POST", "/api/session"), 405)
        r = s.request("POST", "/api/logout")
        self.assertEqual(r.status, 204, r)
        self.assertRegex(r.header("Set-Cookie"), r"^seula_session=;.*Max-Age=0")
        assert_json_error(self, s.request("GET", "/api/me"), 401, "login_required")
        assert_json_error(self, s.request("POST", "/api/logout"), 401)
        # Gone from the database too: a restart would not bring it back.
        digest = hashlib.blake2b(s.token.encode(), digest_size=32).digest()
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM sessions WHERE token_hash = ?", (digest,))[0]["n"], 0)
        live = login(self.srv, "ann", PASSWORDS["ann"])
        digest = hashlib.blake2b(live.token.encode(), digest_size=32).digest()
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM sessions WHERE token_hash = ?", (digest,))[0]["n"], 1)

    def test_logout_needs_the_csrf_token(self):
        s = login(self.srv, "fin", PASSWORDS["fin"])
        assert_json_error(self, s.request("POST", "/api/logout", csrf=False), 403,
                          "csrf_failed")
        assert_json_error(self, s.request("POST", "/api/logout",
                                          headers={"X-CSRF-Token": "A" * 43}), 403,
                          "csrf_failed")
        # Another session's token is no good either.
        other = login(self.srv, "fin", PASSWORDS["fin"])
        assert_json_error(self, s.request("POST", "/api/logout",
                                          headers={"X-CSRF-Token": other.csrf}), 403,
                          "csrf_failed")
        self.assertEqual(s.request("GET", "/api/me").status, 200)
        self.assertEqual(s.request("POST", "/api/logout").status, 204)
        self.assertEqual(other.request("GET", "/api/me").status, 200)

    def test_session_fixation(self):
        # A session id planted in the browser before login is never the one
        # the login makes, whether it is made up or a live session.
        planted = secrets.token_urlsafe(32)
        r = login(self.srv, "cid", PASSWORDS["cid"],
                  {"Cookie": "seula_session=" + planted})
        self.assertNotEqual(r.token, planted)
        first = login(self.srv, "cid", PASSWORDS["cid"])
        second = login(self.srv, "ada", PASSWORDS["ada"],
                       {"Cookie": "seula_session=" + first.token})
        self.assertNotEqual(second.token, first.token)
        # The session the browser carried in is ended by the new login.
        assert_json_error(self, first.request("GET", "/api/me"), 401)
        self.assertEqual(second.request("GET", "/api/me").json()["name"], "ada")

    def test_forged_and_malformed_sessions(self):
        for token in (secrets.token_urlsafe(32), "A" * 43, "", "x" * 5000,
                      "%00%ff", "a b", "\u00e4" * 10):
            h = {"Cookie": "seula_session=" + token}
            for method, path in (("GET", "/api/me"), ("GET", "/api/audit"),
                                 ("GET", "/api/testkit/secret")):
                r = self.srv.request(method, path, headers={
                    k: v.encode("utf-8").decode("latin-1") for k, v in h.items()})
                doc = assert_json_error(self, r, 401)
                self.assertEqual(set(doc), {"error", "message"})
        # A real token with a flipped character.
        s = login(self.srv, "ann", PASSWORDS["ann"])
        flipped = s.token[:-1] + ("A" if s.token[-1] != "A" else "B")
        r = self.srv.request("GET", "/api/me", headers={"Cookie": "seula_session=" + flipped})
        assert_json_error(self, r, 401)
        self.assertTrue(self.srv.alive())

    def test_staff_route_without_session_or_role(self):
        r = self.srv.request("GET", "/api/audit")
        doc = assert_json_error(self, r, 401, "login_required")
        self.assertEqual(set(doc), {"error", "message"})
        ann = login(self.srv, "ann", PASSWORDS["ann"])
        r = ann.request("GET", "/api/audit")
        doc = assert_json_error(self, r, 403, "forbidden")
        self.assertEqual(set(doc), {"error", "message"})
        self.assertNotIn(b"login", r.body)  # nothing of the log leaks

    def test_audit_records_logins_reads_and_denials(self):
        before = audit_rows(self.srv)[-1]["id"] if audit_rows(self.srv) else 0
        login(self.srv, "nobody-here", "x")
        fin = login(self.srv, "fin", PASSWORDS["fin"])
        fin.request("GET", "/api/testkit/secret")
        ada = login(self.srv, "ada", PASSWORDS["ada"],
                    {"X-Forwarded-For": "203.0.113.77"})
        ada.request("GET", "/api/testkit/secret")
        fin.request("POST", "/api/logout")
        r = ada.request("GET", "/api/audit?limit=1000")
        self.assertEqual(r.status, 200)
        rows = [e for e in r.json()["entries"] if e["id"] > before]
        got = [(e["staff"], e["action"], e["route"], e["outcome"]) for e in reversed(rows)]
        self.assertEqual(got[:5], [
            ("(unknown name)", "login_failed", "POST /api/login", "failed"),
            ("fin", "login", "POST /api/login", "ok"),
            ("fin", "access", "GET /api/testkit/secret", "denied"),
            ("ada", "login", "POST /api/login", "ok"),
            ("ada", "read", "GET /api/testkit/secret", "ok"),
        ])
        self.assertIn(("fin", "logout", "POST /api/logout", "ok"), got[5:])
        # Where from, masked: never a full address.
        ada_login = rows[-4]
        self.assertEqual(ada_login["ip"], "203.0.113.0")
        for e in rows:
            self.assertNotIn("203.0.113.77", json.dumps(e))
        # The typed name of a failed login is not kept: it may be a password.
        self.assertNotIn("nobody-here", repr(audit_rows(self.srv)))
        # Reading the audit log is itself audited.
        time.sleep(0.2)
        last = audit_rows(self.srv)[-1]
        self.assertEqual((last["staff_name"], last["action"], last["route"]),
                         ("ada", "read", "GET /api/audit"))

    def test_audit_query_filters(self):
        ada = login(self.srv, "ada", PASSWORDS["ada"])
        r = ada.request("GET", "/api/audit?action=login&staff=ada&limit=2")
        self.assertEqual(r.status, 200)
        doc = r.json()
        self.assertLessEqual(len(doc["entries"]), 2)
        for e in doc["entries"]:
            self.assertEqual((e["action"], e["staff"]), ("login", "ada"))
        if doc["next_before"]:
            older = ada.request("GET", "/api/audit?action=login&before=%d"
                                % doc["next_before"]).json()["entries"]
            self.assertTrue(all(e["id"] < doc["next_before"] for e in older))
        # A date alone as `to` takes in that whole (UTC) day, as the stats
        # API's does: today's entries are between from=today and to=today.
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        day = ada.request("GET", "/api/audit?from=%s&to=%s" % (today, today)).json()
        self.assertTrue(any(e["action"] == "login" and e["staff"] == "ada"
                            for e in day["entries"]), day)
        r = ada.request("GET", "/api/audit?from=%sT00:00:00Z&to=%sT23:59:59Z"
                        % (today, today))
        self.assertTrue(any(e["action"] == "login" and e["staff"] == "ada"
                            for e in r.json()["entries"]), r)
        # A customer id looks for their linked visitor ids only where the
        # customers plugin made its tables: here it is not loaded.
        r = ada.request("GET", "/api/audit?subject=1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["entries"], [])
        # That search is itself about customer 1: the next one finds it
        # (and so would their access export).  Other subjects stay out.
        ada.request("GET", "/api/audit?subject=7a0f5d7e-0000-4000-8000-000000000000")
        seen = ada.request("GET", "/api/audit?subject=1").json()["entries"]
        self.assertEqual([(e["staff"], e["action"], e["route"], e["subject"], e["detail"])
                          for e in seen],
                         [("ada", "read", "GET /api/audit", "1",
                           "audit log entries about them")])
        last = ada.request("GET", "/api/audit?limit=2").json()["entries"]
        self.assertEqual([e["subject"] for e in last], ["1", None])
        for q in ("limit=0", "limit=abc", "limit=1001", "before=x", "from=yesterday",
                  "to=2026-13-45", "limit=%2B5", "limit=%205", "before=%203",
                  "from=%2B1",
                  # Days that do not exist, and near-dates strptime took.
                  "from=2026-02-30", "to=2026-11-31", "from=1-1-1",
                  "from=%202026-11-30", "from=2026-11-30T24:00:00Z",
                  "from=2026-11-30T1:00:00Z", "from=2026-11-30T10:00:00+02",
                  "exclude_action=", "exclude_action=" + "x" * 257):
            assert_json_error(self, ada.request("GET", "/api/audit?" + q), 400,
                              "invalid_query")

    def test_statistics_reads_are_audited_as_such_and_can_be_left_out(self):
        ada = login(self.srv, "ada", PASSWORDS["ada"])
        self.assertEqual(ada.request("GET", "/api/consent/stats?site=demo").status, 200)
        time.sleep(0.2)
        last = audit_rows(self.srv)[-1]
        self.assertEqual((last["staff_name"], last["action"], last["route"],
                          last["subject"], last["detail"]),
                         ("ada", "statistics", "GET /api/consent/stats", None,
                          "consent rates of site demo"))
        got = ada.request("GET", "/api/audit?limit=1000").json()["entries"]
        self.assertIn("statistics", {e["action"] for e in got})
        for q in ("exclude_action=statistics", "exclude_action=statistics,login"):
            left = ada.request("GET", "/api/audit?limit=1000&" + q).json()["entries"]
            gone = q.split("=")[1].split(",")
            # The same entries but those, up to what the first query saw.
            self.assertEqual([e for e in left
                              if got[-1]["id"] <= e["id"] <= got[0]["id"]],
                             [e for e in got if e["action"] not in gone], q)
            self.assertFalse({e["action"] for e in left} & set(gone), q)
            self.assertTrue(left, q)


class RouteTableTest(unittest.TestCase):
    """Each role against each route the server has."""

    def test_every_route_is_in_the_table_and_enforced(self):
        srv = Server(plugins=all_plugins(),
                     sections={"auth": {"login_max_failures": "1000"}})
        try:
            add_staff(srv)
            r = run_seula("routes", "--config", srv.config_path)
            self.assertEqual(r.returncode, 0, r.stderr)
            listed = [json.loads(line) for line in r.stdout.splitlines()]
            keys = {(e["methods"], e["path"]) for e in listed}
            missing = keys - set(ROUTE_TABLE)
            self.assertFalse(missing, "routes not in ROUTE_TABLE: decide who may "
                             "call them and add them: %s" % sorted(missing))
            for e in listed:
                self.assertEqual(set(e["roles"]), ROUTE_TABLE[(e["methods"], e["path"])],
                                 e)
            # Which requests need the CSRF token, as listed: every staff
            # method but GET, and a staff GET on the writer (the three
            # that record something).
            csrf_gets = {p for e in listed if "GET" in e["csrf"] for p in [e["path"]]}
            self.assertEqual(csrf_gets, {"/api/labels", "/api/customers/export/finance",
                                         "/api/dsr/{id}/export"})
            for e in listed:
                staff = "public" not in e["roles"]
                want = [m for m in e["methods"].split() if staff and m != "GET"]
                want += ["GET"] if e["path"] in csrf_gets else []
                self.assertEqual(sorted(e["csrf"]), sorted(want), e)
            srv.start()
            sessions = {name: login(srv, name, PASSWORDS[name]) for name in ROLES}
            for e in listed:
                allowed = set(e["roles"])
                if "public" in allowed or e["path"] == "/api/login":
                    continue
                path = re.sub(r"\{[^}]+\}", "42", e["path"])
                for method in e["methods"].split():
                    r = srv.request(method, path)
                    doc = assert_json_error(self, r, 401)
                    self.assertEqual(set(doc), {"error", "message"}, (method, path))
                    for name, s in sessions.items():
                        if e["path"] == "/api/logout":
                            continue  # would end the session; tested above
                        # With the CSRF token: a GET on the writer
                        # needs it too (test_dsr checks which do).
                        r = s.request(method, path, csrf=True)
                        if ROLES[name] in allowed:
                            self.assertNotIn(r.status, (401, 403),
                                             (name, method, path, r))
                            # And the listed need for the token holds.
                            r = s.request(method, path, csrf=False)
                            if method in e["csrf"]:
                                assert_json_error(self, r, 403, "csrf_failed")
                            else:
                                self.assertNotIn(r.status, (401, 403),
                                                 (name, method, path, r))
                        else:
                            doc = assert_json_error(self, r, 403, "forbidden")
                            self.assertEqual(set(doc), {"error", "message"})
            # A failed request the core audits for its handler names a
            # site in the detail, not as a person's subject, and never
            # what was typed in its place (the log keeps all for good).
            for site, status, detail in (("demo", 400, "site=demo"),
                                         ("maija@example.com", 404, "site=(invalid)")):
                assert_json_error(self, sessions["ann"].request(
                    "GET", "/api/stats/%s/summary?from=x" % urllib.parse.quote(site)), status)
                time.sleep(0.2)
                got = srv.query("SELECT subject, detail, outcome FROM audit_log "
                                "ORDER BY id DESC LIMIT 1")[0]
                self.assertEqual(got, {"subject": None, "detail": detail,
                                       "outcome": "failed"}, site)
            for name, s in sessions.items():
                self.assertEqual(s.request("POST", "/api/logout").status, 204)
        finally:
            srv.close()

    def test_route_without_roles_is_refused_at_start(self):
        srv = Server(plugins=("anonymize", "broken_noroles"))
        try:
            rc = srv.start(expect_fail=True)
            self.assertNotEqual(rc, 0)
            self.assertRegex(srv.stderr(), r"role")
        finally:
            srv.close()


class SessionTimeTest(unittest.TestCase):

    def test_idle_and_absolute_expiry(self):
        srv = Server(sections={"auth": {"session_idle": "2s",
                                        "session_lifetime": "4s"}})
        try:
            add_staff(srv, ["ann"])
            srv.start()
            idle = login(srv, "ann", PASSWORDS["ann"])
            asks = login(srv, "ann", PASSWORDS["ann"])  # idle too
            busy = login(srv, "ann", PASSWORDS["ann"])
            t0 = time.monotonic()
            # busy keeps its session active; idle says nothing for 2.5 s.
            while time.monotonic() - t0 < 2.5:
                self.assertEqual(busy.request("GET", "/api/me").status, 200)
                time.sleep(0.5)
            assert_json_error(self, idle.request("GET", "/api/me"), 401,
                              "session_expired")
            self.assertEqual(asks.request("GET", "/api/session").json(),
                             {"signed_in": False, "expired": True})
            # However busy, a session ends at its lifetime.
            while time.monotonic() - t0 < 3.5:
                self.assertEqual(busy.request("GET", "/api/me").status, 200)
                time.sleep(0.5)
            time.sleep(max(0, 4.3 - (time.monotonic() - t0)))
            assert_json_error(self, busy.request("GET", "/api/me"), 401)
        finally:
            srv.close()

    def test_background_requests_do_not_keep_a_session_alive(self):
        # The dashboard's realtime poll says X-Seula-Background: 1: it is
        # answered, but an unattended screen still idles out.
        srv = Server(plugins=("anonymize", "testkit"),
                     sections={"auth": {"session_idle": "2s"}})
        bg_header = {"X-Seula-Background": "1"}
        try:
            add_staff(srv, ["ann"])
            srv.start()
            polled = login(srv, "ann", PASSWORDS["ann"])
            used = login(srv, "ann", PASSWORDS["ann"])
            t0 = time.monotonic()
            while time.monotonic() - t0 < 1.5:
                self.assertEqual(polled.request("GET", "/api/me",
                                                headers=bg_header).status, 200)
                self.assertEqual(used.request("GET", "/api/me").status, 200)
                time.sleep(0.3)
            time.sleep(max(0, 2.4 - (time.monotonic() - t0)))
            assert_json_error(self, polled.request("GET", "/api/me",
                                                   headers=bg_header),
                              401, "session_expired")
            self.assertEqual(used.request("GET", "/api/me",
                                          headers=bg_header).status, 200)
        finally:
            srv.close()

    def test_sessions_survive_a_restart_and_cli_changes_reach_them(self):
        # session_sync as by default (30 s): a change to an account
        # reaches its sessions within the staff watch's second, not then.
        srv = Server(plugins=("anonymize", "testkit"))
        try:
            add_staff(srv, ["ada", "fin"])
            srv.start()
            ada = login(srv, "ada", PASSWORDS["ada"])
            fin = login(srv, "fin", PASSWORDS["fin"])
            srv.stop()
            srv.start()
            self.assertEqual(ada.request("GET", "/api/me").status, 200)
            self.assertEqual(ada.request("GET", "/api/testkit/secret").status, 200)
            # A role that is none is named, for both commands.
            for args in (["role", "ada", "king"], ["add", "zed", "--role", "king"]):
                r = run_seula("user", *args, "--config", srv.config_path,
                              input="velvet_Quarry_19_moss\n")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("no role 'king' (roles: admin, analyst, "
                              "customer_service, finance)", r.stderr)
            # A role change and a disabled account reach open sessions.
            r = run_seula("user", "role", "ada", "analyst", "--config", srv.config_path)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run_seula("user", "disable", "fin", "--config", srv.config_path)
            self.assertEqual(r.returncode, 0, r.stderr)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                if (ada.request("GET", "/api/testkit/secret").status == 403 and
                        fin.request("GET", "/api/me").status == 401):
                    break
                time.sleep(0.1)
            assert_json_error(self, ada.request("GET", "/api/testkit/secret"), 403)
            self.assertEqual(ada.request("GET", "/api/me").json()["role"], "analyst")
            assert_json_error(self, fin.request("GET", "/api/me"), 401)
            # A disabled account cannot sign in, and is told nothing more.
            assert_json_error(self, login(srv, "fin", PASSWORDS["fin"]), 401,
                              "invalid_credentials")
            r = run_seula("user", "enable", "fin", "--config", srv.config_path)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(login(srv, "fin", PASSWORDS["fin"]).name, "fin")
            # A new password ends the old sessions.
            r = run_seula("user", "passwd", "fin", "--config", srv.config_path,
                          input="brand-New-Secret-2026\n", timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            deadline = time.monotonic() + 3
            while (time.monotonic() < deadline and
                   fin.request("GET", "/api/me").status != 401):
                time.sleep(0.1)
            assert_json_error(self, fin.request("GET", "/api/me"), 401)
            assert_json_error(self, login(srv, "fin", PASSWORDS["fin"]), 401)
            self.assertEqual(login(srv, "fin", "brand-New-Secret-2026").name, "fin")
        finally:
            srv.close()

    def test_disable_then_enable_ends_the_sessions(self):
        # `user disable` then `user enable` (a way to sign someone out)
        # within one tick of the staff watch: the staff row ends as it
        # was, but the sessions are gone and must end now, not at the
        # next sync (session_sync, 30 s by default).  Both commands'
        # writes in one transaction, so that no tick falls between them.
        srv = Server()
        try:
            add_staff(srv, ["ann"])
            srv.start()
            ann = login(srv, "ann", PASSWORDS["ann"])
            self.assertEqual(ann.request("GET", "/api/me").status, 200)
            time.sleep(1.5)  # the watch has looked since the login
            con = sqlite3.connect(srv.db_path, timeout=10)
            with con:
                con.execute("UPDATE staff SET disabled = 1 WHERE name = 'ann'")
                con.execute("DELETE FROM sessions WHERE staff_id = "
                            "(SELECT id FROM staff WHERE name = 'ann')")
                con.execute("UPDATE staff SET disabled = 0 WHERE name = 'ann'")
            con.close()
            deadline = time.monotonic() + 3
            while (time.monotonic() < deadline and
                   ann.request("GET", "/api/me").status != 401):
                time.sleep(0.1)
            assert_json_error(self, ann.request("GET", "/api/me"), 401)
        finally:
            srv.close()


class SessionCapTest(unittest.TestCase):

    def test_a_session_evicted_at_the_cap_stays_ended_after_a_restart(self):
        srv = Server(plugins=("anonymize", "testkit"),
                     sections={"auth": {"session_sync": "1s", "max_sessions": "2"}})
        try:
            add_staff(srv, ["ada", "fin"])
            srv.start()
            first = login(srv, "ada", PASSWORDS["ada"])
            login(srv, "fin", PASSWORDS["fin"])
            time.sleep(0.1)
            third = login(srv, "ada", PASSWORDS["ada"])
            # The least recently seen goes at the cap...
            assert_json_error(self, first.request("GET", "/api/me"), 401)
            self.assertEqual(third.request("GET", "/api/me").status, 200)
            # ...and its row with it, once past a login's way to memory
            # (10 s), at a session sync.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and srv.query(
                    "SELECT count(*) AS n FROM sessions")[0]["n"] > 2:
                time.sleep(0.5)
            self.assertEqual(srv.query("SELECT count(*) AS n FROM sessions")[0]["n"], 2)
            srv.stop()
            srv.start()
            assert_json_error(self, first.request("GET", "/api/me"), 401)
            self.assertEqual(third.request("GET", "/api/me").status, 200)
        finally:
            srv.close()


class AccountChangedDuringLoginTest(unittest.TestCase):
    """A login checks the password on a reader and writes its session on
    the writer.  A `seula user passwd`, `role` or `disable` committed in
    between must not leave a session made by the account as it was."""

    CHANGES = {
        # like `seula user passwd`: fin's password becomes ann's
        "fin": ["UPDATE staff SET password_hash = (SELECT password_hash FROM "
                "staff WHERE name = 'ann'), password_changed_at = ? WHERE "
                "name = 'fin'",
                "DELETE FROM sessions WHERE staff_id = (SELECT id FROM staff "
                "WHERE name = 'fin')"],
        "cid": ["UPDATE staff SET role = 'analyst' WHERE name = 'cid'"],
        "ada": ["UPDATE staff SET disabled = 1 WHERE name = 'ada'",
                "DELETE FROM sessions WHERE staff_id = (SELECT id FROM staff "
                "WHERE name = 'ada')"],
    }

    def test_a_change_between_check_and_session_fails_the_login(self):
        srv = Server(plugins=("anonymize", "testkit"))
        try:
            add_staff(srv, ["ada", "ann", "cid", "fin"])
            srv.start()
            for name, sqls in self.CHANGES.items():
                with self.subTest(name=name):
                    self.check_race(srv, name, sqls)
            # After the change, the account is as the change left it.
            assert_json_error(self, login(srv, "fin", PASSWORDS["fin"]), 401)
            self.assertEqual(login(srv, "fin", PASSWORDS["ann"]).name, "fin")
            self.assertEqual(login(srv, "cid", PASSWORDS["cid"]).role, "analyst")
            assert_json_error(self, login(srv, "ada", PASSWORDS["ada"]), 401)
        finally:
            srv.close()

    def check_race(self, srv, name, sqls):
        # Holding the write lock keeps the login's write waiting (the
        # server's busy timeout is 5 s) while its check reads the account
        # as it was; the change commits before the login's write runs.
        db = sqlite3.connect(srv.db_path, timeout=10, isolation_level=None)
        got = []
        try:
            db.execute("BEGIN IMMEDIATE")
            t = threading.Thread(
                target=lambda: got.append(login(srv, name, PASSWORDS[name])))
            t.start()
            time.sleep(0.8)  # the check reads the row at once
            self.assertTrue(t.is_alive(), "the login did not wait to write")
            for sql in sqls:
                db.execute(sql, (int(time.time() * 1000),) if "?" in sql else ())
            db.execute("COMMIT")
        finally:
            db.close()
        t.join(30)
        self.assertEqual(getattr(got[0], "status", 200), 401,
                         "the login made a session")
        assert_json_error(self, got[0], 401, "invalid_credentials")
        self.assertEqual(srv.query(
            "SELECT count(*) AS n FROM sessions WHERE staff_id = (SELECT id "
            "FROM staff WHERE name = ?)", (name,))[0]["n"], 0)
        last = srv.query("SELECT * FROM audit_log WHERE staff_name = ? ORDER "
                         "BY id DESC LIMIT 1", (name,))[0]
        # Failed as a login whose check ran before the change, not as a
        # wrong password (which a check after the change would give).
        self.assertEqual((last["action"], last["outcome"], last["detail"]),
                         ("login_failed", "failed",
                          "the account changed during the login"))


class BruteForceTest(unittest.TestCase):

    def test_per_account_and_per_address_limits(self):
        srv = Server(sections={"auth": {"login_max_failures": "3",
                                        "login_failure_window": "1m",
                                        "login_lockout": "4s"}})
        try:
            add_staff(srv, ["ada", "ann"])
            srv.start()
            a = {"X-Forwarded-For": "198.51.100.1"}
            b = {"X-Forwarded-For": "198.51.100.2"}
            for _ in range(3):
                assert_json_error(self, login(srv, "ada", "guess-guess-guess", a), 401)
            # The account is locked, from every address, even with the
            # right password; the answer says when to try again.
            r = login(srv, "ada", PASSWORDS["ada"], b)
            assert_json_error(self, r, 429, "too_many_attempts")
            self.assertGreaterEqual(int(r.header("Retry-After")), 1)
            # Another account from the same address is not locked.
            self.assertEqual(login(srv, "ann", PASSWORDS["ann"], a).name, "ann")
            # Per address (4 x login_max_failures): spraying names.
            c = {"X-Forwarded-For": "192.0.2.9"}
            statuses = [login(srv, "user%d" % i, "guess", c).status for i in range(14)]
            self.assertEqual(statuses[:12], [401] * 12, statuses)
            self.assertEqual(statuses[12:], [429, 429], statuses)
            assert_json_error(self, login(srv, "ann", PASSWORDS["ann"], c), 429)
            self.assertEqual(login(srv, "ann", PASSWORDS["ann"], b).name, "ann")
            # An IPv6 /64 counts as one address.
            v6 = ["2001:db8:1:2::%x" % i for i in range(1, 14)]
            statuses = [login(srv, "x%d" % i, "guess", {"X-Forwarded-For": ip}).status
                        for i, ip in enumerate(v6)]
            self.assertEqual(statuses, [401] * 12 + [429], statuses)
            assert_json_error(self, login(srv, "ann", PASSWORDS["ann"],
                                          {"X-Forwarded-For": "2001:db8:1:2:ffff::1"}), 429)
            # A lockout ends.
            time.sleep(4.2)
            self.assertEqual(login(srv, "ada", PASSWORDS["ada"], b).name, "ada")
            # The audit log says who was locked out, once.
            rows = audit_rows(srv, "detail LIKE '%locked%'")
            self.assertGreaterEqual(len(rows), 1)
        finally:
            srv.close()


def concurrent_logins(server, attempts, headers=None):
    """POST /api/login once per (name, password), all in flight at once:
    every connection is open before any request is sent.  The Responses,
    in order."""
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    conns = [http.client.HTTPConnection(server.host, server.port, timeout=60)
             for _ in attempts]
    for c in conns:
        c.connect()
    barrier = threading.Barrier(len(attempts))
    out = [None] * len(attempts)

    def one(i):
        name, password = attempts[i]
        try:
            barrier.wait(timeout=30)
            conns[i].request("POST", "/api/login",
                             json.dumps({"username": name, "password": password}), h)
            r = conns[i].getresponse()
            out[i] = Response(r.status, r.getheaders(), r.read())
        except Exception as e:  # reported by the caller's assertions
            out[i] = e
        finally:
            conns[i].close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return out


class ParallelBruteForceTest(unittest.TestCase):
    """Failures are counted when a password check ends, so a login must
    hold its place against the limit from the moment it is queued: logins
    sent all at once may not get more checks than the limit allows."""

    LIMIT = 5

    @classmethod
    def setUpClass(cls):
        # Two event loops: the limiter is shared between their threads.
        cls.srv = Server(server={"workers": "2"},
                         sections={"auth": {"login_max_failures": str(cls.LIMIT),
                                            "login_failure_window": "10m",
                                            "login_lockout": "10m"}})
        add_staff(cls.srv, ["ada", "fin"])
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def statuses(self, responses):
        for r in responses:
            self.assertIsInstance(r, Response, r)
        return sorted(r.status for r in responses)

    def test_concurrent_wrong_passwords_stop_at_the_limit(self):
        n = 40
        addr = {"X-Forwarded-For": "198.51.100.77"}
        rs = concurrent_logins(self.srv, [("fin", "wrong-password-%d" % i)
                                          for i in range(n)], addr)
        # Only the limit's worth were checked; the rest were refused with
        # the lock's answer, before any password hashing.
        self.assertEqual(self.statuses(rs),
                         [401] * self.LIMIT + [429] * (n - self.LIMIT))
        for r in rs:
            if r.status == 429:
                assert_json_error(self, r, 429, "too_many_attempts")
                self.assertGreaterEqual(int(r.header("Retry-After")), 1)
        failed = audit_rows(self.srv, "action = 'login_failed' AND staff_name = 'fin'")
        self.assertEqual(len(failed), self.LIMIT, failed)
        self.assertIn("now locked out", failed[-1]["detail"])
        # Locked: the right password too, from anywhere.
        for h in (addr, {"X-Forwarded-For": "203.0.113.5"}):
            assert_json_error(self, login(self.srv, "fin", PASSWORDS["fin"], h),
                              429, "too_many_attempts")

    def test_concurrent_name_spraying_stops_at_the_address_limit(self):
        n, limit = 40, 4 * self.LIMIT
        addr = {"X-Forwarded-For": "192.0.2.77"}
        before = len(audit_rows(self.srv, "action = 'login_failed'"))
        rs = concurrent_logins(self.srv, [("sprayed%d" % i, "guess-%d" % i)
                                          for i in range(n)], addr)
        self.assertEqual(self.statuses(rs), [401] * limit + [429] * (n - limit))
        after = len(audit_rows(self.srv, "action = 'login_failed'"))
        self.assertEqual(after - before, limit)
        assert_json_error(self, login(self.srv, "ada", PASSWORDS["ada"], addr),
                          429, "too_many_attempts")
        # That refusal held nothing of the account: from elsewhere the
        # limit's worth of logins at once all go through.
        rs = concurrent_logins(self.srv, [("ada", PASSWORDS["ada"])] * self.LIMIT,
                               {"X-Forwarded-For": "192.0.2.78"})
        self.assertEqual(self.statuses(rs), [200] * self.LIMIT)

    def test_finished_logins_give_their_place_back(self):
        addr = {"X-Forwarded-For": "198.51.100.88"}
        # One after another, more than the limit: each success gives its
        # reservation back.
        for _ in range(self.LIMIT + 3):
            self.assertEqual(getattr(login(self.srv, "ada", PASSWORDS["ada"], addr),
                                     "name", None), "ada")
        # The limit's worth at once, twice over: nothing was left behind.
        for _ in range(2):
            rs = concurrent_logins(self.srv, [("ada", PASSWORDS["ada"])] * self.LIMIT,
                                   addr)
            self.assertEqual(self.statuses(rs), [200] * self.LIMIT)
        # Failures short of the limit, then the right password, twice: a
        # success forgets the account's failures, and failed checks were
        # counted once each, not left pending.
        for _ in range(2):
            rs = concurrent_logins(self.srv, [("ada", "not-it-%d" % i)
                                              for i in range(self.LIMIT - 1)], addr)
            self.assertEqual(self.statuses(rs), [401] * (self.LIMIT - 1))
            self.assertEqual(getattr(login(self.srv, "ada", PASSWORDS["ada"], addr),
                                     "name", None), "ada")


class SecureCookieTest(unittest.TestCase):

    def cookie(self, mode, headers):
        srv = Server(sections={"auth": {"secure_cookie": mode}})
        try:
            add_staff(srv, ["ann"])
            srv.start()
            r = srv.request("POST", "/api/login",
                            {"username": "ann", "password": PASSWORDS["ann"]},
                            dict({"Content-Type": "application/json"}, **headers))
            self.assertEqual(r.status, 200, r)
            return [a.strip() for a in r.header("Set-Cookie").split(";")]
        finally:
            srv.close()

    def test_secure_behind_tls(self):
        https = {"X-Forwarded-Proto": "https"}
        self.assertIn("Secure", self.cookie("auto", https))
        self.assertNotIn("Secure", self.cookie("auto", {}))
        self.assertIn("Secure", self.cookie("always", {}))
        self.assertNotIn("Secure", self.cookie("never", https))

    def test_untrusted_peer_cannot_claim_https(self):
        srv = Server(server={"trusted_proxies": "192.0.2.1"})
        try:
            add_staff(srv, ["ann"])
            srv.start()
            r = srv.request("POST", "/api/login",
                            {"username": "ann", "password": PASSWORDS["ann"]},
                            {"Content-Type": "application/json",
                             "X-Forwarded-Proto": "https"})
            self.assertNotIn("Secure", r.header("Set-Cookie"))
        finally:
            srv.close()


def set_cookies(r):
    """The cookies a response sets: {name: [value, attributes...]}."""
    out = {}
    for k, v in r.headers:
        if k.lower() == "set-cookie":
            attrs = [a.strip() for a in v.split(";")]
            name, value = attrs[0].split("=", 1)
            out[name] = [value] + attrs[1:]
    return out


def device_cookie(r):
    """The seula_device value a response sets, or None."""
    return set_cookies(r).get("seula_device", [None])[0]


class DeviceCookieTest(unittest.TestCase):
    """OWASP's device cookies: a browser that signed in to an account
    before is not locked out of it by others' guessing, which from any
    number of addresses and with no session locks the account for every
    other client; it is limited by its own failures instead."""

    MAX = 3

    def setUp(self):
        self.srv = Server(sections={"auth": {"login_max_failures": str(self.MAX),
                                             "login_failure_window": "10m",
                                             "login_lockout": "10m"}})
        add_staff(self.srv, ["ada", "ann"])
        self.srv.start()

    def tearDown(self):
        self.srv.close()

    def attempt(self, name, password, device=None, addr="203.0.113.7", headers=None):
        h = {"Content-Type": "application/json", "X-Forwarded-For": addr}
        if device is not None:
            h["Cookie"] = "seula_device=" + device
        h.update(headers or {})
        return self.srv.request("POST", "/api/login",
                                {"username": name, "password": password}, h)

    def sign_in(self, name, device=None, addr="203.0.113.7"):
        """A successful login; the device cookie it sets."""
        r = self.attempt(name, PASSWORDS[name], device, addr)
        self.assertEqual(r.status, 200, r)
        dev = device_cookie(r)
        self.assertIsNotNone(dev, r.headers)
        return dev

    def lock_out(self, name, password=None):
        """Others, without a cookie and each from an address of its own,
        lock the account: then the right password without a device cookie
        is refused too, as before."""
        for i in range(self.MAX):
            assert_json_error(self, self.attempt(name, "guess-guess-%d" % i,
                                                 addr="198.51.100.%d" % (i + 1)),
                              401, "invalid_credentials")
        r = self.attempt(name, password or PASSWORDS[name], addr="192.0.2.200")
        assert_json_error(self, r, 429, "too_many_attempts")
        self.assertGreaterEqual(int(r.header("Retry-After")), 60)

    def test_a_sign_in_sets_a_device_cookie_only_the_login_reads(self):
        r = self.attempt("ada", PASSWORDS["ada"])
        self.assertEqual(r.status, 200, r)
        cookies = set_cookies(r)
        # The session's cookie comes first, as it always did.
        self.assertTrue(r.header("Set-Cookie").startswith("seula_session="))
        dev = cookies["seula_device"]
        self.assertRegex(dev[0], r"^[A-Za-z0-9_-]{86}$")
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/api/login",
                     "Max-Age=31536000"):
            self.assertIn(attr, dev[1:])
        self.assertNotIn("Secure", dev[1:])
        https = self.attempt("ada", PASSWORDS["ada"],
                             headers={"X-Forwarded-Proto": "https"})
        self.assertIn("Secure", set_cookies(https)["seula_device"])
        # Made afresh at each sign-in; nothing of it is stored.
        self.assertNotEqual(device_cookie(https), dev[0])
        for blob in self.srv.db_files().values():
            self.assertNotIn(dev[0].encode(), blob)
        # A failure sets none.
        r = self.attempt("ada", "not-the-password", dev[0])
        assert_json_error(self, r, 401, "invalid_credentials")
        self.assertIsNone(r.header("Set-Cookie"))

    def test_the_admins_browser_signs_in_while_others_lock_the_account(self):
        dev = self.sign_in("ada", addr="203.0.113.7")
        self.lock_out("ada")
        # The admin's browser, from wherever, with the right password.
        r = self.attempt("ada", PASSWORDS["ada"], dev, addr="203.0.113.99")
        self.assertEqual(r.status, 200, r)
        ada = login(self.srv, "ada", PASSWORDS["ada"],
                    {"Cookie": "seula_device=" + device_cookie(r)})
        self.assertEqual(getattr(ada, "name", None), "ada", ada)
        self.assertEqual(ada.request("GET", "/api/me").status, 200)
        # Its success leaves the others' lock in place: no fresh guesses.
        assert_json_error(self, self.attempt("ada", PASSWORDS["ada"], addr="192.0.2.201"),
                          429, "too_many_attempts")
        ok = audit_rows(self.srv, "action = 'login' AND staff_name = 'ada'")
        self.assertEqual(ok[-1]["detail"], "from a known device")
        self.assertIsNone(ok[0]["detail"])

    def test_a_device_is_limited_by_its_own_failures(self):
        laptop, phone = self.sign_in("ada"), self.sign_in("ada")
        for i in range(self.MAX):
            assert_json_error(self, self.attempt("ada", "not-it-%d" % i, laptop,
                                                 addr="198.51.100.%d" % (i + 1)),
                              401, "invalid_credentials")
        # The device is locked, the right password too, from anywhere.
        r = self.attempt("ada", PASSWORDS["ada"], laptop, addr="192.0.2.50")
        assert_json_error(self, r, 429, "too_many_attempts")
        self.assertGreaterEqual(int(r.header("Retry-After")), 60)
        failed = audit_rows(self.srv, "action = 'login_failed'")
        self.assertEqual(len(failed), self.MAX)
        self.assertEqual(failed[-1]["detail"],
                         "wrong password, from a known device; the device is now locked out")
        self.assertEqual(failed[0]["detail"], "wrong password, from a known device")
        # Another device of the account is not, nor the account itself.
        self.sign_in("ada", phone)
        self.sign_in("ada")
        # Sent all at once, a device's logins get no more checks than its
        # limit either.
        tablet = self.sign_in("ada")
        rs = concurrent_logins(self.srv, [("ada", "wrong-%d" % i) for i in range(12)],
                               {"Cookie": "seula_device=" + tablet})
        self.assertEqual(sorted(getattr(r, "status", r) for r in rs),
                         [401] * self.MAX + [429] * (12 - self.MAX))

    def test_another_accounts_or_a_forged_cookie_gives_nothing(self):
        ada, ann = self.sign_in("ada"), self.sign_in("ann")
        self.lock_out("ada")
        flipped = ada[:40] + ("A" if ada[40] != "A" else "B") + ada[41:]
        for dev in (ann, flipped, ada[:-1], ada + "A", "A" * 86, "",
                    secrets.token_urlsafe(64)[:86]):
            assert_json_error(self, self.attempt("ada", PASSWORDS["ada"], dev),
                              429, "too_many_attempts")
        # The account's own still does.
        self.assertEqual(self.attempt("ada", PASSWORDS["ada"], ada).status, 200)

    def passwd(self, name, password):
        r = run_seula("user", "passwd", name, "--config", self.srv.config_path,
                      input=password + "\n", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_new_password_voids_the_accounts_device_cookies(self):
        ada_old, ann_old = self.sign_in("ada"), self.sign_in("ann")
        ada_pw, ann_pw = "brand-New-Secret-2026", "other+Fresh+Secret+77"
        self.passwd("ada", ada_pw)
        self.passwd("ann", ann_pw)
        # A cookie from before gets past no lock...
        self.lock_out("ada", ada_pw)
        assert_json_error(self, self.attempt("ada", ada_pw, ada_old), 429,
                          "too_many_attempts")
        # ...but is no obstacle either: its browser signs in as one
        # without a cookie would, and gets a new one.
        r = self.attempt("ann", ann_pw, ann_old)
        self.assertEqual(r.status, 200, r)
        ann_new = device_cookie(r)
        # Its failures are the account's, not a device's of its own.
        for i in range(self.MAX):
            assert_json_error(self, self.attempt("ann", "not-it-%d" % i, ann_old), 401)
        assert_json_error(self, self.attempt("ann", ann_pw, addr="192.0.2.201"), 429)
        failed = audit_rows(self.srv, "action = 'login_failed' AND staff_name = 'ann'")
        self.assertEqual(failed[-1]["detail"], "wrong name or password; now locked out")
        # The cookie made after the change holds.
        self.assertEqual(self.attempt("ann", ann_pw, ann_new).status, 200)

    def test_a_disabled_account_stays_shut_to_its_devices(self):
        dev = self.sign_in("ada")
        r = run_seula("user", "disable", "ada", "--config", self.srv.config_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        assert_json_error(self, self.attempt("ada", PASSWORDS["ada"], dev), 401,
                          "invalid_credentials")
        failed = audit_rows(self.srv, "action = 'login_failed'")
        self.assertEqual(failed[-1]["detail"], "the account is disabled")
        # Enabled again, its browsers are its own again.
        r = run_seula("user", "enable", "ada", "--config", self.srv.config_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.lock_out("ada")
        self.assertEqual(self.attempt("ada", PASSWORDS["ada"], dev).status, 200)

    def test_a_device_cookie_outlives_a_restart(self):
        dev = self.sign_in("ada")
        self.srv.stop()
        self.srv.start()
        self.lock_out("ada")
        self.assertEqual(self.attempt("ada", PASSWORDS["ada"], dev).status, 200)


class StaffNetworksTest(unittest.TestCase):

    def test_staff_only_from_allowed_networks(self):
        srv = Server(plugins=("anonymize", "testkit"),
                     sections={"auth": {"staff_networks": "10.0.0.0/8, 2001:db8::/32"}})
        try:
            add_staff(srv, ["ada"])
            srv.start()
            office = {"X-Forwarded-For": "10.1.2.3"}
            outside = {"X-Forwarded-For": "203.0.113.5"}
            ada = login(srv, "ada", PASSWORDS["ada"], office)
            self.assertEqual(ada.name, "ada")
            self.assertEqual(ada.request("GET", "/api/testkit/secret", headers=office).status, 200)
            # The same session from outside: refused, as is signing in.
            for r in (ada.request("GET", "/api/testkit/secret", headers=outside),
                      ada.request("GET", "/api/me", headers=outside),
                      login(srv, "ada", PASSWORDS["ada"], outside)):
                assert_json_error(self, r, 403, "network_not_allowed")
            # A session used from outside is on record, as other refusals
            # (written by the writer after the answer: waited for).
            deadline, rows = time.time() + 10, []
            while not rows and time.time() < deadline:
                rows = srv.query("SELECT * FROM audit_log WHERE outcome = 'denied' "
                                 "AND detail LIKE '%staff_networks%'")
                time.sleep(0.05)
            [denied] = rows
            self.assertEqual((denied["staff_name"], denied["route"], denied["ip_anon"]),
                             ("ada", "GET /api/testkit/secret", "203.0.113.0"))
            self.assertEqual(login(srv, "ada", PASSWORDS["ada"],
                                   {"X-Forwarded-For": "2001:db8:5::1"}).name, "ada")
            # Visitors are not staff: collecting works from anywhere.
            self.assertEqual(srv.collect([{"site": "demo", "type": "pageview",
                                           "url": "http://localhost/"}],
                                         headers=outside).status, 204)
        finally:
            srv.close()

    def test_a_long_forwarded_for_is_not_the_proxys_address(self):
        # The proxy's own address is a staff network (an operator on the
        # host itself); a visitor whose X-Forwarded-For is over 8 KiB must
        # still be where nginx saw them, not there.
        srv = Server(plugins=("anonymize", "testkit"),
                     sections={"auth": {"staff_networks": "10.0.0.0/8, 127.0.0.0/8"}})
        try:
            add_staff(srv, ["ada"])
            srv.start()
            ada = login(srv, "ada", PASSWORDS["ada"], {"X-Forwarded-For": "10.1.2.3"})
            self.assertEqual(ada.name, "ada")
            one = {"X-Forwarded-For": xff_padding() + ", 203.0.113.5"}
            cookie = ("Cookie", "seula_session=" + ada.token)
            two = [("X-Forwarded-For", xff_padding()), ("X-Forwarded-For", "203.0.113.5")]
            for r in (ada.request("GET", "/api/testkit/secret", headers=one),
                      srv.request("GET", "/api/testkit/secret", headers=[cookie] + two),
                      ada.request("GET", "/api/me", headers=one),
                      login(srv, "ada", PASSWORDS["ada"], one)):
                assert_json_error(self, r, 403, "network_not_allowed")
            # The audit log names where the request came from, not the proxy.
            deadline, rows = time.time() + 10, []
            while len(rows) < 2 and time.time() < deadline:
                rows = srv.query("SELECT ip_anon FROM audit_log WHERE outcome = 'denied' "
                                 "AND route = 'GET /api/testkit/secret'")
                time.sleep(0.05)
            self.assertEqual([r["ip_anon"] for r in rows], ["203.0.113.0"] * 2)
        finally:
            srv.close()

    def test_bad_network_is_a_config_error(self):
        srv = Server(sections={"auth": {"staff_networks": "10.0.0.0/33"}})
        try:
            self.assertNotEqual(srv.start(expect_fail=True), 0)
            self.assertIn("staff_networks", srv.stderr())
        finally:
            srv.close()


class AuditChainTest(unittest.TestCase):
    """`seula audit verify` finds every kind of tampering with the file."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=("anonymize", "testkit"))
        add_staff(cls.srv, ["ada", "ann"])
        cls.srv.start()
        ada = login(cls.srv, "ada", PASSWORDS["ada"])
        for _ in range(3):
            ada.request("GET", "/api/testkit/secret")
        login(cls.srv, "ann", "wrong-wrong-wrong")
        ada.request("POST", "/api/logout")
        cls.srv.stop()
        cls.n = cls.srv.query("SELECT count(*) AS n FROM audit_log")[0]["n"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def tampered(self, *sql):
        """A copy of the database (and its key) with `sql` run on it,
        triggers dropped as an attacker with the file would."""
        d = tempfile.mkdtemp(prefix="seula-tamper-")
        self.addCleanup(shutil.rmtree, d, True)
        db = os.path.join(d, "seula.db")
        shutil.copy(self.srv.db_path, db)
        shutil.copy(os.path.join(self.srv.dir, "seula.key"), os.path.join(d, "seula.key"))
        con = sqlite3.connect(db)
        con.execute("DROP TRIGGER audit_log_append_only_u")
        con.execute("DROP TRIGGER audit_log_append_only_d")
        for q in sql:
            con.execute(q)
        con.commit()
        con.close()
        return verify(self.srv.config_path, db)

    def test_intact_log_verifies(self):
        self.assertGreaterEqual(self.n, 8)
        r = verify(self.srv.config_path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("%d entries" % self.n, r.stdout)
        self.assertEqual(self.tampered().returncode, 0)

    def test_the_log_refuses_updates_and_deletes(self):
        con = sqlite3.connect(self.srv.db_path)
        try:
            for q in ("UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"):
                with self.assertRaisesRegex(sqlite3.DatabaseError, "append-only"):
                    con.execute(q)
        finally:
            con.close()

    def test_edit_is_found(self):
        r = self.tampered("UPDATE audit_log SET staff_name = 'ann' WHERE id = 3")
        self.assertEqual(r.returncode, 1)
        self.assertIn("BROKEN at entry 3", r.stdout)

    def test_an_edit_after_a_nul_byte_is_found(self):
        # The MAC reads a text up to a NUL, a search compares every byte:
        # "ada" made "ada\0x" would drop out of ?staff=ada unseen.
        r = self.tampered("UPDATE audit_log SET staff_name = staff_name || "
                          "char(0) || 'x' WHERE id = 3")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("BROKEN at entry 3", r.stdout)

    def test_a_wipe_with_its_head_is_found(self):
        # All rows and the head gone looks like a new log, but for the
        # staff accounts, each added with an entry.
        r = self.tampered("DELETE FROM audit_log",
                          "DELETE FROM chain_heads WHERE chain = 'audit'")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("BROKEN at entry 1", r.stdout)
        self.assertIn("yet 2 staff accounts exist", r.stdout)
        # A new database: nothing logged, no accounts, nothing wrong.
        r = self.tampered("DELETE FROM audit_log",
                          "DELETE FROM chain_heads WHERE chain = 'audit'",
                          "DELETE FROM sessions", "DELETE FROM staff")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_deletion_in_the_middle_is_found(self):
        r = self.tampered("DELETE FROM audit_log WHERE id = 4")
        self.assertEqual(r.returncode, 1)
        self.assertIn("BROKEN", r.stdout)

    def test_insertion_is_found(self):
        r = self.tampered(
            "INSERT INTO audit_log (id, ts, staff_name, action, outcome, prev_mac, mac) "
            "SELECT max(id) + 1, max(ts), 'ada', 'read', 'ok', "
            "(SELECT mac FROM audit_log ORDER BY id DESC LIMIT 1), zeroblob(32) "
            "FROM audit_log")
        self.assertEqual(r.returncode, 1)
        self.assertIn("BROKEN", r.stdout)

    def test_cut_tail_is_found(self):
        r = self.tampered("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)")
        self.assertEqual(r.returncode, 1)
        self.assertIn("BROKEN", r.stdout)
        r = self.tampered("DELETE FROM audit_log WHERE id > 2")
        self.assertEqual(r.returncode, 1)

    def test_cut_tail_with_the_head_rewound_is_found(self):
        # Rewinding the head to an earlier row needs the key, which the
        # database file does not hold.
        r = self.tampered(
            "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
            "UPDATE chain_heads SET last_id = last_id - 1, mac = "
            "(SELECT mac FROM audit_log ORDER BY id DESC LIMIT 1) WHERE chain = 'audit'")
        self.assertEqual(r.returncode, 1)
        self.assertIn("BROKEN", r.stdout)

    def test_wrong_key_is_found(self):
        d = tempfile.mkdtemp(prefix="seula-key-")
        self.addCleanup(shutil.rmtree, d, True)
        db = os.path.join(d, "seula.db")
        shutil.copy(self.srv.db_path, db)
        with open(os.path.join(d, "seula.key"), "wb") as f:
            f.write(os.urandom(32))
        os.chmod(os.path.join(d, "seula.key"), 0o600)
        r = verify(self.srv.config_path, db)
        self.assertEqual(r.returncode, 1, r.stdout)


class UserCliTest(unittest.TestCase):

    def setUp(self):
        self.srv = Server().create_db()
        self.addCleanup(self.srv.close)

    def user(self, *args, password=None):
        return run_seula("user", *args, "--config", self.srv.config_path,
                         input=(password + "\n") if password is not None else "",
                         timeout=60)

    def test_password_policy(self):
        for pw, why in (("short-1", "12 characters"),
                        ("password1234", ""),
                        ("qwertyuiopasdf", ""),
                        ("mallory-mallory", ""),
                        ("", "")):
            r = self.user("add", "mallory", "--role", "analyst", password=pw)
            self.assertEqual(r.returncode, 1, (pw, r.stdout))
            self.assertIn(why, r.stderr)
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM staff")[0]["n"], 0)

    def test_add_list_role_disable_and_no_plaintext(self):
        pw = "tangerine-Walrus-51-kite"
        r = self.user("add", "Mia.K", "--role", "finance", password=pw)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.user("add", "mia.k", "--role", "admin",
                                   password=pw).returncode, 1)
        for bad in (("add", "9lives", "--role", "admin"),
                    ("add", "bob", "--role", "root"),
                    ("add", "bob"),
                    ("role", "nobody", "admin"),
                    ("frobnicate",)):
            r = self.user(*bad, password=pw)
            self.assertNotEqual(r.returncode, 0, bad)
        r = self.user("list")
        self.assertRegex(r.stdout, r"mia\.k\s+finance\s+active")
        self.assertEqual(self.user("role", "mia.k", "customer_service").returncode, 0)
        self.assertEqual(self.user("disable", "mia.k").returncode, 0)
        self.assertRegex(self.user("list").stdout, r"mia\.k\s+customer_service\s+disabled")
        row = self.srv.query("SELECT password_hash FROM staff")[0]
        self.assertTrue(row["password_hash"].startswith("$argon2id$"), row)
        for blob in self.srv.db_files().values():
            self.assertNotIn(pw.encode(), blob)
        # The database and the key are the server user's alone.
        for path in (self.srv.db_path, os.path.join(self.srv.dir, "seula.key")):
            self.assertEqual(os.stat(path).st_mode & 0o077, 0, path)
        # Each change is audited, as done from the command line.
        rows = audit_rows(self.srv)
        self.assertEqual([r["action"] for r in rows],
                         ["user_add", "user_role", "user_disable"])
        self.assertTrue(all(r["staff_name"].startswith("cli:") for r in rows))
        self.assertEqual(verify(self.srv.config_path).returncode, 0)


if __name__ == "__main__":
    unittest.main()
