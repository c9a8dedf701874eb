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

void sw_hist_api_list(const struct sw_api *api, struct sw_reply *r)
{
    json_t *arr = json_array();
    struct sw_profile *prof = sw_reload_profile(api->reload);
    for (int i = 0; i < prof->nhists; i++) {
        json_t *d = hist_def_json(&prof->hists[i]), *checks = json_array();
        for (int c = 0; c < prof->nchecks; c++) /* the checks that read it (the explorer shows them) */
            if (prof->checks[c].kind == SW_Q_HIST && prof->checks[c].hist == i)
                json_array_append_new(checks, json_string(prof->checks[c].name));
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

static void hist_stored(const struct sw_api *api, const struct sw_profile *prof, int h, const char *key,
                        uint64_t gen, int has_run, int64_t run, int has_spill, int64_t spill, int has_last,
                        int64_t last, int range, int64_t a, int64_t b, int good_only, struct sw_reply *r);

/* handle_hist for histogram h of prof (a reference the caller holds). */
static void hist_scope(const struct sw_api *api, struct MHD_Connection *c, const struct sw_profile *prof,
                       int h, const char *name, struct sw_reply *r)
{
    int64_t run = -1, spill = -1, last = -1, a = -1, b = -1;
    int has_run, has_spill, has_last;
    if ((has_run = sw_req_query_int(c, "run", &run, r)) < 0 ||
        (has_spill = sw_req_query_int(c, "spill", &spill, r)) < 0 ||
        (has_last = sw_req_query_int(c, "last", &last, r)) < 0)
        return;
    const char *range = sw_req_qarg(c, "spills");
    const char *quality = sw_req_qarg(c, "quality");
    if (range) {
        const char *dash = strchr(range, '-');
        if (!dash || sw_req_path_int(r, "spills (a-b): a", range, (size_t)(dash - range), &a) < 0 ||
            sw_req_path_int(r, "spills (a-b): b", dash + 1, strlen(dash + 1), &b) < 0) {
            sw_reply_fail(r, SW_EINVAL, "query parameter \"spills\": expected a-b with integers, e.g. 3-17");
            return;
        }
        if (a > b) {
            sw_reply_fail(r, SW_EINVAL, "query parameter \"spills\": %lld-%lld is empty", (long long)a,
                          (long long)b);
            return;
        }
    }
    if (quality && strcmp(quality, "good") != 0 && strcmp(quality, "all") != 0) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"quality\": must be good or all");
        return;
    }
    if (has_spill + !!range + has_last > 1) {
        sw_reply_fail(r, SW_EINVAL, "query parameters spill, spills and last exclude each other");
        return;
    }
    if ((has_spill || range) && !has_run) {
        sw_reply_fail(r, SW_EINVAL, "query parameters spill and spills need run");
        return;
    }
    if (has_last && (last < 1 || last > 100000)) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"last\": must be within 1..100000");
        return;
    }
    int good_only = quality && strcmp(quality, "good") == 0;
    if (!has_run && !has_last && !good_only) {
        json_t *j = sw_engine_live_hist(api->engine, name);
        sw_reply_json(r, 200, j);
        return;
    }
    /* A stored scope: the same answer until the writer's next job (hcache.h). The generation is
     * read before the database, so an answer is never kept for a generation older than its data. */
    char key[192];
    uint64_t gen = sw_store_generation(api->store);
    snprintf(key, sizeof key, "%s?%lld&%lld&%lld&%lld&%lld&%d&%s", name, (long long)(has_run ? run : -1),
             (long long)(has_spill ? spill : -1), (long long)(has_last ? last : -1), (long long)a,
             (long long)b, good_only, prof->version);
    if ((r->body = sw_hcache_get(key, gen, &r->len))) {
        r->status = 200;
        r->content_type = "application/json";
        return;
    }
    hist_stored(api, prof, h, key, gen, has_run, run, has_spill, spill, has_last, last, range != NULL, a, b,
                good_only, r);
}

/* hist_scope's stored scopes, computed from the database; a 200 answer is cached under key. */
static void hist_stored(const struct sw_api *api, const struct sw_profile *prof, int h, const char *key,
                        uint64_t gen, int has_run, int64_t run, int has_spill, int64_t spill, int has_last,
                        int64_t last, int range, int64_t a, int64_t b, int good_only, struct sw_reply *r)
{
    sqlite3 *db = sw_db_reader_for_run(api->store, has_run, run, r);
    if (!db)
        return;
    if (has_spill)
        a = b = spill;
    sqlite3_stmt *st;
    /* Retention (docs/configuration.md): a spill whose histograms were pruned answers 410; a range
     * or window counts the pruned spills it could not sum; the run scope adds the run's sums of its
     * pruned spills (run_hists), so it stays whole. */
    int64_t pruned = 0;
    double pruned_at = 0;
    if (has_run && !has_last) {
        if (sw_db_prepare(
                db,
                "SELECT count(*), max(hists_pruned) FROM spills WHERE run = ?1 AND spill BETWEEN ?2 "
                "AND ?3 AND hists_pruned IS NOT NULL",
                &st, r) != 0)
            return;
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_int64(st, 2, has_spill || range ? a : INT64_MIN);
        sqlite3_bind_int64(st, 3, has_spill || range ? b : INT64_MAX);
        if (sqlite3_step(st) == SQLITE_ROW) {
            pruned = sqlite3_column_int64(st, 0);
            pruned_at = sqlite3_column_double(st, 1);
        }
        sqlite3_finalize(st);
    }
    if (has_spill && pruned) {
        sw_reply_json(r, sw_err_http_status(SW_EGONE),
                      json_pack("{s:s+, s:b, s:I, s:I, s:f}", "error",
                                "histograms of this spill were pruned by ",
                                "retention (retention.spill_histograms_days); its run's summed histograms "
                                "are kept (GET without spill=)",
                                "pruned", 1, "run", (json_int_t)run, "spill", (json_int_t)spill, "pruned_at",
                                pruned_at));
        return;
    }
    if (sw_db_prepare(
            db,
            "SELECT h.blob, s.spill FROM spill_hists h JOIN spills s ON s.run = h.run AND s.spill = h.spill "
            "LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill "
            "WHERE (?1 < 0 OR s.run = ?1) AND (?2 < 0 OR s.spill BETWEEN ?2 AND ?3) "
            "AND (?4 = 0 OR " EFFECTIVE_FLAG " = 'GOOD') ORDER BY s.closed_at DESC LIMIT ?5",
            &st, r) != 0)
        return;
    sqlite3_bind_int64(st, 1, has_run ? run : -1);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    sqlite3_bind_int(st, 4, good_only);
    sqlite3_bind_int64(st, 5, has_last ? last : INT64_MAX);
    struct sw_hist acc;
    if (sw_hist_init(&acc, &prof->hists[h]) != 0) {
        sqlite3_finalize(st);
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return;
    }
    int64_t nspills = 0, smin = -1, smax = -1, skipped = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int rc = sw_hist_decode_add(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &acc);
        int64_t s = sqlite3_column_int64(st, 1);
        if (rc == 1) {
            nspills++;
            smin = smin < 0 || s < smin ? s : smin;
            smax = s > smax ? s : smax;
        } else
            skipped++; /* corrupt blob or a binning of an older profile */
    }
    sqlite3_finalize(st);
    int64_t summed = 0;
    if (has_run && !has_spill && !range && !has_last && pruned) {
        if (sw_db_prepare(db, "SELECT blob, spills FROM run_hists WHERE run = ?1 AND quality = ?2", &st, r) !=
            0) {
            sw_hist_release(&acc);
            return;
        }
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_text(st, 2, good_only ? "good" : "all", -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW &&
            sw_hist_decode_add(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &acc) == 1)
            summed = sqlite3_column_int64(st, 1);
        sqlite3_finalize(st);
        nspills += summed;
        pruned = 0; /* in the run's sums */
    }
    json_t *j = sw_hist_to_json(&acc);
    sw_hist_release(&acc);
    const char *scope = has_spill ? "spill" : range ? "range" : has_last ? "last" : "run";
    if (j)
        json_object_update_new(j, json_pack("{s:s, s:o, s:I, s:o, s:b, s:I}", "scope", scope, "run",
                                            has_run ? json_integer(run) : json_null(), "spills",
                                            (json_int_t)nspills, "spill_range",
                                            smin >= 0 ? json_pack("[I I]", smin, smax) : json_null(),
                                            "good_only", good_only, "skipped", (json_int_t)skipped));
    if (j && (pruned || summed))
        json_object_update_new(j, json_pack("{s:I, s:I}", "pruned_spills", (json_int_t)pruned,
                                            "from_run_sums", (json_int_t)summed));
    sw_reply_json(r, 200, j);
    if (r->status == 200 && r->body)
        sw_hcache_put(key, gen, r->body, r->len);
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
    sqlite3 *db = sw_db_reader_for_run(api->store, has_run, run, r);
    if (!db)
        return;
    int is_check = !strncmp(quantity, "check.", 6);
    sqlite3_stmt *st;
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
    sqlite3_bind_int64(st, 1, has_run ? run : -1);
    sqlite3_bind_double(st, 2, isfinite(from) ? from : -1e300);
    sqlite3_bind_double(st, 3, isfinite(to) ? to : 1e300);
    sqlite3_bind_int64(st, 4, limit);
    if (is_check)
        sqlite3_bind_text(st, 5, sub, -1, SQLITE_STATIC);
    json_t *points = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
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
        const char *manual = (const char *)sqlite3_column_text(st, 12);
        json_t *pt = json_pack(
            "{s:I, s:I, s:o, s:o, s:s, s:s, s:o}", "run", (json_int_t)sqlite3_column_int64(st, 0), "spill",
            (json_int_t)sqlite3_column_int64(st, 1), "time", sw_json_real_or_null(sw_col_real(st, 2)),
            "value", sw_json_real_or_null(v), "flag", (const char *)sqlite3_column_text(st, 3), "auto_flag",
            (const char *)sqlite3_column_text(st, 11), "manual", manual ? json_string(manual) : json_null());
        if (pt && is_check) { /* the check's own verdict and the window that judged it */
            const char *state = (const char *)sqlite3_column_text(st, 13);
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
    sqlite3_finalize(st);
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
