/* Unit tests of server/ticket.c: a ticket opens once, expires, is unknown when malformed or never
 * issued; the table is bounded (free slot, then the oldest expired, then the oldest used; full of
 * live tickets: refused with the time until the first expires); tickets differ. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ticket.h"

static int is_hex(const char *s)
{
    if (strlen(s) != SW_TICKET_HEX)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

int main(void)
{
    struct sw_tickets *t = sw_tickets_new(3, 30);
    CHECK(t != NULL);
    const char *who;
    int replay;
    char a[SW_TICKET_HEX + 1], b[SW_TICKET_HEX + 1], c[SW_TICKET_HEX + 1], d[SW_TICKET_HEX + 1];
    double wait = -1, now = 1000;

    /* issued, 128 bits in hex, different every time; taken once, then "used" */
    CHECK_INT(sw_tickets_issue(t, "night", now, a, &wait), SW_TICKET_OK);
    CHECK_INT(sw_tickets_issue(t, "day", now + 1, b, &wait), SW_TICKET_OK);
    CHECK(is_hex(a) && is_hex(b) && strcmp(a, b) != 0);
    CHECK_INT(sw_tickets_live(t, now + 1), 2);
    CHECK_INT(sw_tickets_redeem(t, a, now + 2, &who, &replay), SW_TICKET_OK);
    CHECK_STR(who, "night");
    CHECK_INT(replay, 0);
    CHECK_INT(sw_tickets_redeem(t, a, now + 3, &who, &replay), SW_TICKET_USED);
    CHECK_STR(who, "night");
    CHECK_INT(replay, 1); /* the first replay is reported, later ones not */
    CHECK_INT(sw_tickets_redeem(t, a, now + 3, &who, &replay), SW_TICKET_USED);
    CHECK_INT(replay, 0);
    CHECK_INT(sw_tickets_live(t, now + 3), 1);

    /* never issued, malformed, a prefix, upper case: unknown, and no name */
    CHECK_INT(sw_tickets_redeem(t, "00000000000000000000000000000000", now, &who, NULL), SW_TICKET_UNKNOWN);
    CHECK(who == NULL);
    CHECK_INT(sw_tickets_redeem(t, "", now, &who, NULL), SW_TICKET_UNKNOWN);
    char prefix[SW_TICKET_HEX];
    memcpy(prefix, b, SW_TICKET_HEX - 1);
    prefix[SW_TICKET_HEX - 1] = 0;
    CHECK_INT(sw_tickets_redeem(t, prefix, now, &who, NULL), SW_TICKET_UNKNOWN);
    char longer[SW_TICKET_HEX + 2];
    memcpy(longer, b, SW_TICKET_HEX);
    longer[SW_TICKET_HEX] = '0';
    longer[SW_TICKET_HEX + 1] = 0;
    CHECK_INT(sw_tickets_redeem(t, longer, now, &who, NULL), SW_TICKET_UNKNOWN);

    /* b expires at now + 31: still good just before, "expired" at and after */
    CHECK_INT(sw_tickets_issue(t, "night", now + 2, c, &wait), SW_TICKET_OK);
    CHECK_INT(sw_tickets_redeem(t, b, now + 31, &who, NULL), SW_TICKET_EXPIRED);
    CHECK_STR(who, "day");
    CHECK_INT(sw_tickets_redeem(t, c, now + 31.9, &who, NULL), SW_TICKET_OK);

    /* the table of 3: a used (expires 1030), b expired unused (1031), c used (1032). At 1031.5 the
     * expired ones go first, the one expired longest ago (a) before b; then the used c; then the
     * table is full of live tickets. */
    now = 1031.5;
    char e[SW_TICKET_HEX + 1], f[SW_TICKET_HEX + 1], g[SW_TICKET_HEX + 1];
    CHECK_INT(sw_tickets_issue(t, "x", now, d, &wait), SW_TICKET_OK);
    CHECK_INT(sw_tickets_redeem(t, a, now, &who, NULL), SW_TICKET_UNKNOWN); /* its slot went to d */
    CHECK_INT(sw_tickets_redeem(t, b, now, &who, NULL), SW_TICKET_EXPIRED);
    CHECK_INT(sw_tickets_issue(t, "x", now, e, &wait), SW_TICKET_OK);
    CHECK_INT(sw_tickets_redeem(t, b, now, &who, NULL), SW_TICKET_UNKNOWN);
    CHECK_INT(sw_tickets_redeem(t, c, now, &who, NULL), SW_TICKET_USED);
    CHECK_INT(sw_tickets_issue(t, "x", now, f, &wait), SW_TICKET_OK); /* takes the used c */
    CHECK_INT(sw_tickets_redeem(t, c, now, &who, NULL), SW_TICKET_UNKNOWN);
    CHECK_INT(sw_tickets_live(t, now), 3);
    wait = -1;
    CHECK_INT(sw_tickets_issue(t, "x", now + 10, g, &wait), SW_TICKET_FULL);
    CHECK_NEAR(wait, 20, 1e-9); /* d, e and f expire at 1061.5 */
    CHECK_INT(sw_tickets_redeem(t, d, now + 10, &who, NULL), SW_TICKET_OK);
    CHECK_INT(sw_tickets_issue(t, "x", now + 10, g, &wait), SW_TICKET_OK); /* the used d's slot */
    CHECK_INT(sw_tickets_issue(t, "x", now + 10, g, &wait), SW_TICKET_FULL);
    /* once they expire, the table takes new ones again */
    CHECK_INT(sw_tickets_issue(t, "x", now + 30, g, &wait), SW_TICKET_OK);
    CHECK_INT(sw_tickets_redeem(t, g, now + 30, &who, NULL), SW_TICKET_OK);
    sw_tickets_free(t);
    sw_tickets_free(NULL);

    /* many tickets: all different */
    t = sw_tickets_new(SW_TICKETS_MAX, SW_TICKET_SECONDS);
    static char many[SW_TICKETS_MAX][SW_TICKET_HEX + 1];
    for (int i = 0; i < SW_TICKETS_MAX; i++)
        CHECK_INT(sw_tickets_issue(t, "n", 5, many[i], &wait), SW_TICKET_OK);
    CHECK_INT(sw_tickets_issue(t, "n", 5, g, &wait), SW_TICKET_FULL);
    int dup = 0;
    for (int i = 0; i < SW_TICKETS_MAX; i++)
        for (int j = i + 1; j < SW_TICKETS_MAX; j++)
            dup += strcmp(many[i], many[j]) == 0;
    CHECK_INT(dup, 0);
    CHECK_INT(sw_tickets_redeem(t, many[SW_TICKETS_MAX / 2], 6, &who, NULL), SW_TICKET_OK);
    sw_tickets_free(t);

    return CHECK_DONE();
}
