/* delivery_log.c — see delivery_log.h */
#include "delivery_log.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

#define PENDING_MAX 10000

const char *const sw_delivery_outcome_names[SW_OUTCOME_N] = {"delivered", "retrying", "dropped", "queue_full",
                                                             "silenced"};

struct row {
    struct sw_delivery d;
    struct row *next;
};

struct sw_delivery_log {
    struct sw_store *store;
    pthread_mutex_t mu;
    struct row *head, **tail; /* pending, oldest first */
    int n;
    int queued; /* a writer job is queued that will take the pending rows */
};

struct sw_delivery_log *sw_delivery_log_new(struct sw_store *store)
{
    struct sw_delivery_log *log = calloc(1, sizeof *log);
    if (!log)
        return NULL;
    log->store = store;
    log->tail = &log->head;
    pthread_mutex_init(&log->mu, NULL);
    return log;
}

static void free_rows(struct row *r)
{
    while (r) {
        struct row *next = r->next;
        free(r);
        r = next;
    }
}

void sw_delivery_log_free(struct sw_delivery_log *log)
{
    if (!log)
        return;
    free_rows(log->head);
    pthread_mutex_destroy(&log->mu);
    free(log);
}

static void bind_text_or_null(sw_stmt *st, int i, const char *s)
{
    if (s && *s)
        sw_sql_bind_text(st, i, s, -1, SW_SQL_STATIC);
    else
        sw_sql_bind_null(st, i);
}

static int insert_row(sw_stmt *st, const struct sw_delivery *d)
{
    sw_sql_reset(st);
    sw_sql_clear_bindings(st);
    sw_sql_bind_double(st, 1, d->time);
    sw_sql_bind_text(st, 2, d->alarm, -1, SW_SQL_STATIC);
    sw_sql_bind_double(st, 3, d->episode);
    sw_sql_bind_text(st, 4, d->fingerprint, -1, SW_SQL_STATIC);
    sw_sql_bind_int64(st, 5, d->notice);
    sw_sql_bind_text(st, 6, d->status, -1, SW_SQL_STATIC);
    if (d->run >= 0)
        sw_sql_bind_int64(st, 7, d->run);
    if (d->spill >= 0)
        sw_sql_bind_int64(st, 8, d->spill);
    sw_sql_bind_text(st, 9, d->hook, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 10, d->kind, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 11, d->target, -1, SW_SQL_STATIC);
    sw_sql_bind_int(st, 12, d->attempt);
    sw_sql_bind_text(st, 13, sw_delivery_outcome_names[d->outcome], -1, SW_SQL_STATIC);
    if (d->http_status > 0)
        sw_sql_bind_int(st, 14, d->http_status);
    if (d->exit_code >= 0)
        sw_sql_bind_int(st, 15, d->exit_code);
    bind_text_or_null(st, 16, d->error);
    if (isfinite(d->latency))
        sw_sql_bind_double(st, 17, d->latency);
    return sw_sql_step(st) == SW_SQL_DONE ? 0 : -1;
}

/* Writer thread: every row pending now, in one transaction (the store's BEGIN/COMMIT). */
static int write_pending(sw_sql *db, void *ctx)
{
    struct sw_delivery_log *log = ctx;
    pthread_mutex_lock(&log->mu);
    struct row *rows = log->head;
    int n = log->n;
    log->head = NULL;
    log->tail = &log->head;
    log->n = 0;
    log->queued = 0;
    pthread_mutex_unlock(&log->mu);
    sw_stmt *st;
    int rc = -1;
    if (sw_sql_prepare(db,
                       "INSERT INTO alarm_deliveries(time, alarm, episode, fingerprint, notice, status, run, "
                       "spill, hook, kind, target, attempt, outcome, http_status, exit_code, error, latency) "
                       "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
                       -1, &st, NULL) == SW_SQL_OK) {
        rc = 0;
        for (struct row *r = rows; r && rc == 0; r = r->next)
            rc = insert_row(st, &r->d);
        sw_sql_finalize(st);
    }
    if (rc != 0) {
        sw_warn("alarms", "%d delivery log row(s) not written: %s", n, sw_sql_errmsg(db));
        atomic_fetch_add(&sw_metrics.delivery_log_lost, (uint64_t)n);
    }
    free_rows(rows);
    return rc;
}

static void job_done(void *ctx)
{
    (void)ctx; /* the log outlives the store's writer */
}

void sw_delivery_log_add(struct sw_delivery_log *log, const struct sw_delivery *d)
{
    if (!log)
        return;
    struct row *r = malloc(sizeof *r);
    if (!r) {
        atomic_fetch_add(&sw_metrics.delivery_log_lost, 1);
        return;
    }
    r->d = *d;
    r->next = NULL;
    pthread_mutex_lock(&log->mu);
    if (log->n >= PENDING_MAX) {
        pthread_mutex_unlock(&log->mu);
        free(r);
        atomic_fetch_add(&sw_metrics.delivery_log_lost, 1);
        return;
    }
    *log->tail = r;
    log->tail = &r->next;
    log->n++;
    int queue = !log->queued;
    log->queued = 1;
    pthread_mutex_unlock(&log->mu);
    if (queue && sw_store_call_async(log->store, write_pending, log, job_done) != 0) {
        pthread_mutex_lock(&log->mu); /* the store is closing: the rows stay until free */
        log->queued = 0;
        pthread_mutex_unlock(&log->mu);
    }
}

int64_t sw_delivery_notice_id(void)
{
    static _Atomic int64_t last;
    int64_t want = (int64_t)(sw_wall() * 1e6), cur = atomic_load(&last);
    for (;;) {
        int64_t next = want > cur ? want : cur + 1;
        if (atomic_compare_exchange_weak(&last, &cur, next))
            return next;
    }
}

void sw_delivery_webhook_target(const char *url, char *out, size_t len)
{
    snprintf(out, len, "(invalid URL)");
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port)
            snprintf(out, len, "%s://%s:%s", scheme, host, port);
        else
            snprintf(out, len, "%s://%s", scheme, host);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}
