/* quality.h — judges one closed spill with the profile's checks (docs/design.md §8, docs/quality.md).
 *
 * A check has up to two layers, and its state is the worse of them: a physical window (absolute, or
 * against a nominal value that the run's meta may set) that no baseline can learn away, and a
 * stability window against an expectation (a fixed value, the run's own baseline, a reference run, a
 * rolling median, or the median of peer histograms), optionally gated by the statistical significance
 * of the deviation. Every result carries its provenance (expected value, tolerances, where the
 * expectation came from).
 *
 * States are ordered for the spill flag: a spill is BAD if any check is BAD, else WARN if any is
 * WARN, else UNKNOWN if any check lacked data (UNKNOWN never masks BAD and is never reported as
 * GOOD), else GOOD; EXCLUDED checks (no beam) do not count, and a spill whose checks are all
 * EXCLUDED is EXCLUDED. An incomplete spill (closed by timeout) is at least UNKNOWN.
 *
 * Threads: pure functions over their inputs; any thread.
 */
#ifndef SW_QUALITY_H
#define SW_QUALITY_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "hist.h"

enum sw_state { SW_GOOD = 0, SW_WARN = 1, SW_BAD = 2, SW_UNKNOWN = 3, SW_EXCLUDED = 4, SW_STATE_N = 5 };

/* A check's baseline as refs.h keeps it for the run being judged (SW_REF_BASELINE). */
struct sw_baseline {
    int n;                 /* healthy spills in the window */
    double median, spread; /* of the statistic; spread = 1.4826 x the median absolute deviation */
    int nsegs;             /* where the values come from: a carried-over run, then the run itself */
    struct {
        int64_t run, first, last; /* run and the span of its spills in the window */
        int n;
    } seg[2];
    int carried; /* seg[0] is a previous run of matching conditions */
};

/* What the checks of one spill read. */
struct sw_quality_input {
    const struct sw_hist *hists; /* one per profile histogram, same order */
    json_t *counters;            /* borrowed: name -> number, may be NULL */
    /* borrowed: the spill_end's daq_sources as wire.c validated them (source -> {"events",
     * "missing", "empty", "truncated"}); NULL when the DAQ sent none */
    json_t *daq_sources;
    double duration, dead_time, decode_errors; /* NaN when unknown */
    uint64_t events, unknown_fields;
    int complete; /* 0 when closed by timeout */
    /* With complete == 0: the reason recorded (borrowed); NULL gives "Incomplete spill: no
     * spill_end before the spill timeout". Should start with "Incomplete spill:" (re-evaluation
     * finds it among the stored reasons by its first word, any case: older databases say
     * "incomplete:"). */
    const char *incomplete_reason;
    /* References (see refs.h), per check index; either may be NULL when the profile has none:
     * ref_values[i] is the rolling median or reference-run value (NaN while not available),
     * ref_hists[i] the reference histogram of a {"run": R} check (NULL while not available). */
    const double *ref_values;
    const struct sw_hist *const *ref_hists;
    const struct sw_baseline *baselines; /* per check index (SW_REF_BASELINE checks), or NULL */
    json_t *run_meta;                    /* borrowed: the run's run_start.meta, or NULL */
    int64_t run, spill;                  /* which spill this is (baselines are kept per run) */
    double started;                      /* Unix s the spill started, NaN when unknown */
};

/* Which layer of a check made its state. */
enum sw_layer { SW_LAYER_NONE, SW_LAYER_PHYSICAL, SW_LAYER_STABILITY };

struct sw_check_result {
    const struct sw_check_def *def; /* borrowed from the profile */
    enum sw_state state;
    double value;     /* the statistic after comparison (delta/ratio); NaN when not computable */
    double raw;       /* the statistic before comparison */
    double reference; /* what it was compared with (NaN for absolute checks) */
    char reason[384]; /* empty for GOOD; in words otherwise (quality_reason.c): "Mean incoming momentum:
                       * 164.3 GeV/c, +5.2 GeV/c from the baseline 159.1 GeV/c of run 7 spills 3-24
                       * (good within ±1.6 GeV/c, 4.1 sigma)" */
    /* Provenance (sw_quality_provenance_json). */
    enum sw_state phys_state, stab_state; /* SW_EXCLUDED where the layer did not judge */
    enum sw_layer layer;                  /* the layer that made a non-GOOD state */
    double nominal;                       /* of the physical window (NaN when absolute) */
    int nominal_from_meta;                /* the nominal came from the run's meta */
    double expected;                      /* of the stability window, in the statistic's units */
    double z;                             /* significance of the deviation (NaN when not computed) */
    double spread;                        /* of the expectation (baseline), NaN when none */
    struct sw_baseline base;              /* a copy, for SW_REF_BASELINE checks */
    int learning;                         /* the baseline is still learning (base.n < learn) */
    int peers_used;                       /* peers with data (quantity.peers) */
};

/* Evaluates every check of the profile into results[0..nchecks) and returns the spill flag.
 * reasons receives (appended, as strings) the reason of every non-GOOD, non-EXCLUDED check, after
 * the reason a spill is incomplete (first: the cause of the checks that lack input); it may be NULL. */
enum sw_state sw_quality_eval(const struct sw_profile *p, const struct sw_quality_input *in,
                              struct sw_check_result *results, json_t *reasons);

/* Results as stored with a spill: [[name, category, state, value|null, raw|null, reason, provenance],
 * ...]. New reference; NULL on out of memory. */
json_t *sw_quality_results_json(const struct sw_check_result *results, int n);

/* Where a verdict came from, in the compact form stored with the spill (the seventh element of each
 * stored result, as JSON text): the layer that made the state, the physical window (state, nominal,
 * tolerances) and the stability window (state, source kind, expected value, tolerances in the
 * statistic's units, significance, baseline spread, spills and the runs they span). New reference. */
json_t *sw_quality_provenance_json(const struct sw_check_result *r);
/* The stored form expanded for the API: {"layer", "physical": {"state", "nominal", "nominal_from",
 * "good", "warn"}, "stability": {"state", "expected", "good", "warn", "z", "source": {"kind", ...}}}.
 * New reference (json null for anything not of that form). */
json_t *sw_quality_provenance_expand(json_t *stored);
/* The window that judged, from an expanded provenance (borrowed): {"expected", "good", "warn"} in
 * the statistic's units (new reference) — the layer that made a non-GOOD state, else the stability
 * window when it judged (not excluded, not learning), else the physical one; each null when unknown. */
/* The unit a check's numbers are shown in (reasons, the API, the pages): the check's own; a fraction
 * without one (a dead time, the share of a histogram above or below a value) is "fraction", shown
 * as a percentage. */
const char *sw_q_unit(const struct sw_check_def *c);
json_t *sw_quality_band(json_t *provenance);

/* How a check of a spill was compared, for the spill detail's entry (docs/api.md): {"layer", "compare"
 * (absolute, delta, ratio), "expected", "expected_from" (nominal, baseline, learning, reference_run,
 * rolling_median, fixed, peers; null for absolute limits), "from" (the same in words: "baseline of run
 * 7 spills 3-24"), "good"/"warn": {"window": [lo, hi] in the comparison's terms, "limits": [lo, hi] in
 * the statistic's unit}, "significance": {"warn", "bad", "z"} | null, "outside"} for the layer
 * sw_quality_band picks. prov is the expanded provenance and stored its stored form (both borrowed,
 * either may be NULL: a result stored before provenance was recorded gets the definition d as it
 * stands), d the check's definition in the profile in force (NULL when it has none), raw the
 * statistic. "outside" is how far raw lies beyond the good window in units of the warn margin on
 * that side (0 inside, up to 1 within the warn window, beyond 1 outside it; null when unknown).
 * *value_unit is the unit of the result's value: d's unit, "ratio" for a ratio, NULL without d
 * (borrowed: static or d's). New reference. */
json_t *sw_quality_judged(json_t *prov, json_t *stored, const struct sw_check_def *d, double raw,
                          const char **value_unit);
/* Sorts an array of check entries (objects with "state", "name" and "judged") worst first: BAD, WARN,
 * UNKNOWN, GOOD, EXCLUDED; within a state the largest judged.outside first (unknown last), then by
 * name. */
void sw_quality_sort_checks(json_t *checks);

/* 1 when a result may join its check's baseline: judged (not EXCLUDED/UNKNOWN) and GOOD. */
int sw_quality_healthy(const struct sw_check_result *r);

/* The statistic of a check's quantity for a spill (absolute, no reference), NaN when missing or
 * below min_entries. Alarm rules use it. */
double sw_quality_value(const struct sw_check_def *c, const struct sw_quality_input *in);

/* The statistic of a histogram check on h (not the reference-histogram statistics: NaN for those). */
double sw_quality_hist_stat(const struct sw_check_def *c, const struct sw_hist *h);

/* "GOOD", "WARN", "BAD", "UNKNOWN", "EXCLUDED". */
const char *sw_state_name(enum sw_state s);
/* Name -> state, or -1. */
int sw_state_parse(const char *name);

/* One DAQ source's problem in a spill (sw_quality_daq). */
struct sw_daq_value {
    const char *source; /* borrowed: a key of the spill's daq_sources, or a name of the expected list */
    enum sw_daq_problem problem;
    double fraction; /* of the source's events with the problem, 0..1 */
    double parts[3]; /* the fractions missing, empty, truncated (SW_DAQ_MISSING..SW_DAQ_TRUNCATED) */
    int absent;      /* a source the spill_end did not list: missing from every event */
    double events;   /* the source's events (0 when absent) */
};

/* The fraction of the events of source with problem in daq_sources (borrowed: a spill_end's, as
 * wire.c validated it): count / events, 0 when events is 0; SW_DAQ_BAD sums the three problems
 * (at most 1). source "*" is the worst source: the largest fraction, a tie going to the first name
 * in byte order; it looks at every source of daq_sources and at every name of expected[0..nexpected)
 * (borrowed, may be NULL). A named or expected source that daq_sources lacks counts as missing
 * from every event (absent). Returns 0 with *out filled, or -1 (*out untouched) when daq_sources
 * is NULL (the DAQ sent no per-source counts) or "*" finds no source at all. */
int sw_quality_daq(json_t *daq_sources, const char *source, enum sw_daq_problem problem,
                   const char (*expected)[SW_DAQ_SOURCE_MAX + 1], int nexpected, struct sw_daq_value *out);

/* Value of a counter-or-spill quantity named name for a spill ("mot", "dead_time", ...), NaN when
 * absent. Shared by checks and trends. */
double sw_quality_counter(const struct sw_quality_input *in, const char *name);

#endif
