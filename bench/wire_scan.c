/* wire_scan: the wire parser alone (docs/performance.md, "Where ingest time goes") - the bodies of
 * an NDJSON file through sw_wire_parse as the server parses them, on one thread, in CPU time.
 *
 *   wire_scan --profile P --file F [--seconds S]
 *
 * F is wire-format NDJSON (e.g. `spillwatch-collect sim --out F --format columns`); each line is
 * parsed as one body with the fields of the profile P (config/na64mu.json) and the server's default
 * limits, repeated for about S seconds (default 2) of this thread's CPU time. Every line must parse.
 * With --profile - only the numbers part below runs (F may then be any text with numbers).
 * Then the numbers of the file alone (every token that starts with '-' or a digit outside strings),
 * in rounds that alternate the scanner (server/numscan.h) and strtod over all of them, each round on
 * one copy of the text so both read the same bytes; the figure is each one's median ns per number and
 * the median of the paired ratios (numscan / strtod), every double of numscan checked once against
 * strtod's, bit for bit.
 * Prints one JSON object: events, lines, bytes, passes, fast (records read by the fast path, of the
 * last pass), cpu_seconds, events_per_cpu_s, mb_per_cpu_s, numbers, numscan_taken (the numbers the
 * scanner took), numscan_ns, strtod_ns, numscan_over_strtod.
 * Exit 0, 1 on a failure, 2 on a usage error. One thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfgkit.h"
#include "err.h"
#include "numscan.h"
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The numbers of the text against strtod (see the top); prints the rest of the JSON object. */
static void numbers(const char *text, size_t len, double seconds)
{
    size_t cap = 1 << 20, n = 0;
    size_t *at = malloc(cap * sizeof *at);
    int in_string = 0;
    for (size_t i = 0; at && i < len; i++) {
        char ch = text[i];
        if (in_string) {
            in_string = ch != '"';
            continue;
        }
        if (ch == '"')
            in_string = 1;
        else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            if (n == cap)
                at = realloc(at, (cap *= 2) * sizeof *at);
            if (at)
                at[n++] = i;
            while (i + 1 < len && strchr("0123456789.eE+-", text[i + 1]))
                i++;
        }
    }
    if (!at)
        die("out of memory");
    /* every number once, bit for bit */
    size_t taken = 0;
    for (size_t k = 0; k < n; k++) {
        const char *q = text + at[k];
        double d, want = strtod(q, NULL);
        int64_t iv;
        if (sw_numscan(&q, text + len, &d, &iv)) {
            taken++;
            if (d != want && !(d == 0 && want == 0))
                die("numscan and strtod differ");
        }
    }
    enum { ROUNDS = 64 };
    double ns_scan[ROUNDS], ns_strtod[ROUNDS], ratio[ROUNDS], sink = 0;
    int rounds = 0;
    double t_end = cpu_now() + seconds;
    while (rounds < ROUNDS && (rounds < 5 || cpu_now() < t_end)) {
        double t0 = cpu_now();
        for (size_t k = 0; k < n; k++) {
            const char *q = text + at[k];
            double d = 0;
            int64_t iv;
            sw_numscan(&q, text + len, &d, &iv);
            sink += d;
        }
        double t1 = cpu_now();
        for (size_t k = 0; k < n; k++)
            sink += strtod(text + at[k], NULL);
        double t2 = cpu_now();
        ns_scan[rounds] = (t1 - t0) / (double)n * 1e9;
        ns_strtod[rounds] = (t2 - t1) / (double)n * 1e9;
        ratio[rounds] = ns_scan[rounds] / ns_strtod[rounds];
        rounds++;
    }
    printf("\"numbers\": %zu, \"numscan_taken\": %zu, \"numscan_ns\": %.2f, \"strtod_ns\": %.2f, "
           "\"numscan_over_strtod\": %.3f, \"rounds\": %d, \"sink\": %g}\n",
           n, taken, median(ns_scan, rounds), median(ns_strtod, rounds), median(ratio, rounds), rounds,
           sink == 0 ? 0.0 : 1.0);
    free(at);
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
    size_t len;
    char *text = read_all(file, &len);
    if (strcmp(profile, "-") == 0) { /* the numbers alone: F need not be wire format */
        printf("{");
        numbers(text, len, seconds);
        free(text);
        return 0;
    }
    struct sw_profile p = {0};
    struct sw_diag d = {0};
    if (sw_profile_load(&p, profile, &d) != 0)
        die("cannot load the profile");
    sw_diag_release(&d);
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
           "\"cpu_seconds\": %.3f, \"events_per_cpu_s\": %.0f, \"mb_per_cpu_s\": %.1f, ",
           events, lines, len, passes, fast, t - t0, (double)events / (t - t0),
           (double)len * (double)passes / (t - t0) / 1e6);
    numbers(text, len, seconds);
    free(text);
    sw_profile_release(&p);
    return 0;
}
