"""The exclude plugin: the company's own traffic (its networks, pages that
are no part of the public site, its test robot) is acknowledged and never
stored, for every site or for one; a mistyped entry stops the start; an
imported log's lines from such a network are counted as filtered.
A real server on loopback, a real SQLite file."""

import datetime
import os
import re
import unittest
import urllib.parse

from seulatest import Server, pageview, run_seula

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
X11 = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SITES = {"demo": "localhost, 127.0.0.1", "other": "other.example"}
RULES = {
    # An IPv6 range holds ':' of its own; a site's rule is SITE:ENTRY.
    "networks": "203.0.113.0/24, 2001:db8:42::/48, other:198.51.100.7, 192.0.2.1",
    # Typed as it reads: matched as stored, percent-encoded.
    "pages": "/preview/*, demo:/k\u00e4ytt\u00e4j\u00e4/*",
    "user_agents": "AcmeTestRobot, other:Mozilla/5.0 (X11",
}


def exclude_server(rules=None, plugins=("exclude", "anonymize")):
    return Server(plugins=plugins, sites=SITES,
                  sections={"plugin.exclude": rules if rules is not None else RULES})


class ExcludeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = exclude_server()
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def send(self, ip, site="demo", path="/", ua=UA, kind="pageview"):
        """One event from `ip` on `path`; whether it was stored."""
        host = "localhost" if site == "demo" else "other.example"
        ev = pageview(site=site, url="http://%s%s" % (host, path))
        if kind == "event":
            ev.update(type="event", name="signup", props={"plan": "pro"})
        before = self.srv.count()
        r = self.srv.collect([ev], headers={"X-Forwarded-For": ip, "User-Agent": ua,
                                            "Origin": "http://" + host})
        self.assertEqual(r.status, 204, (ip, site, path, r.body))
        return self.srv.count() - before == 1

    def test_networks(self):
        for ip, site, stored in [
                ("203.0.113.9", "demo", False), ("203.0.113.255", "other", False),
                ("203.0.114.1", "demo", True), ("203.0.112.255", "demo", True),
                ("2001:db8:42:1::5", "demo", False), ("2001:db8:43::1", "demo", True),
                # One address alone is a /32.
                ("192.0.2.1", "demo", False), ("192.0.2.2", "demo", True),
                # A site's own rule.
                ("198.51.100.7", "other", False), ("198.51.100.7", "demo", True),
                ("198.51.100.8", "other", True)]:
            self.assertEqual(self.send(ip, site), stored, (ip, site))
        # A custom event from there is left out too.
        self.assertFalse(self.send("203.0.113.9", kind="event"))
        self.assertTrue(self.send("203.0.114.9", kind="event"))
        # Nothing of the excluded addresses reached the database, masked
        # or not.
        for row in self.srv.query("SELECT ip_anon FROM events"):
            self.assertFalse((row["ip_anon"] or "").startswith("203.0.113."), row)

    def test_pages(self):
        for path, site, stored in [
                ("/preview/draft-1", "demo", False), ("/preview/a/b", "other", False),
                ("/previews", "demo", True), ("/preview", "demo", True),
                ("/k%C3%A4ytt%C3%A4j%C3%A4/asetukset", "demo", False),
                ("/k%C3%A4ytt%C3%A4j%C3%A4/asetukset", "other", True),
                ("/kayttaja/asetukset", "demo", True)]:
            self.assertEqual(self.send("10.9.0.1", site, path), stored, (path, site))
        self.assertFalse(self.send("10.9.0.1", path="/preview/x", kind="event"))

    def test_user_agents(self):
        robot = "Mozilla/5.0 (compatible; acmetestrobot/2.1)"
        self.assertFalse(self.send("10.8.0.1", ua=robot), "any case")
        self.assertFalse(self.send("10.8.0.1", site="other", ua=robot))
        # other's own rule: its X11 browsers.
        self.assertFalse(self.send("10.8.0.2", site="other", ua=X11))
        self.assertTrue(self.send("10.8.0.2", site="demo", ua=X11))
        self.assertTrue(self.send("10.8.0.3", site="other"))

    def test_a_batch_keeps_what_is_not_excluded(self):
        before = self.srv.count()
        events = [pageview(url="http://localhost/preview/x"), pageview(url="http://localhost/kept"),
                  pageview(url="http://localhost/preview/y")]
        r = self.srv.collect(events, headers={"X-Forwarded-For": "10.7.0.1", "User-Agent": UA})
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(self.srv.count() - before, 1)
        self.assertEqual(self.srv.query("SELECT path FROM events ORDER BY id DESC LIMIT 1"),
                         [{"path": "/kept"}])

    def test_the_pixel_answers_alike(self):
        # <img src=/api/collect?...> (no script): a left-out view is the
        # same 1x1 GIF as a counted one, not a 204 the page sees as a
        # broken image.
        replies = []
        for path in ("/preview/x", "/kept"):
            q = urllib.parse.urlencode({"site": "demo", "url": "http://localhost" + path,
                                        "type": "pageview"})
            r = self.srv.request("GET", "/api/collect?" + q, headers={"X-Forwarded-For": "10.6.0.1"})
            replies.append((r.status, r.header("Content-Type"), r.body))
        self.assertEqual(replies[0], replies[1])
        self.assertEqual(replies[0][:2], (200, "image/gif"))

    def test_help_names_the_keys(self):
        r = run_seula("help", "plugin", "exclude")
        self.assertEqual(r.returncode, 0, r.stderr)
        for key in ("networks", "pages", "user_agents"):
            self.assertIn(key, r.stdout)


class ExcludePatternTest(unittest.TestCase):
    def test_a_pattern_matches_as_the_dashboard_filter_does(self):
        # SQLite's GLOB, as page==/x[!a] in the API: [!a] is '!' or 'a',
        # [^a] anything else; not fnmatch()'s [!a].
        with exclude_server({"pages": "/x[!a], /y[^a]"}) as srv:
            for path, stored in [("/xa", False), ("/x!", False), ("/xb", True),
                                 ("/ya", True), ("/yb", False)]:
                before = srv.count()
                r = srv.collect([pageview(url="http://localhost" + path)])
                self.assertEqual(r.status, 204, r.body)
                self.assertEqual(srv.count() - before == 1, stored, path)


class ExcludeSiteLikeAnAddressTest(unittest.TestCase):
    SITES = {"demo": "localhost, 127.0.0.1", "cafe": "cafe.example"}

    def send(self, srv, ip, site):
        host = "localhost" if site == "demo" else "cafe.example"
        before = srv.count()
        r = srv.collect([pageview(site=site, url="http://%s/" % host)],
                        headers={"X-Forwarded-For": ip, "Origin": "http://" + host})
        self.assertEqual(r.status, 204, r.body)
        return srv.count() - before == 1

    def test_an_entry_read_two_ways_stops_the_start(self):
        # Site cafe's 2001:db8::/32, or cafe:2001:db8::/32 for every site.
        srv = Server(plugins=("exclude", "anonymize"), sites=self.SITES,
                     sections={"plugin.exclude": {"networks": "cafe:2001:db8::/32"}})
        try:
            srv.start(expect_fail=True)
            self.assertIn('networks: "cafe:2001:db8::/32"', srv.stderr())
        finally:
            srv.close()

    def test_brackets_say_which(self):
        rules = {"networks": "cafe:[2001:db8::]/32, [cafe:1::]/32, [2001:db8:42::1]"}
        with Server(plugins=("exclude", "anonymize"), sites=self.SITES,
                    sections={"plugin.exclude": rules}) as srv:
            for ip, site, stored in [("2001:db8::1", "cafe", False), ("2001:db8::1", "demo", True),
                                     ("cafe:1::5", "demo", False), ("cafe:2::5", "demo", True),
                                     ("2001:db8:42::1", "demo", False)]:
                self.assertEqual(self.send(srv, ip, site), stored, (ip, site))


class ExcludeMappedTest(unittest.TestCase):
    def test_an_ipv4_mapped_range_is_the_ipv4_one(self):
        # ::ffff:198.51.100.0/120 is 198.51.100.0/24: the collect path
        # reads a client's ::ffff:a.b.c.d as a.b.c.d.
        with exclude_server({"networks": "::ffff:198.51.100.0/120"}) as srv:
            before = srv.count()
            srv.collect([pageview()], headers={"X-Forwarded-For": "198.51.100.9"})
            srv.collect([pageview()], headers={"X-Forwarded-For": "::ffff:198.51.100.10"})
            srv.collect([pageview()], headers={"X-Forwarded-For": "198.51.101.9"})
            self.assertEqual(srv.count() - before, 1)


class ExcludeConfigTest(unittest.TestCase):
    def test_a_mistyped_entry_stops_the_start(self):
        for key, value, said in [
                ("networks", "10.0.0.0/33", 'networks: "10.0.0.0/33"'),
                ("networks", "10.0.0", 'networks: "10.0.0"'),
                ("networks", "nosuch:10.0.0.1", 'networks: "nosuch:10.0.0.1"'),
                ("networks", "demo:10.0.0.0/8x", 'networks: "demo:10.0.0.0/8x"'),
                ("pages", "preview/*", 'pages: "preview/*"'),
                ("pages", "nosuch:/x", 'pages: "nosuch:/x"'),
                ("pages", "demo:x", 'pages: "demo:x"'),
                ("user_agents", "demo:", 'user_agents: "demo:"')]:
            with self.subTest(key=key, value=value):
                srv = exclude_server({key: value})
                try:
                    srv.start(expect_fail=True)
                    self.assertIn(said, srv.stderr())
                finally:
                    srv.close()

    def test_no_entries_keeps_everything(self):
        with exclude_server({}) as srv:
            r = srv.collect([pageview()], headers={"X-Forwarded-For": "203.0.113.9"})
            self.assertEqual(r.status, 204)
            self.assertEqual(srv.count(), 1)


class ExcludeImportTest(unittest.TestCase):
    def test_an_imported_log_leaves_them_out_as_filtered(self):
        srv = exclude_server(plugins=("exclude", "anonymize", "analytics"))
        try:
            srv.create_db()
            t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
            stamp = t.strftime("%d/%b/%Y:%H:%M:%S +0000")
            lines = ['%s - - [%s] "GET %s HTTP/1.1" 200 512 "-" "%s"' % (ip, stamp, path, UA)
                     for ip, path in [("203.0.113.5", "/a"), ("198.51.100.5", "/b"),
                                      ("198.51.100.6", "/preview/c"), ("198.51.100.7", "/d"),
                                      # A dual-stack server's log writes
                                      # an IPv4 client as ::ffff:a.b.c.d.
                                      ("::ffff:203.0.113.6", "/e")]]
            log = os.path.join(srv.dir, "access.log")
            with open(log, "w") as f:
                f.write("\n".join(lines) + "\n")
            r = run_seula("import-log", "--config", srv.config_path, "--site", "demo", log,
                          timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # /a (a network) and /preview/c (a page) are excluded; /d is
            # only other's to leave out.
            self.assertRegex(r.stdout, r"5 lines read, 2 page views imported")
            self.assertRegex(r.stdout, r"3 skipped \([^)]*filtered 3")
            self.assertEqual(sorted(x["path"] for x in srv.query("SELECT path FROM events")),
                             ["/b", "/d"])
        finally:
            srv.close()


if __name__ == "__main__":
    unittest.main()
