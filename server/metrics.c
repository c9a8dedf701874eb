/* metrics.c — see metrics.h (the leaf: counters and histograms; their text is exposition.c) */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (int)(sizeof(a) / sizeof((a)[0]))

static const double http_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10};
static const double commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
_Static_assert(NELEM(http_bounds) <= SW_HISTOGRAM_MAX_BOUNDS, "too many bounds");
_Static_assert(NELEM(commit_bounds) <= SW_HISTOGRAM_MAX_BOUNDS, "too many bounds");

struct sw_metrics sw_metrics = {
    .http_duration = {.bounds = http_bounds, .nbounds = NELEM(http_bounds)},
    .store_commit_duration = {.bounds = commit_bounds, .nbounds = NELEM(commit_bounds)},
};

/* ---- histograms ---- */

void sw_histogram_observe(struct sw_histogram *h, double seconds)
{
    if (!(seconds > 0)) /* negative, zero or NaN */
        seconds = 0;
    int b = 0;
    while (b < h->nbounds && seconds > h->bounds[b])
        b++;
    atomic_fetch_add_explicit(&h->buckets[b], 1, memory_order_relaxed);
    /* 2^64 ns is 584 years: a finite duration above that is clamped, not wrapped. */
    double ns = seconds * 1e9;
    atomic_fetch_add_explicit(&h->sum_ns, ns < 1.8e19 ? (uint_fast64_t)ns : UINT64_MAX / 2,
                              memory_order_relaxed);
}

/* ---- ingest errors ---- */

static const char *const reason_names[SW_INGEST_REASON_N] = {
    [SW_INGEST_MALFORMED] = "malformed",
    [SW_INGEST_UNAUTHORIZED] = "unauthorized",
    [SW_INGEST_FORBIDDEN] = "forbidden",
    [SW_INGEST_METHOD] = "method",
    [SW_INGEST_LATE] = "late",
    [SW_INGEST_TOO_LARGE] = "too_large",
    [SW_INGEST_UNAVAILABLE] = "unavailable",
    [SW_INGEST_QUEUE_FULL] = "queue_full",
    [SW_INGEST_SEQ_GAP] = "seq_gap",
    [SW_INGEST_RATE_LIMITED] = "rate_limited",
    [SW_INGEST_TIMEOUT] = "timeout",
    [SW_INGEST_OPEN_SPILLS] = "open_spills",
    [SW_INGEST_SOURCE_HELD] = "source_held",
    [SW_INGEST_OTHER] = "other",
};

void sw_metrics_ingest_rejected(unsigned status)
{
    enum sw_ingest_reason r;
    switch (status) {
    case 400:
        r = SW_INGEST_MALFORMED;
        break;
    case 401:
        r = SW_INGEST_UNAUTHORIZED;
        break;
    case 403:
        r = SW_INGEST_FORBIDDEN;
        break;
    case 405:
        r = SW_INGEST_METHOD;
        break;
    case 409:
        r = SW_INGEST_LATE;
        break;
    case 413:
        r = SW_INGEST_TOO_LARGE;
        break;
    case 503:
        r = SW_INGEST_UNAVAILABLE;
        break;
    case 429:
        r = SW_INGEST_RATE_LIMITED;
        break;
    case 408:
        r = SW_INGEST_TIMEOUT;
        break;
    default:
        r = SW_INGEST_OTHER;
        break;
    }
    sw_metrics_ingest_refused(r);
}

void sw_metrics_ingest_refused(enum sw_ingest_reason r)
{
    atomic_fetch_add(&sw_metrics.ingest_errors[r], 1);
    atomic_fetch_add(&sw_metrics.ingest_rejected, 1);
}

/* ---- last closed spill ---- */

#define MAX_RATES 64

static struct {
    pthread_mutex_t mu;
    int known;
    struct sw_metrics_spill s; /* s.counters unused here */
    int nrates;
    char *names[MAX_RATES];
    double rates[MAX_RATES]; /* Hz */
} last = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct {
    pthread_mutex_t mu;
    struct sw_metrics_profile v;
} profile = {.mu = PTHREAD_MUTEX_INITIALIZER};

void sw_metrics_set_profile(const char *name, const char *version)
{
    pthread_mutex_lock(&profile.mu);
    snprintf(profile.v.name, sizeof profile.v.name, "%s", name);
    snprintf(profile.v.version, sizeof profile.v.version, "%s", version);
    pthread_mutex_unlock(&profile.mu);
}

void sw_metrics_spill_closed(const struct sw_metrics_spill *s)
{
    char *names[MAX_RATES];
    double rates[MAX_RATES];
    int n = 0;
    /* Copies are made before the lock, so the renderer never waits for malloc. */
    if (s->counters && isfinite(s->duration) && s->duration > 0) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)s->counters, key, v)
        {
            if (n == MAX_RATES)
                break;
            double rate = json_is_number(v) ? json_number_value(v) / s->duration : NAN;
            if (!isfinite(rate))
                continue;
            if (!(names[n] = strdup(key)))
                break;
            rates[n++] = rate;
        }
    }
    pthread_mutex_lock(&last.mu);
    last.known = 1;
    last.s = *s;
    last.s.counters = NULL;
    for (int i = 0; i < n; i++) { /* swap: the old names are freed outside the lock */
        char *old = i < last.nrates ? last.names[i] : NULL;
        last.names[i] = names[i];
        last.rates[i] = rates[i];
        names[i] = old;
    }
    int nold = last.nrates;
    for (int i = n; i < nold; i++) {
        names[i] = last.names[i];
        last.names[i] = NULL;
    }
    last.nrates = n;
    pthread_mutex_unlock(&last.mu);
    for (int i = 0; i < nold; i++)
        free(names[i]);
}

/* ---- readers (the exposition) ---- */

const char *sw_ingest_reason_name(enum sw_ingest_reason r)
{
    return (unsigned)r < SW_INGEST_REASON_N ? reason_names[r] : "other";
}

void sw_metrics_profile(struct sw_metrics_profile *out)
{
    pthread_mutex_lock(&profile.mu);
    *out = profile.v;
    pthread_mutex_unlock(&profile.mu);
}

void sw_metrics_last_spill(void (*fn)(void *ctx, const struct sw_metrics_last *l), void *ctx)
{
    pthread_mutex_lock(&last.mu);
    if (last.known) {
        struct sw_metrics_last l = {
            .s = &last.s, .nrates = last.nrates, .names = last.names, .rates = last.rates};
        fn(ctx, &l);
    }
    pthread_mutex_unlock(&last.mu);
}
