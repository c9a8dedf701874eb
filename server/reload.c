/* reload.c — see reload.h */
#include "reload.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarms.h"
#include "audit.h"
#include "engine.h"
#include "hooks.h"
#include "log.h"
#include "metrics.h"
#include "refs.h"
#include "store.h"

/* The config keys a reload leaves as they were at start-up (the answer lists them): the config
 * file itself is not re-read, so "profile" (the path) stays too; the file it names is re-read. */
static const char *const not_reloaded[] = {
    "listen", "db",   "www",           "profile",          "log_level",      "threads",
    "limits", "auth", "spill_timeout", "stream_heartbeat", "ingest_threads", NULL};

struct sw_reload {
    const struct sw_config *cfg;
    struct sw_store *store;
    struct sw_engine *engine;
    struct sw_alarms *alarms;
    char dashboard[256];
    pthread_mutex_t mu;     /* guards cur (held only to swap or take a reference) */
    struct sw_profile *cur; /* a reference: the profile in force */
    pthread_mutex_t apply;  /* one reload at a time; guards hooks and hooks_prof */
    struct sw_hooks *hooks;
    struct sw_profile *hooks_prof; /* a reference: the profile the hooks borrow their definitions from */
};

struct sw_reload *sw_reload_new(const struct sw_config *cfg, struct sw_profile *p, struct sw_store *store,
                                struct sw_engine *engine, struct sw_alarms *alarms, struct sw_hooks *hooks,
                                const char *dashboard)
{
    struct sw_reload *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->store = store;
    r->engine = engine;
    r->alarms = alarms;
    snprintf(r->dashboard, sizeof r->dashboard, "%s", dashboard ? dashboard : "");
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->apply, NULL);
    r->cur = p;
    r->hooks = hooks;
    r->hooks_prof = sw_profile_ref(p);
    sw_metrics_set_profile(p->name, p->version);
    return r;
}

void sw_reload_free(struct sw_reload *r)
{
    if (!r)
        return;
    sw_hooks_stop(r->hooks);
    sw_profile_unref(r->hooks_prof);
    sw_profile_unref(r->cur);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->apply);
    free(r);
}

struct sw_profile *sw_reload_profile(struct sw_reload *r)
{
    pthread_mutex_lock(&r->mu);
    struct sw_profile *p = sw_profile_ref(r->cur);
    pthread_mutex_unlock(&r->mu);
    return p;
}

/* ---- audit ---- */

struct audit_tx {
    const char *who, *old, *new;
    char comment[200];
};

static int audit_fn(sw_sql *db, void *ctx)
{
    struct audit_tx *t = ctx;
    struct sw_audit_row a = {.who = t->who,
                             .action = "reload",
                             .run = -1,
                             .spill = -1,
                             .old = t->old,
                             .new_ = t->new,
                             .comment = t->comment};
    return sw_audit_insert(db, &a);
}

/* ---- apply ---- */

static json_t *name_version(const struct sw_profile *p)
{
    return json_pack("{s:s, s:s}", "name", p->name, "version", p->version);
}

static int refuse(struct sw_profile *cur, const char *who, const char *error, struct sw_diag *d,
                  json_t **answer)
{
    json_t *problems = json_array();
    sw_error("reload", "profile reload by %s refused: %s; profile \"%s\" %s stays in force", who, error,
             cur->name, cur->version);
    for (int i = 0; d && i < d->n; i++) {
        sw_error("reload", "  %s", d->msg[i]);
        json_array_append_new(problems, json_string(d->msg[i]));
    }
    atomic_fetch_add(&sw_metrics.profile_reloads[1], 1);
    *answer =
        json_pack("{s:s, s:o, s:o}", "error", error, "problems", problems, "profile", name_version(cur));
    sw_profile_unref(cur);
    return -1;
}

int sw_reload_apply(struct sw_reload *r, const char *who, json_t **answer)
{
    *answer = NULL;
    pthread_mutex_lock(&r->apply);
    struct sw_profile *cur = sw_reload_profile(r);
    struct sw_profile parsed;
    struct sw_diag d = {0};
    int rc = -1;
    sw_info("reload", "profile reload by %s: reading \"%s\"", who, r->cfg->profile_path);
    if (sw_profile_load(&parsed, r->cfg->profile_path, &d) != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "the profile file has %d problem(s)", d.n);
        rc = refuse(cur, who, msg, &d, answer);
        goto out;
    }
    if (strcmp(parsed.version, cur->version) == 0) {
        sw_profile_release(&parsed);
        sw_info("reload", "profile reload by %s: \"%s\" %s unchanged, nothing to do", who, cur->name,
                cur->version);
        atomic_fetch_add(&sw_metrics.profile_reloads[0], 1);
        *answer = json_pack("{s:b, s:b, s:o, s:o}", "reloaded", 1, "changed", 0, "old", name_version(cur),
                            "new", name_version(cur));
        sw_profile_unref(cur);
        rc = 0;
        goto out;
    }
    struct sw_profile *np = sw_profile_adopt(&parsed);
    if (!np) {
        sw_profile_release(&parsed);
        rc = refuse(cur, who, "out of memory", NULL, answer);
        goto out;
    }
    /* References of the new checks: rolling windows and reference runs from the database. */
    struct sw_refs *refs = sw_refs_new(np, sw_store_reader(r->store), INFINITY);
    struct sw_hooks *hooks = r->hooks;
    if (refs && !sw_profile_same_hooks(r->hooks_prof, np))
        hooks = sw_hooks_start(np, r->dashboard, sw_hooks_log(r->hooks));
    if (!refs || !hooks) {
        sw_refs_free(refs);
        sw_profile_unref(np);
        rc = refuse(cur, who, "out of memory (check references or hook threads)", NULL, answer);
        goto out;
    }
    int kept = 0, dropped = 0;
    if (sw_engine_set_profile(r->engine, np, refs) != 0) { /* frees refs on failure */
        if (hooks != r->hooks)
            sw_hooks_stop(hooks);
        sw_profile_unref(np);
        rc = refuse(cur, who, "out of memory", NULL, answer);
        goto out;
    }
    if (sw_alarms_set_profile(r->alarms, np, hooks, &kept, &dropped) != 0) {
        /* The spills already use np; the rules cannot follow. Keep the hooks they notify. */
        sw_error("reload", "out of memory: the alarm rules stay those of \"%s\" %s", cur->name, cur->version);
        if (hooks != r->hooks)
            sw_hooks_stop(hooks);
        hooks = r->hooks;
    }
    pthread_mutex_lock(&r->mu);
    r->cur = sw_profile_ref(np);
    pthread_mutex_unlock(&r->mu);
    sw_profile_unref(cur); /* the current pointer's reference to the old profile */
    if (hooks != r->hooks) {
        sw_hooks_stop(r->hooks); /* nobody notifies them any more (the alarms switched) */
        sw_profile_unref(r->hooks_prof);
        r->hooks = hooks;
        r->hooks_prof = sw_profile_ref(np);
    }
    sw_metrics_set_profile(np->name, np->version);
    atomic_fetch_add(&sw_metrics.profile_reloads[0], 1);
    int older = sw_engine_open_with_older(r->engine);
    int added = np->nalarms - kept;
    struct audit_tx t = {who, cur->version, np->version, ""};
    snprintf(t.comment, sizeof t.comment, "profile \"%s\" -> \"%s\"; %d open spill(s) keep the old one",
             cur->name, np->name, older);
    if (sw_store_call(r->store, audit_fn, &t) != 0)
        sw_error("reload", "the audit record of the reload could not be stored");
    sw_info("reload",
            "profile reloaded by %s: \"%s\" %s -> \"%s\" %s; %d open spill(s) stay on the old profile until "
            "they close; alarm rules: %d kept, %d dropped, %d added; hooks %s; the rest of the config is not "
            "reloaded (listen, db, www, profile path, log_level, threads, limits, auth, spill_timeout, "
            "stream_heartbeat: restart for them)",
            who, cur->name, cur->version, np->name, np->version, older, kept, dropped, added,
            r->hooks_prof == np ? "restarted" : "unchanged");
    json_t *nr = json_array();
    for (int i = 0; not_reloaded[i]; i++)
        json_array_append_new(nr, json_string(not_reloaded[i]));
    *answer = json_pack("{s:b, s:b, s:o, s:o, s:o, s:i, s:{s:i, s:i, s:i}}", "reloaded", 1, "changed", 1,
                        "old", name_version(cur), "new", name_version(np), "not_reloaded", nr,
                        "open_spills_on_old_profile", older, "alarms", "kept", kept, "dropped", dropped,
                        "added", added);
    sw_profile_unref(cur); /* this function's reference */
    sw_profile_unref(np);  /* the adoption's reference: the holders have theirs */
    rc = 0;
out:
    sw_diag_release(&d);
    pthread_mutex_unlock(&r->apply);
    return rc;
}
