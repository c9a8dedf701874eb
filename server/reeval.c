/* reeval.c — see reeval.h */
#include "reeval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "defer.h"
#include "quality.h"
#include "reload.h"
#include "refs.h"

/* One stored spill judged again. */
struct verdict {
    int64_t spill;
    char old_flag[16], new_flag[16];
    char *reasons, *checks; /* JSON text, owned */
    const char *manual;     /* borrowed from the row copy below, NULL when none */
    char manual_buf[16];
};

/* On the heap from the request to its answer (defer.h): it owns the verdicts and the changes. */
struct apply_tx {
    int64_t run;
    const char *who, *version; /* whobuf, versionbuf */
    struct verdict *v;
    int n, changed;
    int signed_off; /* set when the run turned out signed off: nothing changed */
    json_t *changes;
    char whobuf[SW_NAME_MAX], versionbuf[SW_NAME_MAX + 24];
};

static void free_verdicts(struct verdict *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].reasons);
        free(v[i].checks);
    }
    free(v);
}

static void apply_free(void *ctx)
{
    struct apply_tx *t = ctx;
    free_verdicts(t->v, t->n);
    json_decref(t->changes);
    free(t);
}

/* The answer of a re-evaluation (dry run, or applied: rc is apply_fn's). */
static void reeval_answer(struct sw_reply *r, int rc, const struct apply_tx *t, int dry_run)
{
    if (rc != 0) {
        if (t->signed_off)
            sw_reply_fail(r, SW_ECONFLICT,
                          "run %lld is signed off: its flags do not change (a dry run shows what would; "
                          "re-open the run first: POST /api/v1/runs/%lld/reopen)",
                          (long long)t->run, (long long)t->run);
        else
            sw_reply_fail(r, SW_EUNAVAILABLE, "database error: the re-evaluation was not stored");
        return;
    }
    sw_reply_json(r, 200,
                  json_pack("{s:I, s:b, s:s, s:i, s:i, s:O}", "run", (json_int_t)t->run, "dry_run", dry_run,
                            "profile_version", t->version, "spills", t->n, "changed", t->changed, "changes",
                            t->changes));
}

static void apply_done(void *ctx, int rc, struct sw_reply *r)
{
    reeval_answer(r, rc, ctx, 0);
}

static int apply_fn(sw_sql *db, void *ctx)
{
    struct apply_tx *t = ctx;
    sw_stmt *up = NULL, *del = NULL, *ins = NULL;
    int rc = -1;
    /* Certified flags do not change: checked inside the write, so a sign-off cannot slip in between. */
    if (sw_sql_prepare(db, "SELECT 1 FROM signoffs WHERE run = ?1", -1, &up, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(up, 1, t->run);
    t->signed_off = sw_sql_step(up) == SW_SQL_ROW;
    sw_sql_finalize(up);
    up = NULL;
    if (t->signed_off)
        return 1;
    if (sw_sql_prepare(
            db,
            "UPDATE spills SET flag = ?3, reasons = ?4, profile_version = ?5 WHERE run = ?1 AND spill = ?2",
            -1, &up, NULL) != SW_SQL_OK ||
        sw_sql_prepare(db, "DELETE FROM checks WHERE run = ?1 AND spill = ?2", -1, &del, NULL) != SW_SQL_OK ||
        sw_sql_prepare(
            db,
            sw_sql_is_pg(db)
                ? "INSERT INTO checks(run, spill, name, category, state, value, raw, reason, provenance) "
                  "SELECT ?1, ?2, v->>0, v->>1, v->>2, (v->>3)::float8, (v->>4)::float8, v->>5, v->>6 "
                  "FROM json_array_elements(?3::json) AS t(v)"
                : "INSERT INTO checks(run, spill, name, category, state, value, raw, reason, provenance) "
                  "SELECT ?1, ?2, json_extract(value,'$[0]'), json_extract(value,'$[1]'), "
                  "json_extract(value,'$[2]'), json_extract(value,'$[3]'), json_extract(value,'$[4]'), "
                  "json_extract(value,'$[5]'), json_extract(value,'$[6]') FROM json_each(?3)",
            -1, &ins, NULL) != SW_SQL_OK)
        goto out;
    for (int i = 0; i < t->n; i++) {
        const struct verdict *v = &t->v[i];
        sw_stmt *st[3] = {up, del, ins};
        for (int k = 0; k < 3; k++) {
            sw_sql_reset(st[k]);
            sw_sql_bind_int64(st[k], 1, t->run);
            sw_sql_bind_int64(st[k], 2, v->spill);
        }
        sw_sql_bind_text(up, 3, v->new_flag, -1, SW_SQL_STATIC);
        sw_sql_bind_text(up, 4, v->reasons, -1, SW_SQL_STATIC);
        sw_sql_bind_text(up, 5, t->version, -1, SW_SQL_STATIC);
        sw_sql_bind_text(ins, 3, v->checks, -1, SW_SQL_STATIC);
        if (sw_sql_step(up) != SW_SQL_DONE || sw_sql_step(del) != SW_SQL_DONE ||
            sw_sql_step(ins) != SW_SQL_DONE)
            goto out;
    }
    char comment[128];
    snprintf(comment, sizeof comment, "%d of %d automatic flags changed", t->changed, t->n);
    struct sw_audit_row a = {.who = t->who,
                             .action = "reevaluate",
                             .run = t->run,
                             .spill = -1,
                             .new_ = t->version,
                             .comment = comment};
    rc = sw_audit_insert(db, &a);
out:
    sw_sql_finalize(up);
    sw_sql_finalize(del);
    sw_sql_finalize(ins);
    return rc;
}

/* Judges every stored spill of the run with profile p into v (allocated, *n entries). */
static int judge_run(sw_sql *db, const struct sw_profile *p, int64_t run, struct verdict **out, int *n,
                     struct sw_reply *r)
{
    sw_stmt *st;
    /* the first reason that says the spill was incomplete, from its JSON array of reasons */
#define JUDGE_SQL(incomplete)                                                                  \
    "SELECT s.spill, s.flag, s.counters, s.duration, s.dead_time, s.decode_errors, s.events, " \
    "s.unknown_fields, s.complete, h.blob, m.flag, (SELECT value FROM " incomplete             \
    " WHERE value LIKE 'incomplete%' LIMIT 1), s.daq_sources, s.started FROM spills s "        \
    "JOIN spill_hists h ON h.run = s.run AND h.spill = s.spill "                               \
    "LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill "                         \
    "WHERE s.run = ?1 ORDER BY s.closed_at, s.spill"
    if (sw_sql_prepare(db,
                       sw_sql_is_pg(db) ? JUDGE_SQL("json_array_elements_text(s.reasons::json) AS t(value)")
                                        : JUDGE_SQL("json_each(s.reasons)"),
                       -1, &st, NULL) != SW_SQL_OK) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "database error: %s", sw_sql_errmsg(db));
        return -1;
    }
    sw_sql_bind_int64(st, 1, run);
    struct verdict *v = NULL;
    int count = 0, cap = 0, rc = -1;
    struct sw_hist *hists = calloc((size_t)p->nhists, sizeof *hists);
    struct sw_check_result *res = calloc((size_t)p->nchecks + 1, sizeof *res);
    /* Replayed as they closed: rolling references start from the GOOD spills before the run. */
    struct sw_refs *refs = NULL;
    sw_stmt *first;
    double before = INFINITY;
    if (sw_sql_prepare(db, "SELECT min(closed_at) FROM spills WHERE run = ?1", -1, &first, NULL) ==
        SW_SQL_OK) {
        sw_sql_bind_int64(first, 1, run);
        if (sw_sql_step(first) == SW_SQL_ROW && sw_sql_column_type(first, 0) != SW_SQL_NULL)
            before = sw_sql_column_double(first, 0);
        sw_sql_finalize(first);
    }
    refs = sw_refs_new(p, db, before);
    if (!hists || !res || !refs)
        goto oom;
    for (int i = 0; i < p->nhists; i++)
        if (sw_hist_init(&hists[i], &p->hists[i]) != 0)
            goto oom;
    while (sw_sql_step(st) == SW_SQL_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            struct verdict *g = realloc(v, (size_t)cap * sizeof *g);
            if (!g)
                goto oom;
            v = g;
        }
        struct verdict *x = &v[count];
        memset(x, 0, sizeof *x);
        x->spill = sw_sql_column_int64(st, 0);
        snprintf(x->old_flag, sizeof x->old_flag, "%s", (const char *)sw_sql_column_text(st, 1));
        if (sw_sql_column_type(st, 10) != SW_SQL_NULL) {
            snprintf(x->manual_buf, sizeof x->manual_buf, "%s", (const char *)sw_sql_column_text(st, 10));
            x->manual = x->manual_buf;
        }
        for (int i = 0; i < p->nhists; i++)
            sw_hist_clear(&hists[i]);
        /* Histograms the blob does not have (a new one, or a changed binning) stay empty: their
         * checks come out UNKNOWN for lack of entries, which the answer shows. */
        sw_hist_decode_add_all(sw_sql_column_blob(st, 9), (size_t)sw_sql_column_bytes(st, 9), hists,
                               p->nhists);
        json_t *counters = json_loads((const char *)sw_sql_column_text(st, 2), 0, NULL);
        const char *daq = (const char *)sw_sql_column_text(st, 12);
        json_t *daq_sources = daq ? json_loads(daq, 0, NULL) : NULL; /* NULL: the DAQ sent none */
        struct sw_quality_input in = {
            .run = run,
            .spill = x->spill,
            .started = sw_col_real(st, 13),
            .hists = hists,
            .counters = counters,
            .daq_sources = daq_sources,
            .duration = sw_col_real(st, 3),
            .dead_time = sw_col_real(st, 4),
            .decode_errors = sw_col_real(st, 5),
            .events = (uint64_t)sw_sql_column_int64(st, 6),
            .unknown_fields = (uint64_t)sw_sql_column_int64(st, 7),
            .complete = sw_sql_column_int(st, 8),
            /* Why it was incomplete is history, not a check: kept as it was recorded. */
            .incomplete_reason = (const char *)sw_sql_column_text(st, 11),
        };
        json_t *reasons = json_array(), *checks;
        /* As the engine judged it when it closed (judge.c). */
        enum sw_state flag = sw_refs_judge(refs, p, &in, db, res, reasons, &checks);
        snprintf(x->new_flag, sizeof x->new_flag, "%s", sw_state_name(flag));
        x->reasons = json_dumps(reasons, JSON_COMPACT);
        x->checks = checks ? json_dumps(checks, JSON_COMPACT) : NULL;
        json_decref(reasons);
        json_decref(checks);
        json_decref(counters);
        json_decref(daq_sources);
        count++;
        if (!x->reasons || !x->checks)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
out:
    sw_sql_finalize(st);
    for (int i = 0; hists && i < p->nhists; i++)
        sw_hist_release(&hists[i]);
    free(hists);
    free(res);
    sw_refs_free(refs);
    *out = v;
    *n = count;
    return rc;
}

void sw_reeval_run(const struct sw_api *api, const char *who, int64_t run, int dry_run, const char *body,
                   size_t len, struct sw_reply *r)
{
    struct sw_profile custom;
    struct sw_profile *cur = sw_reload_profile(api->reload); /* held until the answer is built */
    const struct sw_profile *p = cur;
    int own = 0;
    if (body && len > 0) {
        json_error_t jerr;
        json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
            sw_reply_fail(r, SW_EINVAL, "body: invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                          jerr.text);
            sw_profile_unref(cur);
            return;
        }
        struct sw_diag d = {0};
        int rc = sw_profile_parse(&custom, root, "body", &d);
        json_decref(root);
        if (rc != 0) {
            json_t *problems = json_array();
            for (int i = 0; i < d.n; i++)
                json_array_append_new(problems, json_string(d.msg[i]));
            sw_reply_json(r, sw_err_http_status(SW_EINVAL),
                          json_pack("{s:s, s:o}", "error", d.n ? d.msg[0] : "body: invalid profile",
                                    "problems", problems));
            sw_diag_release(&d);
            sw_profile_unref(cur);
            return;
        }
        sw_diag_release(&d);
        p = &custom;
        own = 1;
    }
    sw_sql *db = sw_db_reader_for_run(api->store, 1, run, r);
    struct verdict *v = NULL;
    int n = 0;
    if (!db)
        goto out;
    if (judge_run(db, p, run, &v, &n, r) != 0)
        goto out;
    struct apply_tx *t = calloc(1, sizeof *t);
    if (!t) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        goto out;
    }
    *t = (struct apply_tx){.run = run, .who = t->whobuf, .version = t->versionbuf, .v = v, .n = n};
    v = NULL; /* the verdicts are the context's now */
    n = 0;
    snprintf(t->whobuf, sizeof t->whobuf, "%s", who);
    snprintf(t->versionbuf, sizeof t->versionbuf, "%s", p->version);
    t->changes = json_array();
    for (int i = 0; i < t->n; i++) {
        const struct verdict *x = &t->v[i];
        if (strcmp(x->old_flag, x->new_flag) == 0)
            continue;
        t->changed++;
        json_array_append_new(
            t->changes,
            json_pack("{s:I, s:s, s:s, s:o, s:o, s:b}", "spill", (json_int_t)x->spill, "old", x->old_flag,
                      "new", x->new_flag, "reasons", json_loads(x->reasons, 0, NULL), "manual",
                      x->manual ? json_string(x->manual) : json_null(), "effective_changes", !x->manual));
    }
    if (dry_run) {
        reeval_answer(r, 0, t, 1);
        apply_free(t);
    } else
        sw_reply_defer(r, api->store, apply_fn, apply_done, apply_free, t); /* answered once committed */
out:
    free_verdicts(v, n);
    if (own)
        sw_profile_release(&custom);
    sw_profile_unref(cur);
}
