/* config.c — see config.h */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "quality.h"

void sw_diag_add(struct sw_diag *d, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **grown = realloc(d->msg, (size_t)(d->n + 1) * sizeof *grown);
    if (!grown)
        return;
    d->msg = grown;
    d->msg[d->n] = strdup(buf);
    if (d->msg[d->n])
        d->n++;
}

void sw_diag_release(struct sw_diag *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->msg[i]);
    free(d->msg);
    d->msg = NULL;
    d->n = 0;
}

/* Resolves rel against the directory of base_file (absolute paths stay as they are). */
static void resolve_path(char *out, size_t outlen, const char *base_file, const char *rel)
{
    if (rel[0] == '/') {
        snprintf(out, outlen, "%s", rel);
        return;
    }
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", base_file);
    snprintf(out, outlen, "%s/%s", dirname(tmp), rel);
}

/* ---- small typed getters: each reports a bad type with its path and returns the default ---- */

static const char *get_string(json_t *obj, const char *key, const char *def, const char *path,
                              struct sw_diag *d)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return def;
    if (!json_is_string(v)) {
        sw_diag_add(d, "%s.%s: must be a string", path, key);
        return def;
    }
    return json_string_value(v);
}

static double get_number(json_t *obj, const char *key, double def, double lo, double hi, const char *path,
                         struct sw_diag *d)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return def;
    if (!json_is_number(v)) {
        sw_diag_add(d, "%s.%s: must be a number", path, key);
        return def;
    }
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) {
        sw_diag_add(d, "%s.%s: must be within [%g, %g], got %g", path, key, lo, hi, x);
        return def;
    }
    return x;
}

static long long get_int(json_t *obj, const char *key, long long def, long long lo, long long hi,
                         const char *path, struct sw_diag *d)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return def;
    if (!json_is_integer(v)) {
        sw_diag_add(d, "%s.%s: must be an integer", path, key);
        return def;
    }
    long long x = json_integer_value(v);
    if (x < lo || x > hi) {
        sw_diag_add(d, "%s.%s: must be within [%lld, %lld], got %lld", path, key, lo, hi, x);
        return def;
    }
    return x;
}

/* Names that appear in URLs (histograms, checks, alarms, hooks): letters, digits, '_' and '-'. */
static void check_name_chars(const char *name, const char *path, struct sw_diag *d)
{
    for (const char *c = name; *c; c++)
        if (!(*c == '_' || *c == '-' || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
              (*c >= 'A' && *c <= 'Z'))) {
            sw_diag_add(d, "%s: \"%s\" may hold only letters, digits, '_' and '-'", path, name);
            return;
        }
}

static void copy_name(char *dst, size_t dstlen, const char *src, const char *path, struct sw_diag *d)
{
    if (strlen(src) >= dstlen)
        sw_diag_add(d, "%s: \"%s\" is longer than %zu characters", path, src, dstlen - 1);
    snprintf(dst, dstlen, "%s", src);
}

static void check_keys(json_t *obj, const char *const *known, const char *path, struct sw_diag *d)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            if (strcmp(*k, key) == 0)
                ok = 1;
        if (!ok && key[0] != '_') /* "_comment" style keys document the file */
            sw_diag_add(d, "%s.%s: unknown key", path, key);
    }
}

static json_t *load_json(const char *path, struct sw_diag *d)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        sw_diag_add(d, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        sw_diag_add(d, "%s: $: must be an object", path);
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- profile ---- */

static void parse_axis(json_t *ax, struct sw_axis *axis, struct sw_selector *sel,
                       const struct sw_fields *fields, const char *path, struct sw_diag *d, int allow_each)
{
    static const char *const known[] = {"source", "bins", "min", "max", "unit", NULL};
    if (!json_is_object(ax)) {
        sw_diag_add(d, "%s: must be an object with source, bins, min, max", path);
        return;
    }
    check_keys(ax, known, path, d);
    axis->bins = (int)get_int(ax, "bins", 0, 1, 100000, path, d);
    if (!json_object_get(ax, "bins"))
        sw_diag_add(d, "%s.bins: missing", path);
    axis->min = get_number(ax, "min", 0, -1e300, 1e300, path, d);
    axis->max = get_number(ax, "max", 1, -1e300, 1e300, path, d);
    if (!json_object_get(ax, "min") || !json_object_get(ax, "max"))
        sw_diag_add(d, "%s: min and max are required", path);
    else if (!(axis->min < axis->max))
        sw_diag_add(d, "%s: min must be < max", path);
    const char *src = get_string(ax, "source", NULL, path, d);
    if (!src) {
        sw_diag_add(d, "%s.source: missing", path);
        return;
    }
    char err[160];
    if (sw_selector_parse(sel, src, fields, err, sizeof err) != 0)
        sw_diag_add(d, "%s.source: %s", path, err);
    else if (sel->kind == SW_SEL_EACH && !allow_each)
        sw_diag_add(d, "%s.source: each() is only allowed as the x source of a 1D histogram", path);
}

static void parse_hist(json_t *h, struct sw_hist_def *def, const struct sw_fields *fields, const char *path,
                       struct sw_diag *d)
{
    static const char *const known[] = {"name",    "title", "unit",      "x", "y",
                                        "trigger", "cut",   "threshold", NULL};
    char p[128];
    if (!json_is_object(h)) {
        sw_diag_add(d, "%s: must be an object", path);
        return;
    }
    check_keys(h, known, path, d);
    const char *name = get_string(h, "name", NULL, path, d);
    if (!name || !*name)
        sw_diag_add(d, "%s.name: missing", path);
    else {
        snprintf(p, sizeof p, "%s.name", path);
        copy_name(def->name, sizeof def->name, name, p, d);
        check_name_chars(name, p, d);
    }
    snprintf(def->title, sizeof def->title, "%s", get_string(h, "title", def->name, path, d));
    snprintf(def->unit, sizeof def->unit, "%s", get_string(h, "unit", "", path, d));
    snprintf(p, sizeof p, "%s.x", path);
    json_t *y = json_object_get(h, "y");
    parse_axis(json_object_get(h, "x"), &def->x, &def->xsel, fields, p, d, y == NULL);
    def->dim = 1;
    if (y) {
        def->dim = 2;
        snprintf(p, sizeof p, "%s.y", path);
        parse_axis(y, &def->y, &def->ysel, fields, p, d, 0);
        snprintf(def->unit_y, sizeof def->unit_y, "%s", get_string(y, "unit", "", p, d));
    }
    json_t *trig = json_object_get(h, "trigger");
    if (trig) {
        if (!json_is_array(trig) || json_array_size(trig) == 0)
            sw_diag_add(d, "%s.trigger: must be a non-empty array of trigger names", path);
        size_t i;
        json_t *t;
        json_array_foreach(trig, i, t)
        {
            int k = json_is_string(t) ? sw_trigger_parse(json_string_value(t)) : -1;
            if (k < 0)
                sw_diag_add(d, "%s.trigger[%zu]: must be one of physics, beam, random, led", path, i);
            else
                def->trigger_mask |= 1u << k;
        }
    }
    def->threshold = get_number(h, "threshold", 0, -1e300, 1e300, path, d);
    json_t *cut = json_object_get(h, "cut");
    if (cut) {
        static const char *const cut_known[] = {"source", "min", "max", NULL};
        snprintf(p, sizeof p, "%s.cut", path);
        if (!json_is_object(cut)) {
            sw_diag_add(d, "%s: must be an object with source, min, max", p);
            return;
        }
        check_keys(cut, cut_known, p, d);
        def->has_cut = 1;
        def->cut_min = get_number(cut, "min", -INFINITY, -1e300, 1e300, p, d);
        def->cut_max = get_number(cut, "max", INFINITY, -1e300, 1e300, p, d);
        const char *src = get_string(cut, "source", NULL, p, d);
        char err[160];
        if (!src)
            sw_diag_add(d, "%s.source: missing", p);
        else if (sw_selector_parse(&def->cut, src, fields, err, sizeof err) != 0)
            sw_diag_add(d, "%s.source: %s", p, err);
        else if (def->cut.kind == SW_SEL_EACH)
            sw_diag_add(d, "%s.source: each() cannot be a cut", p);
    }
}

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

/* Names inside an array of structs: element i's name at first + i * stride. */
struct names {
    const char *first;
    size_t stride;
};

static const char *name_at(const struct names *nm, int i)
{
    return nm->first + (size_t)i * nm->stride;
}

static int cmp_names(const void *a, const void *b, void *arg)
{
    int i = *(const int *)a, j = *(const int *)b;
    int c = strcmp(name_at(arg, i), name_at(arg, j));
    return c ? c : (i > j) - (i < j);
}

/* The indices 0..n-1 sorted by name (ties by index), malloc'ed; NULL on out of memory or n == 0. */
static int *sorted_names(const struct names *nm, int n)
{
    int *order = n > 0 ? malloc((size_t)n * sizeof *order) : NULL;
    for (int i = 0; order && i < n; i++)
        order[i] = i;
    if (order)
        qsort_r(order, (size_t)n, sizeof *order, cmp_names, (void *)nm);
    return order;
}

/* Reports every element whose name an earlier one has ("$.histograms[7].name: duplicate histogram
 * \"ecal\""), in O(n log n): a profile of many histograms validates in linear-logarithmic time. */
static void report_duplicates(const struct names *nm, int n, const char *list, const char *what,
                              struct sw_diag *d)
{
    int *order = sorted_names(nm, n);
    for (int k = 1; order && k < n; k++) {
        const char *name = name_at(nm, order[k]);
        if (name[0] && strcmp(name, name_at(nm, order[k - 1])) == 0)
            sw_diag_add(d, "$.%s[%d].name: duplicate %s \"%s\"", list, order[k], what, name);
    }
    free(order);
}

static int name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

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
    const char *source = get_string(q, "source", NULL, p, d);
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
static void parse_quantity(json_t *q, struct sw_check_def *def, const struct sw_profile *prof, const char *p,
                           struct sw_diag *d)
{
    static const char *const qknown[] = {"hist",  "stat", "value", "window", "low",    "high",  "counter",
                                         "spill", "per",  "peers", "daq",    "source", "group", NULL};
    if (!json_is_object(q)) {
        sw_diag_add(d, "%s: must be an object with hist+stat, counter, spill or daq+source", p);
    } else {
        check_keys(q, qknown, p, d);
        const char *hist = get_string(q, "hist", NULL, p, d);
        const char *counter = get_string(q, "counter", NULL, p, d);
        const char *spill = get_string(q, "spill", NULL, p, d);
        const char *daq = get_string(q, "daq", NULL, p, d);
        if (!!hist + !!counter + !!spill + !!daq != 1)
            sw_diag_add(d, "%s: exactly one of hist, counter, spill, daq is required", p);
        else if (daq)
            parse_daq_quantity(q, daq, def, prof, p, d);
        else if (hist) {
            def->kind = SW_Q_HIST;
            def->hist = sw_profile_find_hist(prof, hist);
            if (def->hist < 0)
                sw_diag_add(d, "%s.hist: unknown histogram \"%s\"", p, hist);
            const char *stat = get_string(q, "stat", "mean", p, d);
            int s = name_index(stat_names, stat);
            if (s < 0)
                sw_diag_add(d, "%s.stat: unknown statistic \"%s\"", p, stat);
            else
                def->stat = (enum sw_stat)s;
            if (s == SW_STAT_FRAC_ABOVE || s == SW_STAT_FRAC_BELOW) {
                if (!json_object_get(q, "value"))
                    sw_diag_add(d, "%s.value: required for %s", p, stat);
                def->stat_arg = get_number(q, "value", 0, -1e300, 1e300, p, d);
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
                def->stat_arg = get_number(q, "low", 0.2, 0, 1, p, d);
            if (s == SW_STAT_HOT_CHANNELS)
                def->stat_arg = get_number(q, "high", 5, 1, 1e6, p, d);
            if (s == SW_STAT_PEER_DEAD || s == SW_STAT_PEER_HOT) {
                def->stat_arg = s == SW_STAT_PEER_DEAD ? get_number(q, "low", 0.2, 0, 1, p, d)
                                                       : get_number(q, "high", 20, 1, 1e6, p, d);
                def->group = (int)get_int(q, "group", 0, 0, 1000000, p, d);
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
            copy_name(def->counter, sizeof def->counter, counter, p, d);
        } else {
            def->kind = SW_Q_SPILL;
            int s = name_index(spill_field_names, spill);
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
        const char *per = get_string(q, "per", NULL, p, d);
        if (per && (hist || daq))
            sw_diag_add(d, "%s.per: only for counter and spill quantities", p);
        else if (per && strcmp(per, "second") == 0)
            def->per = SW_PER_SECOND;
        else if (per) {
            def->per = SW_PER_COUNTER;
            copy_name(def->per_counter, sizeof def->per_counter, per, p, d);
        }
    }
}

/* "compare" of obj: absolute, delta or ratio (def when absent). */
static enum sw_compare parse_compare(json_t *obj, const char *def, const char *path, struct sw_diag *d)
{
    const char *cmp = get_string(obj, "compare", def, path, d);
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
    check_keys(w, known, path, d);
    win->on = 1;
    win->compare = parse_compare(w, "absolute", path, d);
    json_t *nom = json_object_get(w, "nominal");
    snprintf(p, sizeof p, "%s.nominal", path);
    if (json_is_number(nom))
        win->nominal = json_number_value(nom);
    else if (json_is_object(nom)) {
        static const char *const nknown[] = {"meta", "default", NULL};
        check_keys(nom, nknown, p, d);
        const char *key = get_string(nom, "meta", NULL, p, d);
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
    def->base_n = (int)get_int(ref, "baseline", 20, 1, 1000, p, d);
    def->base_learn = (int)get_int(ref, "learn", def->base_n < 5 ? def->base_n : 5, 1, 1000, p, d);
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

static void parse_check(json_t *c, struct sw_check_def *def, const struct sw_profile *prof, const char *path,
                        struct sw_diag *d)
{
    static const char *const known[] = {"name",          "title",   "category", "unit",         "quantity",
                                        "reference",     "compare", "good",     "warn",         "min_entries",
                                        "requires_beam", "skip",    "physical", "significance", NULL};
    char p[128];
    if (!json_is_object(c)) {
        sw_diag_add(d, "%s: must be an object", path);
        return;
    }
    check_keys(c, known, path, d);
    const char *name = get_string(c, "name", NULL, path, d);
    if (!name || !*name)
        sw_diag_add(d, "%s.name: missing", path);
    else {
        snprintf(p, sizeof p, "%s.name", path);
        copy_name(def->name, sizeof def->name, name, p, d);
        check_name_chars(name, p, d);
    }
    snprintf(def->title, sizeof def->title, "%s", get_string(c, "title", def->name, path, d));
    snprintf(def->unit, sizeof def->unit, "%s", get_string(c, "unit", "", path, d));
    const char *cat = get_string(c, "category", "", path, d);
    if (strcmp(cat, "beam") && strcmp(cat, "detector") && strcmp(cat, "daq"))
        sw_diag_add(d, "%s.category: must be one of beam, detector, daq", path);
    snprintf(def->category, sizeof def->category, "%s", cat);

    snprintf(p, sizeof p, "%s.quantity", path);
    parse_quantity(json_object_get(c, "quantity"), def, prof, p, d);

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
        check_keys(ref, rknown, p, d);
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
            def->rolling_n = (int)get_int(ref, "rolling_median", 20, 1, 1000, p, d);
            def->rolling_min =
                (int)get_int(ref, "min_spills", (def->rolling_n + 1) / 2, 1, def->rolling_n, p, d);
        } else {
            if (json_object_get(ref, "learn") || json_object_get(ref, "match"))
                sw_diag_add(d, "%s: learn and match belong to a baseline", p);
            def->ref_kind = SW_REF_RUN;
            def->ref_run = get_int(ref, "run", 0, 0, INT64_MAX, p, d);
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
    def->min_entries = (uint64_t)get_int(c, "min_entries", 0, 0, 1000000000, path, d);
    json_t *rb = json_object_get(c, "requires_beam");
    if (rb && !json_is_boolean(rb))
        sw_diag_add(d, "%s.requires_beam: must be true or false", path);
    def->requires_beam = rb ? json_is_true(rb) : 1;
    json_t *skip = json_object_get(c, "skip");
    if (skip && !json_is_boolean(skip))
        sw_diag_add(d, "%s.skip: must be true or false", path);
    def->skip = json_is_true(skip);
}

/* "secret" (inline) or "secret_file" (absolute path; its first line): the HMAC-SHA256 key of a
 * webhook's X-Spillwatch-Signature header. A file keeps the key out of the profile, which is usually
 * under version control. */
static void parse_secret(json_t *h, struct sw_hook_def *def, const char *path, struct sw_diag *d)
{
    const char *secret = get_string(h, "secret", NULL, path, d);
    const char *file = get_string(h, "secret_file", NULL, path, d);
    char buf[1024] = "";
    if (secret && file) {
        sw_diag_add(d, "%s: at most one of secret, secret_file", path);
        return;
    }
    if (file) {
        FILE *f = file[0] == '/' ? fopen(file, "r") : NULL;
        if (file[0] != '/')
            sw_diag_add(d, "%s.secret_file: must be an absolute path", path);
        else if (!f || !fgets(buf, sizeof buf, f))
            sw_diag_add(d, "%s.secret_file: cannot read \"%s\": %s", path, file,
                        f ? "empty file" : strerror(errno));
        if (f)
            fclose(f);
        buf[strcspn(buf, "\r\n")] = 0;
        secret = buf[0] ? buf : NULL;
    }
    if (!secret)
        return;
    if (strlen(secret) < 16)
        sw_diag_add(d, "%s.secret: must have at least 16 characters", path);
    def->secret = strdup(secret);
}

static void parse_hook(json_t *h, struct sw_hook_def *def, const char *path, struct sw_diag *d)
{
    static const char *const known[] = {
        "name",   "type",        "url", "format", "command", "timeout", "repeat_interval",
        "secret", "secret_file", NULL};
    if (!json_is_object(h)) {
        sw_diag_add(d, "%s: must be an object", path);
        return;
    }
    check_keys(h, known, path, d);
    char p[128];
    snprintf(p, sizeof p, "%s.name", path);
    copy_name(def->name, sizeof def->name, get_string(h, "name", "", path, d), p, d);
    check_name_chars(def->name, p, d);
    if (!def->name[0])
        sw_diag_add(d, "%s.name: missing", path);
    const char *type = get_string(h, "type", "", path, d);
    def->timeout = get_number(h, "timeout", 5, 0.1, 600, path, d);
    def->repeat = get_number(h, "repeat_interval", 0, 0, 86400 * 7, path, d);
    if (!strcmp(type, "webhook")) {
        def->type = SW_HOOK_WEBHOOK;
        const char *url = get_string(h, "url", "", path, d);
        if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
            sw_diag_add(d, "%s.url: an http:// or https:// URL is required", path);
        else if (strlen(url) >= sizeof def->url)
            sw_diag_add(d, "%s.url: longer than %zu characters", path, sizeof def->url - 1);
        snprintf(def->url, sizeof def->url, "%s", url);
        const char *fmt = get_string(h, "format", "alertmanager", path, d);
        if (strcmp(fmt, "alertmanager") && strcmp(fmt, "text"))
            sw_diag_add(d, "%s.format: alertmanager or text", path);
        def->text = !strcmp(fmt, "text");
        parse_secret(h, def, path, d);
    } else if (!strcmp(type, "exec")) {
        def->type = SW_HOOK_EXEC;
        json_t *cmd = json_object_get(h, "command");
        size_t i;
        json_t *a;
        /* An argument vector, never a shell string: data goes to the environment only. */
        if (!json_is_array(cmd) || json_array_size(cmd) == 0 || json_array_size(cmd) > 15)
            sw_diag_add(d, "%s.command: an array of 1..15 strings (program and arguments; no shell)", path);
        else
            json_array_foreach(cmd, i, a)
            {
                if (!json_is_string(a) || (i == 0 && json_string_value(a)[0] != '/'))
                    sw_diag_add(d, "%s.command[%zu]: must be a string%s", path, i,
                                i ? "" : " with an absolute path");
                else
                    def->argv[i] = strdup(json_string_value(a));
            }
    } else
        sw_diag_add(d, "%s.type: webhook or exec", path);
    if (def->type != SW_HOOK_WEBHOOK && (json_object_get(h, "secret") || json_object_get(h, "secret_file")))
        sw_diag_add(d, "%s.secret: only webhooks are signed", path);
}

static const char *const live_names[] = {"trigger_rate", "seconds_since_data", "beam", NULL};

/* "hooks": ["name", {"hook": "name", "after": s}, ...] */
static void parse_alarm_hooks(json_t *hooks, struct sw_alarm_def *def, const struct sw_profile *prof,
                              const char *path, struct sw_diag *d)
{
    size_t i;
    json_t *h;
    if (!hooks)
        return;
    if (!json_is_array(hooks) || json_array_size(hooks) > SW_ALARM_HOOKS_MAX) {
        sw_diag_add(d, "%s.hooks: an array of at most %d hook names or {\"hook\", \"after\"} objects", path,
                    SW_ALARM_HOOKS_MAX);
        return;
    }
    json_array_foreach(hooks, i, h)
    {
        char p[160];
        snprintf(p, sizeof p, "%s.hooks[%zu]", path, i);
        const char *name = json_is_string(h) ? json_string_value(h) : NULL;
        double after = 0;
        if (json_is_object(h)) {
            static const char *const known[] = {"hook", "after", NULL};
            check_keys(h, known, p, d);
            name = get_string(h, "hook", NULL, p, d);
            after = get_number(h, "after", 0, 0, 86400 * 7, p, d);
        }
        int found = -1;
        for (int k = 0; name && k < prof->nhooks; k++)
            if (!strcmp(prof->hooks[k].name, name))
                found = k;
        if (found < 0) {
            sw_diag_add(d, "%s: unknown hook", p);
            continue;
        }
        for (int k = 0; k < def->nhooks; k++)
            if (def->hooks[k].hook == found)
                sw_diag_add(d, "%s: hook \"%s\" listed twice", p, name);
        def->hooks[def->nhooks++] = (struct sw_alarm_hook){found, after};
    }
}

/* "labels": {"key": "value", ...}: extra labels for payloads and silences. */
static void parse_alarm_labels(json_t *labels, struct sw_alarm_def *def, const char *path, struct sw_diag *d)
{
    static const char *const reserved[] = {"alertname", "severity", "run", "spill", "source", NULL};
    const char *key;
    json_t *v;
    if (!labels)
        return;
    if (!json_is_object(labels) || json_object_size(labels) > SW_ALARM_LABELS_MAX) {
        sw_diag_add(d, "%s.labels: an object of at most %d string labels", path, SW_ALARM_LABELS_MAX);
        return;
    }
    json_object_foreach(labels, key, v)
    {
        char p[160];
        snprintf(p, sizeof p, "%s.labels.%s", path, key);
        if (name_index(reserved, key) >= 0)
            sw_diag_add(d, "%s: reserved label", p);
        else if (!json_is_string(v))
            sw_diag_add(d, "%s: must be a string", p);
        else {
            copy_name(def->labels[def->nlabels][0], SW_NAME_MAX, key, p, d);
            copy_name(def->labels[def->nlabels][1], SW_NAME_MAX, json_string_value(v), p, d);
            def->nlabels++;
        }
    }
}

/* Index of a check by name (the last of equal names, as alarm rules always took), or -1. */
static int find_check(const struct sw_profile *p, const char *name)
{
    int found = -1;
    if (!p->check_order) {
        for (int i = 0; i < p->nchecks; i++)
            if (!strcmp(p->checks[i].name, name))
                found = i;
        return found;
    }
    int lo = 0, hi = p->nchecks - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(p->checks[p->check_order[mid]].name, name);
        if (c <= 0)
            lo = mid + 1;
        if (c == 0)
            found = p->check_order[mid];
        if (c > 0)
            hi = mid - 1;
    }
    return found;
}

static void parse_alarm(json_t *a, struct sw_alarm_def *def, const struct sw_profile *prof, const char *path,
                        struct sw_diag *d)
{
    static const char *const known[] = {"name",    "severity",      "summary",       "labels",  "quantity",
                                        "check",   "flag",          "live",          "trigger", "above",
                                        "below",   "recover_above", "recover_below", "for",     "for_seconds",
                                        "latched", "hooks",         "requires_beam", NULL};
    if (!json_is_object(a)) {
        sw_diag_add(d, "%s: must be an object", path);
        return;
    }
    check_keys(a, known, path, d);
    char p[128];
    snprintf(p, sizeof p, "%s.name", path);
    copy_name(def->name, sizeof def->name, get_string(a, "name", "", path, d), p, d);
    check_name_chars(def->name, p, d);
    if (!def->name[0])
        sw_diag_add(d, "%s.name: missing", path);
    const char *sev = get_string(a, "severity", "warning", path, d);
    if (strcmp(sev, "critical") && strcmp(sev, "warning") && strcmp(sev, "info"))
        sw_diag_add(d, "%s.severity: critical, warning or info", path);
    snprintf(def->severity, sizeof def->severity, "%s", sev);
    snprintf(def->summary, sizeof def->summary, "%s", get_string(a, "summary", def->name, path, d));
    parse_alarm_labels(json_object_get(a, "labels"), def, path, d);
    json_t *q = json_object_get(a, "quantity");
    const char *check = get_string(a, "check", NULL, path, d);
    const char *flag = get_string(a, "flag", NULL, path, d);
    const char *live = get_string(a, "live", NULL, path, d);
    const char *trigger = get_string(a, "trigger", NULL, path, d);
    def->live_trigger = -1;
    if (!!q + !!check + !!flag + !!live != 1)
        sw_diag_add(d, "%s: exactly one of quantity, check, flag, live", path);
    else if (q) {
        def->source = SW_ALARM_QUANTITY;
        snprintf(p, sizeof p, "%s.quantity", path);
        snprintf(def->q.name, sizeof def->q.name, "%s", def->name);
        parse_quantity(q, &def->q, prof, p, d);
        if (def->q.kind == SW_Q_HIST &&
            (def->q.stat == SW_STAT_KS_PROB || def->q.stat == SW_STAT_CHI2_PROB ||
             def->q.stat == SW_STAT_DEAD_CHANNELS || def->q.stat == SW_STAT_HOT_CHANNELS))
            sw_diag_add(d, "%s.stat: reference statistics belong to checks; alarm on the check's state", p);
        if (def->q.npeers)
            sw_diag_add(d, "%s.peers: peer comparisons belong to checks; alarm on the check's state", p);
    } else if (check) {
        def->source = SW_ALARM_CHECK_STATE;
        def->check = find_check(prof, check);
        if (def->check < 0)
            sw_diag_add(d, "%s.check: unknown check \"%s\"", path, check);
    } else if (flag) {
        def->source = SW_ALARM_FLAG;
        def->flag = sw_state_parse(flag);
        if (def->flag < 0)
            sw_diag_add(d, "%s.flag: GOOD, WARN, BAD, UNKNOWN or EXCLUDED", path);
    } else {
        def->source = SW_ALARM_LIVE;
        int l = name_index(live_names, live);
        if (l < 0)
            sw_diag_add(d, "%s.live: must be one of trigger_rate, seconds_since_data, beam", path);
        else
            def->live = (enum sw_live_quantity)l;
    }
    if (trigger && (def->source != SW_ALARM_LIVE || def->live != SW_LIVE_TRIGGER_RATE))
        sw_diag_add(d, "%s.trigger: only for \"live\": \"trigger_rate\"", path);
    else if (trigger && (def->live_trigger = sw_trigger_parse(trigger)) < 0)
        sw_diag_add(d, "%s.trigger: must be one of physics, beam, random, led", path);
    def->above = get_number(a, "above", NAN, -1e300, 1e300, path, d);
    def->below = get_number(a, "below", NAN, -1e300, 1e300, path, d);
    if (isnan(def->above) && isnan(def->below))
        sw_diag_add(d, "%s: at least one of above, below is required", path);
    def->recover_above = get_number(a, "recover_above", def->above, -1e300, 1e300, path, d);
    def->recover_below = get_number(a, "recover_below", def->below, -1e300, 1e300, path, d);
    if (!isnan(def->above) && !(def->recover_above <= def->above))
        sw_diag_add(d, "%s.recover_above: must be <= above (hysteresis)", path);
    if (!isnan(def->below) && !(def->recover_below >= def->below))
        sw_diag_add(d, "%s.recover_below: must be >= below (hysteresis)", path);
    /* `for` counts spills, `for_seconds` seconds: each only where it means something. */
    if (def->source == SW_ALARM_LIVE && json_object_get(a, "for"))
        sw_diag_add(d, "%s.for: counts spills; a live rule takes for_seconds", path);
    if (def->source != SW_ALARM_LIVE && json_object_get(a, "for_seconds"))
        sw_diag_add(d, "%s.for_seconds: only for live rules; a spill rule takes for (spills)", path);
    def->for_spills = (int)get_int(a, "for", 1, 1, 1000, path, d);
    def->for_seconds = get_number(a, "for_seconds", 0, 0, 86400, path, d);
    json_t *l = json_object_get(a, "latched");
    if (l && !json_is_boolean(l))
        sw_diag_add(d, "%s.latched: must be true or false", path);
    def->latched = json_is_true(l);
    json_t *rb = json_object_get(a, "requires_beam");
    if (rb && !json_is_boolean(rb))
        sw_diag_add(d, "%s.requires_beam: must be true or false", path);
    /* Rates and quantities are meaningless without beam; states, flags and the beam itself are not. */
    int rate_like =
        def->source == SW_ALARM_QUANTITY || (def->source == SW_ALARM_LIVE && def->live != SW_LIVE_BEAM);
    def->requires_beam = rb ? json_is_true(rb) : rate_like;
    if (def->source == SW_ALARM_LIVE && def->live == SW_LIVE_BEAM && def->requires_beam)
        sw_diag_add(d, "%s.requires_beam: a beam rule cannot require beam", path);
    parse_alarm_hooks(json_object_get(a, "hooks"), def, prof, path, d);
}

/* "daq_sources": [NAME, ...]: the DAQ sources a spill_end with daq_sources should list; one it
 * leaves out counts as missing from every event. */
static void parse_daq_sources(struct sw_profile *prof, json_t *root, struct sw_diag *d)
{
    json_t *list = json_object_get(root, "daq_sources");
    if (!list)
        return;
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n == 0 || n > SW_DAQ_SOURCES_MAX) {
        sw_diag_add(d, "$.daq_sources: must be an array of 1..%d source names", SW_DAQ_SOURCES_MAX);
        return;
    }
    prof->daq_sources = calloc(n, sizeof *prof->daq_sources);
    if (!prof->daq_sources) {
        sw_diag_add(d, "$.daq_sources: out of memory");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *name = json_string_value(v);
        int dup = 0;
        for (int j = 0; name && j < prof->ndaq_sources; j++)
            dup = dup || strcmp(prof->daq_sources[j], name) == 0;
        if (!name || !sw_daq_source_ok(name))
            sw_diag_add(d, "$.daq_sources[%zu]: must be a source name, 1..%d characters of [A-Za-z0-9._-]", i,
                        SW_DAQ_SOURCE_MAX);
        else if (dup)
            sw_diag_add(d, "$.daq_sources[%zu]: duplicate source \"%s\"", i, name);
        else
            snprintf(prof->daq_sources[prof->ndaq_sources++], sizeof prof->daq_sources[0], "%s", name);
    }
}

static void parse_hooks_and_alarms(struct sw_profile *prof, json_t *root, struct sw_diag *d)
{
    json_t *hooks = json_object_get(root, "hooks"), *alarms = json_object_get(root, "alarms");
    if (hooks && !json_is_array(hooks))
        sw_diag_add(d, "$.hooks: must be an array");
    else if (hooks) {
        prof->hooks = calloc(json_array_size(hooks) + 1, sizeof *prof->hooks);
        for (size_t i = 0; prof->hooks && i < json_array_size(hooks); i++) {
            char p[64];
            snprintf(p, sizeof p, "$.hooks[%zu]", i);
            parse_hook(json_array_get(hooks, i), &prof->hooks[i], p, d);
            prof->nhooks++;
        }
        if (prof->hooks)
            report_duplicates(&(struct names){prof->hooks[0].name, sizeof *prof->hooks}, prof->nhooks,
                              "hooks", "hook", d);
    }
    if (alarms && !json_is_array(alarms))
        sw_diag_add(d, "$.alarms: must be an array");
    else if (alarms) {
        prof->alarms = calloc(json_array_size(alarms) + 1, sizeof *prof->alarms);
        for (size_t i = 0; prof->alarms && i < json_array_size(alarms); i++) {
            char p[64];
            snprintf(p, sizeof p, "$.alarms[%zu]", i);
            parse_alarm(json_array_get(alarms, i), &prof->alarms[i], prof, p, d);
            prof->nalarms++;
        }
        if (prof->alarms)
            report_duplicates(&(struct names){prof->alarms[0].name, sizeof *prof->alarms}, prof->nalarms,
                              "alarms", "alarm", d);
    }
}

/* FNV-1a 64 of the canonical (sorted, compact) JSON: the profile's content hash. */
static uint64_t profile_hash(json_t *root)
{
    char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *c = text; c && *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    free(text);
    return h;
}

/* "conditions": [meta keys]: what describes a run's conditions in its run_start.meta. */
static void parse_conditions(json_t *c, struct sw_profile *prof, struct sw_diag *d)
{
    if (!c)
        return;
    if (!json_is_array(c) || json_array_size(c) > SW_CONDITIONS_MAX) {
        sw_diag_add(d, "$.conditions: must be an array of at most %d run_start.meta keys", SW_CONDITIONS_MAX);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(c, i, v)
    {
        char p[48];
        snprintf(p, sizeof p, "$.conditions[%zu]", i);
        if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) >= SW_NAME_MAX) {
            sw_diag_add(d, "%s: must be a key of 1 to %d characters", p, SW_NAME_MAX - 1);
            continue;
        }
        for (int j = 0; j < prof->nconditions; j++)
            if (strcmp(prof->conditions[j], json_string_value(v)) == 0)
                sw_diag_add(d, "%s: \"%s\" is listed twice", p, json_string_value(v));
        snprintf(prof->conditions[prof->nconditions++], SW_NAME_MAX, "%s", json_string_value(v));
    }
}

int sw_profile_parse(struct sw_profile *prof, json_t *root, const char *where, struct sw_diag *d)
{
    static const char *const known[] = {
        "name",  "version", "fields",         "histograms", "checks",      "mot_counter", "beam_min_mot",
        "hooks", "alarms",  "manual_reasons", "conditions", "daq_sources", NULL};
    int before = d->n;
    memset(prof, 0, sizeof *prof);
    if (!json_is_object(root)) {
        sw_diag_add(d, "%s: $: must be an object", where);
        return -1;
    }
    check_keys(root, known, "$", d);
    snprintf(prof->name, sizeof prof->name, "%s", get_string(root, "name", "profile", "$", d));
    const char *version = get_string(root, "version", NULL, "$", d);
    if (!version)
        sw_diag_add(d, "$.version: missing (every automatic flag records it)");
    else if (strlen(version) >= SW_NAME_MAX)
        sw_diag_add(d, "$.version: longer than %d characters", SW_NAME_MAX - 1);
    snprintf(prof->version, sizeof prof->version, "%.63s#%016llx", version ? version : "",
             (unsigned long long)profile_hash(root));
    json_t *reasons = json_object_get(root, "manual_reasons");
    if (reasons && (!json_is_array(reasons) || json_array_size(reasons) == 0))
        sw_diag_add(d, "$.manual_reasons: must be a non-empty array of strings");
    else if (reasons) {
        prof->manual_reasons = calloc(json_array_size(reasons), sizeof *prof->manual_reasons);
        size_t i;
        json_t *r;
        json_array_foreach(reasons, i, r)
        {
            if (!json_is_string(r) || !json_string_length(r))
                sw_diag_add(d, "$.manual_reasons[%zu]: must be a non-empty string", i);
            else if (prof->manual_reasons)
                prof->manual_reasons[prof->nreasons++] = strdup(json_string_value(r));
        }
    }
    snprintf(prof->mot_counter, sizeof prof->mot_counter, "%s",
             get_string(root, "mot_counter", "mot", "$", d));
    prof->beam_min_mot = get_number(root, "beam_min_mot", 1, 0, 1e300, "$", d);
    parse_conditions(json_object_get(root, "conditions"), prof, d);

    /* The trigger number is a pseudo-field so a histogram can show the trigger mix. */
    sw_fields_add(&prof->fields, "trigger", 1);
    prof->trigger_field = 0;
    json_t *fields = json_object_get(root, "fields");
    if (!json_is_object(fields) || json_object_size(fields) == 0)
        sw_diag_add(d, "$.fields: must be an object of field name -> width (1 = scalar)");
    else {
        const char *key;
        json_t *v;
        json_object_foreach(fields, key, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > SW_FIELD_WIDTH_MAX)
                sw_diag_add(d, "$.fields.%s: width must be an integer in 1..%d", key, SW_FIELD_WIDTH_MAX);
            else if (!strcmp(key, "type") || !strcmp(key, "run") || !strcmp(key, "spill") ||
                     !strcmp(key, "event") || !strcmp(key, "trigger") || !strcmp(key, "time"))
                sw_diag_add(d, "$.fields.%s: reserved record key", key);
            else if (sw_fields_add(&prof->fields, key, (int)json_integer_value(v)) != 0)
                sw_diag_add(d, "$.fields.%s: bad name or too many fields (max %d)", key, SW_FIELDS_MAX);
        }
    }

    json_t *hists = json_object_get(root, "histograms");
    if (!json_is_array(hists) || json_array_size(hists) == 0)
        sw_diag_add(d, "$.histograms: must be a non-empty array");
    else {
        prof->nhists = (int)json_array_size(hists);
        prof->hists = calloc((size_t)prof->nhists, sizeof *prof->hists);
        long long bins = 0; /* every open spill holds each bin as a 64-bit count */
        for (int i = 0; prof->hists && i < prof->nhists; i++) {
            char p[64];
            snprintf(p, sizeof p, "$.histograms[%d]", i);
            parse_hist(json_array_get(hists, (size_t)i), &prof->hists[i], &prof->fields, p, d);
            long long nb =
                (long long)prof->hists[i].x.bins * (prof->hists[i].dim == 2 ? prof->hists[i].y.bins : 1);
            if (nb > SW_HIST_BINS_MAX)
                sw_diag_add(d, "%s: %lld bins (x.bins times y.bins); at most %d in one histogram", p, nb,
                            SW_HIST_BINS_MAX);
            bins += nb;
        }
        if (bins > SW_PROFILE_BINS_MAX)
            sw_diag_add(d, "$.histograms: %lld bins in all; at most %d (%d MB per open spill)", bins,
                        SW_PROFILE_BINS_MAX, SW_PROFILE_BINS_MAX * 8 >> 20);
        if (prof->hists) {
            struct names nm = {prof->hists[0].name, sizeof *prof->hists};
            report_duplicates(&nm, prof->nhists, "histograms", "histogram", d);
            prof->hist_order = sorted_names(&nm, prof->nhists);
        }
    }

    parse_daq_sources(prof, root, d); /* before the checks and alarms that name the sources */
    json_t *checks = json_object_get(root, "checks");
    if (checks && !json_is_array(checks))
        sw_diag_add(d, "$.checks: must be an array");
    else if (checks && prof->hists) {
        prof->nchecks = (int)json_array_size(checks);
        prof->checks = calloc((size_t)prof->nchecks + 1, sizeof *prof->checks);
        for (int i = 0; prof->checks && i < prof->nchecks; i++) {
            char p[64];
            snprintf(p, sizeof p, "$.checks[%d]", i);
            parse_check(json_array_get(checks, (size_t)i), &prof->checks[i], prof, p, d);
            if (prof->checks[i].kind == SW_Q_DAQ &&
                (prof->checks[i].ref_kind != SW_REF_NONE || prof->checks[i].compare != SW_CMP_ABSOLUTE ||
                 prof->checks[i].phys.on))
                sw_diag_add(
                    d,
                    "%s: a daq quantity is a fraction judged as it is by good and warn: no reference, "
                    "no physical window, compare absolute",
                    p);
        }
        if (prof->checks) {
            struct names nm = {prof->checks[0].name, sizeof *prof->checks};
            report_duplicates(&nm, prof->nchecks, "checks", "check", d);
            prof->check_order = sorted_names(&nm, prof->nchecks);
        }
    }
    parse_hooks_and_alarms(prof, root, d);
    /* Prefix the profile's own messages with where it came from. */
    for (int i = before; i < d->n; i++) {
        char *m = NULL;
        if (d->msg[i][0] == '$' && asprintf(&m, "%s: %s", where, d->msg[i]) > 0) {
            free(d->msg[i]);
            d->msg[i] = m;
        }
    }
    if (d->n > before) {
        sw_profile_release(prof);
        return -1;
    }
    return 0;
}

void sw_profile_release(struct sw_profile *p)
{
    for (int i = 0; i < p->nhooks; i++) {
        /* Every slot, not up to the first NULL: a rejected argument leaves a hole before later ones. */
        for (size_t k = 0; k < sizeof p->hooks[i].argv / sizeof p->hooks[i].argv[0]; k++)
            free(p->hooks[i].argv[k]);
        free(p->hooks[i].secret);
    }
    free(p->hooks);
    free(p->alarms);
    for (int i = 0; i < p->nreasons; i++)
        free(p->manual_reasons[i]);
    free(p->manual_reasons);
    free(p->hists);
    free(p->hist_order);
    free(p->check_order);
    free(p->checks);
    free(p->daq_sources);
    memset(p, 0, sizeof *p);
}

int sw_profile_load(struct sw_profile *prof, const char *path, struct sw_diag *d)
{
    memset(prof, 0, sizeof *prof);
    json_t *root = load_json(path, d);
    if (!root)
        return -1;
    int rc = sw_profile_parse(prof, root, path, d);
    json_decref(root);
    return rc;
}

struct sw_profile *sw_profile_adopt(struct sw_profile *p)
{
    struct sw_profile *h = malloc(sizeof *h);
    if (!h)
        return NULL;
    memcpy(h, p, sizeof *h);
    atomic_init(&h->refcount, 1);
    memset(p, 0, sizeof *p);
    return h;
}

struct sw_profile *sw_profile_ref(struct sw_profile *p)
{
    if (p && atomic_load(&p->refcount) > 0)
        atomic_fetch_add(&p->refcount, 1);
    return p;
}

void sw_profile_unref(struct sw_profile *p)
{
    if (!p || atomic_load(&p->refcount) == 0)
        return;
    if (atomic_fetch_sub(&p->refcount, 1) == 1) {
        sw_profile_release(p);
        free(p);
    }
}

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int sw_profile_same_hooks(const struct sw_profile *a, const struct sw_profile *b)
{
    if (a->nhooks != b->nhooks)
        return 0;
    for (int i = 0; i < a->nhooks; i++) {
        const struct sw_hook_def *x = &a->hooks[i], *y = &b->hooks[i];
        if (strcmp(x->name, y->name) != 0 || x->type != y->type || strcmp(x->url, y->url) != 0 ||
            x->text != y->text || !same_string(x->secret, y->secret) || x->timeout != y->timeout ||
            x->repeat != y->repeat)
            return 0;
        for (int k = 0; k < 16; k++) {
            if (!same_string(x->argv[k], y->argv[k]))
                return 0;
            if (!x->argv[k])
                break;
        }
    }
    return 1;
}

int sw_profile_find_hist(const struct sw_profile *p, const char *name)
{
    if (!p->hist_order) { /* not indexed (out of memory while parsing) */
        for (int i = 0; i < p->nhists; i++)
            if (strcmp(p->hists[i].name, name) == 0)
                return i;
        return -1;
    }
    int lo = 0, hi = p->nhists - 1, found = -1;
    while (lo <= hi) { /* the first of equal names, as the linear search would find it */
        int mid = lo + (hi - lo) / 2, c = strcmp(p->hists[p->hist_order[mid]].name, name);
        if (c >= 0)
            hi = mid - 1;
        if (c == 0)
            found = p->hist_order[mid];
        if (c < 0)
            lo = mid + 1;
    }
    return found;
}

/* ---- server config ---- */

static void parse_auth(struct sw_config *cfg, json_t *auth, struct sw_diag *d)
{
    static const char *const known[] = {"tokens", "read_requires_token", "allow_open", NULL};
    static const char *const tknown[] = {"name", "token", "token_file", "roles", NULL};
    if (!json_is_object(auth)) {
        sw_diag_add(d, "$.auth: must be an object");
        return;
    }
    check_keys(auth, known, "$.auth", d);
    json_t *rr = json_object_get(auth, "read_requires_token");
    cfg->read_requires_token = json_is_true(rr);
    json_t *open = json_object_get(auth, "allow_open");
    if (open && !json_is_boolean(open))
        sw_diag_add(d, "$.auth.allow_open: must be true or false");
    cfg->allow_open = json_is_true(open);
    json_t *tokens = json_object_get(auth, "tokens");
    if (!tokens)
        return;
    if (!json_is_array(tokens)) {
        sw_diag_add(d, "$.auth.tokens: must be an array");
        return;
    }
    cfg->tokens = calloc(json_array_size(tokens) + 1, sizeof *cfg->tokens);
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t)
    {
        char p[64];
        snprintf(p, sizeof p, "$.auth.tokens[%zu]", i);
        if (!json_is_object(t)) {
            sw_diag_add(d, "%s: must be an object", p);
            continue;
        }
        check_keys(t, tknown, p, d);
        struct sw_token *tok = &cfg->tokens[cfg->ntokens];
        snprintf(tok->name, sizeof tok->name, "%s", get_string(t, "name", "", p, d));
        if (!tok->name[0])
            sw_diag_add(d, "%s.name: missing", p);
        const char *secret = get_string(t, "token", NULL, p, d);
        const char *file = get_string(t, "token_file", NULL, p, d);
        if (!!secret == !!file) {
            sw_diag_add(d, "%s: exactly one of token, token_file is required", p);
            continue;
        }
        if (file) {
            char fp[PATH_MAX];
            resolve_path(fp, sizeof fp, cfg->path, file);
            FILE *f = fopen(fp, "r");
            char buf[512] = "";
            if (!f || !fgets(buf, sizeof buf, f)) {
                sw_diag_add(d, "%s.token_file: cannot read \"%s\": %s", p, fp, strerror(errno));
                if (f)
                    fclose(f);
                continue;
            }
            fclose(f);
            buf[strcspn(buf, "\r\n")] = 0;
            tok->secret = strdup(buf);
        } else
            tok->secret = strdup(secret);
        if (!tok->secret || strlen(tok->secret) < 16)
            sw_diag_add(d, "%s: the token must have at least 16 characters", p);
        json_t *roles = json_object_get(t, "roles");
        size_t j;
        json_t *r;
        if (!json_is_array(roles))
            sw_diag_add(d, "%s.roles: must be an array of read, ingest, shifter, admin", p);
        json_array_foreach(roles, j, r)
        {
            const char *rn = json_is_string(r) ? json_string_value(r) : "";
            if (!strcmp(rn, "read"))
                tok->roles |= SW_ROLE_READ;
            else if (!strcmp(rn, "ingest"))
                tok->roles |= SW_ROLE_INGEST;
            else if (!strcmp(rn, "shifter"))
                tok->roles |= SW_ROLE_SHIFTER | SW_ROLE_READ;
            else if (!strcmp(rn, "admin"))
                tok->roles |= SW_ROLE_ADMIN | SW_ROLE_SHIFTER | SW_ROLE_READ;
            else
                sw_diag_add(d, "%s.roles[%zu]: must be one of read, ingest, shifter, admin", p, j);
        }
        cfg->ntokens++;
    }
}

/* "store": {"min_free_mb": N}: the free-space reserve of the database's file system. */
static void parse_store(struct sw_config *cfg, json_t *st, struct sw_diag *d)
{
    static const char *const known[] = {"min_free_mb", NULL};
    cfg->min_free_mb = 64;
    if (!st)
        return;
    if (!json_is_object(st)) {
        sw_diag_add(d, "$.store: must be an object");
        return;
    }
    check_keys(st, known, "$.store", d);
    cfg->min_free_mb = get_int(st, "min_free_mb", cfg->min_free_mb, 0, 1LL << 30, "$.store", d);
}

/* "retention": {"spill_histograms_days": D, "interval": S, "chunk": N}; absent = keep forever. */
static void parse_retention(struct sw_config *cfg, json_t *ret, struct sw_diag *d)
{
    static const char *const known[] = {"spill_histograms_days", "interval", "chunk", NULL};
    cfg->retention_days = -1;
    cfg->retention_interval = 3600;
    cfg->retention_chunk = 200;
    if (!ret)
        return;
    if (!json_is_object(ret)) {
        sw_diag_add(d, "$.retention: must be an object");
        return;
    }
    check_keys(ret, known, "$.retention", d);
    json_t *days = json_object_get(ret, "spill_histograms_days");
    if (days && !json_is_null(days))
        cfg->retention_days = get_number(ret, "spill_histograms_days", -1, 0, 1e6, "$.retention", d);
    cfg->retention_interval = get_number(ret, "interval", 3600, 0.1, 86400 * 7, "$.retention", d);
    cfg->retention_chunk = (int)get_int(ret, "chunk", 200, 1, 100000, "$.retention", d);
}

int sw_config_load(struct sw_config *cfg, const char *path, struct sw_diag *d)
{
    static const char *const known[] = {"listen",    "db",
                                        "www",       "profile",
                                        "log_level", "threads",
                                        "limits",    "spill_timeout",
                                        "auth",      "stream_heartbeat",
                                        "retention", "store",
                                        NULL};
    static const char *const lknown[] = {"body_max",
                                         "line_max",
                                         "fields_max",
                                         "batch_events_max",
                                         "writer_queue_max",
                                         "stream_clients_max",
                                         "stream_ring",
                                         "connections_max",
                                         "connections_per_ip",
                                         "connection_timeout",
                                         "connection_memory",
                                         "request_seconds",
                                         "write_rate",
                                         "write_burst",
                                         "ingest_rate",
                                         "ingest_burst",
                                         "body_memory_max",
                                         "open_spills_max",
                                         "open_spills_per_source",
                                         "open_spill_memory",
                                         "source_lease",
                                         NULL};
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    int before = d->n;
    json_t *root = load_json(path, d);
    if (!root)
        return -1;
    check_keys(root, known, "$", d);
    snprintf(cfg->listen, sizeof cfg->listen, "%s", get_string(root, "listen", "127.0.0.1:8080", "$", d));
    resolve_path(cfg->db, sizeof cfg->db, path, get_string(root, "db", "../var/spillwatch.db", "$", d));
    resolve_path(cfg->www, sizeof cfg->www, path, get_string(root, "www", "../www", "$", d));
    const char *lvl = get_string(root, "log_level", "info", "$", d);
    cfg->log_level = sw_log_parse_level(lvl);
    if (cfg->log_level < 0) {
        sw_diag_add(d, "$.log_level: must be one of debug, info, warn, error");
        cfg->log_level = SW_LOG_INFO;
    }
    cfg->threads = (int)get_int(root, "threads", 4, 1, 256, "$", d);
    cfg->spill_timeout = get_number(root, "spill_timeout", 60, 1, 86400, "$", d);
    cfg->body_max = 64u << 20;
    cfg->line_max = 8u << 20;
    cfg->fields_max = 256;
    cfg->batch_events_max = 1000000;
    cfg->writer_queue_max = 1024;
    cfg->stream_clients_max = 64;
    cfg->stream_ring = 1024;
    cfg->body_memory_max = 512u << 20;
    cfg->connections_max = 1000;
    cfg->connections_per_ip = 200;
    cfg->connection_timeout = 60;
    cfg->connection_memory = 64u << 10;
    cfg->request_seconds = 120;
    cfg->write_rate = 10;
    cfg->write_burst = 60;
    cfg->ingest_rate = 0;
    cfg->ingest_burst = 1000;
    cfg->open_spills_max = 64;
    cfg->open_spills_per_source = 16;
    cfg->open_spill_memory = 1u << 30;
    cfg->source_lease = 60;
    cfg->stream_heartbeat = get_number(root, "stream_heartbeat", 15, 1, 3600, "$", d);
    json_t *lim = json_object_get(root, "limits");
    if (lim && !json_is_object(lim))
        sw_diag_add(d, "$.limits: must be an object");
    else if (lim) {
        check_keys(lim, lknown, "$.limits", d);
        cfg->body_max =
            (size_t)get_int(lim, "body_max", (long long)cfg->body_max, 1024, 1LL << 32, "$.limits", d);
        cfg->line_max =
            (size_t)get_int(lim, "line_max", (long long)cfg->line_max, 256, 1LL << 32, "$.limits", d);
        cfg->fields_max = (int)get_int(lim, "fields_max", cfg->fields_max, 8, 100000, "$.limits", d);
        cfg->batch_events_max = (size_t)get_int(lim, "batch_events_max", (long long)cfg->batch_events_max, 1,
                                                100000000, "$.limits", d);
        cfg->writer_queue_max =
            (int)get_int(lim, "writer_queue_max", cfg->writer_queue_max, 1, 1000000, "$.limits", d);
        cfg->stream_clients_max =
            (int)get_int(lim, "stream_clients_max", cfg->stream_clients_max, 1, 10000, "$.limits", d);
        cfg->stream_ring = (int)get_int(lim, "stream_ring", cfg->stream_ring, 8, 1000000, "$.limits", d);
        cfg->body_memory_max = (size_t)get_int(lim, "body_memory_max", (long long)cfg->body_memory_max,
                                               1 << 20, 1LL << 40, "$.limits", d);
        cfg->connections_max =
            (int)get_int(lim, "connections_max", cfg->connections_max, 8, 100000, "$.limits", d);
        cfg->connections_per_ip =
            (int)get_int(lim, "connections_per_ip", cfg->connections_per_ip, 0, 100000, "$.limits", d);
        cfg->connection_timeout =
            (int)get_int(lim, "connection_timeout", cfg->connection_timeout, 1, 86400, "$.limits", d);
        cfg->connection_memory = (size_t)get_int(lim, "connection_memory", (long long)cfg->connection_memory,
                                                 8192, 16 << 20, "$.limits", d);
        cfg->request_seconds =
            get_number(lim, "request_seconds", cfg->request_seconds, 1, 86400, "$.limits", d);
        cfg->write_rate = get_number(lim, "write_rate", cfg->write_rate, 0, 1e6, "$.limits", d);
        cfg->write_burst = get_number(lim, "write_burst", cfg->write_burst, 1, 1e6, "$.limits", d);
        cfg->ingest_rate = get_number(lim, "ingest_rate", cfg->ingest_rate, 0, 1e6, "$.limits", d);
        cfg->ingest_burst = get_number(lim, "ingest_burst", cfg->ingest_burst, 1, 1e6, "$.limits", d);
        cfg->open_spills_max =
            (int)get_int(lim, "open_spills_max", cfg->open_spills_max, 1, 100000, "$.limits", d);
        cfg->open_spills_per_source = (int)get_int(lim, "open_spills_per_source", cfg->open_spills_per_source,
                                                   1, 100000, "$.limits", d);
        cfg->open_spill_memory = (size_t)get_int(lim, "open_spill_memory", (long long)cfg->open_spill_memory,
                                                 1 << 20, 1LL << 40, "$.limits", d);
        cfg->source_lease = get_number(lim, "source_lease", cfg->source_lease, 0, 86400, "$.limits", d);
    }
    json_t *auth = json_object_get(root, "auth");
    if (auth)
        parse_auth(cfg, auth, d);
    parse_retention(cfg, json_object_get(root, "retention"), d);
    parse_store(cfg, json_object_get(root, "store"), d);
    const char *prof = get_string(root, "profile", NULL, "$", d);
    for (int i = before; i < d->n; i++) { /* the server config's own messages name its file */
        char *m = NULL;
        if (asprintf(&m, "%s: %s", path, d->msg[i]) > 0) {
            free(d->msg[i]);
            d->msg[i] = m;
        }
    }
    if (!prof)
        sw_diag_add(d, "%s: $.profile: missing (the experiment profile file)", path);
    else {
        resolve_path(cfg->profile_path, sizeof cfg->profile_path, path, prof);
        sw_profile_load(&cfg->profile, cfg->profile_path, d);
    }
    json_decref(root);
    if (d->n > before) {
        sw_config_release(cfg);
        return -1;
    }
    return 0;
}

void sw_config_release(struct sw_config *cfg)
{
    for (int i = 0; i < cfg->ntokens; i++)
        free(cfg->tokens[i].secret);
    free(cfg->tokens);
    sw_profile_release(&cfg->profile);
    memset(cfg, 0, sizeof *cfg);
}
