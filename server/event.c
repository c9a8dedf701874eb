/* event.c — see event.h */
#include "event.h"

#include <string.h>

static const char *const trigger_names[SW_TRIG_N] = {"physics", "beam", "random", "led"};

int sw_fields_add(struct sw_fields *f, const char *name, int width)
{
    size_t len = strlen(name);
    if (f->n >= SW_FIELDS_MAX || len == 0 || len >= SW_FIELD_NAME_MAX || width < 1 ||
        width > SW_FIELD_WIDTH_MAX || sw_fields_find(f, name, len) >= 0)
        return -1;
    memcpy(f->name[f->n], name, len + 1);
    f->width[f->n] = width;
    f->offset[f->n] = f->row_width;
    f->row_width += width;
    f->n++;
    return 0;
}

int sw_fields_find(const struct sw_fields *f, const char *name, size_t len)
{
    for (int i = 0; i < f->n; i++)
        if (len && f->name[i][0] == name[0] && strlen(f->name[i]) == len &&
            memcmp(f->name[i], name, len) == 0)
            return i;
    return -1;
}

int sw_trigger_parse(const char *name)
{
    for (int i = 0; i < SW_TRIG_N; i++)
        if (strcmp(name, trigger_names[i]) == 0)
            return i;
    return -1;
}

const char *sw_trigger_name(int trigger)
{
    return trigger >= 0 && trigger < SW_TRIG_N ? trigger_names[trigger] : "?";
}
