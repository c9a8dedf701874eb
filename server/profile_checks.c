/* profile_checks.c — the quality checks of a profile (profile_parse.h): quantities (histogram
 * statistics with peers, counters, spill fields, DAQ problem fractions), references, compare,
 * the physical and stability windows, significance. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cfgkit.h"
#include "event.h"
#include "profile.h"
#include "profile_parse.h"

static int parse_range(json_t *r, double *lo, double *hi, const char *path, struct sw_diag *d)
{
    *lo = -INFINITY;
    *hi = INFINITY;
    if (!json_is_array(r) || json_array_size(r) != 2) {
        sw_diag_add(d, "%s: must be [low, high] (null for an open end)", path);
        return -1;
    }
    json_t *a = json_array_get(r, 0), *b = json_array_get(r, 1);
    if (!(json_is_null(a) || json_is_number(a)) || !(json_is_null(b) || json_is_number(b))) {
        sw_diag_add(d, "%s: bounds must be numbers or null", path);
        return -1;
    }
    if (json_is_number(a))
        *lo = json_number_value(a);
    if (json_is_number(b))
        *hi = json_number_value(b);
    if (!(*lo <= *hi)) {
        sw_diag_add(d, "%s: low must be <= high", path);
        return -1;
    }
    return 0;
}

static const char *const stat_names[] = {"mean",
                                         "rms",
                                         "peak",
                                         "entries",
                                         "missing",
                                         "mean_y",
                                         "rms_y",
                                         "frac_above",
                                         "frac_below",
                                         "integral",
                                         "ks_prob",
                                         "chi2_prob",
                                         "dead_channels",
                                         "hot_channels",
                                         "peer_dead_channels",
                                         "peer_hot_channels",
                                         NULL};
static const char *const spill_field_names[] = {"duration",      "dead_time",      "events",
                                                "decode_errors", "unknown_fields", NULL};

/* "peers": [histogram names]: the expectation is the median of the same statistic over these
 * histograms (the check's own included), so a module is judged against the others of its kind in the
 * same spill, which no baseline can learn away. At least 3, with the check's own histogram among them. */
static void parse_peers(json_t *peers, struct sw_check_def *def, const struct sw_profile *prof, const char *p,
                        struct sw_diag *d)
{
    if (!peers)
        return;
    size_t n = json_is_array(peers) ? json_array_size(peers) : 0;
    if (!json_is_array(peers) || n < 3 || n > SW_PEERS_MAX) {
        sw_diag_add(d, "%s.peers: must be an array of 3 to %d histogram names (a median needs a group)", p,
                    SW_PEERS_MAX);
        return;
    }
    int own = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(peers, i);
        int h = json_is_string(v) ? sw_profile_find_hist(prof, json_string_value(v)) : -1;
        if (h < 0) {
            sw_diag_add(d, "%s.peers[%zu]: unknown histogram %s%s%s", p, i, json_is_string(v) ? "\"" : "",
                        json_is_string(v) ? json_string_value(v) : "(not a string)",
                        json_is_string(v) ? "\"" : "");
            continue;
        }
        for (int j = 0; j < def->npeers; j++)
            if (def->peers[j] == h)
                sw_diag_add(d, "%s.peers[%zu]: \"%s\" is listed twice", p, i, json_string_value(v));
        if (h == def->hist)
            own = 1;
        if (def->hist >= 0 && prof->hists[h].dim != prof->hists[def->hist].dim)
            sw_diag_add(d, "%s.peers[%zu]: \"%s\" is not of the same dimension as \"%s\"", p, i,
                        json_string_value(v), prof->hists[def->hist].name);
        def->peers[def->npeers++] = h;
    }
    if (def->hist >= 0 && !own)
        sw_diag_add(d, "%s.peers: must include the check's own histogram \"%s\"", p,
                    prof->hists[def->hist].name);
    if (def->stat == SW_STAT_KS_PROB || def->stat == SW_STAT_CHI2_PROB ||
        def->stat == SW_STAT_DEAD_CHANNELS || def->stat == SW_STAT_HOT_CHANNELS)
        sw_diag_add(d, "%s.peers: not with a reference-histogram statistic", p);
}

/* {"daq": PROBLEM, "source": NAME | "*"}: the fraction of a DAQ source's events with that problem.
 * With the profile's daq_sources given (parsed before the checks and alarms), a named source must
 * be one of them. */
static void parse_daq_quantity(json_t *q, const char *problem, struct sw_check_def *def,
                               const struct sw_profile *prof, const char *p, struct sw_diag *d)
{
    def->kind = SW_Q_DAQ;
    int k = sw_daq_problem_parse(problem);
    if (k < 0)
        sw_diag_add(d, "%s.daq: unknown problem \"%s\" (missing, empty, truncated or bad)", p, problem);
    else
        def->daq_problem = (enum sw_daq_problem)k;
    const char *source = sw_cfg_get_string(q, "source", NULL, p, d);
    if (!json_object_get(q, "source"))
        sw_diag_add(d, "%s.source: required for a daq quantity (a source name, or \"*\" for the worst)", p);
    else if (source && strcmp(source, "*") != 0 && !sw_daq_source_ok(source))
        sw_diag_add(d, "%s.source: \"%.80s\" must be \"*\" or 1..%d characters of [A-Za-z0-9._-]", p, source,
                    SW_DAQ_SOURCE_MAX);
    else if (source) {
        snprintf(def->daq_source, sizeof def->daq_source, "%s", source);
        int listed = !prof->daq_sources || strcmp(source, "*") == 0;
        for (int i = 0; !listed && i < prof->ndaq_sources; i++)
            listed = strcmp(prof->daq_sources[i], source) == 0;
        if (!listed)
            sw_diag_add(d, "%s.source: \"%s\" is not one of $.daq_sources", p, source);
    }
    def->daq_expected = (const char(*)[SW_DAQ_SOURCE_MAX + 1]) prof->daq_sources;
    def->ndaq_expected = prof->ndaq_sources;
}

/* Parses a quantity object (checks and alarm rules share it) into def. */
void sw_profile_parse_quantity(json_t *q, struct sw_check_def *def, const struct sw_profile *prof,
                               const char *p, struct sw_diag *d)
{
    static const char *const qknown[] = {"hist",  "stat", "value", "window", "low",    "high",  "counter",
                                         "spill", "per",  "peers", "daq",    "source", "group", NULL};
    if (!json_is_object(q)) {
        sw_diag_add(d, "%s: must be an object with hist+stat, counter, spill or daq+source", p);
    } else {
        sw_cfg_check_keys(q, qknown, p, d);
        const char *hist = sw_cfg_get_string(q, "hist", NULL, p, d);
        const char *counter = sw_cfg_get_string(q, "counter", NULL, p, d);
        const char *spill = sw_cfg_get_string(q, "spill", NULL, p, d);
        const char *daq = sw_cfg_get_string(q, "daq", NULL, p, d);
        if (!!hist + !!counter + !!spill + !!daq != 1)
            sw_diag_add(d, "%s: exactly one of hist, counter, spill, daq is required", p);
        else if (daq)
            parse_daq_quantity(q, daq, def, prof, p, d);
        else if (hist) {
            def->kind = SW_Q_HIST;
            def->hist = sw_profile_find_hist(prof, hist);
            if (def->hist < 0)
                sw_diag_add(d, "%s.hist: unknown histogram \"%s\"", p, hist);
            const char *stat = sw_cfg_get_string(q, "stat", "mean", p, d);
            int s = sw_cfg_name_index(stat_names, stat);
            if (s < 0)
                sw_diag_add(d, "%s.stat: unknown statistic \"%s\"", p, stat);
            else
                def->stat = (enum sw_stat)s;
            if (s == SW_STAT_FRAC_ABOVE || s == SW_STAT_FRAC_BELOW) {
                if (!json_object_get(q, "value"))
                    sw_diag_add(d, "%s.value: required for %s", p, stat);
                def->stat_arg = sw_cfg_get_number(q, "value", 0, -1e300, 1e300, p, d);
            }
            if (s == SW_STAT_INTEGRAL) {
                json_t *w = json_object_get(q, "window");
                if (!json_is_array(w) || json_array_size(w) != 2 || !json_is_number(json_array_get(w, 0)) ||
                    !json_is_number(json_array_get(w, 1)) ||
                    !(json_number_value(json_array_get(w, 0)) < json_number_value(json_array_get(w, 1))))
                    sw_diag_add(d, "%s.window: [low, high] with low < high is required for integral", p);
                else {
                    def->stat_arg = json_number_value(json_array_get(w, 0));
                    def->stat_arg2 = json_number_value(json_array_get(w, 1));
                }
            }
            if (s == SW_STAT_DEAD_CHANNELS)
                def->stat_arg = sw_cfg_get_number(q, "low", 0.2, 0, 1, p, d);
            if (s == SW_STAT_HOT_CHANNELS)
                def->stat_arg = sw_cfg_get_number(q, "high", 5, 1, 1e6, p, d);
            if (s == SW_STAT_PEER_DEAD || s == SW_STAT_PEER_HOT) {
                def->stat_arg = s == SW_STAT_PEER_DEAD ? sw_cfg_get_number(q, "low", 0.2, 0, 1, p, d)
                                                       : sw_cfg_get_number(q, "high", 20, 1, 1e6, p, d);
                def->group = (int)sw_cfg_get_int(q, "group", 0, 0, 1000000, p, d);
                int bins = def->hist >= 0 ? prof->hists[def->hist].x.bins : 0;
                if (!json_object_get(q, "group"))
                    sw_diag_add(d, "%s.group: required for %s (channels per module)", p, stat);
                else if (def->hist >= 0 && prof->hists[def->hist].dim != 1)
                    sw_diag_add(d, "%s.stat: %s needs a 1D histogram of channels", p, stat);
                else if (def->hist >= 0 && (def->group < 1 || bins % def->group || bins / def->group < 3))
                    sw_diag_add(d,
                                "%s.group: %d channels per group does not divide the %d bins into at least 3 "
                                "groups (a median of peers needs them)",
                                p, def->group, bins);
            } else if (json_object_get(q, "group"))
                sw_diag_add(d, "%s.group: only for peer_dead_channels and peer_hot_channels", p);
            if (def->hist >= 0 && prof->hists[def->hist].dim == 2 &&
                (s == SW_STAT_PEAK || s == SW_STAT_FRAC_ABOVE || s == SW_STAT_FRAC_BELOW ||
                 s == SW_STAT_INTEGRAL))
                sw_diag_add(d, "%s.stat: %s needs a 1D histogram", p, stat);
            if (def->hist >= 0 && prof->hists[def->hist].dim == 1 &&
                (s == SW_STAT_MEAN_Y || s == SW_STAT_RMS_Y))
                sw_diag_add(d, "%s.stat: %s needs a 2D histogram", p, stat);
            parse_peers(json_object_get(q, "peers"), def, prof, p, d);
        } else if (counter) {
            def->kind = SW_Q_COUNTER;
            sw_cfg_copy_name(def->counter, sizeof def->counter, counter, p, d);
        } else {
            def->kind = SW_Q_SPILL;
            int s = sw_cfg_name_index(spill_field_names, spill);
            if (s < 0)
                sw_diag_add(d,
                            "%s.spill: must be one of duration, dead_time, events, decode_errors, "
                            "unknown_fields",
                            p);
            else
                def->spill_field = (enum sw_spill_field)s;
        }
        if (!hist && json_object_get(q, "peers"))
            sw_diag_add(d, "%s.peers: only for histogram quantities", p);
        if (!daq && json_object_get(q, "source"))
            sw_diag_add(d, "%s.source: only for daq quantities", p);
        const char *per = sw_cfg_get_string(q, "per", NULL, p, d);
        if (per && (hist || daq))
            sw_diag_add(d, "%s.per: only for counter and spill quantities", p);
        else if (per && strcmp(per, "second") == 0)
            def->per = SW_PER_SECOND;
        else if (per) {
            def->per = SW_PER_COUNTER;
            sw_cfg_copy_name(def->per_counter, sizeof def->per_counter, per, p, d);
        }
    }
}

/* "compare" of obj: absolute, delta or ratio (def when absent). */
static enum sw_compare parse_compare(json_t *obj, const char *def, const char *path, struct sw_diag *d)
{
    const char *cmp = sw_cfg_get_string(obj, "compare", def, path, d);
    if (strcmp(cmp, "delta") == 0)
        return SW_CMP_DELTA;
    if (strcmp(cmp, "ratio") == 0)
        return SW_CMP_RATIO;
    if (strcmp(cmp, "absolute") != 0)
        sw_diag_add(d, "%s.compare: must be one of absolute, delta, ratio", path);
    return SW_CMP_ABSOLUTE;
}

/* "good" ([lo, hi], required) and "warn" (containing good; default: good) of obj. */
static void parse_good_warn(json_t *obj, double *glo, double *ghi, double *wlo, double *whi, const char *path,
                            struct sw_diag *d)
{
    char p[160];
    snprintf(p, sizeof p, "%s.good", path);
    int g = parse_range(json_object_get(obj, "good"), glo, ghi, p, d);
    json_t *warn = json_object_get(obj, "warn");
    if (warn) {
        snprintf(p, sizeof p, "%s.warn", path);
        if (parse_range(warn, wlo, whi, p, d) == 0 && g == 0 && !(*wlo <= *glo && *whi >= *ghi))
            sw_diag_add(d, "%s: the warn range must contain the good range", p);
    } else {
        *wlo = *glo;
        *whi = *ghi;
    }
}

/* "physical": {"good": [lo, hi], "warn": [lo, hi], "compare": "absolute"|"delta"|"ratio",
 *              "nominal": number | {"meta": key, "default": number}} */
static void parse_physical(json_t *w, struct sw_window *win, const struct sw_profile *prof, const char *path,
                           struct sw_diag *d)
{
    static const char *const known[] = {"good", "warn", "compare", "nominal", NULL};
    char p[160];
    win->nominal = NAN;
    win->nominal_meta = -1;
    if (!w)
        return;
    if (!json_is_object(w)) {
        sw_diag_add(d, "%s: must be an object with good (and warn, compare, nominal)", path);
        return;
    }
    sw_cfg_check_keys(w, known, path, d);
    win->on = 1;
    win->compare = parse_compare(w, "absolute", path, d);
    json_t *nom = json_object_get(w, "nominal");
    snprintf(p, sizeof p, "%s.nominal", path);
    if (json_is_number(nom))
        win->nominal = json_number_value(nom);
    else if (json_is_object(nom)) {
        static const char *const nknown[] = {"meta", "default", NULL};
        sw_cfg_check_keys(nom, nknown, p, d);
        const char *key = sw_cfg_get_string(nom, "meta", NULL, p, d);
        if (!key)
            sw_diag_add(d, "%s.meta: missing (a run_start.meta key of $.conditions)", p);
        for (int i = 0; key && i < prof->nconditions; i++)
            if (strcmp(prof->conditions[i], key) == 0)
                win->nominal_meta = i;
        if (key && win->nominal_meta < 0)
            sw_diag_add(d, "%s.meta: unknown meta key \"%s\" (not in $.conditions)", p, key);
        if (!json_is_number(json_object_get(nom, "default")))
            sw_diag_add(d, "%s.default: a number is required (used when the run does not say)", p);
        else
            win->nominal = json_number_value(json_object_get(nom, "default"));
    } else if (nom)
        sw_diag_add(d, "%s: a number or {\"meta\": key, \"default\": number}", p);
    if (win->compare != SW_CMP_ABSOLUTE && !nom)
        sw_diag_add(d, "%s.nominal: required when compare is %s", path,
                    win->compare == SW_CMP_DELTA ? "delta" : "ratio");
    if (win->compare == SW_CMP_ABSOLUTE && nom)
        sw_diag_add(d, "%s.nominal: only with compare delta or ratio", path);
    if (win->compare == SW_CMP_RATIO && win->nominal == 0)
        sw_diag_add(d, "%s.nominal: must not be 0 for a ratio", path);
    parse_good_warn(w, &win->good_lo, &win->good_hi, &win->warn_lo, &win->warn_hi, path, d);
}

/* "reference": {"baseline": N, "learn": K, "match": [keys]} */
static void parse_baseline(json_t *ref, struct sw_check_def *def, const struct sw_profile *prof,
                           const char *p, struct sw_diag *d)
{
    def->ref_kind = SW_REF_BASELINE;
    def->base_n = (int)sw_cfg_get_int(ref, "baseline", 20, 1, 1000, p, d);
    def->base_learn = (int)sw_cfg_get_int(ref, "learn", def->base_n < 5 ? def->base_n : 5, 1, 1000, p, d);
    if (def->base_learn > def->base_n)
        sw_diag_add(d, "%s.learn: %d spills to learn from, but the baseline keeps only %d", p,
                    def->base_learn, def->base_n);
    json_t *match = json_object_get(ref, "match");
    if (!match) { /* every condition of the profile */
        def->base_match = (1u << prof->nconditions) - 1;
        return;
    }
    if (!json_is_array(match)) {
        sw_diag_add(d, "%s.match: must be an array of $.conditions keys", p);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(match, i, v)
    {
        int k = -1;
        for (int j = 0; json_is_string(v) && j < prof->nconditions; j++)
            if (strcmp(prof->conditions[j], json_string_value(v)) == 0)
                k = j;
        if (k < 0)
            sw_diag_add(d, "%s.match[%zu]: unknown meta key %s (not in $.conditions)", p, i,
                        json_is_string(v) ? json_string_value(v) : "(not a string)");
        else
            def->base_match |= 1u << k;
    }
}

void sw_profile_parse_check(json_t *c, struct sw_check_def *def, const struct sw_profile *prof,
                            const char *path, struct sw_diag *d)
{
    static const char *const known[] = {
        "name", "title",       "category",      "unit", "quantity", "reference",    "compare",   "good",
        "warn", "min_entries", "requires_beam", "skip", "physical", "significance", "subsystem", NULL};
    char p[128];
    if (sw_cfg_named(c, known, path, def->name, sizeof def->name, def->title, sizeof def->title, def->unit,
                     sizeof def->unit, d) != 0)
        return;
    const char *cat = sw_cfg_get_string(c, "category", "", path, d);
    if (strcmp(cat, "beam") && strcmp(cat, "detector") && strcmp(cat, "daq"))
        sw_diag_add(d, "%s.category: must be one of beam, detector, daq", path);
    snprintf(def->category, sizeof def->category, "%s", cat);
    def->subsystem_given = json_object_get(c, "subsystem") != NULL;
    const char *subsys = sw_cfg_get_string(c, "subsystem", cat, path, d);
    if (!*subsys || strlen(subsys) >= sizeof def->subsystem)
        sw_diag_add(d, "%s.subsystem: must be a name of 1 to %d characters", path, SW_NAME_MAX - 1);
    snprintf(def->subsystem, sizeof def->subsystem, "%.63s", subsys);

    snprintf(p, sizeof p, "%s.quantity", path);
    sw_profile_parse_quantity(json_object_get(c, "quantity"), def, prof, p, d);

    def->compare = parse_compare(c, def->npeers ? "ratio" : "absolute", path, d);
    const char *cmp = def->compare == SW_CMP_DELTA   ? "delta"
                      : def->compare == SW_CMP_RATIO ? "ratio"
                                                     : "absolute";
    def->reference = NAN;
    json_t *ref = json_object_get(c, "reference");
    snprintf(p, sizeof p, "%s.reference", path);
    if (ref && def->npeers)
        sw_diag_add(d, "%s: a peer comparison takes its expectation from quantity.peers, not a reference", p);
    else if (json_is_number(ref)) {
        def->ref_kind = SW_REF_FIXED;
        def->reference = json_number_value(ref);
    } else if (json_is_object(ref)) {
        static const char *const rknown[] = {"rolling_median", "min_spills", "run", "baseline",
                                             "learn",          "match",      NULL};
        sw_cfg_check_keys(ref, rknown, p, d);
        int kinds = !!json_object_get(ref, "rolling_median") + !!json_object_get(ref, "run") +
                    !!json_object_get(ref, "baseline");
        if (kinds != 1)
            sw_diag_add(d, "%s: exactly one of baseline, rolling_median, run", p);
        else if (json_object_get(ref, "baseline")) {
            if (json_object_get(ref, "min_spills"))
                sw_diag_add(d, "%s.min_spills: a baseline says \"learn\"", p);
            parse_baseline(ref, def, prof, p, d);
            if (def->kind == SW_Q_HIST &&
                (def->stat == SW_STAT_KS_PROB || def->stat == SW_STAT_CHI2_PROB ||
                 def->stat == SW_STAT_DEAD_CHANNELS || def->stat == SW_STAT_HOT_CHANNELS))
                sw_diag_add(d, "%s.baseline: a reference-histogram statistic needs {\"run\": R}", p);
        } else if (json_object_get(ref, "rolling_median")) {
            if (json_object_get(ref, "learn") || json_object_get(ref, "match"))
                sw_diag_add(d, "%s: learn and match belong to a baseline", p);
            def->ref_kind = SW_REF_ROLLING;
            def->rolling_n = (int)sw_cfg_get_int(ref, "rolling_median", 20, 1, 1000, p, d);
            def->rolling_min =
                (int)sw_cfg_get_int(ref, "min_spills", (def->rolling_n + 1) / 2, 1, def->rolling_n, p, d);
        } else {
            if (json_object_get(ref, "learn") || json_object_get(ref, "match"))
                sw_diag_add(d, "%s: learn and match belong to a baseline", p);
            def->ref_kind = SW_REF_RUN;
            def->ref_run = sw_cfg_get_int(ref, "run", 0, 0, INT64_MAX, p, d);
            if (def->kind != SW_Q_HIST)
                sw_diag_add(d, "%s.run: a reference run needs a histogram quantity", p);
        }
    } else if (ref)
        sw_diag_add(d, "%s: a number, {\"baseline\": N}, {\"rolling_median\": N} or {\"run\": R}", p);
    int shape =
        def->kind == SW_Q_HIST && (def->stat == SW_STAT_KS_PROB || def->stat == SW_STAT_CHI2_PROB ||
                                   def->stat == SW_STAT_DEAD_CHANNELS || def->stat == SW_STAT_HOT_CHANNELS);
    if (shape && def->ref_kind != SW_REF_RUN)
        sw_diag_add(d, "%s: this statistic compares with a reference histogram: {\"run\": R} is required", p);
    else if (shape && def->compare != SW_CMP_ABSOLUTE)
        sw_diag_add(d, "%s.compare: must be absolute for a comparison with a reference histogram", path);
    else if (!shape && def->compare != SW_CMP_ABSOLUTE && def->ref_kind == SW_REF_NONE && !def->npeers)
        sw_diag_add(d, "%s: required when compare is \"%s\"", p, cmp);
    if (def->compare == SW_CMP_RATIO && def->ref_kind == SW_REF_FIXED && def->reference == 0)
        sw_diag_add(d, "%s: must not be 0 for a ratio", p);
    if (def->npeers && def->compare == SW_CMP_ABSOLUTE)
        sw_diag_add(d, "%s.compare: a peer comparison is a ratio or a delta", path);

    snprintf(p, sizeof p, "%s.physical", path);
    parse_physical(json_object_get(c, "physical"), &def->phys, prof, p, d);
    json_t *good = json_object_get(c, "good"), *warn = json_object_get(c, "warn");
    def->stability = good != NULL;
    def->good_lo = def->warn_lo = -INFINITY;
    def->good_hi = def->warn_hi = INFINITY;
    if (!good && !def->phys.on)
        sw_diag_add(d, "%s.good: missing (a check needs good, or a physical window)", path);
    else if (!good && warn)
        sw_diag_add(d, "%s.warn: only with good", path);
    else if (!good && (def->ref_kind != SW_REF_NONE || def->npeers))
        sw_diag_add(d, "%s.good: required with a reference or peers (the stability window)", path);
    else if (!good && def->compare != SW_CMP_ABSOLUTE)
        sw_diag_add(d, "%s.compare: without good, only the physical window judges", path);
    if (good)
        parse_good_warn(c, &def->good_lo, &def->good_hi, &def->warn_lo, &def->warn_hi, path, d);
    json_t *sig = json_object_get(c, "significance");
    if (sig) {
        snprintf(p, sizeof p, "%s.significance", path);
        json_t *a = json_array_get(sig, 0), *b = json_array_get(sig, 1);
        if (!json_is_array(sig) || json_array_size(sig) != 2 || !json_is_number(a) || !json_is_number(b) ||
            !(json_number_value(a) > 0) || !(json_number_value(b) >= json_number_value(a)) ||
            json_number_value(b) > 1000)
            sw_diag_add(d, "%s: must be [z_warn, z_bad] with 0 < z_warn <= z_bad <= 1000", p);
        else if (!good)
            sw_diag_add(d, "%s: applies to the stability window (good), which this check has not", p);
        else if (def->compare == SW_CMP_ABSOLUTE && def->kind != SW_Q_DAQ)
            sw_diag_add(d,
                        "%s: a deviation needs an expectation: compare delta or ratio against a reference "
                        "or peers (or a daq quantity, whose limits it gates)",
                        p);
        else {
            def->sig_warn = json_number_value(a);
            def->sig_bad = json_number_value(b);
        }
    }
    def->min_entries = (uint64_t)sw_cfg_get_int(c, "min_entries", 0, 0, 1000000000, path, d);
    json_t *rb = json_object_get(c, "requires_beam");
    if (rb && !json_is_boolean(rb))
        sw_diag_add(d, "%s.requires_beam: must be true or false", path);
    def->requires_beam = rb ? json_is_true(rb) : 1;
    json_t *skip = json_object_get(c, "skip");
    if (skip && !json_is_boolean(skip))
        sw_diag_add(d, "%s.skip: must be true or false", path);
    def->skip = json_is_true(skip);
}
