/* refs.c — see refs.h */
#include "refs.h"
#include "sqlq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct window {
    double *v; /* ring of rolling_n values */
    int n, pos;
};

/* A baseline window: a ring of the newest base_n healthy values with the spill each came from. */
struct base {
    double *v;
    int64_t *run, *spill;
    int n, pos;
};

struct sw_refs {
    const struct sw_profile *p;
    double before; /* own-run values are read from spills closed before this */
    int has_run;   /* the baselines are those of run `run` */
    int64_t run;
    json_t *run_meta;          /* owned: the meta read for `run` from the database, or NULL */
    int64_t reset_from;        /* a shifter's reset of `run`'s baselines at this spill, 0 = none */
    int reset_done;            /* the windows were emptied for it */
    struct base *base;         /* per check (baseline checks only) */
    struct sw_baseline *views; /* per check: what sw_refs_apply hands to the checks */
    struct window *win;        /* per check (rolling checks only) */
    double *values;            /* per check */
    struct sw_hist *hists;     /* per check (run checks only; def NULL otherwise) */
    const struct sw_hist **hist_ptrs;
    double *scratch;
};

static void win_push(struct window *w, int cap, double v)
{
    w->v[w->pos] = v;
    w->pos = (w->pos + 1) % cap;
    if (w->n < cap)
        w->n++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void load_window(sw_sql *db, const struct sw_check_def *c, struct window *w, double before)
{
    sw_stmt *st;
    if (!db ||
        sw_sql_prepare(db,
                       "SELECT c.raw FROM checks c JOIN spills s ON s.run = c.run AND s.spill = c.spill "
                       "WHERE c.name = ?1 AND s.flag = 'GOOD' AND s.closed_at < ?2 AND c.raw IS NOT NULL "
                       "ORDER BY s.closed_at DESC LIMIT ?3",
                       -1, &st, NULL) != SW_SQL_OK)
        return;
    sw_sql_bind_text(st, 1, c->name, -1, SW_SQL_STATIC);
    sw_sql_bind_double(st, 2, isfinite(before) ? before : 1e300);
    sw_sql_bind_int(st, 3, c->rolling_n);
    double tmp[1000];
    int n = 0;
    while (n < c->rolling_n && sw_sql_step(st) == SW_SQL_ROW)
        tmp[n++] = sw_sql_column_double(st, 0);
    sw_sql_finalize(st);
    for (int i = n - 1; i >= 0; i--) /* oldest first, so the ring keeps the newest */
        win_push(w, c->rolling_n, tmp[i]);
}

static void load_run(sw_sql *db, const struct sw_check_def *c, struct sw_hist *h)
{
    sw_stmt *st;
    if (!db || sw_sql_prepare(db,
                              "SELECT h.blob FROM spill_hists h JOIN spills s ON s.run = h.run AND s.spill = "
                              "h.spill " SPILL_MANUAL_JOIN "WHERE s.run = ?1 AND " EFFECTIVE_FLAG " = 'GOOD'",
                              -1, &st, NULL) != SW_SQL_OK)
        return;
    sw_sql_bind_int64(st, 1, c->ref_run);
    while (sw_sql_step(st) == SW_SQL_ROW)
        sw_hist_decode_add(sw_sql_column_blob(st, 0), (size_t)sw_sql_column_bytes(st, 0), h);
    sw_sql_finalize(st);
    /* Spills of the run whose histograms retention pruned (a run that became a reference later)
     * are in the run's GOOD sum (retention.h). */
    if (sw_sql_prepare(db, "SELECT blob FROM run_hists WHERE run = ?1 AND quality = 'good'", -1, &st, NULL) !=
        SW_SQL_OK)
        return;
    sw_sql_bind_int64(st, 1, c->ref_run);
    if (sw_sql_step(st) == SW_SQL_ROW)
        sw_hist_decode_add(sw_sql_column_blob(st, 0), (size_t)sw_sql_column_bytes(st, 0), h);
    sw_sql_finalize(st);
}

struct sw_refs *sw_refs_new(const struct sw_profile *p, sw_sql *db, double before)
{
    int n = p->nchecks;
    struct sw_refs *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->p = p;
    r->win = calloc((size_t)n + 1, sizeof *r->win);
    r->values = calloc((size_t)n + 1, sizeof *r->values);
    r->hists = calloc((size_t)n + 1, sizeof *r->hists);
    r->hist_ptrs = calloc((size_t)n + 1, sizeof *r->hist_ptrs);
    r->scratch = calloc(2002, sizeof *r->scratch);
    r->before = before;
    r->base = calloc((size_t)n + 1, sizeof *r->base);
    r->views = calloc((size_t)n + 1, sizeof *r->views);
    if (!r->win || !r->values || !r->hists || !r->hist_ptrs || !r->scratch || !r->base || !r->views)
        goto oom;
    for (int i = 0; i < n; i++) {
        const struct sw_check_def *c = &p->checks[i];
        r->values[i] = NAN;
        if (c->ref_kind == SW_REF_ROLLING) {
            if (!(r->win[i].v = calloc((size_t)c->rolling_n, sizeof(double))))
                goto oom;
            load_window(db, c, &r->win[i], before);
        } else if (c->ref_kind == SW_REF_BASELINE) {
            struct base *b = &r->base[i];
            b->v = calloc((size_t)c->base_n, sizeof *b->v);
            b->run = calloc((size_t)c->base_n, sizeof *b->run);
            b->spill = calloc((size_t)c->base_n, sizeof *b->spill);
            if (!b->v || !b->run || !b->spill)
                goto oom;
        } else if (c->ref_kind == SW_REF_RUN) {
            if (sw_hist_init(&r->hists[i], &p->hists[c->hist]) != 0)
                goto oom;
            load_run(db, c, &r->hists[i]);
            r->hist_ptrs[i] = &r->hists[i];
            r->values[i] = sw_quality_hist_stat(c, &r->hists[i]);
        }
    }
    return r;
oom:
    sw_refs_free(r);
    return NULL;
}

void sw_refs_free(struct sw_refs *r)
{
    if (!r)
        return;
    for (int i = 0; r->win && i < r->p->nchecks; i++)
        free(r->win[i].v);
    for (int i = 0; r->hists && i < r->p->nchecks; i++)
        sw_hist_release(&r->hists[i]);
    for (int i = 0; r->base && i < r->p->nchecks; i++) {
        free(r->base[i].v);
        free(r->base[i].run);
        free(r->base[i].spill);
    }
    free(r->base);
    free(r->views);
    json_decref(r->run_meta);
    free(r->win);
    free(r->values);
    free(r->hists);
    free(r->hist_ptrs);
    free(r->scratch);
    free(r);
}

static void base_push(struct base *b, int cap, double v, int64_t run, int64_t spill)
{
    b->v[b->pos] = v;
    b->run[b->pos] = run;
    b->spill[b->pos] = spill;
    b->pos = (b->pos + 1) % cap;
    if (b->n < cap)
        b->n++;
}

/* 1 when the candidate's meta b has the same value as the run's meta a for every key in mask. A run
 * whose meta lacks one of the keys matches nothing: nothing says it is like another. */
static int meta_matches(const struct sw_profile *p, unsigned mask, json_t *a, json_t *b)
{
    for (int k = 0; k < p->nconditions; k++) {
        if (!(mask & (1u << k)))
            continue;
        json_t *x = a ? json_object_get(a, p->conditions[k]) : NULL;
        json_t *y = b ? json_object_get(b, p->conditions[k]) : NULL;
        if (!x || !y || !json_equal(x, y))
            return 0;
    }
    return mask != 0;
}

/* Appends to b the check's healthy values of run `run` (newest last): at most cap, from complete
 * spills whose check was GOOD, closed before `before`. */
static void load_values(sw_sql *db, const struct sw_check_def *c, struct base *b, int64_t run, double before,
                        int64_t min_spill)
{
    sw_stmt *st;
    if (sw_sql_prepare(
            db,
            "SELECT c.raw, c.spill FROM checks c JOIN spills s ON s.run = c.run AND s.spill = c.spill "
            "WHERE c.run = ?1 AND c.name = ?2 AND c.state = 'GOOD' AND c.raw IS NOT NULL "
            "AND s.complete = 1 AND s.closed_at < ?3 AND c.spill >= ?5 ORDER BY s.closed_at DESC, s.spill "
            "DESC "
            "LIMIT ?4",
            -1, &st, NULL) != SW_SQL_OK)
        return;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_text(st, 2, c->name, -1, SW_SQL_STATIC);
    sw_sql_bind_double(st, 3, isfinite(before) ? before : 1e300);
    sw_sql_bind_int(st, 4, c->base_n);
    sw_sql_bind_int64(st, 5, min_spill);
    double v[1000];
    int64_t sp[1000];
    int n = 0;
    while (n < c->base_n && sw_sql_step(st) == SW_SQL_ROW) {
        v[n] = sw_sql_column_double(st, 0);
        sp[n++] = sw_sql_column_int64(st, 1);
    }
    sw_sql_finalize(st);
    for (int i = n - 1; i >= 0; i--)
        base_push(b, c->base_n, v[i], run, sp[i]);
}

#define CANDIDATES 8 /* matching earlier runs looked at, newest first */
#define STALE_LAST 5 /* a run whose last this many judged results of a check were all off is stale */

/* Up to CANDIDATES runs other than `run` that started before `started` and match on mask, newest
 * first, into out; returns how many. */
static int matching_runs(sw_sql *db, const struct sw_profile *p, unsigned mask, int64_t run, json_t *meta,
                         double started, int64_t *out)
{
    sw_stmt *st;
    int n = 0;
    if (sw_sql_prepare(db,
                       "SELECT run, meta FROM runs WHERE run != ?1 AND started < ?2 "
                       "ORDER BY started DESC, run DESC LIMIT 500",
                       -1, &st, NULL) != SW_SQL_OK)
        return 0;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_double(st, 2, isfinite(started) ? started : 1e300);
    while (n < CANDIDATES && sw_sql_step(st) == SW_SQL_ROW) {
        const char *text = (const char *)sw_sql_column_text(st, 1);
        json_t *m = text ? json_loads(text, 0, NULL) : NULL;
        if (meta_matches(p, mask, meta, m))
            out[n++] = sw_sql_column_int64(st, 0);
        json_decref(m);
    }
    sw_sql_finalize(st);
    return n;
}

/* 1 when run's baseline of the check went stale: its last STALE_LAST judged results (complete
 * spills, GOOD/WARN/BAD) were all off. That is a run whose baseline learnt a level its own later
 * spills left (a fault no check could see from its first spill): carrying it over would keep the
 * next run off too. */
static int stale(sw_sql *db, const struct sw_check_def *c, int64_t run)
{
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "SELECT c.state FROM checks c JOIN spills s ON s.run = c.run AND s.spill = c.spill "
                       "WHERE c.run = ?1 AND c.name = ?2 AND s.complete = 1 AND c.state IN ('GOOD', 'WARN', "
                       "'BAD') ORDER BY s.closed_at DESC, s.spill DESC LIMIT ?3",
                       -1, &st, NULL) != SW_SQL_OK)
        return 0;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_text(st, 2, c->name, -1, SW_SQL_STATIC);
    sw_sql_bind_int(st, 3, STALE_LAST);
    int n = 0, good = 0;
    while (sw_sql_step(st) == SW_SQL_ROW) {
        n++;
        good |= strcmp((const char *)sw_sql_column_text(st, 0), "GOOD") == 0;
    }
    sw_sql_finalize(st);
    return n == STALE_LAST && !good;
}

/* Builds the baselines for in->run (see sw_refs_apply). */
static void begin_run(struct sw_refs *r, struct sw_quality_input *in, sw_sql *db)
{
    const struct sw_profile *p = r->p;
    r->has_run = 1;
    r->run = in->run;
    json_decref(r->run_meta);
    r->run_meta = NULL;
    r->reset_from = 0;
    r->reset_done = 0;
    for (int i = 0; i < p->nchecks; i++)
        r->base[i].n = r->base[i].pos = 0;
    if (!db)
        return;
    sw_stmt *st;
    if (sw_sql_prepare(db, "SELECT from_spill FROM baseline_resets WHERE run = ?1", -1, &st, NULL) ==
        SW_SQL_OK) {
        sw_sql_bind_int64(st, 1, in->run);
        if (sw_sql_step(st) == SW_SQL_ROW)
            r->reset_from = sw_sql_column_int64(st, 0);
        sw_sql_finalize(st);
    }
    double started = in->started;
    if (sw_sql_prepare(
            db, "SELECT meta, (SELECT min(started) FROM spills WHERE run = ?1) FROM runs WHERE run = ?1", -1,
            &st, NULL) == SW_SQL_OK) {
        sw_sql_bind_int64(st, 1, in->run);
        if (sw_sql_step(st) == SW_SQL_ROW) {
            const char *text = (const char *)sw_sql_column_text(st, 0);
            if (!in->run_meta && text)
                r->run_meta = json_loads(text, 0, NULL);
            if (sw_sql_column_type(st, 1) != SW_SQL_NULL &&
                !(sw_sql_column_double(st, 1) >= started)) /* the run's first spill, also when NaN */
                started = sw_sql_column_double(st, 1);
        }
        sw_sql_finalize(st);
    }
    json_t *meta = in->run_meta ? in->run_meta : r->run_meta;
    /* one look-up of the matching runs per distinct match mask (usually one for the whole profile) */
    unsigned masks[32];
    int64_t cands[32][CANDIDATES];
    int ncands[32], nmasks = 0;
    for (int i = 0; i < p->nchecks; i++) {
        const struct sw_check_def *c = &p->checks[i];
        if (c->ref_kind != SW_REF_BASELINE)
            continue;
        int k = 0;
        while (k < nmasks && masks[k] != c->base_match)
            k++;
        int64_t one[CANDIDATES], *cand = one;
        int n = 0;
        if (k < nmasks) {
            cand = cands[k];
            n = ncands[k];
        } else {
            n = meta ? matching_runs(db, p, c->base_match, in->run, meta, started, one) : 0;
            if (nmasks < 32) {
                masks[nmasks] = c->base_match;
                memcpy(cands[nmasks], one, sizeof one);
                ncands[nmasks++] = n;
            }
        }
        /* the newest matching run with healthy values of this check whose baseline did not go stale */
        for (int j = 0; j < n && r->base[i].n == 0; j++)
            if (!stale(db, c, cand[j]))
                load_values(db, c, &r->base[i], cand[j], INFINITY, 0);
        load_values(db, c, &r->base[i], in->run, r->before, 0);
    }
}

/* The reset a shifter stored for the run, at its spill: every baseline emptied, then the run's own
 * healthy values from that spill on (closed before `before`). */
static void apply_reset(struct sw_refs *r, struct sw_quality_input *in, sw_sql *db)
{
    r->reset_done = 1;
    for (int i = 0; i < r->p->nchecks; i++) {
        const struct sw_check_def *c = &r->p->checks[i];
        if (c->ref_kind != SW_REF_BASELINE)
            continue;
        r->base[i].n = r->base[i].pos = 0;
        if (db)
            load_values(db, c, &r->base[i], in->run, r->before, r->reset_from);
    }
}

void sw_refs_forget(struct sw_refs *r, int64_t run)
{
    if (r && r->has_run && r->run == run)
        r->has_run = 0;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The view of a baseline for run `run`: median, 1.4826 MAD, and the runs and spills it spans (oldest
 * first). */
static void base_view(const struct base *b, int cap, int64_t run, double *scratch, struct sw_baseline *out)
{
    memset(out, 0, sizeof *out);
    out->n = b->n;
    out->median = out->spread = NAN;
    if (!b->n)
        return;
    int start = b->n < cap ? 0 : b->pos;
    for (int k = 0; k < b->n; k++) {
        int i = (start + k) % cap;
        scratch[k] = b->v[i];
        int s = out->nsegs - 1;
        if (s < 0 || out->seg[s].run != b->run[i]) {
            if (out->nsegs == 2) { /* not expected: one carried run, then the run itself */
                out->seg[0] = out->seg[1];
                out->nsegs = 1;
            }
            s = out->nsegs++;
            out->seg[s].run = b->run[i];
            out->seg[s].first = out->seg[s].last = b->spill[i];
            out->seg[s].n = 0;
        }
        if (b->spill[i] < out->seg[s].first)
            out->seg[s].first = b->spill[i];
        if (b->spill[i] > out->seg[s].last)
            out->seg[s].last = b->spill[i];
        out->seg[s].n++;
    }
    out->median = median_of(scratch, b->n);
    for (int k = 0; k < b->n; k++)
        scratch[k] = fabs(scratch[k] - out->median);
    out->spread = 1.4826 * median_of(scratch, b->n);
    out->carried = out->nsegs > 0 && out->seg[0].run != run;
}

void sw_refs_apply(struct sw_refs *r, struct sw_quality_input *in, sw_sql *db)
{
    int baselines = 0;
    for (int i = 0; i < r->p->nchecks; i++) {
        const struct sw_check_def *c = &r->p->checks[i];
        baselines |= c->ref_kind == SW_REF_BASELINE;
        if (c->ref_kind != SW_REF_ROLLING)
            continue;
        struct window *w = &r->win[i];
        r->values[i] = NAN;
        if (w->n < c->rolling_min)
            continue;
        memcpy(r->scratch, w->v, (size_t)w->n * sizeof(double));
        r->values[i] = median_of(r->scratch, w->n);
    }
    if (baselines && (!r->has_run || r->run != in->run))
        begin_run(r, in, db);
    if (baselines && r->reset_from > 0 && !r->reset_done && in->spill >= r->reset_from)
        apply_reset(r, in, db);
    if (baselines && !in->run_meta && r->run_meta)
        in->run_meta = r->run_meta;
    for (int i = 0; baselines && i < r->p->nchecks; i++)
        if (r->p->checks[i].ref_kind == SW_REF_BASELINE)
            base_view(&r->base[i], r->p->checks[i].base_n, r->run, r->scratch, &r->views[i]);
    in->ref_values = r->values;
    in->ref_hists = r->hist_ptrs;
    in->baselines = r->views;
}

void sw_refs_push(struct sw_refs *r, const struct sw_check_result *res, enum sw_state flag,
                  const struct sw_quality_input *in)
{
    for (int i = 0; i < r->p->nchecks; i++) {
        const struct sw_check_def *c = &r->p->checks[i];
        if (c->ref_kind == SW_REF_ROLLING && flag == SW_GOOD && isfinite(res[i].raw))
            win_push(&r->win[i], c->rolling_n, res[i].raw);
        else if (c->ref_kind == SW_REF_BASELINE && in->complete && r->has_run && r->run == in->run &&
                 sw_quality_healthy(&res[i]))
            base_push(&r->base[i], c->base_n, res[i].raw, in->run, in->spill);
    }
}

enum sw_state sw_refs_judge(struct sw_refs *r, const struct sw_profile *p, struct sw_quality_input *in,
                            sw_sql *db, struct sw_check_result *results, json_t *reasons, json_t **checks)
{
    sw_refs_apply(r, in, db);
    enum sw_state flag = sw_quality_eval(p, in, results, reasons);
    sw_refs_push(r, results, flag, in);
    *checks = sw_quality_results_json(results, p->nchecks);
    return flag;
}
