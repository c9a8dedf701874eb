/* sim_int.h — internal to the simulator's own files (sim.c, sim_rng.c, sim_cond.c, sim_text.c);
 * nothing else includes it. The public side, and the manual, is sim.h.
 *
 * Calls go down only: sim.c (faults, spills and events) calls sim_rng.c (random numbers) and sim_text.c (the
 * records as text); sim_cond.c (the run conditions) calls sim_rng.c; sim_rng.c and sim_text.c call nothing of
 * the simulator. Single-threaded like the rest of the simulator: every state belongs to its caller.
 */
#ifndef SW_SIM_INT_H
#define SW_SIM_INT_H

#include "sim.h"

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

/* ---- sim_rng.c: random numbers (xoshiro256** seeded by splitmix64) ---- */

/* One step of splitmix64 on *x: the seeding generator, also a hash of *x. */
uint64_t sim_splitmix(uint64_t *x);
/* Uniform in (0, 1), 53 bits. */
double sim_uniform(struct sim_rng *r);
/* Gaussian (Box-Muller; two uniforms per draw). */
double sim_gauss(struct sim_rng *r, double mu, double sigma);
/* Landau-like energy loss: Moyal(mpv, sigma), whose mode is mpv (one Gaussian per draw). */
double sim_moyal(struct sim_rng *r, double mpv, double sigma);
/* Poisson of mean (0 for mean <= 0; a rounded Gaussian above 50). */
int64_t sim_poisson(struct sim_rng *r, double mean);

/* ---- sim.c -> sim_text.c: one generated event ---- */

/* One event as sim.c draws it: trig 0 physics, 1 beam, 2 random, 3 led; NaN for a value not
 * reconstructed (null on the wire). */
struct sim_ev {
    int trig;
    double p_in, p_out, x, y, ecal, ecal_psh, vhcal, hcal[4], veto[3], s0, s1, s4, smu, t_ecal, t_hcal;
    double ecal_cells[60], hcal_cells[72]; /* ECAL[section][x 5][y 6], HCAL[module][x 6][y 3] */
};

/* sim_text.c: appends events evs[0..n) of spill sp, numbered from first, to b: one columnar
 * `events` record (columns != 0) or one `event` row per line. */
void sim_write_events(struct sim_buf *b, const struct sim_spill *sp, const struct sim_ev *evs, int64_t first,
                      int64_t n, int columns);

#endif
