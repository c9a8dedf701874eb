/* scan.h — what the collector's batching needs of one NDJSON line, without building a JSON tree: the
 * top-level "type", integer "run" and "spill", and the number of events (1 for `event`, the length of
 * columns.event — or of the first array column — for `events`). Values the collector does not need are
 * skipped structurally (strings with escapes, nesting), not validated: the server validates every line
 * and refuses a bad one with its line number, which the collector then dead-letters.
 *
 * Pure functions; any thread. */
#ifndef SW_SCAN_H
#define SW_SCAN_H

#include <stddef.h>
#include <stdint.h>

enum scan_type { SCAN_OTHER, SCAN_EVENT, SCAN_EVENTS, SCAN_SPILL_END, SCAN_RUN_END };

struct scan_result {
    enum scan_type type;
    int has_spill;      /* "run" and "spill" are both integers */
    int64_t run, spill; /* valid with has_spill */
    int64_t events;
};

/* Returns 0 with *r filled, or -1 with why (not a JSON object, no "type" string, unbalanced). */
int scan_line(const char *line, size_t len, struct scan_result *r, char *why, size_t whylen);

#endif
