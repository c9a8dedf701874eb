"""The PostgreSQL schema (schema/pg/015_base.sql) against SQLite's migrations 1-15 (schema/migrations/):
on a real PostgreSQL 15 (tests/integration/pgcluster.py) and a fresh SQLite file, the same tables,
the same columns in the same order with the mapped types (INTEGER -> bigint, REAL -> double
precision, TEXT -> text, BLOB -> bytea), nullability, defaults, primary keys, CHECK constraints,
foreign keys (with ON DELETE), indexes (names, columns, unique, partial) and triggers. Then one
scripted sequence of changes (spills committed, snapshots stored and rewritten, manual flags set,
changed and removed, a re-evaluation's flag change, spills deleted by retention) runs on both, and
what the triggers kept (run_totals, run_hist_moves, run_hist_stale) must be identical. A trigger
broken on purpose must make that comparison fail (the test checks it can fail)."""
import glob
import os
import re
import sqlite3
import subprocess
import tempfile
import unittest

import pgcluster

SRC = os.environ.get("SW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TYPES = {"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text", "BLOB": "bytea"}
NULL = "<<NULL>>"
# tables only one engine has by design: PostgreSQL keeps its version in a table, SQLite in
# PRAGMA user_version
PG_ONLY = {"schema_version"}


def psql(uri, sql, single=False):
    """Rows of sql as lists of strings (NULL as NULL); single: the whole script in one transaction."""
    argv = ["psql", uri, "-X", "-q", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-P", "null=" + NULL]
    if single:
        argv.append("-1")
    r = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("psql: %s" % r.stderr.strip())
    return [[None if v == NULL else v for v in line.split("\x1f")] for line in r.stdout.split("\n") if line]


def pg_base_sql():
    with open(os.path.join(SRC, "schema", "pg", "015_base.sql")) as f:
        return f.read()


def sqlite_at_15(path):
    c = sqlite3.connect(path)
    for f in sorted(glob.glob(os.path.join(SRC, "schema", "migrations", "*.sql"))):
        n = int(os.path.basename(f)[:3])
        if n > 15:
            break
        with open(f) as fh:
            c.executescript(fh.read())
        c.execute("PRAGMA user_version = %d" % n)
    c.execute("PRAGMA foreign_keys = ON")
    return c


def norm_default(d):
    if d is None:
        return None
    d = d.strip()
    while d.startswith("(") and d.endswith(")"):
        d = d[1:-1].strip()
    if "::" in d:
        d = d.split("::")[0]
    try:
        return float(d.strip("'"))
    except ValueError:
        return d


# ---- schema as each engine describes it ----

def sqlite_schema(c):
    out = {}
    tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                      "ORDER BY name")]
    for t in tables:
        cols = c.execute('PRAGMA table_info("%s")' % t).fetchall()
        pk = [r[1] for r in sorted((r for r in cols if r[5]), key=lambda r: r[5])]
        sql = c.execute("SELECT sql FROM sqlite_master WHERE name = ?", (t,)).fetchone()[0]
        columns = []
        for cid, name, typ, notnull, dflt, pkn in cols:
            # an id SQLite assigns (INTEGER PRIMARY KEY named id, never given by the server) is an
            # identity column; a natural key that is INTEGER PRIMARY KEY (run of runs, run_totals,
            # baseline_resets ...) is always written explicitly and stays a plain BIGINT key.
            # A primary key column is NOT NULL in PostgreSQL.
            identity = pk == [name] == ["id"] and typ.upper() == "INTEGER"
            columns.append((name, TYPES[typ.upper()], bool(notnull or pkn), norm_default(dflt), identity))
        fks = sorted((r[2], r[3], r[4], r[6]) for r in c.execute('PRAGMA foreign_key_list("%s")' % t))
        idx = {}
        for seq, name, unique, origin, partial in c.execute('PRAGMA index_list("%s")' % t):
            if origin == "pk":
                continue
            icols = [r[2] for r in c.execute('PRAGMA index_info("%s")' % name)]
            idx[name if origin == "c" else ("unique", tuple(icols))] = (tuple(icols), bool(unique), bool(partial))
        out[t] = {"columns": columns, "pk": pk, "fks": fks, "indexes": idx, "checks": len(re.findall(r"\bCHECK\s*\(", sql, re.I))}
    trig = sorted(r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    return out, trig


def pg_schema(uri):
    out = {}
    tables = [r[0] for r in psql(uri, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                                      "AND table_type = 'BASE TABLE' ORDER BY 1") if r[0] not in PG_ONLY]
    fk_action = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
    for t in tables:
        cols = psql(uri, "SELECT column_name, data_type, is_nullable, column_default, is_identity, collation_name "
                         "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '%s' "
                         "ORDER BY ordinal_position" % t)
        columns = [(n, typ, nl == "NO", norm_default(d), ident == "YES") for n, typ, nl, d, ident, coll in cols]
        collations = {n: coll for n, typ, nl, d, ident, coll in cols if typ == "text"}
        pk = [r[0] for r in psql(uri, "SELECT a.attname FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(att, o) "
                                      "JOIN pg_attribute a ON a.attnum = k.att WHERE i.indrelid = '\"%s\"'::regclass "
                                      "AND a.attrelid = i.indrelid AND i.indisprimary ORDER BY k.o" % t)]
        fks = []
        for table, frm, to, dl in psql(uri, """
                SELECT cf.relname, af.attname, at.attname, c.confdeltype
                FROM pg_constraint c JOIN pg_class cf ON cf.oid = c.confrelid,
                     unnest(c.conkey, c.confkey) AS k(f, t)
                JOIN pg_attribute af ON af.attnum = k.f JOIN pg_attribute at ON at.attnum = k.t
                WHERE c.contype = 'f' AND c.conrelid = '"%s"'::regclass
                  AND af.attrelid = c.conrelid AND at.attrelid = c.confrelid""" % t):
            fks.append((table, frm, to, fk_action[dl]))
        idx = {}
        for name, unique, partial, constraint, icols in psql(uri, """
                SELECT ci.relname, i.indisunique, i.indpred IS NOT NULL,
                       EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype = 'u'),
                       (SELECT string_agg(a.attname, ',' ORDER BY k.o) FROM unnest(i.indkey) WITH ORDINALITY k(att, o)
                        JOIN pg_attribute a ON a.attnum = k.att AND a.attrelid = i.indrelid)
                FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
                WHERE i.indrelid = '"%s"'::regclass AND NOT i.indisprimary""" % t):
            icols = tuple(icols.split(","))
            idx[("unique", icols) if constraint == "t" else name] = (icols, unique == "t", partial == "t")
        checks = int(psql(uri, "SELECT count(*) FROM pg_constraint WHERE contype = 'c' AND "
                               "conrelid = '\"%s\"'::regclass" % t)[0][0])
        out[t] = {"columns": columns, "pk": pk, "fks": sorted(fks), "indexes": idx, "checks": checks,
                  "collations": collations}
    trig = sorted(r[0] for r in psql(uri, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
    return out, trig


# ---- one scripted sequence of changes, written for either engine ----

def blob(engine, b):
    return ("X'%s'" if engine == "sqlite" else "'\\x%s'::bytea") % b.hex()


def spill_row(run, spill, events, mot, flag):
    mot_sql = "NULL" if mot is None else repr(float(mot))
    return ("INSERT INTO spills(run, spill, started, ended, duration, events, mot, dead_time, decode_errors, "
            "unknown_fields, complete, flag, reasons, counters, triggers, profile_version, closed_at) VALUES "
            "(%d, %d, %d.5, %d.75, 4.8, %d, %s, 0.01, 0, 0, 1, '%s', '[]', '{}', '{}', 'p1', %d.9);"
            % (run, spill, 1000 + spill, 1005 + spill, events, mot_sql, flag, 1006 + spill))


def manual(run, spill, flag):
    # as certify.c writes it: a flag that replaces another is an UPDATE
    return ("INSERT INTO manual_flags(run, spill, flag, reason, comment, who, shifter, time) VALUES "
            "(%d, %d, '%s', 'r', '', 'open', NULL, 2000.0) ON CONFLICT(run, spill) DO UPDATE SET "
            "flag = excluded.flag, reason = excluded.reason, time = excluded.time;" % (run, spill, flag))


def script(engine):
    """Transactions (lists of statements), each committed as the server commits a spill or an action."""
    tx = []
    tx.append(["INSERT INTO runs(run, started) VALUES (1, 1000.0);", "INSERT INTO runs(run, started) VALUES (2, 3000.0);"])
    flags = ["GOOD", "GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED", "GOOD", "BAD"]
    for i, f in enumerate(flags):
        run, spill = (1, i + 1) if i < 6 else (2, i - 5)
        mot = None if i == 4 else 1e9 + 12345 * i
        tx.append([spill_row(run, spill, 100 + i, mot, f),
                   "INSERT INTO spill_hists(run, spill, blob) VALUES (%d, %d, %s);"
                   % (run, spill, blob(engine, bytes([i, 1, 2, 3]))),
                   "INSERT INTO checks(run, spill, name, category, state, value, raw, reason) VALUES "
                   "(%d, %d, 'rate', 'beam', '%s', 1.0, 2.0, '');" % (run, spill, f)])
    # a spill committed without a snapshot
    tx.append([spill_row(2, 3, 7, 5e8, "GOOD")])
    # manual flags: set on a GOOD spill, on a BAD one; changed GOOD->BAD, BAD->GOOD, WARN->EXCLUDED
    tx.append([manual(1, 1, "BAD")])
    tx.append([manual(1, 4, "GOOD")])
    tx.append([manual(1, 3, "WARN")])
    tx.append([manual(1, 3, "EXCLUDED")])
    tx.append([manual(1, 1, "GOOD")])
    tx.append([manual(2, 3, "BAD")])
    # removed
    tx.append(["DELETE FROM manual_flags WHERE run = 1 AND spill = 4;"])
    # a re-evaluation: automatic flags change, with and without a manual flag deciding
    tx.append(["UPDATE spills SET flag = 'BAD', reasons = '[\"rate\"]' WHERE run = 1 AND spill = 2;",
               "UPDATE spills SET flag = 'GOOD' WHERE run = 1 AND spill = 1;",
               "UPDATE spills SET flag = 'GOOD' WHERE run = 2 AND spill = 2;",
               "UPDATE spills SET flag = 'WARN' WHERE run = 1 AND spill = 5;"])
    # a snapshot rewritten in place
    tx.append(["UPDATE spill_hists SET blob = %s WHERE run = 2 AND spill = 1;" % blob(engine, b"\x09\x08")])
    # an update that touches neither flag, events nor mot
    tx.append(["UPDATE spills SET hists_pruned = 5000.0 WHERE run = 1 AND spill = 6;"])
    # retention: the snapshot pruned, then a spill removed with its checks and flag
    tx.append(["DELETE FROM spill_hists WHERE run = 1 AND spill = 6;"])
    tx.append(["DELETE FROM spill_hists WHERE run = 1 AND spill = 3;", "DELETE FROM checks WHERE run = 1 AND spill = 3;",
               "DELETE FROM manual_flags WHERE run = 1 AND spill = 3;", "DELETE FROM spills WHERE run = 1 AND spill = 3;"])
    tx.append(["DELETE FROM spills WHERE run = 2 AND spill = 3 AND 0 = 1;",
               "DELETE FROM manual_flags WHERE run = 2 AND spill = 3;", "DELETE FROM spills WHERE run = 2 AND spill = 3;"])
    # the writer drains the moves (server/run_hists.c applies them in id order, then deletes them
    # all); the moves so far are compared first (MOVES_BEFORE_DRAIN)
    tx.append(["INSERT INTO audit(time, who, action, comment) SELECT 9.0, 'test', 'drain', "
               "string_agg(run || ':' || spill || ':' || d_all || ':' || d_good, ',' ORDER BY id) FROM run_hist_moves;"
               if engine == "pg" else
               "INSERT INTO audit(time, who, action, comment) SELECT 9.0, 'test', 'drain', "
               "group_concat(x, ',') FROM (SELECT run || ':' || spill || ':' || d_all || ':' || d_good AS x "
               "FROM run_hist_moves ORDER BY id);",
               "DELETE FROM run_hist_moves;"])
    # statements over many rows: a re-evaluation of a whole run, a manual flag over a range, a
    # range unflagged, snapshots pruned by closing time
    tx.append(["UPDATE spills SET flag = CASE WHEN flag = 'GOOD' THEN 'WARN' ELSE 'GOOD' END WHERE run = 1;"])
    tx.append(["INSERT INTO manual_flags(run, spill, flag, reason, comment, who, shifter, time) "
               "SELECT run, spill, 'BAD', 'r', '', 'open', 'A. Shifter', 2100.0 FROM spills WHERE run = 1 AND spill >= 4 "
               "ON CONFLICT(run, spill) DO UPDATE SET flag = excluded.flag;"])
    tx.append(["DELETE FROM manual_flags WHERE run = 1 AND spill IN (4, 5);"])
    tx.append(["DELETE FROM spill_hists WHERE (run, spill) IN (SELECT run, spill FROM spills WHERE closed_at < 1009);"])
    # later spills after the drain
    tx.append([spill_row(2, 4, 11, 2e9, "WARN"),
               "INSERT INTO spill_hists(run, spill, blob) VALUES (2, 4, %s);" % blob(engine, b"\x44"), manual(2, 4, "GOOD")])
    return tx


KEPT = {
    "run_totals": "SELECT run, spills, events, mot, good_mot, n_good, n_warn, n_bad, n_unknown, n_excluded "
                  "FROM run_totals ORDER BY run",
    # ids are only the order the writer applies them in (SQLite's rowid starts again at 1 once the
    # drain empties the table, PostgreSQL's identity goes on)
    "run_hist_moves": "SELECT run, spill, d_all, d_good, blob FROM run_hist_moves ORDER BY id",
    "drained": "SELECT comment FROM audit WHERE action = 'drain'",
    "run_hist_stale": "SELECT run FROM run_hist_stale ORDER BY run",
    "run_hist_sums": "SELECT run, quality, layout, spills, smin, smax, blob FROM run_hist_sums ORDER BY 1, 2, 3",
}


def sqlite_kept(c):
    out = {}
    for k, q in KEPT.items():
        out[k] = [tuple(v.hex() if isinstance(v, bytes) else (float(v) if isinstance(v, float) else v) for v in r)
                  for r in c.execute(q)]
    return out


def pg_value(v):
    """A psql value as Python's sqlite3 gives it (1 == 1.0 in the comparison, so ints and floats
    compare by value)."""
    if v is None:
        return None
    if v.startswith("\\x"):
        return v[2:]
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def pg_kept(uri):
    return {k: [tuple(pg_value(v) for v in r) for r in psql(uri, q)] for k, q in KEPT.items()}


class PgSchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = pgcluster.missing_reason()
        if why:
            raise unittest.SkipTest(why)
        cls.pg = pgcluster.cluster()
        cls.tmp = tempfile.mkdtemp(prefix="sw-pgschema-")

    def fresh(self, base=None):
        uri = self.pg.new_database()
        psql(uri, base if base is not None else pg_base_sql(), single=True)
        lite = sqlite_at_15(os.path.join(self.tmp, "%s.db" % uri.rsplit("/", 1)[1]))
        return uri, lite

    def test_same_schema(self):
        uri, lite = self.fresh()
        ls, lt = sqlite_schema(lite)
        ps, pt = pg_schema(uri)
        self.assertEqual(sorted(ls), sorted(ps), "tables")
        for t in ls:
            for part in ("columns", "pk", "fks", "indexes", "checks"):
                self.assertEqual(ls[t][part], ps[t][part], "%s of table %s" % (part, t))
            # SQLite compares text byte by byte (BINARY): every text column collates "C"
            for col, coll in ps[t]["collations"].items():
                self.assertEqual(coll, "C", "collation of %s.%s" % (t, col))
        self.assertEqual(lt, pt, "triggers")
        # an explicit id is taken (spillwatch migrate copies ids), and the next assigned one follows
        # when the sequence is set past it as migrate does; here: a fresh table assigns 1, 2, ...
        psql(uri, "INSERT INTO audit(id, time, who, action) VALUES (41, 1.0, 'x', 'reload');"
                  "INSERT INTO audit(time, who, action) VALUES (2.0, 'x', 'reload');")
        self.assertEqual(psql(uri, "SELECT id FROM audit ORDER BY id"), [["1"], ["41"]])

    def run_both(self, base=None):
        uri, lite = self.fresh(base)
        for stmts in script("sqlite"):
            with lite:
                for s in stmts:
                    lite.execute(s)
        psql(uri, "\n".join("BEGIN;\n%s\nCOMMIT;" % "\n".join(stmts) for stmts in script("pg")))
        return sqlite_kept(lite), pg_kept(uri), lite

    def test_triggers_keep_the_same(self):
        lk, pk, lite = self.run_both()
        # the sequence exercised what it should: moves recorded, every run with totals
        self.assertGreater(len(lk["run_hist_moves"]), 10)
        self.assertEqual([r[0] for r in lk["run_totals"]], [1, 2])
        self.assertEqual(len(lk["drained"]), 1)
        for k in KEPT:
            if k == "run_hist_moves":
                # a statement over many rows visits them in the engine's order (SQL defines none);
                # the writer adds the moves up, so they compare as a multiset
                self.assertEqual(sorted(lk[k]), sorted(pk[k]), k)
            else:
                self.assertEqual(lk[k], pk[k], k)
        # and the totals are those of the stored spills (not two engines agreeing on a wrong sum)
        want = lite.execute("""
            SELECT r.run, count(s.spill), coalesce(sum(s.events), 0), coalesce(sum(s.mot), 0.0),
                   coalesce(sum(CASE WHEN coalesce(m.flag, s.flag) = 'GOOD' THEN s.mot END), 0.0),
                   coalesce(sum(coalesce(m.flag, s.flag) = 'GOOD'), 0), coalesce(sum(coalesce(m.flag, s.flag) = 'WARN'), 0),
                   coalesce(sum(coalesce(m.flag, s.flag) = 'BAD'), 0), coalesce(sum(coalesce(m.flag, s.flag) = 'UNKNOWN'), 0),
                   coalesce(sum(coalesce(m.flag, s.flag) = 'EXCLUDED'), 0)
            FROM runs r LEFT JOIN spills s ON s.run = r.run LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill
            GROUP BY r.run ORDER BY r.run""").fetchall()
        self.assertEqual([tuple(float(v) if i in (3, 4) else v for i, v in enumerate(r)) for r in want], pk["run_totals"])

    def test_a_broken_trigger_is_seen(self):
        base = pg_base_sql()
        broken = base.replace("n_bad = n_bad + sign * sw_is(f, 'BAD')", "n_bad = n_bad + sign * sw_is(f, 'WARN')")
        self.assertNotEqual(broken, base, "the statement to break is no longer in 015_base.sql")
        lk, pk, _ = self.run_both(broken)
        self.assertNotEqual(lk["run_totals"], pk["run_totals"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
