/* sim_rng.c — the simulator's random numbers (see sim.h, sim_int.h): xoshiro256** seeded by
 * splitmix64, and the distributions the simulator draws from. Single-threaded: a struct sim_rng
 * belongs to its caller. */
#include "sim_int.h"

#include <math.h>

uint64_t sim_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = sim_splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next(struct sim_rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

double sim_uniform(struct sim_rng *r) /* (0, 1) */
{
    return ((double)(next(r) >> 11) + 0.5) * 0x1.0p-53;
}

double sim_gauss(struct sim_rng *r, double mu, double sigma)
{
    return mu + sigma * sqrt(-2 * log(sim_uniform(r))) * cos(2 * M_PI * sim_uniform(r));
}

/* Landau-like energy loss: Moyal(mpv, sigma), pdf exp(-(z + e^-z)/2)/sqrt(2 pi) with z = (x - mpv)/sigma,
 * whose mode is mpv. With Y = e^-z the density becomes y^-1/2 e^-y/2 / sqrt(2 pi), the chi-square with one
 * degree of freedom: so z = -ln(G^2) for G ~ N(0,1) is exact (the same variable as the inverse-CDF form
 * z = -ln(2 erfcinv(u)^2)), with no root finding. */
double sim_moyal(struct sim_rng *r, double mpv, double sigma)
{
    double g = sim_gauss(r, 0, 1);
    return mpv - sigma * log(g * g + 1e-300);
}

int64_t sim_poisson(struct sim_rng *r, double mean)
{
    if (mean <= 0)
        return 0;
    if (mean > 50) {
        double x = sim_gauss(r, mean, sqrt(mean));
        return x < 0 ? 0 : (int64_t)llround(x);
    }
    double l = exp(-mean), p = 1;
    int64_t k = 0;
    do {
        k++;
        p *= sim_uniform(r);
    } while (p > l);
    return k - 1;
}
