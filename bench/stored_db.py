"""Big stored databases for the benchmark's stored-data stage (bench/harness.py scale_stored,
docs/performance.md "Stored data").

A seed database is built once through the real server (spillwatch-collect sim posting to it, with
faults injected, manual flags set over REST and a run signed off), then grown to any number of runs
by copying the seed's rows with SQL, in bulk, with no server running: every table that holds a
`run` column (apart from the collector watermarks and the open-spill markers) is copied block by
block, run numbers shifted by the seed's run count per block and every time column mapped onto a
realistic time line (SPS supercycle CYCLE s per spill, RUN_GAP s between runs, the last run ending
at the seed's own time). Integer row ids (audit, alarm events) are given anew. The schema is
written afresh from the seed's (so the file has no free pages): its tables first, the copy, then
its indexes and triggers (the copied rows already hold what the triggers keep: run_totals is
copied like any other per-run table); then run_totals is compared with the sums recomputed from
the spills and their manual flags, and every copied table's row count with what the seed holds:
a difference fails the build. Python stdlib only.
"""
import os
import sqlite3
import time

CYCLE = 16.8  # s between spill starts: the SPS supercycle (spillwatch-collect sim --cycle default)
RUN_GAP = 600.0  # s between the end of a run and the start of the next
SKIP = {"sources", "open_spills"}  # carry a run column but are not per-run history
TIME_COLUMNS = {"started", "ended", "closed_at", "time", "hists_pruned", "opened", "updated", "from_time",
                "to_time"}
VERSION = "1"  # part of the cache key: bump when the copy changes

# The run list's totals recomputed from the spills (the same sums as migration 013_run_totals.sql).
RECOMPUTE = """
SELECT s.run, count(*), sum(s.events), coalesce(sum(s.mot), 0.0),
       coalesce(sum(CASE WHEN coalesce(m.flag, s.flag) = 'GOOD' THEN s.mot END), 0.0),
       sum(coalesce(m.flag, s.flag) = 'GOOD'), sum(coalesce(m.flag, s.flag) = 'WARN'),
       sum(coalesce(m.flag, s.flag) = 'BAD'), sum(coalesce(m.flag, s.flag) = 'UNKNOWN'),
       sum(coalesce(m.flag, s.flag) = 'EXCLUDED')
FROM spills s LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill GROUP BY s.run"""
TOTALS = ("SELECT run, spills, events, mot, good_mot, n_good, n_warn, n_bad, n_unknown, n_excluded "
          "FROM run_totals WHERE spills > 0")


class GrowError(Exception):
    pass


def per_run_tables(con, schema="main"):
    """[(table, [columns], [time columns], id column or None)] of the tables with a run column."""
    out = []
    for (t,) in con.execute("SELECT name FROM %s.sqlite_master WHERE type = 'table' AND name NOT LIKE "
                            "'sqlite_%%' ORDER BY name" % schema):
        info = con.execute("PRAGMA %s.table_info(%s)" % (schema, t)).fetchall()
        cols = [r[1] for r in info]
        if "run" not in cols or t in SKIP:
            continue
        pks = [r for r in info if r[5]]
        rowid = pks[0][1] if len(pks) == 1 and pks[0][2].upper() == "INTEGER" and pks[0][1] != "run" else None
        times = [r[1] for r in info if r[1] in TIME_COLUMNS and r[2].upper() in ("REAL", "INTEGER", "")]
        out.append((t, cols, times, rowid))
    return out


def check_totals(con):
    """Raises GrowError unless run_totals equals the sums recomputed from the spills."""
    stored = {r[0]: r for r in con.execute(TOTALS)}
    fresh = {r[0]: r for r in con.execute(RECOMPUTE)}
    if stored != fresh:
        bad = sorted(set(stored) ^ set(fresh)) + sorted(r for r in set(stored) & set(fresh) if stored[r] != fresh[r])
        r = bad[0]
        raise GrowError("run_totals disagree with the spills for %d runs, e.g. run %d: stored %s, recomputed %s"
                        % (len(bad), r, stored.get(r), fresh.get(r)))
    return len(stored)


def grow(seed, out, runs, say=print):
    """Writes out: a database of `runs` runs copied from seed (whose runs are 1..n, each a complete
    run); run g (1-based) is a copy of seed run ((g - 1) % n) + 1. Returns a dict of what was built."""
    t0 = time.monotonic()
    tmp = "%s.%d.tmp" % (out, os.getpid())
    if os.path.exists(tmp):
        os.unlink(tmp)
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = DELETE")
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -262144")  # 256 MB: the indexes' pages stay in memory
        con.execute("ATTACH ? AS src", (seed,))
        seed_runs = [r for (r,) in con.execute("SELECT run FROM src.runs ORDER BY run")]
        n = len(seed_runs)
        if seed_runs != list(range(1, n + 1)):
            raise GrowError("the seed's runs are not 1..%d: %s" % (n, seed_runs))
        # Per seed run: where its time starts, and the stretch that puts its spills CYCLE s apart.
        con.execute("CREATE TEMP TABLE span AS SELECT run, min(started) AS t0, "
                    "CASE WHEN count(*) > 1 AND max(started) > min(started) "
                    "THEN %r * (count(*) - 1) / (max(started) - min(started)) ELSE 1.0 END AS stretch, "
                    "count(*) AS spills FROM src.spills GROUP BY run" % CYCLE)
        longest = con.execute("SELECT max(spills) FROM temp.span").fetchone()[0]
        period = longest * CYCLE + RUN_GAP  # start to start of consecutive runs
        end = con.execute("SELECT max(closed_at) FROM src.spills").fetchone()[0]
        base = end - runs * period  # the last run ends about when the seed did
        tables = per_run_tables(con, "src")
        names = {t for t, _, _, _ in tables}
        # the seed's schema, written afresh (no free pages), and its tables that are not per run
        for (pragma,) in (("auto_vacuum",), ("user_version",), ("application_id",)):
            con.execute("PRAGMA main.%s = %d" % (pragma, con.execute("PRAGMA src.%s" % pragma).fetchone()[0]))
        objects = con.execute("SELECT type, name, tbl_name, sql FROM src.sqlite_master WHERE sql IS NOT NULL "
                              "AND name NOT LIKE 'sqlite_%' "
                              "ORDER BY type = 'trigger', type = 'index', rowid").fetchall()
        # indexes and triggers come after the copy (the copied rows already hold what triggers keep)
        later = [sql for kind, _, _, sql in objects if kind != "table"]
        con.execute("BEGIN")
        for kind, name, _, sql in objects:
            if kind == "table":
                con.execute(sql)
                if name not in names and name != "open_spills":  # open-spill markers: none in a copy
                    con.execute("INSERT INTO main.%s SELECT * FROM src.%s" % (name, name))
        con.execute("COMMIT")
        blocks = (runs + n - 1) // n
        per_block = max(1, 200 // n)  # blocks per transaction
        statements = []
        for t, cols, times, rowid in tables:
            keep = [c for c in cols if c != rowid]
            exprs = []
            for c in keep:
                if c == "run":
                    exprs.append("x.run + :shift")
                elif c in times:
                    # onto the time line; a flag set after its run ended stays inside the run's slot
                    exprs.append("CASE WHEN x.%s IS NULL THEN NULL ELSE :base + (x.run - 1 + :shift) * :period + "
                                 "min(max(x.%s - s.t0, 0) * s.stretch, :period - 1) END" % (c, c))
                else:
                    exprs.append("x." + c)
            order = "x.run, x.spill" if "spill" in cols else "x.run"
            statements.append(
                "INSERT INTO main.%s(%s) SELECT %s FROM src.%s x JOIN temp.span s ON s.run = x.run "
                "WHERE x.run <= :last ORDER BY %s%s" % (t, ", ".join(keep), ", ".join(exprs), t, order,
                                                        ", x.%s" % rowid if rowid else ""))
        for b0 in range(0, blocks, per_block):
            con.execute("BEGIN")
            for b in range(b0, min(blocks, b0 + per_block)):
                p = {"shift": b * n, "last": min(n, runs - b * n), "base": base, "period": period}
                for st in statements:
                    con.execute(st, p)
            con.execute("COMMIT")
            done = min(blocks, b0 + per_block) * n
            if blocks > per_block:
                say("    %d of %d runs copied (%.0f s)" % (min(done, runs), runs, time.monotonic() - t0))
        con.execute("BEGIN")
        for sql in later:
            con.execute(sql)
        con.execute("COMMIT")
        # consistency: the totals, and every copied table's rows against what the seed holds
        check_totals(con)
        for t, _, _, _ in tables:
            per = dict(con.execute("SELECT run, count(*) FROM src.%s WHERE run IS NOT NULL GROUP BY run" % t))
            want = sum(per.get(((g - 1) % n) + 1, 0) for g in range(1, runs + 1))
            got = con.execute("SELECT count(*) FROM main.%s WHERE run IS NOT NULL" % t).fetchone()[0]
            if got != want:
                raise GrowError("%s: %d rows copied, %d expected" % (t, got, want))
        spills = con.execute("SELECT count(*) FROM main.spills").fetchone()[0]
        last = con.execute("SELECT max(run) FROM main.runs").fetchone()[0]
        if last != runs:
            raise GrowError("the last run is %s, %d expected" % (last, runs))
        con.execute("DETACH src")
        con.close()
        con = None
        os.rename(tmp, out)
    finally:
        if con is not None:
            con.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {"runs": runs, "spills": spills, "seconds": time.monotonic() - t0, "bytes": os.path.getsize(out),
            "tables": [t for t, _, _, _ in tables]}
