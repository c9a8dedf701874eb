/* config.c — see config.h */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgkit.h"
#include "sql.h"
#include "log.h"
#include "profile.h"

static void parse_auth(struct sw_config *cfg, json_t *auth, struct sw_diag *d)
{
    static const char *const known[] = {"tokens", "read_requires_token", "allow_open", NULL};
    static const char *const tknown[] = {"name", "token", "token_file", "roles", NULL};
    if (!json_is_object(auth)) {
        sw_diag_add(d, "$.auth: must be an object");
        return;
    }
    sw_cfg_check_keys(auth, known, "$.auth", d);
    json_t *rr = json_object_get(auth, "read_requires_token");
    cfg->read_requires_token = json_is_true(rr);
    json_t *open = json_object_get(auth, "allow_open");
    if (open && !json_is_boolean(open))
        sw_diag_add(d, "$.auth.allow_open: must be true or false");
    cfg->allow_open = json_is_true(open);
    json_t *tokens = json_object_get(auth, "tokens");
    if (!tokens)
        return;
    if (!json_is_array(tokens)) {
        sw_diag_add(d, "$.auth.tokens: must be an array");
        return;
    }
    cfg->tokens = calloc(json_array_size(tokens) + 1, sizeof *cfg->tokens);
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t)
    {
        char p[64];
        snprintf(p, sizeof p, "$.auth.tokens[%zu]", i);
        if (!json_is_object(t)) {
            sw_diag_add(d, "%s: must be an object", p);
            continue;
        }
        sw_cfg_check_keys(t, tknown, p, d);
        struct sw_token *tok = &cfg->tokens[cfg->ntokens];
        snprintf(tok->name, sizeof tok->name, "%s", sw_cfg_get_string(t, "name", "", p, d));
        if (!tok->name[0])
            sw_diag_add(d, "%s.name: missing", p);
        const char *secret = sw_cfg_get_string(t, "token", NULL, p, d);
        const char *file = sw_cfg_get_string(t, "token_file", NULL, p, d);
        if (!!secret == !!file) {
            sw_diag_add(d, "%s: exactly one of token, token_file is required", p);
            continue;
        }
        if (file) {
            char fp[PATH_MAX];
            sw_cfg_resolve_path(fp, sizeof fp, cfg->path, file);
            FILE *f = fopen(fp, "r");
            char buf[512] = "";
            if (!f || !fgets(buf, sizeof buf, f)) {
                sw_diag_add(d, "%s.token_file: cannot read \"%s\": %s", p, fp, strerror(errno));
                if (f)
                    fclose(f);
                continue;
            }
            fclose(f);
            buf[strcspn(buf, "\r\n")] = 0;
            tok->secret = strdup(buf);
        } else
            tok->secret = strdup(secret);
        if (!tok->secret || strlen(tok->secret) < 16)
            sw_diag_add(d, "%s: the token must have at least 16 characters", p);
        json_t *roles = json_object_get(t, "roles");
        size_t j;
        json_t *r;
        if (!json_is_array(roles))
            sw_diag_add(d, "%s.roles: must be an array of read, ingest, shifter, admin", p);
        json_array_foreach(roles, j, r)
        {
            const char *rn = json_is_string(r) ? json_string_value(r) : "";
            if (!strcmp(rn, "read"))
                tok->roles |= SW_ROLE_READ;
            else if (!strcmp(rn, "ingest"))
                tok->roles |= SW_ROLE_INGEST;
            else if (!strcmp(rn, "shifter"))
                tok->roles |= SW_ROLE_SHIFTER | SW_ROLE_READ;
            else if (!strcmp(rn, "admin"))
                tok->roles |= SW_ROLE_ADMIN | SW_ROLE_SHIFTER | SW_ROLE_READ;
            else
                sw_diag_add(d, "%s.roles[%zu]: must be one of read, ingest, shifter, admin", p, j);
        }
        cfg->ntokens++;
    }
}

/* "cluster": {"advertise": URL, "poll": s}: several servers on one PostgreSQL database (ha.h). */
static void parse_cluster(struct sw_config *cfg, json_t *c, struct sw_diag *d)
{
    static const char *const known[] = {"advertise", "poll", NULL};
    cfg->ha_poll = 1;
    if (!c)
        return;
    if (!json_is_object(c)) {
        sw_diag_add(d, "$.cluster: must be an object");
        return;
    }
    sw_cfg_check_keys(c, known, "$.cluster", d);
    const char *adv = sw_cfg_get_string(c, "advertise", "", "$.cluster", d);
    if (adv[0] && strncmp(adv, "http://", 7) && strncmp(adv, "https://", 8))
        sw_diag_add(d,
                    "$.cluster.advertise: must be an http:// or https:// URL (how the collectors reach this "
                    "server)");
    snprintf(cfg->advertise, sizeof cfg->advertise, "%s", adv);
    cfg->ha_poll = sw_cfg_get_number(c, "poll", cfg->ha_poll, 0.1, 60, "$.cluster", d);
}

/* "store": {"min_free_mb": N}: the free-space reserve of the database's file system. */
static void parse_store(struct sw_config *cfg, json_t *st, struct sw_diag *d)
{
    static const char *const known[] = {"min_free_mb", NULL};
    cfg->min_free_mb = 64;
    if (!st)
        return;
    if (!json_is_object(st)) {
        sw_diag_add(d, "$.store: must be an object");
        return;
    }
    sw_cfg_check_keys(st, known, "$.store", d);
    cfg->min_free_mb = sw_cfg_get_int(st, "min_free_mb", cfg->min_free_mb, 0, 1LL << 30, "$.store", d);
}

/* "retention": {"spill_histograms_days": D, "interval": S, "chunk": N}; absent = keep forever. */
static void parse_retention(struct sw_config *cfg, json_t *ret, struct sw_diag *d)
{
    static const char *const known[] = {"spill_histograms_days", "interval", "chunk", NULL};
    cfg->retention_days = -1;
    cfg->retention_interval = 3600;
    cfg->retention_chunk = 200;
    if (!ret)
        return;
    if (!json_is_object(ret)) {
        sw_diag_add(d, "$.retention: must be an object");
        return;
    }
    sw_cfg_check_keys(ret, known, "$.retention", d);
    json_t *days = json_object_get(ret, "spill_histograms_days");
    if (days && !json_is_null(days))
        cfg->retention_days = sw_cfg_get_number(ret, "spill_histograms_days", -1, 0, 1e6, "$.retention", d);
    cfg->retention_interval = sw_cfg_get_number(ret, "interval", 3600, 0.1, 86400 * 7, "$.retention", d);
    cfg->retention_chunk = (int)sw_cfg_get_int(ret, "chunk", 200, 1, 100000, "$.retention", d);
}

int sw_config_load(struct sw_config *cfg, const char *path, struct sw_diag *d)
{
    static const char *const known[] = {
        "listen",    "db",     "www",           "profile",        "log_level",
        "threads",   "limits", "spill_timeout", "auth",           "stream_heartbeat",
        "retention", "store",  "display",       "ingest_threads", "cluster",
        NULL};
    static const char *const lknown[] = {"body_max",
                                         "line_max",
                                         "fields_max",
                                         "batch_events_max",
                                         "writer_queue_max",
                                         "stream_clients_max",
                                         "stream_ring",
                                         "connections_max",
                                         "connections_per_ip",
                                         "connection_timeout",
                                         "connection_memory",
                                         "request_seconds",
                                         "write_rate",
                                         "write_burst",
                                         "ingest_rate",
                                         "ingest_burst",
                                         "body_memory_max",
                                         "open_spills_max",
                                         "open_spills_per_source",
                                         "open_spill_memory",
                                         "source_lease",
                                         NULL};
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    int before = d->n;
    json_t *root = sw_cfg_load_json(path, d);
    if (!root)
        return -1;
    sw_cfg_check_keys(root, known, "$", d);
    snprintf(cfg->listen, sizeof cfg->listen, "%s",
             sw_cfg_get_string(root, "listen", "127.0.0.1:8080", "$", d));
    const char *db = sw_cfg_get_string(root, "db", "../var/spillwatch.db", "$", d);
    if (sw_sql_target_is_pg(db)) /* a URI, never a path (and no file named after it) */
        snprintf(cfg->db, sizeof cfg->db, "%s", db);
    else
        sw_cfg_resolve_path(cfg->db, sizeof cfg->db, path, db);
    sw_cfg_resolve_path(cfg->www, sizeof cfg->www, path, sw_cfg_get_string(root, "www", "../www", "$", d));
    const char *lvl = sw_cfg_get_string(root, "log_level", "info", "$", d);
    cfg->log_level = sw_log_parse_level(lvl);
    if (cfg->log_level < 0) {
        sw_diag_add(d, "$.log_level: must be one of debug, info, warn, error");
        cfg->log_level = SW_LOG_INFO;
    }
    cfg->threads = (int)sw_cfg_get_int(root, "threads", 4, 1, 256, "$", d);
    cfg->ingest_threads = (int)sw_cfg_get_int(root, "ingest_threads", 0, 0, 256, "$", d);
    cfg->spill_timeout = sw_cfg_get_number(root, "spill_timeout", 60, 1, 86400, "$", d);
    cfg->body_max = 64u << 20;
    cfg->line_max = 8u << 20;
    cfg->fields_max = 256;
    cfg->batch_events_max = 1000000;
    cfg->writer_queue_max = 1024;
    cfg->stream_clients_max = 64;
    cfg->stream_ring = 1024;
    cfg->body_memory_max = 512u << 20;
    cfg->connections_max = 1000;
    cfg->connections_per_ip = 200;
    cfg->connection_timeout = 60;
    cfg->connection_memory = 64u << 10;
    cfg->request_seconds = 120;
    cfg->write_rate = 10;
    cfg->write_burst = 60;
    cfg->ingest_rate = 0;
    cfg->ingest_burst = 1000;
    cfg->open_spills_max = 64;
    cfg->open_spills_per_source = 16;
    cfg->open_spill_memory = 1u << 30;
    cfg->source_lease = 60;
    cfg->stream_heartbeat = sw_cfg_get_number(root, "stream_heartbeat", 15, 1, 3600, "$", d);
    json_t *lim = json_object_get(root, "limits");
    if (lim && !json_is_object(lim))
        sw_diag_add(d, "$.limits: must be an object");
    else if (lim) {
        sw_cfg_check_keys(lim, lknown, "$.limits", d);
        cfg->body_max =
            (size_t)sw_cfg_get_int(lim, "body_max", (long long)cfg->body_max, 1024, 1LL << 32, "$.limits", d);
        cfg->line_max =
            (size_t)sw_cfg_get_int(lim, "line_max", (long long)cfg->line_max, 256, 1LL << 32, "$.limits", d);
        cfg->fields_max = (int)sw_cfg_get_int(lim, "fields_max", cfg->fields_max, 8, 100000, "$.limits", d);
        cfg->batch_events_max = (size_t)sw_cfg_get_int(
            lim, "batch_events_max", (long long)cfg->batch_events_max, 1, 100000000, "$.limits", d);
        cfg->writer_queue_max =
            (int)sw_cfg_get_int(lim, "writer_queue_max", cfg->writer_queue_max, 1, 1000000, "$.limits", d);
        cfg->stream_clients_max =
            (int)sw_cfg_get_int(lim, "stream_clients_max", cfg->stream_clients_max, 1, 10000, "$.limits", d);
        cfg->stream_ring =
            (int)sw_cfg_get_int(lim, "stream_ring", cfg->stream_ring, 8, 1000000, "$.limits", d);
        cfg->body_memory_max = (size_t)sw_cfg_get_int(lim, "body_memory_max", (long long)cfg->body_memory_max,
                                                      1 << 20, 1LL << 40, "$.limits", d);
        cfg->connections_max =
            (int)sw_cfg_get_int(lim, "connections_max", cfg->connections_max, 8, 100000, "$.limits", d);
        cfg->connections_per_ip =
            (int)sw_cfg_get_int(lim, "connections_per_ip", cfg->connections_per_ip, 0, 100000, "$.limits", d);
        cfg->connection_timeout =
            (int)sw_cfg_get_int(lim, "connection_timeout", cfg->connection_timeout, 1, 86400, "$.limits", d);
        cfg->connection_memory = (size_t)sw_cfg_get_int(
            lim, "connection_memory", (long long)cfg->connection_memory, 8192, 16 << 20, "$.limits", d);
        cfg->request_seconds =
            sw_cfg_get_number(lim, "request_seconds", cfg->request_seconds, 1, 86400, "$.limits", d);
        cfg->write_rate = sw_cfg_get_number(lim, "write_rate", cfg->write_rate, 0, 1e6, "$.limits", d);
        cfg->write_burst = sw_cfg_get_number(lim, "write_burst", cfg->write_burst, 1, 1e6, "$.limits", d);
        cfg->ingest_rate = sw_cfg_get_number(lim, "ingest_rate", cfg->ingest_rate, 0, 1e6, "$.limits", d);
        cfg->ingest_burst = sw_cfg_get_number(lim, "ingest_burst", cfg->ingest_burst, 1, 1e6, "$.limits", d);
        cfg->open_spills_max =
            (int)sw_cfg_get_int(lim, "open_spills_max", cfg->open_spills_max, 1, 100000, "$.limits", d);
        cfg->open_spills_per_source = (int)sw_cfg_get_int(
            lim, "open_spills_per_source", cfg->open_spills_per_source, 1, 100000, "$.limits", d);
        cfg->open_spill_memory = (size_t)sw_cfg_get_int(
            lim, "open_spill_memory", (long long)cfg->open_spill_memory, 1 << 20, 1LL << 40, "$.limits", d);
        cfg->source_lease =
            sw_cfg_get_number(lim, "source_lease", cfg->source_lease, 0, 86400, "$.limits", d);
    }
    json_t *auth = json_object_get(root, "auth");
    if (auth)
        parse_auth(cfg, auth, d);
    parse_retention(cfg, json_object_get(root, "retention"), d);
    parse_store(cfg, json_object_get(root, "store"), d);
    parse_cluster(cfg, json_object_get(root, "cluster"), d);
    sw_display_parse(&cfg->display, json_object_get(root, "display"), d);
    const char *prof = sw_cfg_get_string(root, "profile", NULL, "$", d);
    for (int i = before; i < d->n; i++) { /* the server config's own messages name its file */
        char *m = NULL;
        if (asprintf(&m, "%s: %s", path, d->msg[i]) > 0) {
            free(d->msg[i]);
            d->msg[i] = m;
        }
    }
    if (!prof)
        sw_diag_add(d, "%s: $.profile: missing (the experiment profile file)", path);
    else {
        sw_cfg_resolve_path(cfg->profile_path, sizeof cfg->profile_path, path, prof);
        sw_profile_load(&cfg->profile, cfg->profile_path, d);
    }
    json_decref(root);
    if (d->n > before) {
        sw_config_release(cfg);
        return -1;
    }
    return 0;
}

void sw_config_release(struct sw_config *cfg)
{
    for (int i = 0; i < cfg->ntokens; i++)
        free(cfg->tokens[i].secret);
    free(cfg->tokens);
    sw_profile_release(&cfg->profile);
    memset(cfg, 0, sizeof *cfg);
}
