/* judge.c — see judge.h */
#include "judge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alarms.h"
#include "clock.h"
#include "jsonnum.h"
#include "refs.h"
#include "store.h"
#include "stream.h"

/* Why a restored spill that timed out without any data since the restart is incomplete. */
static const char restart_reason[] = "Incomplete spill: lost in a server restart and not resent";

/* ---- check references, one set per profile in use ---- */

/* The references of profile p (NULL when not built). */
static struct sw_refs *refs_of(struct sw_engine *e, const struct sw_profile *p)
{
    for (int i = 0; i < e->nrefsets; i++)
        if (e->refsets[i].prof == p)
            return e->refsets[i].refs;
    return NULL;
}

int eng_refs_add(struct sw_engine *e, struct sw_profile *p, struct sw_refs *refs)
{
    struct refset *g = realloc(e->refsets, (size_t)(e->nrefsets + 1) * sizeof *g);
    if (!g) {
        sw_refs_free(refs);
        return -1;
    }
    e->refsets = g;
    e->refsets[e->nrefsets++] = (struct refset){sw_profile_ref(p), refs};
    return 0;
}

void eng_refs_prune(struct sw_engine *e)
{
    for (int i = e->nrefsets - 1; i >= 0; i--) {
        struct sw_profile *p = e->refsets[i].prof;
        int used = p == e->prof;
        for (int k = 0; !used && k < e->nopen; k++)
            used = e->open[k]->prof == p;
        if (used)
            continue;
        sw_refs_free(e->refsets[i].refs);
        sw_profile_unref(p);
        e->refsets[i] = e->refsets[--e->nrefsets];
    }
}

/* ---- the verdict ---- */

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* Publishes the closed spill as a `spill` event: the numbers of the spill listing (rates as
 * GET /api/v1/runs/{run}/spills shows them). One small JSON document. */
static void publish_spill(struct sw_engine *e, const struct sw_spill_rec *rec, const json_t *counters,
                          json_t *reasons)
{
    if (!e->stream)
        return;
    double d = rec->duration;
    json_t *rates = json_object();
    json_object_set_new(rates, "trigger_hz", sw_json_real_or_null(d > 0 ? (double)rec->events / d : NAN));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)counters, key, v)
    {
        char name[80];
        snprintf(name, sizeof name, "%s_hz", key);
        json_object_set_new(rates, name, sw_json_real_or_null(d > 0 ? json_number_value(v) / d : NAN));
    }
    json_t *j = json_pack(
        "{s:I, s:I, s:s, s:O, s:I, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:f}", "run", (json_int_t)rec->run,
        "spill", (json_int_t)rec->spill, "flag", rec->flag, "reasons", reasons, "events",
        (json_int_t)rec->events, "mot", sw_json_count(rec->mot), /* a count, as in the spill listing */
        "dead_time", sw_json_real_or_null(rec->dead_time), "duration", sw_json_real_or_null(d), "complete",
        rec->complete, "rates", rates, "started", sw_json_real_or_null(rec->started), "ended",
        sw_json_real_or_null(rec->ended), "closed_at", sw_wall());
    if (j)
        sw_stream_publish(e->stream, "spill", j);
    json_decref(j);
}

struct sw_spill_rec *eng_judge_spill(struct sw_engine *e, struct spill *sp, const struct sw_record *end,
                                     const char *source, int64_t seq, enum sw_state *flagp)
{
    const struct sw_profile *p = sp->prof; /* judged by the profile it was opened with */
    struct sw_refs *refs = refs_of(e, p);
    if (!refs) { /* not expected: eng_refs_prune keeps them while a spill of p is open */
        refs = sw_refs_new(p, sw_store_reader(e->store), INFINITY);
        if (!refs || eng_refs_add(e, sp->prof, refs) != 0)
            return NULL;
    }
    struct sw_quality_input in = {
        .run = sp->run,
        .spill = sp->spill,
        .started = isfinite(sp->started) ? sp->started : sp->first_wall,
        .run_meta = sp->run == e->meta_run ? e->meta : NULL,
        .hists = sp->hists,
        .counters = end ? end->counters : NULL,
        .daq_sources = end ? end->daq_sources : NULL,
        .duration = end ? end->duration : NAN,
        .dead_time = end ? end->dead_time : NAN,
        .decode_errors = end ? end->decode_errors : NAN,
        .events = sp->events,
        .unknown_fields = sp->unknown_fields,
        .complete = end != NULL,
        .incomplete_reason = !end && sp->restored ? restart_reason : NULL,
    };
    if (end && !isnan(end->time))
        sp->ended = end->time;
    if (isnan(in.duration) && isfinite(sp->started) && isfinite(sp->ended) && sp->ended >= sp->started)
        in.duration = sp->ended - sp->started;

    struct sw_check_result *res = calloc((size_t)p->nchecks + 1, sizeof *res);
    struct sw_spill_rec *rec = calloc(1, sizeof *rec);
    json_t *reasons = json_array();
    json_t *checks = NULL;
    json_t *triggers = json_object();
    if (!res || !rec || !reasons || !triggers)
        goto oom;
    enum sw_state flag = sw_refs_judge(refs, p, &in, sw_store_reader(e->store), res, reasons, &checks);
    double mot = sw_quality_counter(&in, p->mot_counter);
    sw_alarms_spill(e->alarms, p, &in, flag, res, sp->run, sp->spill, !(mot < p->beam_min_mot));
    if (isfinite(mot))
        e->last_beam = mot >= p->beam_min_mot;
    for (int t = 0; t < SW_TRIG_N; t++)
        json_object_set_new(triggers, sw_trigger_name(t), json_integer((json_int_t)sp->trig[t]));

    rec->run = sp->run;
    rec->spill = sp->spill;
    rec->started = isfinite(sp->started) ? sp->started : sp->first_wall;
    rec->ended = isfinite(sp->ended) ? sp->ended : sp->last_wall;
    rec->duration = in.duration;
    rec->mot = mot;
    rec->dead_time = in.dead_time;
    rec->decode_errors = in.decode_errors;
    rec->events = sp->events;
    rec->unknown_fields = sp->unknown_fields;
    rec->complete = in.complete;
    snprintf(rec->flag, sizeof rec->flag, "%s", sw_state_name(flag));
    snprintf(rec->profile_version, sizeof rec->profile_version, "%s", p->version);
    publish_spill(e, rec, in.counters ? in.counters : NULL, reasons);
    rec->reasons_json = dump(reasons);
    rec->checks_json = dump(checks);
    rec->triggers_json = dump(triggers);
    rec->counters_json = in.counters ? json_dumps(in.counters, JSON_COMPACT) : strdup("{}");
    rec->daq_sources_json = in.daq_sources ? json_dumps(in.daq_sources, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    reasons = checks = triggers = NULL;
    if (source) {
        snprintf(rec->source, sizeof rec->source, "%s", source);
        rec->seq = seq;
    }
    /* A spill's snapshot is SWH2: the low parts that adding the ingest pool's partial histograms
     * left (sw_hist_add keeps each sum the double nearest the exact one) are dropped, the sums
     * themselves are unchanged; only sums of snapshots (run_hists) keep theirs (SWH3). */
    for (int k = 0; k < p->nhists; k++)
        memset(sp->hists[k].lo, 0, sizeof sp->hists[k].lo);
    if (!rec->reasons_json || !rec->checks_json || !rec->triggers_json || !rec->counters_json ||
        (in.daq_sources && !rec->daq_sources_json) ||
        sw_hist_encode(sp->hists, p->nhists, &rec->blob, &rec->bloblen) != 0)
        goto oom;
    free(res);
    *flagp = flag;
    return rec;
oom:
    json_decref(reasons);
    json_decref(checks);
    json_decref(triggers);
    free(res);
    sw_spill_rec_free(rec);
    return NULL;
}
