/* backup.c — see backup.h */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

static int64_t count_rows(sqlite3 *db, const char *table)
{
    char sql[96];
    sqlite3_stmt *st;
    int64_t n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* "ok", or the first problem integrity_check reports (into msg). */
static int integrity_ok(sqlite3 *db, char *msg, size_t len)
{
    sqlite3_stmt *st;
    int ok = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        snprintf(msg, len, "%s", sqlite3_errmsg(db));
        return 0;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        ok = r && !strcmp(r, "ok");
        snprintf(msg, len, "%s", r ? r : "no answer");
    }
    sqlite3_finalize(st);
    return ok;
}

int sw_backup_run(const char *src, const char *dest, struct sw_backup_result *res, char *err, size_t errlen)
{
    int rc = -1, made_tmp = 0;
    sqlite3 *from = NULL, *to = NULL;
    char tmp[4096 + 32];
    struct stat sb;
    double t0 = sw_mono();
    memset(res, 0, sizeof *res);
    if (!strncmp(src, "postgresql://", 13) || !strncmp(src, "postgres://", 11)) {
        snprintf(err, errlen,
                 "backup: the database is PostgreSQL: back it up with pg_dump (docs/deployment.md)");
        return -1;
    }
    if (stat(dest, &sb) == 0 || errno != ENOENT) {
        snprintf(err, errlen, "backup: \"%s\" exists: refusing to overwrite it", dest);
        return -1;
    }
    if (stat(src, &sb) != 0) {
        snprintf(err, errlen, "backup: database \"%s\": %s", src, strerror(errno));
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", dest, (long)getpid());
    /* Read-only: this process never writes the live database (docs/design.md §11). */
    if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "backup: cannot open \"%s\": %s", src, sqlite3_errmsg(from));
        goto out;
    }
    sqlite3_busy_timeout(from, 10000);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "backup: cannot create \"%s\": %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    made_tmp = 1;
    if (sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "backup: cannot open \"%s\": %s", tmp, sqlite3_errmsg(to));
        goto out;
    }
    sqlite3_busy_timeout(to, 10000);
    /* One step of all pages: one read transaction on the source, so the copy is one consistent
     * instant; the server's writer goes on meanwhile (WAL). */
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b) {
        snprintf(err, errlen, "backup: %s", sqlite3_errmsg(to));
        goto out;
    }
    int step;
    while ((step = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || step == SQLITE_LOCKED)
        sqlite3_sleep(50);
    int fin = sqlite3_backup_finish(b);
    if (step != SQLITE_DONE || fin != SQLITE_OK) {
        snprintf(err, errlen, "backup: copy failed: %s", sqlite3_errstr(step != SQLITE_DONE ? step : fin));
        goto out;
    }
    /* The copy is a self-contained file: fold its journal in and leave no -wal/-shm next to it. */
    if (sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "backup: %s", sqlite3_errmsg(to));
        goto out;
    }
    char msg[512];
    if (!integrity_ok(to, msg, sizeof msg)) {
        snprintf(err, errlen, "backup: the copy fails PRAGMA integrity_check: %s", msg);
        goto out;
    }
    res->runs = count_rows(to, "runs");
    res->spills = count_rows(to, "spills");
    res->spill_hists = count_rows(to, "spill_hists");
    sqlite3_close(to);
    to = NULL;
    int dfd = open(tmp, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    /* link() fails with EEXIST if dest appeared meanwhile: never overwrites. */
    if (link(tmp, dest) != 0) {
        snprintf(err, errlen, "backup: cannot create \"%s\": %s", dest,
                 errno == EEXIST ? "exists: refusing to overwrite it" : strerror(errno));
        goto out;
    }
    if (stat(dest, &sb) == 0)
        res->bytes = (int64_t)sb.st_size;
    res->seconds = sw_mono() - t0;
    rc = 0;
out:
    sqlite3_close(to);
    sqlite3_close(from);
    if (made_tmp)
        unlink(tmp);
    return rc;
}
