/* col_batch.h — the batch a file or stdin collector is building: the lines it sends in one POST
 * (body, '\n'-terminated, NUL after the last), where each came from (its start offset in the file),
 * and the lines of its byte range that are left out of it (blank, refused by the collector or by the
 * server: "drops"). A batch is one byte range [start, end) of one file, so the journal (state.h) can
 * rebuild it from the file; what it carries (events, run and spill, whether it closes a spill) is for
 * the cut policy in tail.c.
 *
 * The batch owns body, starts and drop (batch_free); the file identity is a copy. Single-threaded: a
 * batch belongs to its caller (the tailer's main thread). */
#ifndef SW_COL_BATCH_H
#define SW_COL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "follow.h"

struct col_batch {
    char *body;
    size_t len, cap;
    int64_t *starts; /* start offset of each line in body */
    size_t nlines, caplines;
    int64_t *drop; /* start offsets of lines in the range left out */
    size_t ndrop, capdrop;
    struct follow_file file;
    int64_t start, end; /* byte range in file; start < 0: empty */
    int has_spill;      /* run and spill are set: the batch holds a line of that spill */
    int64_t run, spill;
    int64_t events;
    int closes;        /* carries a spill_end */
    double first_mono; /* CLOCK_MONOTONIC s of its first line (--flush-ms) */
};

/* Empties the batch and keeps its memory. A zero-initialised batch must be reset before use. */
void col_batch_reset(struct col_batch *b);
/* Frees the memory (not the struct). */
void col_batch_free(struct col_batch *b);

/* Appends line (len bytes, no '\n') that starts at offset start. 0, or -1 on out of memory. */
int col_batch_add_line(struct col_batch *b, const char *line, size_t len, int64_t start);
/* Records the line starting at offset start as left out. 0, or -1 on out of memory. */
int col_batch_add_drop(struct col_batch *b, int64_t start);
/* Removes line k (0-based) of the body; it becomes a dropped line. 0, or -1 on out of memory. */
int col_batch_remove_line(struct col_batch *b, size_t k);

/* The start of line k (0-based, k < nlines) in the body; it ends at the next '\n'. */
const char *col_batch_line(const struct col_batch *b, size_t k);

#endif
