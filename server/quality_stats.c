/* quality_stats.c — what a check reads (see quality.h, quality_int.h): the counters and spill
 * fields, the statistics of histograms, the DAQ's per-source integrity, the statistical uncertainty
 * of a statistic and the median over peer histograms. Pure; any thread. */
#include "quality_int.h"

#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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

double sw_quality_value(const struct sw_check_def *c, const struct sw_quality_input *in)
{
    char why[160] = "";
    double v = sw_q_raw_value(c, -1, in, why, sizeof why);
    return why[0] ? NAN : v;
}

double sw_quality_hist_stat(const struct sw_check_def *c, const struct sw_hist *h)
{
    struct sw_quality_input in = {.hists = h};
    struct sw_check_def one = *c;
    char why[160] = "";
    if (c->kind != SW_Q_HIST || c->stat == SW_STAT_KS_PROB || c->stat == SW_STAT_CHI2_PROB ||
        c->stat == SW_STAT_DEAD_CHANNELS || c->stat == SW_STAT_HOT_CHANNELS)
        return NAN;
    one.hist = 0; /* in.hists points at h alone */
    one.min_entries = 0;
    return sw_q_raw_value(&one, 0, &in, why, sizeof why);
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

/* The statistic of a check before comparison; writes why when it cannot be computed. */
/* Why a spill-level input is missing: the spill_end that would have given it did not come, or it
 * did not carry it. */
static void no_input(char *why, size_t len, const struct sw_quality_input *in, const char *what)
{
    if (!in->complete)
        snprintf(why, len, "not known: the spill has no spill_end");
    else
        snprintf(why, len, "no %s in the spill_end", what);
}

double sw_q_raw_value(const struct sw_check_def *c, int idx, const struct sw_quality_input *in, char *why,
                      size_t whylen)
{
    why[0] = 0;
    if (c->kind == SW_Q_DAQ) {
        struct sw_daq_value v;
        if (sw_quality_daq(in->daq_sources, c->daq_source, c->daq_problem, c->daq_expected, c->ndaq_expected,
                           &v) != 0) {
            snprintf(why, whylen, "no per-source counts from the DAQ");
            return NAN;
        }
        return v.fraction;
    }
    if (c->kind == SW_Q_HIST) {
        const struct sw_hist *h = &in->hists[c->hist];
        if (h->entries < c->min_entries || h->entries == 0) {
            if (h->entries == 0)
                snprintf(why, whylen, "no entries in %s", h->def->name);
            else
                snprintf(why, whylen, "only %llu entries in %s, %llu needed", (unsigned long long)h->entries,
                         h->def->name, (unsigned long long)c->min_entries);
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
                snprintf(why, whylen, "no reference histogram (reference run %lld has no GOOD spills?)",
                         (long long)c->ref_run);
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
        char what[SW_NAME_MAX + 16];
        snprintf(what, sizeof what, c->kind == SW_Q_COUNTER ? "counter %s" : "%s", name);
        no_input(why, whylen, in, what);
        return NAN;
    }
    if (c->per == SW_PER_SECOND) {
        if (!(in->duration > 0)) {
            no_input(why, whylen, in, "spill duration");
            return NAN;
        }
        v /= in->duration;
    } else if (c->per == SW_PER_COUNTER) {
        double d = sw_quality_counter(in, c->per_counter);
        if (isnan(d)) {
            char what[SW_NAME_MAX + 32];
            snprintf(what, sizeof what, "counter %s to divide by", c->per_counter);
            no_input(why, whylen, in, what);
            return NAN;
        }
        if (!(d > 0)) {
            snprintf(why, whylen, "counter %s to divide by is 0", c->per_counter);
            return NAN;
        }
        v /= d;
    }
    return v;
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
double sw_q_stat_sigma(const struct sw_check_def *c, const struct sw_quality_input *in, double ref)
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
double sw_q_peer_median(const struct sw_check_def *c, const struct sw_quality_input *in, int *used)
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
