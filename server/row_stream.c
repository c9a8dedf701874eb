/* row_stream.c — see row_stream.h */
#include "row_stream.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonnum.h"
#include "log.h"
#include "store.h"

struct rs {
    sw_sql *db;
    sw_stmt *st;
    json_t *(*row)(sw_stmt *, int64_t *);
    char *(*tail)(const void *, int64_t, int64_t);
    void *args;
    char *buf; /* the text not sent yet: buf[off..len) */
    size_t off, len;
    int64_t n, last_key;
    int rc; /* the statement's last step: SW_SQL_ROW (a row waits), SW_SQL_DONE, or an error */
    int ended;
};

static void rs_free(void *cls)
{
    struct rs *s = cls;
    if (!s)
        return;
    sw_sql_finalize(s->st);
    sw_sql_close(s->db);
    free(s->args);
    free(s->buf);
    free(s);
}

/* Replaces the pending text with text (malloc'ed, taken), after sep when it is not NULL. */
static int pend(struct rs *s, const char *sep, char *text, size_t len)
{
    if (!text)
        return -1;
    size_t sl = sep ? strlen(sep) : 0;
    char *b = malloc(sl + len + 1);
    if (!b) {
        free(text);
        return -1;
    }
    if (sl)
        memcpy(b, sep, sl);
    if (len)
        memcpy(b + sl, text, len);
    free(text);
    free(s->buf);
    s->buf = b;
    s->off = 0;
    s->len = sl + len;
    return 0;
}

/* The next piece of the answer into the pending text: the row that waits, or the tail. */
static int next_piece(struct rs *s)
{
    if (s->rc == SW_SQL_ROW) {
        int64_t key = 0;
        json_t *j = s->row(s->st, &key);
        size_t len = 0;
        char *text = j ? sw_json_text(j, JSON_COMPACT, &len) : NULL;
        json_decref(j);
        if (pend(s, s->n ? "," : NULL, text, len) != 0)
            return -1;
        s->n++;
        s->last_key = key;
        s->rc = sw_sql_step(s->st);
        return 0;
    }
    if (s->rc != SW_SQL_DONE) {
        sw_error("api", "a streamed answer ends early after %lld rows: %s", (long long)s->n,
                 sw_sql_errmsg(s->db));
        return -1;
    }
    char *t = s->tail(s->args, s->n, s->last_key);
    if (pend(s, NULL, t, t ? strlen(t) : 0) != 0)
        return -1;
    s->ended = 1;
    return 0;
}

static ssize_t rs_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct rs *s = cls;
    size_t w = 0;
    while (w < max) {
        if (s->off == s->len) {
            if (s->ended)
                break;
            if (next_piece(s) != 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        size_t k = s->len - s->off < max - w ? s->len - s->off : max - w;
        memcpy(out + w, s->buf + s->off, k);
        s->off += k;
        w += k;
    }
    if (w == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)w;
}

int sw_row_stream_start(struct sw_store *store, const struct sw_row_stream_spec *spec, struct sw_reply *r)
{
    struct rs *s = calloc(1, sizeof *s);
    if (!s || !(s->args = malloc(spec->args_size ? spec->args_size : 1))) {
        free(s);
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return -1;
    }
    memcpy(s->args, spec->args, spec->args_size);
    s->row = spec->row;
    s->tail = spec->tail;
    if (!(s->db = sw_store_reader_own(store))) {
        rs_free(s);
        sw_reply_fail(r, SW_EUNAVAILABLE, "store: cannot open a read connection");
        return -1;
    }
    if (sw_sql_prepare(s->db, spec->sql, -1, &s->st, NULL) != SW_SQL_OK) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "store: %s", sw_sql_errmsg(s->db));
        rs_free(s);
        return -1;
    }
    spec->bind(s->st, s->args);
    s->rc = sw_sql_step(s->st); /* the read transaction starts here: the list is one snapshot */
    if (s->rc != SW_SQL_ROW && s->rc != SW_SQL_DONE) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "store: %s", sw_sql_errmsg(s->db));
        rs_free(s);
        return -1;
    }
    char *head = strdup(spec->head);
    if (pend(s, NULL, head, head ? strlen(head) : 0) != 0) {
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        rs_free(s);
        return -1;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32768, rs_read, s, rs_free);
    if (!resp) {
        rs_free(s);
        sw_reply_fail(r, SW_EUNAVAILABLE, "out of memory");
        return -1;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    r->raw = resp;
    r->status = 200;
    return 0;
}
