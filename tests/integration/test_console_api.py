"""What the console pages read (issue 16): the checks with their subsystems (GET /api/v1/checks and in
the spill detail), trend points with the check's own verdict and the window that judged it, manual
flags on trend points, a run's worst verdict per check over a spill range, and category labels of a
histogram axis; and the profile keys behind them refused with a message naming where."""
import copy
import json
import os
import tempfile
import unittest

from harness import SRC, Server, ServerTest, load_json, main, write_json

PROFILE = os.path.join(SRC, "config", "na64mu.json")


class Checks(ServerTest):
    def test_subsystems_and_check_definitions(self):
        status, d = self.srv.get("/api/v1/checks")
        self.assertEqual(status, 200)
        prof = load_json(PROFILE)
        self.assertEqual([s["name"] for s in d["subsystems"]], [s["name"] for s in prof["subsystems"]])
        self.assertEqual(d["subsystems"][-1], {"name": "daq", "title": "DAQ / trigger"})
        self.assertEqual([c["name"] for c in d["checks"]], [c["name"] for c in prof["checks"]])
        by = {c["name"]: c for c in d["checks"]}
        self.assertEqual(by["hcal2_mip"]["subsystem"], "hcal")
        self.assertEqual(by["hcal2_mip"]["hist"], "hcal2")
        self.assertEqual(by["ecal_mip"]["subsystem"], "ecal")
        self.assertEqual(by["veto_v1_per_mot"]["subsystem"], "veto")
        self.assertIsNone(by["mot"]["hist"])  # a counter, not a histogram
        # fractions without a unit in the profile are shown as such (percentages on the pages)
        self.assertEqual((by["dead_time"]["unit"], by["p_in_tail"]["unit"]), ("fraction", "fraction"))
        p = by["p_in_mean"]
        self.assertEqual((p["title"], p["unit"], p["compare"]), ("Mean incoming momentum", "GeV/c", "delta"))
        self.assertEqual(p["physical"]["nominal_meta"], "momentum")
        self.assertEqual(len(p["good"]), 2)
        for c in d["checks"]:  # every check's subsystem is a row of the overview
            self.assertIn(c["subsystem"], [s["name"] for s in d["subsystems"]])

    def test_spill_detail_names_the_subsystem(self):
        self.srv.sim("--run", "3", "--spills", "2", "--fast", "--seed", "4")
        status, s = self.srv.get("/api/v1/runs/3/spills/2")
        self.assertEqual(status, 200)
        by = {c["name"]: c for c in s["checks"]}
        self.assertEqual(by["hcal0_peer"]["subsystem"], "hcal")
        self.assertEqual(by["dead_time"]["subsystem"], "daq")


class Trends(ServerTest):
    def test_check_trend_carries_own_verdict_window_and_manual_flag(self):
        self.srv.sim("--run", "4", "--spills", "8", "--fast", "--seed", "9", "--fault", "hcal_dead@5")
        status, t = self.srv.get("/api/v1/trends/check.hcal2_mip?run=4")
        self.assertEqual(status, 200)
        self.assertEqual((t["title"], t["unit"], t["subsystem"]), ("HCAL module 2 MIP peak", "GeV", "hcal"))
        pts = {p["spill"]: p for p in t["points"]}
        self.assertEqual(sorted(pts), list(range(1, 9)))
        self.assertEqual(pts[5]["state"], "BAD")
        for s, p in pts.items():
            self.assertIsNotNone(p["good"], s)
            lo, hi = p["good"]
            wlo, whi = p["warn"]
            self.assertLessEqual(wlo, lo)
            self.assertGreaterEqual(whi, hi)
            # the verdict agrees with the window it reports
            self.assertEqual(lo <= p["value"] <= hi, p["state"] == "GOOD", p)
        # a check that did not fail keeps its own GOOD on the spill the HCAL fault made BAD
        status, pin = self.srv.get("/api/v1/trends/check.p_in_mean?run=4")
        p5 = [p for p in pin["points"] if p["spill"] == 5][0]
        self.assertEqual((p5["flag"], p5["state"]), ("BAD", "GOOD"))
        self.assertIsNotNone(p5["expected"])
        # a manual flag shows on every trend's point, beside the automatic one
        status, _, _ = self.srv.request("PUT", "/api/v1/runs/4/spills/2/flag", json.dumps(
            {"flag": "BAD", "reason": "other", "comment": "test", "shifter": "t"}), {"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        status, mot = self.srv.get("/api/v1/trends/mot?run=4")
        p2 = [p for p in mot["points"] if p["spill"] == 2][0]
        self.assertEqual((p2["flag"], p2["auto_flag"], p2["manual"]), ("BAD", "GOOD", "BAD"))
        self.assertNotIn("state", p2)  # not a check quantity
        self.assertIsNone([p for p in mot["points"] if p["spill"] == 3][0]["manual"])


class RunChecks(ServerTest):
    def test_worst_verdict_per_check_and_where(self):
        self.srv.sim("--run", "6", "--spills", "9", "--fast", "--seed", "2", "--fault", "hcal_dead@4",
                     "--fault", "hcal_dead@6")
        status, d = self.srv.get("/api/v1/runs/6/checks")
        self.assertEqual(status, 200)
        self.assertEqual(d["spills"], [1, 9])
        by = {c["name"]: c for c in d["checks"]}
        h = by["hcal2_mip"]
        self.assertEqual((h["worst"], h["spills"]["BAD"]), ("BAD", [4, 6]))
        self.assertEqual(h["counts"]["BAD"], 2)
        self.assertEqual(sum(h["counts"].values()), 9)
        self.assertEqual(h["title"], "HCAL module 2 MIP peak")
        # a range leaves the others out
        status, d = self.srv.get("/api/v1/runs/6/checks?spills=5-9")
        self.assertEqual(d["spills"], [5, 9])
        h = {c["name"]: c for c in d["checks"]}["hcal2_mip"]
        self.assertEqual((h["worst"], h["spills"]["BAD"], sum(h["counts"].values())), ("BAD", [6], 5))
        status, d = self.srv.get("/api/v1/runs/6/checks?spills=7")
        self.assertEqual({c["name"]: c for c in d["checks"]}["hcal2_mip"]["worst"], "GOOD")
        # the profile's order
        self.assertEqual([c["name"] for c in d["checks"]][:3], ["mot", "spill_length", "p_in_mean"])

    def test_bad_requests(self):
        self.srv.sim("--run", "6", "--spills", "1", "--fast")
        for q in ("spills=x", "spills=9-3", "spills=-2", "spills=3-"):
            status, d = self.srv.get("/api/v1/runs/6/checks?" + q)
            self.assertEqual(status, 400, q)
            self.assertIn("spills", d["error"])
        status, d = self.srv.get("/api/v1/runs/77/checks")
        self.assertEqual(status, 404)
        self.assertIn("run 77", d["error"])
        status, d = self.srv.get("/api/v1/runs/6/checks?spills=50-60")
        self.assertEqual((status, d["spills"]), (200, None))
        self.assertTrue(all(c["worst"] is None for c in d["checks"]))


class Labels(ServerTest):
    def test_category_axis_labels(self):
        status, d = self.srv.get("/api/v1/histograms")
        trig = [h for h in d["histograms"] if h["name"] == "trigger"][0]
        self.assertEqual(trig["x"]["labels"], ["physics", "beam", "random", "led"])
        self.assertNotIn("labels", [h for h in d["histograms"] if h["name"] == "p_in"][0]["x"])
        status, h = self.srv.get("/api/v1/histograms/trigger")
        self.assertEqual(h["x"]["labels"], ["physics", "beam", "random", "led"])


class ProfileKeys(unittest.TestCase):
    def server_with(self, mutate):
        """A server (not started) on the shipped profile changed by mutate."""
        tmp = tempfile.mkdtemp(prefix="swtest-")
        prof = copy.deepcopy(load_json(PROFILE))
        mutate(prof)
        path = os.path.join(tmp, "profile.json")
        write_json(path, prof)
        return Server(tmp, config={"profile": path})

    def start_with(self, mutate):
        """The start-up error of such a server, or None when it started."""
        srv = self.server_with(mutate)
        try:
            srv.start()
        except RuntimeError as e:
            return str(e)
        srv.stop()
        return None

    def checks_with(self, mutate):
        """GET /api/v1/checks of such a server."""
        srv = self.server_with(mutate).start()
        try:
            status, d = srv.get("/api/v1/checks")
            self.assertEqual(status, 200)
            return d
        finally:
            srv.stop()

    def test_refused_with_where(self):
        def unknown_subsystem(p):
            p["checks"][0]["subsystem"] = "magnet"

        def twice(p):
            p["subsystems"].append({"name": "beam", "title": "again"})

        def labels_count(p):
            [h for h in p["histograms"] if h["name"] == "trigger"][0]["x"]["labels"] = ["a", "b"]

        def labels_2d(p):
            [h for h in p["histograms"] if h["name"] == "xy_tgt"][0]["y"]["labels"] = ["a"] * 40

        cases = [(unknown_subsystem, '$.checks[0].subsystem: "magnet" is not in $.subsystems'),
                 (twice, '"beam" is listed twice'),
                 (labels_count, "x.labels: a 1D histogram's x axis only, one name per bin"),
                 (labels_2d, "$.histograms[4].y.labels: a 1D histogram's x axis only")]
        for mutate, want in cases:
            log = self.start_with(mutate)
            self.assertIsNotNone(log, mutate.__name__)
            self.assertIn(want, log, mutate.__name__)

    def test_a_check_without_subsystem_goes_to_its_category(self):
        def add(p):
            c = copy.deepcopy([c for c in p["checks"] if c["name"] == "t_ecal_mean"][0])
            c["name"] = "t_ecal_mean_2"
            del c["subsystem"]
            p["checks"].append(c)
        d = self.checks_with(add)
        self.assertEqual(d["subsystems"][-1], {"name": "detector", "title": "detector"})
        self.assertEqual(d["checks"][-1]["subsystem"], "detector")

    def test_without_the_list_the_checks_own_subsystems(self):
        def drop(p):
            del p["subsystems"]
            for c in p["checks"]:
                c.pop("subsystem", None)
        d = self.checks_with(drop)
        self.assertEqual([s["name"] for s in d["subsystems"]], ["beam", "detector", "daq"])
        self.assertEqual(d["subsystems"][0]["title"], "beam")


if __name__ == "__main__":
    main()
