/* post.h — delivers NDJSON batches: POSTs them to /api/v1/ingest with X-Spillwatch-Source/Seq
 * (idempotent, retried with backoff), or writes them to a file. Single-threaded. */
#ifndef SW_POST_H
#define SW_POST_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

struct poster;

/* url NULL -> write to out (a FILE the caller owns). token may be NULL. retry_forever: keep
 * retrying unreachable servers (for --forever); otherwise give up after about 60 s.
 * Returns NULL on out of memory or a curl set-up failure. */
struct poster *poster_new(const char *url, const char *token, const char *source, FILE *out,
                          int retry_forever);
void poster_free(struct poster *p);

/* Asks the server for the source's watermark and continues after it. Returns 0 (also for a
 * source the server has not seen) or -1 when the server cannot be reached. */
int poster_resume(struct poster *p);

/* Sends one batch with the next sequence number. Returns 0 when the server applied it (or had it
 * already, or refused it as late with 409: logged), -1 on a fatal answer (400/401/403/413, printed)
 * or when retries ran out. */
int poster_send(struct poster *p, const char *body, size_t len);

/* Retries stop (the send fails) once *flag becomes non-zero, e.g. set by a SIGTERM handler. */
void poster_set_stop_flag(struct poster *p, volatile sig_atomic_t *flag);

/* Number of 409 answers so far. */
uint64_t poster_late(const struct poster *p);

#endif
