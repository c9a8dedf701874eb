/* sim.h — the NA64mu simulator: spill-level counters and event summaries with realistic
 * distributions and injectable faults, written as wire-format v1 NDJSON (docs/api.md).
 * Numbers cite docs/physics.md; docs/simulator.md lists them.
 *
 * Single-threaded: a struct sim_rng and a struct sim_spill belong to one caller. Deterministic: the
 * same seed and the same calls give the same bytes. Out of memory aborts (a simulator has nothing
 * better to do). */
#ifndef SW_SIM_H
#define SW_SIM_H

#include <stddef.h>
#include <stdint.h>

/* Injectable faults (docs/simulator.md); a spill carries a bit set of them. */
enum sim_fault {
    FAULT_BEAM_MOMENTUM = 1 << 0,  /* F2: p_in -10 GeV/c, p_out follows */
    FAULT_HCAL_DEAD = 1 << 1,      /* F1: HCAL module 2 and its cells at pedestal */
    FAULT_INTENSITY_DROP = 1 << 2, /* F3: MOT x0.1 and every MOT-driven count */
    FAULT_DEAD_TIME = 1 << 3,      /* F7: dead time 0.45 */
    FAULT_ECAL_GAIN = 1 << 4,      /* F4: ECAL energies x0.75 */
    FAULT_HALO = 1 << 5,           /* F5: veto hits and counts x3, beam sigma x1.5 */
    FAULT_ECAL_TIMING = 1 << 6,    /* F8: t_ecal +25 ns */
    FAULT_TRIGGER_LOW = 1 << 7,    /* physics triggers per MOT x0.2 */
    FAULT_DAQ_MISSING = 1 << 8,    /* the HCAL front-end missing from 5 % of the events */
};
/* Every fault above is relative to the run's own level (struct sim_conditions): x0.1 of the run's MOT,
 * -10 GeV/c on the run's mean momentum, and so on; dead_time is an absolute 0.45. */

/* "beam_momentum" -> FAULT_BEAM_MOMENTUM; 0 for an unknown name. */
unsigned sim_fault_parse(const char *name);
/* The name of one fault bit (a static string), "?" for anything else. */
const char *sim_fault_name(unsigned fault);
/* The names of the bits set in faults, comma-separated, into buf (always terminated, cut to len). */
void sim_fault_names(unsigned faults, char *buf, size_t len);
extern const char *const sim_fault_list; /* every name, for --help and errors */

/* xoshiro256** state. */
struct sim_rng {
    uint64_t s[4];
};
/* Seeds the state from any 64-bit seed (through splitmix64, so 0 is fine too). */
void sim_rng_seed(struct sim_rng *r, uint64_t seed);

/* A growing text buffer; zero-initialise it, release it with sim_buf_release. */
struct sim_buf {
    char *p; /* NUL-terminated once anything was printed */
    size_t len, cap;
};
void sim_buf_printf(struct sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer and keeps its memory. */
void sim_buf_clear(struct sim_buf *b);
/* Frees the memory; the buffer is then empty and reusable. */
void sim_buf_release(struct sim_buf *b);

/* The run's nominal conditions: the levels the spills of one run scatter around. Either the simulator's
 * nominal (sim_conditions_nominal) or a draw from the NA64mu run-to-run ranges (sim_conditions_draw).
 * Drawn numbers are rounded (4 significant digits, offsets to 1e-3) before use, so what run_start.meta
 * says is exactly what the spills are drawn from. */
struct sim_conditions {
    uint64_t seed;              /* --conditions; 0 = nominal */
    double momentum;            /* GeV/c, the beam setting (--momentum) */
    double mot;                 /* median MOT per spill, before --scale */
    double veto_factor;         /* common factor on the veto levels (halo of the tune) */
    double veto_each[3];        /* per-veto factor: V1, Vm1, Vm2 */
    double veto_per_mot[3];     /* scaler counts per MOT: base x veto_factor x veto_each */
    double veto_hit_fraction;   /* events with a MIP in a veto, each veto */
    double phys_per_mot;        /* physics triggers per MOT */
    double beam_fraction;       /* beam (calibration) triggers, a fraction of the nominal physics rate */
    double random_hz;           /* random trigger rate in spill */
    double p_offset, p_mean;    /* GeV/c: mean incoming momentum = momentum + p_offset */
    double sigma_factor[2];     /* beam spot width factors, x and y */
    double sigma[2], centre[2]; /* cm: beam spot sigma and centre at the target, x and y */
    double dead_time;           /* nominal DAQ dead time (fraction) */
    double ecal_scale;          /* ECAL energy scale (a recalibration) */
    double hcal_scale[4];       /* HCAL energy scale per module */
    double t_ecal, t_hcal;      /* ns, timing offsets */
};
/* The simulator's nominal run at the beam setting momentum (GeV/c); seed 0. */
void sim_conditions_nominal(struct sim_conditions *c, double momentum);
/* A run drawn from the run-to-run ranges with its own random stream of seed (> 0; independent of the
 * spill stream), at the beam setting momentum. The same seed gives the same conditions. */
void sim_conditions_draw(struct sim_conditions *c, uint64_t seed, double momentum);

/* DAQ front-ends, in the order of spill_end's daq_sources. */
enum {
    SIM_DAQ_BEAM,
    SIM_DAQ_MS1,
    SIM_DAQ_MS2,
    SIM_DAQ_ECAL,
    SIM_DAQ_HCAL,
    SIM_DAQ_VHCAL,
    SIM_DAQ_VETO,
    SIM_DAQ_N
};
/* What can go wrong with one front-end's payload in a built event. */
enum { SIM_DAQ_MISSING, SIM_DAQ_EMPTY, SIM_DAQ_TRUNCATED, SIM_DAQ_KINDS };

/* One spill: what the DAQ counted and what it recorded. Invariant: rec[t] =
 * round(trig[t] * (1 - dead_time)) for the dead_time as printed (4 decimals, never on an exact
 * half), and recorded = sum of rec = the number of events sim_events writes for the spill. */
struct sim_spill {
    int64_t run, spill;
    unsigned faults;
    double duration, dead_time; /* s (4 decimals), fraction (4 decimals) */
    int64_t mot, s0, smu, v1, vm1, vm2;
    int64_t trig[4];    /* accepted: physics, beam, random, led */
    int64_t rec[4];     /* recorded per trigger type */
    int64_t recorded;   /* sum of rec */
    int64_t left[4];    /* recorded events not generated yet */
    int64_t next_event; /* 1-based event number in the spill */
    /* DAQ integrity: per front-end, the events with a missing, empty or truncated payload. Exact: that
     * many of the spill's event records show it (sim_events), drawn from the spill's own stream daq. */
    int64_t daq[SIM_DAQ_N][SIM_DAQ_KINDS];
    int64_t daq_left[SIM_DAQ_N][SIM_DAQ_KINDS]; /* not placed in an event yet */
    struct sim_rng daq_rng;
    double x_centre, y_centre, sigma_x, sigma_y; /* cm, this spill's beam spot (halo widens it) */
    double p_mean;                               /* GeV/c, this spill's mean incoming momentum */
    double ecal_gain, hcal_gain[4];              /* energy scales (run x fault) */
    double t_ecal, t_hcal;                       /* ns, mean times */
    double veto_hit_fraction, momentum_scale;    /* momentum_scale: momentum / 160 GeV/c */
};

struct sim_params {
    double scale;               /* intensity multiplier: MOT and every MOT-driven count */
    double spill_length;        /* s, nominal */
    uint64_t seed;              /* --seed: each spill's DAQ-integrity stream derives from it, run, spill */
    struct sim_conditions cond; /* the run's nominal levels */
};

/* Draws the spill-level numbers of one spill with the given faults, around the run's levels p->cond.
 * The DAQ-integrity counts come from a stream of their own (p->seed, run, spill), so they never shift
 * the spill stream r. */
void sim_spill_begin(struct sim_rng *r, const struct sim_params *p, struct sim_spill *sp, int64_t run,
                     int64_t spill, unsigned faults);
/* Appends up to n events of the spill to b, as one columnar `events` record (columns != 0) or as `event`
 * rows, one record per line. Returns how many were written: 0 once the spill has none left. */
int64_t sim_events(struct sim_rng *r, struct sim_spill *sp, struct sim_buf *b, int64_t n, int columns);
/* Appends the spill_end record (time in Unix s); with daq_sources its per-front-end integrity counts. */
void sim_spill_end(const struct sim_spill *sp, struct sim_buf *b, double time, int daq_sources);

#endif
