/* api.c — see api.h */
#include "api.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "alarm_api.h"
#include "alarms.h"
#include "certify.h"
#include "hcache.h"
#include "err.h"
#include "hist.h"
#include "log.h"
#include "metrics.h"
#include "quality.h"
#include "rebaseline.h"
#include "reeval.h"
#include "reload.h"
#include "wire.h"

/* Replaces every byte of s that is not part of well-formed UTF-8 with '?': messages quote request
 * bytes (paths, headers), and Jansson refuses to encode invalid UTF-8; a message cut short by its
 * buffer may also end inside a character. */
static void utf8_clean(char *s)
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

void sw_reply_error(struct sw_reply *r, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_clean(msg);
    json_t *j = json_pack("{s:s}", "error", msg);
    free(r->body);
    r->status = status;
    r->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    r->len = r->body ? strlen(r->body) : 0;
    r->content_type = "application/json";
    json_decref(j);
}

/* Steals j. */
void sw_reply_json(struct sw_reply *r, unsigned status, json_t *j)
{
    if (!j) {
        sw_reply_error(r, 503, "out of memory");
        return;
    }
    free(r->body);
    r->body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!r->body) {
        sw_reply_error(r, 503, "out of memory");
        return;
    }
    r->status = status;
    r->len = strlen(r->body);
    r->content_type = "application/json";
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* An integral value (MOT, counts) as a JSON integer, other finite values as reals, else null. */
static json_t *num_or_int(double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return num_or_null(v);
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
    const char *txt = (const char *)sqlite3_column_text(st, i);
    return txt ? json_loads(txt, 0, NULL) : NULL;
}

/* ---- query parameters ---- */

const char *sw_api_qarg(struct MHD_Connection *c, const char *key)
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
        sw_reply_error(r, 400, "query parameter \"%s\": \"%.40s\" is not a non-negative integer", name, text);
        return -1;
    }
    *out = v;
    return 1;
}

int sw_api_query_int(struct MHD_Connection *c, const char *key, int64_t *out, struct sw_reply *r)
{
    return int_arg(r, key, sw_api_qarg(c, key), out);
}

/* ---- request bodies ---- */

/* Parses the body as a JSON object; NULL with a 400 reply otherwise. */
json_t *sw_api_body_object(const char *body, size_t len, struct sw_reply *r)
{
    json_error_t err;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        sw_reply_error(r, 400, "body: invalid JSON at line %d column %d: %s", err.line, err.column, err.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        sw_reply_error(r, 400, "body: must be a JSON object");
        return NULL;
    }
    return j;
}

/* Optional string member: 0 with *out (borrowed, NULL when absent or null), -1 with a 400 reply when it
 * is not a string or longer than max. */
int sw_api_body_string(json_t *obj, const char *key, size_t max, const char **out, struct sw_reply *r)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > max) {
        sw_reply_error(r, 400, "body: \"%s\" must be a string of at most %zu characters", key, max);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int sw_api_body_keys(json_t *obj, const char *const *known, struct sw_reply *r)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            ok |= strcmp(*k, key) == 0;
        if (!ok) {
            sw_reply_error(r, 400, "body: unknown key \"%s\"", key);
            return -1;
        }
    }
    return 0;
}

/* A run, spill or id in the path: decimal digits only (no sign, no space), at most 18 of them. */
static int path_int(struct sw_reply *r, const char *what, const char *seg, size_t len, int64_t *out)
{
    char buf[32];
    if (len == 0 || len > 16 || strspn(seg, "0123456789") < len ||
        (memcpy(buf, seg, len), buf[len] = 0, strtoll(buf, NULL, 10) > SW_ID_MAX)) {
        sw_reply_error(r, 400, "%s in the path must be an integer in 0..%lld (2^53 - 1), got \"%.*s\"", what,
                       SW_ID_MAX, (int)(len > 40 ? 40 : len), seg);
        return -1;
    }
    *out = strtoll(buf, NULL, 10);
    return 0;
}

/* A name in the path (source, histogram, trend quantity, alarm): 1..127 characters of
 * [A-Za-z0-9._:-], checked before any lookup. 0 with out filled, or -1 with a 400 reply. */
static int path_name(struct sw_reply *r, const char *what, const char *seg, size_t len, char *out,
                     size_t outlen)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";
    size_t good = 0;
    while (good < len && seg[good] && strchr(ok, seg[good]))
        good++;
    if (len == 0 || len >= outlen || good < len) {
        sw_reply_error(r, 400, "%s in the path: 1..%zu characters of [A-Za-z0-9._:-], got \"%.*s\"", what,
                       outlen - 1, (int)(len > 40 ? 40 : len), seg);
        return -1;
    }
    memcpy(out, seg, len);
    out[len] = 0;
    return 0;
}

/* ---- auth (docs/design.md §12): bearer tokens compared in constant time ---- */

static int ct_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < lb; i++)
        d |= (unsigned char)(a[i % (la ? la : 1)] ^ b[i]);
    return d == 0 && la == lb;
}

int sw_api_has_role(const struct sw_api *api, struct MHD_Connection *c, unsigned role)
{
    struct sw_reply r = {0};
    int ok = sw_api_authorize(api, c, role, &r, NULL) == 0;
    free(r.body);
    return ok;
}

int sw_api_authorize(const struct sw_api *api, struct MHD_Connection *c, unsigned role, struct sw_reply *r,
                     const char **who)
{
    if (who)
        *who = "open";
    if (api->cfg->ntokens == 0 || (role == SW_ROLE_READ && !api->cfg->read_requires_token))
        return 0;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0) {
        sw_reply_error(r, 401, "missing bearer token (Authorization: Bearer <token>)");
        return -1;
    }
    const struct sw_token *found = NULL;
    for (int i = 0; i < api->cfg->ntokens; i++)
        if (ct_equal(api->cfg->tokens[i].secret, h + 7))
            found = &api->cfg->tokens[i];
    if (!found) {
        sw_reply_error(r, 401, "unknown token");
        return -1;
    }
    if (!(found->roles & role)) {
        sw_reply_error(r, 403, "token \"%s\" lacks the role this request needs", found->name);
        return -1;
    }
    if (who)
        *who = found->name;
    return 0;
}

/* ---- ingest ---- */

/* X-Spillwatch-Lag-Bytes: an integer >= 0 (decimal digits only). 1 when present and valid, 0 when
 * absent, -1 with a 400 reply naming the header. */
static int lag_bytes_header(struct MHD_Connection *c, int64_t *out, struct sw_reply *r)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Spillwatch-Lag-Bytes");
    if (!h)
        return 0;
    long long v = -1;
    if (h[0] >= '0' && h[0] <= '9') {
        char *end;
        errno = 0;
        v = strtoll(h, &end, 10);
        if (*end || errno)
            v = -1;
    }
    if (v < 0) {
        sw_reply_error(r, 400, "X-Spillwatch-Lag-Bytes: \"%.40s\" is not an integer >= 0", h);
        return -1;
    }
    *out = v;
    return 1;
}

/* X-Spillwatch-Lag-Seconds: a finite decimal number >= 0 (no sign, no hex, no inf/nan). Same
 * returns as lag_bytes_header. */
static int lag_seconds_header(struct MHD_Connection *c, double *out, struct sw_reply *r)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Spillwatch-Lag-Seconds");
    if (!h)
        return 0;
    double v = NAN;
    if (h[0] && h[0] != '+' && h[0] != '-' && strspn(h, "0123456789.eE+-") == strlen(h)) {
        char *end;
        v = strtod(h, &end); /* overflow gives HUGE_VAL, refused below; underflow is ~0, fine */
        if (*end)
            v = NAN;
    }
    if (!(v >= 0 && isfinite(v))) {
        sw_reply_error(r, 400, "X-Spillwatch-Lag-Seconds: \"%.40s\" is not a number >= 0", h);
        return -1;
    }
    *out = v;
    return 1;
}

/* X-Spillwatch-Instance: 1..SW_INSTANCE_MAX of [A-Za-z0-9._-]. *out NULL when absent; -1 (400
 * replied) when malformed. */
static int instance_header(struct MHD_Connection *c, const char **out, struct sw_reply *r)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Spillwatch-Instance");
    *out = h;
    size_t n = h ? strlen(h) : 0;
    if (h && (n == 0 || n > SW_INSTANCE_MAX ||
              strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)) {
        sw_reply_error(r, 400, "X-Spillwatch-Instance: 1..%d characters of [A-Za-z0-9._-]", SW_INSTANCE_MAX);
        return -1;
    }
    return 0;
}

/* ---- the store's faults (store.h, sw_store_state) ---- */

/* 1 with a 503 + Retry-After reply when the store cannot take writes now (a write failing and
 * retried, the free-space reserve reached, or the database file moved): ingest and human writes are
 * refused before anything is applied, so nothing is half done and a resend is never answered as a
 * duplicate of data that is not durable yet. */
static int store_refuses(const struct sw_api *api, struct sw_reply *r)
{
    char why[512];
    enum sw_store_state st = sw_store_state(api->store, why, sizeof why, NULL);
    if (st == SW_STORE_OK)
        return 0;
    if (st == SW_STORE_FAILED) {
        sw_reply_error(r, 503, "%s; nothing applied", why);
        r->retry_after = 10;
    } else {
        sw_reply_error(r, 503,
                       "the database cannot take writes now: %s; nothing applied; send it again after "
                       "Retry-After seconds",
                       why);
        r->retry_after = 5;
    }
    return 1;
}

/* For the routes of human writes (flags, sign-off, re-evaluation, baselines, alarm actions,
 * silences, reload): 1 when the write may go on; else 0 with the store's 503 reply. *human is set
 * so that a write that failed in the store on its way (the disk filled meanwhile) is answered the
 * same way (sw_api_handle). */
static int writable(const struct sw_api *api, struct sw_reply *r, int *human)
{
    *human = 1;
    return !store_refuses(api, r);
}

static void handle_ingest(const struct sw_api *api, struct MHD_Connection *c, const char *body, size_t len,
                          struct sw_ingest_call *call, struct sw_reply *r)
{
    atomic_fetch_add(&sw_metrics.ingest_requests, 1);
    atomic_fetch_add(&sw_metrics.ingest_bytes, len);
    const char *source = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Spillwatch-Source");
    const char *seqs = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Spillwatch-Seq");
    int64_t seq = -1;
    if (!!source != !!seqs) {
        sw_reply_error(r, 400, "X-Spillwatch-Source and X-Spillwatch-Seq go together");
        goto rejected;
    }
    if (source) {
        char *end;
        errno = 0;
        long long v = strtoll(seqs, &end, 10);
        if (!*seqs || *end || errno || v < 1 || v > SW_ID_MAX) {
            sw_reply_error(r, 400, "X-Spillwatch-Seq: \"%.40s\" is not an integer in 1..%lld (2^53 - 1)",
                           seqs, SW_ID_MAX);
            goto rejected;
        }
        seq = v;
        size_t sl = strlen(source);
        if (sl == 0 || sl > 100 ||
            strspn(source, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != sl) {
            sw_reply_error(r, 400, "X-Spillwatch-Source: 1..100 characters of [A-Za-z0-9._-]");
            goto rejected;
        }
    }
    const char *instance;
    if (instance_header(c, &instance, r) != 0)
        goto rejected;
    /* The collector's own lag: validated always, recorded for its source (ignored without one)
     * before the batch is judged, so it stays visible while batches are refused. */
    int64_t lag_bytes = -1;
    double lag_seconds = NAN;
    int has_bytes = lag_bytes_header(c, &lag_bytes, r);
    int has_seconds = has_bytes < 0 ? -1 : lag_seconds_header(c, &lag_seconds, r);
    if (has_bytes < 0 || has_seconds < 0)
        goto rejected;
    if (source && (has_bytes || has_seconds) &&
        sw_engine_source_report(api->engine, source, lag_bytes, lag_seconds) != SW_OK) {
        sw_reply_error(r, 503, "out of memory; nothing applied");
        goto rejected;
    }
    if (store_refuses(api, r))
        goto rejected;
    struct sw_batch b = {0};
    struct sw_wire_error werr;
    struct sw_wire_limits lim = {api->cfg->line_max, api->cfg->fields_max, api->cfg->batch_events_max, 0};
    /* The batch is laid out by the fields of the profile in force now; the engine maps rows for
     * spills opened with another profile (a reload in between). */
    struct sw_profile *prof = sw_reload_profile(api->reload);
    if (sw_wire_parse(&b, body ? body : "", len, &prof->fields, &lim, &werr) != 0) {
        sw_batch_release(&b);
        sw_profile_unref(prof);
        json_t *j = json_pack("{s:s}", "error", werr.msg);
        if (j && werr.line > 0) {
            json_object_set_new(j, "line", json_integer(werr.line));
            json_object_set_new(j, "column", json_integer(werr.column));
        }
        sw_reply_json(r, werr.status, j);
        goto rejected;
    }
    struct sw_ingest_call local;
    struct sw_ingest_call *ic = call ? call : &local;
    memset(ic, 0, sizeof *ic);
    snprintf(ic->source, sizeof ic->source, "%s", source ? source : "");
    ic->seq = seq;
    sw_store_wait_init(&ic->w);
    ic->active = 1;
    ic->rc = sw_engine_ingest(api->engine, source, source ? instance : NULL, seq, &b, &prof->fields, &ic->res,
                              &ic->w);
    sw_batch_release(&b);
    sw_profile_unref(prof);
    if (call) {
        r->status = 0; /* the caller waits for the commits, then calls sw_api_ingest_finish */
        return;
    }
    sw_api_ingest_finish(api, &local, r);
    return;
rejected:
    sw_metrics_ingest_rejected(r->status);
}

void sw_api_ingest_finish(const struct sw_api *api, struct sw_ingest_call *call, struct sw_reply *r)
{
    memset(r, 0, sizeof *r);
    const char *source = call->source[0] ? call->source : NULL;
    int64_t seq = call->seq;
    struct sw_ingest_result res = call->res;
    int rc = sw_engine_ingest_finish(api->engine, source, seq, call->rc, &res, &call->w);
    sw_store_wait_release(&call->w);
    call->active = 0;
    if (rc != SW_OK) {
        json_t *j = json_pack("{s:s}", "error", res.error);
        if (j && res.line > 0)
            json_object_set_new(j, "line", json_integer(res.line));
        if (j && rc == SW_EGAP)
            json_object_set_new(j, "resend_from", json_integer((json_int_t)res.resend_from));
        if (j && rc == SW_EHELD)
            json_object_set_new(j, "held_by",
                                json_pack("{s:s, s:f}", "instance", res.held_by, "idle_s", res.held_idle));
        sw_reply_json(r, res.status, j);
        if (rc == SW_EDB) { /* why the commit failed, and when to resend */
            char why[512];
            enum sw_store_state st = sw_store_state(api->store, why, sizeof why, NULL);
            if (st != SW_STORE_OK)
                sw_reply_error(r, 503, "%s: %s; send it again after Retry-After seconds", res.error, why);
            r->retry_after = st == SW_STORE_FAILED ? 10 : 5;
        }
        if (rc == SW_EGAP) {
            sw_metrics_ingest_refused(SW_INGEST_SEQ_GAP);
            return;
        }
        if (rc == SW_EFULL) {
            r->retry_after = res.retry_after;
            sw_metrics_ingest_refused(SW_INGEST_QUEUE_FULL);
            return;
        }
        if (rc == SW_ELIMIT || rc == SW_ETOOBIG) {
            r->retry_after = res.retry_after;
            sw_metrics_ingest_refused(SW_INGEST_OPEN_SPILLS);
            return;
        }
        if (rc == SW_EHELD) {
            sw_metrics_ingest_refused(SW_INGEST_SOURCE_HELD);
            return;
        }
        goto rejected;
    }
    json_t *j =
        json_pack("{s:b, s:I, s:I, s:i}", "duplicate", res.duplicate, "records", (json_int_t)res.records,
                  "events", (json_int_t)res.events, "spills_closed", res.spills_closed);
    if (j && source)
        json_object_set_new(j, "seq", json_integer(seq));
    sw_reply_json(r, 200, j);
    return;
rejected:
    sw_metrics_ingest_rejected(r->status);
}

/* ---- sources ---- */

/* 409 with "held_by" when instance is given and another instance holds source. 0 otherwise. */
static int source_held(const struct sw_api *api, const char *source, const char *instance, struct sw_reply *r)
{
    char holder[SW_INSTANCE_MAX + 1];
    double idle = sw_engine_source_holder(api->engine, source, holder);
    if (!instance || !holder[0] || !strcmp(holder, instance) || !(idle < api->cfg->source_lease))
        return 0;
    json_t *j = json_pack("{s:s, s:{s:s, s:f}}", "error", "", "held_by", "instance", holder, "idle_s", idle);
    char *msg = NULL;
    if (j && asprintf(&msg,
                      "source \"%s\" is held by another collector instance (%s, last batch %.0f s ago): two "
                      "collectors must not share a source id; give this one its own --source, or stop the "
                      "other (the source is free again %.0f s after its last batch)",
                      source, holder, idle, api->cfg->source_lease) > 0)
        json_object_set_new(j, "error", json_string(msg));
    free(msg);
    sw_reply_json(r, 409, j);
    return -1;
}

/* GET /api/v1/sources/{id}: the watermark, and the collector instance holding the source. With
 * X-Spillwatch-Instance (a collector starting up), 409 when another instance holds it. */
static void handle_source(const struct sw_api *api, struct MHD_Connection *c, const char *id,
                          struct sw_reply *r)
{
    const char *instance;
    if (instance_header(c, &instance, r) != 0 || source_held(api, id, instance, r) != 0)
        return;
    /* The watermark a collector resends from: while a commit fails (or the file moved) the applied
     * seq may run ahead of what is durable, so no answer until the store is sound again. */
    if (store_refuses(api, r))
        return;
    sqlite3 *db = sw_store_reader(api->store);
    if (!db) {
        sw_reply_error(r, 503, "database unavailable");
        return;
    }
    sqlite3_stmt *st;
    if (sw_api_prepare(db, "SELECT seq, run, spill, updated FROM sources WHERE source = ?1", &st, r) != 0)
        return;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int64_t applied = sw_engine_source_seq(api->engine, id);
    json_t *j = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        j = json_pack(
            "{s:s, s:I, s:I, s:{s:I, s:I}, s:f}", "source", id, "seq",
            (json_int_t)(applied > sqlite3_column_int64(st, 0) ? applied : sqlite3_column_int64(st, 0)),
            "committed_seq", (json_int_t)sqlite3_column_int64(st, 0), "committed", "run",
            (json_int_t)sqlite3_column_int64(st, 1), "spill", (json_int_t)sqlite3_column_int64(st, 2),
            "updated", sqlite3_column_double(st, 3));
    else if (applied >= 0)
        j = json_pack("{s:s, s:I, s:n, s:n, s:n}", "source", id, "seq", (json_int_t)applied, "committed_seq",
                      "committed", "updated");
    sqlite3_finalize(st);
    if (!j && applied < 0) {
        sw_reply_error(r, 404, "source \"%s\" not seen", id);
        return;
    }
    char holder[SW_INSTANCE_MAX + 1];
    double idle = sw_engine_source_holder(api->engine, id, holder);
    if (j)
        json_object_update_new(j, json_pack("{s:o, s:o}", "instance",
                                            holder[0] ? json_string(holder) : json_null(), "instance_idle_s",
                                            isfinite(idle) ? json_real(idle) : json_null()));
    sw_reply_json(r, 200, j);
}

/* POST /api/v1/sources/{id}/release with X-Spillwatch-Instance: a collector that stops cleanly
 * gives up its source, so another instance may take it at once. */
static void handle_source_release(const struct sw_api *api, struct MHD_Connection *c, const char *id,
                                  struct sw_reply *r)
{
    const char *instance;
    if (instance_header(c, &instance, r) != 0)
        return;
    if (!instance) {
        sw_reply_error(r, 400, "X-Spillwatch-Instance: required (the instance that gives the source up)");
        return;
    }
    if (source_held(api, id, instance, r) != 0)
        return;
    sw_engine_source_release(api->engine, id, instance);
    sw_reply_json(r, 200, json_pack("{s:s, s:b}", "source", id, "released", 1));
}

/* ---- spills ---- */

/* Columns of a spill with its manual flag (columns 17-22) and its DAQ counts (23); the effective
 * flag is the manual one when present. */
#define SPILL_COLS                                                                                    \
    "s.run, s.spill, s.started, s.ended, s.duration, s.events, s.mot, s.dead_time, s.decode_errors, " \
    "s.unknown_fields, s.complete, s.flag, s.reasons, s.counters, s.triggers, s.profile_version, "    \
    "s.closed_at, "                                                                                   \
    "m.flag, m.reason, m.comment, m.who, m.shifter, m.time, s.daq_sources "
#define SPILL_FROM     "FROM spills s LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill "
#define EFFECTIVE_FLAG "coalesce(m.flag, s.flag)"

static json_t *spill_from_row(sqlite3_stmt *st)
{
    double duration = col_real(st, 4), mot = col_real(st, 6);
    int64_t events = sqlite3_column_int64(st, 5);
    json_t *counters = col_json(st, 13);
    if (!counters)
        counters = json_object();
    json_t *rates = json_object(), *per_mot = json_object();
    json_object_set_new(rates, "trigger_hz", num_or_null(duration > 0 ? (double)events / duration : NAN));
    const char *key;
    json_t *v;
    json_object_foreach(counters, key, v)
    {
        char name[80];
        double x = json_number_value(v);
        snprintf(name, sizeof name, "%s_hz", key);
        json_object_set_new(rates, name, num_or_null(duration > 0 ? x / duration : NAN));
        json_object_set_new(per_mot, key, num_or_null(mot > 0 ? x / mot : NAN));
    }
    json_t *reasons = col_json(st, 12);
    json_t *triggers = col_json(st, 14);
    const char *auto_flag = (const char *)sqlite3_column_text(st, 11);
    const char *manual_flag = (const char *)sqlite3_column_text(st, 17);
    json_t *manual = json_null();
    if (manual_flag) {
        json_decref(manual);
        manual = json_pack("{s:s, s:s, s:s, s:s, s:o, s:f}", "flag", manual_flag, "reason",
                           (const char *)sqlite3_column_text(st, 18), "comment",
                           (const char *)sqlite3_column_text(st, 19), "who",
                           (const char *)sqlite3_column_text(st, 20), "shifter",
                           sqlite3_column_type(st, 21) == SQLITE_NULL
                               ? json_null()
                               : json_string((const char *)sqlite3_column_text(st, 21)),
                           "time", sqlite3_column_double(st, 22));
    }
    json_t *j = json_pack(
        "{s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:I, s:b, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:f}",
        "run", (json_int_t)sqlite3_column_int64(st, 0), "spill", (json_int_t)sqlite3_column_int64(st, 1),
        "started", num_or_null(col_real(st, 2)), "ended", num_or_null(col_real(st, 3)), "duration",
        num_or_null(duration), "events", (json_int_t)events, "mot", num_or_int(mot), "dead_time",
        num_or_null(col_real(st, 7)), "decode_errors", num_or_null(col_real(st, 8)), "unknown_fields",
        (json_int_t)sqlite3_column_int64(st, 9), "complete", sqlite3_column_int(st, 10), "flag",
        (const char *)sqlite3_column_text(st, 11), "reasons", reasons ? reasons : json_array(), "counters",
        counters, "triggers", triggers ? triggers : json_object(), "rates", rates, "per_mot", per_mot,
        "profile_version", (const char *)sqlite3_column_text(st, 15), "closed_at",
        sqlite3_column_double(st, 16));
    if (j) {
        /* flag = effective; auto_flag = the checks' verdict; conflict when a human disagrees with it */
        json_object_set_new(j, "flag", json_string(manual_flag ? manual_flag : auto_flag));
        json_object_set_new(j, "auto_flag", json_string(auto_flag));
        json_object_set_new(j, "conflict", json_boolean(manual_flag && strcmp(manual_flag, auto_flag) != 0));
        json_object_set_new(j, "manual", manual);
        json_t *daq = col_json(st, 23); /* NULL in the column: the DAQ sent no per-source counts */
        json_object_set_new(j, "daq_sources", daq ? daq : json_null());
    } else
        json_decref(manual);
    return j;
}

/* Prepares sql; on failure fills a 503 reply and returns -1. */
int sw_api_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct sw_reply *r)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return 0;
    sw_reply_error(r, 503, "database error: %s", sqlite3_errmsg(db));
    return -1;
}

sqlite3 *sw_api_reader(const struct sw_api *api, struct sw_reply *r)
{
    sqlite3 *db = sw_store_reader(api->store);
    if (!db)
        sw_reply_error(r, 503, "database unavailable");
    return db;
}

static int run_exists(sqlite3 *db, int64_t run)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM runs WHERE run = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    return found;
}

/* The reader connection, checking first (when has_run) that the run exists: NULL with a 503 or
 * 404 reply otherwise. */
static sqlite3 *reader_for_run(const struct sw_api *api, int has_run, int64_t run, struct sw_reply *r)
{
    sqlite3 *db = sw_api_reader(api, r);
    if (db && has_run && !run_exists(db, run)) {
        sw_reply_error(r, 404, "run %lld not found", (long long)run);
        return NULL;
    }
    return db;
}

static void handle_spills(const struct sw_api *api, int64_t run, struct sw_reply *r)
{
    sqlite3 *db = reader_for_run(api, 1, run, r);
    if (!db)
        return;
    sqlite3_stmt *st;
    if (sw_api_prepare(db, "SELECT " SPILL_COLS SPILL_FROM "WHERE s.run = ?1 ORDER BY s.spill", &st, r) != 0)
        return;
    sqlite3_bind_int64(st, 1, run);
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, spill_from_row(st));
    sqlite3_finalize(st);
    sw_reply_json(r, 200, json_pack("{s:I, s:o}", "run", (json_int_t)run, "spills", arr));
}

static void handle_spill(const struct sw_api *api, int64_t run, int64_t spill, struct sw_reply *r)
{
    sqlite3 *db = sw_api_reader(api, r);
    if (!db)
        return;
    sqlite3_stmt *st;
    if (sw_api_prepare(db, "SELECT " SPILL_COLS SPILL_FROM "WHERE s.run = ?1 AND s.spill = ?2", &st, r) != 0)
        return;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, spill);
    json_t *j = sqlite3_step(st) == SQLITE_ROW ? spill_from_row(st) : NULL;
    sqlite3_finalize(st);
    if (!j) {
        json_t *live = sw_engine_run_live(api->engine, run);
        int open = live && json_integer_value(json_object_get(live, "spill")) == spill;
        json_decref(live);
        sw_reply_error(r, 404, open ? "run %lld spill %lld is still open" : "run %lld spill %lld not found",
                       (long long)run, (long long)spill);
        return;
    }
    json_t *checks = json_array();
    struct sw_profile *prof = sw_reload_profile(api->reload);
    if (sqlite3_prepare_v2(db,
                           "SELECT name, category, state, value, raw, reason, provenance FROM checks WHERE "
                           "run = ?1 AND spill = ?2",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_int64(st, 2, spill);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            json_t *cj = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "name", name, "category",
                                   (const char *)sqlite3_column_text(st, 1), "state",
                                   (const char *)sqlite3_column_text(st, 2), "value",
                                   num_or_null(col_real(st, 3)), "raw", num_or_null(col_real(st, 4)),
                                   "reason", (const char *)sqlite3_column_text(st, 5));
            /* Where the verdict came from, as judged then (the ranges below are the profile's now). */
            const char *prov = (const char *)sqlite3_column_text(st, 6);
            json_t *stored = prov ? json_loads(prov, 0, NULL) : NULL;
            json_object_set_new(cj, "provenance",
                                stored ? sw_quality_provenance_expand(stored) : json_null());
            json_decref(stored);
            /* The definition as it stands in the profile in force (ranges, reference). */
            for (int i = 0; cj && i < prof->nchecks; i++) {
                const struct sw_check_def *d = &prof->checks[i];
                if (strcmp(d->name, name) != 0)
                    continue;
                json_object_set_new(cj, "title", json_string(d->title));
                json_object_set_new(cj, "unit", json_string(d->unit));
                json_object_set_new(cj, "good",
                                    json_pack("[o o]", num_or_null(d->good_lo), num_or_null(d->good_hi)));
                json_object_set_new(cj, "warn",
                                    json_pack("[o o]", num_or_null(d->warn_lo), num_or_null(d->warn_hi)));
                json_object_set_new(cj, "reference", num_or_null(d->reference));
            }
            json_array_append_new(checks, cj);
        }
        sqlite3_finalize(st);
    }
    sw_profile_unref(prof);
    json_object_set_new(j, "checks", checks);
    json_object_set_new(j, "audit", sw_certify_spill_audit(db, run, spill));
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
static void handle_daq(const struct sw_api *api, int64_t run, struct sw_reply *r)
{
    sqlite3 *db = reader_for_run(api, 1, run, r);
    if (!db)
        return;
    sqlite3_stmt *st;
    if (sw_api_prepare(db,
                       "SELECT s.spill, " EFFECTIVE_FLAG ", s.daq_sources " SPILL_FROM
                       "WHERE s.run = ?1 ORDER BY s.spill",
                       &st, r) != 0)
        return;
    sqlite3_bind_int64(st, 1, run);
    struct sw_profile *prof = sw_reload_profile(api->reload);
    json_t *spills = json_array(), *seen = json_object(), *expected = json_null();
    int counted = 0;
    while (spills && seen && sqlite3_step(st) == SQLITE_ROW) {
        json_t *ds = col_json(st, 2);
        const char *name;
        json_t *v;
        json_object_foreach(ds, name, v) json_object_set_new(seen, name, json_true());
        counted = counted || ds;
        json_t *worst = daq_worst(ds, prof);
        json_array_append_new(spills, json_pack("{s:I, s:s, s:o, s:o}", "spill",
                                                (json_int_t)sqlite3_column_int64(st, 0), "flag",
                                                (const char *)sqlite3_column_text(st, 1), "daq_sources",
                                                ds ? ds : json_null(), "worst", worst));
    }
    sqlite3_finalize(st);
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

static json_t *run_from_row(const struct sw_api *api, sqlite3 *db, sqlite3_stmt *st)
{
    int64_t run = sqlite3_column_int64(st, 0);
    json_t *flags = json_object();
    for (int s = 0; s < SW_STATE_N; s++)
        json_object_set_new(flags, sw_state_name((enum sw_state)s),
                            json_integer(sqlite3_column_int64(st, 8 + s)));
    json_t *meta = col_json(st, 3);
    json_t *live = sw_engine_run_live(api->engine, run);
    json_t *last = json_null();
    sqlite3_stmt *ls;
    if (sqlite3_prepare_v2(
            db, "SELECT " SPILL_COLS SPILL_FROM "WHERE s.run = ?1 ORDER BY s.closed_at DESC LIMIT 1", -1, &ls,
            NULL) == SQLITE_OK) {
        sqlite3_bind_int64(ls, 1, run);
        if (sqlite3_step(ls) == SQLITE_ROW) {
            json_decref(last);
            last = spill_from_row(ls);
        }
        sqlite3_finalize(ls);
    }
    json_t *signoff = col_json(st, 13);
    return json_pack(
        "{s:I, s:o, s:o, s:b, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "run", (json_int_t)run,
        "started", num_or_null(col_real(st, 1)), "ended", num_or_null(col_real(st, 2)), "open",
        live != NULL || sqlite3_column_type(st, 2) == SQLITE_NULL, "meta", meta ? meta : json_null(),
        "spills", (json_int_t)sqlite3_column_int64(st, 4), "events", (json_int_t)sqlite3_column_int64(st, 5),
        "mot", num_or_int(sqlite3_column_double(st, 6)), "good_mot", num_or_int(sqlite3_column_double(st, 7)),
        "flags", flags, "live", live ? live : json_null(), "last_spill", last, "signoff",
        signoff ? signoff : json_null());
}

#define RUN_SQL                                                                                             \
    "SELECT r.run, r.started, r.ended, r.meta, count(s.spill), coalesce(sum(s.events), 0), "                \
    "coalesce(sum(s.mot), 0.0), coalesce(sum(CASE WHEN " EFFECTIVE_FLAG " = 'GOOD' THEN s.mot END), 0.0), " \
    "coalesce(sum(" EFFECTIVE_FLAG " = 'GOOD'), 0), coalesce(sum(" EFFECTIVE_FLAG " = 'WARN'), 0), "        \
    "coalesce(sum(" EFFECTIVE_FLAG " = 'BAD'), 0), coalesce(sum(" EFFECTIVE_FLAG " = 'UNKNOWN'), 0), "      \
    "coalesce(sum(" EFFECTIVE_FLAG " = 'EXCLUDED'), 0), "                                                   \
    "(SELECT json_object('who', g.who, 'shifter', g.shifter, 'time', g.time, 'comment', g.comment) "        \
    "FROM signoffs g WHERE g.run = r.run) "                                                                 \
    "FROM runs r LEFT JOIN spills s ON s.run = r.run "                                                      \
    "LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill "

static void handle_runs(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r)
{
    int64_t limit = 50, before = -1;
    if (int_arg(r, "limit", sw_api_qarg(c, "limit"), &limit) < 0 ||
        int_arg(r, "before", sw_api_qarg(c, "before"), &before) < 0)
        return;
    if (limit < 1 || limit > 1000) {
        sw_reply_error(r, 400, "query parameter \"limit\": must be within 1..1000");
        return;
    }
    /* order=run (default): by run number, paged with before; order=recent: the runs that started
     * last, first (the overview's current run is the most recent, not the highest number). */
    const char *order = sw_api_qarg(c, "order");
    int recent = order && strcmp(order, "recent") == 0;
    if (order && !recent && strcmp(order, "run") != 0) {
        sw_reply_error(r, 400, "query parameter \"order\": run or recent");
        return;
    }
    if (recent && before >= 0) {
        sw_reply_error(r, 400, "query parameter \"before\" pages by run number: not with order=recent");
        return;
    }
    sqlite3 *db = sw_api_reader(api, r);
    if (!db)
        return;
    sqlite3_stmt *st;
    if (sw_api_prepare(db,
                       recent
                           ? RUN_SQL "WHERE ?1 < 0 AND r.run IN (SELECT run FROM runs ORDER BY started DESC, "
                                     "run DESC LIMIT ?2) GROUP BY r.run ORDER BY r.started DESC, r.run DESC"
                           : RUN_SQL "WHERE ?1 < 0 OR r.run < ?1 GROUP BY r.run ORDER BY r.run DESC LIMIT ?2",
                       &st, r) != 0)
        return;
    sqlite3_bind_int64(st, 1, before);
    sqlite3_bind_int64(st, 2, limit + 1);
    json_t *arr = json_array();
    int64_t n = 0, next = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n++ == limit) { /* one more than asked for: there is a next page (by run number only) */
            if (!recent)
                next =
                    json_integer_value(json_object_get(json_array_get(arr, json_array_size(arr) - 1), "run"));
            break;
        }
        json_array_append_new(arr, run_from_row(api, db, st));
    }
    sqlite3_finalize(st);
    sw_reply_json(
        r, 200,
        json_pack("{s:o, s:o}", "runs", arr, "next_before", next >= 0 ? json_integer(next) : json_null()));
}

static void handle_run(const struct sw_api *api, int64_t run, struct sw_reply *r)
{
    sqlite3 *db = sw_api_reader(api, r);
    if (!db)
        return;
    sqlite3_stmt *st;
    if (sw_api_prepare(db, RUN_SQL "WHERE r.run = ?1 GROUP BY r.run", &st, r) != 0)
        return;
    sqlite3_bind_int64(st, 1, run);
    json_t *j = sqlite3_step(st) == SQLITE_ROW ? run_from_row(api, db, st) : NULL;
    sqlite3_finalize(st);
    if (!j)
        sw_reply_error(r, 404, "run %lld not found", (long long)run);
    else
        sw_reply_json(r, 200, j);
}

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
    if (j && d->dim == 2)
        json_object_set_new(j, "y",
                            json_pack("{s:i, s:f, s:f, s:s}", "bins", d->y.bins, "min", d->y.min, "max",
                                      d->y.max, "unit", d->unit_y));
    return j;
}

static void handle_hist_list(const struct sw_api *api, struct sw_reply *r)
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

static void handle_hist(const struct sw_api *api, struct MHD_Connection *c, const char *name,
                        struct sw_reply *r)
{
    struct sw_profile *prof = sw_reload_profile(api->reload);
    int h = sw_profile_find_hist(prof, name);
    if (h < 0)
        sw_reply_error(r, 404, "no histogram \"%s\" in profile \"%s\"", name, prof->name);
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
    if ((has_run = int_arg(r, "run", sw_api_qarg(c, "run"), &run)) < 0 ||
        (has_spill = int_arg(r, "spill", sw_api_qarg(c, "spill"), &spill)) < 0 ||
        (has_last = int_arg(r, "last", sw_api_qarg(c, "last"), &last)) < 0)
        return;
    const char *range = sw_api_qarg(c, "spills");
    const char *quality = sw_api_qarg(c, "quality");
    if (range) {
        const char *dash = strchr(range, '-');
        if (!dash || path_int(r, "spills (a-b): a", range, (size_t)(dash - range), &a) < 0 ||
            path_int(r, "spills (a-b): b", dash + 1, strlen(dash + 1), &b) < 0) {
            sw_reply_error(r, 400, "query parameter \"spills\": expected a-b with integers, e.g. 3-17");
            return;
        }
        if (a > b) {
            sw_reply_error(r, 400, "query parameter \"spills\": %lld-%lld is empty", (long long)a,
                           (long long)b);
            return;
        }
    }
    if (quality && strcmp(quality, "good") != 0 && strcmp(quality, "all") != 0) {
        sw_reply_error(r, 400, "query parameter \"quality\": must be good or all");
        return;
    }
    if (has_spill + !!range + has_last > 1) {
        sw_reply_error(r, 400, "query parameters spill, spills and last exclude each other");
        return;
    }
    if ((has_spill || range) && !has_run) {
        sw_reply_error(r, 400, "query parameters spill and spills need run");
        return;
    }
    if (has_last && (last < 1 || last > 100000)) {
        sw_reply_error(r, 400, "query parameter \"last\": must be within 1..100000");
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
    sqlite3 *db = reader_for_run(api, has_run, run, r);
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
        if (sw_api_prepare(
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
        sw_reply_json(r, 410,
                      json_pack("{s:s+, s:b, s:I, s:I, s:f}", "error",
                                "histograms of this spill were pruned by ",
                                "retention (retention.spill_histograms_days); its run's summed histograms "
                                "are kept (GET without spill=)",
                                "pruned", 1, "run", (json_int_t)run, "spill", (json_int_t)spill, "pruned_at",
                                pruned_at));
        return;
    }
    if (sw_api_prepare(
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
        sw_reply_error(r, 503, "out of memory");
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
        if (sw_api_prepare(db, "SELECT blob, spills FROM run_hists WHERE run = ?1 AND quality = ?2", &st,
                           r) != 0) {
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

static void handle_trend(const struct sw_api *api, struct MHD_Connection *c, const char *quantity,
                         struct sw_reply *r)
{
    int64_t run = -1, limit = 10000;
    double from = -INFINITY, to = INFINITY;
    int has_run;
    if ((has_run = int_arg(r, "run", sw_api_qarg(c, "run"), &run)) < 0 ||
        int_arg(r, "limit", sw_api_qarg(c, "limit"), &limit) < 0)
        return;
    const char *fs = sw_api_qarg(c, "from"), *ts = sw_api_qarg(c, "to");
    char *end;
    if (fs && (from = strtod(fs, &end), !*fs || *end || !isfinite(from))) {
        sw_reply_error(r, 400, "query parameter \"from\": Unix seconds expected");
        return;
    }
    if (ts && (to = strtod(ts, &end), !*ts || *end || !isfinite(to))) {
        sw_reply_error(r, 400, "query parameter \"to\": Unix seconds expected");
        return;
    }
    if (!has_run && !fs && !ts) {
        sw_reply_error(r, 400, "trends need run=N or a time range from=/to= (Unix s)");
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
        sw_reply_error(r, 400,
                       "unknown trend quantity \"%s\": use mot, events, duration, dead_time, decode_errors, "
                       "unknown_fields, trigger_rate, counters.NAME, rates.NAME, per_mot.NAME or check.NAME",
                       quantity);
        return;
    }
    sqlite3 *db = reader_for_run(api, has_run, run, r);
    if (!db)
        return;
    int is_check = !strncmp(quantity, "check.", 6);
    sqlite3_stmt *st;
    const char *sql =
        is_check ? "SELECT s.run, s.spill, s.started, " EFFECTIVE_FLAG ", c.raw, NULL, NULL, NULL " SPILL_FROM
                   "LEFT JOIN checks c ON c.run = s.run AND c.spill = s.spill AND c.name = ?5 "
                   "WHERE (?1 < 0 OR s.run = ?1) AND coalesce(s.started, 0) BETWEEN ?2 AND ?3 "
                   "ORDER BY s.run, s.spill LIMIT ?4"
                 : "SELECT s.run, s.spill, s.started, " EFFECTIVE_FLAG ", s.mot, s.events, s.duration, "
                   "s.counters, s.dead_time, s.decode_errors, s.unknown_fields " SPILL_FROM
                   "WHERE (?1 < 0 OR s.run = ?1) AND coalesce(s.started, 0) BETWEEN ?2 AND ?3 "
                   "ORDER BY s.run, s.spill LIMIT ?4";
    if (sw_api_prepare(db, sql, &st, r) != 0)
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
            v = col_real(st, 4);
        else if (!strcmp(kind, "col")) {
            int idx = !strcmp(quantity, "mot")             ? 4
                      : !strcmp(quantity, "events")        ? 5
                      : !strcmp(quantity, "duration")      ? 6
                      : !strcmp(quantity, "dead_time")     ? 8
                      : !strcmp(quantity, "decode_errors") ? 9
                                                           : 10;
            v = col_real(st, idx);
        } else if (!strcmp(kind, "trigger_rate")) {
            double d = col_real(st, 6);
            v = d > 0 ? col_real(st, 5) / d : NAN;
        } else {
            json_t *counters = col_json(st, 7);
            json_t *cv = json_object_get(counters, sub);
            double x = json_is_number(cv) ? json_number_value(cv) : NAN;
            json_decref(counters);
            if (!strncmp(quantity, "counters.", 9))
                v = x;
            else if (!strncmp(quantity, "rates.", 6))
                v = col_real(st, 6) > 0 ? x / col_real(st, 6) : NAN;
            else
                v = col_real(st, 4) > 0 ? x / col_real(st, 4) : NAN;
        }
        json_array_append_new(points, json_pack("{s:I, s:I, s:o, s:o, s:s}", "run",
                                                (json_int_t)sqlite3_column_int64(st, 0), "spill",
                                                (json_int_t)sqlite3_column_int64(st, 1), "time",
                                                num_or_null(col_real(st, 2)), "value", num_or_null(v), "flag",
                                                (const char *)sqlite3_column_text(st, 3)));
    }
    sqlite3_finalize(st);
    json_t *j = json_pack("{s:s, s:o, s:o}", "quantity", quantity, "run",
                          has_run ? json_integer(run) : json_null(), "points", points);
    sw_reply_json(r, 200, j);
}

/* ---- health, metrics ---- */

static void handle_health(const struct sw_api *api, struct sw_reply *r)
{
    char why[512];
    const char *kind;
    enum sw_store_state st = sw_store_state(api->store, why, sizeof why, &kind);
    sqlite3 *db = sw_store_reader(api->store);
    int readable =
        db && sqlite3_exec(db, "SELECT 1 FROM sqlite_schema LIMIT 1", NULL, NULL, NULL) == SQLITE_OK;
    if (!readable && st == SW_STORE_OK) {
        kind = "error";
        snprintf(why, sizeof why, "the database cannot be read: %s",
                 db ? sqlite3_errmsg(db) : "no connection");
    }
    int ok = readable && st == SW_STORE_OK;
    struct sw_profile *prof = sw_reload_profile(api->reload);
    json_t *j = json_pack("{s:s, s:s, s:f, s:s, s:s, s:s, s:b}", "status",
                          ok                      ? "ok"
                          : st == SW_STORE_FAILED ? "failed"
                                                  : "degraded",
                          "version", SW_VERSION, "uptime_s", sw_wall() - sw_metrics.started, "db", kind,
                          "profile", prof->name, "profile_version", prof->version, "read_requires_token",
                          api->cfg->ntokens > 0 && api->cfg->read_requires_token);
    utf8_clean(why);
    if (j && !ok)
        json_object_set_new(j, "reason", json_string(why));
    sw_reply_json(r, ok ? 200 : 503, j);
    if (!ok)
        r->retry_after = st == SW_STORE_FAILED ? 10 : 5;
    sw_profile_unref(prof);
}

static void handle_metrics(const struct sw_api *api, struct sw_reply *r)
{
    char *text = sw_metrics_render(api->store, api->engine, api->alarms);
    if (!text) {
        sw_reply_error(r, 503, "out of memory");
        return;
    }
    r->status = 200;
    r->body = text;
    r->len = strlen(text);
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- admin ---- */

/* POST /api/v1/admin/reload: 200 with the old and new profile, or 422 with every problem. */
static void handle_reload(const struct sw_api *api, const char *who, struct sw_reply *r)
{
    json_t *answer = NULL;
    int rc = sw_reload_apply(api->reload, who, &answer);
    sw_reply_json(r, rc == 0 ? 200 : 422, answer);
}

/* ---- routing ---- */

static int seg_eq(const char *seg, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(seg, lit, len) == 0;
}

static int method_ok(struct sw_reply *r, const char *method, const char *want)
{
    if (strcmp(method, want) == 0 || (strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0))
        return 1;
    sw_reply_error(r, 405, "method %s not allowed here; use %s", method, want);
    r->allow = strcmp(want, "GET") == 0 ? "GET, HEAD" : want;
    return 0;
}

static void route(const struct sw_api *api, struct MHD_Connection *c, const char *method, const char *path,
                  const char *body, size_t len, struct sw_ingest_call *call, struct sw_reply *r,
                  int *human_p);

void sw_api_handle(const struct sw_api *api, struct MHD_Connection *c, const char *method, const char *path,
                   const char *body, size_t len, struct sw_ingest_call *call, struct sw_reply *r)
{
    int human = 0;
    route(api, c, method, path, body, len, call, r, &human);
    /* A human write refused by the store on its way (the disk filled, the file moved) gets the
     * store's own answer: why, and when to try again. */
    if (human && r->status >= 500 && !r->retry_after)
        store_refuses(api, r);
}

static void route(const struct sw_api *api, struct MHD_Connection *c, const char *method, const char *path,
                  const char *body, size_t len, struct sw_ingest_call *call, struct sw_reply *r, int *human_p)
{
    memset(r, 0, sizeof *r);
    if (strcmp(path, "/metrics") == 0) {
        if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
            handle_metrics(api, r);
        return;
    }
    if (strncmp(path, "/api/v1/", 8) != 0) {
        sw_reply_error(r, 404, "no API at %s (this server speaks /api/v1/)", path);
        return;
    }
    /* Split the rest into at most 5 segments. */
    const char *seg[6];
    size_t sl[6];
    int n = 0;
    const char *p = path + 8;
    while (*p && n < 6) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        seg[n] = p;
        sl[n++] = l;
        p += l + (slash ? 1 : 0);
        if (!slash)
            break;
    }
    if (n == 0 || *p) {
        sw_reply_error(r, 404, "no API at %s", path);
        return;
    }
    char name[128];
    int64_t run, spill;
    if (n == 1 && seg_eq(seg[0], sl[0], "health")) {
        if (method_ok(r, method, "GET"))
            handle_health(api, r);
    } else if (n == 1 && seg_eq(seg[0], sl[0], "ingest")) {
        if (method_ok(r, method, "POST") && sw_api_authorize(api, c, SW_ROLE_INGEST, r, NULL) == 0)
            handle_ingest(api, c, body, len, call, r);
        else
            sw_metrics_ingest_rejected(r->status);
    } else if (n == 2 && seg_eq(seg[0], sl[0], "sources")) {
        if (path_name(r, "source", seg[1], sl[1], name, sizeof name) == 0 && method_ok(r, method, "GET") &&
            sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
            handle_source(api, c, name, r);
    } else if (n == 3 && seg_eq(seg[0], sl[0], "sources") && seg_eq(seg[2], sl[2], "release")) {
        if (path_name(r, "source", seg[1], sl[1], name, sizeof name) == 0 && method_ok(r, method, "POST") &&
            sw_api_authorize(api, c, SW_ROLE_INGEST, r, NULL) == 0)
            handle_source_release(api, c, name, r);
    } else if (n == 1 && seg_eq(seg[0], sl[0], "runs")) {
        if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
            handle_runs(api, c, r);
    } else if (n >= 2 && seg_eq(seg[0], sl[0], "runs")) {
        if (path_int(r, "run", seg[1], sl[1], &run) < 0)
            return;
        if (n == 2) {
            if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
                handle_run(api, run, r);
        } else if (n == 3 && seg_eq(seg[2], sl[2], "reevaluate")) {
            /* A dry run only reads (shifter); applying rewrites automatic flags (admin). */
            const char *dr = sw_api_qarg(c, "dry_run");
            int dry = dr && (strcmp(dr, "1") == 0 || strcmp(dr, "true") == 0);
            const char *who;
            if (dr && !dry && strcmp(dr, "0") != 0 && strcmp(dr, "false") != 0)
                sw_reply_error(r, 400, "query parameter \"dry_run\": 1 or 0");
            else if (method_ok(r, method, "POST") &&
                     sw_api_authorize(api, c, dry ? SW_ROLE_SHIFTER : SW_ROLE_ADMIN, r, &who) == 0 &&
                     (dry || writable(api, r, human_p)))
                sw_reeval_run(api, who, run, dry, body, len, r);
        } else if (n == 3 && seg_eq(seg[2], sl[2], "good-spills")) {
            const char *fmt = sw_api_qarg(c, "format");
            if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0)
                sw_reply_error(r, 400, "query parameter \"format\": json or csv");
            else if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
                sw_certify_good_spills(api, run, fmt && strcmp(fmt, "csv") == 0, r);
        } else if (n == 3 && seg_eq(seg[2], sl[2], "rebaseline")) {
            const char *who;
            if (method_ok(r, method, "POST") && sw_api_authorize(api, c, SW_ROLE_SHIFTER, r, &who) == 0 &&
                writable(api, r, human_p))
                sw_rebaseline_run(api, who, run, body, len, r);
        } else if (n == 3 && (seg_eq(seg[2], sl[2], "signoff") || seg_eq(seg[2], sl[2], "reopen"))) {
            const char *who;
            if (method_ok(r, method, "POST") && sw_api_authorize(api, c, SW_ROLE_SHIFTER, r, &who) == 0 &&
                writable(api, r, human_p)) {
                if (seg_eq(seg[2], sl[2], "signoff"))
                    sw_certify_signoff(api, who, sw_api_has_role(api, c, SW_ROLE_ADMIN), run, body, len, r);
                else
                    sw_certify_reopen(api, who, run, body, len, r);
            }
        } else if (n == 5 && seg_eq(seg[2], sl[2], "spills") && seg_eq(seg[4], sl[4], "flag")) {
            /* {spill} or {first}-{last} */
            const char *dash = memchr(seg[3], '-', sl[3]);
            int64_t first, last;
            const char *who;
            if (path_int(r, "spill", seg[3], dash ? (size_t)(dash - seg[3]) : sl[3], &first) < 0 ||
                (dash && path_int(r, "last spill of the range", dash + 1, sl[3] - (size_t)(dash + 1 - seg[3]),
                                  &last) < 0))
                return;
            if (!dash)
                last = first;
            if (last < first)
                sw_reply_error(r, 400, "spill range %lld-%lld is empty", (long long)first, (long long)last);
            else if (method_ok(r, method, "PUT") && sw_api_authorize(api, c, SW_ROLE_SHIFTER, r, &who) == 0 &&
                     writable(api, r, human_p))
                sw_certify_put_flag(api, who, run, first, last, body, len, r);
        } else if (n == 3 && seg_eq(seg[2], sl[2], "spills")) {
            if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
                handle_spills(api, run, r);
        } else if (n == 3 && seg_eq(seg[2], sl[2], "daq")) {
            if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
                handle_daq(api, run, r);
        } else if (n == 4 && seg_eq(seg[2], sl[2], "spills")) {
            if (path_int(r, "spill", seg[3], sl[3], &spill) < 0)
                return;
            if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
                handle_spill(api, run, spill, r);
        } else
            sw_reply_error(r, 404, "no API at %s", path);
    } else if (n == 1 && seg_eq(seg[0], sl[0], "alarms")) {
        if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
            sw_alarm_api_list(api, c, r);
    } else if (n == 3 && seg_eq(seg[0], sl[0], "alarms") &&
               (seg_eq(seg[2], sl[2], "ack") || seg_eq(seg[2], sl[2], "reset"))) {
        const char *who;
        if (path_name(r, "alarm", seg[1], sl[1], name, sizeof name) == 0 && method_ok(r, method, "POST") &&
            sw_api_authorize(api, c, SW_ROLE_SHIFTER, r, &who) == 0 && writable(api, r, human_p)) {
            if (seg_eq(seg[2], sl[2], "ack"))
                sw_alarm_api_ack(api, who, name, body, len, r);
            else
                sw_alarm_api_reset(api, who, name, body, len, r);
        }
    } else if (n == 1 && seg_eq(seg[0], sl[0], "silences")) {
        const char *who;
        if (strcmp(method, "POST") == 0) {
            if (sw_api_authorize(api, c, SW_ROLE_SHIFTER, r, &who) == 0 && writable(api, r, human_p))
                sw_alarm_api_silence_post(api, who, body, len, r);
        } else if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
            sw_alarm_api_silences(api, c, r);
        else if (r->status == 405)
            r->allow = "GET, HEAD, POST";
    } else if (n == 2 && seg_eq(seg[0], sl[0], "silences")) {
        int64_t id;
        const char *who;
        if (path_int(r, "silence id", seg[1], sl[1], &id) == 0 && method_ok(r, method, "DELETE") &&
            sw_api_authorize(api, c, SW_ROLE_SHIFTER, r, &who) == 0 && writable(api, r, human_p))
            sw_alarm_api_silence_delete(api, who, id, r);
    } else if (n == 2 && seg_eq(seg[0], sl[0], "admin") && seg_eq(seg[1], sl[1], "reload")) {
        const char *who;
        if (method_ok(r, method, "POST") && sw_api_authorize(api, c, SW_ROLE_ADMIN, r, &who) == 0 &&
            writable(api, r, human_p))
            handle_reload(api, who, r);
    } else if (n == 1 && seg_eq(seg[0], sl[0], "audit")) {
        if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
            sw_certify_audit(api, c, r);
    } else if (n == 1 && seg_eq(seg[0], sl[0], "histograms")) {
        if (method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
            handle_hist_list(api, r);
    } else if (n == 2 && seg_eq(seg[0], sl[0], "histograms")) {
        if (path_name(r, "histogram", seg[1], sl[1], name, sizeof name) == 0 && method_ok(r, method, "GET") &&
            sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
            handle_hist(api, c, name, r);
    } else if (n == 2 && seg_eq(seg[0], sl[0], "trends")) {
        if (path_name(r, "trend quantity", seg[1], sl[1], name, sizeof name) == 0 &&
            method_ok(r, method, "GET") && sw_api_authorize(api, c, SW_ROLE_READ, r, NULL) == 0)
            handle_trend(api, c, name, r);
    } else
        sw_reply_error(r, 404, "no API at %s", path);
}
