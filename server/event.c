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

static const char *const daq_problem_names[SW_DAQ_N] = {"missing", "empty", "truncated", "bad"};

int sw_daq_source_ok(const char *name)
{
    size_t n = 0;
    for (const char *c = name; *c; c++, n++)
        if (!(*c == '.' || *c == '_' || *c == '-' || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
              (*c >= 'A' && *c <= 'Z')))
            return 0;
    return n >= 1 && n <= SW_DAQ_SOURCE_MAX;
}

int sw_daq_problem_parse(const char *name)
{
    for (int i = 0; i < SW_DAQ_N; i++)
        if (strcmp(name, daq_problem_names[i]) == 0)
            return i;
    return -1;
}

const char *sw_daq_problem_name(int problem)
{
    return problem >= 0 && problem < SW_DAQ_N ? daq_problem_names[problem] : "?";
}
