/* spool.h — stdin mode: a pump thread copies standard input, as it arrives, into numbered segment files
 * <dir>/<10 digits>.ndjson, so that what the collector read from a pipe survives the collector (a pipe
 * cannot be read twice). follow.c reads the segments (FOLLOW_SPOOL) like a growing file.
 *
 * A segment is closed at a line end once it holds segment_max bytes, and the next one is started; a new
 * pump always starts a new segment, so a segment written by a killed collector is never appended to. At
 * the end of stdin a last line without '\n' gets one. Segments before the oldest byte the collector still
 * needs are deleted with spool_prune. While the disk is full the pump retries every second: stdin is then
 * not read and the pipe pushes back on its writer; nothing is dropped.
 *
 * Threads: spool_start/spool_stop/spool_eof/spool_prune from the collector's thread; the pump thread
 * owns the segment being written. */
#ifndef SW_SPOOL_H
#define SW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* Creates dir if needed and starts the pump on fd. Returns NULL (printed) on failure. */
struct spool *spool_start(const char *dir, int fd, size_t segment_max);

/* Stops the pump (it notices within 0.2 s), joins it and frees. Accepts NULL. */
void spool_stop(struct spool *s);

/* stdin reached its end and every byte of it is in the spool. */
int spool_eof(const struct spool *s);

/* The segment path of number n into buf. */
void spool_segment_path(const char *dir, uint64_t n, char *buf, size_t len);

/* The number of a segment path (its file name), 0 when it is not one. */
uint64_t spool_segment_number(const char *path);

/* Lowest and highest segment numbers in dir (0, 0 when there are none). */
void spool_range(const char *dir, uint64_t *lo, uint64_t *hi);

/* Deletes the segments numbered below n. */
void spool_prune(const char *dir, uint64_t n);

#endif
