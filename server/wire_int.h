/* wire_int.h — internal to the wire parser's own files; nothing else includes it. The public side is
 * wire.h (docs/design.md §6).
 *
 * The parser is one module in four files; calls go down only:
 *   wire.c         sw_wire_parse: cuts the body into lines, applies the line limits (length, NUL
 *                  bytes, blank lines, the empty body) and hands each line to the fast path, else to
 *                  the Jansson path
 *   wire_fast.c    the fast path: a hand-written scanner that reads the plain form of `event` and
 *                  `events` records straight into rows, or answers "not mine" (never an error)
 *   wire_record.c  the Jansson path: every record type (run_start, spill_start, event, events,
 *                  spill_end with its counters and daq_sources, run_end), every error message
 *   wire_batch.c   the batch (rows, records, their release) and the error with its line and column
 * wire.c calls wire_fast.c and wire_record.c; both call wire_batch.c, which calls none of them.
 *
 * Threads: any; everything works on the caller's batch and line.
 */
#ifndef SW_WIRE_INT_H
#define SW_WIRE_INT_H

#include <math.h>
#include <stddef.h>

#include "wire.h"

/* One line of the body being parsed: its text (without the newline and trailing blanks), its
 * 1-based number, and where an error goes. */
struct line_ctx {
    const char *text;
    size_t len;
    int line;
    struct sw_wire_error *err;
};

/* ---- wire_batch.c ---- */

/* Column of the first occurrence of "key" at or after column from, else fallback. */
int sw_wire_key_column_from(const struct line_ctx *lc, int from, const char *key, int fallback);
/* Column of the first occurrence of "key" in the line (1 when absent). */
int sw_wire_key_column(const struct line_ctx *lc, const char *key);
/* Fills lc->err (code, the line, column, "line N: " and the message); returns -1. */
__attribute__((format(printf, 4, 5))) int sw_wire_fail(const struct line_ctx *lc, int code, int column,
                                                       const char *fmt, ...);
/* Lays b's rows out width doubles wide; a kept buffer (sw_batch_clear) of another width keeps
 * the rows it has room for. */
void sw_wire_set_width(struct sw_batch *b, int width);
/* Room for more rows past b->nrows (b->row_width doubles each, with event_no and trigger); -1 when
 * out of memory. */
int sw_wire_grow_rows(struct sw_batch *b, size_t more);
/* A new record at the end of b (zeroed; times NaN, spill -1), NULL when out of memory. */
struct sw_record *sw_wire_new_record(struct sw_batch *b);
/* Every value of a row missing (NaN). Inline: once per row on the fast path. */
static inline void sw_wire_init_row(double *row, int width)
{
    for (int i = 0; i < width; i++)
        row[i] = NAN;
}

/* ---- wire_fast.c ---- */

/* 1 when the line was an event or events record read by the fast path (its record and rows
 * committed), else 0 (nothing committed, no error: the line goes to sw_wire_parse_line). */
int sw_wire_fast_line(const struct line_ctx *lc, struct sw_batch *b, const struct sw_fields *fields,
                      const struct sw_wire_limits *lim);

/* ---- wire_record.c ---- */

/* Parses one line with Jansson into a record of b; 0, or -1 with lc->err filled. */
int sw_wire_parse_line(const struct line_ctx *lc, struct sw_batch *b, const struct sw_fields *fields,
                       const struct sw_wire_limits *lim);

#endif
