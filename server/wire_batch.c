/* wire_batch.c — the batch of the wire parser (wire_int.h): its rows and records, their release,
 * and the error of a line with its line and column. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire_int.h"

/* Column of the first occurrence of "key" at or after column from, else fallback: a key inside a
 * nested object is looked for after the key of its object. */
int sw_wire_key_column_from(const struct line_ctx *lc, int from, const char *key, int fallback)
{
    size_t klen = strlen(key);
    for (size_t i = from > 1 ? (size_t)from - 1 : 0; i + klen + 2 <= lc->len; i++)
        if (lc->text[i] == '"' && memcmp(lc->text + i + 1, key, klen) == 0 && lc->text[i + 1 + klen] == '"')
            return (int)i + 1;
    return fallback;
}

/* Column of the first occurrence of "key" in the line, so a semantic error points at its key. */
int sw_wire_key_column(const struct line_ctx *lc, const char *key)
{
    return sw_wire_key_column_from(lc, 1, key, 1);
}

__attribute__((format(printf, 4, 5))) int sw_wire_fail(const struct line_ctx *lc, int code, int column,
                                                       const char *fmt, ...)
{
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lc->err->code = code;
    lc->err->line = lc->line;
    lc->err->column = column;
    snprintf(lc->err->msg, sizeof lc->err->msg, "line %d: %s", lc->line, msg);
    return -1;
}

int sw_wire_grow_rows(struct sw_batch *b, size_t more)
{
    if (b->nrows + more <= b->caprows)
        return 0;
    size_t cap = b->caprows ? b->caprows : 256;
    while (cap < b->nrows + more)
        cap *= 2;
    double *rows = realloc(b->rows, cap * (size_t)b->row_width * sizeof *rows);
    if (!rows)
        return -1;
    b->rows = rows;
    int64_t *ev = realloc(b->event_no, cap * sizeof *ev);
    if (!ev)
        return -1;
    b->event_no = ev;
    int *tr = realloc(b->trigger, cap * sizeof *tr);
    if (!tr)
        return -1;
    b->trigger = tr;
    b->caprows = cap;
    return 0;
}

struct sw_record *sw_wire_new_record(struct sw_batch *b)
{
    if (b->nrecs == b->caprecs) {
        size_t cap = b->caprecs ? b->caprecs * 2 : 16;
        struct sw_record *r = realloc(b->recs, cap * sizeof *r);
        if (!r)
            return NULL;
        b->recs = r;
        b->caprecs = cap;
    }
    struct sw_record *r = &b->recs[b->nrecs++];
    memset(r, 0, sizeof *r);
    r->time = r->duration = r->dead_time = r->decode_errors = NAN;
    r->spill = -1;
    return r;
}

void sw_wire_set_width(struct sw_batch *b, int width)
{
    if (b->caprows && width != b->row_width && width > 0) {
        size_t fit = b->caprows * (size_t)(b->row_width > 0 ? b->row_width : 0) / (size_t)width;
        b->caprows = fit < b->caprows ? fit : b->caprows;
    }
    b->row_width = width;
}

static void release_records(struct sw_batch *b)
{
    for (size_t i = 0; i < b->nrecs; i++) {
        json_decref(b->recs[i].counters);
        json_decref(b->recs[i].daq_sources);
        json_decref(b->recs[i].meta);
    }
}

void sw_batch_clear(struct sw_batch *b, size_t keep_bytes)
{
    release_records(b);
    b->nrecs = 0;
    size_t bytes = b->caprows * ((size_t)(b->row_width > 0 ? b->row_width : 0) * sizeof *b->rows +
                                 sizeof *b->event_no + sizeof *b->trigger) +
                   b->caprecs * sizeof *b->recs;
    if (bytes > keep_bytes) {
        sw_batch_release(b);
        return;
    }
    b->nrows = 0;
    b->events = 0;
    b->fast = 0;
}

void sw_batch_release(struct sw_batch *b)
{
    release_records(b);
    free(b->recs);
    free(b->rows);
    free(b->event_no);
    free(b->trigger);
    memset(b, 0, sizeof *b);
}
