/* profile_parse.h — internal to the profile's own files (profile.c, profile_parse.c,
 * profile_checks.c, profile_alarms.c); nothing else includes it. The public side is profile.h.
 *
 * Calls go down only: profile_parse.c calls profile_alarms.c and profile_checks.c, profile_alarms.c
 * calls profile_checks.c, and all of them call profile.c and cfgkit.c; nothing calls back up. Each
 * parser fills a zeroed definition inside the profile being built and reports every
 * problem in d with the JSON path it was given; none keeps a reference to the JSON.
 */
#ifndef SW_PROFILE_PARSE_H
#define SW_PROFILE_PARSE_H

#include <stddef.h>
#include <jansson.h>

#include "cfgkit.h"
#include "profile.h"

/* profile.c: names inside an array of structs: element i's name at first + i * stride. */
struct sw_names {
    const char *first;
    size_t stride;
};
/* The indices 0..n-1 sorted by name (ties by index), malloc'ed; NULL on out of memory or n == 0. */
int *sw_profile_sorted_names(const struct sw_names *nm, int n);
/* Reports every element whose name an earlier one has ("$.histograms[7].name: duplicate histogram
 * \"ecal\""), in O(n log n): a profile of many histograms validates in linear-logarithmic time. */
void sw_profile_report_duplicates(const struct sw_names *nm, int n, const char *list, const char *what,
                                  struct sw_diag *d);
/* Index of a check by name (the last of equal names, as alarm rules always took), or -1. */
int sw_profile_find_check(const struct sw_profile *p, const char *name);

/* profile_checks.c: a quantity object (checks and alarm rules share it) into def; prof holds the
 * histograms, conditions and daq_sources parsed so far. */
void sw_profile_parse_quantity(json_t *q, struct sw_check_def *def, const struct sw_profile *prof,
                               const char *p, struct sw_diag *d);
/* profile_checks.c: one element of "checks" into def. */
void sw_profile_parse_check(json_t *c, struct sw_check_def *def, const struct sw_profile *prof,
                            const char *path, struct sw_diag *d);

/* profile_alarms.c: "hooks" and then "alarms" of root into prof (after its checks). */
void sw_profile_parse_hooks_and_alarms(struct sw_profile *prof, json_t *root, struct sw_diag *d);

#endif
