/* runs_api.c — see runs_api.h */
#include "runs_api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "jsonnum.h"
#include "quality.h"
#include "reload.h"
#include "row_stream.h"
#include "sqlq.h"

/* ---- spills ---- */

static json_t *spill_from_row(sw_stmt *st)
{
    double duration = sw_col_real(st, 4), mot = sw_col_real(st, 6);
    int64_t events = sw_sql_column_int64(st, 5);
    json_t *counters = sw_col_json(st, 13);
    if (!counters)
        counters = json_object();
    json_t *rates = json_object(), *per_mot = json_object();
    json_object_set_new(rates, "trigger_hz",
                        sw_json_real_or_null(duration > 0 ? (double)events / duration : NAN));
    const char *key;
    json_t *v;
    json_object_foreach(counters, key, v)
    {
        char name[80];
        double x = json_number_value(v);
        snprintf(name, sizeof name, "%s_hz", key);
        json_object_set_new(rates, name, sw_json_real_or_null(duration > 0 ? x / duration : NAN));
        json_object_set_new(per_mot, key, sw_json_real_or_null(mot > 0 ? x / mot : NAN));
    }
    json_t *reasons = sw_col_json(st, 12);
    json_t *triggers = sw_col_json(st, 14);
    const char *auto_flag = (const char *)sw_sql_column_text(st, 11);
    const char *manual_flag = (const char *)sw_sql_column_text(st, 17);
    json_t *manual = json_null();
    if (manual_flag) {
        json_decref(manual);
        manual = json_pack(
            "{s:s, s:s, s:s, s:s, s:o, s:f}", "flag", manual_flag, "reason",
            (const char *)sw_sql_column_text(st, 18), "comment", (const char *)sw_sql_column_text(st, 19),
            "who", (const char *)sw_sql_column_text(st, 20), "shifter",
            sw_sql_column_type(st, 21) == SW_SQL_NULL ? json_null()
                                                      : json_string((const char *)sw_sql_column_text(st, 21)),
            "time", sw_sql_column_double(st, 22));
    }
    json_t *j = json_pack(
        "{s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:I, s:b, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:f}",
        "run", (json_int_t)sw_sql_column_int64(st, 0), "spill", (json_int_t)sw_sql_column_int64(st, 1),
        "started", sw_json_real_or_null(sw_col_real(st, 2)), "ended",
        sw_json_real_or_null(sw_col_real(st, 3)), "duration", sw_json_real_or_null(duration), "events",
        (json_int_t)events, "mot", sw_json_count(mot), "dead_time", sw_json_real_or_null(sw_col_real(st, 7)),
        "decode_errors", sw_json_real_or_null(sw_col_real(st, 8)), "unknown_fields",
        (json_int_t)sw_sql_column_int64(st, 9), "complete", sw_sql_column_int(st, 10), "flag",
        (const char *)sw_sql_column_text(st, 11), "reasons", reasons ? reasons : json_array(), "counters",
        counters, "triggers", triggers ? triggers : json_object(), "rates", rates, "per_mot", per_mot,
        "profile_version", (const char *)sw_sql_column_text(st, 15), "closed_at",
        sw_sql_column_double(st, 16));
    if (j) {
        /* flag = effective; auto_flag = the checks' verdict; conflict when a human disagrees with it */
        json_object_set_new(j, "flag", json_string(manual_flag ? manual_flag : auto_flag));
        json_object_set_new(j, "auto_flag", json_string(auto_flag));
        json_object_set_new(j, "conflict", json_boolean(manual_flag && strcmp(manual_flag, auto_flag) != 0));
        json_object_set_new(j, "manual", manual);
        json_t *daq = sw_col_json(st, 23); /* NULL in the column: the DAQ sent no per-source counts */
        json_object_set_new(j, "daq_sources", daq ? daq : json_null());
    } else
        json_decref(manual);
    return j;
}

/* A comma-separated list of words from allowed (NULL-terminated, matched without case) as
 * ",WORD,WORD," in out (the canonical spelling), for instr() in SQL. 0, or -1 with a 400 reply. */
static int word_list(const char *param, const char *value, const char *const *allowed, const char *what,
                     char *out, size_t outlen, struct sw_reply *r)
{
    char names[128] = "";
    for (int i = 0; allowed[i]; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                 i ? (allowed[i + 1] ? ", " : " or ") : "", allowed[i]);
    size_t o = 0;
    out[o++] = ',';
    for (const char *p = value;;) {
        size_t n = strcspn(p, ",");
        int k = -1;
        for (int i = 0; allowed[i] && k < 0; i++)
            if (n == strlen(allowed[i]) && strncasecmp(p, allowed[i], n) == 0)
                k = i;
        if (k < 0) {
            char got[40];
            snprintf(got, sizeof got, "%.*s", (int)(n < 32 ? n : 32), p);
            sw_utf8_clean(got);
            sw_reply_fail(r, SW_EINVAL,
                          "query parameter \"%s\": \"%s\" is not %s; use %s (comma-separated for several)",
                          param, got, what, names);
            return -1;
        }
        if (o + strlen(allowed[k]) + 2 > outlen)
            break;
        o += (size_t)snprintf(out + o, outlen - o, "%s,", allowed[k]);
        if (!p[n])
            break;
        p += n + 1;
    }
    return 0;
}

/* The spill list's query (docs/api.md): its arguments, bound to SPILLS_SQL. */
struct spills_args {
    int64_t run, after, limit;
    int has_flags, has_cats;
    char flags[64], cats[64];
};

/* category: the spill's automatic verdict (not GOOD) came from a check of that category. instr:
 * where a text is found in another, SQLite's instr(X, Y) and PostgreSQL's strpos(X, Y). */
#define SPILLS_SQL(instr)                                                                                  \
    "SELECT " SPILL_COLS SPILL_FROM "WHERE s.run = ?1 AND s.spill > ?2 "                                   \
    "AND (CAST(?3 AS TEXT) IS NULL OR " instr "(?3, ',' || " EFFECTIVE_FLAG " || ',') > 0) "               \
    "AND (CAST(?4 AS TEXT) IS NULL OR (s.flag <> 'GOOD' AND EXISTS (SELECT 1 FROM checks c WHERE c.run = " \
    "s.run "                                                                                               \
    "AND c.spill = s.spill AND c.state = s.flag AND " instr "(?4, ',' || c.category || ',') > 0))) "       \
    "ORDER BY s.spill LIMIT ?5"

static void spills_bind(sw_stmt *st, const void *v)
{
    const struct spills_args *a = v;
    sw_sql_bind_int64(st, 1, a->run);
    sw_sql_bind_int64(st, 2, a->after);
    if (a->has_flags)
        sw_sql_bind_text(st, 3, a->flags, -1, SW_SQL_TRANSIENT);
    if (a->has_cats)
        sw_sql_bind_text(st, 4, a->cats, -1, SW_SQL_TRANSIENT);
    sw_sql_bind_int64(st, 5,
                      a->limit >= 0 ? a->limit : INT64_MAX); /* no limit (PostgreSQL refuses LIMIT -1) */
}

static json_t *spills_row(sw_stmt *st, int64_t *key)
{
    *key = sw_sql_column_int64(st, 1);
    return spill_from_row(st);
}

/* next_after: the spill to page on from when limit cut the list, else null */
static char *spills_tail(const void *v, int64_t n, int64_t last)
{
    const struct spills_args *a = v;
    char *t = malloc(48);
    if (t && a->limit >= 0 && n == a->limit && n > 0)
        snprintf(t, 48, "],\"next_after\":%lld}", (long long)last);
    else if (t)
        snprintf(t, 48, "],\"next_after\":null}");
    return t;
}

/* The list is streamed (row_stream): a run of thousands of spills is never a tree in memory. */
void sw_runs_api_spills(const struct sw_api *api, struct MHD_Connection *c, int64_t run, struct sw_reply *r)
{
    static const char *const flags[] = {"GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED", NULL};
    static const char *const cats[] = {"beam", "detector", "daq", NULL};
    struct spills_args a = {.run = run, .after = -1, .limit = -1};
    const char *fq = sw_req_qarg(c, "flag"), *cq = sw_req_qarg(c, "category");
    if ((fq && word_list("flag", fq, flags, "a spill flag", a.flags, sizeof a.flags, r) < 0) ||
        (cq && word_list("category", cq, cats, "a check category", a.cats, sizeof a.cats, r) < 0) ||
        sw_req_query_int(c, "after", &a.after, r) < 0 || sw_req_query_int(c, "limit", &a.limit, r) < 0)
        return;
    a.has_flags = fq != NULL;
    a.has_cats = cq != NULL;
    sw_sql *db = sw_db_reader_for_run(api->store, 1, run, r); /* 404 for a run that is not stored */
    if (!db)
        return;
    char head[64];
    snprintf(head, sizeof head, "{\"run\":%lld,\"spills\":[", (long long)run);
    struct sw_row_stream_spec spec = {.sql = sw_sql_is_pg(db) ? SPILLS_SQL("strpos") : SPILLS_SQL("instr"),
                                      .bind = spills_bind,
                                      .row = spills_row,
                                      .tail = spills_tail,
                                      .head = head,
                                      .args = &a,
                                      .args_size = sizeof a};
    sw_row_stream_start(api->store, &spec, r);
}

void sw_runs_api_spill(const struct sw_api *api, int64_t run, int64_t spill, struct sw_reply *r)
{
    sw_sql *db = sw_db_reader(api->store, r);
    if (!db)
        return;
    sw_stmt *st;
    if (sw_db_prepare(db, "SELECT " SPILL_COLS SPILL_FROM "WHERE s.run = ?1 AND s.spill = ?2", &st, r) != 0)
        return;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_int64(st, 2, spill);
    json_t *j = sw_sql_step(st) == SW_SQL_ROW ? spill_from_row(st) : NULL;
    sw_sql_finalize(st);
    if (!j) {
        json_t *live = sw_engine_run_live(api->engine, run);
        int open = live && json_integer_value(json_object_get(live, "spill")) == spill;
        json_decref(live);
        sw_reply_fail(r, SW_ENOTFOUND,
                      open ? "run %lld spill %lld is still open" : "run %lld spill %lld not found",
                      (long long)run, (long long)spill);
        return;
    }
    json_t *checks = json_array();
    struct sw_profile *prof = sw_reload_profile(api->reload);
    if (sw_sql_prepare(db,
                       "SELECT name, category, state, value, raw, reason, provenance FROM checks WHERE "
                       "run = ?1 AND spill = ?2",
                       -1, &st, NULL) == SW_SQL_OK) {
        sw_sql_bind_int64(st, 1, run);
        sw_sql_bind_int64(st, 2, spill);
        while (sw_sql_step(st) == SW_SQL_ROW) {
            const char *name = (const char *)sw_sql_column_text(st, 0);
            json_t *cj = json_pack(
                "{s:s, s:s, s:s, s:o, s:o, s:s}", "name", name, "category",
                (const char *)sw_sql_column_text(st, 1), "state", (const char *)sw_sql_column_text(st, 2),
                "value", sw_json_real_or_null(sw_col_real(st, 3)), "raw",
                sw_json_real_or_null(sw_col_real(st, 4)), "reason", (const char *)sw_sql_column_text(st, 5));
            if (!cj)
                continue;
            /* Where the verdict came from, as judged then (the ranges below are the profile's now). */
            const char *prov = (const char *)sw_sql_column_text(st, 6);
            json_t *stored = prov ? json_loads(prov, 0, NULL) : NULL;
            json_t *expanded = stored ? sw_quality_provenance_expand(stored) : json_null();
            json_object_set_new(cj, "provenance", expanded); /* expanded stays valid: cj holds it */
            /* The definition as it stands in the profile in force (ranges, reference). */
            const struct sw_check_def *def = NULL;
            for (int i = 0; i < prof->nchecks; i++) {
                const struct sw_check_def *d = &prof->checks[i];
                if (strcmp(d->name, name) != 0)
                    continue;
                def = d;
                json_object_set_new(cj, "title", json_string(d->title));
                json_object_set_new(cj, "subsystem", json_string(d->subsystem));
                json_object_set_new(cj, "unit", json_string(sw_q_unit(d)));
                json_object_set_new(
                    cj, "good",
                    json_pack("[o o]", sw_json_real_or_null(d->good_lo), sw_json_real_or_null(d->good_hi)));
                json_object_set_new(
                    cj, "warn",
                    json_pack("[o o]", sw_json_real_or_null(d->warn_lo), sw_json_real_or_null(d->warn_hi)));
                json_object_set_new(cj, "reference", sw_json_real_or_null(d->reference));
            }
            /* How it was compared, in the API's terms, and the units of raw and value. */
            const char *value_unit = NULL;
            json_object_set_new(cj, "judged",
                                sw_quality_judged(expanded, stored, def, sw_col_real(st, 4), &value_unit));
            json_object_set_new(cj, "raw_unit", def ? json_string(sw_q_unit(def)) : json_null());
            json_object_set_new(cj, "value_unit", value_unit ? json_string(value_unit) : json_null());
            json_decref(stored);
            json_array_append_new(checks, cj);
        }
        sw_sql_finalize(st);
    }
    sw_quality_sort_checks(checks); /* worst first: the BAD one does not hide among twenty */
    sw_profile_unref(prof);
    json_object_set_new(j, "checks", checks);
    json_object_set_new(j, "audit", sw_audit_of_spill(db, run, spill));
    sw_reply_json(r, 200, j);
}

/* ---- DAQ integrity ---- */

/* The worst problem of a spill's DAQ sources: the largest fraction of missing, empty or truncated
 * events (a tie goes to that order, then to the first source name), with the profile's expected
 * sources counted as missing when left out; null without counts or when nothing was wrong. */
static json_t *daq_worst(json_t *daq_sources, const struct sw_profile *prof)
{
    struct sw_daq_value worst = {0}, v;
    int found = 0;
    for (int k = SW_DAQ_MISSING; k <= SW_DAQ_TRUNCATED; k++)
        if (sw_quality_daq(daq_sources, "*", (enum sw_daq_problem)k,
                           (const char(*)[SW_DAQ_SOURCE_MAX + 1]) prof->daq_sources, prof->ndaq_sources,
                           &v) == 0 &&
            v.fraction > 0 && (!found || v.fraction > worst.fraction)) {
            worst = v;
            found = 1;
        }
    if (!found)
        return json_null();
    return json_pack("{s:s, s:s, s:f}", "source", worst.source, "problem", sw_daq_problem_name(worst.problem),
                     "fraction", worst.fraction);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* GET /api/v1/runs/{run}/daq: every spill's DAQ counts and its worst source, in spill order, with
 * the sources of the run (those the spills name, and the profile's expected ones once a spill has
 * counts: a source left out is a cell too, missing from every event). */
void sw_runs_api_daq(const struct sw_api *api, int64_t run, struct sw_reply *r)
{
    sw_sql *db = sw_db_reader_for_run(api->store, 1, run, r);
    if (!db)
        return;
    sw_stmt *st;
    if (sw_db_prepare(db,
                      "SELECT s.spill, " EFFECTIVE_FLAG ", s.daq_sources " SPILL_FROM
                      "WHERE s.run = ?1 ORDER BY s.spill",
                      &st, r) != 0)
        return;
    sw_sql_bind_int64(st, 1, run);
    struct sw_profile *prof = sw_reload_profile(api->reload);
    json_t *spills = json_array(), *seen = json_object(), *expected = json_null();
    int counted = 0;
    while (spills && seen && sw_sql_step(st) == SW_SQL_ROW) {
        json_t *ds = sw_col_json(st, 2);
        const char *name;
        json_t *v;
        json_object_foreach(ds, name, v) json_object_set_new(seen, name, json_true());
        counted = counted || ds;
        json_t *worst = daq_worst(ds, prof);
        json_array_append_new(spills, json_pack("{s:I, s:s, s:o, s:o}", "spill",
                                                (json_int_t)sw_sql_column_int64(st, 0), "flag",
                                                (const char *)sw_sql_column_text(st, 1), "daq_sources",
                                                ds ? ds : json_null(), "worst", worst));
    }
    sw_sql_finalize(st);
    if (prof->daq_sources) {
        json_decref(expected);
        expected = json_array();
        for (int i = 0; i < prof->ndaq_sources; i++) {
            json_array_append_new(expected, json_string(prof->daq_sources[i]));
            if (counted)
                json_object_set_new(seen, prof->daq_sources[i], json_true());
        }
    }
    sw_profile_unref(prof);
    size_t n = json_object_size(seen), i = 0;
    const char **names = calloc(n + 1, sizeof *names);
    json_t *sources = json_array();
    const char *name;
    json_t *v;
    if (names) {
        json_object_foreach(seen, name, v) names[i++] = name;
        qsort(names, n, sizeof *names, cmp_name);
        for (i = 0; i < n; i++)
            json_array_append_new(sources, json_string(names[i]));
    }
    json_t *j = NULL; /* json_pack steals its "o" values, also when it fails */
    if (names)
        j = json_pack("{s:I, s:o, s:o, s:o}", "run", (json_int_t)run, "sources", sources, "expected",
                      expected, "spills", spills);
    else {
        json_decref(sources);
        json_decref(expected);
        json_decref(spills);
    }
    free(names);
    json_decref(seen);
    sw_reply_json(r, 200, j);
}

/* ---- runs ---- */

/* The statement of a run's last spill (?1 = run), prepared once per request and reset per run. */
#define LAST_SPILL_SQL "SELECT " SPILL_COLS SPILL_FROM "WHERE s.run = ?1 ORDER BY s.closed_at DESC LIMIT 1"

/* The run of row st (RUN_SQL); ls: LAST_SPILL_SQL prepared, or NULL (no last spill then). */
static json_t *run_from_row(const struct sw_api *api, sw_stmt *ls, sw_stmt *st)
{
    int64_t run = sw_sql_column_int64(st, 0);
    json_t *flags = json_object();
    for (int s = 0; s < SW_STATE_N; s++)
        json_object_set_new(flags, sw_state_name((enum sw_state)s),
                            json_integer(sw_sql_column_int64(st, 8 + s)));
    json_t *meta = sw_col_json(st, 3);
    json_t *live = sw_engine_run_live(api->engine, run);
    json_t *last = json_null();
    if (ls) {
        sw_sql_reset(ls);
        sw_sql_bind_int64(ls, 1, run);
        if (sw_sql_step(ls) == SW_SQL_ROW) {
            json_decref(last);
            last = spill_from_row(ls);
        }
    }
    json_t *signoff = json_null();
    if (sw_sql_column_type(st, 13) != SW_SQL_NULL) {
        json_decref(signoff);
        signoff =
            json_pack("{s:s, s:o, s:o, s:s}", "who", (const char *)sw_sql_column_text(st, 13), "shifter",
                      sw_json_column(st, 14), "time", sw_json_real_or_null(sw_col_real(st, 15)), "comment",
                      (const char *)sw_sql_column_text(st, 16));
    }
    return json_pack(
        "{s:I, s:o, s:o, s:b, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "run", (json_int_t)run,
        "started", sw_json_real_or_null(sw_col_real(st, 1)), "ended",
        sw_json_real_or_null(sw_col_real(st, 2)), "open",
        live != NULL || sw_sql_column_type(st, 2) == SW_SQL_NULL, "meta", meta ? meta : json_null(), "spills",
        (json_int_t)sw_sql_column_int64(st, 4), "events", (json_int_t)sw_sql_column_int64(st, 5), "mot",
        sw_json_count(sw_sql_column_double(st, 6)), "good_mot", sw_json_count(sw_sql_column_double(st, 7)),
        "flags", flags, "live", live ? live : json_null(), "last_spill", last, "signoff",
        signoff ? signoff : json_null());
}

/* One row per run: the totals are kept at commit in run_totals (migration 013's triggers), so the
 * run list costs what it lists, not what the database holds. */
#define RUN_SQL                                                                                       \
    "SELECT r.run, r.started, r.ended, r.meta, coalesce(t.spills, 0), coalesce(t.events, 0), "        \
    "coalesce(t.mot, 0.0), coalesce(t.good_mot, 0.0), coalesce(t.n_good, 0), coalesce(t.n_warn, 0), " \
    "coalesce(t.n_bad, 0), coalesce(t.n_unknown, 0), coalesce(t.n_excluded, 0), "                     \
    "g.who, g.shifter, g.time, g.comment "                                                            \
    "FROM runs r LEFT JOIN run_totals t ON t.run = r.run LEFT JOIN signoffs g ON g.run = r.run "

void sw_runs_api_list(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r)
{
    int64_t limit = 50, before = -1;
    if (sw_req_query_int(c, "limit", &limit, r) < 0 || sw_req_query_int(c, "before", &before, r) < 0)
        return;
    if (limit < 1 || limit > 1000) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"limit\": must be within 1..1000");
        return;
    }
    /* order=run (default): by run number, paged with before; order=recent: the runs that started
     * last, first (the overview's current run is the most recent, not the highest number). */
    const char *order = sw_req_qarg(c, "order");
    int recent = order && strcmp(order, "recent") == 0;
    if (order && !recent && strcmp(order, "run") != 0) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"order\": run or recent");
        return;
    }
    if (recent && before >= 0) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"before\" pages by run number: not with order=recent");
        return;
    }
    sw_sql *db = sw_db_reader(api->store, r);
    if (!db)
        return;
    sw_stmt *st;
    if (sw_db_prepare(db,
                      recent ? RUN_SQL "WHERE ?1 < 0 ORDER BY r.started DESC, r.run DESC LIMIT ?2"
                             : RUN_SQL "WHERE ?1 < 0 OR r.run < ?1 ORDER BY r.run DESC LIMIT ?2",
                      &st, r) != 0)
        return;
    sw_sql_bind_int64(st, 1, before);
    sw_sql_bind_int64(st, 2, limit + 1);
    sw_stmt *ls = NULL;
    if (sw_sql_prepare(db, LAST_SPILL_SQL, -1, &ls, NULL) != SW_SQL_OK)
        ls = NULL;
    json_t *arr = json_array();
    int64_t n = 0, next = -1;
    while (sw_sql_step(st) == SW_SQL_ROW) {
        if (n++ == limit) { /* one more than asked for: there is a next page (by run number only) */
            if (!recent)
                next =
                    json_integer_value(json_object_get(json_array_get(arr, json_array_size(arr) - 1), "run"));
            break;
        }
        json_array_append_new(arr, run_from_row(api, ls, st));
    }
    sw_sql_finalize(ls);
    sw_sql_finalize(st);
    sw_reply_json(
        r, 200,
        json_pack("{s:o, s:o}", "runs", arr, "next_before", next >= 0 ? json_integer(next) : json_null()));
}

void sw_runs_api_get(const struct sw_api *api, int64_t run, struct sw_reply *r)
{
    sw_sql *db = sw_db_reader(api->store, r);
    if (!db)
        return;
    sw_stmt *st;
    if (sw_db_prepare(db, RUN_SQL "WHERE r.run = ?1", &st, r) != 0)
        return;
    sw_sql_bind_int64(st, 1, run);
    sw_stmt *ls = NULL;
    if (sw_sql_prepare(db, LAST_SPILL_SQL, -1, &ls, NULL) != SW_SQL_OK)
        ls = NULL;
    json_t *j = sw_sql_step(st) == SW_SQL_ROW ? run_from_row(api, ls, st) : NULL;
    sw_sql_finalize(ls);
    sw_sql_finalize(st);
    if (!j)
        sw_reply_fail(r, SW_ENOTFOUND, "run %lld not found", (long long)run);
    else
        sw_reply_json(r, 200, j);
}
