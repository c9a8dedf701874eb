/* col_batch.c — see col_batch.h */
#include "col_batch.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *n = realloc(*p, c * size);
    if (!n)
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

void col_batch_reset(struct col_batch *b)
{
    b->len = b->nlines = b->ndrop = 0;
    b->start = b->end = -1;
    b->has_spill = 0;
    b->events = 0;
    b->closes = 0;
}

void col_batch_free(struct col_batch *b)
{
    free(b->body);
    free(b->starts);
    free(b->drop);
}

int col_batch_add_line(struct col_batch *b, const char *line, size_t len, int64_t start)
{
    if (grow((void **)&b->body, &b->cap, b->len + len + 2, 1) != 0 ||
        grow((void **)&b->starts, &b->caplines, b->nlines + 1, sizeof *b->starts) != 0)
        return -1;
    memcpy(b->body + b->len, line, len);
    b->len += len;
    b->body[b->len++] = '\n';
    b->body[b->len] = 0;
    b->starts[b->nlines++] = start;
    return 0;
}

int col_batch_add_drop(struct col_batch *b, int64_t start)
{
    if (grow((void **)&b->drop, &b->capdrop, b->ndrop + 1, sizeof *b->drop) != 0)
        return -1;
    b->drop[b->ndrop++] = start;
    return 0;
}

const char *col_batch_line(const struct col_batch *b, size_t k)
{
    const char *s = b->body;
    for (size_t i = 0; i < k; i++)
        s = strchr(s, '\n') + 1;
    return s;
}

int col_batch_remove_line(struct col_batch *b, size_t k)
{
    char *s = b->body + (col_batch_line(b, k) - b->body);
    char *e = strchr(s, '\n') + 1;
    if (col_batch_add_drop(b, b->starts[k]) != 0)
        return -1;
    memmove(s, e, (size_t)(b->body + b->len - e) + 1);
    b->len -= (size_t)(e - s);
    memmove(b->starts + k, b->starts + k + 1, (b->nlines - k - 1) * sizeof *b->starts);
    b->nlines--;
    return 0;
}
