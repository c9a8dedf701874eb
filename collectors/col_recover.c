/* col_recover.c — see col_recover.h */
#include "col_recover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rebuilds a journaled batch from its file. Returns 0, or -1 when its bytes are gone. */
static int rebuild(struct tailer *t, const struct state_batch *e, struct col_batch *b)
{
    size_t len;
    char *raw = follow_read_range(t->f, &e->file, e->start, e->end, &len);
    if (!raw)
        return -1;
    col_batch_reset(b);
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
        rc = dropped ? col_batch_add_drop(b, off) : col_batch_add_line(b, raw + at, n, off);
        at += n + 1;
    }
    free(raw);
    return rc;
}

int col_recover(struct tailer *t)
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
    struct col_batch b = {0};
    int rc = 0;
    for (size_t i = 0; i < s->njournal && rc == 0 && !*t->stop;) {
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
            int r = tail_send_batch(t, &b, seq);
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
    col_batch_free(&b);
    poster_set_seq(t->p, s->seq);
    if (rc == 0 && s->has_pos)
        follow_start(t->f, &s->pos, s->pos_off);
    return rc;
}
