/* alarm_report.c — see alarm_report.h */
#include "alarm_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm_fold.h"
#include "clock.h"
#include "delivery_log.h"
#include "jsonnum.h"
#include "silence.h"

/* ---- the delivery log ---- */

#define DELIVERY_COLS                                                                                  \
    "id, time, alarm, episode, fingerprint, notice, status, run, spill, hook, kind, target, attempt, " \
    "outcome, "                                                                                        \
    "http_status, exit_code, error, latency"
static const char *const delivery_keys[] = {
    "id",   "time", "alarm",  "episode", "fingerprint", "notice",      "status",    "run",   "spill",
    "hook", "kind", "target", "attempt", "outcome",     "http_status", "exit_code", "error", "latency"};
#define NDELIVERY_KEYS (int)(sizeof delivery_keys / sizeof delivery_keys[0])

static json_t *delivery_row(sw_stmt *st)
{
    json_t *o = json_object();
    for (int i = 0; i < NDELIVERY_KEYS; i++)
        json_object_set_new(o, delivery_keys[i], sw_json_column(st, i));
    return o;
}

static void fail(sw_sql *db, char *err, size_t len)
{
    snprintf(err, len, "the database cannot be read: %s", sw_sql_errmsg(db));
}

json_t *sw_alarm_report_deliveries(sw_sql *db, const char *alarm, const struct sw_alarm_range *r,
                                   int64_t limit, char *err, size_t errlen)
{
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "SELECT " DELIVERY_COLS " FROM alarm_deliveries WHERE alarm = ?1 AND "
                       "(?2 < 0 AND time >= ?3 AND time < ?4 OR ?2 >= 0 AND run BETWEEN ?2 AND ?5) "
                       "ORDER BY id DESC LIMIT ?6",
                       -1, &st, NULL) != SW_SQL_OK) {
        fail(db, err, errlen);
        return NULL;
    }
    sw_sql_bind_text(st, 1, alarm, -1, SW_SQL_STATIC);
    sw_sql_bind_int64(st, 2, r->run_first);
    sw_sql_bind_double(st, 3, isfinite(r->since) ? r->since : -1e300);
    sw_sql_bind_double(st, 4, isfinite(r->until) ? r->until : 1e300);
    sw_sql_bind_int64(st, 5, r->run_last);
    sw_sql_bind_int64(st, 6, limit);
    json_t *arr = json_array();
    int rc;
    while ((rc = sw_sql_step(st)) == SW_SQL_ROW)
        json_array_append_new(arr, delivery_row(st));
    sw_sql_finalize(st);
    if (rc != SW_SQL_DONE) {
        fail(db, err, errlen);
        json_decref(arr);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "alarm", alarm, "deliveries", arr);
}

int sw_alarm_report_known(sw_sql *db, struct sw_alarms *alarms, const char *name)
{
    json_t *all = sw_alarms_json(alarms), *a;
    size_t i;
    int known = 0;
    json_array_foreach(json_object_get(all, "alarms"), i, a)
    {
        known |= !strcmp(json_string_value(json_object_get(a, "name")), name);
    }
    json_decref(all);
    sw_stmt *st;
    if (!known && sw_sql_prepare(db,
                                 "SELECT EXISTS(SELECT 1 FROM alarm_events WHERE alarm = ?1) OR "
                                 "EXISTS(SELECT 1 FROM alarm_deliveries WHERE alarm = ?1)",
                                 -1, &st, NULL) == SW_SQL_OK) {
        sw_sql_bind_text(st, 1, name, -1, SW_SQL_STATIC);
        known = sw_sql_step(st) == SW_SQL_ROW && sw_sql_column_int(st, 0);
        sw_sql_finalize(st);
    }
    return known;
}

int sw_alarm_report_attach(sw_sql *db, json_t *history)
{
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "SELECT " DELIVERY_COLS " FROM alarm_deliveries WHERE alarm = ?1 AND episode "
                       "BETWEEN ?2 - 0.0005 AND ?2 + 0.0005 ORDER BY id",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    size_t i;
    json_t *h;
    int rc = 0;
    json_array_foreach(history, i, h)
    {
        if (!sw_alarm_fold_starts_episode(json_string_value(json_object_get(h, "from")),
                                          json_string_value(json_object_get(h, "to"))))
            continue;
        sw_sql_reset(st);
        sw_sql_bind_text(st, 1, json_string_value(json_object_get(h, "alarm")), -1, SW_SQL_TRANSIENT);
        sw_sql_bind_double(st, 2, json_number_value(json_object_get(h, "time")));
        json_t *arr = json_array();
        int s;
        while ((s = sw_sql_step(st)) == SW_SQL_ROW)
            json_array_append_new(arr, delivery_row(st));
        rc |= s == SW_SQL_DONE ? 0 : -1;
        json_object_set_new(h, "deliveries", arr);
    }
    sw_sql_finalize(st);
    return rc;
}

/* ---- figures ---- */

struct hook_counts {
    char hook[SW_NAME_MAX];
    int in_rule; /* one of the rule's hooks now */
    long long n[SW_OUTCOME_N];
};

/* A rule as one request sees it: its episodes and delivery rows borrowed from the fold. */
struct rule {
    char name[SW_NAME_MAX], severity[16];
    int current;                        /* a rule of the profile in force */
    json_t *hooks;                      /* the rule's hooks now (borrowed from the alarms' view), or NULL */
    const struct sw_alarm_fold_rule *f; /* its history, or NULL (never fired, no delivery) */
    const struct sw_alarm_ep *eps;
    int neps;
    double (*sil)[2]; /* silence intervals matching the rule */
    int nsil, silcap;
    struct hook_counts *hc;
    int nhc;
};

struct rules {
    struct rule *v;
    int n, cap;
};

static struct rule *find(struct rules *rs, const char *name)
{
    for (int i = 0; i < rs->n; i++)
        if (!strcmp(rs->v[i].name, name))
            return &rs->v[i];
    return NULL;
}

static struct rule *add(struct rules *rs, const char *name, const char *severity)
{
    if (rs->n == rs->cap) {
        int cap = rs->cap ? 2 * rs->cap : 16;
        struct rule *v = realloc(rs->v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        rs->v = v;
        rs->cap = cap;
    }
    struct rule *r = &rs->v[rs->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->severity, sizeof r->severity, "%s", severity ? severity : "");
    return r;
}

static void free_rules(struct rules *rs)
{
    for (int i = 0; i < rs->n; i++) {
        free(rs->v[i].sil);
        free(rs->v[i].hc);
    }
    free(rs->v);
}

static int selected(const struct sw_alarm_ep *e, const void *ctx)
{
    const struct sw_alarm_range *g = ctx;
    if (g->run_first >= 0)
        return e->srun >= g->run_first && e->srun <= g->run_last;
    return e->start >= g->since && e->start < g->until;
}

/* The silences that may overlap an episode from lower on, as intervals of the rules they match. */
static int silences(sw_sql *db, struct sw_alarms *alarms, struct rules *rs, double lower)
{
    sw_stmt *st;
    if (sw_sql_prepare(db, "SELECT starts_at, ends_at, matchers FROM silences WHERE ends_at > ?1", -1, &st,
                       NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_double(st, 1, lower);
    while (sw_sql_step(st) == SW_SQL_ROW) {
        struct sw_silence s = {.starts_at = sw_sql_column_double(st, 0),
                               .ends_at = sw_sql_column_double(st, 1)};
        sw_silence_matchers_from_json(&s, (const char *)sw_sql_column_text(st, 2));
        json_t *names = sw_alarms_silence_matches(alarms, &s);
        for (int i = 0; i < rs->n; i++) {
            struct rule *r = &rs->v[i];
            int match = 0;
            if (r->current) {
                size_t k;
                json_t *n;
                json_array_foreach(names, k, n)
                {
                    match |= !strcmp(json_string_value(n), r->name);
                }
            } else { /* a rule gone from the profile: only its name and severity are known */
                match = s.nmatchers > 0;
                for (int k = 0; k < s.nmatchers; k++)
                    match &=
                        (!strcmp(s.matchers[k][0], "alertname") && !strcmp(s.matchers[k][1], r->name)) ||
                        (!strcmp(s.matchers[k][0], "severity") && !strcmp(s.matchers[k][1], r->severity));
            }
            if (!match)
                continue;
            if (r->nsil == r->silcap) {
                int cap = r->silcap ? 2 * r->silcap : 8;
                double(*v2)[2] = realloc(r->sil, (size_t)cap * sizeof *v2);
                if (!v2)
                    continue;
                r->sil = v2;
                r->silcap = cap;
            }
            r->sil[r->nsil][0] = s.starts_at;
            r->sil[r->nsil][1] = s.ends_at;
            r->nsil++;
        }
        json_decref(names);
    }
    sw_sql_finalize(st);
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

static int by_value(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

/* Seconds of [a, b) that the union of the rule's silences covers (r->sil sorted by start). */
static double covered(const struct rule *r, double a, double b)
{
    double sum = 0, reach = a;
    for (int i = 0; i < r->nsil; i++) {
        double s = fmax(r->sil[i][0], reach), e = fmin(r->sil[i][1], b);
        if (e > s) {
            sum += e - s;
            reach = e;
        }
    }
    return sum;
}

static struct hook_counts *hook_slot(struct rule *r, const char *hook)
{
    for (int i = 0; i < r->nhc; i++)
        if (!strcmp(r->hc[i].hook, hook))
            return &r->hc[i];
    struct hook_counts *v = realloc(r->hc, (size_t)(r->nhc + 1) * sizeof *v);
    if (!v)
        return NULL;
    r->hc = v;
    struct hook_counts *h = &r->hc[r->nhc++];
    memset(h, 0, sizeof *h);
    snprintf(h->hook, sizeof h->hook, "%s", hook);
    return h;
}

/* The delivery rows about the selected episodes, counted per rule and hook by outcome. */
static void deliveries(struct rules *rs, const struct sw_alarm_range *g)
{
    for (int i = 0; i < rs->n; i++) {
        struct rule *r = &rs->v[i];
        for (int k = 0; r->f && k < r->f->ndls; k++) {
            const struct sw_alarm_dl *d = &r->f->dls[k];
            if (d->outcome < 0 || sw_alarm_fold_find(r->f, d->episode, selected, g) < 0)
                continue;
            struct hook_counts *h = hook_slot(r, r->f->hooks[d->hook]);
            if (h)
                h->n[d->outcome]++;
        }
    }
}

static json_t *outcome_counts(const long long n[SW_OUTCOME_N])
{
    json_t *o = json_object();
    for (int k = 0; k < SW_OUTCOME_N; k++)
        json_object_set_new(o, sw_delivery_outcome_names[k], json_integer(n[k]));
    return o;
}

static json_t *rule_json(struct rule *r, const struct sw_alarm_range *g, double now)
{
    long long fired = 0, open = 0, auto_end = 0, within = 0, reset = 0, acked = 0;
    double firing = 0, silenced = 0, ack_total = 0, *acks = NULL, median = NAN, max = NAN;
    /* The whole history with no silence of the rule: the fold's running figures, no walk over the
     * episodes (at 10^6 stored spills about 10^4 of them, cold in the cache after other reads). */
    const struct sw_alarm_fold_rule *f = r->f;
    if (g->run_first < 0 && g->since == -INFINITY && g->until == INFINITY && !r->nsil) {
        if (f) {
            fired = f->neps;
            open = (f->open >= 0) + f->n_dangling;
            firing = f->ended_s + (f->open >= 0 ? fmax(0, now - f->eps[f->open].start) : 0) +
                     (f->n_dangling ? (double)f->n_dangling * now - f->dangling_starts : 0);
            auto_end = f->n_auto;
            reset = f->n_reset;
            int lo = 0, hi = f->nwithin; /* how many took at most g->within spills */
            while (lo < hi) {
                int mid = lo + (hi - lo) / 2;
                if (f->within[mid] <= g->within)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            within = lo;
            acked = f->nacks;
            acks = f->acks;
            ack_total = f->ack_sum;
        }
    } else {
        acks = malloc(((size_t)r->neps + 1) * sizeof *acks);
        for (int i = 0; i < r->neps; i++) {
            const struct sw_alarm_ep *e = &r->eps[i];
            if (!selected(e, g))
                continue;
            fired++;
            double end = isnan(e->end) ? now : e->end;
            open += isnan(e->end);
            firing += fmax(0, end - e->start);
            silenced += covered(r, e->start, end);
            auto_end += e->how == 1;
            reset += e->how == 2;
            within += e->how == 1 && e->srun >= 0 && e->erun == e->srun && e->sspill >= 0 && e->espill >= 0 &&
                      e->espill - e->sspill <= g->within;
            if (!isnan(e->ack) && acks)
                acks[acked++] = e->ack - e->start;
        }
        if (acked && acks)
            qsort(acks, (size_t)acked, sizeof *acks, by_value);
        for (long long k = 0; acks && k < acked; k++)
            ack_total += acks[k];
    }
    if (acked && acks) {
        median = acked % 2 ? acks[acked / 2] : (acks[acked / 2 - 1] + acks[acked / 2]) / 2;
        max = acks[acked - 1];
    }
    if (!f || acks != f->acks)
        free(acks);
    /* Every hook of the rule now is listed (zeros included), then any other that was used. */
    size_t k;
    json_t *hk;
    json_array_foreach(r->hooks, k, hk)
    {
        struct hook_counts *h = hook_slot(r, json_string_value(json_object_get(hk, "hook")));
        if (h)
            h->in_rule = 1;
    }
    long long total[SW_OUTCOME_N] = {0};
    json_t *hooks = json_array();
    for (int i = 0; i < r->nhc; i++) {
        for (int o = 0; o < SW_OUTCOME_N; o++)
            total[o] += r->hc[i].n[o];
        json_t *h = outcome_counts(r->hc[i].n);
        json_object_set_new(h, "hook", json_string(r->hc[i].hook));
        json_object_set_new(h, "failed", json_integer(r->hc[i].n[SW_DROPPED] + r->hc[i].n[SW_QUEUE_FULL]));
        json_object_set_new(h, "in_rule", json_boolean(r->hc[i].in_rule));
        json_array_append_new(hooks, h);
    }
    json_t *j =
        json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:o}", "alarm",
                  r->name, "severity", r->severity, "in_profile", r->current, "fired", (json_int_t)fired,
                  "firing_now", (json_int_t)open, "acknowledged", (json_int_t)acked, "ack_median_seconds",
                  sw_json_real_or_null(median), "ack_max_seconds", sw_json_real_or_null(max), "auto_resolved",
                  (json_int_t)auto_end, "auto_resolved_within", (json_int_t)within, "reset",
                  (json_int_t)reset, "firing_seconds", json_real(firing), "silenced_seconds",
                  json_real(silenced), "deliveries", outcome_counts(total), "deliveries_failed",
                  (json_int_t)(total[SW_DROPPED] + total[SW_QUEUE_FULL]), "hooks", hooks);
    json_object_set_new(j, "ack_total_seconds", json_real(ack_total));
    return j;
}

json_t *sw_alarm_report_stats(sw_sql *db, struct sw_alarms *alarms, const struct sw_alarm_range *g, char *err,
                              size_t errlen)
{
    struct rules rs = {0};
    json_t *all = sw_alarms_json(alarms), *a;
    size_t i;
    json_array_foreach(json_object_get(all, "alarms"), i, a)
    {
        struct rule *r = add(&rs, json_string_value(json_object_get(a, "name")),
                             json_string_value(json_object_get(a, "severity")));
        if (r) {
            r->current = 1;
            r->hooks = json_object_get(a, "hooks");
        }
    }
    double now = sw_wall();
    json_t *out = NULL;
    const struct sw_alarm_fold *fold = sw_alarm_fold_acquire(db, err, errlen);
    if (!fold)
        goto done;
    /* The rules of the profile first (in its order), then every other rule of the history. */
    double lower = INFINITY; /* the earliest selected episode: silences before it cannot matter */
    for (int k = 0; k < fold->nrules; k++) {
        const struct sw_alarm_fold_rule *f = &fold->rules[k];
        struct rule *r = find(&rs, f->name);
        if (!r && !(r = add(&rs, f->name, f->severity)))
            continue;
        r->f = f;
        r->eps = f->eps;
        r->neps = f->neps;
        for (int e = 0; e < f->neps; e++)
            if (selected(&f->eps[e], g) && f->eps[e].start < lower)
                lower = f->eps[e].start;
    }
    if (isfinite(lower)) {
        if (silences(db, alarms, &rs, lower) != 0) {
            sw_alarm_fold_release();
            fail(db, err, errlen);
            goto done;
        }
        deliveries(&rs, g);
    }
    json_t *rules = json_array();
    for (int k = 0; k < rs.n; k++) {
        struct rule *r = &rs.v[k];
        if (r->nsil)
            qsort(r->sil, (size_t)r->nsil, sizeof *r->sil, by_start);
        json_t *j = rule_json(r, g, now);
        if (r->current || json_integer_value(json_object_get(j, "fired")) > 0)
            json_array_append_new(rules, j);
        else
            json_decref(j);
    }
    out = json_pack("{s:o, s:o, s:o, s:i, s:f, s:o}", "since",
                    g->run_first < 0 ? sw_json_real_or_null(g->since) : json_null(), "until",
                    g->run_first < 0 ? sw_json_real_or_null(g->until) : json_null(), "runs",
                    g->run_first >= 0 ? json_pack("[I, I]", (json_int_t)g->run_first, (json_int_t)g->run_last)
                                      : json_null(),
                    "within", g->within, "now", now, "rules", rules);
    sw_alarm_fold_release();
done:
    free_rules(&rs);
    json_decref(all);
    return out;
}
