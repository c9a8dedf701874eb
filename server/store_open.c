/* store_open.c — opening the store (directory, pragmas, migrations; store_int.h), closing it, the
 * per-thread read-only connections and the start-up loaders. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "schema_sql.h" /* generated: sw_migrations[] */
#include "store_int.h"

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

sqlite3 *sw_store_reader_own(struct sw_store *st)
{
    sqlite3 *db;
    if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sw_error("store", "read-only connection: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
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
    if (sw_store_prepare_all(s) != 0) {
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
        sw_store_enter_degraded(s);
    }
    if (pthread_create(&s->thread, NULL, sw_store_writer_main, s) != 0) {
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
    sw_store_finalize_all(s);
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

int sw_store_spill_stored(struct sw_store *s, int64_t run, int64_t spill)
{
    sqlite3 *db = sw_store_reader(s);
    sqlite3_stmt *st;
    if (!db || sqlite3_prepare_v2(db, "SELECT 1 FROM spills WHERE run = ?1 AND spill = ?2", -1, &st, NULL) !=
                   SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, spill);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
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
