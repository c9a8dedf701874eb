"""Test harness: runs the real spillwatch binary on a loopback port with a fresh SQLite file and
talks to it over real HTTP (stdlib only). Paths come from the environment that CTest sets:
SW_SERVER, SW_COLLECT, SW_SOURCE_DIR."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from spawn import StartError, launch

SERVER = os.environ.get("SW_SERVER", "build/spillwatch")
COLLECT = os.environ.get("SW_COLLECT", "build/spillwatch-collect")
SRC = os.environ.get("SW_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG = os.path.join(SRC, "config", "spillwatch.json")
# SW_TEST_DB=pg: every Server without an explicit db gets a fresh database of a real PostgreSQL
# (pgcluster.py) instead of a SQLite file; CTest runs the storage tests so as well (label pg).
ON_PG = os.environ.get("SW_TEST_DB") == "pg"


def sqlite_only(reason):
    """Skips a test (class) that is about the SQLite file itself when the suite runs on PostgreSQL."""
    return unittest.skipIf(ON_PG, "SQLite only: " + reason)


def sql(db, q, args=()):
    """Rows of q on the database db (a SQLite path or a PostgreSQL URI), as tuples of ints, floats,
    strings and None; ? marks the args. For tests that look into the stored data directly."""
    if not db.startswith(("postgresql://", "postgres://")):
        import sqlite3
        with sqlite3.connect(db, timeout=10) as c:
            return c.execute(q, args).fetchall()
    import pgcluster
    parts = q.split("?")
    if len(parts) != len(args) + 1:
        raise ValueError("%d ? for %d args" % (len(parts) - 1, len(args)))
    text = parts[0]
    for a, rest in zip(args, parts[1:]):
        text += (str(int(a)) if isinstance(a, (int, bool)) else repr(float(a)) if isinstance(a, float)
                 else "NULL" if a is None else "'" + str(a).replace("'", "''") + "'") + rest
    out = []
    for row in pgcluster.cluster().query(db, text, null="\\N"):
        vals = []
        for v in row:
            if v == "\\N":
                vals.append(None)
                continue
            for conv in (int, float):
                try:
                    v = conv(v)
                    break
                except ValueError:
                    pass
            vals.append(v)
        out.append(tuple(vals))
    return out


def pg_required():
    """Skips (by hand) or fails (under CI) a test that needs a real PostgreSQL when none is here."""
    import pgcluster
    why = pgcluster.missing_reason()
    if why and os.environ.get("CI") == "true":
        raise AssertionError(why)
    return unittest.skipIf(why is not None, why or "")


def load_json(path):
    with open(path) as f:
        return json.load(f)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


class Server:
    """One spillwatch process. `config` overrides keys of config/spillwatch.json (written to a
    temporary config next to a copy of the profile reference)."""

    def __init__(self, tmpdir, config=None, db=None, extra_args=(), binary=None):
        self.tmpdir = tmpdir
        self.binary = binary or SERVER
        if db is None and ON_PG:
            import pgcluster
            db = pgcluster.cluster().new_database()
        self.db = db or os.path.join(tmpdir, "sw.db")
        self.config_path = CONFIG
        if config:
            base = load_json(CONFIG)
            base.update(config)
            base["profile"] = config.get("profile", os.path.join(SRC, "config", "na64mu.json"))
            base["www"] = os.path.join(SRC, "www")
            self.config_path = os.path.join(tmpdir, "spillwatch-test.json")
            write_json(self.config_path, base)
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(tmpdir, "server-%d.log" % int(time.time() * 1000))

    def start(self):
        # A restart keeps the port, so a collector with a fixed --url finds the server again.
        listen = "127.0.0.1:%d" % (self.port or 0)
        try:
            self.proc, self.port, self.log = launch(
                [self.binary, "--config", self.config_path, "--listen", listen, "--db", self.db] + self.extra_args,
                self.log_path, cwd=self.tmpdir, timeout=20)
        except StartError as e:
            self.proc, self.log = e.proc, e.log
            raise RuntimeError(str(e)) from None
        return self

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    # --- HTTP ---
    def request(self, method, path, body=None, headers=None):
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
                return resp.status, raw, dict(resp.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def get(self, path):
        status, raw, headers = self.request("GET", path)
        ctype = headers.get("Content-Type", "")
        return status, (json.loads(raw) if "json" in ctype else raw.decode())

    def post(self, body, source=None, seq=None, path="/api/v1/ingest", headers=None):
        h = {"Content-Type": "application/x-ndjson"}
        if source is not None:
            h["X-Spillwatch-Source"] = source
            h["X-Spillwatch-Seq"] = str(seq)
        h.update(headers or {})
        status, raw, _ = self.request("POST", path, body, h)
        return status, json.loads(raw)

    def sim(self, *args, check=True):
        """Runs spillwatch-collect sim against this server."""
        p = subprocess.run([COLLECT, "sim", "--url", self.url, "--quiet"] + list(args), capture_output=True, text=True,
                           timeout=600)
        if check and p.returncode != 0:
            raise AssertionError("collector failed (%d): %s" % (p.returncode, p.stderr))
        return p


def ndjson(*records):
    return "".join(json.dumps(r) + "\n" for r in records)


def sim_output(*args):
    """Runs the simulator to stdout and returns the parsed records."""
    p = subprocess.run([COLLECT, "sim", "--out", "-", "--quiet"] + list(args), capture_output=True, text=True,
                       timeout=600, check=True)
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def free_port():
    """A loopback port free now (for a server whose URL must be known before it starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_checked(test, servers):
    """Stops each server still running; a sanitizer report in any server's log fails the test."""
    for s in servers:
        if s.proc:
            s.stop()
        log = s.read_log()
        test.assertNotIn("ERROR: AddressSanitizer", log)
        test.assertNotIn("runtime error:", log)


class ServerTest(unittest.TestCase):
    """Starts a fresh server (fresh database) per test."""
    config = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.srv = Server(self.tmp, config=self.config).start()

    def tearDown(self):
        rc = self.srv.stop()
        log = self.srv.read_log()
        # Sanitizer reports or a crash at shutdown fail the test even when the assertions passed.
        self.assertNotIn("ERROR: AddressSanitizer", log)
        self.assertNotIn("runtime error:", log)
        self.assertEqual(rc, 0, "server exit status %s; log:\n%s" % (rc, log[-3000:]))
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    unittest.main(verbosity=2)
