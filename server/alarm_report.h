/* alarm_report.h — the reads of the alarm notifications: the delivery log (alarm_deliveries, written
 * by delivery_log) as JSON, and the per-rule figures of alarm fatigue over a selection of episodes
 * (docs/api.md, "Alarm deliveries", "Alarm figures"), for the REST side (alarm_api) and /metrics
 * (exposition).
 *
 * An episode is a rule's firing from its firing transition (to firing from anything but firing or
 * acknowledged) to the transition out of firing/acknowledged (resolved). A selection takes the
 * episodes that started in a time window or in a range of runs (the run of the firing
 * transition); each selected episode counts whole (its firing and silenced time up to its end, or
 * now while it goes on), with every notice sent about it.
 *
 * Threads: any thread, through its own read-only connection (sw_store_reader); no state.
 */
#ifndef SW_ALARM_REPORT_H
#define SW_ALARM_REPORT_H

#include <jansson.h>
#include "sql.h"
#include <stdint.h>

#include "alarms.h"

/* Which episodes (figures) or rows (the delivery log): started/written in [since, until) (Unix s;
 * -INFINITY and INFINITY when not given), or, when run_first >= 0, of the runs run_first..run_last.
 * within: the N of auto_resolved_within (figures only). */
struct sw_alarm_range {
    double since, until;
    int64_t run_first, run_last;
    int within;
};

/* Every row of alarm's delivery log in range (rows by their time, or their notice's run), newest
 * first, at most limit: {"alarm", "deliveries": [...]}. NULL on an SQLite error (message in err). */
json_t *sw_alarm_report_deliveries(sw_sql *db, const char *alarm, const struct sw_alarm_range *r,
                                   int64_t limit, char *err, size_t errlen);

/* 1 when name is a rule of the profile in force, or has stored transitions or deliveries. */
int sw_alarm_report_known(sw_sql *db, struct sw_alarms *alarms, const char *name);

/* Adds "deliveries" (every attempt about the episode, oldest first) to each entry of history (as
 * GET /api/v1/alarms?history=1 lists them) that starts an episode. 0, or -1 on an SQLite error. */
int sw_alarm_report_attach(sw_sql *db, json_t *history);

/* The figures of every rule of the profile in force (and of every other rule with an episode in
 * range), in the profile's order: {"since", "until", "runs", "within", "now", "rules": [...]}.
 * NULL on an SQLite error (message in err). */
json_t *sw_alarm_report_stats(sw_sql *db, struct sw_alarms *alarms, const struct sw_alarm_range *r, char *err,
                              size_t errlen);

#endif
