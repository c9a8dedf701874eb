/* rootjson.c — see rootjson.h. Member names and order follow ROOT's streamers (TObject, TNamed,
 * TAttLine, TAttFill, TAttMarker, TH1, TH2, TArrayD; TAxis = TNamed, TAttAxis, own members), the
 * defaults those of a histogram made in ROOT's default style. */
#include "rootjson.h"

#include <stdio.h>
#include <string.h>

#include "jsonnum.h"

/* The axis title: the source quantity with its unit, e.g. "p_in [GeV/c]" (each(f): the element
 * index of f, named f). */
static void axis_title(char *out, size_t len, const char *source, const char *unit)
{
    char q[64];
    size_t n = strlen(source);
    if (n > 6 && strncmp(source, "each(", 5) == 0 && source[n - 1] == ')')
        snprintf(q, sizeof q, "%.*s", (int)(n - 6), source + 5);
    else
        snprintf(q, sizeof q, "%s", source);
    if (unit && *unit)
        snprintf(out, len, "%s%s[%s]", q, *q ? " " : "", unit);
    else
        snprintf(out, len, "%s", q);
}

/* A TAxis; labels (n names, for bins 1..n) as a THashList of TObjString, else null. */
static json_t *axis(const char *name, const char *title, int bins, double min, double max,
                    const char (*labels)[32], int nlabels)
{
    json_t *lab = json_null();
    if (nlabels > 0) {
        json_t *arr = json_array(), *opt = json_array();
        for (int i = 0; i < nlabels; i++) {
            /* ROOT's TAxis::SetBinLabel: the TObjString's unique id is its bin */
            json_array_append_new(arr, json_pack("{s:s, s:i, s:i, s:s}", "_typename", "TObjString",
                                                 "fUniqueID", i + 1, "fBits", 0, "fString", labels[i]));
            json_array_append_new(opt, json_string(""));
        }
        json_decref(lab);
        lab = json_pack("{s:s, s:s, s:o, s:o}", "_typename", "THashList", "name", "THashList", "arr", arr,
                        "opt", opt);
    }
    json_t *a = json_pack("{s:s, s:i, s:i, s:s, s:s}", "_typename", "TAxis", "fUniqueID", 0, "fBits", 0,
                          "fName", name, "fTitle", title);
    if (!a) {
        json_decref(lab);
        return NULL;
    }
    /* TAttAxis */
    json_object_update_new(a,
                           json_pack("{s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:i, s:i}", "fNdivisions",
                                     510, "fAxisColor", 1, "fLabelColor", 1, "fLabelFont", 42, "fLabelOffset",
                                     0.005, "fLabelSize", 0.035, "fTickLength", 0.03, "fTitleOffset", 1.0,
                                     "fTitleSize", 0.035, "fTitleColor", 1, "fTitleFont", 42));
    /* TAxis; fBits2 bit 0 (kAlphanumeric): every bin has a label, as ROOT sets it */
    json_object_update_new(a, json_pack("{s:i, s:o, s:o, s:[], s:i, s:i, s:i, s:b, s:s, s:o, s:n}", "fNbins",
                                        bins, "fXmin", sw_json_real_or_null(min), "fXmax",
                                        sw_json_real_or_null(max), "fXbins", "fFirst", 0, "fLast", 0,
                                        "fBits2", nlabels > 0 && nlabels == bins ? 1 : 0, "fTimeDisplay", 0,
                                        "fTimeFormat", "", "fLabels", lab, "fModLabs"));
    return a;
}

json_t *sw_root_hist(const struct sw_hist *h)
{
    const struct sw_hist_def *d = h->def;
    int two = d->dim == 2, nx = d->x.bins, ny = two ? d->y.bins : 0;
    size_t ncells = (size_t)(nx + 2) * (two ? (size_t)(ny + 2) : 1);
    char xt[128], yt[128];
    axis_title(xt, sizeof xt, d->xsource, d->unit);
    axis_title(yt, sizeof yt, d->ysource, d->unit_y);

    json_t *arr = json_array(), *sumw2 = json_array();
    double bsxy = 0; /* x*y from the bin centres, for a partial 2D sum */
    double wx = (d->x.max - d->x.min) / nx, wy = two ? (d->y.max - d->y.min) / ny : 0;
    for (int iy = 0; iy <= (two ? ny + 1 : 0); iy++)
        for (int ix = 0; ix <= nx + 1; ix++) {
            uint64_t c = sw_hist_cell(h, ix, iy);
            json_array_append_new(arr, json_integer((json_int_t)c));
            json_array_append_new(sumw2, json_integer((json_int_t)c));
            if (two && ix >= 1 && ix <= nx && iy >= 1 && iy <= ny)
                bsxy += (double)c * (d->x.min + (ix - 0.5) * wx) * (d->y.min + (iy - 0.5) * wy);
        }
    if (json_array_size(arr) != ncells || json_array_size(sumw2) != ncells) {
        json_decref(arr);
        json_decref(sumw2);
        return NULL;
    }
    double n = (double)h->entries;
    json_t *j = json_pack("{s:s, s:i, s:i, s:s, s:s}", "_typename", two ? "TH2D" : "TH1D", "fUniqueID", 0,
                          "fBits", 8, "fName", d->name, "fTitle", d->title);
    if (!j) {
        json_decref(arr);
        json_decref(sumw2);
        return NULL;
    }
    /* TAttLine, TAttFill, TAttMarker as a ROOT histogram gets them from the default style */
    json_object_update_new(j, json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f}", "fLineColor", 602,
                                        "fLineStyle", 1, "fLineWidth", 1, "fFillColor", 0, "fFillStyle", 1001,
                                        "fMarkerColor", 1, "fMarkerStyle", 1, "fMarkerSize", 1.0));
    json_object_set_new(j, "fNcells", json_integer((json_int_t)ncells));
    json_object_set_new(j, "fXaxis", axis("xaxis", xt, nx, d->x.min, d->x.max, d->xlabels, d->nxlabels));
    if (two) {
        json_object_set_new(j, "fYaxis", axis("yaxis", yt, ny, d->y.min, d->y.max, NULL, 0));
        json_object_set_new(j, "fZaxis", axis("zaxis", "entries", 1, 0, 1, NULL, 0));
    } else {
        json_object_set_new(j, "fYaxis", axis("yaxis", "entries", 1, 0, 1, NULL, 0));
        json_object_set_new(j, "fZaxis", axis("zaxis", "", 1, 0, 1, NULL, 0));
    }
    json_object_update_new(j, json_pack("{s:i, s:i, s:o, s:o, s:o, s:o, s:o}", "fBarOffset", 0, "fBarWidth",
                                        1000, "fEntries", sw_json_count(n), "fTsumw", sw_json_count(n),
                                        "fTsumw2", sw_json_count(n), "fTsumwx", sw_json_real_or_null(h->sumx),
                                        "fTsumwx2", sw_json_real_or_null(h->sumx2)));
    json_object_update_new(
        j, json_pack("{s:i, s:i, s:i, s:[], s:o, s:s, s:{s:s, s:s, s:[], s:[]}, s:i, s:[], s:i, s:i}",
                     "fMaximum", -1111, "fMinimum", -1111, "fNormFactor", 0, "fContour", "fSumw2", sumw2,
                     "fOption", "", "fFunctions", "_typename", "TList", "name", "TList", "arr", "opt",
                     "fBufferSize", 0, "fBuffer", "fBinStatErrOpt", 0, "fStatOverflows", 1));
    if (two)
        json_object_update_new(
            j, json_pack("{s:i, s:o, s:o, s:o}", "fScalefactor", 1, "fTsumwy", sw_json_real_or_null(h->sumy),
                         "fTsumwy2", sw_json_real_or_null(h->sumy2), "fTsumwxy",
                         sw_json_real_or_null(h->partial & SW_HIST_NO_SUMXY ? bsxy : h->sumxy)));
    json_object_set_new(j, "fArray", arr);
    return j;
}

json_t *sw_root_list(const char *name, json_t *arr)
{
    json_t *opt = json_array();
    for (size_t i = 0; i < json_array_size(arr); i++)
        json_array_append_new(opt, json_string(""));
    return json_pack("{s:s, s:s, s:o, s:o}", "_typename", "TList", "name", name, "arr", arr, "opt", opt);
}
