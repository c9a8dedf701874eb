/* metrics.c — see metrics.h */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double uptime = (double)ts.tv_sec + ts.tv_nsec * 1e-9 - sw_metrics.started;

    fprintf(f,
            "# HELP spillwatch_up 1 while the server runs.\n# TYPE spillwatch_up gauge\nspillwatch_up 1\n");
    fprintf(f,
            "# HELP spillwatch_uptime_seconds Seconds since the server started.\n"
            "# TYPE spillwatch_uptime_seconds gauge\nspillwatch_uptime_seconds %.3f\n",
            uptime);
    fprintf(f,
            "# HELP spillwatch_ingest_requests_total POST /api/v1/ingest requests received.\n"
            "# TYPE spillwatch_ingest_requests_total counter\nspillwatch_ingest_requests_total %llu\n",
            U(sw_metrics.ingest_requests));
    fprintf(f,
            "# HELP spillwatch_ingest_rejected_total Ingest requests rejected (4xx/5xx); nothing applied.\n"
            "# TYPE spillwatch_ingest_rejected_total counter\nspillwatch_ingest_rejected_total %llu\n",
            U(sw_metrics.ingest_rejected));
    fprintf(
        f,
        "# HELP spillwatch_ingest_duplicates_total Batches answered as duplicates (seq already applied).\n"
        "# TYPE spillwatch_ingest_duplicates_total counter\nspillwatch_ingest_duplicates_total %llu\n",
        U(sw_metrics.ingest_duplicates));
    fprintf(f,
            "# HELP spillwatch_ingest_bytes_total Bytes of ingest bodies received.\n"
            "# TYPE spillwatch_ingest_bytes_total counter\nspillwatch_ingest_bytes_total %llu\n",
            U(sw_metrics.ingest_bytes));
    fprintf(f,
            "# HELP spillwatch_ingest_events_total Events accepted (each counted once).\n"
            "# TYPE spillwatch_ingest_events_total counter\nspillwatch_ingest_events_total %llu\n",
            U(sw_metrics.events));
    fprintf(f,
            "# HELP spillwatch_ingest_records_total NDJSON records accepted.\n"
            "# TYPE spillwatch_ingest_records_total counter\nspillwatch_ingest_records_total %llu\n",
            U(sw_metrics.records));
    fprintf(
        f,
        "# HELP spillwatch_ingest_late_batches_total Batches refused with 409 (data for a closed spill).\n"
        "# TYPE spillwatch_ingest_late_batches_total counter\nspillwatch_ingest_late_batches_total %llu\n",
        U(sw_metrics.late_records));
    fprintf(f,
            "# HELP spillwatch_ingest_late_events_total Events refused because their spill was closed.\n"
            "# TYPE spillwatch_ingest_late_events_total counter\nspillwatch_ingest_late_events_total %llu\n",
            U(sw_metrics.late_events));
    fprintf(f, "# HELP spillwatch_spills_closed_total Spills closed, by automatic flag.\n"
               "# TYPE spillwatch_spills_closed_total counter\n");
    for (int s = 0; s < SW_STATE_N; s++)
        fprintf(f, "spillwatch_spills_closed_total{flag=\"%s\"} %llu\n", sw_state_name((enum sw_state)s),
                U(sw_metrics.spills_closed[s]));
    fprintf(f,
            "# HELP spillwatch_spills_timed_out_total Spills closed as incomplete by the spill timeout.\n"
            "# TYPE spillwatch_spills_timed_out_total counter\nspillwatch_spills_timed_out_total %llu\n",
            U(sw_metrics.spills_timed_out));
    fprintf(f,
            "# HELP spillwatch_open_spills Spills receiving data now.\n# TYPE spillwatch_open_spills gauge\n"
            "spillwatch_open_spills %d\n",
            atomic_load(&sw_metrics.open_spills));
    fprintf(f,
            "# HELP spillwatch_store_commits_total Spill commits to SQLite.\n"
            "# TYPE spillwatch_store_commits_total counter\nspillwatch_store_commits_total %llu\n",
            (unsigned long long)sw_store_commits(store));
    fprintf(f,
            "# HELP spillwatch_store_commit_failures_total Spill commits that failed.\n"
            "# TYPE spillwatch_store_commit_failures_total counter\nspillwatch_store_commit_failures_total "
            "%llu\n",
            (unsigned long long)sw_store_commit_failures(store));
    fprintf(
        f,
        "# HELP spillwatch_store_commit_seconds_total Time spent in spill commits.\n"
        "# TYPE spillwatch_store_commit_seconds_total counter\nspillwatch_store_commit_seconds_total %.6f\n",
        sw_store_commit_seconds(store));
    fprintf(f,
            "# HELP spillwatch_http_requests_total HTTP requests answered.\n"
            "# TYPE spillwatch_http_requests_total counter\nspillwatch_http_requests_total %llu\n",
            U(sw_metrics.http_requests));
    fprintf(f,
            "# HELP spillwatch_http_errors_total HTTP requests answered with a 4xx or 5xx status.\n"
            "# TYPE spillwatch_http_errors_total counter\nspillwatch_http_errors_total %llu\n",
            U(sw_metrics.http_errors));
    (void)engine;
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
