/* numfmt.c — see numfmt.h */
#include "numfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUS "\xe2\x88\x92" /* U+2212 */

void sw_utf8_trim_cut(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--; /* continuation bytes */
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < need)
        s[i - 1] = 0;
}

int sw_num_unit_is_fraction(const char *unit)
{
    return unit && (strcmp(unit, "fraction") == 0 || strcmp(unit, "%") == 0);
}

/* Drops the trailing zeros of a decimal fraction ("2.500" -> "2.5", "3.0" -> "3"). */
static void trim_zeros(char *s)
{
    if (!strchr(s, '.'))
        return;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '0')
        s[--n] = 0;
    if (n > 0 && s[n - 1] == '.')
        s[--n] = 0;
}

/* a >= 0 to `digits` significant digits as a plain decimal (trailing zeros dropped when trim). */
static void plain(char *out, size_t len, double a, int digits, int trim)
{
    char e[40];
    snprintf(e, sizeof e, "%.*e", digits - 1, a); /* the exponent of the value as rounded */
    const char *x = strchr(e, 'e');
    long exp10 = x ? strtol(x + 1, NULL, 10) : 0;
    long decimals = digits - 1 - exp10;
    decimals = decimals < 0 ? 0 : decimals > 20 ? 20 : decimals;
    snprintf(out, len, "%.*f", (int)decimals, a);
    if (trim)
        trim_zeros(out);
}

/* "×10⁻⁵": a >= 0 below 10^-4 with its mantissa to `digits` significant digits. */
static void tiny(char *out, size_t len, double a, int digits, int trim)
{
    static const char *const sup[10] = {"\xe2\x81\xb0", "\xc2\xb9",     "\xc2\xb2",     "\xc2\xb3",
                                        "\xe2\x81\xb4", "\xe2\x81\xb5", "\xe2\x81\xb6", "\xe2\x81\xb7",
                                        "\xe2\x81\xb8", "\xe2\x81\xb9"};
    char e[40];
    snprintf(e, sizeof e, "%.*e", digits - 1, a);
    char *x = strchr(e, 'e');
    long exp10 = x ? strtol(x + 1, NULL, 10) : 0;
    if (x)
        *x = 0;
    if (trim)
        trim_zeros(e);
    char digs[24];
    snprintf(digs, sizeof digs, "%ld", labs(exp10));
    size_t n = (size_t)snprintf(out, len,
                                "%s\xc3\x97"
                                "10%s",
                                e, exp10 < 0 ? "\xe2\x81\xbb" : "");
    for (const char *d = digs; *d && n < len; d++)
        n += (size_t)snprintf(out + n, len - n, "%s", sup[*d - '0']);
}

/* The magnitude of v as text (num) and its suffix ("", "k", "M", "G", "T"); 1 when v is shown as
 * negative. */
static int parts(double v, int digits, char *num, size_t len, const char **suffix)
{
    static const struct {
        double scale, from;
        const char *name;
    } scales[] = {{1e12, 1e12, "T"}, {1e9, 1e9, "G"}, {1e6, 1e6, "M"}, {1e3, 1e4, "k"}};
    double a = fabs(v);
    int trim = digits < 0;
    digits = trim ? -digits : digits;
    digits = digits < 1 ? 1 : digits > 9 ? 9 : digits;
    *suffix = "";
    if (a == 0) {
        snprintf(num, len, "0");
        return 0;
    }
    if (a >= 1e4) {
        int k = 0;
        while (a < scales[k].from)
            k++;
        plain(num, len, a / scales[k].scale, digits, trim);
        if (k > 0 && atof(num) >= 1000) /* 999.96 k rounds to 1000 k: 1 M */
            plain(num, len, a / scales[--k].scale, digits, trim);
        *suffix = scales[k].name;
    } else if (a == floor(a))
        snprintf(num, len, "%.0f", a);
    else if (a < 1e-4)
        tiny(num, len, a, digits, trim);
    else
        plain(num, len, a, digits, trim);
    return v < 0 && strcmp(num, "0") != 0;
}

char *sw_num(char *buf, size_t len, double v, int digits)
{
    if (len == 0)
        return buf;
    if (isnan(v)) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, len, "%s\xe2\x88\x9e", v < 0 ? MINUS : ""); /* ∞ */
        return buf;
    }
    char num[SW_NUM_LEN];
    const char *suffix;
    int neg = parts(v, digits, num, sizeof num, &suffix);
    snprintf(buf, len, "%s%s%s%s", neg ? MINUS : "", num, *suffix ? " " : "", suffix);
    return buf;
}

char *sw_num_unit(char *buf, size_t len, double v, const char *unit, int digits)
{
    if (len == 0)
        return buf;
    if (sw_num_unit_is_fraction(unit)) {
        char n[SW_NUM_LEN];
        snprintf(buf, len, "%s %%", sw_num(n, sizeof n, 100 * v, digits));
        return buf;
    }
    if (!unit || !*unit || !isfinite(v))
        return sw_num(buf, len, v, digits);
    char num[SW_NUM_LEN];
    const char *suffix;
    int neg = parts(v, digits, num, sizeof num, &suffix);
    /* A long unit is cut to the caller's buffer (the length is looked at, so that GCC's
     * -Wformat-truncation, at -O3 with sw_num_signed inlined, does not fail the Release build). */
    if (snprintf(buf, len, "%s%s %s%s", neg ? MINUS : "", num, suffix, unit) >= (int)len)
        buf[len - 1] = 0;
    return buf;
}

char *sw_num_signed(char *buf, size_t len, double v, const char *unit, int digits)
{
    if (len == 0)
        return buf;
    char n[SW_NUM_LEN];
    sw_num_unit(n, sizeof n, fabs(v), unit, digits);
    const char *sign = isnan(v) ? "" : v > 0 ? "+" : v < 0 ? MINUS : "\xc2\xb1"; /* ± */
    snprintf(buf, len, "%s%s", sign, n);
    return buf;
}
