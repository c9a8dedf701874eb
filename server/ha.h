/* ha.h — several servers on one PostgreSQL database (docs/deployment.md, "Several servers"): exactly
 * one is active, the one that holds spillwatch's advisory lock; it takes ingest, judges, writes
 * and notifies. The others are standbys: they serve every read, the dashboards and the stream,
 * and answer ingest and human writes with 503 naming the active server. A lock lives as long as
 * the session that took it, so the active server's death (a crash, SIGKILL, a lost machine)
 * releases it, and a standby takes it within about a second (ha_poll_s).
 *
 * Relay: the active server's stream events (spill closes, alarm transitions, live counters) go to
 * the table stream_relay and a NOTIFY; each standby LISTENs, reads the rows after the last one it
 * saw and publishes them on its own stream (about 10 minutes of rows are kept: a standby that lost
 * its connection for longer starts from the newest).
 *
 * Losing the lock: when the active server's lock session ends under it (the database restarted,
 * the network dropped it), another server may be active a second later; this one must not write
 * beside it, so it exits (status 3; its supervisor starts it again, as a standby). What it had
 * not committed was not acknowledged either: the collectors resend it to the new active server.
 *
 * Threads: one thread of its own (the lock, the relay, the watch of the active one); its
 * connection is its alone. sw_ha_active and sw_ha_active_url from any thread; sw_ha_relay from
 * any (the stream's relay hook); start and stop from the main thread. */
#ifndef SW_HA_H
#define SW_HA_H

#include <stddef.h>

struct sw_ha;

struct sw_ha_hooks {
    /* This server just took the lock, before it takes ingest: load the state (engine, alarms).
     * 0, or -1: this server cannot become active (it exits, status 3). The ha thread. */
    int (*promote)(void *ctx);
    /* Standby: one event of the active server's stream (data: one line of JSON). The ha thread. */
    void (*relayed)(void *ctx, const char *event, const char *data);
    void *ctx;
};

/* Connects to uri (a session of its own) and takes the lock if it is free: sw_ha_active then says
 * whether this server starts as the active one. advertise: the base URL other servers and the
 * collectors reach this one at (named in the standby answer). poll_s: how often a standby tries the
 * lock and the active one checks its session. NULL with a message in err when the database cannot
 * be reached. Main thread, after the store is open (its migrations made the tables). */
struct sw_ha *sw_ha_open(const char *uri, const char *advertise, double poll_s, char *err, size_t errlen);
/* Starts the thread, with hooks (copied; their ctx must outlive sw_ha_stop). 0, or -1 with err. */
int sw_ha_run(struct sw_ha *ha, const struct sw_ha_hooks *hooks, char *err, size_t errlen);
/* Stops the thread and closes the session (the lock is released). Accepts NULL. */
void sw_ha_stop(struct sw_ha *ha);
/* 1 while this server is the active one; 1 for NULL (one server on SQLite: always active). */
int sw_ha_active(const struct sw_ha *ha);
/* The active server's advertised URL as last seen ("" when none is known). */
void sw_ha_active_url(struct sw_ha *ha, char *out, size_t len);
/* This server's advertised URL. */
const char *sw_ha_advertise(const struct sw_ha *ha);
/* The stream's relay hook (stream.h): queues the event for the standbys when active. Never blocks
 * on the database; beyond 10,000 queued events the oldest are dropped (counted, logged). */
void sw_ha_relay(void *ha, const char *event, const char *data);

#endif
