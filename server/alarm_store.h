/* alarm_store.h — the SQL of the alarms: every transition appended to alarm_events (through the
 * store's writer, never waiting), and at start-up the last stored state of each rule and the
 * silences still in force (through the calling thread's reader). The tables are created by the
 * store's migrations; the REST reads of the history and of the silences are alarm_api's.
 *
 * Threads: sw_alarm_store_event from any thread (it only queues); sw_alarm_store_restore from the
 * thread that builds the alarms (the main thread, before serving). It keeps no state.
 */
#ifndef SW_ALARM_STORE_H
#define SW_ALARM_STORE_H

#include <stdint.h>

#include "config.h"
#include "silence.h"
#include "store.h"

/* One transition, as stored (and as published on the stream). Text fields "" are stored NULL,
 * value/threshold NaN as NULL, run/spill < 0 as NULL, expires <= 0 as NULL. from and to point to
 * static state names. */
struct sw_alarm_event {
    char alarm[SW_NAME_MAX], severity[16], note[96];
    char who[SW_NAME_MAX], shifter[SW_NAME_MAX], comment[512];
    const char *from, *to;
    int64_t run, spill;
    double time, value, threshold, expires;
};

/* Queues the insert of e (malloc'ed; the store frees it after the write, or at once when it cannot
 * queue). Never blocks on I/O. */
void sw_alarm_store_event(struct sw_store *store, struct sw_alarm_event *e);

/* The last stored transition of one rule. Strings are borrowed for the callback only (NULL when
 * stored NULL); run, spill -1 and value, threshold NaN when NULL; expires 0 when NULL; starts_at
 * (firing and acknowledged only) the time of the episode's first firing, or `time` when there is
 * none. */
struct sw_alarm_stored {
    const char *alarm, *to;
    double time;
    int64_t run, spill;
    double value, threshold;
    const char *who, *shifter, *comment;
    double expires;
    double starts_at;
};

/* Calls rule(ctx, r) for the last stored transition of every rule name in alarm_events, then
 * silence(ctx, s) for every stored silence that has not ended at now (Unix s), in id order. 0, or
 * -1 (warned) when the states cannot be read: then neither callback is called. */
int sw_alarm_store_restore(struct sw_store *store, double now,
                           void (*rule)(void *ctx, const struct sw_alarm_stored *r),
                           void (*silence)(void *ctx, const struct sw_silence *s), void *ctx);

#endif
