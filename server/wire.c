/* wire.c — see wire.h: the body cut into lines under the limits, each line to the fast path
 * (wire_fast.c) or to the Jansson path (wire_record.c); wire_int.h has the files of the parser. */
#include <stdio.h>
#include <string.h>

#include "wire_int.h"

int sw_wire_parse(struct sw_batch *b, const char *body, size_t len, const struct sw_fields *fields,
                  const struct sw_wire_limits *lim, struct sw_wire_error *err)
{
    memset(err, 0, sizeof *err);
    sw_wire_set_width(b, fields->row_width);
    struct line_ctx lc = {.err = err};
    size_t pos = 0;
    int line = 0;
    while (pos < len) {
        const char *start = body + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        line++;
        lc.text = start;
        lc.len = n;
        lc.line = line;
        if (n > lim->line_max)
            return sw_wire_fail(&lc, SW_ETOOBIG, 0, "line of %zu bytes, at most %zu", n, lim->line_max);
        while (lc.len > 0 &&
               (lc.text[lc.len - 1] == '\r' || lc.text[lc.len - 1] == ' ' || lc.text[lc.len - 1] == '\t'))
            lc.len--;
        if (lc.len == 0)
            continue; /* blank lines (and the final newline) carry nothing */
        if (memchr(lc.text, '\0', lc.len))
            return sw_wire_fail(&lc, SW_EINVAL,
                                (int)((const char *)memchr(lc.text, '\0', lc.len) - lc.text) + 1,
                                "NUL byte inside a line");
        if (!lim->slow_only && sw_wire_fast_line(&lc, b, fields, lim))
            continue;
        if (sw_wire_parse_line(&lc, b, fields, lim))
            return -1;
    }
    if (b->nrecs == 0) {
        lc.line = 0;
        err->code = SW_EINVAL;
        snprintf(err->msg, sizeof err->msg, "empty body: expected NDJSON records");
        return -1;
    }
    return 0;
}
