/* engine_impl.h — the engine's state, private to the engine's files (engine.c, sources.c, admit.c,
 * spills.c, judge.c); nothing else includes it. Their parts:
 *
 *   engine.c   the public entry points of engine.h: start-up (loading the state from the store),
 *              profile reloads, applying an admitted batch, the live views
 *   sources.c  the source table: seq watermarks, committed seqs, lag reports, collector instances
 *   admit.c    whether a batch may be applied (dedup, gap, back-pressure, closed spills, ended and
 *              signed-off runs, open-spill limits), and the spills it opens
 *   spills.c   the spill lifecycle: open spills and their map, the closed set, closing, timeouts
 *   judge.c    the verdict on a closing spill: its references, checks, alarms, record, stream event
 *
 * They call each other in one direction only: engine calls the four others; admit calls sources and
 * spills; spills calls judge; sources and judge call none of them.
 *
 * Threads and locks: one mutex, e->mu, serialises everything in struct sw_engine. Every function
 * declared in the private headers (sources.h, admit.h, spills.h, judge.h) is called with e->mu held
 * unless its comment says otherwise; only engine.c and the public functions of sources.c and
 * spills.c (sw_engine_*) take it. Nothing waits for the store's writer under it; admitting a batch
 * that opens a spill reads the database once for it (an indexed lookup on the calling thread's
 * read-only connection, which WAL never makes wait for the writer). e->closed_mu (the closed set)
 * nests inside e->mu; the writer thread takes it alone.
 */
#ifndef SW_ENGINE_IMPL_H
#define SW_ENGINE_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "engine.h"
#include "event.h"

/* An open spill (or the last closed one, kept for the live view). Owned by the engine's open set
 * (e->open, e->omap) or by e->last_closed; freed by eng_spill_free. */
struct spill {
    int64_t run, spill;
    double started, ended;        /* Unix s from the records (NaN when absent) */
    double first_wall, last_wall; /* Unix s when data arrived */
    double last_mono;             /* CLOCK_MONOTONIC s of the last data, for the timeout */
    uint64_t events, trig[SW_TRIG_N], unknown_fields;
    struct sw_profile *prof; /* a reference: the profile the spill was opened with, which judges it */
    struct sw_hist *hists;   /* one per histogram of prof */
    size_t bytes;            /* what it holds in memory (limits.open_spill_memory) */
    int src;                 /* index in sources of the source whose batch opened it; -1: none */
    int restored;            /* recreated from its marker at start-up and no data since */
};

/* A collector source (X-Spillwatch-Source). The table only grows: an index stays valid. */
struct source {
    char name[128];
    int64_t seq;           /* last applied; 0: none (a source known from lag reports only) */
    int watermark;         /* seq is a watermark (applied, loaded, or before an open-spill marker): the
                            * next batch must be seq + 1 (0: known from lag reports only) */
    int64_t committed_seq; /* last seq committed with a spill (loaded, then after each commit) */
    double last_mono;      /* sw_mono() of the last batch answered 200; NaN: none since start */
    int64_t lag_bytes;     /* collector-reported lag; -1 / NaN: not reported since start */
    double lag_seconds;
    int nopen;                          /* open spills its batches opened (limits.open_spills_per_source) */
    char instance[SW_INSTANCE_MAX + 1]; /* the collector instance of its last batch ("": none) */
    double instance_mono;               /* sw_mono() of that batch */
    int released;                       /* that instance gave the source up */
};

/* Set of (run, spill) pairs: open addressing, linear probing; load factor <= 1/2. Zeroed = empty;
 * free keys to release. */
struct pairset {
    int64_t *keys; /* 2 per slot; run == -1 marks an empty slot */
    size_t cap, n;
};

/* The check references of one profile: a spill is judged with those of its own profile. */
struct refset {
    struct sw_profile *prof; /* a reference */
    struct sw_refs *refs;
};

struct sw_engine {
    const struct sw_config *cfg;
    struct sw_profile *prof; /* a reference: the current profile, which new spills are opened with */
    struct sw_store *store;
    pthread_mutex_t mu;
    struct spill **open; /* [0..nopen), in no order */
    int nopen, capopen;
    struct spill **omap; /* the open spills by (run, spill): open addressing, load factor <= 1/2 */
    size_t omap_cap;
    size_t open_bytes;         /* sum of their bytes */
    struct spill *last_closed; /* kept for the live view between spills */
    /* The spills this process closed whose commit is not confirmed yet (queued, retried, or failed
     * for good): the store's hook (eng_spill_committed) takes each one out once it is committed, and
     * from then on the database answers (eng_spill_closed). So it holds about what the writer's queue
     * holds, and nothing is loaded at start-up. Under closed_mu: taken inside mu, or alone by the
     * writer thread. */
    pthread_mutex_t closed_mu;
    struct pairset closed;
    struct source *sources;
    int nsources, capsources;
    struct refset *refsets; /* [0..nrefsets): the current profile's and those of open spills */
    int nrefsets;
    struct sw_alarms *alarms; /* borrowed; may be NULL */
    struct sw_stream *stream; /* borrowed; may be NULL */
    /* For the live alarm rules (sw_engine_live). */
    uint64_t triggers[SW_TRIG_N]; /* events accepted since start, by trigger type */
    double last_data;             /* Unix s of the last accepted record, NaN before any */
    int64_t last_run;             /* run of the last data */
    int run_active;               /* last_run has not ended (no run_end for it since) */
    int last_beam;                /* the last closed spill had beam: 1, 0; -1 unknown */
    int64_t meta_run;             /* the run of the last run_start, -1 before any */
    int64_t *signed_runs;         /* runs signed off: no new spills (sw_engine_set_signed) */
    int nsigned, capsigned;
    struct pairset ended; /* (run, 0) of every run with a run_end and no resume since */
    double last_tick;     /* sw_mono() of the last sw_engine_tick (at first: of the start) */
    double grace_until;   /* no timeout closes before this sw_mono() (a late timer) */
    int holding;          /* the last tick found the store refusing ingest */
    json_t *meta;         /* its meta (a reference), or NULL: the baselines match runs on it */
    int load_failed;      /* start-up: out of memory while loading */
};

#endif
