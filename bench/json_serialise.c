/* json_serialise: the serialiser figure of bench/run (docs/performance.md) - sw_json_text (every
 * real as its shortest round-trip text, server/jsonnum.h) against json_dumps (%.17g reals) on the
 * same trees, side by side in one run.
 *
 *   json_serialise [--seconds S]
 *
 * Three trees shaped like the API's answers: a spill list page (500 spills: integers, ISO-less
 * times as reals, computed dead-time fractions, flags and reasons as strings), a histogram (10,000
 * bins of computed reals plus integer counts) and a text-heavy page (notes with escapes and UTF-8).
 * For each tree, rounds alternate json_dumps(JSON_COMPACT) and sw_json_text(JSON_COMPACT) (each
 * timed over enough calls to last about 20 ms); the figure is the median time per call of each and
 * the median of the paired ratios (ours / Jansson), over rounds that last about S seconds in all
 * (default 2). Every text of ours is checked once to parse back to a tree equal to the original.
 * Prints one JSON object. Exit 0, 1 on a failure, 2 on a usage error. One thread. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonnum.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ULL;

static double unit_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1p-53;
}

static json_t *spill_list(void)
{
    json_t *a = json_array();
    for (int i = 0; i < 500; i++) {
        double start = 1767225600.0 + i * 14.8 + unit_rand();
        double busy = 0.05 + 0.05 * unit_rand(), live = 4.8 + unit_rand() * 0.1;
        json_array_append_new(
            a, json_pack("{s:I, s:I, s:f, s:f, s:f, s:I, s:I, s:f, s:s, s:[s, s], s:s, s:f}", "run",
                         (json_int_t)1234, "spill", (json_int_t)i, "t_start", start, "t_end", start + live,
                         "dead_time", busy / live * 8, "mot", (json_int_t)(1000000 + i * 37), "events",
                         (json_int_t)(3200 + i % 50), "beam_mean", 100.0 * (1 + 0.01 * unit_rand()), "flag",
                         i % 17 ? "GOOD" : "BAD", "reasons", "ecal_occupancy", "dead time 8.1 % (limit 10 %)",
                         "category", "beam", "purity", 1.0 / (1 + unit_rand())));
    }
    return json_pack("{s:o, s:I, s:n}", "spills", a, "total", (json_int_t)500, "next");
}

static json_t *histogram(void)
{
    json_t *bins = json_array(), *counts = json_array();
    for (int i = 0; i < 10000; i++) {
        json_array_append_new(bins, json_real(exp(-0.5 * pow((i - 5000) / 900.0, 2)) * 1234.5 / 7));
        json_array_append_new(counts, json_integer((json_int_t)(unit_rand() * 5000)));
    }
    return json_pack("{s:s, s:f, s:f, s:I, s:o, s:o}", "name", "ecal_energy", "xmin", 0.0, "xmax", 150.0,
                     "nbins", (json_int_t)10000, "means", bins, "counts", counts);
}

static json_t *notes(void)
{
    json_t *a = json_array();
    for (int i = 0; i < 500; i++)
        json_array_append_new(
            a, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)i, "who",
                         "shifter\xc2\xb7"
                         "a",
                         "text",
                         "beam \"unstable\" after the magnet trip;\nECAL cell 17 \xe2\x88\x92 hot, "
                         "see e-log/4711 \xce\xbc"
                         "A",
                         "created", "2026-12-02T16:51:42Z"));
    return json_pack("{s:o}", "notes", a);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Seconds per call of one serialiser over calls calls. */
static double time_calls(const json_t *j, int ours, long calls)
{
    double t0 = now();
    for (long k = 0; k < calls; k++) {
        char *s = ours ? sw_json_text(j, JSON_COMPACT, NULL) : json_dumps(j, JSON_COMPACT);
        if (!s) {
            fprintf(stderr, "json_serialise: a serialiser failed\n");
            exit(1);
        }
        free(s);
    }
    return (now() - t0) / (double)calls;
}

#define MAX_ROUNDS 200

int main(int argc, char **argv)
{
    double seconds = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: json_serialise [--seconds S]\n");
            return 2;
        }
    }
    if (!(seconds > 0)) {
        fprintf(stderr, "json_serialise: --seconds must be > 0\n");
        return 2;
    }
    struct {
        const char *name;
        json_t *tree;
    } trees[] = {{"spill_list", spill_list()}, {"histogram", histogram()}, {"notes", notes()}};
    int ntrees = (int)(sizeof trees / sizeof *trees);
    printf("{\"seconds\":%g,\"trees\":{", seconds);
    for (int t = 0; t < ntrees; t++) {
        json_t *j = trees[t].tree;
        size_t ours_len = 0;
        char *ours = sw_json_text(j, JSON_COMPACT, &ours_len), *theirs = json_dumps(j, JSON_COMPACT);
        json_t *back = ours ? json_loads(ours, 0, NULL) : NULL;
        if (!ours || !theirs || !back || !json_equal(back, j)) {
            fprintf(stderr, "json_serialise: %s: the text does not parse back to the same tree\n",
                    trees[t].name);
            return 1;
        }
        json_decref(back);
        size_t theirs_len = strlen(theirs);
        free(ours);
        free(theirs);

        /* calls per timing so that one lasts about 20 ms */
        double once = time_calls(j, 0, 3);
        long calls = (long)(0.02 / (once > 1e-7 ? once : 1e-7));
        if (calls < 1)
            calls = 1;
        int rounds = (int)(seconds / ntrees / (2 * 0.02));
        rounds = rounds < 3 ? 3 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
        double jt[MAX_ROUNDS], ot[MAX_ROUNDS], ratio[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            jt[r] = time_calls(j, 0, calls);
            ot[r] = time_calls(j, 1, calls);
            ratio[r] = ot[r] / jt[r];
        }
        printf("%s\"%s\":{\"bytes_jansson\":%zu,\"bytes_ours\":%zu,\"rounds\":%d,\"calls_per_round\":%ld,"
               "\"jansson_us\":%.2f,\"ours_us\":%.2f,\"ratio\":%.3f}",
               t ? "," : "", trees[t].name, theirs_len, ours_len, rounds, calls, 1e6 * median(jt, rounds),
               1e6 * median(ot, rounds), median(ratio, rounds));
        json_decref(j);
    }
    printf("}}\n");
    return 0;
}
