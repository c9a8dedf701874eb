/* fuzz_selector.c — libFuzzer target: sw_selector_parse against the NA64mu fields, then the parsed
 * selector evaluated on an event row and filled into a histogram that uses it as the x source,
 * the y source (2D) and the cut, as the profile loader and the engine would.
 *
 * Input: the selector text (up to the first newline), then the raw bytes of the row's doubles
 * (missing ones are NaN, like fields absent from an event). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hist.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sw_config cfg;

static void release_all(void)
{
    sw_config_release(&cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    sw_fuzz_load_config(&cfg);
    atexit(release_all);
    return 0;
}

static void fill(const struct sw_hist_def *def, const double *row, int trigger)
{
    struct sw_hist h;
    if (sw_hist_init(&h, def) != 0)
        abort();
    sw_hist_fill(&h, row, trigger);
    struct sw_hist_stats st;
    sw_hist_stats(&h, &st);
    sw_hist_release(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct sw_fields *fields = &cfg.profile.fields;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - data) : size;
    char *text = strndup((const char *)data, tlen);
    double *row = malloc((size_t)fields->row_width * sizeof *row);
    if (!text || !row)
        abort();
    for (int i = 0; i < fields->row_width; i++)
        row[i] = NAN;
    size_t rest = nl ? size - tlen - 1 : 0;
    size_t rowbytes = (size_t)fields->row_width * sizeof *row;
    memcpy(row, nl ? nl + 1 : data, rest < rowbytes ? rest : rowbytes);

    struct sw_selector sel;
    char err[160] = "";
    if (sw_selector_parse(&sel, text, fields, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        goto out;
    }
    if (sel.field < 0 || sel.field >= fields->n || sel.offset != fields->offset[sel.field] ||
        sel.width != fields->width[sel.field] || (sel.kind == SW_SEL_FIELD && sel.width != 1) ||
        (sel.kind == SW_SEL_INDEX && (sel.index < 0 || sel.index >= sel.width)))
        abort();
    int trigger = (int)(tlen % SW_TRIG_N);
    if (sel.kind != SW_SEL_EACH)
        (void)sw_selector_value(&sel, row);
    struct sw_hist_def def = {.dim = 1, .x = {10, -1, 1}, .y = {10, -1, 1}, .xsel = sel, .threshold = 0};
    fill(&def, row, trigger); /* x source (each() allowed) */
    if (sel.kind != SW_SEL_EACH) {
        def.dim = 2; /* y source of a 2D histogram, and a cut on the same value */
        def.ysel = sel;
        def.has_cut = 1;
        def.cut = sel;
        def.cut_min = -INFINITY;
        def.cut_max = INFINITY;
        fill(&def, row, trigger);
    }
out:
    free(row);
    free(text);
    return 0;
}
