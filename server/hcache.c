/* hcache.c — see hcache.h */
#include "hcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

struct entry {
    char key[192];
    uint64_t gen, used;
    char *body; /* NULL: free slot */
    size_t len;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry slots[HCACHE_SLOTS];
static uint64_t tick;

char *sw_hcache_get(const char *key, uint64_t gen, size_t *len)
{
    char *copy = NULL;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < HCACHE_SLOTS; i++) {
        struct entry *e = &slots[i];
        if (e->body && e->gen == gen && strcmp(e->key, key) == 0) {
            e->used = ++tick;
            if ((copy = malloc(e->len + 1))) {
                memcpy(copy, e->body, e->len + 1);
                *len = e->len;
            }
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    atomic_fetch_add(copy ? &sw_metrics.hcache_hits : &sw_metrics.hcache_misses, 1);
    return copy;
}

void sw_hcache_put(const char *key, uint64_t gen, const char *body, size_t len)
{
    if (len > HCACHE_BODY_MAX || strlen(key) >= sizeof slots[0].key)
        return;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, body, len);
    copy[len] = 0;
    pthread_mutex_lock(&mu);
    /* The same key (an older generation), else a free slot, else the least recently used. */
    struct entry *victim = NULL;
    for (int i = 0; i < HCACHE_SLOTS; i++) {
        struct entry *e = &slots[i];
        if (e->body && strcmp(e->key, key) == 0) {
            victim = e;
            break;
        }
        if (!victim || (victim->body && (!e->body || e->used < victim->used)))
            victim = e;
    }
    char *old = victim->body;
    strcpy(victim->key, key);
    victim->gen = gen;
    victim->used = ++tick;
    victim->body = copy;
    victim->len = len;
    pthread_mutex_unlock(&mu);
    free(old);
}

void sw_hcache_clear(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < HCACHE_SLOTS; i++) {
        free(slots[i].body);
        slots[i].body = NULL;
    }
    pthread_mutex_unlock(&mu);
}
