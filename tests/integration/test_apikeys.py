"""Personal API keys against the real server: made, listed and revoked
through /api/keys with a session, used as Bearer keys on the statistics
and nothing else, ended with their account, kept on disk as a hash only.
"""
import hashlib
import re
import sqlite3
import time
import unittest

from seulatest import Server, add_user, assert_json_error, login, run_seula

PASSWORDS = {
    "ada": "plum-Orbit-7-lantern",
    "ann": "copper+Fjord+42+heron",
    "cid": "velvet_Quarry_19_moss",
    "fin": "maple.Signal.88.drift",
    "bo": "harbour=Lichen=63=owl",
}
ROLES = {"ada": "admin", "ann": "analyst", "cid": "customer_service",
         "fin": "finance", "bo": "analyst"}
KEY_RE = re.compile(r"^seula_[A-Za-z0-9_-]{43}$")


def bearer(key):
    return {"Authorization": "Bearer " + key}


def rows(srv, table, where):
    return srv.query("SELECT count(*) AS n FROM %s WHERE %s" % (table, where))[0]["n"]


def wait_for(check, seconds=4):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


class ApiKeyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # session_sync 1 s: last use and expiries reach the disk soon;
        # max_sessions 2: logins push each other out, never a key.
        cls.srv = Server(plugins=("anonymize", "analytics", "customers"),
                         sections={"auth": {"session_sync": "1s",
                                            "max_sessions": "2",
                                            "login_max_failures": "1000"}})
        for name, role in ROLES.items():
            add_user(cls.srv, name, role, PASSWORDS[name])
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def signin(self, name):
        s = login(self.srv, name, PASSWORDS[name])
        self.assertEqual(s.name, name)
        return s

    def make(self, who, name="Looker Studio", **extra):
        r = who.request("POST", "/api/keys", dict(name=name, **extra))
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def stats(self, key, path="/api/stats/demo/summary"):
        return self.srv.request("GET", path, headers=bearer(key))

    def test_a_key_reads_the_statistics_and_nothing_else(self):
        ann = self.signin("ann")
        made = self.make(ann, expires_days=90)
        key = made["key"]
        self.assertRegex(key, KEY_RE)
        self.assertEqual(made["hint"], key[:10])
        self.assertEqual(made["owner"], "ann")
        self.assertRegex(made["id"], r"^[0-9a-f]{16}$")
        created = time.strptime(made["created"], "%Y-%m-%dT%H:%M:%SZ")
        expires = time.strptime(made["expires"], "%Y-%m-%dT%H:%M:%SZ")
        days = (time.mktime(expires) - time.mktime(created)) / 86400
        self.assertAlmostEqual(days, 90, delta=0.01)
        # Read with the key: what the session reads.
        r = self.stats(key)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), ann.request("GET", "/api/stats/demo/summary").json())
        self.assertEqual(self.stats(key, "/api/stats/sites").status, 200)
        self.assertEqual(self.stats(key, "/api/stats/demo/breakdown?dimension=page&format=csv")
                         .status, 200)
        # Nothing else: not the keys, not the register, not the audit log,
        # not a change.
        for method, path in (("GET", "/api/keys"), ("POST", "/api/keys"),
                             ("DELETE", "/api/keys/" + made["id"]),
                             ("GET", "/api/audit"), ("GET", "/api/consent/stats?site=demo"),
                             ("GET", "/api/customers"), ("GET", "/api/labels"),
                             ("GET", "/api/dsr/42/export"), ("GET", "/api/customers/1")):
            r = self.srv.request(method, path, headers=bearer(key))
            assert_json_error(self, r, 403, "api_key_scope")
        # Custom event properties may single a person out: not by key,
        # however the report asks for them (the session reads them).
        for query in ("breakdown?dimension=prop:plan", "breakdown?dimension=prop%3Aplan",
                      "summary?filter=prop:plan==gold",
                      "summary?filter=country==FI;prop:plan!=gold",
                      "timeseries?filter=prop:plan==gold", "goals?filter=prop:plan==gold",
                      "funnel?steps=page:/a%3Epage:/b&filter=prop:plan==gold"):
            path = "/api/stats/demo/" + query
            assert_json_error(self, self.stats(key, path), 403, "api_key_scope")
            self.assertEqual(ann.request("GET", path).status, 200, path)
        for query in ("summary?filter=%20prop:plan==gold", "summary?filter=PROP:plan==gold",
                      "breakdown?dimension=%20prop:plan", "breakdown?dimension=Prop:plan"):
            # Not a property to the reports either: no reading by the back door.
            assert_json_error(self, self.stats(key, "/api/stats/demo/" + query), 400,
                              "bad_request")
        # /api/me is a session's: a key is none.
        assert_json_error(self, self.srv.request("GET", "/api/me", headers=bearer(key)), 401)
        # Only the hash is on disk.
        token = key[len("seula_"):]
        rows = self.srv.query("SELECT token_hash, kind, label, hint, csrf FROM sessions "
                              "WHERE kind = 'api'")
        mine = [x for x in rows if x["token_hash"] ==
                hashlib.blake2b(token.encode(), digest_size=32).digest()]
        self.assertEqual(len(mine), 1)
        self.assertEqual((mine[0]["label"], mine[0]["hint"], mine[0]["csrf"]),
                         ("Looker Studio", key[:10], ""))
        con = sqlite3.connect(self.srv.db_path)
        try:
            dump = "\n".join(con.iterdump())
        finally:
            con.close()
        self.assertNotIn(token, dump)
        # Each request is audited as the owner's, with the key's id; the
        # refusal too.
        time.sleep(0.3)
        reads = self.srv.query("SELECT staff_name, detail, outcome FROM audit_log "
                               "WHERE route = 'GET /api/stats/{site}/summary' "
                               "AND detail LIKE ?", ("api_key=%s%%" % made["id"],))
        self.assertTrue(reads)
        self.assertEqual((reads[0]["staff_name"], reads[0]["outcome"]), ("ann", "ok"))
        denied = self.srv.query("SELECT staff_name, detail FROM audit_log WHERE "
                                "route = 'GET /api/audit' AND outcome = 'denied' "
                                "AND detail = ?", ("api_key=%s: a key reads the statistics "
                                                   "only" % made["id"],))
        self.assertEqual([d["staff_name"] for d in denied], ["ann"])
        made_rows = self.srv.query("SELECT detail FROM audit_log WHERE route = "
                                   "'POST /api/keys' AND outcome = 'ok'")
        self.assertIn("api_key=%s made, expires in 90 days" % made["id"],
                      [x["detail"] for x in made_rows])

    def test_what_is_no_key_opens_nothing(self):
        ann = self.signin("ann")
        key = self.make(ann, name="probe")["key"]
        other = "seula_" + "A" * 43
        for header in ("Bearer " + other, "Bearer seula_", "BEARER " + key[:-1],
                       "Bearer " + key + "A", "Bearer " + key + " junk",
                       # The session's own token is not a key.
                       "Bearer seula_" + ann.token):
            r = self.srv.request("GET", "/api/stats/demo/summary",
                                 headers={"Authorization": header})
            assert_json_error(self, r, 401, "invalid_api_key")
            self.assertIn("Bearer", r.header("WWW-Authenticate") or "", header)
        # An Authorization that offers no key of ours (a proxy's Basic) is
        # not ours to judge: the cookie decides.
        for header in ("Basic YW5uOng=", "Bearer x", "Bearer", "Bearer " + key[len("seula_"):]):
            r = self.srv.request("GET", "/api/stats/demo/summary",
                                 headers={"Authorization": header})
            assert_json_error(self, r, 401, "login_required")
            r = ann.request("GET", "/api/stats/demo/summary",
                            headers={"Authorization": header})
            self.assertEqual(r.status, 200, (header, r.body))
        # The scheme is case-blind, extra spaces are fine.
        r = self.srv.request("GET", "/api/stats/demo/summary",
                             headers={"Authorization": "bearer   " + key + "  "})
        self.assertEqual(r.status, 200, r.body)
        # A key decides alone: a good cookie beside a bad key is no way in.
        r = self.srv.request("GET", "/api/stats/demo/summary",
                             headers={"Authorization": "Bearer " + other,
                                      "Cookie": "seula_session=" + ann.token})
        assert_json_error(self, r, 401, "invalid_api_key")
        # A key in the cookie is no session.
        r = self.srv.request("GET", "/api/stats/demo/summary",
                             headers={"Cookie": "seula_session=" + key[len("seula_"):]})
        assert_json_error(self, r, 401, "login_required")

    def test_listed_without_the_key_and_revoked_at_once(self):
        bo = self.signin("bo")
        first = self.make(bo, name="first")
        second = self.make(bo, name="second", expires_days=None)
        self.assertIsNone(second["expires"])
        ada = self.signin("ada")
        admins = self.make(ada, name="admin's")
        listed = bo.request("GET", "/api/keys").json()
        self.assertEqual(listed["max_per_account"], 10)
        ids = [k["id"] for k in listed["keys"]]
        self.assertLess(ids.index(second["id"]), ids.index(first["id"]))  # newest first
        self.assertNotIn(admins["id"], ids)
        self.assertTrue(all(k["owner"] == "bo" for k in listed["keys"]))
        for k in listed["keys"]:
            self.assertNotIn("key", k)
            self.assertEqual(set(k), {"id", "name", "hint", "owner", "created",
                                      "last_used", "expires", "expired"})
        row = [k for k in listed["keys"] if k["id"] == first["id"]][0]
        self.assertIsNone(row["last_used"])
        self.assertFalse(row["expired"])
        # A use shows in the list after the next sync.
        self.assertEqual(self.stats(first["key"]).status, 200)
        self.assertTrue(wait_for(lambda: [k for k in bo.request("GET", "/api/keys")
                                          .json()["keys"] if k["id"] == first["id"]]
                                 [0]["last_used"] is not None))
        # The admin sees everyone's, with whose.
        everyone = {k["id"]: k["owner"] for k in ada.request("GET", "/api/keys").json()["keys"]}
        self.assertEqual((everyone[first["id"]], everyone[admins["id"]]), ("bo", "ada"))
        # Another's key is unknown to an analyst; the admin may revoke it.
        assert_json_error(self, bo.request("DELETE", "/api/keys/" + admins["id"]), 404,
                          "not_found")
        self.assertEqual(self.stats(admins["key"]).status, 200)
        self.assertEqual(ada.request("DELETE", "/api/keys/" + first["id"]).status, 204)
        assert_json_error(self, self.stats(first["key"]), 401, "invalid_api_key")
        self.assertEqual(bo.request("DELETE", "/api/keys/" + second["id"]).status, 204)
        assert_json_error(self, self.stats(second["key"]), 401, "invalid_api_key")
        assert_json_error(self, bo.request("DELETE", "/api/keys/" + second["id"]), 404)
        for bad in ("42", "ZZZZZZZZZZZZZZZZ", second["id"].upper(), second["id"] + "0",
                    "%2e%2e"):
            assert_json_error(self, ada.request("DELETE", "/api/keys/" + bad), 404)
        # Revoked, the rows are gone; the revocation is on record.
        self.assertEqual(rows(self.srv, "sessions", "kind = 'api' AND label IN "
                                             "('first', 'second')"), 0)
        revoked = self.srv.query("SELECT staff_name, detail FROM audit_log WHERE "
                                 "route = 'DELETE /api/keys/{id}' AND outcome = 'ok'")
        self.assertIn({"staff_name": "ada", "detail": "api_key=%s revoked" % first["id"]},
                      revoked)
        self.assertEqual(ada.request("DELETE", "/api/keys/" + admins["id"]).status, 204)
        # The logins above (max_sessions 2) pushed sessions out, no key.
        live = self.make(bo, name="stays")
        for _ in range(3):
            self.signin("ann")
        self.assertEqual(self.stats(live["key"]).status, 200)
        self.assertEqual(self.signin("bo").request("DELETE", "/api/keys/" + live["id"]).status,
                         204)

    def test_the_command_line_lists_and_revokes(self):
        ann = self.signin("ann")
        made = self.make(ann, name="cli listed", expires_days=30)
        self.assertEqual(self.stats(made["key"]).status, 200)
        ada = self.signin("ada")
        admins = self.make(ada, name="admin's too")
        cli = lambda *a: run_seula("user", *a, "--config", self.srv.config_path)

        r = cli("keys", "ann")
        self.assertEqual(r.returncode, 0, r.stderr)
        head, *rows_ = r.stdout.splitlines()
        self.assertEqual(head.split()[:3], ["ID", "OWNER", "CREATED"])
        [row] = [l for l in rows_ if l.startswith(made["id"] + " ")]
        self.assertEqual(row.split()[1], "ann")
        self.assertTrue(row.endswith(" cli listed"), row)
        # NAME's only; never the key, nor its secret part.
        self.assertNotIn(admins["id"], r.stdout)
        self.assertNotIn(made["key"][len("seula_"):], r.stdout)
        # Everyone's, newest first.
        everyone = cli("keys").stdout
        self.assertLess(everyone.index(admins["id"]), everyone.index(made["id"]))
        self.assertEqual(cli("keys", "nosuch").returncode, 1)

        for bad in ("42", "ZZZZZZZZZZZZZZZZ", made["id"].upper(), made["id"] + "0"):
            r = cli("revoke-key", bad)
            self.assertEqual(r.returncode, 2, (bad, r.stderr))
            self.assertIn("no key id", r.stderr)
        r = cli("revoke-key", "0" * 16)
        self.assertEqual((r.returncode, "no API key" in r.stderr), (1, True), r.stderr)
        self.assertEqual(self.stats(made["key"]).status, 200, "a refused id revokes nothing")

        r = cli("revoke-key", made["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("revoked", r.stdout)
        # The running server lets go of it at its next session_sync.
        self.assertTrue(wait_for(lambda: self.stats(made["key"]).status == 401))
        assert_json_error(self, self.stats(made["key"]), 401, "invalid_api_key")
        self.assertEqual(self.stats(admins["key"]).status, 200, "the others stay")
        self.assertNotIn(made["id"], cli("keys").stdout)
        audit = self.srv.query("SELECT staff_name, route, subject, detail FROM audit_log "
                               "WHERE detail = ?", ("api_key=%s revoked" % made["id"],))
        self.assertEqual(len(audit), 1, audit)
        self.assertTrue(audit[0]["staff_name"].startswith("cli:"), audit)
        self.assertEqual((audit[0]["route"], audit[0]["subject"]), ("command line", "ann"))
        self.assertEqual(cli("revoke-key", made["id"]).returncode, 1, "gone already")
        self.assertEqual(cli("revoke-key", admins["id"]).returncode, 0)
        self.assertTrue(wait_for(lambda: self.stats(admins["key"]).status == 401))

    def test_what_may_be_asked(self):
        # Roles: only those that read the statistics have keys.
        for name in ("cid", "fin"):
            who = self.signin(name)
            assert_json_error(self, who.request("GET", "/api/keys"), 403, "forbidden")
            assert_json_error(self, who.request("POST", "/api/keys", {"name": "x"}), 403,
                              "forbidden")
        ann = self.signin("ann")
        assert_json_error(self, ann.request("POST", "/api/keys", {"name": "x"}, csrf=False),
                          403, "csrf_failed")
        cases = [
            ("{", "application/json", "invalid_json", 400),
            ("[]", "application/json", "invalid_json", 400),
            ('{"name": "a", "name": "b"}', "application/json", "invalid_json", 400),
            ('{"name": "x"}', "text/plain", "unsupported_media_type", 415),
            ("{}", "application/json", "invalid_name", 400),
            ('{"name": ""}', "application/json", "invalid_name", 400),
            ('{"name": "   "}', "application/json", "invalid_name", 400),
            ('{"name": 7}', "application/json", "invalid_name", 400),
            ('{"name": "%s"}' % ("n" * 65), "application/json", "invalid_name", 400),
            ('{"name": "a\\u0007b"}', "application/json", "invalid_name", 400),
            ('{"name": "a\\tb"}', "application/json", "invalid_name", 400),
            ('{"name": "a\\u0085b"}', "application/json", "invalid_name", 400),
            ('{"name": "a\\u2028b"}', "application/json", "invalid_name", 400),
            ('{"name": "\\u00a0\\u3000"}', "application/json", "invalid_name", 400),
            ('{"name": "x", "expires_days": 0}', "application/json", "invalid_expires", 400),
            ('{"name": "x", "expires_days": 3651}', "application/json", "invalid_expires", 400),
            ('{"name": "x", "expires_days": "30"}', "application/json", "invalid_expires", 400),
            ('{"name": "x", "expires_days": 1.5}', "application/json", "invalid_expires", 400),
            ('{"name": "x", "expires_days": true}', "application/json", "invalid_expires", 400),
            ('{"name": "x", "scope": "all"}', "application/json", "unknown_field", 400),
            ('{"name": "x", "pad": "%s"}' % ("p" * 5000), "application/json",
             "body_too_large", 413),
        ]
        before = rows(self.srv, "sessions", "kind = 'api'")
        for body, ctype, code, status in cases:
            r = ann.request("POST", "/api/keys", body, headers={"Content-Type": ctype})
            assert_json_error(self, r, status, code)
        self.assertEqual(rows(self.srv, "sessions", "kind = 'api'"), before)
        # 64 characters of any script is a name; so is 3650 days.
        ok = self.make(ann, name="ä" * 63 + "€", expires_days=3650)
        self.assertEqual(ok["name"], "ä" * 63 + "€")
        # At most ten an account.
        made = []
        have = len(ann.request("GET", "/api/keys").json()["keys"])
        for i in range(10 - have):
            made.append(self.make(ann, name="k%d" % i))
        assert_json_error(self, ann.request("POST", "/api/keys", {"name": "eleventh"}),
                          409, "too_many_keys")
        for k in made + [ok]:
            self.assertEqual(ann.request("DELETE", "/api/keys/" + k["id"]).status, 204)

    def test_an_expired_key_says_so_then_goes(self):
        ann = self.signin("ann")
        made = self.make(ann, name="short", expires_days=1)
        self.assertEqual(self.stats(made["key"]).status, 200)
        now = int(time.time() * 1000)
        con = sqlite3.connect(self.srv.db_path, timeout=10)
        try:
            with con:
                con.execute("UPDATE sessions SET expires_at = ? WHERE label = 'short'",
                            (now - 1000,))
            self.assertTrue(wait_for(lambda: self.stats(made["key"]).status == 401))
            assert_json_error(self, self.stats(made["key"]), 401, "api_key_expired")
            # A use of it is on record: a leaked old key being tried.
            self.assertTrue(wait_for(lambda: self.srv.query(
                "SELECT count(*) AS n FROM audit_log WHERE outcome = 'denied' AND "
                "detail = ?", ("api_key=%s: the key has expired" % made["id"],))[0]["n"] >= 2))
            row = [k for k in ann.request("GET", "/api/keys").json()["keys"]
                   if k["id"] == made["id"]][0]
            self.assertTrue(row["expired"])
            # 30 days after its expiry the row goes, and with it the key.
            with con:
                con.execute("UPDATE sessions SET expires_at = ? WHERE label = 'short'",
                            (now - 31 * 86400 * 1000,))
        finally:
            con.close()
        self.assertTrue(wait_for(lambda: rows(self.srv, 
            "sessions", "label = 'short'") == 0))
        assert_json_error(self, self.stats(made["key"]), 401, "invalid_api_key")


class ApiKeyAccountTest(unittest.TestCase):
    """A key acts with its account as it is now, and survives restarts."""

    def test_keys_follow_their_account(self):
        srv = Server(plugins=("anonymize", "analytics"))
        try:
            for name in ("ann", "bo", "fin"):
                add_user(srv, name, "analyst", PASSWORDS[name])
            srv.start()
            keys = {}
            for name in ("ann", "bo", "fin"):
                s = login(srv, name, PASSWORDS[name])
                r = s.request("POST", "/api/keys", {"name": name + "'s"})
                self.assertEqual(r.status, 201, r.body)
                keys[name] = r.json()["key"]

            def status(name):
                return srv.request("GET", "/api/stats/demo/summary",
                                   headers=bearer(keys[name])).status
            # kill -9 right after the 201: the key was committed before it.
            srv.kill9()
            srv.start()
            self.assertEqual([status(n) for n in keys], [200, 200, 200])
            cfg = ["--config", srv.config_path]
            self.assertEqual(run_seula("user", "role", "ann", "customer_service", *cfg)
                             .returncode, 0)
            self.assertEqual(run_seula("user", "disable", "bo", *cfg).returncode, 0)
            self.assertEqual(run_seula("user", "passwd", "fin", *cfg,
                                       input="brand-New-Secret-2026\n",
                                       timeout=60).returncode, 0)
            self.assertTrue(wait_for(lambda: [status(n) for n in keys] == [403, 401, 401]))
            r = srv.request("GET", "/api/stats/demo/summary", headers=bearer(keys["ann"]))
            assert_json_error(self, r, 403, "forbidden")
            # Back to analyst, the key reads again; the disabled account's
            # and the new password's keys are gone for good.
            self.assertEqual(run_seula("user", "role", "ann", "analyst", *cfg).returncode, 0)
            self.assertEqual(run_seula("user", "enable", "bo", *cfg).returncode, 0)
            self.assertTrue(wait_for(lambda: status("ann") == 200))
            srv.stop()
            srv.start()
            self.assertEqual([status(n) for n in keys], [200, 401, 401])
        finally:
            srv.close()

    def test_making_a_key_asks_for_a_recent_sign_in(self):
        # A session signed in 16 minutes ago (its row aged while the
        # server was stopped) reads and revokes as before, but makes no
        # key until its owner signs in again.
        srv = Server(plugins=("anonymize", "analytics"))
        self.addCleanup(srv.close)
        add_user(srv, "ann", "analyst", PASSWORDS["ann"])
        srv.start()
        ann = login(srv, "ann", PASSWORDS["ann"])
        r = ann.request("POST", "/api/keys", {"name": "fresh"})
        self.assertEqual(r.status, 201, r.body)
        made = r.json()
        srv.stop()
        con = sqlite3.connect(srv.db_path)
        with con:
            con.execute("UPDATE sessions SET created_at = created_at - ? WHERE "
                        "kind = 'browser'", (16 * 60 * 1000,))
        con.close()
        srv.start()
        self.assertEqual(ann.request("GET", "/api/keys").status, 200)
        assert_json_error(self, ann.request("POST", "/api/keys", {"name": "stale"}),
                          403, "sign_in_again")
        self.assertEqual(ann.request("DELETE", "/api/keys/" + made["id"]).status, 204)
        again = login(srv, "ann", PASSWORDS["ann"])
        r = again.request("POST", "/api/keys", {"name": "stale"})
        self.assertEqual(r.status, 201, r.body)

    def test_keys_past_what_memory_holds_stay_on_disk(self):
        # More key rows than the server holds (2000): the ones left out
        # are not taken for ended and deleted, as an evicted browser
        # session's row is (nothing revokes a key but its owner, an admin,
        # or the account's end).
        srv = Server(plugins=("anonymize", "analytics"),
                     sections={"auth": {"session_sync": "1s"}})
        try:
            add_user(srv, "ann", "analyst", PASSWORDS["ann"])
            srv.create_db()
            con = sqlite3.connect(srv.db_path)
            with con:
                staff = con.execute("SELECT id FROM staff WHERE name = 'ann'").fetchone()[0]
                old = int(time.time() * 1000) - 86400 * 1000
                con.executemany(
                    "INSERT INTO sessions (token_hash, staff_id, csrf, created_at, "
                    "last_seen, kind, label, hint) VALUES (?, ?, '', ?, ?, 'api', ?, '')",
                    [(hashlib.blake2b(b"k%d" % i, digest_size=32).digest(), staff, old,
                      old, "k%d" % i) for i in range(2001)])
            con.close()
            srv.start()
            time.sleep(3)  # the staff watch and two syncs
            self.assertEqual(rows(srv, "sessions", "kind = 'api'"), 2001)
        finally:
            srv.close()

    def test_a_key_works_only_from_staff_networks(self):
        srv = Server(plugins=("anonymize", "analytics"),
                     sections={"auth": {"staff_networks": "10.0.0.0/8"}})
        try:
            add_user(srv, "ann", "analyst", PASSWORDS["ann"])
            srv.start()
            office = {"X-Forwarded-For": "10.1.2.3"}
            ann = login(srv, "ann", PASSWORDS["ann"], office)
            r = ann.request("POST", "/api/keys", {"name": "office"}, headers=office)
            self.assertEqual(r.status, 201, r.body)
            made = r.json()
            path = "/api/stats/demo/summary"
            self.assertEqual(srv.request("GET", path, headers=dict(
                bearer(made["key"]), **office)).status, 200)
            outside = dict(bearer(made["key"]), **{"X-Forwarded-For": "203.0.113.5"})
            assert_json_error(self, srv.request("GET", path, headers=outside), 403,
                              "network_not_allowed")
            # A live key from outside is on record; a made-up one is not.
            assert_json_error(self, srv.request("GET", path, headers={
                "Authorization": "Bearer seula_" + "B" * 43,
                "X-Forwarded-For": "203.0.113.5"}), 403, "network_not_allowed")
            self.assertTrue(wait_for(lambda: srv.query(
                "SELECT count(*) AS n FROM audit_log WHERE outcome = 'denied'")[0]["n"] > 0))
            time.sleep(0.3)
            denied = srv.query("SELECT staff_name, route, ip_anon, detail FROM audit_log "
                               "WHERE outcome = 'denied'")
            self.assertEqual(denied, [{
                "staff_name": "ann", "route": "GET /api/stats/{site}/summary",
                "ip_anon": "203.0.113.0",
                "detail": "api_key=%s: from outside [auth] staff_networks" % made["id"]}])
        finally:
            srv.close()


if __name__ == "__main__":
    unittest.main()
