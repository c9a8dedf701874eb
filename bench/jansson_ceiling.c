/* jansson_ceiling: the ingest ceiling of bench/run (docs/performance.md) - a bare Jansson parse of
 * the same NDJSON bytes the load generator posts, on N threads.
 *
 *   jansson_ceiling --file F [--threads N] [--seconds S]
 *
 * Each line (one `event` row, or one columnar `events` record, or a spill/run record) is parsed
 * with json_loadb(..., JSON_REJECT_DUPLICATES) as the server's wire parser does, then freed.
 * The threads share one counter over (pass, line), so big and small lines spread evenly; the
 * number of passes is chosen from a one-thread calibration pass so the run lasts about S seconds
 * (default 2). Prints one JSON object: events, lines, bytes, passes, threads, seconds,
 * events_per_s, mb_per_s. Exit 0, 1 on a runtime failure, 2 on a usage error.
 * Threads: main prepares and joins; workers only read the lines and the shared counter. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
    char **lines; /* owned */
    size_t *lens;
    long *events;
    size_t n;
    long total_events;
    size_t bytes;
    atomic_long next;
    long limit; /* passes x lines */
    atomic_int failed;
    pthread_barrier_t start;
} g;

static void die(const char *what)
{
    fprintf(stderr, "jansson_ceiling: %s\n", what);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open the input file");
    size_t cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (!len)
            continue;
        if (g.n == cap) {
            cap = cap ? cap * 2 : 1024;
            g.lines = xrealloc(g.lines, cap * sizeof *g.lines);
            g.lens = xrealloc(g.lens, cap * sizeof *g.lens);
            g.events = xrealloc(g.events, cap * sizeof *g.events);
        }
        json_t *rec = json_loadb(line, (size_t)len, 0, NULL);
        if (!rec)
            die("a line of the input is not JSON");
        const char *type = json_string_value(json_object_get(rec, "type"));
        long n = 0;
        if (type && !strcmp(type, "event"))
            n = 1;
        else if (type && !strcmp(type, "events"))
            n = (long)json_array_size(json_object_get(json_object_get(rec, "columns"), "event"));
        json_decref(rec);
        g.lines[g.n] = xrealloc(NULL, (size_t)len);
        memcpy(g.lines[g.n], line, (size_t)len);
        g.lens[g.n] = (size_t)len;
        g.events[g.n++] = n;
        g.total_events += n;
        g.bytes += (size_t)len + 1;
    }
    free(line);
    fclose(f);
    if (!g.n)
        die("the input is empty");
}

static void parse_line(size_t i)
{
    json_error_t err;
    json_t *j = json_loadb(g.lines[i], g.lens[i], JSON_REJECT_DUPLICATES, &err);
    if (!j)
        atomic_store(&g.failed, 1);
    json_decref(j);
}

static void *worker(void *arg)
{
    pthread_barrier_wait(&g.start);
    for (long k; (k = atomic_fetch_add(&g.next, 1)) < g.limit;)
        parse_line((size_t)(k % (long)g.n));
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: jansson_ceiling --file F [--threads N] [--seconds S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    int threads = 2;
    double seconds = 2;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *k = argv[i], *v = argv[++i];
        if (!strcmp(k, "--file"))
            file = v;
        else if (!strcmp(k, "--threads"))
            threads = atoi(v);
        else if (!strcmp(k, "--seconds"))
            seconds = atof(v);
        else
            usage();
    }
    if (!file || threads < 1 || !(seconds > 0))
        usage();
    load(file);

    /* Calibration: one pass on one thread (also warms the allocator). */
    double t = now();
    for (size_t i = 0; i < g.n; i++)
        parse_line(i);
    double one = now() - t;
    long passes = (long)(seconds * threads / (one > 1e-6 ? one : 1e-6)) + 1;
    g.limit = passes * (long)g.n;

    pthread_barrier_init(&g.start, NULL, (unsigned)threads + 1);
    pthread_t *tid = xrealloc(NULL, sizeof *tid * (size_t)threads);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&tid[i], NULL, worker, NULL))
            die("cannot start a thread");
    pthread_barrier_wait(&g.start);
    t = now();
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    double secs = now() - t;
    if (atomic_load(&g.failed))
        die("a line did not parse with JSON_REJECT_DUPLICATES");

    double events = (double)passes * (double)g.total_events;
    json_t *out = json_pack("{sI sI sI sI si sf sf sf}", "events", (json_int_t)g.total_events, "lines",
                            (json_int_t)g.n, "bytes", (json_int_t)g.bytes, "passes", (json_int_t)passes,
                            "threads", threads, "seconds", secs, "events_per_s", events / secs, "mb_per_s",
                            (double)passes * (double)g.bytes / secs / 1e6);
    char *txt = json_dumps(out, JSON_COMPACT);
    puts(txt);
    free(txt);
    json_decref(out);
    free(tid);
    for (size_t i = 0; i < g.n; i++)
        free(g.lines[i]);
    free(g.lines);
    free(g.lens);
    free(g.events);
    return 0;
}
