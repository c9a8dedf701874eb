/* quality_judged.c — a check's entry in the spill detail (see quality.h): how it was compared, in the
 * API's terms (the compare mode as a word, the expectation and where it came from, the good and
 * warn windows both in the comparison's terms and as limits in the statistic's unit, the units of
 * raw and value, the significance gate, how far outside its window), and the worst-first order of
 * the entries. Pure; any thread. */
#include "quality_int.h"

#include "numfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static double num_or(json_t *v, double dflt)
{
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/* The profile's word for a stored compare code ("a", "d", "r"). */
static const char *cmp_word(const char *code)
{
    return code && *code == 'd' ? "delta" : code && *code == 'r' ? "ratio" : "absolute";
}

static const char *def_cmp_word(enum sw_compare c)
{
    return c == SW_CMP_DELTA ? "delta" : c == SW_CMP_RATIO ? "ratio" : "absolute";
}

/* A stored window [lo|null, hi|null] (the comparison's terms) as it is, or [null, null]. */
static json_t *window_copy(json_t *w)
{
    if (!json_is_array(w) || json_array_size(w) != 2)
        return json_pack("[n n]");
    return json_pack("[o o]", num(num_or(json_array_get(w, 0), NAN)), num(num_or(json_array_get(w, 1), NAN)));
}

/* {"window": [lo, hi] in the comparison's terms, "limits": [lo, hi] in the statistic's unit}. */
static json_t *tolerance(json_t *rel, json_t *limits)
{
    json_t *l = json_is_array(limits) ? json_deep_copy(limits) : json_pack("[n n]");
    return json_pack("{s:o, s:o}", "window", rel ? rel : json_pack("[n n]"), "limits", l);
}

/* How far raw lies beyond the good window [glo, ghi], in units of the warn margin on that side (the
 * distance from the good edge to the warn edge): 0 inside, up to 1 within the warn window, beyond 1
 * outside it. Open ends are ±inf; without a usable margin the good window's half-width, else the
 * edge's magnitude, else 1. NaN when raw or the crossed edge is unknown. */
static double outside(double raw, double glo, double ghi, double wlo, double whi)
{
    if (!isfinite(raw) || isnan(glo) || isnan(ghi))
        return NAN;
    double edge, warn;
    if (raw < glo)
        edge = glo, warn = wlo;
    else if (raw > ghi)
        edge = ghi, warn = whi;
    else
        return 0;
    if (!isfinite(edge))
        return NAN;
    double margin = fabs(edge - warn);
    if (!(isfinite(margin) && margin > 0))
        margin = isfinite(ghi - glo) && ghi > glo ? (ghi - glo) / 2 : fabs(edge) > 0 ? fabs(edge) : 1;
    return fabs(raw - edge) / margin;
}

/* Where the expectation came from, as a word and in words. */
static void source_of(const char *layer, json_t *lay, const struct sw_check_def *d, const char *unit,
                      const char **word, char *text, size_t len)
{
    char a[SW_NUM_LEN];
    if (layer && !strcmp(layer, "physical")) {
        json_t *nom = json_object_get(lay, "nominal");
        if (json_is_number(nom)) {
            const char *from = json_string_value(json_object_get(lay, "nominal_from"));
            *word = "nominal";
            snprintf(text, len, "physical window around the nominal %s (from the %s)",
                     sw_num_unit(a, sizeof a, json_number_value(nom), unit, -6),
                     from && !strcmp(from, "run meta") ? "run's meta" : "profile");
        } else if (json_is_string(json_object_get(lay, "compare")) &&
                   strcmp(json_string_value(json_object_get(lay, "compare")), "absolute")) {
            *word = "nominal"; /* relative to a nominal that was not worked out (the check lacked data) */
            snprintf(text, len, "physical window around the nominal (not known for this spill)");
        } else {
            *word = NULL;
            snprintf(text, len, "physical window: absolute limits");
        }
        return;
    }
    json_t *src = json_object_get(lay, "source");
    const char *kind = json_string_value(json_object_get(src, "kind"));
    const char *t = json_string_value(json_object_get(src, "text"));
    *word = kind && strcmp(kind, "absolute") ? kind : NULL;
    if (!kind || !strcmp(kind, "absolute"))
        snprintf(text, len, "absolute limits");
    else if (!strcmp(kind, "baseline"))
        snprintf(text, len, "baseline of %s%s", t && *t ? t : "this run",
                 json_is_true(json_object_get(src, "carried"))
                     ? " (carried over from a run of matching conditions)"
                     : "");
    else if (!strcmp(kind, "learning"))
        snprintf(text, len, "%s", t && *t ? t : "baseline: learning");
    else if (!strcmp(kind, "reference_run"))
        snprintf(text, len, "the GOOD spills of reference run %lld",
                 (long long)json_integer_value(json_object_get(src, "run")));
    else if (!strcmp(kind, "rolling_median") && d && d->rolling_n > 0)
        snprintf(text, len, "rolling median of the last %d GOOD spills", d->rolling_n);
    else if (!strcmp(kind, "rolling_median"))
        snprintf(text, len, "rolling median of the last GOOD spills");
    else if (!strcmp(kind, "peers"))
        snprintf(text, len, "median of its peers (%lld with data)",
                 (long long)json_integer_value(json_object_get(src, "used")));
    else if (!strcmp(kind, "fixed"))
        snprintf(text, len, "fixed value %s",
                 sw_num_unit(a, sizeof a, num_or(json_object_get(lay, "expected"), NAN), unit, -6));
    else
        snprintf(text, len, "%s", kind);
}

json_t *sw_quality_judged(json_t *prov, json_t *stored, const struct sw_check_def *d, double raw,
                          const char **value_unit)
{
    const char *unit = d ? sw_q_unit(d) : NULL;
    const char *lname = NULL;
    json_t *lay = json_is_object(prov) ? sw_q_judging_layer(prov, &lname) : NULL;
    json_t *sph = json_array_get(stored, 1), *sst = json_array_get(stored, 2);
    const char *cmp = NULL;
    json_t *rgood = NULL, *rwarn = NULL, *expected = NULL;
    if (lay && !strcmp(lname, "physical") && json_is_array(sph)) {
        cmp = cmp_word(json_string_value(json_array_get(sph, 1)));
        rgood = window_copy(json_array_get(sph, 4));
        rwarn = window_copy(json_array_get(sph, 5));
        expected = json_object_get(lay, "nominal");
    } else if (lay && json_is_array(sst)) {
        cmp = cmp_word(json_string_value(json_array_get(sst, 2)));
        rgood = window_copy(json_array_get(sst, 4));
        rwarn = window_copy(json_array_get(sst, 5));
        expected = json_object_get(lay, "expected");
    } else if (d) {
        /* stored before provenance was recorded: the definition as it stands */
        int stab = d->stability || !d->phys.on;
        cmp = stab ? def_cmp_word(d->compare) : def_cmp_word(d->phys.compare);
        rgood = json_pack("[o o]", num(stab ? d->good_lo : d->phys.good_lo),
                          num(stab ? d->good_hi : d->phys.good_hi));
        rwarn = json_pack("[o o]", num(stab ? d->warn_lo : d->phys.warn_lo),
                          num(stab ? d->warn_hi : d->phys.warn_hi));
    }
    json_t *lgood = json_object_get(lay, "good"), *lwarn = json_object_get(lay, "warn");
    const char *word = NULL;
    char text[256] = "";
    if (lay)
        source_of(lname, lay, d, unit ? unit : "", &word, text, sizeof text);

    /* the unit of value: the comparison of the layer value comes from (the stability window when it
     * judged, else the physical one) */
    json_t *vst = json_object_get(prov, "stability"), *vph = json_object_get(prov, "physical");
    const char *vstate = json_string_value(json_object_get(vst, "state"));
    const char *vcmp = vst && vstate && strcmp(vstate, "EXCLUDED")
                           ? json_string_value(json_object_get(vst, "compare"))
                       : vph ? json_string_value(json_object_get(vph, "compare"))
                             : cmp;
    if (!vcmp)
        vcmp = cmp;
    *value_unit = !unit || !vcmp ? NULL : !strcmp(vcmp, "ratio") ? "ratio" : unit;

    double gl = num_or(json_array_get(lgood, 0), -INFINITY), gh = num_or(json_array_get(lgood, 1), INFINITY);
    double wl = num_or(json_array_get(lwarn, 0), -INFINITY), wh = num_or(json_array_get(lwarn, 1), INFINITY);
    int known = json_is_array(lgood) &&
                (json_is_number(json_array_get(lgood, 0)) || json_is_number(json_array_get(lgood, 1)));
    double out = known ? outside(raw, gl, gh, wl, wh) : NAN;

    json_t *sig = json_null();
    if (d && d->sig_warn > 0)
        sig = json_pack("{s:f, s:f, s:o}", "warn", d->sig_warn, "bad", d->sig_bad, "z",
                        num(num_or(json_object_get(vst, "z"), NAN)));
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "layer",
                     lname ? json_string(lname) : json_null(), "compare",
                     cmp ? json_string(cmp) : json_null(), "expected", num(num_or(expected, NAN)),
                     "expected_from", word ? json_string(word) : json_null(), "from",
                     *text ? json_string(text) : json_null(), "good", tolerance(rgood, lgood), "warn",
                     tolerance(rwarn, lwarn), "significance", sig, "outside", num(out));
}

/* ---- worst first ---- */

static int state_rank(const char *s)
{
    static const char *const order[] = {"BAD", "WARN", "UNKNOWN", "GOOD", "EXCLUDED"};
    for (int i = 0; i < 5; i++)
        if (s && !strcmp(s, order[i]))
            return i;
    return 5;
}

static int entry_cmp(const void *pa, const void *pb)
{
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int ra = state_rank(json_string_value(json_object_get(a, "state")));
    int rb = state_rank(json_string_value(json_object_get(b, "state")));
    if (ra != rb)
        return ra - rb;
    json_t *oa = json_object_get(json_object_get(a, "judged"), "outside");
    json_t *ob = json_object_get(json_object_get(b, "judged"), "outside");
    double xa = num_or(oa, -1), xb = num_or(ob, -1); /* unknown after every known distance */
    if (xa != xb)
        return xa > xb ? -1 : 1;
    const char *na = json_string_value(json_object_get(a, "name")),
               *nb = json_string_value(json_object_get(b, "name"));
    return strcmp(na ? na : "", nb ? nb : "");
}

void sw_quality_sort_checks(json_t *checks)
{
    size_t n = json_array_size(checks);
    if (n < 2)
        return;
    json_t **v = malloc(n * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(checks, i));
    qsort(v, n, sizeof *v, entry_cmp);
    json_array_clear(checks);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(checks, v[i]);
    free(v);
}
