/* compare.c — see compare.h */
#include "compare.h"

#include <math.h>
#include <stdlib.h>

static size_t nbins(const struct sw_hist_def *d)
{
    return (size_t)d->x.bins * (d->dim == 2 ? (size_t)d->y.bins : 1);
}

static int same(const struct sw_hist *a, const struct sw_hist *b)
{
    const struct sw_hist_def *x = a->def, *y = b->def;
    return x->dim == y->dim && x->x.bins == y->x.bins && x->x.min == y->x.min && x->x.max == y->x.max &&
           (x->dim == 1 || (x->y.bins == y->y.bins && x->y.min == y->y.min && x->y.max == y->y.max));
}

static double in_range(const struct sw_hist *h)
{
    double s = 0;
    size_t n = nbins(h->def);
    for (size_t i = 0; i < n; i++)
        s += (double)h->counts[i];
    return s;
}

double sw_kolmogorov_q(double lambda)
{
    if (lambda < 0.2)
        return 1.0; /* the series converges badly there; Q is 1 to 1e-6 */
    double sum = 0, sign = 1;
    for (int k = 1; k <= 100; k++) {
        double term = exp(-2.0 * k * k * lambda * lambda);
        sum += sign * term;
        sign = -sign;
        if (term < 1e-12)
            break;
    }
    double q = 2 * sum;
    return q < 0 ? 0 : q > 1 ? 1 : q;
}

/* Series for P(a, x) (x < a + 1) and Lentz's continued fraction for Q(a, x) otherwise (Numerical
 * Recipes §6.2). */
double sw_gamma_q(double a, double x)
{
    if (!(a > 0) || x < 0)
        return NAN;
    if (x == 0)
        return 1;
    double lg = lgamma(a);
    if (x < a + 1) {
        double ap = a, sum = 1 / a, del = sum;
        for (int n = 0; n < 1000; n++) {
            ap += 1;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-15)
                break;
        }
        double p = sum * exp(-x + a * log(x) - lg);
        return p > 1 ? 0 : 1 - p;
    }
    double b = x + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d;
    for (int i = 1; i < 1000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < 1e-300)
            d = 1e-300;
        c = b + an / c;
        if (fabs(c) < 1e-300)
            c = 1e-300;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15)
            break;
    }
    return exp(-x + a * log(x) - lg) * h;
}

double sw_compare_ks(const struct sw_hist *h, const struct sw_hist *ref, double *d_out)
{
    if (!same(h, ref))
        return NAN;
    double n = in_range(h), m = in_range(ref);
    if (!(n > 0) || !(m > 0))
        return NAN;
    double ch = 0, cr = 0, dmax = 0;
    size_t nb = nbins(h->def);
    for (size_t i = 0; i < nb; i++) {
        ch += (double)h->counts[i] / n;
        cr += (double)ref->counts[i] / m;
        double dd = fabs(ch - cr);
        if (dd > dmax)
            dmax = dd;
    }
    if (d_out)
        *d_out = dmax;
    return sw_kolmogorov_q(sqrt(n * m / (n + m)) * dmax);
}

double sw_compare_chi2(const struct sw_hist *h, const struct sw_hist *ref, double *chi2_out, int *ndf_out)
{
    if (!same(h, ref))
        return NAN;
    double n = in_range(h), m = in_range(ref);
    if (!(n > 0) || !(m > 0))
        return NAN;
    double chi2 = 0;
    int used = 0;
    size_t nb = nbins(h->def);
    for (size_t i = 0; i < nb; i++) {
        double a = (double)h->counts[i], b = (double)ref->counts[i];
        if (a + b <= 0)
            continue;
        double t = m * a - n * b;
        chi2 += t * t / (n * m * (a + b));
        used++;
    }
    int ndf = used - 1;
    if (chi2_out)
        *chi2_out = chi2;
    if (ndf_out)
        *ndf_out = ndf;
    return ndf < 1 ? NAN : sw_gamma_q(ndf / 2.0, chi2 / 2.0);
}

static int channels(const struct sw_hist *h, const struct sw_hist *ref, double factor, int hot)
{
    if (!same(h, ref))
        return -1;
    double n = in_range(h), m = in_range(ref);
    if (!(n > 0) || !(m > 0))
        return -1;
    int count = 0;
    size_t nb = nbins(h->def);
    for (size_t i = 0; i < nb; i++) {
        double expected = (double)ref->counts[i] / m * n, c = (double)h->counts[i];
        if (hot)
            count += c > factor * fmax(expected, 5.0);
        else
            count += expected >= 5.0 && c < factor * expected;
    }
    return count;
}

int sw_compare_dead_channels(const struct sw_hist *h, const struct sw_hist *ref, double low)
{
    return channels(h, ref, low, 0);
}

int sw_compare_hot_channels(const struct sw_hist *h, const struct sw_hist *ref, double high)
{
    return channels(h, ref, high, 1);
}

int sw_compare_peer_channels(const struct sw_hist *h, int group, double factor, int hot, int *first)
{
    const struct sw_hist_def *d = h->def;
    *first = -1;
    if (d->dim != 1 || group < 1 || d->x.bins % group != 0 || d->x.bins / group < 3)
        return -1;
    int ngroups = d->x.bins / group, n = 0;
    double *others = malloc((size_t)ngroups * sizeof *others);
    if (!others)
        return -1;
    for (int k = 0; k < group; k++)
        for (int m = 0; m < ngroups; m++) {
            int no = 0;
            for (int g = 0; g < ngroups; g++)
                if (g != m)
                    others[no++] = (double)h->counts[g * group + k];
            for (int i = 1; i < no; i++) /* insertion sort: a handful of groups */
                for (int j = i; j > 0 && others[j - 1] > others[j]; j--) {
                    double t = others[j];
                    others[j] = others[j - 1];
                    others[j - 1] = t;
                }
            double med = no % 2 ? others[no / 2] : 0.5 * (others[no / 2 - 1] + others[no / 2]);
            double c = (double)h->counts[m * group + k];
            int bad = hot ? c > factor * (med > 5 ? med : 5) : med >= 20 && c < factor * med;
            if (bad && (*first < 0 || m * group + k < *first))
                *first = m * group + k;
            n += bad;
        }
    free(others);
    return n;
}

double sw_hist_integral(const struct sw_hist *h, double lo, double hi)
{
    const struct sw_hist_def *d = h->def;
    if (d->dim != 1)
        return NAN;
    double w = (d->x.max - d->x.min) / d->x.bins, s = 0;
    for (int i = 0; i < d->x.bins; i++) {
        double a = d->x.min + i * w, b = a + w;
        if (a >= lo - 1e-9 * w && b <= hi + 1e-9 * w)
            s += (double)h->counts[i];
    }
    return s;
}
