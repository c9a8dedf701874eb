/* silence.c — see silence.h */
#include "silence.h"

#include <jansson.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"

int sw_silence_matches(const struct sw_alarm_def *d, const struct sw_silence *s)
{
    for (int m = 0; m < s->nmatchers; m++) {
        const char *key = s->matchers[m][0], *have = NULL;
        if (!strcmp(key, "alertname"))
            have = d->name;
        else if (!strcmp(key, "severity"))
            have = d->severity;
        for (int l = 0; !have && l < d->nlabels; l++)
            if (!strcmp(d->labels[l][0], key))
                have = d->labels[l][1];
        if (!have || strcmp(have, s->matchers[m][1]))
            return 0;
    }
    return 1;
}

int sw_silences_add(struct sw_silences *set, const struct sw_silence *s)
{
    if (set->n == set->cap) {
        int cap = set->cap ? 2 * set->cap : 8;
        struct sw_silence *g = realloc(set->v, (size_t)cap * sizeof *g);
        if (!g)
            return SW_ENOMEM;
        set->v = g, set->cap = cap;
    }
    set->v[set->n++] = *s;
    return 0;
}

int sw_silences_remove(struct sw_silences *set, int64_t id)
{
    for (int k = 0; k < set->n; k++)
        if (set->v[k].id == id) {
            set->v[k] = set->v[--set->n];
            return 0;
        }
    return SW_ENOTFOUND;
}

void sw_silences_drop_ended(struct sw_silences *set, double now)
{
    for (int k = set->n - 1; k >= 0; k--)
        if (set->v[k].ends_at <= now)
            set->v[k] = set->v[--set->n];
}

int64_t sw_silences_muting(const struct sw_silences *set, const struct sw_alarm_def *d, double now)
{
    for (int k = 0; k < set->n; k++)
        if (set->v[k].starts_at <= now && now < set->v[k].ends_at && sw_silence_matches(d, &set->v[k]))
            return set->v[k].id;
    return 0;
}

int sw_silences_active(const struct sw_silences *set, double now)
{
    int n = 0;
    for (int k = 0; k < set->n; k++)
        n += set->v[k].starts_at <= now && now < set->v[k].ends_at;
    return n;
}

void sw_silences_release(struct sw_silences *set)
{
    free(set->v);
    *set = (struct sw_silences){0};
}

void sw_silence_matchers_from_json(struct sw_silence *s, const char *text)
{
    json_t *m = text ? json_loads(text, 0, NULL) : NULL, *v;
    const char *key;
    json_object_foreach(m, key, v)
    {
        if (s->nmatchers < SW_ALARM_LABELS_MAX && json_is_string(v)) {
            snprintf(s->matchers[s->nmatchers][0], SW_NAME_MAX, "%s", key);
            snprintf(s->matchers[s->nmatchers][1], SW_NAME_MAX, "%s", json_string_value(v));
            s->nmatchers++;
        }
    }
    json_decref(m);
}
