/* sim.h — the NA64mu simulator: spill-level counters and event summaries with realistic
 * distributions and injectable faults, written as wire-format v1 NDJSON. Single-threaded;
 * deterministic for a given seed. Numbers cite ../shared/NA64MU.md (see docs/simulator.md). */
#ifndef SW_SIM_H
#define SW_SIM_H

#include <stddef.h>
#include <stdint.h>

enum sim_fault {
    FAULT_BEAM_MOMENTUM = 1 << 0,
    FAULT_HCAL_DEAD = 1 << 1,
    FAULT_INTENSITY_DROP = 1 << 2,
    FAULT_DEAD_TIME = 1 << 3,
    FAULT_ECAL_GAIN = 1 << 4,
    FAULT_HALO = 1 << 5,
    FAULT_ECAL_TIMING = 1 << 6,
    FAULT_TRIGGER_LOW = 1 << 7,
};

/* "beam_momentum" -> bit, 0 for an unknown name. */
unsigned sim_fault_parse(const char *name);
/* Comma-separated names of the bits, into buf. */
void sim_fault_names(unsigned faults, char *buf, size_t len);
extern const char *const sim_fault_list; /* for --help */

struct sim_rng {
    uint64_t s[4];
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed);

/* A growing text buffer. */
struct sim_buf {
    char *p;
    size_t len, cap;
};
void sim_buf_printf(struct sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_buf_clear(struct sim_buf *b);
void sim_buf_release(struct sim_buf *b);

/* One spill: what the DAQ counted and what it recorded. */
struct sim_spill {
    int64_t run, spill;
    unsigned faults;
    double duration, dead_time;
    int64_t mot, s0, smu, v1, vm1, vm2;
    int64_t trig[4];    /* accepted: physics, beam, random, led */
    int64_t rec[4];     /* recorded = round(trig * (1 - dead_time)) */
    int64_t recorded;   /* sum of rec: exactly the number of events sent */
    int64_t left[4];    /* recorded events not generated yet */
    int64_t next_event; /* 1-based event number in the spill */
};

struct sim_params {
    double scale;        /* intensity multiplier */
    double spill_length; /* s */
};

/* Draws the spill-level numbers. */
void sim_spill_begin(struct sim_rng *r, const struct sim_params *p, struct sim_spill *sp, int64_t run,
                     int64_t spill, unsigned faults);
/* Appends up to n events of the spill to b as one columnar `events` record (columns != 0) or as
 * `event` rows; returns how many were written (0 when the spill has none left). */
int64_t sim_events(struct sim_rng *r, struct sim_spill *sp, struct sim_buf *b, int64_t n, int columns);
/* Appends the spill_end record. */
void sim_spill_end(const struct sim_spill *sp, struct sim_buf *b, double time);

#endif
