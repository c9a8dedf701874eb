/* tail.h — the tailer behind `spillwatch-collect file PATH` and `spillwatch-collect stdin`
 * (docs/collector.md): reads lines of DAQ output (NDJSON, wire format v1; follow.h), cuts them into
 * batches that never mix two spills (the cut policy), journals each batch before it is sent, sends it
 * (post.h), dead-letters what the collector or the server refuses, and clears the journal once a
 * spill is committed.
 *
 * The cut policy: a batch is sent when it holds --batch events or --batch-bytes bytes, when --flush-ms
 * passed since its first line, at a spill_end or run_end, before a line of another spill, and at a
 * file switch (a batch is one byte range of one file, so the journal can rebuild it: col_recover.h).
 *
 * Who owns what: the command (col_tail_cmd.c) fills the options, opens the state, the poster, the
 * follower and the spool, runs col_recover and then tail_run, and frees them all; the tailer owns the
 * batch being built and the counters. Single-threaded: everything here runs on the main thread (only
 * the spool's pump has a thread of its own, spool.h). */
#ifndef SW_TAIL_H
#define SW_TAIL_H

#include <signal.h>
#include <stdint.h>

#include "col_batch.h"
#include "follow.h"
#include "post.h"
#include "spool.h"
#include "state.h"

struct tail_opts {
    const char *url, *token, *source, *state, *path; /* borrowed from argv */
    const char *const *urls;                         /* every --url (nurls of them), url the first */
    int nurls;
    int64_t batch_events, batch_bytes, line_max;
    double flush_s, progress_s, poll_s;
    int exit_at_eof, fsync, verbose, quiet, from_stdin;
};

struct tailer {
    struct tail_opts o;
    struct state st;
    struct poster *p;
    struct follower *f;
    struct spool *spool; /* stdin mode */
    char spool_dir[4200];
    struct col_batch b;  /* the batch being built */
    double behind_since; /* CLOCK_MONOTONIC s since the collector is behind the input's end; NAN: at it */
    volatile sig_atomic_t *stop; /* raised by SIGINT/SIGTERM (col_catch_signals) */
    /* progress */
    uint64_t lines, batches, events, spills, dead, lost;
    double last_progress;
};

/* Sends b with seq, whose journal entry exists. A line the server refuses (400 naming it) is
 * dead-lettered and the rest is sent again with the same seq; a batch refused as a whole is
 * dead-lettered line by line and leaves the journal. Returns 0, 1 when nothing of it was applied (all
 * refused), or -1 on a fatal error. */
int tail_send_batch(struct tailer *t, struct col_batch *b, int64_t seq);

/* The follow loop: reads, cuts and sends until the stop flag goes up or (--exit-at-eof, or the end of
 * stdin) the input is over, then sends the last batch. Returns 0, or -1 on a fatal error (printed). */
int tail_run(struct tailer *t);

/* A progress line every --progress seconds; force: now, also with --quiet (the last one). */
void tail_progress(struct tailer *t, int force);

#endif
