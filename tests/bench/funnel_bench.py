#!/usr/bin/env python3
"""How long a funnel report takes over N raw events (default 300,000).

usage: SEULA_BIN=... SEULA_SOURCE_DIR=... SEULA_PLUGIN_DIR=...
       SEULA_TEST_PLUGIN_DIR=... funnel_bench.py [EVENTS]

Imports a generated Combined log of page views (30 days, visits of 1-8
pages over a dozen paths, 20,000 visitor addresses) with `seula
import-log`, starts the server and times GET /api/stats/demo/funnel over
the 30 days, five times each for a configured funnel, the same filtered,
and ad hoc steps; prints the median and the slowest in ms.
"""
import datetime
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from seulatest import Server, add_user, login, run_seula  # noqa: E402

UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/120.0.0.0 Safari/537.36 b%d")
PATHS = ["/", "/pricing", "/pricing/team", "/signup", "/thanks", "/blog/a",
         "/blog/b", "/about", "/docs", "/docs/start", "/contact", "/jobs"]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300000
    rnd = random.Random(20261204)
    s = Server(plugins=("useragent", "referrer", "anonymize", "analytics"),
               sections={"plugin.analytics": {
                   "funnels": "demo:signup:page:/pricing*>page:/signup>page:/thanks"}})
    try:
        end = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
        t = end - datetime.timedelta(days=30)
        step = (end - t) / n
        lines, made = [], 0
        while made < n:
            who = rnd.randrange(20000)
            k = min(n - made, rnd.randint(1, 8))
            for i in range(k):
                path = rnd.choice(PATHS)
                lines.append('10.%d.%d.1 - - [%s] "GET %s HTTP/1.1" 200 512 "-" "%s"' % (
                    who // 250, who % 250, (t + step * (made + i)).strftime(
                        "%d/%b/%Y:%H:%M:%S +0000"), path, UA % who))
            made += k
        path = os.path.join(s.dir, "bench.log")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        s.create_db()
        t0 = time.monotonic()
        r = run_seula("import-log", "--config", s.config_path, "--site", "demo",
                      path, timeout=3600)
        assert r.returncode == 0, r.stderr
        print("imported %d lines in %.1f s" % (n, time.monotonic() - t0), file=sys.stderr)
        s.start(timeout=120)
        ev = s.query("SELECT count(*) AS n FROM events")[0]["n"]
        vi = s.query("SELECT count(*) AS n FROM analytics_visits")[0]["n"]
        add_user(s, "ana", "analyst", "quokka-Marble-7781-tide")
        staff = login(s, "ana", "quokka-Marble-7781-tide")
        q = "/api/stats/demo/funnel?from=%s&to=%s&" % (
            (end - datetime.timedelta(days=30)).date(), end.date())
        print("%d events, %d visits" % (ev, vi))
        for label, extra in (("configured", "funnel=signup"),
                             ("filtered", "funnel=signup&filter=page%3D%3D/docs*"),
                             ("ad hoc", "steps=page:/%3Epage:/pricing%3Epage:/about")):
            times = []
            for _ in range(5):
                t0 = time.monotonic()
                r = staff.request("GET", q + extra)
                times.append((time.monotonic() - t0) * 1000)
                assert r.status == 200, r
            body = r.json()
            print("%-10s median %.0f ms, slowest %.0f ms (visits %d, steps %s)" % (
                label, statistics.median(times), max(times), body["visits"],
                [x["visits"] for x in body["results"]]))
    finally:
        s.close()


if __name__ == "__main__":
    main()
