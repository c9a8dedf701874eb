/* defer.h — human writes (manual flags, sign-off, notes, silences, alarm actions, re-evaluation,
 * rebaseline) handed to the store's writer thread without holding an HTTP pool thread while they
 * wait for it (docs/design.md §5).
 *
 * A handler validates the request on its pool thread, puts what the write needs into a context of
 * its own (on the heap: it outlives the handler), and calls sw_reply_defer instead of sw_store_call.
 * fn is queued to the writer (one transaction, tried once, as sw_store_call); the reply is marked
 * deferred, and the HTTP layer (http.c) suspends the connection until the writer has run fn, then
 * calls sw_defer_finish on a pool thread: done(ctx, rc, reply) fills the answer (and tells the engine
 * or the alarms what was committed), then free_ctx(ctx). A slow commit (a lock held by another
 * process, a slow disk) then holds a connection, not a thread.
 *
 * Threads: sw_reply_defer and sw_defer_finish on pool threads; fn on the writer; done on the pool
 * thread that finishes (that of the resumed request, or of its completion when the client has
 * gone: the answer is then dropped, but done runs all the same). Ownership: the deferral owns ctx
 * from sw_reply_defer on, and the HTTP layer owns the deferral from the reply on.
 */
#ifndef SW_DEFER_H
#define SW_DEFER_H

#include "sql.h"

#include "reply.h"
#include "store.h"

struct sw_defer;

/* Queues fn(db, ctx) on store's writer (fn NULL: nothing to write, the answer waits for the writes
 * queued before it, as sw_store_sync) and sets r->defer; done(ctx, rc, r) later gets fn's result as
 * sw_store_call returns it (-1 when the store refused or is closing). Without memory for the
 * deferral the write is done at once on this thread, done called and ctx freed before this
 * returns (r is then answered, not deferred). */
void sw_reply_defer(struct sw_reply *r, struct sw_store *store, int (*fn)(sw_sql *db, void *ctx),
                    void (*done)(void *ctx, int rc, struct sw_reply *r), void (*free_ctx)(void *ctx),
                    void *ctx);

/* Asks for notify(arg) (on the writer thread, once; it must not block) when fn has run: 1, or 0
 * when it has run already (notify is then never called). */
int sw_defer_notify(struct sw_defer *d, void (*notify)(void *arg), void *arg);

/* Waits for fn (at once when it has run), fills r (zeroed by the caller) through done, with the
 * store's own answer (why, Retry-After) when the write was refused, and frees d and its ctx. */
void sw_defer_finish(struct sw_defer *d, struct sw_reply *r);

#endif
