/* hist_api.c — see hist_api.h */
#include "hist_api.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcache.h"
#include "hist.h"
#include "jsonnum.h"
#include "quality.h"
#include "reload.h"
#include "rootjson.h"
#include "run_hists.h"
#include "sqlq.h"

/* ---- histograms ---- */

static json_t *hist_def_json(const struct sw_hist_def *d)
{
    json_t *trig = json_array();
    for (int t = 0; t < SW_TRIG_N; t++)
        if (!d->trigger_mask || (d->trigger_mask & (1u << t)))
            json_array_append_new(trig, json_string(sw_trigger_name(t)));
    json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:{s:i, s:f, s:f}, s:o}", "name", d->name, "title", d->title,
                          "unit", d->unit, "dim", d->dim, "x", "bins", d->x.bins, "min", d->x.min, "max",
                          d->x.max, "trigger", trig);
    if (j && d->nxlabels) {
        json_t *labels = json_array();
        for (int i = 0; i < d->nxlabels; i++)
            json_array_append_new(labels, json_string(d->xlabels[i]));
        json_object_set_new(json_object_get(j, "x"), "labels", labels);
    }
    if (j && d->dim == 2)
        json_object_set_new(j, "y",
                            json_pack("{s:i, s:f, s:f, s:s}", "bins", d->y.bins, "min", d->y.min, "max",
                                      d->y.max, "unit", d->unit_y));
    return j;
}

/* A histogram scope (docs/api.md, "Histograms"): live when none of run, last, quality=good. */
struct scope {
    int has_run, has_spill, has_last, range, good_only;
    int64_t run, spill, last, a, b; /* a-b: the spill range (spill: a = b) */
};

/* format=json (default) or root: 0 or 1, -1 with a 400 reply. */
static int parse_format(struct MHD_Connection *c, struct sw_reply *r)
{
    const char *f = sw_req_qarg(c, "format");
    if (!f || !strcmp(f, "json"))
        return 0;
    if (!strcmp(f, "root"))
        return 1;
    sw_reply_fail(r, SW_EINVAL, "query parameter \"format\": json or root");
    return -1;
}

static int parse_scope(struct MHD_Connection *c, struct scope *s, struct sw_reply *r)
{
    *s = (struct scope){.run = -1, .spill = -1, .last = -1, .a = -1, .b = -1};
    if ((s->has_run = sw_req_query_int(c, "run", &s->run, r)) < 0 ||
        (s->has_spill = sw_req_query_int(c, "spill", &s->spill, r)) < 0 ||
        (s->has_last = sw_req_query_int(c, "last", &s->last, r)) < 0)
        return -1;
    const char *range = sw_req_qarg(c, "spills");
    const char *quality = sw_req_qarg(c, "quality");
    if (range) {
        const char *dash = strchr(range, '-');
        if (!dash || sw_req_path_int(r, "spills (a-b): a", range, (size_t)(dash - range), &s->a) < 0 ||
            sw_req_path_int(r, "spills (a-b): b", dash + 1, strlen(dash + 1), &s->b) < 0) {
            sw_reply_fail(r, SW_EINVAL, "query parameter \"spills\": expected a-b with integers, e.g. 3-17");
            return -1;
        }
        if (s->a > s->b) {
            sw_reply_fail(r, SW_EINVAL, "query parameter \"spills\": %lld-%lld is empty", (long long)s->a,
                          (long long)s->b);
            return -1;
        }
    }
    s->range = range != NULL;
    if (quality && strcmp(quality, "good") != 0 && strcmp(quality, "all") != 0) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"quality\": must be good or all");
        return -1;
    }
    if (s->has_spill + s->range + s->has_last > 1) {
        sw_reply_fail(r, SW_EINVAL, "query parameters spill, spills and last exclude each other");
        return -1;
    }
    if ((s->has_spill || s->range) && !s->has_run) {
        sw_reply_fail(r, SW_EINVAL, "query parameters spill and spills need run");
        return -1;
    }
    if (s->has_last && (s->last < 1 || s->last > 100000)) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"last\": must be within 1..100000");
        return -1;
    }
    s->good_only = quality && strcmp(quality, "good") == 0;
    if (s->has_spill)
        s->a = s->b = s->spill;
    return 0;
}

static int scope_live(const struct scope *s)
{
    return !s->has_run && !s->has_last && !s->good_only;
}

/* The download name of a ROOT export: spillwatch-run1234-spill5[-NAME].json, -spills3-17, -last20,
 * -good, -live-run1234-spill5 (the live spill; -live before any); NAME with ':' as '_'. */
static void root_filename(struct sw_reply *r, const struct scope *s, const char *name, int64_t live_run,
                          int64_t live_spill)
{
    char sc[96] = "", *p = sc;
    size_t left = sizeof sc;
    int n = 0;
#define ADD(...) \
    (n = snprintf(p, left, __VA_ARGS__), n > 0 && (size_t)n < left ? (p += n, left -= (size_t)n) : 0)
    if (scope_live(s))
        ADD("-live");
    if (scope_live(s) && live_run >= 0)
        ADD("-run%lld-spill%lld", (long long)live_run, (long long)live_spill);
    if (s->has_run)
        ADD("-run%lld", (long long)s->run);
    if (s->has_spill)
        ADD("-spill%lld", (long long)s->spill);
    else if (s->range)
        ADD("-spills%lld-%lld", (long long)s->a, (long long)s->b);
    if (s->has_last)
        ADD("-last%lld", (long long)s->last);
    if (s->good_only)
        ADD("-good");
#undef ADD
    char nm[SW_HIST_NAME_MAX] = "";
    if (name) {
        snprintf(nm, sizeof nm, "-%.34s", name);
        for (char *q = nm; *q; q++)
            if (*q == ':')
                *q = '_';
    }
    snprintf(r->filename, sizeof r->filename, "spillwatch%.45s%.35s.json", sc, nm);
}

/* What summing the stored spills of a scope found. */
struct sums {
    int64_t nspills, smin, smax, skipped, pruned, summed;
};

/* The run scope: adds the run's sums of its pruned spills (run_hists, retention.c). 0, or -1 with
 * the reply set. */
static int pruned_sums(sw_sql *db, const struct scope *s, struct sw_hist *acc, int n, struct sums *out,
                       struct sw_reply *r)
{
    sw_stmt *st;
    if (sw_db_prepare(db, "SELECT blob, spills FROM run_hists WHERE run = ?1 AND quality = ?2", &st, r) != 0)
        return -1;
    sw_sql_bind_int64(st, 1, s->run);
    sw_sql_bind_text(st, 2, s->good_only ? "good" : "all", -1, SW_SQL_STATIC);
    if (sw_sql_step(st) == SW_SQL_ROW &&
        sw_hist_decode_add_all(sw_sql_column_blob(st, 0), (size_t)sw_sql_column_bytes(st, 0), acc, n) > 0)
        out->summed = sw_sql_column_int64(st, 1);
    sw_sql_finalize(st);
    out->nspills += out->summed;
    out->pruned = 0; /* in the run's sums */
    return 0;
}

/* Adds the stored snapshots of scope s into acc[0..n-1] (histograms of prof, initialised by the
 * caller). 0, or -1 with the reply set (503, 404, or 410 for a pruned spill). */
static int stored_sum(const struct sw_api *api, const struct scope *s, struct sw_hist *acc, int n,
                      struct sums *out, struct sw_reply *r)
{
    *out = (struct sums){.smin = -1, .smax = -1};
    sw_sql *db = sw_db_reader_for_run(api->store, s->has_run, s->run, r);
    if (!db)
        return -1;
    sw_stmt *st;
    /* The run scope reads the run's sums kept at commit (run_hists.h) when they are kept: the
     * sums of the stored spills by snapshot layout, then those of the pruned spills. */
    if (s->has_run && !s->has_spill && !s->range && !s->has_last) {
        /* One read transaction: the stored spills' sums and the pruned ones' of one commit (a
         * retention chunk moves spills from the first to the second). */
        int txn = sw_sql_get_autocommit(db) && sw_sql_exec(db, "BEGIN", NULL) == SW_SQL_OK;
        struct sw_run_hists_sum rs;
        int kept = sw_run_hists_read(db, s->run, s->good_only, acc, n, &rs), rc = 0;
        if (kept < 0) {
            sw_reply_fail(r, SW_EUNAVAILABLE, "run histogram sums: %s", sw_sql_errmsg(db));
            rc = -1;
        } else if (kept) {
            *out =
                (struct sums){.nspills = rs.nspills, .smin = rs.smin, .smax = rs.smax, .skipped = rs.skipped};
            rc = pruned_sums(db, s, acc, n, out, r);
        }
        if (txn)
            sw_sql_exec(db, "COMMIT", NULL);
        if (kept != 0)
            return rc;
    }
    /* Retention (docs/configuration.md): a spill whose histograms were pruned answers 410; a range
     * or window counts the pruned spills it could not sum; the run scope adds the run's sums of its
     * pruned spills (run_hists), so it stays whole. */
    double pruned_at = 0;
    if (s->has_run && !s->has_last) {
        if (sw_db_prepare(
                db,
                "SELECT count(*), max(hists_pruned) FROM spills WHERE run = ?1 AND spill BETWEEN ?2 "
                "AND ?3 AND hists_pruned IS NOT NULL",
                &st, r) != 0)
            return -1;
        sw_sql_bind_int64(st, 1, s->run);
        sw_sql_bind_int64(st, 2, s->has_spill || s->range ? s->a : INT64_MIN);
        sw_sql_bind_int64(st, 3, s->has_spill || s->range ? s->b : INT64_MAX);
        if (sw_sql_step(st) == SW_SQL_ROW) {
            out->pruned = sw_sql_column_int64(st, 0);
            pruned_at = sw_sql_column_double(st, 1);
        }
        sw_sql_finalize(st);
    }
    if (s->has_spill && out->pruned) {
        sw_reply_json(r, sw_err_http_status(SW_EGONE),
                      json_pack("{s:s+, s:b, s:I, s:I, s:f}", "error",
                                "histograms of this spill were pruned by ",
                                "retention (retention.spill_histograms_days); its run's summed histograms "
                                "are kept (GET without spill=)",
                                "pruned", 1, "run", (json_int_t)s->run, "spill", (json_int_t)s->spill,
                                "pruned_at", pruned_at));
        return -1;
    }
    /* With a run, its key (and the index on run, closed_at); without one (last=N), the index on
     * closed_at. One statement with "?1 < 0 OR s.run = ?1" made SQLite walk every stored spill. */
#define HIST_SQL(run_cond)                                                                            \
    "SELECT h.blob, s.spill FROM spill_hists h JOIN spills s ON s.run = h.run AND s.spill = h.spill " \
    "LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill WHERE " run_cond                 \
    " AND (?2 < 0 OR s.spill BETWEEN ?2 AND ?3) AND (?4 = 0 OR " EFFECTIVE_FLAG " = 'GOOD') "         \
    "ORDER BY s.closed_at DESC LIMIT ?5"
    if (sw_db_prepare(db, s->has_run ? HIST_SQL("s.run = ?1") : HIST_SQL("?1 < 0"), &st, r) != 0)
        return -1;
    sw_sql_bind_int64(st, 1, s->has_run ? s->run : -1);
    sw_sql_bind_int64(st, 2, s->a);
    sw_sql_bind_int64(st, 3, s->b);
    sw_sql_bind_int(st, 4, s->good_only);
    sw_sql_bind_int64(st, 5, s->has_last ? s->last : INT64_MAX);
    while (sw_sql_step(st) == SW_SQL_ROW) {
        int rc =
            sw_hist_decode_add_all(sw_sql_column_blob(st, 0), (size_t)sw_sql_column_bytes(st, 0), acc, n);
        int64_t sp = sw_sql_column_int64(st, 1);
        if (rc > 0) {
            out->nspills++;
            out->smin = out->smin < 0 || sp < out->smin ? sp : out->smin;
            out->smax = sp > out->smax ? sp : out->smax;
        } else
            out->skipped++; /* corrupt blob or a binning of an older profile */
    }
    sw_sql_finalize(st);
    if (s->has_run && !s->has_spill && !s->range && !s->has_last && out->pruned)
        return pruned_sums(db, s, acc, n, out, r);
    return 0;
}

/* The cache key of a stored scope of histogram name ("*": the bundle) in a format. */
static void scope_key(char *key, size_t len, const char *name, int root, const struct scope *s,
                      const struct sw_profile *prof)
{
    snprintf(key, len, "%s%s?%lld&%lld&%lld&%lld&%lld&%d&%s", root ? "R:" : "", name,
             (long long)(s->has_run ? s->run : -1), (long long)(s->has_spill ? s->spill : -1),
             (long long)(s->has_last ? s->last : -1), (long long)s->a, (long long)s->b, s->good_only,
             prof->version);
}

/* Serves a cached stored-scope answer: 1 when served. */
static int cached(const char *key, uint64_t gen, struct sw_reply *r)
{
    if (!(r->body = sw_hcache_get(key, gen, &r->len)))
        return 0;
    r->status = 200;
    r->content_type = "application/json";
    return 1;
}

/* The ROOT bundle of every histogram of prof in scope s: a TList (docs/api.md, "ROOT export"). */
static void root_bundle(const struct sw_api *api, const struct sw_profile *prof, const struct scope *s,
                        struct sw_reply *r)
{
    char stem[sizeof r->filename];
    json_t *arr = NULL;
    int64_t run = -1, spill = -1;
    if (scope_live(s))
        arr = sw_engine_live_hist_as(api->engine, NULL, sw_root_hist, &run, &spill);
    root_filename(r, s, NULL, run, spill);
    snprintf(stem, sizeof stem, "%.*s", (int)(strlen(r->filename) - 5), r->filename); /* without .json */
    if (scope_live(s)) {
        sw_reply_json(r, 200, arr ? sw_root_list(stem, arr) : NULL);
        return;
    }
    arr = json_array();
    char key[192];
    uint64_t gen = sw_store_generation(api->store);
    scope_key(key, sizeof key, "*", 1, s, prof);
    if (cached(key, gen, r)) {
        json_decref(arr);
        return;
    }
    struct sw_hist *acc = calloc((size_t)prof->nhists + 1, sizeof *acc);
    int ok = acc != NULL;
    for (int i = 0; ok && i < prof->nhists; i++)
        ok = sw_hist_init(&acc[i], &prof->hists[i]) == 0;
    struct sums sums;
    if (!ok)
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
    else if (stored_sum(api, s, acc, prof->nhists, &sums, r) == 0) {
        for (int i = 0; i < prof->nhists; i++)
            json_array_append_new(arr, sw_root_hist(&acc[i]));
        sw_reply_json(r, 200, sw_root_list(stem, arr));
        arr = NULL;
        if (r->status == 200 && r->body)
            sw_hcache_put(key, gen, r->body, r->len);
    }
    for (int i = 0; acc && i < prof->nhists; i++)
        sw_hist_release(&acc[i]);
    free(acc);
    json_decref(arr);
}

void sw_hist_api_list(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r)
{
    int root = parse_format(c, r);
    if (root < 0)
        return;
    struct sw_profile *prof = sw_reload_profile(api->reload);
    if (root) {
        struct scope s;
        if (parse_scope(c, &s, r) == 0)
            root_bundle(api, prof, &s, r);
        sw_profile_unref(prof);
        return;
    }
    static const char *const scope_params[] = {"run", "spill", "spills", "last", "quality", NULL};
    for (int i = 0; scope_params[i]; i++)
        if (sw_req_qarg(c, scope_params[i])) {
            sw_reply_fail(r, SW_EINVAL,
                          "query parameter \"%s\": a scope is for format=root (every histogram of the "
                          "scope); the list of definitions takes none",
                          scope_params[i]);
            sw_profile_unref(prof);
            return;
        }
    json_t *arr = json_array();
    for (int i = 0; i < prof->nhists; i++) {
        json_t *d = hist_def_json(&prof->hists[i]), *checks = json_array();
        for (int k = 0; k < prof->nchecks; k++) /* the checks that read it (the explorer shows them) */
            if (prof->checks[k].kind == SW_Q_HIST && prof->checks[k].hist == i)
                json_array_append_new(checks, json_string(prof->checks[k].name));
        json_object_set_new(d, "checks", checks);
        json_array_append_new(arr, d);
    }
    /* The manual-flag vocabulary travels along, so the run page offers exactly the allowed reasons
     * (null: any reason). */
    json_t *reasons = NULL;
    if (prof->manual_reasons) {
        reasons = json_array();
        for (int i = 0; i < prof->nreasons; i++)
            json_array_append_new(reasons, json_string(prof->manual_reasons[i]));
    }
    sw_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:o, s:o}", "profile", prof->name, "version", prof->version,
                            "histograms", arr, "manual_reasons", reasons ? reasons : json_null()));
    sw_profile_unref(prof);
}

static void hist_scope(const struct sw_api *api, struct MHD_Connection *c, const struct sw_profile *prof,
                       int h, const char *name, struct sw_reply *r);

void sw_hist_api_get(const struct sw_api *api, struct MHD_Connection *c, const char *name, struct sw_reply *r)
{
    struct sw_profile *prof = sw_reload_profile(api->reload);
    int h = sw_profile_find_hist(prof, name);
    if (h < 0)
        sw_reply_fail(r, SW_ENOTFOUND, "no histogram \"%s\" in profile \"%s\"", name, prof->name);
    else
        hist_scope(api, c, prof, h, name, r);
    sw_profile_unref(prof);
}

/* Histogram h of prof (a reference the caller holds) in the scope of the query. */
static void hist_scope(const struct sw_api *api, struct MHD_Connection *c, const struct sw_profile *prof,
                       int h, const char *name, struct sw_reply *r)
{
    struct scope s;
    int root = parse_format(c, r);
    if (root < 0 || parse_scope(c, &s, r) < 0)
        return;
    if (scope_live(&s)) {
        int64_t run = -1, spill = -1;
        json_t *j = root ? sw_engine_live_hist_as(api->engine, name, sw_root_hist, &run, &spill)
                         : sw_engine_live_hist(api->engine, name);
        sw_reply_json(r, 200, j);
        if (root && r->status == 200)
            root_filename(r, &s, name, run, spill);
        return;
    }
    /* A stored scope: the same answer until the writer's next job (hcache.h). The generation is
     * read before the database, so an answer is never kept for a generation older than its data. */
    char key[192];
    uint64_t gen = sw_store_generation(api->store);
    scope_key(key, sizeof key, name, root, &s, prof);
    if (cached(key, gen, r)) {
        if (root)
            root_filename(r, &s, name, -1, -1);
        return;
    }
    struct sw_hist acc;
    if (sw_hist_init(&acc, &prof->hists[h]) != 0) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return;
    }
    struct sums u;
    if (stored_sum(api, &s, &acc, 1, &u, r) != 0) {
        sw_hist_release(&acc);
        return;
    }
    json_t *j = root ? sw_root_hist(&acc) : sw_hist_to_json(&acc);
    sw_hist_release(&acc);
    const char *scope = s.has_spill ? "spill" : s.range ? "range" : s.has_last ? "last" : "run";
    if (j && !root)
        json_object_update_new(j, json_pack("{s:s, s:o, s:I, s:o, s:b, s:I}", "scope", scope, "run",
                                            s.has_run ? json_integer(s.run) : json_null(), "spills",
                                            (json_int_t)u.nspills, "spill_range",
                                            u.smin >= 0 ? json_pack("[I I]", u.smin, u.smax) : json_null(),
                                            "good_only", s.good_only, "skipped", (json_int_t)u.skipped));
    if (j && !root && (u.pruned || u.summed))
        json_object_update_new(j, json_pack("{s:I, s:I}", "pruned_spills", (json_int_t)u.pruned,
                                            "from_run_sums", (json_int_t)u.summed));
    sw_reply_json(r, 200, j);
    if (r->status == 200 && r->body)
        sw_hcache_put(key, gen, r->body, r->len);
    if (root && r->status == 200)
        root_filename(r, &s, name, -1, -1);
}

/* ---- trends ---- */

void sw_trend_api_get(const struct sw_api *api, struct MHD_Connection *c, const char *quantity,
                      struct sw_reply *r)
{
    int64_t run = -1, limit = 10000;
    double from = -INFINITY, to = INFINITY;
    int has_run;
    if ((has_run = sw_req_query_int(c, "run", &run, r)) < 0 || sw_req_query_int(c, "limit", &limit, r) < 0)
        return;
    const char *fs = sw_req_qarg(c, "from"), *ts = sw_req_qarg(c, "to");
    char *end;
    if (fs && (from = strtod(fs, &end), !*fs || *end || !isfinite(from))) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"from\": Unix seconds expected");
        return;
    }
    if (ts && (to = strtod(ts, &end), !*ts || *end || !isfinite(to))) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"to\": Unix seconds expected");
        return;
    }
    if (!has_run && !fs && !ts) {
        sw_reply_fail(r, SW_EINVAL, "trends need run=N or a time range from=/to= (Unix s)");
        return;
    }
    /* quantity: a spill column, trigger_rate, counters.X, rates.X (per second), per_mot.X, check.NAME */
    static const char *const cols[] = {"mot",           "events",         "duration", "dead_time",
                                       "decode_errors", "unknown_fields", NULL};
    const char *dot = strchr(quantity, '.');
    const char *kind = NULL, *sub = dot ? dot + 1 : NULL;
    for (int i = 0; cols[i]; i++)
        if (strcmp(quantity, cols[i]) == 0)
            kind = "col";
    if (!strcmp(quantity, "trigger_rate"))
        kind = "trigger_rate";
    else if (dot && *sub &&
             (!strncmp(quantity, "counters.", 9) || !strncmp(quantity, "rates.", 6) ||
              !strncmp(quantity, "per_mot.", 8) || !strncmp(quantity, "check.", 6)))
        kind = quantity;
    if (!kind) {
        sw_reply_fail(r, SW_EINVAL,
                      "unknown trend quantity \"%s\": use mot, events, duration, dead_time, decode_errors, "
                      "unknown_fields, trigger_rate, counters.NAME, rates.NAME, per_mot.NAME or check.NAME",
                      quantity);
        return;
    }
    sw_sql *db = sw_db_reader_for_run(api->store, has_run, run, r);
    if (!db)
        return;
    int is_check = !strncmp(quantity, "check.", 6);
    sw_stmt *st;
    /* By run: the primary key narrows to the run's spills. By time only: the index on started
     * (a trend costs what it returns, never what the database holds; an OR of both forms would
     * make SQLite scan every spill). */
#define TREND_CHECK_SQL(where)                                                                    \
    "SELECT s.run, s.spill, s.started, " EFFECTIVE_FLAG ", c.raw, NULL, NULL, NULL, NULL, NULL, " \
    "NULL, s.flag, m.flag, c.state, c.provenance " SPILL_FROM                                     \
    "LEFT JOIN checks c ON c.run = s.run AND c.spill = s.spill AND c.name = ?5 WHERE " where      \
    " ORDER BY s.run, s.spill LIMIT ?4"
#define TREND_COL_SQL(where)                                                                                \
    "SELECT s.run, s.spill, s.started, " EFFECTIVE_FLAG ", s.mot, s.events, s.duration, "                   \
    "s.counters, s.dead_time, s.decode_errors, s.unknown_fields, s.flag, m.flag " SPILL_FROM "WHERE " where \
    " ORDER BY s.run, s.spill LIMIT ?4"
#define TREND_BY_RUN  "s.run = ?1 AND coalesce(s.started, 0) BETWEEN ?2 AND ?3"
#define TREND_BY_TIME "?1 < 0 AND s.started BETWEEN ?2 AND ?3"
    const char *sql = is_check ? (has_run ? TREND_CHECK_SQL(TREND_BY_RUN) : TREND_CHECK_SQL(TREND_BY_TIME))
                               : (has_run ? TREND_COL_SQL(TREND_BY_RUN) : TREND_COL_SQL(TREND_BY_TIME));
    if (sw_db_prepare(db, sql, &st, r) != 0)
        return;
    sw_sql_bind_int64(st, 1, has_run ? run : -1);
    sw_sql_bind_double(st, 2, isfinite(from) ? from : -1e300);
    sw_sql_bind_double(st, 3, isfinite(to) ? to : 1e300);
    sw_sql_bind_int64(st, 4, limit);
    if (is_check)
        sw_sql_bind_text(st, 5, sub, -1, SW_SQL_STATIC);
    json_t *points = json_array();
    while (sw_sql_step(st) == SW_SQL_ROW) {
        double v = NAN;
        if (is_check)
            v = sw_col_real(st, 4);
        else if (!strcmp(kind, "col")) {
            int idx = !strcmp(quantity, "mot")             ? 4
                      : !strcmp(quantity, "events")        ? 5
                      : !strcmp(quantity, "duration")      ? 6
                      : !strcmp(quantity, "dead_time")     ? 8
                      : !strcmp(quantity, "decode_errors") ? 9
                                                           : 10;
            v = sw_col_real(st, idx);
        } else if (!strcmp(kind, "trigger_rate")) {
            double d = sw_col_real(st, 6);
            v = d > 0 ? sw_col_real(st, 5) / d : NAN;
        } else {
            json_t *counters = sw_col_json(st, 7);
            json_t *cv = json_object_get(counters, sub);
            double x = json_is_number(cv) ? json_number_value(cv) : NAN;
            json_decref(counters);
            if (!strncmp(quantity, "counters.", 9))
                v = x;
            else if (!strncmp(quantity, "rates.", 6))
                v = sw_col_real(st, 6) > 0 ? x / sw_col_real(st, 6) : NAN;
            else
                v = sw_col_real(st, 4) > 0 ? x / sw_col_real(st, 4) : NAN;
        }
        const char *manual = (const char *)sw_sql_column_text(st, 12);
        json_t *pt = json_pack(
            "{s:I, s:I, s:o, s:o, s:s, s:s, s:o}", "run", (json_int_t)sw_sql_column_int64(st, 0), "spill",
            (json_int_t)sw_sql_column_int64(st, 1), "time", sw_json_real_or_null(sw_col_real(st, 2)), "value",
            sw_json_real_or_null(v), "flag", (const char *)sw_sql_column_text(st, 3), "auto_flag",
            (const char *)sw_sql_column_text(st, 11), "manual", manual ? json_string(manual) : json_null());
        if (pt && is_check) { /* the check's own verdict and the window that judged it */
            const char *state = (const char *)sw_sql_column_text(st, 13);
            json_object_set_new(pt, "state", state ? json_string(state) : json_null());
            json_t *stored = sw_col_json(st, 14),
                   *prov = stored ? sw_quality_provenance_expand(stored) : NULL;
            json_t *band =
                prov ? sw_quality_band(prov) : json_pack("{s:n, s:n, s:n}", "expected", "good", "warn");
            json_object_update_new(pt, band);
            json_decref(prov);
            json_decref(stored);
        }
        json_array_append_new(points, pt);
    }
    sw_sql_finalize(st);
    json_t *j = json_pack("{s:s, s:o, s:o}", "quantity", quantity, "run",
                          has_run ? json_integer(run) : json_null(), "points", points);
    if (j && is_check) { /* the check as the profile in force defines it */
        struct sw_profile *prof = sw_reload_profile(api->reload);
        for (int i = 0; i < prof->nchecks; i++)
            if (!strcmp(prof->checks[i].name, sub))
                json_object_update_new(j, json_pack("{s:s, s:s, s:s}", "title", prof->checks[i].title, "unit",
                                                    sw_q_unit(&prof->checks[i]), "subsystem",
                                                    prof->checks[i].subsystem));
        sw_profile_unref(prof);
    }
    sw_reply_json(r, 200, j);
}
