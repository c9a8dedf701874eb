"""The ingest pool (server/ingest_pool.c): batches of many sources over many connections at once are
applied exactly once and in seq order per source, whichever pool thread parses them; the stored
spills hold exactly the events sent, and their histograms exactly the entries."""
import http.client
import json
import threading

from harness import ServerTest, main, ndjson

SOURCES = 8
SPILLS = 3
BATCHES = 4  # events batches per spill
EVENTS = 50  # per batch
END_COUNTERS = {"mot": 3000000, "trig_physics": 3000, "recorded": 3, "v1": 240000, "vm1": 150000, "vm2": 150000}


def events_batch(run, spill, first):
    n = range(first, first + EVENTS)
    return ndjson({"type": "events", "run": run, "spill": spill,
                   "columns": {"event": list(n), "trigger": ["physics"] * EVENTS,
                               "p_in": [150.0 + (i % 20) for i in n]}})


class Pool(ServerTest):
    config = {"threads": 2, "ingest_threads": 2, "spill_timeout": 600}

    def post(self, conn, body, source, seq):
        conn.request("POST", "/api/v1/ingest", body=body.encode(),
                     headers={"Content-Type": "application/x-ndjson", "X-Spillwatch-Source": source,
                              "X-Spillwatch-Seq": str(seq)})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())

    def collector(self, i, errors):
        """One source on two keep-alive connections, used in turn; every third batch is sent again
        on the other connection (a resend after a lost answer: must be a duplicate), and once a
        batch goes out before the one it follows (a gap: 503 with resend_from, nothing applied)."""
        try:
            host, port = self.srv.url.split("//")[1].split(":")
            conns = [http.client.HTTPConnection(host, int(port), timeout=60) for _ in range(2)]
            source, run, seq = "daq-%d" % i, 500 + i, 0
            bodies = []
            for spill in range(1, SPILLS + 1):
                for b in range(BATCHES):
                    bodies.append(events_batch(run, spill, 1 + b * EVENTS))
                bodies.append(ndjson({"type": "spill_end", "run": run, "spill": spill, "duration": 4.8,
                                      "counters": END_COUNTERS}))
            for k, body in enumerate(bodies):
                seq = k + 1
                if k == 5:  # the next one first: the server lacks seq, and says so
                    status, res = self.post(conns[(k + 1) % 2], bodies[k + 1], source, seq + 1)
                    if status != 503 or res.get("resend_from") != seq:
                        errors.append("%s seq %d ahead: %s %s" % (source, seq + 1, status, res))
                status, res = self.post(conns[k % 2], body, source, seq)
                if status != 200 or res["duplicate"] or res["seq"] != seq:
                    errors.append("%s seq %d: %s %s" % (source, seq, status, res))
                if k % 3 == 0:
                    status, res = self.post(conns[(k + 1) % 2], body, source, seq)
                    if status != 200 or not res["duplicate"]:
                        errors.append("%s seq %d again: %s %s" % (source, seq, status, res))
            for c in conns:
                c.close()
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append("%s: %r" % (i, e))

    def test_many_sources_exactly_once_in_order(self):
        errors = []
        threads = [threading.Thread(target=self.collector, args=(i, errors)) for i in range(SOURCES)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for i in range(SOURCES):
            run = 500 + i
            status, src = self.srv.get("/api/v1/sources/daq-%d" % i)
            self.assertEqual(status, 200)
            last = SPILLS * (BATCHES + 1)
            self.assertEqual((src["seq"], src["committed_seq"]), (last, last))
            status, r = self.srv.get("/api/v1/runs/%d" % run)
            self.assertEqual(status, 200, r)
            self.assertEqual((r["spills"], r["events"]), (SPILLS, SPILLS * BATCHES * EVENTS))
            for spill in range(1, SPILLS + 1):
                status, sp = self.srv.get("/api/v1/runs/%d/spills/%d" % (run, spill))
                self.assertEqual((status, sp["events"]), (200, BATCHES * EVENTS))
                status, h = self.srv.get("/api/v1/histograms/p_in?run=%d&spill=%d" % (run, spill))
                self.assertEqual(status, 200, h)
                self.assertEqual(h["entries"], BATCHES * EVENTS)
                # 1 GeV bins from 100: p_in 150..169, each value 10 times per spill
                self.assertEqual(h["counts"][50:70], [BATCHES * EVENTS // 20] * 20)
                self.assertAlmostEqual(h["mean"], 159.5)


if __name__ == "__main__":
    main()
