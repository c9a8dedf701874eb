/* Unit tests of server/sql.c and sql_pg.c: the one SQL interface, the same checks on both engines.
 * Without an argument it runs on a SQLite file in a temporary directory; with a postgresql:// URI
 * (an empty database: integration.sql_pg starts a real PostgreSQL for it) it runs on that. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sql.h"

static int pg;

static void exec_ok(sw_sql *db, const char *sql)
{
    char *msg = NULL;
    int rc = sw_sql_exec(db, sql, &msg);
    if (rc != SW_SQL_OK)
        fprintf(stderr, "exec %s: %s\n", sql, msg ? msg : "?");
    CHECK_INT(rc, SW_SQL_OK);
    free(msg);
}

static sw_stmt *prep(sw_sql *db, const char *sql)
{
    sw_stmt *st = NULL;
    int rc = sw_sql_prepare(db, sql, -1, &st, NULL);
    if (rc != SW_SQL_OK)
        fprintf(stderr, "prepare %s: %s\n", sql, sw_sql_errmsg(db));
    CHECK_INT(rc, SW_SQL_OK);
    return st;
}

static long long one_int(sw_sql *db, const char *sql)
{
    sw_stmt *st = prep(db, sql);
    long long v = -999;
    if (st && sw_sql_step(st) == SW_SQL_ROW)
        v = sw_sql_column_int64(st, 0);
    sw_sql_finalize(st);
    return v;
}

static void types_and_values(sw_sql *db)
{
    exec_ok(db, pg ? "CREATE TABLE t (id BIGINT PRIMARY KEY, x DOUBLE PRECISION, s TEXT, b BYTEA)"
                   : "CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL, s TEXT, b BLOB) STRICT");
    sw_stmt *ins = prep(db, "INSERT INTO t(id, x, s, b) VALUES (?1, ?2, ?3, ?4)");
    static const unsigned char blob[] = {0, 1, 2, 0xff, 0, 'x'};
    const double xs[] = {0.1, 1e-300, -2.5e300, 1.0 / 3.0, 160.0};
    const int64_t ids[] = {1, INT64_MAX, INT64_MIN + 1, 9007199254740993LL, -7};
    for (int i = 0; i < 5; i++) {
        sw_sql_bind_int64(ins, 1, ids[i]);
        sw_sql_bind_double(ins, 2, xs[i]);
        if (i == 2)
            sw_sql_bind_null(ins, 3);
        else
            sw_sql_bind_text(ins, 3, i == 1 ? "it's a ? and ?2 'quoted'" : "plain", -1, SW_SQL_TRANSIENT);
        sw_sql_bind_blob(ins, 4, blob, i == 3 ? 0 : (int)sizeof blob, SW_SQL_STATIC);
        CHECK_INT(sw_sql_step(ins), SW_SQL_DONE);
        sw_sql_reset(ins);
        sw_sql_clear_bindings(ins);
    }
    sw_sql_finalize(ins);
    /* a literal with ? inside is not a parameter; ? without a number is the next one */
    sw_stmt *st = prep(db, "SELECT id, x, s, b, 'a?b' FROM t WHERE id = ? AND s <> '?' ORDER BY id");
    sw_sql_bind_int64(st, 1, INT64_MAX);
    CHECK_INT(sw_sql_step(st), SW_SQL_ROW);
    CHECK_INT(sw_sql_column_count(st), 5);
    CHECK_INT(sw_sql_column_type(st, 0), SW_SQL_INTEGER);
    CHECK_INT(sw_sql_column_type(st, 1), SW_SQL_FLOAT);
    CHECK_INT(sw_sql_column_type(st, 2), SW_SQL_TEXT);
    CHECK_INT(sw_sql_column_type(st, 3), SW_SQL_BLOB);
    CHECK(sw_sql_column_int64(st, 0) == INT64_MAX);
    CHECK(sw_sql_column_double(st, 1) == 1e-300);
    CHECK_STR((const char *)sw_sql_column_text(st, 2), "it's a ? and ?2 'quoted'");
    CHECK_INT(sw_sql_column_bytes(st, 3), (int)sizeof blob);
    CHECK(memcmp(sw_sql_column_blob(st, 3), blob, sizeof blob) == 0);
    CHECK_STR((const char *)sw_sql_column_text(st, 4), "a?b");
    CHECK_INT(sw_sql_step(st), SW_SQL_DONE);
    sw_sql_finalize(st);
    /* every double back bit for bit, NULL as NULL, an empty blob as empty */
    st = prep(db, "SELECT id, x, s, b FROM t ORDER BY id");
    int n = 0;
    while (sw_sql_step(st) == SW_SQL_ROW) {
        int64_t id = sw_sql_column_int64(st, 0);
        for (int i = 0; i < 5; i++)
            if (ids[i] == id) {
                CHECK(sw_sql_column_double(st, 1) == xs[i]);
                CHECK_INT(sw_sql_column_type(st, 2), i == 2 ? SW_SQL_NULL : SW_SQL_TEXT);
                CHECK(i != 2 || sw_sql_column_text(st, 2) == NULL);
                CHECK_INT(sw_sql_column_bytes(st, 3), i == 3 ? 0 : (int)sizeof blob);
            }
        n++;
    }
    CHECK_INT(n, 5);
    /* stepping past the end runs the statement again (SQLite's autoreset) */
    CHECK_INT(sw_sql_step(st), SW_SQL_ROW);
    sw_sql_finalize(st);
    /* aggregates of integers are integers, a comparison reads as 1 or 0 */
    CHECK_INT(one_int(db, "SELECT count(*) FROM t"), 5);
    st = prep(db, "SELECT sum(id) FROM t WHERE id < 100 AND id > -100");
    CHECK_INT(sw_sql_step(st), SW_SQL_ROW);
    CHECK_INT(sw_sql_column_type(st, 0), SW_SQL_INTEGER);
    CHECK_INT(sw_sql_column_int64(st, 0), -6);
    sw_sql_finalize(st);
    st = prep(db, "SELECT s = 'plain', x > 1e6 FROM t WHERE id = 1");
    CHECK_INT(sw_sql_step(st), SW_SQL_ROW);
    CHECK_INT(sw_sql_column_int64(st, 0), 1);
    CHECK_INT(sw_sql_column_int(st, 1), 0);
    sw_sql_finalize(st);
}

static void reuse_and_copy(sw_sql *db)
{
    /* a persistent statement, reset and bound again many times */
    sw_stmt *st = NULL;
    CHECK_INT(sw_sql_prepare_persistent(db, "SELECT ?1 + 1, ?2", &st), SW_SQL_OK);
    for (int i = 0; i < 100; i++) {
        sw_sql_bind_int64(st, 1, i);
        sw_sql_bind_text(st, 2, "x", -1, SW_SQL_STATIC);
        CHECK_INT(sw_sql_step(st), SW_SQL_ROW);
        CHECK_INT(sw_sql_column_int64(st, 0), i + 1);
        sw_sql_reset(st);
    }
    sw_sql_finalize(st);
    /* bind_column copies type and value from another statement's row */
    sw_stmt *from = prep(db, "SELECT id, x, s, b FROM t WHERE id = 1");
    CHECK_INT(sw_sql_step(from), SW_SQL_ROW);
    sw_stmt *to = prep(db, "INSERT INTO t(id, x, s, b) VALUES (2, ?1, ?2, ?3)");
    for (int c = 1; c < 4; c++)
        sw_sql_bind_column(to, c, from, c);
    CHECK_INT(sw_sql_step(to), SW_SQL_DONE);
    sw_sql_finalize(to);
    sw_sql_finalize(from);
    CHECK_INT(one_int(db,
                      "SELECT count(*) FROM t t1 JOIN t t2 ON t1.id = 1 AND t2.id = 2 AND t1.x = t2.x AND "
                      "t1.s = t2.s AND t1.b = t2.b"),
              1);
}

static void errors_and_transactions(sw_sql *db, const char *target)
{
    /* a constraint, a syntax error: codes and messages; the connection goes on */
    sw_stmt *st = prep(db, "INSERT INTO t(id, x) VALUES (1, 0)");
    CHECK_INT(sw_sql_step(st), SW_SQL_CONSTRAINT);
    CHECK(strlen(sw_sql_errmsg(db)) > 0);
    sw_sql_finalize(st);
    st = NULL;
    int rc = sw_sql_prepare(db, "SELEKT 1", -1, &st, NULL);
    if (rc == SW_SQL_OK) /* PostgreSQL parses at the first step */
        rc = sw_sql_step(st);
    CHECK_INT(rc, SW_SQL_ERROR);
    sw_sql_finalize(st);
    CHECK_INT(one_int(db, "SELECT count(*) FROM t"), 6);
    /* a transaction rolled back leaves nothing; committed, it stays */
    CHECK_INT(sw_sql_get_autocommit(db), 1);
    exec_ok(db, "BEGIN IMMEDIATE");
    CHECK_INT(sw_sql_get_autocommit(db), 0);
    exec_ok(db, "DELETE FROM t");
    exec_ok(db, "ROLLBACK");
    CHECK_INT(sw_sql_get_autocommit(db), 1);
    CHECK_INT(one_int(db, "SELECT count(*) FROM t"), 6);
    exec_ok(db, "BEGIN IMMEDIATE; DELETE FROM t WHERE id = 2; COMMIT");
    CHECK_INT(one_int(db, "SELECT count(*) FROM t"), 5);
    /* a read-only connection reads and refuses writes */
    sw_sql *ro;
    CHECK_INT(sw_sql_open(target, SW_SQL_OPEN_READONLY, &ro), SW_SQL_OK);
    CHECK_INT(one_int(ro, "SELECT count(*) FROM t"), 5);
    char *msg = NULL;
    CHECK_INT(sw_sql_exec(ro, "DELETE FROM t", &msg), SW_SQL_READONLY);
    CHECK(msg && strlen(msg) > 0);
    free(msg);
    /* a read transaction is one snapshot: a commit in between is not seen until it ends */
    exec_ok(ro, "BEGIN");
    CHECK_INT(one_int(ro, "SELECT count(*) FROM t"), 5);
    exec_ok(db, "DELETE FROM t WHERE id = -7");
    CHECK_INT(one_int(ro, "SELECT count(*) FROM t"), 5);
    exec_ok(ro, "COMMIT");
    CHECK_INT(one_int(ro, "SELECT count(*) FROM t"), 4);
    sw_sql_close(ro);
}

/* PostgreSQL: a session ended by the server (a restart, a failover) is opened again for the next
 * statement outside a transaction. */
static void reconnects(sw_sql *db)
{
    long long pid = one_int(db, "SELECT pg_backend_pid()");
    sw_sql *other;
    CHECK_INT(sw_sql_open(sw_sql_target(db), SW_SQL_OPEN_READWRITE, &other), SW_SQL_OK);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", pid);
    CHECK_INT(one_int(other, sql), 1);
    sw_sql_close(other);
    usleep(100000);
    sw_stmt *st = NULL;
    sw_sql_prepare(db, "SELECT count(*) FROM t", -1, &st, NULL);
    int rc = sw_sql_step(st); /* the statement that finds the session gone fails as an I/O error */
    CHECK(rc == SW_SQL_ROW || rc == SW_SQL_IOERR);
    sw_sql_finalize(st);
    CHECK_INT(one_int(db, "SELECT count(*) FROM t"), 4);
    CHECK(one_int(db, "SELECT pg_backend_pid()") != pid);
}

static void unreachable(void)
{
    /* a server nobody listens on: a clear error, and no file named after the URI */
    sw_sql *db;
    const char *uri = "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2";
    CHECK_INT(sw_sql_open(uri, SW_SQL_OPEN_READWRITE | SW_SQL_OPEN_CREATE, &db), SW_SQL_CANTOPEN);
    CHECK(strstr(sw_sql_errmsg(db), "127.0.0.1") != NULL || strstr(sw_sql_errmsg(db), "onnect") != NULL);
    sw_sql_close(db);
    struct stat sb;
    CHECK(stat("postgresql:", &sb) != 0);
    char shown[256];
    sw_sql_display("postgresql://u:secret@h:5432/d?password=x&sslmode=require", shown, sizeof shown);
    CHECK_STR(shown, "postgresql://u:***@h:5432/d?password=***&sslmode=require");
    sw_sql_display("/var/lib/spillwatch/sw.db", shown, sizeof shown);
    CHECK_STR(shown, "/var/lib/spillwatch/sw.db");
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/sw-sql-XXXXXX", path[64];
    const char *target = argc > 1 ? argv[1] : NULL;
    if (!target) {
        if (!mkdtemp(dir))
            return 1;
        snprintf(path, sizeof path, "%s/t.db", dir);
        target = path;
    }
    pg = sw_sql_target_is_pg(target);
    if (chdir(pg ? "/tmp" : dir) != 0)
        return 1;
    sw_sql *db;
    int rc = sw_sql_open(target, SW_SQL_OPEN_READWRITE | SW_SQL_OPEN_CREATE, &db);
    if (rc != SW_SQL_OK) {
        fprintf(stderr, "cannot open %s: %s\n", target, sw_sql_errmsg(db));
        return 1;
    }
    CHECK_INT(sw_sql_is_pg(db), pg);
    CHECK(pg || sw_sql_sqlite(db) != NULL);
    exec_ok(db, pg ? "DROP TABLE IF EXISTS t" : "PRAGMA journal_mode=WAL"); /* as the store opens it */
    types_and_values(db);
    reuse_and_copy(db);
    errors_and_transactions(db, target);
    if (pg)
        reconnects(db);
    unreachable();
    sw_sql_close(db);
    if (!pg) {
        unlink(path);
        rmdir(dir);
    }
    printf("%d checks, %d failed (%s)\n", sw_test_checks, sw_test_failures, pg ? "PostgreSQL" : "SQLite");
    return sw_test_failures != 0;
}
