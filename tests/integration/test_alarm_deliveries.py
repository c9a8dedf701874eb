"""The delivery log of alarm notifications and the per-rule figures of alarm fatigue, against real
webhook receivers on loopback and a real exec hook: a receiver that answers 500 then 200 gives two
attempts with their statuses (in GET /api/v1/alarms/{alarm}/deliveries and on the history entry that
starts the episode); a dead port gives the connection error, then the drop when the server stops
(read back after a restart); timeouts of a hanging receiver and command; an exec hook's exit code; a
silence's held-back notice; the figures of GET /api/v1/alarms/stats and /metrics after a scripted
sequence (fire, acknowledge, resolve by itself, a silenced episode) equal the values computed by hand
from the stored transitions; and bad input answered 400 naming the parameter, an unknown alarm 404."""
import calendar
import http.server
import json
import os
import socket
import stat
import threading
import time
import unittest

from harness import Server
from test_alarm_actions import spill
from test_alarms import ReceiverTest, profile_with
from test_metrics import parse, promtool

RULE = {"name": "dead_time_high", "severity": "warning", "quantity": {"spill": "dead_time"}, "above": 0.3,
        "for": 1, "requires_beam": False, "hooks": ["shift"]}


class Scripted:
    """A webhook receiver that answers the statuses of `answers` in turn (then 200), with a body."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.got = []  # (status answered, parsed body)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                status = outer.answers.pop(0) if outer.answers else 200
                outer.got.append((status, body))
                text = b"receiver says: database locked\n" if status >= 300 else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def dead_port():
    """A loopback port nobody listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Deliveries(ReceiverTest):
    def setUp(self):
        super().setUp()
        self.scripted = None

    def tearDown(self):
        super().tearDown()
        if self.scripted:
            self.scripted.close()

    def start(self, rules, hooks, db=None):
        self.srv = Server(self.tmp, config={"profile": profile_with(self.tmp, hooks, rules)}, db=db).start()

    def call(self, method, path, body=None):
        status, data, _ = self.srv.request(method, path, json.dumps(body) if body is not None else None,
                                           {"Content-Type": "application/json"})
        return status, json.loads(data)

    def deliveries(self, alarm="dead_time_high", n=1, query="", timeout=20, until=None):
        """The log (oldest first) once it has n rows (or until(rows) holds), or after timeout."""
        deadline = time.time() + timeout
        while True:
            status, body = self.srv.get("/api/v1/alarms/%s/deliveries%s" % (alarm, query))
            self.assertEqual(status, 200, body)
            rows = list(reversed(body["deliveries"]))
            if (until(rows) if until else len(rows) >= n) or time.time() > deadline:
                return rows
            time.sleep(0.1)

    def history(self):
        return list(reversed(self.srv.get("/api/v1/alarms?history=1&alarm=dead_time_high")[1]["history"]))

    def test_500_then_200_gives_two_attempts_with_their_statuses(self):
        self.scripted = Scripted([500])
        hooks = [{"name": "shift", "type": "webhook", "url": "http://user:pw@127.0.0.1:%d/hook/T0KEN?k=v"
                  % self.scripted.port, "timeout": 2}]
        self.start([RULE], hooks)
        self.assertEqual(self.srv.post(spill(90, 1, dead_time=0.45))[0], 200)
        rows = self.deliveries(n=2)
        got = [(r["status"], r["attempt"], r["outcome"], r["http_status"]) for r in rows]
        self.assertEqual(got, [("firing", 1, "retrying", 500), ("firing", 2, "delivered", 200)])
        first, second = rows
        self.assertEqual(first["error"], "HTTP 500: receiver says: database locked")
        self.assertIsNone(second["error"])
        self.assertEqual(first["notice"], second["notice"])  # one notice, two attempts
        self.assertEqual((first["hook"], first["kind"], first["target"]),
                         ("shift", "webhook", "http://127.0.0.1:%d" % self.scripted.port))  # no path, no credentials
        self.assertEqual((first["run"], first["spill"], first["exit_code"]), (90, 1, None))
        self.assertTrue(first["latency"] >= 0 and second["time"] >= first["time"], rows)
        self.assertEqual([s for s, _ in self.scripted.got], [500, 200])
        # The same rows on the history entry that starts the episode, and nowhere else.
        hist = self.history()
        start = next(h for h in hist if h["to"] == "firing")
        self.assertEqual(start["time"], first["episode"])
        self.assertEqual([(d["attempt"], d["outcome"]) for d in start["deliveries"]], [(1, "retrying"), (2, "delivered")])
        self.assertTrue(all("deliveries" not in h for h in hist if h is not start))
        # Resolved: a new notice, delivered at once; the figures count the episode's rows.
        self.assertEqual(self.srv.post(spill(90, 2, dead_time=0.05))[0], 200)
        rows = self.deliveries(n=3)
        self.assertEqual((rows[2]["status"], rows[2]["attempt"], rows[2]["outcome"]), ("resolved", 1, "delivered"))
        self.assertNotEqual(rows[2]["notice"], rows[0]["notice"])
        stats = self.srv.get("/api/v1/alarms/stats")[1]
        rule = next(r for r in stats["rules"] if r["alarm"] == "dead_time_high")
        self.assertEqual(rule["deliveries"], {"delivered": 2, "retrying": 1, "dropped": 0, "queue_full": 0,
                                              "silenced": 0})
        self.assertEqual(rule["deliveries_failed"], 0)
        # Filters: by run, by time, and the limit.
        self.assertEqual(self.deliveries(query="?runs=91", timeout=0), [])
        self.assertEqual(len(self.deliveries(query="?runs=89-90", timeout=0)), 3)
        self.assertEqual(len(self.deliveries(query="?since=%r" % rows[2]["time"], timeout=0)), 1)
        self.assertEqual(len(self.deliveries(query="?until=%r" % rows[2]["time"], timeout=0)), 2)
        self.assertEqual([r["id"] for r in self.deliveries(query="?limit=1", timeout=0)], [rows[2]["id"]])
        # The answers as docs/openapi.json describes them (every field, nothing undescribed).
        from test_openapi import DOC, validate
        for path, op in (("/api/v1/alarms/dead_time_high/deliveries", "/api/v1/alarms/{alarm}/deliveries"),
                         ("/api/v1/alarms?history=1", "/api/v1/alarms"), ("/api/v1/alarms/stats", "/api/v1/alarms/stats")):
            schema = DOC["paths"][op]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            self.assertEqual(validate(self.srv.get(path)[1], schema)[:10], [], path)

    def test_dead_port_fails_then_is_dropped_when_the_server_stops(self):
        port = dead_port()
        hooks = [{"name": "pager", "type": "webhook", "url": "http://127.0.0.1:%d/" % port, "timeout": 2}]
        rule = dict(RULE, hooks=["pager"])
        self.start([rule], hooks)
        self.assertEqual(self.srv.post(spill(91, 1, dead_time=0.45))[0], 200)
        rows = self.deliveries(n=2, alarm="dead_time_high")  # attempt 1 at once, attempt 2 a second later
        self.assertEqual([(r["attempt"], r["outcome"], r["http_status"]) for r in rows[:2]],
                         [(1, "retrying", None), (2, "retrying", None)])
        self.assertIn("connect", rows[0]["error"].lower())  # curl's own words
        db = self.srv.db
        self.assertEqual(self.srv.stop(), 0)
        self.srv = None
        # Stopping gives a queued notice its last attempt; it fails and is dropped, and the log says so.
        self.start([rule], hooks, db=db)
        rows = self.deliveries(n=3, timeout=0)
        last = next(r for r in reversed(rows) if r["status"] == "firing" and r["outcome"] != "retrying")
        self.assertEqual(last["outcome"], "dropped")
        self.assertTrue(last["error"].endswith("(server stopping)"), last["error"])
        self.assertEqual(last["attempt"], max(r["attempt"] for r in rows if r["notice"] == last["notice"]))
        stats = self.srv.get("/api/v1/alarms/stats?runs=91")[1]
        rule_stats = next(r for r in stats["rules"] if r["alarm"] == "dead_time_high")
        self.assertGreaterEqual(rule_stats["deliveries_failed"], 1)
        self.assertEqual(rule_stats["hooks"][0]["hook"], "pager")
        self.assertGreaterEqual(rule_stats["hooks"][0]["dropped"], 1)

    def test_timeouts_of_a_hanging_receiver_and_a_hanging_command(self):
        self.rx.mode = "hang"
        script = os.path.join(self.tmp, "slow.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nsleep 30\n")
        os.chmod(script, stat.S_IRWXU)
        hooks = [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/" % self.rx.port, "timeout": 1},
                 {"name": "slow", "type": "exec", "command": [script], "timeout": 1}]
        self.start([dict(RULE, hooks=["shift", "slow"])], hooks)
        self.assertEqual(self.srv.post(spill(93, 1, dead_time=0.45))[0], 200)
        rows = self.deliveries(until=lambda rows: {r["hook"] for r in rows} == {"shift", "slow"})
        web = next(r for r in rows if r["hook"] == "shift")
        cmd = next(r for r in rows if r["hook"] == "slow")
        self.assertEqual((web["outcome"], web["http_status"]), ("retrying", None))
        self.assertTrue(web["error"].startswith("timeout: "), web["error"])
        self.assertEqual((cmd["outcome"], cmd["exit_code"], cmd["error"]),
                         ("retrying", None, "timeout: the command was killed after 1.0 s"))
        self.assertGreater(cmd["latency"], 0)
        self.rx.mode = "ok"

    def test_exec_hook_exit_code_and_held_back_notice(self):
        flag = os.path.join(self.tmp, "fail-once")
        open(flag, "w").close()
        script = os.path.join(self.tmp, "hook.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nif [ -e %s ]; then rm %s; exit 3; fi\nexit 0\n" % (flag, flag))
        os.chmod(script, stat.S_IRWXU)
        hooks = [{"name": "script", "type": "exec", "command": [script, "--secret-arg"], "timeout": 5}]
        rule = dict(RULE, hooks=["script"])
        self.start([rule], hooks)
        self.assertEqual(self.srv.post(spill(92, 1, dead_time=0.45))[0], 200)
        rows = self.deliveries(n=2)
        self.assertEqual([(r["attempt"], r["outcome"], r["exit_code"], r["error"]) for r in rows],
                         [(1, "retrying", 3, "exit status 3"), (2, "delivered", 0, None)])
        self.assertEqual((rows[0]["kind"], rows[0]["target"], rows[0]["http_status"]), ("exec", script, None))
        # A silenced episode: its firing notice is held back, once, and logged so.
        self.assertEqual(self.srv.post(spill(92, 2, dead_time=0.05))[0], 200)
        status, body = self.call("POST", "/api/v1/silences", {"alarm": "dead_time_high", "duration": 600,
                                                              "comment": "readout tuning"})
        self.assertEqual(status, 201, body)
        self.assertEqual(self.srv.post(spill(92, 3, dead_time=0.45))[0], 200)
        rows = self.deliveries(until=lambda rows: any(r["outcome"] == "silenced" for r in rows))
        time.sleep(1.5)  # a few ticks: still one row
        held = [r for r in self.deliveries(timeout=0) if r["outcome"] == "silenced"]
        self.assertEqual(len(held), 1, held)
        self.assertEqual((held[0]["attempt"], held[0]["status"], held[0]["spill"], held[0]["error"]),
                         (0, "firing", 3, "held back by a silence"))

    def test_figures_after_a_scripted_sequence_equal_the_hand_computed_ones(self):
        self.scripted = Scripted()
        hooks = [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/" % self.scripted.port,
                  "timeout": 2}]
        self.start([RULE, dict(RULE, name="quiet_rule", above=0.99)], hooks)
        def now_fired():
            body = self.srv.get("/api/v1/alarms/stats")[1]
            r = next(r for r in body["rules"] if r["alarm"] == "dead_time_high")
            return r["fired"], r["firing_now"], r["acknowledged"]

        # The figures are asked for between the steps too: the history is folded once, then only
        # what was committed since is added, and the end must equal the hand-computed figures.
        self.assertEqual(now_fired(), (0, 0, 0))
        # Episode 1 (run 95): fires at spill 1, acknowledged, resolves by itself at spill 3.
        self.assertEqual(self.srv.post(spill(95, 1, dead_time=0.45))[0], 200)
        self.assertEqual(now_fired(), (1, 1, 0))
        time.sleep(0.7)
        status, body = self.call("POST", "/api/v1/alarms/dead_time_high/ack", {"shifter": "A. Shifter"})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.srv.post(spill(95, 2, dead_time=0.45))[0], 200)
        self.assertEqual(now_fired(), (1, 1, 1))
        self.assertEqual(self.srv.post(spill(95, 3, dead_time=0.05))[0], 200)
        self.assertEqual(now_fired(), (1, 0, 1))
        # Episode 2 (run 96): silenced before it fires at spill 10, resolves by itself at spill 20.
        status, body = self.call("POST", "/api/v1/silences", {"alarm": "dead_time_high", "duration": 600,
                                                              "comment": "HV scan"})
        self.assertEqual(status, 201, body)
        silence = body["silence"]
        self.assertEqual(self.srv.post(spill(96, 10, dead_time=0.45))[0], 200)
        time.sleep(1.2)
        self.assertEqual(self.srv.post(spill(96, 20, dead_time=0.05))[0], 200)
        self.deliveries(until=lambda rows: len([r for r in rows if r["outcome"] == "delivered"]) >= 2
                        and any(r["outcome"] == "silenced" for r in rows))

        hist = self.history()
        fires = [h for h in hist if h["to"] == "firing"]
        ack = next(h for h in hist if h["to"] == "acknowledged")
        ends = [h for h in hist if h["to"] == "resolved"]
        self.assertEqual((len(fires), len(ends)), (2, 2), hist)
        ack_s = ack["time"] - fires[0]["time"]
        firing_s = (ends[0]["time"] - fires[0]["time"]) + (ends[1]["time"] - fires[1]["time"])
        silenced_s = ends[1]["time"] - max(silence["starts_at"], fires[1]["time"])

        def rule(query, name="dead_time_high"):
            status, body = self.srv.get("/api/v1/alarms/stats" + query)
            self.assertEqual(status, 200, body)
            return body, next(r for r in body["rules"] if r["alarm"] == name)

        body, r = rule("")
        self.assertEqual((body["within"], body["since"], body["until"], body["runs"]), (3, None, None, None))
        self.assertEqual((r["fired"], r["firing_now"], r["acknowledged"], r["auto_resolved"], r["reset"]),
                         (2, 0, 1, 2, 0))
        self.assertEqual(r["auto_resolved_within"], 1)  # 3 - 1 = 2 spills, yes; 20 - 10, no
        self.assertAlmostEqual(r["ack_median_seconds"], ack_s, places=6)
        self.assertAlmostEqual(r["ack_max_seconds"], ack_s, places=6)
        self.assertAlmostEqual(r["ack_total_seconds"], ack_s, places=6)
        self.assertAlmostEqual(r["firing_seconds"], firing_s, places=6)
        self.assertAlmostEqual(r["silenced_seconds"], silenced_s, places=6)
        self.assertEqual(r["deliveries"], {"delivered": 2, "retrying": 0, "dropped": 0, "queue_full": 0,
                                           "silenced": 1})
        self.assertEqual((r["deliveries_failed"], r["in_profile"], r["severity"]), (0, True, "warning"))
        self.assertEqual([(h["hook"], h["delivered"], h["silenced"], h["failed"], h["in_rule"]) for h in r["hooks"]],
                         [("shift", 2, 1, 0, True)])
        quiet = rule("", "quiet_rule")[1]
        self.assertEqual((quiet["fired"], quiet["ack_median_seconds"], quiet["firing_seconds"]), (0, None, 0))
        self.assertEqual(rule("?within=10")[1]["auto_resolved_within"], 2)
        self.assertEqual(rule("?within=1")[1]["auto_resolved_within"], 0)
        # Ranges: by runs, by Unix and by ISO 8601 time (in two zones).
        body, one = rule("?runs=96")
        self.assertEqual((body["runs"], one["fired"], one["acknowledged"], one["deliveries"]["delivered"]),
                         ([96, 96], 1, 0, 0))
        self.assertAlmostEqual(one["silenced_seconds"], silenced_s, places=6)
        self.assertEqual(rule("?runs=95-96")[1]["fired"], 2)
        self.assertEqual(rule("?since=%r" % fires[1]["time"])[1]["fired"], 1)
        self.assertEqual(rule("?until=%r" % fires[1]["time"])[1]["fired"], 1)
        t0 = int(fires[0]["time"]) - 1
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0))
        body, both = rule("?since=" + iso)
        self.assertEqual((body["since"], both["fired"]), (t0, 2))
        plus1 = time.strftime("%Y-%m-%dT%H:%M:%S+01:00", time.gmtime(t0 + 3600))
        self.assertEqual(rule("?since=" + plus1.replace("+", "%2B"))[0]["since"], t0)
        self.assertEqual(calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")), t0)
        self.assertEqual(rule("?since=%d" % (int(ends[1]["time"]) + 5))[1]["fired"], 0)

        # /metrics: the same figures per rule, bounded labels, accepted by promtool.
        status, text = self.srv.get("/metrics")
        p = promtool("check", "metrics", stdin=text)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = parse(text)
        a = (("alarm", "dead_time_high"),)
        self.assertEqual(m[("spillwatch_alarm_fired_total", a)], 2)
        self.assertEqual(m[("spillwatch_alarm_acknowledged_total", a)], 1)
        self.assertEqual(m[("spillwatch_alarm_auto_resolved_within_spills_total", a)], 1)
        self.assertEqual(m[("spillwatch_alarm_ack_seconds_count", a)], 1)
        self.assertAlmostEqual(m[("spillwatch_alarm_ack_seconds_sum", a)], ack_s, places=6)
        self.assertAlmostEqual(m[("spillwatch_alarm_firing_seconds_total", a)], firing_s, places=6)
        self.assertAlmostEqual(m[("spillwatch_alarm_silenced_seconds_total", a)], silenced_s, places=6)
        self.assertEqual(m[("spillwatch_alarm_deliveries_total", a + (("hook", "shift"), ("outcome", "delivered")))], 2)
        self.assertEqual(m[("spillwatch_alarm_deliveries_total", a + (("hook", "shift"), ("outcome", "silenced")))], 1)
        self.assertEqual(m[("spillwatch_alarm_fired_total", (("alarm", "quiet_rule"),))], 0)
        series = [k for k in m if k[0] == "spillwatch_alarm_deliveries_total"]
        self.assertEqual(len(series), 2 * 1 * 5)  # rules x their hooks x outcomes

    def test_whole_history_figures_equal_the_walk_over_every_episode(self):
        # Without a range and without a silence the figures come from the fold's running sums; with
        # a range covering everything they come from a walk over the episodes: the same figures.
        self.scripted = Scripted()
        self.start([RULE], [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/" % self.scripted.port,
                             "timeout": 2}])
        for run, spills in ((80, [0.45, 0.45, 0.05]), (81, [0.45, 0.05]), (82, [0.45, 0.45, 0.45, 0.45, 0.05]),
                            (83, [0.45])):
            for n, dt in enumerate(spills, 1):
                self.assertEqual(self.srv.post(spill(run, n, dead_time=dt))[0], 200)
                if (run, n) in ((81, 1), (82, 2)):
                    time.sleep(0.2)
                    status, body = self.call("POST", "/api/v1/alarms/dead_time_high/ack", {"shifter": "B"})
                    self.assertEqual(status, 200, body)
        status, body = self.call("POST", "/api/v1/alarms/dead_time_high/reset", {"comment": "by hand"})
        self.assertIn(status, (200, 409), body)
        self.assertEqual(self.srv.post(spill(84, 1, dead_time=0.45))[0], 200)  # firing now
        for within in (0, 1, 2, 3, 10):
            whole = self.srv.get("/api/v1/alarms/stats?within=%d" % within)[1]
            walk = self.srv.get("/api/v1/alarms/stats?since=0&within=%d" % within)[1]
            a, b = ([r for r in x["rules"] if r["alarm"] == "dead_time_high"][0] for x in (whole, walk))
            self.assertGreaterEqual(a["fired"], 4)
            self.assertEqual(a["firing_now"], 1)
            for k in a:
                if k in ("firing_seconds", "ack_total_seconds", "ack_median_seconds", "ack_max_seconds"):
                    self.assertAlmostEqual(a[k] or 0, b[k] or 0, delta=0.5 if k == "firing_seconds" else 1e-6, msg=k)
                else:
                    self.assertEqual(a[k], b[k], (within, k))

    def test_hooks_started_by_a_reload_keep_logging(self):
        self.scripted = Scripted()
        one = [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/" % self.scripted.port, "timeout": 2}]
        self.start([RULE], one)
        two = one + [{"name": "desk", "type": "webhook", "url": "http://127.0.0.1:%d/desk" % self.scripted.port,
                      "timeout": 2}]
        profile_with(self.tmp, two, [dict(RULE, hooks=["shift", "desk"])])  # the same file, new hooks
        status, raw, _ = self.srv.request("POST", "/api/v1/admin/reload", b"")
        self.assertEqual(status, 200, raw)
        self.assertEqual(self.srv.post(spill(97, 1, dead_time=0.45))[0], 200)
        rows = self.deliveries(until=lambda rows: {r["hook"] for r in rows} == {"shift", "desk"})
        self.assertEqual(sorted((r["hook"], r["outcome"]) for r in rows), [("desk", "delivered"), ("shift", "delivered")])

    def test_bad_input(self):
        self.start([RULE], [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:9/", "timeout": 1}])
        status, body = self.srv.get("/api/v1/alarms/no_such_rule/deliveries")
        self.assertEqual(status, 404, body)
        self.assertIn("no_such_rule", body["error"])
        cases = [("/api/v1/alarms/stats?since=yesterday", "since"),
                 ("/api/v1/alarms/stats?until=2026-13-01T00:00:00Z", "until"),
                 ("/api/v1/alarms/stats?since=2026-12-01T00:00:00", "since"),  # no zone
                 ("/api/v1/alarms/stats?since=200&until=100", "until"),
                 ("/api/v1/alarms/stats?runs=5-2", "runs"),
                 ("/api/v1/alarms/stats?runs=x", "runs"),
                 ("/api/v1/alarms/stats?runs=5&since=1", "runs"),
                 ("/api/v1/alarms/stats?within=-1", "within"),
                 ("/api/v1/alarms/stats?within=2000000", "within"),
                 ("/api/v1/alarms/dead_time_high/deliveries?limit=x", "limit"),
                 ("/api/v1/alarms/dead_time_high/deliveries?runs=3-", "runs"),
                 ("/api/v1/alarms/dead_time_high/deliveries?since=-5", "since")]
        for path, param in cases:
            status, body = self.srv.get(path)
            self.assertEqual(status, 400, (path, body))
            self.assertIn('"%s"' % param, body["error"], path)
        self.assertEqual(self.srv.get("/api/v1/alarms/dead_time_high/deliveries")[0], 200)


if __name__ == "__main__":
    unittest.main()
