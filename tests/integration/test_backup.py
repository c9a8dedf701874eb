"""`spillwatch backup DEST`: a consistent copy of the live database while the server runs and the
simulator ingests (docs/design.md §11), and the schema-version guard (a database newer than the binary)."""
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import COLLECT, SERVER, SRC, Server, ServerTest, load_json, main, sqlite_only, write_json


def spills_of(srv, run):
    status, body = srv.get("/api/v1/runs/%d/spills" % run)
    if status != 200:
        return set()
    return {s["spill"] for s in body["spills"]}


@sqlite_only("spillwatch backup copies a SQLite file (PostgreSQL: pg_dump)")
class Backup(ServerTest):
    def backup(self, dest, *extra):
        return subprocess.run([SERVER, "backup", dest, "--config", self.srv.config_path, "--db", self.srv.db]
                              + list(extra), capture_output=True, text=True, timeout=120)

    def test_backup_while_ingesting_holds_every_committed_spill_and_serves_them(self):
        sim = subprocess.Popen([COLLECT, "sim", "--url", self.srv.url, "--quiet", "--run", "7", "--spills", "60",
                                "--scale", "0.05"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 120
            while len(spills_of(self.srv, 7)) < 5 and time.time() < deadline:
                time.sleep(0.05)
            before = spills_of(self.srv, 7)  # committed before the backup starts
            self.assertGreaterEqual(len(before), 5)
            dest = os.path.join(self.tmp, "copy.db")
            p = self.backup(dest)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIsNone(sim.poll(), "the simulator finished before the backup: nothing ran concurrently")
        finally:
            sim.wait(timeout=300)
        self.assertEqual(sim.returncode, 0, sim.stderr.read().decode())
        print(p.stdout.strip())
        self.assertRegex(p.stdout, r"\d+ spills, .* \d+ bytes, integrity ok")
        # No journal or temporary files left next to the copy.
        self.assertEqual(sorted(f for f in os.listdir(self.tmp) if f.startswith("copy")), ["copy.db"])
        con = sqlite3.connect("file:%s?mode=ro" % dest, uri=True)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        copied = {r[0] for r in con.execute("SELECT spill FROM spills WHERE run = 7")}
        hists = {r[0] for r in con.execute("SELECT spill FROM spill_hists WHERE run = 7")}
        con.close()
        self.assertLessEqual(before, copied)
        self.assertEqual(copied, hists)  # one transaction per spill: never a spill without its histograms
        self.assertIn("%d spills" % len(copied), p.stdout)
        # A server started on the copy serves those spills and their histograms.
        srv2 = Server(self.tmp, db=dest).start()
        try:
            self.assertEqual(spills_of(srv2, 7), copied)
            s = min(before)
            status, h = srv2.get("/api/v1/histograms/p_in?run=7&spill=%d" % s)
            self.assertEqual(status, 200, h)
            self.assertEqual(h["spills"], 1)
            self.assertGreater(h["entries"], 0)
        finally:
            self.assertEqual(srv2.stop(), 0)

    def test_backup_refuses_to_overwrite(self):
        self.srv.sim("--run", "3", "--spills", "2", "--scale", "0.05")
        dest = os.path.join(self.tmp, "exists.db")
        with open(dest, "w") as f:
            f.write("precious")
        p = self.backup(dest)
        self.assertEqual(p.returncode, 1)
        self.assertIn("refusing to overwrite", p.stderr)
        with open(dest) as f:
            self.assertEqual(f.read(), "precious")
        self.assertEqual([f for f in os.listdir(self.tmp) if "partial" in f], [])

    def test_backup_from_config_only(self):
        # Without --db the database comes from the config (here: a config whose db is the live one).
        self.srv.sim("--run", "4", "--spills", "3", "--scale", "0.05")
        cfg = os.path.join(self.tmp, "only.json")
        base = load_json(self.srv.config_path)
        base.update(db=self.srv.db, profile=os.path.join(SRC, "config", "na64mu.json"))
        write_json(cfg, base)
        dest = os.path.join(self.tmp, "fromcfg.db")
        p = subprocess.run([SERVER, "backup", dest, "--config", cfg], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("3 spills", p.stdout)


class SchemaVersion(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_database_newer_than_the_server_is_refused(self):
        db = os.path.join(self.tmp, "sw.db")
        srv = Server(self.tmp, db=db).start()
        srv.sim("--spills", "1", "--scale", "0.05")
        self.assertEqual(srv.stop(), 0)
        con = sqlite3.connect(db)
        known = con.execute("PRAGMA user_version").fetchone()[0]
        self.assertGreater(known, 0)
        con.execute("PRAGMA user_version = %d" % (known + 1))
        con.commit()
        con.close()
        srv = Server(self.tmp, db=db)
        with self.assertRaises(RuntimeError) as cm:
            srv.start()
        srv.log.close()
        msg = str(cm.exception)
        self.assertIn("database schema version %d is newer than this server's %d" % (known + 1, known), msg)
        srv.proc.wait(timeout=10)
        self.assertNotEqual(srv.proc.returncode, 0)
        con = sqlite3.connect(db)  # untouched
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], known + 1)
        con.close()


if __name__ == "__main__":
    main()
