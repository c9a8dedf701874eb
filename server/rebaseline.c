/* rebaseline.c — see rebaseline.h */
#include "rebaseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "defer.h"
#include "engine.h"
#include "store.h"

/* On the heap from the request to its answer (defer.h), with the body its strings point into. */
struct reset_tx {
    int64_t run, from;
    const char *who, *shifter, *comment;
    int code; /* 0, or the refusal's (err.h) */
    char error[200];
    const struct sw_api *api;
    json_t *body;
    char whobuf[SW_NAME_MAX];
};

static int reset_fn(sw_sql *db, void *ctx)
{
    struct reset_tx *t = ctx;
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "SELECT (SELECT 1 FROM runs WHERE run = ?1), "
                       "(SELECT from_spill FROM baseline_resets WHERE run = ?1)",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, t->run);
    int known = 0;
    char old[32] = "";
    if (sw_sql_step(st) == SW_SQL_ROW) {
        known = sw_sql_column_type(st, 0) != SW_SQL_NULL;
        if (sw_sql_column_type(st, 1) != SW_SQL_NULL)
            snprintf(old, sizeof old, "from spill %lld", (long long)sw_sql_column_int64(st, 1));
    }
    sw_sql_finalize(st);
    if (!known) {
        t->code = SW_ENOTFOUND;
        snprintf(t->error, sizeof t->error, "run %lld not found", (long long)t->run);
        return 1;
    }
    if (sw_sql_prepare(db,
                       "INSERT INTO baseline_resets(run, from_spill, who, shifter, time, comment) "
                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(run) DO UPDATE SET "
                       "from_spill = excluded.from_spill, who = excluded.who, shifter = excluded.shifter, "
                       "time = excluded.time, comment = excluded.comment",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, t->run);
    sw_sql_bind_int64(st, 2, t->from);
    sw_sql_bind_text(st, 3, t->who, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 4, t->shifter, -1, SW_SQL_STATIC);
    sw_sql_bind_double(st, 5, sw_wall());
    sw_sql_bind_text(st, 6, t->comment, -1, SW_SQL_STATIC);
    int rc = sw_sql_step(st) == SW_SQL_DONE ? 0 : -1;
    sw_sql_finalize(st);
    char now[32];
    snprintf(now, sizeof now, "from spill %lld", (long long)t->from);
    struct sw_audit_row a = {t->who, t->shifter, "rebaseline", t->run, -1, old[0] ? old : NULL,
                             now,    NULL,       t->comment};
    return rc == 0 ? sw_audit_insert(db, &a) : rc;
}

static void reset_done(void *ctx, int rc, struct sw_reply *r)
{
    struct reset_tx *t = ctx;
    if (rc == 1)
        sw_reply_fail(r, t->code, "%s", t->error);
    else if (rc != 0)
        sw_reply_fail(r, SW_EUNAVAILABLE, "database error while resetting the baselines of run %lld",
                      (long long)t->run);
    else {
        sw_engine_rebaseline(t->api->engine, t->run);
        sw_reply_json(r, 200,
                      json_pack("{s:I, s:I, s:s, s:s}", "run", (json_int_t)t->run, "from_spill",
                                (json_int_t)t->from, "who", t->who, "note",
                                "spills closed from now on are judged by the new baselines; "
                                "POST .../reevaluate to judge the stored spills from from_spill again"));
    }
}

static void reset_free(void *ctx)
{
    struct reset_tx *t = ctx;
    json_decref(t->body);
    free(t);
}

void sw_rebaseline_run(const struct sw_api *api, const char *who, int64_t run, const char *body, size_t len,
                       struct sw_reply *r)
{
    static const char *const known[] = {"from_spill", "comment", "shifter", NULL};
    json_t *j = sw_req_body_object(body, len, r);
    if (!j)
        return;
    struct reset_tx *t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(j);
        sw_reply_fail(r, SW_ENOMEM, "out of memory: the baselines are not reset");
        return;
    }
    *t = (struct reset_tx){.run = run, .who = t->whobuf, .api = api, .body = j};
    snprintf(t->whobuf, sizeof t->whobuf, "%s", who);
    json_t *from = json_object_get(j, "from_spill");
    if (sw_req_body_keys(j, known, r) || sw_req_body_string(j, "comment", 2000, &t->comment, r) ||
        sw_req_body_string(j, "shifter", 100, &t->shifter, r))
        goto out;
    if (!json_is_integer(from) || json_integer_value(from) < 1 || json_integer_value(from) > INT32_MAX) {
        sw_reply_fail(r, SW_EINVAL,
                      "body: \"from_spill\" is required: the spill (an integer >= 1) from which the "
                      "run's baselines learn anew");
        goto out;
    }
    if (!t->comment || !*t->comment) {
        sw_reply_fail(r, SW_EINVAL, "body: \"comment\" is required: why the baselines are reset");
        goto out;
    }
    t->from = json_integer_value(from);
    sw_reply_defer(r, api->store, reset_fn, reset_done, reset_free, t); /* answered once committed */
    return;
out:
    reset_free(t);
}
