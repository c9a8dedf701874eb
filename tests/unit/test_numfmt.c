/* Unit tests of server/numfmt.c: numbers for a reader, without exponent notation. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "numfmt.h"

#define M "\xe2\x88\x92" /* − */

static void num(double v, int digits, const char *want)
{
    char b[SW_NUM_LEN];
    CHECK_STR(sw_num(b, sizeof b, v, digits), want);
}

static void unit(double v, const char *u, int digits, const char *want)
{
    char b[SW_NUM_LEN];
    CHECK_STR(sw_num_unit(b, sizeof b, v, u, digits), want);
}

static void sgn(double v, const char *u, int digits, const char *want)
{
    char b[SW_NUM_LEN];
    CHECK_STR(sw_num_signed(b, sizeof b, v, u, digits), want);
}

int main(void)
{
    /* significant digits, trailing zeros kept: a measured value shows its precision */
    num(164.3149, 4, "164.3");
    num(0.0208333, 3, "0.0208");
    num(0.05, 3, "0.0500");
    num(2.4, 3, "2.40");
    num(9.9996, 4, "10.00"); /* rounding carries into the next decade */
    num(0.99999, 3, "1.00");
    num(0, 4, "0");
    num(-0.0, 4, "0");
    num(-9.84, 3, M "9.84");
    num(7, 4, "7");
    num(1234, 3, "1234"); /* integers below 10^4 exactly */
    num(1234.6, 3, "1235");
    num(9999.4, 3, "9999");
    num(2.1e6, 3, "2.10 M");
    num(5e-5, 3,
        "5.00\xc3\x97"
        "10\xe2\x81\xbb\xe2\x81\xb5");
    /* with -digits: at most that many, trailing zeros dropped (a limit as written) */
    num(159.1, -4, "159.1");
    num(0.05, -4, "0.05");
    num(0.8, -4, "0.8");
    num(1.43, -3, "1.43");
    num(9.9996, -4, "10");
    num(0.0003, -4, "0.0003");
    num(0.0001, -4, "0.0001");
    /* large values: k from 10^4, M, G, T */
    num(3e6, -4, "3 M");
    num(2.1e6, -4, "2.1 M");
    num(2123456, 3, "2.12 M");
    num(3e5, -4, "300 k");
    num(12345, 3, "12.3 k");
    num(2e7, -4, "20 M");
    num(999960, -4, "1 M"); /* 999.96 k rounds to 1000 k: one suffix up */
    num(999960, 3, "1.00 M");
    num(4.2e9, -4, "4.2 G");
    num(-1.5e12, -4, M "1.5 T");
    num(3e15, -4, "3000 T");
    /* tiny ones */
    num(5e-5, -4,
        "5\xc3\x97"
        "10\xe2\x81\xbb\xe2\x81\xb5"); /* 5×10⁻⁵ */
    num(-1.25e-12, 3,
        M "1.25\xc3\x97"
          "10\xe2\x81\xbb\xc2\xb9\xc2\xb2"); /* −1.25×10⁻¹² */
    /* not finite */
    num(NAN, 4, "n/a");
    num(INFINITY, 4, "\xe2\x88\x9e");
    num(-INFINITY, 4, M "\xe2\x88\x9e");
    /* no number ever reads like 3e+06 or 1.00e+3 */
    char b[SW_NUM_LEN];
    for (double v = 1e-3; v < 1e15; v *= 1.37) {
        sw_num(b, sizeof b, v, 3);
        CHECK(strchr(b, 'e') == NULL && strchr(b, 'E') == NULL);
        sw_num(b, sizeof b, 999.99 * v, -3);
        CHECK(strchr(b, 'e') == NULL);
    }

    /* units: a suffix joins the unit; fractions as percentages */
    unit(164.3149, "GeV/c", 4, "164.3 GeV/c");
    unit(12500, "Hz", 3, "12.5 kHz");
    unit(2.1e6, "", -4, "2.1 M");
    unit(2.1e6, NULL, -4, "2.1 M");
    unit(0.35, "fraction", 2, "35 %");
    unit(0.001, "fraction", -3, "0.1 %");
    unit(0.0415, "%", 3, "4.15 %");
    unit(NAN, "GeV", 3, "n/a");
    CHECK(sw_num_unit_is_fraction("fraction"));
    CHECK(!sw_num_unit_is_fraction("GeV"));
    CHECK(!sw_num_unit_is_fraction(NULL));

    /* signed differences */
    sgn(5.2149, "GeV/c", 2, "+5.2 GeV/c");
    sgn(-9.84, "GeV/c", 2, M "9.8 GeV/c");
    sgn(0, "ns", 3,
        "\xc2\xb1"
        "0 ns");
    sgn(0.12, "fraction", 2, "+12 %");
    sgn(1.6, "GeV/c", -4, "+1.6 GeV/c");
    sgn(2.0001, "ns", 3, "+2.00 ns");

    /* a text cut inside a UTF-8 sequence loses the partial sequence, a whole one stays */
    char t[16];
    snprintf(t, sizeof t, "ab\xe2\x88");
    sw_utf8_trim_cut(t);
    CHECK_STR(t, "ab");
    snprintf(t, sizeof t, "ab\xe2\x88\x92");
    sw_utf8_trim_cut(t);
    CHECK_STR(t, "ab\xe2\x88\x92");
    snprintf(t, sizeof t, "\xc3");
    sw_utf8_trim_cut(t);
    CHECK_STR(t, "");
    snprintf(t, sizeof t, "x\xc3\x97");
    sw_utf8_trim_cut(t);
    CHECK_STR(t, "x\xc3\x97");
    snprintf(t, sizeof t, "plain");
    sw_utf8_trim_cut(t);
    CHECK_STR(t, "plain");

    /* a short buffer is cut, never overrun */
    char s[4];
    sw_num(s, sizeof s, 123456.0, 4);
    CHECK_INT(strlen(s), 3);
    return CHECK_DONE();
}
