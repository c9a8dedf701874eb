-- spillwatch schema: run histograms summed at commit, so a run-scope histogram (docs/api.md,
-- "Histograms": ?run=R, &quality=good, format=root, the bundle) reads the run's sums instead of
-- every spill's snapshot (docs/performance.md).
--
-- run_hist_sums holds, per run, quality ('all': every stored spill with a snapshot; 'good': those
-- whose effective flag, the manual flag where there is one, else the checks' verdict, is GOOD) and
-- snapshot layout, the sum of the spills' snapshots (server/run_hists.c). The layout is a 64-bit
-- key of the snapshot's histogram names, binnings and partial bits: snapshots of one layout sum
-- into one blob; a profile that changes a binning mid-run starts a second row, so a read with the
-- profile in force adds the rows whose binning it has and counts the others as skipped, spill for
-- spill as summing the snapshots does. Layout 0: snapshots that do not decode (blob NULL), only
-- counted. smin/smax: the lowest and highest spill summed. Spills pruned by retention leave these
-- sums (their contribution moves to run_hists, migration 007, as before).
--
-- Triggers record every change of a spill's contribution (a snapshot stored, rewritten or pruned, a
-- re-evaluated flag, a manual flag set, changed or removed) in run_hist_moves, with the snapshot;
-- the writer applies the moves to the sums before it commits (server/run_hists.c,
-- sw_run_hists_drain), in the same transaction, so the sums never disagree with the spills.
--
-- Carry-forward: a database of schema 13 has no sums. Every run is listed in run_hist_stale;
-- the server builds the sums of the listed runs in the background, a run per writer job, and a
-- read of a listed run (or of a run with moves not yet applied, e.g. written by another tool) sums
-- the spills' snapshots as before.

CREATE TABLE run_hist_sums (
    run     INTEGER NOT NULL,
    quality TEXT NOT NULL,      -- 'all' | 'good'
    layout  INTEGER NOT NULL,   -- key of the snapshots' layout; 0: not decodable
    spills  INTEGER NOT NULL,   -- spills summed
    smin    INTEGER,            -- lowest spill summed
    smax    INTEGER,            -- highest spill summed
    blob    BLOB,               -- sw_hist_encode of the sums (the snapshots' own binning)
    PRIMARY KEY (run, quality, layout)
) STRICT;

CREATE TABLE run_hist_stale (
    run INTEGER PRIMARY KEY     -- the run's sums are to be built from its spills
) STRICT;

CREATE TABLE run_hist_moves (
    id     INTEGER PRIMARY KEY,
    run    INTEGER NOT NULL,
    spill  INTEGER NOT NULL,
    d_all  INTEGER NOT NULL,    -- +1 into / -1 out of quality 'all', 0 unchanged
    d_good INTEGER NOT NULL,    -- same for 'good'
    blob   BLOB                 -- the spill's snapshot
) STRICT;

INSERT INTO run_hist_stale(run) SELECT run FROM runs;

CREATE TRIGGER run_hists_snap_ins AFTER INSERT ON spill_hists BEGIN
    INSERT INTO run_hist_moves(run, spill, d_all, d_good, blob)
    SELECT NEW.run, NEW.spill, 1,
           coalesce((SELECT flag FROM manual_flags WHERE run = NEW.run AND spill = NEW.spill),
                    (SELECT flag FROM spills WHERE run = NEW.run AND spill = NEW.spill)) IS 'GOOD', NEW.blob;
END;

CREATE TRIGGER run_hists_snap_del AFTER DELETE ON spill_hists BEGIN
    INSERT INTO run_hist_moves(run, spill, d_all, d_good, blob)
    SELECT OLD.run, OLD.spill, -1,
           -(coalesce((SELECT flag FROM manual_flags WHERE run = OLD.run AND spill = OLD.spill),
                      (SELECT flag FROM spills WHERE run = OLD.run AND spill = OLD.spill)) IS 'GOOD'), OLD.blob;
END;

-- A snapshot rewritten in place (a repair tool, tests/integration/test_root_export.py): the old
-- one out, the new one in.
CREATE TRIGGER run_hists_snap_upd AFTER UPDATE OF blob ON spill_hists BEGIN
    INSERT INTO run_hist_moves(run, spill, d_all, d_good, blob)
    SELECT OLD.run, OLD.spill, -1, -F.good, OLD.blob FROM (SELECT
        coalesce((SELECT flag FROM manual_flags WHERE run = OLD.run AND spill = OLD.spill),
                 (SELECT flag FROM spills WHERE run = OLD.run AND spill = OLD.spill)) IS 'GOOD' AS good) AS F
    UNION ALL
    SELECT NEW.run, NEW.spill, 1, F.good, NEW.blob FROM (SELECT
        coalesce((SELECT flag FROM manual_flags WHERE run = NEW.run AND spill = NEW.spill),
                 (SELECT flag FROM spills WHERE run = NEW.run AND spill = NEW.spill)) IS 'GOOD' AS good) AS F;
END;

-- A re-evaluated flag moves the spill in or out of 'good' unless a manual flag decides.
CREATE TRIGGER run_hists_spill_flag AFTER UPDATE OF flag ON spills
WHEN (OLD.flag IS 'GOOD') != (NEW.flag IS 'GOOD')
     AND NOT EXISTS (SELECT 1 FROM manual_flags WHERE run = NEW.run AND spill = NEW.spill) BEGIN
    INSERT INTO run_hist_moves(run, spill, d_all, d_good, blob)
    SELECT NEW.run, NEW.spill, 0, CASE WHEN NEW.flag IS 'GOOD' THEN 1 ELSE -1 END, h.blob
    FROM spill_hists h WHERE h.run = NEW.run AND h.spill = NEW.spill;
END;

-- A manual flag: the effective flag goes from the automatic one (or the old manual one) to the
-- new one. Written as an UPDATE when it replaces another (certify.c), as for run_totals.
CREATE TRIGGER run_hists_manual_ins AFTER INSERT ON manual_flags BEGIN
    INSERT INTO run_hist_moves(run, spill, d_all, d_good, blob)
    SELECT NEW.run, NEW.spill, 0, CASE WHEN NEW.flag IS 'GOOD' THEN 1 ELSE -1 END, h.blob
    FROM spill_hists h JOIN spills s ON s.run = h.run AND s.spill = h.spill
    WHERE h.run = NEW.run AND h.spill = NEW.spill AND (s.flag IS 'GOOD') != (NEW.flag IS 'GOOD');
END;

CREATE TRIGGER run_hists_manual_upd AFTER UPDATE OF flag ON manual_flags
WHEN (OLD.flag IS 'GOOD') != (NEW.flag IS 'GOOD') BEGIN
    INSERT INTO run_hist_moves(run, spill, d_all, d_good, blob)
    SELECT NEW.run, NEW.spill, 0, CASE WHEN NEW.flag IS 'GOOD' THEN 1 ELSE -1 END, h.blob
    FROM spill_hists h WHERE h.run = NEW.run AND h.spill = NEW.spill;
END;

CREATE TRIGGER run_hists_manual_del AFTER DELETE ON manual_flags BEGIN
    INSERT INTO run_hist_moves(run, spill, d_all, d_good, blob)
    SELECT OLD.run, OLD.spill, 0, CASE WHEN s.flag IS 'GOOD' THEN 1 ELSE -1 END, h.blob
    FROM spill_hists h JOIN spills s ON s.run = h.run AND s.spill = h.spill
    WHERE h.run = OLD.run AND h.spill = OLD.spill AND (s.flag IS 'GOOD') != (OLD.flag IS 'GOOD');
END;
