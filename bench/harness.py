"""The spillwatch benchmark harness (issue 8): run through bench/run, which installs and builds first.

Every figure is printed with a baseline measured in the same run (a ratio), or against the project's
target; docs/performance.md says how each is measured. Servers run on
temporary directories with port 0 (the port is read from the log). Results go to
<results>/<UTC time>.json and <results>/last.json; the change against the previous last.json is
printed at the end. Python stdlib only.
"""
import argparse
import datetime
import glob
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = ["ingest", "latency", "histogram", "endpoints", "serialise", "scale", "stored", "quality", "pg"]
DEFAULT_STAGES = ["ingest", "latency", "histogram", "endpoints", "serialise"]  # scale, stored, quality, pg only with --only
# --only NAME: a figure family, and the stage that measures it
ONLY = {"ingest": "ingest", "latency": "latency", "commit": "latency", "histogram": "histogram",
        "endpoints": "endpoints", "memory": "endpoints", "serialise": "serialise", "scale": "scale",
        "stored": "stored", "quality": "quality", "pg": "pg"}  # stored: the stored-data part of scale alone
BATCH = 1000  # events per batch, as the collector sends them

sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from spawn import StartError, launch  # noqa: E402  (the server start-up shared with the tests)


class BenchError(Exception):
    pass


def say(msg):
    print(msg, flush=True)


def fmt_num(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.3g" % v


# ---------------------------------------------------------------------------------------------
# servers and HTTP


class Server:
    """One spillwatch process on a temporary directory (its config is config/spillwatch.json with
    absolute paths, the log at warn level apart from the start line)."""

    def __init__(self, build, tmp, db=None, name="server", profile=None):
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=tmp)
        cfg = json.load(open(os.path.join(SRC, "config", "spillwatch.json")))
        cfg["profile"] = profile or os.path.join(SRC, "config", "na64mu.json")
        cfg["www"] = os.path.join(SRC, "www")
        cfg["db"] = db or os.path.join(self.dir, "sw.db")
        self.db = cfg["db"]
        self.config = os.path.join(self.dir, "config.json")
        json.dump(cfg, open(self.config, "w"))
        self.binary = os.path.join(build, "spillwatch")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.port = None

    def start(self):
        self.started = time.monotonic()
        try:
            listen = getattr(self, "listen", "127.0.0.1:0")  # a fixed port: a cluster member's advertised URL
            self.proc, self.port, self.log = launch([self.binary, "--config", self.config, "--listen", listen],
                                                    self.log_path, cwd=self.dir, timeout=30)
        except StartError as e:
            raise BenchError(str(e)) from None
        self.start_seconds = time.monotonic() - self.started
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.returncode not in (0, -signal.SIGKILL):
            say("  (server exit status %s; log %s)" % (self.proc.returncode, self.log_path))
        self.log.close()

    def get(self, path, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    def metrics(self):
        status, body = self.get("/metrics")
        if status != 200:
            raise BenchError("/metrics answered %d" % status)
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    def status_kb(self):
        """VmRSS and VmHWM of the server process, kB."""
        out = {}
        for line in open("/proc/%d/status" % self.proc.pid):
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
        return out


def post_all(port, bodies, what):
    """POSTs NDJSON bodies in order on one keep-alive connection; every answer must be 200."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for b in bodies:
        c.request("POST", "/api/v1/ingest", body=b, headers={"Content-Type": "application/x-ndjson"})
        r = c.getresponse()
        data = r.read()
        if r.status != 200:
            raise BenchError("%s: ingest answered %d: %s" % (what, r.status, data[:300]))
    c.close()


def sim_args(build, run, spills, scale, fmt="columns", batch=BATCH, first=1):
    return [os.path.join(build, "spillwatch-collect"), "sim", "--out", "-", "--quiet", "--run", str(run),
            "--first-spill", str(first), "--spills", str(spills), "--scale", str(scale), "--format", fmt,
            "--batch", str(batch), "--fast"]


def sim_file(build, path, run, spills, scale, fmt):
    with open(path, "wb") as f:
        subprocess.run(sim_args(build, run, spills, scale, fmt), stdout=f, check=True)


def sim_spills(build, run, spills, scale, fmt="columns"):
    """Yields (head, spill_batches, spill_end_line) per spill from the simulator's output, where head
    holds records before the spill (run_start) and batches are NDJSON bodies of <= BATCH events;
    the spill_end line is kept apart. Records after the last spill come as a last (head, [], None)."""
    p = subprocess.Popen(sim_args(build, run, spills, scale, fmt), stdout=subprocess.PIPE)
    head, batches, cur, events = [], [], [], 0
    for line in p.stdout:
        rec = json.loads(line)
        t = rec["type"]
        n = 1 if t == "event" else len(rec["columns"]["event"]) if t == "events" else 0
        if t in ("run_start", "run_end"):
            head.append(line)
        elif t == "spill_end":
            if cur:
                batches.append(b"".join(cur))
            yield b"".join(head), batches, line
            head, batches, cur, events = [], [], [], 0
        else:
            if n and events >= BATCH:
                batches.append(b"".join(cur))
                cur, events = [], 0
            cur.append(line)
            events += n
    if p.wait() != 0:
        raise BenchError("the simulator failed")
    if head:
        yield b"".join(head), [], None


def http_send(port, method, path, obj):
    """One request with a JSON body; returns (status, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=json.dumps(obj), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def run_json(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise BenchError("%s failed (%d): %s %s" % (os.path.basename(cmd[0]), p.returncode,
                                                    p.stderr.decode()[-500:], p.stdout.decode()[-500:]))
    return json.loads(p.stdout)


def paired_ratio(samples, base):
    """The median of the paired ratios (run / the baseline measured just before it), as figure() does."""
    return statistics.median(s / b for s, b in zip(samples, base) if b)


def quantile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def hist_quantile(metrics, name, q):
    """histogram_quantile as Prometheus computes it (linear within the bucket) from /metrics."""
    buckets = []
    for k, v in metrics.items():
        m = re.match(re.escape(name) + r'_bucket\{le="([^"]+)"\}$', k)
        if m:
            buckets.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), v))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for le, cum in buckets:
        if cum >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * ((rank - below) / (cum - below) if cum > below else 0)
        lower, below = le, cum
    return None


# ---------------------------------------------------------------------------------------------
# the figures


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build_dir)
        self.quick = args.quick
        self.tmp = tempfile.mkdtemp(prefix="swbench-")
        self.figures = {}
        self.notes = []
        self.cores = os.cpu_count() or 1

    def figure(self, name, value, unit, baseline=None, baseline_what=None, target=None, text=None, **extra):
        """Records and prints one figure. ratio = value / baseline when there is a baseline."""
        quiet = extra.pop("quiet", False)  # recorded, not printed (a stage prints its own table)
        f = {"value": value, "unit": unit}
        if baseline is not None:
            f["baseline"] = baseline
            f["baseline_what"] = baseline_what
            f["ratio"] = value / baseline if baseline else None
            samples, base = extra.get("samples"), extra.get("baseline_samples")
            if samples and base and len(samples) == len(base) and len(samples) > 1 and all(base):
                # Measured in pairs (baseline, then ours, in each repetition): the median of the
                # pairs' ratios holds up better than a ratio of medians when other load comes and goes.
                f["ratio"] = statistics.median(s / b for s, b in zip(samples, base))
                f["ratio_method"] = "median of paired ratios"
        if target:
            f["target"] = target
        f.update(extra)
        self.figures[name] = f
        if quiet:
            return
        line = "  %-52s %10s %-8s" % (name, fmt_num(value), unit)
        if baseline is not None:
            line += " | %s %s %s | ratio %.1f %%" % (baseline_what, fmt_num(baseline), unit,
                                                      100 * f["ratio"] if f["ratio"] is not None else float("nan"))
        if target:
            line += " | target %s" % target
        if text:
            line += " | " + text
        if extra.get("samples") and len(extra["samples"]) > 1:
            line += " | runs %s" % " ".join(fmt_num(x) for x in extra["samples"])
            if extra.get("baseline_samples"):
                line += " vs %s" % " ".join(fmt_num(x) for x in extra["baseline_samples"])
        say(line.rstrip())
        # A baseline (a bare parse, nginx) is steady on a quiet machine, so its spread says other load
        # came and went; the server's own runs may spread for reasons of its own (docs/performance.md).
        for what, why, xs in ((extra.get("samples_what", "server's runs"), "repeat to confirm", extra.get("samples")),
                              ("baseline runs", "other load was likely present", extra.get("baseline_samples"))):
            if xs and len(xs) > 1 and min(xs) > 0 and max(xs) / min(xs) > 1.25:
                note = "%s: the %s spread %.0f %% (min to max): %s" % (name, what, 100 * (max(xs) / min(xs) - 1), why)
                self.notes.append(note)
                say("    ! " + note)

    def tool(self, name, optional=False):
        path = os.path.join(self.build, "bench", name)
        if not os.access(path, os.X_OK):
            if optional:
                return None
            raise BenchError("%s is not built (cmake --build %s)" % (path, self.build))
        return path

    # 1 -------------------------------------------------------------------------------------
    def stage_ingest(self):
        spills = 3 if self.quick else 20
        reps = 1 if self.quick else 5
        conns = [2, 4]
        secs = "0.5" if self.quick else "2"
        # The second ceiling (simdjson, C++) is built only where libsimdjson-dev is installed
        # (bench/run installs it); without it the ingest figures carry the Jansson ratio alone.
        simd = self.tool("simdjson_ceiling", optional=True)
        say("\n== 1. ingest: %d full-scale NA64mu spills per measurement (simulator --scale 1), %d events "
            "per batch, spills closed (spill_end in each spill's last batch, so every commit is in the "
            "measured path); a fresh server per measurement; median of %d; ceilings: bare Jansson "
            "parse%s of the same bytes on %d threads (the cores)" %
            (spills, BATCH, reps, " and simdjson DOM parse + walk" if simd else "", self.cores))
        if not simd:
            say("  (simdjson_ceiling is not built: libsimdjson-dev or a C++ compiler was missing at "
                "configure time; the simdjson ratios are left out)")
            self.notes.append("ingest: simdjson_ceiling not built (libsimdjson-dev missing): no simdjson ratio")
        for fmt, label in (("columns", "columnar"), ("rows", "rows")):
            path = os.path.join(self.tmp, "ingest-%s.ndjson" % fmt)
            sim_file(self.build, path, 1, spills, 1, fmt)
            ceil, sceil, rates, info = [], [], {c: [] for c in conns}, {}
            for _ in range(reps):
                ceil.append(run_json([self.tool("jansson_ceiling"), "--file", path, "--threads", str(self.cores),
                                      "--seconds", secs])["events_per_s"])
                if simd:
                    sceil.append(run_json([simd, "--file", path, "--threads", str(self.cores), "--seconds", secs,
                                           "--api", "dom"])["events_per_s"])
                for c in conns:
                    r = self.ingest_once(path, c)
                    rates[c].append(r["events_per_s"])
                    info = r
            say("  (%s: %d events in %d spills, %.0f events per spill, %.0f bytes per event on the wire)" %
                (label, info["events"], info["spills"], info["events"] / info["spills"],
                 info["bytes"] / info["events"]))
            if simd:
                self.figure("ingest.ceiling.%s" % label, statistics.median(sceil), "events/s",
                            statistics.median(ceil), "Jansson ceiling", text="simdjson DOM parse + walk over "
                            "Jansson: how much faster a parse can be", samples=sceil, baseline_samples=ceil,
                            samples_what="simdjson runs")
            for c in conns:
                extra = {}
                text = None
                if simd:
                    sr = paired_ratio(rates[c], sceil)
                    extra = {"simdjson_baseline": statistics.median(sceil), "simdjson_samples": sceil,
                             "simdjson_ratio": sr}
                    text = "simdjson ceiling %s events/s: ratio %.1f %%" % (fmt_num(statistics.median(sceil)),
                                                                           100 * sr)
                self.figure("ingest.%s.c%d" % (label, c), statistics.median(rates[c]), "events/s",
                            statistics.median(ceil), "Jansson ceiling", ">= 80 %", text=text, samples=rates[c],
                            baseline_samples=ceil, events_per_spill=info["events"] / info["spills"],
                            connections=c, **extra)
            os.unlink(path)

    def ingest_once(self, path, connections):
        srv = Server(self.build, self.tmp, name="ingest").start()
        try:
            r = run_json([self.tool("ingest_load"), "--port", str(srv.port), "--file", path, "--connections",
                          str(connections), "--batch", str(BATCH)])
            if r["failed"]:
                raise BenchError("ingest: %d answers were not 200: %s" % (r["failed"], r["first_error"]))
            got = srv.metrics().get("spillwatch_ingest_events_total")
            if got != r["events"]:
                raise BenchError("ingest: sent %d events, the server counted %s: data lost" % (r["events"], got))
            closed = srv.metrics().get("spillwatch_store_commits_total")
            if closed != r["spills"]:
                raise BenchError("ingest: %d spills sent, %s committed" % (r["spills"], closed))
            return r
        finally:
            srv.stop()
            shutil.rmtree(srv.dir, ignore_errors=True)

    # 2 and 4 -------------------------------------------------------------------------------
    def stage_latency(self):
        spills = 20 if self.quick else 200
        say("\n== 2./4. end of spill -> SSE `spill` event, commit time, bytes per spill: %d full-scale "
            "NA64mu spills (simulator --scale 1, columnar batches of %d), posted one after the other; "
            "the spill_end goes alone in its own POST and the clock runs from just before that POST "
            "is sent to the arrival of the spill's `spill` event on a GET /api/v1/stream held open"
            % (spills, BATCH))
        srv = Server(self.build, self.tmp, name="latency").start()
        stream = SseClient(srv.port)
        try:
            events, _, lat = self.post_spills(srv, 7, spills, 1, stream)
            m = srv.metrics()
            if m.get("spillwatch_ingest_events_total") != events:
                raise BenchError("latency: the server counted %s events, %d were sent" %
                                 (m.get("spillwatch_ingest_events_total"), events))
        finally:
            stream.close()
            srv.stop()
        n = len(lat)
        lat.sort()
        say("  (%d spills, %.0f events per spill)" % (n, events / n))
        self.figure("latency.spill_event.p50", 1000 * quantile(lat, 0.5), "ms", target="(p99 <= 50 ms)",
                    spills=n)
        self.figure("latency.spill_event.p99", 1000 * quantile(lat, 0.99), "ms", target="<= 50 ms", spills=n,
                    max_ms=1000 * lat[-1])
        commits = m.get("spillwatch_store_commits_total", 0)
        med = hist_quantile(m, "spillwatch_store_commit_duration_seconds", 0.5)
        mean = m.get("spillwatch_store_commit_seconds_total", 0) / commits if commits else None
        self.figure("commit.median", 1000 * med if med is not None else None, "ms", target="<= 10 ms",
                    method="spillwatch_store_commit_duration_seconds histogram, linear within the bucket",
                    commits=commits)
        self.figure("commit.mean", 1000 * mean if mean is not None else None, "ms",
                    method="spillwatch_store_commit_seconds_total / spillwatch_store_commits_total")
        # Bytes per spill: the database compacted with VACUUM INTO (no free pages, no WAL), minus
        # the same for a database that holds only the schema (a server started and stopped).
        full, full_tables = self.vacuumed(srv.db, "full")
        empty_srv = Server(self.build, self.tmp, name="empty").start()
        empty_srv.stop()
        empty, empty_tables = self.vacuumed(empty_srv.db, "empty")
        per_spill = (full - empty) / n
        tables = None
        if full_tables is not None and empty_tables is not None:
            tables = {k: (v - empty_tables.get(k, 0)) / n for k, v in full_tables.items()
                      if v != empty_tables.get(k, 0)}
        self.figure("store.bytes_per_spill", per_spill, "B", target="<= 10,240 B", spills=n,
                    method="(VACUUM INTO size after N spills - that of an empty database) / N", tables=tables,
                    text="of which " + ", ".join("%s %s" % (k, fmt_num(v)) for k, v in
                                                  sorted(tables.items(), key=lambda kv: -kv[1])) if tables else None)
        shutil.rmtree(srv.dir, ignore_errors=True)
        shutil.rmtree(empty_srv.dir, ignore_errors=True)

    def vacuumed(self, db, tag):
        """The size of a compact copy of db (VACUUM INTO), and its bytes by table and index (from
        SQLite's dbstat, None when this SQLite lacks it)."""
        dst = os.path.join(self.tmp, "vacuum-%s.db" % tag)
        con = sqlite3.connect(db)
        con.execute("VACUUM INTO ?", (dst,))
        con.close()
        size = os.path.getsize(dst)
        tables = None
        try:
            con = sqlite3.connect(dst)
            tables = dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
            con.close()
        except sqlite3.Error:
            pass
        os.unlink(dst)
        return size, tables

    # 3 -------------------------------------------------------------------------------------
    def stage_histogram(self):
        spills = 3 if self.quick else 10
        secs = 2 if self.quick else 10
        reps = 1 if self.quick else 2
        wrk = shutil.which("wrk")
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
        say("\n== 3. histogram JSON under 64 connections: wrk -c64 -t2 -d%ds on "
            "/api/v1/histograms/p_in?run=1 (a run of %d stored full-scale spills) against nginx serving "
            "the same bytes as a static file (worker_processes auto); alternated, median of %d" %
            (secs, spills, reps))
        if not wrk or not nginx:
            self.notes.append("histogram: skipped, wrk or nginx is missing "
                              "(bench/run installs them unless SW_SKIP_APT=1)")
            say("  skipped: wrk or nginx is missing")
            return
        srv = Server(self.build, self.tmp, name="hist").start()
        ng = None
        try:
            path = os.path.join(self.tmp, "hist.ndjson")
            sim_file(self.build, path, 1, spills, 1, "columns")
            r = run_json([self.tool("ingest_load"), "--port", str(srv.port), "--file", path, "--connections", "1"])
            if r["failed"]:
                raise BenchError("histogram: ingest failed: " + r["first_error"])
            url_path = "/api/v1/histograms/p_in?run=1"
            status, body = srv.get(url_path)
            if status != 200:
                raise BenchError("histogram: %s answered %d" % (url_path, status))
            ng = Nginx(nginx, self.tmp, body).start()
            srv_rates, ng_rates = [], []
            for _ in range(reps):
                srv_rates.append(self.wrk(wrk, "http://127.0.0.1:%d%s" % (srv.port, url_path), secs))
                ng_rates.append(self.wrk(wrk, "http://127.0.0.1:%d/p_in.json" % ng.port, secs))
            self.figure("histogram.p_in_run.c64", statistics.median(srv_rates), "req/s",
                        statistics.median(ng_rates), "nginx", ">= 50 %", samples=srv_rates,
                        baseline_samples=ng_rates, body_bytes=len(body), spills=spills)
        finally:
            if ng:
                ng.stop()
            srv.stop()
            shutil.rmtree(srv.dir, ignore_errors=True)

    def wrk(self, wrk, url, secs):
        p = subprocess.run([wrk, "-c64", "-t2", "-d%ds" % secs, url], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        m = re.search(r"Requests/sec:\s*([\d.]+)", p.stdout)
        if p.returncode != 0 or not m:
            raise BenchError("wrk failed: " + p.stdout[-500:])
        if "Non-2xx" in p.stdout or "Socket errors" in p.stdout:
            raise BenchError("wrk saw errors on %s:\n%s" % (url, p.stdout))
        return float(m.group(1))

    # 5 and 6 -------------------------------------------------------------------------------
    def stage_endpoints(self):
        runs, per_run = (2, 250) if self.quick else (10, 1000)
        total = runs * per_run
        reqs = 5 if self.quick else 20
        db = self.cached_db(runs, per_run)
        say("\n== 5./6. REST GET endpoints on a database of %d stored spills (%d runs of %d; simulator "
            "--scale 0.01), one more run with an open spill for the live scope; one keep-alive "
            "connection, 1 warm-up + %d requests each; then the server's memory" % (total, runs, per_run, reqs))
        work = os.path.join(self.tmp, "endpoints.db")
        shutil.copy(db, work)
        srv = Server(self.build, self.tmp, db=work, name="endpoints").start()
        try:
            # an open spill, so the live scope has data
            live = list(sim_spills(self.build, runs + 1, 1, 0.05))[0]
            post_all(srv.port, [live[0]] + live[1], "endpoints")
            R, S = max(1, runs // 2), per_run // 2
            status, body = srv.get("/api/v1/runs/%d/spills" % R)
            t_first = json.loads(body)["spills"][0]["started"]
            paths = [
                "/api/v1/health", "/metrics", "/api/v1/runs", "/api/v1/runs/%d" % R,
                "/api/v1/runs/%d/spills" % R, "/api/v1/runs/%d/spills/%d" % (R, S),
                "/api/v1/runs/%d/good-spills" % R, "/api/v1/runs/%d/good-spills?format=csv" % R,
                "/api/v1/histograms", "/api/v1/histograms/p_in", "/api/v1/histograms/p_in?run=%d" % R,
                "/api/v1/histograms/p_in?run=%d&spill=%d" % (R, S),
                "/api/v1/histograms/p_in?run=%d&spills=1-100" % R, "/api/v1/histograms/p_in?last=100",
                "/api/v1/histograms/p_in?run=%d&quality=good" % R, "/api/v1/histograms/xy_tgt?run=%d" % R,
                "/api/v1/histograms/ecal_occ?run=%d" % R,
                "/api/v1/trends/mot?run=%d" % R, "/api/v1/trends/check.p_in_mean?run=%d" % R,
                "/api/v1/trends/rates.mot?from=%d&to=%d" % (t_first, t_first + 3600),
                "/api/v1/alarms", "/api/v1/alarms?history=1", "/api/v1/silences", "/api/v1/audit",
                "/api/v1/sources/sim-run%d" % R,
            ]
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
            for p in paths:
                times, size = [], 0
                for i in range(reqs + 1):
                    t0 = time.perf_counter()
                    c.request("GET", p)
                    r = c.getresponse()
                    data = r.read()
                    dt = time.perf_counter() - t0
                    if r.status != 200:
                        raise BenchError("endpoints: GET %s answered %d: %s" % (p, r.status, data[:300]))
                    if i:
                        times.append(dt)
                    size = len(data)
                times.sort()
                p95 = 1000 * quantile(times, 0.95)
                name = "GET " + re.sub(r"from=\d+&to=\d+", "from=T&to=T+3600", p)
                self.figure(name, 1000 * statistics.median(times), "ms", p95_ms=p95, bytes=size, requests=reqs,
                            text="p95 %s ms, %s bytes" % (fmt_num(p95), fmt_num(size)))
            c.close()
            kb = srv.status_kb()
            self.figure("memory.rss", kb["VmRSS"] / 1024, "MB", target="<= 64 MB", spills=total)
            self.figure("memory.hwm", kb["VmHWM"] / 1024, "MB", target="(RSS <= 64 MB)", spills=total)
        finally:
            srv.stop()
            os.unlink(work)
            shutil.rmtree(srv.dir, ignore_errors=True)

    def cached_db(self, runs, per_run):
        """A database of runs x per_run stored spills, built once and kept under
        <build>/bench-cache, keyed by cache_hash."""
        cache = os.path.join(self.build, "bench-cache")
        os.makedirs(cache, exist_ok=True)
        path = os.path.join(cache, "spills-%dx%d-%s.db" % (runs, per_run, self.cache_hash()))
        if os.path.exists(path):
            say("\n  (cached database %s)" % path)
            return path
        say("\n  building the %d-spill database (once; cached as %s) ..." % (runs * per_run, path))
        t0 = time.time()
        srv = Server(self.build, self.tmp, name="cache").start()
        try:
            collect = os.path.join(self.build, "spillwatch-collect")
            pending = list(range(1, runs + 1))
            active = []
            while pending or active:
                while pending and len(active) < 2:
                    run = pending.pop(0)
                    active.append(subprocess.Popen([collect, "sim", "--url", "http://127.0.0.1:%d" % srv.port,
                                                    "--quiet", "--run", str(run), "--spills", str(per_run),
                                                    "--scale", "0.01", "--batch", "100000", "--fast"]))
                for p in list(active):
                    if p.poll() is not None:
                        if p.returncode != 0:
                            raise BenchError("the simulator failed building the cache (%d)" % p.returncode)
                        active.remove(p)
                time.sleep(0.1)
            stored = srv.metrics().get("spillwatch_store_commits_total")
            if stored != runs * per_run:
                raise BenchError("cache: %s spills committed, %d expected" % (stored, runs * per_run))
        finally:
            srv.stop()
        tmp = "%s.%d.tmp" % (path, os.getpid())  # two benches building at once each write their own
        con = sqlite3.connect(srv.db)
        con.execute("VACUUM INTO ?", (tmp,))
        con.close()
        os.rename(tmp, path)
        shutil.rmtree(srv.dir, ignore_errors=True)
        say("  built in %.0f s" % (time.time() - t0))
        return path


    # serialise ----------------------------------------------------------------------------------
    def stage_serialise(self):
        say("\n== serialise: the answers' serialiser (sw_json_text, shortest round-trip reals) against "
            "json_dumps (%.17g reals) on the same trees, alternating in one process; ratio = ours / Jansson "
            "per call (median of paired rounds; below 100 % is faster)")
        r = run_json([self.tool("json_serialise"), "--seconds", "0.6" if self.quick else "3"])
        for name, t in r["trees"].items():
            self.figure("serialise.%s" % name, t["ours_us"], "us/call", t["jansson_us"], "json_dumps", "<= 125 %",
                        text="%d bytes (json_dumps %d)" % (t["bytes_ours"], t["bytes_jansson"]))
            # the paired ratio measured by the program itself
            self.figures["serialise.%s" % name]["ratio"] = t["ratio"]
            self.figures["serialise.%s" % name]["ratio_method"] = "median of paired rounds"

    # scale (only with --only scale) ----------------------------------------------------------
    def stage_scale(self):
        """How cost grows with events per spill, histograms per profile, stored spills and dashboard
        clients: 3 points each (docs/performance.md, scale notes)."""
        say("\n== scale: 3 points each for events per spill, histograms per profile, stored spills and "
            "dashboard clients")
        self.scale_events()
        self.scale_histograms()
        self.scale_stored()
        self.scale_clients()

    def stage_pg(self):
        say("\n== pg: PostgreSQL as the store, side by side with SQLite (bench/pg_stage.py)")
        import pg_stage  # bench/pg_stage.py
        pg_stage.run(self, Server, SseClient, BenchError, say)

    def stage_stored(self):
        say("\n== stored: the stored-data part of the scale stage alone")
        self.scale_stored()

    def post_spills(self, srv, run, spills, scale, stream=None, profile_fields=None):
        """Posts spills one after the other on one connection, the spill_end alone in its own POST;
        returns events, wall seconds and the spill_end -> `spill` event latencies, sorted (from the
        time just before the spill_end is sent to the event's arrival at each stream client given)."""
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
        lat, events, t_start = [], 0, time.monotonic()

        def post(body):
            c.request("POST", "/api/v1/ingest", body=body, headers={"Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            data = r.read()
            if r.status != 200:
                raise BenchError("ingest answered %d: %s" % (r.status, data[:300]))
            return json.loads(data)

        for head, batches, end in sim_spills(self.build, run, spills, scale):
            if head:
                post(head)
            for b in batches:
                events += post(b)["events"]
            if end is None:
                continue
            t0 = time.monotonic()
            post(end)
            if stream is not None:
                for cl in (stream if isinstance(stream, list) else [stream]):
                    t1 = cl.wait_spill(json.loads(end)["spill"], 20)
                    if t1 is None:
                        raise BenchError("no spill event for spill %s within 20 s" % json.loads(end)["spill"])
                    lat.append(t1 - t0)
        c.close()
        if srv.metrics().get("spillwatch_ingest_events_total", 0) < events:
            raise BenchError("events lost")
        return events, time.monotonic() - t_start, sorted(lat)

    def scale_events(self):
        say("\n  -- events per spill (simulator --scale 0.3, 1, 3; one connection, spills one after the other):")
        for scale, spills in ((0.3, 30), (1, 10), (3, 4)):
            srv = Server(self.build, self.tmp, name="scale-ev").start()
            stream = SseClient(srv.port)
            try:
                events, secs, lat = self.post_spills(srv, 1, spills, scale, stream)
                m = srv.metrics()
            finally:
                stream.close()
                srv.stop()
            per = events / spills
            commits = m.get("spillwatch_store_commits_total", 0)
            self.figure("scale.events_per_spill.%d" % round(per, -2), events / secs, "events/s",
                        text="%d events per spill: close->event p50 %.2f ms, commit mean %.2f ms" % (
                            per, 1000 * quantile(lat, 0.5), 1000 * m.get("spillwatch_store_commit_seconds_total", 0)
                            / max(commits, 1)),
                        events_per_spill=per, close_p50_ms=1000 * quantile(lat, 0.5),
                        commit_mean_ms=1000 * m.get("spillwatch_store_commit_seconds_total", 0) / max(commits, 1))
            shutil.rmtree(srv.dir, ignore_errors=True)

    def scale_histograms(self):
        say("\n  -- histograms per profile (the NA64mu profile, and with its histograms defined 2x and 4x; "
            "10 full-scale spills on 2 connections):")
        base = json.load(open(os.path.join(SRC, "config", "na64mu.json")))
        path = os.path.join(self.tmp, "scale-hist.ndjson")
        sim_file(self.build, path, 1, 10, 1, "columns")
        for k in (1, 2, 4):
            prof = json.loads(json.dumps(base))
            prof["histograms"] = [dict(h, name=h["name"] + ("" if i == 0 else "_x%d" % i))
                                  for i in range(k) for h in base["histograms"]]
            pp = os.path.join(self.tmp, "profile-x%d.json" % k)
            json.dump(prof, open(pp, "w"))
            srv = Server(self.build, self.tmp, name="scale-h", profile=pp).start()
            try:
                r = run_json([self.tool("ingest_load"), "--port", str(srv.port), "--file", path, "--connections",
                              "2", "--batch", str(BATCH)])
                if r["failed"] or srv.metrics().get("spillwatch_ingest_events_total") != r["events"]:
                    raise BenchError("scale: ingest with %dx histograms failed or lost data" % k)
                m = srv.metrics()
                rss = srv.status_kb()["VmRSS"] / 1024
            finally:
                srv.stop()
            full, _ = self.vacuumed(srv.db, "h%d" % k)
            empty_srv = Server(self.build, self.tmp, name="scale-h0", profile=pp).start()
            empty_srv.stop()
            empty, _ = self.vacuumed(empty_srv.db, "h%d-empty" % k)
            shutil.rmtree(empty_srv.dir, ignore_errors=True)
            full -= empty
            commits = m.get("spillwatch_store_commits_total", 0)
            nh = len(prof["histograms"])
            self.figure("scale.histograms.%d" % nh, r["events_per_s"], "events/s",
                        text="%d histograms: commit mean %.2f ms, %s B stored per spill, RSS %.1f MB" % (
                            nh, 1000 * m.get("spillwatch_store_commit_seconds_total", 0) / max(commits, 1),
                            fmt_num(full / max(commits, 1)), rss),
                        histograms=nh, rss_mb=rss, bytes_per_spill=full / max(commits, 1),
                        commit_mean_ms=1000 * m.get("spillwatch_store_commit_seconds_total", 0) / max(commits, 1))
            shutil.rmtree(srv.dir, ignore_errors=True)
        os.unlink(path)

    # stored data (part of --only scale; alone with --only stored) -------------------------------
    # The seed of the big databases (bench/stored_db.py): runs of STORED_PER_RUN spills as in
    # NA64mu running, with faults and manual flags so that flags, alarms and the audit log vary.
    STORED_PER_RUN = 333
    SEED_RUNS = 10
    SEED_SCALE = 0.2  # simulator --scale: ~600 k MOT and ~800 events per spill, inside the checks' windows
    SEED_FAULTS = {1: ["intensity_drop@50-80"], 2: ["hcal_dead@100-110", "dead_time@200-215"],
                   4: ["beam_momentum@10-30"], 6: ["halo@150-170"], 8: ["daq_missing@300-305"],
                   9: ["trigger_low@40-45"]}
    SEED_FLAGS = [(1, "60-70", "GOOD", "shift crew check"), (3, "1-20", "BAD", "beam off or unstable"),
                  (3, "100", "EXCLUDED", "calibration or test spill"), (5, "200-210", "WARN", "detector problem"),
                  (7, "300-333", "BAD", "DAQ problem"), (10, "5", "GOOD", "other")]

    def cache_hash(self):
        """The cache key of the stored databases: the migrations, the profile and the simulator (every
        collectors/sim*.c and sim*.h, and col_sim_cmd.c, which writes the run_start meta)."""
        h = hashlib.sha256()
        sim = sorted(glob.glob(os.path.join(SRC, "collectors", "sim*.[ch]"))) + [
            os.path.join(SRC, "collectors", "col_sim_cmd.c")]
        for f in sorted(glob.glob(os.path.join(SRC, "schema", "migrations", "*.sql"))) + [
                os.path.join(SRC, "config", "na64mu.json")] + sim:
            h.update(os.path.basename(f).encode())
            h.update(open(f, "rb").read())
        return h.hexdigest()[:16]

    def seed_db(self):
        """SEED_RUNS x STORED_PER_RUN spills built through the real server (simulator posting, faults,
        manual flags over REST, a sign-off, a handover note), cached under <build>/bench-cache."""
        runs, per_run = self.SEED_RUNS, self.STORED_PER_RUN
        cache = os.path.join(self.build, "bench-cache")
        os.makedirs(cache, exist_ok=True)
        path = os.path.join(cache, "stored-seed-%dx%d-s%g-%s.db" % (runs, per_run, self.SEED_SCALE, self.cache_hash()))
        if os.path.exists(path):
            return path
        say("  building the seed: %d runs x %d spills through the server (simulator --scale %g --batch "
            "100000 --fast, two at a time, faults in runs %s, manual flags) ..." % (
                runs, per_run, self.SEED_SCALE, sorted(self.SEED_FAULTS)))
        t0 = time.monotonic()
        srv = Server(self.build, self.tmp, name="seed").start()
        try:
            collect = os.path.join(self.build, "spillwatch-collect")
            pending, active = list(range(1, runs + 1)), []
            while pending or active:
                while pending and len(active) < 2:
                    run = pending.pop(0)
                    faults = [a for f in self.SEED_FAULTS.get(run, []) for a in ("--fault", f)]
                    active.append(subprocess.Popen([collect, "sim", "--url", "http://127.0.0.1:%d" % srv.port,
                                                    "--quiet", "--run", str(run), "--spills", str(per_run),
                                                    "--scale", str(self.SEED_SCALE), "--batch", "100000",
                                                    "--fast"] + faults))
                for p in list(active):
                    if p.poll() is not None:
                        if p.returncode != 0:
                            raise BenchError("the simulator failed building the seed (%d)" % p.returncode)
                        active.remove(p)
                time.sleep(0.1)
            stored = srv.metrics().get("spillwatch_store_commits_total")
            if stored != runs * per_run:
                raise BenchError("seed: %s spills committed, %d expected" % (stored, runs * per_run))
            for run, spills, flag, reason in self.SEED_FLAGS:
                st, body = http_send(srv.port, "PUT", "/api/v1/runs/%d/spills/%s/flag" % (run, spills),
                                     {"flag": flag, "reason": reason, "comment": "bench seed", "shifter": "bench"})
                if st != 200:
                    raise BenchError("seed: manual flag on run %d answered %d: %s" % (run, st, body[:200]))
            st, body = http_send(srv.port, "POST", "/api/v1/runs/2/signoff",
                                 {"comment": "bench seed", "shifter": "bench", "force": True})
            if st != 200:
                say("  (seed: the sign-off of run 2 answered %d: %s)" % (st, body[:200].decode(errors="replace")))
            st, body = http_send(srv.port, "POST", "/api/v1/shift/notes",
                                 {"shifter": "bench", "text": "seed database of the stored-data benchmark"})
            if st not in (200, 201):
                say("  (seed: the handover note answered %d: %s)" % (st, body[:200].decode(errors="replace")))
        finally:
            srv.stop()
        tmp = "%s.%d.tmp" % (path, os.getpid())
        con = sqlite3.connect(srv.db)
        con.execute("VACUUM INTO ?", (tmp,))
        con.close()
        os.rename(tmp, path)
        shutil.rmtree(srv.dir, ignore_errors=True)
        self.figure("scale.stored.build.seed", time.monotonic() - t0, "s",
                    text="%d spills through the server" % (runs * per_run))
        return path

    def stored_db(self, runs):
        """A database of `runs` runs of STORED_PER_RUN spills grown from the seed by SQL copies
        (bench/stored_db.py), cached under <build>/bench-cache."""
        import stored_db  # bench/stored_db.py
        seed = self.seed_db()
        cache = os.path.join(self.build, "bench-cache")
        path = os.path.join(cache, "stored-%dx%d-s%g-%s-g%s.db" % (runs, self.STORED_PER_RUN, self.SEED_SCALE,
                                                                   self.cache_hash(), stored_db.VERSION))
        if os.path.exists(path):
            say("  (cached database %s)" % os.path.basename(path))
            return path
        # the grown files are big (about 7.7 GB at 10^6): the ones of another key or copier go first
        key = "-s%g-%s" % (self.SEED_SCALE, self.cache_hash())
        for f in glob.glob(os.path.join(cache, "stored-*.db")):
            seedfile = os.path.basename(f).startswith("stored-seed-")
            if key not in f or not (seedfile or f.endswith("-g%s.db" % stored_db.VERSION)):
                say("  (removing the stale %s)" % os.path.basename(f))
                os.unlink(f)
        say("  growing the seed to {:,} runs ({:,} spills) by SQL copies ...".format(runs, runs * self.STORED_PER_RUN))
        try:
            r = stored_db.grow(seed, path, runs, say=say)
        except (stored_db.GrowError, sqlite3.Error) as e:
            raise BenchError("growing the database to %d runs: %s" % (runs, e)) from None
        self.figure("scale.stored.build.%d" % r["spills"], r["seconds"], "s",
                    text="copied {:,} spills in {:,} runs, {:.0f} MB; run_totals equal the sums from the spills; "
                         "tables {}".format(r["spills"], runs, r["bytes"] / 1e6, ", ".join(r["tables"])),
                    spills=r["spills"], runs=runs, bytes=r["bytes"])
        return path

    def stored_reads(self, db, runs):
        """[(key, path)]: every REST GET and dashboard read, on the last run R and an old run O."""
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        R, O = runs, 1
        started = con.execute("SELECT min(started) FROM spills WHERE run = ?", (R,)).fetchone()[0]
        spill = con.execute("SELECT spill FROM spills WHERE run = ? ORDER BY spill LIMIT 1 OFFSET 166",
                            (R,)).fetchone()[0]
        alarm = con.execute("SELECT alarm FROM alarm_events ORDER BY id DESC LIMIT 1").fetchone()
        con.close()
        v = "/api/v1"
        reads = [
            ("routes", v + "/"), ("health", v + "/health"), ("display", v + "/display"),
            ("runs", v + "/runs"), ("runs_50", v + "/runs?limit=50"), ("runs_200", v + "/runs?limit=200"),
            ("runs_recent", v + "/runs?limit=1&order=recent"),
            ("run_last", v + "/runs/%d" % R), ("run_old", v + "/runs/%d" % O),
            ("spills_last", v + "/runs/%d/spills" % R), ("spills_old", v + "/runs/%d/spills" % O),
            ("spills_limit50", v + "/runs/%d/spills?limit=50" % R),
            ("spill", v + "/runs/%d/spills/%d" % (R, spill)),
            ("checks_run", v + "/runs/%d/checks" % R), ("daq", v + "/runs/%d/daq" % R),
            ("good_json", v + "/runs/%d/good-spills" % R), ("good_csv", v + "/runs/%d/good-spills?format=csv" % R),
            ("good_ranges", v + "/runs/%d/good-spills?format=ranges" % R),
            ("good_period", v + "/good-spills?runs=%d-%d" % (max(1, R - 2), R)),
            ("good_period_prov", v + "/good-spills?runs=%d-%d&provisional=1" % (max(1, R - 2), R)),
            ("good_period_100", v + "/good-spills?runs=%d-%d&provisional=1" % (max(1, R - 99), R)),
            ("hist_list", v + "/histograms"),
            ("hist_run", v + "/histograms/p_in?run=%d" % R), ("hist_run_old", v + "/histograms/p_in?run=%d" % O),
            ("hist_last100", v + "/histograms/p_in?last=100"),
            ("hist_run_good", v + "/histograms/p_in?run=%d&quality=good" % R),
            ("hist_run_root", v + "/histograms/p_in?run=%d&format=root" % R),
            ("hist_bundle_root", v + "/histograms?run=%d&format=root" % R),
            ("trend_mot_run", v + "/trends/mot?run=%d" % R), ("trend_mot_old", v + "/trends/mot?run=%d" % O),
            ("trend_check_run", v + "/trends/check.p_in_mean?run=%d" % R),
            ("trend_mot_hour", v + "/trends/mot?from=%.0f&to=%.0f" % (started, started + 3600)),
            ("alarms", v + "/alarms"), ("alarms_history", v + "/alarms?history=1"),
            ("alarms_history_2000", v + "/alarms?history=1&limit=2000"), ("alarm_stats", v + "/alarms/stats"),
            ("silences", v + "/silences?active=1"),
            ("audit", v + "/audit"), ("audit_run", v + "/audit?run=%d&limit=100" % R),
            ("notes", v + "/shift/notes"), ("checks", v + "/checks"), ("metrics", "/metrics"),
        ]
        if alarm:
            reads.append(("alarm_deliveries", v + "/alarms/%s/deliveries" % alarm[0]))
        return reads

    def scale_stored(self):
        points = [("1e3", 3), ("1e4", 33)] if self.quick else [("1e3", 3), ("1e5", 303), ("1e6", 3003)]
        reps = 5 if self.quick else 7
        say("\n  -- stored spills (%s, in runs of %d; the last run R is a copy of the same seed run at every "
            "point): restart (start to /health 200), RSS after the reads, and every REST GET and dashboard "
            "read: first request after the start, then the median of %d rounds (target at 10^6: <= 20 ms "
            "and <= 2x the 10^3 time)" % (" / ".join("{:,}".format(r * self.STORED_PER_RUN) for _, r in points),
                                         self.STORED_PER_RUN, reps))
        res = {}
        uncovered = set()
        for label, runs in points:
            db = self.stored_db(runs)
            reads = self.stored_reads(db, runs)
            work = os.path.join(self.tmp, "stored-%s.db" % label)
            t0 = time.monotonic()
            shutil.copyfile(db, work)
            # On disk before the server starts: else its first fsync waits for the writeback of the
            # fresh copy (7.7 GB at 10^6), and restart measures the copy, not the server.
            with open(work, "rb+") as f:
                os.fsync(f.fileno())
            say("  %s: {:,} spills, %.0f MB (copied and synced in %.1f s)".format(runs * self.STORED_PER_RUN) % (label,
                                                                os.path.getsize(work) / 1e6, time.monotonic() - t0))
            srv = Server(self.build, self.tmp, db=work, name="scale-st")
            try:
                srv.start()
                while True:
                    try:
                        if srv.get("/api/v1/health", timeout=5)[0] == 200:
                            break
                    except OSError:
                        pass
                    if time.monotonic() - srv.started > 120:
                        raise BenchError("%s: /health not 200 within 120 s" % label)
                    time.sleep(0.005)
                restart = time.monotonic() - srv.started
                first, ts, status, size = {}, {k: [] for k, _ in reads}, {}, {}
                for k, p in reads:
                    t0 = time.perf_counter()
                    status[k], body = srv.get(p, timeout=300)
                    first[k] = time.perf_counter() - t0
                    size[k] = len(body)
                for _ in range(reps):
                    for k, p in reads:
                        if sum(ts[k]) > 20:  # a read this slow is slow enough with what it has
                            continue
                        t0 = time.perf_counter()
                        srv.get(p, timeout=300)
                        ts[k].append(time.perf_counter() - t0)
                rss = srv.status_kb()
                _, body = srv.get("/api/v1/")
                for r in json.loads(body)["routes"]:
                    if r["method"] == "GET":
                        pat = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/?]+", re.escape(r["path"])) + "/?(\\?|$)")
                        if not any(pat.match(p) for _, p in reads):
                            uncovered.add(r["path"])
            finally:
                srv.stop()
                os.unlink(work)
                shutil.rmtree(srv.dir, ignore_errors=True)
            spills = runs * self.STORED_PER_RUN
            self.figure("scale.stored.%s.restart" % label, restart, "s", target="<= 2 s",
                        text="start to /health 200, {:,} spills".format(spills), spills=spills)
            self.figure("scale.stored.%s.rss" % label, rss["VmRSS"] / 1024, "MB", target="<= 64 MB",
                        text="after the reads (peak %.1f MB)" % (rss["VmHWM"] / 1024), spills=spills,
                        hwm_mb=rss["VmHWM"] / 1024)
            res[label] = {"restart": restart, "rss": rss["VmRSS"] / 1024}
            for k, p in reads:
                med = statistics.median(ts[k])
                res[label][k] = (med, first[k], status[k], size[k])
                self.figure("scale.stored.%s.%s" % (label, k), 1000 * med, "ms", target="<= 20 ms",
                            text="%s: first %.1f ms, %s B%s" % (p, 1000 * first[k], fmt_num(size[k]),
                                                                "" if status[k] == 200 else ", status %d" % status[k]),
                            samples=[1000 * t for t in ts[k]], first_ms=1000 * first[k], status=status[k],
                            bytes=size[k], path=p, spills=spills, quiet=True)
                if status[k] != 200:
                    self.notes.append("stored %s: %s answered %d" % (label, p, status[k]))
        lo, mid, hi = points[0][0], points[-2][0], points[-1][0]
        say("\n  stored reads: median ms (first request ms) at each point; growth = %s / %s (and %s / %s: a read "
            "that grows from %s on grows with the database, not with a page that fills up); verdict against "
            "<= 20 ms and <= 2x at %s%s" % (hi, lo, hi, mid, mid, hi,
                                             " (--quick: not the issue's points)" if self.quick else ""))
        say("  %-20s %s %8s %8s  %s" % ("read", " ".join("%20s" % lab for lab, _ in points), "growth",
                                        "/" + mid, "verdict"))
        over = []
        rows = [(k, {lab: res[lab][k] for lab, _ in points}) for k, _ in reads]
        # a histogram's first request is the uncached one: its own row, judged like the others
        rows += [(k + ".first", {lab: (res[lab][k][1], res[lab][k][1], res[lab][k][2], res[lab][k][3])
                                 for lab, _ in points})
                 for k, _ in reads if k.startswith("hist_")]
        # A list whose page is not full at 10^3 (the run list with its 3 runs, 2000 alarm transitions,
        # a period of 100 runs) answers more at 10^6 because there is more to list, not because the
        # database is bigger: its growth is judged against the first point whose answer is as large
        # (bytes within 10 %), and the verdict line says which point that was.
        for k, r in rows:
            cells = " ".join("%9.2f (%8.2f)" % (1000 * r[lab][0], 1000 * r[lab][1]) for lab, _ in points)
            base = next(lab for lab, _ in points if abs(r[lab][3] - r[hi][3]) <= 0.1 * r[hi][3])
            g = r[hi][0] / r[lo][0] if r[lo][0] else float("inf")
            g2 = r[hi][0] / r[mid][0] if r[mid][0] else float("inf")
            gb = r[hi][0] / r[base][0] if r[base][0] else float("inf")
            ok = r[hi][0] <= 0.020 and gb <= 2 and r[hi][2] == 200
            if not ok:
                over.append(k)
            self.figure("scale.stored.growth.%s" % k, g, "x", target="<= 2x",
                        text="%s at %s: %.2f ms -> %.2f ms, %s" % (k, hi, 1000 * r[lo][0], 1000 * r[hi][0],
                                                                  "PASS" if ok else "over"), quiet=True,
                        ms=1000 * r[hi][0], pass_=ok, growth_last=g2, base=base, growth_equal_answer=gb)
            say("  %-20s %s %7.1fx %7.1fx  %s" % (k, cells, g, g2, ("PASS" if ok else "over") + (
                "" if base == lo else " (%.1fx against %s, the first point with an answer as large)" % (gb, base))))
        for what, unit, target in (("restart", "s", 2), ("rss", "MB", 64)):
            g, g2 = res[hi][what] / res[lo][what], res[hi][what] / res[mid][what]
            ok = res[hi][what] <= target
            if not ok:
                over.append(what)
            say("  %-20s %s %7.1fx %7.1fx  %s" % (what, " ".join("%20.2f" % res[lab][what] for lab, _ in points),
                                                  g, g2, "PASS" if ok else "over"))
        say("  reads over the target at %s: %s" % (hi, ", ".join(over) if over else "none"))
        if uncovered:
            note = "stored: GET routes not measured: %s" % ", ".join(sorted(uncovered))
            self.notes.append(note)
            say("  " + note)

    def scale_clients(self):
        say("\n  -- dashboard clients (1 / 16 / 64 stream clients during 10 full-scale spills: spill_end -> "
            "`spill` event at every client; and wrk with as many connections on a cached run histogram):")
        wrk = shutil.which("wrk")
        for n in (1, 16, 64):
            srv = Server(self.build, self.tmp, name="scale-cl").start()
            clients = []
            try:
                clients = [SseClient(srv.port) for _ in range(n)]
                events, secs, lat = self.post_spills(srv, 1, 10, 1, clients)
                rate = None
                if wrk:
                    p = subprocess.run([wrk, "-c%d" % n, "-t%d" % min(n, 2), "-d3s",
                                        "http://127.0.0.1:%d/api/v1/histograms/p_in?run=1" % srv.port],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    m = re.search(r"Requests/sec:\s*([\d.]+)", p.stdout)
                    rate = float(m.group(1)) if m else None
                cpu = srv.metrics().get("process_cpu_seconds_total")
            finally:
                for cl in clients:
                    cl.close()
                srv.stop()
            self.figure("scale.clients.%d" % n, 1000 * quantile(lat, 0.99), "ms",
                        text="spill event p99 over all clients (p50 %.2f ms); run histogram %s req/s on %d "
                             "connections" % (1000 * quantile(lat, 0.5), fmt_num(rate) if rate else "-", n),
                        clients=n, p50_ms=1000 * quantile(lat, 0.5), hist_req_s=rate)
            shutil.rmtree(srv.dir, ignore_errors=True)

    # ---------------------------------------------------------------------------------------
    # quality (only with --only quality; bench/quality.py, docs/quality.md) ------------------------
    def stage_quality(self):
        import quality  # bench/quality.py
        say("quality: the shipped profile over runs of drawn conditions with every fault class")
        out = os.path.join(self.tmp, "quality.json")
        runs = ["--runs", "12", "--spills", "16"] if self.quick else []
        rc = quality.main(["--build-dir", self.build, "--json", out] + runs)
        res = json.load(open(out))
        for name, v in res["figures"].items():
            target = "<= 1 %" if name == "clean_bad" else ">= 95 %" if name == "clean_good" else ">= 99 %"
            self.figure("quality " + name, 100 * v, "%", target=target)
        if rc != 0:
            raise BenchError("a quality target was missed")

    def run(self, stages):
        started = datetime.datetime.now(datetime.timezone.utc)
        say("spillwatch bench, %s UTC%s" % (started.strftime("%Y-%m-%d %H:%M:%S"), " (--quick)" if self.quick else ""))
        meta = machine()
        meta["build_dir"] = self.build
        say("machine: %s, %d cores, %s; load average at start %s; git %s" % (
            meta["cpu"], meta["cores"], meta["kernel"], meta["loadavg_start"], meta["git"]))
        failed = []
        try:
            for s in STAGES:
                if s in stages:
                    try:
                        getattr(self, "stage_" + s)()
                    except BenchError as e:
                        say("  FAILED: %s" % e)
                        failed.append("%s: %s" % (s, e))
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        meta["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        say("\nload average at the end: %s" % " ".join(meta["loadavg_end"]))
        for n in self.notes:
            say("note: " + n)
        result = {"time": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "quick": self.quick, "stages": stages,
                  "machine": meta, "figures": self.figures, "failed": failed, "notes": self.notes}
        bad = [k for k, f in self.figures.items()
               if not isinstance(f["value"], (int, float)) or f["value"] != f["value"] or f["value"] < 0]
        if bad:
            failed.append("figures that are not numbers: " + ", ".join(bad))
        self.save(result)
        for f in failed:
            say("FAILED: " + f)
        return 1 if failed else 0

    def save(self, result):
        d = os.path.abspath(self.args.results_dir)
        os.makedirs(d, exist_ok=True)
        last = os.path.join(d, "last.json")
        prev = json.load(open(last)) if os.path.exists(last) else None
        name = os.path.join(d, result["time"].replace(":", "") + ".json")
        for p in (name, last):
            with open(p + ".tmp", "w") as f:
                json.dump(result, f, indent=1, sort_keys=True)
            os.replace(p + ".tmp", p)
        say("results: %s (and last.json)" % os.path.relpath(name))
        if prev:
            compare(prev, result)


def compare(prev, cur):
    say("\nchange against the previous result (%s%s):" % (prev["time"], ", --quick" if prev.get("quick") else ""))
    if prev.get("quick") != cur["quick"]:
        say("  (one of the two runs is --quick: the figures are not comparable one to one)")
    common = 0
    for k, f in cur["figures"].items():
        p = prev.get("figures", {}).get(k)
        if not p or not isinstance(p.get("value"), (int, float)) or not isinstance(f.get("value"), (int, float)):
            continue
        ch = "%+.1f %%" % (100 * (f["value"] - p["value"]) / p["value"]) if p["value"] else "-"
        line = "  %-52s %10s -> %-10s %-8s %s" % (k, fmt_num(p["value"]), fmt_num(f["value"]), f["unit"], ch)
        if f.get("ratio") is not None and p.get("ratio") is not None:
            line += " (ratio %.1f %% -> %.1f %%)" % (100 * p["ratio"], 100 * f["ratio"])
        say(line)
        common += 1
    if not common:
        say("  (no figure in common)")


def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    try:
        git = subprocess.run(["git", "-C", SRC, "describe", "--always", "--dirty"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout.strip() or "?"
    except OSError:
        git = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(), "git": git,
            "loadavg_start": " ".join(open("/proc/loadavg").read().split()[:3]), "host": socket.gethostname()}


class SseClient:
    """Holds GET /api/v1/stream open on its own thread and notes the monotonic arrival time of each
    `spill` event by (spill number)."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/api/v1/stream", headers={"Accept": "text/event-stream"})
        self.sock = self.conn.sock
        self.resp = self.conn.getresponse()
        if self.resp.status != 200:
            raise BenchError("stream answered %d" % self.resp.status)
        self.arrived = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        event, data = None, None
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                t = time.monotonic()
                line = line.decode().rstrip("\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "":
                    if event == "spill" and data:
                        with self.cond:
                            self.arrived[json.loads(data)["spill"]] = t
                            self.cond.notify_all()
                    event, data = None, None
        except (OSError, ValueError, http.client.HTTPException):
            pass

    def wait_spill(self, spill, timeout):
        with self.cond:
            self.cond.wait_for(lambda: spill in self.arrived, timeout)
            return self.arrived.pop(spill, None)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


class Nginx:
    """nginx serving one file, as a foreground child with a temporary prefix."""

    def __init__(self, binary, tmp, body):
        self.prefix = tempfile.mkdtemp(prefix="nginx-", dir=tmp)
        os.chmod(tmp, 0o755)  # the workers run as nobody when we are root
        os.chmod(self.prefix, 0o755)
        www = os.path.join(self.prefix, "www")
        os.mkdir(www)
        with open(os.path.join(www, "p_in.json"), "wb") as f:
            f.write(body)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon off;
worker_processes auto;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(p)s/body;
    proxy_temp_path %(p)s/proxy;
    fastcgi_temp_path %(p)s/fastcgi;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
    keepalive_requests 1000000;
    types { application/json json; }
    server {
        listen 127.0.0.1:%(port)d;
        root %(p)s/www;
    }
}
""" % {"p": self.prefix, "port": self.port})
        # -e: the start-up error log too, so nothing is written under /var/log (not even as non-root)
        self.cmd = [binary, "-p", self.prefix, "-c", conf, "-e",
                    os.path.join(self.prefix, "error.log")]

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/p_in.json")
                if c.getresponse().status == 200:
                    c.close()
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise BenchError("nginx exited: " + open(os.path.join(self.prefix, "error.log")).read()[-500:])
            time.sleep(0.05)
        raise BenchError("nginx did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main():
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs, for a smoke check")
    ap.add_argument("--only", action="append", default=[],
                    help="one figure family: " + ", ".join(ONLY) + " (repeatable, or comma-separated)")
    ap.add_argument("--build-dir", default=os.path.join(SRC, "build-release"),
                    help="the build whose spillwatch, spillwatch-collect and bench/ tools to use (bench/run "
                         "builds build-release unless this is given)")
    ap.add_argument("--results-dir", default=os.path.join(SRC, "bench", "results"),
                    help="where <UTC time>.json and last.json go (default bench/results)")
    args = ap.parse_args()
    only = [o for arg in args.only for o in arg.split(",") if o]
    for o in only:
        if o not in ONLY:
            ap.error("--only %s: one of %s" % (o, ", ".join(ONLY)))
    stages = [s for s in STAGES if s in {ONLY[o] for o in only}] if only else list(DEFAULT_STAGES)
    if "scale" in stages and "stored" in stages:
        stages.remove("stored")  # scale measures it too
    sys.exit(Bench(args).run(stages))


if __name__ == "__main__":
    main()
