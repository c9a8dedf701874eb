"""Several servers on one real PostgreSQL 15 (pgcluster.py; docs/deployment.md, "Several servers"):
the advisory lock makes exactly one active; the standby serves reads and the stream and answers
ingest and human writes with 503 naming the active server; the collector, given both URLs, follows a
growing file; the active server is killed with SIGKILL halfway; the standby takes over within
seconds, reopens the open spills as a restarted server does, and the collector resends from the
committed watermark. At the end every spill and event is stored exactly once in PostgreSQL, a stream
on the standby saw the spill events of both servers, and the alarm's hooks were notified once."""
import json
import os
import shutil
import tempfile
import time
import unittest

from harness import Server, free_port, main, pg_required, stop_checked
from test_alarms import Receiver, profile_with
from test_collector_file import Collector, Writer, expected, sim_lines
from test_stream import Stream

RUN = 1901
BAD_RULE = {"name": "bad_spills", "severity": "critical", "summary": "bad spills", "flag": "BAD",
            "above": 0.5, "for": 2, "hooks": ["shift"]}


@pg_required()
class Cluster(unittest.TestCase):

    def setUp(self):
        import pgcluster
        self.pg = pgcluster.cluster()
        self.uri = self.pg.new_database()
        self.tmp = tempfile.mkdtemp(prefix="swcluster-")
        self.rx = Receiver()
        self.servers, self.collectors, self.streams = [], [], []

    def tearDown(self):
        for s in self.streams:
            s.close()
        for c in self.collectors:
            if c.proc and c.proc.poll() is None:
                c.kill()
        stop_checked(self, self.servers)
        self.rx.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, name, **config):
        port = free_port()
        hooks = [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/hook" % self.rx.port,
                  "timeout": 5}]
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        cfg = {"profile": profile_with(d, hooks, [BAD_RULE]), "spill_timeout": 600, "stream_heartbeat": 1,
               "cluster": {"advertise": "http://127.0.0.1:%d" % port, "poll": 0.2}}
        cfg.update(config)
        s = Server(d, config=cfg, db=self.uri)
        s.port = port
        self.servers.append(s)
        return s.start()

    def health(self, s):
        st, h = s.get("/api/v1/health")
        return h

    def wait_role(self, s, role, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.health(s).get("role") == role:
                    return time.time()
            except OSError:
                pass
            time.sleep(0.05)
        self.fail("%s never became %s; log:\n%s" % (s.url, role, s.read_log()[-3000:]))

    def stored(self):
        rows = self.pg.query(self.uri, "SELECT spill, events, mot FROM spills WHERE run = %d ORDER BY spill" % RUN)
        return {(RUN, int(r[0])): (int(r[1]), float(r[2]) if r[2] else None) for r in rows}

    def test_standby_refuses_writes_and_names_the_active_server(self):
        a = self.server("a")
        self.wait_role(a, "active")
        b = self.server("b")
        self.assertEqual(self.health(b)["role"], "standby")
        self.assertEqual(self.health(b)["active"], a.url.replace("localhost", "127.0.0.1"))
        self.assertEqual(self.health(a)["active"], a.url)
        st, raw, headers = b.request("POST", "/api/v1/ingest", '{"type":"run_start","run":1}\n',
                                     {"Content-Type": "application/x-ndjson"})
        body = json.loads(raw)
        self.assertEqual(st, 503)
        self.assertEqual(headers.get("Retry-After"), "1")
        self.assertEqual(body["role"], "standby")
        self.assertEqual(body["active"], a.url)
        self.assertIn(a.url, body["error"])
        st, raw, _ = b.request("POST", "/api/v1/shift/notes", json.dumps({"text": "hello"}),
                               {"Content-Type": "application/json"})
        self.assertEqual((st, json.loads(raw)["role"]), (503, "standby"))
        # a viewer on the standby: the live counters of a spill open on the active server, relayed,
        # and the standby's own heartbeats
        watch = Stream(b.port, timeout=60)
        self.streams.append(watch)
        lines = [json.loads(x) for x in sim_lines("--run", "4", "--spills", "1", "--scale", "0.05")]
        end = [x for x in lines if x["type"] in ("spill_end", "run_end")]
        head = "".join(json.dumps(x) + "\n" for x in lines if x["type"] not in ("spill_end", "run_end"))
        hdr = {"Content-Type": "application/x-ndjson"}
        self.assertEqual(a.request("POST", "/api/v1/ingest", head, hdr)[0], 200)
        live = watch.wait(1, "live", timeout=10)
        self.assertTrue(live, watch.events())
        self.assertEqual((live[0]["data"]["run"], live[0]["data"]["spill"]), (4, 1))
        self.assertEqual(a.request("POST", "/api/v1/ingest", "".join(json.dumps(x) + "\n" for x in end), hdr)[0],
                         200)
        self.assertEqual([e["data"]["spill"] for e in watch.wait(1, "spill", timeout=10)], [1])
        deadline = time.time() + 30
        while len([c for c in watch.comments() if c["text"].startswith("hb ")]) < 2 and time.time() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(len([c for c in watch.comments() if c["text"].startswith("hb ")]), 2,
                                watch.comments())
        # reads are served by both, from the one database
        a.sim("--run", "5", "--spills", "2", "--scale", "0.05")
        for s in (a, b):
            st, run = s.get("/api/v1/runs/5")
            self.assertEqual((st, run["spills"]), (200, 2))
        # a clean stop releases the lock at once; the standby takes it within its poll
        a.stop()
        self.wait_role(b, "active", timeout=10)
        self.assertEqual(b.sim("--run", "6", "--spills", "1", "--scale", "0.05").returncode, 0)

    def test_failover_exactly_once_stream_and_alarms_notified_once(self):
        a = self.server("a")
        self.wait_role(a, "active")
        b = self.server("b")
        self.assertEqual(self.health(b)["role"], "standby")
        watch = Stream(b.port, timeout=120)  # a viewer on the standby
        self.assertEqual(watch.status, 200)
        self.streams.append(watch)
        lines = sim_lines("--run", str(RUN), "--spills", "12", "--scale", "0.1", "--format", "columns", "--batch",
                          "200", "--fault", "hcal_dead@3-8", "--seed", "7")
        path = os.path.join(self.tmp, "daq.ndjson")
        c = Collector(self.tmp, a.url, ["file", path, "--state", os.path.join(self.tmp, "st"), "--batch", "100",
                                        "--flush-ms", "30", "--url", b.url])
        self.collectors.append(c)
        c.start()
        w = Writer(path, lines, chunk=1, pause=0.01)
        w.start()
        want = expected(lines)
        # halfway: the active server dies
        deadline = time.time() + 120
        while len(self.stored()) < 6 and time.time() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(len(self.stored()), 6, c.logs()[-3000:])
        # the dead module (spills 3-8) made the alarm fire on the active server; it is still firing
        self.assertEqual([p["status"] for p in self.rx.wait(1)], ["firing"])
        a.kill()
        # the takeover (its time is bench/pg_stage.py's pg.failover, not asserted here)
        self.wait_role(b, "active", timeout=30)
        w.join()
        deadline = time.time() + 180
        while self.stored() != want and time.time() < deadline:
            time.sleep(0.2)
        msg = "%s\n--- a ---\n%s\n--- b ---\n%s" % (c.logs()[-5000:], a.read_log()[-3000:], b.read_log()[-3000:])
        self.assertEqual(self.stored(), want, msg)
        # every event once: the run's total, the per-spill counts above and no open spill left
        self.assertEqual(int(self.pg.scalar(self.uri, "SELECT events FROM run_totals WHERE run = %d" % RUN)),
                         sum(v[0] for v in want.values()))
        self.assertEqual(self.pg.scalar(self.uri, "SELECT count(*) FROM open_spills o WHERE NOT EXISTS (SELECT 1 "
                                                  "FROM spills s WHERE s.run = o.run AND s.spill = o.spill)"), "0")
        self.assertIn("moved to", c.logs())
        # the standby's stream saw every spill close: the active one's, relayed, then its own
        seen = watch.wait(len(want), "spill", timeout=30)
        spills = sorted({e["data"]["spill"] for e in seen if e["data"]["run"] == RUN})
        self.assertEqual(spills, sorted(s for _, s in want), msg)
        # and the alarm's transitions (firing while a was active, relayed; resolved by b itself)
        states = [e["data"].get("state") for e in watch.wait(3, "alarm", timeout=30)
                  if e["data"].get("name", e["data"].get("alarm")) == "bad_spills"]
        self.assertIn("firing", states, watch.events("alarm"))
        self.assertIn("resolved", states, watch.events("alarm"))
        # the alarm fired while a was active and resolved after b took over: each notified once (b
        # took the firing episode over from the database, as sent)
        posts = self.rx.wait(2, timeout=30)
        kinds = [(p.get("status"), p.get("alerts", [{}])[0].get("labels", {}).get("alertname")) for p in posts]
        self.assertEqual(sorted(kinds), [("firing", "bad_spills"), ("resolved", "bad_spills")], posts)
        time.sleep(1.5)
        self.assertEqual(len(self.rx.posts), 2, self.rx.posts)
        self.assertEqual(c.stop(), 0)

    def test_a_database_outage_stops_the_active_server_and_the_standby_resumes(self):
        """The whole PostgreSQL dies (its own cluster here, not the run's shared one): the active
        server cannot know whether its lock is still its own, so it exits with status 3 (a unit
        restarts it); a server started while the database is away exits 1 with the reason; the
        standby keeps serving what it can, with 503 and a JSON reason for what needs the database,
        reconnects when the database is back and takes over; nothing committed is lost."""
        import pgcluster
        pg = pgcluster.Cluster(tempfile.mkdtemp(prefix="sw-pg-")).init().start()
        self.addCleanup(pg.remove)
        self.uri = pg.new_database()
        a = self.server("a")
        self.wait_role(a, "active")
        b = self.server("b")
        self.assertEqual(a.sim("--run", "7", "--spills", "3", "--scale", "0.05").returncode, 0)
        stored = pg.scalar(self.uri, "SELECT count(*) FROM spills")
        self.assertEqual(stored, "3")
        pg.kill()
        a.proc.wait(15)
        self.assertEqual(a.stop(), 3)
        self.assertIn("exiting (status 3)", a.read_log())
        st, body = b.get("/api/v1/runs/7")
        self.assertEqual(st, 503, body)
        self.assertIn("error", body)
        st, body = b.get("/api/v1/health")
        self.assertEqual((st, body["role"]), (503, "standby"), body)
        os.makedirs(os.path.join(self.tmp, "c"))
        c = Server(os.path.join(self.tmp, "c"), config={"cluster": {"advertise": "http://127.0.0.1:1", "poll": 0.2}},
                   db=self.uri)
        with self.assertRaises(RuntimeError) as e:
            c.start()
        self.assertIn("cannot connect to PostgreSQL at", str(e.exception) + c.read_log())
        c.proc.wait(5)
        self.assertEqual(c.stop(), 1)
        self.assertEqual([f for f in os.listdir(c.tmpdir) if "postgres" in f or f.endswith(".db")], [],
                         "a file named after the URI")
        pg.start()  # the same port, the same data
        self.wait_role(b, "active", timeout=20)
        self.assertEqual(b.sim("--run", "7", "--first-spill", "4", "--spills", "2", "--scale", "0.05").returncode, 0)
        st, run = b.get("/api/v1/runs/7")
        self.assertEqual((st, run["spills"]), (200, 5))
        a.start()
        self.wait_role(a, "standby")
        self.assertEqual(a.get("/api/v1/runs/7")[1]["spills"], 5)


if __name__ == "__main__":
    main()
