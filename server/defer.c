/* defer.c — see defer.h */
#include "defer.h"

#include <stdlib.h>

struct sw_defer {
    struct sw_store *store;
    void (*done)(void *ctx, int rc, struct sw_reply *r);
    void (*free_ctx)(void *ctx);
    void *ctx;
    int result; /* fn's, set by the writer before w is told */
    struct sw_store_wait w;
};

/* A refused human write gets the store's answer (why, and when to try again), as sw_api_handle
 * gives the writes it answers itself. */
static void answer(struct sw_store *store, void (*done)(void *, int, struct sw_reply *), void *ctx, int rc,
                   struct sw_reply *r)
{
    done(ctx, rc, r);
    if (rc != 0 && r->status >= 500 && !r->retry_after)
        sw_req_store_refuses(store, r);
}

void sw_reply_defer(struct sw_reply *r, struct sw_store *store, int (*fn)(sw_sql *db, void *ctx),
                    void (*done)(void *ctx, int rc, struct sw_reply *r), void (*free_ctx)(void *ctx),
                    void *ctx)
{
    struct sw_defer *d = calloc(1, sizeof *d);
    if (!d) { /* the write all the same, waited for here */
        answer(store, done, ctx, fn ? sw_store_call(store, fn, ctx) : sw_store_sync(store), r);
        free_ctx(ctx);
        return;
    }
    *d = (struct sw_defer){.store = store, .done = done, .free_ctx = free_ctx, .ctx = ctx};
    sw_store_wait_init(&d->w);
    sw_store_call_queued(store, fn, ctx, &d->result, &d->w); /* -1 when closing: nothing pending */
    r->defer = d;
}

int sw_defer_notify(struct sw_defer *d, void (*notify)(void *arg), void *arg)
{
    return sw_store_wait_notify(&d->w, notify, arg);
}

void sw_defer_finish(struct sw_defer *d, struct sw_reply *r)
{
    sw_store_wait_all(&d->w);
    answer(d->store, d->done, d->ctx, d->result, r);
    d->free_ctx(d->ctx);
    sw_store_wait_release(&d->w);
    free(d);
}
