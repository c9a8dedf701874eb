-- spillwatch schema, migration 1 (PRAGMA user_version = 1).
-- One row per run and per closed spill; histograms of a spill as one compressed blob
-- (server/hist.h sw_hist_encode), so any scope is a sum of stored spills. STRICT tables.

CREATE TABLE runs (
    run      INTEGER PRIMARY KEY,
    started  REAL,              -- Unix s, from run_start (or the first spill)
    ended    REAL,              -- Unix s, from run_end
    meta     TEXT               -- JSON object of run_start.meta, stored as is
) STRICT;

CREATE TABLE spills (
    run             INTEGER NOT NULL REFERENCES runs(run),
    spill           INTEGER NOT NULL,
    started         REAL,       -- Unix s: spill_start time, else the first data
    ended           REAL,       -- Unix s: spill_end time, else the last data
    duration        REAL,       -- s, from spill_end
    events          INTEGER NOT NULL,  -- event records accepted for this spill
    mot             REAL,       -- muons on target (profile's mot counter); NULL when unknown
    dead_time       REAL,       -- 0..1
    decode_errors   REAL,
    unknown_fields  INTEGER NOT NULL,
    complete        INTEGER NOT NULL,  -- 0: closed by the spill timeout, no spill_end
    flag            TEXT NOT NULL,     -- automatic flag: GOOD WARN BAD UNKNOWN EXCLUDED
    reasons         TEXT NOT NULL,     -- JSON array of strings
    counters        TEXT NOT NULL,     -- JSON object: spill_end counters
    triggers        TEXT NOT NULL,     -- JSON object: recorded events per trigger type
    profile_version TEXT NOT NULL,     -- profile that made the automatic flag
    closed_at       REAL NOT NULL,     -- Unix s of the commit
    PRIMARY KEY (run, spill)
) STRICT;

CREATE TABLE spill_hists (
    run   INTEGER NOT NULL,
    spill INTEGER NOT NULL,
    blob  BLOB NOT NULL,
    PRIMARY KEY (run, spill),
    FOREIGN KEY (run, spill) REFERENCES spills(run, spill)
) STRICT; -- a rowid table: kilobyte blobs pack badly into WITHOUT ROWID pages

CREATE TABLE checks (
    run      INTEGER NOT NULL,
    spill    INTEGER NOT NULL,
    name     TEXT NOT NULL,
    category TEXT NOT NULL,
    state    TEXT NOT NULL,
    value    REAL,              -- after comparison with the reference (delta/ratio)
    raw      REAL,              -- the statistic itself
    reason   TEXT NOT NULL,
    PRIMARY KEY (run, spill, name),
    FOREIGN KEY (run, spill) REFERENCES spills(run, spill)
) STRICT, WITHOUT ROWID;

-- Collector watermarks (docs/design.md §6.5): committed in the same transaction as each spill.
CREATE TABLE sources (
    source  TEXT PRIMARY KEY,
    seq     INTEGER NOT NULL,   -- last applied X-Spillwatch-Seq that is durable
    run     INTEGER,            -- last committed (run, spill) from this source
    spill   INTEGER,
    updated REAL NOT NULL
) STRICT;

CREATE INDEX spills_closed_at ON spills(closed_at);
