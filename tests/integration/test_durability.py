"""Durability and exactly-once across server crashes, back-pressure from the SQLite writer, and the
spill timeout."""
import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from harness import Server, ServerTest, main, ndjson, sqlite_only

COUNTERS = {"mot": 2900000, "trig_physics": 2900, "recorded": 2}


def spill_batches(run, spill, n_batches=3):
    """A spill as a collector sends it: start, event batches, end (in its own last batch)."""
    out = [ndjson({"type": "spill_start", "run": run, "spill": spill})]
    for b in range(n_batches - 2):
        out.append(ndjson({"type": "event", "run": run, "spill": spill, "event": b + 1, "trigger": "physics",
                           "p_in": 160.0 + b}))
    out.append(ndjson({"type": "spill_end", "run": run, "spill": spill, "duration": 4.8,
                       "counters": dict(COUNTERS, recorded=n_batches - 2)}))
    return out


class Crash(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.db = os.path.join(self.tmp, "sw.db")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_committed_spill_survives_kill_and_open_spill_is_resent_exactly_once(self):
        srv = Server(self.tmp, db=self.db).start()
        seq = 0
        for b in spill_batches(1, 1, 4):  # spill 1: committed
            seq += 1
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        first_of_spill2 = seq + 1
        for b in spill_batches(1, 2, 4)[:-1]:  # spill 2: open when the server dies
            seq += 1
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        srv.kill()  # SIGKILL: no shutdown path runs

        srv = Server(self.tmp, db=self.db).start()
        try:
            status, src = srv.get("/api/v1/sources/daq")
            self.assertEqual(status, 200)
            self.assertEqual(src["committed"], {"run": 1, "spill": 1})
            self.assertEqual(src["seq"], first_of_spill2 - 1)
            status, sp = srv.get("/api/v1/runs/1/spills/1")
            self.assertEqual((status, sp["events"], sp["mot"]), (200, 2, 2900000))
            self.assertEqual(srv.get("/api/v1/runs/1/spills/2")[0], 404)
            # The collector resends spill 2 from its first batch, with the same sequence numbers.
            seq = first_of_spill2 - 1
            for b in spill_batches(1, 2, 4):
                seq += 1
                status, res = srv.post(b, "daq", seq)
                self.assertEqual(status, 200)
                self.assertFalse(res["duplicate"])
            # A retry of the already-committed spill 1 batches is a duplicate, not a 409.
            status, res = srv.post(spill_batches(1, 1, 4)[1], "daq", 2)
            self.assertEqual((status, res["duplicate"]), (200, True))
            status, spills = srv.get("/api/v1/runs/1/spills")
            self.assertEqual([(s["spill"], s["events"]) for s in spills["spills"]], [(1, 2), (2, 2)])
            status, h = srv.get("/api/v1/histograms/p_in?run=1")
            self.assertEqual(h["entries"], 4)  # every accepted event counted exactly once
        finally:
            self.assertEqual(srv.stop(), 0)

    def open_spill_then_kill(self, config=None):
        """Spill (1, 1) committed from source daq (seqs 1-4); spill (1, 2) open with the first three of
        its four batches (seqs 5-7, 2 events); then SIGKILL once the writer queue is empty, i.e. with
        the open-spill marker on disk."""
        srv = Server(self.tmp, db=self.db).start()
        seq = 0
        for b in spill_batches(1, 1, 4) + spill_batches(1, 2, 4)[:-1]:
            seq += 1
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        return srv

    def assert_committed_watermark(self, srv):
        status, src = srv.get("/api/v1/sources/daq")
        self.assertEqual(status, 200)
        self.assertEqual(src.keys(), {"source", "seq", "committed_seq", "committed", "updated", "instance",
                                      "instance_idle_s"})  # shape kept
        self.assertEqual((src["instance"], src["instance_idle_s"]), (None, None))  # posts that name no instance
        self.assertEqual((src["seq"], src["committed_seq"], src["committed"]), (4, 4, {"run": 1, "spill": 1}))

    def test_open_spill_not_resent_after_a_crash_closes_as_lost_in_the_restart(self):
        srv = self.open_spill_then_kill()
        # A second collector has spill 3 open; after the restart it resends only part of it.
        daq_b = [ndjson({"type": "spill_start", "run": 1, "spill": 3}),
                 ndjson({"type": "event", "run": 1, "spill": 3, "event": 1, "trigger": "beam", "p_in": 150.0})]
        for i, b in enumerate(daq_b, 1):
            self.assertEqual(srv.post(b, "daq-b", i)[0], 200)
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)  # the markers are on disk
        srv.kill()

        srv = Server(self.tmp, config={"spill_timeout": 3}, db=self.db).start()
        try:
            for i, b in enumerate(daq_b, 1):  # daq-b has nothing committed: it resends from seq 1
                status, res = srv.post(b, "daq-b", i)
                self.assertEqual((status, res["duplicate"]), (200, False))
            self.assert_committed_watermark(srv)  # daq never comes back
            deadline = time.time() + 30
            while time.time() < deadline and any(srv.get("/api/v1/runs/1/spills/%d" % n)[0] != 200 for n in (2, 3)):
                time.sleep(0.2)
            status, sp2 = srv.get("/api/v1/runs/1/spills/2")
            self.assertEqual(status, 200, sp2)
            self.assertEqual((sp2["complete"], sp2["events"], sp2["flag"]), (False, 0, "UNKNOWN"))
            self.assertEqual(sp2["reasons"][0], "Incomplete spill: lost in a server restart and not resent")
            # Spill 3 had data after the restart: an ordinary timeout, with what was resent.
            status, sp3 = srv.get("/api/v1/runs/1/spills/3")
            self.assertEqual((status, sp3["complete"], sp3["events"]), (200, False, 1))
            self.assertEqual(sp3["reasons"][0], "Incomplete spill: no spill_end before the spill timeout")
            self.assertNotIn("Incomplete spill: lost in a server restart and not resent", sp3["reasons"])
            self.assertEqual(metric(srv, "spillwatch_spills_timed_out_total"), 2)
            # Re-evaluating the run keeps what happened to the spill.
            status, res = srv.request("POST", "/api/v1/runs/1/reevaluate")[:2]
            self.assertEqual(status, 200, res)
            self.assertEqual(srv.get("/api/v1/runs/1/spills/2")[1]["reasons"][0],
                             "Incomplete spill: lost in a server restart and not resent")
            # The collector coming back after the timeout is late, as for any timed-out spill.
            self.assertEqual(srv.post(spill_batches(1, 2, 4)[0], "daq", 5)[0], 409)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_open_spill_resent_after_a_crash_completes_exactly_once(self):
        srv = self.open_spill_then_kill()
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)
        srv.kill()

        srv = Server(self.tmp, db=self.db).start()
        try:
            # Before the collector is back, the spill is open again, empty.
            status, err = srv.get("/api/v1/runs/1/spills/2")
            self.assertEqual((status, err["error"]), (404, "run 1 spill 2 is still open"))
            status, run = srv.get("/api/v1/runs/1")
            self.assertEqual((run["open"], run["live"]["spill"], run["live"]["events"]), (True, 2, 0))
            self.assertEqual(metric(srv, "spillwatch_open_spills"), 1)
            self.assert_committed_watermark(srv)
            # The collector resends spill 2 from its first batch (spill_start again), same seqs.
            for seq, b in enumerate(spill_batches(1, 2, 4), 5):
                status, res = srv.post(b, "daq", seq)
                self.assertEqual((status, res["duplicate"]), (200, False), res)
            self.assertEqual(srv.post(spill_batches(1, 2, 4)[1], "daq", 6)[1]["duplicate"], True)
            status, spills = srv.get("/api/v1/runs/1/spills")
            self.assertEqual([(s["spill"], s["events"], s["complete"]) for s in spills["spills"]],
                             [(1, 2, True), (2, 2, True)])
            self.assertFalse([r for r in spills["spills"][1]["reasons"] if "ncomplete" in r])
            self.assertEqual(srv.get("/api/v1/histograms/p_in?run=1")[1]["entries"], 4)
            status, src = srv.get("/api/v1/sources/daq")
            self.assertEqual((src["seq"], src["committed_seq"], src["committed"]), (8, 8, {"run": 1, "spill": 2}))
            self.assertEqual(metric(srv, "spillwatch_open_spills"), 0)
        finally:
            self.assertEqual(srv.stop(), 0)
        with sqlite3.connect(self.db) as c:  # each commit deleted its spill's marker
            self.assertEqual(c.execute("SELECT count(*) FROM open_spills").fetchone()[0], 0)
            self.assertEqual(c.execute("SELECT count(*) FROM spills").fetchone()[0], 2)

    def test_clean_shutdown_keeps_everything(self):
        srv = Server(self.tmp, db=self.db).start()
        for i, b in enumerate(spill_batches(2, 1, 5)):
            srv.post(b, "daq", i + 1)
        self.assertEqual(srv.stop(), 0)
        srv = Server(self.tmp, db=self.db).start()
        try:
            status, run = srv.get("/api/v1/runs/2")
            self.assertEqual((status, run["spills"], run["events"]), (200, 1, 3))
            # Late data after the restart is still refused: the database is asked (nothing loaded).
            status, res = srv.post(ndjson({"type": "event", "run": 2, "spill": 1, "event": 9, "trigger": "beam"}))
            self.assertEqual(status, 409)
        finally:
            self.assertEqual(srv.stop(), 0)


def metric(srv, name, timeout=60):
    """Value of an unlabelled sample of /metrics, or None when absent."""
    with urllib.request.urlopen(srv.url + "/metrics", timeout=timeout) as resp:
        m = re.search(r"^%s (\S+)$" % re.escape(name), resp.read().decode(), re.M)
    return float(m.group(1)) if m else None


def wait_for_metric(srv, name, value, timeout=20):
    """Polls /metrics until name equals value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if metric(srv, name, timeout=1) == value:
                return
        except (TimeoutError, urllib.error.URLError):
            pass
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s == %s" % (name, value))


@sqlite_only("the writer is held by a SQLite write lock from the test")
class HeadOfLine(ServerTest):
    """A spill_end is answered only after its commit; while that commit waits (another process holds
    the SQLite write lock), the connection is suspended, not its HTTP worker: with a single worker,
    every other request is still answered, and the spill_end gets its 200 once the lock is gone."""
    config = {"threads": 1}

    def stalled_spill_end(self, run):
        """Sends a spill of run up to its spill_end, takes the SQLite write lock (as another process
        would), then sends the spill_end from a thread: it waits for its commit. Returns the lock
        (the caller rolls it back), the thread and the dict that gets the answer under "end"."""
        srv = self.srv
        batches = spill_batches(run, 1)
        for seq, b in enumerate(batches[:-1], 1):
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)
        answer = {}
        lock = sqlite3.connect(srv.db, isolation_level=None, timeout=0)
        lock.execute("BEGIN IMMEDIATE")  # the writer now waits in its busy timeout (5 s, then retries)
        t = threading.Thread(target=lambda: answer.update(end=srv.post(batches[-1], "daq", len(batches))))
        t.start()
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 1)
        return lock, t, answer

    def test_a_waiting_commit_blocks_no_other_request(self):
        srv = self.srv
        lock, t, answer = self.stalled_spill_end(3)
        try:
            # The one worker serves these while the spill_end still waits for its commit.
            for _ in range(20):
                self.assertEqual(srv.get("/api/v1/health")[0], 200)
                self.assertEqual(srv.get("/api/v1/runs")[0], 200)
            # Other sources ingest meanwhile (a batch that closes nothing is answered at once).
            self.assertEqual(srv.post(spill_batches(3, 2)[0], "daq2", 1)[0], 200)
            self.assertTrue(t.is_alive(), "the spill_end was answered before its commit")
            self.assertNotIn("end", answer)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        t.join(60)
        self.assertEqual(answer["end"][0], 200, answer)
        self.assertEqual(answer["end"][1]["spills_closed"], 1)
        status, sp = srv.get("/api/v1/runs/3/spills/1")
        self.assertEqual((status, sp["events"]), (200, 1))
        self.assertEqual(srv.get("/api/v1/sources/daq")[1]["committed_seq"], 3)

    def test_late_data_while_its_commit_waits_is_409(self):
        """A closed spill whose commit has not reached the database yet is closed all the same: the
        engine keeps the spills it closed until the writer confirms their commit (the database answers
        for the others), so late data and a resent spill are refused, not opened as a new spill."""
        srv = self.srv
        lock, t, answer = self.stalled_spill_end(5)
        try:
            status, res = srv.post(ndjson({"type": "event", "run": 5, "spill": 1, "event": 9, "trigger": "beam"}))
            self.assertEqual(status, 409, res)
            self.assertIn("already closed", res["error"])
            self.assertEqual(srv.post(spill_batches(5, 1)[0], "daq3", 1)[0], 409)
            self.assertTrue(t.is_alive(), "the spill_end was answered before its commit")
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        t.join(60)
        self.assertEqual(answer["end"][0], 200, answer)
        # Committed now: the database answers, and the late data is still refused.
        status, res = srv.post(ndjson({"type": "event", "run": 5, "spill": 1, "event": 9, "trigger": "beam"}))
        self.assertEqual(status, 409, res)
        status, sp = srv.get("/api/v1/runs/5/spills/1")
        self.assertEqual((status, sp["events"]), (200, 1))

    def test_a_human_write_waiting_for_the_writer_holds_no_thread(self):
        """A human write (here a manual flag) is queued to the writer and its connection suspended
        until the writer has committed it: while the writer waits for the SQLite write lock, the one
        HTTP worker still answers reads, and the flag gets its 200 (and is stored) once the lock is
        gone (defer.h)."""
        srv = self.srv
        for seq, b in enumerate(spill_batches(6, 1), 1):
            self.assertEqual(srv.post(b, "daq", seq)[0], 200)
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)
        answer = {}
        body = json.dumps({"flag": "BAD", "reason": "beam off or unstable", "comment": "scraper in"})
        lock = sqlite3.connect(srv.db, isolation_level=None, timeout=0)
        lock.execute("BEGIN IMMEDIATE")  # the writer now waits in its busy timeout (5 s)
        t = threading.Thread(target=lambda: answer.update(
            flag=srv.request("PUT", "/api/v1/runs/6/spills/1/flag", body, {"Content-Type": "application/json"})))
        t.start()
        try:
            # Read by the one worker while the flag is in the writer's queue (a held worker answers
            # nothing until the write gives up).
            wait_for_metric(srv, "spillwatch_store_queue_jobs", 1)
            for _ in range(10):
                with urllib.request.urlopen(srv.url + "/api/v1/health", timeout=2) as resp:
                    self.assertEqual(resp.status, 200)
            self.assertTrue(t.is_alive(), "the flag was answered before its commit")
            self.assertNotIn("flag", answer)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        t.join(60)
        status, raw = answer["flag"][:2]
        self.assertEqual(status, 200, raw)
        self.assertEqual(json.loads(raw)["spills"], [1])
        status, sp = srv.get("/api/v1/runs/6/spills/1")
        self.assertEqual((status, sp["manual"]["flag"]), (200, "BAD"))

    def test_shutdown_answers_a_suspended_spill_end_first(self):
        srv = self.srv
        lock, t, answer = self.stalled_spill_end(4)
        try:
            srv.proc.terminate()  # SIGTERM while the spill_end is suspended
            time.sleep(0.3)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        srv.proc.wait(60)
        self.assertEqual(srv.stop(), 0)
        t.join(60)
        self.assertEqual(answer["end"][0], 200, answer)
        srv.start()
        status, sp = srv.get("/api/v1/runs/4/spills/1")
        self.assertEqual((status, sp["events"]), (200, 1))


class SeqGap(unittest.TestCase):
    """A server killed between two requests loses its open spill, and the collector's next request
    goes out on a fresh connection without any error. That batch must not be applied to the spill
    reopened empty: its seq does not follow the watermark, so it is refused (503, resend_from) and
    the collector resends the spill from its first batch."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.db = os.path.join(self.tmp, "sw.db")

    def tearDown(self):
        self.srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def kill_and_restart(self):
        wait_for_metric(self.srv, "spillwatch_store_queue_jobs", 0)  # the open-spill marker is on disk
        self.srv.kill()
        self.srv.start()

    def check_gap(self, source, seqs, first_missing):
        """Posts spill 2 of run 7 with the given seqs after a kill; returns after the exact resend."""
        batches = spill_batches(7, 2, n_batches=4)
        st, res = self.srv.post(batches[2], source, seqs[2])
        self.assertEqual(st, 503, res)
        self.assertEqual(res["resend_from"], first_missing)
        self.assertIn("missing", res["error"])
        self.assertEqual(metric(self.srv, 'spillwatch_ingest_errors_total{reason="seq_gap"}'), 1)
        st, spill = self.srv.get("/api/v1/runs/7/spills/2")
        self.assertEqual(st, 404)  # still open (reopened from its marker), nothing applied
        for i, body in enumerate(batches):
            st, res = self.srv.post(body, source, seqs[i])
            self.assertEqual(st, 200, res)
            self.assertFalse(res["duplicate"])
        st, spill = self.srv.get("/api/v1/runs/7/spills/2")
        self.assertEqual((st, spill["events"], spill["complete"]), (200, 2, True))

    def test_after_a_committed_spill(self):
        self.srv = Server(self.tmp, db=self.db).start()
        for i, body in enumerate(spill_batches(7, 1), 1):  # seq 1-3, committed with spill 1
            self.assertEqual(self.srv.post(body, "daq", i)[0], 200)
        batches = spill_batches(7, 2, n_batches=4)
        self.assertEqual(self.srv.post(batches[0], "daq", 4)[0], 200)
        self.assertEqual(self.srv.post(batches[1], "daq", 5)[0], 200)
        self.kill_and_restart()
        self.check_gap("daq", [4, 5, 6, 7], 4)

    def test_before_any_committed_spill(self):
        # The source has no row in the sources table yet: the open-spill marker carries its seq.
        self.srv = Server(self.tmp, db=self.db).start()
        batches = spill_batches(7, 2, n_batches=4)
        self.assertEqual(self.srv.post(batches[0], "fresh", 1)[0], 200)
        self.assertEqual(self.srv.post(batches[1], "fresh", 2)[0], 200)
        self.kill_and_restart()
        self.assertEqual(self.srv.get("/api/v1/sources/fresh")[0], 404)  # nothing committed: resend all
        self.check_gap("fresh", [1, 2, 3, 4], 1)

    def test_a_new_source_may_start_at_any_seq(self):
        self.srv = Server(self.tmp, db=self.db).start()
        self.assertEqual(self.srv.post(spill_batches(7, 1)[0], "new", 41)[0], 200)
        self.assertEqual(self.srv.post(spill_batches(7, 1)[1], "new", 43)[0], 503)  # but then no gap
        self.assertEqual(self.srv.post(spill_batches(7, 1)[1], "new", 42)[0], 200)


@sqlite_only("the writer is held by a SQLite write lock from the test")
class BackPressure(ServerTest):
    """A stalled writer (another process holds the SQLite write lock, as a slow disk or a backup tool
    would) fills the writer queue; ingest then answers 503 with Retry-After before applying anything,
    and the same batch resent later applies exactly once."""
    config = {"limits": {"writer_queue_max": 2}, "threads": 8}

    def test_full_writer_queue_answers_503_retry_after_and_the_resend_applies_once(self):
        srv = self.srv
        sources = ("daq1", "daq2", "daq3")  # one per spill: batches of one source must not race
        for i, src in enumerate(sources, 1):
            # Opening a spill queues its run row and restart marker (not awaited): with a bound of
            # 2, the set-up itself would be pushed back without an idle writer before each batch.
            wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)
            body = ndjson({"type": "spill_start", "run": 1, "spill": i},
                          *({"type": "event", "run": 1, "spill": i, "event": k, "trigger": "physics",
                             "p_in": 160.0} for k in range(1, 4)))
            self.assertEqual(srv.post(body, src, 1), (200, {"duplicate": False, "records": 4, "events": 3,
                                                            "spills_closed": 0, "seq": 1}))
        self.assertEqual(metric(srv, "spillwatch_store_queue_max"), 2)
        wait_for_metric(srv, "spillwatch_store_queue_jobs", 0)

        def end(i):
            return ndjson({"type": "spill_end", "run": 1, "spill": i, "duration": 4.8,
                           "counters": dict(COUNTERS, recorded=3)})

        lock = sqlite3.connect(srv.db, isolation_level=None, timeout=0)
        lock.execute("BEGIN IMMEDIATE")  # the writer now waits in its busy timeout (5 s)
        answers = {}

        def post(i):
            answers[i] = srv.post(end(i), sources[i - 1], 2)

        threads = []
        try:
            for i in (1, 2):  # each spill_end queues its commit and waits for it
                t = threading.Thread(target=post, args=(i,))
                t.start()
                threads.append(t)
                wait_for_metric(srv, "spillwatch_store_queue_jobs", i)
            # Both waiting workers are blocked now, so this connection goes to a free one.
            status, raw, headers = srv.request("POST", "/api/v1/ingest", end(3), {
                "X-Spillwatch-Source": "daq3", "X-Spillwatch-Seq": "2", "Content-Type": "application/x-ndjson"})
            self.assertEqual(status, 503, raw)
            self.assertEqual(headers.get("Retry-After"), "1")
            self.assertIn("writer queue full", raw.decode())
            # Nothing applied: the source's seq did not advance and the spill is still open.
            self.assertEqual(srv.get("/api/v1/sources/daq3")[1]["seq"], 1)
            status, err = srv.get("/api/v1/runs/1/spills/3")
            self.assertEqual((status, err["error"]), (404, "run 1 spill 3 is still open"))
            # A duplicate changes nothing, so it is still answered as one.
            self.assertEqual(srv.post(end(3), "daq1", 1)[1]["duplicate"], True)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
            for t in threads:
                t.join(60)
        for i in (1, 2):
            self.assertEqual(answers[i][0], 200, answers[i])
            self.assertEqual(answers[i][1]["spills_closed"], 1)
        # The collector resends the refused batch with the same seq after Retry-After.
        status, res = srv.post(end(3), "daq3", 2)
        self.assertEqual((status, res["duplicate"], res["spills_closed"]), (200, False, 1))
        self.assertEqual(srv.post(end(3), "daq3", 2)[1]["duplicate"], True)  # and only once

        status, spills = srv.get("/api/v1/runs/1/spills")
        self.assertEqual([(s["spill"], s["events"], s["complete"]) for s in spills["spills"]],
                         [(1, 3, True), (2, 3, True), (3, 3, True)])
        self.assertEqual(srv.get("/api/v1/histograms/p_in?run=1")[1]["entries"], 9)
        for src in sources:
            self.assertEqual(srv.get("/api/v1/sources/" + src)[1]["committed_seq"], 2)
        status, text = srv.get("/metrics")
        self.assertIn('spillwatch_ingest_errors_total{reason="queue_full"} 1\n', text)
        self.assertIn('spillwatch_ingest_errors_total{reason="unavailable"} 0\n', text)
        self.assertIn("spillwatch_ingest_rejected_total 1\n", text)


class Timeout(ServerTest):
    config = {"spill_timeout": 1}

    def test_spill_without_end_is_closed_incomplete(self):
        body = ndjson({"type": "event", "run": 3, "spill": 1, "event": 1, "trigger": "physics", "p_in": 160.0})
        self.assertEqual(self.srv.post(body)[0], 200)
        deadline = time.time() + 10
        status = 404
        while time.time() < deadline and status != 200:
            time.sleep(0.2)
            status, sp = self.srv.get("/api/v1/runs/3/spills/1")
        self.assertEqual(status, 200)
        self.assertFalse(sp["complete"])
        self.assertIn(sp["flag"], ("UNKNOWN", "BAD", "WARN"))
        self.assertTrue(sp["reasons"][0].startswith("Incomplete spill: "), sp["reasons"])
        # Its spill_end arriving afterwards is late.
        status, res = self.srv.post(ndjson({"type": "spill_end", "run": 3, "spill": 1}))
        self.assertEqual(status, 409)
        status, metrics = self.srv.get("/metrics")
        self.assertIn("spillwatch_spills_timed_out_total 1", metrics)


if __name__ == "__main__":
    main()
