/* alarm_fold.c — see alarm_fold.h */
#include "alarm_fold.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery_log.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct sw_alarm_fold fold = {.events_id = 0, .deliveries_id = 0};

static int is_up(const char *state)
{
    return state && (!strcmp(state, "firing") || !strcmp(state, "acknowledged"));
}

int sw_alarm_fold_starts_episode(const char *from, const char *to)
{
    return to && !strcmp(to, "firing") && !is_up(from);
}

static int grow(void **v, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int c = *cap ? 2 * *cap : 16;
    while (c < need)
        c *= 2;
    void *n = realloc(*v, (size_t)c * size);
    if (!n)
        return -1;
    *v = n;
    *cap = c;
    return 0;
}

static void reset(void)
{
    for (int i = 0; i < fold.nrules; i++) {
        free(fold.rules[i].eps);
        free(fold.rules[i].by_start);
        free(fold.rules[i].dls);
        free(fold.rules[i].hooks);
        free(fold.rules[i].acks);
        free(fold.rules[i].within);
    }
    free(fold.rules);
    memset(&fold, 0, sizeof fold);
}

static struct sw_alarm_fold_rule *rule(const char *name, const char *severity)
{
    for (int i = 0; i < fold.nrules; i++)
        if (!strcmp(fold.rules[i].name, name))
            return &fold.rules[i];
    if (grow((void **)&fold.rules, &fold.cap, fold.nrules + 1, sizeof *fold.rules) != 0)
        return NULL;
    struct sw_alarm_fold_rule *r = &fold.rules[fold.nrules++];
    memset(r, 0, sizeof *r);
    r->open = -1;
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->severity, sizeof r->severity, "%s", severity ? severity : "");
    return r;
}

static int64_t int_or(sw_stmt *st, int i)
{
    return sw_sql_column_type(st, i) == SW_SQL_NULL ? -1 : sw_sql_column_int64(st, i);
}

static int64_t max_id(sw_sql *db, const char *table)
{
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT coalesce(max(id), 0) FROM %s", table);
    sw_stmt *st;
    int64_t id = -1;
    if (sw_sql_prepare(db, sql, -1, &st, NULL) != SW_SQL_OK)
        return -1;
    if (sw_sql_step(st) == SW_SQL_ROW)
        id = sw_sql_column_int64(st, 0);
    sw_sql_finalize(st);
    return id;
}

static int by_start(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* The transitions after the last one folded, in id order (the fold is a state machine per rule). */
static int fold_events(sw_sql *db, int64_t upto)
{
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "SELECT id, alarm, severity, from_state, to_state, time, run, spill, note FROM "
                       "alarm_events WHERE id > ?1 AND id <= ?2 AND (to_state IN ('firing', "
                       "'acknowledged') OR from_state IN ('firing', 'acknowledged')) ORDER BY id",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, fold.events_id);
    sw_sql_bind_int64(st, 2, upto);
    int rc, changed = 0;
    while ((rc = sw_sql_step(st)) == SW_SQL_ROW) {
        const char *alarm = (const char *)sw_sql_column_text(st, 1),
                   *from = (const char *)sw_sql_column_text(st, 3),
                   *to = (const char *)sw_sql_column_text(st, 4),
                   *note = (const char *)sw_sql_column_text(st, 8);
        if (!alarm)
            continue;
        struct sw_alarm_fold_rule *r = rule(alarm, (const char *)sw_sql_column_text(st, 2));
        if (!r) {
            rc = SW_SQL_NOMEM;
            break;
        }
        double t = sw_sql_column_double(st, 5);
        if (sw_alarm_fold_starts_episode(from, to)) {
            if (grow((void **)&r->eps, &r->epcap, r->neps + 1, sizeof *r->eps) != 0) {
                rc = SW_SQL_NOMEM;
                break;
            }
            if (r->open >= 0) { /* the open one never ends now */
                r->n_dangling++;
                r->dangling_starts += r->eps[r->open].start;
            }
            r->eps[r->neps] = (struct sw_alarm_ep){
                .start = t, .ack = NAN, .end = NAN, .srun = int_or(st, 6), .sspill = int_or(st, 7)};
            r->open = r->neps++;
            free(r->by_start);
            r->by_start = NULL;
            changed = 1;
        } else if (r->open >= 0 && to && !strcmp(to, "acknowledged")) {
            struct sw_alarm_ep *e = &r->eps[r->open];
            if (isnan(e->ack)) {
                e->ack = t;
                if (grow((void **)&r->acks, &r->ackcap, r->nacks + 1, sizeof *r->acks) != 0) {
                    rc = SW_SQL_NOMEM;
                    break;
                }
                double d = t - e->start;
                r->ack_sum += d;
                int k = r->nacks++;
                while (k > 0 && r->acks[k - 1] > d) {
                    r->acks[k] = r->acks[k - 1];
                    k--;
                }
                r->acks[k] = d;
            }
        } else if (r->open >= 0 && is_up(from) && !is_up(to)) {
            struct sw_alarm_ep *e = &r->eps[r->open];
            e->end = t;
            e->erun = int_or(st, 6);
            e->espill = int_or(st, 7);
            e->how = !note ? 1 : !strcmp(note, "reset") ? 2 : 3;
            r->open = -1;
            r->ended_s += fmax(0, e->end - e->start);
            r->n_auto += e->how == 1;
            r->n_reset += e->how == 2;
            if (e->how == 1 && e->srun >= 0 && e->erun == e->srun && e->sspill >= 0 && e->espill >= 0) {
                if (grow((void **)&r->within, &r->withincap, r->nwithin + 1, sizeof *r->within) != 0) {
                    rc = SW_SQL_NOMEM;
                    break;
                }
                int64_t d = e->espill - e->sspill;
                int k = r->nwithin++;
                while (k > 0 && r->within[k - 1] > d) {
                    r->within[k] = r->within[k - 1];
                    k--;
                }
                r->within[k] = d;
            }
        }
    }
    sw_sql_finalize(st);
    if (rc != SW_SQL_DONE)
        return -1;
    fold.events_id = upto;
    for (int i = 0; changed && i < fold.nrules; i++) {
        struct sw_alarm_fold_rule *r = &fold.rules[i];
        if (r->by_start || !r->neps)
            continue;
        if (!(r->by_start = malloc((size_t)r->neps * sizeof *r->by_start)))
            return -1;
        for (int k = 0; k < r->neps; k++) {
            r->by_start[k][0] = r->eps[k].start;
            r->by_start[k][1] = k;
        }
        qsort(r->by_start, (size_t)r->neps, sizeof *r->by_start, by_start);
    }
    return 0;
}

static int fold_deliveries(sw_sql *db, int64_t upto)
{
    sw_stmt *st;
    if (sw_sql_prepare(db,
                       "SELECT alarm, episode, hook, outcome FROM alarm_deliveries WHERE id > ?1 AND id "
                       "<= ?2 ORDER BY id",
                       -1, &st, NULL) != SW_SQL_OK)
        return -1;
    sw_sql_bind_int64(st, 1, fold.deliveries_id);
    sw_sql_bind_int64(st, 2, upto);
    int rc;
    while ((rc = sw_sql_step(st)) == SW_SQL_ROW) {
        const char *alarm = (const char *)sw_sql_column_text(st, 0),
                   *hook = (const char *)sw_sql_column_text(st, 2),
                   *outcome = (const char *)sw_sql_column_text(st, 3);
        if (!alarm || !hook || !outcome)
            continue;
        struct sw_alarm_fold_rule *r = rule(alarm, NULL);
        int h = 0;
        while (r && h < r->nhooks && strcmp(r->hooks[h], hook))
            h++;
        if (!r || grow((void **)&r->hooks, &r->hookcap, r->nhooks + 1, sizeof *r->hooks) != 0) {
            rc = SW_SQL_NOMEM;
            break;
        }
        if (h == r->nhooks)
            snprintf(r->hooks[r->nhooks++], sizeof r->hooks[0], "%s", hook);
        if (grow((void **)&r->dls, &r->dlcap, r->ndls + 1, sizeof *r->dls) != 0) {
            rc = SW_SQL_NOMEM;
            break;
        }
        int o = 0;
        while (o < SW_OUTCOME_N && strcmp(outcome, sw_delivery_outcome_names[o]))
            o++;
        r->dls[r->ndls++] = (struct sw_alarm_dl){
            .episode = sw_sql_column_double(st, 1), .hook = h, .outcome = o < SW_OUTCOME_N ? o : -1};
    }
    sw_sql_finalize(st);
    if (rc != SW_SQL_DONE)
        return -1;
    fold.deliveries_id = upto;
    return 0;
}

const struct sw_alarm_fold *sw_alarm_fold_acquire(sw_sql *db, char *err, size_t errlen)
{
    pthread_mutex_lock(&mu);
    int own = sw_sql_get_autocommit(db); /* one read transaction: both tables of one snapshot */
    if (own && sw_sql_exec(db, "BEGIN", NULL) != SW_SQL_OK)
        goto fail;
    const char *file = sw_sql_target(db);
    int64_t ev = max_id(db, "alarm_events"), dl = max_id(db, "alarm_deliveries");
    if (ev < 0 || dl < 0)
        goto fail;
    if (strcmp(fold.file, file ? file : "") || ev < fold.events_id || dl < fold.deliveries_id) {
        reset();
        snprintf(fold.file, sizeof fold.file, "%s", file ? file : "");
    }
    if (fold_events(db, ev) != 0 || fold_deliveries(db, dl) != 0) {
        reset(); /* half folded: start again next time */
        goto fail;
    }
    if (own)
        sw_sql_exec(db, "COMMIT", NULL);
    return &fold;
fail:
    snprintf(err, errlen, "%s", sw_sql_errmsg(db));
    if (own && !sw_sql_get_autocommit(db))
        sw_sql_exec(db, "ROLLBACK", NULL);
    pthread_mutex_unlock(&mu);
    return NULL;
}

void sw_alarm_fold_release(void)
{
    pthread_mutex_unlock(&mu);
}

int sw_alarm_fold_find(const struct sw_alarm_fold_rule *r, double start,
                       int (*selected)(const struct sw_alarm_ep *, const void *), const void *ctx)
{
    if (!r->by_start)
        return -1;
    int lo = 0, hi = r->neps; /* the first episode starting at or after start - 0.5 ms */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (r->by_start[mid][0] < start - 0.0005)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo; i < r->neps && r->by_start[i][0] <= start + 0.0005; i++) {
        int k = (int)r->by_start[i][1];
        if (fabs(r->by_start[i][0] - start) < 0.0005 && selected(&r->eps[k], ctx))
            return k;
    }
    return -1;
}
