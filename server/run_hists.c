/* run_hists.c — see run_hists.h */
#include "run_hists.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "sqlq.h"

#define SW_RUN_HISTS_BUDGET 0.1 /* s of writer time a rebuild job takes at most (one run at least) */

static const char *quality_name(int good)
{
    return good ? "good" : "all";
}

static int prep(sw_sql *db, const char *sql, sw_stmt **st)
{
    if (sw_sql_prepare(db, sql, -1, st, NULL) == SW_SQL_OK)
        return 0;
    sw_error("run_hists", "prepare: %s", sw_sql_errmsg(db));
    return -1;
}

/* Runs sql with ?1 = run to its end: its sw_sql_step result (SW_SQL_DONE when it went through). */
static int run_sql(sw_sql *db, const char *sql, int64_t run)
{
    sw_stmt *st;
    if (prep(db, sql, &st) != 0)
        return SW_SQL_ERROR;
    sw_sql_bind_int64(st, 1, run);
    int step = sw_sql_step(st);
    sw_sql_finalize(st);
    return step;
}

static int mark_stale(sw_sql *db, int64_t run, const char *why)
{
    sw_stmt *st;
    sw_warn("run_hists", "run %lld: %s; its sums are built again from its spills", (long long)run, why);
    if (prep(db, "INSERT INTO run_hist_stale(run) VALUES(?1) ON CONFLICT DO NOTHING", &st) != 0)
        return -1;
    sw_sql_bind_int64(st, 1, run);
    int rc = sw_sql_step(st) == SW_SQL_DONE ? 0 : -1;
    sw_sql_finalize(st);
    return rc;
}

/* The layout key of a snapshot (0: does not decode), the snapshot decoded in *snap when it does. */
static int64_t layout_of(const void *blob, int len, struct sw_hist_snap *snap)
{
    if (sw_hist_decode_new(blob, (size_t)(len > 0 ? len : 0), snap) < 0)
        return 0;
    return snap->layout ? (int64_t)snap->layout : 1; /* 0 stays "not decodable" */
}

/* The lowest (asc) or highest stored spill of run in quality good whose snapshot has layout, or
 * -1: the edge of a sum after its edge spill left it. */
static int64_t edge_spill(sw_sql *db, int64_t run, int good, int64_t layout, int asc)
{
    sw_stmt *st;
    int64_t found = -1;
    if (prep(db,
             asc ? "SELECT s.spill, h.blob " SPILL_FROM
                   "JOIN spill_hists h ON h.run = s.run AND h.spill = s.spill "
                   "WHERE s.run = ?1 AND (?2 = 0 OR " EFFECTIVE_FLAG " = 'GOOD') ORDER BY s.spill"
                 : "SELECT s.spill, h.blob " SPILL_FROM
                   "JOIN spill_hists h ON h.run = s.run AND h.spill = s.spill "
                   "WHERE s.run = ?1 AND (?2 = 0 OR " EFFECTIVE_FLAG " = 'GOOD') ORDER BY s.spill DESC",
             &st) != 0)
        return -1;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_int(st, 2, good);
    while (found < 0 && sw_sql_step(st) == SW_SQL_ROW) {
        struct sw_hist_snap snap;
        if (layout_of(sw_sql_column_blob(st, 1), sw_sql_column_bytes(st, 1), &snap) == layout)
            found = sw_sql_column_int64(st, 0);
        sw_hist_snap_free(&snap);
    }
    sw_sql_finalize(st);
    return found;
}

/* Writes a sum row (spills <= 0: deletes it). */
static int put_row(sw_sql *db, int64_t run, int good, int64_t layout, int64_t spills, int64_t smin,
                   int64_t smax, const struct sw_hist_snap *sum)
{
    sw_stmt *st;
    unsigned char *blob = NULL;
    size_t len = 0;
    if (spills <= 0) {
        if (prep(db, "DELETE FROM run_hist_sums WHERE run = ?1 AND quality = ?2 AND layout = ?3", &st) != 0)
            return -1;
    } else {
        if (layout && sw_hist_encode(sum->hists, sum->n, &blob, &len) != 0)
            return -1;
        if (prep(db,
                 "INSERT INTO run_hist_sums(run, quality, layout, spills, smin, smax, blob) "
                 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(run, quality, layout) DO UPDATE SET "
                 "spills = excluded.spills, smin = excluded.smin, smax = excluded.smax, blob = excluded.blob",
                 &st) != 0) {
            free(blob);
            return -1;
        }
        sw_sql_bind_int64(st, 4, spills);
        if (layout) {
            sw_sql_bind_int64(st, 5, smin);
            sw_sql_bind_int64(st, 6, smax);
            sw_sql_bind_blob(st, 7, blob, (int)len, SW_SQL_STATIC);
        }
    }
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_text(st, 2, quality_name(good), -1, SW_SQL_STATIC);
    sw_sql_bind_int64(st, 3, layout);
    int rc = sw_sql_step(st) == SW_SQL_DONE ? 0 : -1;
    sw_sql_finalize(st);
    free(blob);
    return rc;
}

/* Moves one spill's snapshot (layout, decoded in snap) into (d > 0) or out of (d < 0) the sum of
 * run in quality good. 0, 1 when the run was listed stale instead, -1 on an SQLite error. */
static int move(sw_sql *db, int64_t run, int64_t spill, int good, int d, int64_t layout,
                const struct sw_hist_snap *snap)
{
    sw_stmt *st;
    if (prep(db,
             "SELECT spills, smin, smax, blob FROM run_hist_sums WHERE run = ?1 AND quality = ?2 AND layout "
             "= ?3",
             &st) != 0)
        return -1;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_text(st, 2, quality_name(good), -1, SW_SQL_STATIC);
    sw_sql_bind_int64(st, 3, layout);
    int64_t spills = 0, smin = spill, smax = spill;
    struct sw_hist_snap sum = {0};
    int have = 0, bad = 0;
    if (sw_sql_step(st) == SW_SQL_ROW) {
        have = 1;
        spills = sw_sql_column_int64(st, 0);
        smin = sw_sql_column_int64(st, 1);
        smax = sw_sql_column_int64(st, 2);
        if (layout && layout_of(sw_sql_column_blob(st, 3), sw_sql_column_bytes(st, 3), &sum) != layout)
            bad = 1;
    }
    sw_sql_finalize(st);
    if (bad || (!have && d < 0)) {
        sw_hist_snap_free(&sum);
        return mark_stale(db, run, bad ? "a stored sum does not decode" : "a spill left a sum it was not in")
                   ? -1
                   : 1;
    }
    for (int i = 0; layout && have && i < snap->n; i++)
        if ((d > 0 ? sw_hist_add(&sum.hists[i], &snap->hists[i])
                   : sw_hist_sub(&sum.hists[i], &snap->hists[i])) != 0)
            bad = 1;
    if (bad) {
        sw_hist_snap_free(&sum);
        return mark_stale(db, run, "a sum and a snapshot of one layout differ") ? -1 : 1;
    }
    spills += d;
    if (d > 0 && have) {
        smin = spill < smin ? spill : smin;
        smax = spill > smax ? spill : smax;
    } else if (d < 0 && spills > 0 && layout) { /* the spill has left already: the edges as stored now */
        if (spill == smin)
            smin = edge_spill(db, run, good, layout, 1);
        if (spill == smax)
            smax = edge_spill(db, run, good, layout, 0);
    }
    int rc = put_row(db, run, good, layout, spills, smin, smax, have ? &sum : snap);
    sw_hist_snap_free(&sum);
    return rc;
}

int sw_run_hists_drain(sw_sql *db)
{
    sw_stmt *st;
    if (prep(db,
             "SELECT m.run, m.spill, m.d_all, m.d_good, m.blob, "
             "EXISTS (SELECT 1 FROM run_hist_stale WHERE run = m.run) FROM run_hist_moves m ORDER BY m.id",
             &st) != 0)
        return -1;
    int rc = 0, any = 0;
    while (rc >= 0 && sw_sql_step(st) == SW_SQL_ROW) {
        any = 1;
        int64_t run = sw_sql_column_int64(st, 0), spill = sw_sql_column_int64(st, 1);
        int d[2] = {sw_sql_column_int(st, 2), sw_sql_column_int(st, 3)};
        if (sw_sql_column_int(st, 5))
            continue; /* to be built from its spills */
        struct sw_hist_snap snap;
        int64_t layout = layout_of(sw_sql_column_blob(st, 4), sw_sql_column_bytes(st, 4), &snap);
        for (int good = 0; good < 2 && rc == 0; good++)
            if (d[good])
                rc = move(db, run, spill, good, d[good] > 0 ? 1 : -1, layout, &snap);
        rc = rc > 0 ? 0 : rc; /* listed stale: the later moves of the run are skipped by the rebuild */
        sw_hist_snap_free(&snap);
    }
    sw_sql_finalize(st);
    if (rc == 0 && any && sw_sql_exec(db, "DELETE FROM run_hist_moves", NULL) != SW_SQL_OK)
        rc = -1;
    if (rc != 0)
        sw_error("run_hists", "applying the moves failed: %s", sw_sql_errmsg(db));
    return rc;
}

/* A sum being built: one per (quality, layout) of the run. */
struct group {
    int good;
    int64_t layout, spills, smin, smax;
    struct sw_hist_snap sum;
};

static int add_to_groups(struct group **g, int *n, int good, int64_t layout, int64_t spill,
                         struct sw_hist_snap *snap, int take)
{
    for (int i = 0; i < *n; i++)
        if ((*g)[i].good == good && (*g)[i].layout == layout) {
            struct group *x = &(*g)[i];
            for (int k = 0; layout && k < snap->n; k++)
                sw_hist_add(&x->sum.hists[k], &snap->hists[k]);
            x->spills++;
            x->smin = spill < x->smin ? spill : x->smin;
            x->smax = spill > x->smax ? spill : x->smax;
            return 0;
        }
    struct group *ng = realloc(*g, (size_t)(*n + 1) * sizeof *ng);
    if (!ng)
        return -1;
    *g = ng;
    ng[*n] = (struct group){.good = good, .layout = layout, .spills = 1, .smin = spill, .smax = spill};
    if (take) { /* the snapshot itself becomes the sum */
        ng[*n].sum = *snap;
        memset(snap, 0, sizeof *snap);
    } else if (layout) { /* a copy: decode the same snapshot once more is avoided by adding into zeros */
        struct sw_hist_snap *c = &ng[*n].sum;
        c->n = snap->n;
        c->layout = snap->layout;
        c->defs = malloc((size_t)snap->n * sizeof *c->defs);
        c->hists = calloc((size_t)snap->n, sizeof *c->hists);
        if (snap->n && (!c->defs || !c->hists)) {
            sw_hist_snap_free(c);
            return -1;
        }
        memcpy(c->defs, snap->defs, (size_t)snap->n * sizeof *c->defs);
        for (int k = 0; k < snap->n; k++)
            if (sw_hist_init(&c->hists[k], &c->defs[k]) != 0 ||
                sw_hist_add(&c->hists[k], &snap->hists[k]) != 0) {
                c->n = k + 1;
                sw_hist_snap_free(c);
                return -1;
            }
    }
    (*n)++;
    return 0;
}

/* Builds the sums of the first stale run: 0 (none left: *more = 0), 1 (built), -1. */
static int rebuild_one(sw_sql *db, int *more)
{
    sw_stmt *st;
    int64_t run = -1;
    if (prep(db, "SELECT run FROM run_hist_stale ORDER BY run LIMIT 2", &st) != 0)
        return -1;
    int rows = 0;
    while (sw_sql_step(st) == SW_SQL_ROW)
        if (rows++ == 0)
            run = sw_sql_column_int64(st, 0);
    sw_sql_finalize(st);
    *more = rows > 1;
    if (run < 0)
        return 0;
    struct group *g = NULL;
    int ng = 0, rc = -1;
    if (prep(db,
             "SELECT s.spill, h.blob, " EFFECTIVE_FLAG " = 'GOOD' " SPILL_FROM
             "JOIN spill_hists h ON h.run = s.run AND h.spill = s.spill WHERE s.run = ?1 ORDER BY s.spill",
             &st) != 0)
        return -1;
    sw_sql_bind_int64(st, 1, run);
    int step;
    while ((step = sw_sql_step(st)) == SW_SQL_ROW) {
        struct sw_hist_snap snap;
        int64_t spill = sw_sql_column_int64(st, 0);
        int64_t layout = layout_of(sw_sql_column_blob(st, 1), sw_sql_column_bytes(st, 1), &snap);
        int good = sw_sql_column_int(st, 2) == 1;
        int bad = add_to_groups(&g, &ng, 0, layout, spill, &snap, !good) != 0 ||
                  (good && add_to_groups(&g, &ng, 1, layout, spill, &snap, 1) != 0);
        sw_hist_snap_free(&snap);
        if (bad)
            break;
    }
    sw_sql_finalize(st);
    if (step != SW_SQL_DONE)
        goto out;
    if (run_sql(db, "DELETE FROM run_hist_sums WHERE run = ?1", run) != SW_SQL_DONE)
        goto out;
    for (int i = 0; i < ng; i++)
        if (put_row(db, run, g[i].good, g[i].layout, g[i].spills, g[i].smin, g[i].smax, &g[i].sum) != 0)
            goto out;
    /* Moves of the run recorded before now are in what was just summed. */
    rc = run_sql(db, "DELETE FROM run_hist_stale WHERE run = ?1", run) == SW_SQL_DONE &&
                 run_sql(db, "DELETE FROM run_hist_moves WHERE run = ?1", run) == SW_SQL_DONE
             ? 1
             : -1;
out:
    if (rc < 0)
        sw_error("run_hists", "run %lld: building the sums failed: %s", (long long)run, sw_sql_errmsg(db));
    for (int i = 0; i < ng; i++)
        sw_hist_snap_free(&g[i].sum);
    free(g);
    return rc;
}

int sw_run_hists_rebuild(sw_sql *db, void *ctx)
{
    int *more = ctx, n = 0, rc;
    double t0 = sw_mono();
    while ((rc = rebuild_one(db, more)) > 0 && (n++, *more) && sw_mono() - t0 < SW_RUN_HISTS_BUDGET)
        ;
    if (rc < 0)
        *more = 0; /* the runs stay stale (read by summing their spills); the next start tries again */
    else if (n)
        sw_info("run_hists", "histogram sums built for %d runs in %.0f ms%s", n, (sw_mono() - t0) * 1e3,
                *more ? ", more to come" : "");
    return rc < 0 ? -1 : 0;
}

int sw_run_hists_read(sw_sql *db, int64_t run, int good, struct sw_hist *acc, int n,
                      struct sw_run_hists_sum *out)
{
    *out = (struct sw_run_hists_sum){.smin = -1, .smax = -1};
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "SELECT EXISTS (SELECT 1 FROM run_hist_stale WHERE run = ?1) OR "
                       "EXISTS (SELECT 1 FROM run_hist_moves WHERE run = ?1)",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, run);
    int kept = sw_sql_step(st) == SW_SQL_ROW && sw_sql_column_int(st, 0) == 0;
    sw_sql_finalize(st);
    if (!kept)
        return 0;
    if (sw_sql_prepare(db,
                       "SELECT layout, spills, smin, smax, blob FROM run_hist_sums WHERE run = ?1 AND "
                       "quality = ?2 ORDER BY layout",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_text(st, 2, quality_name(good), -1, SW_SQL_STATIC);
    int step;
    while ((step = sw_sql_step(st)) == SW_SQL_ROW) {
        int64_t spills = sw_sql_column_int64(st, 1);
        if (sw_sql_column_int64(st, 0) != 0 &&
            sw_hist_decode_add_all(sw_sql_column_blob(st, 4), (size_t)sw_sql_column_bytes(st, 4), acc, n) >
                0) {
            int64_t a = sw_sql_column_int64(st, 2), b = sw_sql_column_int64(st, 3);
            out->nspills += spills;
            out->smin = out->smin < 0 || a < out->smin ? a : out->smin;
            out->smax = b > out->smax ? b : out->smax;
        } else
            out->skipped += spills; /* not decodable, or a binning of an older profile */
    }
    sw_sql_finalize(st);
    return step == SW_SQL_DONE ? 1 : -1;
}
