/* alarm_store.c — see alarm_store.h */
#include "alarm_store.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

/* ---- transitions ---- */

static void bind_text_or_null(sw_stmt *st, int i, const char *s)
{
    if (s && *s)
        sw_sql_bind_text(st, i, s, -1, SW_SQL_STATIC);
}

static void bind_real_or_null(sw_stmt *st, int i, double v)
{
    if (isfinite(v))
        sw_sql_bind_double(st, i, v);
}

static int store_event(sw_sql *db, void *ctx)
{
    struct sw_alarm_event *e = ctx;
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "INSERT INTO alarm_events(time, alarm, severity, from_state, to_state, run, spill, "
                       "value, threshold, note, who, shifter, comment, expires) "
                       "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_double(st, 1, e->time);
    sw_sql_bind_text(st, 2, e->alarm, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 3, e->severity, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 4, e->from, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 5, e->to, -1, SW_SQL_STATIC);
    if (e->run >= 0)
        sw_sql_bind_int64(st, 6, e->run);
    if (e->spill >= 0)
        sw_sql_bind_int64(st, 7, e->spill);
    bind_real_or_null(st, 8, e->value);
    bind_real_or_null(st, 9, e->threshold);
    bind_text_or_null(st, 10, e->note);
    bind_text_or_null(st, 11, e->who);
    bind_text_or_null(st, 12, e->shifter);
    bind_text_or_null(st, 13, e->comment);
    if (e->expires > 0)
        sw_sql_bind_double(st, 14, e->expires);
    int rc = sw_sql_step(st) == SW_SQL_DONE ? 0 : -1;
    sw_sql_finalize(st);
    return rc;
}

void sw_alarm_store_event(struct sw_store *store, struct sw_alarm_event *e)
{
    sw_store_call_async(store, store_event, e, free);
}

/* ---- start-up ---- */

static double real_or(sw_stmt *st, int i, double dflt)
{
    return sw_sql_column_type(st, i) == SW_SQL_NULL ? dflt : sw_sql_column_double(st, i);
}

static int64_t int_or(sw_stmt *st, int i, int64_t dflt)
{
    return sw_sql_column_type(st, i) == SW_SQL_NULL ? dflt : sw_sql_column_int64(st, i);
}

int sw_alarm_store_restore(struct sw_store *store, double now,
                           void (*rule)(void *ctx, const struct sw_alarm_stored *r),
                           void (*silence)(void *ctx, const struct sw_silence *s), void *ctx)
{
    sw_sql *db = sw_store_reader(store);
    sw_stmt *st;
    /* Costs what the rules hold, not the history (start-up, issue 18): the rule names by a skip
     * scan of the (alarm, id) index, each one's last event by the same index, and only for a rule
     * firing or acknowledged the start of its episode (its last entry into firing), walking back
     * from the end. */
    if (!db ||
        sw_sql_prepare(
            db,
            "WITH RECURSIVE names(alarm) AS (SELECT (SELECT min(alarm) FROM alarm_events) UNION ALL "
            "SELECT (SELECT min(f.alarm) FROM alarm_events f WHERE f.alarm > names.alarm) FROM names "
            "WHERE names.alarm IS NOT NULL) "
            "SELECT e.alarm, e.to_state, e.time, e.run, e.spill, e.value, e.threshold, e.who, e.shifter, "
            "e.comment, e.expires, CASE WHEN e.to_state IN ('firing', 'acknowledged') THEN (SELECT f.time "
            "FROM alarm_events f WHERE f.alarm = e.alarm AND f.to_state = 'firing' AND f.from_state NOT "
            "IN ('firing', 'acknowledged') ORDER BY f.id DESC LIMIT 1) END FROM names n JOIN alarm_events "
            "e ON e.id = (SELECT max(g.id) FROM alarm_events g WHERE g.alarm = n.alarm) WHERE n.alarm IS "
            "NOT NULL",
            -1, &st, NULL) != SW_SQL_OK) {
        sw_warn("alarms", "cannot read the stored alarm states: %s", db ? sw_sql_errmsg(db) : "no reader");
        return -1;
    }
    while (sw_sql_step(st) == SW_SQL_ROW) {
        struct sw_alarm_stored r = {.alarm = (const char *)sw_sql_column_text(st, 0),
                                    .to = (const char *)sw_sql_column_text(st, 1),
                                    .time = sw_sql_column_double(st, 2),
                                    .run = int_or(st, 3, -1),
                                    .spill = int_or(st, 4, -1),
                                    .value = real_or(st, 5, NAN),
                                    .threshold = real_or(st, 6, NAN),
                                    .who = (const char *)sw_sql_column_text(st, 7),
                                    .shifter = (const char *)sw_sql_column_text(st, 8),
                                    .comment = (const char *)sw_sql_column_text(st, 9),
                                    .expires = real_or(st, 10, 0)};
        r.starts_at = real_or(st, 11, r.time);
        if (r.alarm && r.to)
            rule(ctx, &r);
    }
    sw_sql_finalize(st);

    if (sw_sql_prepare(db,
                       "SELECT id, created, starts_at, ends_at, creator, who, comment, matchers FROM "
                       "silences WHERE ends_at > ?1 ORDER BY id",
                       -1, &st, NULL) != SW_SQL_OK)
        return 0;
    sw_sql_bind_double(st, 1, now);
    while (sw_sql_step(st) == SW_SQL_ROW) {
        struct sw_silence s = {.id = sw_sql_column_int64(st, 0),
                               .created = sw_sql_column_double(st, 1),
                               .starts_at = sw_sql_column_double(st, 2),
                               .ends_at = sw_sql_column_double(st, 3)};
        snprintf(s.creator, sizeof s.creator, "%s", (const char *)sw_sql_column_text(st, 4));
        snprintf(s.who, sizeof s.who, "%s", (const char *)sw_sql_column_text(st, 5));
        snprintf(s.comment, sizeof s.comment, "%s", (const char *)sw_sql_column_text(st, 6));
        sw_silence_matchers_from_json(&s, (const char *)sw_sql_column_text(st, 7));
        silence(ctx, &s);
    }
    sw_sql_finalize(st);
    return 0;
}
