"""ROOT export (docs/analysis.md) from the Python side: the Python snippet of docs/analysis.md,
run as it is on live exports, gives spillwatch's entries, mean and RMS; and a database whose
snapshots are of the old format (SWH1, before issue 17) still loads: the same JSON as before, and a
ROOT export that keeps every fill in its sums while its 2D edge cells are unknown."""
import json
import math
import os
import re
import sqlite3
import struct
import subprocess
import sys
import zlib

from harness import SRC, ServerTest, main, sqlite_only


def doc_snippet():
    """The first ```python block of docs/analysis.md."""
    with open(os.path.join(SRC, "docs", "analysis.md")) as f:
        m = re.search(r"```python\n(.*?)```", f.read(), re.S)
    return m.group(1)


class PythonSnippet(ServerTest):
    def test_the_documented_snippet_reads_every_export(self):
        srv = self.srv
        srv.sim("--run", "41", "--spills", "3")
        script = os.path.join(self.tmp, "read_root_json.py")
        with open(script, "w") as f:
            f.write(doc_snippet())
        cases = [("p_in", "run=41&spill=2"), ("xy_tgt", "run=41"), ("trigger", "run=41&spills=1-2"),
                 (None, "run=41&quality=all")]
        for name, query in cases:
            path = "/api/v1/histograms%s?%s&format=root" % ("/" + name if name else "", query)
            status, raw, headers = srv.request("GET", path)
            self.assertEqual(status, 200, raw)
            self.assertIn("attachment; filename=\"spillwatch-run41", headers.get("Content-Disposition", ""))
            export = os.path.join(self.tmp, "export.json")
            with open(export, "wb") as f:
                f.write(raw)
            out = subprocess.run([sys.executable, script, export], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            lines = out.stdout.splitlines()
            names = [name] if name else [h["name"] for h in srv.get("/api/v1/histograms")[1]["histograms"]]
            self.assertEqual([l.split()[0] for l in lines], names)
            for line in lines:
                hname, entries, mean, rms, inside, ncentres, labels = line.split(" ", 6)
                status, own = srv.get("/api/v1/histograms/%s?%s" % (hname, query))
                self.assertEqual(status, 200)
                self.assertEqual(int(entries), own["entries"], hname)
                if own["entries"]:
                    self.assertTrue(math.isclose(float(mean), own["mean"], rel_tol=1e-12, abs_tol=1e-12), hname)
                    self.assertTrue(math.isclose(float(rms), own["rms"], rel_tol=1e-12, abs_tol=1e-12), hname)
                self.assertEqual(int(inside), sum(own["counts"]), hname)
                self.assertEqual(int(ncentres), own["x"]["bins"], hname)
                self.assertEqual(labels, str(own["x"].get("labels")), hname)


# ---- SWH1: the snapshot format before issue 17 (server/hist.c) ----

def varint(buf, pos):
    v = shift = 0
    while True:
        c = buf[pos]
        pos += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, pos


def put_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def swh2_to_swh1(blob):
    """Rewrites an SWH2 snapshot as the SWH1 the server wrote before: no partial byte, no sumxy,
    no edge cells."""
    raw = zlib.decompress(blob[4:])
    assert raw[:4] == b"SWH2"
    pos = 4
    count, pos = varint(raw, pos)
    out = bytearray(b"SWH1" + put_varint(count))
    for _ in range(count):
        nl, pos = varint(raw, pos)
        out += put_varint(nl) + raw[pos:pos + nl]
        pos += nl
        dim = raw[pos]
        pos += 2  # dim, partial
        out.append(dim)
        bins = []
        for _ in range(dim):
            b, p2 = varint(raw, pos)
            out += raw[pos:p2 + 16]
            pos = p2 + 16
            bins.append(b)
        for _ in range(4):
            v, p2 = varint(raw, pos)
            out += raw[pos:p2]
            pos = p2
        out += raw[pos:pos + 32]
        pos += 32
        if dim == 2:
            pos += 8  # sumxy
        nb = bins[0] * (bins[1] if dim == 2 else 1)
        edges = 2 * (bins[0] + 2) + 2 * bins[1] if dim == 2 else 0
        cells = []
        while len(cells) < nb + edges:
            v, pos = varint(raw, pos)
            if v == 0:
                run, pos = varint(raw, pos)
                cells += [0] * run
            else:
                cells.append(v)
        cells = cells[:nb]
        i = 0
        while i < nb:
            if cells[i] == 0:
                j = i
                while j < nb and cells[j] == 0:
                    j += 1
                out += put_varint(0) + put_varint(j - i)
                i = j
            else:
                out += put_varint(cells[i])
                i += 1
    assert pos == len(raw)
    return struct.pack("<I", len(out)) + zlib.compress(bytes(out))


@sqlite_only("old snapshots are written into the SQLite file by the test")
class OldSnapshots(ServerTest):
    def test_a_database_of_swh1_snapshots_still_loads(self):
        srv = self.srv
        srv.sim("--run", "42", "--spills", "3")
        before = {n: srv.get("/api/v1/histograms/%s?run=42" % n)[1] for n in ("p_in", "xy_tgt", "trigger")}
        root_before = {n: srv.get("/api/v1/histograms/%s?run=42&format=root" % n)[1] for n in ("p_in", "xy_tgt")}
        xy = root_before["xy_tgt"]
        nx, ny = xy["fXaxis"]["fNbins"], xy["fYaxis"]["fNbins"]
        inside = lambda h: [h["fArray"][ix + (nx + 2) * iy] for iy in range(1, ny + 1) for ix in range(1, nx + 1)]
        self.assertEqual(sum(xy["fArray"]), xy["fEntries"])  # SWH2: every fill in a cell
        self.assertGreater(sum(xy["fArray"]) - sum(inside(xy)), 0, "the run has fills outside the axes")
        self.assertEqual(srv.stop(), 0)
        db = sqlite3.connect(srv.db)
        rows = db.execute("SELECT run, spill, blob FROM spill_hists").fetchall()
        self.assertEqual(len(rows), 3)
        for run, spill, blob in rows:
            db.execute("UPDATE spill_hists SET blob = ? WHERE run = ? AND spill = ?", (swh2_to_swh1(blob), run, spill))
        db.commit()
        db.close()
        srv.start()
        for n, old in before.items():
            status, now = srv.get("/api/v1/histograms/%s?run=42" % n)
            self.assertEqual(status, 200)
            self.assertEqual(now["skipped"], 0, n)
            self.assertEqual(now, old, n)
        status, p_in = srv.get("/api/v1/histograms/p_in?run=42&format=root")
        self.assertEqual(p_in, root_before["p_in"])  # 1D snapshots were always complete
        status, old_xy = srv.get("/api/v1/histograms/xy_tgt?run=42&format=root")
        self.assertEqual(old_xy["fEntries"], xy["fEntries"])
        for k in ("fTsumw", "fTsumwx", "fTsumwx2", "fTsumwy", "fTsumwy2"):
            self.assertEqual(old_xy[k], xy[k], k)
        self.assertEqual(inside(old_xy), inside(xy))
        self.assertEqual(sum(old_xy["fArray"]), sum(inside(xy)), "no edge cells from SWH1")
        xw, yw = 20.0 / nx, 20.0 / ny
        estimate = sum(old_xy["fArray"][ix + (nx + 2) * iy] * (-10 + (ix - 0.5) * xw) * (-10 + (iy - 0.5) * yw)
                       for iy in range(1, ny + 1) for ix in range(1, nx + 1))
        self.assertTrue(math.isclose(old_xy["fTsumwxy"], estimate, rel_tol=1e-9, abs_tol=1e-9))
        # a new spill (SWH2) adds its edge cells to the old ones
        srv.sim("--run", "42", "--first-spill", "4", "--spills", "1")
        status, mixed = srv.get("/api/v1/histograms/xy_tgt?run=42&format=root")
        self.assertGreater(sum(mixed["fArray"]) - sum(inside(mixed)), 0)
        self.assertLess(sum(mixed["fArray"]), mixed["fEntries"])


if __name__ == "__main__":
    main()
