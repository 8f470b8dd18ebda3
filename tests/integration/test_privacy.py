"""Privacy by construction (PROMISES #22): a full IP address never reaches
the database, its WAL or its shared-memory file; nothing identifies a visitor
who has not consented; the raw user agent is not stored."""
import ipaddress
import sqlite3
import unittest

from seulatest import Server, drop_api_key_columns, pageview, record_consent

V4 = "203.0.113.199"
V6 = "2001:db8:abcd:1234:5678:9abc:def0:1234"
MAPPED = "::ffff:198.51.100.77"
# 6to4: bits 16-47 are 198.51.100.83, which a /48 would keep whole.
SIXTOFOUR = "2002:c633:6453:1::77"
UA = "Mozilla/5.0 (PrivacyProbe; rv:1.0) UniqueAgent/987654321"


def forms(addr):
    """Every way an address could be written into a file."""
    ip = ipaddress.ip_address(addr)
    out = {str(ip).encode(), ip.exploded.encode(), ip.packed}
    v4 = ip.version == 6 and (ip.ipv4_mapped or ip.sixtofour)
    if v4:
        out |= {str(v4).encode(), v4.packed}
    return out


class PrivacyTest(unittest.TestCase):
    def check_files(self, srv, when):
        files = srv.db_files()
        self.assertIn("db", files)
        for addr in (V4, V6, MAPPED, SIXTOFOUR):
            for form in forms(addr):
                for name, data in files.items():
                    self.assertNotIn(form, data, "%s of %s found in %s %s"
                                     % (form, addr, name, when))
        for name, data in files.items():
            self.assertNotIn(UA.encode(), data, "user agent in %s %s" % (name, when))

    def test_no_full_ip_on_disk(self):
        for level in ("1", "2", "4"):
            with self.subTest(level=level):
                srv = Server(sections={"plugin.anonymize": {"level": level}})
                try:
                    srv.start()
                    for addr in (V4, V6, MAPPED, SIXTOFOUR):
                        for i in range(50):
                            r = srv.collect(pageview(title="p%d" % i),
                                            headers={"X-Forwarded-For": addr, "User-Agent": UA})
                            self.assertEqual(r.status, 204)
                    # GET and engagement paths too.
                    r = srv.request("GET", "/api/collect?site=demo&type=pageview"
                                    "&url=http%3A%2F%2Flocalhost%2F",
                                    headers={"X-Forwarded-For": V4, "User-Agent": UA})
                    self.assertEqual(r.status, 200)
                    self.check_files(srv, "while running")
                    stored = {r["ip_anon"] for r in srv.query("SELECT DISTINCT ip_anon FROM events")}
                    expect = {"1": {"203.0.113.0", "2001:db8:abcd:1234::", "::ffff:198.51.100.0",
                                    "2002:c633:6400::"},
                              "2": {"203.0.0.0", "2001:db8:abcd::", "::ffff:198.51.0.0",
                                    "2002:c633::"},
                              "4": {"0.0.0.0", "::", "::ffff:0.0.0.0"}}[level]
                    # X-Forwarded-For hops are un-mapped to IPv4.
                    expect = {e.replace("::ffff:", "") for e in expect}
                    self.assertEqual(stored, expect)
                    self.assertEqual(srv.stop(), 0)
                    self.check_files(srv, "after stop")
                finally:
                    srv.close()

    def test_email_addresses_are_redacted(self):
        # Whatever a page or a property carries, for every visitor: no
        # consent was asked for an address.
        addr = "ann.unique.person@example.org"
        with Server() as srv:
            r = srv.collect([
                pageview(url="http://localhost/unsubscribe/" + addr,
                         title="Welcome " + addr,
                         referrer="https://mail.example.net/read/" + addr),
                pageview(url="http://localhost/u/ann.unique.person%40example.org"),
                {"type": "event", "site": "demo", "url": "http://localhost/",
                 "name": "signup", "props": {"contact": addr, "plan": "pro"}},
            ])
            self.assertEqual(r.status, 204)
            rows = srv.query("SELECT path, title, referrer, props FROM events "
                             "ORDER BY id")
            self.assertEqual(rows[0]["path"], "/unsubscribe/(email)")
            self.assertEqual(rows[0]["title"], "Welcome (email)")
            self.assertEqual(rows[1]["path"], "/u/(email)")
            self.assertEqual(rows[2]["props"], '{"contact":"(email)","plan":"pro"}')
            self.assertEqual(srv.stop(), 0)
            for name, data in srv.db_files().items():
                self.assertNotIn(b"unique.person", data, name)

    def test_a_consented_id_is_stored_without_the_cookieless_hash(self):
        # Before consent and after a withdrawal the browser is counted by
        # its daily hash; stored beside the id, that hash would join those
        # page views to the id, and through a link to a named customer.
        vid = "0f5e1c1a-7d0e-4a47-9a55-1c0de0c0ffee"
        h = {"X-Forwarded-For": V4, "User-Agent": UA}
        with Server() as srv:
            srv.collect(pageview(title="before"), headers=h)
            record_consent(srv, "accept_all", vid)
            srv.collect(pageview(title="consented", visitor_id=vid), headers=h)
            record_consent(srv, "withdraw", vid)
            srv.collect(pageview(title="after"), headers=h)
            rows = srv.query("SELECT title, visitor_id, visitor_hash FROM events ORDER BY id")
            self.assertEqual([r["title"] for r in rows], ["before", "consented", "after"])
            self.assertEqual((rows[1]["visitor_id"], rows[1]["visitor_hash"]), (vid, None))
            self.assertIsNotNone(rows[0]["visitor_hash"])
            self.assertEqual(rows[0]["visitor_hash"], rows[2]["visitor_hash"])
            # A database from before: its identified rows lose the hash.
            self.assertEqual(srv.stop(), 0)
            db = sqlite3.connect(srv.db_path)
            db.execute("UPDATE events SET visitor_hash = ? WHERE visitor_id IS NOT NULL",
                       (rows[0]["visitor_hash"],))
            db.execute("DELETE FROM seula_migrations WHERE component = 'core' AND version = 10")
            drop_api_key_columns(db)
            db.commit()
            db.close()
            srv.start()
            rows = srv.query("SELECT visitor_id, visitor_hash FROM events ORDER BY id")
            self.assertEqual([r["visitor_hash"] is None for r in rows], [False, True, False])

    def test_no_visitor_id_without_consent_and_hash_is_daily(self):
        with Server() as srv:
            for _ in range(3):
                srv.collect(pageview(title="anon"), headers={"X-Forwarded-For": V4, "User-Agent": UA})
            rows = srv.query("SELECT visitor_id, visitor_hash FROM events")
            self.assertTrue(all(r["visitor_id"] is None for r in rows))
            self.assertEqual(len({r["visitor_hash"] for r in rows}), 1)
            # Salts exist for today and tomorrow only.
            days = [r["day"] for r in srv.query("SELECT day FROM anonymize_salts ORDER BY day")]
            self.assertEqual(len(days), 2)
            self.assertEqual(days[1], days[0] + 1)


if __name__ == "__main__":
    unittest.main()
