/* sim.c — see sim.h. Physics numbers: docs/physics.md (tags [V] verified, [R] literature,
 * [E] estimate), summarised in docs/simulator.md. */
#include "sim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- defaults; every number cites docs/physics.md (its source key) and its tag ---- */
#define MOT_MEDIAN        3.0e6  /* MOT per spill, simulator default: talk; [E] */
#define MOT_SIGMA         0.12   /* log-normal spill-to-spill spread, "sigma ~ 10-15 %": [E] */
#define PHYS_PER_MOT      1.0e-3 /* physics triggers per MOT, range 3e-4 - 5e-3: [E] */
#define BEAM_FRACTION     0.07   /* prescaled calibration (beam) triggers, 5-10 % of physics: [E] */
#define RANDOM_HZ         5.0    /* random triggers in spill, 1-10 Hz: S7 [V] flag, rate [E] */
#define LED_PER_SPILL     200    /* LED events per spill, 100-500: S7 [V] per-spill LED, count [E] */
#define DEAD_TIME         0.08   /* DAQ dead time, 5-15 % normal: [E]; field S8 [V] */
#define DEAD_TIME_SIGMA   0.01   /* spill-to-spill: [E] */
#define DEAD_TIME_MIN     0.01   /* the spill-to-spill draw is clamped to [0.01, 0.25]: [E] */
#define DEAD_TIME_MAX     0.25
#define SPILL_SIGMA       0.02   /* s, spill length jitter inside the 4.6-5.0 s "normal" band: S5 [V], [E] */
#define P_BEAM            160.0  /* GeV/c, M2 muon beam: S1 [V] */
#define P_SIGMA           6.0    /* GeV/c core width, sigma_p/p ~ 4-5 %: S13 [R] */
#define P_TAIL            0.04   /* low tail 3-5 %, exponential over 100-150 GeV/c: talk [seed] */
#define P_TAIL_SLOPE      12.0   /* GeV/c, exponential slope of that tail: [E] */
#define P_MISSING         0.01   /* p_in not reconstructed (null); reco efficiency ~90 %, 1 % here: [R]/[E] */
#define P_OUT_MISSING     0.02   /* p_out not reconstructed (null): [E] */
#define ION_LOSS          0.5    /* GeV, ionisation loss of a non-interacting muon, 0.3-0.6: [E] */
#define MS2_RESOLUTION    0.04   /* sigma_p/p of MS2, 3-5 %: Sieber et al. PRD 105 [R] */
#define RADIATIVE_FRAC    0.05   /* physics triggers with a radiative loss (p_out 20-150): [E] */
#define SIGMA_X           0.9    /* cm, beam spot at target: talk [seed] */
#define SIGMA_Y           1.9    /* cm: talk [seed] */
#define HALO_FRACTION     0.05   /* flat halo over +-15 cm, "5-20 % touch the vetoes": talk [seed] */
#define HALO_HALF_WIDTH   15.0   /* cm: [E] */
#define VETO_HIT_FRACTION 0.08   /* events with a MIP in a veto: talk [seed], [E] */
#define VETO_MIP          3.0    /* MeV, plastic-scintillator MIP, ~1-4 MeV: talk, [E] */
#define VETO_NOISE        0.2    /* MeV pedestal noise: [E] */
#define ECAL_MPV          0.40   /* GeV, muon MIP in ECAL, MPV 0.3-0.6: [E] */
#define ECAL_SIGMA        0.028  /* GeV Moyal scale, "width ~15 %": [E] */
#define ECAL_TAIL         1.0e-3 /* P(radiative deposit > 5 GeV): [E] */
#define PSH_FRACTION      0.10   /* preshower (~4 X0 of 40) share of the MIP deposit: S6 [V] layout, [E] */
#define ECAL_CELL_NOISE   0.003  /* GeV per cell: [E] */
#define CENTRE_SHARE      0.84   /* share in the hit cell, 4 neighbours 4 % each (a muon track): [E] */
#define VHCAL_NOISE       0.02   /* GeV, "noise sigma ~10-30 MeV": S4 [V] Cu-Sc, [E] */
#define HCAL_MPV          2.4    /* GeV per module, MPV 2-2.5: talk [seed], [E] */
#define HCAL_SIGMA        0.12   /* GeV Moyal scale, ~12 % width: [E] */
#define HCAL_CELL_NOISE   0.04   /* GeV, "cell noise sigma ~30-50 MeV": [E] */
#define HCAL_PED_NOISE    0.04   /* GeV, a module sum at pedestal (hcal_dead): [E] */
#define LED_ECAL_CELL     1.0    /* GeV-equivalent LED amplitude per ECAL cell: [E] */
#define LED_HCAL_CELL     5.0    /* GeV-equivalent LED amplitude per HCAL cell: [E] */
#define S0_MIP            2.5    /* MeV, S0/S1 beam counters, ~1-4 MeV: talk, [E] */
#define S4_MIP            1.5    /* MeV, S4 (histogram range 0-2 MeV in S6 [V]) */
#define SMU_MIP           3.0    /* MeV, Smu: [E] */
#define T_ECAL_SIGMA      1.5    /* ns, t_ecal resolution: [E] */
#define T_HCAL_SIGMA      2.5    /* ns: [E] */
#define RANDOM_MUON       0.30   /* random triggers that catch a muon: [E] */
#define S0_PER_MOT        1.03   /* S0 scaler counts per MOT (S0.S1 coincidence = MOT): [E], this simulator */
#define SMU_PER_PHYS      10.0   /* Smu scaler counts per nominal physics trigger: [E], this simulator */
#define V1_PER_MOT        0.08   /* veto scaler counts per MOT: [E], this simulator's nominal */
#define VM_PER_MOT        0.05   /* Vm1 and Vm2 each: [E], this simulator's nominal */
#define SCALER_NOISE      0.02   /* +-2 % on the veto and Smu scalers: [E] */
#define VETO_HIT_MAX      0.5    /* the veto MIP fraction of a run's tune is at most 0.5: [E] */

/* ---- run-to-run ranges of the nominal levels (sim_conditions_draw): NA64mu run-to-run variation,
 * estimates [E] unless said. Factors are drawn log-uniform, offsets uniform. ---- */
#define RUN_MOT_MIN    1.0e6 /* MOT per spill, set by the SPS and the collimators: talk, [E] */
#define RUN_MOT_MAX    1.0e7
#define RUN_VETO_MIN   0.3 /* common veto factor: the halo depends on the tune */
#define RUN_VETO_MAX   3.0
#define RUN_VETO_EACH  0.1    /* each veto its own factor within 1 +- 0.1 */
#define RUN_PHYS_MIN   3.0e-4 /* physics triggers per MOT: the trigger configuration */
#define RUN_PHYS_MAX   5.0e-3
#define RUN_BEAM_MIN   0.05 /* beam triggers, fraction of the nominal physics rate (uniform) */
#define RUN_BEAM_MAX   0.10
#define RUN_RANDOM_MIN 1.0 /* Hz, random trigger rate (uniform) */
#define RUN_RANDOM_MAX 10.0
#define RUN_P_OFFSET   2.0 /* GeV/c, mean momentum = setting +- 2 (beam file, magnet calibration) */
#define RUN_SIGMA_MIN  0.7 /* beam spot sigma factor, x and y */
#define RUN_SIGMA_MAX  1.3
#define RUN_CENTRE     0.3  /* cm, beam spot centre x and y within +- 0.3 */
#define RUN_DEAD_MIN   0.03 /* nominal dead time (uniform); it grows with the rate */
#define RUN_DEAD_MAX   0.15
#define RUN_SCALE_MIN  0.95 /* ECAL scale and each HCAL module's: +-5 % after a recalibration */
#define RUN_SCALE_MAX  1.05
#define RUN_T_OFFSET   5.0 /* ns, t_ecal and t_hcal offsets within +- 5 after a re-timing */

/* ---- DAQ integrity ---- */
#define DAQ_FLAW_RATE 1.0e-5 /* missing, empty, truncated payloads per built event, each, clean DAQ: [E] */
#define F_DAQ_MISSING 0.05   /* daq_missing: the HCAL front-end missing from 5 % of the events */

/* ---- faults (docs/simulator.md); each relative to the run's own level, the magnitudes of the quality
 * benchmark ---- */
#define F_P_SHIFT      (-10.0) /* beam_momentum, F2: GeV/c on the run's mean */
#define F_INTENSITY    0.1     /* intensity_drop, F3: x the run's MOT */
#define F_DEAD_TIME    0.45    /* dead_time, F7: absolute */
#define F_ECAL_GAIN    0.75    /* ecal_gain, F4: x the run's ECAL scale (-25 %) */
#define F_HALO         3.0     /* halo, F5: veto hits and counts x3 the run's level */
#define F_HALO_WIDTH   1.5     /* halo, F5: beam sigma x1.5 */
#define F_ECAL_T_SHIFT 25.0    /* ecal_timing, F8: ns on the run's offset */
#define F_TRIGGER_LOW  0.2     /* trigger_low: physics triggers per MOT x0.2 */
#define HCAL_DEAD_MOD  2       /* hcal_dead, F1: module index */

const char *const sim_fault_list = "beam_momentum, hcal_dead, intensity_drop, dead_time, ecal_gain, halo, "
                                   "ecal_timing, trigger_low, daq_missing";

static const char *const fault_names[] = {"beam_momentum", "hcal_dead",   "intensity_drop",
                                          "dead_time",     "ecal_gain",   "halo",
                                          "ecal_timing",   "trigger_low", "daq_missing"};

unsigned sim_fault_parse(const char *name)
{
    for (unsigned i = 0; i < sizeof fault_names / sizeof fault_names[0]; i++)
        if (strcmp(name, fault_names[i]) == 0)
            return 1u << i;
    return 0;
}

const char *sim_fault_name(unsigned fault)
{
    for (unsigned i = 0; i < sizeof fault_names / sizeof fault_names[0]; i++)
        if (fault == 1u << i)
            return fault_names[i];
    return "?";
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

/* Landau-like energy loss: Moyal(mpv, sigma), pdf exp(-(z + e^-z)/2)/sqrt(2 pi) with z = (x - mpv)/sigma,
 * whose mode is mpv. With Y = e^-z the density becomes y^-1/2 e^-y/2 / sqrt(2 pi), the chi-square with one
 * degree of freedom: so z = -ln(G^2) for G ~ N(0,1) is exact (the same variable as the inverse-CDF form
 * z = -ln(2 erfcinv(u)^2)), with no root finding. */
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

/* ---- run conditions ---- */

/* x to 4 significant digits, as the nearest double to the decimal (so %.15g prints it back short). */
static double sig4(double x)
{
    if (x == 0 || !isfinite(x))
        return x;
    int e = (int)floor(log10(fabs(x)));
    return e >= 3 ? round(x / pow(10, e - 3)) * pow(10, e - 3) : round(x * pow(10, 3 - e)) / pow(10, 3 - e);
}

static double milli(double x) /* to 1e-3 */
{
    return round(x * 1000) / 1000;
}

static double log_uniform(struct sim_rng *r, double lo, double hi)
{
    return sig4(exp(log(lo) + (log(hi) - log(lo)) * uniform(r)));
}

static double flat(struct sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * uniform(r);
}

static const double veto_base[3] = {V1_PER_MOT, VM_PER_MOT, VM_PER_MOT};

void sim_conditions_nominal(struct sim_conditions *c, double momentum)
{
    memset(c, 0, sizeof *c);
    c->momentum = momentum;
    c->mot = MOT_MEDIAN;
    c->veto_factor = 1;
    for (int i = 0; i < 3; i++) {
        c->veto_each[i] = 1;
        c->veto_per_mot[i] = veto_base[i];
    }
    c->veto_hit_fraction = VETO_HIT_FRACTION;
    c->phys_per_mot = PHYS_PER_MOT;
    c->beam_fraction = BEAM_FRACTION;
    c->random_hz = RANDOM_HZ;
    c->p_mean = momentum;
    c->sigma_factor[0] = c->sigma_factor[1] = 1;
    c->sigma[0] = SIGMA_X;
    c->sigma[1] = SIGMA_Y;
    c->dead_time = DEAD_TIME;
    c->ecal_scale = 1;
    for (int m = 0; m < 4; m++)
        c->hcal_scale[m] = 1;
}

void sim_conditions_draw(struct sim_conditions *c, uint64_t seed, double momentum)
{
    static const double sigma_base[2] = {SIGMA_X, SIGMA_Y};
    struct sim_rng r;
    sim_rng_seed(&r, seed ^ 0x636F6E646974696Full); /* "conditio": apart from any --seed stream */
    sim_conditions_nominal(c, momentum);
    c->seed = seed;
    /* one fixed order of draws: a new quantity goes at the end, so old seeds keep their runs */
    c->mot = log_uniform(&r, RUN_MOT_MIN, RUN_MOT_MAX);
    c->veto_factor = log_uniform(&r, RUN_VETO_MIN, RUN_VETO_MAX);
    for (int i = 0; i < 3; i++) {
        c->veto_each[i] = sig4(flat(&r, 1 - RUN_VETO_EACH, 1 + RUN_VETO_EACH));
        c->veto_per_mot[i] = sig4(veto_base[i] * c->veto_factor * c->veto_each[i]);
    }
    c->veto_hit_fraction = sig4(fmin(VETO_HIT_MAX, VETO_HIT_FRACTION * c->veto_factor));
    c->phys_per_mot = log_uniform(&r, RUN_PHYS_MIN, RUN_PHYS_MAX);
    c->beam_fraction = sig4(flat(&r, RUN_BEAM_MIN, RUN_BEAM_MAX));
    c->random_hz = sig4(flat(&r, RUN_RANDOM_MIN, RUN_RANDOM_MAX));
    c->p_offset = milli(flat(&r, -RUN_P_OFFSET, RUN_P_OFFSET));
    c->p_mean = milli(momentum + c->p_offset);
    for (int i = 0; i < 2; i++) {
        c->sigma_factor[i] = log_uniform(&r, RUN_SIGMA_MIN, RUN_SIGMA_MAX);
        c->sigma[i] = sig4(sigma_base[i] * c->sigma_factor[i]);
        c->centre[i] = milli(flat(&r, -RUN_CENTRE, RUN_CENTRE));
    }
    c->dead_time = round(flat(&r, RUN_DEAD_MIN, RUN_DEAD_MAX) * 1e4) / 1e4;
    c->ecal_scale = log_uniform(&r, RUN_SCALE_MIN, RUN_SCALE_MAX);
    for (int m = 0; m < 4; m++)
        c->hcal_scale[m] = log_uniform(&r, RUN_SCALE_MIN, RUN_SCALE_MAX);
    c->t_ecal = milli(flat(&r, -RUN_T_OFFSET, RUN_T_OFFSET));
    c->t_hcal = milli(flat(&r, -RUN_T_OFFSET, RUN_T_OFFSET));
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

/* A measurement: finite values with 6 significant digits, anything else (not reconstructed) as null. */
static void num(struct sim_buf *b, double v)
{
    if (!isfinite(v))
        sim_buf_printf(b, "null");
    else if (v == 0)
        sim_buf_printf(b, "0");
    else
        sim_buf_printf(b, "%.6g", v);
}

static void reserve(struct sim_buf *b, size_t more)
{
    if (b->len + more < b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 1 << 16;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        abort(); /* as in sim_buf_printf */
    b->p = p;
    b->cap = cap;
}

/* Calorimeter cells are rounded to 1 MeV, the ADC granularity, which keeps the 132 cells of an event
 * short on the wire; written by hand (fixed point, trailing zeros dropped) since printf would dominate
 * the simulator's time. */
static void cell(struct sim_buf *b, double v)
{
    if (!isfinite(v) || fabs(v) > 1e9) {
        num(b, v);
        return;
    }
    long long m = llround(v * 1000);
    reserve(b, 32);
    char *o = b->p + b->len, tmp[24];
    if (m < 0) {
        *o++ = '-';
        m = -m;
    }
    long long whole = m / 1000;
    int frac = (int)(m % 1000), n = 0;
    do {
        tmp[n++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    while (n)
        *o++ = tmp[--n];
    if (frac) {
        *o++ = '.';
        int digits = 3;
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        for (int d = digits - 1; d >= 0; d--) {
            o[d] = (char)('0' + frac % 10);
            frac /= 10;
        }
        o += digits;
    }
    *o = 0;
    b->len = (size_t)(o - b->p);
}

static void arr(struct sim_buf *b, const double *v, int n, int cells)
{
    sim_buf_printf(b, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            sim_buf_printf(b, ",");
        if (cells)
            cell(b, v[i]);
        else
            num(b, v[i]);
    }
    sim_buf_printf(b, "]");
}

/* ---- spills ---- */

static int near_half(double x)
{
    return fabs(x - floor(x) - 0.5) < 1e-6;
}

/* Each spill's DAQ-integrity stream: from the run's seed, the run and the spill alone, so a skipped or
 * faulty spill changes no other spill. */
static void daq_seed(struct sim_rng *d, uint64_t seed, int64_t run, int64_t spill)
{
    uint64_t x = seed ^ 0x6461715F736F7572ull; /* "daq_sour" */
    uint64_t h = splitmix(&x) ^ (uint64_t)run;
    h = splitmix(&h) ^ (uint64_t)spill;
    sim_rng_seed(d, splitmix(&h));
}

void sim_spill_begin(struct sim_rng *r, const struct sim_params *p, struct sim_spill *sp, int64_t run,
                     int64_t spill, unsigned faults)
{
    const struct sim_conditions *c = &p->cond;
    memset(sp, 0, sizeof *sp);
    sp->run = run;
    sp->spill = spill;
    sp->faults = faults;
    sp->duration = round(gauss(r, p->spill_length, SPILL_SIGMA) * 1e4) / 1e4; /* as printed */
    double intensity = p->scale * (faults & FAULT_INTENSITY_DROP ? F_INTENSITY : 1.0);
    sp->mot = (int64_t)llround(c->mot * intensity * exp(gauss(r, 0, MOT_SIGMA)));
    double phys = c->phys_per_mot * (faults & FAULT_TRIGGER_LOW ? F_TRIGGER_LOW : 1.0);
    double mot = (double)sp->mot;
    sp->trig[0] = poisson(r, mot * phys);
    sp->trig[1] = poisson(r, mot * c->phys_per_mot * c->beam_fraction); /* prescaled S0.S1: no Smu input */
    sp->trig[2] = poisson(r, c->random_hz * sp->duration); /* a clock: independent of intensity */
    sp->trig[3] = LED_PER_SPILL;                           /* off-spill calibration sequence */
    double dt = faults & FAULT_DEAD_TIME
                    ? F_DEAD_TIME
                    : fmin(DEAD_TIME_MAX, fmax(DEAD_TIME_MIN, gauss(r, c->dead_time, DEAD_TIME_SIGMA)));
    /* The dead time goes out with 4 decimals and every reader must get the same recorded counts from
     * round(trig * (1 - dead_time)) whatever its rounding rule: quantise it, and step off exact halves. */
    dt = round(dt * 1e4) / 1e4;
    for (int again = 1; again;) {
        again = 0;
        for (int t = 0; t < 4; t++)
            again |= near_half((double)sp->trig[t] * (1 - dt));
        if (again)
            dt = round((dt + 1e-4) * 1e4) / 1e4;
    }
    sp->dead_time = dt;
    for (int t = 0; t < 4; t++) {
        sp->rec[t] = (int64_t)llround((double)sp->trig[t] * (1 - dt));
        sp->left[t] = sp->rec[t];
        sp->recorded += sp->rec[t];
    }
    double halo = faults & FAULT_HALO ? F_HALO : 1.0;
    /* Scalers count hits, not triggers: Smu follows the muons that reach it (the run's nominal physics
     * rate), so a lost trigger input lowers trig_physics but not smu. */
    sp->s0 = (int64_t)llround(mot * S0_PER_MOT + gauss(r, 0, sqrt(mot * S0_PER_MOT)));
    sp->smu = (int64_t)llround(mot * c->phys_per_mot * SMU_PER_PHYS * gauss(r, 1, SCALER_NOISE));
    sp->v1 = (int64_t)llround(mot * c->veto_per_mot[0] * halo * gauss(r, 1, SCALER_NOISE));
    sp->vm1 = (int64_t)llround(mot * c->veto_per_mot[1] * halo * gauss(r, 1, SCALER_NOISE));
    sp->vm2 = (int64_t)llround(mot * c->veto_per_mot[2] * halo * gauss(r, 1, SCALER_NOISE));
    sp->next_event = 1;

    /* what the events are drawn around: the run's levels, moved by the faults */
    double wide = faults & FAULT_HALO ? F_HALO_WIDTH : 1.0;
    sp->x_centre = c->centre[0];
    sp->y_centre = c->centre[1];
    sp->sigma_x = c->sigma[0] * wide;
    sp->sigma_y = c->sigma[1] * wide;
    sp->p_mean = c->p_mean + (faults & FAULT_BEAM_MOMENTUM ? F_P_SHIFT : 0);
    sp->momentum_scale = c->momentum / P_BEAM;
    sp->ecal_gain = c->ecal_scale * (faults & FAULT_ECAL_GAIN ? F_ECAL_GAIN : 1.0);
    for (int m = 0; m < 4; m++)
        sp->hcal_gain[m] = c->hcal_scale[m];
    sp->t_ecal = c->t_ecal + (faults & FAULT_ECAL_TIMING ? F_ECAL_T_SHIFT : 0);
    sp->t_hcal = c->t_hcal;
    sp->veto_hit_fraction = c->veto_hit_fraction * halo;

    /* DAQ integrity: a clean DAQ rarely loses, zero-suppresses or truncates a payload; daq_missing drops
     * the HCAL payload from 5 % of the events. A front-end has at most one flaw per event. */
    daq_seed(&sp->daq_rng, p->seed, run, spill);
    for (int d = 0; d < SIM_DAQ_N; d++) {
        int64_t room = sp->recorded;
        for (int k = 0; k < SIM_DAQ_KINDS; k++) {
            int64_t n = poisson(&sp->daq_rng, DAQ_FLAW_RATE * (double)sp->recorded);
            if (d == SIM_DAQ_HCAL && k == SIM_DAQ_MISSING && faults & FAULT_DAQ_MISSING)
                n = (int64_t)llround(F_DAQ_MISSING * (double)sp->recorded);
            n = n < room ? n : room;
            room -= n;
            sp->daq[d][k] = sp->daq_left[d][k] = n;
        }
    }
}

struct ev {
    int trig;
    double p_in, p_out, x, y, ecal, ecal_psh, vhcal, hcal[4], veto[3], s0, s1, s4, smu, t_ecal, t_hcal;
    double ecal_cells[60], hcal_cells[72]; /* ECAL[section][x 5][y 6], HCAL[module][x 6][y 3] */
};

/* Adds a shower of energy e: CENTRE_SHARE in cell (cx, cy), the rest shared by its up to four neighbours
 * (at an edge the missing share leaks out, as it would). */
static void spread(double *cells, int nx, int ny, int cx, int cy, double e)
{
    static const int d[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
    cells[cx * ny + cy] += CENTRE_SHARE * e;
    for (int k = 0; k < 4; k++) {
        int x = cx + d[k][0], y = cy + d[k][1];
        if (x >= 0 && x < nx && y >= 0 && y < ny)
            cells[x * ny + y] += (1 - CENTRE_SHARE) / 4 * e;
    }
}

/* A fixed LED amplitude per channel (0.9-1.1 of nominal), the same in every run: what a per-channel LED
 * reference is made of. */
static double led_channel(uint64_t channel)
{
    uint64_t x = channel * 0x2545F4914F6CDD1Dull;
    return 0.9 + 0.2 * (double)(splitmix(&x) >> 11) * 0x1.0p-53;
}

static double sum(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s;
}

/* Incoming momentum around the spill's mean: Gaussian core and a low tail, exponential from mean - 10 down,
 * truncated at mean - 60 GeV/c (at 160 GeV/c: 150 down to 100, sampled inside [100, 150] by inversion, so
 * no value piles up at the edge). Widths scale with the beam setting (k = setting / 160 GeV/c). */
static double p_in_sample(struct sim_rng *r, double mean, double k)
{
    double u = uniform(r);
    if (u < P_MISSING)
        return NAN;
    if (u >= P_MISSING + P_TAIL)
        return gauss(r, mean, P_SIGMA * k);
    double cut = 1 - exp(-50 / P_TAIL_SLOPE);
    return mean - 10 * k + P_TAIL_SLOPE * k * log(1 - uniform(r) * cut);
}

static void gen_event(struct sim_rng *r, const struct sim_spill *sp, int trig, struct ev *e)
{
    unsigned f = sp->faults;
    int dead = (f & FAULT_HCAL_DEAD) != 0;
    double gain = sp->ecal_gain; /* a recalibration or an HV/temperature drift hits LED light too */
    memset(e, 0, sizeof *e);
    e->trig = trig;
    e->p_in = e->p_out = e->x = e->y = e->t_ecal = e->t_hcal = NAN;
    /* pedestals everywhere first; a signal adds to them */
    for (int i = 0; i < 60; i++)
        e->ecal_cells[i] = gauss(r, 0, ECAL_CELL_NOISE);
    for (int i = 0; i < 72; i++)
        e->hcal_cells[i] = gauss(r, 0, HCAL_CELL_NOISE);
    e->vhcal = gauss(r, 0, VHCAL_NOISE);
    for (int i = 0; i < 3; i++)
        e->veto[i] = gauss(r, 0, VETO_NOISE);
    e->s0 = gauss(r, 0, VETO_NOISE);
    e->s1 = gauss(r, 0, VETO_NOISE);
    e->s4 = gauss(r, 0, VETO_NOISE);
    e->smu = gauss(r, 0, VETO_NOISE);

    int muon = trig == 0 || trig == 1 || (trig == 2 && uniform(r) < RANDOM_MUON);
    if (trig == 3 || !muon) {
        if (trig == 3) { /* LED: light into every calorimeter cell, no beam */
            for (int i = 0; i < 60; i++)
                e->ecal_cells[i] += gain * LED_ECAL_CELL * led_channel((uint64_t)i) * gauss(r, 1, 0.01);
            for (int i = 0; i < 72; i++)
                if (!(dead && i / 18 == HCAL_DEAD_MOD))
                    e->hcal_cells[i] += sp->hcal_gain[i / 18] * LED_HCAL_CELL *
                                        led_channel(1000 + (uint64_t)i) * gauss(r, 1, 0.01);
        }
        e->ecal_psh = sum(e->ecal_cells, 30);
        e->ecal = sum(e->ecal_cells, 60);
        for (int m = 0; m < 4; m++)
            e->hcal[m] = sum(e->hcal_cells + 18 * m, 18);
        return;
    }

    double k = sp->momentum_scale;
    e->p_in = p_in_sample(r, sp->p_mean, k);
    /* outgoing: ionisation loss, MS2 resolution; physics triggers select radiative losses */
    double pin = isfinite(e->p_in) ? e->p_in : sp->p_mean;
    if (uniform(r) < P_OUT_MISSING)
        e->p_out = NAN;
    else if (trig == 0 && uniform(r) < RADIATIVE_FRAC)
        e->p_out = k * (20 + 130 * uniform(r));
    else
        e->p_out = gauss(r, pin - ION_LOSS, MS2_RESOLUTION * pin);

    double halo = HALO_FRACTION * (f & FAULT_HALO ? F_HALO : 1);
    if (uniform(r) < halo) {
        e->x = HALO_HALF_WIDTH * (2 * uniform(r) - 1);
        e->y = HALO_HALF_WIDTH * (2 * uniform(r) - 1);
    } else {
        e->x = gauss(r, sp->x_centre, sp->sigma_x);
        e->y = gauss(r, sp->y_centre, sp->sigma_y);
    }

    /* ECAL (the active target): MIP, or rarely a radiative deposit, 1/E-distributed over 5-50 GeV */
    double ecal = uniform(r) < ECAL_TAIL ? 5 * pow(10, uniform(r)) : moyal(r, ECAL_MPV, ECAL_SIGMA);
    double psh = moyal(r, PSH_FRACTION * ECAL_MPV, PSH_FRACTION * ECAL_SIGMA);
    if (psh > ecal)
        psh = ecal;
    e->ecal = gain * ecal;
    e->ecal_psh = gain * psh;
    spread(e->ecal_cells, 5, 6, 2, 3, e->ecal_psh);                /* preshower: cells 0-29 */
    spread(e->ecal_cells + 30, 5, 6, 2, 3, e->ecal - e->ecal_psh); /* main section: cells 30-59 */

    for (int m = 0; m < 4; m++) {
        if (dead && m == HCAL_DEAD_MOD) { /* HV trip: pedestal only, cells keep their noise */
            e->hcal[m] = gauss(r, 0, HCAL_PED_NOISE);
            continue;
        }
        e->hcal[m] = sp->hcal_gain[m] * moyal(r, HCAL_MPV, HCAL_SIGMA);
        spread(e->hcal_cells + 18 * m, 6, 3, 2, 1, e->hcal[m]);
    }

    for (int i = 0; i < 3; i++)
        if (uniform(r) < sp->veto_hit_fraction)
            e->veto[i] += moyal(r, VETO_MIP, 0.1 * VETO_MIP);
    e->s0 = moyal(r, S0_MIP, 0.08 * S0_MIP);
    e->s1 = moyal(r, S0_MIP, 0.08 * S0_MIP);
    e->s4 = moyal(r, S4_MIP, 0.1 * S4_MIP);
    if (trig == 0) /* Smu is in the physics trigger only */
        e->smu = moyal(r, SMU_MIP, 0.1 * SMU_MIP);
    e->t_ecal = gauss(r, sp->t_ecal, T_ECAL_SIGMA);
    e->t_hcal = gauss(r, sp->t_hcal, T_HCAL_SIGMA);
}

static void set_all(double *v, int n, double x)
{
    for (int i = 0; i < n; i++)
        v[i] = x;
}

/* One front-end's payload flawed in event e: missing or truncated (the decoder drops it) leaves its
 * values null; empty (every channel zero-suppressed) leaves amplitudes 0 and tracks and times null. */
static void daq_flaw(struct ev *e, int d, int kind)
{
    double a = kind == SIM_DAQ_EMPTY ? 0 : NAN; /* an amplitude */
    switch (d) {
    case SIM_DAQ_BEAM: /* beam and trigger counters */
        e->s0 = e->s1 = e->s4 = e->smu = a;
        break;
    case SIM_DAQ_MS1: /* upstream spectrometer and trackers: incoming track */
        e->p_in = e->x = e->y = NAN;
        break;
    case SIM_DAQ_MS2:
        e->p_out = NAN;
        break;
    case SIM_DAQ_ECAL:
        e->ecal = e->ecal_psh = a;
        set_all(e->ecal_cells, 60, a);
        e->t_ecal = NAN;
        break;
    case SIM_DAQ_HCAL:
        set_all(e->hcal, 4, a);
        set_all(e->hcal_cells, 72, a);
        e->t_hcal = NAN;
        break;
    case SIM_DAQ_VHCAL:
        e->vhcal = a;
        break;
    default:
        set_all(e->veto, 3, a);
        break;
    }
}

/* Places the spill's payload flaws: each front-end's flawed events are a random subset of the spill
 * (drawn without replacement: remaining counts the events not generated yet, e included), so the counts
 * of spill_end are exact. */
static void daq_place(struct sim_spill *sp, int64_t remaining, struct ev *e)
{
    for (int d = 0; d < SIM_DAQ_N; d++) {
        int64_t *left = sp->daq_left[d], n = left[0] + left[1] + left[2];
        if (n == 0)
            continue;
        int64_t u = (int64_t)(uniform(&sp->daq_rng) * (double)remaining);
        for (int kind = 0; kind < SIM_DAQ_KINDS; u -= left[kind], kind++)
            if (u < left[kind]) {
                left[kind]--;
                daq_flaw(e, d, kind);
                break;
            }
    }
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

static const char *const array_names[] = {"hcal", "veto", "ecal_cells", "hcal_cells"};
#define NARRAYS 4

static void array_out(struct sim_buf *b, const struct ev *e, int k)
{
    if (k == 0)
        arr(b, e->hcal, 4, 0);
    else if (k == 1)
        arr(b, e->veto, 3, 0);
    else if (k == 2)
        arr(b, e->ecal_cells, 60, 1);
    else
        arr(b, e->hcal_cells, 72, 1);
}

int64_t sim_events(struct sim_rng *r, struct sim_spill *sp, struct sim_buf *b, int64_t n, int columns)
{
    int64_t left = sp->left[0] + sp->left[1] + sp->left[2] + sp->left[3];
    if (n > left)
        n = left;
    if (n <= 0)
        return 0;
    struct ev *evs = malloc((size_t)n * sizeof *evs);
    if (!evs)
        abort(); /* as in sim_buf_printf */
    int64_t first = sp->next_event;
    for (int64_t i = 0; i < n; i++) {
        int64_t remaining = sp->left[0] + sp->left[1] + sp->left[2] + sp->left[3];
        gen_event(r, sp, pick_trigger(r, sp), &evs[i]);
        daq_place(sp, remaining, &evs[i]);
    }
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
            for (int k = 0; k < NARRAYS; k++) {
                sim_buf_printf(b, ",\"%s\":", array_names[k]);
                array_out(b, e, k);
            }
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
        for (int k = 0; k < NARRAYS; k++) {
            sim_buf_printf(b, "],\"%s\":[", array_names[k]);
            for (int64_t i = 0; i < n; i++) {
                if (i)
                    sim_buf_printf(b, ",");
                array_out(b, &evs[i], k);
            }
        }
        sim_buf_printf(b, "]}}\n");
    }
    free(evs);
    return n;
}

static const char *const daq_names[SIM_DAQ_N] = {"BEAM", "MS1", "MS2", "ECAL", "HCAL", "VHCAL", "VETO"};

void sim_spill_end(const struct sim_spill *sp, struct sim_buf *b, double time, int daq_sources)
{
    sim_buf_printf(
        b,
        "{\"type\":\"spill_end\",\"run\":%lld,\"spill\":%lld,\"time\":%.3f,\"duration\":%.4f,"
        "\"dead_time\":%.4f,\"decode_errors\":0,\"counters\":{\"mot\":%lld,\"s0\":%lld,\"smu\":%lld,"
        "\"v1\":%lld,\"vm1\":%lld,\"vm2\":%lld,\"trig_physics\":%lld,\"trig_beam\":%lld,"
        "\"trig_random\":%lld,\"trig_led\":%lld,\"recorded\":%lld}",
        (long long)sp->run, (long long)sp->spill, time, sp->duration, sp->dead_time, (long long)sp->mot,
        (long long)sp->s0, (long long)sp->smu, (long long)sp->v1, (long long)sp->vm1, (long long)sp->vm2,
        (long long)sp->trig[0], (long long)sp->trig[1], (long long)sp->trig[2], (long long)sp->trig[3],
        (long long)sp->recorded);
    if (daq_sources) {
        sim_buf_printf(b, ",\"daq_sources\":{");
        for (int d = 0; d < SIM_DAQ_N; d++)
            sim_buf_printf(b, "%s\"%s\":{\"events\":%lld,\"missing\":%lld,\"empty\":%lld,\"truncated\":%lld}",
                           d ? "," : "", daq_names[d], (long long)sp->recorded,
                           (long long)sp->daq[d][SIM_DAQ_MISSING], (long long)sp->daq[d][SIM_DAQ_EMPTY],
                           (long long)sp->daq[d][SIM_DAQ_TRUNCATED]);
        sim_buf_printf(b, "}");
    }
    sim_buf_printf(b, "}\n");
}
