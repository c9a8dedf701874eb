/* store_write.c — the store's writes (store_int.h): the writer's prepared statements and one
 * attempt of each kind of job, in its own transaction; the spill record's release. Writer thread. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "run_hists.h"
#include "store_int.h"

void sw_spill_rec_free(struct sw_spill_rec *rec)
{
    if (!rec)
        return;
    free(rec->reasons_json);
    free(rec->counters_json);
    free(rec->triggers_json);
    free(rec->checks_json);
    free(rec->daq_sources_json);
    free(rec->blob);
    free(rec);
}

static void bind_real(sw_stmt *st, int i, double v)
{
    if (isfinite(v))
        sw_sql_bind_double(st, i, v);
    else
        sw_sql_bind_null(st, i);
}

/* The check results of a spill, serialised by the engine as a JSON array of
 * [name, category, state, value, raw, reason, provenance], as rows (?1: the array). */
#define CHECK_ROWS_LITE                                                                           \
    "SELECT json_extract(value,'$[0]'), json_extract(value,'$[1]'), json_extract(value,'$[2]'), " \
    "json_extract(value,'$[3]'), json_extract(value,'$[4]'), json_extract(value,'$[5]'), "        \
    "json_extract(value,'$[6]') FROM json_each(?1)"
#define CHECK_ROWS_PG                                                             \
    "SELECT v->>0, v->>1, v->>2, (v->>3)::float8, (v->>4)::float8, v->>5, v->>6 " \
    "FROM json_array_elements(?1::json) AS t(v)"

static int step_reset(sw_stmt *st)
{
    int rc = sw_sql_step(st);
    sw_sql_reset(st);
    sw_sql_clear_bindings(st);
    return rc == SW_SQL_DONE ? 0 : -1;
}

static int write_spill(struct sw_store *s, struct sw_spill_rec *r)
{
    sw_sql *db = s->db;
    sw_stmt *st;
    if (sw_sql_exec(db, "BEGIN IMMEDIATE", NULL) != SW_SQL_OK)
        goto fail;
    st = s->ins_run;
    sw_sql_bind_int64(st, 1, r->run);
    bind_real(st, 2, r->started);
    if (step_reset(st))
        goto fail;

    st = s->ins_spill;
    sw_sql_bind_int64(st, 1, r->run);
    sw_sql_bind_int64(st, 2, r->spill);
    bind_real(st, 3, r->started);
    bind_real(st, 4, r->ended);
    bind_real(st, 5, r->duration);
    sw_sql_bind_int64(st, 6, (int64_t)r->events);
    bind_real(st, 7, r->mot);
    bind_real(st, 8, r->dead_time);
    bind_real(st, 9, r->decode_errors);
    sw_sql_bind_int64(st, 10, (int64_t)r->unknown_fields);
    sw_sql_bind_int(st, 11, r->complete);
    sw_sql_bind_text(st, 12, r->flag, -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 13, r->reasons_json ? r->reasons_json : "[]", -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 14, r->counters_json ? r->counters_json : "{}", -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 15, r->triggers_json ? r->triggers_json : "{}", -1, SW_SQL_STATIC);
    sw_sql_bind_text(st, 16, r->profile_version, -1, SW_SQL_STATIC);
    sw_sql_bind_double(st, 17, sw_wall());
    if (r->daq_sources_json)
        sw_sql_bind_text(st, 18, r->daq_sources_json, -1, SW_SQL_STATIC);
    else
        sw_sql_bind_null(st, 18);
    if (step_reset(st))
        goto fail;

    st = s->ins_hist;
    sw_sql_bind_int64(st, 1, r->run);
    sw_sql_bind_int64(st, 2, r->spill);
    sw_sql_bind_blob(st, 3, r->blob ? (const void *)r->blob : "", (int)r->bloblen, SW_SQL_STATIC);
    if (step_reset(st))
        goto fail;

    if (r->checks_json) {
        /* One row per check result; the engine serialised them as an array of
         * [name, category, state, value, raw, reason, provenance]. */
        st = s->ins_check;
        sw_stmt *js;
        if (sw_sql_prepare(db, sw_sql_is_pg(db) ? CHECK_ROWS_PG : CHECK_ROWS_LITE, -1, &js, NULL) !=
            SW_SQL_OK)
            goto fail;
        sw_sql_bind_text(js, 1, r->checks_json, -1, SW_SQL_STATIC);
        int rc;
        while ((rc = sw_sql_step(js)) == SW_SQL_ROW) {
            sw_sql_bind_int64(st, 1, r->run);
            sw_sql_bind_int64(st, 2, r->spill);
            for (int c = 0; c < 7; c++)
                sw_sql_bind_column(st, 3 + c, js, c);
            if (step_reset(st)) {
                sw_sql_finalize(js);
                goto fail;
            }
        }
        sw_sql_finalize(js);
        if (rc != SW_SQL_DONE)
            goto fail;
    }

    st = s->del_open;
    sw_sql_bind_int64(st, 1, r->run);
    sw_sql_bind_int64(st, 2, r->spill);
    if (step_reset(st))
        goto fail;

    if (r->source[0]) {
        st = s->up_source;
        sw_sql_bind_text(st, 1, r->source, -1, SW_SQL_STATIC);
        sw_sql_bind_int64(st, 2, r->seq);
        sw_sql_bind_int64(st, 3, r->run);
        sw_sql_bind_int64(st, 4, r->spill);
        sw_sql_bind_double(st, 5, sw_wall());
        if (step_reset(st))
            goto fail;
    }
    if (sw_run_hists_drain(db) != 0 || sw_sql_exec(db, "COMMIT", NULL) != SW_SQL_OK)
        goto fail;
    return 0;
fail : {
    char what[96];
    snprintf(what, sizeof what, "commit of run %lld spill %lld failed", (long long)r->run,
             (long long)r->spill);
    sw_store_note_error(s, what);
    sw_sql_exec(db, "ROLLBACK", NULL);
    return -1;
}
}

static int write_run(struct sw_store *s, struct job *j)
{
    sw_stmt *st = j->kind == JOB_RUN_START ? s->upd_run_start : s->upd_run_end;
    sw_sql_bind_int64(st, 1, j->run);
    if (j->kind == JOB_RUN_START) {
        /* The run_start record's own time is the run's start, also over the provisional start from
         * the arrival of its first spill (a replay arrives long after the run); without one, the
         * earliest start known stays. */
        bind_real(st, 2, isfinite(j->time) ? j->time : sw_wall());
        sw_sql_bind_int(st, 4, isfinite(j->time) && !j->resume); /* a resumed run keeps its start */
        sw_sql_bind_int(st, 5, 1);                               /* not ended (any more) */
    } else {
        bind_real(st, 2, j->time);
        sw_sql_bind_double(st, 3, sw_wall());
    }
    if (j->kind == JOB_RUN_START) {
        if (j->meta)
            sw_sql_bind_text(st, 3, j->meta, -1, SW_SQL_STATIC);
        else
            sw_sql_bind_null(st, 3);
    }
    int rc = step_reset(st);
    if (rc) {
        char what[64];
        snprintf(what, sizeof what, "run %lld", (long long)j->run);
        sw_store_note_error(s, what);
    }
    return rc;
}

/* The run row and the open-spill marker of a newly opened spill, in one transaction (one sync). */
static int write_open_spill(struct sw_store *s, struct job *j)
{
    if (sw_sql_exec(s->db, "BEGIN IMMEDIATE", NULL) != SW_SQL_OK)
        goto fail;
    sw_stmt *st = s->upd_run_start;
    sw_sql_bind_int64(st, 1, j->run);
    bind_real(st, 2, j->time);
    sw_sql_bind_null(st, 3);
    sw_sql_bind_int(st, 4, 0); /* provisional: never over a start already known */
    sw_sql_bind_int(st, 5, 0); /* a late spill of an ended run does not reopen it */
    if (step_reset(st))
        goto fail;
    st = s->ins_open;
    sw_sql_bind_int64(st, 1, j->run);
    sw_sql_bind_int64(st, 2, j->spill);
    if (j->source)
        sw_sql_bind_text(st, 3, j->source, -1, SW_SQL_STATIC);
    else
        sw_sql_bind_null(st, 3);
    bind_real(st, 4, j->time);
    if (j->source)
        sw_sql_bind_int64(st, 5, j->seq);
    else
        sw_sql_bind_null(st, 5);
    if (step_reset(st) || sw_sql_exec(s->db, "COMMIT", NULL) != SW_SQL_OK)
        goto fail;
    return 0;
fail : {
    char what[96];
    snprintf(what, sizeof what, "run %lld spill %lld: open-spill marker", (long long)j->run,
             (long long)j->spill);
    sw_store_note_error(s, what);
    sw_sql_exec(s->db, "ROLLBACK", NULL);
    return -1;
}
}

void sw_store_finalize_all(struct sw_store *s)
{
    sw_stmt **stmts[] = {&s->ins_run,   &s->upd_run_start, &s->upd_run_end, &s->ins_spill, &s->ins_hist,
                         &s->ins_check, &s->up_source,     &s->ins_open,    &s->del_open};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        sw_sql_finalize(*stmts[i]);
        *stmts[i] = NULL;
    }
}

/* One attempt of a job; 0 when written. */
int sw_store_attempt(struct sw_store *s, struct job *j)
{
    if (j->kind == JOB_SPILL)
        return write_spill(s, j->rec);
    if (j->kind == JOB_OPEN_SPILL)
        return write_open_spill(s, j);
    if (j->kind == JOB_CALL) {
        int rc = -1;
        s->err_code = SW_SQL_OK;
        if (sw_sql_exec(s->db, "BEGIN IMMEDIATE", NULL) != SW_SQL_OK)
            sw_store_note_error(s, "human write: begin");
        else {
            rc = j->fn(s->db, j->ctx);
            if (rc == 0)
                rc = sw_run_hists_drain(s->db); /* the run sums, in the same transaction */
            if (rc != 0 && sw_store_environmental(sw_sql_errcode(s->db)))
                sw_store_note_error(s, "human write");
            if (rc == 0 && sw_sql_exec(s->db, "COMMIT", NULL) != SW_SQL_OK) {
                sw_store_note_error(s, "commit");
                rc = -1;
            }
            if (rc != 0)
                sw_sql_exec(s->db, "ROLLBACK", NULL);
        }
        if (j->result)
            *j->result = rc;
        return rc;
    }
    return write_run(s, j);
}

int sw_store_prepare_all(struct sw_store *s)
{
    struct {
        sw_stmt **st;
        const char *sql;
    } stmts[] = {
        {&s->ins_run, "INSERT INTO runs(run, started) VALUES(?1, ?2) ON CONFLICT(run) DO UPDATE SET "
                      "started = coalesce(runs.started, excluded.started)"},
        {&s->upd_run_start,
         "INSERT INTO runs(run, started, meta) VALUES(?1, ?2, ?3) ON CONFLICT(run) DO UPDATE "
         "SET started = CASE WHEN ?4 <> 0 THEN excluded.started ELSE coalesce(runs.started, "
         "excluded.started) "
         "END, "
         "meta = coalesce(excluded.meta, runs.meta), ended = CASE WHEN ?5 <> 0 THEN NULL ELSE runs.ended "
         "END"},
        {&s->upd_run_end, "INSERT INTO runs(run, ended) VALUES(?1, ?2) ON CONFLICT(run) DO UPDATE SET "
                          "ended = coalesce(excluded.ended, ?3)"}, /* ?3: now */
        {&s->ins_spill, "INSERT INTO spills(run, spill, started, ended, duration, events, mot, dead_time, "
                        "decode_errors, unknown_fields, complete, flag, reasons, counters, triggers, "
                        "profile_version, closed_at, daq_sources) "
                        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)"},
        {&s->ins_hist, "INSERT INTO spill_hists(run, spill, blob) VALUES(?1, ?2, ?3)"},
        {&s->ins_check,
         "INSERT INTO checks(run, spill, name, category, state, value, raw, reason, provenance) "
         "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"},
        {&s->up_source, "INSERT INTO sources(source, seq, run, spill, updated) VALUES(?1,?2,?3,?4,?5) "
                        "ON CONFLICT(source) DO UPDATE SET seq = CASE WHEN excluded.seq > sources.seq THEN "
                        "excluded.seq ELSE sources.seq END, run = excluded.run, "
                        "spill = excluded.spill, updated = excluded.updated"},
        {&s->ins_open, "INSERT INTO open_spills(run, spill, source, opened, seq) VALUES(?1, ?2, ?3, ?4, ?5) "
                       "ON CONFLICT(run, spill) DO NOTHING"},
        {&s->del_open, "DELETE FROM open_spills WHERE run = ?1 AND spill = ?2"},
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        if (sw_sql_prepare_persistent(s->db, stmts[i].sql, stmts[i].st) != SW_SQL_OK) {
            sw_error("store", "prepare: %s", sw_sql_errmsg(s->db));
            return -1;
        }
    return 0;
}
