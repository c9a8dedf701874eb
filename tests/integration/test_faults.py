"""Faults the crash tests do not reach (issue 14): a body that opens thousands of spills, more open spills
than the server keeps, a run_start for a run that ended, a server paused past the spill timeout, two
collector instances on one source id. Each test fails on a server without the matching defence."""
import json
import os
import signal
import threading
import time
import urllib.request

from harness import Server, ServerTest, main, ndjson


def spill(run, n, events=3, end=True, mot=3e6):
    recs = [{"type": "spill_start", "run": run, "spill": n}]
    recs += [{"type": "event", "run": run, "spill": n, "event": i, "trigger": "physics", "p_in": 160.0}
             for i in range(events)]
    if end:
        recs.append({"type": "spill_end", "run": run, "spill": n, "duration": 4.8,
                     "counters": {"mot": mot, "recorded": events, "trig_physics": events}})
    return ndjson(*recs)


def metric(srv, name):
    for line in srv.get("/metrics")[1].splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return None


class OpenSpills(ServerTest):
    config = {"spill_timeout": 3, "limits": {"open_spills_max": 4, "open_spills_per_source": 2}}

    def test_a_body_of_twenty_thousand_spill_starts_is_refused_whole(self):
        body = ndjson(*({"type": "spill_start", "run": 7, "spill": n} for n in range(1, 20001)))
        status, res = self.srv.post(body, "daq", 1)
        self.assertEqual(status, 413, res)
        self.assertIn("limits.open_spills_max 4, open_spills_per_source 2", res["error"])
        self.assertEqual(res["line"], 3)  # refused where the third spill of its own would open
        self.assertEqual(metric(self.srv, "spillwatch_open_spills"), 0)  # nothing applied
        self.assertEqual(self.srv.get("/api/v1/runs")[1]["runs"], [])
        self.assertEqual(metric(self.srv, 'spillwatch_ingest_errors_total{reason="open_spills"}'), 1)
        # The seq was not consumed: the collector sends its next batch with the same one.
        self.assertEqual(self.srv.post(spill(7, 1), "daq", 1)[0], 200)
        st, sp = self.srv.get("/api/v1/runs/7/spills/1")
        self.assertEqual((st, sp["events"], sp["complete"]), (200, 3, True))

    def test_whole_spills_in_one_batch_are_not_open_spills(self):
        # 50 spills opened and closed in one body: at most one open at a time, whatever the limit.
        status, res = self.srv.post("".join(spill(8, n) for n in range(1, 51)), "daq", 1)
        self.assertEqual((status, res.get("spills_closed")), (200, 50), res)

    def test_limits_per_source_and_in_all_answer_429_with_retry_after(self):
        for seq, n in ((1, 1), (2, 2)):
            self.assertEqual(self.srv.post(spill(9, n, end=False), "a", seq)[0], 200)
        status, raw, headers = self.srv.request("POST", "/api/v1/ingest", spill(9, 3, end=False),
                                                {"X-Spillwatch-Source": "a", "X-Spillwatch-Seq": "3"})
        res = json.loads(raw)
        self.assertEqual(status, 429, res)
        self.assertIn("limits.open_spills_per_source", res["error"])
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.assertLessEqual(int(headers["Retry-After"]), 3)
        # Another source may still open spills, up to the limit in all.
        for seq, n in ((1, 11), (2, 12)):
            self.assertEqual(self.srv.post(spill(9, n, end=False), "b", seq)[0], 200)
        status, res = self.srv.post(spill(9, 21, end=False), "c", 1)
        self.assertEqual(status, 429, res)
        self.assertIn("limits.open_spills_max", res["error"])
        # Data for an open spill, and its end, are always taken; the end makes room.
        self.assertEqual(self.srv.post(ndjson({"type": "spill_end", "run": 9, "spill": 1}), "a", 3)[0], 200)
        self.assertEqual(self.srv.post(spill(9, 3, end=False), "a", 4)[0], 200)
        # A whole spill in one batch leaves nothing open: it goes in while the others are open.
        self.assertEqual(self.srv.post(spill(9, 31), "c", 1)[0], 200)
        # Once the open spills time out, the refused batch goes in, with the seq it was refused with.
        deadline = time.time() + 20
        while time.time() < deadline and self.srv.post(spill(9, 21, end=False), "c", 2)[0] != 200:
            time.sleep(0.5)
        self.assertEqual(self.srv.post(ndjson({"type": "spill_end", "run": 9, "spill": 21}), "c", 3)[0], 200)
        st, sp = self.srv.get("/api/v1/runs/9/spills/21")
        self.assertEqual((st, sp["events"], sp["complete"]), (200, 3, True))
        self.assertEqual(metric(self.srv, "spillwatch_spills_timed_out_total"), 4)


class OpenSpillMemory(ServerTest):
    config = {"limits": {"open_spill_memory": 1 << 20, "open_spills_max": 10000, "open_spills_per_source": 10000}}

    def test_the_memory_of_the_open_histograms_is_bounded(self):
        # The shipped profile's open spill holds some tens of kB of bins: a few dozen fit into 1 MB.
        status, res = self.srv.post("".join(spill(10, n, end=False) for n in range(1, 501)), "daq", 1)
        self.assertEqual(status, 413, res)
        self.assertIn("open_spill_memory 1 MB", res["error"])
        self.assertEqual(metric(self.srv, "spillwatch_open_spills"), 0)
        n = 0
        while True:
            n += 1
            status, res = self.srv.post(spill(10, n, end=False), "daq", n)
            if status != 200:
                break
        self.assertEqual(status, 429, res)
        self.assertIn("limits.open_spill_memory", res["error"])
        self.assertGreater(n, 1)
        self.assertEqual(metric(self.srv, "spillwatch_open_spills"), n - 1)


class EndedRuns(ServerTest):
    def run_row(self, run):
        return self.srv.get("/api/v1/runs/%d" % run)[1]

    def test_a_run_start_for_an_ended_run_is_refused_unless_it_resumes(self):
        self.assertEqual(self.srv.post(ndjson({"type": "run_start", "run": 12, "time": 1.7e9}) + spill(12, 1) +
                                       ndjson({"type": "run_end", "run": 12, "time": 1.7e9 + 60}), "daq", 1)[0], 200)
        ended = self.run_row(12)["ended"]
        self.assertIsNotNone(ended)
        status, res = self.srv.post(ndjson({"type": "run_start", "run": 12, "time": 1.7e9 + 100}) + spill(12, 2),
                                    "daq", 2)
        self.assertEqual(status, 409, res)
        self.assertIn('"resume": true', res["error"])
        self.assertEqual(res["line"], 1)
        run = self.run_row(12)
        self.assertEqual((run["ended"], run["started"], run["spills"]), (ended, 1.7e9, 1))  # nothing changed
        # A late spill of the ended run is stored, but does not reopen the run.
        self.assertEqual(self.srv.post(spill(12, 3), "daq", 3)[0], 200)
        self.assertEqual(self.run_row(12)["ended"], ended)
        # The DAQ says it goes on with the run: reopened, its start kept.
        status, res = self.srv.post(ndjson({"type": "run_start", "run": 12, "time": 1.7e9 + 200, "resume": True}) +
                                    spill(12, 4), "daq", 4)
        self.assertEqual(status, 200, res)
        run = self.run_row(12)
        self.assertEqual((run["ended"], run["started"]), (None, 1.7e9))
        # ... also known after a restart: a run_end again, then a restart, then a plain run_start.
        self.assertEqual(self.srv.post(ndjson({"type": "run_end", "run": 12}), "daq", 5)[0], 200)
        self.srv.stop()
        self.srv.start()
        status, res = self.srv.post(ndjson({"type": "run_start", "run": 12}))
        self.assertEqual(status, 409, res)
        status, res = self.srv.post(ndjson({"type": "run_start", "run": 12, "resume": "yes"}))
        self.assertEqual(status, 400, res)
        self.assertIn('"resume" must be true or false', res["error"])


class Pause(ServerTest):
    config = {"spill_timeout": 2}

    def test_a_server_paused_past_the_spill_timeout_reads_its_queued_batches_first(self):
        first = ndjson({"type": "spill_start", "run": 14, "spill": 1},
                       *({"type": "event", "run": 14, "spill": 1, "event": i, "trigger": "physics"}
                         for i in range(100)))
        self.assertEqual(self.srv.post(first, "daq", 1)[0], 200)
        # A big batch: while the process is stopped only its first part fits into the socket buffers,
        # so it is read and parsed well after the timer wakes up.
        rest = ndjson(*({"type": "event", "run": 14, "spill": 1, "event": i, "trigger": "physics", "p_in": 160.0,
                         "hcal": [2.4, 2.3, 2.5, 2.2]} for i in range(100, 30100)),
                      {"type": "spill_end", "run": 14, "spill": 1, "counters": {"mot": 3e6}})
        answers = []
        self.srv.proc.send_signal(signal.SIGSTOP)  # a VM freeze, a debugger, a swap storm
        try:
            t = threading.Thread(target=lambda: answers.append(self.srv.post(rest, "daq", 2)))
            t.start()
            time.sleep(5)  # well past spill_timeout: the timer is due at once when the process runs again
        finally:
            self.srv.proc.send_signal(signal.SIGCONT)
        t.join(30)
        self.assertEqual(answers[0][0], 200, answers)
        st, sp = self.srv.get("/api/v1/runs/14/spills/1")
        self.assertEqual((sp["events"], sp["complete"]), (30100, True), sp)
        # A spill that really stops getting data still times out.
        self.assertEqual(self.srv.post(spill(14, 2, end=False), "daq", 3)[0], 200)
        deadline = time.time() + 20
        while time.time() < deadline and self.srv.get("/api/v1/runs/14/spills/2")[0] != 200:
            time.sleep(0.2)
        sp = self.srv.get("/api/v1/runs/14/spills/2")[1]
        self.assertFalse(sp["complete"])
        # The cause first: the checks that lack input follow from the missing spill_end.
        self.assertEqual(sp["reasons"][0], "Incomplete spill: no spill_end before the spill timeout", sp["reasons"])
        self.assertGreater(len(sp["reasons"]), 1)
        # and they say so: a counter the missing spill_end would have carried is not known
        mot = next(c for c in sp["checks"] if c["name"] == "mot")
        self.assertEqual((mot["state"], mot["reason"]),
                         ("UNKNOWN", "Muons on target: not known: the spill has no spill_end"), mot)
        self.assertIn(mot["reason"], sp["reasons"][1:])


class Instances(ServerTest):
    config = {"limits": {"source_lease": 2}}

    def post(self, body, seq, instance, source="dqm"):
        return self.srv.post(body, source, seq, headers={"X-Spillwatch-Instance": instance})

    def test_a_second_instance_on_a_source_is_refused_not_answered_duplicate(self):
        self.assertEqual(self.post(spill(20, 1), 1, "aaaa")[0], 200)
        self.assertEqual(self.post(spill(20, 2, end=False), 2, "aaaa")[0], 200)
        # Another collector with the same --source: its seq 1 would have been "duplicate" and dropped.
        status, res = self.post(spill(21, 1), 1, "bbbb")
        self.assertEqual(status, 409, res)
        self.assertEqual(res["held_by"]["instance"], "aaaa")
        self.assertIn("its own --source", res["error"])
        self.assertEqual(metric(self.srv, 'spillwatch_ingest_errors_total{reason="source_held"}'), 1)
        self.assertEqual(self.srv.get("/api/v1/runs/21")[0], 404)  # nothing applied
        st, src = self.srv.get("/api/v1/sources/dqm")
        self.assertEqual((src["instance"], src["seq"]), ("aaaa", 2))
        # A collector starting up asks with its instance: told at once.
        status, raw, _ = self.srv.request("GET", "/api/v1/sources/dqm", None, {"X-Spillwatch-Instance": "bbbb"})
        self.assertEqual(status, 409, raw)
        # Only the holder may release it; after that another instance that resumed from the watermark
        # takes it at once, and one whose seq is stale is still refused.
        status, raw, _ = self.srv.request("POST", "/api/v1/sources/dqm/release", "", {"X-Spillwatch-Instance": "bbbb"})
        self.assertEqual(status, 409, raw)
        status, raw, _ = self.srv.request("POST", "/api/v1/sources/dqm/release", "", {"X-Spillwatch-Instance": "aaaa"})
        self.assertEqual(status, 200, raw)
        status, res = self.post(spill(21, 1), 1, "bbbb")
        self.assertEqual(status, 409, res)
        self.assertIn("did not resume from the server's watermark", res["error"])
        self.assertEqual(self.post(spill(21, 1), 3, "bbbb")[0], 200)
        self.assertEqual(self.srv.get("/api/v1/sources/dqm")[1]["instance"], "bbbb")
        # The old holder comes back: refused while the new one is active; a client naming no instance is
        # not checked (as before instances existed).
        status, res = self.post(spill(20, 3), 4, "aaaa")
        self.assertEqual((status, res["held_by"]["instance"]), (409, "bbbb"))
        self.assertEqual(self.srv.post(spill(22, 1), "dqm", 4)[0], 200)
        # After the lease without a batch, a silent holder's source can be taken over.
        time.sleep(2.5)
        self.assertEqual(self.post(spill(23, 1), 5, "cccc")[0], 200)
        self.assertIn("collector instance cccc takes over from bbbb", self.srv.read_log())
        status, raw, _ = self.srv.request("POST", "/api/v1/ingest", spill(23, 2),
                                          {"X-Spillwatch-Source": "dqm", "X-Spillwatch-Seq": "6",
                                           "X-Spillwatch-Instance": "not valid!"})
        self.assertEqual(status, 400, raw)
        self.assertIn("X-Spillwatch-Instance", json.loads(raw)["error"])


if __name__ == "__main__":
    main()
