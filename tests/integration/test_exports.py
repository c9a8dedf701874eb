"""The good-spill exports describe themselves (issue 17, docs/exports.md): JSON header and CSV "#"
header lines with ISO 8601 UTC times beside the Unix ones, the profile version, the sign-off or
"provisional" with its reasons, the MOT totals; Content-Disposition file names; the run -> spill
ranges form (CMS golden-JSON shape) for one run and over a period; clear 400s and 404s."""
import csv
import datetime
import json
import time

from harness import ServerTest, main, ndjson

REASON = "detector problem"


def iso_to_unix(s):
    """An ISO 8601 UTC time of the export ("...Z") as Unix seconds (Python 3.7+ reads "+00:00")."""
    assert s.endswith("Z"), s
    return datetime.datetime.fromisoformat(s[:-1] + "+00:00").timestamp()


def comment_header(text):
    """The "# key: value" lines of a CSV export before its column line, as a dict of strings."""
    out = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[2:].partition(": ")
        if sep:
            out[key] = value
    return out


class Exports(ServerTest):
    def setUp(self):
        super().setUp()
        # 8 nominal spills; 3 and 6 with a dead HCAL module (BAD); run_end at the end
        self.srv.sim("--run", "60", "--spills", "8", "--seed", "21", "--fault", "hcal_dead@3",
                     "--fault", "hcal_dead@6")

    def export(self, path):
        status, raw, headers = self.srv.request("GET", path)
        self.assertEqual(status, 200, raw)
        return raw.decode(), headers

    def good(self, run=60):
        text, headers = self.export("/api/v1/runs/%d/good-spills" % run)
        return json.loads(text), headers

    def ranges(self, run=60):
        text, headers = self.export("/api/v1/runs/%d/good-spills?format=ranges" % run)
        return json.loads(text), headers

    def flag(self, spills, flag, run=60):
        status, raw, _ = self.srv.request("PUT", "/api/v1/runs/%d/spills/%s/flag" % (run, spills),
                                          json.dumps({"flag": flag, "reason": REASON, "comment": "test"}))
        self.assertEqual(status, 200, raw)

    def signoff(self, run=60, comment="run 60 certified", shifter="N. Shift"):
        status, raw, _ = self.srv.request("POST", "/api/v1/runs/%d/signoff" % run,
                                          json.dumps({"comment": comment, "shifter": shifter}))
        self.assertEqual(status, 200, raw)

    def assert_iso(self, iso, unix):
        self.assertIsInstance(iso, str)
        self.assertRegex(iso, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertAlmostEqual(iso_to_unix(iso), unix, delta=0.0005)

    def test_json_header_then_signed_after_the_sign_off(self):
        before = time.time()
        g, headers = self.good()
        after = time.time()
        spills = {s["spill"]: s for s in self.srv.get("/api/v1/runs/60/spills")[1]["spills"]}
        health = self.srv.get("/api/v1/health")[1]
        run = self.srv.get("/api/v1/runs/60")[1]
        # the old fields stay
        self.assertEqual((g["run"], g["count"]), (60, 6))
        self.assertEqual([s["spill"] for s in g["spills"]], [1, 2, 4, 5, 7, 8])
        self.assertEqual(set(g["spills"][0]) - {"started_iso", "ended_iso"},
                         {"run", "spill", "mot", "started", "ended", "flag_source"})
        h = g["header"]
        self.assertEqual((h["export"], h["run"], h["server"], h["server_version"]),
                         ("good-spills", 60, "spillwatch", health["version"]))
        self.assertEqual(h["time_zone"], "UTC")
        self.assertTrue(before - 1 <= h["generated"] <= after + 1)
        self.assert_iso(h["generated_iso"], h["generated"])
        # the ISO times are the Unix times, in UTC
        self.assertEqual((h["run_started"], h["run_ended"]), (run["started"], run["ended"]))
        self.assert_iso(h["run_started_iso"], h["run_started"])
        self.assert_iso(h["run_ended_iso"], h["run_ended"])
        for s in g["spills"]:
            self.assertEqual((s["started"], s["ended"]), (spills[s["spill"]]["started"], spills[s["spill"]]["ended"]))
            self.assert_iso(s["started_iso"], s["started"])
            self.assert_iso(s["ended_iso"], s["ended"])
        # the profile that judged the spills
        self.assertEqual((h["profile"], h["profile_version"], h["profile_in_force"]),
                         (health["profile"], health["profile_version"], health["profile_version"]))
        self.assertEqual(h["profile_versions"], [{"version": health["profile_version"], "spills": 8,
                                                  "first_spill": 1, "last_spill": 8}])
        self.assertEqual({spills[n]["profile_version"] for n in spills}, {h["profile_version"]})
        # MOT totals and counts
        self.assertEqual((h["spills"], h["good_spills"], h["flags"]["BAD"], h["flags"]["GOOD"]), (8, 6, 2, 6))
        self.assertAlmostEqual(h["mot"], sum(s["mot"] for s in spills.values()))
        self.assertAlmostEqual(h["good_mot"], sum(s["mot"] for s in g["spills"]))
        self.assertAlmostEqual(h["good_mot"], run["good_mot"])
        self.assertEqual(g["ranges"], [[1, 2], [4, 5], [7, 8]])
        # ended but not signed off: provisional, and the file name says so
        self.assertEqual((h["running"], h["open_spill"]), (False, None))
        self.assertEqual((h["provisional"], h["signed_off"], h["signoff"]), (True, False, None))
        self.assertEqual(h["provisional_reasons"], ["not signed off"])
        self.assertEqual(headers["Content-Disposition"],
                         'attachment; filename="spillwatch-run60-good-spills-provisional.json"')

        self.signoff()
        g, headers = self.good()
        h = g["header"]
        signoff = self.srv.get("/api/v1/runs/60")[1]["signoff"]
        self.assertEqual((h["provisional"], h["signed_off"], h["provisional_reasons"]), (False, True, []))
        self.assertEqual((h["signoff"]["who"], h["signoff"]["shifter"], h["signoff"]["comment"]),
                         ("open", "N. Shift", "run 60 certified"))
        self.assertAlmostEqual(h["signoff"]["time"], signoff["time"], delta=1e-4)  # /runs prints 15 digits
        self.assert_iso(h["signoff"]["time_iso"], signoff["time"])
        self.assertEqual(headers["Content-Disposition"], 'attachment; filename="spillwatch-run60-good-spills.json"')
        self.assertEqual(self.ranges()[1]["Content-Disposition"],
                         'attachment; filename="spillwatch-run60-good-spill-ranges.json"')

    def test_a_running_run_is_provisional(self):
        def spill(n, end=True):
            recs = [{"type": "event", "run": 61, "spill": n, "event": 1, "trigger": "physics", "p_in": 160.0}]
            if end:
                recs.append({"type": "spill_end", "run": 61, "spill": n, "duration": 4.8,
                             "counters": {"mot": 3e6, "trig_physics": 1, "recorded": 1}})
            return ndjson(*recs)
        status, raw, _ = self.srv.request("POST", "/api/v1/ingest",
                                          ndjson({"type": "run_start", "run": 61}) + spill(1) + spill(2, end=False),
                                          {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 200, raw)
        h = self.good(61)[0]["header"]
        self.assertEqual((h["running"], h["open_spill"], h["run_ended"], h["run_ended_iso"]), (True, 2, None, None))
        self.assert_iso(h["run_started_iso"], h["run_started"])
        self.assertEqual((h["provisional"], h["signoff"]), (True, None))
        self.assertEqual(h["provisional_reasons"][:3],
                         ["not signed off", "the run has not ended (no run_end yet)", "spill 2 is still open"])
        text, headers = self.export("/api/v1/runs/61/good-spills?format=csv")
        self.assertTrue(text.startswith("# spillwatch good-spill list of run 61 (PROVISIONAL: not signed off)\n"))
        c = comment_header(text)
        self.assertEqual((c["provisional"], c["running"], c["open_spill"], c["run_ended"]),
                         ("true", "true", "2", "null"))
        self.assertIn("spill 2 is still open", json.loads(c["provisional_reasons"]))
        self.assertEqual(headers["Content-Disposition"],
                         'attachment; filename="spillwatch-run61-good-spills-provisional.csv"')

    def test_csv_reads_with_comment_lines_skipped(self):
        self.flag(3, "GOOD")
        # a comment with a line break and a quote must not break the "#" block
        self.signoff(comment='HCAL2 masked\nsee "elog" 17', shifter="A. Physicist")
        text, headers = self.export("/api/v1/runs/60/good-spills?format=csv")
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        self.assertEqual(headers["Content-Disposition"], 'attachment; filename="spillwatch-run60-good-spills.csv"')
        lines = text.splitlines()
        first_data = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        self.assertEqual(lines[first_data], "run,spill,mot,started,ended,flag_source,started_iso,ended_iso")
        self.assertTrue(all(not line.startswith("#") for line in lines[first_data:]))
        rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
        g = self.good()[0]
        self.assertEqual([int(r["spill"]) for r in rows], [s["spill"] for s in g["spills"]])
        self.assertEqual([int(r["spill"]) for r in rows], [1, 2, 3, 4, 5, 7, 8])
        self.assertEqual([r["flag_source"] for r in rows], ["auto", "auto", "manual", "auto", "auto", "auto", "auto"])
        for r, s in zip(rows, g["spills"]):
            self.assertEqual((int(r["run"]), int(float(r["mot"]))), (60, int(s["mot"])))
            self.assertAlmostEqual(float(r["started"]), s["started"], delta=0.0005)
            self.assertEqual((r["started_iso"], r["ended_iso"]), (s["started_iso"], s["ended_iso"]))
            self.assert_iso(r["started_iso"], float(r["started"]))
            self.assert_iso(r["ended_iso"], float(r["ended"]))
        # the "#" lines say what the JSON header says
        c, h = comment_header(text), g["header"]
        self.assertEqual((c["run"], c["provisional"], c["signed_off"]), ("60", "false", "true"))
        self.assertEqual((c["profile"], c["profile_version"], c["time_zone"]),
                         (h["profile"], h["profile_version"], "UTC"))
        self.assertEqual((float(c["good_mot"]), float(c["mot"])), (h["good_mot"], h["mot"]))
        self.assertEqual(float(c["run_started"]), h["run_started"])
        self.assertEqual((c["run_started_iso"], c["run_ended_iso"]), (h["run_started_iso"], h["run_ended_iso"]))
        self.assertEqual(c["server_version"], h["server_version"])
        self.assert_iso(c["generated_iso"], float(c["generated"]))
        signoff = json.loads(c["signoff"])
        self.assertEqual((signoff["comment"], signoff["shifter"]), ('HCAL2 masked\nsee "elog" 17', "A. Physicist"))
        self.assertIn("ROOT", "".join(lines[:first_data]))

    def test_ranges_compress_around_bad_spills_and_manual_flags(self):
        golden, headers = self.ranges()
        self.assertEqual(golden, {"60": [[1, 2], [4, 5], [7, 8]]})
        self.assertEqual(headers["Content-Disposition"],
                         'attachment; filename="spillwatch-run60-good-spill-ranges-provisional.json"')
        self.flag(6, "GOOD")  # a person overrides the checks
        self.assertEqual(self.ranges()[0], {"60": [[1, 2], [4, 8]]})
        self.flag(1, "BAD")
        self.flag(8, "EXCLUDED")
        self.flag(5, "WARN")
        self.assertEqual(self.ranges()[0], {"60": [[2, 2], [4, 4], [6, 7]]})
        self.assertEqual(self.good()[0]["ranges"], [[2, 2], [4, 4], [6, 7]])
        self.flag("1-8", "BAD")
        self.assertEqual(self.ranges()[0], {})  # no GOOD spill: no key, as in a golden JSON

    def test_ranges_break_at_a_spill_never_stored(self):
        self.srv.sim("--run", "62", "--spills", "2", "--seed", "3")
        self.srv.sim("--run", "62", "--first-spill", "4", "--spills", "2", "--seed", "4")
        self.assertEqual([s["spill"] for s in self.srv.get("/api/v1/runs/62/spills")[1]["spills"]], [1, 2, 4, 5])
        self.assertEqual(self.ranges(62)[0], {"62": [[1, 2], [4, 5]]})

    def test_period_ranges_signed_runs_unless_asked(self):
        self.srv.sim("--run", "63", "--spills", "3", "--seed", "5")
        self.signoff()
        text, headers = self.export("/api/v1/good-spills?runs=60-70")
        self.assertEqual(json.loads(text), {"60": [[1, 2], [4, 5], [7, 8]]})  # 63 is not signed off
        self.assertEqual(headers["Content-Disposition"],
                         'attachment; filename="spillwatch-runs60-70-good-spill-ranges.json"')
        text, headers = self.export("/api/v1/good-spills?runs=60-70&provisional=1")
        self.assertEqual(json.loads(text), {"60": [[1, 2], [4, 5], [7, 8]], "63": [[1, 3]]})
        self.assertEqual(headers["Content-Disposition"],
                         'attachment; filename="spillwatch-runs60-70-good-spill-ranges-provisional.json"')
        self.assertEqual(json.loads(self.export("/api/v1/good-spills?runs=63&format=ranges")[0]), {})
        # without runs: every stored run
        text, headers = self.export("/api/v1/good-spills?provisional=1")
        self.assertEqual(json.loads(text), {"60": [[1, 2], [4, 5], [7, 8]], "63": [[1, 3]]})
        self.assertEqual(headers["Content-Disposition"],
                         'attachment; filename="spillwatch-all-runs-good-spill-ranges-provisional.json"')
        self.assertEqual(json.loads(self.export("/api/v1/good-spills?format=json")[0])["header"]["runs"], "all")
        text, headers = self.export("/api/v1/good-spills?runs=55-70&format=json")
        j = json.loads(text)
        h = j["header"]
        self.assertEqual((h["export"], h["runs"], h["signed_runs"], h["provisional_runs"]),
                         ("good-spill-ranges", "55-70", [60], [63]))
        self.assertEqual((h["provisional_included"], h["provisional"]), (False, False))
        self.assertEqual(j["ranges"], {"60": [[1, 2], [4, 5], [7, 8]]})
        self.assertEqual([(r["run"], r["included"], r["provisional"]) for r in j["runs"]],
                         [(60, True, False), (63, False, True)])
        self.assertEqual(j["runs"][1]["ranges"], [[1, 3]])
        self.assertEqual(j["runs"][1]["provisional_reasons"], ["not signed off"])
        self.assertAlmostEqual(h["good_mot"], self.good()[0]["good_mot"])
        self.assert_iso(h["generated_iso"], h["generated"])

    def test_bad_input_is_refused_clearly(self):
        for path, words in [
                ("/api/v1/runs/60/good-spills?format=xml", ['"format"', "json, csv or ranges"]),
                ("/api/v1/runs/60/good-spills?format=root", ['"format"', "root is for histograms", "json, csv or ranges"]),
                ("/api/v1/good-spills?runs=60&format=csv", ['"format"', "ranges or json", "csv is one run's list"]),
                ("/api/v1/good-spills?runs=60&format=root", ['"format"', "root is for histograms", "ranges or json"]),
                ("/api/v1/good-spills?runs=", ['"runs"', "1200-1250"]),
                ("/api/v1/good-spills?runs=a-b", ['"runs"']),
                ("/api/v1/good-spills?runs=60-", ['"runs"']),
                ("/api/v1/good-spills?runs=1-2-3", ['"runs"']),
                ("/api/v1/good-spills?runs=70-60", ['"runs"', "70-60 is empty"]),
                ("/api/v1/good-spills?runs=60&provisional=yes", ['"provisional"', "1 or 0"])]:
            status, raw, headers = self.srv.request("GET", path)
            self.assertEqual(status, 400, path)
            self.assertNotIn("Content-Disposition", headers)
            err = json.loads(raw)["error"]
            for w in words:
                self.assertIn(w, err, path)
        for fmt in ("json", "csv", "ranges"):
            status, raw, _ = self.srv.request("GET", "/api/v1/runs/999/good-spills?format=" + fmt)
            self.assertEqual(status, 404, fmt)
            self.assertIn("run 999 not found", json.loads(raw)["error"])


if __name__ == "__main__":
    main()
