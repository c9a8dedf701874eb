/* store.h — the SQLite store (docs/design.md §11): WAL, explicit pragmas, STRICT schema migrated by
 * PRAGMA user_version, one writer thread that owns every write, and one read-only connection per
 * reading thread.
 *
 * Threads: sw_store_open/close from the main thread. Submit functions from any thread (they queue
 * to the writer thread and never touch the disk themselves). sw_store_reader from any thread: it
 * returns that thread's own read-only connection (closed when the thread exits).
 *
 * Files: store.c (the queue and the writer thread), store_write.c (the writes), store_fault.c (the
 * fault state), store_open.c (opening, migrations, readers, loaders); store_int.h is theirs alone.
 */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <pthread.h>
#include "sql.h"
#include <stddef.h>
#include <stdint.h>

struct sw_store;

/* A closed spill, ready to be committed (its open-spill marker is deleted in the same transaction).
 * Strings and blob are malloc'ed and owned by the record; the store frees them after the commit. */
struct sw_spill_rec {
    int64_t run, spill;
    double started, ended, duration, mot, dead_time, decode_errors; /* NaN -> NULL */
    uint64_t events, unknown_fields;
    int complete;
    char flag[16];
    char *reasons_json, *counters_json, *triggers_json, *checks_json; /* checks: JSON array of results */
    char *daq_sources_json; /* the spill_end's daq_sources (JSON object); NULL -> NULL (it had none) */
    char profile_version[96];
    unsigned char *blob;
    size_t bloblen;
    char source[128]; /* "" when not closed by a sequenced batch */
    int64_t seq;
};

/* Lets a thread wait for the jobs it queued (the spill_end request answers after its commit), by
 * blocking (sw_store_wait_all) or by being told (sw_store_wait_notify). */
struct sw_store_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending, failed;
    void (*notify)(void *arg); /* set by sw_store_wait_notify until it is called */
    void *arg;
};
void sw_store_wait_init(struct sw_store_wait *w);
/* Blocks until every job queued with w is done; returns how many failed. */
int sw_store_wait_all(struct sw_store_wait *w);
/* Asks for notify(arg) once every job queued with w is done, instead of blocking: returns 1 when jobs
 * are pending (notify is then called exactly once, on the writer thread, and must not block; w is
 * not touched after it), or 0 when none are (notify is never called). Queue no more jobs with w
 * after this. The HTTP threads use it to suspend an ingest connection rather than wait on it. */
int sw_store_wait_notify(struct sw_store_wait *w, void (*notify)(void *arg), void *arg);
void sw_store_wait_release(struct sw_store_wait *w);

/* Opens (creating if needed) the database, applies migrations and starts the writer thread.
 * queue_max (>= 1) is the bound sw_store_queue_full reports against; the store itself never refuses
 * a job for it (a spill closed by timeout must still be written): admission is the caller's
 * business (the engine refuses ingest batches). Returns NULL with a message in err on failure. */
struct sw_store *sw_store_open(const char *path, int queue_max, char *err, size_t errlen);
/* Opens target (a path or a postgresql:// URI), applies the migrations it lacks, closes: for a tool
 * that writes a database without a server (spillwatch migrate). 0, or -1 with a message in err. */
int sw_store_migrate(const char *target, char *err, size_t errlen);
/* Drains the queue, stops the writer thread, closes. Accepts NULL. */
void sw_store_close(struct sw_store *st);

/* Queue jobs; each steals what it is given (rec and its buffers; meta). w may be NULL.
 * Returns 0, or -1 when the store is closing (nothing queued, ownership not taken). */
int sw_store_commit_spill(struct sw_store *st, struct sw_spill_rec *rec, struct sw_store_wait *w);
/* time: the run_start record's time, which becomes the run's start; NaN when it has none (then now,
 * unless an earlier start is known). The run is no longer ended. resume: the DAQ goes on with a run
 * that had ended; its start stays. */
int sw_store_run_start(struct sw_store *st, int64_t run, double time, char *meta_json, int resume,
                       struct sw_store_wait *w);
int sw_store_run_end(struct sw_store *st, int64_t run, double time, struct sw_store_wait *w);
/* A spill was opened: in one transaction, gives its run a row (as sw_store_run_start without meta,
 * but an ended run stays ended)
 * and writes the open-spill marker (run, spill, source, seq, opened) that sw_store_each_open_spill
 * returns after a restart until the spill's commit deletes it. Nobody waits for it. source may be
 * NULL; it is copied. Returns 0, or -1 when the store is closing or out of memory. */
int sw_store_open_spill(struct sw_store *st, int64_t run, int64_t spill, const char *source, int64_t seq,
                        double opened);
/* Runs fn(db, ctx) on the writer thread inside one transaction (BEGIN IMMEDIATE; COMMIT when fn
 * returns 0, ROLLBACK otherwise) and waits for it. For the rare human writes (manual flags,
 * sign-off, re-evaluation) so that every write still goes through the one writer. Returns fn's
 * result, or -1 when the store is closing, the transaction itself failed, or it was refused
 * because the store is failed or retrying a failing write (sw_store_state). Not from the writer. */
int sw_store_call(struct sw_store *st, int (*fn)(sw_sql *db, void *ctx), void *ctx);

/* Like sw_store_call, without waiting for it: fn (NULL: nothing, which waits for the jobs queued
 * before it, as sw_store_sync) runs on the writer thread in its transaction, *result gets what
 * sw_store_call would return, and w is told (sw_store_wait_all, sw_store_wait_notify). Refused like
 * sw_store_call while a failing write is retried. ctx stays the caller's and must live until w is
 * told. For the human writes that must not hold an HTTP thread while they wait (defer.h). Returns
 * 0, or -1 when the store is closing (nothing queued, *result -1). */
int sw_store_call_queued(struct sw_store *st, int (*fn)(sw_sql *db, void *ctx), void *ctx, int *result,
                         struct sw_store_wait *w);

/* Like sw_store_call, without waiting: fn runs later on the writer thread, then free_ctx(ctx).
 * For writes nobody waits for (alarm transitions). Returns 0, or -1 when the store is closing
 * (free_ctx(ctx) has then been called). */
int sw_store_call_async(struct sw_store *st, int (*fn)(sw_sql *db, void *ctx), void *ctx,
                        void (*free_ctx)(void *));

/* Waits until every job queued before it has run (the queue is first in, first out): a reply that
 * follows an asynchronous write (a shifter's acknowledgement) is then read back by the next query.
 * Returns 0, or -1 when the store is closing. Not from the writer. */
int sw_store_sync(struct sw_store *st);

/* Frees a record that was not submitted. Accepts NULL. */
void sw_spill_rec_free(struct sw_spill_rec *rec);

/* The calling thread's read-only connection (opened on first use), NULL on failure. */
sw_sql *sw_store_reader(struct sw_store *st);

/* A new read-only connection of the caller's own, for a read that outlives its request handler
 * (a streamed answer, row_stream): any thread may use it, one at a time; sw_sql_close it. NULL on
 * failure. */
sw_sql *sw_store_reader_own(struct sw_store *st);

/* Whether spill (run, spill) is committed: 1 yes, 0 no, -1 the database could not be read. One
 * lookup by the spills' key through the calling thread's read-only connection (it never waits for
 * the writer: WAL). The engine asks it for a spill that is not open and not closed by this process
 * since its commit was confirmed (sw_store_on_spill_committed), so that neither start-up nor memory
 * grows with the stored history. */
int sw_store_spill_stored(struct sw_store *st, int64_t run, int64_t spill);
/* fn(ctx, run, spill) is called on the writer thread after each spill's commit succeeded (not for
 * one that failed), under the store's queue lock: it must be short and must not call the store. One
 * hook; fn NULL removes it (once this returns, fn is not running and is not called again). */
void sw_store_on_spill_committed(struct sw_store *st, void (*fn)(void *ctx, int64_t run, int64_t spill),
                                 void *ctx);

/* Start-up loaders (main thread, before serving): every source watermark. */
int sw_store_each_source(struct sw_store *st, void (*cb)(void *ctx, const char *source, int64_t seq),
                         void *ctx);
/* Every open-spill marker whose spill is not committed, oldest first (source NULL when none).
 * Reads through the calling thread's read-only connection. */
int sw_store_each_open_spill(struct sw_store *st,
                             void (*cb)(void *ctx, int64_t run, int64_t spill, const char *source,
                                        int64_t seq, double opened),
                             void *ctx);

/* Jobs queued and not yet finished (the one being written included). Any thread; a snapshot. */
int sw_store_queue_jobs(struct sw_store *st);
/* A counter the writer advances after every job it finished (commits, human writes, retention):
 * an answer computed from the database after reading generation g stays right while the
 * generation is still g (the histogram cache, hcache.h). Any thread. */
uint64_t sw_store_generation(struct sw_store *st);
/* Another server changed the database (a standby sees the active one's commits relayed, ha.h):
 * advances the generation, so that cached answers are computed again. Any thread. */
void sw_store_touch(struct sw_store *st);
/* The queue_max given to sw_store_open. */
int sw_store_queue_max(struct sw_store *st);
/* 1 when sw_store_queue_jobs >= sw_store_queue_max: the writer is behind (slow disk, a lock held
 * by another process) and new ingest should wait. Any thread. */
int sw_store_queue_full(struct sw_store *st);

/* Faults of the database or its disk (docs/deployment.md, "Disk full, read-only database, removed
 * database"). SW_STORE_DEGRADED: a write failed (disk full, read-only, I/O error, a lock held by
 * another process) and the writer retries it, or the free space under the database's directory is
 * below the reserve (sw_store_set_min_free); it ends by itself once a write succeeds and there is
 * space. SW_STORE_FAILED: the database file was removed or replaced under the running server;
 * nothing is written any more (every job fails at once) until a restart.
 *
 * The writer never drops a spill, run record or open-spill marker that fails: it retries it (1 s
 * doubling to 5 s) while the jobs queued behind it wait in order, except the human writes that wait
 * for their answer (sw_store_call, sw_store_sync): those are refused (-1) at once. A human write is
 * tried once, whole. After every write, and before its waiter is told, the writer checks that the
 * file it wrote is still the one at the path; a write to a moved file counts as failed. */
enum sw_store_state { SW_STORE_OK, SW_STORE_DEGRADED, SW_STORE_FAILED };
/* Any thread. The state now; reason (may be NULL) gets why, for answers and /health ("" when ok),
 * and *kind (may be NULL) one word: "ok", "disk_full", "read_only", "io_error", "locked", "error" or
 * "moved". Checks the free space (statvfs) and whether the path still names the open file. */
enum sw_store_state sw_store_state(struct sw_store *st, char *reason, size_t len, const char **kind);
/* 1 when sw_store_state is SW_STORE_OK. */
int sw_store_ok(struct sw_store *st);
/* The free-space reserve (store.min_free_mb) in bytes, 0 for none. Main thread, before serving. */
void sw_store_set_min_free(struct sw_store *st, uint64_t bytes);
/* Shutdown: from now on a failing write is not retried (its waiter is told it failed, the collector
 * resends it after the restart), so that stopping never waits for a full disk. Any thread. */
void sw_store_give_up(struct sw_store *st);
/* Bytes free under the database's directory for an unprivileged writer (statvfs f_bavail); -1 when
 * unknown. Any thread. */
long long sw_store_free_bytes(struct sw_store *st);
/* Times the state changed (degraded, failed, back to ok, below or above the reserve). */
uint64_t sw_store_fault_transitions(struct sw_store *st);
/* Counters for /metrics. */
uint64_t sw_store_commits(struct sw_store *st);
uint64_t sw_store_commit_failures(struct sw_store *st); /* attempts of spill, run and marker writes */
/* Sum of commit durations in seconds (for the mean commit time). */
double sw_store_commit_seconds(struct sw_store *st);

#endif
