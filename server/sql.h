/* sql.h — the one SQL interface of the server, with two engines behind it: SQLite (a file path, the
 * embedded default) and PostgreSQL (a postgresql:// URI, the shared store of several servers;
 * docs/design.md, "Two engines"). Every module that reads or writes the database uses these calls
 * and nothing of either engine's own API, so a query is written once.
 *
 * The calls mirror the SQLite C API the code was written against: prepare, bind (parameters
 * numbered from 1, written ?N or ? in the SQL text), step (SW_SQL_ROW while rows come, then
 * SW_SQL_DONE), column (numbered from 0), reset, finalize. On SQLite each call is the SQLite call.
 * On PostgreSQL (sql_pg.c):
 *   - ?N and ? become $N; a statement runs at its first step, its rows are then read one by one;
 *   - a parameter is sent with the type of its bind call (bigint, double precision, bytea; text
 *     and NULL are typed by the server from their use);
 *   - a column's type is its declared one (bigint/integer/boolean: SW_SQL_INTEGER, double
 *     precision/real: SW_SQL_FLOAT, numeric: INTEGER when integral, bytea: SW_SQL_BLOB), a boolean
 *     reads as 1 or 0, doubles come in their shortest exact text;
 *   - "BEGIN IMMEDIATE" is BEGIN, and a plain BEGIN on a read-only connection is a repeatable-read
 *     transaction (one snapshot for several statements, as a SQLite read transaction);
 *   - errors map onto the SQLite codes below (a lost connection or an unreachable server:
 *     SW_SQL_IOERR, a full disk: SW_SQL_FULL, a read-only transaction: SW_SQL_READONLY, a
 *     serialisation failure or lock timeout: SW_SQL_BUSY, a constraint: SW_SQL_CONSTRAINT).
 * Where the two dialects differ (JSON functions, the schema version), the caller picks the text
 * with sw_sql_is_pg; the rest of the SQL is written in the subset both engines read the same way.
 *
 * Threads: a connection and its statements belong to one thread at a time (SQLite's NOMUTEX and
 * libpq's rule). */
#ifndef SW_SQL_H
#define SW_SQL_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_sql sw_sql;
typedef struct sw_stmt sw_stmt;

/* Result codes: SQLite's own values, so that the SQLite engine passes them through. */
enum {
    SW_SQL_OK = 0,
    SW_SQL_ERROR = 1,
    SW_SQL_BUSY = 5,
    SW_SQL_LOCKED = 6,
    SW_SQL_NOMEM = 7,
    SW_SQL_READONLY = 8,
    SW_SQL_IOERR = 10,
    SW_SQL_CORRUPT = 11,
    SW_SQL_FULL = 13,
    SW_SQL_CANTOPEN = 14,
    SW_SQL_PROTOCOL = 15,
    SW_SQL_CONSTRAINT = 19,
    SW_SQL_NOTADB = 26,
    SW_SQL_ROW = 100,
    SW_SQL_DONE = 101,
};
/* Column types (sw_sql_column_type). */
enum { SW_SQL_INTEGER = 1, SW_SQL_FLOAT = 2, SW_SQL_TEXT = 3, SW_SQL_BLOB = 4, SW_SQL_NULL = 5 };
/* Bound text and blobs: STATIC (the caller keeps them alive until the statement is reset or
 * finalized) or TRANSIENT (copied at once). */
typedef void (*sw_sql_destructor)(void *);
#define SW_SQL_STATIC    ((sw_sql_destructor)0)
#define SW_SQL_TRANSIENT ((sw_sql_destructor)(intptr_t)-1)

/* target for messages: a path as it is, a URI with its password replaced by "***". */
void sw_sql_display(const char *target, char *out, size_t len);

/* PostgreSQL advisory lock keys (bigint) of spillwatch: the schema migration, and the one that
 * makes a server the active one (ha.h). */
#define SW_PG_LOCK_MIGRATE "74640001"
#define SW_PG_LOCK_ACTIVE  "74640002"

/* Opening. */
enum { SW_SQL_OPEN_READONLY = 1, SW_SQL_OPEN_READWRITE = 2, SW_SQL_OPEN_CREATE = 4 };
/* 1 when target names a PostgreSQL database (postgresql:// or postgres://), 0 for a file path. */
int sw_sql_target_is_pg(const char *target);
/* Opens target with flags. Always sets *out (a connection that failed to open still carries its
 * error for sw_sql_errmsg; sw_sql_close it). Returns SW_SQL_OK or an error code. On PostgreSQL a
 * read-only connection refuses writes (default_transaction_read_only) and CREATE is ignored. */
int sw_sql_open(const char *target, int flags, sw_sql **out);
/* Closes; accepts NULL. Statements must be finalized first. */
void sw_sql_close(sw_sql *db);
int sw_sql_is_pg(const sw_sql *db);
/* The SQLite connection under db, NULL on PostgreSQL: for what only SQLite has (the pragmas, the
 * online backup, the moved-file check). */
struct sqlite3 *sw_sql_sqlite(sw_sql *db);
/* How long a statement waits for a lock before SW_SQL_BUSY. */
void sw_sql_busy_timeout(sw_sql *db, int ms);

/* Runs one or more statements without parameters or rows. errmsg (may be NULL) is set to a
 * malloc'ed message on failure (free it with free). */
int sw_sql_exec(sw_sql *db, const char *sql, char **errmsg);
/* Prepares sql (len -1: up to its NUL; tail: unused, may be NULL). *st is NULL on failure. */
int sw_sql_prepare(sw_sql *db, const char *sql, int len, sw_stmt **st, const char **tail);
/* The same, for a statement kept for the connection's life (SQLite's PERSISTENT; a named
 * prepared statement on PostgreSQL). */
int sw_sql_prepare_persistent(sw_sql *db, const char *sql, sw_stmt **st);
int sw_sql_finalize(sw_stmt *st);
int sw_sql_reset(sw_stmt *st);
int sw_sql_clear_bindings(sw_stmt *st);
int sw_sql_step(sw_stmt *st);

int sw_sql_bind_int64(sw_stmt *st, int i, int64_t v);
int sw_sql_bind_int(sw_stmt *st, int i, int v);
int sw_sql_bind_double(sw_stmt *st, int i, double v);
int sw_sql_bind_text(sw_stmt *st, int i, const char *v, int len, sw_sql_destructor d);
int sw_sql_bind_blob(sw_stmt *st, int i, const void *v, int len, sw_sql_destructor d);
int sw_sql_bind_null(sw_stmt *st, int i);
/* Binds parameter i of st to column c of the current row of from (its type and value). */
int sw_sql_bind_column(sw_stmt *st, int i, sw_stmt *from, int c);

int sw_sql_column_count(sw_stmt *st);
int sw_sql_column_type(sw_stmt *st, int i);
int64_t sw_sql_column_int64(sw_stmt *st, int i);
int sw_sql_column_int(sw_stmt *st, int i);
double sw_sql_column_double(sw_stmt *st, int i);
/* Valid until the next step, reset or finalize of st. NULL for a NULL value. */
const unsigned char *sw_sql_column_text(sw_stmt *st, int i);
const void *sw_sql_column_blob(sw_stmt *st, int i);
int sw_sql_column_bytes(sw_stmt *st, int i);

/* The last error of db, or of the connection of st. */
const char *sw_sql_errmsg(sw_sql *db);
int sw_sql_errcode(sw_sql *db);
const char *sw_sql_errstr(int code);
sw_sql *sw_sql_db_handle(sw_stmt *st);
/* What db was opened on: the file's path or the URI ("" when unknown). */
const char *sw_sql_target(sw_sql *db);
/* 1 outside a transaction. */
int sw_sql_get_autocommit(sw_sql *db);

#endif
