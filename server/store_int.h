/* store_int.h — internal to the store's own files; nothing else includes it. The public side, and
 * the contract of every function, is store.h (docs/design.md §11).
 *
 * The store is one module in four files; calls go down only:
 *   store_open.c   opening (directory, pragmas, migrations), closing, the per-thread read-only
 *                  connections, the start-up loaders; starts the writer thread of store.c
 *   store.c        the job queue and the writer thread: submit, the waits, sw_store_call*,
 *                  sw_store_sync, retries and their backoff, the queue and commit counters
 *   store_write.c  the writes themselves: the prepared statements, one attempt of each kind of job
 *                  (a spill, a run record, an open-spill marker, a human write), sw_spill_rec_free
 *   store_fault.c  the fault state: degraded and failed, the moved-file check, the free-space
 *                  reserve, sw_store_state, the probe write
 * store_open.c calls the three others, store.c calls store_write.c and store_fault.c,
 * store_write.c calls store_fault.c, and store_fault.c calls none of them.
 *
 * Threads: the writer connection (db), the prepared statements, err_code/err_msg and checkpointed
 * are the writer thread's alone once sw_store_open has returned; the queue is under mu; the fault
 * reason and kind under fault_mu; the rest is atomic (store.h says which function any thread may
 * call).
 */
#ifndef SW_STORE_INT_H
#define SW_STORE_INT_H

#include <stdatomic.h>
#include <sys/types.h>

#include "store.h"

enum job_kind { JOB_SPILL, JOB_RUN_START, JOB_RUN_END, JOB_OPEN_SPILL, JOB_CALL };

struct job {
    enum job_kind kind;
    struct sw_spill_rec *rec;
    int64_t run, spill; /* spill: JOB_OPEN_SPILL */
    double time;
    char *meta;                       /* JOB_RUN_START */
    int resume;                       /* JOB_RUN_START: the DAQ goes on with an ended run */
    char *source;                     /* JOB_OPEN_SPILL; may be NULL */
    int64_t seq;                      /* JOB_OPEN_SPILL: the seq of the batch that opened it */
    int (*fn)(sw_sql *db, void *ctx); /* JOB_CALL */
    void *ctx;
    int *result;                 /* NULL for an asynchronous call */
    void (*free_ctx)(void *ctx); /* asynchronous call: frees ctx afterwards */
    struct sw_store_wait *wait;
    struct job *next;
};

struct sw_store {
    char path[4096]; /* the file's path or the PostgreSQL URI */
    char name[512];  /* path, or the URI without its password: for messages */
    sw_sql *db;      /* writer connection: only the writer thread uses it after open */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    int stopping;
    int queue_max;
    atomic_int jobs; /* queued or being written: incremented by enqueue, decremented when done */
    pthread_key_t reader_key;
    sw_stmt *ins_run, *upd_run_start, *upd_run_end, *ins_spill, *ins_hist, *ins_check, *up_source;
    sw_stmt *ins_open, *del_open;
    /* Faults (store.h, sw_store_state). wstate: the writer's own state (OK, DEGRADED while a write
     * fails and is retried, FAILED once the file moved), set by the writer (FAILED also by any
     * thread that sees the move); its reason and kind under fault_mu. */
    atomic_int wstate;
    atomic_int low_space;          /* 1 while the free space is below min_free (logged on changes) */
    atomic_uint_fast64_t min_free; /* bytes; 0: no reserve */
    atomic_int giving_up;          /* shutting down: a failing write is not retried */
    atomic_uint_fast64_t transitions;
    pthread_mutex_t fault_mu;
    char reason[512];
    const char *kind;
    double degraded_since; /* sw_mono() of the first failure of the current degraded spell */
    int checkpointed;      /* writer: the moved file got the WAL's content */
    dev_t dev;             /* the database file as opened (moved-file check from any thread) */
    ino_t ino;
    char dir[4096]; /* its directory, for statvfs */
    int err_code;   /* writer: the SQLite error of the last failed write */
    char err_msg[256];
    atomic_uint_fast64_t commits, failures;
    atomic_uint_fast64_t generation; /* writer jobs done: the data readers see changed */
    _Atomic double commit_seconds;
    void (*on_committed)(void *ctx, int64_t run, int64_t spill); /* sw_store_on_spill_committed */
    void *on_committed_ctx;
};

/* ---- store.c ---- */

/* The writer thread's body (started by sw_store_open with the store as arg): runs the jobs first
 * in, first out until the store is stopping and the queue is drained. */
void *sw_store_writer_main(void *arg);

/* ---- store_write.c (writer thread, except prepare/finalize: sw_store_open/close) ---- */

/* Prepares the writer's statements on s->db; -1 (logged) on failure. */
int sw_store_prepare_all(struct sw_store *s);
/* Finalizes them (each set to NULL). */
void sw_store_finalize_all(struct sw_store *s);
/* One attempt of job j, in its own transaction (a run record: one statement); 0 when written. A
 * failure leaves its SQLite error in s->err_code/err_msg (sw_store_note_error). A JOB_CALL also
 * sets *j->result (when not NULL) to fn's result, or -1. */
int sw_store_attempt(struct sw_store *s, struct job *j);

/* ---- store_fault.c ---- */

/* Writer thread: keeps the SQLite error of a failed write (before its ROLLBACK) in s->err_code and
 * s->err_msg; logs it, prefixed by what, only while the store was fine until now. */
void sw_store_note_error(struct sw_store *s, const char *what);
/* Writer thread: 1 when the database file moved (SQLite's own check and the inode/device check);
 * enters the failed state then. */
int sw_store_writer_moved(struct sw_store *s);
/* Writer thread, once failed: checkpoints the WAL into the moved file, once. */
void sw_store_failed_checkpoint(struct sw_store *s);
/* Writer thread (and sw_store_open before the thread starts): a write failed with s->err_code; the
 * store is degraded unless it is failed. */
void sw_store_enter_degraded(struct sw_store *s);
/* Writer thread: a write succeeded; back to ok when it was degraded. */
void sw_store_leave_degraded(struct sw_store *s);
/* 1 when the SQLite error code is one of the database or its disk, not of the statement. */
int sw_store_environmental(int code);
/* Writer thread, degraded with no write of its own to retry: a small real write (the schema
 * version, unchanged); 0 when writes work again. */
int sw_store_probe(struct sw_store *s);

#endif
