/* spills.h — the engine's spill lifecycle (engine-private; engine_impl.h has the state): pair sets
 * (the closed spills, the ended runs, what a batch touches), spill objects, the open spills with
 * their map by (run, spill), closing a spill (judge.h gives the verdict and the record; this queues
 * the commit and moves the spill from the open set to e->last_closed), and the timeouts
 * (sw_engine_tick, engine.h).
 *
 * Threads: every function here is called with e->mu held, except sw_engine_tick (any thread; the
 * server's timer), which takes it. Ownership: a spill from eng_spill_new belongs to the caller
 * until eng_add_open gives it to the open set; eng_close_spill moves it to e->last_closed, which
 * owns it until the next close or sw_engine_free.
 */
#ifndef SW_SPILLS_H
#define SW_SPILLS_H

#include "engine_impl.h"

/* ---- pair sets ---- */

/* The hash of (run, spill) in a table of cap slots (a power of two). */
size_t eng_pair_hash(int64_t run, int64_t spill, size_t cap);
int eng_pairset_has(const struct pairset *s, int64_t run, int64_t spill);
/* 0, or -1 on out of memory (nothing added). Adding a pair that is there is a no-op. */
int eng_pairset_add(struct pairset *s, int64_t run, int64_t spill);
/* Leaves a tombstone (dropped when the set is rebuilt by a later add). */
void eng_pairset_del(struct pairset *s, int64_t run, int64_t spill);

/* ---- closed spills ---- */

/* Whether (run, spill), not open, is closed: closed by this process and still committing (the
 * closed set), or committed (one lookup by the spills' key, sw_store_spill_stored). 1, 0, or -1
 * when the database could not be read. Takes closed_mu. */
int eng_spill_closed(struct sw_engine *e, int64_t run, int64_t spill);
/* The store's hook (sw_store_on_spill_committed; ctx is the engine): the spill is in the database
 * now, the closed set lets it go. Writer thread; takes closed_mu only, not e->mu. */
void eng_spill_committed(void *ctx, int64_t run, int64_t spill);

/* ---- spills ---- */

/* A new, empty spill of profile p (which it takes a reference to), its clocks started now; not in
 * the open set. NULL on out of memory. */
struct spill *eng_spill_new(struct sw_profile *p, int64_t run, int64_t spill);
/* Accepts NULL. */
void eng_spill_free(struct spill *sp);
/* The memory an open spill of profile p holds: its histograms' bins and their headers. */
size_t eng_spill_bytes(const struct sw_profile *p);

/* ---- the open set ---- */

/* The open spill (run, spill), or NULL. */
struct spill *eng_find_open(const struct sw_engine *e, int64_t run, int64_t spill);
/* Adds sp (counted against its source, sp->src, when it has one). 0, or -1 on out of memory (sp
 * then still the caller's). */
int eng_add_open(struct sw_engine *e, struct spill *sp);

/* Closes sp: judges it (judge.h), adds it to the closed set (until its commit), queues its commit on w (which
 * may be NULL: a timeout), counts it in the metrics, and moves it from the open set to e->last_closed. end is
 * its spill_end record (NULL for a timeout); source and seq the batch that closed it (NULL, 0: none). 0, or
 * -1 when it could not be judged, recorded or queued (the spill then stays open). */
int eng_close_spill(struct sw_engine *e, struct spill *sp, const struct sw_record *end, const char *source,
                    int64_t seq, struct sw_store_wait *w);

#endif
