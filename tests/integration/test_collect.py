"""POST/GET /api/collect on the real server: what is stored, what is refused
and how (PROMISES #21: IP, visit time, pages, browser are collected; every
bad input answers a JSON 4xx and stores nothing)."""
import json
import os
import socket
import threading
import time
import unittest

from seulatest import (Server, assert_json_error, pageview, record_consent,
                       xff_padding)


class CollectTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=("enricher", "anonymize", "testkit")).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        cls.srv.close()
        assert rc == 0, "server did not stop cleanly: %s" % rc

    def test_pageview_is_stored_normalised(self):
        before = time.time() * 1000
        r = self.srv.collect(pageview(
            url="http://localhost/shop/item?utm_source=news&utm_campaign=nov&email=a%40b.fi#top",
            referrer="https://www.example.net/search?q=private", title="Item 1",
            language="fi-FI", screen_width=390, screen_height=844),
            headers={"X-Forwarded-For": "198.51.100.23", "User-Agent": "Mozilla/5.0 (X11) Test/1",
                     "Sec-GPC": "1"})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        row = self.srv.query("SELECT * FROM events WHERE title = 'Item 1'")[0]
        self.assertEqual(row["site"], "demo")
        self.assertEqual(row["type"], 1)
        self.assertGreaterEqual(row["ts"], before - 1000)
        self.assertLessEqual(row["ts"], time.time() * 1000 + 1000)
        self.assertEqual(row["url"], "http://localhost/shop/item")
        self.assertEqual(row["path"], "/shop/item")
        self.assertEqual(row["hostname"], "localhost")
        self.assertEqual(row["utm_source"], "news")
        self.assertEqual(row["utm_campaign"], "nov")
        self.assertEqual(row["referrer"], "https://www.example.net/search")
        self.assertEqual((row["screen_width"], row["screen_height"]), (390, 844))
        self.assertEqual(row["language"], "fi-FI")
        # Masked, from X-Forwarded-For (loopback is a trusted proxy).
        self.assertEqual(row["ip_anon"], "198.51.0.0")
        self.assertIsNotNone(row["visitor_hash"])
        self.assertIsNone(row["visitor_id"])
        # The enrich stage saw the full IP and the request headers.
        self.assertEqual(row["country"], "ZZ")
        self.assertEqual(row["region"], "1")

    def test_escaped_and_internationalised_addresses_are_not_stored(self):
        # No part of an address may pass in another form: a dot as %2E,
        # a domain in UTF-8, raw in a title or percent-encoded in a URL.
        cases = [
            ("http://localhost/u/john.doe%40example%2Ecom", None, None,
             "/u/(email)"),
            ("http://localhost/u/john.doe%40example%2ecom/x", None, None,
             "/u/(email)/x"),
            ("http://localhost/u/john@ex\u00e4mple.de", None, None, "/u/(email)"),
            ("http://localhost/u/john@ex%c3%a4mple.de", None, None, "/u/(email)"),
            ("http://localhost/kontakt", "Kontakt: info@ex\u00e4mple.de",
             "https://mail.example.net/read/john.doe%40example%2Ecom",
             "/kontakt"),
        ]
        for i, (url, title, referrer, path) in enumerate(cases):
            with self.subTest(url=url, title=title):
                ev = pageview(url=url, title=title or "redact-%d" % i)
                if referrer:
                    ev["referrer"] = referrer
                r = self.srv.collect(ev)
                self.assertEqual(r.status, 204, r)
                row = self.srv.query("SELECT url, path, title, referrer FROM events "
                                     "ORDER BY id DESC LIMIT 1")[0]
                self.assertEqual(row["path"], path)
                self.assertEqual(row["url"], "http://localhost" + path)
                self.assertEqual(row["title"],
                                 "Kontakt: (email)" if title else "redact-%d" % i)
                if referrer:
                    self.assertEqual(row["referrer"],
                                     "https://mail.example.net/read/(email)")
        leaks = self.srv.query(
            "SELECT url, path, title, referrer FROM events WHERE "
            "url || path || coalesce(title, '') || coalesce(referrer, '') "
            "LIKE '%john%' OR coalesce(title, '') LIKE '%info@%'")
        self.assertEqual(leaks, [])

    def test_a_referrer_path_is_kept_as_page_paths_are(self):
        # Raw UTF-8, or escapes in either case: one referrer, encoded as
        # a page URL's path is.
        for ref in ("https://example.com/k\u00e4ytt\u00e4j\u00e4/",
                    "https://example.com/k%c3%a4ytt%c3%a4j%c3%a4/",
                    "https://example.com/k%C3%A4ytt%C3%A4j%C3%A4/?q=x"):
            with self.subTest(ref=ref):
                r = self.srv.collect(pageview(referrer=ref))
                self.assertEqual(r.status, 204, r)
                row = self.srv.query("SELECT referrer FROM events "
                                     "ORDER BY id DESC LIMIT 1")[0]
                self.assertEqual(row["referrer"],
                                 "https://example.com/k%C3%A4ytt%C3%A4j%C3%A4/")

    def test_batch_and_custom_events(self):
        # The visitor id is kept: a consent record grants analytics to it.
        record_consent(self.srv, "accept_all", "0f8fad5b-d9cb-469f-a165-70867728950e")
        events = [pageview(title="batch-a"),
                  {"site": "demo", "type": "event", "url": "http://localhost/",
                   "name": "signup", "props": {"plan": "pro", "seats": 3}, "title": "batch-b"},
                  {"site": "demo", "type": "engagement", "url": "http://localhost/",
                   "engagement_ms": 4321, "title": "batch-c",
                   "visitor_id": "0f8fad5b-d9cb-469f-a165-70867728950e"}]
        r = self.srv.collect(events, content_type="application/json; charset=utf-8")
        self.assertEqual(r.status, 204, r)
        rows = {r["title"]: r for r in self.srv.query(
            "SELECT * FROM events WHERE title LIKE 'batch-%'")}
        self.assertEqual(set(rows), {"batch-a", "batch-b", "batch-c"})
        self.assertEqual(rows["batch-b"]["name"], "signup")
        self.assertEqual(json.loads(rows["batch-b"]["props"]), {"plan": "pro", "seats": 3})
        self.assertEqual(rows["batch-c"]["engagement_ms"], 4321)
        self.assertEqual(rows["batch-c"]["visitor_id"], "0f8fad5b-d9cb-469f-a165-70867728950e")

    def test_props_past_their_stored_size_are_named(self):
        # Each value within 512 bytes, together past 4 KiB as stored (an
        # e-acute is written \u00e9, six bytes): refused, and saying so.
        for props in ({"k%d" % i: "x" * 500 for i in range(9)},
                      {"a": "\u00e9" * 256, "b": "\u00e9" * 256, "c": "\u00e9" * 256}):
            r = self.srv.collect([{"site": "demo", "type": "event", "name": "big",
                                   "url": "http://localhost/", "props": props}])
            assert_json_error(self, r, 400, "invalid_event")
            self.assertIn("props takes at most 4096 bytes as stored", r.json()["message"])

    def test_props_keys_the_filters_can_name(self):
        for key in ("a==b", "c;d", "g!=h", "x=y"):
            r = self.srv.collect([{"site": "demo", "type": "event", "name": "keys",
                                   "url": "http://localhost/", "props": {key: "v"}}])
            assert_json_error(self, r, 400, "invalid_event")
            self.assertIn("may not hold '=' or ';'", r.json()["message"])
        r = self.srv.collect([{"site": "demo", "type": "event", "name": "keys",
                               "url": "http://localhost/", "props": {"a!b|c": "v"}}])
        self.assertEqual(r.status, 204, r)

    def test_get_answers_gif(self):
        r = self.srv.request("GET", "/api/collect?site=demo&type=pageview"
                             "&url=http%3A%2F%2Flocalhost%2Fnoscript&title=noscript")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "image/gif")
        self.assertTrue(r.body.startswith(b"GIF89a"))
        self.assertEqual(self.srv.count("title = 'noscript'"), 1)
        assert_json_error(self, self.srv.request("GET", "/api/collect?site=demo"), 400,
                          "missing_field")
        # A malformed %-escape is refused, not stored as the text "%zz".
        for bad in ("%zz", "%", "a%4"):
            with self.subTest(title=bad):
                assert_json_error(self, self.srv.request(
                    "GET", "/api/collect?site=demo&type=pageview"
                    "&url=http%3A%2F%2Flocalhost%2F&title=" + bad), 400, "invalid_event")
        self.assertEqual(self.srv.count("instr(title, '%') > 0"), 0)
        # A number is digits: no sign but '-', no white space.
        for bad in ("%2B390", "%20390", "390%20", "", "0x10"):
            with self.subTest(screen_width=bad):
                assert_json_error(self, self.srv.request(
                    "GET", "/api/collect?site=demo&type=pageview"
                    "&url=http%3A%2F%2Flocalhost%2F&screen_width=" + bad), 400,
                    "invalid_event")

    def test_bad_input_is_refused_and_nothing_stored(self):
        before = self.srv.count()
        cases = [
            ("{", 400, "invalid_json"),
            ("", 400, "empty_body"),
            ("[]", 400, "invalid_event"),
            (json.dumps({"type": "pageview", "url": "http://localhost/"}), 400, "missing_field"),
            (json.dumps(pageview(site="nosuch")), 404, "unknown_site"),
            (json.dumps(pageview(url="https://elsewhere.example/")), 403, "domain_not_allowed"),
            (json.dumps(pageview(colour="red")), 400, "invalid_event"),
            (json.dumps(pageview(screen_width="wide")), 400, "invalid_event"),
            (json.dumps([pageview()] * 51), 400, "too_many_events"),
            (json.dumps([pageview(title="one good"), pageview(type="nope")]), 400, "invalid_event"),
            (b'{"site":"demo","type":"pageview","url":"http://localhost/","title":"\xff"}',
             400, "invalid_json"),
            ('{"site":"demo","type":"pageview","url":"http://localhost/","title":"a\\u0000b"}',
             400, "invalid_json"),
        ]
        for body, status, code in cases:
            with self.subTest(body=body[:60]):
                assert_json_error(self, self.srv.collect(body), status, code)
        assert_json_error(self, self.srv.collect(pageview(), content_type="application/xml"),
                          415, "unsupported_media_type")
        assert_json_error(self, self.srv.collect(pageview(), content_type="text/plain; charset=latin1"),
                          415, "unsupported_media_type")
        r = self.srv.request("POST", "/api/collect", json.dumps(pageview()))
        assert_json_error(self, r, 415)
        for method in ("PUT", "DELETE", "PATCH"):
            r = self.srv.request(method, "/api/collect", "{}", {"Content-Type": "text/plain"})
            assert_json_error(self, r, 405, "method_not_allowed")
            self.assertIn("POST", r.header("Allow"))
        big = json.dumps(pageview(title="x" * 70000))
        assert_json_error(self, self.srv.collect(big), 413, "body_too_large")
        self.assertEqual(self.srv.count(), before)

    def test_far_oversized_body_is_cut_off(self):
        # Past libevent's own cap the connection is refused before the body
        # is read (libevent 2.1 answers that with its own page, not JSON).
        r = self.srv.collect("x" * (4 * 65536 + 10))
        self.assertEqual(r.status, 413)
        self.assertTrue(self.srv.alive())

    def test_two_content_lengths_end_the_connection(self):
        # A proxy in front may frame the body by the other one: the bytes
        # after it must not be read as a request of their own.
        body = json.dumps(pageview(title="smuggled")).encode()
        smuggled = (b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        out = self.srv.raw(
            b"POST /api/collect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\nContent-Length: 3\r\n\r\n" % len(body)
            + body + smuggled, timeout=3)
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out[:80])
        self.assertIn(b"more than one Content-Length", out)
        self.assertEqual(out.count(b"HTTP/1.1 "), 1, "nothing after it was answered")
        self.assertEqual(self.srv.count("title = 'smuggled'"), 0)
        # White space before a header's colon (RFC 9112 5.1: a server
        # MUST answer 400): libevent reads another header than a proxy
        # may, "Content-Length " for "Content-Length".
        for name in (b"Content-Length ", b"X-Any\t"):
            with self.subTest(name=name):
                out = self.srv.raw(b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
                                   b"%s: 0\r\n\r\n" % name, timeout=3)
                self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out[:80])

    def test_a_body_libevent_leaves_unread_ends_the_connection(self):
        # libevent reads no body for HEAD, TRACE or a method it does not
        # know: a request in one must not be answered as a request.
        smuggled = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
        for method in (b"PROPFIND", b"HEAD", b"TRACE"):
            with self.subTest(method=method):
                out = self.srv.raw(
                    b"%s /api/collect HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: keep-alive\r\nContent-Length: %d\r\n\r\n"
                    % (method, len(smuggled)) + smuggled, timeout=3)
                self.assertTrue(out.startswith(b"HTTP/1.1 405 "), out[:80])
                self.assertEqual(out.count(b"HTTP/1.1 "), 1,
                                 "the body was not answered as a request")
                self.assertIn(b"Connection: close", out)
        # A CONNECT: libevent answers as for a tunnel, without a length,
        # and never closes; the length tells the client where it ends.
        out = self.srv.raw(b"CONNECT example.com:443 HTTP/1.1\r\n"
                           b"Host: example.com:443\r\n\r\n", timeout=2)
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out[:80])
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertIn(b"\r\nContent-Length: %d\r\n" % len(body), head + b"\r\n")
        self.assertEqual(json.loads(body)["error"], "bad_request")

    def test_head_answers_headers_only(self):
        # Two requests on one connection: the HEAD's answer has the
        # length a GET's body would have and no body, so the next
        # answer starts right after its headers.
        for path in (b"/api/health", b"/seula.js", b"/nosuch"):
            with self.subTest(path=path):
                out = self.srv.raw(
                    b"HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: close\r\n\r\n" % path, timeout=3)
                head, _, rest = out.partition(b"\r\n\r\n")
                self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), rest[:80])
                get = self.srv.request("GET", path.decode())
                length = [v for k, v in (line.split(b": ", 1) for line in
                                         head.split(b"\r\n")[1:])
                          if k.lower() == b"content-length"]
                self.assertEqual(length, [str(len(get.body)).encode()])
        # A HEAD's 304 has no length, as a GET's has none: there is no
        # content for it to be the length of (a cache could take a 0 for
        # its stored copy's).
        etag = self.srv.request("GET", "/seula.js").header("ETag").encode()
        for method in (b"HEAD", b"GET"):
            with self.subTest(method=method):
                out = self.srv.raw(
                    b"%s /seula.js HTTP/1.1\r\nHost: x\r\n"
                    b"If-None-Match: %s\r\n\r\n"
                    b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: close\r\n\r\n" % (method, etag), timeout=3)
                head, _, rest = out.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 304 "), head[:80])
                self.assertNotIn(b"\r\ncontent-length:", head.lower())
                self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), rest[:80])

    def test_cors(self):
        r = self.srv.request("OPTIONS", "/api/collect", headers={
            "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
        self.assertEqual(r.status, 204)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "http://localhost:3000")
        self.assertIn("POST", r.header("Access-Control-Allow-Methods"))
        self.assertEqual(r.header("Vary"), "Origin")
        r = self.srv.request("OPTIONS", "/api/collect", headers={"Origin": "https://evil.example"})
        assert_json_error(self, r, 403, "origin_not_allowed")
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        r = self.srv.collect(pageview(title="cors ok"), headers={"Origin": "http://127.0.0.1:8000"})
        self.assertEqual(r.status, 204)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "http://127.0.0.1:8000")
        r = self.srv.collect(pageview(title="cors bad"), headers={"Origin": "https://evil.example"})
        assert_json_error(self, r, 403, "origin_not_allowed")
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        self.assertEqual(self.srv.count("title = 'cors bad'"), 0)
        # Other refusals from an allowed origin stay readable to its page.
        r = self.srv.request("POST", "/api/collect", b"{bad",
                             {"Content-Type": "text/plain", "Origin": "http://127.0.0.1:8000"})
        assert_json_error(self, r, 400, "invalid_json")
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "http://127.0.0.1:8000")

    def test_filter_stage_never_sees_full_ip(self):
        self.assertEqual(self.srv.collect(pageview(title="probe ip")).status, 204)
        row = self.srv.query("SELECT props FROM events WHERE title = 'probe ip'")[0]
        self.assertEqual(json.loads(row["props"]), {"ip": "gone"})

    def test_static_files(self):
        r = self.srv.request("GET", "/seula.js")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/javascript"))
        etag = r.header("ETag")
        self.assertTrue(etag)
        r2 = self.srv.request("GET", "/seula.js", headers={"If-None-Match": etag})
        self.assertEqual(r2.status, 304)
        r = self.srv.request("GET", "/demo")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "/demo/")
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=5)
        s.sendall(b"GET /demo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        self.assertTrue(s.recv(64).startswith(b"HTTP/1.1 301 Moved Permanently\r\n"))
        s.close()
        r = self.srv.request("GET", "/demo/")
        self.assertEqual(r.status, 200)
        self.assertIn("default-src 'self'", r.header("Content-Security-Policy"))
        # A single-page app's routes fall back to its folder's index.
        r = self.srv.request("GET", "/demo/pricing")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, self.srv.request("GET", "/demo/").body)
        assert_json_error(self, self.srv.request("GET", "/demo/missing.png"), 404)
        for path in ("/nope", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/.git/config",
                     "/demo/%00"):
            with self.subTest(path=path):
                assert_json_error(self, self.srv.request("GET", path), 404)
        assert_json_error(self, self.srv.request("POST", "/seula.js", "x"), 405)
        self.assertEqual(self.srv.request("HEAD", "/seula.js").status, 200)

    def test_health(self):
        r = self.srv.request("GET", "/api/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["status"], "ok")

    def test_hostile_bytes_never_crash(self):
        attacks = [
            b"GARBAGE\r\n\r\n",
            b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n",
            b"POST /api/collect HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"POST /api/collect HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"POST /api/collect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: text/plain\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
            b"POST /api/collect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: text/plain\r\n\r\n" + b"ffff\r\n" + b"a" * 65535 + b"\r\n" * 5,
            b"\x00\x01\x02\xff" * 100,
            b"GET /api/collect?site=%ZZ&%%%=%% HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET http://other.example/api/health HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\nGET /api/health HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        for data in attacks:
            with self.subTest(data=data[:40]):
                out = self.srv.raw(data, timeout=2)
                if out:
                    self.assertTrue(out.startswith(b"HTTP/1.1 "), out[:80])
                self.assertTrue(self.srv.alive())
        # Pipelined: both answered in order.
        out = self.srv.raw(attacks[-1] + b"", timeout=1)
        self.assertEqual(out.count(b"HTTP/1.1 200"), 2)

    def test_a_large_header_block_gets_a_json_431(self):
        # Past 16 KiB, Seula's own JSON answer, and the connection ends;
        # libevent keeps its HTML 400 for blocks past 64 KiB (README).
        out = self.srv.raw(b"GET /api/health HTTP/1.1\r\nHost: x\r\nCookie: " + b"c" * 20000 +
                           b"\r\n\r\n", timeout=2)
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large"), head[:80])
        self.assertIn(b"Connection: close", head)
        self.assertEqual(json.loads(body)["error"], "headers_too_large")
        # Just under the limit: answered as usual.
        out = self.srv.raw(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                           b"Cookie: " + b"c" * 16000 + b"\r\n\r\n", timeout=2)
        self.assertTrue(out.startswith(b"HTTP/1.1 200"), out[:80])
        # (libevent may close before reading all of it: a reset, no answer)
        try:
            out = self.srv.raw(b"GET /api/health HTTP/1.1\r\nHost: x\r\nCookie: " + b"c" * 70000 +
                               b"\r\n\r\n", timeout=2)
        except ConnectionResetError:
            out = b""
        if out:
            self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:80])
        self.assertTrue(self.srv.alive())

    def test_clients_that_vanish(self):
        # Send and hang up before the reply: the server must reply into the
        # void without touching freed memory (ASan would abort it).
        body = json.dumps(pageview(title="vanish")).encode()
        req = (b"POST /api/collect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body

        def hit():
            for _ in range(30):
                s = socket.create_connection((self.srv.host, self.srv.port))
                s.sendall(req)
                s.close()

        threads = [threading.Thread(target=hit) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(0.5)
        self.assertTrue(self.srv.alive())


def cpu_seconds(pid):
    """User and system CPU time of process pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DescriptorLimitTest(unittest.TestCase):

    def test_out_of_descriptors_it_pauses_accepting_and_recovers(self):
        # More connections than open files: accept() fails at once on a
        # socket that stays readable.  libevent retried it in a busy loop
        # and logged each failure; the server now pauses, warns once, and
        # serves again when the connections go.
        srv = Server()
        try:
            srv.start(nofile=128)
            socks = []
            try:
                for _ in range(200):
                    socks.append(socket.create_connection((srv.host, srv.port), timeout=5))
                time.sleep(0.5)
                cpu0, log0 = cpu_seconds(srv.proc.pid), len(srv.stderr())
                time.sleep(1.5)
                cpu = cpu_seconds(srv.proc.pid) - cpu0
                logged = srv.stderr()[log0:]
                self.assertLess(cpu, 0.4, "CPU seconds in 1.5 s, out of descriptors")
                self.assertLess(len(logged), 1000, logged[:500])
                self.assertIn("raise the open files limit", srv.stderr())
            finally:
                for s in socks:
                    s.close()
            deadline = time.monotonic() + 10
            while True:
                try:
                    r = srv.request("GET", "/api/health", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            self.assertEqual(r.status, 200)
            self.assertEqual(srv.stop(), 0, srv.stderr()[-2000:])
            print("out of descriptors: %.2f CPU seconds in 1.5 s" % cpu)
        finally:
            srv.close()


class ForwardedForTest(unittest.TestCase):
    """Behind a trusted proxy the client is the right-most untrusted entry
    of X-Forwarded-For, however long the header, and never the proxy."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def stored_ip(self, title, headers):
        r = self.srv.collect(pageview(title=title), headers=headers)
        self.assertEqual(r.status, 204, r)
        [row] = self.srv.query("SELECT ip_anon FROM events WHERE title = ?", (title,))
        return row["ip_anon"]

    def test_a_long_header_ends_in_the_client(self):
        # nginx's $proxy_add_x_forwarded_for: what the client sent, then
        # the address nginx saw, in one header of over 8 KiB.
        xff = xff_padding() + ", 203.0.113.9"
        self.assertGreater(len(xff), 9000)
        self.assertEqual(self.stored_ip("xff-long", {"X-Forwarded-For": xff}),
                         "203.0.0.0")

    def test_two_headers_are_read_as_one(self):
        # A proxy that adds a header of its own after the client's (HAProxy's
        # option forwardfor), and a client's header in two parts.
        for title, headers, want in (
                ("xff-two", [("X-Forwarded-For", xff_padding()),
                             ("X-Forwarded-For", "192.0.2.44")], "192.0.0.0"),
                ("xff-halves", [("X-Forwarded-For", xff_padding(380)),
                                ("X-Forwarded-For", xff_padding(380) + ", 198.51.100.7")],
                 "198.51.0.0")):
            with self.subTest(title=title):
                self.assertEqual(self.stored_ip(title, headers), want)

    def test_a_header_naming_no_client_is_refused(self):
        # Falling back to the proxy's address would make every such request
        # the proxy's: refused instead, whatever the route, storing nothing.
        before = self.srv.count()
        for xff in ("203.0.113.9, unknown", "", "unix:", "203.0.113.9, junk, 127.0.0.2",
                    "203.0.113.9, ::1, " + ", ".join(["127.0.0.1"] * 32),
                    # A port that is not decimal digits up to 65535.
                    "203.0.113.9:abc", "203.0.113.9:65536", "[2001:db8::9]:",
                    "203.0.113.9, 127.0.0.2:http"):
            with self.subTest(xff=xff[:40]):
                r = self.srv.collect(pageview(title="xff-bad"), headers={"X-Forwarded-For": xff})
                doc = assert_json_error(self, r, 400, "bad_forwarded_for")
                self.assertIn("X-Forwarded-For", doc["message"])
                self.assertNotIn("203.0.113.9", doc["message"])
        for path in ("/api/health", "/api/me", "/"):
            with self.subTest(path=path):
                r = self.srv.request("GET", path, headers={"X-Forwarded-For": "unknown"})
                assert_json_error(self, r, 400, "bad_forwarded_for")
        self.assertEqual(self.srv.count(), before)
        # The operator hears of it, without any address.
        log = self.srv.stderr()
        self.assertIn("names no client", log)
        self.assertNotIn("203.0.113", log)


class NoTrustedProxyTest(unittest.TestCase):
    def test_forwarded_for_ignored_from_untrusted_peer(self):
        with Server(server={"trusted_proxies": ""}) as srv:
            r = srv.collect(pageview(title="spoof"), headers={"X-Forwarded-For": "203.0.113.9"})
            self.assertEqual(r.status, 204)
            self.assertEqual(srv.query("SELECT ip_anon FROM events")[0]["ip_anon"], "127.0.0.0")
            # Nor is it refused: only a trusted proxy must name the client.
            r = srv.collect(pageview(title="junk"), headers={"X-Forwarded-For": "unknown"})
            self.assertEqual(r.status, 204)


if __name__ == "__main__":
    unittest.main()
