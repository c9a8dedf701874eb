/* rebaseline.h — a shifter resets a run's baselines (docs/quality.md): POST
 * /api/v1/runs/{run}/rebaseline {"from_spill": S, "comment": "...", "shifter": "..."}. From spill S on,
 * the run's baseline checks learn anew (nothing carried over, none of the run's spills before S),
 * for the live judgement from the next closed spill and for re-evaluation. For a run whose baseline
 * learnt a level during a fault no check could see, so that its clean spills are judged off it.
 * The reset is stored (baseline_resets, one per run: the latest) and audited (action "rebaseline").
 *
 * Threads: MHD pool threads; the write is queued to the writer (defer.h), then the engine forgets the run's
 * baselines (sw_engine_rebaseline) so that its next spill rebuilds them from the database. */
#ifndef SW_REBASELINE_H
#define SW_REBASELINE_H

#include <stdint.h>

#include "ctx.h"
#include "reply.h"

void sw_rebaseline_run(const struct sw_api *api, const char *who, int64_t run, const char *body, size_t len,
                       struct sw_reply *r);

#endif
