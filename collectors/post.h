/* post.h — delivers NDJSON batches: POSTs them to <url>/api/v1/ingest with X-Spillwatch-Source and
 * X-Spillwatch-Seq (docs/design.md §6.4), or writes them to a file.
 *
 * Exactly once at spill granularity: the poster keeps every batch of the open spill until the batch
 * that closes it is applied. After a connection failure or a 5xx it reads the server's watermark
 * (GET /api/v1/sources/<id>) and resends from the first batch the server does not have, which is the
 * spill's first batch after a server crash (the open spill is lost as a whole there), with the same
 * sequence numbers. So a caller must never put two spills into one batch.
 *
 * Single-threaded; one curl easy handle, reused (keep-alive). Logs go to stderr. */
#ifndef SW_POST_H
#define SW_POST_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

struct poster;

struct poster_opts {
    const char *url;         /* server base URL; NULL -> write to out */
    const char *const *urls; /* nurls > 0: several servers on one database, url ignored: every one in order
                              * of preference. On a connection failure or a standby's 503 (it names
                              * the active server) the poster moves to the next one (to the named one
                              * when listed), reads the watermark there and resends from it. */
    int nurls;
    FILE *out;            /* borrowed; used when url is NULL */
    const char *token;    /* bearer token or NULL */
    const char *source;   /* X-Spillwatch-Source: 1..100 of [A-Za-z0-9._-] (the caller checks) */
    const char *instance; /* X-Spillwatch-Instance: this collector's identity (poster_make_instance), or
                           * NULL: the server then cannot tell two collectors of one source apart */
    int retry_forever;    /* keep retrying an unreachable server (--forever); else give up after 60 s */
    int verbose;          /* debug lines: duplicates, replays, every retry */
};

/* What the server has of this source. */
struct poster_mark {
    int64_t seq;           /* last applied sequence number, 0 for an unknown source */
    int64_t committed_seq; /* the seq committed with the last spill (what survives a server crash) */
    int64_t run, spill;    /* last committed spill, -1 when none */
};

/* What the poster did so far. */
struct poster_stats {
    uint64_t moves;      /* times it moved to another server (nurls > 1) */
    uint64_t sent;       /* batches the server applied (first time) */
    uint64_t duplicates; /* batches the server already had */
    uint64_t late;       /* batches refused as late (409) */
    uint64_t refused;    /* batches refused as bad (400, 413): the caller dead-letters them */
    uint64_t retries;    /* failed attempts (unreachable, 5xx, 429) */
    uint64_t replays;    /* batches sent again after the server lost them */
};

/* The characters of a source id (X-Spillwatch-Source): [A-Za-z0-9._-]. */
#define POSTER_SOURCE_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* 1 when s is a valid source id: 1 to 100 of POSTER_SOURCE_CHARS. */
int poster_source_ok(const char *s);

/* A new collector instance id: 32 random hex digits (getrandom) and a NUL. 0, or -1 (printed). */
#define POSTER_INSTANCE_LEN 32
int poster_make_instance(char out[POSTER_INSTANCE_LEN + 1]);

/* Copies what it needs of opts. Returns NULL on out of memory or a curl set-up failure. */
struct poster *poster_new(const struct poster_opts *opts);
/* Accepts NULL. */
void poster_free(struct poster *p);

/* Reads the source's watermark and continues the sequence after it; fills *mark (seq 0, run/spill -1
 * for a source the server has not seen, and always so when writing to a file). Retries like a send.
 * Returns 0, or -1 (printed) when the server cannot be reached or refuses; then nothing changed. */
int poster_resume(struct poster *p, struct poster_mark *mark);

/* Sends one batch (body is borrowed: copied when kept for a replay) with the next sequence number.
 * closes_spill: the batch ends a spill (carries spill_end) or is the run_end batch, so the kept batches
 * can go once it is applied. Returns
 *    0  the server applied it, already had it, or refused it as late (409: logged and counted);
 *    1  the server refused this batch as bad (400, or 413 too large): nothing of it was applied, it is
 *       not kept, and its sequence number is handed out again next; poster_refusal tells why;
 *   -1  a fatal answer (401, 403, 404, …: the server's JSON printed; a 409 saying that another
 *       collector instance holds the source: printed with what to do), retries ran out, the stop flag
 *       was raised during retries, a kept batch was refused on a replay, or a write error.
 * Backoff on connection errors, 5xx and 429: 0.2 s doubling to 5 s, each wait drawn uniformly from
 * [d/2, d] (jitter, so restarted collectors do not return in step); a Retry-After header is obeyed. */
int poster_send(struct poster *p, const char *body, size_t len, int closes_spill);

/* The sequence number the next poster_send or poster_keep uses. */
int64_t poster_next_seq(const struct poster *p);

/* Continues the sequence after seq (a collector restarting from its own journal). */
void poster_set_seq(struct poster *p, int64_t seq);

/* Takes the next sequence number for a batch the server has applied already (a restart rebuilding the
 * batches since the last committed spill) and keeps it for a replay, without sending it. closes_spill as
 * for poster_send. Returns 0, or -1 on out of memory. */
int poster_keep(struct poster *p, const char *body, size_t len, int closes_spill);

/* After poster_send returned 1: the status (400, 413), the server's "error" text (valid until the next
 * call) and the 1-based line of the batch it names, or 0 when it names none. */
long poster_refusal(const struct poster *p, const char **error, int *line);

/* Sent with every later POST as X-Spillwatch-Lag-Bytes and X-Spillwatch-Lag-Seconds (the input not yet
 * sent); bytes < 0 sends neither. */
void poster_set_lag(struct poster *p, int64_t bytes, double seconds);

const struct poster_stats *poster_stats(const struct poster *p);

/* Retries stop (the send fails) once *flag becomes non-zero, e.g. set by a SIGTERM handler. */
void poster_set_stop_flag(struct poster *p, volatile sig_atomic_t *flag);

/* Number of batches refused as late (409) so far. */
uint64_t poster_late(const struct poster *p);

/* 1 once the server said that another collector instance holds the source (the send or resume that
 * heard it failed). */
int poster_source_taken(const struct poster *p);

/* A collector that stops cleanly gives its source up (POST /api/v1/sources/<id>/release), so that
 * another instance may take it over at once instead of after the server's lease. One attempt, no
 * retries; a failure is only logged (verbose). No-op without a URL or an instance. */
void poster_release(struct poster *p);

#endif
