/* alarm_fold.h — the firing episodes of every alarm rule over the whole stored history, and every
 * delivery log row about them, folded once and then extended with only the rows committed since
 * (alarm_events and alarm_deliveries are append-only), so the alarm figures (alarm_report:
 * GET /api/v1/alarms/stats and the spillwatch_alarm_* families of /metrics) cost what the
 * episodes are, not a scan of the history on every request.
 *
 * An episode is a rule's firing from its firing transition (to firing from anything but firing or
 * acknowledged) to the transition out of firing/acknowledged (alarm_report.h).
 *
 * Owns: one process-wide fold, for the database file last asked about (a request on another
 * file, or a history shorter than the fold, e.g. a restored backup, folds afresh).
 * Threads: any; sw_alarm_fold_acquire locks the fold until sw_alarm_fold_release.
 */
#ifndef SW_ALARM_FOLD_H
#define SW_ALARM_FOLD_H

#include "sql.h"
#include <stddef.h>
#include <stdint.h>

#include "alarms.h"

struct sw_alarm_ep {
    double start, ack, end; /* ack, end NaN: none (yet) */
    int64_t srun, sspill, erun, espill;
    int how; /* the end: 0 none yet, 1 by itself, 2 reset, 3 otherwise (rule removed) */
};

/* One delivery log row: the episode it was about (its start), its hook and its outcome. */
struct sw_alarm_dl {
    double episode;
    int hook;    /* index into the rule's hooks */
    int outcome; /* enum sw_delivery_outcome, or -1 for a name this build does not know */
};

struct sw_alarm_fold_rule {
    char name[SW_NAME_MAX], severity[16]; /* severity of its first transition in the history */
    struct sw_alarm_ep *eps;              /* in the order of their firing transitions */
    int neps, epcap, open;                /* open: the episode going on at the end of the fold, or -1 */
    double (*by_start)[2];                /* (start, index in eps), sorted by start */
    struct sw_alarm_dl *dls;
    int ndls, dlcap;
    char (*hooks)[SW_NAME_MAX]; /* every hook named by a delivery row of the rule */
    int nhooks, hookcap;
    /* The whole history's figures, kept as the fold goes, so that a request for all of it reads
     * them instead of walking every episode: */
    double *acks; /* every episode's time to its first acknowledgement, ascending */
    int nacks, ackcap;
    double ack_sum;            /* their sum */
    double ended_s;            /* seconds firing of the ended episodes */
    long long n_dangling;      /* episodes never ended (a newer one started while they were open) */
    double dangling_starts;    /* the sum of their starts */
    long long n_auto, n_reset; /* ended by themselves; by a reset */
    int64_t *within;           /* spills from firing to its end of those that ended by themselves in the
                                * run they fired in, ascending */
    int nwithin, withincap;
};

struct sw_alarm_fold {
    struct sw_alarm_fold_rule *rules; /* in the order of their first episode or delivery */
    int nrules, cap;
    int64_t events_id, deliveries_id; /* the last row folded of each table */
    char file[512];
};

/* 1 when a transition from -> to starts an episode: to firing from a state that is not firing or
 * acknowledged (NULL from: none). */
int sw_alarm_fold_starts_episode(const char *from, const char *to);

/* Brings the fold up to what db (any connection to the database, read in one transaction) holds
 * and returns it locked: the caller reads it and calls sw_alarm_fold_release. NULL (unlocked,
 * message in err) on an SQLite error or out of memory. */
const struct sw_alarm_fold *sw_alarm_fold_acquire(sw_sql *db, char *err, size_t errlen);
void sw_alarm_fold_release(void);

/* The index in r->eps of the episode of r that started at start (within 0.5 ms) and that
 * selected(ep, ctx) accepts, or -1: a binary search of r->by_start. */
int sw_alarm_fold_find(const struct sw_alarm_fold_rule *r, double start,
                       int (*selected)(const struct sw_alarm_ep *, const void *), const void *ctx);

#endif
