/* engine.c — see engine.h; the engine's parts and how they call each other: engine_impl.h */
#include "engine.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "alarms.h"
#include "clock.h"
#include "err.h"
#include "prefill.h"
#include "jsonnum.h"
#include "log.h"
#include "metrics.h"
#include "engine_impl.h"
#include "judge.h"
#include "refs.h"
#include "sources.h"
#include "spills.h"

/* ---- start-up and shutdown ---- */

/* An open-spill marker of a spill that is not committed (sw_store_each_open_spill leaves the
 * committed ones out): the spill was open when the server stopped (or crashed). It is open again,
 * empty, with its timeout clock started now: the collector resends it, or it times out. */
static void load_open_cb(void *ctx, int64_t run, int64_t spill, const char *source, int64_t seq,
                         double opened)
{
    struct sw_engine *e = ctx;
    if (source && seq > 0)
        eng_source_marker(e, source, seq);
    if (eng_find_open(e, run, spill))
        return;
    struct spill *sp = eng_spill_new(e->prof, run, spill);
    if (!sp || eng_add_open(e, sp) != 0) {
        eng_spill_free(sp);
        e->load_failed = 1;
        return;
    }
    sp->first_wall = sp->last_wall = opened;
    sp->restored = 1;
    struct source *s = source ? eng_source_find(e, source) : NULL;
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
    eng_source_load(ctx, name, seq);
}

/* What a (re)started server knows from the database: the collectors' watermarks, the spills that
 * were open, the signed-off and the ended runs. 0, or -1 (e->load_failed). */
static int load_state(struct sw_engine *e)
{
    if (sw_store_each_source(e->store, load_source_cb, e) != 0 ||
        sw_store_each_open_spill(e->store, load_open_cb, e) != 0 || e->load_failed)
        return -1;
    sw_stmt *st;
    if (sw_sql_prepare(sw_store_reader(e->store), "SELECT run FROM signoffs", -1, &st, NULL) == SW_SQL_OK) {
        while (sw_sql_step(st) == SW_SQL_ROW)
            if (eng_set_signed(e, sw_sql_column_int64(st, 0), 1) != 0)
                e->load_failed = 1;
        sw_sql_finalize(st);
    }
    if (sw_sql_prepare(sw_store_reader(e->store), "SELECT run FROM runs WHERE ended IS NOT NULL", -1, &st,
                       NULL) == SW_SQL_OK) {
        while (sw_sql_step(st) == SW_SQL_ROW)
            if (eng_pairset_add(&e->ended, sw_sql_column_int64(st, 0), 0) != 0)
                e->load_failed = 1;
        sw_sql_finalize(st);
    }
    return e->load_failed ? -1 : 0;
}

int sw_engine_promote(struct sw_engine *e)
{
    struct sw_refs *refs = sw_refs_new(e->prof, sw_store_reader(e->store), INFINITY);
    if (!refs)
        return -1;
    pthread_mutex_lock(&e->mu);
    /* the baselines learnt while another server was active are in the database, not here */
    for (int i = 0; i < e->nrefsets; i++) {
        sw_refs_free(e->refsets[i].refs);
        sw_profile_unref(e->refsets[i].prof);
    }
    e->nrefsets = 0;
    int rc = eng_refs_add(e, e->prof, refs) == 0 && load_state(e) == 0 ? 0 : -1;
    if (rc == 0)
        sw_info("engine", "active now: %d collector sources and %d open spills loaded", e->nsources,
                e->nopen);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

struct sw_engine *sw_engine_new(const struct sw_config *cfg, struct sw_profile *prof, struct sw_store *store,
                                struct sw_alarms *alarms, int standby)
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
    pthread_mutex_init(&e->closed_mu, NULL);
    /* The stored spills are not loaded: whether a spill is closed is asked of the database when a
     * batch would open it (eng_spill_closed), so start-up and memory do not grow with the history. */
    sw_store_on_spill_committed(store, eng_spill_committed, e);
    if (!standby && load_state(e) != 0) {
        sw_engine_free(e);
        return NULL;
    }
    struct sw_refs *refs = sw_refs_new(e->prof, sw_store_reader(store), INFINITY);
    if (!refs || eng_refs_add(e, e->prof, refs) != 0 || e->load_failed) {
        sw_refs_free(refs);
        sw_engine_free(e);
        return NULL;
    }
    if (standby)
        sw_info("engine", "standby: the collectors' state is loaded when this server becomes the active one");
    else
        sw_info("engine", "%d collector sources and %d open spills loaded", e->nsources, e->nopen);
    return e;
}

void sw_engine_free(struct sw_engine *e)
{
    if (!e)
        return;
    sw_store_on_spill_committed(e->store, NULL, NULL); /* the writer may still commit spills */
    if (e->nopen)
        sw_warn("engine",
                "%d open spill(s) not closed at shutdown: their markers reopen them at the next start, "
                "for the collectors to resend",
                e->nopen);
    for (int i = 0; i < e->nopen; i++)
        eng_spill_free(e->open[i]);
    free(e->open);
    free(e->omap);
    eng_spill_free(e->last_closed);
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
    pthread_mutex_destroy(&e->closed_mu);
    free(e);
}

void sw_engine_set_stream(struct sw_engine *e, struct sw_stream *stream)
{
    e->stream = stream;
}

/* ---- ingest ---- */

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
                     const struct sw_batch *b, const struct sw_fields *fields, const struct sw_prefill *pre,
                     struct sw_ingest_result *res, struct sw_store_wait *w)
{
    size_t prefilled_end = 0; /* records before this one had their fills added with their part */
    memset(res, 0, sizeof *res);
    struct eng_admission a = {0}; /* the spills this batch opens, allocated before anything is applied */
    double *remapped = NULL;      /* one row, for spills whose profile has other fields than the batch's */

    pthread_mutex_lock(&e->mu);
    struct source *src;
    int rc = eng_admit(e, source, instance, seq, b, res, &a);
    if (rc != SW_OK || res->duplicate)
        goto unlock;
    /* The batch was parsed with the fields of the profile current when it arrived; a spill opened
     * with another profile (before or after a reload) gets its rows laid out anew. */
    int rw = 0;
    for (int k = 0; fields && k < e->nopen; k++)
        if (!same_fields(fields, &e->open[k]->prof->fields) && e->open[k]->prof->fields.row_width > rw)
            rw = e->open[k]->prof->fields.row_width;
    for (int k = 0; fields && k < a.nfresh; k++)
        if (!same_fields(fields, &a.fresh[k]->prof->fields) && a.fresh[k]->prof->fields.row_width > rw)
            rw = a.fresh[k]->prof->fields.row_width;
    if (rw > 0 && !(remapped = malloc((size_t)rw * sizeof *remapped))) {
        rc = SW_ENOMEM;
        goto unlock;
    }
    for (int k = 0; k < a.nfresh; k++) {
        if (eng_add_open(e, a.fresh[k]) != 0) {
            rc = SW_ENOMEM;
            goto unlock;
        }
        /* The run gets its row at its first spill even without run_start, so listings show it live;
         * with it goes the marker that reopens the spill after a restart. Not awaited. */
        sw_store_open_spill(e->store, a.fresh[k]->run, a.fresh[k]->spill, source, seq,
                            a.fresh[k]->first_wall);
        a.fresh[k] = NULL;
    }

    /* Apply: from here on nothing fails but a commit. */
    double now = sw_wall(), mono = sw_mono();
    for (size_t i = 0; i < b->nrecs; i++) {
        const struct sw_record *r = &b->recs[i];
        struct spill *sp = r->spill >= 0 ? eng_find_open(e, r->run, r->spill) : NULL;
        if (sp) {
            sp->last_wall = now;
            sp->last_mono = mono;
            sp->restored = 0;
        }
        e->last_data = now;
        if (r->type == SW_REC_RUN_START)
            eng_pairset_del(&e->ended, r->run, 0); /* a new run, or one the DAQ resumes */
        /* A late run_end of an older run does not end the current one; late data of an ended run
         * does not make it active again. */
        if (r->type == SW_REC_RUN_END ? r->run == e->last_run : !eng_pairset_has(&e->ended, r->run, 0)) {
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
            if (eng_pairset_add(&e->ended, r->run, 0) != 0)
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
            const struct sw_prefill_part *part = pre && pre->prof == p ? sw_prefill_part(pre, i) : NULL;
            if (part) { /* this record and the next ones of the part: filled outside the mutex */
                for (int h = 0; h < p->nhists; h++)
                    sw_hist_add(&sp->hists[h], &part->hists[h]);
                for (int t = 0; t < SW_TRIG_N; t++) {
                    sp->trig[t] += part->trig[t];
                    e->triggers[t] += part->trig[t];
                }
                prefilled_end = part->rec_end;
            }
            int remap = fields && !same_fields(fields, &p->fields);
            for (size_t k = r->first; i >= prefilled_end && k < r->first + r->nevents; k++) {
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
            if (eng_close_spill(e, sp, r, source, seq, w) != 0) {
                rc = SW_EDB;
                snprintf(res->error, sizeof res->error, "line %d: run %lld spill %lld could not be stored",
                         r->line, (long long)r->run, (long long)r->spill);
            } else
                res->spills_closed++;
            break;
        }
        res->records++;
    }
    if (source && (src = eng_source_add(e, source, seq))) {
        src->seq = seq;
        src->watermark = 1;
        src->last_mono = mono;
    }
    atomic_fetch_add(&sw_metrics.events, res->events);
    atomic_fetch_add(&sw_metrics.records, res->records);
unlock:
    pthread_mutex_unlock(&e->mu);
    free(remapped);
    eng_admit_release(&a);
    return rc;
}

int sw_engine_ingest_finish(struct sw_engine *e, const char *source, int64_t seq, int rc,
                            struct sw_ingest_result *res, struct sw_store_wait *w)
{
    if (sw_store_wait_all(w) > 0 && rc == SW_OK) {
        rc = SW_EDB;
        snprintf(res->error, sizeof res->error, "a spill or run record of this batch could not be committed");
    } else if (rc == SW_OK && source && res->spills_closed > 0) {
        eng_source_committed(e, source, seq); /* the watermark went to disk with the spill(s) */
    }
    if (rc == SW_ENOMEM) {
        snprintf(res->error, sizeof res->error, "out of memory; nothing applied");
    }
    return rc;
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
    int rc = eng_refs_add(e, p, refs);
    if (rc == 0) {
        sw_profile_unref(e->prof);
        e->prof = sw_profile_ref(p);
        eng_refs_prune(e);
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

/* conv of histogram h of the live spill sp, or of an empty one of e's profile (h of e->prof). */
static json_t *live_conv(struct sw_engine *e, struct spill *sp, int h,
                         json_t *(*conv)(const struct sw_hist *))
{
    if (sp)
        return conv(&sp->hists[h]);
    struct sw_hist empty;
    json_t *j = NULL;
    if (sw_hist_init(&empty, &e->prof->hists[h]) == 0) {
        j = conv(&empty);
        sw_hist_release(&empty);
    }
    return j;
}

json_t *sw_engine_live_hist_as(struct sw_engine *e, const char *name, json_t *(*conv)(const struct sw_hist *),
                               int64_t *run, int64_t *spill)
{
    pthread_mutex_lock(&e->mu);
    int open = 0, h = -1;
    struct spill *sp = live_spill(e, &open);
    json_t *j = NULL;
    *run = sp ? sp->run : -1;
    *spill = sp ? sp->spill : -1;
    if (!name) { /* every histogram, of one spill */
        const struct sw_profile *p = sp ? sp->prof : e->prof;
        j = json_array();
        for (int i = 0; j && i < p->nhists; i++)
            json_array_append_new(j, live_conv(e, sp, i, conv));
    } else if (sp && (h = sw_profile_find_hist(sp->prof, name)) >= 0)
        j = live_conv(e, sp, h, conv);
    else if ((h = sw_profile_find_hist(e->prof, name)) >= 0)
        j = live_conv(e, NULL, h, conv); /* no spill yet, or the live spill's (older) profile lacks it */
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
