-- Migration 5: open spills survive a server restart as markers (issue 5).
-- A marker is written when the engine opens a spill (asynchronously, in the transaction that also
-- gives the run its row) and deleted in the transaction that commits the spill. At start-up every
-- marker becomes an empty open spill again: the collector resends its data from the first batch,
-- or the spill timeout closes it as incomplete ("lost in a server restart and not resent").
CREATE TABLE open_spills (
    run    INTEGER NOT NULL,
    spill  INTEGER NOT NULL,
    source TEXT,              -- X-Spillwatch-Source of the batch that opened it; NULL without one
    seq    INTEGER,           -- X-Spillwatch-Seq of that batch: after a restart the source must resend
                              -- from there (a later seq is refused as a gap); NULL without a source
    opened REAL NOT NULL,     -- Unix s when its first data arrived
    PRIMARY KEY (run, spill)
) STRICT;
