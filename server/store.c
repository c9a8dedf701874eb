/* store.c — see store.h */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "schema_sql.h" /* generated: sw_migrations[] */

enum job_kind { JOB_SPILL, JOB_RUN_START, JOB_RUN_END, JOB_OPEN_SPILL, JOB_CALL };

struct job {
    enum job_kind kind;
    struct sw_spill_rec *rec;
    int64_t run, spill; /* spill: JOB_OPEN_SPILL */
    double time;
    char *meta;                        /* JOB_RUN_START */
    int resume;                        /* JOB_RUN_START: the DAQ goes on with an ended run */
    char *source;                      /* JOB_OPEN_SPILL; may be NULL */
    int64_t seq;                       /* JOB_OPEN_SPILL: the seq of the batch that opened it */
    int (*fn)(sqlite3 *db, void *ctx); /* JOB_CALL */
    void *ctx;
    int *result;                 /* NULL for an asynchronous call */
    void (*free_ctx)(void *ctx); /* asynchronous call: frees ctx afterwards */
    struct sw_store_wait *wait;
    struct job *next;
};

struct sw_store {
    char path[4096];
    sqlite3 *db; /* writer connection: only the writer thread uses it after open */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    int stopping;
    int queue_max;
    atomic_int jobs; /* queued or being written: incremented by enqueue, decremented when done */
    pthread_key_t reader_key;
    sqlite3_stmt *ins_run, *upd_run_start, *upd_run_end, *ins_spill, *ins_hist, *ins_check, *up_source;
    sqlite3_stmt *ins_open, *del_open;
    /* Faults (store.h, sw_store_state). wstate: the writer's own state (OK, DEGRADED while a write
     * fails and is retried, FAILED once the file moved), set by the writer (FAILED also by any
     * thread that sees the move); its reason and kind under fault_mu. */
    atomic_int wstate;
    atomic_int low_space;          /* 1 while the free space is below min_free (logged on changes) */
    atomic_uint_fast64_t min_free; /* bytes; 0: no reserve */
    atomic_int giving_up;          /* shutting down: a failing write is not retried */
    atomic_uint_fast64_t transitions;
    pthread_mutex_t fault_mu;
    char reason[512];
    const char *kind;
    double degraded_since; /* sw_mono() of the first failure of the current degraded spell */
    int checkpointed;      /* writer: the moved file got the WAL's content */
    dev_t dev;             /* the database file as opened (moved-file check from any thread) */
    ino_t ino;
    char dir[4096]; /* its directory, for statvfs */
    int err_code;   /* writer: the SQLite error of the last failed write */
    char err_msg[256];
    atomic_uint_fast64_t commits, failures;
    atomic_uint_fast64_t generation; /* writer jobs done: the data readers see changed */
    _Atomic double commit_seconds;
};

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

void sw_spill_rec_free(struct sw_spill_rec *rec)
{
    if (!rec)
        return;
    free(rec->reasons_json);
    free(rec->counters_json);
    free(rec->triggers_json);
    free(rec->checks_json);
    free(rec->daq_sources_json);
    free(rec->blob);
    free(rec);
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return snprintf(err, errlen, "%s", sqlite3_errmsg(db)), -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    int latest = (int)(sizeof sw_migrations / sizeof sw_migrations[0]);
    if (version > latest) {
        snprintf(err, errlen, "database schema version %d is newer than this server's %d", version, latest);
        return -1;
    }
    for (int v = version; v < latest; v++) {
        char sql[64];
        if (exec(db, "BEGIN IMMEDIATE", err, errlen) != 0)
            return -1;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (exec(db, sw_migrations[v], err, errlen) != 0 || exec(db, sql, err, errlen) != 0) {
            exec(db, "ROLLBACK", err + strlen(err), 0);
            return -1;
        }
        if (exec(db, "COMMIT", err, errlen) != 0)
            return -1;
        sw_info("store", "schema migrated to version %d", v + 1);
    }
    return 0;
}

static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- faults: disk full, read-only, I/O errors, a lock held elsewhere, the file moved ---- */

/* Keeps the SQLite error of a failed write (before its ROLLBACK) for the degraded reason; logs it
 * only while the store was fine until now, so a write retried every few seconds is not logged
 * every time. Writer thread. */
static void note_error(struct sw_store *s, const char *what)
{
    s->err_code = sqlite3_extended_errcode(s->db);
    snprintf(s->err_msg, sizeof s->err_msg, "%s", sqlite3_errmsg(s->db));
    if (atomic_load(&s->wstate) == SW_STORE_OK)
        sw_error("store", "%s: %s", what, s->err_msg);
}

/* Free bytes under the database's directory for an unprivileged writer; -1 when unknown. */
static long long free_bytes(const struct sw_store *s)
{
    struct statvfs v;
    if (statvfs(s->dir, &v) != 0)
        return -1;
    return (long long)v.f_bavail * (long long)v.f_frsize;
}

/* The store is permanently failed from now on: the database file at s->path is no longer the one
 * the writer has open. Any thread; logged once. */
static void enter_failed(struct sw_store *s, const char *how)
{
    int was = atomic_exchange(&s->wstate, SW_STORE_FAILED);
    if (was == SW_STORE_FAILED)
        return;
    pthread_mutex_lock(&s->fault_mu);
    snprintf(s->reason, sizeof s->reason,
             "database file %.200s was %s while the server ran: restart the server (docs/deployment.md, "
             "\"The database file removed or replaced\")",
             s->path, how);
    s->kind = "moved";
    pthread_mutex_unlock(&s->fault_mu);
    atomic_fetch_add(&s->transitions, 1);
    sw_error("store",
             "database file %s was %s while the server ran: every write (ingest included) is refused "
             "with 503 from now on, /api/v1/health answers 503; restart the server",
             s->path, how);
}

/* 1 when the file at s->path is not the one opened (removed, renamed, replaced). Any thread. */
static int path_moved(struct sw_store *s, const char **how)
{
    struct stat st;
    if (stat(s->path, &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            return 0; /* cannot tell (EACCES, EIO...): the writer's own check decides */
        *how = "removed";
        return 1;
    }
    if (st.st_dev != s->dev || st.st_ino != s->ino) {
        *how = "replaced";
        return 1;
    }
    return 0;
}

/* Writer thread: SQLite's own check on the open file (SQLITE_FCNTL_HAS_MOVED: the path is gone or
 * names another file) and the inode/device check. Enters the failed state when moved. */
static int writer_moved(struct sw_store *s)
{
    if (atomic_load(&s->wstate) == SW_STORE_FAILED)
        return 1;
    int moved = 0;
    const char *how = NULL;
    if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK)
        moved = 0;
    if (path_moved(s, &how) || moved) {
        enter_failed(s, how ? how : "removed or replaced");
        return 1;
    }
    return 0;
}

/* Writer thread, once failed: copies the WAL into the open (moved) file and empties the WAL that
 * is still at PATH-wal, so the moved file is complete by itself (recoverable, even when removed,
 * from /proc/PID/fd while the server runs) and the stale WAL cannot be applied to whatever file
 * takes the path at the next start. */
static void failed_checkpoint(struct sw_store *s)
{
    if (s->checkpointed)
        return;
    s->checkpointed = 1;
    int log = -1, done = -1;
    int rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc == SQLITE_OK)
        sw_warn("store",
                "the moved database file has every commit so far (WAL checkpointed into it: %d frames); "
                "%s-wal is empty",
                done, s->path);
    else
        sw_error("store", "checkpoint into the moved database file failed: %s", sqlite3_errmsg(s->db));
}

/* What a failed write means for an operator, from its SQLite error. */
static void describe_error(struct sw_store *s, char *out, size_t len, const char **kind)
{
    long long fb = free_bytes(s);
    switch (s->err_code & 0xff) {
    case SQLITE_FULL:
        *kind = "disk_full";
        snprintf(out, len,
                 "disk full: %lld MB free under %.200s; the writer retries every few seconds (%.200s)",
                 fb < 0 ? -1 : fb >> 20, s->dir, s->err_msg);
        break;
    case SQLITE_READONLY:
        *kind = "read_only";
        snprintf(out, len,
                 "database %.200s is read-only (%.120s): make it and its directory writable, then restart "
                 "the server if it was read-only at start (SQLite keeps such a file read-only)",
                 s->path, s->err_msg);
        break;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        *kind = "io_error";
        snprintf(out, len,
                 "I/O error writing %.200s (%.200s; %lld MB free); the writer retries every few seconds",
                 s->path, s->err_msg, fb < 0 ? -1 : fb >> 20);
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        *kind = "locked";
        snprintf(
            out, len,
            "database %.200s is locked by another process (%.200s); the writer retries every few seconds",
            s->path, s->err_msg);
        break;
    default:
        *kind = "error";
        snprintf(out, len, "writes to %.200s fail (%.200s); the writer retries every few seconds", s->path,
                 s->err_msg);
    }
}

/* Writer thread: a write failed with s->err_code; the store is degraded (logged when it becomes so,
 * or when the cause changes). */
static void enter_degraded(struct sw_store *s)
{
    char reason[sizeof s->reason];
    const char *kind;
    describe_error(s, reason, sizeof reason, &kind);
    int was = SW_STORE_OK;
    if (!atomic_compare_exchange_strong(&s->wstate, &was, SW_STORE_DEGRADED) && was == SW_STORE_FAILED)
        return;
    pthread_mutex_lock(&s->fault_mu);
    int news = was == SW_STORE_OK || s->kind != kind;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    s->kind = kind;
    if (was == SW_STORE_OK)
        s->degraded_since = sw_mono();
    pthread_mutex_unlock(&s->fault_mu);
    if (news) {
        atomic_fetch_add(&s->transitions, 1);
        sw_error("store",
                 "degraded: %s. Ingest and human writes answer 503 with Retry-After, nothing queued is "
                 "dropped; it resumes by itself once a write succeeds",
                 reason);
    }
}

/* Writer thread: a write succeeded (after failures). */
static void leave_degraded(struct sw_store *s)
{
    int was = SW_STORE_DEGRADED;
    if (!atomic_compare_exchange_strong(&s->wstate, &was, SW_STORE_OK))
        return;
    pthread_mutex_lock(&s->fault_mu);
    double since = s->degraded_since;
    s->reason[0] = 0;
    s->kind = NULL;
    pthread_mutex_unlock(&s->fault_mu);
    atomic_fetch_add(&s->transitions, 1);
    sw_info("store", "writes work again after %.1f s degraded: ingest and human writes resume",
            sw_mono() - since);
}

/* Errors of the database or its disk, not of the statement: a human write that fails with one of
 * them degrades the store like a failed commit (a refusal of its own, say a 409, does not). */
static int environmental(int code)
{
    switch (code & 0xff) {
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
        return 1;
    default:
        return 0;
    }
}

static int write_spill(struct sw_store *s, struct sw_spill_rec *r)
{
    sqlite3 *db = s->db;
    sqlite3_stmt *st;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    st = s->ins_run;
    sqlite3_bind_int64(st, 1, r->run);
    bind_real(st, 2, r->started);
    if (step_reset(st))
        goto fail;

    st = s->ins_spill;
    sqlite3_bind_int64(st, 1, r->run);
    sqlite3_bind_int64(st, 2, r->spill);
    bind_real(st, 3, r->started);
    bind_real(st, 4, r->ended);
    bind_real(st, 5, r->duration);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)r->events);
    bind_real(st, 7, r->mot);
    bind_real(st, 8, r->dead_time);
    bind_real(st, 9, r->decode_errors);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)r->unknown_fields);
    sqlite3_bind_int(st, 11, r->complete);
    sqlite3_bind_text(st, 12, r->flag, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, r->reasons_json ? r->reasons_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, r->counters_json ? r->counters_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, r->triggers_json ? r->triggers_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 16, r->profile_version, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 17, sw_wall());
    if (r->daq_sources_json)
        sqlite3_bind_text(st, 18, r->daq_sources_json, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 18);
    if (step_reset(st))
        goto fail;

    st = s->ins_hist;
    sqlite3_bind_int64(st, 1, r->run);
    sqlite3_bind_int64(st, 2, r->spill);
    sqlite3_bind_blob(st, 3, r->blob ? (const void *)r->blob : "", (int)r->bloblen, SQLITE_STATIC);
    if (step_reset(st))
        goto fail;

    if (r->checks_json) {
        /* One row per check result; the engine serialised them as an array of
         * [name, category, state, value, raw, reason, provenance]. */
        st = s->ins_check;
        sqlite3_stmt *js;
        if (sqlite3_prepare_v2(
                db,
                "SELECT json_extract(value,'$[0]'), json_extract(value,'$[1]'), "
                "json_extract(value,'$[2]'), json_extract(value,'$[3]'), json_extract(value,'$[4]'), "
                "json_extract(value,'$[5]'), json_extract(value,'$[6]') FROM json_each(?1)",
                -1, &js, NULL) != SQLITE_OK)
            goto fail;
        sqlite3_bind_text(js, 1, r->checks_json, -1, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(js)) == SQLITE_ROW) {
            sqlite3_bind_int64(st, 1, r->run);
            sqlite3_bind_int64(st, 2, r->spill);
            for (int c = 0; c < 7; c++)
                sqlite3_bind_value(st, 3 + c, sqlite3_column_value(js, c));
            if (step_reset(st)) {
                sqlite3_finalize(js);
                goto fail;
            }
        }
        sqlite3_finalize(js);
        if (rc != SQLITE_DONE)
            goto fail;
    }

    st = s->del_open;
    sqlite3_bind_int64(st, 1, r->run);
    sqlite3_bind_int64(st, 2, r->spill);
    if (step_reset(st))
        goto fail;

    if (r->source[0]) {
        st = s->up_source;
        sqlite3_bind_text(st, 1, r->source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, r->seq);
        sqlite3_bind_int64(st, 3, r->run);
        sqlite3_bind_int64(st, 4, r->spill);
        sqlite3_bind_double(st, 5, sw_wall());
        if (step_reset(st))
            goto fail;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    return 0;
fail : {
    char what[96];
    snprintf(what, sizeof what, "commit of run %lld spill %lld failed", (long long)r->run,
             (long long)r->spill);
    note_error(s, what);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
}

static int write_run(struct sw_store *s, struct job *j)
{
    sqlite3_stmt *st = j->kind == JOB_RUN_START ? s->upd_run_start : s->upd_run_end;
    sqlite3_bind_int64(st, 1, j->run);
    if (j->kind == JOB_RUN_START) {
        /* The run_start record's own time is the run's start, also over the provisional start from
         * the arrival of its first spill (a replay arrives long after the run); without one, the
         * earliest start known stays. */
        bind_real(st, 2, isfinite(j->time) ? j->time : sw_wall());
        sqlite3_bind_int(st, 4, isfinite(j->time) && !j->resume); /* a resumed run keeps its start */
        sqlite3_bind_int(st, 5, 1);                               /* not ended (any more) */
    } else
        bind_real(st, 2, j->time);
    if (j->kind == JOB_RUN_START) {
        if (j->meta)
            sqlite3_bind_text(st, 3, j->meta, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 3);
    }
    int rc = step_reset(st);
    if (rc) {
        char what[64];
        snprintf(what, sizeof what, "run %lld", (long long)j->run);
        note_error(s, what);
    }
    return rc;
}

/* The run row and the open-spill marker of a newly opened spill, in one transaction (one sync). */
static int write_open_spill(struct sw_store *s, struct job *j)
{
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_stmt *st = s->upd_run_start;
    sqlite3_bind_int64(st, 1, j->run);
    bind_real(st, 2, j->time);
    sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, 0); /* provisional: never over a start already known */
    sqlite3_bind_int(st, 5, 0); /* a late spill of an ended run does not reopen it */
    if (step_reset(st))
        goto fail;
    st = s->ins_open;
    sqlite3_bind_int64(st, 1, j->run);
    sqlite3_bind_int64(st, 2, j->spill);
    if (j->source)
        sqlite3_bind_text(st, 3, j->source, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    bind_real(st, 4, j->time);
    if (j->source)
        sqlite3_bind_int64(st, 5, j->seq);
    else
        sqlite3_bind_null(st, 5);
    if (step_reset(st) || sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    return 0;
fail : {
    char what[96];
    snprintf(what, sizeof what, "run %lld spill %lld: open-spill marker", (long long)j->run,
             (long long)j->spill);
    note_error(s, what);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
}

static void finalize_all(struct sw_store *s)
{
    sqlite3_stmt **stmts[] = {&s->ins_run,   &s->upd_run_start, &s->upd_run_end, &s->ins_spill, &s->ins_hist,
                              &s->ins_check, &s->up_source,     &s->ins_open,    &s->del_open};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        sqlite3_finalize(*stmts[i]);
        *stmts[i] = NULL;
    }
}

/* Writer thread, degraded with no write of its own to retry (a human write or an alarm transition
 * failed): a small real write (the schema version, unchanged) tells whether writes work again. */
static int probe(struct sw_store *s)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    char sql[96];
    snprintf(sql, sizeof sql, "BEGIN IMMEDIATE; PRAGMA user_version = %d; COMMIT", version);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        note_error(s, "probe write");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
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

/* One attempt of a job; 0 when written. */
static int attempt(struct sw_store *s, struct job *j)
{
    if (j->kind == JOB_SPILL)
        return write_spill(s, j->rec);
    if (j->kind == JOB_OPEN_SPILL)
        return write_open_spill(s, j);
    if (j->kind == JOB_CALL) {
        int rc = -1;
        s->err_code = SQLITE_OK;
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            note_error(s, "human write: begin");
        else {
            rc = j->fn(s->db, j->ctx);
            if (rc != 0 && environmental(sqlite3_extended_errcode(s->db)))
                note_error(s, "human write");
            if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
                note_error(s, "commit");
                rc = -1;
            }
            if (rc != 0)
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
        if (j->result)
            *j->result = rc;
        return rc;
    }
    return write_run(s, j);
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
        if (writer_moved(s))
            return 1;
        if (attempt(s, j) == 0) {
            if (writer_moved(s)) /* written to the moved file: not where a restart finds it */
                return 1;
            leave_degraded(s);
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
            if (s->err_code != SQLITE_OK && environmental(s->err_code))
                enter_degraded(s);
            return 1;
        }
        atomic_fetch_add(&s->failures, 1);
        enter_degraded(s);
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
    if (writer_moved(s)) {
        failed_checkpoint(s);
        return;
    }
    if (atomic_load(&s->wstate) == SW_STORE_DEGRADED && probe(s) == 0 && !writer_moved(s))
        leave_degraded(s);
}

static void *writer_main(void *arg)
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
            failed_checkpoint(s);
        if (j->kind == JOB_SPILL)
            sw_spill_rec_free(j->rec);
        else if (j->kind == JOB_CALL) {
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

int sw_store_call(struct sw_store *st, int (*fn)(sqlite3 *db, void *ctx), void *ctx)
{
    struct sw_store_wait w;
    int result = -1;
    sw_store_wait_init(&w);
    if (submit(st, (struct job){.kind = JOB_CALL, .fn = fn, .ctx = ctx, .result = &result, .wait = &w}) == 0)
        sw_store_wait_all(&w);
    sw_store_wait_release(&w);
    return result;
}

int sw_store_call_async(struct sw_store *st, int (*fn)(sqlite3 *db, void *ctx), void *ctx,
                        void (*free_ctx)(void *))
{
    if (submit(st, (struct job){.kind = JOB_CALL, .fn = fn, .ctx = ctx, .free_ctx = free_ctx}) != 0) {
        free_ctx(ctx);
        return -1;
    }
    return 0;
}

static int nothing(sqlite3 *db, void *ctx)
{
    (void)db;
    (void)ctx;
    return 0;
}

int sw_store_sync(struct sw_store *st)
{
    return sw_store_call(st, nothing, NULL);
}

static void close_reader(void *db)
{
    sqlite3_close_v2(db);
}

sqlite3 *sw_store_reader(struct sw_store *st)
{
    sqlite3 *db = pthread_getspecific(st->reader_key);
    if (db)
        return db;
    if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sw_error("store", "read-only connection: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    pthread_setspecific(st->reader_key, db);
    return db;
}

static int prepare_all(struct sw_store *s)
{
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } stmts[] = {
        {&s->ins_run, "INSERT INTO runs(run, started) VALUES(?1, ?2) ON CONFLICT(run) DO UPDATE SET "
                      "started = coalesce(runs.started, excluded.started)"},
        {&s->upd_run_start,
         "INSERT INTO runs(run, started, meta) VALUES(?1, ?2, ?3) ON CONFLICT(run) DO UPDATE "
         "SET started = CASE WHEN ?4 THEN excluded.started ELSE coalesce(runs.started, excluded.started) "
         "END, "
         "meta = coalesce(excluded.meta, runs.meta), ended = CASE WHEN ?5 THEN NULL ELSE runs.ended END"},
        {&s->upd_run_end, "INSERT INTO runs(run, ended) VALUES(?1, ?2) ON CONFLICT(run) DO UPDATE SET "
                          "ended = coalesce(excluded.ended, (julianday('now') - 2440587.5) * 86400.0)"},
        {&s->ins_spill, "INSERT INTO spills(run, spill, started, ended, duration, events, mot, dead_time, "
                        "decode_errors, unknown_fields, complete, flag, reasons, counters, triggers, "
                        "profile_version, closed_at, daq_sources) "
                        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)"},
        {&s->ins_hist, "INSERT INTO spill_hists(run, spill, blob) VALUES(?1, ?2, ?3)"},
        {&s->ins_check,
         "INSERT INTO checks(run, spill, name, category, state, value, raw, reason, provenance) "
         "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"},
        {&s->up_source,
         "INSERT INTO sources(source, seq, run, spill, updated) VALUES(?1,?2,?3,?4,?5) "
         "ON CONFLICT(source) DO UPDATE SET seq = max(sources.seq, excluded.seq), run = excluded.run, "
         "spill = excluded.spill, updated = excluded.updated"},
        {&s->ins_open, "INSERT INTO open_spills(run, spill, source, opened, seq) VALUES(?1, ?2, ?3, ?4, ?5) "
                       "ON CONFLICT(run, spill) DO NOTHING"},
        {&s->del_open, "DELETE FROM open_spills WHERE run = ?1 AND spill = ?2"},
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        if (sqlite3_prepare_v3(s->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, stmts[i].st, NULL) !=
            SQLITE_OK) {
            sw_error("store", "prepare: %s", sqlite3_errmsg(s->db));
            return -1;
        }
    return 0;
}

static void make_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = 0;
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    mkdir(dir, 0755);
}

struct sw_store *sw_store_open(const char *path, int queue_max, char *err, size_t errlen)
{
    struct sw_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->queue_max = queue_max > 0 ? queue_max : 1;
    snprintf(s->path, sizeof s->path, "%s", path);
    make_parent_dir(path);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database \"%s\": %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "no memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL so readers never block the writer; FULL so a committed spill survives power loss too. */
    if (exec(s->db,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
             "PRAGMA wal_autocheckpoint=1000;",
             err, errlen) != 0 ||
        migrate(s->db, err, errlen) != 0)
        goto fail;
    if (prepare_all(s) != 0) {
        snprintf(err, errlen, "cannot prepare statements: %s", sqlite3_errmsg(s->db));
        goto fail;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->fault_mu, NULL);
    pthread_key_create(&s->reader_key, close_reader);
    struct stat fst;
    if (stat(path, &fst) != 0) {
        snprintf(err, errlen, "database \"%s\": %s", path, strerror(errno));
        goto fail;
    }
    s->dev = fst.st_dev;
    s->ino = fst.st_ino;
    snprintf(s->dir, sizeof s->dir, "%s", path);
    char *slash = strrchr(s->dir, '/');
    if (!slash)
        snprintf(s->dir, sizeof s->dir, ".");
    else
        slash[slash == s->dir] = 0; /* "/x.db" -> "/" */
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        /* SQLite opened it read-only (the file, its directory or the file system is not
         * writable): serve reads and refuse writes; it stays so until a restart (the shared
         * memory index of every connection of this process is read-only too). */
        s->err_code = SQLITE_READONLY;
        snprintf(s->err_msg, sizeof s->err_msg,
                 "opened read-only: the file or its directory is not writable");
        enter_degraded(s);
    }
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the writer thread: %s", strerror(errno));
        goto fail;
    }
    return s;
fail:
    sqlite3_close_v2(s->db);
    free(s);
    return NULL;
}

void sw_store_close(struct sw_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    finalize_all(s);
    sqlite3 *reader = pthread_getspecific(s->reader_key);
    if (reader) {
        sqlite3_close_v2(reader);
        pthread_setspecific(s->reader_key, NULL);
    }
    sqlite3_close_v2(s->db);
    pthread_key_delete(s->reader_key);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->fault_mu);
    free(s);
}

int sw_store_each_spill(struct sw_store *s, void (*cb)(void *, int64_t, int64_t), void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT run, spill FROM spills", -1, &st, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW)
        cb(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    return 0;
}

int sw_store_each_source(struct sw_store *s, void (*cb)(void *, const char *, int64_t), void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT source, seq FROM sources", -1, &st, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW)
        cb(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    return 0;
}

int sw_store_each_open_spill(struct sw_store *s,
                             void (*cb)(void *, int64_t, int64_t, const char *, int64_t, double), void *ctx)
{
    sqlite3 *db = sw_store_reader(s);
    sqlite3_stmt *st;
    if (!db ||
        sqlite3_prepare_v2(db,
                           "SELECT o.run, o.spill, o.source, o.opened, o.seq FROM open_spills o WHERE NOT "
                           "EXISTS (SELECT 1 FROM spills s WHERE s.run = o.run AND s.spill = o.spill) "
                           "ORDER BY o.opened",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
           (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 4),
           sqlite3_column_double(st, 3));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
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

void sw_store_set_min_free(struct sw_store *s, uint64_t bytes)
{
    atomic_store(&s->min_free, bytes);
}

void sw_store_give_up(struct sw_store *s)
{
    atomic_store(&s->giving_up, 1);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

enum sw_store_state sw_store_state(struct sw_store *s, char *reason, size_t len, const char **kind)
{
    const char *how;
    if (atomic_load(&s->wstate) != SW_STORE_FAILED && path_moved(s, &how))
        enter_failed(s, how);
    int ws = atomic_load(&s->wstate);
    uint64_t min_free = atomic_load(&s->min_free);
    long long fb = min_free ? free_bytes(s) : -1;
    int low = fb >= 0 && (uint64_t)fb < min_free;
    if (atomic_exchange(&s->low_space, low) != low) {
        atomic_fetch_add(&s->transitions, 1);
        if (low)
            sw_error("store",
                     "disk nearly full: %lld MB free under %s, below store.min_free_mb = %llu: ingest and "
                     "human writes answer 503 with Retry-After until there is space again",
                     fb >> 20, s->dir, (unsigned long long)(min_free >> 20));
        else
            sw_info("store", "free space under %s is above store.min_free_mb again: writes resume", s->dir);
    }
    const char *k = NULL;
    char buf[sizeof s->reason] = "";
    if (ws != SW_STORE_OK) {
        pthread_mutex_lock(&s->fault_mu);
        snprintf(buf, sizeof buf, "%s", s->reason);
        k = s->kind;
        pthread_mutex_unlock(&s->fault_mu);
    } else if (low) {
        k = "disk_full";
        snprintf(buf, sizeof buf, "disk full: %lld MB free under %.200s, need %llu (store.min_free_mb)",
                 fb >> 20, s->dir, (unsigned long long)(min_free >> 20));
    }
    if (reason)
        snprintf(reason, len, "%s", buf);
    if (kind)
        *kind = k ? k : "ok";
    return ws == SW_STORE_FAILED      ? SW_STORE_FAILED
           : ws != SW_STORE_OK || low ? SW_STORE_DEGRADED
                                      : SW_STORE_OK;
}

int sw_store_ok(struct sw_store *s)
{
    return sw_store_state(s, NULL, 0, NULL) == SW_STORE_OK;
}

long long sw_store_free_bytes(struct sw_store *s)
{
    return free_bytes(s);
}

uint64_t sw_store_fault_transitions(struct sw_store *s)
{
    return atomic_load(&s->transitions);
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
