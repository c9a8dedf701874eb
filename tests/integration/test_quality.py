"""Judgement that holds on data it was not tuned on (issue 13), with the shipped NA64mu profile on the
real server: runs of drawn conditions (spillwatch-collect sim --conditions) come out GOOD; the learning
phase says so and judges by the physical windows; a baseline carries over to the next run of the same
conditions (and a fault there from the first spill is BAD against it); every verdict carries its
provenance; a module dead from a run's first spill is BAD by its peers; re-evaluation replays exactly
the live verdicts; impossible profiles are refused at start and at reload with their JSON paths."""
import json
import os
import re
import subprocess
import sys
import unittest

from harness import SERVER, SRC, Server, ServerTest, load_json, main, write_json

SCALE = "0.3"  # a third of the drawn intensity keeps the runs short; every check still has its entries


def check(spill, name):
    return next(c for c in spill["checks"] if c["name"] == name)


class Quality(ServerTest):
    def spills(self, run):
        status, body = self.srv.get("/api/v1/runs/%d/spills" % run)
        self.assertEqual(status, 200, body)
        return {s["spill"]: s for s in body["spills"]}

    def detail(self, run, spill):
        status, body = self.srv.get("/api/v1/runs/%d/spills/%d" % (run, spill))
        self.assertEqual(status, 200, body)
        return body

    def test_drawn_conditions_are_good_and_learning_is_said(self):
        # Conditions far from the simulator's defaults (seed 1: 1.5e6 MOT, vetoes x0.32, 1.5e-3
        # physics triggers per MOT, an ECAL timing offset of +4 ns): every clean spill GOOD.
        self.srv.sim("--run", "1", "--spills", "8", "--conditions", "1", "--seed", "11", "--scale", SCALE)
        spills = self.spills(1)
        self.assertEqual([s["flag"] for s in spills.values()], ["GOOD"] * 8,
                         [(n, s["reasons"]) for n, s in spills.items()])
        # spill 2 is learning (1 of 3): the veto check is judged by its physical window only
        c = check(self.detail(1, 2), "veto_v1_per_mot")
        src = c["provenance"]["stability"]["source"]
        self.assertEqual((src["kind"], src["spills"], src["learn"]), ("learning", 1, 3))
        self.assertEqual(src["text"], "baseline: learning, 1 of 3 spills")
        self.assertEqual(c["provenance"]["stability"]["state"], "EXCLUDED")
        self.assertEqual(c["provenance"]["physical"]["state"], "GOOD")
        # spill 6: judged against spills 1-5 of the run
        c = check(self.detail(1, 6), "veto_v1_per_mot")
        st = c["provenance"]["stability"]
        self.assertEqual((st["state"], st["source"]["kind"], st["source"]["text"]), ("GOOD", "baseline",
                                                                                    "run 1 spills 1-5"))
        self.assertEqual(st["source"]["runs"], [{"run": 1, "first": 1, "last": 5, "n": 5}])
        # in the statistic's units (stored to 7 significant digits)
        self.assertAlmostEqual(st["good"][0], 0.7 * st["expected"], delta=1e-6 * st["expected"])
        self.assertAlmostEqual(st["good"][1], 1.43 * st["expected"], delta=1e-6 * st["expected"])
        # the expectation is the run's own level, not the simulator's default of 0.08 per MOT
        self.assertLess(st["expected"], 0.04)
        # the momentum's physical window sits around the run's setting (meta.momentum)
        ph = check(self.detail(1, 6), "p_in_mean")["provenance"]["physical"]
        self.assertEqual((ph["nominal"], ph["nominal_from"], ph["good"]), (160, "run meta", [155.5, 163.5]))

    def test_carry_over_and_a_fault_from_the_first_spill(self):
        self.srv.sim("--run", "1", "--spills", "6", "--conditions", "2", "--seed", "21", "--scale", SCALE)
        # another run of other conditions in between: not a match
        self.srv.sim("--run", "2", "--spills", "2", "--conditions", "3", "--seed", "22", "--scale", SCALE)
        # the same conditions again, with a halo x3 from the first spill: BAD against run 1's level
        self.srv.sim("--run", "3", "--spills", "4", "--conditions", "2", "--seed", "23", "--scale", SCALE,
                     "--fault", "halo@1-2")
        spills = self.spills(3)
        self.assertEqual([spills[n]["flag"] for n in (1, 2, 3, 4)], ["BAD", "BAD", "GOOD", "GOOD"],
                         [(n, s["reasons"]) for n, s in spills.items()])
        reason = next(r for r in spills[1]["reasons"] if r.startswith("Veto V1 counts per MOT: "))
        self.assertRegex(reason, r"^Veto V1 counts per MOT: \d\.\d+, \d\.\d+ × the baseline \d\.\d+ of run 1 spills 1-6 "
                                 r"\(good 0\.7–1\.43 ×, \d+(\.\d)? sigma\)$")
        src = check(self.detail(3, 1), "veto_v1_per_mot")["provenance"]["stability"]["source"]
        self.assertEqual((src["kind"], src["carried"], src["runs"][0]["run"]), ("baseline", True, 1))
        # spill 3 (clean) joins the carried values: the window spans both runs
        src = check(self.detail(3, 4), "veto_v1_per_mot")["provenance"]["stability"]["source"]
        self.assertEqual([r["run"] for r in src["runs"]], [1, 3])
        self.assertEqual(src["text"], "run 1 spills 1-6 + run 3 spill 3")
        # run 2 (other conditions) learnt on its own
        src = check(self.detail(2, 1), "veto_v1_per_mot")["provenance"]["stability"]["source"]
        self.assertEqual((src["kind"], src["spills"]), ("learning", 0))

    def test_a_module_dead_from_the_first_spill(self):
        # No history at all: the physical window and the peers see it in every spill.
        self.srv.sim("--run", "5", "--spills", "6", "--conditions", "4", "--seed", "31", "--scale", SCALE,
                     "--fault", "hcal_dead@1-6")
        for n, s in self.spills(5).items():
            self.assertEqual(s["flag"], "BAD", (n, s["reasons"]))
            self.assertTrue(any(re.match(r"HCAL module 2 MIP peak vs the other modules: 0\.\d+ GeV, 0\.\d+ × the median "
                                         r"of its peers 2\.\d+ GeV \(good 0\.85–1\.15 ×, \d+ sigma\)$", r)
                                for r in s["reasons"]), s["reasons"])
            self.assertIn("HCAL cells dead against the same cell of the other modules: 1, above the physical limit 0; "
                          "the first is group 2, channel 7 (bin 43)", s["reasons"])  # its beam cell against the others'
            for m in (0, 1, 3):  # the live modules are fine against the median of the four
                self.assertEqual(check(self.detail(5, n), "hcal%d_peer" % m)["state"], "GOOD")
        c = check(self.detail(5, 6), "hcal2_mip")
        self.assertEqual((c["state"], c["provenance"]["layer"]), ("BAD", "physical"))
        # the dead module never became its own baseline
        self.assertEqual(c["provenance"]["stability"]["source"]["kind"], "learning")

    def test_reevaluation_equals_live(self):
        self.srv.sim("--run", "7", "--spills", "5", "--conditions", "5", "--seed", "41", "--scale", SCALE)
        self.srv.sim("--run", "8", "--spills", "9", "--conditions", "5", "--seed", "42", "--scale", SCALE,
                     "--fault", "trigger_low@1", "--fault", "ecal_gain@4", "--fault", "halo@7")
        live = {n: (s["auto_flag"], s["reasons"]) for n, s in self.spills(8).items()}
        self.assertEqual(live[1][0], "BAD")  # against run 7's carried baseline
        provenance = {n: [c["provenance"] for c in self.detail(8, n)["checks"]] for n in live}
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/8/reevaluate?dry_run=1")
        res = json.loads(raw)
        self.assertEqual((status, res["changed"], res["changes"]), (200, 0, []), res)
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/8/reevaluate")
        self.assertEqual(status, 200, raw)
        after = {n: (s["auto_flag"], s["reasons"]) for n, s in self.spills(8).items()}
        self.assertEqual(after, live)
        self.assertEqual({n: [c["provenance"] for c in self.detail(8, n)["checks"]] for n in live}, provenance)
        # and the same after a restart: the baselines are rebuilt from the database
        self.srv.stop()
        self.srv.start()
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/8/reevaluate?dry_run=1")
        self.assertEqual(json.loads(raw)["changes"], [])

    def test_a_shifter_resets_a_baseline_that_learnt_a_fault(self):
        # A halo from the first spill of a run of new conditions: nothing can tell it from a high-halo
        # tune, the baseline learns it, and when the halo ends the clean spills are BAD against it.
        self.srv.sim("--run", "11", "--spills", "6", "--conditions", "7", "--seed", "61", "--scale", SCALE,
                     "--fault", "halo@1-3")
        spills = self.spills(11)
        self.assertEqual([spills[n]["flag"] for n in (4, 5, 6)], ["BAD"] * 3, spills)
        self.assertTrue(any(r.startswith("Veto V1 counts per MOT: ") and " the baseline " in r and
                            " of run 11 spills 1-3 (good " in r for r in spills[4]["reasons"]), spills[4]["reasons"])
        # refused without what it needs, for an unknown run, and with a wrong method
        for body, status, word in (({"comment": "halo at the start"}, 400, "from_spill"),
                                   ({"from_spill": 0, "comment": "x"}, 400, "from_spill"),
                                   ({"from_spill": 4}, 400, "comment"),
                                   ({"from_spill": 4, "comment": "x", "extra": 1}, 400, "extra")):
            st, raw, _ = self.srv.request("POST", "/api/v1/runs/11/rebaseline", json.dumps(body))
            self.assertEqual(st, status, raw)
            self.assertIn(word, json.loads(raw)["error"])
        st, raw, _ = self.srv.request("POST", "/api/v1/runs/99/rebaseline",
                                      json.dumps({"from_spill": 4, "comment": "x"}))
        self.assertEqual(st, 404, raw)
        self.assertEqual(self.srv.request("GET", "/api/v1/runs/11/rebaseline")[0], 405)
        # the shift resets the run's baselines from spill 4, where the halo ended
        st, raw, _ = self.srv.request("POST", "/api/v1/runs/11/rebaseline",
                                      json.dumps({"from_spill": 4, "comment": "halo in the first spills",
                                                  "shifter": "A. Shifter"}))
        self.assertEqual(st, 200, raw)
        self.assertEqual(json.loads(raw)["from_spill"], 4)
        entry = self.srv.get("/api/v1/audit?run=11")[1]["entries"][0]
        self.assertEqual((entry["action"], entry["new"], entry["comment"]),
                         ("rebaseline", "from spill 4", "halo in the first spills"))
        # the next spills learn anew and are GOOD
        self.srv.sim("--run", "11", "--first-spill", "7", "--spills", "4", "--conditions", "7", "--seed", "62",
                     "--scale", SCALE)
        spills = self.spills(11)
        self.assertEqual([spills[n]["flag"] for n in (7, 8, 9, 10)], ["GOOD"] * 4,
                         [(n, spills[n]["reasons"]) for n in (7, 8, 9, 10)])
        src = check(self.detail(11, 10), "veto_v1_per_mot")["provenance"]["stability"]["source"]
        self.assertEqual((src["kind"], src["text"]), ("baseline", "run 11 spills 7-9"))
        # re-evaluation learns from spill 4 on: the clean spills 4-6 are GOOD now, 1-3 stay as they were
        st, raw, _ = self.srv.request("POST", "/api/v1/runs/11/reevaluate?dry_run=1")
        res = json.loads(raw)
        self.assertEqual(sorted(c["spill"] for c in res["changes"]), [4, 5, 6], res)
        self.assertTrue(all(c["new"] == "GOOD" for c in res["changes"]), res)

    def test_baseline_rebuilt_after_a_restart(self):
        self.srv.sim("--run", "9", "--spills", "4", "--conditions", "6", "--seed", "51", "--scale", SCALE)
        self.srv.stop()
        self.srv.start()
        self.srv.sim("--run", "9", "--first-spill", "5", "--spills", "2", "--conditions", "6", "--seed", "52",
                     "--scale", SCALE, "--fault", "trigger_low@6")
        spills = self.spills(9)
        self.assertEqual(spills[5]["flag"], "GOOD", spills[5]["reasons"])
        src = check(self.detail(9, 5), "physics_per_mot")["provenance"]["stability"]["source"]
        self.assertEqual((src["kind"], src["text"]), ("baseline", "run 9 spills 1-4"))
        self.assertEqual(spills[6]["flag"], "BAD")
        c = check(self.detail(9, 6), "physics_per_mot")  # its reason names the baseline it was judged by
        self.assertTrue(c["reason"].startswith("Physics triggers per MOT: "), c)
        self.assertIn(" the baseline ", c["reason"])
        self.assertIn(" of %s (good 0.75–1.25 ×" % c["provenance"]["stability"]["source"]["text"], c["reason"])
        self.assertIn(c["reason"], spills[6]["reasons"])


class Benchmark(unittest.TestCase):
    def test_a_small_quality_benchmark_meets_the_targets(self):
        """bench/quality.py on 9 runs of drawn conditions (3 groups), every fault class: the targets
        of docs/quality.md hold (a regression in judgement fails here, not only in the benchmark)."""
        build = os.environ.get("SW_BUILD_DIR", os.path.dirname(SERVER))
        p = subprocess.run([sys.executable, os.path.join(SRC, "bench", "quality.py"), "--build-dir", build, "--runs",
                            "9", "--spills", "16", "--blind-runs", "1", "--seed", "3"],
                           capture_output=True, text=True, timeout=800)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("clean_good", p.stdout)


class ImpossibleProfiles(ServerTest):
    CASES = [
        (lambda p: p["checks"][0]["reference"].update(baseline=0), "$.checks[0].reference.baseline"),
        (lambda p: p["checks"][0]["reference"].update(match=["beam", "magnet_current"]),
         "$.checks[0].reference.match[1]: unknown meta key magnet_current"),
        (lambda p: next(c for c in p["checks"] if c["name"] == "hcal2_peer")["quantity"].update(peers=["hcal2"]),
         "quantity.peers: must be an array of 3 to 16 histogram names"),
        (lambda p: next(c for c in p["checks"] if c["name"] == "p_in_mean")["physical"]["nominal"].update(
            meta="beam_energy"), "physical.nominal.meta: unknown meta key \"beam_energy\""),
    ]

    def bad_profile(self, i):
        prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
        self.CASES[i][0](prof)
        path = os.path.join(self.tmp, "bad-%d.json" % i)
        write_json(path, prof)
        return path

    def test_refused_at_start_with_the_json_path(self):
        for i, (_, want) in enumerate(self.CASES):
            cfg = load_json(os.path.join(SRC, "config", "spillwatch.json"))
            cfg["profile"] = self.bad_profile(i)
            cfg["www"] = os.path.join(SRC, "www")
            path = os.path.join(self.tmp, "cfg-%d.json" % i)
            write_json(path, cfg)
            p = subprocess.run([SERVER, "--config", path, "--check-config"], capture_output=True, text=True)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(want, p.stderr)

    def test_refused_at_reload_and_the_old_profile_stays(self):
        profile = os.path.join(self.tmp, "profile.json")
        write_json(profile, load_json(os.path.join(SRC, "config", "na64mu.json")))
        srv = Server(self.tmp, config={"profile": profile, "auth": {"tokens": [
            {"name": "admin", "token": "admin-secret-0123456789", "roles": ["admin"]}]}},
            db=os.path.join(self.tmp, "reload.db")).start()
        try:
            old = srv.get("/api/v1/histograms")[1]["version"]
            for i, (_, want) in enumerate(self.CASES):
                write_json(profile, load_json(self.bad_profile(i)))
                status, raw, _ = srv.request("POST", "/api/v1/admin/reload", b"",
                                             {"Authorization": "Bearer admin-secret-0123456789"})
                body = json.loads(raw)
                self.assertEqual(status, 422, body)
                self.assertTrue(any(want in p for p in body["problems"]), body)
            self.assertEqual(srv.get("/api/v1/histograms")[1]["version"], old)
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
