"""Re-evaluation of stored spills with the current or a supplied profile: a dry run lists exactly the
spills that would change and changes nothing; applying changes automatic flags only."""
import json
import os
import re

from harness import SRC, ServerTest, load_json, main


REF = 159.1  # GeV/c: the fixed reference of the tightened p_in_mean


def tightened(good=0.1, warn=0.3):
    """The shipped profile with p_in_mean judged against a fixed reference, tightly, without
    significance gating (so the flips follow from the stored means alone)."""
    prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
    prof["version"] = "tight-1"
    for c in prof["checks"]:
        if c["name"] == "p_in_mean":
            c["reference"] = REF
            c.pop("significance", None)
            c["good"], c["warn"] = [-good, good], [-warn, warn]
    return prof


class Reeval(ServerTest):
    def setUp(self):
        super().setUp()
        self.srv.sim("--run", "60", "--spills", "12", "--seed", "8", "--fault", "hcal_dead@4")

    def reeval(self, profile=None, dry=True):
        body = json.dumps(profile) if profile is not None else None
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/60/reevaluate" + ("?dry_run=1" if dry else ""), body,
                                          {"Content-Type": "application/json"})
        return status, json.loads(raw)

    def spills(self):
        return {s["spill"]: s for s in self.srv.get("/api/v1/runs/60/spills")[1]["spills"]}

    def p_in_delta(self):
        out = {}
        for n in range(1, 13):
            checks = self.srv.get("/api/v1/runs/60/spills/%d" % n)[1]["checks"]
            out[n] = next(c for c in checks if c["name"] == "p_in_mean")["raw"] - REF
        return out

    def test_current_profile_changes_nothing(self):
        status, res = self.reeval()
        self.assertEqual((status, res["spills"], res["changed"], res["changes"]), (200, 12, 0, []))

    def test_dry_run_lists_exactly_the_flips_and_changes_nothing(self):
        before = self.spills()
        delta = self.p_in_delta()
        status, res = self.reeval(tightened())
        self.assertEqual(status, 200, res)
        self.assertTrue(res["dry_run"])
        self.assertTrue(res["profile_version"].startswith("tight-1#"))
        # GOOD spills outside +-0.1 GeV of the reference must flip (WARN, or BAD beyond 0.3); spill 4 stays BAD.
        expected = sorted(n for n, d in delta.items() if before[n]["auto_flag"] == "GOOD" and abs(d) > 0.1)
        self.assertGreater(len(expected), 0, delta)
        self.assertEqual(sorted(c["spill"] for c in res["changes"]), expected)
        for c in res["changes"]:
            self.assertEqual(c["new"], "BAD" if abs(delta[c["spill"]]) > 0.3 else "WARN")
            self.assertTrue(any(re.match(r"Mean incoming momentum: \d+\.\d+ GeV/c, [+−]\d\.\d+ GeV/c from the "
                                         r"reference 159\.1 GeV/c \(good within ±0\.1 GeV/c\)$", r)
                                for r in c["reasons"]), c)
        self.assertEqual(self.spills(), before)
        self.assertEqual(self.srv.get("/api/v1/audit?run=60")[1]["entries"], [])

    def test_apply_changes_automatic_flags_but_not_manual_ones(self):
        delta = self.p_in_delta()
        flip = sorted(n for n, d in delta.items() if n != 4 and abs(d) > 0.1)
        self.assertGreater(len(flip), 1)
        keep = flip[0]
        status, raw, _ = self.srv.request("PUT", "/api/v1/runs/60/spills/%d/flag" % keep, json.dumps(
            {"flag": "GOOD", "reason": "shift crew check", "comment": "momentum fine on the BMS"}))
        self.assertEqual(status, 200, raw)
        status, res = self.reeval(tightened(), dry=False)
        self.assertEqual((status, res["dry_run"]), (200, False))
        after = self.spills()
        for n in flip:
            self.assertIn(after[n]["auto_flag"], ("WARN", "BAD"))
            self.assertTrue(after[n]["profile_version"].startswith("tight-1#"))
        self.assertEqual((after[keep]["flag"], after[keep]["conflict"]), ("GOOD", True))  # manual wins
        status, sp = self.srv.get("/api/v1/runs/60/spills/%d" % flip[1])
        state = next(c for c in sp["checks"] if c["name"] == "p_in_mean")["state"]
        self.assertIn(state, ("WARN", "BAD"))
        entries = self.srv.get("/api/v1/audit?run=60")[1]["entries"]
        self.assertEqual(entries[0]["action"], "reevaluate")
        self.assertTrue(entries[0]["new"].startswith("tight-1#"))
        # Back to the server's profile: everything returns.
        status, res = self.reeval(dry=False)
        self.assertEqual(sorted(c["spill"] for c in res["changes"]), flip)

    def test_bad_requests(self):
        prof = tightened()
        prof["checks"][0]["good"] = [3, 1]
        prof["histograms"][0]["x"]["bins"] = 0
        status, res = self.reeval(prof)
        self.assertEqual(status, 400)
        paths = " ".join(res["problems"])
        self.assertIn("$.checks[0].good", paths)
        self.assertIn("$.histograms[0].x.bins", paths)
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/60/reevaluate?dry_run=1", "{oops")
        self.assertEqual(status, 400)
        self.assertEqual(self.srv.request("POST", "/api/v1/runs/61/reevaluate?dry_run=1")[0], 404)
        self.assertEqual(self.srv.request("POST", "/api/v1/runs/60/reevaluate?dry_run=maybe")[0], 400)
        self.assertEqual(self.srv.request("GET", "/api/v1/runs/60/reevaluate")[0], 405)

    def test_a_huge_profile_is_validated_in_linear_logarithmic_time(self):
        # 200,000 one-bin histograms (within the bin budget), the last a repeat of an earlier name, and
        # as many checks: validation is O(n log n), so the answer (400, naming the repeat) comes in
        # seconds; the quadratic name checks it replaces took minutes for this, far past the request's
        # 60 s (issue 14).
        prof = tightened()
        n = 200000
        prof["histograms"] = [{"name": "h%d" % i, "x": {"source": "p_in", "bins": 1, "min": 0, "max": 1}}
                              for i in range(n)] + [{"name": "h5", "x": {"source": "p_in", "bins": 1, "min": 0,
                                                                          "max": 1}}]
        prof["checks"] = [{"name": "c%d" % i, "category": "beam", "quantity": {"hist": "h%d" % (n - 1 - i),
                                                                                 "stat": "entries"},
                           "good": [0, None]} for i in range(n)]
        prof["alarms"] = [{"name": "a", "severity": "warning", "check": "c%d" % (n - 1), "above": 1.5}]
        status, res = self.reeval(prof)
        self.assertEqual(status, 400, res)
        self.assertEqual(res["problems"], ['body: $.histograms[%d].name: duplicate histogram "h5"' % n])


if __name__ == "__main__":
    main()
