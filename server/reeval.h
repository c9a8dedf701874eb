/* reeval.h — re-evaluation of a run's stored spills (issue 3): the checks of the current profile, or
 * of a profile sent in the request body, are run again on the stored histogram snapshots and
 * counters. A dry run only answers which spills would change flag and why; otherwise the automatic
 * flags, reasons, check results and profile version are replaced in one transaction on the writer
 * thread (manual flags are never touched) and the change is audited.
 *
 * Threads: MHD pool threads (reads on the thread's read-only connection, writes queued to the writer,
 * defer.h).
 */
#ifndef SW_REEVAL_H
#define SW_REEVAL_H

#include <stdint.h>

#include "ctx.h"
#include "reply.h"

/* POST /api/v1/runs/{run}/reevaluate[?dry_run=1]; body empty or a profile object. */
void sw_reeval_run(const struct sw_api *api, const char *who, int64_t run, int dry_run, const char *body,
                   size_t len, struct sw_reply *r);

#endif
