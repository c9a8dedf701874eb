"""Run histograms summed at commit (run_hist_sums, migration 014): after every kind of change that
moves a spill's contribution (commits of clean and faulty spills, manual flags moving spills in and
out of GOOD, a re-evaluation applied that changes the automatic flags, retention pruning, a
restart, more spills after it, a profile reload that changes a binning mid-run) every run-scope histogram read (?run=R, &quality=good, format=root,
the ROOT bundle) answers exactly what summing the run's stored snapshots answers, and its counts
are the sums of the per-spill histograms' counts; a database of schema 13 is carried forward (the
runs' sums built in the background, reads exact meanwhile)."""
import json
import os
import re
import sqlite3
import tempfile
import time

from harness import SRC, Server, ServerTest, load_json, main, sql, sqlite_only, write_json

HDR = {"Content-Type": "application/json"}
RUNS = (3, 4)
PRUNE = {"retention": {"spill_histograms_days": 0, "interval": 0.2, "chunk": 3}}


def reads(run):
    return ["/api/v1/histograms/p_in?run=%d" % run, "/api/v1/histograms/p_in?run=%d&quality=good" % run,
            "/api/v1/histograms/xy_tgt?run=%d" % run, "/api/v1/histograms/xy_tgt?run=%d&quality=good" % run,
            "/api/v1/histograms/hcal_occ?run=%d&quality=all" % run,
            "/api/v1/histograms/p_in?run=%d&format=root" % run,
            "/api/v1/histograms?run=%d&format=root" % run, "/api/v1/histograms?run=%d&quality=good&format=root" % run]


class Sums(ServerTest):
    """The reads and their oracle (summing the snapshots), shared by the tests below."""
    maxDiff = None

    def sql(self, q, args=()):
        return sql(self.srv.db, q, args)

    def bump(self):
        """A write of its own (a handover note): a new store generation, so no cached answer of
        an earlier one is served."""
        st, raw, _ = self.srv.request("POST", "/api/v1/shift/notes",
                                      json.dumps({"shifter": "test", "text": "generation"}), HDR)
        self.assertEqual(st, 201, raw)

    def answers(self, runs=RUNS):
        out = {}
        for run in runs:
            for p in reads(run):
                st, body = self.srv.get(p)
                self.assertEqual(st, 200, (p, body))
                out[p] = body
        return out

    def summed(self, runs=RUNS):
        """The same reads answered by summing the stored snapshots (the run listed stale, as a
        database carried forward is until its sums are built), then the run's sums back."""
        for run in runs:
            self.sql("INSERT INTO run_hist_stale(run) VALUES(?)", (run,))
        self.bump()
        out = self.answers(runs)
        for run in runs:
            self.sql("DELETE FROM run_hist_stale WHERE run = ?", (run,))
        self.bump()
        return out

    def flag(self, run, spills, flag):
        body = {"flag": flag, "reason": "shift crew check", "comment": "test"} if flag else {"flag": None}
        st, raw, _ = self.srv.request("PUT", "/api/v1/runs/%d/spills/%s/flag" % (run, spills), json.dumps(body), HDR)
        self.assertEqual(st, 200, raw)

    def per_spill_counts(self, run, good):
        """Counts of p_in summed over the run's per-spill histograms (GOOD spills only when good)."""
        spills = self.srv.get("/api/v1/runs/%d/spills" % run)[1]["spills"]
        total, n = None, 0
        for s in spills:
            if good and s["flag"] != "GOOD":
                continue
            st, h = self.srv.get("/api/v1/histograms/p_in?run=%d&spill=%d" % (run, s["spill"]))
            self.assertEqual(st, 200)
            c = h["counts"] + [h["underflow"], h["overflow"], h["entries"]]
            total = c if total is None else [a + b for a, b in zip(total, c)]
            n += 1
        return n, total

    def assert_sums(self, what, runs=RUNS, per_spill=True):
        for run in runs:
            self.assertEqual(self.sql("SELECT count(*) FROM run_hist_stale WHERE run = ?", (run,))[0][0], 0, what)
            self.assertEqual(self.sql("SELECT count(*) FROM run_hist_moves")[0][0], 0, what)
        got = self.answers(runs)
        want = self.summed(runs)
        for p in want:
            self.assertEqual(got[p], want[p], (what, p))
        for run in runs:
            if not per_spill:
                continue
            for good in (0, 1):
                n, counts = self.per_spill_counts(run, good)
                h = got["/api/v1/histograms/p_in?run=%d%s" % (run, "&quality=good" if good else "")]
                self.assertEqual(h["spills"], n, (what, run, good))
                if n:
                    self.assertEqual(h["counts"] + [h["underflow"], h["overflow"], h["entries"]], counts,
                                     (what, run, good))
        return got



class RunHistSums(Sums):
    def setUp(self):
        super().setUp()
        self.srv.sim("--run", "3", "--spills", "8", "--fast", "--seed", "4", "--scale", "0.2",
                     "--fault", "beam_momentum@3-4", "--fault", "hcal_dead@6")
        self.srv.sim("--run", "4", "--spills", "5", "--fast", "--seed", "5", "--scale", "0.2")

    def test_sums_follow_every_change(self):
        first = self.assert_sums("after the commits")
        self.assertEqual(sorted(r for r, in self.sql("SELECT DISTINCT run FROM run_hist_sums")), list(RUNS))
        good3 = first["/api/v1/histograms/p_in?run=3&quality=good"]
        self.assertTrue(0 < good3["spills"] < 8, good3["spills"])  # the faults made non-GOOD spills
        flags = {s["spill"]: s["flag"] for s in self.srv.get("/api/v1/runs/3/spills")[1]["spills"]}
        bad = next(n for n, f in flags.items() if f != "GOOD")
        goodspill = next(n for n, f in flags.items() if f == "GOOD")
        self.flag(3, str(bad), "GOOD")
        got = self.assert_sums("a manual flag moves a spill into GOOD")
        self.assertEqual(got["/api/v1/histograms/p_in?run=3&quality=good"]["spills"], good3["spills"] + 1)
        self.flag(3, str(goodspill), "BAD")
        self.assert_sums("a manual flag moves a spill out of GOOD")
        self.flag(3, "1", "BAD")
        self.flag(3, "8", "WARN")
        got = self.assert_sums("the first and the last spill out of GOOD")
        r = got["/api/v1/histograms/p_in?run=3&quality=good"]["spill_range"]
        self.assertTrue(r is None or (r[0] > 1 and r[1] < 8), r)  # the edges recomputed
        self.flag(3, "1-5", "EXCLUDED")
        self.assert_sums("a range, over spills already flagged")
        self.flag(3, "2", None)
        self.flag(3, "8", None)
        self.assert_sums("manual flags removed")
        self.flag(3, "1-5", None)
        self.flag(3, str(goodspill), None)
        self.flag(3, str(bad), None)
        again = self.assert_sums("every manual flag removed")
        for p in reads(3):
            self.assertEqual(again[p], first[p], p)  # the same doubles as before the moves
        # a re-evaluation under which every spill is too short moves the unflagged spills to BAD
        self.flag(3, "2", "GOOD")
        with open(os.path.join(SRC, "config", "na64mu.json")) as f:
            prof = json.load(f)
        for c in prof["checks"]:
            if c["name"] == "spill_length":
                c["physical"] = {"good": [100, 200], "warn": [50, 250]}
        st, raw, _ = self.srv.request("POST", "/api/v1/runs/3/reevaluate", json.dumps(prof), HDR)
        self.assertEqual(st, 200, raw)
        got = self.assert_sums("a re-evaluation applied")
        self.assertEqual(got["/api/v1/histograms/p_in?run=3&quality=good"]["spills"], 1)
        self.assertEqual(got["/api/v1/histograms/p_in?run=3&quality=good"]["spill_range"], [2, 2])
        # kept across a restart, and new spills of the run add to them
        self.srv.stop()
        self.srv.start()
        self.assert_sums("after a restart")
        self.srv.sim("--run", "3", "--first-spill", "9", "--spills", "2", "--fast", "--seed", "6", "--scale", "0.2")
        self.assert_sums("after a restart and two more spills")

    def test_retention_pruning(self):
        self.flag(4, "2", "BAD")
        before = self.assert_sums("before pruning")
        self.assertEqual(self.srv.stop(), 0)
        self.srv = Server(self.tmp, config=PRUNE, db=self.srv.db).start()
        deadline = time.time() + 60
        while self.sql("SELECT count(*) FROM spill_hists")[0][0] and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.sql("SELECT count(*) FROM spill_hists")[0][0], 0)
        self.assertEqual(self.sql("SELECT count(*) FROM run_hist_sums")[0][0], 0)  # every spill moved out
        self.bump()
        got = self.assert_sums("after pruning", per_spill=False)
        for run in RUNS:
            for q in ("", "&quality=good"):
                p = "/api/v1/histograms/p_in?run=%d%s" % (run, q)
                self.assertEqual(got[p]["from_run_sums"], before[p]["spills"], p)
                for k in ("counts", "underflow", "overflow", "entries", "mean", "rms", "spills"):
                    self.assertEqual(got[p][k], before[p][k], (p, k))
        # a flag on a pruned spill moves nothing (its snapshot is gone), in both answers
        self.flag(4, "2", None)
        self.assert_sums("a flag removed from a pruned spill", per_spill=False)
        # a new spill of the run, pruned at once: its sums move to run_hists
        self.srv.sim("--run", "4", "--first-spill", "6", "--spills", "1", "--fast", "--seed", "7", "--scale", "0.2")
        while self.sql("SELECT count(*) FROM spill_hists")[0][0] and time.time() < deadline:
            time.sleep(0.1)
        self.bump()
        self.assert_sums("a new spill pruned", per_spill=False)

    @sqlite_only("the SQLite schema is taken back to version 13 and carried forward")
    def test_a_database_of_schema_13_is_carried_forward(self):
        self.flag(3, "2-3", "EXCLUDED")
        self.srv.stop()
        self.srv.start()
        want = self.answers()
        self.srv.stop()
        with sqlite3.connect(self.srv.db) as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            mig = sorted(f for f in os.listdir(os.path.join(SRC, "schema", "migrations")) if f.endswith(".sql"))
            pos = mig.index("014_run_hist_sums.sql")
            self.assertEqual(version, len(mig))
            # the objects of the migrations after 014 (each only creates objects: undone by dropping them)
            for f in mig[pos + 1:]:
                sql = re.sub(r"--[^\n]*", "", open(os.path.join(SRC, "schema", "migrations", f)).read())
                self.assertNotRegex(sql, r"(?i)\b(ALTER|DROP)\b", "%s changes existing objects: undo it here" % f)
                for t, n in re.findall(r"(?i)CREATE\s+(?:UNIQUE\s+)?(TABLE|INDEX|TRIGGER|VIEW)\s+"
                                       r"(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", sql):
                    c.execute("DROP %s IF EXISTS %s" % (t.upper(), n))
            objs = c.execute("SELECT type, name FROM sqlite_master WHERE name GLOB 'run_hist_*' OR "
                             "name GLOB 'run_hists_*' ORDER BY type = 'table'").fetchall()
            self.assertEqual(sorted(n for t, n in objs if t == "table"),
                             ["run_hist_moves", "run_hist_stale", "run_hist_sums"])
            self.assertEqual(len([n for t, n in objs if t == "trigger"]), 7)
            for t, n in objs:
                c.execute("DROP %s %s" % (t.upper(), n))
            c.execute("PRAGMA user_version = %d" % pos)
        self.srv.start()
        # read at once: the runs are listed stale until the writer built their sums
        for p, body in self.answers().items():
            self.assertEqual(body, want[p], p)
        deadline = time.time() + 30
        while self.sql("SELECT count(*) FROM run_hist_stale")[0][0] and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.sql("SELECT count(*) FROM run_hist_stale")[0][0], 0, self.srv.read_log()[-2000:])
        self.bump()
        got = self.assert_sums("after the carry-forward")
        for p in want:
            self.assertEqual(got[p], want[p], p)
        self.flag(3, "2", None)
        self.assert_sums("a change after the carry-forward")



class BinningChange(Sums):
    """A profile reload that changes a histogram's binning mid-run: the run's snapshots of each
    binning sum apart, and a read skips exactly the spills whose binning differs from the profile
    in force, as summing them does."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.profile_path = os.path.join(self.tmp, "profile.json")
        self.write_profile("bins-1", 120)
        self.srv = Server(self.tmp, config={"profile": self.profile_path}).start()

    def write_profile(self, version, bins):
        prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
        prof["version"] = version
        next(h for h in prof["histograms"] if h["name"] == "p_in")["x"]["bins"] = bins
        write_json(self.profile_path, prof)

    def reload(self, version, bins):
        self.write_profile(version, bins)
        st, raw, _ = self.srv.request("POST", "/api/v1/admin/reload", b"", HDR)
        self.assertEqual(st, 200, raw)

    def test_a_binning_change_mid_run(self):
        self.srv.sim("--run", "5", "--spills", "4", "--fast", "--seed", "8", "--scale", "0.2")
        self.reload("bins-2", 60)
        self.srv.sim("--run", "5", "--first-spill", "5", "--spills", "4", "--fast", "--seed", "9", "--scale", "0.2")
        self.assertEqual(self.sql("SELECT count(DISTINCT layout) FROM run_hist_sums WHERE run = 5")[0][0], 2)
        got = self.assert_sums("two binnings of p_in in one run", runs=(5,), per_spill=False)
        p = got["/api/v1/histograms/p_in?run=5"]
        self.assertEqual((p["spills"], p["skipped"], p["spill_range"]), (4, 4, [5, 8]))
        self.assertEqual(got["/api/v1/histograms/hcal_occ?run=5&quality=all"]["spills"], 8)
        self.flag(5, "2", "BAD")
        self.flag(5, "6", "BAD")
        self.assert_sums("a spill of each binning out of GOOD", runs=(5,), per_spill=False)
        self.reload("bins-3", 120)  # back to the first binning: its spills count again
        got = self.assert_sums("the first binning again", runs=(5,), per_spill=False)
        p = got["/api/v1/histograms/p_in?run=5"]
        self.assertEqual((p["spills"], p["skipped"], p["spill_range"]), (4, 4, [1, 4]))


if __name__ == "__main__":
    main()
