/* sqlq.h — SQL fragments the readers share: a spill with its manual flag and DAQ counts, and the
 * effective flag (the manual one when present), defined here once for every query that needs it
 * (spills as s, manual_flags as m). */
#ifndef SW_SQLQ_H
#define SW_SQLQ_H

/* Columns of a spill with its manual flag (columns 17-22) and its DAQ counts (23); the effective
 * flag is the manual one when present. */
#define SPILL_COLS                                                                                    \
    "s.run, s.spill, s.started, s.ended, s.duration, s.events, s.mot, s.dead_time, s.decode_errors, " \
    "s.unknown_fields, s.complete, s.flag, s.reasons, s.counters, s.triggers, s.profile_version, "    \
    "s.closed_at, "                                                                                   \
    "m.flag, m.reason, m.comment, m.who, m.shifter, m.time, s.daq_sources "
#define SPILL_MANUAL_JOIN "LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill "
#define SPILL_FROM        "FROM spills s " SPILL_MANUAL_JOIN
#define EFFECTIVE_FLAG    "coalesce(m.flag, s.flag)"

#endif
