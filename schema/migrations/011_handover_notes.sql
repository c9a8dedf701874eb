-- Migration 11: handover notes (issue 16), what one shift leaves the next in words
-- (POST /api/v1/shift/notes). A note is written at `time` by a token (`who`) for a person
-- (`shifter`) and may name the shift range it covers (from_time..to_time, both or neither). Rows are
-- never changed or deleted; every note is also in the audit log (action "handover").
CREATE TABLE handover_notes (
    id        INTEGER PRIMARY KEY,
    time      REAL NOT NULL,    -- Unix s, when it was written
    who       TEXT NOT NULL,    -- the token's name
    shifter   TEXT NOT NULL,
    text      TEXT NOT NULL,    -- 1..8000 bytes of UTF-8
    from_time REAL,             -- the shift range it covers (Unix s), NULL when it names none
    to_time   REAL,
    CHECK ((from_time IS NULL) = (to_time IS NULL) AND (from_time IS NULL OR to_time >= from_time))
) STRICT;
CREATE INDEX handover_notes_time ON handover_notes(time);
