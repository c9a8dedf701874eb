/* api.h — REST API v1 (docs/design.md §10, docs/api.md): routing and the JSON handlers. Reads go
 * through the calling thread's read-only SQLite connection; ingest goes through the engine.
 *
 * Threads: MHD pool threads; no state of its own besides what it borrows.
 */
#ifndef SW_API_H
#define SW_API_H

#include <microhttpd.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "store.h"

struct sw_alarms;
struct sw_reload;
struct sw_api {
    const struct sw_config *cfg; /* its profile member is not used: the profile in force comes from
                                  * sw_reload_profile(reload), a reference held for the request */
    struct sw_engine *engine;
    struct sw_store *store;
    struct sw_alarms *alarms;
    struct sw_reload *reload;
};

struct sw_reply {
    unsigned status;
    char *body; /* malloc'ed, owned by the reply */
    size_t len;
    const char *content_type;
    const char *allow;    /* for 405 */
    unsigned retry_after; /* s; sent as Retry-After when > 0 (503 back-pressure) */
    int close;            /* send Connection: close (a refusal whose client should not keep the slot) */
};

/* An ingest request between applying its batch and the commits that batch queued (docs/design.md §6.3: a
 * batch that closes a spill is answered after the spill's commit). Owned by the connection. */
struct sw_ingest_call {
    struct sw_store_wait w; /* the commits */
    int active;             /* between sw_api_handle and sw_api_ingest_finish */
    char source[104];       /* "" without X-Spillwatch-Source */
    int64_t seq;
    int rc;
    struct sw_ingest_result res;
};

/* Handles one request whose path starts with /api/ or is /metrics. body may be NULL for GET.
 * Fills reply (errors as {"error": "..."} with the right status), except for an ingest batch that
 * was applied when call is given: then reply->status is 0, call is active, and the caller waits for
 * call->w (sw_store_wait_all, or suspended until sw_store_wait_notify) and calls
 * sw_api_ingest_finish. With call NULL, ingest waits for its commits here. */
void sw_api_handle(const struct sw_api *api, struct MHD_Connection *conn, const char *method,
                   const char *path, const char *body, size_t len, struct sw_ingest_call *call,
                   struct sw_reply *reply);
/* The answer of an active ingest call whose commits are done; the call is inactive afterwards. Also
 * for a call whose client went away (reply then discarded): the source's committed seq advances. */
void sw_api_ingest_finish(const struct sw_api *api, struct sw_ingest_call *call, struct sw_reply *reply);

/* Checks the bearer token for role (docs/design.md §12). 0 when allowed, with *who (may be NULL) set to the
 * token's name ("open" when no tokens are configured); else -1 with a 401/403 reply. */
int sw_api_authorize(const struct sw_api *api, struct MHD_Connection *c, unsigned role, struct sw_reply *r,
                     const char **who);

/* 1 when the request's token has role (or no tokens are configured), else 0; replies nothing. */
int sw_api_has_role(const struct sw_api *api, struct MHD_Connection *c, unsigned role);

/* ---- helpers for the handler modules (api.c, certify.c, alarm_api.c) ---- */

/* A query parameter (borrowed from MHD), NULL when absent. */
const char *sw_api_qarg(struct MHD_Connection *c, const char *key);
/* A non-negative integer query parameter: 1 with *out set, 0 when absent, -1 with a 400 reply. */
int sw_api_query_int(struct MHD_Connection *c, const char *key, int64_t *out, struct sw_reply *r);
/* The calling thread's read-only connection, or NULL with a 503 reply. */
sqlite3 *sw_api_reader(const struct sw_api *api, struct sw_reply *r);
/* Prepares sql: 0, or -1 with a 503 reply naming the SQLite error. */
int sw_api_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct sw_reply *r);
/* The request body as a JSON object (new reference), or NULL with a 400 reply saying where it broke. */
json_t *sw_api_body_object(const char *body, size_t len, struct sw_reply *r);
/* Optional string member: 0 with *out (borrowed; NULL when absent or null), or -1 with a 400 reply
 * when it is not a string or is longer than max. */
int sw_api_body_string(json_t *obj, const char *key, size_t max, const char **out, struct sw_reply *r);
/* 0 when every key of obj is in known (NULL-terminated), else -1 with a 400 reply naming the key. */
int sw_api_body_keys(json_t *obj, const char *const *known, struct sw_reply *r);

/* Fills reply with j serialised (steals j; NULL gives a 503). */
void sw_reply_json(struct sw_reply *reply, unsigned status, json_t *j);

/* Fills reply with {"error": msg} and status. */
void sw_reply_error(struct sw_reply *reply, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
