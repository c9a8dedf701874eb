/* sql.c — sql.h's dispatch, and its SQLite engine (each call is the SQLite call). The PostgreSQL
 * engine is sql_pg.c; sql_int.h is theirs alone. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_int.h"

int sw_sql_target_is_pg(const char *t)
{
    return t && (!strncmp(t, "postgresql://", 13) || !strncmp(t, "postgres://", 11));
}

void sw_sql_display(const char *t, char *out, size_t len)
{
    snprintf(out, len, "%s", t);
    if (!sw_sql_target_is_pg(t))
        return;
    /* scheme://user:password@host... -> scheme://user:***@host... */
    char *auth = strstr(out, "://");
    char *at = auth ? strchr(auth + 3, '@') : NULL;
    char *slash = auth ? strchr(auth + 3, '/') : NULL;
    char *colon = auth ? strchr(auth + 3, ':') : NULL;
    if (at && (!slash || at < slash) && colon && colon < at) {
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", at);
        snprintf(colon, len - (size_t)(colon - out), ":***%s", rest);
    }
    char *pw = strstr(out, "password=");
    if (pw) {
        char *end = strchr(pw, '&');
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", end ? end : "");
        snprintf(pw, len - (size_t)(pw - out), "password=***%s", rest);
    }
}

int sw_sql_open(const char *target, int flags, sw_sql **out)
{
    sw_sql *db = calloc(1, sizeof *db);
    *out = db;
    if (!db)
        return SW_SQL_NOMEM;
    db->readonly = (flags & SW_SQL_OPEN_READONLY) != 0;
    db->target = strdup(target);
    if (!db->target)
        return SW_SQL_NOMEM;
    if (sw_sql_target_is_pg(target))
        return sw_sql_pg_open(db, target);
    int f = SQLITE_OPEN_NOMUTEX | (db->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
            ((flags & SW_SQL_OPEN_CREATE) ? SQLITE_OPEN_CREATE : 0);
    return sqlite3_open_v2(target, &db->lite, f, NULL);
}

void sw_sql_close(sw_sql *db)
{
    if (!db)
        return;
    if (db->pg)
        sw_sql_pg_close(db);
    else
        sqlite3_close_v2(db->lite);
    free(db->target);
    free(db);
}

int sw_sql_is_pg(const sw_sql *db)
{
    return db && db->pg != NULL;
}

struct sqlite3 *sw_sql_sqlite(sw_sql *db)
{
    return db ? db->lite : NULL;
}

void sw_sql_busy_timeout(sw_sql *db, int ms)
{
    if (db->pg)
        sw_sql_pg_busy_timeout(db, ms);
    else
        sqlite3_busy_timeout(db->lite, ms);
}

int sw_sql_exec(sw_sql *db, const char *sql, char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    if (db->pg)
        return sw_sql_pg_exec(db, sql, errmsg);
    char *msg = NULL;
    int rc = sqlite3_exec(db->lite, sql, NULL, NULL, errmsg ? &msg : NULL);
    if (msg) {
        *errmsg = strdup(msg);
        sqlite3_free(msg);
    }
    return rc;
}

static int prepare(sw_sql *db, const char *sql, int len, sw_stmt **out, int persistent)
{
    *out = NULL;
    sw_stmt *st = calloc(1, sizeof *st);
    if (!st)
        return SW_SQL_NOMEM;
    st->db = db;
    int rc = db->pg ? sw_sql_pg_prepare(st, sql, len, persistent)
                    : sqlite3_prepare_v3(db->lite, sql, len, persistent ? SQLITE_PREPARE_PERSISTENT : 0,
                                         &st->lite, NULL);
    if (rc != SW_SQL_OK || (!st->lite && !st->pg)) {
        /* an empty text prepares no statement on SQLite: a failure here as well */
        if (rc == SW_SQL_OK)
            rc = SW_SQL_ERROR;
        free(st);
        return rc;
    }
    *out = st;
    return SW_SQL_OK;
}

int sw_sql_prepare(sw_sql *db, const char *sql, int len, sw_stmt **st, const char **tail)
{
    if (tail)
        *tail = NULL;
    return prepare(db, sql, len, st, 0);
}

int sw_sql_prepare_persistent(sw_sql *db, const char *sql, sw_stmt **st)
{
    return prepare(db, sql, -1, st, 1);
}

int sw_sql_finalize(sw_stmt *st)
{
    if (!st)
        return SW_SQL_OK;
    int rc = st->pg ? sw_sql_pg_finalize(st) : sqlite3_finalize(st->lite);
    free(st);
    return rc;
}

int sw_sql_reset(sw_stmt *st)
{
    return st->pg ? sw_sql_pg_reset(st) : sqlite3_reset(st->lite);
}

int sw_sql_clear_bindings(sw_stmt *st)
{
    return st->pg ? sw_sql_pg_clear_bindings(st) : sqlite3_clear_bindings(st->lite);
}

int sw_sql_step(sw_stmt *st)
{
    return st->pg ? sw_sql_pg_step(st) : sqlite3_step(st->lite);
}

int sw_sql_bind_int64(sw_stmt *st, int i, int64_t v)
{
    return st->pg ? sw_sql_pg_bind(st, i, SW_SQL_INTEGER, &v, 0, SW_SQL_TRANSIENT)
                  : sqlite3_bind_int64(st->lite, i, v);
}

int sw_sql_bind_int(sw_stmt *st, int i, int v)
{
    return sw_sql_bind_int64(st, i, v);
}

int sw_sql_bind_double(sw_stmt *st, int i, double v)
{
    return st->pg ? sw_sql_pg_bind(st, i, SW_SQL_FLOAT, &v, 0, SW_SQL_TRANSIENT)
                  : sqlite3_bind_double(st->lite, i, v);
}

int sw_sql_bind_text(sw_stmt *st, int i, const char *v, int len, sw_sql_destructor d)
{
    if (st->pg)
        return v ? sw_sql_pg_bind(st, i, SW_SQL_TEXT, v, len < 0 ? strlen(v) : (size_t)len, d)
                 : sw_sql_pg_bind(st, i, SW_SQL_NULL, NULL, 0, d);
    return sqlite3_bind_text(st->lite, i, v, len, d == SW_SQL_TRANSIENT ? SQLITE_TRANSIENT : d);
}

int sw_sql_bind_blob(sw_stmt *st, int i, const void *v, int len, sw_sql_destructor d)
{
    if (st->pg)
        return sw_sql_pg_bind(st, i, SW_SQL_BLOB, v ? v : "", v ? (size_t)len : 0, d);
    return sqlite3_bind_blob(st->lite, i, v, len, d == SW_SQL_TRANSIENT ? SQLITE_TRANSIENT : d);
}

int sw_sql_bind_null(sw_stmt *st, int i)
{
    return st->pg ? sw_sql_pg_bind(st, i, SW_SQL_NULL, NULL, 0, SW_SQL_STATIC)
                  : sqlite3_bind_null(st->lite, i);
}

int sw_sql_bind_column(sw_stmt *st, int i, sw_stmt *from, int c)
{
    switch (sw_sql_column_type(from, c)) {
    case SW_SQL_INTEGER:
        return sw_sql_bind_int64(st, i, sw_sql_column_int64(from, c));
    case SW_SQL_FLOAT:
        return sw_sql_bind_double(st, i, sw_sql_column_double(from, c));
    case SW_SQL_TEXT:
        return sw_sql_bind_text(st, i, (const char *)sw_sql_column_text(from, c),
                                sw_sql_column_bytes(from, c), SW_SQL_TRANSIENT);
    case SW_SQL_BLOB:
        return sw_sql_bind_blob(st, i, sw_sql_column_blob(from, c), sw_sql_column_bytes(from, c),
                                SW_SQL_TRANSIENT);
    default:
        return sw_sql_bind_null(st, i);
    }
}

int sw_sql_column_count(sw_stmt *st)
{
    return st->pg ? sw_sql_pg_column_count(st) : sqlite3_column_count(st->lite);
}

int sw_sql_column_type(sw_stmt *st, int i)
{
    return st->pg ? sw_sql_pg_column_type(st, i) : sqlite3_column_type(st->lite, i);
}

int64_t sw_sql_column_int64(sw_stmt *st, int i)
{
    return st->pg ? sw_sql_pg_column_int64(st, i) : sqlite3_column_int64(st->lite, i);
}

int sw_sql_column_int(sw_stmt *st, int i)
{
    return st->pg ? (int)sw_sql_pg_column_int64(st, i) : sqlite3_column_int(st->lite, i);
}

double sw_sql_column_double(sw_stmt *st, int i)
{
    return st->pg ? sw_sql_pg_column_double(st, i) : sqlite3_column_double(st->lite, i);
}

const unsigned char *sw_sql_column_text(sw_stmt *st, int i)
{
    return st->pg ? (const unsigned char *)sw_sql_pg_column_text(st, i) : sqlite3_column_text(st->lite, i);
}

const void *sw_sql_column_blob(sw_stmt *st, int i)
{
    return st->pg ? sw_sql_pg_column_blob(st, i) : sqlite3_column_blob(st->lite, i);
}

int sw_sql_column_bytes(sw_stmt *st, int i)
{
    return st->pg ? sw_sql_pg_column_bytes(st, i) : sqlite3_column_bytes(st->lite, i);
}

const char *sw_sql_errmsg(sw_sql *db)
{
    if (!db)
        return "out of memory";
    return db->pg ? db->err : sqlite3_errmsg(db->lite);
}

int sw_sql_errcode(sw_sql *db)
{
    if (!db)
        return SW_SQL_NOMEM;
    return db->pg ? db->code : sqlite3_extended_errcode(db->lite);
}

const char *sw_sql_errstr(int code)
{
    return sqlite3_errstr(code);
}

sw_sql *sw_sql_db_handle(sw_stmt *st)
{
    return st->db;
}

const char *sw_sql_target(sw_sql *db)
{
    return db && db->target ? db->target : "";
}

int sw_sql_get_autocommit(sw_sql *db)
{
    return db->pg ? sw_sql_pg_autocommit(db) : sqlite3_get_autocommit(db->lite);
}
