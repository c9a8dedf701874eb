/* ingest_api.h — POST /api/v1/ingest and the collector sources (GET /api/v1/sources/{id}, POST
 * .../release): headers checked (source, seq, instance, lag), the batch parsed (wire.h) and applied
 * (engine.h), and answered once its commits are done. docs/api.md, ingest.
 *
 * Threads: MHD pool threads; sw_ingest_api_apply on an ingest pool thread (ingest_pool.h). An ingest
 * call is owned by its connection (http.c).
 */
#ifndef SW_INGEST_API_H
#define SW_INGEST_API_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "prefill.h"
#include "reply.h"
#include "wire.h"

/* An ingest request between applying its batch and the commits that batch queued (a batch that
 * closes a spill is answered after the spill's commit). Owned by the connection. */
struct sw_ingest_call {
    struct sw_store_wait w; /* the commits */
    int active;             /* between sw_ingest_api_post (or _apply) and sw_ingest_api_finish */
    int defer;              /* set by the caller: sw_ingest_api_post only checks the headers */
    int queued;             /* headers checked, the body waits for sw_ingest_api_apply */
    char source[104];       /* "" without X-Spillwatch-Source */
    int64_t seq;
    char instance[SW_INSTANCE_MAX + 1]; /* "" without X-Spillwatch-Instance */
    int rc;
    struct sw_ingest_result res;
};

/* What an ingest thread keeps between the batches it parses (ingest_pool.h): the batch's arrays
 * (sw_batch_clear) and the partial histograms (prefill.h), so that no request faults in fresh
 * memory. Zeroed to start; sw_ingest_scratch_release at the end. */
struct sw_ingest_scratch {
    struct sw_batch batch;
    struct sw_prefill fills;
};
void sw_ingest_scratch_release(struct sw_ingest_scratch *s);

/* Parses and applies a batch. With call given and the batch applied, reply->status is 0 and call is
 * active: the caller waits for call->w (sw_store_wait_all, or suspended until sw_store_wait_notify)
 * and calls sw_ingest_api_finish. With call NULL, it waits for the commits here. */
void sw_ingest_api_post(const struct sw_api *api, struct MHD_Connection *c, const char *body, size_t len,
                        struct sw_ingest_call *call, struct sw_reply *r);
/* With call->defer set, sw_ingest_api_post checks the headers only (on the HTTP thread, which has
 * the connection): then reply->status is 0 and call->queued is set, and the caller hands body to
 * sw_ingest_api_apply on another thread (the connection suspended meanwhile), which parses and
 * applies it with that thread's scratch; from then on as above (call active, or an error in
 * reply). Needs no connection. */
void sw_ingest_api_apply(const struct sw_api *api, struct sw_ingest_call *call, const char *body, size_t len,
                         struct sw_ingest_scratch *scratch, struct sw_reply *r);
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
