/* follow.h — reads complete lines from a growing input, like `tail -F`, and tells the byte position of
 * every line, so a collector can journal what it sent and rebuild it after a crash (tail.c, col_recover.c).
 *
 * Two kinds of input:
 *   FOLLOW_PATH   one path a DAQ appends to. Rotation (the path names another file now): the old file is
 *                 read to its end, then the new one from its start. Truncation (the file shrank below the
 *                 read position, e.g. copytruncate): read again from 0, with a warning. A path that does
 *                 not exist yet is waited for; a deleted path keeps being read until a new file appears.
 *   FOLLOW_SPOOL  a directory of numbered segments written by spool.c (stdin mode); a segment is finished
 *                 once the next one exists.
 * A file is identified by device and inode (and the name it had when last seen); a position is a file
 * and a byte offset. A line is returned once its '\n' has been read; the last line of a finished file is
 * returned without one (marked unterminated), and so is the last line of the input in drain mode
 * (--exit-at-eof).
 *
 * Single-threaded: a follower belongs to its caller. */
#ifndef SW_FOLLOW_H
#define SW_FOLLOW_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum follow_kind { FOLLOW_PATH, FOLLOW_SPOOL };

struct follow_file {
    char name[PATH_MAX]; /* the path it had when last seen */
    uint64_t dev, ino;
};

struct follow_line {
    const char *p; /* the line without '\n'; for a too-long line only its first bytes */
    size_t len;
    const struct follow_file *file; /* valid until the next call */
    int64_t start, end;             /* byte offsets in file: [start, end) includes the '\n' */
    int too_long;                   /* longer than line_max: skipped to its '\n', p holds its start */
    int unterminated;               /* the last line of a finished file (or of the input when draining) */
};

struct follower;

/* path: the followed file (FOLLOW_PATH) or the spool directory (FOLLOW_SPOOL). line_max: longest line
 * kept whole. Returns NULL on out of memory. */
struct follower *follow_new(enum follow_kind kind, const char *path, size_t line_max);
void follow_free(struct follower *f); /* accepts NULL */

/* Starts at a saved position (file and offset), or at the start of the input when file is NULL. The file
 * is looked up by device and inode: under its name, else among the files of the followed path's
 * directory (a rotated file). Returns 0, or -1 when it is gone (printed; reading then starts at the
 * input's current file from 0). */
int follow_start(struct follower *f, const struct follow_file *file, int64_t offset);

/* The next line. Returns 1 with *out filled, 0 when no complete line is available now, -1 on a read error
 * (printed; the caller may try again later). */
int follow_next(struct follower *f, struct follow_line *out);

/* Drain mode: a last line without '\n' at the end of the input counts as a line (--exit-at-eof). */
void follow_set_drain(struct follower *f, int on);

/* The last follow_next returned 0 at the end of the newest file: everything there is was read. False
 * while the followed path has not appeared yet. */
int follow_at_end(const struct follower *f);

/* Bytes of the input not read yet: the rest of the current file and every newer file. */
int64_t follow_lag_bytes(struct follower *f);

/* Bytes [start, end) of the file identified by file (looked up like follow_start); a NUL is appended.
 * Returns a malloc'd buffer with *len, or NULL (printed) when the file is gone or shorter. */
char *follow_read_range(struct follower *f, const struct follow_file *file, int64_t start, int64_t end,
                        size_t *len);

#endif
