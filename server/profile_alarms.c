/* profile_alarms.c — the alert hooks and alarm rules of a profile (profile_parse.h). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgkit.h"
#include "event.h"
#include "profile.h"
#include "profile_parse.h"
#include "quality.h"

/* "secret" (inline) or "secret_file" (absolute path; its first line): the HMAC-SHA256 key of a
 * webhook's X-Spillwatch-Signature header. A file keeps the key out of the profile, which is usually
 * under version control. */
static void parse_secret(json_t *h, struct sw_hook_def *def, const char *path, struct sw_diag *d)
{
    const char *secret = sw_cfg_get_string(h, "secret", NULL, path, d);
    const char *file = sw_cfg_get_string(h, "secret_file", NULL, path, d);
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
    sw_cfg_check_keys(h, known, path, d);
    char p[128];
    snprintf(p, sizeof p, "%s.name", path);
    sw_cfg_copy_name(def->name, sizeof def->name, sw_cfg_get_string(h, "name", "", path, d), p, d);
    sw_cfg_check_name_chars(def->name, p, d);
    if (!def->name[0])
        sw_diag_add(d, "%s.name: missing", path);
    const char *type = sw_cfg_get_string(h, "type", "", path, d);
    def->timeout = sw_cfg_get_number(h, "timeout", 5, 0.1, 600, path, d);
    def->repeat = sw_cfg_get_number(h, "repeat_interval", 0, 0, 86400 * 7, path, d);
    if (!strcmp(type, "webhook")) {
        def->type = SW_HOOK_WEBHOOK;
        const char *url = sw_cfg_get_string(h, "url", "", path, d);
        if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
            sw_diag_add(d, "%s.url: an http:// or https:// URL is required", path);
        else if (strlen(url) >= sizeof def->url)
            sw_diag_add(d, "%s.url: longer than %zu characters", path, sizeof def->url - 1);
        snprintf(def->url, sizeof def->url, "%s", url);
        const char *fmt = sw_cfg_get_string(h, "format", "alertmanager", path, d);
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
            sw_cfg_check_keys(h, known, p, d);
            name = sw_cfg_get_string(h, "hook", NULL, p, d);
            after = sw_cfg_get_number(h, "after", 0, 0, 86400 * 7, p, d);
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
        if (sw_cfg_name_index(reserved, key) >= 0)
            sw_diag_add(d, "%s: reserved label", p);
        else if (!json_is_string(v))
            sw_diag_add(d, "%s: must be a string", p);
        else {
            sw_cfg_copy_name(def->labels[def->nlabels][0], SW_NAME_MAX, key, p, d);
            sw_cfg_copy_name(def->labels[def->nlabels][1], SW_NAME_MAX, json_string_value(v), p, d);
            def->nlabels++;
        }
    }
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
    sw_cfg_check_keys(a, known, path, d);
    char p[128];
    snprintf(p, sizeof p, "%s.name", path);
    sw_cfg_copy_name(def->name, sizeof def->name, sw_cfg_get_string(a, "name", "", path, d), p, d);
    sw_cfg_check_name_chars(def->name, p, d);
    if (!def->name[0])
        sw_diag_add(d, "%s.name: missing", path);
    const char *sev = sw_cfg_get_string(a, "severity", "warning", path, d);
    if (strcmp(sev, "critical") && strcmp(sev, "warning") && strcmp(sev, "info"))
        sw_diag_add(d, "%s.severity: critical, warning or info", path);
    snprintf(def->severity, sizeof def->severity, "%s", sev);
    snprintf(def->summary, sizeof def->summary, "%s", sw_cfg_get_string(a, "summary", def->name, path, d));
    parse_alarm_labels(json_object_get(a, "labels"), def, path, d);
    json_t *q = json_object_get(a, "quantity");
    const char *check = sw_cfg_get_string(a, "check", NULL, path, d);
    const char *flag = sw_cfg_get_string(a, "flag", NULL, path, d);
    const char *live = sw_cfg_get_string(a, "live", NULL, path, d);
    const char *trigger = sw_cfg_get_string(a, "trigger", NULL, path, d);
    def->live_trigger = -1;
    if (!!q + !!check + !!flag + !!live != 1)
        sw_diag_add(d, "%s: exactly one of quantity, check, flag, live", path);
    else if (q) {
        def->source = SW_ALARM_QUANTITY;
        snprintf(p, sizeof p, "%s.quantity", path);
        snprintf(def->q.name, sizeof def->q.name, "%s", def->name);
        sw_profile_parse_quantity(q, &def->q, prof, p, d);
        if (def->q.kind == SW_Q_HIST &&
            (def->q.stat == SW_STAT_KS_PROB || def->q.stat == SW_STAT_CHI2_PROB ||
             def->q.stat == SW_STAT_DEAD_CHANNELS || def->q.stat == SW_STAT_HOT_CHANNELS))
            sw_diag_add(d, "%s.stat: reference statistics belong to checks; alarm on the check's state", p);
        if (def->q.npeers)
            sw_diag_add(d, "%s.peers: peer comparisons belong to checks; alarm on the check's state", p);
    } else if (check) {
        def->source = SW_ALARM_CHECK_STATE;
        def->check = sw_profile_find_check(prof, check);
        if (def->check < 0)
            sw_diag_add(d, "%s.check: unknown check \"%s\"", path, check);
    } else if (flag) {
        def->source = SW_ALARM_FLAG;
        def->flag = sw_state_parse(flag);
        if (def->flag < 0)
            sw_diag_add(d, "%s.flag: GOOD, WARN, BAD, UNKNOWN or EXCLUDED", path);
    } else {
        def->source = SW_ALARM_LIVE;
        int l = sw_cfg_name_index(live_names, live);
        if (l < 0)
            sw_diag_add(d, "%s.live: must be one of trigger_rate, seconds_since_data, beam", path);
        else
            def->live = (enum sw_live_quantity)l;
    }
    if (trigger && (def->source != SW_ALARM_LIVE || def->live != SW_LIVE_TRIGGER_RATE))
        sw_diag_add(d, "%s.trigger: only for \"live\": \"trigger_rate\"", path);
    else if (trigger && (def->live_trigger = sw_trigger_parse(trigger)) < 0)
        sw_diag_add(d, "%s.trigger: must be one of physics, beam, random, led", path);
    def->above = sw_cfg_get_number(a, "above", NAN, -1e300, 1e300, path, d);
    def->below = sw_cfg_get_number(a, "below", NAN, -1e300, 1e300, path, d);
    if (isnan(def->above) && isnan(def->below))
        sw_diag_add(d, "%s: at least one of above, below is required", path);
    def->recover_above = sw_cfg_get_number(a, "recover_above", def->above, -1e300, 1e300, path, d);
    def->recover_below = sw_cfg_get_number(a, "recover_below", def->below, -1e300, 1e300, path, d);
    if (!isnan(def->above) && !(def->recover_above <= def->above))
        sw_diag_add(d, "%s.recover_above: must be <= above (hysteresis)", path);
    if (!isnan(def->below) && !(def->recover_below >= def->below))
        sw_diag_add(d, "%s.recover_below: must be >= below (hysteresis)", path);
    /* `for` counts spills, `for_seconds` seconds: each only where it means something. */
    if (def->source == SW_ALARM_LIVE && json_object_get(a, "for"))
        sw_diag_add(d, "%s.for: counts spills; a live rule takes for_seconds", path);
    if (def->source != SW_ALARM_LIVE && json_object_get(a, "for_seconds"))
        sw_diag_add(d, "%s.for_seconds: only for live rules; a spill rule takes for (spills)", path);
    def->for_spills = (int)sw_cfg_get_int(a, "for", 1, 1, 1000, path, d);
    def->for_seconds = sw_cfg_get_number(a, "for_seconds", 0, 0, 86400, path, d);
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

void sw_profile_parse_hooks_and_alarms(struct sw_profile *prof, json_t *root, struct sw_diag *d)
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
            sw_profile_report_duplicates(&(struct sw_names){prof->hooks[0].name, sizeof *prof->hooks},
                                         prof->nhooks, "hooks", "hook", d);
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
            sw_profile_report_duplicates(&(struct sw_names){prof->alarms[0].name, sizeof *prof->alarms},
                                         prof->nalarms, "alarms", "alarm", d);
    }
}
