"""Content groups (the interest categories of what was read) against the
real server: GET /api/stats/{site}/breakdown?dimension=content_group and
the content_group==NAME filter, every figure checked against a brute-force
count over the raw events the server stored.

A group is a set of page patterns; its visitors and visits are those that
viewed one of its pages at least once (a visit reading two of them is one
visit of the group), its page views those of its pages.
"""
import csv
import fnmatch
import io
import time
import unittest
import urllib.parse

import json

from seulatest import (Server, add_user, assert_json_error, login, pageview,
                       run_seula)
from test_funnels import TIMEOUT_S, local_day, raw_visits

PASSWORD = "groups-test-password-42"
PLUGINS = ("useragent", "referrer", "anonymize", "analytics")
GROUPS = {"Docs": ["/docs/*", "/guide/*"], "Blog": ["/blog/*"],
          "Käyttö": ["/käyttö/*"], "Unread": ["/nothing/*"]}
CONFIG = ", ".join("demo:%s:%s" % (n, "|".join(p)) for n, p in GROUPS.items())
DESKTOP = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
           "Gecko) Chrome/120.0.0.0 Safari/537.36")
MOBILE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/"
          "605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")

# Each visitor's visits, each a list of paths viewed.
TRAFFIC = [
    (DESKTOP, [["/docs/a", "/docs/b", "/blog/x"]]),  # Docs twice in a visit
    (DESKTOP, [["/docs/a"], ["/guide/z", "/"]]),  # Docs in two visits
    (MOBILE, [["/blog/y", "/blog/z", "/blog/y"]]),
    (MOBILE, [["/", "/pricing"]]),  # no group
    (DESKTOP, [["/k%C3%A4ytt%C3%B6/ohje", "/docs/c"]]),
    (MOBILE, [["/docsy", "/guide"]]),  # near misses: /docs/* and /guide/*
]


def encoded(pattern):
    return urllib.parse.quote(pattern, safe="/*?")


def in_group(path, name):
    return any(fnmatch.fnmatchcase(path or "/", encoded(p)) for p in GROUPS[name])


def expect(server, name, keep=lambda v: True):
    """The group's row by brute force over the raw page views."""
    visits = [v for v in raw_visits(server) if keep(v)]
    hit = [v for v in visits
           if any(e["type"] == 1 and in_group(e["path"], name) for e in v["evs"])]
    views = sum(1 for v in visits for e in v["evs"]
                if e["type"] == 1 and in_group(e["path"], name))
    return {"content_group": name, "visitors": len({v["visitor"] for v in hit}),
            "visits": len(hit), "pageviews": views}


class ContentGroupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.server = Server(plugins=PLUGINS, sections={
            "plugin.analytics": {"visit_timeout": "%ds" % TIMEOUT_S,
                                 "rollup_delay": "0",
                                 "goals": "demo:page:/blog/*",
                                 # A group's row under a segment's filter
                                 # is not the segment's rollups; a group
                                 # may be a segment.
                                 "segments": "demo:device==mobile, "
                                             "demo:content_group==Blog",
                                 "content_groups": CONFIG}})
        s.start()
        add_user(s, "ana", "analyst", PASSWORD)
        cls.staff = login(s, "ana", PASSWORD)
        for rnd in range(2):
            if rnd:
                time.sleep(TIMEOUT_S + 0.6)
            for i, (ua, visits) in enumerate(TRAFFIC):
                if rnd >= len(visits):
                    continue
                h = {"User-Agent": "%s g%d" % (ua, i),
                     "X-Forwarded-For": "203.0.113.%d" % (i + 1)}
                for path in visits[rnd]:
                    r = s.collect([pageview(url="http://localhost" + path)], headers=h)
                    assert r.status in (200, 202, 204), r
                    time.sleep(0.003)
            # A bot reading the docs: no visitor of them.
            s.collect([pageview(url="http://localhost/docs/a")],
                      headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
        cls.range = "from=%s&to=%s" % (local_day(-1), local_day(1))
        # Every visit ended and in the rollups (the segment's too).
        for _ in range(100):
            if not s.query("SELECT 1 FROM analytics_visits WHERE closed = 0"):
                break
            time.sleep(0.1)
        assert not s.query("SELECT 1 FROM analytics_visits WHERE closed = 0")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def get(self, query):
        r = self.staff.request("GET", "/api/stats/demo/breakdown?dimension=content_group&%s&%s"
                               % (self.range, query))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def summary(self, flt):
        r = self.staff.request("GET", "/api/stats/demo/summary?%s&filter=%s"
                               % (self.range, urllib.parse.quote(flt)))
        self.assertEqual(r.status, 200, r)
        return r.json()["results"]

    @staticmethod
    def counts(rows):
        return [{k: r[k] for k in ("content_group", "visitors", "visits", "pageviews")}
                for r in rows]

    def test_each_group_counts_what_its_pages_had(self):
        got = self.get("")
        want = sorted((expect(self.server, n) for n in GROUPS),
                      key=lambda r: (-r["visitors"], -r["visits"], r["content_group"]))
        self.assertEqual(self.counts(got["results"]), want)
        self.assertEqual(got["dimension"], "content_group")
        self.assertFalse(got["more"])
        # The figures the traffic was written for, lest the brute force
        # and the server agree on a wrong reading.
        by = {r["content_group"]: (r["visitors"], r["visits"], r["pageviews"])
              for r in got["results"]}
        self.assertEqual(by, {"Docs": (3, 4, 5), "Blog": (2, 2, 4),
                              "Käyttö": (1, 1, 1), "Unread": (0, 0, 0)})

    def test_a_group_filter_is_its_pages_filter(self):
        for name, patterns in GROUPS.items():
            as_pages = "page==" + "|".join(patterns)
            self.assertEqual(self.summary("content_group==" + name),
                             self.summary(as_pages), name)
            self.assertEqual(self.summary("content_group!=" + name),
                             self.summary(as_pages.replace("==", "!=", 1)), name)
        # Alternatives: the pages of either group.
        self.assertEqual(self.summary("content_group==Docs|Blog"),
                         self.summary("page==/docs/*|/guide/*|/blog/*"))
        # With another filter: the mobile visitors of the blog.
        mobile = expect(self.server, "Blog", keep=lambda v: v["device"] == "mobile")
        got = self.get("filter=" + urllib.parse.quote("device==mobile"))
        self.assertEqual([r for r in self.counts(got["results"])
                          if r["content_group"] == "Blog"], [mobile])
        # A group's pages broken down: its pages alone.
        r = self.staff.request("GET", "/api/stats/demo/breakdown?dimension=page&%s&filter=%s"
                               % (self.range, urllib.parse.quote("content_group==Docs")))
        self.assertEqual(sorted(x["page"] for x in r.json()["results"]),
                         ["/docs/a", "/docs/b", "/docs/c", "/guide/z"])

    def test_the_report_takes_a_group_filter(self):
        r = run_seula("report", "--config", self.server.config_path, "--site", "demo",
                      "--from", str(local_day(-1)), "--to", str(local_day(1)),
                      "--filter", "content_group==Docs", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = json.loads(r.stdout)["summary"]
        want = self.summary("content_group==Docs")
        self.assertEqual((got["visitors"], got["visits"], got["pageviews"]),
                         (want["visitors"], want["visits"], want["pageviews"]))
        self.assertEqual(got["visitors"], 3)

    def report(self, fmt, config=None, *extra):
        r = run_seula("report", "--config", config or self.server.config_path,
                      "--site", "demo", "--from", str(local_day(-1)),
                      "--to", str(local_day(1)), "--format", fmt, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_the_report_has_a_table_of_groups(self):
        got = json.loads(self.report("json"))["content_groups"]
        self.assertEqual(self.counts(got), self.counts(self.get("")["results"]))
        self.assertEqual(len(got), len(GROUPS))  # the unread group too
        # --limit as for every table, the rows ranked as the API's.
        got = json.loads(self.report("json", None, "--limit", "2"))["content_groups"]
        self.assertEqual(self.counts(got), self.counts(self.get("limit=2")["results"]))
        # Under a group filter: that group's row alone, as the API's.
        got = json.loads(self.report("json", None, "--filter", "content_group==Blog"))
        self.assertEqual(self.counts(got["content_groups"]), [expect(self.server, "Blog")])
        text = self.report("csv")
        # (run_seula reads text: its CRLFs are newlines)
        section = text.split("\nContent groups\n", 1)[1].split("\n\n", 1)[0]
        rows = list(csv.DictReader(io.StringIO(section)))
        self.assertEqual([(r["content_group"], int(r["visitors"])) for r in rows],
                         [("Docs", 3), ("Blog", 2), ("Käyttö", 1), ("Unread", 0)])
        html = self.report("html")
        self.assertIn("<h2>Content groups</h2>", html)
        self.assertIn("Käyttö", html)
        # A site without groups: no section, an empty list.
        import os
        import tempfile
        conf = open(self.server.config_path).read()
        self.assertIn("content_groups", conf)
        with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
            f.write("\n".join(l for l in conf.splitlines()
                              if not l.startswith("content_groups")
                              and "content_group==" not in l))
        try:
            self.assertEqual(json.loads(self.report("json", f.name))["content_groups"], [])
            self.assertNotIn("Content groups", self.report("csv", f.name))
            self.assertNotIn("Content groups", self.report("html", f.name))
        finally:
            os.unlink(f.name)

    def test_a_funnel_takes_a_group_filter(self):
        def funnel(flt):
            r = self.staff.request("GET", "/api/stats/demo/funnel?%s&steps=%s&filter=%s" % (
                self.range, urllib.parse.quote("page:/docs/*>page:/blog/*"),
                urllib.parse.quote(flt)))
            self.assertEqual(r.status, 200, r)
            return r.json()["results"]
        got = funnel("content_group==Docs")
        self.assertEqual(got, funnel("page==/docs/*|/guide/*"))
        self.assertEqual([x["visits"] for x in got], [3, 1])

    def test_a_group_filter_shows_its_own_row(self):
        got = self.get("filter=" + urllib.parse.quote("content_group==Docs"))
        self.assertEqual(self.counts(got["results"]), [expect(self.server, "Docs")])
        got = self.get("filter=" + urllib.parse.quote("content_group!=Docs"))
        self.assertNotIn("Docs", [x["content_group"] for x in got["results"]])
        # Visits without a docs page that read the blog.
        blog = [x for x in got["results"] if x["content_group"] == "Blog"]
        self.assertEqual(self.counts(blog), [expect(
            self.server, "Blog",
            keep=lambda v: not any(e["type"] == 1 and in_group(e["path"], "Docs")
                                   for e in v["evs"]))])

    def test_paging_csv_comparison_and_conversion(self):
        first = self.get("limit=2")
        self.assertEqual(len(first["results"]), 2)
        self.assertTrue(first["more"])
        second = self.get("limit=2&page=2")
        self.assertFalse(second["more"])
        self.assertEqual([x["content_group"] for x in first["results"] + second["results"]],
                         [x["content_group"] for x in self.get("")["results"]])
        r = self.staff.request("GET", "/api/stats/demo/breakdown?dimension=content_group&%s&format=csv"
                               % self.range)
        self.assertEqual(r.status, 200, r)
        rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8"))))
        self.assertEqual([(x["content_group"], int(x["visitors"])) for x in rows],
                         [(x["content_group"], x["visitors"]) for x in self.get("")["results"]])
        cmp = self.get("compare=previous_period")
        self.assertEqual(len(cmp["comparison"]["results"]), len(cmp["results"]))
        self.assertEqual({x["content_group"] for x in cmp["comparison"]["results"]},
                         set(GROUPS))
        # With a goal: each group's conversion rate, its base the group's
        # visitors (the goal is a blog page).
        got = self.get("filter=%s&metric=visitors,conversion_rate"
                       % urllib.parse.quote("goal==Visit /blog/*"))
        docs = [x for x in got["results"] if x["content_group"] == "Docs"][0]
        base = expect(self.server, "Docs")["visitors"]
        self.assertEqual(docs["visitors"], 1)  # the one visitor of both
        self.assertEqual(docs["conversion_rate"], round(100.0 * 1 / base, 1))

    def test_the_dashboard_is_told_the_groups(self):
        r = self.staff.request("GET", "/api/stats/sites")
        self.assertEqual(r.json()["content_groups"], {"demo": list(GROUPS)})

    def test_bad_names(self):
        for flt, says in (("content_group==Nope", 'site demo has no content group "Nope"'),
                          ("content_group==Docs|Nope", '"Nope"'),
                          ("content_group==", 'filter "content_group": the value is '
                                              "empty (want a content group's name)"),
                          ("goal==", 'filter "goal": the value is empty '
                                     "(want a goal's name)")):
            r = self.staff.request("GET", "/api/stats/demo/summary?filter="
                                   + urllib.parse.quote(flt))
            assert_json_error(self, r, 400)
            self.assertIn(says, r.json()["message"], flt)

    def test_config_errors(self):
        for bad, says in (("demo:Docs", "SITE:NAME:PATTERN"),
                          (":Docs:/a", "SITE:NAME:PATTERN"),
                          ("demo::/a", "SITE:NAME:PATTERN"),
                          ("demo:Docs:docs/*", "starts with /"),
                          ("demo:Docs:/a||/b", "starts with /"),
                          ("demo:A*:/a", "without | ; , = [ ] * ?"),
                          ("demo:" + "x" * 101 + ":/a", "1 to 100 bytes"),
                          ("demo:Docs:" + "|".join(["/a"] * 51), "at most 50"),
                          ("demo:Docs:/a, demo:Docs:/b", "already")):
            s = Server(plugins=PLUGINS, sections={"plugin.analytics": {
                "content_groups": bad}})
            try:
                s.start(expect_fail=True)
                err = s.stderr()
            finally:
                s.close()
            self.assertIn("content_groups:", err, bad)
            self.assertIn(says, err, bad)


if __name__ == "__main__":
    unittest.main()
