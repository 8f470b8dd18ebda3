"""When the disk fails: what collect and health answer, what the log says,
and the way back."""
import os
import resource
import sqlite3
import time
import unittest

from seulatest import Server, pageview


def wait_for(what, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if what():
            return True
        time.sleep(0.05)
    return what()


class StorageFailureTest(unittest.TestCase):
    def test_write_failure_is_reported_once_and_recovers(self):
        srv = Server()
        try:
            srv.start(fsize_limitable=True)
            self.assertEqual(srv.collect(pageview(title="before")).status, 204)
            # A file size limit of 0 fails every write, as a full disk does.
            _, hard = resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE)
            resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE, (0, hard))
            statuses = [srv.collect(pageview(title="lost-%d" % i)).status
                        for i in range(200)]
            self.assertEqual(set(statuses), {503})
            r = srv.collect(pageview(title="lost"))
            self.assertEqual(r.json()["error"], "storage_unavailable")
            h = srv.request("GET", "/api/health")
            self.assertEqual(h.status, 503)
            self.assertEqual(h.json()["status"], "storage_unavailable")
            log = srv.stderr()
            self.assertNotIn("ROLLBACK", log)
            errors = [l for l in log.splitlines() if "error store" in l]
            self.assertTrue(errors, log)
            self.assertLessEqual(len(errors), 2, "\n".join(errors))

            # Still failing a while later, with no traffic: the writer's
            # probe fails too, and says nothing more.
            time.sleep(1.5)
            self.assertEqual(srv.request("GET", "/api/health").status, 503)
            self.assertEqual(len([l for l in srv.stderr().splitlines()
                                  if "error store" in l]), len(errors))
            resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))
            # Health comes back with the disk, before any event (a
            # balancer that took the server out would send none).
            self.assertTrue(wait_for(
                lambda: srv.request("GET", "/api/health").status == 200, 5))
            self.assertIn("storage works again after", srv.stderr())
            h = srv.request("GET", "/api/health")
            self.assertEqual(h.json()["status"], "ok")
            self.assertEqual(srv.collect(pageview(title="after")).status, 204)
            self.assertEqual(srv.stop(), 0)
            titles = {r["title"] for r in srv.query("SELECT title FROM events")}
            self.assertEqual(titles, {"before", "after"})
        finally:
            srv.close()


class WalLimitTest(unittest.TestCase):
    def test_wal_shrinks_after_a_long_reader(self):
        limit = 256 * 1024
        srv = Server(limits={"wal_limit_bytes": limit})
        wal = srv.db_path + "-wal"
        try:
            srv.start()
            # A reader (a backup) keeps its snapshot: no checkpoint can
            # start the WAL over, so it grows well past the limit.
            reader = sqlite3.connect(srv.db_path, isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM events").fetchall()
            batch = [pageview(title="page %d of many" % i) for i in range(50)]
            for _ in range(2000):
                self.assertEqual(srv.collect(batch).status, 204)
                if os.path.getsize(wal) > 6 * 1024 * 1024:
                    break
            grown = os.path.getsize(wal)
            self.assertGreater(grown, 6 * 1024 * 1024)
            reader.execute("ROLLBACK")
            reader.close()
            # SQLite's automatic checkpoint catches up at the next commit,
            # the one after starts the WAL over and cuts its file back.
            for i in range(20):
                self.assertEqual(srv.collect(pageview(title="after-%d" % i)).status, 204)
                if os.path.getsize(wal) <= limit:
                    break
            self.assertLessEqual(os.path.getsize(wal), limit,
                                 "the WAL stayed at %d bytes (%d at most)"
                                 % (os.path.getsize(wal), grown))
            self.assertEqual(srv.stop(), 0)
        finally:
            srv.close()


class DatabaseRemovedTest(unittest.TestCase):
    def check_refused(self, srv, what):
        """Collect and health answer 503 and the log names the file."""
        r = srv.collect(pageview(title="after " + what))
        self.assertEqual(r.status, 503, what)
        self.assertEqual(r.json()["error"], "storage_unavailable")
        h = srv.request("GET", "/api/health")
        self.assertEqual(h.status, 503)
        self.assertEqual(h.json()["status"], "storage_unavailable")
        self.assertIn("%s was removed or replaced" % srv.db_path, srv.stderr())

    def test_removed_database_is_refused(self):
        srv = Server()
        try:
            srv.start()
            self.assertEqual(srv.collect(pageview(title="before")).status, 204)
            for suffix in ("", "-wal", "-shm"):
                os.unlink(srv.db_path + suffix)
            self.check_refused(srv, "rm")
            self.assertEqual(srv.collect(pageview(title="again")).status, 503)
            # Noticed without a request too, within about a second.
            self.assertEqual(srv.stderr().count("was removed or replaced"), 1)
            self.assertEqual(srv.stop(), 1)
            self.assertIn("stopped while the database could not be written", srv.stderr())
        finally:
            srv.close()

    def test_database_replaced_by_a_backup(self):
        srv = Server()
        try:
            srv.start()
            self.assertEqual(srv.collect(pageview(title="before")).status, 204)
            backup = os.path.join(srv.dir, "backup.db")
            src = sqlite3.connect(srv.db_path)
            dst = sqlite3.connect(backup)
            src.backup(dst)
            src.close()
            dst.close()
            os.rename(backup, srv.db_path)
            self.check_refused(srv, "mv")
            # Stopped so, it says it could not store, in its status too.
            self.assertEqual(srv.stop(), 1)
            self.assertIn("stopped while the database could not be written", srv.stderr())
            titles = {r["title"] for r in srv.query("SELECT title FROM events")}
            self.assertEqual(titles, {"before"})
        finally:
            srv.close()

    def test_noticed_while_idle(self):
        srv = Server()
        try:
            srv.start()
            os.unlink(srv.db_path)
            self.assertTrue(wait_for(
                lambda: srv.request("GET", "/api/health").status == 503, 5))
            self.assertIn("was removed or replaced", srv.stderr())
        finally:
            srv.close()


if __name__ == "__main__":
    unittest.main()
