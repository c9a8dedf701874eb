/* Unit tests of server/quality.c: check states, comparisons, UNKNOWN/EXCLUDED, the spill flag. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "quality.h"

static const char *profile_json =
    "{\"name\":\"t\",\"version\":\"v1\",\"beam_min_mot\":1000,"
    "\"fields\":{\"p_in\":1},"
    "\"histograms\":[{\"name\":\"p_in\",\"x\":{\"source\":\"p_in\",\"bins\":100,\"min\":100,\"max\":200}}],"
    "\"checks\":["
    "{\"name\":\"p_mean\",\"category\":\"beam\",\"unit\":\"GeV/"
    "c\",\"quantity\":{\"hist\":\"p_in\",\"stat\":\"mean\"},"
    "\"compare\":\"delta\",\"reference\":160,\"good\":[-2,2],\"warn\":[-5,5],\"min_entries\":10},"
    "{\"name\":\"mot\",\"category\":\"beam\",\"quantity\":{\"counter\":\"mot\"},\"compare\":\"ratio\","
    "\"reference\":1e6,\"good\":[0.5,1.5],\"warn\":[0.2,2],\"requires_beam\":false},"
    "{\"name\":\"v1_per_mot\",\"category\":\"beam\",\"quantity\":{\"counter\":\"v1\",\"per\":\"mot\"},"
    "\"good\":[0,0.1],\"warn\":[0,0.2]},"
    "{\"name\":\"rate\",\"category\":\"daq\",\"quantity\":{\"spill\":\"events\",\"per\":\"second\"},"
    "\"good\":[10,null]},"
    "{\"name\":\"dead\",\"category\":\"daq\",\"quantity\":{\"spill\":\"dead_time\"},\"good\":[0,0.15],"
    "\"warn\":[0,0.3],\"requires_beam\":false},"
    "{\"name\":\"skipped\",\"category\":\"daq\",\"quantity\":{\"spill\":\"events\"},\"good\":[1e9,null],"
    "\"skip\":true}"
    "]}";

static struct sw_config cfg;
static struct sw_hist hist;

static void fill(int n, double v)
{
    double row[2] = {0, v};
    for (int i = 0; i < n; i++)
        sw_hist_fill(&hist, row, 0);
}

static enum sw_state eval(json_t *counters, double duration, double dead, uint64_t events, int complete,
                          struct sw_check_result *res, json_t *reasons)
{
    struct sw_quality_input in = {.hists = &hist,
                                  .counters = counters,
                                  .duration = duration,
                                  .dead_time = dead,
                                  .decode_errors = NAN,
                                  .events = events,
                                  .complete = complete};
    return sw_quality_eval(&cfg.profile, &in, res, reasons);
}

int main(void)
{
    char dir[] = "/tmp/swq-XXXXXX";
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
    CHECK_INT(cfg.profile.nchecks, 6);
    CHECK_INT(sw_hist_init(&hist, &cfg.profile.hists[0]), 0);
    struct sw_check_result res[6];

    /* all good */
    fill(20, 160.5);
    json_t *c = json_pack("{s:f, s:f}", "mot", 1e6, "v1", 5e4);
    json_t *reasons = json_array();
    CHECK_INT(eval(c, 4.8, 0.08, 100, 1, res, reasons), SW_GOOD);
    CHECK_INT(json_array_size(reasons), 0);
    CHECK_NEAR(res[0].value, 0.5, 1e-9);
    CHECK_NEAR(res[0].raw, 160.5, 1e-9);
    CHECK_NEAR(res[1].value, 1.0, 1e-12);
    CHECK_NEAR(res[2].value, 0.05, 1e-12);
    CHECK_NEAR(res[3].value, 100 / 4.8, 1e-9);
    CHECK_INT(res[4].state, SW_GOOD);
    /* a deliberately skipped check is EXCLUDED, whatever its value, and adds no reason */
    CHECK_INT(res[5].state, SW_EXCLUDED);
    CHECK_STR(res[5].reason, "skipped [daq]: skipped by the profile");

    /* WARN below BAD; UNKNOWN never masks BAD */
    CHECK_INT(eval(c, 4.8, 0.2, 100, 1, res, NULL), SW_WARN);
    json_object_set_new(c, "v1", json_real(5e5)); /* 0.5 per MOT: BAD */
    json_array_clear(reasons);
    CHECK_INT(eval(c, NAN, 0.2, 100, 1, res, reasons), SW_BAD);
    CHECK_INT(res[3].state, SW_UNKNOWN); /* no duration */
    CHECK_INT(res[2].state, SW_BAD);
    CHECK_INT(json_array_size(reasons), 3); /* v1 BAD, rate UNKNOWN, dead WARN */
    CHECK_STR(json_string_value(json_array_get(reasons, 0)), "v1_per_mot [beam]: 0.5 outside good [0, 0.1]");

    /* UNKNOWN without BAD/WARN gives UNKNOWN; an incomplete spill is at least UNKNOWN */
    json_object_set_new(c, "v1", json_real(5e4));
    CHECK_INT(eval(c, NAN, 0.08, 100, 1, res, NULL), SW_UNKNOWN);
    json_array_clear(reasons);
    CHECK_INT(eval(c, 4.8, 0.08, 100, 0, res, reasons), SW_UNKNOWN);
    CHECK(strstr(json_string_value(json_array_get(reasons, 0)), "incomplete") != NULL);

    /* delta reason names the reference */
    sw_hist_clear(&hist);
    fill(20, 150.5);
    json_array_clear(reasons);
    CHECK_INT(eval(c, 4.8, 0.08, 100, 1, res, reasons), SW_BAD);
    CHECK_STR(json_string_value(json_array_get(reasons, 0)),
              "p_mean [beam]: -9.5 GeV/c from reference 160, outside good [-2, 2]");

    /* too few entries -> UNKNOWN */
    sw_hist_clear(&hist);
    fill(5, 160);
    CHECK_INT(eval(c, 4.8, 0.08, 100, 1, res, NULL), SW_UNKNOWN);
    CHECK_INT(res[0].state, SW_UNKNOWN);

    /* no beam: beam-requiring checks EXCLUDED, the MOT check itself still judged */
    json_object_set_new(c, "mot", json_real(10));
    fill(20, 160);
    CHECK_INT(eval(c, 4.8, 0.08, 100, 1, res, NULL), SW_BAD);
    CHECK_INT(res[0].state, SW_EXCLUDED);
    CHECK_INT(res[1].state, SW_BAD);
    CHECK_INT(res[4].state, SW_GOOD);

    /* names */
    CHECK_STR(sw_state_name(SW_EXCLUDED), "EXCLUDED");
    CHECK_INT(sw_state_parse("WARN"), SW_WARN);
    CHECK_INT(sw_state_parse("meh"), -1);

    json_decref(c);
    json_decref(reasons);
    sw_hist_release(&hist);
    sw_config_release(&cfg);
    unlink(prof);
    unlink(conf);
    rmdir(dir);
    return CHECK_DONE();
}
