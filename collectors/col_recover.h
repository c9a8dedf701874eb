/* col_recover.h — the start of a file or stdin collector: brings the server up to the journal in the
 * state directory (state.h) after a crash of the collector or of the server.
 *
 * The journal is replayed against the server's watermark (GET /api/v1/sources/<id>): each journaled
 * batch is rebuilt byte for byte from its file (byte range minus its dropped lines); the batches the
 * server has are kept by the poster for a later replay (poster_keep), the others are sent again with
 * their own seq (tail_send_batch). A server that has more than the journal knows (another collector on
 * this source, or another state) is refused with what to do. Then reading goes on at the saved
 * position.
 *
 * Single-threaded: called once by the command (col_tail_cmd.c) on the main thread, before tail_run;
 * it works on the tailer's state, poster and follower. */
#ifndef SW_COL_RECOVER_H
#define SW_COL_RECOVER_H

#include "tail.h"

/* Returns 0, or -1 (printed). A batch whose bytes are gone and the server lacks is counted in t->lost
 * (the command then ends with status 1). */
int col_recover(struct tailer *t);

#endif
