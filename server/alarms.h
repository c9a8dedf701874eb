/* alarms.h — alarm rules on per-spill quantities, check states and the spill flag (DESIGN §6):
 * inactive -> pending -> firing -> resolved (-> pending ...), `for` N consecutive spills (a false
 * evaluation resets pending), a separate recovery threshold (hysteresis), latched or auto-resolving,
 * suppression without beam. Every transition is stored (asynchronously, through the store's writer)
 * and firing/resolved transitions are handed to the rule's hooks.
 *
 * Threads: sw_alarms_spill from the engine (under its mutex); sw_alarms_json from HTTP threads; the
 * module has its own mutex.
 */
#ifndef SW_ALARMS_H
#define SW_ALARMS_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "hooks.h"
#include "quality.h"
#include "store.h"

struct sw_alarms;

/* Borrows everything. NULL on out of memory. */
struct sw_alarms *sw_alarms_new(const struct sw_profile *p, struct sw_store *store, struct sw_hooks *hooks);
void sw_alarms_free(struct sw_alarms *a);

/* Evaluates every rule on a closed spill: in and res as given to/returned by sw_quality_eval. */
void sw_alarms_spill(struct sw_alarms *a, const struct sw_quality_input *in, enum sw_state flag,
                     const struct sw_check_result *res, int64_t run, int64_t spill, int beam);

/* {"alarms": [{"name", "severity", "state", "since", "value", "threshold", "run", "spill", "count",
 * "summary", "latched", "hooks"}]} (new reference). */
json_t *sw_alarms_json(struct sw_alarms *a);

#endif
