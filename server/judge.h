/* judge.h — the engine's verdict on a closing spill (engine-private; engine_impl.h has the state):
 * the check references of each profile in use (e->refsets), the judgement itself (sw_refs_judge,
 * the sequence re-evaluation shares: reeval.c), the alarm rules on the closed spill, the record the
 * store commits (struct sw_spill_rec, store.h), and the `spill` stream event.
 *
 * Threads: every function is called with e->mu held. It waits for nothing (the spill's commit is
 * queued by spills.c); it reads through the calling thread's read-only connection (references,
 * baselines).
 * Ownership: the record returned belongs to the caller (sw_store_commit_spill takes it, or
 * sw_spill_rec_free).
 */
#ifndef SW_JUDGE_H
#define SW_JUDGE_H

#include "engine_impl.h"
#include "quality.h"

/* Judges sp with the profile it was opened with and that profile's references: sets sp->ended from
 * end (its spill_end record, NULL for a timeout), hands the verdict to the alarm rules, notes
 * whether the spill had beam (e->last_beam) and publishes the `spill` stream event. Returns the
 * record to commit (source and seq: of the batch that closed it, NULL and 0 for none) with *flag,
 * the automatic flag; NULL on out of memory (the alarm rules and the stream may have seen it). */
struct sw_spill_rec *eng_judge_spill(struct sw_engine *e, struct spill *sp, const struct sw_record *end,
                                     const char *source, int64_t seq, enum sw_state *flag);

/* Adds the references of p, taking a reference to p and ownership of refs. 0, or -1 on out of
 * memory (refs freed). */
int eng_refs_add(struct sw_engine *e, struct sw_profile *p, struct sw_refs *refs);
/* Drops the references of profiles that judge nothing any more: not current, no open spill. */
void eng_refs_prune(struct sw_engine *e);

#endif
