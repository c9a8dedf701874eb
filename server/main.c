/* main.c — the spillwatch server: options, start-up, the timer thread, profile reload on SIGHUP,
 * clean shutdown on SIGINT/SIGTERM. */
#include <stdatomic.h>
#include <stddef.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "alarms.h"
#include "delivery_log.h"
#include "backup.h"
#include "clock.h"
#include "hcache.h"
#include "hooks.h"
#include "config.h"
#include "engine.h"
#include "ha.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "reload.h"
#include "retention.h"
#include "run_hists.h"
#include "sql.h"
#include "store.h"
#include "stream.h"

static void usage(FILE *f)
{
    fprintf(
        f, "usage: spillwatch --config FILE [options]\n"
           "\n"
           "Online data-quality monitor for spill-based fixed-target experiments (NA64mu).\n"
           "\n"
           "  --config FILE     server config (JSON), e.g. config/spillwatch.json; relative paths in it\n"
           "                    are resolved against its directory\n"
           "  --listen H:P      listen address (default from the config, else 127.0.0.1:8080; port 0 = any)\n"
           "  --db DB           SQLite database file, or a postgresql:// URI (a database that several\n"
           "                    servers share: one is active, the others standbys; default from the config)\n"
           "  --www DIR         dashboard root (default from the config)\n"
           "  --log-level L     debug, info, warn or error (default from the config)\n"
           "  --check-config    validate the config and its profile, print every problem, exit\n"
           "  --help            this text\n"
           "  --version         print the version\n"
           "\n"
           "Signals: SIGHUP re-reads the profile file the config names and applies it (an invalid one is\n"
           "refused with every problem logged, and the old one stays; the rest of the config is not\n"
           "reloaded); SIGINT and SIGTERM shut down cleanly. POST /api/v1/admin/reload (admin token)\n"
           "reloads the profile like SIGHUP.\n"
           "\n"
           "       spillwatch backup DEST (--config FILE | --db PATH)\n"
           "\n"
           "  copies the database consistently while the server runs (never overwrites DEST; SQLite;\n"
           "  for PostgreSQL use pg_dump)\n"
           "\n"
           "       spillwatch migrate --from FILE.db --to postgresql://USER@HOST:PORT/DB\n"
           "\n"
           "  copies a SQLite database into an empty PostgreSQL database, checked table by table\n");
}

/* `spillwatch backup DEST --config FILE [--db PATH]`: see backup.h. */
static int backup_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *db = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'd')
            db = optarg;
        else
            return usage(stderr), 2;
    }
    if (optind + 1 != argc || (!config && !db)) {
        fprintf(stderr, "spillwatch backup: usage: spillwatch backup DEST (--config FILE | --db PATH)\n");
        return 2;
    }
    const char *dest = argv[optind];
    struct sw_config cfg = {0};
    if (!db) {
        struct sw_diag diag = {0};
        if (sw_config_load(&cfg, config, &diag) != 0) {
            for (int i = 0; i < diag.n; i++)
                fprintf(stderr, "%s\n", diag.msg[i]);
            sw_diag_release(&diag);
            return 1;
        }
        sw_diag_release(&diag);
        db = cfg.db;
    }
    struct sw_backup_result res;
    char err[1024];
    int rc = sw_backup_run(db, dest, &res, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "spillwatch %s\n", err);
    else
        printf("backup of %s to %s: %lld runs, %lld spills, %lld spill histogram sets, %lld bytes, "
               "integrity ok, %.3f s\n",
               db, dest, (long long)res.runs, (long long)res.spills, (long long)res.spill_hists,
               (long long)res.bytes, res.seconds);
    sw_config_release(&cfg);
    return rc == 0 ? 0 : 1;
}

struct timer {
    struct sw_ha *ha; /* NULL: one server */
    struct sw_engine *engine;
    struct sw_alarms *alarms;
    struct sw_stream *stream;
    struct sw_retention *retention;
    struct sw_store *store;
    struct {
        int more;          /* first: the rebuild's ctx (run_hists.h); writer thread */
        atomic_int queued; /* a rebuild job is queued or running */
    } rebuild;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static void rebuild_done(void *ctx)
{
    struct timer *t = (struct timer *)((char *)ctx - offsetof(struct timer, rebuild));
    atomic_store(&t->rebuild.queued, 0);
}

/* Run histogram sums of runs carried forward (migration 014): a writer job a second until built. */
static void rebuild_tick(struct timer *t)
{
    if (atomic_load(&t->rebuild.queued) || !t->rebuild.more)
        return;
    atomic_store(&t->rebuild.queued, 1);
    sw_store_call_async(t->store, sw_run_hists_rebuild, &t->rebuild, rebuild_done);
}

static void *timer_main(void *arg)
{
    struct timer *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
        if (t->stop)
            break;
        pthread_mutex_unlock(&t->mu);
        if (sw_ha_active(t->ha)) { /* a standby judges nothing, notifies nothing, writes nothing */
            sw_engine_tick(t->engine);
            struct sw_live live;
            sw_engine_live(t->engine, &live);
            sw_alarms_tick(t->alarms, &live);
            sw_stream_live(t->stream, &live);
            sw_retention_tick(t->retention);
            rebuild_tick(t);
        } else {
            sw_stream_heartbeat(t->stream, sw_mono()); /* its viewers' connections kept alive */
        }
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* ---- several servers on one PostgreSQL database (ha.h) ---- */

struct ha_ctx {
    struct sw_engine *engine;
    struct sw_alarms *alarms;
    struct sw_stream *stream;
    struct sw_store *store;
};

/* The lock is ours: what a restarted server loads, as the previous active server left it. */
static int ha_promote(void *arg)
{
    struct ha_ctx *h = arg;
    sw_store_touch(h->store);
    if (sw_engine_promote(h->engine) != 0)
        return -1;
    sw_alarms_resync(h->alarms);
    return 0;
}

/* Standby: one event of the active server's stream, published on ours. */
static void ha_relayed(void *arg, const char *event, const char *data)
{
    struct ha_ctx *h = arg;
    if (!strcmp(event, "spill"))
        sw_store_touch(h->store); /* a commit: cached answers are stale */
    else if (!strcmp(event, "alarm"))
        sw_alarms_resync(h->alarms);
    sw_stream_publish_text(h->stream, event, data);
}

/* glibc's defaults keep freed memory: each thread gets an arena of its own, and after a large
 * block is freed the mmap and trim thresholds grow to its size, so the next large answers (a run's
 * 1.8 MB spill list, a 1.7 MB batch of rows) come from the arenas and stay there, once per HTTP
 * thread. Fixed thresholds give large blocks back to the system when freed; two arenas bound the
 * rest (docs/performance.md, scale notes: 62-68 MB -> 32-39 MB after the same requests on several
 * connections, no slower). */
static void tune_malloc(void)
{
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    /* No fastbins (the per-thread tcache still serves small blocks): after a large answer (the run
     * list, a spill list) freed thousands of small blocks, the next request's first large malloc
     * consolidated them all, 1.2 ms of a 0.5 ms read (/alarms/stats, /metrics at 10^6 stored
     * spills); measured no slower on the large reads. */
    mallopt(M_MXFAST, 0);
}

int main(int argc, char **argv)
{
    enum { OPT_LISTEN = 256, OPT_DB, OPT_WWW, OPT_CHECK, OPT_LOG, OPT_VERSION };
    tune_malloc();
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"db", required_argument, NULL, OPT_DB},
        {"www", required_argument, NULL, OPT_WWW},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    if (argc > 1 && !strcmp(argv[1], "backup"))
        return backup_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "migrate"))
        return sw_migrate_main(argc - 1, argv + 1);
    const char *config = NULL, *listen = NULL, *db = NULL, *www = NULL, *level = NULL;
    int check_only = 0, c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_DB:
            db = optarg;
            break;
        case OPT_WWW:
            www = optarg;
            break;
        case OPT_LOG:
            level = optarg;
            break;
        case OPT_CHECK:
            check_only = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case OPT_VERSION:
            printf("spillwatch %s\n", SW_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spillwatch: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!config) {
        fprintf(stderr, "spillwatch: --config FILE is required\n");
        usage(stderr);
        return 2;
    }
    if (level && sw_log_parse_level(level) < 0) {
        fprintf(stderr, "spillwatch: --log-level: must be one of debug, info, warn, error\n");
        return 2;
    }

    struct sw_config cfg;
    struct sw_diag diag = {0};
    if (sw_config_load(&cfg, config, &diag) != 0) {
        for (int i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.msg[i]);
        fprintf(stderr, "spillwatch: %d problem(s) in the configuration\n", diag.n);
        sw_diag_release(&diag);
        return 1;
    }
    sw_diag_release(&diag);
    if (check_only) {
        printf("%s: ok (profile \"%s\" version %s: %d fields, %d histograms, %d checks)\n", config,
               cfg.profile.name, cfg.profile.version, cfg.profile.fields.n, cfg.profile.nhists,
               cfg.profile.nchecks);
        sw_config_release(&cfg);
        return 0;
    }
    if (listen)
        snprintf(cfg.listen, sizeof cfg.listen, "%s", listen);
    if (db)
        snprintf(cfg.db, sizeof cfg.db, "%s", db);
    if (www)
        snprintf(cfg.www, sizeof cfg.www, "%s", www);
    sw_log_set_level(level ? (enum sw_log_level)sw_log_parse_level(level) : (enum sw_log_level)cfg.log_level);

    sw_metrics.started = sw_wall();

    /* Signals go to sigwait() in this thread only: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    char err[512];
    struct sw_engine *engine = NULL;
    struct sw_server *srv = NULL;
    struct sw_hooks *hooks = NULL;
    struct sw_delivery_log *deliveries = NULL;
    struct sw_profile *prof = NULL;
    struct sw_alarms *alarms = NULL;
    struct sw_stream *stream = NULL;
    struct sw_reload *reload = NULL;
    struct sw_retention *retention = NULL;
    struct timer timer = {.stop = 0};
    pthread_t timer_thread;
    int timer_started = 0;
    struct sw_ha *ha = NULL;
    struct ha_ctx hactx = {0};
    struct sw_store *store = sw_store_open(cfg.db, cfg.writer_queue_max, err, sizeof err);
    if (!store) {
        sw_error("main", "%s", err);
        goto out;
    }
    if (sw_sql_target_is_pg(cfg.db)) {
        /* Several servers may share the database: the one holding the lock is the active one. */
        char adv[256];
        if (cfg.advertise[0])
            snprintf(adv, sizeof adv, "%s", cfg.advertise);
        else
            snprintf(adv, sizeof adv, "http://%s", cfg.listen);
        ha = sw_ha_open(cfg.db, adv, cfg.ha_poll, err, sizeof err);
        if (!ha) {
            sw_error("main", "%s", err);
            goto out;
        }
    }
    sw_store_set_min_free(store, (uint64_t)cfg.min_free_mb << 20);
    {
        /* A full disk or a read-only file at start: serve reads, say why writes are refused. */
        char why[512];
        if (sw_store_state(store, why, sizeof why, NULL) != SW_STORE_OK)
            sw_warn("main", "starting degraded: %s", why);
    }
    /* Payloads link to the dashboard at the configured address. */
    char dashboard[200];
    snprintf(dashboard, sizeof dashboard, "http://%s/", cfg.listen);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* From here on the profile is a reference-counted object that a reload can replace (reload.h);
     * cfg.profile is left empty. */
    prof = sw_profile_adopt(&cfg.profile);
    deliveries = sw_delivery_log_new(store); /* freed after the store: its writer may still use it */
    hooks = prof && deliveries ? sw_hooks_start(prof, dashboard, deliveries) : NULL;
    alarms = hooks ? sw_alarms_new(prof, store, hooks) : NULL;
    if (!alarms) {
        sw_error("main", "cannot start the alarm hooks");
        goto out;
    }
    engine = sw_engine_new(&cfg, prof, store, alarms, !sw_ha_active(ha));
    if (!engine) {
        sw_error("main", "cannot load the state from \"%s\"", cfg.db);
        goto out;
    }
    reload = sw_reload_new(&cfg, prof, store, engine, alarms, hooks, dashboard);
    if (!reload) {
        sw_error("main", "out of memory");
        goto out;
    }
    prof = NULL;  /* reload took over that reference, */
    hooks = NULL; /* and the hooks */
    stream = sw_stream_new(&cfg);
    if (!stream) {
        sw_error("main", "out of memory for the stream ring");
        goto out;
    }
    sw_engine_set_stream(engine, stream);
    sw_alarms_set_stream(alarms, stream);
    srv = sw_server_start(&cfg, engine, store, alarms, stream, reload, ha, err, sizeof err);
    if (!srv) {
        sw_error("main", "%s", err);
        goto out;
    }
    if (ha) {
        hactx = (struct ha_ctx){engine, alarms, stream, store};
        sw_stream_set_relay(stream, sw_ha_relay, ha);
        struct sw_ha_hooks hh = {ha_promote, ha_relayed, &hactx};
        if (sw_ha_run(ha, &hh, err, sizeof err) != 0) {
            sw_error("main", "%s", err);
            goto out;
        }
    }
    timer.ha = ha;
    timer.engine = engine;
    timer.alarms = alarms;
    timer.stream = stream;
    timer.retention = retention = sw_retention_new(&cfg, store, reload);
    timer.store = store;
    timer.rebuild.more = 1; /* the first job finds out whether any run's sums are to be built */
    pthread_mutex_init(&timer.mu, NULL);
    pthread_cond_init(&timer.cv, NULL);
    timer_started = pthread_create(&timer_thread, NULL, timer_main, &timer) == 0;

    char host[128];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(cfg.listen, ':') - cfg.listen), cfg.listen);
    struct sw_profile *cur = sw_reload_profile(reload);
    sw_info("main", "spillwatch %s: profile \"%s\" %s, database %s", SW_VERSION, cur->name, cur->version,
            cfg.db);
    sw_profile_unref(cur);
    sw_info("main", "listening on http://%s:%u/", host, sw_server_port(srv));

    int sig = 0;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
        json_t *answer = NULL;
        sw_reload_apply(reload, "SIGHUP", &answer); /* logs the outcome itself */
        json_decref(answer);
    }
    sw_info("main", "signal %d: shutting down", sig);
    rc = 0;
out:
    if (store)
        sw_store_give_up(store); /* a commit failing on a full disk must not hold the shutdown */
    sw_server_stop(srv);         /* finishes running requests (and their commits) first */
    if (timer_started) {
        pthread_mutex_lock(&timer.mu);
        timer.stop = 1;
        pthread_cond_signal(&timer.cv);
        pthread_mutex_unlock(&timer.mu);
        pthread_join(timer_thread, NULL);
    }
    sw_engine_free(engine);
    sw_alarms_free(alarms);
    sw_stream_free(stream); /* after the server and the timer: nobody publishes any more */
    sw_reload_free(reload); /* stops the hooks in force: queued notices get a last attempt */
    sw_hooks_stop(hooks);   /* (when start-up failed before reload took them over) */
    sw_profile_unref(prof);
    sw_store_close(store);
    sw_ha_stop(ha); /* releases the lock once every commit is written: a standby takes over */
    sw_delivery_log_free(deliveries);
    sw_retention_free(retention); /* after the writer ran its last queued chunk */
    curl_global_cleanup();
    sw_config_release(&cfg);
    sw_hcache_clear();
    return rc;
}
