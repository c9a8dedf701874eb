/* engine.c — see engine.h */
#include "engine.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "jsonnum.h"
#include "log.h"
#include "metrics.h"
#include "quality.h"
#include "alarms.h"
#include "refs.h"
#include "stream.h"

struct spill {
    int64_t run, spill;
    double started, ended;        /* Unix s from the records (NaN when absent) */
    double first_wall, last_wall; /* Unix s when data arrived */
    double last_mono;             /* CLOCK_MONOTONIC s of the last data, for the timeout */
    uint64_t events, trig[SW_TRIG_N], unknown_fields;
    struct sw_profile *prof; /* a reference: the profile the spill was opened with, which judges it */
    struct sw_hist *hists;   /* one per histogram of prof */
    size_t bytes;            /* what it holds in memory (limits.open_spill_memory) */
    int src;                 /* index in sources of the source whose batch opened it; -1: none */
    int restored;            /* recreated from its marker at start-up and no data since */
};

/* Why a restored spill that timed out without any data since the restart is incomplete. */
static const char restart_reason[] = "incomplete: lost in a server restart and not resent";

struct source {
    char name[128];
    int64_t seq;           /* last applied; 0: none (a source known from lag reports only) */
    int watermark;         /* seq is a watermark (applied, loaded, or before an open-spill marker): the
                            * next batch must be seq + 1 (0: known from lag reports only) */
    int64_t committed_seq; /* last seq committed with a spill (loaded, then after each commit) */
    double last_mono;      /* sw_mono() of the last batch answered 200; NaN: none since start */
    int64_t lag_bytes;     /* collector-reported lag; -1 / NaN: not reported since start */
    double lag_seconds;
    int nopen;                          /* open spills its batches opened (limits.open_spills_per_source) */
    char instance[SW_INSTANCE_MAX + 1]; /* the collector instance of its last batch ("": none) */
    double instance_mono;               /* sw_mono() of that batch */
    int released;                       /* that instance gave the source up */
};

/* Set of closed (run, spill) pairs: open addressing, linear probing; load factor <= 1/2. */
struct pairset {
    int64_t *keys; /* 2 per slot; run == -1 marks an empty slot */
    size_t cap, n;
};

/* The check references of one profile: a spill is judged with those of its own profile. */
struct refset {
    struct sw_profile *prof; /* a reference */
    struct sw_refs *refs;
};

struct sw_engine {
    const struct sw_config *cfg;
    struct sw_profile *prof; /* a reference: the current profile, which new spills are opened with */
    struct sw_store *store;
    pthread_mutex_t mu;
    struct spill **open; /* [0..nopen), in no order */
    int nopen, capopen;
    struct spill **omap; /* the open spills by (run, spill): open addressing, load factor <= 1/2 */
    size_t omap_cap;
    size_t open_bytes;         /* sum of their bytes */
    struct spill *last_closed; /* kept for the live view between spills */
    struct pairset closed;
    struct source *sources;
    int nsources, capsources;
    struct refset *refsets; /* [0..nrefsets): the current profile's and those of open spills */
    int nrefsets;
    struct sw_alarms *alarms; /* borrowed; may be NULL */
    struct sw_stream *stream; /* borrowed; may be NULL */
    /* For the live alarm rules (sw_engine_live). */
    uint64_t triggers[SW_TRIG_N]; /* events accepted since start, by trigger type */
    double last_data;             /* Unix s of the last accepted record, NaN before any */
    int64_t last_run;             /* run of the last data */
    int run_active;               /* last_run has not ended (no run_end for it since) */
    int last_beam;                /* the last closed spill had beam: 1, 0; -1 unknown */
    int64_t meta_run;             /* the run of the last run_start, -1 before any */
    int64_t *signed_runs;         /* runs signed off: no new spills (sw_engine_set_signed) */
    int nsigned, capsigned;
    struct pairset ended; /* (run, 0) of every run with a run_end and no resume since */
    double last_tick;     /* sw_mono() of the last sw_engine_tick (at first: of the start) */
    double grace_until;   /* no timeout closes before this sw_mono() (a late timer) */
    int holding;          /* the last tick found the store refusing ingest */
    json_t *meta;         /* its meta (a reference), or NULL: the baselines match runs on it */
    int load_failed;      /* start-up: out of memory while loading */
};

/* ---- closed set ---- */

static size_t pair_hash(int64_t run, int64_t spill, size_t cap)
{
    uint64_t h = (uint64_t)run * 0x9E3779B97F4A7C15ull ^ ((uint64_t)spill + 0x632BE59BD9B4E019ull);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (size_t)(h & (cap - 1));
}

static int pairset_has(const struct pairset *s, int64_t run, int64_t spill)
{
    if (!s->cap)
        return 0;
    for (size_t i = pair_hash(run, spill, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[2 * i] == -1)
            return 0;
        if (s->keys[2 * i] == run && s->keys[2 * i + 1] == spill)
            return 1;
    }
}

/* Leaves a tombstone (run -2: probed past, never matched, dropped when the set grows); n still counts
 * it, so an empty slot always remains. Removals are rare (a resumed run). */
static void pairset_del(struct pairset *s, int64_t run, int64_t spill)
{
    if (!s->cap)
        return;
    for (size_t i = pair_hash(run, spill, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[2 * i] == -1)
            return;
        if (s->keys[2 * i] == run && s->keys[2 * i + 1] == spill) {
            s->keys[2 * i] = -2;
            return;
        }
    }
}

static int pairset_add(struct pairset *s, int64_t run, int64_t spill)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        int64_t *keys = malloc(cap * 2 * sizeof *keys);
        if (!keys)
            return -1;
        for (size_t i = 0; i < cap; i++)
            keys[2 * i] = -1;
        struct pairset grown = {keys, cap, 0};
        for (size_t i = 0; i < s->cap; i++)
            if (s->keys[2 * i] >= 0)
                pairset_add(&grown, s->keys[2 * i], s->keys[2 * i + 1]);
        free(s->keys);
        *s = grown;
    }
    for (size_t i = pair_hash(run, spill, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[2 * i] == run && s->keys[2 * i + 1] == spill)
            return 0;
        if (s->keys[2 * i] == -1) {
            s->keys[2 * i] = run;
            s->keys[2 * i + 1] = spill;
            s->n++;
            return 0;
        }
    }
}

/* ---- spills ---- */

static void spill_free(struct spill *sp)
{
    if (!sp)
        return;
    for (int i = 0; sp->hists && i < sp->prof->nhists; i++)
        sw_hist_release(&sp->hists[i]);
    free(sp->hists);
    sw_profile_unref(sp->prof);
    free(sp);
}

/* The memory an open spill of profile p holds: its histograms' bins and their headers. */
static size_t spill_bytes(const struct sw_profile *p)
{
    size_t n = sizeof(struct spill) + (size_t)p->nhists * sizeof(struct sw_hist);
    for (int i = 0; i < p->nhists; i++)
        n += sw_hist_bins(&p->hists[i]) * sizeof(uint64_t);
    return n;
}

static struct spill *spill_new(struct sw_profile *p, int64_t run, int64_t spill)
{
    struct spill *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    sp->prof = sw_profile_ref(p);
    sp->run = run;
    sp->spill = spill;
    sp->started = sp->ended = NAN;
    sp->src = -1;
    sp->bytes = spill_bytes(p);
    sp->first_wall = sp->last_wall = sw_wall();
    sp->last_mono = sw_mono();
    sp->hists = calloc((size_t)p->nhists, sizeof *sp->hists);
    if (!sp->hists)
        goto fail;
    for (int i = 0; i < p->nhists; i++)
        if (sw_hist_init(&sp->hists[i], &p->hists[i]) != 0)
            goto fail;
    return sp;
fail:
    spill_free(sp);
    return NULL;
}

static struct spill *find_open(const struct sw_engine *e, int64_t run, int64_t spill)
{
    if (!e->omap_cap)
        return NULL;
    for (size_t i = pair_hash(run, spill, e->omap_cap);; i = (i + 1) & (e->omap_cap - 1)) {
        struct spill *sp = e->omap[i];
        if (!sp || (sp->run == run && sp->spill == spill))
            return sp;
    }
}

static void omap_put(struct spill **map, size_t cap, struct spill *sp)
{
    size_t i = pair_hash(sp->run, sp->spill, cap);
    while (map[i])
        i = (i + 1) & (cap - 1);
    map[i] = sp;
}

/* Removes sp by backward-shift deletion: every entry after the hole that may move into it does, so
 * probes never stop at a stale gap. */
static void omap_del(struct sw_engine *e, const struct spill *sp)
{
    size_t mask = e->omap_cap - 1, i = pair_hash(sp->run, sp->spill, e->omap_cap);
    while (e->omap[i] != sp)
        i = (i + 1) & mask;
    e->omap[i] = NULL;
    for (size_t j = (i + 1) & mask; e->omap[j]; j = (j + 1) & mask) {
        size_t home = pair_hash(e->omap[j]->run, e->omap[j]->spill, e->omap_cap);
        /* the entry at j stays when its home lies cyclically in (i, j] */
        if (i < j ? home > i && home <= j : home > i || home <= j)
            continue;
        e->omap[i] = e->omap[j];
        e->omap[j] = NULL;
        i = j;
    }
}

static int add_open(struct sw_engine *e, struct spill *sp)
{
    if (e->nopen == e->capopen) {
        int cap = e->capopen ? e->capopen * 2 : 8;
        struct spill **o = realloc(e->open, (size_t)cap * sizeof *o);
        if (!o)
            return -1;
        e->open = o;
        e->capopen = cap;
    }
    if ((size_t)(e->nopen + 1) * 2 > e->omap_cap) {
        size_t cap = e->omap_cap ? e->omap_cap * 2 : 16;
        struct spill **map = calloc(cap, sizeof *map);
        if (!map)
            return -1;
        for (int i = 0; i < e->nopen; i++)
            omap_put(map, cap, e->open[i]);
        free(e->omap);
        e->omap = map;
        e->omap_cap = cap;
    }
    omap_put(e->omap, e->omap_cap, sp);
    e->open[e->nopen++] = sp;
    e->open_bytes += sp->bytes;
    if (sp->src >= 0)
        e->sources[sp->src].nopen++;
    atomic_store(&sw_metrics.open_spills, e->nopen);
    return 0;
}

static void remove_open(struct sw_engine *e, struct spill *sp)
{
    for (int i = 0; i < e->nopen; i++)
        if (e->open[i] == sp) {
            e->open[i] = e->open[--e->nopen];
            omap_del(e, sp);
            e->open_bytes -= sp->bytes;
            if (sp->src >= 0)
                e->sources[sp->src].nopen--;
            break;
        }
    atomic_store(&sw_metrics.open_spills, e->nopen);
}

/* ---- sources ---- */

static struct source *find_source(struct sw_engine *e, const char *name)
{
    for (int i = 0; i < e->nsources; i++)
        if (strcmp(e->sources[i].name, name) == 0)
            return &e->sources[i];
    return NULL;
}

static struct source *add_source(struct sw_engine *e, const char *name, int64_t seq)
{
    struct source *s = find_source(e, name);
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

static void load_spill_cb(void *ctx, int64_t run, int64_t spill)
{
    pairset_add(&((struct sw_engine *)ctx)->closed, run, spill);
}

/* An open-spill marker: the spill was open when the server stopped (or crashed). It is open again,
 * empty, with its timeout clock started now: the collector resends it, or it times out. */
static void load_open_cb(void *ctx, int64_t run, int64_t spill, const char *source, int64_t seq,
                         double opened)
{
    struct sw_engine *e = ctx;
    /* A source that had not committed a spill yet has no watermark in the sources table; the marker
     * says it must resend from the batch that opened this spill (its earliest marker counts). */
    if (source && seq > 0) {
        struct source *s = find_source(e, source);
        if (!s && (s = add_source(e, source, seq - 1)))
            s->watermark = 1;
        else if (s && s->committed_seq == 0 && s->seq > seq - 1)
            s->seq = seq - 1;
    }
    if (pairset_has(&e->closed, run, spill) || find_open(e, run, spill))
        return;
    struct spill *sp = spill_new(e->prof, run, spill);
    if (!sp || add_open(e, sp) != 0) {
        spill_free(sp);
        e->load_failed = 1;
        return;
    }
    sp->first_wall = sp->last_wall = opened;
    sp->restored = 1;
    struct source *s = source ? find_source(e, source) : NULL;
    if (s) { /* counted against its source's limit as when it was opened */
        sp->src = (int)(s - e->sources);
        s->nopen++;
    }
    sw_info("engine",
            "run %lld spill %lld (source %s) was open at the last stop: open again, empty, until "
            "resent or %g s without data",
            (long long)run, (long long)spill, source ? source : "none", e->cfg->spill_timeout);
}

static void load_source_cb(void *ctx, const char *name, int64_t seq)
{
    struct source *s = add_source(ctx, name, seq);
    if (s) {
        s->committed_seq = seq;
        s->watermark = 1;
    }
}

/* The references of profile p (NULL when not built). Called with e->mu held. */
static struct sw_refs *refs_of(struct sw_engine *e, const struct sw_profile *p)
{
    for (int i = 0; i < e->nrefsets; i++)
        if (e->refsets[i].prof == p)
            return e->refsets[i].refs;
    return NULL;
}

/* Adds the references of p (taking a reference to p and ownership of refs). 0 or -1 (refs freed). */
static int refs_add(struct sw_engine *e, struct sw_profile *p, struct sw_refs *refs)
{
    struct refset *g = realloc(e->refsets, (size_t)(e->nrefsets + 1) * sizeof *g);
    if (!g) {
        sw_refs_free(refs);
        return -1;
    }
    e->refsets = g;
    e->refsets[e->nrefsets++] = (struct refset){sw_profile_ref(p), refs};
    return 0;
}

/* Drops the references of profiles that judge nothing any more: not current, no open spill. Called
 * with e->mu held. */
static void refs_prune(struct sw_engine *e)
{
    for (int i = e->nrefsets - 1; i >= 0; i--) {
        struct sw_profile *p = e->refsets[i].prof;
        int used = p == e->prof;
        for (int k = 0; !used && k < e->nopen; k++)
            used = e->open[k]->prof == p;
        if (used)
            continue;
        sw_refs_free(e->refsets[i].refs);
        sw_profile_unref(p);
        e->refsets[i] = e->refsets[--e->nrefsets];
    }
}

/* A batch refused for good at line (late data, a signed-off run): 409, and since the collector goes
 * on with the next seq, which must not look like a gap, the source's seq moves past this one. Engine
 * mutex held. */
static void refused_for_good(struct sw_engine *e, struct sw_ingest_result *res, int line, const char *source,
                             int64_t seq)
{
    res->status = 409;
    res->line = line;
    struct source *src = source ? add_source(e, source, seq) : NULL;
    if (src && src->seq < seq) {
        src->seq = seq;
        src->watermark = 1;
    }
}

/* Adds (signed_off 1) or removes run from the signed-off runs. 0, or -1 on out of memory. */
static int set_signed(struct sw_engine *e, int64_t run, int signed_off)
{
    int k = 0;
    while (k < e->nsigned && e->signed_runs[k] != run)
        k++;
    if (!signed_off) {
        if (k < e->nsigned)
            e->signed_runs[k] = e->signed_runs[--e->nsigned];
        return 0;
    }
    if (k < e->nsigned)
        return 0;
    if (e->nsigned == e->capsigned) {
        int cap = e->capsigned ? 2 * e->capsigned : 64;
        int64_t *g = realloc(e->signed_runs, (size_t)cap * sizeof *g);
        if (!g)
            return -1;
        e->signed_runs = g;
        e->capsigned = cap;
    }
    e->signed_runs[e->nsigned++] = run;
    return 0;
}

static int is_signed(const struct sw_engine *e, int64_t run)
{
    for (int k = 0; k < e->nsigned; k++)
        if (e->signed_runs[k] == run)
            return 1;
    return 0;
}

int sw_engine_set_signed(struct sw_engine *e, int64_t run, int signed_off)
{
    pthread_mutex_lock(&e->mu);
    int rc = set_signed(e, run, signed_off);
    pthread_mutex_unlock(&e->mu);
    return rc == 0 ? 0 : SW_ENOMEM;
}

struct sw_engine *sw_engine_new(const struct sw_config *cfg, struct sw_profile *prof, struct sw_store *store,
                                struct sw_alarms *alarms)
{
    struct sw_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->cfg = cfg;
    e->prof = sw_profile_ref(prof);
    e->store = store;
    e->alarms = alarms;
    e->last_data = NAN;
    e->last_beam = -1;
    e->meta_run = -1;
    e->last_tick = sw_mono(); /* the timer starts with the server */
    pthread_mutex_init(&e->mu, NULL);
    if (sw_store_each_spill(store, load_spill_cb, e) != 0 ||
        sw_store_each_source(store, load_source_cb, e) != 0 ||
        sw_store_each_open_spill(store, load_open_cb, e) != 0 || e->load_failed) {
        sw_engine_free(e);
        return NULL;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sw_store_reader(store), "SELECT run FROM signoffs", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            if (set_signed(e, sqlite3_column_int64(st, 0), 1) != 0)
                e->load_failed = 1;
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(sw_store_reader(store), "SELECT run FROM runs WHERE ended IS NOT NULL", -1, &st,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            if (pairset_add(&e->ended, sqlite3_column_int64(st, 0), 0) != 0)
                e->load_failed = 1;
        sqlite3_finalize(st);
    }
    struct sw_refs *refs = sw_refs_new(e->prof, sw_store_reader(store), INFINITY);
    if (!refs || refs_add(e, e->prof, refs) != 0 || e->load_failed) {
        sw_refs_free(refs);
        sw_engine_free(e);
        return NULL;
    }
    sw_info("engine", "%zu closed spills, %d collector sources and %d open spills loaded", e->closed.n,
            e->nsources, e->nopen);
    return e;
}

void sw_engine_free(struct sw_engine *e)
{
    if (!e)
        return;
    if (e->nopen)
        sw_warn("engine",
                "%d open spill(s) not closed at shutdown: their markers reopen them at the next start, "
                "for the collectors to resend",
                e->nopen);
    for (int i = 0; i < e->nopen; i++)
        spill_free(e->open[i]);
    free(e->open);
    free(e->omap);
    spill_free(e->last_closed);
    free(e->closed.keys);
    free(e->ended.keys);
    free(e->signed_runs);
    free(e->sources);
    for (int i = 0; i < e->nrefsets; i++) {
        sw_refs_free(e->refsets[i].refs);
        sw_profile_unref(e->refsets[i].prof);
    }
    free(e->refsets);
    json_decref(e->meta);
    sw_profile_unref(e->prof);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

/* ---- closing a spill ---- */

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* Publishes the closed spill as a `spill` event: the numbers of the spill listing (rates as
 * GET /api/v1/runs/{run}/spills shows them). Called with e->mu held: one small JSON document. */
static void publish_spill(struct sw_engine *e, const struct sw_spill_rec *rec, const json_t *counters,
                          json_t *reasons)
{
    if (!e->stream)
        return;
    double d = rec->duration;
    json_t *rates = json_object();
    json_object_set_new(rates, "trigger_hz", sw_json_real_or_null(d > 0 ? (double)rec->events / d : NAN));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)counters, key, v)
    {
        char name[80];
        snprintf(name, sizeof name, "%s_hz", key);
        json_object_set_new(rates, name, sw_json_real_or_null(d > 0 ? json_number_value(v) / d : NAN));
    }
    json_t *j = json_pack(
        "{s:I, s:I, s:s, s:O, s:I, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:f}", "run", (json_int_t)rec->run,
        "spill", (json_int_t)rec->spill, "flag", rec->flag, "reasons", reasons, "events",
        (json_int_t)rec->events, "mot", sw_json_count(rec->mot), /* a count, as in the spill listing */
        "dead_time", sw_json_real_or_null(rec->dead_time), "duration", sw_json_real_or_null(d), "complete",
        rec->complete, "rates", rates, "started", sw_json_real_or_null(rec->started), "ended",
        sw_json_real_or_null(rec->ended), "closed_at", sw_wall());
    if (j)
        sw_stream_publish(e->stream, "spill", j);
    json_decref(j);
}

void sw_engine_set_stream(struct sw_engine *e, struct sw_stream *stream)
{
    e->stream = stream;
}

/* Judges the spill, queues its commit, and moves it to last_closed. end is the spill_end record
 * (NULL for a timeout). Called with e->mu held. */
static int close_spill(struct sw_engine *e, struct spill *sp, const struct sw_record *end, const char *source,
                       int64_t seq, struct sw_store_wait *w)
{
    const struct sw_profile *p = sp->prof; /* judged by the profile it was opened with */
    struct sw_refs *refs = refs_of(e, p);
    if (!refs) { /* not expected: refs_prune keeps them while a spill of p is open */
        refs = sw_refs_new(p, sw_store_reader(e->store), INFINITY);
        if (!refs || refs_add(e, sp->prof, refs) != 0)
            return -1;
    }
    struct sw_quality_input in = {
        .run = sp->run,
        .spill = sp->spill,
        .started = isfinite(sp->started) ? sp->started : sp->first_wall,
        .run_meta = sp->run == e->meta_run ? e->meta : NULL,
        .hists = sp->hists,
        .counters = end ? end->counters : NULL,
        .daq_sources = end ? end->daq_sources : NULL,
        .duration = end ? end->duration : NAN,
        .dead_time = end ? end->dead_time : NAN,
        .decode_errors = end ? end->decode_errors : NAN,
        .events = sp->events,
        .unknown_fields = sp->unknown_fields,
        .complete = end != NULL,
        .incomplete_reason = !end && sp->restored ? restart_reason : NULL,
    };
    if (end && !isnan(end->time))
        sp->ended = end->time;
    if (isnan(in.duration) && isfinite(sp->started) && isfinite(sp->ended) && sp->ended >= sp->started)
        in.duration = sp->ended - sp->started;

    struct sw_check_result *res = calloc((size_t)p->nchecks + 1, sizeof *res);
    struct sw_spill_rec *rec = calloc(1, sizeof *rec);
    json_t *reasons = json_array();
    json_t *checks = NULL;
    json_t *triggers = json_object();
    if (!res || !rec || !reasons || !triggers)
        goto oom;
    sw_refs_apply(refs, &in, sw_store_reader(e->store));
    enum sw_state flag = sw_quality_eval(p, &in, res, reasons);
    sw_refs_push(refs, res, flag, &in);
    double mot = sw_quality_counter(&in, p->mot_counter);
    sw_alarms_spill(e->alarms, p, &in, flag, res, sp->run, sp->spill, !(mot < p->beam_min_mot));
    if (isfinite(mot))
        e->last_beam = mot >= p->beam_min_mot;
    checks = sw_quality_results_json(res, p->nchecks);
    for (int t = 0; t < SW_TRIG_N; t++)
        json_object_set_new(triggers, sw_trigger_name(t), json_integer((json_int_t)sp->trig[t]));

    rec->run = sp->run;
    rec->spill = sp->spill;
    rec->started = isfinite(sp->started) ? sp->started : sp->first_wall;
    rec->ended = isfinite(sp->ended) ? sp->ended : sp->last_wall;
    rec->duration = in.duration;
    rec->mot = sw_quality_counter(&in, p->mot_counter);
    rec->dead_time = in.dead_time;
    rec->decode_errors = in.decode_errors;
    rec->events = sp->events;
    rec->unknown_fields = sp->unknown_fields;
    rec->complete = in.complete;
    snprintf(rec->flag, sizeof rec->flag, "%s", sw_state_name(flag));
    snprintf(rec->profile_version, sizeof rec->profile_version, "%s", p->version);
    publish_spill(e, rec, in.counters ? in.counters : NULL, reasons);
    rec->reasons_json = dump(reasons);
    rec->checks_json = dump(checks);
    rec->triggers_json = dump(triggers);
    rec->counters_json = in.counters ? json_dumps(in.counters, JSON_COMPACT) : strdup("{}");
    rec->daq_sources_json = in.daq_sources ? json_dumps(in.daq_sources, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    reasons = checks = triggers = NULL;
    if (source) {
        snprintf(rec->source, sizeof rec->source, "%s", source);
        rec->seq = seq;
    }
    if (!rec->reasons_json || !rec->checks_json || !rec->triggers_json || !rec->counters_json ||
        (in.daq_sources && !rec->daq_sources_json) ||
        sw_hist_encode(sp->hists, p->nhists, &rec->blob, &rec->bloblen) != 0)
        goto oom;
    free(res);
    if (pairset_add(&e->closed, sp->run, sp->spill) != 0 || sw_store_commit_spill(e->store, rec, w) != 0) {
        sw_spill_rec_free(rec);
        return -1;
    }
    atomic_fetch_add(&sw_metrics.spills_closed[flag], 1);
    struct sw_metrics_spill ms = {sp->run,     sp->spill,  mot,  in.dead_time,
                                  in.duration, sp->events, flag, in.counters};
    sw_metrics_spill_closed(&ms);
    if (!end)
        atomic_fetch_add(&sw_metrics.spills_timed_out, 1);
    sw_info("engine", "run %lld spill %lld closed%s: %llu events, flag %s", (long long)sp->run,
            (long long)sp->spill,
            end            ? ""
            : sp->restored ? " by timeout (incomplete: lost in a server restart and not resent)"
                           : " by timeout (incomplete)",
            (unsigned long long)sp->events, sw_state_name(flag));
    remove_open(e, sp);
    spill_free(e->last_closed);
    e->last_closed = sp;
    refs_prune(e);
    return 0;
oom:
    json_decref(reasons);
    json_decref(checks);
    json_decref(triggers);
    free(res);
    sw_spill_rec_free(rec);
    return -1;
}

/* ---- ingest ---- */

/* What a batch does to the open spills, gathered while it is validated (hash sets: a batch of many
 * records stays linear). */
struct batch_spills {
    struct pairset fresh;    /* spills it opens */
    struct pairset ends;     /* spills its spill_end records close */
    struct pairset run_ends; /* (run, 0) of its run_end records */
    int closed_fresh;        /* fresh spills it also closes */
    int closed_src;          /* open spills of its source it closes */
};

static void batch_spills_free(struct batch_spills *bs)
{
    free(bs->fresh.keys);
    free(bs->ends.keys);
    free(bs->run_ends.keys);
}

/* Closed before, or by a spill_end earlier in this batch. */
static int spill_closed(const struct sw_engine *e, int64_t run, int64_t spill, const struct batch_spills *bs)
{
    return pairset_has(&e->closed, run, spill) || pairset_has(&bs->ends, run, spill);
}

/* A collector instance takes or keeps its source. Refused (SW_EHELD) while another instance has
 * sent a batch for it within limits.source_lease seconds and not released it; and when it takes
 * the source over with a seq at or below the last applied one: its numbering did not start from
 * the watermark (it read it before the other instance sent), so that batch is no duplicate of its
 * own and would be dropped as one. instance NULL (a client that names none) is never refused and
 * takes nothing. Engine mutex held. */
static int hold_source(struct sw_engine *e, const char *source, const char *instance, int64_t seq,
                       struct sw_ingest_result *res)
{
    if (!instance || e->cfg->source_lease <= 0)
        return SW_OK;
    double now = sw_mono();
    struct source *src = find_source(e, source);
    if (src && src->instance[0] && strcmp(src->instance, instance) != 0) {
        double idle = now - src->instance_mono;
        int held = !src->released && idle < e->cfg->source_lease;
        if (held || seq <= src->seq) {
            res->status = 409;
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
        sw_warn("engine", "source %s: collector instance %s takes over from %s (%s %.0f s ago)", source,
                instance, src->instance, src->released ? "released" : "last batch", idle);
    }
    if (!src && !(src = add_source(e, source, 0)))
        return SW_ENOMEM;
    snprintf(src->instance, sizeof src->instance, "%s", instance);
    src->instance_mono = now;
    src->released = 0;
    return SW_OK;
}

/* Why a batch cannot open its spills (SW_OK when it can): SW_ETOOBIG (413: the batch alone is
 * beyond a limit, it can never be applied) or SW_ELIMIT (429: beyond it together with the spills
 * already open; Retry-After is when the first of them times out). The memory is that of every
 * spill the batch opens, held at once while it is applied (fresh: how many, each: their size); the
 * counts are those of the spills left open after it (own: of those it opens, stay: in all,
 * stay_src: of its source). src: the batch's source or NULL. Engine mutex held. */
static int open_limits(struct sw_engine *e, const struct source *src, int fresh, size_t each, int own,
                       int stay, int stay_src, const struct sw_record *r, struct sw_ingest_result *res)
{
    const struct sw_config *c = e->cfg;
    double mb = 1024.0 * 1024.0;
    res->line = r->line;
    if (own > c->open_spills_max || (src && own > c->open_spills_per_source) ||
        (size_t)fresh * each > c->open_spill_memory) {
        res->status = 413;
        snprintf(
            res->error, sizeof res->error,
            "line %d: this batch opens more spills than the server keeps open (%d new, %d left open "
            "after it, %.0f kB of histograms each; limits.open_spills_max %d, open_spills_per_source %d, "
            "open_spill_memory %.0f MB); nothing applied: send each spill in batches of its own",
            r->line, fresh, own, (double)each / 1024.0, c->open_spills_max, c->open_spills_per_source,
            (double)c->open_spill_memory / mb);
        return SW_ETOOBIG;
    }
    const char *what = NULL;
    if (stay > c->open_spills_max)
        what = "open_spills_max";
    else if (src && stay_src > c->open_spills_per_source)
        what = "open_spills_per_source";
    else if (e->open_bytes + (size_t)fresh * each > c->open_spill_memory)
        what = "open_spill_memory";
    if (!what)
        return SW_OK;
    double now = sw_mono(), wait = c->spill_timeout;
    int per_source = !strcmp(what, "open_spills_per_source");
    for (int i = 0; i < e->nopen; i++)
        if (!per_source || e->open[i]->src == (int)(src - e->sources))
            wait = fmin(wait, c->spill_timeout - (now - e->open[i]->last_mono));
    res->status = 429;
    res->retry_after = (unsigned)fmax(1, ceil(wait));
    snprintf(res->error, sizeof res->error,
             "line %d: run %lld spill %lld: one open spill too many (%d open, %d of them from this source, "
             "%.0f MB of %.0f MB; limits.%s): nothing applied; resend after Retry-After seconds, when open "
             "spills have ended or timed out",
             r->line, (long long)r->run, (long long)r->spill, e->nopen, src ? src->nopen : 0,
             (double)e->open_bytes / mb, (double)c->open_spill_memory / mb, what);
    return SW_ELIMIT;
}

/* run has ended: a run_end for it, before or earlier in this batch. */
static int run_ended(const struct sw_engine *e, int64_t run, const struct batch_spills *bs)
{
    return pairset_has(&e->ended, run, 0) || pairset_has(&bs->run_ends, run, 0);
}

/* Rows of a batch parsed with the fields `from` laid out as `to` wants them (a spill opened before
 * a profile reload that changed the fields): field by name and width, NaN (missing) otherwise. */
static int same_fields(const struct sw_fields *a, const struct sw_fields *b)
{
    if (a->n != b->n || a->row_width != b->row_width)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (a->width[i] != b->width[i] || a->offset[i] != b->offset[i] || strcmp(a->name[i], b->name[i]) != 0)
            return 0;
    return 1;
}

static void remap_row(const struct sw_fields *from, const double *row, const struct sw_fields *to,
                      double *out)
{
    for (int i = 0; i < to->n; i++) {
        int j = sw_fields_find(from, to->name[i], strlen(to->name[i]));
        for (int k = 0; k < to->width[i]; k++)
            out[to->offset[i] + k] =
                j >= 0 && from->width[j] == to->width[i] ? row[from->offset[j] + k] : NAN;
    }
}

int sw_engine_ingest(struct sw_engine *e, const char *source, const char *instance, int64_t seq,
                     const struct sw_batch *b, const struct sw_fields *fields, struct sw_ingest_result *res,
                     struct sw_store_wait *w)
{
    memset(res, 0, sizeof *res);
    res->status = 200;
    int rc = SW_OK;
    struct spill **fresh = NULL; /* spills this batch opens, allocated before anything is applied */
    int nfresh = 0;
    struct batch_spills bs = {0};
    double *remapped = NULL; /* one row, for spills whose profile has other fields than the batch's */

    pthread_mutex_lock(&e->mu);
    struct source *src = NULL;
    if (source) {
        /* Before the duplicate test: a second collector on the same source id sends seqs the first
         * one sent already, and must hear so, not "duplicate". */
        if ((rc = hold_source(e, source, instance, seq, res)) != SW_OK) {
            if (rc == SW_ENOMEM)
                res->status = 503;
            goto unlock;
        }
        src = find_source(e, source);
        if (src && seq <= src->seq) {
            src->last_mono = sw_mono();
            res->duplicate = 1;
            atomic_fetch_add(&sw_metrics.ingest_duplicates, 1);
            goto unlock;
        }
        /* A collector hands out seq n+1 only once seq n was answered, so a gap means applied batches
         * were lost: a server restart dropped the open spill, and the collector did not notice (its
         * connection broke between two requests). Applying this batch would commit the spill without
         * them; the collector must read the watermark and resend from the first missing batch. */
        if (src && src->watermark && seq > src->seq + 1) {
            rc = SW_EGAP;
            res->status = 503;
            res->resend_from = src->seq + 1;
            snprintf(res->error, sizeof res->error,
                     "seq %lld does not follow the last applied seq %lld of source \"%s\": seq %lld-%lld are "
                     "missing (lost in a server restart?); nothing applied: read GET /api/v1/sources/%s and "
                     "resend from seq %lld",
                     (long long)seq, (long long)src->seq, source, (long long)src->seq + 1, (long long)seq - 1,
                     source, (long long)src->seq + 1);
            goto unlock;
        }
    }

    /* Back-pressure: with the writer behind, refuse before anything is applied. Under the engine
     * mutex, so concurrent batches cannot all slip past the same free slot; the timer thread and
     * human writes may still queue beyond the bound (they are few and must not be lost). */
    if (sw_store_queue_full(e->store)) {
        rc = SW_EFULL;
        res->status = 503;
        res->retry_after = 1;
        snprintf(res->error, sizeof res->error,
                 "writer queue full (%d jobs): nothing applied; resend the same batch with the same seq "
                 "after Retry-After seconds",
                 sw_store_queue_jobs(e->store));
        goto unlock;
    }

    /* Validate against the state: nothing for a closed spill, no run_start for an ended run, no new
     * spill beyond the open-spill limits. */
    fresh = calloc(b->nrecs + 1, sizeof *fresh);
    if (!fresh) {
        rc = SW_ENOMEM;
        goto unlock;
    }
    size_t each_bytes = 0;                /* of a new spill, computed at the first one */
    const struct sw_record *first = NULL; /* the first record of a new spill, named by a refusal */
    if (source && !(src = add_source(e, source, 0))) {
        rc = SW_ENOMEM;
        goto unlock;
    }
    for (size_t i = 0; i < b->nrecs; i++) {
        const struct sw_record *r = &b->recs[i];
        if (r->type == SW_REC_RUN_END && pairset_add(&bs.run_ends, r->run, 0) != 0) {
            rc = SW_ENOMEM;
            goto unlock;
        }
        if (r->type == SW_REC_RUN_START && !r->resume && run_ended(e, r->run, &bs)) {
            refused_for_good(e, res, r->line, source, seq);
            snprintf(res->error, sizeof res->error,
                     "line %d: run %lld has ended (a run_end was received): a run_start for it must say "
                     "\"resume\": true when the DAQ goes on with the run; nothing in this batch applied",
                     r->line, (long long)r->run);
            rc = SW_ECONFLICT;
            goto unlock;
        }
        if (r->spill < 0)
            continue;
        if (spill_closed(e, r->run, r->spill, &bs)) {
            uint64_t late = 0;
            for (size_t k = 0; k < b->nrecs; k++)
                if (b->recs[k].run == r->run && b->recs[k].spill == r->spill &&
                    b->recs[k].type == SW_REC_EVENTS)
                    late += b->recs[k].nevents;
            atomic_fetch_add(&sw_metrics.late_records, 1);
            atomic_fetch_add(&sw_metrics.late_events, late);
            refused_for_good(e, res, r->line, source, seq);
            snprintf(res->error, sizeof res->error,
                     "line %d: run %lld spill %lld is already closed; %llu late events "
                     "rejected, nothing in this batch applied",
                     r->line, (long long)r->run, (long long)r->spill, (unsigned long long)late);
            rc = SW_ECLOSED;
            goto unlock;
        }
        struct spill *sp = find_open(e, r->run, r->spill);
        int open = sp != NULL;
        if (!open && is_signed(e, r->run)) {
            /* Certified data does not change: refused for good, like late data. */
            refused_for_good(e, res, r->line, source, seq);
            snprintf(res->error, sizeof res->error,
                     "line %d: run %lld is signed off: no new spills (a shifter re-opens it first: POST "
                     "/api/v1/runs/%lld/reopen); nothing in this batch applied",
                     r->line, (long long)r->run, (long long)r->run);
            rc = SW_ECLOSED;
            goto unlock;
        }
        int is_fresh = !open && pairset_has(&bs.fresh, r->run, r->spill);
        if (!open && !is_fresh) {
            if (!each_bytes)
                each_bytes = spill_bytes(e->prof);
            if (!first)
                first = r;
            /* The memory limit before the allocation; the counts once the batch is read whole. */
            if (e->open_bytes + (size_t)(nfresh + 1) * each_bytes > e->cfg->open_spill_memory &&
                (rc = open_limits(e, src, nfresh + 1, each_bytes, 0, 0, 0, r, res)) != SW_OK)
                goto unlock;
            if (pairset_add(&bs.fresh, r->run, r->spill) != 0 ||
                !(fresh[nfresh] = spill_new(e->prof, r->run, r->spill))) {
                rc = SW_ENOMEM;
                goto unlock;
            }
            fresh[nfresh++]->src = src ? (int)(src - e->sources) : -1;
            is_fresh = 1;
            /* More of its own spills open at once than a limit allows: refused now, before it
             * allocates more (a body of 20,000 spill_start lines stops at the 65th). */
            int own = nfresh - bs.closed_fresh;
            if ((own > e->cfg->open_spills_max || (src && own > e->cfg->open_spills_per_source)) &&
                (rc = open_limits(e, src, nfresh, each_bytes, own, 0, 0, r, res)) != SW_OK)
                goto unlock;
        }
        if (r->type == SW_REC_SPILL_END) {
            if (pairset_add(&bs.ends, r->run, r->spill) != 0) {
                rc = SW_ENOMEM;
                goto unlock;
            }
            if (is_fresh)
                bs.closed_fresh++;
            else if (src && sp->src == (int)(src - e->sources))
                bs.closed_src++;
        }
    }
    if (first) {
        int stay = e->nopen + nfresh - (int)bs.ends.n;
        int stay_src = src ? src->nopen - bs.closed_src + nfresh - bs.closed_fresh : 0;
        if ((rc = open_limits(e, src, nfresh, each_bytes, nfresh - bs.closed_fresh, stay, stay_src, first,
                              res)) != SW_OK)
            goto unlock;
    }
    /* The batch was parsed with the fields of the profile current when it arrived; a spill opened
     * with another profile (before or after a reload) gets its rows laid out anew. */
    int rw = 0;
    for (int k = 0; fields && k < e->nopen; k++)
        if (!same_fields(fields, &e->open[k]->prof->fields) && e->open[k]->prof->fields.row_width > rw)
            rw = e->open[k]->prof->fields.row_width;
    for (int k = 0; fields && k < nfresh; k++)
        if (!same_fields(fields, &fresh[k]->prof->fields) && fresh[k]->prof->fields.row_width > rw)
            rw = fresh[k]->prof->fields.row_width;
    if (rw > 0 && !(remapped = malloc((size_t)rw * sizeof *remapped))) {
        rc = SW_ENOMEM;
        goto unlock;
    }
    for (int k = 0; k < nfresh; k++) {
        if (add_open(e, fresh[k]) != 0) {
            rc = SW_ENOMEM;
            goto unlock;
        }
        /* The run gets its row at its first spill even without run_start, so listings show it live;
         * with it goes the marker that reopens the spill after a restart. Not awaited. */
        sw_store_open_spill(e->store, fresh[k]->run, fresh[k]->spill, source, seq, fresh[k]->first_wall);
        fresh[k] = NULL;
    }

    /* Apply: from here on nothing fails but a commit. */
    double now = sw_wall(), mono = sw_mono();
    for (size_t i = 0; i < b->nrecs; i++) {
        const struct sw_record *r = &b->recs[i];
        struct spill *sp = r->spill >= 0 ? find_open(e, r->run, r->spill) : NULL;
        if (sp) {
            sp->last_wall = now;
            sp->last_mono = mono;
            sp->restored = 0;
        }
        e->last_data = now;
        if (r->type == SW_REC_RUN_START)
            pairset_del(&e->ended, r->run, 0); /* a new run, or one the DAQ resumes */
        /* A late run_end of an older run does not end the current one; late data of an ended run
         * does not make it active again. */
        if (r->type == SW_REC_RUN_END ? r->run == e->last_run : !pairset_has(&e->ended, r->run, 0)) {
            e->run_active = r->type != SW_REC_RUN_END;
            e->last_run = r->run;
        }
        switch (r->type) {
        case SW_REC_RUN_START: {
            if (r->resume)
                sw_info("engine", "run %lld: run_start with resume", (long long)r->run);
            json_decref(e->meta);
            e->meta = json_incref(r->meta);
            e->meta_run = r->run;
            char *meta = r->meta ? json_dumps(r->meta, JSON_COMPACT) : NULL;
            /* Awaited like spill commits: once the request answers, readers see the run record. */
            if (sw_store_run_start(e->store, r->run, r->time, meta, r->resume, w) != 0)
                free(meta);
            break;
        }
        case SW_REC_RUN_END:
            if (pairset_add(&e->ended, r->run, 0) != 0)
                sw_warn("engine", "run %lld: out of memory noting its end: a run_start for it is not refused",
                        (long long)r->run);
            sw_store_run_end(e->store, r->run, isnan(r->time) ? now : r->time, w);
            break;
        case SW_REC_SPILL_START:
            if (isnan(sp->started) && !isnan(r->time))
                sp->started = r->time;
            break;
        case SW_REC_EVENTS: {
            if (isnan(sp->started) && !isnan(r->time))
                sp->started = r->time;
            const struct sw_profile *p = sp->prof;
            int remap = fields && !same_fields(fields, &p->fields);
            for (size_t k = r->first; k < r->first + r->nevents; k++) {
                const double *row = b->rows + k * (size_t)b->row_width;
                int trig = b->trigger[k];
                if (remap) {
                    remap_row(fields, row, &p->fields, remapped);
                    row = remapped;
                }
                for (int h = 0; h < p->nhists; h++)
                    sw_hist_fill(&sp->hists[h], row, trig);
                sp->trig[trig]++;
                e->triggers[trig]++;
            }
            sp->events += r->nevents;
            sp->unknown_fields += r->unknown_fields;
            res->events += r->nevents;
            break;
        }
        case SW_REC_SPILL_END:
            if (close_spill(e, sp, r, source, seq, w) != 0) {
                rc = SW_EDB;
                res->status = 503;
                snprintf(res->error, sizeof res->error, "line %d: run %lld spill %lld could not be stored",
                         r->line, (long long)r->run, (long long)r->spill);
            } else
                res->spills_closed++;
            break;
        }
        res->records++;
    }
    if (source && (src = add_source(e, source, seq))) {
        src->seq = seq;
        src->watermark = 1;
        src->last_mono = mono;
    }
    atomic_fetch_add(&sw_metrics.events, res->events);
    atomic_fetch_add(&sw_metrics.records, res->records);
unlock:
    pthread_mutex_unlock(&e->mu);
    free(remapped);
    for (int k = 0; fresh && k < nfresh; k++)
        spill_free(fresh[k]);
    free(fresh);
    batch_spills_free(&bs);
    return rc;
}

int sw_engine_ingest_finish(struct sw_engine *e, const char *source, int64_t seq, int rc,
                            struct sw_ingest_result *res, struct sw_store_wait *w)
{
    struct source *src;
    if (sw_store_wait_all(w) > 0 && rc == SW_OK) {
        rc = SW_EDB;
        res->status = 503;
        snprintf(res->error, sizeof res->error, "a spill or run record of this batch could not be committed");
    } else if (rc == SW_OK && source && res->spills_closed > 0) {
        /* The watermark went to disk with the spill(s) this batch closed. */
        pthread_mutex_lock(&e->mu);
        if ((src = find_source(e, source)) && src->committed_seq < seq)
            src->committed_seq = seq;
        pthread_mutex_unlock(&e->mu);
    }
    if (rc == SW_ENOMEM) {
        res->status = 503;
        snprintf(res->error, sizeof res->error, "out of memory; nothing applied");
    }
    return rc;
}

void sw_engine_tick(struct sw_engine *e)
{
    /* While the store refuses ingest (a failing disk, its reserve reached, the writer's queue full),
     * the collectors are told to wait: that time counts towards no spill's timeout either. */
    int held = sw_store_state(e->store, NULL, 0, NULL) != SW_STORE_OK || sw_store_queue_full(e->store);
    pthread_mutex_lock(&e->mu);
    double now = sw_mono(), gap = now - e->last_tick;
    e->last_tick = now;
    if (held) {
        for (int i = 0; i < e->nopen; i++)
            e->open[i]->last_mono += gap;
        e->grace_until = now + SW_HOLD_GRACE; /* and the refused batches come back first */
        if (!e->holding && e->nopen)
            sw_warn("engine",
                    "the store refuses ingest: the timeouts of %d open spill(s) stand still meanwhile",
                    e->nopen);
        e->holding = 1;
        pthread_mutex_unlock(&e->mu);
        return;
    }
    e->holding = 0;
    if (gap > SW_TICK_LATE) {
        /* The process was paused (SIGSTOP, a frozen VM) or starved: no data could arrive meanwhile,
         * so that time does not count towards a timeout, and the batches queued on the connections
         * are read before anything times out. */
        double paused = gap - SW_TICK;
        for (int i = 0; i < e->nopen; i++)
            e->open[i]->last_mono += paused;
        e->grace_until = now + SW_TICK_GRACE;
        if (e->nopen)
            sw_warn("engine",
                    "the timer ran %.1f s late (the server was paused or starved): the timeouts of %d open "
                    "spill(s) do not count that time, and none closes in the next %g s",
                    paused, e->nopen, SW_TICK_GRACE);
    }
    for (int i = e->nopen - 1; i >= 0 && now >= e->grace_until; i--) {
        struct spill *sp = e->open[i];
        if (now - sp->last_mono >= e->cfg->spill_timeout && close_spill(e, sp, NULL, NULL, 0, NULL) != 0)
            sw_error("engine", "run %lld spill %lld: timeout close failed", (long long)sp->run,
                     (long long)sp->spill);
    }
    pthread_mutex_unlock(&e->mu);
}

/* ---- profile reload ---- */

void sw_engine_rebaseline(struct sw_engine *e, int64_t run)
{
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->nrefsets; i++)
        sw_refs_forget(e->refsets[i].refs, run);
    pthread_mutex_unlock(&e->mu);
}

int sw_engine_set_profile(struct sw_engine *e, struct sw_profile *p, struct sw_refs *refs)
{
    pthread_mutex_lock(&e->mu);
    int rc = refs_add(e, p, refs);
    if (rc == 0) {
        sw_profile_unref(e->prof);
        e->prof = sw_profile_ref(p);
        refs_prune(e);
    }
    pthread_mutex_unlock(&e->mu);
    return rc == 0 ? SW_OK : SW_ENOMEM;
}

int sw_engine_open_with_older(struct sw_engine *e)
{
    pthread_mutex_lock(&e->mu);
    int n = 0;
    for (int i = 0; i < e->nopen; i++)
        n += e->open[i]->prof != e->prof;
    pthread_mutex_unlock(&e->mu);
    return n;
}

/* ---- views ---- */

static struct spill *live_spill(struct sw_engine *e, int *open)
{
    struct spill *best = NULL;
    for (int i = 0; i < e->nopen; i++)
        if (!best || e->open[i]->last_mono > best->last_mono)
            best = e->open[i];
    *open = best != NULL;
    return best ? best : e->last_closed;
}

json_t *sw_engine_live_hist(struct sw_engine *e, const char *name)
{
    pthread_mutex_lock(&e->mu);
    int open = 0;
    struct spill *sp = live_spill(e, &open);
    /* The live spill shows the histograms of the profile it was opened with. */
    int h = sp ? sw_profile_find_hist(sp->prof, name) : -1;
    json_t *j;
    if (h >= 0) {
        j = sw_hist_to_json(&sp->hists[h]);
        if (j)
            json_object_update_new(j, json_pack("{s:s, s:I, s:I, s:b}", "scope", "live", "run",
                                                (json_int_t)sp->run, "spill", (json_int_t)sp->spill, "open",
                                                open));
    } else if ((h = sw_profile_find_hist(e->prof, name)) < 0)
        j = NULL;
    else { /* no spill yet, or the live spill's (older) profile lacks it: empty */
        struct sw_hist empty;
        j = NULL;
        if (sw_hist_init(&empty, &e->prof->hists[h]) == 0) {
            j = sw_hist_to_json(&empty);
            sw_hist_release(&empty);
        }
        if (j)
            json_object_update_new(
                j, json_pack("{s:s, s:n, s:n, s:b}", "scope", "live", "run", "spill", "open", 0));
    }
    pthread_mutex_unlock(&e->mu);
    return j;
}

json_t *sw_engine_run_live(struct sw_engine *e, int64_t run)
{
    json_t *j = NULL;
    pthread_mutex_lock(&e->mu);
    struct spill *best = NULL;
    for (int i = 0; i < e->nopen; i++)
        if (e->open[i]->run == run && (!best || e->open[i]->last_mono > best->last_mono))
            best = e->open[i];
    if (best)
        j = json_pack("{s:I, s:I, s:o, s:f}", "spill", (json_int_t)best->spill, "events",
                      (json_int_t)best->events, "started",
                      sw_json_real_or_null(isfinite(best->started) ? best->started : best->first_wall),
                      "last_data", best->last_wall);
    pthread_mutex_unlock(&e->mu);
    return j;
}

int64_t sw_engine_source_seq(struct sw_engine *e, const char *source)
{
    pthread_mutex_lock(&e->mu);
    struct source *s = find_source(e, source);
    int64_t seq = s && s->seq > 0 ? s->seq : -1;
    pthread_mutex_unlock(&e->mu);
    return seq;
}

double sw_engine_source_holder(struct sw_engine *e, const char *source, char *out)
{
    pthread_mutex_lock(&e->mu);
    struct source *s = find_source(e, source);
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
    struct source *s = find_source(e, source);
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
    struct source *s = add_source(e, source, 0);
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

void sw_engine_open_runs(struct sw_engine *e, json_t *arr)
{
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->nopen; i++)
        json_array_append_new(arr, json_integer((json_int_t)e->open[i]->run));
    pthread_mutex_unlock(&e->mu);
}

void sw_engine_live(struct sw_engine *e, struct sw_live *l)
{
    pthread_mutex_lock(&e->mu);
    int open = 0;
    struct spill *sp = live_spill(e, &open);
    *l = (struct sw_live){.now = sw_wall(),
                          .mono = sw_mono(),
                          .in_spill = open,
                          .last_data = e->last_data,
                          .run_active = e->run_active,
                          .beam = e->last_beam,
                          .run = sp ? sp->run : -1,
                          .spill = sp ? sp->spill : -1,
                          .spill_events = sp ? sp->events : 0};
    memcpy(l->triggers, e->triggers, sizeof l->triggers);
    pthread_mutex_unlock(&e->mu);
}
