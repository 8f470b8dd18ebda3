"""Enrichment on the real server: place, browser, OS, device, bots and
traffic source reach the database; hostile user agents neither crash nor
slow it; SIGHUP picks up a swapped GeoIP file without dropping traffic
(PROMISES #21, #25)."""
import os
import shutil
import signal
import threading
import time
import unittest

from seulatest import CITY_TEST_DB, DBIP_DB, ENRICH, Server, pageview, run_seula

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


class EnrichTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=ENRICH).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        cls.srv.close()
        assert rc == 0, rc

    def row(self, title):
        rows = self.srv.query("SELECT * FROM events WHERE title = ?", (title,))
        self.assertEqual(len(rows), 1)
        return rows[0]

    def test_all_dimensions(self):
        r = self.srv.collect(pageview(title="dims", referrer="https://www.google.co.uk/search?q=x"),
                             headers={"X-Forwarded-For": "81.2.69.160", "User-Agent": CHROME_WIN})
        self.assertEqual(r.status, 204)
        row = self.row("dims")
        self.assertEqual((row["country"], row["region"], row["city"]), ("GB", "GB-ENG", "London"))
        self.assertEqual((row["browser"], row["browser_version"]), ("Chrome", "131"))
        self.assertEqual((row["os"], row["os_version"]), ("Windows", "10"))
        self.assertEqual((row["device"], row["bot"]), ("desktop", 0))
        self.assertEqual((row["referrer_source"], row["referrer_name"]), ("search", "Google"))
        self.assertEqual(row["referrer"], "https://www.google.co.uk/search")
        self.assertEqual(row["ip_anon"], "81.2.0.0")

    def test_country_from_the_real_database(self):
        self.srv.collect(pageview(title="fi"), headers={"X-Forwarded-For": "193.166.3.1",
                                                         "User-Agent": IPHONE})
        row = self.row("fi")
        self.assertEqual(row["country"], "FI")
        self.assertEqual((row["device"], row["os"]), ("mobile", "iOS"))

    def test_bots_are_stored_apart(self):
        self.srv.collect(pageview(title="bot"), headers={"User-Agent": GOOGLEBOT})
        row = self.row("bot")
        self.assertEqual((row["bot"], row["device"], row["browser"]), (1, "bot", "Googlebot"))

    def test_client_hints(self):
        self.srv.collect(pageview(title="hints"), headers={
            "User-Agent": CHROME_WIN,
            "Sec-CH-UA": '"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
            "Sec-CH-UA-Mobile": "?0", "Sec-CH-UA-Platform": '"Windows"',
            "Sec-CH-UA-Platform-Version": '"15.0.0"'})
        row = self.row("hints")
        self.assertEqual((row["browser"], row["os"], row["os_version"]), ("Edge", "Windows", "11"))

    def test_campaign_and_direct(self):
        self.srv.collect(pageview(title="utm", url="http://localhost/?utm_source=news&utm_medium=email",
                                  referrer="https://mail.google.com/"))
        self.srv.collect(pageview(title="utm-cpc", url="http://localhost/?utm_source=google&utm_medium=cpc"))
        self.srv.collect(pageview(title="utm-plain", url="http://localhost/?utm_source=partner"))
        self.srv.collect(pageview(title="direct"))
        self.srv.collect(pageview(title="gmail-app", referrer="android-app://com.google.android.gm/"))
        self.srv.collect(pageview(title="fqdn", referrer="https://www.google.com./search"))
        # UTM parameters win; utm_medium says paid, email or social as
        # Google's channel grouping does, else a campaign; a known source
        # is spelt as the referrer list spells it.
        self.assertEqual(self.row("utm")["referrer_source"], "email")
        self.assertEqual(self.row("utm")["referrer_name"], "news")
        cpc = self.row("utm-cpc")
        self.assertEqual((cpc["referrer_source"], cpc["referrer_name"]), ("paid", "Google"))
        plain = self.row("utm-plain")
        self.assertEqual((plain["referrer_source"], plain["referrer_name"]),
                         ("campaign", "partner"))
        self.assertEqual(self.row("direct")["referrer_source"], "direct")
        gm = self.row("gmail-app")
        self.assertEqual((gm["referrer_source"], gm["referrer_name"]), ("email", "Gmail"))
        # A host written fully qualified (a trailing dot) is the same host.
        fqdn = self.row("fqdn")
        self.assertEqual((fqdn["referrer_source"], fqdn["referrer_name"]), ("search", "Google"))

    def test_campaign_without_source(self):
        # Only utm_source (or ref=, source=) names the source, as in
        # Plausible: a campaign or medium name never hides the referrer,
        # and a medium Google's grouping knows still sets the channel.
        self.srv.collect(pageview(title="spring", url="http://localhost/?utm_campaign=spring",
                                  referrer="https://www.google.com/"))
        self.srv.collect(pageview(title="medium", url="http://localhost/?utm_medium=partner",
                                  referrer="https://blog.example.org/post"))
        self.srv.collect(pageview(title="mail", url="http://localhost/?utm_medium=email"
                                  "&utm_campaign=nov"))
        self.srv.collect(pageview(title="ref", url="http://localhost/?ref=partner&utm_campaign=nov",
                                  referrer="https://www.google.com/"))
        got = {t: (self.row(t)["referrer_source"], self.row(t)["referrer_name"],
                   self.row(t)["utm_campaign"])
               for t in ("spring", "medium", "mail", "ref")}
        self.assertEqual(got, {"spring": ("search", "Google", "spring"),
                               "medium": ("website", "blog.example.org", None),
                               "mail": ("email", None, "nov"),
                               "ref": ("campaign", "partner", "nov")})

    def test_hostile_user_agents(self):
        t0 = time.monotonic()
        # 64 KiB: over the header limit, refused before any plugin runs.
        out = self.srv.raw(b"POST /api/collect HTTP/1.1\r\nHost: x\r\nUser-Agent: " +
                           b"A(" * 32768 + b"\r\nContent-Type: text/plain\r\n"
                           b"Content-Length: 2\r\n\r\n{}", timeout=5)
        self.assertTrue(out.startswith(b"HTTP/1.1 4"), out[:60])
        # Latin-1, control bytes and a near-limit pathological string:
        # stored, cleaned, quickly.
        for i, ua in enumerate([b"Mozilla/5.0 (Windows NT 10.0; Espa\xf1a) Firefox/120.0",
                                b"Mozilla/5.0 \x01\x02\x7f (X11; Linux)",
                                b"; Android " * 100 + b"Build/",
                                b"\xff\xfe" * 400]):
            body = b'{"site":"demo","type":"pageview","url":"http://localhost/","title":"ua%d"}' % i
            out = self.srv.raw(b"POST /api/collect HTTP/1.1\r\nHost: x\r\nUser-Agent: " + ua +
                               b"\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                               b"Connection: close\r\n\r\n" % len(body) + body)
            self.assertTrue(out.startswith(b"HTTP/1.1 204"), out[:80])
        self.assertEqual(self.row("ua0")["browser"], "Firefox")
        self.assertEqual(self.row("ua0")["os"], "Windows")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertTrue(self.srv.alive())


class ReloadTest(unittest.TestCase):
    def test_sighup_swaps_the_database_without_dropping_traffic(self):
        srv = Server(plugins=("geoip", "anonymize"))
        try:
            db = os.path.join(srv.dir, "geo.mmdb")
            shutil.copyfile(CITY_TEST_DB, db)
            with open(srv.config_path) as f:
                text = f.read()
            with open(srv.config_path, "w") as f:
                f.write(text.replace("databases = %s, %s" % (CITY_TEST_DB, DBIP_DB),
                                     "databases = %s" % db))
            srv.start()
            xff = {"X-Forwarded-For": "89.160.20.112"}
            srv.collect(pageview(title="before"), headers=xff)
            self.assertEqual(srv.query("SELECT city FROM events WHERE title='before'")[0]["city"],
                             "Linköping")

            stop = threading.Event()
            statuses = []

            def load():
                while not stop.is_set():
                    statuses.append(srv.collect(pageview(title="load"), headers=xff).status)

            t = threading.Thread(target=load)
            t.start()
            time.sleep(0.3)
            shutil.copyfile(DBIP_DB, db + ".new")
            os.rename(db + ".new", db)       # swap by rename, never in place
            srv.proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            with open(db + ".new", "wb") as f:  # a broken file: refused
                f.write(b"not a database")
            os.rename(db + ".new", db)
            srv.proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            stop.set()
            t.join()
            srv.collect(pageview(title="after"), headers=xff)
            after = srv.query("SELECT country, city FROM events WHERE title='after'")[0]
            self.assertEqual((after["country"], after["city"]), ("SE", None))
            self.assertTrue(statuses)
            self.assertEqual(set(statuses), {204})
            err = srv.stderr()
            self.assertIn("reopened 1 database", err)
            self.assertIn("reload failed, still serving the old state", err)
            self.assertEqual(srv.stop(), 0)
            print("SIGHUP under load: %d requests, all 204" % len(statuses))
        finally:
            srv.close()


class DataFileTest(unittest.TestCase):

    def test_a_data_file_that_is_no_file_stops_the_start_and_is_named(self):
        # A directory or a FIFO given for a plugin's data file: the start
        # fails at once naming it (a FIFO was waited on for ever, a
        # directory read as an empty document).
        folder = os.path.join(os.environ.get("TMPDIR", "/tmp"), "seula-data-%d" % os.getpid())
        os.makedirs(folder, exist_ok=True)
        fifo = os.path.join(folder, "fifo.json")
        if not os.path.exists(fifo):
            os.mkfifo(fifo)
        try:
            for plugin, key, path, said in (
                    ("useragent", "regexes", folder, "not a regular file: it is a directory"),
                    ("useragent", "crawlers", fifo, "not a regular file: it is a device or a pipe"),
                    ("referrer", "list", folder, "not a regular file: it is a directory"),
                    ("referrer", "list", fifo, "not a regular file: it is a device or a pipe")):
                srv = Server(plugins=(plugin, "anonymize"),
                             sections={"plugin." + plugin: {key: path}})
                try:
                    t0 = time.monotonic()
                    self.assertNotEqual(srv.start(expect_fail=True, timeout=20), 0)
                    self.assertLess(time.monotonic() - t0, 10)
                    self.assertIn("%s: %s" % (path, said), srv.stderr(), (plugin, key))
                finally:
                    srv.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class InspectTest(unittest.TestCase):
    def test_inspect_geo(self):
        r = run_seula("inspect-geo", "--db", CITY_TEST_DB, "81.2.69.160", "10.0.0.1", "nope")
        self.assertEqual(r.returncode, 1)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], '{"ip":"81.2.69.160","country":"GB","subdivision":"GB-ENG",'
                                   '"city":"London"}')
        self.assertEqual(lines[1], '{"ip":"10.0.0.1","country":null,"subdivision":null,"city":null}')
        self.assertIn('"error"', lines[2])
        r = run_seula("inspect-geo", "--db", "/nonexistent.mmdb", "1.2.3.4")
        self.assertEqual(r.returncode, 1)
        self.assertIn("No such file", r.stderr)

    def test_inspect_ua(self):
        from seulatest import NODE
        import json
        cfg = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "seula.ini.example")
        r = run_seula("inspect-ua", "--config", os.path.abspath(cfg),
                      input=CHROME_WIN + "\n" + GOOGLEBOT + "\n\n",
                      cwd=os.path.dirname(NODE))
        self.assertEqual(r.returncode, 0, r.stderr)
        docs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual(len(docs), 3)
        self.assertEqual(docs[0], {"ua": CHROME_WIN, "browser": {"family": "Chrome", "major": "131"},
                                   "os": {"family": "Windows", "major": "10"},
                                   "device": "desktop", "bot": False})
        self.assertTrue(docs[1]["bot"])
        self.assertEqual(docs[2]["ua"], "")


if __name__ == "__main__":
    unittest.main()
