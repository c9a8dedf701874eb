/* tail.c — see tail.h
 *
 * The main loop reads lines (follow.h), classifies each (type, run, spill, events), and adds it to the
 * batch being built. A batch is sent when it holds --batch events or --batch-bytes bytes, when --flush-ms
 * passed since its first line, at a spill_end or run_end, before a line of another spill, and at a file
 * switch (a batch is one byte range of one file, so the journal can rebuild it). Before a batch is sent
 * its seq and byte range are saved in the journal (state.h); after a spill_end is applied the journal is
 * cleared. On start the journal is replayed against the server's watermark: batches the server has are
 * rebuilt and kept for a later replay, the others are sent again with their own seq. */
#include "tail.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "post.h"
#include "scan.h"
#include "spool.h"
#include "state.h"

struct batch {
    char *body;
    size_t len, cap;
    int64_t *starts; /* start offset of each line in body */
    size_t nlines, caplines;
    int64_t *drop; /* start offsets of lines in the range left out */
    size_t ndrop, capdrop;
    struct follow_file file;
    int64_t start, end; /* byte range in file; start < 0: empty */
    int has_spill;
    int64_t run, spill;
    int64_t events;
    int closes;
    double first_mono;
};

struct opts {
    const char *url, *token, *source, *state, *path;
    int64_t batch_events, batch_bytes, line_max;
    double flush_s, progress_s, poll_s;
    int exit_at_eof, fsync, verbose, quiet, from_stdin;
};

struct tailer {
    struct opts o;
    struct state st;
    struct poster *p;
    struct follower *f;
    struct spool *spool;
    char spool_dir[4200];
    struct batch b;
    double behind_since; /* CLOCK_MONOTONIC s since the collector is behind the input's end; NAN: at it */
    /* progress */
    uint64_t lines, batches, events, spills, dead, lost;
    double last_progress;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void usage(FILE *f, int from_stdin)
{
    fprintf(
        f,
        "usage: spillwatch-collect %s --url URL --state DIR [options]\n"
        "\n"
        "%s"
        "sends it to a spillwatch server in batches, exactly once per spill across crashes of the\n"
        "collector and of the server (the journal in --state).\n"
        "\n"
        "  --url URL          server base URL, e.g. http://127.0.0.1:8080\n"
        "  --state DIR        durable state: journal, dead-letter file%s (required)\n"
        "  --source ID        X-Spillwatch-Source, 1-100 of [A-Za-z0-9._-] (default %s)\n"
        "  --token T          bearer token (ingest role); --token-file F reads it from F\n"
        "  --batch N          events per batch (default 1000)\n"
        "  --batch-bytes N    bytes per batch (default 4194304)\n"
        "  --flush-ms N       send a batch at the latest N ms after its first line (default 500)\n"
        "  --line-max N       longest line in bytes (default 8388608); longer lines are dead-lettered\n"
        "  --exit-at-eof      %s\n"
        "  --no-fsync         do not fsync the journal (survives a collector crash, not a machine crash)\n"
        "  --progress S       a progress line every S seconds (default 10, 0 = never)\n"
        "  --quiet, --verbose\n"
        "\n"
        "Exit status: 0 ok (also after SIGINT/SIGTERM), 1 runtime failure, 2 usage error.\n",
        from_stdin ? "stdin" : "file PATH",
        from_stdin ? "Reads wire-format v1 NDJSON from standard input, copies it to a spool in --state, and\n"
                   : "Follows PATH like `tail -F` (rotation, truncation, a file that appears later), and\n",
        from_stdin ? ", spool of stdin" : "", from_stdin ? "<host>-stdin" : "<host>-<file name>",
        from_stdin ? "implied: the collector ends once stdin has ended and all is sent"
                   : "end once the end of PATH is reached and all is sent");
}

/* ---- batch buffer ---- */

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *n = realloc(*p, c * size);
    if (!n)
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

static void batch_reset(struct batch *b)
{
    b->len = b->nlines = b->ndrop = 0;
    b->start = b->end = -1;
    b->has_spill = 0;
    b->events = 0;
    b->closes = 0;
}

static void batch_free(struct batch *b)
{
    free(b->body);
    free(b->starts);
    free(b->drop);
}

static int batch_add_line(struct batch *b, const char *line, size_t len, int64_t start)
{
    if (grow((void **)&b->body, &b->cap, b->len + len + 2, 1) != 0 ||
        grow((void **)&b->starts, &b->caplines, b->nlines + 1, sizeof *b->starts) != 0)
        return -1;
    memcpy(b->body + b->len, line, len);
    b->len += len;
    b->body[b->len++] = '\n';
    b->body[b->len] = 0;
    b->starts[b->nlines++] = start;
    return 0;
}

static int batch_add_drop(struct batch *b, int64_t start)
{
    if (grow((void **)&b->drop, &b->capdrop, b->ndrop + 1, sizeof *b->drop) != 0)
        return -1;
    b->drop[b->ndrop++] = start;
    return 0;
}

/* Removes line k (0-based) of the body; it becomes a dropped line. */
static int batch_remove_line(struct batch *b, size_t k)
{
    char *s = b->body;
    for (size_t i = 0; i < k; i++)
        s = strchr(s, '\n') + 1;
    char *e = strchr(s, '\n') + 1;
    if (batch_add_drop(b, b->starts[k]) != 0)
        return -1;
    memmove(s, e, (size_t)(b->body + b->len - e) + 1);
    b->len -= (size_t)(e - s);
    memmove(b->starts + k, b->starts + k + 1, (b->nlines - k - 1) * sizeof *b->starts);
    b->nlines--;
    return 0;
}

/* ---- sending ---- */

static struct state_batch *journal_find(struct state *s, int64_t seq, size_t *index)
{
    for (size_t i = 0; i < s->njournal; i++)
        if (s->journal[i].seq == seq) {
            *index = i;
            return &s->journal[i];
        }
    return NULL;
}

static void dead_letter(struct tailer *t, const char *line, size_t len, const struct follow_file *file,
                        int64_t offset, int64_t seq, long status, const char *error)
{
    t->dead++;
    if (!t->o.quiet)
        fprintf(stderr, "collect: %s offset %lld: dead-lettered (%s%s): %s\n", file->name, (long long)offset,
                status ? "refused by the server, status " : "refused by the collector",
                status == 400   ? "400"
                : status == 413 ? "413"
                                : "",
                error);
    state_dead_letter(&t->st, line, len, file, offset, seq, status, error);
}

/* The lag a batch reports: the input after it, not sent yet. */
static void set_lag(struct tailer *t)
{
    int64_t bytes = follow_lag_bytes(t->f);
    double s = bytes > 0 && !isnan(t->behind_since) ? mono_s() - t->behind_since : 0;
    poster_set_lag(t->p, bytes, s);
}

/* Sends b with seq, whose journal entry exists. A line the server refuses (400 naming it) is
 * dead-lettered and the rest is sent again with the same seq; a batch refused as a whole is
 * dead-lettered line by line and leaves the journal. Returns 0, 1 when nothing of it was applied (all
 * refused), or -1 on a fatal error. */
static int send_batch(struct tailer *t, struct batch *b, int64_t seq)
{
    for (;;) {
        poster_set_seq(t->p, seq - 1);
        set_lag(t);
        int rc = poster_send(t->p, b->body, b->len, b->closes);
        if (rc <= 0)
            return rc;
        const char *err;
        int line;
        long status = poster_refusal(t->p, &err, &line);
        char *error = strdup(err);
        size_t ji = 0;
        struct state_batch *j = journal_find(&t->st, seq, &ji);
        if (status == 400 && line >= 1 && (size_t)line <= b->nlines && b->nlines > 1 && j) {
            const char *s = b->body;
            for (int i = 1; i < line; i++)
                s = strchr(s, '\n') + 1;
            dead_letter(t, s, (size_t)(strchr(s, '\n') - s), &b->file, b->starts[line - 1], seq, status,
                        error ? error : "");
            free(error);
            if (batch_remove_line(b, (size_t)line - 1) != 0)
                return -1;
            int64_t *d = realloc(j->drop, (j->ndrop + 1) * sizeof *d);
            if (!d)
                return -1;
            d[j->ndrop++] = b->drop[b->ndrop - 1];
            j->drop = d;
            if (state_save(&t->st) != 0)
                return -1;
            continue;
        }
        const char *s = b->body;
        for (size_t i = 0; i < b->nlines; i++) {
            const char *e = strchr(s, '\n');
            dead_letter(t, s, (size_t)(e - s), &b->file, b->starts[i], seq, status, error ? error : "");
            s = e + 1;
        }
        free(error);
        if (j)
            state_journal_remove(&t->st, ji);
        if (t->st.seq == seq)
            t->st.seq = seq - 1; /* the seq is handed out again */
        return state_save(&t->st) == 0 ? 1 : -1;
    }
}

/* After a batch with a spill_end was applied: everything journaled is committed. */
static int committed(struct tailer *t)
{
    state_journal_shift(&t->st, t->st.njournal);
    t->spills++;
    if (state_save(&t->st) != 0)
        return -1;
    if (t->o.from_stdin && t->st.has_pos) /* segments before the read position are not needed again */
        spool_prune(t->spool_dir, spool_segment_number(t->st.pos.name));
    return 0;
}

static int flush(struct tailer *t)
{
    struct batch *b = &t->b;
    if (b->start < 0)
        return 0;
    t->st.pos = b->file;
    t->st.pos_off = b->end;
    t->st.has_pos = 1;
    if (b->nlines == 0) { /* only refused lines: saved with the next batch */
        batch_reset(b);
        return 0;
    }
    int64_t seq = poster_next_seq(t->p);
    struct state_batch e = {.seq = seq,
                            .file = b->file,
                            .start = b->start,
                            .end = b->end,
                            .closes = b->closes,
                            .drop = b->drop,
                            .ndrop = b->ndrop};
    if (state_journal_add(&t->st, &e) != 0)
        return -1;
    t->st.seq = seq;
    if (state_save(&t->st) != 0) /* never send what the journal could not rebuild */
        return -1;
    int rc = send_batch(t, b, seq);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        t->batches++;
        t->events += (uint64_t)b->events;
        if (b->closes && committed(t) != 0)
            return -1;
    }
    batch_reset(b);
    return 0;
}

static int same_file(const struct follow_file *a, const struct follow_file *b)
{
    return a->dev == b->dev && a->ino == b->ino;
}

static int handle_line(struct tailer *t, const struct follow_line *l)
{
    struct batch *b = &t->b;
    t->lines++;
    if (b->start >= 0 && !same_file(&b->file, l->file) && flush(t) != 0)
        return -1;
    if (b->start < 0) {
        b->file = *l->file;
        b->start = l->start;
        b->first_mono = mono_s();
    }
    char why[300];
    struct scan_result sr = {0};
    size_t blank = 0;
    while (blank < l->len && strchr(" \t\r", l->p[blank]))
        blank++;
    int bad = 0;
    if (l->too_long) {
        snprintf(why, sizeof why, "longer than --line-max %lld bytes (the record holds its first %zu)",
                 (long long)t->o.line_max, l->len);
        bad = 1;
    } else if (blank == l->len) {
        b->end = l->end;
        return batch_add_drop(b, l->start); /* blank: carries nothing */
    } else
        bad = scan_line(l->p, l->len, &sr, why, sizeof why) != 0;
    if (bad) {
        dead_letter(t, l->p, l->len, l->file, l->start, 0, 0, why);
        b->end = l->end;
        return batch_add_drop(b, l->start);
    }
    int has_spill = sr.has_spill;
    int64_t run = sr.run, spill = sr.spill, events = sr.events;
    int other_spill = has_spill && b->has_spill && (b->run != run || b->spill != spill);
    int full = b->nlines > 0 &&
               (b->events + events > t->o.batch_events || (int64_t)(b->len + l->len + 1) > t->o.batch_bytes);
    if (other_spill || full) {
        if (flush(t) != 0)
            return -1;
        b->file = *l->file;
        b->start = l->start;
        b->first_mono = mono_s();
    }
    if (batch_add_line(b, l->p, l->len, l->start) != 0)
        return -1;
    b->end = l->end;
    b->events += events;
    if (has_spill) {
        b->has_spill = 1;
        b->run = run;
        b->spill = spill;
    }
    if (sr.type == SCAN_SPILL_END)
        b->closes = 1;
    if (sr.type == SCAN_SPILL_END || sr.type == SCAN_RUN_END || b->events >= t->o.batch_events ||
        (int64_t)b->len >= t->o.batch_bytes)
        return flush(t);
    return 0;
}

/* ---- recovery ---- */

/* Rebuilds a journaled batch from its file. Returns 0, or -1 when its bytes are gone. */
static int rebuild(struct tailer *t, const struct state_batch *e, struct batch *b)
{
    size_t len;
    char *raw = follow_read_range(t->f, &e->file, e->start, e->end, &len);
    if (!raw)
        return -1;
    batch_reset(b);
    b->file = e->file;
    b->start = e->start;
    b->end = e->end;
    b->closes = e->closes;
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        char *nl = memchr(raw + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (raw + at)) : len - at;
        int64_t off = e->start + (int64_t)at;
        int dropped = 0;
        for (size_t k = 0; k < e->ndrop && !dropped; k++)
            dropped = e->drop[k] == off;
        rc = dropped ? batch_add_drop(b, off) : batch_add_line(b, raw + at, n, off);
        at += n + 1;
    }
    free(raw);
    return rc;
}

/* Brings the server up to the journal (see the top of the file). Returns 0, or -1 (printed). */
static int recover(struct tailer *t)
{
    struct poster_mark m;
    if (poster_resume(t->p, &m) != 0)
        return -1;
    struct state *s = &t->st;
    if (m.seq > s->seq) {
        fprintf(stderr,
                "collect: the server has applied up to seq %lld from source \"%s\", but %s %s: another "
                "collector uses this source id, or this state is not the one that sent them. Restore the "
                "state directory, or use a new --source (spills the server has committed then answer 409 "
                "and are not counted twice)\n",
                (long long)m.seq, s->source, s->fresh ? "the state in" : "the journal in", s->dir);
        if (!s->fresh)
            fprintf(stderr, "collect: (the journal knows seq %lld at most)\n", (long long)s->seq);
        return -1;
    }
    poster_set_seq(t->p, s->seq);
    if (s->njournal)
        fprintf(stderr,
                "collect: journal: seq %lld-%lld since the last committed spill; the server has up to %lld\n",
                (long long)s->journal[0].seq, (long long)s->journal[s->njournal - 1].seq, (long long)m.seq);
    struct batch b = {0};
    int rc = 0;
    for (size_t i = 0; i < s->njournal && rc == 0 && !stop_requested;) {
        struct state_batch *e = &s->journal[i];
        int64_t seq = e->seq;
        int closes = e->closes;
        if (rebuild(t, e, &b) != 0) {
            if (seq > m.seq) {
                fprintf(stderr,
                        "collect: error: seq %lld is lost: the server does not have it and its lines "
                        "cannot be read again\n",
                        (long long)seq);
                t->lost++;
            }
            i++;
            continue;
        }
        if (seq <= m.seq) {
            poster_set_seq(t->p, seq - 1);
            rc = poster_keep(t->p, b.body, b.len, closes);
        } else {
            fprintf(stderr, "collect: sending seq %lld again (%zu lines)\n", (long long)seq, b.nlines);
            int r = send_batch(t, &b, seq);
            if (r < 0)
                rc = -1;
            if (r != 0)
                continue; /* refused as a whole: it left the journal, entry i is the next one */
            t->batches++;
        }
        if (rc == 0 && closes) {
            state_journal_shift(s, i + 1);
            rc = state_save(s);
            i = 0;
            continue;
        }
        i++;
    }
    batch_free(&b);
    poster_set_seq(t->p, s->seq);
    if (rc == 0 && s->has_pos)
        follow_start(t->f, &s->pos, s->pos_off);
    return rc;
}

/* ---- main loop ---- */

static void progress(struct tailer *t, int force)
{
    double now = mono_s();
    if (!force && (t->o.progress_s <= 0 || now - t->last_progress < t->o.progress_s))
        return;
    t->last_progress = now;
    if (t->o.quiet && !force)
        return;
    const struct poster_stats *ps = poster_stats(t->p);
    int64_t lag = follow_lag_bytes(t->f) + (int64_t)t->b.len;
    fprintf(stderr,
            "collect: %s: %llu lines, %llu batches, %llu events, %llu spills committed, %llu dead-lettered, "
            "%llu late, %llu retries, lag %lld B %.1f s\n",
            t->st.source, (unsigned long long)t->lines, (unsigned long long)t->batches,
            (unsigned long long)t->events, (unsigned long long)t->spills, (unsigned long long)t->dead,
            (unsigned long long)ps->late, (unsigned long long)ps->retries, (long long)lag,
            lag > 0 && !isnan(t->behind_since) ? now - t->behind_since : 0.0);
}

static int run(struct tailer *t)
{
    for (;;) {
        if (stop_requested)
            return flush(t);
        struct follow_line l;
        int r = follow_next(t->f, &l);
        if (r == 1) {
            if (isnan(t->behind_since))
                t->behind_since = mono_s();
            if (handle_line(t, &l) != 0)
                return -1;
            if (t->b.nlines && mono_s() - t->b.first_mono >= t->o.flush_s && flush(t) != 0)
                return -1;
            if ((t->lines & 1023) == 0)
                progress(t, 0);
            continue;
        }
        if (r == 0)
            t->behind_since = NAN;
        int input_over = t->o.from_stdin ? spool_eof(t->spool) : t->o.exit_at_eof;
        if (r == 0 && input_over && follow_at_end(t->f)) {
            /* Make sure nothing arrived meanwhile, and take a last line without '\n' too. */
            follow_set_drain(t->f, 1);
            while ((r = follow_next(t->f, &l)) == 1)
                if (handle_line(t, &l) != 0)
                    return -1;
            return flush(t);
        }
        if (t->b.nlines && mono_s() - t->b.first_mono >= t->o.flush_s && flush(t) != 0)
            return -1;
        progress(t, 0);
        double wait = t->o.poll_s;
        if (t->b.nlines)
            wait = fmin(wait, fmax(0.001, t->b.first_mono + t->o.flush_s - mono_s()));
        usleep((useconds_t)(wait * 1e6));
    }
}

/* The default source id: <host>-<name>-<8 hex digits of a hash of what it reads (the absolute path
 * of the file, or the state directory for stdin)>, cut to [A-Za-z0-9._-] and 100 characters: two
 * files of one name in two directories are two sources. */
static void default_source(const char *name, const char *what, char *buf, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = what; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    char *dot = strchr(host, '.');
    if (dot)
        *dot = 0;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    char tag[16];
    snprintf(tag, sizeof tag, "-%08x", (unsigned)h);
    snprintf(buf, len, "%s-%s", host, base); /* len >= 101 */
    buf[100 - strlen(tag)] = 0;
    strcat(buf, tag);
    for (char *c = buf; *c; c++)
        if (!strchr(POSTER_SOURCE_CHARS, *c))
            *c = '_';
}

static char *read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "spillwatch-collect: --token-file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n > 0 && strchr("\r\n \t", buf[n - 1]))
        buf[--n] = 0;
    if (!n) {
        fprintf(stderr, "spillwatch-collect: --token-file %s is empty\n", path);
        return NULL;
    }
    return strdup(buf);
}

int cmd_tail(int argc, char **argv, int from_stdin)
{
    const char *cmd = from_stdin ? "stdin" : "file";
    enum {
        O_URL = 256,
        O_TOKEN,
        O_TOKEN_FILE,
        O_SOURCE,
        O_STATE,
        O_BATCH,
        O_BATCH_BYTES,
        O_FLUSH,
        O_LINE_MAX,
        O_EXIT_EOF,
        O_NO_FSYNC,
        O_PROGRESS,
        O_POLL,
        O_QUIET,
        O_VERBOSE,
        O_HELP
    };
    static const struct option opts[] = {
        {"url", 1, NULL, O_URL},
        {"token", 1, NULL, O_TOKEN},
        {"token-file", 1, NULL, O_TOKEN_FILE},
        {"source", 1, NULL, O_SOURCE},
        {"state", 1, NULL, O_STATE},
        {"batch", 1, NULL, O_BATCH},
        {"batch-bytes", 1, NULL, O_BATCH_BYTES},
        {"flush-ms", 1, NULL, O_FLUSH},
        {"line-max", 1, NULL, O_LINE_MAX},
        {"exit-at-eof", 0, NULL, O_EXIT_EOF},
        {"no-fsync", 0, NULL, O_NO_FSYNC},
        {"progress", 1, NULL, O_PROGRESS},
        {"poll-ms", 1, NULL, O_POLL},
        {"quiet", 0, NULL, O_QUIET},
        {"verbose", 0, NULL, O_VERBOSE},
        {"help", 0, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    struct tailer t = {.o = {.batch_events = 1000,
                             .batch_bytes = 4 << 20,
                             .line_max = 8 << 20,
                             .flush_s = 0.5,
                             .progress_s = 10,
                             .poll_s = 0.05,
                             .fsync = 1,
                             .from_stdin = from_stdin},
                       .behind_since = NAN};
    char *token_buf = NULL;
    const char *token_file = NULL;
    int c, li = 0;
    double ms;
    char *end;
    opterr = 0;
#define NUM(var, conv, lo, hi)                                                                             \
    do {                                                                                                   \
        errno = 0;                                                                                         \
        var = conv;                                                                                        \
        if (!*optarg || *end || errno || !(var >= (lo) && var <= (hi))) {                                  \
            fprintf(stderr, "spillwatch-collect %s: --%s \"%s\": must be a number within [%g, %g]\n", cmd, \
                    opts[li].name, optarg, (double)(lo), (double)(hi));                                    \
            return 2;                                                                                      \
        }                                                                                                  \
    } while (0)
    while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
        switch (c) {
        case O_URL:
            t.o.url = optarg;
            break;
        case O_TOKEN:
            t.o.token = optarg;
            break;
        case O_TOKEN_FILE:
            token_file = optarg;
            break;
        case O_SOURCE:
            t.o.source = optarg;
            break;
        case O_STATE:
            t.o.state = optarg;
            break;
        case O_BATCH:
            NUM(t.o.batch_events, strtoll(optarg, &end, 10), 1, 1000000);
            break;
        case O_BATCH_BYTES:
            NUM(t.o.batch_bytes, strtoll(optarg, &end, 10), 1024, 1 << 30);
            break;
        case O_FLUSH:
            NUM(ms, strtod(optarg, &end), 1, 3600000);
            t.o.flush_s = ms / 1000;
            break;
        case O_LINE_MAX:
            NUM(t.o.line_max, strtoll(optarg, &end, 10), 1024, 1 << 30);
            break;
        case O_EXIT_EOF:
            t.o.exit_at_eof = 1;
            break;
        case O_NO_FSYNC:
            t.o.fsync = 0;
            break;
        case O_PROGRESS:
            NUM(t.o.progress_s, strtod(optarg, &end), 0, 86400);
            break;
        case O_POLL:
            NUM(ms, strtod(optarg, &end), 1, 10000);
            t.o.poll_s = ms / 1000;
            break;
        case O_QUIET:
            t.o.quiet = 1;
            break;
        case O_VERBOSE:
            t.o.verbose = 1;
            break;
        case O_HELP:
            usage(stdout, from_stdin);
            return 0;
        default:
            if (optopt >= O_URL)
                fprintf(stderr, "spillwatch-collect %s: option \"%s\" needs a value\n", cmd,
                        argv[optind - 1]);
            else
                fprintf(stderr, "spillwatch-collect %s: unknown option \"%s\" (see --help)\n", cmd,
                        argv[optind - 1]);
            return 2;
        }
    }
#undef NUM
    if (!from_stdin) {
        if (optind >= argc) {
            fprintf(stderr, "spillwatch-collect file: the PATH to follow is missing (see --help)\n");
            return 2;
        }
        t.o.path = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "spillwatch-collect %s: unexpected argument \"%s\" (see --help)\n", cmd,
                argv[optind]);
        return 2;
    }
    if (!t.o.url || !t.o.state) {
        fprintf(stderr, "spillwatch-collect %s: --url and --state are required\n", cmd);
        return 2;
    }
    if (t.o.token && token_file) {
        fprintf(stderr, "spillwatch-collect %s: --token and --token-file exclude each other\n", cmd);
        return 2;
    }
    char input[4200];
    if (from_stdin)
        snprintf(input, sizeof input, "stdin");
    else {
        char *abs = realpath(t.o.path, NULL); /* the state names the file the same way from any cwd */
        if (!abs && t.o.path[0] != '/') {
            char cwd[4096];
            snprintf(input, sizeof input, "file:%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".", t.o.path);
        } else
            snprintf(input, sizeof input, "file:%s", abs ? abs : t.o.path);
        free(abs);
    }
    char src[128];
    if (t.o.source) {
        if (!poster_source_ok(t.o.source)) {
            fprintf(stderr, "spillwatch-collect %s: --source \"%s\": 1 to 100 characters of [A-Za-z0-9._-]\n",
                    cmd, t.o.source);
            return 2;
        }
        snprintf(src, sizeof src, "%s", t.o.source);
    } else if (state_peek_source(t.o.state, src, sizeof src) != 0 || !poster_source_ok(src)) {
        /* no state yet: the default; a state keeps the source it was made with */
        char *dir = realpath(t.o.state, NULL);
        default_source(from_stdin ? "stdin" : t.o.path, from_stdin ? (dir ? dir : t.o.state) : input, src,
                       sizeof src);
        free(dir);
    }
    if (token_file && !(token_buf = read_token(token_file)))
        return 2;
    int rc = 1;
    if (state_open(&t.st, t.o.state, src, input, t.o.fsync) != 0) {
        state_close(&t.st);
        free(token_buf);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct poster_opts po = {.url = t.o.url,
                             .token = token_buf ? token_buf : t.o.token,
                             .source = src,
                             .instance = t.st.instance,
                             .retry_forever = 1,
                             .verbose = t.o.verbose};
    snprintf(t.spool_dir, sizeof t.spool_dir, "%s/spool", t.o.state);
    t.p = poster_new(&po);
    t.f = follow_new(from_stdin ? FOLLOW_SPOOL : FOLLOW_PATH, from_stdin ? t.spool_dir : input + 5,
                     (size_t)t.o.line_max);
    batch_reset(&t.b);
    if (!t.p || !t.f) {
        fprintf(stderr, "spillwatch-collect %s: out of memory\n", cmd);
        goto out;
    }
    poster_set_stop_flag(t.p, &stop_requested);
    if (from_stdin && !(t.spool = spool_start(t.spool_dir, 0, 16 << 20)))
        goto out;
    if (!t.o.quiet)
        fprintf(stderr, "collect: source %s, %s, state %s\n", src, input, t.o.state);
    if (recover(&t) != 0)
        goto out;
    rc = run(&t) == 0 || stop_requested ? 0 : 1;
    progress(&t, 1);
    if (t.lost)
        rc = 1;
    if (rc == 0)
        poster_release(t.p); /* stopped cleanly: another collector may take the source at once */
out:
    spool_stop(t.spool);
    poster_free(t.p);
    follow_free(t.f);
    batch_free(&t.b);
    state_close(&t.st);
    free(token_buf);
    return rc;
}
