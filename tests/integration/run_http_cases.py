"""Run tests/http/NNNN-name cases against one real server.

A case file, in the manner of curl's tests/data:

    # what the case proves (comment lines start with #)
    --- request
    POST /api/collect HTTP/1.1
    Content-Type: text/plain

    {"site": "demo", ...}
    --- expect
    status 204
    header Access-Control-Allow-Origin http://localhost
    error invalid_json            (the JSON error code; implies a JSON body)
    stored 1                      (rows the request added to events)
    body-contains text

The request is sent as written, lines joined with CRLF; Host, Connection:
close and (when there is a body and no framing header) Content-Length are
added unless present.  "{CRLF}" in the body stands for a CRLF.
"""
import json
import os
import pathlib
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from seulatest import Server  # noqa: E402


def parse_case(path):
    text = pathlib.Path(path).read_text(encoding="utf-8")
    req_part = text.split("--- request\n", 1)[1].split("--- expect\n", 1)
    head_body, expect = req_part[0], req_part[1]
    head, _, body = head_body.partition("\n\n")
    lines = head.splitlines()
    body = body[:-1] if body.endswith("\n") else body
    body = body.replace("{CRLF}", "\r\n").encode()
    names = {l.split(":", 1)[0].lower() for l in lines[1:] if ":" in l}
    if "host" not in names:
        lines.append("Host: 127.0.0.1")
    if "connection" not in names:
        lines.append("Connection: close")
    if body and not names & {"content-length", "transfer-encoding"}:
        lines.append("Content-Length: %d" % len(body))
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    checks = [l.split(None, 1) for l in expect.splitlines()
              if l.strip() and not l.startswith("#")]
    return raw, checks


def parse_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class HttpCases(unittest.TestCase):
    folder = None

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=("anonymize",),
                         sites={"demo": "localhost, 127.0.0.1", "shop": "*.shop.example"}).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        cls.srv.close()
        assert rc == 0, rc

    def test_cases(self):
        names = sorted(n for n in os.listdir(self.folder) if n[:4].isdigit())
        self.assertTrue(names)
        for name in names:
            with self.subTest(case=name):
                raw, checks = parse_case(os.path.join(self.folder, name))
                before = self.srv.count()
                status, headers, body = parse_response(self.srv.raw(raw))
                for check in checks:
                    what = check[0]
                    arg = check[1] if len(check) > 1 else ""
                    if what == "status":
                        self.assertEqual(status, int(arg), body[:200])
                    elif what == "header":
                        k, _, v = arg.partition(" ")
                        self.assertEqual(headers.get(k.lower()), v or None, headers)
                    elif what == "error":
                        self.assertTrue(headers.get("content-type", "").startswith(
                            "application/json"), headers)
                        doc = json.loads(body)
                        self.assertEqual(doc["error"], arg, doc)
                        self.assertIn("message", doc)
                    elif what == "stored":
                        self.assertEqual(self.srv.count() - before, int(arg))
                    elif what == "body-contains":
                        self.assertIn(arg.encode(), body)
                    else:
                        self.fail("%s: unknown check %r" % (name, what))
                self.assertTrue(self.srv.alive(), "server died after " + name)
        print("%d HTTP cases" % len(names))


if __name__ == "__main__":
    HttpCases.folder = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "http")
    unittest.main(verbosity=2)
