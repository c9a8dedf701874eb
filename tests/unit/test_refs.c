/* Unit tests of the two layers of a check (server/quality.c) and of its baselines (server/refs.c):
 * the physical window, the learning phase, the stability window against the run's baseline,
 * significance gating, peer comparisons, provenance, and the carry-over from a previous run of
 * matching conditions read from a real SQLite database (schema by the store's migrations). */
#include <jansson.h>
#include <math.h>
#include "sql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "quality.h"
#include "refs.h"
#include "store.h"

static const char *profile_json =
    "{\"name\":\"t\",\"version\":\"v1\",\"beam_min_mot\":1000,\"conditions\":[\"beam\",\"momentum\"],"
    "\"fields\":{\"p_in\":1,\"h\":3},"
    "\"histograms\":["
    "{\"name\":\"p_in\",\"x\":{\"source\":\"p_in\",\"bins\":200,\"min\":100,\"max\":200}},"
    "{\"name\":\"h0\",\"x\":{\"source\":\"h[0]\",\"bins\":100,\"min\":0,\"max\":10}},"
    "{\"name\":\"h1\",\"x\":{\"source\":\"h[1]\",\"bins\":100,\"min\":0,\"max\":10}},"
    "{\"name\":\"h2\",\"x\":{\"source\":\"h[2]\",\"bins\":100,\"min\":0,\"max\":10}}],"
    "\"checks\":["
    /* 0: physical window around the run's momentum setting, stability against the baseline */
    "{\"name\":\"p_mean\",\"category\":\"beam\",\"unit\":\"GeV/c\",\"quantity\":{\"hist\":\"p_in\",\"stat\":"
    "\"mean\"},\"physical\":{\"compare\":\"delta\",\"nominal\":{\"meta\":\"momentum\",\"default\":160},"
    "\"good\":[-4,4],\"warn\":[-6,6]},\"reference\":{\"baseline\":5,\"learn\":3},\"compare\":\"delta\","
    "\"good\":[-1,1],\"warn\":[-3,3],\"min_entries\":10},"
    /* 1: a rate per MOT against the baseline with significance gating, carried over on beam only */
    "{\"name\":\"v_per_mot\",\"category\":\"beam\",\"quantity\":{\"counter\":\"v\",\"per\":\"mot\"},"
    "\"physical\":{\"good\":[0.001,1]},\"reference\":{\"baseline\":5,\"learn\":3,\"match\":[\"beam\"]},"
    "\"compare\":\"ratio\",\"good\":[0.7,1.43],\"warn\":[0.5,2],\"significance\":[3,5]},"
    /* 2: a module against the median of its peers */
    "{\"name\":\"h1_peer\",\"category\":\"detector\",\"quantity\":{\"hist\":\"h1\",\"stat\":\"mean\","
    "\"peers\":[\"h0\",\"h1\",\"h2\"]},\"good\":[0.8,1.25],\"warn\":[0.6,1.6],\"min_entries\":10}"
    "]}";

static struct sw_config cfg;
static struct sw_hist hists[4];

static void fill(int h, int n, double v)
{
    double row[5] = {0};
    for (int i = 0; i < n; i++) {
        row[1] = v;
        row[2 + (h > 0 ? h - 1 : 0)] = v;
        if (h == 0)
            sw_hist_fill(&hists[0], row, 0);
        else
            sw_hist_fill(&hists[h], row, 0);
    }
}

/* One spill: p_in around p (n entries spread +-0.5), modules at m0, m1, m2, v counts per mot. */
static void spill_hists(double p, double m0, double m1, double m2)
{
    for (int i = 0; i < 4; i++)
        sw_hist_clear(&hists[i]);
    for (int k = -5; k <= 5; k++)
        fill(0, 20, p + 0.1 * k);
    fill(1, 200, m0);
    fill(2, 200, m1);
    fill(3, 200, m2);
}

static enum sw_state judge(struct sw_refs *refs, sw_sql *db, int64_t run, int64_t spill, json_t *meta,
                           double v, double mot, struct sw_check_result *res, json_t *reasons)
{
    json_t *counters = json_pack("{s:f, s:f}", "v", v, "mot", mot);
    struct sw_quality_input in = {.hists = hists,
                                  .counters = counters,
                                  .duration = 4.8,
                                  .dead_time = 0.1,
                                  .decode_errors = 0,
                                  .events = 1000,
                                  .complete = 1,
                                  .run = run,
                                  .spill = spill,
                                  .started = 1000.0 * (double)run + (double)spill,
                                  .run_meta = meta};
    sw_refs_apply(refs, &in, db);
    enum sw_state flag = sw_quality_eval(&cfg.profile, &in, res, reasons);
    sw_refs_push(refs, res, flag, &in);
    json_decref(counters);
    return flag;
}

static const char *reason_of(json_t *reasons, const char *check)
{
    size_t i;
    json_t *r;
    json_array_foreach(reasons, i, r) if (strncmp(json_string_value(r), check, strlen(check)) ==
                                          0) return json_string_value(r);
    return "";
}

static void test_layers(void)
{
    struct sw_refs *refs = sw_refs_new(&cfg.profile, NULL, INFINITY);
    CHECK(refs != NULL);
    struct sw_check_result res[3];
    json_t *meta = json_pack("{s:s, s:i}", "beam", "tune A", "momentum", 150);
    json_t *reasons = json_array();
    /* learning: the first three spills are judged by the physical window only; the run's meta says
     * the setting is 150, so a mean of 150.5 is within it */
    for (int s = 1; s <= 3; s++) {
        spill_hists(150.5, 2.4, 2.4, 2.5);
        json_array_clear(reasons);
        CHECK_INT(judge(refs, NULL, 7, s, meta, 5000, 100000, res, reasons), SW_GOOD);
        CHECK(res[0].learning);
        CHECK_INT(res[0].stab_state, SW_EXCLUDED);
        CHECK_INT(res[0].phys_state, SW_GOOD);
        CHECK(res[0].nominal_from_meta);
        CHECK_NEAR(res[0].nominal, 150, 1e-9);
        CHECK_INT(res[0].base.n, s - 1);
    }
    json_t *pj = sw_quality_provenance_json(&res[0]);
    json_t *px = sw_quality_provenance_expand(pj);
    CHECK_INT(strcmp(json_string_value(json_object_get(
                         json_object_get(json_object_get(px, "stability"), "source"), "kind")),
                     "learning"),
              0);
    CHECK_NEAR(json_number_value(json_array_get(json_object_get(json_object_get(px, "physical"), "good"), 0)),
               146, 1e-9);
    json_decref(pj);
    json_decref(px);
    /* a fourth spill 2 GeV/c higher: within the physical window, outside the stability window */
    spill_hists(152.5, 2.4, 2.4, 2.5);
    json_array_clear(reasons);
    CHECK_INT(judge(refs, NULL, 7, 4, meta, 5000, 100000, res, reasons), SW_WARN);
    CHECK(!res[0].learning);
    CHECK_INT(res[0].layer, SW_LAYER_STABILITY);
    CHECK_NEAR(res[0].expected, 150.5, 1e-6);
    CHECK_STR(reason_of(reasons, "p_mean"), "p_mean: 152.5 GeV/c, +2 GeV/c from the baseline 150.5 GeV/c of "
                                            "run 7 spills 1-3 (good within \xc2\xb1"
                                            "1 GeV/c)");
    /* 7 GeV/c off the setting: BAD by both layers, the reason names both */
    spill_hists(157.5, 2.4, 2.4, 2.5);
    json_array_clear(reasons);
    CHECK_INT(judge(refs, NULL, 7, 5, meta, 5000, 100000, res, reasons), SW_BAD);
    CHECK_INT(res[0].layer, SW_LAYER_PHYSICAL);
    CHECK_STR(reason_of(reasons, "p_mean"),
              "p_mean: 157.5 GeV/c, +7.5 GeV/c from the run's momentum 150 GeV/c (physical window \xc2\xb1"
              "4 GeV/c); +7 GeV/c from the baseline 150.5 GeV/c of run 7 spills 1-3 (good within \xc2\xb1"
              "1 GeV/c)");
    /* neither faulty spill joined the baseline */
    CHECK_INT(res[0].base.n, 3);

    /* significance: the baseline is 0.05 per MOT; 30 counts at 1000 MOT are 0.6x (outside good) but
     * only 2.8 sigma from the 50 expected: a low-statistics spill is not flagged by noise */
    spill_hists(150.5, 2.4, 2.4, 2.5);
    json_array_clear(reasons);
    CHECK_INT(judge(refs, NULL, 7, 6, meta, 30, 1000, res, reasons), SW_GOOD);
    CHECK_NEAR(res[1].z, 20 / sqrt(50.0), 1e-6);
    CHECK_INT(res[1].stab_state, SW_GOOD);
    /* the same 0.6x at 1e5 MOT is 28 sigma: WARN */
    json_array_clear(reasons);
    CHECK_INT(judge(refs, NULL, 7, 6, meta, 3000, 100000, res, reasons), SW_WARN);
    CHECK_INT(res[1].stab_state, SW_WARN);
    /* x3 at full statistics: BAD with its significance in the reason */
    json_array_clear(reasons);
    CHECK_INT(judge(refs, NULL, 7, 7, meta, 15000, 100000, res, reasons), SW_BAD);
    CHECK_INT(res[1].stab_state, SW_BAD);
    CHECK(res[1].z > 50);
    CHECK_STR(reason_of(reasons, "v_per_mot"),
              "v_per_mot: 0.150, 3.00 \xc3\x97 the baseline 0.0500 of run 7 spills 2-6 (good 0.7\xe2\x80\x93"
              "1.43 \xc3\x97, 141 sigma)");

    /* peers: module 1 dead; the median of the three is 2.4 */
    spill_hists(150.5, 2.4, 0.05, 2.5);
    json_array_clear(reasons);
    CHECK_INT(judge(refs, NULL, 7, 8, meta, 5000, 100000, res, reasons), SW_BAD);
    CHECK_INT(res[2].state, SW_BAD);
    CHECK_STR(reason_of(reasons, "h1_peer"),
              "h1_peer: 0.0500, 0.021 \xc3\x97 the median of its peers 2.40 (good 0.8\xe2\x80\x93"
              "1.25 \xc3\x97)");
    CHECK_INT(res[2].peers_used, 3);
    /* module 0 dead instead: module 1 is fine against the median (2.4 of 0.05, 2.4, 2.5) */
    spill_hists(150.5, 0.05, 2.4, 2.5);
    json_array_clear(reasons);
    judge(refs, NULL, 7, 9, meta, 5000, 100000, res, reasons);
    CHECK_INT(res[2].state, SW_GOOD);
    json_decref(reasons);
    json_decref(meta);
    sw_refs_free(refs);
}

/* Stores a spill of `run` with the check results of res (as the store does) through the store. */
static void store_spill(struct sw_store *st, int64_t run, int64_t spill, const struct sw_check_result *res,
                        enum sw_state flag, int n)
{
    struct sw_spill_rec *rec = calloc(1, sizeof *rec);
    rec->run = run;
    rec->spill = spill;
    rec->started = rec->ended = 1000.0 * (double)run + (double)spill;
    rec->duration = rec->mot = rec->dead_time = rec->decode_errors = NAN;
    rec->complete = 1;
    snprintf(rec->flag, sizeof rec->flag, "%s", sw_state_name(flag));
    json_t *checks = sw_quality_results_json(res, n);
    rec->checks_json = json_dumps(checks, JSON_COMPACT);
    json_decref(checks);
    rec->reasons_json = strdup("[]");
    rec->counters_json = strdup("{}");
    rec->triggers_json = strdup("{}");
    snprintf(rec->profile_version, sizeof rec->profile_version, "v1");
    struct sw_store_wait w;
    sw_store_wait_init(&w);
    CHECK_INT(sw_store_commit_spill(st, rec, &w), 0);
    CHECK_INT(sw_store_wait_all(&w), 0);
    sw_store_wait_release(&w);
}

static void store_run(struct sw_store *st, int64_t run, const char *meta)
{
    struct sw_store_wait w;
    sw_store_wait_init(&w);
    CHECK_INT(sw_store_run_start(st, run, 1000.0 * (double)run, strdup(meta), 0, &w), 0);
    CHECK_INT(sw_store_wait_all(&w), 0);
    sw_store_wait_release(&w);
}

static void test_carry_over(const char *dir)
{
    char path[400], err[200];
    snprintf(path, sizeof path, "%s/sw.db", dir);
    struct sw_store *st = sw_store_open(path, 100, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    sw_sql *db = sw_store_reader(st);
    struct sw_check_result res[3];
    json_t *reasons = json_array();
    /* run 10 (tune A, 150): five healthy spills at 150.5, v 0.05/MOT */
    store_run(st, 10, "{\"beam\":\"tune A\",\"momentum\":150}");
    struct sw_refs *refs = sw_refs_new(&cfg.profile, db, INFINITY);
    json_t *meta_a = json_pack("{s:s, s:i}", "beam", "tune A", "momentum", 150);
    for (int s = 1; s <= 5; s++) {
        spill_hists(150.5, 2.4, 2.4, 2.5);
        enum sw_state f = judge(refs, db, 10, s, meta_a, 5000, 100000, res, reasons);
        store_spill(st, 10, s, res, f, 3);
    }
    /* run 11 (another tune): nothing carries over, it learns */
    store_run(st, 11, "{\"beam\":\"tune B\",\"momentum\":150}");
    json_t *meta_b = json_pack("{s:s, s:i}", "beam", "tune B", "momentum", 150);
    spill_hists(150.5, 2.4, 2.4, 2.5);
    judge(refs, db, 11, 1, meta_b, 15000, 100000, res, reasons);
    CHECK(res[0].learning);
    CHECK_INT(res[1].base.n, 0);
    /* run 12 (tune A again, momentum 160): v carries over on beam alone, p_mean (beam + momentum)
     * does not; a halo x3 from the first spill of run 12 is BAD against run 10's level */
    store_run(st, 12, "{\"beam\":\"tune A\",\"momentum\":160}");
    json_t *meta_c = json_pack("{s:s, s:i}", "beam", "tune A", "momentum", 160);
    spill_hists(160.5, 2.4, 2.4, 2.5);
    json_array_clear(reasons);
    CHECK_INT(judge(refs, db, 12, 1, meta_c, 15000, 100000, res, reasons), SW_BAD);
    CHECK(res[0].learning);
    CHECK_INT(res[1].base.n, 5);
    CHECK(res[1].base.carried);
    CHECK_INT(res[1].base.seg[0].run, 10);
    CHECK_INT(res[1].base.seg[0].first, 1);
    CHECK_INT(res[1].base.seg[0].last, 5);
    CHECK_STR(reason_of(reasons, "v_per_mot"),
              "v_per_mot: 0.150, 3.00 \xc3\x97 the baseline 0.0500 of run 10 spills 1-5 (good 0.7\xe2\x80\x93"
              "1.43 \xc3\x97, 141 sigma)");
    /* the same spill judged by fresh references (a re-evaluation, or a restart) gives the same */
    struct sw_refs *again = sw_refs_new(&cfg.profile, db, INFINITY);
    struct sw_check_result res2[3];
    judge(again, db, 12, 1, meta_c, 15000, 100000, res2, NULL);
    CHECK_INT(res2[1].state, res[1].state);
    CHECK_NEAR(res2[1].expected, res[1].expected, 1e-12);
    /* without meta (a run_start without it): the run's meta is read from the database */
    struct sw_refs *nometa = sw_refs_new(&cfg.profile, db, INFINITY);
    judge(nometa, db, 12, 1, NULL, 15000, 100000, res2, NULL);
    CHECK(res2[1].base.carried);
    sw_refs_free(nometa);
    /* run 13 (tune C) learns a level during a fault no check sees from the first spill (v x3), then the
     * fault ends: its last five spills are off its baseline, so the baseline went stale */
    store_run(st, 13, "{\"beam\":\"tune C\",\"momentum\":150}");
    json_t *meta_d = json_pack("{s:s, s:i}", "beam", "tune C", "momentum", 150);
    for (int s = 1; s <= 8; s++) {
        spill_hists(150.5, 2.4, 2.4, 2.5);
        enum sw_state f = judge(again, db, 13, s, meta_d, s <= 3 ? 15000 : 5000, 100000, res2, NULL);
        CHECK_INT(res2[1].state, s <= 3 ? SW_GOOD : SW_BAD);
        store_spill(st, 13, s, res2, f, 3);
    }
    /* the next run of tune C does not carry that level over: it learns afresh, and is GOOD */
    store_run(st, 14, "{\"beam\":\"tune C\",\"momentum\":150}");
    spill_hists(150.5, 2.4, 2.4, 2.5);
    CHECK_INT(judge(again, db, 14, 1, meta_d, 5000, 100000, res2, NULL), SW_GOOD);
    CHECK_INT(res2[1].base.n, 0);
    CHECK(res2[1].learning);
    json_decref(meta_d);
    sw_refs_free(again);
    sw_refs_free(refs);
    json_decref(meta_a);
    json_decref(meta_b);
    json_decref(meta_c);
    json_decref(reasons);
    sw_store_close(st);
}

static void test_profile_errors(void)
{
    static const char *const bad[][2] = {
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"counter\":\"v\"},\"reference\":{\"baseline\":"
         "0},"
         "\"compare\":\"ratio\",\"good\":[0.5,2]}",
         "$.checks[0].reference.baseline: must be within [1, 1000], got 0"},
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"counter\":\"v\"},\"reference\":{\"baseline\":"
         "5,"
         "\"learn\":6},\"compare\":\"ratio\",\"good\":[0.5,2]}",
         "$.checks[0].reference.learn: 6 spills to learn from, but the baseline keeps only 5"},
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"counter\":\"v\"},\"reference\":{\"baseline\":"
         "5,"
         "\"match\":[\"beam\",\"magnet\"]},\"compare\":\"ratio\",\"good\":[0.5,2]}",
         "$.checks[0].reference.match[1]: unknown meta key magnet"},
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"hist\":\"h1\",\"stat\":\"mean\",\"peers\":["
         "\"h1\"]},"
         "\"good\":[0.5,2]}",
         "$.checks[0].quantity.peers: must be an array of 3 to 16 histogram names"},
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"hist\":\"h1\",\"stat\":\"mean\"},"
         "\"physical\":{"
         "\"compare\":\"delta\",\"nominal\":{\"meta\":\"energy\",\"default\":1},\"good\":[-1,1]}}",
         "$.checks[0].physical.nominal.meta: unknown meta key \"energy\""},
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"counter\":\"v\"},\"physical\":{\"good\":[0,1]"
         ","
         "\"warn\":[0.5,0.7]}}",
         "$.checks[0].physical.warn: the warn range must contain the good range"},
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"hist\":\"h1\",\"stat\":"
         "\"peer_dead_channels\",\"group\":4},\"physical\":{\"good\":[0,0]}}",
         "$.checks[0].quantity.group: 4 channels per group does not divide the 10 bins into at least 3 "
         "groups"},
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"counter\":\"v\"}}",
         "$.checks[0].good: missing (a check needs good, or a physical window)"},
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"counter\":\"v\"},\"physical\":{\"good\":[0,1]"
         "},"
         "\"significance\":[3,5]}",
         "$.checks[0].significance: applies to the stability window (good), which this check has not"},
        {"{\"name\":\"b\",\"category\":\"beam\",\"quantity\":{\"counter\":\"v\"},\"good\":[0,1],"
         "\"significance\":[3,5]}",
         "$.checks[0].significance: a deviation needs an expectation"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[2000];
        snprintf(
            text, sizeof text,
            "{\"name\":\"t\",\"version\":\"v\",\"conditions\":[\"beam\"],\"fields\":{\"x\":1},"
            "\"histograms\":[{\"name\":\"h1\",\"x\":{\"source\":\"x\",\"bins\":10,\"min\":0,\"max\":1}}],"
            "\"checks\":[%s]}",
            bad[i][0]);
        json_t *root = json_loads(text, 0, NULL);
        CHECK(root != NULL);
        struct sw_profile p;
        struct sw_diag d = {0};
        CHECK_INT(sw_profile_parse(&p, root, "t.json", &d), -1);
        int found = 0;
        for (int k = 0; k < d.n; k++)
            found |= strstr(d.msg[k], bad[i][1]) != NULL;
        if (!found)
            for (int k = 0; k < d.n; k++)
                fprintf(stderr, "case %zu: %s\n", i, d.msg[k]);
        CHECK(found);
        sw_diag_release(&d);
        json_decref(root);
    }
}

int main(void)
{
    char dir[] = "/tmp/swrefs-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char prof[300], conf[300];
    snprintf(prof, sizeof prof, "%s/p.json", dir);
    snprintf(conf, sizeof conf, "%s/c.json", dir);
    FILE *f = fopen(prof, "w");
    fputs(profile_json, f);
    fclose(f);
    f = fopen(conf, "w");
    fputs("{\"profile\":\"p.json\"}", f);
    fclose(f);
    struct sw_diag d = {0};
    int rc = sw_config_load(&cfg, conf, &d);
    for (int i = 0; i < d.n; i++)
        fprintf(stderr, "config: %s\n", d.msg[i]);
    CHECK_INT(rc, 0);
    sw_diag_release(&d);
    if (rc)
        return CHECK_DONE();
    for (int i = 0; i < 4; i++)
        CHECK_INT(sw_hist_init(&hists[i], &cfg.profile.hists[i]), 0);
    test_layers();
    test_carry_over(dir);
    test_profile_errors();
    for (int i = 0; i < 4; i++)
        sw_hist_release(&hists[i]);
    sw_config_release(&cfg);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
