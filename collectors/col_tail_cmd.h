/* col_tail_cmd.h — the command lines `spillwatch-collect file PATH` and `spillwatch-collect stdin`
 * (docs/collector.md): their options and --help, the source id (given, kept by the state, or the
 * default), and the set-up and tear-down of one collector run around the tailer (tail.h): the state
 * directory (state.h), the poster (post.h), the follower (follow.h), in stdin mode the spool (spool.h),
 * then the recovery (col_recover.h) and the follow loop.
 *
 * The command owns everything it opens and frees it before it returns. Main thread; the spool's pump
 * runs on a thread of its own between spool_start and spool_stop. */
#ifndef SW_COL_TAIL_CMD_H
#define SW_COL_TAIL_CMD_H

/* argv[0] is the subcommand name. from_stdin selects stdin mode. Returns the exit status
 * (COL_EXIT_*, col_cli.h). */
int col_tail_cmd(int argc, char **argv, int from_stdin);

#endif
