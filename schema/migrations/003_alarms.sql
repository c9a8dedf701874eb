-- Migration 3: alarm transitions (issue 4). Every state change of every alarm rule is kept.
CREATE TABLE alarm_events (
    id         INTEGER PRIMARY KEY,
    time       REAL NOT NULL,
    alarm      TEXT NOT NULL,
    severity   TEXT NOT NULL,
    from_state TEXT NOT NULL,   -- inactive pending firing resolved
    to_state   TEXT NOT NULL,
    run        INTEGER,
    spill      INTEGER,
    value      REAL,
    threshold  REAL,
    note       TEXT             -- e.g. "suppressed: no beam", who reset it
) STRICT;
CREATE INDEX alarm_events_alarm ON alarm_events(alarm, id);
