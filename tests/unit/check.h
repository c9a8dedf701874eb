/* check.h — tiny assertion macros for the unit tests: a failure prints both sides and the place,
 * and the test binary exits non-zero at the end (every assertion still runs). */
#ifndef SW_TEST_CHECK_H
#define SW_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int sw_test_failures;
static int sw_test_checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        sw_test_checks++;                                                            \
        if (!(cond)) {                                                               \
            sw_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_INT(a, b)                                                                                    \
    do {                                                                                                   \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                              \
        sw_test_checks++;                                                                                  \
        if (va_ != vb_) {                                                                                  \
            sw_test_failures++;                                                                            \
            fprintf(stderr, "%s:%d: %s == %s: got %lld, expected %lld\n", __FILE__, __LINE__, #a, #b, va_, \
                    vb_);                                                                                  \
        }                                                                                                  \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                             \
    do {                                                                                                  \
        double va_ = (double)(a), vb_ = (double)(b);                                                      \
        sw_test_checks++;                                                                                 \
        if (!(fabs(va_ - vb_) <= (tol))) {                                                                \
            sw_test_failures++;                                                                           \
            fprintf(stderr, "%s:%d: %s ~ %s: got %.9g, expected %.9g (tol %g)\n", __FILE__, __LINE__, #a, \
                    #b, va_, vb_, (double)(tol));                                                         \
        }                                                                                                 \
    } while (0)

#define CHECK_STR(a, b)                                                                                   \
    do {                                                                                                  \
        const char *va_ = (a), *vb_ = (b);                                                                \
        sw_test_checks++;                                                                                 \
        if (!va_ || !vb_ || strcmp(va_, vb_) != 0) {                                                      \
            sw_test_failures++;                                                                           \
            fprintf(stderr, "%s:%d: %s == %s: got \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, #b, \
                    va_ ? va_ : "(null)", vb_ ? vb_ : "(null)");                                          \
        }                                                                                                 \
    } while (0)

/* Ends main(): prints the tally, returns the exit status. */
#define CHECK_DONE() \
    (fprintf(stderr, "%d checks, %d failed\n", sw_test_checks, sw_test_failures), sw_test_failures ? 1 : 0)

#endif
