"""`seula import-log` histories and the analytics plugin, against the real
server: an imported access log becomes visits and rollups as live traffic
does, beside a running server too.  Apart from test_analytics.py (whose
helpers it shares) so that each file runs well within ctest's limit.
"""
import csv
import datetime
import io
import json
import os
import re
import sqlite3
import subprocess
import time
import unittest
import urllib.parse
import zoneinfo

from seulatest import BIN, Server, add_user, block_ints, login, pageview, run_seula
from test_analytics import (BROWSERS, PASSWORD, PLUGINS, day, import_lines, import_log,
                            sketch_slack, started, ua_of, wait_all_closed)


def import_hourly(test, s, name, times):
    """A page view at each of `times` (UTC datetimes), from an address of
    its own among 250, on the page /hHH of its UTC hour."""
    import_lines(test, s, name, [
        '198.51.100.%d - - [%s] "GET /h%02d HTTP/1.1" 200 512 "-" "%s"' % (
            1 + k % 250, t.strftime("%d/%b/%Y:%H:%M:%S +0000"), t.hour, BROWSERS[0])
        for k, t in enumerate(times)])


class ImportedHistoryTest(unittest.TestCase):
    """An access log imported with `seula import-log` becomes visits: its old
    events end their visits as they go (the close task is held during an
    import), and the server's close task ends the rest once the import has
    left them alone a few seconds."""

    def test_import_beside_the_running_server(self):
        # 1,000 visits of 20 page views a minute apart, interleaved, from
        # two days ago, imported while the server runs: by their times
        # every one has ended, but the server must not end a visit the
        # import is still adding to (it waits till the visit is left
        # alone 5 s).  Before, each close run (rollup_delay 0: written at
        # once) ended visits midway, and the import's next page views
        # began new ones: about twice as many visits.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1800s", "rollup_delay": "0s"}})
        base = (datetime.datetime.now(datetime.timezone.utc)
                - datetime.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        n_visits, n_pages = 1000, 20
        events = sorted((base + datetime.timedelta(seconds=v + 60 * k), v, k)
                        for v in range(n_visits) for k in range(n_pages))
        path = os.path.join(s.dir, "beside.log")
        with open(path, "w") as f:
            for t, v, k in events:
                f.write('198.51.%d.%d - - [%s] "GET /p%d HTTP/1.1" 200 512 "-" "%s v%d"\n' % (
                    v // 250, 1 + v % 250, t.strftime("%d/%b/%Y:%H:%M:%S +0000"), k,
                    BROWSERS[0], v))
        import_log(self, s, path, 300)
        wait_all_closed(self, s, 60, 0.5)
        got = s.query("SELECT count(*) AS n, sum(pageviews) AS p FROM analytics_visits")[0]
        self.assertEqual((got["n"], got["p"]), (n_visits, n_visits * n_pages))
        got = s.query("SELECT sum(visits) AS n, sum(pageviews) AS p FROM analytics_rollup "
                      "WHERE dim = '' AND gran = 0")[0]
        self.assertEqual((got["n"], got["p"]), (n_visits, n_visits * n_pages))

    def test_a_line_logged_late_begins_its_visit(self):
        # Apache logs a request when it ends, with the time it began: a
        # landing page's line can follow the next page's.  The earlier
        # line begins the visit: its page is the entry, its referrer and
        # campaign the visit's.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1800s", "rollup_delay": "0s"}})
        t = (datetime.datetime.now(datetime.timezone.utc)
             - datetime.timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
        stamp = lambda d: (t + datetime.timedelta(seconds=d)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        path = os.path.join(s.dir, "late.log")
        with open(path, "w") as f:
            f.write('198.51.100.9 - - [%s] "GET /next HTTP/1.1" 200 5 "http://localhost/landing" '
                    '"%s"\n' % (stamp(30), BROWSERS[0]))
            f.write('198.51.100.9 - - [%s] "GET /landing?utm_campaign=bf HTTP/1.1" 200 5 '
                    '"https://www.google.com/" "%s"\n' % (stamp(0), BROWSERS[0]))
            f.write('198.51.100.9 - - [%s] "GET /last HTTP/1.1" 200 5 "http://localhost/next" '
                    '"%s"\n' % (stamp(60), BROWSERS[0]))
        import_log(self, s, path)
        wait_all_closed(self, s, 60, 0.5)
        rows = s.query("SELECT start_ts, last_ts, pageviews, entry_page, exit_page, source, "
                       "channel, utm_campaign FROM analytics_visits")
        self.assertEqual(rows, [{
            "start_ts": int(t.timestamp()) * 1000, "last_ts": int(t.timestamp() + 60) * 1000,
            "pageviews": 3, "entry_page": "/landing", "exit_page": "/last",
            "source": "Google", "channel": "search", "utm_campaign": "bf"}])

    def test_site_time_zone(self):
        # A site's configured zone is its reports' unless one is asked
        # for, and /api/stats/sites tells the dashboard.
        s = started(self, plugins=PLUGINS, sites={
            "demo": "localhost", "other": "other.example"}, sections={
            "site.demo": {"timezone": "Pacific/Auckland"},
            "plugin.analytics": {"visit_timeout": "1s"}})
        add_user(s, "ana", "analyst", PASSWORD)
        for site in ("demo", "other"):
            h = {"User-Agent": ua_of(5), "X-Forwarded-For": "198.51.100.5"}
            ev = pageview(url="http://%s/" % ("localhost" if site == "demo" else
                                              "other.example"), site=site)
            self.assertEqual(s.collect([ev], headers=h).status, 204)
        staff = login(s, "ana", PASSWORD)
        sites = staff.request("GET", "/api/stats/sites").json()
        self.assertEqual(sites["timezones"], {"demo": "Pacific/Auckland"})
        # And each site's first day (UTC), for "all time".
        utc_today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        self.assertEqual(sites["since"], {"demo": utc_today, "other": utc_today})
        self.assertEqual(staff.request("GET", "/api/stats/demo/summary").json()["tz"],
                         "Pacific/Auckland")
        self.assertEqual(staff.request("GET", "/api/stats/demo/summary?tz=UTC").json()["tz"],
                         "UTC")
        self.assertEqual(staff.request("GET", "/api/stats/other/summary").json()["tz"], "UTC")
        # So does `seula report`, unless --tz names another.
        for extra, want in (((), "Pacific/Auckland"), (("--tz", ""), "Pacific/Auckland"),
                            (("--tz", "UTC"), "UTC")):
            r = run_seula("report", "--config", s.config_path, "--site", "demo", *extra)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["tz"], want)

    def test_breakdown_compared_value_by_value(self):
        # Each row's previous figures are its value's, wherever it ranked
        # then: before, the comparison was the previous period's own top
        # list, and the CSV left the previous figures of a value outside
        # it empty.  /c had no visit then: zeros, not nothing.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s"}})
        add_user(s, "ana", "analyst", PASSWORD)
        today = datetime.datetime.now(datetime.timezone.utc).replace(
            hour=12, minute=0, second=0, microsecond=0)
        a, b = today - datetime.timedelta(days=3), today - datetime.timedelta(days=2)
        lines, n = [], 0
        # /b was third then, outside a top list of two.
        for when, pages in ((a, ["/a"] * 3 + ["/d"] * 2 + ["/b"]),
                            (b, ["/b"] * 3 + ["/c"] * 2)):
            for p in pages:
                n += 1
                lines.append('198.51.100.%d - - [%s] "GET %s HTTP/1.1" 200 512 "-" "%s"' % (
                    n, (when + datetime.timedelta(minutes=n)).strftime(
                        "%d/%b/%Y:%H:%M:%S +0000"), p, BROWSERS[0]))
        import_lines(self, s, "two.log", lines)
        wait_all_closed(self, s, 30, 0.2)
        staff = login(s, "ana", PASSWORD)
        da, db = a.date().isoformat(), b.date().isoformat()
        args = {"dimension": "page", "limit": "2", "from": db, "to": db,
                "compare": "custom", "compare_from": da, "compare_to": da}
        # From the rollups, and (an ad hoc filter) from the visits.
        for flt in ("", "device!=nosuch;country!=XX"):
            got = staff.request("GET", "/api/stats/demo/breakdown?" + urllib.parse.urlencode(
                dict(args, filter=flt))).json()
            self.assertEqual([(x["page"], x["visits"]) for x in got["results"]],
                             [("/b", 3), ("/c", 2)], flt)
            self.assertEqual([(x["page"], x["visits"], x["pageviews"])
                              for x in got["comparison"]["results"]],
                             [("/b", 1, 1), ("/c", 0, 0)], flt)
            r = staff.request("GET", "/api/stats/demo/breakdown?" + urllib.parse.urlencode(
                dict(args, filter=flt, format="csv")))
            rows = list(csv.DictReader(io.StringIO(r.body.decode())))
            self.assertEqual([(x["page"], x["visits"], x["previous_visits"]) for x in rows],
                             [("/b", "3", "1"), ("/c", "2", "0")], flt)
            # The value is the row's own: no previous_page beside it.
            self.assertNotIn("previous_page", rows[0])

    def test_a_running_period_is_compared_as_far_into_the_last(self):
        # Today until now set against all of yesterday always looked down
        # (Plausible and PostHog compare as far into the last period):
        # the previous period of a range now is in ends where now is, by
        # the hour, through the end of the hour now is in.  One visit a
        # UTC hour, at half past, from four days ago to the last hour
        # before this one, on the rollups' path and on the visits'.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s"}})
        add_user(s, "ana", "analyst", PASSWORD)
        utc = datetime.timezone.utc
        top = datetime.datetime.now(utc).replace(minute=30, second=0, microsecond=0)
        top -= datetime.timedelta(hours=1)
        times = [top - datetime.timedelta(hours=k) for k in range(4 * 24)]
        import_hourly(self, s, "hours.log", times)
        wait_all_closed(self, s, 30, 0.2)
        staff = login(s, "ana", PASSWORD)

        def get(report, **args):
            r = staff.request("GET", "/api/stats/demo/%s?%s" % (
                report, urllib.parse.urlencode(args)))
            self.assertEqual(r.status, 200, r)
            return r.json()

        rows_checked = 0
        for tz in ("UTC", "Europe/Helsinki", "America/New_York"):
            zone = zoneinfo.ZoneInfo(tz)
            for _ in range(3):  # again if an hour began meanwhile
                now = datetime.datetime.now(zone)
                today = now.date().isoformat()
                got = {flt: get("summary", tz=tz, compare="previous_period", filter=flt,
                                **{"from": today, "to": today})
                       for flt in ("", "device!=nosuch;country!=XX")}
                page = get("breakdown", tz=tz, dimension="page", limit=100,
                           compare="previous_period", **{"from": today, "to": today})
                if datetime.datetime.now(zone).hour == now.hour:
                    break
            yesterday = now.date() - datetime.timedelta(days=1)
            # Yesterday's visits that began before the end of this hour
            # of its day.
            want = sum(1 for t in times if t.astimezone(zone).date() == yesterday
                       and t.astimezone(zone).hour <= now.hour)
            until = "%s %02d:00" % (yesterday.isoformat(), now.hour + 1)
            for flt, doc in got.items():
                cmp = doc["comparison"]
                self.assertEqual((cmp["from"], cmp["to"]), (yesterday.isoformat(),) * 2)
                self.assertEqual(cmp["results"]["visits"], want, (tz, flt))
                if now.hour == 23:  # all of yesterday
                    self.assertNotIn("until", cmp)
                else:
                    self.assertEqual(cmp["until"], until, (tz, flt))
            # A breakdown's rows alike, value by value.
            before = [t for t in times if t.astimezone(zone).date() == yesterday
                      and t.astimezone(zone).hour <= now.hour]
            # (Today may have no visit yet in a zone just past midnight.)
            self.assertEqual(bool(page["results"]), any(
                t.astimezone(zone).date() == now.date() for t in times), tz)
            rows_checked += len(page["results"])
            for row, prev in zip(page["results"], page["comparison"]["results"]):
                self.assertEqual(prev["visits"], sum(
                    1 for t in before if "/h%02d" % t.hour == row["page"]), (tz, row))
            # A chart sets all of yesterday beside today.
            ts = get("timeseries", tz=tz, interval="hour", metric="visits",
                     compare="previous_period", **{"from": today, "to": today})
            self.assertNotIn("until", ts["comparison"])
            self.assertEqual(sum(r["visits"] for r in ts["comparison"]["results"]),
                             sum(1 for t in times if t.astimezone(zone).date() == yesterday))
            # A period that has ended is compared with all of the last.
            done = get("summary", tz=tz, compare="previous_period",
                       **{"from": yesterday.isoformat(), "to": yesterday.isoformat()})
            self.assertNotIn("until", done["comparison"])
            self.assertEqual(done["comparison"]["results"]["visits"],
                             sum(1 for t in times if t.astimezone(zone).date()
                                 == yesterday - datetime.timedelta(days=1)))
        # Some zone has begun its day with visits at any hour (UTC, or
        # Helsinki in UTC's first hour).
        self.assertGreater(rows_checked, 0)


    def test_a_running_period_is_cut_by_the_clock_across_a_dst_change(self):
        # Today until 15:00 against a day the clocks changed in is cut at
        # 15:00 of that day, not 15 hours after its midnight: 14:00 after
        # a day of 25 hours (and so for a month after, in the last 30
        # days against the 30 before), 16:00 after one of 23.  Havana's
        # clocks change at midnight, so every hour of the day tells; one
        # visit a UTC hour, at half past, over its last two such days.
        zone = zoneinfo.ZoneInfo("America/Havana")
        utc = datetime.timezone.utc
        start = datetime.datetime.now(zone).date() - datetime.timedelta(days=2)

        def hours(d):
            t0 = datetime.datetime.combine(d, datetime.time(), zone)
            t1 = datetime.datetime.combine(d + datetime.timedelta(days=1),
                                           datetime.time(), zone)
            return round((t1.astimezone(utc) - t0.astimezone(utc)).total_seconds() / 3600)
        changed = {}
        for back in range(400):
            d = start - datetime.timedelta(days=back)
            if hours(d) != 24:
                changed.setdefault(hours(d), d)
        if set(changed) != {23, 25}:
            self.skipTest("no day of 23 and of 25 hours in Havana lately")
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s"}})
        add_user(s, "ana", "analyst", PASSWORD)
        times = []
        for d in changed.values():
            t = datetime.datetime.combine(d, datetime.time(), zone).astimezone(utc)
            t = t.replace(minute=30) - datetime.timedelta(hours=2)
            while t.astimezone(zone).date() <= d:
                times.append(t)
                t += datetime.timedelta(hours=1)
        import_hourly(self, s, "dst.log", times)
        wait_all_closed(self, s, 30, 0.2)
        staff = login(s, "ana", PASSWORD)
        for n, d in sorted(changed.items()):
            for _ in range(3):  # again if an hour began meanwhile
                now = datetime.datetime.now(zone)
                today = now.date().isoformat()
                r = staff.request("GET", "/api/stats/demo/summary?" + urllib.parse.urlencode({
                    "tz": "America/Havana", "from": today, "to": today,
                    "compare": "custom", "compare_from": d.isoformat(),
                    "compare_to": d.isoformat()}))
                if datetime.datetime.now(zone).hour == now.hour:
                    break
            self.assertEqual(r.status, 200, r)
            cmp = r.json()["comparison"]
            want = sum(1 for t in times if t.astimezone(zone).date() == d
                       and t.astimezone(zone).hour <= now.hour)
            self.assertEqual(cmp["results"]["visits"], want, (n, d, now))
            if now.hour == 23:  # all of that day
                self.assertNotIn("until", cmp)
            else:
                self.assertEqual(cmp.get("until"), "%s %02d:00" % (d, now.hour + 1),
                                 (n, d, now))
    def test_breakdown_top_by_visitors_not_cut_by_visits(self):
        # Rows rank by visitors.  From the rollups, the candidates were the
        # 2 x limit + 20 values with the most visits: /x/broad (11 visits,
        # 11 visitors) fell out behind 45 pages of 12 visits by one
        # visitor, so the default top 10 lacked the top row, and paging
        # repeated one.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s"}})
        add_user(s, "ana", "analyst", PASSWORD)
        base = (datetime.datetime.now(datetime.timezone.utc)
                - datetime.timedelta(days=2)).replace(hour=1, minute=0, second=0,
                                                      microsecond=0)
        stamp = lambda t: t.strftime("%d/%b/%Y:%H:%M:%S +0000")
        lines = ['198.51.100.7 - - [%s] "GET /x/h%02d HTTP/1.1" 200 512 "-" "%s"' % (
            stamp(base + datetime.timedelta(seconds=5 * (12 * i + k))), i, BROWSERS[0])
            for i in range(45) for k in range(12)]
        lines += ['198.51.100.%d - - [%s] "GET /x/broad HTTP/1.1" 200 512 "-" "%s v%d"' % (
            100 + k, stamp(base + datetime.timedelta(hours=5, seconds=5 * k)),
            BROWSERS[1], k) for k in range(11)]
        import_lines(self, s, "wide.log", lines)
        wait_all_closed(self, s, 30, 0.2)
        staff = login(s, "ana", PASSWORD)
        q = {"dimension": "page", "from": base.date().isoformat(),
             "to": base.date().isoformat(), "tz": "UTC"}
        get = lambda **more: staff.request("GET", "/api/stats/demo/breakdown?" +
                                           urllib.parse.urlencode(dict(q, **more))).json()
        top = get()["results"]
        self.assertEqual((top[0]["page"], top[0]["visits"]), ("/x/broad", 11))
        # A sketch's count: two of the 11 share one of its 4,096 registers
        # in about one run of 75 (the key is random each run).
        self.assertLessEqual(abs(top[0]["visitors"] - 11), sketch_slack(11))
        self.assertEqual([(x["visitors"], x["visits"]) for x in top[1:]], [(1, 12)] * 9)
        seen = []
        for page in range(1, 6):
            seen += [x["page"] for x in get(limit="10", page=str(page))["results"]]
        self.assertEqual(len(seen), 46)
        self.assertEqual(len(set(seen)), 46)

    def test_time_on_page_of_imported_pages_is_not_measured(self):
        # A log has no engagement: its pages' time on page is unknown
        # (null, an empty CSV cell, "–" on the dashboard), not 0 s.  A
        # tracked page with engagement beside it has its time.
        s = started(self, plugins=PLUGINS, sections={"plugin.analytics": {
            "visit_timeout": "1s", "rollup_delay": "0s"}})
        add_user(s, "ana", "analyst", PASSWORD)
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        import_lines(self, s, "recent.log", [
            '198.51.100.%d - - [%s] "GET /imported HTTP/1.1" 200 512 "-" "%s"' % (
                70 + i, (now - datetime.timedelta(minutes=10 + i)).strftime(
                    "%d/%b/%Y:%H:%M:%S +0000"), BROWSERS[0]) for i in range(3)])
        h = {"User-Agent": ua_of(71), "X-Forwarded-For": "198.51.100.171"}
        for ev in (pageview(url="http://localhost/tracked"),
                   pageview(url="http://localhost/tracked", type="engagement",
                            engagement_ms=3000)):
            self.assertEqual(s.collect([ev], headers=h).status, 204)
        wait_all_closed(self, s, 30, 0.2)
        staff = login(s, "ana", PASSWORD)
        # From the rollups, and (an ad hoc filter on two columns) from the
        # visits.
        for flt in ("", "device!=nosuch;country!=XX"):
            q = "/api/stats/demo/breakdown?" + urllib.parse.urlencode(
                {"dimension": "page", "filter": flt})
            got = {x["page"]: x for x in staff.request("GET", q).json()["results"]}
            self.assertEqual(got["/imported"]["pageviews"], 3, flt)
            self.assertIsNone(got["/imported"]["time_on_page"], flt)
            self.assertEqual(got["/tracked"]["time_on_page"], 3.0, flt)
            rows = list(csv.DictReader(io.StringIO(
                staff.request("GET", q + "&format=csv").body.decode())))
            self.assertEqual({x["page"]: x["time_on_page"] for x in rows},
                             {"/imported": "", "/tracked": "3"}, flt)

    def test_visit_added_to_after_it_was_gathered(self):
        # The import stalls (its input waits) long enough for the server to
        # gather a visit it left open; then it adds a page view to that
        # visit before the server writes it.  The server's write finds
        # the visit changed and gathers it again: the rollups have all
        # three page views, as the visit has (before: two).
        s = started(self, plugins=PLUGINS, server={"log_level": "debug"},
                    sections={"plugin.analytics": {"visit_timeout": "1800s",
                                                   "rollup_delay": "10s"}})
        base = (datetime.datetime.now(datetime.timezone.utc)
                - datetime.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)

        def line(ip, minutes, page, ua):
            t = base + datetime.timedelta(minutes=minutes)
            return '%s - - [%s] "GET %s HTTP/1.1" 200 512 "-" "%s"\n' % (
                ip, t.strftime("%d/%b/%Y:%H:%M:%S +0000"), page, ua)
        # Two page views of the visit, then enough of others (all in one
        # hour) for the import to commit them while it waits.
        first = [line("198.51.100.50", 0, "/a", BROWSERS[0] + " stalled"),
                 line("198.51.100.50", 5, "/b", BROWSERS[0] + " stalled")]
        first += [line("198.51.101.%d" % (1 + i % 250), 6 + i % 10, "/x",
                       BROWSERS[1] + " filler%d" % i) for i in range(3000)]
        proc = subprocess.Popen([BIN, "import-log", "--config", s.config_path,
                                 "--site", "demo", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        proc.stdin.write("".join(first))
        proc.stdin.flush()
        # The server gathers it once the import has left it 5 s.
        deadline = time.monotonic() + 30
        while not s.query("SELECT count(*) AS n FROM analytics_visits WHERE "
                          "pageviews = 2")[0]["n"] or "waiting for the rollups" not in s.stderr():
            self.assertLess(time.monotonic(), deadline, s.stderr()[-2000:])
            time.sleep(0.2)
        proc.stdin.write(line("198.51.100.50", 12, "/c", BROWSERS[0] + " stalled"))
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=120), 0, proc.stderr.read())
        wait_all_closed(self, s, 60, 0.5)
        self.assertEqual(s.query("SELECT pageviews FROM analytics_visits WHERE "
                                 "entry_page = '/a'")[0]["pageviews"], 3)
        self.assertIn("gathering again", s.stderr())
        got = s.query("SELECT sum(pageviews) AS p FROM analytics_rollup "
                      "WHERE dim = '' AND gran = 0")[0]["p"]
        self.assertEqual(got, 3003)

    def test_log_read_backwards_keeps_visits_apart(self):
        # Five visits of one browser, an hour apart, each of two pages
        # five minutes apart, newest first (a log joined out of order):
        # an event a visit timeout before a visit's start is a visit of
        # its own, not its beginning.
        s = Server(plugins=PLUGINS)
        self.addCleanup(s.close)
        base = datetime.datetime.now(datetime.timezone.utc).replace(
            minute=0, second=0, microsecond=0) - datetime.timedelta(days=2)
        lines = []
        for i in range(5):
            for k in (1, 0):
                t = base + datetime.timedelta(hours=4 - i, minutes=5 * k)
                lines.append('198.51.100.21 - - [%s] "GET /p%d HTTP/1.1" 200 512 "-" "%s"'
                             % (t.strftime("%d/%b/%Y:%H:%M:%S +0000"), k,
                                BROWSERS[0] + " backwards"))
        import_lines(self, s, "backwards.log", lines)
        visits = s.query("SELECT start_ts, last_ts, pageviews FROM analytics_visits "
                         "ORDER BY start_ts")
        self.assertEqual([(v["pageviews"], v["last_ts"] - v["start_ts"]) for v in visits],
                         [(2, 300000)] * 5)
        self.assertEqual([v["start_ts"] for v in visits],
                         [int((base + datetime.timedelta(hours=h)).timestamp()) * 1000
                          for h in range(5)])

    def test_half_hour_zone_days_alike_on_every_path(self):
        """In a zone off UTC by a half hour each UTC hour counts on the
        local day it starts in: from the rollups (unfiltered), the day
        blocks and the visits' rows (filtered) alike."""
        s = Server(plugins=PLUGINS)
        self.addCleanup(s.close)
        add_user(s, "ana", "analyst", PASSWORD)
        base = datetime.datetime.now(datetime.timezone.utc).replace(
            hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(days=5)

        def line(ip, minutes, ua):
            t = base + datetime.timedelta(minutes=minutes)
            return ('%s - - [%s] "GET / HTTP/1.1" 200 512 "-" "%s"'
                    % (ip, t.strftime("%d/%b/%Y:%H:%M:%S +0000"), ua))
        # 08:00 UTC, and 18:40 UTC: 00:10 the next day in Kolkata, in the
        # UTC hour that starts there at 23:30 the day before.
        import_lines(self, s, "access.log", [
            line("198.51.100.7", 8 * 60, BROWSERS[0] + " hA"),
            line("198.51.100.9", 18 * 60 + 40, BROWSERS[1] + " hB")])
        s.start()
        wait_all_closed(self, s, 20, 0.2)
        staff = login(s, "ana", PASSWORD)
        d0, d1 = base.date().isoformat(), (base + datetime.timedelta(days=1)).date().isoformat()

        def days(flt):
            q = "from=%s&to=%s&tz=Asia/Kolkata&interval=day&metric=visits" % (d0, d1)
            if flt:
                q += "&filter=" + urllib.parse.quote(flt)
            return {r["date"]: r["visits"] for r in staff.request(
                "GET", "/api/stats/demo/timeseries?" + q).json()["results"]}
        want = {d0: 2, d1: 0}
        self.assertEqual(days(""), want, "rollups")
        self.assertEqual(days("device!=zz;browser!=zz"), want, "visits' rows")
        day = int(base.timestamp()) // 86400
        deadline = time.time() + 20
        while (s.query("SELECT count(*) AS n FROM analytics_block_dirty")[0]["n"]
               or block_ints(s, day, "pageviews") is None) and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(block_ints(s, day, "pageviews"), [1, 1])
        self.assertEqual(days("device!=zz;browser!=zz"), want, "blocks")

    def test_imported_log_makes_visits(self):
        # One reader: its connections to the file are counted below.  No
        # block cache warm-up until the restart below: SQLite keeps the
        # descriptor of a connection closed while another holds locks on
        # the file, and the next connection takes it.
        s = Server(plugins=PLUGINS, server={"readers": "1"},  # started after the import
                   sections={"plugin.analytics": {"block_cache_warm": "no"}})
        self.addCleanup(s.close)
        add_user(s, "ana", "analyst", PASSWORD)
        base = datetime.datetime.now(datetime.timezone.utc).replace(
            hour=8, minute=0, second=0, microsecond=0) - datetime.timedelta(days=5)
        ua_a = BROWSERS[0] + " importA"
        ua_b = BROWSERS[1] + " importB"

        def line(ip, minutes, path, ua):
            t = base + datetime.timedelta(minutes=minutes)
            return ('%s - - [%s] "GET %s HTTP/1.1" 200 512 "-" "%s"'
                    % (ip, t.strftime("%d/%b/%Y:%H:%M:%S +0000"), path, ua))
        lines = [line("198.51.100.7", 0, "/", ua_a),
                 line("198.51.100.7", 5, "/pricing", ua_a),
                 line("198.51.100.7", 10, "/about", ua_a),
                 line("198.51.100.9", 20, "/blog/a", ua_b),
                 line("198.51.100.7", 130, "/", ua_a),  # a new visit
                 # The next day: a range of two days' blocks.
                 line("198.51.100.13", 24 * 60 + 30, "/next", ua_b)]
        import_lines(self, s, "access.log", lines)
        s.start()
        # Reports count the visits left open as they are; the close task
        # ends them once the import has left them five seconds.
        wait_all_closed(self, s, 20, 0.2)

        def db_files():
            """The server's open descriptors of the database file."""
            fd = "/proc/%d/fd" % s.proc.pid
            return sum(1 for n in os.listdir(fd)
                       if os.path.realpath(os.path.join(fd, n))
                       == os.path.realpath(s.db_path))
        files = db_files()
        staff = login(s, "ana", PASSWORD)
        d = base.date().isoformat()
        got = staff.request("GET", "/api/stats/demo/summary?from=%s&to=%s"
                            % (d, d)).json()["results"]
        # The reader's first report opened its helper connection.
        self.assertEqual(db_files(), files + 1)
        self.assertEqual((got["visits"], got["pageviews"]), (3, 5))
        # From the rollups' sketch: two hashes share a register once in
        # 4,096 runs (the key is random), and then it says 1.
        self.assertIn(got["visitors"], (1, 2))
        self.assertEqual(got["bounce_rate"], round(100 * 2 / 3, 1))
        self.assertEqual(got["visit_duration"], round(600 / 3, 1))
        self.assertEqual(s.query("SELECT count(*) AS n FROM analytics_visits "
                                 "WHERE closed = 0")[0]["n"], 0)
        entry = staff.request("GET", "/api/stats/demo/breakdown?dimension=entry_page"
                              "&from=%s&to=%s" % (d, d)).json()["results"]
        self.assertEqual({e["entry_page"]: e["visits"] for e in entry},
                         {"/": 2, "/blog/a": 1})

        # The day is over: the server puts its visits in blocks, which
        # answer filters no rollup does (two columns here).
        day = int(base.timestamp()) // 86400

        def block_visits():
            """Visits in the day's block (its pageviews column: a width
            byte, then a value each), or None while it has none or is
            dirty."""
            dirty = s.query("SELECT count(*) AS n FROM analytics_block_dirty "
                            "WHERE site = 'demo' AND day = ?", (day,))[0]["n"]
            visits = block_ints(s, day, "pageviews")
            return None if dirty or visits is None else len(visits)

        def until(want):
            deadline = time.time() + 20
            while block_visits() != want and time.time() < deadline:
                time.sleep(0.2)
            self.assertEqual(block_visits(), want)
        until(3)
        self.assertGreater(s.query("SELECT built_to FROM analytics_block_state "
                                   "WHERE site = 'demo'")[0]["built_to"], day)
        two = "device!=none;browser!=none"

        def filtered():
            q = "from=%s&to=%s&filter=%s" % (d, d, urllib.parse.quote(two))
            summary = staff.request("GET", "/api/stats/demo/summary?" + q).json()
            entries = staff.request("GET", "/api/stats/demo/breakdown?"
                                    "dimension=entry_page&" + q).json()
            return ((summary["results"]["visits"], summary["results"]["pageviews"],
                     summary["results"]["bounce_rate"],
                     summary["results"]["visit_duration"]),
                    {e["entry_page"]: e["visits"] for e in entries["results"]})
        self.assertEqual(filtered(), ((3, 5, round(100 * 2 / 3, 1), 200.0),
                                      {"/": 2, "/blog/a": 1}))
        # Both days in blocks: the report reads the first on the helper's
        # thread, the second on its own.
        d2 = (base + datetime.timedelta(days=1)).date().isoformat()
        deadline = time.time() + 20
        while (block_ints(s, day + 1, "pageviews") is None
               and time.time() < deadline):
            time.sleep(0.2)
        self.assertEqual(block_ints(s, day + 1, "pageviews"), [1])
        q = "from=%s&to=%s&filter=%s" % (d, d2, urllib.parse.quote(two))
        both = staff.request("GET", "/api/stats/demo/breakdown?"
                             "dimension=entry_page&" + q).json()["results"]
        self.assertEqual({e["entry_page"]: e["visits"] for e in both},
                         {"/": 2, "/blog/a": 1, "/next": 1})

        # A visit imported into the day later: its block goes, the report
        # counts the visit at once, and the block is built again with it.
        more = os.path.join(s.dir, "more.log")
        with open(more, "w") as f:
            f.write(line("198.51.100.11", 300, "/late", BROWSERS[2] + " importC")
                    + "\n")
        r = run_seula("import-log", "--config", s.config_path, "--site", "demo",
                      more, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(filtered(), ((4, 6, 75.0, 150.0),
                                      {"/": 2, "/blog/a": 1, "/late": 1}))
        until(4)
        self.assertEqual(filtered(), ((4, 6, 75.0, 150.0),
                                      {"/": 2, "/blog/a": 1, "/late": 1}))
        # A page filter, from the blocks too: the visits that have the
        # pages, and only those pages' views.
        for flt, want in (("page==/pricing|/about",
                           (1, 2, {"/pricing": 1, "/about": 1}, {"/": 2})),
                          ("page==/;browser!=none",
                           (2, 2, {"/": 2}, {"/": 2}))):
            q = "from=%s&to=%s&filter=%s" % (d, d, urllib.parse.quote(flt))
            summary = staff.request("GET", "/api/stats/demo/summary?" + q).json()
            pages = staff.request("GET", "/api/stats/demo/breakdown?"
                                  "dimension=page&" + q).json()["results"]
            entries = staff.request("GET", "/api/stats/demo/breakdown?"
                                    "dimension=entry_page&" + q).json()["results"]
            self.assertEqual((summary["results"]["visits"],
                              summary["results"]["pageviews"],
                              {p["page"]: p["pageviews"] for p in pages},
                              {e["entry_page"]: e["pageviews"] for e in entries}),
                             want, flt)

        # Past visitor_retention the visits' visitors are forgotten: the
        # block held them too, and is built again without them.
        def block_visitors():
            return block_ints(s, day, "visitor")
        ids = [r["id"] for r in s.query(
            "SELECT id FROM analytics_visits WHERE site = 'demo' AND start_ts "
            ">= ? AND start_ts < ? ORDER BY start_ts, id",
            (day * 86400000, (day + 1) * 86400000))]
        self.assertEqual(len(ids), 4)
        self.assertEqual(set(block_visitors()) & set(ids), set())

        # After a start the server reads every block into memory (here
        # far less than block_cache_mb), and the reports are as before.
        s.stop()
        warm = re.compile(r"block cache: (\d+) blocks \(")
        self.assertEqual(warm.findall(s.stderr()), [])
        with open(s.config_path) as f:
            config = f.read()
        with open(s.config_path, "w") as f:
            f.write(config.replace("block_cache_warm = no", "block_cache_warm = yes"))
        s.start()
        deadline = time.time() + 20
        while not warm.findall(s.stderr()) and time.time() < deadline:
            time.sleep(0.1)
        n = s.query("SELECT count(*) AS n FROM analytics_blocks")[0]["n"]
        self.assertGreater(n, 0)
        self.assertEqual(int(warm.findall(s.stderr())[-1]), n)
        self.assertEqual(filtered(), ((4, 6, 75.0, 150.0),
                                      {"/": 2, "/blog/a": 1, "/late": 1}))

        # Another process drops a day's blocks, as its writer would: the
        # server forgets them within seconds (they were all in memory)
        # and builds the day again.
        gone = re.compile(r"block cache: (\d+) blocks deleted elsewhere forgotten")
        before = len(gone.findall(s.stderr()))
        time.sleep(6)  # past the first sweep after the start (every 5 s)
        db = sqlite3.connect(s.db_path, timeout=10)
        with db:
            n_day = db.execute("DELETE FROM analytics_blocks WHERE site = 'demo' "
                               "AND day = ?", (day,)).rowcount
            db.execute("INSERT INTO analytics_block_dirty (site, day) "
                       "VALUES ('demo', ?)", (day,))
        db.close()
        self.assertGreater(n_day, 0)
        deadline = time.time() + 20
        while len(gone.findall(s.stderr())) == before and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(gone.findall(s.stderr())[before:], [str(n_day)])
        until(4)
        self.assertEqual(filtered(), ((4, 6, 75.0, 150.0),
                                      {"/": 2, "/blog/a": 1, "/late": 1}))
        s.stop()
        with open(s.config_path, "a") as f:
            f.write("[plugin.analytics]\nvisitor_retention = 3600s\n")
        s.start()  # the forget task runs at the start
        deadline = time.time() + 20
        while block_visitors() != ids and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(block_visitors(), ids)


if __name__ == "__main__":
    unittest.main()
