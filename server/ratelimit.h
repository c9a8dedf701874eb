/* ratelimit.h — request rate limits per client address: a token bucket per address (rate tokens a
 * second, at most burst), in a fixed table, so a flood of addresses costs no memory. When the table
 * is full, the bucket idle the longest is reused (its client starts again with a full burst).
 *
 * Threads: any; one mutex. Owned by the HTTP front (http.c).
 */
#ifndef SW_RATELIMIT_H
#define SW_RATELIMIT_H

#include <sys/socket.h>

struct sw_ratelimit;

/* A limiter of rate requests/s with bursts of up to burst; rate 0 = no limit. NULL on out of memory. */
struct sw_ratelimit *sw_ratelimit_new(double rate, double burst);
void sw_ratelimit_free(struct sw_ratelimit *rl);

/* Takes one token for the client at addr (NULL: allowed). Returns 0 when allowed, else the seconds
 * (>= 1, rounded up) until a token is there again, for Retry-After. now is sw_mono(). */
unsigned sw_ratelimit_take(struct sw_ratelimit *rl, const struct sockaddr *addr, double now);

#endif
