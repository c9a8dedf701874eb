/* quality_reason.c — the reasons of a verdict in words (quality_int.h; docs/quality.md, "Reasons"):
 * the check's title first, then its value with the unit and what the value means against the
 * window that judged it, numbers as a reader writes them (numfmt.h). Pure; any thread. */
#include "quality_int.h"

#include "numfmt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TIMES  "\xc3\x97"     /* × */
#define ENDASH "\xe2\x80\x93" /* – */
#define PLUSMN "\xc2\xb1"     /* ± */

const char *sw_q_title(const struct sw_check_def *c)
{
    return c->title[0] ? c->title : c->name;
}

const char *sw_q_unit(const struct sw_check_def *c)
{
    if (c->unit[0])
        return c->unit;
    if ((c->kind == SW_Q_SPILL && c->spill_field == SW_SF_DEAD_TIME && c->per == SW_PER_NONE) ||
        (c->kind == SW_Q_HIST && (c->stat == SW_STAT_FRAC_ABOVE || c->stat == SW_STAT_FRAC_BELOW)))
        return "fraction";
    return "";
}

/* Appends to the text in buf (cut at len). */
static void vadd(char *buf, size_t len, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void vadd(char *buf, size_t len, const char *fmt, va_list ap)
{
    size_t l = strlen(buf);
    if (l + 1 < len)
        vsnprintf(buf + l, len - l, fmt, ap);
}

static void add(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(buf, len, fmt, ap);
    va_end(ap);
}

void sw_q_reason_text(char *buf, size_t len, const struct sw_check_def *c, const char *fmt, ...)
{
    snprintf(buf, len, "%s: ", sw_q_title(c));
    va_list ap;
    va_start(ap, fmt);
    vadd(buf, len, fmt, ap);
    va_end(ap);
    sw_utf8_trim_cut(buf);
}

/* ---- how many digits a number deserves ---- */

/* The resolution of a check's numbers: a tenth of the order of magnitude of the good window's
 * half-width (±1.6 GeV/c: 0.1), so that every number of a reason is shown as finely as the window
 * is drawn; 0 when the window says nothing (no width, open). */
static double resolution(double lo, double hi, double scale)
{
    double hw = isfinite(lo) && isfinite(hi) ? (hi - lo) / 2 : isfinite(lo) ? fabs(lo) : fabs(hi);
    hw *= fabs(scale);
    if (!(hw > 0) || !isfinite(hw))
        return 0;
    return pow(10, floor(log10(hw)) - 1);
}

/* Significant digits for x at resolution res: at least min, at most 6 (4 without a resolution). */
static int digits_min(double x, double res, int min)
{
    if (!(res > 0) || !isfinite(x) || x == 0)
        return 4;
    if (fabs(x) < res) /* finer than the window is drawn: one digit says "about zero" */
        return 1;
    double r = round(x / res) * res; /* 9.96 at 0.1 is 10.0: three digits */
    int d = (int)floor(log10(fabs(r))) - (int)floor(log10(res) + 0.5) + 1;
    return d < min ? min : d > 6 ? 6 : d;
}
/* For a value (the statistic, an expectation): 3 digits at least. */
static int digits(double x, double res)
{
    return digits_min(x, res, 3);
}
/* For a difference or a ratio: 2 at least. */
static int digits_dev(double x, double res)
{
    return digits_min(x, res, 2);
}

/* ---- windows ---- */

/* An absolute window: "0–20 %", "300 k – 20 M", "155–165 GeV/c", "0" (lo = hi). */
static void window_abs(char *buf, size_t len, double lo, double hi, const char *unit)
{
    char a[SW_NUM_LEN], b[SW_NUM_LEN];
    if (lo == hi) {
        snprintf(buf, len, "%s", sw_num_unit(a, sizeof a, lo, unit, -4));
        return;
    }
    int frac = sw_num_unit_is_fraction(unit);
    if (fabs(lo) >= 1e4 || fabs(hi) >= 1e4 || (lo < 0 && !frac)) /* suffixes, a sign: spaced */
        snprintf(buf, len, "%s " ENDASH " %s", sw_num_unit(a, sizeof a, lo, unit, -4),
                 sw_num_unit(b, sizeof b, hi, unit, -4));
    else
        snprintf(buf, len, "%s" ENDASH "%s", sw_num(a, sizeof a, frac ? 100 * lo : lo, -4),
                 sw_num_unit(b, sizeof b, hi, unit, -4));
}

/* A window of differences: "±1.6 GeV/c" (after "within " when within), "−4.5 to +3.5 GeV/c",
 * "up to +5 ns". */
static void window_delta(char *buf, size_t len, double lo, double hi, const char *unit, int within)
{
    char a[SW_NUM_LEN], b[SW_NUM_LEN];
    if (isinf(lo) && isinf(hi))
        snprintf(buf, len, "any");
    else if (isinf(lo))
        snprintf(buf, len, "up to %s", sw_num_signed(b, sizeof b, hi, unit, -4));
    else if (isinf(hi))
        snprintf(buf, len, "at least %s", sw_num_signed(a, sizeof a, lo, unit, -4));
    else if (lo == -hi)
        snprintf(buf, len, "%s" PLUSMN "%s", within ? "within " : "", sw_num_unit(b, sizeof b, hi, unit, -4));
    else
        snprintf(buf, len, "%s to %s", sw_num_signed(a, sizeof a, lo, NULL, -4),
                 sw_num_signed(b, sizeof b, hi, unit, -4));
}

/* A window of ratios: "0.93–1.07 ×", "up to 1.5 ×". */
static void window_ratio(char *buf, size_t len, double lo, double hi)
{
    char a[SW_NUM_LEN], b[SW_NUM_LEN];
    if (isinf(hi))
        snprintf(buf, len, "at least %s " TIMES, sw_num(a, sizeof a, lo, -4));
    else if (isinf(lo) || lo <= 0)
        snprintf(buf, len, "up to %s " TIMES, sw_num(b, sizeof b, hi, -4));
    else
        snprintf(buf, len, "%s" ENDASH "%s " TIMES, sw_num(a, sizeof a, lo, -4), sw_num(b, sizeof b, hi, -4));
}

/* "below the physical window 300 k – 20 M", "above the good limit 0.1" (an open window, or one of a
 * single value). */
static void outside_abs(char *buf, size_t len, double v, double lo, double hi, const char *unit,
                        const char *which)
{
    char w[96];
    int above = v > hi;
    if (isinf(lo) || isinf(hi)) {
        char a[SW_NUM_LEN];
        add(buf, len, "%s the %s limit %s", above ? "above" : "below", which,
            sw_num_unit(a, sizeof a, above ? hi : lo, unit, -4));
        return;
    }
    window_abs(w, sizeof w, lo, hi, unit);
    add(buf, len, "%s the %s %s %s", above ? "above" : "below", which, lo == hi ? "limit" : "window", w);
}

/* ---- the parts of a judged value ---- */

/* "run 8 spills 1-20" or "run 7 spills 30-40 + run 8 spills 1-9" (carried over first). */
static void baseline_spans(char *buf, size_t len, const struct sw_baseline *b)
{
    buf[0] = 0;
    for (int i = 0; i < b->nsegs; i++) {
        if (b->seg[i].first == b->seg[i].last)
            add(buf, len, "%srun %lld spill %lld", i ? " + " : "", (long long)b->seg[i].run,
                (long long)b->seg[i].first);
        else
            add(buf, len, "%srun %lld spills %lld-%lld", i ? " + " : "", (long long)b->seg[i].run,
                (long long)b->seg[i].first, (long long)b->seg[i].last);
    }
}

/* The physical layer: "below the physical window 300 k – 20 M", "−9.8 GeV/c from the run's momentum
 * 150 GeV/c (physical window −4.5 to +3.5 GeV/c)", "0.021 × the nominal 2.4 GeV (physical window
 * 0.8–1.2 ×)". */
static void phys_part(char *buf, size_t len, const struct sw_profile *p, const struct sw_check_def *c,
                      const struct sw_check_result *r, double res)
{
    const struct sw_window *w = &c->phys;
    const char *unit = sw_q_unit(c);
    char a[SW_NUM_LEN], b[SW_NUM_LEN], win[96], from[96];
    if (w->compare == SW_CMP_ABSOLUTE) {
        outside_abs(buf, len, r->raw, w->good_lo, w->good_hi, unit, "physical");
        return;
    }
    if (r->nominal_from_meta)
        snprintf(from, sizeof from, "the run's %s", p->conditions[w->nominal_meta]);
    else
        snprintf(from, sizeof from, "the nominal");
    sw_num_unit(b, sizeof b, r->nominal, unit, -digits(r->nominal, res)); /* a setting: as written */
    if (w->compare == SW_CMP_DELTA) {
        double d = r->raw - r->nominal;
        window_delta(win, sizeof win, w->good_lo, w->good_hi, unit, 0);
        add(buf, len, "%s from %s %s (physical window %s)",
            sw_num_signed(a, sizeof a, d, unit, digits_dev(d, res)), from, b, win);
    } else {
        double q = r->nominal != 0 ? r->raw / r->nominal : NAN;
        window_ratio(win, sizeof win, w->good_lo, w->good_hi);
        add(buf, len, "%s " TIMES " %s %s (physical window %s)",
            sw_num(a, sizeof a, q, digits_dev(q, resolution(w->good_lo, w->good_hi, 1))), from, b, win);
    }
}

/* The stability layer: "+5.2 GeV/c from the baseline 159.1 GeV/c of run 7 spills 3-24 (good within
 * ±1.6 GeV/c, 4.1 sigma)", "0.021 × the median of its peers 2.4 GeV (good 0.85–1.15 ×)", "above
 * the good window 0–0.1". */
static void stab_part(char *buf, size_t len, const struct sw_check_def *c, const struct sw_check_result *r,
                      double res)
{
    const char *unit = sw_q_unit(c);
    char a[SW_NUM_LEN], b[SW_NUM_LEN], win[96], what[200], z[SW_NUM_LEN + 16] = "";
    if (c->compare == SW_CMP_ABSOLUTE) {
        outside_abs(buf, len, r->raw, c->good_lo, c->good_hi, unit, "good");
        return;
    }
    /* a measured expectation shows its precision, a fixed one is written as the profile has it */
    int fixed = c->ref_kind == SW_REF_FIXED && !c->npeers;
    sw_num_unit(b, sizeof b, r->expected, unit, fixed ? -digits(r->expected, res) : digits(r->expected, res));
    if (c->ref_kind == SW_REF_BASELINE) {
        char spans[128];
        baseline_spans(spans, sizeof spans, &r->base);
        snprintf(what, sizeof what, "the baseline %s%s%s", b, spans[0] ? " of " : "", spans);
    } else if (c->npeers)
        snprintf(what, sizeof what, "the median of its peers %s", b);
    else if (c->ref_kind == SW_REF_ROLLING)
        snprintf(what, sizeof what, "the median of the last GOOD spills %s", b);
    else if (c->ref_kind == SW_REF_RUN)
        snprintf(what, sizeof what, "reference run %lld's %s", (long long)c->ref_run, b);
    else
        snprintf(what, sizeof what, "the reference %s", b);
    if (isfinite(r->z)) {
        char n[SW_NUM_LEN];
        snprintf(z, sizeof z, ", %s sigma", sw_num(n, sizeof n, r->z, r->z < 10 ? 2 : 3));
    }
    if (c->compare == SW_CMP_DELTA) {
        window_delta(win, sizeof win, c->good_lo, c->good_hi, unit, 1);
        add(buf, len, "%s from %s (good %s%s)",
            sw_num_signed(a, sizeof a, r->value, unit, digits_dev(r->value, res)), what, win, z);
    } else {
        window_ratio(win, sizeof win, c->good_lo, c->good_hi);
        add(buf, len, "%s " TIMES " %s (good %s%s)",
            sw_num(a, sizeof a, r->value, digits_dev(r->value, resolution(c->good_lo, c->good_hi, 1))), what,
            win, z);
    }
}

void sw_q_reason_judged(char *buf, size_t len, const struct sw_profile *p, const struct sw_check_result *r,
                        const char *pending, int first_bin)
{
    const struct sw_check_def *c = r->def;
    const char *unit = sw_q_unit(c);
    /* The numbers of the value's own units are shown as finely as the window that judged it. */
    double res = 0;
    int stab = r->stab_state != SW_GOOD && r->stab_state != SW_EXCLUDED;
    int phys = r->phys_state != SW_GOOD && r->phys_state != SW_EXCLUDED;
    if (stab && c->compare == SW_CMP_RATIO)
        res = resolution(c->good_lo, c->good_hi, r->expected);
    else if (stab)
        res = resolution(c->good_lo, c->good_hi, 1);
    else if (c->phys.compare == SW_CMP_RATIO)
        res = resolution(c->phys.good_lo, c->phys.good_hi, r->nominal);
    else
        res = resolution(c->phys.good_lo, c->phys.good_hi, 1);
    char v[SW_NUM_LEN];
    sw_q_reason_text(buf, len, c, "%s", sw_num_unit(v, sizeof v, r->raw, unit, digits(r->raw, res)));
    if (phys) {
        add(buf, len, ", ");
        phys_part(buf, len, p, c, r, res);
    }
    if (stab) {
        add(buf, len, phys ? "; " : ", ");
        stab_part(buf, len, c, r, res);
    }
    if (pending)
        add(buf, len, "; %s", pending);
    if (first_bin >= 0 && c->group > 0)
        add(buf, len, "; the first is group %d, channel %d (bin %d)", first_bin / c->group,
            first_bin % c->group, first_bin);
    sw_utf8_trim_cut(buf);
}

/* ---- DAQ sources ---- */

/* A fraction as a percentage for a reason: "5.0", "100.0", "0.05". */
static void pct(char *buf, size_t len, double fraction)
{
    double x = 100 * fraction;
    if (x == 0 || x >= 0.1)
        snprintf(buf, len, "%.1f", x);
    else
        sw_num(buf, len, x, 2);
}

void sw_q_reason_daq(char *buf, size_t len, const struct sw_check_def *c, const struct sw_daq_value *v,
                     double z)
{
    static const char *const phrase[SW_DAQ_N] = {"missing from", "empty (all zero-suppressed) in",
                                                 "truncated in", "missing, empty or truncated in"};
    char p[SW_NUM_LEN], win[96];
    snprintf(buf, len, "%s: %.64s ", sw_q_title(c), v->source);
    if (v->absent && (v->problem == SW_DAQ_MISSING || v->problem == SW_DAQ_BAD))
        add(buf, len, "absent from the spill_end: missing from every event");
    else {
        int nonzero = 0, only = (int)v->problem;
        for (int k = 0; v->problem == SW_DAQ_BAD && k < 3; k++)
            if (v->parts[k] > 0) {
                nonzero++;
                only = k;
            }
        pct(p, sizeof p, v->fraction);
        if (v->problem != SW_DAQ_BAD || nonzero <= 1)
            add(buf, len, "%s %s %% of events", phrase[nonzero == 1 ? only : (int)v->problem], p);
        else { /* bad, for more than one reason: each one's share */
            add(buf, len, "bad in %s %% of events:", p);
            for (int k = 0, first = 1; k < 3; k++) {
                if (!(v->parts[k] > 0))
                    continue;
                pct(p, sizeof p, v->parts[k]);
                add(buf, len, "%s %s %s %%", first ? "" : ",", sw_daq_problem_name(k), p);
                first = 0;
            }
        }
    }
    if (c->good_lo <= 0 || isinf(c->good_lo)) {
        char h[SW_NUM_LEN];
        snprintf(win, sizeof win, "up to %s", sw_num_unit(h, sizeof h, c->good_hi, "fraction", -4));
    } else
        window_abs(win, sizeof win, c->good_lo, c->good_hi, "fraction");
    add(buf, len, " (good %s", win);
    if (isfinite(z)) {
        char n[SW_NUM_LEN];
        add(buf, len, ", %s sigma", sw_num(n, sizeof n, z, z < 10 ? 2 : 3));
    }
    add(buf, len, ")");
    sw_utf8_trim_cut(buf);
}
