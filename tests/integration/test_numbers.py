"""Numbers in the JSON answers (docs/api.md, "Numbers"): every real of the REST answers, of the live
stream's events and of the webhook payloads is the shortest decimal that parses back to the same
double (the spill list printed `"dead_time":0.080799999999999997` before issue 17), and stays a
JSON real (a `.` or an exponent: 3.0, not 3)."""
import http.client
import json
import re
import time

from harness import Server, ServerTest, main
from test_alarms import TRIGGER_RULE, ReceiverTest, profile_with


def significant(text):
    """The significant digits of a number's text: 0.0808 -> "808", 1e21 -> "1", 3.0 -> "3"."""
    mant = re.split(r"[eE]", text.lstrip("-"))[0].replace(".", "")
    return mant.lstrip("0").rstrip("0") or "0"


def reals(raw):
    """The text of every real in a JSON text, as the server wrote it."""
    found = []

    def keep(text):
        found.append(text)
        return float(text)

    json.loads(raw, parse_float=keep)
    return found


class NumbersCheck:
    def assertShortest(self, raw, where, at_least=1):
        texts = reals(raw)
        self.assertGreaterEqual(len(texts), at_least, where)
        for t in texts:
            v = float(t)
            # Python's repr is the shortest text that round-trips (David Gay's algorithm)
            self.assertEqual(significant(t), significant(repr(v)), "%s: %s is not the shortest text of %r" % (where, t, v))
            self.assertRegex(t, r"^-?\d+(\.\d+)?(e-?\d+)?$", where)
            self.assertTrue("." in t or "e" in t, where)
        return texts

    def assertNoLongTails(self, raw, where):
        # what the old %.17g printed for most measured values: 0.080799999999999997, 4.8186999999999998
        self.assertIsNone(re.search(r"\d\.?\d*(0000000\d|9999999\d)\d*", "".join(
            t for t in reals(raw) if len(significant(t)) >= 16)), where)


class RestNumbers(ServerTest, NumbersCheck):
    def setUp(self):
        super().setUp()
        self.srv.sim("--run", "31", "--spills", "4", "--fast", "--seed", "5", "--scale", "0.1")

    def raw(self, path):
        status, raw, headers = self.srv.request("GET", path)
        self.assertEqual(status, 200, path)
        self.assertEqual(headers.get("Content-Type"), "application/json", path)
        return raw.decode()

    def test_the_spill_list_prints_dead_time_in_its_shortest_form(self):
        raw = self.raw("/api/v1/runs/31/spills")
        self.assertShortest(raw, "spills", at_least=20)
        dead = re.findall(r'"dead_time":(-?[0-9.eE+-]+)', raw)
        self.assertEqual(len(dead), 4)
        body = json.loads(raw)
        for text, s in zip(dead, body["spills"]):
            self.assertEqual(float(text), s["dead_time"])
            self.assertLessEqual(len(significant(text)), 17)
            self.assertEqual(significant(text), significant(repr(float(text))), text)
        self.assertNoLongTails(raw, "spills")

    def test_every_answer_prints_shortest_reals(self):
        for path in ("/api/v1/runs", "/api/v1/runs/31", "/api/v1/runs/31/spills/2", "/api/v1/histograms/p_in?run=31",
                     "/api/v1/histograms/p_in?run=31&spill=2", "/api/v1/trends/mot?run=31", "/api/v1/checks",
                     "/api/v1/health"):
            raw = self.raw(path)
            self.assertShortest(raw, path, at_least=0)
        # the run summary and the spill detail carry reals: counted, not just parsed
        self.assertGreater(len(reals(self.raw("/api/v1/runs/31"))), 3)
        self.assertGreater(len(reals(self.raw("/api/v1/runs/31/spills/2"))), 10)

    def test_an_integral_real_stays_a_real(self):
        # spill 2's duration and times are reals in the API; a real that is integral keeps ".0"
        raw = self.raw("/api/v1/runs/31/spills")
        for t in reals(raw):
            if float(t).is_integer() and abs(float(t)) < 1e17:
                self.assertTrue(t.endswith(".0"), t)


class StreamNumbers(ServerTest, NumbersCheck):
    def test_the_spill_event_prints_shortest_reals(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
        conn.request("GET", "/api/v1/stream", headers={"Accept": "text/event-stream"})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        resp.readline()  # the hello comment: registered before the spill is posted
        self.srv.sim("--run", "32", "--spills", "1", "--fast", "--scale", "0.1")
        data, event, deadline = None, None, time.monotonic() + 20
        while time.monotonic() < deadline:
            line = resp.readline().decode().rstrip("\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "spill":
                data = line[5:].strip()
                break
        conn.close()
        self.assertIsNotNone(data, "no spill event")
        self.assertShortest(data, "spill event", at_least=3)
        self.assertNoLongTails(data, "spill event")


class HookNumbers(ReceiverTest, NumbersCheck):
    def test_the_webhook_payload_prints_shortest_reals(self):
        hooks = [{"name": "shift", "type": "webhook", "url": "http://127.0.0.1:%d/hook" % self.rx.port, "timeout": 2}]
        self.srv = Server(self.tmp, config={"profile": profile_with(self.tmp, hooks, [TRIGGER_RULE])}).start()
        self.srv.sim("--run", "80", "--spills", "6", "--seed", "41", "--fault", "trigger_low@4-6", "--scale", "0.3")
        self.rx.wait(1)
        self.assertTrue(self.rx.requests, "no notification")
        raw = self.rx.requests[0][2].decode()
        texts = self.assertShortest(raw, "webhook", at_least=2)
        self.assertIn("0.0005", texts)  # the threshold as written in the rule, not 0.00050000000000000001
        self.assertNoLongTails(raw, "webhook")


if __name__ == "__main__":
    main()
