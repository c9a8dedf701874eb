"""Checks against references: a rolling median of the last GOOD spills (warming up, then judging),
and a reference run (KS and chi2 shape probabilities, dead channels). Live verdicts and a replay by
re-evaluation must agree."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import SERVER, SRC, Server, load_json, write_json

EXTRA = [
    {"name": "ecal_mip_rolling", "category": "detector", "quantity": {"hist": "ecal", "stat": "peak"},
     "compare": "ratio", "reference": {"rolling_median": 5, "min_spills": 3}, "good": [0.95, 1.05],
     "warn": [0.9, 1.1], "min_entries": 200},
    {"name": "p_in_shape_ks", "category": "beam", "quantity": {"hist": "p_in", "stat": "ks_prob"},
     "reference": {"run": 70}, "good": [1e-6, 1], "warn": [1e-9, 1], "min_entries": 200},
    {"name": "p_in_shape_chi2", "category": "beam", "quantity": {"hist": "p_in", "stat": "chi2_prob"},
     "reference": {"run": 70}, "good": [1e-6, 1], "warn": [1e-9, 1], "min_entries": 200},
    {"name": "hcal_dead_channels", "category": "detector",
     "quantity": {"hist": "hcal_occ", "stat": "dead_channels", "low": 0.2},
     "reference": {"run": 70}, "good": [0, 0], "min_entries": 200},
    {"name": "ecal_core", "category": "detector",
     "quantity": {"hist": "ecal", "stat": "integral", "window": [0.3, 0.6]}, "compare": "ratio",
     "reference": {"run": 70}, "good": [0.1, 0.25], "min_entries": 200},
]


class References(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.db = os.path.join(self.tmp, "sw.db")
        prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
        prof["version"] = "refs-test"
        prof["checks"] += EXTRA
        self.profile = os.path.join(self.tmp, "profile.json")
        write_json(self.profile, prof)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_rolling_median_and_reference_run(self):
        # The reference run, judged by the base profile: 6 clean spills.
        srv = Server(self.tmp, db=self.db).start()
        srv.sim("--run", "70", "--spills", "6", "--seed", "31")
        self.assertEqual(srv.get("/api/v1/runs/70")[1]["flags"]["GOOD"], 6)
        self.assertEqual(srv.stop(), 0)

        srv = Server(self.tmp, db=self.db, config={"profile": self.profile}).start()
        try:
            srv.sim("--run", "71", "--spills", "10", "--seed", "32", "--fault", "hcal_dead@3",
                    "--fault", "beam_momentum@6", "--fault", "ecal_gain@8")
            spills = {s["spill"]: s for s in srv.get("/api/v1/runs/71/spills")[1]["spills"]}

            def check(n, name):
                return next(c for c in srv.get("/api/v1/runs/71/spills/%d" % n)[1]["checks"] if c["name"] == name)

            # Rolling median: spills 1 and 2 warm up (EXCLUDED), 3 is BAD (not fed), 4 is the third GOOD one.
            for n in (1, 2, 4):
                c = check(n, "ecal_mip_rolling")
                self.assertEqual(c["state"], "EXCLUDED", c)
                self.assertIn("warming up", c["reason"])
            c = check(5, "ecal_mip_rolling")
            self.assertEqual(c["state"], "GOOD", c)
            self.assertAlmostEqual(c["value"], 1.0, delta=0.03)
            c = check(8, "ecal_mip_rolling")
            self.assertEqual(c["state"], "BAD", c)
            self.assertAlmostEqual(c["value"], 0.75, delta=0.03)  # ecal_gain: x0.75

            # Reference run: shapes and channels.
            self.assertEqual(check(3, "hcal_dead_channels")["state"], "BAD")
            self.assertEqual(check(3, "hcal_dead_channels")["raw"], 1)  # the dead module's central cell
            self.assertEqual(check(6, "p_in_shape_ks")["state"], "BAD")
            self.assertEqual(check(6, "p_in_shape_chi2")["state"], "BAD")
            self.assertAlmostEqual(check(2, "ecal_core")["value"], 1 / 6, delta=0.05)  # one spill vs six
            for n in (1, 2, 4, 5, 7, 9, 10):
                self.assertEqual(spills[n]["flag"], "GOOD", (n, spills[n]["reasons"]))
                for name in ("p_in_shape_ks", "p_in_shape_chi2", "hcal_dead_channels"):
                    self.assertEqual(check(n, name)["state"], "GOOD", (n, name, check(n, name)))
            for n, name in ((3, "hcal_dead_channels"), (6, "p_in_shape_ks"), (8, "ecal_mip_rolling")):
                self.assertEqual(spills[n]["flag"], "BAD")
                c = check(n, name)  # without a title, its name starts the reason
                self.assertTrue(c["reason"].startswith(name + ": "), c)
                self.assertIn(c["reason"], spills[n]["reasons"])

            # Replaying the run reproduces the live verdicts exactly.
            status, raw, _ = srv.request("POST", "/api/v1/runs/71/reevaluate?dry_run=1")
            import json
            res = json.loads(raw)
            self.assertEqual((status, res["changed"]), (200, 0), res["changes"])
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_reference_configuration_errors(self):
        prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
        prof["checks"] += [
            {"name": "a", "category": "beam", "quantity": {"hist": "p_in", "stat": "ks_prob"}, "good": [0.01, 1]},
            {"name": "b", "category": "beam", "quantity": {"counter": "mot"}, "reference": {"run": 3},
             "good": [0, 1]},
            {"name": "c", "category": "beam", "quantity": {"hist": "p_in", "stat": "mean"},
             "reference": {"rolling_median": 5, "run": 2}, "good": [0, 1]},
            {"name": "d", "category": "beam", "quantity": {"hist": "p_in", "stat": "integral"}, "good": [0, 1]},
            {"name": "e", "category": "beam", "quantity": {"hist": "p_in", "stat": "mean"}, "compare": "ratio",
             "good": [0, 1]},
        ]
        pp = os.path.join(self.tmp, "bad.json")
        write_json(pp, prof)
        cp = os.path.join(self.tmp, "cfg.json")
        write_json(cp, {"profile": pp})
        p = subprocess.run([SERVER, "--config", cp, "--check-config"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        n = len(prof["checks"])
        for i, word in ((n - 5, "{\"run\": R} is required"), (n - 4, "histogram quantity"),
                        (n - 3, "exactly one of baseline, rolling_median, run"), (n - 2, "window"),
                        (n - 1, "required when compare")):
            self.assertIn("$.checks[%d]" % i, p.stderr)
            self.assertIn(word, p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
