/* ingest_pool.h — the ingest pool: a fixed set of threads (config ingest_threads, default one per
 * online CPU) that parse and apply POST /api/v1/ingest batches handed over by the HTTP threads
 * (http.c suspends the connection, queues the request, and a pool thread answers it by resuming
 * the connection). Which libmicrohttpd worker accepted a connection then no longer decides which
 * core parses: with two collectors on one worker, both cores still parse.
 *
 * Jobs run in the order they were queued (one FIFO), each on whichever pool thread is free; the
 * engine orders the batches of a source by their seq as before. Each thread keeps its own scratch
 * (ingest_api.h: the batch's arrays, partial histograms) between jobs.
 *
 * Threads: new/free from the thread that starts and stops the HTTP front; submit from any thread.
 * A job must not block on other jobs.
 */
#ifndef SW_INGEST_POOL_H
#define SW_INGEST_POOL_H

#include <stddef.h>

#include "ingest_api.h"

/* A queued job; lives in the caller's memory (the request) until run is called. */
struct sw_ingest_job {
    struct sw_ingest_job *next;
    void (*run)(struct sw_ingest_job *job, struct sw_ingest_scratch *scratch);
};

struct sw_ingest_pool;

/* Starts threads threads (0: one per online CPU). NULL with a message in err. */
struct sw_ingest_pool *sw_ingest_pool_new(int threads, char *err, size_t errlen);
/* The number of threads running. */
int sw_ingest_pool_threads(const struct sw_ingest_pool *p);
/* Queues job: job->run is called once, on a pool thread. */
void sw_ingest_pool_submit(struct sw_ingest_pool *p, struct sw_ingest_job *job);
/* Runs every job still queued, stops the threads and frees their scratch. Accepts NULL. */
void sw_ingest_pool_free(struct sw_ingest_pool *p);

#endif
