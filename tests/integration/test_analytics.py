"""The analytics plugin against the real server: visits, rollups and the
/api/stats reports, checked against a brute-force count over the raw events
the same server stored.

Traffic goes through the real POST /api/collect; visitors are cookieless
(one User-Agent each), so the visitor of a raw event is its visitor_hash.
visit_timeout is 2 s, so rounds of traffic 2.5 s apart are separate visits.
Reports are checked twice: while the visits are open (read from
analytics_visits) and after a restart has ended them (read from the
rollups), and once more after the raw events are deleted.
"""
import csv
import datetime
import io
import json
import math
import os
import pathlib
import shutil
import re
import signal
import sqlite3
import subprocess
import time
import types
import unittest
import urllib.parse
import zoneinfo

from seulatest import (BIN, Server, add_closed_visits, add_user, assert_json_error,
                       block_ints, login, pageview, record_consent, run_seula)

TIMEOUT_S = 2


def import_log(test, s, path, timeout=120):
    """`seula import-log` of `path` into server s's site demo, which must
    succeed (into a database made first, if s has not started yet)."""
    s.create_db()
    r = run_seula("import-log", "--config", s.config_path, "--site", "demo",
                  path, timeout=timeout)
    test.assertEqual(r.returncode, 0, r.stderr)


def started(test, *args, **kwargs):
    """A Server(*args, **kwargs), started, and closed when the test ends."""
    s = Server(*args, **kwargs)
    test.addCleanup(s.close)
    s.start()
    return s


def import_lines(test, s, name, lines, timeout=120):
    """Write `lines` to the log `name` in server s's folder and import it
    (import_log())."""
    path = os.path.join(s.dir, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    import_log(test, s, path, timeout)


def wait_all_closed(test, s, timeout_s, poll_s):
    """Until no visit is open, at most timeout_s."""
    deadline = time.monotonic() + timeout_s
    while s.query("SELECT count(*) AS n FROM analytics_visits WHERE closed = 0")[0]["n"]:
        test.assertLess(time.monotonic(), deadline, s.stderr()[-2000:])
        time.sleep(poll_s)

PASSWORD = "analytics-test-password-42"
GOALS = "demo:event:Signup, demo:page:/pricing*"
PLUGINS = ("useragent", "referrer", "anonymize", "analytics")

BROWSERS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 "
    "Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
]
REFERRERS = [None, "https://www.google.com/", "https://news.ycombinator.com/item",
             "https://example.org/blog/post"]
PAGES = ["/", "/pricing", "/pricing/team", "/blog/a", "/blog/b", "/about"]
# A visitor's address: four with a region and city in MaxMind's test
# database, one with a country alone in DB-IP's, and documentation
# addresses, in neither.
ADDRESSES = ["81.2.69.160", "89.160.20.112", "175.16.199.0", "2.125.160.216",
             "193.166.3.1", "203.0.113.%d"]
LANGUAGES = ["fi-FI", "en-US", "sv", None]
# The visit dimensions an event's own column gives (as it is, or "(none)").
EVENT_DIMS = ("utm_source", "utm_medium", "utm_campaign", "utm_term",
              "utm_content", "country", "region", "city", "browser", "os",
              "device", "language")


def ua_of(visitor):
    # A distinct agent per visitor, of one of three browsers.
    return BROWSERS[visitor % 3] + " v%d" % visitor


def day(offset=0):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return (d + datetime.timedelta(days=offset)).isoformat()


def sketch_slack(n):
    """How far a HyperLogLog count of n visitors may be off here: its 1.6%
    standard error over many and, over few (linear counting), the
    visitors that share a register.  With 24 visitors in 4,096 registers
    two pairs do in about one run of 450 (the key is random each run),
    three in one of 20,000."""
    return max(2, 0.02 * n)


def capped_rate(part, whole):
    """A conversion rate as query.c's rate_of() gives it: percent to one
    decimal, never past 100.  The part may be counted exactly (the
    visits a goal keeps) and the whole from a sketch that read one
    fewer (8 over 7 is 114.3, shown as 100)."""
    return min(100.0, round(100 * part / whole, 1))


def brute_force(server, timeout_s=TIMEOUT_S, site="demo"):
    """Visits from the raw events: per visitor, ordered by time, a gap over
    the timeout starts a new visit; engagement events join but never start
    or extend one; bots apart."""
    rows = server.query(
        "SELECT id, type, ts, path, name, props, visitor_id, visitor_hash, "
        "referrer_source, referrer_name, referrer, %s, engagement_ms, "
        "screen_width, coalesce(bot, 0) AS bot FROM events WHERE site = ? "
        "ORDER BY ts, id" % ", ".join(EVENT_DIMS), (site,))
    consents = server.query("SELECT visitor_id, received_at, page FROM "
                            "consent_records WHERE site = ? AND visitor_id "
                            "IS NOT NULL ORDER BY received_at, id", (site,))

    def consent_before(vid, ts):
        given = [c for c in consents
                 if c["visitor_id"] == vid and c["received_at"] <= ts]
        return given[-1] if given else None

    def cookieless_on(page, at):
        # An identified event is stored without its cookieless hash: the
        # visit the id's consent came during is the one cookieless visit
        # live then, on the page it was given on (the server matches the
        # hash in memory; these tests give it no rival).
        path = urllib.parse.urlsplit(page or "").path
        live = [k for k, v in open_.items() if v["cookieless"]
                and v["start"] <= at["received_at"] and v["exit"] == path]
        return live[0] if len(live) == 1 else None

    visits, open_ = [], {}
    for r in rows:
        if r["bot"]:
            continue
        who = r["visitor_id"] or r["visitor_hash"]
        v = open_.get(who)
        live = v is not None and r["ts"] - v["last"] <= timeout_s * 1000
        given = consent_before(r["visitor_id"], r["ts"]) if r["visitor_id"] else None
        key = cookieless_on(given["page"], given) if not live and given else None
        cookieless = open_.get(key) if key is not None else None
        if (cookieless is not None
                and r["ts"] - cookieless["last"] <= timeout_s * 1000):
            # Consent came during the visit: it goes on under the id.
            del open_[key]
            v, live = cookieless, True
            v["visitor"] = who
            v["cookieless"] = False
            open_[who] = v
        if r["type"] == 3:
            if live and r["path"] in v["pages"]:
                v["engagement"] += r["engagement_ms"]
                v["page_engagement"][r["path"]] = (
                    v["page_engagement"].get(r["path"], 0) + r["engagement_ms"])
            continue
        if not live:
            channel = r["referrer_source"]
            source = "Direct / None"
            if channel not in (None, "direct", "internal"):
                source = r["referrer_name"] or urllib.parse.urlsplit(
                    r["referrer"]).hostname.removeprefix("www.")
            # A visit's dimensions are those of its first event.
            v = {"visitor": who, "start": r["ts"], "last": r["ts"],
                 "cookieless": not r["visitor_id"],
                 "pageviews": 0, "events": 0, "engagement": 0,
                 "entry": r["path"] or "/", "exit": r["path"] or "/",
                 "pages": {}, "page_engagement": {}, "names": {}, "plans": {},
                 "source": source, "channel": channel or "direct",
                 "referrer": r["referrer"] or "(none)",
                 "screen": screen_class(r["screen_width"])}
            v.update({d: r[d] or "(none)" for d in EVENT_DIMS})
            visits.append(v)
            open_[who] = v
        v["last"] = max(v["last"], r["ts"])
        if r["type"] == 1:
            v["pageviews"] += 1
            v["exit"] = r["path"]
            v["pages"][r["path"]] = v["pages"].get(r["path"], 0) + 1
        else:
            v["events"] += 1
            v["names"][r["name"]] = v["names"].get(r["name"], 0) + 1
            plan = json.loads(r["props"] or "{}").get("plan")
            if plan is not None:
                v["plans"][plan] = v["plans"].get(plan, 0) + 1
    return visits


def screen_class(width):
    """Plausible's screen classes, as the plugin's screen_class()."""
    if width is None:
        return "(none)"
    for top, name in ((576, "Mobile"), (992, "Tablet"), (1440, "Laptop")):
        if width < top:
            return name
    return "Desktop"


def c_round(x, places):
    """x rounded as query.c's round_to() does, halves away from zero:
    Python's round() takes them to the even digit (6.25 to 6.2, C's
    round() to 6.3)."""
    f = 10 ** places
    n = math.floor(x * f)
    return (n + (x * f - n >= 0.5)) / f


def configure(s, **keys):
    """Set keys of [plugin.analytics] in server s's config file."""
    with open(s.config_path) as f:
        lines = f.read().splitlines()
    out, section = [], None
    for line in lines:
        if line.startswith("["):
            if section == "[plugin.analytics]":
                out += ["%s = %s" % kv for kv in keys.items()]
            section = line
        elif section == "[plugin.analytics]" and line.split(" = ")[0] in keys:
            continue
        out.append(line)
    if section == "[plugin.analytics]":
        out += ["%s = %s" % kv for kv in keys.items()]
    with open(s.config_path, "w") as f:
        f.write("\n".join(out) + "\n")


def send_visits(case, s, first, n):
    """Visitors first..first+n-1 (one User-Agent each): 1-3 page views,
    and every other one a Signup event."""
    for i in range(first, first + n):
        h = {"User-Agent": ua_of(i)}
        for k in range(1 + i % 3):
            case.assertEqual(s.collect([pageview(
                url="http://localhost%s" % PAGES[(i + k) % len(PAGES)])],
                headers=h).status, 204)
        if i % 2:
            s.collect([{"site": "demo", "type": "event", "name": "Signup",
                        "url": "http://localhost/pricing"}], headers=h)


def metrics(visits, kept=None):
    """The reports' figures of `visits`; under a page filter (page==),
    the page views are those of the pages `kept` (a test of a path)
    keeps."""
    n = len(visits)
    pv = sum(v["pageviews"] if kept is None
             else sum(c for p, c in v["pages"].items() if kept(p))
             for v in visits)
    bounces = sum(1 for v in visits if v["pageviews"] <= 1 and v["events"] == 0)
    dur = sum(v["last"] - v["start"] for v in visits)
    engaged = sum(v["engagement"] for v in visits)
    return {
        "visitors": len({v["visitor"] for v in visits}),
        "visits": n, "pageviews": pv,
        "events": sum(v["events"] for v in visits),
        "bounces": bounces, "duration_ms": dur,
        "bounce_rate": c_round(100.0 * bounces / n, 1) if n else 0,
        "visit_duration": c_round(dur / 1000.0 / n, 1) if n else 0,
        "views_per_visit": c_round(pv / n, 2) if n else 0,
        # The seconds engaged a page view; none measured: null, not 0.
        "time_on_page": (c_round(engaged / 1000.0 / pv, 1)
                         if kept is None and pv and engaged else None),
    }


class AnalyticsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(plugins=("geoip",) + PLUGINS, sites={
            "demo": "localhost, 127.0.0.1, [::1]", "other": "other.example"}, sections={
            "plugin.analytics": {"visit_timeout": "%ds" % TIMEOUT_S,
                                 "goals": GOALS}})
        cls.server.start()
        add_user(cls.server, "ana", "analyst", PASSWORD)
        add_user(cls.server, "cs", "customer_service", PASSWORD)
        cls.staff = login(cls.server, "ana", PASSWORD)
        cls.sent = cls.send_traffic()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    @classmethod
    def send_traffic(cls):
        """Three rounds; in each, visitor i does something depending on
        (i, round).  Returns how many page views were sent."""
        s = cls.server
        sent = 0
        for rnd in range(3):
            if rnd:
                time.sleep(TIMEOUT_S + 0.6)
            for i in range(24):
                if (i + rnd) % 4 == 3:
                    continue  # this visitor skips this round
                address = ADDRESSES[i % len(ADDRESSES)]
                h = {"User-Agent": ua_of(i),
                     "X-Forwarded-For": address.replace("%d", str(i))}
                ref = REFERRERS[(i + rnd) % len(REFERRERS)]
                n = 1 + (i * 7 + rnd) % 4
                batch = []
                for k in range(n):
                    path = PAGES[(i + k * 3 + rnd) % len(PAGES)]
                    q = ""
                    if i % 5 == 0 and k == 0:
                        q = "?utm_source=news&utm_campaign=winter"
                        q += ("&utm_medium=email&utm_term=spring+sale&utm_content=banner"
                              if i % 10 == 0 else "&utm_medium=social")
                    ev = pageview(url="http://localhost%s%s" % (path, q),
                                  screen_width=[390, 800, 1280, 1920][i % 4])
                    if LANGUAGES[i // 2 % len(LANGUAGES)]:
                        ev["language"] = LANGUAGES[i // 2 % len(LANGUAGES)]
                    if k == 0 and ref:
                        ev["referrer"] = ref
                    batch.append(ev)
                # Visitor 7 signs up twice a visit: a goal's events are
                # not its visits.
                for _ in range((i % 6 == 1) + (i == 7)):
                    batch.append({"site": "demo", "type": "event", "name": "Signup",
                                  "url": "http://localhost/pricing",
                                  "props": {"plan": ["team", "solo"][rnd % 2]}})
                # Some go on to upgrade, on the same plan: two names with
                # one property value, still one visit of that value.
                if i % 12 == 1:
                    batch.append({"site": "demo", "type": "event", "name": "Upgrade",
                                  "url": "http://localhost/pricing",
                                  "props": {"plan": ["team", "solo"][rnd % 2]}})
                if i % 3 == 0:
                    batch.append({"site": "demo", "type": "engagement",
                                  "url": batch[-1]["url"] if batch[-1].get("type") == "pageview"
                                  else "http://localhost/",
                                  "engagement_ms": 1000 + i})
                # One request per event, a little apart, so visits last.
                for ev in batch:
                    r = s.collect([ev], headers=h)
                    assert r.status in (200, 202, 204), r
                    sent += ev["type"] == "pageview"
                    time.sleep(0.003)
            # A bot: counted apart.
            s.collect([pageview(url="http://localhost/")],
                      headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
        return sent

    def stats(self, report, **params):
        params.setdefault("from", day(-1))
        params.setdefault("to", day(1))
        r = self.staff.request("GET", "/api/stats/demo/%s?%s" % (
            report, urllib.parse.urlencode(params)))
        self.assertEqual(r.status, 200, r)
        return r

    def check_reports(self, label):
        visits = brute_force(self.server)
        self.assertGreater(len(visits), 40)
        want = metrics(visits)
        got = self.stats("summary").json()["results"]
        for k in ("visits", "pageviews", "events", "bounce_rate",
                  "visit_duration", "views_per_visit"):
            self.assertEqual(got[k], want[k], "%s: %s" % (label, k))
        self.assertLessEqual(abs(got["visitors"] - want["visitors"]),
                             sketch_slack(want["visitors"]), label)

        self.assertEqual(got["time_on_page"], want["time_on_page"], label)

        # Breakdowns: every visit dimension, the entry and exit pages, pages.
        session_dims = EVENT_DIMS + ("source", "channel", "referrer", "screen")
        for dim, key in (("entry_page", "entry"), ("exit_page", "exit"),
                         *((d, d) for d in session_dims)):
            rows = self.stats("breakdown", dimension=dim, limit=100).json()["results"]
            got = {r[dim]: r for r in rows}
            groups = {}
            for v in visits:
                # A UTM breakdown lists the tagged visits only.
                if not (dim.startswith("utm_") and v[key] == "(none)"):
                    groups.setdefault(v[key], []).append(v)
            self.assertEqual(set(got), set(groups), "%s: %s values" % (label, dim))
            # Not one value alone: the dimension is told apart.
            self.assertGreaterEqual(len(groups), 1 if dim.startswith("utm_") else 2,
                                    "%s: %s" % (label, dim))
            for value, vs in groups.items():
                m = metrics(vs)
                for k in ("visits", "pageviews", "bounce_rate", "visit_duration",
                          "time_on_page"):
                    self.assertEqual(got[value][k], m[k],
                                     "%s: %s=%s %s" % (label, dim, value, k))
        rows = self.stats("breakdown", dimension="page", limit=100).json()["results"]
        pages = {}
        for v in visits:
            for p, n in v["pages"].items():
                e = pages.setdefault(p, {"pageviews": 0, "visits": 0, "visitors": set(),
                                         "engagement": 0})
                e["pageviews"] += n
                e["visits"] += 1
                e["visitors"].add(v["visitor"])
                e["engagement"] += v["page_engagement"].get(p, 0)
        self.assertEqual({r["page"] for r in rows}, set(pages), label)
        self.assertTrue(any(e["engagement"] for e in pages.values()), label)
        for r in rows:
            self.assertEqual(r["pageviews"], pages[r["page"]]["pageviews"], label)
            self.assertEqual(r["visits"], pages[r["page"]]["visits"], label)
            e = pages[r["page"]]
            self.assertEqual(r["time_on_page"],
                             c_round(e["engagement"] / 1000.0 / e["pageviews"], 1)
                             if e["engagement"] else None, "%s: %s" % (label, r["page"]))
            self.assertLessEqual(abs(r["visitors"] - len(pages[r["page"]]["visitors"])), 1)

        # Filters on one visit-level column read its rollup rows: exact but
        # for visitors (the sketches); over all visits or that column.
        for flt, keep in (("browser==Chrome", lambda v: v["browser"] == "Chrome"),
                          ("browser!=Chrome", lambda v: v["browser"] != "Chrome"),
                          ("browser==*fox", lambda v: v["browser"].endswith("fox")),
                          ("browser!=Chrome;browser!=Firefox",
                           lambda v: v["browser"] not in ("Chrome", "Firefox")),
                          # One of: "a|b" (Plausible's way), globs too.
                          ("browser==Chrome|Firefox",
                           lambda v: v["browser"] in ("Chrome", "Firefox")),
                          ("browser!=Chrome|*fox",
                           lambda v: v["browser"] != "Chrome" and
                           not v["browser"].endswith("fox"))):
            kept = [v for v in visits if keep(v)]
            self.assertTrue(kept, flt)
            want = metrics(kept)
            got = self.stats("summary", filter=flt).json()["results"]
            for k in ("visits", "pageviews", "events", "bounce_rate", "visit_duration"):
                self.assertEqual(got[k], want[k], "%s: %s %s" % (label, flt, k))
            self.assertLessEqual(abs(got["visitors"] - want["visitors"]),
                                 sketch_slack(want["visitors"]), (label, flt))
            ts = self.stats("timeseries", filter=flt, metric="visits,pageviews",
                            interval="hour").json()["results"]
            self.assertEqual(sum(r["visits"] for r in ts), want["visits"], (label, flt))
            self.assertEqual(sum(r["pageviews"] for r in ts), want["pageviews"],
                             (label, flt))
            rows = self.stats("breakdown", dimension="browser", filter=flt).json()["results"]
            self.assertEqual({r["browser"]: r["visits"] for r in rows},
                             {b: sum(1 for v in kept if v["browser"] == b)
                              for b in {v["browser"] for v in kept}}, (label, flt))
        # Other filters read every visit: exact.
        chrome = [v for v in visits if v["browser"] == "Chrome"]
        got = self.stats("summary", filter="browser==Chrome;device!=nosuch").json()["results"]
        want = metrics(chrome)
        for k in ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration"):
            self.assertEqual(got[k], want[k], "%s: filtered %s" % (label, k))
        rows = self.stats("breakdown", dimension="device", filter="browser==Chrome").json()
        self.assertEqual({r["device"]: r["visits"] for r in rows["results"]},
                         {d: sum(1 for v in chrome if v["device"] == d)
                          for d in {v["device"] for v in chrome}}, label)
        # One of, from every visit: columns, and pages of the visit.
        # A page filter that keeps pages counts only their views.
        for flt, keep, kept in (("browser==Chrome|Firefox;device!=nosuch",
                                 lambda v: v["browser"] in ("Chrome", "Firefox"), None),
                                ("page==/pricing|/about",
                                 lambda v: {"/pricing", "/about"} & set(v["pages"]),
                                 lambda p: p in ("/pricing", "/about")),
                                ("page!=/blog/*|/about",
                                 lambda v: not any(p.startswith("/blog/") or p == "/about"
                                                   for p in v["pages"]), None)):
            want = metrics([v for v in visits if keep(v)], kept)
            got = self.stats("summary", filter=flt).json()["results"]
            for k in ("visitors", "visits", "pageviews", "bounce_rate",
                      "views_per_visit"):
                self.assertEqual(got[k], want[k], "%s: %s %s" % (label, flt, k))
        # Their pages alone in the page breakdown, and their views in any
        # other and in the timeseries.
        flt = "page==/pricing|/about"
        kept = [v for v in visits if {"/pricing", "/about"} & set(v["pages"])]
        rows = self.stats("breakdown", dimension="page", filter=flt).json()["results"]
        self.assertEqual({r["page"]: r["pageviews"] for r in rows},
                         {p: sum(v["pages"].get(p, 0) for v in kept)
                          for p in ("/pricing", "/about")
                          if any(p in v["pages"] for v in kept)}, label)
        rows = self.stats("breakdown", dimension="browser", filter=flt).json()["results"]
        self.assertEqual({r["browser"]: r["pageviews"] for r in rows},
                         {b: metrics([v for v in kept if v["browser"] == b],
                                     lambda p: p in ("/pricing", "/about"))["pageviews"]
                          for b in {v["browser"] for v in kept}}, label)
        rows = self.stats("timeseries", interval="month", metric="pageviews",
                          filter=flt).json()["results"]
        self.assertEqual(sum(r["pageviews"] for r in rows),
                         metrics(kept, lambda p: p in ("/pricing", "/about"))["pageviews"],
                         label)
        # Breakdowns read from the visits: visitors exact (fewer than
        # 1,024 a value), in order of
        # visitors, visits, value; a page's are the visits that have it.
        flt = "browser==Chrome;device!=nosuch"
        for dim, key in (("source", "source"), ("device", "device"), ("page", None)):
            groups = {}
            for v in chrome:
                for value in (v["pages"] if key is None else [v[key]]):
                    g = groups.setdefault(value, {"visits": 0, "pageviews": 0,
                                                  "visitors": set()})
                    g["visits"] += 1
                    g["pageviews"] += v["pages"][value] if key is None else v["pageviews"]
                    g["visitors"].add(v["visitor"])
            want = sorted(((-len(g["visitors"]), -g["visits"], value, g["pageviews"])
                           for value, g in groups.items()))[:3]
            rows = self.stats("breakdown", dimension=dim, filter=flt, limit=3).json()["results"]
            self.assertEqual([(-r["visitors"], -r["visits"], r[dim], r["pageviews"])
                              for r in rows], want, "%s: %s by %s" % (label, flt, dim))
        priced = [v for v in visits if any(p.startswith("/pricing") for p in v["pages"])]
        got = self.stats("summary", filter="page==/pricing*;browser!=Firefox").json()["results"]
        want = metrics([v for v in priced if v["browser"] != "Firefox"],
                       lambda p: p.startswith("/pricing"))
        for k in ("visitors", "visits", "pageviews"):
            self.assertEqual(got[k], want[k], "%s: page filter %s" % (label, k))
        got = self.stats("summary", filter="page!=/pricing*;event!=Signup").json()["results"]
        want = metrics([v for v in visits if v not in priced and "Signup" not in v["names"]])
        for k in ("visitors", "visits", "pageviews", "bounce_rate"):
            self.assertEqual(got[k], want[k], "%s: negated filters %s" % (label, k))

        # A property's values: the visits that had each (once, whatever
        # the events' names), and their events.
        rows = self.stats("breakdown", dimension="prop:plan").json()["results"]
        self.assertEqual({r["prop:plan"]: (r["visits"], r["events"]) for r in rows},
                         {p: (sum(1 for v in visits if p in v["plans"]),
                              sum(v["plans"].get(p, 0) for v in visits))
                          for p in {p for v in visits for p in v["plans"]}}, label)
        self.assertTrue(any(len([n for n in v["names"] if n in ("Signup", "Upgrade")]) == 2
                            for v in visits), "no visit with one value under two names")

        # Goals.
        goals = {g["goal"]: g for g in self.stats("goals").json()["results"]}
        signup = [v for v in visits if "Signup" in v["names"]]
        self.assertEqual(goals["Signup"]["visits"], len(signup), label)
        self.assertEqual(goals["Signup"]["events"],
                         sum(v["names"]["Signup"] for v in signup), label)
        self.assertEqual(goals["Visit /pricing*"]["visits"], len(priced), label)
        self.assertEqual(goals["Visit /pricing*"]["events"],
                         sum(n for v in priced for p, n in v["pages"].items()
                             if p.startswith("/pricing")), label)
        # Under filters the rollups cannot answer, goals are read from the
        # visits: visitors exact too.
        source = signup[0]["source"]
        flt = "source==%s;device!=nosuch" % source
        others = [v for v in visits if v["source"] == source]
        got = {g["goal"]: g for g in self.stats("goals", filter=flt).json()["results"]}
        for name, hits in (("Signup", lambda v: v["names"].get("Signup", 0)),
                           ("Visit /pricing*",
                            lambda v: sum(n for p, n in v["pages"].items()
                                          if p.startswith("/pricing")))):
            reached = [v for v in others if hits(v) > 0]
            self.assertTrue(0 < len(reached) < len([v for v in visits if hits(v) > 0]),
                            "%s: the filter tells nothing of %s" % (label, name))
            self.assertEqual(
                (got[name]["visitors"], got[name]["visits"], got[name]["events"]),
                (len({v["visitor"] for v in reached}), len(reached),
                 sum(hits(v) for v in reached)),
                "%s: goal %s under %s" % (label, name, flt))
            # A goal among the summary's filters: its conversion rate (as
            # Plausible's API), of the visitors the other filters keep.
            got_sum = self.stats("summary", filter="%s;goal==%s" % (flt, name)).json()
            base = len({v["visitor"] for v in others})
            self.assertEqual(got_sum["results"]["visitors"], len({v["visitor"] for v in reached}))
            self.assertEqual(got_sum["results"]["conversion_rate"],
                             capped_rate(len({v["visitor"] for v in reached}), base),
                             "%s: conversion rate of %s" % (label, name))
        self.assertNotIn("conversion_rate", self.stats("summary", filter=flt).json()["results"])
        # Unfiltered but for the goal: the goals report's rate.
        rate = self.stats("summary", filter="goal==Signup").json()["results"]["conversion_rate"]
        self.assertEqual(rate, goals["Signup"]["conversion_rate"], label)
        self.check_goals_either(label, visits, flt, others)

        # The timeseries adds up to the summary.
        ts = self.stats("timeseries", metric="visits,pageviews", interval="hour").json()
        self.assertEqual(len(ts["results"]), 3 * 24)
        self.assertEqual(sum(r["visits"] for r in ts["results"]), len(visits))
        self.assertEqual(sum(r["pageviews"] for r in ts["results"]),
                         sum(v["pageviews"] for v in visits))
        return visits

    def check_goals_either(self, label, visits, flt, others):
        """goal==A|B (Plausible's way): the visits that reached A or B, of
        either kind, and the rate of the visitors who did; goal!=A|B: those
        that reached neither, no rate.  Alone, and after other filters."""
        def either(v):
            return "Signup" in v["names"] or any(p.startswith("/pricing") for p in v["pages"])
        for base_flt, base in (("", visits), (flt, others)):
            base_visitors = self.stats("summary", **(
                {"filter": base_flt} if base_flt else {})).json()["results"]["visitors"]
            for op, keep in (("==", either), ("!=", lambda v: not either(v))):
                f = ";".join(x for x in (base_flt, "goal%sSignup|Visit /pricing*" % op) if x)
                kept = [v for v in base if keep(v)]
                self.assertTrue(0 < len(kept) < len(base), (label, f))
                # Each goal adds visits the other has not.
                if op == "==":
                    self.assertTrue(any("Signup" not in v["names"] for v in kept)
                                    and any(not any(p.startswith("/pricing") for p in v["pages"])
                                            for v in kept), (label, f))
                want = metrics(kept)
                got = self.stats("summary", filter=f).json()["results"]
                for k in ("visitors", "visits", "pageviews", "events", "bounce_rate",
                          "visit_duration"):
                    self.assertEqual(got[k], want[k], "%s: %s %s" % (label, f, k))
                if op == "==":
                    self.assertEqual(got["conversion_rate"],
                                     capped_rate(want["visitors"], base_visitors),
                                     "%s: conversion rate of %s" % (label, f))
                else:
                    self.assertNotIn("conversion_rate", got, (label, f))
                ts = self.stats("timeseries", filter=f, metric="visits",
                                interval="hour").json()["results"]
                self.assertEqual(sum(r["visits"] for r in ts), want["visits"], (label, f))
                rows = self.stats("breakdown", dimension="browser", filter=f).json()["results"]
                self.assertEqual({r["browser"]: r["visits"] for r in rows},
                                 {b: sum(1 for v in kept if v["browser"] == b)
                                  for b in {v["browser"] for v in kept}}, (label, f))
                # Each row's conversion rate (Plausible's breakdown): its
                # visitors over the same browser's without the goal filter,
                # as the breakdown without it reads them (a sketch's
                # estimate from the rollups; exact under filters they
                # cannot answer, so there against the brute force too).
                base_rows = {r["browser"]: r["visitors"] for r in self.stats(
                    "breakdown", dimension="browser", limit=1000,
                    **({"filter": base_flt} if base_flt else {})).json()["results"]}
                # Asked for, as in Plausible's API (a second breakdown):
                # without metric=conversion_rate the rows have none, and
                # without a goal filter it is a 400.
                self.assertNotIn("conversion_rate", rows[0], (label, f))
                if op == "!=":
                    assert_json_error(self, self.staff.request(
                        "GET", "/api/stats/demo/breakdown?" + urllib.parse.urlencode(
                            {"dimension": "browser", "filter": f,
                             "metric": "conversion_rate"})), 400)
                    continue
                asked = self.stats("breakdown", dimension="browser", filter=f,
                                   metric="conversion_rate").json()["results"]
                self.assertEqual([r["browser"] for r in asked],
                                 [r["browser"] for r in rows], (label, f))
                rows = asked
                for r in rows:
                    self.assertEqual(r["conversion_rate"],
                                     capped_rate(r["visitors"], base_rows[r["browser"]]),
                                     (label, f, r))
                    if base_flt:
                        b = r["browser"]
                        self.assertEqual(r["conversion_rate"], round(
                            100 * len({v["visitor"] for v in kept if v["browser"] == b})
                            / len({v["visitor"] for v in base if v["browser"] == b}), 1),
                            (label, f, r))
                goal_rows = {g["goal"]: g
                             for g in self.stats("goals", filter=f).json()["results"]}
                # goal== lists the goals it names, each rate over the
                # visitors the other filters keep; goal!= lists the others
                # (none here).
                self.assertEqual(set(goal_rows),
                                 {"Signup", "Visit /pricing*"} if op == "==" else set(), (label, f))
                for name, row in goal_rows.items():
                    reached = {v["visitor"] for v in kept if (
                        "Signup" in v["names"] if name == "Signup"
                        else any(p.startswith("/pricing") for p in v["pages"]))}
                    self.assertEqual(row["conversion_rate"],
                                     capped_rate(len(reached), base_visitors), (label, f, name))
                # By goal, each row's rate is the goals report's.
                for r in self.stats("breakdown", dimension="goal", filter=f,
                                    metric="conversion_rate").json()["results"]:
                    self.assertEqual(r["conversion_rate"], goal_rows[r["goal"]]["conversion_rate"],
                                     (label, f, r))
                got_goals = {g: row["visits"] for g, row in goal_rows.items()}
                self.assertEqual(got_goals.get("Signup", 0),
                                 sum(1 for v in kept if "Signup" in v["names"]), (label, f))
                self.assertEqual(got_goals.get("Visit /pricing*", 0),
                                 sum(1 for v in kept
                                     if any(p.startswith("/pricing") for p in v["pages"])),
                                 (label, f))
                [row] = list(csv.DictReader(io.StringIO(self.stats(
                    "summary", filter=f, format="csv").body.decode())))
                self.assertEqual(int(row["visits"]), want["visits"], (label, f))
                self.assertEqual(row.get("conversion_rate"),
                                 None if op == "!=" else str(got["conversion_rate"]), (label, f))

    def test_1_open_visits(self):
        # The last round's visits are open; earlier ones ended when their
        # visitor came back: reports add the two sources.
        self.assertGreater(self.server.query(
            "SELECT count(*) AS n FROM analytics_visits WHERE closed = 0")[0]["n"],
            10, "visits ended already: the test cannot see the open path")
        self.check_reports("open")

    def test_2_ended_visits_from_rollups(self):
        # A restart after the timeout: the close task runs at start.
        time.sleep(TIMEOUT_S + 0.5)
        # A clean exit: under ASan, a leak would make it non-zero.
        self.assertEqual(self.server.stop(), 0, self.server.stderr())
        self.assertNotIn("no longer linked", self.server.stderr())
        self.server.start()
        type(self).staff = login(self.server, "ana", PASSWORD)
        left = self.server.query(
            "SELECT count(*) AS n FROM analytics_visits WHERE closed = 0")[0]["n"]
        self.assertEqual(left, 0)
        # Hour rows: these visits started after merged_to, so no day or
        # month row holds them until their hours are merged.
        self.assertGreater(self.server.query(
            "SELECT count(*) AS n FROM analytics_rollup WHERE gran = 0")[0]["n"], 40)
        visits = self.check_reports("rollups")
        bots = self.server.query(
            "SELECT sum(bots) AS n FROM analytics_rollup WHERE dim = '' AND gran = 0")[0]["n"]
        self.assertEqual(bots, 3)

        # Raw events deleted (as retention does): the reports stay.
        before = {r: self.stats(r, dimension="browser").body
                  for r in ("summary", "breakdown", "goals")}
        self.server.stop()
        con = sqlite3.connect(self.server.db_path)
        con.execute("DELETE FROM events")
        con.commit()
        con.close()
        self.server.start()
        type(self).staff = login(self.server, "ana", PASSWORD)
        for r, body in before.items():
            self.assertEqual(self.stats(r, dimension="browser").body, body, r)
        self.assertTrue(visits)

    def test_3_time_zones_and_comparison(self):
        s = self.stats("summary").json()["results"]
        # Asia/Kolkata: off UTC by a half hour, so the first UTC hour of
        # the range begins in the day before; it counts in the first day.
        for tz in ("Europe/Helsinki", "America/New_York", "UTC", "Asia/Kolkata"):
            ts = self.stats("timeseries", metric="visits", interval="day",
                            tz=tz, **{"from": day(-2), "to": day(2)}).json()
            self.assertEqual([r["date"] for r in ts["results"]],
                             [day(k) for k in range(-2, 3)])
            self.assertEqual(sum(r["visits"] for r in ts["results"]), s["visits"], tz)
        hours = self.stats("breakdown", dimension="hour", tz="Europe/Helsinki",
                           limit=24, **{"from": day(-2), "to": day(2)}).json()["results"]
        self.assertEqual(sum(r["visits"] for r in hours), s["visits"])
        cmp = self.stats("summary", compare="previous_period",
                         **{"from": day(0), "to": day(0)}).json()
        self.assertEqual(cmp["comparison"]["from"], day(-1))
        self.assertEqual(cmp["comparison"]["to"], day(-1))
        self.assertIn("visits", cmp["comparison"]["results"])
        # Whole months are compared with as many whole months before.
        for (f, t), (pf, pt) in ((("2026-10-01", "2026-10-31"), ("2026-09-01", "2026-09-30")),
                                 (("2026-03-01", "2026-03-31"), ("2026-02-01", "2026-02-28")),
                                 (("2026-01-01", "2026-12-31"), ("2025-01-01", "2025-12-31")),
                                 (("2026-10-01", "2026-10-15"), ("2026-09-16", "2026-09-30"))):
            got = self.stats("summary", compare="previous_period",
                             **{"from": f, "to": t}).json()["comparison"]
            self.assertEqual((got["from"], got["to"]), (pf, pt), (f, t))
        # The same days a year before (February 29 on the 28th), and a
        # period of the caller's choosing, which need not be as long.
        for args, want in (
                ({"compare": "year_over_year", "from": "2028-02-01", "to": "2028-02-29"},
                 ("2027-02-01", "2027-02-28")),
                ({"compare": "year_over_year", "from": "2026-11-01", "to": "2026-11-30"},
                 ("2025-11-01", "2025-11-30")),
                # Whole months against the same months, a leap day in
                # them; other ranges the same dates.
                ({"compare": "year_over_year", "from": "2029-02-01", "to": "2029-02-28"},
                 ("2028-02-01", "2028-02-29")),
                ({"compare": "year_over_year", "from": "2028-03-01", "to": "2029-02-28"},
                 ("2027-03-01", "2028-02-29")),
                ({"compare": "year_over_year", "from": "2029-02-10", "to": "2029-03-05"},
                 ("2028-02-10", "2028-03-05")),
                ({"compare": "custom", "compare_from": "2026-10-02", "compare_to": "2026-10-31",
                  "from": "2026-11-01", "to": "2026-11-30"}, ("2026-10-02", "2026-10-31")),
                ({"compare": "custom", "compare_from": "2025-01-01", "compare_to": "2025-01-01",
                  "from": "2026-11-01", "to": "2026-11-30"}, ("2025-01-01", "2025-01-01"))):
            got = self.stats("summary", **args).json()["comparison"]
            self.assertEqual((got["from"], got["to"]), want, args)
        # A custom period's figures are those of the same range asked
        # for directly.
        want = self.stats("summary", **{"from": day(-1), "to": day(1)}).json()["results"]
        got = self.stats("summary", compare="custom", compare_from=day(-1), compare_to=day(1),
                         **{"from": day(5), "to": day(6)}).json()["comparison"]["results"]
        self.assertEqual(got, want)
        self.assertGreater(want["pageviews"], 0)

    def test_4_csv(self):
        r = self.stats("breakdown", dimension="page", format="csv")
        self.assertTrue(r.header("Content-Type").startswith("text/csv"))
        rows = list(csv.DictReader(io.StringIO(r.body.decode())))
        j = self.stats("breakdown", dimension="page").json()["results"]
        self.assertEqual([x["page"] for x in rows], [x["page"] for x in j])
        self.assertEqual([int(x["pageviews"]) for x in rows], [x["pageviews"] for x in j])
        r = self.stats("summary", format="csv")
        self.assertEqual(len(list(csv.reader(io.StringIO(r.body.decode())))), 2)
        # With the previous period: its figures beside each row's, as the
        # JSON has them (a timeseries' by bucket, a breakdown's by value).
        for report, extra in (("summary", {}), ("timeseries", {"interval": "day"}),
                              ("breakdown", {"dimension": "page"})):
            j = self.stats(report, compare="previous_period", **extra).json()
            rows = list(csv.DictReader(io.StringIO(self.stats(
                report, compare="previous_period", format="csv",
                **extra).body.decode())))
            res, prev = j["results"], j["comparison"]["results"]
            if report == "summary":
                res, prev = [res], [prev]
            self.assertEqual(len(rows), len(res), report)
            for i, (row, r) in enumerate(zip(rows, res)):
                if report == "breakdown":
                    p = next((x for x in prev if x["page"] == r["page"]), None)
                else:
                    p = prev[i] if i < len(prev) else None
                want = "" if p is None else str(p["visitors"])
                self.assertEqual(row["previous_visitors"], want, (report, i))
            # What names a row is not repeated; a bucket's date, another
            # then, is shown.
            self.assertNotIn("previous_page", rows[0])
            self.assertEqual("previous_date" in rows[0], report == "timeseries")
        rows = list(csv.DictReader(io.StringIO(self.stats(
            "goals", compare="previous_period", format="csv").body.decode())))
        self.assertIn("previous_conversion_rate", rows[0])
        for name in ("previous_goal", "previous_kind", "previous_pattern"):
            self.assertNotIn(name, rows[0])
        # A table without rows (a filter nothing matches): its header.
        r = self.stats("breakdown", dimension="source", format="csv",
                       filter="country==XX")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(list(csv.reader(io.StringIO(r.body.decode()))),
                         [["source", "visitors", "visits", "pageviews", "views_per_visit",
                           "bounce_rate", "visit_duration", "events", "time_on_page"]])

    def test_5_bad_requests(self):
        cases = [("summary", {"from": "2026-13-01"}), ("summary", {"to": "yesterday"}),
                 ("summary", {"from": "2026-02-30"}),
                 ("summary", {"from": day(1), "to": day(-1)}),
                 ("summary", {"tz": "Mars/Olympus"}), ("summary", {"filter": "nosuch==1"}),
                 ("summary", {"filter": "browser=Chrome"}), ("summary", {"filter": "goal==nope"}),
                 ("summary", {"filter": "goal==Signup|nope"}),
                 ("summary", {"compare": "last_year"}), ("summary", {"format": "xml"}),
                 ("summary", {"compare": "custom"}),
                 ("summary", {"compare": "custom", "compare_from": "2026-01-01"}),
                 ("summary", {"compare": "custom", "compare_from": "2026-01-02",
                              "compare_to": "2026-01-01"}),
                 ("summary", {"compare": "custom", "compare_from": "2026-02-30",
                              "compare_to": "2026-03-01"}),
                 ("summary", {"compare": "custom", "compare_from": "1990-01-01",
                              "compare_to": "2026-03-01"}),
                 ("summary", {"compare": "previous_period", "compare_from": "2026-01-01",
                              "compare_to": "2026-01-02"}),
                 ("summary", {"compare_from": "2026-01-01", "compare_to": "2026-01-02"}),
                 ("breakdown", {"dimension": "nosuch"}), ("breakdown", {}),
                 ("breakdown", {"dimension": "page", "limit": "0"}),
                 ("breakdown", {"dimension": "page", "limit": "x"}),
                 ("breakdown", {"dimension": "page", "limit": " 5"}),
                 ("breakdown", {"dimension": "page", "limit": "+5"}),
                 ("timeseries", {"interval": "year"}), ("timeseries", {"metric": "nosuch"}),
                 ("timeseries", {"interval": "hour", "from": "2020-01-01", "to": "2020-12-31"}),
                 ("summary", {"from": "2000-01-01", "to": "2026-01-01"}),
                 # Days from 1970 on, and so the periods compared.
                 ("summary", {"from": "1969-12-31", "to": "1970-01-05"}),
                 ("summary", {"from": "1970-01-01", "to": "1970-01-05",
                              "compare": "previous_period"}),
                 ("summary", {"from": "1970-06-01", "to": "1970-06-05",
                              "compare": "year_over_year"}),
                 # Quoted in the message cut at a byte count, inside a
                 # character: still a 400.
                 ("summary", {"tz": "a" + "\u00e9" * 40}),
                 ("summary", {"filter": "z" + "\u00e9" * 100 + "==x"})]
        for report, params in cases:
            r = self.staff.request("GET", "/api/stats/demo/%s?%s" % (
                report, urllib.parse.urlencode(params)))
            assert_json_error(self, r, 400)
        # A metric a breakdown does not have, as for the timeseries; an
        # empty value outside prop: (a visit without one has "(none)").
        for params, message in (
                ({"dimension": "source", "metric": "bogus"}, 'unknown metric "bogus"'),
                ({"dimension": "source", "metric": "visits,bogus"}, 'unknown metric "bogus"'),
                ({"dimension": "source", "filter": "country=="},
                 'filter "country": the value is empty (a visit without one has (none))'),
                ({"dimension": "source", "filter": "page!="},
                 'filter "page": the value is empty (a visit without one has (none))'),
                ({"dimension": "source", "filter": "country==GB|"},
                 'filter "country": an alternative between | is empty')):
            r = self.staff.request("GET", "/api/stats/demo/breakdown?" +
                                   urllib.parse.urlencode(params))
            self.assertEqual(assert_json_error(self, r, 400)["message"], message, params)
        for params in ({"dimension": "source", "metric": "visitors,visits,pageviews,"
                        "views_per_visit,bounce_rate,visit_duration,events,time_on_page"},
                       {"dimension": "prop:plan", "filter": "prop:plan=="}):
            r = self.staff.request("GET", "/api/stats/demo/breakdown?" +
                                   urllib.parse.urlencode(params))
            self.assertEqual(r.status, 200, (params, r))
        # An unknown goal among several: named.
        for report in ("summary", "timeseries", "goals", "breakdown?dimension=page&"):
            r = self.staff.request("GET", "/api/stats/demo/%s%sfilter=%s" % (
                report, "" if "?" in report else "?",
                urllib.parse.quote("goal!=Visit /pricing*|nope|Signup")))
            self.assertEqual(assert_json_error(self, r, 400)["message"], 'no goal "nope"')
        # Alternatives past what one SQL expression takes: a 400, not a
        # 500 (SQLite's depth limit); at the limit the report runs.
        for dim in ("prop:plan", "page", "browser"):
            for n, status in ((100, 200), (101, 400), (1000, 400)):
                flt = "%s==%s" % (dim, "|".join(["x"] * n))
                r = self.staff.request("GET", "/api/stats/demo/summary?" +
                                       urllib.parse.urlencode({"filter": flt}))
                self.assertEqual(r.status, status, (dim, n, r))
                if status == 400:
                    self.assertEqual(assert_json_error(self, r, 400)["message"],
                                     'filter "%s": at most 100 alternatives' % dim)
        # A report is audited as a read of statistics (aggregates), not of
        # a person's data, saying what was read; one that reads custom
        # event properties (an order number may be one person's) as a
        # read; a refused one as the failed read it is.
        def last_audit():
            time.sleep(0.2)
            return dict(self.server.query(
                "SELECT action, subject, detail, outcome FROM audit_log WHERE "
                "route GLOB 'GET /api/stats/*' ORDER BY id DESC LIMIT 1")[0])
        self.assertEqual(self.stats("breakdown", dimension="page", filter="device==mobile",
                                    compare="previous_period",
                                    **{"from": "2026-10-01", "to": "2026-10-31"}).status, 200)
        self.assertEqual(last_audit(), {
            "action": "statistics", "subject": None, "outcome": "ok",
            "detail": "breakdown of site demo by page, 2026-10-01 to 2026-10-31, "
                      "filter device==\u2026, compared with 2026-09-01...2026-09-30"})
        self.assertEqual(self.staff.request("GET", "/api/stats/demo/realtime").status, 200)
        self.assertEqual(last_audit()["detail"], "realtime of site demo")
        self.assertEqual(self.stats("breakdown", dimension="prop:plan").status, 200)
        got = last_audit()
        self.assertEqual((got["action"], got["outcome"]), ("read", "ok"))
        # The conditions without their values: a value may be personal
        # data (an email in a property), and audit entries are kept.
        self.assertEqual(self.stats("summary", filter="prop:plan==team;country!=FI").status,
                         200)
        got = last_audit()
        self.assertEqual(got["action"], "read")
        self.assertTrue(got["detail"].endswith(", filter prop:plan==\u2026;country!=\u2026"),
                        got["detail"])
        self.assertNotIn("team", got["detail"])
        self.assertEqual(self.staff.request(
            "GET", "/api/stats/demo/breakdown?dimension=nosuch").status, 400)
        got = last_audit()
        self.assertEqual((got["action"], got["outcome"]), ("read", "failed"))
        # What the entry quotes cannot fail the report: a parameter the
        # report ignores, long property names of two-byte letters (a
        # breakdown's, and the most conditions a filter may have).
        long_key = "prop:" + "\u00e4" * 30
        for report, params in (("summary", {"dimension": "x" + "\u00e4" * 33}),
                               ("goals", {"dimension": "x" + "\u00e4" * 33}),
                               ("breakdown", {"dimension": long_key}),
                               ("summary", {"filter": ";".join(
                                   "%s%d!=\u00e4" % (long_key, i) for i in range(10))})):
            r = self.staff.request("GET", "/api/stats/demo/%s?%s" % (
                report, urllib.parse.urlencode(params)))
            self.assertEqual(r.status, 200, (report, params, r.body[:200]))
            got = last_audit()
            self.assertEqual(got["outcome"], "ok", (report, params))
            if "filter" in params:
                self.assertEqual(got["detail"].count("\u2026"), 10, got["detail"])
        # A control character in a value is refused before any of it.
        r = self.staff.request("GET", "/api/stats/demo/summary?" + urllib.parse.urlencode(
            {"filter": "country==F\x01I"}))
        self.assertIn(r.status, (200, 400))
        self.assertEqual(self.staff.request("GET", "/api/stats/demo/summary?" + urllib.parse.urlencode(
            {"dimension": "x" + "\u00e4" * 33})).status, 200)
        # Who may read: analysts and admins; not customer service; not the public.
        cs = login(self.server, "cs", PASSWORD)
        self.assertEqual(cs.request("GET", "/api/stats/demo/summary").status, 403)
        self.assertEqual(self.server.request("GET", "/api/stats/demo/summary").status, 401)
        sites = self.staff.request("GET", "/api/stats/sites").json()
        # Every configured site, sorted: "other" before its first visit
        # too, with no first day yet.
        self.assertEqual(sites["sites"], ["demo", "other"])
        self.assertIn("demo", sites["since"])
        self.assertNotIn("other", sites["since"])
        # The configured goals' names, which a saved link's goal== filter
        # is checked against.
        self.assertEqual(sites["goals"], {"demo": ["Signup", "Visit /pricing*"]})
        # A site without traffic is empty, not an error.
        r = self.staff.request("GET", "/api/stats/other/summary")
        self.assertEqual(r.json()["results"]["visits"], 0)
        # A site the config does not have is not found, in every report.
        for report in ("summary", "timeseries", "breakdown?dimension=page", "realtime",
                       "goals"):
            r = self.staff.request("GET", "/api/stats/nosuch/" + report)
            assert_json_error(self, r, 404, "unknown_site")

    def test_5b_cut_property_values_stay_text(self):
        # A value over 200 bytes is cut at a character, not in one: the
        # breakdown shows it (JSON carries only text).
        h = {"User-Agent": ua_of(42), "X-Forwarded-For": "203.0.113.200"}
        r = self.server.collect([{"site": "demo", "type": "event", "name": "Cut",
                                  "url": "http://localhost/", "props": {"note": "€" * 100}}],
                                headers=h)
        self.assertIn(r.status, (200, 202, 204), r)
        rows = self.stats("breakdown", dimension="prop:note").json()["results"]
        self.assertEqual([(x["prop:note"], x["visits"]) for x in rows], [("€" * 66, 1)])

    def test_5c_property_keys_listed(self):
        # The dashboard's menu of properties: the keys of the site's ended
        # visits (their rollups) and of its open ones, sorted; each key of
        # every visit kept, and none of another site.
        q = self.server.query
        ended = {r["k"] for r in q("SELECT DISTINCT substr(dim, 6) AS k FROM analytics_rollup "
                                   "WHERE site = 'demo' AND dim GLOB 'prop:*'")}
        still = {r["k"] for r in q("SELECT DISTINCT e.prop AS k FROM analytics_visit_events e "
                                   "JOIN analytics_visits v ON v.id = e.visit WHERE v.site = "
                                   "'demo' AND v.closed = 0 AND e.prop != ''")}
        every = {r["k"] for r in q("SELECT DISTINCT e.prop AS k FROM analytics_visit_events e "
                                   "JOIN analytics_visits v ON v.id = e.visit WHERE v.site = "
                                   "'demo' AND e.prop != ''")}
        self.assertIn("note", still - ended)  # test_5b's, not ended yet
        self.assertTrue(ended - still, "a key only ended visits have")
        self.assertEqual(ended | still, every)
        props = self.staff.request("GET", "/api/stats/sites").json()["props"]
        # "other", configured and never visited, has none.
        self.assertEqual(props, {"demo": sorted(every), "other": []})

    def test_5d_pages_of_a_breakdown(self):
        # Page by page (Plausible's `page`), with whether more follow; a
        # CSV export lists the whole table at once.
        whole = self.stats("breakdown", dimension="page", limit=1000).json()
        self.assertFalse(whole["more"])
        n = len(whole["results"])
        self.assertGreater(n, 3)
        got, k = [], 1
        while True:
            j = self.stats("breakdown", dimension="page", limit=2, page=k).json()
            self.assertEqual(j["page"], k)
            got += j["results"]
            self.assertEqual(j["more"], len(got) < n, k)
            if not j["more"]:
                break
            k += 1
        self.assertEqual(got, whole["results"])
        past = self.stats("breakdown", dimension="page", limit=2, page=k + 1).json()
        self.assertEqual((past["results"], past["more"]), ([], False))
        r = self.stats("breakdown", dimension="page", limit=5000, format="csv")
        self.assertEqual(len(list(csv.DictReader(io.StringIO(r.body.decode())))), n)
        # A UTM breakdown leaves out the untagged visits, and says whether
        # more follow without them.
        for dim in ("utm_campaign", "utm_source"):
            j = self.stats("breakdown", dimension=dim, limit=1).json()
            self.assertEqual(([r[dim] for r in j["results"]], j["more"]),
                             (["winter" if dim == "utm_campaign" else "news"], False))
            r = self.stats("breakdown", dimension=dim, format="csv")
            self.assertNotIn("(none)", r.body.decode())
        for params in ({"limit": "5000"}, {"page": "0"}, {"page": "x"},
                       {"limit": "1000", "page": "1001"}):
            r = self.staff.request("GET", "/api/stats/demo/breakdown?" + urllib.parse.urlencode(
                dict(params, dimension="page")))
            assert_json_error(self, r, 400)

    def test_5e_no_figure_is_null(self):
        # A row's metric it has no figure for is null, not a 0 that reads
        # as measured: a page has no visit duration of its own, an event
        # (a property, a goal) no page views or bounces.
        page = self.stats("breakdown", dimension="page").json()["results"][0]
        self.assertIsNone(page["visit_duration"])
        self.assertGreater(page["pageviews"], 0)
        for dim in ("event", "goal", "prop:plan"):
            row = self.stats("breakdown", dimension=dim).json()["results"][0]
            for name in ("pageviews", "views_per_visit", "bounce_rate", "visit_duration"):
                self.assertIsNone(row[name], (dim, name))
            self.assertGreater(row["events"], 0, dim)
        src = self.stats("breakdown", dimension="source").json()["results"][0]
        self.assertIsNotNone(src["visit_duration"])

    def test_5f_empty_property_value_filtered(self):
        # A property sent as "" is a value of its own: its row, and its
        # filter as the dashboard sends it for that row (prop:KEY==, an
        # empty value), which keeps only those visits.
        for n, value in ((44, ""), (45, "gold")):
            h = {"User-Agent": ua_of(n), "X-Forwarded-For": "203.0.113.%d" % (160 + n)}
            r = self.server.collect([pageview(url="http://localhost/tiers"),
                                     {"site": "demo", "type": "event", "name": "Tier",
                                      "url": "http://localhost/tiers", "props": {"tier": value}}],
                                    headers=h)
            self.assertIn(r.status, (200, 202, 204), r)
        rows = self.stats("breakdown", dimension="prop:tier").json()["results"]
        self.assertEqual(sorted((x["prop:tier"], x["visits"]) for x in rows), [("", 1), ("gold", 1)])
        got = self.stats("summary", filter="prop:tier==").json()
        self.assertEqual(got["filters"], [{"dimension": "prop:tier", "op": "==", "value": ""}])
        self.assertEqual((got["results"]["visits"], got["results"]["events"]), (1, 1))
        got = self.stats("summary", filter="prop:tier==;event==Tier").json()["results"]
        self.assertEqual(got["visits"], 1)

    def test_5c_long_page_filtered(self):
        # Any path a report shows can be filtered on: a stored URL is up to
        # 2,048 bytes, and this one's path is over 512.
        path = "/blog/" + "%D0%BA" * 120
        h = {"User-Agent": ua_of(43), "X-Forwarded-For": "203.0.113.201"}
        r = self.server.collect([pageview(url="http://localhost" + path)], headers=h)
        self.assertIn(r.status, (200, 202, 204), r)
        rows = self.stats("breakdown", dimension="page", limit=1000).json()["results"]
        self.assertIn(path, [x["page"] for x in rows])
        got = self.stats("summary", filter="page==" + path).json()["results"]
        self.assertEqual((got["visits"], got["pageviews"]), (1, 1))
        rows = self.stats("breakdown", dimension="page", filter="page==" + path).json()
        self.assertEqual([(x["page"], x["pageviews"]) for x in rows["results"]],
                         [(path, 1)])
        # Typed as it reads, as the dashboard shows it: encoded as the
        # browser sent it.
        got = self.stats("summary", filter="page==/blog/" + "\u043a" * 120).json()["results"]
        self.assertEqual((got["visits"], got["pageviews"]), (1, 1))
        got = self.stats("summary", filter="page==/blog/\u043a*").json()["results"]
        self.assertEqual(got["visits"], 1)
        # Past that, a clear refusal.
        r = self.staff.request("GET", "/api/stats/demo/summary?" + urllib.parse.urlencode(
            {"filter": "page==/" + "a" * 2048}))
        assert_json_error(self, r, 400)
        self.assertIn("at most 2048 bytes", r.json()["message"])

    def test_6_realtime(self):
        h = {"User-Agent": ua_of(99)}
        self.server.collect([pageview(url="http://localhost/live")], headers=h)
        rt = self.staff.request("GET", "/api/stats/demo/realtime").json()
        self.assertGreaterEqual(rt["visitors"], 1)
        self.assertGreaterEqual(rt["pageviews"], 1)
        self.assertIn("/live", [p["page"] for p in rt["pages"]])
        self.assertEqual(rt["window_s"], 300)
        # A visitor who sent a custom event alone is a visitor on no page:
        # counted, not listed as a page "(none)".
        before = rt["visitors"]
        self.server.collect([{"site": "demo", "type": "event", "name": "ping",
                              "url": "http://localhost/live"}],
                            headers={"User-Agent": ua_of(98)})
        rt = self.staff.request("GET", "/api/stats/demo/realtime").json()
        self.assertEqual(rt["visitors"], before + 1)
        self.assertNotIn("(none)", [p["page"] for p in rt["pages"]])
        # It counts all traffic now: what would narrow it is refused, not
        # ignored.
        for params in ({"filter": "country==ZZ"}, {"from": day(-1)}, {"to": day(0)},
                       {"compare": "previous_period"}):
            r = self.staff.request("GET", "/api/stats/demo/realtime?" +
                                   urllib.parse.urlencode(params))
            assert_json_error(self, r, 400)
        self.assertEqual(self.staff.request(
            "GET", "/api/stats/demo/realtime?tz=Europe%2FHelsinki").status, 200)

    def test_7_report_command(self):
        """`seula report`: the same figures as the API, in three forms."""
        args = ["report", "--config", self.server.config_path, "--site", "demo",
                "--from", day(-1), "--to", day(1)]
        r = run_seula(*args, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        api = self.stats("summary", compare="previous_period").json()
        self.assertEqual(rep["summary"], api["results"])
        self.assertEqual(rep["comparison"]["summary"], api["comparison"]["results"])
        pages = self.stats("breakdown", dimension="page").json()["results"]
        self.assertEqual(rep["pages"], pages)
        self.assertEqual(rep["goals"], self.stats("goals").json()["results"])
        self.assertEqual(sum(x["visits"] for x in rep["timeseries"]),
                         api["results"]["visits"])
        self.assertIn("consent", rep)

        r = run_seula(*args, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        # (Text mode has turned the CRLFs into newlines.)
        sections = [s for s in r.stdout.split("\n\n") if s.strip()]
        titles = [s.split("\n", 1)[0] for s in sections]
        self.assertEqual(titles[:4], ["Report", "Summary", "Previous period", "Visits"])
        self.assertIn("Goals", titles)
        # What the tables are of, first.
        head = list(csv.DictReader(io.StringIO(sections[0].split("\n", 1)[1])))
        self.assertEqual(head, [{"site": "demo", "from": day(-1), "to": day(1), "tz": api["tz"],
                                 "filter": "", "previous_from": api["comparison"]["from"],
                                 "previous_to": api["comparison"]["to"],
                                 # The range runs to tomorrow, now in it.
                                 "previous_until": api["comparison"]["until"]}])
        self.assertEqual(rep["comparison"]["until"], api["comparison"]["until"])
        summary = list(csv.DictReader(io.StringIO(sections[1].split("\n", 1)[1])))
        self.assertEqual(int(summary[0]["visits"]), api["results"]["visits"])

        out = os.path.join(self.server.dir, "report.html")
        r = run_seula(*args, "--format", "html", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        html = pathlib.Path(out).read_text(encoding="utf-8")
        self.assertTrue(html.startswith("<!doctype html>"))
        # Self-contained: nothing fetched.
        self.assertNotRegex(html, r'<(script|link|img)[^>]+(src|href)=')
        self.assertIn(">%d<" % api["results"]["visits"], html)
        self.assertIn("new uPlot(", html)
        for p in pages[:3]:
            self.assertIn(">%s<" % p["page"], html)

        # --filter: every part as the API filters it; with a goal, the
        # summary's conversion rate, in the HTML too.
        r = run_seula(*args, "--format", "json", "--filter", "goal==Signup")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        api = self.stats("summary", compare="previous_period", filter="goal==Signup").json()
        self.assertEqual(rep["summary"], api["results"])
        self.assertIn("conversion_rate", rep["summary"])
        self.assertEqual(rep["filters"], [{"dimension": "goal", "op": "==", "value": "Signup"}])
        self.assertEqual(rep["pages"], self.stats("breakdown", dimension="page",
                                                  filter="goal==Signup").json()["results"])
        r = run_seula(*args, "--format", "html", "--filter", "goal==Signup", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        html = pathlib.Path(out).read_text(encoding="utf-8")
        self.assertIn("Only the visits where goal is Signup", html)
        self.assertIn("Conversion rate", html)
        r = run_seula(*args, "--filter", "goal==nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nosuch", r.stderr)
        # Either of two goals: the API's figures, its rate.
        either = "goal==Signup|Visit /pricing*"
        r = run_seula(*args, "--format", "json", "--filter", either)
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        api = self.stats("summary", compare="previous_period", filter=either).json()
        self.assertEqual(rep["summary"], api["results"])
        self.assertGreater(rep["summary"]["conversion_rate"],
                           self.stats("summary", filter="goal==Signup").json()[
                               "results"]["conversion_rate"])
        r = run_seula(*args, "--filter", "goal==Signup|nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn('no goal "nosuch"', r.stderr)
        r = run_seula(*args, "--format", "csv", "--filter", "country==-x,\"y")
        self.assertEqual(r.returncode, 0, r.stderr)
        head = list(csv.DictReader(io.StringIO(r.stdout.split("\n\n")[0].split("\n", 1)[1])))
        self.assertEqual(head[0]["filter"], "country==-x,\"y")
        # An empty previous period has no rates per visit to show.
        self.assertIn("<small>before: \u2013</small>", html)
        r = run_seula(*args, "--format", "pdf")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--format must be json, csv or html", r.stderr)
        r = run_seula(*args, "-o", os.path.join(self.server.dir, "no", "such", "r.html"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("No such file or directory", r.stderr)
        empty = os.path.join(self.server.dir, "empty.db")
        open(empty, "w").close()  # a file, never migrated
        r = run_seula("report", "--config", self.server.config_path, "--db", empty,
                      "--site", "demo")
        self.assertEqual(r.returncode, 1)
        self.assertIn("seula migrate", r.stderr)

        # Countries by their names: the test's visitors come from Finland
        # (DB-IP's country alone) and Sweden (MaxMind's test city), among
        # others.
        r = run_seula(*args, "--format", "html", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, encoding="utf-8") as f:
            html = f.read()
        self.assertIn(">Finland (FI)<", html)
        self.assertIn(">Sweden (SE)<", html)

        # The config from $SEULA_CONFIG when --config is not given.
        env = dict(os.environ, SEULA_CONFIG=self.server.config_path)
        alone = subprocess.run([BIN, "report", *args[3:], "--format", "json"], capture_output=True,
                               text=True, timeout=60, env=env)
        self.assertEqual(alone.returncode, 0, alone.stderr)
        self.assertEqual(json.loads(alone.stdout)["summary"],
                         json.loads(run_seula(*args, "--format", "json").stdout)["summary"])

        # Errors: usage 2, an unknown site or a bad date 1, with a message.
        self.assertEqual(run_seula("report", "--config", self.server.config_path).returncode, 2)
        r = run_seula("report", "--config", self.server.config_path, "--site", "nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nosuch", r.stderr)
        r = run_seula(*args[:5], "--from", "2026-02-31")
        self.assertEqual(r.returncode, 1)
        self.assertIn("from", r.stderr)


class BlankCampaignTest(unittest.TestCase):
    """A utm_* value of white space names nothing: the source comes from
    the referrer (or the next tag) as without it, and no breakdown has a
    row of blanks; a value with white space around it is the value."""

    def test_blank_utm_values_are_absent_and_others_trimmed(self):
        s = started(self, plugins=PLUGINS)
        add_user(s, "ana", "analyst", PASSWORD)
        staff = login(s, "ana", PASSWORD)
        cases = [
            # (query, referrer)
            ("utm_source=%20%20&utm_campaign=+&utm_medium=%20",
             "https://www.google.com/"),
            ("utm_source=%20news%20&utm_campaign=%C2%A0spring%E3%80%80"
             "&utm_content=+a+b+", None),
            ("utm_source=%E2%80%8B&ref=+partner", None),
            ("ref=%20&source=%20blog+", None),
            ("utm_source=+&utm_source=mail", None),
            ("utm_term=%EF%BB%BF%20%E2%80%89", None),
        ]
        for i, (query, referrer) in enumerate(cases):
            ev = pageview(url="http://localhost/c%d?%s" % (i, query))
            if referrer:
                ev["referrer"] = referrer
            r = s.collect([ev], headers={"User-Agent": ua_of(i)})
            self.assertEqual(r.status, 204, r)
        rows = s.query("SELECT path, utm_source, utm_medium, utm_campaign, "
                       "utm_term, utm_content, referrer_source, "
                       "referrer_name FROM events ORDER BY path")
        got = {r["path"]: tuple(r[k] for k in (
            "utm_source", "utm_medium", "utm_campaign", "utm_term",
            "utm_content", "referrer_source", "referrer_name"))
            for r in rows}
        self.assertEqual(got, {
            "/c0": (None, None, None, None, None, "search", "Google"),
            "/c1": ("news", None, "spring", None, "a b", "campaign", "news"),
            "/c2": ("partner", None, None, None, None, "campaign", "partner"),
            "/c3": ("blog", None, None, None, None, "campaign", "blog"),
            "/c4": ("mail", None, None, None, None, "campaign", "mail"),
            "/c5": (None, None, None, None, None, "direct", None),
        })

        def breakdown(dim):
            r = staff.request("GET", "/api/stats/demo/breakdown?" +
                              urllib.parse.urlencode({
                                  "dimension": dim, "from": day(-1),
                                  "to": day(1)}))
            self.assertEqual(r.status, 200, r)
            return sorted(x[dim] for x in r.json()["results"])
        self.assertEqual(breakdown("utm_source"),
                         ["blog", "mail", "news", "partner"])
        self.assertEqual(breakdown("utm_campaign"), ["spring"])
        self.assertEqual(breakdown("utm_medium"), [])
        self.assertEqual(breakdown("utm_term"), [])
        self.assertEqual(breakdown("utm_content"), ["a b"])
        self.assertEqual(breakdown("source"),
                         ["Direct / None", "Google", "blog", "mail", "news",
                          "partner"])


class VisitorRetentionTest(unittest.TestCase):
    """After visitor_retention a visit's visitor is forgotten: filtered
    reports (which read the visits) count it as a visitor of its own, the
    rollups keep the count they had."""

    def test_the_privacy_statement_states_how_long_visits_are_kept(self):
        # PROMISES 18 and 25: the statistics' visits, cookieless or
        # consented and linked to no customer, are on /privacy as they are
        # kept: tied to the visitor's other visits for visitor_retention
        # (part days rounded up), then unlinked, with the rollups, until
        # further notice (nothing deletes them).
        controller = {"name": "Esimerkki Oy", "email": "info@example.fi",
                      "contact_name": "Maija Meikäläinen",
                      "contact_email": "tietosuoja@example.fi"}
        s = started(self, plugins=PLUGINS, sections={
            "controller": controller,
            "plugin.analytics": {"visitor_retention": "36h"}})
        words = {"en": ("from the start of the visit", "until further notice"),
                 "fi": ("käynnin alusta", "toistaiseksi"),
                 "sv": ("från besökets början", "tills vidare")}
        for lang, (after, indefinite) in words.items():
            page = s.request("GET", "/privacy?lang=" + lang).body.decode()
            rows = re.findall(r'<tr data-retention="(analytics_[a-z_]+)"',
                              page)
            self.assertRegex(page, r'<tr data-retention="analytics_visits" '
                                   r'data-days="2">.*?<td>[^<]*2[^<]* %s</td>'
                             % after)
            self.assertRegex(page, r'<tr data-retention="analytics_visits_'
                                   r'unlinked" data-days="null">.*?<td>%s</td>'
                             % indefinite)
            self.assertRegex(page, r'<tr data-retention="analytics_rollups" '
                                   r'data-days="null">.*?<td>%s</td>'
                             % indefinite)
            self.assertEqual(rows, ["analytics_visits",
                                    "analytics_visits_unlinked",
                                    "analytics_rollups"])
        # The default, 400 days; without the plugin no such rows.
        s = started(self, plugins=PLUGINS, sections={"controller": controller})
        page = s.request("GET", "/privacy?lang=en").body.decode()
        self.assertRegex(page, r'data-retention="analytics_visits" '
                               r'data-days="400"')
        s = started(self, plugins=("anonymize",),
                    sections={"controller": controller})
        page = s.request("GET", "/privacy?lang=en").body.decode()
        self.assertIn('data-retention="raw_events"', page)
        self.assertNotIn('data-retention="analytics_', page)

    def test_old_visits_no_longer_linked(self):
        # Not `with Server(...)`: that starts it, and this test starts and
        # stops it itself.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "visitor_retention": "8s"}})
        add_user(s, "ana", "analyst", PASSWORD)
        h = {"User-Agent": ua_of(5)}
        for _ in range(2):
            s.collect([pageview(url="http://localhost/x")], headers=h)
            time.sleep(1.5)
        s.stop()
        s.start()  # ends both visits; neither is 8 s old yet
        staff = login(s, "ana", PASSWORD)
        q = "/api/stats/demo/summary?from=%s&to=%s" % (day(-1), day(1))

        def visitors(extra=""):
            return staff.request("GET", q + extra).json()["results"]["visitors"]
        self.assertEqual(visitors(), 1)
        self.assertEqual(visitors("&filter=page%3D%3D%2Fx"), 1)
        linked = s.query("SELECT count(DISTINCT visitor) AS n FROM analytics_visits")
        self.assertEqual(linked[0]["n"], 1)
        time.sleep(8.2)
        s.stop()
        s.start()  # the forget task runs at start
        staff = login(s, "ana", PASSWORD)
        self.assertEqual(visitors(), 1, "the rollups keep their count")
        self.assertEqual(visitors("&filter=browser%21%3Dnosuch"), 1,
                         "a filter on one column reads its rollup rows")
        self.assertEqual(visitors("&filter=page%3D%3D%2Fx"), 2)
        rows = s.query("SELECT id, visitor FROM analytics_visits")
        self.assertEqual([r["id"] for r in rows], [r["visitor"] for r in rows])
        self.assertIn("no longer linked", s.stderr())

    def import_and_forget(self, s, lines, n):
        """Import `lines` into the stopped server s, let their n visits
        close, and restart it: the forget task has cut them all."""
        import_lines(self, s, "old.log", lines)
        s.start()
        wait_all_closed(self, s, 20, 0.2)
        s.stop()
        s.start()  # the forget task runs at start
        rows = s.query("SELECT id, visitor FROM analytics_visits")
        self.assertEqual(len(rows), n)
        self.assertEqual([r["id"] for r in rows], [r["visitor"] for r in rows])

    def test_segment_backfilled_from_forgotten_visits(self):
        # Forgotten visits' "visitor" is their own id, a small number: a
        # sketch took them all into one register, so a segment backfilled
        # from 20 such visits counted them as one visitor.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1800s", "visitor_retention": "1d"}})
        s.stop()
        old = (datetime.datetime.now(datetime.timezone.utc)
               - datetime.timedelta(days=3)).replace(hour=10, minute=0, second=0,
                                                     microsecond=0)
        lines = ['%d.51.100.7 - - [%s] "GET /x HTTP/1.1" 200 512 "-" "%s"' % (
            20 + i, (old + datetime.timedelta(minutes=i)).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            BROWSERS[0]) for i in range(20)]
        self.import_and_forget(s, lines, 20)
        s.stop()
        configure(s, segments="demo:page==/x")
        s.start()
        deadline = time.monotonic() + 20
        while "segment demo:page==/x backfilled" not in s.stderr():
            self.assertLess(time.monotonic(), deadline, s.stderr()[-2000:])
            time.sleep(0.1)
        add_user(s, "ana", "analyst", PASSWORD)
        staff = login(s, "ana", PASSWORD)
        q = "/api/stats/demo/summary?from=%s&to=%s" % (day(-4), day(1))
        seg = staff.request("GET", q + "&filter=page%3D%3D%2Fx").json()
        self.assertTrue(seg["preprocessed"], seg)
        adhoc = staff.request("GET", q + "&filter=page%3D%3D%2Fx%3Bdevice%21%3Dnosuch").json()
        self.assertFalse(adhoc["preprocessed"], adhoc)
        self.assertEqual(adhoc["results"]["visitors"], 20)
        self.assertEqual(seg["results"]["visits"], 20)
        self.assertEqual(seg["results"]["visitors"], 20, "the segment's sketch")

    def test_old_log_imported_later_is_forgotten(self):
        # The forget task has passed four days ago; then a log of that
        # day is imported: its visits are past retention already, and
        # lose their visitor at the next run, not never.
        # Started: the forget task's mark is two days ago.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1800s", "visitor_retention": "2d"}})
        s.stop()
        old = (datetime.datetime.now(datetime.timezone.utc)
               - datetime.timedelta(days=4)).replace(microsecond=0)
        lines = ['198.51.100.%d - - [%s] "GET /old HTTP/1.1" 200 512 "-" "%s"' % (
            60 + i % 2, (old + datetime.timedelta(hours=i)).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            BROWSERS[0] + " old") for i in range(4)]
        self.import_and_forget(s, lines, 4)

    def test_visit_open_past_retention_is_forgotten_once_closed(self):
        # Still open when the forget task first passes its start, the
        # visit keeps its visitor; the next run, once it has ended, cuts it.
        # The timeout leaves a loaded machine (CI runs tests two at a time)
        # seconds to restart the server while the visit is still open.
        timeout = 10
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "%ds" % timeout, "visitor_retention": "2s",
            "rollup_delay": "1h"}})
        s.collect([pageview(url="http://localhost/y")],
                  headers={"User-Agent": ua_of(6)})
        sent = time.monotonic()
        time.sleep(2.5)
        s.stop()
        s.start()  # forget: past retention, but open
        rows = s.query("SELECT id, visitor, closed FROM analytics_visits")
        self.assertLess(time.monotonic() - sent, timeout)
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["closed"], 0)
        self.assertNotEqual(rows[0]["id"], rows[0]["visitor"])
        time.sleep(max(0.0, sent + timeout + 0.5 - time.monotonic()))
        s.stop()
        s.start()  # close (written at once), then forget
        [row] = s.query("SELECT id, visitor, closed FROM analytics_visits")
        self.assertEqual(row["closed"], 1)
        self.assertEqual(row["id"], row["visitor"])


class PendingRollupsTest(unittest.TestCase):
    """The close task gathers ended visits in memory and writes them to the
    rollups together, rollup_delay later, closing them in the same
    transaction: until then they are open in the table, so reports count
    them from there, and a server killed before the write ends them again
    at start, neither lost nor counted twice."""

    KEYS = ("visits", "pageviews", "events", "bounce_rate", "visit_duration")

    def start(self, delay):
        s = started(self, plugins=PLUGINS, server={"log_level": "debug"}, sections={
            "plugin.analytics": {"visit_timeout": "1s", "rollup_delay": delay,
                                 "goals": GOALS}})
        add_user(s, "ana", "analyst", PASSWORD)
        return s

    def traffic(self, s, visitors):
        send_visits(self, s, 300, visitors)

    def wait_log(self, s, text, seconds=15):
        deadline = time.monotonic() + seconds
        while text not in s.stderr():
            self.assertLess(time.monotonic(), deadline, "no %r in the log:\n%s"
                            % (text, s.stderr()[-2000:]))
            time.sleep(0.1)

    def wait_all_closed(self, s, seconds=10):
        # The task logs its write before the host commits it.
        deadline = time.monotonic() + seconds
        while s.query("SELECT count(*) AS n FROM analytics_visits "
                      "WHERE closed = 0")[0]["n"]:
            self.assertLess(time.monotonic(), deadline, s.stderr()[-2000:])
            time.sleep(0.05)

    def summary(self, s):
        staff = login(s, "ana", PASSWORD)
        q = "?from=%s&to=%s" % (day(-1), day(1))
        got = staff.request("GET", "/api/stats/demo/summary" + q).json()["results"]
        pages = staff.request("GET", "/api/stats/demo/breakdown" + q +
                              "&dimension=page&limit=50").json()["results"]
        goals = staff.request("GET", "/api/stats/demo/goals" + q).json()["results"]
        return ({k: got[k] for k in self.KEYS + ("visitors",)},
                {r["page"]: r["pageviews"] for r in pages},
                {g["goal"]: (g["visits"], g["events"]) for g in goals})

    def rollup_total(self, s):
        r = s.query("SELECT coalesce(sum(visits), 0) AS v, coalesce(sum(pageviews), 0) "
                    "AS p FROM analytics_rollup WHERE dim = '' AND gran = 0")[0]
        return r["v"], r["p"]

    def test_pending_visits_survive_kill_9_once(self):
        s = self.start("1h")
        self.traffic(s, 8)
        want = metrics(brute_force(s, timeout_s=1))
        self.assertEqual(want["visits"], 8)
        # Ended and gathered, not written: still open in the table.
        self.wait_log(s, "8 waiting for the rollups")
        self.assertEqual(s.query("SELECT count(*) AS n FROM analytics_visits "
                                 "WHERE closed = 0")[0]["n"], 8)
        self.assertEqual(self.rollup_total(s), (0, 0))
        before = self.summary(s)
        for k in self.KEYS:
            self.assertEqual(before[0][k], want[k], k)
        # From a sketch: two of 8 hashes share a register once in ~150
        # runs (the key is random), and then it says 7.
        self.assertLessEqual(abs(before[0]["visitors"] - 8), 1)

        s.kill9()
        s.start()  # the first close run writes what it gathers at once
        self.wait_log(s, "8 ended visits written to the rollups")
        self.wait_all_closed(s)
        self.assertEqual(self.rollup_total(s), (8, want["pageviews"]))
        self.assertEqual(self.summary(s), before)

    def test_written_after_the_delay(self):
        s = self.start("2s")
        self.traffic(s, 5)
        want = metrics(brute_force(s, timeout_s=1))
        self.wait_log(s, "5 ended visits written to the rollups")
        # Gathered first, written by a later run.
        log = s.stderr()
        self.assertLess(log.index("5 waiting for the rollups"),
                        log.index("5 ended visits written"))
        self.wait_all_closed(s)
        self.assertEqual(self.rollup_total(s), (5, want["pageviews"]))
        got = self.summary(s)[0]
        for k in self.KEYS:
            self.assertEqual(got[k], want[k], k)


    def test_visit_ended_elsewhere_is_not_counted_twice(self):
        # Another process (an import beside the server) ends a visit the
        # server holds gathered: the server's write notices, drops what it
        # gathered and gathers the rest again.
        s = self.start("3s")
        self.traffic(s, 4)
        want = metrics(brute_force(s, timeout_s=1))
        self.wait_log(s, "4 waiting for the rollups")
        db = sqlite3.connect(s.db_path, timeout=10)
        with db:
            db.execute("UPDATE analytics_visits SET closed = 1 WHERE id = "
                       "(SELECT min(id) FROM analytics_visits)")
        db.close()
        self.wait_log(s, "ended elsewhere")
        self.wait_log(s, "3 ended visits written to the rollups")
        self.wait_all_closed(s)
        pages = s.query("SELECT pageviews FROM analytics_visits ORDER BY id")
        self.assertEqual(self.rollup_total(s),
                         (3, want["pageviews"] - pages[0]["pageviews"]))

    def test_sites_in_turn(self):
        # The close task goes site by site, keeping its place while
        # visits wait: visits of a site before that place wait for the
        # next write, and are then ended once, as are all the others.
        s = started(self, plugins=PLUGINS, server={"log_level": "debug"}, sites={
            "demo": "localhost, 127.0.0.1, [::1]", "alpha": "alpha.example"},
            sections={"plugin.analytics": {"visit_timeout": "1s",
                                           "rollup_delay": "3s"}})

        def alpha(first, n):
            for i in range(first, first + n):
                h = {"User-Agent": ua_of(400 + i)}
                for k in range(1 + i % 2):
                    self.assertEqual(s.collect([pageview(
                        site="alpha", url="http://alpha.example/a%d" % k)],
                        headers=h).status, 204)
        # Both sites' visits end together: gathered in one go, alpha's
        # then demo's.
        alpha(0, 2)
        self.traffic(s, 3)  # demo
        self.wait_log(s, "5 waiting for the rollups")
        # More of alpha's, now before the task's place (in demo).
        alpha(2, 3)
        deadline = time.monotonic() + 20
        while s.query("SELECT count(*) AS n FROM analytics_visits "
                      "WHERE closed = 0")[0]["n"]:
            self.assertLess(time.monotonic(), deadline, s.stderr()[-2000:])
            time.sleep(0.2)
        for site in ("demo", "alpha"):
            want = metrics(brute_force(s, timeout_s=1, site=site))
            got = s.query("SELECT sum(visits) AS v, sum(pageviews) AS p FROM "
                          "analytics_rollup WHERE site = ? AND dim = '' AND "
                          "gran = 0", (site,))[0]
            self.assertEqual((got["v"], got["p"]),
                             (want["visits"], want["pageviews"]), site)
        self.assertEqual(s.query("SELECT sum(visits) AS v FROM analytics_rollup "
                                 "WHERE dim = '' AND gran = 0")[0]["v"], 8)

    def test_entry_and_exit_pages_are_page_views(self):
        # As in Plausible: a custom event is no visit's entry or exit
        # page.  A visit a custom event began enters on its first page
        # view (and keeps where the event came from); one without a page
        # view has "(none)" for both, not the event's page.
        s = self.start("0s")

        def event(path, **kw):
            return dict({"site": "demo", "type": "event", "name": "Signup",
                         "url": "http://localhost" + path}, **kw)
        visits = [
            [event("/signup", referrer="https://www.google.com/"),
             pageview(url="http://localhost/landing", referrer="https://duckduckgo.com/"),
             pageview(url="http://localhost/next")],
            [event("/pricing")],
            [pageview(url="http://localhost/a"), event("/b")],
        ]
        for i, batch in enumerate(visits):
            h = {"User-Agent": ua_of(500 + i)}
            for ev in batch:
                self.assertEqual(s.collect([ev], headers=h).status, 204)
        cols = ("entry_page", "exit_page", "pageviews", "events", "source")
        rows = s.query("SELECT %s FROM analytics_visits ORDER BY id" % ", ".join(cols))
        self.assertEqual([tuple(r[c] for c in cols) for r in rows], [
            ("/landing", "/next", 2, 1, "Google"),
            ("(none)", "(none)", 0, 1, "Direct / None"),
            ("/a", "/a", 1, 1, "Direct / None")])
        self.wait_all_closed(s)
        staff = login(s, "ana", PASSWORD)
        q = "?from=%s&to=%s&limit=50" % (day(-1), day(1))
        for dim, want in (("entry_page", {"/landing": 0, "/a": 0}),
                          ("exit_page", {"/next": 0, "/a": 0})):
            rows = staff.request("GET", "/api/stats/demo/breakdown%s&dimension=%s"
                                 % (q, dim)).json()["results"]
            # The visit of a custom event alone entered on no page: left
            # out, as Plausible leaves it (the filter ==(none) finds it).
            got = {r[dim]: r["bounce_rate"] for r in rows}
            self.assertEqual(got, want, dim)

class OpenVisitCacheTest(unittest.TestCase):
    """The writer keeps the open visits in memory (openvisits.h): read back
    from the table at start, and again after a batch rolls back, so a
    visitor's next event finds the visit the table holds, never one that
    rolled back (whose id SQLite hands to the next visit started)."""

    def test_restart_and_rollback(self):
        s = started(self, plugins=PLUGINS + ("testkit",),
                    sections={"plugin.analytics": {"visit_timeout": "30m"}})
        a = {"User-Agent": ua_of(21), "X-Forwarded-For": "198.51.100.21"}
        b = {"User-Agent": ua_of(22), "X-Forwarded-For": "198.51.100.22"}

        def visits():
            return s.query("SELECT id, visitor, pageviews, exit_page FROM "
                           "analytics_visits ORDER BY id")

        self.assertEqual(s.collect([pageview(url="http://localhost/a1")],
                                   headers=a).status, 204)
        s.stop()
        s.start()  # the visit is still open: A's next page view joins it
        self.assertEqual(s.collect([pageview(url="http://localhost/a2")],
                                   headers=a).status, 204)
        rows = visits()
        self.assertEqual([(r["pageviews"], r["exit_page"]) for r in rows],
                         [(2, "/a2")])

        # B's first page view rolls back (testkit fails the batch after the
        # analytics plugin started B's visit), then C starts one: SQLite
        # gives it the id B's had.  B's next page view is a visit of its
        # own, and C's visit stays C's.
        r = s.collect([pageview(url="http://localhost/b1"),
                       pageview(title="fail batch")], headers=b)
        assert_json_error(self, r, 503, "storage_unavailable")
        c = {"User-Agent": ua_of(23), "X-Forwarded-For": "198.51.100.23"}
        self.assertEqual(s.collect([pageview(url="http://localhost/c1")],
                                   headers=c).status, 204)
        self.assertEqual(s.collect([pageview(url="http://localhost/b2")],
                                   headers=b).status, 204)
        rows = visits()
        self.assertEqual([(r["pageviews"], r["exit_page"]) for r in rows],
                         [(2, "/a2"), (1, "/c1"), (1, "/b2")])
        self.assertEqual(len({r["visitor"] for r in rows}), 3)


class ConsentDuringVisitTest(unittest.TestCase):
    """A visitor counted cookieless who consents on the page goes on with
    the same visit under the visitor id: one visit, not a bounce and a
    second visit, and the engagement of the page consent was given on
    (sent with the id) is kept.  An id whose consent is older than the
    cookieless visit never takes it over."""

    def test_visit_goes_on_under_the_id(self):
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "4s", "rollup_delay": "0"}})
        add_user(s, "ana", "analyst", PASSWORD)
        vid = "5b0e7c1e-8a4f-4c2d-9f6e-0123456789ab"
        late = "7c1e5b0e-4c2d-4f8a-8e6f-ba9876543210"
        a = {"User-Agent": ua_of(31), "X-Forwarded-For": "198.51.100.31"}
        b = {"User-Agent": ua_of(32), "X-Forwarded-For": "198.51.100.31"}
        c = {"User-Agent": ua_of(33), "X-Forwarded-For": "198.51.100.33"}

        def send(h, path, visitor=None, **extra):
            ev = pageview(url="http://localhost" + path, **extra)
            if visitor:
                ev["visitor_id"] = visitor
            self.assertEqual(s.collect([ev], headers=h).status, 204)

        send(a, "/landing")
        # B shares A's address (another browser): still a visitor apart.
        send(b, "/b")
        # C consents only after its visit has ended: a visit of its own.
        send(c, "/c1")
        # A accepts on the banner of the page it is on: its next beacons
        # carry the id.
        record_consent(s, visitor_id=vid, headers=a, page="http://localhost/landing")
        send(a, "/pricing", vid)
        send(a, "/landing", vid, type="engagement", engagement_ms=4000)
        s.collect([{"site": "demo", "type": "event", "name": "Signup",
                    "url": "http://localhost/pricing", "visitor_id": vid}],
                  headers=a)
        # Restarted, the writer finds the visit by the id.
        s.stop()
        s.start()
        send(a, "/thanks", vid)
        time.sleep(4.6)
        # Ended and written: the writer no longer holds A's visit.
        deadline = time.time() + 10
        while s.query("SELECT closed FROM analytics_visits WHERE id = 1")[0]["closed"] != 1:
            self.assertLess(time.time(), deadline, "A's visit was never closed")
            time.sleep(0.1)
        record_consent(s, visitor_id=late, headers=c, page="http://localhost/c1")
        send(c, "/c2", late)
        # D, with A's browser behind A's address, browses cookieless; A
        # comes back with the id it consented with before: D's visit
        # stays D's.
        send(a, "/d-private")
        send(a, "/a-again", vid)

        rows = s.query("SELECT visitor, pageviews, events, engagement_ms, "
                       "entry_page, exit_page FROM analytics_visits "
                       "ORDER BY id")
        self.assertEqual([(r["pageviews"], r["events"], r["engagement_ms"],
                           r["entry_page"], r["exit_page"]) for r in rows],
                         [(3, 1, 4000, "/landing", "/thanks"),
                          (1, 0, 0, "/b", "/b"), (1, 0, 0, "/c1", "/c1"),
                          (1, 0, 0, "/c2", "/c2"),
                          (1, 0, 0, "/d-private", "/d-private"),
                          (1, 0, 0, "/a-again", "/a-again")])
        self.assertEqual(rows[0]["visitor"], rows[5]["visitor"])
        self.assertEqual(len({r["visitor"] for r in rows}), 5)
        pages = s.query("SELECT path, pageviews, engagement_ms FROM "
                        "analytics_visit_pages WHERE visit = 1 ORDER BY path")
        self.assertEqual([tuple(r.values()) for r in pages],
                         [("/landing", 1, 4000), ("/pricing", 1, 0),
                          ("/thanks", 1, 0)])

        # The same from the raw events, and in the reports.
        want = metrics(brute_force(s, timeout_s=4))
        self.assertEqual((want["visits"], want["bounces"]), (6, 5))
        staff = login(s, "ana", PASSWORD)
        q = "/api/stats/demo/summary?from=%s&to=%s" % (day(-1), day(1))
        got = staff.request("GET", q).json()["results"]
        self.assertEqual((got["visits"], got["pageviews"], got["bounce_rate"]),
                         (6, 8, want["bounce_rate"]))
        # The ended visits' visitors come from the rollups' sketches: two
        # of the 5 share a register in about one run of 400 (4 counted
        # once in a fresh clone's run).
        self.assertLessEqual(abs(got["visitors"] - 5), sketch_slack(5))

    def test_a_consent_on_another_page_takes_over_nothing(self):
        # E browses cookieless; F, with E's browser behind E's masked
        # address (the same cookieless hash), consents a moment later on
        # another page: F's visit is F's own, and E's stays cookieless.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "30m", "rollup_delay": "0"}})
        e = {"User-Agent": ua_of(41), "X-Forwarded-For": "198.51.7.10"}
        f = {"User-Agent": ua_of(41), "X-Forwarded-For": "198.51.200.20"}
        vid = "0b5e7c1e-8a4f-4c2d-9f6e-0123456789ab"
        self.assertEqual(s.collect([pageview(url="http://localhost/e-private")],
                                   headers=e).status, 204)
        record_consent(s, visitor_id=vid, headers=f, page="http://localhost/f")
        self.assertEqual(s.collect([pageview(url="http://localhost/f",
                                             visitor_id=vid)], headers=f).status, 204)
        rows = s.query("SELECT entry_page, pageviews FROM analytics_visits ORDER BY id")
        self.assertEqual([(r["entry_page"], r["pageviews"]) for r in rows],
                         [("/e-private", 1), ("/f", 1)])


class SegmentsTest(unittest.TestCase):
    """A configured segment's reports are pre-processed: every ended visit
    in it is added to rollups of its own, so its filtered reports read
    rollups (fast at any range) and survive the visits' rows.  A new
    segment is backfilled from the visits that had ended; the ones open
    then, or ended and waiting for the rollups, get its rows when they
    close, never twice."""

    SEG = "browser==Firefox;page==/pricing|/blog/b"

    def traffic(self, s, first, n):
        send_visits(self, s, first, n)

    def wait(self, s, cond, what, seconds=15):
        deadline = time.monotonic() + seconds
        while not cond():
            self.assertLess(time.monotonic(), deadline,
                            "%s:\n%s" % (what, s.stderr()[-3000:]))
            time.sleep(0.1)

    def all_closed(self, s):
        return s.query("SELECT count(*) AS n FROM analytics_visits "
                       "WHERE closed = 0")[0]["n"] == 0

    def reports(self, s, flt):
        staff = login(s, "ana", PASSWORD)
        q = "?from=%s&to=%s&filter=%s" % (day(-1), day(1), urllib.parse.quote(flt))

        def get(path):
            r = staff.request("GET", "/api/stats/demo/" + path)
            self.assertEqual(r.status, 200, r)
            return r.json()
        summary = get("summary" + q)
        got = {"preprocessed": summary["preprocessed"]}
        got["summary"] = {k: summary["results"][k] for k in (
            "visits", "pageviews", "events", "bounce_rate", "visit_duration")}
        got["visitors"] = summary["results"]["visitors"]
        got["pages"] = {r["page"]: (r["visits"], r["pageviews"]) for r in get(
            "breakdown" + q + "&dimension=page&limit=50")["results"]}
        got["browsers"] = {r["browser"]: r["visits"] for r in get(
            "breakdown" + q + "&dimension=browser")["results"]}
        got["hours"] = sum(r["visits"] for r in get(
            "timeseries" + q + "&metric=visits&interval=hour")["results"])
        got["goals"] = {g["goal"]: (g["visits"], g["events"]) for g in get(
            "goals" + q)["results"]}
        return got

    def test_backfill_close_and_drop(self):
        s = started(self, plugins=PLUGINS, server={"log_level": "debug"}, sections={
            "plugin.analytics": {"visit_timeout": "1s", "rollup_delay": "0s",
                                 "goals": GOALS}})
        add_user(s, "ana", "analyst", PASSWORD)
        # Ended before the segment exists: backfilled.
        self.traffic(s, 400, 12)
        self.wait(s, lambda: self.all_closed(s), "round A closed")
        # Ended and waiting for the rollups when the server dies: open
        # when the segment is registered, closed by the first run after.
        s.stop()
        configure(s, rollup_delay="1h")
        s.start()
        self.traffic(s, 420, 9)
        self.wait(s, lambda: "9 waiting for the rollups" in s.stderr(), "round B")
        s.kill9()
        configure(s, rollup_delay="0s", segments="demo:" + self.SEG)
        s.start()
        self.wait(s, lambda: "segment demo:%s backfilled" % self.SEG in s.stderr()
                  and self.all_closed(s), "backfill")
        # Ended after: from the close.
        self.traffic(s, 440, 6)
        self.wait(s, lambda: self.all_closed(s), "round C closed")

        def priced(p):
            return p in ("/pricing", "/blog/b")

        def kept(v):
            return v["browser"] == "Firefox" and any(map(priced, v["pages"]))
        visits = [v for v in brute_force(s, timeout_s=1) if kept(v)]
        self.assertGreater(len(visits), 3)
        # Page views only of the pages the filter keeps, and only those
        # pages in their breakdown; all else of each visit.
        want = metrics(visits, priced)
        self.assertLess(want["pageviews"], metrics(visits)["pageviews"])
        staff = login(s, "ana", PASSWORD)
        self.assertEqual(staff.request("GET", "/api/stats/sites").json()["segments"],
                         {"demo": [{"filter": self.SEG, "ready": True}]})
        pre = self.reports(s, self.SEG)
        self.assertTrue(pre["preprocessed"])
        self.assertEqual(pre["summary"], {k: want[k] for k in pre["summary"]})
        self.assertLessEqual(abs(pre["visitors"] - want["visitors"]), 1)
        self.assertEqual(pre["hours"], want["visits"])
        self.assertEqual(pre["browsers"], {"Firefox": want["visits"]})
        pages = {}
        for v in visits:
            for p, n in v["pages"].items():
                a, b = pages.get(p, (0, 0))
                if priced(p):
                    pages[p] = (a + 1, b + n)
        self.assertEqual(pre["pages"], pages)
        self.assertEqual(pre["goals"]["Signup"][1],
                         sum(v["names"].get("Signup", 0) for v in visits))
        # The same filter in another order is the same segment; one more
        # part makes an ad hoc filter, read from the visits: the same.
        swapped = self.reports(s, "page==/pricing|/blog/b;browser==Firefox")
        self.assertEqual(swapped, pre)
        adhoc = self.reports(s, self.SEG + ";device!=nosuch")
        self.assertFalse(adhoc["preprocessed"])
        adhoc["preprocessed"] = True
        self.assertEqual(adhoc, pre)

        # Without the visits' rows, the segment's reports stand.
        s.stop()
        db = sqlite3.connect(s.db_path)
        db.executescript("DELETE FROM analytics_visit_pages; DELETE FROM "
                         "analytics_visit_events; DELETE FROM analytics_visits;")
        db.commit()
        db.close()
        s.start()
        gone = self.reports(s, self.SEG)
        self.assertEqual(gone, pre)
        self.assertEqual(self.reports(s, self.SEG + ";device!=nosuch")["summary"]["visits"], 0)

        # Dropped from the config: its rollups go.
        s.stop()
        configure(s, segments="")
        s.start()
        self.wait(s, lambda: "is no longer configured" in s.stderr(), "drop")
        self.assertEqual(s.query("SELECT count(*) AS n FROM analytics_segments")[0]["n"], 0)
        # Its rows go in the background, after the start.
        self.wait(s, lambda: "rollups of dropped segment 1 are deleted" in s.stderr(),
                  "purge")
        self.assertEqual(s.query("SELECT count(*) AS n FROM analytics_rollup "
                                 "WHERE dim LIKE 'seg:%'")[0]["n"], 0)
        self.assertEqual(s.query("SELECT count(*) AS n FROM "
                                 "analytics_segment_purge")[0]["n"], 0)
        self.assertFalse(self.reports(s, self.SEG)["preprocessed"])
        self.assertEqual(login(s, "ana", PASSWORD).request(
            "GET", "/api/stats/sites").json()["segments"], {})

    def test_goals_either_or_neither(self):
        """Segments of goal==A|B and goal!=A|B (a page goal and an event
        goal): the visits that reached either, or neither, backfilled and
        added at their close; their reports pre-processed, as the same
        filter's read from the visits, the rate of the visitors who reached
        either."""
        segs = ("goal==Signup|Visit /pricing*", "goal!=Visit /pricing*|Signup")
        s = started(self, plugins=PLUGINS, server={"log_level": "debug"}, sections={
            "plugin.analytics": {"visit_timeout": "1s", "rollup_delay": "0s",
                                 "goals": GOALS}})
        add_user(s, "ana", "analyst", PASSWORD)
        self.traffic(s, 400, 12)
        self.wait(s, lambda: self.all_closed(s), "round A closed")
        s.stop()
        configure(s, segments=", ".join("demo:" + x for x in segs))
        s.start()
        self.wait(s, lambda: all("segment demo:%s backfilled" % x in s.stderr() for x in segs)
                  and self.all_closed(s), "backfill")
        self.traffic(s, 420, 9)
        self.wait(s, lambda: self.all_closed(s), "round B closed")

        def priced(v):
            return any(p.startswith("/pricing") for p in v["pages"])

        def either(v):
            return "Signup" in v["names"] or priced(v)
        visits = brute_force(s, timeout_s=1)
        # Each goal has visits the other has not.
        self.assertTrue(any("Signup" in v["names"] and not priced(v) for v in visits))
        self.assertTrue(any("Signup" not in v["names"] and priced(v) for v in visits))
        staff = login(s, "ana", PASSWORD)
        everyone = staff.request("GET", "/api/stats/demo/summary?from=%s&to=%s" % (
            day(-1), day(1))).json()["results"]["visitors"]
        for seg, keep in ((segs[0], either), (segs[1], lambda v: not either(v))):
            kept = [v for v in visits if keep(v)]
            self.assertTrue(0 < len(kept) < len(visits), seg)
            want = metrics(kept)
            pre = self.reports(s, seg)
            self.assertTrue(pre["preprocessed"], seg)
            self.assertEqual(pre["summary"], {k: want[k] for k in pre["summary"]}, seg)
            self.assertLessEqual(abs(pre["visitors"] - want["visitors"]), 1, seg)
            self.assertEqual(pre["hours"], want["visits"], seg)
            self.assertEqual(pre["goals"].get("Signup", (0, 0))[0],
                             sum(1 for v in kept if "Signup" in v["names"]), seg)
            adhoc = self.reports(s, seg + ";device!=nosuch")
            self.assertFalse(adhoc["preprocessed"], seg)
            adhoc["preprocessed"] = True
            # The visitors from the segment's rollup sketches: two of a
            # dozen share a register now and then (the key is random each
            # run; 14 read as 13 in a fresh clone's run).
            self.assertLessEqual(abs(adhoc.pop("visitors") - pre["visitors"]),
                                 sketch_slack(want["visitors"]), seg)
            self.assertEqual(adhoc, {k: v for k, v in pre.items() if k != "visitors"}, seg)
            rate = staff.request("GET", "/api/stats/demo/summary?from=%s&to=%s&filter=%s" % (
                day(-1), day(1), urllib.parse.quote(seg))).json()["results"].get(
                    "conversion_rate")
            self.assertEqual(rate, capped_rate(pre["visitors"], everyone)
                             if keep is either else None, seg)

    def test_import_beside_a_backfill(self):
        """`seula import-log` runs the plugin's tasks too: a backfill the
        server had under way goes on from where the import left it, not
        from where the server last was (each visit once)."""
        n = 50000
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "30m", "rollup_delay": "0s"}})
        s.stop()
        # Closed visits of yesterday: the backfill reads nothing else.
        add_closed_visits(s.db_path, n, int(time.time() * 1000) - 86400000, -1000,
                          distinct_pages=True)
        configure(s, segments="demo:entry_page!=/nosuch")
        s.start()
        self.wait(s, lambda: "registered" in s.stderr(), "registration")
        # Held between two of its transactions, mid-backfill.
        while True:
            s.proc.send_signal(signal.SIGSTOP)
            time.sleep(0.05)
            probe = sqlite3.connect(s.db_path, timeout=0)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                break
            except sqlite3.OperationalError:
                s.proc.send_signal(signal.SIGCONT)
                time.sleep(0.01)
            finally:
                probe.close()
        try:
            [seg] = s.query("SELECT cursor_ts FROM analytics_segments")
            self.assertIsNotNone(seg["cursor_ts"], "the backfill ended before the import")
            t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
            log = os.path.join(s.dir, "one.log")
            with open(log, "w") as f:
                f.write('198.51.100.7 - - [%s] "GET /x HTTP/1.1" 200 5 "-" "%s"\n'
                        % (t.strftime("%d/%b/%Y:%H:%M:%S +0000"), BROWSERS[1]))
            r = run_seula("import-log", "--config", s.config_path, "--site", "demo",
                          log, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            s.proc.send_signal(signal.SIGCONT)
        self.wait(s, lambda: "entry_page!=/nosuch backfilled" in s.stderr()
                  and self.all_closed(s), "backfill", seconds=120)
        [got] = s.query("SELECT sum(visits) AS n FROM analytics_rollup WHERE "
                        "dim = (SELECT 'seg:' || id || ':' FROM analytics_segments) "
                        "AND gran = 2")
        self.assertEqual(got["n"], n + 1)

        # Dropped, its 300,000-odd rows (an entry and exit page a visit)
        # go in the background, a batch at a time.
        [rows] = s.query("SELECT count(*) AS n FROM analytics_rollup WHERE dim LIKE 'seg:%'")
        self.assertGreater(rows["n"], 300000)
        s.stop()
        configure(s, segments="")
        s.start()
        self.wait(s, lambda: "rollups of dropped segment 1 are deleted" in s.stderr(),
                  "purge", seconds=120)
        # Logged inside the task's transaction: its commit may follow.
        self.wait(s, lambda: s.query("SELECT count(*) AS n FROM analytics_rollup "
                                     "WHERE dim LIKE 'seg:%'")[0]["n"] == 0,
                  "the purge's commit", seconds=10)
        self.assertGreater(s.query("SELECT count(*) AS n FROM analytics_rollup")[0]["n"], 0)

    def test_bad_segments_stop_the_start(self):
        for seg, why in (("demo:nosuch==1", "cannot filter by"),
                         ("device==mobile", "want SITE:FILTER"),
                         ("demo:goal==Nope", "no goal"),
                         ("demo:device==mobile, demo:device==mobile",
                          "the same as"),
                         # A segment's rollups serve every zone's reports.
                         ("demo:hour==9", "no time zone")):
            s = Server(plugins=PLUGINS, sections={"plugin.analytics": {
                "goals": GOALS, "segments": seg}})
            self.addCleanup(s.close)
            self.assertNotEqual(s.start(expect_fail=True), 0, seg)
            self.assertIn(why, s.stderr(), seg)


class HourFilterTest(unittest.TestCase):
    """hour==H: the visits begun in hour H of the day, in the report's
    zone, as the breakdown by hour labels them (its start's UTC hour, the
    range's first hour from its first local midnight); a past day's
    visits from its block, today's by SQL, against the raw events."""

    @staticmethod
    def label(start_ms, tz, first_day):
        z = zoneinfo.ZoneInfo(tz)
        d = datetime.date.fromisoformat(first_day)
        midnight = int(datetime.datetime(d.year, d.month, d.day, tzinfo=z).timestamp())
        t = max(start_ms // 1000 // 3600 * 3600, midnight)
        return datetime.datetime.fromtimestamp(t, z).hour

    def test_hour_filters_against_the_raw_events(self):
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s"}})
        add_user(s, "ana", "analyst", PASSWORD)
        # Two days ago, from a log: 48 visits at every hour of the day,
        # some on the hour's half past (a zone off by a half hour tells
        # them apart), each visit's page views in one second.
        t = (datetime.datetime.now(datetime.timezone.utc)
             - datetime.timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
        lines = []
        for v in range(48):
            at = t + datetime.timedelta(hours=v * 5 % 24, minutes=40 if v % 2 else 10)
            stamp = at.strftime("%d/%b/%Y:%H:%M:%S +0000")
            for path in ["/", "/pricing", "/about"][:1 + v % 3]:
                lines.append('198.51.100.%d - - [%s] "GET %s HTTP/1.1" 200 5 "-" "%s v%d"' % (
                    1 + v, stamp, path, BROWSERS[v % 3], v))
        import_lines(self, s, "hours.log", lines)
        # Today, through the tracker: read by SQL.
        send_visits(self, s, 700, 12)
        wait_all_closed(self, s, 60, 0.2)
        day2 = int(t.timestamp()) // 86400
        SegmentsTest.wait(self, s, lambda: block_ints(s, day2, "pageviews") is not None,
                          "the day's block", seconds=60)
        visits = brute_force(s, timeout_s=1)
        self.assertEqual(len(visits), 48 + 12)
        staff = login(s, "ana", PASSWORD)
        first, last = day(-3), day(1)

        def get(report, **params):
            params.update({"from": first, "to": last})
            r = staff.request("GET", "/api/stats/demo/%s?%s" % (
                report, urllib.parse.urlencode(params)))
            self.assertEqual(r.status, 200, r)
            return r.json()

        for tz in ("UTC", "Asia/Kolkata", "America/New_York"):
            hour = {id(v): self.label(v["start"], tz, first) for v in visits}
            by_hour = {}
            for v in visits:
                by_hour.setdefault(hour[id(v)], []).append(v)
            self.assertGreater(len(by_hour), 20, tz)
            rows = get("breakdown", dimension="hour", limit=24, tz=tz)["results"]
            self.assertEqual({r["hour"]: r["visits"] for r in rows},
                             {h: len(vs) for h, vs in by_hour.items()}, tz)
            today = hour[id(visits[-1])]
            h1 = hour[id(visits[0])]
            h2 = next(h for h in sorted(by_hour) if h not in (h1, today) and
                      any(v["browser"] == "Firefox" for v in by_hour[h]))
            for flt, keep in (("hour==%d" % h1, lambda v: hour[id(v)] == h1),
                              ("hour==%d" % today, lambda v: hour[id(v)] == today),
                              ("hour==%d|%d" % (h1, h2), lambda v: hour[id(v)] in (h1, h2)),
                              ("hour!=%d" % h1, lambda v: hour[id(v)] != h1),
                              ("hour==%02d;browser==Firefox" % h2,
                               lambda v: hour[id(v)] == h2 and v["browser"] == "Firefox"),
                              ("hour!=%d;page==/pricing*" % today,
                               lambda v: hour[id(v)] != today and "/pricing" in v["pages"])):
                kept = [v for v in visits if keep(v)]
                self.assertTrue(kept, (tz, flt))
                want = metrics(kept, (lambda p: p.startswith("/pricing"))
                               if "page==" in flt else None)
                got = get("summary", filter=flt, tz=tz)["results"]
                for k in ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration"):
                    self.assertEqual(got[k], want[k], (tz, flt, k))
                ts = get("timeseries", filter=flt, tz=tz, interval="day",
                         metric="visits")["results"]
                self.assertEqual(sum(r["visits"] for r in ts), len(kept), (tz, flt))
                rows = get("breakdown", dimension="browser", filter=flt, tz=tz)["results"]
                self.assertEqual({r["browser"]: r["visits"] for r in rows},
                                 {b: sum(1 for v in kept if v["browser"] == b)
                                  for b in {v["browser"] for v in kept}}, (tz, flt))
                rows = get("breakdown", dimension="hour", filter=flt, tz=tz,
                           limit=24)["results"]
                self.assertEqual({r["hour"]: r["visits"] for r in rows},
                                 {h: sum(1 for v in kept if hour[id(v)] == h)
                                  for h in {hour[id(v)] for v in kept}}, (tz, flt))
                # A funnel's visits are the range's that pass the filter.
                got = get("funnel", steps="page:/*>page:/pricing*", filter=flt, tz=tz)
                self.assertEqual(got["visits"], len(kept), (tz, flt))
            # With the previous period: the same filter over it.
            got = get("summary", filter="hour==%d" % h1, tz=tz, compare="previous_period")
            self.assertEqual(got["comparison"]["results"]["visits"], 0, tz)

        for bad in ("hour==24", "hour==x", "hour==9|", "hour==-1", "hour==123", "hour==9*"):
            r = staff.request("GET", "/api/stats/demo/summary?" + urllib.parse.urlencode(
                {"filter": bad}))
            assert_json_error(self, r, 400)
        r = staff.request("GET", "/api/stats/demo/summary?filter=hour%3D%3D24")
        self.assertIn("an hour of the day is 0 to 23", r.json()["message"])


class GoalsAddedLaterTest(unittest.TestCase):
    """A goal added to the config counts the visits kept from before it,
    as Plausible's goals do.  The rollups count a goal only in the visits
    that end once it is configured (analytics_goals.counted_from_ms), so a
    report over a range that begins earlier reads it off the visits: past
    days' blocks and the rest by SQL."""

    def goals(self, staff, report="goals"):
        q = "from=%s&to=%s" % (day(-3), day(1))
        if report == "goals":
            rows = staff.request("GET", "/api/stats/demo/goals?" + q).json()["results"]
        else:
            rows = staff.request("GET", "/api/stats/demo/breakdown?dimension=goal&" +
                                 q).json()["results"]
        return {g["goal"]: (g["visits"], g["events"]) for g in rows}

    def want(self, s, goals):
        """Each goal's (visits, events) from the raw events: a page goal's
        events are its page views."""
        visits = brute_force(s, timeout_s=1)
        out = {}
        for name, hits in goals.items():
            n = [hits(v) for v in visits]
            out[name] = (sum(1 for k in n if k), sum(n))
        return out

    def registered(self, s):
        return {r["name"]: r["counted_from_ms"] for r in s.query(
            "SELECT name, counted_from_ms FROM analytics_goals WHERE site = 'demo'")}

    wait = SegmentsTest.wait

    def test_added_changed_and_removed(self):
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s"}})
        add_user(s, "ana", "analyst", PASSWORD)
        # Two days ago, from a log (each visit's page views in one
        # second): a past day, read from its block.
        t = (datetime.datetime.now(datetime.timezone.utc)
             - datetime.timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
        lines = []
        for v in range(30):
            stamp = (t + datetime.timedelta(seconds=10 * v)).strftime("%d/%b/%Y:%H:%M:%S +0000")
            for path in ["/"] + (["/pricing"] if v % 3 == 0 else []) + (
                    ["/pricing/team"] * 2 if v % 5 == 0 else []):
                lines.append('198.51.100.%d - - [%s] "GET %s HTTP/1.1" 200 5 "-" "%s v%d"' % (
                    1 + v, stamp, path, BROWSERS[0], v))
        import_lines(self, s, "before.log", lines)
        # Today, through the tracker: read by SQL.
        send_visits(self, s, 600, 12)
        wait_all_closed(self, s, 60, 0.2)
        day2 = int(t.timestamp()) // 86400
        self.wait(s, lambda: block_ints(s, day2, "pageviews") is not None, "the day's block")
        staff = login(s, "ana", PASSWORD)
        self.assertEqual(self.goals(staff), {})

        # Goals added: counted back over the visits kept, in the goals
        # report and in the breakdown by goal, though the rollups of
        # those visits have none.
        s.stop()
        before = int(time.time() * 1000)
        configure(s, goals=GOALS)
        s.start()
        self.wait(s, lambda: len(self.registered(s)) == 2, "goals registered")
        since = self.registered(s)
        for name in ("Signup", "Visit /pricing*"):
            self.assertGreaterEqual(since[name], before)
            self.assertLessEqual(since[name], int(time.time() * 1000))
        self.assertEqual(s.query("SELECT count(*) AS n FROM analytics_rollup "
                                 "WHERE dim = 'goal'")[0]["n"], 0)
        want = self.want(s, {
            "Signup": lambda v: v["names"].get("Signup", 0),
            "Visit /pricing*": lambda v: sum(
                n for p, n in v["pages"].items() if p.startswith("/pricing"))})
        self.assertEqual(want["Visit /pricing*"][0], 14 + 6)
        self.assertEqual(self.goals(staff), want)
        self.assertEqual(self.goals(staff, "breakdown"), want)
        # A restart with the same goals keeps their start.
        s.stop()
        s.start()
        staff = login(s, "ana", PASSWORD)
        self.assertEqual(self.goals(staff), want)
        self.assertEqual(self.registered(s), since)

        # A goal changed (another pattern, another name) and one removed:
        # the new one counted back, the old ones forgotten.
        s.stop()
        configure(s, goals="demo:page:/pricing/team")
        s.start()
        self.wait(s, lambda: set(self.registered(s)) == {"Visit /pricing/team"},
                  "goals registered again")
        staff = login(s, "ana", PASSWORD)
        team = self.want(s, {"Visit /pricing/team": lambda v: v["pages"].get("/pricing/team", 0)})
        self.assertEqual(team["Visit /pricing/team"][0], 6 + 4)
        self.assertEqual(self.goals(staff), team)
        self.assertEqual(self.goals(staff, "breakdown"), team)

    def test_goals_of_a_new_database_count_from_the_start(self):
        # No visit was counted without them: the rollups answer them, and
        # go on answering them when another goal, added later, is read
        # off the visits.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s", "goals": GOALS}})
        add_user(s, "ana", "analyst", PASSWORD)
        send_visits(self, s, 700, 12)
        wait_all_closed(self, s, 60, 0.2)
        self.wait(s, lambda: len(self.registered(s)) == 2, "goals registered")
        self.assertEqual(self.registered(s), {"Signup": -2**63, "Visit /pricing*": -2**63})
        s.stop()
        configure(s, goals=GOALS + ", demo:page:/*")
        s.start()
        self.wait(s, lambda: len(self.registered(s)) == 3, "goals registered")
        self.assertEqual(self.registered(s)["Signup"], -2**63)
        want = self.want(s, {
            "Signup": lambda v: v["names"].get("Signup", 0),
            "Visit /pricing*": lambda v: sum(
                n for p, n in v["pages"].items() if p.startswith("/pricing")),
            "Visit /*": lambda v: sum(v["pages"].values())})
        self.assertEqual(want["Visit /*"][0], 12)
        # Which answers shows once a visit with Signup is gone from the
        # visits, as an erasure leaves it: the rollups still count it.
        with sqlite3.connect(s.db_path, timeout=10) as db:
            vid, pv = db.execute(
                "SELECT v.id, v.pageviews FROM analytics_visits v WHERE EXISTS (SELECT 1 "
                "FROM analytics_visit_events e WHERE e.visit = v.id AND e.name = 'Signup') "
                "LIMIT 1").fetchone()
            for t in ("analytics_visit_events WHERE visit", "analytics_visit_pages WHERE visit",
                      "analytics_visits WHERE id"):
                db.execute("DELETE FROM %s = ?" % t, (vid,))
        want["Visit /*"] = (11, want["Visit /*"][1] - pv)
        staff = login(s, "ana", PASSWORD)
        self.assertEqual(self.goals(staff), want)
        got = staff.request("GET", "/api/stats/demo/breakdown?dimension=goal&limit=2&from=%s&to=%s"
                            % (day(-3), day(1))).json()
        self.assertEqual([r["goal"] for r in got["results"]], ["Visit /*", "Signup"])
        self.assertTrue(got["more"])
        self.assertEqual(self.goals(staff, "breakdown"), want)
        # Goals no longer configured are no rows, though the rollups
        # keep theirs.
        s.stop()
        configure(s, goals="demo:page:/*")
        s.start()
        staff = login(s, "ana", PASSWORD)
        del want["Signup"], want["Visit /pricing*"]
        self.assertEqual(self.goals(staff, "breakdown"), want)
        self.assertEqual(self.goals(staff), want)


    def test_import_with_another_config_beside_the_server(self):
        # An import whose config has a goal the server's has not
        # registers it, but the server goes on gathering visits without
        # it: the server's config is the table's again before it gathers,
        # so the goal is never taken as counted from the import's time.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s", "goals": "demo:event:Signup"}})
        add_user(s, "ana", "analyst", PASSWORD)
        self.wait(s, lambda: set(self.registered(s)) == {"Signup"}, "goals registered")
        alt = types.SimpleNamespace(config_path=os.path.join(s.dir, "import.ini"))
        shutil.copy(s.config_path, alt.config_path)
        configure(alt, goals="demo:event:Signup, demo:page:/pricing*")
        path = os.path.join(s.dir, "beside.log")
        stamp = (datetime.datetime.now(datetime.timezone.utc)
                 - datetime.timedelta(days=2)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        with open(path, "w") as f:
            f.write('198.51.100.7 - - [%s] "GET /pricing HTTP/1.1" 200 5 "-" "%s"\n'
                    % (stamp, BROWSERS[0]))
        r = run_seula("import-log", "--config", alt.config_path, "--site", "demo", path,
                      timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Visits the server gathers without the goal, after the import.
        send_visits(self, s, 800, 6)
        wait_all_closed(self, s, 60, 0.2)
        self.wait(s, lambda: set(self.registered(s)) == {"Signup"}, "the server's goals again")
        # Its own config with the goal: counted from its start, so
        # counted back over the visits gathered without it.
        s.stop()
        before = int(time.time() * 1000)
        configure(s, goals="demo:event:Signup, demo:page:/pricing*")
        s.start()
        self.wait(s, lambda: len(self.registered(s)) == 2, "goals registered")
        self.assertGreaterEqual(self.registered(s)["Visit /pricing*"], before)
        want = self.want(s, {"Visit /pricing*": lambda v: sum(
            n for p, n in v["pages"].items() if p.startswith("/pricing"))})
        self.assertEqual(want["Visit /pricing*"][0], 1 + 3)
        staff = login(s, "ana", PASSWORD)
        self.assertEqual(self.goals(staff)["Visit /pricing*"], want["Visit /pricing*"])


class HourMergeTest(unittest.TestCase):
    """Visits that started after merged_to are in hour rows only; the
    merge task adds whole hours to their days and months.  Reports read
    hours where the days are not merged, and answer the same before and
    after; a visit of a merged hour that ends later goes to all three."""

    def unmerged_server(self, rollup_delay, visit_timeout="1800s"):
        """A stopped server whose merged_to is 30 hours back; the time
        now and that hour."""
        s = Server(plugins=PLUGINS, server={"log_level": "debug"}, sections={"plugin.analytics": {
            "visit_timeout": visit_timeout, "rollup_delay": rollup_delay}})
        self.addCleanup(s.close)
        add_user(s, "ana", "analyst", PASSWORD)
        s.start()
        s.stop()
        now = datetime.datetime.now(datetime.timezone.utc)
        hour = now.replace(minute=0, second=0, microsecond=0)
        merged = hour - datetime.timedelta(hours=30)
        con = sqlite3.connect(s.db_path)
        con.execute("UPDATE analytics_meta SET v = ? WHERE k = 'merged_to'",
                    (int(merged.timestamp()),))
        con.commit()
        con.close()
        return s, now, merged

    @staticmethod
    def import_visits(s, times, ua):
        """Visits of /a then /b five minutes later, one address each."""
        lines = []
        for i, t in enumerate(times):
            ip = "198.51.100.%d" % (1 + i % 200)
            for k, page in enumerate(("/a", "/b")):
                at = t + datetime.timedelta(minutes=5 * k)
                lines.append('%s - - [%s] "GET %s HTTP/1.1" 200 512 "-" "%s"' % (
                    ip, at.strftime("%d/%b/%Y:%H:%M:%S +0000"), page, ua))
        path = os.path.join(s.dir, "access-%d.log" % len(times))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = run_seula("import-log", "--config", s.config_path, "--site",
                      "demo", path, timeout=120)
        assert r.returncode == 0, r.stderr

    @staticmethod
    def rollup_rows(s, gran):
        return s.query("SELECT t, visits, pageviews FROM analytics_rollup "
                       "WHERE dim = '' AND gran = ? ORDER BY t", (gran,))

    def wait_merged_past(self, s, merged):
        deadline = time.monotonic() + 30
        while s.query("SELECT v FROM analytics_meta WHERE k = 'merged_to'")[0]["v"] \
                == int(merged.timestamp()):
            self.assertLess(time.monotonic(), deadline, s.stderr()[-2000:])
            time.sleep(0.5)

    def assert_days_and_months_sum_hours(self, s):
        hours = self.rollup_rows(s, 0)
        for gran, width in ((1, 86400), (2, None)):
            merged_rows = {r["t"]: (r["visits"], r["pageviews"])
                           for r in self.rollup_rows(s, gran)}
            want = {}
            for r in hours:
                t = r["t"] - r["t"] % 86400
                if width is None:
                    t = int(datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
                            .replace(day=1).timestamp())
                v = want.get(t, (0, 0))
                want[t] = (v[0] + r["visits"], v[1] + r["pageviews"])
            self.assertEqual(merged_rows, want, gran)

    def test_hours_merged_into_days(self):
        # Visits of two page views five minutes apart.
        s, now, merged = self.unmerged_server("0s")

        starts = [merged + datetime.timedelta(minutes=40 + 50 * i) for i in range(40)]
        starts = [t for t in starts if t <= now - datetime.timedelta(hours=2)]
        self.import_visits(s, starts, BROWSERS[0] + " merge")
        s.start()  # its first close run ends the visits the log left open
        staff = login(s, "ana", PASSWORD)
        days = sorted({t.date() for t in starts})
        q = "from=%s&to=%s&tz=UTC" % (days[0].isoformat(), now.date().isoformat())

        def reports():
            out = {}
            for name, path in (("summary", "summary?"),
                               ("pages", "breakdown?dimension=page&"),
                               ("days", "timeseries?metric=visits,pageviews&interval=day&"),
                               ("months", "timeseries?metric=visits&interval=month&")):
                r = staff.request("GET", "/api/stats/demo/" + path + q)
                self.assertEqual(r.status, 200, r)
                out[name] = r.json()["results"]
            return out

        wait_all_closed(self, s, 15, 0.2)
        # Not merged yet: hours alone, read as hours.
        self.assertEqual(self.rollup_rows(s, 1), [])
        self.assertEqual(self.rollup_rows(s, 2), [])
        before = reports()
        self.assertEqual((before["summary"]["visits"], before["summary"]["pageviews"]),
                         (len(starts), 2 * len(starts)))
        self.assertEqual({r["page"]: r["visits"] for r in before["pages"]},
                         {"/a": len(starts), "/b": len(starts)})
        per_day = {d.isoformat(): sum(1 for t in starts if t.date() == d) for d in days}
        self.assertEqual({r["date"]: r["visits"] for r in before["days"] if r["visits"]},
                         per_day)

        # The merge task's run (every 10 s): hours up to a visit timeout
        # ago go to their days and months.
        self.wait_merged_past(s, merged)
        moved = s.query("SELECT v FROM analytics_meta WHERE k = 'merged_to'")[0]["v"]
        self.assertGreaterEqual(moved, int((now - datetime.timedelta(hours=1)).timestamp()) // 3600 * 3600)
        self.assert_days_and_months_sum_hours(s)
        self.assertEqual(reports(), before)

        # A visit of a merged hour, imported now: once it has ended, in
        # all three buckets at once.
        late = merged + datetime.timedelta(minutes=45)
        day = int(late.timestamp()) // 86400 * 86400
        was = [r["visits"] for r in self.rollup_rows(s, 1) if r["t"] == day]
        self.import_visits(s, [late], BROWSERS[1] + " late")
        wait_all_closed(self, s, 15, 0.2)
        self.assertEqual(reports()["summary"]["visits"], len(starts) + 1)
        self.assertEqual([r["visits"] for r in self.rollup_rows(s, 1) if r["t"] == day],
                         [(was[0] if was else 0) + 1])
        self.assertEqual([r["visits"] for r in self.rollup_rows(s, 1) if r["t"] == day],
                         [sum(r["visits"] for r in self.rollup_rows(s, 0) if r["t"] // 86400 * 86400 == day)])

    def test_pending_written_before_merging(self):
        # A long visit of the hours to merge that ends after the first
        # close run, so it waits gathered (rollup_delay: an hour) for its
        # hour's rows when the merge task first runs (10 s after the
        # start): the merge writes it first, or its day and month would
        # never get it.
        # The visit's two hours inside one UTC day, the cookieless hash's
        # salt being a day's (across midnight it is two visitors', and
        # this failed from 00:30 to 02:40 UTC): then, with a longer
        # timeout, the visit is yesterday's.
        timeout = 1800
        now = datetime.datetime.now(datetime.timezone.utc)
        if (now - datetime.timedelta(seconds=timeout)).time() < datetime.time(2, 10):
            timeout += 3 * 3600
        s, now, merged = self.unmerged_server("3600s", "%ds" % timeout)
        s.start()
        last = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=timeout - 4)
        times = [last - datetime.timedelta(minutes=20 * k) for k in range(6, -1, -1)]
        self.assertEqual(times[0].date(), last.date())
        self.assertGreaterEqual(times[0], merged)
        path = os.path.join(s.dir, "long.log")
        with open(path, "w") as f:
            for k, at in enumerate(times):
                f.write('198.51.100.3 - - [%s] "GET /long/%d HTTP/1.1" 200 512 "-" "%s"\n' % (
                    at.strftime("%d/%b/%Y:%H:%M:%S +0000"), k, BROWSERS[0] + " long"))
        import_log(self, s, path, 120)
        self.wait_merged_past(s, merged)
        log = s.stderr()
        self.assertIn("1 waiting for the rollups", log, log[-2000:])
        self.assertLess(log.index("1 waiting for the rollups"), log.index("added to their days"),
                        "the visit ended after the merge: the server started too slowly")
        for gran in range(3):
            rows = self.rollup_rows(s, gran)
            self.assertEqual((sum(r["visits"] for r in rows), sum(r["pageviews"] for r in rows)),
                             (1, len(times)), gran)


if __name__ == "__main__":
    unittest.main()
