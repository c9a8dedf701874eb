"""Handover notes (POST/GET /api/v1/shift/notes): stored, audited, listed newest first by the time
they were written or the shift range they cover; every bad request answered with the field it is
about; the shifter role; refused with 503 while the store refuses writes; kept across a restart."""
import json
import time

from harness import Server, ServerTest, main, sqlite_only

SHIFTER = {"Authorization": "Bearer shift-secret-0123456789"}
READER = {"Authorization": "Bearer read-secret-01234567890"}
TOKENS = {"tokens": [{"name": "daq", "token": "daq-secret-0123456789", "roles": ["ingest"]},
                     {"name": "night-shift", "token": "shift-secret-0123456789", "roles": ["shifter"]},
                     {"name": "viewer", "token": "read-secret-01234567890", "roles": ["read"]}]}


def post_note(srv, body, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    status, raw, hdrs = srv.request("POST", "/api/v1/shift/notes", body if isinstance(body, str) else json.dumps(body), h)
    return status, json.loads(raw), hdrs


class Notes(ServerTest):
    def notes(self, query=""):
        status, res = self.srv.get("/api/v1/shift/notes" + query)
        self.assertEqual(status, 200, res)
        return res["notes"]

    def test_a_note_is_stored_audited_and_listed_newest_first(self):
        self.assertEqual(self.notes(), [])
        before = time.time()
        text = "Spill 11: DAQ stalled, restarted the HCAL crate at 03:12.\nECAL fine. Ünïcödé ok."
        status, res, _ = post_note(self.srv, {"shifter": "A. Physicist", "text": text,
                                              "from": 1700000000, "to": 1700028800})
        self.assertEqual(status, 201, res)
        n1 = res["note"]
        self.assertEqual(set(n1), {"id", "time", "who", "shifter", "text", "from", "to"})
        self.assertEqual((n1["who"], n1["shifter"], n1["text"], n1["from"], n1["to"]),
                         ("open", "A. Physicist", text, 1700000000, 1700028800))
        self.assertIsInstance(n1["id"], int)
        self.assertGreaterEqual(n1["time"], before - 1)
        self.assertLessEqual(n1["time"], time.time() + 1)
        status, res, _ = post_note(self.srv, {"shifter": "B. Shifter", "text": "no range"})
        self.assertEqual(status, 201, res)
        n2 = res["note"]
        self.assertEqual((n2["from"], n2["to"]), (None, None))
        self.assertGreater(n2["id"], n1["id"])
        self.assertEqual(self.notes(), [n2, n1])  # newest first, as stored
        self.assertEqual(self.notes("?limit=1"), [n2])
        # the audit log: action handover, no run, the note's id and its text
        status, audit = self.srv.get("/api/v1/audit")
        entries = [e for e in audit["entries"] if e["action"] == "handover"]
        self.assertEqual([(e["who"], e["shifter"], e["run"], e["spill"], e["new"], e["comment"]) for e in entries],
                         [("open", "B. Shifter", None, None, "note %d" % n2["id"], "no range"),
                          ("open", "A. Physicist", None, None, "note %d" % n1["id"], text)])
        self.assertEqual(self.srv.get("/api/v1/audit?run=1")[1]["entries"], [])
        # kept across a restart
        self.srv.stop()
        self.srv.start()
        self.assertEqual(self.notes(), [n2, n1])

    def test_a_range_selects_notes_by_their_time_or_the_range_they_cover(self):
        now = int(time.time())
        ids = {}
        for name, rng in (("night", (now - 30000, now - 20000)), ("morning", (now - 10000, now - 5000)),
                          ("none", None), ("long", (now - 40000, now + 40000))):
            body = {"shifter": "s", "text": name}
            if rng:
                body.update({"from": rng[0], "to": rng[1]})
            status, res, _ = post_note(self.srv, body)
            self.assertEqual(status, 201, res)
            ids[name] = res["note"]["id"]

        def names(query):
            return [n["text"] for n in self.notes(query)]

        # every note was written now: a window around now finds them all, newest first
        self.assertEqual(names("?from=%d&to=%d" % (now - 5, now + 5)), ["long", "none", "morning", "night"])
        # the night shift: only what covers it (nothing was written then)
        self.assertEqual(names("?from=%d&to=%d" % (now - 29000, now - 21000)), ["long", "night"])
        # a window touching the morning's range at its end
        self.assertEqual(names("?from=%d&to=%d" % (now - 5000, now - 4000)), ["long", "morning"])
        self.assertEqual(names("?from=%d&to=%d" % (now - 50000, now - 45000)), [])
        # open ends
        self.assertEqual(names("?to=%d" % (now - 35000)), ["long"])
        self.assertEqual(names("?from=%d" % (now + 30000)), ["long"])
        self.assertEqual(names("?from=%d" % (now + 50000)), [])
        self.assertEqual(names(""), ["long", "none", "morning", "night"])

    def test_every_bad_request_names_its_field(self):
        cases = [
            ({"text": "x"}, "\"shifter\" is required"),
            ({"shifter": "", "text": "x"}, "\"shifter\" is empty"),
            ({"shifter": "  ", "text": "x"}, "\"shifter\" is blank"),
            ({"shifter": 7, "text": "x"}, "\"shifter\" must be a string"),
            ({"shifter": "s" * 101, "text": "x"}, "\"shifter\" is 101 bytes long; at most 100"),
            ({"shifter": "s"}, "\"text\" is required"),
            ({"shifter": "s", "text": None}, "\"text\" is required"),
            ({"shifter": "s", "text": ""}, "\"text\" is empty"),
            ({"shifter": "s", "text": "\n\t "}, "\"text\" is blank"),
            ({"shifter": "s", "text": ["a"]}, "\"text\" must be a string"),
            ({"shifter": "s", "text": "é" * 4001}, "\"text\" is 8002 bytes long; at most 8000"),
            ({"shifter": "s", "text": "a\u0000b"}, "body: invalid JSON"),
            ({"shifter": "s", "text": "x", "from": 10}, "\"to\" is required with \"from\""),
            ({"shifter": "s", "text": "x", "to": 10}, "\"from\" is required with \"to\""),
            ({"shifter": "s", "text": "x", "from": 20, "to": 10}, "\"to\" (10) is before \"from\" (20)"),
            ({"shifter": "s", "text": "x", "from": "yesterday", "to": 10}, "\"from\" must be a time in Unix seconds"),
            ({"shifter": "s", "text": "x", "from": 1, "to": -5}, "\"to\" must be a time in Unix seconds"),
            ({"shifter": "s", "text": "x", "from": 1, "to": 1e300}, "\"to\" must be a time in Unix seconds"),
            ({"shifter": "s", "text": "x", "run": 5}, "unknown key \"run\""),
        ]
        for body, words in cases:
            status, res, _ = post_note(self.srv, body)
            self.assertEqual(status, 400, (body, res))
            self.assertIn(words, res["error"], body)
        for raw, words in (("[]", "must be a JSON object"), ("{\"shifter\": ", "invalid JSON"), ("", "invalid JSON")):
            status, res, _ = post_note(self.srv, raw)
            self.assertEqual(status, 400, raw)
            self.assertIn(words, res["error"])
        # the longest text goes, and so does a range of one instant
        status, res, _ = post_note(self.srv, {"shifter": "s", "text": "é" * 4000, "from": 5, "to": 5})
        self.assertEqual(status, 201, res)
        self.assertEqual(len(res["note"]["text"].encode()), 8000)
        for query, words in (("?limit=0", "\"limit\""), ("?limit=1001", "\"limit\""), ("?limit=x", "limit"),
                             ("?from=-1", "from"), ("?from=soon", "from"), ("?to=1.5", "to"),
                             ("?from=20&to=10", "\"to\" (10) is before \"from\" (20)")):
            status, res = self.srv.get("/api/v1/shift/notes" + query)
            self.assertEqual(status, 400, query)
            self.assertIn(words, res["error"], query)
        status, raw, hdrs = self.srv.request("DELETE", "/api/v1/shift/notes")
        self.assertEqual(status, 405)
        self.assertEqual(hdrs.get("Allow"), "GET, HEAD, POST")
        self.assertEqual(len(self.notes()), 1)  # nothing of the refused ones was stored
        status, audit = self.srv.get("/api/v1/audit")
        self.assertEqual([e["action"] for e in audit["entries"]], ["handover"])


class NotesAuth(ServerTest):
    config = {"auth": TOKENS}

    def test_writing_needs_the_shifter_role_and_records_the_token(self):
        body = {"shifter": "C. Night", "text": "quiet night"}
        self.assertEqual(post_note(self.srv, body)[0], 401)
        self.assertEqual(post_note(self.srv, body, READER)[0], 403)
        self.assertEqual(post_note(self.srv, body, {"Authorization": "Bearer daq-secret-0123456789"})[0], 403)
        status, res, _ = post_note(self.srv, body, SHIFTER)
        self.assertEqual(status, 201, res)
        self.assertEqual((res["note"]["who"], res["note"]["shifter"]), ("night-shift", "C. Night"))
        status, listed = self.srv.get("/api/v1/shift/notes")  # reads are open by default
        self.assertEqual((status, listed["notes"]), (200, [res["note"]]))


class NotesReadToken(ServerTest):
    config = {"auth": dict(TOKENS, read_requires_token=True)}

    def test_reading_needs_the_read_role_when_reads_need_a_token(self):
        self.assertEqual(self.srv.get("/api/v1/shift/notes")[0], 401)
        status, raw, _ = self.srv.request("GET", "/api/v1/shift/notes", headers=READER)
        self.assertEqual((status, json.loads(raw)), (200, {"notes": []}))


@sqlite_only("the free-space reserve is of the SQLite file's directory")
class NotesStoreRefuses(ServerTest):
    # a free-space reserve no disk has: the store starts degraded (disk_full) and refuses writes
    config = {"store": {"min_free_mb": 1 << 30}}

    def test_a_note_is_refused_with_503_while_the_store_refuses_writes(self):
        status, health = self.srv.get("/api/v1/health")
        self.assertEqual((status, health["db"]), (503, "disk_full"), health)
        status, res, hdrs = post_note(self.srv, {"shifter": "s", "text": "lost?"})
        self.assertEqual(status, 503, res)
        self.assertIn("disk full", res["error"])
        self.assertGreater(int(hdrs.get("Retry-After", "0")), 0, hdrs)
        status, res = self.srv.get("/api/v1/shift/notes")  # reads still served
        self.assertEqual((status, res["notes"]), (200, []))


if __name__ == "__main__":
    main()
