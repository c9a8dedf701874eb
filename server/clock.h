/* clock.h — wall-clock and monotonic seconds as doubles. Any thread.
 *
 * Test-only hook: sw_clock_offset (clock.c) is added to both clocks. It is 0 in the server, which
 * never writes it; unit tests advance it to drive time (spill timeouts, a late timer, alarm
 * expiries and repeats: tests/unit/test_engine.c, test_alarms.c) without sleeping. Relaxed atomic: other
 * threads may read the clocks while a test advances it. */
#ifndef SW_CLOCK_H
#define SW_CLOCK_H

#include <stdatomic.h>
#include <time.h>

extern _Atomic double sw_clock_offset;

/* Unix time in seconds (CLOCK_REALTIME): timestamps that leave the process. */
static inline double sw_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 +
           atomic_load_explicit(&sw_clock_offset, memory_order_relaxed);
}

/* Monotonic seconds (CLOCK_MONOTONIC): durations and timeouts. */
static inline double sw_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 +
           atomic_load_explicit(&sw_clock_offset, memory_order_relaxed);
}

#endif
