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

/* The statistic of a check before comparison; sets *unknown_why when it cannot be computed. */
static double raw_value(const struct sw_check_def *c, int idx, const struct sw_quality_input *in,
                        const char **unknown_why)
{
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
