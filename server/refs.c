/* refs.c — see refs.h */
#include "refs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct window {
    double *v; /* ring of rolling_n values */
    int n, pos;
};

struct sw_refs {
    const struct sw_profile *p;
    struct window *win;    /* per check (rolling checks only) */
    double *values;        /* per check */
    struct sw_hist *hists; /* per check (run checks only; def NULL otherwise) */
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

static void load_window(sqlite3 *db, const struct sw_check_def *c, struct window *w, double before)
{
    sqlite3_stmt *st;
    if (!db ||
        sqlite3_prepare_v2(db,
                           "SELECT c.raw FROM checks c JOIN spills s ON s.run = c.run AND s.spill = c.spill "
                           "WHERE c.name = ?1 AND s.flag = 'GOOD' AND s.closed_at < ?2 AND c.raw IS NOT NULL "
                           "ORDER BY s.closed_at DESC LIMIT ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, isfinite(before) ? before : 1e300);
    sqlite3_bind_int(st, 3, c->rolling_n);
    double tmp[1000];
    int n = 0;
    while (n < c->rolling_n && sqlite3_step(st) == SQLITE_ROW)
        tmp[n++] = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    for (int i = n - 1; i >= 0; i--) /* oldest first, so the ring keeps the newest */
        win_push(w, c->rolling_n, tmp[i]);
}

static void load_run(sqlite3 *db, const struct sw_check_def *c, struct sw_hist *h)
{
    sqlite3_stmt *st;
    if (!db || sqlite3_prepare_v2(
                   db,
                   "SELECT h.blob FROM spill_hists h JOIN spills s ON s.run = h.run AND s.spill = h.spill "
                   "LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill "
                   "WHERE s.run = ?1 AND coalesce(m.flag, s.flag) = 'GOOD'",
                   -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, c->ref_run);
    while (sqlite3_step(st) == SQLITE_ROW)
        sw_hist_decode_add(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), h);
    sqlite3_finalize(st);
    /* Spills of the run whose histograms retention pruned (a run that became a reference later)
     * are in the run's GOOD sum (retention.h). */
    if (sqlite3_prepare_v2(db, "SELECT blob FROM run_hists WHERE run = ?1 AND quality = 'good'", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, c->ref_run);
    if (sqlite3_step(st) == SQLITE_ROW)
        sw_hist_decode_add(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), h);
    sqlite3_finalize(st);
}

struct sw_refs *sw_refs_new(const struct sw_profile *p, sqlite3 *db, double before)
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
    r->scratch = calloc(1001, sizeof *r->scratch);
    if (!r->win || !r->values || !r->hists || !r->hist_ptrs || !r->scratch)
        goto oom;
    for (int i = 0; i < n; i++) {
        const struct sw_check_def *c = &p->checks[i];
        r->values[i] = NAN;
        if (c->ref_kind == SW_REF_ROLLING) {
            if (!(r->win[i].v = calloc((size_t)c->rolling_n, sizeof(double))))
                goto oom;
            load_window(db, c, &r->win[i], before);
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
    free(r->win);
    free(r->values);
    free(r->hists);
    free(r->hist_ptrs);
    free(r->scratch);
    free(r);
}

void sw_refs_apply(struct sw_refs *r, struct sw_quality_input *in)
{
    for (int i = 0; i < r->p->nchecks; i++) {
        const struct sw_check_def *c = &r->p->checks[i];
        if (c->ref_kind != SW_REF_ROLLING)
            continue;
        struct window *w = &r->win[i];
        r->values[i] = NAN;
        if (w->n < c->rolling_min)
            continue;
        memcpy(r->scratch, w->v, (size_t)w->n * sizeof(double));
        qsort(r->scratch, (size_t)w->n, sizeof(double), cmp_double);
        r->values[i] =
            w->n % 2 ? r->scratch[w->n / 2] : 0.5 * (r->scratch[w->n / 2 - 1] + r->scratch[w->n / 2]);
    }
    in->ref_values = r->values;
    in->ref_hists = r->hist_ptrs;
}

void sw_refs_push(struct sw_refs *r, const struct sw_check_result *res, enum sw_state flag)
{
    if (flag != SW_GOOD)
        return;
    for (int i = 0; i < r->p->nchecks; i++) {
        const struct sw_check_def *c = &r->p->checks[i];
        if (c->ref_kind == SW_REF_ROLLING && isfinite(res[i].raw))
            win_push(&r->win[i], c->rolling_n, res[i].raw);
    }
}
