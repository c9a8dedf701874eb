/* migrate.h — `spillwatch migrate --from FILE --to postgresql://...`: copies a SQLite database into an
 * empty PostgreSQL one (docs/deployment.md, "From SQLite to PostgreSQL").
 *
 * The source is read in one read transaction (a server may keep running on it: the copy is the state
 * of one instant; stop the server first so that nothing arrives after it). It must be at this
 * server's schema version (a server of this version started on it once migrates it). The target is
 * migrated to the same version, must hold no data, and gets every row of every table in one
 * transaction: nothing is visible to a server on it until the whole copy committed. Tables are
 * copied in foreign-key order, column by column by name; the per-run aggregates that triggers keep
 * (run_totals) are built by the target's triggers as the rows arrive and then compared with the
 * source's, row for row; the run histogram sums are copied as they are. Identity sequences continue
 * after the highest copied id. Every table's row count is compared at the end.
 *
 * Threads: the main thread of a separate process. */
#ifndef SW_MIGRATE_H
#define SW_MIGRATE_H

#include <stddef.h>

/* argv[0] is "migrate". Prints what it copied; returns the process exit status (0 done, 1 failed
 * with the reason on stderr and the target untouched, 2 usage). */
int sw_migrate_main(int argc, char **argv);

/* The copy itself: 0, or -1 with a message in err (the target's transaction rolled back). */
int sw_migrate_run(const char *from, const char *to, char *err, size_t errlen);

#endif
