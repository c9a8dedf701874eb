"""DAQ integrity per spill (issue 13 item 5): a spill_end's daq_sources (per front-end source: events,
missing, empty, truncated) judged by a daq check with the worst source named, a profile's expected
sources, old collectors without counts (EXCLUDED, still GOOD), malformed counts refused whole, the
GET /api/v1/runs/{run}/daq view and the spill detail, and the counts kept over a restart."""
import copy
import json
import os
import shutil
import tempfile
import unittest

from harness import SRC, Server, load_json, main, ndjson, sim_output, write_json

SOURCES = ["BEAM", "MS1", "MS2", "ECAL", "HCAL", "VHCAL", "VETO"]
CHECK = {"name": "daq_integrity", "title": "DAQ integrity", "category": "daq",
         "quantity": {"daq": "bad", "source": "*"}, "good": [0, 0.001], "warn": [0, 0.01], "requires_beam": False}
ALARM = {"name": "daq_bad", "severity": "warning", "summary": "a DAQ source is missing, empty or truncated",
         "quantity": {"daq": "bad", "source": "*"}, "above": 0.01, "requires_beam": False}

_SIM = {}


def simulated():
    """Six GOOD spills of the simulator at full intensity (made once): {spill: [records]}."""
    if not _SIM:
        spill = None
        for r in sim_output("--run", "1", "--spills", "6", "--seed", "5", "--no-daq-sources"):
            if r["type"] == "spill_start":
                spill = r["spill"]
                _SIM[spill] = []
            if spill is not None and r["type"] in ("spill_start", "events", "spill_end"):
                _SIM[spill].append(r)
    return _SIM


def clean(events=3000):
    return {s: {"events": events, "missing": 0, "empty": 0, "truncated": 0} for s in SOURCES}


def daq_profile():
    prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
    prof["version"] = "daq-test-1"
    prof["daq_sources"] = list(SOURCES)
    # this test's own check in place of the shipped one (which gates by significance)
    prof["checks"] = [c for c in prof["checks"] if c["name"] != CHECK["name"]] + [copy.deepcopy(CHECK)]
    prof["alarms"].append(copy.deepcopy(ALARM))
    return prof


class Daq(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.profile = os.path.join(self.tmp, "na64mu-daq.json")
        write_json(self.profile, daq_profile())
        self.srv = Server(self.tmp, config={"profile": self.profile}).start()

    def tearDown(self):
        rc = self.srv.stop()
        log = self.srv.read_log()
        self.assertNotIn("ERROR: AddressSanitizer", log)
        self.assertNotIn("runtime error:", log)
        self.assertEqual(rc, 0, "server exit status %s; log:\n%s" % (rc, log[-3000:]))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def send_spill(self, run, spill, daq_sources=None, template=1):
        """Posts simulated spill `template` as (run, spill), its spill_end carrying daq_sources
        (None: none, as an older collector sends it)."""
        records = copy.deepcopy(simulated()[template])
        for r in records:
            r["run"], r["spill"] = run, spill
        if daq_sources is not None:
            records[-1]["daq_sources"] = daq_sources
        status, res = self.srv.post(ndjson(*records))
        self.assertEqual(status, 200, res)
        self.assertEqual(res["spills_closed"], 1, res)

    def spill(self, run, spill):
        status, s = self.srv.get("/api/v1/runs/%d/spills/%d" % (run, spill))
        self.assertEqual(status, 200, s)
        return s

    def check(self, s, name="daq_integrity"):
        return next(c for c in s["checks"] if c["name"] == name)

    def test_clean_sources_are_good(self):
        self.send_spill(10, 1, clean())
        s = self.spill(10, 1)
        c = self.check(s)
        self.assertEqual((c["state"], c["value"], c["raw"], c["reason"]), ("GOOD", 0, 0, ""), c)
        self.assertEqual(s["flag"], "GOOD", s["reasons"])
        self.assertEqual(s["daq_sources"], clean())

    def test_hcal_missing_from_5_percent_is_bad_and_named(self):
        counts = clean(3200)
        counts["HCAL"]["missing"] = 160
        counts["ECAL"]["empty"] = 2  # 0.06 %: not the worst
        self.send_spill(11, 1, counts)
        s = self.spill(11, 1)
        c = self.check(s)
        self.assertEqual(c["state"], "BAD", c)
        self.assertAlmostEqual(c["raw"], 0.05)
        self.assertEqual(c["reason"], "DAQ integrity: HCAL missing from 5.0 % of events (good up to 0.1 %)")
        self.assertEqual(c["title"], "DAQ integrity")  # the reason starts with the check's title
        self.assertEqual((c["good"], c["warn"]), ([0, 0.001], [0, 0.01]))
        self.assertEqual(s["flag"], "BAD")
        self.assertIn(c["reason"], s["reasons"])
        # the alarm rule on the same quantity reads the same value
        alarm = next(a for a in self.srv.get("/api/v1/alarms")[1]["alarms"] if a["name"] == "daq_bad")
        self.assertEqual((alarm["state"], alarm["run"], alarm["spill"]), ("firing", 11, 1), alarm)
        self.assertAlmostEqual(alarm["value"], 0.05)

    def test_a_listed_source_left_out_is_missing_from_every_event(self):
        counts = clean()
        del counts["VETO"]
        self.send_spill(12, 1, counts)
        s = self.spill(12, 1)
        c = self.check(s)
        self.assertEqual((c["state"], c["raw"]), ("BAD", 1), c)
        self.assertEqual(c["reason"], "DAQ integrity: VETO absent from the spill_end: missing from every event "
                                      "(good up to 0.1 %)")
        self.assertEqual(s["flag"], "BAD")
        self.assertNotIn("VETO", s["daq_sources"])  # stored as sent

    def test_no_counts_at_all_is_excluded_and_the_spill_can_be_good(self):
        self.send_spill(13, 1)  # an older collector: no daq_sources
        s = self.spill(13, 1)
        c = self.check(s)
        self.assertEqual((c["state"], c["value"], c["raw"]), ("EXCLUDED", None, None), c)
        self.assertEqual(c["reason"], "DAQ integrity: no per-source counts from the DAQ")
        self.assertEqual(s["flag"], "GOOD", s["reasons"])
        self.assertIsNone(s["daq_sources"])
        alarm = next(a for a in self.srv.get("/api/v1/alarms")[1]["alarms"] if a["name"] == "daq_bad")
        self.assertEqual((alarm["state"], alarm["value"]), ("inactive", None), alarm)  # no evidence either way

    def test_malformed_counts_are_refused_naming_line_and_key_and_nothing_is_applied(self):
        def negative():
            c = clean(10)
            c["MS1"]["truncated"] = -1
            return c

        def over():
            c = clean(10)
            c["HCAL"]["missing"] = 11
            return c

        def unknown():
            c = clean(10)
            c["ECAL"]["lost"] = 1
            return c

        cases = [  # (daq_sources, the key at fault, its source (None: top level), the message)
            ("ECAL", "daq_sources", None, 'line 3: "daq_sources" must be an object of source name -> counts'),
            (negative(), "truncated", "MS1", 'line 3: daq_sources "MS1": "truncated" must be an integer >= 0'),
            (over(), "missing", "HCAL", 'line 3: daq_sources "HCAL": "missing" 11 exceeds "events" 10'),
            (unknown(), "lost", "ECAL", 'line 3: daq_sources "ECAL": unknown key "lost"'),
            ({"S%d" % i: {"events": 1} for i in range(65)}, "daq_sources", None,
             "line 3: 65 daq_sources, at most 64"),
            ({"EC AL": {"events": 1}}, "EC AL", "daq_sources",
             'line 3: daq_sources: source name "EC AL" must be 1..64 characters'),
        ]
        spill = simulated()[1]
        for daq, key, source, message in cases:
            start = dict(spill[0], run=14, spill=1)
            event = {"type": "event", "run": 14, "spill": 1, "event": 1, "trigger": "physics", "p_in": 160.0}
            end = dict(spill[-1], run=14, spill=1, daq_sources=daq)
            body = ndjson(start, event, end)
            status, res = self.srv.post(body)
            self.assertEqual(status, 400, (key, res))
            self.assertTrue(res["error"].startswith(message), (message, res))
            self.assertEqual(res["line"], 3, res)
            line = body.splitlines()[2]  # the column points at the key, inside its source's object
            after = line.index('"%s"' % source) if source else 0
            self.assertEqual(res["column"], line.index('"%s"' % key, after) + 1, (key, res))
        # nothing of any of them was applied: no run, no open spill; a good batch then applies
        self.assertEqual(self.srv.get("/api/v1/runs/14")[0], 404)
        self.send_spill(14, 1, clean())
        events = sum(len(r["columns"]["event"]) for r in spill if r["type"] == "events")
        self.assertEqual(self.spill(14, 1)["events"], events)
        self.assertIsNone(self.srv.get("/api/v1/runs/14/daq")[1]["spills"][0]["worst"])

    def daq_run(self, run):
        """Spills 1-4 of run: clean, HCAL missing from 5 %, VETO left out, no counts."""
        hcal = clean(3200)
        hcal["HCAL"]["missing"] = 160
        hcal["ECAL"]["truncated"] = 32  # 1 %: not the worst
        no_veto = clean()
        del no_veto["VETO"]
        self.send_spill(run, 1, clean(), template=1)
        self.send_spill(run, 2, hcal, template=2)
        self.send_spill(run, 3, no_veto, template=3)
        self.send_spill(run, 4, None, template=4)
        return hcal, no_veto

    def check_daq_view(self, run, hcal, no_veto):
        status, view = self.srv.get("/api/v1/runs/%d/daq" % run)
        self.assertEqual(status, 200, view)
        self.assertEqual(view["run"], run)
        self.assertEqual(view["sources"], sorted(SOURCES))
        self.assertEqual(view["expected"], SOURCES)
        self.assertEqual([s["spill"] for s in view["spills"]], [1, 2, 3, 4])
        self.assertEqual([s["flag"] for s in view["spills"]], ["GOOD", "BAD", "BAD", "GOOD"])
        self.assertEqual([s["daq_sources"] for s in view["spills"]], [clean(), hcal, no_veto, None])
        self.assertIsNone(view["spills"][0]["worst"])
        self.assertEqual(view["spills"][1]["worst"], {"source": "HCAL", "problem": "missing", "fraction": 0.05})
        self.assertEqual(view["spills"][2]["worst"], {"source": "VETO", "problem": "missing", "fraction": 1.0})
        self.assertIsNone(view["spills"][3]["worst"])
        for n, counts in ((1, clean()), (2, hcal), (3, no_veto), (4, None)):
            self.assertEqual(self.spill(run, n)["daq_sources"], counts)
        # the listing carries them too
        listing = self.srv.get("/api/v1/runs/%d/spills" % run)[1]["spills"]
        self.assertEqual([s["daq_sources"] for s in listing], [clean(), hcal, no_veto, None])

    def test_daq_view_and_spill_detail_show_the_counts(self):
        hcal, no_veto = self.daq_run(20)
        self.check_daq_view(20, hcal, no_veto)
        # a manual flag is the effective flag of the view
        status, raw, _ = self.srv.request("PUT", "/api/v1/runs/20/spills/1/flag",
                                          json.dumps({"flag": "BAD", "reason": "detector problem"}))
        self.assertEqual(status, 200, raw)
        self.assertEqual(self.srv.get("/api/v1/runs/20/daq")[1]["spills"][0]["flag"], "BAD")
        # errors
        status, err = self.srv.get("/api/v1/runs/999/daq")
        self.assertEqual((status, err), (404, {"error": "run 999 not found"}))
        self.assertEqual(self.srv.get("/api/v1/runs/x/daq")[0], 400)
        status, _, headers = self.srv.request("POST", "/api/v1/runs/20/daq", "{}")
        self.assertEqual(status, 405)
        # a run without any counts: no sources, every cell null
        self.send_spill(21, 1)
        status, view = self.srv.get("/api/v1/runs/21/daq")
        self.assertEqual((view["sources"], view["spills"][0]["daq_sources"], view["spills"][0]["worst"]),
                         ([], None, None), view)

    def test_counts_survive_a_restart_and_reevaluation(self):
        hcal, no_veto = self.daq_run(30)
        self.assertEqual(self.srv.stop(), 0)
        self.srv.start()
        self.check_daq_view(30, hcal, no_veto)
        c = self.check(self.spill(30, 2))
        self.assertEqual(c["reason"], "DAQ integrity: HCAL missing from 5.0 % of events (good up to 0.1 %)")
        # re-evaluation reads the stored counts: the same verdicts
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/30/reevaluate?dry_run=1")
        res = json.loads(raw)
        self.assertEqual((status, res["spills"], res["changed"]), (200, 4, 0), res)
        # judged by ECAL's truncated events alone: spill 2 (1 % truncated) is WARN, spill 3 (VETO left out)
        # GOOD; the stored counts decide, not the verdicts stored with them
        prof = daq_profile()
        next(c for c in prof["checks"] if c["name"] == "daq_integrity")["quantity"] = {"daq": "truncated",
                                                                                       "source": "ECAL"}
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/30/reevaluate?dry_run=1", json.dumps(prof),
                                          {"Content-Type": "application/json"})
        res = json.loads(raw)
        self.assertEqual(status, 200, res)
        self.assertEqual([(c["spill"], c["new"]) for c in res["changes"]], [(2, "WARN"), (3, "GOOD")], res)

    def test_profile_refuses_bad_daq_quantities_with_their_path(self):
        self.send_spill(40, 1, clean())
        at = len(daq_profile()["checks"]) - 1  # this test's check, the last one
        cases = [
            ({"daq": "lost", "source": "*"}, '$.checks[%d].quantity.daq: unknown problem "lost"' % at),
            ({"daq": "bad", "source": "EC AL"}, '$.checks[%d].quantity.source: "EC AL" must be "*" or 1..64' % at),
            ({"daq": "bad", "source": "GEM"},
             '$.checks[%d].quantity.source: "GEM" is not one of $.daq_sources' % at),
            ({"daq": "bad", "source": "HCAL", "per": "mot"},
             "$.checks[%d].quantity.per: only for counter and spill quantities" % at),
        ]
        for quantity, message in cases:
            prof = daq_profile()
            self.assertEqual(prof["checks"][at]["name"], "daq_integrity")
            prof["checks"][at]["quantity"] = quantity
            status, raw, _ = self.srv.request("POST", "/api/v1/runs/40/reevaluate?dry_run=1", json.dumps(prof),
                                              {"Content-Type": "application/json"})
            res = json.loads(raw)
            self.assertEqual(status, 400, res)
            self.assertTrue(any(message in p for p in res["problems"]), (message, res))
        # an alarm rule names sources the same way
        prof = daq_profile()
        prof["alarms"][-1]["quantity"] = {"daq": "bad", "source": "GEM"}
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/40/reevaluate?dry_run=1", json.dumps(prof),
                                          {"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(raw)["problems"], ['body: $.alarms[7].quantity.source: "GEM" is not one of '
                                                       '$.daq_sources'])


if __name__ == "__main__":
    main()
