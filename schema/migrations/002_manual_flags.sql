-- Migration 2: manual flags, the audit log and run sign-off (issue 3).
-- The automatic flag stays in spills.flag; a manual flag lives beside it and wins when present.

CREATE TABLE manual_flags (
    run     INTEGER NOT NULL,
    spill   INTEGER NOT NULL,
    flag    TEXT NOT NULL,      -- GOOD WARN BAD EXCLUDED
    reason  TEXT NOT NULL,      -- from the profile's manual_reasons vocabulary
    comment TEXT NOT NULL,
    who     TEXT NOT NULL,      -- token name ("open" without auth)
    shifter TEXT,               -- the person, when given
    time    REAL NOT NULL,
    PRIMARY KEY (run, spill),
    FOREIGN KEY (run, spill) REFERENCES spills(run, spill)
) STRICT;

-- Every human decision: flag set/cleared, sign-off, re-open, re-evaluation applied.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    time    REAL NOT NULL,
    who     TEXT NOT NULL,
    shifter TEXT,
    action  TEXT NOT NULL,      -- flag | unflag | signoff | reopen | reevaluate
    run     INTEGER NOT NULL,
    spill   INTEGER,            -- NULL for run-level actions
    old     TEXT,
    new     TEXT,
    reason  TEXT,
    comment TEXT
) STRICT;
CREATE INDEX audit_run ON audit(run, spill);

CREATE TABLE signoffs (
    run     INTEGER PRIMARY KEY REFERENCES runs(run),
    who     TEXT NOT NULL,
    shifter TEXT,
    time    REAL NOT NULL,
    comment TEXT NOT NULL
) STRICT;
