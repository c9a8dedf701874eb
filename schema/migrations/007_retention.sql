-- spillwatch schema, migration 7: retention of per-spill histograms (docs/configuration.md,
-- retention). A pruned spill keeps its row, checks, flags and counters; its spill_hists row is
-- deleted and spills.hists_pruned says when. Its histograms live on, summed per run, in run_hists
-- (quality 'all': every pruned spill; 'good': those whose effective flag was GOOD when pruned), so
-- the run-scope and good-only run histograms stay complete forever.

ALTER TABLE spills ADD COLUMN hists_pruned REAL; -- Unix s when retention deleted its histograms

CREATE TABLE run_hists (
    run     INTEGER NOT NULL REFERENCES runs(run),
    quality TEXT NOT NULL,      -- 'all' | 'good'
    spills  INTEGER NOT NULL,   -- pruned spills summed into blob
    blob    BLOB NOT NULL,      -- sw_hist_encode of the sums (the profile's binning when pruned)
    PRIMARY KEY (run, quality)
) STRICT;
