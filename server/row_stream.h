/* row_stream.h — a JSON answer sent to the socket row by row as an SQLite statement yields them
 * (chunked transfer), instead of a tree of every row built in memory first: a list of thousands
 * of spills costs the memory of one row, and its first bytes leave before its last row is read.
 *
 * The answer is  head  row(1) "," row(2) "," ... row(n)  tail(n, last row's key) . The statement
 * runs on a read-only connection of its own (one read transaction: the list is one snapshot),
 * opened by sw_row_stream_start and closed when the response is done; the per-thread reader of
 * the handler stays free for the thread's other requests meanwhile.
 *
 * Used by: runs_api (GET /api/v1/runs/{run}/spills).
 * Threads: sw_row_stream_start on a request thread; the rows are then read and written by
 * libmicrohttpd's thread of the connection, as the socket takes them.
 */
#ifndef SW_ROW_STREAM_H
#define SW_ROW_STREAM_H

#include <jansson.h>
#include "sql.h"
#include <stdint.h>

#include "reply.h"

struct sw_store;

struct sw_row_stream_spec {
    const char *sql;                             /* the statement of the rows */
    void (*bind)(sw_stmt *st, const void *args); /* binds its parameters */
    json_t *(*row)(sw_stmt *st, int64_t *key);   /* a row as JSON (NULL: out of memory), its key */
    char *(*tail)(const void *args, int64_t n, int64_t last_key); /* malloc'ed text after n rows */
    const char *head;                                             /* the text before the rows */
    const void *args; /* for bind and tail: copied (args_size bytes) */
    size_t args_size;
};

/* Starts the answer in r->raw (status 200, application/json). The first row is read here, so a
 * statement that fails at once is still a clean 503; a failure later ends the transfer early (the
 * client sees a cut chunked body, never a complete-looking wrong answer). 0, or -1 with r set. */
int sw_row_stream_start(struct sw_store *store, const struct sw_row_stream_spec *spec, struct sw_reply *r);

#endif
