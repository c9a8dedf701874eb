"""Command line and configuration: --check-config with JSON paths, start from any directory."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import CONFIG, SERVER, SRC, Server, load_json, write_json, write_text


def run(*args, cwd=None):
    return subprocess.run([SERVER] + list(args), capture_output=True, text=True, timeout=30, cwd=cwd)


class Config(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_shipped_config_is_valid(self):
        p = run("--config", CONFIG, "--check-config")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ok", p.stdout)
        self.assertIn("na64mu", p.stdout)

    def test_every_problem_is_reported_with_its_json_path(self):
        prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
        prof["histograms"][0]["x"]["bins"] = 0
        prof["histograms"][1]["x"]["source"] = "p_inn"
        prof["histograms"][2]["trigger"] = ["cosmic"]
        prof["checks"][0]["good"] = [2, 1]
        prof["checks"][1]["category"] = "physics"
        prof["checks"][2]["name"] = "p in mean"  # names appear in URLs
        prof["histograms"].append({"name": "huge", "x": {"source": "p_in", "bins": 100000, "min": 0, "max": 1},
                                   "y": {"source": "ecal", "bins": 100000, "min": 0, "max": 1}})
        prof["alarms"][0]["name"] = "beam/lost"
        prof["bogus"] = 1
        pp = os.path.join(self.tmp, "prof.json")
        write_json(pp, prof)
        cfg = {"profile": pp, "threads": 0, "limits": {"body_max": "big", "writer_queue_max": 0,
                                                        "connections_per_ip": -1, "write_rate": "fast"}}
        cp = os.path.join(self.tmp, "cfg.json")
        write_json(cp, cfg)
        p = run("--config", cp, "--check-config")
        self.assertNotEqual(p.returncode, 0)
        for expected in ("$.histograms[0].x.bins", "$.histograms[1].x.source: unknown field \"p_inn\"",
                         "$.histograms[2].trigger[0]", "$.checks[0].good", "$.checks[1].category", "$.bogus",
                         "$.threads", "$.limits.body_max",
                         "$.limits.writer_queue_max: must be within [1, 1000000], got 0",
                         "$.limits.connections_per_ip", "$.limits.write_rate",
                         "$.checks[2].name: \"p in mean\" may hold only letters, digits, '_' and '-'",
                         "$.alarms[0].name: \"beam/lost\" may hold only letters",
                         "bins (x.bins times y.bins); at most 1000000 in one histogram",
                         "$.histograms: 10000"):
            self.assertIn(expected, p.stderr)

    def test_broken_json_names_file_line_and_column(self):
        cp = os.path.join(self.tmp, "cfg.json")
        write_text(cp, '{"listen": "127.0.0.1:1",\n "threads": }\n')
        p = run("--config", cp, "--check-config")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cfg.json:2:", p.stderr)

    def test_options(self):
        self.assertEqual(run("--help").returncode, 0)
        self.assertIn("--check-config", run("--help").stdout)
        self.assertRegex(run("--version").stdout, r"spillwatch \d+\.\d+\.\d+")
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("--config", CONFIG, "--frobnicate").returncode, 2)
        p = run("--config", os.path.join(self.tmp, "missing.json"), "--check-config")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("missing.json", p.stderr)

    def test_starts_from_another_directory_with_relative_paths_from_the_config(self):
        elsewhere = os.path.join(self.tmp, "elsewhere")
        os.mkdir(elsewhere)
        srv = Server(elsewhere, db=os.path.join(self.tmp, "db", "sw.db"))
        srv.start()
        try:
            status, health = srv.get("/api/v1/health")
            self.assertEqual((status, health["status"], health["db"]), (200, "ok", "ok"))
            status, page = srv.get("/")
            self.assertEqual(status, 200)
            self.assertIn("<html", page.lower())
            status, _ = srv.get("/vendor/chart.js/chart.umd.js")
            self.assertEqual(status, 200)
            for bad in ("/../config/spillwatch.json", "/%2e%2e/config/spillwatch.json", "/node_modules/../../README.md"):
                status, raw, _ = srv.request("GET", bad)
                self.assertEqual(status, 404, bad)
        finally:
            self.assertEqual(srv.stop(), 0)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "db", "sw.db")))


class SecureByDefault(unittest.TestCase):
    """Without tokens, the server listens on loopback only, unless the config says auth.allow_open."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_on_any(self, auth=None):
        """Starts the server on 0.0.0.0 (any address; the test talks to it on 127.0.0.1 only)."""
        cfg = load_json(CONFIG)
        cfg.update({"profile": os.path.join(SRC, "config", "na64mu.json"), "www": os.path.join(SRC, "www"),
                    "db": os.path.join(self.tmp, "sw.db")})
        if auth is not None:
            cfg["auth"] = auth
        path = os.path.join(self.tmp, "cfg.json")
        write_json(path, cfg)
        return subprocess.Popen([SERVER, "--config", path, "--listen", "0.0.0.0:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def wait_listening(self, p):
        lines = []
        for line in p.stdout:
            lines.append(line)
            if "listening on" in line:
                return "".join(lines)
        return "".join(lines)

    def test_no_tokens_beyond_loopback_is_refused(self):
        p = self.start_on_any()
        out, _ = p.communicate(timeout=30)
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn("refusing to listen on 0.0.0.0:0 without tokens", out)
        self.assertIn("auth.allow_open", out)

    def test_allow_open_starts_with_a_warning_and_tokens_start_quietly(self):
        for auth, warned in (({"allow_open": True}, True),
                             ({"tokens": [{"name": "daq", "token": "daq-secret-0123456789", "roles": ["ingest"]}]},
                              False)):
            p = self.start_on_any(auth)
            try:
                log = self.wait_listening(p)
                self.assertIn("listening on", log)
                self.assertEqual("without tokens (auth.allow_open)" in log, warned, log)
            finally:
                p.terminate()
                p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0)

    def test_allow_open_must_be_a_boolean(self):
        cfg = load_json(CONFIG)
        cfg["auth"] = {"allow_open": "yes"}
        cfg["profile"] = os.path.join(SRC, "config", "na64mu.json")
        path = os.path.join(self.tmp, "cfg.json")
        write_json(path, cfg)
        p = run("--config", path, "--check-config")
        self.assertEqual(p.returncode, 1)
        self.assertIn("$.auth.allow_open: must be true or false", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
