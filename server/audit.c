/* audit.c — see audit.h */
#include "audit.h"

#include <math.h>

#include "clock.h"
#include "jsonnum.h"

int sw_audit_insert(sqlite3 *db, const struct sw_audit_row *a)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            db,
            "INSERT INTO audit(time, who, shifter, action, run, spill, old, new, reason, comment) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_double(st, 1, sw_wall());
    sqlite3_bind_text(st, 2, a->who, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->shifter, -1, SQLITE_STATIC); /* NULL binds NULL */
    sqlite3_bind_text(st, 4, a->action, -1, SQLITE_STATIC);
    if (a->run >= 0)
        sqlite3_bind_int64(st, 5, a->run);
    if (a->spill >= 0)
        sqlite3_bind_int64(st, 6, a->spill);
    sqlite3_bind_text(st, 7, a->old, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, a->new_, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, a->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, a->comment, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

#define AUDIT_COLS "id, time, who, shifter, action, run, spill, old, new, reason, comment"
static const char *const audit_keys[] = {"id",    "time", "who", "shifter", "action", "run",
                                         "spill", "old",  "new", "reason",  "comment"};

static json_t *audit_from_row(sqlite3_stmt *st)
{
    json_t *e = json_object();
    for (int i = 0; i < 11; i++)
        json_object_set_new(e, audit_keys[i], sw_json_column(st, i));
    return e;
}

json_t *sw_audit_of_spill(sqlite3 *db, int64_t run, int64_t spill)
{
    json_t *arr = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT " AUDIT_COLS " FROM audit WHERE run = ?1 AND spill = ?2 ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return arr;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, spill);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, audit_from_row(st));
    sqlite3_finalize(st);
    return arr;
}

json_t *sw_audit_list(sqlite3 *db, int64_t run, int64_t spill, int64_t before, int64_t limit, int64_t *last)
{
    sqlite3_stmt *st;
    *last = -1;
    /* By run through the index on (run, spill); else newest first by id (an OR of both forms would
     * scan the whole log). */
#define AUDIT_SQL(run_cond)                                                           \
    "SELECT " AUDIT_COLS " FROM audit WHERE " run_cond " AND (?2 < 0 OR spill = ?2) " \
    "AND (?3 < 0 OR id < ?3) ORDER BY id DESC LIMIT ?4"
    if (!db || sqlite3_prepare_v2(db, run >= 0 ? AUDIT_SQL("run = ?1") : AUDIT_SQL("?1 < 0"), -1, &st,
                                  NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, spill);
    sqlite3_bind_int64(st, 3, before);
    sqlite3_bind_int64(st, 4, limit);
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        *last = sqlite3_column_int64(st, 0);
        json_array_append_new(arr, audit_from_row(st));
    }
    sqlite3_finalize(st);
    return arr;
}
