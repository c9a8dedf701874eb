/* quality.c — judges one closed spill with the profile's checks (see quality.h): the two layers of
 * a check (the physical window, the stability window against its expectation, the significance
 * gate), the DAQ-integrity checks, every reason, and the spill flag. The quantities come from
 * quality_stats.c; nothing here formats JSON (quality_json.c). Pure; any thread. */
#include "quality_int.h"

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

/* A daq check (the part of eval_one for SW_Q_DAQ): a fraction judged as it is (no reference), its
 * reason naming the source. A spill without per-source counts (an older collector, a spill closed
 * by the timeout) is EXCLUDED, not UNKNOWN, so that such spills can still be GOOD. */
static enum sw_state eval_daq(const struct sw_check_def *c, const struct sw_quality_input *in,
                              struct sw_check_result *r)
{
    struct sw_daq_value v;
    if (sw_quality_daq(in->daq_sources, c->daq_source, c->daq_problem, c->daq_expected, c->ndaq_expected,
                       &v) != 0) {
        r->state = SW_EXCLUDED;
        sw_q_reason_text(r->reason, sizeof r->reason, c, "no per-source counts from the DAQ");
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
    if (r->state != SW_GOOD)
        sw_q_reason_daq(r->reason, sizeof r->reason, c, &v, r->z);
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
    /* Every reason starts with the check's title: "Mean incoming momentum: ..." (quality_reason.c) */
    if (c->skip) {
        r->state = SW_EXCLUDED;
        sw_q_reason_text(r->reason, sizeof r->reason, c, "skipped by the profile");
        return r->state;
    }
    if (c->requires_beam && !beam) {
        r->state = SW_EXCLUDED;
        sw_q_reason_text(r->reason, sizeof r->reason, c, "not judged: no beam");
        return r->state;
    }
    if (c->kind == SW_Q_DAQ)
        return eval_daq(c, in, r);
    char whybuf[160];
    double raw = sw_q_raw_value(c, idx, in, whybuf, sizeof whybuf);
    const char *why = whybuf[0] ? whybuf : NULL;
    r->raw = raw;
    if (c->ref_kind == SW_REF_BASELINE) { /* without baselines (no references at hand): learning */
        if (in->baselines)
            r->base = in->baselines[idx];
        r->learning = !in->baselines || r->base.n < c->base_learn;
    }
    if (why || !isfinite(raw)) {
        r->state = SW_UNKNOWN;
        sw_q_reason_text(r->reason, sizeof r->reason, c, "%s", why ? why : "not computable");
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
                why = "fewer than two of its peers have data";
        } else if (c->ref_kind == SW_REF_BASELINE) {
            ref = r->base.median;
            r->spread = r->base.spread;
            if (r->learning || !isfinite(ref)) {
                snprintf(note, sizeof note, "baseline still learning (%d of %d spills)", r->base.n,
                         c->base_learn);
                pending = note;
            }
        } else if (c->ref_kind == SW_REF_ROLLING ||
                   (c->ref_kind == SW_REF_RUN && c->compare != SW_CMP_ABSOLUTE)) {
            ref = in->ref_values ? in->ref_values[idx] : NAN;
            if (!isfinite(ref) && c->ref_kind == SW_REF_ROLLING) {
                /* Warming up: deliberately not judged (an UNKNOWN spill would never become GOOD and
                 * the window would never fill). */
                snprintf(note, sizeof note, "rolling median warming up (fewer than %d GOOD spills)",
                         c->rolling_min);
                pending = note;
            } else if (!isfinite(ref))
                why = "no reference value (the reference run has no GOOD spills?)";
        }
        if (why) {
            r->state = SW_UNKNOWN;
            sw_q_reason_text(r->reason, sizeof r->reason, c, "%s", why);
            return r->state;
        }
        if (!pending) {
            r->expected = r->reference = c->compare == SW_CMP_ABSOLUTE ? NAN : ref;
            double v = compared(c->compare, raw, ref);
            if (!isfinite(v)) {
                r->state = SW_UNKNOWN;
                sw_q_reason_text(r->reason, sizeof r->reason, c, "the reference is 0: no ratio");
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
        sw_q_reason_text(r->reason, sizeof r->reason, c, "%s", pending);
        return r->state;
    }
    r->state = worse(r->phys_state, r->stab_state);
    if (r->state == SW_UNKNOWN) {
        sw_q_reason_text(r->reason, sizeof r->reason, c, "not computable against the nominal");
        return r->state;
    }
    if (r->state == SW_GOOD)
        return r->state;
    r->layer = r->phys_state == r->state ? SW_LAYER_PHYSICAL : SW_LAYER_STABILITY;
    int first = -1;
    if (c->kind == SW_Q_HIST && (c->stat == SW_STAT_PEER_DEAD || c->stat == SW_STAT_PEER_HOT))
        sw_compare_peer_channels(&in->hists[c->hist], c->group, c->stat_arg, c->stat == SW_STAT_PEER_HOT,
                                 &first);
    sw_q_reason_judged(r->reason, sizeof r->reason, p, r, pending, first);
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
                                              : "Incomplete spill: no spill_end before the spill timeout"));
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
