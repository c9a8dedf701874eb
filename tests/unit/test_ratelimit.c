/* Unit tests of server/ratelimit.c: bursts, refill, Retry-After, independent addresses, a full table. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "ratelimit.h"

static struct sockaddr_in v4(uint32_t host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(host);
    return a;
}

int main(void)
{
    struct sw_ratelimit *rl = sw_ratelimit_new(2, 5); /* 2/s, bursts of 5 */
    CHECK(rl != NULL);
    struct sockaddr_in a = v4(0x7f000001, 1000), a2 = v4(0x7f000001, 2000), b = v4(0x7f000002, 1000);
    double t = 100;
    for (int i = 0; i < 5; i++)
        CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t), 0);
    /* the burst is used up; the port does not make another client */
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t), 1);
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a2, t), 1);
    /* another address has its own bucket */
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&b, t), 0);
    /* 0.5 s later one token is back (2/s), then none */
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t + 0.5), 0);
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t + 0.5), 1);
    /* refused requests take nothing: after 10 s the bucket is full again, not more */
    for (int i = 0; i < 5; i++)
        CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t + 10), 0);
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t + 10), 1);
    sw_ratelimit_free(rl);

    /* a slow rate: Retry-After rounds up to whole seconds */
    rl = sw_ratelimit_new(0.125, 1);
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t), 0);
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t), 8);
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t + 5), 3);
    /* IPv6 works; an unknown family and NULL are not limited */
    struct sockaddr_in6 six = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "2001:db8::1", &six.sin6_addr);
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&six, t), 0);
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&six, t), 8);
    struct sockaddr unix_addr = {.sa_family = AF_UNIX};
    CHECK_INT(sw_ratelimit_take(rl, &unix_addr, t), 0);
    CHECK_INT(sw_ratelimit_take(rl, NULL, t), 0);
    /* a flood of addresses fills the table; the limiter keeps working for the one that is limited
     * while the flood reuses idle buckets */
    for (uint32_t i = 0; i < 100000; i++) {
        struct sockaddr_in x = v4(0x0a000000 + i, 1);
        sw_ratelimit_take(rl, (struct sockaddr *)&x, t + 9 + i * 1e-6);
    }
    CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t + 9.5), 0); /* reused or refilled: allowed */
    sw_ratelimit_free(rl);
    /* rate 0: no limit */
    rl = sw_ratelimit_new(0, 1);
    for (int i = 0; i < 100; i++)
        CHECK_INT(sw_ratelimit_take(rl, (struct sockaddr *)&a, t), 0);
    sw_ratelimit_free(rl);
    return CHECK_DONE();
}
