/* col_sim_cmd.h — the command `spillwatch-collect sim` (docs/simulator.md): its options and --help,
 * the run_start record (meta: seed, scale, faults, conditions), and the run loop that draws spills
 * with the simulator (sim.h) and sends them (post.h) to a server or into a file, on the SPS cycle
 * with --realtime; a restart of a run skips the spills the server has committed.
 *
 * The command owns its poster, buffers and --out file and frees them before it returns. Main thread
 * only. */
#ifndef SW_COL_SIM_CMD_H
#define SW_COL_SIM_CMD_H

#include <stdio.h>

/* The --help text of `sim` into f (spillwatch-collect --help prints it too). */
void col_sim_usage(FILE *f);

/* argv[0] is "sim". Returns the exit status (COL_EXIT_*, col_cli.h). */
int col_sim_cmd(int argc, char **argv);

#endif
