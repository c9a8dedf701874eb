/* hooks.h — delivery of alarm notifications to the profile's hooks (docs/design.md §9).
 *
 * Each hook has its own thread and queue, so a slow or dead receiver delays nobody else, and ingest
 * only ever appends to a queue. webhook: HTTP POST with libcurl, an Alertmanager webhook v4 payload
 * (plus run, spill, value, threshold, dashboard) or Mattermost/Slack {"text": ...}. exec: the
 * hook's argument vector run with the alarm in SW_* environment variables (no shell), killed after
 * its timeout. A webhook with a secret signs the body: X-Spillwatch-Signature: sha256=<hex HMAC>. A failed
 * delivery is retried with exponential backoff (1 s doubling to 60 s, 8 attempts), then dropped and counted;
 * meanwhile later notices of the same episode wait behind it (no "resolved" before its "firing").
 * Every attempt (hook, attempt number, outcome, HTTP status or exit code, error, latency) goes to the
 * delivery log (delivery_log.h), which only queues: a hook thread never waits for the database.
 *
 * Threads: sw_hooks_notify from any thread; start/stop from the main thread (after
 * curl_global_init, before curl_global_cleanup).
 */
#ifndef SW_HOOKS_H
#define SW_HOOKS_H

#include <stdint.h>

#include "config.h"
#include "delivery_log.h"

/* One alarm transition to deliver. */
struct sw_notice {
    char alarm[SW_NAME_MAX];
    char severity[16];
    char summary[200];
    char status[16]; /* "firing" | "resolved" */
    int64_t run, spill;
    double value, threshold;
    double starts_at, ends_at; /* Unix s; ends_at 0 while firing */
    char fingerprint[17];
    char labels[SW_ALARM_LABELS_MAX][2][SW_NAME_MAX]; /* the rule's own labels (copied: a queued
                                                       * notice may outlive the profile, see reload.h) */
    int nlabels;
};

struct sw_hooks;

/* Starts one thread per hook of p (borrowed; must outlive the hooks: a profile reload that changes
 * the hooks starts new ones and stops these before dropping p). dashboard is the URL put
 * into payloads ("" when unknown). log (borrowed, may be NULL) gets every attempt. NULL on failure. */
struct sw_hooks *sw_hooks_start(const struct sw_profile *p, const char *dashboard,
                                struct sw_delivery_log *log);

/* Queues n for hook index `hook` (copied). Never blocks on delivery. A full queue (1,000) drops
 * the oldest notice and counts it as failed. */
void sw_hooks_notify(struct sw_hooks *h, int hook, const struct sw_notice *n);

/* Records in the delivery log that n, due for hook index `hook`, is held back by a silence (outcome
 * silenced; nothing is queued). Any thread; never blocks. */
void sw_hooks_held(struct sw_hooks *h, int hook, const struct sw_notice *n);

/* The delivery log given to sw_hooks_start (a reload starts the next hooks with it). */
struct sw_delivery_log *sw_hooks_log(const struct sw_hooks *h);

/* Stops the threads: queued notices get one more attempt within about a second. Accepts NULL. */
void sw_hooks_stop(struct sw_hooks *h);

#endif
