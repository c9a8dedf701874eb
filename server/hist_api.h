/* hist_api.h — histograms and trends (docs/api.md): the list of the profile's histograms, one
 * histogram in a scope (live, spill, range, run, last N, good spills), and the per-spill trend of a
 * quantity; format=root answers ROOT JSON (rootjson.h). Stored scopes are summed from the per-spill
 * snapshots (through hcache). Threads: MHD pool threads.
 */
#ifndef SW_HIST_API_H
#define SW_HIST_API_H

#include <microhttpd.h>

#include "ctx.h"
#include "reply.h"

/* The profile's histogram definitions; with format=root the TList of every histogram in the scope
 * of the query (ROOT export, rootjson.h). */
void sw_hist_api_list(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r);
void sw_hist_api_get(const struct sw_api *api, struct MHD_Connection *c, const char *name,
                     struct sw_reply *r);
void sw_trend_api_get(const struct sw_api *api, struct MHD_Connection *c, const char *quantity,
                      struct sw_reply *r);

#endif
