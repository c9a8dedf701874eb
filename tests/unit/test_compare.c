/* Unit tests of server/compare.c against known values. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "compare.h"

static struct sw_hist_def def = {.name = "h", .dim = 1, .x = {10, 0, 10}};

static void set(struct sw_hist *h, const uint64_t *c)
{
    sw_hist_clear(h);
    for (int i = 0; i < 10; i++) {
        h->counts[i] = c[i];
        h->entries += c[i];
    }
}

int main(void)
{
    /* reference values of the distributions */
    CHECK_NEAR(sw_kolmogorov_q(1.36), 0.0494, 5e-4); /* the 5 % critical value */
    CHECK_NEAR(sw_kolmogorov_q(1.63), 0.0098, 3e-4); /* 1 % */
    CHECK_NEAR(sw_kolmogorov_q(0.5), 0.9639, 5e-4);
    CHECK_NEAR(sw_kolmogorov_q(0.1), 1.0, 1e-9);
    CHECK_NEAR(sw_gamma_q(0.5, 3.841459 / 2), 0.05, 1e-6);  /* chi2 = 3.84, ndf = 1 */
    CHECK_NEAR(sw_gamma_q(5.0, 18.307038 / 2), 0.05, 1e-6); /* chi2 = 18.31, ndf = 10 */
    CHECK_NEAR(sw_gamma_q(2.0, 1.0), 2 * exp(-1.0), 1e-12); /* Q(2, x) = (1 + x) e^-x */
    CHECK_NEAR(sw_gamma_q(3.0, 0.0), 1.0, 0);

    struct sw_hist h, r;
    sw_hist_init(&h, &def);
    sw_hist_init(&r, &def);
    uint64_t a[10] = {10, 20, 30, 40, 50, 50, 40, 30, 20, 10};
    uint64_t twice[10] = {20, 40, 60, 80, 100, 100, 80, 60, 40, 20};
    set(&h, a);
    set(&r, twice);
    /* identical shapes (normalisation is explicit): D = 0, chi2 = 0, p = 1 */
    double d, chi2;
    int ndf;
    CHECK_NEAR(sw_compare_ks(&h, &r, &d), 1.0, 1e-12);
    CHECK_NEAR(d, 0, 1e-12);
    CHECK_NEAR(sw_compare_chi2(&h, &r, &chi2, &ndf), 1.0, 1e-12);
    CHECK_INT(ndf, 9);

    /* a hand-computed chi2: h = {10, 30}, r = {20, 20} on two bins: n = m = 40
     * chi2 = (40*10-40*20)^2/(1600*30) + (40*30-40*20)^2/(1600*50) = 160000/48000 + 160000/80000 = 5.3333 */
    uint64_t h2[10] = {10, 30}, r2[10] = {20, 20};
    set(&h, h2);
    set(&r, r2);
    double p = sw_compare_chi2(&h, &r, &chi2, &ndf);
    CHECK_NEAR(chi2, 16.0 / 3.0, 1e-9);
    CHECK_INT(ndf, 1);
    CHECK_NEAR(p, erfc(sqrt(16.0 / 3.0 / 2.0)), 1e-9); /* Q(1/2, x/2) = erfc(sqrt(x/2)) */
    /* KS on the same: CDFs 0.25/0.5 then 1/1: D = 0.25, n_eff = 20, lambda = sqrt(20)*0.25 */
    p = sw_compare_ks(&h, &r, &d);
    CHECK_NEAR(d, 0.25, 1e-12);
    CHECK_NEAR(p, sw_kolmogorov_q(sqrt(20.0) * 0.25), 1e-12);

    /* a shifted shape is rejected by both */
    uint64_t shifted[10] = {0, 0, 10, 20, 30, 40, 50, 50, 40, 30};
    set(&h, shifted);
    set(&r, twice);
    CHECK(sw_compare_ks(&h, &r, NULL) < 1e-3);
    CHECK(sw_compare_chi2(&h, &r, NULL, NULL) < 1e-6);

    /* channels: reference flat 100 per bin; one dead (3), one hot (900) */
    uint64_t flat[10] = {100, 100, 100, 100, 100, 100, 100, 100, 100, 100};
    uint64_t occ[10] = {100, 3, 100, 100, 900, 100, 100, 100, 100, 100};
    set(&r, flat);
    set(&h, occ);
    CHECK_INT(sw_compare_dead_channels(&h, &r, 0.2), 1);
    CHECK_INT(sw_compare_hot_channels(&h, &r, 5.0), 1);
    CHECK_INT(sw_compare_hot_channels(&h, &r, 10.0), 0);

    /* empty and mismatched inputs */
    sw_hist_clear(&h);
    CHECK(isnan(sw_compare_ks(&h, &r, NULL)));
    CHECK(isnan(sw_compare_chi2(&h, &r, NULL, NULL)));
    CHECK_INT(sw_compare_dead_channels(&h, &r, 0.2), -1);
    struct sw_hist_def other = {.name = "o", .dim = 1, .x = {5, 0, 10}};
    struct sw_hist o;
    sw_hist_init(&o, &other);
    CHECK(isnan(sw_compare_ks(&r, &o, NULL)));
    sw_hist_release(&o);

    /* integral in a window: bins [2,3) .. [4,5) */
    set(&h, a);
    CHECK_NEAR(sw_hist_integral(&h, 2, 5), 30 + 40 + 50, 0);
    CHECK_NEAR(sw_hist_integral(&h, 2.5, 5), 40 + 50, 0); /* a bin partly outside does not count */

    /* channels against the same channel of their peers: 4 groups of 3 channels (12 bins) */
    struct sw_hist_def mods = {.name = "m", .dim = 1, .x = {12, 0, 12}};
    struct sw_hist m;
    sw_hist_init(&m, &mods);
    uint64_t cells[12] = {2, 300, 1, 3, 290, 0, 1, 310, 2, 0, 305, 1};
    memcpy(m.counts, cells, sizeof cells);
    int first;
    CHECK_INT(sw_compare_peer_channels(&m, 3, 0.2, 0, &first),
              0); /* the sparse edge channels are never dead */
    CHECK_INT(first, -1);
    m.counts[7] = 40; /* group 2's beam channel: 40 against a median of 300 */
    CHECK_INT(sw_compare_peer_channels(&m, 3, 0.2, 0, &first), 1);
    CHECK_INT(first, 7);
    m.counts[7] = 310;
    m.counts[3] = 200; /* an edge channel firing: 200 > 20 x max(median 1, 5) */
    CHECK_INT(sw_compare_peer_channels(&m, 3, 20, 1, &first), 1);
    CHECK_INT(first, 3);
    CHECK_INT(sw_compare_peer_channels(&m, 5, 0.2, 0, &first), -1); /* 12 bins are not groups of 5 */
    CHECK_INT(sw_compare_peer_channels(&m, 6, 0.2, 0, &first), -1); /* two groups: no median of peers */
    sw_hist_release(&m);
    sw_hist_release(&h);
    sw_hist_release(&r);
    return CHECK_DONE();
}
