-- Migration 14: the delivery log of alarm notifications (issue 17). One row per attempt to hand a
-- notice (an alarm transition) to a hook, and one per notice that was never attempted (dropped
-- because the hook's queue was full, or held back by a silence). Rows are never updated.
CREATE TABLE alarm_deliveries (
    id          INTEGER PRIMARY KEY,
    time        REAL NOT NULL,     -- Unix s: when the attempt ended (or the notice was dropped/held)
    alarm       TEXT NOT NULL,
    episode     REAL NOT NULL,     -- Unix s: start of the firing episode (its firing transition's time)
    fingerprint TEXT NOT NULL,     -- the episode's fingerprint, as in the payload
    notice      INTEGER NOT NULL,  -- the notice: every attempt of one notice shares it
    status      TEXT NOT NULL,     -- what the notice says: firing | resolved
    run         INTEGER,
    spill       INTEGER,
    hook        TEXT NOT NULL,     -- the hook's name
    kind        TEXT NOT NULL,     -- webhook | exec
    target      TEXT NOT NULL,     -- webhook: scheme://host:port (no path, query or credentials); exec: the program
    attempt     INTEGER NOT NULL,  -- 1, 2, ...; 0 when not attempted (queue_full, silenced)
    outcome     TEXT NOT NULL,     -- delivered | retrying | dropped | queue_full | silenced
    http_status INTEGER,           -- webhook: the HTTP status answered (NULL: no answer)
    exit_code   INTEGER,           -- exec: the exit status (NULL: killed or not run)
    error       TEXT,              -- why it failed: curl's error, the start of the body answered, a timeout
    latency     REAL               -- s the attempt took
) STRICT;
CREATE INDEX alarm_deliveries_alarm ON alarm_deliveries(alarm, time);
CREATE INDEX alarm_deliveries_episode ON alarm_deliveries(alarm, episode);
CREATE INDEX alarm_events_time ON alarm_events(time);
