/* clock.h — wall-clock and monotonic seconds as doubles. Any thread. */
#ifndef SW_CLOCK_H
#define SW_CLOCK_H

#include <time.h>

/* Unix time in seconds (CLOCK_REALTIME): timestamps that leave the process. */
static inline double sw_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Monotonic seconds (CLOCK_MONOTONIC): durations and timeouts. */
static inline double sw_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
