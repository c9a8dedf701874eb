/* admin_api.h — health, the Prometheus exposition and the profile reload (docs/api.md, health and
 * metrics, administration). Threads: MHD pool threads.
 */
#ifndef SW_ADMIN_API_H
#define SW_ADMIN_API_H

#include "ctx.h"
#include "reply.h"

void sw_admin_api_health(const struct sw_api *api, struct sw_reply *r);  /* GET /api/v1/health */
void sw_admin_api_metrics(const struct sw_api *api, struct sw_reply *r); /* GET /metrics */
void sw_admin_api_reload(const struct sw_api *api, const char *who, struct sw_reply *r); /* POST .../reload */

#endif
