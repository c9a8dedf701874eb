/* sim_text.c — the simulator's output text (see sim.h): the growing buffer, numbers and calorimeter
 * cells as the wire format has them, the event records and the spill_end record. */
#include "sim_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            abort();
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            abort(); /* a simulator out of memory has nothing better to do */
        b->p = p;
        b->cap = cap;
    }
}

void sim_buf_clear(struct sim_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

void sim_buf_release(struct sim_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* A measurement: finite values with 6 significant digits, anything else (not reconstructed) as null. */
static void num(struct sim_buf *b, double v)
{
    if (!isfinite(v))
        sim_buf_printf(b, "null");
    else if (v == 0)
        sim_buf_printf(b, "0");
    else
        sim_buf_printf(b, "%.6g", v);
}

static void reserve(struct sim_buf *b, size_t more)
{
    if (b->len + more < b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 1 << 16;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        abort(); /* as in sim_buf_printf */
    b->p = p;
    b->cap = cap;
}

/* Calorimeter cells are rounded to 1 MeV, the ADC granularity, which keeps the 132 cells of an event
 * short on the wire; written by hand (fixed point, trailing zeros dropped) since printf would dominate
 * the simulator's time. */
static void cell(struct sim_buf *b, double v)
{
    if (!isfinite(v) || fabs(v) > 1e9) {
        num(b, v);
        return;
    }
    long long m = llround(v * 1000);
    reserve(b, 32);
    char *o = b->p + b->len, tmp[24];
    if (m < 0) {
        *o++ = '-';
        m = -m;
    }
    long long whole = m / 1000;
    int frac = (int)(m % 1000), n = 0;
    do {
        tmp[n++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    while (n)
        *o++ = tmp[--n];
    if (frac) {
        *o++ = '.';
        int digits = 3;
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        for (int d = digits - 1; d >= 0; d--) {
            o[d] = (char)('0' + frac % 10);
            frac /= 10;
        }
        o += digits;
    }
    *o = 0;
    b->len = (size_t)(o - b->p);
}

static void arr(struct sim_buf *b, const double *v, int n, int cells)
{
    sim_buf_printf(b, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            sim_buf_printf(b, ",");
        if (cells)
            cell(b, v[i]);
        else
            num(b, v[i]);
    }
    sim_buf_printf(b, "]");
}

static const char *const trig_names[4] = {"physics", "beam", "random", "led"};

static double scalar(const struct sim_ev *e, int i)
{
    const double v[] = {e->p_in, e->p_out, e->x,  e->y,   e->ecal,   e->ecal_psh, e->vhcal,
                        e->s0,   e->s1,    e->s4, e->smu, e->t_ecal, e->t_hcal};
    return v[i];
}

static const char *const scalar_names[] = {"p_in", "p_out", "x_tgt", "y_tgt", "ecal",   "ecal_psh", "vhcal",
                                           "s0",   "s1",    "s4",    "smu",   "t_ecal", "t_hcal"};
#define NSCALARS 13

static const char *const array_names[] = {"hcal", "veto", "ecal_cells", "hcal_cells"};
#define NARRAYS 4

static void array_out(struct sim_buf *b, const struct sim_ev *e, int k)
{
    if (k == 0)
        arr(b, e->hcal, 4, 0);
    else if (k == 1)
        arr(b, e->veto, 3, 0);
    else if (k == 2)
        arr(b, e->ecal_cells, 60, 1);
    else
        arr(b, e->hcal_cells, 72, 1);
}

void sim_write_events(struct sim_buf *b, const struct sim_spill *sp, const struct sim_ev *evs, int64_t first,
                      int64_t n, int columns)
{
    if (!columns) {
        for (int64_t i = 0; i < n; i++) {
            const struct sim_ev *e = &evs[i];
            sim_buf_printf(
                b, "{\"type\":\"event\",\"run\":%lld,\"spill\":%lld,\"event\":%lld,\"trigger\":\"%s\"",
                (long long)sp->run, (long long)sp->spill, (long long)(first + i), trig_names[e->trig]);
            for (int k = 0; k < NSCALARS; k++) {
                sim_buf_printf(b, ",\"%s\":", scalar_names[k]);
                num(b, scalar(e, k));
            }
            for (int k = 0; k < NARRAYS; k++) {
                sim_buf_printf(b, ",\"%s\":", array_names[k]);
                array_out(b, e, k);
            }
            sim_buf_printf(b, "}\n");
        }
    } else {
        sim_buf_printf(b, "{\"type\":\"events\",\"run\":%lld,\"spill\":%lld,\"columns\":{\"event\":[",
                       (long long)sp->run, (long long)sp->spill);
        for (int64_t i = 0; i < n; i++)
            sim_buf_printf(b, "%s%lld", i ? "," : "", (long long)(first + i));
        sim_buf_printf(b, "],\"trigger\":[");
        for (int64_t i = 0; i < n; i++)
            sim_buf_printf(b, "%s\"%s\"", i ? "," : "", trig_names[evs[i].trig]);
        for (int k = 0; k < NSCALARS; k++) {
            sim_buf_printf(b, "],\"%s\":[", scalar_names[k]);
            for (int64_t i = 0; i < n; i++) {
                if (i)
                    sim_buf_printf(b, ",");
                num(b, scalar(&evs[i], k));
            }
        }
        for (int k = 0; k < NARRAYS; k++) {
            sim_buf_printf(b, "],\"%s\":[", array_names[k]);
            for (int64_t i = 0; i < n; i++) {
                if (i)
                    sim_buf_printf(b, ",");
                array_out(b, &evs[i], k);
            }
        }
        sim_buf_printf(b, "]}}\n");
    }
}

static const char *const daq_names[SIM_DAQ_N] = {"BEAM", "MS1", "MS2", "ECAL", "HCAL", "VHCAL", "VETO"};

void sim_spill_end(const struct sim_spill *sp, struct sim_buf *b, double time, int daq_sources)
{
    sim_buf_printf(
        b,
        "{\"type\":\"spill_end\",\"run\":%lld,\"spill\":%lld,\"time\":%.3f,\"duration\":%.4f,"
        "\"dead_time\":%.4f,\"decode_errors\":0,\"counters\":{\"mot\":%lld,\"s0\":%lld,\"smu\":%lld,"
        "\"v1\":%lld,\"vm1\":%lld,\"vm2\":%lld,\"trig_physics\":%lld,\"trig_beam\":%lld,"
        "\"trig_random\":%lld,\"trig_led\":%lld,\"recorded\":%lld}",
        (long long)sp->run, (long long)sp->spill, time, sp->duration, sp->dead_time, (long long)sp->mot,
        (long long)sp->s0, (long long)sp->smu, (long long)sp->v1, (long long)sp->vm1, (long long)sp->vm2,
        (long long)sp->trig[0], (long long)sp->trig[1], (long long)sp->trig[2], (long long)sp->trig[3],
        (long long)sp->recorded);
    if (daq_sources) {
        sim_buf_printf(b, ",\"daq_sources\":{");
        for (int d = 0; d < SIM_DAQ_N; d++)
            sim_buf_printf(b, "%s\"%s\":{\"events\":%lld,\"missing\":%lld,\"empty\":%lld,\"truncated\":%lld}",
                           d ? "," : "", daq_names[d], (long long)sp->recorded,
                           (long long)sp->daq[d][SIM_DAQ_MISSING], (long long)sp->daq[d][SIM_DAQ_EMPTY],
                           (long long)sp->daq[d][SIM_DAQ_TRUNCATED]);
        sim_buf_printf(b, "}");
    }
    sim_buf_printf(b, "}\n");
}
