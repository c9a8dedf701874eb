/* Unit tests of server/rootjson.c: the TH1D/TH2D members in ROOT's streamer order, cells in ROOT's
 * order (under/overflow, 2D edge cells), the statistics members, category labels as a THashList,
 * non-finite numbers as null, a partial (SWH1) 2D sum, and the TList bundle. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rootjson.h"

static struct sw_fields F;
static double row[16];

static void fill(struct sw_hist *h, double x, double y)
{
    for (int i = 0; i < F.row_width; i++)
        row[i] = NAN;
    row[F.offset[sw_fields_find(&F, "x", 1)]] = x;
    row[F.offset[sw_fields_find(&F, "y", 1)]] = y;
    sw_hist_fill(h, row, 0);
}

static double num(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* The member names of o in order, joined by ',' */
static void keys(json_t *o, char *out, size_t len)
{
    const char *k;
    json_t *v;
    out[0] = 0;
    json_object_foreach(o, k, v)
    {
        strncat(out, k, len - strlen(out) - 2);
        strcat(out, ",");
    }
}

static void test_th1(void)
{
    struct sw_hist_def d = {
        .name = "trig", .title = "Trigger mix", .dim = 1, .x = {4, 0, 4}, .xsource = "x", .nxlabels = 4};
    const char *lab[] = {"physics", "beam", "random", "led"};
    for (int i = 0; i < 4; i++)
        strcpy(d.xlabels[i], lab[i]);
    char err[160];
    sw_selector_parse(&d.xsel, "x", &F, err, sizeof err);
    struct sw_hist h;
    sw_hist_init(&h, &d);
    double xs[] = {-1, 0.5, 1.5, 1.5, 3.9, 4, 7};
    for (int i = 0; i < 7; i++)
        fill(&h, xs[i], 0);
    json_t *j = sw_root_hist(&h);
    char k[2048];
    keys(j, k, sizeof k);
    CHECK(strcmp(k,
                 "_typename,fUniqueID,fBits,fName,fTitle,fLineColor,fLineStyle,fLineWidth,fFillColor,"
                 "fFillStyle,fMarkerColor,fMarkerStyle,fMarkerSize,fNcells,fXaxis,fYaxis,fZaxis,fBarOffset,"
                 "fBarWidth,fEntries,fTsumw,fTsumw2,fTsumwx,fTsumwx2,fMaximum,fMinimum,fNormFactor,"
                 "fContour,fSumw2,fOption,fFunctions,fBufferSize,fBuffer,fBinStatErrOpt,fStatOverflows,"
                 "fArray,") == 0);
    if (strncmp(k, "_typename,fUniqueID", 19) != 0)
        fprintf(stderr, "members: %s\n", k);
    CHECK(strcmp(json_string_value(json_object_get(j, "_typename")), "TH1D") == 0);
    CHECK_INT(num(j, "fNcells"), 6);
    json_t *arr = json_object_get(j, "fArray");
    long long want[] = {1, 1, 2, 0, 1, 2}; /* underflow, 4 bins, overflow */
    CHECK_INT(json_array_size(arr), 6);
    for (int i = 0; i < 6; i++)
        CHECK_INT(json_integer_value(json_array_get(arr, (size_t)i)), want[i]);
    CHECK(json_equal(arr, json_object_get(j, "fSumw2")));
    CHECK_INT(num(j, "fEntries"), 7);
    CHECK_INT(num(j, "fTsumw"), 7);
    CHECK_NEAR(num(j, "fTsumwx"), -1 + 0.5 + 1.5 + 1.5 + 3.9 + 4 + 7, 1e-12);
    CHECK_INT(num(j, "fStatOverflows"), 1);
    json_t *ax = json_object_get(j, "fXaxis");
    CHECK(strcmp(json_string_value(json_object_get(ax, "_typename")), "TAxis") == 0);
    CHECK_INT(num(ax, "fNbins"), 4);
    CHECK_INT(num(ax, "fNdivisions"), 510);
    CHECK_NEAR(num(ax, "fLabelSize"), 0.035, 0);
    CHECK_INT(num(ax, "fBits2"), 1); /* every bin labelled: kAlphanumeric */
    json_t *labels = json_object_get(ax, "fLabels");
    CHECK(strcmp(json_string_value(json_object_get(labels, "_typename")), "THashList") == 0);
    json_t *l2 = json_array_get(json_object_get(labels, "arr"), 2);
    CHECK(strcmp(json_string_value(json_object_get(l2, "fString")), "random") == 0);
    CHECK_INT(num(l2, "fUniqueID"), 3);
    CHECK(json_is_null(json_object_get(json_object_get(j, "fYaxis"), "fLabels")));
    json_decref(j);
    /* a non-finite sum (an infinite source value) is null, not a bare inf */
    h.sumx2 = INFINITY;
    j = sw_root_hist(&h);
    CHECK(json_is_null(json_object_get(j, "fTsumwx2")));
    char *text = json_dumps(j, 0);
    CHECK(text && !strstr(text, "inf") && !strstr(text, "nan"));
    free(text);
    json_t *list = sw_root_list("bundle", json_pack("[o]", j));
    CHECK(strcmp(json_string_value(json_object_get(list, "_typename")), "TList") == 0);
    CHECK_INT(json_array_size(json_object_get(list, "opt")), 1);
    json_decref(list);
    sw_hist_release(&h);
}

static void test_th2(void)
{
    struct sw_hist_def d = {.name = "xy",
                            .title = "xy",
                            .dim = 2,
                            .x = {3, 0, 3},
                            .y = {2, 0, 2},
                            .unit = "cm",
                            .unit_y = "mm",
                            .xsource = "x",
                            .ysource = "y"};
    char err[160];
    sw_selector_parse(&d.xsel, "x", &F, err, sizeof err);
    sw_selector_parse(&d.ysel, "y", &F, err, sizeof err);
    struct sw_hist h;
    sw_hist_init(&h, &d);
    fill(&h, 2.5, 0.5); /* cell (3,1) = 3 + 5*1 = 8 */
    fill(&h, 0.5, 1.5); /* (1,2) = 11 */
    fill(&h, -1, 1.5);  /* (0,2) = 10 */
    fill(&h, 9, 9);     /* (4,3) = 19 */
    fill(&h, 1.5, -5);  /* (2,0) = 2 */
    json_t *j = sw_root_hist(&h);
    CHECK(strcmp(json_string_value(json_object_get(j, "_typename")), "TH2D") == 0);
    CHECK_INT(num(j, "fNcells"), 20);
    json_t *arr = json_object_get(j, "fArray");
    CHECK_INT(json_array_size(arr), 20);
    for (int c = 0; c < 20; c++)
        CHECK_INT(json_integer_value(json_array_get(arr, (size_t)c)),
                  c == 8 || c == 11 || c == 10 || c == 19 || c == 2);
    CHECK_NEAR(num(j, "fTsumwxy"), 2.5 * 0.5 + 0.5 * 1.5 - 1.5 + 81 - 7.5, 1e-12);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(j, "fXaxis"), "fTitle")), "x [cm]") == 0);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(j, "fYaxis"), "fTitle")), "y [mm]") == 0);
    char k[2048];
    keys(j, k, sizeof k);
    CHECK(strstr(k, "fStatOverflows,fScalefactor,fTsumwy,fTsumwy2,fTsumwxy,fArray,") != NULL);
    json_decref(j);
    /* a sum of SWH1 snapshots: no x*y sum, estimated from the in-range bin centres */
    h.partial = SW_HIST_NO_EDGES | SW_HIST_NO_SUMXY;
    j = sw_root_hist(&h);
    CHECK_NEAR(num(j, "fTsumwxy"), 2.5 * 0.5 + 0.5 * 1.5, 1e-12);
    json_decref(j);
    sw_hist_release(&h);
}

int main(void)
{
    sw_fields_add(&F, "x", 1);
    sw_fields_add(&F, "y", 1);
    test_th1();
    test_th2();
    return CHECK_DONE();
}
