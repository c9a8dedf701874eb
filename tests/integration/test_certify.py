"""Manual flags with audit, effective flags everywhere, run sign-off, the certified good-spill list."""
import csv
import json

from harness import ServerTest, main, ndjson

REASON = "detector problem"


class Certify(ServerTest):
    def setUp(self):
        super().setUp()
        # 6 nominal spills, spill 3 with a dead HCAL module (BAD)
        self.srv.sim("--run", "50", "--spills", "6", "--seed", "21", "--fault", "hcal_dead@3")

    def put(self, spills, body, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        status, raw, _ = self.srv.request("PUT", "/api/v1/runs/50/spills/%s/flag" % spills, json.dumps(body), h)
        return status, json.loads(raw)

    def post(self, what, body):
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/50/" + what, json.dumps(body),
                                          {"Content-Type": "application/json"})
        return status, json.loads(raw)

    def good(self):
        status, g = self.srv.get("/api/v1/runs/50/good-spills")
        self.assertEqual(status, 200)
        return [s["spill"] for s in g["spills"]], g["good_mot"]

    def test_manual_flag_overrides_and_is_audited(self):
        spills = {s["spill"]: s for s in self.srv.get("/api/v1/runs/50/spills")[1]["spills"]}
        self.assertEqual(spills[3]["flag"], "BAD")
        good, good_mot = self.good()
        self.assertEqual(good, [1, 2, 4, 5, 6])
        self.assertAlmostEqual(good_mot, sum(spills[n]["mot"] for n in good))

        # An expert decides spill 3 is usable (say the module was masked in reconstruction).
        status, res = self.put(3, {"flag": "GOOD", "reason": REASON, "comment": "HCAL2 masked offline",
                                   "shifter": "A. Physicist"})
        self.assertEqual((status, res["spills"]), (200, [3]))
        status, sp = self.srv.get("/api/v1/runs/50/spills/3")
        self.assertEqual((sp["flag"], sp["auto_flag"], sp["conflict"]), ("GOOD", "BAD", True))
        self.assertEqual(sp["manual"]["reason"], REASON)
        self.assertEqual(sp["manual"]["shifter"], "A. Physicist")
        self.assertEqual(len(sp["audit"]), 1)
        a = sp["audit"][0]
        self.assertEqual((a["action"], a["old"], a["new"], a["who"], a["comment"]),
                         ("flag", "BAD", "GOOD", "open", "HCAL2 masked offline"))
        good, good_mot2 = self.good()
        self.assertEqual(good, [1, 2, 3, 4, 5, 6])
        self.assertAlmostEqual(good_mot2, good_mot + spills[3]["mot"])
        status, run = self.srv.get("/api/v1/runs/50")
        self.assertAlmostEqual(run["good_mot"], good_mot2)
        self.assertEqual((run["flags"]["GOOD"], run["flags"]["BAD"]), (6, 0))
        status, h = self.srv.get("/api/v1/histograms/p_in?run=50&quality=good")
        self.assertEqual(h["spills"], 6)
        status, t = self.srv.get("/api/v1/trends/mot?run=50")
        self.assertEqual(t["points"][2]["flag"], "GOOD")

        # A range: spills 4-6 BAD; then remove the manual flag of 5.
        status, res = self.put("4-6", {"flag": "BAD", "reason": "beam off or unstable", "comment": "scraper"})
        self.assertEqual(res["spills"], [4, 5, 6])
        status, res = self.put(5, {"flag": None})
        self.assertEqual((status, res["spills"]), (200, [5]))
        self.assertEqual(self.good()[0], [1, 2, 3, 5])
        status, audit = self.srv.get("/api/v1/audit?run=50")
        actions = [(e["action"], e["spill"]) for e in audit["entries"]]
        self.assertEqual(actions, [("unflag", 5), ("flag", 6), ("flag", 5), ("flag", 4), ("flag", 3)])
        self.assertEqual(len(self.srv.get("/api/v1/audit?run=50&spill=4")[1]["entries"]), 1)

    def test_bad_manual_flags_are_refused_with_a_clear_error(self):
        cases = [
            ({"flag": "SUPER", "reason": REASON}, 400, "flag"),
            ({"flag": "UNKNOWN", "reason": REASON}, 400, "flag"),
            ({"flag": "GOOD"}, 400, "reason"),
            ({"flag": "GOOD", "reason": "felt like it"}, 400, "vocabulary"),
            ({"reason": REASON}, 400, "\"flag\" is required"),
            ({"flag": "GOOD", "reason": REASON, "colour": "red"}, 400, "colour"),
        ]
        for body, status, word in cases:
            got, res = self.put(2, body)
            self.assertEqual(got, status, body)
            self.assertIn(word, res["error"])
        status, raw, _ = self.srv.request("PUT", "/api/v1/runs/50/spills/2/flag", "{nope", {})
        self.assertEqual(status, 400)
        self.assertIn("invalid JSON", json.loads(raw)["error"])
        self.assertEqual(self.put(99, {"flag": "GOOD", "reason": REASON})[0], 404)
        self.assertEqual(self.put("5-3", {"flag": "GOOD", "reason": REASON})[0], 400)
        self.assertEqual(self.srv.request("GET", "/api/v1/runs/50/spills/2/flag")[0], 405)
        # nothing changed, nothing audited
        self.assertEqual(self.srv.get("/api/v1/audit")[1]["entries"], [])

    def test_csv_export(self):
        status, raw, headers = self.srv.request("GET", "/api/v1/runs/50/good-spills?format=csv")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        # "#" lines are the header (docs/exports.md); the first six columns are those of old
        lines = [line for line in raw.decode().splitlines() if not line.startswith("#")]
        rows = list(csv.DictReader(lines))
        self.assertEqual([int(r["spill"]) for r in rows], [1, 2, 4, 5, 6])
        self.assertEqual(list(rows[0].keys())[:6], ["run", "spill", "mot", "started", "ended", "flag_source"])
        status, g = self.srv.get("/api/v1/runs/50/good-spills")
        self.assertEqual([int(float(r["mot"])) for r in rows], [int(s["mot"]) for s in g["spills"]])
        self.assertEqual(self.srv.get("/api/v1/runs/50/good-spills?format=xml")[0], 400)
        self.assertEqual(self.srv.get("/api/v1/runs/51/good-spills")[0], 404)

    def test_signoff_guard_and_reopen(self):
        # A spill that ended without counters: its MOT checks are UNKNOWN, so the spill is UNKNOWN.
        # (the run ends again after it: a run is signed off after its run_end)
        status, _ = self.srv.post(ndjson({"type": "event", "run": 50, "spill": 7, "event": 1, "trigger": "physics",
                                          "p_in": 160.0}, {"type": "spill_end", "run": 50, "spill": 7},
                                         {"type": "run_end", "run": 50}))
        self.assertEqual(self.srv.get("/api/v1/runs/50/spills/7")[1]["flag"], "UNKNOWN")
        status, res = self.post("signoff", {"comment": "all fine"})
        self.assertEqual(status, 409)
        self.assertIn("UNKNOWN", res["error"])
        self.assertIn("7", res["error"])
        self.assertEqual(self.post("signoff", {})[0], 400)  # a comment is required
        self.assertEqual(self.put(7, {"flag": "BAD", "reason": "DAQ problem", "comment": "no scalers"})[0], 200)
        status, res = self.post("signoff", {"comment": "run 50 certified", "shifter": "N. Shift"})
        self.assertEqual((status, res["signed_off"]), (200, True))
        self.assertEqual(self.post("signoff", {"comment": "again"})[0], 409)
        status, run = self.srv.get("/api/v1/runs/50")
        self.assertEqual(run["signoff"]["comment"], "run 50 certified")
        # Flags are frozen while signed off.
        status, res = self.put(2, {"flag": "BAD", "reason": REASON})
        self.assertEqual(status, 409)
        self.assertIn("re-open", res["error"])
        self.assertEqual(self.post("reopen", {"comment": "oops"})[0], 400)  # a reason is required
        self.assertEqual(self.post("reopen", {"reason": "HCAL recalibrated"})[0], 200)
        self.assertIsNone(self.srv.get("/api/v1/runs/50")[1]["signoff"])
        self.assertEqual(self.put(2, {"flag": "BAD", "reason": REASON})[0], 200)
        actions = [e["action"] for e in self.srv.get("/api/v1/audit?run=50")[1]["entries"]]
        self.assertEqual(actions, ["flag", "reopen", "signoff", "flag"])


    def test_a_signed_off_run_does_not_change(self):
        # A run still running (no run_end) is signed off only with "force" (issue 14).
        def spill(n):
            return ndjson({"type": "event", "run": 53, "spill": n, "event": 1, "trigger": "physics", "p_in": 160.0},
                          {"type": "spill_end", "run": 53, "spill": n, "duration": 4.8,
                           "counters": {"mot": 3e6, "trig_physics": 1, "recorded": 1}})
        status, raw, _ = self.srv.request("POST", "/api/v1/ingest", ndjson({"type": "run_start", "run": 53}) + spill(1),
                                          {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 200, raw)
        call = lambda what, body: self.srv.request("POST", "/api/v1/runs/53/" + what, json.dumps(body))
        status, raw, _ = call("signoff", {"comment": "early"})
        self.assertEqual(status, 409, raw)
        self.assertIn("has not ended", json.loads(raw)["error"])
        self.assertEqual(call("signoff", {"comment": "early", "force": "yes"})[0], 400)
        status, raw, _ = call("signoff", {"comment": "the DAQ crashed, no run_end will come", "force": True})
        self.assertEqual(status, 200, raw)
        actions = [e["action"] for e in self.srv.get("/api/v1/audit?run=53")[1]["entries"]]
        self.assertEqual(actions, ["signoff (forced before run_end)"])
        # A signed-off run takes no new spill, also after a restart; nothing of the batch is applied.
        self.srv.stop()
        self.srv.start()
        status, raw, _ = self.srv.request("POST", "/api/v1/ingest", spill(2), {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 409, raw)
        self.assertIn("run 53 is signed off", json.loads(raw)["error"])
        self.assertEqual([s["spill"] for s in self.srv.get("/api/v1/runs/53/spills")[1]["spills"]], [1])
        # A dry run shows, an applied re-evaluation is refused.
        self.assertEqual(self.srv.request("POST", "/api/v1/runs/53/reevaluate?dry_run=1")[0], 200)
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/53/reevaluate")
        self.assertEqual(status, 409, raw)
        self.assertIn("signed off", json.loads(raw)["error"])
        # Re-opened (audited), the run takes its spill.
        self.assertEqual(call("reopen", {"reason": "the DAQ came back"})[0], 200)
        status, raw, _ = self.srv.request("POST", "/api/v1/ingest", spill(2), {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 200, raw)
        self.assertEqual([s["spill"] for s in self.srv.get("/api/v1/runs/53/spills")[1]["spills"]], [1, 2])


class CertifyAuth(ServerTest):
    config = {"auth": {"tokens": [
        {"name": "daq", "token": "daq-secret-0123456789", "roles": ["ingest"]},
        {"name": "shift-crew", "token": "shift-secret-0123456789", "roles": ["shifter"]}]}}

    def test_flags_need_the_shifter_role_and_record_the_token(self):
        self.srv.sim("--run", "52", "--spills", "1", "--scale", "0.1", "--token", "daq-secret-0123456789")
        body = json.dumps({"flag": "GOOD", "reason": REASON})
        path = "/api/v1/runs/52/spills/1/flag"
        self.assertEqual(self.srv.request("PUT", path, body)[0], 401)
        self.assertEqual(self.srv.request("PUT", path, body, {"Authorization": "Bearer daq-secret-0123456789"})[0], 403)
        status, raw, _ = self.srv.request("PUT", path, body, {"Authorization": "Bearer shift-secret-0123456789"})
        self.assertEqual(status, 200, raw)
        status, sp = self.srv.get("/api/v1/runs/52/spills/1")
        self.assertEqual(sp["manual"]["who"], "shift-crew")
        self.assertEqual(sp["audit"][0]["who"], "shift-crew")

    def test_forcing_a_sign_off_needs_the_admin_role(self):
        self.srv.sim("--run", "54", "--spills", "1", "--scale", "0.1", "--token", "daq-secret-0123456789")
        h = {"Authorization": "Bearer shift-secret-0123456789"}
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/54/signoff",
                                          json.dumps({"comment": "c", "force": True}), h)
        self.assertEqual(status, 403, raw)
        self.assertIn("admin", json.loads(raw)["error"])
        # the run ended (the simulator sent run_end): a shifter signs it off without force
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/54/signoff", json.dumps({"comment": "c"}), h)
        self.assertEqual(status, 200, raw)


if __name__ == "__main__":
    main()
