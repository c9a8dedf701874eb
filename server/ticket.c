/* ticket.c — see ticket.h */
#include "ticket.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum { FREE = 0, LIVE, USED };

struct slot {
    int state;
    int replayed; /* a used ticket presented again was reported once */
    double expires;
    const char *who;
    char hex[SW_TICKET_HEX];
};

struct sw_tickets {
    pthread_mutex_t mu;
    int max;
    double ttl;
    struct slot *slots;
};

struct sw_tickets *sw_tickets_new(int max, double ttl)
{
    struct sw_tickets *t = calloc(1, sizeof *t);
    if (!t || max < 1)
        goto fail;
    t->slots = calloc((size_t)max, sizeof *t->slots);
    if (!t->slots)
        goto fail;
    t->max = max;
    t->ttl = ttl;
    pthread_mutex_init(&t->mu, NULL);
    return t;
fail:
    free(t);
    return NULL;
}

void sw_tickets_free(struct sw_tickets *t)
{
    if (!t)
        return;
    /* no secret outlives the table in freed memory */
    memset(t->slots, 0, (size_t)t->max * sizeof *t->slots);
    free(t->slots);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static int random_bytes(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom(buf + got, n - got, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)k;
    }
    return 0;
}

enum sw_ticket_status sw_tickets_issue(struct sw_tickets *t, const char *who, double now,
                                       char out[SW_TICKET_HEX + 1], double *retry_after)
{
    unsigned char raw[SW_TICKET_HEX / 2];
    if (random_bytes(raw, sizeof raw) != 0)
        return SW_TICKET_NORANDOM;
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[SW_TICKET_HEX] = 0;
    memset(raw, 0, sizeof raw);

    pthread_mutex_lock(&t->mu);
    /* A free slot, else the one expired longest ago, else the oldest used one. */
    int pick = -1, expired = -1, used = -1;
    double first_live = 0;
    for (int i = 0; i < t->max && pick < 0; i++) {
        const struct slot *s = &t->slots[i];
        if (s->state == FREE)
            pick = i;
        else if (s->expires <= now) {
            if (expired < 0 || s->expires < t->slots[expired].expires)
                expired = i;
        } else if (s->state == USED) {
            if (used < 0 || s->expires < t->slots[used].expires)
                used = i;
        } else if (first_live == 0 || s->expires < first_live)
            first_live = s->expires;
    }
    if (pick < 0)
        pick = expired >= 0 ? expired : used;
    if (pick < 0) {
        pthread_mutex_unlock(&t->mu);
        if (retry_after)
            *retry_after = first_live - now;
        memset(out, 0, SW_TICKET_HEX + 1);
        return SW_TICKET_FULL;
    }
    struct slot *s = &t->slots[pick];
    *s = (struct slot){LIVE, 0, now + t->ttl, who, {0}};
    memcpy(s->hex, out, SW_TICKET_HEX);
    pthread_mutex_unlock(&t->mu);
    return SW_TICKET_OK;
}

enum sw_ticket_status sw_tickets_redeem(struct sw_tickets *t, const char *ticket, double now,
                                        const char **who, int *first_replay)
{
    *who = NULL;
    if (first_replay)
        *first_replay = 0;
    if (strlen(ticket) != SW_TICKET_HEX)
        return SW_TICKET_UNKNOWN;
    pthread_mutex_lock(&t->mu);
    int found = -1;
    for (int i = 0; i < t->max; i++) {
        /* every slot and every digit compared: the time taken says nothing about how close it was */
        unsigned char d = (unsigned char)(t->slots[i].state == FREE);
        for (int k = 0; k < SW_TICKET_HEX; k++)
            d |= (unsigned char)(t->slots[i].hex[k] ^ ticket[k]);
        if (d == 0)
            found = i;
    }
    enum sw_ticket_status rc = SW_TICKET_UNKNOWN;
    if (found >= 0) {
        struct slot *s = &t->slots[found];
        *who = s->who;
        if (s->state == USED) {
            rc = SW_TICKET_USED;
            if (first_replay && !s->replayed)
                *first_replay = 1;
            s->replayed = 1;
        } else if (s->expires <= now)
            rc = SW_TICKET_EXPIRED;
        else {
            s->state = USED;
            rc = SW_TICKET_OK;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int sw_tickets_live(struct sw_tickets *t, double now)
{
    int n = 0;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->max; i++)
        n += t->slots[i].state == LIVE && t->slots[i].expires > now;
    pthread_mutex_unlock(&t->mu);
    return n;
}
