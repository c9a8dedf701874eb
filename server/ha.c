/* ha.c — see ha.h: the active server's advisory lock, the standby's watch, the stream relay. */
#include "ha.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "sql.h"

#define RELAY_MAX  10000 /* events queued for the standbys at most */
#define RELAY_KEEP 600.0 /* seconds of relayed rows kept in stream_relay */
#define RELAY_READ 500   /* rows a standby reads at a time */

struct relay_item {
    char *event, *data;
    double at;
    struct relay_item *next;
};

struct sw_ha {
    char uri[4096], name[512], advertise[256], host[256];
    double poll_s;
    struct sw_ha_hooks hooks;
    PGconn *conn; /* the ha thread's (sw_ha_start's before the thread starts) */
    pthread_t thread;
    int started;
    atomic_int stop, active;
    pthread_mutex_t mu; /* the relay queue, active_url */
    pthread_cond_t cv;
    struct relay_item *head, *tail;
    int queued;
    unsigned long long dropped;
    char active_url[256];
    long long last_id; /* standby: the last stream_relay row published */
    int listening;
    double last_prune;
};

/* ---- time ---- */

static void wait_s(pthread_cond_t *cv, pthread_mutex_t *mu, double s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double t = (double)ts.tv_sec + ts.tv_nsec * 1e-9 + s;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    pthread_cond_timedwait(cv, mu, &ts);
}

/* ---- the session ---- */

static PGresult *q(struct sw_ha *ha, const char *sql, int n, const char *const *vals)
{
    return PQexecParams(ha->conn, sql, n, NULL, vals, NULL, NULL, 0);
}

static int ok(PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* A query whose answer is not needed: 0 when it ran. */
static int run(struct sw_ha *ha, const char *sql, int n, const char *const *vals)
{
    PGresult *r = q(ha, sql, n, vals);
    int rc = ok(r) ? 0 : -1;
    if (rc)
        sw_warn("ha", "%.80s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

static int connect_db(struct sw_ha *ha, char *err, size_t errlen)
{
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"5", "spillwatch-ha", ha->uri, NULL};
    if (ha->conn)
        PQfinish(ha->conn);
    ha->conn = PQconnectdbParams(keys, vals, 1);
    ha->listening = 0;
    if (!ha->conn || PQstatus(ha->conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL at %s: %s", ha->name,
                 ha->conn ? PQerrorMessage(ha->conn) : "out of memory");
        size_t n = strlen(err);
        while (n && err[n - 1] == '\n')
            err[--n] = 0;
        return -1;
    }
    return 0;
}

static int try_lock(struct sw_ha *ha)
{
    PGresult *r = q(ha, "SELECT pg_try_advisory_lock(" SW_PG_LOCK_ACTIVE ")", 0, NULL);
    int got = ok(r) && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return got;
}

static void read_active_url(struct sw_ha *ha)
{
    PGresult *r = q(ha, "SELECT url FROM ha_active WHERE id = 1", 0, NULL);
    char url[256] = "";
    if (ok(r) && PQntuples(r) == 1)
        snprintf(url, sizeof url, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    pthread_mutex_lock(&ha->mu);
    snprintf(ha->active_url, sizeof ha->active_url, "%s", url);
    pthread_mutex_unlock(&ha->mu);
}

/* This server took the lock: says so in ha_active, then loads its state (hooks.promote). */
static void become_active(struct sw_ha *ha)
{
    char pid[24], since[48];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    snprintf(since, sizeof since, "%.6f", sw_wall());
    const char *vals[] = {ha->advertise, ha->host, pid, since};
    char before[256];
    sw_ha_active_url(ha, before, sizeof before);
    if (run(ha,
            "INSERT INTO ha_active(id, url, host, pid, since) VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO "
            "UPDATE SET url = excluded.url, host = excluded.host, pid = excluded.pid, since = excluded.since",
            4, vals) != 0)
        sw_warn("ha", "cannot record this server as the active one: standbys name the previous one");
    if (ha->hooks.promote && ha->hooks.promote(ha->hooks.ctx) != 0) {
        sw_error("ha", "cannot load the state as the active server: exiting (status 3)");
        _exit(3);
    }
    pthread_mutex_lock(&ha->mu);
    snprintf(ha->active_url, sizeof ha->active_url, "%s", ha->advertise);
    pthread_mutex_unlock(&ha->mu);
    atomic_store(&ha->active, 1);
    if (before[0] && strcmp(before, ha->advertise))
        sw_info("ha", "this server (%s) is the active one now, after %s: it takes ingest", ha->advertise,
                before);
    else
        sw_info("ha", "this server (%s) is the active one: it takes ingest", ha->advertise);
}

/* ---- active: the relay out, the lock's session ---- */

static void relay_flush(struct sw_ha *ha)
{
    pthread_mutex_lock(&ha->mu);
    struct relay_item *it = ha->head;
    ha->head = ha->tail = NULL;
    ha->queued = 0;
    pthread_mutex_unlock(&ha->mu);
    if (!it)
        return;
    int failed = run(ha, "BEGIN", 0, NULL);
    for (struct relay_item *x = it; x && !failed; x = x->next) {
        char at[48];
        snprintf(at, sizeof at, "%.6f", x->at);
        const char *vals[] = {at, x->event, x->data};
        failed = run(ha, "INSERT INTO stream_relay(at, event, data) VALUES ($1, $2, $3)", 3, vals);
    }
    if (!failed)
        failed = run(ha, "NOTIFY spillwatch_relay", 0, NULL) || run(ha, "COMMIT", 0, NULL);
    else
        run(ha, "ROLLBACK", 0, NULL);
    if (failed)
        sw_warn("ha", "stream events not relayed to the standbys (the database refused them)");
    while (it) {
        struct relay_item *n = it->next;
        free(it->event);
        free(it->data);
        free(it);
        it = n;
    }
}

static void active_step(struct sw_ha *ha)
{
    pthread_mutex_lock(&ha->mu);
    if (!ha->head && !atomic_load(&ha->stop))
        wait_s(&ha->cv, &ha->mu, ha->poll_s);
    pthread_mutex_unlock(&ha->mu);
    relay_flush(ha);
    /* The lock is the session's: a session that ended under us is a lock another server may hold. */
    PGresult *r = q(ha, "SELECT 1", 0, NULL);
    int alive = ok(r);
    PQclear(r);
    if (!alive || PQstatus(ha->conn) != CONNECTION_OK) {
        sw_error("ha",
                 "the session that holds the active lock ended (%s): another server may be active now; "
                 "exiting (status 3) so as never to write beside it",
                 PQerrorMessage(ha->conn));
        _exit(3);
    }
    double now = sw_wall();
    if (now - ha->last_prune > 60) {
        char cut[48];
        snprintf(cut, sizeof cut, "%.6f", now - RELAY_KEEP);
        const char *vals[] = {cut};
        run(ha, "DELETE FROM stream_relay WHERE at < $1", 1, vals);
        ha->last_prune = now;
    }
}

/* ---- standby: the watch, the relay in ---- */

static void relay_read(struct sw_ha *ha)
{
    for (;;) {
        char last[24];
        snprintf(last, sizeof last, "%lld", ha->last_id);
        const char *vals[] = {last};
        PGresult *r =
            q(ha, "SELECT id, event, data FROM stream_relay WHERE id > $1 ORDER BY id LIMIT 500", 1, vals);
        if (!ok(r)) {
            PQclear(r);
            return;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n; i++) {
            ha->last_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
            if (ha->hooks.relayed)
                ha->hooks.relayed(ha->hooks.ctx, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
        }
        PQclear(r);
        if (n < RELAY_READ)
            return;
    }
}

static void start_following(struct sw_ha *ha)
{
    PGresult *r = q(ha, "SELECT coalesce(max(id), 0) FROM stream_relay", 0, NULL);
    if (ok(r) && PQntuples(r) == 1 && ha->last_id == 0)
        ha->last_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    ha->listening = run(ha, "LISTEN spillwatch_relay", 0, NULL) == 0;
}

static void standby_step(struct sw_ha *ha, double *next_try)
{
    if (PQstatus(ha->conn) != CONNECTION_OK) {
        char err[512];
        if (connect_db(ha, err, sizeof err) != 0) {
            sw_warn("ha", "%s (trying again in %g s)", err, ha->poll_s);
            usleep((useconds_t)(ha->poll_s * 1e6));
            return;
        }
    }
    if (!ha->listening)
        start_following(ha);
    double now = sw_mono();
    if (now >= *next_try) {
        *next_try = now + ha->poll_s;
        if (try_lock(ha)) {
            become_active(ha);
            return;
        }
        read_active_url(ha);
    }
    relay_read(ha);
    /* Wait for a NOTIFY (or the next try). */
    int fd = PQsocket(ha->conn);
    double wait = *next_try - sw_mono();
    if (fd >= 0 && wait > 0) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
        if (select(fd + 1, &rd, NULL, NULL, &tv) > 0)
            PQconsumeInput(ha->conn);
    }
    PGnotify *nt;
    while ((nt = PQnotifies(ha->conn)))
        PQfreemem(nt);
}

static void *ha_main(void *arg)
{
    struct sw_ha *ha = arg;
    double next_try = sw_mono() + ha->poll_s;
    while (!atomic_load(&ha->stop)) {
        if (atomic_load(&ha->active))
            active_step(ha);
        else
            standby_step(ha, &next_try);
    }
    if (atomic_load(&ha->active))
        relay_flush(ha);
    return NULL;
}

/* ---- the interface ---- */

struct sw_ha *sw_ha_open(const char *uri, const char *advertise, double poll_s, char *err, size_t errlen)
{
    struct sw_ha *ha = calloc(1, sizeof *ha);
    if (!ha) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(ha->uri, sizeof ha->uri, "%s", uri);
    sw_sql_display(uri, ha->name, sizeof ha->name);
    snprintf(ha->advertise, sizeof ha->advertise, "%s", advertise);
    if (gethostname(ha->host, sizeof ha->host) != 0)
        snprintf(ha->host, sizeof ha->host, "unknown");
    ha->poll_s = poll_s > 0 ? poll_s : 1;
    pthread_mutex_init(&ha->mu, NULL);
    pthread_cond_init(&ha->cv, NULL);
    if (connect_db(ha, err, errlen) != 0) {
        sw_ha_stop(ha);
        return NULL;
    }
    if (try_lock(ha)) {
        become_active(ha); /* no hooks yet: the caller loads its state as any server does */
    } else {
        read_active_url(ha);
        char url[256];
        sw_ha_active_url(ha, url, sizeof url);
        sw_info("ha", "standby: %s holds the active lock; this server serves reads and follows its stream",
                url[0] ? url : "another server");
        start_following(ha);
    }
    return ha;
}

int sw_ha_run(struct sw_ha *ha, const struct sw_ha_hooks *hooks, char *err, size_t errlen)
{
    ha->hooks = *hooks;
    if (pthread_create(&ha->thread, NULL, ha_main, ha) != 0) {
        snprintf(err, errlen, "cannot start the ha thread: %s", strerror(errno));
        return -1;
    }
    ha->started = 1;
    return 0;
}

void sw_ha_stop(struct sw_ha *ha)
{
    if (!ha)
        return;
    atomic_store(&ha->stop, 1);
    pthread_mutex_lock(&ha->mu);
    pthread_cond_signal(&ha->cv);
    pthread_mutex_unlock(&ha->mu);
    if (ha->started)
        pthread_join(ha->thread, NULL);
    if (ha->conn)
        PQfinish(ha->conn);
    while (ha->head) {
        struct relay_item *n = ha->head->next;
        free(ha->head->event);
        free(ha->head->data);
        free(ha->head);
        ha->head = n;
    }
    pthread_mutex_destroy(&ha->mu);
    pthread_cond_destroy(&ha->cv);
    free(ha);
}

int sw_ha_active(const struct sw_ha *ha)
{
    return !ha || atomic_load(&ha->active);
}

void sw_ha_active_url(struct sw_ha *ha, char *out, size_t len)
{
    if (!ha) {
        snprintf(out, len, "%s", "");
        return;
    }
    pthread_mutex_lock(&ha->mu);
    snprintf(out, len, "%s", ha->active_url);
    pthread_mutex_unlock(&ha->mu);
}

const char *sw_ha_advertise(const struct sw_ha *ha)
{
    return ha ? ha->advertise : "";
}

void sw_ha_relay(void *arg, const char *event, const char *data)
{
    struct sw_ha *ha = arg;
    if (!ha || !atomic_load(&ha->active))
        return;
    struct relay_item *it = calloc(1, sizeof *it);
    if (!it || !(it->event = strdup(event)) || !(it->data = strdup(data))) {
        if (it)
            free(it->event);
        free(it);
        return;
    }
    it->at = sw_wall();
    pthread_mutex_lock(&ha->mu);
    if (ha->queued >= RELAY_MAX) { /* the database is slow or away: the oldest go */
        struct relay_item *old = ha->head;
        ha->head = old->next;
        ha->queued--;
        if (ha->dropped++ % 1000 == 0)
            sw_warn("ha", "stream relay queue full: %llu event(s) dropped for the standbys", ha->dropped);
        free(old->event);
        free(old->data);
        free(old);
    }
    if (ha->tail)
        ha->tail->next = it;
    else
        ha->head = it;
    ha->tail = it;
    ha->queued++;
    pthread_cond_signal(&ha->cv);
    pthread_mutex_unlock(&ha->mu);
}
