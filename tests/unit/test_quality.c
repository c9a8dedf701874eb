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
    "{\"name\":\"p_mean\",\"title\":\"Mean momentum\",\"category\":\"beam\",\"unit\":\"GeV/"
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

/* ---- DAQ integrity: {"daq": PROBLEM, "source": NAME | "*"} ---- */

static const char *daq_profile_json =
    "{\"name\":\"t\",\"version\":\"v1\",\"fields\":{\"p_in\":1},"
    "\"histograms\":[{\"name\":\"p_in\",\"x\":{\"source\":\"p_in\",\"bins\":10,\"min\":0,\"max\":10}}],"
    "\"daq_sources\":[\"BEAM\",\"ECAL\",\"HCAL\"],"
    "\"checks\":["
    "{\"name\":\"daq_integrity\",\"title\":\"DAQ "
    "sources\",\"category\":\"daq\",\"quantity\":{\"daq\":\"bad\",\"source\":\"*\"},"
    "\"good\":[0,0.001],\"warn\":[0,0.01],\"requires_beam\":false},"
    "{\"name\":\"hcal_missing\",\"category\":\"daq\",\"quantity\":{\"daq\":\"missing\",\"source\":\"HCAL\"},"
    "\"good\":[0,0.001],\"requires_beam\":false},"
    "{\"name\":\"ecal_empty\",\"category\":\"daq\",\"quantity\":{\"daq\":\"empty\",\"source\":\"ECAL\"},"
    "\"good\":[0,0.01],\"requires_beam\":false},"
    "{\"name\":\"dead\",\"category\":\"daq\",\"quantity\":{\"spill\":\"dead_time\"},\"good\":[0,0.15],"
    "\"requires_beam\":false}],"
    "\"alarms\":[{\"name\":\"daq_bad\",\"quantity\":{\"daq\":\"bad\",\"source\":\"*\"},\"above\":0.01}]}";

static int parse_profile(struct sw_profile *p, const char *text, struct sw_diag *d)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!root) {
        fprintf(stderr, "profile JSON: %s\n", jerr.text);
        return -1;
    }
    int rc = sw_profile_parse(p, root, "t.json", d);
    json_decref(root);
    return rc;
}

static enum sw_state judge_daq(const struct sw_profile *p, const char *daq_json, struct sw_check_result *res,
                               json_t *reasons)
{
    json_t *ds = daq_json ? json_loads(daq_json, 0, NULL) : NULL;
    CHECK(!daq_json || ds);
    struct sw_hist h;
    sw_hist_init(&h, &p->hists[0]);
    struct sw_quality_input in = {.hists = &h,
                                  .daq_sources = ds,
                                  .duration = 4.8,
                                  .dead_time = 0.05,
                                  .decode_errors = NAN,
                                  .events = 100,
                                  .complete = 1};
    enum sw_state s = sw_quality_eval(p, &in, res, reasons);
    sw_hist_release(&h);
    json_decref(ds);
    return s;
}

/* The profile text with `from` replaced by `to` must be refused with a message containing needle. */
static void expect_profile_error(const char *from, const char *to, const char *needle)
{
    char text[4096];
    const char *at = strstr(daq_profile_json, from);
    CHECK(at != NULL);
    if (!at)
        return;
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - daq_profile_json), daq_profile_json, to,
             at + strlen(from));
    struct sw_profile p;
    struct sw_diag d = {0};
    CHECK_INT(parse_profile(&p, text, &d), -1);
    int found = 0;
    for (int i = 0; i < d.n; i++)
        found = found || strstr(d.msg[i], needle) != NULL;
    if (!found)
        fprintf(stderr, "no message contains \"%s\" (%d messages, first: %s)\n", needle, d.n,
                d.n ? d.msg[0] : "none");
    CHECK(found);
    sw_diag_release(&d);
}

static void test_daq(void)
{
    struct sw_profile p;
    struct sw_diag d = {0};
    int rc = parse_profile(&p, daq_profile_json, &d);
    for (int i = 0; i < d.n; i++)
        fprintf(stderr, "profile: %s\n", d.msg[i]);
    sw_diag_release(&d);
    CHECK_INT(rc, 0);
    if (rc)
        return;
    CHECK_INT(p.ndaq_sources, 3);
    CHECK_INT(p.checks[0].kind, SW_Q_DAQ);
    CHECK_INT(p.checks[0].daq_problem, SW_DAQ_BAD);
    CHECK_STR(p.checks[0].daq_source, "*");
    CHECK_INT(p.alarms[0].q.kind, SW_Q_DAQ);
    struct sw_check_result res[4];
    json_t *reasons = json_array();

    /* every source clean: GOOD */
    const char *clean = "{\"BEAM\":{\"events\":2000},\"ECAL\":{\"events\":2000,\"missing\":0,\"empty\":0,"
                        "\"truncated\":0},\"HCAL\":{\"events\":2000}}";
    CHECK_INT(judge_daq(&p, clean, res, reasons), SW_GOOD);
    CHECK_INT(json_array_size(reasons), 0);
    CHECK_NEAR(res[0].raw, 0, 0);
    CHECK_NEAR(res[0].value, 0, 0);
    CHECK_INT(res[1].state, SW_GOOD);

    /* HCAL missing from 5 % of its events: BAD, the source named */
    json_array_clear(reasons);
    CHECK_INT(judge_daq(&p,
                        "{\"BEAM\":{\"events\":2000},\"ECAL\":{\"events\":2000,\"empty\":4},"
                        "\"HCAL\":{\"events\":2000,\"missing\":100}}",
                        res, reasons),
              SW_BAD);
    CHECK_NEAR(res[0].raw, 0.05, 1e-12);
    CHECK_STR(res[0].reason, "DAQ sources: HCAL missing from 5.0 % of events (good up to 0.1 %)");
    CHECK_NEAR(res[1].value, 0.05, 1e-12);
    CHECK_STR(res[1].reason,
              "hcal_missing: HCAL missing from 5.0 % of events (good up to 0.1 %)"); /* no title */
    CHECK_INT(res[2].state, SW_GOOD);                                                /* ECAL empty in 0.2 % */
    CHECK_NEAR(res[2].raw, 0.002, 1e-12);
    CHECK_INT(json_array_size(reasons), 2);

    /* the worst source: ECAL bad in 6 % (two problems) beats HCAL's 5 %; WARN within warn */
    CHECK_INT(
        judge_daq(&p,
                  "{\"BEAM\":{\"events\":1000},\"ECAL\":{\"events\":1000,\"missing\":20,\"truncated\":40},"
                  "\"HCAL\":{\"events\":1000,\"missing\":50}}",
                  res, NULL),
        SW_BAD);
    CHECK_NEAR(res[0].raw, 0.06, 1e-12);
    CHECK_STR(res[0].reason,
              "DAQ sources: ECAL bad in 6.0 % of events: missing 2.0 %, truncated 4.0 % (good up to 0.1 %)");
    CHECK_INT(judge_daq(&p,
                        "{\"BEAM\":{\"events\":10000},\"ECAL\":{\"events\":10000,\"truncated\":50},"
                        "\"HCAL\":{\"events\":10000}}",
                        res, NULL),
              SW_WARN);
    CHECK_STR(res[0].reason, "DAQ sources: ECAL truncated in 0.5 % of events (good up to 0.1 %)");

    /* a listed source that the spill_end leaves out is missing from every event */
    CHECK_INT(judge_daq(&p, "{\"ECAL\":{\"events\":10},\"HCAL\":{\"events\":10}}", res, NULL), SW_BAD);
    CHECK_NEAR(res[0].raw, 1, 0);
    CHECK_STR(res[0].reason,
              "DAQ sources: BEAM absent from the spill_end: missing from every event (good up to 0.1 %)");
    CHECK_INT(judge_daq(&p, "{\"BEAM\":{\"events\":10},\"ECAL\":{\"events\":10}}", res, NULL), SW_BAD);
    CHECK_NEAR(res[1].raw, 1, 0); /* a named source, too */
    CHECK_INT(res[2].state, SW_GOOD);
    CHECK_INT(judge_daq(&p, "{}", res, NULL), SW_BAD);
    CHECK(strncmp(res[0].reason, "DAQ sources: BEAM absent", 24) == 0); /* a tie goes to the first name */

    /* capped at 1; 0 events: nothing was bad */
    CHECK_INT(judge_daq(&p,
                        "{\"BEAM\":{\"events\":0},\"ECAL\":{\"events\":4,\"missing\":4,\"empty\":4},"
                        "\"HCAL\":{\"events\":0}}",
                        res, NULL),
              SW_BAD);
    CHECK_NEAR(res[0].raw, 1, 0);
    CHECK_NEAR(res[1].raw, 0, 0);

    /* no per-source counts at all (an older collector): EXCLUDED, and the spill can be GOOD */
    json_array_clear(reasons);
    CHECK_INT(judge_daq(&p, NULL, res, reasons), SW_GOOD);
    for (int i = 0; i < 3; i++)
        CHECK_INT(res[i].state, SW_EXCLUDED);
    CHECK_STR(res[0].reason, "DAQ sources: no per-source counts from the DAQ");
    CHECK(isnan(res[0].raw));
    CHECK_INT(res[3].state, SW_GOOD);
    CHECK_INT(json_array_size(reasons), 0);

    /* sw_quality_daq itself: "*" without a list or sources finds nothing; alarm rules read the value */
    struct sw_daq_value v;
    json_t *empty = json_object();
    CHECK_INT(sw_quality_daq(empty, "*", SW_DAQ_BAD, NULL, 0, &v), -1);
    CHECK_INT(sw_quality_daq(NULL, "HCAL", SW_DAQ_BAD, NULL, 0, &v), -1);
    CHECK_INT(sw_quality_daq(empty, "HCAL", SW_DAQ_MISSING, NULL, 0, &v), 0);
    CHECK(v.absent);
    CHECK_NEAR(v.fraction, 1, 0);
    json_t *ds = json_loads("{\"A\":{\"events\":10,\"empty\":1},\"B\":{\"events\":20,\"empty\":2}}", 0, NULL);
    CHECK_INT(sw_quality_daq(ds, "*", SW_DAQ_EMPTY, NULL, 0, &v), 0);
    CHECK_STR(v.source, "A");
    CHECK_NEAR(v.fraction, 0.1, 1e-12);
    CHECK_INT(sw_quality_daq(ds, "*", SW_DAQ_EMPTY, p.daq_sources, p.ndaq_sources, &v), 0);
    CHECK_STR(v.source, "A"); /* BEAM, ECAL, HCAL absent: missing, not empty */
    CHECK_INT(sw_quality_daq(ds, "*", SW_DAQ_MISSING, p.daq_sources, p.ndaq_sources, &v), 0);
    CHECK_STR(v.source, "BEAM");
    struct sw_quality_input in = {.daq_sources = ds};
    CHECK_NEAR(sw_quality_value(&p.alarms[0].q, &in), 1, 0);
    in.daq_sources = NULL;
    CHECK(isnan(sw_quality_value(&p.alarms[0].q, &in)));
    json_decref(ds);
    json_decref(empty);
    json_decref(reasons);
    sw_profile_release(&p);

    /* validation, with the JSON path of the bad key */
    expect_profile_error(
        "\"daq\":\"missing\"", "\"daq\":\"lost\"",
        "$.checks[1].quantity.daq: unknown problem \"lost\" (missing, empty, truncated or bad)");
    expect_profile_error("\"source\":\"HCAL\"", "\"source\":\"HC AL\"",
                         "$.checks[1].quantity.source: \"HC AL\" must be \"*\" or 1..64 characters");
    expect_profile_error("\"source\":\"HCAL\"", "\"source\":\"VETO\"",
                         "$.checks[1].quantity.source: \"VETO\" is not one of $.daq_sources");
    expect_profile_error("\"source\":\"HCAL\"", "\"source\":\"HCAL\",\"per\":\"second\"",
                         "$.checks[1].quantity.per: only for counter and spill quantities");
    expect_profile_error(",\"source\":\"HCAL\"", "",
                         "$.checks[1].quantity.source: required for a daq quantity");
    expect_profile_error("\"spill\":\"dead_time\"", "\"spill\":\"dead_time\",\"source\":\"HCAL\"",
                         "$.checks[3].quantity.source: only for daq quantities");
    expect_profile_error("\"source\":\"HCAL\"},",
                         "\"source\":\"HCAL\"},\"reference\":{\"rolling_median\":5},",
                         "$.checks[1]: a daq quantity is a fraction judged as it is");
    expect_profile_error("\"daq_sources\":[\"BEAM\",\"ECAL\",\"HCAL\"]",
                         "\"daq_sources\":[\"BEAM\",\"BEAM\"]",
                         "$.daq_sources[1]: duplicate source \"BEAM\"");
    expect_profile_error("\"daq_sources\":[\"BEAM\",\"ECAL\",\"HCAL\"]", "\"daq_sources\":\"BEAM\"",
                         "$.daq_sources: must be an array of 1..64 source names");
    expect_profile_error("\"daq_sources\":[\"BEAM\",\"ECAL\",\"HCAL\"]", "\"daq_sources\":[\"BEAM\",7]",
                         "$.daq_sources[1]: must be a source name");
    expect_profile_error("{\"daq\":\"bad\",\"source\":\"*\"},\"above\"",
                         "{\"daq\":\"bad\",\"source\":\"X\"},\"above\"",
                         "$.alarms[0].quantity.source: \"X\" is not one of $.daq_sources");

    /* without a profile list any source name may be checked */
    char text[4096];
    const char *list = "\"daq_sources\":[\"BEAM\",\"ECAL\",\"HCAL\"],";
    const char *at = strstr(daq_profile_json, list);
    snprintf(text, sizeof text, "%.*s%s", (int)(at - daq_profile_json), daq_profile_json, at + strlen(list));
    CHECK_INT(parse_profile(&p, text, &d), 0);
    CHECK(p.daq_sources == NULL);
    CHECK(p.checks[0].daq_expected == NULL);
    sw_profile_release(&p);
    sw_diag_release(&d);
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
    CHECK_STR(res[5].reason, "skipped: skipped by the profile");

    /* WARN below BAD; UNKNOWN never masks BAD */
    CHECK_INT(eval(c, 4.8, 0.2, 100, 1, res, NULL), SW_WARN);
    json_object_set_new(c, "v1", json_real(5e5)); /* 0.5 per MOT: BAD */
    json_array_clear(reasons);
    CHECK_INT(eval(c, NAN, 0.2, 100, 1, res, reasons), SW_BAD);
    CHECK_INT(res[3].state, SW_UNKNOWN); /* no duration */
    CHECK_INT(res[2].state, SW_BAD);
    CHECK_INT(json_array_size(reasons), 3); /* v1 BAD, rate UNKNOWN, dead WARN */
    CHECK_STR(json_string_value(json_array_get(reasons, 0)),
              "v1_per_mot: 0.500, above the good window 0\xe2\x80\x93"
              "0.1");
    CHECK_STR(json_string_value(json_array_get(reasons, 1)), "rate: no spill duration in the spill_end");
    CHECK_STR(json_string_value(json_array_get(reasons, 2)), "dead: 20 %, above the good window 0\xe2\x80\x93"
                                                             "15 %");

    /* UNKNOWN without BAD/WARN gives UNKNOWN; an incomplete spill is at least UNKNOWN */
    json_object_set_new(c, "v1", json_real(5e4));
    CHECK_INT(eval(c, NAN, 0.08, 100, 1, res, NULL), SW_UNKNOWN);
    json_array_clear(reasons);
    json_object_del(c, "v1"); /* an incomplete spill has no spill_end: its counters are not known */
    CHECK_INT(eval(c, NAN, NAN, 100, 0, res, reasons), SW_UNKNOWN);
    CHECK_STR(json_string_value(json_array_get(reasons, 0)),
              "Incomplete spill: no spill_end before the spill timeout");
    CHECK_STR(json_string_value(json_array_get(reasons, 1)),
              "v1_per_mot: not known: the spill has no spill_end");
    CHECK_STR(res[4].reason, "dead: not known: the spill has no spill_end");
    json_object_set_new(c, "v1", json_real(5e4));

    /* delta reason names the reference */
    sw_hist_clear(&hist);
    fill(20, 150.5);
    json_array_clear(reasons);
    CHECK_INT(eval(c, 4.8, 0.08, 100, 1, res, reasons), SW_BAD);
    CHECK_STR(json_string_value(json_array_get(reasons, 0)),
              "Mean momentum: 150.5 GeV/c, \xe2\x88\x92"
              "9.5 GeV/c from the reference 160 GeV/c (good within \xc2\xb1"
              "2 GeV/c)");

    /* too few entries -> UNKNOWN */
    sw_hist_clear(&hist);
    fill(5, 160);
    CHECK_INT(eval(c, 4.8, 0.08, 100, 1, res, NULL), SW_UNKNOWN);
    CHECK_INT(res[0].state, SW_UNKNOWN);
    CHECK_STR(res[0].reason, "Mean momentum: only 5 entries in p_in, 10 needed");
    sw_hist_clear(&hist);
    CHECK_INT(eval(c, 4.8, 0.08, 100, 1, res, NULL), SW_UNKNOWN);
    CHECK_STR(res[0].reason, "Mean momentum: no entries in p_in");
    fill(5, 160);

    /* no beam: beam-requiring checks EXCLUDED, the MOT check itself still judged */
    json_object_set_new(c, "mot", json_real(10));
    fill(20, 160);
    CHECK_INT(eval(c, 4.8, 0.08, 100, 1, res, NULL), SW_BAD);
    CHECK_INT(res[0].state, SW_EXCLUDED);
    CHECK_STR(res[0].reason, "Mean momentum: not judged: no beam");
    CHECK_INT(res[1].state, SW_BAD);
    CHECK_STR(res[1].reason, "mot: 10, 1\xc3\x97"
                             "10\xe2\x81\xbb\xe2\x81\xb5 \xc3\x97 the reference 1 M (good 0.5\xe2\x80\x93"
                             "1.5 \xc3\x97)");
    CHECK_INT(res[4].state, SW_GOOD);

    test_daq();

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
