/* metrics.h — process-wide counters for /metrics (Prometheus text exposition) and health.
 * Any thread: every counter is atomic; modules bump them, the metrics handler reads them. */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "quality.h"

struct sw_metrics {
    atomic_uint_fast64_t ingest_requests, ingest_rejected, ingest_duplicates, ingest_bytes;
    atomic_uint_fast64_t events, records, late_records, late_events, unknown_fields;
    atomic_uint_fast64_t spills_closed[SW_STATE_N]; /* by automatic flag */
    atomic_uint_fast64_t spills_timed_out;
    atomic_uint_fast64_t http_requests, http_errors;
    atomic_int open_spills;
    atomic_uint_fast64_t hook_deliveries, hook_failures, hook_retries;
    atomic_uint_fast64_t alarm_transitions;
    atomic_int alarms_firing;
    double started; /* Unix s, set once at start-up */
};

extern struct sw_metrics sw_metrics;

struct sw_store;
struct sw_engine;
/* Renders the exposition text (malloc'ed, caller frees); NULL on out of memory. */
char *sw_metrics_render(struct sw_store *store, struct sw_engine *engine);

#endif
