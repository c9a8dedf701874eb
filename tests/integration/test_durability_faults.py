"""Durability when the database or its disk fails under the running server (issue 14, "nothing
acknowledged is lost"): a full disk, the free-space reserve, a read-only database, and the database
file removed or replaced. Real server, real HTTP, real SQLite on a real (small, tmpfs) file system;
the disk is filled with a file and freed again, the database file is renamed away."""
import errno
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import COLLECT, Server, main, ndjson, sim_output
from test_durability import metric, spill_batches, wait_for_metric
from test_metrics import promtool

# Mounting a small tmpfs needs root; without it, run this file again in a user and mount namespace
# where we are root (unshare), or skip every test that needs it, saying why.
MOUNT_SKIP = None
if os.geteuid() != 0:
    if not os.environ.get("SW_UNSHARED") and shutil.which("unshare") and subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True).returncode == 0:
        os.environ["SW_UNSHARED"] = "1"
        os.execvp("unshare", ["unshare", "--user", "--map-root-user", "--mount", sys.executable] + sys.argv)
    MOUNT_SKIP = "not root and no user namespace (unshare --user --map-root-user --mount): cannot mount a tmpfs"
    print("test_durability_faults: " + MOUNT_SKIP, file=sys.stderr)


def small_fs(test, size="4m"):
    """A fresh tmpfs of `size` (unmounted at cleanup); skips the test when none can be mounted."""
    if MOUNT_SKIP:
        test.skipTest(MOUNT_SKIP)
    d = tempfile.mkdtemp(prefix="swfs-")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", d], capture_output=True, text=True)
    if p.returncode != 0:
        os.rmdir(d)
        print("cannot mount a tmpfs: " + p.stderr, file=sys.stderr)
        test.skipTest("cannot mount a tmpfs: " + p.stderr.strip())
    test.addCleanup(lambda: (subprocess.run(["umount", "-l", d]), os.rmdir(d)))
    return d


def fill(path, leave=0):
    """Writes path until the file system has at most `leave` bytes free (ENOSPC ends it)."""
    chunk = b"\0" * 65536
    with open(path, "wb") as f:
        try:
            while True:
                v = os.statvfs(os.path.dirname(path))
                room = v.f_bavail * v.f_frsize - leave
                if room <= 0:
                    break
                f.write(chunk[:min(len(chunk), room)])
                f.flush()
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise


def post_raw(srv, body, source, seq):
    """(status, parsed body, headers) of one ingest request."""
    status, raw, headers = srv.request("POST", "/api/v1/ingest", body, {
        "Content-Type": "application/x-ndjson", "X-Spillwatch-Source": source, "X-Spillwatch-Seq": str(seq)})
    return status, json.loads(raw), headers


def wait_health(srv, pred, timeout=60):
    """Polls /api/v1/health until pred(status, body); returns them (or the last ones)."""
    deadline = time.time() + timeout
    while True:
        status, body = srv.get("/api/v1/health")
        if pred(status, body) or time.time() > deadline:
            return status, body
        time.sleep(0.1)


def spills_of(db_path):
    """{(run, spill): events} of a database file, read without its WAL."""
    with sqlite3.connect("file:%s?mode=ro" % db_path, uri=True) as c:
        return {(r, s): e for r, s, e in c.execute("SELECT run, spill, events FROM spills")}


class FaultTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.srv = None

    def tearDown(self):
        if self.srv:
            rc = self.srv.stop()
            log = self.srv.read_log()
            self.assertNotIn("ERROR: AddressSanitizer", log)
            self.assertNotIn("runtime error:", log)
            self.assertEqual(rc, 0, "server exit status %s; log:\n%s" % (rc, log[-3000:]))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_refused(self, status, res, headers, *words):
        self.assertEqual(status, 503, res)
        self.assertTrue(int(headers.get("Retry-After", "0")) > 0, headers)
        for w in words:
            self.assertIn(w, res["error"])

    def assert_promtool_clean(self):
        status, text = self.srv.get("/metrics")
        self.assertEqual(status, 200)
        if shutil.which("promtool"):
            p = promtool("check", "metrics", stdin=text)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return text


class DiskFull(FaultTest):
    def test_full_disk_holds_the_commit_refuses_writes_and_resumes_when_space_returns(self):
        fs = small_fs(self)
        srv = self.srv = Server(self.tmp, config={"store": {"min_free_mb": 0}}, db=os.path.join(fs, "sw.db")).start()
        for seq, b in enumerate(spill_batches(1, 1) + spill_batches(1, 2)[:-1], 1):  # seqs 1-5
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)
        filler = os.path.join(fs, "filler")
        fill(filler)

        answer = {}
        end = spill_batches(1, 2)[-1]  # seq 6 closes spill 2: its commit needs space
        t = threading.Thread(target=lambda: answer.update(end=srv.post(end, "daq", 6)))
        t.start()
        status, health = wait_health(srv, lambda s, h: s == 503)
        self.assertEqual((status, health["status"], health["db"]), (503, "degraded", "disk_full"), health)
        self.assertIn("disk full: 0 MB free under " + fs, health["reason"])
        wait_for_metric(srv, "spillwatch_store_commit_failures_total", 3, timeout=60)  # retried, not dropped
        self.assertTrue(t.is_alive(), "the spill_end was answered while its commit cannot be written: %s" % answer)

        # The collector's resend after its HTTP timeout: not a duplicate while the commit is not durable.
        self.assert_refused(*post_raw(srv, end, "daq", 6), "disk full", "nothing applied")
        # Other ingest is refused before the engine sees it; human writes are refused whole.
        self.assert_refused(*post_raw(srv, spill_batches(1, 3)[0], "daq2", 1), "disk full", "nothing applied")
        status, raw, headers = srv.request("PUT", "/api/v1/runs/1/spills/1/flag", json.dumps(
            {"flag": "BAD", "reason": "detector problem", "comment": "x"}), {"Content-Type": "application/json"})
        self.assert_refused(status, json.loads(raw), headers, "disk full")
        status, raw, headers = srv.request("GET", "/api/v1/sources/daq")
        self.assert_refused(status, json.loads(raw), headers, "disk full")
        # Reads are served; the server is up; the metric says degraded.
        status, sp = srv.get("/api/v1/runs/1/spills/1")
        self.assertEqual((status, sp["events"], sp["flag"] != "BAD"), (200, 1, True))
        text = self.assert_promtool_clean()
        self.assertIn('spillwatch_store_state{state="degraded"} 1\n', text)
        self.assertEqual(srv.read_log().count("degraded: disk full"), 1, srv.read_log()[-3000:])

        os.unlink(filler)  # space returns: the held commit lands, the waiting ingest gets its 200
        t.join(120)
        self.assertFalse(t.is_alive())
        self.assertEqual(answer["end"][0], 200, answer)
        self.assertEqual((answer["end"][1]["spills_closed"], answer["end"][1]["duplicate"]), (1, False))
        status, health = wait_health(srv, lambda s, h: s == 200)
        self.assertEqual((status, health["status"], health["db"]), (200, "ok", "ok"), health)
        self.assertNotIn("reason", health)
        self.assertEqual(srv.post(end, "daq", 6)[1]["duplicate"], True)  # durable now, so a duplicate
        self.assertEqual(srv.get("/api/v1/sources/daq2")[0], 404)  # its refused batch was not applied
        for seq, b in enumerate(spill_batches(1, 3), 1):
            status, res = srv.post(b, "daq2", seq)
            self.assertEqual((status, res["duplicate"]), (200, False), res)
        status, spills = srv.get("/api/v1/runs/1/spills")
        self.assertEqual([(s["spill"], s["events"], s["complete"]) for s in spills["spills"]],
                         [(1, 1, True), (2, 1, True), (3, 1, True)])
        self.assertEqual(srv.get("/api/v1/histograms/p_in?run=1")[1]["entries"], 3)  # each event once
        self.assertEqual(srv.get("/api/v1/sources/daq")[1]["committed_seq"], 6)
        self.assertIn("writes work again", srv.read_log())
        self.assertIn('spillwatch_store_state{state="ok"} 1\n', self.assert_promtool_clean())

    def test_reserve_refuses_ingest_before_the_disk_is_full_also_at_start(self):
        fs = small_fs(self)
        db = os.path.join(fs, "sw.db")
        srv = self.srv = Server(self.tmp, config={"store": {"min_free_mb": 2}}, db=db).start()
        for seq, b in enumerate(spill_batches(1, 1), 1):
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        filler = os.path.join(fs, "filler")
        fill(filler, leave=1 << 20)  # 1 MB left, the reserve is 2
        self.assert_refused(*post_raw(srv, spill_batches(1, 2)[0], "daq", 4), "MB free under " + fs, "need 2")
        status, health = srv.get("/api/v1/health")
        self.assertEqual((status, health["db"]), (503, "disk_full"))
        self.assertIn("need 2 (store.min_free_mb)", health["reason"])
        self.assertEqual(srv.get("/api/v1/runs/1/spills/1")[0], 200)
        # Restarted on the nearly full disk: it starts, serves reads, and says why it refuses writes.
        self.assertEqual(srv.stop(), 0)
        srv.start()
        status, health = srv.get("/api/v1/health")
        self.assertEqual((status, health["status"], health["db"]), (503, "degraded", "disk_full"), health)
        self.assertIn("starting degraded: disk full", srv.read_log())
        self.assertEqual(srv.get("/api/v1/runs/1/spills/1")[0], 200)
        self.assert_refused(*post_raw(srv, spill_batches(1, 2)[0], "daq", 4), "need 2")
        os.unlink(filler)
        self.assertEqual(wait_health(srv, lambda s, h: s == 200)[0], 200)
        for seq, b in enumerate(spill_batches(1, 2), 4):
            status, res = srv.post(b, "daq", seq)
            self.assertEqual((status, res["duplicate"]), (200, False), res)
        self.assertEqual([(s["spill"], s["events"]) for s in srv.get("/api/v1/runs/1/spills")[1]["spills"]],
                         [(1, 1), (2, 1)])

    def test_read_only_database_at_start_serves_reads_refuses_writes_and_works_after_a_restart(self):
        fs = small_fs(self)
        db = os.path.join(fs, "sw.db")
        srv = self.srv = Server(self.tmp, config={"store": {"min_free_mb": 0}}, db=db).start()
        for seq, b in enumerate(spill_batches(1, 1), 1):
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)
        srv.kill()  # the -wal and -shm stay, so SQLite can read the WAL database on a read-only mount
        self.assertEqual(subprocess.run(["mount", "-o", "remount,ro", fs]).returncode, 0)
        srv.start()
        status, health = srv.get("/api/v1/health")
        self.assertEqual((status, health["status"], health["db"]), (503, "degraded", "read_only"), health)
        self.assertIn("is read-only", health["reason"])
        self.assertEqual(srv.get("/api/v1/runs/1/spills/1")[1]["events"], 1)
        self.assert_refused(*post_raw(srv, spill_batches(1, 2)[0], "daq", 4), "read-only", "nothing applied")
        self.assertIn("restart the server", health["reason"])  # SQLite keeps it read-only until then
        self.assertEqual(srv.stop(), 0)  # not a crash, and nothing left half done
        self.assertEqual(subprocess.run(["mount", "-o", "remount,rw", fs]).returncode, 0)
        srv.start()
        status, health = srv.get("/api/v1/health")
        self.assertEqual((status, health["db"]), (200, "ok"), health)
        for seq, b in enumerate(spill_batches(1, 2), 4):
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        self.assertEqual([(s["spill"], s["events"]) for s in srv.get("/api/v1/runs/1/spills")[1]["spills"]],
                         [(1, 1), (2, 1)])


class Moved(FaultTest):
    def test_a_spill_written_to_the_moved_file_is_answered_503_and_lands_after_a_restart(self):
        db = os.path.join(self.tmp, "sw.db")
        srv = self.srv = Server(self.tmp, db=db).start()
        for seq, b in enumerate(spill_batches(1, 1) + spill_batches(1, 2)[:-1], 1):  # seqs 1-5
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)
        # Hold the writer in its busy wait while the spill_end's commit is queued, move the file, let
        # it go: the commit is written to the moved file, which must not be answered 200.
        lock = sqlite3.connect(db, isolation_level=None, timeout=0)
        lock.execute("BEGIN IMMEDIATE")
        answer = {}
        end = spill_batches(1, 2)[-1]
        t = threading.Thread(target=lambda: answer.update(end=post_raw(srv, end, "daq", 6)))
        t.start()
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 1)
        os.rename(db, db + ".moved")
        lock.execute("ROLLBACK")
        lock.close()
        t.join(60)
        status, res, headers = answer["end"]
        self.assert_refused(status, res, headers, "could not be committed", "was removed", "restart the server")

        status, health = srv.get("/api/v1/health")
        self.assertEqual((status, health["status"], health["db"]), (503, "failed", "moved"), health)
        self.assertIn("database file %s was removed" % db, health["reason"])
        self.assertIn("restart the server", health["reason"])
        self.assert_refused(*post_raw(srv, end, "daq", 6), "was removed")  # the resend: no duplicate
        self.assert_refused(*post_raw(srv, spill_batches(1, 3)[0], "daq2", 1), "was removed")
        status, raw, headers = srv.request("POST", "/api/v1/silences", json.dumps(
            {"matchers": {"alarm": "x"}, "duration": 60, "comment": "c"}), {"Content-Type": "application/json"})
        self.assert_refused(status, json.loads(raw), headers, "was removed")
        self.assertEqual(srv.request("GET", "/api/v1/sources/daq")[0], 503)
        self.assertIn('spillwatch_store_state{state="failed"} 1\n', self.assert_promtool_clean())
        self.assertEqual(srv.read_log().count("while the server ran: every write"), 1)
        # The WAL left at the path is empty (checkpointed into the moved file, which is complete).
        wal = db + "-wal"
        self.assertTrue(not os.path.exists(wal) or os.path.getsize(wal) == 0)
        self.assertEqual(srv.stop(), 0)
        self.assertEqual(spills_of(db + ".moved")[(1, 1)], 1)

        # Restarted on a fresh file; the collector resends what it was not answered 200 for.
        srv.db = os.path.join(self.tmp, "fresh.db")
        srv.start()
        self.assertEqual(srv.get("/api/v1/sources/daq")[0], 404)
        for seq, b in enumerate(spill_batches(1, 2), 4):
            status, res = srv.post(b, "daq", seq)
            self.assertEqual((status, res["duplicate"]), (200, False), res)
        self.assertEqual(srv.get("/api/v1/health")[0], 200)
        self.assertEqual([(s["spill"], s["events"]) for s in srv.get("/api/v1/runs/1/spills")[1]["spills"]],
                         [(2, 1)])

    def test_collector_run_with_the_database_moved_mid_run_counts_every_event_once(self):
        db = os.path.join(self.tmp, "sw.db")
        srv = self.srv = Server(self.tmp, db=db).start()
        args = ["--run", "5", "--spills", "12", "--scale", "0.05", "--batch", "200", "--seed", "3",
                "--spill-length", "0.3"]
        expected = {}
        for r in sim_output(*args):
            if r["type"] == "spill_end":
                expected[(r["run"], r["spill"])] = 0
        for r in sim_output(*args):
            if r["type"] in ("event", "events"):
                n = 1 if r["type"] == "event" else len(r["columns"]["event"])
                expected[(r["run"], r["spill"])] += n
        col = subprocess.Popen([COLLECT, "sim", "--url", srv.url, "--quiet", "--realtime", "--cycle", "1"] + args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: col.poll() is None and col.kill())
        deadline = time.time() + 60
        while time.time() < deadline and (metric(srv, "spillwatch_store_commits_total") or 0) < 4:
            time.sleep(0.05)
        col.send_signal(signal.SIGSTOP)  # between two requests or in one: either way nothing is lost
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)
        status, spills = srv.get("/api/v1/runs/5/spills")
        self.assertEqual(status, 200, spills)
        before = {(5, s["spill"]): s["events"] for s in spills["spills"]}
        self.assertGreaterEqual(len(before), 4)
        os.rename(db, db + ".moved")  # the hostile tester; `mv other.db sw.db` has the same effect
        col.send_signal(signal.SIGCONT)
        deadline = time.time() + 30  # until the collector was refused (the old server never refused it)
        while time.time() < deadline and not metric(srv, 'spillwatch_ingest_errors_total{reason="unavailable"}'):
            time.sleep(0.05)
        health = srv.get("/api/v1/health")
        self.assertEqual(srv.stop(), 0)
        srv.db = os.path.join(self.tmp, "fresh.db")
        srv.start()
        out, err = col.communicate(timeout=300)
        self.assertEqual(col.returncode, 0, err)
        status, spills = srv.get("/api/v1/runs/5/spills")
        after = {(5, s["spill"]): s["events"] for s in spills["spills"]} if status == 200 else {}
        # Every spill is where it was acknowledged: durable before the move, or resent after the
        # restart; none twice, none lost, and each with every one of its events.
        self.assertEqual(set(before) & set(after), set(), "resent although acknowledged")
        self.assertEqual({**before, **after}, expected)
        self.assertEqual(sum(before.values()) + sum(after.values()), sum(expected.values()))
        self.assertEqual((health[0], health[1]["db"]), (503, "moved"), health)


if __name__ == "__main__":
    main()
