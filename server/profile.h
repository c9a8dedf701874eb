/* profile.h — the experiment profile (config/na64mu.json, or a re-evaluation request's body): the
 * fields of the records, the histograms, the quality checks, the alert hooks and alarm rules, the
 * run conditions and the DAQ sources. Parsed and validated once, then immutable.
 *
 * Who owns what: a struct sw_profile owns its arrays (hists, checks, hooks with their argv and
 * secret, alarms, manual_reasons, daq_sources, the name indexes); sw_profile_release frees them.
 * A check definition borrows daq_expected from the profile that holds it.
 *
 * Lifecycle: the profile can be replaced while the server runs (SIGHUP, POST /api/v1/admin/reload;
 * see reload.h). So the server does not read cfg->profile after start-up: main moves it into a
 * reference-counted heap object (sw_profile_adopt). A heap profile is immutable; whoever uses one
 * holds a reference (sw_profile_ref / sw_profile_unref, atomic count) for as long as it does, and
 * the last unref frees it. A profile that lives by value (the one sw_config_load fills, a request
 * body parsed by re-evaluation) has a count of 0 and is never freed by unref.
 *
 * Threads: parsing and release touch only the profile being built or freed (any thread, one at a
 * time per profile); the lookups read an immutable profile (any thread, no lock); ref/unref are
 * atomic (any thread).
 *
 * Validation reports every problem, each with the JSON path of the bad key
 * (`$.histograms[3].x.bins: must be an integer >= 1`), prefixed with where the profile came from.
 *
 * Files: profile.c (lifecycle, name lookups and indexes, hook comparison), profile_parse.c (the
 * top level: fields, histograms, conditions, daq_sources; sw_profile_parse, sw_profile_load),
 * profile_checks.c (quantities and checks), profile_alarms.c (hooks and alarm rules); the last
 * three share profile_parse.h.
 */
#ifndef SW_PROFILE_H
#define SW_PROFILE_H

#include <stddef.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cfgkit.h"
#include "event.h"
#include "hist.h"

#define SW_NAME_MAX 64
/* Bins of one histogram (x.bins * y.bins) and of all histograms of a profile: every open spill
 * holds them as 64-bit counts, so a profile (from a file or a re-evaluation request) cannot ask for
 * more memory than this. */
#define SW_HIST_BINS_MAX    1000000
#define SW_PROFILE_BINS_MAX 4000000

enum sw_quantity_kind { SW_Q_HIST, SW_Q_COUNTER, SW_Q_SPILL, SW_Q_DAQ };
enum sw_stat {
    SW_STAT_MEAN,
    SW_STAT_RMS,
    SW_STAT_PEAK,
    SW_STAT_ENTRIES,
    SW_STAT_MISSING,
    SW_STAT_MEAN_Y,
    SW_STAT_RMS_Y,
    SW_STAT_FRAC_ABOVE,
    SW_STAT_FRAC_BELOW,
    SW_STAT_INTEGRAL,      /* entries in the window [stat_arg, stat_arg2) */
    SW_STAT_KS_PROB,       /* Kolmogorov–Smirnov probability against the reference histogram */
    SW_STAT_CHI2_PROB,     /* chi2 probability against the reference histogram */
    SW_STAT_DEAD_CHANNELS, /* bins below stat_arg x expected from the reference */
    SW_STAT_HOT_CHANNELS,  /* bins above stat_arg x expected from the reference */
    SW_STAT_PEER_DEAD,     /* channels below stat_arg x the median of the same channel in the other groups */
    SW_STAT_PEER_HOT       /* channels above stat_arg x that median (compare.h sw_compare_peer_channels) */
};
/* Where the reference of a check comes from. */
enum sw_ref_kind {
    SW_REF_NONE,
    SW_REF_FIXED,   /* "reference": number */
    SW_REF_ROLLING, /* "reference": {"rolling_median": N}: median of the statistic over the last N GOOD spills
                     */
    SW_REF_RUN,     /* "reference": {"run": R}: the summed GOOD spills of run R (histogram checks) */
    SW_REF_BASELINE /* "reference": {"baseline": N, "learn": K, "match": [...]}: median and robust spread of
                     * the check's statistic over the last N healthy spills of the run, carried over from
                     * the previous run of matching conditions (docs/quality.md) */
};
/* Spill-level quantities that are not counters. */
enum sw_spill_field {
    SW_SF_DURATION,
    SW_SF_DEAD_TIME,
    SW_SF_EVENTS,
    SW_SF_DECODE_ERRORS,
    SW_SF_UNKNOWN_FIELDS
};
enum sw_per { SW_PER_NONE, SW_PER_SECOND, SW_PER_COUNTER };
enum sw_compare { SW_CMP_ABSOLUTE, SW_CMP_DELTA, SW_CMP_RATIO };

#define SW_CONDITIONS_MAX 16 /* run_start.meta keys that describe a run's conditions */
#define SW_SUBSYSTEMS_MAX 16 /* the overview's status rows */
#define SW_PEERS_MAX      16 /* histograms in one peer group */

/* The broad physical window of a check ("physical"): where the statistic must lie whatever the run,
 * never learned from the data. Absolute, or as a delta/ratio from a nominal value that is a number or
 * a run_start.meta key of the profile's conditions (with a default when the run does not say). */
struct sw_window {
    int on;
    enum sw_compare compare;
    double nominal;   /* the default nominal (NaN for absolute windows) */
    int nominal_meta; /* index into the profile's conditions, or -1 */
    double good_lo, good_hi, warn_lo, warn_hi;
};

/* One quality check (docs/design.md §8): a statistic, optionally compared with a reference, judged by a
 * good range and a wider warn range. Value in good -> GOOD, in warn -> WARN, else BAD. */
struct sw_check_def {
    char name[SW_NAME_MAX];
    char title[128];
    char category[16];           /* beam | detector | daq */
    char subsystem[SW_NAME_MAX]; /* the overview's status row: "subsystem", else the category */
    int subsystem_given;         /* "subsystem" was in the definition (not the category's default) */
    char unit[16];
    enum sw_quantity_kind kind;
    int hist; /* SW_Q_HIST: index into profile hists */
    enum sw_stat stat;
    double stat_arg;                 /* threshold of frac_above / frac_below */
    char counter[SW_NAME_MAX];       /* SW_Q_COUNTER */
    enum sw_spill_field spill_field; /* SW_Q_SPILL */
    enum sw_per per;
    char per_counter[SW_NAME_MAX];
    enum sw_compare compare;
    enum sw_ref_kind ref_kind;
    double reference;                          /* SW_REF_FIXED */
    int rolling_n, rolling_min;                /* SW_REF_ROLLING: window and spills needed before judging */
    int64_t ref_run;                           /* SW_REF_RUN */
    double stat_arg2;                          /* upper edge of the integral window */
    double good_lo, good_hi, warn_lo, warn_hi; /* -inf / +inf for open ends */
    uint64_t min_entries;                      /* SW_Q_HIST: fewer entries -> UNKNOWN */
    int requires_beam;                         /* EXCLUDED when the spill had no beam */
    int skip;                                  /* "skip": true: deliberately not evaluated (EXCLUDED) */
    int stability;            /* has good/warn ranges against its reference (0: physical window only) */
    struct sw_window phys;    /* "physical" */
    int base_n, base_learn;   /* SW_REF_BASELINE: window of healthy spills, spills needed to judge */
    unsigned base_match;      /* SW_REF_BASELINE: bits of the profile's conditions that must match */
    double sig_warn, sig_bad; /* "significance": a deviation counts only beyond this many sigma (0 = off) */
    int peers[SW_PEERS_MAX];  /* "quantity.peers": histograms whose median statistic is the expectation */
    int group;                /* SW_STAT_PEER_DEAD/HOT: channels per group ("group") */
    int npeers;
    /* SW_Q_DAQ: the fraction of a DAQ source's events with a problem (quality.h sw_quality_daq) */
    enum sw_daq_problem daq_problem;
    char daq_source[SW_DAQ_SOURCE_MAX + 1]; /* a source name, or "*": the worst source */
    /* the profile's daq_sources, borrowed from the profile that holds this definition (a check or
     * an alarm rule of it); NULL when the profile lists none */
    const char (*daq_expected)[SW_DAQ_SOURCE_MAX + 1];
    int ndaq_expected;
};

/* An alert hook (docs/design.md §9): where alarm notifications go. */
enum sw_hook_type { SW_HOOK_WEBHOOK, SW_HOOK_EXEC };
struct sw_hook_def {
    char name[SW_NAME_MAX];
    enum sw_hook_type type;
    char url[512];  /* webhook */
    int text;       /* webhook: post Mattermost/Slack {"text": ...} instead of Alertmanager v4 */
    char *argv[16]; /* exec: the command and its arguments (owned), NULL-terminated */
    char *secret;   /* webhook: HMAC-SHA256 key for X-Spillwatch-Signature (owned), NULL = unsigned */
    double timeout; /* s */
    double repeat;  /* s between repeats while firing and not acknowledged; 0 = never */
};

/* What an alarm rule watches: a check quantity, a check's state or the spill flag (judged at each
 * closed spill), or a live quantity (judged about once a second by the timer thread). */
enum sw_alarm_source { SW_ALARM_QUANTITY, SW_ALARM_CHECK_STATE, SW_ALARM_FLAG, SW_ALARM_LIVE };
enum sw_live_quantity {
    SW_LIVE_TRIGGER_RATE,       /* Hz: triggers recorded over the last second, while a spill is open */
    SW_LIVE_SECONDS_SINCE_DATA, /* s since the last accepted data, during beam time (DAQ stalled) */
    SW_LIVE_BEAM                /* 1 when the last closed spill had beam, else 0 (beam off), during a run */
};
#define SW_ALARM_HOOKS_MAX  8
#define SW_ALARM_LABELS_MAX 8
/* A hook a rule notifies, after `after` s of firing (0 = at once; > 0 = escalation, which an
 * acknowledgement does not stop). */
struct sw_alarm_hook {
    int hook; /* index into the profile's hooks */
    double after;
};
struct sw_alarm_def {
    char name[SW_NAME_MAX];
    char severity[16]; /* critical | warning | info */
    char summary[200];
    char labels[SW_ALARM_LABELS_MAX][2]
               [SW_NAME_MAX]; /* extra labels (key, value) for payloads and silences */
    int nlabels;
    enum sw_alarm_source source;
    enum sw_live_quantity live; /* SW_ALARM_LIVE */
    int live_trigger;           /* SW_LIVE_TRIGGER_RATE: one trigger type (SW_TRIG_*), or -1 for all */
    struct sw_check_def q;      /* SW_ALARM_QUANTITY: quantity only (absolute) */
    int check;           /* SW_ALARM_CHECK_STATE: index of the check; value = state (GOOD 0, WARN 1, BAD 2) */
    int flag;            /* SW_ALARM_FLAG: value = 1 when the spill flag is this state, else 0 */
    double above, below; /* fires when value > above or value < below (NaN = no such side) */
    double recover_above, recover_below; /* firing ends when value <= recover_above and >= recover_below */
    int for_spills;                      /* spill rules: consecutive spills the condition must hold */
    double for_seconds;                  /* live rules: seconds the condition must hold without a break */
    int latched;                         /* stays firing until reset */
    int requires_beam;                   /* suppressed while there is no beam */
    struct sw_alarm_hook hooks[SW_ALARM_HOOKS_MAX];
    int nhooks;
};

struct sw_profile {
    char name[SW_NAME_MAX];
    char version[SW_NAME_MAX + 24]; /* "<version>#<hash>", recorded with every automatic flag; the hash
                                     * (FNV-1a 64 of the canonical profile JSON) changes with any edit */
    struct sw_fields fields;        /* includes the pseudo-field "trigger" (the trigger number) */
    int trigger_field;              /* index of "trigger" in fields */
    struct sw_hist_def *hists;
    int nhists;
    int *hist_order; /* owned: histogram indices sorted by name (sw_profile_find_hist), or NULL */
    struct sw_check_def *checks;
    int nchecks;
    int *check_order; /* owned: check indices sorted by name (alarm rules find theirs), or NULL */
    char mot_counter[SW_NAME_MAX]; /* counter holding muons on target ("mot") */
    struct sw_hook_def *hooks;
    int nhooks;
    struct sw_alarm_def *alarms;
    int nalarms;
    char **manual_reasons; /* vocabulary of manual-flag reasons (owned) */
    int nreasons;
    double beam_min_mot; /* a spill with fewer MOT had no beam */
    /* "conditions": the run_start.meta keys that describe a run's conditions (beam, momentum setting,
     * trigger configuration, target); baselines carry over between runs that match on them. */
    char conditions[SW_CONDITIONS_MAX][SW_NAME_MAX];
    int nconditions;
    /* "subsystems": the overview's status rows (name, title) in display order; without the key, the
     * checks' subsystems in order of first appearance, titled by name */
    char subsystems[SW_SUBSYSTEMS_MAX][2][SW_NAME_MAX];
    int nsubsystems;
    /* "daq_sources": the DAQ sources every spill_end with daq_sources should list (owned); NULL
     * when the profile has no such list */
    char (*daq_sources)[SW_DAQ_SOURCE_MAX + 1];
    int ndaq_sources;
    atomic_int refcount; /* heap profiles (sw_profile_adopt): references held; 0 for a value */
};

/* Parses and validates a profile from JSON (borrowed); `where` prefixes the messages (a file name,
 * or "request body"). Returns 0, or -1 with every problem in d (p then released). */
int sw_profile_parse(struct sw_profile *p, json_t *root, const char *where, struct sw_diag *d);
/* Frees what a profile owns; accepts a zeroed or released struct. */
void sw_profile_release(struct sw_profile *p);

/* Reads, parses and validates the profile file at path (sw_profile_parse with the path as
 * `where`). 0, or -1 with every problem in d (p then released). */
int sw_profile_load(struct sw_profile *p, const char *path, struct sw_diag *d);

/* Moves the value *p into a new heap profile with one reference (the caller's); *p is zeroed.
 * NULL on out of memory (*p unchanged). Thread-safe. */
struct sw_profile *sw_profile_adopt(struct sw_profile *p);
/* Takes one more reference to a heap profile; returns p. A value profile (count 0) is returned
 * unchanged. Any thread; accepts NULL. */
struct sw_profile *sw_profile_ref(struct sw_profile *p);
/* Drops a reference; the last one of a heap profile frees it. Any thread; accepts NULL and value
 * profiles (nothing happens). */
void sw_profile_unref(struct sw_profile *p);

/* 1 when the hook definitions of a and b are the same (names, order, every setting), else 0. */
int sw_profile_same_hooks(const struct sw_profile *a, const struct sw_profile *b);

/* Index of a histogram by name, or -1. */
int sw_profile_find_hist(const struct sw_profile *p, const char *name);

#endif
