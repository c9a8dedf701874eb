/* sql_int.h — internal to sql.c (the dispatch and the SQLite engine) and sql_pg.c (the PostgreSQL
 * engine); nothing else includes it. The contract of every call is sql.h. */
#ifndef SW_SQL_INT_H
#define SW_SQL_INT_H

#include <stddef.h>

#include "sql.h"

struct sqlite3;
struct sqlite3_stmt;
struct sw_pg;      /* sql_pg.c: a libpq connection */
struct sw_pg_stmt; /* sql_pg.c: a statement's text, parameters and rows */

struct sw_sql {
    struct sqlite3 *lite; /* exactly one of lite and pg */
    struct sw_pg *pg;
    int readonly;
    int code;      /* PostgreSQL: the last error, as a SQLite code */
    char err[512]; /* PostgreSQL: its message */
    char *target;  /* as opened */
};

struct sw_stmt {
    sw_sql *db;
    struct sqlite3_stmt *lite;
    struct sw_pg_stmt *pg;
};

/* ---- sql_pg.c: the PostgreSQL engine behind sql.c's calls ---- */
int sw_sql_pg_open(sw_sql *db, const char *uri);
void sw_sql_pg_close(sw_sql *db);
void sw_sql_pg_busy_timeout(sw_sql *db, int ms);
int sw_sql_pg_exec(sw_sql *db, const char *sql, char **errmsg);
int sw_sql_pg_autocommit(sw_sql *db);
int sw_sql_pg_prepare(sw_stmt *st, const char *sql, int len, int persistent);
int sw_sql_pg_finalize(sw_stmt *st);
int sw_sql_pg_reset(sw_stmt *st);
int sw_sql_pg_clear_bindings(sw_stmt *st);
int sw_sql_pg_step(sw_stmt *st);
/* type: SW_SQL_INTEGER (v: int64_t *), SW_SQL_FLOAT (double *), SW_SQL_TEXT and SW_SQL_BLOB (len
 * bytes at v, copied unless d is SW_SQL_STATIC), SW_SQL_NULL. */
int sw_sql_pg_bind(sw_stmt *st, int i, int type, const void *v, size_t len, sw_sql_destructor d);
int sw_sql_pg_column_count(sw_stmt *st);
int sw_sql_pg_column_type(sw_stmt *st, int i);
int64_t sw_sql_pg_column_int64(sw_stmt *st, int i);
double sw_sql_pg_column_double(sw_stmt *st, int i);
const char *sw_sql_pg_column_text(sw_stmt *st, int i);
const void *sw_sql_pg_column_blob(sw_stmt *st, int i);
int sw_sql_pg_column_bytes(sw_stmt *st, int i);

#endif
