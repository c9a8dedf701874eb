/* metrics.h — process-wide counters, gauges and latency histograms that every module updates: a
 * leaf, it calls no other module of the project (it knows the quality states only to count spills
 * by flag). Their Prometheus text is written by the exposition (exposition.h), which reads them
 * here and reads the other modules through their own public snapshots.
 *
 * Any thread: every counter is atomic; modules bump them, the exposition reads them. The
 * last-closed-spill gauges and the profile name sit behind mutexes of their own, the innermost
 * locks: the engine holds its mutex when it calls sw_metrics_spill_closed, and nothing else is
 * locked while one of them is held. The module owns its copies (names of rates, profile). */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "quality.h"

/* A Prometheus histogram with fixed upper bounds, lock-free: one atomic counter per bucket
 * (non-cumulative; the renderer accumulates) and the sum in nanoseconds. The count is the sum
 * of the buckets, so a scrape always sees _count equal to the +Inf bucket. Zero-initialise,
 * then set bounds/nbounds once before the first observation (static initialiser). */
#define SW_HISTOGRAM_MAX_BOUNDS 16
struct sw_histogram {
    const double *bounds; /* ascending finite upper bounds (seconds); +Inf is implied */
    int nbounds;          /* <= SW_HISTOGRAM_MAX_BOUNDS */
    atomic_uint_fast64_t buckets[SW_HISTOGRAM_MAX_BOUNDS + 1]; /* [nbounds] is the +Inf bucket */
    atomic_uint_fast64_t sum_ns;
};

/* Counts one observation of seconds (negative or non-finite values count as 0 s). Any thread. */
void sw_histogram_observe(struct sw_histogram *h, double seconds);

/* Why an ingest request was refused: one label value of spillwatch_ingest_errors_total each. */
enum sw_ingest_reason {
    SW_INGEST_MALFORMED,    /* 400 */
    SW_INGEST_UNAUTHORIZED, /* 401 */
    SW_INGEST_FORBIDDEN,    /* 403 */
    SW_INGEST_METHOD,       /* 405 */
    SW_INGEST_LATE,         /* 409 */
    SW_INGEST_TOO_LARGE,    /* 413 */
    SW_INGEST_UNAVAILABLE,  /* 503: a commit failed, out of memory */
    SW_INGEST_QUEUE_FULL,   /* 503 with Retry-After: the store's writer queue is full */
    SW_INGEST_SEQ_GAP,      /* 503: seq does not follow the last applied one (batches lost in a restart) */
    SW_INGEST_RATE_LIMITED, /* 429: over limits.ingest_rate for the client */
    SW_INGEST_TIMEOUT,      /* 408: body not complete within limits.request_seconds (connection closed) */
    SW_INGEST_OPEN_SPILLS,  /* 429 with Retry-After, or 413: beyond the open-spill limits */
    SW_INGEST_SOURCE_HELD,  /* 409: another collector instance holds the source */
    SW_INGEST_OTHER,        /* any other status (none today) */
    SW_INGEST_REASON_N
};

struct sw_metrics {
    atomic_uint_fast64_t ingest_requests, ingest_rejected, ingest_duplicates, ingest_bytes;
    atomic_uint_fast64_t events, records, late_records, late_events, unknown_fields;
    atomic_uint_fast64_t spills_closed[SW_STATE_N]; /* by automatic flag */
    atomic_uint_fast64_t spills_timed_out;
    atomic_uint_fast64_t http_requests, http_errors;
    atomic_uint_fast64_t http_rate_limited;     /* write requests answered 429 (limits.*_rate) */
    atomic_uint_fast64_t http_request_timeouts; /* connections closed: body slower than request_seconds */
    atomic_uint_fast64_t http_body_bytes;       /* bytes held for request bodies now (body_memory_max) */
    atomic_uint_fast64_t hcache_hits, hcache_misses; /* stored-scope histogram answers (hcache.h) */
    atomic_int open_spills;
    atomic_uint_fast64_t hook_deliveries, hook_failures, hook_retries;
    atomic_uint_fast64_t delivery_log_lost; /* delivery log rows not written (delivery_log.h) */
    atomic_uint_fast64_t alarm_transitions;
    atomic_int alarms_firing;
    atomic_int stream_clients;               /* GET /api/v1/stream connections open now */
    atomic_uint_fast64_t stream_events_sent; /* events written to stream clients (replays included) */
    atomic_uint_fast64_t stream_events;      /* events published to the stream's ring */
    atomic_uint_fast64_t stream_dropped;     /* streams ended because the client fell behind the ring */
    atomic_uint_fast64_t stream_refused;     /* stream requests answered 503: too many clients */
    atomic_uint_fast64_t retention_pruned_spills, retention_pruned_bytes; /* per-spill histograms pruned */
    atomic_uint_fast64_t ingest_errors[SW_INGEST_REASON_N]; /* by reason; sum = ingest_rejected */
    atomic_uint_fast64_t profile_reloads[2];                /* [0] applied (or unchanged), [1] refused */
    struct sw_histogram http_duration;                      /* request start -> response queued */
    struct sw_histogram store_commit_duration;              /* one spill transaction, retries included */
    double started;                                         /* Unix s, set once at start-up */
};

extern struct sw_metrics sw_metrics;

/* Counts one refused ingest request: ingest_rejected and the reason that status maps to (503 maps
 * to SW_INGEST_UNAVAILABLE). */
void sw_metrics_ingest_rejected(unsigned status);
/* Counts one refused ingest request under the given reason (for a reason the status alone does not
 * tell, e.g. SW_INGEST_QUEUE_FULL). */
void sw_metrics_ingest_refused(enum sw_ingest_reason reason);

/* The profile in force, shown as spillwatch_profile_info{profile, version} 1 (copied; set at
 * start-up and by every applied reload). Any thread. */
void sw_metrics_set_profile(const char *name, const char *version);

/* What /metrics shows of the last closed spill. Values may be NaN (not known): not exported. */
struct sw_metrics_spill {
    int64_t run, spill;
    double mot, dead_time, duration; /* duration in s */
    uint64_t events;
    enum sw_state flag;     /* automatic flag */
    const json_t *counters; /* borrowed: the spill_end counters (name -> number), or NULL */
};
/* Copies s (at most 64 counters; counters / duration become the rate gauges) as the last closed
 * spill. Any thread; on out of memory the counter rates are dropped, the rest is kept. */
void sw_metrics_spill_closed(const struct sw_metrics_spill *s);

/* ---- readers, for the exposition ---- */

/* The label value of a reason ("malformed", "queue_full", ...); static storage. */
const char *sw_ingest_reason_name(enum sw_ingest_reason r);

/* The profile in force as set by sw_metrics_set_profile (copied out; name "" before the first). */
struct sw_metrics_profile {
    char name[64], version[96];
};
void sw_metrics_profile(struct sw_metrics_profile *out);

/* The last closed spill as sw_metrics_spill_closed kept it: s->counters is NULL, the counter rates
 * are names[i] (counter name) and rates[i] (Hz), i < nrates. All borrowed for the call only. */
struct sw_metrics_last {
    const struct sw_metrics_spill *s;
    int nrates;
    char *const *names;
    const double *rates;
};
/* Calls fn(ctx, l) once with the last closed spill, or not at all before the first one. fn runs
 * under the last-spill mutex (innermost): it must take no lock and call nothing of this module. */
void sw_metrics_last_spill(void (*fn)(void *ctx, const struct sw_metrics_last *l), void *ctx);

#endif
