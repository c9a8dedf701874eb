/* audit.c — see audit.h */
#include "audit.h"

#include <math.h>

#include "clock.h"
#include "jsonnum.h"

int sw_audit_insert(sw_sql *db, const struct sw_audit_row *a)
{
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "INSERT INTO audit(time, who, shifter, action, run, spill, old, new, reason, comment) "
                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_double(st, 1, sw_wall());
    sw_sql_bind_text(st, 2, a->who, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 3, a->shifter, -1, SW_SQL_STATIC); /* NULL binds NULL */
    sw_sql_bind_text(st, 4, a->action, -1, SW_SQL_STATIC);
    if (a->run >= 0)
        sw_sql_bind_int64(st, 5, a->run);
    if (a->spill >= 0)
        sw_sql_bind_int64(st, 6, a->spill);
    sw_sql_bind_text(st, 7, a->old, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 8, a->new_, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 9, a->reason, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 10, a->comment, -1, SW_SQL_STATIC);
    int rc = sw_sql_step(st) == SW_SQL_DONE ? 0 : -1;
    sw_sql_finalize(st);
    return rc;
}

#define AUDIT_COLS "id, time, who, shifter, action, run, spill, old, new, reason, comment"
static const char *const audit_keys[] = {"id",    "time", "who", "shifter", "action", "run",
                                         "spill", "old",  "new", "reason",  "comment"};

static json_t *audit_from_row(sw_stmt *st)
{
    json_t *e = json_object();
    for (int i = 0; i < 11; i++)
        json_object_set_new(e, audit_keys[i], sw_json_column(st, i));
    return e;
}

json_t *sw_audit_of_spill(sw_sql *db, int64_t run, int64_t spill)
{
    json_t *arr = json_array();
    sw_stmt *st;
    if (sw_sql_prepare(db, "SELECT " AUDIT_COLS " FROM audit WHERE run = ?1 AND spill = ?2 ORDER BY id", -1,
                       &st, NULL) != SW_SQL_OK)
        return arr;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_int64(st, 2, spill);
    while (sw_sql_step(st) == SW_SQL_ROW)
        json_array_append_new(arr, audit_from_row(st));
    sw_sql_finalize(st);
    return arr;
}

json_t *sw_audit_list(sw_sql *db, int64_t run, int64_t spill, int64_t before, int64_t limit, int64_t *last)
{
    sw_stmt *st;
    *last = -1;
    /* By run through the index on (run, spill); else newest first by id (an OR of both forms would
     * scan the whole log). */
#define AUDIT_SQL(run_cond)                                                           \
    "SELECT " AUDIT_COLS " FROM audit WHERE " run_cond " AND (?2 < 0 OR spill = ?2) " \
    "AND (?3 < 0 OR id < ?3) ORDER BY id DESC LIMIT ?4"
    if (!db || sw_sql_prepare(db, run >= 0 ? AUDIT_SQL("run = ?1") : AUDIT_SQL("?1 < 0"), -1, &st, NULL) !=
                   SW_SQL_OK)
        return NULL;
    sw_sql_bind_int64(st, 1, run);
    sw_sql_bind_int64(st, 2, spill);
    sw_sql_bind_int64(st, 3, before);
    sw_sql_bind_int64(st, 4, limit);
    json_t *arr = json_array();
    while (sw_sql_step(st) == SW_SQL_ROW) {
        *last = sw_sql_column_int64(st, 0);
        json_array_append_new(arr, audit_from_row(st));
    }
    sw_sql_finalize(st);
    return arr;
}
