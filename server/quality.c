/* quality.c — see quality.h */
#include "quality.h"

#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[SW_STATE_N] = {"GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED"};

const char *sw_state_name(enum sw_state s)
{
    return s < SW_STATE_N ? state_names[s] : "UNKNOWN";
}

int sw_state_parse(const char *name)
{
    for (int i = 0; i < SW_STATE_N; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

double sw_quality_counter(const struct sw_quality_input *in, const char *name)
{
    if (!strcmp(name, "duration"))
        return in->duration;
    if (!strcmp(name, "dead_time"))
        return in->dead_time;
    if (!strcmp(name, "decode_errors"))
        return in->decode_errors;
    if (!strcmp(name, "events"))
        return (double)in->events;
    if (!strcmp(name, "unknown_fields"))
        return (double)in->unknown_fields;
    json_t *v = in->counters ? json_object_get(in->counters, name) : NULL;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double raw_value(const struct sw_check_def *c, int idx, const struct sw_quality_input *in,
                        const char **unknown_why);

double sw_quality_value(const struct sw_check_def *c, const struct sw_quality_input *in)
{
    const char *why = NULL;
    double v = raw_value(c, -1, in, &why);
    return why ? NAN : v;
}

double sw_quality_hist_stat(const struct sw_check_def *c, const struct sw_hist *h)
{
    struct sw_quality_input in = {.hists = h};
    struct sw_check_def one = *c;
    const char *why = NULL;
    if (c->kind != SW_Q_HIST || c->stat == SW_STAT_KS_PROB || c->stat == SW_STAT_CHI2_PROB ||
        c->stat == SW_STAT_DEAD_CHANNELS || c->stat == SW_STAT_HOT_CHANNELS)
        return NAN;
    one.hist = 0; /* in.hists points at h alone */
    one.min_entries = 0;
    return raw_value(&one, 0, &in, &why);
}

json_t *sw_quality_results_json(const struct sw_check_result *res, int n)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("[s s s o o s]", res[i].def->name, res[i].def->category,
                                             sw_state_name(res[i].state),
                                             isfinite(res[i].value) ? json_real(res[i].value) : json_null(),
                                             isfinite(res[i].raw) ? json_real(res[i].raw) : json_null(),
                                             res[i].reason));
    return arr;
}

static const char *const spill_field_names[] = {"duration", "dead_time", "events", "decode_errors",
                                                "unknown_fields"};

/* ---- DAQ integrity ---- */

static double daq_count(json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (double)json_integer_value(v) : 0;
}

/* The fractions of one source (src NULL: absent, missing from every event). */
static void daq_source_value(json_t *src, const char *name, enum sw_daq_problem problem,
                             struct sw_daq_value *v)
{
    static const char *const keys[3] = {"missing", "empty", "truncated"};
    memset(v, 0, sizeof *v);
    v->source = name;
    v->problem = problem;
    if (!src) {
        v->absent = 1;
        v->parts[SW_DAQ_MISSING] = 1;
    } else {
        double events = daq_count(src, "events");
        for (int k = 0; k < 3; k++)
            v->parts[k] = events > 0 ? fmin(1, daq_count(src, keys[k]) / events) : 0;
    }
    v->fraction =
        problem == SW_DAQ_BAD ? fmin(1, v->parts[0] + v->parts[1] + v->parts[2]) : v->parts[problem];
}

static int daq_worse(const struct sw_daq_value *a, const struct sw_daq_value *b)
{
    return a->fraction > b->fraction || (a->fraction == b->fraction && strcmp(a->source, b->source) < 0);
}

int sw_quality_daq(json_t *daq_sources, const char *source, enum sw_daq_problem problem,
                   const char (*expected)[SW_DAQ_SOURCE_MAX + 1], int nexpected, struct sw_daq_value *out)
{
    if (!json_is_object(daq_sources) || problem < 0 || problem >= SW_DAQ_N)
        return -1;
    if (strcmp(source, "*") != 0) {
        daq_source_value(json_object_get(daq_sources, source), source, problem, out);
        return 0;
    }
    struct sw_daq_value v;
    int found = 0;
    const char *name;
    json_t *src;
    json_object_foreach(daq_sources, name, src)
    {
        daq_source_value(src, name, problem, &v);
        if (!found++ || daq_worse(&v, out))
            *out = v;
    }
    for (int i = 0; expected && i < nexpected; i++) {
        if (json_object_get(daq_sources, expected[i]))
            continue;
        daq_source_value(NULL, expected[i], problem, &v);
        if (!found++ || daq_worse(&v, out))
            *out = v;
    }
    return found ? 0 : -1;
}

/* The statistic of a check before comparison; sets *unknown_why when it cannot be computed. */
static double raw_value(const struct sw_check_def *c, int idx, const struct sw_quality_input *in,
                        const char **unknown_why)
{
    if (c->kind == SW_Q_DAQ) {
        struct sw_daq_value v;
        if (sw_quality_daq(in->daq_sources, c->daq_source, c->daq_problem, c->daq_expected, c->ndaq_expected,
                           &v) != 0) {
            *unknown_why = "no per-source counts from the DAQ";
            return NAN;
        }
        return v.fraction;
    }
    if (c->kind == SW_Q_HIST) {
        const struct sw_hist *h = &in->hists[c->hist];
        if (h->entries < c->min_entries || h->entries == 0) {
            *unknown_why = "too few entries";
            return NAN;
        }
        struct sw_hist_stats st;
        sw_hist_stats(h, &st);
        switch (c->stat) {
        case SW_STAT_MEAN:
            return st.mean;
        case SW_STAT_RMS:
            return st.rms;
        case SW_STAT_PEAK:
            return st.peak;
        case SW_STAT_ENTRIES:
            return (double)h->entries;
        case SW_STAT_MISSING:
            return (double)h->missing;
        case SW_STAT_MEAN_Y:
            return st.mean_y;
        case SW_STAT_RMS_Y:
            return st.rms_y;
        case SW_STAT_FRAC_ABOVE:
            return sw_hist_frac_above(h, c->stat_arg);
        case SW_STAT_FRAC_BELOW:
            return sw_hist_frac_below(h, c->stat_arg);
        case SW_STAT_INTEGRAL:
            return sw_hist_integral(h, c->stat_arg, c->stat_arg2);
        case SW_STAT_KS_PROB:
        case SW_STAT_CHI2_PROB:
        case SW_STAT_DEAD_CHANNELS:
        case SW_STAT_HOT_CHANNELS: {
            const struct sw_hist *ref = in->ref_hists && idx >= 0 ? in->ref_hists[idx] : NULL;
            if (!ref || ref->entries == 0) {
                *unknown_why = "no reference histogram (reference run without GOOD spills?)";
                return NAN;
            }
            if (c->stat == SW_STAT_KS_PROB)
                return sw_compare_ks(h, ref, NULL);
            if (c->stat == SW_STAT_CHI2_PROB)
                return sw_compare_chi2(h, ref, NULL, NULL);
            int n = c->stat == SW_STAT_DEAD_CHANNELS ? sw_compare_dead_channels(h, ref, c->stat_arg)
                                                     : sw_compare_hot_channels(h, ref, c->stat_arg);
            return n < 0 ? NAN : n;
        }
        }
        return NAN;
    }
    const char *name = c->kind == SW_Q_COUNTER ? c->counter : spill_field_names[c->spill_field];
    double v = sw_quality_counter(in, name);
    if (isnan(v)) {
        *unknown_why = "missing input";
        return NAN;
    }
    if (c->per == SW_PER_SECOND) {
        if (!(in->duration > 0)) {
            *unknown_why = "no spill duration";
            return NAN;
        }
        v /= in->duration;
    } else if (c->per == SW_PER_COUNTER) {
        double d = sw_quality_counter(in, c->per_counter);
        if (!(d > 0)) {
            *unknown_why = "normalising counter missing or zero";
            return NAN;
        }
        v /= d;
    }
    return v;
}

static void fmt_range(char *buf, size_t len, double lo, double hi)
{
    char a[32], b[32];
    snprintf(a, sizeof a, isinf(lo) ? "-inf" : "%.4g", lo);
    snprintf(b, sizeof b, isinf(hi) ? "inf" : "%.4g", hi);
    snprintf(buf, len, "[%s, %s]", a, b);
}

/* A fraction as a percentage for a reason: "5.0", "100.0", "0.05". */
static void fmt_pct(char *buf, size_t len, double fraction)
{
    double pct = 100 * fraction;
    snprintf(buf, len, pct == 0 || pct >= 0.1 ? "%.1f" : "%.2g", pct);
}

/* What went wrong with a DAQ source, for a reason: "missing from 5.0 % of events". */
static void daq_describe(const struct sw_daq_value *v, char *buf, size_t len)
{
    static const char *const phrase[SW_DAQ_N] = {"missing from", "empty (all zero-suppressed) in",
                                                 "truncated in", "missing, empty or truncated in"};
    char pct[32];
    if (v->absent && (v->problem == SW_DAQ_MISSING || v->problem == SW_DAQ_BAD)) {
        snprintf(buf, len, "absent from the spill_end (missing from 100 %% of events)");
        return;
    }
    int nonzero = 0, only = (int)v->problem;
    for (int k = 0; v->problem == SW_DAQ_BAD && k < 3; k++)
        if (v->parts[k] > 0) {
            nonzero++;
            only = k;
        }
    fmt_pct(pct, sizeof pct, v->fraction);
    if (v->problem != SW_DAQ_BAD || nonzero <= 1) {
        snprintf(buf, len, "%s %s %% of events", phrase[nonzero == 1 ? only : (int)v->problem], pct);
        return;
    }
    /* bad, for more than one reason: each one's share */
    size_t n = (size_t)snprintf(buf, len, "bad in %s %% of events (", pct);
    for (int k = 0, first = 1; k < 3 && n < len; k++) {
        if (!(v->parts[k] > 0))
            continue;
        fmt_pct(pct, sizeof pct, v->parts[k]);
        n += (size_t)snprintf(buf + n, len - n, "%s%s %s %%", first ? "" : ", ", sw_daq_problem_name(k), pct);
        first = 0;
    }
    if (n < len)
        snprintf(buf + n, len - n, ")");
}

/* A daq check (the part of eval_one for SW_Q_DAQ): a fraction judged as it is (no reference), its
 * reason naming the source. A spill without per-source counts (an older collector, a spill closed
 * by the timeout) is EXCLUDED, not UNKNOWN, so that such spills can still be GOOD. */
static enum sw_state eval_daq(const struct sw_check_def *c, const struct sw_quality_input *in,
                              const char *tag, struct sw_check_result *r)
{
    struct sw_daq_value v;
    if (sw_quality_daq(in->daq_sources, c->daq_source, c->daq_problem, c->daq_expected, c->ndaq_expected,
                       &v) != 0) {
        r->state = SW_EXCLUDED;
        snprintf(r->reason, sizeof r->reason, "%s: no per-source counts from the DAQ", tag);
        return r->state;
    }
    r->raw = r->value = v.fraction;
    if (v.fraction >= c->good_lo && v.fraction <= c->good_hi)
        r->state = SW_GOOD;
    else if (v.fraction >= c->warn_lo && v.fraction <= c->warn_hi)
        r->state = SW_WARN;
    else
        r->state = SW_BAD;
    if (r->state != SW_GOOD) {
        char what[96], range[40]; /* with the tag and a source name, within r->reason */
        daq_describe(&v, what, sizeof what);
        fmt_range(range, sizeof range, c->good_lo, c->good_hi);
        snprintf(r->reason, sizeof r->reason, "%s: source %.64s %s, outside good %s", tag, v.source, what,
                 range);
    }
    return r->state;
}

static enum sw_state eval_one(const struct sw_check_def *c, int idx, const struct sw_quality_input *in,
                              int beam, struct sw_check_result *r)
{
    memset(r, 0, sizeof *r);
    r->def = c;
    r->value = r->raw = r->reference = NAN;
    /* Every reason names the check and its category: "p_in_mean [beam]: ..." */
    char tag[SW_NAME_MAX + 24];
    snprintf(tag, sizeof tag, "%s [%s]", c->name, c->category);
    if (c->skip) {
        r->state = SW_EXCLUDED;
        snprintf(r->reason, sizeof r->reason, "%s: skipped by the profile", tag);
        return r->state;
    }
    if (c->requires_beam && !beam) {
        r->state = SW_EXCLUDED;
        snprintf(r->reason, sizeof r->reason, "%s: no beam", tag);
        return r->state;
    }
    if (c->kind == SW_Q_DAQ)
        return eval_daq(c, in, tag, r);
    const char *why = NULL;
    double raw = raw_value(c, idx, in, &why);
    r->raw = raw;
    double ref = c->reference;
    if (c->ref_kind == SW_REF_ROLLING || (c->ref_kind == SW_REF_RUN && c->compare != SW_CMP_ABSOLUTE)) {
        ref = in->ref_values ? in->ref_values[idx] : NAN;
        if (!why && !isfinite(ref) && c->ref_kind == SW_REF_ROLLING) {
            /* Warming up: deliberately not judged (an UNKNOWN spill would never become GOOD and the
             * window would never fill). */
            r->state = SW_EXCLUDED;
            snprintf(r->reason, sizeof r->reason, "%s: reference warming up (fewer than %d GOOD spills)", tag,
                     c->rolling_min);
            return r->state;
        }
        if (!why && !isfinite(ref))
            why = "no reference value (reference run without GOOD spills?)";
    }
    r->reference = ref;
    if (why || !isfinite(raw)) {
        r->state = SW_UNKNOWN;
        snprintf(r->reason, sizeof r->reason, "%s: %s", tag, why ? why : "not computable");
        return r->state;
    }
    double v = raw;
    if (c->compare == SW_CMP_DELTA)
        v = raw - ref;
    else if (c->compare == SW_CMP_RATIO)
        v = ref != 0 ? raw / ref : NAN;
    if (!isfinite(v)) {
        r->state = SW_UNKNOWN;
        snprintf(r->reason, sizeof r->reason, "%s: reference is 0", tag);
        return r->state;
    }
    r->value = v;
    if (v >= c->good_lo && v <= c->good_hi)
        r->state = SW_GOOD;
    else if (v >= c->warn_lo && v <= c->warn_hi)
        r->state = SW_WARN;
    else
        r->state = SW_BAD;
    if (r->state != SW_GOOD) {
        char range[80];
        const char *sp = c->unit[0] ? " " : "";
        fmt_range(range, sizeof range, c->good_lo, c->good_hi);
        if (c->compare == SW_CMP_DELTA)
            snprintf(r->reason, sizeof r->reason, "%s: %+.4g%s%s from reference %.4g, outside good %s", tag,
                     v, sp, c->unit, ref, range);
        else if (c->compare == SW_CMP_RATIO)
            snprintf(r->reason, sizeof r->reason, "%s: %.3g x reference %.4g%s%s, outside good %s", tag, v,
                     ref, sp, c->unit, range);
        else
            snprintf(r->reason, sizeof r->reason, "%s: %.4g%s%s outside good %s", tag, v, sp, c->unit, range);
    }
    return r->state;
}

enum sw_state sw_quality_eval(const struct sw_profile *p, const struct sw_quality_input *in,
                              struct sw_check_result *results, json_t *reasons)
{
    double mot = sw_quality_counter(in, p->mot_counter);
    int beam = !(mot < p->beam_min_mot); /* unknown MOT (no spill_end) is not "no beam" */
    int seen[SW_STATE_N] = {0};
    for (int i = 0; i < p->nchecks; i++) {
        enum sw_state s = eval_one(&p->checks[i], i, in, beam, &results[i]);
        seen[s]++;
        if (reasons && s != SW_GOOD && s != SW_EXCLUDED)
            json_array_append_new(reasons, json_string(results[i].reason));
    }
    if (!in->complete && reasons)
        json_array_append_new(reasons,
                              json_string(in->incomplete_reason
                                              ? in->incomplete_reason
                                              : "incomplete: no spill_end before the spill timeout"));
    if (seen[SW_BAD])
        return SW_BAD;
    if (seen[SW_WARN])
        return SW_WARN;
    if (seen[SW_UNKNOWN] || !in->complete)
        return SW_UNKNOWN;
    if (seen[SW_GOOD])
        return SW_GOOD;
    return p->nchecks > 0 ? SW_EXCLUDED : SW_UNKNOWN;
}
