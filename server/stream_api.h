/* stream_api.h — the live stream's REST side (docs/api.md, live stream): GET /api/v1/stream opens
 * a Server-Sent-Events stream (stream.h) for a bearer token with the read role or a stream ticket
 * (?ticket=), and POST /api/v1/stream/ticket issues a single-use ticket (ticket.h), what a browser's
 * EventSource can present. Tickets are never logged; the name of their token is. Threads: MHD pool
 * threads.
 */
#ifndef SW_STREAM_API_H
#define SW_STREAM_API_H

#include <microhttpd.h>

#include "ctx.h"
#include "reply.h"

/* POST /api/v1/stream/ticket, after the read role was checked (who: the token's name): {"ticket",
 * "expires_in"}, or 503 with Retry-After when every ticket slot holds an unexpired ticket. */
void sw_stream_api_ticket(const struct sw_api *api, const char *who, struct sw_reply *r);

/* GET /api/v1/stream: with ticket (the ?ticket= parameter, NULL for none) it is redeemed here (401
 * saying why when used, expired or unknown); without, the router checked the read role. On success
 * r->raw is the stream response (r->status 200), else r is the refusal (503 at the client cap, with
 * Connection: close). */
void sw_stream_api_open(const struct sw_api *api, struct MHD_Connection *c, const char *ticket,
                        struct sw_reply *r);

#endif
