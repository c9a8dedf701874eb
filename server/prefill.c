/* prefill.c — see prefill.h */
#include "prefill.h"

#include <stdlib.h>
#include <string.h>

/* Events filled into every histogram before the next block: the block's rows (about 84 KB of full
 * NA64mu events) stay in the cache while each histogram loops over them. */
#define BLOCK 64

static void free_parts(struct sw_prefill *hb)
{
    for (int i = 0; i < hb->nalloc; i++) {
        struct sw_prefill_part *p = &hb->parts[i];
        if (p->hists && hb->prof)
            for (int h = 0; h < hb->prof->nhists; h++)
                sw_hist_release(&p->hists[h]);
        free(p->hists);
        p->hists = NULL;
    }
    hb->nalloc = 0;
}

void sw_prefill_release(struct sw_prefill *hb)
{
    free_parts(hb);
    sw_profile_unref(hb->prof);
    memset(hb, 0, sizeof *hb);
}

/* Part i's bin arrays, allocated (for hb->prof) the first time; 0 or -1. */
static int part_hists(struct sw_prefill *hb, int i)
{
    if (i < hb->nalloc)
        return 0;
    struct sw_prefill_part *p = &hb->parts[i];
    int n = hb->prof->nhists;
    p->hists = calloc(n > 0 ? (size_t)n : 1, sizeof *p->hists);
    if (!p->hists)
        return -1;
    for (int h = 0; h < n; h++)
        if (sw_hist_init(&p->hists[h], &hb->prof->hists[h]) != 0) {
            for (int k = 0; k < h; k++)
                sw_hist_release(&p->hists[k]);
            free(p->hists);
            p->hists = NULL;
            return -1;
        }
    hb->nalloc = i + 1;
    return 0;
}

static size_t profile_cells(const struct sw_profile *prof)
{
    size_t n = 0;
    for (int h = 0; h < prof->nhists; h++)
        n += sw_hist_bins(&prof->hists[h]) + sw_hist_edges(&prof->hists[h]);
    return n;
}

static void fill_part(struct sw_prefill_part *p, int nhists, const struct sw_batch *b)
{
    for (int h = 0; h < nhists; h++)
        sw_hist_clear(&p->hists[h]);
    memset(p->trig, 0, sizeof p->trig);
    p->events = 0;
    for (size_t i = p->rec_first; i < p->rec_end; i++) {
        const struct sw_record *r = &b->recs[i];
        for (size_t k0 = r->first; k0 < r->first + r->nevents; k0 += BLOCK) {
            size_t k1 = k0 + BLOCK < r->first + r->nevents ? k0 + BLOCK : r->first + r->nevents;
            for (int h = 0; h < nhists; h++) {
                struct sw_hist *hist = &p->hists[h];
                for (size_t k = k0; k < k1; k++)
                    sw_hist_fill(hist, b->rows + k * (size_t)b->row_width, b->trigger[k]);
            }
            for (size_t k = k0; k < k1; k++)
                p->trig[b->trigger[k]]++;
        }
        p->events += r->nevents;
    }
}

int sw_prefill_fill(struct sw_prefill *hb, struct sw_profile *prof, const struct sw_batch *b)
{
    hb->nparts = 0;
    if (hb->prof != prof) { /* a reload: bin arrays of the new profile's definitions */
        free_parts(hb);
        sw_profile_unref(hb->prof);
        hb->prof = sw_profile_ref(prof);
    }
    if (prof->nhists == 0)
        return 0;
    size_t cells = profile_cells(prof);
    for (size_t i = 0; i < b->nrecs && hb->nparts < SW_PREFILL_PARTS;) {
        const struct sw_record *r = &b->recs[i];
        if (r->type != SW_REC_EVENTS) {
            i++;
            continue;
        }
        size_t end = i + 1;
        uint64_t events = r->nevents;
        while (end < b->nrecs && b->recs[end].type == SW_REC_EVENTS && b->recs[end].run == r->run &&
               b->recs[end].spill == r->spill)
            events += b->recs[end++].nevents;
        if (events * (uint64_t)prof->nhists * 8 >= cells) {
            if (part_hists(hb, hb->nparts) != 0)
                break; /* out of memory: the engine fills the rest */
            struct sw_prefill_part *p = &hb->parts[hb->nparts++];
            p->run = r->run;
            p->spill = r->spill;
            p->rec_first = i;
            p->rec_end = end;
            fill_part(p, prof->nhists, b);
        }
        i = end;
    }
    return hb->nparts;
}

const struct sw_prefill_part *sw_prefill_part(const struct sw_prefill *hb, size_t rec)
{
    for (int i = 0; i < hb->nparts; i++)
        if (hb->parts[i].rec_first == rec)
            return &hb->parts[i];
    return NULL;
}
