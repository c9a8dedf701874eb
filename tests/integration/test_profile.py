"""The NA64mu profile against the simulator: a 40-spill run with every fault comes back through
REST with exact event and MOT counts and every fault spill BAD for the right reason; clean spills
stay unflagged (at most 1 BAD in 100)."""
import collections
import os
import unittest

from harness import SRC, ServerTest, load_json, main, sim_output

# every reason starts with its check's title
TITLES = {c["name"]: c["title"] for c in load_json(os.path.join(SRC, "config", "na64mu.json"))["checks"]}

# fault -> (spill, the check that must be BAD, its category)
FAULTS = {
    "beam_momentum": (5, "p_in_mean", "beam"),
    "hcal_dead": (10, "hcal2_mip", "detector"),
    "intensity_drop": (15, "mot", "beam"),
    "dead_time": (20, "dead_time", "daq"),
    "ecal_gain": (25, "ecal_mip", "detector"),
    "halo": (30, "veto_v1_per_mot", "beam"),
    "ecal_timing": (33, "t_ecal_mean", "detector"),
    "trigger_low": (37, "physics_per_mot", "daq"),
}


def expected_counts(records):
    events = collections.Counter()
    mot = {}
    for r in records:
        if r["type"] == "event":
            events[r["spill"]] += 1
        elif r["type"] == "events":
            events[r["spill"]] += len(r["columns"]["event"])
        elif r["type"] == "spill_end":
            mot[r["spill"]] = r["counters"]["mot"]
    return events, mot


class Faults(ServerTest):
    def test_forty_spills_with_every_fault(self):
        args = ["--run", "40", "--spills", "40", "--seed", "11"]
        for name, (spill, _, _) in FAULTS.items():
            args += ["--fault", "%s@%d" % (name, spill)]
        events, mot = expected_counts(sim_output(*args))
        self.assertEqual(len(mot), 40)
        self.srv.sim(*(args + ["--fast"]))

        status, spills = self.srv.get("/api/v1/runs/40/spills")
        self.assertEqual(status, 200)
        spills = {s["spill"]: s for s in spills["spills"]}
        self.assertEqual(sorted(spills), list(range(1, 41)))
        for n, s in spills.items():
            self.assertEqual(s["events"], events[n], "spill %d events" % n)
            self.assertEqual(s["mot"], mot[n], "spill %d MOT" % n)
        status, run = self.srv.get("/api/v1/runs/40")
        self.assertEqual(run["events"], sum(events.values()))
        self.assertEqual(run["mot"], sum(mot.values()))
        status, h = self.srv.get("/api/v1/histograms/trigger?run=40")
        self.assertEqual(h["entries"], sum(events.values()))

        fault_spills = {spill: (name, check, cat) for name, (spill, check, cat) in FAULTS.items()}
        report = []
        for n, s in sorted(spills.items()):
            if n in fault_spills:
                name, check, cat = fault_spills[n]
                report.append("spill %d (%s): %s %s" % (n, name, s["flag"], s["reasons"]))
                self.assertEqual(s["flag"], "BAD", "fault %s on spill %d: %s" % (name, n, s["reasons"]))
                c = next(c for c in self.srv.get("/api/v1/runs/40/spills/%d" % n)[1]["checks"] if c["name"] == check)
                self.assertEqual((c["state"], c["category"]), ("BAD", cat), c)
                self.assertTrue(c["reason"].startswith(TITLES[check] + ": "), c)
                self.assertIn(c["reason"], s["reasons"], "fault %s: expected check %s among %s" % (name, check, s["reasons"]))
            else:
                self.assertNotEqual(s["flag"], "BAD", "clean spill %d: %s" % (n, s["reasons"]))
        print("\n".join(report))
        # Intensity drop is a beam fault: the detector checks of that spill stay GOOD.
        status, sp = self.srv.get("/api/v1/runs/40/spills/15")
        states = {c["name"]: c["state"] for c in sp["checks"]}
        for check in ("ecal_mip", "hcal0_mip", "t_ecal_mean", "physics_per_mot", "veto_v1_per_mot"):
            self.assertEqual(states[check], "GOOD", (check, sp["checks"]))

    def test_clean_spills_are_not_flagged_bad(self):
        self.srv.sim("--run", "41", "--spills", "100", "--seed", "5", "--fast")
        status, spills = self.srv.get("/api/v1/runs/41/spills")
        flags = collections.Counter(s["flag"] for s in spills["spills"])
        bad = [(s["spill"], s["reasons"]) for s in spills["spills"] if s["flag"] == "BAD"]
        print("clean run flags:", dict(flags), "BAD:", bad)
        self.assertEqual(sum(flags.values()), 100)
        self.assertLessEqual(flags["BAD"], 1, bad)
        self.assertGreaterEqual(flags["GOOD"], 90, flags)


if __name__ == "__main__":
    main()
