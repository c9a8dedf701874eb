/* reply.c — see reply.h */
#include "reply.h"

#include "event.h"
#include "jsonnum.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replaces every byte of s that is not part of well-formed UTF-8 with '?': messages quote request
 * bytes (paths, headers), and Jansson refuses to encode invalid UTF-8; a message cut short by its
 * buffer may also end inside a character. */
void sw_utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = *p < 0x80                  ? 1
                : *p >= 0xC2 && *p <= 0xDF ? 2
                : *p >= 0xE0 && *p <= 0xEF ? 3
                : *p >= 0xF0 && *p <= 0xF4 ? 4
                                           : 0;
        int ok = n > 0;
        for (int i = 1; ok && i < n; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (ok && n == 3) /* no overlong forms, no surrogates */
            ok = !(p[0] == 0xE0 && p[1] < 0xA0) && !(p[0] == 0xED && p[1] > 0x9F);
        if (ok && n == 4) /* no overlong forms, nothing above U+10FFFF */
            ok = !(p[0] == 0xF0 && p[1] < 0x90) && !(p[0] == 0xF4 && p[1] > 0x8F);
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

__attribute__((format(printf, 3, 0))) static void reply_msg(struct sw_reply *r, unsigned status,
                                                            const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    sw_utf8_clean(msg);
    json_t *j = json_pack("{s:s}", "error", msg);
    free(r->body);
    r->status = status;
    r->len = 0;
    r->body = j ? sw_json_text(j, JSON_COMPACT, &r->len) : NULL;
    r->content_type = "application/json";
    json_decref(j);
}

void sw_reply_fail(struct sw_reply *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_msg(r, sw_err_http_status(code), fmt, ap);
    va_end(ap);
}

/* Steals j. Every real as its shortest round-trip text (jsonnum.h). */
void sw_reply_json(struct sw_reply *r, unsigned status, json_t *j)
{
    if (!j) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return;
    }
    free(r->body);
    r->body = sw_json_text(j, JSON_COMPACT, &r->len);
    json_decref(j);
    if (!r->body) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return;
    }
    r->status = status;
    r->content_type = "application/json";
}

double sw_col_real(sw_stmt *st, int i)
{
    return sw_sql_column_type(st, i) == SW_SQL_NULL ? NAN : sw_sql_column_double(st, i);
}

json_t *sw_col_json(sw_stmt *st, int i)
{
    const char *txt = (const char *)sw_sql_column_text(st, i);
    return txt ? json_loads(txt, 0, NULL) : NULL;
}

/* ---- query parameters ---- */

const char *sw_req_qarg(struct MHD_Connection *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

/* Parses a non-negative integer; returns 1 when present and valid, 0 when absent, -1 (with the
 * error reply filled) when malformed. */
static int int_arg(struct sw_reply *r, const char *name, const char *text, int64_t *out)
{
    if (!text)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno || v < 0) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"%s\": \"%.40s\" is not a non-negative integer", name,
                      text);
        return -1;
    }
    *out = v;
    return 1;
}

int sw_req_query_int(struct MHD_Connection *c, const char *key, int64_t *out, struct sw_reply *r)
{
    return int_arg(r, key, sw_req_qarg(c, key), out);
}

/* ---- request bodies ---- */

/* Parses the body as a JSON object; NULL with a 400 reply otherwise. */
json_t *sw_req_body_object(const char *body, size_t len, struct sw_reply *r)
{
    json_error_t err;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        sw_reply_fail(r, SW_EINVAL, "body: invalid JSON at line %d column %d: %s", err.line, err.column,
                      err.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        sw_reply_fail(r, SW_EINVAL, "body: must be a JSON object");
        return NULL;
    }
    return j;
}

/* Optional string member: 0 with *out (borrowed, NULL when absent or null), -1 with a 400 reply when it
 * is not a string or longer than max. */
int sw_req_body_string(json_t *obj, const char *key, size_t max, const char **out, struct sw_reply *r)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > max) {
        sw_reply_fail(r, SW_EINVAL, "body: \"%s\" must be a string of at most %zu characters", key, max);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int sw_req_body_keys(json_t *obj, const char *const *known, struct sw_reply *r)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            ok |= strcmp(*k, key) == 0;
        if (!ok) {
            sw_reply_fail(r, SW_EINVAL, "body: unknown key \"%s\"", key);
            return -1;
        }
    }
    return 0;
}

/* Prepares sql; on failure fills a 503 reply and returns -1. */
int sw_db_prepare(sw_sql *db, const char *sql, sw_stmt **st, struct sw_reply *r)
{
    if (sw_sql_prepare(db, sql, -1, st, NULL) == SW_SQL_OK)
        return 0;
    sw_reply_fail(r, SW_EUNAVAILABLE, "database error: %s", sw_sql_errmsg(db));
    return -1;
}

sw_sql *sw_db_reader(struct sw_store *store, struct sw_reply *r)
{
    sw_sql *db = sw_store_reader(store);
    if (!db)
        sw_reply_fail(r, SW_EUNAVAILABLE, "database unavailable");
    return db;
}

static int run_exists(sw_sql *db, int64_t run)
{
    sw_stmt *st;
    int found = 0;
    if (sw_sql_prepare(db, "SELECT 1 FROM runs WHERE run = ?1", -1, &st, NULL) == SW_SQL_OK) {
        sw_sql_bind_int64(st, 1, run);
        found = sw_sql_step(st) == SW_SQL_ROW;
        sw_sql_finalize(st);
    }
    return found;
}

/* The reader connection, checking first (when has_run) that the run exists: NULL with a 503 or
 * 404 reply otherwise. */
sw_sql *sw_db_reader_for_run(struct sw_store *store, int has_run, int64_t run, struct sw_reply *r)
{
    sw_sql *db = sw_db_reader(store, r);
    if (db && has_run && !run_exists(db, run)) {
        sw_reply_fail(r, SW_ENOTFOUND, "run %lld not found", (long long)run);
        return NULL;
    }
    return db;
}

/* ---- the store's faults (store.h, sw_store_state) ---- */

/* 1 with a 503 + Retry-After reply when the store cannot take writes now (a write failing and
 * retried, the free-space reserve reached, or the database file moved): ingest and human writes are
 * refused before anything is applied, so nothing is half done and a resend is never answered as a
 * duplicate of data that is not durable yet. */
int sw_req_store_refuses(struct sw_store *store, struct sw_reply *r)
{
    char why[512];
    enum sw_store_state st = sw_store_state(store, why, sizeof why, NULL);
    if (st == SW_STORE_OK)
        return 0;
    if (st == SW_STORE_FAILED) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "%s; nothing applied", why);
        r->retry_after = 10;
    } else {
        sw_reply_fail(r, SW_EUNAVAILABLE,
                      "the database cannot take writes now: %s; nothing applied; send it again after "
                      "Retry-After seconds",
                      why);
        r->retry_after = 5;
    }
    return 1;
}

/* A run, spill or id in the path: decimal digits only (no sign, no space), at most 18 of them. */
int sw_req_path_int(struct sw_reply *r, const char *what, const char *seg, size_t len, int64_t *out)
{
    char buf[32];
    if (len == 0 || len > 16 || strspn(seg, "0123456789") < len ||
        (memcpy(buf, seg, len), buf[len] = 0, strtoll(buf, NULL, 10) > SW_ID_MAX)) {
        sw_reply_fail(r, SW_EINVAL, "%s in the path must be an integer in 0..%lld (2^53 - 1), got \"%.*s\"",
                      what, SW_ID_MAX, (int)(len > 40 ? 40 : len), seg);
        return -1;
    }
    *out = strtoll(buf, NULL, 10);
    return 0;
}

/* A name in the path (source, histogram, trend quantity, alarm): 1..127 characters of
 * [A-Za-z0-9._:-], checked before any lookup. 0 with out filled, or -1 with a 400 reply. */
int sw_req_path_name(struct sw_reply *r, const char *what, const char *seg, size_t len, char *out,
                     size_t outlen)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";
    size_t good = 0;
    while (good < len && seg[good] && strchr(ok, seg[good]))
        good++;
    if (len == 0 || len >= outlen || good < len) {
        sw_reply_fail(r, SW_EINVAL, "%s in the path: 1..%zu characters of [A-Za-z0-9._:-], got \"%.*s\"",
                      what, outlen - 1, (int)(len > 40 ? 40 : len), seg);
        return -1;
    }
    memcpy(out, seg, len);
    out[len] = 0;
    return 0;
}
