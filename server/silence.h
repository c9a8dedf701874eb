/* silence.h — silences (docs/design.md §9): time-bound label matchers that mute the firing notices
 * and repeats of the alarm rules they match, and the set of active (or future) silences the alarms
 * keep in memory. Pure: no I/O, no lock; the stored table is alarm_store's and the REST side is
 * alarm_api's.
 *
 * Threads: a struct sw_silences belongs to its owner (the alarms), which calls these under its own
 * mutex. The set owns its array (copies of the silences added); sw_silences_release frees it.
 */
#ifndef SW_SILENCE_H
#define SW_SILENCE_H

#include <stdint.h>

#include "config.h"

/* A silence: mutes the rules whose labels (alertname, severity and the rule's own) equal every
 * matcher, from starts_at to ends_at (Unix s). */
struct sw_silence {
    int64_t id;
    double created, starts_at, ends_at;
    char creator[SW_NAME_MAX], who[SW_NAME_MAX];
    char comment[512];
    char matchers[SW_ALARM_LABELS_MAX][2][SW_NAME_MAX];
    int nmatchers;
};

/* 1 when every matcher of s equals the label of rule d (alertname, severity, or the rule's own). */
int sw_silence_matches(const struct sw_alarm_def *d, const struct sw_silence *s);

/* Appends to s's matchers the string members of the JSON object text (as the silences table
 * stores them; other members and text that is not an object are skipped), up to
 * SW_ALARM_LABELS_MAX. */
void sw_silence_matchers_from_json(struct sw_silence *s, const char *text);

/* Silences in memory, in no particular order. Zero-initialise. */
struct sw_silences {
    struct sw_silence *v;
    int n, cap;
};

/* Adds a copy of s. 0, or SW_ENOMEM (nothing added). */
int sw_silences_add(struct sw_silences *set, const struct sw_silence *s);
/* Removes the silence id. 0, or SW_ENOTFOUND. */
int sw_silences_remove(struct sw_silences *set, int64_t id);
/* Removes the silences that ended at or before now (the store keeps them). */
void sw_silences_drop_ended(struct sw_silences *set, double now);
/* Id of the first silence in force at now that matches rule d, or 0. */
int64_t sw_silences_muting(const struct sw_silences *set, const struct sw_alarm_def *d, double now);
/* How many silences are in force at now. */
int sw_silences_active(const struct sw_silences *set, double now);
/* Frees the array; the set is empty (and reusable) afterwards. */
void sw_silences_release(struct sw_silences *set);

#endif
