/* jsonnum.c — see jsonnum.h: the shortest round-trip text of a double, and the serialiser of every
 * JSON answer (Jansson's output with each real as that text). */
#include "jsonnum.h"

#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the shortest text of a double ---- */

/* Writes the decimal of v at p, returns the characters written. */
static int put_exp(char *p, int v)
{
    char t[8];
    int n = 0, k = 0;
    unsigned u = v < 0 ? (unsigned)-v : (unsigned)v;
    if (v < 0)
        p[n++] = '-';
    do {
        t[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (k)
        p[n++] = t[--k];
    return n;
}

/* dig[0..n-1] (n <= 19) as the integer part of "DIGITSe<exp10>" parsed by strtod: that form has no
 * decimal point, so no locale can change how it parses. */
static int parses_back(const char *dig, int n, int exp10, double want)
{
    char t[40];
    memcpy(t, dig, (size_t)n);
    t[n] = 'e';
    t[n + 1 + put_exp(t + n + 1, exp10)] = 0;
    return strtod(t, NULL) == want;
}

/* Rounds the digits of d to n digits into out, upward when up: out keeps n digits, and *e grows by
 * one when 99..9 carries into 100..0. */
static void round_to(const char *d, int n, int up, char *out, int *e)
{
    memcpy(out, d, (size_t)n);
    if (!up)
        return;
    int i = n - 1;
    while (i >= 0 && out[i] == '9')
        out[i--] = '0';
    if (i >= 0) {
        out[i]++;
    } else {
        out[0] = '1'; /* 99..9 -> 100..0: one more decade */
        (*e)++;
    }
}

#define NDIG 19 /* digits printf gives: they fit a uint64_t */

static const uint64_t pow10u[] = {1,       10,       100,       1000,       10000,         100000,
                                  1000000, 10000000, 100000000, 1000000000, 10000000000ULL};

/* Whether a candidate parses back to a (> 0, normal, not a power of two): decided from its distance
 * to the NDIG-digit text x when that is clear by a margin, else by strtod. dist is |candidate - x|
 * in units of x's last digit; half_ulp is half a ulp of a in the same units; the true a lies within
 * 0.5 of x (printf rounds correctly). */
static int candidate_ok(const char *c, int n, int ce, double dist, double half_ulp, double a)
{
    if (dist + 0.5 < half_ulp * (1 - 1e-9))
        return 1;
    if (dist - 0.5 > half_ulp * (1 + 1e-9))
        return 0;
    return parses_back(c, n, ce - (n - 1), a);
}

/* Digits of the shortest decimal that parses back to a (> 0, finite) into dig (no trailing zero),
 * their count returned, *e10 the decimal exponent of the first digit. */
static int shortest_digits(double a, char *dig, int *e10)
{
    char t[48];
    snprintf(t, sizeof t, "%.*e", NDIG - 1, a); /* d.ddd...e±XX, correctly rounded by glibc */
    char d[NDIG];
    int k = 0;
    const char *p = t;
    for (; *p && *p != 'e' && *p != 'E'; p++)
        if (*p >= '0' && *p <= '9' && k < NDIG)
            d[k++] = *p; /* skips the decimal point, whatever the locale makes it */
    int e = *p ? atoi(p + 1) : 0;
    while (k < NDIG)
        d[k++] = '0';

    int bin, n = 17, ce = e;
    double m = frexp(a, &bin);
    char c[NDIG];
    if (a < DBL_MIN || m == 0.5) {
        /* subnormal (fewer significant bits) or a power of two (a narrower interval below): no bound,
         * every length is tried by strtod from one digit up, the nearer neighbour first */
        for (int len = 1; len <= 17; len++) {
            int nearer = d[len] >= '5';
            for (int pass = 0; pass < 2; pass++) {
                int te = e;
                round_to(d, len, pass ? !nearer : nearer, c, &te);
                if (parses_back(c, len, te - (len - 1), a)) {
                    n = len, ce = te;
                    memcpy(dig, c, (size_t)len);
                    goto strip;
                }
            }
        }
    }
    {
        uint64_t x = 0;
        for (int i = 0; i < NDIG; i++)
            x = x * 10 + (uint64_t)(d[i] - '0');
        /* a ulp of a is 2^(bin-53), a = m 2^bin: in units of x's last digit it is x 2^-53 / m */
        double half_ulp = (double)x * 0x1p-54 / m;

        /* n = 15: if any text of 15 digits or fewer parses back, the 15-digit rounding does (15-digit
         * decimals are spaced wider than a ulp). n = 15, 16, 17: the nearest n-digit decimal of a is
         * the rounding of x, except on an apparent tie of x (then printf rounds a itself); the interval
         * that parses back is symmetric around a (powers of two were handled above), so the nearest is
         * the one to try. n = 17: the nearest 17-digit decimal always parses back. */
        for (n = 15; n <= 17; n++) {
            uint64_t unit = pow10u[NDIG - n], tail = x % unit;
            int te = e;
            if (2 * tail == unit) {
                /* x is itself rounded: on an apparent tie the true a may lie on either side, so the
                 * n-digit text comes from printf, correctly rounded from a (the nearest n-digit
                 * decimal, as Python's repr and JavaScript choose among texts that parse back). */
                char u[48];
                snprintf(u, sizeof u, "%.*e", n - 1, a);
                int nc = 0;
                const char *q = u;
                for (; *q && *q != 'e' && *q != 'E'; q++)
                    if (*q >= '0' && *q <= '9' && nc < n)
                        c[nc++] = *q;
                te = *q ? atoi(q + 1) : 0;
                if (n == 17 || parses_back(c, n, te - (n - 1), a)) {
                    ce = te;
                    memcpy(dig, c, (size_t)n);
                    goto strip;
                }
                continue;
            }
            /* the nearest n-digit decimal: if it does not parse back, the farther one cannot */
            int up = 2 * tail > unit;
            round_to(d, n, up, c, &te);
            if (n == 17 || candidate_ok(c, n, te, (double)(up ? unit - tail : tail), half_ulp, a)) {
                ce = te;
                memcpy(dig, c, (size_t)n);
                goto strip;
            }
        }
    }
strip:
    *e10 = ce;
    while (n > 1 && dig[n - 1] == '0')
        n--;
    return n;
}

int sw_json_real_text(char *buf, size_t len, double v)
{
    if (!isfinite(v) || len < SW_JSON_REAL_LEN)
        return -1;
    char *p = buf;
    if (signbit(v))
        *p++ = '-';
    if (v == 0) {
        memcpy(p, "0.0", 4);
        return (int)(p - buf) + 3;
    }
    char dig[NDIG];
    int e;
    int n = shortest_digits(fabs(v), dig, &e);
    if (e >= -4 && e < 17) {
        /* positional, as Jansson's %.17g writes these magnitudes: 0.0001, 12.5, 1e16 as 10000000000000000.0
         */
        if (e < 0) {
            *p++ = '0';
            *p++ = '.';
            for (int i = -1; i > e; i--)
                *p++ = '0';
            memcpy(p, dig, (size_t)n);
            p += n;
        } else {
            int ip = e + 1; /* digits before the point */
            for (int i = 0; i < ip; i++)
                *p++ = i < n ? dig[i] : '0';
            *p++ = '.';
            if (n > ip) {
                memcpy(p, dig + ip, (size_t)(n - ip));
                p += n - ip;
            } else {
                *p++ = '0';
            }
        }
    } else {
        /* exponent form without '+' or leading zeros, as Jansson strips them: 1e17, 2.5e-7 */
        *p++ = dig[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, dig + 1, (size_t)(n - 1));
            p += n - 1;
        }
        *p++ = 'e';
        p += put_exp(p, e);
    }
    *p = 0;
    return (int)(p - buf);
}

/* ---- the serialiser ---- */

struct out {
    char *p;
    size_t len, cap;
    int fail;
};

static int grow(struct out *o, size_t need)
{
    if (o->fail)
        return -1;
    if (o->len + need <= o->cap)
        return 0;
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + need)
        cap *= 2;
    char *q = realloc(o->p, cap);
    if (!q) {
        o->fail = 1;
        return -1;
    }
    o->p = q;
    o->cap = cap;
    return 0;
}

static void put(struct out *o, const char *s, size_t n)
{
    if (n && grow(o, n) == 0) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
    }
}

static void put1(struct out *o, char ch)
{
    if (grow(o, 1) == 0)
        o->p[o->len++] = ch;
}

/* The length of the well-formed UTF-8 sequence at s (as Jansson's utf8_iterate: no overlong form, no
 * surrogate, nothing above U+10FFFF) with its code point, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t left, int32_t *cp)
{
    unsigned char b = s[0];
    size_t n;
    int32_t v;
    if (b >= 0xC2 && b <= 0xDF)
        n = 2, v = b & 0x1F;
    else if (b >= 0xE0 && b <= 0xEF)
        n = 3, v = b & 0x0F;
    else if (b >= 0xF0 && b <= 0xF4)
        n = 4, v = b & 0x07;
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static void put_u(struct out *o, unsigned v)
{
    static const char hex[] = "0123456789ABCDEF";
    char s[6] = {'\\', 'u', hex[(v >> 12) & 15], hex[(v >> 8) & 15], hex[(v >> 4) & 15], hex[v & 15]};
    put(o, s, 6);
}

/* A string as Jansson writes it: \" \\ \b \f \n \r \t, other control characters as \u00XX, '/' as \/
 * with JSON_ESCAPE_SLASH, non-ASCII as \uXXXX (surrogate pairs beyond the BMP) with JSON_ENSURE_ASCII;
 * everything else byte for byte. Invalid UTF-8 fails the whole text, as in Jansson. */
static void put_string(struct out *o, const char *str, size_t len, size_t flags)
{
    const unsigned char *s = (const unsigned char *)str;
    put1(o, '"');
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < len && !o->fail;) {
        unsigned char b = s[i];
        if (b >= 0x20 && b != '"' && b != '\\' && b < 0x80 && !(b == '/' && (flags & JSON_ESCAPE_SLASH))) {
            i++;
            continue;
        }
        if (b >= 0x80) {
            int32_t cp;
            size_t n = utf8_seq(s + i, len - i, &cp);
            if (!n) {
                o->fail = 1;
                return;
            }
            if (!(flags & JSON_ENSURE_ASCII)) {
                i += n;
                continue;
            }
            put(o, str + run, i - run);
            if (cp < 0x10000) {
                put_u(o, (unsigned)cp);
            } else {
                cp -= 0x10000;
                put_u(o, 0xD800 | (unsigned)((cp & 0xFFC00) >> 10));
                put_u(o, 0xDC00 | (unsigned)(cp & 0x3FF));
            }
            i += n;
            run = i;
            continue;
        }
        put(o, str + run, i - run);
        switch (b) {
        case '"':
            put(o, "\\\"", 2);
            break;
        case '\\':
            put(o, "\\\\", 2);
            break;
        case '/':
            put(o, "\\/", 2);
            break;
        case '\b':
            put(o, "\\b", 2);
            break;
        case '\f':
            put(o, "\\f", 2);
            break;
        case '\n':
            put(o, "\\n", 2);
            break;
        case '\r':
            put(o, "\\r", 2);
            break;
        case '\t':
            put(o, "\\t", 2);
            break;
        default:
            put_u(o, b);
            break;
        }
        i++;
        run = i;
    }
    put(o, str + run, len - run);
    put1(o, '"');
}

static void put_int(struct out *o, json_int_t v)
{
    char t[24], *q = t + sizeof t;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    put(o, q, (size_t)(t + sizeof t - q));
}

struct keyref {
    const char *key;
    size_t len;
    json_t *value;
};

static int keyref_cmp(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

#define SW_JSON_MAX_DEPTH 2048 /* also what stops a tree that contains itself */

static void put_value(struct out *o, const json_t *j, size_t flags, int depth)
{
    if (o->fail)
        return;
    if (!j || depth > SW_JSON_MAX_DEPTH) {
        o->fail = 1;
        return;
    }
    const char *comma = (flags & JSON_COMPACT) ? "," : ", ";
    const char *colon = (flags & JSON_COMPACT) ? ":" : ": ";
    size_t clen = (flags & JSON_COMPACT) ? 1 : 2;
    switch (json_typeof(j)) {
    case JSON_NULL:
        put(o, "null", 4);
        break;
    case JSON_TRUE:
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_INTEGER:
        put_int(o, json_integer_value(j));
        break;
    case JSON_REAL: {
        char t[SW_JSON_REAL_LEN];
        int n = sw_json_real_text(t, sizeof t, json_real_value(j));
        if (n < 0)
            o->fail = 1; /* Jansson cannot hold NaN or infinities either */
        else
            put(o, t, (size_t)n);
        break;
    }
    case JSON_STRING:
        put_string(o, json_string_value(j), json_string_length(j), flags);
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        put1(o, '[');
        for (size_t i = 0; i < n && !o->fail; i++) {
            if (i)
                put(o, comma, clen);
            put_value(o, json_array_get(j, i), flags, depth + 1);
        }
        put1(o, ']');
        break;
    }
    case JSON_OBJECT: {
        put1(o, '{');
        if (flags & JSON_SORT_KEYS) {
            size_t n = json_object_size(j), i = 0;
            struct keyref *keys = n ? malloc(n * sizeof *keys) : NULL;
            if (n && !keys) {
                o->fail = 1;
                return;
            }
            for (void *it = json_object_iter((json_t *)j); it && i < n;
                 it = json_object_iter_next((json_t *)j, it), i++)
                keys[i] = (struct keyref){json_object_iter_key(it), json_object_iter_key_len(it),
                                          json_object_iter_value(it)};
            if (i > 1)
                qsort(keys, i, sizeof *keys, keyref_cmp);
            for (size_t k = 0; k < i && !o->fail; k++) {
                if (k)
                    put(o, comma, clen);
                put_string(o, keys[k].key, keys[k].len, flags);
                put(o, colon, clen);
                put_value(o, keys[k].value, flags, depth + 1);
            }
            free(keys);
        } else {
            int first = 1;
            for (void *it = json_object_iter((json_t *)j); it && !o->fail;
                 it = json_object_iter_next((json_t *)j, it)) {
                if (!first)
                    put(o, comma, clen);
                first = 0;
                put_string(o, json_object_iter_key(it), json_object_iter_key_len(it), flags);
                put(o, colon, clen);
                put_value(o, json_object_iter_value(it), flags, depth + 1);
            }
        }
        put1(o, '}');
        break;
    }
    default:
        o->fail = 1;
    }
}

#define SW_JSON_TEXT_FLAGS                                                                         \
    (JSON_COMPACT | JSON_SORT_KEYS | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH | \
     JSON_ENCODE_ANY)

char *sw_json_text(const json_t *j, size_t flags, size_t *len)
{
    if (!j || (flags & ~(size_t)SW_JSON_TEXT_FLAGS) ||
        (!(flags & JSON_ENCODE_ANY) && !json_is_object(j) && !json_is_array(j)))
        return NULL;
    struct out o = {0};
    put_value(&o, j, flags, 0);
    put1(&o, 0);
    if (o.fail) {
        free(o.p);
        return NULL;
    }
    if (len)
        *len = o.len - 1;
    return o.p;
}
