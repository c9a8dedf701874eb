/* hcache.h — a small cache of histogram answers computed from the database (run, range, last-N
 * and good-only scopes of GET /api/v1/histograms/{name}), so that dashboards polling the same
 * histogram every few seconds do not sum the same stored spills into the same JSON each time.
 *
 * An entry is the JSON body under a key (the histogram, its normalised query and the profile
 * version) and the store generation read before it was computed (store.h): it is served only while
 * the generation is unchanged, i.e. until the writer finishes its next job. Bounded: at most
 * HCACHE_SLOTS entries of at most HCACHE_BODY_MAX bytes each; the least recently used goes.
 *
 * Threads: any; one mutex. Process-wide, used by the histogram handlers (hist_api.c); main clears it at exit.
 */
#ifndef SW_HCACHE_H
#define SW_HCACHE_H

#include <stddef.h>
#include <stdint.h>

#define HCACHE_SLOTS    64
#define HCACHE_BODY_MAX (128u << 10)

/* A malloc'ed copy of the body cached under key for generation gen (*len set), or NULL. */
char *sw_hcache_get(const char *key, uint64_t gen, size_t *len);
/* Keeps a copy of body (len bytes) under key for generation gen; too large a body is not kept. */
void sw_hcache_put(const char *key, uint64_t gen, const char *body, size_t len);
/* Frees every entry (at exit, so leak checkers see nothing). */
void sw_hcache_clear(void);

#endif
