"""seula report on a database filled by seula import-log: the file -o
writes, and the periods the report's chart and comparison cover."""
import csv
import datetime
import io
import json
import os
import pwd
import re
import resource
import signal
import stat
import subprocess
import unittest

from seulatest import record_consent, BIN, SOURCE, Server, require_env, run_seula

UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def log_line(t, path, ip):
    return '%s - - [%02d/%s/%04d:%02d:%02d:%02d +0000] "GET %s HTTP/1.1" 200 5 "-" "%s"' % (
        ip, t.day, MONTHS[t.month - 1], t.year, t.hour, t.minute, t.second, path, UA)


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_env()
        # Page views yesterday (UTC), hours apart, by visitors of their own.
        cls.srv = Server(plugins=("useragent", "anonymize", "analytics"),
                         sites={"demo": "www.example.com"}).create_db()
        cls.day = (datetime.datetime.now(datetime.timezone.utc).date()
                   - datetime.timedelta(days=1))
        start = datetime.datetime.combine(cls.day, datetime.time(1, 30))
        lines = [log_line(start + datetime.timedelta(hours=h), "/p%d" % (h % 3),
                          "81.%d.1.1" % (h + 1)) for h in range(0, 22, 3)]
        # Three days before: paths past ASCII (stored percent-encoded),
        # one whose decoding is no UTF-8, one with a control character and
        # one with a right-to-left override; a visit each.
        cls.paths_day = cls.day - datetime.timedelta(days=3)
        start = datetime.datetime.combine(cls.paths_day, datetime.time(9))
        lines += [log_line(start + datetime.timedelta(hours=m), p, "82.1.%d.1" % m)
                  for m, p in enumerate(["/k\u00e4ytt\u00e4j\u00e4/"] * 3
                                        + ["/a%FFb", "/c%01d", "/x%E2%80%AEnimda/"])]
        # Five days before: 1234 page views by visitors of their own.
        cls.busy_day = cls.day - datetime.timedelta(days=5)
        start = datetime.datetime.combine(cls.busy_day, datetime.time(8))
        lines += [log_line(start + datetime.timedelta(seconds=10 * i), "/",
                           "83.%d.%d.1" % (i // 256, i % 256)) for i in range(1234)]
        log = os.path.join(cls.srv.dir, "access.log")
        with open(log, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = run_seula("import-log", "--config", cls.srv.config_path, "--site", "demo",
                      log, timeout=120)
        assert r.returncode == 0, r.stderr
        cls.views = len(lines) - 6 - 1234

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def report(self, *args, **kwargs):
        return subprocess.run([BIN, "report", "--config", self.srv.config_path,
                               "--site", "demo", *args], capture_output=True,
                              text=True, timeout=60, cwd=SOURCE, **kwargs)

    def test_a_failed_write_leaves_the_file_as_it_was(self):
        # The disk fills part-way (a file size limit stands in for it):
        # the last report stays whole, no partial one takes its place,
        # nothing is left beside it.
        out = os.path.join(self.srv.dir, "weekly.html")
        full = os.path.join(self.srv.dir, "full.html")
        r = self.report("--format", "html", "-o", full)
        self.assertEqual(r.returncode, 0, r.stderr)
        limit = 40000
        self.assertGreater(os.path.getsize(full), limit)  # uPlot is inlined
        with open(out, "w") as f:
            f.write("last week's report\n")
        os.chmod(out, 0o640)

        def small_disk():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        r = self.report("--format", "html", "-o", out, preexec_fn=small_disk)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot write: File too large", r.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), "last week's report\n")
        self.assertEqual([n for n in os.listdir(self.srv.dir) if n.startswith("weekly")],
                         ["weekly.html"])
        # Written whole, it replaces the file and keeps its mode; through
        # a symbolic link, the file it names.
        link = os.path.join(self.srv.dir, "latest.html")
        os.symlink(out, link)
        r = self.report("--format", "html", "-o", link)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.islink(link))
        with open(out) as f:
            self.assertTrue(f.read().startswith("<!doctype html>"))
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o640)
        # A new file is its user's alone, as every file Seula makes.
        fresh = os.path.join(self.srv.dir, "fresh.json")
        r = self.report("-o", fresh)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(fresh).st_mode), 0o600)
        # Never over the server's database.
        size = os.path.getsize(self.srv.db_path)
        r = self.report("-o", self.srv.db_path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the server's own", r.stderr)
        self.assertEqual(os.path.getsize(self.srv.db_path), size)
        # "-o -" is standard output, as without -o: no file named "-".
        r = self.report("-o", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("summary", json.loads(r.stdout))
        self.assertFalse(os.path.exists(os.path.join(SOURCE, "-")))
        # Nor over its config, nor its lock file (a new inode there would
        # let a second server start beside the one holding the old).
        lock = self.srv.db_path + "-lock"
        for path in (self.srv.config_path, lock):
            with self.subTest(path=path):
                before = os.stat(path)
                with open(path, "rb") as f:
                    content = f.read()
                r = self.report("-o", path)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn("%s: not a file to write to" % path, r.stderr)
                after = os.stat(path)
                self.assertEqual((after.st_ino, after.st_size), (before.st_ino, before.st_size))
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), content)

    def test_one_day_is_charted_by_the_hour(self):
        # One point a day made a one-day chart of one point on an axis of
        # years: a day's report has its hours.
        d = self.day.isoformat()
        r = self.report("--from", d, "--to", d)
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["interval"], "hour")
        self.assertEqual([x["date"] for x in rep["timeseries"]],
                         ["%s %02d:00" % (d, h) for h in range(24)])
        self.assertEqual([x["pageviews"] for x in rep["timeseries"]],
                         [1 if h % 3 == 1 else 0 for h in range(24)])
        self.assertEqual(rep["summary"]["pageviews"], self.views)
        r = self.report("--from", d, "--to", d, "--format", "html")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Visitors and page views per hour", r.stdout)
        self.assertIn(">%s 04:00<" % d, r.stdout)
        # Two days are two points, by the day.
        r = self.report("--from", d, "--to", (self.day + datetime.timedelta(days=1)).isoformat())
        self.assertEqual(json.loads(r.stdout)["interval"], "day")

    def test_weeks_the_period_cuts_say_their_days(self):
        # 100 days by the week, from a Wednesday to a Thursday: the first
        # week holds 5 of its days, the last 4; the rest are whole.
        first = self.day - datetime.timedelta(days=120)
        first -= datetime.timedelta(days=(first.weekday() - 2) % 7)
        last = first + datetime.timedelta(days=99)
        self.assertEqual((first.weekday(), last.weekday()), (2, 3))
        args = ("--from", first.isoformat(), "--to", last.isoformat())
        r = self.report(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["interval"], "week")
        rows = rep["timeseries"]
        self.assertEqual(len(rows), 15)
        self.assertEqual(rep["partial"], [
            {"date": rows[0]["date"], "days_in_period": 5, "days": 7},
            {"date": rows[-1]["date"], "days_in_period": 4, "days": 7}])
        # The rows keep one shape.
        self.assertEqual({tuple(sorted(x)) for x in rows},
                         {("date", "pageviews", "visitors", "visits")})
        r = self.report(*args, "--format", "html")
        self.assertEqual(r.returncode, 0, r.stderr)
        monday = (first - datetime.timedelta(days=2)).isoformat()
        self.assertIn('<p class="note">Dashed: the week of %s has 5 of its 7 days in the '
                      'period; the week of %s has 4 of its 7 days in the period: fewer '
                      'days, not fewer visitors.</p>'
                      % (monday, rows[-1]["date"]), r.stdout)
        self.assertIn("dash:[4,4]", r.stdout)
        # The CSV keeps its columns.
        r = self.report(*args, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[lines.index("Visits") + 1], "date,visitors,visits,pageviews")
        # Whole weeks: nothing said.
        monday = first - datetime.timedelta(days=2)
        whole = ("--from", monday.isoformat(), "--to",
                 (monday + datetime.timedelta(days=111)).isoformat())
        self.assertEqual(json.loads(self.report(*whole).stdout)["partial"], [])
        self.assertNotIn('<p class="note">', self.report(*whole, "--format", "html").stdout)

    def test_paths_are_shown_decoded_in_the_html_alone(self):
        # The HTML shows a page's path as the dashboard does, as a person
        # reads it, in its tables and its filter line; a decoding that is
        # no text is shown as stored.  The JSON and the CSV keep the
        # stored value, as the API and the dashboard's CSV do.
        d = self.paths_day.isoformat()
        stored = "/k%C3%A4ytt%C3%A4j%C3%A4/"
        r = self.report("--from", d, "--to", d, "--format", "html")
        self.assertEqual(r.returncode, 0, r.stderr)
        keys = re.findall(r'<span class="key">([^<]*)</span>', r.stdout)
        self.assertEqual(keys.count("/k\u00e4ytt\u00e4j\u00e4/"), 2)  # page, entry page
        self.assertNotIn(stored, r.stdout)
        self.assertEqual(keys.count("/a%FFb"), 2)
        self.assertEqual(keys.count("/c%01d"), 2)
        # A bidirectional control would turn the rest of the path around
        # ("/x/admin"): it shows as its code point.
        self.assertEqual(keys.count("/x&lt;U+202E&gt;nimda/"), 2, keys)
        self.assertNotIn("\u202e", r.stdout)
        r = self.report("--from", d, "--to", d, "--format", "html",
                        "--filter", "page==/k\u00e4ytt\u00e4j\u00e4/")
        self.assertEqual(r.returncode, 0, r.stderr)
        line = re.search(r"Only the visits where [^<]*", r.stdout)
        self.assertEqual(line and line.group(0), "Only the visits where page is "
                         "/k\u00e4ytt\u00e4j\u00e4/ (the consent rates are the site's)")
        self.assertNotIn(stored, r.stdout)
        r = self.report("--from", d, "--to", d, "--filter", "entry_page==" + stored)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["filters"][0]["value"], stored)
        self.assertEqual([x["page"] for x in rep["pages"]], [stored])
        r = self.report("--from", d, "--to", d, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        section = [x for x in r.stdout.split("\n\n") if x.startswith("Top pages")][0]
        rows = list(csv.DictReader(io.StringIO(section.split("\n", 1)[1])))
        self.assertEqual(sorted(x["page"] for x in rows),
                         ["/a%FFb", "/c%01d", stored, "/x%E2%80%AEnimda/"])

    def test_the_html_groups_thousands(self):
        # "Page views 1,234", as the dashboard writes counts, in the
        # summary and the tables; the JSON and the CSV keep the number.
        d = self.busy_day.isoformat()
        r = self.report("--from", d, "--to", d, "--format", "html")
        self.assertEqual(r.returncode, 0, r.stderr)
        cards = dict(re.findall(r"<small>([^<]*)</small><b>([^<]*)</b>", r.stdout))
        self.assertEqual(cards["Page views"], "1,234")
        row = re.search(r'<span class="key">/</span></th>((?:<td class="num">[^<]*</td>)+)',
                        r.stdout)
        self.assertEqual(re.findall(r'<td class="num">([^<]*)</td>', row.group(1))[2],
                         "1,234")
        self.assertEqual(re.findall(r">\d{4,}<", r.stdout), [])
        r = self.report("--from", d, "--to", d)
        self.assertEqual(json.loads(r.stdout)["summary"]["pageviews"], 1234)
        r = self.report("--from", d, "--to", d, "--format", "csv")
        section = [x for x in r.stdout.split("\n\n") if x.startswith("Summary")][0]
        self.assertEqual(list(csv.DictReader(io.StringIO(section.split("\n", 1)[1])))[0]
                         ["pageviews"], "1234")

    def test_a_period_from_1970_has_no_comparison(self):
        # The report has no compare option: a period with no previous one
        # after 1970-01-01 is reported without it, not refused.
        r = self.report("--from", "1970-01-01", "--to", "1970-01-31")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertIsNone(rep["comparison"])
        self.assertEqual(rep["summary"]["visits"], 0)
        # To today it is longer than a report may be, and says so.
        r = self.report("--from", "1970-01-01")
        self.assertEqual(r.returncode, 1)
        self.assertIn("at most 3700 days", r.stderr)
        self.assertNotIn("compare", r.stderr)
        r = self.report("--from", "1970-01-01", "--to", "1970-12-31", "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        sections = [x for x in r.stdout.split("\n\n") if x.strip()]
        self.assertNotIn("Previous period", [x.split("\n", 1)[0] for x in sections])
        head = list(csv.DictReader(io.StringIO(sections[0].split("\n", 1)[1])))
        self.assertEqual((head[0]["previous_from"], head[0]["previous_to"]), ("", ""))
        r = self.report("--from", "1970-01-01", "--to", "1970-12-31", "--format", "html")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("compared with", r.stdout)
        self.assertNotIn("before:", r.stdout)
        # A day later there is one.
        r = self.report("--from", "1970-01-02", "--to", "1970-01-02")
        self.assertEqual(json.loads(r.stdout)["comparison"]["from"], "1970-01-01")
        # Errors of the period itself are still errors.
        r = self.report("--from", "1969-12-31")
        self.assertEqual(r.returncode, 1)
        self.assertIn("from", r.stderr)

    def test_consent_rates_are_percent_in_the_csv_as_in_the_html(self):
        # Three choices of four grant analytics: 75 %, as bounce_rate and
        # the dashboard's CSV give rates; the JSON keeps the API's 0.75.
        self.srv.start()
        try:
            for method in ("accept_all", "accept_all", "accept_all", "reject_all"):
                record_consent(self.srv, method, page="https://www.example.com/")
        finally:
            self.srv.stop()
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        r = self.report("--from", today, "--to", today, "--tz", "UTC", "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        section = [x for x in r.stdout.split("\n\n") if x.startswith("Consent")][0]
        row = list(csv.DictReader(io.StringIO(section.split("\n", 1)[1])))[0]
        self.assertEqual(float(row["opt_in_analytics"]), 75.0)
        r = self.report("--from", today, "--to", today, "--tz", "UTC")
        self.assertEqual(json.loads(r.stdout)["consent"]["opt_in_rate"]["analytics"], 0.75)

    def test_every_run_is_audited_and_no_key_no_report(self):
        # As the API's reports are: a run is an entry by "cli:USER" in the
        # chain, a read when the filter reads event properties, and the
        # filter's values (an email in a property) stay out of the log.
        user = "cli:" + pwd.getpwuid(os.geteuid()).pw_name
        route = "command line: seula report"
        before = self.srv.query("SELECT count(*) AS n FROM audit_log")[0]["n"]
        d = self.day.isoformat()
        r = self.report("--from", d, "--to", d, "--filter", "country==FI")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.report("--from", d, "--to", d, "--format", "csv",
                        "--filter", "prop:email==ann@example.com")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = self.srv.query("SELECT staff_name, action, route, subject, outcome, "
                              "detail FROM audit_log WHERE id > ? ORDER BY id",
                              (before,))
        self.assertEqual(
            [(x["staff_name"], x["action"], x["route"], x["subject"], x["outcome"])
             for x in rows],
            [(user, "statistics", route, None, "ok"), (user, "read", route, None, "ok")])
        self.assertEqual(rows[0]["detail"],
                         "report of site demo, %s to %s, filter country==\u2026" % (d, d))
        self.assertEqual(rows[1]["detail"],
                         "report of site demo, %s to %s, filter prop:email==\u2026" % (d, d))
        v = run_seula("audit", "verify", "--config", self.srv.config_path)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # Without the server's key nothing is shown and nothing written.
        key = os.path.join(self.srv.dir, "no-such.key")
        conf = os.path.join(self.srv.dir, "nokey.ini")
        with open(self.srv.config_path) as f, open(conf, "w") as g:
            g.write(f.read().replace("[server]", "[server]\nsecret_file = %s" % key, 1))
        n = len(rows) + before
        r = subprocess.run([BIN, "report", "--config", conf, "--site", "demo"],
                           capture_output=True, text=True, timeout=60, cwd=SOURCE)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn(key, r.stderr)
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM audit_log")[0]["n"], n)
        self.assertFalse(os.path.exists(key))


class CutBucketsTest(unittest.TestCase):
    """The weeks and months a report's period holds only part of, where
    the calendar is uneven: the clocks changing in Helsinki (29 March and
    25 October 2026), a leap February and a week across a new year."""

    # Page views at UTC times, a visitor each: (when, why).
    VIEWS = [
        (datetime.datetime(2026, 3, 25, 22, 30), "00:30 on Thursday 26 March in Helsinki (EET)"),
        (datetime.datetime(2026, 3, 29, 1, 30), "04:30 on 29 March, the clocks just forward"),
        (datetime.datetime(2026, 3, 29, 21, 30), "00:30 on Monday 30 March (EEST)"),
        (datetime.datetime(2026, 10, 18, 21, 30), "00:30 on Monday 19 October (EEST)"),
        (datetime.datetime(2026, 10, 24, 20, 30), "23:30 on Saturday 24 October"),
        (datetime.datetime(2026, 10, 24, 21, 30), "00:30 on 25 October, past the period"),
        (datetime.datetime(2025, 12, 30, 10, 0), "a Tuesday in the last week of 2025"),
        (datetime.datetime(2026, 1, 2, 10, 0), "the Friday of that week, in 2026"),
    ]

    @classmethod
    def setUpClass(cls):
        require_env()
        cls.srv = Server(plugins=("useragent", "anonymize", "analytics"),
                         sites={"demo": "www.example.com"}).create_db()
        log = os.path.join(cls.srv.dir, "access.log")
        with open(log, "w") as f:
            f.write("".join(log_line(t, "/", "84.1.%d.1" % (i + 1)) + "\n"
                            for i, (t, _) in enumerate(cls.VIEWS)))
        r = run_seula("import-log", "--config", cls.srv.config_path, "--site", "demo",
                      log, timeout=120)
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def report(self, first, last, tz="UTC", fmt="json"):
        r = subprocess.run([BIN, "report", "--config", self.srv.config_path, "--site", "demo",
                            "--from", first, "--to", last, "--tz", tz, "--format", fmt],
                           capture_output=True, text=True, timeout=60, cwd=SOURCE)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout) if fmt == "json" else r.stdout

    def views(self, rep):
        return {x["date"]: x["pageviews"] for x in rep["timeseries"] if x["pageviews"]}

    def test_weeks_cut_where_the_clocks_change(self):
        # Thursday 26 March to Saturday 24 October in Helsinki: the first
        # week (the clocks go forward on its Sunday) holds 4 of its days,
        # the last (they go back on its Sunday) 6.
        rep = self.report("2026-03-26", "2026-10-24", "Europe/Helsinki")
        self.assertEqual(rep["interval"], "week")
        rows = rep["timeseries"]
        self.assertEqual((rows[0]["date"], rows[-1]["date"], len(rows)),
                         ("2026-03-23", "2026-10-19", 31))
        self.assertEqual(rep["partial"], [
            {"date": "2026-03-23", "days_in_period": 4, "days": 7},
            {"date": "2026-10-19", "days_in_period": 6, "days": 7}])
        # Each view in its week of Helsinki time; 00:30 on 25 October is
        # past the period.
        self.assertEqual(self.views(rep), {"2026-03-23": 2, "2026-03-30": 1, "2026-10-19": 2})
        html = self.report("2026-03-26", "2026-10-24", "Europe/Helsinki", "html")
        self.assertIn("the week of 2026-03-23 has 4 of its 7 days in the period; the week "
                      "of 2026-10-19 has 6 of its 7 days in the period", html)
        # Whole weeks, both changes inside: a 23- or 25-hour day is a day.
        rep = self.report("2026-03-23", "2026-10-25", "Europe/Helsinki")
        self.assertEqual(rep["partial"], [])
        self.assertEqual(self.views(rep), {"2026-03-23": 2, "2026-03-30": 1, "2026-10-19": 3})
        # In UTC the same views fall on other days: 22:30 on 25 March is
        # before the period, 21:30 on 29 March in the week of the 23rd.
        rep = self.report("2026-03-26", "2026-10-24")
        self.assertEqual(self.views(rep), {"2026-03-23": 2, "2026-10-12": 1, "2026-10-19": 2})

    def test_months_cut_where_the_clocks_change(self):
        rep = self.report("2024-03-15", "2026-10-20", "Europe/Helsinki")
        self.assertEqual(rep["interval"], "month")
        self.assertEqual(rep["partial"], [
            {"date": "2024-03-01", "days_in_period": 17, "days": 31},
            {"date": "2026-10-01", "days_in_period": 20, "days": 31}])
        # 23:30 on 24 October is past the 20th.
        self.assertEqual(self.views(rep), {"2025-12-01": 1, "2026-01-01": 1, "2026-03-01": 3,
                                           "2026-10-01": 1})

    def test_a_leap_february(self):
        # 2028's February has 29 days: to the 28th is a part of it, to
        # the 29th all of it.
        rep = self.report("2026-01-15", "2028-02-28")
        self.assertEqual(rep["interval"], "month")
        self.assertEqual((rep["timeseries"][-1]["date"], len(rep["timeseries"])),
                         ("2028-02-01", 26))
        self.assertEqual(rep["partial"], [
            {"date": "2026-01-01", "days_in_period": 17, "days": 31},
            {"date": "2028-02-01", "days_in_period": 28, "days": 29}])
        rep = self.report("2026-01-15", "2028-02-29")
        self.assertEqual(rep["partial"], [
            {"date": "2026-01-01", "days_in_period": 17, "days": 31}])
        # And 2024's, in the past, by the week: Monday 26 February to
        # Sunday 3 March is whole, from Thursday 29 February 4 days.
        rep = self.report("2024-02-29", "2024-06-02")
        self.assertEqual(rep["partial"], [
            {"date": "2024-02-26", "days_in_period": 4, "days": 7}])

    def test_a_week_across_the_new_year(self):
        # Monday 29 December 2025 to Sunday 4 January 2026: cut at the
        # year's end, three days in 2025; from New Year's Day, four.
        rep = self.report("2025-09-03", "2025-12-31")
        self.assertEqual(rep["interval"], "week")
        self.assertEqual(rep["partial"], [
            {"date": "2025-09-01", "days_in_period": 5, "days": 7},
            {"date": "2025-12-29", "days_in_period": 3, "days": 7}])
        self.assertEqual(self.views(rep), {"2025-12-29": 1})
        rep = self.report("2026-01-01", "2026-04-30")
        self.assertEqual(rep["timeseries"][0]["date"], "2025-12-29")
        self.assertEqual(rep["partial"], [
            {"date": "2025-12-29", "days_in_period": 4, "days": 7},
            {"date": "2026-04-27", "days_in_period": 4, "days": 7}])
        # (In UTC, 21:30 on 29 March is that Sunday's.)
        self.assertEqual(self.views(rep), {"2025-12-29": 1, "2026-03-23": 3})
        # The year's months: January whole, December 2025 cut.
        rep = self.report("2023-12-31", "2026-01-31")
        self.assertEqual(rep["partial"], [
            {"date": "2023-12-01", "days_in_period": 1, "days": 31}])


if __name__ == "__main__":
    unittest.main()
