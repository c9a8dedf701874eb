/* stream_api.c — see stream_api.h */
#include "stream_api.h"

#include <string.h>

#include "clock.h"
#include "log.h"
#include "stream.h"
#include "ticket.h"

#define TICKET_PATH "/api/v1/stream/ticket"

void sw_stream_api_ticket(const struct sw_api *api, const char *who, struct sw_reply *r)
{
    char ticket[SW_TICKET_HEX + 1];
    double wait = 0;
    enum sw_ticket_status rc = sw_tickets_issue(api->tickets, who, sw_mono(), ticket, &wait);
    if (rc == SW_TICKET_FULL) {
        r->retry_after = wait < 1 ? 1 : (unsigned)wait + 1;
        sw_reply_fail(r, SW_EUNAVAILABLE,
                      "%d stream tickets are outstanding, the most there may be; each is valid for %d s: "
                      "retry after %u s",
                      SW_TICKETS_MAX, SW_TICKET_SECONDS, r->retry_after);
    } else if (rc != SW_TICKET_OK) {
        sw_error("http", "no stream ticket issued: getrandom failed");
        sw_reply_fail(r, SW_EUNAVAILABLE, "no stream ticket: the server has no random bytes");
        r->retry_after = 5;
    } else
        sw_reply_json(r, 200, json_pack("{s:s, s:i}", "ticket", ticket, "expires_in", SW_TICKET_SECONDS));
    memset(ticket, 0, sizeof ticket);
}

/* Takes a stream ticket: 0, or -1 with a 401 reply saying why. */
static int redeem(const struct sw_api *api, const char *ticket, struct sw_reply *r)
{
    const char *who = NULL;
    int replay = 0;
    enum sw_ticket_status rc = sw_tickets_redeem(api->tickets, ticket, sw_mono(), &who, &replay);
    static const char again[] = "get a new one with POST " TICKET_PATH;
    switch (rc) {
    case SW_TICKET_OK:
        sw_info("stream", "stream opened with a ticket of token \"%s\"", who);
        return 0;
    case SW_TICKET_USED:
        if (replay)
            sw_warn("stream", "a used stream ticket of token \"%s\" was presented again: refused", who);
        sw_reply_fail(r, SW_EUNAUTH, "stream ticket already used (a ticket opens one stream): %s", again);
        return -1;
    case SW_TICKET_EXPIRED:
        sw_reply_fail(r, SW_EUNAUTH, "stream ticket expired (a ticket is valid for %d s): %s",
                      SW_TICKET_SECONDS, again);
        return -1;
    default:
        sw_reply_fail(r, SW_EUNAUTH, "unknown stream ticket: %s", again);
        return -1;
    }
}

void sw_stream_api_open(const struct sw_api *api, struct MHD_Connection *c, const char *ticket,
                        struct sw_reply *r)
{
    if (ticket && redeem(api, ticket, r) != 0)
        return;
    /* The browser sends Last-Event-ID when it reconnects; ?last_event_id= for scripts and tests. */
    const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    if (!last)
        last = sw_req_qarg(c, "last_event_id");
    unsigned status = 503;
    struct MHD_Response *resp = api->stream ? sw_stream_open(api->stream, c, last, &status) : NULL;
    if (!resp) { /* the only refusal: the client cap (or out of memory, or shutting down) */
        sw_reply_fail(r, SW_EUNAVAILABLE,
                      "no stream: too many stream clients (limits.stream_clients_max = %d), or shutting down",
                      api->cfg->stream_clients_max);
        r->retry_after = 5;
        r->close = 1; /* a refused client must not keep holding a connection (and a per-address slot) */
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: pass events through at once */
    /* A stream that ends (shutdown, client behind the ring) closes its connection: the client
     * reconnects, instead of idling on a keep-alive connection it does not use again. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->raw = resp;
    r->status = 200;
}
