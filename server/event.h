/* event.h — the layout of one event summary inside the server: a "row" of doubles.
 *
 * The profile declares the measurement fields it knows (name + width: 1 for a scalar, N for an
 * array such as hcal[4]). struct sw_fields turns those into fixed offsets, so an event is a flat
 * array of row_width doubles. A missing or null value is NaN. Fields outside the table are not
 * stored in a row (the wire parser counts them as unknown).
 *
 * Ownership: struct sw_fields is a value owned by the profile (config module); it never changes
 * after the profile is loaded, so any thread may read it.
 */
#ifndef SW_EVENT_H
#define SW_EVENT_H

#include <stddef.h>

#define SW_FIELD_NAME_MAX  32
#define SW_FIELDS_MAX      64
#define SW_FIELD_WIDTH_MAX 256

/* Trigger kinds of the wire format (docs/design.md §6). The numeric value is a bit index for masks. */
enum sw_trigger { SW_TRIG_PHYSICS = 0, SW_TRIG_BEAM = 1, SW_TRIG_RANDOM = 2, SW_TRIG_LED = 3, SW_TRIG_N = 4 };

struct sw_fields {
    int n; /* number of fields */
    char name[SW_FIELDS_MAX][SW_FIELD_NAME_MAX];
    int width[SW_FIELDS_MAX];  /* 1 = scalar, >1 = array */
    int offset[SW_FIELDS_MAX]; /* first double of the field inside a row */
    int row_width;             /* sum of widths */
};

/* Appends a field. Returns 0, or -1 (and changes nothing) when the table is full, the name is
 * empty/too long/duplicate, or width is outside 1..SW_FIELD_WIDTH_MAX. */
int sw_fields_add(struct sw_fields *f, const char *name, int width);

/* Index of the field called name (length len), or -1. */
int sw_fields_find(const struct sw_fields *f, const char *name, size_t len);

/* Trigger name -> enum value, or -1 for an unknown name. */
int sw_trigger_parse(const char *name);

/* Enum value -> wire name ("physics", ...); "?" when out of range. */
const char *sw_trigger_name(int trigger);

/* DAQ integrity (a spill_end's "daq_sources", docs/api.md): per front-end source, the events in
 * which the DAQ expected it and how many of them lacked it, had it all zero-suppressed, or had it
 * truncated. Profile checks judge the fraction of a source's events with a problem; "bad" is any of
 * the three. */
#define SW_DAQ_SOURCE_MAX 64 /* characters of a source name */
/* Run, spill and collector seq numbers: 0 (1 for a seq) .. 2^53 - 1 at ingest and in every REST path,
 * so that each one is exact in JSON readers and JavaScript, and a spill that can be stored can be
 * addressed (flagged, signed off). */
#define SW_ID_MAX          9007199254740991LL
#define SW_DAQ_SOURCES_MAX 64 /* sources of one spill_end, and of a profile's daq_sources */
enum sw_daq_problem {
    SW_DAQ_MISSING = 0,
    SW_DAQ_EMPTY = 1,
    SW_DAQ_TRUNCATED = 2,
    SW_DAQ_BAD = 3,
    SW_DAQ_N = 4
};

/* 1 when name is a valid source name: 1..SW_DAQ_SOURCE_MAX characters of [A-Za-z0-9._-]; else 0. */
int sw_daq_source_ok(const char *name);

/* Problem name ("missing", "empty", "truncated", "bad") -> enum value, or -1. */
int sw_daq_problem_parse(const char *name);

/* Enum value -> name; "?" when out of range. */
const char *sw_daq_problem_name(int problem);

#endif
