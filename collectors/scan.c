/* scan.c — see scan.h */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct cur {
    const char *p, *end;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

/* At '"': moves past the closing quote. *plain: the string has no escapes. Returns 0 or -1. */
static int skip_string(struct cur *c, int *plain)
{
    *plain = 1;
    for (c->p++; c->p < c->end; c->p++) {
        if (*c->p == '\\') {
            *plain = 0;
            c->p++;
        } else if (*c->p == '"') {
            c->p++;
            return 0;
        }
    }
    return -1;
}

/* Skips one value of any kind. Returns 0 or -1. */
static int skip_value(struct cur *c)
{
    ws(c);
    if (c->p >= c->end)
        return -1;
    int plain;
    if (*c->p == '"')
        return skip_string(c, &plain);
    if (*c->p == '{' || *c->p == '[') {
        char stack[MAX_DEPTH];
        int depth = 0;
        while (c->p < c->end) {
            char ch = *c->p;
            if (ch == '"') {
                if (skip_string(c, &plain) != 0)
                    return -1;
                continue;
            }
            if (ch == '{' || ch == '[') {
                if (depth == MAX_DEPTH)
                    return -1;
                stack[depth++] = ch == '{' ? '}' : ']';
            } else if (ch == '}' || ch == ']') {
                if (!depth || stack[depth - 1] != ch)
                    return -1;
                if (--depth == 0) {
                    c->p++;
                    return 0;
                }
            }
            c->p++;
        }
        return -1;
    }
    const char *s = c->p; /* number, true, false, null */
    while (c->p < c->end && strchr("+-.0123456789eEtrufalsn", *c->p) && *c->p)
        c->p++;
    return c->p > s ? 0 : -1;
}

/* An integer value (no fraction or exponent, fits int64): 1 with *v, 0 for any other value (skipped),
 * -1 when malformed. */
static int int_value(struct cur *c, int64_t *v)
{
    ws(c);
    const char *s = c->p;
    if (skip_value(c) != 0)
        return -1;
    size_t n = (size_t)(c->p - s);
    if (n == 0 || n > 20 || strspn(s, "-0123456789") < n)
        return 0;
    char buf[24];
    memcpy(buf, s, n);
    buf[n] = 0;
    char *e;
    errno = 0;
    long long x = strtoll(buf, &e, 10);
    if (*e || errno)
        return 0;
    *v = x;
    return 1;
}

/* The number of elements of the array at the cursor (skipped); -1 when malformed, -2 when not an
 * array (skipped). */
static int64_t array_length(struct cur *c)
{
    ws(c);
    if (c->p >= c->end)
        return -1;
    if (*c->p != '[')
        return skip_value(c) == 0 ? -2 : -1;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 0;
    }
    int64_t n = 0;
    for (;;) {
        if (skip_value(c) != 0)
            return -1;
        n++;
        ws(c);
        if (c->p >= c->end)
            return -1;
        if (*c->p == ']') {
            c->p++;
            return n;
        }
        if (*c->p != ',')
            return -1;
        c->p++;
    }
}

/* Iterates an object's members: at '{' first. Calls member(key, keylen, plain, cursor at the value, ctx),
 * which must consume the value. Returns 0 or -1. */
static int each_member(struct cur *c, int (*member)(const char *, size_t, int, struct cur *, void *),
                       void *ctx)
{
    ws(c);
    if (c->p >= c->end || *c->p != '{')
        return -1;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        ws(c);
        if (c->p >= c->end || *c->p != '"')
            return -1;
        const char *k = c->p + 1;
        int plain;
        if (skip_string(c, &plain) != 0)
            return -1;
        size_t klen = (size_t)(c->p - 1 - k);
        ws(c);
        if (c->p >= c->end || *c->p != ':')
            return -1;
        c->p++;
        if (member(k, klen, plain, c, ctx) != 0)
            return -1;
        ws(c);
        if (c->p >= c->end)
            return -1;
        if (*c->p == '}') {
            c->p++;
            return 0;
        }
        if (*c->p != ',')
            return -1;
        c->p++;
    }
}

static int key_is(const char *k, size_t klen, int plain, const char *name)
{
    return plain && klen == strlen(name) && memcmp(k, name, klen) == 0;
}

struct columns {
    int64_t event, first; /* -1: not seen */
};

static int column(const char *k, size_t klen, int plain, struct cur *c, void *ctx)
{
    struct columns *cols = ctx;
    int is_event = key_is(k, klen, plain, "event");
    if (!is_event && cols->first >= 0)
        return skip_value(c);
    int64_t n = array_length(c);
    if (n == -1)
        return -1;
    if (n >= 0 && is_event)
        cols->event = n;
    if (n >= 0 && cols->first < 0)
        cols->first = n;
    return 0;
}

struct top {
    struct scan_result *r;
    const char *type;
    size_t type_len;
    int type_ok, type_escaped, has_run, has_spill;
    struct columns cols;
};

static int member(const char *k, size_t klen, int plain, struct cur *c, void *ctx)
{
    struct top *t = ctx;
    if (key_is(k, klen, plain, "type")) {
        ws(c);
        t->type_ok = c->p < c->end && *c->p == '"';
        if (!t->type_ok)
            return skip_value(c);
        t->type = c->p + 1;
        int p;
        if (skip_string(c, &p) != 0)
            return -1;
        t->type_escaped = !p;
        t->type_len = (size_t)(c->p - 1 - t->type);
        return 0;
    }
    if (key_is(k, klen, plain, "run") || key_is(k, klen, plain, "spill")) {
        int64_t v = 0;
        int rc = int_value(c, &v);
        if (rc < 0)
            return -1;
        if (k[0] == 'r') {
            t->has_run = rc;
            t->r->run = v;
        } else {
            t->has_spill = rc;
            t->r->spill = v;
        }
        return 0;
    }
    if (key_is(k, klen, plain, "columns")) {
        ws(c);
        if (c->p < c->end && *c->p == '{') {
            t->cols.event = t->cols.first = -1;
            return each_member(c, column, &t->cols);
        }
    }
    return skip_value(c);
}

int scan_line(const char *line, size_t len, struct scan_result *r, char *why, size_t whylen)
{
    memset(r, 0, sizeof *r);
    struct cur c = {line, line + len};
    struct top t = {.r = r, .cols = {-1, -1}};
    ws(&c);
    if (c.p >= c.end || *c.p != '{') {
        snprintf(why, whylen, "not a JSON object");
        return -1;
    }
    if (each_member(&c, member, &t) != 0) {
        snprintf(why, whylen, "not JSON: malformed near byte %td", c.p - line);
        return -1;
    }
    ws(&c);
    if (c.p != c.end) {
        snprintf(why, whylen, "not JSON: text after the object at byte %td", c.p - line);
        return -1;
    }
    if (!t.type_ok) {
        snprintf(why, whylen, "no \"type\" string");
        return -1;
    }
    r->has_spill = t.has_run && t.has_spill;
    if (!r->has_spill)
        r->run = r->spill = 0;
#define TYPE_IS(s) (!t.type_escaped && t.type_len == strlen(s) && memcmp(t.type, s, t.type_len) == 0)
    if (TYPE_IS("spill_end"))
        r->type = SCAN_SPILL_END;
    else if (TYPE_IS("run_end"))
        r->type = SCAN_RUN_END;
    else if (TYPE_IS("event")) {
        r->type = SCAN_EVENT;
        r->events = 1;
    } else if (TYPE_IS("events")) {
        r->type = SCAN_EVENTS;
        r->events = t.cols.event >= 0 ? t.cols.event : t.cols.first >= 0 ? t.cols.first : 0;
    }
#undef TYPE_IS
    return 0;
}
