/* engine.h — the ingest state machine (docs/design.md §6): open spills with their live histograms and
 * counters, the set of closed spills, collector sequence numbers; closes spills (checks, snapshot,
 * commit through the store) on spill_end or after spill_timeout without data.
 *
 * Threads: every function may be called from any thread; one mutex serialises the state. A
 * batch is validated against the state and then applied under that mutex, so it is atomic. The
 * spill_end commit is waited for outside the mutex.
 *
 * Profiles (see reload.h): each spill holds a reference to the profile current when it opened;
 * its histograms are that profile's and that profile judges it, with that profile's check
 * references (one set per profile still in use). A reload changes the profile of spills opened
 * afterwards only.
 *
 * Implemented by engine.c, sources.c, admit.c, spills.c and judge.c, which share the private state
 * of engine_impl.h.
 */
#ifndef SW_ENGINE_H
#define SW_ENGINE_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "store.h"
#include "wire.h"

struct sw_engine;

/* A collector instance id (X-Spillwatch-Instance): 1 to SW_INSTANCE_MAX of [A-Za-z0-9._-]. */
#define SW_INSTANCE_MAX 64

/* The timer contract: sw_engine_tick every SW_TICK s. A tick later than SW_TICK_LATE s after the
 * previous one means the process was paused: see sw_engine_tick. */
#define SW_TICK       1.0
#define SW_TICK_LATE  3.0
#define SW_TICK_GRACE 2.0
/* After the store refused ingest: longer than the Retry-After of its refusals (5 s) plus the
 * collector's jitter and its watermark read, so that the refused batches are back first. */
#define SW_HOLD_GRACE 10.0

struct sw_ingest_result {
    int duplicate;            /* seq <= the source's last applied seq: nothing changed */
    uint64_t records, events; /* applied */
    int spills_closed;
    unsigned retry_after;              /* s, with SW_EFULL: when the collector should resend the same batch */
    int line;                          /* line of the offending record for 409 */
    int64_t resend_from;               /* with SW_EGAP: the first seq the server lacks */
    int held;                          /* with SW_EHELD: another instance holds the source ... */
    char held_by[SW_INSTANCE_MAX + 1]; /* ... this one, */
    double held_idle;                  /* its last batch this many s ago */
    char error[400];
};

/* Creates the engine; loads closed spills, source watermarks, check references and the open-spill
 * markers from the store (call before the store is shared with other threads). Each marker becomes
 * an empty open spill whose timeout starts now: resent data fills it as any open spill; without
 * data for spill_timeout it closes as incomplete, "lost in a server restart and not resent".
 * Borrows cfg, store and alarms (may be NULL; each closed spill is handed to it), which must
 * outlive it. NULL on out of memory. */
struct sw_alarms;
struct sw_engine *sw_engine_new(const struct sw_config *cfg, struct sw_profile *prof, struct sw_store *store,
                                struct sw_alarms *alarms, int standby);
/* (prof: the current profile; the engine takes its own reference.) standby: a server that shares its
 * PostgreSQL database with an active one (ha.h) loads no sources and no open spills (it takes no
 * ingest) until sw_engine_promote. */

/* This server became the active one (ha.h): loads what a restarted server loads (the collectors'
 * watermarks, the open-spill markers, signed-off and ended runs) and the check references afresh,
 * as the active server left them in the database. 0, or -1 (out of memory, the database). Any
 * thread but the engine's callers under its mutex; before ingest is taken. */
int sw_engine_promote(struct sw_engine *e);

/* Profile reload: spills opened from now on use p (the engine takes a reference) and are judged
 * with refs (the check references of p, built by the caller with sw_refs_new; ownership passes to
 * the engine). Open spills keep their profile until they close. 0, or SW_ENOMEM (nothing changed,
 * refs freed). */
struct sw_refs;
int sw_engine_set_profile(struct sw_engine *e, struct sw_profile *p, struct sw_refs *refs);

/* Marks run signed off (1) or re-opened (0): data that would open a spill of a signed-off run is
 * refused (409, like late data). Loaded from the database at start. 0, or SW_ENOMEM. */
int sw_engine_set_signed(struct sw_engine *e, int64_t run, int signed_off);

/* The baselines of run are to be rebuilt from the database at its next closed spill (a reset was
 * stored: rebaseline.h). */
void sw_engine_rebaseline(struct sw_engine *e, int64_t run);

/* Open spills that were opened with another profile than the current one. */
int sw_engine_open_with_older(struct sw_engine *e);
/* Every spill closed from now on (spill_end or timeout) is also published as a `spill` event on
 * stream (borrowed, may be NULL). Call before serving. */
struct sw_stream;
void sw_engine_set_stream(struct sw_engine *e, struct sw_stream *stream);

/* Closes nothing and frees: open spills lose their data (docs/design.md §6.5), their markers stay and reopen
 * them at the next start. Accepts NULL. */
void sw_engine_free(struct sw_engine *e);

/* Applies a parsed batch atomically. source may be NULL (no idempotency); seq is used only with a
 * source. instance (X-Spillwatch-Instance, NULL when not sent) is the collector instance: it takes
 * the source, or is refused with SW_EHELD (409, nothing applied, seq not advanced) while another
 * instance sent a batch for the source within limits.source_lease s and did not release it, or when
 * it takes the source over with a seq not above the last applied one (before the duplicate test: a
 * second collector on a source id is told, not answered "duplicate"). fields: the layout the batch was parsed
 * with (the fields of the profile the request read); rows go to spills of a profile with other fields by
 * field name (NULL: the same layout). Returns 0 with res filled (applied or duplicate), or an sw_err_t with
 * res->error (its HTTP status is sw_err_http_status of the code, err.h): SW_EFULL (503 with res->retry_after:
 * the store's writer queue is full, nothing applied and the source's seq not advanced; a duplicate is still
 * answered as one), SW_ECLOSED (409, data for a closed spill: nothing applied, counted as late; also a
 * run_start of a run that ended, without "resume": true), SW_ETOOBIG (413: the batch alone opens more spills
 * than limits.open_spills_max, open_spills_per_source or open_spill_memory allow), SW_ELIMIT (429 with
 * res->retry_after: with the spills already open it would exceed one of them), SW_EHELD, SW_EDB (a spill
 * commit failed). Nothing is applied on any error but SW_EDB.
 *
 * In two steps, so that an HTTP thread need not block while a commit runs: sw_engine_ingest applies
 * the batch and queues the commits of the spills it closed (and of its run_start/run_end records)
 * on w (sw_store_wait_init'ed by the caller, released by it afterwards); once they are all done
 * (sw_store_wait_all, or sw_store_wait_notify), sw_engine_ingest_finish takes the result of
 * sw_engine_ingest and gives the final one. The batch is answered only after that.
 *
 * pre (may be NULL): the batch's histogram fills done beforehand, outside the mutex
 * (prefill.h); a part of it is added to its spill when the spill has pre's profile, the events
 * outside its parts (or of a spill of another profile) are filled here. */
struct sw_prefill;
int sw_engine_ingest(struct sw_engine *e, const char *source, const char *instance, int64_t seq,
                     const struct sw_batch *b, const struct sw_fields *fields, const struct sw_prefill *pre,
                     struct sw_ingest_result *res, struct sw_store_wait *w);
int sw_engine_ingest_finish(struct sw_engine *e, const char *source, int64_t seq, int rc,
                            struct sw_ingest_result *res, struct sw_store_wait *w);

/* Closes, as incomplete, every open spill without data for spill_timeout seconds. Called every
 * SW_TICK s by the server's timer thread. The timeout counts the time the server ran: a tick more
 * than SW_TICK_LATE s after the previous one (the process was stopped, or starved) moves every open
 * spill's last data forward by the lost time and closes nothing for SW_TICK_GRACE s, so the batches
 * that queued on the connections meanwhile are read first. Likewise, while the store refuses ingest
 * (sw_store_state not ok, or its writer queue full: the collectors are told to resend later) the
 * timeouts stand still, and for SW_HOLD_GRACE s after it. */
void sw_engine_tick(struct sw_engine *e);

/* Histogram of the live spill (the most recently fed open spill, else the last closed one) in the
 * serving format plus "scope":"live","run","spill","open". New reference; NULL when the profile
 * has no histogram of that name. */
json_t *sw_engine_live_hist(struct sw_engine *e, const char *name);

/* The same histogram (an empty one when there is no spill yet) handed to conv under the engine's
 * lock (conv must not call back into the engine); returns what conv returns, NULL when the profile
 * has no histogram of that name. name NULL: a JSON array of conv of every histogram of the live
 * spill's profile, all of the same spill. *run and *spill get the live spill (-1 for none). */
struct sw_hist;
json_t *sw_engine_live_hist_as(struct sw_engine *e, const char *name, json_t *(*conv)(const struct sw_hist *),
                               int64_t *run, int64_t *spill);

/* The open spill of a run as {"spill","events","started","last_data"}, or NULL (new reference). */
json_t *sw_engine_run_live(struct sw_engine *e, int64_t run);

/* Last applied seq of a source, or -1 when no batch of it was ever applied (or loaded). */
int64_t sw_engine_source_seq(struct sw_engine *e, const char *source);

/* The collector instance that holds source: copies it to out (SW_INSTANCE_MAX + 1 bytes; "" for
 * none, or released) and returns the s since its last batch (NaN for none). */
double sw_engine_source_holder(struct sw_engine *e, const char *source, char *out);

/* instance gives up source (a collector that stops cleanly): another instance may take it at
 * once. 0, or SW_EHELD when another instance holds it (nothing changed). */
int sw_engine_source_release(struct sw_engine *e, const char *source, const char *instance);

/* Records what a collector reported with an ingest request (headers X-Spillwatch-Lag-Bytes and
 * X-Spillwatch-Lag-Seconds): lag_bytes < 0 and a NaN lag_seconds mean "not reported" and leave the
 * previous value. Called before the batch is judged, so the report counts even when the batch is
 * refused (409, 503). Returns 0, or SW_ENOMEM (nothing recorded). */
int sw_engine_source_report(struct sw_engine *e, const char *source, int64_t lag_bytes, double lag_seconds);

/* One collector source as /metrics shows it. */
struct sw_source_info {
    char name[128];
    int64_t seq;           /* last applied seq; 0 when none (known from lag reports only) */
    int64_t committed_seq; /* last seq durable with a spill; 0 when none */
    double age;            /* s since the last batch answered 200 (applied or duplicate); NaN: none
                            * since start-up */
    int64_t lag_bytes;     /* last reported; -1 when never reported since start-up */
    double lag_seconds;    /* last reported; NaN when never reported since start-up */
};
/* A snapshot of every known source: *out is malloc'ed (caller frees; NULL when there is none).
 * Returns how many, or -1 on out of memory (*out NULL). */
int sw_engine_sources(struct sw_engine *e, struct sw_source_info **out);

/* Samples what the live alarm rules and /metrics read (struct sw_live in alarms.h): the live spill
 * (as sw_engine_live_hist picks it) and whether it is open, triggers accepted so far, the time of
 * the last data, whether a run is going on and whether the last closed spill had beam. */
struct sw_live;
void sw_engine_live(struct sw_engine *e, struct sw_live *live);

/* Runs that have an open spill, appended to arr as integers (for run listings). */
void sw_engine_open_runs(struct sw_engine *e, json_t *arr);

#endif
