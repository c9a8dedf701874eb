/* config.h — the server config (config/spillwatch.json): listen address, paths, limits, auth
 * tokens, retention, store reserve, and the experiment profile it names (config/na64mu.json;
 * profile.h). The config is loaded and validated once at start-up and immutable afterwards, so
 * every thread may read it without locks; it owns its token secrets and, until main moves it out
 * (sw_profile_adopt), its profile.
 *
 * Validation reports every problem, each with the JSON path of the bad key and the config file's
 * name (cfgkit.h), so --check-config can list them all. Relative paths in the config are resolved
 * against the directory of the config file, so the server starts from any working directory.
 */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "cfgkit.h"
#include "display.h"
#include "profile.h"

struct sw_token {
    char name[SW_NAME_MAX];
    char *secret;   /* owned */
    unsigned roles; /* SW_ROLE_* bits */
};
enum { SW_ROLE_READ = 1, SW_ROLE_INGEST = 2, SW_ROLE_SHIFTER = 4, SW_ROLE_ADMIN = 8 };

struct sw_config {
    char path[PATH_MAX]; /* the config file, as given */
    char listen[128];    /* HOST:PORT */
    char db[PATH_MAX];   /* a SQLite file's path, resolved, or a postgresql:// URI as given */
    char advertise[256]; /* cluster.advertise: this server's base URL for collectors ("": http://listen) */
    double ha_poll;      /* cluster.poll: s between a standby's tries of the active lock */
    char www[PATH_MAX];  /* resolved */
    char profile_path[PATH_MAX];
    int log_level;
    int threads;                      /* HTTP worker threads */
    int ingest_threads;               /* ingest pool threads (ingest_pool.h); 0: one per online CPU */
    size_t body_max;                  /* bytes of one request body -> 413 above */
    size_t body_memory_max;           /* bytes of all request bodies held at once -> 503 above */
    size_t line_max;                  /* bytes of one NDJSON line -> 413 above */
    int fields_max;                   /* keys of one record (and columns of an events record) -> 400 above */
    size_t batch_events_max;          /* events in one request -> 413 above */
    int writer_queue_max;             /* store writer jobs at which ingest answers 503 + Retry-After */
    long long min_free_mb;            /* store.min_free_mb: free MB under the database's directory below
                                       * which ingest and human writes answer 503 + Retry-After; 0 = off */
    double spill_timeout;             /* s after the last data of an open spill -> closed as incomplete */
    int stream_clients_max;           /* concurrent GET /api/v1/stream clients -> 503 above */
    int stream_ring;                  /* events kept for Last-Event-ID resume */
    double stream_heartbeat;          /* s between the stream's comment heartbeats */
    int connections_max;              /* open connections in all; more are refused at accept */
    int connections_per_ip;           /* open connections from one client address; 0 = no limit */
    int connection_timeout;           /* s without traffic before a connection is closed */
    size_t connection_memory;         /* bytes MHD may use per connection (request line + headers) -> 431 */
    double request_seconds;           /* s from the end of the headers to the end of the body -> closed */
    double write_rate, write_burst;   /* per client address: human writes (POST/PUT/DELETE but ingest) */
    double ingest_rate, ingest_burst; /* per client address: POST /api/v1/ingest; rate 0 = no limit */
    int open_spills_max;              /* spills open at once, in all -> a batch opening more is refused */
    int open_spills_per_source;       /* spills open at once that one X-Spillwatch-Source opened */
    size_t open_spill_memory;         /* bytes of the histograms of all open spills -> refused above */
    double source_lease;              /* s a collector instance holds its source after its last batch */
    /* retention (docs/configuration.md): per-spill histograms older than retention_days are pruned
     * (summed into their run first); < 0 keeps them forever. */
    double retention_days;
    double retention_interval; /* s between prune passes */
    int retention_chunk;       /* spills per prune transaction */
    struct sw_token *tokens;
    int ntokens;
    int read_requires_token;
    int allow_open; /* auth.allow_open: listening beyond loopback without tokens is allowed (warned) */
    struct sw_display display; /* "display": the dashboards' time zone and kiosk rotation */
    struct sw_profile profile; /* as loaded; the server moves it out at start-up (sw_profile_adopt) */
};

/* Loads and validates the config at path and the profile it names. Returns 0 with *cfg filled,
 * or -1 with every problem in diag (cfg then released). Callers apply command-line overrides
 * (listen, db, www) afterwards. */
int sw_config_load(struct sw_config *cfg, const char *path, struct sw_diag *diag);
/* Frees what the config owns; accepts a zeroed struct. */
void sw_config_release(struct sw_config *cfg);

#endif
