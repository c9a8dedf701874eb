"""The checks of the spill detail (GET /api/v1/runs/{run}/spills/{spill}, docs/api.md): each entry says
how it was compared (`judged`: compare mode, expectation and where it came from, the good and warn
windows in the comparison's terms and as limits, significance, how far outside), the units of `raw`
and `value`, and the list is worst first (BAD, WARN, UNKNOWN, GOOD, EXCLUDED; then farthest outside;
then name)."""
import math
import os
import re
import shutil
import tempfile
import unittest

from harness import SRC, Server, load_json, write_json

RANK = {"BAD": 0, "WARN": 1, "UNKNOWN": 2, "GOOD": 3, "EXCLUDED": 4}

EXTRA = [
    # a fixed reference and a rolling median, so every kind of expectation is in one run
    {"name": "length_fixed", "title": "Spill length against 4.8 s", "category": "beam", "unit": "s",
     "quantity": {"spill": "duration"}, "reference": 4.8, "compare": "delta", "good": [-0.1, 0.1],
     "warn": [-0.5, 0.5]},
    {"name": "length_rolling", "title": "Spill length against its rolling median", "category": "beam",
     "unit": "s", "quantity": {"spill": "duration"}, "reference": {"rolling_median": 3, "min_spills": 2},
     "compare": "ratio", "good": [0.98, 1.02], "warn": [0.9, 1.1]},
]


def close(a, b, rel=2e-6):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


class CheckEntries(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="swtest-")
        prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
        prof["version"] = "entries-test"
        prof["checks"] += EXTRA
        cls.prof = prof
        path = os.path.join(cls.tmp, "profile.json")
        write_json(path, prof)
        cls.srv = Server(cls.tmp, config={"profile": path}).start()
        # spill 7 breaks several checks at once; spill 3 has too little beam (BAD mot, UNKNOWN others)
        cls.srv.sim("--run", "41", "--spills", "8", "--fast", "--seed", "7", "--scale", "0.3",
                    "--fault", "intensity_drop@3", "--fault", "beam_momentum@7", "--fault", "dead_time@7",
                    "--fault", "ecal_gain@7", "--fault", "halo@7")
        cls.spills = {n: cls.srv.get("/api/v1/runs/41/spills/%d" % n)[1] for n in range(1, 9)}
        cls.defs = {c["name"]: c for c in cls.srv.get("/api/v1/checks")[1]["checks"]}

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.read_log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-3000:]
        assert rc == 0, log[-3000:]

    def entries(self):
        for n, s in self.spills.items():
            for c in s["checks"]:
                yield n, c

    def test_the_list_is_worst_first(self):
        for n, s in self.spills.items():
            keys = [(RANK[c["state"]], -(c["judged"]["outside"] if c["judged"]["outside"] is not None else -1),
                     c["name"]) for c in s["checks"]]
            self.assertEqual(keys, sorted(keys), "spill %d: %s" % (n, [(c["name"], c["state"]) for c in s["checks"]]))
        # spill 7: several BAD or WARN checks, the farthest outside first, and the BAD one on top
        s7 = self.spills[7]["checks"]
        self.assertEqual(self.spills[7]["flag"], "BAD")
        self.assertEqual(s7[0]["state"], "BAD")
        bad = [c for c in s7 if c["state"] in ("BAD", "WARN")]
        self.assertGreaterEqual(len(bad), 3, [(c["name"], c["state"]) for c in s7])
        self.assertTrue(all(RANK[c["state"]] <= RANK["WARN"] for c in s7[:len(bad)]))
        outs = [c["judged"]["outside"] for c in s7 if c["state"] == "BAD"]
        self.assertEqual(outs, sorted(outs, reverse=True))
        # spill 3: the BAD mot before the UNKNOWN checks and the GOOD ones
        s3 = self.spills[3]["checks"]
        self.assertEqual((s3[0]["name"], s3[0]["state"]), ("mot", "BAD"))
        states = [c["state"] for c in s3]
        self.assertIn("UNKNOWN", states)
        self.assertLess(states.index("UNKNOWN"), states.index("GOOD"))
        # the explorer and the overview still find every check by name
        self.assertEqual({c["name"] for c in s3}, {c["name"] for c in self.spills[5]["checks"]})

    def test_outside_is_measured_in_warn_margins(self):
        seen = set()
        for n, c in self.entries():
            j = c["judged"]
            out, raw = j["outside"], c["raw"]
            if raw is None:
                self.assertIsNone(out, c["name"])
                continue
            g, w = j["good"]["limits"], j["warn"]["limits"]
            if out is None:
                continue
            glo, ghi = (g[0] if g[0] is not None else -math.inf), (g[1] if g[1] is not None else math.inf)
            wlo, whi = (w[0] if w[0] is not None else -math.inf), (w[1] if w[1] is not None else math.inf)
            if glo <= raw <= ghi:
                self.assertEqual(out, 0, c["name"])
                continue
            edge, warn = (glo, wlo) if raw < glo else (ghi, whi)
            if math.isfinite(warn) and warn != edge:
                self.assertTrue(close(out, abs(raw - edge) / abs(edge - warn), 1e-9), (c["name"], out))
                # within the warn window: up to 1; beyond it: over 1
                self.assertEqual(out > 1, not (wlo <= raw <= whi), c["name"])
            seen.add(c["state"])
            if c["state"] == "BAD" and not c["judged"]["significance"]:
                self.assertGreater(out, 1, c["name"])
        self.assertIn("BAD", seen)
        mot3 = next(c for c in self.spills[3]["checks"] if c["name"] == "mot")
        self.assertGreater(mot3["judged"]["outside"], 1)

    def test_compare_mode_expectation_and_windows(self):
        kinds = set()
        for n, c in self.entries():
            j, d = c["judged"], self.defs[c["name"]]
            self.assertIn(j["compare"], ("absolute", "delta", "ratio"), c["name"])
            self.assertIn(j["layer"], ("physical", "stability"), c["name"])
            # the compare mode is the profile's word for the layer that judged
            want = d["physical"]["compare"] if j["layer"] == "physical" else d["compare"]
            self.assertEqual(j["compare"], want, (n, c["name"]))
            e = j["expected"]
            for side in ("good", "warn"):
                win, lim = j[side]["window"], j[side]["limits"]
                if j["layer"] == "stability" and d["good"] is not None:
                    self.assertEqual(win, d[side], (c["name"], side))  # the profile's window, as judged
                if None in win or None in lim or (j["compare"] != "absolute" and e is None):
                    continue
                if j["compare"] == "absolute":
                    self.assertEqual(win, lim, c["name"])
                elif j["compare"] == "delta":
                    self.assertTrue(close(lim[0], e + win[0]) and close(lim[1], e + win[1]), (c["name"], lim, e, win))
                else:
                    lo, hi = sorted((e * win[0], e * win[1]))
                    self.assertTrue(close(lim[0], lo) and close(lim[1], hi), (c["name"], lim, e, win))
            if j["compare"] == "absolute":
                self.assertIsNone(e, c["name"])
                self.assertIsNone(j["expected_from"], c["name"])
            kinds.add(j["expected_from"])
            # value is raw compared with the expectation of the stability window when it judged
            st = (c["provenance"] or {}).get("stability") or {}
            if c["value"] is not None and st.get("state") not in (None, "EXCLUDED") and j["layer"] == "stability" \
                    and e is not None:
                if j["compare"] == "delta":
                    self.assertTrue(close(c["value"], c["raw"] - e, 1e-5) or abs(c["value"] - (c["raw"] - e)) < 1e-6 * abs(e),
                                    c["name"])
                elif j["compare"] == "ratio":
                    self.assertTrue(close(c["value"], c["raw"] / e, 1e-5), c["name"])
        self.assertTrue({"baseline", "peers", "fixed", "rolling_median", "nominal", None} <= kinds, kinds)

    def test_units_of_raw_and_value(self):
        for n, c in self.entries():
            d = self.defs[c["name"]]
            self.assertEqual(c["raw_unit"], d["unit"], c["name"])
            self.assertEqual(c["unit"], c["raw_unit"], c["name"])  # the field the pages read, kept
            st = (c["provenance"] or {}).get("stability") or {}
            ph = (c["provenance"] or {}).get("physical") or {}
            vcmp = st["compare"] if st.get("state") not in (None, "EXCLUDED") else ph.get("compare", c["judged"]["compare"])
            self.assertEqual(c["value_unit"], "ratio" if vcmp == "ratio" else d["unit"], (n, c["name"]))
        p_in = next(c for c in self.spills[5]["checks"] if c["name"] == "p_in_mean")
        self.assertEqual((p_in["raw_unit"], p_in["value_unit"]), ("GeV/c", "GeV/c"))
        ecal = next(c for c in self.spills[5]["checks"] if c["name"] == "ecal_mip")
        self.assertEqual((ecal["raw_unit"], ecal["value_unit"]), ("GeV", "ratio"))
        dead = next(c for c in self.spills[5]["checks"] if c["name"] == "dead_time")
        self.assertEqual(dead["raw_unit"], "fraction")

    def test_provenance_in_words(self):
        def entry(n, name):
            return next(c for c in self.spills[n]["checks"] if c["name"] == name)

        p_in = entry(5, "p_in_mean")["judged"]
        self.assertEqual(p_in["expected_from"], "baseline")
        self.assertRegex(p_in["from"], r"^baseline of run 41 spills? \d+(-\d+)?$")
        src = entry(5, "p_in_mean")["provenance"]["stability"]["source"]
        self.assertEqual(p_in["from"], "baseline of " + src["text"])  # the provenance kept as it was
        fixed = entry(5, "length_fixed")["judged"]
        self.assertEqual((fixed["expected_from"], fixed["expected"], fixed["compare"]), ("fixed", 4.8, "delta"))
        self.assertEqual(fixed["from"], "fixed value 4.8 s")
        self.assertEqual(fixed["good"], {"window": [-0.1, 0.1], "limits": [4.7, 4.9]})
        rolling = entry(6, "length_rolling")["judged"]
        self.assertEqual(rolling["expected_from"], "rolling_median")
        self.assertEqual(rolling["from"], "rolling median of the last 3 GOOD spills")
        peer = entry(5, "hcal0_peer")["judged"]
        self.assertEqual(peer["expected_from"], "peers")
        self.assertRegex(peer["from"], r"^median of its peers \(\d+ with data\)$")
        mot = entry(3, "mot")["judged"]
        self.assertEqual((mot["layer"], mot["compare"], mot["from"]), ("physical", "absolute",
                                                                      "physical window: absolute limits"))
        learning = entry(1, "dead_time")
        self.assertEqual(learning["provenance"]["stability"]["source"]["kind"], "learning")
        self.assertEqual(learning["judged"]["layer"], "physical")  # the baseline does not judge yet
        # a physical window around a nominal, as judged by the first spill (before any baseline)
        p1 = entry(1, "p_in_mean")["judged"]
        self.assertEqual((p1["layer"], p1["expected_from"]), ("physical", "nominal"))
        self.assertRegex(p1["from"], r"^physical window around the nominal 160 GeV/c \(from the run's meta\)$")
        # significance: the profile's gate, with this spill's z when the stability window computed one
        sig = entry(5, "p_in_mean")["judged"]["significance"]
        self.assertEqual((sig["warn"], sig["bad"]), (3.0, 5.0))
        self.assertIsNone(entry(5, "dead_time")["judged"]["significance"])

    def test_docs_name_every_field(self):
        with open(os.path.join(SRC, "docs", "api.md")) as f:
            doc = f.read()
        c = self.spills[7]["checks"][0]
        for key in ["raw_unit", "value_unit"] + ["judged." + k for k in c["judged"] if k not in ("good", "warn")]:
            self.assertRegex(doc, r"\| `%s` \|" % re.escape(key), key)
        self.assertIn("| `judged.good`, `judged.warn` |", doc)
        self.assertEqual(set(c["judged"]), {"layer", "compare", "expected", "expected_from", "from", "good", "warn",
                                            "significance", "outside"})
        self.assertEqual(set(c["judged"]["good"]), {"window", "limits"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
