/* hist_blob.c — snapshots of histograms as compressed blobs (encode, decode-and-add, decode into
 * histograms of the blob's own binning); see hist.h, "Snapshot". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hist.h"

/* ---- snapshots ----
 * Layout before deflate: "SWH2", varint count, then per histogram: varint name length, name,
 * byte dim, byte partial (SW_HIST_NO_* bits), per axis varint bins + 8-byte LE min and max,
 * varints underflow, overflow, entries, missing, 8-byte LE sumx sumx2 sumy sumy2, in 2D 8-byte LE
 * sumxy, then the cells (the bins, in 2D followed by the edge cells in edge_index order) as varints
 * where a 0 is followed by the varint length of the zero run. The blob is a 4-byte LE uncompressed
 * length + zlib data.
 * "SWH1" (before issue 17) is the same without the partial byte, sumxy and the edge cells.
 * "SWH3" (a sum of snapshots whose sums have low parts, struct sw_hist.lo) is SWH2 with the low
 * parts of sumx sumx2 sumy sumy2 (and in 2D sumxy) as 8-byte LE after the sums. */

struct buf {
    unsigned char *p;
    size_t len, cap;
    int oom;
};

static void put(struct buf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_varint(struct buf *b, uint64_t v)
{
    unsigned char tmp[10];
    int n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    put(b, tmp, (size_t)n);
}

static void put_double(struct buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    unsigned char tmp[8];
    for (int i = 0; i < 8; i++)
        tmp[i] = (unsigned char)(bits >> (8 * i));
    put(b, tmp, 8);
}

int sw_hist_encode(const struct sw_hist *hists, int n, unsigned char **out, size_t *outlen)
{
    struct buf b = {0};
    int v3 = 0; /* low parts to keep (a sum of snapshots): "SWH3" */
    for (int k = 0; k < n; k++)
        for (int i = 0; i < 5; i++)
            v3 |= hists[k].lo[i] != 0;
    put(&b, v3 ? "SWH3" : "SWH2", 4);
    put_varint(&b, (uint64_t)n);
    for (int k = 0; k < n; k++) {
        const struct sw_hist *h = &hists[k];
        const struct sw_hist_def *d = h->def;
        size_t nl = strlen(d->name);
        put_varint(&b, nl);
        put(&b, d->name, nl);
        unsigned char dim = (unsigned char)d->dim, partial = (unsigned char)h->partial;
        put(&b, &dim, 1);
        put(&b, &partial, 1);
        put_varint(&b, (uint64_t)d->x.bins);
        put_double(&b, d->x.min);
        put_double(&b, d->x.max);
        if (d->dim == 2) {
            put_varint(&b, (uint64_t)d->y.bins);
            put_double(&b, d->y.min);
            put_double(&b, d->y.max);
        }
        put_varint(&b, h->underflow);
        put_varint(&b, h->overflow);
        put_varint(&b, h->entries);
        put_varint(&b, h->missing);
        put_double(&b, h->sumx);
        put_double(&b, h->sumx2);
        put_double(&b, h->sumy);
        put_double(&b, h->sumy2);
        if (d->dim == 2)
            put_double(&b, h->sumxy);
        for (int i = 0; v3 && i < (d->dim == 2 ? 5 : 4); i++)
            put_double(&b, h->lo[i]);
        size_t nb = sw_hist_bins(d) + sw_hist_edges(d);
        for (size_t i = 0; i < nb;) {
            if (h->counts[i] == 0) {
                size_t run = 0;
                while (i < nb && h->counts[i] == 0) {
                    run++;
                    i++;
                }
                put_varint(&b, 0);
                put_varint(&b, run);
            } else
                put_varint(&b, h->counts[i++]);
        }
    }
    if (b.oom || b.len > 0xffffffffu) {
        free(b.p);
        return -1;
    }
    uLongf zlen = compressBound((uLong)b.len);
    unsigned char *z = malloc(zlen + 4);
    if (!z || compress2(z + 4, &zlen, b.p, (uLong)b.len, 6) != Z_OK) {
        free(z);
        free(b.p);
        return -1;
    }
    for (int i = 0; i < 4; i++)
        z[i] = (unsigned char)(b.len >> (8 * i));
    free(b.p);
    *out = z;
    *outlen = zlen + 4;
    return 0;
}

struct reader {
    const unsigned char *p, *end;
    int bad;
};

static uint64_t get_varint(struct reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = 1;
            return 0;
        }
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static double get_double(struct reader *r)
{
    if (r->end - r->p < 8) {
        r->bad = 1;
        return 0;
    }
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

static unsigned char *inflate_blob(const unsigned char *blob, size_t len, size_t *rawlen)
{
    if (len < 4)
        return NULL;
    size_t n = (size_t)blob[0] | (size_t)blob[1] << 8 | (size_t)blob[2] << 16 | (size_t)blob[3] << 24;
    if (n < 5 || n > (64u << 20))
        return NULL;
    unsigned char *raw = malloc(n);
    uLongf got = n;
    if (!raw || uncompress(raw, &got, blob + 4, (uLong)(len - 4)) != Z_OK || got != n) {
        free(raw);
        return NULL;
    }
    *rawlen = n;
    return raw;
}

/* Walks the decoded snapshot; for each histogram that matches an entry of dst by name and
 * binning, adds it there. Two passes: the first validates everything, the second adds, so a
 * corrupt blob changes nothing. Returns the number added or -1. */
struct collect { /* sw_hist_decode_new: the blob's own histograms */
    struct sw_hist_snap *snap;
    int cap;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ ((const unsigned char *)p)[i]) * 1099511628211u;
}

/* Pass 0 of a collecting walk: keeps def (and its partial bits in the layout key). */
static int collect_def(struct collect *col, const struct sw_hist_def *def, const char *name, unsigned partial)
{
    struct sw_hist_snap *sn = col->snap;
    if (sn->n == col->cap) {
        int cap = col->cap ? 2 * col->cap : 16;
        struct sw_hist_def *d = realloc(sn->defs, (size_t)cap * sizeof *d);
        if (!d)
            return -1;
        sn->defs = d;
        col->cap = cap;
    }
    struct sw_hist_def *d = &sn->defs[sn->n++];
    *d = *def;
    snprintf(d->name, sizeof d->name, "%s", name);
    unsigned char hdr[2] = {(unsigned char)def->dim, (unsigned char)partial};
    mix(&sn->layout, name, strlen(name) + 1);
    mix(&sn->layout, hdr, 2);
    mix(&sn->layout, &def->x.bins, sizeof def->x.bins);
    mix(&sn->layout, &def->x.min, sizeof def->x.min);
    mix(&sn->layout, &def->x.max, sizeof def->x.max);
    if (def->dim == 2) {
        mix(&sn->layout, &def->y.bins, sizeof def->y.bins);
        mix(&sn->layout, &def->y.min, sizeof def->y.min);
        mix(&sn->layout, &def->y.max, sizeof def->y.max);
    }
    return 0;
}

static int walk(const unsigned char *raw, size_t rawlen, struct sw_hist *dst, int ndst, struct collect *col)
{
    int added = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && col) { /* the blob's own histograms, each matching itself */
            struct sw_hist_snap *sn = col->snap;
            if (sn->n && !(sn->hists = calloc((size_t)sn->n, sizeof *sn->hists)))
                return -1;
            for (int i = 0; i < sn->n; i++)
                if (sw_hist_init(&sn->hists[i], &sn->defs[i]) != 0)
                    return -1;
            dst = sn->hists;
            ndst = sn->n;
        }
        struct reader r = {raw, raw + rawlen, 0};
        if (rawlen < 4 || memcmp(raw, "SWH", 3) != 0 || raw[3] < '1' || raw[3] > '3')
            return -1;
        int v2 = raw[3] >= '2', v3 = raw[3] == '3';
        r.p += 4;
        uint64_t count = get_varint(&r);
        for (uint64_t k = 0; k < count && !r.bad; k++) {
            uint64_t nl = get_varint(&r);
            if (r.bad || nl >= SW_HIST_NAME_MAX || (size_t)(r.end - r.p) < nl + 1)
                return -1;
            char name[SW_HIST_NAME_MAX];
            memcpy(name, r.p, nl);
            name[nl] = 0;
            r.p += nl;
            struct sw_hist_def def = {0};
            def.dim = *r.p++;
            if (def.dim != 1 && def.dim != 2)
                return -1;
            unsigned partial = 0;
            if (v2) {
                if (r.p >= r.end || *r.p > (SW_HIST_NO_EDGES | SW_HIST_NO_SUMXY))
                    return -1;
                partial = *r.p++;
            } else if (def.dim == 2)
                partial = SW_HIST_NO_EDGES | SW_HIST_NO_SUMXY;
            uint64_t bx = get_varint(&r);
            def.x.min = get_double(&r);
            def.x.max = get_double(&r);
            uint64_t by = 1;
            if (def.dim == 2) {
                by = get_varint(&r);
                def.y.min = get_double(&r);
                def.y.max = get_double(&r);
            }
            if (r.bad || bx < 1 || bx > 100000 || by < 1 || by > 100000)
                return -1;
            def.x.bins = (int)bx;
            def.y.bins = def.dim == 2 ? (int)by : 0;
            if (pass == 0 && col && collect_def(col, &def, name, partial) != 0)
                return -1;
            struct sw_hist *target = NULL;
            for (int i = 0; i < ndst; i++)
                if (strcmp(dst[i].def->name, name) == 0 && sw_hist_same_binning(dst[i].def, &def))
                    target = &dst[i];
            uint64_t under = get_varint(&r), over = get_varint(&r), entries = get_varint(&r),
                     missing = get_varint(&r);
            double sx = get_double(&r), sx2 = get_double(&r), sy = get_double(&r), sy2 = get_double(&r);
            double sxy = v2 && def.dim == 2 ? get_double(&r) : 0;
            double lo[5] = {0};
            for (int i = 0; v3 && i < (def.dim == 2 ? 5 : 4); i++)
                lo[i] = get_double(&r);
            if (r.bad)
                return -1;
            if (pass == 1 && target) {
                target->underflow += under;
                target->overflow += over;
                target->entries += entries;
                target->missing += missing;
                const double hi[5] = {sx, sx2, sy, sy2, sxy};
                sw_hist_add_sums(target, hi, lo, 1);
                target->partial |= partial;
                added++;
            }
            size_t nb = (size_t)(bx * by) + (v2 ? sw_hist_edges(&def) : 0);
            for (size_t i = 0; i < nb && !r.bad;) {
                uint64_t v = get_varint(&r);
                if (v == 0) {
                    uint64_t run = get_varint(&r);
                    if (run == 0 || run > nb - i)
                        return -1;
                    i += (size_t)run;
                } else {
                    if (pass == 1 && target)
                        target->counts[i] += v;
                    i++;
                }
            }
            if (r.bad)
                return -1;
        }
        if (r.bad || r.p != r.end)
            return -1;
    }
    return added;
}

int sw_hist_decode_add_all(const unsigned char *blob, size_t len, struct sw_hist *dst, int n)
{
    size_t rawlen;
    unsigned char *raw = inflate_blob(blob, len, &rawlen);
    if (!raw)
        return -1;
    int rc = walk(raw, rawlen, dst, n, NULL);
    free(raw);
    return rc;
}

int sw_hist_decode_new(const unsigned char *blob, size_t len, struct sw_hist_snap *snap)
{
    memset(snap, 0, sizeof *snap);
    snap->layout = 14695981039346656037u;
    size_t rawlen;
    unsigned char *raw = inflate_blob(blob, len, &rawlen);
    struct collect col = {.snap = snap};
    int rc = raw ? walk(raw, rawlen, NULL, 0, &col) : -1;
    free(raw);
    if (rc < 0) {
        sw_hist_snap_free(snap);
        return -1;
    }
    return snap->n;
}

void sw_hist_snap_free(struct sw_hist_snap *snap)
{
    for (int i = 0; snap->hists && i < snap->n; i++)
        sw_hist_release(&snap->hists[i]);
    free(snap->hists);
    free(snap->defs);
    memset(snap, 0, sizeof *snap);
}

int sw_hist_decode_add(const unsigned char *blob, size_t len, struct sw_hist *dst)
{
    int rc = sw_hist_decode_add_all(blob, len, dst, 1);
    return rc < 0 ? -1 : rc > 0;
}
