/* quality_int.h — internal to the quality module's own files (quality.c, quality_stats.c,
 * quality_json.c, quality_reason.c, quality_judged.c); nothing else includes it. The public side, and the
 * manual, is quality.h.
 *
 * Calls go down only: quality_judged.c (a check's entry for the API: how it was compared, worst
 * first) calls quality_json.c (the results and their provenance as JSON), which calls quality.c
 * (state names, the comparison arithmetic), quality.c (the judgement of a check and the spill
 * flag) calls quality_stats.c (the quantities a check reads) and quality_reason.c (the reasons in
 * words, with numfmt.h); those two call neither quality.c nor each other.
 * Everything here is pure, owns nothing and may run on any thread.
 */
#ifndef SW_QUALITY_INT_H
#define SW_QUALITY_INT_H

#include "quality.h"

/* quality_stats.c: the statistic of check c (index idx in its profile, -1 when not judged with
 * references) before comparison; writes why into why[0..whylen) ("only 57 entries, 200 needed";
 * left empty otherwise) and returns NaN when it cannot be computed. */
double sw_q_raw_value(const struct sw_check_def *c, int idx, const struct sw_quality_input *in, char *why,
                      size_t whylen);

/* quality_stats.c: the statistical uncertainty of c's statistic on this spill under the
 * expectation ref (Poisson for counts, binomial for fractions, sigma/sqrt(n) for moments and
 * peaks); 0 for a quantity that is not statistical (dead time, duration), NaN when unknown. */
double sw_q_stat_sigma(const struct sw_check_def *c, const struct sw_quality_input *in, double ref);

/* quality_stats.c: the median of c's statistic over its peer histograms on this spill (peers with
 * too few entries left out), *used the peers with data; NaN with fewer than two. */
double sw_q_peer_median(const struct sw_check_def *c, const struct sw_quality_input *in, int *used);

/* quality.c: a comparison window [lo, hi] in the statistic's own units, given the expectation ref
 * (delta: ref + lo..ref + hi; ratio: ref x lo..ref x hi, swapped for a negative ref; absolute: as
 * it is). */
void sw_q_raw_range(enum sw_compare cmp, double ref, double lo, double hi, double *rlo, double *rhi);

/* quality_json.c: the layer of an expanded provenance (borrowed) whose numbers an answer shows: the
 * one that made a non-GOOD state, else the stability window when it judged (not excluded, its window
 * known), else the physical one, else the stability one; *name "physical" or "stability" (NULL with
 * a NULL return). Borrowed from prov. */
json_t *sw_q_judging_layer(json_t *prov, const char **name);

/* quality_reason.c: the reasons in words. Every reason starts with the check's title (its name
 * when it has none), then ": ". */
const char *sw_q_title(const struct sw_check_def *c);
/* "Title: " and the printf-formatted rest. */
void sw_q_reason_text(char *buf, size_t len, const struct sw_check_def *c, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The reason of a value check that is WARN or BAD: its value with the unit, then each layer that
 * judged it non-GOOD with what the value means there (the difference or ratio, the expectation and
 * where it came from, the good window, the significance); pending (may be NULL) says why a layer
 * did not judge; first_bin >= 0 names the first dead or hot channel. */
void sw_q_reason_judged(char *buf, size_t len, const struct sw_profile *p, const struct sw_check_result *r,
                        const char *pending, int first_bin);
/* The reason of a DAQ-integrity check that is WARN or BAD: the source, its problem and share, the
 * good window, the significance z (NaN: none). */
void sw_q_reason_daq(char *buf, size_t len, const struct sw_check_def *c, const struct sw_daq_value *v,
                     double z);

#endif
