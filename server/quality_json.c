/* quality_json.c — the results of a spill's checks as JSON (see quality.h): the stored form of the
 * results and of their provenance, and the provenance expanded for the API. Pure; any thread. */
#include "quality_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The provenance as stored: compact JSON text (7 significant digits) inside the results array. */
static json_t *provenance_text(const struct sw_check_result *r)
{
    json_t *p = sw_quality_provenance_json(r);
    char *text = p ? json_dumps(p, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
    json_decref(p);
    json_t *s = text ? json_string(text) : json_null();
    free(text);
    return s;
}

json_t *sw_quality_results_json(const struct sw_check_result *res, int n)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("[s s s o o s o]", res[i].def->name, res[i].def->category,
                                             sw_state_name(res[i].state),
                                             isfinite(res[i].value) ? json_real(res[i].value) : json_null(),
                                             isfinite(res[i].raw) ? json_real(res[i].raw) : json_null(),
                                             res[i].reason, provenance_text(&res[i])));
    return arr;
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static const char *src_kind(const struct sw_check_result *r)
{
    const struct sw_check_def *c = r->def;
    if (c->npeers)
        return "peers";
    switch (c->ref_kind) {
    case SW_REF_BASELINE:
        return r->learning ? "learning" : "baseline";
    case SW_REF_RUN:
        return "reference_run";
    case SW_REF_ROLLING:
        return "rolling_median";
    case SW_REF_FIXED:
        return "fixed";
    default:
        return "absolute";
    }
}

static const char *cmp_code(enum sw_compare c)
{
    return c == SW_CMP_DELTA ? "d" : c == SW_CMP_RATIO ? "r" : "a";
}

/* Stored form (compact: the profile's windows as they were, not their values in the statistic's
 * units, which the expansion computes):
 * [layer, [state, compare, nominal, from_meta, good, warn] | null,
 *         [state, kind, compare, expected, good, warn, z, spread, n, learn, runs, run, carried] | null]
 * with compare "a", "d" or "r", good/warn [lo, hi] (null for an open end) and runs
 * [[run, first, last, n], ...]. */
json_t *sw_quality_provenance_json(const struct sw_check_result *r)
{
    const struct sw_check_def *c = r->def;
    static const char *const layers[] = {NULL, "physical", "stability"};
    json_t *ph = json_null(), *st = json_null();
    if (c->phys.on)
        ph =
            json_pack("[s s o b [o o] [o o]]", sw_state_name(r->phys_state), cmp_code(c->phys.compare),
                      num(c->phys.compare == SW_CMP_ABSOLUTE ? NAN : r->nominal), r->nominal_from_meta,
                      num(c->phys.good_lo), num(c->phys.good_hi), num(c->phys.warn_lo), num(c->phys.warn_hi));
    if (c->stability) {
        json_t *segs = json_array();
        for (int i = 0; c->ref_kind == SW_REF_BASELINE && i < r->base.nsegs; i++)
            json_array_append_new(segs, json_pack("[I I I i]", (json_int_t)r->base.seg[i].run,
                                                  (json_int_t)r->base.seg[i].first,
                                                  (json_int_t)r->base.seg[i].last, r->base.seg[i].n));
        st = json_pack("[s s s o [o o] [o o] o o i i o I b]", sw_state_name(r->stab_state), src_kind(r),
                       cmp_code(c->compare), num(r->expected), num(c->good_lo), num(c->good_hi),
                       num(c->warn_lo), num(c->warn_hi), num(r->z), num(r->spread),
                       c->ref_kind == SW_REF_BASELINE ? r->base.n
                       : c->npeers                    ? r->peers_used
                                                      : 0,
                       c->ref_kind == SW_REF_BASELINE ? c->base_learn : 0, segs,
                       (json_int_t)(c->ref_kind == SW_REF_RUN ? c->ref_run : 0), r->base.carried);
    }
    return json_pack("[o o o]", r->layer ? json_string(layers[r->layer]) : json_null(), ph, st);
}

/* x to 7 significant digits, as the stored numbers have them (no 0.055888930999999996 in answers). */
static double sig7(double x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", x);
    return strtod(buf, NULL);
}

/* A stored window [lo, hi] (null = open) in the statistic's units around ref; [null, null] when the
 * expectation is unknown (a baseline still learning). */
static json_t *window_expand(json_t *cmp, json_t *ref, json_t *w)
{
    const char *k = json_string_value(cmp);
    enum sw_compare c = k && *k == 'd' ? SW_CMP_DELTA : k && *k == 'r' ? SW_CMP_RATIO : SW_CMP_ABSOLUTE;
    json_t *a = json_array_get(w, 0), *b = json_array_get(w, 1);
    double lo = json_is_number(a) ? json_number_value(a) : -INFINITY;
    double hi = json_is_number(b) ? json_number_value(b) : INFINITY;
    double x = json_is_number(ref) ? json_number_value(ref) : NAN;
    if (c != SW_CMP_ABSOLUTE && !isfinite(x))
        return json_pack("[n n]");
    double rlo, rhi;
    sw_q_raw_range(c, c == SW_CMP_ABSOLUTE ? 0 : x, lo, hi, &rlo, &rhi);
    return json_pack("[o o]", num(sig7(rlo)), num(sig7(rhi)));
}

static json_t *copy_or_null(json_t *v)
{
    return v ? json_deep_copy(v) : json_null();
}

/* The stored compare code as the profile's word (GET /api/v1/checks): absolute, delta, ratio. */
static const char *cmp_word(json_t *code)
{
    const char *k = json_string_value(code);
    return k && *k == 'd' ? "delta" : k && *k == 'r' ? "ratio" : "absolute";
}

json_t *sw_quality_provenance_expand(json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) != 3)
        return json_null();
    json_t *j = json_object();
    json_object_set_new(j, "layer", copy_or_null(json_array_get(a, 0)));
    json_t *ph = json_array_get(a, 1), *st = json_array_get(a, 2);
    if (json_is_array(ph) && json_array_size(ph) == 6) {
        json_t *cmp = json_array_get(ph, 1), *nom = json_array_get(ph, 2);
        json_t *o = json_pack("{s:O, s:s, s:o, s:o}", "state", json_array_get(ph, 0), "compare",
                              cmp_word(cmp), "good", window_expand(cmp, nom, json_array_get(ph, 4)), "warn",
                              window_expand(cmp, nom, json_array_get(ph, 5)));
        if (o && !json_is_null(nom)) {
            json_object_set(o, "nominal", nom);
            json_object_set_new(o, "nominal_from",
                                json_string(json_is_true(json_array_get(ph, 3)) ? "run meta" : "profile"));
        }
        json_object_set_new(j, "physical", o);
    }
    if (json_is_array(st) && json_array_size(st) == 13) {
        const char *kind = json_string_value(json_array_get(st, 1));
        json_t *src = json_pack("{s:s}", "kind", kind ? kind : "");
        int n = (int)json_integer_value(json_array_get(st, 8));
        if (kind && (!strcmp(kind, "baseline") || !strcmp(kind, "learning"))) {
            json_object_set_new(src, "spills", json_integer(n));
            json_object_set(src, "learn", json_array_get(st, 9));
            json_object_set(src, "spread", json_array_get(st, 7));
            json_t *runs = json_array();
            size_t i;
            json_t *g;
            char text[160] = "";
            json_array_foreach(json_array_get(st, 10), i, g)
            {
                json_int_t run = json_integer_value(json_array_get(g, 0)),
                           first = json_integer_value(json_array_get(g, 1)),
                           last = json_integer_value(json_array_get(g, 2));
                json_array_append_new(runs, json_pack("{s:I, s:I, s:I, s:O}", "run", run, "first", first,
                                                      "last", last, "n", json_array_get(g, 3)));
                size_t l = strlen(text);
                if (first == last)
                    snprintf(text + l, sizeof text - l, "%srun %lld spill %lld", i ? " + " : "",
                             (long long)run, (long long)first);
                else
                    snprintf(text + l, sizeof text - l, "%srun %lld spills %lld-%lld", i ? " + " : "",
                             (long long)run, (long long)first, (long long)last);
            }
            json_object_set(src, "carried", json_array_get(st, 12));
            json_object_set_new(src, "runs", runs);
            if (!strcmp(kind, "learning"))
                snprintf(text, sizeof text, "baseline: learning, %d of %d spills", n,
                         (int)json_integer_value(json_array_get(st, 9)));
            json_object_set_new(src, "text", json_string(text));
        } else if (kind && !strcmp(kind, "peers")) {
            json_object_set_new(src, "used", json_integer(n));
        } else if (kind && !strcmp(kind, "reference_run")) {
            json_object_set(src, "run", json_array_get(st, 11));
        }
        json_t *cmp = json_array_get(st, 2), *expected = json_array_get(st, 3);
        json_t *o = json_pack(
            "{s:O, s:s, s:O, s:o, s:o, s:O, s:o}", "state", json_array_get(st, 0), "compare", cmp_word(cmp),
            "expected", expected, "good", window_expand(cmp, expected, json_array_get(st, 4)), "warn",
            window_expand(cmp, expected, json_array_get(st, 5)), "z", json_array_get(st, 6), "source", src);
        json_object_set_new(j, "stability", o);
    }
    return j;
}

static int window_known(json_t *w)
{
    return json_is_array(w) && (json_is_number(json_array_get(w, 0)) || json_is_number(json_array_get(w, 1)));
}

json_t *sw_q_judging_layer(json_t *prov, const char **name)
{
    json_t *ph = json_object_get(prov, "physical"), *st = json_object_get(prov, "stability");
    const char *layer = json_string_value(json_object_get(prov, "layer"));
    const char *sst = json_string_value(json_object_get(st, "state"));
    json_t *stab =
        st && sst && strcmp(sst, "EXCLUDED") && window_known(json_object_get(st, "good")) ? st : NULL;
    json_t *use = layer && !strcmp(layer, "physical")    ? ph
                  : layer && !strcmp(layer, "stability") ? st
                  : stab                                 ? stab
                  : ph                                   ? ph
                                                         : st;
    *name = !use ? NULL : use == ph ? "physical" : "stability";
    return use;
}

json_t *sw_quality_band(json_t *prov)
{
    const char *name;
    json_t *use = sw_q_judging_layer(prov, &name);
    json_t *ph = json_object_get(prov, "physical");
    json_t *expected = use == ph ? json_object_get(ph, "nominal") : json_object_get(use, "expected");
    json_t *good = json_object_get(use, "good"), *warn = json_object_get(use, "warn");
    return json_pack("{s:O, s:O, s:O}", "expected", json_is_number(expected) ? expected : json_null(), "good",
                     window_known(good) ? good : json_null(), "warn",
                     window_known(warn) ? warn : json_null());
}
