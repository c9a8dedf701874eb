/* quality.c — judges one closed spill with the profile's checks (see quality.h): the two layers of
 * a check (the physical window, the stability window against its expectation, the significance
 * gate), the DAQ-integrity checks, every reason, and the spill flag. The quantities come from
 * quality_stats.c; nothing here formats JSON (quality_json.c). Pure; any thread. */
#include "quality_int.h"

#include "compare.h"

#include <math.h>
#include <stdarg.h>
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
void sw_q_raw_range(enum sw_compare cmp, double ref, double lo, double hi, double *rlo, double *rhi)
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
    double raw = sw_q_raw_value(c, idx, in, &why);
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
            ref = sw_q_peer_median(c, in, &used);
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
                double s = sw_q_stat_sigma(c, in, ref);
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
    /* The cause first: a spill without its spill_end leaves most checks without input, and those
     * follow from it. */
    if (!in->complete && reasons)
        json_array_insert_new(reasons, 0,
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
