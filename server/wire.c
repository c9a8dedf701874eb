/* wire.c — see wire.h */
#include "wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line_ctx {
    const char *text;
    size_t len;
    int line;
    struct sw_wire_error *err;
};

/* Column of the first occurrence of "key" at or after column from, else fallback: a key inside a
 * nested object is looked for after the key of its object. */
static int key_column_from(const struct line_ctx *lc, int from, const char *key, int fallback)
{
    size_t klen = strlen(key);
    for (size_t i = from > 1 ? (size_t)from - 1 : 0; i + klen + 2 <= lc->len; i++)
        if (lc->text[i] == '"' && memcmp(lc->text + i + 1, key, klen) == 0 && lc->text[i + 1 + klen] == '"')
            return (int)i + 1;
    return fallback;
}

/* Column of the first occurrence of "key" in the line, so a semantic error points at its key. */
static int key_column(const struct line_ctx *lc, const char *key)
{
    return key_column_from(lc, 1, key, 1);
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
    if (strcmp(key, "event") != 0 && json_integer_value(v) > SW_ID_MAX)
        return fail(lc, 400, key_column(lc, key), "\"%s\" must be at most %lld (2^53 - 1), got %lld", key,
                    SW_ID_MAX, (long long)json_integer_value(v));
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

/* A name from the body for a message: printable ASCII as is, anything else '?', at most 64
 * characters (a message must stay valid UTF-8 however the buffer cuts it). */
static const char *printable(char *buf, size_t len, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len && i < 64; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    buf[i] = 0;
    if (s[i] && i >= 3)
        memcpy(buf + i - 3, "...", 3);
    return buf;
}

/* "daq_sources": {SOURCE: {"events": N, "missing": n, "empty": n, "truncated": n}, ...}: at most
 * SW_DAQ_SOURCES_MAX sources named as sw_daq_source_ok wants; events required, the others default
 * to 0 and none exceeds events; nothing else. */
static int parse_daq_sources(const struct line_ctx *lc, json_t *obj, struct sw_record *r)
{
    static const char *const known[] = {"events", "missing", "empty", "truncated", NULL};
    json_t *ds = json_object_get(obj, "daq_sources");
    if (!ds)
        return 0;
    int col = key_column(lc, "daq_sources");
    if (!json_is_object(ds))
        return fail(lc, 400, col, "\"daq_sources\" must be an object of source name -> counts");
    if (json_object_size(ds) > SW_DAQ_SOURCES_MAX)
        return fail(lc, 400, col, "%zu daq_sources, at most %d", json_object_size(ds), SW_DAQ_SOURCES_MAX);
    const char *name;
    json_t *src;
    json_object_foreach(ds, name, src)
    {
        char shown[72];
        int scol = key_column_from(lc, col, name, col);
        if (!sw_daq_source_ok(name))
            return fail(lc, 400, scol,
                        "daq_sources: source name \"%s\" must be 1..%d characters of [A-Za-z0-9._-]",
                        printable(shown, sizeof shown, name), SW_DAQ_SOURCE_MAX);
        if (!json_is_object(src))
            return fail(lc, 400, scol,
                        "daq_sources \"%s\": must be an object {\"events\": N, \"missing\", \"empty\", "
                        "\"truncated\"}",
                        name);
        json_int_t n[4] = {0};
        const char *key;
        json_t *v;
        json_object_foreach(src, key, v)
        {
            int k = 0;
            while (known[k] && strcmp(known[k], key) != 0)
                k++;
            int kcol = key_column_from(lc, scol, key, scol);
            if (!known[k])
                return fail(
                    lc, 400, kcol,
                    "daq_sources \"%s\": unknown key \"%s\" (expected events, missing, empty, truncated)",
                    name, printable(shown, sizeof shown, key));
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return fail(lc, 400, kcol, "daq_sources \"%s\": \"%s\" must be an integer >= 0", name, key);
            n[k] = json_integer_value(v);
        }
        if (!json_object_get(src, "events"))
            return fail(lc, 400, scol, "daq_sources \"%s\": \"events\" is required", name);
        for (int k = 1; k < 4; k++)
            if (n[k] > n[0])
                return fail(lc, 400, key_column_from(lc, scol, known[k], scol),
                            "daq_sources \"%s\": \"%s\" %lld exceeds \"events\" %lld", name, known[k],
                            (long long)n[k], (long long)n[0]);
    }
    r->daq_sources = json_incref(ds);
    return 0;
}

static int parse_spill_end(const struct line_ctx *lc, json_t *obj, struct sw_record *r,
                           const struct sw_wire_limits *lim)
{
    static const char *const known[] = {"type",     "run",       "spill",         "time",        "duration",
                                        "counters", "dead_time", "decode_errors", "daq_sources", NULL};
    if (only_keys(lc, obj, known, "spill_end") || get_id(lc, obj, "spill", &r->spill) ||
        get_opt_number(lc, obj, "time", -1e300, 1e300, &r->time) ||
        get_opt_number(lc, obj, "duration", 0, 1e6, &r->duration) ||
        get_opt_number(lc, obj, "dead_time", 0, 1, &r->dead_time) ||
        get_opt_number(lc, obj, "decode_errors", 0, 1e18, &r->decode_errors) || parse_daq_sources(lc, obj, r))
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

/* ---- fast path ----
 * Event records are nearly all the bytes of a body. Jansson builds a tree of each (an allocation per
 * value, strtod per number) only for the code above to copy the numbers out again; the fast path
 * reads `event` and `events` records straight into rows. It takes only the plain form — strings of
 * printable ASCII without escapes, numbers whose double is exact without strtod, no objects inside
 * unknown fields — and answers 0 ("not mine") for anything else, every error included. The line then
 * goes through Jansson (parse_line), which gives the same result or the error, as before. So the fast
 * path accepts nothing the Jansson path refuses and has no error messages of its own; it writes rows
 * only past b->nrows and commits a record only when the whole line was read (tests/unit/test_wire.c
 * and the fuzz target compare both paths). */

struct cur {
    const char *p, *e;
};

static void skip_ws(struct cur *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int eat(struct cur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->e && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A string of printable ASCII without escapes: its bytes are [*s, *s + *n). */
static int plain_string(struct cur *c, const char **s, size_t *n)
{
    if (!eat(c, '"'))
        return 0;
    const char *q = c->p;
    while (q < c->e && *q >= 0x20 && *q < 0x7f && *q != '"' && *q != '\\')
        q++;
    if (q >= c->e || *q != '"')
        return 0;
    *s = c->p;
    *n = (size_t)(q - c->p);
    c->p = q + 1;
    return 1;
}

static int is_digit(const struct cur *c, const char *q)
{
    return q < c->e && *q >= '0' && *q <= '9';
}

/* A JSON number: 1 for an integer (no fraction, no exponent) of at most 18 digits (*iv, and *dv as
 * Jansson's json_number_value gives it), 2 for a real of at most 15 significant digits whose decimal
 * exponent is within ±22 (then m·10^e is one correctly rounded IEEE operation on exact operands:
 * the double strtod gives); 0 for anything else (left to Jansson). */
static int number(struct cur *c, double *dv, int64_t *iv)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    skip_ws(c);
    const char *q = c->p;
    int neg = q < c->e && *q == '-';
    q += neg;
    if (!is_digit(c, q))
        return 0;
    uint64_t m = 0;
    int digits = 0, exp10 = 0, real = 0;
    if (*q == '0')
        q++; /* a leading zero stands alone: "01" is not JSON (the caller then finds no ',' or '}') */
    else
        for (; is_digit(c, q); q++, digits++)
            m = digits < 19 ? m * 10 + (uint64_t)(*q - '0') : m;
    if (q < c->e && *q == '.') {
        real = 1;
        if (!is_digit(c, ++q))
            return 0;
        for (; is_digit(c, q); q++, digits++, exp10--)
            m = digits < 19 ? m * 10 + (uint64_t)(*q - '0') : m;
    }
    if (q < c->e && (*q == 'e' || *q == 'E')) {
        real = 1;
        q++;
        int eneg = q < c->e && *q == '-';
        q += q < c->e && (*q == '-' || *q == '+');
        if (!is_digit(c, q))
            return 0;
        int ev = 0;
        for (; is_digit(c, q); q++)
            ev = ev < 1000 ? ev * 10 + (*q - '0') : ev;
        exp10 += eneg ? -ev : ev;
    }
    if (!real) {
        if (digits > 18)
            return 0;
        *iv = neg ? -(int64_t)m : (int64_t)m;
        *dv = (double)*iv;
        c->p = q;
        return 1;
    }
    if (digits > 15 || exp10 < -22 || exp10 > 22)
        return 0;
    double v = exp10 < 0 ? (double)m / p10[-exp10] : (double)m * p10[exp10];
    *dv = neg ? -v : v;
    c->p = q;
    return 2;
}

static int literal(struct cur *c, const char *word)
{
    skip_ws(c);
    if (c->p >= c->e || *c->p != word[0]) /* the common answer, without strlen and memcmp */
        return 0;
    size_t n = strlen(word);
    if ((size_t)(c->e - c->p) < n || memcmp(c->p, word, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* Any value but an object (a nested object would need Jansson's duplicate-key check), arrays nested
 * up to depth levels. *null is set when it was null. */
static int skip_value(struct cur *c, int depth, int *null)
{
    double d;
    int64_t i;
    const char *s;
    size_t n;
    *null = 0;
    skip_ws(c);
    if (c->p >= c->e)
        return 0;
    switch (*c->p) {
    case '"':
        return plain_string(c, &s, &n);
    case 'n':
        return (*null = literal(c, "null"));
    case 't':
        return literal(c, "true");
    case 'f':
        return literal(c, "false");
    case '[': {
        c->p++;
        if (eat(c, ']'))
            return 1;
        int inner;
        do
            if (depth <= 0 || !skip_value(c, depth - 1, &inner))
                return 0;
        while (eat(c, ','));
        return eat(c, ']');
    }
    default:
        return number(c, &d, &i) != 0;
    }
}

/* A measurement value into the slot of field f: null, a number (width 1), or an array of up to
 * width numbers and nulls (width > 1); all finite by construction. */
static int fast_value(struct cur *c, const struct sw_fields *fields, int f, double *row)
{
    double *slot = row + fields->offset[f], d;
    int64_t i;
    int w = fields->width[f];
    if (literal(c, "null"))
        return 1;
    if (w == 1)
        return number(c, slot, &i) != 0;
    if (!eat(c, '['))
        return 0;
    if (eat(c, ']'))
        return 1;
    int k = 0;
    do {
        if (k >= w)
            return 0;
        if (!literal(c, "null")) {
            if (!number(c, &d, &i))
                return 0;
            slot[k] = d;
        }
        k++;
    } while (eat(c, ','));
    return eat(c, ']');
}

/* Keys seen in one object, for Jansson's duplicate-key rule: the profile's fields as bits, up to 16
 * other names by position. */
struct seen {
    uint64_t fields;
    unsigned reserved;
    const char *other[16];
    size_t otherlen[16];
    int nother;
};

/* 1 when the key is new (and now recorded), 0 when it repeats or there are too many to follow. */
static int first_time(struct seen *sn, int f, unsigned reserved_bit, const char *k, size_t n)
{
    if (f >= 0) {
        if (sn->fields >> f & 1)
            return 0;
        sn->fields |= UINT64_C(1) << f;
        return 1;
    }
    if (reserved_bit) {
        if (sn->reserved & reserved_bit)
            return 0;
        sn->reserved |= reserved_bit;
        return 1;
    }
    for (int i = 0; i < sn->nother; i++)
        if (sn->otherlen[i] == n && memcmp(sn->other[i], k, n) == 0)
            return 0;
    if (sn->nother == 16)
        return 0;
    sn->other[sn->nother] = k;
    sn->otherlen[sn->nother++] = n;
    return 1;
}

enum { K_TYPE = 1, K_RUN = 2, K_SPILL = 4, K_EVENT = 8, K_TRIGGER = 16, K_TIME = 32, K_COLUMNS = 64 };

static unsigned reserved_key(const char *k, size_t n)
{
    static const struct {
        const char *name;
        unsigned bit;
    } keys[] = {{"type", K_TYPE},       {"run", K_RUN},   {"spill", K_SPILL},    {"event", K_EVENT},
                {"trigger", K_TRIGGER}, {"time", K_TIME}, {"columns", K_COLUMNS}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i].name) == n && memcmp(keys[i].name, k, n) == 0)
            return keys[i].bit;
    return 0;
}

static int trigger_of(const char *s, size_t n)
{
    char name[16];
    if (n >= sizeof name)
        return -1;
    memcpy(name, s, n);
    name[n] = 0;
    return sw_trigger_parse(name);
}

/* A number in 0..SW_ID_MAX; anything else goes to the slow path, which says what is wrong. */
static int id_value(struct cur *c, int64_t *out)
{
    double d;
    return number(c, &d, out) == 1 && *out >= 0 && *out <= SW_ID_MAX;
}

/* The common keys of event and events records: type (must be want), run, spill, time. 1 when k was
 * one of them and its value is fine, 0 when it was one and is not, -1 when it is another key. */
static int common_key(struct cur *c, unsigned bit, const char *want, int64_t *run, int64_t *spill,
                      double *time)
{
    const char *s;
    size_t n;
    int64_t i;
    switch (bit) {
    case K_TYPE:
        return plain_string(c, &s, &n) && n == strlen(want) && memcmp(s, want, n) == 0;
    case K_RUN:
        return id_value(c, run);
    case K_SPILL:
        return id_value(c, spill);
    case K_TIME:
        return number(c, time, &i) != 0 && *time >= -1e300 && *time <= 1e300;
    default:
        return -1;
    }
}

static struct sw_record *commit_record(struct sw_batch *b, int line, int64_t run, int64_t spill, double time,
                                       size_t n, uint64_t unknown)
{
    struct sw_record *r = new_record(b);
    if (!r)
        return NULL;
    r->type = SW_REC_EVENTS;
    r->line = line;
    r->run = run;
    r->spill = spill;
    r->time = time;
    r->first = b->nrows;
    r->nevents = n;
    r->unknown_fields = unknown;
    b->nrows += n;
    b->events += n;
    b->fast++;
    return r;
}

/* A row `event` record. */
static int fast_event(struct cur *c, struct sw_batch *b, const struct sw_fields *fields,
                      const struct sw_wire_limits *lim, int line)
{
    if (b->events + 1 > lim->events_max || grow_rows(b, 1))
        return 0;
    double *row = b->rows + b->nrows * (size_t)b->row_width;
    init_row(row, b->row_width);
    struct seen sn = {0};
    int64_t run = -1, spill = -1, ev = -1;
    int trig = -1, nkeys = 0;
    double time = NAN;
    uint64_t unknown = 0;
    do {
        const char *k, *s;
        size_t n, sl;
        if (!plain_string(c, &k, &n) || !eat(c, ':') || ++nkeys > lim->fields_max)
            return 0;
        unsigned bit = reserved_key(k, n);
        if (bit == K_COLUMNS)
            bit = 0; /* not a key of event records: a field (or an unknown one) like any other */
        int f = bit ? -1 : sw_fields_find(fields, k, n);
        if (!first_time(&sn, f, bit, k, n))
            return 0;
        int ok = common_key(c, bit, "event", &run, &spill, &time);
        if (ok == 0)
            return 0;
        if (ok > 0)
            continue;
        int null;
        if (bit == K_EVENT)
            ok = id_value(c, &ev);
        else if (bit == K_TRIGGER)
            ok = plain_string(c, &s, &sl) && (trig = trigger_of(s, sl)) >= 0;
        else if (f >= 0)
            ok = fast_value(c, fields, f, row);
        else
            ok = skip_value(c, 32, &null) && ++unknown;
        if (!ok)
            return 0;
    } while (eat(c, ','));
    if (!eat(c, '}') || (sn.reserved & (K_TYPE | K_RUN | K_SPILL | K_EVENT | K_TRIGGER)) !=
                            (K_TYPE | K_RUN | K_SPILL | K_EVENT | K_TRIGGER))
        return 0;
    skip_ws(c);
    if (c->p != c->e)
        return 0;
    row[fields->offset[0]] = trig; /* pseudo-field "trigger" is field 0 */
    b->event_no[b->nrows] = ev;
    b->trigger[b->nrows] = trig;
    return commit_record(b, line, run, spill, time, 1, unknown) != NULL;
}

/* One column of an `events` record into rows [b->nrows, b->nrows + *n): the first column read sets *n
 * (growing the batch), every other must have as many values. what: the field index (>= 0), or
 * -1 event, -2 trigger, -3 ignored (a reserved name), -4 unknown (non-null values counted). */
static int fast_column(struct cur *c, struct sw_batch *b, const struct sw_fields *fields,
                       const struct sw_wire_limits *lim, int what, size_t *n, int *have_n, uint64_t *unknown)
{
    if (!eat(c, '['))
        return 0;
    size_t i = 0;
    if (!eat(c, ']')) {
        do {
            if (!*have_n) {
                if (b->events + i + 1 > lim->events_max || grow_rows(b, i + 1))
                    return 0;
                init_row(b->rows + (b->nrows + i) * (size_t)b->row_width, b->row_width);
            } else if (i >= *n)
                return 0;
            double *row = b->rows + (b->nrows + i) * (size_t)b->row_width;
            const char *s;
            size_t sl;
            int null, trig;
            int ok;
            if (what >= 0)
                ok = fast_value(c, fields, what, row);
            else if (what == -1)
                ok = id_value(c, &b->event_no[b->nrows + i]);
            else if (what == -2) {
                ok = plain_string(c, &s, &sl) && (trig = trigger_of(s, sl)) >= 0;
                if (ok)
                    b->trigger[b->nrows + i] = trig;
            } else {
                ok = skip_value(c, 32, &null);
                *unknown += what == -4 && !null;
            }
            if (!ok)
                return 0;
            i++;
        } while (eat(c, ','));
        if (!eat(c, ']'))
            return 0;
    }
    if (!*have_n) {
        *n = i;
        *have_n = 1;
    }
    return i == *n;
}

/* A columnar `events` record. */
static int fast_events(struct cur *c, struct sw_batch *b, const struct sw_fields *fields,
                       const struct sw_wire_limits *lim, int line)
{
    struct seen sn = {0};
    int64_t run = -1, spill = -1;
    double time = NAN;
    size_t n = 0;
    int have_n = 0, nkeys = 0;
    uint64_t unknown = 0;
    do {
        const char *k;
        size_t kl;
        if (!plain_string(c, &k, &kl) || !eat(c, ':') || ++nkeys > lim->fields_max)
            return 0;
        unsigned bit = reserved_key(k, kl);
        if (!bit || bit == K_EVENT || bit == K_TRIGGER || !first_time(&sn, -1, bit, k, kl))
            return 0; /* an unknown key is an error: Jansson's path says which */
        int ok = common_key(c, bit, "events", &run, &spill, &time);
        if (ok == 0)
            return 0;
        if (ok > 0)
            continue;
        /* "columns": {name: [values], ...} */
        struct seen cols = {0};
        int ncols = 0;
        if (!eat(c, '{') || eat(c, '}'))
            return 0;
        do {
            if (!plain_string(c, &k, &kl) || !eat(c, ':') || ++ncols > lim->fields_max)
                return 0;
            unsigned cbit = reserved_key(k, kl);
            int f = cbit && cbit != K_COLUMNS ? -1 : sw_fields_find(fields, k, kl);
            if (cbit == K_COLUMNS)
                cbit = 0;
            if (!first_time(&cols, f, cbit, k, kl))
                return 0;
            int what = f >= 0 ? f : cbit == K_EVENT ? -1 : cbit == K_TRIGGER ? -2 : cbit ? -3 : -4;
            if (!fast_column(c, b, fields, lim, what, &n, &have_n, &unknown))
                return 0;
        } while (eat(c, ','));
        if (!eat(c, '}') || (cols.reserved & (K_EVENT | K_TRIGGER)) != (K_EVENT | K_TRIGGER))
            return 0;
    } while (eat(c, ','));
    if (!eat(c, '}') ||
        (sn.reserved & (K_TYPE | K_RUN | K_SPILL | K_COLUMNS)) != (K_TYPE | K_RUN | K_SPILL | K_COLUMNS))
        return 0;
    skip_ws(c);
    if (c->p != c->e)
        return 0;
    for (size_t i = 0; i < n; i++)
        b->rows[(b->nrows + i) * (size_t)b->row_width + (size_t)fields->offset[0]] = b->trigger[b->nrows + i];
    return commit_record(b, line, run, spill, time, n, unknown) != NULL;
}

/* 1 when the line was an event or events record read by the fast path, else 0 (nothing committed). */
static int fast_line(const struct line_ctx *lc, struct sw_batch *b, const struct sw_fields *fields,
                     const struct sw_wire_limits *lim)
{
    /* The type decides the form; the simulator and the collectors write it first. */
    static const char ev[] = "{\"type\":\"event\",", evs[] = "{\"type\":\"events\",";
    struct cur c = {lc->text + 1, lc->text + lc->len};
    if (lc->len > sizeof ev && memcmp(lc->text, ev, sizeof ev - 1) == 0)
        return fast_event(&c, b, fields, lim, lc->line);
    if (lc->len > sizeof evs && memcmp(lc->text, evs, sizeof evs - 1) == 0)
        return fast_events(&c, b, fields, lim, lc->line);
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
        static const char *const known[] = {"type", "run", "time", "meta", "resume", NULL};
        r->type = SW_REC_RUN_START;
        json_t *meta = json_object_get(obj, "meta"), *resume = json_object_get(obj, "resume");
        if (only_keys(lc, obj, known, "run_start") ||
            get_opt_number(lc, obj, "time", -1e300, 1e300, &r->time))
            goto out;
        if (meta && !json_is_object(meta)) {
            fail(lc, 400, key_column(lc, "meta"), "\"meta\" must be an object");
            goto out;
        }
        if (resume && !json_is_boolean(resume)) {
            fail(lc, 400, key_column(lc, "resume"), "\"resume\" must be true or false");
            goto out;
        }
        r->resume = json_is_true(resume);
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
        if (!lim->slow_only && fast_line(&lc, b, fields, lim))
            continue;
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
        json_decref(b->recs[i].daq_sources);
        json_decref(b->recs[i].meta);
    }
    free(b->recs);
    free(b->rows);
    free(b->event_no);
    free(b->trigger);
    memset(b, 0, sizeof *b);
}
