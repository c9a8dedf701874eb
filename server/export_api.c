/* export_api.c — see export_api.h */
#include "export_api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "engine.h"
#include "event.h"
#include "jsonnum.h"
#include "quality.h"
#include "reload.h"
#include "sqlq.h"

/* The columns of the CSV, and the branch descriptor ROOT's TTree::ReadFile needs for them (the
 * column line alone would make every branch a float, and the text columns unreadable). */
#define CSV_COLUMNS     "run,spill,mot,started,ended,flag_source,started_iso,ended_iso"
#define ROOT_DESCRIPTOR "run/L:spill/L:mot/D:started/D:ended/D:flag_source/C:started_iso/C:ended_iso/C"

enum fmt { FMT_JSON, FMT_CSV, FMT_RANGES };

void sw_export_iso_utc(double t, char *out, size_t outlen)
{
    if (outlen)
        out[0] = 0;
    if (!isfinite(t) || t < 0 || t > 253402300799.0) /* 9999-12-31T23:59:59Z */
        return;
    long long ms = llround(t * 1000.0);
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char base[24];
    if (!gmtime_r(&s, &tm) || strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return;
    snprintf(out, outlen, "%s.%03lldZ", base, ms % 1000);
}

static json_t *iso_or_null(double t)
{
    char b[32];
    sw_export_iso_utc(t, b, sizeof b);
    return b[0] ? json_string(b) : json_null();
}

/* ---- what the header says about a run ---- */

struct run_facts {
    int64_t run;
    double started, ended; /* NaN: unknown, not ended */
    json_t *signoff;       /* {"who", "shifter", "time", "time_iso", "comment"} or NULL */
    int64_t open_spill;    /* -1: none */
    int64_t flags[SW_STATE_N], spills;
    double mot, good_mot;
    json_t *versions; /* [{"version", "spills", "first_spill", "last_spill"}] in order of first spill */
};

static void facts_free(struct run_facts *f)
{
    json_decref(f->signoff);
    json_decref(f->versions);
}

/* The statements of one request that reads many runs (a period), prepared once: parsing them
 * again for every run cost a fifth of the export of 100 runs. Keyed by the SQL text's address. */
struct stmts {
    const char *sql[8];
    sw_stmt *st[8];
    int n;
};

/* sql prepared (or taken from c, reset, when c is not NULL) with ?1 = run: 0, or -1 with a 503. */
static int prep_run(struct stmts *c, sw_sql *db, const char *sql, int64_t run, sw_stmt **st,
                    struct sw_reply *r)
{
    for (int i = 0; c && i < c->n; i++)
        if (c->sql[i] == sql) {
            *st = c->st[i];
            sw_sql_reset(*st);
            sw_sql_bind_int64(*st, 1, run);
            return 0;
        }
    if (sw_db_prepare(db, sql, st, r) != 0)
        return -1;
    if (c && c->n < 8) {
        c->sql[c->n] = sql;
        c->st[c->n++] = *st;
    }
    sw_sql_bind_int64(*st, 1, run);
    return 0;
}

/* Done with st: reset when c keeps it, else finalized. */
static void done(struct stmts *c, sw_stmt *st)
{
    for (int i = 0; c && i < c->n; i++)
        if (c->st[i] == st) {
            sw_sql_reset(st);
            return;
        }
    sw_sql_finalize(st);
}

static void stmts_free(struct stmts *c)
{
    for (int i = 0; i < c->n; i++)
        sw_sql_finalize(c->st[i]);
    c->n = 0;
}

static const char *col_text(sw_stmt *st, int i)
{
    const char *s = (const char *)sw_sql_column_text(st, i);
    return s ? s : "";
}

/* 1 with f filled, 0 when the run is not stored, -1 with a 503 reply. */
static int load_facts(const struct sw_api *api, struct stmts *c, sw_sql *db, int64_t run, struct run_facts *f,
                      struct sw_reply *r)
{
    memset(f, 0, sizeof *f);
    f->run = run;
    f->open_spill = -1;
    sw_stmt *st;
    if (prep_run(c, db, "SELECT started, ended FROM runs WHERE run = ?1", run, &st, r) != 0)
        return -1;
    int found = sw_sql_step(st) == SW_SQL_ROW;
    if (found) {
        f->started = sw_col_real(st, 0);
        f->ended = sw_col_real(st, 1);
    }
    done(c, st);
    if (!found)
        return 0;
    f->versions = json_array();
    if (prep_run(c, db, "SELECT who, shifter, time, comment FROM signoffs WHERE run = ?1", run, &st, r) != 0)
        goto fail;
    if (sw_sql_step(st) == SW_SQL_ROW) {
        double t = sw_sql_column_double(st, 2);
        f->signoff = json_pack(
            "{s:s, s:o, s:o, s:o, s:s}", "who", col_text(st, 0), "shifter",
            sw_sql_column_type(st, 1) == SW_SQL_NULL ? json_null() : json_string(col_text(st, 1)), "time",
            sw_json_real_or_null(t), "time_iso", iso_or_null(t), "comment", col_text(st, 3));
    }
    done(c, st);
    /* The flag counts and MOT of the run: one row of run_totals (kept at commit, migration 13). */
    if (prep_run(c, db,
                 "SELECT spills, mot, good_mot, n_good, n_warn, n_bad, n_unknown, n_excluded FROM run_totals "
                 "WHERE run = ?1",
                 run, &st, r) != 0)
        goto fail;
    if (sw_sql_step(st) == SW_SQL_ROW) {
        f->spills = sw_sql_column_int64(st, 0);
        f->mot = sw_sql_column_double(st, 1);
        f->good_mot = sw_sql_column_double(st, 2);
        static const enum sw_state order[] = {SW_GOOD, SW_WARN, SW_BAD, SW_UNKNOWN, SW_EXCLUDED};
        for (int k = 0; k < 5; k++)
            f->flags[order[k]] = sw_sql_column_int64(st, 3 + k);
    }
    done(c, st);
    if (prep_run(c, db,
                 "SELECT profile_version, count(*), min(spill), max(spill) FROM spills WHERE run = ?1 "
                 "GROUP BY 1 ORDER BY 3",
                 run, &st, r) != 0)
        goto fail;
    while (sw_sql_step(st) == SW_SQL_ROW)
        json_array_append_new(f->versions, json_pack("{s:s, s:I, s:I, s:I}", "version", col_text(st, 0),
                                                     "spills", (json_int_t)sw_sql_column_int64(st, 1),
                                                     "first_spill", (json_int_t)sw_sql_column_int64(st, 2),
                                                     "last_spill", (json_int_t)sw_sql_column_int64(st, 3)));
    done(c, st);
    json_t *live = sw_engine_run_live(api->engine, run);
    if (live)
        f->open_spill = (int64_t)json_integer_value(json_object_get(live, "spill"));
    json_decref(live);
    return 1;
fail:
    facts_free(f);
    return -1;
}

/* Why a run's list is provisional (empty when it is signed off): the reasons in order. */
static json_t *provisional_reasons(const struct run_facts *f)
{
    json_t *a = json_array();
    char b[160];
    if (f->signoff)
        return a;
    json_array_append_new(a, json_string("not signed off"));
    if (isnan(f->ended))
        json_array_append_new(a, json_string("the run has not ended (no run_end yet)"));
    if (f->open_spill >= 0) {
        snprintf(b, sizeof b, "spill %lld is still open", (long long)f->open_spill);
        json_array_append_new(a, json_string(b));
    }
    if (f->flags[SW_UNKNOWN] > 0) {
        snprintf(b, sizeof b, "%lld spill(s) UNKNOWN without a manual decision",
                 (long long)f->flags[SW_UNKNOWN]);
        json_array_append_new(a, json_string(b));
    }
    return a;
}

/* The run's part of a header (also one entry of a period's "runs"). */
static json_t *run_header(const struct run_facts *f, const struct sw_profile *prof)
{
    json_t *flags = json_object();
    for (int s = 0; s < SW_STATE_N; s++)
        json_object_set_new(flags, sw_state_name((enum sw_state)s), json_integer(f->flags[s]));
    json_t *reasons = provisional_reasons(f);
    size_t nv = json_array_size(f->versions);
    json_t *one = nv == 1 ? json_object_get(json_array_get(f->versions, 0), "version") : NULL;
    return json_pack(
        "{s:I, s:o, s:o, s:o, s:o, s:b, s:o, s:b, s:O, s:b, s:o, s:s, s:o, s:O, s:s, s:I, s:o, s:I, s:o, "
        "s:o}",
        "run", (json_int_t)f->run, "run_started", sw_json_real_or_null(f->started), "run_started_iso",
        iso_or_null(f->started), "run_ended", sw_json_real_or_null(f->ended), "run_ended_iso",
        iso_or_null(f->ended), "running", isnan(f->ended) || f->open_spill >= 0, "open_spill",
        f->open_spill >= 0 ? json_integer(f->open_spill) : json_null(), "signed_off", f->signoff != NULL,
        "signoff", f->signoff ? f->signoff : json_null(), "provisional", f->signoff == NULL,
        "provisional_reasons", reasons, "profile", prof->name, "profile_version",
        one ? json_string(json_string_value(one)) : json_null(), "profile_versions", f->versions,
        "profile_in_force", prof->version, "spills", (json_int_t)f->spills, "flags", flags, "good_spills",
        (json_int_t)f->flags[SW_GOOD], "mot", sw_json_count(f->mot), "good_mot", sw_json_count(f->good_mot));
}

/* What every export's header starts with: the server and the time it was made. */
static json_t *export_header(const struct sw_api *api, const char *what, double now)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "export", what, "server", "spillwatch",
                     "server_version", SW_VERSION, "generated", sw_json_real_or_null(now), "generated_iso",
                     iso_or_null(now), "time_zone", "UTC", "display_timezone", api->cfg->display.timezone);
}

/* ---- the GOOD spills of a run ---- */

struct good {
    int64_t spill;
    double mot, started, ended;
    int manual;
};

/* A manual flag of the run: its spill and whether it says GOOD. */
struct manual {
    int64_t spill;
    int good;
};

static int push(void **v, size_t *n, size_t *cap, size_t size)
{
    if (*n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 64;
    void *g = realloc(*v, c * size);
    if (!g)
        return -1;
    *v = g;
    *cap = c;
    return 0;
}

/* The run's GOOD spills in spill order (*out malloc'ed): 0, or -1 with a 503 reply. The spills are
 * read through their covering index (migration 15) and merged with the run's few manual flags in
 * spill order: a join per spill cost five times the scan. */
static int load_good(struct stmts *c, sw_sql *db, int64_t run, struct good **out, size_t *n,
                     struct sw_reply *r)
{
    sw_stmt *st;
    struct manual *man = NULL;
    size_t nman = 0, mcap = 0, cap = 0;
    *out = NULL;
    *n = 0;
    if (prep_run(c, db, "SELECT spill, flag = 'GOOD' FROM manual_flags WHERE run = ?1 ORDER BY spill", run,
                 &st, r) != 0)
        return -1;
    int rc;
    while ((rc = sw_sql_step(st)) == SW_SQL_ROW && push((void **)&man, &nman, &mcap, sizeof *man) == 0)
        man[nman++] = (struct manual){sw_sql_column_int64(st, 0), sw_sql_column_int(st, 1)};
    done(c, st);
    if (rc != SW_SQL_DONE) {
        free(man);
        goto oom;
    }
    if (prep_run(c, db,
                 "SELECT spill, mot, started, ended, flag = 'GOOD' FROM spills WHERE run = ?1 ORDER BY spill",
                 run, &st, r) != 0) {
        free(man);
        return -1;
    }
    size_t m = 0;
    while ((rc = sw_sql_step(st)) == SW_SQL_ROW) {
        int64_t spill = sw_sql_column_int64(st, 0);
        while (m < nman && man[m].spill < spill)
            m++;
        int manual = m < nman && man[m].spill == spill;
        if (!(manual ? man[m].good : sw_sql_column_int(st, 4)))
            continue;
        if (push((void **)out, n, &cap, sizeof **out) != 0)
            break;
        (*out)[(*n)++] =
            (struct good){.spill = spill,
                          .mot = sw_sql_column_type(st, 1) == SW_SQL_NULL ? 0 : sw_sql_column_double(st, 1),
                          .started = sw_col_real(st, 2),
                          .ended = sw_col_real(st, 3),
                          .manual = manual};
    }
    done(c, st);
    free(man);
    if (rc == SW_SQL_DONE)
        return 0;
oom:
    free(*out);
    *out = NULL;
    *n = 0;
    sw_reply_fail(r, SW_EUNAVAILABLE, "store: %s", rc == SW_SQL_ROW ? "out of memory" : sw_sql_errmsg(db));
    return -1;
}

/* [[first, last], ...]: runs of consecutive spill numbers; a spill that is not GOOD, or not stored
 * at all, ends a range. */
static json_t *ranges_of(const struct good *g, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && g[j + 1].spill == g[j].spill + 1)
            j++;
        json_array_append_new(a, json_pack("[I, I]", (json_int_t)g[i].spill, (json_int_t)g[j].spill));
        i = j + 1;
    }
    return a;
}

/* ---- formats ---- */

static int parse_format(struct MHD_Connection *c, int period, enum fmt *out, struct sw_reply *r)
{
    const char *f = sw_req_qarg(c, "format");
    *out = period ? FMT_RANGES : FMT_JSON;
    if (!f)
        return 0;
    if (strcmp(f, "json") == 0)
        *out = FMT_JSON;
    else if (strcmp(f, "ranges") == 0)
        *out = FMT_RANGES;
    else if (strcmp(f, "csv") == 0 && !period)
        *out = FMT_CSV;
    else if (strcmp(f, "csv") == 0)
        sw_reply_fail(r, SW_EINVAL,
                      "query parameter \"format\": ranges or json (csv is one run's list: "
                      "/api/v1/runs/{run}/good-spills?format=csv)");
    else if (strcmp(f, "root") == 0)
        sw_reply_fail(r, SW_EINVAL,
                      "query parameter \"format\": root is for histograms (/api/v1/histograms/...), not the "
                      "good-spill list; use %s",
                      period ? "ranges or json" : "json, csv or ranges");
    else
        sw_reply_fail(r, SW_EINVAL, "query parameter \"format\": %s",
                      period ? "ranges or json" : "json, csv or ranges");
    return r->status ? -1 : 0;
}

/* A real as the shortest of %.15g..%.17g that reads back as the same double. */
static void real_text(char *b, size_t len, double v)
{
    for (int p = 15; p <= 17; p++) {
        snprintf(b, len, "%.*g", p, v);
        if (strtod(b, NULL) == v)
            return;
    }
}

/* One "# key: value" line: a string as it is (control characters as spaces), a number as text, an
 * object or array as compact JSON (user text in it stays escaped: no line is ever broken). */
static void comment_line(FILE *f, const char *key, json_t *v)
{
    char b[40];
    fprintf(f, "# %s: ", key);
    if (json_is_string(v)) {
        for (const char *s = json_string_value(v); *s; s++)
            fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
    } else if (json_is_real(v)) {
        real_text(b, sizeof b, json_real_value(v));
        fputs(b, f);
    } else {
        char *t = sw_json_text(v, JSON_COMPACT | JSON_ENCODE_ANY, NULL); /* objects: shortest reals too */
        fputs(t ? t : "null", f);
        free(t);
    }
    fputc('\n', f);
}

static void csv_time(FILE *f, double t)
{
    if (isfinite(t))
        fprintf(f, "%.3f", t);
    else
        fputs("0.000", f); /* as the list always printed an unknown time */
}

static void reply_csv(const struct run_facts *fa, json_t *header, const struct good *g, size_t n,
                      struct sw_reply *r)
{
    char *text = NULL;
    size_t textlen = 0;
    FILE *f = open_memstream(&text, &textlen);
    if (!f) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return;
    }
    fprintf(f, "# spillwatch good-spill list of run %lld%s\n", (long long)fa->run,
            fa->signoff ? " (signed off)" : " (PROVISIONAL: not signed off)");
    const char *key;
    json_t *v;
    json_object_foreach(header, key, v) comment_line(f, key, v);
    fprintf(f, "# columns: run, spill (numbers); mot (muons on target); started, ended (Unix s, UTC); "
               "flag_source (auto: the checks, manual: a person); started_iso, ended_iso (ISO 8601, UTC)\n");
    fprintf(f, "# ROOT: T->ReadFile(\"%s\", \"" ROOT_DESCRIPTOR "\", ',')\n", r->filename);
    fputs(CSV_COLUMNS "\n", f);
    for (size_t i = 0; i < n; i++) {
        char s[32], e[32];
        sw_export_iso_utc(g[i].started, s, sizeof s);
        sw_export_iso_utc(g[i].ended, e, sizeof e);
        fprintf(f, "%lld,%lld,%.0f,", (long long)fa->run, (long long)g[i].spill, g[i].mot);
        csv_time(f, g[i].started);
        fputc(',', f);
        csv_time(f, g[i].ended);
        fprintf(f, ",%s,%s,%s\n", g[i].manual ? "manual" : "auto", s, e);
    }
    if (fclose(f) != 0) {
        free(text);
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return;
    }
    r->status = 200;
    r->body = text;
    r->len = textlen;
    r->content_type = "text/csv; charset=utf-8";
}

static void set_filename(struct sw_reply *r, const char *scope, const char *what, int provisional,
                         const char *ext)
{
    int n = snprintf(r->filename, sizeof r->filename, "spillwatch-%s-%s%s.%s", scope, what,
                     provisional ? "-provisional" : "", ext);
    if (n < 0 || (size_t)n >= sizeof r->filename) /* cannot happen with 2^53 runs; never half a name */
        r->filename[0] = 0;
}

/* ---- one run ---- */

void sw_export_api_run(const struct sw_api *api, struct MHD_Connection *c, int64_t run, struct sw_reply *r)
{
    enum fmt fmt;
    if (parse_format(c, 0, &fmt, r) != 0)
        return;
    sw_sql *db = sw_db_reader(api->store, r);
    if (!db)
        return;
    struct run_facts fa;
    int got = load_facts(api, NULL, db, run, &fa, r);
    if (got <= 0) {
        if (got == 0)
            sw_reply_fail(r, SW_ENOTFOUND, "run %lld not found", (long long)run);
        return;
    }
    struct good *g;
    size_t n;
    if (load_good(NULL, db, run, &g, &n, r) != 0) {
        facts_free(&fa);
        return;
    }
    double now = sw_wall();
    char scope[32];
    snprintf(scope, sizeof scope, "run%lld", (long long)run);
    int provisional = fa.signoff == NULL;
    if (fmt == FMT_RANGES) {
        json_t *j = json_object();
        if (n > 0) {
            char key[24];
            snprintf(key, sizeof key, "%lld", (long long)run);
            json_object_set_new(j, key, ranges_of(g, n));
        }
        sw_reply_json(r, 200, j);
        set_filename(r, scope, "good-spill-ranges", provisional, "json");
        free(g);
        facts_free(&fa);
        return;
    }
    struct sw_profile *prof = sw_reload_profile(api->reload);
    json_t *header = export_header(api, "good-spills", now);
    json_t *rh = run_header(&fa, prof);
    sw_profile_unref(prof);
    if (!header || !rh || json_object_update(header, rh) != 0) {
        json_decref(header);
        json_decref(rh);
        free(g);
        facts_free(&fa);
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return;
    }
    json_decref(rh);
    set_filename(r, scope, "good-spills", provisional, fmt == FMT_CSV ? "csv" : "json");
    if (fmt == FMT_CSV)
        reply_csv(&fa, header, g, n, r);
    else {
        json_t *arr = json_array();
        double good_mot = 0;
        for (size_t i = 0; i < n; i++) {
            good_mot += g[i].mot;
            json_array_append_new(
                arr, json_pack("{s:I, s:I, s:o, s:o, s:o, s:s, s:o, s:o}", "run", (json_int_t)run, "spill",
                               (json_int_t)g[i].spill, "mot", sw_json_count(g[i].mot), "started",
                               sw_json_real_or_null(g[i].started), "ended", sw_json_real_or_null(g[i].ended),
                               "flag_source", g[i].manual ? "manual" : "auto", "started_iso",
                               iso_or_null(g[i].started), "ended_iso", iso_or_null(g[i].ended)));
        }
        sw_reply_json(r, 200,
                      json_pack("{s:I, s:I, s:o, s:O, s:o, s:o}", "run", (json_int_t)run, "count",
                                (json_int_t)n, "good_mot", sw_json_count(good_mot), "header", header,
                                "ranges", ranges_of(g, n), "spills", arr));
        set_filename(r, scope, "good-spills", provisional, "json");
    }
    json_decref(header);
    free(g);
    facts_free(&fa);
}

/* ---- a period ---- */

/* "runs": a run (1234) or a range (1200-1250); without it every run (*all set): 0, or -1 with a 400
 * reply. */
static int parse_runs(struct MHD_Connection *c, int64_t *first, int64_t *last, int *all, struct sw_reply *r)
{
    const char *v = sw_req_qarg(c, "runs");
    *all = !v;
    if (!v) {
        *first = 0;
        *last = SW_ID_MAX;
        return 0;
    }
    const char *dash = strchr(v, '-');
    char *end = NULL;
    int ok = *v && strspn(v, "0123456789-") == strlen(v) && (!dash || !strchr(dash + 1, '-'));
    if (ok) {
        *first = strtoll(v, &end, 10);
        *last = dash ? strtoll(dash + 1, &end, 10) : *first;
        ok = end != v && *end == 0 && (!dash || (dash != v && dash[1])) && *first <= SW_ID_MAX &&
             *last <= SW_ID_MAX;
    }
    if (!ok) {
        sw_reply_fail(
            r, SW_EINVAL,
            "query parameter \"runs\": a run (1234) or a range of runs (1200-1250); without it, every "
            "run");
        return -1;
    }
    if (*last < *first) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"runs\": the range %lld-%lld is empty (first-last)",
                      (long long)*first, (long long)*last);
        return -1;
    }
    return 0;
}

void sw_export_api_period(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r)
{
    enum fmt fmt;
    int64_t first, last;
    int all;
    if (parse_format(c, 1, &fmt, r) != 0 || parse_runs(c, &first, &last, &all, r) != 0)
        return;
    const char *pv = sw_req_qarg(c, "provisional");
    int with_provisional = pv && (strcmp(pv, "1") == 0 || strcmp(pv, "true") == 0);
    if (pv && !with_provisional && strcmp(pv, "0") != 0 && strcmp(pv, "false") != 0) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"provisional\": 1 or 0");
        return;
    }
    sw_sql *db = sw_db_reader(api->store, r);
    sw_stmt *st;
    if (!db ||
        sw_db_prepare(db, "SELECT run FROM runs WHERE run BETWEEN ?1 AND ?2 ORDER BY run", &st, r) != 0)
        return;
    sw_sql_bind_int64(st, 1, first);
    sw_sql_bind_int64(st, 2, last);
    json_t *ids = json_array();
    while (sw_sql_step(st) == SW_SQL_ROW)
        json_array_append_new(ids, json_integer(sw_sql_column_int64(st, 0)));
    sw_sql_finalize(st);
    double now = sw_wall();
    struct sw_profile *prof = sw_reload_profile(api->reload);
    json_t *golden = json_object(), *runs = json_array(), *signed_runs = json_array(),
           *prov_runs = json_array();
    double mot = 0, good_mot = 0;
    int64_t good_spills = 0;
    int any_provisional = 0, failed = 0;
    struct stmts cache = {0};
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        int64_t run = (int64_t)json_integer_value(id);
        struct run_facts fa;
        struct good *g = NULL;
        size_t n = 0;
        if (load_facts(api, &cache, db, run, &fa, r) <= 0) { /* gone since the listing: passed over */
            failed = r->status != 0;
            if (failed)
                break;
            continue;
        }
        if (load_good(&cache, db, run, &g, &n, r) != 0) {
            facts_free(&fa);
            failed = 1;
            break;
        }
        int provisional = fa.signoff == NULL, included = !provisional || with_provisional;
        json_array_append_new(provisional ? prov_runs : signed_runs, json_integer(run));
        if (included) {
            any_provisional |= provisional;
            mot += fa.mot;
            good_mot += fa.good_mot;
            good_spills += fa.flags[SW_GOOD];
            if (n > 0) {
                char key[24];
                snprintf(key, sizeof key, "%lld", (long long)run);
                json_object_set_new(golden, key, ranges_of(g, n));
            }
        }
        if (fmt == FMT_JSON) {
            json_t *h = run_header(&fa, prof);
            json_object_set_new(h, "included", json_boolean(included));
            json_object_set_new(h, "ranges", ranges_of(g, n));
            json_array_append_new(runs, h);
        }
        free(g);
        facts_free(&fa);
    }
    stmts_free(&cache);
    sw_profile_unref(prof);
    json_decref(ids);
    char scope[64];
    if (all)
        snprintf(scope, sizeof scope, "all-runs");
    else if (first == last)
        snprintf(scope, sizeof scope, "run%lld", (long long)first);
    else
        snprintf(scope, sizeof scope, "runs%lld-%lld", (long long)first, (long long)last);
    if (failed) {
        json_decref(golden);
    } else if (fmt == FMT_RANGES) {
        sw_reply_json(r, 200, golden);
        set_filename(r, scope, "good-spill-ranges", any_provisional, "json");
    } else {
        json_t *header = export_header(api, "good-spill-ranges", now);
        char asked[64];
        if (all)
            snprintf(asked, sizeof asked, "all");
        else
            snprintf(asked, sizeof asked, "%lld-%lld", (long long)first, (long long)last);
        json_t *more =
            json_pack("{s:s, s:b, s:b, s:O, s:O, s:I, s:o, s:o}", "runs", asked, "provisional_included",
                      with_provisional, "provisional", any_provisional, "signed_runs", signed_runs,
                      "provisional_runs", prov_runs, "good_spills", (json_int_t)good_spills, "mot",
                      sw_json_count(mot), "good_mot", sw_json_count(good_mot));
        if (header && more)
            json_object_update(header, more);
        json_decref(more);
        sw_reply_json(r, 200, json_pack("{s:o, s:O, s:o}", "header", header, "runs", runs, "ranges", golden));
        set_filename(r, scope, "good-spill-ranges", any_provisional, "json");
    }
    json_decref(runs);
    json_decref(signed_runs);
    json_decref(prov_runs);
}
