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

struct sw_api {
    const struct sw_config *cfg;
    struct sw_engine *engine;
    struct sw_store *store;
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

/* Fills reply with {"error": msg} and status. */
void sw_reply_error(struct sw_reply *reply, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
