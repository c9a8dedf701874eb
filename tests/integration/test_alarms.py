"""Alarm rules and hooks against a real webhook receiver on loopback and a real exec hook: pending
then firing after N spills, no firing when a bad spill is followed by a good one, hysteresis,
one firing and one resolved notification per episode with the right run and spill, retries after the
receiver was down, and a hanging receiver that delays nobody else."""
import http.server
import json
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
import unittest

from harness import SRC, Server, load_json, write_json


class Receiver:
    """A webhook receiver: records every POST; can answer 503 or hang on demand."""

    def __init__(self):
        self.posts = []
        self.requests = []  # (path, headers, raw body) of every accepted POST
        self.mode = "ok"  # ok | down | hang
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.mode == "hang":
                    time.sleep(30)
                    return
                if outer.mode == "down":
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.requests.append((self.path, dict(self.headers), body))
                outer.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, n, timeout=20, path=None):
        """The posts (to path, when given) once there are at least n, or after timeout."""
        def posts():
            return [json.loads(b) for p, _, b in self.requests if p == path] if path else self.posts
        deadline = time.time() + timeout
        while time.time() < deadline and len(posts()) < n:
            time.sleep(0.05)
        return posts()


def profile_with(tmp, hooks, alarms):
    prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
    prof["hooks"] = hooks
    prof["alarms"] = alarms
    path = os.path.join(tmp, "profile.json")
    write_json(path, prof)
    return path


TRIGGER_RULE = {"name": "trigger_rate_per_mot", "severity": "critical", "summary": "physics triggers per MOT",
                "quantity": {"counter": "trig_physics", "per": "mot"}, "below": 0.5e-3, "recover_below": 0.7e-3,
                "above": 2e-3, "for": 2, "hooks": ["shift"]}


class ReceiverTest(unittest.TestCase):
    """A webhook receiver per test; self.srv (started by the test) must stop cleanly, without
    sanitizer reports."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.rx = Receiver()
        self.srv = None

    def tearDown(self):
        if self.srv:
            rc = self.srv.stop()
            log = self.srv.read_log()
            self.assertNotIn("ERROR: AddressSanitizer", log)
            self.assertNotIn("runtime error:", log)
            self.assertEqual(rc, 0, log[-2000:])
        self.rx.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Alarms(ReceiverTest):

    def start(self, alarms, hooks=None):
        hooks = hooks or [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/hook" % self.rx.port,
                           "timeout": 2}]
        self.srv = Server(self.tmp, config={"profile": profile_with(self.tmp, hooks, alarms)}).start()

    def alarm(self, name):
        return next(a for a in self.srv.get("/api/v1/alarms")[1]["alarms"] if a["name"] == name)

    def test_one_firing_and_one_resolved_per_episode(self):
        self.start([TRIGGER_RULE])
        # Trigger rate cut on spills 4-6: pending at 4, firing at 5, resolved at 7.
        self.srv.sim("--run", "80", "--spills", "9", "--seed", "41", "--fault", "trigger_low@4-6", "--scale", "0.3")
        posts = self.rx.wait(2)
        time.sleep(0.5)
        self.assertEqual([p["status"] for p in posts], ["firing", "resolved"], posts)
        fire, res = posts
        self.assertEqual((fire["version"], fire["run"], fire["spill"]), ("4", 80, 5))
        self.assertEqual(res["spill"], 7)
        a = fire["alerts"][0]
        self.assertEqual(a["labels"]["alertname"], "trigger_rate_per_mot")
        self.assertEqual((a["labels"]["severity"], a["labels"]["run"], a["labels"]["spill"]), ("critical", "80", "5"))
        self.assertEqual(a["endsAt"], "0001-01-01T00:00:00Z")
        self.assertEqual(res["alerts"][0]["fingerprint"], a["fingerprint"])
        self.assertNotEqual(res["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z")
        self.assertLess(fire["value"], 0.5e-3)
        self.assertEqual(fire["threshold"], 0.5e-3)
        status, body = self.srv.get("/api/v1/alarms?history=1&alarm=trigger_rate_per_mot")
        steps = [(h["from"], h["to"], h["spill"]) for h in reversed(body["history"])]
        self.assertEqual(steps, [("inactive", "pending", 4), ("pending", "firing", 5), ("firing", "resolved", 7)])
        self.assertEqual(self.alarm("trigger_rate_per_mot")["state"], "resolved")
        status, text = self.srv.get("/metrics")
        self.assertIn("spillwatch_hook_deliveries_total 2\n", text)

    def test_two_episodes_give_two_firing_and_two_resolved_webhooks_and_metrics_pass_promtool(self):
        from test_metrics import parse, promtool
        self.start([TRIGGER_RULE])
        # Trigger rate cut on spills 3-5 and 9-11: firing at 4 and 10, resolved at 6 and 12.
        self.srv.sim("--run", "85", "--spills", "13", "--seed", "47", "--fault", "trigger_low@3-5",
                     "--fault", "trigger_low@9-11", "--scale", "0.2")
        posts = self.rx.wait(4)
        time.sleep(0.5)
        self.assertEqual([(p["status"], p["run"], p["spill"]) for p in self.rx.posts],
                         [("firing", 85, 4), ("resolved", 85, 6), ("firing", 85, 10), ("resolved", 85, 12)])
        fps = [p["alerts"][0]["fingerprint"] for p in posts]
        self.assertEqual((fps[0] == fps[1], fps[2] == fps[3], fps[0] == fps[2]), (True, True, False))
        status, text = self.srv.get("/metrics")
        p = promtool("check", "metrics", stdin=text)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = parse(text)
        self.assertEqual(m[("spillwatch_hook_deliveries_total", ())], 4)
        self.assertEqual(m[("spillwatch_alarms", (("state", "resolved"),))], 1)

    def test_a_bad_spill_followed_by_a_good_one_does_not_fire(self):
        self.start([TRIGGER_RULE])
        self.srv.sim("--run", "81", "--spills", "6", "--seed", "42", "--fault", "trigger_low@2",
                     "--fault", "trigger_low@4", "--scale", "0.3")
        time.sleep(1)
        self.assertEqual(self.rx.posts, [])
        status, body = self.srv.get("/api/v1/alarms?history=1")
        steps = [(h["from"], h["to"]) for h in reversed(body["history"])]
        self.assertEqual(steps, [("inactive", "pending"), ("pending", "inactive")] * 2)

    def test_hysteresis_latching_and_spill_flag_rule(self):
        rules = [
            # dead time fires above 0.3 and only recovers below 0.1: a 0.2 spill keeps it firing
            {"name": "dead_time_high", "quantity": {"spill": "dead_time"}, "above": 0.3, "recover_above": 0.05,
             "for": 1, "hooks": ["shift"]},
            {"name": "bad_spills", "flag": "BAD", "above": 0.5, "for": 2, "latched": True, "hooks": ["shift"]},
        ]
        self.start(rules)
        self.srv.sim("--run", "82", "--spills", "6", "--seed", "43", "--fault", "dead_time@2",
                     "--fault", "hcal_dead@3-4")
        posts = self.rx.wait(2)
        time.sleep(0.5)
        by = [(p["alerts"][0]["labels"]["alertname"], p["status"], p["spill"]) for p in self.rx.posts]
        self.assertIn(("dead_time_high", "firing", 2), by)
        self.assertIn(("bad_spills", "firing", 3), by)  # spills 2 (dead time) and 3 BAD: fires at the 2nd in a row
        # normal dead time is ~0.08 > recover_above 0.05: stays firing (hysteresis)
        self.assertNotIn(("dead_time_high", "resolved"), [(n, s) for n, s, _ in by])
        self.assertEqual(self.alarm("dead_time_high")["state"], "firing")
        self.assertEqual(self.alarm("bad_spills")["state"], "firing")  # latched: good spills 5, 6 do not resolve

    def test_exec_hook_and_retry_after_receiver_down(self):
        out = os.path.join(self.tmp, "exec-out.txt")
        script = os.path.join(self.tmp, "hook.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho \"$SW_ALARM $SW_STATUS $SW_RUN $SW_SPILL\" >> %s\n" % out)
        os.chmod(script, stat.S_IRWXU)
        hooks = [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/hook" % self.rx.port,
                  "timeout": 2},
                 {"name": "script", "type": "exec", "command": [script], "timeout": 5}]
        rule = dict(TRIGGER_RULE, hooks=["shift", "script"])
        self.start([rule], hooks)
        self.rx.mode = "down"
        self.srv.sim("--run", "83", "--spills", "4", "--seed", "44", "--fault", "trigger_low@2-3", "--scale", "0.3")
        time.sleep(1.5)
        self.assertEqual(self.rx.posts, [])
        self.rx.mode = "ok"  # retried with backoff (1 s, 2 s, ...)
        posts = self.rx.wait(2, timeout=30)
        self.assertEqual([p["status"] for p in posts], ["firing", "resolved"])
        deadline = time.time() + 10
        while time.time() < deadline and (not os.path.exists(out) or len(open(out).read().splitlines()) < 2):
            time.sleep(0.1)
        with open(out) as f:
            self.assertEqual(f.read().splitlines(), ["trigger_rate_per_mot firing 83 3",
                                                     "trigger_rate_per_mot resolved 83 4"])
        status, text = self.srv.get("/metrics")
        retries = [l for l in text.splitlines() if l.startswith("spillwatch_hook_retries_total ")]
        self.assertGreaterEqual(int(float(retries[0].split()[1])), 1)

    def test_a_hanging_receiver_delays_neither_ingest_nor_other_hooks(self):
        out = os.path.join(self.tmp, "exec-out.txt")
        script = os.path.join(self.tmp, "hook.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho \"$SW_STATUS\" >> %s\n" % out)
        os.chmod(script, stat.S_IRWXU)
        hooks = [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/hook" % self.rx.port,
                  "timeout": 3},
                 {"name": "script", "type": "exec", "command": [script], "timeout": 5}]
        self.start([dict(TRIGGER_RULE, hooks=["shift", "script"])], hooks)
        self.rx.mode = "hang"
        t0 = time.time()
        self.srv.sim("--run", "84", "--spills", "4", "--seed", "45", "--fault", "trigger_low@2-3", "--scale", "0.1")
        self.assertLess(time.time() - t0, 20)  # ingest never waited for the 3 s webhook timeouts
        deadline = time.time() + 10
        while time.time() < deadline and (not os.path.exists(out) or len(open(out).read().splitlines()) < 2):
            time.sleep(0.1)
        with open(out) as f:
            self.assertEqual(f.read().split(), ["firing", "resolved"])

    def test_rule_configuration_errors(self):
        import subprocess
        from harness import SERVER
        bad = [{"name": "a", "quantity": {"counter": "mot"}, "for": 2},  # no threshold
               {"name": "b", "quantity": {"counter": "mot"}, "above": 5, "recover_above": 6},  # wrong hysteresis
               {"name": "c", "check": "nope", "above": 1},
               {"name": "d", "flag": "PURPLE", "above": 0.5},
               {"name": "e", "quantity": {"counter": "mot"}, "above": 1, "hooks": ["pager"]},
               {"name": "f", "live": "seconds_since_data", "above": 60, "for": 2},  # live rules count seconds
               {"name": "g", "quantity": {"counter": "mot"}, "below": 1, "for_seconds": 5},
               {"name": "h", "live": "coffee", "above": 1},
               {"name": "i", "quantity": {"counter": "mot"}, "above": 1, "trigger": "physics"},
               {"name": "j", "live": "beam", "below": 0.5, "requires_beam": True},
               {"name": "k", "live": "trigger_rate", "above": 1, "labels": {"severity": "x"}},
               {"name": "l", "live": "trigger_rate", "above": 1, "hooks": ["x", {"hook": "x", "after": 5}]},
               {"name": "m", "live": "trigger_rate", "above": 1, "trigger": "cosmic"}]
        hooks = [{"name": "x", "type": "exec", "command": ["relative/script"]},
                 {"name": "y", "type": "webhook", "url": "ftp://nope"},
                 {"name": "z", "type": "webhook", "url": "http://127.0.0.1:9/", "secret": "short"},
                 {"name": "w", "type": "exec", "command": ["/bin/true"], "secret": "0123456789abcdef0"},
                 {"name": "v", "type": "webhook", "url": "http://127.0.0.1:9/", "secret_file": "relative.key"}]
        path = profile_with(self.tmp, hooks, bad)
        cp = os.path.join(self.tmp, "cfg.json")
        write_json(cp, {"profile": path})
        p = subprocess.run([SERVER, "--config", cp, "--check-config"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        for word in ("$.alarms[0]: at least one of above, below", "$.alarms[1].recover_above",
                     "$.alarms[2].check: unknown check", "$.alarms[3].flag", "$.alarms[4].hooks[0]: unknown hook",
                     "$.hooks[0].command[0]", "$.hooks[1].url",
                     "$.alarms[5].for: counts spills; a live rule takes for_seconds",
                     "$.alarms[6].for_seconds: only for live rules", "$.alarms[7].live: must be one of",
                     "$.alarms[8].trigger: only for", "$.alarms[9].requires_beam: a beam rule cannot",
                     "$.alarms[10].labels.severity: reserved label", "$.alarms[11].hooks[1]: hook \"x\" listed twice",
                     "$.alarms[12].trigger: must be one of", "$.hooks[2].secret: must have at least 16",
                     "$.hooks[3].secret: only webhooks", "$.hooks[4].secret_file: must be an absolute path"):
            self.assertIn(word, p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
