/* certify.c — see certify.h */
#include "certify.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "defer.h"
#include "engine.h"
#include "log.h"
#include "quality.h"
#include "reload.h"
#include "sqlq.h"

/* ---- writer-thread transactions ---- */

static int signed_off(sw_sql *db, int64_t run)
{
    sw_stmt *st;
    int found = 0;
    if (sw_sql_prepare(db, "SELECT 1 FROM signoffs WHERE run = ?1", -1, &st, NULL) == SW_SQL_OK) {
        sw_sql_bind_int64(st, 1, run);
        found = sw_sql_step(st) == SW_SQL_ROW;
        sw_sql_finalize(st);
    }
    return found;
}

/* Result of a writer-thread transaction: code 0, or an error code (err.h) with its message. */
struct outcome {
    int code;
    char error[300];
    json_t *changed; /* owned by the requester */
};

/* A human write's context lives on the heap from the request to its answer (defer.h): it holds the
 * request body its strings point into, and its own copy of the token name. */
struct flag_tx {
    int64_t run, first, last;
    const char *flag, *reason, *comment, *who, *shifter; /* flag NULL: remove */
    struct outcome out;
    json_t *body;
    char whobuf[SW_NAME_MAX];
};

static int flag_fn(sw_sql *db, void *ctx)
{
    struct flag_tx *t = ctx;
    if (signed_off(db, t->run)) {
        t->out.code = SW_ECONFLICT;
        snprintf(t->out.error, sizeof t->out.error,
                 "run %lld is signed off: re-open it before changing flags", (long long)t->run);
        return 1;
    }
    sw_stmt *sel = NULL, *put = NULL, *del = NULL;
    int rc = -1;
    if (sw_sql_prepare(
            db,
            "SELECT s.spill, s.flag, m.flag FROM spills s LEFT JOIN manual_flags m "
            "ON m.run = s.run AND m.spill = s.spill WHERE s.run = ?1 AND s.spill BETWEEN ?2 AND ?3 "
            "ORDER BY s.spill",
            -1, &sel, NULL) != SW_SQL_OK ||
        sw_sql_prepare(
            db,
            "INSERT INTO manual_flags(run, spill, flag, reason, comment, who, shifter, time) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(run, spill) DO UPDATE SET flag = "
            "excluded.flag, "
            "reason = excluded.reason, comment = excluded.comment, who = excluded.who, "
            "shifter = excluded.shifter, time = excluded.time", /* an update: run_totals' trigger moves it */
            -1, &put, NULL) != SW_SQL_OK ||
        sw_sql_prepare(db, "DELETE FROM manual_flags WHERE run = ?1 AND spill = ?2", -1, &del, NULL) !=
            SW_SQL_OK)
        goto out;
    sw_sql_bind_int64(sel, 1, t->run);
    sw_sql_bind_int64(sel, 2, t->first);
    sw_sql_bind_int64(sel, 3, t->last);
    while (sw_sql_step(sel) == SW_SQL_ROW) {
        int64_t spill = sw_sql_column_int64(sel, 0);
        const char *auto_flag = (const char *)sw_sql_column_text(sel, 1);
        const char *manual = (const char *)sw_sql_column_text(sel, 2);
        char old[32];
        snprintf(old, sizeof old, "%s", manual ? manual : auto_flag);
        if (!t->flag && !manual)
            continue; /* nothing to remove */
        sw_stmt *w = t->flag ? put : del;
        sw_sql_reset(w);
        sw_sql_bind_int64(w, 1, t->run);
        sw_sql_bind_int64(w, 2, spill);
        if (t->flag) {
            sw_sql_bind_text(w, 3, t->flag, -1, SW_SQL_STATIC);
            sw_sql_bind_text(w, 4, t->reason, -1, SW_SQL_STATIC);
            sw_sql_bind_text(w, 5, t->comment, -1, SW_SQL_STATIC);
            sw_sql_bind_text(w, 6, t->who, -1, SW_SQL_STATIC);
            sw_sql_bind_text(w, 7, t->shifter, -1, SW_SQL_STATIC);
            sw_sql_bind_double(w, 8, sw_wall());
        }
        struct sw_audit_row a = {t->who,    t->shifter, t->flag ? "flag" : "unflag",   t->run,
                                 spill,     old,        t->flag ? t->flag : auto_flag, t->reason,
                                 t->comment};
        if (sw_sql_step(w) != SW_SQL_DONE || sw_audit_insert(db, &a) != 0)
            goto out;
        json_array_append_new(t->out.changed, json_integer(spill));
    }
    if (json_array_size(t->out.changed) == 0 && t->flag) {
        t->out.code = SW_ENOTFOUND;
        snprintf(t->out.error, sizeof t->out.error, "run %lld has no stored spill in %lld-%lld",
                 (long long)t->run, (long long)t->first, (long long)t->last);
        rc = 1;
        goto out;
    }
    rc = 0;
out:
    sw_sql_finalize(sel);
    sw_sql_finalize(put);
    sw_sql_finalize(del);
    return rc;
}

static int reason_known(const struct sw_profile *p, const char *reason)
{
    for (int i = 0; i < p->nreasons; i++)
        if (strcmp(p->manual_reasons[i], reason) == 0)
            return 1;
    return p->nreasons == 0; /* no vocabulary: any reason */
}

static void reply_outcome(struct sw_reply *r, struct outcome *o, int rc, json_t *ok)
{
    if (rc == 0) {
        sw_reply_json(r, 200, ok);
        return;
    }
    json_decref(ok);
    if (o->code)
        sw_reply_fail(r, o->code, "%s", o->error);
    else
        sw_reply_fail(r, SW_EUNAVAILABLE, "database error: the change was not stored");
}

static void flag_done(void *ctx, int rc, struct sw_reply *r)
{
    struct flag_tx *t = ctx;
    reply_outcome(r, &t->out, rc,
                  json_pack("{s:I, s:O, s:o, s:o}", "run", (json_int_t)t->run, "spills", t->out.changed,
                            "flag", t->flag ? json_string(t->flag) : json_null(), "reason",
                            t->reason ? json_string(t->reason) : json_null()));
}

static void flag_free(void *ctx)
{
    struct flag_tx *t = ctx;
    json_decref(t->out.changed);
    json_decref(t->body);
    free(t);
}

void sw_certify_put_flag(const struct sw_api *api, const char *who, int64_t run, int64_t first, int64_t last,
                         const char *body, size_t len, struct sw_reply *r)
{
    static const char *const known[] = {"flag", "reason", "comment", "shifter", NULL};
    json_t *j = sw_req_body_object(body, len, r);
    if (!j)
        return;
    struct flag_tx *t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(j);
        sw_reply_fail(r, SW_ENOMEM, "out of memory: nothing changed");
        return;
    }
    *t = (struct flag_tx){.run = run, .first = first, .last = last, .who = t->whobuf, .body = j};
    snprintf(t->whobuf, sizeof t->whobuf, "%s", who);
    json_t *fv = json_object_get(j, "flag");
    if (sw_req_body_keys(j, known, r) || sw_req_body_string(j, "reason", 200, &t->reason, r) ||
        sw_req_body_string(j, "comment", 2000, &t->comment, r) ||
        sw_req_body_string(j, "shifter", 100, &t->shifter, r))
        goto out;
    if (!fv) {
        sw_reply_fail(r, SW_EINVAL,
                      "body: \"flag\" is required: GOOD, WARN, BAD, EXCLUDED, or null to remove");
        goto out;
    }
    if (!json_is_null(fv)) {
        int s = json_is_string(fv) ? sw_state_parse(json_string_value(fv)) : -1;
        if (s < 0 || s == SW_UNKNOWN) {
            sw_reply_fail(r, SW_EINVAL,
                          "body: \"flag\" must be GOOD, WARN, BAD, EXCLUDED, or null to remove");
            goto out;
        }
        t->flag = json_string_value(fv);
        struct sw_profile *prof = sw_reload_profile(api->reload);
        int known_reason = t->reason && reason_known(prof, t->reason);
        if (!known_reason) {
            char list[1024] = "";
            for (int i = 0; i < prof->nreasons; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "",
                         prof->manual_reasons[i]);
            sw_reply_fail(r, SW_EINVAL, "body: \"reason\" %s; one of: %s",
                          t->reason ? "is not in the vocabulary" : "is required", list);
        }
        sw_profile_unref(prof);
        if (!known_reason)
            goto out;
    }
    if (!t->comment)
        t->comment = "";
    t->out.changed = json_array();
    sw_reply_defer(r, api->store, flag_fn, flag_done, flag_free, t); /* answered once committed */
    return;
out:
    flag_free(t);
}

/* ---- sign-off ---- */

struct signoff_tx {
    int64_t run;
    int reopen;
    int force; /* sign off a run that has not ended (an admin's "force": true) */
    const char *who, *shifter, *comment, *reason;
    struct outcome out;
    const struct sw_api *api;
    json_t *body;
    char whobuf[SW_NAME_MAX];
};

static int signoff_fn(sw_sql *db, void *ctx)
{
    struct signoff_tx *t = ctx;
    int is_signed = signed_off(db, t->run);
    if (t->reopen != !!is_signed) {
        t->out.code = SW_ECONFLICT;
        snprintf(t->out.error, sizeof t->out.error,
                 t->reopen ? "run %lld is not signed off" : "run %lld is already signed off",
                 (long long)t->run);
        return 1;
    }
    sw_stmt *st;
    if (!t->reopen && !t->force) {
        /* A running run can still change: signed off after its run_end only. */
        if (sw_sql_prepare(db, "SELECT ended FROM runs WHERE run = ?1", -1, &st, NULL) != SW_SQL_OK)
            return -1;
        sw_sql_bind_int64(st, 1, t->run);
        int ended = sw_sql_step(st) == SW_SQL_ROW && sw_sql_column_type(st, 0) != SW_SQL_NULL;
        sw_sql_finalize(st);
        if (!ended) {
            t->out.code = SW_ECONFLICT;
            snprintf(t->out.error, sizeof t->out.error,
                     "run %lld has not ended (no run_end): sign it off after it ends, or an admin sends "
                     "\"force\": true",
                     (long long)t->run);
            return 1;
        }
    }
    if (!t->reopen) {
        /* Refused while a spill is UNKNOWN without a human decision. */
        if (sw_sql_prepare(db,
                           "SELECT s.spill FROM spills s LEFT JOIN manual_flags m ON m.run = s.run AND "
                           "m.spill = s.spill WHERE s.run = ?1 AND m.flag IS NULL AND s.flag = 'UNKNOWN' "
                           "ORDER BY s.spill",
                           -1, &st, NULL) != SW_SQL_OK)
            return -1;
        sw_sql_bind_int64(st, 1, t->run);
        while (sw_sql_step(st) == SW_SQL_ROW)
            json_array_append_new(t->out.changed, json_integer(sw_sql_column_int64(st, 0)));
        sw_sql_finalize(st);
        size_t n = json_array_size(t->out.changed);
        if (n > 0) {
            char *list = json_dumps(t->out.changed, JSON_COMPACT);
            t->out.code = SW_ECONFLICT;
            snprintf(t->out.error, sizeof t->out.error,
                     "run %lld has %zu spill(s) still UNKNOWN without a manual decision: %.200s",
                     (long long)t->run, n, list ? list : "");
            free(list);
            return 1;
        }
        if (sw_sql_prepare(db,
                           "INSERT INTO signoffs(run, who, shifter, time, comment) VALUES(?1,?2,?3,?4,?5)",
                           -1, &st, NULL) != SW_SQL_OK)
            return -1;
        sw_sql_bind_int64(st, 1, t->run);
        sw_sql_bind_text(st, 2, t->who, -1, SW_SQL_STATIC);
        sw_sql_bind_text(st, 3, t->shifter, -1, SW_SQL_STATIC);
        sw_sql_bind_double(st, 4, sw_wall());
        sw_sql_bind_text(st, 5, t->comment, -1, SW_SQL_STATIC);
    } else {
        if (sw_sql_prepare(db, "DELETE FROM signoffs WHERE run = ?1", -1, &st, NULL) != SW_SQL_OK)
            return -1;
        sw_sql_bind_int64(st, 1, t->run);
    }
    int rc = sw_sql_step(st) == SW_SQL_DONE ? 0 : -1;
    sw_sql_finalize(st);
    struct sw_audit_row a = {t->who,
                             t->shifter,
                             t->reopen  ? "reopen"
                             : t->force ? "signoff (forced before run_end)"
                                        : "signoff",
                             t->run,
                             -1,
                             t->reopen ? "signed off" : "open",
                             t->reopen ? "open" : "signed off",
                             t->reason,
                             t->comment};
    return rc == 0 ? sw_audit_insert(db, &a) : rc;
}

static void signoff_done(void *ctx, int rc, struct sw_reply *r)
{
    struct signoff_tx *t = ctx;
    if (rc == 0 && sw_engine_set_signed(t->api->engine, t->run, !t->reopen) != 0)
        sw_warn("certify", "run %lld: out of memory marking it %s for ingest", (long long)t->run,
                t->reopen ? "re-opened" : "signed off");
    reply_outcome(
        r, &t->out, rc,
        json_pack("{s:I, s:b, s:s}", "run", (json_int_t)t->run, "signed_off", !t->reopen, "who", t->who));
}

static void signoff_free(void *ctx)
{
    struct signoff_tx *t = ctx;
    json_decref(t->out.changed);
    json_decref(t->body);
    free(t);
}

static void signoff(const struct sw_api *api, const char *who, int admin, int64_t run, const char *body,
                    size_t len, int reopen, struct sw_reply *r)
{
    static const char *const known[] = {"comment", "shifter", "reason", "force", NULL};
    json_t *j = sw_req_body_object(body, len, r);
    if (!j)
        return;
    struct signoff_tx *t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(j);
        sw_reply_fail(r, SW_ENOMEM, "out of memory: nothing changed");
        return;
    }
    *t = (struct signoff_tx){.run = run, .reopen = reopen, .who = t->whobuf, .api = api, .body = j};
    snprintf(t->whobuf, sizeof t->whobuf, "%s", who);
    json_t *force = json_object_get(j, "force");
    if (force && (!json_is_boolean(force) || reopen)) {
        sw_reply_fail(r, SW_EINVAL,
                      reopen ? "body: \"force\" is for a sign-off" : "body: \"force\" must be true or false");
        goto out;
    }
    t->force = json_is_true(force);
    if (t->force && !admin) {
        sw_reply_fail(r, SW_EFORBIDDEN,
                      "body: \"force\" (signing off a run that has not ended) needs the admin role");
        goto out;
    }
    if (sw_req_body_keys(j, known, r) || sw_req_body_string(j, "comment", 2000, &t->comment, r) ||
        sw_req_body_string(j, "shifter", 100, &t->shifter, r) ||
        sw_req_body_string(j, "reason", 200, &t->reason, r))
        goto out;
    if (!reopen && (!t->comment || !*t->comment)) {
        sw_reply_fail(r, SW_EINVAL, "body: \"comment\" is required to sign a run off");
        goto out;
    }
    if (reopen && (!t->reason || !*t->reason)) {
        sw_reply_fail(r, SW_EINVAL, "body: \"reason\" is required to re-open a run");
        goto out;
    }
    if (!t->comment)
        t->comment = "";
    json_t *live = sw_engine_run_live(api->engine, run);
    if (live && !reopen) {
        sw_reply_fail(r, SW_ECONFLICT, "run %lld has an open spill (%lld): sign off after it closes",
                      (long long)run, (long long)json_integer_value(json_object_get(live, "spill")));
        json_decref(live);
        goto out;
    }
    json_decref(live);
    t->out.changed = json_array();
    sw_reply_defer(r, api->store, signoff_fn, signoff_done, signoff_free, t); /* answered once committed */
    return;
out:
    signoff_free(t);
}

void sw_certify_signoff(const struct sw_api *api, const char *who, int admin, int64_t run, const char *body,
                        size_t len, struct sw_reply *r)
{
    signoff(api, who, admin, run, body, len, 0, r);
}

void sw_certify_reopen(const struct sw_api *api, const char *who, int64_t run, const char *body, size_t len,
                       struct sw_reply *r)
{
    signoff(api, who, 0, run, body, len, 1, r);
}

/* ---- reads ---- */

void sw_certify_audit(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r)
{
    int64_t run = -1, spill = -1, limit = 100, before = -1;
    if (sw_req_query_int(c, "run", &run, r) < 0 || sw_req_query_int(c, "spill", &spill, r) < 0 ||
        sw_req_query_int(c, "limit", &limit, r) < 0 || sw_req_query_int(c, "before", &before, r) < 0)
        return;
    if (limit < 1 || limit > 10000) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"limit\": must be within 1..10000");
        return;
    }
    int64_t last = -1;
    json_t *arr = sw_audit_list(sw_store_reader(api->store), run, spill, before, limit, &last);
    if (!arr) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "database unavailable");
        return;
    }
    sw_reply_json(r, 200,
                  json_pack("{s:o, s:o}", "entries", arr, "next_before",
                            (int64_t)json_array_size(arr) == limit ? json_integer(last) : json_null()));
}
