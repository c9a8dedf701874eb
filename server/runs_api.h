/* runs_api.h — the run and spill listings (docs/api.md, runs and spills): runs, one run, its spills,
 * one spill, the run's DAQ integrity. Reads on the calling thread's read-only connection, plus the
 * engine's live view of open spills. Threads: MHD pool threads.
 */
#ifndef SW_RUNS_API_H
#define SW_RUNS_API_H

#include <microhttpd.h>
#include <stdint.h>

#include "ctx.h"
#include "reply.h"

void sw_runs_api_list(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r); /* GET /runs */
void sw_runs_api_get(const struct sw_api *api, int64_t run, struct sw_reply *r);
/* GET /runs/{run}/spills?flag=&category=&after=&limit= (docs/api.md). */
void sw_runs_api_spills(const struct sw_api *api, struct MHD_Connection *c, int64_t run, struct sw_reply *r);
void sw_runs_api_spill(const struct sw_api *api, int64_t run, int64_t spill, struct sw_reply *r);
void sw_runs_api_daq(const struct sw_api *api, int64_t run, struct sw_reply *r);

#endif
