/* store_open.c — opening the store (directory, pragmas, migrations; store_int.h), closing it, the
 * per-thread read-only connections and the start-up loaders. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "schema_pg_sql.h" /* generated: sw_pg_migrations[] */
#include "schema_sql.h"    /* generated: sw_migrations[] */
#include "store_int.h"

static int exec(sw_sql *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sw_sql_exec(db, sql, &msg) != SW_SQL_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sw_sql_errmsg(db));
        free(msg);
        return -1;
    }
    return 0;
}

/* PostgreSQL: the version is the one row of schema_version (none: an empty database, version 0);
 * migrations are keyed by the version they take the database to (schema/pg/NNN_*.sql). Several
 * servers may start at once on one database: the migration runs under an advisory lock of its
 * own, so exactly one applies it and the others find it done. */
static int pg_version(sw_sql *db, int *version, char *err, size_t errlen)
{
    sw_stmt *st;
    *version = 0;
    if (exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)", err, errlen) != 0)
        return -1;
    if (sw_sql_prepare(db, "SELECT max(version) FROM schema_version", -1, &st, NULL) != SW_SQL_OK)
        return snprintf(err, errlen, "%s", sw_sql_errmsg(db)), -1;
    int rc = sw_sql_step(st);
    if (rc == SW_SQL_ROW)
        *version = sw_sql_column_int(st, 0);
    sw_sql_finalize(st);
    if (rc != SW_SQL_ROW)
        return snprintf(err, errlen, "%s", sw_sql_errmsg(db)), -1;
    return 0;
}

static int migrate_pg(sw_sql *db, char *err, size_t errlen)
{
    int version, n = (int)(sizeof sw_pg_migrations / sizeof sw_pg_migrations[0]);
    int latest = sw_pg_migrations[n - 1].version;
    if (exec(db, "SELECT pg_advisory_lock(" SW_PG_LOCK_MIGRATE ")", err, errlen) != 0)
        return -1;
    int rc = pg_version(db, &version, err, errlen);
    if (rc == 0 && version > latest) {
        snprintf(err, errlen, "database schema version %d is newer than this server's %d", version, latest);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        if (!sw_pg_migrations[i].sql || sw_pg_migrations[i].version <= version)
            continue;
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)",
                 sw_pg_migrations[i].version);
        if (exec(db, "BEGIN", err, errlen) != 0 || exec(db, sw_pg_migrations[i].sql, err, errlen) != 0 ||
            exec(db, sql, err, errlen) != 0 || exec(db, "COMMIT", err, errlen) != 0) {
            exec(db, "ROLLBACK", err + strlen(err), 0);
            rc = -1;
            break;
        }
        version = sw_pg_migrations[i].version;
        sw_info("store", "schema migrated to version %d", version);
    }
    exec(db, "SELECT pg_advisory_unlock(" SW_PG_LOCK_MIGRATE ")", err + strlen(err), 0);
    return rc;
}

static int migrate(sw_sql *db, char *err, size_t errlen)
{
    if (sw_sql_is_pg(db))
        return migrate_pg(db, err, errlen);
    sw_stmt *st;
    int version = 0;
    if (sw_sql_prepare(db, "PRAGMA user_version", -1, &st, NULL) != SW_SQL_OK)
        return snprintf(err, errlen, "%s", sw_sql_errmsg(db)), -1;
    if (sw_sql_step(st) == SW_SQL_ROW)
        version = sw_sql_column_int(st, 0);
    sw_sql_finalize(st);
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

int sw_store_migrate(const char *target, char *err, size_t errlen)
{
    sw_sql *db;
    char name[512];
    sw_sql_display(target, name, sizeof name);
    if (sw_sql_open(target, SW_SQL_OPEN_READWRITE | SW_SQL_OPEN_CREATE, &db) != SW_SQL_OK) {
        snprintf(err, errlen,
                 sw_sql_target_is_pg(target) ? "cannot connect to PostgreSQL at %s: %s"
                                             : "cannot open %s: %s",
                 name, sw_sql_errmsg(db));
        sw_sql_close(db);
        return -1;
    }
    sw_sql_busy_timeout(db, 5000);
    int rc = migrate(db, err, errlen);
    sw_sql_close(db);
    return rc;
}

static void close_reader(void *db)
{
    sw_sql_close(db);
}

sw_sql *sw_store_reader_own(struct sw_store *st)
{
    sw_sql *db;
    if (sw_sql_open(st->path, SW_SQL_OPEN_READONLY, &db) != SW_SQL_OK) {
        sw_error("store", "read-only connection to %s: %s", st->name, sw_sql_errmsg(db));
        sw_sql_close(db);
        return NULL;
    }
    sw_sql_busy_timeout(db, 5000);
    return db;
}

sw_sql *sw_store_reader(struct sw_store *st)
{
    sw_sql *db = pthread_getspecific(st->reader_key);
    if (db)
        return db;
    db = sw_store_reader_own(st);
    if (db)
        pthread_setspecific(st->reader_key, db);
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
    sw_sql_display(path, s->name, sizeof s->name);
    int pg = sw_sql_target_is_pg(path);
    if (!pg)
        make_parent_dir(path);
    if (sw_sql_open(path, SW_SQL_OPEN_READWRITE | SW_SQL_OPEN_CREATE, &s->db) != SW_SQL_OK) {
        snprintf(err, errlen,
                 pg ? "cannot connect to PostgreSQL at %s: %s" : "cannot open database \"%s\": %s", s->name,
                 sw_sql_errmsg(s->db));
        goto fail;
    }
    sw_sql_busy_timeout(s->db, 5000);
    /* SQLite: WAL so readers never block the writer; FULL so a committed spill survives power loss
     * too. PostgreSQL: its defaults (fsync, synchronous_commit on) already are. */
    if ((!pg && exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                     "PRAGMA wal_autocheckpoint=1000;",
                     err, errlen) != 0) ||
        migrate(s->db, err, errlen) != 0)
        goto fail;
    if (sw_store_prepare_all(s) != 0) {
        snprintf(err, errlen, "cannot prepare statements: %s", sw_sql_errmsg(s->db));
        goto fail;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->fault_mu, NULL);
    pthread_key_create(&s->reader_key, close_reader);
    if (pg)
        goto started; /* no file, no directory, no free-space reserve of ours */
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
    if (sqlite3_db_readonly(sw_sql_sqlite(s->db), "main") == 1) {
        /* SQLite opened it read-only (the file, its directory or the file system is not
         * writable): serve reads and refuse writes; it stays so until a restart (the shared
         * memory index of every connection of this process is read-only too). */
        s->err_code = SW_SQL_READONLY;
        snprintf(s->err_msg, sizeof s->err_msg,
                 "opened read-only: the file or its directory is not writable");
        sw_store_enter_degraded(s);
    }
started:
    if (pthread_create(&s->thread, NULL, sw_store_writer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the writer thread: %s", strerror(errno));
        goto fail;
    }
    return s;
fail:
    sw_sql_close(s->db);
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
    sw_sql *reader = pthread_getspecific(s->reader_key);
    if (reader) {
        sw_sql_close(reader);
        pthread_setspecific(s->reader_key, NULL);
    }
    sw_sql_close(s->db);
    pthread_key_delete(s->reader_key);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->fault_mu);
    free(s);
}

int sw_store_spill_stored(struct sw_store *s, int64_t run, int64_t spill)
{
    sw_sql *db = sw_store_reader(s);
    sw_stmt *st;
    if (!db ||
        sw_sql_prepare(db, "SELECT 1 FROM spills WHERE run = ?1 AND spill = ?2", -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_int64(st, 2, spill);
    int rc = sw_sql_step(st);
    sw_sql_finalize(st);
    return rc == SW_SQL_ROW ? 1 : rc == SW_SQL_DONE ? 0 : -1;
}

int sw_store_each_source(struct sw_store *s, void (*cb)(void *, const char *, int64_t), void *ctx)
{
    sw_stmt *st;
    if (sw_sql_prepare(s->db, "SELECT source, seq FROM sources", -1, &st, NULL) != SW_SQL_OK)
        return -1;
    while (sw_sql_step(st) == SW_SQL_ROW)
        cb(ctx, (const char *)sw_sql_column_text(st, 0), sw_sql_column_int64(st, 1));
    sw_sql_finalize(st);
    return 0;
}

int sw_store_each_open_spill(struct sw_store *s,
                             void (*cb)(void *, int64_t, int64_t, const char *, int64_t, double), void *ctx)
{
    sw_sql *db = sw_store_reader(s);
    sw_stmt *st;
    if (!db || sw_sql_prepare(db,
                              "SELECT o.run, o.spill, o.source, o.opened, o.seq FROM open_spills o WHERE NOT "
                              "EXISTS (SELECT 1 FROM spills s WHERE s.run = o.run AND s.spill = o.spill) "
                              "ORDER BY o.opened",
                              -1, &st, NULL) != SW_SQL_OK)
        return -1;
    int rc;
    while ((rc = sw_sql_step(st)) == SW_SQL_ROW)
        cb(ctx, sw_sql_column_int64(st, 0), sw_sql_column_int64(st, 1),
           (const char *)sw_sql_column_text(st, 2), sw_sql_column_int64(st, 4), sw_sql_column_double(st, 3));
    sw_sql_finalize(st);
    return rc == SW_SQL_DONE ? 0 : -1;
}
