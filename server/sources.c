/* sources.c — see sources.h */
#include "sources.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "log.h"

struct source *eng_source_find(struct sw_engine *e, const char *name)
{
    for (int i = 0; i < e->nsources; i++)
        if (strcmp(e->sources[i].name, name) == 0)
            return &e->sources[i];
    return NULL;
}

struct source *eng_source_add(struct sw_engine *e, const char *name, int64_t seq)
{
    struct source *s = eng_source_find(e, name);
    if (s)
        return s;
    if (e->nsources == e->capsources) {
        int cap = e->capsources ? e->capsources * 2 : 8;
        struct source *g = realloc(e->sources, (size_t)cap * sizeof *g);
        if (!g)
            return NULL;
        e->sources = g;
        e->capsources = cap;
    }
    s = &e->sources[e->nsources++];
    *s = (struct source){.seq = seq, .last_mono = NAN, .lag_bytes = -1, .lag_seconds = NAN};
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

void eng_source_load(struct sw_engine *e, const char *name, int64_t seq)
{
    struct source *s = eng_source_add(e, name, seq);
    if (s) {
        s->committed_seq = seq;
        s->watermark = 1;
    }
}

void eng_source_marker(struct sw_engine *e, const char *name, int64_t seq)
{
    struct source *s = eng_source_find(e, name);
    if (!s && (s = eng_source_add(e, name, seq - 1)))
        s->watermark = 1;
    else if (s && s->committed_seq == 0 && s->seq > seq - 1)
        s->seq = seq - 1;
}

/* Refused (SW_EHELD) while another instance has sent a batch for the source within
 * limits.source_lease seconds and not released it; and when it takes the source over with a seq at
 * or below the last applied one: its numbering did not start from the watermark (it read it before
 * the other instance sent), so that batch is no duplicate of its own and would be dropped as one. */
int eng_source_hold(struct sw_engine *e, const char *source, const char *instance, int64_t seq,
                    struct sw_ingest_result *res)
{
    if (!instance || e->cfg->source_lease <= 0)
        return SW_OK;
    double now = sw_mono();
    struct source *src = eng_source_find(e, source);
    if (src && src->instance[0] && strcmp(src->instance, instance) != 0) {
        double idle = now - src->instance_mono;
        int held = !src->released && idle < e->cfg->source_lease;
        if (held || seq <= src->seq) {
            res->held = 1;
            snprintf(res->held_by, sizeof res->held_by, "%s", src->instance);
            res->held_idle = idle;
            if (held)
                snprintf(res->error, sizeof res->error,
                         "source \"%s\" is held by another collector instance (%s, last batch %.0f s ago): "
                         "two collectors must not share a source id; give this one its own --source (and "
                         "--state), or stop the other (the source is free again %.0f s after its last "
                         "batch); nothing applied",
                         source, src->instance, idle, e->cfg->source_lease);
            else
                snprintf(res->error, sizeof res->error,
                         "source \"%s\": seq %lld is not above %lld, the last seq applied from another "
                         "collector instance (%s): this collector did not resume from the server's "
                         "watermark, another one used the source id meanwhile; give this one its own "
                         "--source (and --state); nothing applied",
                         source, (long long)seq, (long long)src->seq, src->instance);
            return SW_EHELD;
        }
        /* A clean handover (the other released it: a collector restarted) is routine; taking over
         * a silent holder is worth a warning. */
        sw_log(src->released ? SW_LOG_INFO : SW_LOG_WARN, "engine",
               "source %s: collector instance %s takes over from %s (%s %.0f s ago)", source, instance,
               src->instance, src->released ? "released" : "last batch", idle);
    }
    if (!src && !(src = eng_source_add(e, source, 0)))
        return SW_ENOMEM;
    snprintf(src->instance, sizeof src->instance, "%s", instance);
    src->instance_mono = now;
    src->released = 0;
    return SW_OK;
}

void eng_source_committed(struct sw_engine *e, const char *source, int64_t seq)
{
    struct source *src;
    pthread_mutex_lock(&e->mu);
    if ((src = eng_source_find(e, source)) && src->committed_seq < seq)
        src->committed_seq = seq;
    pthread_mutex_unlock(&e->mu);
}

/* ---- engine.h ---- */

int64_t sw_engine_source_seq(struct sw_engine *e, const char *source)
{
    pthread_mutex_lock(&e->mu);
    struct source *s = eng_source_find(e, source);
    int64_t seq = s && s->seq > 0 ? s->seq : -1;
    pthread_mutex_unlock(&e->mu);
    return seq;
}

double sw_engine_source_holder(struct sw_engine *e, const char *source, char *out)
{
    pthread_mutex_lock(&e->mu);
    struct source *s = eng_source_find(e, source);
    double idle = NAN;
    out[0] = 0;
    if (s && s->instance[0] && !s->released) {
        memcpy(out, s->instance, sizeof s->instance);
        idle = fmax(0, sw_mono() - s->instance_mono);
    }
    pthread_mutex_unlock(&e->mu);
    return idle;
}

int sw_engine_source_release(struct sw_engine *e, const char *source, const char *instance)
{
    pthread_mutex_lock(&e->mu);
    struct source *s = eng_source_find(e, source);
    int rc = SW_OK;
    if (s && s->instance[0] && !s->released && strcmp(s->instance, instance) != 0 &&
        sw_mono() - s->instance_mono < e->cfg->source_lease)
        rc = SW_EHELD;
    else if (s && !strcmp(s->instance, instance))
        s->released = 1; /* the instance is kept: a stale seq of another one is still told apart */
    pthread_mutex_unlock(&e->mu);
    return rc;
}

int sw_engine_source_report(struct sw_engine *e, const char *source, int64_t lag_bytes, double lag_seconds)
{
    pthread_mutex_lock(&e->mu);
    struct source *s = eng_source_add(e, source, 0);
    if (s && lag_bytes >= 0)
        s->lag_bytes = lag_bytes;
    if (s && !isnan(lag_seconds))
        s->lag_seconds = lag_seconds;
    pthread_mutex_unlock(&e->mu);
    return s ? 0 : SW_ENOMEM;
}

int sw_engine_sources(struct sw_engine *e, struct sw_source_info **out)
{
    *out = NULL;
    pthread_mutex_lock(&e->mu);
    int n = e->nsources;
    struct sw_source_info *info = n ? malloc((size_t)n * sizeof *info) : NULL;
    double now = sw_mono();
    for (int i = 0; info && i < n; i++) {
        const struct source *s = &e->sources[i];
        memcpy(info[i].name, s->name, sizeof info[i].name);
        info[i].seq = s->seq;
        info[i].committed_seq = s->committed_seq;
        info[i].age = isnan(s->last_mono) ? NAN : fmax(0, now - s->last_mono);
        info[i].lag_bytes = s->lag_bytes;
        info[i].lag_seconds = s->lag_seconds;
    }
    pthread_mutex_unlock(&e->mu);
    if (n && !info)
        return -1;
    *out = info;
    return n;
}
