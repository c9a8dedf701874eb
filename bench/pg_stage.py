"""The PostgreSQL stage of the benchmark (bench/run --only pg; docs/performance.md "PostgreSQL"):
every figure measured on a real PostgreSQL 15 (tests/integration/pgcluster.py: initdb in a
temporary directory, fsync on, a loopback port) side by side with the same work on a SQLite file in
the same run.

  ingest     the same spills posted to a server on SQLite and to one on PostgreSQL, alternately
             (paired): wall time and the spill_end -> `spill` stream event latency (the commit)
  relay      a browser's stream on a standby: spill_end posted to the active server -> the `spill`
             event on the standby (target <= 1 s), against the active server's own stream
  failover   SIGKILL of the active server -> the standby answers /health with role active and
             takes ingest (target <= 10 s with the default cluster.poll of 1 s)
  migrate    `spillwatch migrate` of the stored-data databases (bench/stored_db.py): spills/s
  reads      every REST GET of the stored stage on the migrated copy against the SQLite file it was
             copied from: the median of each, and PostgreSQL / SQLite
Python stdlib only."""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time


def run(b, Server, Stream, BenchError, say):
    import pgcluster  # tests/integration (on sys.path: the harness shares the tests' start-up)

    why = pgcluster.missing_reason()
    if why:
        raise BenchError(why)
    pg = pgcluster.Cluster(tempfile.mkdtemp(prefix="sw-pg-bench-")).init().start()
    try:
        ingest(b, pg, Server, Stream, BenchError, say)
        cluster(b, pg, Server, Stream, BenchError, say)
        stored(b, pg, Server, BenchError, say)
    finally:
        pg.remove()


def ingest(b, pg, Server, Stream, BenchError, say):
    spills, scale, reps = (5, 0.2, 2) if b.quick else (20, 0.5, 3)
    say("\n  -- ingest: %d spills at --scale %g posted to a server on SQLite and one on PostgreSQL, %d times "
        "each, alternately" % (spills, scale, reps))
    wall = {"sqlite": [], "pg": []}
    lat = {"sqlite": [], "pg": []}
    run = 100
    for _ in range(reps):
        for what in ("sqlite", "pg"):
            run += 1
            srv = Server(b.build, b.tmp, db=pg.new_database() if what == "pg" else None, name="pg-ingest-" + what)
            srv.start()
            st = Stream(srv.port)
            try:
                _, secs, ls = b.post_spills(srv, run, spills, scale, stream=st)
            finally:
                st.close()
                srv.stop()
                shutil.rmtree(srv.dir, ignore_errors=True)
            wall[what].append(secs)
            lat[what].append(statistics.median(ls))
    b.figure("pg.ingest.wall", statistics.median(wall["pg"]), "s", baseline=statistics.median(wall["sqlite"]),
             baseline_what="SQLite", samples=wall["pg"], baseline_samples=wall["sqlite"],
             text="%d spills posted on one connection" % spills)
    b.figure("pg.ingest.commit_to_stream", 1000 * statistics.median(lat["pg"]), "ms",
             baseline=1000 * statistics.median(lat["sqlite"]), baseline_what="SQLite",
             samples=[1000 * x for x in lat["pg"]], baseline_samples=[1000 * x for x in lat["sqlite"]],
             text="spill_end posted -> `spill` on the stream (median per run)")


def health(srv):
    try:
        st, body = srv.get("/api/v1/health", timeout=5)
        return json.loads(body)
    except (OSError, ValueError):
        return {}


def wait_role(srv, role, BenchError, timeout=30):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if health(srv).get("role") == role:
            return time.monotonic()
        time.sleep(0.01)
    raise BenchError("%s never became %s" % (srv.port, role))


def clustered(b, uri, name, Server):
    srv = Server(b.build, b.tmp, db=uri, name=name)
    cfg = json.load(open(srv.config))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    srv.listen = "127.0.0.1:%d" % port
    cfg["cluster"] = {"advertise": "http://127.0.0.1:%d" % port}  # poll: the default, 1 s
    json.dump(cfg, open(srv.config, "w"))
    return srv


def cluster(b, pg, Server, Stream, BenchError, say):
    spills, kills = (5, 2) if b.quick else (15, 5)
    say("\n  -- several servers on one database (cluster.poll 1 s, the default): %d spills with a stream on "
        "the standby and one on the active server; then %d times SIGKILL of the active server" % (spills, kills))
    uri = pg.new_database()
    servers = [clustered(b, uri, "pg-a", Server), clustered(b, uri, "pg-b", Server)]
    for s in servers:
        s.start()
    try:
        wait_role(servers[0], "active", BenchError)
        wait_role(servers[1], "standby", BenchError)
        active, standby = servers
        st_standby, st_active = Stream(standby.port), Stream(active.port)
        try:
            _, _, relay = b.post_spills(active, 201, spills, 0.2, stream=st_standby)
            _, _, own = b.post_spills(active, 202, spills, 0.2, stream=st_active)
        finally:
            st_standby.close()
            st_active.close()
        b.figure("pg.relay.standby_stream", 1000 * statistics.median(relay), "ms",
                 baseline=1000 * statistics.median(own), baseline_what="active's own stream", target="<= 1000 ms",
                 text="spill_end posted to the active server -> `spill` on a standby's stream (max %.0f ms)" %
                 (1000 * max(relay)))
        took = []
        run = 300
        for _ in range(kills):
            t0 = time.monotonic()
            active.proc.send_signal(signal.SIGKILL)
            active.proc.wait()
            t1 = wait_role(standby, "active", BenchError)
            run += 1
            b.post_spills(standby, run, 1, 0.05)  # it takes ingest
            took.append(t1 - t0)
            active.log.close()
            active.start()
            wait_role(active, "standby", BenchError)
            active, standby = standby, active
        b.figure("pg.failover", statistics.median(took), "s", target="<= 10 s", samples=took,
                 samples_what="takeovers",
                 text="SIGKILL of the active server -> the standby's /health says active (max %.2f s)" % max(took))
    finally:
        for s in servers:
            s.stop()
            shutil.rmtree(s.dir, ignore_errors=True)


def stored(b, pg, Server, BenchError, say):
    points = [("1e3", 3), ("1e4", 33)] if b.quick else [("1e3", 3), ("1e5", 303)]
    reps = 5 if b.quick else 7
    say("\n  -- stored spills on PostgreSQL: `spillwatch migrate` of the stored stage's databases, then every "
        "read of that stage on the copy and on the SQLite file (median of %d rounds, alternately)" % reps)
    rows = []
    for label, runs in points:
        db = b.stored_db(runs)
        spills = runs * b.STORED_PER_RUN
        uri = pg.new_database()
        t0 = time.monotonic()
        p = subprocess.run([os.path.join(b.build, "spillwatch"), "migrate", "--from", db, "--to", uri],
                           capture_output=True, text=True)
        secs = time.monotonic() - t0
        if p.returncode != 0:
            raise BenchError("migrate %s: %s" % (label, p.stderr.strip()[-500:]))
        b.figure("pg.migrate.%s" % label, spills / secs, "spills/s",
                 text="{:,} spills in {:.1f} s ({:.0f} MB of SQLite)".format(spills, secs, os.path.getsize(db) / 1e6),
                 seconds=secs, spills=spills)
        reads = [(k, p) for k, p in b.stored_reads(db, runs) if k not in ("health", "metrics")]
        work = os.path.join(b.tmp, "pg-stored-%s.db" % label)
        shutil.copyfile(db, work)
        lite, post = Server(b.build, b.tmp, db=work, name="pg-st-lite"), Server(b.build, b.tmp, db=uri, name="pg-st")
        ts = {k: {"sqlite": [], "pg": []} for k, _ in reads}
        status = {}
        try:
            lite.start()
            post.start()
            for k, path in reads:  # the first request of each: caches warmed on both
                lite.get(path, timeout=300)
                status[k] = post.get(path, timeout=300)[0]
            for _ in range(reps):
                for k, path in reads:
                    for what, srv in (("sqlite", lite), ("pg", post)):
                        t0 = time.perf_counter()
                        srv.get(path, timeout=300)
                        ts[k][what].append(time.perf_counter() - t0)
        finally:
            for s in (lite, post):
                s.stop()
                shutil.rmtree(s.dir, ignore_errors=True)
            os.unlink(work)
        for k, path in reads:
            a, c = statistics.median(ts[k]["sqlite"]), statistics.median(ts[k]["pg"])
            b.figure("pg.stored.%s.%s" % (label, k), 1000 * c, "ms", baseline=1000 * a, baseline_what="SQLite",
                     samples=[1000 * x for x in ts[k]["pg"]], baseline_samples=[1000 * x for x in ts[k]["sqlite"]],
                     target="<= 20 ms", path=path, status=status[k], quiet=True)
            rows.append((label, k, 1000 * a, 1000 * c, b.figures["pg.stored.%s.%s" % (label, k)]["ratio"], status[k]))
    say("  %-6s %-20s %10s %10s %8s  %s" % ("spills", "read", "SQLite ms", "PG ms", "PG/SQL", "verdict"))
    over = []
    for label, k, a, c, ratio, st in rows:
        ok = c <= 20 and st == 200
        if not ok:
            over.append("%s %s" % (label, k))
        say("  %-6s %-20s %10.2f %10.2f %7.2fx  %s" % (label, k, a, c, ratio, "PASS" if ok else "over"))
    say("  reads on PostgreSQL over 20 ms: %s" % (", ".join(over) if over else "none"))
    if over:
        b.notes.append("pg: reads over 20 ms: " + ", ".join(over))
