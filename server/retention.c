/* retention.c — see retention.h */
#include "retention.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "hist.h"
#include "log.h"
#include "metrics.h"
#include "reload.h"
#include "sqlq.h"

struct sw_retention {
    const struct sw_config *cfg;
    struct sw_store *store;
    struct sw_reload *reload; /* the profile in force: its histograms and reference runs */
    double next;              /* sw_mono() of the next pass (timer thread only) */
    atomic_int queued;        /* a chunk is queued or running */
    atomic_int more;          /* the last chunk was full: go on at the next tick */
};

struct pruned {
    int64_t run, spill;
    int good;
    unsigned char *blob;
    size_t len;
};

/* Adds the chunk's spills of one run (p[0..n)) into run_hists(run, quality). */
static int fold_run(sw_sql *db, const struct sw_profile *prof, const struct pruned *p, int n, int good)
{
    int rc = -1, count = 0;
    struct sw_hist *acc = calloc((size_t)prof->nhists, sizeof *acc);
    sw_stmt *st = NULL;
    unsigned char *out = NULL;
    size_t outlen = 0;
    if (!acc)
        return -1;
    for (int i = 0; i < prof->nhists; i++)
        if (sw_hist_init(&acc[i], &prof->hists[i]) != 0)
            goto out;
    for (int i = 0; i < n; i++)
        if (!good || p[i].good) {
            if (sw_hist_decode_add_all(p[i].blob, p[i].len, acc, prof->nhists) < 0)
                sw_warn("retention", "run %lld spill %lld: corrupt histogram blob, not summed",
                        (long long)p[i].run, (long long)p[i].spill);
            count++;
        }
    if (!count) {
        rc = 0;
        goto out;
    }
    const char *q = good ? "good" : "all";
    int64_t before = 0;
    if (sw_sql_prepare(db, "SELECT blob, spills FROM run_hists WHERE run = ?1 AND quality = ?2", -1, &st,
                       NULL) != SW_SQL_OK)
        goto out;
    sw_sql_bind_int64(st, 1, p[0].run);
    sw_sql_bind_text(st, 2, q, -1, SW_SQL_STATIC);
    if (sw_sql_step(st) == SW_SQL_ROW) {
        sw_hist_decode_add_all(sw_sql_column_blob(st, 0), (size_t)sw_sql_column_bytes(st, 0), acc,
                               prof->nhists);
        before = sw_sql_column_int64(st, 1);
    }
    sw_sql_finalize(st);
    st = NULL;
    if (sw_hist_encode(acc, prof->nhists, &out, &outlen) != 0)
        goto out;
    if (sw_sql_prepare(
            db,
            "INSERT INTO run_hists(run, quality, spills, blob) VALUES(?1, ?2, ?3, ?4) "
            "ON CONFLICT(run, quality) DO UPDATE SET spills = excluded.spills, blob = excluded.blob",
            -1, &st, NULL) != SW_SQL_OK)
        goto out;
    sw_sql_bind_int64(st, 1, p[0].run);
    sw_sql_bind_text(st, 2, q, -1, SW_SQL_STATIC);
    sw_sql_bind_int64(st, 3, before + count);
    sw_sql_bind_blob(st, 4, out, (int)outlen, SW_SQL_STATIC);
    rc = sw_sql_step(st) == SW_SQL_DONE ? 0 : -1;
out:
    sw_sql_finalize(st);
    free(out);
    for (int i = 0; i < prof->nhists; i++)
        sw_hist_release(&acc[i]);
    free(acc);
    return rc;
}

/* The runs the profile's checks use as reference, as a JSON array (malloc'ed), or NULL. */
static char *reference_runs(const struct sw_profile *prof)
{
    json_t *refs = json_array();
    for (int i = 0; refs && i < prof->nchecks; i++)
        if (prof->checks[i].ref_kind == SW_REF_RUN)
            json_array_append_new(refs, json_integer(prof->checks[i].ref_run));
    char *out = refs ? json_dumps(refs, JSON_COMPACT) : NULL;
    json_decref(refs);
    return out;
}

/* One chunk, inside the writer's transaction, with the profile in force now (a reload may have
 * changed its histograms or reference runs since the last chunk). */
static int prune_chunk(sw_sql *db, void *ctx)
{
    struct sw_retention *r = ctx;
    const struct sw_config *cfg = r->cfg;
    double t0 = sw_mono(), now = sw_wall();
    int rc = -1, n = 0;
    int64_t bytes = 0;
    struct sw_profile *prof = sw_reload_profile(r->reload);
    char *ref_runs = reference_runs(prof);
    struct pruned *p = calloc((size_t)cfg->retention_chunk, sizeof *p);
    sw_stmt *st = NULL, *del = NULL, *mark = NULL;
    if (!p || !ref_runs)
        goto out;
        /* ?2: the reference runs, a JSON array of run numbers */
#define PRUNE_SQL(refs)                                                              \
    "SELECT s.run, s.spill, h.blob, " EFFECTIVE_FLAG " = 'GOOD' FROM spill_hists h " \
    "JOIN spills s ON s.run = h.run AND s.spill = h.spill " SPILL_MANUAL_JOIN        \
    "WHERE s.closed_at < ?1 AND s.run NOT IN (" refs ") ORDER BY s.run, s.spill LIMIT ?3"
    if (sw_sql_prepare(
            db,
            sw_sql_is_pg(db)
                ? PRUNE_SQL("SELECT value::bigint FROM json_array_elements_text(?2::json) AS t(value)")
                : PRUNE_SQL("SELECT value FROM json_each(?2)"),
            -1, &st, NULL) != SW_SQL_OK)
        goto out;
    sw_sql_bind_double(st, 1, now - cfg->retention_days * 86400.0);
    sw_sql_bind_text(st, 2, ref_runs, -1, SW_SQL_STATIC);
    sw_sql_bind_int(st, 3, cfg->retention_chunk);
    while (n < cfg->retention_chunk && sw_sql_step(st) == SW_SQL_ROW) {
        p[n].run = sw_sql_column_int64(st, 0);
        p[n].spill = sw_sql_column_int64(st, 1);
        p[n].len = (size_t)sw_sql_column_bytes(st, 2);
        p[n].good = sw_sql_column_int(st, 3);
        p[n].blob = malloc(p[n].len + 1);
        if (!p[n].blob)
            goto out;
        memcpy(p[n].blob, sw_sql_column_blob(st, 2), p[n].len);
        bytes += (int64_t)p[n].len;
        n++;
    }
    sw_sql_finalize(st);
    st = NULL;
    if (sw_sql_prepare(db, "DELETE FROM spill_hists WHERE run = ?1 AND spill = ?2", -1, &del, NULL) !=
            SW_SQL_OK ||
        sw_sql_prepare(db, "UPDATE spills SET hists_pruned = ?3 WHERE run = ?1 AND spill = ?2", -1, &mark,
                       NULL) != SW_SQL_OK)
        goto out;
    for (int a = 0, b; a < n; a = b) {
        for (b = a; b < n && p[b].run == p[a].run; b++)
            ;
        if (fold_run(db, prof, p + a, b - a, 0) != 0 || fold_run(db, prof, p + a, b - a, 1))
            goto out;
    }
    for (int i = 0; i < n; i++) {
        sw_sql_bind_int64(del, 1, p[i].run);
        sw_sql_bind_int64(del, 2, p[i].spill);
        sw_sql_bind_int64(mark, 1, p[i].run);
        sw_sql_bind_int64(mark, 2, p[i].spill);
        sw_sql_bind_double(mark, 3, now);
        if (sw_sql_step(del) != SW_SQL_DONE || sw_sql_step(mark) != SW_SQL_DONE)
            goto out;
        sw_sql_reset(del);
        sw_sql_reset(mark);
    }
    atomic_store(&r->more, n == cfg->retention_chunk);
    if (n) {
        atomic_fetch_add(&sw_metrics.retention_pruned_spills, (uint64_t)n);
        atomic_fetch_add(&sw_metrics.retention_pruned_bytes, (uint64_t)bytes);
        sw_info("retention",
                "pruned the histograms of %d spills (run %lld spill %lld to run %lld spill %lld, %lld bytes) "
                "in %.1f ms",
                n, (long long)p[0].run, (long long)p[0].spill, (long long)p[n - 1].run,
                (long long)p[n - 1].spill, (long long)bytes, (sw_mono() - t0) * 1e3);
    }
    rc = 0;
out:
    if (rc != 0) {
        sw_error("retention", "prune failed: %s", sw_sql_errmsg(db));
        atomic_store(&r->more, 0);
    }
    sw_sql_finalize(st);
    sw_sql_finalize(del);
    sw_sql_finalize(mark);
    for (int i = 0; i < n; i++)
        free(p[i].blob);
    free(p);
    free(ref_runs);
    sw_profile_unref(prof);
    return rc;
}

static void chunk_done(void *ctx)
{
    struct sw_retention *r = ctx;
    atomic_store(&r->queued, 0);
}

struct sw_retention *sw_retention_new(const struct sw_config *cfg, struct sw_store *store,
                                      struct sw_reload *reload)
{
    if (cfg->retention_days < 0)
        return NULL;
    struct sw_retention *r = calloc(1, sizeof *r);
    struct sw_profile *prof = sw_reload_profile(reload);
    char *refs = reference_runs(prof);
    sw_profile_unref(prof);
    if (!r || !refs) {
        free(r);
        free(refs);
        return NULL;
    }
    r->cfg = cfg;
    r->store = store;
    r->reload = reload;
    r->next = 0; /* a pass at start-up */
    sw_info("retention",
            "per-spill histograms older than %g days are pruned (every %g s, %d spills a chunk; "
            "reference runs of the profile in force, now %s, kept)",
            cfg->retention_days, cfg->retention_interval, cfg->retention_chunk, refs);
    free(refs);
    return r;
}

void sw_retention_tick(struct sw_retention *r)
{
    if (!r || atomic_load(&r->queued))
        return;
    double now = sw_mono();
    if (!atomic_load(&r->more) && now < r->next)
        return;
    if (!atomic_load(&r->more))
        r->next = now + r->cfg->retention_interval;
    atomic_store(&r->queued, 1);
    sw_store_call_async(r->store, prune_chunk, r, chunk_done);
}

void sw_retention_free(struct sw_retention *r)
{
    if (!r)
        return;
    free(r);
}
