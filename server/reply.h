/* reply.h — the request/reply toolkit of the REST handlers: the reply a handler fills, JSON errors,
 * query parameters, request bodies, the read-only database connection and the store's refusal of
 * writes. It includes no handler module and calls none; every handler module includes it.
 *
 * Threads: MHD pool threads (each reply belongs to one request).
 */
#ifndef SW_REPLY_H
#define SW_REPLY_H

#include <jansson.h>
#include <microhttpd.h>
#include "sql.h"
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

struct sw_defer;

struct sw_reply {
    unsigned status;
    char *body; /* malloc'ed, owned by the reply */
    size_t len;
    const char *content_type;
    const char *allow;        /* for 405 */
    char filename[96];        /* when set (a download: an export, a ROOT bundle), sent as
                               * Content-Disposition: attachment; filename="..." ([A-Za-z0-9._-] only) */
    unsigned retry_after;     /* s; sent as Retry-After when > 0 (503 back-pressure) */
    int close;                /* send Connection: close (a refusal whose client should not keep the slot) */
    struct MHD_Response *raw; /* a response the handler built (the live stream): queued as it is, with
                               * the security headers, instead of body; NULL otherwise */
    struct sw_defer *defer;   /* a human write queued to the writer (defer.h): the answer is filled
                               * once it has run, the connection suspended meanwhile; NULL otherwise */
};

/* Fills reply with j serialised (steals j; NULL gives a 503). */
void sw_reply_json(struct sw_reply *reply, unsigned status, json_t *j);

/* Fills reply with {"error": msg} and the HTTP status of code (an sw_err_t, err.h: the one place
 * that maps an error to a status). */
void sw_reply_fail(struct sw_reply *reply, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replaces every byte of s that is not part of well-formed UTF-8 with '?' (Jansson refuses to
 * encode invalid UTF-8; messages quote request bytes). */
void sw_utf8_clean(char *s);

/* A query parameter (borrowed from MHD), NULL when absent. */
const char *sw_req_qarg(struct MHD_Connection *c, const char *key);
/* A non-negative integer query parameter: 1 with *out set, 0 when absent, -1 with a 400 reply. */
int sw_req_query_int(struct MHD_Connection *c, const char *key, int64_t *out, struct sw_reply *r);

/* An id in the path or a query (run, spill, silence id): decimal digits only, 0..2^53 - 1. 0 with
 * *out, or -1 with a 400 reply naming what. */
int sw_req_path_int(struct sw_reply *r, const char *what, const char *seg, size_t len, int64_t *out);
/* A name in the path (source, histogram, trend quantity, alarm): 1..outlen-1 characters of
 * [A-Za-z0-9._:-], checked before any lookup. 0 with out filled, or -1 with a 400 reply. */
int sw_req_path_name(struct sw_reply *r, const char *what, const char *seg, size_t len, char *out,
                     size_t outlen);

/* The request body as a JSON object (new reference), or NULL with a 400 reply saying where it broke. */
json_t *sw_req_body_object(const char *body, size_t len, struct sw_reply *r);
/* Optional string member: 0 with *out (borrowed; NULL when absent or null), or -1 with a 400 reply
 * when it is not a string or is longer than max. */
int sw_req_body_string(json_t *obj, const char *key, size_t max, const char **out, struct sw_reply *r);
/* 0 when every key of obj is in known (NULL-terminated), else -1 with a 400 reply naming the key. */
int sw_req_body_keys(json_t *obj, const char *const *known, struct sw_reply *r);

/* The calling thread's read-only connection, or NULL with a 503 reply. */
sw_sql *sw_db_reader(struct sw_store *store, struct sw_reply *r);
/* The same, checking first (when has_run) that the run exists: NULL with a 404 reply otherwise. */
sw_sql *sw_db_reader_for_run(struct sw_store *store, int has_run, int64_t run, struct sw_reply *r);
/* Prepares sql: 0, or -1 with a 503 reply naming the SQLite error. */
int sw_db_prepare(sw_sql *db, const char *sql, sw_stmt **st, struct sw_reply *r);
/* A column as a double, NaN for NULL; a column of JSON text parsed (new reference), NULL for NULL. */
double sw_col_real(sw_stmt *st, int i);
json_t *sw_col_json(sw_stmt *st, int i);

/* 1 with a 503 + Retry-After reply when the store cannot take writes now (a write failing and
 * retried, the free-space reserve reached, or the database file moved): ingest and human writes are
 * refused before anything is applied, so nothing is half done and a resend is never answered as a
 * duplicate of data that is not durable yet. 0 when it can. */
int sw_req_store_refuses(struct sw_store *store, struct sw_reply *r);

#endif
