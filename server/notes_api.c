/* notes_api.c — see notes_api.h */
#include "notes_api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "defer.h"
#include "jsonnum.h"

#define NOTE_COLS "id, time, who, shifter, text, from_time, to_time"

/* Unix s: a number well inside the range where seconds are exact (2^53 would be far too late). */
#define TIME_MAX 1e11

static json_t *note_from_row(sw_stmt *st)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", sw_json_column(st, 0), "time",
                     sw_json_column(st, 1), "who", sw_json_column(st, 2), "shifter", sw_json_column(st, 3),
                     "text", sw_json_column(st, 4), "from", sw_json_count(sw_col_real(st, 5)), "to",
                     sw_json_count(sw_col_real(st, 6)));
}

/* ---- the write (writer thread) ---- */

/* On the heap from the request to its answer (defer.h), with the body its strings point into. */
struct note_tx {
    const char *who, *shifter, *text;
    double from, to; /* NaN: no range */
    json_t *note;    /* the stored note, read back (owned by the requester) */
    json_t *body;
    char whobuf[SW_NAME_MAX];
};

static int note_fn(sw_sql *db, void *ctx)
{
    struct note_tx *t = ctx;
    sw_stmt *st;
    json_decref(t->note); /* a transaction run again starts afresh */
    t->note = NULL;
    if (sw_sql_prepare(db,
                       "INSERT INTO handover_notes(time, who, shifter, text, from_time, to_time) "
                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_double(st, 1, sw_wall());
    sw_sql_bind_text(st, 2, t->who, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 3, t->shifter, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 4, t->text, -1, SW_SQL_STATIC);
    if (!isnan(t->from)) {
        sw_sql_bind_double(st, 5, t->from);
        sw_sql_bind_double(st, 6, t->to);
    }
    int rc = sw_sql_step(st) == SW_SQL_ROW ? 0 : -1;
    int64_t id = rc == 0 ? sw_sql_column_int64(st, 0) : 0;
    sw_sql_finalize(st);
    if (rc != 0)
        return -1;
    char what[48];
    snprintf(what, sizeof what, "note %lld", (long long)id);
    struct sw_audit_row a = {t->who, t->shifter, "handover", -1, -1, NULL, what, NULL, t->text};
    if (sw_audit_insert(db, &a) != 0)
        return -1;
    if (sw_sql_prepare(db, "SELECT " NOTE_COLS " FROM handover_notes WHERE id = ?1", -1, &st, NULL) !=
        SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, id);
    if (sw_sql_step(st) == SW_SQL_ROW)
        t->note = note_from_row(st);
    sw_sql_finalize(st);
    return t->note ? 0 : -1;
}

/* ---- validation ---- */

/* A required, non-blank string of at most max bytes: 0 with *out, or -1 with a 400 reply. */
static int required_text(json_t *j, const char *key, size_t max, const char *what, const char **out,
                         struct sw_reply *r)
{
    json_t *v = json_object_get(j, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        sw_reply_fail(r, SW_EINVAL, "body: \"%s\" is required: %s", key, what);
        return -1;
    }
    if (!json_is_string(v)) {
        sw_reply_fail(r, SW_EINVAL, "body: \"%s\" must be a string: %s", key, what);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > max) {
        sw_reply_fail(r, SW_EINVAL, "body: \"%s\" is %zu bytes long; at most %zu", key, n, max);
        return -1;
    }
    if (strlen(s) != n) {
        sw_reply_fail(r, SW_EINVAL, "body: \"%s\" must not contain NUL characters", key);
        return -1;
    }
    if (s[strspn(s, " \t\r\n")] == 0) {
        sw_reply_fail(r, SW_EINVAL, "body: \"%s\" is %s: %s", key, n ? "blank" : "empty", what);
        return -1;
    }
    *out = s;
    return 0;
}

/* An optional time in Unix s: 0 with *out (NaN when absent or null), -1 with a 400 reply. */
static int body_time(json_t *j, const char *key, double *out, struct sw_reply *r)
{
    json_t *v = json_object_get(j, key);
    *out = NAN;
    if (!v || json_is_null(v))
        return 0;
    double t = json_is_number(v) ? json_number_value(v) : NAN;
    if (!(t >= 0 && t <= TIME_MAX)) {
        sw_reply_fail(r, SW_EINVAL, "body: \"%s\" must be a time in Unix seconds (a number from 0 to %.0f)",
                      key, TIME_MAX);
        return -1;
    }
    *out = t;
    return 0;
}

static void note_done(void *ctx, int rc, struct sw_reply *r)
{
    struct note_tx *t = ctx;
    if (rc != 0 || !t->note)
        sw_reply_fail(r, SW_EUNAVAILABLE, "database error: the note was not stored");
    else {
        sw_reply_json(r, 201, json_pack("{s:O}", "note", t->note));
    }
}

static void note_free(void *ctx)
{
    struct note_tx *t = ctx;
    json_decref(t->note);
    json_decref(t->body);
    free(t);
}

void sw_notes_api_post(const struct sw_api *api, const char *who, const char *body, size_t len,
                       struct sw_reply *r)
{
    static const char *const known[] = {"shifter", "text", "from", "to", NULL};
    json_t *j = sw_req_body_object(body, len, r);
    if (!j)
        return;
    struct note_tx *t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(j);
        sw_reply_fail(r, SW_ENOMEM, "out of memory: the note was not stored");
        return;
    }
    *t = (struct note_tx){.who = t->whobuf, .body = j};
    snprintf(t->whobuf, sizeof t->whobuf, "%s", who);
    if (sw_req_body_keys(j, known, r) ||
        required_text(j, "shifter", 100, "the name of the person who writes the note", &t->shifter, r) ||
        required_text(j, "text", SW_NOTE_TEXT_MAX, "what the next shift should know", &t->text, r) ||
        body_time(j, "from", &t->from, r) || body_time(j, "to", &t->to, r))
        goto out;
    if (isnan(t->from) != isnan(t->to)) {
        sw_reply_fail(r, SW_EINVAL, "body: \"%s\" is required with \"%s\": the shift range the note covers",
                      isnan(t->from) ? "from" : "to", isnan(t->from) ? "to" : "from");
        goto out;
    }
    if (!isnan(t->from) && t->to < t->from) {
        sw_reply_fail(r, SW_EINVAL, "body: \"to\" (%.0f) is before \"from\" (%.0f)", t->to, t->from);
        goto out;
    }
    sw_reply_defer(r, api->store, note_fn, note_done, note_free, t); /* answered once committed */
    return;
out:
    note_free(t);
}

/* ---- the list ---- */

void sw_notes_api_list(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r)
{
    int64_t from = -1, to = -1, limit = 100;
    if (sw_req_query_int(c, "from", &from, r) < 0 || sw_req_query_int(c, "to", &to, r) < 0 ||
        sw_req_query_int(c, "limit", &limit, r) < 0)
        return;
    if (limit < 1 || limit > 1000) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"limit\": must be within 1..1000");
        return;
    }
    if (from >= 0 && to >= 0 && to < from) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"to\" (%lld) is before \"from\" (%lld)", (long long)to,
                      (long long)from);
        return;
    }
    sw_sql *db = sw_db_reader(api->store, r);
    sw_stmt *st;
    /* ?1/?2 < 0: that end is open. A note overlaps by the time it was written or by its range. */
    if (!db || sw_db_prepare(db,
                             "SELECT " NOTE_COLS " FROM handover_notes WHERE "
                             "((?1 < 0 OR time >= ?1) AND (?2 < 0 OR time <= ?2)) OR "
                             "(from_time IS NOT NULL AND (?2 < 0 OR from_time <= ?2) AND "
                             "(?1 < 0 OR to_time >= ?1)) "
                             "ORDER BY time DESC, id DESC LIMIT ?3",
                             &st, r) != 0)
        return;
    sw_sql_bind_int64(st, 1, from);
    sw_sql_bind_int64(st, 2, to);
    sw_sql_bind_int64(st, 3, limit);
    json_t *arr = json_array();
    int rc;
    while ((rc = sw_sql_step(st)) == SW_SQL_ROW)
        json_array_append_new(arr, note_from_row(st));
    sw_sql_finalize(st);
    if (rc != SW_SQL_DONE) {
        json_decref(arr);
        sw_reply_fail(r, SW_EUNAVAILABLE, "database error while reading the notes");
        return;
    }
    sw_reply_json(r, 200, json_pack("{s:o}", "notes", arr));
}
