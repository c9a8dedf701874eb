/* ingest_load: a light load generator for POST /api/v1/ingest (bench/run, docs/performance.md).
 *
 *   ingest_load --port P --file F [--host 127.0.0.1] [--connections N] [--batch EVENTS] [--token T]
 *
 * Reads wire-format NDJSON (e.g. `spillwatch-collect sim --out -`), cuts it into batches the way a
 * collector does (one POST never mixes two spills; a batch holds up to --batch events, the first
 * batch of a spill carries its spill_start, the last one its spill_end), and builds every HTTP/1.1
 * request up front. Then N threads, one keep-alive connection each, take whole spills from a
 * shared counter and send their batches in order, each waiting for its answer; the wall time runs
 * from the moment every connection is open until the last answer is in. Records before the first
 * spill (run_start) are sent before the clock starts, records after the last spill (run_end)
 * after it stops. Batches carry no X-Spillwatch-Source/Seq.
 *
 * Prints one JSON object on stdout: events, events_ok (in batches answered 200), batches, spills,
 * bytes (of the measured requests), seconds, events_per_s, ok and failed (answers 200 and others,
 * run records included), first_error, connections. Exit status 0 when every answer was 200, 1
 * otherwise, 2 on a usage error.
 * Threads: main prepares and joins; workers share only the spill counter and the result counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct batch {
    char *req; /* the whole request: head and body; owned */
    size_t len;
    long events;
};

struct spill {
    struct batch *batches; /* owned */
    int n;
};

static struct {
    const char *host, *file, *token;
    int port, connections;
    long batch_events;
    struct spill *spills; /* spills[0..nspills): whole spills; pre and post: records around them */
    int nspills;
    struct spill pre, post;
    atomic_int next;
    atomic_long ok, failed, events_ok;
    pthread_mutex_t err_lock;
    char first_error[512];
    pthread_barrier_t start;
} g = {.host = "127.0.0.1", .connections = 2, .batch_events = 1000};

static void die(const char *what)
{
    fprintf(stderr, "ingest_load: %s\n", what);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

/* Keeps the first failure's status and answer for the report. */
static void note_error(int status, const char *detail)
{
    pthread_mutex_lock(&g.err_lock);
    if (!g.first_error[0] && status < 0)
        snprintf(g.first_error, sizeof g.first_error, "connection failed");
    else if (!g.first_error[0])
        snprintf(g.first_error, sizeof g.first_error, "answer %d: %.400s", status, detail);
    pthread_mutex_unlock(&g.err_lock);
}

/* Appends the lines [first, first + n) as one request to s. */
static void add_batch(struct spill *s, char **lines, size_t *lens, int first, int n, long events)
{
    size_t body = 0;
    for (int i = first; i < first + n; i++)
        body += lens[i] + 1;
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "POST /api/v1/ingest HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/x-ndjson\r\n"
                      "%s%s%sContent-Length: %zu\r\n\r\n",
                      g.host, g.port, g.token ? "Authorization: Bearer " : "", g.token ? g.token : "",
                      g.token ? "\r\n" : "", body);
    struct batch b = {.req = xrealloc(NULL, (size_t)hl + body), .len = (size_t)hl + body, .events = events};
    memcpy(b.req, head, (size_t)hl);
    char *p = b.req + hl;
    for (int i = first; i < first + n; i++) {
        memcpy(p, lines[i], lens[i]);
        p += lens[i];
        *p++ = '\n';
    }
    s->batches = xrealloc(s->batches, sizeof *s->batches * (size_t)(s->n + 1));
    s->batches[s->n++] = b;
}

/* Reads the file and cuts it into spills and batches (Jansson reads each record's type and event
 * count here, before any measurement). */
static void prepare(void)
{
    FILE *f = fopen(g.file, "rb");
    if (!f)
        die("cannot open the input file");
    char **lines = NULL;
    size_t *lens = NULL, cap = 0, nlines = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (!len)
            continue;
        if (nlines == cap) {
            cap = cap ? cap * 2 : 1024;
            lines = xrealloc(lines, cap * sizeof *lines);
            lens = xrealloc(lens, cap * sizeof *lens);
        }
        lines[nlines] = xrealloc(NULL, (size_t)len);
        memcpy(lines[nlines], line, (size_t)len);
        lens[nlines++] = (size_t)len;
    }
    free(line);
    fclose(f);

    /* Walk the records: a batch is [first, i); it is cut before an event record once it holds
     * batch_events events, and after a spill_end. */
    int first = 0, in_spill = 0;
    long events = 0;
    struct spill cur = {0};
    for (size_t i = 0; i < nlines; i++) {
        json_error_t jerr;
        json_t *rec = json_loadb(lines[i], lens[i], 0, &jerr);
        if (!rec)
            die("a line of the input is not JSON");
        const char *type = json_string_value(json_object_get(rec, "type"));
        if (!type)
            die("a record of the input has no type");
        long n = 0;
        if (!strcmp(type, "event"))
            n = 1;
        else if (!strcmp(type, "events"))
            n = (long)json_array_size(json_object_get(json_object_get(rec, "columns"), "event"));
        int is_start = !strcmp(type, "spill_start"), is_end = !strcmp(type, "spill_end");
        json_decref(rec);
        if ((is_start || n) && !in_spill) { /* the records so far belong before the spills */
            if ((int)i > first)
                add_batch(g.nspills ? &g.post : &g.pre, lines, lens, first, (int)i - first, 0);
            first = (int)i;
            in_spill = 1;
        } else if (n && events >= g.batch_events) {
            add_batch(&cur, lines, lens, first, (int)i - first, events);
            first = (int)i;
            events = 0;
        }
        events += n;
        if (is_end) {
            add_batch(&cur, lines, lens, first, (int)i + 1 - first, events);
            g.spills = xrealloc(g.spills, sizeof *g.spills * (size_t)(g.nspills + 1));
            g.spills[g.nspills++] = cur;
            cur = (struct spill){0};
            first = (int)i + 1;
            events = 0;
            in_spill = 0;
        }
    }
    if (in_spill)
        die("the input ends inside a spill (no spill_end)");
    if ((int)nlines > first)
        add_batch(&g.post, lines, lens, first, (int)nlines - first, 0);
    for (size_t i = 0; i < nlines; i++)
        free(lines[i]);
    free(lines);
    free(lens);
    if (!g.nspills)
        die("the input holds no spill");
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket failed");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    if (inet_pton(AF_INET, g.host, &a.sin_addr) != 1)
        die("--host must be an IPv4 address");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("cannot connect to the server");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Sends one request and reads its answer (Content-Length framed). Returns the HTTP status, or -1
 * when the connection failed; *close_after is set when the server asked to close. */
static int exchange(int fd, const struct batch *b, char *buf, size_t cap, int *close_after)
{
    for (size_t off = 0; off < b->len;) {
        ssize_t w = send(fd, b->req + off, b->len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the server may have answered early (413) and closed: read that answer */
        off += (size_t)w;
    }
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have + 1 >= cap)
            return -1;
        ssize_t r = recv(fd, buf + have, cap - 1 - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t head = (size_t)(end + 4 - buf), clen = 0;
    *close_after = 0;
    for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n")) {
        if (!strncasecmp(h + 2, "Content-Length:", 15))
            clen = strtoul(h + 17, NULL, 10);
        else if (!strncasecmp(h + 2, "Connection: close", 17))
            *close_after = 1;
    }
    if (head + clen >= cap)
        return -1;
    while (have < head + clen) {
        ssize_t r = recv(fd, buf + have, head + clen - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    buf[have] = 0;
    if (status != 200)
        note_error(status, buf + head);
    return status;
}

/* Sends the batches of one spill in order on *fd (reconnecting when the server closed). */
static void send_spill(int *fd, const struct spill *s, char *buf, size_t cap)
{
    for (int i = 0; i < s->n; i++) {
        int close_after = 0, status = exchange(*fd, &s->batches[i], buf, cap, &close_after);
        if (status == 200) {
            atomic_fetch_add(&g.ok, 1);
            atomic_fetch_add(&g.events_ok, s->batches[i].events);
        } else {
            atomic_fetch_add(&g.failed, 1);
            if (status < 0)
                note_error(status, "");
        }
        if (status < 0 || close_after) {
            close(*fd);
            *fd = connect_server();
        }
    }
}

static void *worker(void *arg)
{
    size_t cap = 1 << 16;
    char *buf = xrealloc(NULL, cap);
    int fd = connect_server();
    pthread_barrier_wait(&g.start);
    for (int k; (k = atomic_fetch_add(&g.next, 1)) < g.nspills;)
        send_spill(&fd, &g.spills[k], buf, cap);
    close(fd);
    free(buf);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(void)
{
    fprintf(stderr, "usage: ingest_load --port P --file F [--host 127.0.0.1] [--connections N] "
                    "[--batch EVENTS] [--token T]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *k = argv[i], *v = argv[++i];
        if (!strcmp(k, "--port"))
            g.port = atoi(v);
        else if (!strcmp(k, "--file"))
            g.file = v;
        else if (!strcmp(k, "--host"))
            g.host = v;
        else if (!strcmp(k, "--connections"))
            g.connections = atoi(v);
        else if (!strcmp(k, "--batch"))
            g.batch_events = atol(v);
        else if (!strcmp(k, "--token"))
            g.token = v;
        else
            usage();
    }
    if (g.port <= 0 || !g.file || g.connections < 1 || g.batch_events < 1)
        usage();
    prepare();
    pthread_mutex_init(&g.err_lock, NULL);
    pthread_barrier_init(&g.start, NULL, (unsigned)g.connections + 1);

    size_t cap = 1 << 16;
    char *buf = xrealloc(NULL, cap);
    int fd = connect_server();
    send_spill(&fd, &g.pre, buf, cap);

    pthread_t *t = xrealloc(NULL, sizeof *t * (size_t)g.connections);
    for (int i = 0; i < g.connections; i++)
        if (pthread_create(&t[i], NULL, worker, NULL))
            die("cannot start a thread");
    pthread_barrier_wait(&g.start);
    double t0 = now();
    for (int i = 0; i < g.connections; i++)
        pthread_join(t[i], NULL);
    double secs = now() - t0;
    send_spill(&fd, &g.post, buf, cap);
    close(fd);

    long events = 0, batches = 0, bytes = 0;
    for (int i = 0; i < g.nspills; i++)
        for (int j = 0; j < g.spills[i].n; j++) {
            events += g.spills[i].batches[j].events;
            bytes += (long)g.spills[i].batches[j].len;
            batches++;
        }
    json_t *out =
        json_pack("{sI sI sI sI sf sf sI sI sI ss si}", "events", (json_int_t)events, "events_ok",
                  (json_int_t)atomic_load(&g.events_ok), "batches", (json_int_t)batches, "spills",
                  (json_int_t)g.nspills, "seconds", secs, "events_per_s", (double)events / secs, "ok",
                  (json_int_t)atomic_load(&g.ok), "failed", (json_int_t)atomic_load(&g.failed), "bytes",
                  (json_int_t)bytes, "first_error", g.first_error, "connections", g.connections);
    char *txt = json_dumps(out, JSON_COMPACT);
    puts(txt);
    free(txt);
    json_decref(out);
    free(t);
    free(buf);
    for (int i = 0; i < g.nspills; i++) {
        for (int j = 0; j < g.spills[i].n; j++)
            free(g.spills[i].batches[j].req);
        free(g.spills[i].batches);
    }
    free(g.spills);
    for (int j = 0; j < g.pre.n; j++)
        free(g.pre.batches[j].req);
    for (int j = 0; j < g.post.n; j++)
        free(g.post.batches[j].req);
    free(g.pre.batches);
    free(g.post.batches);
    return atomic_load(&g.failed) ? 1 : 0;
}
