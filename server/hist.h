/* hist.h — histogram definitions, filling, statistics (mean, RMS, peak), merging, compact
 * snapshots and JSON serving (docs/design.md §7).
 *
 * Threads: nothing here locks. A live struct sw_hist is filled by the ingest engine under its own
 * mutex; HTTP threads build private histograms (decode + add) and serialise them.
 * Ownership: struct sw_hist_def is a value owned by the profile and immutable after load; a
 * struct sw_hist borrows its def (the def must outlive it) and owns its counts array.
 */
#ifndef SW_HIST_H
#define SW_HIST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define SW_HIST_NAME_MAX   64
#define SW_HIST_LABELS_MAX 32 /* bins of a category axis that can carry names */

/* A source selector (docs/design.md §7):
 *   "f"       scalar field f (must have width 1)
 *   "f[i]"    element i of array field f (0 <= i < width)
 *   "sum(f)"  sum of the non-null elements of f; missing when all are null
 *   "each(f)" one entry per element of f whose value is > threshold, at x = element index
 *             (occupancy); only valid as the x source of a 1D histogram. */
enum sw_sel_kind { SW_SEL_FIELD, SW_SEL_INDEX, SW_SEL_SUM, SW_SEL_EACH };

struct sw_selector {
    enum sw_sel_kind kind;
    int field;  /* index in struct sw_fields */
    int offset; /* row offset of the field */
    int width;  /* width of the field */
    int index;  /* element for SW_SEL_INDEX */
};

struct sw_axis {
    int bins;        /* >= 1 */
    double min, max; /* min < max; bin i covers [min + i*w, min + (i+1)*w) */
};

struct sw_hist_def {
    char name[SW_HIST_NAME_MAX];
    char title[128];
    char unit[32]; /* unit of x */
    char unit_y[32];
    char xsource[48], ysource[48];        /* the axes' source selector text (axis titles of exports) */
    int dim;                              /* 1 or 2 */
    struct sw_axis x, y;                  /* y only when dim == 2 */
    char xlabels[SW_HIST_LABELS_MAX][32]; /* "x.labels": a name per bin (category axes), else none */
    int nxlabels;
    struct sw_selector xsel, ysel;
    unsigned trigger_mask; /* bit (1u << enum sw_trigger) per accepted trigger; 0 = every trigger */
    int has_cut;
    struct sw_selector cut; /* the event is used only when min <= cut value < max (NaN fails) */
    double cut_min, cut_max;
    double threshold; /* each(): element counted when value > threshold */
};

/* struct sw_hist.partial: what summed snapshots of an older format (SWH1) could not give. */
#define SW_HIST_NO_EDGES                                                                              \
    1u                      /* 2D: some fills outside the axes are in underflow/overflow only, not in \
                             * an edge cell (sw_hist_cell) */
#define SW_HIST_NO_SUMXY 2u /* 2D: sumxy lacks the fills of those snapshots */

struct sw_hist {
    const struct sw_hist_def *def;   /* borrowed */
    uint64_t *counts;                /* x.bins (1D) or x.bins * y.bins (2D, index = iy * x.bins + ix);
                                      * in 2D followed by sw_hist_edges() edge cells (sw_hist_cell) */
    uint64_t underflow;              /* 1D: x < min. 2D: any coordinate below its axis */
    uint64_t overflow;               /* 1D: x >= max. 2D: any coordinate >= its max (and none below) */
    uint64_t entries;                /* every fill with finite value(s), in range or not */
    uint64_t missing;                /* selected events whose source value is null/NaN */
    double sumx, sumx2, sumy, sumy2; /* unbinned sums over the entries */
    double sumxy;                    /* 2D: unbinned sum of x*y over the entries */
    unsigned partial;                /* SW_HIST_NO_* bits */
    /* The low parts of sumx, sumx2, sumy, sumy2, sumxy when histograms are added (sw_hist_add,
     * sw_hist_sub, decoding): each sum is a double-double, sumx the double nearest sumx + lo[0],
     * so a sum of snapshots is the same double whatever the order they were added in (the spills
     * of a run summed at commit, or summed by a range read, run_hists.h). 0 after filling. */
    double lo[5];
};

/* dst's five unbinned sums += sign * (hi[i] + lo[i]), compensated (TwoSum): the order-independent
 * accumulation sw_hist_add, sw_hist_sub and the snapshot decoder share. */
void sw_hist_add_sums(struct sw_hist *dst, const double hi[5], const double lo[5], int sign);

struct sw_hist_stats {
    double mean, rms;     /* of x; NaN when entries == 0 */
    double mean_y, rms_y; /* 2D only, else NaN */
    double peak;          /* most probable x (1D only, NaN when no in-range counts or 2D) */
};

/* Parses selector text against the field table. Returns 0, or -1 with a lower-case message in
 * err (e.g. `unknown field "pin"`, `index 7 out of range for "hcal" (width 4)`), *sel unchanged. */
int sw_selector_parse(struct sw_selector *sel, const char *text, const struct sw_fields *fields, char *err,
                      size_t errlen);

/* Value of a non-each selector for one event row; NaN when missing. */
double sw_selector_value(const struct sw_selector *sel, const double *row);

/* Allocates zeroed counts for def. Returns 0 or -1 (out of memory; h left zeroed). */
int sw_hist_init(struct sw_hist *h, const struct sw_hist_def *def);
/* Bins of def, without under- and overflow (x.bins, or x.bins * y.bins in 2D). */
size_t sw_hist_bins(const struct sw_hist_def *def);
/* 2D: the cells outside the axes in ROOT's sense (ix 0 or x.bins+1, or iy 0 or y.bins+1):
 * 2 * (x.bins + 2) + 2 * y.bins. 1D: 0 (under/overflow are the two totals). */
size_t sw_hist_edges(const struct sw_hist_def *def);
/* The count of a cell numbered as ROOT numbers them: ix 0 underflow, 1..x.bins, x.bins+1 overflow
 * (iy likewise in 2D; iy is 0 for 1D). */
uint64_t sw_hist_cell(const struct sw_hist *h, int ix, int iy);
/* Frees the counts; accepts a zeroed or released struct. */
void sw_hist_release(struct sw_hist *h);
/* Zeroes counts and sums, keeps the def and allocation. */
void sw_hist_clear(struct sw_hist *h);

/* Fills one event (row laid out by the field table the def was parsed with), applying the trigger
 * mask and the cut. Hot path: no allocation. */
void sw_hist_fill(struct sw_hist *h, const double *row, int trigger);

/* 1 when a and b have the same dim and axes (bins, min, max). */
int sw_hist_same_binning(const struct sw_hist_def *a, const struct sw_hist_def *b);

/* dst += src. Returns 0, or -1 when the binnings differ (dst unchanged). */
int sw_hist_add(struct sw_hist *dst, const struct sw_hist *src);

/* dst -= src (a summed snapshot gives one spill's contribution back: counts are exact integers,
 * the unbinned sums compensated as in sw_hist_add; the partial bits stay). Returns 0, or -1 when the binnings
 * differ. */
int sw_hist_sub(struct sw_hist *dst, const struct sw_hist *src);

/* Statistics from the unbinned sums; peak = maximum of the counts after light smoothing, refined by
 * a parabola through the neighbouring bins. */
void sw_hist_stats(const struct sw_hist *h, struct sw_hist_stats *st);

/* Fraction of entries with x above (or below) value, from the bins (under/overflow included);
 * a bin counts as above when its lower edge >= value. NaN when entries == 0. 1D only. */
double sw_hist_frac_above(const struct sw_hist *h, double value);
double sw_hist_frac_below(const struct sw_hist *h, double value);

/* Serving format (docs/design.md §7, docs/api.md):
 * {"name","title","unit","x":{"bins","min","max"},["y":{...}],
 * "counts":[...],"underflow","overflow","entries","missing","mean","rms","peak",["mean_y","rms_y"]}.
 * Non-finite numbers become null. Returns a new reference, NULL on out of memory. */
json_t *sw_hist_to_json(const struct sw_hist *h);

/* ---- Snapshots (hist_blob.c) ---- */

/* Snapshot of a set of histograms (one spill) as a compressed blob: self-describing (name, binning
 * per histogram) so a later profile can still read it. Written as version "SWH2" (2D edge cells,
 * sumxy, partial bits), or "SWH3" (SWH2 with the low parts of the sums) for a sum of snapshots
 * whose low parts are not all 0; "SWH1" blobs of older databases still decode: their 2D histograms add
 * their under/overflow totals but no edge cells and no sumxy, and set the SW_HIST_NO_* bits. *out is
 * malloc'ed, caller frees. Returns 0 or -1 (out of memory / zlib failure, *out untouched). */
int sw_hist_encode(const struct sw_hist *hists, int n, unsigned char **out, size_t *outlen);

/* Decodes a blob and adds the histogram named dst->def->name into dst. Returns 1 when found and
 * added, 0 when the blob has no histogram of that name or its binning differs from dst's def,
 * -1 for a corrupt blob (dst unchanged then). */
int sw_hist_decode_add(const unsigned char *blob, size_t len, struct sw_hist *dst);

/* Same, for every histogram of a set at once (one inflate): adds each blob histogram into the dst
 * entry of the same name and binning. Returns the number added, or -1 for a corrupt blob. */
int sw_hist_decode_add_all(const unsigned char *blob, size_t len, struct sw_hist *dst, int n);

/* A blob decoded into histograms of its own binning (run_hists.c sums snapshots of one layout):
 * defs[i] holds name, dim and axes (nothing else of a profile's def), hists[i] borrows defs[i].
 * layout is a 64-bit key (FNV-1a) of every histogram's name, dim, partial bits and binning, in the
 * blob's order: two blobs of one layout add into the same histograms, histogram for histogram,
 * and sw_hist_decode_add_all matches the same histograms of any set in both. */
struct sw_hist_snap {
    int n;
    struct sw_hist_def *defs;
    struct sw_hist *hists;
    uint64_t layout;
};

/* Decodes blob into *snap (zeroed first). Returns snap->n, or -1 for a corrupt blob or out of
 * memory (*snap freed then). */
int sw_hist_decode_new(const unsigned char *blob, size_t len, struct sw_hist_snap *snap);
/* Frees what sw_hist_decode_new allocated; accepts a zeroed snapshot. */
void sw_hist_snap_free(struct sw_hist_snap *snap);

#endif
