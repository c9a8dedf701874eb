"""Where ingest time goes (docs/performance.md, "Where ingest time goes"): the server under `perf record`
and `perf stat` while bench/ingest_load sends full NA64mu spills.

    python3 bench/profile_ingest.py --build-dir build-prof [--spills 60] [--connections 2]
                                    [--format columns|rows] [--out DIR] [--top 40]
                                    [--against OTHER_BUILD --repeat 5]

The build should keep frame pointers for the call graphs (the docs configure one:
`-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-g -fno-omit-frame-pointer"`). Two servers, each fresh on
a temporary directory with the NA64mu profile, as bench/run's ingest stage starts them:

1. `perf stat -e task-clock,...` around the server: its CPU time for the whole ingest, hence events per
   CPU-second (events/s per core) beside the wall-clock rate ingest_load measures.
2. `perf record -g` around the server: the self time per function (perf report --no-children), per
   library and per thread, written to DIR (default: a temporary directory, printed) with the raw data.

With --against OTHER_BUILD (e.g. a copy of the build before a change: its spillwatch,
spillwatch-collect and bench/ingest_load), only step 1, alternating the two servers --repeat times on
the same file: events per CPU-second of each, and the median of the paired ratios (this build / the
other), which a CPU-time figure keeps steady even while other load shares the cores.

Checks as the harness does: every answer 200, the server's event counter equals the events sent.
Python stdlib only; needs perf (Debian linux-perf).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from spawn import launch  # noqa: E402  (the server start-up shared with the tests)


def config(tmp):
    cfg = json.load(open(os.path.join(SRC, "config", "spillwatch.json")))
    cfg["profile"] = os.path.join(SRC, "config", "na64mu.json")
    cfg["www"] = os.path.join(SRC, "www")
    cfg["db"] = os.path.join(tmp, "sw.db")
    path = os.path.join(tmp, "config.json")
    json.dump(cfg, open(path, "w"))
    return path


def metric(port, name):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30).read().decode()
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def run_server(args, wrapper, tmp, data, build=None):
    """Starts the server under wrapper (a perf command), sends the file, stops it; the load's result."""
    os.makedirs(tmp, exist_ok=True)
    binary = os.path.join(build or args.build_dir, "spillwatch")
    proc, port, log = launch(wrapper + [binary, "--config", config(tmp), "--listen", "127.0.0.1:0"],
                             os.path.join(tmp, "server.log"), cwd=tmp, timeout=60)
    try:
        out = subprocess.run([os.path.join(args.build_dir, "bench", "ingest_load"), "--port", str(port), "--file",
                              data, "--connections", str(args.connections), "--batch", "1000"],
                             capture_output=True, text=True)
        r = json.loads(out.stdout)
        if r["failed"]:
            raise SystemExit("profile: %d answers were not 200: %s" % (r["failed"], r["first_error"]))
        got = metric(port, "spillwatch_ingest_events_total")
        if got != r["events"]:
            raise SystemExit("profile: sent %d events, the server counted %s" % (r["events"], got))
        return r
    finally:
        # The server (perf's child) is stopped as the harness stops it; perf then writes its data.
        kids = open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)).read().split()
        for k in kids:
            os.kill(int(k), signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def report(data, sort, top, extra=()):
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--percent-limit", "0.3", "-g", "none",
                          "--sort", sort, *extra], capture_output=True, text=True).stdout
    rows = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("#")]
    return "\n".join(rows[:top])


def stat_once(args, out, data, build=None):
    """One server under perf stat: the load's result and the counters (name -> value)."""
    stat = os.path.join(out, "perf-stat.txt")
    r = run_server(args, ["perf", "stat", "-x", ",", "-o", stat, "-e",
                          "task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions", "--"],
                   os.path.join(out, "stat"), data, build)
    shutil.rmtree(os.path.join(out, "stat"), ignore_errors=True)
    counters = {}
    for ln in open(stat):
        parts = ln.strip().split(",")
        if len(parts) > 2 and parts[0] and not ln.startswith("#"):
            try:
                counters[parts[2]] = float(parts[0])
            except ValueError:
                pass
    return r, counters


def compare(args, out, data):
    mine, other, wall_mine, wall_other, busy_mine, busy_other = [], [], [], [], [], []
    for _ in range(args.repeat):
        for build, cpu, wall, busy in ((args.against, other, wall_other, busy_other),
                                       (args.build_dir, mine, wall_mine, busy_mine)):
            r, counters = stat_once(args, out, data, build)
            cpu.append(r["events"] / (counters["task-clock"] / 1e3))
            wall.append(r["events_per_s"])
            busy.append(counters["task-clock"] / 1e3 / r["seconds"])
    ratios = sorted(m / o for m, o in zip(mine, other))
    med = ratios[len(ratios) // 2] if len(ratios) % 2 else (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
    fmt = lambda xs: " ".join("{:,.0f}".format(x) for x in xs)  # noqa: E731
    print("events per CPU-second of the server (%d alternating runs each):" % args.repeat)
    print("  %s: %s" % (args.against, fmt(other)))
    print("  %s: %s" % (args.build_dir, fmt(mine)))
    print("  ratio (this build / the other), median of the pairs: %.1f %% (pairs %s)" %
          (100 * med, " ".join("%.0f%%" % (100 * x) for x in ratios)))
    print("wall-clock events/s (ingest_load; noisy on shared cores): %s vs %s" % (fmt(wall_other), fmt(wall_mine)))
    print("cores busy (server CPU-seconds / wall seconds): %s vs %s" %
          (" ".join("%.2f" % x for x in busy_other), " ".join("%.2f" % x for x in busy_mine)))


# Self time grouped by where it is spent: (group, test on (symbol, library)); the first match wins.
GROUPS = [
    ("parse (server/wire_fast.c, wire.c)", lambda sym, dso: dso == "spillwatch" and (
        sym.startswith(("sw_wire", "fast_", "sw_fields_find")) or sym in (
            "number", "literal", "plain_string", "skip_value", "skip_ws", "eat", "digits_run", "first_time",
            "reserved_key", "id_value", "trigger_of", "common_key", "commit_record", "is_digit"))),
    ("histogram fill (server/hist.c)", lambda sym, dso: dso == "spillwatch" and (
        sym.startswith(("sw_hist_fill", "fill_")))),
    ("engine apply (server/engine*.c, under its mutex)", lambda sym, dso: dso == "spillwatch" and (
        sym.startswith(("sw_engine", "eng_")))),
    ("locks (pthread mutex, futex)", lambda sym, dso: "mutex" in sym or "lll_lock" in sym or "futex" in sym),
    ("memcpy / memmove / memchr / memset (libc)", lambda sym, dso: dso.startswith("libc") and (
        sym.startswith(("__memmove", "__memcpy", "__memchr", "__memset", "__strlen", "__strcmp", "__memcmp")))),
    ("malloc / free (libc)", lambda sym, dso: dso.startswith("libc") and (
        "malloc" in sym or "free" in sym or "realloc" in sym or sym in ("cfree", "malloc_consolidate",
                                                                      "alloc_perturb", "tcache_init"))),
    ("SQLite + zlib (the writer's commit)", lambda sym, dso: dso.startswith(("libsqlite3", "libz"))),
    ("libmicrohttpd (HTTP)", lambda sym, dso: dso.startswith("libmicrohttpd")),
    ("Jansson (answers, records off the fast path)", lambda sym, dso: dso.startswith("libjansson")),
    ("kernel: page faults, zeroing and unmapping fresh memory", lambda sym, dso: dso.startswith("[kernel") and (
        "fault" in sym or "clear_page" in sym or "anonymous_page" in sym or "unmap" in sym or "folio" in sym or
        "pte" in sym or "lruvec" in sym or "mremap" in sym or "mmap" in sym or "tlb" in sym)),
    # the rest of the kernel: loopback TCP (the copy out of the socket, the softirq that delivers the
    # client's segments), wakeups (epoll, futex), the scheduler; perf report -G shows the split
    ("kernel: loopback TCP, wakeups, scheduler", lambda sym, dso: dso.startswith("[kernel")),
    ("rest of the server", lambda sym, dso: dso == "spillwatch"),
]


def grouped(data):
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--percent-limit",
                          "0", "--sort", "symbol,dso"], capture_output=True, text=True).stdout
    totals = {g: 0.0 for g, _ in GROUPS}
    totals["other"] = 0.0
    for ln in out.splitlines():
        m = re.match(r"^\s*([\d.]+)%\s+\[.\]\s+(\S+)\s+(\S+)", ln)
        if not m:
            continue
        pct, sym, dso = float(m.group(1)), m.group(2), m.group(3)
        for g, test in GROUPS:
            if test(sym, dso):
                totals[g] += pct
                break
        else:
            totals["other"] += pct
    return sorted(((v, g) for g, v in totals.items() if v > 0), reverse=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(SRC, "build-prof"))
    ap.add_argument("--spills", type=int, default=60)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--format", choices=["columns", "rows"], default="columns")
    ap.add_argument("--out")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--against", help="another build to compare events per CPU-second with")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if args.against:
        args.against = os.path.abspath(args.against)
    out = args.out or tempfile.mkdtemp(prefix="swprofile-")
    os.makedirs(out, exist_ok=True)
    data = os.path.join(out, "ingest.ndjson")
    with open(data, "wb") as f:
        subprocess.run([os.path.join(args.build_dir, "spillwatch-collect"), "sim", "--out", "-", "--run", "1",
                        "--spills", str(args.spills), "--scale", "1", "--batch", "1000", "--format", args.format],
                       stdout=f, stderr=subprocess.DEVNULL, check=True)
    print("profile of ingest: %d full-scale spills, %s, %d connections, %s (%s UTC)" %
          (args.spills, args.format, args.connections, args.build_dir,
           time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())), flush=True)

    if args.against:
        compare(args, out, data)
        os.unlink(data)
        return
    r, counters = stat_once(args, out, data)
    cpu_s = counters.get("task-clock", 0) / 1e3  # ms of CPU
    print("perf stat: %d events in %.3f s wall (%.0f events/s); server CPU %.3f s = %.0f events per CPU-second "
          "(per core); %.2f cores busy; %s context switches; IPC %.2f" %
          (r["events"], r["seconds"], r["events_per_s"], cpu_s, r["events"] / cpu_s if cpu_s else 0,
           cpu_s / r["seconds"], "{:,.0f}".format(counters.get("context-switches", 0)),
           counters.get("instructions", 0) / counters["cycles"] if counters.get("cycles") else 0))
    print("  (the server's CPU also covers its start, the run records and the stop: a few ms)")

    pdata = os.path.join(out, "perf.data")
    r = run_server(args, ["perf", "record", "-q", "-g", "-F", "2000", "-o", pdata, "--"], os.path.join(out, "rec"),
                   data)
    print("perf record: %d events in %.3f s wall (%.0f events/s) under the profiler" %
          (r["events"], r["seconds"], r["events_per_s"]))
    print("\n-- self time by thread")
    print(report(pdata, "pid", 12))
    print("\n-- self time by library")
    print(report(pdata, "dso", 12))
    print("\n-- self time by where it goes")
    for v, g in grouped(pdata):
        print("  %6.2f %%  %s" % (v, g))
    print("\n-- self time by function (top %d)" % args.top)
    print(report(pdata, "symbol,dso", args.top))
    print("\nraw data: %s (perf report -i %s)" % (out, pdata))
    os.unlink(data)
    shutil.rmtree(os.path.join(out, "rec"), ignore_errors=True)


if __name__ == "__main__":
    main()
