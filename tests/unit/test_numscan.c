/* Unit tests of server/numscan.h: every number the scanner takes comes out bit for bit as strtod
 * gives it (correctly rounded), on random and edge-case texts; it takes every number of its
 * documented domain; it never reads at or past the end it is given (each text sits in a buffer of
 * exactly its length, so ASan sees any overread); and the table of powers of five is right. The wire
 * parser's fast path must agree with its Jansson path on the same numbers in a column. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "numscan.h"
#include "wire.h"
#include "wire_compare.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long taken, refused, mismatches;

/* The text's facts as the scanner's documentation states its domain: 1 when it is a JSON number
 * within the domain (*is_int: an integer), else 0. */
static int in_domain(const char *s, int *is_int)
{
    const char *p = s + (*s == '-');
    long digits = 0, frac = 0, ex = 0;
    int real = 0;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        for (; *p >= '0' && *p <= '9'; p++)
            digits++;
    else
        return 0;
    if (*p == '.') {
        real = 1;
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++, frac++;
        if (frac == 0)
            return 0;
    }
    if (*p == 'e' || *p == 'E') {
        real = 1;
        p++;
        int eneg = *p == '-';
        p += *p == '+' || *p == '-';
        if (*p < '0' || *p > '9')
            return 0;
        for (; *p >= '0' && *p <= '9'; p++)
            ex = ex < 100000 ? ex * 10 + (*p - '0') : ex;
        ex = eneg ? -ex : ex;
    }
    *is_int = !real;
    if (*p)
        return 0; /* not a JSON number ("01", "1e5.5") */
    if (!real)
        return digits <= 18;
    return digits <= 19 && ex - frac >= -22 && ex - frac <= 22;
}

/* One text, alone in a buffer of exactly its length and then followed by other bytes: what the scanner
 * takes (the whole text when it is a JSON number, else a prefix, which the caller then refuses) must
 * be strtod's double of the bytes it took (and, for an integer, strtoll's value, as Jansson's
 * json_number_value gives it: "-0" is 0); every text of the domain must be taken. */
static void one(const char *s)
{
    size_t n = strlen(s);
    int is_int = 0, dom = in_domain(s, &is_int);
    /* nothing after it, a short tail, and tails long enough for the scanner's 16-byte short form */
    static const char *const tails[] = {"", ",1]", ",-0.5,12345678901234567890]", "}                  ",
                                        "]],[0.25,null,1e5,7]"};
    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
        size_t tl = strlen(tails[t]);
        char *buf = malloc(n + tl + 1);
        memcpy(buf, s, n);
        memcpy(buf + n, tails[t], tl);
        const char *p = buf, *e = buf + n + tl;
        double d = 12345;
        int64_t iv = 777;
        int kind = sw_numscan(&p, e, &d, &iv);
        if (kind) {
            taken++;
            char text[80];
            size_t got = (size_t)(p - buf);
            snprintf(text, sizeof text, "%.*s", (int)got, buf);
            double want = strtod(text, NULL);
            int ok = got <= n && (!dom || got == n) && (!dom || kind == (is_int ? 1 : 2));
            if (kind == 1)
                ok = ok && iv == strtoll(text, NULL, 10) && d == (double)iv && (iv != 0 || !signbit(d));
            else
                ok = ok && memcmp(&d, &want, sizeof d) == 0;
            if (!ok) {
                mismatches++;
                if (mismatches < 20)
                    fprintf(stderr,
                            "numscan: \"%s\": kind %d, %.17g (%a), strtod %.17g (%a), %zu bytes read\n", s,
                            kind, d, d, want, want, got);
            }
        } else {
            refused++;
            if (p != buf || d != 12345 || iv != 777)
                mismatches++;
            if (dom) {
                mismatches++;
                if (mismatches < 20)
                    fprintf(stderr, "numscan: \"%s\" is in the domain but was refused\n", s);
            }
        }
        free(buf);
    }
}

static void test_edges(void)
{
    static const char *texts[] = {"0",
                                  "-0",
                                  "0.0",
                                  "-0.0",
                                  "0e0",
                                  "-0e-5",
                                  "0.000",
                                  "1",
                                  "-1",
                                  "9",
                                  "10",
                                  "123456789012345678",
                                  "-123456789012345678",
                                  "1234567890123456789",
                                  "0.1",
                                  "0.2",
                                  "0.3",
                                  "-0.003",
                                  "0.284",
                                  "160.5",
                                  "1e22",
                                  "1e23",
                                  "1e-22",
                                  "1e-23",
                                  "9.999999999999999999e22",
                                  "1.7976931348623157e308",
                                  "1e308",
                                  "1e309",
                                  "2.2250738585072014e-308",
                                  "2.2250738585072011e-308",
                                  "4.9406564584124654e-324",
                                  "5e-324",
                                  "2e-324",
                                  "1e-400",
                                  "-1e-400",
                                  "9007199254740993",
                                  "9007199254740993.0",
                                  "9007199254740992.5",
                                  "9007199254740993e0",
                                  "9007199254740995.0",
                                  "18014398509481989.0",
                                  "1.00000000000000011102230246251565404236316680908203125",
                                  "1.0000000000000001110223024625156540423631668090820312",
                                  "0.30000000000000004",
                                  "123.456e-3",
                                  "1E5",
                                  "1e+5",
                                  "1e-0",
                                  "12345678901234567890",
                                  "1234567890123456789e-3",
                                  "0.1234567890123456789",
                                  "0.12345678901234567891",
                                  "99999999999999999999",
                                  "4503599627370496.5",
                                  "4503599627370497.5",
                                  "2.5e-1",
                                  "1.5e0",
                                  "7.2057594037927933e16",
                                  "1e",
                                  "1e+",
                                  "-",
                                  "-a",
                                  "1.",
                                  ".5",
                                  "01",
                                  "-01",
                                  "1.e5",
                                  "1e5.5",
                                  "00",
                                  "1e1000000000000000000000",
                                  "0.00000000000000000001",
                                  "12345678.12345678",
                                  "1234567812345678",
                                  "99999999",
                                  "999999999",
                                  "88888888.8"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        one(texts[i]);
}

/* Random texts: 1-25 digits, the point anywhere or nowhere, an exponent or not (within ±25 mostly,
 * up to ±400 sometimes), a sign or not. */
static void test_random(void)
{
    char s[80];
    for (int r = 0; r < 400000; r++) {
        int nd = 1 + (int)(next() % (r % 4 == 0 ? 25 : 19));
        char digits[32];
        for (int i = 0; i < nd; i++)
            digits[i] = (char)('0' + next() % 10);
        if (r % 3 == 0)
            memset(digits + 1, next() % 2 ? '9' : '0', (size_t)(nd > 1 ? next() % (size_t)nd : 0)); /* runs */
        digits[nd] = 0;
        const char *d = digits;
        while (*d == '0' && d[1])
            d++; /* no leading zeros: "012" is not JSON */
        int len = (int)strlen(d), point = (int)(next() % (size_t)(len + 2)) - 1; /* -1: none */
        char *o = s;
        if (next() % 2)
            *o++ = '-';
        if (point <= 0 || point >= len) {
            o += sprintf(o, "%s", d);
            if (point == 0)
                o += sprintf(o, ".%u", (unsigned)(next() % 1000));
        } else if (d[0] == '0') {
            o += sprintf(o, "0.%s", d + 1);
        } else
            o += sprintf(o, "%.*s.%s", point, d, d + point);
        if (next() % 3 == 0) {
            int ex = (int)(next() % 51) - 25;
            if (next() % 8 == 0)
                ex = (int)(next() % 801) - 400;
            o += sprintf(o, "%c%s%d", next() % 2 ? 'e' : 'E', ex >= 0 && next() % 2 ? "+" : "", ex);
        }
        one(s);
    }
    /* the short forms of the detectors' data (the simulator writes %.3f, %.6g and integers) */
    for (int r = 0; r < 100000; r++) {
        double v = ((double)(int64_t)(next() % 2000001) - 1000000) * 1e-3 * (double)(1 + next() % 1000);
        snprintf(s, sizeof s, r % 2 ? "%.3f" : "%.6g", v);
        if (!strchr(s, 'e') && !strchr(s, 'n') && !strchr(s, 'i'))
            one(s);
    }
    /* halfway cases: odd integers between 2^53 and 2^54 lie halfway between two doubles (ties go to
     * even), and so do the numbers 2 mod 4 between 2^54 and 2^55 */
    for (int r = 0; r < 20000; r++) {
        uint64_t k = (UINT64_C(1) << 53) + (next() % (UINT64_C(1) << 53) | 1);
        snprintf(s, sizeof s, r % 3 == 0 ? "%llu" : r % 3 == 1 ? "%llu.0" : "%llue0", (unsigned long long)k);
        one(s);
        k = (UINT64_C(1) << 54) + ((next() % (UINT64_C(1) << 52)) << 2 | 2);
        snprintf(s, sizeof s, "%llu.0", (unsigned long long)k);
        one(s);
        snprintf(s, sizeof s, "%llu.%llue-3", (unsigned long long)(k / 1000), (unsigned long long)(k % 1000));
        one(s);
    }
    /* every double's shortest text, and its 17-digit one (the round trip of any double) */
    for (int r = 0; r < 100000; r++) {
        uint64_t bits = next();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        snprintf(s, sizeof s, "%.17g", v);
        one(s);
        snprintf(s, sizeof s, "%.15g", v * 1e-300 * 1e300);
        if (!strchr(s, 'n') && !strchr(s, 'i'))
            one(s);
    }
}

/* The table against 5^q computed here: exact for q >= 0; for q < 0, c - 1 = floor(2^b / 5^-q) with
 * c of 128 bits, i.e. a power of two lies in ((c - 1)·5^-q, c·5^-q]. */
static void test_table(void)
{
    for (int q = 0; q <= 22; q++) {
        sw_u128 c = 1;
        for (int i = 0; i < q; i++)
            c *= 5;
        while (!(c >> 127))
            c <<= 1;
        CHECK(sw_numscan_pow5[q + 22][0] == (uint64_t)(c >> 64) && sw_numscan_pow5[q + 22][1] == (uint64_t)c);
    }
    for (int q = -22; q < 0; q++) {
        uint64_t p = 1, hi = sw_numscan_pow5[q + 22][0], lo = sw_numscan_pow5[q + 22][1];
        for (int i = 0; i < -q; i++)
            p *= 5;
        CHECK(hi >> 63);
        /* X = c·p as three 64-bit limbs */
        sw_u128 a = (sw_u128)lo * p, b = (sw_u128)hi * p + (uint64_t)(a >> 64);
        uint64_t x0 = (uint64_t)a, x1 = (uint64_t)b, x2 = (uint64_t)(b >> 64);
        CHECK(x2 != 0);
        int top = 128 + 63 - __builtin_clzll(x2 | 1); /* X in [2^top, 2^(top + 1)) */
        int exact = x0 == 0 && x1 == 0 && (x2 & (x2 - 1)) == 0;
        /* Y = X - p below 2^top: its high limb's leading 1 lower, or the limb smaller */
        uint64_t borrow = x0 < p, y1 = x1 - borrow, y2 = x2 - (borrow && x1 == 0);
        int ytop = y2 ? 128 + 63 - __builtin_clzll(y2) : -1;
        CHECK(exact || ytop < top);
        (void)y1;
    }
}

/* A column of random numbers through the wire parser: the fast path takes the record and gives
 * what the Jansson path (strtod) gives, bit for bit. */
static void test_wire_column(void)
{
    struct sw_fields fields = {0};
    sw_fields_add(&fields, "trigger", 1);
    sw_fields_add(&fields, "p_in", 1);
    sw_fields_add(&fields, "cells", 8);
    const struct sw_wire_limits lim = {1 << 22, 32, 100000, 0}, slow = {1 << 22, 32, 100000, 1};
    size_t cap = 1 << 21, n = 0;
    char *body = malloc(cap);
    for (int round = 0; round < 4; round++) {
        int events = 2000;
        n = (size_t)sprintf(body, "{\"type\":\"events\",\"run\":1,\"spill\":1,\"columns\":{\"event\":[");
        for (int i = 0; i < events; i++)
            n += (size_t)sprintf(body + n, "%s%d", i ? "," : "", i);
        n += (size_t)sprintf(body + n, "],\"trigger\":[");
        for (int i = 0; i < events; i++)
            n += (size_t)sprintf(body + n, "%s\"beam\"", i ? "," : "");
        n += (size_t)sprintf(body + n, "],\"p_in\":[");
        for (int i = 0; i < events; i++) {
            double v = (double)(int64_t)(next() % 400000) * (round < 2 ? 1e-3 : 1.37e-4);
            n += (size_t)sprintf(body + n, round % 2 ? "%s%.3f" : "%s%.15g", i ? "," : "", v);
        }
        n += (size_t)sprintf(body + n, "],\"cells\":[");
        for (int i = 0; i < events; i++) {
            n += (size_t)sprintf(body + n, "%s[", i ? "," : "");
            for (int k = 0; k < 8; k++) {
                int64_t m = (int64_t)(next() % 20000) - 10000;
                if (k == 3 && i % 7 == 0)
                    n += (size_t)sprintf(body + n, "%snull", k ? "," : "");
                else
                    n += (size_t)sprintf(body + n, round % 2 ? "%s%.3f" : "%s%.17g", k ? "," : "",
                                         (double)m * 1e-3);
            }
            n += (size_t)sprintf(body + n, "]");
        }
        n += (size_t)sprintf(body + n, "]}}\n");
        struct sw_batch a = {0}, b = {0};
        struct sw_wire_error ea, eb;
        int ra = sw_wire_parse(&a, body, n, &fields, &lim, &ea),
            rb = sw_wire_parse(&b, body, n, &fields, &slow, &eb);
        CHECK_INT(ra, 0);
        CHECK_INT(a.fast, 1);
        CHECK_INT(a.events, events);
        const char *diff = sw_wire_compare(ra, &a, &ea, rb, &b, &eb);
        if (diff)
            fprintf(stderr, "round %d: fast and Jansson paths differ: %s\n", round, diff);
        CHECK(diff == NULL);
        sw_batch_release(&a);
        sw_batch_release(&b);
    }
    free(body);
}

int main(void)
{
    test_table();
    test_edges();
    test_random();
    fprintf(stderr, "numscan: %ld texts taken, %ld refused (left to Jansson)\n", taken, refused);
    CHECK_INT(mismatches, 0);
    CHECK(taken > refused);
    test_wire_column();
    return CHECK_DONE();
}
