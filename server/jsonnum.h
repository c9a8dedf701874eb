/* jsonnum.h — values into JSON the one way the API shows them: a finite number, or null for NaN
 * and infinities; counts (MOT, events) as integers when they are integral; an SQLite column as
 * what it holds. Any thread. */
#ifndef SW_JSONNUM_H
#define SW_JSONNUM_H

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>

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
static inline json_t *sw_json_column(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        return json_null();
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return sw_json_real_or_null(sqlite3_column_double(st, i));
    default:
        return json_string((const char *)sqlite3_column_text(st, i));
    }
}

#endif
