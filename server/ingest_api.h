/* ingest_api.h — POST /api/v1/ingest and the collector sources (GET /api/v1/sources/{id}, POST
 * .../release): headers checked (source, seq, instance, lag), the batch parsed (wire.h) and applied
 * (engine.h), and answered once its commits are done. docs/api.md, ingest.
 *
 * Threads: MHD pool threads. An ingest call is owned by its connection (http.c).
 */
#ifndef SW_INGEST_API_H
#define SW_INGEST_API_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "reply.h"

/* An ingest request between applying its batch and the commits that batch queued (a batch that
 * closes a spill is answered after the spill's commit). Owned by the connection. */
struct sw_ingest_call {
    struct sw_store_wait w; /* the commits */
    int active;             /* between sw_ingest_api_post and sw_ingest_api_finish */
    char source[104];       /* "" without X-Spillwatch-Source */
    int64_t seq;
    int rc;
    struct sw_ingest_result res;
};

/* Parses and applies a batch. With call given and the batch applied, reply->status is 0 and call is
 * active: the caller waits for call->w (sw_store_wait_all, or suspended until sw_store_wait_notify)
 * and calls sw_ingest_api_finish. With call NULL, it waits for the commits here. */
void sw_ingest_api_post(const struct sw_api *api, struct MHD_Connection *c, const char *body, size_t len,
                        struct sw_ingest_call *call, struct sw_reply *r);
/* The answer of an active ingest call whose commits are done; the call is inactive afterwards. Also
 * for a call whose client went away (reply then discarded): the source's committed seq advances. */
void sw_ingest_api_finish(const struct sw_api *api, struct sw_ingest_call *call, struct sw_reply *reply);

/* GET /api/v1/sources/{id}: the watermark and the collector instance holding it. */
void sw_source_api_get(const struct sw_api *api, struct MHD_Connection *c, const char *id,
                       struct sw_reply *r);
/* POST /api/v1/sources/{id}/release: an instance gives its source up. */
void sw_source_api_release(const struct sw_api *api, struct MHD_Connection *c, const char *id,
                           struct sw_reply *r);

#endif
