"""Ingest over real HTTP: row and columnar events, atomic batches, idempotency, late data, limits."""
import json

from harness import ServerTest, main, ndjson


def ev(run, spill, event, trig="physics", **fields):
    d = {"type": "event", "run": run, "spill": spill, "event": event, "trigger": trig}
    d.update(fields)
    return d


END_COUNTERS = {"mot": 3000000, "trig_physics": 3000, "recorded": 3, "v1": 240000, "vm1": 150000, "vm2": 150000}


class Ingest(ServerTest):
    def live(self, name="p_in"):
        status, h = self.srv.get("/api/v1/histograms/" + name)
        self.assertEqual(status, 200)
        return h

    def test_row_events_fill_live_histograms(self):
        body = ndjson({"type": "run_start", "run": 1, "meta": {"shift": "night"}},
                      {"type": "spill_start", "run": 1, "spill": 1, "time": 1.7e9},
                      ev(1, 1, 1, p_in=160.0, hcal=[2.4, 2.5, None, 2.3]),
                      ev(1, 1, 2, p_in=150.0),
                      ev(1, 1, 3, "random", p_in=None))
        status, res = self.srv.post(body)
        self.assertEqual(status, 200, res)
        self.assertEqual(res["events"], 3)
        self.assertEqual(res["records"], 5)
        self.assertFalse(res["duplicate"])
        h = self.live("p_in")
        self.assertEqual((h["run"], h["spill"], h["open"], h["scope"]), (1, 1, True, "live"))
        self.assertEqual(h["entries"], 2)          # the random trigger is filtered out of p_in
        self.assertAlmostEqual(h["mean"], 155.0)
        self.assertEqual(h["counts"][(160 - 100)], 1)  # 1 GeV bins from 100
        self.assertEqual(self.live("hcal2")["missing"], 2)  # null in event 1, absent in event 2
        self.assertEqual(self.live("trigger")["entries"], 3)

    def test_columnar_events_equal_rows(self):
        cols = {"event": [1, 2, 3, 4], "trigger": ["physics", "beam", "physics", "led"],
                "p_in": [160.5, 161.5, None, 150], "hcal": [[2.4, 2.4, 2.4, 2.4], None, [1, 2, 3, 4], [0, 0, 0, 0]]}
        status, res = self.srv.post(ndjson({"type": "events", "run": 2, "spill": 1, "columns": cols}))
        self.assertEqual(status, 200, res)
        self.assertEqual(res["events"], 4)
        h = self.live("p_in")
        self.assertEqual(h["entries"], 2)
        self.assertEqual(h["missing"], 1)  # event 3 (physics, null); event 4 is led: filtered
        self.assertEqual(self.live("hcal_sum")["entries"], 2)

    def test_bad_line_rejects_whole_batch_with_line_and_column(self):
        good = ndjson(ev(3, 1, 1, p_in=160.0), ev(3, 1, 2, p_in=160.0))
        bad_lines = [
            ('{"type":"event","run":3,"spill":1,"event":3,"trigger":"physics","p_in":"fast"}', "p_in"),
            ('{"type":"event","run":3,"spill":1,"event":3,"trigger":"physics","p_in":1e999}', "JSON"),
            ('{"type":"event","run":3,"spill":1,"event":3,"trigger":"cosmic"}', "trigger"),
            ('{"type":"evnt","run":3,"spill":1}', "unknown type"),
            ('{"type":"event","run":-3,"spill":1,"event":3,"trigger":"beam"}', "run"),
            ('{"type":"event","run":3,"spill":1,"event":3,"trigger":"beam"', "invalid JSON"),
            ('[1,2,3]', "object"),
            ('{"type":"events","run":3,"spill":1,"columns":{"event":[1,2],"trigger":["beam"]}}', "trigger"),
            ('{"type":"event","run":3,"spill":1,"event":3,"trigger":"beam","hcal":[1,2,3,4,5]}', "hcal"),
            ('{"type":"spill_end","run":3,"spill":1,"dead_time":1.5}', "dead_time"),
            ('{"type":"spill_end","run":3,"spill":1,"counters":{"mot":-1}}', "mot"),
        ]
        for line, word in bad_lines:
            with self.subTest(line=line):
                status, res = self.srv.post(good + line + "\n" + ndjson(ev(3, 1, 9)))
                self.assertEqual(status, 400, res)
                self.assertEqual(res["line"], 3, res)
                self.assertGreaterEqual(res["column"], 1)
                self.assertIn("line 3", res["error"])
                self.assertIn(word, res["error"])
        # Nothing of those batches was applied: the spill was never opened.
        status, runs = self.srv.get("/api/v1/runs")
        self.assertEqual(runs["runs"], [])
        self.assertIsNone(self.live()["run"])
        # The server is still healthy and accepts the good part alone.
        self.assertEqual(self.srv.post(good)[0], 200)
        self.assertEqual(self.live()["entries"], 2)

    def test_duplicate_seq_changes_nothing(self):
        body = ndjson(ev(4, 1, 1, p_in=160.0))
        self.assertEqual(self.srv.post(body, "daq-a", 1), (200, {"duplicate": False, "records": 1, "events": 1,
                                                                  "spills_closed": 0, "seq": 1}))
        status, res = self.srv.post(body, "daq-a", 1)
        self.assertEqual(status, 200)
        self.assertTrue(res["duplicate"])
        status, res = self.srv.post(body, "daq-a", 1)
        self.assertTrue(res["duplicate"])
        self.assertEqual(self.live()["entries"], 1)
        # Another source has its own sequence.
        self.assertFalse(self.srv.post(body, "daq-b", 1)[1]["duplicate"])
        self.assertEqual(self.live()["entries"], 2)
        status, src = self.srv.get("/api/v1/sources/daq-a")
        self.assertEqual((status, src["seq"]), (200, 1))
        self.assertIsNone(src["committed"])
        # Closing the spill commits the watermark with it.
        end = {"type": "spill_end", "run": 4, "spill": 1, "duration": 4.8, "counters": END_COUNTERS}
        self.assertEqual(self.srv.post(ndjson(end), "daq-a", 2)[0], 200)
        status, src = self.srv.get("/api/v1/sources/daq-a")
        self.assertEqual((src["seq"], src["committed_seq"], src["committed"]), (2, 2, {"run": 4, "spill": 1}))
        self.assertEqual(self.srv.get("/api/v1/sources/nobody")[0], 404)
        # Half an idempotency header pair is an error.
        status, res = self.srv.post(body, headers={"X-Spillwatch-Source": "x"})
        self.assertEqual(status, 400)
        self.assertIn("X-Spillwatch-Seq", res["error"])
        status, res = self.srv.post(body, "daq-a", "seven")
        self.assertEqual(status, 400)

    def test_one_range_for_run_spill_and_seq_numbers(self):
        # 0..2^53-1 at ingest and in every path: a spill that can be stored can be addressed (issue 14).
        top = 2 ** 53 - 1
        for rec, key in ((ev(top + 1, 1, 1, p_in=160.0), "run"), (ev(5, top + 1, 1, p_in=160.0), "spill"),
                         ({"type": "spill_end", "run": 2 ** 63 - 1, "spill": 1}, "run"),
                         ({"type": "events", "run": 5, "spill": 10 ** 18, "columns": {"event": [1],
                                                                                       "trigger": ["physics"]}},
                          "spill")):
            status, res = self.srv.post(ndjson(rec))
            self.assertEqual(status, 400, res)
            self.assertIn('"%s" must be at most 9007199254740991' % key, res["error"])
            self.assertEqual(res["line"], 1)
        for seq in (str(2 ** 63 - 1), str(top + 1)):
            status, res = self.srv.post(ndjson(ev(5, 1, 1, p_in=160.0)), "daq-n", seq)
            self.assertEqual(status, 400, res)
            self.assertIn("X-Spillwatch-Seq", res["error"])
        self.assertEqual(self.srv.get("/api/v1/sources/daq-n")[0], 404)  # nothing applied, nothing poisoned
        self.assertEqual(self.live()["entries"], 0)
        # The largest numbers work end to end: ingest, the spill detail, a manual flag.
        end = {"type": "spill_end", "run": top, "spill": top, "duration": 4.8, "counters": END_COUNTERS}
        status, res = self.srv.post(ndjson(ev(top, top, 1, p_in=160.0), end), "daq-n", str(top))
        self.assertEqual(status, 200, res)
        status, sp = self.srv.get("/api/v1/runs/%d/spills/%d" % (top, top))
        self.assertEqual((status, sp["run"], sp["spill"]), (200, top, top))
        status, raw, _ = self.srv.request("PUT", "/api/v1/runs/%d/spills/%d/flag" % (top, top), json.dumps(
            {"flag": "BAD", "reason": "other", "comment": "the largest numbers"}))
        self.assertEqual(status, 200, raw)
        for path in ("/api/v1/runs/%d" % (top + 1), "/api/v1/runs/%d/spills/1" % (10 ** 17)):
            status, res = self.srv.get(path)
            self.assertEqual(status, 400, path)
            self.assertIn("9007199254740991", res["error"])

    def test_late_data_for_closed_spill_is_409_and_not_merged(self):
        end = {"type": "spill_end", "run": 5, "spill": 1, "duration": 4.8, "counters": END_COUNTERS}
        status, res = self.srv.post(ndjson(ev(5, 1, 1, p_in=160.0), end))
        self.assertEqual((status, res["spills_closed"]), (200, 1))
        status, res = self.srv.post(ndjson(ev(5, 2, 1, p_in=160.0), ev(5, 1, 2, p_in=170.0)))
        self.assertEqual(status, 409, res)
        self.assertEqual(res["line"], 2)
        self.assertIn("already closed", res["error"])
        # Spill 2's event in the same batch was not applied either (atomic).
        status, spills = self.srv.get("/api/v1/runs/5/spills")
        self.assertEqual([s["events"] for s in spills["spills"]], [1])
        status, h = self.srv.get("/api/v1/histograms/p_in?run=5&spill=1")
        self.assertEqual(h["entries"], 1)
        status, metrics = self.srv.get("/metrics")
        self.assertIn("spillwatch_ingest_late_events_total 1", metrics)
        # Data after spill_end inside one batch is late too.
        status, res = self.srv.post(ndjson(ev(5, 3, 1), {"type": "spill_end", "run": 5, "spill": 3}, ev(5, 3, 2)))
        self.assertEqual((status, res["line"]), (409, 3))

    def test_spill_end_answers_after_commit(self):
        end = {"type": "spill_end", "run": 6, "spill": 7, "duration": 4.8, "dead_time": 0.08,
               "counters": END_COUNTERS}
        status, res = self.srv.post(ndjson(ev(6, 7, 1, p_in=160.0), ev(6, 7, 2), ev(6, 7, 3), end))
        self.assertEqual(status, 200)
        # Readable at once through another connection: it is committed.
        status, sp = self.srv.get("/api/v1/runs/6/spills/7")
        self.assertEqual(status, 200, sp)
        self.assertEqual((sp["events"], sp["mot"], sp["complete"]), (3, 3000000, True))

    def test_large_bodies_one_after_another(self):
        """Bodies of 256 KB and more reuse the buffers of earlier ones (server/http.c): each is read
        whole and only itself, whatever the one before it held."""
        def body(spill, n, tail=""):
            cols = {"event": list(range(1, n + 1)), "trigger": ["physics"] * n,
                    "p_in": [150.0 + (i % 20) for i in range(n)],
                    "hcal": [[1.25, 2.5, 3.75, float(i % 7)] for i in range(n)]}
            return ndjson({"type": "events", "run": 9, "spill": spill, "columns": cols}) + tail
        sizes = [(1, 40000), (2, 18000), (3, 30000), (4, 17000)]  # about 1.3 MB, 0.6, 1.0, 0.55
        for spill, n in sizes:
            b = body(spill, n)
            self.assertGreater(len(b), 256 * 1024)
            status, res = self.srv.post(b)
            self.assertEqual(status, 200, res)
            self.assertEqual(res["events"], n)
        # A smaller body that ends in a cut line, after larger ones: the error is on its own last line.
        cut = body(5, 17000, '{"type":"event","run":9,"spill":5,"event":9999,"trigger":"phys')
        status, res = self.srv.post(cut)
        self.assertEqual(status, 400, res)
        self.assertEqual(res["line"], 2)
        status, res = self.srv.post(body(5, 17500))
        self.assertEqual(status, 200, res)
        self.assertEqual(res["events"], 17500)
        h = self.live("p_in")
        self.assertEqual((h["run"], h["spill"]), (9, 5))
        self.assertEqual(h["entries"], 17500)
        self.assertAlmostEqual(h["mean"], 150.0 + sum(i % 20 for i in range(17500)) / 17500)

    def test_empty_and_blank_bodies(self):
        status, res = self.srv.post("")
        self.assertEqual(status, 400)
        self.assertIn("empty", res["error"])
        status, res = self.srv.post("\n\n  \n")
        self.assertEqual(status, 400)
        status, res = self.srv.post(ndjson(ev(8, 1, 1)).replace("\n", "\r\n") + "\n\n")
        self.assertEqual(status, 200, res)

    def test_unknown_fields_are_counted_not_histogrammed(self):
        status, res = self.srv.post(ndjson(ev(9, 1, 1, p_in=160.0, straw_hits=12, note="x"),
                                           {"type": "spill_end", "run": 9, "spill": 1}))
        self.assertEqual(status, 200, res)
        status, sp = self.srv.get("/api/v1/runs/9/spills/1")
        self.assertEqual(sp["unknown_fields"], 2)

    def test_wrong_method_and_unknown_paths(self):
        status, raw, headers = self.srv.request("GET", "/api/v1/ingest")
        self.assertEqual(status, 405)
        self.assertIn("POST", headers.get("Allow"))
        self.assertIn("error", json.loads(raw))
        status, raw, _ = self.srv.request("DELETE", "/api/v1/runs")
        self.assertEqual(status, 405)
        for path in ("/api/v1/nothing", "/api/v2/runs", "/api/v1/runs/1/spills/2/extra"):
            status, raw, _ = self.srv.request("GET", path)
            self.assertEqual(status, 404, path)
            self.assertIn("error", json.loads(raw))
        status, raw, _ = self.srv.request("GET", "/api/v1/runs/abc")
        self.assertEqual(status, 400)


class Limits(ServerTest):
    config = {"limits": {"body_max": 4096, "line_max": 1024, "fields_max": 16, "batch_events_max": 5}}

    def test_body_over_cap_is_413(self):
        body = ndjson(*[ev(1, 1, i, p_in=160.0) for i in range(1, 60)])
        self.assertGreater(len(body), 4096)
        status, res = self.srv.post(body)
        self.assertEqual(status, 413, res)
        self.assertIn("4096", res["error"])
        self.assertEqual(self.srv.get("/api/v1/runs")[1]["runs"], [])
        # Chunked upload without Content-Length is capped too.
        def gen():
            for _ in range(10):
                yield body[:1000].encode()
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
        conn.request("POST", "/api/v1/ingest", body=gen(), headers={"Transfer-Encoding": "chunked"},
                     encode_chunked=True)
        resp = conn.getresponse()
        self.assertEqual(resp.status, 413)
        self.assertIn("error", json.loads(resp.read()))
        conn.close()

    def test_line_fields_and_events_caps(self):
        long_line = json.dumps(ev(1, 1, 1, pad="x" * 2000)) + "\n"
        status, res = self.srv.post(long_line)
        self.assertEqual((status, res["line"]), (413, 1))
        many = ev(1, 1, 1, **{"f%d" % i: i for i in range(20)})
        status, res = self.srv.post(ndjson(many))
        self.assertEqual(status, 400)
        self.assertIn("keys", res["error"])
        status, res = self.srv.post(ndjson(*[ev(1, 1, i) for i in range(1, 7)]))
        self.assertEqual(status, 413)
        self.assertIn("events", res["error"])
        self.assertEqual(self.srv.post(ndjson(*[ev(1, 1, i) for i in range(1, 6)]))[0], 200)


class Auth(ServerTest):
    config = {"auth": {"tokens": [{"name": "daq", "token": "daq-secret-0123456789", "roles": ["ingest"]},
                                  {"name": "viewer", "token": "view-secret-0123456789", "roles": ["read"]}]}}

    def test_ingest_needs_an_ingest_token(self):
        body = ndjson(ev(1, 1, 1))
        status, res = self.srv.post(body)
        self.assertEqual(status, 401)
        self.assertIn("token", res["error"])
        status, res = self.srv.post(body, headers={"Authorization": "Bearer wrong-secret-0123456789"})
        self.assertEqual(status, 401)
        status, res = self.srv.post(body, headers={"Authorization": "Bearer view-secret-0123456789"})
        self.assertEqual(status, 403)
        self.assertIn("viewer", res["error"])
        status, res = self.srv.post(body, headers={"Authorization": "Bearer daq-secret-0123456789"})
        self.assertEqual(status, 200, res)
        # Reads stay open unless read_requires_token.
        self.assertEqual(self.srv.get("/api/v1/runs")[0], 200)


if __name__ == "__main__":
    main()
