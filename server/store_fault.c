/* store_fault.c — the store's fault state (store.h, sw_store_state; store_int.h): degraded and
 * failed, the moved-file check, the free-space reserve, the probe write that ends a degraded spell. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "clock.h"
#include "log.h"
#include "store_int.h"

/* Keeps the SQLite error of a failed write (before its ROLLBACK) for the degraded reason; logs it
 * only while the store was fine until now, so a write retried every few seconds is not logged
 * every time. Writer thread. */
void sw_store_note_error(struct sw_store *s, const char *what)
{
    s->err_code = sw_sql_errcode(s->db);
    snprintf(s->err_msg, sizeof s->err_msg, "%s", sw_sql_errmsg(s->db));
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
    if (sw_sql_target_is_pg(s->path)) /* no file of ours */
        return 0;
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
int sw_store_writer_moved(struct sw_store *s)
{
    if (atomic_load(&s->wstate) == SW_STORE_FAILED)
        return 1;
    int moved = 0;
    const char *how = NULL;
    if (!sw_sql_sqlite(s->db)) /* PostgreSQL: no file of ours */
        return 0;
    if (sqlite3_file_control(sw_sql_sqlite(s->db), "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SW_SQL_OK)
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
void sw_store_failed_checkpoint(struct sw_store *s)
{
    if (s->checkpointed)
        return;
    s->checkpointed = 1;
    int log = -1, done = -1;
    if (!sw_sql_sqlite(s->db))
        return;
    int rc = sqlite3_wal_checkpoint_v2(sw_sql_sqlite(s->db), "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc == SW_SQL_OK)
        sw_warn("store",
                "the moved database file has every commit so far (WAL checkpointed into it: %d frames); "
                "%s-wal is empty",
                done, s->path);
    else
        sw_error("store", "checkpoint into the moved database file failed: %s", sw_sql_errmsg(s->db));
}

/* What a failed write means for an operator, from its SQLite error. */
static void describe_error(struct sw_store *s, char *out, size_t len, const char **kind)
{
    long long fb = free_bytes(s);
    switch (s->err_code & 0xff) {
    case SW_SQL_FULL:
        *kind = "disk_full";
        snprintf(out, len,
                 "disk full: %lld MB free under %.200s; the writer retries every few seconds (%.200s)",
                 fb < 0 ? -1 : fb >> 20, s->dir, s->err_msg);
        break;
    case SW_SQL_READONLY:
        *kind = "read_only";
        snprintf(out, len,
                 "database %.200s is read-only (%.120s): make it and its directory writable, then restart "
                 "the server if it was read-only at start (SQLite keeps such a file read-only)",
                 s->path, s->err_msg);
        break;
    case SW_SQL_IOERR:
    case SW_SQL_CANTOPEN:
        *kind = "io_error";
        snprintf(out, len,
                 "I/O error writing %.200s (%.200s; %lld MB free); the writer retries every few seconds",
                 s->path, s->err_msg, fb < 0 ? -1 : fb >> 20);
        break;
    case SW_SQL_BUSY:
    case SW_SQL_LOCKED:
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
void sw_store_enter_degraded(struct sw_store *s)
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
void sw_store_leave_degraded(struct sw_store *s)
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
int sw_store_environmental(int code)
{
    switch (code & 0xff) {
    case SW_SQL_FULL:
    case SW_SQL_READONLY:
    case SW_SQL_IOERR:
    case SW_SQL_CANTOPEN:
    case SW_SQL_BUSY:
    case SW_SQL_LOCKED:
    case SW_SQL_CORRUPT:
    case SW_SQL_NOTADB:
    case SW_SQL_PROTOCOL:
    case SW_SQL_NOMEM:
        return 1;
    default:
        return 0;
    }
}

/* Writer thread, degraded with no write of its own to retry (a human write or an alarm transition
 * failed): a small real write (the schema version, unchanged) tells whether writes work again. */
int sw_store_probe(struct sw_store *s)
{
    sw_stmt *st;
    int version = 0;
    if (sw_sql_is_pg(s->db)) {
        if (sw_sql_exec(s->db, "BEGIN; UPDATE schema_version SET version = version; COMMIT", NULL) !=
            SW_SQL_OK) {
            sw_store_note_error(s, "probe write");
            sw_sql_exec(s->db, "ROLLBACK", NULL);
            return -1;
        }
        return 0;
    }
    if (sw_sql_prepare(s->db, "PRAGMA user_version", -1, &st, NULL) == SW_SQL_OK) {
        if (sw_sql_step(st) == SW_SQL_ROW)
            version = sw_sql_column_int(st, 0);
        sw_sql_finalize(st);
    }
    char sql[96];
    snprintf(sql, sizeof sql, "BEGIN IMMEDIATE; PRAGMA user_version = %d; COMMIT", version);
    if (sw_sql_exec(s->db, sql, NULL) != SW_SQL_OK) {
        sw_store_note_error(s, "probe write");
        sw_sql_exec(s->db, "ROLLBACK", NULL);
        return -1;
    }
    return 0;
}

void sw_store_set_min_free(struct sw_store *s, uint64_t bytes)
{
    atomic_store(&s->min_free, bytes);
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
