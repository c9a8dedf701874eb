/* spills.c — see spills.h */
#include "spills.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "judge.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

/* ---- pair sets ---- */

size_t eng_pair_hash(int64_t run, int64_t spill, size_t cap)
{
    uint64_t h = (uint64_t)run * 0x9E3779B97F4A7C15ull ^ ((uint64_t)spill + 0x632BE59BD9B4E019ull);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (size_t)(h & (cap - 1));
}

int eng_pairset_has(const struct pairset *s, int64_t run, int64_t spill)
{
    if (!s->cap)
        return 0;
    for (size_t i = eng_pair_hash(run, spill, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[2 * i] == -1)
            return 0;
        if (s->keys[2 * i] == run && s->keys[2 * i + 1] == spill)
            return 1;
    }
}

/* Leaves a tombstone (run -2: probed past, never matched, dropped when the set is rebuilt); n still
 * counts it, so an empty slot always remains. */
void eng_pairset_del(struct pairset *s, int64_t run, int64_t spill)
{
    if (!s->cap)
        return;
    for (size_t i = eng_pair_hash(run, spill, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[2 * i] == -1)
            return;
        if (s->keys[2 * i] == run && s->keys[2 * i + 1] == spill) {
            s->keys[2 * i] = -2;
            return;
        }
    }
}

int eng_pairset_add(struct pairset *s, int64_t run, int64_t spill)
{
    if ((s->n + 1) * 2 > s->cap) {
        /* Rebuilt at the size its live pairs need (load <= 1/3 after it; a set that only grows
         * doubles): a set whose pairs come and go (the closed spills until their commit) stays
         * small, its tombstones dropped. */
        size_t live = 0, cap = 1024;
        for (size_t i = 0; i < s->cap; i++)
            live += s->keys[2 * i] >= 0;
        while (cap < 3 * (live + 1))
            cap *= 2;
        int64_t *keys = malloc(cap * 2 * sizeof *keys);
        if (!keys)
            return -1;
        for (size_t i = 0; i < cap; i++)
            keys[2 * i] = -1;
        struct pairset grown = {keys, cap, 0};
        for (size_t i = 0; i < s->cap; i++)
            if (s->keys[2 * i] >= 0)
                eng_pairset_add(&grown, s->keys[2 * i], s->keys[2 * i + 1]);
        free(s->keys);
        *s = grown;
    }
    for (size_t i = eng_pair_hash(run, spill, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[2 * i] == run && s->keys[2 * i + 1] == spill)
            return 0;
        if (s->keys[2 * i] == -1) {
            s->keys[2 * i] = run;
            s->keys[2 * i + 1] = spill;
            s->n++;
            return 0;
        }
    }
}

/* ---- closed spills ---- */

int eng_spill_closed(struct sw_engine *e, int64_t run, int64_t spill)
{
    pthread_mutex_lock(&e->closed_mu);
    int committing = eng_pairset_has(&e->closed, run, spill);
    pthread_mutex_unlock(&e->closed_mu);
    /* Not committing: it is committed, or it was never closed. A commit confirmed after the lock
     * was released is visible to the lookup, which starts after it. */
    return committing ? 1 : sw_store_spill_stored(e->store, run, spill);
}

void eng_spill_committed(void *ctx, int64_t run, int64_t spill)
{
    struct sw_engine *e = ctx;
    pthread_mutex_lock(&e->closed_mu);
    eng_pairset_del(&e->closed, run, spill);
    pthread_mutex_unlock(&e->closed_mu);
}

/* ---- spills ---- */

void eng_spill_free(struct spill *sp)
{
    if (!sp)
        return;
    for (int i = 0; sp->hists && i < sp->prof->nhists; i++)
        sw_hist_release(&sp->hists[i]);
    free(sp->hists);
    sw_profile_unref(sp->prof);
    free(sp);
}

size_t eng_spill_bytes(const struct sw_profile *p)
{
    size_t n = sizeof(struct spill) + (size_t)p->nhists * sizeof(struct sw_hist);
    for (int i = 0; i < p->nhists; i++)
        n += (sw_hist_bins(&p->hists[i]) + sw_hist_edges(&p->hists[i])) * sizeof(uint64_t);
    return n;
}

struct spill *eng_spill_new(struct sw_profile *p, int64_t run, int64_t spill)
{
    struct spill *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    sp->prof = sw_profile_ref(p);
    sp->run = run;
    sp->spill = spill;
    sp->started = sp->ended = NAN;
    sp->src = -1;
    sp->bytes = eng_spill_bytes(p);
    sp->first_wall = sp->last_wall = sw_wall();
    sp->last_mono = sw_mono();
    sp->hists = calloc((size_t)p->nhists, sizeof *sp->hists);
    if (!sp->hists)
        goto fail;
    for (int i = 0; i < p->nhists; i++)
        if (sw_hist_init(&sp->hists[i], &p->hists[i]) != 0)
            goto fail;
    return sp;
fail:
    eng_spill_free(sp);
    return NULL;
}

/* ---- the open set ---- */

struct spill *eng_find_open(const struct sw_engine *e, int64_t run, int64_t spill)
{
    if (!e->omap_cap)
        return NULL;
    for (size_t i = eng_pair_hash(run, spill, e->omap_cap);; i = (i + 1) & (e->omap_cap - 1)) {
        struct spill *sp = e->omap[i];
        if (!sp || (sp->run == run && sp->spill == spill))
            return sp;
    }
}

static void omap_put(struct spill **map, size_t cap, struct spill *sp)
{
    size_t i = eng_pair_hash(sp->run, sp->spill, cap);
    while (map[i])
        i = (i + 1) & (cap - 1);
    map[i] = sp;
}

/* Removes sp by backward-shift deletion: every entry after the hole that may move into it does, so
 * probes never stop at a stale gap. */
static void omap_del(struct sw_engine *e, const struct spill *sp)
{
    size_t mask = e->omap_cap - 1, i = eng_pair_hash(sp->run, sp->spill, e->omap_cap);
    while (e->omap[i] != sp)
        i = (i + 1) & mask;
    e->omap[i] = NULL;
    for (size_t j = (i + 1) & mask; e->omap[j]; j = (j + 1) & mask) {
        size_t home = eng_pair_hash(e->omap[j]->run, e->omap[j]->spill, e->omap_cap);
        /* the entry at j stays when its home lies cyclically in (i, j] */
        if (i < j ? home > i && home <= j : home > i || home <= j)
            continue;
        e->omap[i] = e->omap[j];
        e->omap[j] = NULL;
        i = j;
    }
}

int eng_add_open(struct sw_engine *e, struct spill *sp)
{
    if (e->nopen == e->capopen) {
        int cap = e->capopen ? e->capopen * 2 : 8;
        struct spill **o = realloc(e->open, (size_t)cap * sizeof *o);
        if (!o)
            return -1;
        e->open = o;
        e->capopen = cap;
    }
    if ((size_t)(e->nopen + 1) * 2 > e->omap_cap) {
        size_t cap = e->omap_cap ? e->omap_cap * 2 : 16;
        struct spill **map = calloc(cap, sizeof *map);
        if (!map)
            return -1;
        for (int i = 0; i < e->nopen; i++)
            omap_put(map, cap, e->open[i]);
        free(e->omap);
        e->omap = map;
        e->omap_cap = cap;
    }
    omap_put(e->omap, e->omap_cap, sp);
    e->open[e->nopen++] = sp;
    e->open_bytes += sp->bytes;
    if (sp->src >= 0)
        e->sources[sp->src].nopen++;
    atomic_store(&sw_metrics.open_spills, e->nopen);
    return 0;
}

static void remove_open(struct sw_engine *e, struct spill *sp)
{
    for (int i = 0; i < e->nopen; i++)
        if (e->open[i] == sp) {
            e->open[i] = e->open[--e->nopen];
            omap_del(e, sp);
            e->open_bytes -= sp->bytes;
            if (sp->src >= 0)
                e->sources[sp->src].nopen--;
            break;
        }
    atomic_store(&sw_metrics.open_spills, e->nopen);
}

/* ---- closing ---- */

int eng_close_spill(struct sw_engine *e, struct spill *sp, const struct sw_record *end, const char *source,
                    int64_t seq, struct sw_store_wait *w)
{
    enum sw_state flag;
    struct sw_spill_rec *rec = eng_judge_spill(e, sp, end, source, seq, &flag);
    if (!rec)
        return -1;
    /* Read before the store takes rec. */
    struct sw_metrics_spill ms = {sp->run,       sp->spill,  rec->mot, rec->dead_time,
                                  rec->duration, sp->events, flag,     end ? end->counters : NULL};
    /* Into the closed set before the commit is queued, so that the writer's hook comes after. */
    pthread_mutex_lock(&e->closed_mu);
    int added = eng_pairset_add(&e->closed, sp->run, sp->spill);
    pthread_mutex_unlock(&e->closed_mu);
    if (added != 0 || sw_store_commit_spill(e->store, rec, w) != 0) {
        if (added == 0) { /* not queued: the spill stays open */
            pthread_mutex_lock(&e->closed_mu);
            eng_pairset_del(&e->closed, sp->run, sp->spill);
            pthread_mutex_unlock(&e->closed_mu);
        }
        sw_spill_rec_free(rec);
        return -1;
    }
    atomic_fetch_add(&sw_metrics.spills_closed[flag], 1);
    sw_metrics_spill_closed(&ms);
    if (!end)
        atomic_fetch_add(&sw_metrics.spills_timed_out, 1);
    sw_info("engine", "run %lld spill %lld closed%s: %llu events, flag %s", (long long)sp->run,
            (long long)sp->spill,
            end            ? ""
            : sp->restored ? " by timeout (incomplete: lost in a server restart and not resent)"
                           : " by timeout (incomplete)",
            (unsigned long long)sp->events, sw_state_name(flag));
    remove_open(e, sp);
    eng_spill_free(e->last_closed);
    e->last_closed = sp;
    eng_refs_prune(e);
    return 0;
}

/* ---- timeouts ---- */

void sw_engine_tick(struct sw_engine *e)
{
    /* While the store refuses ingest (a failing disk, its reserve reached, the writer's queue full),
     * the collectors are told to wait: that time counts towards no spill's timeout either. */
    int held = sw_store_state(e->store, NULL, 0, NULL) != SW_STORE_OK || sw_store_queue_full(e->store);
    pthread_mutex_lock(&e->mu);
    double now = sw_mono(), gap = now - e->last_tick;
    e->last_tick = now;
    if (held) {
        for (int i = 0; i < e->nopen; i++)
            e->open[i]->last_mono += gap;
        e->grace_until = now + SW_HOLD_GRACE; /* and the refused batches come back first */
        if (!e->holding && e->nopen)
            sw_warn("engine",
                    "the store refuses ingest: the timeouts of %d open spill(s) stand still meanwhile",
                    e->nopen);
        e->holding = 1;
        pthread_mutex_unlock(&e->mu);
        return;
    }
    e->holding = 0;
    if (gap > SW_TICK_LATE) {
        /* The process was paused (SIGSTOP, a frozen VM) or starved: no data could arrive meanwhile,
         * so that time does not count towards a timeout, and the batches queued on the connections
         * are read before anything times out. */
        double paused = gap - SW_TICK;
        for (int i = 0; i < e->nopen; i++)
            e->open[i]->last_mono += paused;
        e->grace_until = now + SW_TICK_GRACE;
        if (e->nopen)
            sw_warn("engine",
                    "the timer ran %.1f s late (the server was paused or starved): the timeouts of %d open "
                    "spill(s) do not count that time, and none closes in the next %g s",
                    paused, e->nopen, SW_TICK_GRACE);
    }
    for (int i = e->nopen - 1; i >= 0 && now >= e->grace_until; i--) {
        struct spill *sp = e->open[i];
        if (now - sp->last_mono >= e->cfg->spill_timeout && eng_close_spill(e, sp, NULL, NULL, 0, NULL) != 0)
            sw_error("engine", "run %lld spill %lld: timeout close failed", (long long)sp->run,
                     (long long)sp->spill);
    }
    pthread_mutex_unlock(&e->mu);
}
