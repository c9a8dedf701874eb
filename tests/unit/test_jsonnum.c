/* Unit tests of server/jsonnum.c: the shortest round-trip text of a double (checked bit for bit
 * through strtod and against a brute-force shortest length), and sw_json_text against json_dumps
 * (same text where there is no real, same tree where there are). A locale with a decimal comma is
 * tried when one is installed (LOCPATH may point at one made with localedef). */
#include <float.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jsonnum.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* The fewest significant digits (1..17) with which some decimal parses back: printf's correctly
 * rounded text of that length or one of its two neighbours (below a power of two the interval of a
 * double is lopsided, so the nearest text may miss where the next one up does not). */
static int oracle_digits(double v)
{
    char t[64], u[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(t, sizeof t, "%.*e", p - 1, fabs(v));
        long long m = 0;
        const char *q = t;
        for (; *q && *q != 'e'; q++)
            if (*q >= '0' && *q <= '9')
                m = m * 10 + (*q - '0');
        int e = atoi(q + 1) - (p - 1);
        for (int d = -1; d <= 1; d++) {
            snprintf(u, sizeof u, "%s%llde%d", v < 0 ? "-" : "", m + d, e);
            if (same_bits(strtod(u, NULL), v))
                return p;
        }
    }
    return 99;
}

/* The significant digits of a text as sw_json_real_text writes it. */
static int text_digits(const char *s)
{
    int n = 0, lead = 1, trailing_zeros = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (lead && *s == '0')
            continue;
        lead = 0;
        n++;
        trailing_zeros = *s == '0' ? trailing_zeros + 1 : 0;
    }
    n -= trailing_zeros;
    return n < 1 ? 1 : n;
}

/* The significant digits of a text, without leading or trailing zeros, into out. */
static void sig_digits(const char *s, char *out, size_t len)
{
    size_t n = 0;
    int lead = 1;
    for (; *s && *s != 'e' && n + 1 < len; s++) {
        if (*s < '0' || *s > '9' || (lead && *s == '0'))
            continue;
        lead = 0;
        out[n++] = *s;
    }
    while (n > 1 && out[n - 1] == '0')
        n--;
    out[n] = 0;
}

/* Among the texts of the shortest length, the nearest to v (printf's correctly rounded one), as
 * Python's repr and JavaScript print; below a power of two or for subnormals the nearest may not
 * parse back, and then any shortest one is right. */
static int nearest_of_its_length(const char *t, double v)
{
    int bin;
    double m = frexp(fabs(v), &bin);
    if (v == 0 || fabs(v) < DBL_MIN || m == 0.5)
        return 1;
    char u[64], a[32], b[32];
    snprintf(u, sizeof u, "%.*e", text_digits(t) - 1, fabs(v));
    sig_digits(t, a, sizeof a);
    sig_digits(u, b, sizeof b);
    return strcmp(a, b) == 0;
}

static long failures_shown;

/* v's text parses back bit for bit, is a JSON real, and has the fewest digits that can. */
static void round_trip(double v)
{
    char t[SW_JSON_REAL_LEN];
    int n = sw_json_real_text(t, sizeof t, v);
    int ok = n > 0 && (size_t)n == strlen(t) && same_bits(strtod(t, NULL), v) && strchr(t, ',') == NULL &&
             (v == 0 || text_digits(t) == oracle_digits(v)) && nearest_of_its_length(t, v);
    json_t *j = ok ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
    ok = ok && json_is_real(j) && same_bits(json_real_value(j), v);
    json_decref(j);
    sw_test_checks++;
    if (!ok) {
        sw_test_failures++;
        if (failures_shown++ < 20)
            fprintf(stderr, "round trip of %.17g (%a): got \"%s\" (%d digits, shortest %d)\n", v, v,
                    n > 0 ? t : "(none)", n > 0 ? text_digits(t) : 0, oracle_digits(v));
    }
}

static void text(double v, const char *want)
{
    char t[SW_JSON_REAL_LEN];
    CHECK(sw_json_real_text(t, sizeof t, v) == (int)strlen(want));
    CHECK_STR(t, want);
    round_trip(v);
}

static void edge_cases(void)
{
    /* a time whose 19-digit text ends in an apparent tie: the nearest 17-digit text is ...313, the
     * rounding of the rounded digits gave ...314 (both parse back) */
    round_trip(1796235709.2076313);
    text(0.0808, "0.0808");
    text(0.080799999999999997, "0.0808"); /* the same double, as Jansson's %.17g printed it */
    text(0.1, "0.1");
    text(0.1 + 0.2, "0.30000000000000004");
    text(1.0 / 3, "0.3333333333333333");
    text(2.0 / 3, "0.6666666666666666");
    text(4.8187, "4.8187");
    text(0.0, "0.0");
    text(-0.0, "-0.0");
    text(3.0, "3.0"); /* integral reals stay reals */
    text(-3.0, "-3.0");
    text(100.0, "100.0");
    text(1e15, "1000000000000000.0");
    text(1e16, "10000000000000000.0");
    text(9007199254740992.0, "9007199254740992.0");
    text(1e17, "1e17"); /* exponent form from 1e17 on, as Jansson's %.17g */
    text(1e21, "1e21");
    text(1.5e300, "1.5e300");
    text(123456789012345678.0, "1.2345678901234568e17");
    text(1e-300, "1e-300");
    text(0.0001, "0.0001");
    text(0.00012345, "0.00012345");
    text(0.00001, "1e-5");
    text(1.5e-7, "1.5e-7");
    text(-2.5e-7, "-2.5e-7");
    text(DBL_MAX, "1.7976931348623157e308");
    text(-DBL_MAX, "-1.7976931348623157e308");
    text(DBL_MIN, "2.2250738585072014e-308");
    text(5e-324, "5e-324"); /* the smallest denormal */
    text(-5e-324, "-5e-324");
    text(bits_double(0x000FFFFFFFFFFFFFULL), "2.225073858507201e-308"); /* the largest denormal */
    text(1e-310, "1e-310");
    text(0.5, "0.5");
    text(1024.0, "1024.0");
    text(0x1p-30, "9.313225746154785e-10");
    text(5e-5, "5e-5");
    text(299792458.0, "299792458.0");
    text(1.7976931348623157e308 / 3, "5.992310449541053e307");

    char t[SW_JSON_REAL_LEN];
    CHECK_INT(sw_json_real_text(t, sizeof t, NAN), -1);
    CHECK_INT(sw_json_real_text(t, sizeof t, INFINITY), -1);
    CHECK_INT(sw_json_real_text(t, sizeof t, -INFINITY), -1);
    CHECK_INT(sw_json_real_text(t, 8, 1.0), -1); /* too small a buffer */
}

static void random_doubles(void)
{
    long bits = 0, decimals = 0, ratios = 0;
    /* every bit pattern: all exponents, denormals included */
    for (int i = 0; i < 100000; i++) {
        double v = bits_double(rnd());
        if (!isfinite(v))
            continue;
        round_trip(v);
        bits++;
    }
    /* values as people and instruments write them: k / 10^m */
    for (int i = 0; i < 50000; i++) {
        double v = (double)(int64_t)(rnd() % 20000000 - 10000000) / pow(10, (double)(rnd() % 12));
        round_trip(v);
        decimals++;
    }
    /* values as the server computes them: ratios, means */
    for (int i = 0; i < 50000; i++) {
        double a = (double)(rnd() % 100000 + 1), b = (double)(rnd() % 100000 + 1);
        round_trip(a / b);
        round_trip(a / b * 1e-6);
        ratios += 2;
    }
    /* powers of two and their neighbours (the narrower interval below a power of two) */
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1.0, e);
        round_trip(p);
        round_trip(nextafter(p, 0));
        round_trip(nextafter(p, INFINITY));
    }
    fprintf(stderr, "random round trips: %ld bit patterns, %ld decimals, %ld ratios\n", bits, decimals,
            ratios);
}

/* Text equal to json_dumps' (for trees without reals) under flags, or both NULL. */
static void same_as_jansson(const json_t *j, size_t flags, const char *what)
{
    char *a = json_dumps(j, flags);
    size_t len = 12345;
    char *b = sw_json_text(j, flags, &len);
    sw_test_checks++;
    if ((a == NULL) != (b == NULL) || (a && (strcmp(a, b) != 0 || len != strlen(a)))) {
        sw_test_failures++;
        fprintf(stderr, "%s (flags %#zx): json_dumps \"%s\", sw_json_text \"%s\"\n", what, flags,
                a ? a : "(null)", b ? b : "(null)");
    }
    free(a);
    free(b);
}

static const size_t flag_sets[] = {JSON_COMPACT,
                                   0,
                                   JSON_COMPACT | JSON_SORT_KEYS,
                                   JSON_COMPACT | JSON_ENSURE_ASCII,
                                   JSON_COMPACT | JSON_ESCAPE_SLASH,
                                   JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH,
                                   JSON_COMPACT | JSON_PRESERVE_ORDER};

static void all_flags(const json_t *j, const char *what)
{
    for (size_t i = 0; i < sizeof flag_sets / sizeof *flag_sets; i++)
        same_as_jansson(j, flag_sets[i], what);
}

static void strings(void)
{
    static const char *const samples[] = {
        "",
        "plain",
        "quote \" backslash \\ slash / done",
        "\b\f\n\r\t control \x01\x02\x1f and DEL \x7f",
        "caf\xc3\xa9 \xe2\x88\x92 \xe2\x80\xa8 \xef\xbf\xbf",   /* é − U+2028 U+FFFF */
        "emoji \xf0\x9f\x98\x80 and U+10FFFF \xf4\x8f\xbf\xbf", /* beyond the BMP */
        "GeV/c \xc2\xb1 \xce\xbc"
        "s", /* ± μ */
        "</script>",
    };
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        json_t *o = json_pack("{s:s, s:[s]}", "k", samples[i], samples[i], samples[i]);
        all_flags(o, samples[i]);
        json_decref(o);
    }
    /* an embedded NUL */
    json_t *nul = json_pack("[o]", json_stringn("a\0b", 3));
    all_flags(nul, "embedded NUL");
    json_decref(nul);

    /* random strings of the characters that matter */
    static const char *const pieces[] = {"a",
                                         "Z",
                                         "0",
                                         " ",
                                         "\"",
                                         "\\",
                                         "/",
                                         "\n",
                                         "\t",
                                         "\x01",
                                         "\x1f",
                                         "\x7f",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\xed\x9f\xbf"};
    for (int i = 0; i < 3000; i++) {
        char s[256];
        size_t n = 0;
        int len = (int)(rnd() % 24);
        for (int k = 0; k < len; k++) {
            const char *p = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
            memcpy(s + n, p, strlen(p));
            n += strlen(p);
        }
        s[n] = 0;
        json_t *o = json_object();
        json_object_set_new(o, s, json_stringn(s, n));
        json_object_set_new(o, "n", json_integer((json_int_t)(rnd() >> 1) - (json_int_t)(rnd() >> 1)));
        all_flags(o, "random string");
        json_decref(o);
    }

    /* invalid UTF-8 (smuggled past Jansson's own check): both refuse the whole text */
    static const char *const bad[] = {"\xff", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                      "\xc3", "a\xe2\x82"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *a = json_array();
        json_array_append_new(a, json_stringn_nocheck(bad[i], strlen(bad[i])));
        same_as_jansson(a, JSON_COMPACT, "invalid UTF-8");
        CHECK(sw_json_text(a, JSON_COMPACT, NULL) == NULL);
        json_decref(a);
    }
}

static void structure(void)
{
    /* key order: insertion order kept (and sorted with JSON_SORT_KEYS), nested containers */
    json_t *o = json_pack("{s:i, s:i, s:i, s:{s:[i, n, b, b, {}], s:[]}, s:I, s:I}", "zeta", 1, "alpha", 2,
                          "mid", 3, "nested", "list", 7, 1, 0, "empty", "min", (json_int_t)INT64_MIN, "max",
                          (json_int_t)INT64_MAX);
    all_flags(o, "nested");
    char *t = sw_json_text(o, JSON_COMPACT, NULL);
    CHECK_STR(t,
              "{\"zeta\":1,\"alpha\":2,\"mid\":3,\"nested\":{\"list\":[7,null,true,false,{}],\"empty\":[]},"
              "\"min\":-9223372036854775808,\"max\":9223372036854775807}");
    free(t);
    json_decref(o);

    /* reals inside a tree: the same tree as Jansson's, fewer digits */
    json_t *r = json_pack("{s:f, s:[f, f, f], s:{s:f, s:i}}", "dead_time", 0.0808, "values", 1.0 / 3, 3.0,
                          -0.0, "x", "y", 1e21, "i", 5);
    t = sw_json_text(r, JSON_COMPACT, NULL);
    CHECK_STR(t,
              "{\"dead_time\":0.0808,\"values\":[0.3333333333333333,3.0,-0.0],\"x\":{\"y\":1e21,\"i\":5}}");
    json_t *back = t ? json_loads(t, 0, NULL) : NULL;
    CHECK(back && json_equal(back, r));
    json_decref(back);
    free(t);
    t = sw_json_text(r, JSON_SORT_KEYS, NULL);
    CHECK_STR(t,
              "{\"dead_time\": 0.0808, \"values\": [0.3333333333333333, 3.0, -0.0], \"x\": {\"i\": 5, \"y\": "
              "1e21}}");
    free(t);
    json_decref(r);

    /* a bigger random tree with reals: parses back to an equal tree */
    json_t *big = json_array();
    for (int i = 0; i < 2000; i++) {
        double v = bits_double(rnd());
        json_array_append_new(big, isfinite(v) ? json_pack("{s:f, s:i, s:s}", "v", v, "i", i, "s", "x")
                                               : json_null());
    }
    t = sw_json_text(big, JSON_COMPACT, NULL);
    back = t ? json_loads(t, 0, NULL) : NULL;
    CHECK(back && json_equal(back, big));
    json_decref(back);
    free(t);
    json_decref(big);

    /* what Jansson refuses, refused too: a bare value without JSON_ENCODE_ANY */
    json_t *s = json_string("x");
    same_as_jansson(s, JSON_COMPACT, "bare string");
    same_as_jansson(s, JSON_COMPACT | JSON_ENCODE_ANY, "bare string, encode any");
    json_decref(s);
    json_t *f = json_real(2.5);
    t = sw_json_text(f, JSON_ENCODE_ANY, NULL);
    CHECK_STR(t, "2.5");
    free(t);
    CHECK(sw_json_text(f, 0, NULL) == NULL);
    json_decref(f);
    CHECK(sw_json_text(NULL, JSON_COMPACT, NULL) == NULL);

    /* flags it does not implement give NULL rather than a different text */
    json_t *e = json_array();
    CHECK(sw_json_text(e, JSON_INDENT(2), NULL) == NULL);
    CHECK(sw_json_text(e, JSON_COMPACT | JSON_REAL_PRECISION(7), NULL) == NULL);
    CHECK(sw_json_text(e, JSON_EMBED, NULL) == NULL);

    /* a tree that holds itself: NULL, not a crash */
    json_t *loop = json_array(), *inner = json_array();
    json_array_append(loop, inner);
    json_array_append(inner, loop);
    CHECK(sw_json_text(loop, JSON_COMPACT, NULL) == NULL);
    json_array_clear(inner);
    json_decref(inner);
    json_decref(loop);

    /* deep but legal nesting */
    json_t *deep = json_array(), *cur = deep;
    for (int i = 0; i < 500; i++) {
        json_t *n = json_array();
        json_array_append_new(cur, n);
        cur = n;
    }
    same_as_jansson(deep, JSON_COMPACT, "500 levels");
    json_decref(deep);
    json_decref(e);
}

/* A decimal-comma locale (when installed) changes neither the point nor the digits. */
static void comma_locale(void)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8",
                                        "ru_RU.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]) ? names[i] : NULL;
    char probe[8];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    if (!got || strcmp(probe, "1,5") != 0) {
        fprintf(stderr, "no decimal-comma locale installed: that part skipped\n");
        setlocale(LC_NUMERIC, "C");
        return;
    }
    char t[SW_JSON_REAL_LEN];
    sw_json_real_text(t, sizeof t, 0.0808);
    CHECK_STR(t, "0.0808");
    sw_json_real_text(t, sizeof t, 1.0 / 3);
    CHECK_STR(t, "0.3333333333333333");
    sw_json_real_text(t, sizeof t, 2.5e-7);
    CHECK_STR(t, "2.5e-7");
    for (int i = 0; i < 2000; i++) {
        double v = bits_double(rnd());
        if (!isfinite(v))
            continue;
        int n = sw_json_real_text(t, sizeof t, v);
        CHECK(n > 0 && strchr(t, ',') == NULL);
    }
    setlocale(LC_NUMERIC, "C");
    fprintf(stderr, "decimal-comma locale %s checked\n", got);
}

int main(void)
{
    edge_cases();
    random_doubles();
    strings();
    structure();
    comma_locale();
    return CHECK_DONE();
}
