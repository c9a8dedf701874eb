"""The quality benchmark (issue 13; docs/quality.md): does the shipped NA64mu profile, untouched, judge
runs whose nominal conditions are drawn from the NA64mu run-to-run ranges, with every fault class
injected mid-run and from the first spill of a run?

Runs come in groups of the same drawn conditions (`spillwatch-collect sim --conditions SEED`, so the
same run_start.meta beam, momentum, trigger and target): the first run of a group has nothing to carry
over (its baselines learn), the later ones carry the baselines of the run before. Each run gets faults
at random places mid-run, and runs get a fault that is there from their first spill: in a group's
first run only faults that a physical window or a peer comparison can see without any history (a dead
module, the momentum, the ECAL gain and timing, the dead time, a missing DAQ source); in the later
runs any fault. Faults that only a run's own history can reveal (intensity, halo, trigger rate per
MOT) are also put at the first spill of runs of conditions of their own, reported on lines of their
own (with the spills after the fault): no monitor can tell them from a run of other conditions, and
the targets do not count them. Each is followed by a clean run of the same conditions, which is
counted: the baseline its predecessor learnt during the fault must not be carried over.

Prints the confusion matrix (flag per true class) and the figures against the targets of
docs/design.md §13: every fault class BAD in >= 99 % of its spills, clean spills GOOD >= 95 % and BAD
<= 1 %. Exit status 0 when the targets are met, 1 when not (a benchmark's verdict, not a test's).

    python3 bench/quality.py [--build-dir build] [--runs 24] [--spills 24] [--seed 1] [--profile FILE]
                             [--json FILE]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (bench/harness.py: the Server class)

FAULTS = ["beam_momentum", "hcal_dead", "intensity_drop", "dead_time", "ecal_gain", "halo", "ecal_timing",
          "trigger_low", "daq_missing"]
# Seen in a single spill without any history: by a physical window, a peer comparison or the DAQ's own counts.
ANCHORED = ["beam_momentum", "hcal_dead", "dead_time", "ecal_gain", "ecal_timing", "daq_missing"]
# Only a run's own (or a matching run's) level reveals them.
RELATIVE = ["intensity_drop", "halo", "trigger_low"]
FLAGS = ["GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED"]
GROUP = 3  # runs of the same conditions


def plan(rng, seed, runs, spills, first_run, blind_runs):
    """[(run, conditions seed, sim seed, {spill: fault}, {spill: (class, when)})]; the conditions and the
    simulator's seeds follow --seed too, so each seed draws other conditions."""
    out = []

    def mid_run(faults, label, s):
        order = FAULTS[:]
        rng.shuffle(order)
        for f in order:
            n = rng.randint(2, 3)
            if s + n > spills:
                break
            for t in range(s, s + n):
                faults[t] = f
                label[t] = (f, "mid-run")
            s += n + rng.randint(2, 4)

    for i in range(runs):
        g, k = divmod(i, GROUP)
        run = first_run + i
        faults, label = {}, {}
        # a fault present from the first spill: in a group's first run only one that needs no history
        # (every other group; the others start clean and learn), in the later runs any
        f = None
        if k == 0 and g % 2 == 0:
            f, tag = ANCHORED[(g // 2) % len(ANCHORED)], "first spill, new conditions"
        elif k > 0:
            f, tag = FAULTS[(g * 2 + k) % len(FAULTS)], "first spill, carried baseline"
        span = rng.randint(3, 6) if f else 0
        for s in range(1, span + 1):
            faults[s] = f
            label[s] = (f, tag)
        mid_run(faults, label, span + 4 if f else 6)
        out.append((run, 100000 * seed + 1000 + g, 100000 * seed + 100 + i, faults, label))
    # Runs of conditions of their own with a fault that only history can reveal, from the first spill:
    # reported apart (no monitor can tell the fault from other conditions; once it ends, the level the
    # run learnt is off). Not counted against the targets.
    for j in range(blind_runs):
        run = first_run + runs + j
        f = RELATIVE[j % len(RELATIVE)]
        span = rng.randint(3, 6)
        faults = {s: f for s in range(1, span + 1)}
        label = {s: (f, "first spill, no history (apart)") for s in range(1, span + 1)}
        for s in range(span + 1, spills + 1):
            label[s] = ("clean", "after a fault of the first spills that no history revealed (apart)")
        out.append((run, 100000 * seed + 5000 + j, 100000 * seed + 900 + j, faults, label))
    # ... each followed by a clean run of the same conditions: counted as clean (the stale baseline of
    # the run before must not be carried over)
    for j in range(blind_runs):
        out.append((first_run + runs + blind_runs + j, 100000 * seed + 5000 + j, 100000 * seed + 950 + j, {}, {}))
    return out


def fault_args(faults):
    """--fault NAME@A-B for the runs of consecutive spills of one fault."""
    args, spills = [], sorted(faults)
    i = 0
    while i < len(spills):
        j = i
        while j + 1 < len(spills) and spills[j + 1] == spills[j] + 1 and faults[spills[j + 1]] == faults[spills[i]]:
            j += 1
        a, b = spills[i], spills[j]
        args += ["--fault", "%s@%d" % (faults[a], a) if a == b else "%s@%d-%d" % (faults[a], a, b)]
        i = j + 1
    return args


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--runs", type=int, default=24)
    ap.add_argument("--spills", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--blind-runs", type=int, default=3,
                    help="runs with a fault only history reveals from their first spill (reported apart)")
    ap.add_argument("--first-run", type=int, default=1001)
    ap.add_argument("--profile", help="judge with this profile instead of config/na64mu.json (a comparison)")
    ap.add_argument("--json", help="write the matrix and figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the server's directory")
    a = ap.parse_args(argv)
    build = os.path.abspath(a.build_dir)
    collect = os.path.join(build, "spillwatch-collect")
    rng = random.Random(a.seed)
    runs = plan(rng, a.seed, a.runs, a.spills, a.first_run, a.blind_runs)
    tmp = tempfile.mkdtemp(prefix="sw-quality-")
    srv = harness.Server(build, tmp, name="quality", profile=os.path.abspath(a.profile) if a.profile else None).start()
    t0 = time.monotonic()
    matrix = {}  # (class, tag) -> {flag: n}
    examples = {}  # (class, tag) -> a reason of a spill that was not BAD (or not GOOD for clean)
    try:
        for run, cond, seed, faults, label in runs:
            cmd = [collect, "sim", "--url", "http://127.0.0.1:%d" % srv.port, "--run", str(run), "--spills",
                   str(a.spills), "--conditions", str(cond), "--seed", str(seed), "--fast", "--quiet"]
            cmd += fault_args(faults)
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                raise harness.BenchError("simulator failed (%d): %s" % (p.returncode, p.stderr[-1000:]))
            status, body = srv.get("/api/v1/runs/%d/spills" % run)
            if status != 200:
                raise harness.BenchError("GET spills of run %d: %d" % (run, status))
            for s in json.loads(body)["spills"]:
                key = label.get(s["spill"], ("clean", "clean"))
                row = matrix.setdefault(key, {f: 0 for f in FLAGS})
                row[s["flag"]] = row.get(s["flag"], 0) + 1
                bad = s["flag"] != ("GOOD" if key[0] == "clean" else "BAD")
                if bad and key not in examples:
                    examples[key] = "run %d spill %d %s: %s" % (run, s["spill"], s["flag"], "; ".join(s["reasons"])[:300])
    finally:
        srv.stop()
        if not a.keep:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - t0

    def frac(row, flag):
        n = sum(row.values())
        return row.get(flag, 0) / n if n else float("nan")

    harness.say("quality over %d runs of %d spills (%d condition groups), %.0f s" %
                (a.runs, a.spills, (a.runs + GROUP - 1) // GROUP, seconds))
    harness.say("%-16s %-40s %6s  %s" % ("class", "when", "spills", "  ".join("%8s" % f for f in FLAGS)))
    order = sorted(matrix, key=lambda k: (k[0] != "clean", FAULTS.index(k[0]) if k[0] in FAULTS else -1, k[1]))
    for key in order:
        row = matrix[key]
        n = sum(row.values())
        harness.say("%-16s %-40s %6d  %s" % (key[0], key[1], n,
                                             "  ".join("%7.1f%%" % (100 * row.get(f, 0) / n) for f in FLAGS)))
    # the targets: every fault class (counted: mid-run, first spill with a carried baseline, first
    # spill of new conditions for the anchored classes) BAD >= 99 %; clean GOOD >= 95 %, BAD <= 1 %
    figures, ok = {}, True
    for f in FAULTS:
        row = {x: 0 for x in FLAGS}
        for key, r in matrix.items():
            if key[0] == f and "(apart)" not in key[1]:
                for x in FLAGS:
                    row[x] += r.get(x, 0)
        if sum(row.values()):
            figures[f + "_bad"] = frac(row, "BAD")
    clean = matrix.get(("clean", "clean"), {})
    figures["clean_good"] = frac(clean, "GOOD")
    figures["clean_bad"] = frac(clean, "BAD")
    harness.say("targets:")
    for name, v in figures.items():
        if name == "clean_good":
            good, target = v >= 0.95, ">= 95 %"
        elif name == "clean_bad":
            good, target = v <= 0.01, "<= 1 %"
        else:
            good, target = v >= 0.99, ">= 99 %"
        ok &= good
        harness.say("  %-22s %6.1f %%  target %-8s %s" % (name, 100 * v, target, "ok" if good else "MISSED"))
    if examples:
        harness.say("a spill of each class that was not judged as its truth:")
        for key in order:
            if key in examples:
                harness.say("  %s / %s: %s" % (key[0], key[1], examples[key]))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"runs": a.runs, "spills": a.spills, "seed": a.seed, "seconds": seconds,
                       "matrix": [{"class": k[0], "when": k[1], "flags": matrix[k]} for k in order],
                       "figures": figures, "ok": ok}, fh, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
