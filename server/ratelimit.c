/* ratelimit.c — see ratelimit.h */
#include "ratelimit.h"

#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096 /* power of two */
#define PROBE 8    /* slots looked at per address */

struct bucket {
    unsigned char key[17]; /* family byte + the address (4 or 16 bytes); key[0] = 0: free */
    double tokens, last;
};

struct sw_ratelimit {
    pthread_mutex_t mu;
    double rate, burst;
    struct bucket slots[SLOTS];
};

struct sw_ratelimit *sw_ratelimit_new(double rate, double burst)
{
    struct sw_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    return rl;
}

void sw_ratelimit_free(struct sw_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

/* The address without the port, as a key; 0 for an unknown family. */
static int make_key(const struct sockaddr *addr, unsigned char key[17])
{
    memset(key, 0, 17);
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        key[0] = 4;
        memcpy(key + 1, &in->sin_addr, 4);
        return 1;
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        key[0] = 6;
        memcpy(key + 1, &in6->sin6_addr, 16);
        return 1;
    }
    return 0;
}

static uint32_t hash(const unsigned char key[17])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

unsigned sw_ratelimit_take(struct sw_ratelimit *rl, const struct sockaddr *addr, double now)
{
    unsigned char key[17];
    if (!rl || rl->rate <= 0 || !addr || !make_key(addr, key))
        return 0;
    pthread_mutex_lock(&rl->mu);
    uint32_t h = hash(key);
    struct bucket *b = NULL, *oldest = NULL;
    for (int i = 0; i < PROBE && !b; i++) {
        struct bucket *s = &rl->slots[(h + (uint32_t)i) & (SLOTS - 1)];
        if (memcmp(s->key, key, sizeof key) == 0)
            b = s;
        else if (!s->key[0]) { /* a free slot beats any used one */
            if (!oldest || oldest->key[0])
                oldest = s;
        } else if (!oldest || (oldest->key[0] && s->last < oldest->last))
            oldest = s;
    }
    if (!b) {
        b = oldest;
        memcpy(b->key, key, sizeof key);
        b->tokens = rl->burst;
        b->last = now;
    }
    b->tokens = fmin(rl->burst, b->tokens + (now - b->last) * rl->rate);
    b->last = now;
    unsigned wait = 0;
    if (b->tokens >= 1)
        b->tokens -= 1;
    else
        wait = (unsigned)ceil((1 - b->tokens) / rl->rate);
    pthread_mutex_unlock(&rl->mu);
    return wait;
}
