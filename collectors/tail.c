/* tail.c — see tail.h
 *
 * The main loop reads lines (follow.h), classifies each (type, run, spill, events; scan.h), and adds
 * it to the batch being built (col_batch.h); the cut policy (tail.h) decides when the batch is sent.
 * Before a batch is sent its seq and byte range are saved in the journal (state.h); after a spill_end
 * is applied the journal is cleared. */
#include "tail.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scan.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
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

int tail_send_batch(struct tailer *t, struct col_batch *b, int64_t seq)
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
            const char *s = col_batch_line(b, (size_t)line - 1);
            dead_letter(t, s, (size_t)(strchr(s, '\n') - s), &b->file, b->starts[line - 1], seq, status,
                        error ? error : "");
            free(error);
            if (col_batch_remove_line(b, (size_t)line - 1) != 0)
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

/* Sends the batch being built, journaled first, and starts an empty one; the read position saved with
 * the journal moves past its byte range. Returns 0, or -1 on a fatal error. */
static int flush(struct tailer *t)
{
    struct col_batch *b = &t->b;
    if (b->start < 0)
        return 0;
    t->st.pos = b->file;
    t->st.pos_off = b->end;
    t->st.has_pos = 1;
    if (b->nlines == 0) { /* only refused lines: saved with the next batch */
        col_batch_reset(b);
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
    int rc = tail_send_batch(t, b, seq);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        t->batches++;
        t->events += (uint64_t)b->events;
        if (b->closes && committed(t) != 0)
            return -1;
    }
    col_batch_reset(b);
    return 0;
}

static int same_file(const struct follow_file *a, const struct follow_file *b)
{
    return a->dev == b->dev && a->ino == b->ino;
}

/* The cut policy (tail.h) for one line: a line of another file or another spill, or one that would
 * overfill the batch, sends the batch first; a spill_end, a run_end or a full batch is sent with the
 * line. A blank, too long or unreadable line is left out (a drop; dead-lettered unless blank). */
static int handle_line(struct tailer *t, const struct follow_line *l)
{
    struct col_batch *b = &t->b;
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
        return col_batch_add_drop(b, l->start); /* blank: carries nothing */
    } else
        bad = scan_line(l->p, l->len, &sr, why, sizeof why) != 0;
    if (bad) {
        dead_letter(t, l->p, l->len, l->file, l->start, 0, 0, why);
        b->end = l->end;
        return col_batch_add_drop(b, l->start);
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
    if (col_batch_add_line(b, l->p, l->len, l->start) != 0)
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

/* ---- main loop ---- */

void tail_progress(struct tailer *t, int force)
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

int tail_run(struct tailer *t)
{
    for (;;) {
        if (*t->stop)
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
                tail_progress(t, 0);
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
        tail_progress(t, 0);
        double wait = t->o.poll_s;
        if (t->b.nlines)
            wait = fmin(wait, fmax(0.001, t->b.first_mono + t->o.flush_s - mono_s()));
        usleep((useconds_t)(wait * 1e6));
    }
}
