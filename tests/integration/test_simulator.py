"""The simulator on its own (--out -, no server): run conditions drawn with --conditions, faults
relative to the run's level, the daq_sources integrity counts and their exactness (docs/simulator.md)."""
import json
import re
import statistics
import subprocess
import unittest

from harness import COLLECT, main

# docs/simulator.md, DAQ integrity: the fields each front-end's payload fills
DAQ_FIELDS = {"BEAM": ["s0", "s1", "s4", "smu"], "MS1": ["p_in", "x_tgt", "y_tgt"], "MS2": ["p_out"],
              "ECAL": ["ecal", "ecal_psh", "ecal_cells", "t_ecal"], "HCAL": ["hcal", "hcal_cells", "t_hcal"],
              "VHCAL": ["vhcal"], "VETO": ["veto"]}


def sim_text(*args):
    p = subprocess.run([COLLECT, "sim", "--out", "-", "--quiet"] + list(args), capture_output=True, text=True,
                       timeout=600, check=True)
    return p.stdout


def records(*args, events=True):
    """The parsed records; without events only run_start and spill_end (much faster at full scale)."""
    out = []
    for line in sim_text(*args).splitlines():
        if events or line.startswith('{"type":"run_start"') or line.startswith('{"type":"spill_end"'):
            out.append(json.loads(line))
    return out


def spills(recs):
    """(spill_end, [event rows]) per spill, in order."""
    rows, out = [], []
    for r in recs:
        if r["type"] == "events":
            c = r["columns"]
            rows += [{k: c[k][i] for k in c} for i in range(len(c["event"]))]
        elif r["type"] == "event":
            rows.append(r)
        elif r["type"] == "spill_end":
            out.append((r, rows))
            rows = []
    return out


def meta(recs):
    return recs[0]["meta"]


def muon_events(rows):
    return [e for e in rows if e["trigger"] in ("physics", "beam")]


class Conditions(unittest.TestCase):
    def test_meta_keys(self):
        m = meta(records("--spills", "1", "--scale", "0.02", events=False))
        self.assertEqual((m["beam"], m["momentum"], m["trigger"], m["target"]),
                         ("M2 mu+ nominal", 160, "nominal", "ECAL 5x6"))
        self.assertNotIn("conditions", m)
        m = meta(records("--spills", "1", "--scale", "0.02", "--conditions", "5", "--momentum", "150",
                         events=False))
        self.assertEqual((m["beam"], m["momentum"], m["trigger"], m["target"]),
                         ("M2 mu+ tune 5", 150, "trigger config 5", "ECAL 5x6"))
        c = m["conditions"]
        self.assertEqual(c["seed"], 5)
        self.assertAlmostEqual(c["p_mean"], 150 + c["p_offset"], places=9)
        for key, lo, hi in (("mot", 1e6, 1e7), ("veto_factor", 0.3, 3), ("phys_per_mot", 3e-4, 5e-3),
                            ("beam_fraction", 0.05, 0.1), ("random_hz", 1, 10), ("p_offset", -2, 2),
                            ("sigma_x_factor", 0.7, 1.3), ("sigma_y_factor", 0.7, 1.3), ("centre_x", -0.3, 0.3),
                            ("centre_y", -0.3, 0.3), ("dead_time", 0.03, 0.15), ("ecal_scale", 0.95, 1.05),
                            ("t_ecal", -5, 5), ("t_hcal", -5, 5)):
            self.assertTrue(lo <= c[key] <= hi, "%s = %s" % (key, c[key]))
        self.assertEqual(len(c["hcal_scale"]), 4)
        self.assertTrue(c["veto_hit_fraction"] <= 0.5)

    def test_own_stream(self):
        """The same --conditions with another --seed: the same levels, other spills; another
        --conditions: other levels and other run-condition keys."""
        a = records("--spills", "2", "--scale", "0.02", "--conditions", "3", "--seed", "1", events=False)
        b = records("--spills", "2", "--scale", "0.02", "--conditions", "3", "--seed", "2", events=False)
        c = records("--spills", "2", "--scale", "0.02", "--conditions", "4", "--seed", "1", events=False)
        self.assertEqual(meta(a)["conditions"], meta(b)["conditions"])
        self.assertNotEqual(a[1]["counters"], b[1]["counters"])
        self.assertNotEqual(meta(a)["conditions"]["mot"], meta(c)["conditions"]["mot"])
        self.assertNotEqual(meta(a)["beam"], meta(c)["beam"])

    def test_counters_follow(self):
        for seed in (1, 2, 3):
            recs = records("--spills", "12", "--scale", "0.1", "--conditions", str(seed), events=False)
            c = meta(recs)["conditions"]
            ends = recs[1:]
            k = lambda r, n: r["counters"][n]
            mean = lambda f: statistics.mean(f(r) for r in ends)
            mot = statistics.median(k(r, "mot") for r in ends)
            self.assertAlmostEqual(mot / (0.1 * c["mot"]), 1, delta=0.12, msg="seed %d" % seed)
            self.assertAlmostEqual(mean(lambda r: k(r, "trig_physics") / k(r, "mot")) / c["phys_per_mot"], 1,
                                   delta=0.08)
            self.assertAlmostEqual(mean(lambda r: k(r, "trig_beam") / k(r, "mot")) / c["phys_per_mot"] /
                                   c["beam_fraction"], 1, delta=0.2)
            self.assertAlmostEqual(mean(lambda r: k(r, "smu") / k(r, "mot")) / c["phys_per_mot"], 10, delta=0.2)
            for n in ("v1", "vm1", "vm2"):
                self.assertAlmostEqual(mean(lambda r: k(r, n) / k(r, "mot")) / c[n + "_per_mot"], 1, delta=0.02)
            self.assertAlmostEqual(mean(lambda r: r["dead_time"]), c["dead_time"], delta=0.012)
            rnd = mean(lambda r: k(r, "trig_random") / r["duration"])
            self.assertAlmostEqual(rnd, c["random_hz"], delta=4 * (c["random_hz"] / 4.8 / 12) ** 0.5 + 0.05)

    def test_events_follow(self):
        recs = records("--spills", "3", "--scale", "0.1", "--conditions", "2")
        c = meta(recs)["conditions"]
        ev = [e for _, rows in spills(recs) for e in muon_events(rows)]
        pin = [e["p_in"] for e in ev if e["p_in"] is not None and abs(e["p_in"] - c["p_mean"]) < 15]
        self.assertAlmostEqual(statistics.median(pin), c["p_mean"], delta=0.5)
        for axis in ("x", "y"):
            v = [e[axis + "_tgt"] for e in ev if e[axis + "_tgt"] is not None]
            core = [q for q in v if abs(q - c["centre_" + axis]) < 3 * c["sigma_" + axis]]
            self.assertAlmostEqual(statistics.median(v), c["centre_" + axis], delta=0.2)
            self.assertAlmostEqual(statistics.pstdev(core) / 0.9866 / c["sigma_" + axis], 1, delta=0.06)
        for t in ("t_ecal", "t_hcal"):
            self.assertAlmostEqual(statistics.mean(e[t] for e in ev if e[t] is not None), c[t], delta=0.15)
        hits = [e["veto"][0] > 1.0 for e in ev if e["veto"][0] is not None]
        self.assertAlmostEqual(sum(hits) / len(hits), c["veto_hit_fraction"], delta=0.015)
        # Moyal(2.4, 0.12) has its median at 2.4 + 0.12 * 0.787
        h0 = statistics.median(e["hcal"][0] for e in ev if e["hcal"][0] is not None)
        self.assertAlmostEqual(h0 / 2.4944 / c["hcal_scale"][0], 1, delta=0.01)

    def test_momentum(self):
        recs = records("--spills", "2", "--scale", "0.1", "--momentum", "100")
        self.assertEqual(meta(recs)["momentum"], 100)
        pin = [e["p_in"] for _, rows in spills(recs) for e in muon_events(rows) if e["p_in"] is not None]
        self.assertAlmostEqual(statistics.median(pin), 100, delta=1)

    def test_deterministic(self):
        args = ("--spills", "3", "--scale", "0.05", "--seed", "9", "--conditions", "4", "--fault", "daq_missing@2",
                "--fault", "halo@3")
        mask = lambda s: re.sub(r'"time":[0-9.]+', '"time":T', s)
        self.assertEqual(mask(sim_text(*args)), mask(sim_text(*args)))


class Faults(unittest.TestCase):
    def test_relative_to_the_run(self):
        recs = records("--spills", "8", "--scale", "0.5", "--conditions", "4", "--fault", "halo@2",
                       "--fault", "trigger_low@3", "--fault", "intensity_drop@4", "--fault", "ecal_timing@5",
                       "--fault", "beam_momentum@6-7", "--fault", "ecal_gain@6-7")
        c = meta(recs)["conditions"]
        sp = spills(recs)
        per = lambda i, n: sp[i][0]["counters"][n] / sp[i][0]["counters"]["mot"]
        self.assertAlmostEqual(per(1, "v1") / c["v1_per_mot"], 3, delta=0.15)
        self.assertAlmostEqual(per(2, "trig_physics") / c["phys_per_mot"], 0.2, delta=0.05)
        self.assertAlmostEqual(per(2, "smu") / c["phys_per_mot"], 10, delta=0.5)  # Smu still counts muons
        self.assertLess(sp[3][0]["counters"]["mot"], 0.2 * 0.5 * c["mot"])
        ev = lambda *spill: [e for i in spill for e in muon_events(sp[i][1])]
        t = statistics.mean(e["t_ecal"] for e in ev(4) if e["t_ecal"] is not None)
        self.assertAlmostEqual(t, c["t_ecal"] + 25, delta=0.3)
        pin = [e["p_in"] for e in ev(5, 6) if e["p_in"] is not None and abs(e["p_in"] - c["p_mean"] + 10) < 15]
        self.assertAlmostEqual(statistics.median(pin), c["p_mean"] - 10, delta=1)
        hits = [e["veto"][0] > 1.0 for e in ev(1) if e["veto"][0] is not None]
        self.assertAlmostEqual(sum(hits) / len(hits), min(1, 3 * c["veto_hit_fraction"]), delta=0.08)
        # ECAL x0.75 of the run's scale: the medians of the MIP deposits (not the rare radiative ones)
        med = lambda *i: statistics.median(e["ecal"] for e in ev(*i) if e["ecal"] is not None and e["ecal"] < 2)
        self.assertAlmostEqual(med(5, 6) / med(0, 4, 7), 0.75, delta=0.03)

    def test_from_the_first_spill(self):
        recs = records("--spills", "2", "--scale", "0.05", "--fault", "hcal_dead@1-40")
        self.assertEqual(meta(recs)["faults"], ["hcal_dead@1-40"])
        for end, rows in spills(recs):
            h = [e["hcal"] for e in muon_events(rows)]
            self.assertLess(abs(statistics.median(m[2] for m in h)), 0.05, "spill %d" % end["spill"])
            self.assertGreater(statistics.median(m[0] for m in h), 2.2)


class DaqSources(unittest.TestCase):
    def check_exact(self, recs):
        """recorded = event records, per trigger type too; each front-end's counts are the events that
        show the flaw. Returns the spills' daq_sources."""
        out = []
        for end, rows in spills(recs):
            c, dt = end["counters"], end["dead_time"]
            self.assertEqual(c["recorded"], len(rows))
            for t in ("physics", "beam", "random", "led"):
                self.assertEqual(round(c["trig_" + t] * (1 - dt)), sum(e["trigger"] == t for e in rows))
            ds = end["daq_sources"]
            self.assertEqual(list(ds), list(DAQ_FIELDS))
            for d, v in ds.items():
                self.assertEqual(v["events"], c["recorded"])
                vals = [[x for k in DAQ_FIELDS[d] for x in (e[k] if isinstance(e[k], list) else [e[k]])]
                        for e in rows]
                nulls = sum(all(x is None for x in vs) for vs in vals)
                zeros = sum(all(x in (0, None) for x in vs) and not all(x is None for x in vs) for vs in vals)
                if d in ("MS1", "MS2"):  # tracks only: every flaw leaves them null, as a failed fit does
                    self.assertGreaterEqual(nulls, v["missing"] + v["empty"] + v["truncated"])
                else:
                    self.assertEqual((nulls, zeros), (v["missing"] + v["truncated"], v["empty"]),
                                     "spill %d %s" % (end["spill"], d))
            out.append(ds)
        return out

    def test_clean_and_daq_missing(self):
        ds = self.check_exact(records("--spills", "4", "--scale", "0.2", "--format", "rows", "--batch", "333",
                                      "--fault", "daq_missing@2-3", "--fault", "hcal_dead@3"))
        for i in (1, 2):
            self.assertEqual(ds[i]["HCAL"]["missing"], round(0.05 * ds[i]["HCAL"]["events"]))
        self.assertLess(ds[0]["HCAL"]["missing"], 3)
        self.assertLess(ds[3]["HCAL"]["missing"], 3)

    def test_clean_flaws_are_rare_and_exact(self):
        ds = self.check_exact(records("--spills", "6", "--seed", "5"))
        flaws = sum(v[k] for s in ds for v in s.values() for k in ("missing", "empty", "truncated"))
        events = sum(s["BEAM"]["events"] for s in ds)
        self.assertLess(flaws, 21 * 1e-5 * events + 6)

    def test_no_daq_sources(self):
        args = ("--spills", "2", "--scale", "0.05", "--fault", "daq_missing@1")
        with_ds = sim_text(*args).splitlines()
        without = sim_text(*args, "--no-daq-sources").splitlines()
        mask = lambda s: re.sub(r'"time":[0-9.]+', '"time":0', s)
        self.assertEqual(len(with_ds), len(without))
        for a, b in zip(with_ds, without):
            ra, rb = json.loads(mask(a)), json.loads(mask(b))
            self.assertNotIn("daq_sources", rb)
            ra.pop("daq_sources", None)
            self.assertEqual(ra, rb)


if __name__ == "__main__":
    main()
