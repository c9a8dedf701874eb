/* http.c — see http.h */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "http_log.h"
#include "clock.h"
#include "ingest_pool.h"
#include "defer.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "stream.h"
#include "ticket.h"

#define BODY_SPARES    4
#define BODY_SPARE_MIN (256 * 1024) /* malloc's mmap threshold (main.c): smaller ones reuse the heap */
#define BODY_SPARE_MAX (2 * 1024 * 1024)

struct sw_server {
    struct MHD_Daemon *mhd;
    struct sw_api api;
    struct sw_stream *stream;   /* borrowed; may be NULL */
    struct sw_tickets *tickets; /* stream tickets (ticket.h); owned */
    char www_real[PATH_MAX];    /* realpath of the www root; "" when missing */
    unsigned port;
    /* Ingest requests suspended while their commits ran (see ingest_wait), until their answer is
     * sent. susp_mu orders each suspension before its resumption; stop waits on susp_cv until
     * none is left. */
    pthread_mutex_t susp_mu;
    pthread_cond_t susp_cv;
    int suspended;
    int stopping; /* no more suspensions: ingest then waits for its commits on the pool thread */
    /* Large request bodies kept for the next ones (body_take/body_keep): a fresh buffer of 1 MB
     * (an ingest batch of 1,000 full events) comes from mmap and costs a page fault per 4 KB on
     * every request, about a tenth of ingest's CPU. At most BODY_SPARES buffers of BODY_SPARE_MIN
     * to BODY_SPARE_MAX bytes, under spare_mu; freed at the stop. */
    pthread_mutex_t spare_mu;
    char *spare[BODY_SPARES];
    size_t spare_cap[BODY_SPARES];
    struct sw_ratelimit *write_limit, *ingest_limit; /* per client address */
    struct sw_ingest_pool *pool;                     /* parses and applies ingest batches (ingest_job) */
};

/* Per-request state while a body arrives, and while an ingest waits for its commits. */
struct req {
    char *body;
    size_t len, cap;
    int too_big;    /* 1: over body_max (413), 2: answered before the body, 3: over body_memory_max (503) */
    double started; /* sw_mono() at the first callback (headers read), for the duration histogram */
    struct sw_server *srv;
    struct MHD_Connection *conn;
    struct sw_ingest_call *call; /* ingest only */
    int suspended;          /* was suspended for call's commits: counted in srv->suspended until completed */
    struct sw_defer *defer; /* a human write waiting for the writer (defer.h), until answered */
    /* An ingest batch handed to the pool (ingest_job) while its connection is suspended; reply is
     * the pool's answer when it refused the batch (call not active then). */
    struct sw_ingest_job job;
    int pooled;
    struct sw_reply reply;
};

/* A kept body buffer of at least want bytes (*cap set to its size), or NULL. */
static char *body_take(struct sw_server *srv, size_t want, size_t *cap)
{
    char *b = NULL;
    pthread_mutex_lock(&srv->spare_mu);
    for (int i = 0; i < BODY_SPARES && !b; i++)
        if (srv->spare[i] && srv->spare_cap[i] >= want) {
            b = srv->spare[i];
            *cap = srv->spare_cap[i];
            srv->spare[i] = NULL;
        }
    pthread_mutex_unlock(&srv->spare_mu);
    return b;
}

/* Keeps a body buffer for the next request when it is of the sizes kept and a slot is free;
 * frees it otherwise. */
static void body_keep(struct sw_server *srv, char *b, size_t cap)
{
    if (b && cap >= BODY_SPARE_MIN && cap <= BODY_SPARE_MAX) {
        pthread_mutex_lock(&srv->spare_mu);
        for (int i = 0; i < BODY_SPARES && b; i++)
            if (!srv->spare[i]) {
                srv->spare[i] = b;
                srv->spare_cap[i] = cap;
                b = NULL;
            }
        pthread_mutex_unlock(&srv->spare_mu);
    }
    free(b);
}

/* Frees what a request body holds (and its share of limits.body_memory_max); the rest of the body
 * is then discarded as it arrives and the request answered with too_big's status (1: 413, 3: 503). */
static void drop_body(struct req *rq, int too_big)
{
    atomic_fetch_sub(&sw_metrics.http_body_bytes, rq->cap);
    body_keep(rq->srv, rq->body, rq->cap);
    rq->body = NULL;
    rq->len = rq->cap = 0;
    rq->too_big = too_big;
}

/* Counts an answered request: totals and its duration from rq->started to now (response queued). */
static void count_request(const struct req *rq, unsigned status)
{
    sw_histogram_observe(&sw_metrics.http_duration, sw_mono() - rq->started);
    atomic_fetch_add(&sw_metrics.http_requests, 1);
    if (status >= 400)
        atomic_fetch_add(&sw_metrics.http_errors, 1);
}

static int is_ingest(const char *url)
{
    return strcmp(url, "/api/v1/ingest") == 0;
}

#define TICKET_PATH "/api/v1/stream/ticket"

/* Rate limits of writes per client address (limits.write_rate, limits.ingest_rate), checked when the
 * headers are in, before the body is read or the token checked (so guessing tokens is limited too).
 * Returns 0, or the seconds for Retry-After. */
static unsigned rate_limited(struct sw_server *srv, struct MHD_Connection *conn, const char *method,
                             const char *url)
{
    /* A stream ticket is a read (the read role), as unlimited as the GETs it stands for; the table's
     * bound (ticket.h) is what limits it. */
    if (strncmp(url, "/api/", 5) != 0 || strcmp(url, TICKET_PATH) == 0 ||
        (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0))
        return 0;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return sw_ratelimit_take(is_ingest(url) ? srv->ingest_limit : srv->write_limit,
                             ci ? ci->client_addr : NULL, sw_mono());
}

/* On every response. The pages carry no inline script or style and load everything from this server
 * (Chart.js included), so the policy allows only 'self'; the favicon is a data: URL. */
static void security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, const struct req *rq, struct sw_reply *r)
{
    if (r->raw) { /* built by its handler (the live stream) */
        MHD_add_response_header(r->raw, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        security_headers(r->raw);
        enum MHD_Result ret = MHD_queue_response(conn, r->status, r->raw);
        MHD_destroy_response(r->raw);
        r->raw = NULL;
        count_request(rq, r->status);
        return ret;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->len, r->body ? r->body : (void *)"", r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    r->body = NULL;
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    security_headers(resp);
    if (r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->filename[0] && r->status < 300) {
        char cd[128];
        snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", r->filename);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
    }
    if (r->retry_after) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    if (r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    count_request(rq, r->status);
    return ret;
}

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Static files: only regular files whose real path lies inside the www root. */
static enum MHD_Result serve_static(struct sw_server *srv, struct MHD_Connection *conn, const struct req *rq,
                                    const char *url)
{
    struct sw_reply r = {0};
    char rel[PATH_MAX], full[PATH_MAX], real[PATH_MAX];
    if (strstr(url, "..") || strchr(url, '\\') || url[0] != '/') {
        sw_reply_fail(&r, SW_ENOTFOUND, "not found: %s", url);
        return send_reply(conn, rq, &r);
    }
    if (strcmp(url, "/") == 0)
        snprintf(rel, sizeof rel, "/index.html");
    else if (strncmp(url, "/vendor/", 8) == 0) {
        /* /vendor/<pkg>/<file> -> node_modules/<pkg>/dist/<file> (npm-installed, never in the repo) */
        const char *pkg = url + 8, *slash = strchr(pkg, '/');
        if (!slash || slash == pkg) {
            sw_reply_fail(&r, SW_ENOTFOUND, "not found: %s", url);
            return send_reply(conn, rq, &r);
        }
        snprintf(rel, sizeof rel, "/node_modules/%.*s/dist%s", (int)(slash - pkg), pkg, slash);
        /* a package without dist/ (hammerjs) ships its build at its top */
        char probe[PATH_MAX];
        int pl = snprintf(probe, sizeof probe, "%s/node_modules/%.*s/dist", srv->www_real, (int)(slash - pkg),
                          pkg);
        struct stat dst;
        if (pl > 0 && (size_t)pl < sizeof probe && stat(probe, &dst) != 0)
            snprintf(rel, sizeof rel, "/node_modules/%.*s%s", (int)(slash - pkg), pkg, slash);
    } else
        snprintf(rel, sizeof rel, "%s", url);
    int fl = snprintf(full, sizeof full, "%s%s", srv->www_real, rel);
    size_t rootlen = strlen(srv->www_real);
    if (!srv->www_real[0] || fl < 0 || (size_t)fl >= sizeof full || !realpath(full, real) ||
        strncmp(real, srv->www_real, rootlen) != 0 || (real[rootlen] != '/' && real[rootlen] != 0)) {
        sw_reply_fail(&r, SW_ENOTFOUND, "not found: %s", url);
        return send_reply(conn, rq, &r);
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        sw_reply_fail(&r, SW_ENOTFOUND, "not found: %s", url);
        return send_reply(conn, rq, &r);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime_type(real));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    security_headers(resp);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    count_request(rq, MHD_HTTP_OK);
    return ret;
}

/* The writer thread, when the last commit of a suspended ingest is done: resume its connection, and
 * MHD calls on_request again to answer it. Under susp_mu, so it cannot overtake the suspension. */
static void ingest_committed(void *arg)
{
    struct req *rq = arg;
    struct sw_server *srv = rq->srv;
    struct MHD_Connection *conn = rq->conn;
    pthread_mutex_lock(&srv->susp_mu);
    MHD_resume_connection(conn); /* rq may be freed from here on */
    pthread_mutex_unlock(&srv->susp_mu);
}

/* An applied ingest batch whose commits are queued: instead of blocking this pool thread (and every
 * other connection it serves) until the writer is done, suspend the connection; ingest_committed
 * resumes it. Returns 1 when suspended, 0 when the commits are done (or while stopping: waited for
 * here) and the answer can be sent now. */
static int ingest_wait(struct sw_server *srv, struct req *rq)
{
    pthread_mutex_lock(&srv->susp_mu);
    if (!srv->stopping && sw_store_wait_notify(&rq->call->w, ingest_committed, rq)) {
        rq->suspended = 1;
        srv->suspended++;
        MHD_suspend_connection(rq->conn);
        pthread_mutex_unlock(&srv->susp_mu);
        return 1;
    }
    pthread_mutex_unlock(&srv->susp_mu);
    sw_store_wait_all(&rq->call->w);
    return 0;
}

/* On a pool thread, the connection suspended: parses and applies the batch with this thread's
 * scratch, then resumes the connection when the batch's commits are done (on the writer thread)
 * or at once (nothing to wait for, or the batch refused); on_request answers it then. */
static void ingest_job(struct sw_ingest_job *job, struct sw_ingest_scratch *scratch)
{
    struct req *rq = (struct req *)((char *)job - offsetof(struct req, job));
    memset(&rq->reply, 0, sizeof rq->reply);
    sw_ingest_api_apply(&rq->srv->api, rq->call, rq->body, rq->len, scratch, &rq->reply);
    if (rq->call->active && sw_store_wait_notify(&rq->call->w, ingest_committed, rq))
        return;
    ingest_committed(rq);
}

/* An ingest request whose headers are checked (rq->call->queued): to the pool, the connection
 * suspended until its answer. 1 when queued, 0 while the server stops (the caller applies it). */
static int ingest_queue(struct sw_server *srv, struct req *rq)
{
    pthread_mutex_lock(&srv->susp_mu);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->susp_mu);
        return 0;
    }
    rq->suspended = 1;
    rq->pooled = 1;
    srv->suspended++;
    MHD_suspend_connection(rq->conn);
    rq->job.run = ingest_job;
    sw_ingest_pool_submit(srv->pool, &rq->job); /* it cannot resume before susp_mu is free */
    pthread_mutex_unlock(&srv->susp_mu);
    return 1;
}

/* Answers an ingest call whose commits are done. */
static enum MHD_Result ingest_answer(struct sw_server *srv, struct MHD_Connection *conn, struct req *rq)
{
    struct sw_reply r = {0};
    sw_ingest_api_finish(&srv->api, rq->call, &r);
    return send_reply(conn, rq, &r);
}

/* ---- human writes queued to the writer (defer.h), suspended like ingest meanwhile ---- */

static void write_done(void *arg) /* the writer thread: the write ran, resume (under susp_mu) */
{
    struct req *rq = arg;
    struct sw_server *srv = rq->srv;
    pthread_mutex_lock(&srv->susp_mu);
    MHD_resume_connection(rq->conn); /* rq may be freed from here on */
    pthread_mutex_unlock(&srv->susp_mu);
}

/* 1 when suspended until write_done; 0 when the write has run (or while stopping, when
 * write_answer waits for it on this thread). */
static int write_wait(struct sw_server *srv, struct req *rq)
{
    pthread_mutex_lock(&srv->susp_mu);
    int wait = !srv->stopping && sw_defer_notify(rq->defer, write_done, rq);
    if (wait) {
        rq->suspended = 1;
        srv->suspended++;
        MHD_suspend_connection(rq->conn);
    }
    pthread_mutex_unlock(&srv->susp_mu);
    return wait;
}

static enum MHD_Result write_answer(struct MHD_Connection *conn, struct req *rq)
{
    struct sw_reply r = {0};
    sw_defer_finish(rq->defer, &r);
    rq->defer = NULL;
    return send_reply(conn, rq, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    struct sw_server *srv = cls;
    int has_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    struct req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        rq->started = sw_mono();
        rq->srv = srv;
        rq->conn = conn;
        unsigned wait = rate_limited(srv, conn, method, url);
        if (wait) {
            struct sw_reply r = {0};
            sw_reply_fail(&r, SW_ERATE,
                          "too many write requests from this client (limits.%s = %g/s, bursts of %g); "
                          "nothing applied; retry after %u s",
                          is_ingest(url) ? "ingest_rate" : "write_rate",
                          is_ingest(url) ? srv->api.cfg->ingest_rate : srv->api.cfg->write_rate,
                          is_ingest(url) ? srv->api.cfg->ingest_burst : srv->api.cfg->write_burst, wait);
            r.retry_after = wait;
            rq->too_big = 2; /* answered: the body, if any, is discarded */
            atomic_fetch_add(&sw_metrics.http_rate_limited, 1);
            if (is_ingest(url))
                sw_metrics_ingest_rejected(r.status);
            return send_reply(conn, rq, &r);
        }
        if (has_body) {
            /* Refuse a declared oversized body before reading any of it. */
            const char *cl =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoull(cl, NULL, 10) > srv->api.cfg->body_max) {
                struct sw_reply r = {0};
                sw_reply_fail(&r, SW_ETOOBIG, "body of %s bytes is larger than the limit of %zu bytes", cl,
                              srv->api.cfg->body_max);
                rq->too_big = 2; /* answered */
                if (is_ingest(url))
                    sw_metrics_ingest_rejected(r.status);
                return send_reply(conn, rq, &r);
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (sw_mono() - rq->started > srv->api.cfg->request_seconds) {
            /* A body dribbled in: the connection goes, with what it sent. */
            sw_warn("http", "%s %s: body not complete after limits.request_seconds = %g s; connection closed",
                    method, url, srv->api.cfg->request_seconds);
            atomic_fetch_add(&sw_metrics.http_request_timeouts, 1);
            if (is_ingest(url) && !rq->too_big)
                sw_metrics_ingest_rejected(408);
            return MHD_NO;
        }
        if (rq->too_big) {
            *upload_size = 0; /* discard the rest */
            return MHD_YES;
        }
        if (rq->len + *upload_size > srv->api.cfg->body_max) {
            drop_body(rq, 1);
            *upload_size = 0;
            return MHD_YES;
        }
        if (rq->len + *upload_size + 1 > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 65536;
            while (cap < rq->len + *upload_size + 1)
                cap *= 2;
            if (cap > srv->api.cfg->body_max + 1)
                cap = srv->api.cfg->body_max + 1;
            /* A large body takes a kept buffer (which may be larger) instead of fresh memory. */
            size_t kept_cap = 0;
            char *kept = cap >= BODY_SPARE_MIN ? body_take(srv, cap, &kept_cap) : NULL;
            if (kept)
                cap = kept_cap;
            /* All bodies being received share limits.body_memory_max: many large uploads at once get
             * 503 + Retry-After instead of the memory. */
            uint64_t total = atomic_fetch_add(&sw_metrics.http_body_bytes, cap - rq->cap) + (cap - rq->cap);
            if (total > srv->api.cfg->body_memory_max) {
                atomic_fetch_sub(&sw_metrics.http_body_bytes, cap - rq->cap);
                body_keep(srv, kept, kept_cap);
                drop_body(rq, 3);
                *upload_size = 0;
                return MHD_YES;
            }
            char *b;
            if (kept) {
                if (rq->len)
                    memcpy(kept, rq->body, rq->len);
                free(rq->body);
                b = kept;
            } else
                b = realloc(rq->body, cap);
            if (!b) {
                atomic_fetch_sub(&sw_metrics.http_body_bytes, cap - rq->cap);
                return MHD_NO;
            }
            rq->body = b;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload_data, *upload_size);
        rq->len += *upload_size;
        rq->body[rq->len] = 0;
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_big == 2)
        return MHD_YES; /* 413 already queued */
    if (rq->call && rq->call->active)
        return ingest_answer(srv, conn, rq); /* resumed: the commits are done */
    if (rq->pooled) {                        /* resumed: the pool refused the batch */
        rq->pooled = 0;
        return send_reply(conn, rq, &rq->reply);
    }
    if (rq->defer)
        return write_answer(conn, rq); /* resumed: the human write has run */
    struct sw_reply r = {0};
    if (rq->too_big == 3) {
        sw_reply_fail(&r, SW_EUNAVAILABLE,
                      "the server is receiving limits.body_memory_max = %zu bytes of request bodies already; "
                      "nothing applied; send it again after Retry-After seconds",
                      srv->api.cfg->body_memory_max);
        r.retry_after = 1;
        if (is_ingest(url))
            sw_metrics_ingest_rejected(r.status);
        return send_reply(conn, rq, &r);
    }
    if (rq->too_big) {
        sw_reply_fail(&r, SW_ETOOBIG, "body larger than the limit of %zu bytes", srv->api.cfg->body_max);
        if (is_ingest(url))
            sw_metrics_ingest_rejected(r.status);
        return send_reply(conn, rq, &r);
    }
    if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/metrics") == 0) {
        if (is_ingest(url) && !(rq->call = calloc(1, sizeof *rq->call)))
            return MHD_NO;
        if (rq->call)
            rq->call->defer = srv->pool != NULL; /* the headers here, the batch on the pool */
        sw_api_handle(&srv->api, conn, method, url, rq->body, rq->len, rq->call, &r);
        if (rq->call && rq->call->queued) {
            if (ingest_queue(srv, rq))
                return MHD_YES;
            struct sw_ingest_scratch scratch = {0}; /* stopping: here, as without the pool */
            sw_ingest_api_apply(&srv->api, rq->call, rq->body, rq->len, &scratch, &r);
            sw_ingest_scratch_release(&scratch);
        }
        if (rq->call && rq->call->active)
            return ingest_wait(srv, rq) ? MHD_YES : ingest_answer(srv, conn, rq);
        if (r.defer) {
            rq->defer = r.defer;
            return write_wait(srv, rq) ? MHD_YES : write_answer(conn, rq);
        }
        return send_reply(conn, rq, &r);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        sw_reply_fail(&r, SW_EMETHOD, "method %s not allowed for %s", method, url);
        r.allow = "GET, HEAD";
        return send_reply(conn, rq, &r);
    }
    return serve_static(srv, conn, rq, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct sw_server *srv = cls;
    struct req *rq = *con_cls;
    if (rq) {
        if (rq->call && rq->call->active) {
            /* Applied, but the client is gone before its answer: the commits are done (a suspended
             * connection is not closed), so only the source's committed seq is left to advance. */
            struct sw_reply r = {0};
            sw_ingest_api_finish(&srv->api, rq->call, &r);
            free(r.body);
        }
        if (rq->defer) { /* the client is gone: the write has run, done still learns of it */
            struct sw_reply r = {0};
            sw_defer_finish(rq->defer, &r);
            free(r.body);
        }
        if (rq->suspended) { /* its answer is sent (or its client gone): stop may go on */
            pthread_mutex_lock(&srv->susp_mu);
            if (--srv->suspended == 0)
                pthread_cond_broadcast(&srv->susp_cv);
            pthread_mutex_unlock(&srv->susp_mu);
        }
        free(rq->call);
        free(rq->reply.body); /* a refusal of the pool whose client went away */
        drop_body(rq, 0);
        free(rq);
        *con_cls = NULL;
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes %XX in the path and in query arguments, in place, like libmicrohttpd's own unescaping,
 * except %00: it stays as it is, since a NUL would cut the C string short and hide what follows
 * it (/index.html%00/../x) from every later check. Returns the new length. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else
            *w++ = *r++;
    }
    *w = 0;
    return (size_t)(w - s);
}

/* 1 when addr is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x.y.z). */
static int loopback(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
    if (addr->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

struct sw_server *sw_server_start(const struct sw_config *cfg, struct sw_engine *engine,
                                  struct sw_store *store, struct sw_alarms *alarms, struct sw_stream *stream,
                                  struct sw_reload *reload, struct sw_ha *ha, char *err, size_t errlen)
{
    struct sw_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->api =
        (struct sw_api){cfg, engine, store, alarms, reload, NULL, NULL, ha}; /* stream, tickets below */
    pthread_mutex_init(&srv->susp_mu, NULL);
    pthread_cond_init(&srv->susp_cv, NULL);
    pthread_mutex_init(&srv->spare_mu, NULL);
    srv->write_limit = sw_ratelimit_new(cfg->write_rate, cfg->write_burst);
    srv->ingest_limit = sw_ratelimit_new(cfg->ingest_rate, cfg->ingest_burst);
    if (!srv->write_limit || !srv->ingest_limit) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    srv->stream = stream;
    if (!(srv->pool = sw_ingest_pool_new(cfg->ingest_threads, err, errlen)))
        goto fail;
    sw_info("http", "ingest pool: %d threads", sw_ingest_pool_threads(srv->pool));
    srv->tickets = sw_tickets_new(SW_TICKETS_MAX, SW_TICKET_SECONDS);
    if (!srv->tickets) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    srv->api.stream = stream;
    srv->api.tickets = srv->tickets;
    if (!realpath(cfg->www, srv->www_real)) {
        sw_warn("http", "www root \"%s\": %s; dashboards are not served", cfg->www, strerror(errno));
        srv->www_real[0] = 0;
    }

    /* HOST:PORT, with [v6]:PORT accepted. */
    char host[128];
    const char *colon = strrchr(cfg->listen, ':');
    if (!colon || colon == cfg->listen || !colon[1]) {
        snprintf(err, errlen, "listen address \"%s\": expected HOST:PORT", cfg->listen);
        goto fail;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - cfg->listen), cfg->listen);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE},
                    *ai = NULL;
    int gai = getaddrinfo(host, colon + 1, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "listen address \"%s\": %s", cfg->listen, gai_strerror(gai));
        goto fail;
    }
    /* Secure by default: without tokens anyone who reaches the port may ingest, flag, sign off and
     * reload, so an address beyond loopback needs tokens, or auth.allow_open to say it is meant. */
    if (!loopback(ai->ai_addr) && cfg->ntokens == 0) {
        if (!cfg->allow_open) {
            snprintf(
                err, errlen,
                "refusing to listen on %s without tokens: anyone who reaches it could ingest, flag, sign "
                "off and reload. Configure auth.tokens (docs/configuration.md), listen on loopback behind "
                "a proxy, or set auth.allow_open: true to mean it",
                cfg->listen);
            freeaddrinfo(ai);
            goto fail;
        }
        sw_warn("http",
                "listening on %s without tokens (auth.allow_open): every write is open to anyone "
                "who reaches the port",
                cfg->listen);
    }
    /* Suspend/resume: stream connections wait suspended, not on a thread (stream.h). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger option comes first, so that MHD routes every message through it. */
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, sw_http_log, srv,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->connection_timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->connections_max,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->connections_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->connection_memory, MHD_OPTION_UNESCAPE_CALLBACK, unescape,
        NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!srv->mhd) {
        snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, errno ? strerror(errno) : "MHD failed");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    return srv;
fail:
    sw_ingest_pool_free(srv->pool);
    sw_tickets_free(srv->tickets);
    sw_ratelimit_free(srv->write_limit);
    sw_ratelimit_free(srv->ingest_limit);
    pthread_mutex_destroy(&srv->susp_mu);
    pthread_cond_destroy(&srv->susp_cv);
    pthread_mutex_destroy(&srv->spare_mu);
    free(srv);
    return NULL;
}

unsigned sw_server_port(struct sw_server *srv)
{
    return srv->port;
}

void sw_server_stop(struct sw_server *srv)
{
    if (!srv)
        return;
    /* MHD refuses to stop with suspended connections: no new ingest suspends, those suspended are
     * resumed by their commits (the writer still runs) and answered; then every stream ends. */
    MHD_socket listener = MHD_quiesce_daemon(srv->mhd); /* ours to close, after the stop */
    pthread_mutex_lock(&srv->susp_mu);
    srv->stopping = 1;
    while (srv->suspended > 0)
        pthread_cond_wait(&srv->susp_cv, &srv->susp_mu);
    pthread_mutex_unlock(&srv->susp_mu);
    sw_stream_shutdown(srv->stream);
    MHD_stop_daemon(srv->mhd);
    sw_ingest_pool_free(srv->pool); /* idle: every job it had was answered above */
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    pthread_mutex_destroy(&srv->susp_mu);
    pthread_cond_destroy(&srv->susp_cv);
    for (int i = 0; i < BODY_SPARES; i++)
        free(srv->spare[i]);
    pthread_mutex_destroy(&srv->spare_mu);
    sw_ratelimit_free(srv->write_limit);
    sw_ratelimit_free(srv->ingest_limit);
    sw_tickets_free(srv->tickets);
    free(srv);
}
