/* metrics.c — see metrics.h */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "store.h"

struct sw_metrics sw_metrics;

#define U(x) ((unsigned long long)atomic_load(&(x)))

char *sw_metrics_render(struct sw_store *store, struct sw_engine *engine)
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
         (double)sw_store_commits(store)},
        {"spillwatch_store_commit_failures_total", "counter", "Spill commit attempts that failed.",
         (double)sw_store_commit_failures(store)},
        {"spillwatch_store_commit_seconds_total", "counter", "Time spent in spill commits.",
         sw_store_commit_seconds(store)},
        {"spillwatch_hook_deliveries_total", "counter", "Alarm notifications delivered by hooks.",
         (double)U(sw_metrics.hook_deliveries)},
        {"spillwatch_hook_failures_total", "counter",
         "Alarm notifications given up after all retries (or dropped).", (double)U(sw_metrics.hook_failures)},
        {"spillwatch_hook_retries_total", "counter", "Failed hook delivery attempts that were retried.",
         (double)U(sw_metrics.hook_retries)},
        {"spillwatch_alarm_transitions_total", "counter", "Alarm state changes.",
         (double)U(sw_metrics.alarm_transitions)},
        {"spillwatch_alarms_firing", "gauge", "Alarms firing now.", atomic_load(&sw_metrics.alarms_firing)},
        {"spillwatch_http_requests_total", "counter", "HTTP requests answered.",
         (double)U(sw_metrics.http_requests)},
        {"spillwatch_http_errors_total", "counter", "HTTP requests answered with a 4xx or 5xx status.",
         (double)U(sw_metrics.http_errors)},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", simple[i].name, simple[i].help, simple[i].name,
                simple[i].type, simple[i].name, simple[i].value);
    fprintf(f, "# HELP spillwatch_spills_closed_total Spills closed, by automatic flag.\n"
               "# TYPE spillwatch_spills_closed_total counter\n");
    for (int s = 0; s < SW_STATE_N; s++)
        fprintf(f, "spillwatch_spills_closed_total{flag=\"%s\"} %llu\n", sw_state_name((enum sw_state)s),
                U(sw_metrics.spills_closed[s]));
    (void)engine;
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
