/* http.h — the HTTP front: a libmicrohttpd daemon with a thread pool, request bodies accumulated
 * under a hard cap (413 above it), routing to the REST API (api.h), /metrics, and static files of
 * the www root (dashboards; /vendor/<pkg>/<file> maps to <www>/node_modules/<pkg>/dist/<file>),
 * and the live stream GET /api/v1/stream (stream.h: suspended connections, no thread per client)
 * with its tickets, POST /api/v1/stream/ticket (ticket.h: the table is the server's own; a
 * ticket in ?ticket= stands for the read role once, for a browser's EventSource, which cannot send
 * the Authorization header). Large body buffers (256 KB to 2 MB, up to 4) are kept between
 * requests and reused, so that ingest batches do not fault in fresh memory each time; the server
 * owns them and frees them at the stop. An ingest request whose headers pass is handed to the
 * ingest pool (ingest_pool.h) with its connection suspended; a pool thread parses and applies the
 * batch and resumes the connection (at once, or once the batch's commits are done), which is then
 * answered here.
 *
 * Threads: start/stop from the main thread; handlers run on MHD's pool threads; ingest batches on
 * the ingest pool's threads.
 */
#ifndef SW_HTTP_H
#define SW_HTTP_H

#include "config.h"
#include "engine.h"
#include "store.h"

struct sw_server;
struct sw_alarms;
struct sw_stream;
struct sw_reload;
struct sw_ha;

/* Starts listening on cfg->listen (HOST:PORT, port 0 = any free port). Borrows everything (stream
 * may be NULL: /api/v1/stream then answers 503; ha NULL: one server, always active); the profile in
 * force comes from reload.
 * Returns NULL with a message in err. */
struct sw_server *sw_server_start(const struct sw_config *cfg, struct sw_engine *engine,
                                  struct sw_store *store, struct sw_alarms *alarms, struct sw_stream *stream,
                                  struct sw_reload *reload, struct sw_ha *ha, char *err, size_t errlen);
/* The bound port. */
unsigned sw_server_port(struct sw_server *srv);
/* Ends every stream (sw_stream_shutdown), stops accepting, finishes running requests, frees.
 * Accepts NULL. */
void sw_server_stop(struct sw_server *srv);

#endif
