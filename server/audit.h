/* audit.h — the audit log (table audit): every human action and profile reload, who did it and
 * why. Every writer of audit rows inserts through sw_audit_insert, on the store's writer thread
 * (inside an sw_store_call function); readers use their own read-only connection. No state.
 */
#ifndef SW_AUDIT_H
#define SW_AUDIT_H

#include <jansson.h>
#include "sql.h"
#include <stdint.h>

/* One row of the audit log. run < 0: a server-wide action (a profile reload); spill < 0: a
 * run-level one. Strings may be NULL. */
struct sw_audit_row {
    const char *who, *shifter, *action;
    int64_t run, spill;
    const char *old, *new_, *reason, *comment;
};
/* Inserts it, with the time now. 0, or -1 on an SQLite error. */
int sw_audit_insert(sw_sql *db, const struct sw_audit_row *a);

/* Audit entries of one spill, oldest first (new reference; an empty array on error). */
json_t *sw_audit_of_spill(sw_sql *db, int64_t run, int64_t spill);

/* Entries newest first, filtered by run and spill (< 0: any) and id < before (< 0: none), at most
 * limit; *last is the id of the last one (-1: none). New reference, or NULL on a database error. */
json_t *sw_audit_list(sw_sql *db, int64_t run, int64_t spill, int64_t before, int64_t limit, int64_t *last);

#endif
