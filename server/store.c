/* store.c — the store's job queue and its one writer thread (store.h; store_int.h has the files of
 * the store): submit, the waits, sw_store_call*, sw_store_sync, the retries of a failing write. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "store_int.h"

void sw_store_wait_init(struct sw_store_wait *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->pending = w->failed = 0;
    w->notify = NULL;
    w->arg = NULL;
}

int sw_store_wait_notify(struct sw_store_wait *w, void (*notify)(void *arg), void *arg)
{
    pthread_mutex_lock(&w->mu);
    int pending = w->pending > 0;
    if (pending) {
        w->notify = notify;
        w->arg = arg;
    }
    pthread_mutex_unlock(&w->mu);
    return pending;
}

int sw_store_wait_all(struct sw_store_wait *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->pending > 0)
        pthread_cond_wait(&w->cv, &w->mu);
    int failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    return failed;
}

void sw_store_wait_release(struct sw_store_wait *w)
{
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

static void wait_done(struct sw_store_wait *w, int failed)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->pending--;
    w->failed += failed;
    void (*notify)(void *) = w->pending == 0 ? w->notify : NULL;
    void *arg = w->arg;
    if (notify)
        w->notify = NULL;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (notify)
        notify(arg); /* w may be gone once it returns (its owner wakes up) */
}

/* Completes a job without running it (failed). */
static void job_refused(struct sw_store *s, struct job *j)
{
    if (j->kind == JOB_SPILL)
        sw_spill_rec_free(j->rec);
    else if (j->kind == JOB_CALL) {
        if (j->result)
            *j->result = -1;
        if (j->free_ctx)
            j->free_ctx(j->ctx);
    }
    free(j->meta);
    free(j->source);
    atomic_fetch_add(&s->generation, 1);
    atomic_fetch_sub(&s->jobs, 1);
    wait_done(j->wait, 1);
    free(j);
}

/* Writer thread, between two attempts of a failing write: waits about d seconds (less when shutting
 * down). Meanwhile the human writes that wait for an answer (sw_store_call) are refused at once
 * rather than held behind the failing write; the other jobs stay queued, in order. */
static void backoff_wait(struct sw_store *s, double d)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)d;
    until.tv_nsec += (long)((d - (double)(time_t)d) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    for (;;) {
        struct job *refused = NULL;
        pthread_mutex_lock(&s->mu);
        for (struct job **pp = &s->head, *prev = NULL; *pp;) {
            struct job *j = *pp;
            if (j->kind == JOB_CALL && j->result) {
                *pp = j->next;
                if (s->tail == j)
                    s->tail = prev;
                j->next = refused;
                refused = j;
            } else {
                prev = j;
                pp = &j->next;
            }
        }
        int timed_out = 0;
        if (!refused && !atomic_load(&s->giving_up))
            timed_out = pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0;
        pthread_mutex_unlock(&s->mu);
        while (refused) {
            struct job *next = refused->next;
            job_refused(s, refused);
            refused = next;
        }
        if (timed_out || atomic_load(&s->giving_up))
            return;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
            return;
    }
}

/* Runs one job. A write that ingest or the timer queued (a spill, a run record, an open-spill
 * marker) is never dropped: while it fails (disk full, read-only, I/O error, a lock held elsewhere)
 * the store is degraded and the write is retried, every 1 s doubling to 5 s, until it succeeds, the
 * store fails for good, or shutdown gives up on it. A human write is tried once: it commits whole or
 * is refused. No write goes to, and no waiter is told 'written' for, a file that moved. Returns 1
 * when the job failed. */
static int run_job(struct sw_store *s, struct job *j)
{
    double t0 = sw_mono(), delay = 1;
    for (int n = 0;; n++) {
        if (sw_store_writer_moved(s))
            return 1;
        if (sw_store_attempt(s, j) == 0) {
            if (sw_store_writer_moved(s)) /* written to the moved file: not where a restart finds it */
                return 1;
            sw_store_leave_degraded(s);
            if (j->kind == JOB_SPILL) {
                double dt = sw_mono() - t0;
                atomic_fetch_add(&s->commits, 1);
                sw_histogram_observe(&sw_metrics.store_commit_duration, dt);
                double cur = atomic_load(&s->commit_seconds);
                atomic_store(&s->commit_seconds, cur + dt); /* single writer: no lost update */
            }
            return 0;
        }
        if (j->kind == JOB_CALL) { /* refused whole; degrades the store when the disk is the cause */
            if (s->err_code != SW_SQL_OK && sw_store_environmental(s->err_code))
                sw_store_enter_degraded(s);
            return 1;
        }
        atomic_fetch_add(&s->failures, 1);
        sw_store_enter_degraded(s);
        if (atomic_load(&s->giving_up)) {
            if (j->kind == JOB_SPILL)
                sw_error("store",
                         "shutting down: run %lld spill %lld is not committed (%s); the collector "
                         "resends it after the restart",
                         (long long)j->rec->run, (long long)j->rec->spill, s->err_msg);
            return 1;
        }
        backoff_wait(s, delay);
        delay = delay * 2 > 5 ? 5 : delay * 2;
    }
}

/* Writer thread, idle for a second: notices a moved file without waiting for the next write, and
 * probes whether writes work again after a human write failed. */
static void idle_check(struct sw_store *s)
{
    if (sw_store_writer_moved(s)) {
        sw_store_failed_checkpoint(s);
        return;
    }
    if (atomic_load(&s->wstate) == SW_STORE_DEGRADED && sw_store_probe(s) == 0 && !sw_store_writer_moved(s))
        sw_store_leave_degraded(s);
}

void *sw_store_writer_main(void *arg)
{
    struct sw_store *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0 && !s->head && !s->stopping) {
                pthread_mutex_unlock(&s->mu);
                idle_check(s);
                pthread_mutex_lock(&s->mu);
            }
        }
        struct job *j = s->head;
        if (j) {
            s->head = j->next;
            if (!s->head)
                s->tail = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        if (!j)
            break; /* stopping and drained */
        int failed = run_job(s, j);
        if (atomic_load(&s->wstate) == SW_STORE_FAILED)
            sw_store_failed_checkpoint(s);
        if (j->kind == JOB_SPILL) {
            if (!failed) { /* under mu, so that unhooking (NULL) waits for a call in progress */
                pthread_mutex_lock(&s->mu);
                if (s->on_committed)
                    s->on_committed(s->on_committed_ctx, j->rec->run, j->rec->spill);
                pthread_mutex_unlock(&s->mu);
            }
            sw_spill_rec_free(j->rec);
        } else if (j->kind == JOB_CALL) {
            if (failed && j->result)
                *j->result = *j->result ? *j->result : -1;
            if (j->free_ctx)
                j->free_ctx(j->ctx);
        } else if (j->kind == JOB_OPEN_SPILL)
            free(j->source);
        else
            free(j->meta);
        /* Before the waiter is told: once a request has its answer, its job no longer counts, and
         * a read after it sees a new generation. */
        atomic_fetch_add(&s->generation, 1);
        atomic_fetch_sub(&s->jobs, 1);
        wait_done(j->wait, failed);
        free(j);
    }
    return NULL;
}

static int enqueue(struct sw_store *s, struct job *j)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    if (j->wait) {
        pthread_mutex_lock(&j->wait->mu);
        j->wait->pending++;
        pthread_mutex_unlock(&j->wait->mu);
    }
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    atomic_fetch_add(&s->jobs, 1);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Queues a job built by the caller; frees it when the store is closing. */
static int submit(struct sw_store *st, struct job j)
{
    struct job *heap = malloc(sizeof *heap);
    if (!heap)
        return -1;
    *heap = j;
    if (enqueue(st, heap) != 0) {
        free(heap);
        return -1;
    }
    return 0;
}

int sw_store_commit_spill(struct sw_store *st, struct sw_spill_rec *rec, struct sw_store_wait *w)
{
    return submit(st, (struct job){.kind = JOB_SPILL, .rec = rec, .wait = w});
}

int sw_store_run_start(struct sw_store *st, int64_t run, double time, char *meta_json, int resume,
                       struct sw_store_wait *w)
{
    return submit(
        st,
        (struct job){
            .kind = JOB_RUN_START, .run = run, .time = time, .meta = meta_json, .resume = resume, .wait = w});
}

int sw_store_run_end(struct sw_store *st, int64_t run, double time, struct sw_store_wait *w)
{
    return submit(st, (struct job){.kind = JOB_RUN_END, .run = run, .time = time, .wait = w});
}

int sw_store_open_spill(struct sw_store *st, int64_t run, int64_t spill, const char *source, int64_t seq,
                        double opened)
{
    char *copy = source ? strdup(source) : NULL;
    if (source && !copy)
        return -1;
    if (submit(st, (struct job){.kind = JOB_OPEN_SPILL,
                                .run = run,
                                .spill = spill,
                                .time = opened,
                                .source = copy,
                                .seq = seq}) != 0) {
        free(copy);
        return -1;
    }
    return 0;
}

int sw_store_call(struct sw_store *st, int (*fn)(sw_sql *db, void *ctx), void *ctx)
{
    struct sw_store_wait w;
    int result = -1;
    sw_store_wait_init(&w);
    if (submit(st, (struct job){.kind = JOB_CALL, .fn = fn, .ctx = ctx, .result = &result, .wait = &w}) == 0)
        sw_store_wait_all(&w);
    sw_store_wait_release(&w);
    return result;
}

static int nothing(sw_sql *db, void *ctx);

int sw_store_call_queued(struct sw_store *st, int (*fn)(sw_sql *db, void *ctx), void *ctx, int *result,
                         struct sw_store_wait *w)
{
    *result = -1;
    return submit(
        st, (struct job){.kind = JOB_CALL, .fn = fn ? fn : nothing, .ctx = ctx, .result = result, .wait = w});
}

int sw_store_call_async(struct sw_store *st, int (*fn)(sw_sql *db, void *ctx), void *ctx,
                        void (*free_ctx)(void *))
{
    if (submit(st, (struct job){.kind = JOB_CALL, .fn = fn, .ctx = ctx, .free_ctx = free_ctx}) != 0) {
        free_ctx(ctx);
        return -1;
    }
    return 0;
}

static int nothing(sw_sql *db, void *ctx)
{
    (void)db;
    (void)ctx;
    return 0;
}

int sw_store_sync(struct sw_store *st)
{
    return sw_store_call(st, nothing, NULL);
}

void sw_store_on_spill_committed(struct sw_store *s, void (*fn)(void *ctx, int64_t run, int64_t spill),
                                 void *ctx)
{
    pthread_mutex_lock(&s->mu); /* the writer calls it under mu */
    s->on_committed = fn;
    s->on_committed_ctx = ctx;
    pthread_mutex_unlock(&s->mu);
}

void sw_store_touch(struct sw_store *s)
{
    atomic_fetch_add(&s->generation, 1);
}

uint64_t sw_store_generation(struct sw_store *s)
{
    return atomic_load(&s->generation);
}

int sw_store_queue_jobs(struct sw_store *s)
{
    return atomic_load(&s->jobs);
}

int sw_store_queue_max(struct sw_store *s)
{
    return s->queue_max;
}

int sw_store_queue_full(struct sw_store *s)
{
    return atomic_load(&s->jobs) >= s->queue_max;
}

void sw_store_give_up(struct sw_store *s)
{
    atomic_store(&s->giving_up, 1);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

uint64_t sw_store_commits(struct sw_store *s)
{
    return atomic_load(&s->commits);
}

uint64_t sw_store_commit_failures(struct sw_store *s)
{
    return atomic_load(&s->failures);
}

double sw_store_commit_seconds(struct sw_store *s)
{
    return atomic_load(&s->commit_seconds);
}
