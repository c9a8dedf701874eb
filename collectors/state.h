/* state.h — a file or stdin collector's durable state in its --state directory:
 *
 *   lock                 flock'ed while a collector runs, so two cannot share the directory
 *   state.json           the collector instance id and the journal, replaced atomically (write, fsync,
 *                        rename, fsync of the directory)
 *   dead-letter.ndjson   lines the collector or the server refused, one JSON object per line
 *   spool/               stdin mode only (spool.h)
 *
 * The journal lists every batch handed out since the last committed spill: its seq and where its lines
 * are (file, byte range, and the offsets of lines left out of it). It is saved before a batch is sent,
 * so after a crash every batch the server may hold can be rebuilt byte for byte with its seq, and those
 * the server lacks can be sent again (docs/design.md §6.5: exactly once at spill granularity). It is cleared
 * once a batch with a spill_end is applied.
 *
 * The instance id (X-Spillwatch-Instance) is drawn when the state is created and saved at once: the
 * same directory is the same collector across restarts, and a second collector using the same
 * source id from another directory is told apart by the server (docs/collector.md).
 *
 * Single-threaded: the state belongs to the collector's main thread. */
#ifndef SW_STATE_H
#define SW_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "follow.h"

struct state_batch {
    int64_t seq;
    struct follow_file file;
    int64_t start, end; /* byte range of the batch's lines in file */
    int closes;         /* carries a spill_end */
    int64_t *drop;      /* start offsets of lines in the range that are not in the batch */
    size_t ndrop;
};

struct state {
    char dir[4096];
    char source[128];
    char instance[40];      /* POSTER_INSTANCE_LEN hex digits */
    char input[4200];       /* "file:<path>" or "stdin": a state belongs to one input */
    int64_t seq;            /* the last seq handed out */
    struct follow_file pos; /* where reading goes on: after the last line of the last batch */
    int64_t pos_off;
    int has_pos;
    struct state_batch *journal;
    size_t njournal, capjournal;
    int fsync; /* fsync state.json on every save (survives a machine crash, not only a process crash) */
    int lock_fd;
    int fresh; /* no state.json was found */
};

/* Creates dir if needed, locks it and loads state.json (a missing file gives a fresh state). A state of
 * another source or input is refused. Returns 0, or -1 (printed). */
int state_open(struct state *s, const char *dir, const char *source, const char *input, int fsync);

/* The source id a state directory was made for, copied to buf; 0, or -1 when it has no state yet (or
 * one that cannot be read: state_open says why). */
int state_peek_source(const char *dir, char *buf, size_t len);
void state_close(struct state *s);

/* Saves the state atomically. Returns 0, or -1 (printed). */
int state_save(struct state *s);

/* Appends a copy of b to the journal (drop is copied). Returns 0 or -1 on out of memory. */
int state_journal_add(struct state *s, const struct state_batch *b);
/* Drops the journal's first n entries. */
void state_journal_shift(struct state *s, size_t n);
/* Removes entry i. */
void state_journal_remove(struct state *s, size_t i);

/* Appends one entry to dead-letter.ndjson: the raw line (stored as a JSON string; bytes that are not
 * UTF-8 become '?' with "lossy": true), where it came from, the status (0 = refused by the collector) and
 * the error. Returns 0, or -1 (printed). */
int state_dead_letter(struct state *s, const char *line, size_t len, const struct follow_file *file,
                      int64_t offset, int64_t seq, long status, const char *error);

#endif
