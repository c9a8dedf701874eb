/* exposition.c — see exposition.h */
#include "exposition.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm_report.h"
#include "alarms.h"
#include "clock.h"
#include "engine.h"
#include "metrics.h"
#include "store.h"

#define NELEM(a) (int)(sizeof(a) / sizeof((a)[0]))
#define U(x)     ((unsigned long long)atomic_load(&(x)))

/* ---- the text format ---- */

void sw_exposition_histogram(FILE *f, const char *name, const char *help, const struct sw_histogram *h)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    unsigned long long cum = 0;
    for (int b = 0; b <= h->nbounds; b++) {
        cum += (unsigned long long)atomic_load_explicit(&h->buckets[b], memory_order_relaxed);
        if (b < h->nbounds)
            fprintf(f, "%s_bucket{le=\"%.15g\"} %llu\n", name, h->bounds[b], cum);
        else
            fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
    }
    double sum = (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) * 1e-9;
    fprintf(f, "%s_sum %.15g\n%s_count %llu\n", name, sum, name, cum);
}

/* A label value escaped as the text exposition format requires: \\, \" and \n. */
static void put_label_value(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '"')
            fputs("\\\"", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void gauge_head(FILE *f, const char *name, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* A gauge line only when v is finite: an unknown value is left out, never NaN. */
static void gauge_finite(FILE *f, const char *name, const char *help, double v)
{
    if (!isfinite(v))
        return;
    gauge_head(f, name, help);
    fprintf(f, "%s %.17g\n", name, v);
}

/* The last closed spill; called under the metrics module's last-spill mutex. */
static void render_last_spill(void *ctx, const struct sw_metrics_last *l)
{
    FILE *f = ctx;
    const struct sw_metrics_spill *s = l->s;
    gauge_head(f, "spillwatch_last_spill_run", "Run of the last closed spill.");
    fprintf(f, "spillwatch_last_spill_run %lld\n", (long long)s->run);
    gauge_head(f, "spillwatch_last_spill_number", "Spill number of the last closed spill.");
    fprintf(f, "spillwatch_last_spill_number %lld\n", (long long)s->spill);
    gauge_head(f, "spillwatch_last_spill_events", "Events recorded in the last closed spill.");
    fprintf(f, "spillwatch_last_spill_events %llu\n", (unsigned long long)s->events);
    gauge_finite(f, "spillwatch_last_spill_mot", "Muons on target of the last closed spill.", s->mot);
    gauge_finite(f, "spillwatch_last_spill_dead_time_ratio",
                 "DAQ dead-time fraction (0..1) of the last closed spill.", s->dead_time);
    gauge_finite(f, "spillwatch_last_spill_duration_seconds", "Duration of the last closed spill.",
                 s->duration);
    gauge_head(f, "spillwatch_last_spill_flag", "1 for the automatic flag of the last closed spill, else 0.");
    for (int st = 0; st < SW_STATE_N; st++)
        fprintf(f, "spillwatch_last_spill_flag{flag=\"%s\"} %d\n", sw_state_name((enum sw_state)st),
                st == (int)s->flag);
    if (l->nrates > 0) {
        /* Not ..._counter_rate_hz: promtool's linter refuses "counter" in a gauge's name. */
        gauge_head(f, "spillwatch_last_spill_rate_hz",
                   "Spill-end counter divided by the duration of the last closed spill.");
        for (int i = 0; i < l->nrates; i++) {
            fputs("spillwatch_last_spill_rate_hz{counter=\"", f);
            put_label_value(f, l->names[i]);
            fprintf(f, "\"} %.17g\n", l->rates[i]);
        }
    }
}

static void render_spills(FILE *f, struct sw_engine *engine)
{
    struct sw_live live;
    if (engine)
        sw_engine_live(engine, &live);
    if (engine && live.run >= 0) {
        gauge_head(f, "spillwatch_current_run",
                   "Run of the live spill (the most recently fed open spill, else the last closed one).");
        fprintf(f, "spillwatch_current_run %lld\n", (long long)live.run);
        gauge_head(f, "spillwatch_current_spill", "Spill number of the live spill.");
        fprintf(f, "spillwatch_current_spill %lld\n", (long long)live.spill);
        gauge_head(f, "spillwatch_current_spill_open", "1 while the live spill is still receiving data.");
        fprintf(f, "spillwatch_current_spill_open %d\n", live.in_spill);
    }
    if (engine)
        gauge_finite(f, "spillwatch_seconds_since_data", "Seconds since the last accepted ingest record.",
                     live.now - live.last_data);

    sw_metrics_last_spill(render_last_spill, f);
}

/* The families of render_sources, in order; source_value gives each one's value (NaN: not known). */
static const struct {
    const char *name, *help;
} source_families[] = {
    {"spillwatch_source_seq", "Last applied X-Spillwatch-Seq of the collector source."},
    {"spillwatch_source_committed_seq",
     "Last X-Spillwatch-Seq of the source committed to SQLite with a spill (the resume point)."},
    {"spillwatch_source_last_batch_age_seconds",
     "Seconds since the source's last batch answered 200 (applied or duplicate)."},
    {"spillwatch_source_lag_bytes",
     "Bytes of its input the collector reported as not yet sent (X-Spillwatch-Lag-Bytes)."},
    {"spillwatch_source_lag_seconds",
     "Age of the oldest unsent line the collector reported (X-Spillwatch-Lag-Seconds)."},
};

static double source_value(const struct sw_source_info *s, int family)
{
    switch (family) {
    case 0:
        return s->seq > 0 ? (double)s->seq : NAN;
    case 1:
        return s->committed_seq > 0 ? (double)s->committed_seq : NAN;
    case 2:
        return s->age;
    case 3:
        return s->lag_bytes >= 0 ? (double)s->lag_bytes : NAN;
    default:
        return s->lag_seconds;
    }
}

/* Per collector source, family after family; a family is printed only when it has a series, and
 * a value not known (no batch since start-up, no lag reported) is left out rather than NaN. */
static void render_sources(FILE *f, struct sw_engine *engine)
{
    struct sw_source_info *src = NULL;
    int n = engine ? sw_engine_sources(engine, &src) : 0;
    for (int k = 0; k < NELEM(source_families); k++) {
        int head = 0;
        for (int i = 0; i < n; i++) {
            double v = source_value(&src[i], k);
            if (!isfinite(v))
                continue;
            if (!head++)
                gauge_head(f, source_families[k].name, source_families[k].help);
            fprintf(f, "%s{source=\"", source_families[k].name);
            put_label_value(f, src[i].name);
            fprintf(f, "\"} %.17g\n", v);
        }
    }
    free(src);
}

static void render_alarms(FILE *f, struct sw_alarms *alarms)
{
    if (!alarms)
        return;
    int counts[5], silences;
    sw_alarms_counts(alarms, counts, &silences);
    gauge_head(f, "spillwatch_alarms", "Alarm rules in each state.");
    for (int i = 0; i < 5; i++)
        fprintf(f, "spillwatch_alarms{state=\"%s\"} %d\n", sw_alarm_state_names[i], counts[i]);
    gauge_head(f, "spillwatch_silences_active", "Silences in force now.");
    fprintf(f, "spillwatch_silences_active %d\n", silences);
    json_t *all = sw_alarms_json(alarms), *a;
    size_t i;
    gauge_head(f, "spillwatch_alarm_active", "1 while the alarm rule fires (acknowledged or not), else 0.");
    json_array_foreach(json_object_get(all, "alarms"), i, a)
    {
        const char *state = json_string_value(json_object_get(a, "state"));
        fputs("spillwatch_alarm_active{alarm=\"", f);
        put_label_value(f, json_string_value(json_object_get(a, "name")));
        fputs("\",severity=\"", f);
        put_label_value(f, json_string_value(json_object_get(a, "severity")));
        fprintf(f, "\"} %d\n", state && (!strcmp(state, "firing") || !strcmp(state, "acknowledged")));
    }
    json_decref(all);
}

/* The per-rule figures of alarm fatigue over the whole stored history (alarm_report.h), for the
 * rules of the profile in force only, and deliveries for their hooks now: the label sets stay
 * bounded by the profile (rules x hooks x 5 outcomes). */
static void render_alarm_figures(FILE *f, struct sw_store *store, struct sw_alarms *alarms)
{
    sw_sql *db = store && alarms ? sw_store_reader(store) : NULL;
    struct sw_alarm_range all = {
        .since = -INFINITY, .until = INFINITY, .run_first = -1, .run_last = -1, .within = 3};
    char err[300];
    json_t *stats = db ? sw_alarm_report_stats(db, alarms, &all, err, sizeof err) : NULL;
    if (!stats)
        return;
    static const struct {
        const char *name, *type, *help, *key;
    } fams[] = {
        {"spillwatch_alarm_fired_total", "counter", "Firing episodes of the alarm rule (stored history).",
         "fired"},
        {"spillwatch_alarm_acknowledged_total", "counter", "Firing episodes a shifter acknowledged.",
         "acknowledged"},
        {"spillwatch_alarm_auto_resolved_total", "counter", "Firing episodes that ended by themselves.",
         "auto_resolved"},
        {"spillwatch_alarm_auto_resolved_within_spills_total", "counter",
         "Firing episodes that ended by themselves within 3 spills of firing (the API's default within).",
         "auto_resolved_within"},
        {"spillwatch_alarm_firing_seconds_total", "counter",
         "Seconds the alarm rule was firing or acknowledged (an episode going on counts up to now).",
         "firing_seconds"},
        {"spillwatch_alarm_silenced_seconds_total", "counter",
         "Seconds of firing episodes during which a silence muted the rule.", "silenced_seconds"},
    };
    json_t *rules = json_object_get(stats, "rules"), *rule;
    size_t i;
    for (int k = 0; k < NELEM(fams); k++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fams[k].name, fams[k].help, fams[k].name, fams[k].type);
        json_array_foreach(rules, i, rule)
        {
            if (!json_is_true(json_object_get(rule, "in_profile")))
                continue;
            fprintf(f, "%s{alarm=\"", fams[k].name);
            put_label_value(f, json_string_value(json_object_get(rule, "alarm")));
            fprintf(f, "\"} %.15g\n", json_number_value(json_object_get(rule, fams[k].key)));
        }
    }
    /* Time to acknowledge: a summary without quantiles (sum and count of the acknowledged episodes). */
    fprintf(f, "# HELP spillwatch_alarm_ack_seconds Time from firing to the first acknowledgement.\n"
               "# TYPE spillwatch_alarm_ack_seconds summary\n");
    json_array_foreach(rules, i, rule)
    {
        if (!json_is_true(json_object_get(rule, "in_profile")))
            continue;
        double sum = json_number_value(json_object_get(rule, "ack_total_seconds"));
        json_int_t n = json_integer_value(json_object_get(rule, "acknowledged"));
        for (int part = 0; part < 2; part++) {
            fprintf(f, "spillwatch_alarm_ack_seconds_%s{alarm=\"", part ? "count" : "sum");
            put_label_value(f, json_string_value(json_object_get(rule, "alarm")));
            if (part)
                fprintf(f, "\"} %lld\n", (long long)n);
            else
                fprintf(f, "\"} %.15g\n", sum);
        }
    }
    fprintf(f,
            "# HELP spillwatch_alarm_deliveries_total Delivery log rows of the rule's notices, by hook and "
            "outcome (attempts; queue_full and silenced: notices never attempted).\n"
            "# TYPE spillwatch_alarm_deliveries_total counter\n");
    json_array_foreach(rules, i, rule)
    {
        if (!json_is_true(json_object_get(rule, "in_profile")))
            continue;
        json_t *hooks = json_object_get(rule, "hooks"), *h;
        size_t k;
        json_array_foreach(hooks, k, h)
        {
            const char *hook = json_string_value(json_object_get(h, "hook"));
            if (!json_is_true(json_object_get(h, "in_rule")))
                continue; /* a hook the rule no longer uses: not a series any more */
            for (int o = 0; o < SW_OUTCOME_N; o++) {
                fputs("spillwatch_alarm_deliveries_total{alarm=\"", f);
                put_label_value(f, json_string_value(json_object_get(rule, "alarm")));
                fputs("\",hook=\"", f);
                put_label_value(f, hook);
                fprintf(f, "\",outcome=\"%s\"} %lld\n", sw_delivery_outcome_names[o],
                        (long long)json_integer_value(json_object_get(h, sw_delivery_outcome_names[o])));
            }
        }
    }
    json_decref(stats);
}

static void render_profile(FILE *f)
{
    fprintf(f,
            "# HELP spillwatch_profile_reloads_total Profile reloads (SIGHUP, POST /api/v1/admin/reload), "
            "by result.\n# TYPE spillwatch_profile_reloads_total counter\n"
            "spillwatch_profile_reloads_total{result=\"ok\"} %llu\n"
            "spillwatch_profile_reloads_total{result=\"refused\"} %llu\n",
            U(sw_metrics.profile_reloads[0]), U(sw_metrics.profile_reloads[1]));
    struct sw_metrics_profile profile;
    sw_metrics_profile(&profile);
    if (profile.name[0]) {
        gauge_head(f, "spillwatch_profile_info", "The experiment profile in force (always 1).");
        fputs("spillwatch_profile_info{profile=\"", f);
        put_label_value(f, profile.name);
        fputs("\",version=\"", f);
        put_label_value(f, profile.version);
        fputs("\"} 1\n", f);
    }
}

char *sw_exposition_render(struct sw_store *store, struct sw_engine *engine, struct sw_alarms *alarms)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    double uptime = sw_wall() - sw_metrics.started;
    struct {
        const char *name, *type, *help;
        double value;
    } simple[] = {
        {"spillwatch_up", "gauge", "1 while the server runs.", 1},
        {"spillwatch_uptime_seconds", "gauge", "Seconds since the server started.", uptime},
        {"spillwatch_ingest_requests_total", "counter", "POST /api/v1/ingest requests received.",
         (double)U(sw_metrics.ingest_requests)},
        {"spillwatch_ingest_rejected_total", "counter",
         "Ingest requests rejected (4xx/5xx); nothing applied.", (double)U(sw_metrics.ingest_rejected)},
        {"spillwatch_ingest_duplicates_total", "counter",
         "Batches answered as duplicates (seq already applied).", (double)U(sw_metrics.ingest_duplicates)},
        {"spillwatch_ingest_bytes_total", "counter", "Bytes of ingest bodies received.",
         (double)U(sw_metrics.ingest_bytes)},
        {"spillwatch_ingest_events_total", "counter", "Events accepted (each counted once).",
         (double)U(sw_metrics.events)},
        {"spillwatch_ingest_records_total", "counter", "NDJSON records accepted.",
         (double)U(sw_metrics.records)},
        {"spillwatch_ingest_late_batches_total", "counter",
         "Batches refused with 409 (data for a closed spill).", (double)U(sw_metrics.late_records)},
        {"spillwatch_ingest_late_events_total", "counter", "Events refused because their spill was closed.",
         (double)U(sw_metrics.late_events)},
        {"spillwatch_spills_timed_out_total", "counter", "Spills closed as incomplete by the spill timeout.",
         (double)U(sw_metrics.spills_timed_out)},
        {"spillwatch_open_spills", "gauge", "Spills receiving data now.",
         atomic_load(&sw_metrics.open_spills)},
        {"spillwatch_store_commits_total", "counter", "Spill commits to SQLite.",
         (double)(store ? sw_store_commits(store) : 0)},
        {"spillwatch_store_commit_failures_total", "counter",
         "Failed attempts of spill, run and open-spill writes (each is retried until it succeeds).",
         (double)(store ? sw_store_commit_failures(store) : 0)},
        {"spillwatch_store_queue_jobs", "gauge", "Jobs queued to the SQLite writer and not yet finished.",
         store ? sw_store_queue_jobs(store) : 0},
        {"spillwatch_store_queue_max", "gauge",
         "Writer queue length at which ingest answers 503 (limits.writer_queue_max).",
         store ? sw_store_queue_max(store) : 0},
        {"spillwatch_store_commit_seconds_total", "counter", "Time spent in spill commits.",
         store ? sw_store_commit_seconds(store) : 0},
        {"spillwatch_hook_deliveries_total", "counter", "Alarm notifications delivered by hooks.",
         (double)U(sw_metrics.hook_deliveries)},
        {"spillwatch_hook_failures_total", "counter",
         "Alarm notifications given up after all retries (or dropped).", (double)U(sw_metrics.hook_failures)},
        {"spillwatch_hook_retries_total", "counter", "Failed hook delivery attempts that were retried.",
         (double)U(sw_metrics.hook_retries)},
        {"spillwatch_alarm_delivery_log_lost_total", "counter",
         "Delivery log rows not written (the writer stalled, or a write failed).",
         (double)U(sw_metrics.delivery_log_lost)},
        {"spillwatch_alarm_transitions_total", "counter", "Alarm state changes.",
         (double)U(sw_metrics.alarm_transitions)},
        {"spillwatch_alarms_firing", "gauge", "Alarms firing now.", atomic_load(&sw_metrics.alarms_firing)},
        {"spillwatch_stream_clients", "gauge", "Clients connected to GET /api/v1/stream now.",
         atomic_load(&sw_metrics.stream_clients)},
        {"spillwatch_stream_events_published_total", "counter", "Events published on the live stream.",
         (double)U(sw_metrics.stream_events)},
        {"spillwatch_stream_events_sent_total", "counter",
         "Events written to stream clients (one per client and event, replays included).",
         (double)U(sw_metrics.stream_events_sent)},
        {"spillwatch_stream_dropped_total", "counter",
         "Streams ended because the client fell behind the event ring (it reconnects with Last-Event-ID).",
         (double)U(sw_metrics.stream_dropped)},
        {"spillwatch_stream_refused_total", "counter",
         "Stream requests refused with 503 (limits.stream_clients_max reached).",
         (double)U(sw_metrics.stream_refused)},
        {"spillwatch_retention_pruned_spills_total", "counter",
         "Spills whose per-spill histograms retention pruned (summed into their run first).",
         (double)U(sw_metrics.retention_pruned_spills)},
        {"spillwatch_retention_pruned_bytes_total", "counter",
         "Bytes of per-spill histogram blobs retention deleted.",
         (double)U(sw_metrics.retention_pruned_bytes)},
        {"spillwatch_http_requests_total", "counter", "HTTP requests answered.",
         (double)U(sw_metrics.http_requests)},
        {"spillwatch_http_errors_total", "counter", "HTTP requests answered with a 4xx or 5xx status.",
         (double)U(sw_metrics.http_errors)},
        {"spillwatch_http_rate_limited_total", "counter",
         "Write requests answered 429: over the per-client rate (limits.write_rate, limits.ingest_rate).",
         (double)U(sw_metrics.http_rate_limited)},
        {"spillwatch_http_body_bytes", "gauge",
         "Bytes held now for request bodies being received (at most limits.body_memory_max).",
         (double)U(sw_metrics.http_body_bytes)},
        {"spillwatch_hist_cache_hits_total", "counter",
         "Histogram answers of stored scopes served from the cache (unchanged since the last commit).",
         (double)U(sw_metrics.hcache_hits)},
        {"spillwatch_hist_cache_misses_total", "counter",
         "Histogram answers of stored scopes computed from the database (then cached).",
         (double)U(sw_metrics.hcache_misses)},
        {"spillwatch_http_request_timeouts_total", "counter",
         "Connections closed because a request body was not complete within limits.request_seconds.",
         (double)U(sw_metrics.http_request_timeouts)},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", simple[i].name, simple[i].help, simple[i].name,
                simple[i].type, simple[i].name, simple[i].value);
    fprintf(f, "# HELP spillwatch_spills_closed_total Spills closed, by automatic flag.\n"
               "# TYPE spillwatch_spills_closed_total counter\n");
    for (int s = 0; s < SW_STATE_N; s++)
        fprintf(f, "spillwatch_spills_closed_total{flag=\"%s\"} %llu\n", sw_state_name((enum sw_state)s),
                U(sw_metrics.spills_closed[s]));
    fprintf(f, "# HELP spillwatch_ingest_errors_total Ingest requests rejected, by reason (HTTP status).\n"
               "# TYPE spillwatch_ingest_errors_total counter\n");
    for (int r = 0; r < SW_INGEST_REASON_N; r++)
        fprintf(f, "spillwatch_ingest_errors_total{reason=\"%s\"} %llu\n",
                sw_ingest_reason_name((enum sw_ingest_reason)r), U(sw_metrics.ingest_errors[r]));
    sw_exposition_histogram(f, "spillwatch_http_request_duration_seconds",
                            "Time from the start of an HTTP request to its response being queued.",
                            &sw_metrics.http_duration);
    sw_exposition_histogram(f, "spillwatch_store_commit_duration_seconds",
                            "Duration of one spill commit to SQLite (retries included).",
                            &sw_metrics.store_commit_duration);
    if (store) {
        enum sw_store_state st = sw_store_state(store, NULL, 0, NULL);
        static const char *const names[] = {"ok", "degraded", "failed"};
        fprintf(f, "# HELP spillwatch_store_state 1 for the database store's state: ok; degraded (a write "
                   "fails and is retried, or free space is below store.min_free_mb: ingest and human writes "
                   "answer 503); failed (the database file was removed or replaced: restart).\n"
                   "# TYPE spillwatch_store_state gauge\n");
        for (int i = 0; i < 3; i++)
            fprintf(f, "spillwatch_store_state{state=\"%s\"} %d\n", names[i], (int)st == i);
        fprintf(f,
                "# HELP spillwatch_store_state_changes_total Changes of the store's state (see "
                "spillwatch_store_state).\n# TYPE spillwatch_store_state_changes_total counter\n"
                "spillwatch_store_state_changes_total %llu\n",
                (unsigned long long)sw_store_fault_transitions(store));
        long long fb = sw_store_free_bytes(store);
        if (fb >= 0)
            fprintf(f,
                    "# HELP spillwatch_store_free_bytes Bytes free under the database's directory "
                    "(unprivileged).\n# TYPE spillwatch_store_free_bytes gauge\nspillwatch_store_free_bytes "
                    "%lld\n",
                    fb);
    }
    render_spills(f, engine);
    render_sources(f, engine);
    render_alarms(f, alarms);
    render_alarm_figures(f, store, alarms);
    render_profile(f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
