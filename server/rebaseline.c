/* rebaseline.c — see rebaseline.h */
#include "rebaseline.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "engine.h"
#include "store.h"

struct reset_tx {
    int64_t run, from;
    const char *who, *shifter, *comment;
    int code; /* 0, or the refusal's (err.h) */
    char error[200];
};

static int reset_fn(sqlite3 *db, void *ctx)
{
    struct reset_tx *t = ctx;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT 1 FROM runs WHERE run = ?1), "
                           "(SELECT from_spill FROM baseline_resets WHERE run = ?1)",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, t->run);
    int known = 0;
    char old[32] = "";
    if (sqlite3_step(st) == SQLITE_ROW) {
        known = sqlite3_column_type(st, 0) != SQLITE_NULL;
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            snprintf(old, sizeof old, "from spill %lld", (long long)sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
    if (!known) {
        t->code = SW_ENOTFOUND;
        snprintf(t->error, sizeof t->error, "run %lld not found", (long long)t->run);
        return 1;
    }
    if (sqlite3_prepare_v2(
            db,
            "INSERT INTO baseline_resets(run, from_spill, who, shifter, time, comment) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(run) DO UPDATE SET "
            "from_spill = excluded.from_spill, who = excluded.who, shifter = excluded.shifter, "
            "time = excluded.time, comment = excluded.comment",
            -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, t->run);
    sqlite3_bind_int64(st, 2, t->from);
    sqlite3_bind_text(st, 3, t->who, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t->shifter, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 5, sw_wall());
    sqlite3_bind_text(st, 6, t->comment, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    char now[32];
    snprintf(now, sizeof now, "from spill %lld", (long long)t->from);
    struct sw_audit_row a = {t->who, t->shifter, "rebaseline", t->run, -1, old[0] ? old : NULL,
                             now,    NULL,       t->comment};
    return rc == 0 ? sw_audit_insert(db, &a) : rc;
}

void sw_rebaseline_run(const struct sw_api *api, const char *who, int64_t run, const char *body, size_t len,
                       struct sw_reply *r)
{
    static const char *const known[] = {"from_spill", "comment", "shifter", NULL};
    json_t *j = sw_req_body_object(body, len, r);
    if (!j)
        return;
    struct reset_tx t = {.run = run, .who = who};
    json_t *from = json_object_get(j, "from_spill");
    if (sw_req_body_keys(j, known, r) || sw_req_body_string(j, "comment", 2000, &t.comment, r) ||
        sw_req_body_string(j, "shifter", 100, &t.shifter, r))
        goto out;
    if (!json_is_integer(from) || json_integer_value(from) < 1 || json_integer_value(from) > INT32_MAX) {
        sw_reply_fail(r, SW_EINVAL,
                      "body: \"from_spill\" is required: the spill (an integer >= 1) from which the "
                      "run's baselines learn anew");
        goto out;
    }
    if (!t.comment || !*t.comment) {
        sw_reply_fail(r, SW_EINVAL, "body: \"comment\" is required: why the baselines are reset");
        goto out;
    }
    t.from = json_integer_value(from);
    int rc = sw_store_call(api->store, reset_fn, &t);
    if (rc == 1)
        sw_reply_fail(r, t.code, "%s", t.error);
    else if (rc != 0)
        sw_reply_fail(r, SW_EUNAVAILABLE, "database error while resetting the baselines of run %lld",
                      (long long)run);
    else {
        sw_engine_rebaseline(api->engine, run);
        sw_reply_json(r, 200,
                      json_pack("{s:I, s:I, s:s, s:s}", "run", (json_int_t)run, "from_spill",
                                (json_int_t)t.from, "who", who, "note",
                                "spills closed from now on are judged by the new baselines; "
                                "POST .../reevaluate to judge the stored spills from from_spill again"));
    }
out:
    json_decref(j);
}
