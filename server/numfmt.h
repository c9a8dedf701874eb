/* numfmt.h — numbers as a reader sees them, in the reasons of a verdict and in messages meant for a
 * person: significant digits without exponent notation, the suffixes k, M, G, T from 10^4 on (as
 * fmt() of www/lib.js), "×10⁻⁵" for tiny values, and U+2212 (−) as the minus sign. The text is
 * UTF-8. Numbers that a program reads (JSON, CSV, metrics) are never formatted here. Pure, no
 * state; any thread.
 *
 * Every function writes at most len bytes (NUL included) into buf and returns buf, so that calls can
 * stand as arguments of one snprintf; a buffer of SW_NUM_LEN bytes always holds the whole text.
 * digits > 0 keeps trailing zeros (a measured value shows its precision: "0.0500"); -digits gives at
 * most that many, trailing zeros dropped (a limit as it is written: "0.8", "20 M").
 */
#ifndef SW_NUMFMT_H
#define SW_NUMFMT_H

#include <stddef.h>

#define SW_NUM_LEN 48

/* v to `digits` (1..9) significant digits, trailing zeros kept as a measured value shows its
 * precision: "164.3", "0.0500", "2.10 M", "5.00×10⁻⁵", "−9.8"; with -digits at most that many,
 * trailing zeros dropped, as a limit is written: "0.8", "20 M", "300 k". An integer below 10^4 is
 * exact ("7", "1234"); "n/a" for NaN, "∞"/"−∞" for infinities. */
char *sw_num(char *buf, size_t len, double v, int digits);

/* The same with a unit: "164.3 GeV/c", "12.5 kHz" (a suffix joins the unit), "2.1 M" (no unit);
 * unit "fraction" or "%" (a value given as a fraction) shows as a percentage: 0.35 -> "35 %".
 * unit NULL or "" shows none. */
char *sw_num_unit(char *buf, size_t len, double v, const char *unit, int digits);

/* A signed difference with its unit: "+5.2 GeV/c", "−9.8 GeV/c", "±0 GeV/c". */
char *sw_num_signed(char *buf, size_t len, double v, const char *unit, int digits);

/* 1 when unit is shown as a percentage ("fraction", "%"). */
int sw_num_unit_is_fraction(const char *unit);

/* A text cut at its buffer's end (snprintf) may end inside a UTF-8 sequence (× – ± −): drops that
 * partial sequence, so that the text stays valid for JSON. Text that ends whole is left alone. */
void sw_utf8_trim_cut(char *s);

#endif
