/* tail.h — `spillwatch-collect file PATH` and `spillwatch-collect stdin`: follow DAQ output (NDJSON,
 * wire format v1), cut it into batches that never mix two spills, and deliver them exactly once at spill
 * granularity across collector and server crashes (docs/collector.md). */
#ifndef SW_TAIL_H
#define SW_TAIL_H

/* argv[0] is the subcommand name. from_stdin selects stdin mode. Returns the exit status. */
int cmd_tail(int argc, char **argv, int from_stdin);

#endif
