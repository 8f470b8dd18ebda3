"""Visitor linkage, segment reports and retention (the customers plugin)
against the real server: an identify event links a visitor to a customer
only under marketing or personalization consent, with its receipt; the
address never reaches the events table or the database files; segment
reports hide groups under k customers; retention deletes customers past
their period unless a legal hold keeps them, and its dry run changes
nothing.
"""
import datetime
import io
import json
import sqlite3
import time
import unittest
import uuid
import zipfile

from seulatest import (Server, add_user, assert_json_error, login,
                       record_consent, run_seula)

PASSWORDS = {
    "ada": "plum-Orbit-7-lantern",
    "ann": "copper+Fjord+42+heron",
    "cid": "velvet_Quarry_19_moss",
}
ROLES = {"ada": "admin", "ann": "analyst", "cid": "customer_service"}
PLUGINS = ("anonymize", "customers")


# The privacy statement needs a controller.
CONTROLLER = {"name": "Esimerkki Oy", "address": "Esimerkkikatu 1, 00100 Helsinki",
              "email": "info@example.fi"}


def start_server(customers=None, extra=None, **kw):
    sections = {"auth": {"login_max_failures": "1000"}, "controller": CONTROLLER}
    if customers:
        sections["plugin.customers"] = customers
    sections.update(extra or {})
    srv = Server(plugins=PLUGINS, sections=sections, **kw)
    for name, role in ROLES.items():
        add_user(srv, name, role, PASSWORDS[name])
    srv.start()
    staff = {name: login(srv, name, PASSWORDS[name]) for name in ROLES}
    return srv, staff


def create(s, **fields):
    body = {"first_name": "Testi", "last_name": "Henkilö",
            "source": "registration"}
    body.update(fields)
    r = s.request("POST", "/api/customers", body)
    if r.status != 201:
        raise AssertionError("create: %r" % r)
    return r.json()


def send(srv, vid, events, headers=None):
    for ev in events:
        ev.setdefault("site", "demo")
        ev.setdefault("url", "http://localhost/shop")
        if vid:
            ev["visitor_id"] = vid
    r = srv.collect(events, headers)
    if r.status != 204:
        raise AssertionError("collect: %r" % r)


def identify(srv, vid, email, headers=None, **props):
    props["email"] = email
    send(srv, vid, [{"type": "event", "name": "identify", "props": props}],
         headers)


def links(srv, customer_id):
    return srv.query("SELECT * FROM customer_links WHERE customer_id = ? "
                     "ORDER BY id", (customer_id,))


def no_marketing(srv, vid):
    """Analytics only: the id is kept, linkage is not allowed."""
    return record_consent(srv, "custom", vid, decisions={
        "analytics": True, "marketing": False, "personalization": False})


class LinkageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv, cls.staff = start_server()
        cls.cid = cls.staff["cid"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_identify_with_consent_links_with_the_receipt(self):
        cust = create(self.cid, email="Linda.Link@Example.com",
                      organisation="Linkki Oy")
        vid = str(uuid.uuid4())
        receipt = record_consent(self.srv, "accept_all", vid)["receipt"]
        # Case and spaces are not the person's: the address matches.
        identify(self.srv, vid, "  linda.link@example.COM ", plan="pro")
        [link] = links(self.srv, cust["id"])
        self.assertEqual(link["visitor_id"], vid)
        self.assertEqual(link["receipt"], receipt)
        self.assertEqual(link["site"], "demo")
        self.assertEqual(link["categories"], "marketing,personalization")
        self.assertAlmostEqual(link["linked_at"] / 1000, time.time(), delta=60)
        # The event is stored, without the address or its pseudonym.
        [ev] = self.srv.query("SELECT * FROM events WHERE name = 'identify' "
                              "AND visitor_id = ?", (vid,))
        self.assertEqual(ev["props"], '{"plan":"pro"}')
        # Identifying again neither duplicates nor moves the link.
        identify(self.srv, vid, "linda.link@example.com")
        self.assertEqual(len(links(self.srv, cust["id"])), 1)

    def test_identify_and_email_in_any_case(self):
        # "Identify" is the identify event, and "Email" its address: the
        # address is taken out, never stored, and links as usual.
        cust = create(self.cid, email="casey.case@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        send(self.srv, vid, [{"type": "event", "name": "Identify", "props": {
            "Email": "casey.case@example.com", "plan": "team"}}])
        [link] = links(self.srv, cust["id"])
        self.assertEqual(link["visitor_id"], vid)
        [ev] = self.srv.query("SELECT name, props FROM events WHERE "
                              "visitor_id = ? AND type = 2", (vid,))
        self.assertEqual(ev["name"], "identify")
        self.assertEqual(ev["props"], '{"plan":"team"}')
        # Two addresses that differ: whose the visit is would be a guess,
        # so neither links, and neither is stored.
        other = create(self.cid, email="other.case@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        send(self.srv, vid, [{"type": "event", "name": "IDENTIFY", "props": {
            "email": "casey.case@example.com",
            "EMAIL": "other.case@example.com"}}])
        self.assertEqual([l["visitor_id"] for l in links(self.srv, cust["id"])
                          + links(self.srv, other["id"])], [link["visitor_id"]])
        self.assertEqual(self.srv.count("props LIKE '%@%'"), 0)

    def test_marketing_or_personalization_alone_is_enough(self):
        for category in ("marketing", "personalization"):
            cust = create(self.cid, email="only-%s@example.com" % category)
            vid = str(uuid.uuid4())
            decisions = {"analytics": True, "marketing": False,
                         "personalization": False}
            decisions[category] = True
            receipt = record_consent(self.srv, "custom", vid,
                                     decisions=decisions)["receipt"]
            identify(self.srv, vid, cust["email"])
            [link] = links(self.srv, cust["id"])
            self.assertEqual((link["receipt"], link["categories"]),
                             (receipt, category))

    def test_gpc_on_the_request_objects_to_marketing(self):
        gpc = {"Sec-GPC": "1"}
        # Marketing alone was granted: with GPC, nothing allows a link.
        cust = create(self.cid, email="gpc-marketing@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "custom", vid, decisions={
            "analytics": True, "marketing": True, "personalization": False})
        identify(self.srv, vid, cust["email"], headers=gpc)
        self.assertEqual(links(self.srv, cust["id"]), [])
        identify(self.srv, vid, cust["email"], headers={"Sec-GPC": "0"})
        self.assertEqual([x["categories"] for x in links(self.srv, cust["id"])],
                         ["marketing"])
        # Both granted: personalization alone links.
        cust = create(self.cid, email="gpc-both@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        identify(self.srv, vid, cust["email"], headers=gpc)
        self.assertEqual([x["categories"] for x in links(self.srv, cust["id"])],
                         ["personalization"])
        # DNT: 1 is no objection on this site (dnt = ignore, the default);
        # DntObjectionTest has one where it is.
        cust = create(self.cid, email="dnt-ignored@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "custom", vid, decisions={
            "analytics": True, "marketing": True, "personalization": False})
        identify(self.srv, vid, cust["email"], headers={"DNT": "1"})
        self.assertEqual([x["categories"] for x in links(self.srv, cust["id"])],
                         ["marketing"])

    def test_without_consent_nothing_is_linked(self):
        cust = create(self.cid, email="nobody-asked@example.com")
        # No record at all: the gate drops the id, the visit is cookieless.
        identify(self.srv, str(uuid.uuid4()), cust["email"])
        # Analytics only: the id is kept, but linkage needs more.
        vid = str(uuid.uuid4())
        no_marketing(self.srv, vid)
        identify(self.srv, vid, cust["email"])
        self.assertEqual(links(self.srv, cust["id"]), [])
        self.assertEqual(self.srv.count("visitor_id = ? AND name = 'identify'",
                                        (vid,)), 1)
        # Rejected outright.
        vid = str(uuid.uuid4())
        record_consent(self.srv, "reject_all", vid)
        identify(self.srv, vid, cust["email"])
        self.assertEqual(links(self.srv, cust["id"]), [])

    def test_withdrawal_stops_new_links_old_ones_stay(self):
        first = create(self.cid, email="withdraws@example.com")
        second = create(self.cid, email="withdraws-too@example.com")
        vid = str(uuid.uuid4())
        receipt = record_consent(self.srv, "accept_all", vid)["receipt"]
        identify(self.srv, vid, first["email"])
        self.assertEqual(len(links(self.srv, first["id"])), 1)
        record_consent(self.srv, "withdraw", vid, source="preference_link")
        identify(self.srv, vid, second["email"])
        self.assertEqual(links(self.srv, second["id"]), [])
        # Narrowed to analytics only: still no new link.  (On this
        # visitor id, the second customer's identify would unlink the
        # first: test_a_visitor_id_is_never_two_customers.)
        other = str(uuid.uuid4())
        no_marketing(self.srv, other)
        identify(self.srv, other, second["email"])
        self.assertEqual(links(self.srv, second["id"]), [])
        no_marketing(self.srv, vid)
        identify(self.srv, vid, first["email"])
        [kept] = links(self.srv, first["id"])
        self.assertEqual(kept["receipt"], receipt)

    def test_restricted_or_profiling_objection_is_not_linked(self):
        for flag in ("restricted", "objects_profiling"):
            cust = create(self.cid, email="flag-%s@example.com" % flag)
            vid = str(uuid.uuid4())
            record_consent(self.srv, "accept_all", vid)
            identify(self.srv, vid, cust["email"])
            self.assertEqual(len(links(self.srv, cust["id"])), 1, flag)
            r = self.cid.request("PATCH", "/api/customers/%d" % cust["id"],
                                 {"flags": {flag: True}})
            self.assertEqual(r.status, 200, r)
            other = str(uuid.uuid4())
            record_consent(self.srv, "accept_all", other)
            identify(self.srv, other, cust["email"])
            [kept] = links(self.srv, cust["id"])
            self.assertEqual(kept["visitor_id"], vid, flag)

    def test_a_changed_email_matches_the_new_address_only(self):
        cust = create(self.cid, email="old-address@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        identify(self.srv, vid, "old-address@example.com")  # hashes it
        self.assertEqual(len(links(self.srv, cust["id"])), 1)
        r = self.cid.request("PATCH", "/api/customers/%d" % cust["id"],
                             {"email": "new-address@example.com"})
        self.assertEqual(r.status, 200, r)
        vid2, vid3 = str(uuid.uuid4()), str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid2)
        record_consent(self.srv, "accept_all", vid3)
        identify(self.srv, vid2, "old-address@example.com")
        identify(self.srv, vid3, "new-address@example.com")
        self.assertEqual([x["visitor_id"] for x in links(self.srv, cust["id"])],
                         [vid, vid3])

    def test_two_customers_with_one_address_get_no_link(self):
        a = create(self.cid, email="shared@example.com")
        b = create(self.cid, email="shared-later@example.com")
        # The register refuses a second customer with an address; one
        # kept from before it did still shares it.
        with sqlite3.connect(self.srv.db_path, timeout=10) as db:
            db.execute("UPDATE customers SET email = ? WHERE id = ?",
                       ("Shared@example.com", b["id"]))
        db.close()
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        identify(self.srv, vid, "shared@example.com")
        self.assertEqual(links(self.srv, a["id"]) + links(self.srv, b["id"]), [])

    def test_a_visitor_id_is_never_two_customers(self):
        a = create(self.cid, email="shared-browser-a@example.com")
        b = create(self.cid, email="shared-browser-b@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        identify(self.srv, vid, a["email"])
        self.assertEqual(len(links(self.srv, a["id"])), 1)
        send(self.srv, vid, [{"type": "pageview", "url": "http://localhost/a"}])
        # Someone else on the same browser: whose visits these are is not
        # known any more, so neither customer has them.
        identify(self.srv, vid, b["email"])
        send(self.srv, vid, [{"type": "pageview", "url": "http://localhost/b"}])
        self.assertEqual(links(self.srv, a["id"]) + links(self.srv, b["id"]), [])
        self.assertEqual(len(self.srv.query(
            "SELECT 1 FROM customer_link_shared WHERE visitor_id = ?", (vid,))), 1)
        # And it stays so, whoever identifies next.
        for who in (a, b):
            identify(self.srv, vid, who["email"])
            self.assertEqual(links(self.srv, a["id"]) + links(self.srv, b["id"]), [])
        # Neither's access export holds the visits, nor does an erasure
        # take them.
        body = {"type": "access", "customer_id": a["id"],
                "verification": "signed letter"}
        r = self.cid.request("POST", "/api/dsr", body)
        self.assertEqual(r.status, 201, r)
        z = self.cid.request("GET", r.json()["export"], csrf=True)
        self.assertEqual(z.status, 200, z)
        export = json.loads(zipfile.ZipFile(io.BytesIO(z.body)).read("export.json"))
        self.assertEqual(export["data"]["core"]["events"], [])
        self.assertEqual(export["data"]["customers"]["links"], [])
        n = self.srv.count("visitor_id = ?", (vid,))
        self.assertEqual(n, 6)
        body["type"] = "erasure"
        self.assertEqual(self.cid.request("POST", "/api/dsr", body).status, 201)
        self.assertEqual(self.srv.count("visitor_id = ?", (vid,)), n)

    def test_a_second_customer_unlinks_without_linkage_consent(self):
        # Linkage is no longer allowed, but a link can still be taken
        # away: else the second person's visits would be the first's.
        a = create(self.cid, email="narrowed-a@example.com")
        b = create(self.cid, email="narrowed-b@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        identify(self.srv, vid, a["email"])
        self.assertEqual(len(links(self.srv, a["id"])), 1)
        no_marketing(self.srv, vid)
        identify(self.srv, vid, a["email"])  # the same person: kept
        self.assertEqual(len(links(self.srv, a["id"])), 1)
        identify(self.srv, vid, "not-registered@example.com")  # unknown
        self.assertEqual(len(links(self.srv, a["id"])), 1)
        identify(self.srv, vid, b["email"])
        self.assertEqual(links(self.srv, a["id"]) + links(self.srv, b["id"]), [])

    def test_the_address_is_never_stored_in_events_or_the_files(self):
        # Not in the register: the database must not hold it anywhere.
        secret = "unregistered.visitor@example.org"
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        identify(self.srv, vid, secret)
        identify(self.srv, None, secret.upper())
        rows = self.srv.query("SELECT props FROM events WHERE name = 'identify'")
        self.assertTrue(rows)
        for row in rows:
            self.assertNotIn("@", row["props"] or "")
        # Registered customers' addresses are in the register, never in
        # the events table.
        self.assertEqual(self.srv.count("props LIKE '%@%' OR url LIKE '%@%'"), 0)
        for name, blob in self.srv.db_files().items():
            self.assertNotIn(secret.encode(), blob, name)
            self.assertNotIn(secret.upper().encode(), blob, name)


class DntObjectionTest(unittest.TestCase):
    """A site with dnt = objection: DNT: 1 on the identify's request
    objects to marketing, as Sec-GPC does everywhere."""

    def test_dnt_objects_to_marketing(self):
        srv, staff = start_server(extra={"site.demo": {"dnt": "objection"}})
        try:
            cust = create(staff["cid"], email="dnt-objects@example.com")
            vid = str(uuid.uuid4())
            record_consent(srv, "custom", vid, decisions={
                "analytics": True, "marketing": True,
                "personalization": False})
            identify(srv, vid, cust["email"], headers={"DNT": "1"})
            self.assertEqual(links(srv, cust["id"]), [])
            identify(srv, vid, cust["email"])
            self.assertEqual([x["categories"] for x in links(srv, cust["id"])],
                             ["marketing"])
        finally:
            srv.close()


class WithAnalyticsTest(unittest.TestCase):
    """The pseudonym of an identify event reaches the customers plugin
    only: the analytics plugin, which keeps every custom event's
    properties in its visits and rollups, never sees it."""

    @classmethod
    def setUpClass(cls):
        sections = {"auth": {"login_max_failures": "1000"},
                    "controller": CONTROLLER,
                    "plugin.analytics": {"visit_timeout": "1s",
                                         "rollup_delay": "0s"}}
        cls.srv = Server(plugins=("anonymize", "analytics", "customers"),
                         sections=sections)
        add_user(cls.srv, "cid", "customer_service", PASSWORDS["cid"])
        cls.srv.start()
        cls.cid = login(cls.srv, "cid", PASSWORDS["cid"])

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_no_pseudonym_in_visits_rollups_or_files(self):
        cust = create(self.cid, email="anna.analytics@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        identify(self.srv, vid, cust["email"], plan="pro")
        # Without consent too: the visit is cookieless, and counted.
        identify(self.srv, None, cust["email"])
        [link] = links(self.srv, cust["id"])
        self.assertEqual(link["visitor_id"], vid)
        [row] = self.srv.query("SELECT hex(link_hash) AS h FROM customers "
                               "WHERE id = ?", (cust["id"],))
        pseudonym = row["h"].lower()
        self.assertEqual(len(pseudonym), 64)
        # The visits end (1 s) and reach the rollups.
        deadline = time.time() + 20
        while time.time() < deadline and self.srv.query(
                "SELECT 1 FROM analytics_visits WHERE closed = 0"):
            time.sleep(0.2)
        self.assertEqual(self.srv.query(
            "SELECT 1 FROM analytics_visits WHERE closed = 0"), [])
        self.assertEqual(self.srv.query(
            "SELECT prop, value FROM analytics_visit_events WHERE name = "
            "'identify' AND prop <> ''"), [{"prop": "plan", "value": "pro"}])
        self.assertTrue(self.srv.query(
            "SELECT 1 FROM analytics_rollup WHERE dim = 'prop:plan'"))
        self.assertFalse(self.srv.query(
            "SELECT 1 FROM analytics_rollup WHERE dim = 'prop:identity'"))
        for name, blob in self.srv.db_files().items():
            self.assertNotIn(pseudonym.encode(), blob, name)
            self.assertNotIn(pseudonym.upper().encode(), blob, name)
        # A client that sends the pseudonym as a property links nothing.
        other = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", other)
        send(self.srv, other, [{"type": "event", "name": "identify",
                                "props": {"identity": pseudonym}}])
        self.assertEqual(links(self.srv, cust["id"]), [link])


class SharedVisitorTest(unittest.TestCase):
    """Visitor ids two customers were linked to before customers
    migration 6 are unlinked by it, and a shared visitor id is forgotten
    once it has no events left."""

    def test_upgrade_and_retention(self):
        srv, staff = start_server()
        self.addCleanup(srv.close)
        cid = staff["cid"]
        a = create(cid, email="upgrade-a@example.com")
        b = create(cid, email="upgrade-b@example.com")
        c = create(cid, email="upgrade-c@example.com")
        vid, alone = str(uuid.uuid4()), str(uuid.uuid4())
        record_consent(srv, "accept_all", vid)
        record_consent(srv, "accept_all", alone)
        identify(srv, vid, a["email"])
        identify(srv, alone, c["email"])
        srv.stop()
        # What the version before migration 6 left: b linked to the same
        # visitor id as a.
        db = sqlite3.connect(srv.db_path)
        db.executescript(
            "DROP TABLE customer_link_shared;"
            "DELETE FROM seula_migrations WHERE component = 'customers' "
            "AND version >= 6;")
        db.execute("INSERT INTO customer_links (customer_id, visitor_id, "
                   "site, receipt, categories, linked_at) SELECT ?, "
                   "visitor_id, site, receipt, categories, linked_at FROM "
                   "customer_links WHERE customer_id = ?", (b["id"], a["id"]))
        db.commit()
        db.close()
        srv.start()
        self.assertEqual(links(srv, a["id"]) + links(srv, b["id"]), [])
        self.assertEqual([x["visitor_id"] for x in links(srv, c["id"])], [alone])
        self.assertEqual([r["visitor_id"] for r in srv.query(
            "SELECT visitor_id FROM customer_link_shared")], [vid])
        # Its events gone (events_retention), the retention task, at
        # start, forgets it.
        srv.stop()
        db = sqlite3.connect(srv.db_path)
        db.execute("DELETE FROM events WHERE visitor_id = ?", (vid,))
        db.commit()
        db.close()
        srv.start()
        self.assertEqual(srv.query("SELECT * FROM customer_link_shared"), [])
        self.assertIn("retention: 1 shared visitor ids without events "
                      "forgotten", srv.stderr())


def day(delta_days=0):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    return (today + datetime.timedelta(days=delta_days)).isoformat()


class SegmentsTest(unittest.TestCase):
    K = 3

    @classmethod
    def setUpClass(cls):
        cls.srv, cls.staff = start_server(
            customers={"segment_min_customers": str(cls.K),
                       "conversions": "signup"})
        cid = cls.staff["cid"]
        cls.people = []
        # Alpha: 5 (one objects to profiling, one to direct marketing),
        # Beta 1, Gamma 2; by segment: 4 wholesale (3 Alpha + 1 Beta)
        # and the direct-marketing objector's, the rest retail.
        plan = [("Alpha Oy", "wholesale")] * 3 + [("Alpha Oy", "retail")] + \
               [("Beta Oy", "wholesale")] + [("Gamma Oy", "retail")] * 2 + \
               [("Alpha Oy", "wholesale")]
        for i, (org, segment) in enumerate(plan):
            cust = create(cid, first_name="Segmentti%d" % i,
                          email="seg%d@example.com" % i,
                          organisation=org, segment=segment)
            vid = str(uuid.uuid4())
            record_consent(cls.srv, "accept_all", vid)
            identify(cls.srv, vid, cust["email"])
            send(cls.srv, vid, [{"type": "pageview"}, {"type": "pageview"},
                                {"type": "event", "name": "signup"},
                                {"type": "event", "name": "newsletter"}])
            cls.people.append(cust)
        r = cid.request("PATCH", "/api/customers/%d" % cls.people[3]["id"],
                        {"flags": {"objects_profiling": True}})
        assert r.status == 200, r
        r = cid.request("PATCH", "/api/customers/%d" % cls.people[7]["id"],
                        {"flags": {"objects_direct_marketing": True}})
        assert r.status == 200, r
        # Linked for personalization alone, or under Sec-GPC (marketing
        # refused): not for the segments, which target marketing.
        for i, headers in enumerate(({}, {"Sec-GPC": "1"})):
            cust = create(cid, first_name="Personoitu%d" % i,
                          email="pers%d@example.com" % i,
                          organisation="Alpha Oy", segment="wholesale")
            vid = str(uuid.uuid4())
            if headers:
                record_consent(cls.srv, "accept_all", vid)
            else:
                record_consent(cls.srv, "custom", vid, decisions={
                    "analytics": True, "marketing": False,
                    "personalization": True})
            identify(cls.srv, vid, cust["email"], headers=headers)
            send(cls.srv, vid, [{"type": "pageview"}])
            assert links(cls.srv, cust["id"]), cust
        # An unlinked visitor and a cookieless one do not count anywhere.
        send(cls.srv, str(uuid.uuid4()), [{"type": "pageview"}])
        send(cls.srv, None, [{"type": "pageview"}])

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def report(self, who="ann", query="by=organisation"):
        r = self.staff[who].request("GET", "/api/segments?" + query)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_groups_under_k_are_merged_and_small_remainders_withheld(self):
        doc = self.report()
        self.assertEqual(doc["k"], self.K)
        self.assertEqual(doc["by"], "organisation")
        # Alpha keeps 3 (the objectors are left out); Beta (1) and Gamma (2)
        # make an "(other)" of 3.
        self.assertEqual(doc["groups"], [
            {"group": "Alpha Oy", "customers": 3, "visitors": 3, "visits": 3,
             "pageviews": 6, "conversions": 3},
            {"group": "(other)", "customers": 3, "visitors": 3, "visits": 3,
             "pageviews": 6, "conversions": 3},
        ])
        self.assertFalse(doc["withheld"])
        self.assertEqual(doc["to"], day())

    def test_by_segment(self):
        doc = self.report(query="by=segment")
        # wholesale: 3 Alpha + Beta = 4; retail: Gamma 2 (the Alpha
        # objector is out) -> under k, and alone in "(other)": withheld.
        self.assertEqual([(g["group"], g["customers"]) for g in doc["groups"]],
                         [("wholesale", 4)])
        self.assertTrue(doc["withheld"])

    def test_no_person_is_exposed(self):
        body = self.staff["ann"].request("GET", "/api/segments").body.decode()
        for cust in self.people:
            self.assertNotIn(cust["email"], body)
            self.assertNotIn(cust["first_name"], body)
        self.assertNotIn('"id"', body)
        self.assertNotIn("customer_id", body)

    def test_a_period_without_visits_is_empty(self):
        doc = self.report(query="from=%s&to=%s" % (day(-60), day(-40)))
        self.assertEqual(doc["groups"], [])

    def test_roles_and_bad_queries_and_audit(self):
        self.assertEqual(self.report("ada")["k"], self.K)
        r = self.staff["cid"].request("GET", "/api/segments")
        assert_json_error(self, r, 403, "forbidden")
        for q in ("by=person", "from=2026-13-01", "to=yesterday",
                  "from=%s&to=%s" % (day(1), day())):
            assert_json_error(self, self.staff["ann"].request(
                "GET", "/api/segments?" + q), 400, "invalid_query")
        assert_json_error(self, self.staff["ann"].request(
            "GET", "/api/segments?by=segment&site=nosuch"), 404, "unknown_site")
        rows = self.srv.query("SELECT * FROM audit_log WHERE route LIKE "
                              "'GET /api/segments%' AND staff_name = 'ann' AND "
                              "detail LIKE 'segments by organisation %'")
        self.assertTrue(rows)
        self.assertEqual(rows[-1]["action"], "read")


class RetentionTest(unittest.TestCase):

    def setUp(self):
        self.srv, self.staff = start_server()
        self.cid = self.staff["cid"]

    def tearDown(self):
        self.srv.close()

    def old(self, years=11, **fields):
        return create(self.cid, relationship_start=day(-365 * (years + 5)),
                      relationship_end=day(-365 * years - 3), **fields)

    def order(self, cust, number, status, date=None):
        r = self.cid.request("POST", "/api/customers/%d/orders" % cust["id"], {
            "number": number, "date": date or day(-365 * 11), "currency": "EUR",
            "invoice_status": status,
            "lines": [{"description": "Kirja", "quantity": 1,
                       "unit_price_cents": 1000}]})
        self.assertEqual(r.status, 201, r)

    def retention(self, *extra):
        return run_seula("retention", "run", "--config", self.srv.config_path,
                         *extra)

    def ids(self):
        return {r["id"] for r in self.srv.query("SELECT id FROM customers")}

    def test_past_retention_goes_held_and_current_ones_stay(self):
        gone = self.old(email="gone@example.com")
        self.order(gone, "R-1", "paid")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        identify(self.srv, vid, "gone@example.com")
        gone2 = self.old(years=20)
        invoice = self.old()
        self.order(invoice, "R-2", "open")
        collection = self.old()
        self.order(collection, "R-3", "collection")
        contact = self.old(flags={"active_contact": True})
        statutory = self.old(statutory_retention_until=day(400))
        recent = self.old(years=9)
        # An order after the recorded end: the relationship went on, and
        # retention counts from the order's day.
        ordered_later = self.old()
        self.order(ordered_later, "R-4", "paid", date=day(-365 * 2))
        ongoing = create(self.cid, relationship_start=day(-365 * 30))
        # An access request not yet answered holds the person; one
        # answered stays, without how the person was identified.
        asking = self.old()
        for who in (asking, gone):
            r = self.cid.request("POST", "/api/dsr", {
                "type": "access", "customer_id": who["id"],
                "verification": "passport FI1234567, born 1970-05-05"})
            self.assertEqual(r.status, 201, r)
        self.assertEqual(self.cid.request("GET", r.json()["export"], csrf=True).status, 200)
        held = {invoice["id"], collection["id"], contact["id"], statutory["id"],
                asking["id"]}
        kept = held | {recent["id"], ongoing["id"], ordered_later["id"]}
        before = self.ids()
        orders_before = self.srv.query("SELECT count(*) AS n FROM customer_orders")

        dry = self.retention("--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertIn("customers: 2 past retention (10y after the relationship "
                      "ends) would be deleted, with 1 orders and 1 visitor links",
                      dry.stdout)
        self.assertIn("customer ids: %d,%d" % tuple(sorted((gone["id"], gone2["id"]))),
                      dry.stdout)
        self.assertIn("kept by a legal hold: 5", dry.stdout)
        self.assertIn("%d (open_request)" % asking["id"], dry.stdout)
        self.assertIn("%d (open_invoice)" % invoice["id"], dry.stdout)
        self.assertIn("%d (debt_collection)" % collection["id"], dry.stdout)
        self.assertIn("%d (active_contact)" % contact["id"], dry.stdout)
        self.assertIn("%d (statutory_retention)" % statutory["id"], dry.stdout)
        self.assertRegex(dry.stderr, r"retention.*dry run: \d+ events, \d+ "
                                     r"consent records, \d+ standing consents, "
                                     r"\d+ sessions, 2 customers")
        self.assertEqual(self.ids(), before, "the dry run changed nothing")
        self.assertEqual(self.srv.query("SELECT count(*) AS n FROM customer_orders"),
                         orders_before)

        run = self.retention()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("customers: 2 past retention (10y after the relationship "
                      "ends) deleted, with 1 orders and 1 visitor links",
                      run.stdout)
        self.assertRegex(run.stderr, r"run: \d+ events, \d+ consent records, \d+ "
                                     r"standing consents, \d+ sessions, 2 customers "
                                     r"\(1 orders, 1 visitor links\) deleted; 5 "
                                     r"customers held")
        self.assertEqual(self.ids(), before - {gone["id"], gone2["id"]})
        self.assertTrue(kept <= self.ids())
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM customer_orders WHERE customer_id = ?",
            (gone["id"],))[0]["n"], 0)
        self.assertEqual(links(self.srv, gone["id"]), [])
        self.assertNotIn(b"gone@example.com", self.srv.db_files().get("db", b""))
        self.assertEqual([(r["customer_id"], r["status"], r["verification"])
                          for r in self.srv.query(
                              "SELECT customer_id, status, verification FROM "
                              "customer_dsr_requests ORDER BY id")],
                         [(asking["id"], "open", "passport FI1234567, born 1970-05-05"),
                          (gone["id"], "completed", "")])
        # A second run finds nothing more.
        again = self.retention()
        self.assertIn("customers: 0 past retention", again.stdout)

    def test_a_visitor_request_before_linking_holds_the_customer(self):
        # The visitor asked for their data before their id was linked:
        # the person is still waiting for it, as for a customer's own.
        waiting = self.old(email="waiting@example.com")
        vid = str(uuid.uuid4())
        record_consent(self.srv, "accept_all", vid)
        r = self.cid.request("POST", "/api/dsr", {
            "type": "access", "visitor_id": vid,
            "verification": "receipt shown"})
        self.assertEqual(r.status, 201, r)
        identify(self.srv, vid, "waiting@example.com")
        self.assertEqual(len(links(self.srv, waiting["id"])), 1)
        run = self.retention()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("customers: 0 past retention", run.stdout)
        self.assertIn("%d (open_request)" % waiting["id"], run.stdout)
        self.assertIn(waiting["id"], self.ids())
        # Answered, the hold is gone.
        self.assertEqual(self.cid.request("GET", r.json()["export"],
                                          csrf=True).status, 200)
        run = self.retention()
        self.assertIn("customers: 1 past retention", run.stdout)
        self.assertNotIn(waiting["id"], self.ids())

    def test_customers_without_an_end_date_are_named_not_kept_silently(self):
        # No relationship_end: retention cannot count, so a record with no
        # sign of the relationship for as long as the retention is named
        # for staff to date, and kept.
        quiet = create(self.cid, relationship_start=day(-365 * 30))
        self.order(quiet, "U-1", "paid")  # 11 years ago
        ordering = create(self.cid)
        r = self.cid.request("POST", "/api/customers/%d/orders" % ordering["id"], {
            "number": "U-2", "date": day(-30), "currency": "EUR",
            "invoice_status": "paid", "lines": [{"description": "Kirja",
                                                 "quantity": 1,
                                                 "unit_price_cents": 1000}]})
        self.assertEqual(r.status, 201, r)
        contact = create(self.cid, flags={"active_contact": True})
        dated = self.old(years=9)
        # Kept by law anyway, or anonymised (nothing names anyone).
        lawful = create(self.cid, statutory_retention_until=day(400))
        anonymous = create(self.cid)
        r = self.cid.request("POST", "/api/dsr", {
            "type": "anonymisation", "customer_id": anonymous["id"],
            "verification": "asked in person"})
        self.assertEqual(r.status, 201, r)
        old_ms = int((time.time() - 12 * 365 * 86400) * 1000)
        db = sqlite3.connect(self.srv.db_path, timeout=30)
        with db:
            db.execute("UPDATE customers SET updated_at = ?, created_at = ?",
                       (old_ms, old_ms))
        db.close()
        before = self.ids()
        dry = self.retention("--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertIn("no relationship_end and nothing for as long (set when "
                      "it ended, or they are kept for ever): 1: %d" % quiet["id"],
                      dry.stdout)
        run = self.retention()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(self.ids(), before, "named, never deleted")
        self.srv.stop()
        self.srv.start()
        self.assertRegex(self.srv.stderr(),
                         r"retention: 1 customers have no relationship_end and "
                         r"nothing for 10y .*\[%d\]" % quiet["id"])
        del ordering, contact, dated, lawful

    def test_the_task_runs_at_start_and_logs_its_counts(self):
        gone = self.old()
        held = self.old(flags={"active_contact": True})
        self.srv.stop()
        self.srv.start()
        self.assertEqual(self.ids() & {gone["id"], held["id"]}, {held["id"]})
        self.assertRegex(
            self.srv.stderr(),
            r"customers: retention \(10y after the relationship ends\): 1 "
            r"customers deleted \[%d\] with 0 orders and 0 visitor links; 1 "
            r"past retention kept by a legal hold \[%d \(active_contact\)\]"
            % (gone["id"], held["id"]))

    def test_configured_period(self):
        srv, staff = start_server(customers={"retention": "400d"})
        try:
            c = create(staff["cid"], relationship_start=day(-900),
                       relationship_end=day(-500))
            r = run_seula("retention", "run", "--config", srv.config_path)
            self.assertIn("(400d after the relationship ends) deleted", r.stdout)
            self.assertEqual(srv.query("SELECT id FROM customers WHERE id = ?",
                                       (c["id"],)), [])
            # The privacy statement states the period the task enforces.
            page = srv.request("GET", "/privacy?lang=en").body.decode()
            for what in ("customers", "orders"):
                self.assertRegex(page, r'data-retention="%s" data-days="400"' % what)
            self.assertIn("after the end of the customer relationship", page)
        finally:
            srv.close()
        srv, staff = start_server()
        try:
            page = srv.request("GET", "/privacy?lang=fi").body.decode()
            self.assertRegex(page, r'data-retention="customers" data-years="10"'
                                   r'><th scope="row">Asiakastiedot</th><td>10 vuotta '
                                   r'asiakassuhteen päättymisestä')
        finally:
            srv.close()
        bad = Server(plugins=PLUGINS,
                     sections={"plugin.customers": {"retention": "10 years"}})
        try:
            self.assertNotEqual(bad.start(expect_fail=True), 0)
            self.assertIn("retention", bad.stderr())
        finally:
            bad.close()

    def test_events_and_sessions_past_their_time(self):
        send(self.srv, None, [{"type": "pageview"}])
        self.srv.stop()
        db = sqlite3.connect(self.srv.db_path)
        db.execute("INSERT INTO events (site, type, ts, url) VALUES "
                   "('demo', 1, 1000, 'http://localhost/old')")
        # Sites whose section is gone: their old events go after the
        # default events_retention, not never; a recent one stays.
        now_ms = int(time.time() * 1000)
        for site, ts in (("aa-gone", 1000), ("zz-gone", 1000),
                         ("zz-gone", now_ms - 86400000)):
            db.execute("INSERT INTO events (site, type, ts, url) VALUES "
                       "(?, 1, ?, 'http://localhost/gone')", (site, ts))
        staff_id = db.execute("SELECT id FROM staff LIMIT 1").fetchone()[0]
        db.execute("INSERT INTO sessions (token_hash, staff_id, csrf, created_at, "
                   "last_seen) VALUES (randomblob(32), ?, 'x', 1000, 1000)",
                   (staff_id,))
        db.commit()
        db.close()
        dry = self.retention("--dry-run")
        self.assertIn("events: 3 past their site's events_retention would be "
                      "deleted", dry.stdout)
        self.assertIn("sessions: 1 expired staff sessions would be deleted",
                      dry.stdout)
        self.assertEqual(self.srv.count("ts = 1000"), 3)
        run = self.retention("--db", self.srv.db_path)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("events: 3 past their site's events_retention deleted",
                      run.stdout)
        self.assertIn("sessions: 1 expired staff sessions deleted", run.stdout)
        self.assertEqual(self.srv.count("ts = 1000"), 0)
        self.assertEqual(self.srv.count("site = 'zz-gone'"), 1)
        self.assertEqual(self.srv.count(), 2)
        self.assertEqual(self.srv.query(
            "SELECT count(*) AS n FROM sessions WHERE created_at = 1000")[0]["n"], 0)
        # The WAL was truncated after the deletions.
        self.assertEqual(len(self.srv.db_files().get("-wal", b"")), 0)

    def test_usage(self):
        self.assertEqual(run_seula("retention").returncode, 2)
        self.assertEqual(run_seula("retention", "go").returncode, 2)
        self.assertEqual(run_seula("retention", "run", "--now").returncode, 2)


if __name__ == "__main__":
    unittest.main()
