/* ticket.h — stream tickets: short-lived, single-use credentials that let a browser's EventSource
 * (which cannot send an Authorization header) open GET /api/v1/stream?ticket=... when reads need a
 * token. POST /api/v1/stream/ticket (http.c) issues one for the token that asked; the stream takes
 * it once, within SW_TICKET_SECONDS. A long-lived token never goes into a URL.
 *
 * A ticket is 128 bits from getrandom(2), as 32 lowercase hex digits. The table is a fixed array of
 * SW_TICKETS_MAX slots in memory (lost at a restart: clients just ask again), so a token holder
 * cannot make it grow: a new ticket takes a free slot, else the one expired longest ago, else the
 * oldest used one; when every slot holds a ticket neither used nor expired, none is issued (503).
 * A used or expired ticket stays in its slot until the slot is taken again, so presenting it again
 * is answered as "used" or "expired" rather than "unknown". Lookups compare every slot in constant
 * time per slot; tickets are never logged (only the name of their token).
 *
 * Owner: the HTTP server (sw_server_start creates it, sw_server_stop frees it). Threads:
 * issue/redeem from MHD's pool threads (one mutex, held only for a scan of the table); new/free on
 * the main thread.
 */
#ifndef SW_TICKET_H
#define SW_TICKET_H

#include <stddef.h>

#define SW_TICKET_SECONDS 30   /* a ticket is valid this long after it is issued */
#define SW_TICKETS_MAX    1024 /* tickets outstanding at most (server-wide) */
#define SW_TICKET_HEX     32   /* hex digits of a ticket (128 bits) */

enum sw_ticket_status {
    SW_TICKET_OK = 0,
    SW_TICKET_UNKNOWN,  /* never issued, malformed, or its slot was taken again since */
    SW_TICKET_EXPIRED,  /* issued, not used, older than its lifetime */
    SW_TICKET_USED,     /* it opened a stream already */
    SW_TICKET_FULL,     /* issue: every slot holds a live ticket */
    SW_TICKET_NORANDOM, /* issue: getrandom failed */
};

struct sw_tickets;

/* A table of max slots (>= 1) for tickets valid ttl seconds. NULL on out of memory. */
struct sw_tickets *sw_tickets_new(int max, double ttl);
/* Accepts NULL. */
void sw_tickets_free(struct sw_tickets *t);

/* Issues a ticket for who (borrowed: it must outlive the table, e.g. a token name of the config)
 * at now (sw_mono() seconds): SW_TICKET_OK with out set (SW_TICKET_HEX digits and a NUL);
 * SW_TICKET_FULL with *retry_after the seconds until the first live ticket expires;
 * SW_TICKET_NORANDOM. */
enum sw_ticket_status sw_tickets_issue(struct sw_tickets *t, const char *who, double now,
                                       char out[SW_TICKET_HEX + 1], double *retry_after);

/* Takes ticket at now: SW_TICKET_OK once (it is used from then on), else UNKNOWN, EXPIRED or USED.
 * *who is set to the name it was issued for (OK, EXPIRED, USED), else NULL. *first_replay (may be
 * NULL) is 1 the first time a used ticket is presented again (log it once), else 0. */
enum sw_ticket_status sw_tickets_redeem(struct sw_tickets *t, const char *ticket, double now,
                                        const char **who, int *first_replay);

/* Tickets neither used nor expired at now. */
int sw_tickets_live(struct sw_tickets *t, double now);

#endif
