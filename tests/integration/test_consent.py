"""Consent against the real server: the banner's config and its texts hash,
records and their receipts, refusals that store nothing, the keyed chain
and `seula consent verify` against edits, deletions and insertions in the
database file, the visitor-id gate, GPC, exempt mode, statistics, staff
access, and the generated privacy statement.
"""
import datetime
import hashlib
import html
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest
import uuid
import zoneinfo

from seulatest import (Server, add_user, assert_json_error, choice,
                       consent_config, drop_api_key_columns, login, pageview,
                       record_consent, run_seula)

TEXT = {"Content-Type": "text/plain"}
DROPPED = "(not stored)"
CONTROLLER = {"name": "Esimerkki Oy", "business_id": "1234567-8",
              "address": "Esimerkkikatu 1, 00100 Helsinki",
              "email": "info@example.fi", "contact_name": "Maija Meikäläinen",
              "contact_email": "tietosuoja@example.fi"}


def consent_rows(srv, where="1", args=()):
    return srv.query("SELECT * FROM consent_records WHERE %s ORDER BY id" % where, args)


class ConsentTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(sections={
            "controller": CONTROLLER,
            "site.demo": {"policy_version": "2026-11-01",
                          "cookies": "marketing _fbp 90d Meta Platforms Ireland"},
        })
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def post(self, body, headers=None):
        h = dict(TEXT)
        h.update(headers or {})
        return self.srv.request("POST", "/api/consent", body, h)

    # -- the banner's config -------------------------------------------------
    def test_config_texts_hash_is_of_the_exact_texts_served(self):
        for lang in ("fi", "sv", "en"):
            r = self.srv.request("GET", "/api/consent/config?site=demo&lang=" + lang)
            self.assertEqual(r.status, 200, r)
            doc = r.json()
            self.assertEqual(doc["language"], lang)
            self.assertEqual(doc["categories"],
                             ["necessary", "analytics", "marketing", "personalization"])
            # The texts object, byte for byte as sent, hashes to texts_hash.
            raw = r.body.decode()
            texts = raw[raw.index('"texts":') + len('"texts":'):-1]
            self.assertEqual(hashlib.blake2b(texts.encode(), digest_size=32).hexdigest(),
                             doc["texts_hash"])
            self.assertEqual(json.loads(texts), doc["texts"])
            names = {c["name"] for cat in doc["texts"]["categories"] for c in cat["cookies"]}
            self.assertEqual(names, {"seula_consent", "seula_vid", "_fbp"})
            self.assertEqual(len(doc["google_consent_mode"]), 7)
            # The banner's words for a failed save and for closing it.
            self.assertTrue(doc["texts"]["save_failed"] and doc["texts"]["close"])
        fi = consent_config(self.srv, lang="fi")
        self.assertEqual(consent_config(self.srv, lang="fi-FI")["texts_hash"], fi["texts_hash"])
        # A language the site does not offer gets English (it offers it);
        # no language asked, the site's first.
        self.assertEqual(consent_config(self.srv, lang="de")["language"], "en")
        self.assertEqual(consent_config(self.srv, lang="de-DE")["language"], "en")
        r = self.srv.request("GET", "/api/consent/config?site=demo")
        self.assertEqual(r.json()["language"], "fi")
        self.assertNotEqual(consent_config(self.srv, lang="en")["texts_hash"], fi["texts_hash"])
        assert_json_error(self, self.srv.request("GET", "/api/consent/config?site=nope"),
                          404, "unknown_site")
        self.assertTrue(consent_config(self.srv, headers={"Sec-GPC": "1"})["gpc"])
        self.assertFalse(consent_config(self.srv)["gpc"])

    # -- records -------------------------------------------------------------
    def test_a_choice_is_recorded_with_everything_it_proves(self):
        cfg = consent_config(self.srv, lang="sv")
        vid = str(uuid.uuid4())
        body = choice(cfg, "custom", vid,
                      decisions={"analytics": True, "marketing": False,
                                 "personalization": False},
                      page="http://localhost/pricing?email=a@b.fi#x",
                      gcm={"analytics_storage": "granted", "ad_storage": "denied"})
        # Whole ms, as the server keeps them: within the same ms the
        # record would otherwise look earlier than the request.
        before = int(time.time() * 1000)
        r = self.post(body, {"X-Forwarded-For": "203.0.113.77", "DNT": "1"})
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        self.assertEqual(doc["decisions"], {"necessary": "granted", "analytics": "granted",
                                            "marketing": "denied",
                                            "personalization": "denied"})
        self.assertEqual(doc["gcm"]["analytics_storage"], "granted")
        self.assertEqual(doc["gcm"]["ad_user_data"], "denied")
        self.assertEqual(doc["gcm"]["security_storage"], "granted")
        [row] = consent_rows(self.srv, "receipt = ?", (doc["receipt"],))
        self.assertEqual(str(uuid.UUID(row["receipt"])), row["receipt"])
        self.assertEqual(row["language"], "sv")
        self.assertEqual(row["policy_version"], "2026-11-01")
        self.assertEqual(row["texts_hash"], cfg["texts_hash"])
        self.assertEqual(row["method"], "custom")
        self.assertEqual(row["source"], "banner")
        self.assertEqual(json.loads(row["preselected"]),
                         {"analytics": False, "marketing": False, "personalization": False})
        self.assertEqual(json.loads(row["signals"]), {"gpc": False, "dnt": True})
        self.assertEqual(row["visitor_id"], vid)
        self.assertEqual(row["ip_anon"], "203.0.0.0", "masked to /16")
        self.assertEqual(row["page"], "http://localhost/pricing", "no query, no fragment")
        self.assertEqual(row["given_at"], body["given_at"])
        self.assertGreaterEqual(row["received_at"], before)
        self.assertAlmostEqual(row["valid_until"] - row["received_at"], 365 * 86400000)
        # The texts shown are kept once, by their hash.
        [texts] = self.srv.query("SELECT * FROM consent_texts WHERE hash = ?",
                                 (cfg["texts_hash"],))
        self.assertEqual(json.loads(texts["body"]), cfg["texts"])
        # The receipt: the record and the texts shown.
        rec = self.srv.request("GET", "/api/consent/" + doc["receipt"]).json()
        self.assertEqual(rec["receipt"], doc["receipt"])
        self.assertEqual(rec["texts_shown"], cfg["texts"])
        # Read off a printed receipt in capitals, it is the same id.
        r = self.srv.request("GET", "/api/consent/" + doc["receipt"].upper())
        self.assertEqual((r.status, r.json()), (200, rec))
        self.assertEqual(rec["decisions"]["personalization"], "denied")
        for bad in (str(uuid.uuid4()), "not-a-receipt"):
            assert_json_error(self, self.srv.request("GET", "/api/consent/" + bad),
                              404, "not_found")

    def test_an_address_in_the_page_is_not_recorded(self):
        cfg = consent_config(self.srv)
        for page, kept in (
                ("http://localhost/demo/reset;jsessionid=SEC/ann@example.com?token=t",
                 "http://localhost/demo/reset/(email)"),
                ("http://localhost/unsubscribe/bob%40example.fi/now#x",
                 "http://localhost/unsubscribe/(email)/now"),
                ("http://localhost/u/john.doe%40example%2Ecom/x",
                 "http://localhost/u/(email)/x"),
                ("http://localhost/u/john.doe%40ex%C3%A4mple%2ede/x?a=1",
                 "http://localhost/u/(email)/x"),
                ("http://localhost/u/john@ex\u00e4mple.de/x#y",
                 "http://localhost/u/(email)/x")):
            r = self.post(choice(cfg, "reject_all", page=page))
            self.assertEqual(r.status, 201, r)
            [row] = consent_rows(self.srv, "receipt = ?", (r.json()["receipt"],))
            self.assertEqual(row["page"], kept)
            rec = self.srv.request("GET", "/api/consent/" + r.json()["receipt"]).json()
            self.assertEqual(rec["page"], kept, "the receipt shows no address either")
        self.assertEqual(consent_rows(self.srv, "page LIKE '%john%'"), [])

    def test_path_parameters_are_not_recorded(self):
        # They carry session tokens, as a page view's URL does: cut alike.
        cfg = consent_config(self.srv)
        for page, kept in (
                ("http://localhost/demo/;jsessionid=ABCDEF123",
                 "http://localhost/demo/"),
                ("http://localhost/account;jsessionid=F00D;x=1/a;b/c?q=1",
                 "http://localhost/account/a/c"),
                ("http://localhost/;jsessionid=F00D", "http://localhost/"),
                ("http://localhost", "http://localhost")):
            r = self.post(choice(cfg, "accept_all", page=page))
            self.assertEqual(r.status, 201, r)
            [row] = consent_rows(self.srv, "receipt = ?", (r.json()["receipt"],))
            self.assertEqual(row["page"], kept)
            rec = self.srv.request("GET", "/api/consent/" + r.json()["receipt"]).json()
            self.assertEqual(rec["page"], kept)
        self.assertEqual(consent_rows(self.srv, "page LIKE '%;%'"), [])

    def test_gpc_objects_to_marketing_whatever_was_clicked(self):
        doc = record_consent(self.srv, "accept_all", headers={"Sec-GPC": "1"})
        self.assertEqual(doc["decisions"]["marketing"], "denied")
        self.assertEqual(doc["decisions"]["analytics"], "granted")
        self.assertEqual(doc["gcm"]["ad_storage"], "denied")
        [row] = consent_rows(self.srv, "receipt = ?", (doc["receipt"],))
        self.assertTrue(json.loads(row["signals"])["gpc"])
        # What a banner that shows marketing off under GPC sends.
        body = choice(consent_config(self.srv), "accept_all",
                      decisions={"analytics": True, "marketing": False,
                                 "personalization": True},
                      gcm={"ad_storage": "denied", "analytics_storage": "granted"})
        r = self.post(body, {"Sec-GPC": "1"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["decisions"]["marketing"], "denied")
        # Without the signal that is no "accept all".
        assert_json_error(self, self.post(body), 400, "inconsistent_method")
        # A GPC record grants nothing.
        r = self.post(choice(consent_config(self.srv), "gpc"), {"Sec-GPC": "1"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(set(r.json()["decisions"].values()) - {"granted"}, {"denied"})
        self.assertEqual([k for k, v in r.json()["decisions"].items() if v == "granted"],
                         ["necessary"])

    def test_given_at_is_the_browsers_clock_within_bounds(self):
        cfg = consent_config(self.srv)
        now, hour, day = int(time.time() * 1000), 3600000, 86400000
        before = consent_rows(self.srv)
        # 1970, year 9999, a clock over a day ahead, older than a choice
        # lasts (365 days) and the day's skew.
        for given in (0, 253402300799999, now + 25 * hour, now - 367 * day):
            with self.subTest(given_at=given):
                assert_json_error(self, self.post(choice(cfg, "reject_all", given_at=given)),
                                  400, "bad_given_at")
        self.assertEqual(consent_rows(self.srv), before, "nothing stored")
        # A clock hours off, and a denial sent again long after it was
        # given (it stays owed while the banner's choice lasts).
        for given in (now + 20 * hour, now - 20 * hour, now - 364 * day):
            with self.subTest(given_at=given):
                r = self.post(choice(cfg, "reject_all", given_at=given))
                self.assertEqual(r.status, 201, r)
                [row] = consent_rows(self.srv, "receipt = ?", (r.json()["receipt"],))
                self.assertEqual(row["given_at"], given)
                self.assertLess(abs(row["received_at"] - now), 60000)

    def test_bad_input_is_refused_and_nothing_is_stored(self):
        cfg = consent_config(self.srv)
        ok = choice(cfg, "reject_all")
        n = len(consent_rows(self.srv))

        def with_(**kw):
            b = json.loads(json.dumps(ok))
            b.update(kw)
            return b
        cases = [
            (with_(decisions={"analytics": False, "marketing": False,
                              "personalization": False, "tracking": True}),
             400, "unknown_category"),
            (with_(decisions={"analytics": False, "marketing": False}), 400,
             "missing_decision"),
            (with_(decisions={"analytics": "no", "marketing": False,
                              "personalization": False}), 400, "bad_decision"),
            (with_(method="accept_all"), 400, "inconsistent_method"),
            (with_(method="maybe"), 400, "bad_method"),
            (with_(preselected={"analytics": True}), 400, "preselected"),
            (with_(visitor_id="1234"), 400, "bad_visitor_id"),
            (with_(page="http://evil.example/"), 400, "page_not_allowed"),
            (with_(page="javascript:alert(1)"), 400, "bad_page"),
            # A port is 1 to 65535, and nothing else follows the host.
            (with_(page="http://localhost:99999999/"), 400, "bad_page"),
            (with_(page="http://localhost:0/"), 400, "bad_page"),
            (with_(page="http://localhost:80x/"), 400, "bad_page"),
            (with_(page="http://localhost:/"), 400, "bad_page"),
            (with_(source="cookie_wall"), 400, "bad_source"),
            (with_(extra=1), 400, "unknown_field"),
            # Its message quotes the name cut at 64 bytes, inside a
            # character: still this 400, not a 500.
            (with_(**{"a" + "\u00e9" * 100: 1}), 400, "unknown_field"),
            (with_(gcm={"ad_storage": "granted"}), 400, "gcm_mismatch"),
            (with_(gcm={"ads": "denied"}), 400, "bad_gcm"),
            (with_(given_at="yesterday"), 400, "bad_given_at"),
            (with_(language="de"), 400, "unknown_language"),
            (with_(site="nope"), 400, "unknown_site"),
            (with_(tc_string="<script>"), 400, "bad_tc_string"),
            (with_(policy_version="2020-01-01"), 409, "stale_policy"),
            (with_(texts_hash="0" * 64), 409, "stale_policy"),
            ("{not json", 400, "invalid_json"),
            ("[]", 400, "invalid_json"),
            ("", 400, "invalid_json"),
            ('{"site": "demo", "site": "demo"}', 400, "invalid_json"),
            (b'{"site": "\xff"}', 400, "invalid_json"),
            ("x" * 20000, 413, "body_too_large"),
        ]
        for body, status, code in cases:
            with self.subTest(code=code, body=str(body)[:80]):
                r = self.post(body)
                doc = assert_json_error(self, r, status, code)
                if code == "stale_policy":
                    self.assertEqual(doc["policy_version"], "2026-11-01")
        r = self.srv.request("POST", "/api/consent", ok,
                             {"Content-Type": "application/x-www-form-urlencoded"})
        assert_json_error(self, r, 415)
        # The type is checked as /api/collect checks it: given, exact, UTF-8.
        for ct in (None, "application/jsonp", "text/plainx",
                   "application/json; charset=iso-8859-1"):
            with self.subTest(content_type=ct):
                h = {k: v for k, v in TEXT.items() if k != "Content-Type"}
                if ct:
                    h["Content-Type"] = ct
                assert_json_error(self, self.srv.request("POST", "/api/consent", ok, h),
                                  415, "unsupported_media_type")
        self.assertEqual(self.post(ok, {"Content-Type": "application/json; charset=UTF-8"})
                         .status, 201)
        n += 1
        # Scheme and host in any case, a port in range: the same page.
        for page in ("HTTP://LOCALHOST/", "http://localhost:8080/x"):
            self.assertEqual(self.post(with_(page=page)).status, 201, page)
            n += 1
        r = self.post(ok, {"Origin": "http://evil.example"})
        assert_json_error(self, r, 403, "origin_not_allowed")
        self.assertEqual(len(consent_rows(self.srv)), n, "nothing stored")
        # The same body, fixed, is taken, and a reader on the site's
        # origin may read the answer.
        r = self.post(ok, {"Origin": "http://localhost:8080"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "http://localhost:8080")
        self.assertTrue(self.srv.alive())

    def test_mutated_bodies_never_crash_or_store_half(self):
        # 400 bodies mutated from a valid one: every answer is 201 or a
        # JSON 4xx, a record exists exactly for each 201, and the chain holds.
        import random
        rnd = random.Random(5)
        base = json.dumps(choice(consent_config(self.srv), "custom", str(uuid.uuid4()),
                                 decisions={"analytics": True, "marketing": False,
                                            "personalization": True}))
        junk = ['"', "{", "}", "[", "\\u0000", "\\ud800", "null", "true", "1e999",
                "-1", "\xff", ",", ":", "\u00e4", "9" * 30]
        before = len(consent_rows(self.srv))
        created = 0
        for _ in range(400):
            b = list(base)
            for _ in range(rnd.randint(1, 4)):
                i = rnd.randrange(len(b))
                op = rnd.random()
                if op < 0.4:
                    del b[i:i + rnd.randint(1, 8)]
                elif op < 0.8:
                    b.insert(i, rnd.choice(junk))
                else:
                    b[i] = chr(rnd.randrange(1, 0x2000))
            r = self.post("".join(b).encode("utf-8", "surrogatepass"))
            self.assertIn(r.status, (201, 400, 403, 409, 413), r)
            if r.status == 201:
                created += 1
            else:
                self.assertIn("error", r.json())
        self.assertEqual(len(consent_rows(self.srv)) - before, created)
        self.assertTrue(self.srv.alive())
        v = run_seula("consent", "verify", "--config", self.srv.config_path)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    # -- the gate --------------------------------------------------------------
    def test_visitor_id_kept_only_while_consent_allows(self):
        srv = self.srv
        vid = str(uuid.uuid4())

        def send(marker, visitor=vid):
            r = srv.collect([pageview(url="http://localhost/" + marker, visitor_id=visitor)])
            self.assertEqual(r.status, 204, r)
            rows = srv.query("SELECT visitor_id FROM events WHERE path = ?", ("/" + marker,))
            return rows[0]["visitor_id"] if rows else DROPPED
        self.assertIsNone(send("before-consent"), "no record: counted cookieless")
        # Refusing statistics objects to the counting itself: an event
        # carrying the objector's id is not stored at all.
        record_consent(srv, "reject_all", vid)
        self.assertEqual(send("after-reject"), DROPPED)
        record_consent(srv, "accept_all", vid)
        self.assertEqual(send("after-accept"), vid)
        record_consent(srv, "custom", vid, decisions={"analytics": False, "marketing": True,
                                                       "personalization": True})
        self.assertEqual(send("without-analytics"), DROPPED)
        record_consent(srv, "accept_all", vid)
        self.assertEqual(send("accepted-again"), vid)
        record_consent(srv, "withdraw", vid, source="preference_link")
        self.assertEqual(send("after-withdraw"), DROPPED, "a withdrawn id is no longer accepted")
        # Global Privacy Control's record denies everything but is no
        # choice: an objection to marketing, not to statistics.
        gpc = str(uuid.uuid4())
        record_consent(srv, "gpc", gpc, headers={"Sec-GPC": "1"})
        self.assertIsNone(send("after-gpc", gpc), "counted cookieless, without the id")
        # Every choice is its own record; the withdrawal did not rewrite one.
        methods = [r["method"] for r in consent_rows(srv, "visitor_id = ?", (vid,))]
        self.assertEqual(methods, ["reject_all", "accept_all", "custom", "accept_all",
                                   "withdraw"])
        # Another visitor's consent does not lend itself to an id it did not name.
        other = str(uuid.uuid4())
        r = srv.collect([pageview(url="http://localhost/other", visitor_id=other)])
        self.assertEqual(r.status, 204)
        self.assertIsNone(srv.query("SELECT visitor_id FROM events WHERE path = '/other'")
                          [0]["visitor_id"])

    def test_a_choice_sent_again_is_recorded_once(self):
        # The banner sends a pending choice from every tab that loads
        # before the first reply; a stale tab may send it after a newer one.
        srv = self.srv
        cfg = consent_config(srv)
        vid = str(uuid.uuid4())
        record_consent(srv, "accept_all", vid)
        withdraw = choice(cfg, "withdraw", vid, source="preference_link")
        first = self.post(withdraw)
        self.assertEqual(first.status, 201, first)
        again = self.post(withdraw)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.json(), first.json(), "the same answer, the same receipt")
        self.assertEqual([r["method"] for r in consent_rows(srv, "visitor_id = ?", (vid,))],
                         ["accept_all", "withdraw"])
        # A newer grant, then the old withdrawal from a stale tab: the
        # grant stays the visitor's consent.
        time.sleep(0.002)
        record_consent(srv, "accept_all", vid)
        late = self.post(withdraw)
        self.assertEqual(late.json()["receipt"], first.json()["receipt"])
        self.assertEqual([r["method"] for r in consent_rows(srv, "visitor_id = ?", (vid,))],
                         ["accept_all", "withdraw", "accept_all"])
        r = srv.collect([pageview(url="http://localhost/granted-after-replay", visitor_id=vid)])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(srv.query("SELECT visitor_id FROM events WHERE path = ?",
                                   ("/granted-after-replay",))[0]["visitor_id"], vid)
        # The same moment with another choice, or without an id to tell the
        # person by, is a record of its own.
        other = dict(withdraw, method="custom",
                     decisions={"analytics": True, "marketing": False,
                                "personalization": False})
        self.assertNotEqual(self.post(other).json()["receipt"], first.json()["receipt"])
        anonymous = choice(cfg, "reject_all")
        a, b = self.post(anonymous), self.post(anonymous)
        self.assertNotEqual(a.json()["receipt"], b.json()["receipt"])

    # -- staff -----------------------------------------------------------------
    def test_staff_history_stats_and_choices_on_behalf(self):
        srv = self.srv
        add_user(srv, "cs", "customer_service", "copper+Fjord+42+heron")
        add_user(srv, "an", "analyst", "velvet_Quarry_19_moss")
        cs = login(srv, "cs", "copper+Fjord+42+heron")
        an = login(srv, "an", "velvet_Quarry_19_moss")
        vid = str(uuid.uuid4())
        first = record_consent(srv, "accept_all", vid)
        body = choice(consent_config(srv, lang="fi"), "withdraw", vid)
        del body["texts_hash"], body["given_at"], body["page"]
        body["source"] = "staff"
        r = cs.request("POST", "/api/consent/records", body)
        self.assertEqual(r.status, 201, r)
        [row] = consent_rows(srv, "receipt = ?", (r.json()["receipt"],))
        self.assertEqual((row["source"], row["staff_name"]), ("staff", "cs"))
        self.assertIsNone(row["ip_anon"])
        # The whole history, by visitor id or by any of its receipts.
        assert_json_error(self, srv.request("GET", "/api/consent/records?visitor_id=" + vid),
                          401)
        assert_json_error(self, an.request("GET", "/api/consent/records?visitor_id=" + vid),
                          403)
        for q in ("visitor_id=" + vid, "receipt=" + first["receipt"],
                  "visitor_id=" + vid.upper(), "receipt=" + first["receipt"].upper()):
            r = cs.request("GET", "/api/consent/records?" + q)
            self.assertEqual(r.status, 200, r)
            self.assertEqual([x["method"] for x in r.json()["records"]],
                             ["accept_all", "withdraw"])
        # Another person's receipt beside a visitor id would be read
        # under the first one's name: one person a request.
        other = record_consent(srv, "accept_all", str(uuid.uuid4()))["receipt"]
        assert_json_error(self, cs.request(
            "GET", "/api/consent/records?visitor_id=%s&receipt=%s" % (vid, other)),
            400, "bad_request")
        # A long page is cut at a whole character: the withdrawal on it
        # is shown to the visitor and in the history, not a 500 or a gap.
        long_page = "http://localhost/" + "\u00e9" * 1100
        last = record_consent(srv, "reject_all", vid, page=long_page)
        r = srv.request("GET", "/api/consent/" + last["receipt"])
        self.assertEqual(r.status, 200, r)
        page = r.json()["page"]
        self.assertTrue(long_page.startswith(page))
        self.assertLessEqual(len(page.encode()), 2048)
        self.assertGreater(len(page.encode()), 2040)
        [row] = consent_rows(srv, "receipt = ?", (last["receipt"],))
        self.assertEqual(row["page"], page, "stored whole characters")
        r = cs.request("GET", "/api/consent/records?visitor_id=" + vid)
        self.assertEqual([x["method"] for x in r.json()["records"]],
                         ["accept_all", "withdraw", "reject_all"])
        # The audit log names the visitor by a keyed hash of the id, not
        # the id their cookie holds: it stays after an erasure.
        with open(os.path.join(srv.dir, "seula.key"), "rb") as f:
            key = f.read()
        pseudonym = "visitor:" + hashlib.blake2b(
            b"audit-visitor/1:" + vid.encode(), digest_size=16, key=key).hexdigest()
        reads = srv.query("SELECT * FROM audit_log WHERE staff_name = 'cs' AND "
                          "action = 'read' AND subject = ?", (pseudonym,))
        # (the one in capitals under the same name: the same person)
        self.assertEqual(len(reads), 3, "the reads by visitor id are audited")
        self.assertTrue(srv.query("SELECT 1 FROM audit_log WHERE subject = ? AND "
                                  "action = 'change'", (pseudonym,)))
        self.assertEqual(srv.query("SELECT count(*) AS n FROM audit_log WHERE "
                                   "instr(subject, ?) > 0", (vid,))[0]["n"], 0)
        # Statistics: analysts yes, customer service no.
        assert_json_error(self, cs.request("GET", "/api/consent/stats?site=demo"), 403)
        for _ in range(3):
            r = srv.request("POST", "/api/consent/shown",
                            {"site": "demo", "policy_version": "2026-11-01",
                             "language": "fi"}, TEXT)
            self.assertEqual(r.status, 204, r)
        # Out of date, as a choice is: 409; without a version: 400.
        r = srv.request("POST", "/api/consent/shown",
                        {"site": "demo", "policy_version": "2020-01-01",
                         "language": "fi"}, TEXT)
        assert_json_error(self, r, 409, "stale_policy")
        r = srv.request("POST", "/api/consent/shown", {"site": "demo"}, TEXT)
        assert_json_error(self, r, 400, "bad_policy_version")
        r = an.request("GET", "/api/consent/stats?site=demo")
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        today = time.strftime("%Y-%m-%d", time.gmtime())
        self.assertEqual(doc["to"], today)
        self.assertEqual(len(doc["days"]), 30)
        rows = consent_rows(srv)
        day = doc["days"][-1]
        self.assertEqual(day["date"], today)
        self.assertGreaterEqual(day["shown"], 3)
        count = {m: sum(1 for x in rows if x["method"] == m)
                 for m in ("accept_all", "reject_all", "custom", "withdraw", "gpc")}
        self.assertEqual((day["accepted_all"], day["rejected_all"], day["custom"],
                          day["withdrawn"], day["gpc"]),
                         (count["accept_all"], count["reject_all"], count["custom"],
                          count["withdraw"], count["gpc"]))
        choices = [x for x in rows if x["method"] != "gpc"]
        for cat in ("analytics", "marketing", "personalization"):
            granted = sum(1 for x in choices
                          if json.loads(x["decisions"])[cat] == "granted")
            self.assertAlmostEqual(day["opt_in_rate"][cat], granted / len(choices))
        self.assertEqual(doc["totals"]["accepted_all"], count["accept_all"])
        # By the reader's local day: 14 hours ahead of UTC and 11 behind,
        # today there holds the same records and displays.
        for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
            local = datetime.datetime.now(zoneinfo.ZoneInfo(tz)).date().isoformat()
            r = an.request("GET", "/api/consent/stats?site=demo&tz=" + tz)
            self.assertEqual(r.status, 200, r)
            there = r.json()
            self.assertEqual((there["tz"], there["to"], there["days"][-1]["date"]),
                             (tz, local, local))
            self.assertEqual(there["days"][-1]["shown"], day["shown"])
            self.assertEqual(there["days"][-1]["accepted_all"], count["accept_all"])
            self.assertEqual(there["days"][-1]["opt_in_rate"], day["opt_in_rate"])
        assert_json_error(self, an.request("GET", "/api/consent/stats?site=demo&from=x"),
                          400, "bad_date")
        assert_json_error(self, an.request("GET", "/api/consent/stats?site=demo&from=2026-02-30"),
                          400, "bad_date")
        assert_json_error(self, an.request("GET", "/api/consent/stats?site=demo&tz=Mars/Olympus"),
                          400, "bad_request")

    # -- the privacy statement -----------------------------------------------
    def test_privacy_statement_states_what_the_server_does(self):
        for lang in ("fi", "sv", "en"):
            r = self.srv.request("GET", "/privacy?lang=" + lang)
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.header("Content-Type").startswith("text/html"))
            page = r.body.decode()
            self.assertIn('<html lang="%s"' % lang, page)
            self.assertIn("Esimerkki Oy", page)
            self.assertIn("Maija Meikäläinen", page)
            self.assertIn("Tietosuojavaltuutetun toimisto", page)
            ids = re.findall(r'<section[^>]* id="([a-z]+)"', page)
            self.assertEqual(ids, ["controller", "contact", "register", "purposes", "data",
                                   "sources", "disclosures", "transfers", "retention",
                                   "security", "cookies", "rights", "authority"])
            cookies = set(re.findall(r'data-cookie="([^"]+)"', page))
            self.assertEqual(cookies, {"seula_consent", "seula_vid", "_fbp"})
            # The visitor id lives no longer than the consent it needs.
            self.assertRegex(page, r'data-cookie="seula_vid">.*?data-days="365"')
            # The retention shown is the retention enforced (the defaults
            # of [site.demo] events_retention and [consent] record_retention).
            self.assertRegex(page, r'data-retention="raw_events"[^>]*data-days="760"')
            self.assertRegex(page, r'data-retention="consent_records"[^>]*data-days="1826"')
        self.assertIn('lang="fi"', self.srv.request("GET", "/privacy").body.decode())
        # Asked as the banner is: by primary subtag in any case, and a
        # language the statement does not have in English (which the
        # site offers), not in the site's first language.
        for asked, got in (("sv-SE", "sv"), ("EN", "en"), ("fi_FI", "fi"),
                           ("en-GB", "en"), ("de", "en"), ("", "fi")):
            with self.subTest(asked=asked):
                page = self.srv.request("GET", "/privacy?lang=" + asked).body.decode()
                self.assertIn('<html lang="%s"' % got, page)
        # Without ?lang=, the browser's languages choose (the best weight
        # the statement has; the first of equal ones), and a cache is told.
        for accept, got in (("sv-SE,sv;q=0.9,en;q=0.8", "sv"),
                            ("de-DE, en-GB;q=0.7, fi;q=0.9", "fi"),
                            ("de, fr;q=0.5", "en"),
                            ("sv;q=0, en;q=0.2", "en"),
                            ("fi;q=0.5, sv;q=0.5", "fi"),
                            ("fi-FI;q=0.5, sv-FI;q=0.9", "sv"),
                            ("fi;q=abc, sv;q=0.1", "en"),  # malformed: none
                            ("EN-us ; q=1.0", "en"),
                            ("*", "en"), ("", "fi")):
            with self.subTest(accept=accept):
                r = self.srv.request("GET", "/privacy", headers={"Accept-Language": accept})
                self.assertEqual(r.status, 200, r)
                self.assertIn('<html lang="%s"' % got, r.body.decode())
                self.assertEqual(r.header("Content-Language"), got)
                self.assertIn("Accept-Language", r.header("Vary") or "")
        r = self.srv.request("GET", "/privacy?lang=sv", headers={"Accept-Language": "en"})
        self.assertIn('<html lang="sv"', r.body.decode(), "?lang= wins")
        # A valueless part ("?en", a trailing "&") is no reason to say the
        # statement is not configured; a malformed escape is a bad request.
        for query in ("?&lang=en", "?en&lang=en", "?lang=en&"):
            with self.subTest(query=query):
                r = self.srv.request("GET", "/privacy" + query)
                self.assertEqual(r.status, 200, r)
                self.assertIn('<html lang="en"', r.body.decode())
        self.assertIn('lang="fi"', self.srv.request("GET", "/privacy?en").body.decode())
        assert_json_error(self, self.srv.request("GET", "/privacy?lang=%zz"), 400,
                          "bad_request")

    def test_a_retention_of_part_days_is_stated_rounded_up(self):
        # Events are deleted 36 hours after, records 9700 hours (404 days
        # and 4 hours) after: "1 day" and "404 days" would promise less
        # than is kept.
        srv = Server(sections={"controller": CONTROLLER,
                               "site.demo": {"events_retention": "36h"},
                               "consent": {"record_retention": "9700h"}})
        try:
            srv.start()
            page = srv.request("GET", "/privacy?lang=en").body.decode()
            self.assertRegex(page, r'data-retention="raw_events"[^>]*data-days="2"')
            self.assertRegex(page, r'data-retention="consent_records"[^>]*data-days="405"')
        finally:
            srv.close()

    def test_the_statement_names_the_banner_of_an_operators_texts_file(self):
        # Where /privacy sends the visitor to object or to change a choice,
        # it names the banner's heading and settings button as this site's
        # banner shows them, not as Seula's own texts would; an operator's
        # words are escaped like any other.
        source = os.environ.get("SEULA_SOURCE_DIR", ".")
        with open(os.path.join(source, "core", "consent_texts.json")) as f:
            texts = json.load(f)
        builtin = {lang: (t["title"], t["reopen"]) for lang, t in texts.items()}
        words = {"fi": ("Yksityisyys <ja> evästeet", "Yksityisyysvalinnat"),
                 "sv": ("Integritet & <kakor>", "Integritetsval"),
                 "en": ("Privacy <and> cookies", "Privacy choices")}
        for lang, (title, reopen) in words.items():
            texts[lang]["title"], texts[lang]["reopen"] = title, reopen
        folder = tempfile.mkdtemp(prefix="seula-texts-")
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "texts.json")
        with open(path, "w") as f:
            json.dump(texts, f, ensure_ascii=False)
        srv = Server(sections={"controller": CONTROLLER, "consent": {"texts": path},
                               "privacy": {"legal_bases":
                                           "contract, consent, legitimate_interest"}})
        try:
            srv.start()
            for lang, (title, reopen) in words.items():
                with self.subTest(lang=lang):
                    shown = consent_config(srv, lang=lang)["texts"]
                    self.assertEqual((shown["title"], shown["reopen"]), (title, reopen))
                    r = srv.request("GET", "/privacy?lang=" + lang)
                    self.assertEqual(r.status, 200, r)
                    page = r.body.decode()
                    # Objecting names both; changing and withdrawing the
                    # button.
                    self.assertEqual(page.count(html.escape(title)), 1)
                    self.assertEqual(page.count(html.escape(reopen)), 3)
                    self.assertNotIn(title, page)
                    for word in builtin[lang]:
                        self.assertNotIn(word, page)
        finally:
            srv.close()


class ChainTest(unittest.TestCase):
    """`seula consent verify` against someone who can edit the file."""

    def setUp(self):
        self.srv = Server()
        self.srv.start()
        self.receipts = [record_consent(self.srv, m, str(uuid.uuid4()))["receipt"]
                         for m in ("accept_all", "reject_all", "accept_all", "withdraw",
                                   "reject_all")]
        self.srv.stop()

    def tearDown(self):
        self.srv.close()

    def verify(self):
        return run_seula("consent", "verify", "--config", self.srv.config_path)

    def tamper(self, *sql):
        db = sqlite3.connect(self.srv.db_path)
        # Someone with the file drops the guards first.
        db.execute("DROP TRIGGER IF EXISTS consent_records_fixed")
        db.execute("DROP TRIGGER IF EXISTS consent_records_kept")
        for s in sql:
            db.execute(s)
        db.commit()
        db.close()

    def assert_broken(self, at, why):
        r = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("BROKEN at record %d" % at, r.stdout)
        self.assertRegex(r.stdout, why)

    def test_intact_chain_verifies(self):
        r = self.verify()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("5 records", r.stdout)

    def test_an_edit_is_found(self):
        self.tamper("UPDATE consent_records SET decisions = "
                    "'{\"necessary\":\"granted\",\"analytics\":\"granted\","
                    "\"marketing\":\"granted\",\"personalization\":\"granted\"}' "
                    "WHERE id = 2")
        self.assert_broken(2, "does not match its MAC")

    def test_a_recomputed_plain_hash_does_not_help(self):
        # Whoever edits can recompute any unkeyed hash, but not the MAC.
        row = self.srv.query("SELECT mac FROM consent_records WHERE id = 3")[0]
        self.tamper("UPDATE consent_records SET method = 'accept_all', "
                    "mac = X'%s' WHERE id = 4" %
                    hashlib.blake2b(row["mac"], digest_size=32).hexdigest())
        self.assert_broken(4, "does not match its MAC")

    def test_an_edited_visitor_id_is_found(self):
        self.tamper("UPDATE consent_records SET visitor_id = '%s' WHERE id = 1" %
                    uuid.uuid4())
        self.assert_broken(1, "visitor id, address or page")

    def test_an_edit_after_a_nul_byte_is_found(self):
        # The MACs read a text up to a NUL, a search compares every byte:
        # a visitor id made "ID\0x" would hide the record from its
        # visitor's access export and erasure unseen.
        self.tamper("UPDATE consent_records SET visitor_id = visitor_id || "
                    "char(0) || 'x' WHERE id = 1")
        self.assert_broken(1, "a field holds a NUL byte")

    def test_a_faked_erasure_is_found(self):
        # Clearing a record's personal fields as an erasure does (the
        # person's consent then looks withdrawn from view) needs the
        # server's keyed proof; nor does a real erasure's proof fit
        # another record.
        self.tamper("UPDATE consent_records SET visitor_id = NULL, ip_anon = NULL, "
                    "page = NULL, erased_at = 1700000000000 WHERE id = 2")
        self.assert_broken(2, "erased without the server's proof")

    def test_a_wipe_with_its_head_is_found(self):
        # Every record and the head gone looks like a new database, but
        # for the visitors' standing consent, kept beside the records.
        self.tamper("DELETE FROM consent_records",
                    "DELETE FROM chain_heads WHERE chain = 'consent'")
        self.assert_broken(1, "yet 5 visitors' consent is kept")

    def test_a_deletion_is_found(self):
        self.tamper("DELETE FROM consent_records WHERE id = 3")
        self.assert_broken(3, "missing")

    def test_a_deleted_last_record_is_found(self):
        self.tamper("DELETE FROM consent_records WHERE id = 5")
        self.assert_broken(5, "at the end are missing")

    def test_an_insertion_is_found(self):
        # A copy of record 2, given a new receipt and slotted in as 3.
        self.tamper("UPDATE consent_records SET id = id + 100 WHERE id >= 3",
                    "INSERT INTO consent_records SELECT 3, '%s', site, given_at, "
                    "received_at, policy_version, texts_hash, language, decisions, "
                    "preselected, method, source, staff_name, signals, gcm, valid_until, "
                    "tc_string, visitor_id, ip_anon, page, pii_mac, erased_at, prev_mac, "
                    "mac, erased_mac FROM consent_records WHERE id = 2" % uuid.uuid4(),
                    "UPDATE consent_records SET id = id - 99 WHERE id >= 103")
        self.assert_broken(3, "previous record|does not match")

    def test_an_appended_record_is_found(self):
        self.tamper("INSERT INTO consent_records SELECT 6, '%s', site, given_at, "
                    "received_at, policy_version, texts_hash, language, decisions, "
                    "preselected, method, source, staff_name, signals, gcm, valid_until, "
                    "tc_string, visitor_id, ip_anon, page, pii_mac, erased_at, mac, "
                    "mac, erased_mac FROM consent_records WHERE id = 5" % uuid.uuid4())
        self.assert_broken(6, "does not match|follow the head")

    def test_the_server_refuses_to_rewrite_records(self):
        db = sqlite3.connect(self.srv.db_path)
        for sql in ("UPDATE consent_records SET method = 'accept_all' WHERE id = 2",
                    "DELETE FROM consent_records WHERE id = 2"):
            with self.assertRaisesRegex(sqlite3.DatabaseError, "append-only"):
                db.execute(sql)
        db.close()


class StandingConsentTest(unittest.TestCase):
    """A visitor's standing consent (consent_visitors: what the gate and
    the customers plugin read) against someone who can write the file:
    the gate grants nothing by a state the server did not write for the
    visitor's latest record, and `seula consent verify` names each visitor
    whose state is not what their records give."""

    def setUp(self):
        self.srv = Server()
        self.srv.start()
        self.withdrawn, self.kept = str(uuid.uuid4()), str(uuid.uuid4())
        record_consent(self.srv, "accept_all", self.withdrawn)      # record 1
        self.granted = self.state(self.withdrawn)
        record_consent(self.srv, "withdraw", self.withdrawn,        # record 2
                       source="preference_link")
        record_consent(self.srv, "accept_all", self.kept)           # record 3
        self.srv.stop()

    def tearDown(self):
        self.srv.close()

    def state(self, vid):
        return self.srv.query("SELECT * FROM consent_visitors WHERE visitor_id = ?",
                              (vid,))[0]

    def tamper(self, sql, args=()):
        db = sqlite3.connect(self.srv.db_path)
        db.execute(sql, args)
        db.commit()
        db.close()

    def kept_ids(self, *vids):
        """The visitor id each one's page view was stored with, or DROPPED
        when it was not stored (an objector's: a refusal in force)."""
        vids = vids or (self.withdrawn, self.kept)
        self.srv.start()
        got = []
        for n, vid in enumerate(vids):
            path = "/kept-%s" % uuid.uuid4()
            r = self.srv.collect([pageview(url="http://localhost" + path, visitor_id=vid)])
            self.assertEqual(r.status, 204, r)
            rows = self.srv.query("SELECT visitor_id FROM events WHERE path = ?", (path,))
            got.append(rows[0]["visitor_id"] if rows else DROPPED)
        self.srv.stop()
        return got

    def verify(self):
        return run_seula("consent", "verify", "--config", self.srv.config_path)

    def assert_state_broken(self, vid, why, states=2):
        r = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        # The records' chain is intact; the state beside it is not.
        self.assertIn("consent records verified: 3 records", r.stdout)
        self.assertRegex(r.stdout, "consent state BROKEN for visitor %s: .*%s" % (vid, why))
        self.assertEqual(r.stdout.count("consent state BROKEN for visitor"), 1, r.stdout)
        self.assertIn("1 of %d visitors' standing consent is not what their records give"
                      % states, r.stdout)

    def test_intact_states_verify(self):
        r = self.verify()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("consent state verified: 2 visitors", r.stdout)
        self.assertEqual(self.kept_ids(), [DROPPED, self.kept])

    def test_a_withdrawal_made_a_grant_is_found_and_grants_nothing(self):
        self.tamper("UPDATE consent_visitors SET analytics = 1, marketing = 1 "
                    "WHERE visitor_id = ?", (self.withdrawn,))
        self.assertEqual(self.kept_ids(), [None, self.kept])
        self.assert_state_broken(self.withdrawn,
                                 r"analytics granted \(the record: denied\), "
                                 r"marketing granted \(the record: denied\)")

    def test_an_older_state_put_back_is_found_and_grants_nothing(self):
        # The row as the server wrote it before the withdrawal, MAC and
        # all: signed, but not of the visitor's latest record.
        g = self.granted
        self.tamper("UPDATE consent_visitors SET analytics = ?, marketing = ?, "
                    "personalization = ?, valid_until = ?, receipt = ?, record_id = ?, "
                    "mac = ? WHERE visitor_id = ?",
                    (g["analytics"], g["marketing"], g["personalization"],
                     g["valid_until"], g["receipt"], g["record_id"], g["mac"],
                     self.withdrawn))
        self.assertEqual(self.kept_ids(), [None, self.kept])
        self.assert_state_broken(self.withdrawn,
                                 r"analytics granted \(the record: denied\).*"
                                 r"record 1 \(the record: 2\)")

    def test_a_deleted_state_is_found(self):
        self.tamper("DELETE FROM consent_visitors WHERE visitor_id = ?", (self.withdrawn,))
        self.assert_state_broken(self.withdrawn,
                                 "its latest record, 2, has no consent state", states=1)

    def test_a_state_without_records_is_found_and_grants_nothing(self):
        forged = str(uuid.uuid4())
        self.tamper("INSERT INTO consent_visitors SELECT ?, site, analytics, marketing, "
                    "personalization, valid_until, receipt, record_id, mac FROM "
                    "consent_visitors WHERE visitor_id = ?", (forged, self.kept))
        self.assertEqual(self.kept_ids(forged, self.kept), [None, self.kept])
        self.assert_state_broken(forged, "it has a consent state but no record of it",
                                 states=3)

    def repair(self):
        return run_seula("consent", "repair", "--config", self.srv.config_path)

    def test_repair_rebuilds_what_verify_names_from_the_records(self):
        forged = str(uuid.uuid4())
        self.tamper("UPDATE consent_visitors SET analytics = 1, marketing = 1 "
                    "WHERE visitor_id = ?", (self.withdrawn,))
        self.tamper("INSERT INTO consent_visitors SELECT ?, site, analytics, marketing, "
                    "personalization, valid_until, receipt, record_id, mac FROM "
                    "consent_visitors WHERE visitor_id = ?", (forged, self.kept))
        kept = self.state(self.kept)
        self.tamper("DELETE FROM consent_visitors WHERE visitor_id = ?", (self.kept,))
        self.assertEqual(self.verify().returncode, 1)
        r = self.repair()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for vid in (self.withdrawn, forged, self.kept):
            self.assertIn("consent state repaired for visitor %s: " % vid, r.stdout)
        self.assertIn("consent state repaired: 2 standing consents rewritten from "
                      "their latest record, 1 deleted", r.stdout)
        v = self.verify()
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn("consent state verified: 2 visitors", v.stdout)
        # What the server itself wrote, MAC and all; the withdrawal holds.
        self.assertEqual(self.state(self.kept), kept)
        self.assertEqual(self.state(self.withdrawn)["analytics"], 0)
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM consent_visitors "
                                        "WHERE visitor_id = ?", (forged,))[0]["n"], 0)
        self.assertEqual(self.kept_ids(self.withdrawn, self.kept, forged),
                         [DROPPED, self.kept, None])
        again = self.repair()
        self.assertIn("0 standing consents rewritten from their latest record, 0 "
                      "deleted", again.stdout)

    def test_repair_refuses_records_that_do_not_verify(self):
        self.tamper("UPDATE consent_visitors SET analytics = 1 WHERE visitor_id = ?",
                    (self.withdrawn,))
        db = sqlite3.connect(self.srv.db_path)
        db.execute("DROP TRIGGER consent_records_fixed")
        db.execute("UPDATE consent_records SET decisions = replace(decisions, "
                   "'denied', 'granted') WHERE id = 2")
        db.commit()
        db.close()
        before = self.state(self.withdrawn)
        r = self.repair()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("consent records BROKEN at record 2", r.stdout)
        self.assertIn("nothing repaired", r.stdout)
        self.assertEqual(self.state(self.withdrawn), before)

    def test_an_upgrade_signs_only_what_the_records_give(self):
        # The database as it was before core migration 9, its withdrawn
        # visitor's state already edited into a grant.
        db = sqlite3.connect(self.srv.db_path)
        db.execute("ALTER TABLE consent_visitors DROP COLUMN mac")
        db.execute("ALTER TABLE consent_visitors DROP COLUMN record_id")
        db.execute("DELETE FROM seula_migrations WHERE component = 'core' AND version >= 9")
        drop_api_key_columns(db)
        db.execute("UPDATE consent_visitors SET analytics = 1 WHERE visitor_id = ?",
                   (self.withdrawn,))
        db.commit()
        db.close()
        # Without the key the migration refuses, and changes nothing.
        key = os.path.join(self.srv.dir, "seula.key")
        os.rename(key, key + ".away")
        r = run_seula("migrate", "--config", self.srv.config_path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("must be signed with the server's key", r.stderr)
        os.rename(key + ".away", key)
        r = run_seula("migrate", "--config", self.srv.config_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(": 3 migrations applied", r.stdout)  # 9, and 10 and 11 after it
        kept = self.state(self.kept)
        self.assertEqual((kept["record_id"], len(kept["mac"])), (3, 32))
        self.assertIsNone(self.state(self.withdrawn)["mac"], "the edit is not signed")
        self.assert_state_broken(self.withdrawn, r"analytics granted \(the record: denied\)")
        self.assertEqual(self.kept_ids(), [None, self.kept])


class RetentionRunTest(unittest.TestCase):
    """`seula retention run` removes consent records past [consent]
    record_retention, as the server's hourly task does, and the standing
    consents they leave without a record; its dry run counts and changes
    nothing; the chain still verifies and the gate grants nothing by what
    went."""

    def setUp(self):
        self.srv = Server()
        self.srv.start()
        self.old, self.new = str(uuid.uuid4()), str(uuid.uuid4())
        record_consent(self.srv, "accept_all", self.old)    # record 1
        record_consent(self.srv, "reject_all")              # record 2, no id
        record_consent(self.srv, "accept_all", self.new)    # record 3
        self.srv.stop()
        # Records 1 and 2 made 1900 days ago (record_retention is 1826):
        # the guard is dropped to move them, and put back.
        db = sqlite3.connect(self.srv.db_path)
        [guard] = db.execute("SELECT sql FROM sqlite_master WHERE name = "
                             "'consent_records_fixed'").fetchone()
        db.execute("DROP TRIGGER consent_records_fixed")
        db.execute("UPDATE consent_records SET received_at = received_at - ? "
                   "WHERE id <= 2", (1900 * 86400 * 1000,))
        db.execute(guard)
        db.commit()
        db.close()

    def tearDown(self):
        self.srv.close()

    def counts(self):
        return (self.srv.query("SELECT count(*) AS n FROM consent_records")[0]["n"],
                [r["visitor_id"] for r in self.srv.query(
                    "SELECT visitor_id FROM consent_visitors ORDER BY visitor_id")])

    def retention(self, *extra):
        return run_seula("retention", "run", "--config", self.srv.config_path, *extra)

    def test_old_records_and_their_consents_go(self):
        before = self.counts()
        self.assertEqual(before, (3, sorted([self.old, self.new])))
        dry = self.retention("--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertIn("consent records: 2 past record_retention (1826 days) would be "
                      "deleted, and 1 standing consents left without a record",
                      dry.stdout)
        self.assertRegex(dry.stderr, r"dry run: \d+ events, 2 consent records, 1 "
                                     r"standing consents, ")
        self.assertEqual(self.counts(), before, "the dry run changed nothing")

        run = self.retention()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("consent records: 2 past record_retention (1826 days) deleted, "
                      "and 1 standing consents left without a record", run.stdout)
        self.assertEqual(self.counts(), (1, [self.new]))
        r = run_seula("consent", "verify", "--config", self.srv.config_path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("1 records", r.stdout)
        again = self.retention()
        self.assertIn("consent records: 0 past record_retention (1826 days) deleted, "
                      "and 0 standing consents", again.stdout)

        # The gate: the old consent is gone, the new one still counts.
        self.srv.start()
        for vid, want in ((self.old, None), (self.new, self.new)):
            path = "/kept-%s" % uuid.uuid4()
            r = self.srv.collect([pageview(url="http://localhost" + path, visitor_id=vid)])
            self.assertEqual(r.status, 204, r)
            [row] = self.srv.query("SELECT visitor_id FROM events WHERE path = ?", (path,))
            self.assertEqual(row["visitor_id"], want)


class RecordAddressTest(unittest.TestCase):
    """A record keeps where a choice came from no finer than the anonymize
    plugin's level keeps a visitor's address anywhere else: /16 (/48) at
    most, coarser at levels 3 and 4."""

    def test_the_level_caps_the_record_address(self):
        want = {"2": ("198.51.0.0", "2001:db8:abcd::"),
                "3": ("198.0.0.0", "2001:d00::"),
                "4": ("0.0.0.0", "::")}
        for level, (v4, v6) in want.items():
            with self.subTest(level=level):
                srv = Server(sections={"plugin.anonymize": {"level": level}})
                try:
                    srv.start()
                    got = []
                    for addr in ("198.51.100.9", "2001:db8:abcd:1234::9"):
                        doc = record_consent(srv, "accept_all", str(uuid.uuid4()),
                                             headers={"X-Forwarded-For": addr})
                        [row] = consent_rows(srv, "receipt = ?", (doc["receipt"],))
                        got.append(row["ip_anon"])
                    self.assertEqual(got, [v4, v6])
                finally:
                    srv.close()


class PolicyChangeTest(unittest.TestCase):

    def test_a_consent_to_another_policy_version_grants_nothing(self):
        srv = Server(sections={"site.demo": {"policy_version": "v1"}})
        try:
            srv.start()
            vid = str(uuid.uuid4())
            record_consent(srv, "accept_all", vid)

            def kept(version):
                with open(srv.config_path) as f:
                    ini = f.read()
                with open(srv.config_path, "w") as f:
                    f.write(re.sub(r"policy_version = .*", "policy_version = " + version,
                                   ini))
                srv.stop()
                srv.start()
                path = "/policy-%s" % uuid.uuid4()
                r = srv.collect([pageview(url="http://localhost" + path, visitor_id=vid)])
                self.assertEqual(r.status, 204, r)
                return srv.query("SELECT visitor_id FROM events WHERE path = ?",
                                 (path,))[0]["visitor_id"]
            self.assertIsNone(kept("v2"), "the banner has not asked under v2 yet")
            self.assertEqual(kept("v1"), vid)
        finally:
            srv.close()


class TextsChangeTest(unittest.TestCase):
    """The texts (cookie list, purposes, words) changed without a new
    policy_version: the banner asks again, a consent given under the old
    texts grants nothing, and the server says at start to bump the
    version."""

    WARNING = re.compile(r"\[site\.demo\] the consent texts \(([a-z, ]+)\) differ from those "
                         r"already stored for policy_version '(\w+)'.*bump policy_version")

    @staticmethod
    def set_site_keys(srv, **keys):
        """srv's config with `keys` in [site.demo] (None: without it)."""
        with open(srv.config_path) as f:
            ini = f.read()
        for key, value in keys.items():
            ini = re.sub(r"^%s = .*\n" % key, "", ini, flags=re.M)
            if value is not None:
                ini = ini.replace("[site.demo]\n",
                                  "[site.demo]\n%s = %s\n" % (key, value))
        with open(srv.config_path, "w") as f:
            f.write(ini)

    def test_changed_texts_ask_again_and_the_server_warns(self):
        srv = Server(sections={"site.demo": {"policy_version": "v1"}})
        try:
            srv.start()
            before = consent_config(srv)
            vid = str(uuid.uuid4())
            record_consent(srv, "accept_all", vid)
            self.assertIsNone(self.WARNING.search(srv.stderr()), "nothing changed yet")

            def restart(**keys):
                self.set_site_keys(srv, **keys)
                srv.stop()
                mark = len(srv.stderr())
                srv.start()
                return srv.stderr()[mark:]

            def kept():
                path = "/texts-%s" % uuid.uuid4()
                r = srv.collect([pageview(url="http://localhost" + path, visitor_id=vid)])
                self.assertEqual(r.status, 204, r)
                return srv.query("SELECT visitor_id FROM events WHERE path = ?",
                                 (path,))[0]["visitor_id"]
            self.assertEqual(kept(), vid)

            # A cookie added to the list, the version left as it was.
            log = restart(cookies="marketing _fbp 90d Meta Platforms Ireland")
            now = consent_config(srv)
            self.assertEqual(now["policy_version"], "v1")
            self.assertNotEqual(now["texts_hash"], before["texts_hash"])
            self.assertEqual(now["texts_hashes"]["en"], now["texts_hash"])
            self.assertEqual(set(now["texts_hashes"]), {"fi", "sv", "en"})
            [warning] = [line for line in log.splitlines() if self.WARNING.search(line)]
            self.assertEqual(self.WARNING.search(warning).groups(), ("fi, sv, en", "v1"))
            self.assertIn(" warn consent: ", warning)
            self.assertIsNone(kept(), "a consent to the old texts grants nothing")
            # The choice made under the new texts holds.
            record_consent(srv, "accept_all", vid)
            self.assertEqual(kept(), vid)

            # Bumped: the new version has one text per language.
            log = restart(cookies="marketing _fbp 90d Meta Platforms Ireland",
                          policy_version="v2")
            self.assertIsNone(self.WARNING.search(log), log)
            self.assertIsNone(kept(), "the banner has not asked under v2 yet")
            record_consent(srv, "accept_all", vid)
            self.assertEqual(kept(), vid)
            # Unchanged since: no warning.
            log = restart()
            self.assertIsNone(self.WARNING.search(log), log)
            self.assertEqual(kept(), vid)

            # Withdrawn, then the texts and the version change: an
            # objection does not lapse with them (a stale tab's events
            # with the old id are still dropped) until the next answer.
            record_consent(srv, "withdraw", vid)

            def stored():
                path = "/objected-%s" % uuid.uuid4()
                r = srv.collect([pageview(url="http://localhost" + path, visitor_id=vid)])
                self.assertEqual(r.status, 204, r)
                return len(srv.query("SELECT 1 FROM events WHERE path = ?", (path,)))
            self.assertEqual(stored(), 0)
            restart(cookies="marketing _fbp 180d Meta Platforms Ireland", policy_version="v3")
            self.assertEqual(stored(), 0, "the objection holds under new texts")
            record_consent(srv, "accept_all", vid)
            self.assertEqual(kept(), vid)
        finally:
            srv.close()

    def test_selftest_fails_on_changed_texts(self):
        # The selftest makes the check the warning at start makes, in its
        # words, and before a restart too: a change can be caught before
        # it goes out.
        srv = Server(sections={"site.demo": {"policy_version": "v1"}})

        def selftest():
            r = run_seula("consent", "selftest", "--site", "demo", "--config",
                          srv.config_path)
            lines = re.findall(r"^\[(....)\] policy_version +(.*)$", r.stdout, re.M)
            self.assertEqual(len(lines), 1, r.stdout)
            line = lines[0]
            self.assertEqual(r.returncode, 1 if line[0] == "FAIL" else 0,
                             r.stdout + r.stderr)
            return line
        try:
            self.assertEqual(selftest(), (" ok ", "no database at %s yet: no texts stored"
                                          % srv.db_path))
            srv.start()
            self.assertEqual(selftest(), (" ok ", "no other texts stored for 'v1'"))
            srv.stop()
            # A cookie added, the version left as it was.
            self.set_site_keys(srv, cookies="marketing _fbp 90d Meta Platforms Ireland")
            verdict, note = selftest()
            self.assertEqual(verdict, "FAIL")
            self.assertIn("(fi, sv, en)", note)
            mark = len(srv.stderr())
            srv.start()
            [warning] = [line for line in srv.stderr()[mark:].splitlines()
                         if self.WARNING.search(line)]
            self.assertTrue(warning.endswith(" warn consent: [site.demo] " + note),
                            (warning, note))
            self.assertEqual(selftest(), (verdict, note), "until the version is bumped")
            self.set_site_keys(srv, policy_version="v2")
            self.assertEqual(selftest(), (" ok ", "no other texts stored for 'v2'"))
        finally:
            srv.close()

    def test_a_texts_file_from_before_gets_the_later_words(self):
        # An operator's texts file written before analytics_without_consent
        # (and the banner's later words) existed: the server starts, with
        # Seula's own words for them.
        srv = Server()
        try:
            srv.start()
            built = consent_config(srv)["texts"]
            texts = json.loads(open(os.path.join(
                os.environ.get("SEULA_SOURCE_DIR", "."), "core", "consent_texts.json")).read())
            for lang in texts.values():
                for key in ("analytics_without_consent", "dnt_note", "controller_label"):
                    del lang[key]
            folder = tempfile.mkdtemp(prefix="seula-texts-")
            self.addCleanup(shutil.rmtree, folder)
            path = os.path.join(folder, "old-texts.json")
            with open(path, "w") as f:
                json.dump(texts, f)
        finally:
            srv.close()
        old = Server(sections={"consent": {"texts": path}})
        try:
            old.start()
            got = consent_config(old)["texts"]
            self.assertEqual(got["categories"], built["categories"])
            self.assertEqual(got["dnt_note"], built["dnt_note"])
        finally:
            old.close()


class DurabilityTest(unittest.TestCase):

    def test_an_acknowledged_record_survives_kill_9(self):
        srv = Server(server={"synchronous": "full"})
        try:
            srv.start()
            receipts = [record_consent(srv, "accept_all", str(uuid.uuid4()))["receipt"]
                        for _ in range(20)]
            srv.kill9()
            got = {r["receipt"] for r in srv.query("SELECT receipt FROM consent_records")}
            self.assertEqual(got, set(receipts))
            r = run_seula("consent", "verify", "--config", srv.config_path)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            srv.close()


class ModesTest(unittest.TestCase):

    def test_without_consent_drop_stores_nothing_unconsented(self):
        srv = Server(sections={"site.demo": {"without_consent": "drop"}})
        try:
            srv.start()
            vid = str(uuid.uuid4())
            self.assertEqual(srv.collect([pageview(url="http://localhost/a"),
                                          pageview(url="http://localhost/b",
                                                   visitor_id=vid)]).status, 204)
            self.assertEqual(srv.count(), 0)
            record_consent(srv, "accept_all", vid)
            self.assertEqual(srv.collect([pageview(url="http://localhost/c",
                                                   visitor_id=vid)]).status, 204)
            self.assertEqual([r["visitor_id"] for r in srv.query("SELECT * FROM events")],
                             [vid])
        finally:
            srv.close()

    def test_the_banner_and_the_statement_say_what_is_counted_without_consent(self):
        # The banner's statistics text and /privacy, in each setting: what
        # happens before a choice, and that refusing statistics stops it.
        note = {"fi": "Ennen kuin teet valintasi, käynnit lasketaan ilman evästeitä",
                "sv": "Innan du har gjort ditt val räknas besöken utan kakor",
                "en": "Before you choose, visits are counted without cookies"}
        for site, counted in (({}, True), ({"without_consent": "drop"}, False),
                              ({"consent_mode": "exempt"}, True)):
            srv = Server(sections={"controller": CONTROLLER, "site.demo": site,
                                   "privacy": {"legal_bases":
                                               "contract, consent, legitimate_interest"}})
            try:
                srv.start()
                for lang in ("fi", "sv", "en"):
                    cfg = consent_config(srv, lang=lang)
                    [stats] = [c for c in cfg["texts"]["categories"] if c["id"] == "analytics"]
                    # Exempt sites say it in their exemption note instead.
                    said = site == {} and note[lang] in stats["purpose"]
                    self.assertEqual(said, site == {}, (site, stats["purpose"]))
                page = srv.request("GET", "/privacy?lang=en").body.decode()
                self.assertEqual("Before you choose, visits are counted without cookies and "
                                 "without any identifier stored in your browser. If you refuse "
                                 "statistics, this browser's visits are not counted at all."
                                 .replace("'", "&#39;") in page, counted, site)
                self.assertEqual("Without consent your visits are not counted" in page,
                                 not counted, site)
                # The legitimate interest one may object to says how.
                self.assertIn("You object to the counting of visits by refusing statistics",
                              page)
            finally:
                srv.close()

    def test_exempt_mode_refuses_a_config_that_breaks_a_rule(self):
        for keys, rule in (({"events_retention": "800d"}, "retention"),
                           # 761 days and 12 hours: past 25 months.
                           ({"events_retention": "18276h"}, "retention"),
                           ({"consent_period": "500d"}, "cookie_lifetime"),
                           ({"cookies": "analytics _pk_id 730d Matomo"}, "cookie_lifetime")):
            srv = Server(sections={"site.demo": dict(keys, consent_mode="exempt")})
            try:
                self.assertNotEqual(srv.start(expect_fail=True), 0)
                self.assertIn("breaks the rule '%s'" % rule, srv.stderr())
                r = run_seula("consent", "selftest", "--site", "demo", "--config",
                              srv.config_path)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertRegex(r.stdout, r"\[FAIL\] %s" % rule)
                # A site the config does not have is an error, on stderr.
                r = run_seula("consent", "selftest", "--site", "nosuch",
                              "--config", srv.config_path)
                self.assertEqual((r.returncode, r.stdout), (1, ""))
                self.assertIn("seula: no site 'nosuch' in the config", r.stderr)
            finally:
                srv.close()
        srv = Server(plugins=(), sections={"site.demo": {"consent_mode": "exempt"}})
        try:
            self.assertNotEqual(srv.start(expect_fail=True), 0)
            self.assertIn("'ip_masking'", srv.stderr())
        finally:
            srv.close()
        srv = Server(sections={"site.demo": {"consent_mode": "exempt"},
                               "plugin.anonymize": {"level": "1"}})
        try:
            self.assertNotEqual(srv.start(expect_fail=True), 0)
            self.assertIn("'ip_masking'", srv.stderr())
        finally:
            srv.close()

    def test_selftest_fails_cookieless_counting_without_the_hash(self):
        # Counting without consent needs the anonymize plugin's daily
        # hash: without it each page view is a visitor of its own.
        for plugins, sections, verdict in (
                (None, {}, "[ ok ] without_consent"),
                ((), {}, "[FAIL] without_consent"),
                (None, {"plugin.anonymize": {"visitor_hash": "false"}}, "[FAIL] without_consent"),
                ((), {"site.demo": {"without_consent": "drop"}}, "[ ok ] without_consent")):
            kw = {"sections": sections}
            if plugins is not None:
                kw["plugins"] = plugins
            srv = Server(**kw)
            try:
                r = run_seula("consent", "selftest", "--site", "demo", "--config",
                              srv.config_path)
                self.assertIn(verdict, r.stdout)
                self.assertEqual(r.returncode, 1 if "FAIL" in verdict else 0,
                                 r.stdout + r.stderr)
            finally:
                srv.close()

    def test_exempt_mode_measures_audience_only(self):
        srv = Server(sections={"site.demo": {"consent_mode": "exempt"}})
        try:
            r = run_seula("consent", "selftest", "--site", "demo", "--config",
                          srv.config_path)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # The six rules, and the texts (no database yet).
            self.assertEqual(len(re.findall(r"^\[ ok \]", r.stdout, re.M)), 7, r.stdout)
            srv.start()
            self.assertEqual(consent_config(srv)["mode"], "exempt")
            vid, objector = str(uuid.uuid4()), str(uuid.uuid4())
            withdrawn = str(uuid.uuid4())
            record_consent(srv, "reject_all", objector)
            record_consent(srv, "accept_all", withdrawn)
            record_consent(srv, "withdraw", withdrawn, source="preference_link")
            r = srv.collect([
                pageview(url="http://localhost/?utm_source=news&utm_campaign=x",
                         visitor_id=vid),
                pageview(url="http://localhost/o", visitor_id=objector),
                {"site": "demo", "type": "engagement", "url": "http://localhost/o",
                 "engagement_ms": 5000, "visitor_id": objector},
                pageview(url="http://localhost/w", visitor_id=withdrawn),
                {"site": "demo", "type": "event", "url": "http://localhost/",
                 "name": "signup"}])
            self.assertEqual(r.status, 204, r)
            # The objectors (Reject all, a withdrawal: statistics turned
            # off, as exempt_note tells them to) are not counted at all.
            rows = srv.query("SELECT path, visitor_id, visitor_hash IS NOT NULL AS hashed, "
                             "utm_source, utm_campaign, type FROM events ORDER BY id")
            self.assertEqual(rows, [
                {"path": "/", "visitor_id": vid, "hashed": 0, "utm_source": None,
                 "utm_campaign": None, "type": 1}])
        finally:
            srv.close()


if __name__ == "__main__":
    unittest.main()
