/* Unit tests of server/wire.c: NDJSON parsing, validation, line/column of the first error. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "wire.h"
#include "wire_compare.h"

static struct sw_fields fields;
static const struct sw_wire_limits lim = {4096, 32, 1000, 0};

static int parse(const char *body, struct sw_batch *b, struct sw_wire_error *err)
{
    memset(b, 0, sizeof *b);
    return sw_wire_parse(b, body, strlen(body), &fields, &lim, err);
}

static double at(const struct sw_batch *b, size_t row, const char *field, int i)
{
    int f = sw_fields_find(&fields, field, strlen(field));
    return b->rows[row * (size_t)b->row_width + (size_t)fields.offset[f] + (size_t)i];
}

static void test_records(void)
{
    struct sw_batch b;
    struct sw_wire_error err;
    const char *body =
        "{\"type\":\"run_start\",\"run\":7,\"time\":1.5,\"meta\":{\"beam\":\"mu+\"}}\n"
        "{\"type\":\"spill_start\",\"run\":7,\"spill\":2}\r\n"
        "\n"
        "{\"type\":\"event\",\"run\":7,\"spill\":2,\"event\":1,\"trigger\":\"beam\",\"p_in\":160.5,"
        "\"hcal\":[1,null,3],\"extra\":5}\n"
        "{\"type\":\"events\",\"run\":7,\"spill\":2,\"columns\":{\"event\":[2,3],\"trigger\":[\"led\","
        "\"physics\"],\"p_in\":[null,150],\"hcal\":[[1,2,3,4],null],\"other\":[1,null]}}\n"
        "{\"type\":\"spill_end\",\"run\":7,\"spill\":2,\"duration\":4.8,\"dead_time\":0.08,"
        "\"counters\":{\"mot\":3000000}}\n"
        "{\"type\":\"run_end\",\"run\":7}";
    CHECK_INT(parse(body, &b, &err), 0);
    CHECK_STR(err.msg, "");
    CHECK_INT(b.nrecs, 6);
    CHECK_INT(b.events, 3);
    CHECK_INT(b.recs[0].type, SW_REC_RUN_START);
    CHECK(json_is_object(b.recs[0].meta));
    CHECK_NEAR(b.recs[0].time, 1.5, 0);
    CHECK_INT(b.recs[1].line, 2);
    CHECK_INT(b.recs[2].line, 4); /* the blank line 3 is skipped but counted */
    CHECK_INT(b.recs[2].unknown_fields, 1);
    CHECK_INT(b.recs[3].unknown_fields, 1); /* null values of unknown columns are not counted */
    CHECK_NEAR(at(&b, 0, "p_in", 0), 160.5, 0);
    CHECK(isnan(at(&b, 0, "hcal", 1)));
    CHECK(isnan(at(&b, 0, "hcal", 3))); /* shorter array: the rest is missing */
    CHECK_NEAR(at(&b, 0, "trigger", 0), SW_TRIG_BEAM, 0);
    CHECK(isnan(at(&b, 1, "p_in", 0)));
    CHECK_NEAR(at(&b, 1, "hcal", 3), 4, 0);
    CHECK(isnan(at(&b, 2, "hcal", 0)));
    CHECK_INT(b.trigger[1], SW_TRIG_LED);
    CHECK_INT(b.event_no[2], 3);
    CHECK_INT(b.recs[3].first, 1);
    CHECK_INT(b.recs[3].nevents, 2);
    CHECK_NEAR(b.recs[4].dead_time, 0.08, 0);
    CHECK_NEAR(json_number_value(json_object_get(b.recs[4].counters, "mot")), 3e6, 0);
    CHECK(isnan(b.recs[4].decode_errors));
    CHECK_INT(b.recs[5].spill, -1);
    sw_batch_release(&b);
}

static void expect_error(const char *body, unsigned status, int line, const char *needle)
{
    struct sw_batch b;
    struct sw_wire_error err;
    int rc = parse(body, &b, &err);
    CHECK_INT(rc, -1);
    CHECK_INT(sw_err_http_status(err.code), status);
    CHECK_INT(err.line, line);
    if (!strstr(err.msg, needle))
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.msg, needle);
    CHECK(strstr(err.msg, needle) != NULL);
    sw_batch_release(&b);
}

static void test_errors(void)
{
    const char *ok = "{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":1,\"trigger\":\"physics\"}\n";
    char body[8192];
    expect_error("", 400, 0, "empty");
    expect_error("{\"type\":\"event\"", 400, 1, "invalid JSON");
    snprintf(body, sizeof body, "%s%s{\"type\":\"nope\",\"run\":1}\n", ok, ok);
    expect_error(body, 400, 3, "unknown type \"nope\"");
    expect_error("{\"run\":1}", 400, 1, "\"type\" is required");
    expect_error("{\"type\":\"event\",\"run\":1.5,\"spill\":1,\"event\":1,\"trigger\":\"beam\"}", 400, 1,
                 "\"run\"");
    expect_error("{\"type\":\"event\",\"run\":1,\"spill\":1,\"trigger\":\"beam\"}", 400, 1,
                 "\"event\" is required");
    expect_error("{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":1,\"trigger\":\"beam\",\"p_in\":[1]}",
                 400, 1, "field \"p_in\"");
    expect_error(
        "{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":1,\"trigger\":\"beam\",\"hcal\":[1,\"a\"]}", 400,
        1, "hcal\"[1]");
    expect_error("{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":1,\"trigger\":\"beam\",\"p_in\":1e400}",
                 400, 1, "invalid JSON");
    expect_error("{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":1,\"trigger\":\"beam\",\"p_in\":NaN}",
                 400, 1, "invalid JSON");
    expect_error(
        "{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":1,\"trigger\":\"beam\",\"p_in\":1,\"p_in\":2}",
        400, 1, "duplicate");
    expect_error("{\"type\":\"spill_end\",\"run\":1,\"spill\":1,\"dead_tme\":0.1}", 400, 1,
                 "unknown key \"dead_tme\"");
    expect_error("{\"type\":\"spill_end\",\"run\":1,\"spill\":1,\"counters\":{\"mot\":\"x\"}}", 400, 1,
                 "counter \"mot\"");
    expect_error(
        "{\"type\":\"events\",\"run\":1,\"spill\":1,\"columns\":{\"event\":[1],\"trigger\":[\"beam\"],"
        "\"p_in\":[1,2]}}",
        400, 1, "column \"p_in\" has 2 values");
    expect_error(
        "{\"type\":\"events\",\"run\":1,\"spill\":1,\"columns\":{\"event\":[1],\"trigger\":[\"x\"]}}", 400, 1,
        "column \"trigger\"[0]");
    /* limits */
    memset(body, ' ', 5000);
    memcpy(body, ok, strlen(ok) - 1);
    strcpy(body + 5000, "\n");
    expect_error(body, 413, 1, "line of 5000 bytes");
    char *p = body;
    p += sprintf(p, "{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":1,\"trigger\":\"beam\"");
    for (int i = 0; i < 40; i++)
        p += sprintf(p, ",\"k%d\":%d", i, i);
    strcpy(p, "}\n");
    expect_error(body, 400, 1, "keys in one record");
    /* the column points at the offending key */
    struct sw_batch b;
    struct sw_wire_error err;
    parse("{\"type\":\"event\",\"run\":1,\"spill\":1,\"event\":1,\"trigger\":\"beam\",\"p_in\":\"x\"}", &b,
          &err);
    CHECK_INT(err.column, 62); /* the opening quote of "p_in" */
    sw_batch_release(&b);
}

/* spill_end "daq_sources": validated, kept as the record's json; each refusal names its key */
static void test_daq_sources(void)
{
#define SE "{\"type\":\"spill_end\",\"run\":1,\"spill\":1,"
    struct sw_batch b;
    struct sw_wire_error err;
    CHECK_INT(
        parse(SE "\"daq_sources\":{\"ECAL\":{\"events\":3205,\"missing\":0,\"empty\":0,"
                 "\"truncated\":0},\"HCAL\":{\"events\":3205,\"missing\":160},\"MS1.a-b_2\":{\"events\":0}}}",
              &b, &err),
        0);
    CHECK_STR(err.msg, "");
    json_t *ds = b.recs[0].daq_sources;
    CHECK(json_is_object(ds));
    CHECK_INT(json_object_size(ds), 3);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(ds, "HCAL"), "missing")), 160);
    CHECK(json_object_get(json_object_get(ds, "HCAL"), "empty") == NULL); /* defaults are the reader's */
    sw_batch_release(&b);
    /* none: NULL, as from an old collector */
    CHECK_INT(parse(SE "\"counters\":{\"mot\":5}}", &b, &err), 0);
    CHECK(b.recs[0].daq_sources == NULL);
    sw_batch_release(&b);
    CHECK_INT(parse(SE "\"daq_sources\":{}}", &b, &err), 0);
    CHECK_INT(json_object_size(b.recs[0].daq_sources), 0);
    sw_batch_release(&b);

    expect_error(SE "\"daq_sources\":\"ECAL\"}", 400, 1, "\"daq_sources\" must be an object");
    expect_error(SE "\"daq_sources\":{\"ECAL\":{\"events\":-1}}}", 400, 1,
                 "daq_sources \"ECAL\": \"events\" must be an integer >= 0");
    expect_error(SE "\"daq_sources\":{\"ECAL\":{\"events\":10,\"empty\":1.5}}}", 400, 1,
                 "daq_sources \"ECAL\": \"empty\" must be an integer >= 0");
    expect_error(SE "\"daq_sources\":{\"ECAL\":{\"events\":10,\"missing\":11}}}", 400, 1,
                 "daq_sources \"ECAL\": \"missing\" 11 exceeds \"events\" 10");
    expect_error(SE "\"daq_sources\":{\"ECAL\":{\"events\":10,\"lost\":1}}}", 400, 1,
                 "daq_sources \"ECAL\": unknown key \"lost\"");
    expect_error(SE "\"daq_sources\":{\"ECAL\":{\"missing\":0}}}", 400, 1,
                 "daq_sources \"ECAL\": \"events\" is required");
    expect_error(SE "\"daq_sources\":{\"ECAL\":7}}", 400, 1, "daq_sources \"ECAL\": must be an object");
    expect_error(SE "\"daq_sources\":{\"EC AL\":{\"events\":1}}}", 400, 1,
                 "source name \"EC AL\" must be 1..64 characters");
    expect_error(SE "\"daq_sources\":{\"\":{\"events\":1}}}", 400, 1, "source name \"\" must be");
    expect_error(SE "\"daq_sources\":{\"\\u00e9\":{\"events\":1}}}", 400, 1, "source name \"??\" must be");
    char body[8192], *p = body;
    p += sprintf(p, SE "\"daq_sources\":{");
    for (int i = 0; i < 65; i++)
        p += sprintf(p, "%s\"S%d\":{\"events\":1}", i ? "," : "", i);
    strcpy(p, "}}");
    expect_error(body, 400, 1, "65 daq_sources, at most 64");
    char name[80];
    memset(name, 'A', 65);
    name[65] = 0;
    snprintf(body, sizeof body, SE "\"daq_sources\":{\"%s\":{\"events\":1}}}", name);
    expect_error(body, 400, 1, "must be 1..64 characters");
    name[64] = 0;
    snprintf(body, sizeof body, SE "\"daq_sources\":{\"%s\":{\"events\":1}}}", name);
    CHECK_INT(parse(body, &b, &err), 0);
    sw_batch_release(&b);

    /* the column points at the key inside the source at fault, not at an earlier source's */
    const char *two = SE "\"daq_sources\":{\"ECAL\":{\"events\":5,\"missing\":0},"
                         "\"HCAL\":{\"events\":5,\"missing\":6}}}";
    CHECK_INT(parse(two, &b, &err), -1);
    CHECK_INT(err.column, (int)(strstr(strstr(two, "HCAL"), "\"missing\"") - two) + 1);
    sw_batch_release(&b);
    CHECK_INT(parse(SE "\"daq_sources\":5}", &b, &err), -1);
    CHECK_INT(err.column, (int)strlen(SE) + 1);
    sw_batch_release(&b);
#undef SE
}

static void test_event_cap(void)
{
    static const struct sw_wire_limits small = {4096, 32, 2, 0};
    struct sw_batch b = {0};
    struct sw_wire_error err;
    const char *body =
        "{\"type\":\"events\",\"run\":1,\"spill\":1,\"columns\":{\"event\":[1,2,3],\"trigger\":[\"beam\","
        "\"beam\",\"beam\"]}}";
    CHECK_INT(sw_wire_parse(&b, body, strlen(body), &fields, &small, &err), -1);
    CHECK_INT(err.code, SW_ETOOBIG);
    sw_batch_release(&b);
}

/* Parses body with the fast path and with Jansson only; both must agree exactly. Returns how many
 * records the fast path read. */
static size_t both(const char *body, size_t len, const struct sw_wire_limits *l)
{
    struct sw_batch a = {0}, s = {0};
    struct sw_wire_error ea, es;
    struct sw_wire_limits slow = *l;
    slow.slow_only = 1;
    int ra = sw_wire_parse(&a, body, len, &fields, l, &ea),
        rs = sw_wire_parse(&s, body, len, &fields, &slow, &es);
    const char *diff = sw_wire_compare(ra, &a, &ea, rs, &s, &es);
    if (diff) {
        fprintf(stderr, "fast and Jansson paths differ (%s) on: %.*s\n  fast: %d %s\n  slow: %d %s\n", diff,
                (int)len, body, ra, ea.msg, rs, es.msg);
        sw_test_failures++;
    }
    sw_test_checks++;
    CHECK_INT(s.fast, 0);
    size_t fast = a.fast;
    sw_batch_release(&a);
    sw_batch_release(&s);
    return fast;
}

#define EV  "{\"type\":\"event\",\"run\":1,\"spill\":2,\"event\":3,\"trigger\":\"physics\","
#define EVS "{\"type\":\"events\",\"run\":1,\"spill\":2,"

/* The fast path against Jansson: lines it must take (and get exactly right), lines it must leave
 * to Jansson (and so give the same error or value), and thousands of mutations of them. */
static void test_fast_path(void)
{
    static const char *const taken[] = {
        EV "\"p_in\":160.5}",
        EV "\"p_in\":0,\"hcal\":[1,null,-3.25e2,4E-3]}",
        EV "\"p_in\":-0}",
        EV "\"p_in\":-0.0,\"time\":1795576232.214}",
        EV "\"p_in\":123456789012345678}",
        EV "\"p_in\":1e22,\"hcal\":[]}",
        EV "\"p_in\":null,\"hcal\":null,\"zz\":[1,[2,[\"x\",true,false,null]]],\"yy\":\"text\"}",
        EV "\"columns\":5}",
        "{\"type\":\"event\",\"trigger\":\"led\",\"event\":0,\"spill\":0,\"run\":0}",
        "{\"type\":\"event\", \"run\" : 1 ,\"spill\":2,\"event\":3,\"trigger\":\"beam\" , \"p_in\": 1.5 }",
        EVS "\"columns\":{\"event\":[1,2],\"trigger\":[\"beam\",\"random\"],\"p_in\":[1.5,null]}}",
        EVS
        "\"columns\":{\"p_in\":[1.5,2],\"hcal\":[[1,2],null],\"event\":[1,2],\"trigger\":[\"beam\",\"led\"],"
        "\"u\":[null,\"x\"],\"time\":[1,2]},\"time\":5}",
        EVS "\"columns\":{\"event\":[],\"trigger\":[]}}",
    };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        if (both(taken[i], strlen(taken[i]), &lim) != 1)
            fprintf(stderr, "not taken by the fast path: %s\n", taken[i]), sw_test_failures++;
    static const char *const left[] = {
        EV "\"p_in\":01}",
        EV "\"p_in\":1.}",
        EV "\"p_in\":.5}",
        EV "\"p_in\":1e400}",
        EV "\"p_in\":1e23}",
        EV "\"p_in\":0.1234567890123456789}",
        EV "\"p_in\":12345678901234567890123}",
        EV "\"p_in\":1234567890123456789}",
        EV "\"p_in\":1.000000000000000000000000000000000000001}", /* the digits wrap the 64-bit mantissa */
        EV "\"p_in\":99999999999999999999999999999999999999.5e-20}",
        EV "\"hcal\":[null,1.5,nul]}",
        EV "\"p_in\":nul}",
        EV "\"p_in\":1,\"p_in\":2}",
        EV "\"zz\":1,\"zz\":2}",
        EV "\"run\":1}",
        EV "\"zz\":{\"a\":1}}",
        EV "\"p_i\\u006e\":1}",
        EV "\"p_in\":\"160\"}",
        EV "\"p_in\":[1]}",
        EV "\"hcal\":[1,2,3,4,5]}",
        EV "\"hcal\":7}",
        EV "\"p_in\":1} x",
        EV "\"p_in\":1,}",
        EV "\"time\":1e301}",
        "{\"type\":\"event\",\"run\":1,\"spill\":2,\"event\":-3,\"trigger\":\"physics\"}",
        "{\"type\":\"event\",\"run\":1,\"spill\":2,\"event\":3.0,\"trigger\":\"physics\"}",
        "{\"type\":\"event\",\"run\":1,\"spill\":2,\"event\":3,\"trigger\":\"cosmic\"}",
        "{\"type\":\"event\",\"run\":1,\"spill\":2,\"trigger\":\"beam\"}",
        "{\"type\":\"event\",\"run\":1,\"spill\":2,\"event\":3,\"trigger\":\"beam\",\"type\":\"event\"}",
        EVS "\"columns\":{\"event\":[1,2],\"trigger\":[\"beam\"]}}",
        EVS "\"columns\":{\"event\":[1],\"trigger\":[\"beam\"],\"p_in\":[1,2]}}",
        EVS "\"columns\":{\"event\":[1],\"trigger\":[\"beam\"]},\"extra\":1}",
        EVS "\"columns\":{\"event\":[1],\"trigger\":[\"beam\"],\"event\":[2]}}",
        EVS "\"columns\":{\"trigger\":[\"beam\"]}}",
        EVS "\"columns\":{\"event\":[1],\"trigger\":[\"beam\"],\"zz\":[{}]}}",
        EVS "\"columns\":[]}",
        "{\"type\":\"event\"}",
        "{\"type\":\"event\",",
    };
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++)
        both(left[i], strlen(left[i]), &lim);
    /* Numbers: random decimals of 1..20 digits with exponents -30..30, where a shortcut in the
     * conversion would round differently from strtod. */
    unsigned y = 777;
    for (int i = 0; i < 20000; i++) {
        char num[64], line[160];
        int pos = 0, digits = 1 + (int)((y = y * 1103515245u + 12345u) >> 8) % 20;
        if (y & 1)
            num[pos++] = '-';
        for (int d = 0; d < digits; d++) {
            y = y * 1103515245u + 12345u;
            num[pos++] = (char)('0' + (d == 0 ? 1 + (y >> 8) % 9 : (y >> 8) % 10));
            if (d == digits / 2 && (y & 2))
                num[pos++] = '.', num[pos++] = (char)('0' + (y >> 12) % 10);
        }
        if (y & 4)
            pos += snprintf(num + pos, sizeof num - (size_t)pos, "e%d", (int)((y >> 16) % 61) - 30);
        num[pos] = 0;
        int n = snprintf(line, sizeof line, EV "\"p_in\":%s}", num);
        both(line, (size_t)n, &lim);
    }
    /* Mutations: every taken line with bytes flipped, deleted or duplicated, under normal and tight
     * limits; whatever comes out, both paths agree. */
    static const struct sw_wire_limits tight = {4096, 8, 1, 0};
    unsigned x = 12345;
    char buf[512];
    for (int round = 0; round < 20000; round++) {
        const char *src = taken[round % (sizeof taken / sizeof taken[0])];
        size_t n = strlen(src);
        memcpy(buf, src, n);
        for (int k = 0; k < 1 + round % 3; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % n;
            static const char alphabet[] = "{}[],:\"\\ 0123456789.-+eEnul\x01\x80\xff";
            switch ((x >> 4) % 3) {
            case 0:
                buf[at] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
                break;
            case 1:
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
                break;
            default:
                if (n + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at);
                    n++;
                }
            }
        }
        both(buf, n, round & 1 ? &tight : &lim);
    }
}

/* A batch kept between parses (sw_batch_clear, as an ingest pool thread keeps it) parses as a fresh
 * one does, bit for bit, also after a profile of wider rows (a reload) and after an error. */
static void test_kept_batch(void)
{
    struct sw_fields wide = fields;
    sw_fields_add(&wide, "ecal", 30);
    char body[60000];
    size_t n = 0;
    n += (size_t)snprintf(body + n, sizeof body - n,
                          "{\"type\":\"events\",\"run\":3,\"spill\":1,\"columns\":{"
                          "\"event\":[");
    for (int i = 0; i < 700; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s%d", i ? "," : "", i + 1);
    n += (size_t)snprintf(body + n, sizeof body - n, "],\"trigger\":[");
    for (int i = 0; i < 700; i++)
        n +=
            (size_t)snprintf(body + n, sizeof body - n, "%s\"%s\"", i ? "," : "", i % 3 ? "physics" : "beam");
    n += (size_t)snprintf(body + n, sizeof body - n, "],\"p_in\":[");
    for (int i = 0; i < 700; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s%d.5", i ? "," : "", 100 + i % 90);
    n += (size_t)snprintf(body + n, sizeof body - n,
                          "]}}\n{\"type\":\"spill_end\",\"run\":3,\"spill\":1,"
                          "\"counters\":{\"mot\":5}}\n");
    const struct sw_wire_limits big = {1u << 20, 32, 100000, 0};
    struct sw_batch kept = {0};
    const struct sw_fields *layouts[] = {&fields, &wide, &fields, &wide};
    for (int round = 0; round < 4; round++) {
        const struct sw_fields *f = layouts[round];
        struct sw_batch fresh = {0};
        struct sw_wire_error ek, ef;
        int rk = sw_wire_parse(&kept, body, n, f, &big, &ek),
            rf = sw_wire_parse(&fresh, body, n, f, &big, &ef);
        const char *diff = sw_wire_compare(rk, &kept, &ek, rf, &fresh, &ef);
        if (diff)
            fprintf(stderr, "round %d: the kept batch differs from a fresh one: %s\n", round, diff);
        CHECK(diff == NULL);
        if (rk)
            fprintf(stderr, "%s\n", ek.msg);
        CHECK_INT(rk, 0);
        sw_batch_release(&fresh);
        sw_batch_clear(&kept, 64u << 20);
        CHECK(kept.nrecs == 0 && kept.nrows == 0 && kept.events == 0);
        CHECK(kept.rows != NULL); /* kept, not freed */
        struct sw_wire_error ebad;
        static const char bogus[] = "{\"type\":\"bogus\"}";
        CHECK_INT(sw_wire_parse(&kept, bogus, sizeof bogus - 1, f, &big, &ebad), -1);
        sw_batch_clear(&kept, 64u << 20);
    }
    sw_batch_clear(&kept, 0); /* over the bound: freed */
    CHECK(kept.rows == NULL && kept.recs == NULL);
}

int main(void)
{
    sw_fields_add(&fields, "trigger", 1);
    sw_fields_add(&fields, "p_in", 1);
    sw_fields_add(&fields, "hcal", 4);
    test_records();
    test_errors();
    test_daq_sources();
    test_event_cap();
    test_fast_path();
    test_kept_batch();
    return CHECK_DONE();
}
