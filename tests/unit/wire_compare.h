/* wire_compare.h — compares what two sw_wire_parse calls produced, for the tests that hold the fast
 * path (wire.c) to the Jansson path: the same return, the same error (status, line, column,
 * message), or the same batch bit for bit (records, rows with their NaNs, event numbers, triggers).
 * Returns NULL when equal, else what differs. */
#ifndef SW_TEST_WIRE_COMPARE_H
#define SW_TEST_WIRE_COMPARE_H

#include <string.h>

#include "wire.h"

static const char *sw_wire_compare(int rc_a, const struct sw_batch *a, const struct sw_wire_error *ea,
                                   int rc_b, const struct sw_batch *b, const struct sw_wire_error *eb)
{
    if (rc_a != rc_b)
        return "return value";
    if (rc_a != 0)
        return ea->code != eb->code || ea->line != eb->line || ea->column != eb->column ||
                       strcmp(ea->msg, eb->msg) != 0
                   ? "error"
                   : NULL;
    if (a->nrecs != b->nrecs || a->nrows != b->nrows || a->events != b->events ||
        a->row_width != b->row_width)
        return "batch sizes";
    for (size_t i = 0; i < a->nrecs; i++) {
        const struct sw_record *x = &a->recs[i], *y = &b->recs[i];
        if (x->type != y->type || x->line != y->line || x->run != y->run || x->spill != y->spill ||
            memcmp(&x->time, &y->time, sizeof x->time) != 0 || x->first != y->first ||
            x->nevents != y->nevents || x->unknown_fields != y->unknown_fields ||
            !x->counters != !y->counters || !x->daq_sources != !y->daq_sources || !x->meta != !y->meta)
            return "record";
    }
    if (a->nrows && (memcmp(a->rows, b->rows, a->nrows * (size_t)a->row_width * sizeof *a->rows) != 0 ||
                     memcmp(a->event_no, b->event_no, a->nrows * sizeof *a->event_no) != 0 ||
                     memcmp(a->trigger, b->trigger, a->nrows * sizeof *a->trigger) != 0))
        return "rows";
    return NULL;
}

#endif
