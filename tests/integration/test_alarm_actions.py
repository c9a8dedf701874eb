"""What shifters and the live side of alarms do, against a real webhook receiver on loopback:
acknowledge (stops repeats, not escalation; expiry), reset of latched alarms, silences (by rule
name or label; a held-back notice goes out when the silence ends), live rules (seconds since data
during beam time, beam off, in-spill trigger rate, suppression without beam), states restored after
a restart, HMAC-signed webhooks, alarm metrics checked by promtool, and every bad request answered
with a clear JSON error."""
import hashlib
import hmac
import json
import time
import unittest

from harness import Server, ndjson
from test_alarms import ReceiverTest, profile_with
from test_metrics import parse, promtool

SHIFTER = {"Authorization": "Bearer shift-secret-0123456789"}
READER = {"Authorization": "Bearer read-secret-01234567890"}
TOKENS = {"tokens": [{"name": "daq", "token": "daq-secret-0123456789", "roles": ["ingest"]},
                     {"name": "night-shift", "token": "shift-secret-0123456789", "roles": ["shifter"]},
                     {"name": "viewer", "token": "read-secret-01234567890", "roles": ["read"]}]}
INGEST = {"Authorization": "Bearer daq-secret-0123456789"}

# Dead time above 0.3 fires at once and, latched, stays firing until a shifter resets it.
LATCHED = {"name": "dead_time_high", "severity": "warning", "labels": {"category": "daq"},
           "quantity": {"spill": "dead_time"}, "above": 0.3, "latched": True, "requires_beam": False,
           "hooks": ["shift", {"hook": "pager", "after": 3}]}


def spill(run, spill_no, mot=5e6, dead_time=0.05, events=0):
    """A whole spill: `events` physics events and its spill_end."""
    recs = [{"type": "event", "run": run, "spill": spill_no, "event": i, "trigger": "physics"}
            for i in range(events)]
    recs.append({"type": "spill_end", "run": run, "spill": spill_no, "duration": 4.8, "dead_time": dead_time,
                 "counters": {"mot": mot, "trig_physics": events, "recorded": events}})
    return ndjson(*recs)


class AlarmActions(ReceiverTest):
    def hooks(self, repeat=0, secret=None):
        shift = {"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/shift" % self.rx.port,
                 "timeout": 2, "repeat_interval": repeat}
        if secret:
            shift["secret"] = secret
        return [shift, {"name": "pager", "type": "webhook", "url": "http://127.0.0.1:%d/pager" % self.rx.port,
                        "timeout": 2}]

    def start(self, alarms, hooks=None, auth=None, db=None):
        config = {"profile": profile_with(self.tmp, hooks or self.hooks(), alarms)}
        if auth:
            config["auth"] = auth
        self.srv = Server(self.tmp, config=config, db=db).start()
        return self.srv

    def call(self, method, path, body=None, headers=None):
        raw = json.dumps(body) if isinstance(body, (dict, list)) else body
        status, data, _ = self.srv.request(method, path, raw, dict({"Content-Type": "application/json"},
                                                                  **(headers or {})))
        return status, json.loads(data)

    def alarm(self, name):
        return next(a for a in self.srv.get("/api/v1/alarms")[1]["alarms"] if a["name"] == name)

    def wait_state(self, name, state, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline and self.alarm(name)["state"] != state:
            time.sleep(0.1)
        return self.alarm(name)

    def history(self, name):
        return [(h["from"], h["to"], h["note"], h["who"], h["shifter"], h["comment"])
                for h in reversed(self.srv.get("/api/v1/alarms?history=1&alarm=" + name)[1]["history"])]

    def test_ack_stops_repeats_but_not_escalation_and_reset_resolves_a_latched_alarm(self):
        self.start([LATCHED], self.hooks(repeat=1), auth=TOKENS)
        self.assertEqual(self.srv.post(spill(90, 1, dead_time=0.45), headers=INGEST)[0], 200)
        fire = self.rx.wait(2, path="/shift")  # the first notice, then a repeat a second later
        self.assertEqual([p["status"] for p in fire[:2]], ["firing", "firing"])
        self.assertEqual(fire[0]["alerts"][0]["fingerprint"], fire[1]["alerts"][0]["fingerprint"])
        self.assertEqual(fire[0]["alerts"][0]["labels"]["category"], "daq")  # the rule's own label
        status, body = self.call("POST", "/api/v1/alarms/dead_time_high/ack",
                                 {"comment": "DAQ expert called", "shifter": "A. Muon"}, SHIFTER)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["alarm"]["state"], "acknowledged")
        self.assertEqual(body["alarm"]["acknowledged"]["by"], "A. Muon")
        time.sleep(0.5)  # a repeat queued before the ack may still be on its way
        after_ack = len(self.rx.wait(0, path="/shift"))
        # Escalation goes on: the pager is told 3 s after the start, acknowledged or not.
        pager = self.rx.wait(1, path="/pager")
        self.assertEqual([p["status"] for p in pager], ["firing"])
        time.sleep(2.5)  # two more repeat intervals
        self.assertEqual(len(self.rx.wait(0, path="/shift")), after_ack, "no repeats while acknowledged")

        # A latched alarm is reset by a shifter; both hooks that were told hear it resolved.
        status, body = self.call("POST", "/api/v1/alarms/dead_time_high/reset", {"comment": "fixed"}, SHIFTER)
        self.assertEqual((status, body["alarm"]["state"]), (200, "resolved"), body)
        self.assertEqual(self.rx.wait(after_ack + 1, path="/shift")[-1]["status"], "resolved")
        self.assertEqual([p["status"] for p in self.rx.wait(2, path="/pager")], ["firing", "resolved"])
        steps = self.history("dead_time_high")
        self.assertEqual([s[:2] for s in steps], [("inactive", "firing"), ("firing", "acknowledged"),
                                                   ("acknowledged", "resolved")])
        self.assertEqual(steps[1][2:], ("acknowledged", "night-shift", "A. Muon", "DAQ expert called"))
        self.assertEqual(steps[2][2:], ("reset", "night-shift", None, "fixed"))

    def test_acknowledgement_expires_and_repeats_resume(self):
        self.start([dict(LATCHED, hooks=["shift"])], self.hooks(repeat=1))
        self.assertEqual(self.srv.post(spill(91, 1, dead_time=0.45))[0], 200)
        self.rx.wait(1, path="/shift")
        status, body = self.call("POST", "/api/v1/alarms/dead_time_high/ack", {"expires_in": 1.5})
        self.assertEqual(status, 200, body)
        self.assertIsNotNone(body["alarm"]["acknowledged"]["expires"])
        self.assertEqual(self.wait_state("dead_time_high", "firing")["state"], "firing")
        n = len(self.rx.wait(0, path="/shift"))
        self.assertGreater(len(self.rx.wait(n + 1, path="/shift")), n, "repeats resume after the expiry")
        self.assertIn(("acknowledged", "firing", "acknowledgement expired", None, None, None),
                      self.history("dead_time_high"))

    def test_silence_by_label_mutes_and_its_end_sends_the_held_back_notice(self):
        self.start([LATCHED])
        status, body = self.call("POST", "/api/v1/silences",
                                 {"matchers": {"category": "daq"}, "duration": 600,
                                  "comment": "DAQ intervention", "creator": "run coordinator"})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["matches"], ["dead_time_high"])
        sid = body["silence"]["id"]
        self.assertEqual((body["silence"]["creator"], body["silence"]["who"], body["silence"]["active"]),
                         ("run coordinator", "open", True))
        self.assertEqual(self.srv.post(spill(92, 1, dead_time=0.45))[0], 200)
        self.assertEqual(self.wait_state("dead_time_high", "firing")["silenced_by"], sid)
        time.sleep(4)  # past the pager's escalation delay too
        self.assertEqual(self.rx.requests, [], "a silenced alarm notifies nobody")
        status, body = self.call("DELETE", "/api/v1/silences/%d" % sid)
        self.assertEqual((status, body["silence"]["active"], body["silence"]["expired_by"]), (200, False, "open"))
        self.assertEqual([p["status"] for p in self.rx.wait(1, path="/shift")], ["firing"])
        self.assertEqual([p["status"] for p in self.rx.wait(1, path="/pager")], ["firing"])
        self.assertEqual(self.call("DELETE", "/api/v1/silences/%d" % sid)[0], 409)
        listed = self.srv.get("/api/v1/silences")[1]["silences"]
        self.assertEqual([(s["id"], s["active"], s["comment"]) for s in listed], [(sid, False, "DAQ intervention")])
        self.assertEqual(self.srv.get("/api/v1/silences?active=1")[1]["silences"], [])

    def test_silenced_episode_sends_nothing_at_all(self):
        rule = {"name": "trigger_rate_per_mot", "quantity": {"counter": "trig_physics", "per": "mot"},
                "below": 0.5e-3, "for": 2, "hooks": ["shift"]}
        self.start([rule])
        status, body = self.call("POST", "/api/v1/silences", {"alarm": "trigger_rate_per_mot", "duration": 600,
                                                              "comment": "trigger study"})
        self.assertEqual(status, 201, body)
        self.srv.sim("--run", "93", "--spills", "5", "--seed", "46", "--fault", "trigger_low@2-3", "--scale", "0.2")
        self.assertEqual([s[:2] for s in self.history("trigger_rate_per_mot")],
                         [("inactive", "pending"), ("pending", "firing"), ("firing", "resolved")])
        time.sleep(0.5)
        self.assertEqual(self.rx.requests, [], "neither firing nor resolved of a silenced episode")

    def test_seconds_since_data_fires_during_beam_time_only(self):
        rule = {"name": "daq_stalled", "live": "seconds_since_data", "above": 2, "hooks": ["shift"]}
        self.start([rule])
        # Before any spill with beam: no beam time, no alarm however long the silence.
        self.assertEqual(self.srv.post(spill(94, 1, mot=0))[0], 200)
        time.sleep(3.5)
        self.assertEqual(self.alarm("daq_stalled")["state"], "inactive")
        # A spill with beam, then nothing: the DAQ stalled. A late run_end of an older run does not
        # end the beam time of this one.
        self.assertEqual(self.srv.post(spill(94, 2) + ndjson({"type": "run_end", "run": 93}))[0], 200)
        fire = self.rx.wait(1, path="/shift")
        self.assertEqual(fire[0]["status"], "firing")
        self.assertGreater(fire[0]["value"], 2)
        self.assertEqual((fire[0]["run"], fire[0]["spill"]), (94, 2))
        # Data again: resolved at the next tick.
        self.assertEqual(self.srv.post(ndjson({"type": "spill_start", "run": 94, "spill": 3}))[0], 200)
        self.assertEqual([p["status"] for p in self.rx.wait(2, path="/shift")], ["firing", "resolved"])
        # After run_end the silence is expected: nothing fires.
        self.assertEqual(self.srv.post(spill(94, 3) + ndjson({"type": "run_end", "run": 94}))[0], 200)
        time.sleep(3.5)
        self.assertEqual(self.alarm("daq_stalled")["state"], "resolved")
        self.assertEqual(len(self.rx.wait(0, path="/shift")), 2)

    def test_beam_off_for_seconds_and_back(self):
        rule = {"name": "beam_off", "live": "beam", "below": 0.5, "for_seconds": 1.5, "hooks": ["shift"]}
        self.start([rule])
        self.assertEqual(self.srv.post(spill(95, 1))[0], 200)
        self.assertEqual(self.srv.post(spill(95, 2, mot=10))[0], 200)  # below beam_min_mot: no beam
        self.assertEqual(self.wait_state("beam_off", "pending")["state"], "pending")
        fire = self.rx.wait(1, path="/shift")
        self.assertEqual((fire[0]["status"], fire[0]["value"]), ("firing", 0))
        self.assertEqual(self.srv.post(spill(95, 3))[0], 200)
        self.assertEqual([p["status"] for p in self.rx.wait(2, path="/shift")], ["firing", "resolved"])
        self.assertEqual(self.alarm("beam_off")["kind"], "live")

    def test_in_spill_trigger_rate_and_suppression_without_beam(self):
        rule = {"name": "trigger_rate_high", "live": "trigger_rate", "trigger": "physics", "above": 100,
                "hooks": ["shift"]}
        self.start([rule])

        def feed(run, spill_no, mot):
            for k in range(6):  # 300 events every 0.5 s: about 600 Hz while the spill is open
                recs = [{"type": "event", "run": run, "spill": spill_no, "event": 300 * k + i,
                         "trigger": "physics"} for i in range(300)]
                self.assertEqual(self.srv.post(ndjson(*recs))[0], 200)
                time.sleep(0.5)
            self.assertEqual(self.srv.post(spill(run, spill_no, mot=mot))[0], 200)

        # The last closed spill had no beam: rate rules are suppressed.
        self.assertEqual(self.srv.post(spill(96, 1, mot=0))[0], 200)
        feed(96, 2, mot=0)
        self.assertEqual(self.alarm("trigger_rate_high")["state"], "inactive")
        self.assertEqual(self.rx.requests, [])
        # With beam, the same feed fires while the spill is open.
        self.assertEqual(self.srv.post(spill(96, 3))[0], 200)
        feed(96, 4, mot=5e6)
        fire = self.rx.wait(1, path="/shift")
        self.assertEqual(fire[0]["status"], "firing")
        self.assertGreater(fire[0]["value"], 100)
        self.assertEqual((fire[0]["run"], fire[0]["spill"]), (96, 4))

    def test_firing_state_survives_a_restart(self):
        self.start([dict(LATCHED, hooks=["shift"])])
        self.assertEqual(self.srv.post(spill(97, 1, dead_time=0.45))[0], 200)
        fire = self.rx.wait(1, path="/shift")[0]
        before = self.alarm("dead_time_high")
        db = self.srv.db
        self.assertEqual(self.srv.stop(), 0)
        self.start([dict(LATCHED, hooks=["shift"])], db=db)
        after = self.alarm("dead_time_high")
        self.assertEqual((after["state"], after["starts_at"], after["spill"]), ("firing", before["starts_at"], 1))
        time.sleep(1.5)
        self.assertEqual(len(self.rx.wait(0, path="/shift")), 1, "no second firing notice after the restart")
        self.assertEqual(self.call("POST", "/api/v1/alarms/dead_time_high/reset", {})[0], 200)
        res = self.rx.wait(2, path="/shift")[1]
        self.assertEqual(res["status"], "resolved")
        self.assertEqual(res["alerts"][0]["fingerprint"], fire["alerts"][0]["fingerprint"])

    def test_webhook_body_is_signed_with_hmac_sha256(self):
        secret = "hook-secret-0123456789"
        self.start([dict(LATCHED, hooks=["shift"])], self.hooks(secret=secret))
        self.assertEqual(self.srv.post(spill(98, 1, dead_time=0.45))[0], 200)
        self.rx.wait(1, path="/shift")
        path, headers, body = self.rx.requests[0]
        want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        self.assertEqual(headers.get("X-Spillwatch-Signature"), want)

    def test_alarm_metrics_pass_promtool(self):
        self.start([dict(LATCHED, hooks=["shift"]), {"name": "mot_low", "quantity": {"counter": "mot"},
                                                     "below": 1e6, "hooks": []}])
        self.assertEqual(self.srv.post(spill(99, 1, dead_time=0.45))[0], 200)
        self.wait_state("dead_time_high", "firing")
        self.assertEqual(self.call("POST", "/api/v1/silences", {"alarm": "mot_low", "duration": 60,
                                                                "comment": "low intensity run"})[0], 201)
        status, text = self.srv.get("/metrics")
        p = promtool("check", "metrics", stdin=text)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = parse(text)
        self.assertEqual(m[("spillwatch_alarm_active", (("alarm", "dead_time_high"), ("severity", "warning")))], 1)
        self.assertEqual(m[("spillwatch_alarm_active", (("alarm", "mot_low"), ("severity", "warning")))], 0)
        self.assertEqual(m[("spillwatch_alarms", (("state", "firing"),))], 1)
        self.assertEqual(m[("spillwatch_alarms", (("state", "inactive"),))], 1)
        self.assertEqual(m[("spillwatch_silences_active", ())], 1)
        self.assertEqual(m[("spillwatch_alarms_firing", ())], 1)

    def test_bad_requests_get_clear_errors_and_change_nothing(self):
        self.start([LATCHED, {"name": "mot_low", "quantity": {"counter": "mot"}, "below": 1e6, "for": 2,
                              "requires_beam": False}], auth=TOKENS)
        ack = "/api/v1/alarms/dead_time_high/ack"
        cases = [
            ("POST", ack, {}, None, 401, "token"),
            ("POST", ack, {}, READER, 403, "role"),
            ("POST", "/api/v1/alarms/nope/ack", {}, SHIFTER, 404, "no alarm rule \"nope\""),
            ("POST", ack, {}, SHIFTER, 409, "is inactive, not firing"),
            ("POST", ack, "{\"comment\": ", SHIFTER, 400, "invalid JSON at line 1"),
            ("POST", ack, {"coment": "typo"}, SHIFTER, 400, "unknown key \"coment\""),
            ("POST", ack, {"expires_in": -5}, SHIFTER, 400, "\"expires_in\" must be"),
            ("GET", ack, None, SHIFTER, 405, "use POST"),
            ("POST", "/api/v1/silences", {"alarm": "nope", "duration": 60, "comment": "x"}, SHIFTER, 400,
             "match no alarm rule"),
            ("POST", "/api/v1/silences", {"alarm": "mot_low", "duration": 60}, SHIFTER, 400, "\"comment\" is required"),
            ("POST", "/api/v1/silences", {"alarm": "mot_low", "comment": "x"}, SHIFTER, 400,
             "exactly one of \"duration\""),
            ("POST", "/api/v1/silences", {"alarm": "mot_low", "duration": 60, "ends_at": 2e9, "comment": "x"},
             SHIFTER, 400, "exactly one of \"duration\""),
            ("POST", "/api/v1/silences", {"alarm": "mot_low", "duration": 1e9, "comment": "x"}, SHIFTER, 400,
             "at most 30 days"),
            ("POST", "/api/v1/silences", {"alarm": "mot_low", "ends_at": 1000, "comment": "x"}, SHIFTER, 400,
             "in the future"),
            ("POST", "/api/v1/silences", {"matchers": {"category": 5}, "duration": 60, "comment": "x"}, SHIFTER,
             400, "matchers.category"),
            ("POST", "/api/v1/silences", {"matchers": {}, "duration": 60, "comment": "x"}, SHIFTER, 400,
             "1 to 8"),
            ("POST", "/api/v1/silences", {"alarm": "mot_low", "duration": 60, "comment": "x"}, READER, 403, "role"),
            ("DELETE", "/api/v1/silences/77", None, SHIFTER, 404, "no silence 77"),
            ("DELETE", "/api/v1/silences/x", None, SHIFTER, 400, "silence id"),
            ("PUT", "/api/v1/silences", {}, SHIFTER, 405, "not allowed"),
        ]
        for method, path, body, headers, want, text in cases:
            status, reply = self.call(method, path, body, headers)
            self.assertEqual(status, want, (method, path, body, reply))
            self.assertIn(text, reply["error"], (method, path, body))
        # A firing alarm that is not latched cannot be reset: it resolves by itself.
        self.assertEqual(self.srv.post(spill(100, 1, mot=10) + spill(100, 2, mot=10), headers=INGEST)[0], 200)
        self.assertEqual(self.wait_state("mot_low", "firing")["state"], "firing")
        status, reply = self.call("POST", "/api/v1/alarms/mot_low/reset", {}, SHIFTER)
        self.assertEqual(status, 409)
        self.assertIn("not latched", reply["error"])
        self.assertEqual(self.srv.get("/api/v1/silences")[1]["silences"], [])
        self.assertEqual([s[1] for s in self.history("mot_low")], ["pending", "firing"])
        self.assertEqual(self.srv.get("/api/v1/health")[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
