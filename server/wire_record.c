/* wire_record.c — the Jansson path of the wire parser (wire_int.h): one line parsed into a tree and
 * validated as its record type, with every error message and its column. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wire_int.h"

static int get_id(const struct line_ctx *lc, json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return sw_wire_fail(lc, SW_EINVAL, 1, "\"%s\" is required", key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, key),
                            "\"%s\" must be a non-negative integer", key);
    if (strcmp(key, "event") != 0 && json_integer_value(v) > SW_ID_MAX)
        return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, key),
                            "\"%s\" must be at most %lld (2^53 - 1), got %lld", key, SW_ID_MAX,
                            (long long)json_integer_value(v));
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
        return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, key), "\"%s\" must be a finite number",
                            key);
    double x = json_number_value(v);
    if (x < lo || x > hi)
        return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, key),
                            "\"%s\" must be within [%g, %g], got %g", key, lo, hi, x);
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
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, key),
                                "unknown key \"%s\" in a %s record", key, type);
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
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, fields->name[f]),
                                "field \"%s\"%s: must be an array of up to %d numbers", fields->name[f],
                                where, w);
        slot[0] = json_number_value(v);
        if (!isfinite(slot[0]))
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, fields->name[f]),
                                "field \"%s\"%s: must be finite", fields->name[f], where);
        return 0;
    }
    if (json_is_array(v) && w > 1) {
        size_t n = json_array_size(v);
        if (n > (size_t)w)
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, fields->name[f]),
                                "field \"%s\"%s: array of %zu values, at most %d", fields->name[f], where, n,
                                w);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            if (json_is_null(e))
                continue;
            if (!json_is_number(e) || !isfinite(json_number_value(e)))
                return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, fields->name[f]),
                                    "field \"%s\"%s[%zu]: must be a finite number or null", fields->name[f],
                                    where, i);
            slot[i] = json_number_value(e);
        }
        return 0;
    }
    return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, fields->name[f]),
                        "field \"%s\"%s: must be %s or null", fields->name[f], where,
                        w == 1 ? "a number" : "an array of numbers");
}

static int is_reserved(const char *key)
{
    return !strcmp(key, "type") || !strcmp(key, "run") || !strcmp(key, "spill") || !strcmp(key, "event") ||
           !strcmp(key, "trigger") || !strcmp(key, "time");
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
        return sw_wire_fail(lc, SW_EINVAL, t ? sw_wire_key_column(lc, "trigger") : 1,
                            "\"trigger\" must be one of physics, beam, random, led");
    if (get_opt_number(lc, obj, "time", -1e300, 1e300, &r->time))
        return -1;
    if (b->events + 1 > lim->events_max)
        return sw_wire_fail(lc, SW_ETOOBIG, 1, "more than %zu events in one request", lim->events_max);
    if (sw_wire_grow_rows(b, 1))
        return sw_wire_fail(lc, SW_ETOOBIG, 1, "out of memory for the batch");
    double *row = b->rows + b->nrows * (size_t)b->row_width;
    sw_wire_init_row(row, b->row_width);
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
        return sw_wire_fail(lc, SW_EINVAL, cols ? sw_wire_key_column(lc, "columns") : 1,
                            "\"columns\" must be an object of arrays");
    if ((int)json_object_size(cols) > lim->fields_max)
        return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, "columns"), "%zu columns, at most %d",
                            json_object_size(cols), lim->fields_max);
    json_t *evc = json_object_get(cols, "event"), *trc = json_object_get(cols, "trigger");
    if (!json_is_array(evc) || !json_is_array(trc))
        return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, "columns"),
                            "columns \"event\" and \"trigger\" are required arrays");
    size_t n = json_array_size(evc);
    if (b->events + n > lim->events_max)
        return sw_wire_fail(lc, SW_ETOOBIG, 1, "more than %zu events in one request", lim->events_max);
    const char *key;
    json_t *col;
    json_object_foreach(cols, key, col)
    {
        if (!json_is_array(col))
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, key), "column \"%s\" must be an array",
                                key);
        if (json_array_size(col) != n)
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, key),
                                "column \"%s\" has %zu values, column \"event\" has %zu", key,
                                json_array_size(col), n);
    }
    if (sw_wire_grow_rows(b, n))
        return sw_wire_fail(lc, SW_ETOOBIG, 1, "out of memory for the batch");
    r->first = b->nrows;
    r->nevents = n;
    for (size_t i = 0; i < n; i++)
        sw_wire_init_row(b->rows + (b->nrows + i) * (size_t)b->row_width, b->row_width);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(evc, i), *t = json_array_get(trc, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0)
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, "event"),
                                "column \"event\"[%zu]: must be a non-negative integer", i);
        int trig = json_is_string(t) ? sw_trigger_parse(json_string_value(t)) : -1;
        if (trig < 0)
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, "trigger"),
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
    int col = sw_wire_key_column(lc, "daq_sources");
    if (!json_is_object(ds))
        return sw_wire_fail(lc, SW_EINVAL, col, "\"daq_sources\" must be an object of source name -> counts");
    if (json_object_size(ds) > SW_DAQ_SOURCES_MAX)
        return sw_wire_fail(lc, SW_EINVAL, col, "%zu daq_sources, at most %d", json_object_size(ds),
                            SW_DAQ_SOURCES_MAX);
    const char *name;
    json_t *src;
    json_object_foreach(ds, name, src)
    {
        char shown[72];
        int scol = sw_wire_key_column_from(lc, col, name, col);
        if (!sw_daq_source_ok(name))
            return sw_wire_fail(lc, SW_EINVAL, scol,
                                "daq_sources: source name \"%s\" must be 1..%d characters of [A-Za-z0-9._-]",
                                printable(shown, sizeof shown, name), SW_DAQ_SOURCE_MAX);
        if (!json_is_object(src))
            return sw_wire_fail(
                lc, SW_EINVAL, scol,
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
            int kcol = sw_wire_key_column_from(lc, scol, key, scol);
            if (!known[k])
                return sw_wire_fail(
                    lc, SW_EINVAL, kcol,
                    "daq_sources \"%s\": unknown key \"%s\" (expected events, missing, empty, truncated)",
                    name, printable(shown, sizeof shown, key));
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return sw_wire_fail(lc, SW_EINVAL, kcol, "daq_sources \"%s\": \"%s\" must be an integer >= 0",
                                    name, key);
            n[k] = json_integer_value(v);
        }
        if (!json_object_get(src, "events"))
            return sw_wire_fail(lc, SW_EINVAL, scol, "daq_sources \"%s\": \"events\" is required", name);
        for (int k = 1; k < 4; k++)
            if (n[k] > n[0])
                return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column_from(lc, scol, known[k], scol),
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
        return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, "counters"),
                            "\"counters\" must be an object of name -> number");
    if ((int)json_object_size(c) > lim->fields_max)
        return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, "counters"), "%zu counters, at most %d",
                            json_object_size(c), lim->fields_max);
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v)
    {
        if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0)
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, key),
                                "counter \"%s\" must be a finite number >= 0", key);
        if (strlen(key) == 0 || strlen(key) > 63)
            return sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, key),
                                "counter names must have 1..63 characters");
    }
    r->counters = json_incref(c);
    return 0;
}

int sw_wire_parse_line(const struct line_ctx *lc, struct sw_batch *b, const struct sw_fields *fields,
                       const struct sw_wire_limits *lim)
{
    json_error_t jerr;
    json_t *obj = json_loadb(lc->text, lc->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        return sw_wire_fail(lc, SW_EINVAL, jerr.column > 0 ? jerr.column : 1, "invalid JSON: %s", jerr.text);
    int rc = -1;
    if (!json_is_object(obj)) {
        sw_wire_fail(lc, SW_EINVAL, 1, "a record must be a JSON object");
        goto out;
    }
    if ((int)json_object_size(obj) > lim->fields_max) {
        sw_wire_fail(lc, SW_EINVAL, 1, "%zu keys in one record, at most %d", json_object_size(obj),
                     lim->fields_max);
        goto out;
    }
    json_t *type = json_object_get(obj, "type");
    if (!json_is_string(type)) {
        sw_wire_fail(lc, SW_EINVAL, type ? sw_wire_key_column(lc, "type") : 1,
                     "\"type\" is required (a string)");
        goto out;
    }
    const char *t = json_string_value(type);
    struct sw_record *r = sw_wire_new_record(b);
    if (!r) {
        sw_wire_fail(lc, SW_ETOOBIG, 1, "out of memory for the batch");
        goto out;
    }
    r->line = lc->line;
    if (strcmp(t, "event") && strcmp(t, "events") && strcmp(t, "spill_end") && strcmp(t, "spill_start") &&
        strcmp(t, "run_start") && strcmp(t, "run_end")) {
        sw_wire_fail(
            lc, SW_EINVAL, sw_wire_key_column(lc, "type"),
            "unknown type \"%.40s\" (expected run_start, spill_start, event, events, spill_end, run_end)", t);
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
            sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, "meta"), "\"meta\" must be an object");
            goto out;
        }
        if (resume && !json_is_boolean(resume)) {
            sw_wire_fail(lc, SW_EINVAL, sw_wire_key_column(lc, "resume"), "\"resume\" must be true or false");
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
