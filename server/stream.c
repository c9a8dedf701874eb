/* stream.c — see stream.h */
#include "stream.h"

#include <inttypes.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "jsonnum.h"
#include "live.h"
#include "log.h"
#include "metrics.h"

/* One formatted event: "id: E-S\nevent: NAME\ndata: JSON\n\n". */
struct slot {
    uint64_t seq;
    char *text;
    size_t len;
};

struct client {
    struct sw_stream *s;
    struct MHD_Connection *conn;
    uint64_t cursor; /* seq of the next event to send */
    size_t partial;  /* bytes of the cursor's event already sent */
    uint64_t hb_gen; /* the heartbeat generation this client has sent */
    char pre[512];   /* control frames sent before any event: hello, reset */
    size_t prelen, preoff;
    int suspended; /* suspended by the reader and not yet taken by a waker */
    int behind;    /* fell behind the ring: the stream ends */
    struct client *prev, *next;
    struct client *wake_next; /* a waker's list, valid while it owns the resume */
};

struct sw_stream {
    const struct sw_config *cfg;
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when inflight drops to 0 */
    struct slot *ring;
    uint64_t cap;
    uint64_t next;  /* seq of the next event; the first is 1 */
    uint64_t epoch; /* start time in ms: ids of another run are recognisably stale */
    struct client *clients;
    int nclients;
    int stopping;
    int inflight;    /* wakers between taking suspended clients and resuming them */
    uint64_t hb_gen; /* bumped every heartbeat interval */
    double last_hb;  /* sw_mono() of the last heartbeat */
    /* the previous live sample, for the trigger rate (timer thread only) */
    int have_prev;
    double prev_mono;
    uint64_t prev_triggers;
    /* sw_stream_set_relay: told of every event published here (set before serving or by the thread
     * that promotes the server; read under mu) */
    void (*relay)(void *ctx, const char *event, const char *data);
    void *relay_ctx;
};

struct sw_stream *sw_stream_new(const struct sw_config *cfg)
{
    struct sw_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->cap = (uint64_t)cfg->stream_ring;
    s->ring = calloc(s->cap, sizeof *s->ring);
    if (!s->ring) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->next = 1;
    s->epoch = (uint64_t)(sw_wall() * 1000);
    s->last_hb = sw_mono();
    return s;
}

void sw_stream_free(struct sw_stream *s)
{
    if (!s)
        return;
    for (uint64_t i = 0; i < s->cap; i++)
        free(s->ring[i].text);
    free(s->ring);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Oldest seq still in the ring. Called with s->mu held. */
static uint64_t oldest(const struct sw_stream *s)
{
    return s->next > s->cap ? s->next - s->cap : 1;
}

/* Takes every suspended client for resuming (all of them when all, else none): returns the list.
 * Called with s->mu held; the caller resumes the list with resume_list after unlocking. */
static struct client *take_suspended(struct sw_stream *s)
{
    struct client *list = NULL;
    for (struct client *c = s->clients; c; c = c->next)
        if (c->suspended) {
            c->suspended = 0;
            c->wake_next = list;
            list = c;
        }
    if (list)
        s->inflight++;
    return list;
}

/* Resumes the connections of a list from take_suspended, outside s->mu. A client may be freed as
 * soon as its connection is resumed, so its successor is read first. */
static void resume_list(struct sw_stream *s, struct client *list)
{
    if (!list)
        return;
    while (list) {
        struct client *next = list->wake_next;
        MHD_resume_connection(list->conn);
        list = next;
    }
    pthread_mutex_lock(&s->mu);
    if (--s->inflight == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

void sw_stream_set_relay(struct sw_stream *s, void (*fn)(void *ctx, const char *event, const char *data),
                         void *ctx)
{
    pthread_mutex_lock(&s->mu);
    s->relay = fn;
    s->relay_ctx = ctx;
    pthread_mutex_unlock(&s->mu);
}

void sw_stream_publish(struct sw_stream *s, const char *event, const json_t *data)
{
    if (!s)
        return;
    char *json = sw_json_text(data, JSON_COMPACT, NULL);
    if (!json) {
        sw_warn("stream", "%s event dropped: out of memory", event);
        return;
    }
    pthread_mutex_lock(&s->mu);
    void (*relay)(void *, const char *, const char *) = s->relay;
    void *relay_ctx = s->relay_ctx;
    pthread_mutex_unlock(&s->mu);
    if (relay)
        relay(relay_ctx, event, json);
    sw_stream_publish_text(s, event, json);
    free(json);
}

void sw_stream_publish_text(struct sw_stream *s, const char *event, const char *json)
{
    if (!s)
        return;
    size_t cap = strlen(json) + strlen(event) + 80;
    char *text = malloc(cap);
    if (!text) {
        sw_warn("stream", "%s event dropped: out of memory", event);
        return;
    }
    pthread_mutex_lock(&s->mu);
    uint64_t seq = s->next++;
    int n = snprintf(text, cap, "id: %" PRIu64 "-%" PRIu64 "\nevent: %s\ndata: %s\n\n", s->epoch, seq, event,
                     json);
    struct slot *sl = &s->ring[seq % s->cap];
    free(sl->text);
    *sl = (struct slot){seq, text, (size_t)n};
    struct client *wake = s->stopping ? NULL : take_suspended(s);
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&sw_metrics.stream_events, 1);
    resume_list(s, wake);
}

void sw_stream_live(struct sw_stream *s, const struct sw_live *l)
{
    if (!s)
        return;
    uint64_t trig = 0;
    for (int t = 0; t < SW_TRIG_N; t++)
        trig += l->triggers[t];
    double rate = NAN;
    if (s->have_prev && l->mono > s->prev_mono && trig >= s->prev_triggers)
        rate = (double)(trig - s->prev_triggers) / (l->mono - s->prev_mono);
    s->have_prev = 1;
    s->prev_mono = l->mono;
    s->prev_triggers = trig;
    if (l->in_spill) {
        double since = l->now - l->last_data;
        json_t *j =
            json_pack("{s:I, s:I, s:I, s:o, s:o, s:f}", "run", (json_int_t)l->run, "spill",
                      (json_int_t)l->spill, "events", (json_int_t)l->spill_events, "trigger_hz",
                      isfinite(rate) ? json_real(rate) : json_null(), "since_data",
                      isfinite(since) ? json_real(since < 0 ? 0 : since) : json_null(), "time", l->now);
        if (j)
            sw_stream_publish(s, "live", j);
        json_decref(j);
    }
    sw_stream_heartbeat(s, l->mono);
}

void sw_stream_heartbeat(struct sw_stream *s, double mono)
{
    if (!s)
        return;
    struct client *wake = NULL;
    pthread_mutex_lock(&s->mu);
    if (mono - s->last_hb >= s->cfg->stream_heartbeat - 0.05) {
        s->last_hb = mono;
        s->hb_gen++;
        if (!s->stopping)
            wake = take_suspended(s);
    }
    pthread_mutex_unlock(&s->mu);
    resume_list(s, wake);
}

/* Copies as much of what is ready for c as fits. Called with s->mu held. */
static size_t fill(struct sw_stream *s, struct client *c, char *buf, size_t max)
{
    size_t n = 0;
    if (c->preoff < c->prelen) {
        size_t k = c->prelen - c->preoff < max ? c->prelen - c->preoff : max;
        memcpy(buf, c->pre + c->preoff, k);
        c->preoff += k;
        n += k;
        if (c->preoff < c->prelen)
            return n;
    }
    while (n < max && c->cursor < s->next) {
        if (c->cursor < oldest(s)) {
            if (!c->behind)
                atomic_fetch_add(&sw_metrics.stream_dropped, 1);
            c->behind = 1;
            return n;
        }
        const struct slot *sl = &s->ring[c->cursor % s->cap];
        size_t k = sl->len - c->partial < max - n ? sl->len - c->partial : max - n;
        memcpy(buf + n, sl->text + c->partial, k);
        n += k;
        c->partial += k;
        if (c->partial < sl->len)
            return n;
        c->partial = 0;
        c->cursor++;
        atomic_fetch_add(&sw_metrics.stream_events_sent, 1);
    }
    if (c->hb_gen != s->hb_gen && c->partial == 0) {
        char hb[64];
        int k = snprintf(hb, sizeof hb, ": hb %.3f\n\n", sw_wall());
        if (k > 0 && (size_t)k <= max - n) {
            memcpy(buf + n, hb, (size_t)k);
            n += (size_t)k;
            c->hb_gen = s->hb_gen;
        }
    }
    return n;
}

/* MHD content reader: what is ready, else suspend (returning 0 without suspending would make MHD
 * call again at once: a busy loop). */
static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct client *c = cls;
    struct sw_stream *s = c->s;
    pthread_mutex_lock(&s->mu);
    size_t n = fill(s, c, buf, max);
    if (n == 0) {
        if (s->stopping || c->behind) {
            pthread_mutex_unlock(&s->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        /* Suspended under the mutex, so no waker can resume before the suspension. */
        c->suspended = 1;
        MHD_suspend_connection(c->conn);
    }
    pthread_mutex_unlock(&s->mu);
    return (ssize_t)n;
}

static void client_free(void *cls)
{
    struct client *c = cls;
    struct sw_stream *s = c->s;
    pthread_mutex_lock(&s->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nclients--;
    atomic_fetch_sub(&sw_metrics.stream_clients, 1);
    pthread_mutex_unlock(&s->mu);
    free(c);
}

/* Sets c->cursor from a Last-Event-ID, or queues a reset saying why it cannot resume. Called with
 * s->mu held. */
static void position(struct sw_stream *s, struct client *c, const char *last_id)
{
    c->cursor = s->next;
    if (!last_id || !*last_id)
        return;
    unsigned long long epoch, seq;
    char tail;
    const char *why = NULL;
    if (sscanf(last_id, "%llu-%llu%c", &epoch, &seq, &tail) != 2)
        why = "unknown event id";
    else if (epoch != s->epoch)
        why = "event id of an earlier server run";
    else if (seq >= s->next)
        why = "unknown event id";
    else if (seq + 1 < oldest(s))
        why = "events after this id are no longer kept";
    else {
        c->cursor = seq + 1;
        return;
    }
    char id[64];
    snprintf(id, sizeof id, "%" PRIu64 "-%" PRIu64, s->epoch, s->next - 1);
    json_t *j = json_pack("{s:s, s:s}", "reason", why, "id", id);
    char *data = j ? sw_json_text(j, JSON_COMPACT, NULL) : NULL;
    json_decref(j);
    int n = snprintf(c->pre + c->prelen, sizeof c->pre - c->prelen, "id: %s\nevent: reset\ndata: %s\n\n", id,
                     data ? data : "{}");
    free(data);
    if (n > 0 && (size_t)n < sizeof c->pre - c->prelen)
        c->prelen += (size_t)n;
}

struct MHD_Response *sw_stream_open(struct sw_stream *s, struct MHD_Connection *conn, const char *last_id,
                                    unsigned *status)
{
    *status = 503;
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->s = s;
    c->conn = conn;
    /* A comment first, so the headers go out now; retry: the browser's reconnect delay in ms. */
    c->prelen = (size_t)snprintf(c->pre, sizeof c->pre, ": spillwatch stream\nretry: 2000\n\n");
    pthread_mutex_lock(&s->mu);
    if (s->stopping || s->nclients >= s->cfg->stream_clients_max) {
        pthread_mutex_unlock(&s->mu);
        free(c);
        atomic_fetch_add(&sw_metrics.stream_refused, 1);
        return NULL;
    }
    position(s, c, last_id);
    c->hb_gen = s->hb_gen;
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    atomic_fetch_add(&sw_metrics.stream_clients, 1);
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, c, client_free);
    if (!resp) {
        client_free(c);
        return NULL;
    }
    *status = 200;
    return resp;
}

void sw_stream_shutdown(struct sw_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    struct client *wake = take_suspended(s);
    pthread_mutex_unlock(&s->mu);
    resume_list(s, wake);
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
}
