/* live.h — struct sw_live: what the engine knows right now, one sample. A type only (no code):
 * sw_engine_live fills it; the live alarm rules (sw_alarms_tick), the stream's `live` events
 * (sw_stream_live) and the exposition read it. A value, copied; it owns nothing. */
#ifndef SW_LIVE_H
#define SW_LIVE_H

#include <stdint.h>

#include "event.h"

struct sw_live {
    double now;                   /* Unix s of the sample */
    double mono;                  /* monotonic s of the sample */
    int in_spill;                 /* a spill is open */
    uint64_t triggers[SW_TRIG_N]; /* events accepted since start, by trigger type (monotonic) */
    double last_data;             /* Unix s of the last accepted record; NaN when none since start */
    int run_active;               /* data arrived for a run that has not ended (no run_end since) */
    int beam;                     /* the last closed spill had beam: 1, 0, or -1 when unknown */
    int64_t run, spill;           /* the live spill (open, else the last closed), -1 when none */
    uint64_t spill_events;        /* events of the live spill so far */
};

#endif
