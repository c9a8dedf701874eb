/* sim_cond.c — the run's nominal conditions (see sim.h): the simulator's nominal run, or one drawn
 * from the NA64mu run-to-run ranges with a random stream of its own. Physics numbers: docs/physics.md,
 * summarised in docs/simulator.md. */
#include "sim_int.h"

#include <math.h>
#include <string.h>

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
    return sig4(exp(log(lo) + (log(hi) - log(lo)) * sim_uniform(r)));
}

static double flat(struct sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_uniform(r);
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
