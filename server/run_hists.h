/* run_hists.h — run histograms summed at commit (schema/migrations/014_run_hist_sums.sql): per run,
 * quality ('all', 'good') and snapshot layout, the sum of the stored spills' snapshots, so a
 * run-scope histogram reads the run's sums (one blob per layout, usually one) instead of every
 * spill's snapshot.
 *
 * Who: the writer thread keeps the sums: sw_run_hists_drain applies the moves the schema's triggers
 * recorded (a snapshot stored or pruned, a flag that moves a spill in or out of GOOD) before every
 * commit (store_write.c), and sw_run_hists_rebuild builds the sums of the runs listed stale (a
 * database carried forward from schema 13, or sums found inconsistent) one run per writer job (the
 * main timer queues it). The HTTP threads read with sw_run_hists_read (hist_api.c) on a reader
 * connection. Nothing here locks; everything runs inside the caller's transaction. */
#ifndef SW_RUN_HISTS_H
#define SW_RUN_HISTS_H

#include "sql.h"
#include <stdint.h>

#include "hist.h"

/* What the sums of a run gave (hist_api.c's answer: spills, spill_range, skipped). */
struct sw_run_hists_sum {
    int64_t nspills, smin, smax, skipped;
};

/* Writer, inside its transaction: applies and clears run_hist_moves. 0, or -1 (SQLite error: the
 * caller rolls back). Sums that cannot take a move (a row missing for a spill leaving it, a
 * corrupt sum) list the run stale instead of failing the write. */
int sw_run_hists_drain(sw_sql *db);

/* Writer job (sw_store_call_async): builds the sums of stale runs from their spills' snapshots,
 * run by run for up to 0.1 s (one run at least), and takes them off the list. ctx: an int set to 1
 * when stale runs remain, else 0 (also after a failure: the runs stay stale and are read by
 * summing their snapshots). 0 or -1. */
int sw_run_hists_rebuild(sw_sql *db, void *ctx);

/* Reader: adds the sums of run (good: quality 'good') into acc[0..n) and counts in *out as
 * summing the spills' snapshots would. 1 when read; 0 when the run's sums are not kept now (stale,
 * or moves not applied yet): the caller sums the snapshots; -1 on an SQLite error. */
int sw_run_hists_read(sw_sql *db, int64_t run, int good, struct sw_hist *acc, int n,
                      struct sw_run_hists_sum *out);

#endif
