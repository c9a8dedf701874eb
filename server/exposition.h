/* exposition.h — the Prometheus text exposition of GET /metrics (format 0.0.4).
 *
 * Sits above the modules it shows: it reads the counters and histograms of metrics.h and the
 * public snapshots of the store (commit counts, queue, state, free space), the engine
 * (sw_engine_live, sw_engine_sources) and the alarms (sw_alarms_counts, sw_alarms_json). No module
 * below it includes it; only the /metrics handler (admin_api) and the unit tests call it.
 *
 * Threads: any thread (an HTTP pool thread in the server). It holds no lock of its own; each
 * snapshot takes its module's lock for the time of the copy (the last-spill gauges are written
 * under the metrics module's innermost mutex, see metrics.h). Unknown values are left out, never
 * written as NaN.
 */
#ifndef SW_EXPOSITION_H
#define SW_EXPOSITION_H

#include <stdio.h>

#include "metrics.h"

struct sw_store;
struct sw_engine;
struct sw_alarms;

/* Renders the exposition text (malloc'ed, caller frees); NULL on out of memory. Borrows store,
 * engine and alarms; any may be NULL (unit tests): its families then read 0 or are left out. */
char *sw_exposition_render(struct sw_store *store, struct sw_engine *engine, struct sw_alarms *alarms);

/* Writes the HELP, TYPE, _bucket{le} (cumulative), _sum and _count lines of histogram family name
 * to f. */
void sw_exposition_histogram(FILE *f, const char *name, const char *help, const struct sw_histogram *h);

#endif
