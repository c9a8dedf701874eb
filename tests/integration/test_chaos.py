"""The chaos test (issue 14): one replay of a DAQ file through the real collector while, in turn, the
server is killed (SIGKILL) and restarted, paused (SIGSTOP) past the spill timeout, left without disk
(the database's file system filled, then freed), and a second collector is started with the same source
id. It ends with every event the collector got acknowledged counted exactly once, every spill complete,
and `pragma integrity_check` ok. Bounded: every wait has a deadline; the whole test takes about a minute.
The random moments come from a seed printed by the test (SW_CHAOS_SEED sets it, to replay a failure)."""
import os
import random
import sqlite3
import subprocess
import time

from harness import Server, main
from test_collector_file import Collector, Writer, expected, sim_lines
from test_durability_faults import FaultTest, fill, small_fs, wait_health

RUN = 701


class Chaos(FaultTest):
    def test_kill_pause_full_disk_and_a_second_collector_lose_nothing_and_count_nothing_twice(self):
        seed = int(os.environ.get("SW_CHAOS_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        print("chaos seed %d" % seed)
        fs = small_fs(self, "48m")
        db = os.path.join(fs, "sw.db")
        config = {"spill_timeout": 3, "store": {"min_free_mb": 1}}
        self.srv = Server(self.tmp, config=config, db=db).start()
        lines = sim_lines("--run", str(RUN), "--spills", "30", "--scale", "0.15", "--batch", "200",
                          "--seed", str(seed % 1000 + 1))
        want = expected(lines)
        path = os.path.join(self.tmp, "daq.ndjson")
        # The DAQ writes the run over about 25 s; the collector follows the file.
        writer = Writer(path, lines, chunk=max(1, len(lines) // 250), pause=0.1)
        c = Collector(self.tmp, self.srv.url, ["file", path, "--state", os.path.join(self.tmp, "st"), "--source",
                                                "dqm", "--batch", "150", "--flush-ms", "50"])
        c.start()
        writer.start()
        log = []

        def note(what):
            log.append("%.1f s: %s" % (time.time() - t0, what))

        def context():
            return "seed %d\n%s\n%s\n--- server ---\n%s" % (seed, "\n".join(log), c.logs()[-5000:],
                                                            self.srv.read_log()[-4000:])

        t0 = time.time()
        time.sleep(rng.uniform(2, 4))
        # 1. SIGKILL mid-run, restart on the same port: the open spill is resent from its first batch.
        self.srv.kill()
        note("server killed")
        time.sleep(rng.uniform(0.2, 1.5))
        self.srv.start()
        note("server restarted")
        time.sleep(rng.uniform(2, 4))
        # 2. SIGSTOP past the spill timeout: what queued meanwhile is read before any spill times out.
        self.srv.proc.send_signal(19)  # SIGSTOP
        note("server paused")
        time.sleep(config["spill_timeout"] + rng.uniform(1, 3))
        self.srv.proc.send_signal(18)  # SIGCONT
        note("server resumed")
        time.sleep(rng.uniform(2, 4))
        # 3. The disk fills up: ingest is refused with 503 + Retry-After, nothing is lost, and it resumes
        #    by itself once there is room again.
        filler = os.path.join(fs, "filler")
        fill(filler)
        note("disk full")
        status, health = wait_health(self.srv, lambda st, b: st == 503, timeout=20)
        self.assertEqual(status, 503, context())
        note("health: %s" % health.get("reason", health))
        time.sleep(rng.uniform(2, 4))
        os.unlink(filler)
        note("disk freed")
        status, health = wait_health(self.srv, lambda st, b: st == 200, timeout=30)
        self.assertEqual(status, 200, "%s\n%s" % (health, context()))
        # 4. A second collector with the same source id (another DAQ host, another run): refused, it stops
        #    non-zero, and nothing of its run is stored.
        other = os.path.join(self.tmp, "other.ndjson")
        with open(other, "w") as f:
            f.write("".join(sim_lines("--run", str(RUN + 1), "--spills", "3", "--scale", "0.1")))
        c2 = Collector(self.tmp, self.srv.url, ["file", other, "--state", os.path.join(self.tmp, "st2"), "--source",
                                                 "dqm", "--exit-at-eof"]).start()
        self.assertEqual(c2.wait(60), 1, c2.logs())
        self.assertIn("in use by another collector instance", c2.logs())
        note("second collector refused")
        self.assertEqual(self.srv.get("/api/v1/runs/%d" % (RUN + 1))[0], 404, context())

        writer.join(120)
        deadline = time.time() + 120
        got = {}
        while time.time() < deadline:
            st, body = self.srv.get("/api/v1/runs/%d/spills?limit=100000" % RUN)
            got = {(RUN, s["spill"]): (s["events"], s["mot"]) for s in body.get("spills", [])} if st == 200 else {}
            if len(got) >= len(want) and self.srv.get("/api/v1/runs/%d" % RUN)[1].get("ended"):
                break
            time.sleep(0.3)
        self.assertEqual(c.stop(), 0, context())
        self.assertEqual(want, got, context())
        st, spills = self.srv.get("/api/v1/runs/%d/spills?limit=100000" % RUN)
        incomplete = [s["spill"] for s in spills["spills"] if not s["complete"]]
        self.assertEqual(incomplete, [], context())
        st, run = self.srv.get("/api/v1/runs/%d" % RUN)
        self.assertEqual(run["events"], sum(v[0] for v in want.values()), context())
        self.assertNotIn("refused as late", c.logs(), context())
        self.assertEqual(self.srv.stop(), 0)
        self.srv = None
        with sqlite3.connect(db) as conn:
            self.assertEqual(conn.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            n = conn.execute("SELECT count(*), sum(events) FROM spills WHERE run = ?", (RUN,)).fetchone()
        self.assertEqual(n, (len(want), sum(v[0] for v in want.values())))
        print("\n".join(log))


if __name__ == "__main__":
    main()
