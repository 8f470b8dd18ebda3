"""Dated notes on a site's statistics (/api/stats/{site}/annotations)
against the real server: added, listed by day range, removed, shared by
the team, refused with a JSON error on bad input, audited, kept across a
kill -9, and read but never written with an API key.
"""
import csv
import io
import json
import os
import signal
import sqlite3
import unittest

from seulatest import Server, add_user, assert_json_error, login, run_seula

PASSWORDS = {"ann": "copper+Fjord+42+heron", "bo": "harbour=Lichen=63=owl",
             "cid": "velvet_Quarry_19_moss"}
ROLES = {"ann": "analyst", "bo": "admin", "cid": "customer_service"}
BASE = "/api/stats/demo/annotations"


class AnnotationTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=("anonymize", "analytics"))
        for name, role in ROLES.items():
            add_user(cls.srv, name, role, PASSWORDS[name])
        cls.srv.start()
        cls.ann = login(cls.srv, "ann", PASSWORDS["ann"])
        cls.bo = login(cls.srv, "bo", PASSWORDS["bo"])

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def add(self, who, date, text, status=201):
        r = who.request("POST", BASE, {"date": date, "text": text})
        self.assertEqual(r.status, status, r)
        return r.json()

    def listed(self, who=None, query=""):
        r = (who or self.ann).request("GET", BASE + query)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_added_listed_and_removed(self):
        a = self.add(self.ann, "2026-11-02", "Newsletter sent")
        b = self.add(self.bo, "2026-11-01", "Campaign <b>launched</b> ✓")
        c = self.add(self.ann, "2026-11-02", "Price change")
        self.assertEqual((a["date"], a["text"], a["by"]),
                         ("2026-11-02", "Newsletter sent", "ann"))
        self.assertRegex(a["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        got = self.listed(query="?from=2026-11-01&to=2026-11-02")
        self.assertEqual(got["site"], "demo")
        mine = [n for n in got["results"] if n["id"] in (a["id"], b["id"], c["id"])]
        # By day, then as added; text as written (escaping is the page's).
        self.assertEqual([n["id"] for n in mine], [b["id"], a["id"], c["id"]])
        self.assertEqual(mine[0]["text"], "Campaign <b>launched</b> ✓")
        self.assertEqual(mine[0]["by"], "bo")
        # The range's bounds are days, both inclusive.
        only = self.listed(query="?from=2026-11-02&to=2026-11-02")["results"]
        self.assertNotIn(b["id"], [n["id"] for n in only])
        self.assertIn(c["id"], [n["id"] for n in only])
        self.assertEqual(self.listed(query="?to=2026-10-31")["results"], [])
        # The team shares them: the admin removes the analyst's.
        r = self.bo.request("DELETE", "%s/%d" % (BASE, a["id"]))
        self.assertEqual(r.status, 204, r)
        ids = [n["id"] for n in self.listed()["results"]]
        self.assertNotIn(a["id"], ids)
        self.assertIn(c["id"], ids)
        assert_json_error(self, self.bo.request("DELETE", "%s/%d" % (BASE, a["id"])),
                          404, "not_found")
        # Both changes in the audit log, by who made them.
        rows = self.srv.query(
            "SELECT staff_name AS actor, action, detail FROM audit_log WHERE detail LIKE "
            "'annotation %d of %%' ORDER BY id" % a["id"])
        self.assertEqual([(r["actor"], r["action"], r["detail"]) for r in rows],
                         [("ann", "change",
                           "annotation %d of site demo on 2026-11-02 added" % a["id"]),
                          ("bo", "change",
                           "annotation %d of site demo on 2026-11-02 removed" % a["id"])])
        # Another site's path does not reach this site's notes.
        assert_json_error(self, self.bo.request(
            "DELETE", "/api/stats/nosuch/annotations/%d" % c["id"]), 404, "unknown_site")

    def test_bad_input(self):
        n = lambda: len(self.listed()["results"])  # noqa: E731
        before = n()
        for body, status, code in (
                ({"date": "2026-02-30", "text": "x"}, 400, "invalid_date"),
                ({"date": "26-1-1", "text": "x"}, 400, "invalid_date"),
                ({"date": 20261101, "text": "x"}, 400, "invalid_date"),
                ({"text": "x"}, 400, "invalid_date"),
                ({"date": "2026-11-01", "text": ""}, 400, "invalid_text"),
                ({"date": "2026-11-01", "text": " \u3000 "}, 400, "invalid_text"),
                ({"date": "2026-11-01", "text": "a\nb"}, 400, "invalid_text"),
                ({"date": "2026-11-01", "text": "a\u202eb"}, 400, "invalid_text"),
                ({"date": "2026-11-01", "text": "x" * 201}, 400, "invalid_text"),
                ({"date": "2026-11-01", "text": 5}, 400, "invalid_text"),
                ({"date": "2026-11-01", "text": "x", "by": "eve"}, 400, "unknown_field"),
                ([1, 2], 400, "invalid_json")):
            assert_json_error(self, self.ann.request("POST", BASE, body), status, code)
        # 200 characters of four bytes each is a note.
        self.add(self.ann, "2026-11-03", "\U0001F600" * 200)
        for raw, headers, status, code in (
                (b'{"date": "2026-11-01", "text": "x"', None, 400, "invalid_json"),
                (b'{"date": "2026-11-01", "text": "\xff"}', None, 400, "invalid_json"),
                (b'{"date": "2026-11-01", "date": "2026-11-02", "text": "x"}', None,
                 400, "invalid_json"),
                (b'{"date": "2026-11-01", "text": "x"}',
                 {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
                (b'{"date": "2026-11-01", "text": "' + b"x" * 5000 + b'"}', None,
                 413, "body_too_large")):
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            assert_json_error(self, self.ann.request("POST", BASE, raw, h), status, code)
        for q in ("?from=yesterday", "?to=2026-13-01"):
            assert_json_error(self, self.ann.request("GET", BASE + q), 400, "invalid_date")
        for bad in ("0", "-1", "x", "01", "99999999999999999999", "1.5"):
            assert_json_error(self, self.ann.request("DELETE", BASE + "/" + bad),
                              404, "not_found")
        assert_json_error(self, self.ann.request(
            "POST", "/api/stats/nosuch/annotations", {"date": "2026-11-01", "text": "x"}),
            404, "unknown_site")
        self.assertEqual(n(), before + 1)

    def test_roles_csrf_and_keys(self):
        cid = login(self.srv, "cid", PASSWORDS["cid"])
        assert_json_error(self, cid.request("GET", BASE), 403)
        assert_json_error(self, cid.request(
            "POST", BASE, {"date": "2026-11-01", "text": "x"}), 403)
        assert_json_error(self, self.ann.request(
            "POST", BASE, {"date": "2026-11-01", "text": "x"}, csrf=False), 403, "csrf_failed")
        note = self.add(self.ann, "2026-11-05", "Read by key")
        r = self.ann.request("POST", "/api/keys", {"name": "sheet"})
        self.assertEqual(r.status, 201, r)
        key = {"Authorization": "Bearer " + r.json()["key"]}
        r = self.srv.request("GET", BASE + "?from=2026-11-05&to=2026-11-05", headers=key)
        self.assertEqual(r.status, 200, r)
        got = [n for n in r.json()["results"] if n["id"] == note["id"]]
        # The note, but not who in the team wrote it.
        self.assertEqual(got, [{k: v for k, v in note.items() if k != "by"}])
        assert_json_error(self, self.srv.request(
            "POST", BASE, {"date": "2026-11-01", "text": "x"},
            dict(key, **{"Content-Type": "application/json"})), 403, "api_key_scope")
        assert_json_error(self, self.srv.request(
            "DELETE", "%s/%d" % (BASE, note["id"]), headers=key), 403, "api_key_scope")

    def test_in_the_report(self):
        # `seula report` lists the period's notes: JSON, CSV and HTML.
        self.add(self.ann, "2026-10-10", "Autumn =sale <launched>")
        self.add(self.bo, "2026-10-12", 'Said "hi", twice')
        self.add(self.ann, "2026-10-20", "After the period")
        args = ["report", "--config", self.srv.config_path, "--site", "demo",
                "--from", "2026-10-01", "--to", "2026-10-15"]
        r = run_seula(*args, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        # Not who in the team wrote them: a report is mailed on.
        self.assertEqual(json.loads(r.stdout)["annotations"], [
            {"date": "2026-10-10", "text": "Autumn =sale <launched>"},
            {"date": "2026-10-12", "text": 'Said "hi", twice'}])
        r = run_seula(*args, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        part = r.stdout.split("\nNotes\n", 1)[1].split("\n\n", 1)[0]
        self.assertEqual(list(csv.reader(io.StringIO(part))), [
            ["date", "text"], ["2026-10-10", "Autumn =sale <launched>"],
            ["2026-10-12", 'Said "hi", twice']])
        r = run_seula(*args, "--format", "html")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("<li><strong>2026-10-10</strong> Autumn =sale &lt;launched&gt;"
                      "</li>", r.stdout)
        self.assertNotIn("After the period", r.stdout)
        # A database the plugin's migration 15 has not reached: no notes,
        # the report all the same.
        srv = Server(plugins=("anonymize", "analytics"))
        self.addCleanup(srv.close)
        srv.start()
        srv.stop()
        with sqlite3.connect(srv.db_path) as db:
            db.execute("DROP TABLE analytics_annotations")
        r = run_seula("report", "--config", srv.config_path, "--site", "demo",
                      "--from", "2026-10-01", "--to", "2026-10-15", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["annotations"], [])

    def test_limit(self):
        srv = Server(plugins=("anonymize", "analytics"),
                     sites={"demo": "localhost", "other": "other.example"})
        self.addCleanup(srv.close)
        add_user(srv, "ann", "analyst", PASSWORDS["ann"])
        srv.start()
        srv.stop()
        with sqlite3.connect(srv.db_path) as db:
            db.executemany(
                "INSERT INTO analytics_annotations (site, day, text, by_name, "
                "created_at) VALUES ('demo', '2026-01-01', ?, 'ann', 0)",
                [("n%d" % i,) for i in range(999)])
        srv.start()
        ann = login(srv, "ann", PASSWORDS["ann"])
        self.assertEqual(ann.request("POST", BASE, {"date": "2026-11-01", "text": "x"}).status, 201)
        assert_json_error(self, ann.request("POST", BASE, {"date": "2026-11-01", "text": "y"}),
                          409, "too_many_annotations")
        # Another site has room of its own.
        r = ann.request("POST", "/api/stats/other/annotations", {"date": "2026-11-01", "text": "y"})
        self.assertEqual(r.status, 201, r)

    def test_acknowledged_note_survives_kill_9(self):
        srv = Server(plugins=("anonymize", "analytics"))
        self.addCleanup(srv.close)
        add_user(srv, "ann", "analyst", PASSWORDS["ann"])
        srv.start()
        ann = login(srv, "ann", PASSWORDS["ann"])
        r = ann.request("POST", BASE, {"date": "2026-11-06", "text": "Kept"})
        self.assertEqual(r.status, 201, r)
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait()
        rows = srv.query("SELECT day, text FROM analytics_annotations")
        self.assertEqual([(x["day"], x["text"]) for x in rows], [("2026-11-06", "Kept")])


if __name__ == "__main__":
    unittest.main()
