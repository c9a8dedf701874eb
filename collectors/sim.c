/* sim.c — see sim.h. Physics numbers: ../shared/NA64MU.md (tags [V] verified, [R] literature,
 * [E] estimate), summarised in docs/simulator.md. */
#include "sim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- defaults ---- */
#define MOT_MEDIAN        3.0e6  /* MOT per spill, simulator default (NA64MU.md (a), talk; [E]) */
#define MOT_SIGMA         0.12   /* log-normal spill-to-spill spread 10-15 % ([E]) */
#define PHYS_PER_MOT      1.0e-3 /* physics triggers per MOT ([E]) */
#define BEAM_FRACTION     0.07   /* prescaled calibration triggers, 5-10 % of physics ([E]) */
#define RANDOM_HZ         5.0    /* random triggers in spill, 1-10 Hz ([E]) */
#define LED_PER_SPILL     200    /* LED/pedestal events per spill, 100-500 (S7 [V] for per-spill LED) */
#define DEAD_TIME         0.08   /* 5-15 % normal ([E]; field in S8 [V]) */
#define P_BEAM            160.0  /* GeV/c, M2 muon beam (S1 [V]) */
#define P_SIGMA           6.0    /* core width; sigma_p/p ~ 4-5 % ([R] S13) */
#define P_TAIL            0.04   /* 3-5 % low tail over 100-150 GeV/c (talk) */
#define P_MISSING         0.01   /* tracks not reconstructed: value null */
#define SIGMA_X           0.9    /* cm, beam spot at target (talk) */
#define SIGMA_Y           1.9
#define HALO_FRACTION     0.05 /* flat halo over +-15 cm (5-20 % touch the vetoes, talk) */
#define VETO_HIT_FRACTION 0.08
#define ECAL_MPV          0.40  /* GeV, muon MIP in ECAL (NA64MU.md: 0.3-0.6, [E]) */
#define ECAL_SIGMA        0.028 /* Moyal scale: ~15 % width */
#define HCAL_MPV          2.4   /* GeV per module (talk: 2.5; [E] 1.8-2.5) */
#define HCAL_SIGMA        0.12
#define T_ECAL_SIGMA      1.5 /* ns */
#define T_HCAL_SIGMA      2.5
#define V1_PER_MOT        0.08 /* veto scaler counts per MOT (this simulator's nominal) */
#define VM_PER_MOT        0.05

const char *const sim_fault_list =
    "beam_momentum, hcal_dead, intensity_drop, dead_time, ecal_gain, halo, ecal_timing, trigger_low";

static const char *const fault_names[] = {"beam_momentum", "hcal_dead", "intensity_drop", "dead_time",
                                          "ecal_gain",     "halo",      "ecal_timing",    "trigger_low"};

unsigned sim_fault_parse(const char *name)
{
    for (unsigned i = 0; i < sizeof fault_names / sizeof fault_names[0]; i++)
        if (strcmp(name, fault_names[i]) == 0)
            return 1u << i;
    return 0;
}

void sim_fault_names(unsigned faults, char *buf, size_t len)
{
    buf[0] = 0;
    for (unsigned i = 0; i < sizeof fault_names / sizeof fault_names[0]; i++)
        if (faults & (1u << i)) {
            size_t l = strlen(buf);
            snprintf(buf + l, len - l, "%s%s", l ? "," : "", fault_names[i]);
        }
}

/* ---- random numbers: xoshiro256** seeded by splitmix64 ---- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
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

static double uniform(struct sim_rng *r) /* (0, 1) */
{
    return ((double)(next(r) >> 11) + 0.5) * 0x1.0p-53;
}

static double gauss(struct sim_rng *r, double mu, double sigma)
{
    return mu + sigma * sqrt(-2 * log(uniform(r))) * cos(2 * M_PI * uniform(r));
}

/* Landau-like energy loss: Moyal(mpv, sigma). If G ~ N(0,1) then -ln(G^2) is Moyal with mode 0. */
static double moyal(struct sim_rng *r, double mpv, double sigma)
{
    double g = gauss(r, 0, 1);
    return mpv - sigma * log(g * g + 1e-300);
}

static int64_t poisson(struct sim_rng *r, double mean)
{
    if (mean <= 0)
        return 0;
    if (mean > 50) {
        double x = gauss(r, mean, sqrt(mean));
        return x < 0 ? 0 : (int64_t)llround(x);
    }
    double l = exp(-mean), p = 1;
    int64_t k = 0;
    do {
        k++;
        p *= uniform(r);
    } while (p > l);
    return k - 1;
}

/* ---- text ---- */

void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            abort();
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            abort(); /* a simulator out of memory has nothing better to do */
        b->p = p;
        b->cap = cap;
    }
}

void sim_buf_clear(struct sim_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

void sim_buf_release(struct sim_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void num(struct sim_buf *b, double v)
{
    if (isnan(v))
        sim_buf_printf(b, "null");
    else if (v == 0)
        sim_buf_printf(b, "0");
    else
        sim_buf_printf(b, "%.5g", v);
}

static void arr(struct sim_buf *b, const double *v, int n)
{
    sim_buf_printf(b, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            sim_buf_printf(b, ",");
        num(b, v[i]);
    }
    sim_buf_printf(b, "]");
}

/* ---- spills ---- */

void sim_spill_begin(struct sim_rng *r, const struct sim_params *p, struct sim_spill *sp, int64_t run,
                     int64_t spill, unsigned faults)
{
    memset(sp, 0, sizeof *sp);
    sp->run = run;
    sp->spill = spill;
    sp->faults = faults;
    sp->duration = gauss(r, p->spill_length, 0.02);
    double intensity = p->scale * (faults & FAULT_INTENSITY_DROP ? 0.1 : 1.0);
    sp->mot = (int64_t)llround(MOT_MEDIAN * intensity * exp(gauss(r, 0, MOT_SIGMA)));
    double phys = PHYS_PER_MOT * (faults & FAULT_TRIGGER_LOW ? 0.3 : 1.0);
    sp->trig[0] = poisson(r, (double)sp->mot * phys);
    sp->trig[1] = poisson(r, (double)sp->mot * PHYS_PER_MOT * BEAM_FRACTION);
    sp->trig[2] = poisson(r, RANDOM_HZ * sp->duration);
    sp->trig[3] = LED_PER_SPILL;
    sp->dead_time = faults & FAULT_DEAD_TIME ? 0.45 : fmin(0.2, fmax(0.02, gauss(r, DEAD_TIME, 0.01)));
    for (int t = 0; t < 4; t++) {
        sp->rec[t] = (int64_t)llround((double)sp->trig[t] * (1 - sp->dead_time));
        sp->left[t] = sp->rec[t];
        sp->recorded += sp->rec[t];
    }
    double halo = faults & FAULT_HALO ? 3.0 : 1.0;
    sp->s0 = (int64_t)llround((double)sp->mot * 1.03 * gauss(r, 1, 0.005));
    sp->smu = (int64_t)llround((double)sp->trig[0] * 10 * gauss(r, 1, 0.02));
    sp->v1 = (int64_t)llround((double)sp->mot * V1_PER_MOT * halo * gauss(r, 1, 0.02));
    sp->vm1 = (int64_t)llround((double)sp->mot * VM_PER_MOT * halo * gauss(r, 1, 0.02));
    sp->vm2 = (int64_t)llround((double)sp->mot * VM_PER_MOT * halo * gauss(r, 1, 0.02));
    sp->next_event = 1;
}

struct ev {
    int trig;
    double p_in, p_out, x, y, ecal, ecal_psh, vhcal, hcal[4], veto[3], s0, s1, s4, smu, t_ecal, t_hcal;
    double ecal_cells[60], hcal_cells[72];
};

/* Shares of a deposit: 70 % in the central cell, the rest in up to four neighbours. */
static void spread(double *cells, int nx, int ny, int cx, int cy, double e)
{
    static const int d[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
    cells[cx * ny + cy] += 0.70 * e;
    for (int k = 0; k < 4; k++) {
        int x = cx + d[k][0], y = cy + d[k][1];
        if (x >= 0 && x < nx && y >= 0 && y < ny)
            cells[x * ny + y] += 0.075 * e;
    }
}

static void gen_event(struct sim_rng *r, const struct sim_spill *sp, int trig, struct ev *e)
{
    unsigned f = sp->faults;
    memset(e, 0, sizeof *e);
    e->trig = trig;
    int muon = trig == 0 || trig == 1 || (trig == 2 && uniform(r) < 0.3);
    double nan = NAN;
    e->p_in = e->p_out = e->x = e->y = e->t_ecal = e->t_hcal = nan;
    if (trig == 3) { /* LED: light into every calorimeter cell, no beam */
        for (int i = 0; i < 60; i++)
            e->ecal_cells[i] = gauss(r, 0.5, 0.01);
        for (int i = 0; i < 72; i++)
            e->hcal_cells[i] = gauss(r, 5.0 / 18, 0.005);
        e->ecal = 30;
        e->ecal_psh = 15;
        for (int m = 0; m < 4; m++)
            e->hcal[m] = 5.0;
        e->vhcal = gauss(r, 0, 0.02);
        e->veto[0] = e->veto[1] = e->veto[2] = gauss(r, 0, 0.2);
        e->s0 = e->s1 = e->s4 = e->smu = gauss(r, 0, 0.2);
        return;
    }
    if (!muon) { /* random trigger on an empty bunch: pedestals */
        e->ecal = gauss(r, 0, 0.01);
        e->ecal_psh = gauss(r, 0, 0.003);
        e->vhcal = gauss(r, 0, 0.02);
        for (int m = 0; m < 4; m++)
            e->hcal[m] = gauss(r, 0, 0.04);
        for (int i = 0; i < 3; i++)
            e->veto[i] = gauss(r, 0, 0.2);
        e->s0 = e->s1 = e->s4 = e->smu = gauss(r, 0, 0.2);
        return;
    }
    /* incoming momentum: Gaussian core, exponential low tail, a few tracks not reconstructed */
    double pshift = f & FAULT_BEAM_MOMENTUM ? -10 : 0;
    double u = uniform(r);
    if (u < P_MISSING)
        e->p_in = nan;
    else if (u < P_MISSING + P_TAIL)
        e->p_in = fmax(100, 150 + pshift + 12 * log(uniform(r)));
    else
        e->p_in = gauss(r, P_BEAM + pshift, P_SIGMA);
    /* outgoing: ionisation loss ~0.5 GeV, MS2 resolution 4 %; physics triggers have radiative losses */
    double pin = isnan(e->p_in) ? P_BEAM + pshift : e->p_in;
    if (uniform(r) < 0.02)
        e->p_out = nan;
    else if (trig == 0 && uniform(r) < 0.05)
        e->p_out = 20 + 130 * uniform(r);
    else
        e->p_out = gauss(r, pin - 0.5, 0.04 * pin);
    double wide = f & FAULT_HALO ? 1.5 : 1.0;
    double halo = HALO_FRACTION * (f & FAULT_HALO ? 3 : 1);
    if (uniform(r) < halo) {
        e->x = -15 + 30 * uniform(r);
        e->y = -15 + 30 * uniform(r);
    } else {
        e->x = gauss(r, 0, SIGMA_X * wide);
        e->y = gauss(r, 0, SIGMA_Y * wide);
    }
    double gain = f & FAULT_ECAL_GAIN ? 0.80 : 1.0;
    double ecal = uniform(r) < 1e-3 ? 5 + 45 * uniform(r) : moyal(r, ECAL_MPV, ECAL_SIGMA);
    double psh = moyal(r, 0.1 * ECAL_MPV, 0.1 * ECAL_SIGMA);
    e->ecal = gain * ecal;
    e->ecal_psh = gain * psh;
    spread(e->ecal_cells, 5, 6, 2, 3, e->ecal_psh);                /* preshower: cells 0-29 */
    spread(e->ecal_cells + 30, 5, 6, 2, 3, e->ecal - e->ecal_psh); /* main section: cells 30-59 */
    e->vhcal = gauss(r, 0, 0.02);
    for (int m = 0; m < 4; m++) {
        double em = (f & FAULT_HCAL_DEAD) && m == 2 ? gauss(r, 0, 0.04) : moyal(r, HCAL_MPV, HCAL_SIGMA);
        e->hcal[m] = em;
        if (!((f & FAULT_HCAL_DEAD) && m == 2))
            spread(e->hcal_cells + 18 * m, 6, 3, 2, 1, em);
    }
    double vfrac = VETO_HIT_FRACTION * (f & FAULT_HALO ? 3 : 1);
    for (int i = 0; i < 3; i++)
        e->veto[i] = uniform(r) < vfrac ? moyal(r, 3.0, 0.3) : gauss(r, 0, 0.2);
    e->s0 = moyal(r, 2.5, 0.2);
    e->s1 = moyal(r, 2.5, 0.2);
    e->s4 = moyal(r, 1.5, 0.15);
    e->smu = trig == 0 ? moyal(r, 3.0, 0.3) : gauss(r, 0, 0.2);
    e->t_ecal = gauss(r, f & FAULT_ECAL_TIMING ? 25 : 0, T_ECAL_SIGMA);
    e->t_hcal = gauss(r, 0, T_HCAL_SIGMA);
}

static const char *const trig_names[4] = {"physics", "beam", "random", "led"};

/* In-spill triggers interleaved in proportion to what is left; LED (off-spill) last. */
static int pick_trigger(struct sim_rng *r, struct sim_spill *sp)
{
    int64_t in = sp->left[0] + sp->left[1] + sp->left[2];
    int t = 3;
    if (in > 0) {
        int64_t k = (int64_t)(uniform(r) * (double)in);
        t = k < sp->left[0] ? 0 : k < sp->left[0] + sp->left[1] ? 1 : 2;
    }
    sp->left[t]--;
    return t;
}

static double scalar(const struct ev *e, int i)
{
    const double v[] = {e->p_in, e->p_out, e->x,  e->y,   e->ecal,   e->ecal_psh, e->vhcal,
                        e->s0,   e->s1,    e->s4, e->smu, e->t_ecal, e->t_hcal};
    return v[i];
}

static const char *const scalar_names[] = {"p_in", "p_out", "x_tgt", "y_tgt", "ecal",   "ecal_psh", "vhcal",
                                           "s0",   "s1",    "s4",    "smu",   "t_ecal", "t_hcal"};
#define NSCALARS 13

int64_t sim_events(struct sim_rng *r, struct sim_spill *sp, struct sim_buf *b, int64_t n, int columns)
{
    int64_t left = sp->left[0] + sp->left[1] + sp->left[2] + sp->left[3];
    if (n > left)
        n = left;
    if (n <= 0)
        return 0;
    struct ev *evs = malloc((size_t)n * sizeof *evs);
    if (!evs)
        abort();
    int64_t first = sp->next_event;
    for (int64_t i = 0; i < n; i++)
        gen_event(r, sp, pick_trigger(r, sp), &evs[i]);
    sp->next_event += n;
    if (!columns) {
        for (int64_t i = 0; i < n; i++) {
            const struct ev *e = &evs[i];
            sim_buf_printf(
                b, "{\"type\":\"event\",\"run\":%lld,\"spill\":%lld,\"event\":%lld,\"trigger\":\"%s\"",
                (long long)sp->run, (long long)sp->spill, (long long)(first + i), trig_names[e->trig]);
            for (int k = 0; k < NSCALARS; k++) {
                sim_buf_printf(b, ",\"%s\":", scalar_names[k]);
                num(b, scalar(e, k));
            }
            sim_buf_printf(b, ",\"hcal\":");
            arr(b, e->hcal, 4);
            sim_buf_printf(b, ",\"veto\":");
            arr(b, e->veto, 3);
            sim_buf_printf(b, ",\"ecal_cells\":");
            arr(b, e->ecal_cells, 60);
            sim_buf_printf(b, ",\"hcal_cells\":");
            arr(b, e->hcal_cells, 72);
            sim_buf_printf(b, "}\n");
        }
    } else {
        sim_buf_printf(b, "{\"type\":\"events\",\"run\":%lld,\"spill\":%lld,\"columns\":{\"event\":[",
                       (long long)sp->run, (long long)sp->spill);
        for (int64_t i = 0; i < n; i++)
            sim_buf_printf(b, "%s%lld", i ? "," : "", (long long)(first + i));
        sim_buf_printf(b, "],\"trigger\":[");
        for (int64_t i = 0; i < n; i++)
            sim_buf_printf(b, "%s\"%s\"", i ? "," : "", trig_names[evs[i].trig]);
        for (int k = 0; k < NSCALARS; k++) {
            sim_buf_printf(b, "],\"%s\":[", scalar_names[k]);
            for (int64_t i = 0; i < n; i++) {
                if (i)
                    sim_buf_printf(b, ",");
                num(b, scalar(&evs[i], k));
            }
        }
        static const char *const arrays[] = {"hcal", "veto", "ecal_cells", "hcal_cells"};
        for (int k = 0; k < 4; k++) {
            sim_buf_printf(b, "],\"%s\":[", arrays[k]);
            for (int64_t i = 0; i < n; i++) {
                const struct ev *e = &evs[i];
                if (i)
                    sim_buf_printf(b, ",");
                if (k == 0)
                    arr(b, e->hcal, 4);
                else if (k == 1)
                    arr(b, e->veto, 3);
                else if (k == 2)
                    arr(b, e->ecal_cells, 60);
                else
                    arr(b, e->hcal_cells, 72);
            }
        }
        sim_buf_printf(b, "]}}\n");
    }
    free(evs);
    return n;
}

void sim_spill_end(const struct sim_spill *sp, struct sim_buf *b, double time)
{
    sim_buf_printf(
        b,
        "{\"type\":\"spill_end\",\"run\":%lld,\"spill\":%lld,\"time\":%.3f,\"duration\":%.4f,"
        "\"dead_time\":%.4f,\"decode_errors\":0,\"counters\":{\"mot\":%lld,\"s0\":%lld,\"smu\":%lld,"
        "\"v1\":%lld,\"vm1\":%lld,\"vm2\":%lld,\"trig_physics\":%lld,\"trig_beam\":%lld,"
        "\"trig_random\":%lld,\"trig_led\":%lld,\"recorded\":%lld}}\n",
        (long long)sp->run, (long long)sp->spill, time, sp->duration, sp->dead_time, (long long)sp->mot,
        (long long)sp->s0, (long long)sp->smu, (long long)sp->v1, (long long)sp->vm1, (long long)sp->vm2,
        (long long)sp->trig[0], (long long)sp->trig[1], (long long)sp->trig[2], (long long)sp->trig[3],
        (long long)sp->recorded);
}
