/* ingest_api.c — see ingest_api.h */
#include "ingest_api.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "metrics.h"
#include "reload.h"
#include "wire.h"

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
        sw_reply_fail(r, SW_EINVAL, "X-Spillwatch-Lag-Bytes: \"%.40s\" is not an integer >= 0", h);
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
        sw_reply_fail(r, SW_EINVAL, "X-Spillwatch-Lag-Seconds: \"%.40s\" is not a number >= 0", h);
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
        sw_reply_fail(r, SW_EINVAL, "X-Spillwatch-Instance: 1..%d characters of [A-Za-z0-9._-]",
                      SW_INSTANCE_MAX);
        return -1;
    }
    return 0;
}

void sw_ingest_api_post(const struct sw_api *api, struct MHD_Connection *c, const char *body, size_t len,
                        struct sw_ingest_call *call, struct sw_reply *r)
{
    atomic_fetch_add(&sw_metrics.ingest_requests, 1);
    atomic_fetch_add(&sw_metrics.ingest_bytes, len);
    const char *source = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Spillwatch-Source");
    const char *seqs = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Spillwatch-Seq");
    int64_t seq = -1;
    if (!!source != !!seqs) {
        sw_reply_fail(r, SW_EINVAL, "X-Spillwatch-Source and X-Spillwatch-Seq go together");
        goto rejected;
    }
    if (source) {
        char *end;
        errno = 0;
        long long v = strtoll(seqs, &end, 10);
        if (!*seqs || *end || errno || v < 1 || v > SW_ID_MAX) {
            sw_reply_fail(r, SW_EINVAL, "X-Spillwatch-Seq: \"%.40s\" is not an integer in 1..%lld (2^53 - 1)",
                          seqs, SW_ID_MAX);
            goto rejected;
        }
        seq = v;
        size_t sl = strlen(source);
        if (sl == 0 || sl > 100 ||
            strspn(source, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != sl) {
            sw_reply_fail(r, SW_EINVAL, "X-Spillwatch-Source: 1..100 characters of [A-Za-z0-9._-]");
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
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory; nothing applied");
        goto rejected;
    }
    struct sw_ingest_call local = {0};
    struct sw_ingest_call *ic = call ? call : &local;
    snprintf(ic->source, sizeof ic->source, "%s", source ? source : "");
    ic->seq = seq;
    snprintf(ic->instance, sizeof ic->instance, "%s", source && instance ? instance : "");
    ic->queued = 1;
    if (call && call->defer) {
        r->status = 0; /* the caller hands the body to sw_ingest_api_apply */
        return;
    }
    struct sw_ingest_scratch scratch = {0};
    sw_ingest_api_apply(api, ic, body, len, &scratch, r);
    sw_ingest_scratch_release(&scratch);
    if (call || r->status)
        return;
    sw_ingest_api_finish(api, &local, r);
    return;
rejected:
    sw_metrics_ingest_rejected(r->status);
}

/* Kept between batches: the arrays of a batch of up to this many bytes (1,000 full NA64mu events
 * take 1.4 MB; a body may hold 10^6 events, whose arrays are not kept). */
#define SCRATCH_KEEP (8u << 20)

void sw_ingest_scratch_release(struct sw_ingest_scratch *s)
{
    sw_batch_release(&s->batch);
    sw_prefill_release(&s->fills);
}

void sw_ingest_api_apply(const struct sw_api *api, struct sw_ingest_call *ic, const char *body, size_t len,
                         struct sw_ingest_scratch *scratch, struct sw_reply *r)
{
    ic->queued = 0;
    if (sw_req_store_refuses(api->store, r))
        goto rejected;
    struct sw_batch *b = &scratch->batch;
    struct sw_wire_error werr;
    struct sw_wire_limits lim = {api->cfg->line_max, api->cfg->fields_max, api->cfg->batch_events_max, 0};
    /* The batch is laid out by the fields of the profile in force now; the engine maps rows for
     * spills opened with another profile (a reload in between). */
    struct sw_profile *prof = sw_reload_profile(api->reload);
    if (sw_wire_parse(b, body ? body : "", len, &prof->fields, &lim, &werr) != 0) {
        sw_batch_clear(b, SCRATCH_KEEP);
        sw_profile_unref(prof);
        json_t *j = json_pack("{s:s}", "error", werr.msg);
        if (j && werr.line > 0) {
            json_object_set_new(j, "line", json_integer(werr.line));
            json_object_set_new(j, "column", json_integer(werr.column));
        }
        sw_reply_json(r, sw_err_http_status(werr.code), j);
        goto rejected;
    }
    /* The histogram fills, before the engine's mutex (prefill.h). */
    sw_prefill_fill(&scratch->fills, prof, b);
    const char *source = ic->source[0] ? ic->source : NULL;
    sw_store_wait_init(&ic->w);
    ic->active = 1;
    ic->rc = sw_engine_ingest(api->engine, source, source && ic->instance[0] ? ic->instance : NULL, ic->seq,
                              b, &prof->fields, &scratch->fills, &ic->res, &ic->w);
    sw_batch_clear(b, SCRATCH_KEEP);
    sw_profile_unref(prof);
    r->status = 0; /* the caller waits for the commits, then calls sw_ingest_api_finish */
    return;
rejected:
    sw_metrics_ingest_rejected(r->status);
}

void sw_ingest_api_finish(const struct sw_api *api, struct sw_ingest_call *call, struct sw_reply *r)
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
        sw_reply_json(r, sw_err_http_status(rc), j);
        if (rc == SW_EDB) { /* why the commit failed, and when to resend */
            char why[512];
            enum sw_store_state st = sw_store_state(api->store, why, sizeof why, NULL);
            if (st != SW_STORE_OK)
                sw_reply_fail(r, SW_EUNAVAILABLE, "%s: %s; send it again after Retry-After seconds",
                              res.error, why);
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
        if (res.retry_after) /* the database could not be read (admit.c) */
            r->retry_after = res.retry_after;
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
    sw_reply_json(r, sw_err_http_status(SW_EHELD), j);
    return -1;
}

/* GET /api/v1/sources/{id}: the watermark, and the collector instance holding the source. With
 * X-Spillwatch-Instance (a collector starting up), 409 when another instance holds it. */
void sw_source_api_get(const struct sw_api *api, struct MHD_Connection *c, const char *id, struct sw_reply *r)
{
    const char *instance;
    if (instance_header(c, &instance, r) != 0 || source_held(api, id, instance, r) != 0)
        return;
    /* The watermark a collector resends from: while a commit fails (or the file moved) the applied
     * seq may run ahead of what is durable, so no answer until the store is sound again. */
    if (sw_req_store_refuses(api->store, r))
        return;
    sw_sql *db = sw_store_reader(api->store);
    if (!db) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "database unavailable");
        return;
    }
    sw_stmt *st;
    if (sw_db_prepare(db, "SELECT seq, run, spill, updated FROM sources WHERE source = ?1", &st, r) != 0)
        return;
    sw_sql_bind_text(st, 1, id, -1, SW_SQL_STATIC);
    int64_t applied = sw_engine_source_seq(api->engine, id);
    json_t *j = NULL;
    if (sw_sql_step(st) == SW_SQL_ROW)
        j = json_pack(
            "{s:s, s:I, s:I, s:{s:I, s:I}, s:f}", "source", id, "seq",
            (json_int_t)(applied > sw_sql_column_int64(st, 0) ? applied : sw_sql_column_int64(st, 0)),
            "committed_seq", (json_int_t)sw_sql_column_int64(st, 0), "committed", "run",
            (json_int_t)sw_sql_column_int64(st, 1), "spill", (json_int_t)sw_sql_column_int64(st, 2),
            "updated", sw_sql_column_double(st, 3));
    else if (applied >= 0)
        j = json_pack("{s:s, s:I, s:n, s:n, s:n}", "source", id, "seq", (json_int_t)applied, "committed_seq",
                      "committed", "updated");
    sw_sql_finalize(st);
    if (!j && applied < 0) {
        sw_reply_fail(r, SW_ENOTFOUND, "source \"%s\" not seen", id);
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
void sw_source_api_release(const struct sw_api *api, struct MHD_Connection *c, const char *id,
                           struct sw_reply *r)
{
    const char *instance;
    if (instance_header(c, &instance, r) != 0)
        return;
    if (!instance) {
        sw_reply_fail(r, SW_EINVAL,
                      "X-Spillwatch-Instance: required (the instance that gives the source up)");
        return;
    }
    if (source_held(api, id, instance, r) != 0)
        return;
    sw_engine_source_release(api->engine, id, instance);
    sw_reply_json(r, 200, json_pack("{s:s, s:b}", "source", id, "released", 1));
}
