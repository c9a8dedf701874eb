/* wire_scan: the wire parser alone (docs/performance.md, "Where ingest time goes") - the bodies of
 * an NDJSON file through sw_wire_parse as the server parses them, on one thread, in CPU time.
 *
 *   wire_scan --profile P --file F [--seconds S]
 *
 * F is wire-format NDJSON (e.g. `spillwatch-collect sim --out F --format columns`); each line is
 * parsed as one body with the fields of the profile P (config/na64mu.json) and the server's default
 * limits, repeated for about S seconds (default 2) of this thread's CPU time. Every line must parse.
 * Prints one JSON object: events, lines, bytes, passes, fast (records read by the fast path, of the
 * last pass), cpu_seconds, events_per_cpu_s, mb_per_cpu_s.
 * Exit 0, 1 on a failure, 2 on a usage error. One thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfgkit.h"
#include "err.h"
#include "profile.h"
#include "wire.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "wire_scan: %s\n", what);
    exit(1);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open the file");
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (cap - n - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf)
        die("out of memory");
    buf[n] = 0;
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    const char *profile = NULL, *file = NULL;
    double seconds = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--profile") == 0)
            profile = argv[i + 1];
        else if (strcmp(argv[i], "--file") == 0)
            file = argv[i + 1];
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else
            file = NULL, i = argc;
    }
    if (!profile || !file || argc % 2 == 0) {
        fprintf(stderr, "usage: wire_scan --profile P --file F [--seconds S]\n");
        return 2;
    }
    struct sw_profile p = {0};
    struct sw_diag d = {0};
    if (sw_profile_load(&p, profile, &d) != 0)
        die("cannot load the profile");
    sw_diag_release(&d);
    size_t len;
    char *text = read_all(file, &len);
    /* the server's defaults (server/config.c: limits.line_max, fields_max, batch_events_max) */
    const struct sw_wire_limits lim = {8u << 20, 256, 1000000, 0};
    long events = 0, lines = 0, passes = 0;
    size_t fast = 0;
    double t0 = cpu_now(), t = t0;
    while (passes == 0 || t - t0 < seconds) {
        fast = 0;
        for (char *s = text, *e; s < text + len; s = e + 1) {
            e = memchr(s, '\n', (size_t)(text + len - s));
            if (!e)
                e = text + len;
            struct sw_batch b = {0};
            struct sw_wire_error err;
            if (sw_wire_parse(&b, s, (size_t)(e - s), &p.fields, &lim, &err) != 0) {
                fprintf(stderr, "wire_scan: %s\n", err.msg);
                return 1;
            }
            events += (long)b.events;
            fast += b.fast;
            lines += passes == 0;
            sw_batch_release(&b);
        }
        passes++;
        t = cpu_now();
    }
    printf("{\"events\": %ld, \"lines\": %ld, \"bytes\": %zu, \"passes\": %ld, \"fast\": %zu, "
           "\"cpu_seconds\": %.3f, \"events_per_cpu_s\": %.0f, \"mb_per_cpu_s\": %.1f}\n",
           events, lines, len, passes, fast, t - t0, (double)events / (t - t0),
           (double)len * (double)passes / (t - t0) / 1e6);
    free(text);
    sw_profile_release(&p);
    return 0;
}
