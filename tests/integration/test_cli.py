"""The seula command: version, help, plugins, migrate, inspect-ip, and the
start-up contract of serve (first line, speed, config errors)."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from seulatest import BIN, SOURCE, Server, require_env, run_seula


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_env()

    def test_version_and_help(self):
        r = run_seula("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^seula \d+\.\d+\.\d+ \(plugin ABI 1\.\d+")
        r = run_seula("help")
        self.assertEqual(r.returncode, 0)
        for cmd in ("serve", "migrate", "plugins", "inspect-ip", "version"):
            self.assertIn(cmd, r.stdout)
        r = run_seula("help", "config")
        self.assertIn("[server]", r.stdout)
        self.assertIn("max_body_bytes", r.stdout)
        r = run_seula("help", "plugin", "anonymize")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("level", r.stdout)
        self.assertIn("rotate_salts", r.stdout)
        # A plugin the config does not load is named, with those it does.
        with tempfile.TemporaryDirectory() as d:
            conf = os.path.join(d, "seula.ini")
            with open(conf, "w") as f:
                f.write("[plugins]\nload = anonymize, referrer\n")
            r = run_seula("help", "plugin", "nope", "--config", conf)
            self.assertEqual((r.returncode, r.stdout), (1, ""))
            self.assertIn("seula: %s loads no plugin 'nope' (it loads: anonymize "
                          "referrer)" % conf, r.stderr)
        # A usage error says what is wrong before the usage.
        for args, says in ((["labels", "--format", "docx"], "--format must be csv or pdf"),
                           (["labels", "extra"], "unexpected arguments after the options")):
            r = run_seula(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.startswith("seula labels: %s\n" % says), r.stderr)
        r = run_seula("bogus")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'bogus'", r.stderr)
        # Help on a command is the usage; on nothing known, a usage error.
        self.assertEqual(run_seula("help", "serve").returncode, 0)
        r = run_seula("help", "frob")
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertIn("no help topic 'frob'", r.stderr)
        self.assertEqual(run_seula("--version").stdout, run_seula("version").stdout)
        r = run_seula("serve")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--config FILE is required", r.stderr)

    def test_plugins_lists_pipeline(self):
        srv = Server(plugins=("enricher", "anonymize", "testkit"))
        try:
            r = run_seula("plugins", "--config", srv.config_path)
            self.assertEqual(r.returncode, 0, r.stderr)
            # Without --config: $SEULA_CONFIG names it.
            env = dict(os.environ, SEULA_CONFIG=srv.config_path)
            alone = subprocess.run([BIN, "plugins"], capture_output=True, text=True,
                                   timeout=30, env=env)
            self.assertEqual(alone.returncode, 0, alone.stderr)
            self.assertEqual(alone.stdout, r.stdout)
            lines = r.stdout.strip().splitlines()
            self.assertTrue(lines[0].startswith("NAME"))
            names = [l.split()[0] for l in lines[1:]]
            self.assertEqual(names, ["enricher", "anonymize", "testkit"])
            self.assertRegex(lines[2], r"anonymize\s+1\.0\.0\s+protect\s+1\.\d+")
        finally:
            srv.close()

    def test_example_config_works(self):
        r = run_seula("plugins", "--config", os.path.join(SOURCE, "contrib/seula.ini.example"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("anonymize", r.stdout)

    def test_migrate(self):
        srv = Server(plugins=("anonymize", "testkit"))
        try:
            r = run_seula("migrate", "--config", srv.config_path)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r": 13 migrations applied")
            r = run_seula("migrate", "--config", srv.config_path)
            self.assertIn(": 0 migrations applied", r.stdout)
            rows = srv.query("SELECT component, version FROM seula_migrations ORDER BY 1")
            self.assertEqual([(r["component"], r["version"]) for r in rows],
                             [("anonymize", 1), ("core", 1), ("core", 2), ("core", 3),
                              ("core", 4), ("core", 5), ("core", 6), ("core", 7),
                              ("core", 8), ("core", 9), ("core", 10), ("core", 11),
                              ("testkit", 1)])
            # A database from a newer build is refused, not damaged.
            import sqlite3
            db = sqlite3.connect(srv.db_path)
            db.execute("INSERT INTO seula_migrations VALUES ('core', 99, 0)")
            db.commit()
            db.close()
            r = run_seula("migrate", "--config", srv.config_path)
            self.assertEqual(r.returncode, 1)
            self.assertIn("schema version 99", r.stderr)
            rc = srv.start(expect_fail=True)
            self.assertNotEqual(rc, 0)
        finally:
            srv.close()

    def test_inspect_ip(self):
        r = run_seula("inspect-ip", "192.168.123.45", "2001:db8:aaaa:bbbb:cccc::1",
                      "::ffff:10.1.2.3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         ["192.168.0.0", "2001:db8:aaaa::", "::ffff:10.1.0.0"])
        for level, v4, v6 in (("0", "192.168.123.45", "2001:db8:aaaa:bbbb:cccc::1"),
                              ("1", "192.168.123.0", "2001:db8:aaaa:bbbb::"),
                              ("3", "192.0.0.0", "2001:d00::"),
                              ("4", "0.0.0.0", "::")):
            with self.subTest(level=level):
                r = run_seula("inspect-ip", "--level", level, "192.168.123.45",
                              "2001:DB8:AAAA:BBBB:CCCC:0:0:1")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.splitlines(), [v4, v6])
        r = run_seula("inspect-ip", "1.2.3.4", "not-an-ip", "::1")
        self.assertEqual(r.returncode, 1)
        # The answers on stdout, a script's to read; the error on stderr.
        self.assertEqual(r.stdout.splitlines(), ["1.2.0.0", "::"])
        self.assertIn("seula: 'not-an-ip' is not an IP address", r.stderr)
        for level in ("7", "-1", "03", ""):
            r = run_seula("inspect-ip", "--level", level, "1.2.3.4")
            self.assertEqual((r.returncode, r.stdout), (2, ""), level)
            self.assertIn("seula: --level is 0 to 4, not '%s'" % level, r.stderr)

    def test_an_install_under_any_prefix_finds_its_plugins(self):
        # cmake --install --prefix P: the plugins go under P as the binary
        # does, and the binary finds them there without a plugin dir.
        build = os.path.dirname(os.path.abspath(BIN))
        if not os.path.exists(os.path.join(build, "cmake_install.cmake")):
            self.skipTest("SEULA_BIN is not in a CMake build directory")
        with tempfile.TemporaryDirectory() as prefix:
            r = subprocess.run(["cmake", "--install", build, "--prefix", prefix,
                                "--component", "Unspecified"],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            plugins = os.path.join(prefix, "lib", "seula", "plugins")
            self.assertTrue(os.path.exists(os.path.join(plugins, "anonymize.so")),
                            r.stdout)
            ini = os.path.join(prefix, "seula.ini")
            with open(ini, "w") as f:
                f.write("[server]\nlisten = 127.0.0.1:0\ndb = %s/x.db\n"
                        "[plugins]\nload = anonymize\n" % prefix)
            r = subprocess.run([os.path.join(prefix, "bin", "seula"), "plugins",
                                "--config", ini], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("anonymize", r.stdout)

    def test_serve_first_line_and_start_time(self):
        srv = Server()
        try:
            srv.start()
            self.assertRegex(srv.url, r"^http://127\.0\.0\.1:\d+$")
            self.assertNotEqual(srv.port, 0)
            self.assertLess(srv.start_seconds, 1.0)
            print("start on an empty database: %.3f s" % srv.start_seconds)
            self.assertEqual(srv.stop(), 0)
        finally:
            srv.close()

    def test_flags_override_config(self):
        tmp = tempfile.mkdtemp()
        try:
            srv = Server(server={"listen": "127.0.0.1:1", "db": "/nonexistent/x.db"})
            db = os.path.join(tmp, "flag.db")
            import subprocess
            p = subprocess.Popen([BIN, "serve", "--config", srv.config_path,
                                  "--listen", "127.0.0.1:0", "--db", db],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            line = p.stdout.readline().decode()
            self.assertTrue(line.startswith("listening on http://127.0.0.1:"), line)
            p.terminate()
            self.assertEqual(p.wait(10), 0)
            p.stdout.close()
            p.stderr.close()
            self.assertTrue(os.path.exists(db))
            srv.close()
        finally:
            shutil.rmtree(tmp)

    def test_config_errors_name_file_and_line(self):
        tmp = tempfile.mkdtemp()
        try:
            cases = [
                ("[server]\nlisten = 127.0.0.1:0\nworkerz = 2\n", 3, "unknown key 'workerz'"),
                ("[server]\nworkers = 100\n", 2, "out of range (1 to 64)"),
                ("[limits]\nmax_body_bytes = lots\n", 2, "not an integer"),
                ("[server]\n\n[site.demo]\ndomains = ok.fi\n[sites.x]\ndomains=a\n", 6,
                 "unknown section [sites.x]"),
                ("[server]\nlisten = 999.0.0.1:0\n", 0, "listen 999.0.0.1:0"),
                ("[server]\nlisten = nonsense\n", 2, "'nonsense' is not address:port"),
            ]
            for text, line, needle in cases:
                with self.subTest(needle=needle):
                    path = os.path.join(tmp, "bad.ini")
                    with open(path, "w") as f:
                        f.write(text)
                    r = run_seula("serve", "--config", path, "--db", os.path.join(tmp, "x.db"),
                                  cwd=SOURCE)
                    self.assertEqual(r.returncode, 1, r.stdout)
                    self.assertEqual(r.stdout, "")
                    if line:
                        self.assertIn("%s:%d:" % (path, line), r.stderr)
                    self.assertIn(needle, r.stderr)
        finally:
            shutil.rmtree(tmp)

    def test_config_that_is_not_a_file_is_refused(self):
        # Run where the defaults would put var/seula.db and its key: a
        # config read as empty would start and create them there.
        tmp = tempfile.mkdtemp()
        try:
            folder = os.path.join(tmp, "conf.d")
            os.mkdir(folder)
            empty = os.path.join(tmp, "empty.ini")
            with open(empty, "w") as f:
                f.write("[server]\n[serverx]\n")
            cases = [(folder, "is a directory"), ("/dev/zero", "not a regular file"),
                     (empty, "%s:2: unknown section [serverx]" % empty)]
            for path, needle in cases:
                with self.subTest(path=path):
                    r = run_seula("serve", "--config", path, "--listen", "127.0.0.1:0",
                                  cwd=tmp, timeout=10)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertEqual(r.stdout, "")
                    self.assertIn(path, r.stderr)
                    self.assertIn(needle, r.stderr)
                    self.assertNotIn("listening", r.stderr)
                    self.assertEqual(sorted(os.listdir(tmp)), ["conf.d", "empty.ini"])
        finally:
            shutil.rmtree(tmp)


class OperatorSafetyTest(unittest.TestCase):
    """What an operator's slip must not do: a database restored without its
    key gets no new one, a second server or a migration does not run under
    a server, a start that cannot bind changes nothing, and a mistyped db
    path is not made into a new database."""

    @classmethod
    def setUpClass(cls):
        require_env()

    def server(self, **kw):
        srv = Server(**kw)
        self.addCleanup(srv.close)
        return srv

    def refused_serve(self, srv):
        """`seula serve` of srv's config, which must not start: its stderr."""
        p = subprocess.Popen([BIN, "serve", "--config", srv.config_path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        if line.startswith("listening"):
            p.terminate()
        _, err = p.communicate(timeout=30)
        self.assertEqual(line, "", err)
        self.assertEqual(p.returncode, 1, err)
        return err

    def test_a_database_restored_without_its_key_is_refused(self):
        from seulatest import add_user
        import sqlite3
        srv = self.server()
        add_user(srv, "ann", "admin", "Correct-horse-battery-9")
        srv.start()
        self.assertEqual(srv.stop(), 0)
        # A backup taken the documented way, put back without seula.key.
        copy = self.server()
        db = sqlite3.connect(srv.db_path)
        db.execute("VACUUM INTO ?", (copy.db_path,))
        db.close()
        key = os.path.join(copy.dir, "seula.key")
        for cmd in ("serve", "user add"):
            with self.subTest(cmd=cmd):
                if cmd == "serve":
                    err = self.refused_serve(copy)
                else:
                    r = run_seula("user", "add", "bob", "--role", "admin", "--config",
                                  copy.config_path, input="Correct-horse-battery-9\n")
                    self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                    err = r.stderr
                self.assertIn("%s: the secret key is missing" % key, err)
                self.assertIn("restore the key together with the database", err)
                self.assertFalse(os.path.exists(key))
        # migrate makes no key: nothing to refuse.
        r = run_seula("migrate", "--config", copy.config_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(key))
        # Commands that sign but never make a key say where it comes from.
        for cmd in (("audit", "verify"), ("consent", "verify")):
            r = run_seula(*cmd, "--config", copy.config_path)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("%s: the secret key is missing: the server makes it" % key,
                          r.stderr)
            self.assertIn("needs its key restored beside it", r.stderr)
        self.assertFalse(os.path.exists(key))
        # With its key put back, it verifies and starts.
        shutil.copy(os.path.join(srv.dir, "seula.key"), key)
        r = run_seula("audit", "verify", "--config", copy.config_path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        copy.start()
        self.assertEqual(copy.stop(), 0)
        # A new database still gets its key at the first start.
        fresh = self.server()
        fresh.start()
        self.assertTrue(os.path.exists(os.path.join(fresh.dir, "seula.key")))

    def test_a_running_server_locks_its_database_for_serve_and_migrate(self):
        from seulatest import add_user
        srv = self.server()
        add_user(srv, "ann", "admin", "Correct-horse-battery-9")
        srv.start()
        lock = srv.db_path + "-lock"
        self.assertTrue(os.path.exists(lock))
        want = "another seula server is using %s (pid %d)" % (srv.db_path, srv.proc.pid)
        self.assertIn(want, self.refused_serve(srv))
        r = run_seula("migrate", "--config", srv.config_path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(want, r.stderr)
        # The other commands work beside it, as they are made to.
        for args in (["user", "list"], ["audit", "verify"], ["consent", "verify"],
                     ["retention", "run", "--dry-run"]):
            with self.subTest(cmd=args):
                r = run_seula(*args, "--config", srv.config_path, timeout=60)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(srv.alive())
        self.assertEqual(srv.stop(), 0)
        # Stopped (or killed: the kernel drops the lock), it is free again.
        r = run_seula("migrate", "--config", srv.config_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        srv.start()
        srv.kill9()
        srv.start()
        self.assertEqual(srv.stop(), 0)

    def test_a_newer_command_does_not_upgrade_the_schema_under_a_server(self):
        """An import or a user added by a newer seula beside a server still
        running the older one: the tables the server uses stay as they are.
        Stood in for by a server whose database lacks its last migration's
        record (so the command would apply it again)."""
        import sqlite3
        from seulatest import add_user
        srv = self.server(plugins=("anonymize", "analytics"))
        add_user(srv, "ann", "admin", "Correct-horse-battery-9")
        srv.start()

        def forget_last_migration(component):
            """The record of the component's last migration, removed: its
            version, which a command would apply again."""
            db = sqlite3.connect(srv.db_path)
            last = db.execute("SELECT max(version) FROM seula_migrations WHERE "
                              "component = ?", (component,)).fetchone()[0]
            db.execute("DELETE FROM seula_migrations WHERE component = ? AND "
                       "version = ?", (component, last))
            db.commit()
            db.close()
            return last
        last = forget_last_migration("analytics")
        log = os.path.join(srv.dir, "access.log")
        with open(log, "w") as f:
            f.write('203.0.113.9 - - [01/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 '
                    '"-" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 '
                    'Firefox/128.0"\n')
        want = ("analytics: the database is at schema version %d and this seula would "
                "upgrade it to %d, but seula serve (pid %d) is using it: stop it first, "
                "then upgrade with seula migrate" % (last - 1, last, srv.proc.pid))
        r = run_seula("import-log", "--config", srv.config_path, "--site", "demo", log,
                      timeout=60)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(want, r.stderr)
        self.assertEqual(srv.count(), 0, "nothing imported")
        # The core's tables are guarded the same way.
        core = forget_last_migration("core")
        r = run_seula("user", "add", "bob", "--role", "admin", "--config",
                      srv.config_path, input="Correct-horse-battery-9\n")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("core: the database is at schema version %d and this seula would "
                      "upgrade it to %d, but seula serve (pid %d)"
                      % (core - 1, core, srv.proc.pid), r.stderr)
        self.assertTrue(srv.alive())
        self.assertEqual(srv.stop(), 0)

    def test_a_start_that_cannot_bind_changes_nothing(self):
        import socket
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        srv = self.server(server={"listen": "127.0.0.1:%d" % port})
        rc = srv.start(expect_fail=True)
        self.assertEqual(rc, 1)
        self.assertIn("listen 127.0.0.1:%d: Address already in use" % port, srv.stderr())
        # No database made, let alone migrated, and no key.
        self.assertFalse(os.path.exists(srv.db_path))
        self.assertFalse(os.path.exists(os.path.join(srv.dir, "seula.key")))

    def test_only_serve_and_migrate_make_a_database(self):
        srv = self.server(plugins=("anonymize", "analytics", "customers"))
        missing = os.path.join(srv.dir, "typo", "seula.db")
        want = ("no database at %s: the server creates it at its first start (or "
                "seula migrate); check db in the config / --db" % missing)
        log = os.path.join(srv.dir, "access.log")
        with open(log, "w") as f:
            f.write('192.0.2.1 - - [01/Jan/2020:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8"\n')
        for args in (["user", "add", "bob", "--role", "admin"], ["user", "list"],
                     ["audit", "verify"], ["consent", "verify"], ["consent", "repair"],
                     ["import-log", "--site", "demo", log], ["labels"],
                     ["retention", "run"], ["retention", "run", "--dry-run"],
                     ["report", "--site", "demo"]):
            with self.subTest(cmd=args):
                r = run_seula(*args, "--config", srv.config_path, "--db", missing,
                              input="Correct-horse-battery-9\n", timeout=60)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn(want, r.stderr)
                self.assertFalse(os.path.exists(os.path.dirname(missing)))
        # An empty file is no database either: SQLite would fill it.
        empty = os.path.join(srv.dir, "empty.db")
        open(empty, "w").close()
        for args in (["user", "list"], ["import-log", "--site", "demo", log],
                     ["report", "--site", "demo"], ["labels"]):
            with self.subTest(cmd=args, db="empty"):
                r = run_seula(*args, "--config", srv.config_path, "--db", empty, timeout=60)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("%s is an empty file, not a database: the server creates it at "
                              "its first start (or seula migrate)" % empty, r.stderr)
                self.assertEqual(os.path.getsize(empty), 0)
        # The db of the config, not only --db.
        r = run_seula("user", "list", "--config", srv.config_path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no database at %s" % srv.db_path, r.stderr)
        self.assertFalse(os.path.exists(srv.db_path))
        # migrate makes it, and says so.
        r = run_seula("migrate", "--config", srv.config_path, "--db", missing)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("creating a new database at %s" % missing, r.stderr)
        self.assertTrue(os.path.exists(missing))
        r = run_seula("user", "list", "--config", srv.config_path, "--db", missing)
        self.assertEqual(r.returncode, 0, r.stderr)
        # So does the server's first start, and only the first.
        srv.start()
        self.assertIn("creating a new database at %s" % srv.db_path, srv.stderr())
        self.assertEqual(srv.stop(), 0)
        srv.start()
        self.assertEqual(srv.stderr().count("creating a new database"), 1)
        self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
