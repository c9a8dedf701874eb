/* cfgkit.c — see cfgkit.h */
#include "cfgkit.h"

#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
void sw_cfg_resolve_path(char *out, size_t outlen, const char *base_file, const char *rel)
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

const char *sw_cfg_get_string(json_t *obj, const char *key, const char *def, const char *path,
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

double sw_cfg_get_number(json_t *obj, const char *key, double def, double lo, double hi, const char *path,
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

long long sw_cfg_get_int(json_t *obj, const char *key, long long def, long long lo, long long hi,
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
void sw_cfg_check_name_chars(const char *name, const char *path, struct sw_diag *d)
{
    for (const char *c = name; *c; c++)
        if (!(*c == '_' || *c == '-' || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
              (*c >= 'A' && *c <= 'Z'))) {
            sw_diag_add(d, "%s: \"%s\" may hold only letters, digits, '_' and '-'", path, name);
            return;
        }
}

void sw_cfg_copy_name(char *dst, size_t dstlen, const char *src, const char *path, struct sw_diag *d)
{
    if (strlen(src) >= dstlen)
        sw_diag_add(d, "%s: \"%s\" is longer than %zu characters", path, src, dstlen - 1);
    snprintf(dst, dstlen, "%s", src);
}

void sw_cfg_check_keys(json_t *obj, const char *const *known, const char *path, struct sw_diag *d)
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

json_t *sw_cfg_load_json(const char *path, struct sw_diag *d)
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

int sw_cfg_name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

int sw_cfg_named(json_t *o, const char *const *known, const char *path, char *name, size_t namelen,
                 char *title, size_t titlelen, char *unit, size_t unitlen, struct sw_diag *d)
{
    char p[128];
    if (!json_is_object(o)) {
        sw_diag_add(d, "%s: must be an object", path);
        return -1;
    }
    sw_cfg_check_keys(o, known, path, d);
    const char *n = sw_cfg_get_string(o, "name", NULL, path, d);
    if (!n || !*n)
        sw_diag_add(d, "%s.name: missing", path);
    else {
        snprintf(p, sizeof p, "%s.name", path);
        sw_cfg_copy_name(name, namelen, n, p, d);
        sw_cfg_check_name_chars(n, p, d);
    }
    snprintf(title, titlelen, "%s", sw_cfg_get_string(o, "title", name, path, d));
    snprintf(unit, unitlen, "%s", sw_cfg_get_string(o, "unit", "", path, d));
    return 0;
}
