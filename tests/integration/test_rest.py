"""REST shapes (docs/api.md, docs/design.md §10) on a small simulated run: runs, spills, checks,
histogram scopes, trends, metrics (checked with promtool), and clear 400/404 errors."""
import shutil
import subprocess
import unittest
import glob
import json
import os
import re

from harness import SRC, ServerTest, main


def metric(srv, name):
    status, text = srv.get("/metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


class SecurityHeaders(ServerTest):
    def test_pages_and_answers_carry_the_security_headers(self):
        for path in ("/", "/run.html", "/app.js", "/style.css", "/api/v1/health", "/api/v1/runs/1", "/metrics"):
            status, _, headers = self.srv.request("GET", path)
            csp = headers.get("Content-Security-Policy", "")
            self.assertIn("script-src 'self'", csp, path)
            self.assertIn("frame-ancestors 'none'", csp, path)
            self.assertNotIn("unsafe-inline", csp, path)
            self.assertNotIn("unsafe-eval", csp, path)
            self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff", path)
            self.assertEqual(headers.get("Referrer-Policy"), "no-referrer", path)

    def test_the_pages_have_no_inline_script(self):
        # What the policy forbids must not be in the pages: every script has a src, no on* attributes.
        pages = glob.glob(os.path.join(SRC, "www", "*.html"))
        self.assertGreaterEqual(len(pages), 5)
        for page in pages:
            with open(page) as f:
                html = f.read()
            for tag in re.findall(r"<script\b[^>]*>", html):
                self.assertIn(" src=", tag, page)
            self.assertIsNone(re.search(r"<[^>]+\son[a-z]+\s*=", html), page)
            self.assertNotIn("style=", html, page)


class HistogramCache(ServerTest):
    """Stored-scope histogram answers are cached until the writer's next job: the same bytes while
    nothing changed, the new sum at once after a commit or a manual flag."""

    def hist(self, query):
        status, raw, _ = self.srv.request("GET", "/api/v1/histograms/p_in?" + query)
        self.assertEqual(status, 200, raw)
        return raw

    def test_answers_are_cached_until_the_data_changes(self):
        srv = self.srv
        srv.sim("--run", "30", "--spills", "3")  # full intensity: GOOD spills
        hits = lambda: metric(srv, "spillwatch_hist_cache_hits_total")
        run, good = self.hist("run=30"), self.hist("run=30&quality=good")
        before = hits()
        self.assertEqual(self.hist("run=30"), run)
        self.assertEqual(self.hist("run=30&quality=good"), good)
        self.assertEqual(self.hist("run=30&spills=1-2"), self.hist("run=30&spills=1-2"))
        self.assertEqual(hits(), before + 3)
        self.assertEqual(json.loads(good)["spills"], 3)
        # A manual flag changes the good-only sum at once.
        status, raw, _ = srv.request("PUT", "/api/v1/runs/30/spills/2/flag",
                                     json.dumps({"flag": "BAD", "reason": "detector problem"}))
        self.assertEqual(status, 200, raw)
        good2 = json.loads(self.hist("run=30&quality=good"))
        self.assertEqual(good2["spills"], 2)
        self.assertLess(good2["entries"], json.loads(good)["entries"])
        # A new spill of the run is in the run's sum at once.
        srv.sim("--run", "30", "--first-spill", "4", "--spills", "1")
        run2 = json.loads(self.hist("run=30"))
        self.assertEqual(run2["spills"], 4)
        self.assertGreater(run2["entries"], json.loads(run)["entries"])
        # Different queries are different entries.
        self.assertEqual(json.loads(self.hist("run=30&spills=1-1"))["spills"], 1)
        self.assertEqual(json.loads(self.hist("run=30&spill=1"))["spills"], 1)
        self.assertEqual(json.loads(self.hist("last=2"))["spills"], 2)


class Rest(ServerTest):
    def setUp(self):
        super().setUp()
        # intensity_drop@3: 3e4 MOT, below the physical window of the mot check whatever the baseline
        self.srv.sim("--run", "21", "--spills", "5", "--fast", "--seed", "3", "--scale", "0.1", "--fault",
                     "intensity_drop@3")

    def test_runs_and_run_summary(self):
        status, runs = self.srv.get("/api/v1/runs")
        self.assertEqual(status, 200)
        self.assertEqual([r["run"] for r in runs["runs"]], [21])
        run = runs["runs"][0]
        for key in ("run", "started", "ended", "open", "spills", "events", "mot", "good_mot", "flags", "live",
                    "last_spill", "meta"):
            self.assertIn(key, run)
        self.assertEqual(run["spills"], 5)
        self.assertIsNone(run["live"])
        self.assertFalse(run["open"])  # run_end arrived
        self.assertEqual(sum(run["flags"].values()), 5)
        self.assertEqual(run["last_spill"]["spill"], 5)
        status, spills = self.srv.get("/api/v1/runs/21/spills")
        self.assertEqual(sum(s["events"] for s in spills["spills"]), run["events"])
        self.assertAlmostEqual(sum(s["mot"] for s in spills["spills"]), run["mot"])
        self.assertEqual(self.srv.get("/api/v1/runs/21")[1]["events"], run["events"])
        self.assertEqual(self.srv.get("/api/v1/runs/999")[0], 404)
        # paging
        self.srv.sim("--run", "22", "--spills", "1", "--fast", "--scale", "0.1")
        status, page = self.srv.get("/api/v1/runs?limit=1")
        self.assertEqual(([r["run"] for r in page["runs"]], page["next_before"]), ([22], 22))
        status, page = self.srv.get("/api/v1/runs?limit=1&before=22")
        self.assertEqual(([r["run"] for r in page["runs"]], page["next_before"]), ([21], None))
        self.assertEqual(self.srv.get("/api/v1/runs?limit=0")[0], 400)
        self.assertEqual(self.srv.get("/api/v1/runs?limit=x")[0], 400)

    def test_the_current_run_is_the_most_recent(self):
        # A run with a lower number started after run 21 (a DAQ that counts from a new base): the
        # overview's current run is the one that started last (issue 14).
        self.srv.sim("--run", "7", "--spills", "1", "--fast", "--scale", "0.1")
        status, page = self.srv.get("/api/v1/runs?limit=1")
        self.assertEqual([r["run"] for r in page["runs"]], [21])  # by number
        status, page = self.srv.get("/api/v1/runs?limit=1&order=recent")
        self.assertEqual(([r["run"] for r in page["runs"]], page["next_before"]), ([7], None))
        status, page = self.srv.get("/api/v1/runs?limit=5&order=recent")
        self.assertEqual([r["run"] for r in page["runs"]], [7, 21])
        self.assertEqual(self.srv.get("/api/v1/runs?order=newest")[0], 400)
        self.assertEqual(self.srv.get("/api/v1/runs?order=recent&before=9")[0], 400)

    def test_spill_shapes_and_checks(self):
        status, spills = self.srv.get("/api/v1/runs/21/spills")
        self.assertEqual([s["spill"] for s in spills["spills"]], [1, 2, 3, 4, 5])
        s = spills["spills"][0]
        for key in ("run", "spill", "started", "ended", "duration", "events", "mot", "dead_time", "complete", "flag",
                    "reasons", "counters", "rates", "per_mot", "triggers", "profile_version"):
            self.assertIn(key, s)
        self.assertEqual(s["counters"]["recorded"], s["events"])
        self.assertAlmostEqual(s["rates"]["trigger_hz"], s["events"] / s["duration"])
        self.assertAlmostEqual(s["per_mot"]["v1"], s["counters"]["v1"] / s["mot"])
        self.assertEqual(sum(s["triggers"].values()), s["events"])
        status, one = self.srv.get("/api/v1/runs/21/spills/3")
        self.assertEqual(status, 200)
        names = {c["name"] for c in one["checks"]}
        self.assertIn("p_in_mean", names)
        self.assertIn("dead_time", names)
        c = next(c for c in one["checks"] if c["name"] == "mot")
        self.assertEqual(c["state"], "BAD")  # intensity_drop@3
        # in words: the title, the value, which side of which window
        self.assertRegex(c["reason"], r"^Muons on target: \d+(\.\d+)? k, below the physical window 300 k – 20 M(; |$)")
        self.assertEqual(c["provenance"]["layer"], "physical")
        self.assertEqual(one["flag"], "BAD")
        self.assertIn(c["reason"], one["reasons"])
        self.assertEqual(self.srv.get("/api/v1/runs/21/spills/99")[0], 404)

    def test_histogram_scopes_are_sums_of_spills(self):
        status, defs = self.srv.get("/api/v1/histograms")
        names = [d["name"] for d in defs["histograms"]]
        for n in ("p_in", "p_out", "ecal", "hcal0", "hcal3", "xy_tgt", "trigger"):
            self.assertIn(n, names)
        self.assertIn("detector problem", defs["manual_reasons"])  # the run page's vocabulary
        by_name = {d["name"]: d for d in defs["histograms"]}
        self.assertEqual(by_name["hcal2"]["checks"], ["hcal2_mip", "hcal2_peer"])  # what the explorer shows beside it
        self.assertEqual(by_name["p_in"]["checks"], ["p_in_mean", "p_in_tail"])
        per_spill = []
        for s in range(1, 6):
            status, h = self.srv.get("/api/v1/histograms/p_in?run=21&spill=%d" % s)
            self.assertEqual((status, h["scope"], h["spills"]), (200, "spill", 1))
            per_spill.append(h)
        status, run = self.srv.get("/api/v1/histograms/p_in?run=21")
        self.assertEqual(run["scope"], "run")
        self.assertEqual(run["spills"], 5)
        self.assertEqual(run["entries"], sum(h["entries"] for h in per_spill))
        self.assertEqual(run["counts"], [sum(c) for c in zip(*(h["counts"] for h in per_spill))])
        status, rng = self.srv.get("/api/v1/histograms/p_in?run=21&spills=2-4")
        self.assertEqual((rng["scope"], rng["spill_range"]), ("range", [2, 4]))
        self.assertEqual(rng["entries"], sum(h["entries"] for h in per_spill[1:4]))
        status, last = self.srv.get("/api/v1/histograms/p_in?run=21&last=2")
        self.assertEqual(last["entries"], per_spill[3]["entries"] + per_spill[4]["entries"])
        status, good = self.srv.get("/api/v1/histograms/p_in?run=21&quality=good")
        flags = [s["flag"] for s in self.srv.get("/api/v1/runs/21/spills")[1]["spills"]]
        self.assertEqual(flags[2], "BAD")  # intensity_drop@3
        self.assertEqual(good["spills"], flags.count("GOOD"))
        self.assertEqual(good["entries"], sum(h["entries"] for h, f in zip(per_spill, flags) if f == "GOOD"))
        status, live = self.srv.get("/api/v1/histograms/p_in")
        self.assertEqual((live["scope"], live["run"], live["spill"], live["open"]), ("live", 21, 5, False))
        self.assertEqual(live["entries"], per_spill[4]["entries"])
        status, xy = self.srv.get("/api/v1/histograms/xy_tgt?run=21")
        self.assertEqual(len(xy["counts"]), xy["x"]["bins"] * xy["y"]["bins"])
        for key in ("name", "title", "unit", "x", "counts", "underflow", "overflow", "entries", "mean", "rms", "peak",
                    "missing"):
            self.assertIn(key, run)
        for bad in ("?run=21&spill=1&last=2", "?spills=1-2", "?run=21&spills=4-2", "?run=21&spills=x",
                    "?run=21&quality=best", "?run=-1", "?last=0"):
            status, err = self.srv.get("/api/v1/histograms/p_in" + bad)
            self.assertEqual(status, 400, bad)
            self.assertIn("error", err)
        self.assertEqual(self.srv.get("/api/v1/histograms/nope")[0], 404)
        self.assertEqual(self.srv.get("/api/v1/histograms/p_in?run=77")[0], 404)

    def test_trends(self):
        status, spills = self.srv.get("/api/v1/runs/21/spills")
        spills = spills["spills"]
        status, t = self.srv.get("/api/v1/trends/mot?run=21")
        self.assertEqual(status, 200)
        self.assertEqual([p["value"] for p in t["points"]], [s["mot"] for s in spills])
        self.assertEqual([p["flag"] for p in t["points"]], [s["flag"] for s in spills])
        status, t = self.srv.get("/api/v1/trends/trigger_rate?run=21")
        for p, s in zip(t["points"], spills):
            self.assertAlmostEqual(p["value"], s["events"] / s["duration"])
        for q, key in (("counters.v1", None), ("rates.mot", "mot_hz"), ("per_mot.vm1", "vm1")):
            status, t = self.srv.get("/api/v1/trends/%s?run=21" % q)
            self.assertEqual(status, 200, q)
            self.assertEqual(len(t["points"]), 5)
        status, t = self.srv.get("/api/v1/trends/check.p_in_mean?run=21")
        # the statistic itself; spill 3 (intensity_drop) has too few entries for it
        self.assertEqual([p["value"] is None for p in t["points"]], [False, False, True, False, False], t)
        self.assertTrue(all(150 < p["value"] < 170 for p in t["points"] if p["value"] is not None), t)
        status, t = self.srv.get("/api/v1/trends/mot?from=0&to=1e12")
        self.assertEqual(len(t["points"]), 5)
        self.assertEqual(self.srv.get("/api/v1/trends/bogus?run=21")[0], 400)
        self.assertEqual(self.srv.get("/api/v1/trends/mot")[0], 400)
        self.assertEqual(self.srv.get("/api/v1/trends/mot?run=5000")[0], 404)

    def test_health_and_metrics(self):
        status, h = self.srv.get("/api/v1/health")
        self.assertEqual((status, h["status"], h["db"]), (200, "ok", "ok"))
        self.assertIn("version", h)
        status, text = self.srv.get("/metrics")
        self.assertEqual(status, 200)
        status, spills = self.srv.get("/api/v1/runs/21/spills")
        events = sum(s["events"] for s in spills["spills"])
        self.assertIn("spillwatch_ingest_events_total %d\n" % events, text)
        flags = [s["flag"] for s in spills["spills"]]
        for flag in ("GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED"):
            self.assertIn('spillwatch_spills_closed_total{flag="%s"} %d\n' % (flag, flags.count(flag)), text)
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool is installed by deploy/setup.sh")
        p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    main()
