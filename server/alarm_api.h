/* alarm_api.h — the REST side of alarms (docs/design.md §9, §10): current states and stored transitions,
 * acknowledge and reset (shifter), silences (list; create and expire as shifter), the delivery log and
 * the per-rule figures (alarm_report.h).
 *
 * The alarm states live in alarms.c; silences are written through the store's writer thread
 * (queued, defer.h) and then handed to alarms.c, so the store and the live set agree; an action's
 * answer waits, suspended, for its record in the history.
 * Threads: MHD pool threads. Every function fills the reply (JSON errors included).
 */
#ifndef SW_ALARM_API_H
#define SW_ALARM_API_H

#include <stdint.h>

#include "ctx.h"
#include "reply.h"

/* GET /api/v1/alarms[?history=1&alarm=NAME&limit=N] */
void sw_alarm_api_list(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r);

/* GET /api/v1/alarms/{name}/deliveries[?since=&until= | ?runs=A-B][&limit=N]: the delivery log of one
 * rule, newest first; 404 for a name neither in the profile nor in the history. */
void sw_alarm_api_deliveries(const struct sw_api *api, struct MHD_Connection *c, const char *name,
                             struct sw_reply *r);

/* GET /api/v1/alarms/stats[?since=&until= | ?runs=A-B][&within=N]: the per-rule figures. */
void sw_alarm_api_stats(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r);

/* POST /api/v1/alarms/{name}/ack {"comment", "shifter", "expires_in" (s)}; who is the token name. */
void sw_alarm_api_ack(const struct sw_api *api, const char *who, const char *name, const char *body,
                      size_t len, struct sw_reply *r);

/* POST /api/v1/alarms/{name}/reset {"comment", "shifter"}: a firing latched alarm -> resolved. */
void sw_alarm_api_reset(const struct sw_api *api, const char *who, const char *name, const char *body,
                        size_t len, struct sw_reply *r);

/* GET /api/v1/silences[?active=1&limit=N], newest first. */
void sw_alarm_api_silences(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r);

/* POST /api/v1/silences {"matchers": {label: value} or "alarm": NAME, "duration" (s) or "ends_at",
 * "starts_at", "comment", "creator"} -> 201 {"silence", "matches"}. */
void sw_alarm_api_silence_post(const struct sw_api *api, const char *who, const char *body, size_t len,
                               struct sw_reply *r);

/* DELETE /api/v1/silences/{id}: ends it now. */
void sw_alarm_api_silence_delete(const struct sw_api *api, const char *who, int64_t id, struct sw_reply *r);

#endif
