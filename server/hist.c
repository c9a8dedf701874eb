/* hist.c — see hist.h */
#include "hist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- selectors ---- */

int sw_selector_parse(struct sw_selector *sel, const char *text, const struct sw_fields *fields, char *err,
                      size_t errlen)
{
    struct sw_selector s = {0};
    size_t len = strlen(text);
    const char *name = text;
    size_t nlen = len;
    long index = 0; /* checked against the field's width before it becomes an int */
    if (len > 5 && strncmp(text, "sum(", 4) == 0 && text[len - 1] == ')') {
        s.kind = SW_SEL_SUM;
        name = text + 4;
        nlen = len - 5;
    } else if (len > 6 && strncmp(text, "each(", 5) == 0 && text[len - 1] == ')') {
        s.kind = SW_SEL_EACH;
        name = text + 5;
        nlen = len - 6;
    } else if (len > 3 && text[len - 1] == ']' && strchr(text, '[')) {
        const char *br = strchr(text, '[');
        char *end;
        index = strtol(br + 1, &end, 10);
        if (br == text || end == br + 1 || *end != ']' || end != text + len - 1 || index < 0) {
            snprintf(err, errlen, "bad selector \"%s\"", text);
            return -1;
        }
        s.kind = SW_SEL_INDEX;
        nlen = (size_t)(br - text);
    }
    for (size_t i = 0; i < nlen; i++)
        if (!(name[i] == '_' || (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9'))) {
            snprintf(err, errlen, "bad selector \"%s\"", text);
            return -1;
        }
    if (nlen == 0) {
        snprintf(err, errlen, "bad selector \"%s\"", text);
        return -1;
    }
    int f = sw_fields_find(fields, name, nlen);
    if (f < 0) {
        snprintf(err, errlen, "unknown field \"%.*s\"", (int)nlen, name);
        return -1;
    }
    s.field = f;
    s.offset = fields->offset[f];
    s.width = fields->width[f];
    if (s.kind == SW_SEL_FIELD && s.width != 1) {
        snprintf(err, errlen, "field \"%s\" is an array (width %d): use %s[i], sum(%s) or each(%s)",
                 fields->name[f], s.width, fields->name[f], fields->name[f], fields->name[f]);
        return -1;
    }
    if (s.kind == SW_SEL_INDEX && index >= s.width) {
        snprintf(err, errlen, "index %ld out of range for \"%s\" (width %d)", index, fields->name[f],
                 s.width);
        return -1;
    }
    s.index = (int)index;
    *sel = s;
    return 0;
}

double sw_selector_value(const struct sw_selector *sel, const double *row)
{
    const double *v = row + sel->offset;
    switch (sel->kind) {
    case SW_SEL_FIELD:
        return v[0];
    case SW_SEL_INDEX:
        return v[sel->index];
    case SW_SEL_SUM:
    case SW_SEL_EACH: {
        double sum = 0;
        int any = 0;
        for (int i = 0; i < sel->width; i++)
            if (!isnan(v[i])) {
                sum += v[i];
                any = 1;
            }
        return any ? sum : NAN;
    }
    }
    return NAN;
}

/* ---- lifecycle ---- */

static size_t nbins(const struct sw_hist_def *d)
{
    return (size_t)d->x.bins * (d->dim == 2 ? (size_t)d->y.bins : 1);
}

size_t sw_hist_bins(const struct sw_hist_def *def)
{
    return nbins(def);
}

size_t sw_hist_edges(const struct sw_hist_def *def)
{
    return def->dim == 2 ? 2 * ((size_t)def->x.bins + 2) + 2 * (size_t)def->y.bins : 0;
}

/* Every cell a histogram keeps: the in-range bins, then (2D) the edge cells. */
static size_t ncells(const struct sw_hist_def *d)
{
    return nbins(d) + sw_hist_edges(d);
}

/* Index among the edge cells of ROOT cell (ix, iy), 0 <= ix <= nx+1, 0 <= iy <= ny+1, not in range:
 * the row iy = 0 (nx+2 cells), the row iy = ny+1 (nx+2), then per iy in 1..ny the cells ix = 0 and
 * ix = nx+1. */
static size_t edge_index(const struct sw_hist_def *d, int ix, int iy)
{
    size_t nx = (size_t)d->x.bins;
    if (iy == 0)
        return (size_t)ix;
    if (iy == d->y.bins + 1)
        return nx + 2 + (size_t)ix;
    return 2 * (nx + 2) + 2 * (size_t)(iy - 1) + (ix == 0 ? 0 : 1);
}

uint64_t sw_hist_cell(const struct sw_hist *h, int ix, int iy)
{
    const struct sw_hist_def *d = h->def;
    int nx = d->x.bins;
    if (d->dim == 1)
        return ix <= 0 ? h->underflow : ix > nx ? h->overflow : h->counts[ix - 1];
    int ny = d->y.bins;
    if (ix >= 1 && ix <= nx && iy >= 1 && iy <= ny)
        return h->counts[(size_t)(iy - 1) * (size_t)nx + (size_t)(ix - 1)];
    ix = ix < 0 ? 0 : ix > nx + 1 ? nx + 1 : ix;
    iy = iy < 0 ? 0 : iy > ny + 1 ? ny + 1 : iy;
    return h->counts[nbins(d) + edge_index(d, ix, iy)];
}

int sw_hist_init(struct sw_hist *h, const struct sw_hist_def *def)
{
    memset(h, 0, sizeof *h);
    h->counts = calloc(ncells(def), sizeof *h->counts);
    if (!h->counts)
        return -1;
    h->def = def;
    return 0;
}

void sw_hist_release(struct sw_hist *h)
{
    free(h->counts);
    memset(h, 0, sizeof *h);
}

void sw_hist_clear(struct sw_hist *h)
{
    memset(h->counts, 0, ncells(h->def) * sizeof *h->counts);
    h->underflow = h->overflow = h->entries = h->missing = 0;
    h->sumx = h->sumx2 = h->sumy = h->sumy2 = h->sumxy = 0;
    memset(h->lo, 0, sizeof h->lo);
    h->partial = 0;
}

/* ---- filling ---- */

/* Bin of x on an axis: -1 below, bins at or above max. */
static int axis_bin(const struct sw_axis *a, double x)
{
    if (x < a->min)
        return -1;
    if (x >= a->max)
        return a->bins;
    int i = (int)((x - a->min) / (a->max - a->min) * a->bins);
    return i >= a->bins ? a->bins - 1 : i; /* x just below max may round up */
}

static void fill_1d(struct sw_hist *h, double x)
{
    int i = axis_bin(&h->def->x, x);
    if (i < 0)
        h->underflow++;
    else if (i >= h->def->x.bins)
        h->overflow++;
    else
        h->counts[i]++;
    h->entries++;
    h->sumx += x;
    h->sumx2 += x * x;
}

void sw_hist_fill(struct sw_hist *h, const double *row, int trigger)
{
    const struct sw_hist_def *d = h->def;
    if (d->trigger_mask && !(d->trigger_mask & (1u << trigger)))
        return;
    if (d->has_cut) {
        double c = sw_selector_value(&d->cut, row);
        if (!(c >= d->cut_min && c < d->cut_max))
            return;
    }
    if (d->xsel.kind == SW_SEL_EACH) {
        const double *v = row + d->xsel.offset;
        int any = 0;
        for (int i = 0; i < d->xsel.width; i++) {
            if (isnan(v[i]))
                continue;
            any = 1;
            if (v[i] > d->threshold)
                fill_1d(h, (double)i);
        }
        if (!any)
            h->missing++;
        return;
    }
    double x = sw_selector_value(&d->xsel, row);
    if (d->dim == 1) {
        if (isnan(x))
            h->missing++;
        else
            fill_1d(h, x);
        return;
    }
    double y = sw_selector_value(&d->ysel, row);
    if (isnan(x) || isnan(y)) {
        h->missing++;
        return;
    }
    int ix = axis_bin(&d->x, x), iy = axis_bin(&d->y, y);
    if (ix < 0 || iy < 0 || ix >= d->x.bins || iy >= d->y.bins) {
        if (ix < 0 || iy < 0)
            h->underflow++;
        else
            h->overflow++;
        h->counts[nbins(d) + edge_index(d, ix + 1, iy + 1)]++;
    } else
        h->counts[(size_t)iy * (size_t)d->x.bins + (size_t)ix]++;
    h->entries++;
    h->sumx += x;
    h->sumx2 += x * x;
    h->sumy += y;
    h->sumy2 += y * y;
    h->sumxy += x * y;
}

int sw_hist_same_binning(const struct sw_hist_def *a, const struct sw_hist_def *b)
{
    if (a->dim != b->dim || a->x.bins != b->x.bins || a->x.min != b->x.min || a->x.max != b->x.max)
        return 0;
    return a->dim == 1 || (a->y.bins == b->y.bins && a->y.min == b->y.min && a->y.max == b->y.max);
}

int sw_hist_add(struct sw_hist *dst, const struct sw_hist *src)
{
    if (!sw_hist_same_binning(dst->def, src->def))
        return -1;
    size_t n = ncells(dst->def);
    for (size_t i = 0; i < n; i++)
        dst->counts[i] += src->counts[i];
    dst->underflow += src->underflow;
    dst->overflow += src->overflow;
    dst->entries += src->entries;
    dst->missing += src->missing;
    const double hi[5] = {src->sumx, src->sumx2, src->sumy, src->sumy2, src->sumxy};
    sw_hist_add_sums(dst, hi, src->lo, 1);
    dst->partial |= src->partial;
    return 0;
}

void sw_hist_add_sums(struct sw_hist *dst, const double hi[5], const double lo[5], int sign)
{
    double *sums[5] = {&dst->sumx, &dst->sumx2, &dst->sumy, &dst->sumy2, &dst->sumxy};
    for (int i = 0; i < 5; i++) {
        double a = *sums[i], b = sign * hi[i], s = a + b;
        if (!isfinite(s)) { /* no compensation beyond the finite range */
            *sums[i] = s;
            dst->lo[i] = 0;
            continue;
        }
        double bb = s - a, err = (a - (s - bb)) + (b - bb); /* TwoSum: a + b = s + err exactly */
        double l = dst->lo[i] + err + sign * lo[i], t = s + l;
        dst->lo[i] = l - (t - s); /* renormalised: *sums[i] is the double nearest the sum */
        *sums[i] = t;
    }
}

int sw_hist_sub(struct sw_hist *dst, const struct sw_hist *src)
{
    if (!sw_hist_same_binning(dst->def, src->def))
        return -1;
    size_t n = ncells(dst->def);
    for (size_t i = 0; i < n; i++)
        dst->counts[i] -= src->counts[i];
    dst->underflow -= src->underflow;
    dst->overflow -= src->overflow;
    dst->entries -= src->entries;
    dst->missing -= src->missing;
    const double hi[5] = {src->sumx, src->sumx2, src->sumy, src->sumy2, src->sumxy};
    sw_hist_add_sums(dst, hi, src->lo, -1);
    return 0;
}

/* ---- statistics ---- */

/* Most probable value: the maximum of the counts after light (1,2,1) smoothing, refined by the
 * vertex of a least-squares parabola through the smoothed values around it. The fit window
 * follows the peak's own width: the contiguous bins whose smoothed value is at least 75 % of the
 * maximum (at least one bin, at most 10, each side), so a wide peak is not located by noise and a
 * narrow asymmetric (Landau-like) one is not pulled into its tail. */
static double peak_1d(const struct sw_hist *h)
{
    const struct sw_axis *a = &h->def->x;
    int n = a->bins, best = -1;
    double bestv = 0;
    double *sm = malloc((size_t)n * sizeof *sm);
    if (!sm)
        return NAN;
    for (int i = 0; i < n; i++) {
        double s = 2.0 * (double)h->counts[i], ws = 2;
        if (i > 0) {
            s += (double)h->counts[i - 1];
            ws += 1;
        }
        if (i + 1 < n) {
            s += (double)h->counts[i + 1];
            ws += 1;
        }
        sm[i] = s / ws;
        if (sm[i] > bestv) {
            bestv = sm[i];
            best = i;
        }
    }
    if (best < 0) {
        free(sm);
        return NAN;
    }
    double width = (a->max - a->min) / n;
    double centre = a->min + (best + 0.5) * width;
    int lo = best, hi = best;
    while (lo > 0 && best - lo < 10 && (sm[lo - 1] >= 0.75 * bestv || best - lo < 1))
        lo--;
    while (hi < n - 1 && hi - best < 10 && (sm[hi + 1] >= 0.75 * bestv || hi - best < 1))
        hi++;
    /* Fit y = c0 + c1 t + c2 t^2, t in bins relative to best (normal equations, Cramer's rule). */
    double s[5] = {0}, r[3] = {0};
    for (int i = lo; i <= hi; i++) {
        double t = i - best, tp = 1;
        for (int k = 0; k < 5; k++, tp *= t) {
            s[k] += tp;
            if (k < 3)
                r[k] += tp * sm[i];
        }
    }
    free(sm);
    if (hi - lo < 2)
        return centre;
    double m[3][3] = {{s[0], s[1], s[2]}, {s[1], s[2], s[3]}, {s[2], s[3], s[4]}};
#define DET3(M)                                                    \
    ((M)[0][0] * ((M)[1][1] * (M)[2][2] - (M)[1][2] * (M)[2][1]) - \
     (M)[0][1] * ((M)[1][0] * (M)[2][2] - (M)[1][2] * (M)[2][0]) + \
     (M)[0][2] * ((M)[1][0] * (M)[2][1] - (M)[1][1] * (M)[2][0]))
    double det = DET3(m);
    if (fabs(det) < 1e-12)
        return centre;
    double c[3];
    for (int col = 0; col < 3; col++) {
        double mm[3][3];
        memcpy(mm, m, sizeof mm);
        for (int row = 0; row < 3; row++)
            mm[row][col] = r[row];
        c[col] = DET3(mm) / det;
    }
#undef DET3
    if (!(c[2] < 0))
        return centre;
    double t = -c[1] / (2 * c[2]);
    if (t < lo - best)
        t = lo - best;
    if (t > hi - best)
        t = hi - best;
    return centre + t * width;
}

void sw_hist_stats(const struct sw_hist *h, struct sw_hist_stats *st)
{
    st->mean = st->rms = st->mean_y = st->rms_y = st->peak = NAN;
    if (h->entries > 0) {
        double n = (double)h->entries;
        st->mean = h->sumx / n;
        st->rms = sqrt(fmax(0, h->sumx2 / n - st->mean * st->mean));
        if (h->def->dim == 2) {
            st->mean_y = h->sumy / n;
            st->rms_y = sqrt(fmax(0, h->sumy2 / n - st->mean_y * st->mean_y));
        }
    }
    if (h->def->dim == 1)
        st->peak = peak_1d(h);
}

static double frac(const struct sw_hist *h, double value, int above)
{
    if (h->entries == 0 || h->def->dim != 1)
        return NAN;
    const struct sw_axis *a = &h->def->x;
    double width = (a->max - a->min) / a->bins;
    uint64_t n = above ? h->overflow : h->underflow;
    if (above && value < a->min)
        n += h->underflow;
    if (!above && value > a->max)
        n += h->overflow;
    for (int i = 0; i < a->bins; i++) {
        double lo = a->min + i * width, hi = lo + width;
        if (above ? lo >= value : hi <= value)
            n += h->counts[i];
    }
    return (double)n / (double)h->entries;
}

double sw_hist_frac_above(const struct sw_hist *h, double value)
{
    return frac(h, value, 1);
}

double sw_hist_frac_below(const struct sw_hist *h, double value)
{
    return frac(h, value, 0);
}

/* ---- JSON ---- */

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *sw_hist_to_json(const struct sw_hist *h)
{
    const struct sw_hist_def *d = h->def;
    struct sw_hist_stats st;
    sw_hist_stats(h, &st);
    json_t *counts = json_array();
    size_t n = nbins(d);
    for (size_t i = 0; counts && i < n; i++)
        if (json_array_append_new(counts, json_integer((json_int_t)h->counts[i])) != 0) {
            json_decref(counts);
            return NULL;
        }
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:{s:i, s:f, s:f}, s:o, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "name",
                  d->name, "title", d->title, "unit", d->unit, "x", "bins", d->x.bins, "min", d->x.min, "max",
                  d->x.max, "counts", counts, "underflow", (json_int_t)h->underflow, "overflow",
                  (json_int_t)h->overflow, "entries", (json_int_t)h->entries, "missing",
                  (json_int_t)h->missing, "mean", num(st.mean), "rms", num(st.rms), "peak", num(st.peak));
    if (j && d->nxlabels) { /* a category axis: a name per bin */
        json_t *labels = json_array();
        for (int i = 0; i < d->nxlabels; i++)
            json_array_append_new(labels, json_string(d->xlabels[i]));
        json_object_set_new(json_object_get(j, "x"), "labels", labels);
    }
    if (j && d->dim == 2) {
        json_object_set_new(j, "y",
                            json_pack("{s:i, s:f, s:f, s:s}", "bins", d->y.bins, "min", d->y.min, "max",
                                      d->y.max, "unit", d->unit_y));
        json_object_set_new(j, "mean_y", num(st.mean_y));
        json_object_set_new(j, "rms_y", num(st.rms_y));
    }
    return j;
}
