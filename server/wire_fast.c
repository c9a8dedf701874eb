/* wire_fast.c — the fast path of the wire parser (wire_int.h): `event` and `events` records of the
 * plain form read straight into rows by a hand-written scanner. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "numscan.h"
#include "wire_int.h"

/* ---- fast path ----
 * Event records are nearly all the bytes of a body. Jansson builds a tree of each (an allocation per
 * value, strtod per number) only for the Jansson path (wire_record.c) to copy the numbers out again; the fast
 * path reads `event` and `events` records straight into rows. It takes only the plain form — strings of
 * printable ASCII without escapes, numbers that numscan.h takes (strtod's double, bit for bit), no objects
 * inside unknown fields — and answers 0 ("not mine") for anything else, every error included. The line then
 * goes through Jansson (sw_wire_parse_line), which gives the same result or the error, as before. So the fast
 * path accepts nothing the Jansson path refuses and has no error messages of its own; it writes rows
 * only past b->nrows and commits a record only when the whole line was read (tests/unit/test_wire.c
 * and the fuzz target compare both paths). */

struct cur {
    const char *p, *e;
};

static void skip_ws(struct cur *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int eat(struct cur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->e && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A string of printable ASCII without escapes: its bytes are [*s, *s + *n). */
static int plain_string(struct cur *c, const char **s, size_t *n)
{
    if (!eat(c, '"'))
        return 0;
    const char *q = c->p;
    while (q < c->e && *q >= 0x20 && *q < 0x7f && *q != '"' && *q != '\\')
        q++;
    if (q >= c->e || *q != '"')
        return 0;
    *s = c->p;
    *n = (size_t)(q - c->p);
    c->p = q + 1;
    return 1;
}

/* A JSON number after any blanks (numscan.h): 1 for an integer, 2 for a real, 0 for anything the
 * scanner leaves to Jansson. */
__attribute__((noinline)) static int number(struct cur *c, double *dv, int64_t *iv)
{
    skip_ws(c);
    return sw_numscan(&c->p, c->e, dv, iv);
}

static int literal(struct cur *c, const char *word)
{
    skip_ws(c);
    if (c->p >= c->e || *c->p != word[0]) /* the common answer, without strlen and memcmp */
        return 0;
    size_t n = strlen(word);
    if ((size_t)(c->e - c->p) < n || memcmp(c->p, word, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* Any value but an object (a nested object would need Jansson's duplicate-key check), arrays nested
 * up to depth levels. *null is set when it was null. */
static int skip_value(struct cur *c, int depth, int *null)
{
    double d;
    int64_t i;
    const char *s;
    size_t n;
    *null = 0;
    skip_ws(c);
    if (c->p >= c->e)
        return 0;
    switch (*c->p) {
    case '"':
        return plain_string(c, &s, &n);
    case 'n':
        return (*null = literal(c, "null"));
    case 't':
        return literal(c, "true");
    case 'f':
        return literal(c, "false");
    case '[': {
        c->p++;
        if (eat(c, ']'))
            return 1;
        int inner;
        do
            if (depth <= 0 || !skip_value(c, depth - 1, &inner))
                return 0;
        while (eat(c, ','));
        return eat(c, ']');
    }
    default:
        return number(c, &d, &i) != 0;
    }
}

/* One element of a measurement array into *slot: null (left missing) or a number. The plain case
 * (a number with no blank before it) is scanned inline, the rest as before. */
static inline __attribute__((always_inline)) int element(struct cur *c, double *slot)
{
    int64_t i;
    if (c->p >= c->e || *c->p == 'n' || *c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n') {
        skip_ws(c);
        if (c->p < c->e && *c->p == 'n')
            return literal(c, "null");
    }
    return sw_numscan(&c->p, c->e, slot, &i) != 0;
}

/* After an element: 1 at ',' (eaten), 0 at ']' (eaten), -1 for anything else. Blanks are skipped
 * only when the next byte is not one of the two. */
static inline __attribute__((always_inline)) int next_element(struct cur *c)
{
    if (c->p < c->e && *c->p == ',') {
        c->p++;
        return 1;
    }
    if (c->p < c->e && *c->p == ']') {
        c->p++;
        return 0;
    }
    return eat(c, ',') ? 1 : eat(c, ']') ? 0 : -1;
}

/* Where the ',' and ']' are in the 64 bytes from base (bit i: base[i]), for the elements of a column
 * or an array. Each number then ends where the map says, not where its own digits end: the next
 * element's start waits only for a bit search, not for the scan of this number (the scan of one
 * number after another was a chain of dependent loads, one number's latency each). */
struct seps {
    const char *base; /* NULL: none yet */
    uint64_t bits;
};

static inline uint64_t sep_bits(const char *p)
{
    uint64_t r = 0;
#ifdef __SSE2__
    for (int i = 0; i < 4; i++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        __m128i m =
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')), _mm_cmpeq_epi8(v, _mm_set1_epi8(']')));
        r |= (uint64_t)(unsigned)_mm_movemask_epi8(m) << (16 * i);
    }
#else
    for (int i = 0; i < 64; i++)
        r |= (uint64_t)(p[i] == ',' || p[i] == ']') << i;
#endif
    return r;
}

/* The element at c->p when it is a number that ends right at the next ',' or ']' of the map: 1 with
 * *slot set and c->p at that separator. 0 otherwise (a null, blanks, the last 64 bytes of the line,
 * anything else: c->p unchanged, and the caller reads the element the general way). */
static inline __attribute__((always_inline)) int mapped_number(struct cur *c, struct seps *sp, double *slot)
{
    const char *p = c->p;
    if (!sp->base || (size_t)(p - sp->base) >= 48) {
        if (c->e - p < 64)
            return 0;
        sp->base = p;
        sp->bits = sep_bits(p);
    }
    uint64_t b = sp->bits >> (p - sp->base);
    if (!b)
        return 0;
    const char *end = p + __builtin_ctzll(b), *q = p;
    int64_t i;
    if (!sw_numscan(&q, c->e, slot, &i) || q != end)
        return 0;
    c->p = end;
    return 1;
}

/* A measurement value into the slot of field f: null, a number (width 1), or an array of up to
 * width numbers and nulls (width > 1); all finite by construction. sp: the separator map of the
 * caller's column (or a fresh one). */
static int fast_value(struct cur *c, const struct sw_fields *fields, int f, double *row, struct seps *sp)
{
    double *slot = row + fields->offset[f];
    int w = fields->width[f];
    if (w == 1)
        return mapped_number(c, sp, slot) || element(c, slot);
    skip_ws(c);
    if (c->p < c->e && *c->p == 'n')
        return literal(c, "null");
    if (!eat(c, '['))
        return 0;
    if (eat(c, ']'))
        return 1;
    for (int k = 0;; k++) {
        if (k >= w || !(mapped_number(c, sp, slot + k) || element(c, slot + k)))
            return 0;
        int more = next_element(c);
        if (more <= 0)
            return more == 0;
    }
}

/* Keys seen in one object, for Jansson's duplicate-key rule: the profile's fields as bits, up to 16
 * other names by position. */
struct seen {
    uint64_t fields;
    unsigned reserved;
    const char *other[16];
    size_t otherlen[16];
    int nother;
};

/* 1 when the key is new (and now recorded), 0 when it repeats or there are too many to follow. */
static int first_time(struct seen *sn, int f, unsigned reserved_bit, const char *k, size_t n)
{
    if (f >= 0) {
        if (sn->fields >> f & 1)
            return 0;
        sn->fields |= UINT64_C(1) << f;
        return 1;
    }
    if (reserved_bit) {
        if (sn->reserved & reserved_bit)
            return 0;
        sn->reserved |= reserved_bit;
        return 1;
    }
    for (int i = 0; i < sn->nother; i++)
        if (sn->otherlen[i] == n && memcmp(sn->other[i], k, n) == 0)
            return 0;
    if (sn->nother == 16)
        return 0;
    sn->other[sn->nother] = k;
    sn->otherlen[sn->nother++] = n;
    return 1;
}

enum { K_TYPE = 1, K_RUN = 2, K_SPILL = 4, K_EVENT = 8, K_TRIGGER = 16, K_TIME = 32, K_COLUMNS = 64 };

static unsigned reserved_key(const char *k, size_t n)
{
    static const struct {
        const char *name;
        unsigned bit;
    } keys[] = {{"type", K_TYPE},       {"run", K_RUN},   {"spill", K_SPILL},    {"event", K_EVENT},
                {"trigger", K_TRIGGER}, {"time", K_TIME}, {"columns", K_COLUMNS}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i].name) == n && memcmp(keys[i].name, k, n) == 0)
            return keys[i].bit;
    return 0;
}

static int trigger_of(const char *s, size_t n)
{
    char name[16];
    if (n >= sizeof name)
        return -1;
    memcpy(name, s, n);
    name[n] = 0;
    return sw_trigger_parse(name);
}

/* A number in 0..SW_ID_MAX; anything else goes to the slow path, which says what is wrong. */
static int id_value(struct cur *c, int64_t *out)
{
    double d;
    return number(c, &d, out) == 1 && *out >= 0 && *out <= SW_ID_MAX;
}

/* The common keys of event and events records: type (must be want), run, spill, time. 1 when k was
 * one of them and its value is fine, 0 when it was one and is not, -1 when it is another key. */
static int common_key(struct cur *c, unsigned bit, const char *want, int64_t *run, int64_t *spill,
                      double *time)
{
    const char *s;
    size_t n;
    int64_t i;
    switch (bit) {
    case K_TYPE:
        return plain_string(c, &s, &n) && n == strlen(want) && memcmp(s, want, n) == 0;
    case K_RUN:
        return id_value(c, run);
    case K_SPILL:
        return id_value(c, spill);
    case K_TIME:
        return number(c, time, &i) != 0 && *time >= -1e300 && *time <= 1e300;
    default:
        return -1;
    }
}

static struct sw_record *commit_record(struct sw_batch *b, int line, int64_t run, int64_t spill, double time,
                                       size_t n, uint64_t unknown)
{
    struct sw_record *r = sw_wire_new_record(b);
    if (!r)
        return NULL;
    r->type = SW_REC_EVENTS;
    r->line = line;
    r->run = run;
    r->spill = spill;
    r->time = time;
    r->first = b->nrows;
    r->nevents = n;
    r->unknown_fields = unknown;
    b->nrows += n;
    b->events += n;
    b->fast++;
    return r;
}

/* A row `event` record. */
static int fast_event(struct cur *c, struct sw_batch *b, const struct sw_fields *fields,
                      const struct sw_wire_limits *lim, int line)
{
    if (b->events + 1 > lim->events_max || sw_wire_grow_rows(b, 1))
        return 0;
    double *row = b->rows + b->nrows * (size_t)b->row_width;
    sw_wire_init_row(row, b->row_width);
    struct seen sn = {0};
    int64_t run = -1, spill = -1, ev = -1;
    int trig = -1, nkeys = 0;
    double time = NAN;
    uint64_t unknown = 0;
    do {
        const char *k, *s;
        size_t n, sl;
        if (!plain_string(c, &k, &n) || !eat(c, ':') || ++nkeys > lim->fields_max)
            return 0;
        unsigned bit = reserved_key(k, n);
        if (bit == K_COLUMNS)
            bit = 0; /* not a key of event records: a field (or an unknown one) like any other */
        int f = bit ? -1 : sw_fields_find(fields, k, n);
        if (!first_time(&sn, f, bit, k, n))
            return 0;
        int ok = common_key(c, bit, "event", &run, &spill, &time);
        if (ok == 0)
            return 0;
        if (ok > 0)
            continue;
        int null;
        if (bit == K_EVENT)
            ok = id_value(c, &ev);
        else if (bit == K_TRIGGER)
            ok = plain_string(c, &s, &sl) && (trig = trigger_of(s, sl)) >= 0;
        else if (f >= 0)
            ok = fast_value(c, fields, f, row, &(struct seps){0});
        else
            ok = skip_value(c, 32, &null) && ++unknown;
        if (!ok)
            return 0;
    } while (eat(c, ','));
    if (!eat(c, '}') || (sn.reserved & (K_TYPE | K_RUN | K_SPILL | K_EVENT | K_TRIGGER)) !=
                            (K_TYPE | K_RUN | K_SPILL | K_EVENT | K_TRIGGER))
        return 0;
    skip_ws(c);
    if (c->p != c->e)
        return 0;
    row[fields->offset[0]] = trig; /* pseudo-field "trigger" is field 0 */
    b->event_no[b->nrows] = ev;
    b->trigger[b->nrows] = trig;
    return commit_record(b, line, run, spill, time, 1, unknown) != NULL;
}

/* One column of an `events` record into rows [b->nrows, b->nrows + *n): the first column read sets *n
 * (growing the batch), every other must have as many values. what: the field index (>= 0), or
 * -1 event, -2 trigger, -3 ignored (a reserved name), -4 unknown (non-null values counted). */
static int fast_column(struct cur *c, struct sw_batch *b, const struct sw_fields *fields,
                       const struct sw_wire_limits *lim, int what, size_t *n, int *have_n, uint64_t *unknown)
{
    if (!eat(c, '['))
        return 0;
    size_t i = 0;
    struct seps sp = {0};
    if (what >= 0 && *have_n && *n > 0 && fields->width[what] == 1) {
        /* A column of single numbers into rows that exist already: one tight loop, the same
         * rules (as many values as the first column, each a number or null). With no rows (an
         * empty first column) b->rows may be NULL: the general path below. */
        double *slot = b->rows + b->nrows * (size_t)b->row_width + (size_t)fields->offset[what];
        if (eat(c, ']'))
            return *n == 0;
        for (;;) {
            double *at = slot + i * (size_t)b->row_width;
            if (i >= *n || !(mapped_number(c, &sp, at) || element(c, at)))
                return 0;
            i++;
            int more = next_element(c);
            if (more <= 0)
                return more == 0 && i == *n;
        }
    }
    if (!eat(c, ']')) {
        do {
            if (!*have_n) {
                if (b->events + i + 1 > lim->events_max || sw_wire_grow_rows(b, i + 1))
                    return 0;
                sw_wire_init_row(b->rows + (b->nrows + i) * (size_t)b->row_width, b->row_width);
            } else if (i >= *n)
                return 0;
            double *row = b->rows + (b->nrows + i) * (size_t)b->row_width;
            const char *s;
            size_t sl;
            int null, trig;
            int ok;
            if (what >= 0)
                ok = fast_value(c, fields, what, row, &sp);
            else if (what == -1)
                ok = id_value(c, &b->event_no[b->nrows + i]);
            else if (what == -2) {
                ok = plain_string(c, &s, &sl) && (trig = trigger_of(s, sl)) >= 0;
                if (ok)
                    b->trigger[b->nrows + i] = trig;
            } else {
                ok = skip_value(c, 32, &null);
                *unknown += what == -4 && !null;
            }
            if (!ok)
                return 0;
            i++;
        } while (eat(c, ','));
        if (!eat(c, ']'))
            return 0;
    }
    if (!*have_n) {
        *n = i;
        *have_n = 1;
    }
    return i == *n;
}

/* A columnar `events` record. */
static int fast_events(struct cur *c, struct sw_batch *b, const struct sw_fields *fields,
                       const struct sw_wire_limits *lim, int line)
{
    struct seen sn = {0};
    int64_t run = -1, spill = -1;
    double time = NAN;
    size_t n = 0;
    int have_n = 0, nkeys = 0;
    uint64_t unknown = 0;
    do {
        const char *k;
        size_t kl;
        if (!plain_string(c, &k, &kl) || !eat(c, ':') || ++nkeys > lim->fields_max)
            return 0;
        unsigned bit = reserved_key(k, kl);
        if (!bit || bit == K_EVENT || bit == K_TRIGGER || !first_time(&sn, -1, bit, k, kl))
            return 0; /* an unknown key is an error: Jansson's path says which */
        int ok = common_key(c, bit, "events", &run, &spill, &time);
        if (ok == 0)
            return 0;
        if (ok > 0)
            continue;
        /* "columns": {name: [values], ...} */
        struct seen cols = {0};
        int ncols = 0;
        if (!eat(c, '{') || eat(c, '}'))
            return 0;
        do {
            if (!plain_string(c, &k, &kl) || !eat(c, ':') || ++ncols > lim->fields_max)
                return 0;
            unsigned cbit = reserved_key(k, kl);
            int f = cbit && cbit != K_COLUMNS ? -1 : sw_fields_find(fields, k, kl);
            if (cbit == K_COLUMNS)
                cbit = 0;
            if (!first_time(&cols, f, cbit, k, kl))
                return 0;
            int what = f >= 0 ? f : cbit == K_EVENT ? -1 : cbit == K_TRIGGER ? -2 : cbit ? -3 : -4;
            if (!fast_column(c, b, fields, lim, what, &n, &have_n, &unknown))
                return 0;
        } while (eat(c, ','));
        if (!eat(c, '}') || (cols.reserved & (K_EVENT | K_TRIGGER)) != (K_EVENT | K_TRIGGER))
            return 0;
    } while (eat(c, ','));
    if (!eat(c, '}') ||
        (sn.reserved & (K_TYPE | K_RUN | K_SPILL | K_COLUMNS)) != (K_TYPE | K_RUN | K_SPILL | K_COLUMNS))
        return 0;
    skip_ws(c);
    if (c->p != c->e)
        return 0;
    for (size_t i = 0; i < n; i++)
        b->rows[(b->nrows + i) * (size_t)b->row_width + (size_t)fields->offset[0]] = b->trigger[b->nrows + i];
    return commit_record(b, line, run, spill, time, n, unknown) != NULL;
}

/* 1 when the line was an event or events record read by the fast path, else 0 (nothing committed). */
int sw_wire_fast_line(const struct line_ctx *lc, struct sw_batch *b, const struct sw_fields *fields,
                      const struct sw_wire_limits *lim)
{
    /* The type decides the form; the simulator and the collectors write it first. */
    static const char ev[] = "{\"type\":\"event\",", evs[] = "{\"type\":\"events\",";
    struct cur c = {lc->text + 1, lc->text + lc->len};
    if (lc->len > sizeof ev && memcmp(lc->text, ev, sizeof ev - 1) == 0)
        return fast_event(&c, b, fields, lim, lc->line);
    if (lc->len > sizeof evs && memcmp(lc->text, evs, sizeof evs - 1) == 0)
        return fast_events(&c, b, fields, lim, lc->line);
    return 0;
}
