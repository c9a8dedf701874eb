/* wire.c — see wire.h */
#include "wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line_ctx {
    const char *text;
    size_t len;
    int line;
    struct sw_wire_error *err;
};

/* Column of the first occurrence of "key" in the line, so a semantic error points at its key. */
static int key_column(const struct line_ctx *lc, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen + 2 <= lc->len; i++)
        if (lc->text[i] == '"' && memcmp(lc->text + i + 1, key, klen) == 0 && lc->text[i + 1 + klen] == '"')
            return (int)i + 1;
    return 1;
}

__attribute__((format(printf, 4, 5))) static int fail(const struct line_ctx *lc, unsigned status, int column,
                                                      const char *fmt, ...)
{
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lc->err->status = status;
    lc->err->line = lc->line;
    lc->err->column = column;
    snprintf(lc->err->msg, sizeof lc->err->msg, "line %d: %s", lc->line, msg);
    return -1;
}

static int grow_rows(struct sw_batch *b, size_t more)
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

static struct sw_record *new_record(struct sw_batch *b)
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

static int get_id(const struct line_ctx *lc, json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return fail(lc, 400, 1, "\"%s\" is required", key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(lc, 400, key_column(lc, key), "\"%s\" must be a non-negative integer", key);
    *out = json_integer_value(v);
    return 0;
}

static int get_opt_number(const struct line_ctx *lc, json_t *obj, const char *key, double lo, double hi,
                          double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return fail(lc, 400, key_column(lc, key), "\"%s\" must be a finite number", key);
    double x = json_number_value(v);
    if (x < lo || x > hi)
        return fail(lc, 400, key_column(lc, key), "\"%s\" must be within [%g, %g], got %g", key, lo, hi, x);
    *out = x;
    return 0;
}

static int only_keys(const struct line_ctx *lc, json_t *obj, const char *const *known, const char *type)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok)
            return fail(lc, 400, key_column(lc, key), "unknown key \"%s\" in a %s record", key, type);
    }
    return 0;
}

/* Stores one measurement value (scalar or array) into the row slot of field f. */
static int put_value(const struct line_ctx *lc, const struct sw_fields *fields, int f, json_t *v, double *row,
                     const char *where)
{
    int w = fields->width[f];
    double *slot = row + fields->offset[f];
    if (json_is_null(v))
        return 0;
    if (json_is_number(v)) {
        if (w != 1)
            return fail(lc, 400, key_column(lc, fields->name[f]),
                        "field \"%s\"%s: must be an array of up to %d numbers", fields->name[f], where, w);
        slot[0] = json_number_value(v);
        if (!isfinite(slot[0]))
            return fail(lc, 400, key_column(lc, fields->name[f]), "field \"%s\"%s: must be finite",
                        fields->name[f], where);
        return 0;
    }
    if (json_is_array(v) && w > 1) {
        size_t n = json_array_size(v);
        if (n > (size_t)w)
            return fail(lc, 400, key_column(lc, fields->name[f]),
                        "field \"%s\"%s: array of %zu values, at most %d", fields->name[f], where, n, w);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            if (json_is_null(e))
                continue;
            if (!json_is_number(e) || !isfinite(json_number_value(e)))
                return fail(lc, 400, key_column(lc, fields->name[f]),
                            "field \"%s\"%s[%zu]: must be a finite number or null", fields->name[f], where,
                            i);
            slot[i] = json_number_value(e);
        }
        return 0;
    }
    return fail(lc, 400, key_column(lc, fields->name[f]), "field \"%s\"%s: must be %s or null",
                fields->name[f], where, w == 1 ? "a number" : "an array of numbers");
}

static int is_reserved(const char *key)
{
    return !strcmp(key, "type") || !strcmp(key, "run") || !strcmp(key, "spill") || !strcmp(key, "event") ||
           !strcmp(key, "trigger") || !strcmp(key, "time");
}

static void init_row(double *row, int width)
{
    for (int i = 0; i < width; i++)
        row[i] = NAN;
}

static int parse_event(const struct line_ctx *lc, struct sw_batch *b, json_t *obj, struct sw_record *r,
                       const struct sw_fields *fields, const struct sw_wire_limits *lim)
{
    int64_t ev;
    if (get_id(lc, obj, "spill", &r->spill) || get_id(lc, obj, "event", &ev))
        return -1;
    json_t *t = json_object_get(obj, "trigger");
    int trig = json_is_string(t) ? sw_trigger_parse(json_string_value(t)) : -1;
    if (trig < 0)
        return fail(lc, 400, t ? key_column(lc, "trigger") : 1,
                    "\"trigger\" must be one of physics, beam, random, led");
    if (get_opt_number(lc, obj, "time", -1e300, 1e300, &r->time))
        return -1;
    if (b->events + 1 > lim->events_max)
        return fail(lc, 413, 1, "more than %zu events in one request", lim->events_max);
    if (grow_rows(b, 1))
        return fail(lc, 413, 1, "out of memory for the batch");
    double *row = b->rows + b->nrows * (size_t)b->row_width;
    init_row(row, b->row_width);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (is_reserved(key))
            continue;
        int f = sw_fields_find(fields, key, strlen(key));
        if (f < 0) {
            r->unknown_fields++;
            continue;
        }
        if (put_value(lc, fields, f, v, row, ""))
            return -1;
    }
    row[fields->offset[0]] = trig; /* pseudo-field "trigger" is field 0 by profile construction */
    b->event_no[b->nrows] = ev;
    b->trigger[b->nrows] = trig;
    r->first = b->nrows;
    r->nevents = 1;
    b->nrows++;
    b->events++;
    return 0;
}

static int parse_events(const struct line_ctx *lc, struct sw_batch *b, json_t *obj, struct sw_record *r,
                        const struct sw_fields *fields, const struct sw_wire_limits *lim)
{
    static const char *const known[] = {"type", "run", "spill", "columns", "time", NULL};
    if (only_keys(lc, obj, known, "events") || get_id(lc, obj, "spill", &r->spill) ||
        get_opt_number(lc, obj, "time", -1e300, 1e300, &r->time))
        return -1;
    json_t *cols = json_object_get(obj, "columns");
    if (!json_is_object(cols))
        return fail(lc, 400, cols ? key_column(lc, "columns") : 1, "\"columns\" must be an object of arrays");
    if ((int)json_object_size(cols) > lim->fields_max)
        return fail(lc, 400, key_column(lc, "columns"), "%zu columns, at most %d", json_object_size(cols),
                    lim->fields_max);
    json_t *evc = json_object_get(cols, "event"), *trc = json_object_get(cols, "trigger");
    if (!json_is_array(evc) || !json_is_array(trc))
        return fail(lc, 400, key_column(lc, "columns"),
                    "columns \"event\" and \"trigger\" are required arrays");
    size_t n = json_array_size(evc);
    if (b->events + n > lim->events_max)
        return fail(lc, 413, 1, "more than %zu events in one request", lim->events_max);
    const char *key;
    json_t *col;
    json_object_foreach(cols, key, col)
    {
        if (!json_is_array(col))
            return fail(lc, 400, key_column(lc, key), "column \"%s\" must be an array", key);
        if (json_array_size(col) != n)
            return fail(lc, 400, key_column(lc, key),
                        "column \"%s\" has %zu values, column \"event\" has %zu", key, json_array_size(col),
                        n);
    }
    if (grow_rows(b, n))
        return fail(lc, 413, 1, "out of memory for the batch");
    r->first = b->nrows;
    r->nevents = n;
    for (size_t i = 0; i < n; i++)
        init_row(b->rows + (b->nrows + i) * (size_t)b->row_width, b->row_width);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(evc, i), *t = json_array_get(trc, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0)
            return fail(lc, 400, key_column(lc, "event"),
                        "column \"event\"[%zu]: must be a non-negative integer", i);
        int trig = json_is_string(t) ? sw_trigger_parse(json_string_value(t)) : -1;
        if (trig < 0)
            return fail(lc, 400, key_column(lc, "trigger"),
                        "column \"trigger\"[%zu]: must be one of physics, beam, random, led", i);
        b->event_no[b->nrows + i] = json_integer_value(e);
        b->trigger[b->nrows + i] = trig;
        b->rows[(b->nrows + i) * (size_t)b->row_width + (size_t)fields->offset[0]] = trig;
    }
    json_object_foreach(cols, key, col)
    {
        if (is_reserved(key))
            continue;
        int f = sw_fields_find(fields, key, strlen(key));
        if (f < 0) {
            for (size_t i = 0; i < n; i++)
                r->unknown_fields += !json_is_null(json_array_get(col, i));
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            char where[32];
            snprintf(where, sizeof where, "[%zu]", i);
            if (put_value(lc, fields, f, json_array_get(col, i),
                          b->rows + (b->nrows + i) * (size_t)b->row_width, where))
                return -1;
        }
    }
    b->nrows += n;
    b->events += n;
    return 0;
}

static int parse_spill_end(const struct line_ctx *lc, json_t *obj, struct sw_record *r,
                           const struct sw_wire_limits *lim)
{
    static const char *const known[] = {"type",     "run",       "spill",         "time", "duration",
                                        "counters", "dead_time", "decode_errors", NULL};
    if (only_keys(lc, obj, known, "spill_end") || get_id(lc, obj, "spill", &r->spill) ||
        get_opt_number(lc, obj, "time", -1e300, 1e300, &r->time) ||
        get_opt_number(lc, obj, "duration", 0, 1e6, &r->duration) ||
        get_opt_number(lc, obj, "dead_time", 0, 1, &r->dead_time) ||
        get_opt_number(lc, obj, "decode_errors", 0, 1e18, &r->decode_errors))
        return -1;
    json_t *c = json_object_get(obj, "counters");
    if (!c)
        return 0;
    if (!json_is_object(c))
        return fail(lc, 400, key_column(lc, "counters"), "\"counters\" must be an object of name -> number");
    if ((int)json_object_size(c) > lim->fields_max)
        return fail(lc, 400, key_column(lc, "counters"), "%zu counters, at most %d", json_object_size(c),
                    lim->fields_max);
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v)
    {
        if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0)
            return fail(lc, 400, key_column(lc, key), "counter \"%s\" must be a finite number >= 0", key);
        if (strlen(key) == 0 || strlen(key) > 63)
            return fail(lc, 400, key_column(lc, key), "counter names must have 1..63 characters");
    }
    r->counters = json_incref(c);
    return 0;
}

static int parse_line(const struct line_ctx *lc, struct sw_batch *b, const struct sw_fields *fields,
                      const struct sw_wire_limits *lim)
{
    json_error_t jerr;
    json_t *obj = json_loadb(lc->text, lc->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        return fail(lc, 400, jerr.column > 0 ? jerr.column : 1, "invalid JSON: %s", jerr.text);
    int rc = -1;
    if (!json_is_object(obj)) {
        fail(lc, 400, 1, "a record must be a JSON object");
        goto out;
    }
    if ((int)json_object_size(obj) > lim->fields_max) {
        fail(lc, 400, 1, "%zu keys in one record, at most %d", json_object_size(obj), lim->fields_max);
        goto out;
    }
    json_t *type = json_object_get(obj, "type");
    if (!json_is_string(type)) {
        fail(lc, 400, type ? key_column(lc, "type") : 1, "\"type\" is required (a string)");
        goto out;
    }
    const char *t = json_string_value(type);
    struct sw_record *r = new_record(b);
    if (!r) {
        fail(lc, 413, 1, "out of memory for the batch");
        goto out;
    }
    r->line = lc->line;
    if (strcmp(t, "event") && strcmp(t, "events") && strcmp(t, "spill_end") && strcmp(t, "spill_start") &&
        strcmp(t, "run_start") && strcmp(t, "run_end")) {
        fail(lc, 400, key_column(lc, "type"),
             "unknown type \"%.40s\" (expected run_start, spill_start, event, events, spill_end, run_end)",
             t);
        goto out;
    }
    if (get_id(lc, obj, "run", &r->run))
        goto out;
    if (!strcmp(t, "event")) {
        r->type = SW_REC_EVENTS;
        rc = parse_event(lc, b, obj, r, fields, lim);
    } else if (!strcmp(t, "events")) {
        r->type = SW_REC_EVENTS;
        rc = parse_events(lc, b, obj, r, fields, lim);
    } else if (!strcmp(t, "spill_end")) {
        r->type = SW_REC_SPILL_END;
        rc = parse_spill_end(lc, obj, r, lim);
    } else if (!strcmp(t, "spill_start")) {
        static const char *const known[] = {"type", "run", "spill", "time", NULL};
        r->type = SW_REC_SPILL_START;
        rc = only_keys(lc, obj, known, "spill_start") || get_id(lc, obj, "spill", &r->spill) ||
                     get_opt_number(lc, obj, "time", -1e300, 1e300, &r->time)
                 ? -1
                 : 0;
    } else if (!strcmp(t, "run_start")) {
        static const char *const known[] = {"type", "run", "time", "meta", NULL};
        r->type = SW_REC_RUN_START;
        json_t *meta = json_object_get(obj, "meta");
        if (only_keys(lc, obj, known, "run_start") ||
            get_opt_number(lc, obj, "time", -1e300, 1e300, &r->time))
            goto out;
        if (meta && !json_is_object(meta)) {
            fail(lc, 400, key_column(lc, "meta"), "\"meta\" must be an object");
            goto out;
        }
        r->meta = meta ? json_incref(meta) : NULL;
        rc = 0;
    } else if (!strcmp(t, "run_end")) {
        static const char *const known[] = {"type", "run", "time", NULL};
        r->type = SW_REC_RUN_END;
        rc = only_keys(lc, obj, known, "run_end") || get_opt_number(lc, obj, "time", -1e300, 1e300, &r->time)
                 ? -1
                 : 0;
    }
out:
    json_decref(obj);
    return rc;
}

int sw_wire_parse(struct sw_batch *b, const char *body, size_t len, const struct sw_fields *fields,
                  const struct sw_wire_limits *lim, struct sw_wire_error *err)
{
    memset(err, 0, sizeof *err);
    b->row_width = fields->row_width;
    struct line_ctx lc = {.err = err};
    size_t pos = 0;
    int line = 0;
    while (pos < len) {
        const char *start = body + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        line++;
        lc.text = start;
        lc.len = n;
        lc.line = line;
        if (n > lim->line_max)
            return fail(&lc, 413, 0, "line of %zu bytes, at most %zu", n, lim->line_max);
        while (lc.len > 0 &&
               (lc.text[lc.len - 1] == '\r' || lc.text[lc.len - 1] == ' ' || lc.text[lc.len - 1] == '\t'))
            lc.len--;
        if (lc.len == 0)
            continue; /* blank lines (and the final newline) carry nothing */
        if (memchr(lc.text, '\0', lc.len))
            return fail(&lc, 400, (int)((const char *)memchr(lc.text, '\0', lc.len) - lc.text) + 1,
                        "NUL byte inside a line");
        if (parse_line(&lc, b, fields, lim))
            return -1;
    }
    if (b->nrecs == 0) {
        lc.line = 0;
        err->status = 400;
        snprintf(err->msg, sizeof err->msg, "empty body: expected NDJSON records");
        return -1;
    }
    return 0;
}

void sw_batch_release(struct sw_batch *b)
{
    for (size_t i = 0; i < b->nrecs; i++) {
        json_decref(b->recs[i].counters);
        json_decref(b->recs[i].meta);
    }
    free(b->recs);
    free(b->rows);
    free(b->event_no);
    free(b->trigger);
    memset(b, 0, sizeof *b);
}
