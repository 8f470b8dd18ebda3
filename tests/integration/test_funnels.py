"""Funnels (GET /api/stats/{site}/funnel) against the real server, every
figure checked against a brute-force count over the raw events it stored.

The brute force rebuilds the visits from the events (per visitor, a gap
over the timeout starts a new one; engagement events and bots are no part
of them) and decides whether a visit reached step k by trying every choice
of k of its events in order, not by the server's one-pass walk.
"""
import csv
import datetime
import io
import itertools
import json
import math
import random
import sqlite3
import time
import unittest
import urllib.parse
import zoneinfo

from seulatest import (Server, add_user, assert_json_error, login, pageview,
                       record_consent, run_seula)

TIMEOUT_S = 2
PASSWORD = "funnel-test-password-42"
PLUGINS = ("useragent", "referrer", "anonymize", "analytics")
SIGNUP = ["page:/pricing*", "event:Signup", "page:/thanks"]
BLOG = ["page:/blog/*", "page:/about"]
FUNNELS = "demo:signup:%s, demo:blog:%s" % (">".join(SIGNUP), ">".join(BLOG))
DESKTOP = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
           "Gecko) Chrome/120.0.0.0 Safari/537.36")
MOBILE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/"
          "605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")

# What each visitor does, visit by visit: ("p", path) a page view, ("e",
# name) a custom event.  The comment says what the signup funnel makes of it.
TRAFFIC = [
    (DESKTOP, [[("p", "/pricing"), ("e", "Signup"), ("p", "/thanks")]]),  # 3
    # Out of order: the thank-you page before pricing does not count.
    (DESKTOP, [[("p", "/thanks"), ("p", "/pricing"), ("e", "Signup")]]),  # 2
    # Skips the event: step 3's page without step 2 is not step 3.
    (DESKTOP, [[("p", "/pricing"), ("p", "/thanks")]]),  # 1
    # Repeats count once.
    (DESKTOP, [[("p", "/pricing"), ("p", "/pricing/team"), ("e", "Signup"),
                ("e", "Signup"), ("p", "/thanks"), ("p", "/thanks")]]),  # 3
    (DESKTOP, [[("p", "/"), ("p", "/about")]]),  # 0
    # Two visits of one visitor: one of them completes it.
    (DESKTOP, [[("p", "/pricing")],
               [("p", "/pricing"), ("e", "Signup"), ("p", "/thanks")]]),  # 1, 3
    # The event before the page: step 1 only.
    (DESKTOP, [[("e", "Signup"), ("p", "/pricing"), ("p", "/thanks")]]),  # 1
    (MOBILE, [[("p", "/pricing"), ("e", "Signup"), ("p", "/thanks")]]),  # 3
    (MOBILE, [[("p", "/blog/a"), ("p", "/pricing"), ("p", "/about")]]),  # 1
    (DESKTOP, [[("p", "/blog/b"), ("p", "/about"), ("e", "Other")]]),  # 0
]


def local_day(offset=0):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return d + datetime.timedelta(days=offset)


def rate(part, whole):
    """query.c's round_to(100 * part / whole, 1); None over nobody."""
    if whole <= 0:
        return None
    return math.floor(100.0 * part / whole * 10 + 0.5) / 10


def step_done(step, ev):
    kind, _, what = step.partition(":")
    if kind == "page":
        return ev["type"] == 1 and _glob(what, ev["path"] or "/")
    return ev["type"] == 2 and (ev["name"] or "(none)") == what


def _glob(pattern, text):
    # GLOB's * and ? (the tests use no [...]), case-sensitive.
    import fnmatch
    return fnmatch.fnmatchcase(text, pattern)


def raw_visits(server, site="demo"):
    """The visits of the raw events, each {visitor, start, device, evs}."""
    rows = server.query(
        "SELECT id, type, ts, path, name, visitor_id, visitor_hash, device, "
        "coalesce(bot, 0) AS bot FROM events WHERE site = ? ORDER BY ts, id",
        (site,))
    visits, open_ = [], {}
    for r in rows:
        if r["bot"] or r["type"] not in (1, 2):
            continue
        who = r["visitor_id"] or r["visitor_hash"]
        v = open_.get(who)
        if v is None or r["ts"] - v["last"] > TIMEOUT_S * 1000:
            v = {"visitor": who, "start": r["ts"], "last": r["ts"],
                 "device": r["device"], "evs": []}
            visits.append(v)
            open_[who] = v
        v["last"] = r["ts"]
        v["evs"].append(r)
    return visits


def reached(visit, steps):
    """The most steps, in order, that some choice of the visit's events
    completes, one event a step."""
    evs = visit["evs"]
    for k in range(len(steps), 0, -1):
        for pick in itertools.combinations(range(len(evs)), k):
            if all(step_done(steps[j], evs[i]) for j, i in enumerate(pick)):
                return k
    return 0


def span(from_day, to_day, tz):
    """[t0, t1) ms of the local days, as the reports take them."""
    z = zoneinfo.ZoneInfo(tz)
    t0 = datetime.datetime.combine(from_day, datetime.time(), z)
    t1 = datetime.datetime.combine(to_day + datetime.timedelta(days=1),
                                   datetime.time(), z)
    return int(t0.timestamp() * 1000), int(t1.timestamp() * 1000)


def expect(server, steps, from_day, to_day, tz="UTC", keep=lambda v: True):
    t0, t1 = span(from_day, to_day, tz)
    visits = [v for v in raw_visits(server) if t0 <= v["start"] < t1 and keep(v)]
    got = [(v, reached(v, steps)) for v in visits]
    rows, prev = [], None
    for k in range(1, len(steps) + 1):
        at = [v for v, n in got if n >= k]
        n = len(at)
        first = rows[0]["visits"] if rows else n
        rows.append({
            "step": k, "definition": steps[k - 1], "visits": n,
            "visitors": len({v["visitor"] for v in at}),
            "conversion_rate": rate(n, first),
            "dropoff": None if prev is None else prev - n,
            "dropoff_rate": None if prev is None else rate(prev - n, prev),
        })
        prev = n
    return {"visits": len(visits), "visitors": len({v["visitor"] for v in visits}),
            "conversion_rate": rate(rows[-1]["visits"], len(visits)),
            "results": rows}


class FunnelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.server = Server(plugins=PLUGINS, sections={
            "plugin.analytics": {"visit_timeout": "%ds" % TIMEOUT_S,
                                 "goals": "demo:event:Signup",
                                 "funnels": FUNNELS}})
        # Three days ago, two visits of the blog funnel either side of
        # 15:00 UTC, midnight in Tokyo: one Tokyo day apart, one UTC day.
        cls.edge = local_day(-3)
        at = datetime.datetime.combine(cls.edge, datetime.time(14, 30),
                                       datetime.timezone.utc)
        lines = []
        for i, t in enumerate((at, at + datetime.timedelta(hours=1))):
            for k, path in enumerate(("/blog/a", "/about")):
                lines.append('198.51.100.%d - - [%s] "GET %s HTTP/1.1" 200 512 "-" "%s"' % (
                    10 + i, (t + datetime.timedelta(seconds=k)).strftime(
                        "%d/%b/%Y:%H:%M:%S +0000"), path, DESKTOP + " edge%d" % i))
        s.create_db()
        path = s.dir + "/edge.log"
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = run_seula("import-log", "--config", s.config_path, "--site", "demo",
                      path, timeout=120)
        assert r.returncode == 0, r.stderr
        s.start()
        add_user(s, "ana", "analyst", PASSWORD)
        add_user(s, "cs", "customer_service", PASSWORD)
        cls.staff = login(s, "ana", PASSWORD)
        cls.cs = login(s, "cs", PASSWORD)
        import time
        for rnd in range(2):
            if rnd:
                time.sleep(TIMEOUT_S + 0.6)
            for i, (ua, visits) in enumerate(TRAFFIC):
                if rnd >= len(visits):
                    continue
                h = {"User-Agent": "%s f%d" % (ua, i),
                     "X-Forwarded-For": "203.0.113.%d" % (i + 1)}
                for kind, what in visits[rnd]:
                    ev = (pageview(url="http://localhost" + what) if kind == "p"
                          else {"site": "demo", "type": "event", "name": what,
                                "url": "http://localhost/pricing"})
                    r = s.collect([ev], headers=h)
                    assert r.status in (200, 202, 204), r
                    time.sleep(0.003)
            # A bot on the way: never a visit.
            s.collect([pageview(url="http://localhost/pricing")],
                      headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def funnel(self, status=200, **params):
        params.setdefault("from", local_day(-5).isoformat())
        params.setdefault("to", local_day(1).isoformat())
        r = self.staff.request("GET", "/api/stats/demo/funnel?" +
                               urllib.parse.urlencode(params))
        if status == 200:
            self.assertEqual(r.status, 200, r)
        return r

    def check(self, got, want, steps, label):
        for k in ("visits", "visitors", "conversion_rate"):
            self.assertEqual(got[k], want[k], "%s: %s" % (label, k))
        self.assertEqual(len(got["results"]), len(steps), label)
        for g, w in zip(got["results"], want["results"]):
            for k, v in w.items():
                self.assertEqual(g[k], v, "%s: step %d %s" % (label, w["step"], k))
        self.assertIsNone(got["covered_from"], label)
        self.assertEqual(got["uncovered_visits"], 0, label)

    def test_configured(self):
        got = self.funnel(funnel="signup").json()
        want = expect(self.server, SIGNUP, local_day(-5), local_day(1))
        self.check(got, want, SIGNUP, "signup")
        self.assertEqual(got["funnel"], "signup")
        self.assertEqual([r["name"] for r in got["results"]],
                         ["Visit /pricing*", "Signup", "Visit /thanks"])
        # The numbers the scenarios were written for, lest the brute
        # force and the server agree on a wrong reading.
        self.assertEqual([r["visits"] for r in got["results"]], [9, 5, 4])
        self.assertEqual([r["visitors"] for r in got["results"]], [8, 5, 4])
        self.assertEqual(got["visits"], 13)

    def test_ad_hoc(self):
        for steps in (["event:Signup", "event:Signup"],
                      ["page:/pricing", "page:/pricing"],
                      ["page:/thanks", "page:/pricing*", "event:Signup"],
                      ["page:/blog/*", "page:/pricing", "page:/about"],
                      SIGNUP + ["page:/pricing*", "event:Signup", "page:/thanks",
                                "page:/", "page:/about"]):
            got = self.funnel(steps=">".join(steps)).json()
            self.assertIsNone(got["funnel"])
            self.check(got, expect(self.server, steps, local_day(-5), local_day(1)),
                       steps, ">".join(steps))
        # A single Signup cannot be two steps: only the visitor who sent
        # two reaches the second.
        got = self.funnel(steps="event:Signup>event:Signup").json()
        self.assertEqual(got["results"][1]["visits"], 1)

    def test_filter(self):
        for flt, keep in (("device==mobile", lambda v: v["device"] == "mobile"),
                          ("device!=mobile", lambda v: v["device"] != "mobile")):
            got = self.funnel(funnel="signup", filter=flt).json()
            self.check(got, expect(self.server, SIGNUP, local_day(-5), local_day(1),
                                   keep=keep), SIGNUP, flt)
        got = self.funnel(funnel="signup", filter="device==mobile").json()
        self.assertEqual((got["visits"], got["results"][0]["visits"],
                          got["results"][2]["visits"]), (2, 2, 1))

    def test_time_zone_edge(self):
        d = self.edge
        for tz, days, n in (("UTC", (d, d), 2), ("Asia/Tokyo", (d, d), 1),
                            ("Asia/Tokyo", (d + datetime.timedelta(days=1),) * 2, 1),
                            ("America/New_York", (d, d), 2)):
            got = self.funnel(funnel="blog", tz=tz, **{
                "from": days[0].isoformat(), "to": days[1].isoformat()}).json()
            self.check(got, expect(self.server, BLOG, days[0], days[1], tz), BLOG,
                       "%s %s" % (tz, days))
            self.assertEqual(got["results"][1]["visits"], n, tz)

    def test_csv(self):
        r = self.funnel(funnel="signup", format="csv")
        self.assertTrue(r.header("Content-Type").startswith("text/csv"))
        self.assertIn("funnel-signup", r.header("Content-Disposition"))
        rows = list(csv.DictReader(io.StringIO(r.body.decode())))
        want = self.funnel(funnel="signup").json()["results"]
        self.assertEqual(len(rows), len(want))
        for row, w in zip(rows, want):
            self.assertEqual(row["definition"], w["definition"])
            self.assertEqual(int(row["visits"]), w["visits"])
            self.assertEqual(int(row["visitors"]), w["visitors"])
            self.assertEqual(row["dropoff"], "" if w["dropoff"] is None else str(w["dropoff"]))

    def test_bad_input(self):
        long_ = ">".join(["page:/a"] * 9)
        for params in ({"steps": "page:/a"}, {"steps": long_},
                       {"steps": "page:/a>click:x"}, {"steps": "page:a>page:/b"},
                       {"steps": "page:/a>"}, {"steps": "page:/a>event:"},
                       {"funnel": "nope"}, {},
                       {"funnel": "signup", "steps": "page:/a>page:/b"},
                       {"funnel": "signup", "compare": "previous_period"},
                       {"funnel": "signup", "tz": "Mars/Base"},
                       {"funnel": "signup", "filter": "nope==1"},
                       {"funnel": "signup", "from": "2024-13-01"},
                       {"funnel": "signup", "format": "xml"}):
            r = self.funnel(status=None, **params)
            doc = assert_json_error(self, r, 400)
            self.assertTrue(doc["message"], params)
        # Another site's funnel is not this one's; an unknown site 404s.
        r = self.staff.request("GET", "/api/stats/nosuch/funnel?funnel=signup")
        assert_json_error(self, r, 404)

    def test_roles_and_audit(self):
        r = self.cs.request("GET", "/api/stats/demo/funnel?funnel=signup")
        assert_json_error(self, r, 403)
        self.funnel(funnel="signup", filter="device==mobile")
        rows = self.server.query(
            "SELECT action, detail FROM audit_log WHERE detail LIKE 'funnel %' "
            "ORDER BY id DESC LIMIT 1")
        self.assertEqual(rows[0]["action"], "statistics")
        self.assertIn("funnel signup of site demo", rows[0]["detail"])
        self.assertIn("filter device==", rows[0]["detail"])
        self.assertNotIn("mobile", rows[0]["detail"])

    def test_report_command(self):
        # `seula report` lists the site's configured funnels, each as the
        # API reports it (but for the site, days, zone and filters it
        # says once), in JSON, CSV and HTML.
        frm, to = local_day(-5).isoformat(), local_day(1).isoformat()
        args = ["report", "--config", self.server.config_path, "--site", "demo",
                "--from", frm, "--to", to, "--tz", "UTC"]
        r = run_seula(*args, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        want = []
        for name in ("signup", "blog"):
            api = self.funnel(funnel=name, tz="UTC").json()
            for k in ("site", "from", "to", "tz", "filters"):
                del api[k]
            want.append(api)
        self.assertEqual(rep["funnels"], want)
        r = run_seula(*args, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        sections = {s.split("\n", 1)[0]: s.split("\n", 1)[1]
                    for s in r.stdout.split("\n\n") if s.strip()}
        rows = list(csv.DictReader(io.StringIO(sections["Funnel signup"])))
        self.assertEqual([int(x["visits"]) for x in rows],
                         [x["visits"] for x in want[0]["results"]])
        r = run_seula(*args, "--format", "html")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("<h2>Funnel signup</h2>", r.stdout)
        self.assertIn("<h2>Funnel blog</h2>", r.stdout)

    def test_sites_lists_funnels(self):
        r = self.staff.request("GET", "/api/stats/sites")
        self.assertEqual(r.json()["funnels"], {"demo": [
            {"name": "signup", "steps": ["Visit /pricing*", "Signup", "Visit /thanks"]},
            {"name": "blog", "steps": ["Visit /blog/*", "Visit /about"]}]})


class FunnelConsentDuringVisitTest(unittest.TestCase):
    """A visitor who consents during a cookieless visit goes on with it
    under the visitor id; the page views and events sent before the
    consent (stored with the cookieless hash only) still complete the
    visit's steps, in their order before the id's."""

    def test_steps_before_the_consent_count(self):
        s = Server(plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "4s"}})
        self.addCleanup(s.close)
        s.start()
        ids = {}

        def who(n, ua):
            return {"User-Agent": "%s fc%d" % (ua, n),
                    "X-Forwarded-For": "203.0.113.%d" % (40 + n)}

        def send(h, kind, what, vid=None):
            ev = (pageview(url="http://localhost" + what) if kind == "p"
                  else {"site": "demo", "type": "event", "name": what,
                        "url": "http://localhost/pricing"})
            if vid:
                ev["visitor_id"] = vid
            self.assertEqual(s.collect([ev], headers=h).status, 204)
            time.sleep(0.005)

        def consent(n, h, page):
            ids[n] = "5b0e7c1e-8a4f-4c2d-9f6e-01234567%04d" % n
            record_consent(s, visitor_id=ids[n], headers=h,
                           page="http://localhost" + page)
            time.sleep(0.005)

        a, b, c = who(1, DESKTOP), who(2, MOBILE), who(3, DESKTOP)
        d, g = who(4, DESKTOP), who(5, DESKTOP)
        # A: pricing cookieless, then consents there: Signup and the
        # thank-you page with the id.  3 steps, one visit.
        send(a, "p", "/pricing")
        consent(1, a, "/pricing")
        send(a, "e", "Signup", ids[1])
        send(a, "p", "/thanks", ids[1])
        # B (a phone): the blog and pricing cookieless, consents, then the
        # thank-you page before Signup.  2 steps.
        send(b, "p", "/blog/x")
        send(b, "p", "/pricing")
        consent(2, b, "/pricing")
        send(b, "p", "/thanks", ids[2])
        send(b, "e", "Signup", ids[2])
        # C consented before its visit: all with the id.  2 steps.
        consent(3, c, "/")
        send(c, "p", "/pricing", ids[3])
        send(c, "e", "Signup", ids[3])
        # D never consents.  3 steps.
        send(d, "p", "/pricing")
        send(d, "e", "Signup")
        send(d, "p", "/thanks")
        # G consents on a page it is not on: no visit is taken over, the
        # id's is a visit of its own (1 step, then 0).
        send(g, "p", "/pricing")
        consent(5, g, "/elsewhere")
        send(g, "e", "Signup", ids[5])
        send(g, "p", "/thanks", ids[5])
        # H consents on pricing and leaves: only the page's engagement
        # event carries the id, and it takes the visit over (1 step).
        hh = who(6, DESKTOP)
        send(hh, "p", "/pricing")
        consent(6, hh, "/pricing")
        ev = pageview(url="http://localhost/pricing", type="engagement",
                      engagement_ms=4000, visitor_id=ids[6])
        self.assertEqual(s.collect([ev], headers=hh).status, 204)
        self.assertEqual(s.query("SELECT count(*) AS n FROM analytics_visits")
                         [0]["n"], 7)

        add_user(s, "ana", "analyst", PASSWORD)
        staff = login(s, "ana", PASSWORD)

        def funnel(**extra):
            q = {"steps": ">".join(SIGNUP), "from": local_day(-1).isoformat(),
                 "to": local_day(1).isoformat()}
            q.update(extra)
            r = staff.request("GET", "/api/stats/demo/funnel?" +
                              urllib.parse.urlencode(q))
            self.assertEqual(r.status, 200, r)
            got = r.json()
            return (got["visits"], got["visitors"],
                    [x["visits"] for x in got["results"]],
                    [x["visitors"] for x in got["results"]])

        self.assertEqual(funnel(), (7, 7, [6, 4, 2], [6, 4, 2]))
        # B alone, and all but B: B's early events are no other's.
        self.assertEqual(funnel(filter="device==mobile"),
                         (1, 1, [1, 1, 0], [1, 1, 0]))
        self.assertEqual(funnel(filter="device!=mobile"),
                         (6, 6, [5, 3, 2], [5, 3, 2]))

    def test_mixed_traffic_against_what_each_person_did(self):
        # Forty people at once, their requests interleaved: some never
        # consent, some consent on the page they are on after a few
        # steps, some consented before, some consent on a page they are
        # not on (two visits).  Each person's visit (or two) is known from
        # what the test sent, not from the server; the funnel must match
        # the brute force over them, filtered either way by device.
        rnd = random.Random(20261204)
        s = Server(plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "30s"}})
        self.addCleanup(s.close)
        s.start()
        pages = ["/pricing", "/pricing/team", "/thanks", "/blog/a", "/"]
        people = []
        for n in range(40):
            ua = rnd.choice((DESKTOP, MOBILE))
            h = {"User-Agent": "%s mx%d" % (ua, n),
                 "X-Forwarded-For": "198.51.100.%d" % (100 + n)}
            acts = [("p", rnd.choice(pages)) if rnd.random() < 0.7
                    else ("e", rnd.choice(("Signup", "Other")))
                    for _ in range(rnd.randint(1, 6))]
            acts[0] = ("p", acts[0][1] if acts[0][0] == "p" else "/")
            kind = rnd.choice(("cookieless", "during", "before", "elsewhere"))
            vid = "6c1f7d2e-9b5a-4d3e-8a7f-%012d" % n
            at = rnd.randint(1, len(acts)) if kind in ("during", "elsewhere") else 0
            people.append({"h": h, "mobile": ua == MOBILE, "acts": acts,
                           "kind": kind, "vid": vid, "at": at})
        # The order of everyone's requests, each person's kept in order.
        queue = []
        for n, p in enumerate(people):
            steps = [("act", i) for i in range(len(p["acts"]))]
            if p["kind"] == "before":
                steps.insert(0, ("consent", None))
            elif p["kind"] in ("during", "elsewhere"):
                steps.insert(p["at"], ("consent", None))
            queue.append([(n, st) for st in steps])
        order = []
        while any(queue):
            q = rnd.choice([q for q in queue if q])
            order.append(q.pop(0))
        consented = set()
        for n, (what, i) in order:
            p = people[n]
            if what == "consent":
                # On the page the person is on (the last page view so
                # far), or elsewhere.
                on = [a[1] for a in p["acts"][:p["at"]] if a[0] == "p"]
                page = on[-1] if on and p["kind"] == "during" else "/nowhere"
                record_consent(s, visitor_id=p["vid"], headers=p["h"],
                               page="http://localhost" + page)
                consented.add(n)
                continue
            kind, what_ = p["acts"][i]
            ev = (pageview(url="http://localhost" + what_) if kind == "p"
                  else {"site": "demo", "type": "event", "name": what_,
                        "url": "http://localhost/"})
            if n in consented:
                ev["visitor_id"] = p["vid"]
            self.assertEqual(s.collect([ev], headers=p["h"]).status, 204)

        def visits_of(p):
            # One visit, but two when the consent was not on its page
            # (then the id's part is a visit of its own, if it has any).
            acts = [{"type": 1 if k == "p" else 2,
                     "path": w if k == "p" else None,
                     "name": w if k == "e" else None} for k, w in p["acts"]]
            if p["kind"] == "elsewhere":
                parts = [acts[:p["at"]], acts[p["at"]:]]
                return [(x, (p["vid"] if j else "hash")) for j, x in
                        enumerate(parts) if x]
            return [(acts, p["vid"] if p["kind"] != "cookieless" else "hash")]

        add_user(s, "ana", "analyst", PASSWORD)
        staff = login(s, "ana", PASSWORD)
        for flt, keep in (("", lambda p: True),
                          ("device==mobile", lambda p: p["mobile"]),
                          ("device!=mobile", lambda p: not p["mobile"])):
            got_visits = [(n, j, reached({"evs": evs}, SIGNUP))
                          for n, p in enumerate(people) if keep(p)
                          for j, (evs, _) in enumerate(visits_of(p))]
            want = [sum(1 for *_, k in got_visits if k >= step)
                    for step in range(1, 4)]
            q = {"steps": ">".join(SIGNUP), "from": local_day(-1).isoformat(),
                 "to": local_day(1).isoformat()}
            if flt:
                q["filter"] = flt
            r = staff.request("GET", "/api/stats/demo/funnel?" +
                              urllib.parse.urlencode(q))
            self.assertEqual(r.status, 200, r)
            got = r.json()
            self.assertEqual(got["visits"], len(got_visits), flt)
            self.assertEqual([x["visits"] for x in got["results"]], want, flt)
        # Not a scenario the brute force and the server agree on by
        # luck: some steps were taken before a consent during a visit.
        early = [p for p in people if p["kind"] == "during" and
                 reached({"evs": visits_of(p)[0][0][:p["at"]]}, SIGNUP)]
        self.assertGreater(len(early), 2)


class FunnelCoverageTest(unittest.TestCase):
    """Visits whose raw events are gone (retention) or whose visitor is
    forgotten are not counted for any step, and the report says from when
    it covers the site."""

    def test_coverage(self):
        s = Server(plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "%ds" % TIMEOUT_S, "visitor_retention": "2d",
            "funnels": 'demo:say "hi":page:/blog/*>page:/about'}})
        self.addCleanup(s.close)
        # Five days ago (forgotten at start) and one day ago (kept), one
        # of them before the raw events retention has passed (below).
        lines = []
        for back, hour, ip in ((5, 10, 20), (5, 10, 21), (1, 10, 30), (1, 8, 31)):
            t = datetime.datetime.combine(local_day(-back), datetime.time(hour),
                                          datetime.timezone.utc)
            for k, path in enumerate(("/blog/a", "/about")):
                lines.append('198.51.100.%d - - [%s] "GET %s HTTP/1.1" 200 512 "-" "%s"' % (
                    ip, (t + datetime.timedelta(seconds=k)).strftime(
                        "%d/%b/%Y:%H:%M:%S +0000"), path, DESKTOP + " c%d" % ip))
        s.create_db()
        with open(s.dir + "/old.log", "w") as f:
            f.write("\n".join(lines) + "\n")
        r = run_seula("import-log", "--config", s.config_path, "--site", "demo",
                      s.dir + "/old.log", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        s.start()
        # The forget task runs at start, and passes a visit only once it
        # has ended: a restart once they all have.
        import time
        deadline = time.monotonic() + 20
        while s.query("SELECT count(*) AS n FROM analytics_visits WHERE closed = 0")[0]["n"]:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.2)
        s.stop()
        cut = datetime.datetime.combine(local_day(-1), datetime.time(9),
                                        datetime.timezone.utc).timestamp() * 1000
        with sqlite3.connect(s.db_path) as db:  # what retention does
            db.execute("DELETE FROM events WHERE ts < ?", (cut,))
        db.close()
        s.start()
        self.assertEqual(s.query("SELECT count(*) AS n FROM analytics_visits "
                                 "WHERE visitor = id")[0]["n"], 2)
        add_user(s, "ana", "analyst", PASSWORD)
        staff = login(s, "ana", PASSWORD)
        q = "/api/stats/demo/funnel?steps=page:/blog/*%3Epage:/about&from=" + \
            local_day(-6).isoformat() + "&to=" + local_day(0).isoformat()
        got = staff.request("GET", q).json()
        self.assertEqual((got["visits"], got["uncovered_visits"]), (1, 3), got)
        self.assertEqual([x["visits"] for x in got["results"]], [1, 1])
        self.assertEqual(got["covered_from"], local_day(-1).isoformat())
        # From the day the raw events begin: only the one visit before
        # them is missing.
        got = staff.request("GET", q.replace(local_day(-6).isoformat(),
                                             local_day(-1).isoformat())).json()
        self.assertEqual(got["covered_from"], local_day(-1).isoformat())
        self.assertEqual((got["visits"], got["uncovered_visits"]), (1, 1))
        # A range the raw events cover says nothing of it.
        got = staff.request("GET", q.replace(local_day(-6).isoformat(),
                                             local_day(0).isoformat())).json()
        self.assertIsNone(got["covered_from"])
        self.assertEqual((got["visits"], got["uncovered_visits"]), (0, 0))
        # `seula report` says so under the funnel's table, and a name
        # with quotes stays one CSV cell.
        args = ["report", "--config", s.config_path, "--site", "demo",
                "--from", local_day(-6).isoformat(), "--to",
                local_day(0).isoformat(), "--tz", "UTC"]
        r = run_seula(*args, "--format", "html")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("<h2>Funnel say &quot;hi&quot;</h2>", r.stdout)
        self.assertIn("3 earlier visits are not counted: the raw events "
                      "cover visits from %s on." % local_day(-1).isoformat(),
                      r.stdout)
        r = run_seula(*args, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"Funnel say ""hi"""', r.stdout.splitlines())

    def test_config_errors(self):
        for bad, says in (("demo:one:page:/a", "at least 2"),
                          ("demo:x:page:/a>click:b", "page:PATTERN or event:NAME"),
                          ("demo::page:/a>page:/b", "SITE:NAME"),
                          ("demo:x:" + ">".join(["page:/a"] * 9), "at most 8"),
                          ("demo:x:page:/a>page:/b, demo:x:page:/c>page:/d",
                           "already")):
            s = Server(plugins=PLUGINS, sections={"plugin.analytics": {
                "funnels": bad}})
            self.addCleanup(s.close)
            s.start(expect_fail=True)
            err = s.stderr()
            self.assertIn("funnels:", err, bad)
            self.assertIn(says, err, bad)


if __name__ == "__main__":
    unittest.main()
