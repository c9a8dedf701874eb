"""`spillwatch migrate --from FILE.db --to postgresql://...` (docs/deployment.md, "From SQLite to
PostgreSQL"), on a real PostgreSQL 15 (pgcluster.py): a SQLite database with runs, faults, manual
flags, notes, a silence, alarm episodes and their deliveries is copied; a server started on the
PostgreSQL copy answers every read exactly as a restarted server on the SQLite file does, the run
totals the copy's triggers built equal the sums recomputed from its spills, and the copy goes on
(new flags and spills get ids after the copied ones). A target that is not empty, unreachable or not
a URI, a missing source and a wrong command line are refused with the reason, and nothing is written."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from harness import SERVER, Server, main, pg_required, sql, stop_checked
from test_alarms import TRIGGER_RULE, Receiver, profile_with
from test_run_totals import NOT_COMPARED, READS, recomputed, timeless

HDR = {"Content-Type": "application/json"}
TABLES_COUNTED = ("runs", "spills", "checks", "manual_flags", "audit", "handover_notes", "alarm_events",
                  "alarm_deliveries", "silences", "sources", "spill_hists", "run_hists", "run_hist_sums", "run_totals")


def migrate(*args):
    return subprocess.run([SERVER, "migrate"] + list(args), capture_output=True, text=True, timeout=300)


def counts(db):
    return {t: sql(db, "SELECT count(*) FROM %s" % t)[0][0] for t in TABLES_COUNTED}


@pg_required()
class Migrate(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        import pgcluster
        self.pg = pgcluster.cluster()
        self.tmp = tempfile.mkdtemp(prefix="swmigrate-")
        self.rx = Receiver()
        self.servers = []

    def tearDown(self):
        stop_checked(self, self.servers)
        self.rx.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, name, db):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        hooks = [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/hook" % self.rx.port,
                  "timeout": 5}]
        s = Server(d, config={"profile": profile_with(d, hooks, [TRIGGER_RULE])}, db=db)
        self.servers.append(s)
        return s.start()

    def fill(self, s):
        s.sim("--run", "3", "--spills", "8", "--fast", "--seed", "4", "--scale", "0.2", "--fault",
              "beam_momentum@3-4", "--fault", "hcal_dead@6", "--fault", "trigger_low@2-4")
        s.sim("--run", "4", "--spills", "5", "--fast", "--seed", "5", "--scale", "0.2")
        for run, spills, flag in ((3, "2", "BAD"), (3, "5-6", "EXCLUDED"), (4, "1", "GOOD")):
            st, raw, _ = s.request("PUT", "/api/v1/runs/%d/spills/%s/flag" % (run, spills),
                                   json.dumps({"flag": flag, "reason": "shift crew check", "comment": "é ü"}), HDR)
            self.assertEqual(st, 200, raw)
        note = {"shifter": "A. Physicist", "text": "HCAL module 2 'dead' \\ \"n\""}
        st, raw, _ = s.request("POST", "/api/v1/shift/notes", json.dumps(note), HDR)
        self.assertEqual(st, 201, raw)
        st, raw, _ = s.request("POST", "/api/v1/silences", json.dumps({"alarm": "trigger_rate_per_mot",
                                                                       "duration": 600, "comment": "study"}), HDR)
        self.assertEqual(st, 201, raw)

    def answers(self, s):
        reads = [p for ps in READS.values() for p in ps]
        out = {p: timeless(s.get(p)) for p in reads}
        for p, (st, _) in out.items():
            self.assertEqual(st, 200, p)
        return out

    def test_the_copy_answers_every_read_the_same_and_goes_on(self):
        path = os.path.join(self.tmp, "sw.db")
        a = self.server("sqlite", path)
        self.fill(a)
        routes = {r["path"] for r in a.get("/api/v1/")[1]["routes"] if r["method"] == "GET"}
        self.assertEqual(sorted(routes - NOT_COMPARED), sorted(READS), "a GET route without reads to compare here")
        a.stop()
        a.start()  # the reference: a restarted server on the file (the alarm states re-derived)
        want = self.answers(a)
        a.stop()
        before = counts(path)
        self.assertGreater(before["alarm_events"], 0)
        self.assertGreater(before["alarm_deliveries"], 0)

        uri = self.pg.new_database()
        r = migrate("--from", path, "--to", uri)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"migrate: spills +13 rows")
        self.assertRegex(r.stdout, r"2 runs, 13 spills, every table's rows and the run totals checked")
        self.assertEqual(counts(uri), before)
        self.assertEqual(recomputed(uri), recomputed(path))

        b = self.server("pg", uri)
        got = self.answers(b)
        for p in want:
            self.assertEqual(got[p], want[p], p)

        # the copy goes on: its identities continue after the copied rows
        top = sql(uri, "SELECT max(id) FROM audit")[0][0]
        st, raw, _ = b.request("PUT", "/api/v1/runs/4/spills/2/flag",
                               json.dumps({"flag": "BAD", "reason": "other", "comment": "after the move"}), HDR)
        self.assertEqual(st, 200, raw)
        self.assertGreater(sql(uri, "SELECT max(id) FROM audit")[0][0], top)
        note = {"shifter": "B. Analyst", "text": "moved to PostgreSQL"}
        st, raw, _ = b.request("POST", "/api/v1/shift/notes", json.dumps(note), HDR)
        self.assertEqual(st, 201, raw)
        b.sim("--run", "5", "--spills", "3", "--fast", "--seed", "6", "--scale", "0.2")
        st, run = b.get("/api/v1/runs/5")
        self.assertEqual((st, run["spills"]), (200, 3))
        spills, events, mot, good_mot, flags = recomputed(uri)[5]
        self.assertEqual((run["spills"], run["events"], run["mot"], run["good_mot"], run["flags"]),
                         (spills, events, mot, good_mot, flags))
        self.assertEqual(len(b.get("/api/v1/shift/notes")[1]["notes"]), 2)

    def test_refusals_write_nothing(self):
        path = os.path.join(self.tmp, "sw.db")
        a = self.server("sqlite", path)
        a.sim("--run", "7", "--spills", "2", "--fast", "--scale", "0.1")
        a.stop()
        uri = self.pg.new_database()
        self.assertEqual(migrate("--from", path, "--to", uri).returncode, 0)
        copied = counts(uri)
        # into a database that already holds data
        r = migrate("--from", path, "--to", uri)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the target is not empty", r.stderr)
        self.assertIn("no data was written to the target", r.stderr)
        self.assertEqual(counts(uri), copied)
        # an unreachable server, with its password not shown
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        r = migrate("--from", path, "--to", "postgresql://sw:hunter2@127.0.0.1:%d/nowhere" % port)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot connect to PostgreSQL at", r.stderr)
        self.assertIn("127.0.0.1:%d" % port, r.stderr)
        self.assertNotIn("hunter2", r.stderr)
        # a source that does not exist is not created
        missing = os.path.join(self.tmp, "none.db")
        r = migrate("--from", missing, "--to", self.pg.new_database())
        self.assertEqual(r.returncode, 1)
        self.assertIn(missing, r.stderr)
        self.assertFalse(os.path.exists(missing))
        # a path as the target, a URI as the source
        r = migrate("--from", path, "--to", os.path.join(self.tmp, "copy.db"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("--to a postgresql:// URI", r.stderr.replace("and --to", "--to"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "copy.db")))
        # the command line
        for args in ((), ("--from", path), ("--to", uri), ("--from", path, "--to", uri, "extra"), ("--bogus",)):
            r = migrate(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("usage: spillwatch migrate", r.stderr)


if __name__ == "__main__":
    main()
