/* alarms.c — see alarms.h */
#include "alarms.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm_store.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "silence.h"
#include "stream.h"

enum astate { A_INACTIVE, A_PENDING, A_FIRING, A_ACKED, A_RESOLVED };
const char *const sw_alarm_state_names[5] = {"inactive", "pending", "firing", "acknowledged", "resolved"};
#define NAME(s) sw_alarm_state_names[s]

struct rule_state {
    enum astate state;
    int count;          /* spill rules: consecutive spills with the condition true */
    double true_since;  /* live rules: monotonic s since the condition holds without a break; NaN if not */
    double since;       /* Unix s of the last transition */
    double starts_at;   /* Unix s: start of the firing episode (payloads, fingerprint) */
    double starts_mono; /* monotonic s: start of the firing episode (escalation delays) */
    double value, threshold;
    int64_t run, spill; /* of the last evaluation */
    char fingerprint[17];
    int sent[SW_ALARM_HOOKS_MAX];         /* the hook was told of this episode's firing */
    double last_sent[SW_ALARM_HOOKS_MAX]; /* monotonic s of its last firing notice */
    int held[SW_ALARM_HOOKS_MAX];         /* a silence held this episode's first notice back (logged once) */
    char ack_by[2 * SW_NAME_MAX + 8], ack_comment[512];
    double ack_at, ack_expires; /* Unix s; ack_expires 0 = until the episode ends */
};

struct sw_alarms {
    struct sw_profile *p; /* a reference; replaced under mu by sw_alarms_set_profile */
    struct sw_store *store;
    struct sw_hooks *hooks; /* borrowed; replaced under mu */
    pthread_mutex_t mu;
    struct rule_state *st;
    struct sw_silences sil;   /* active (or future) silences */
    struct sw_stream *stream; /* borrowed; may be NULL */
    struct sw_live prev;      /* the previous live sample, for rates */
    int have_prev;
};

static int active(enum astate s)
{
    return s == A_FIRING || s == A_ACKED;
}

static int find_rule(const struct sw_alarms *a, const char *name)
{
    for (int i = 0; i < a->p->nalarms; i++)
        if (!strcmp(a->p->alarms[i].name, name))
            return i;
    return -1;
}

/* One fingerprint per episode: FNV-1a of the name and the start time (restorable from the store). */
static void fingerprint(char out[17], const char *name, double starts_at)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *c = name; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    h = (h ^ (uint64_t)(starts_at * 1000)) * 0x100000001b3ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* Who did a human transition, and why. */
struct actor {
    const char *who, *shifter, *comment;
    double expires;
};

/* ---- notifications ---- */

/* Id of the first silence that mutes rule i now, or 0. Called with a->mu held. */
static int64_t silenced_by(const struct sw_alarms *a, int i, double now)
{
    return sw_silences_muting(&a->sil, &a->p->alarms[i], now);
}

/* The notice of rule i's episode now, for its k-th hook: sent, or (held) logged as held back. */
static void send_or_hold(struct sw_alarms *a, int i, int k, const char *status, double ends_at, int held)
{
    const struct sw_alarm_def *d = &a->p->alarms[i];
    const struct rule_state *s = &a->st[i];
    struct sw_notice n = {.run = s->run,
                          .spill = s->spill,
                          .value = s->value,
                          .threshold = s->threshold,
                          .starts_at = s->starts_at,
                          .ends_at = ends_at,
                          .nlabels = d->nlabels};
    memcpy(n.labels, d->labels, sizeof n.labels);
    snprintf(n.alarm, sizeof n.alarm, "%s", d->name);
    snprintf(n.severity, sizeof n.severity, "%s", d->severity);
    snprintf(n.summary, sizeof n.summary, "%s", d->summary);
    snprintf(n.status, sizeof n.status, "%s", status);
    snprintf(n.fingerprint, sizeof n.fingerprint, "%s", s->fingerprint);
    if (held)
        sw_hooks_held(a->hooks, d->hooks[k].hook, &n);
    else
        sw_hooks_notify(a->hooks, d->hooks[k].hook, &n);
}

static void send(struct sw_alarms *a, int i, int k, const char *status, double ends_at)
{
    send_or_hold(a, i, k, status, ends_at, 0);
}

/* Sends what is due for an active rule: first notices whose `after` has passed (escalation goes on
 * while acknowledged) and repeats (only while firing, not acknowledged). Nothing while silenced: a
 * first notice a silence holds back is logged once per episode and hook (outcome silenced).
 * Called with a->mu held. */
static void dispatch(struct sw_alarms *a, int i, double now, double mono)
{
    const struct sw_alarm_def *d = &a->p->alarms[i];
    struct rule_state *s = &a->st[i];
    if (!active(s->state))
        return;
    if (silenced_by(a, i, now)) {
        for (int k = 0; k < d->nhooks; k++)
            if (!s->sent[k] && !s->held[k] && mono - s->starts_mono >= d->hooks[k].after) {
                send_or_hold(a, i, k, "firing", 0, 1);
                s->held[k] = 1;
            }
        return;
    }
    for (int k = 0; k < d->nhooks; k++) {
        double repeat = a->p->hooks[d->hooks[k].hook].repeat;
        int first = !s->sent[k] && mono - s->starts_mono >= d->hooks[k].after;
        int again = s->sent[k] && s->state == A_FIRING && repeat > 0 && mono - s->last_sent[k] >= repeat;
        if (first || again) {
            send(a, i, k, "firing", 0);
            s->sent[k] = 1;
            s->last_sent[k] = mono;
        }
    }
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* Publishes a transition as an `alarm` event. Called with a->mu held. */
static void publish(struct sw_alarms *a, const struct sw_alarm_event *e)
{
    if (!a->stream)
        return;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:f}", "name",
                          e->alarm, "state", e->to, "from", e->from, "severity", e->severity, "run",
                          e->run >= 0 ? json_integer(e->run) : json_null(), "spill",
                          e->spill >= 0 ? json_integer(e->spill) : json_null(), "value",
                          num_or_null(e->value), "threshold", num_or_null(e->threshold), "note",
                          text_or_null(e->note), "who", text_or_null(e->who), "shifter",
                          text_or_null(e->shifter), "comment", text_or_null(e->comment), "expires",
                          e->expires > 0 ? json_real(e->expires) : json_null(), "time", e->time);
    if (j)
        sw_stream_publish(a->stream, "alarm", j);
    json_decref(j);
}

void sw_alarms_set_stream(struct sw_alarms *a, struct sw_stream *stream)
{
    a->stream = stream;
}

/* Called with a->mu held. by is NULL for automatic transitions. */
static void transition(struct sw_alarms *a, int i, enum astate to, const char *note, const struct actor *by)
{
    const struct sw_alarm_def *d = &a->p->alarms[i];
    struct rule_state *s = &a->st[i];
    enum astate from = s->state;
    double now = sw_wall(), mono = sw_mono();
    s->state = to;
    s->since = now;
    atomic_fetch_add(&sw_metrics.alarm_transitions, 1);
    if (!active(from) && active(to)) {
        s->starts_at = now;
        s->starts_mono = mono;
        fingerprint(s->fingerprint, d->name, now);
        memset(s->sent, 0, sizeof s->sent);
        memset(s->held, 0, sizeof s->held);
        atomic_fetch_add(&sw_metrics.alarms_firing, 1);
    } else if (active(from) && !active(to))
        atomic_fetch_sub(&sw_metrics.alarms_firing, 1);
    if (!active(to)) { /* an acknowledgement covers one episode */
        s->ack_by[0] = s->ack_comment[0] = 0;
        s->ack_at = s->ack_expires = 0;
    }
    sw_info("alarms", "%s: %s -> %s (run %lld spill %lld, value %.6g)%s%s", d->name, NAME(from), NAME(to),
            (long long)s->run, (long long)s->spill, s->value, note ? ": " : "", note ? note : "");

    struct sw_alarm_event *e = calloc(1, sizeof *e);
    if (e) {
        *e = (struct sw_alarm_event){.from = NAME(from),
                                     .to = NAME(to),
                                     .run = s->run,
                                     .spill = s->spill,
                                     .time = now,
                                     .value = s->value,
                                     .threshold = s->threshold,
                                     .expires = by ? by->expires : 0};
        snprintf(e->alarm, sizeof e->alarm, "%s", d->name);
        snprintf(e->severity, sizeof e->severity, "%s", d->severity);
        snprintf(e->note, sizeof e->note, "%s", note ? note : "");
        if (by) {
            snprintf(e->who, sizeof e->who, "%s", by->who ? by->who : "");
            snprintf(e->shifter, sizeof e->shifter, "%s", by->shifter ? by->shifter : "");
            snprintf(e->comment, sizeof e->comment, "%s", by->comment ? by->comment : "");
        }
        publish(a, e);
        sw_alarm_store_event(a->store, e);
    }
    if (active(from) && !active(to)) {
        /* Resolved at once, to every hook that was told of the firing (silenced or not). */
        for (int k = 0; k < d->nhooks; k++)
            if (s->sent[k])
                send(a, i, k, "resolved", now);
        memset(s->sent, 0, sizeof s->sent);
    }
    dispatch(a, i, now, mono);
}

/* ---- start-up ---- */

/* One rule's last stored transition: a firing or acknowledged episode goes on, with the notices due
 * before the restart taken as sent (escalations still to come are not). */
struct restoring {
    struct sw_alarms *a;
    double now, mono; /* when the restore started */
    int quiet;        /* a standby following the active server: no log line per rule */
};

static void restore_rule(void *ctx, const struct sw_alarm_stored *r)
{
    const struct restoring *x = ctx;
    struct sw_alarms *a = x->a;
    double now = x->now, mono = x->mono;
    int i = find_rule(a, r->alarm);
    if (i < 0)
        return;
    struct rule_state *s = &a->st[i];
    s->since = r->time;
    s->run = r->run;
    s->spill = r->spill;
    s->value = r->value;
    s->threshold = r->threshold;
    if (!strcmp(r->to, "resolved"))
        s->state = A_RESOLVED;
    if (strcmp(r->to, "firing") && strcmp(r->to, "acknowledged"))
        return; /* a pending count is not kept: the rule starts counting again */
    s->state = strcmp(r->to, "firing") ? A_ACKED : A_FIRING;
    s->starts_at = r->starts_at;
    s->starts_mono = mono - (now - s->starts_at);
    fingerprint(s->fingerprint, a->p->alarms[i].name, s->starts_at);
    for (int k = 0; k < a->p->alarms[i].nhooks; k++) {
        s->sent[k] = now - s->starts_at >= a->p->alarms[i].hooks[k].after;
        s->last_sent[k] = mono;
    }
    if (s->state == A_ACKED) {
        snprintf(s->ack_by, sizeof s->ack_by, "%s", r->shifter ? r->shifter : r->who ? r->who : "");
        snprintf(s->ack_comment, sizeof s->ack_comment, "%s", r->comment ? r->comment : "");
        s->ack_at = s->since;
        s->ack_expires = r->expires;
    }
    atomic_fetch_add(&sw_metrics.alarms_firing, 1);
    if (!x->quiet)
        sw_info("alarms", "%s: %s since %.0f (restored)", a->p->alarms[i].name, NAME(s->state), s->starts_at);
}

static void restore_silence(void *ctx, const struct sw_silence *s)
{
    const struct restoring *x = ctx;
    sw_alarms_silence_add(x->a, s);
}

/* Rule states and active silences from the store (the main thread, before serving). */
static void restore(struct sw_alarms *a, int quiet)
{
    struct restoring x = {a, sw_wall(), sw_mono(), quiet};
    if (sw_alarm_store_restore(a->store, x.now, restore_rule, restore_silence, &x) == 0 && a->sil.n && !quiet)
        sw_info("alarms", "%d active silence(s) restored", a->sil.n);
}

static struct sw_alarms *alarms_alloc(struct sw_profile *p, struct sw_store *store, struct sw_hooks *hooks)
{
    struct sw_alarms *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->st = calloc((size_t)p->nalarms + 1, sizeof *a->st);
    if (!a->st) {
        free(a);
        return NULL;
    }
    a->p = sw_profile_ref(p);
    a->store = store;
    a->hooks = hooks;
    pthread_mutex_init(&a->mu, NULL);
    double now = sw_wall();
    for (int i = 0; i < p->nalarms; i++) {
        a->st[i].since = now;
        a->st[i].value = a->st[i].threshold = a->st[i].true_since = NAN;
        a->st[i].run = a->st[i].spill = -1;
    }
    return a;
}

struct sw_alarms *sw_alarms_new(struct sw_profile *p, struct sw_store *store, struct sw_hooks *hooks)
{
    struct sw_alarms *a = alarms_alloc(p, store, hooks);
    if (a)
        restore(a, 0);
    return a;
}

int sw_alarms_resync(struct sw_alarms *a)
{
    pthread_mutex_lock(&a->mu);
    struct sw_profile *p = sw_profile_ref(a->p);
    pthread_mutex_unlock(&a->mu);
    struct sw_alarms *fresh = alarms_alloc(p, a->store, a->hooks);
    sw_profile_unref(p);
    if (!fresh)
        return -1;
    restore(fresh, 1); /* counts its firing rules into the gauge: a's are taken out below */
    pthread_mutex_lock(&a->mu);
    if (fresh->p != a->p) { /* a reload came in between: the next event syncs again */
        pthread_mutex_unlock(&a->mu);
        for (int i = 0; i < fresh->p->nalarms; i++)
            if (fresh->st[i].state == A_FIRING || fresh->st[i].state == A_ACKED)
                atomic_fetch_sub(&sw_metrics.alarms_firing, 1);
        sw_alarms_free(fresh);
        return -1;
    }
    for (int i = 0; i < a->p->nalarms; i++)
        if (a->st[i].state == A_FIRING || a->st[i].state == A_ACKED)
            atomic_fetch_sub(&sw_metrics.alarms_firing, 1);
    struct rule_state *st = a->st;
    struct sw_silences sil = a->sil;
    a->st = fresh->st;
    a->sil = fresh->sil;
    fresh->st = st;
    fresh->sil = sil;
    pthread_mutex_unlock(&a->mu);
    sw_alarms_free(fresh);
    return 0;
}

void sw_alarms_free(struct sw_alarms *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->mu);
    sw_profile_unref(a->p);
    sw_silences_release(&a->sil);
    free(a->st);
    free(a);
}

int sw_alarms_set_profile(struct sw_alarms *a, struct sw_profile *p, struct sw_hooks *hooks, int *kept,
                          int *dropped)
{
    struct rule_state *st = calloc((size_t)p->nalarms + 1, sizeof *st);
    if (!st)
        return SW_ENOMEM;
    *kept = *dropped = 0;
    pthread_mutex_lock(&a->mu);
    double now = sw_wall();
    /* A rule that goes away ends its episode the usual way, so receivers told of the firing hear
     * of the end (through the hooks it was told by, before they are replaced). */
    for (int i = 0; i < a->p->nalarms; i++) {
        int j = 0;
        while (j < p->nalarms && strcmp(p->alarms[j].name, a->p->alarms[i].name) != 0)
            j++;
        if (j < p->nalarms)
            continue;
        if (active(a->st[i].state))
            transition(a, i, A_RESOLVED, "rule removed by a profile reload", NULL);
        (*dropped)++;
    }
    for (int j = 0; j < p->nalarms; j++) {
        int i = find_rule(a, p->alarms[j].name);
        if (i >= 0) {
            st[j] = a->st[i]; /* state, counts, acknowledgement, episode: carried by name */
            /* Notified-flags follow the rule's hooks by position; with another hook list they
             * start over, so each new hook hears of a firing episode once. */
            if (p->alarms[j].nhooks != a->p->alarms[i].nhooks ||
                memcmp(p->alarms[j].hooks, a->p->alarms[i].hooks, sizeof p->alarms[j].hooks) != 0) {
                memset(st[j].sent, 0, sizeof st[j].sent);
                memset(st[j].held, 0, sizeof st[j].held);
            }
            (*kept)++;
        } else {
            st[j].since = now;
            st[j].value = st[j].threshold = st[j].true_since = NAN;
            st[j].run = st[j].spill = -1;
        }
    }
    free(a->st);
    a->st = st;
    sw_profile_unref(a->p);
    a->p = sw_profile_ref(p);
    a->hooks = hooks;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

/* ---- evaluation ---- */

/* Judges one evaluation v of rule i (not NaN). Called with a->mu held. */
static void judge(struct sw_alarms *a, int i, double v, int64_t run, int64_t spill, double mono)
{
    const struct sw_alarm_def *d = &a->p->alarms[i];
    struct rule_state *s = &a->st[i];
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
    case A_PENDING: {
        if (!cond) {
            s->count = 0;
            s->true_since = NAN;
            if (s->state == A_PENDING)
                transition(a, i, A_INACTIVE, "condition false: pending reset", NULL);
            break;
        }
        int due;
        if (d->source == SW_ALARM_LIVE) {
            if (isnan(s->true_since))
                s->true_since = mono;
            s->count++;
            due = mono - s->true_since >= d->for_seconds;
        } else
            due = ++s->count >= d->for_spills;
        if (due)
            transition(a, i, A_FIRING, NULL, NULL);
        else if (s->state != A_PENDING)
            transition(a, i, A_PENDING, NULL, NULL);
        break;
    }
    case A_FIRING:
    case A_ACKED:
        if (recovered && !d->latched) {
            s->count = 0;
            s->true_since = NAN;
            transition(a, i, A_RESOLVED, NULL, NULL);
        }
        break;
    }
}

/* The value of spill rule d (of profile p) on a spill judged by profile judged: in->hists and res
 * are judged's. A spill opened before a reload has the older profile: histograms and checks are
 * then found by name (NaN when that profile has none of the name). */
static double spill_value(const struct sw_profile *p, const struct sw_alarm_def *d,
                          const struct sw_profile *judged, const struct sw_quality_input *in,
                          enum sw_state flag, const struct sw_check_result *res)
{
    switch (d->source) {
    case SW_ALARM_QUANTITY: {
        if (judged == p || d->q.kind != SW_Q_HIST)
            return sw_quality_value(&d->q, in);
        struct sw_check_def q = d->q;
        q.hist = sw_profile_find_hist(judged, p->hists[d->q.hist].name);
        return q.hist < 0 ? NAN : sw_quality_value(&q, in);
    }
    case SW_ALARM_CHECK_STATE: {
        int k = d->check;
        if (judged != p)
            for (k = 0; k < judged->nchecks && strcmp(judged->checks[k].name, p->checks[d->check].name) != 0;
                 k++)
                ;
        if (k >= judged->nchecks)
            return NAN;
        enum sw_state s = res[k].state;
        return s == SW_GOOD ? 0 : s == SW_WARN ? 1 : s == SW_BAD ? 2 : NAN;
    }
    case SW_ALARM_FLAG:
        return (int)flag == d->flag ? 1 : 0;
    case SW_ALARM_LIVE:
        break;
    }
    return NAN;
}

void sw_alarms_spill(struct sw_alarms *a, const struct sw_profile *judged, const struct sw_quality_input *in,
                     enum sw_state flag, const struct sw_check_result *res, int64_t run, int64_t spill,
                     int beam)
{
    if (!a)
        return;
    double mono = sw_mono();
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < a->p->nalarms; i++) {
        const struct sw_alarm_def *d = &a->p->alarms[i];
        if (d->source == SW_ALARM_LIVE || (d->requires_beam && !beam))
            continue; /* live rules tick; suppressed rules: no evaluation, nothing resets */
        double v = spill_value(a->p, d, judged ? judged : a->p, in, flag, res);
        if (!isnan(v)) /* NaN: not computable for this spill (missing input), no evidence either way */
            judge(a, i, v, run, spill, mono);
    }
    pthread_mutex_unlock(&a->mu);
}

/* The live quantity of rule d on sample l, NaN when it cannot be judged now. */
static double live_value(const struct sw_alarms *a, const struct sw_alarm_def *d, const struct sw_live *l)
{
    switch (d->live) {
    case SW_LIVE_TRIGGER_RATE: {
        /* Over the last tick, and only when the spill was open at both ends of it. */
        double dt = l->mono - a->prev.mono;
        if (!a->have_prev || !l->in_spill || !a->prev.in_spill || !(dt > 0.2 && dt < 5))
            return NAN;
        uint64_t n = 0;
        for (int t = 0; t < SW_TRIG_N; t++)
            if (d->live_trigger < 0 || d->live_trigger == t)
                n += l->triggers[t] - a->prev.triggers[t];
        return (double)n / dt;
    }
    case SW_LIVE_SECONDS_SINCE_DATA:
        return l->run_active && isfinite(l->last_data) ? fmax(0, l->now - l->last_data) : NAN;
    case SW_LIVE_BEAM:
        return l->run_active && l->beam >= 0 ? l->beam : NAN;
    }
    return NAN;
}

void sw_alarms_tick(struct sw_alarms *a, const struct sw_live *l)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    double now = l->now, mono = l->mono;
    sw_silences_drop_ended(&a->sil, now); /* the store keeps them */
    for (int i = 0; i < a->p->nalarms; i++) {
        const struct sw_alarm_def *d = &a->p->alarms[i];
        struct rule_state *s = &a->st[i];
        if (s->state == A_ACKED && s->ack_expires > 0 && now >= s->ack_expires)
            transition(a, i, A_FIRING, "acknowledgement expired", NULL);
        if (d->source == SW_ALARM_LIVE && !(d->requires_beam && l->beam != 1)) {
            double v = live_value(a, d, l);
            if (!isnan(v))
                judge(a, i, v, l->run, l->spill, mono);
            else if (s->state == A_PENDING) { /* the condition must hold without a break */
                s->count = 0;
                s->true_since = NAN;
                transition(a, i, A_INACTIVE, "not evaluable: pending reset", NULL);
            }
        }
        dispatch(a, i, now, mono); /* escalations, repeats, notices a silence held back */
    }
    a->prev = *l;
    a->have_prev = 1;
    pthread_mutex_unlock(&a->mu);
}

/* ---- shifter actions ---- */

/* Finds an active rule; -1 with err filled otherwise. Called with a->mu held. */
static int active_rule(struct sw_alarms *a, const char *name, const char *verb, int *rc, char *err,
                       size_t len)
{
    int i = find_rule(a, name);
    if (i < 0) {
        snprintf(err, len, "no alarm rule \"%s\"", name);
        *rc = SW_ENOTFOUND;
    } else if (!active(a->st[i].state)) {
        snprintf(err, len, "alarm \"%s\" is %s, not firing: nothing to %s", name, NAME(a->st[i].state), verb);
        *rc = SW_ECONFLICT;
        i = -1;
    }
    return i;
}

int sw_alarms_ack(struct sw_alarms *a, const char *name, const char *who, const char *shifter,
                  const char *comment, double expires, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&a->mu);
    int i = active_rule(a, name, "acknowledge", &rc, err, errlen);
    if (i >= 0) {
        struct rule_state *s = &a->st[i];
        snprintf(s->ack_by, sizeof s->ack_by, "%s", shifter ? shifter : who);
        snprintf(s->ack_comment, sizeof s->ack_comment, "%s", comment ? comment : "");
        s->ack_at = sw_wall();
        s->ack_expires = expires;
        struct actor by = {who, shifter, comment, expires};
        transition(a, i, A_ACKED, "acknowledged", &by);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int sw_alarms_reset(struct sw_alarms *a, const char *name, const char *who, const char *shifter,
                    const char *comment, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&a->mu);
    int i = active_rule(a, name, "reset", &rc, err, errlen);
    if (i >= 0 && !a->p->alarms[i].latched) {
        snprintf(err, errlen, "alarm \"%s\" is not latched: it resolves by itself when the value recovers",
                 name);
        rc = SW_ECONFLICT;
    } else if (i >= 0) {
        a->st[i].count = 0;
        a->st[i].true_since = NAN;
        struct actor by = {who, shifter, comment, 0};
        transition(a, i, A_RESOLVED, "reset", &by);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* ---- silences ---- */

json_t *sw_alarms_silence_matches(struct sw_alarms *a, const struct sw_silence *s)
{
    json_t *names = json_array();
    pthread_mutex_lock(&a->mu); /* the rules change with a profile reload */
    for (int i = 0; i < a->p->nalarms; i++)
        if (sw_silence_matches(&a->p->alarms[i], s))
            json_array_append_new(names, json_string(a->p->alarms[i].name));
    pthread_mutex_unlock(&a->mu);
    return names;
}

int sw_alarms_silence_add(struct sw_alarms *a, const struct sw_silence *s)
{
    pthread_mutex_lock(&a->mu);
    int rc = sw_silences_add(&a->sil, s);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int sw_alarms_silence_expire(struct sw_alarms *a, int64_t id)
{
    pthread_mutex_lock(&a->mu);
    int rc = sw_silences_remove(&a->sil, id);
    /* Notices the silence held back go out now, not at the next tick. */
    double now = sw_wall(), mono = sw_mono();
    for (int i = 0; rc == 0 && i < a->p->nalarms; i++)
        dispatch(a, i, now, mono);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* ---- views ---- */

void sw_alarms_counts(struct sw_alarms *a, int counts[5], int *silences)
{
    memset(counts, 0, 5 * sizeof *counts);
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < a->p->nalarms; i++)
        counts[a->st[i].state]++;
    double now = sw_wall();
    *silences = sw_silences_active(&a->sil, now);
    pthread_mutex_unlock(&a->mu);
}

static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *sw_alarms_json(struct sw_alarms *a)
{
    json_t *arr = json_array();
    double now = sw_wall();
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < a->p->nalarms; i++) {
        const struct sw_alarm_def *d = &a->p->alarms[i];
        const struct rule_state *s = &a->st[i];
        json_t *hooks = json_array(), *labels = json_object();
        for (int k = 0; k < d->nhooks; k++)
            json_array_append_new(hooks,
                                  json_pack("{s:s, s:f, s:b}", "hook", a->p->hooks[d->hooks[k].hook].name,
                                            "after", d->hooks[k].after, "notified", s->sent[k]));
        for (int l = 0; l < d->nlabels; l++)
            json_object_set_new(labels, d->labels[l][0], json_string(d->labels[l][1]));
        json_t *ack = json_null();
        if (s->state == A_ACKED)
            ack =
                json_pack("{s:s, s:s, s:f, s:o}", "by", s->ack_by, "comment", s->ack_comment, "at", s->ack_at,
                          "expires", s->ack_expires > 0 ? json_real(s->ack_expires) : json_null());
        int64_t sil = active(s->state) ? silenced_by(a, i, now) : 0;
        json_t *j = json_pack(
            "{s:s, s:s, s:s, s:o, s:s, s:s, s:f, s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:b, s:o, s:o, s:o}",
            "name", d->name, "severity", d->severity, "summary", d->summary, "labels", labels, "kind",
            d->source == SW_ALARM_LIVE ? "live" : "spill", "state", NAME(s->state), "since", s->since,
            "value", real_or_null(s->value), "threshold", real_or_null(s->threshold), "run",
            s->run >= 0 ? json_integer(s->run) : json_null(), "spill",
            s->spill >= 0 ? json_integer(s->spill) : json_null(), "count", s->count, "for",
            d->source == SW_ALARM_LIVE ? json_null() : json_integer(d->for_spills), "for_seconds",
            d->source == SW_ALARM_LIVE ? json_real(d->for_seconds) : json_null(), "latched", d->latched,
            "hooks", hooks, "acknowledged", ack, "silenced_by", sil ? json_integer(sil) : json_null());
        if (active(s->state))
            json_object_set_new(j, "starts_at", json_real(s->starts_at));
        json_array_append_new(arr, j);
    }
    pthread_mutex_unlock(&a->mu);
    return json_pack("{s:o}", "alarms", arr);
}
