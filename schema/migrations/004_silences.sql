-- Migration 4: acknowledgements and silences (issue 4).
-- Who acknowledged or reset an alarm, with their comment and the acknowledgement's expiry, is kept
-- on the transition itself; the to_state of an acknowledgement is "acknowledged".
ALTER TABLE alarm_events ADD COLUMN who TEXT;      -- token name of a human transition
ALTER TABLE alarm_events ADD COLUMN shifter TEXT;  -- the person, when given
ALTER TABLE alarm_events ADD COLUMN comment TEXT;
ALTER TABLE alarm_events ADD COLUMN expires REAL;  -- acknowledgement expiry (Unix s), NULL = episode end

-- Silences mute notifications of the rules whose labels match every matcher, from starts_at to
-- ends_at. Expiring one early sets ends_at and expired_by; rows are never deleted.
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    created    REAL NOT NULL,
    creator    TEXT NOT NULL,   -- the shifter's name (or the token's)
    who        TEXT NOT NULL,   -- the token name
    comment    TEXT NOT NULL,
    matchers   TEXT NOT NULL,   -- JSON object: label -> exact value
    starts_at  REAL NOT NULL,
    ends_at    REAL NOT NULL,
    expired_by TEXT             -- who ended it early
) STRICT;
CREATE INDEX silences_ends ON silences(ends_at);
