"""spillwatch-collect sim against the real server: resume from the server's watermark, late
spills refused and reported, fatal answers end the collector with status 1, usage errors 2."""
import subprocess

from harness import COLLECT, ServerTest, main, sim_output


class Collector(ServerTest):
    def spills(self, run):
        status, body = self.srv.get("/api/v1/runs/%d/spills" % run)
        return {s["spill"]: s["events"] for s in body["spills"]} if status == 200 else {}

    def test_resumes_after_the_server_watermark(self):
        self.srv.sim("--run", "30", "--spills", "2", "--scale", "0.1")
        status, src = self.srv.get("/api/v1/sources/sim-run30")
        first_seq = src["seq"]
        self.assertEqual(src["committed"], {"run": 30, "spill": 2})
        p = self.srv.sim("--run", "30", "--first-spill", "3", "--spills", "2", "--scale", "0.1", "--seed", "4")
        self.assertEqual(p.returncode, 0)
        status, src = self.srv.get("/api/v1/sources/sim-run30")
        self.assertGreater(src["seq"], first_seq)
        self.assertEqual(sorted(self.spills(30)), [1, 2, 3, 4])

    def test_exact_counts_rows_and_columns(self):
        for fmt, run in (("rows", 31), ("columns", 32)):
            args = ["--run", str(run), "--spills", "2", "--scale", "0.1", "--format", fmt, "--batch", "97"]
            expected = {}
            for r in sim_output(*args):
                if r["type"] == "spill_end":
                    expected[r["spill"]] = r["counters"]["recorded"]
            self.srv.sim(*args)
            self.assertEqual(self.spills(run), expected, fmt)

    def test_late_spills_are_reported_and_skipped(self):
        self.srv.sim("--run", "33", "--spills", "2", "--scale", "0.1")
        before = self.spills(33)
        # The same spills again under another source: every batch is late.
        p = self.srv.sim("--run", "33", "--spills", "2", "--scale", "0.1", "--source", "other", check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("refused as late", p.stderr)
        self.assertEqual(self.spills(33), before)

    def test_fatal_and_usage_errors(self):
        p = subprocess.run([COLLECT, "sim", "--url", self.srv.url, "--fault", "meteor@3"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("meteor", p.stderr)
        p = subprocess.run([COLLECT, "sim", "--spills", "1"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run([COLLECT, "frobnicate"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        # A token the server does not know: 401 is fatal, the server's error is printed.
        self.srv.stop()
        self.srv = type(self.srv)(self.tmp, config={"auth": {"tokens": [
            {"name": "daq", "token": "daq-secret-0123456789", "roles": ["ingest"]}]}}).start()
        p = self.srv.sim("--run", "34", "--spills", "1", "--scale", "0.1", "--token", "nope-nope-nope-nope",
                         check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("401", p.stderr)
        p = self.srv.sim("--run", "34", "--spills", "1", "--scale", "0.1", "--token", "daq-secret-0123456789")
        self.assertEqual(p.returncode, 0)


if __name__ == "__main__":
    main()
