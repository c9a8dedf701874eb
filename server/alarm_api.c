/* alarm_api.c — see alarm_api.h */
#include "alarm_api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alarm_report.h"
#include "alarms.h"
#include "clock.h"
#include "defer.h"
#include "err.h"

#define SILENCE_MAX_S (30 * 86400.0) /* a silence longer than a month is a forgotten one */
#define ACK_MAX_S     (7 * 86400.0)

/* A result row as an object: keys[i] = column i; NULL stays null; a "matchers" column is parsed. */
static json_t *row_object(sw_stmt *st, const char *const *keys, int n)
{
    json_t *o = json_object();
    for (int i = 0; i < n; i++) {
        int t = sw_sql_column_type(st, i);
        const char *txt = (const char *)sw_sql_column_text(st, i);
        json_t *v = t == SW_SQL_NULL               ? json_null()
                    : t == SW_SQL_INTEGER          ? json_integer(sw_sql_column_int64(st, i))
                    : t == SW_SQL_FLOAT            ? json_real(sw_sql_column_double(st, i))
                    : !strcmp(keys[i], "matchers") ? json_loads(txt, 0, NULL)
                                                   : json_string(txt);
        json_object_set_new(o, keys[i], v ? v : json_null());
    }
    return o;
}

void sw_alarm_api_list(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r)
{
    const char *hist = sw_req_qarg(c, "history"), *alarm = sw_req_qarg(c, "alarm");
    int64_t limit = 500;
    if (sw_req_query_int(c, "limit", &limit, r) < 0)
        return;
    if (hist && strcmp(hist, "1") && strcmp(hist, "0")) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"history\": 1 or 0");
        return;
    }
    json_t *j = sw_alarms_json(api->alarms);
    if (hist && !strcmp(hist, "1")) {
        static const char *const keys[] = {"id",   "time", "alarm",   "severity", "from",
                                           "to",   "run",  "spill",   "value",    "threshold",
                                           "note", "who",  "shifter", "comment",  "expires"};
        sw_sql *db = sw_db_reader(api->store, r);
        sw_stmt *st;
        if (!db || sw_db_prepare(db,
                                 "SELECT id, time, alarm, severity, from_state, to_state, run, spill, value, "
                                 "threshold, note, who, shifter, comment, expires FROM alarm_events "
                                 "WHERE CAST(?1 AS TEXT) IS NULL OR alarm = ?1 ORDER BY id DESC LIMIT ?2",
                                 &st, r) != 0) {
            json_decref(j);
            return;
        }
        if (alarm)
            sw_sql_bind_text(st, 1, alarm, -1, SW_SQL_STATIC);
        sw_sql_bind_int64(st, 2, limit);
        json_t *arr = json_array();
        while (sw_sql_step(st) == SW_SQL_ROW)
            json_array_append_new(arr, row_object(st, keys, 15));
        sw_sql_finalize(st);
        if (sw_alarm_report_attach(db, arr) != 0) {
            json_decref(arr);
            json_decref(j);
            sw_reply_fail(r, SW_EUNAVAILABLE, "the delivery log cannot be read: %s", sw_sql_errmsg(db));
            return;
        }
        json_object_set_new(j, "history", arr);
    }
    sw_reply_json(r, 200, j);
}

/* ---- the delivery log and the figures ---- */

/* A time query parameter: Unix seconds, or ISO 8601 with a zone (2026-12-02T16:00:00Z,
 * 2026-12-02T17:00:00.5+01:00). 1 with *out, 0 when absent, -1 with a 400 reply. */
static int time_arg(struct MHD_Connection *c, const char *key, double *out, struct sw_reply *r)
{
    const char *v = sw_req_qarg(c, key);
    if (!v)
        return 0;
    char *end;
    double t = strtod(v, &end);
    if (*v && *end == 0 && isfinite(t) && t >= 0) {
        *out = t;
        return 1;
    }
    struct tm tm = {0};
    int n = 0;
    double frac = 0;
    if (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) == 6 &&
        n == 19) {
        const char *p = v + n;
        if (*p == '.') {
            frac = strtod(p, &end);
            p = end;
        }
        int zh = 0, zm = 0, sign = 0, zn = 0;
        if (!strcmp(p, "Z"))
            sign = 1;
        else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &zh, &zm, &zn) == 2 && zn == 5 &&
                 p[6] == 0 && zh < 24 && zm < 60)
            sign = *p == '+' ? 1 : -1;
        if (sign && tm.tm_mon >= 1 && tm.tm_mon <= 12 && tm.tm_mday >= 1 && tm.tm_mday <= 31 &&
            tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec <= 60) {
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            *out = (double)timegm(&tm) + frac - sign * (zh * 3600.0 + zm * 60.0);
            return 1;
        }
    }
    sw_reply_fail(r, SW_EINVAL,
                  "query parameter \"%s\": Unix seconds or an ISO 8601 time with a zone, e.g. "
                  "2026-12-02T16:00:00Z",
                  key);
    return -1;
}

/* The selection of ?since=&until= or ?runs=A-B (and ?within=N when figures). 0, or -1 with a 400. */
static int range_args(struct MHD_Connection *c, int figures, struct sw_alarm_range *g, struct sw_reply *r)
{
    *g = (struct sw_alarm_range){
        .since = -INFINITY, .until = INFINITY, .run_first = -1, .run_last = -1, .within = 3};
    int hs = time_arg(c, "since", &g->since, r);
    if (hs < 0)
        return -1;
    int hu = time_arg(c, "until", &g->until, r);
    if (hu < 0)
        return -1;
    if (hs && hu && !(g->until > g->since)) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"until\": must be later than \"since\"");
        return -1;
    }
    const char *runs = sw_req_qarg(c, "runs");
    if (runs) {
        long long a = -1, b = -1;
        int n = 0;
        if (!((sscanf(runs, "%lld-%lld%n", &a, &b, &n) == 2 ||
               (sscanf(runs, "%lld%n", &a, &n) == 1 && (b = a, 1))) &&
              runs[n] == 0 && a >= 0 && b >= a && runs[0] >= '0' && runs[0] <= '9')) {
            sw_reply_fail(r, SW_EINVAL, "query parameter \"runs\": a run N or a range A-B with A <= B");
            return -1;
        }
        if (hs || hu) {
            sw_reply_fail(r, SW_EINVAL,
                          "query parameter \"runs\": give either \"runs\" or \"since\"/\"until\"");
            return -1;
        }
        g->run_first = a;
        g->run_last = b;
    }
    int64_t within = 3;
    if (figures && sw_req_query_int(c, "within", &within, r) < 0)
        return -1;
    if (within > 1000000) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"within\": a number of spills, 0 to 1000000");
        return -1;
    }
    g->within = (int)within;
    return 0;
}

void sw_alarm_api_deliveries(const struct sw_api *api, struct MHD_Connection *c, const char *name,
                             struct sw_reply *r)
{
    struct sw_alarm_range g;
    int64_t limit = 500;
    if (range_args(c, 0, &g, r) != 0 || sw_req_query_int(c, "limit", &limit, r) < 0)
        return;
    sw_sql *db = sw_db_reader(api->store, r);
    if (!db)
        return;
    if (!sw_alarm_report_known(db, api->alarms, name)) {
        sw_reply_fail(r, SW_ENOTFOUND, "no alarm rule \"%s\" (now or in the history)", name);
        return;
    }
    char err[300];
    json_t *j = sw_alarm_report_deliveries(db, name, &g, limit, err, sizeof err);
    if (!j)
        sw_reply_fail(r, SW_EUNAVAILABLE, "%s", err);
    else
        sw_reply_json(r, 200, j);
}

void sw_alarm_api_stats(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r)
{
    struct sw_alarm_range g;
    if (range_args(c, 1, &g, r) != 0)
        return;
    sw_sql *db = sw_db_reader(api->store, r);
    if (!db)
        return;
    char err[300];
    json_t *j = sw_alarm_report_stats(db, api->alarms, &g, err, sizeof err);
    if (!j)
        sw_reply_fail(r, SW_EUNAVAILABLE, "%s", err);
    else
        sw_reply_json(r, 200, j);
}

/* ---- acknowledge, reset ---- */

/* The body of a shifter action: an object (an empty body is {}). NULL with a 400 reply. */
static json_t *action_body(const char *body, size_t len, const char *const *known, const char **comment,
                           const char **shifter, struct sw_reply *r)
{
    json_t *j = len ? sw_req_body_object(body, len, r) : json_object();
    if (j && (sw_req_body_keys(j, known, r) || sw_req_body_string(j, "comment", 500, comment, r) ||
              sw_req_body_string(j, "shifter", SW_NAME_MAX - 1, shifter, r))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The reply of an action: the alarm's current state. */
static void reply_alarm(const struct sw_api *api, const char *name, struct sw_reply *r)
{
    json_t *all = sw_alarms_json(api->alarms), *one = NULL, *a;
    size_t i;
    json_array_foreach(json_object_get(all, "alarms"), i, a)
    {
        if (!strcmp(json_string_value(json_object_get(a, "name")), name))
            one = json_incref(a);
    }
    json_decref(all);
    sw_reply_json(r, 200, json_pack("{s:o}", "alarm", one ? one : json_null()));
}

/* The reply to a shifter's action, once its transition is in the alarm history: the history is
 * written on the writer thread, and whoever reads it right after the 200 must see the action. */
struct recorded {
    const struct sw_api *api;
    char name[SW_NAME_MAX];
};

static void recorded_done(void *ctx, int rc, struct sw_reply *r)
{
    struct recorded *x = ctx;
    if (rc != 0)
        sw_reply_fail(r, SW_EUNAVAILABLE,
                      "the action is taken but its record in the history could not be confirmed: "
                      "the store is closing or refuses writes");
    else
        reply_alarm(x->api, x->name, r);
}

/* Answered once the writer has run every job queued before (defer.h), the action's record too:
 * the connection waits suspended, not the thread. */
static void reply_recorded(const struct sw_api *api, const char *name, struct sw_reply *r)
{
    struct recorded *x = calloc(1, sizeof *x);
    if (!x) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "the action is taken; out of memory for its answer");
        return;
    }
    x->api = api;
    snprintf(x->name, sizeof x->name, "%s", name);
    sw_reply_defer(r, api->store, NULL, recorded_done, free, x);
}

void sw_alarm_api_ack(const struct sw_api *api, const char *who, const char *name, const char *body,
                      size_t len, struct sw_reply *r)
{
    static const char *const known[] = {"comment", "shifter", "expires_in", NULL};
    const char *comment = NULL, *shifter = NULL;
    json_t *j = action_body(body, len, known, &comment, &shifter, r);
    if (!j)
        return;
    json_t *ex = json_object_get(j, "expires_in");
    double expires = 0;
    if (ex && !json_is_null(ex)) {
        if (!json_is_number(ex) || !(json_number_value(ex) > 0 && json_number_value(ex) <= ACK_MAX_S)) {
            sw_reply_fail(r, SW_EINVAL, "body: \"expires_in\" must be a number of seconds in (0, %.0f]",
                          ACK_MAX_S);
            json_decref(j);
            return;
        }
        expires = sw_wall() + json_number_value(ex);
    }
    char err[300];
    int rc = sw_alarms_ack(api->alarms, name, who, shifter, comment, expires, err, sizeof err);
    json_decref(j);
    if (rc)
        sw_reply_fail(r, rc, "%s", err);
    else
        reply_recorded(api, name, r);
}

void sw_alarm_api_reset(const struct sw_api *api, const char *who, const char *name, const char *body,
                        size_t len, struct sw_reply *r)
{
    static const char *const known[] = {"comment", "shifter", NULL};
    const char *comment = NULL, *shifter = NULL;
    json_t *j = action_body(body, len, known, &comment, &shifter, r);
    if (!j)
        return;
    char err[300];
    int rc = sw_alarms_reset(api->alarms, name, who, shifter, comment, err, sizeof err);
    json_decref(j);
    if (rc)
        sw_reply_fail(r, rc, "%s", err);
    else
        reply_recorded(api, name, r);
}

/* ---- silences ---- */

static const char *const silence_keys[] = {"id",       "created",   "creator", "who",       "comment",
                                           "matchers", "starts_at", "ends_at", "expired_by"};
#define SILENCE_COLS "id, created, creator, who, comment, matchers, starts_at, ends_at, expired_by"

/* A stored silence as JSON, with "active" and the rules it "matches". */
static json_t *silence_json(const struct sw_api *api, sw_stmt *st, double now)
{
    json_t *o = row_object(st, silence_keys, 9);
    double starts = sw_sql_column_double(st, 6), ends = sw_sql_column_double(st, 7);
    json_object_set_new(o, "active", json_boolean(starts <= now && now < ends));
    struct sw_silence s = {0};
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(o, "matchers"), key, v)
    {
        if (s.nmatchers < SW_ALARM_LABELS_MAX && json_is_string(v)) {
            snprintf(s.matchers[s.nmatchers][0], SW_NAME_MAX, "%s", key);
            snprintf(s.matchers[s.nmatchers][1], SW_NAME_MAX, "%s", json_string_value(v));
            s.nmatchers++;
        }
    }
    json_object_set_new(o, "matches", sw_alarms_silence_matches(api->alarms, &s));
    return o;
}

void sw_alarm_api_silences(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r)
{
    int64_t limit = 200, only_active = 0;
    if (sw_req_query_int(c, "limit", &limit, r) < 0 || sw_req_query_int(c, "active", &only_active, r) < 0)
        return;
    sw_sql *db = sw_db_reader(api->store, r);
    sw_stmt *st;
    if (!db || sw_db_prepare(db,
                             "SELECT " SILENCE_COLS " FROM silences WHERE ?1 = 0 OR ends_at > ?2 "
                             "ORDER BY id DESC LIMIT ?3",
                             &st, r) != 0)
        return;
    double now = sw_wall();
    sw_sql_bind_int64(st, 1, only_active);
    sw_sql_bind_double(st, 2, now);
    sw_sql_bind_int64(st, 3, limit);
    json_t *arr = json_array();
    while (sw_sql_step(st) == SW_SQL_ROW)
        json_array_append_new(arr, silence_json(api, st, now));
    sw_sql_finalize(st);
    sw_reply_json(r, 200, json_pack("{s:o}", "silences", arr));
}

/* Fills s->matchers from "matchers" or the "alarm" shorthand. -1 with a 400 reply. */
static int parse_matchers(json_t *j, struct sw_silence *s, struct sw_reply *r)
{
    json_t *m = json_object_get(j, "matchers");
    const char *alarm = NULL;
    if (sw_req_body_string(j, "alarm", SW_NAME_MAX - 1, &alarm, r))
        return -1;
    if (!!m == !!alarm) {
        sw_reply_fail(r, SW_EINVAL,
                      "body: exactly one of \"matchers\" (label -> value) and \"alarm\" (a rule name)");
        return -1;
    }
    if (alarm) {
        snprintf(s->matchers[0][0], SW_NAME_MAX, "alertname");
        snprintf(s->matchers[0][1], SW_NAME_MAX, "%s", alarm);
        s->nmatchers = 1;
        return 0;
    }
    if (!json_is_object(m) || json_object_size(m) == 0 || json_object_size(m) > SW_ALARM_LABELS_MAX) {
        sw_reply_fail(r, SW_EINVAL, "body: \"matchers\" must be an object of 1 to %d label -> value strings",
                      SW_ALARM_LABELS_MAX);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v)
    {
        if (!json_is_string(v) || strlen(key) >= SW_NAME_MAX || json_string_length(v) >= SW_NAME_MAX) {
            sw_reply_fail(r, SW_EINVAL, "body: \"matchers.%.64s\" must be a string of at most %d characters",
                          key, SW_NAME_MAX - 1);
            return -1;
        }
        snprintf(s->matchers[s->nmatchers][0], SW_NAME_MAX, "%s", key);
        snprintf(s->matchers[s->nmatchers][1], SW_NAME_MAX, "%s", json_string_value(v));
        s->nmatchers++;
    }
    return 0;
}

/* A time member: Unix seconds, or def when absent. -1 with a 400 reply. */
static int time_member(json_t *j, const char *key, double def, double *out, struct sw_reply *r)
{
    json_t *v = json_object_get(j, key);
    *out = def;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0) {
        sw_reply_fail(r, SW_EINVAL, "body: \"%s\" must be a time in Unix seconds", key);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* On the heap from the request to its answer (defer.h). */
struct silence_tx {
    struct sw_silence *s; /* POST: &sil */
    char *matchers_json;  /* POST: owned */
    int64_t id;           /* DELETE: which */
    const char *by;       /* DELETE: who ends it (bybuf) */
    double now;
    int found, changed;
    const struct sw_api *api;
    struct sw_silence sil;
    char bybuf[SW_NAME_MAX];
};

static void silence_free(void *ctx)
{
    struct silence_tx *t = ctx;
    free(t->matchers_json);
    free(t);
}

static int insert_silence(sw_sql *db, void *ctx)
{
    struct silence_tx *t = ctx;
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "INSERT INTO silences(created, creator, who, comment, matchers, starts_at, ends_at) "
                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_double(st, 1, t->s->created);
    sw_sql_bind_text(st, 2, t->s->creator, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 3, t->s->who, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 4, t->s->comment, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 5, t->matchers_json, -1, SW_SQL_STATIC);
    sw_sql_bind_double(st, 6, t->s->starts_at);
    sw_sql_bind_double(st, 7, t->s->ends_at);
    int rc = sw_sql_step(st) == SW_SQL_ROW ? 0 : -1;
    if (rc == 0)
        t->s->id = sw_sql_column_int64(st, 0);
    sw_sql_finalize(st);
    return rc;
}

/* Replies with the stored silence id (status 200 or 201) and its matches. */
static void reply_silence(const struct sw_api *api, int64_t id, unsigned status, struct sw_reply *r)
{
    sw_sql *db = sw_db_reader(api->store, r);
    sw_stmt *st;
    if (!db || sw_db_prepare(db, "SELECT " SILENCE_COLS " FROM silences WHERE id = ?1", &st, r) != 0)
        return;
    sw_sql_bind_int64(st, 1, id);
    if (sw_sql_step(st) == SW_SQL_ROW) {
        json_t *s = silence_json(api, st, sw_wall());
        sw_reply_json(r, status,
                      json_pack("{s:o, s:O}", "silence", s, "matches", json_object_get(s, "matches")));
    } else
        sw_reply_fail(r, SW_ENOTFOUND, "no silence %lld", (long long)id);
    sw_sql_finalize(st);
}

static void silence_added(void *ctx, int rc, struct sw_reply *r)
{
    struct silence_tx *t = ctx;
    if (rc != 0)
        sw_reply_fail(r, SW_EUNAVAILABLE, "the silence could not be stored");
    else if (sw_alarms_silence_add(t->api->alarms, t->s) != 0)
        sw_reply_fail(r, SW_EUNAVAILABLE,
                      "out of memory: silence %lld is stored and takes effect at the next start",
                      (long long)t->s->id);
    else
        reply_silence(t->api, t->s->id, 201, r);
}

void sw_alarm_api_silence_post(const struct sw_api *api, const char *who, const char *body, size_t len,
                               struct sw_reply *r)
{
    static const char *const known[] = {"matchers", "alarm",   "duration", "starts_at",
                                        "ends_at",  "comment", "creator",  NULL};
    json_t *j = sw_req_body_object(body, len, r);
    struct sw_silence s = {0};
    const char *comment = NULL, *creator = NULL;
    char *mjson = NULL;
    json_t *matches = NULL, *dur = NULL;
    double now = sw_wall();
    if (!j || sw_req_body_keys(j, known, r) || parse_matchers(j, &s, r) ||
        sw_req_body_string(j, "comment", sizeof s.comment - 1, &comment, r) ||
        sw_req_body_string(j, "creator", SW_NAME_MAX - 1, &creator, r) ||
        time_member(j, "starts_at", now, &s.starts_at, r) || time_member(j, "ends_at", NAN, &s.ends_at, r))
        goto out;
    if (!comment || !*comment) {
        sw_reply_fail(r, SW_EINVAL, "body: \"comment\" is required: say why the alarm is silenced");
        goto out;
    }
    dur = json_object_get(j, "duration");
    if (!!dur == !isnan(s.ends_at)) {
        sw_reply_fail(r, SW_EINVAL, "body: exactly one of \"duration\" (s) and \"ends_at\" (Unix s)");
        goto out;
    }
    if (dur && (!json_is_number(dur) || !(json_number_value(dur) > 0)))
        sw_reply_fail(r, SW_EINVAL, "body: \"duration\" must be a positive number of seconds");
    else {
        if (dur)
            s.ends_at = s.starts_at + json_number_value(dur);
        if (!(s.ends_at > s.starts_at) || !(s.ends_at > now))
            sw_reply_fail(r, SW_EINVAL, "body: the silence must end after it starts and in the future");
        else if (s.ends_at - fmax(s.starts_at, now) > SILENCE_MAX_S)
            sw_reply_fail(r, SW_EINVAL, "body: a silence lasts at most %.0f days", SILENCE_MAX_S / 86400);
    }
    if (r->status)
        goto out;
    matches = sw_alarms_silence_matches(api->alarms, &s);
    if (json_array_size(matches) == 0) {
        sw_reply_fail(r, SW_EINVAL,
                      "body: the matchers match no alarm rule (labels: alertname, severity and the "
                      "rules' own labels)");
        goto out;
    }
    s.created = now;
    snprintf(s.comment, sizeof s.comment, "%s", comment);
    snprintf(s.creator, sizeof s.creator, "%s", creator ? creator : who);
    snprintf(s.who, sizeof s.who, "%s", who);
    json_t *m = json_object();
    for (int k = 0; k < s.nmatchers; k++)
        json_object_set_new(m, s.matchers[k][0], json_string(s.matchers[k][1]));
    mjson = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(m);
    struct silence_tx *t = mjson ? calloc(1, sizeof *t) : NULL;
    if (!t) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory: the silence could not be stored");
        goto out;
    }
    *t = (struct silence_tx){.s = &t->sil, .matchers_json = mjson, .api = api, .sil = s};
    mjson = NULL;
    sw_reply_defer(r, api->store, insert_silence, silence_added, silence_free,
                   t); /* answered once committed */
out:
    free(mjson);
    json_decref(matches);
    json_decref(j);
}

static int expire_silence(sw_sql *db, void *ctx)
{
    struct silence_tx *t = ctx;
    sw_stmt *st;
    if (sw_sql_prepare(db, "SELECT ends_at > ?2 FROM silences WHERE id = ?1", -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, t->id);
    sw_sql_bind_double(st, 2, t->now);
    if (sw_sql_step(st) == SW_SQL_ROW) {
        t->found = 1;
        t->changed = sw_sql_column_int(st, 0);
    }
    sw_sql_finalize(st);
    if (!t->changed)
        return 0;
    if (sw_sql_prepare(db, "UPDATE silences SET ends_at = ?2, expired_by = ?3 WHERE id = ?1", -1, &st,
                       NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, t->id);
    sw_sql_bind_double(st, 2, t->now);
    sw_sql_bind_text(st, 3, t->by, -1, SW_SQL_STATIC);
    int rc = sw_sql_step(st) == SW_SQL_DONE ? 0 : -1;
    sw_sql_finalize(st);
    return rc;
}

static void silence_expired(void *ctx, int rc, struct sw_reply *r)
{
    struct silence_tx *t = ctx;
    if (rc != 0)
        sw_reply_fail(r, SW_EUNAVAILABLE, "the silence could not be updated");
    else if (!t->found)
        sw_reply_fail(r, SW_ENOTFOUND, "no silence %lld", (long long)t->id);
    else if (!t->changed)
        sw_reply_fail(r, SW_ECONFLICT, "silence %lld has already ended", (long long)t->id);
    else {
        sw_alarms_silence_expire(t->api->alarms, t->id);
        reply_silence(t->api, t->id, 200, r);
    }
}

void sw_alarm_api_silence_delete(const struct sw_api *api, const char *who, int64_t id, struct sw_reply *r)
{
    struct silence_tx *t = calloc(1, sizeof *t);
    if (!t) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory: the silence could not be updated");
        return;
    }
    *t = (struct silence_tx){.id = id, .by = t->bybuf, .now = sw_wall(), .api = api};
    snprintf(t->bybuf, sizeof t->bybuf, "%s", who);
    sw_reply_defer(r, api->store, expire_silence, silence_expired, silence_free,
                   t); /* answered once committed */
}
