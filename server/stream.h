/* stream.h — the live push stream, GET /api/v1/stream (Server-Sent Events): a bounded ring of
 * formatted events (`spill`, `alarm`, `live`) that producers publish into, and the clients that
 * read it through libmicrohttpd's suspend/resume, without a thread of their own.
 *
 * Events: each gets the id "<epoch>-<seq>": epoch is the server's start time in ms, seq counts
 * from 1 in this run. A client keeps a cursor (the seq it sends next) into the ring; a client
 * resuming with Last-Event-ID gets what the ring still holds after that id, or a `reset` event
 * (an id of another run, from the future, or older than the ring) and then only new events. A
 * client that falls behind the ring (its oldest unsent event was overwritten) has its stream ended;
 * publishing never waits for a client.
 *
 * Clients: the content reader copies what is ready into MHD's buffer; with nothing ready it
 * suspends its connection (MHD_suspend_connection, so it does not busy-loop) and publish, the
 * heartbeat and shutdown resume it. Suspended connections are resumed outside the stream mutex; a
 * suspended connection cannot be freed by MHD, so the pointer stays valid until resumed.
 *
 * Threads: sw_stream_publish from any thread (the engine calls it under its mutex, the alarms under
 * theirs: the stream mutex is innermost but for MHD's own and the metrics one); sw_stream_live
 * from the timer thread; sw_stream_open and the reader on MHD threads; new/shutdown/free on the
 * main thread.
 */
#ifndef SW_STREAM_H
#define SW_STREAM_H

#include <jansson.h>

#include "config.h"

struct sw_stream;
struct sw_live;
struct MHD_Connection;
struct MHD_Response;

/* Creates the ring (cfg->stream_ring events) with its client cap and heartbeat interval. Borrows
 * cfg. NULL on out of memory. */
struct sw_stream *sw_stream_new(const struct sw_config *cfg);
/* Frees the ring. Call after the HTTP server has stopped (no client is left). Accepts NULL. */
void sw_stream_free(struct sw_stream *s);

/* Publishes one event: data (borrowed) is serialised on one line. Never blocks on a client; on out
 * of memory the event is dropped (logged). Accepts s == NULL (no stream: nothing happens). */
void sw_stream_publish(struct sw_stream *s, const char *event, const json_t *data);

/* The same, for data already serialised as one line of JSON (an event relayed from the active
 * server, ha.h); it is not relayed again. */
void sw_stream_publish_text(struct sw_stream *s, const char *event, const char *json);

/* fn(ctx, event, data) is called for every event published with sw_stream_publish from now on (fn
 * NULL: none), before it enters the ring, on the publishing thread (under the engine's or the
 * alarms' mutex): it must be short and must not publish. The active server relays its events to
 * the standbys with it (ha.h). */
void sw_stream_set_relay(struct sw_stream *s, void (*fn)(void *ctx, const char *event, const char *data),
                         void *ctx);

/* Timer thread, about once a second: publishes a `live` event while a spill is open (trigger rate
 * from the previous sample) and, every stream_heartbeat seconds, wakes every client for a
 * heartbeat comment. Accepts s == NULL. */
void sw_stream_live(struct sw_stream *s, const struct sw_live *live);

/* Timer thread: the heartbeat part of sw_stream_live alone (a standby, whose live events are the
 * active server's, relayed). mono: sw_mono(). Accepts s == NULL. */
void sw_stream_heartbeat(struct sw_stream *s, double mono);

/* Opens a stream for conn, resuming after last_id (a Last-Event-ID; NULL or "" = only new
 * events). Returns the MHD response to queue (the caller destroys its reference after queueing), or
 * NULL with *status set: 503 when limits.stream_clients_max clients are connected (or out of
 * memory). The response frees the client when MHD is done with the connection. */
struct MHD_Response *sw_stream_open(struct sw_stream *s, struct MHD_Connection *conn, const char *last_id,
                                    unsigned *status);

/* Shutdown: every stream ends after what is ready, and no client suspends again. Resumes every
 * suspended client and returns when no other thread is still resuming one; call before
 * MHD_stop_daemon (which refuses to stop with suspended connections). Accepts NULL. */
void sw_stream_shutdown(struct sw_stream *s);

#endif
