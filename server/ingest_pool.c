/* ingest_pool.c — see ingest_pool.h */
#include "ingest_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sw_ingest_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sw_ingest_job *head, *tail; /* FIFO, under mu */
    int stopping;
    int nthreads;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    struct sw_ingest_pool *p = arg;
    struct sw_ingest_scratch scratch;
    memset(&scratch, 0, sizeof scratch);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        struct sw_ingest_job *job = p->head;
        if (!job)
            break; /* stopping, and nothing left */
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        job->next = NULL;
        job->run(job, &scratch); /* job may be freed from here on */
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    sw_ingest_scratch_release(&scratch);
    return NULL;
}

struct sw_ingest_pool *sw_ingest_pool_new(int threads, char *err, size_t errlen)
{
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (n > 256 ? 256 : (int)n) : 1;
    }
    struct sw_ingest_pool *p = calloc(1, sizeof *p);
    if (p)
        p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p || !p->threads) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, worker, p);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start ingest thread %d of %d: %s", i + 1, threads, strerror(rc));
            sw_ingest_pool_free(p);
            return NULL;
        }
        p->nthreads++;
        pthread_setname_np(p->threads[i], "ingest"); /* as top and perf show it */
    }
    return p;
}

int sw_ingest_pool_threads(const struct sw_ingest_pool *p)
{
    return p->nthreads;
}

void sw_ingest_pool_submit(struct sw_ingest_pool *p, struct sw_ingest_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void sw_ingest_pool_free(struct sw_ingest_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}
