/* cfgkit.h — the validation kit shared by the server config (config.c) and the experiment profile
 * (profile_*.c): a growing list of validation messages and typed getters that report every bad
 * key with its JSON path (`$.histograms[3].x.bins: must be an integer >= 1`) and carry on with a
 * default, so --check-config can list every problem at once.
 *
 * Ownership: a struct sw_diag owns its messages (sw_diag_release frees them); every getter borrows
 * the JSON it reads and returns borrowed strings (alive as long as the JSON). No state of its own:
 * any thread, one struct sw_diag per thread at a time.
 */
#ifndef SW_CFGKIT_H
#define SW_CFGKIT_H

#include <stddef.h>
#include <jansson.h>

/* A growing list of validation messages. */
struct sw_diag {
    char **msg;
    int n;
};
void sw_diag_add(struct sw_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sw_diag_release(struct sw_diag *d);

/* Resolves rel against the directory of base_file (absolute paths stay as they are) into out. */
void sw_cfg_resolve_path(char *out, size_t outlen, const char *base_file, const char *rel);

/* Typed getters of obj[key]: def when the key is absent; a wrong type or a value outside [lo, hi]
 * is reported as "<path>.<key>: ..." and gives def. */
const char *sw_cfg_get_string(json_t *obj, const char *key, const char *def, const char *path,
                              struct sw_diag *d);
double sw_cfg_get_number(json_t *obj, const char *key, double def, double lo, double hi, const char *path,
                         struct sw_diag *d);
long long sw_cfg_get_int(json_t *obj, const char *key, long long def, long long lo, long long hi,
                         const char *path, struct sw_diag *d);

/* Reports "<path>.<key>: unknown key" for every key of obj not in known (NULL-terminated); keys
 * starting with '_' ("_comment") document the file and are allowed. */
void sw_cfg_check_keys(json_t *obj, const char *const *known, const char *path, struct sw_diag *d);

/* Reads the JSON object in the file at path (duplicate keys rejected). The new reference, or NULL
 * with "path:line:column: text" (or "path: $: must be an object") in d. */
json_t *sw_cfg_load_json(const char *path, struct sw_diag *d);

/* Names that appear in URLs (histograms, checks, alarms, hooks): reports a name holding anything
 * but letters, digits, '_' and '-'. */
void sw_cfg_check_name_chars(const char *name, const char *path, struct sw_diag *d);
/* Copies src into dst (truncated), reporting a src that does not fit. */
void sw_cfg_copy_name(char *dst, size_t dstlen, const char *src, const char *path, struct sw_diag *d);

/* The head of a named definition (a histogram, a check): o must be an object of the known keys with
 * a "name" (required; copied, its characters checked), a "title" (default: the name) and a "unit"
 * (default ""). -1 when o is not an object (reported), else 0 (other problems reported). */
int sw_cfg_named(json_t *o, const char *const *known, const char *path, char *name, size_t namelen,
                 char *title, size_t titlelen, char *unit, size_t unitlen, struct sw_diag *d);

/* Index of s in the NULL-terminated names, or -1. */
int sw_cfg_name_index(const char *const *names, const char *s);

#endif
