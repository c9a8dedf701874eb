"""Per-run totals kept at commit (run_totals, migration 013): after every kind of change a run's
spills can see (commits of clean and faulty spills, manual flags set, replaced, widened to a range
and removed, a re-evaluation applied that moves the automatic flags) the totals the run list and
the run summary show equal the sums recomputed from the stored spills themselves; a database of
the schema before the totals is carried forward on start and every read answers the same."""
import json
import os
import sqlite3

from harness import ServerTest, main

SRC = os.environ.get("SW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
HDR = {"Content-Type": "application/json"}
FLAGS = ("GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED")


def recomputed(db):
    """{run: (spills, events, mot, good_mot, {flag: n})} from the spills and manual flags."""
    with sqlite3.connect("file:%s?mode=ro" % db, uri=True) as c:
        out = {}
        for run, in c.execute("SELECT run FROM runs"):
            rows = c.execute("SELECT s.events, s.mot, coalesce(m.flag, s.flag) FROM spills s LEFT JOIN manual_flags m "
                             "ON m.run = s.run AND m.spill = s.spill WHERE s.run = ?", (run,)).fetchall()
            flags = {f: sum(1 for r in rows if r[2] == f) for f in FLAGS}
            out[run] = (len(rows), sum(r[0] for r in rows), sum(r[1] or 0 for r in rows),
                        sum(r[1] or 0 for r in rows if r[2] == "GOOD"), flags)
    return out


def timeless(v):
    """An answer without the time it was made (the exports say when they were generated)."""
    if isinstance(v, dict):
        return {k: timeless(x) for k, x in v.items() if k not in ("generated", "generated_iso")}
    if isinstance(v, (list, tuple)):
        return [timeless(x) for x in v]
    return v


class RunTotals(ServerTest):
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

    def test_an_older_database_is_carried_forward(self):
        self.flag(3, "2-3", "EXCLUDED")
        reads = ["/api/v1/runs", "/api/v1/runs?order=recent&limit=1", "/api/v1/runs/3", "/api/v1/runs/4",
                 "/api/v1/runs/3/spills", "/api/v1/runs/3/good-spills", "/api/v1/runs/3/checks",
                 "/api/v1/histograms/p_in?run=3", "/api/v1/trends/mot?run=3"]
        answers = {p: timeless(self.srv.get(p)) for p in reads}
        self.srv.stop()
        # the schema before migration 013: no totals, no triggers, no indexes of it
        with sqlite3.connect(self.srv.db) as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            objs = c.execute("SELECT type, name FROM sqlite_master WHERE sql LIKE '%run_totals%' OR name IN "
                             "('spills_run_closed', 'runs_started', 'spills_started') ORDER BY type = 'table'").fetchall()
            self.assertEqual(sorted(n for t, n in objs if t == "table"), ["run_totals"])
            for t, n in objs:
                c.execute("DROP %s %s" % (t.upper(), n))
            mig = sorted(f for f in os.listdir(os.path.join(SRC, "schema", "migrations")) if f.endswith(".sql"))
            pos = next(i for i, f in enumerate(mig) if f.endswith("_run_totals.sql"))
            self.assertEqual(version, len(mig))
            self.assertEqual(pos, len(mig) - 1, "a migration after run_totals: drop its objects here too")
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
