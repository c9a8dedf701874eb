"""Hostile input (issue 7): no, wrong and under-privileged tokens, a 300 MB body, path traversal in
plain, encoded and symlinked forms, injection in path parts, header- and body-dribbling clients, a
connection flood from one address, write floods, and thousands of mutated batches. After each, the
server is up, every answer has the right status and a JSON error saying what and where, and every
accepted event is counted exactly once."""
import json
import os
import random
import re
import shutil
import socket
import threading
import time
import unittest

from harness import SRC, Server, ServerTest, main, ndjson

TOKENS = {"auth": {"tokens": [
    {"name": "daq-1", "token": "daq-secret-0123456789", "roles": ["ingest"]},
    {"name": "viewer", "token": "view-secret-0123456789", "roles": ["read"]},
    {"name": "shift-crew", "token": "shift-secret-0123456789", "roles": ["shifter"]},
    {"name": "expert", "token": "admin-secret-0123456789", "roles": ["admin"]}],
    "read_requires_token": True}}
BEARER = {name: {"Authorization": "Bearer %s-secret-0123456789" % name} for name in ("daq", "view", "shift", "admin")}
COUNTERS = {"mot": 2900000, "trig_physics": 2, "recorded": 2}


def spill(run, sp, n=2):
    return ndjson({"type": "spill_start", "run": run, "spill": sp, "time": 1.7e9},
                  *({"type": "event", "run": run, "spill": sp, "event": k, "trigger": "physics", "p_in": 160.0 + k,
                     "ecal": 0.4, "hcal": [2.4, 2.3, 2.5, 2.4]} for k in range(1, n + 1)),
                  {"type": "spill_end", "run": run, "spill": sp, "duration": 4.8, "counters": dict(COUNTERS, recorded=n)})


def raw_request(port, data, read=True, timeout=30, source=None):
    """Sends raw bytes, returns (status, headers text, body bytes) of the answer ("" status on EOF)."""
    s = socket.socket()
    if source:
        s.bind((source, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(data)
        if not read:
            return s
        return parse_answer(read_all(s))
    finally:
        if read:
            s.close()


def read_all(s):
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        out += chunk
        m = re.search(rb"\r\n\r\n", out)
        if m:
            cl = re.search(rb"(?i)content-length: *(\d+)", out[:m.end()])
            if cl and len(out) >= m.end() + int(cl.group(1)):
                break
    return out


def parse_answer(raw):
    if not raw:
        return "", "", b""
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode()
    return status, head.decode("latin-1"), body


class Refusals(ServerTest):
    config = dict(TOKENS, limits={"write_rate": 2, "write_burst": 5})

    def get(self, path, who="view"):
        return self.srv.request("GET", path, None, BEARER[who])

    def assert_error(self, answer, status, *words):
        got, raw, headers = answer
        self.assertEqual(got, status, raw)
        self.assertIn("application/json", headers.get("Content-Type", ""))
        err = json.loads(raw)["error"]
        for w in words:
            self.assertIn(w, err)
        return err

    def test_tokens_and_roles(self):
        srv = self.srv
        body = spill(1, 1)
        self.assert_error(srv.request("POST", "/api/v1/ingest", body), 401, "token")
        self.assert_error(srv.request("POST", "/api/v1/ingest", body, {"Authorization": "Bearer nope-0123456789abcdef"}),
                          401)
        self.assert_error(srv.request("POST", "/api/v1/ingest", body, {"Authorization": "Basic ZGFxOnNlY3JldA=="}), 401)
        self.assert_error(srv.request("POST", "/api/v1/ingest", body, BEARER["view"]), 403, "viewer")
        self.assert_error(srv.request("POST", "/api/v1/ingest", body, BEARER["shift"]), 403)
        status, raw, _ = srv.request("POST", "/api/v1/ingest", body, BEARER["daq"])
        self.assertEqual(status, 200, raw)
        # Reads need a token here (read_requires_token); any role can read.
        self.assert_error(srv.request("GET", "/api/v1/runs"), 401)
        self.assert_error(srv.request("GET", "/metrics"), 401)
        for who in ("view", "shift", "admin"):  # read, and the roles above it
            self.assertEqual(self.get("/api/v1/runs/1/spills/1", who)[0], 200, who)
        self.assert_error(self.get("/api/v1/runs/1/spills/1", "daq"), 403)  # ingest is not read
        # Human writes: shifter for flags, admin to apply a re-evaluation.
        flag = json.dumps({"flag": "BAD", "reason": "other", "comment": "hostile-input test"})
        path = "/api/v1/runs/1/spills/1/flag"
        self.assert_error(srv.request("PUT", path, flag), 401)
        self.assert_error(srv.request("PUT", path, flag, BEARER["daq"]), 403)
        self.assert_error(srv.request("PUT", path, flag, BEARER["view"]), 403)
        status, raw, _ = srv.request("PUT", path, flag, BEARER["shift"])
        self.assertEqual(status, 200, raw)
        self.assert_error(srv.request("POST", "/api/v1/runs/1/reevaluate?dry_run=0", "{}", BEARER["shift"]), 403)
        # The audit log names the token, never its secret; no secret reaches the log.
        status, raw, _ = self.get("/api/v1/audit?run=1")
        self.assertEqual([e["who"] for e in json.loads(raw)["entries"]], ["shift-crew"])
        log = srv.read_log()
        for secret in ("secret-0123456789", "nope-0123456789abcdef", "ZGFxOnNlY3JldA=="):
            self.assertNotIn(secret, log)
        # Resetting a run's baselines: the shifter role, audited under the token's name (after the write
        # budget of this config, 5 at 2/s, has refilled).
        time.sleep(2.6)
        reset = json.dumps({"from_spill": 1, "comment": "hostile-input test"})
        self.assert_error(srv.request("POST", "/api/v1/runs/1/rebaseline", reset), 401)
        self.assert_error(srv.request("POST", "/api/v1/runs/1/rebaseline", reset, BEARER["view"]), 403)
        self.assert_error(srv.request("POST", "/api/v1/runs/1/rebaseline", reset, BEARER["daq"]), 403)
        status, raw, _ = srv.request("POST", "/api/v1/runs/1/rebaseline", reset, BEARER["shift"])
        self.assertEqual(status, 200, raw)
        status, raw, _ = self.get("/api/v1/audit?run=1")
        self.assertIn(("rebaseline", "shift-crew"), [(e["action"], e["who"]) for e in json.loads(raw)["entries"]])

    def test_write_flood_is_rate_limited_per_client(self):
        srv = self.srv
        status, raw, _ = srv.request("POST", "/api/v1/ingest", spill(1, 1), BEARER["daq"])
        self.assertEqual(status, 200, raw)
        flag = json.dumps({"flag": "GOOD", "reason": "other", "comment": "flood"})
        answers = [srv.request("PUT", "/api/v1/runs/1/spills/1/flag", flag, BEARER["shift"]) for _ in range(12)]
        statuses = [a[0] for a in answers]
        self.assertEqual(statuses[:5], [200] * 5)  # the burst
        self.assertIn(429, statuses)
        limited = next(a for a in answers if a[0] == 429)
        self.assertGreaterEqual(int(limited[2]["Retry-After"]), 1)
        self.assertIn("limits.write_rate", json.loads(limited[1])["error"])
        # Guessing tokens is limited the same way (checked before the token).
        self.assertEqual(srv.request("PUT", "/api/v1/runs/1/spills/1/flag", flag,
                                     {"Authorization": "Bearer guess-0123456789abcdef"})[0], 429)
        # Another address has its own bucket; reads and ingest are not limited.
        status, _, _ = raw_request(srv.port, (
            "PUT /api/v1/runs/1/spills/1/flag HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer shift-secret-0123456789\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (len(flag), flag)).encode(), source="127.0.0.2")
        self.assertEqual(status, "200")
        for _ in range(30):
            self.assertEqual(self.get("/api/v1/runs/1/spills/1")[0], 200)
        for sp in range(2, 12):
            self.assertEqual(srv.request("POST", "/api/v1/ingest", spill(1, sp), BEARER["daq"])[0], 200)
        status, raw, _ = self.get("/metrics")
        self.assertRegex(raw.decode(), r"\nspillwatch_http_rate_limited_total [1-9]")

    def test_300_mb_bodies_are_refused_without_being_kept(self):
        srv = self.srv
        port = srv.port
        auth = b"Authorization: Bearer daq-secret-0123456789\r\n"
        # Declared: refused from Content-Length, before a byte of the body is read.
        status, head, body = raw_request(port, b"POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth +
                                         b"Content-Type: application/x-ndjson\r\nContent-Length: 314572800\r\n\r\n")
        self.assertEqual(status, "413")
        self.assertIn("314572800", json.loads(body)["error"])
        # Chunked: counted while it arrives, the rest read and dropped, then 413.
        s = raw_request(port, b"POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth +
                        b"Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n", read=False)
        line = (json.dumps({"type": "event", "run": 9, "spill": 1, "event": 1, "p_in": 160.0}) + "\n").encode()
        chunk = line * ((1 << 20) // len(line))
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        sent = 0
        try:
            while sent < 300 << 20:
                s.sendall(frame)
                sent += len(chunk)
            s.sendall(b"0\r\n\r\n")
            status, head, body = parse_answer(read_all(s))
        finally:
            s.close()
        self.assertEqual(status, "413")
        self.assertIn("larger than the limit", json.loads(body)["error"])
        # Nothing of it applied, the server is fine, and ingest goes on.
        self.assertEqual(self.get("/api/v1/runs/9")[0], 404)
        self.assertEqual(srv.request("POST", "/api/v1/ingest", spill(1, 1), BEARER["daq"])[0], 200)
        status, raw, _ = self.get("/metrics")
        text = raw.decode()
        self.assertIn('spillwatch_ingest_errors_total{reason="too_large"} 2\n', text)
        self.assertIn("spillwatch_ingest_events_total 2\n", text)
        rss = int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/%d/status" % srv.proc.pid).read()).group(1))
        self.assertLess(rss, 250 * 1024, "the 300 MB body was not kept in memory")
        print("300 MB chunked body refused with 413; server peak RSS %d MB (limits.body_max 64 MB)" % (rss // 1024))

    def test_injection_in_path_parts(self):
        srv = self.srv
        self.assertEqual(srv.request("POST", "/api/v1/ingest", spill(1, 1), BEARER["daq"])[0], 200)
        bad = {
            "/api/v1/runs/1;DROP%20TABLE%20spills/spills": "run in the path",
            "/api/v1/runs/1%27%20OR%20%271%27=%271/spills": "run in the path",
            "/api/v1/runs/-1/spills": "run in the path",
            "/api/v1/runs/+1/spills": "run in the path",
            "/api/v1/runs/%201/spills": "run in the path",
            "/api/v1/runs/99999999999999999999999/spills": "run in the path",
            "/api/v1/runs/1/spills/1%20UNION%20SELECT%201": "spill in the path",
            "/api/v1/runs/1/spills/0x1": "spill in the path",
            "/api/v1/histograms/p_in%27--": "histogram in the path",
            "/api/v1/histograms/%3Cimg%20src=x%20onerror=alert(1)%3E": "histogram in the path",
            "/api/v1/histograms/p_in%00.json": "histogram in the path",
            "/api/v1/histograms/" + "a" * 300: "histogram in the path",
            "/api/v1/trends/mot%22%7D": "trend quantity in the path",
            "/api/v1/sources/daq%00x": "source in the path",
            "/api/v1/sources/%ff%fe%80": "source in the path",
            "/api/v1/alarms/x%0d%0aSet-Cookie:%20a=b/ack": "alarm in the path",
        }
        for path, words in bad.items():
            method = "POST" if path.endswith("/ack") else "GET"
            who = "shift" if method == "POST" else "view"
            status, raw, headers = srv.request(method, path, "{}" if method == "POST" else None, BEARER[who])
            self.assertEqual(status, 400, (path, raw))
            self.assertIn(words, json.loads(raw)["error"], path)
            self.assertNotIn("Set-Cookie", headers)
        # The data is untouched and the names that are fine still work.
        status, raw, _ = self.get("/api/v1/runs/1/spills")
        self.assertEqual([s["events"] for s in json.loads(raw)["spills"]], [2])
        self.assertEqual(self.get("/api/v1/histograms/p_in?run=1")[0], 200)
        self.assertEqual(self.get("/api/v1/trends/check.p_in_mean?run=1")[0], 200)
        self.assertEqual(self.get("/api/v1/histograms/nope")[0], 404)
        # A header value with bytes that are not UTF-8 is quoted as valid JSON.
        status, head, body = raw_request(srv.port, b"POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\n"
                                         b"Authorization: Bearer daq-secret-0123456789\r\n"
                                         b"X-Spillwatch-Source: daq\r\nX-Spillwatch-Seq: 1\r\n"
                                         b"X-Spillwatch-Lag-Seconds: \xc3\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, "400")
        self.assertEqual(json.loads(body)["error"], 'X-Spillwatch-Lag-Seconds: "?" is not a number >= 0')
        status, head, body = raw_request(srv.port, b"POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\n"
                                         b"Authorization: Bearer daq-secret-0123456789\r\n"
                                         b"X-Spillwatch-Source: d\xff\xfeq\r\nX-Spillwatch-Seq: 1\r\n"
                                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, "400")
        self.assertIn("X-Spillwatch-Source", json.loads(body)["error"])


class Traversal(unittest.TestCase):
    """Static files come only from the www root: no '..', no encoded '..', no symlink out of it."""

    def setUp(self):
        self.tmp = os.path.realpath(__import__("tempfile").mkdtemp(prefix="swtest-"))
        self.www = os.path.join(self.tmp, "www")
        os.makedirs(os.path.join(self.www, "sub"))
        with open(os.path.join(self.www, "index.html"), "w") as f:
            f.write("<!doctype html><title>ok</title>")
        with open(os.path.join(self.tmp, "secret.txt"), "w") as f:
            f.write("TOP-SECRET")
        os.symlink(os.path.join(self.tmp, "secret.txt"), os.path.join(self.www, "leak.txt"))
        os.symlink(self.tmp, os.path.join(self.www, "sub", "up"))
        os.symlink("/etc", os.path.join(self.www, "etc"))
        self.srv = Server(self.tmp, extra_args=["--www", self.www]).start()

    def tearDown(self):
        self.assertEqual(self.srv.stop(), 0, self.srv.read_log()[-2000:])
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_traversal_plain_encoded_and_symlinked(self):
        port = self.srv.port
        paths = ["/../secret.txt", "/../../../../etc/passwd", "/%2e%2e/secret.txt", "/%2E%2E/%2E%2E/etc/passwd",
                 "/..%2fsecret.txt", "/..%2Fsecret.txt", "/%2e%2e%2fsecret.txt", "/sub/..%2f..%2fsecret.txt",
                 "/..%5csecret.txt", "/%5c..%5csecret.txt", "/%252e%252e/secret.txt", "/.%2e/secret.txt",
                 "/leak.txt", "/sub/up/secret.txt", "/etc/passwd", "/vendor/..%2f..%2f..%2fsecret.txt",
                 "/vendor/chart.js/..%2f..%2f..%2f..%2fsecret.txt", "/index.html%00.txt/../secret.txt",
                 "//etc/passwd", "/sub/", "/sub"]
        for path in paths:
            status, head, body = raw_request(port, ("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                                    % path).encode())
            self.assertEqual(status, "404", (path, body[:200]))
            self.assertNotIn(b"TOP-SECRET", body)
            self.assertNotIn(b"root:", body)
            self.assertIn("not found", json.loads(body)["error"], path)
        status, head, body = raw_request(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual((status, body), ("200", b"<!doctype html><title>ok</title>"))


class SlowClients(ServerTest):
    """With one worker thread: clients that dribble headers or a body, or that open many connections
    from one address, hold slots, never the worker; they are closed by the idle timeout, the body
    deadline or the per-address cap, and everyone else is served meanwhile."""
    config = {"threads": 1, "limits": {"connection_timeout": 2, "request_seconds": 3, "connections_per_ip": 20}}

    def dribble(self, sock, data, interval, stop):
        for b in data:
            if stop.is_set():
                return
            try:
                sock.send(bytes([b]))
            except OSError:
                return
            time.sleep(interval)

    def test_dribblers_hold_no_worker_and_are_closed(self):
        srv = self.srv
        stop = threading.Event()
        threads, socks = [], []
        try:
            # 15 clients send their headers a byte every 0.5 s (within the 2 s idle timeout).
            head = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"
            for _ in range(15):
                s = socket.create_connection(("127.0.0.1", srv.port))
                socks.append(s)
                t = threading.Thread(target=self.dribble, args=(s, head, 0.5, stop), daemon=True)
                t.start()
                threads.append(t)
            # 1 client dribbles a body a byte every 0.5 s: closed at the 3 s body deadline.
            body_client = socket.create_connection(("127.0.0.1", srv.port))
            body_client.sendall(b"POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                                b"Content-Length: 1000\r\n\r\n")
            t = threading.Thread(target=self.dribble, args=(body_client, spill(5, 1).encode(), 0.5, stop), daemon=True)
            t.start()
            threads.append(t)
            # 1 client sends half its headers and stops: closed by the 2 s idle timeout.
            idle = socket.create_connection(("127.0.0.1", srv.port))
            idle.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.5)
            # Meanwhile the one worker serves everybody else, ingest included.
            for sp in range(1, 6):
                self.assertEqual(srv.post(spill(4, sp))[0], 200)
                self.assertEqual(srv.get("/api/v1/health")[0], 200)
            # A flood from one address: past 20 connections (15 dribblers + these) it is refused at
            # accept, while another address is still served.
            flood = []
            refused = 0
            for _ in range(10):
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.settimeout(5)
                s.connect(("127.0.0.1", srv.port))
                flood.append(s)
                try:
                    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                    refused += s.recv(1) == b""
                except (ConnectionResetError, BrokenPipeError):
                    refused += 1
            self.assertGreaterEqual(refused, 1, "the per-address cap refused nobody")
            status, _, body = raw_request(srv.port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                          source="127.0.0.2")
            self.assertEqual(status, "200")
            for s in flood:
                s.close()
            # The stalled clients are closed by the server, not by us.
            idle.settimeout(30)
            self.assertEqual(idle.recv(1), b"", "idle client still connected")
            body_client.settimeout(30)
            try:
                self.assertEqual(body_client.recv(1), b"", "body dribbler still connected")
            except ConnectionResetError:
                pass
        finally:
            stop.set()
            for t in threads:
                t.join(30)
            for s in socks:
                s.close()
        # The dribbled body applied nothing; everything else is exact.
        self.assertEqual(srv.get("/api/v1/runs/5")[0], 404)
        status, text = srv.get("/metrics")
        self.assertIn("spillwatch_ingest_events_total 10\n", text)
        self.assertIn("spillwatch_http_request_timeouts_total 1\n", text)
        self.assertIn('spillwatch_ingest_errors_total{reason="timeout"} 1\n', text)
        status, sp = srv.get("/api/v1/runs/4/spills")
        self.assertEqual([s["events"] for s in sp["spills"]], [2] * 5)

    def test_oversized_headers_answer_431(self):
        status, head, body = raw_request(self.srv.port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                         b"a" * 200000 + b"\r\n\r\n")
        self.assertIn(status, ("431", ""))  # answered, or the connection closed while we still sent
        self.assertEqual(self.srv.get("/api/v1/health")[0], 200)


class ConnectionFlood(ServerTest):
    """A flood of connections at the per-address limit is refused at accept, and the log says so once
    in a while with a count, not once per connection (issue 14)."""
    config = {"limits": {"connections_per_ip": 5}}

    def flood(self, n):
        for _ in range(n):
            try:
                socket.create_connection(("127.0.0.1", self.srv.port), timeout=2).close()
            except OSError:
                pass

    def test_refusals_at_the_limit_are_logged_with_a_count(self):
        held = [socket.create_connection(("127.0.0.1", self.srv.port), timeout=5) for _ in range(5)]
        try:
            time.sleep(0.3)
            self.flood(200)
            time.sleep(0.5)
            lines = [l for l in self.srv.read_log().splitlines() if "connection limit" in l]
            self.assertGreaterEqual(len(lines), 1, self.srv.read_log()[-2000:])
            self.assertLessEqual(len(lines), 2, "\n".join(lines[:5]))
            time.sleep(10.5)  # past the log window: the next refusal is logged with what was held back
            self.flood(5)
            time.sleep(0.5)
            lines = [l for l in self.srv.read_log().splitlines() if "connection limit" in l]
            self.assertRegex(lines[-1], r"and \d+ more like it in the last 10 s, not logged")
        finally:
            for sock in held:
                sock.close()
        # the server serves again once the connections are gone
        deadline = time.time() + 10
        status = None
        while time.time() < deadline:
            try:
                status = self.srv.get("/api/v1/health")[0]
                break
            except Exception:
                time.sleep(0.2)
        self.assertEqual(status, 200)


class BodyMemory(ServerTest):
    """Bodies being received share limits.body_memory_max: a second large upload while the first is
    held gets 503 + Retry-After (nothing applied), the first completes, and the memory is returned."""
    config = {"limits": {"body_memory_max": 1 << 20, "body_max": 786432}}

    def test_concurrent_large_bodies_share_the_body_memory(self):
        srv = self.srv
        lines = []
        k = 0
        while sum(map(len, lines)) < 600000:
            k += 1
            lines.append(json.dumps({"type": "event", "run": 8, "spill": 1, "event": k, "trigger": "physics",
                                     "p_in": 160.0, "ecal": 0.4, "hcal": [2.4, 2.4, 2.4, 2.4]}) + "\n")
        body = "".join(lines).encode()
        head = ("POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)).encode()
        a = socket.create_connection(("127.0.0.1", srv.port))
        a.settimeout(30)
        a.sendall(head + body[:-1000])  # held: most of the body is in, its buffer is allocated
        deadline = time.time() + 20
        while time.time() < deadline:
            held = float(re.search(r"^spillwatch_http_body_bytes (\S+)$", srv.get("/metrics")[1], re.M).group(1))
            if held >= 512 * 1024:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(held, 512 * 1024)
        status, raw, headers = srv.request("POST", "/api/v1/ingest", body[:400000].rsplit(b"\n", 1)[0] + b"\n",
                                           {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 503, raw)
        self.assertEqual(headers.get("Retry-After"), "1")
        self.assertIn("limits.body_memory_max", json.loads(raw)["error"])
        a.sendall(body[-1000:])
        status, _, answer = parse_answer(read_all(a))
        a.close()
        self.assertEqual(status, "200", answer)
        self.assertEqual(json.loads(answer)["events"], k)
        # Once a request is complete (its answer sent), its memory is returned; then the second one
        # goes through, and in the end nothing is held any more.
        def released():
            deadline = time.time() + 20
            while "spillwatch_http_body_bytes 0\n" not in srv.get("/metrics")[1] and time.time() < deadline:
                time.sleep(0.02)
            return srv.get("/metrics")[1]
        released()
        status, raw, _ = srv.request("POST", "/api/v1/ingest", body[:400000].rsplit(b"\n", 1)[0] + b"\n",
                                     {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 200, raw)
        text = released()
        self.assertIn("spillwatch_http_body_bytes 0\n", text)
        self.assertIn('spillwatch_ingest_errors_total{reason="unavailable"} 1\n', text)


class MutatedBatches(ServerTest):
    """Thousands of mutated batches: every answer is 200 or a JSON error, the server stays up, and
    the events of the accepted ones are all stored, once."""
    config = {"spill_timeout": 1, "limits": {"batch_events_max": 1000}}
    N = int(os.environ.get("SW_MUTATIONS", "3000"))

    def mutate(self, rng, text):
        ops = rng.randint(1, 3)
        b = bytearray(text.encode())
        for _ in range(ops):
            op = rng.randrange(12)
            if op == 0 and b:  # flip a byte
                i = rng.randrange(len(b))
                b[i] = rng.randrange(256)
            elif op == 1 and b:  # truncate
                del b[rng.randrange(len(b)):]
            elif op == 2 and b:  # drop a span
                i = rng.randrange(len(b))
                del b[i:i + rng.randint(1, 40)]
            elif op == 3:  # duplicate a line
                lines = bytes(b).split(b"\n")
                i = rng.randrange(len(lines))
                lines.insert(i, lines[i])
                b = bytearray(b"\n".join(lines))
            elif op == 4:  # a value replaced
                s = bytes(b).decode("utf-8", "replace")
                vals = ['"x"', "null", "-1", "1e309", "9223372036854775808", "[]", "{}", '"\\u0000"', "true",
                        '"; DROP TABLE spills; --"', "0.5", '"' + "A" * 5000 + '"', "[" * 50 + "]" * 50]
                s = re.sub(r'(?<=: )[^,}\]]+', lambda m: rng.choice(vals) if rng.random() < 0.2 else m.group(0), s)
                b = bytearray(s.encode())
            elif op == 5:  # an unknown key
                b = bytearray(bytes(b).replace(b'"run"', b'"zzz": 1, "run"', 1))
            elif op == 6:  # a key dropped
                key = rng.choice([b'"run": ', b'"spill": ', b'"type": ', b'"event": '])
                b = bytearray(bytes(b).replace(key, b'"_": ', 1))
            elif op == 7:  # another run or spill (may be closed: late)
                b = bytearray(re.sub(rb'"spill": \d+', b'"spill": %d' % rng.randint(0, 40), bytes(b), count=1))
            elif op == 8:  # binary junk
                b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
            elif op == 9:  # CRLF and blank lines
                b = bytearray(bytes(b).replace(b"\n", b"\r\n\n"))
            elif op == 10:  # a type swapped
                b = bytearray(re.sub(rb'"type": "\w+"', b'"type": "%s"' % rng.choice(
                    [b"event", b"events", b"spill_end", b"run_start", b"run_end", b"nope"]), bytes(b), count=1))
            elif op == 11:  # deep nesting
                b += b'{"type": "event", "a": ' + b"[" * 3000 + b"]" * 3000 + b"}\n"
        return bytes(b)

    def test_mutated_batches(self):
        srv = self.srv
        rng = random.Random(7)
        accepted = 0
        statuses = {}
        for i in range(self.N):
            sp = i // 3 + 1
            text = spill(2, sp, rng.randint(1, 4))
            body = self.mutate(rng, text) if rng.random() < 0.85 else text.encode()
            status, raw, headers = srv.request("POST", "/api/v1/ingest", body, {"Content-Type": "application/x-ndjson"})
            statuses[status] = statuses.get(status, 0) + 1
            self.assertIn(status, (200, 400, 409, 413), raw[:300])
            answer = json.loads(raw)
            if status == 200:
                accepted += answer["events"]
            else:
                self.assertTrue(answer["error"], raw)
                if status == 400 and "line" in answer:
                    self.assertGreaterEqual(answer["line"], 1)
        self.assertGreater(statuses.get(200, 0), self.N // 10, statuses)
        self.assertGreater(statuses.get(400, 0), self.N // 10, statuses)
        # Every open spill closes by the timeout; then the stored events are exactly the accepted ones.
        deadline = time.time() + 60
        while time.time() < deadline and "spillwatch_open_spills 0\n" not in srv.get("/metrics")[1]:
            time.sleep(0.2)
        status, text = srv.get("/metrics")
        self.assertIn("spillwatch_open_spills 0\n", text)
        self.assertIn("spillwatch_ingest_events_total %d\n" % accepted, text)
        stored = 0
        status, runs = srv.get("/api/v1/runs?limit=1000")
        for run in runs["runs"]:
            status, sps = srv.get("/api/v1/runs/%d/spills" % run["run"])
            self.assertEqual(status, 200)
            stored += sum(s["events"] for s in sps["spills"])
        self.assertEqual(stored, accepted, statuses)
        self.assertEqual(srv.get("/api/v1/health")[0], 200)
        print("mutated batches: %s, %d events accepted and stored" % (statuses, accepted))


if __name__ == "__main__":
    main()
