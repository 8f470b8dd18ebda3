"""The files of web/ as the real server sends them: a gzip copy, made once
at start, to the clients whose Accept-Encoding takes it (RFC 9110 12.5.3),
an ETag per coding, If-None-Match against the coding served (RFC 9110
13.1.2), HEAD and 304 without a body, and the tracker and the banner kept
by browsers for an hour (they load on every page of the sites)."""
import gzip
import http.client
import json
import os
import shutil
import tempfile
import unittest

from seulatest import SOURCE, Server

WEB = os.path.join(SOURCE, "web") if SOURCE else ""


def web_file(path):
    with open(os.path.join(WEB, path.lstrip("/")), "rb") as f:
        return f.read()


def fetch(srv, path, headers=(), method="GET"):
    """`path` with exactly `headers` (pairs; a name may come twice):
    http.client would add Accept-Encoding: identity of its own."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        r = conn.getresponse()
        r.body = r.read()
        return r
    finally:
        conn.close()


def head_block(srv, request):
    """The header lines of the answer to a raw HEAD `request`, sent with a
    GET behind it on the same connection, and what came after them: a HEAD
    answer has no body, so the GET's answer must start right there."""
    out = srv.raw(request + b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n", timeout=3)
    head, _, rest = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        k, _, v = line.partition(": ")
        fields.setdefault(k.lower(), []).append(v)
    return lines[0], fields, rest


GZIP = [("Accept-Encoding", "gzip")]


class OneServer(unittest.TestCase):
    """A class's tests share one server, which must stop cleanly."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        cls.srv.close()
        assert rc == 0, "server did not stop cleanly: %s" % rc


class StaticGzipTest(OneServer):
    def assert_gzip(self, r, plain):
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(gzip.decompress(r.body), plain)
        self.assertLess(len(r.body), len(plain) * 0.9)
        self.assertEqual(r.getheader("Content-Length"), str(len(r.body)))
        self.assertEqual(r.getheader("Vary"), "Accept-Encoding")

    def assert_plain(self, r, plain):
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.getheader("Content-Encoding"))
        self.assertEqual(r.body, plain)
        # The plain answer says it depends on Accept-Encoding too, or a
        # cache would hand it to every client, or the gzip one to this.
        self.assertEqual(r.getheader("Vary"), "Accept-Encoding")

    def test_gzip_when_the_client_takes_it(self):
        for path in ("/seula.js", "/consent.js", "/demo/index.html",
                     "/style.css"):
            plain = web_file(path)
            for value in ("gzip", "gzip, deflate, br, zstd", "GZIP",
                          " deflate ,gzip;q=0.5 ", "br, *", "x-gzip",
                          "gzip;q=1.000", "gzip; Q=0.001, identity;q=0.001",
                          "gzip;q=1, gzip"):
                with self.subTest(path=path, accept=value):
                    self.assert_gzip(fetch(self.srv, path,
                                           [("Accept-Encoding", value)]),
                                     plain)
        # Several Accept-Encoding headers are one list.
        r = fetch(self.srv, "/seula.js", [("Accept-Encoding", "br"),
                                          ("Accept-Encoding", "gzip")])
        self.assert_gzip(r, web_file("/seula.js"))

    def test_plain_when_the_client_refuses_gzip_or_says_nothing(self):
        for path in ("/seula.js", "/consent.js"):
            plain = web_file(path)
            for headers in ([], [("Accept-Encoding", "identity")],
                            [("Accept-Encoding", "gzip;q=0")],
                            [("Accept-Encoding", "GZIP ; Q=0.000")],
                            [("Accept-Encoding", "gzip;q=0.")],
                            [("Accept-Encoding", "gzip;q=0,5")],
                            [("Accept-Encoding", "*;q=0")],
                            [("Accept-Encoding", "br, deflate")],
                            [("Accept-Encoding", "br, *;q=0")],
                            [("Accept-Encoding", "gzip;q=0, *")],
                            [("Accept-Encoding", "x-gzip;q=0, *")],
                            [("Accept-Encoding", "identity;q=1, gzip;q=0.5")],
                            [("Accept-Encoding", "")],
                            # A weight that does not parse is no "yes".
                            [("Accept-Encoding", "gzip;q=1.5")],
                            [("Accept-Encoding", "gzip;q=0.5.1")],
                            [("Accept-Encoding", "gzip;q=2")],
                            [("Accept-Encoding", "gzip;q=")],
                            [("Accept-Encoding", "gzipx, xgzip, gzi")],
                            [("Accept-Encoding", "*"),
                             ("Accept-Encoding", "gzip;q=0")]):
                with self.subTest(path=path, headers=headers):
                    self.assert_plain(fetch(self.srv, path, headers), plain)

    def test_an_etag_per_coding_and_if_none_match_against_the_one_served(self):
        for path in ("/seula.js", "/consent.js", "/demo/index.html"):
            with self.subTest(path=path):
                plain = fetch(self.srv, path)
                gz = fetch(self.srv, path, GZIP)
                p_tag, g_tag = plain.getheader("ETag"), gz.getheader("ETag")
                self.assertRegex(p_tag, r'^"[0-9a-f]{16}"$')
                self.assertEqual(g_tag, p_tag[:-1] + '-gz"')
                # The tag the client holds is of the coding it would get:
                # 304; of the other coding: the whole file, in its own.
                for accept, mine, other in (([], p_tag, g_tag),
                                            (GZIP, g_tag, p_tag)):
                    r = fetch(self.srv, path,
                              accept + [("If-None-Match", mine)])
                    self.assertEqual(r.status, 304, accept)
                    self.assertEqual(r.body, b"")
                    self.assertEqual(r.getheader("ETag"), mine)
                    self.assertEqual(r.getheader("Vary"), "Accept-Encoding")
                    self.assertEqual(r.getheader("Cache-Control"),
                                     gz.getheader("Cache-Control"))
                    self.assertIsNone(r.getheader("Content-Length"))
                    r = fetch(self.srv, path,
                              accept + [("If-None-Match", other)])
                    self.assertEqual(r.status, 200, accept)
                    self.assertEqual(r.getheader("ETag"), mine)
                    self.assertEqual(r.getheader("Content-Encoding"),
                                     "gzip" if accept else None)

    def test_if_none_match_lists_weak_tags_and_star(self):
        tag = fetch(self.srv, "/seula.js", GZIP).getheader("ETag")
        plain_tag = fetch(self.srv, "/seula.js").getheader("ETag")
        for value in (tag, "W/" + tag, '"a", %s' % tag,
                      ' "a" ,W/"b",  %s ' % tag, "*", ' * ', '"a",*'):
            with self.subTest(inm=value):
                r = fetch(self.srv, "/seula.js",
                          GZIP + [("If-None-Match", value)])
                self.assertEqual(r.status, 304)
        r = fetch(self.srv, "/seula.js", GZIP + [("If-None-Match", '"a"'),
                                                 ("If-None-Match", tag)])
        self.assertEqual(r.status, 304)
        for value in ('"a"', plain_tag, tag[1:-1], "W/" + plain_tag,
                      tag + "x", '"a" %s' % tag, "w/" + tag, ""):
            with self.subTest(inm=value):
                r = fetch(self.srv, "/seula.js",
                          GZIP + [("If-None-Match", value)])
                self.assertEqual(r.status, 200)
                self.assertEqual(r.getheader("Content-Encoding"), "gzip")

    def test_head_has_the_get_headers_and_no_body(self):
        for path in ("/seula.js", "/consent.js"):
            for accept in (b"", b"Accept-Encoding: gzip\r\n"):
                with self.subTest(path=path, accept=accept):
                    get = fetch(self.srv, path,
                                [("Accept-Encoding", "gzip")] if accept else [])
                    status, fields, rest = head_block(
                        self.srv, b"HEAD %s HTTP/1.1\r\nHost: x\r\n%s\r\n"
                        % (path.encode(), accept))
                    self.assertTrue(status.startswith("HTTP/1.1 200 "), status)
                    self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), rest[:80])
                    for name in ("Content-Length", "Content-Encoding",
                                 "ETag", "Vary", "Cache-Control",
                                 "Content-Type"):
                        want = get.getheader(name)
                        self.assertEqual(fields.get(name.lower()),
                                         [want] if want else None, name)
                    # ...and a HEAD's 304 has no length, as a GET's has none.
                    status, fields, rest = head_block(
                        self.srv, b"HEAD %s HTTP/1.1\r\nHost: x\r\n%s"
                        b"If-None-Match: %s\r\n\r\n"
                        % (path.encode(), accept,
                           get.getheader("ETag").encode()))
                    self.assertTrue(status.startswith("HTTP/1.1 304 "), status)
                    self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), rest[:80])
                    self.assertNotIn("content-length", fields)
                    self.assertEqual(fields["etag"], [get.getheader("ETag")])
                    self.assertEqual(fields["vary"], ["Accept-Encoding"])

    def test_the_tracker_and_the_banner_are_kept_an_hour(self):
        for path in ("/seula.js", "/consent.js"):
            for accept in ([], GZIP):
                with self.subTest(path=path, accept=accept):
                    r = fetch(self.srv, path, accept)
                    self.assertEqual(r.getheader("Cache-Control"),
                                     "public, max-age=3600")
        # Everything else is revalidated on each use.
        for path in ("/", "/demo/", "/style.css", "/admin/admin.js"):
            with self.subTest(path=path):
                self.assertEqual(fetch(self.srv, path, GZIP)
                                 .getheader("Cache-Control"), "no-cache")


class StaticPathTest(OneServer):
    """A static path is the segments the client sent: an escaped slash,
    backslash or NUL, or an escaped dot segment, names no file (a JSON
    404), never another one than those segments would."""

    def test_escaped_separators_dots_and_nul_name_no_file(self):
        files = [web_file(p) for p in ("demo/index.html", "demo/demo.js",
                                       "index.html", "seula.js",
                                       "admin/index.html")]
        for path in ("/demo%2f", "/demo%2F", "/demo%2findex.html",
                     "/demo%2Fdemo.js", "/%2fseula.js", "/admin%2f",
                     "/admin/audit%2fx", "/demo/%2e%2e/index.html",
                     "/demo/%2E%2E/seula.js", "/demo/%2e%2e%2fseula.js",
                     "/demo/%2e/index.html", "/demo/.%2e/seula.js",
                     "/%2e%2e/%2e%2e/etc/passwd", "/demo%5cindex.html",
                     "/demo%5Cdemo.js", "/demo/%5c..%5cseula.js",
                     "/admin/x%5cy", "/seula.js%00", "/demo%00/",
                     "/demo/index.html%00.png", "/%00", "/admin/x%00y"):
            with self.subTest(path=path):
                for method in ("GET", "HEAD"):
                    r = fetch(self.srv, path, method=method)
                    self.assertEqual(r.status, 404, (method, r.status))
                    if method == "GET":
                        self.assertEqual(r.getheader("Content-Type"),
                                         "application/json")
                        self.assertEqual(json.loads(r.body)["error"],
                                         "not_found")
                        self.assertNotIn(r.body, files)
        # A raw backslash is no separator either.
        r = fetch(self.srv, "/demo\\index.html")
        self.assertIn(r.status, (400, 404))
        self.assertNotIn(r.body, files)
        # The paths themselves, and an escape of any other byte, still
        # name their files.
        for path, name in (("/demo/", "demo/index.html"),
                           ("/demo/demo.js", "demo/demo.js"),
                           ("/seula%2ejs", "seula.js"),
                           ("/d%65mo/demo.js", "demo/demo.js")):
            with self.subTest(path=path):
                r = fetch(self.srv, path)
                self.assertEqual((r.status, r.body), (200, web_file(name)))


class StaticGzipChoiceTest(unittest.TestCase):
    """Only text that gzip shrinks by a tenth, and by more than a few
    bytes, gets a copy; the rest is one variant, with no Vary."""

    def test_which_files_get_a_gzip_copy(self):
        root = tempfile.mkdtemp(prefix="seula-web-")
        files = {
            "big.css": b"body { margin: 0; padding: 0; }\n" * 200,
            "data.json": b'{"key": "value"}, ' * 300,
            # Hex of random bytes: gzip takes off nearly half.
            "noise.txt": os.urandom(3000).hex().encode(),
            # Too few bytes to save, nothing to save, or not text.
            "tiny.css": b"a{color:red}\n",
            "random.txt": os.urandom(6000),
            "zeros.png": bytes(6000),
        }
        for name, data in files.items():
            with open(os.path.join(root, name), "wb") as f:
                f.write(data)
        srv = Server(server={"web_root": root})
        try:
            srv.start()
            for name, data in files.items():
                with self.subTest(name=name):
                    r = fetch(srv, "/" + name, GZIP)
                    self.assertEqual(r.status, 200)
                    if name in ("big.css", "data.json", "noise.txt"):
                        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
                        self.assertEqual(gzip.decompress(r.body), data)
                        self.assertEqual(r.getheader("Vary"), "Accept-Encoding")
                    else:
                        self.assertIsNone(r.getheader("Content-Encoding"))
                        self.assertEqual(r.body, data)
                        self.assertIsNone(r.getheader("Vary"))
                        self.assertNotIn("-gz", r.getheader("ETag"))
        finally:
            rc = srv.stop()
            srv.close()
            shutil.rmtree(root, ignore_errors=True)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
