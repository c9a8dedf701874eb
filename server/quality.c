/* quality.c — see quality.h */
#include "quality.h"

#include "compare.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The provenance as stored: compact JSON text (7 significant digits) inside the results array. */
static json_t *provenance_text(const struct sw_check_result *r)
{
    json_t *p = sw_quality_provenance_json(r);
    char *text = p ? json_dumps(p, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
    json_decref(p);
    json_t *s = text ? json_string(text) : json_null();
    free(text);
    return s;
}

json_t *sw_quality_results_json(const struct sw_check_result *res, int n)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("[s s s o o s o]", res[i].def->name, res[i].def->category,
                                             sw_state_name(res[i].state),
                                             isfinite(res[i].value) ? json_real(res[i].value) : json_null(),
                                             isfinite(res[i].raw) ? json_real(res[i].raw) : json_null(),
                                             res[i].reason, provenance_text(&res[i])));
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
        double events = v->events = daq_count(src, "events");
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
        case SW_STAT_PEER_DEAD:
        case SW_STAT_PEER_HOT: {
            int first;
            int n = sw_compare_peer_channels(h, c->group, c->stat_arg, c->stat == SW_STAT_PEER_HOT, &first);
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

static enum sw_state in_ranges(double v, double glo, double ghi, double wlo, double whi)
{
    if (v >= glo && v <= ghi)
        return SW_GOOD;
    if (v >= wlo && v <= whi)
        return SW_WARN;
    return SW_BAD;
}

static double compared(enum sw_compare cmp, double raw, double ref)
{
    if (cmp == SW_CMP_DELTA)
        return raw - ref;
    if (cmp == SW_CMP_RATIO)
        return ref != 0 ? raw / ref : NAN;
    return raw;
}

/* A comparison range [lo, hi] in the statistic's own units, given the expectation. */
static void raw_range(enum sw_compare cmp, double ref, double lo, double hi, double *rlo, double *rhi)
{
    if (cmp == SW_CMP_DELTA) {
        *rlo = ref + lo;
        *rhi = ref + hi;
    } else if (cmp == SW_CMP_RATIO) {
        *rlo = ref * lo;
        *rhi = ref * hi;
        if (ref < 0) {
            double t = *rlo;
            *rlo = *rhi;
            *rhi = t;
        }
    } else {
        *rlo = lo;
        *rhi = hi;
    }
}

static enum sw_state worse(enum sw_state a, enum sw_state b)
{
    if (a == SW_EXCLUDED)
        return b;
    if (b == SW_EXCLUDED)
        return a;
    return a > b ? a : b;
}

/* The physical window's nominal for this run: the run's meta value when the profile names a key and
 * the run gives a number for it, else the window's default. */
static double phys_nominal(const struct sw_profile *p, const struct sw_window *w,
                           const struct sw_quality_input *in, int *from_meta)
{
    *from_meta = 0;
    if (w->nominal_meta >= 0 && in->run_meta) {
        json_t *v = json_object_get(in->run_meta, p->conditions[w->nominal_meta]);
        if (json_is_number(v) && isfinite(json_number_value(v))) {
            *from_meta = 1;
            return json_number_value(v);
        }
    }
    return w->nominal;
}

/* Width of a 1D histogram's core: the interquartile range of its counts / 1.349 (a Gaussian's sigma),
 * robust against tails that inflate the RMS. NaN when empty. */
static double core_sigma(const struct sw_hist *h)
{
    if (h->def->dim != 1)
        return NAN;
    uint64_t total = h->underflow + h->overflow;
    for (int i = 0; i < h->def->x.bins; i++)
        total += h->counts[i];
    if (!total)
        return NAN;
    double w = (h->def->x.max - h->def->x.min) / h->def->x.bins, q[2] = {NAN, NAN};
    const double at[2] = {0.25 * (double)total, 0.75 * (double)total};
    double cum = (double)h->underflow;
    for (int i = 0, k = 0; i < h->def->x.bins && k < 2; i++) {
        double c = (double)h->counts[i];
        while (k < 2 && cum + c >= at[k]) {
            q[k] = h->def->x.min + w * (i + (c > 0 ? (at[k] - cum) / c : 0));
            k++;
        }
        cum += c;
    }
    return isfinite(q[0]) && isfinite(q[1]) ? fmax((q[1] - q[0]) / 1.349, w / sqrt(12)) : NAN;
}

/* Statistical uncertainty of a check's statistic on this spill, under the expectation ref (Poisson
 * for counts, binomial for fractions, sigma/sqrt(n) for moments and peaks). 0 when not a statistical
 * quantity (dead time, duration). */
static double stat_sigma(const struct sw_check_def *c, const struct sw_quality_input *in, double ref)
{
    if (c->kind == SW_Q_HIST) {
        const struct sw_hist *h = &in->hists[c->hist];
        double n = (double)h->entries;
        if (!(n > 0))
            return NAN;
        struct sw_hist_stats st;
        switch (c->stat) {
        case SW_STAT_MEAN:
        case SW_STAT_RMS:
        case SW_STAT_MEAN_Y:
        case SW_STAT_RMS_Y:
            sw_hist_stats(h, &st);
            if (c->stat == SW_STAT_MEAN)
                return st.rms / sqrt(n);
            if (c->stat == SW_STAT_RMS)
                return st.rms / sqrt(2 * n);
            if (c->stat == SW_STAT_MEAN_Y)
                return st.rms_y / sqrt(n);
            return st.rms_y / sqrt(2 * n);
        case SW_STAT_PEAK:
            /* a mode is found about as well as a mean of the core, no better than the bin width */
            return 1.5 * core_sigma(h) / sqrt(n);
        case SW_STAT_FRAC_ABOVE:
        case SW_STAT_FRAC_BELOW: {
            double q = fmin(fmax(ref, 1 / n), 1 - 1 / n);
            return sqrt(q * (1 - q) / n);
        }
        case SW_STAT_ENTRIES:
        case SW_STAT_MISSING:
        case SW_STAT_INTEGRAL:
            return sqrt(fmax(ref, 1));
        default:
            return 0;
        }
    }
    if (c->kind == SW_Q_SPILL && c->spill_field != SW_SF_EVENTS && c->spill_field != SW_SF_DECODE_ERRORS &&
        c->spill_field != SW_SF_UNKNOWN_FIELDS)
        return 0;
    /* a count, possibly per second or per another counter: Poisson on the expected count */
    double denom = 1;
    if (c->per == SW_PER_SECOND)
        denom = in->duration;
    else if (c->per == SW_PER_COUNTER)
        denom = sw_quality_counter(in, c->per_counter);
    if (!(denom > 0))
        return NAN;
    return sqrt(fmax(ref * denom, 1)) / denom;
}

/* The median of the check's statistic over its peer histograms on this spill (peers with too few
 * entries left out); NaN with fewer than two. */
static double peer_median(const struct sw_check_def *c, const struct sw_quality_input *in, int *used)
{
    double v[SW_PEERS_MAX];
    int n = 0;
    for (int i = 0; i < c->npeers; i++) {
        const struct sw_hist *h = &in->hists[c->peers[i]];
        if (h->entries == 0 || h->entries < c->min_entries)
            continue;
        double x = sw_quality_hist_stat(c, h);
        if (isfinite(x))
            v[n++] = x;
    }
    *used = n;
    if (n < 2)
        return NAN;
    for (int i = 1; i < n; i++) /* insertion sort: at most SW_PEERS_MAX values */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* "run 8 spills 1-20" or "run 7 spills 30-40 + run 8 spills 1-9" (carried over first). */
static void fmt_baseline(char *buf, size_t len, const struct sw_baseline *b)
{
    size_t l = 0;
    buf[0] = 0;
    for (int i = 0; i < b->nsegs && l < len; i++) {
        int k =
            snprintf(buf + l, len - l, "%srun %lld spill%s %lld", i ? " + " : "", (long long)b->seg[i].run,
                     b->seg[i].first == b->seg[i].last ? "" : "s", (long long)b->seg[i].first);
        l += k > 0 ? (size_t)k : 0;
        if (b->seg[i].first != b->seg[i].last && l < len) {
            k = snprintf(buf + l, len - l, "-%lld", (long long)b->seg[i].last);
            l += k > 0 ? (size_t)k : 0;
        }
    }
}

static void append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t l = strlen(buf);
    if (l + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + l, len - l, fmt, ap);
    va_end(ap);
}

/* The reason of the physical layer: "0.0213 GeV outside the physical window [1.9, 2.9]". */
static void phys_reason(char *buf, size_t len, const struct sw_check_def *c, const struct sw_check_result *r,
                        const struct sw_profile *p)
{
    const struct sw_window *w = &c->phys;
    char range[80], from[96] = "";
    const char *sp = c->unit[0] ? " " : "";
    fmt_range(range, sizeof range, w->good_lo, w->good_hi);
    if (r->nominal_from_meta)
        snprintf(from, sizeof from, " (run meta %s)", p->conditions[w->nominal_meta]);
    double v = compared(w->compare, r->raw, r->nominal);
    if (w->compare == SW_CMP_DELTA)
        append(buf, len, "%.4g%s%s is %+.3g from nominal %.4g%s, outside the physical window %s", r->raw, sp,
               c->unit, v, r->nominal, from, range);
    else if (w->compare == SW_CMP_RATIO)
        append(buf, len, "%.4g%s%s is %.3g x nominal %.4g%s, outside the physical window %s", r->raw, sp,
               c->unit, v, r->nominal, from, range);
    else
        append(buf, len, "%.4g%s%s outside the physical window %s", r->raw, sp, c->unit, range);
}

/* The reason of the stability layer, in the established forms ("1.8 x reference 3e+06, outside good
 * [0.5, 1.5]") with the source of the expectation for baselines and peers. */
static void stab_reason(char *buf, size_t len, const struct sw_check_def *c, const struct sw_check_result *r)
{
    char range[80], src[160];
    const char *sp = c->unit[0] ? " " : "";
    fmt_range(range, sizeof range, c->good_lo, c->good_hi);
    const char *what = "reference";
    src[0] = 0;
    if (c->ref_kind == SW_REF_BASELINE) {
        what = "baseline";
        char segs[128];
        fmt_baseline(segs, sizeof segs, &r->base);
        snprintf(src, sizeof src, " (%s)", segs);
    } else if (c->npeers) {
        what = "the median of its peers";
    }
    double v = r->value;
    if (c->compare == SW_CMP_DELTA)
        append(buf, len, "%+.4g%s%s from %s %.4g%s, outside good %s", v, sp, c->unit, what, r->expected, src,
               range);
    else if (c->compare == SW_CMP_RATIO)
        append(buf, len, "%.3g x %s %.4g%s%s%s, outside good %s", v, what, r->expected, sp, c->unit, src,
               range);
    else
        append(buf, len, "%.4g%s%s outside good %s", v, sp, c->unit, range);
    if (isfinite(r->z))
        append(buf, len, " (%.1f sigma)", r->z);
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
    r->state = in_ranges(v.fraction, c->good_lo, c->good_hi, c->warn_lo, c->warn_hi);
    if (c->sig_warn > 0 && !v.absent && r->state != SW_GOOD) {
        /* A fraction beyond a limit counts only when the count is significantly beyond what the limit
         * allows (Poisson): one flawed event among a few hundred is not a bad spill. */
        double n = v.events, k = v.fraction * n;
        double zg = (k - c->good_hi * n) / sqrt(fmax(c->good_hi * n, 1));
        double zw = (k - c->warn_hi * n) / sqrt(fmax(c->warn_hi * n, 1));
        r->z = r->state == SW_BAD ? zw : zg;
        if (zg < c->sig_warn) {
            r->state = SW_GOOD;
            r->z = zg;
        } else if (r->state == SW_BAD && zw < c->sig_bad) {
            r->state = SW_WARN;
            r->z = zg;
        }
    }
    r->stab_state = r->state;
    r->layer = r->state == SW_GOOD ? SW_LAYER_NONE : SW_LAYER_STABILITY;
    if (r->state != SW_GOOD) {
        char what[96], range[40]; /* with the tag and a source name, within r->reason */
        daq_describe(&v, what, sizeof what);
        fmt_range(range, sizeof range, c->good_lo, c->good_hi);
        snprintf(r->reason, sizeof r->reason, "%s: source %.64s %s, outside good %s", tag, v.source, what,
                 range);
        if (isfinite(r->z))
            append(r->reason, sizeof r->reason, " (%.1f sigma)", r->z);
    }
    return r->state;
}

static enum sw_state eval_one(const struct sw_profile *p, int idx, const struct sw_quality_input *in,
                              int beam, struct sw_check_result *r)
{
    const struct sw_check_def *c = &p->checks[idx];
    memset(r, 0, sizeof *r);
    r->def = c;
    r->value = r->raw = r->reference = r->nominal = r->expected = r->z = r->spread = NAN;
    r->phys_state = r->stab_state = SW_EXCLUDED;
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
    if (c->ref_kind == SW_REF_BASELINE) { /* without baselines (no references at hand): learning */
        if (in->baselines)
            r->base = in->baselines[idx];
        r->learning = !in->baselines || r->base.n < c->base_learn;
    }
    if (why || !isfinite(raw)) {
        r->state = SW_UNKNOWN;
        snprintf(r->reason, sizeof r->reason, "%s: %s", tag, why ? why : "not computable");
        return r->state;
    }

    /* layer 1: the physical window */
    if (c->phys.on) {
        r->nominal = phys_nominal(p, &c->phys, in, &r->nominal_from_meta);
        double v = compared(c->phys.compare, raw, r->nominal);
        r->phys_state = isfinite(v)
                            ? in_ranges(v, c->phys.good_lo, c->phys.good_hi, c->phys.warn_lo, c->phys.warn_hi)
                            : SW_UNKNOWN;
        r->value = v;
    }

    /* layer 2: the stability window against the expectation */
    const char *pending = NULL; /* why the stability window did not judge */
    char note[96] = "";
    if (c->stability) {
        double ref = c->reference;
        int used = 0;
        if (c->npeers) {
            ref = peer_median(c, in, &used);
            r->peers_used = used;
            if (!isfinite(ref))
                why = "fewer than two peers with data";
        } else if (c->ref_kind == SW_REF_BASELINE) {
            ref = r->base.median;
            r->spread = r->base.spread;
            if (r->learning || !isfinite(ref)) {
                snprintf(note, sizeof note, "baseline: learning, %d of %d spills", r->base.n, c->base_learn);
                pending = note;
            }
        } else if (c->ref_kind == SW_REF_ROLLING ||
                   (c->ref_kind == SW_REF_RUN && c->compare != SW_CMP_ABSOLUTE)) {
            ref = in->ref_values ? in->ref_values[idx] : NAN;
            if (!isfinite(ref) && c->ref_kind == SW_REF_ROLLING) {
                /* Warming up: deliberately not judged (an UNKNOWN spill would never become GOOD and
                 * the window would never fill). */
                snprintf(note, sizeof note, "reference warming up (fewer than %d GOOD spills)",
                         c->rolling_min);
                pending = note;
            } else if (!isfinite(ref))
                why = "no reference value (reference run without GOOD spills?)";
        }
        if (why) {
            r->state = SW_UNKNOWN;
            snprintf(r->reason, sizeof r->reason, "%s: %s", tag, why);
            return r->state;
        }
        if (!pending) {
            r->expected = r->reference = c->compare == SW_CMP_ABSOLUTE ? NAN : ref;
            double v = compared(c->compare, raw, ref);
            if (!isfinite(v)) {
                r->state = SW_UNKNOWN;
                snprintf(r->reason, sizeof r->reason, "%s: reference is 0", tag);
                return r->state;
            }
            r->value = v;
            r->stab_state = in_ranges(v, c->good_lo, c->good_hi, c->warn_lo, c->warn_hi);
            if (c->sig_warn > 0 && r->stab_state != SW_GOOD && c->compare != SW_CMP_ABSOLUTE) {
                double s = stat_sigma(c, in, ref);
                if (c->npeers)
                    s *= 1.25; /* the median of the peers is uncertain too */
                double spread = isfinite(r->spread) ? r->spread : 0;
                double sigma = sqrt((isfinite(s) ? s * s : 0) + spread * spread);
                r->z = sigma > 0 ? fabs(raw - ref) / sigma : INFINITY;
                if (r->z < c->sig_warn)
                    r->stab_state = SW_GOOD;
                else if (r->z < c->sig_bad && r->stab_state == SW_BAD)
                    r->stab_state = SW_WARN;
            }
        }
    }
    if (!c->phys.on && pending) { /* nothing judges yet */
        r->state = SW_EXCLUDED;
        snprintf(r->reason, sizeof r->reason, "%s: %s", tag, pending);
        return r->state;
    }
    r->state = worse(r->phys_state, r->stab_state);
    if (r->state == SW_UNKNOWN) {
        snprintf(r->reason, sizeof r->reason, "%s: not computable against the nominal", tag);
        return r->state;
    }
    if (r->state == SW_GOOD)
        return r->state;
    r->layer = r->phys_state == r->state ? SW_LAYER_PHYSICAL : SW_LAYER_STABILITY;
    snprintf(r->reason, sizeof r->reason, "%s: ", tag);
    int both = r->phys_state != SW_GOOD && r->phys_state != SW_EXCLUDED && r->stab_state != SW_GOOD &&
               r->stab_state != SW_EXCLUDED;
    if (r->phys_state != SW_GOOD && r->phys_state != SW_EXCLUDED)
        phys_reason(r->reason, sizeof r->reason, c, r, p);
    if (both)
        append(r->reason, sizeof r->reason, "; ");
    if (r->stab_state != SW_GOOD && r->stab_state != SW_EXCLUDED)
        stab_reason(r->reason, sizeof r->reason, c, r);
    if (pending)
        append(r->reason, sizeof r->reason, "; %s", pending);
    if (c->kind == SW_Q_HIST && (c->stat == SW_STAT_PEER_DEAD || c->stat == SW_STAT_PEER_HOT)) {
        int first;
        sw_compare_peer_channels(&in->hists[c->hist], c->group, c->stat_arg, c->stat == SW_STAT_PEER_HOT,
                                 &first);
        if (first >= 0)
            append(r->reason, sizeof r->reason, "; the first is bin %d (group %d, channel %d)", first,
                   first / c->group, first % c->group);
    }
    return r->state;
}

int sw_quality_healthy(const struct sw_check_result *r)
{
    return r->state == SW_GOOD && isfinite(r->raw);
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static const char *src_kind(const struct sw_check_result *r)
{
    const struct sw_check_def *c = r->def;
    if (c->npeers)
        return "peers";
    switch (c->ref_kind) {
    case SW_REF_BASELINE:
        return r->learning ? "learning" : "baseline";
    case SW_REF_RUN:
        return "reference_run";
    case SW_REF_ROLLING:
        return "rolling_median";
    case SW_REF_FIXED:
        return "fixed";
    default:
        return "absolute";
    }
}

static const char *cmp_code(enum sw_compare c)
{
    return c == SW_CMP_DELTA ? "d" : c == SW_CMP_RATIO ? "r" : "a";
}

/* Stored form (compact: the profile's windows as they were, not their values in the statistic's
 * units, which the expansion computes):
 * [layer, [state, compare, nominal, from_meta, good, warn] | null,
 *         [state, kind, compare, expected, good, warn, z, spread, n, learn, runs, run, carried] | null]
 * with compare "a", "d" or "r", good/warn [lo, hi] (null for an open end) and runs
 * [[run, first, last, n], ...]. */
json_t *sw_quality_provenance_json(const struct sw_check_result *r)
{
    const struct sw_check_def *c = r->def;
    static const char *const layers[] = {NULL, "physical", "stability"};
    json_t *ph = json_null(), *st = json_null();
    if (c->phys.on)
        ph =
            json_pack("[s s o b [o o] [o o]]", sw_state_name(r->phys_state), cmp_code(c->phys.compare),
                      num(c->phys.compare == SW_CMP_ABSOLUTE ? NAN : r->nominal), r->nominal_from_meta,
                      num(c->phys.good_lo), num(c->phys.good_hi), num(c->phys.warn_lo), num(c->phys.warn_hi));
    if (c->stability) {
        json_t *segs = json_array();
        for (int i = 0; c->ref_kind == SW_REF_BASELINE && i < r->base.nsegs; i++)
            json_array_append_new(segs, json_pack("[I I I i]", (json_int_t)r->base.seg[i].run,
                                                  (json_int_t)r->base.seg[i].first,
                                                  (json_int_t)r->base.seg[i].last, r->base.seg[i].n));
        st = json_pack("[s s s o [o o] [o o] o o i i o I b]", sw_state_name(r->stab_state), src_kind(r),
                       cmp_code(c->compare), num(r->expected), num(c->good_lo), num(c->good_hi),
                       num(c->warn_lo), num(c->warn_hi), num(r->z), num(r->spread),
                       c->ref_kind == SW_REF_BASELINE ? r->base.n
                       : c->npeers                    ? r->peers_used
                                                      : 0,
                       c->ref_kind == SW_REF_BASELINE ? c->base_learn : 0, segs,
                       (json_int_t)(c->ref_kind == SW_REF_RUN ? c->ref_run : 0), r->base.carried);
    }
    return json_pack("[o o o]", r->layer ? json_string(layers[r->layer]) : json_null(), ph, st);
}

/* x to 7 significant digits, as the stored numbers have them (no 0.055888930999999996 in answers). */
static double sig7(double x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", x);
    return strtod(buf, NULL);
}

/* A stored window [lo, hi] (null = open) in the statistic's units around ref; [null, null] when the
 * expectation is unknown (a baseline still learning). */
static json_t *window_expand(json_t *cmp, json_t *ref, json_t *w)
{
    const char *k = json_string_value(cmp);
    enum sw_compare c = k && *k == 'd' ? SW_CMP_DELTA : k && *k == 'r' ? SW_CMP_RATIO : SW_CMP_ABSOLUTE;
    json_t *a = json_array_get(w, 0), *b = json_array_get(w, 1);
    double lo = json_is_number(a) ? json_number_value(a) : -INFINITY;
    double hi = json_is_number(b) ? json_number_value(b) : INFINITY;
    double x = json_is_number(ref) ? json_number_value(ref) : NAN;
    if (c != SW_CMP_ABSOLUTE && !isfinite(x))
        return json_pack("[n n]");
    double rlo, rhi;
    raw_range(c, c == SW_CMP_ABSOLUTE ? 0 : x, lo, hi, &rlo, &rhi);
    return json_pack("[o o]", num(sig7(rlo)), num(sig7(rhi)));
}

static json_t *copy_or_null(json_t *v)
{
    return v ? json_deep_copy(v) : json_null();
}

json_t *sw_quality_provenance_expand(json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) != 3)
        return json_null();
    json_t *j = json_object();
    json_object_set_new(j, "layer", copy_or_null(json_array_get(a, 0)));
    json_t *ph = json_array_get(a, 1), *st = json_array_get(a, 2);
    if (json_is_array(ph) && json_array_size(ph) == 6) {
        json_t *cmp = json_array_get(ph, 1), *nom = json_array_get(ph, 2);
        json_t *o = json_pack("{s:O, s:o, s:o}", "state", json_array_get(ph, 0), "good",
                              window_expand(cmp, nom, json_array_get(ph, 4)), "warn",
                              window_expand(cmp, nom, json_array_get(ph, 5)));
        if (o && !json_is_null(nom)) {
            json_object_set(o, "nominal", nom);
            json_object_set_new(o, "nominal_from",
                                json_string(json_is_true(json_array_get(ph, 3)) ? "run meta" : "profile"));
        }
        json_object_set_new(j, "physical", o);
    }
    if (json_is_array(st) && json_array_size(st) == 13) {
        const char *kind = json_string_value(json_array_get(st, 1));
        json_t *src = json_pack("{s:s}", "kind", kind ? kind : "");
        int n = (int)json_integer_value(json_array_get(st, 8));
        if (kind && (!strcmp(kind, "baseline") || !strcmp(kind, "learning"))) {
            json_object_set_new(src, "spills", json_integer(n));
            json_object_set(src, "learn", json_array_get(st, 9));
            json_object_set(src, "spread", json_array_get(st, 7));
            json_t *runs = json_array();
            size_t i;
            json_t *g;
            char text[160] = "";
            json_array_foreach(json_array_get(st, 10), i, g)
            {
                json_int_t run = json_integer_value(json_array_get(g, 0)),
                           first = json_integer_value(json_array_get(g, 1)),
                           last = json_integer_value(json_array_get(g, 2));
                json_array_append_new(runs, json_pack("{s:I, s:I, s:I, s:O}", "run", run, "first", first,
                                                      "last", last, "n", json_array_get(g, 3)));
                size_t l = strlen(text);
                if (first == last)
                    snprintf(text + l, sizeof text - l, "%srun %lld spill %lld", i ? " + " : "",
                             (long long)run, (long long)first);
                else
                    snprintf(text + l, sizeof text - l, "%srun %lld spills %lld-%lld", i ? " + " : "",
                             (long long)run, (long long)first, (long long)last);
            }
            json_object_set(src, "carried", json_array_get(st, 12));
            json_object_set_new(src, "runs", runs);
            if (!strcmp(kind, "learning"))
                snprintf(text, sizeof text, "baseline: learning, %d of %d spills", n,
                         (int)json_integer_value(json_array_get(st, 9)));
            json_object_set_new(src, "text", json_string(text));
        } else if (kind && !strcmp(kind, "peers")) {
            json_object_set_new(src, "used", json_integer(n));
        } else if (kind && !strcmp(kind, "reference_run")) {
            json_object_set(src, "run", json_array_get(st, 11));
        }
        json_t *cmp = json_array_get(st, 2), *expected = json_array_get(st, 3);
        json_t *o = json_pack("{s:O, s:O, s:o, s:o, s:O, s:o}", "state", json_array_get(st, 0), "expected",
                              expected, "good", window_expand(cmp, expected, json_array_get(st, 4)), "warn",
                              window_expand(cmp, expected, json_array_get(st, 5)), "z", json_array_get(st, 6),
                              "source", src);
        json_object_set_new(j, "stability", o);
    }
    return j;
}

enum sw_state sw_quality_eval(const struct sw_profile *p, const struct sw_quality_input *in,
                              struct sw_check_result *results, json_t *reasons)
{
    double mot = sw_quality_counter(in, p->mot_counter);
    int beam = !(mot < p->beam_min_mot); /* unknown MOT (no spill_end) is not "no beam" */
    int seen[SW_STATE_N] = {0};
    for (int i = 0; i < p->nchecks; i++) {
        enum sw_state s = eval_one(p, i, in, beam, &results[i]);
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
