/* alarms.h — alarm rules (docs/design.md §9) on per-spill quantities, check states and the spill flag
 * (judged at each closed spill) and on live quantities (judged by the timer thread about once a
 * second): trigger rate over the last second, seconds since the last data, beam.
 *
 * States: inactive -> pending -> firing -> resolved (-> pending ...), and acknowledged (a firing
 * alarm a shifter has taken: no repeats until the acknowledgement expires or the episode ends).
 * `for` N consecutive spills (spill rules) or `for_seconds` without a break (live rules); a false
 * evaluation resets pending. A separate recovery threshold gives hysteresis; a latched rule stays
 * firing until a shifter resets it; rules on rates are suppressed while there is no beam.
 *
 * Notifications: each hook of a rule gets the firing notice once `after` seconds of firing have
 * passed (0 = at once; later = escalation, which an acknowledgement does not stop), repeats every
 * hook's repeat_interval while firing and not acknowledged, and the resolved notice at once if it
 * was told of the firing. A silence (label matchers, a time window) mutes firing notices and
 * repeats of the rules it matches; a notice it held back goes out when it ends if the alarm still
 * fires. Every transition is stored (asynchronously, through the store's writer), and the state
 * of every rule plus the active silences are restored from the store at start-up.
 *
 * Threads: sw_alarms_spill from the engine (under its mutex); sw_alarms_tick from the timer
 * thread; the rest from HTTP threads. The module has its own mutex and never blocks on I/O:
 * hooks queue, the store queues.
 *
 * Files: alarms.c (the state machine, notices, the views), alarm_store.c (the SQL: transitions
 * appended to alarm_events, states and silences restored at start-up), silence.c (matching a
 * silence to a rule, the set of active silences, kept under the alarms' mutex). The REST side is
 * alarm_api.c.
 */
#ifndef SW_ALARMS_H
#define SW_ALARMS_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "hooks.h"
#include "live.h"
#include "quality.h"
#include "silence.h"
#include "store.h"

struct sw_alarms;

/* struct sw_live (live.h): what the engine knows right now, for the live rules (filled by
 * sw_engine_live). struct sw_silence (silence.h): one silence. */

/* Takes a reference to p (sw_profile_ref) and borrows store and hooks; restores rule states and
 * active silences through the calling thread's reader (call from the main thread before serving).
 * NULL on out of memory. */
struct sw_alarms *sw_alarms_new(struct sw_profile *p, struct sw_store *store, struct sw_hooks *hooks);

/* Profile reload: the rules of p apply from now on, notifying through hooks (borrowed; the
 * caller stops the previous hooks after this returns, nobody uses them any more). The state of a
 * rule (pending count, firing, acknowledgement, episode) is carried over by rule name; a rule
 * that is no longer in p is dropped, and if it was firing it resolves first (note "rule removed by
 * a profile reload"; the resolved notice goes to the hooks that heard of the firing). Takes a
 * reference to p and drops the one to the previous profile. *kept and *dropped count the rules
 * carried over and dropped. 0, or SW_ENOMEM (nothing changed). Any thread. */
int sw_alarms_set_profile(struct sw_alarms *a, struct sw_profile *p, struct sw_hooks *hooks, int *kept,
                          int *dropped);
void sw_alarms_free(struct sw_alarms *a);

/* Every transition from now on is also published as an `alarm` event on stream (borrowed, may be
 * NULL). Call before serving. */
struct sw_stream;
void sw_alarms_set_stream(struct sw_alarms *a, struct sw_stream *stream);

/* Evaluates every spill rule on a closed spill: judged, in and res as given to/returned by
 * sw_quality_eval (judged may be NULL: the rules' own profile). A spill judged by an older profile
 * (open at a reload) is matched to the rules by histogram and check name. */
void sw_alarms_spill(struct sw_alarms *a, const struct sw_profile *judged, const struct sw_quality_input *in,
                     enum sw_state flag, const struct sw_check_result *res, int64_t run, int64_t spill,
                     int beam);

/* Evaluates the live rules on a sample, expires acknowledgements and silences, and sends due
 * escalations and repeats. */
void sw_alarms_tick(struct sw_alarms *a, const struct sw_live *live);

/* {"alarms": [{"name", "severity", "summary", "labels", "kind", "state", "since", "value",
 * "threshold", "run", "spill", "count", "for", "for_seconds", "latched", "hooks",
 * "acknowledged", "silenced_by"}]} (new reference). */
json_t *sw_alarms_json(struct sw_alarms *a);

/* Acknowledges a firing alarm until expires (Unix s; 0 = until the episode ends). who is the
 * token name, shifter the person (may be NULL). 0, SW_ENOTFOUND (no such rule) or SW_ECONFLICT
 * (not firing), with a message in err; nothing changes on error. */
int sw_alarms_ack(struct sw_alarms *a, const char *name, const char *who, const char *shifter,
                  const char *comment, double expires, char *err, size_t errlen);

/* Resets a firing latched alarm to resolved (the resolved notice goes out). Same returns as ack;
 * SW_ECONFLICT also when the rule is not latched. */
int sw_alarms_reset(struct sw_alarms *a, const char *name, const char *who, const char *shifter,
                    const char *comment, char *err, size_t errlen);

/* Names of the rules s matches (new reference). */
json_t *sw_alarms_silence_matches(struct sw_alarms *a, const struct sw_silence *s);

/* Adds a stored silence (s->id set) to the active set (copied). 0, or SW_ENOMEM. */
int sw_alarms_silence_add(struct sw_alarms *a, const struct sw_silence *s);

/* A standby server following the active one (ha.h): the rules' states and the active silences
 * again from the database, as the active server stored them (no notice is sent, nothing is
 * written). Also when this server becomes the active one. 0, or -1 (out of memory; a reload came
 * in between). Any thread. */
int sw_alarms_resync(struct sw_alarms *a);

/* Ends an active silence now. 0, or SW_ENOTFOUND when it is not active. */
int sw_alarms_silence_expire(struct sw_alarms *a, int64_t id);

/* Gauges for /metrics: how many rules are in each state (inactive, pending, firing,
 * acknowledged, resolved), and how many silences are active. */
void sw_alarms_counts(struct sw_alarms *a, int counts[5], int *silences);

/* The names of the states, indexed as in sw_alarms_counts. */
extern const char *const sw_alarm_state_names[5];

#endif
