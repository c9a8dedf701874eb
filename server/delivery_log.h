/* delivery_log.h — the delivery log of alarm notifications (docs/design.md §9): one row per attempt
 * of a hook to hand over a notice, and one per notice never attempted (the hook's queue was full, a
 * silence held it back), appended to alarm_deliveries in SQLite.
 *
 * The hook threads must never wait for the database, and ingest must not wait for the log: a row
 * is copied into the log's pending list under a short mutex, and at most one job of the store's
 * writer is queued at a time (sw_store_call_async) that writes every pending row in one
 * transaction. A burst of failures therefore costs the writer one transaction, not one per row,
 * and adds at most one job to the writer's queue. Beyond 10,000 pending rows (the writer stalled
 * for a long time) a row is not kept: counted in sw_metrics.delivery_log_lost.
 *
 * Threads: sw_delivery_log_add from any thread (the hook threads, the alarms under their mutex);
 * new/free from the main thread (free after sw_store_close: the writer's last job may use it).
 * The reads of the log are alarm_report's.
 */
#ifndef SW_DELIVERY_LOG_H
#define SW_DELIVERY_LOG_H

#include <stdint.h>

#include "profile.h"
#include "store.h"

/* What became of one attempt (or of a notice never attempted). */
enum sw_delivery_outcome {
    SW_DELIVERED,  /* the receiver took it: HTTP 2xx, exit status 0 */
    SW_RETRYING,   /* this attempt failed; the notice is retried later */
    SW_DROPPED,    /* the last attempt failed (8 attempts, or the server stopping): given up */
    SW_QUEUE_FULL, /* dropped unsent (or between retries) because the hook's queue was full */
    SW_SILENCED,   /* not sent: a silence muted the rule when the notice was due */
    SW_OUTCOME_N
};
extern const char *const sw_delivery_outcome_names[SW_OUTCOME_N];

/* One row of alarm_deliveries. */
struct sw_delivery {
    double time;    /* Unix s: when the attempt ended */
    double episode; /* Unix s: the episode's start (its firing transition's time) */
    char alarm[SW_NAME_MAX], fingerprint[17], status[16];
    int64_t notice;     /* sw_delivery_notice_id of the notice */
    int64_t run, spill; /* < 0: none */
    char hook[SW_NAME_MAX], kind[8], target[160];
    int attempt; /* 1, 2, ...; for queue_full and silenced the attempts made before (0: none) */
    enum sw_delivery_outcome outcome;
    int http_status; /* 0: no HTTP answer (or not a webhook) */
    int exit_code;   /* -1: not an exec hook, or killed */
    char error[300]; /* "" when delivered */
    double latency;  /* s; NaN when not attempted */
};

struct sw_delivery_log;

/* NULL on out of memory. store is borrowed. */
struct sw_delivery_log *sw_delivery_log_new(struct sw_store *store);
/* Frees the rows still pending. Accepts NULL. */
void sw_delivery_log_free(struct sw_delivery_log *log);

/* Appends a copy of d (never waits for the database). Accepts a NULL log (nothing kept). */
void sw_delivery_log_add(struct sw_delivery_log *log, const struct sw_delivery *d);

/* A new notice id: increasing within the process and across restarts (microseconds of the wall
 * clock, bumped past the last one given). Any thread. */
int64_t sw_delivery_notice_id(void);

/* The target of a webhook without secrets: "scheme://host[:port]" of url (no user, password, path,
 * query: Slack and Mattermost URLs carry their token in the path); "(invalid URL)" when it does not
 * parse. */
void sw_delivery_webhook_target(const char *url, char *out, size_t len);

#endif
