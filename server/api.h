/* api.h — REST API v1 (DESIGN §7): routing and the JSON handlers. Reads go through the calling
 * thread's read-only SQLite connection; ingest goes through the engine.
 *
 * Threads: MHD pool threads; no state of its own besides what it borrows.
 */
#ifndef SW_API_H
#define SW_API_H

#include <microhttpd.h>
#include <stddef.h>

#include "config.h"
#include "engine.h"
#include "store.h"

struct sw_alarms;
struct sw_api {
    const struct sw_config *cfg;
    struct sw_engine *engine;
    struct sw_store *store;
    struct sw_alarms *alarms;
};

struct sw_reply {
    unsigned status;
    char *body; /* malloc'ed, owned by the reply */
    size_t len;
    const char *content_type;
    const char *allow; /* for 405 */
};

/* Handles one request whose path starts with /api/ or is /metrics. body may be NULL for GET.
 * Always fills reply (errors as {"error": "..."} with the right status). */
void sw_api_handle(const struct sw_api *api, struct MHD_Connection *conn, const char *method,
                   const char *path, const char *body, size_t len, struct sw_reply *reply);

/* Checks the bearer token for role (DESIGN §8). 0 when allowed, with *who (may be NULL) set to the
 * token's name ("open" when no tokens are configured); else -1 with a 401/403 reply. */
int sw_api_authorize(const struct sw_api *api, struct MHD_Connection *c, unsigned role, struct sw_reply *r,
                     const char **who);

/* Fills reply with j serialised (steals j; NULL gives a 503). */
void sw_reply_json(struct sw_reply *reply, unsigned status, json_t *j);

/* Fills reply with {"error": msg} and status. */
void sw_reply_error(struct sw_reply *reply, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
