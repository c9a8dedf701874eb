/* admit.h — the engine's admission of a batch (engine-private; engine_impl.h has the state): whether
 * a parsed batch may be applied, decided against the state before anything of it is (docs/design.md
 * §6.2, §6.4, §6.6): the collector instance holding its source, duplicates and gaps of its seq, the
 * store's back-pressure, data for closed spills, run_start for ended runs, new spills of signed-off
 * runs, the open-spill limits. On success it has allocated the spills the batch opens; engine.c
 * puts them in the open set and applies the batch. The signed-off runs live here
 * (sw_engine_set_signed, engine.h).
 *
 * Threads: eng_admit and eng_set_signed are called with e->mu held; eng_admit_release without it.
 * Ownership: struct eng_admission owns the fresh spills until the caller takes one (and sets its
 * slot to NULL); eng_admit_release frees the rest.
 */
#ifndef SW_ADMIT_H
#define SW_ADMIT_H

#include "engine_impl.h"

/* What a batch does to the open spills, gathered while it is validated (hash sets: a batch of many
 * records stays linear). */
struct batch_spills {
    struct pairset fresh;    /* spills it opens */
    struct pairset ends;     /* spills its spill_end records close */
    struct pairset run_ends; /* (run, 0) of its run_end records */
    int closed_fresh;        /* fresh spills it also closes */
    int closed_src;          /* open spills of its source it closes */
};

struct eng_admission {
    struct spill **fresh; /* [0..nfresh): the spills it opens, in the order it opens them, each with
                           * src set; not in the open set */
    int nfresh;
    struct batch_spills bs;
};

/* Decides whether batch b (with source, instance and seq as in sw_engine_ingest) may be applied.
 * SW_OK with *a filled: apply it; or SW_OK with res->duplicate set: a duplicate (the source's
 * last_mono touched), apply nothing. Otherwise the error of sw_engine_ingest (SW_EHELD, SW_EGAP,
 * SW_EFULL, SW_ECONFLICT, SW_ECLOSED, SW_ETOOBIG, SW_ELIMIT, SW_ENOMEM) with res->error filled
 * (SW_ENOMEM: by sw_engine_ingest_finish); the HTTP status is that of the code (err.h).
 * A refusal for good (409 for closed spills, ended or signed-off runs) moves the source's seq past
 * seq; nothing else changes on a refusal. *a must be zeroed before; release it in every case. */
int eng_admit(struct sw_engine *e, const char *source, const char *instance, int64_t seq,
              const struct sw_batch *b, struct sw_ingest_result *res, struct eng_admission *a);
void eng_admit_release(struct eng_admission *a);

/* Adds (signed_off 1) or removes run from the signed-off runs. 0, or -1 on out of memory. */
int eng_set_signed(struct sw_engine *e, int64_t run, int signed_off);

#endif
