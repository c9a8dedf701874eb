/* profile_parse.c — parsing and validating a profile (profile.h): the top level, the fields, the
 * histograms, the conditions and the daq_sources; the checks (profile_checks.c) and the hooks and
 * alarm rules (profile_alarms.c) in their own files. */
#include "profile.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgkit.h"
#include "event.h"
#include "hist.h"
#include "profile_parse.h"

/* An axis; lab/nlab (x of a 1D histogram only, else NULL) take "labels", one name per bin. */
static void parse_axis(json_t *ax, struct sw_axis *axis, struct sw_selector *sel,
                       const struct sw_fields *fields, const char *path, struct sw_diag *d, int allow_each,
                       char (*lab)[32], int *nlab)
{
    static const char *const known[] = {"source", "bins", "min", "max", "unit", "labels", NULL};
    if (!json_is_object(ax)) {
        sw_diag_add(d, "%s: must be an object with source, bins, min, max", path);
        return;
    }
    sw_cfg_check_keys(ax, known, path, d);
    axis->bins = (int)sw_cfg_get_int(ax, "bins", 0, 1, 100000, path, d);
    if (!json_object_get(ax, "bins"))
        sw_diag_add(d, "%s.bins: missing", path);
    axis->min = sw_cfg_get_number(ax, "min", 0, -1e300, 1e300, path, d);
    axis->max = sw_cfg_get_number(ax, "max", 1, -1e300, 1e300, path, d);
    if (!json_object_get(ax, "min") || !json_object_get(ax, "max"))
        sw_diag_add(d, "%s: min and max are required", path);
    else if (!(axis->min < axis->max))
        sw_diag_add(d, "%s: min must be < max", path);
    json_t *labels = json_object_get(ax, "labels");
    if (labels && (!allow_each || !json_is_array(labels) || (int)json_array_size(labels) != axis->bins ||
                   axis->bins > SW_HIST_LABELS_MAX))
        sw_diag_add(d, "%s.labels: a 1D histogram's x axis only, one name per bin (at most %d bins)", path,
                    SW_HIST_LABELS_MAX);
    else if (labels) {
        size_t i;
        json_t *l;
        json_array_foreach(labels, i, l)
        {
            if (!json_is_string(l) || !json_string_length(l) || json_string_length(l) >= sizeof *lab)
                sw_diag_add(d, "%s.labels[%zu]: must be a name of 1 to %zu characters", path, i,
                            sizeof *lab - 1);
            else if (lab)
                snprintf(lab[(*nlab)++], sizeof *lab, "%s", json_string_value(l));
        }
    }
    const char *src = sw_cfg_get_string(ax, "source", NULL, path, d);
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
    if (sw_cfg_named(h, known, path, def->name, sizeof def->name, def->title, sizeof def->title, def->unit,
                     sizeof def->unit, d) != 0)
        return;
    snprintf(p, sizeof p, "%s.x", path);
    json_t *y = json_object_get(h, "y");
    parse_axis(json_object_get(h, "x"), &def->x, &def->xsel, fields, p, d, y == NULL, y ? NULL : def->xlabels,
               &def->nxlabels);
    def->dim = 1;
    snprintf(def->xsource, sizeof def->xsource, "%s",
             json_is_string(json_object_get(json_object_get(h, "x"), "source"))
                 ? json_string_value(json_object_get(json_object_get(h, "x"), "source"))
                 : "");
    if (y) {
        def->dim = 2;
        snprintf(p, sizeof p, "%s.y", path);
        parse_axis(y, &def->y, &def->ysel, fields, p, d, 0, NULL, NULL);
        snprintf(def->unit_y, sizeof def->unit_y, "%s", sw_cfg_get_string(y, "unit", "", p, d));
        snprintf(def->ysource, sizeof def->ysource, "%s",
                 json_is_string(json_object_get(y, "source"))
                     ? json_string_value(json_object_get(y, "source"))
                     : "");
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
    def->threshold = sw_cfg_get_number(h, "threshold", 0, -1e300, 1e300, path, d);
    json_t *cut = json_object_get(h, "cut");
    if (cut) {
        static const char *const cut_known[] = {"source", "min", "max", NULL};
        snprintf(p, sizeof p, "%s.cut", path);
        if (!json_is_object(cut)) {
            sw_diag_add(d, "%s: must be an object with source, min, max", p);
            return;
        }
        sw_cfg_check_keys(cut, cut_known, p, d);
        def->has_cut = 1;
        def->cut_min = sw_cfg_get_number(cut, "min", -INFINITY, -1e300, 1e300, p, d);
        def->cut_max = sw_cfg_get_number(cut, "max", INFINITY, -1e300, 1e300, p, d);
        const char *src = sw_cfg_get_string(cut, "source", NULL, p, d);
        char err[160];
        if (!src)
            sw_diag_add(d, "%s.source: missing", p);
        else if (sw_selector_parse(&def->cut, src, fields, err, sizeof err) != 0)
            sw_diag_add(d, "%s.source: %s", p, err);
        else if (def->cut.kind == SW_SEL_EACH)
            sw_diag_add(d, "%s.source: each() cannot be a cut", p);
    }
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

/* "subsystems": [{"name", "title"}]: the overview's status rows, in order; a check's "subsystem"
 * must be one of them. A check without one goes to the row of its category, which is added (titled
 * by name) when the list lacks it; without the list, the rows are the checks' own in order of first
 * appearance. */
static void parse_subsystems(json_t *s, struct sw_profile *prof, struct sw_diag *d)
{
    static const char *const known[] = {"name", "title", NULL};
    if (s && (!json_is_array(s) || json_array_size(s) == 0 || json_array_size(s) > SW_SUBSYSTEMS_MAX)) {
        sw_diag_add(d, "$.subsystems: must be an array of 1 to %d {\"name\", \"title\"}", SW_SUBSYSTEMS_MAX);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(s, i, v)
    {
        char p[48];
        snprintf(p, sizeof p, "$.subsystems[%zu]", i);
        if (!json_is_object(v)) {
            sw_diag_add(d, "%s: must be an object with name and title", p);
            continue;
        }
        sw_cfg_check_keys(v, known, p, d);
        const char *name = sw_cfg_get_string(v, "name", NULL, p, d);
        const char *title = sw_cfg_get_string(v, "title", name, p, d);
        if (!name || !*name || strlen(name) >= SW_NAME_MAX || !title || strlen(title) >= SW_NAME_MAX) {
            sw_diag_add(d, "%s: name (and title) of 1 to %d characters", p, SW_NAME_MAX - 1);
            continue;
        }
        for (int j = 0; j < prof->nsubsystems; j++)
            if (strcmp(prof->subsystems[j][0], name) == 0)
                sw_diag_add(d, "%s.name: \"%s\" is listed twice", p, name);
        snprintf(prof->subsystems[prof->nsubsystems][0], SW_NAME_MAX, "%s", name);
        snprintf(prof->subsystems[prof->nsubsystems++][1], SW_NAME_MAX, "%s", title);
    }
    for (int c = 0; c < prof->nchecks; c++) {
        const char *name = prof->checks[c].subsystem;
        int k = 0;
        while (k < prof->nsubsystems && strcmp(prof->subsystems[k][0], name))
            k++;
        if (k < prof->nsubsystems || !prof->checks[c].name[0])
            continue;
        if (s && prof->checks[c].subsystem_given)
            sw_diag_add(d, "$.checks[%d].subsystem: \"%s\" is not in $.subsystems", c, name);
        else if (prof->nsubsystems == SW_SUBSYSTEMS_MAX)
            sw_diag_add(d, "$.checks[%d].subsystem: more than %d subsystems", c, SW_SUBSYSTEMS_MAX);
        else {
            snprintf(prof->subsystems[prof->nsubsystems][0], SW_NAME_MAX, "%s", name);
            snprintf(prof->subsystems[prof->nsubsystems++][1], SW_NAME_MAX, "%s", name);
        }
    }
}

int sw_profile_parse(struct sw_profile *prof, json_t *root, const char *where, struct sw_diag *d)
{
    static const char *const known[] = {
        "name",  "version", "fields",         "histograms", "checks",      "mot_counter", "beam_min_mot",
        "hooks", "alarms",  "manual_reasons", "conditions", "daq_sources", "subsystems",  NULL};
    int before = d->n;
    memset(prof, 0, sizeof *prof);
    if (!json_is_object(root)) {
        sw_diag_add(d, "%s: $: must be an object", where);
        return -1;
    }
    sw_cfg_check_keys(root, known, "$", d);
    snprintf(prof->name, sizeof prof->name, "%s", sw_cfg_get_string(root, "name", "profile", "$", d));
    const char *version = sw_cfg_get_string(root, "version", NULL, "$", d);
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
             sw_cfg_get_string(root, "mot_counter", "mot", "$", d));
    prof->beam_min_mot = sw_cfg_get_number(root, "beam_min_mot", 1, 0, 1e300, "$", d);
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
            struct sw_names nm = {prof->hists[0].name, sizeof *prof->hists};
            sw_profile_report_duplicates(&nm, prof->nhists, "histograms", "histogram", d);
            prof->hist_order = sw_profile_sorted_names(&nm, prof->nhists);
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
            sw_profile_parse_check(json_array_get(checks, (size_t)i), &prof->checks[i], prof, p, d);
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
            struct sw_names nm = {prof->checks[0].name, sizeof *prof->checks};
            sw_profile_report_duplicates(&nm, prof->nchecks, "checks", "check", d);
            prof->check_order = sw_profile_sorted_names(&nm, prof->nchecks);
        }
    }
    parse_subsystems(json_object_get(root, "subsystems"), prof, d);
    sw_profile_parse_hooks_and_alarms(prof, root, d);
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

int sw_profile_load(struct sw_profile *prof, const char *path, struct sw_diag *d)
{
    memset(prof, 0, sizeof *prof);
    json_t *root = sw_cfg_load_json(path, d);
    if (!root)
        return -1;
    int rc = sw_profile_parse(prof, root, path, d);
    json_decref(root);
    return rc;
}
