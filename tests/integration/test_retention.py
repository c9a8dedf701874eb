"""Retention of per-spill histograms (retention.spill_histograms_days): the writer thread prunes
them in bounded chunks, the run-summed histograms stay whole, spill rows/flags/checks stay, a pruned
spill's histogram answers 410, and reference runs are never pruned."""
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest

from harness import SRC, Server, load_json, main, write_json

KEEP = {"retention": {"spill_histograms_days": 1, "interval": 0.2, "chunk": 3}}
PRUNE = {"retention": {"spill_histograms_days": 0, "interval": 0.2, "chunk": 3}}


def metric(srv, name):
    status, text = srv.get("/metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


class Retention(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.db = os.path.join(self.tmp, "sw.db")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            log = s.read_log()
            self.assertEqual(s.stop(), 0, log[-3000:])
            self.assertNotIn("ERROR: AddressSanitizer", s.read_log())
            self.assertNotIn("runtime error:", s.read_log())
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, config):
        srv = Server(self.tmp, config=config, db=self.db).start()
        self.servers.append(srv)
        return srv

    def stop(self, srv):
        self.servers.remove(srv)
        self.assertEqual(srv.stop(), 0)

    def wait_pruned(self, srv, n):
        deadline = time.time() + 60
        while time.time() < deadline:
            if metric(srv, "spillwatch_retention_pruned_spills_total") == n:
                return
            time.sleep(0.1)
        self.fail("expected %d pruned spills, metric %s; log:\n%s" % (
            n, metric(srv, "spillwatch_retention_pruned_spills_total"), srv.read_log()[-3000:]))

    def reference_profile(self):
        """The NA64mu profile plus a shape check against run 70, written next to the test's db."""
        prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
        prof["checks"].append({"name": "p_in_shape_ks", "category": "beam",
                               "quantity": {"hist": "p_in", "stat": "ks_prob"}, "reference": {"run": 70},
                               "good": [1e-6, 1], "warn": [1e-9, 1], "min_entries": 200})
        profile = os.path.join(self.tmp, "profile.json")
        write_json(profile, prof)
        return profile

    def test_old_spill_histograms_are_pruned_and_run_sums_kept(self):
        srv = self.start(KEEP)
        srv.sim("--run", "5", "--spills", "8", "--scale", "0.05", "--fault", "beam_momentum@3")
        time.sleep(0.6)  # passes ran: nothing is older than a day
        self.assertEqual(metric(srv, "spillwatch_retention_pruned_spills_total"), 0)
        self.assertEqual(srv.get("/api/v1/histograms/p_in?run=5&spill=2")[0], 200)
        before = {}
        for h in ("p_in", "hcal_occ"):
            for q in ("", "&quality=good"):
                status, body = srv.get("/api/v1/histograms/%s?run=5%s" % (h, q))
                self.assertEqual(status, 200)
                before[h, q] = body
        self.assertLess(before["p_in", "&quality=good"]["spills"], 8)  # the fault made a non-GOOD spill
        spill_before = srv.get("/api/v1/runs/5/spills/3")[1]
        self.stop(srv)

        srv = self.start(PRUNE)
        self.wait_pruned(srv, 8)
        log = srv.read_log()
        chunks = [int(n) for n in re.findall(r"pruned the histograms of (\d+) spills", log)]
        self.assertEqual(sum(chunks), 8)
        self.assertLessEqual(max(chunks), 3)  # bounded chunks
        print("chunk times (ms):", re.findall(r"bytes\) in ([\d.]+) ms", log))

        # A pruned spill's histogram: 410 with a clear JSON error.
        status, body = srv.get("/api/v1/histograms/p_in?run=5&spill=2")
        self.assertEqual(status, 410, body)
        self.assertIn("pruned by retention", body["error"])
        self.assertTrue(body["pruned"])
        # A range reports what it could not sum.
        status, body = srv.get("/api/v1/histograms/p_in?run=5&spills=1-4")
        self.assertEqual((status, body["entries"], body["pruned_spills"]), (200, 0, 4))
        # The run scope (all and good-only) is unchanged: the sums were kept.
        for (h, q), b in before.items():
            status, after = srv.get("/api/v1/histograms/%s?run=5%s" % (h, q))
            self.assertEqual(status, 200)
            for k in ("counts", "entries", "underflow", "overflow", "spills"):
                self.assertEqual(after[k], b[k], "%s%s: %s" % (h, q, k))
        # Spill rows, flags, checks, counters are kept.
        spill_after = srv.get("/api/v1/runs/5/spills/3")[1]
        for k in ("flag", "reasons", "checks", "counters", "mot", "events"):
            self.assertEqual(spill_after[k], spill_before[k], k)
        # New spills of a later run are pruned in turn; the live/last views still answer.
        srv.sim("--run", "6", "--spills", "2", "--scale", "0.05")
        self.wait_pruned(srv, 10)
        self.assertEqual(srv.get("/api/v1/histograms/p_in?run=6")[1]["spills"], 2)
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        self.assertEqual(con.execute("SELECT count(*) FROM spill_hists").fetchone()[0], 0)
        self.assertEqual(con.execute("SELECT count(*) FROM spills WHERE hists_pruned IS NOT NULL").fetchone()[0], 10)
        con.close()

    def test_reference_run_is_never_pruned(self):
        profile = self.reference_profile()
        srv = self.start(dict(PRUNE, profile=profile))
        srv.sim("--run", "70", "--spills", "3", "--scale", "0.05")
        srv.sim("--run", "71", "--spills", "2", "--scale", "0.05")
        self.wait_pruned(srv, 2)
        time.sleep(0.6)
        self.assertEqual(metric(srv, "spillwatch_retention_pruned_spills_total"), 2)
        self.assertEqual(srv.get("/api/v1/histograms/p_in?run=70&spill=1")[0], 200)
        self.assertEqual(srv.get("/api/v1/histograms/p_in?run=71&spill=1")[0], 410)

    def test_a_pruned_run_still_serves_as_reference_from_its_sums(self):
        srv = self.start(PRUNE)
        srv.sim("--run", "70", "--spills", "3")  # full intensity: GOOD spills
        self.wait_pruned(srv, 3)
        self.stop(srv)
        profile = self.reference_profile()
        srv = self.start({"profile": profile})  # no retention now: run 71 keeps its histograms
        srv.sim("--run", "71", "--spills", "1")
        status, spill = srv.get("/api/v1/runs/71/spills/1")
        self.assertEqual(status, 200)
        ks = [c for c in spill["checks"] if c["name"] == "p_in_shape_ks"][0]
        self.assertEqual(ks["state"], "GOOD", ks)  # judged against run 70's summed GOOD spills

    def test_retention_config_errors(self):
        from harness import SERVER
        import subprocess
        base = load_json(os.path.join(SRC, "config", "spillwatch.json"))
        base["profile"] = os.path.join(SRC, "config", "na64mu.json")
        base["retention"] = {"spill_histograms_days": -1, "chunk": 0, "bogus": 1}
        cp = os.path.join(self.tmp, "bad.json")
        write_json(cp, base)
        p = subprocess.run([SERVER, "--config", cp, "--check-config"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("$.retention.spill_histograms_days", p.stderr)
        self.assertIn("$.retention.chunk", p.stderr)
        self.assertIn("bogus", p.stderr)


if __name__ == "__main__":
    main()
