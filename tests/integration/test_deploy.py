"""Deployment (docs/deployment.md): `cmake --install` into a temporary prefix gives a server that
starts from its installed config and serves its installed dashboards; the systemd units, rewritten
to that prefix, pass `systemd-analyze verify` (offline: no systemd as PID 1 needed), and a broken
unit does not; nginx with the sample config proxies pages, the API, ingest and an unbuffered SSE
stream over TLS."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import COLLECT, SERVER, SRC, Server, load_json, main, ndjson

BUILD = os.environ.get("SW_BUILD_DIR", os.path.dirname(os.path.abspath(SERVER)))
CMAKE = os.environ.get("SW_CMAKE", "cmake")


def install(prefix):
    p = subprocess.run([CMAKE, "--install", BUILD, "--prefix", prefix], capture_output=True, text=True,
                       timeout=300)
    if p.returncode != 0:
        raise AssertionError("cmake --install failed:\n" + p.stdout + p.stderr)
    return p.stdout


class DemoSetup(unittest.TestCase):
    """`deploy/setup.sh demo` refuses an SPS cycle shorter than the 4.8 s spill (or absurdly long) with
    exit status 2 and a message, before it installs, fetches or builds anything. The script runs
    from a copy in a scratch tree, with stand-ins for every tool it would install or build with
    first on PATH: each records that it was called."""

    TOOLS = ("apt-get", "dpkg-query", "sudo", "npm", "node", "cmake", "curl")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.tree = os.path.join(self.tmp, "tree")
        os.makedirs(os.path.join(self.tree, "deploy"))
        shutil.copy(os.path.join(SRC, "deploy", "setup.sh"), os.path.join(self.tree, "deploy", "setup.sh"))
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        self.calls = os.path.join(self.tmp, "calls.log")
        for tool in self.TOOLS:
            path = os.path.join(self.bin, tool)
            with open(path, "w") as f:
                f.write('#!/bin/sh\necho "%s $*" >> %s\nexit 1\n' % (tool, self.calls))
            os.chmod(path, 0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_setup(self, cycle, skip_apt=True):
        env = {"PATH": self.bin + ":/usr/bin:/bin", "HOME": self.tmp, "SW_CYCLE": cycle}
        if skip_apt:
            env["SW_SKIP_APT"] = "1"
        p = subprocess.run(["bash", os.path.join(self.tree, "deploy", "setup.sh"), "demo"], capture_output=True,
                           text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
        calls = ""
        if os.path.exists(self.calls):
            with open(self.calls) as f:
                calls = f.read()
        return p, calls

    def test_a_cycle_shorter_than_the_spill_is_refused_before_anything_is_installed(self):
        for cycle, skip in (("3", True), ("3", False), ("4.7", True), ("0", True), ("-16.8", True), ("fast", True),
                            ("3601", True)):
            p, calls = self.run_setup(cycle, skip)
            self.assertEqual(p.returncode, 2, (cycle, p.stdout, p.stderr))
            self.assertIn("setup: SW_CYCLE=%s: the SPS cycle must be at least the 4.8 s spill" % cycle, p.stderr)
            self.assertEqual(p.stdout, "", cycle)  # no "== installing ..." step began
            self.assertEqual(calls, "", (cycle, calls))  # no tool was run
            self.assertEqual(sorted(os.listdir(self.tree)), ["deploy"], cycle)  # no build/, var/, node_modules/

    def test_a_cycle_of_at_least_the_spill_goes_on_to_the_set_up(self):
        # the check is what stops the short cycle: with 4.8 s (and the default) the script goes on and
        # reaches the tools (the stand-ins fail, so nothing is built here)
        for cycle in ("4.8", "16.8"):
            if os.path.exists(self.calls):
                os.unlink(self.calls)
            p, calls = self.run_setup(cycle)
            self.assertNotEqual(p.returncode, 2, (cycle, p.stdout, p.stderr))
            self.assertNotIn("SW_CYCLE", p.stderr)
            self.assertIn("cmake ", calls, (cycle, p.stdout, p.stderr))


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
        self.assertIn("ExecStart=%s/bin/spillwatch --config %s/etc/spillwatch/spillwatch.json\n" % (
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


TOKEN = "ingest-token-for-the-proxy-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SSE:
    """Reads GET /api/v1/stream through the proxy on a thread: events and comments with arrival
    times; eof is set when the stream ends."""

    def __init__(self, ctx, port):
        self.items, self.lock, self.eof = [], threading.Lock(), threading.Event()
        if ctx:
            self.conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
        else:  # straight to the server, for comparison
            self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", "/api/v1/stream", headers={"Accept": "text/event-stream"})
        self.resp = self.conn.getresponse()
        self.status, self.headers = self.resp.status, dict(self.resp.headers)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        fields = {}
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line, t = line.decode().rstrip("\n"), time.monotonic()
                with self.lock:
                    if line.startswith(":"):
                        self.items.append(("comment", line, t))
                    elif line == "" and "event" in fields:
                        self.items.append((fields["event"], json.loads(fields.get("data", "null")), t))
                        fields = {}
                    elif line:
                        k, _, v = line.partition(":")
                        fields[k] = v.lstrip(" ")
        except Exception:
            pass
        self.eof.set()

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                hit = [i for i in self.items if pred(i)]
            if hit:
                return hit[0]
            time.sleep(0.005)
        return None

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.conn.close()


class Nginx(unittest.TestCase):
    """Real nginx (foreground child, everything in a temporary prefix) with the sample config, a
    self-signed certificate, and a real spillwatch behind it."""

    def setUp(self):
        for tool in ("nginx", "openssl"):
            self.assertIsNotNone(shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin"),
                                 "%s is missing: deploy/setup.sh installs it" % tool)
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.nginx = None
        self.srv = Server(self.tmp, config={"stream_heartbeat": 1, "auth": {
            "tokens": [{"name": "daq", "token": TOKEN, "roles": ["ingest"]}]}}).start()
        self.cert, self.key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out",
                        self.cert, "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True, timeout=120)
        self.http_port, self.https_port = free_port(), free_port()
        self.start_nginx(self.site_config())
        self.ctx = ssl.create_default_context(cafile=self.cert)

    def tearDown(self):
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        rc = self.srv.stop()
        self.assertEqual(rc, 0, self.srv.read_log()[-3000:])
        shutil.rmtree(self.tmp, ignore_errors=True)

    def site_config(self, sample=None):
        with open(sample or os.path.join(SRC, "deploy", "nginx", "spillwatch.conf")) as f:
            text = f.read()
        subs = [
            (r"server 127\.0\.0\.1:8080;", "server 127.0.0.1:%d;" % self.srv.port),
            (r"listen \[::\]:\d+[^;]*;", ""),  # CI may have no IPv6
            (r"listen 80;", "listen 127.0.0.1:%d;" % self.http_port),
            (r"listen 443 ssl", "listen 127.0.0.1:%d ssl" % self.https_port),
            (r"ssl_certificate +\S+;", "ssl_certificate %s;" % self.cert),
            (r"ssl_certificate_key +\S+;", "ssl_certificate_key %s;" % self.key),
        ]
        for pat, rep in subs:
            text, n = re.subn(pat, rep, text)
            self.assertGreater(n, 0, "the sample no longer has %r" % pat)
        return text

    def start_nginx(self, site):
        prefix = self.tmp
        site_path = os.path.join(prefix, "site.conf")
        with open(site_path, "w") as f:
            f.write(site)
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(prefix, "temp", d), exist_ok=True)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(("user root;\n" if os.geteuid() == 0 else "") + """
daemon off;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {p}/access.log;
    client_body_temp_path {p}/temp/body;
    proxy_temp_path {p}/temp/proxy;
    fastcgi_temp_path {p}/temp/fastcgi;
    uwsgi_temp_path {p}/temp/uwsgi;
    scgi_temp_path {p}/temp/scgi;
    include {site};
}}
""".format(p=prefix, site=site_path))
        binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
        args = [binary, "-p", prefix + "/", "-c", conf, "-e", os.path.join(prefix, "error.log")]
        t = subprocess.run(args + ["-t"], capture_output=True, text=True, timeout=60)
        self.assertEqual(t.returncode, 0, t.stderr)
        self.nginx = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            self.assertIsNone(self.nginx.poll(), "nginx exited: " + self.read(os.path.join(prefix, "error.log")))
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.fail("nginx did not start")

    @staticmethod
    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return ""

    def https(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection("localhost", self.https_port, context=self.ctx, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read(), dict(resp.headers)
        finally:
            conn.close()

    def test_sample_limits_match_the_server(self):
        with open(os.path.join(SRC, "deploy", "nginx", "spillwatch.conf")) as f:
            text = f.read()
        m = re.search(r"client_max_body_size (\d+)m;", text)
        body_max = load_json(os.path.join(SRC, "config", "spillwatch.json"))["limits"]["body_max"]
        self.assertEqual(int(m.group(1)) << 20, body_max)
        self.assertIn("ssl_protocols TLSv1.2 TLSv1.3;", text)

    def test_https_pages_api_ingest_and_unbuffered_stream(self):
        # HTTP only redirects to HTTPS.
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        conn.request("GET", "/run.html?run=3", headers={"Host": "dqm.example.org"})
        resp = conn.getresponse()
        self.assertEqual((resp.status, resp.getheader("Location")), (301, "https://dqm.example.org/run.html?run=3"))
        conn.close()
        # A page and an API answer over TLS, the server's own headers passed through.
        status, page, headers = self.https("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn(b"<html", page.lower())
        self.assertIn("max-age", headers.get("Strict-Transport-Security", ""))
        self.assertIn("default-src", headers.get("Content-Security-Policy", ""))
        status, raw, headers = self.https("GET", "/api/v1/health")
        self.assertEqual((status, json.loads(raw)["status"]), (200, "ok"))
        # Ingest with a token (and without: the server's 401 comes through).
        batch = ndjson({"type": "spill_start", "run": 9, "spill": 1},
                       {"type": "event", "run": 9, "spill": 1, "event": 1, "trigger": "physics", "p_in": 160.0},
                       {"type": "spill_end", "run": 9, "spill": 1, "duration": 4.8, "counters": {"mot": 3e6}})
        h = {"Content-Type": "application/x-ndjson"}
        status, raw, _ = self.https("POST", "/api/v1/ingest", batch, h)
        self.assertEqual(status, 401, raw)
        status, raw, _ = self.https("POST", "/api/v1/ingest", batch, dict(h, Authorization="Bearer " + TOKEN))
        self.assertEqual(status, 200, raw)
        status, raw, _ = self.https("GET", "/api/v1/runs/9/spills/1")
        self.assertEqual((status, json.loads(raw)["events"]), (200, 1))
        # The stream through the proxy: a spill event arrives when it arrives on a direct stream
        # (not held in a proxy buffer), and the connection stays open (heartbeats keep coming).
        sse, direct = SSE(self.ctx, self.https_port), SSE(None, self.srv.port)
        try:
            self.assertEqual(sse.status, 200)
            self.assertIn("text/event-stream", sse.headers.get("Content-Type", ""))
            self.assertIsNotNone(sse.wait(lambda i: i[0] == "comment", 5), "no heartbeat through the proxy")
            sim = subprocess.run([COLLECT, "sim", "--url", self.srv.url, "--quiet", "--token", TOKEN, "--run", "11",
                                  "--spills", "1", "--scale", "0.05"], capture_output=True, text=True, timeout=120)
            self.assertEqual(sim.returncode, 0, sim.stderr)
            ref = direct.wait(lambda i: i[0] == "spill" and i[1].get("run") == 11, 5)
            self.assertIsNotNone(ref, "no spill event on the direct stream")
            ev = sse.wait(lambda i: i[0] == "spill" and i[1].get("run") == 11, 5)
            self.assertIsNotNone(ev, "no spill event through the proxy within 5 s; got %r" % sse.items[-5:])
            self.assertEqual(ev[1], ref[1])
            lag = ev[2] - ref[2]
            print("spill event through nginx: %.1f ms after the direct stream" % (lag * 1e3))
            self.assertLess(lag, 0.25)  # buffered, it would wait for a full buffer or the stream's end
            hb = sse.wait(lambda i: i[0] == "comment" and i[2] > ev[2], 5)
            self.assertIsNotNone(hb, "the stream did not stay open after the event")
            self.assertFalse(sse.eof.is_set())
        finally:
            sse.close()
            direct.close()
        access = self.read(os.path.join(self.tmp, "access.log"))
        self.assertIn("POST /api/v1/ingest", access)


if __name__ == "__main__":
    main()
