/* wire.h — parses one POST /api/v1/ingest body (NDJSON, wire format v1, docs/design.md §6) into a batch,
 * validating every line before anything is applied: the caller applies a batch only when the whole
 * body parsed. Events (row `event` and columnar `events`) become rows laid out by struct sw_fields.
 *
 * Threads: any; a batch belongs to the thread that parses it. Nothing here touches server state.
 *
 * Files: wire.c (lines and limits), wire_fast.c (the fast path for events), wire_record.c (every
 * record through Jansson), wire_batch.c (the batch, errors with line and column); wire_int.h is
 * theirs alone.
 */
#ifndef SW_WIRE_H
#define SW_WIRE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"

enum sw_rec_type { SW_REC_RUN_START, SW_REC_SPILL_START, SW_REC_EVENTS, SW_REC_SPILL_END, SW_REC_RUN_END };

struct sw_record {
    enum sw_rec_type type;
    int line;           /* 1-based line of the body */
    int64_t run, spill; /* spill is -1 for run records */
    double time;        /* NaN when absent */
    /* SW_REC_EVENTS (one row `event` or a columnar `events`): rows [first, first + nevents) */
    size_t first, nevents;
    uint64_t unknown_fields; /* values of fields outside the profile, kept out of histograms */
    /* SW_REC_SPILL_END */
    double duration, dead_time, decode_errors; /* NaN when absent */
    json_t *counters;                          /* owned (new reference) or NULL */
    /* per DAQ source {"events", "missing", "empty", "truncated"} as validated (docs/api.md): owned
     * (new reference), or NULL when the spill_end has none */
    json_t *daq_sources;
    /* SW_REC_RUN_START */
    json_t *meta; /* owned (new reference) or NULL */
    int resume;   /* "resume": true: the DAQ goes on with a run that had ended */
};

struct sw_batch {
    struct sw_record *recs;
    size_t nrecs, caprecs;
    double *rows;      /* nrows * row_width doubles, NaN = missing */
    int64_t *event_no; /* per row */
    int *trigger;      /* per row, enum sw_trigger */
    size_t nrows, caprows;
    int row_width;
    uint64_t events; /* == nrows */
    size_t fast;     /* records read by the fast path (wire_fast.c), for tests and benchmarks */
};

struct sw_wire_limits {
    size_t line_max;   /* bytes of one line -> 413 */
    int fields_max;    /* keys of one record / columns of an events record -> 400 */
    size_t events_max; /* events in one body -> 413 */
    int slow_only;     /* tests: parse every line with Jansson, never the fast path (wire_fast.c) */
};

struct sw_wire_error {
    int code;         /* SW_EINVAL (400) or SW_ETOOBIG (413), err.h */
    int line, column; /* 1-based; column 0 when it does not apply */
    char msg[300];    /* "line 3: field \"p_in\": must be a number or null" */
};

/* Parses body into b (zeroed, or emptied by sw_batch_clear, beforehand). Returns 0, or -1 with err filled and
 * b left holding partial data that the caller must release without applying. */
int sw_wire_parse(struct sw_batch *b, const char *body, size_t len, const struct sw_fields *fields,
                  const struct sw_wire_limits *lim, struct sw_wire_error *err);

/* Frees everything the batch owns (rows, records, their json); accepts a zeroed struct. */
void sw_batch_release(struct sw_batch *b);
/* Empties the batch for the next parse but keeps its arrays (records, rows, event numbers,
 * triggers): a batch of 1,000 full events has 1.3 MB of rows, which would otherwise come from mmap
 * and fault in fresh pages on every request. Arrays above keep_bytes in all are freed instead. */
void sw_batch_clear(struct sw_batch *b, size_t keep_bytes);

#endif
