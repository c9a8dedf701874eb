/* admin_api.c — see admin_api.h */
#include "admin_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "exposition.h"
#include "ha.h"
#include "metrics.h"
#include "reload.h"

/* ---- health, metrics ---- */

void sw_admin_api_health(const struct sw_api *api, struct sw_reply *r)
{
    char why[512];
    const char *kind;
    enum sw_store_state st = sw_store_state(api->store, why, sizeof why, &kind);
    sw_sql *db = sw_store_reader(api->store);
    int readable = db && sw_sql_exec(db, "SELECT 1 FROM runs LIMIT 1", NULL) == SW_SQL_OK;
    if (!readable && st == SW_STORE_OK) {
        kind = "error";
        snprintf(why, sizeof why, "the database cannot be read: %s",
                 db ? sw_sql_errmsg(db) : "no connection");
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
    sw_utf8_clean(why);
    if (j && !ok)
        json_object_set_new(j, "reason", json_string(why));
    if (j && api->ha) { /* several servers on one PostgreSQL database (ha.h) */
        char url[256];
        sw_ha_active_url(api->ha, url, sizeof url);
        json_object_set_new(j, "role", json_string(sw_ha_active(api->ha) ? "active" : "standby"));
        json_object_set_new(j, "active", url[0] ? json_string(url) : json_null());
    }
    sw_reply_json(r, ok ? 200 : 503, j);
    if (!ok)
        r->retry_after = st == SW_STORE_FAILED ? 10 : 5;
    sw_profile_unref(prof);
}

void sw_admin_api_metrics(const struct sw_api *api, struct sw_reply *r)
{
    char *text = sw_exposition_render(api->store, api->engine, api->alarms);
    if (!text) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return;
    }
    r->status = 200;
    r->body = text;
    r->len = strlen(text);
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- admin ---- */

/* POST /api/v1/admin/reload: 200 with the old and new profile, or 422 with every problem. */
void sw_admin_api_reload(const struct sw_api *api, const char *who, struct sw_reply *r)
{
    json_t *answer = NULL;
    int rc = sw_reload_apply(api->reload, who, &answer);
    sw_reply_json(r, rc == 0 ? 200 : 422, answer);
}
