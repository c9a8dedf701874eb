-- spillwatch schema, migration 10: a shifter's reset of a run's baselines (docs/quality.md,
-- POST /api/v1/runs/{run}/rebaseline). From spill from_spill on, the run's baselines learn anew:
-- nothing carried over, nothing of the run's earlier spills. One row per run (the latest reset);
-- every reset is also in the audit log.
CREATE TABLE baseline_resets (
    run        INTEGER PRIMARY KEY,
    from_spill INTEGER NOT NULL,
    who        TEXT NOT NULL,      -- the token's name
    shifter    TEXT,
    time       REAL NOT NULL,
    comment    TEXT NOT NULL
) STRICT;
