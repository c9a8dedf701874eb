/* checks_api.h — the profile's checks as the pages show them, and a run's check verdicts over a
 * spill range (docs/api.md, Checks): GET /api/v1/checks and GET /api/v1/runs/{run}/checks. Reads the
 * profile in force and the calling thread's read-only connection. Threads: MHD pool threads.
 */
#ifndef SW_CHECKS_API_H
#define SW_CHECKS_API_H

#include <microhttpd.h>
#include <stdint.h>

#include "ctx.h"
#include "reply.h"

/* GET /api/v1/checks: subsystems and check definitions (titles, units, windows, histogram). */
void sw_checks_api_list(const struct sw_api *api, struct sw_reply *r);
/* GET /api/v1/runs/{run}/checks?spills=A-B: per check the worst verdict, counts, and the spills of
 * each non-GOOD verdict. */
void sw_checks_api_run(const struct sw_api *api, struct MHD_Connection *c, int64_t run, struct sw_reply *r);

#endif
