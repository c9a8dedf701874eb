"""Durability and exactly-once across server crashes, and the spill timeout."""
import os
import shutil
import tempfile
import time
import unittest

from harness import Server, ServerTest, main, ndjson

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

    def test_clean_shutdown_keeps_everything(self):
        srv = Server(self.tmp, db=self.db).start()
        for i, b in enumerate(spill_batches(2, 1, 5)):
            srv.post(b, "daq", i + 1)
        self.assertEqual(srv.stop(), 0)
        srv = Server(self.tmp, db=self.db).start()
        try:
            status, run = srv.get("/api/v1/runs/2")
            self.assertEqual((status, run["spills"], run["events"]), (200, 1, 3))
            # Late data after the restart is still refused: the closed set is reloaded.
            status, res = srv.post(ndjson({"type": "event", "run": 2, "spill": 1, "event": 9, "trigger": "beam"}))
            self.assertEqual(status, 409)
        finally:
            self.assertEqual(srv.stop(), 0)


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
        self.assertTrue(any("incomplete" in r for r in sp["reasons"]), sp["reasons"])
        # Its spill_end arriving afterwards is late.
        status, res = self.srv.post(ndjson({"type": "spill_end", "run": 3, "spill": 1}))
        self.assertEqual(status, 409)
        status, metrics = self.srv.get("/metrics")
        self.assertIn("spillwatch_spills_timed_out_total 1", metrics)


if __name__ == "__main__":
    main()
