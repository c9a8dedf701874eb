/* backup.h — `spillwatch backup DEST`: a consistent copy of the live database while the server runs
 * (docs/design.md §11). The copy goes through SQLite's online backup API from a read-only connection, in one
 * read transaction (WAL: the writer is never blocked, the copy is the state of one instant).
 *
 * Threads: main thread of a separate process (the backup command); never writes the live database.
 */
#ifndef SW_BACKUP_H
#define SW_BACKUP_H

#include <stddef.h>
#include <stdint.h>

struct sw_backup_result {
    int64_t runs, spills, spill_hists; /* rows in the copy */
    int64_t bytes;                     /* size of the copy */
    double seconds;                    /* copy + integrity check */
};

/* Copies the database at src to dest. Refuses an existing dest (never overwrites: the copy is
 * written to a temporary file next to dest and linked into place only when it passed
 * PRAGMA integrity_check). Returns 0 with *res filled, or -1 with a message in err (dest untouched
 * then, the temporary file removed). */
int sw_backup_run(const char *src, const char *dest, struct sw_backup_result *res, char *err, size_t errlen);

#endif
