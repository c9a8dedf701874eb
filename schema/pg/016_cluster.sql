-- spillwatch PostgreSQL schema, version 16: the coordination of several servers on one database
-- (server/ha.h, docs/deployment.md "Several servers"). PostgreSQL only: SQLite's migration 16 is
-- empty, so that a version number means the same data in both engines.
--
-- ha_active: the server that holds the active advisory lock says who it is, for the standbys to
-- name it in their 503 answer to ingest (one row; the lock itself, not this row, decides).
CREATE TABLE ha_active (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    url   TEXT NOT NULL,
    host  TEXT NOT NULL,
    pid   BIGINT NOT NULL,
    since DOUBLE PRECISION NOT NULL
);

-- stream_relay: the active server's stream events (spill, alarm, live), each also announced by
-- NOTIFY spillwatch_relay; the standbys publish them on their own streams. About ten minutes are
-- kept (the active server prunes).
CREATE TABLE stream_relay (
    id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at    DOUBLE PRECISION NOT NULL,
    event TEXT NOT NULL,
    data  TEXT NOT NULL
);
CREATE INDEX stream_relay_at ON stream_relay(at);
