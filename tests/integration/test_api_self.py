"""The API explains itself: GET /api/v1/ lists every route with its methods, role and query
parameters; a query parameter a route does not take is a 400 naming the ones it does; the spill
list filters by flag and by the category of the checks behind the verdict, and pages with
after/limit, and is streamed (chunked, row by row) yet equal to its pages put together. Each
answer is checked against what the unfiltered list and the spill details say."""
import json

from harness import ServerTest, main

RUN = 41


class ApiSelf(ServerTest):
    def setUp(self):
        super().setUp()
        # one fault per category: the beam (momentum), the DAQ (a source missing), a detector
        # (a dead HCAL module), each on its own spill of an otherwise clean run
        self.srv.sim("--run", str(RUN), "--spills", "9", "--fast", "--seed", "5", "--scale", "0.2",
                     "--fault", "beam_momentum@4", "--fault", "daq_missing@6", "--fault", "hcal_dead@8")

    def spills(self, query=""):
        status, res = self.srv.get("/api/v1/runs/%d/spills%s" % (RUN, query))
        self.assertEqual(status, 200, res)
        return res

    def test_index_lists_every_route(self):
        for path in ("/api/v1/", "/api/v1"):
            status, res = self.srv.get(path)
            self.assertEqual(status, 200, res)
            self.assertEqual(res["service"], "spillwatch")
            routes = {(r["method"], r["path"]): r for r in res["routes"]}
            self.assertIn(("GET", "/api/v1/runs/{run}/spills"), routes)
            self.assertIn(("POST", "/api/v1/ingest"), routes)
            self.assertIn(("GET", "/api/v1"), routes)
            spills = routes[("GET", "/api/v1/runs/{run}/spills")]
            self.assertEqual(spills["params"], ["flag", "category", "after", "limit"])
            self.assertEqual(spills["methods"], ["GET", "HEAD"])
            self.assertEqual(spills["role"], "read")
            self.assertEqual(routes[("POST", "/api/v1/runs/{run}/signoff")]["role"], "shifter")
            self.assertTrue(routes[("POST", "/api/v1/runs/{run}/signoff")]["human_write"])
            self.assertEqual(routes[("GET", "/api/v1/stream")]["methods"], ["GET"])
            for r in res["routes"]:
                self.assertTrue(r["summary"], r)
        # every listed GET without placeholders answers (no 404 for a route the index names)
        for r in res["routes"]:
            if r["method"] == "GET" and "{" not in r["path"] and r["path"] != "/api/v1/stream":
                status, body = self.srv.get(r["path"])
                self.assertEqual(status, 200, (r["path"], body))
        status, raw, _ = self.srv.request("HEAD", "/api/v1/")
        self.assertEqual(status, 200)

    def test_unknown_query_parameter_is_refused_naming_the_known_ones(self):
        for path, takes in (("/api/v1/runs/%d/spills?flags=BAD" % RUN, "flag, category, after, limit"),
                            ("/api/v1/runs?limt=3", "limit, before, order"),
                            ("/api/v1/runs/%d?verbose=1" % RUN, None),
                            ("/api/v1/histograms/p_in?run=%d&spil=3" % RUN, "run, spill, spills, last, quality"),
                            ("/api/v1/alarms?x", "history, alarm, limit")):
            status, res = self.srv.get(path)
            self.assertEqual(status, 400, (path, res))
            self.assertIn("unknown query parameter", res["error"])
            if takes:
                self.assertIn("takes " + takes, res["error"])
            else:
                self.assertIn("takes none", res["error"])
        # a refused query on ingest loses nothing and is counted as a refused ingest request
        status, raw, _ = self.srv.request("POST", "/api/v1/ingest?dry=1", "", {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 400)
        self.assertIn("unknown query parameter \"dry\"", json.loads(raw)["error"])
        self.assertEqual(self.srv.get("/api/v1/runs/%d" % RUN)[1]["spills"], 9)

    def test_flag_filter(self):
        every = self.spills()["spills"]
        self.assertEqual([s["spill"] for s in every], list(range(1, 10)))
        by_flag = {}
        for s in every:
            by_flag.setdefault(s["flag"], []).append(s["spill"])
        self.assertIn("BAD", by_flag, every)  # the faults made some spill BAD
        for flag in ("GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED"):
            got = [s["spill"] for s in self.spills("?flag=" + flag)["spills"]]
            self.assertEqual(got, by_flag.get(flag, []), flag)
        both = [s["spill"] for s in self.spills("?flag=bad,Warn")["spills"]]  # case does not matter
        self.assertEqual(both, sorted(by_flag.get("BAD", []) + by_flag.get("WARN", [])))
        # the effective flag: a manual flag moves a spill between the lists
        good = by_flag["GOOD"][0]
        status, raw, _ = self.srv.request("PUT", "/api/v1/runs/%d/spills/%d/flag" % (RUN, good),
                                          json.dumps({"flag": "EXCLUDED", "reason": "shift crew check", "comment": "c"}),
                                          {"Content-Type": "application/json"})
        self.assertEqual(status, 200, raw)
        self.assertEqual([s["spill"] for s in self.spills("?flag=EXCLUDED")["spills"]], [good])
        self.assertNotIn(good, [s["spill"] for s in self.spills("?flag=GOOD")["spills"]])
        for bad in ("?flag=BOGUS", "?flag=", "?flag=BAD,,WARN", "?category=calorimeter", "?category="):
            status, res = self.srv.get("/api/v1/runs/%d/spills%s" % (RUN, bad))
            self.assertEqual(status, 400, (bad, res))
            param = "flag" if "flag" in bad else "category"
            self.assertIn("query parameter \"%s\"" % param, res["error"])
            self.assertIn("GOOD, WARN, BAD, UNKNOWN or EXCLUDED" if param == "flag" else "beam, detector or daq",
                          res["error"])
        self.assertEqual(self.srv.get("/api/v1/runs/999/spills?flag=BAD")[0], 404)

    def test_category_filter_names_the_checks_behind_the_verdict(self):
        every = self.spills()["spills"]
        causes = {}
        for s in every:
            status, d = self.srv.get("/api/v1/runs/%d/spills/%d" % (RUN, s["spill"]))
            self.assertEqual(status, 200)
            cats = {c["category"] for c in d["checks"] if s["auto_flag"] != "GOOD" and c["state"] == s["auto_flag"]}
            causes[s["spill"]] = cats
        for cat in ("beam", "detector", "daq"):
            want = [n for n, cats in sorted(causes.items()) if cat in cats]
            got = [s["spill"] for s in self.spills("?category=" + cat)["spills"]]
            self.assertEqual(got, want, cat)
        self.assertIn(4, [s["spill"] for s in self.spills("?category=beam")["spills"]])
        self.assertIn(6, [s["spill"] for s in self.spills("?category=daq")["spills"]])
        self.assertIn(8, [s["spill"] for s in self.spills("?category=detector")["spills"]])
        self.assertNotIn(4, [s["spill"] for s in self.spills("?category=daq")["spills"]])
        # flag and category together: both hold
        got = [s["spill"] for s in self.spills("?flag=BAD&category=beam,daq")["spills"]]
        want = [s["spill"] for s in every if s["flag"] == "BAD" and causes[s["spill"]] & {"beam", "daq"}]
        self.assertEqual(got, want)

    def test_paging(self):
        pages, after = [], None
        while True:
            res = self.spills("?limit=4" + ("&after=%d" % after if after is not None else ""))
            pages.append([s["spill"] for s in res["spills"]])
            after = res["next_after"]
            if after is None:
                break
        self.assertEqual(pages, [[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        self.assertIsNone(self.spills()["next_after"])
        self.assertEqual(self.spills("?limit=0")["spills"], [])
        status, res = self.srv.get("/api/v1/runs/%d/spills?limit=-1" % RUN)
        self.assertEqual(status, 400, res)
        self.assertIn("limit", res["error"])

    def test_the_list_is_streamed_and_equals_its_pages(self):
        # a run long enough that its list leaves in many pieces (about 2 kB a spill, 32 kB pieces)
        self.srv.sim("--run", "42", "--spills", "70", "--fast", "--seed", "6", "--scale", "0.02")
        status, raw, headers = self.srv.request("GET", "/api/v1/runs/42/spills")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("Transfer-Encoding"), "chunked", headers)
        self.assertNotIn("Content-Length", headers)
        self.assertEqual(headers.get("Content-Type"), "application/json")
        self.assertGreater(len(raw), 100000)
        whole = json.loads(raw)
        self.assertEqual((whole["run"], whole["next_after"]), (42, None))
        pieces, after = [], None
        while True:
            res = self.srv.get("/api/v1/runs/42/spills?limit=16" + ("&after=%d" % after if after else ""))[1]
            pieces += res["spills"]
            after = res["next_after"]
            if after is None:
                break
        self.assertEqual([s["spill"] for s in whole["spills"]], list(range(1, 71)))
        self.assertEqual(whole["spills"], pieces)
        for s in whole["spills"]:  # each entry as the spill's own answer (built whole) says
            detail = self.srv.get("/api/v1/runs/42/spills/%d" % s["spill"])[1]
            self.assertEqual(s, {k: v for k, v in detail.items() if k not in ("checks", "audit")}, s["spill"])
        status, raw, _ = self.srv.request("HEAD", "/api/v1/runs/42/spills")
        self.assertEqual((status, raw), (200, b""))
        status, res = self.srv.get("/api/v1/runs/43/spills")
        self.assertEqual(status, 404, res)
        self.assertIn("run 43", res["error"])


if __name__ == "__main__":
    main()
