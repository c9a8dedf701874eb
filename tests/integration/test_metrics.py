"""/metrics in depth (issue 4): ingest errors by reason, the current and last-closed-spill gauges,
the HTTP and SQLite commit histograms (counts only, never timings), label escaping, promtool on
the output, and the Prometheus samples in deploy/ checked by promtool."""
import http.client
import json
import os
import re
import shutil
import subprocess
import unittest

from harness import SRC, Server, ServerTest, main, ndjson, sql

REASONS = ("malformed", "unauthorized", "forbidden", "method", "late", "too_large", "unavailable", "queue_full",
           "seq_gap", "rate_limited", "timeout", "other")
FLAGS = ("GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    """{(name, ((label, value), ...)): float} of every sample; fails on a malformed line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "bad sample line: %r" % line
        labels = []
        if m.group(2):
            pos = 0
            for lm in LABEL.finditer(m.group(2)):
                assert lm.start() == pos, "bad labels: %r" % line
                labels.append((lm.group(1), unescape(lm.group(2))))
                pos = lm.end()
            assert pos == len(m.group(2)), "bad labels: %r" % line
        out[(m.group(1), tuple(sorted(labels)))] = float(m.group(3))
    return out


def promtool(*args, stdin=None):
    exe = shutil.which("promtool")
    assert exe, "promtool is installed by deploy/setup.sh (Debian package prometheus)"
    return subprocess.run([exe] + list(args), input=stdin, capture_output=True, text=True, cwd=SRC)


def ev(run, spill, event, **fields):
    return dict({"type": "event", "run": run, "spill": spill, "event": event, "trigger": "physics"}, **fields)


class MetricsTest(ServerTest):
    def scrape(self, check=True):
        status, text = self.srv.get("/metrics")
        self.assertEqual(status, 200)
        self.assertNotIn("NaN", text)
        if check:
            p = promtool("check", "metrics", stdin=text)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return text, parse(text)

    def reasons(self, m):
        return {r: m[("spillwatch_ingest_errors_total", (("reason", r),))] for r in REASONS}

    def hist(self, m, name):
        """(buckets as [(le, cumulative count)], count) after checking the histogram's shape."""
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in m.items() if k[0] == name + "_bucket"))
        self.assertEqual(buckets[-1][0], float("inf"))
        counts = [c for _, c in buckets]
        self.assertEqual(counts, sorted(counts), "buckets are cumulative")
        count = m[(name + "_count", ())]
        self.assertEqual(buckets[-1][1], count)
        self.assertGreaterEqual(m[(name + "_sum", ())], 0)
        return buckets, count


class Metrics(MetricsTest):
    config = {"limits": {"body_max": 2 << 20, "line_max": 2 << 20, "fields_max": 256, "batch_events_max": 1000000}}

    def test_reasons_spill_gauges_and_histogram_counts(self):
        text, m = self.scrape()
        self.assertEqual(self.reasons(m), dict.fromkeys(REASONS, 0))  # every reason, zero included
        self.assertNotIn("spillwatch_current_run", text)  # nothing fed yet: not printed
        self.assertNotIn("spillwatch_last_spill_", text)
        self.srv.sim("--run", "31", "--spills", "4", "--fast", "--seed", "5", "--scale", "0.1")

        # Deliberately bad ingest requests, each answered with its status.
        self.assertEqual(self.srv.post("{bad\n")[0], 400)
        self.assertEqual(self.srv.post(ndjson(ev(31, 9, 1)), headers={"X-Spillwatch-Source": "x"})[0], 400)
        big = "x" * ((2 << 20) + 1)
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
        conn.putrequest("POST", "/api/v1/ingest")  # declared Content-Length over the cap: refused unread
        conn.putheader("Content-Length", str(len(big)))
        conn.endheaders()
        resp = conn.getresponse()
        self.assertEqual(resp.status, 413)
        resp.read()
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
        conn.request("POST", "/api/v1/ingest", body=(big[i:i + 65536].encode() for i in range(0, len(big), 65536)),
                     headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
        resp = conn.getresponse()
        self.assertEqual(resp.status, 413)  # chunked: over the cap while arriving
        resp.read()
        conn.close()
        self.assertEqual(self.srv.post(ndjson(ev(31, 1, 99999)))[0], 409)  # spill 1 is closed
        self.assertEqual(self.srv.request("GET", "/api/v1/ingest")[0], 405)
        self.assertEqual(self.srv.post("", path="/api/v1/runs")[0], 405)  # not ingest: not counted

        text, m = self.scrape()
        want = dict.fromkeys(REASONS, 0)
        want.update(malformed=2, too_large=2, late=1, method=1)
        self.assertEqual(self.reasons(m), want)
        self.assertEqual(m[("spillwatch_ingest_rejected_total", ())], sum(want.values()))
        self.assertEqual(m[("spillwatch_ingest_late_batches_total", ())], 1)

        # Current and last spill = the last spill of GET /api/v1/runs/31/spills.
        status, spills = self.srv.get("/api/v1/runs/31/spills")
        last = spills["spills"][-1]
        self.assertEqual(last["spill"], 4)
        g = lambda name: m[(name, ())]
        self.assertEqual((g("spillwatch_current_run"), g("spillwatch_current_spill")), (31, last["spill"]))
        self.assertEqual(g("spillwatch_current_spill_open"), 0)
        self.assertEqual((g("spillwatch_last_spill_run"), g("spillwatch_last_spill_number")), (31, last["spill"]))
        self.assertEqual(g("spillwatch_last_spill_events"), last["events"])
        self.assertEqual(g("spillwatch_last_spill_mot"), last["mot"])
        self.assertAlmostEqual(g("spillwatch_last_spill_dead_time_ratio"), last["dead_time"], places=12)
        self.assertAlmostEqual(g("spillwatch_last_spill_duration_seconds"), last["duration"], places=12)
        self.assertEqual({f: m[("spillwatch_last_spill_flag", (("flag", f),))] for f in FLAGS},
                         {f: float(f == last["flag"]) for f in FLAGS})
        rates = {dict(k[1])["counter"]: v for k, v in m.items() if k[0] == "spillwatch_last_spill_rate_hz"}
        self.assertEqual(set(rates), set(last["counters"]))
        self.assertIn("trig_physics", rates)
        for name, value in last["counters"].items():
            self.assertAlmostEqual(rates[name], value / last["duration"], delta=1e-9 * abs(rates[name]))
            self.assertAlmostEqual(rates[name], last["rates"][name + "_hz"], delta=1e-9 * abs(rates[name]))

        # Histograms: one commit observation per stored spill; one HTTP observation per answer.
        _, commits = self.hist(m, "spillwatch_store_commit_duration_seconds")
        self.assertEqual(commits, 4)
        self.assertEqual(commits, g("spillwatch_store_commits_total"))
        buckets, requests = self.hist(m, "spillwatch_http_request_duration_seconds")
        self.assertEqual([le for le, _ in buckets], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5, 1, 2.5, 5, 10, float("inf")])
        self.assertEqual(requests, g("spillwatch_http_requests_total"))
        for path in ("/api/v1/health", "/api/v1/runs", "/api/v1/nope", "/"):
            self.srv.request("GET", path)
        _, m2 = self.scrape()
        # + the scrape of m, GET .../spills, and the 4 requests above
        self.assertEqual(self.hist(m2, "spillwatch_http_request_duration_seconds")[1], requests + 1 + 1 + 4)
        self.assertEqual(self.hist(m2, "spillwatch_store_commit_duration_seconds")[1], 4)

    def test_open_spill_is_current_and_unknowns_are_left_out(self):
        self.assertEqual(self.srv.post(ndjson(ev(40, 3, 1), ev(40, 3, 2)))[0], 200)
        text, m = self.scrape()
        self.assertEqual((m[("spillwatch_current_run", ())], m[("spillwatch_current_spill", ())]), (40, 3))
        self.assertEqual(m[("spillwatch_current_spill_open", ())], 1)
        self.assertNotIn("spillwatch_last_spill_", text)  # no spill closed yet
        # A spill_end without dead_time, counters or duration: those gauges are left out, never NaN.
        self.assertEqual(self.srv.post(ndjson({"type": "spill_end", "run": 40, "spill": 3}))[0], 200)
        text, m = self.scrape()
        self.assertEqual(m[("spillwatch_current_spill_open", ())], 0)
        self.assertEqual((m[("spillwatch_last_spill_run", ())], m[("spillwatch_last_spill_number", ())]), (40, 3))
        self.assertEqual(m[("spillwatch_last_spill_events", ())], 2)
        for absent in ("spillwatch_last_spill_dead_time_ratio", "spillwatch_last_spill_duration_seconds",
                       "spillwatch_last_spill_mot", "spillwatch_last_spill_rate_hz"):
            self.assertNotIn(absent, text)
        # A newer open spill of another run becomes the current one; the last closed stays.
        self.assertEqual(self.srv.post(ndjson(ev(41, 1, 1)))[0], 200)
        _, m = self.scrape()
        self.assertEqual((m[("spillwatch_current_run", ())], m[("spillwatch_current_spill", ())]), (41, 1))
        self.assertEqual(m[("spillwatch_last_spill_run", ())], 40)

    def test_counter_labels_are_escaped_and_capped(self):
        counters = {'quote"back\\slash\nnewline': 10, "mot": 2e6}
        counters.update({"c%02d" % i: i for i in range(70)})
        end = {"type": "spill_end", "run": 50, "spill": 1, "duration": 2.0, "dead_time": 0.1, "counters": counters}
        self.assertEqual(self.srv.post(ndjson(ev(50, 1, 1), end))[0], 200)
        text, m = self.scrape()  # promtool accepts the escaped label values
        self.assertIn(r'spillwatch_last_spill_rate_hz{counter="quote\"back\\slash\nnewline"} 5' + "\n", text)
        rates = {dict(k[1])["counter"]: v for k, v in m.items() if k[0] == "spillwatch_last_spill_rate_hz"}
        self.assertEqual(len(rates), 64)  # at most 64 counters
        self.assertEqual(rates['quote"back\\slash\nnewline'], 5)
        self.assertEqual(rates["mot"], 1e6)
        self.assertEqual(m[("spillwatch_last_spill_mot", ())], 2e6)
        self.assertEqual(m[("spillwatch_last_spill_dead_time_ratio", ())], 0.1)
        # The next spill replaces every rate (no stale counters left behind).
        end = {"type": "spill_end", "run": 50, "spill": 2, "duration": 4.0, "counters": {"mot": 4e6}}
        self.assertEqual(self.srv.post(ndjson(ev(50, 2, 1), end))[0], 200)
        text, m = self.scrape()
        rates = {dict(k[1])["counter"]: v for k, v in m.items() if k[0] == "spillwatch_last_spill_rate_hz"}
        self.assertEqual(rates, {"mot": 1e6})
        self.assertNotIn("spillwatch_last_spill_dead_time_ratio", text)


class SourceMetrics(MetricsTest):
    def per_source(self, m, family):
        return {dict(k[1])["source"]: v for k, v in m.items() if k[0] == family}

    def test_seq_committed_seq_age_and_collector_lag_per_source(self):
        text, _ = self.scrape()
        self.assertNotIn("spillwatch_source_", text)  # no source yet: no series, no NaN
        lag = lambda b, sec: {"X-Spillwatch-Lag-Bytes": str(b), "X-Spillwatch-Lag-Seconds": sec}
        self.assertEqual(self.srv.post(ndjson(ev(60, 1, 1), ev(60, 1, 2)), "daq.1-a", 1,
                                       headers=lag(123456789012, "2.5"))[0], 200)
        text, m = self.scrape()
        self.assertEqual(self.per_source(m, "spillwatch_source_seq"), {"daq.1-a": 1})
        self.assertNotIn("spillwatch_source_committed_seq", text)  # no spill of it committed yet
        age = self.per_source(m, "spillwatch_source_last_batch_age_seconds")["daq.1-a"]
        self.assertTrue(0 <= age < 60, age)
        self.assertEqual(self.per_source(m, "spillwatch_source_lag_bytes"), {"daq.1-a": 123456789012})
        self.assertEqual(self.per_source(m, "spillwatch_source_lag_seconds"), {"daq.1-a": 2.5})

        # The batch closing the spill commits the watermark; the collector has caught up.
        self.assertEqual(self.srv.post(ndjson({"type": "spill_end", "run": 60, "spill": 1}), "daq.1-a", 2,
                                       headers=lag(0, "0"))[0], 200)
        _, m = self.scrape()
        self.assertEqual(self.per_source(m, "spillwatch_source_seq"), {"daq.1-a": 2})
        self.assertEqual(self.per_source(m, "spillwatch_source_committed_seq"), {"daq.1-a": 2})
        self.assertEqual(self.per_source(m, "spillwatch_source_lag_bytes"), {"daq.1-a": 0})
        # Each header updates its own gauge; a batch without them keeps the last report.
        self.assertEqual(self.srv.post(ndjson(ev(60, 2, 1)), "daq.1-a", 3,
                                       headers={"X-Spillwatch-Lag-Bytes": "77"})[0], 200)
        self.assertEqual(self.srv.post(ndjson(ev(60, 2, 2)), "daq.1-a", 4)[0], 200)
        _, m = self.scrape()
        self.assertEqual(self.per_source(m, "spillwatch_source_seq"), {"daq.1-a": 4})
        self.assertEqual(self.per_source(m, "spillwatch_source_committed_seq"), {"daq.1-a": 2})
        self.assertEqual(self.per_source(m, "spillwatch_source_lag_bytes"), {"daq.1-a": 77})
        self.assertEqual(self.per_source(m, "spillwatch_source_lag_seconds"), {"daq.1-a": 0})

        # A malformed value answers 400 naming the header, and nothing is applied or recorded.
        bad = [("X-Spillwatch-Lag-Bytes", v) for v in ("-1", "+5", "12x", "1.5", "1e3", "", "7 8",
                                                       "99999999999999999999")]
        bad += [("X-Spillwatch-Lag-Seconds", v) for v in ("nan", "inf", "-1", "-0", "1e400", "abc", "0x10", "",
                                                          "1e", ".", "2,5")]
        for header, value in bad:
            status, res = self.srv.post(ndjson(ev(60, 2, 9)), "daq.1-a", 5,
                                        headers=dict(lag(1, "1"), **{header: value}))
            self.assertEqual(status, 400, (header, value, res))
            self.assertIn(header + ":", res["error"])
        self.assertEqual(self.srv.get("/api/v1/sources/daq.1-a")[1]["seq"], 4)
        self.assertEqual(self.srv.get("/api/v1/runs/60")[1]["live"]["events"], 2)
        _, m = self.scrape()
        self.assertEqual(self.reasons(m)["malformed"], len(bad))
        self.assertEqual(self.per_source(m, "spillwatch_source_lag_bytes"), {"daq.1-a": 77})
        self.assertEqual(self.per_source(m, "spillwatch_source_lag_seconds"), {"daq.1-a": 0})

        # The lag of a refused batch still counts (the collector is behind exactly then). A batch refused
        # as late is refused for good: its seq is consumed (the collector goes on with the next one,
        # which must not look like a gap), but nothing of it is committed.
        self.assertEqual(self.srv.post(ndjson(ev(60, 1, 5)), "late-src", 1, headers=lag(99, "7.25"))[0], 409)
        # Without a source there is nothing to attach the lag to: accepted, ignored.
        self.assertEqual(self.srv.post(ndjson(ev(60, 2, 3)), headers=lag(5, "1"))[0], 200)
        _, m = self.scrape()
        self.assertEqual(self.per_source(m, "spillwatch_source_lag_bytes"), {"daq.1-a": 77, "late-src": 99})
        self.assertEqual(self.per_source(m, "spillwatch_source_lag_seconds"), {"daq.1-a": 0, "late-src": 7.25})
        self.assertEqual(self.per_source(m, "spillwatch_source_seq"), {"daq.1-a": 4, "late-src": 1})
        self.assertNotIn("late-src", self.per_source(m, "spillwatch_source_last_batch_age_seconds"))
        self.assertNotIn("late-src", self.per_source(m, "spillwatch_source_committed_seq"))
        status, mark = self.srv.get("/api/v1/sources/late-src")
        self.assertEqual((status, mark["seq"], mark["committed"]), (200, 1, None))
        # Seq 1 was handled (refused for good): sent again it is a duplicate, and seq 2 applies.
        self.assertEqual(self.srv.post(ndjson(ev(60, 2, 4)), "late-src", 1)[1]["duplicate"], True)
        self.assertEqual(self.srv.post(ndjson(ev(60, 2, 4)), "late-src", 2)[1]["duplicate"], False)

    def test_after_a_restart_the_committed_watermark_and_escaped_labels(self):
        db = self.srv.db
        self.assertEqual(self.srv.post(ndjson(ev(61, 1, 1), {"type": "spill_end", "run": 61, "spill": 1}),
                                       "daq", 3, headers={"X-Spillwatch-Lag-Bytes": "10"})[0], 200)
        self.assertEqual(self.srv.stop(), 0)
        # A source id the ingest check would refuse, as an older database might hold: escaped.
        sql(db, "INSERT INTO sources(source, seq, run, spill, updated) VALUES(?, 7, 61, 1, 0)", ('we"ird\\name\n',))
        self.srv = Server(self.tmp, config=self.config, db=db).start()
        text, m = self.scrape()  # promtool accepts the escaped label value
        self.assertIn('spillwatch_source_seq{source="we\\"ird\\\\name\\n"} 7\n', text)
        self.assertEqual(self.per_source(m, "spillwatch_source_seq"), {"daq": 3, 'we"ird\\name\n': 7})
        self.assertEqual(self.per_source(m, "spillwatch_source_committed_seq"), {"daq": 3, 'we"ird\\name\n': 7})
        # Age and lag are about this server process: nothing yet since the restart.
        for family in ("spillwatch_source_last_batch_age_seconds", "spillwatch_source_lag_bytes",
                       "spillwatch_source_lag_seconds"):
            self.assertNotIn(family, text)
        self.assertEqual(self.srv.post(ndjson(ev(61, 1, 1)), "daq", 3)[1]["duplicate"], True)
        _, m = self.scrape()
        self.assertEqual(set(self.per_source(m, "spillwatch_source_last_batch_age_seconds")), {"daq"})


class AuthReasons(MetricsTest):
    config = {"auth": {"tokens": [{"name": "daq", "token": "daq-secret-0123456789", "roles": ["ingest"]},
                                  {"name": "viewer", "token": "view-secret-0123456789", "roles": ["read"]}]}}

    def test_unauthorized_and_forbidden_are_counted(self):
        body = ndjson(ev(1, 1, 1))
        self.assertEqual(self.srv.post(body)[0], 401)
        self.assertEqual(self.srv.post(body, headers={"Authorization": "Bearer wrong-secret-0123456789"})[0], 401)
        self.assertEqual(self.srv.post(body, headers={"Authorization": "Bearer view-secret-0123456789"})[0], 403)
        self.assertEqual(self.srv.post(body, headers={"Authorization": "Bearer daq-secret-0123456789"})[0], 200)
        _, m = self.scrape()
        want = dict.fromkeys(REASONS, 0)
        want.update(unauthorized=2, forbidden=1)
        self.assertEqual(self.reasons(m), want)
        self.assertEqual(m[("spillwatch_ingest_rejected_total", ())], 3)


class DeploySamples(unittest.TestCase):
    def test_prometheus_config_and_alert_rules_pass_promtool(self):
        for args in (("check", "config", "deploy/prometheus.yml"), ("check", "rules", "deploy/spillwatch-alerts.yml"),
                     ("test", "rules", "deploy/spillwatch-alerts.test.yml")):
            self.assertTrue(os.path.exists(os.path.join(SRC, args[2])), args[2])
            p = promtool(*args)
            self.assertEqual(p.returncode, 0, "promtool %s:\n%s%s" % (" ".join(args), p.stdout, p.stderr))


if __name__ == "__main__":
    main()
