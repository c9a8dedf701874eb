/* Unit tests of the ingest state machine (server/engine.c and its parts, docs/design.md §6) against a
 * real store on a temporary SQLite file: admission (duplicate, gap, closed spill, ended run and
 * resume, a source held by another collector instance, the open-spill limits), the spill lifecycle
 * (open, fill, close on spill_end, the commit visible to readers), and the timeouts driven by the
 * clock's test skew (clock.h): a spill without data for spill_timeout, a late timer that shifts the
 * open spills and gives a grace, and a store refusing ingest during which the timeouts stand still. */
#include <jansson.h>
#include <math.h>
#include "sql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "config.h"
#include "engine.h"
#include "err.h"
#include "log.h"
#include "spills.h" /* the pair sets (engine-private) */
#include "store.h"
#include "wire.h"

static const char *profile_json =
    "{\"name\":\"t\",\"version\":\"v1\",\"fields\":{\"x\":1},"
    "\"histograms\":[{\"name\":\"x\",\"x\":{\"source\":\"x\",\"bins\":10,\"min\":0,\"max\":1}}],"
    "\"checks\":[]}";

static struct sw_config cfg;
static struct sw_profile *prof;
static struct sw_store *store;
static struct sw_engine *eng;

/* Parses body (NDJSON) and ingests it as sw_engine_ingest + _finish do for an HTTP request. */
static int last_rc; /* of the last ingest: the status a client gets is sw_err_http_status of it */

static int ingest(const char *source, const char *instance, int64_t seq, const char *body,
                  struct sw_ingest_result *res)
{
    struct sw_batch b = {0};
    struct sw_wire_limits lim = {.line_max = 1 << 20, .fields_max = 64, .events_max = 100000};
    struct sw_wire_error werr;
    if (sw_wire_parse(&b, body, strlen(body), &prof->fields, &lim, &werr) != 0) {
        fprintf(stderr, "test body does not parse: %s\n", werr.msg);
        sw_batch_release(&b);
        return -1000;
    }
    struct sw_store_wait w;
    sw_store_wait_init(&w);
    int rc = sw_engine_ingest(eng, source, instance, seq, &b, &prof->fields, NULL, res, &w);
    rc = last_rc = sw_engine_ingest_finish(eng, source, seq, rc, res, &w);
    sw_store_wait_release(&w);
    sw_batch_release(&b);
    return rc;
}

/* The open spill of run, or -1 when it has none. */
static long long open_spill(int64_t run)
{
    json_t *j = sw_engine_run_live(eng, run);
    long long s = j ? (long long)json_integer_value(json_object_get(j, "spill")) : -1;
    json_decref(j);
    return s;
}

/* The integer of a one-row query with one integer parameter (after every queued write is done); -1
 * when there is no row, -2 on a database error. */
static long long query_int(const char *sql, int64_t a, int64_t b)
{
    sw_store_sync(store);
    sw_stmt *st;
    long long v = -1;
    if (sw_sql_prepare(sw_store_reader(store), sql, -1, &st, NULL) != SW_SQL_OK)
        return -2;
    sw_sql_bind_int64(st, 1, a);
    sw_sql_bind_int64(st, 2, b);
    if (sw_sql_step(st) == SW_SQL_ROW)
        v = sw_sql_column_int64(st, 0);
    sw_sql_finalize(st);
    return v;
}

/* A column of the committed spill, or -1 when it is not committed. */
static long long spill_int(int64_t run, int64_t spill, const char *col)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s FROM spills WHERE run = ?1 AND spill = ?2", col);
    return query_int(sql, run, spill);
}

static int64_t committed_seq(const char *source)
{
    struct sw_source_info *info;
    int n = sw_engine_sources(eng, &info);
    int64_t seq = -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(info[i].name, source))
            seq = info[i].committed_seq;
    free(info);
    return seq;
}

/* Time goes on by s seconds in steps of at most 1 s, the timer ticking after each (SW_TICK). */
static void run_for(double s)
{
    while (s > 1e-9) {
        double step = s < 1 ? s : 1;
        atomic_store(&sw_clock_offset, atomic_load(&sw_clock_offset) + step);
        sw_engine_tick(eng);
        s -= step;
    }
}

/* The process stood still for s seconds (SIGSTOP): one tick after it. */
static void pause_for(double s)
{
    atomic_store(&sw_clock_offset, atomic_load(&sw_clock_offset) + s);
    sw_engine_tick(eng);
}

static void test_lifecycle(void)
{
    struct sw_ingest_result res;
    CHECK_INT(ingest("a", NULL, 1, "{\"type\":\"run_start\",\"run\":1}\n", &res), SW_OK);
    CHECK_INT(
        ingest("a", NULL, 2,
               "{\"type\":\"spill_start\",\"run\":1,\"spill\":1}\n"
               "{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":1,\"trigger\":\"physics\",\"x\":0.1}\n"
               "{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":2,\"trigger\":\"physics\",\"x\":0.2}\n"
               "{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":3,\"trigger\":\"beam\",\"x\":0.3}\n",
               &res),
        SW_OK);
    CHECK_INT(sw_err_http_status(last_rc), 200);
    CHECK_INT(res.records, 4);
    CHECK_INT(res.events, 3);
    CHECK_INT(res.spills_closed, 0);
    /* open, filled, not committed */
    json_t *live = sw_engine_run_live(eng, 1);
    CHECK(live != NULL);
    CHECK_INT(json_integer_value(json_object_get(live, "spill")), 1);
    CHECK_INT(json_integer_value(json_object_get(live, "events")), 3);
    json_decref(live);
    json_t *h = sw_engine_live_hist(eng, "x");
    CHECK(h != NULL);
    CHECK(json_is_true(json_object_get(h, "open")));
    json_decref(h);
    CHECK_INT(spill_int(1, 1, "events"), -1);
    CHECK_INT(sw_engine_source_seq(eng, "a"), 2);
    CHECK_INT(committed_seq("a"), 0);
    /* the spill_end closes it: committed (and visible) once the request is answered */
    CHECK_INT(
        ingest("a", NULL, 3,
               "{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":4,\"trigger\":\"physics\",\"x\":0.4}\n"
               "{\"type\":\"spill_end\",\"run\":1,\"spill\":1,\"counters\":{\"mot\":5000}}\n",
               &res),
        SW_OK);
    CHECK_INT(sw_err_http_status(last_rc), 200);
    CHECK_INT(res.spills_closed, 1);
    CHECK_INT(open_spill(1), -1);
    CHECK_INT(spill_int(1, 1, "events"), 4);
    CHECK_INT(spill_int(1, 1, "complete"), 1);
    /* with the watermark of its source, in the same transaction */
    CHECK_INT(query_int("SELECT seq FROM sources WHERE source = 'a' AND run = ?1 AND spill = ?2", 1, 1), 3);
    CHECK_INT(committed_seq("a"), 3);
}

static void test_admission(void)
{
    struct sw_ingest_result res;
    const char *ev2 =
        "{\"type\":\"event\",\"run\":1,\"spill\":2,\"event\":1,\"trigger\":\"physics\",\"x\":0.5}\n";
    /* a duplicate changes nothing */
    CHECK_INT(ingest("a", NULL, 3, ev2, &res), SW_OK);
    CHECK_INT(res.duplicate, 1);
    CHECK_INT(res.records, 0);
    CHECK_INT(open_spill(1), -1);
    /* a gap: 503 with the first seq the server lacks, nothing applied, seq not advanced */
    CHECK_INT(ingest("a", NULL, 6, ev2, &res), SW_EGAP);
    CHECK_INT(sw_err_http_status(last_rc), 503);
    CHECK_INT(res.resend_from, 4);
    CHECK_INT(open_spill(1), -1);
    CHECK_INT(sw_engine_source_seq(eng, "a"), 3);
    /* data for a closed spill: 409 at its line, nothing applied, the seq consumed */
    CHECK_INT(
        ingest("a", NULL, 4,
               "{\"type\":\"spill_start\",\"run\":1,\"spill\":2}\n"
               "{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":9,\"trigger\":\"physics\",\"x\":0.5}\n",
               &res),
        SW_ECLOSED);
    CHECK_INT(sw_err_http_status(last_rc), 409);
    CHECK_INT(res.line, 2);
    CHECK_INT(open_spill(1), -1);
    CHECK_INT(sw_engine_source_seq(eng, "a"), 4);
    CHECK_INT(spill_int(1, 1, "events"), 4);

    /* collector instances: "i1" takes the source; "i2" is refused while i1 holds it, seq kept */
    CHECK_INT(ingest("a", "i1", 5, ev2, &res), SW_OK);
    CHECK_INT(open_spill(1), 2);
    CHECK_INT(ingest("a", "i2", 6, ev2, &res), SW_EHELD);
    CHECK_INT(sw_err_http_status(last_rc), 409);
    CHECK_INT(res.held, 1);
    CHECK_STR(res.held_by, "i1");
    CHECK_INT(sw_engine_source_seq(eng, "a"), 5);
    char holder[SW_INSTANCE_MAX + 1];
    CHECK(!isnan(sw_engine_source_holder(eng, "a", holder)));
    CHECK_STR(holder, "i1");
    CHECK_INT(sw_engine_source_release(eng, "a", "i2"), SW_EHELD);
    /* released by i1: i2 takes it over at once */
    CHECK_INT(sw_engine_source_release(eng, "a", "i1"), SW_OK);
    CHECK_INT(ingest("a", "i2", 6, ev2, &res), SW_OK);
    CHECK_INT(res.events, 1);
    CHECK(!isnan(sw_engine_source_holder(eng, "a", holder)));
    CHECK_STR(holder, "i2");

    /* an ended run: a run_start without resume is refused for good (seq consumed), with resume it
     * goes on */
    CHECK_INT(ingest("a", "i2", 7,
                     "{\"type\":\"spill_end\",\"run\":1,\"spill\":2}\n{\"type\":\"run_end\",\"run\":1}\n",
                     &res),
              SW_OK);
    CHECK_INT(res.spills_closed, 1);
    CHECK_INT(ingest("a", "i2", 8, "{\"type\":\"run_start\",\"run\":1}\n", &res), SW_ECONFLICT);
    CHECK_INT(sw_err_http_status(last_rc), 409);
    CHECK_INT(res.line, 1);
    CHECK_INT(sw_engine_source_seq(eng, "a"), 8);
    CHECK_INT(
        ingest("a", "i2", 9,
               "{\"type\":\"run_start\",\"run\":1,\"resume\":true}\n"
               "{\"type\":\"event\",\"run\":1,\"spill\":3,\"event\":1,\"trigger\":\"physics\",\"x\":0.5}\n",
               &res),
        SW_OK);
    CHECK_INT(sw_err_http_status(last_rc), 200);
    CHECK_INT(open_spill(1), 3);
    CHECK_INT(ingest("a", "i2", 10, "{\"type\":\"spill_end\",\"run\":1,\"spill\":3}\n", &res), SW_OK);
    /* resumed, the run has not ended any more: a run_start needs no resume now */
    CHECK_INT(ingest("a", "i2", 11, "{\"type\":\"run_start\",\"run\":1}\n", &res), SW_OK);
    CHECK_INT(spill_int(1, 3, "events"), 1);

    /* a signed-off run opens no new spill */
    CHECK_INT(sw_engine_set_signed(eng, 1, 1), SW_OK);
    CHECK_INT(ingest("a", "i2", 12, "{\"type\":\"spill_start\",\"run\":1,\"spill\":4}\n", &res), SW_ECLOSED);
    CHECK_INT(sw_err_http_status(last_rc), 409);
    CHECK_INT(sw_engine_set_signed(eng, 1, 0), SW_OK);
    CHECK_INT(ingest("a", "i2", 13, "{\"type\":\"spill_end\",\"run\":1,\"spill\":4}\n", &res), SW_OK);
}

static void test_limits(void)
{
    struct sw_ingest_result res;
    int per_source = cfg.open_spills_per_source;
    cfg.open_spills_per_source = 2;
    /* a batch that alone opens more spills than a source may keep open: 413, nothing applied */
    CHECK_INT(ingest("b", NULL, 1,
                     "{\"type\":\"spill_start\",\"run\":2,\"spill\":1}\n"
                     "{\"type\":\"spill_start\",\"run\":2,\"spill\":2}\n"
                     "{\"type\":\"spill_start\",\"run\":2,\"spill\":3}\n",
                     &res),
              SW_ETOOBIG);
    CHECK_INT(sw_err_http_status(last_rc), 413);
    CHECK_INT(res.line, 3);
    CHECK_INT(open_spill(2), -1);
    CHECK_INT(sw_engine_source_seq(eng, "b"), -1);
    /* ... but one that closes what it opens is fine */
    CHECK_INT(ingest("b", NULL, 1,
                     "{\"type\":\"spill_start\",\"run\":2,\"spill\":1}\n{\"type\":\"spill_end\",\"run\":2,"
                     "\"spill\":1}\n"
                     "{\"type\":\"spill_start\",\"run\":2,\"spill\":2}\n{\"type\":\"spill_end\",\"run\":2,"
                     "\"spill\":2}\n"
                     "{\"type\":\"spill_start\",\"run\":2,\"spill\":3}\n{\"type\":\"spill_end\",\"run\":2,"
                     "\"spill\":3}\n",
                     &res),
              SW_OK);
    CHECK_INT(res.spills_closed, 3);
    /* two open, a third together with them: 429 with Retry-After, nothing applied */
    CHECK_INT(ingest("b", NULL, 2, "{\"type\":\"spill_start\",\"run\":2,\"spill\":4}\n", &res), SW_OK);
    CHECK_INT(ingest("b", NULL, 3, "{\"type\":\"spill_start\",\"run\":2,\"spill\":5}\n", &res), SW_OK);
    CHECK_INT(ingest("b", NULL, 4, "{\"type\":\"spill_start\",\"run\":2,\"spill\":6}\n", &res), SW_ELIMIT);
    CHECK_INT(sw_err_http_status(last_rc), 429);
    CHECK(res.retry_after >= 1 && res.retry_after <= (unsigned)ceil(cfg.spill_timeout));
    CHECK_INT(sw_engine_source_seq(eng, "b"), 3);
    /* another source is not limited by b's spills */
    CHECK_INT(ingest("c", NULL, 1, "{\"type\":\"spill_start\",\"run\":2,\"spill\":7}\n", &res), SW_OK);
    /* the limit in all: four open, a fifth from a new source is refused with open_spills_max */
    int max = cfg.open_spills_max;
    cfg.open_spills_max = 3;
    CHECK_INT(ingest("d", NULL, 1, "{\"type\":\"spill_start\",\"run\":2,\"spill\":8}\n", &res), SW_ELIMIT);
    CHECK(strstr(res.error, "open_spills_max") != NULL);
    cfg.open_spills_max = max;
    /* once one of b's spills has ended, the third one opens */
    CHECK_INT(ingest("b", NULL, 4,
                     "{\"type\":\"spill_end\",\"run\":2,\"spill\":4}\n{\"type\":\"spill_start\",\"run\":2,"
                     "\"spill\":6}\n",
                     &res),
              SW_OK);
    CHECK_INT(ingest("b", NULL, 5,
                     "{\"type\":\"spill_end\",\"run\":2,\"spill\":5}\n{\"type\":\"spill_end\",\"run\":2,"
                     "\"spill\":6}\n",
                     &res),
              SW_OK);
    CHECK_INT(ingest("c", NULL, 2, "{\"type\":\"spill_end\",\"run\":2,\"spill\":7}\n", &res), SW_OK);
    CHECK_INT(open_spill(2), -1);
    cfg.open_spills_per_source = per_source;
}

/* Opens spill (run, spill) with one event, no source. */
static void open_one(int64_t run, int64_t spill)
{
    char body[200];
    snprintf(
        body, sizeof body,
        "{\"type\":\"event\",\"run\":%lld,\"spill\":%lld,\"event\":1,\"trigger\":\"physics\",\"x\":0.5}\n",
        (long long)run, (long long)spill);
    struct sw_ingest_result res;
    CHECK_INT(ingest(NULL, NULL, 0, body, &res), SW_OK);
}

static void test_timeout(void)
{
    cfg.spill_timeout = 10;
    sw_engine_tick(eng); /* the timer is in step */
    open_one(3, 1);
    run_for(9.5);
    CHECK_INT(open_spill(3), 1);
    run_for(1);
    CHECK_INT(open_spill(3), -1);
    CHECK_INT(spill_int(3, 1, "complete"), 0);
    CHECK_INT(spill_int(3, 1, "events"), 1);
}

static void test_late_tick(void)
{
    cfg.spill_timeout = 10;
    sw_engine_tick(eng);
    /* a pause of 30 s after 1 s without data: only the time the server ran counts */
    open_one(4, 1);
    run_for(1);
    pause_for(30); /* counts as one tick: 2 s without data */
    CHECK_INT(open_spill(4), 1);
    run_for(7); /* 9 s */
    CHECK_INT(open_spill(4), 1);
    run_for(1.5);
    CHECK_INT(open_spill(4), -1);
    CHECK_INT(spill_int(4, 1, "complete"), 0);

    /* due right after a pause: the grace of SW_TICK_GRACE s lets the queued batches in first */
    open_one(4, 2);
    run_for(9.5);
    pause_for(5); /* 10.5 s of running time without data */
    CHECK_INT(open_spill(4), 2);
    run_for(1);
    CHECK_INT(open_spill(4), 2);
    run_for(1.5); /* past the grace */
    CHECK_INT(open_spill(4), -1);
}

static void test_store_hold(void)
{
    cfg.spill_timeout = 20;
    sw_engine_tick(eng);
    /* 2 s of data-less time, then 30 s of a store refusing ingest (free space below the reserve) */
    open_one(5, 1);
    run_for(2);
    sw_store_set_min_free(store, 1ull << 62);
    CHECK(sw_store_state(store, NULL, 0, NULL) != SW_STORE_OK);
    run_for(30);
    CHECK_INT(open_spill(5), 1);
    sw_store_set_min_free(store, 0);
    CHECK(sw_store_state(store, NULL, 0, NULL) == SW_STORE_OK);
    run_for(12); /* 14 s counted */
    CHECK_INT(open_spill(5), 1);
    run_for(7); /* 21 s */
    CHECK_INT(open_spill(5), -1);

    /* due during the hold: SW_HOLD_GRACE s after it for the refused batches to come back */
    open_one(5, 2);
    run_for(15);
    sw_store_set_min_free(store, 1ull << 62);
    run_for(3);
    sw_store_set_min_free(store, 0);
    run_for(6); /* 21 s counted, within the grace */
    CHECK_INT(open_spill(5), 2);
    run_for(5); /* past it */
    CHECK_INT(open_spill(5), -1);
}

/* The closed set holds a spill only until its commit is confirmed: its pairs come and go, and it
 * must stay as small as what it holds at once (its tombstones dropped when it is rebuilt), however
 * many spills pass through it. */
static void test_pairset_churn(void)
{
    struct pairset s = {0};
    for (int64_t i = 0; i < 200000; i++) {
        CHECK_INT(eng_pairset_add(&s, 7, i), 0);
        if (i >= 10)
            eng_pairset_del(&s, 7, i - 10); /* ten in flight at any time */
    }
    CHECK(s.cap <= 1024);
    for (int64_t i = 200000 - 10; i < 200000; i++)
        CHECK(eng_pairset_has(&s, 7, i));
    CHECK(!eng_pairset_has(&s, 7, 200000 - 11));
    CHECK(!eng_pairset_has(&s, 7, 0));
    free(s.keys);
}

int main(void)
{
    /* A broken engine can leave a commit that the writer retries for ever (a spill committed twice):
     * fail instead of hanging. */
    alarm(120);
    char dir[] = "/tmp/swengine-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    sw_log_set_level(SW_LOG_WARN);
    char path[300], err[200];
    snprintf(path, sizeof path, "%s/p.json", dir);
    FILE *f = fopen(path, "w");
    fputs(profile_json, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/c.json", dir);
    f = fopen(path, "w");
    fputs("{\"profile\":\"p.json\"}", f);
    fclose(f);
    struct sw_diag d = {0};
    int rc = sw_config_load(&cfg, path, &d);
    for (int i = 0; i < d.n; i++)
        fprintf(stderr, "config: %s\n", d.msg[i]);
    sw_diag_release(&d);
    CHECK_INT(rc, 0);
    if (rc)
        return CHECK_DONE();
    prof = sw_profile_adopt(&cfg.profile);
    snprintf(path, sizeof path, "%s/sw.db", dir);
    store = sw_store_open(path, 100, err, sizeof err);
    CHECK(store != NULL);
    eng = store ? sw_engine_new(&cfg, prof, store, NULL, 0) : NULL;
    CHECK(eng != NULL);
    test_pairset_churn();
    if (eng) {
        test_lifecycle();
        test_admission();
        test_limits();
        test_timeout();
        test_late_tick();
        test_store_hold();
    }
    sw_engine_free(eng);
    sw_store_close(store);
    sw_profile_unref(prof);
    sw_config_release(&cfg);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
