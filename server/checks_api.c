/* checks_api.c — see checks_api.h */
#include "checks_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonnum.h"
#include "quality.h"
#include "reload.h"

static const char *compare_name(enum sw_compare c)
{
    return c == SW_CMP_DELTA ? "delta" : c == SW_CMP_RATIO ? "ratio" : "absolute";
}

static json_t *window(double lo, double hi)
{
    return json_pack("[o o]", sw_json_real_or_null(lo), sw_json_real_or_null(hi));
}

void sw_checks_api_list(const struct sw_api *api, struct sw_reply *r)
{
    struct sw_profile *prof = sw_reload_profile(api->reload);
    json_t *subs = json_array(), *checks = json_array();
    for (int i = 0; i < prof->nsubsystems; i++)
        json_array_append_new(
            subs, json_pack("{s:s, s:s}", "name", prof->subsystems[i][0], "title", prof->subsystems[i][1]));
    for (int i = 0; i < prof->nchecks; i++) {
        const struct sw_check_def *d = &prof->checks[i];
        json_t *phys = json_null();
        if (d->phys.on)
            phys = json_pack("{s:s, s:o, s:o, s:o, s:o}", "compare", compare_name(d->phys.compare), "good",
                             window(d->phys.good_lo, d->phys.good_hi), "warn",
                             window(d->phys.warn_lo, d->phys.warn_hi), "nominal",
                             sw_json_real_or_null(d->phys.nominal), "nominal_meta",
                             d->phys.nominal_meta >= 0 ? json_string(prof->conditions[d->phys.nominal_meta])
                                                       : json_null());
        json_t *hist = d->kind == SW_Q_HIST ? json_string(prof->hists[d->hist].name) : json_null();
        json_array_append_new(
            checks,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o}", "name", d->name, "title",
                      d->title[0] ? d->title : d->name, "category", d->category, "subsystem", d->subsystem,
                      "unit", sw_q_unit(d), "hist", hist, "compare", compare_name(d->compare), "good",
                      d->stability ? window(d->good_lo, d->good_hi) : json_null(), "warn",
                      d->stability ? window(d->warn_lo, d->warn_hi) : json_null(), "physical", phys));
    }
    sw_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:o, s:o}", "profile", prof->name, "version", prof->version,
                            "subsystems", subs, "checks", checks));
    sw_profile_unref(prof);
}

/* Worst last, as the spill flag ranks them: BAD over WARN over UNKNOWN over GOOD over EXCLUDED. */
static int severity(const char *state)
{
    static const char *const order[] = {"EXCLUDED", "GOOD", "UNKNOWN", "WARN", "BAD"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(state, order[i]))
            return i;
    return 3;
}

struct tally {
    json_t *entry; /* the reply's entry for the check (borrowed from the array) */
    int worst;     /* severity(), -1 before any */
};

static int parse_range(const char *s, int64_t *first, int64_t *last)
{
    char *end;
    long long a = strtoll(s, &end, 10), b = a;
    if (end == s || a < 0)
        return -1;
    if (*end == '-') {
        const char *t = end + 1;
        b = strtoll(t, &end, 10);
        if (end == t)
            return -1;
    }
    if (*end || b < a)
        return -1;
    *first = a;
    *last = b;
    return 0;
}

void sw_checks_api_run(const struct sw_api *api, struct MHD_Connection *c, int64_t run, struct sw_reply *r)
{
    int64_t first = 0, last = INT64_MAX;
    const char *range = sw_req_qarg(c, "spills");
    if (range && parse_range(range, &first, &last) != 0) {
        sw_reply_fail(r, SW_EINVAL,
                      "query parameter \"spills\": a spill (5) or a range (3-9) expected, got \"%.40s\"",
                      range);
        return;
    }
    sw_sql *db = sw_db_reader_for_run(api->store, 1, run, r);
    if (!db)
        return;
    sw_stmt *st;
    if (sw_db_prepare(db,
                      "SELECT name, state, spill FROM checks WHERE run = ?1 AND spill BETWEEN ?2 AND ?3 "
                      "ORDER BY spill",
                      &st, r) != 0)
        return;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_int64(st, 2, first);
    sw_sql_bind_int64(st, 3, last);
    struct sw_profile *prof = sw_reload_profile(api->reload);
    json_t *out = json_array(), *byname = json_object();
    /* the profile's checks first, in its order; checks stored by an older profile after them */
    for (int i = 0; i < prof->nchecks; i++) {
        const struct sw_check_def *d = &prof->checks[i];
        json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:n, s:{s:i, s:i, s:i, s:i, s:i}, s:{s:[], s:[], s:[]}}",
                              "name", d->name, "title", d->title[0] ? d->title : d->name, "subsystem",
                              d->subsystem, "unit", sw_q_unit(d), "worst", "counts", "GOOD", 0, "WARN", 0,
                              "BAD", 0, "UNKNOWN", 0, "EXCLUDED", 0, "spills", "BAD", "WARN", "UNKNOWN");
        json_array_append_new(out, e);
        json_object_set(byname, d->name, e);
    }
    int64_t lo = -1, hi = -1;
    while (sw_sql_step(st) == SW_SQL_ROW) {
        const char *name = (const char *)sw_sql_column_text(st, 0);
        const char *state = (const char *)sw_sql_column_text(st, 1);
        int64_t spill = sw_sql_column_int64(st, 2);
        if (!name || !state)
            continue;
        if (lo < 0 || spill < lo)
            lo = spill;
        if (spill > hi)
            hi = spill;
        json_t *e = json_object_get(byname, name);
        if (!e) {
            e = json_pack("{s:s, s:s, s:n, s:s, s:n, s:{s:i, s:i, s:i, s:i, s:i}, s:{s:[], s:[], s:[]}}",
                          "name", name, "title", name, "subsystem", "unit", "", "worst", "counts", "GOOD", 0,
                          "WARN", 0, "BAD", 0, "UNKNOWN", 0, "EXCLUDED", 0, "spills", "BAD", "WARN",
                          "UNKNOWN");
            json_array_append_new(out, e);
            json_object_set(byname, name, e);
        }
        json_t *counts = json_object_get(e, "counts"), *n = json_object_get(counts, state);
        if (n)
            json_integer_set(n, json_integer_value(n) + 1);
        json_t *where = json_object_get(json_object_get(e, "spills"), state);
        if (where)
            json_array_append_new(where, json_integer(spill));
        const char *worst = json_string_value(json_object_get(e, "worst"));
        if (!worst || severity(state) > severity(worst))
            json_object_set_new(e, "worst", json_string(state));
    }
    sw_sql_finalize(st);
    json_decref(byname);
    sw_profile_unref(prof);
    json_t *span = lo < 0 ? json_null() : json_pack("[I I]", (json_int_t)lo, (json_int_t)hi);
    sw_reply_json(r, 200,
                  json_pack("{s:I, s:o, s:o}", "run", (json_int_t)run, "spills", span, "checks", out));
}
