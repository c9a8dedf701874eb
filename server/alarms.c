/* alarms.c — see alarms.h */
#include "alarms.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

enum astate { A_INACTIVE, A_PENDING, A_FIRING, A_RESOLVED };
static const char *const astate_names[] = {"inactive", "pending", "firing", "resolved"};

struct rule_state {
    enum astate state;
    int count;        /* consecutive spills with the condition true */
    double since;     /* Unix s of the last transition */
    double starts_at; /* when the current episode started firing */
    double value, threshold;
    int64_t run, spill; /* of the last evaluation */
    char fingerprint[17];
};

struct sw_alarms {
    const struct sw_profile *p;
    struct sw_store *store;
    struct sw_hooks *hooks;
    pthread_mutex_t mu;
    struct rule_state *st;
};

struct sw_alarms *sw_alarms_new(const struct sw_profile *p, struct sw_store *store, struct sw_hooks *hooks)
{
    struct sw_alarms *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->st = calloc((size_t)p->nalarms + 1, sizeof *a->st);
    if (!a->st) {
        free(a);
        return NULL;
    }
    a->p = p;
    a->store = store;
    a->hooks = hooks;
    pthread_mutex_init(&a->mu, NULL);
    double now = sw_wall();
    for (int i = 0; i < p->nalarms; i++) {
        a->st[i].since = now;
        a->st[i].value = a->st[i].threshold = NAN;
        a->st[i].run = a->st[i].spill = -1;
    }
    return a;
}

void sw_alarms_free(struct sw_alarms *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a->st);
    free(a);
}

/* ---- persistence ---- */

struct event {
    char alarm[SW_NAME_MAX], severity[16], note[64];
    const char *from, *to;
    int64_t run, spill;
    double time, value, threshold;
};

static int store_event(sqlite3 *db, void *ctx)
{
    struct event *e = ctx;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            db,
            "INSERT INTO alarm_events(time, alarm, severity, from_state, to_state, run, spill, value, "
            "threshold, note) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_double(st, 1, e->time);
    sqlite3_bind_text(st, 2, e->alarm, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, e->severity, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e->from, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, e->to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, e->run);
    sqlite3_bind_int64(st, 7, e->spill);
    if (isfinite(e->value))
        sqlite3_bind_double(st, 8, e->value);
    if (isfinite(e->threshold))
        sqlite3_bind_double(st, 9, e->threshold);
    if (e->note[0])
        sqlite3_bind_text(st, 10, e->note, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

/* Called with a->mu held. */
static void transition(struct sw_alarms *a, int i, enum astate to, const char *note)
{
    const struct sw_alarm_def *d = &a->p->alarms[i];
    struct rule_state *s = &a->st[i];
    enum astate from = s->state;
    double now = sw_wall();
    s->state = to;
    s->since = now;
    atomic_fetch_add(&sw_metrics.alarm_transitions, 1);
    if (to == A_FIRING) {
        s->starts_at = now;
        /* One fingerprint per episode: FNV-1a of the name and the start time. */
        uint64_t h = 0xcbf29ce484222325ull;
        for (const char *c = d->name; *c; c++)
            h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
        h = (h ^ (uint64_t)(now * 1000)) * 0x100000001b3ull;
        snprintf(s->fingerprint, sizeof s->fingerprint, "%016llx", (unsigned long long)h);
        atomic_fetch_add(&sw_metrics.alarms_firing, 1);
    } else if (from == A_FIRING)
        atomic_fetch_sub(&sw_metrics.alarms_firing, 1);
    sw_info("alarms", "%s: %s -> %s (run %lld spill %lld, value %.6g)", d->name, astate_names[from],
            astate_names[to], (long long)s->run, (long long)s->spill, s->value);

    struct event *e = malloc(sizeof *e);
    if (e) {
        *e = (struct event){.from = astate_names[from],
                            .to = astate_names[to],
                            .run = s->run,
                            .spill = s->spill,
                            .time = now,
                            .value = s->value,
                            .threshold = s->threshold};
        snprintf(e->alarm, sizeof e->alarm, "%s", d->name);
        snprintf(e->severity, sizeof e->severity, "%s", d->severity);
        snprintf(e->note, sizeof e->note, "%s", note ? note : "");
        sw_store_call_async(a->store, store_event, e, free);
    }
    if (to != A_FIRING && !(from == A_FIRING && to == A_RESOLVED))
        return;
    struct sw_notice n = {.run = s->run,
                          .spill = s->spill,
                          .value = s->value,
                          .threshold = s->threshold,
                          .starts_at = s->starts_at,
                          .ends_at = to == A_RESOLVED ? now : 0};
    snprintf(n.alarm, sizeof n.alarm, "%s", d->name);
    snprintf(n.severity, sizeof n.severity, "%s", d->severity);
    snprintf(n.summary, sizeof n.summary, "%s", d->summary);
    snprintf(n.status, sizeof n.status, "%s", to == A_FIRING ? "firing" : "resolved");
    snprintf(n.fingerprint, sizeof n.fingerprint, "%s", s->fingerprint);
    for (int k = 0; k < d->nhooks; k++)
        sw_hooks_notify(a->hooks, d->hooks[k], &n);
}

/* ---- evaluation ---- */

static double rule_value(const struct sw_alarm_def *d, const struct sw_quality_input *in, enum sw_state flag,
                         const struct sw_check_result *res)
{
    switch (d->source) {
    case SW_ALARM_QUANTITY:
        return sw_quality_value(&d->q, in);
    case SW_ALARM_CHECK_STATE: {
        enum sw_state s = res[d->check].state;
        return s == SW_GOOD ? 0 : s == SW_WARN ? 1 : s == SW_BAD ? 2 : NAN;
    }
    case SW_ALARM_FLAG:
        return (int)flag == d->flag ? 1 : 0;
    }
    return NAN;
}

void sw_alarms_spill(struct sw_alarms *a, const struct sw_quality_input *in, enum sw_state flag,
                     const struct sw_check_result *res, int64_t run, int64_t spill, int beam)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < a->p->nalarms; i++) {
        const struct sw_alarm_def *d = &a->p->alarms[i];
        struct rule_state *s = &a->st[i];
        if (d->requires_beam && !beam)
            continue; /* suppressed: no evaluation, nothing resets */
        double v = rule_value(d, in, flag, res);
        if (isnan(v))
            continue; /* not computable for this spill (missing input): no evidence either way */
        int high = !isnan(d->above) && v > d->above, low = !isnan(d->below) && v < d->below;
        s->value = v;
        s->threshold = high ? d->above : low ? d->below : (!isnan(d->above) ? d->above : d->below);
        s->run = run;
        s->spill = spill;
        int cond = high || low;
        int recovered = !(v > d->recover_above) && !(v < d->recover_below); /* NaN bounds never trip */
        switch (s->state) {
        case A_INACTIVE:
        case A_RESOLVED:
        case A_PENDING:
            if (!cond) {
                s->count = 0;
                if (s->state == A_PENDING)
                    transition(a, i, A_INACTIVE, "condition false: pending reset");
                break;
            }
            s->count++;
            if (s->count >= d->for_spills)
                transition(a, i, A_FIRING, NULL);
            else if (s->state != A_PENDING)
                transition(a, i, A_PENDING, NULL);
            break;
        case A_FIRING:
            if (recovered && !d->latched) {
                s->count = 0;
                transition(a, i, A_RESOLVED, NULL);
            }
            break;
        }
    }
    pthread_mutex_unlock(&a->mu);
}

json_t *sw_alarms_json(struct sw_alarms *a)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < a->p->nalarms; i++) {
        const struct sw_alarm_def *d = &a->p->alarms[i];
        const struct rule_state *s = &a->st[i];
        json_t *hooks = json_array();
        for (int k = 0; k < d->nhooks; k++)
            json_array_append_new(hooks, json_string(a->p->hooks[d->hooks[k]].name));
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:f, s:o, s:o, s:o, s:o, s:i, s:i, s:b, s:o}", "name", d->name,
                      "severity", d->severity, "summary", d->summary, "state", astate_names[s->state],
                      "since", s->since, "value", isfinite(s->value) ? json_real(s->value) : json_null(),
                      "threshold", isfinite(s->threshold) ? json_real(s->threshold) : json_null(), "run",
                      s->run >= 0 ? json_integer(s->run) : json_null(), "spill",
                      s->spill >= 0 ? json_integer(s->spill) : json_null(), "count", s->count, "for",
                      d->for_spills, "latched", d->latched, "hooks", hooks));
    }
    pthread_mutex_unlock(&a->mu);
    return json_pack("{s:o}", "alarms", arr);
}
