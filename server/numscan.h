/* numscan.h — the JSON number scanner of the wire parser's fast path (wire_fast.c): the text of one
 * number to the double strtod gives for it (correctly rounded, bit for bit) and, for an integer,
 * its int64 value, or "not mine" when it cannot be exact cheaply (the caller then leaves the line
 * to Jansson, whose strtod decides). Inline, because it is the parser's innermost loop.
 *
 * Accepted: integers of at most 18 digits (kind 1); reals (a fraction or an exponent, kind 2) of at
 * most 19 digits (the integer part's leading "0" not counted) whose decimal exponent q (the
 * exponent less the fraction's digits) is within ±22. Their value m·10^q is then in
 * [1e-22, 1e41]: no overflow, no subnormal. The short form (up to 7 integer and 7 fraction digits,
 * no exponent: nearly every number of a body) is one IEEE division m / 10^k of exact operands
 * (m < 2^53, 10^k <= 10^7), which is correctly rounded (Clinger's fast path). Every other real is
 * converted by the Eisel–Lemire method (a 64×128-bit product with a normalised power of five from
 * sw_numscan_pow5, numscan.c; fast_float and simdjson use it): with m below 2^64 and q within
 * [-27, 55] the product decides the rounding in every case (Mushtak & Lemire, "Fast number parsing
 * without fallback", 2023), and a product that would need more bits answers "not mine" all the
 * same. (Eisel–Lemire for the short form too measured slower than the division: bench/wire_scan.)
 *
 * Digits are read eight at a time (SWAR: one 8-byte load, a mask for the first non-digit, three
 * multiplications, one for up to four digits) while eight bytes are left before the end e (the
 * short form: while sixteen are left); closer to e they go one at a time. So the scanner never
 * reads at or past e and needs no padding of its input (the HTTP body buffers are left as they are).
 *
 * Threads: any (pure functions, a constant table). Tested by tests/unit/test_numscan.c against
 * strtod; bench/wire_scan times it against strtod. */
#ifndef SW_NUMSCAN_H
#define SW_NUMSCAN_H

#include <stdint.h>
#include <string.h>

/* 128-bit normalised powers 5^q, q = -22..22 (index q + 22): the high word first. For q >= 0 the
 * leading 128 bits of 5^q (exact), for q < 0 floor(2^b / 5^-q) + 1 with b such that the value has
 * 128 bits. */
extern const uint64_t sw_numscan_pow5[45][2];

__extension__ typedef unsigned __int128 sw_u128;

/* Digits from q on, up to eight, when eight bytes are readable there: their count (0..8) and value
 * (*v). The first non-digit byte is found from a per-byte flag (its top bit): x = byte ^ '0' is a
 * digit's value 0..9, and x + 0x76 sets the top bit exactly when x >= 10; a carry out of one byte can
 * flag the next one falsely, but only bytes past a non-digit, which do not count. */
static inline __attribute__((always_inline)) unsigned sw_numscan_eight(const char *q, uint64_t *v)
{
    uint64_t w;
    memcpy(&w, q, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    uint64_t x = w ^ UINT64_C(0x3030303030303030);
    uint64_t nd = ((x + UINT64_C(0x7676767676767676)) | x) & UINT64_C(0x8080808080808080);
    unsigned n = nd ? (unsigned)__builtin_ctzll(nd) >> 3 : 8;
    if (n == 0) {
        *v = 0;
        return 0;
    }
    if (n <= 4) { /* the same in 32 bits with one multiplication (most numbers are this short) */
        uint32_t y = (uint32_t)x << (32 - 8 * n);
        y = y * 10 + (y >> 8);
        *v = (y & 0xFF) * 100 + ((y >> 16) & 0xFF);
        return n;
    }
    x <<= 64 - 8 * n; /* the n digits to the top bytes, zeros below: the number 0...0d1..dn */
    x = x * 10 + (x >> 8);
    x = (((x & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32))) +
         (((x >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32)))) >>
        32;
    *v = x;
    return n;
}

/* The digits from *pp on folded into *m (mod 2^64: callers refuse the lengths where that wraps);
 * *pp moves past them; returns their count. */
static inline __attribute__((always_inline)) long sw_numscan_digits(const char **pp, const char *e,
                                                                    uint64_t *m)
{
    static const uint64_t p10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    const char *q = *pp;
    uint64_t v = *m, chunk;
    while (e - q >= 8) {
        unsigned n = sw_numscan_eight(q, &chunk);
        v = v * p10[n] + chunk;
        q += n;
        if (n < 8)
            goto done;
    }
    for (unsigned d; q < e && (d = (unsigned)(*q - '0')) < 10; q++)
        v = v * 10 + d;
done:
    *m = v;
    long n = q - *pp;
    *pp = q;
    return n;
}

/* m·10^q correctly rounded (m > 0, |q| <= 22, the sign from neg) into *out; 0 when the product
 * cannot decide (never within these bounds, kept as the guard fast_float keeps). */
static inline __attribute__((always_inline)) int sw_numscan_real(uint64_t m, int q, int neg, double *out)
{
    int lz = __builtin_clzll(m);
    m <<= lz;
    const uint64_t *t = sw_numscan_pow5[q + 22];
    sw_u128 p = (sw_u128)m * t[0];
    uint64_t hi = (uint64_t)(p >> 64), lo = (uint64_t)p;
    const uint64_t mask = UINT64_MAX >> 55; /* 52 mantissa bits + 3 */
    if ((hi & mask) == mask) {
        uint64_t h2 = (uint64_t)(((sw_u128)m * t[1]) >> 64);
        lo += h2;
        hi += h2 > lo;
        if (lo == UINT64_MAX)
            return 0;
    }
    int upper = (int)(hi >> 63), shift = upper + 9;
    uint64_t mant = hi >> shift;
    /* the binary exponent: floor(q·log2(10)) + 63 + upper - lz, biased by 1023 */
    int64_t power2 = (((152170 + 65536) * (int64_t)q) >> 16) + 63 + upper - lz + 1023;
    /* an exact halfway case (only for small q) rounds to even */
    if (lo <= 1 && q >= -4 && q <= 23 && (mant & 3) == 1 && (mant << shift) == hi)
        mant &= ~UINT64_C(1);
    mant += mant & 1;
    mant >>= 1;
    if (mant >= UINT64_C(2) << 52) {
        mant = UINT64_C(1) << 52;
        power2++;
    }
    mant &= ~(UINT64_C(1) << 52);
    uint64_t bits = mant | (uint64_t)power2 << 52 | (uint64_t)(neg != 0) << 63;
    memcpy(out, &bits, sizeof bits);
    return 1;
}

/* The number at *pp (no blanks before it) up to e: 1 for an integer (*iv, and *dv as Jansson's
 * json_number_value gives it), 2 for a real (*dv), *pp moved past it; 0 for anything else (*pp,
 * *dv and *iv untouched): not a number, or one this scanner does not take. */
static int sw_numscan_long(const char **pp, const char *e, double *dv, int64_t *iv);

static inline __attribute__((always_inline)) int sw_numscan(const char **pp, const char *e, double *dv,
                                                            int64_t *iv)
{
    static const uint64_t p10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
    const char *q = *pp;
    int neg = q < e && *q == '-';
    q += neg;
    /* The short form, nearly every number of a body: up to 7 integer digits, then nothing or a
     * fraction of 1-7 digits, no exponent; 16 bytes readable, so both 8-byte loads stay before e. */
    if (e - q >= 16) {
        uint64_t ip = 0, fp;
        unsigned n1 = *q == '0' ? 1 : sw_numscan_eight(q, &ip);
        if (n1 - 1 < 7 && (n1 == 1 || *q != '0')) {
            const char *r = q + n1;
            if (*r == '.') {
                unsigned n2 = sw_numscan_eight(r + 1, &fp);
                if (n2 - 1 < 7 && (r[1 + n2] | 0x20) != 'e') {
                    uint64_t m = ip * p10[n2] + fp;
                    if (m == 0)
                        *dv = neg ? -0.0 : 0.0;
                    else { /* m < 2^53 and 10^n2 exact: the quotient is correctly rounded */
                        static const double p10d[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};
                        double v = (double)m / p10d[n2];
                        *dv = neg ? -v : v;
                    }
                    *pp = r + 1 + n2;
                    return 2;
                }
            } else if ((*r | 0x20) != 'e') {
                *iv = neg ? -(int64_t)ip : (int64_t)ip;
                *dv = (double)*iv;
                *pp = r;
                return 1;
            }
        }
    }
    return sw_numscan_long(pp, e, dv, iv);
}

/* Every other number: the digits at any length, an exponent, the last bytes before e. Out of line,
 * as it is rare. */
__attribute__((noinline, unused)) static int sw_numscan_long(const char **pp, const char *e, double *dv,
                                                             int64_t *iv)
{
    const char *q = *pp;
    int neg = q < e && *q == '-';
    q += neg;
    if (q >= e || (unsigned)(*q - '0') >= 10)
        return 0;
    uint64_t m = 0;
    long digits = 0, exp10 = 0;
    int real = 0;
    if (*q == '0')
        q++; /* a leading zero stands alone: "01" is not JSON (the caller then finds no ',' or '}') */
    else
        digits = sw_numscan_digits(&q, e, &m);
    if (q < e && *q == '.') {
        real = 1;
        q++;
        long f = sw_numscan_digits(&q, e, &m);
        if (f == 0)
            return 0;
        digits += f;
        exp10 = -f;
    }
    if (q < e && (*q | 0x20) == 'e') {
        real = 1;
        q++;
        int eneg = q < e && *q == '-';
        q += q < e && (*q == '-' || *q == '+');
        if (q >= e || (unsigned)(*q - '0') >= 10)
            return 0;
        long ev = 0;
        for (; q < e && (unsigned)(*q - '0') < 10; q++)
            ev = ev < 1000 ? ev * 10 + (*q - '0') : ev;
        exp10 += eneg ? -ev : ev;
    }
    if (!real) {
        if (digits > 18)
            return 0;
        *iv = neg ? -(int64_t)m : (int64_t)m;
        *dv = (double)*iv;
        *pp = q;
        return 1;
    }
    if (digits > 19)
        return 0;
    if (m == 0)
        *dv = neg ? -0.0 : 0.0;
    else if (exp10 < -22 || exp10 > 22 || !sw_numscan_real(m, (int)exp10, neg, dv))
        return 0;
    *pp = q;
    return 2;
}

#endif
