"""spillwatch-collect file / stdin against the real server: following a growing file (rotation,
truncation, a file that appears later), dead letters, late batches, and the crash tests of exactly-once
delivery (docs/design.md §6.5): the server killed with SIGKILL at random moments, the collector killed and
restarted, the server unreachable for a while. Every crash test ends with exact per-spill event counts
and MOT against the file. The random moments come from a seed printed by each test (SW_CRASH_SEED sets
it, to replay a failure)."""
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import COLLECT, Server, main, ndjson, sqlite_only
from replay_compare import compare
from test_durability import metric

RUN = 501


def expected(lines):
    """(run, spill) -> (events, mot) from NDJSON lines, and the set of runs ended."""
    spills = {}
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)
        key = (r.get("run"), r.get("spill"))
        if r["type"] == "event":
            spills.setdefault(key, [0, None])[0] += 1
        elif r["type"] == "events":
            spills.setdefault(key, [0, None])[0] += len(r["columns"]["event"])
        elif r["type"] == "spill_end":
            spills.setdefault(key, [0, None])[1] = r["counters"]["mot"]
    return {k: tuple(v) for k, v in spills.items()}


def sim_lines(*args):
    p = subprocess.run([COLLECT, "sim", "--out", "-", "--quiet"] + list(args), capture_output=True, text=True,
                       timeout=600, check=True)
    return p.stdout.splitlines(keepends=True)


class Writer(threading.Thread):
    """The DAQ: appends lines to a file in chunks, with short pauses, so the collector follows a growing
    file. rotate_at: after that many lines the file is renamed to PATH.1 and a new PATH is started."""

    def __init__(self, path, lines, chunk=40, pause=0.01, rotate_at=None):
        super().__init__(daemon=True)
        self.path, self.lines, self.chunk, self.pause, self.rotate_at = path, lines, chunk, pause, rotate_at

    def run(self):
        f = open(self.path, "a")
        for i in range(0, len(self.lines), self.chunk):
            if self.rotate_at is not None and i <= self.rotate_at < i + self.chunk:
                f.close()
                os.rename(self.path, self.path + ".1")
                f = open(self.path, "a")
            f.write("".join(self.lines[i:i + self.chunk]))
            f.flush()
            time.sleep(self.pause)
        f.close()


class Collector:
    """One spillwatch-collect file/stdin process; restartable on the same state directory."""

    count = 0

    def __init__(self, tmp, url, args, stdin=None):
        self.tmp, self.url, self.args, self.stdin = tmp, url, list(args), stdin
        self.proc = None
        self.n = 0
        Collector.count += 1
        self.name = "collect%d" % Collector.count

    def start(self, stdin=None):
        self.n += 1
        self.log_path = os.path.join(self.tmp, "%s-%d.log" % (self.name, self.n))
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([COLLECT] + self.args + ["--url", self.url, "--progress", "1"],
                                     stdout=self.log, stderr=self.log, stdin=stdin or subprocess.DEVNULL)
        return self

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(timeout=60)
        self.log.close()
        return rc

    def wait(self, timeout=120):
        rc = self.proc.wait(timeout=timeout)
        self.log.close()
        return rc

    def logs(self):
        out = []
        for i in range(1, self.n + 1):
            with open(os.path.join(self.tmp, "%s-%d.log" % (self.name, i))) as f:
                out.append("--- collector %d ---\n%s" % (i, f.read()))
        return "\n".join(out)


class CollectorFileTest(unittest.TestCase):
    config = {"spill_timeout": 600}

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swcrash-")
        self.srv = Server(self.tmp, config=self.config).start()
        self.seed = int(os.environ.get("SW_CRASH_SEED", random.randrange(1 << 30)))
        self.rng = random.Random(self.seed)
        self.collectors = []

    def tearDown(self):
        for c in self.collectors:
            if c.proc and c.proc.poll() is None:
                c.kill()
            logs = c.logs()
            for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                self.assertNotIn(bad, logs)
        self.srv.stop()
        log = self.srv.read_log()
        self.assertNotIn("ERROR: AddressSanitizer", log)
        self.assertNotIn("runtime error:", log)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def collector(self, *args):
        c = Collector(self.tmp, self.srv.url, args)
        self.collectors.append(c)
        return c

    def data(self, spills=8, fmt="rows", scale="0.15", run=RUN):
        return sim_lines("--run", str(run), "--spills", str(spills), "--scale", scale, "--format", fmt, "--batch",
                         "200", "--seed", str(self.seed % 1000 + 1))

    def stored(self, run=RUN):
        st, body = self.srv.get("/api/v1/runs/%d/spills?limit=100000" % run)
        if st != 200:
            return {}
        return {(run, s["spill"]): (s["events"], s["mot"]) for s in body["spills"]}

    def wait_for(self, want, what, timeout=180, run=RUN):
        deadline = time.time() + timeout
        got = {}
        while time.time() < deadline:
            try:
                got = self.stored(run)
            except OSError:
                got = {}
            if len(got) >= len(want):
                return got
            time.sleep(0.2)
        self.fail("%s: %d of %d spills after %d s (seed %d)" % (what, len(got), len(want), timeout, self.seed))

    def assert_exact(self, want, got, collector):
        msg = "seed %d\n%s\n--- server ---\n%s" % (self.seed, collector.logs()[-6000:], self.srv.read_log()[-3000:])
        self.assertEqual(want, got, msg)
        st, run = self.srv.get("/api/v1/runs/%d" % RUN)
        self.assertEqual(sum(v[0] for v in want.values()), run["events"], msg)
        for key in want:
            st, sp = self.srv.get("/api/v1/runs/%d/spills/%d" % key)
            self.assertTrue(sp["complete"], "spill %s incomplete; %s" % (key, msg))

    # --- following a file ---

    def test_follows_a_growing_file_that_appears_later_exactly(self):
        lines = self.data(spills=4)
        path = os.path.join(self.tmp, "daq.ndjson")
        c = self.collector("file", path, "--state", os.path.join(self.tmp, "st"), "--batch", "150",
                           "--flush-ms", "50").start()
        time.sleep(0.5)  # the file does not exist yet: the collector waits for it
        self.assertIsNone(c.proc.poll(), c.logs())
        w = Writer(path, lines, chunk=25, pause=0.02)
        w.start()
        want = expected(lines)
        got = self.wait_for(want, "growing file")
        w.join()
        self.wait_run_ended(c)
        self.assertEqual(c.stop(), 0, c.logs())
        self.assert_exact(want, got, c)
        self.assertIn("appeared", c.logs())
        # A replay arrives after the run: its start is the run_start record's time, not the arrival.
        st, run = self.srv.get("/api/v1/runs/%d" % RUN)
        self.assertAlmostEqual(json.loads(lines[0])["time"], run["started"], places=3)
        self.assertLessEqual(run["started"], run["ended"])

    def test_rotation_and_truncation(self):
        lines = self.data(spills=6)
        path = os.path.join(self.tmp, "daq.ndjson")
        c = self.collector("file", path, "--state", os.path.join(self.tmp, "st"), "--flush-ms", "50").start()
        w = Writer(path, lines[: len(lines) // 2], chunk=30, pause=0.02, rotate_at=len(lines) // 4)
        w.start()
        w.join()
        # copytruncate: the file is emptied, then the DAQ goes on appending to it. (A file refilled beyond
        # the read position before the collector looks cannot be told from a grown one: docs/collector.md.)
        half = expected(lines[: len(lines) // 2])
        closed = {k: v for k, v in half.items() if v[1] is not None}
        self.wait_for(closed, "before truncation")
        open(path, "w").close()
        deadline = time.time() + 20
        while "truncated" not in c.logs() and time.time() < deadline:
            time.sleep(0.05)
        w = Writer(path, lines[len(lines) // 2:], chunk=30, pause=0.02)
        w.start()
        w.join()
        want = expected(lines)
        got = self.wait_for(want, "after truncation")
        self.assertEqual(c.stop(), 0)
        self.assert_exact(want, got, c)
        self.assertIn("rotated", c.logs())
        self.assertIn("truncated", c.logs())

    def test_dead_letters_bad_lines_and_keeps_the_rest(self):
        lines = self.data(spills=2)
        first_event = next(i for i, l in enumerate(lines) if '"type":"event"' in l)
        bad = [
            "{not json\n",
            '{"type":"event","run":%d,"spill":1,"event":999999,"trigger":"cosmic"}\n' % RUN,  # the server refuses
            '{"type":"event","run":%d,"spill":1,"event":999998,"trigger":"physics","p_in":"abc"}\n' % RUN,
        ]
        mixed = lines[:first_event + 3] + bad + lines[first_event + 3:]
        path = os.path.join(self.tmp, "daq.ndjson")
        with open(path, "w") as f:
            f.write("".join(mixed))
        state = os.path.join(self.tmp, "st")
        c = self.collector("file", path, "--state", state, "--exit-at-eof").start()
        self.assertEqual(c.wait(), 0, c.logs())
        want = expected(lines)
        self.assert_exact(want, self.stored(), c)
        with open(os.path.join(state, "dead-letter.ndjson")) as f:
            dead = [json.loads(l) for l in f]
        self.assertEqual(3, len(dead), dead)
        self.assertEqual([0, 400, 400], [d["status"] for d in dead])
        self.assertEqual(2, len({d["seq"] for d in dead[1:]} | {0}) - 1 + 1, dead)  # both in the batch they were cut from
        self.assertEqual([b.rstrip("\n") for b in bad], [d["record"] for d in dead])
        offset = len("".join(mixed[:first_event + 3]).encode())
        self.assertEqual(offset, dead[0]["offset"])
        self.assertIn("not JSON", dead[0]["error"])
        self.assertIn("trigger", dead[1]["error"])

    def test_late_batches_are_counted_not_retried(self):
        lines = self.data(spills=3)
        # Another source delivered spill 2 already: the collector's spill 2 answers 409.
        spill2 = [l for l in lines if '"spill":2,' in l or '"spill":2}' in l]
        st, _ = self.srv.post("".join(spill2), source="other", seq=1)
        self.assertEqual(200, st)
        path = os.path.join(self.tmp, "daq.ndjson")
        with open(path, "w") as f:
            f.write("".join(lines))
        c = self.collector("file", path, "--state", os.path.join(self.tmp, "st"), "--exit-at-eof").start()
        self.assertEqual(c.wait(), 0, c.logs())
        self.assertEqual(expected(lines), self.stored())
        self.assertIn("refused as late (409)", c.logs())
        self.assertRegex(c.logs(), r"[1-9]\d* late")

    def test_refuses_a_fresh_state_for_a_source_the_server_knows(self):
        lines = self.data(spills=1)
        path = os.path.join(self.tmp, "daq.ndjson")
        with open(path, "w") as f:
            f.write("".join(lines))
        c = self.collector("file", path, "--state", os.path.join(self.tmp, "st"), "--exit-at-eof", "--source", "s1")
        self.assertEqual(c.start().wait(), 0, c.logs())
        before = self.stored()
        c2 = self.collector("file", path, "--state", os.path.join(self.tmp, "other"), "--exit-at-eof",
                            "--source", "s1").start()
        self.assertEqual(c2.wait(), 1)
        self.assertIn("another collector uses this source id", c2.logs())
        self.assertEqual(before, self.stored())
        # Two collectors on one state directory: the second is refused.
        c3 = self.collector("file", path, "--state", os.path.join(self.tmp, "st"), "--source", "s1").start()
        time.sleep(0.3)
        c4 = self.collector("file", path, "--state", os.path.join(self.tmp, "st"), "--source", "s1").start()
        self.assertEqual(c4.wait(), 1)
        self.assertIn("in use by another collector", c4.logs())
        c3.stop()

    def test_two_collectors_on_one_source_id_one_stops_and_nothing_is_lost(self):
        """The documented `--source dqm` on two DAQ hosts: the second is told and stops non-zero (before,
        both exited 0 and the server dropped half the batches as duplicates)."""
        runs = (RUN, RUN + 1)
        paths, want = [], {}
        for run in runs:
            lines = self.data(spills=8, run=run)
            path = os.path.join(self.tmp, "daq%d.ndjson" % run)
            with open(path, "w") as f:
                f.write("".join(lines))
            paths.append(path)
            want.update(expected(lines))
        # The first collector follows its file and keeps running (it holds the source); the second one,
        # started with the same --source while the first is alive, is told and stops.
        first = self.collector("file", paths[0], "--state", os.path.join(self.tmp, "st0"), "--source", "dqm",
                               "--batch", "50").start()
        got = self.wait_for({k: v for k, v in want.items() if k[0] == runs[0]}, "first collector", run=runs[0])
        second = self.collector("file", paths[1], "--state", os.path.join(self.tmp, "st1"), "--exit-at-eof",
                                "--source", "dqm", "--batch", "50").start()
        self.assertEqual(second.wait(), 1, second.logs())
        self.assertIn("in use by another collector instance", second.logs())
        self.assertIn("give this one its own --source and --state", second.logs())
        self.assertEqual(self.stored(runs[1]), {})  # nothing of it applied, nothing dropped as "duplicate"
        self.assertEqual(first.stop(), 0, first.logs())
        self.assertEqual({k: v for k, v in want.items() if k[0] == runs[0]}, got)
        # The stopped one, given its own source and state, delivers its whole file: every spill once.
        c = self.collector("file", paths[1], "--state", os.path.join(self.tmp, "st1-new"), "--exit-at-eof",
                           "--source", "dqm2").start()
        self.assertEqual(c.wait(), 0, c.logs())
        got = {**self.stored(runs[0]), **self.stored(runs[1])}
        self.assertEqual(want, got)

    def test_default_source_ids_differ_for_files_of_one_name(self):
        lines = self.data(spills=1)
        srcs = []
        for d in ("a", "b"):
            os.makedirs(os.path.join(self.tmp, d))
            path = os.path.join(self.tmp, d, "daq.ndjson")
            with open(path, "w") as f:
                f.write("".join(lines))
            c = self.collector("file", path, "--state", os.path.join(self.tmp, "st-" + d), "--exit-at-eof")
            self.assertEqual(c.start().wait(), 0, c.logs())
            srcs.append(re.search(r"collect: source (\S+),", c.logs()).group(1))
            with open(os.path.join(self.tmp, "st-" + d, "state.json")) as f:
                state = json.load(f)
            self.assertEqual(state["source"], srcs[-1])
            self.assertRegex(state["instance"], "^[0-9a-f]{32}$")
        self.assertNotEqual(srcs[0], srcs[1])
        self.assertTrue(all(s.endswith("-daq.ndjson-" + s[-8:]) for s in srcs), srcs)
        # A state keeps the source it was made with (also one made before the default changed).
        st = os.path.join(self.tmp, "st-a", "state.json")
        with open(st) as f:
            state = json.load(f)
        state["source"] = "oldhost-daq.ndjson"
        del state["instance"]
        with open(st, "w") as f:
            json.dump(state, f)
        c = self.collector("file", os.path.join(self.tmp, "a", "daq.ndjson"), "--state", os.path.join(self.tmp, "st-a"),
                           "--exit-at-eof")
        c.start().wait()
        self.assertIn("collect: source oldhost-daq.ndjson,", c.logs())
        with open(st) as f:
            self.assertRegex(json.load(f)["instance"], "^[0-9a-f]{32}$")

    def test_usage_errors(self):
        for args, text in [(["file"], "PATH to follow is missing"),
                           (["file", "x", "--url", "http://127.0.0.1:1"], "--url and --state are required"),
                           (["stdin", "--url", "u", "--state", "s", "--batch", "0"], "--batch"),
                           (["file", "x", "--url", "u", "--state", "s", "--source", "a b"], "--source"),
                           (["stdin", "--bogus"], "unknown option")]:
            p = subprocess.run([COLLECT] + args, capture_output=True, text=True, timeout=30)
            self.assertEqual(2, p.returncode, args)
            self.assertIn(text, p.stderr)

    # --- crash tests ---

    def test_crash_server_killed_at_random_moments(self):
        lines = self.data(spills=10, fmt="columns")
        path = os.path.join(self.tmp, "daq.ndjson")
        c = self.collector("file", path, "--state", os.path.join(self.tmp, "st"), "--batch", "100",
                           "--flush-ms", "30").start()
        w = Writer(path, lines, chunk=1, pause=0.03)
        w.start()
        for _ in range(4):
            time.sleep(self.rng.uniform(0.1, 1.2))
            self.srv.kill()
            time.sleep(self.rng.uniform(0.0, 0.8))
            self.srv.start()
        w.join()
        want = expected(lines)
        got = self.wait_for(want, "server crashes")
        self.wait_run_ended(c)
        self.assertEqual(c.stop(), 0)
        self.assert_exact(want, got, c)

    def test_crash_collector_killed_and_restarted(self):
        lines = self.data(spills=10)
        path = os.path.join(self.tmp, "daq.ndjson")
        c = self.collector("file", path, "--state", os.path.join(self.tmp, "st"), "--batch", "100",
                           "--flush-ms", "30").start()
        w = Writer(path, lines, chunk=20, pause=0.01)
        w.start()
        for _ in range(5):
            time.sleep(self.rng.uniform(0.05, 0.6))
            c.kill()
            time.sleep(self.rng.uniform(0.0, 0.3))
            c.start()
        w.join()
        want = expected(lines)
        got = self.wait_for(want, "collector crashes")
        self.wait_run_ended(c)
        self.assertEqual(c.stop(), 0)
        self.assert_exact(want, got, c)

    def test_crash_both_killed_and_server_unreachable(self):
        lines = self.data(spills=10)
        path = os.path.join(self.tmp, "daq.ndjson")
        c = self.collector("file", path, "--state", os.path.join(self.tmp, "st"), "--batch", "100",
                           "--flush-ms", "30").start()
        w = Writer(path, lines, chunk=20, pause=0.015)
        w.start()
        # The receiver is away for a while: the collector keeps reading and backs off.
        time.sleep(self.rng.uniform(0.1, 0.5))
        self.srv.stop()
        time.sleep(2.5)
        self.srv.start()
        for _ in range(3):
            time.sleep(self.rng.uniform(0.05, 0.8))
            if self.rng.random() < 0.5:
                self.srv.kill()
                c.kill()
                c.start()
                self.srv.start()
            else:
                c.kill()
                self.srv.kill()
                self.srv.start()
                c.start()
        w.join()
        want = expected(lines)
        got = self.wait_for(want, "both killed")
        self.wait_run_ended(c)
        self.assertEqual(c.stop(), 0)
        self.assert_exact(want, got, c)
        self.assertIn("retries", c.logs())

    def wait_run_ended(self, c, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, run = self.srv.get("/api/v1/runs/%d" % RUN)
            if st == 200 and run.get("ended") is not None:
                return
            time.sleep(0.2)
        self.fail("run_end never arrived (seed %d)\n%s" % (self.seed, c.logs()[-4000:]))

    def test_file_replay_matches_direct_replay(self):
        # The same run posted by the simulator and followed from a file: identical spill for spill. (The
        # multi-hour version: replay_compare.py --spills 640, docs/collector.md.)
        diffs, fig = compare(os.path.join(self.tmp, "replay"), 25, scale="0.1", fmt="rows",
                             faults=("hcal_dead@5-6", "beam_momentum@12"))
        self.assertEqual([], diffs)
        self.assertEqual(25, fig["spills"])

    @sqlite_only("the writer is held by a SQLite write lock from the test")
    def test_obeys_retry_after_when_the_writer_queue_is_full(self):
        # Another process holds the SQLite write lock (a stalled disk): collector A's run_start waits for
        # its commit and fills the writer queue (bound 1), so collector B is answered 503 + Retry-After.
        self.srv.stop()
        self.srv = Server(self.tmp, config={"spill_timeout": 600, "threads": 8,
                                            "limits": {"writer_queue_max": 1}}, db=self.srv.db)
        self.srv.start()
        files = {}
        for name, run in (("a", RUN), ("b", RUN + 1)):
            lines = self.data(spills=2, run=run)
            files[name] = (os.path.join(self.tmp, name + ".ndjson"), lines)
            with open(files[name][0], "w") as f:
                f.write("".join(lines))
        lock = sqlite3.connect(self.srv.db, isolation_level=None, timeout=0)
        lock.execute("BEGIN IMMEDIATE")
        try:
            a = self.collector("file", files["a"][0], "--state", os.path.join(self.tmp, "sa"), "--source", "a",
                               "--exit-at-eof").start()
            deadline = time.time() + 20
            while time.time() < deadline and not (metric(self.srv, "spillwatch_store_queue_jobs", timeout=1) or 0) >= 1:
                time.sleep(0.02)
            b = self.collector("file", files["b"][0], "--state", os.path.join(self.tmp, "sb"), "--source", "b",
                               "--exit-at-eof", "--verbose").start()
            deadline = time.time() + 3
            while "writer queue full" not in b.logs() and time.time() < deadline:
                time.sleep(0.05)
        finally:
            time.sleep(0.5)
            lock.execute("ROLLBACK")
            lock.close()
        self.assertEqual(a.wait(), 0, a.logs())
        self.assertEqual(b.wait(), 0, b.logs())
        self.assertIn("status 503", b.logs())
        waits = [float(x) for x in re.findall(r"retrying seq \d+ in ([\d.]+) s", b.logs())]
        self.assertTrue(waits and min(waits) >= 1.0, "Retry-After: 1 not obeyed: %s\n%s" % (waits, b.logs()))
        for name, run in (("a", RUN), ("b", RUN + 1)):
            self.assertEqual(expected(files[name][1]), self.stored(run), name)
        # Per-source visibility: the seq and the lag each collector reported (0 once it is done).
        with urllib.request.urlopen(self.srv.url + "/metrics", timeout=30) as resp:
            text = resp.read().decode()
        for src in ("a", "b"):
            self.assertRegex(text, r'spillwatch_source_seq\{source="%s"\} [1-9]' % src)
            self.assertRegex(text, r'spillwatch_source_lag_bytes\{source="%s"\} 0\n' % src)
        self.assertRegex(text, r'spillwatch_ingest_errors_total\{reason="queue_full"\} [1-9]')

    # --- stdin ---

    def test_stdin_exact_and_spool_survives_the_collector(self):
        lines = self.data(spills=4)
        state = os.path.join(self.tmp, "st")
        # The server is down: the collector reads all of stdin into its spool, then is killed.
        self.srv.stop()
        c = self.collector("stdin", "--state", state, "--batch", "100")
        r, wfd = os.pipe()
        c.start(stdin=r)
        os.close(r)
        with os.fdopen(wfd, "w") as w:
            w.write("".join(lines))
        spool = os.path.join(state, "spool")
        total = len("".join(lines).encode())
        deadline = time.time() + 30
        while time.time() < deadline:
            size = sum(os.path.getsize(os.path.join(spool, f)) for f in os.listdir(spool)) if os.path.isdir(spool) else 0
            if size >= total:
                break
            time.sleep(0.05)
        self.assertEqual(total, size)
        c.kill()
        # Restarted with an empty stdin, it sends what the spool holds, exactly once, and ends.
        self.srv.start()
        c.start(stdin=subprocess.DEVNULL)
        self.assertEqual(c.wait(), 0, c.logs())
        want = expected(lines)
        self.assert_exact(want, self.stored(), c)
        self.assertEqual([], [f for f in os.listdir(spool)][:-1], "committed segments are pruned")


if __name__ == "__main__":
    main()
