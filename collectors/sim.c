/* sim.c — see sim.h: the faults, the spill-level numbers of a spill and its events. Physics
 * numbers: docs/physics.md (tags [V] verified, [R] literature, [E] estimate), summarised in
 * docs/simulator.md; the defaults are in sim_int.h. Random numbers: sim_rng.c; run conditions:
 * sim_cond.c; the records as text: sim_text.c. */
#include "sim_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    uint64_t h = sim_splitmix(&x) ^ (uint64_t)run;
    h = sim_splitmix(&h) ^ (uint64_t)spill;
    sim_rng_seed(d, sim_splitmix(&h));
}

void sim_spill_begin(struct sim_rng *r, const struct sim_params *p, struct sim_spill *sp, int64_t run,
                     int64_t spill, unsigned faults)
{
    const struct sim_conditions *c = &p->cond;
    memset(sp, 0, sizeof *sp);
    sp->run = run;
    sp->spill = spill;
    sp->faults = faults;
    sp->duration = round(sim_gauss(r, p->spill_length, SPILL_SIGMA) * 1e4) / 1e4; /* as printed */
    double intensity = p->scale * (faults & FAULT_INTENSITY_DROP ? F_INTENSITY : 1.0);
    sp->mot = (int64_t)llround(c->mot * intensity * exp(sim_gauss(r, 0, MOT_SIGMA)));
    double phys = c->phys_per_mot * (faults & FAULT_TRIGGER_LOW ? F_TRIGGER_LOW : 1.0);
    double mot = (double)sp->mot;
    sp->trig[0] = sim_poisson(r, mot * phys);
    sp->trig[1] =
        sim_poisson(r, mot * c->phys_per_mot * c->beam_fraction); /* prescaled S0.S1: no Smu input */
    sp->trig[2] = sim_poisson(r, c->random_hz * sp->duration);    /* a clock: independent of intensity */
    sp->trig[3] = LED_PER_SPILL;                                  /* off-spill calibration sequence */
    double dt = faults & FAULT_DEAD_TIME
                    ? F_DEAD_TIME
                    : fmin(DEAD_TIME_MAX, fmax(DEAD_TIME_MIN, sim_gauss(r, c->dead_time, DEAD_TIME_SIGMA)));
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
    sp->s0 = (int64_t)llround(mot * S0_PER_MOT + sim_gauss(r, 0, sqrt(mot * S0_PER_MOT)));
    sp->smu = (int64_t)llround(mot * c->phys_per_mot * SMU_PER_PHYS * sim_gauss(r, 1, SCALER_NOISE));
    sp->v1 = (int64_t)llround(mot * c->veto_per_mot[0] * halo * sim_gauss(r, 1, SCALER_NOISE));
    sp->vm1 = (int64_t)llround(mot * c->veto_per_mot[1] * halo * sim_gauss(r, 1, SCALER_NOISE));
    sp->vm2 = (int64_t)llround(mot * c->veto_per_mot[2] * halo * sim_gauss(r, 1, SCALER_NOISE));
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
            int64_t n = sim_poisson(&sp->daq_rng, DAQ_FLAW_RATE * (double)sp->recorded);
            if (d == SIM_DAQ_HCAL && k == SIM_DAQ_MISSING && faults & FAULT_DAQ_MISSING)
                n = (int64_t)llround(F_DAQ_MISSING * (double)sp->recorded);
            n = n < room ? n : room;
            room -= n;
            sp->daq[d][k] = sp->daq_left[d][k] = n;
        }
    }
}

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
    return 0.9 + 0.2 * (double)(sim_splitmix(&x) >> 11) * 0x1.0p-53;
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
    double u = sim_uniform(r);
    if (u < P_MISSING)
        return NAN;
    if (u >= P_MISSING + P_TAIL)
        return sim_gauss(r, mean, P_SIGMA * k);
    double cut = 1 - exp(-50 / P_TAIL_SLOPE);
    return mean - 10 * k + P_TAIL_SLOPE * k * log(1 - sim_uniform(r) * cut);
}

static void gen_event(struct sim_rng *r, const struct sim_spill *sp, int trig, struct sim_ev *e)
{
    unsigned f = sp->faults;
    int dead = (f & FAULT_HCAL_DEAD) != 0;
    double gain = sp->ecal_gain; /* a recalibration or an HV/temperature drift hits LED light too */
    memset(e, 0, sizeof *e);
    e->trig = trig;
    e->p_in = e->p_out = e->x = e->y = e->t_ecal = e->t_hcal = NAN;
    /* pedestals everywhere first; a signal adds to them */
    for (int i = 0; i < 60; i++)
        e->ecal_cells[i] = sim_gauss(r, 0, ECAL_CELL_NOISE);
    for (int i = 0; i < 72; i++)
        e->hcal_cells[i] = sim_gauss(r, 0, HCAL_CELL_NOISE);
    e->vhcal = sim_gauss(r, 0, VHCAL_NOISE);
    for (int i = 0; i < 3; i++)
        e->veto[i] = sim_gauss(r, 0, VETO_NOISE);
    e->s0 = sim_gauss(r, 0, VETO_NOISE);
    e->s1 = sim_gauss(r, 0, VETO_NOISE);
    e->s4 = sim_gauss(r, 0, VETO_NOISE);
    e->smu = sim_gauss(r, 0, VETO_NOISE);

    int muon = trig == 0 || trig == 1 || (trig == 2 && sim_uniform(r) < RANDOM_MUON);
    if (trig == 3 || !muon) {
        if (trig == 3) { /* LED: light into every calorimeter cell, no beam */
            for (int i = 0; i < 60; i++)
                e->ecal_cells[i] += gain * LED_ECAL_CELL * led_channel((uint64_t)i) * sim_gauss(r, 1, 0.01);
            for (int i = 0; i < 72; i++)
                if (!(dead && i / 18 == HCAL_DEAD_MOD))
                    e->hcal_cells[i] += sp->hcal_gain[i / 18] * LED_HCAL_CELL *
                                        led_channel(1000 + (uint64_t)i) * sim_gauss(r, 1, 0.01);
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
    if (sim_uniform(r) < P_OUT_MISSING)
        e->p_out = NAN;
    else if (trig == 0 && sim_uniform(r) < RADIATIVE_FRAC)
        e->p_out = k * (20 + 130 * sim_uniform(r));
    else
        e->p_out = sim_gauss(r, pin - ION_LOSS, MS2_RESOLUTION * pin);

    double halo = HALO_FRACTION * (f & FAULT_HALO ? F_HALO : 1);
    if (sim_uniform(r) < halo) {
        e->x = HALO_HALF_WIDTH * (2 * sim_uniform(r) - 1);
        e->y = HALO_HALF_WIDTH * (2 * sim_uniform(r) - 1);
    } else {
        e->x = sim_gauss(r, sp->x_centre, sp->sigma_x);
        e->y = sim_gauss(r, sp->y_centre, sp->sigma_y);
    }

    /* ECAL (the active target): MIP, or rarely a radiative deposit, 1/E-distributed over 5-50 GeV */
    double ecal =
        sim_uniform(r) < ECAL_TAIL ? 5 * pow(10, sim_uniform(r)) : sim_moyal(r, ECAL_MPV, ECAL_SIGMA);
    double psh = sim_moyal(r, PSH_FRACTION * ECAL_MPV, PSH_FRACTION * ECAL_SIGMA);
    if (psh > ecal)
        psh = ecal;
    e->ecal = gain * ecal;
    e->ecal_psh = gain * psh;
    spread(e->ecal_cells, 5, 6, 2, 3, e->ecal_psh);                /* preshower: cells 0-29 */
    spread(e->ecal_cells + 30, 5, 6, 2, 3, e->ecal - e->ecal_psh); /* main section: cells 30-59 */

    for (int m = 0; m < 4; m++) {
        if (dead && m == HCAL_DEAD_MOD) { /* HV trip: pedestal only, cells keep their noise */
            e->hcal[m] = sim_gauss(r, 0, HCAL_PED_NOISE);
            continue;
        }
        e->hcal[m] = sp->hcal_gain[m] * sim_moyal(r, HCAL_MPV, HCAL_SIGMA);
        spread(e->hcal_cells + 18 * m, 6, 3, 2, 1, e->hcal[m]);
    }

    for (int i = 0; i < 3; i++)
        if (sim_uniform(r) < sp->veto_hit_fraction)
            e->veto[i] += sim_moyal(r, VETO_MIP, 0.1 * VETO_MIP);
    e->s0 = sim_moyal(r, S0_MIP, 0.08 * S0_MIP);
    e->s1 = sim_moyal(r, S0_MIP, 0.08 * S0_MIP);
    e->s4 = sim_moyal(r, S4_MIP, 0.1 * S4_MIP);
    if (trig == 0) /* Smu is in the physics trigger only */
        e->smu = sim_moyal(r, SMU_MIP, 0.1 * SMU_MIP);
    e->t_ecal = sim_gauss(r, sp->t_ecal, T_ECAL_SIGMA);
    e->t_hcal = sim_gauss(r, sp->t_hcal, T_HCAL_SIGMA);
}

static void set_all(double *v, int n, double x)
{
    for (int i = 0; i < n; i++)
        v[i] = x;
}

/* One front-end's payload flawed in event e: missing or truncated (the decoder drops it) leaves its
 * values null; empty (every channel zero-suppressed) leaves amplitudes 0 and tracks and times null. */
static void daq_flaw(struct sim_ev *e, int d, int kind)
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
static void daq_place(struct sim_spill *sp, int64_t remaining, struct sim_ev *e)
{
    for (int d = 0; d < SIM_DAQ_N; d++) {
        int64_t *left = sp->daq_left[d], n = left[0] + left[1] + left[2];
        if (n == 0)
            continue;
        int64_t u = (int64_t)(sim_uniform(&sp->daq_rng) * (double)remaining);
        for (int kind = 0; kind < SIM_DAQ_KINDS; u -= left[kind], kind++)
            if (u < left[kind]) {
                left[kind]--;
                daq_flaw(e, d, kind);
                break;
            }
    }
}

/* In-spill triggers interleaved in proportion to what is left; LED (off-spill) last. */
static int pick_trigger(struct sim_rng *r, struct sim_spill *sp)
{
    int64_t in = sp->left[0] + sp->left[1] + sp->left[2];
    int t = 3;
    if (in > 0) {
        int64_t k = (int64_t)(sim_uniform(r) * (double)in);
        t = k < sp->left[0] ? 0 : k < sp->left[0] + sp->left[1] ? 1 : 2;
    }
    sp->left[t]--;
    return t;
}

int64_t sim_events(struct sim_rng *r, struct sim_spill *sp, struct sim_buf *b, int64_t n, int columns)
{
    int64_t left = sp->left[0] + sp->left[1] + sp->left[2] + sp->left[3];
    if (n > left)
        n = left;
    if (n <= 0)
        return 0;
    struct sim_ev *evs = malloc((size_t)n * sizeof *evs);
    if (!evs)
        abort(); /* as in sim_buf_printf */
    int64_t first = sp->next_event;
    for (int64_t i = 0; i < n; i++) {
        int64_t remaining = sp->left[0] + sp->left[1] + sp->left[2] + sp->left[3];
        gen_event(r, sp, pick_trigger(r, sp), &evs[i]);
        daq_place(sp, remaining, &evs[i]);
    }
    sp->next_event += n;
    sim_write_events(b, sp, evs, first, n, columns);
    free(evs);
    return n;
}
