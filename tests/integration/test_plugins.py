"""Plugins through the real loader and pipeline: every refusal stops the
server at start naming file and reason; routes run on the thread they ask
for; on_batch runs inside the commit; a full queue answers 503."""
import concurrent.futures
import json
import os
import shutil
import tempfile
import time
import unittest

from seulatest import Server, assert_json_error, pageview, TEST_PLUGIN_DIR


class RefusedAtStartTest(unittest.TestCase):
    def refused(self, plugins, *needles, sections=None):
        srv = Server(plugins=plugins, sections=sections)
        try:
            rc = srv.start(expect_fail=True)
            err = srv.stderr()
            self.assertNotEqual(rc, 0)
            for needle in needles:
                self.assertIn(needle, err)
            return err
        finally:
            srv.close()

    def test_abi_and_symbol_refusals(self):
        for name, reason in (("broken_major", "built for plugin ABI 2.0"),
                             ("broken_minor", "newer than this seula's"),
                             ("broken_size", "descriptor size 16"),
                             ("broken_nosymbol", "exports no 'seula_plugin' symbol"),
                             ("broken_undefined", "undefined symbol"),
                             ("broken_init", "init failed: the test asked init to fail"),
                             ("no_such_plugin", "cannot load plugin 'no_such_plugin'")):
            with self.subTest(plugin=name):
                self.refused((name,), "plugins/%s.so" % name, reason)

    def test_route_without_roles_refused(self):
        self.refused(("broken_noroles",), "/api/broken/open declares no roles")

    def test_stage_order_refused(self):
        self.refused(("anonymize", "enricher"),
                     "'enricher' (stage enrich) is listed after 'anonymize' (stage protect)")

    def test_bad_plugin_config_refused(self):
        err = self.refused(("anonymize",), "seula.ini:",
                           "[plugin.anonymize] level: 9 is out of range (1 to 4)",
                           sections={"plugin.anonymize": {"level": 9}})
        self.assertRegex(err, r"seula\.ini:\d+:")
        self.refused(("anonymize",), "[plugin.geoip] configures a plugin that is not loaded",
                     sections={"plugin.geoip": {"db": "x"}})


class RuntimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=("anonymize", "testkit")).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        cls.srv.close()
        assert rc == 0

    def test_loop_route(self):
        r = self.srv.request("GET", "/api/testkit/echo/hello%20world?q=x")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"name": "hello world", "q": "x"})
        self.assertEqual(r.header("X-Testkit"), "loop")
        self.assertEqual(r.header("Cache-Control"), "no-store")

    def test_reader_route_is_read_only(self):
        self.srv.collect(pageview(title="for reader"))
        r = self.srv.request("GET", "/api/testkit/count")
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertGreaterEqual(doc["events"], 1)
        self.assertTrue(doc["readonly"])

    def test_writer_route_commits_or_rolls_back(self):
        r = self.srv.request("POST", "/api/testkit/note", "remember me")
        self.assertEqual(r.status, 201, r)
        notes = [n["note"] for n in self.srv.query("SELECT note FROM testkit_notes")]
        self.assertIn("remember me", notes)
        r = self.srv.request("POST", "/api/testkit/note", "rollback")
        assert_json_error(self, r, 500)
        notes = [n["note"] for n in self.srv.query("SELECT note FROM testkit_notes")]
        self.assertNotIn("rollback", notes)

    def test_staff_route_closed_without_login(self):
        r = self.srv.request("GET", "/api/testkit/secret")
        assert_json_error(self, r, 401, "login_required")
        self.assertNotIn(b"leaked", r.body)

    def test_route_errors(self):
        r = self.srv.request("DELETE", "/api/testkit/count")
        assert_json_error(self, r, 405, "method_not_allowed")
        self.assertEqual(r.header("Allow"), "GET")
        assert_json_error(self, self.srv.request("GET", "/api/testkit/nothing"), 404, "not_found")
        assert_json_error(self, self.srv.request("GET", "/api"), 404)
        # Each says what was wrong.
        for bad, why in (("/api/testkit/echo/x?q=%00", "NUL"),
                         ("/api/testkit/echo/x?q=%FF", "not UTF-8"),
                         ("/api/testkit/echo/x?q=a%0Ab", "control character"),
                         ("/api/testkit/echo/%C0%AF", "path is not UTF-8"),
                         ("/api/testkit/echo/x?q=%zz", "two hex digits"),
                         ("/api/testkit/echo/x?q=a%", "two hex digits"),
                         ("/api/testkit/echo/x?q=%4", "two hex digits"),
                         ("/api/testkit/echo/x?=1", "no name"),
                         ("/api/testkit/echo/x?q=1&q=2", '"q" twice'),
                         ("/api/testkit/echo/x?q=1&debug&q=1", '"q" twice'),

                         ("/api/testkit/echo/x?" + "&".join(
                             "p%d=1" % i for i in range(101)), "over 100 parts")):
            with self.subTest(path=bad):
                r = self.srv.request("GET", bad)
                assert_json_error(self, r, 400, "bad_request")
                self.assertIn(why, r.json()["message"])
        # A long name given twice is cut at a character, not inside one:
        # the message is JSON.  (libevent does not decode names: raw bytes.)
        name = ("a" * 39 + "\u00e9").encode()
        got = self.srv.raw(b"GET /api/testkit/echo/x?" + name + b"=1&" + name
                           + b"=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body = got.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 400"), got[:200])
        self.assertEqual(json.loads(body), {
            "error": "bad_request", "message": 'the query gives "%s" twice' % ("a" * 39)})

    def test_query_parts_without_a_value(self):
        # "?debug", "&&" and a trailing "&" are what browsers and scripts
        # send; they must not turn a good request into a 400.
        for query in ("q=x&debug", "debug&q=x", "q=x&", "&&q=x&&", "q=x&a&b=",
                      "1700000000&q=x"):
            with self.subTest(query=query):
                r = self.srv.request("GET", "/api/testkit/echo/n?" + query)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json(), {"name": "n", "q": "x"})
        r = self.srv.request("GET", "/api/testkit/echo/n?q=x&"
                             + "&".join("p%d=1" % i for i in range(99)))
        self.assertEqual(r.status, 200, "100 parts are taken")
        r = self.srv.request("GET", "/api/testkit/echo/n?q=%41%2b+b")
        self.assertEqual(r.json()["q"], "A+ b")

    def test_on_batch_inside_the_commit(self):
        before = self.srv.query("SELECT coalesce(sum(events),0) AS n FROM testkit_batches")[0]["n"]
        self.assertEqual(self.srv.collect([pageview(title="b1"), pageview(title="b2")]).status, 204)
        after = self.srv.query("SELECT coalesce(sum(events),0) AS n FROM testkit_batches")[0]["n"]
        self.assertEqual(after - before, 2)
        # A failing on_batch rolls the whole batch back: nothing stored.
        r = self.srv.collect([pageview(title="fb-ok"), pageview(title="fail batch")])
        assert_json_error(self, r, 503, "storage_unavailable")
        self.assertEqual(self.srv.count("title IN ('fb-ok', 'fail batch')"), 0)

    def test_verdicts(self):
        self.assertEqual(self.srv.collect(pageview(title="drop me")).status, 204)
        self.assertEqual(self.srv.count("title = 'drop me'"), 0)
        r = self.srv.collect([pageview(title="fm-ok"), pageview(title="fail me")])
        assert_json_error(self, r, 500, "plugin_failed")
        self.assertEqual(self.srv.count("title IN ('fm-ok', 'fail me')"), 0)


class TaskHealthTest(unittest.TestCase):
    """A periodic task that fails shows in /api/health: events still go in,
    so the answer stays 200 unless a monitor asks for ?strict=1."""

    def test_failing_task_degrades_health_until_it_runs_again(self):
        scratch = tempfile.mkdtemp(prefix="seula-task-")
        self.addCleanup(shutil.rmtree, scratch, True)
        fail_file = os.path.join(scratch, "fail-task")
        srv = Server(plugins=("anonymize", "testkit"), sections={
            "plugin.testkit": {"task_fail_file": fail_file}})
        srv.start()
        try:
            h = srv.request("GET", "/api/health")
            self.assertEqual((h.status, h.json()["status"]), (200, "ok"), h)
            self.assertNotIn("failing_tasks", h.json())
            self.assertEqual(srv.request("GET", "/api/health?strict=1").status, 200)

            open(fail_file, "w").close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                doc = srv.request("GET", "/api/health").json()
                if doc["status"] == "degraded" and doc["failing_tasks"][0]["failures"] >= 2:
                    break
                time.sleep(0.2)
            h = srv.request("GET", "/api/health")
            self.assertEqual(h.status, 200, "the server still stores: a balancer keeps it")
            doc = h.json()
            self.assertEqual(doc["status"], "degraded", doc)
            self.assertIn("a periodic task failed", doc["message"])
            [task] = doc["failing_tasks"]
            self.assertEqual((task["task"], task["owner"]), ("testkit-flaky", "testkit"))
            self.assertGreaterEqual(task["failures"], 2)
            self.assertRegex(task["since"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            # The streak keeps its start.
            since = task["since"]
            time.sleep(1.2)
            self.assertEqual(srv.request("GET", "/api/health").json()
                             ["failing_tasks"][0]["since"], since)
            # Why stays in the log, not in a public answer.
            self.assertNotIn("told to fail", h.body.decode())
            self.assertIn("task testkit-flaky failed: told to fail", srv.stderr())
            strict = srv.request("GET", "/api/health?strict=1")
            self.assertEqual((strict.status, strict.json()["status"]), (503, "degraded"))
            self.assertEqual(strict.header("Retry-After"), "5")
            self.assertEqual(srv.request("HEAD", "/api/health?strict=true").status, 503)
            self.assertEqual(srv.request("GET", "/api/health?strict=0").status, 200)
            assert_json_error(self, srv.request("GET", "/api/health?strict=maybe"),
                              400, "bad_request")
            assert_json_error(self, srv.request("GET", "/api/health?strict=%zz"),
                              400, "bad_request")
            self.assertEqual(srv.collect(pageview(title="while failing")).status, 204)
            self.assertEqual(srv.count("title = 'while failing'"), 1)

            os.unlink(fail_file)
            deadline = time.monotonic() + 10
            while (time.monotonic() < deadline
                   and srv.request("GET", "/api/health").json()["status"] != "ok"):
                time.sleep(0.2)
            h = srv.request("GET", "/api/health?strict=1")
            self.assertEqual((h.status, h.json()["status"]), (200, "ok"), h)
            self.assertNotIn("failing_tasks", h.json())
        finally:
            rc = srv.stop()
            srv.close()
        self.assertEqual(rc, 0)


class NoAnonymizerTest(unittest.TestCase):
    def test_core_wipes_the_ip_without_any_protect_plugin(self):
        # No anonymize plugin: the core still wipes the full address after
        # the protect stage, so filter plugins never see it and nothing
        # stores it.
        with Server(plugins=("enricher", "testkit")) as srv:
            r = srv.collect(pageview(title="probe ip"), headers={"X-Forwarded-For": "203.0.113.55"})
            self.assertEqual(r.status, 204)
            row = srv.query("SELECT props, ip_anon, country, visitor_hash FROM events")[0]
            self.assertEqual(json.loads(row["props"]), {"ip": "gone"})
            self.assertEqual(row["country"], "ZZ")  # the enrich stage did see it
            self.assertIsNone(row["ip_anon"])
            self.assertIsNone(row["visitor_hash"])
            for data in srv.db_files().values():
                self.assertNotIn(b"203.0.113.55", data)
                self.assertNotIn(bytes([203, 0, 113, 55]), data)


class BackpressureTest(unittest.TestCase):
    def test_full_queue_answers_503(self):
        srv = Server(plugins=("anonymize", "testkit"),
                     limits={"queue_capacity": 4, "batch_max_events": 2,
                             "max_events_per_request": 2},
                     sections={"plugin.testkit": {"batch_delay_ms": 200}})
        try:
            srv.start()
            with concurrent.futures.ThreadPoolExecutor(24) as pool:
                results = list(pool.map(
                    lambda i: (i, srv.collect(pageview(title="bp-%d" % i))), range(24)))
            ok = {i for i, r in results if r.status == 204}
            busy = [r for i, r in results if r.status == 503]
            self.assertTrue(busy, "no request was refused")
            self.assertTrue(ok, "no request was accepted")
            for r in busy:
                assert_json_error(self, r, 503, "queue_full")
                self.assertEqual(r.header("Retry-After"), "1")
            stored = {int(r["title"][3:]) for r in srv.query(
                "SELECT title FROM events WHERE title LIKE 'bp-%'")}
            self.assertEqual(stored, ok)
            self.assertTrue(srv.alive())
            print("queue full: %d accepted, %d refused with 503" % (len(ok), len(busy)))
        finally:
            srv.close()


class WorkersTest(unittest.TestCase):
    def test_two_workers_share_the_port(self):
        with Server(server={"workers": 2}) as srv:
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                statuses = list(pool.map(
                    lambda i: srv.collect(pageview(title="mw-%d" % i)).status, range(400)))
            self.assertEqual(statuses, [204] * 400)
            self.assertEqual(srv.count("title LIKE 'mw-%'"), 400)
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
