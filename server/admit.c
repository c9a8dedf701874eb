/* admit.c — see admit.h */
#include "admit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "metrics.h"
#include "sources.h"
#include "spills.h"
#include "store.h"

void eng_admit_release(struct eng_admission *a)
{
    for (int k = 0; a->fresh && k < a->nfresh; k++)
        eng_spill_free(a->fresh[k]);
    free(a->fresh);
    free(a->bs.fresh.keys);
    free(a->bs.ends.keys);
    free(a->bs.run_ends.keys);
    a->fresh = NULL;
    a->nfresh = 0;
}

/* ---- signed-off runs ---- */

int eng_set_signed(struct sw_engine *e, int64_t run, int signed_off)
{
    int k = 0;
    while (k < e->nsigned && e->signed_runs[k] != run)
        k++;
    if (!signed_off) {
        if (k < e->nsigned)
            e->signed_runs[k] = e->signed_runs[--e->nsigned];
        return 0;
    }
    if (k < e->nsigned)
        return 0;
    if (e->nsigned == e->capsigned) {
        int cap = e->capsigned ? 2 * e->capsigned : 64;
        int64_t *g = realloc(e->signed_runs, (size_t)cap * sizeof *g);
        if (!g)
            return -1;
        e->signed_runs = g;
        e->capsigned = cap;
    }
    e->signed_runs[e->nsigned++] = run;
    return 0;
}

static int is_signed(const struct sw_engine *e, int64_t run)
{
    for (int k = 0; k < e->nsigned; k++)
        if (e->signed_runs[k] == run)
            return 1;
    return 0;
}

int sw_engine_set_signed(struct sw_engine *e, int64_t run, int signed_off)
{
    pthread_mutex_lock(&e->mu);
    int rc = eng_set_signed(e, run, signed_off);
    pthread_mutex_unlock(&e->mu);
    return rc == 0 ? 0 : SW_ENOMEM;
}

/* ---- checks against the state ---- */

/* run has ended: a run_end for it, before or earlier in this batch. */
static int run_ended(const struct sw_engine *e, int64_t run, const struct batch_spills *bs)
{
    return eng_pairset_has(&e->ended, run, 0) || eng_pairset_has(&bs->run_ends, run, 0);
}

/* A batch refused for good at line (late data, a signed-off run): 409, and since the collector goes
 * on with the next seq, which must not look like a gap, the source's seq moves past this one. */
static void refused_for_good(struct sw_engine *e, struct sw_ingest_result *res, int line, const char *source,
                             int64_t seq)
{
    res->line = line;
    struct source *src = source ? eng_source_add(e, source, seq) : NULL;
    if (src && src->seq < seq) {
        src->seq = seq;
        src->watermark = 1;
    }
}

/* Why a batch cannot open its spills (SW_OK when it can): SW_ETOOBIG (413: the batch alone is
 * beyond a limit, it can never be applied) or SW_ELIMIT (429: beyond it together with the spills
 * already open; Retry-After is when the first of them times out). The memory is that of every
 * spill the batch opens, held at once while it is applied (fresh: how many, each: their size); the
 * counts are those of the spills left open after it (own: of those it opens, stay: in all,
 * stay_src: of its source). src: the batch's source or NULL. */
static int open_limits(struct sw_engine *e, const struct source *src, int fresh, size_t each, int own,
                       int stay, int stay_src, const struct sw_record *r, struct sw_ingest_result *res)
{
    const struct sw_config *c = e->cfg;
    double mb = 1024.0 * 1024.0;
    res->line = r->line;
    if (own > c->open_spills_max || (src && own > c->open_spills_per_source) ||
        (size_t)fresh * each > c->open_spill_memory) {
        snprintf(
            res->error, sizeof res->error,
            "line %d: this batch opens more spills than the server keeps open (%d new, %d left open "
            "after it, %.0f kB of histograms each; limits.open_spills_max %d, open_spills_per_source %d, "
            "open_spill_memory %.0f MB); nothing applied: send each spill in batches of its own",
            r->line, fresh, own, (double)each / 1024.0, c->open_spills_max, c->open_spills_per_source,
            (double)c->open_spill_memory / mb);
        return SW_ETOOBIG;
    }
    const char *what = NULL;
    if (stay > c->open_spills_max)
        what = "open_spills_max";
    else if (src && stay_src > c->open_spills_per_source)
        what = "open_spills_per_source";
    else if (e->open_bytes + (size_t)fresh * each > c->open_spill_memory)
        what = "open_spill_memory";
    if (!what)
        return SW_OK;
    double now = sw_mono(), wait = c->spill_timeout;
    int per_source = !strcmp(what, "open_spills_per_source");
    for (int i = 0; i < e->nopen; i++)
        if (!per_source || e->open[i]->src == (int)(src - e->sources))
            wait = fmin(wait, c->spill_timeout - (now - e->open[i]->last_mono));
    res->retry_after = (unsigned)fmax(1, ceil(wait));
    snprintf(res->error, sizeof res->error,
             "line %d: run %lld spill %lld: one open spill too many (%d open, %d of them from this source, "
             "%.0f MB of %.0f MB; limits.%s): nothing applied; resend after Retry-After seconds, when open "
             "spills have ended or timed out",
             r->line, (long long)r->run, (long long)r->spill, e->nopen, src ? src->nopen : 0,
             (double)e->open_bytes / mb, (double)c->open_spill_memory / mb, what);
    return SW_ELIMIT;
}

/* The seq of the batch: held by another instance, a duplicate, or a gap. */
static int admit_seq(struct sw_engine *e, const char *source, const char *instance, int64_t seq,
                     struct sw_ingest_result *res)
{
    int rc;
    /* Before the duplicate test: a second collector on the same source id sends seqs the first
     * one sent already, and must hear so, not "duplicate". */
    if ((rc = eng_source_hold(e, source, instance, seq, res)) != SW_OK) {
        return rc;
    }
    struct source *src = eng_source_find(e, source);
    if (src && seq <= src->seq) {
        src->last_mono = sw_mono();
        res->duplicate = 1;
        atomic_fetch_add(&sw_metrics.ingest_duplicates, 1);
        return SW_OK;
    }
    /* A collector hands out seq n+1 only once seq n was answered, so a gap means applied batches
     * were lost: a server restart dropped the open spill, and the collector did not notice (its
     * connection broke between two requests). Applying this batch would commit the spill without
     * them; the collector must read the watermark and resend from the first missing batch. */
    if (src && src->watermark && seq > src->seq + 1) {
        res->resend_from = src->seq + 1;
        snprintf(res->error, sizeof res->error,
                 "seq %lld does not follow the last applied seq %lld of source \"%s\": seq %lld-%lld are "
                 "missing (lost in a server restart?); nothing applied: read GET /api/v1/sources/%s and "
                 "resend from seq %lld",
                 (long long)seq, (long long)src->seq, source, (long long)src->seq + 1, (long long)seq - 1,
                 source, (long long)src->seq + 1);
        return SW_EGAP;
    }
    return SW_OK;
}

int eng_admit(struct sw_engine *e, const char *source, const char *instance, int64_t seq,
              const struct sw_batch *b, struct sw_ingest_result *res, struct eng_admission *a)
{
    int rc;
    struct batch_spills *bs = &a->bs;
    if (source && ((rc = admit_seq(e, source, instance, seq, res)) != SW_OK || res->duplicate))
        return rc;

    /* Back-pressure: with the writer behind, refuse before anything is applied. Under the engine
     * mutex, so concurrent batches cannot all slip past the same free slot; the timer thread and
     * human writes may still queue beyond the bound (they are few and must not be lost). */
    if (sw_store_queue_full(e->store)) {
        res->retry_after = 1;
        snprintf(res->error, sizeof res->error,
                 "writer queue full (%d jobs): nothing applied; resend the same batch with the same seq "
                 "after Retry-After seconds",
                 sw_store_queue_jobs(e->store));
        return SW_EFULL;
    }

    /* Validate against the state: nothing for a closed spill, no run_start for an ended run, no new
     * spill beyond the open-spill limits. */
    if (!(a->fresh = calloc(b->nrecs + 1, sizeof *a->fresh)))
        return SW_ENOMEM;
    size_t each_bytes = 0;                /* of a new spill, computed at the first one */
    const struct sw_record *first = NULL; /* the first record of a new spill, named by a refusal */
    struct source *src = NULL;
    if (source && !(src = eng_source_add(e, source, 0)))
        return SW_ENOMEM;
    for (size_t i = 0; i < b->nrecs; i++) {
        const struct sw_record *r = &b->recs[i];
        if (r->type == SW_REC_RUN_END && eng_pairset_add(&bs->run_ends, r->run, 0) != 0)
            return SW_ENOMEM;
        if (r->type == SW_REC_RUN_START && !r->resume && run_ended(e, r->run, bs)) {
            refused_for_good(e, res, r->line, source, seq);
            snprintf(res->error, sizeof res->error,
                     "line %d: run %lld has ended (a run_end was received): a run_start for it must say "
                     "\"resume\": true when the DAQ goes on with the run; nothing in this batch applied",
                     r->line, (long long)r->run);
            return SW_ECONFLICT;
        }
        if (r->spill < 0)
            continue;
        struct spill *sp = eng_find_open(e, r->run, r->spill);
        int open = sp != NULL;
        int is_fresh = !open && eng_pairset_has(&bs->fresh, r->run, r->spill);
        /* Closed by a spill_end earlier in this batch, or before: a spill neither open nor opened
         * by this batch is asked of the closed set and the database, once per batch. */
        int closed = eng_pairset_has(&bs->ends, r->run, r->spill);
        if (!closed && !open && !is_fresh && (closed = eng_spill_closed(e, r->run, r->spill)) < 0) {
            res->line = r->line;
            res->retry_after = 1;
            snprintf(res->error, sizeof res->error,
                     "line %d: whether run %lld spill %lld is stored could not be read (database "
                     "unavailable); nothing applied; resend the same batch after Retry-After seconds",
                     r->line, (long long)r->run, (long long)r->spill);
            return SW_EUNAVAILABLE;
        }
        if (closed) {
            uint64_t late = 0;
            for (size_t k = 0; k < b->nrecs; k++)
                if (b->recs[k].run == r->run && b->recs[k].spill == r->spill &&
                    b->recs[k].type == SW_REC_EVENTS)
                    late += b->recs[k].nevents;
            atomic_fetch_add(&sw_metrics.late_records, 1);
            atomic_fetch_add(&sw_metrics.late_events, late);
            refused_for_good(e, res, r->line, source, seq);
            snprintf(res->error, sizeof res->error,
                     "line %d: run %lld spill %lld is already closed; %llu late events "
                     "rejected, nothing in this batch applied",
                     r->line, (long long)r->run, (long long)r->spill, (unsigned long long)late);
            return SW_ECLOSED;
        }
        if (!open && is_signed(e, r->run)) {
            /* Certified data does not change: refused for good, like late data. */
            refused_for_good(e, res, r->line, source, seq);
            snprintf(res->error, sizeof res->error,
                     "line %d: run %lld is signed off: no new spills (a shifter re-opens it first: POST "
                     "/api/v1/runs/%lld/reopen); nothing in this batch applied",
                     r->line, (long long)r->run, (long long)r->run);
            return SW_ECLOSED;
        }
        if (!open && !is_fresh) {
            if (!each_bytes)
                each_bytes = eng_spill_bytes(e->prof);
            if (!first)
                first = r;
            /* The memory limit before the allocation; the counts once the batch is read whole. */
            if (e->open_bytes + (size_t)(a->nfresh + 1) * each_bytes > e->cfg->open_spill_memory &&
                (rc = open_limits(e, src, a->nfresh + 1, each_bytes, 0, 0, 0, r, res)) != SW_OK)
                return rc;
            if (eng_pairset_add(&bs->fresh, r->run, r->spill) != 0 ||
                !(a->fresh[a->nfresh] = eng_spill_new(e->prof, r->run, r->spill)))
                return SW_ENOMEM;
            a->fresh[a->nfresh++]->src = src ? (int)(src - e->sources) : -1;
            is_fresh = 1;
            /* More of its own spills open at once than a limit allows: refused now, before it
             * allocates more (a body of 20,000 spill_start lines stops at the 65th). */
            int own = a->nfresh - bs->closed_fresh;
            if ((own > e->cfg->open_spills_max || (src && own > e->cfg->open_spills_per_source)) &&
                (rc = open_limits(e, src, a->nfresh, each_bytes, own, 0, 0, r, res)) != SW_OK)
                return rc;
        }
        if (r->type == SW_REC_SPILL_END) {
            if (eng_pairset_add(&bs->ends, r->run, r->spill) != 0)
                return SW_ENOMEM;
            if (is_fresh)
                bs->closed_fresh++;
            else if (src && sp->src == (int)(src - e->sources))
                bs->closed_src++;
        }
    }
    if (first) {
        int stay = e->nopen + a->nfresh - (int)bs->ends.n;
        int stay_src = src ? src->nopen - bs->closed_src + a->nfresh - bs->closed_fresh : 0;
        if ((rc = open_limits(e, src, a->nfresh, each_bytes, a->nfresh - bs->closed_fresh, stay, stay_src,
                              first, res)) != SW_OK)
            return rc;
    }
    return SW_OK;
}
