"""Per-run totals kept at commit (run_totals, migration 013): after every kind of change a run's
spills can see (commits of clean and faulty spills, manual flags set, replaced, widened to a range
and removed, a re-evaluation applied that moves the automatic flags) the totals the run list and
the run summary show equal the sums recomputed from the stored spills themselves; a database of
the schema before the totals is carried forward on start and every read answers the same."""
import json
import os
import re
import sqlite3

from harness import ServerTest, main, sql, sqlite_only

SRC = os.environ.get("SW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
HDR = {"Content-Type": "application/json"}
FLAGS = ("GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED")


def recomputed(db):
    """{run: (spills, events, mot, good_mot, {flag: n})} from the spills and manual flags."""
    out = {}
    for run, in sql(db, "SELECT run FROM runs"):
        rows = sql(db, "SELECT s.events, s.mot, coalesce(m.flag, s.flag) FROM spills s LEFT JOIN manual_flags m "
                       "ON m.run = s.run AND m.spill = s.spill WHERE s.run = ?", (run,))
        flags = {f: sum(1 for r in rows if r[2] == f) for f in FLAGS}
        out[run] = (len(rows), sum(r[0] for r in rows), sum(r[1] or 0 for r in rows),
                    sum(r[1] or 0 for r in rows if r[2] == "GOOD"), flags)
    return out


# Keys whose value is the time an answer was made, or the server process's own state (a restart
# resets them): left out when a read before the migration is compared with the same read after it.
VOLATILE = {"generated", "generated_iso", "now", "uptime_s", "started_at"}

# Every GET route the server lists (GET /api/v1/), as the concrete reads compared across the
# migration. Routes left out, and why: the event stream (a stream, not an answer), a collector's
# sequence state (the process's own), /metrics and /health (process counters and uptime).
NOT_COMPARED = {"/api/v1/stream", "/api/v1/sources/{source}", "/metrics", "/api/v1/health"}
READS = {
    "/api/v1": ["/api/v1"],
    "/api/v1/display": ["/api/v1/display"],
    "/api/v1/runs": ["/api/v1/runs", "/api/v1/runs?order=recent&limit=1", "/api/v1/runs?before=4&limit=1"],
    "/api/v1/runs/{run}": ["/api/v1/runs/3", "/api/v1/runs/4"],
    "/api/v1/runs/{run}/good-spills": ["/api/v1/runs/3/good-spills", "/api/v1/runs/3/good-spills?format=csv",
                                       "/api/v1/runs/3/good-spills?format=ranges"],
    "/api/v1/good-spills": ["/api/v1/good-spills?runs=3-4&provisional=1"],
    "/api/v1/runs/{run}/spills": ["/api/v1/runs/3/spills", "/api/v1/runs/3/spills?flag=BAD",
                                  "/api/v1/runs/3/spills?category=detector", "/api/v1/runs/3/spills?after=2&limit=3"],
    "/api/v1/runs/{run}/daq": ["/api/v1/runs/3/daq"],
    "/api/v1/runs/{run}/checks": ["/api/v1/runs/3/checks"],
    "/api/v1/checks": ["/api/v1/checks"],
    "/api/v1/runs/{run}/spills/{spill}": ["/api/v1/runs/3/spills/3", "/api/v1/runs/4/spills/5"],
    "/api/v1/shift/notes": ["/api/v1/shift/notes"],
    "/api/v1/alarms": ["/api/v1/alarms", "/api/v1/alarms?history=1"],
    "/api/v1/alarms/stats": ["/api/v1/alarms/stats?until=1e10", "/api/v1/alarms/stats?runs=3-4"],
    "/api/v1/alarms/{alarm}/deliveries": ["/api/v1/alarms/trigger_rate_per_mot/deliveries"],
    "/api/v1/silences": ["/api/v1/silences"],
    "/api/v1/audit": ["/api/v1/audit", "/api/v1/audit?run=3"],
    "/api/v1/histograms": ["/api/v1/histograms", "/api/v1/histograms?run=3&format=root"],
    "/api/v1/histograms/{histogram}": ["/api/v1/histograms/p_in?run=3", "/api/v1/histograms/p_in?run=3&quality=good",
                                       "/api/v1/histograms/xy_tgt?run=4&format=root",
                                       "/api/v1/histograms/p_in?run=3&spill=2", "/api/v1/histograms/p_in?last=4"],
    "/api/v1/trends/{quantity}": ["/api/v1/trends/mot?run=3", "/api/v1/trends/check.p_in_mean?run=3",
                                  "/api/v1/trends/mot?from=0&to=1e10"],
}


def timeless(v):
    """An answer without the time it was made or the process's own state (VOLATILE; and the
    "since" of an alarm rule at rest, which is the process's start when the rule never fired)."""
    if isinstance(v, dict):
        rest = v.get("state") == "inactive"
        return {k: timeless(x) for k, x in v.items() if k not in VOLATILE and not (rest and k == "since")}
    if isinstance(v, (list, tuple)):
        return [timeless(x) for x in v]
    if isinstance(v, str) and v.startswith("# spillwatch"):  # a CSV export: its generated line
        return "\n".join(l for l in v.split("\n") if not l.startswith("# generated"))
    return v


class RunTotals(ServerTest):
    maxDiff = None
    def setUp(self):
        super().setUp()
        self.srv.sim("--run", "3", "--spills", "8", "--fast", "--seed", "4", "--scale", "0.2",
                     "--fault", "beam_momentum@3-4", "--fault", "hcal_dead@6")
        self.srv.sim("--run", "4", "--spills", "5", "--fast", "--seed", "5", "--scale", "0.2")

    def flag(self, run, spills, flag):
        body = {"flag": flag, "reason": "shift crew check", "comment": "test"} if flag else {"flag": None}
        st, raw, _ = self.srv.request("PUT", "/api/v1/runs/%d/spills/%s/flag" % (run, spills), json.dumps(body), HDR)
        self.assertEqual(st, 200, raw)

    def assert_totals(self, what):
        want = recomputed(self.srv.db)
        listed = {r["run"]: r for r in self.srv.get("/api/v1/runs?limit=1000")[1]["runs"]}
        self.assertEqual(sorted(listed), sorted(want), what)
        for run, (spills, events, mot, good_mot, flags) in want.items():
            for r in (listed[run], self.srv.get("/api/v1/runs/%d" % run)[1]):
                self.assertEqual((r["spills"], r["events"], r["mot"], r["good_mot"], r["flags"]),
                                 (spills, events, mot, good_mot, flags), (what, run))

    def test_totals_follow_every_change(self):
        self.assert_totals("after the commits")
        self.flag(3, "2", "BAD")
        self.assert_totals("a manual flag")
        self.flag(3, "2", "GOOD")
        self.assert_totals("the manual flag replaced")
        self.flag(3, "1-5", "EXCLUDED")
        self.assert_totals("a range, over a spill already flagged")
        self.flag(3, "2", None)
        self.assert_totals("one manual flag removed")
        self.flag(3, "3-4", None)
        self.assert_totals("two removed")
        # a re-evaluation with a profile under which every spill is too short moves the automatic
        # flags of the unflagged spills to BAD; spills 1 and 5 keep their manual EXCLUDED
        with open(os.path.join(SRC, "config", "na64mu.json")) as f:
            prof = json.load(f)
        for c in prof["checks"]:
            if c["name"] == "spill_length":
                c["physical"] = {"good": [100, 200], "warn": [50, 250]}
        before = {s["spill"]: s["flag"] for s in self.srv.get("/api/v1/runs/3/spills")[1]["spills"]}
        st, raw, _ = self.srv.request("POST", "/api/v1/runs/3/reevaluate", json.dumps(prof), HDR)
        self.assertEqual(st, 200, raw)
        after = {s["spill"]: s["flag"] for s in self.srv.get("/api/v1/runs/3/spills")[1]["spills"]}
        self.assertEqual((after[1], after[5]), ("EXCLUDED", "EXCLUDED"))
        self.assertTrue(all(after[n] == "BAD" for n in after if n not in (1, 5)), after)
        self.assertNotEqual(before, after)
        self.assert_totals("a re-evaluation applied")
        self.flag(3, "1", None)
        self.assert_totals("a manual flag removed after the re-evaluation")
        # kept across a restart, and new spills of the run add to it
        self.srv.stop()
        self.srv.start()
        self.srv.sim("--run", "3", "--first-spill", "9", "--spills", "2", "--fast", "--seed", "6", "--scale", "0.2")
        self.assert_totals("after a restart and two more spills")

    @sqlite_only("the SQLite schema is taken back to version 12 and carried forward")
    def test_an_older_database_is_carried_forward(self):
        self.flag(3, "2-3", "EXCLUDED")
        routes = {r["path"] for r in self.srv.get("/api/v1/")[1]["routes"] if r["method"] == "GET"}
        self.assertEqual(sorted(routes - NOT_COMPARED), sorted(READS), "a GET route without reads to compare here")
        reads = [p for ps in READS.values() for p in ps]
        # The answers of a plain restart are the reference: a restart alone re-derives the live
        # alarm states, so only the migration's own effect is compared.
        self.srv.stop()
        self.srv.start()
        answers = {p: timeless(self.srv.get(p)) for p in reads}
        for p, (st, _) in answers.items():
            self.assertEqual(st, 200, p)
        self.srv.stop()
        # the schema before migration 013: no totals, no triggers, no indexes of it, nor any object
        # of a later migration (dropping them undoes a migration that adds tables, indexes and
        # triggers and fills its own tables; one that alters an older table must be undone here)
        mig = sorted(f for f in os.listdir(os.path.join(SRC, "schema", "migrations")) if f.endswith(".sql"))
        pos = next(i for i, f in enumerate(mig) if f.endswith("_run_totals.sql"))
        later = []
        for f in mig[pos + 1:]:
            sql = re.sub(r"--[^\n]*", "", open(os.path.join(SRC, "schema", "migrations", f)).read())
            self.assertNotRegex(sql, r"(?i)\b(ALTER|DROP)\b",
                                "%s changes existing objects: undo it here by hand" % f)
            later += re.findall(r"(?i)CREATE\s+(?:UNIQUE\s+)?(TABLE|INDEX|TRIGGER|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", sql)
        with sqlite3.connect(self.srv.db) as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            objs = c.execute("SELECT type, name FROM sqlite_master WHERE sql LIKE '%run_totals%' OR name IN "
                             "('spills_run_closed', 'runs_started', 'spills_started') ORDER BY type = 'table'").fetchall()
            self.assertEqual(sorted(n for t, n in objs if t == "table"), ["run_totals"])
            for t, n in [(t.lower(), n) for t, n in later] + objs:
                c.execute("DROP %s IF EXISTS %s" % (t.upper(), n))
            self.assertEqual(version, len(mig))
            c.execute("PRAGMA user_version = %d" % pos)
        self.srv.start()
        with sqlite3.connect(self.srv.db) as c:
            self.assertEqual(c.execute("PRAGMA user_version").fetchone()[0], len(mig))
        for p in reads:
            self.assertEqual(timeless(self.srv.get(p)), answers[p], p)
        self.assert_totals("after the migration")
        self.flag(3, "2", None)
        self.assert_totals("a change after the migration")


if __name__ == "__main__":
    main()
