/* api.h — REST API v1 (docs/design.md §10, docs/api.md): the route table. Each route names its method, its
 * path pattern, the role it needs and its handler, and the router answers 404, 405 (with Allow), 400 for a
 * malformed path parameter, 401/403 for the role, and 503 for a human write while the store refuses writes,
 * from the table, before any handler runs. The handlers live in modules by resource (ingest_api, runs_api,
 * hist_api, alarm_api, certify, reeval, rebaseline, notes_api, admin_api); they include the toolkit (reply.h,
 * auth.h) and never this module.
 *
 * Threads: MHD pool threads; no state of its own besides what it borrows.
 */
#ifndef SW_API_H
#define SW_API_H

#include <microhttpd.h>
#include <stddef.h>

#include "ctx.h"
#include "ingest_api.h"
#include "reply.h"

/* Handles one request whose path starts with /api/ or is /metrics. body may be NULL for GET.
 * Fills reply (errors as {"error": "..."} with the right status), except for an ingest batch that
 * was applied when call is given: then reply->status is 0, call is active, and the caller waits for
 * call->w and calls sw_ingest_api_finish (ingest_api.h). With call NULL, ingest waits here. */
void sw_api_handle(const struct sw_api *api, struct MHD_Connection *conn, const char *method,
                   const char *path, const char *body, size_t len, struct sw_ingest_call *call,
                   struct sw_reply *reply);

#endif
