/* Unit tests of server/metrics.c and of its text in server/exposition.c: the histogram type (bucket
 * edges, cumulative rendering, sum), the ingest reason mapping, and the last-spill gauges (escaping,
 * cap, non-finite values left out). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "exposition.h"
#include "metrics.h"

static char *render_hist(const struct sw_histogram *h)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sw_exposition_histogram(f, "t_seconds", "Test.", h);
    fclose(f);
    return buf;
}

static char *render_all(void)
{
    return sw_exposition_render(NULL, NULL, NULL);
}

int main(void)
{
    static const double bounds[] = {0.001, 0.01, 0.1};
    struct sw_histogram h = {.bounds = bounds, .nbounds = 3};
    sw_histogram_observe(&h, 0.001); /* on an edge: le is inclusive */
    sw_histogram_observe(&h, 0.0005);
    sw_histogram_observe(&h, 0.05);
    sw_histogram_observe(&h, 7);   /* +Inf only */
    sw_histogram_observe(&h, -1);  /* clamped to 0 */
    sw_histogram_observe(&h, NAN); /* clamped to 0 */
    char *text = render_hist(&h);
    CHECK_STR(text, "# HELP t_seconds Test.\n# TYPE t_seconds histogram\n"
                    "t_seconds_bucket{le=\"0.001\"} 4\n"
                    "t_seconds_bucket{le=\"0.01\"} 4\n"
                    "t_seconds_bucket{le=\"0.1\"} 5\n"
                    "t_seconds_bucket{le=\"+Inf\"} 6\n"
                    "t_seconds_sum 7.0515\n"
                    "t_seconds_count 6\n");
    free(text);

    /* Reasons: each status to its label; the total is the sum. */
    unsigned statuses[] = {400, 400, 401, 403, 405, 409, 413, 503, 500};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        sw_metrics_ingest_rejected(statuses[i]);
    sw_metrics_ingest_refused(SW_INGEST_QUEUE_FULL); /* a 503 the status alone does not tell */
    CHECK_INT(atomic_load(&sw_metrics.ingest_rejected), 10);
    CHECK_INT(atomic_load(&sw_metrics.ingest_errors[SW_INGEST_UNAVAILABLE]), 1);
    CHECK_INT(atomic_load(&sw_metrics.ingest_errors[SW_INGEST_MALFORMED]), 2);
    CHECK_INT(atomic_load(&sw_metrics.ingest_errors[SW_INGEST_OTHER]), 1);
    text = render_all();
    CHECK(text && strstr(text, "spillwatch_ingest_errors_total{reason=\"too_large\"} 1\n"));
    CHECK(text && strstr(text, "spillwatch_ingest_errors_total{reason=\"unavailable\"} 1\n"));
    CHECK(text && strstr(text, "spillwatch_ingest_errors_total{reason=\"queue_full\"} 1\n"));
    CHECK(text && strstr(text, "spillwatch_store_queue_jobs 0\n")); /* no store */
    CHECK(text && !strstr(text, "spillwatch_last_spill_"));         /* nothing closed yet */
    CHECK(text && !strstr(text, "spillwatch_current_run"));         /* no engine */
    CHECK(text && strstr(text, "spillwatch_http_request_duration_seconds_bucket{le=\"0.0005\"} 0\n"));
    CHECK(text && strstr(text, "spillwatch_store_commit_duration_seconds_bucket{le=\"1\"} 0\n"));
    free(text);

    /* Last spill: 70 counters -> 64 rates; escaped names; NaN gauges left out. */
    json_t *counters = json_object();
    json_object_set_new(counters, "a\"b\\c\nd", json_integer(10));
    for (int i = 0; i < 69; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%02d", i);
        json_object_set_new(counters, name, json_real(i));
    }
    struct sw_metrics_spill s = {7, 3, NAN, NAN, 2.0, 42, SW_WARN, counters};
    sw_metrics_spill_closed(&s);
    json_decref(counters); /* copied: nothing borrowed afterwards */
    text = render_all();
    CHECK(text && strstr(text, "spillwatch_last_spill_rate_hz{counter=\"a\\\"b\\\\c\\nd\"} 5\n"));
    CHECK(text && strstr(text, "spillwatch_last_spill_rate_hz{counter=\"c62\"} 31\n"));
    CHECK(text && !strstr(text, "counter=\"c63\"")); /* the 65th */
    CHECK(text && strstr(text, "spillwatch_last_spill_flag{flag=\"WARN\"} 1\n"));
    CHECK(text && strstr(text, "spillwatch_last_spill_flag{flag=\"GOOD\"} 0\n"));
    CHECK(text && strstr(text, "spillwatch_last_spill_run 7\n"));
    CHECK(text && strstr(text, "spillwatch_last_spill_number 3\n"));
    CHECK(text && strstr(text, "spillwatch_last_spill_events 42\n"));
    CHECK(text && !strstr(text, "spillwatch_last_spill_mot"));
    CHECK(text && !strstr(text, "spillwatch_last_spill_dead_time_ratio"));
    CHECK(text && !strstr(text, "NaN") && !strstr(text, "nan"));
    free(text);

    /* The next spill replaces the rates; no duration means no rates at all. */
    struct sw_metrics_spill t = {7, 4, 1e6, 0.05, NAN, 1, SW_GOOD, NULL};
    sw_metrics_spill_closed(&t);
    text = render_all();
    CHECK(text && !strstr(text, "spillwatch_last_spill_rate_hz"));
    CHECK(text && !strstr(text, "spillwatch_last_spill_duration_seconds"));
    CHECK(text && strstr(text, "spillwatch_last_spill_mot 1000000\n"));
    CHECK(text && strstr(text, "spillwatch_last_spill_dead_time_ratio 0.050000000000000003\n"));
    free(text);
    return CHECK_DONE();
}
