/* rootjson.h — histograms as the JSON that ROOT's TBufferJSON writes (and reads back with
 * TBufferJSON::FromJSON, and JSROOT parses with JSROOT.parse): a struct sw_hist as a TH1D or TH2D,
 * and a TList of such objects for a whole scope (docs/analysis.md, docs/api.md "ROOT export").
 *
 * The mapping: every fill has weight 1, so fTsumw = fTsumw2 = fEntries = entries (in range or not;
 * fStatOverflows = 1, kConsider, says the sums include under- and overflow, as spillwatch's mean
 * and RMS do), fTsumwx/fTsumwx2 (and y, xy in 2D) are spillwatch's unbinned sums, fSumw2 equals
 * fArray, and fArray holds every cell in ROOT's order (1D: 0 underflow, 1..n, n+1 overflow; 2D:
 * cell = ix + (nx + 2) * iy). A 2D histogram summed from SWH1 snapshots (hist.h, partial) lacks
 * their edge cells (fArray has only what is known there; fEntries and the sums still count every
 * fill) and their x*y sums (fTsumwxy is then estimated from the bin centres of the in-range cells).
 *
 * Threads: any; pure functions of their arguments. Ownership: results are new references.
 */
#ifndef SW_ROOTJSON_H
#define SW_ROOTJSON_H

#include <jansson.h>

#include "hist.h"

/* The TH1D (1D) or TH2D (2D) object of h. NULL on out of memory. */
json_t *sw_root_hist(const struct sw_hist *h);

/* A TList named name holding the objects of arr (an array; stolen), each with option "". */
json_t *sw_root_list(const char *name, json_t *arr);

#endif
