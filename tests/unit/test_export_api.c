/* Unit tests of server/export_api.c: the ISO 8601 UTC times the exports print beside Unix times. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "export_api.h"

static void iso(double t, const char *want)
{
    char b[32];
    sw_export_iso_utc(t, b, sizeof b);
    CHECK_STR(b, want);
}

int main(void)
{
    iso(0, "1970-01-01T00:00:00.000Z");
    iso(1796230594.246, "2026-12-02T16:56:34.246Z");
    iso(1796230594.2409999, "2026-12-02T16:56:34.241Z"); /* a stored REAL rounds to its millisecond */
    iso(1796230599.9996, "2026-12-02T16:56:40.000Z");    /* the rounding carries into the second */
    iso(1709164800.5, "2024-02-29T00:00:00.500Z");       /* a leap day */
    iso(1735689599.999, "2024-12-31T23:59:59.999Z");
    iso(253402300799.0, "9999-12-31T23:59:59.000Z");
    /* nothing for what is not a time: NaN (unknown), infinities, before 1970, after 9999 */
    iso(NAN, "");
    iso(INFINITY, "");
    iso(-1, "");
    iso(253402300800.0, "");
    /* a short buffer is cut, never overrun */
    char s[8];
    sw_export_iso_utc(0, s, sizeof s);
    CHECK_INT(strlen(s), 7);
    return CHECK_DONE();
}
