/* fuzz_wire.c — libFuzzer target: one POST /api/v1/ingest body through sw_wire_parse, as the
 * server's ingest path calls it (api.c), with the NA64mu profile's fields. Every body is parsed
 * twice: with the server config's limits and with the smallest limits the config accepts, so the
 * 413 paths are reached too. A parsed batch is checked against the invariants wire.h promises and
 * filled into the profile's histograms, as the engine does next. Each parse is done twice more, with
 * the fast path and with Jansson only (slow_only), and the two must agree exactly.
 *
 * Input: the request body (NDJSON, row `event` or columnar `events` records). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "hist.h"
#include "wire.h"
#include "../unit/wire_compare.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sw_config cfg;
static struct sw_hist *hists;

static void release_all(void)
{
    for (int i = 0; hists && i < cfg.profile.nhists; i++)
        sw_hist_release(&hists[i]);
    free(hists);
    sw_config_release(&cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    sw_fuzz_load_config(&cfg);
    hists = calloc((size_t)cfg.profile.nhists, sizeof *hists);
    if (!hists)
        abort();
    for (int i = 0; i < cfg.profile.nhists; i++)
        if (sw_hist_init(&hists[i], &cfg.profile.hists[i]) != 0)
            abort();
    atexit(release_all);
    return 0;
}

/* What wire.h promises of a batch that parsed; a broken promise is a finding. */
static void check_batch(const struct sw_batch *b, const struct sw_fields *fields)
{
    if (b->nrecs == 0 || b->events != b->nrows || b->row_width != fields->row_width)
        abort();
    for (size_t i = 0; i < b->nrecs; i++) {
        const struct sw_record *r = &b->recs[i];
        if (r->type == SW_REC_EVENTS && (r->first > b->nrows || r->nevents > b->nrows - r->first))
            abort();
        if (r->run < 0 || (r->type != SW_REC_RUN_START && r->type != SW_REC_RUN_END && r->spill < 0))
            abort();
    }
    for (size_t i = 0; i < b->nrows; i++) {
        const double *row = b->rows + i * (size_t)b->row_width;
        if (b->trigger[i] < 0 || b->trigger[i] >= SW_TRIG_N || b->event_no[i] < 0 ||
            row[fields->offset[0]] != b->trigger[i])
            abort();
        for (int k = 0; k < b->row_width; k++)
            if (!isnan(row[k]) && !isfinite(row[k]))
                abort();
    }
}

static void parse_once(const uint8_t *data, size_t size, const struct sw_wire_limits *lim)
{
    const struct sw_fields *fields = &cfg.profile.fields;
    struct sw_batch b = {0}, slow = {0};
    struct sw_wire_error err, slow_err;
    const char *body = size ? (const char *)data : "";
    /* The fast path must give exactly what the Jansson path gives (wire.c). */
    struct sw_wire_limits jansson = *lim;
    jansson.slow_only = 1;
    int rc = sw_wire_parse(&b, body, size, fields, lim, &err);
    if (sw_wire_compare(rc, &b, &err, sw_wire_parse(&slow, body, size, fields, &jansson, &slow_err), &slow,
                        &slow_err))
        abort();
    sw_batch_release(&slow);
    if (rc == 0) {
        check_batch(&b, fields);
        for (int h = 0; h < cfg.profile.nhists; h++) {
            sw_hist_clear(&hists[h]);
            for (size_t i = 0; i < b.nrows; i++)
                sw_hist_fill(&hists[h], b.rows + i * (size_t)b.row_width, b.trigger[i]);
        }
    } else if ((err.code != SW_EINVAL && err.code != SW_ETOOBIG) || !err.msg[0] ||
               !memchr(err.msg, '\0', sizeof err.msg)) {
        abort();
    }
    sw_batch_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The server's limits, exactly as api.c passes them. */
    const struct sw_wire_limits server = {cfg.line_max, cfg.fields_max, cfg.batch_events_max, 0};
    /* The smallest the config accepts (config.c: line_max >= 256, fields_max >= 8, events >= 1). */
    const struct sw_wire_limits tight = {256, 8, 1, 0};
    parse_once(data, size, &server);
    parse_once(data, size, &tight);
    return 0;
}
