"""Direct replay against file replay: the simulator posts a run to one server directly, and the same
run (same seed) is written to a file that `spillwatch-collect file --exit-at-eof` follows into a second
server. Every spill (events, MOT, dead time, counters, DAQ counts, triggers, flag, reasons, every check's
state and value) and every run histogram must match. Used by test_collector_file.py at a small scale,
and by hand for a multi-hour run:

    SW_SERVER=build/spillwatch SW_COLLECT=build/spillwatch-collect \\
        python3 tests/integration/replay_compare.py --spills 640     # 3 h of SPS cycles of 16.8 s
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from harness import COLLECT, Server

SPILL_KEYS = ("events", "mot", "dead_time", "duration", "decode_errors", "unknown_fields", "complete", "flag",
              "reasons", "counters", "triggers", "profile_version", "daq_sources")


def spill_view(srv, run, spill):
    st, sp = srv.get("/api/v1/runs/%d/spills/%d" % (run, spill))
    assert st == 200, (st, sp)
    view = {k: sp[k] for k in SPILL_KEYS}
    view["checks"] = [(c["name"], c["state"], c.get("value")) for c in sp["checks"]]
    return view


def run_view(srv, run):
    st, body = srv.get("/api/v1/runs/%d/spills?limit=1000000" % run)
    assert st == 200, (st, body)
    spills = {s["spill"]: spill_view(srv, run, s["spill"]) for s in body["spills"]}
    st, defs = srv.get("/api/v1/histograms")
    hists = {}
    for h in defs["histograms"]:
        st, hist = srv.get("/api/v1/histograms/%s?run=%d" % (h["name"], run))
        assert st == 200, (st, hist)
        hists[h["name"]] = {k: hist.get(k) for k in ("counts", "underflow", "overflow", "entries", "mean", "rms")}
    st, summary = srv.get("/api/v1/runs/%d" % run)
    keep = ("spills", "events", "mot", "good_mot", "flags")
    return spills, hists, {k: summary.get(k) for k in keep}


def compare(tmp, spills, scale="1", fmt="columns", run=1, seed="1", faults=()):
    """Returns (differences, figures). differences is empty when the two servers agree spill for spill."""
    args = ["--run", str(run), "--spills", str(spills), "--scale", scale, "--format", fmt, "--seed", seed]
    for f in faults:
        args += ["--fault", f]
    for d in ("direct", "file"):
        os.makedirs(os.path.join(tmp, d))
    direct = Server(os.path.join(tmp, "direct"), config={"spill_timeout": 3600}).start()
    via = Server(os.path.join(tmp, "file"), config={"spill_timeout": 3600}).start()
    figures = {}
    try:
        t0 = time.time()
        subprocess.run([COLLECT, "sim", "--url", direct.url, "--quiet"] + args, check=True, timeout=36000)
        figures["direct_s"] = time.time() - t0
        path = os.path.join(tmp, "run.ndjson")
        subprocess.run([COLLECT, "sim", "--out", path, "--quiet"] + args, check=True, timeout=36000)
        figures["file_bytes"] = os.path.getsize(path)
        t0 = time.time()
        p = subprocess.run([COLLECT, "file", path, "--url", via.url, "--state", os.path.join(tmp, "state"),
                            "--exit-at-eof", "--quiet"], capture_output=True, text=True, timeout=36000)
        figures["file_s"] = time.time() - t0
        if p.returncode != 0:
            return ["file collector exit %d: %s" % (p.returncode, p.stderr[-3000:])], figures
        a, b = run_view(direct, run), run_view(via, run)
        diffs = []
        if sorted(a[0]) != sorted(b[0]):
            diffs.append("spill lists differ: %d direct, %d via file" % (len(a[0]), len(b[0])))
        for spill in sorted(set(a[0]) & set(b[0])):
            for k in a[0][spill]:
                if a[0][spill][k] != b[0][spill][k]:
                    diffs.append("spill %d %s: direct %r, file %r" % (spill, k, a[0][spill][k], b[0][spill][k]))
        for name in a[1]:
            if a[1][name] != b[1].get(name):
                diffs.append("run histogram %s differs" % name)
        if a[2] != b[2]:
            diffs.append("run summary: direct %r, file %r" % (a[2], b[2]))
        figures.update(spills=len(a[0]), events=a[2]["events"], histograms=len(a[1]))
        return diffs, figures
    finally:
        direct.stop()
        via.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spills", type=int, default=640)
    ap.add_argument("--scale", default="1")
    ap.add_argument("--format", default="columns")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="swreplay-")
    try:
        diffs, fig = compare(tmp, a.spills, a.scale, a.format, faults=("hcal_dead@10-12", "beam_momentum@40"))
        print("spills %s, events %s, histograms %s, file %.0f MB; direct replay %.1f s, file replay %.1f s"
              % (fig.get("spills"), fig.get("events"), fig.get("histograms"), fig.get("file_bytes", 0) / 1e6,
                 fig.get("direct_s", 0), fig.get("file_s", 0)))
        print("\n".join(diffs[:50]) if diffs else "identical spill for spill")
        return 1 if diffs else 0
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
