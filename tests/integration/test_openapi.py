"""docs/openapi.json against the live server: every route the server lists (GET /api/v1/) is
described with the same methods and query parameters and nothing else is; every GET answer of a
run with faults, manual flags, silences and notes validates against its schema (the schemas
refuse undocumented fields where they say so); every error answer has the Error shape; every
query parameter the description gives a closed set of values for is refused outside it."""
import json
import os
import re

from harness import ServerTest, main

SRC = os.environ.get("SW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = json.load(open(os.path.join(SRC, "docs", "openapi.json")))
RUN = 12
JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def resolve(schema):
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = DOC["components"]["schemas"][name]
    return schema


def type_ok(value, t):
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, JSON_TYPES[t])


def validate(value, schema, where="$"):
    """The errors of value against the subset of JSON Schema docs/openapi.json uses."""
    schema = resolve(schema)
    errs = []
    if "oneOf" in schema:
        each = [validate(value, s, where) for s in schema["oneOf"]]
        ok = [e for e in each if not e]
        if len(ok) != 1:  # none: say why the closest alternative refused it
            errs.append("%s: matches %d of the oneOf schemas" % (where, len(ok)))
            errs += min(each, key=len) if not ok else []
        return errs
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(type_ok(value, t) for t in types):
            return ["%s: %r is not %s" % (where, value, "/".join(types))]
    if "enum" in schema and value not in schema["enum"]:
        errs.append("%s: %r not in %s" % (where, value, schema["enum"]))
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errs.append("%s: %r does not match %s" % (where, value, schema["pattern"]))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in value:
                errs.append("%s: required %r missing" % (where, k))
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errs += validate(v, props[k], "%s.%s" % (where, k))
            elif extra is False:
                errs.append("%s: %r is not described" % (where, k))
            elif isinstance(extra, dict):
                errs += validate(v, extra, "%s.%s" % (where, k))
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            errs += validate(v, schema["items"], "%s[%d]" % (where, i))
    return errs


def query_params(op):
    return [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]


class OpenApi(ServerTest):
    def setUp(self):
        super().setUp()
        self.srv.sim("--run", str(RUN), "--spills", "6", "--fast", "--seed", "2", "--scale", "0.2",
                     "--fault", "beam_momentum@3", "--fault", "daq_missing@5")
        hdr = {"Content-Type": "application/json"}
        st, raw, _ = self.srv.request("PUT", "/api/v1/runs/%d/spills/2/flag" % RUN,
                                      json.dumps({"flag": "EXCLUDED", "reason": "shift crew check",
                                                  "comment": "test"}), hdr)
        self.assertEqual(st, 200, raw)
        st, raw, _ = self.srv.request("POST", "/api/v1/silences", json.dumps(
            {"alarm": "mot_low", "duration": 600, "comment": "access"}), hdr)
        self.assertEqual(st, 201, raw)
        st, raw, _ = self.srv.request("POST", "/api/v1/shift/notes", json.dumps(
            {"shifter": "A. Physicist", "text": "quiet night"}), hdr)
        self.assertEqual(st, 201, raw)

    def index(self):
        st, res = self.srv.get("/api/v1/")
        self.assertEqual(st, 200)
        return res["routes"]

    def test_every_route_is_described_with_its_parameters(self):
        listed = {(r["method"].lower(), r["path"]): r for r in self.index()}
        described = {(m, p): op for p, ops in DOC["paths"].items() for m, op in ops.items()}
        self.assertEqual(sorted(described), sorted(listed))
        for key, r in listed.items():
            op = described[key]
            self.assertEqual(sorted(query_params(op)), sorted(r["params"]), key)
            placeholders = re.findall(r"{(\w+)}", r["path"])
            self.assertEqual(sorted(p["name"] for p in op["parameters"] if p["in"] == "path"), sorted(placeholders), key)
            self.assertTrue(op["summary"], key)
            self.assertEqual(op["x-spillwatch-role"], r["role"], key)

    def fill(self, path):
        hist = self.srv.get("/api/v1/histograms")[1]["histograms"][0]["name"]
        alarm = self.srv.get("/api/v1/alarms")[1]["alarms"][0]["name"]
        return (path.replace("{run}", str(RUN)).replace("{spill}", "3").replace("{spills}", "3")
                .replace("{histogram}", hist).replace("{quantity}", "mot").replace("{alarm}", alarm)
                .replace("{source}", "sim-run%d" % RUN).replace("{silence}", "1"))

    def schema_of(self, op, status):
        resp = op["responses"].get(str(status)) or op["responses"]["default"]
        resp = DOC["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]] if "$ref" in resp else resp
        return resp["content"]

    def check(self, path, op, status=200):
        st, raw, hdrs = self.srv.request("GET", path)
        self.assertEqual(st, status, (path, raw[:300]))
        content = self.schema_of(op, st)
        ctype = hdrs.get("Content-Type", "").split(";")[0]
        self.assertIn(ctype, content, path)
        if ctype == "application/json":
            errs = validate(json.loads(raw), content[ctype]["schema"])
            self.assertEqual(errs[:10], [], path)

    def test_every_get_answer_validates(self):
        scopes = {"/api/v1/histograms/{histogram}": ["", "?run=%d" % RUN, "?run=%d&spill=3" % RUN,
                                                     "?run=%d&spills=1-4" % RUN, "?last=3", "?run=%d&quality=good" % RUN,
                                                     "?format=root", "?run=%d&format=root" % RUN],
                  "/api/v1/alarms": ["", "?history=1"], "/api/v1/runs/{run}/spills": ["", "?flag=BAD", "?limit=2"],
                  "/api/v1/runs/{run}/checks": ["", "?spills=2-4"], "/api/v1/trends/{quantity}": ["?run=%d" % RUN],
                  "/api/v1/audit": ["", "?run=%d" % RUN], "/api/v1/silences": ["", "?active=1"],
                  "/api/v1/runs/{run}/good-spills": ["", "?format=csv", "?format=ranges"],
                  "/api/v1/histograms": ["", "?format=root", "?format=root&run=%d&quality=good" % RUN],
                  "/api/v1/good-spills": ["", "?provisional=1", "?runs=%d&format=json&provisional=1" % RUN]}
        checked = 0
        for path, ops in DOC["paths"].items():
            op = ops.get("get")
            if not op or path == "/api/v1/stream":
                continue
            for q in scopes.get(path, [""]):
                self.check(self.fill(path) + q, op)
                checked += 1
        self.assertGreater(checked, 25)
        # every histogram of the profile, in the run scope (1D, 2D, category axes)
        op = DOC["paths"]["/api/v1/histograms/{histogram}"]["get"]
        for h in self.srv.get("/api/v1/histograms")[1]["histograms"]:
            self.check("/api/v1/histograms/%s?run=%d" % (h["name"], RUN), op)
            self.check("/api/v1/histograms/%s?run=%d&spill=3&format=root" % (h["name"], RUN), op)
        # every spill detail
        op = DOC["paths"]["/api/v1/runs/{run}/spills/{spill}"]["get"]
        for s in range(1, 7):
            self.check("/api/v1/runs/%d/spills/%d" % (RUN, s), op)

    def test_errors_have_the_error_shape(self):
        for path, ops in DOC["paths"].items():
            op = ops.get("get")
            if not op:
                continue
            self.check(self.fill(path) + "?no_such_parameter=1", op, status=400)
        op = DOC["paths"]["/api/v1/runs/{run}"]["get"]
        self.check("/api/v1/runs/999", op, status=404)

    def test_closed_value_sets_are_the_servers(self):
        """Each query parameter with an enum in the description: a value outside it is a 400 naming
        the parameter; a value inside it is taken."""
        tried = 0
        for path, ops in DOC["paths"].items():
            op = ops.get("get")
            if not op:
                continue
            for p in op["parameters"]:
                if p["in"] != "query" or "enum" not in p["schema"]:
                    continue
                base = self.fill(path)
                if path == "/api/v1/histograms/{histogram}" and p["name"] == "quality":
                    base += "?run=%d&" % RUN
                else:
                    base += "?"
                st, res = self.srv.get(base + "%s=%s" % (p["name"], "no-such-value"))
                self.assertEqual(st, 400, (path, p["name"], res))
                self.assertIn(p["name"], res["error"], (path, res))
                for v in p["schema"]["enum"]:
                    st, res = self.srv.get(base + "%s=%s" % (p["name"], v))
                    self.assertEqual(st, 200, (path, p["name"], v, res if isinstance(res, dict) else res[:200]))
                tried += 1
        self.assertGreater(tried, 3)


if __name__ == "__main__":
    main()
