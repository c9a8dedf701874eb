/* retention.h — prunes per-spill histograms older than retention.spill_histograms_days
 * (docs/configuration.md). Spill rows, checks, flags, counters and the run-summed histograms are
 * kept forever: before a spill's histograms are deleted they are added into its run's sums
 * (run_hists, quality 'all' and, when the spill's effective flag is GOOD, 'good'), so run-scope
 * histograms stay whole. Runs that a check of the profile in force uses as its reference are never
 * pruned.
 *
 * The work runs on the store's writer thread (the only writer), one bounded chunk of spills per
 * transaction, queued behind whatever ingest already queued, so a spill commit waits for at most
 * one chunk. A pass starts at start-up and every retention.interval seconds; while a pass finds a
 * full chunk the next chunk follows on the next tick (1 s).
 *
 * Threads: new/free from the main thread (free after sw_store_close); tick from the timer thread.
 */
#ifndef SW_RETENTION_H
#define SW_RETENTION_H

#include "config.h"
#include "store.h"

struct sw_retention;

/* Returns NULL when retention is off (cfg->retention_days < 0) or out of memory. cfg, store and
 * reload (the profile in force, read at each chunk: its histograms and reference runs) are borrowed
 * and must outlive the retention. */
struct sw_reload;
struct sw_retention *sw_retention_new(const struct sw_config *cfg, struct sw_store *store,
                                      struct sw_reload *reload);
/* Queues the next chunk when a pass is due and no chunk is queued. Accepts NULL. */
void sw_retention_tick(struct sw_retention *r);
/* Accepts NULL. After sw_store_close (the writer may still hold a queued chunk before that). */
void sw_retention_free(struct sw_retention *r);

#endif
