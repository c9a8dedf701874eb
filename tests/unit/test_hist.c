/* Unit tests of server/hist.c: binning edges, under/overflow, selectors, stats, peak finding,
 * merging, JSON, snapshot encode/decode (including corrupt blobs), 2D edge cells in ROOT's numbering,
 * SWH1 snapshots of older databases, and the sums of snapshots (compensated, order-independent,
 * subtractable; decoded into their own binning with a layout key; SWH3 keeps the low parts). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "check.h"
#include "hist.h"

static struct sw_fields F;
static double row[200];

static void set(const char *field, int i, double v)
{
    int f = sw_fields_find(&F, field, strlen(field));
    row[F.offset[f] + i] = v;
}

static void clear_row(void)
{
    for (int i = 0; i < F.row_width; i++)
        row[i] = NAN;
}

static struct sw_hist_def def1(const char *src, int bins, double lo, double hi)
{
    struct sw_hist_def d = {.dim = 1, .x = {bins, lo, hi}};
    snprintf(d.name, sizeof d.name, "h_%s", src);
    char err[160];
    if (sw_selector_parse(&d.xsel, src, &F, err, sizeof err) != 0)
        fprintf(stderr, "selector %s: %s\n", src, err);
    return d;
}

static void fill_x(struct sw_hist *h, double x)
{
    clear_row();
    set("p_in", 0, x);
    sw_hist_fill(h, row, SW_TRIG_PHYSICS);
}

static void test_binning(void)
{
    struct sw_hist_def d = def1("p_in", 10, 0, 1);
    struct sw_hist h;
    CHECK_INT(sw_hist_init(&h, &d), 0);
    fill_x(&h, 0.0);                 /* min -> bin 0 */
    fill_x(&h, 1.0);                 /* max -> overflow */
    fill_x(&h, nextafter(1.0, 0.0)); /* just below max -> last bin */
    fill_x(&h, -1e-12);              /* below min -> underflow */
    fill_x(&h, 0.1);                 /* an inner edge -> its upper bin (floating: 0.1 may land in 0 or 1) */
    fill_x(&h, 0.35);
    fill_x(&h, NAN); /* missing */
    CHECK_INT(h.counts[0] + h.counts[1], 2);
    CHECK_INT(h.counts[9], 1);
    CHECK_INT(h.counts[3], 1);
    CHECK_INT(h.overflow, 1);
    CHECK_INT(h.underflow, 1);
    CHECK_INT(h.entries, 6);
    CHECK_INT(h.missing, 1);
    sw_hist_release(&h);
}

static void test_selectors(void)
{
    struct sw_selector s;
    char err[160];
    CHECK_INT(sw_selector_parse(&s, "p_in", &F, err, sizeof err), 0);
    CHECK_INT(s.kind, SW_SEL_FIELD);
    CHECK_INT(sw_selector_parse(&s, "hcal[3]", &F, err, sizeof err), 0);
    CHECK_INT(s.kind, SW_SEL_INDEX);
    CHECK_INT(s.index, 3);
    CHECK_INT(sw_selector_parse(&s, "sum(hcal)", &F, err, sizeof err), 0);
    CHECK_INT(s.kind, SW_SEL_SUM);
    CHECK_INT(sw_selector_parse(&s, "each(ecal_cells)", &F, err, sizeof err), 0);
    CHECK_INT(s.kind, SW_SEL_EACH);
    CHECK_INT(s.width, 60);
    CHECK_INT(sw_selector_parse(&s, "pin", &F, err, sizeof err), -1);
    CHECK_STR(err, "unknown field \"pin\"");
    CHECK_INT(sw_selector_parse(&s, "hcal", &F, err, sizeof err), -1);
    CHECK_STR(err, "field \"hcal\" is an array (width 4): use hcal[i], sum(hcal) or each(hcal)");
    CHECK_INT(sw_selector_parse(&s, "hcal[7]", &F, err, sizeof err), -1);
    CHECK_STR(err, "index 7 out of range for \"hcal\" (width 4)");
    /* An index beyond int must not wrap into range (found by tests/fuzz/fuzz_selector). */
    CHECK_INT(sw_selector_parse(&s, "hcal[4294967295]", &F, err, sizeof err), -1);
    CHECK_STR(err, "index 4294967295 out of range for \"hcal\" (width 4)");
    CHECK_INT(sw_selector_parse(&s, "hcal[7222222222222]", &F, err, sizeof err), -1);
    CHECK_INT(sw_selector_parse(&s, "hcal[x]", &F, err, sizeof err), -1);
    CHECK_STR(err, "bad selector \"hcal[x]\"");
    CHECK_INT(sw_selector_parse(&s, "sum()", &F, err, sizeof err), -1);

    /* sum with partial NaN; all NaN -> missing */
    struct sw_hist_def d = def1("sum(hcal)", 20, 0, 20);
    struct sw_hist h;
    sw_hist_init(&h, &d);
    clear_row();
    set("hcal", 0, 2.5);
    set("hcal", 2, 3.5);
    sw_hist_fill(&h, row, 0);
    CHECK_NEAR(h.sumx, 6.0, 1e-12);
    CHECK_INT(h.counts[6], 1);
    clear_row();
    sw_hist_fill(&h, row, 0);
    CHECK_INT(h.missing, 1);
    sw_hist_release(&h);

    /* each(): occupancy by element index above the threshold */
    d = def1("each(ecal_cells)", 60, 0, 60);
    d.threshold = 0.05;
    sw_hist_init(&h, &d);
    clear_row();
    for (int i = 0; i < 60; i++)
        set("ecal_cells", i, 0.0);
    set("ecal_cells", 15, 0.3);
    set("ecal_cells", 45, 0.06);
    set("ecal_cells", 44, 0.05); /* not above */
    sw_hist_fill(&h, row, 0);
    CHECK_INT(h.entries, 2);
    CHECK_INT(h.counts[15], 1);
    CHECK_INT(h.counts[45], 1);
    CHECK_INT(h.counts[44], 0);
    clear_row();
    sw_hist_fill(&h, row, 0);
    CHECK_INT(h.missing, 1);
    sw_hist_release(&h);
}

static void test_trigger_and_cut(void)
{
    struct sw_hist_def d = def1("p_in", 10, 100, 200);
    d.trigger_mask = 1u << SW_TRIG_BEAM;
    d.has_cut = 1;
    char err[160];
    CHECK_INT(sw_selector_parse(&d.cut, "hcal[0]", &F, err, sizeof err), 0);
    d.cut_min = 1;
    d.cut_max = 3;
    struct sw_hist h;
    sw_hist_init(&h, &d);
    clear_row();
    set("p_in", 0, 150);
    set("hcal", 0, 2);
    sw_hist_fill(&h, row, SW_TRIG_PHYSICS); /* wrong trigger */
    sw_hist_fill(&h, row, SW_TRIG_BEAM);    /* used */
    set("hcal", 0, 3);                      /* cut upper edge excluded */
    sw_hist_fill(&h, row, SW_TRIG_BEAM);
    set("hcal", 0, NAN); /* NaN fails the cut */
    sw_hist_fill(&h, row, SW_TRIG_BEAM);
    CHECK_INT(h.entries, 1);
    CHECK_INT(h.missing, 0);
    sw_hist_release(&h);
}

static void test_stats_2d_and_add(void)
{
    struct sw_hist_def d = def1("p_in", 100, 0, 10);
    struct sw_hist h, g;
    sw_hist_init(&h, &d);
    sw_hist_init(&g, &d);
    double xs[] = {1, 2, 3, 4, 20};
    for (int i = 0; i < 5; i++)
        fill_x(i < 3 ? &h : &g, xs[i]);
    CHECK_INT(sw_hist_add(&h, &g), 0);
    struct sw_hist_stats st;
    sw_hist_stats(&h, &st);
    CHECK_NEAR(st.mean, 6.0, 1e-12); /* unbinned: the overflow entry counts */
    CHECK_NEAR(st.rms, sqrt((1 + 4 + 9 + 16 + 400) / 5.0 - 36), 1e-9);
    CHECK_INT(h.overflow, 1);
    CHECK_NEAR(sw_hist_frac_above(&h, 3.0), 0.6, 1e-12); /* bins from 3.0 on, plus overflow */
    CHECK_NEAR(sw_hist_frac_below(&h, 3.0), 0.4, 1e-12);
    struct sw_hist_def other = def1("p_in", 50, 0, 10);
    struct sw_hist o;
    sw_hist_init(&o, &other);
    CHECK_INT(sw_hist_add(&h, &o), -1);
    sw_hist_release(&o);
    sw_hist_release(&g);
    sw_hist_clear(&h);
    sw_hist_stats(&h, &st);
    CHECK(isnan(st.mean));
    CHECK(isnan(st.peak));
    sw_hist_release(&h);

    struct sw_hist_def d2 = {.dim = 2, .x = {4, 0, 4}, .y = {2, 0, 2}};
    char err[160];
    sw_selector_parse(&d2.xsel, "hcal[0]", &F, err, sizeof err);
    sw_selector_parse(&d2.ysel, "hcal[1]", &F, err, sizeof err);
    sw_hist_init(&h, &d2);
    double pts[][2] = {{0.5, 0.5}, {3.5, 1.5}, {-1, 1}, {5, 1}, {1, NAN}};
    for (int i = 0; i < 5; i++) {
        clear_row();
        set("hcal", 0, pts[i][0]);
        set("hcal", 1, pts[i][1]);
        sw_hist_fill(&h, row, 0);
    }
    CHECK_INT(h.counts[0], 1);
    CHECK_INT(h.counts[1 * 4 + 3], 1);
    CHECK_INT(h.underflow, 1);
    CHECK_INT(h.overflow, 1);
    CHECK_INT(h.missing, 1);
    sw_hist_stats(&h, &st);
    CHECK_NEAR(st.mean, (0.5 + 3.5 - 1 + 5) / 4, 1e-12);
    CHECK_NEAR(st.mean_y, (0.5 + 1.5 + 1 + 1) / 4, 1e-12);
    CHECK(isnan(st.peak));
    json_t *j = sw_hist_to_json(&h);
    CHECK_INT(json_array_size(json_object_get(j, "counts")), 8);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "y"), "bins")), 2);
    json_decref(j);
    sw_hist_release(&h);
}

/* Deterministic PRNG for the peak tests. */
static uint64_t rs = 12345;
static double urand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return ((double)(rs >> 11) + 0.5) * 0x1.0p-53;
}
static double grand(void)
{
    return sqrt(-2 * log(urand())) * cos(2 * M_PI * urand());
}

static void test_peak(void)
{
    /* Gaussian centred at 5.37 with 20,000 entries: within 0.3 bins */
    struct sw_hist_def d = def1("p_in", 100, 0, 10);
    struct sw_hist h;
    sw_hist_init(&h, &d);
    for (int i = 0; i < 20000; i++)
        fill_x(&h, 5.37 + 0.8 * grand());
    struct sw_hist_stats st;
    sw_hist_stats(&h, &st);
    CHECK_NEAR(st.peak, 5.37, 0.03);
    /* Moyal (Landau-like, mode 0.40, scale 0.028): the peak, not the mean */
    struct sw_hist_def e = def1("p_in", 100, 0, 2);
    struct sw_hist m;
    sw_hist_init(&m, &e);
    for (int i = 0; i < 20000; i++) {
        double g = grand();
        fill_x(&m, 0.40 - 0.028 * log(g * g));
    }
    sw_hist_stats(&m, &st);
    CHECK_NEAR(st.peak, 0.40, 0.008); /* 2 % */
    CHECK(st.mean > 0.43);            /* the tail pulls the mean up */
    /* a single entry; a peak in the first and in the last bin */
    sw_hist_clear(&h);
    fill_x(&h, 2.05);
    sw_hist_stats(&h, &st);
    CHECK_NEAR(st.peak, 2.05, 0.1);
    sw_hist_clear(&h);
    for (int i = 0; i < 100; i++)
        fill_x(&h, 0.01);
    fill_x(&h, 0.15);
    sw_hist_stats(&h, &st);
    CHECK(st.peak >= 0 && st.peak < 0.2);
    sw_hist_clear(&h);
    for (int i = 0; i < 100; i++)
        fill_x(&h, 9.99);
    sw_hist_stats(&h, &st);
    CHECK(st.peak > 9.8 && st.peak <= 10);
    sw_hist_release(&h);
    sw_hist_release(&m);
}

static void test_json(void)
{
    struct sw_hist_def d = def1("p_in", 4, 0, 4);
    snprintf(d.title, sizeof d.title, "Momentum");
    snprintf(d.unit, sizeof d.unit, "GeV/c");
    struct sw_hist h;
    sw_hist_init(&h, &d);
    json_t *j = sw_hist_to_json(&h);
    CHECK_STR(json_string_value(json_object_get(j, "name")), "h_p_in");
    CHECK_STR(json_string_value(json_object_get(j, "unit")), "GeV/c");
    CHECK(json_is_null(json_object_get(j, "mean")));
    CHECK(json_is_null(json_object_get(j, "peak")));
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "x"), "bins")), 4);
    json_decref(j);
    fill_x(&h, 1.5);
    fill_x(&h, 7);
    j = sw_hist_to_json(&h);
    const char *keys[] = {"counts", "underflow", "overflow", "entries", "missing",
                          "mean",   "rms",       "peak",     "title"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK(json_object_get(j, keys[i]) != NULL);
    CHECK_INT(json_integer_value(json_array_get(json_object_get(j, "counts"), 1)), 1);
    CHECK_INT(json_integer_value(json_object_get(j, "overflow")), 1);
    CHECK_NEAR(json_number_value(json_object_get(j, "mean")), 4.25, 1e-12);
    json_decref(j);
    sw_hist_release(&h);
}

static void test_snapshots(void)
{
    /* A realistic spill: 25 1D histograms of 100 bins with 3,000 entries and two 40x40 2D ones. */
    enum { N1 = 25, N = 27 };
    struct sw_hist_def defs[N];
    struct sw_hist hs[N], back[N];
    char err[160];
    for (int i = 0; i < N; i++) {
        if (i < N1)
            defs[i] = def1("p_in", 100, 100, 220);
        else {
            defs[i] = (struct sw_hist_def){.dim = 2, .x = {40, -10, 10}, .y = {40, -10, 10}};
            sw_selector_parse(&defs[i].xsel, "hcal[0]", &F, err, sizeof err);
            sw_selector_parse(&defs[i].ysel, "hcal[1]", &F, err, sizeof err);
        }
        snprintf(defs[i].name, sizeof defs[i].name, "h%d", i);
        sw_hist_init(&hs[i], &defs[i]);
        sw_hist_init(&back[i], &defs[i]);
    }
    for (int k = 0; k < 3000; k++) {
        clear_row();
        set("p_in", 0, 160 + 6 * grand());
        set("hcal", 0, 0.9 * grand());
        set("hcal", 1, 1.9 * grand());
        for (int i = 0; i < N; i++)
            sw_hist_fill(&hs[i], row, 0);
    }
    unsigned char *blob = NULL;
    size_t len = 0;
    CHECK_INT(sw_hist_encode(hs, N, &blob, &len), 0);
    fprintf(stderr, "snapshot of %d histograms (25 x 100 bins, 2 x 40x40), 3000 entries each: %zu bytes\n", N,
            len);
    CHECK(len < 10000);
    CHECK_INT(sw_hist_decode_add_all(blob, len, back, N), N);
    CHECK_INT(sw_hist_decode_add_all(blob, len, back, N), N); /* adds again: x2 */
    for (int i = 0; i < N; i++) {
        size_t nb = (size_t)defs[i].x.bins * (defs[i].dim == 2 ? (size_t)defs[i].y.bins : 1);
        int same = 1;
        for (size_t b = 0; b < nb; b++)
            same &= back[i].counts[b] == 2 * hs[i].counts[b];
        CHECK(same);
        CHECK_INT(back[i].entries, 2 * hs[i].entries);
        CHECK(back[i].sumx == 2 * hs[i].sumx);
        CHECK_INT(back[i].underflow + back[i].overflow, 2 * (hs[i].underflow + hs[i].overflow));
    }
    /* one histogram by name; a changed binning is skipped */
    struct sw_hist one;
    sw_hist_init(&one, &defs[3]);
    CHECK_INT(sw_hist_decode_add(blob, len, &one), 1);
    CHECK_INT(one.entries, hs[3].entries);
    sw_hist_release(&one);
    struct sw_hist_def rebinned = defs[3];
    rebinned.x.bins = 50;
    sw_hist_init(&one, &rebinned);
    CHECK_INT(sw_hist_decode_add(blob, len, &one), 0);
    CHECK_INT(one.entries, 0);
    sw_hist_release(&one);
    /* corrupt and truncated blobs: -1 and nothing added */
    sw_hist_init(&one, &defs[0]);
    CHECK_INT(sw_hist_decode_add(blob, len / 2, &one), -1);
    CHECK_INT(sw_hist_decode_add(blob, 3, &one), -1);
    unsigned char *bad = malloc(len);
    int refused = 0;
    for (size_t pos = 4; pos < len; pos += 7) {
        memcpy(bad, blob, len);
        bad[pos] ^= 0x5a;
        refused += sw_hist_decode_add(bad, len, &one) == -1;
    }
    CHECK(refused > 0);
    fprintf(stderr, "bit flips refused by zlib/format checks: %d\n", refused);
    free(bad);
    sw_hist_release(&one);
    free(blob);
    for (int i = 0; i < N; i++) {
        sw_hist_release(&hs[i]);
        sw_hist_release(&back[i]);
    }
}

/* 2D cells outside the axes in ROOT's numbering, sumxy, their SWH2 round trip, and an SWH1 blob (the
 * format before issue 17) that still adds its totals but marks the histogram partial. */
static void put_le(unsigned char *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(bits >> (8 * i));
}

static void test_edges_and_swh1(void)
{
    struct sw_hist_def d2 = {.name = "xy", .dim = 2, .x = {4, 0, 4}, .y = {2, 0, 2}};
    char err[160];
    sw_selector_parse(&d2.xsel, "hcal[0]", &F, err, sizeof err);
    sw_selector_parse(&d2.ysel, "hcal[1]", &F, err, sizeof err);
    CHECK_INT(sw_hist_edges(&d2), 2 * 6 + 2 * 2);
    struct sw_hist h, back;
    sw_hist_init(&h, &d2);
    sw_hist_init(&back, &d2);
    /* (x, y) -> ROOT cell (ix, iy): in range, x under, x over, y under, y over, both corners */
    double pts[][2] = {{0.5, 0.5}, {-1, 1.5}, {9, 0.5}, {2.5, -3}, {1.5, 7}, {-1, -1}, {5, 5}, {5, -1}};
    int cells[][2] = {{1, 1}, {0, 2}, {5, 1}, {3, 0}, {2, 3}, {0, 0}, {5, 3}, {5, 0}};
    double sxy = 0;
    for (int i = 0; i < 8; i++) {
        clear_row();
        set("hcal", 0, pts[i][0]);
        set("hcal", 1, pts[i][1]);
        sw_hist_fill(&h, row, 0);
        sxy += pts[i][0] * pts[i][1];
    }
    uint64_t total = 0;
    for (int iy = 0; iy <= 3; iy++)
        for (int ix = 0; ix <= 5; ix++) {
            uint64_t want = 0;
            for (int i = 0; i < 8; i++)
                want += cells[i][0] == ix && cells[i][1] == iy;
            CHECK_INT(sw_hist_cell(&h, ix, iy), want);
            total += sw_hist_cell(&h, ix, iy);
        }
    CHECK_INT(total, 8);
    CHECK_INT(h.underflow, 4); /* (-1,1.5), (2.5,-3), (-1,-1), (5,-1) */
    CHECK_INT(h.overflow, 3);
    CHECK_NEAR(h.sumxy, sxy, 1e-12);
    CHECK_INT(h.partial, 0);
    unsigned char *blob;
    size_t len;
    CHECK_INT(sw_hist_encode(&h, 1, &blob, &len), 0);
    CHECK_INT(sw_hist_decode_add(blob, len, &back), 1);
    for (int iy = 0; iy <= 3; iy++)
        for (int ix = 0; ix <= 5; ix++)
            CHECK_INT(sw_hist_cell(&back, ix, iy), sw_hist_cell(&h, ix, iy));
    CHECK_NEAR(back.sumxy, sxy, 1e-12);
    CHECK_INT(back.partial, 0);
    free(blob);

    /* SWH1: "SWH1", count 1, "xy", dim 2, x 4 [0,4), y 2 [0,2), under 1, over 2, entries 5,
     * missing 0, sums 1 2 3 4, counts: 2 then a run of 7 zeros */
    unsigned char raw[128], *p = raw;
    memcpy(p, "SWH1\x01\x02xy\x02\x04", 10);
    p += 10;
    put_le(p, 0), put_le(p + 8, 4), p += 16;
    *p++ = 2;
    put_le(p, 0), put_le(p + 8, 2), p += 16;
    *p++ = 1, *p++ = 2, *p++ = 5, *p++ = 0;
    for (int i = 0; i < 4; i++, p += 8)
        put_le(p, i + 1);
    *p++ = 2, *p++ = 0, *p++ = 7;
    size_t rawlen = (size_t)(p - raw);
    uLongf zlen = compressBound((uLong)rawlen);
    unsigned char *z = malloc(zlen + 4);
    CHECK(compress2(z + 4, &zlen, raw, (uLong)rawlen, 6) == Z_OK);
    for (int i = 0; i < 4; i++)
        z[i] = (unsigned char)(rawlen >> (8 * i));
    struct sw_hist old;
    sw_hist_init(&old, &d2);
    CHECK_INT(sw_hist_decode_add(z, zlen + 4, &old), 1);
    CHECK_INT(old.entries, 5);
    CHECK_INT(old.counts[0], 2);
    CHECK_INT(old.underflow + old.overflow, 3);
    CHECK_INT(sw_hist_cell(&old, 0, 0), 0); /* no edge cells in SWH1 */
    CHECK_INT(old.partial, SW_HIST_NO_EDGES | SW_HIST_NO_SUMXY);
    CHECK_NEAR(old.sumy2, 4, 0);
    /* the partial bits survive a re-encode (the run sums of pruned spills) and a merge */
    CHECK_INT(sw_hist_encode(&old, 1, &blob, &len), 0);
    sw_hist_clear(&back);
    CHECK_INT(sw_hist_decode_add(blob, len, &back), 1);
    CHECK_INT(back.partial, SW_HIST_NO_EDGES | SW_HIST_NO_SUMXY);
    CHECK_INT(sw_hist_add(&h, &back), 0);
    CHECK_INT(h.partial, SW_HIST_NO_EDGES | SW_HIST_NO_SUMXY);
    free(blob);
    free(z);
    sw_hist_release(&old);
    sw_hist_release(&h);
    sw_hist_release(&back);
}

/* Sums of snapshots as the run sums keep them (server/run_hists.c). */
static int same_sums(const struct sw_hist *a, const struct sw_hist *b)
{
    size_t n = sw_hist_bins(a->def) + sw_hist_edges(a->def);
    return a->sumx == b->sumx && a->sumx2 == b->sumx2 && a->sumy == b->sumy && a->sumy2 == b->sumy2 &&
           a->sumxy == b->sumxy && a->entries == b->entries && a->underflow == b->underflow &&
           a->overflow == b->overflow && memcmp(a->counts, b->counts, n * sizeof *a->counts) == 0;
}

static void test_run_sums(void)
{
    enum { S = 40 };
    char err[160];
    struct sw_hist_def d[3] = {def1("p_in", 60, 100, 220),
                               {.dim = 2, .x = {20, -10, 10}, .y = {20, -10, 10}},
                               def1("p_in", 30, 100, 220)}; /* d[2]: another binning of d[0] */
    snprintf(d[1].name, sizeof d[1].name, "xy");
    snprintf(d[2].name, sizeof d[2].name, "%s", d[0].name);
    sw_selector_parse(&d[1].xsel, "hcal[0]", &F, err, sizeof err);
    sw_selector_parse(&d[1].ysel, "hcal[1]", &F, err, sizeof err);
    unsigned char *blob[S];
    size_t len[S];
    for (int k = 0; k < S; k++) {
        struct sw_hist h[2];
        sw_hist_init(&h[0], &d[0]);
        sw_hist_init(&h[1], &d[1]);
        for (int e = 0; e < 500 + 37 * k; e++) {
            clear_row();
            set("p_in", 0, 160.123456789 + 13.7 * grand() * (1 + k % 3));
            set("hcal", 0, 3.3 * grand() + 0.1 * k);
            set("hcal", 1, 4.7 * grand());
            sw_hist_fill(&h[0], row, 0);
            sw_hist_fill(&h[1], row, 0);
        }
        CHECK_INT(sw_hist_encode(h, 2, &blob[k], &len[k]), 0);
        sw_hist_release(&h[0]);
        sw_hist_release(&h[1]);
    }
    /* any order of adding gives the same doubles */
    struct sw_hist fwd[2], rev[2], part[2];
    for (int i = 0; i < 2; i++) {
        sw_hist_init(&fwd[i], &d[i]);
        sw_hist_init(&rev[i], &d[i]);
        sw_hist_init(&part[i], &d[i]);
    }
    for (int k = 0; k < S; k++) {
        CHECK_INT(sw_hist_decode_add_all(blob[k], len[k], fwd, 2), 2);
        CHECK_INT(sw_hist_decode_add_all(blob[S - 1 - k], len[S - 1 - k], rev, 2), 2);
    }
    CHECK(same_sums(&fwd[0], &rev[0]));
    CHECK(same_sums(&fwd[1], &rev[1]));
    /* a snapshot of its own binning, with a layout key: one spill decoded, then taken out again */
    struct sw_hist_snap a, b, sum;
    CHECK_INT(sw_hist_decode_new(blob[0], len[0], &a), 2);
    CHECK_INT(sw_hist_decode_new(blob[1], len[1], &b), 2);
    CHECK(a.layout == b.layout && a.layout != 0);
    CHECK(strcmp(a.defs[1].name, "xy") == 0 && a.defs[1].dim == 2 && a.defs[1].y.bins == 20);
    struct sw_hist other;
    sw_hist_init(&other, &d[2]);
    unsigned char *ob;
    size_t ol;
    CHECK_INT(sw_hist_encode(&other, 1, &ob, &ol), 0);
    struct sw_hist_snap o;
    CHECK_INT(sw_hist_decode_new(ob, ol, &o), 1);
    CHECK(o.layout != a.layout);
    struct sw_hist_snap bad;
    CHECK_INT(sw_hist_decode_new(ob, ol / 2, &bad), -1);
    CHECK(bad.n == 0 && !bad.hists && !bad.defs);
    /* the sum of all but spill 7: the whole sum minus spill 7's snapshot */
    struct sw_hist_snap seven;
    CHECK_INT(sw_hist_decode_new(blob[7], len[7], &seven), 2);
    struct sw_hist minus[2];
    for (int i = 0; i < 2; i++) {
        sw_hist_init(&minus[i], &d[i]);
        sw_hist_add(&minus[i], &fwd[i]);
        CHECK_INT(sw_hist_sub(&minus[i], &seven.hists[i]), 0);
        sw_hist_release(&part[i]);
        sw_hist_init(&part[i], &d[i]);
    }
    for (int k = 0; k < S; k++)
        if (k != 7)
            sw_hist_decode_add_all(blob[k], len[k], part, 2);
    CHECK(same_sums(&minus[0], &part[0]));
    CHECK(same_sums(&minus[1], &part[1]));
    CHECK_INT(sw_hist_sub(&minus[0], &o.hists[0]), -1); /* another binning */
    /* the sum's snapshot keeps its low parts (SWH3): decoded and added on, still the same doubles */
    unsigned char *sb;
    size_t sl;
    CHECK_INT(sw_hist_encode(fwd, 2, &sb, &sl), 0);
    CHECK_INT(sw_hist_decode_new(sb, sl, &sum), 2);
    CHECK(same_sums(&sum.hists[0], &fwd[0]) && same_sums(&sum.hists[1], &fwd[1]));
    CHECK(memcmp(sum.hists[0].lo, fwd[0].lo, sizeof fwd[0].lo) == 0);
    CHECK(fwd[0].lo[0] != 0 || fwd[0].lo[1] != 0); /* there were low parts to keep */
    CHECK(sum.layout == a.layout);                 /* the layout is not the sums' */
    for (int i = 0; i < 2; i++)
        CHECK_INT(sw_hist_sub(&sum.hists[i], &seven.hists[i]), 0);
    CHECK(same_sums(&sum.hists[0], &part[0]) && same_sums(&sum.hists[1], &part[1]));
    for (int i = 0; i < 2; i++) {
        sw_hist_release(&fwd[i]);
        sw_hist_release(&rev[i]);
        sw_hist_release(&part[i]);
        sw_hist_release(&minus[i]);
    }
    sw_hist_release(&other);
    sw_hist_snap_free(&a);
    sw_hist_snap_free(&b);
    sw_hist_snap_free(&o);
    sw_hist_snap_free(&seven);
    sw_hist_snap_free(&sum);
    free(ob);
    free(sb);
    for (int k = 0; k < S; k++)
        free(blob[k]);
}

int main(void)
{
    sw_fields_add(&F, "trigger", 1);
    sw_fields_add(&F, "p_in", 1);
    sw_fields_add(&F, "hcal", 4);
    sw_fields_add(&F, "ecal_cells", 60);
    test_binning();
    test_selectors();
    test_trigger_and_cut();
    test_stats_2d_and_add();
    test_peak();
    test_json();
    test_snapshots();
    test_edges_and_swh1();
    test_run_sums();
    return CHECK_DONE();
}
