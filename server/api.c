/* api.c — see api.h */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_api.h"
#include "alarm_api.h"
#include "auth.h"
#include "certify.h"
#include "checks_api.h"
#include "export_api.h"
#include "ha.h"
#include "hist_api.h"
#include "metrics.h"
#include "notes_api.h"
#include "rebaseline.h"
#include "reeval.h"
#include "runs_api.h"
#include "stream_api.h"

/* ---- a request as the handlers of the table see it ---- */

struct req {
    const struct sw_api *api;
    struct MHD_Connection *c;
    const char *method, *body;
    size_t len;
    struct sw_ingest_call *call;
    const char *who;    /* the token's name, once the role is checked */
    int64_t run, spill; /* {run}, {spill} */
    int64_t last;       /* {spills}: first in spill, last here */
    int64_t id;         /* {silence} */
    char name[128];     /* {source}, {alarm}, {histogram}, {quantity} */
};

/* ---- the handlers, as the table calls them ---- */

static void h_metrics(const struct req *q, struct sw_reply *r)
{
    sw_admin_api_metrics(q->api, r);
}
static void h_health(const struct req *q, struct sw_reply *r)
{
    sw_admin_api_health(q->api, r);
}
static void h_display(const struct req *q, struct sw_reply *r)
{
    sw_display_reply(&q->api->cfg->display, r);
}
static void h_checks(const struct req *q, struct sw_reply *r)
{
    sw_checks_api_list(q->api, r);
}
static void h_run_checks(const struct req *q, struct sw_reply *r)
{
    sw_checks_api_run(q->api, q->c, q->run, r);
}
static void h_ingest(const struct req *q, struct sw_reply *r)
{
    sw_ingest_api_post(q->api, q->c, q->body, q->len, q->call, r);
}
static void h_source(const struct req *q, struct sw_reply *r)
{
    sw_source_api_get(q->api, q->c, q->name, r);
}
static void h_source_release(const struct req *q, struct sw_reply *r)
{
    sw_source_api_release(q->api, q->c, q->name, r);
}
static void h_runs(const struct req *q, struct sw_reply *r)
{
    sw_runs_api_list(q->api, q->c, r);
}
static void h_run(const struct req *q, struct sw_reply *r)
{
    sw_runs_api_get(q->api, q->run, r);
}
static void h_spills(const struct req *q, struct sw_reply *r)
{
    sw_runs_api_spills(q->api, q->c, q->run, r);
}
static void h_spill(const struct req *q, struct sw_reply *r)
{
    sw_runs_api_spill(q->api, q->run, q->spill, r);
}
static void h_daq(const struct req *q, struct sw_reply *r)
{
    sw_runs_api_daq(q->api, q->run, r);
}
static void h_reeval(const struct req *q, struct sw_reply *r)
{
    const char *dr = sw_req_qarg(q->c, "dry_run");
    sw_reeval_run(q->api, q->who, q->run, dr && (!strcmp(dr, "1") || !strcmp(dr, "true")), q->body, q->len,
                  r);
}
static void h_good_spills(const struct req *q, struct sw_reply *r)
{
    sw_export_api_run(q->api, q->c, q->run, r);
}
static void h_period_good_spills(const struct req *q, struct sw_reply *r)
{
    sw_export_api_period(q->api, q->c, r);
}
static void h_rebaseline(const struct req *q, struct sw_reply *r)
{
    sw_rebaseline_run(q->api, q->who, q->run, q->body, q->len, r);
}
static void h_signoff(const struct req *q, struct sw_reply *r)
{
    sw_certify_signoff(q->api, q->who, sw_auth_has_role(q->api, q->c, SW_ROLE_ADMIN), q->run, q->body, q->len,
                       r);
}
static void h_reopen(const struct req *q, struct sw_reply *r)
{
    sw_certify_reopen(q->api, q->who, q->run, q->body, q->len, r);
}
static void h_flag(const struct req *q, struct sw_reply *r)
{
    sw_certify_put_flag(q->api, q->who, q->run, q->spill, q->last, q->body, q->len, r);
}
static void h_note_post(const struct req *q, struct sw_reply *r)
{
    sw_notes_api_post(q->api, q->who, q->body, q->len, r);
}
static void h_notes(const struct req *q, struct sw_reply *r)
{
    sw_notes_api_list(q->api, q->c, r);
}
static void h_alarm_stats(const struct req *q, struct sw_reply *r)
{
    sw_alarm_api_stats(q->api, q->c, r);
}
static void h_deliveries(const struct req *q, struct sw_reply *r)
{
    sw_alarm_api_deliveries(q->api, q->c, q->name, r);
}
static void h_alarms(const struct req *q, struct sw_reply *r)
{
    sw_alarm_api_list(q->api, q->c, r);
}
static void h_ack(const struct req *q, struct sw_reply *r)
{
    sw_alarm_api_ack(q->api, q->who, q->name, q->body, q->len, r);
}
static void h_reset(const struct req *q, struct sw_reply *r)
{
    sw_alarm_api_reset(q->api, q->who, q->name, q->body, q->len, r);
}
static void h_silences(const struct req *q, struct sw_reply *r)
{
    sw_alarm_api_silences(q->api, q->c, r);
}
static void h_silence_post(const struct req *q, struct sw_reply *r)
{
    sw_alarm_api_silence_post(q->api, q->who, q->body, q->len, r);
}
static void h_silence_delete(const struct req *q, struct sw_reply *r)
{
    sw_alarm_api_silence_delete(q->api, q->who, q->id, r);
}
static void h_reload(const struct req *q, struct sw_reply *r)
{
    sw_admin_api_reload(q->api, q->who, r);
}
static void h_audit(const struct req *q, struct sw_reply *r)
{
    sw_certify_audit(q->api, q->c, r);
}
static void h_hist_list(const struct req *q, struct sw_reply *r)
{
    sw_hist_api_list(q->api, q->c, r);
}
static void h_hist(const struct req *q, struct sw_reply *r)
{
    sw_hist_api_get(q->api, q->c, q->name, r);
}
static void h_trend(const struct req *q, struct sw_reply *r)
{
    sw_trend_api_get(q->api, q->c, q->name, r);
}
static void h_stream(const struct req *q, struct sw_reply *r)
{
    sw_stream_api_open(q->api, q->c, sw_req_qarg(q->c, "ticket"), r);
}
static void h_ticket(const struct req *q, struct sw_reply *r)
{
    sw_stream_api_ticket(q->api, q->who, r);
}
static void h_index(const struct req *q, struct sw_reply *r);

/* The role a handler checks itself (the stream with a ticket). */
#define ROLE_OWN 0x10000u

/* The live stream: the read role by a bearer token, or a ticket the handler redeems (what a
 * browser's EventSource can send; a ticket given is checked whether reads need a token or not). */
static unsigned stream_role(const struct req *q, struct sw_reply *r, int *human)
{
    (void)r;
    (void)human;
    return sw_req_qarg(q->c, "ticket") ? ROLE_OWN : SW_ROLE_READ;
}

/* A re-evaluation's role depends on dry_run: a dry run only reads (shifter), applying rewrites
 * automatic flags (admin) and is a human write. 0 with a 400 reply for a bad value. */
static unsigned reeval_role(const struct req *q, struct sw_reply *r, int *human)
{
    const char *dr = sw_req_qarg(q->c, "dry_run");
    int dry = dr && (strcmp(dr, "1") == 0 || strcmp(dr, "true") == 0);
    if (dr && !dry && strcmp(dr, "0") != 0 && strcmp(dr, "false") != 0) {
        sw_reply_fail(r, SW_EINVAL, "query parameter \"dry_run\": 1 or 0");
        return 0;
    }
    *human = !dry;
    return dry ? SW_ROLE_SHIFTER : SW_ROLE_ADMIN;
}

/* ---- the route table ---- */

/* Flags: a human write (refused while the store refuses writes); counted as an ingest request when
 * refused before its handler; a GET without HEAD (a stream has no head). */
enum { HUMAN = 1, INGEST = 2, NO_HEAD = 4 };

struct route {
    const char *method; /* GET also answers HEAD */
    const char *path;   /* segments; {run}, {spill}, {spills} (n or n-m), {silence}: integers;
                         * {source}, {alarm}, {histogram}, {quantity}: names */
    unsigned role;      /* SW_ROLE_*; 0: none (health) */
    int flags;
    void (*fn)(const struct req *q, struct sw_reply *r);
    unsigned (*role_fn)(const struct req *q, struct sw_reply *r, int *human); /* instead of role */
    const char *params;  /* the query parameters it takes, comma-separated ("" none): any other is a 400 */
    const char *summary; /* what it does, for GET /api/v1/ */
};

static const struct route routes[] = {
    {"GET", "/api/v1", 0, 0, h_index, NULL, "", "this list of the API's routes (also at /api/v1/)"},
    {"GET", "/metrics", SW_ROLE_READ, 0, h_metrics, NULL, "",
     "Prometheus exposition of the server's figures"},
    {"GET", "/api/v1/health", 0, 0, h_health, NULL, "", "liveness, store and ingest state (no token)"},
    {"GET", "/api/v1/display", 0, 0, h_display, NULL, "",
     "the display zone and kiosk pages of the dashboards"},
    {"POST", "/api/v1/ingest", SW_ROLE_INGEST, INGEST, h_ingest, NULL, "",
     "a batch of wire records (NDJSON)"},
    {"GET", "/api/v1/sources/{source}", SW_ROLE_READ, 0, h_source, NULL, "", "a collector's sequence state"},
    {"POST", "/api/v1/sources/{source}/release", SW_ROLE_INGEST, 0, h_source_release, NULL, "",
     "a collector gives up its instance lease"},
    {"GET", "/api/v1/runs", SW_ROLE_READ, 0, h_runs, NULL, "limit,before,order", "the runs, highest first"},
    {"GET", "/api/v1/runs/{run}", SW_ROLE_READ, 0, h_run, NULL, "", "one run's summary"},
    {"POST", "/api/v1/runs/{run}/reevaluate", 0, 0, h_reeval, reeval_role, "dry_run",
     "judge a run's stored spills again (dry run or apply)"},
    {"GET", "/api/v1/runs/{run}/good-spills", SW_ROLE_READ, 0, h_good_spills, NULL, "format",
     "the good-spill list of a run (json, csv, ranges), saying whether it is signed off or provisional"},
    {"GET", "/api/v1/good-spills", SW_ROLE_READ, 0, h_period_good_spills, NULL, "runs,format,provisional",
     "the good-spill ranges of the runs of a period (golden-JSON shape)"},
    {"POST", "/api/v1/runs/{run}/rebaseline", SW_ROLE_SHIFTER, HUMAN, h_rebaseline, NULL, "",
     "restart the run's baselines from a spill"},
    {"POST", "/api/v1/runs/{run}/signoff", SW_ROLE_SHIFTER, HUMAN, h_signoff, NULL, "", "sign a run off"},
    {"POST", "/api/v1/runs/{run}/reopen", SW_ROLE_SHIFTER, HUMAN, h_reopen, NULL, "",
     "reopen a signed-off run"},
    {"PUT", "/api/v1/runs/{run}/spills/{spills}/flag", SW_ROLE_SHIFTER, HUMAN, h_flag, NULL, "",
     "set or remove a manual flag on a spill or a range"},
    {"GET", "/api/v1/runs/{run}/spills", SW_ROLE_READ, 0, h_spills, NULL, "flag,category,after,limit",
     "a run's spills in spill order, filtered by flag and by the category of their verdict's checks"},
    {"GET", "/api/v1/runs/{run}/daq", SW_ROLE_READ, 0, h_daq, NULL, "",
     "the spill x DAQ source view of a run"},
    {"GET", "/api/v1/runs/{run}/checks", SW_ROLE_READ, 0, h_run_checks, NULL, "spills",
     "the worst verdict per check over a run or a spill range"},
    {"GET", "/api/v1/checks", SW_ROLE_READ, 0, h_checks, NULL, "", "the profile's subsystems and checks"},
    {"GET", "/api/v1/runs/{run}/spills/{spill}", SW_ROLE_READ, 0, h_spill, NULL, "",
     "one spill with its checks, worst first"},
    {"GET", "/api/v1/shift/notes", SW_ROLE_READ, 0, h_notes, NULL, "from,to,limit", "the handover notes"},
    {"POST", "/api/v1/shift/notes", SW_ROLE_SHIFTER, HUMAN, h_note_post, NULL, "", "write a handover note"},
    {"GET", "/api/v1/alarms", SW_ROLE_READ, 0, h_alarms, NULL, "history,alarm,limit",
     "the alarm rules' states and their history"},
    {"GET", "/api/v1/alarms/stats", SW_ROLE_READ, 0, h_alarm_stats, NULL, "since,until,runs,within",
     "per-rule alarm figures over a time range or runs (fired, time to acknowledge, auto-resolved, "
     "silenced)"},
    {"GET", "/api/v1/alarms/{alarm}/deliveries", SW_ROLE_READ, 0, h_deliveries, NULL,
     "since,until,runs,limit",
     "the delivery log of an alarm's notices: every attempt per hook, its outcome and error"},
    {"POST", "/api/v1/alarms/{alarm}/ack", SW_ROLE_SHIFTER, HUMAN, h_ack, NULL, "", "acknowledge an alarm"},
    {"POST", "/api/v1/alarms/{alarm}/reset", SW_ROLE_SHIFTER, HUMAN, h_reset, NULL, "",
     "reset a latched alarm"},
    {"GET", "/api/v1/silences", SW_ROLE_READ, 0, h_silences, NULL, "limit,active", "the silences"},
    {"POST", "/api/v1/silences", SW_ROLE_SHIFTER, HUMAN, h_silence_post, NULL, "",
     "silence alarms for a while"},
    {"DELETE", "/api/v1/silences/{silence}", SW_ROLE_SHIFTER, HUMAN, h_silence_delete, NULL, "",
     "end a silence"},
    {"POST", "/api/v1/admin/reload", SW_ROLE_ADMIN, HUMAN, h_reload, NULL, "",
     "reload the profile and config"},
    {"GET", "/api/v1/audit", SW_ROLE_READ, 0, h_audit, NULL, "run,spill,limit,before", "the audit log"},
    {"GET", "/api/v1/histograms", SW_ROLE_READ, 0, h_hist_list, NULL, "format,run,spill,spills,last,quality",
     "the profile's histograms; format=root: every histogram of a scope as a ROOT TList"},
    {"GET", "/api/v1/histograms/{histogram}", SW_ROLE_READ, 0, h_hist, NULL,
     "run,spill,spills,last,quality,format",
     "one histogram in a scope (live, spill, range, run, last N, good spills); format=root: a ROOT "
     "TH1D/TH2D"},
    {"GET", "/api/v1/trends/{quantity}", SW_ROLE_READ, 0, h_trend, NULL, "run,limit,from,to",
     "a quantity per spill"},
    {"GET", "/api/v1/stream", 0, NO_HEAD, h_stream, stream_role, "ticket,last_event_id",
     "the live stream (server-sent events)"},
    {"POST", "/api/v1/stream/ticket", SW_ROLE_READ, 0, h_ticket, NULL, "", "a one-use ticket for the stream"},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static const char *role_name(const struct route *rt)
{
    if (rt->role_fn)
        return rt->fn == h_reeval ? "shifter (dry run), admin (apply)" : "read, or a stream ticket";
    switch (rt->role) {
    case SW_ROLE_READ:
        return "read";
    case SW_ROLE_INGEST:
        return "ingest";
    case SW_ROLE_SHIFTER:
        return "shifter";
    case SW_ROLE_ADMIN:
        return "admin";
    default:
        return "none";
    }
}

/* The parameters of rt as a JSON array of names. */
static json_t *params_json(const struct route *rt)
{
    json_t *a = json_array();
    for (const char *p = rt->params; *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return a;
}

/* GET /api/v1/: every route of the table, in its order. */
static void h_index(const struct req *q, struct sw_reply *r)
{
    (void)q;
    json_t *arr = json_array();
    for (size_t i = 0; i < NROUTES; i++) {
        const struct route *rt = &routes[i];
        json_t *m = json_array();
        json_array_append_new(m, json_string(rt->method));
        if (!strcmp(rt->method, "GET") && !(rt->flags & NO_HEAD))
            json_array_append_new(m, json_string("HEAD"));
        json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:o, s:s, s:s, s:b}", "method", rt->method,
                                             "methods", m, "path", rt->path, "params", params_json(rt),
                                             "role", role_name(rt), "summary", rt->summary, "human_write",
                                             (rt->flags & HUMAN) != 0));
    }
    sw_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:s, s:o}", "service", "spillwatch", "version", SW_VERSION, "docs",
                            "docs/api.md and docs/openapi.json in the spillwatch repository", "routes", arr));
}

/* ---- query parameters: each route takes the ones it declares, any other is a 400 ---- */

struct qcheck {
    const struct route *rt;
    char bad[64];
    int nbad;
};

static int declared(const char *params, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = params; *p;) {
        size_t n = strcspn(p, ",");
        if (n == k && memcmp(p, key, n) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

static enum MHD_Result qcheck_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    struct qcheck *qc = cls;
    if (!declared(qc->rt->params, key ? key : "") && qc->nbad++ == 0)
        snprintf(qc->bad, sizeof qc->bad, "%s", key ? key : "");
    return MHD_YES;
}

/* 0 when every query parameter of the request is one rt takes, else -1 with a 400 naming it and
 * the ones it takes. */
static int check_query(const struct route *rt, struct MHD_Connection *c, struct sw_reply *r)
{
    struct qcheck qc = {.rt = rt};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, qcheck_one, &qc);
    if (!qc.nbad)
        return 0;
    sw_utf8_clean(qc.bad);
    char takes[256];
    size_t o = 0;
    for (const char *p = rt->params; *p && o + 3 < sizeof takes; p++) {
        takes[o++] = *p;
        if (*p == ',')
            takes[o++] = ' ';
    }
    takes[o] = 0;
    if (!rt->params[0])
        sw_reply_fail(r, SW_EINVAL, "unknown query parameter \"%s\": %s %s takes none", qc.bad, rt->method,
                      rt->path);
    else
        sw_reply_fail(r, SW_EINVAL, "unknown query parameter \"%s\": %s %s takes %s", qc.bad, rt->method,
                      rt->path, takes);
    return -1;
}

#define SEG_MAX 8

struct segs {
    const char *s[SEG_MAX];
    size_t len[SEG_MAX];
    int n;
};

/* Splits a path at '/' (after the leading one). -1 for an empty segment, or more than SEG_MAX. */
static int split(const char *path, struct segs *g)
{
    g->n = 0;
    if (*path != '/')
        return -1;
    for (const char *p = path + 1;;) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (l == 0 || g->n == SEG_MAX)
            return -1;
        g->s[g->n] = p;
        g->len[g->n++] = l;
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

static int seg_is(const struct segs *g, int i, const char *lit, size_t n)
{
    return g->len[i] == n && memcmp(g->s[i], lit, n) == 0;
}

/* The path of a route matches the request's: same segments, literals equal. */
static int path_matches(const struct route *rt, const struct segs *want)
{
    struct segs g;
    if (split(rt->path, &g) != 0 || g.n != want->n)
        return 0;
    for (int i = 0; i < g.n; i++)
        if (g.s[i][0] != '{' && !seg_is(want, i, g.s[i], g.len[i]))
            return 0;
    return 1;
}

/* Fills the placeholders of rt from the request's segments: 0, or -1 with a 400 reply. */
static int bind_params(const struct route *rt, const struct segs *want, struct req *q, struct sw_reply *r)
{
    struct segs g;
    split(rt->path, &g);
    for (int i = 0; i < g.n; i++) {
        const char *v = want->s[i];
        size_t n = want->len[i];
        if (g.s[i][0] != '{')
            continue;
        if (seg_is(&g, i, "{run}", 5)) {
            if (sw_req_path_int(r, "run", v, n, &q->run) < 0)
                return -1;
        } else if (seg_is(&g, i, "{spill}", 7)) {
            if (sw_req_path_int(r, "spill", v, n, &q->spill) < 0)
                return -1;
        } else if (seg_is(&g, i, "{spills}", 8)) { /* {spill} or {first}-{last} */
            const char *dash = memchr(v, '-', n);
            if (sw_req_path_int(r, "spill", v, dash ? (size_t)(dash - v) : n, &q->spill) < 0 ||
                (dash && sw_req_path_int(r, "last spill of the range", dash + 1, n - (size_t)(dash + 1 - v),
                                         &q->last) < 0))
                return -1;
            if (!dash)
                q->last = q->spill;
            if (q->last < q->spill) {
                sw_reply_fail(r, SW_EINVAL, "spill range %lld-%lld is empty", (long long)q->spill,
                              (long long)q->last);
                return -1;
            }
        } else if (seg_is(&g, i, "{silence}", 9)) {
            if (sw_req_path_int(r, "silence id", v, n, &q->id) < 0)
                return -1;
        } else {
            static const struct {
                const char *ph, *what;
            } names[] = {{"{source}", "source"},
                         {"{alarm}", "alarm"},
                         {"{histogram}", "histogram"},
                         {"{quantity}", "trend quantity"}};
            const char *what = "name";
            for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
                if (seg_is(&g, i, names[k].ph, strlen(names[k].ph)))
                    what = names[k].what;
            if (sw_req_path_name(r, what, v, n, q->name, sizeof q->name) < 0)
                return -1;
        }
    }
    return 0;
}

static int method_is(const char *method, const struct route *rt)
{
    return strcmp(method, rt->method) == 0 ||
           (!(rt->flags & NO_HEAD) && strcmp(rt->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

/* 405 naming the methods the path takes (Allow), in the table's order. */
static void not_allowed(const char *method, const struct segs *want, struct sw_reply *r)
{
    static __thread char allow[64];
    allow[0] = 0;
    for (size_t i = 0; i < NROUTES; i++)
        if (path_matches(&routes[i], want)) {
            int head = strcmp(routes[i].method, "GET") == 0 && !(routes[i].flags & NO_HEAD);
            const char *m = head ? "GET, HEAD" : routes[i].method;
            if (!strstr(allow, m))
                snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s", allow[0] ? ", " : "",
                         m);
        }
    sw_reply_fail(r, SW_EMETHOD, "method %s not allowed here; use %s", method, allow);
    r->allow = allow;
}

/* 503 from a standby (ha.h) to a write: the active server's URL, for the collector to move to. */
static void standby_refuses(const struct sw_api *api, struct sw_reply *r)
{
    char url[256];
    sw_ha_active_url(api->ha, url, sizeof url);
    json_t *j = json_pack("{s:s+, s:s, s:o}", "error",
                          "this server is a standby: ingest and writes go to the active server ",
                          url[0] ? url : "(none holds the lock yet: one takes it within seconds)", "role",
                          "standby", "active", url[0] ? json_string(url) : json_null());
    sw_reply_json(r, 503, j);
    r->retry_after = 1;
}

static void route(const struct sw_api *api, struct MHD_Connection *c, const char *method, const char *path,
                  const char *body, size_t len, struct sw_ingest_call *call, struct sw_reply *r, int *human)
{
    memset(r, 0, sizeof *r);
    struct segs want;
    int ingest = 0;
    const struct route *rt = NULL, *any = NULL;
    if (strcmp(path, "/api/v1/") == 0)
        path = "/api/v1"; /* the index, with or without its slash */
    if (split(path, &want) == 0)
        for (size_t i = 0; i < NROUTES && !rt; i++)
            if (path_matches(&routes[i], &want)) {
                any = any ? any : &routes[i];
                ingest |= routes[i].flags & INGEST;
                if (method_is(method, &routes[i]))
                    rt = &routes[i];
            }
    if (!any) {
        if (strncmp(path, "/api/v1/", 8) != 0 && strcmp(path, "/metrics") != 0)
            sw_reply_fail(r, SW_ENOTFOUND, "no API at %s (this server speaks /api/v1/)", path);
        else
            sw_reply_fail(r, SW_ENOTFOUND, "no API at %s", path);
        return;
    }
    struct req q = {.api = api, .c = c, .method = method, .body = body, .len = len, .call = call};
    if (bind_params(any, &want, &q, r) != 0)
        goto refused;
    if (!rt) {
        not_allowed(method, &want, r);
        goto refused;
    }
    unsigned role = rt->role;
    *human = rt->flags & HUMAN;
    if (rt->role_fn && !(role = rt->role_fn(&q, r, human)))
        goto refused;
    if (role == ROLE_OWN)
        role = 0;
    if (role && sw_auth_require(api, c, role, r, &q.who) != 0)
        goto refused;
    if ((*human || (rt->flags & INGEST) || rt->fn == h_source_release) && !sw_ha_active(api->ha)) {
        standby_refuses(api, r);
        goto refused;
    }
    if (*human && sw_req_store_refuses(api->store, r))
        goto refused;
    if (!role)
        q.who = "open";
    if (check_query(rt, c, r) != 0)
        goto refused;
    rt->fn(&q, r);
    return;
refused:
    if (ingest)
        sw_metrics_ingest_rejected(r->status);
}

void sw_api_handle(const struct sw_api *api, struct MHD_Connection *c, const char *method, const char *path,
                   const char *body, size_t len, struct sw_ingest_call *call, struct sw_reply *r)
{
    int human = 0;
    route(api, c, method, path, body, len, call, r, &human);
    /* A human write refused by the store on its way (the disk filled, the file moved) gets the
     * store's own answer: why, and when to try again. */
    if (human && r->status >= 500 && !r->retry_after)
        sw_req_store_refuses(api->store, r);
}
