/* sim.h — the NA64mu simulator: spill-level counters and event summaries with realistic
 * distributions and injectable faults, written as wire-format v1 NDJSON (../shared/DESIGN.md §3).
 * Numbers cite ../shared/NA64MU.md; docs/simulator.md lists them.
 *
 * Single-threaded: a struct sim_rng and a struct sim_spill belong to one caller. Deterministic: the
 * same seed and the same calls give the same bytes. Out of memory aborts (a simulator has nothing
 * better to do). */
#ifndef SW_SIM_H
#define SW_SIM_H

#include <stddef.h>
#include <stdint.h>

/* Injectable faults, NA64MU.md (d); a spill carries a bit set of them. */
enum sim_fault {
    FAULT_BEAM_MOMENTUM = 1 << 0,  /* F2: p_in -10 GeV/c, p_out follows */
    FAULT_HCAL_DEAD = 1 << 1,      /* F1: HCAL module 2 and its cells at pedestal */
    FAULT_INTENSITY_DROP = 1 << 2, /* F3: MOT x0.1 and every MOT-driven count */
    FAULT_DEAD_TIME = 1 << 3,      /* F7: dead time 0.45 */
    FAULT_ECAL_GAIN = 1 << 4,      /* F4: ECAL energies x0.80 */
    FAULT_HALO = 1 << 5,           /* F5: veto hits and counts x3, beam sigma x1.5 */
    FAULT_ECAL_TIMING = 1 << 6,    /* F8: t_ecal +25 ns */
    FAULT_TRIGGER_LOW = 1 << 7,    /* physics triggers per MOT x0.3 */
};

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
};

struct sim_params {
    double scale;        /* intensity multiplier: MOT and every MOT-driven count */
    double spill_length; /* s, nominal */
};

/* Draws the spill-level numbers of one spill with the given faults. */
void sim_spill_begin(struct sim_rng *r, const struct sim_params *p, struct sim_spill *sp, int64_t run,
                     int64_t spill, unsigned faults);
/* Appends up to n events of the spill to b, as one columnar `events` record (columns != 0) or as `event`
 * rows, one record per line. Returns how many were written: 0 once the spill has none left. */
int64_t sim_events(struct sim_rng *r, struct sim_spill *sp, struct sim_buf *b, int64_t n, int columns);
/* Appends the spill_end record (time in Unix s). */
void sim_spill_end(const struct sim_spill *sp, struct sim_buf *b, double time);

#endif
