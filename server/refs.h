/* refs.h — references of a profile's checks (docs/quality.md):
 *   {"baseline": N, "learn": K, "match": [keys]}: the median and robust spread of the check's statistic
 *   over the last N healthy spills (the check GOOD, the spill complete) of the run being judged. At
 *   the first spill of a run the window starts from the last N healthy spills of the most recent
 *   earlier run whose run_start.meta matches on the keys (carry-over; of the 8 newest matching runs,
 *   the newest with healthy values whose baseline did not go stale: its last 5 judged results of the
 *   check all off), or empty (learning: the check judges by its physical window only until K values
 *   are in). Kept for one run at a time. A reset of the run's baselines (baseline_resets, rebaseline.h)
 *   empties them at its spill: from there the run learns anew, with nothing carried over.
 *   {"rolling_median": N}: the median of the check's statistic over the last N spills flagged GOOD
 *   by the checks, seeded from the database and fed as spills close;
 *   {"run": R}: the sum of run R's GOOD spills (effective flag) of the check's histogram, and the
 *   check's statistic on that sum as reference value.
 * Used by the engine (live, under its mutex) and by re-evaluation (replaying a run in closing order),
 * both through sw_refs_judge: a stored spill is judged again exactly as it was judged when it closed.
 * Ownership: the caller owns a struct sw_refs; it borrows the profile, which must outlive it. */
#ifndef SW_REFS_H
#define SW_REFS_H

#include "sql.h"

#include "config.h"
#include "quality.h"

struct sw_refs;

/* Builds the references of p from a read connection: rolling windows from the spills closed before
 * `before` (Unix s; INFINITY for all). NULL on out of memory (a database error leaves the
 * references empty: their checks are then EXCLUDED while warming up, or UNKNOWN for runs). */
struct sw_refs *sw_refs_new(const struct sw_profile *p, sw_sql *db, double before);
void sw_refs_free(struct sw_refs *r);

/* Sets in->ref_values, in->ref_hists and in->baselines to the current references (valid until the
 * next push). When in->run is not the run the baselines were kept for, they are built anew for it
 * from db (this thread's read connection): the run's own healthy spills closed before `before`, after
 * a carry-over from the latest earlier run of matching conditions that started before in->started.
 * in->run_meta, when NULL, is read from the runs table (and set). */
void sw_refs_apply(struct sw_refs *r, struct sw_quality_input *in, sw_sql *db);

/* Drops the baselines kept for run (when they are that run's): its next spill rebuilds them from the
 * database, with a reset a shifter stored since (rebaseline.h). */
void sw_refs_forget(struct sw_refs *r, int64_t run);

/* After a spill was judged: when its flag is GOOD, its rolling statistics join the windows; every
 * healthy result of a complete spill joins its check's baseline. */
void sw_refs_push(struct sw_refs *r, const struct sw_check_result *res, enum sw_state flag,
                  const struct sw_quality_input *in);

/* Judges one spill with profile p (the profile r was built for) and these references: sets its
 * references (sw_refs_apply, reading db when the run changes), runs the checks into results
 * (p->nchecks + 1 entries) and reasons (an array, may be NULL: sw_quality_eval), then pushes the
 * verdict into the references (sw_refs_push) for the spills after it. Returns the flag; *checks
 * gets the results as stored with the spill (sw_quality_results_json: a new reference, NULL on out
 * of memory). The one judgement of the engine (a closing spill) and of re-evaluation (reeval.h). */
enum sw_state sw_refs_judge(struct sw_refs *r, const struct sw_profile *p, struct sw_quality_input *in,
                            sw_sql *db, struct sw_check_result *results, json_t *reasons, json_t **checks);

#endif
