/* compare.h — comparison of a histogram with a reference histogram of the same binning (docs/design.md §8):
 * Kolmogorov–Smirnov and χ² probabilities on shapes normalised explicitly, dead/hot channel counts
 * for occupancy histograms, and the integral in a window. Pure functions over their inputs; any
 * thread. Under/overflow are left out of shape comparisons (as ROOT's TH1 tests do by default). */
#ifndef SW_COMPARE_H
#define SW_COMPARE_H

#include "hist.h"

/* Kolmogorov–Smirnov: D = max |CDF_h − CDF_ref| over the in-range bins of the two normalised
 * shapes, n_eff = n·m/(n+m), p = Q_KS(√n_eff · D). Returns p in [0, 1], or NaN when either histogram
 * has no in-range entries or the binnings differ. *d_out (may be NULL) receives D. */
double sw_compare_ks(const struct sw_hist *h, const struct sw_hist *ref, double *d_out);

/* χ² test of two unweighted histograms (ROOT's "UU"): χ² = Σ (m·h_i − n·r_i)² / (n·m·(h_i + r_i)) over
 * bins with h_i + r_i > 0, ndf = bins used − 1; p = Q(ndf/2, χ²/2). NaN as above or with ndf < 1.
 * *chi2_out and *ndf_out may be NULL. */
double sw_compare_chi2(const struct sw_hist *h, const struct sw_hist *ref, double *chi2_out, int *ndf_out);

/* Channels (bins) whose count is below low × expected (dead) or above high × max(expected, 5) (hot),
 * expected = ref_i / ref_total × h_total; dead channels only count where expected >= 5, so sparse
 * statistics do not make a channel dead. Returns the count, -1 when the binnings differ or a total
 * is 0. */
int sw_compare_dead_channels(const struct sw_hist *h, const struct sw_hist *ref, double low);
int sw_compare_hot_channels(const struct sw_hist *h, const struct sw_hist *ref, double high);

/* Dead or hot channels against their peers in the same spill: the bins of a 1D histogram are groups
 * of `group` channels (modules of the same layout: channel k of every group sits at the same place),
 * and channel k of group m is compared with the median of channel k over the other groups. Dead
 * (hot == 0): below low × that median, where the median is >= 20 counts (enough to tell); hot:
 * above high × max(median, 5). Returns the count (with the first such bin in *first, -1 when none),
 * or -1 when the bins are not at least three whole groups. */
int sw_compare_peer_channels(const struct sw_hist *h, int group, double factor, int hot, int *first);

/* Entries in the bins lying inside [lo, hi) (a bin counts when lo <= its lower edge and its upper
 * edge <= hi). 1D only; NaN for 2D. */
double sw_hist_integral(const struct sw_hist *h, double lo, double hi);

/* The Kolmogorov distribution's survival function Q_KS(λ) = 2 Σ (−1)^(k−1) exp(−2k²λ²). */
double sw_kolmogorov_q(double lambda);
/* Regularised upper incomplete gamma Q(a, x), a > 0, x >= 0. */
double sw_gamma_q(double a, double x);

#endif
