"""seula import-log: an access log into a real database through the real
plugins, counted against what the file holds, computed here on its own."""
import datetime
import gzip
import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
import unittest

from seulatest import BIN, ENRICH, SOURCE, Server, require_env, run_seula

BROWSERS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 "
    "Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
]
ASSETS = ["/static/site.css", "/static/app.js", "/img/logo.png",
          "/fonts/inter.woff2", "/favicon.ico", "/robots.txt"]
PAGES = ["/", "/blog/", "/blog/hello-world", "/pricing", "/about?ref=x",
         "/landing?utm_source=newsletter&utm_medium=email&token=secret"]
ZONES = ["+0000", "+0200", "-0700", "+0530", "-1000", "+1400"]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def stamp(utc, zone):
    """The log's [dd/Mon/yyyy:HH:MM:SS +hhmm] for a UTC time, in `zone`."""
    sign = 1 if zone[0] == "+" else -1
    off = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
    local = utc + off
    return "[%02d/%s/%04d:%02d:%02d:%02d %s]" % (
        local.day, MONTHS[local.month - 1], local.year, local.hour,
        local.minute, local.second, zone)


def read_pty(master):
    """What is written to a pty until its other side closes, read from
    its master side, which is then closed."""
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the writer has closed it
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return shown


def is_pageview(method, path, status):
    if method != "GET":
        return False
    if not (200 <= status <= 299 and status not in (204, 206) or status == 304):
        return False
    return path not in ASSETS


class ImportLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_env()

    def setUp(self):
        self.srv = Server(plugins=ENRICH,
                          sites={"demo": "www.example.com, *.example.com"},
                          sections={"site.demo": {"keep_query": "ref"}}).create_db()
        self.log = os.path.join(self.srv.dir, "access.log")

    def tearDown(self):
        self.srv.close()

    def generate(self, n=3000, bad_at=(), seed=6):
        """Lines of a combined log, and what each is: ("page", ts_ms, ip,
        bot) / ("skip", reason) / ("bad",)."""
        rng = random.Random(seed)
        start = (datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
                 - datetime.timedelta(days=5))
        lines, truth = [], []
        t = start
        for i in range(1, n + 1):
            if i in bad_at:
                lines.append('this is not a log line "GET / HTTP/1.1" 200')
                truth.append(("bad",))
                continue
            t += datetime.timedelta(seconds=rng.randint(0, 90))
            if rng.random() < 0.3:
                ip = "2001:db8:%x:%x::%x" % (rng.randint(1, 0xffff),
                                             rng.randint(1, 0xffff),
                                             rng.randint(1, 0xffff))
            else:
                ip = "%d.%d.%d.%d" % (rng.choice([81, 93, 185, 203]),
                                      rng.randint(1, 254), rng.randint(1, 254),
                                      rng.randint(1, 254))
            bot = rng.random() < 0.1
            ua = rng.choice(BOTS if bot else BROWSERS)
            method = rng.choices(["GET", "POST", "HEAD"], [90, 5, 5])[0]
            path = rng.choice(PAGES + ASSETS)
            status = rng.choices([200, 304, 301, 404, 500, 206], [80, 8, 4, 4, 2, 2])[0]
            ref = rng.choice(["-", "https://www.google.com/search?q=x",
                              "https://news.example.org/a?b=c"])
            zone = rng.choice(ZONES)
            lines.append('%s - - %s "%s %s HTTP/1.1" %d %d "%s" "%s"' % (
                ip, stamp(t, zone), method, path, status, rng.randint(0, 9999),
                ref, ua))
            if is_pageview(method, path, status):
                truth.append(("page", int(t.timestamp()) * 1000, ip, bot, path))
            else:
                truth.append(("skip",))
        return lines, truth

    def write(self, lines):
        with open(self.log, "w") as f:
            f.write("\n".join(lines) + "\n")

    def run_import(self, *extra, path=None):
        return run_seula("import-log", "--config", self.srv.config_path,
                         "--site", "demo", *extra, path or self.log, timeout=120)

    def summary(self, r):
        m = re.search(r"(\d+) lines read, (\d+) page views imported \((\d+) bots\), "
                      r"(\d+) skipped(?: \(([^)]*)\))?, (\d+) bad lines", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        return {"lines": int(m.group(1)), "pageviews": int(m.group(2)),
                "bots": int(m.group(3)), "skipped": int(m.group(4)),
                "bad": int(m.group(6))}

    def test_import_counts_times_bots_privacy(self):
        lines, truth = self.generate(bad_at=(1234,))
        self.write(lines)
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        pages = [t for t in truth if t[0] == "page"]
        s = self.summary(r)
        self.assertEqual(s["lines"], len(lines))
        self.assertEqual(s["pageviews"], len(pages))
        self.assertEqual(s["bad"], 1)
        self.assertEqual(s["skipped"], len(lines) - len(pages) - 1)
        self.assertEqual(s["bots"], sum(1 for t in pages if t[3]))
        # The broken line is named by its number and why.
        self.assertIn("access.log:1234: bad line", r.stderr)

        self.assertEqual(self.srv.count(), len(pages))
        rows = self.srv.query("SELECT ts, bot, url, path, utm_source, utm_medium, "
                              "ip_anon, visitor_hash, browser, referrer FROM events "
                              "ORDER BY id")
        # Times: each row its line's own, the zone taken off.
        self.assertEqual([r["ts"] for r in rows], [t[1] for t in pages])
        self.assertEqual([bool(r["bot"]) for r in rows], [t[3] for t in pages])
        for row, t in zip(rows, pages):
            self.assertTrue(row["url"].startswith("https://www.example.com/"), row)
            self.assertIsNotNone(row["visitor_hash"], row)
            self.assertIsNotNone(row["ip_anon"], row)
            self.assertNotIn("?", row["referrer"] or "")
            if t[4].startswith("/landing"):
                # As the collect path: utm_* apart, other parameters cut.
                self.assertEqual(row["url"], "https://www.example.com/landing")
                self.assertEqual(row["utm_source"], "newsletter")
                self.assertEqual(row["utm_medium"], "email")
            if t[4].startswith("/about"):
                self.assertEqual(row["url"], "https://www.example.com/about?ref=x")
        # No full address anywhere in the database files.
        blob = b"".join(self.srv.db_files().values())
        for t in pages:
            self.assertNotIn(t[2].encode(), blob, t[2])
        # The log's past salts were deleted at the end.
        salts = self.srv.query("SELECT day FROM anonymize_salts")
        today = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) // 86400
        self.assertTrue(all(r["day"] >= today for r in salts), salts)

    def test_reimport_is_refused_and_growth_imported(self):
        lines, truth = self.generate(n=400)
        self.write(lines[:300])
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        first = sum(1 for t in truth[:300] if t[0] == "page")
        self.assertEqual(self.srv.count(), first)
        # The same file again: nothing new, and said so.
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing new to import", r.stderr)
        self.assertEqual(self.summary(r)["pageviews"], 0)
        self.assertEqual(self.srv.count(), first)
        # The log grew: only its new lines, also through standard input.
        self.write(lines)
        with open(self.log) as f:
            r = run_seula("import-log", "--config", self.srv.config_path,
                          "--site", "demo", "-", input=f.read(), timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        total = sum(1 for t in truth if t[0] == "page")
        self.assertEqual(self.srv.count(), total)
        self.assertEqual(self.summary(r)["pageviews"], total - first)
        # Same first line, other content: refused, nothing stored.
        changed = list(lines)
        changed[5] = changed[5].replace("HTTP/1.1", "HTTP/1.0")
        self.write(changed)
        r = self.run_import()
        self.assertEqual(r.returncode, 1)
        self.assertIn("--force", r.stderr)
        self.assertEqual(self.srv.count(), total)
        # --force imports it all again.
        r = self.run_import("--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.srv.count(), 2 * total)

    def test_a_line_being_written_is_left_for_later(self):
        # A log read while the server writes it ends inside a line: that
        # line is not read (nor a bad line), the record ends at the last
        # newline, and the log grown since imports it whole.
        lines, truth = self.generate(n=60)
        pages = lambda a, b: sum(1 for t in truth[a:b] if t[0] == "page")
        with open(self.log, "w") as f:
            f.write("\n".join(lines[:30]) + "\n" + lines[30][:40])
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        s = self.summary(r)
        self.assertEqual((s["lines"], s["bad"], s["pageviews"]), (30, 0, pages(0, 30)))
        self.assertIn("still being written", r.stderr)
        end = len(("\n".join(lines[:30]) + "\n").encode())
        self.assertEqual(self.srv.query("SELECT bytes FROM log_imports"), [{"bytes": end}])
        # Nothing whole since: nothing new yet, said so (not "another
        # --format?").
        with open(self.log, "a") as f:
            f.write(lines[30][40:50])
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing new to import yet", r.stderr)
        self.assertNotIn("--format", r.stderr)
        self.assertEqual(self.srv.count(), pages(0, 30))
        # The line completed and more appended, the last cut again.
        with open(self.log, "w") as f:
            f.write("\n".join(lines[:45]) + "\n" + lines[45][:10])
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["pageviews"], pages(30, 45))
        self.assertEqual(self.summary(r)["bad"], 0)
        self.write(lines)
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("still being written", r.stderr)
        self.assertEqual(self.srv.count(), pages(0, 60))
        # A log of half a line: nothing to import yet, nothing recorded.
        records = self.srv.query("SELECT count(*) AS n FROM log_imports")
        other = os.path.join(self.srv.dir, "other.log")
        with open(other, "w") as f:
            f.write(lines[0][:20])
        r = self.run_import(path=other)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing to import yet", r.stderr)
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM log_imports"), records)
        # A pipe ends where its writer stopped: its last line is whole,
        # newline or not (zcat of a rotated log that lacks the last one).
        piped = ["203.0.113.9" + line[line.index(" "):] for line in lines[:5]]
        r = run_seula("import-log", "--config", self.srv.config_path, "--site", "demo",
                      "-", input="\n".join(piped), timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((self.summary(r)["lines"], self.summary(r)["bad"]), (5, 0))
        self.assertEqual(self.summary(r)["pageviews"], pages(0, 5))
        self.assertNotIn("still being written", r.stderr)

    def test_a_record_ending_inside_a_line_resumes(self):
        # An earlier version read a half-written last line and recorded
        # the import into it: the grown log resumes there, the line
        # taken unless that import read its start as a log line.
        def record(path, data, first):
            h = lambda b: hashlib.blake2b(b, digest_size=32).digest()
            db = sqlite3.connect(self.srv.db_path)
            db.execute("INSERT INTO log_imports (site, first_line, bytes, hash, name, lines, "
                       "pageviews, imported_at) VALUES ('demo', ?, ?, ?, ?, 1, 0, 1)",
                       (h(first.encode()), len(data), h(data), path))
            db.commit()
            db.close()

        # The record's hash is the one the importer keeps.
        lines, truth = self.generate(n=40, seed=9)
        self.write(lines[:3])
        self.assertEqual(self.run_import().returncode, 0)
        data = ("\n".join(lines[:3]) + "\n").encode()
        self.assertEqual(self.srv.query("SELECT hash FROM log_imports")[0]["hash"],
                         hashlib.blake2b(data, digest_size=32).digest())
        db = sqlite3.connect(self.srv.db_path)
        db.execute("DELETE FROM log_imports")
        db.commit()
        db.close()
        k = next(i for i in range(10, 40) if truth[i][0] == "page")
        pages = lambda a, b: sum(1 for t in truth[a:b] if t[0] == "page")
        # Cut inside the user agent: a bad line then, taken now.
        head = "\n".join(lines[:k]) + "\n" + lines[k][:-8]
        record(self.log, head.encode(), lines[0])
        with open(self.log, "w") as f:
            f.write(head)
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing new to import yet", r.stderr)
        self.write(lines)
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["pageviews"], pages(k, 40))
        # Cut before nginx's last field: a log line then, not taken again.
        other = os.path.join(self.srv.dir, "other.log")
        lines2 = [x + ' "-"' for x in lines]
        head = "\n".join(lines2[:k]) + "\n" + lines[k]
        record(other, head.encode(), lines2[0])
        with open(other, "w") as f:
            f.write("\n".join(lines2) + "\n")
        r = self.run_import(path=other)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["pageviews"], pages(k + 1, 40))

    def test_logs_beginning_with_blank_lines_are_told_apart(self):
        # A file is known by its first line that is not blank: two logs
        # that begin with an empty (or white-space) line are two logs.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        t = now - datetime.timedelta(days=1)
        paths = []
        for i, head in enumerate(("\n", "\n", " \t\r\n\n")):
            paths.append(os.path.join(self.srv.dir, "blank%d.log" % i))
            with open(paths[-1], "w") as f:
                f.write(head + '81.2.3.%d - - %s "GET /b%d HTTP/1.1" 200 5 "-" "%s"\n'
                        % (i + 1, stamp(t, "+0000"), i, BROWSERS[0]))
        for i, p in enumerate(paths):
            r = self.run_import(path=p)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.summary(r)["pageviews"], 1, p)
        self.assertEqual(self.srv.count(), 3)
        # Each is still known as itself.
        r = self.run_import(path=paths[0])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing new to import", r.stderr)
        # Blank lines alone are no log to record.
        empty = os.path.join(self.srv.dir, "empty.log")
        with open(empty, "w") as f:
            f.write("\n\n  \n")
        r = self.run_import(path=empty)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM log_imports")[0]["n"], 3)

    def test_paths_stored_as_the_tracker_sends_them(self):
        # nginx logs a path's raw bytes as \xHH, Apache and others as they
        # are; a browser sends them percent-encoded.  Stored as the
        # browser sends them, the page is one row whichever way it came.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        ts = stamp(now - datetime.timedelta(hours=5), "+0000")
        with open(self.log, "wb") as f:
            for i, path in enumerate((b"/odd/caf\\xC3\\xA9", "/odd/café".encode(),
                                      b"/odd/caf%C3%A9", b'/q/\\x22x\\x22?ref=\xc3\xa4')):
                f.write(b'81.2.3.%d - - %s "GET %s HTTP/1.1" 200 5 "-" "%s"\n'
                        % (i + 1, ts.encode(), path, BROWSERS[0].encode()))
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["pageviews"], 4)
        # Nothing skipped is said as such, not "0 skipped ()".
        self.assertRegex(r.stdout, r": 4 lines read, 4 page views imported \(0 bots\), "
                         r"0 skipped, 0 bad lines, ")
        self.srv.start()
        r = self.srv.collect({"site": "demo", "type": "pageview",
                              "url": "https://www.example.com/odd/caf%C3%A9"},
                             headers={"User-Agent": BROWSERS[1]})
        self.assertEqual(r.status, 204)
        self.srv.stop()
        rows = self.srv.query("SELECT path, url FROM events ORDER BY id")
        self.assertEqual([x["path"] for x in rows], ["/odd/caf%C3%A9"] * 3 + ["/q/%22x%22"] +
                         ["/odd/caf%C3%A9"])
        self.assertEqual(rows[0]["url"], "https://www.example.com/odd/caf%C3%A9")
        self.assertEqual(rows[3]["url"], "https://www.example.com/q/%22x%22?ref=%C3%A4")

    def test_errors_and_formats(self):
        r = self.run_import(path=os.path.join(self.srv.dir, "missing.log"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing.log", r.stderr)
        self.write(["x"])
        r = run_seula("import-log", "--config", self.srv.config_path,
                      "--site", "nosuch", self.log)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no site 'nosuch'", r.stderr)
        r = self.run_import("--format", "json")
        self.assertEqual(r.returncode, 2)
        # Without a protect-stage plugin, addresses are not imported.
        bare = Server(plugins=("useragent",))
        try:
            r = run_seula("import-log", "--config", bare.config_path,
                          "--site", "demo", self.log)
            self.assertEqual(r.returncode, 1)
            self.assertIn("protect-stage", r.stderr)
        finally:
            bare.close()
        # vhost_combined: the line's own host, other hosts skipped.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        ts = stamp(now - datetime.timedelta(hours=3), "+0200")
        self.write([
            'Blog.Example.com:443 198.51.100.4 - - %s "GET /x HTTP/1.1" 200 5 "-" "%s"'
            % (ts, BROWSERS[0]),
            'other.test:80 198.51.100.4 - - %s "GET /y HTTP/1.1" 200 5 "-" "%s"'
            % (ts, BROWSERS[0]),
            # A log line a year before the retention: not kept.
            'www.example.com:443 198.51.100.4 - - [01/Jan/2001:00:00:00 +0000] '
            '"GET /old HTTP/1.1" 200 5 "-" "-"',
        ])
        r = self.run_import("--format", "vhost_combined", "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("other host 1", r.stdout)
        self.assertIn("too old 1", r.stdout)
        rows = self.srv.query("SELECT url FROM events")
        self.assertEqual(rows, [{"url": "https://blog.example.com/x"}])

    def test_interrupted_import_is_recorded_so_far(self):
        # SIGINT part-way (a pipe, so the importer is waiting for more
        # when it comes): what was read is committed and recorded, the
        # past salts go, and the same log again imports only the rest.
        lines, truth = self.generate(n=2000)
        self.write(lines)
        half = 1200
        p = subprocess.Popen([BIN, "import-log", "--config", self.srv.config_path,
                              "--site", "demo", "-"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p.stdin.write("\n".join(lines[:half]) + "\n")
        p.stdin.flush()
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)  # its input still open: the signal ends it
        err = p.stderr.read()
        for f in (p.stdin, p.stdout, p.stderr):
            f.close()
        # It ends by the signal (a shell shows 130), once all is in.
        self.assertEqual(p.returncode, -signal.SIGINT, err)
        self.assertIn("Interrupt", err)
        self.assertIn("to line %d" % half, err)
        first = sum(1 for t in truth[:half] if t[0] == "page")
        self.assertEqual(self.srv.count(), first)
        salts = self.srv.query("SELECT day FROM anonymize_salts")
        today = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) // 86400
        self.assertTrue(all(r["day"] >= today for r in salts), salts)
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["pageviews"],
                         sum(1 for t in truth[half:] if t[0] == "page"))
        self.assertEqual(self.srv.count(), sum(1 for t in truth if t[0] == "page"))

    def importer(self, *extra, ignore_int=False):
        """seula import-log reading a pipe, its output kept."""
        return subprocess.Popen(
            [BIN, "import-log", "--config", self.srv.config_path, "--site", "demo", *extra, "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_int else None)

    def finish(self, p, sig=None):
        if sig:
            p.send_signal(sig)
        p.wait(timeout=60)
        err = p.stderr.read()
        for f in (p.stdin, p.stdout, p.stderr):
            try:
                f.close()
            except BrokenPipeError:  # what it had not read yet
                pass
        return err

    def test_stopped_inside_a_long_line_or_ignoring_sigint(self):
        # A signal while a line too long to keep is being read records the
        # import to where that line began: the whole log later imports
        # the rest, not refused as another log.
        lines, truth = self.generate(n=300)
        p = self.importer()
        p.stdin.write("\n".join(lines[:100]) + "\n" + "x" * 20000)
        p.stdin.flush()
        time.sleep(1.5)
        err = self.finish(p, signal.SIGINT)
        self.assertEqual(p.returncode, -signal.SIGINT, err)
        first = sum(1 for t in truth[:100] if t[0] == "page")
        self.assertEqual(self.srv.count(), first)
        self.write(lines[:100] + ["x" * 20000] + lines[100:])
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["bad"], 1)
        self.assertEqual(self.srv.count(), sum(1 for t in truth if t[0] == "page"))
        # SIGINT ignored by whoever started it (a shell's background
        # job) stays ignored; SIGTERM still stops it.
        p = self.importer("--force", ignore_int=True)
        p.stdin.write(lines[0] + "\n")
        p.stdin.flush()
        time.sleep(1)
        p.send_signal(signal.SIGINT)
        time.sleep(0.5)
        self.assertIsNone(p.poll(), "SIGINT, ignored, stopped it")
        err = self.finish(p, signal.SIGTERM)
        self.assertEqual(p.returncode, -signal.SIGTERM, err)

    def test_a_batch_that_fails_stops_the_record_there(self):
        # A batch commits; then the database is locked past the busy
        # timeout while the next waits: that one fails, the import stops
        # and says so, and no later batch moves the record past it, so the
        # same log again imports exactly the rest.  (Before, later
        # batches' records covered the failed one's lines: lost for good.)
        # One day of lines: no salt task of the writer's is waited for.
        t0 = datetime.datetime.now(datetime.timezone.utc).replace(
            hour=1, minute=0, second=0, microsecond=0) - datetime.timedelta(days=1)
        lines = ['81.%d.%d.%d - - %s "GET /p%d HTTP/1.1" 200 5 "-" "%s"'
                 % (i // 60000, i // 250 % 240 + 1, i % 250 + 1,
                    stamp(t0 + datetime.timedelta(seconds=i), "+0000"), i % 7, BROWSERS[i % 3])
                 for i in range(1600)]
        self.write(lines)
        p = self.importer()
        p.stdin.write("\n".join(lines[:600]) + "\n")
        p.stdin.flush()
        deadline = time.time() + 30
        while self.srv.count() < 512 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.srv.count(), 512)  # the first batch
        lock = sqlite3.connect(self.srv.db_path, timeout=10, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            p.stdin.write("\n".join(lines[600:]) + "\n")
            p.stdin.flush()
            time.sleep(6.5)  # the writer's busy timeout is 5 s
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        err = self.finish(p)
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("did not commit", err)
        self.assertEqual(self.srv.count(), 512)
        marks = self.srv.query("SELECT lines, pageviews FROM log_imports")
        self.assertEqual(marks, [{"lines": 512, "pageviews": 512}])
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["pageviews"], 1600 - 512)
        self.assertEqual(self.srv.count(), 1600)

    def test_killed_import_resumes_without_counting_twice(self):
        # kill -9 once a batch has committed: the batch's record came with
        # it, so the same log again imports exactly what was not stored.
        lines, truth = self.generate(n=2000)
        self.write(lines)
        p = subprocess.Popen([BIN, "import-log", "--config", self.srv.config_path,
                              "--site", "demo", "-"], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        p.stdin.write("\n".join(lines[:1500]) + "\n")
        p.stdin.flush()
        deadline = time.time() + 30
        while self.srv.count() == 0 and time.time() < deadline:
            time.sleep(0.05)
        p.kill()
        p.wait(timeout=30)
        p.stdin.close()
        stored = self.srv.count()
        pages = sum(1 for t in truth if t[0] == "page")
        self.assertGreater(stored, 0)
        self.assertLess(stored, pages)
        marks = self.srv.query("SELECT lines, pageviews FROM log_imports")
        self.assertEqual(len(marks), 1)
        self.assertEqual(marks[0]["pageviews"], stored)
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["pageviews"], pages - stored)
        self.assertEqual(self.srv.count(), pages)

    def test_import_stops_where_the_tracker_began(self):
        # The tracker's first page view of the site starts collect_since;
        # an imported one does not.  A log that runs on past it imports
        # only what came before (the rest the tracker has counted), unless
        # --overlap.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        old = now - datetime.timedelta(days=3)
        with open(self.log, "w") as f:
            f.write('81.2.3.5 - - %s "GET /before HTTP/1.1" 200 5 "-" "%s"\n'
                    % (stamp(old, "+0000"), BROWSERS[0]))
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM collect_since")[0]["n"], 0)
        self.srv.start()
        h = {"User-Agent": BROWSERS[1], "X-Forwarded-For": "81.2.3.6"}
        r = self.srv.collect({"site": "demo", "type": "pageview",
                              "url": "https://www.example.com/tracked"}, headers=h)
        self.assertEqual(r.status, 204)
        since = self.srv.query("SELECT since FROM collect_since WHERE site = 'demo'")[0]["since"]
        self.assertLessEqual(abs(since / 1000 - time.time()), 60)
        self.srv.stop()
        lines = ['81.2.3.5 - - %s "GET /p%d HTTP/1.1" 200 5 "-" "%s"'
                 % (stamp(now - datetime.timedelta(hours=h), "+0000"), h, BROWSERS[0])
                 for h in (5, 4, 3)]
        lines += ['81.2.3.5 - - %s "GET /after HTTP/1.1" 200 5 "-" "%s"'
                  % (stamp(now + datetime.timedelta(minutes=5), "+0000"), BROWSERS[0])]
        other = os.path.join(self.srv.dir, "other.log")
        with open(other, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = self.run_import(path=other)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["pageviews"], 3)
        self.assertIn("tracked 1", r.stdout)
        self.assertIn("the tracker has counted site demo since then", r.stderr)
        # and says that the file, recorded now, is not read again.
        self.assertIn("only --overlap --force reads it again", r.stderr)
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM events WHERE path = '/after'")[0]["n"], 0)
        # Its record is to the end: the same file again imports nothing,
        # while --overlap (a fresh file) takes the rest too.
        with open(other, "a") as f:
            f.write(lines[-1].replace("/after", "/after2") + "\n")
        r = self.run_import("--overlap", path=other)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM events WHERE path = '/after2'")[0]["n"], 1)
        self.assertEqual(self.srv.query("SELECT since FROM collect_since")[0]["since"], since)

    def test_demo_history(self):
        # contrib/demo-history.mjs, as contrib/setup.sh demo imports it
        # with the example config: two months that end yesterday, of page
        # views from several countries and sources, bots apart.
        gen = subprocess.run(["node", os.path.join(SOURCE, "contrib", "demo-history.mjs")],
                             capture_output=True, text=True, timeout=60, check=True)
        again = subprocess.run(["node", os.path.join(SOURCE, "contrib", "demo-history.mjs")],
                               capture_output=True, text=True, timeout=60, check=True)
        self.assertEqual(gen.stdout, again.stdout, "the same log on the same day")
        db = os.path.join(self.srv.dir, "demo.db")
        example = os.path.join(SOURCE, "contrib", "seula.ini.example")
        # A --db that does not exist is refused, even with --quiet, and
        # not made (a mistyped path would take the history where no server
        # reads): the demo makes it with `seula migrate` first.
        r = run_seula("import-log", "--config", example, "--db", db, "--site", "demo",
                      "--quiet", "-", input=gen.stdout, timeout=120, cwd=SOURCE)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no database at %s" % db, r.stderr)
        self.assertFalse(os.path.exists(db))
        r = run_seula("migrate", "--config", example, "--db", db, timeout=60, cwd=SOURCE)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_seula("import-log", "--config", example, "--db", db, "--site", "demo",
                      "--quiet", "-", input=gen.stdout, timeout=120, cwd=SOURCE)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = self.summary(r)
        self.assertEqual(s["bad"], 0)
        self.assertGreater(s["pageviews"], 3000)
        self.assertGreater(s["bots"], 0)
        con = sqlite3.connect(db)
        days = [d for (d,) in con.execute("SELECT DISTINCT date(ts / 1000, 'unixepoch') FROM events ORDER BY 1")]
        countries = {c for (c,) in con.execute("SELECT DISTINCT country FROM events")}
        sources = {c for (c,) in con.execute("SELECT DISTINCT referrer_name FROM events")}
        con.close()
        today = datetime.datetime.now(datetime.timezone.utc).date()
        self.assertEqual(days[-1], (today - datetime.timedelta(days=1)).isoformat())
        self.assertEqual(len(days), 60)
        self.assertEqual({"FI", "SE", "DE", "GB", "US", "EE"}, countries)
        self.assertTrue({"Google", "LinkedIn"} <= sources, sources)
        # Into it again (a log not seen before): no such word.
        r = run_seula("import-log", "--config", os.path.join(SOURCE, "contrib", "seula.ini.example"),
                      "--db", db, "--site", "demo", "--quiet", "-",
                      input='192.0.2.1 - - [01/Jan/2020:00:00:00 +0000] "GET /x HTTP/1.1" 200 1 "-" "curl/8"\n',
                      timeout=60, cwd=SOURCE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("no database", r.stderr)

    def test_two_servers_logs_of_the_same_days_hash_a_visitor_once_a_day(self):
        # Two web servers' logs of the same three days, in one run: the
        # second comes back to days the first has passed.  Each day's
        # salt lasts the run, so a visitor is one visitor a day in both.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        start = (now - datetime.timedelta(days=5)).replace(hour=10, minute=0, second=0)
        logs = []
        for n, path in enumerate(("/a", "/b")):
            name = os.path.join(self.srv.dir, "web%d.log" % (n + 1))
            with open(name, "w") as f:
                for d in range(3):
                    t = start + datetime.timedelta(days=d, minutes=5 * n)
                    f.write('81.2.69.142 - - %s "GET %s HTTP/1.1" 200 1 "-" "%s"\n'
                            % (stamp(t, "+0000"), path, BROWSERS[0]))
            logs.append(name)
        r = run_seula("import-log", "--config", self.srv.config_path, "--site", "demo",
                      *logs, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = self.srv.query("SELECT ts / 86400000 AS day, path, visitor_hash FROM events "
                              "ORDER BY ts")
        self.assertEqual(len(rows), 6)
        by_day = {}
        for row in rows:
            self.assertIsNotNone(row["visitor_hash"])
            by_day.setdefault(row["day"], set()).add(row["visitor_hash"])
        self.assertEqual([len(h) for h in by_day.values()], [1, 1, 1], by_day)
        # The days' salts still went at the end.
        today = int(time.time()) // 86400
        salts = self.srv.query("SELECT day FROM anonymize_salts")
        self.assertTrue(all(r["day"] >= today for r in salts), salts)

    def test_a_line_dated_tomorrow_keeps_the_days_salts(self):
        # A line a little ahead of the clock (dated tomorrow, within the
        # slack) between two of one visitor's lines of yesterday: the
        # log's clock went to today's midnight, and yesterday's salt must
        # last the run as every past day's does.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        tomorrow = (now + datetime.timedelta(days=1)).replace(hour=0, minute=1, second=0)
        if tomorrow - now >= datetime.timedelta(days=1):
            self.skipTest("in the day's first minute a line of tomorrow is past the slack")
        yesterday = (now - datetime.timedelta(days=1)).replace(hour=10, minute=0, second=0)
        line = '%s - - %s "GET %s HTTP/1.1" 200 1 "-" "%s"'
        self.write([line % ("81.2.69.142", stamp(yesterday, "+0000"), "/first", BROWSERS[0]),
                    line % ("81.2.69.160", stamp(tomorrow, "+0000"), "/tomorrow", BROWSERS[0]),
                    line % ("81.2.69.142", stamp(yesterday + datetime.timedelta(minutes=5),
                                                 "+0000"), "/second", BROWSERS[0])])
        r = self.run_import()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["pageviews"], 3, r.stdout)
        rows = {row["path"]: row["visitor_hash"] for row in self.srv.query(
            "SELECT path, visitor_hash FROM events")}
        self.assertIsNotNone(rows["/first"])
        self.assertEqual(rows["/first"], rows["/second"], "one visitor, one hash")
        # The past days' salts still went at the end.
        today = int(time.time()) // 86400
        salts = self.srv.query("SELECT day FROM anonymize_salts")
        self.assertTrue(all(s["day"] >= today for s in salts), salts)

    def test_a_shuffled_log_does_not_wipe_the_terminal_at_every_line(self):
        # On a terminal the line of progress is wiped before the protect
        # plugins' tasks run for a new day (what they log goes above it):
        # once, not at each of a shuffled log's thousands of day changes.
        import pty
        rng = random.Random(3)
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        line = '81.2.69.%d - - %s "GET /p%d HTTP/1.1" 200 1 "-" "%s"'
        self.write([line % (rng.randint(1, 254),
                            stamp(now - datetime.timedelta(days=rng.randint(1, 20),
                                                           seconds=rng.randint(0, 80000)),
                                  "+0000"), i % 30, BROWSERS[0]) for i in range(2000)])
        master, slave = pty.openpty()
        p = subprocess.Popen([BIN, "import-log", "--config", self.srv.config_path,
                              "--site", "demo", self.log], stdout=subprocess.PIPE,
                             stderr=slave)
        os.close(slave)
        shown = read_pty(master)
        out = p.communicate(timeout=120)[0].decode()
        self.assertEqual(p.returncode, 0, shown)
        self.assertIn("2000 page views imported", out)
        self.assertLessEqual(shown.count(b"\r\x1b[K"), shown.count(b" lines/s") + 1, shown[:300])

    def test_a_long_log_shows_its_progress_on_a_terminal(self):
        # Progress is drawn every 16,384 lines once a quarter second has
        # gone by.  Standard input, held half a second after the first
        # 16,384 lines, makes one due at line 32,768 however fast the
        # import runs; the line is wiped before the summary goes out.
        import pty
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        line = '81.2.69.%d - - %s "GET %s HTTP/1.1" 200 1 "-" "%s"'
        lines = [line % (1 + i % 200,
                         stamp(now - datetime.timedelta(hours=2) +
                               datetime.timedelta(seconds=i // 100), "+0000"),
                         "/p%d" % (i % 30) if i % 64 == 0 else ASSETS[i % len(ASSETS)],
                         BROWSERS[i % 3]) for i in range(32768)]
        master, slave = pty.openpty()
        p = subprocess.Popen([BIN, "import-log", "--config", self.srv.config_path,
                              "--site", "demo", "-"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        p.stdin.write(("\n".join(lines[:16384]) + "\n").encode())
        p.stdin.flush()
        time.sleep(0.5)
        p.stdin.write(("\n".join(lines[16384:]) + "\n").encode())
        p.stdin.close()
        shown = read_pty(master)
        with p.stdout:
            out = p.stdout.read().decode()
        self.assertEqual(p.wait(timeout=120), 0, shown)
        drawn = re.findall(rb"\r\x1b\[Kstdin: (\d+) lines, (\d+) page views, (\d+) lines/s",
                           shown)
        self.assertIn(b"32768", [d[0] for d in drawn], shown[-500:])
        for read, pageviews, rate in drawn:
            self.assertEqual(int(read) % 16384, 0)
            self.assertLessEqual(int(pageviews), int(read) // 64)
            self.assertGreater(int(rate), 0)
        # Wiped at the end: nothing of it stays above the summary.
        self.assertGreater(shown.rindex(b"\r\x1b[K"), shown.rindex(b" lines/s"), shown[-300:])
        self.assertIn("32768 lines read, 512 page views imported", out)

    def test_rotated_logs_in_one_run_and_formats(self):
        # Two rotated files in one run, oldest first: a visitor whose
        # visit goes on from one into the next keeps one visitor hash (the
        # day's salt lasts the run), and each file is recorded.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        # At noon: six minutes on from 23:58 is another day, whose salt
        # makes another hash.
        t = (now - datetime.timedelta(days=2)).replace(hour=12, minute=0, second=0)
        older, newer = (os.path.join(self.srv.dir, n) for n in ("access.log.1", "access.log"))
        with open(older, "w") as f:
            f.write('81.2.3.4 - - %s "GET / HTTP/1.1" 200 5 "https://www.google.com/" "%s"\n'
                    % (stamp(t, "+0000"), BROWSERS[0]))
        with open(newer, "w") as f:
            f.write('81.2.3.4 - - %s "GET /pricing HTTP/1.1" 200 5 "-" "%s"\n'
                    % (stamp(t + datetime.timedelta(minutes=6), "+0000"), BROWSERS[0]))
        r = run_seula("import-log", "--config", self.srv.config_path, "--site", "demo",
                      older, newer, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("page views imported"), 2, r.stdout)
        hashes = [x["visitor_hash"] for x in self.srv.query(
            "SELECT visitor_hash FROM events ORDER BY ts")]
        self.assertEqual(len(hashes), 2)
        self.assertIsNotNone(hashes[0])
        self.assertEqual(hashes[0], hashes[1])
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM log_imports")[0]["n"], 2)
        # The common format has no user agent: its page views are no
        # bots, with no browser guessed.  Read as combined, no line is a
        # log line: refused and not recorded, so the right format goes.
        common = os.path.join(self.srv.dir, "common.log")
        with open(common, "w") as f:
            for i in range(3):
                f.write('93.1.2.%d - - %s "GET /c%d HTTP/1.1" 200 5\n'
                        % (i + 1, stamp(t, "+0200"), i))
            f.write("\n")  # a blank line does not make the file pass
        r = self.run_import(path=common)
        self.assertEqual(r.returncode, 1)
        self.assertIn("another --format", r.stderr)
        r = self.run_import("--format", "common", path=common)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.summary(r)["bots"], 0)
        rows = self.srv.query("SELECT bot, browser, device FROM events WHERE path GLOB '/c*'")
        self.assertEqual(rows, [{"bot": 0, "browser": None, "device": None}] * 3)
        # In the combined format a missing user agent ("-") is still a
        # script's, as the collect path takes it.
        noua = os.path.join(self.srv.dir, "noua.log")
        with open(noua, "w") as f:
            f.write('93.1.2.8 - - %s "GET /noua HTTP/1.1" 200 5 "-" "-"\n' % stamp(t, "+0000"))
        r = self.run_import(path=noua)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.srv.query("SELECT bot FROM events WHERE path = '/noua'"), [{"bot": 1}])
        # A gzip file is named as one, not read as bad lines.
        packed = os.path.join(self.srv.dir, "access.log.2.gz")
        with gzip.open(packed, "wt") as f:
            f.write("x\n")
        r = self.run_import(path=packed)
        self.assertEqual(r.returncode, 1)
        self.assertIn("compressed (gzip)", r.stderr)
        self.assertIn("zcat", r.stderr)
        # A blank line is no bad line; a last line too long, without its
        # newline, is left until it ends (recorded to where it began),
        # then is one.
        odd = os.path.join(self.srv.dir, "odd.log")
        with open(odd, "w") as f:
            f.write('93.1.2.9 - - %s "GET /odd HTTP/1.1" 200 5 "-" "%s"\n\n'
                    % (stamp(t, "+0000"), BROWSERS[1]))
            f.write("x" * 20000)
        r = self.run_import(path=odd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((self.summary(r)["lines"], self.summary(r)["bad"]), (2, 0))
        self.assertIn("still being written", r.stderr)
        with open(odd, "a") as f:
            f.write("x\n" + '93.1.2.9 - - %s "GET /odd2 HTTP/1.1" 200 5 "-" "%s"\n'
                    % (stamp(t, "+0000"), BROWSERS[1]))
        r = self.run_import(path=odd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((self.summary(r)["lines"], self.summary(r)["bad"]), (4, 1))
        self.assertIn("odd.log:3: bad line (too long)", r.stderr)
        self.assertEqual(self.srv.count("path GLOB '/odd*'"), 2)
        # Usage errors say what is wrong.
        for args, want in ((("--config", self.srv.config_path, older), "--site is required"),
                           (("--config", self.srv.config_path, "--site", "demo"), "no log file"),
                           (("--config", self.srv.config_path, "--site", "demo", older, older),
                            "given twice")):
            r = run_seula("import-log", *args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(want, r.stderr, args)


if __name__ == "__main__":
    unittest.main()
