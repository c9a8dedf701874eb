/* jsonnum.h — numbers in JSON the one way the API shows them: a finite number, or null for NaN
 * and infinities; counts (MOT, events) as integers when they are integral; an SQLite column as
 * what it holds; and the text of every JSON answer (sw_json_text), where each real is the shortest
 * decimal that parses back to the same double. Pure (jsonnum.c); any thread. */
#ifndef SW_JSONNUM_H
#define SW_JSONNUM_H

#include <jansson.h>
#include <math.h>
#include "sql.h"
#include <stddef.h>

/* A buffer of this many bytes always holds sw_json_real_text's text. */
#define SW_JSON_REAL_LEN 32

/* The shortest decimal text of a finite v that strtod reads back as the same double (bit for bit),
 * written as a JSON real that stays a real when parsed again: "0.0808", "3.0", "-0.0", "1e21",
 * "5e-324". Positional from 1e-4 up to below 1e17 and exponent form beyond (no '+', no leading zeros
 * in the exponent), as Jansson places them; the decimal point is always '.', whatever the locale.
 * The length written (NUL not counted), or -1 for NaN, infinities or len < SW_JSON_REAL_LEN. */
int sw_json_real_text(char *buf, size_t len, double v);

/* j as JSON text, as json_dumps(j, flags) writes it (same key order, same string escapes, same
 * integers, same failures on invalid UTF-8 or a non-container without JSON_ENCODE_ANY), except that
 * each real is its sw_json_real_text. flags: JSON_COMPACT, JSON_SORT_KEYS, JSON_ENSURE_ASCII,
 * JSON_ESCAPE_SLASH, JSON_ENCODE_ANY, JSON_PRESERVE_ORDER; any other flag (JSON_INDENT,
 * JSON_REAL_PRECISION, JSON_EMBED) gives NULL. Nesting deeper than 2048 levels (a tree that holds
 * itself) gives NULL. malloc'ed text (free() it), its length in *len when len is not NULL; NULL on
 * failure or out of memory. Every JSON answer of the server (reply.c, the live stream, hook
 * payloads) is written by this; JSON stored in the database keeps json_dumps. */
char *sw_json_text(const json_t *j, size_t flags, size_t *len);

static inline json_t *sw_json_real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* An integral value (below 2^53) as a JSON integer, other finite values as reals, else null. */
static inline json_t *sw_json_count(double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return sw_json_real_or_null(v);
}

/* A column as JSON: null, an integer, a finite real (else null), or text. */
static inline json_t *sw_json_column(sw_stmt *st, int i)
{
    switch (sw_sql_column_type(st, i)) {
    case SW_SQL_NULL:
        return json_null();
    case SW_SQL_INTEGER:
        return json_integer(sw_sql_column_int64(st, i));
    case SW_SQL_FLOAT:
        return sw_json_real_or_null(sw_sql_column_double(st, i));
    default:
        return json_string((const char *)sw_sql_column_text(st, i));
    }
}

#endif
