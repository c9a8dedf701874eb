"""GET /api/v1/display (server/display.c; docs/api.md, docs/configuration.md "display"): the display
time zone and the kiosk rotation as configured, the server's own zone by default (from $TZ), and a
bad display section stopping the server at start-up with the JSON path and the file named."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import CONFIG, SERVER, SRC, Server, load_json, write_json

ZONEINFO = "/usr/share/zoneinfo"


class TZ:
    """Runs the servers started inside it with the environment variable TZ set (or unset: None)."""

    def __init__(self, value):
        self.value = value

    def __enter__(self):
        self.old = os.environ.get("TZ")
        if self.value is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = self.value

    def __exit__(self, *exc):
        if self.old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = self.old


class Display(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.servers = []

    def tearDown(self):
        for srv in self.servers:
            self.assertEqual(srv.stop(), 0, srv.read_log()[-2000:])
        shutil.rmtree(self.tmp, ignore_errors=True)

    def display(self, config=None, tz=None, sub="a"):
        d = os.path.join(self.tmp, sub)
        os.mkdir(d)
        with TZ(tz):
            srv = Server(d, config=config).start()
        self.servers.append(srv)
        status, raw, headers = srv.request("GET", "/api/v1/display")
        self.assertEqual(status, 200, raw)
        self.assertIn("application/json", headers.get("Content-Type", ""))
        return json.loads(raw)

    def test_the_configured_zone_and_kiosk_pages(self):
        d = self.display({"display": {"timezone": "America/Chicago", "kiosk_pages": ["/", "/shift.html", "/run.html?run=7"],
                                      "kiosk_seconds": 12}}, tz="Europe/Zurich")
        self.assertEqual(d, {"timezone": "America/Chicago",
                             "kiosk": {"pages": ["/", "/shift.html", "/run.html?run=7"], "seconds": 12}})

    def test_the_servers_own_zone_by_default(self):
        d = self.display({"display": {}}, tz="Europe/Zurich", sub="zurich")
        self.assertEqual(d, {"timezone": "Europe/Zurich",
                             "kiosk": {"pages": ["/", "/run.html", "/alarms.html"], "seconds": 30}})
        # the shipped config has no display section at all: the same default; TZ's ':' form works too
        self.assertEqual(self.display(None, tz=":Asia/Tokyo", sub="tokyo")["timezone"], "Asia/Tokyo")
        # a TZ that names no zone is not passed on: the machine's zone (or UTC) instead
        zone = self.display(None, tz="Mars/Olympus", sub="mars")["timezone"]
        self.assertNotEqual(zone, "Mars/Olympus")
        if os.path.isdir(ZONEINFO):
            self.assertTrue(os.path.isfile(os.path.join(ZONEINFO, zone)) or zone == "UTC", zone)

    def test_open_even_when_reads_need_a_token(self):
        # the pages ask for it before anything else, with or without a token
        d = self.display({"auth": {"read_requires_token": True, "tokens": [
            {"name": "viewer", "token": "read-secret-01234567890", "roles": ["read"]}]},
            "display": {"timezone": "UTC"}})
        self.assertEqual(d["timezone"], "UTC")
        srv = self.servers[-1]
        self.assertEqual(srv.get("/api/v1/runs")[0], 401)  # while the rest needs the token
        status, _, _ = srv.request("POST", "/api/v1/display", "{}")
        self.assertEqual(status, 405)


class BadDisplay(unittest.TestCase):
    """A bad display section stops the server before it serves, naming the JSON path and the file."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, display):
        cfg = load_json(CONFIG)
        cfg.update({"profile": os.path.join(SRC, "config", "na64mu.json"), "www": os.path.join(SRC, "www"),
                    "display": display})
        path = os.path.join(self.tmp, "shift-display.json")
        write_json(path, cfg)
        p = subprocess.run([SERVER, "--config", path, "--listen", "127.0.0.1:0", "--db",
                            os.path.join(self.tmp, "sw.db")], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        out = p.stdout + p.stderr
        self.assertNotIn("listening on", out)
        return out, path

    @unittest.skipUnless(os.path.isdir(ZONEINFO), "no zone database here: any zone name is taken (the browser decides)")
    def test_an_unknown_zone(self):
        out, path = self.start({"timezone": "Mars/Olympus"})
        self.assertIn('%s: $.display.timezone: "Mars/Olympus" is not a time zone name' % path, out)

    def test_zone_names_that_are_no_file_names(self):
        for bad in ("../../etc/passwd", "/etc/localtime", "Europe/Zurich; rm", "", "x" * 70):
            out, path = self.start({"timezone": bad})
            self.assertIn(path + ": $.display.timezone: ", out, bad)
            self.assertIn("is not a time zone name", out, bad)

    def test_bad_kiosk_pages_and_seconds(self):
        for pages, where in (([], "$.display.kiosk_pages: must be a list of 1 to 8 site paths"),
                             ("/", "$.display.kiosk_pages: must be a list of 1 to 8 site paths"),
                             (["/"] * 9, "$.display.kiosk_pages: must be a list of 1 to 8 site paths"),
                             (["/", "https://example.org/"], "$.display.kiosk_pages[1]: must be a path on this site"),
                             (["//evil.example/"], "$.display.kiosk_pages[0]: must be a path on this site"),
                             (["run.html"], "$.display.kiosk_pages[0]: must be a path on this site"),
                             ([7], "$.display.kiosk_pages[0]: must be a path on this site")):
            out, path = self.start({"kiosk_pages": pages})
            self.assertIn("%s: %s" % (path, where), out, pages)
        out, path = self.start({"kiosk_seconds": 2})
        self.assertIn(path + ": $.display.kiosk_seconds", out)
        out, path = self.start({"kiosk": True})
        self.assertIn(path + ": $.display", out)
        self.assertIn("kiosk", out)
        out, path = self.start("Europe/Zurich")
        self.assertIn(path + ": $.display: must be an object", out)
        # every problem at once
        out, path = self.start({"timezone": "Mars/Olympus" if os.path.isdir(ZONEINFO) else "/x",
                                "kiosk_pages": ["/", "ftp://x"]})
        self.assertIn(path + ": $.display.timezone", out)
        self.assertIn(path + ": $.display.kiosk_pages[1]", out)
        self.assertIn("2 problem(s) in the configuration", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
