-- Migration 6: the audit log also records server-wide actions (issue 7: profile reload), which
-- belong to no run: run becomes nullable. SQLite cannot drop NOT NULL in place, so the table is
-- rebuilt with its rows and ids.
CREATE TABLE audit_new (
    id      INTEGER PRIMARY KEY,
    time    REAL NOT NULL,
    who     TEXT NOT NULL,
    shifter TEXT,
    action  TEXT NOT NULL,      -- flag | unflag | signoff | reopen | reevaluate | reload
    run     INTEGER,            -- NULL for server-wide actions (reload)
    spill   INTEGER,            -- NULL for run-level actions
    old     TEXT,
    new     TEXT,
    reason  TEXT,
    comment TEXT
) STRICT;
INSERT INTO audit_new(id, time, who, shifter, action, run, spill, old, new, reason, comment)
    SELECT id, time, who, shifter, action, run, spill, old, new, reason, comment FROM audit;
DROP TABLE audit;
ALTER TABLE audit_new RENAME TO audit;
CREATE INDEX audit_run ON audit(run, spill);
