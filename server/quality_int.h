/* quality_int.h — internal to the quality module's own files (quality.c, quality_stats.c,
 * quality_json.c); nothing else includes it. The public side, and the manual, is quality.h.
 *
 * Calls go down only: quality_json.c (the results and their provenance as JSON) calls quality.c
 * (state names, the comparison arithmetic), quality.c (the judgement of a check and the spill
 * flag) calls quality_stats.c (the quantities a check reads); quality_stats.c calls neither.
 * Everything here is pure, owns nothing and may run on any thread.
 */
#ifndef SW_QUALITY_INT_H
#define SW_QUALITY_INT_H

#include "quality.h"

/* quality_stats.c: the statistic of check c (index idx in its profile, -1 when not judged with
 * references) before comparison; sets *unknown_why (a static string) and returns NaN when it
 * cannot be computed. */
double sw_q_raw_value(const struct sw_check_def *c, int idx, const struct sw_quality_input *in,
                      const char **unknown_why);

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

#endif
