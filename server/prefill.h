/* prefill.h — the histogram fills of a parsed ingest batch, done before the engine's mutex is
 * taken: the events of each spill in the batch are filled into partial histograms of the profile
 * the batch was parsed with, and the engine adds those to the spill's own under its mutex
 * (sw_hist_add: one bin array per histogram instead of one fill per event and histogram), so that
 * two ingest threads no longer serialise on the fills (docs/performance.md, "Where ingest time
 * goes", item 4).
 *
 * A part is a run of consecutive events records of one spill (no other record between them); a
 * batch gets at most SW_PREFILL_PARTS parts, and only parts large enough that adding their bins
 * costs less than the fills they replace (events x histograms >= cells / 8). Events outside every
 * part are filled by the engine one by one, as before. The sums (sumx, ...) of a part are added to
 * the spill's at once, so they may differ from event-by-event sums in the last bits.
 *
 * Threads: a struct sw_prefill belongs to one thread; an ingest pool thread keeps one between
 * requests (its bin arrays are reused, not allocated per request). It holds a reference to the
 * profile it was last filled with.
 */
#ifndef SW_PREFILL_H
#define SW_PREFILL_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "profile.h"
#include "wire.h"

#define SW_PREFILL_PARTS 16

struct sw_prefill_part {
    int64_t run, spill;
    size_t rec_first, rec_end; /* records [rec_first, rec_end) of the batch */
    uint64_t events;
    uint64_t trig[SW_TRIG_N]; /* events per trigger */
    struct sw_hist *hists;    /* prof->nhists, of prof's definitions */
};

struct sw_prefill {
    struct sw_profile *prof; /* the parts' profile (a reference), NULL before the first fill */
    struct sw_prefill_part parts[SW_PREFILL_PARTS];
    int nparts; /* filled by the last sw_prefill_fill */
    int nalloc; /* parts whose hists are allocated (for prof) */
};

/* Fills the parts of batch b (parsed with prof's fields) into hb, replacing what it held. Returns
 * the number of parts (0 when out of memory or nothing is worth it: the engine fills then). */
int sw_prefill_fill(struct sw_prefill *hb, struct sw_profile *prof, const struct sw_batch *b);

/* The part that starts at record rec of the batch last filled, or NULL. */
const struct sw_prefill_part *sw_prefill_part(const struct sw_prefill *hb, size_t rec);

/* Frees the bin arrays and drops the profile reference; hb is empty (zeroed) afterwards. */
void sw_prefill_release(struct sw_prefill *hb);

#endif
