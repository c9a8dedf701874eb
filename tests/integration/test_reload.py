"""Profile reload (issue 7): SIGHUP and POST /api/v1/admin/reload re-read the profile file. A new
threshold applies from the next spill; an invalid profile is refused with every problem and the old
one stays; a spill open at the reload keeps every event and is judged by the profile it was opened
with; only an admin token may reload; reloads while a collector ingests lose and double nothing."""
import collections
import json
import os
import shutil
import signal
import tempfile
import threading
import time

from harness import SRC, Server, ServerTest, load_json, main, ndjson, sim_output, write_json, write_text
from test_alarms import Receiver

ADMIN = {"Authorization": "Bearer admin-secret-0123456789"}
SHIFT = {"Authorization": "Bearer shift-secret-0123456789"}
DAQ = {"Authorization": "Bearer daq-secret-0123456789"}
TOKENS = {"tokens": [
    {"name": "daq", "token": "daq-secret-0123456789", "roles": ["ingest"]},
    {"name": "shift-crew", "token": "shift-secret-0123456789", "roles": ["shifter"]},
    {"name": "config-admin", "token": "admin-secret-0123456789", "roles": ["admin"]}]}


def na64mu(version="reload-1", good=1.6, warn=4.8):
    """The shipped profile with its own version and p_in_mean's stability window against a fixed
    159.1 GeV/c (instead of the run's baseline, which a run of one or two spills is still learning)."""
    prof = load_json(os.path.join(SRC, "config", "na64mu.json"))
    prof["version"] = version
    for c in prof["checks"]:
        if c["name"] == "p_in_mean":
            c["reference"] = 159.1
            c.pop("significance", None)
            c["good"], c["warn"] = [-good, good], [-warn, warn]
    return prof


def spill_records(run, spill, first, n, p_in=159.1, end=True):
    """n events of one spill (event numbers first..first+n-1), p_in at 159.1 = the reference."""
    recs = [{"type": "event", "run": run, "spill": spill, "event": first + i, "trigger": "physics",
             "p_in": p_in + (0.5 if i % 2 else -0.5)} for i in range(n)]
    if end:
        recs.append({"type": "spill_end", "run": run, "spill": spill, "duration": 4.8,
                     "counters": {"mot": 5e6, "trig_physics": n, "recorded": n}})
    return ndjson(*recs)


class ReloadTest(ServerTest):
    """A server whose config names a profile file in the test's directory, with tokens."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swtest-")
        self.profile_path = os.path.join(self.tmp, "profile.json")
        write_json(self.profile_path, na64mu())
        self.srv = Server(self.tmp, config={"profile": self.profile_path, "auth": TOKENS}).start()

    def reload(self, headers=ADMIN):
        status, raw, _ = self.srv.request("POST", "/api/v1/admin/reload", b"", headers)
        return status, json.loads(raw)

    def ingest(self, body):
        status, res = self.srv.post(body, headers=DAQ)
        self.assertEqual(status, 200, res)
        return res

    def version(self):
        return self.srv.get("/api/v1/health")[1]["profile_version"]

    def check(self, run, spill, name="p_in_mean"):
        status, sp = self.srv.get("/api/v1/runs/%d/spills/%d" % (run, spill))
        self.assertEqual(status, 200, sp)
        return next(c for c in sp["checks"] if c["name"] == name), sp

    def metric(self, line_start):
        text = self.srv.get("/metrics")[1]
        return [l for l in text.splitlines() if l.startswith(line_start)]


class Reload(ReloadTest):
    def test_endpoint_reload_changes_the_threshold_of_the_next_spill(self):
        self.ingest(spill_records(70, 1, 1, 200))
        c1, sp1 = self.check(70, 1)
        self.assertEqual(c1["state"], "GOOD", c1)
        old = self.version()
        self.assertTrue(old.startswith("reload-1#"), old)
        self.assertEqual(sp1["profile_version"], old)

        prof = na64mu("reload-2", good=0.01, warn=0.02)  # delta of ~0 passes, but 0.05 offset fails
        prof["alarms"] = [a for a in prof["alarms"] if a["name"] != "beam_off"]
        prof["alarms"].append(dict(prof["alarms"][0], name="trigger_rate_per_mot_2"))
        write_json(self.profile_path, prof)
        status, res = self.reload()
        self.assertEqual(status, 200, res)
        self.assertTrue(res["changed"])
        self.assertEqual(res["old"], {"name": "na64mu", "version": old})
        self.assertEqual(res["new"]["name"], "na64mu")
        new = res["new"]["version"]
        self.assertTrue(new.startswith("reload-2#"), new)
        self.assertIn("listen", res["not_reloaded"])
        self.assertEqual(res["alarms"], {"kept": len(prof["alarms"]) - 1, "dropped": 1, "added": 1})
        self.assertEqual(self.version(), new)
        self.assertEqual(self.srv.get("/api/v1/histograms")[1]["version"], new)
        # The definition shown beside a stored result is the one in force now.
        c1, _ = self.check(70, 1)
        self.assertEqual(c1["good"], [-0.01, 0.01])
        self.assertEqual(c1["state"], "GOOD")  # the stored judgement is not rewritten
        names = {a["name"] for a in self.srv.get("/api/v1/alarms")[1]["alarms"]}
        self.assertIn("trigger_rate_per_mot_2", names)
        self.assertNotIn("beam_off", names)

        self.ingest(spill_records(70, 2, 1, 200, p_in=159.15))
        c2, sp2 = self.check(70, 2)
        self.assertEqual(c2["state"], "BAD", c2)
        self.assertEqual(sp2["profile_version"], new)

        entry = self.srv.get("/api/v1/audit")[1]["entries"][0]
        self.assertEqual((entry["action"], entry["who"], entry["old"], entry["new"], entry["run"]),
                         ("reload", "config-admin", old, new, None))
        self.assertEqual(self.metric('spillwatch_profile_reloads_total{result="ok"}'),
                         ['spillwatch_profile_reloads_total{result="ok"} 1'])
        self.assertEqual(self.metric("spillwatch_profile_info"),
                         ['spillwatch_profile_info{profile="na64mu",version="%s"} 1' % new])
        log = self.srv.read_log()
        self.assertIn("profile reloaded by config-admin", log)
        self.assertIn(old, log)

    def test_sighup_reloads_the_profile(self):
        old = self.version()
        write_json(self.profile_path, na64mu("reload-hup", good=0.01, warn=0.02))
        self.srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "profile reloaded by SIGHUP" not in self.srv.read_log():
            time.sleep(0.05)
        self.assertIn("profile reloaded by SIGHUP", self.srv.read_log())
        new = self.version()
        self.assertTrue(new.startswith("reload-hup#"), new)
        self.assertIn('"%s" %s -> "na64mu" %s' % ("na64mu", old, new), self.srv.read_log())
        self.ingest(spill_records(71, 1, 1, 200, p_in=159.15))
        c, sp = self.check(71, 1)
        self.assertEqual((c["state"], sp["profile_version"]), ("BAD", new), c)

    def test_identical_profile_is_a_no_op(self):
        old = self.version()
        status, res = self.reload()
        self.assertEqual(status, 200, res)
        self.assertFalse(res["changed"])
        self.assertEqual(res["old"], res["new"])
        self.assertEqual(res["new"]["version"], old)
        self.assertEqual(self.srv.get("/api/v1/audit")[1]["entries"], [])

    def test_invalid_profiles_are_refused_and_the_old_one_stays(self):
        old = self.version()
        write_text(self.profile_path, '{"name": "na64mu",\n "version": "broken", \n')
        status, res = self.reload()
        self.assertEqual(status, 422, res)
        self.assertEqual(res["profile"]["version"], old)
        self.assertEqual(len(res["problems"]), 1, res)
        self.assertIn("profile.json:3:", res["problems"][0])  # file:line:column: what

        prof = na64mu("reload-bad")
        prof["checks"][2]["quantity"]["hist"] = "no_such_hist"
        prof["checks"][3]["good"] = [2, 1]
        write_json(self.profile_path, prof)
        status, res = self.reload()
        self.assertEqual(status, 422, res)
        self.assertEqual(len(res["problems"]), 2, res)
        self.assertTrue(any("no_such_hist" in p and "$.checks[2]" in p for p in res["problems"]), res)
        self.assertTrue(any("$.checks[3].good" in p for p in res["problems"]), res)
        log = self.srv.read_log()
        for p in res["problems"]:
            self.assertIn(p, log)  # every problem is logged

        self.srv.proc.send_signal(signal.SIGHUP)  # the same through SIGHUP: logged, refused
        deadline = time.time() + 10
        while time.time() < deadline and self.srv.read_log().count("refused") < 3:
            time.sleep(0.05)
        self.assertIn("profile reload by SIGHUP refused", self.srv.read_log())

        self.assertEqual(self.srv.get("/api/v1/health")[1]["status"], "ok")
        self.assertEqual(self.version(), old)
        self.ingest(spill_records(72, 1, 1, 200, p_in=159.15))
        c, sp = self.check(72, 1)
        self.assertEqual((c["state"], sp["profile_version"]), ("GOOD", old), c)
        self.assertEqual(self.metric('spillwatch_profile_reloads_total{result="refused"}'),
                         ['spillwatch_profile_reloads_total{result="refused"} 3'])
        self.assertEqual(self.srv.get("/api/v1/audit")[1]["entries"], [])

    def test_a_spill_open_at_the_reload_keeps_its_events_and_its_profile(self):
        self.ingest(spill_records(73, 1, 1, 200))
        old = self.version()
        self.ingest(spill_records(73, 2, 1, 150, p_in=159.15, end=False))
        prof = na64mu("reload-3", good=0.01, warn=0.02)
        # A new field ahead of the others: the events after the reload are parsed with another row
        # layout than the open spill's histograms use.
        prof["fields"] = dict([("z_extra", 3)] + list(prof["fields"].items()))
        prof["histograms"].append({"name": "z_extra0", "title": "new", "unit": "cm",
                                   "x": {"source": "z_extra[0]", "bins": 10, "min": 0, "max": 10}})
        write_json(self.profile_path, prof)
        status, res = self.reload()
        self.assertEqual(status, 200, res)
        self.assertEqual(res["open_spills_on_old_profile"], 1)
        new = res["new"]["version"]
        live = self.srv.get("/api/v1/histograms/p_in")[1]
        self.assertEqual((live["spill"], live["entries"]), (2, 150))
        # A histogram of the new profile has no live data while the open spill is the old profile's.
        status, live = self.srv.get("/api/v1/histograms/z_extra0")
        self.assertEqual((status, live["entries"], live["spill"]), (200, 0, None), live)
        self.ingest(spill_records(73, 2, 151, 150, p_in=159.15))
        c, sp = self.check(73, 2)
        self.assertEqual(sp["events"], 300)
        self.assertEqual(sp["profile_version"], old)
        self.assertEqual(c["state"], "GOOD", c)  # judged by the old ranges
        self.assertAlmostEqual(c["value"], 0.05, places=6)  # the late events came through with p_in
        h = self.srv.get("/api/v1/histograms/p_in?run=73&spill=2")[1]
        self.assertEqual(h["entries"], 300)
        self.assertAlmostEqual(h["mean"], 159.15, places=6)
        self.assertEqual(self.srv.get("/api/v1/histograms/trigger?run=73&spill=2")[1]["entries"], 300)
        # The next spill is the new profile's.
        self.ingest(spill_records(73, 3, 1, 200, p_in=159.15))
        c, sp = self.check(73, 3)
        self.assertEqual((c["state"], sp["profile_version"]), ("BAD", new), c)

    def test_only_an_admin_token_reloads(self):
        old = self.version()
        write_json(self.profile_path, na64mu("reload-auth"))
        self.assertEqual(self.reload(headers={})[0], 401)
        self.assertEqual(self.reload(headers={"Authorization": "Bearer nope-0123456789"})[0], 401)
        status, res = self.reload(headers=SHIFT)
        self.assertEqual(status, 403, res)
        self.assertIn("shift-crew", res["error"])
        self.assertEqual(self.reload(headers=DAQ)[0], 403)
        self.assertEqual(self.srv.request("GET", "/api/v1/admin/reload", None, ADMIN)[0], 405)
        self.assertEqual(self.version(), old)
        self.assertEqual(self.reload()[0], 200)
        self.assertTrue(self.version().startswith("reload-auth#"))


class ReloadAlarms(ReloadTest):
    RULES = [
        {"name": "p_in_bad", "severity": "warning", "summary": "p_in_mean BAD", "check": "p_in_mean", "above": 1.5},
        {"name": "p_in_low", "severity": "warning", "summary": "mean p_in low", "requires_beam": False,
         "quantity": {"hist": "p_in", "stat": "mean"}, "below": 150},
        {"name": "gone", "severity": "info", "summary": "removed by the reload", "check": "p_in_mean", "above": 1.5},
    ]

    def alarms(self):
        return {a["name"]: a for a in self.srv.get("/api/v1/alarms")[1]["alarms"]}

    def test_alarm_state_is_carried_by_rule_name_and_a_spill_of_the_old_profile_feeds_the_new_rules(self):
        prof = na64mu("alarms-1", good=0.01, warn=0.02)
        prof["alarms"] = self.RULES
        write_json(self.profile_path, prof)
        self.assertEqual(self.reload()[0], 200)
        self.ingest(spill_records(75, 1, 1, 200, p_in=159.15))  # p_in_mean BAD: both check rules fire
        before = self.alarms()
        self.assertEqual((before["p_in_bad"]["state"], before["gone"]["state"], before["p_in_low"]["state"]),
                         ("firing", "firing", "inactive"), before)
        self.ingest(spill_records(75, 2, 1, 150, p_in=159.15, end=False))  # open at the reload

        # Checks and histograms at other indices, "gone" removed, "fresh" added. Swapped so that the
        # old index of p_in_mean holds spill_length (GOOD here) and that of p_in holds trigger
        # (mean 0): a rule that read the old spill's results by the new index would recover/fire.
        prof = na64mu("alarms-2", good=0.01, warn=0.02)
        ck, hs = prof["checks"], prof["histograms"]
        i, j = [k for k, c in enumerate(ck) if c["name"] in ("spill_length", "p_in_mean")]
        ck[i], ck[j] = ck[j], ck[i]
        i, j = [k for k, h in enumerate(hs) if h["name"] in ("p_in", "trigger")]
        hs[i], hs[j] = hs[j], hs[i]
        prof["alarms"] = self.RULES[:2] + [dict(self.RULES[2], name="fresh")]
        write_json(self.profile_path, prof)
        status, res = self.reload()
        self.assertEqual(status, 200, res)
        self.assertEqual(res["alarms"], {"kept": 2, "dropped": 1, "added": 1})
        after = self.alarms()
        self.assertNotIn("gone", after)
        self.assertEqual(after["fresh"]["state"], "inactive")
        self.assertEqual(after["p_in_bad"]["state"], "firing")
        self.assertEqual(after["p_in_bad"]["since"], before["p_in_bad"]["since"])  # the same episode
        history = self.srv.get("/api/v1/alarms?history=1")[1]["history"]
        gone = [h for h in history if h["alarm"] == "gone"][0]
        self.assertEqual((gone["from"], gone["to"], gone["note"]), ("firing", "resolved",
                                                                     "rule removed by a profile reload"))

        # Spill 2 was judged by alarms-1 (its check and histogram indices differ from alarms-2's):
        # the rules find them by name, so p_in_mean BAD keeps p_in_bad firing and p_in_low stays quiet.
        self.ingest(spill_records(75, 2, 151, 150, p_in=159.15))
        c, sp = self.check(75, 2)
        self.assertEqual((c["state"], sp["profile_version"]), ("BAD", res["old"]["version"]))
        after = self.alarms()
        self.assertEqual(after["p_in_bad"]["state"], "firing", after["p_in_bad"])
        self.assertEqual(after["p_in_bad"]["spill"], 2)
        self.assertEqual(after["p_in_low"]["state"], "inactive", after["p_in_low"])
        self.assertEqual(after["fresh"]["state"], "firing", after["fresh"])
        # A GOOD spill of the new profile resolves it as usual.
        self.ingest(spill_records(75, 3, 1, 200))
        self.assertEqual(self.alarms()["p_in_bad"]["state"], "resolved")


class ReloadHooks(ReloadTest):
    def setUp(self):
        self.rx_old, self.rx_new = Receiver(), Receiver()
        super().setUp()

    def tearDown(self):
        super().tearDown()
        self.rx_old.close()
        self.rx_new.close()

    def profile(self, version, rx, rules):
        prof = na64mu(version, good=0.01, warn=0.02)
        prof["hooks"] = [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/hook" % rx.port}]
        prof["alarms"] = [{"name": n, "severity": "warning", "summary": n, "check": "p_in_mean", "above": 1.5,
                           "hooks": ["shift"]} for n in rules]
        return prof

    def test_changed_hooks_are_restarted_and_a_removed_firing_rule_resolves_through_the_old_ones(self):
        write_json(self.profile_path, self.profile("hooks-1", self.rx_old, ["kept", "removed"]))
        self.assertEqual(self.reload()[0], 200)
        self.ingest(spill_records(76, 1, 1, 200, p_in=159.15))  # BAD: both fire
        posts = self.rx_old.wait(2)
        self.assertEqual(sorted((p["alerts"][0]["labels"]["alertname"], p["status"]) for p in posts),
                         [("kept", "firing"), ("removed", "firing")])

        write_json(self.profile_path, self.profile("hooks-2", self.rx_new, ["kept", "added"]))
        status, res = self.reload()
        self.assertEqual(status, 200, res)
        self.assertIn("hooks restarted", self.srv.read_log())
        posts = self.rx_old.wait(3)  # the old hook delivers the end of the removed rule's episode
        self.assertEqual((posts[2]["alerts"][0]["labels"]["alertname"], posts[2]["status"]), ("removed", "resolved"))

        self.ingest(spill_records(76, 2, 1, 200))  # GOOD: "kept" resolves, through the new hook
        posts = self.rx_new.wait(1)
        self.assertEqual([(p["alerts"][0]["labels"]["alertname"], p["status"]) for p in posts], [("kept", "resolved")])
        self.ingest(spill_records(76, 3, 1, 200, p_in=159.15))  # BAD: both fire, through the new hook
        posts = self.rx_new.wait(3)
        self.assertEqual(sorted((p["alerts"][0]["labels"]["alertname"], p["status"]) for p in posts[1:]),
                         [("added", "firing"), ("kept", "firing")])
        time.sleep(0.3)
        self.assertEqual(len(self.rx_old.posts), 3, self.rx_old.posts)  # nothing more to the old receiver


class ReloadUnderIngest(ReloadTest):
    def test_reloads_while_the_simulator_ingests_count_every_event_once(self):
        # Spills of 0.8 s every second, posted in real time: reloads land while spills are open however
        # fast the server ingests.
        args = ["--run", "74", "--spills", "8", "--seed", "21", "--scale", "0.3", "--cycle", "1",
                "--spill-length", "0.8"]
        events = collections.Counter()
        for r in sim_output(*args):
            if r["type"] == "event":
                events[r["spill"]] += 1
            elif r["type"] == "events":
                events[r["spill"]] += len(r["columns"]["event"])
        done = threading.Event()
        failure = []

        def collect():
            try:
                self.srv.sim(*(args + ["--realtime", "--batch", "100", "--token", "daq-secret-0123456789"]))
            except Exception as e:  # reported by the main thread
                failure.append(e)
            finally:
                done.set()

        t = threading.Thread(target=collect)
        t.start()
        versions, n, mid_spill = set(), 0, 0
        while not done.is_set():
            n += 1
            prof = na64mu("reload-%d" % n, good=1.6 + n * 0.01)
            if n % 2:  # every other profile has another field layout
                prof["fields"] = dict([("z_extra", 2)] + list(prof["fields"].items()))
            write_json(self.profile_path, prof)
            if n % 3 == 0:
                self.srv.proc.send_signal(signal.SIGHUP)
                time.sleep(0.05)
            else:
                status, res = self.reload()
                self.assertEqual(status, 200, res)
                versions.add(res["old"]["version"])
                versions.add(res["new"]["version"])
                mid_spill += res["open_spills_on_old_profile"] > 0
            time.sleep(0.02)
        t.join()
        self.assertFalse(failure, failure)
        self.assertGreaterEqual(n, 3, "the run ended before the reloads")
        self.assertGreaterEqual(mid_spill, 1, "no reload happened while a spill was open")
        spills = {s["spill"]: s for s in self.srv.get("/api/v1/runs/74/spills")[1]["spills"]}
        self.assertEqual(sorted(spills), sorted(events))
        for k, s in spills.items():
            self.assertEqual(s["events"], events[k], "spill %d" % k)
            h = self.srv.get("/api/v1/histograms/trigger?run=74&spill=%d" % k)[1]
            self.assertEqual(h["entries"], events[k], "spill %d trigger histogram" % k)
        self.assertEqual(self.srv.get("/api/v1/runs/74")[1]["events"], sum(events.values()))
        used = collections.Counter(s["profile_version"] for s in spills.values())
        print("reloads: %d (%d with a spill open); spills per profile version: %s" % (n, mid_spill, dict(used)))
        self.assertTrue(all(v.startswith("reload-") for v in used), used)
        self.assertEqual(self.srv.get("/api/v1/health")[1]["status"], "ok")


if __name__ == "__main__":
    main()
