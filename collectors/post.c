/* post.c — see post.h */
#include "post.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define RETRY_FIRST_S 0.2  /* backoff: 0.2 s doubling ... */
#define RETRY_MAX_S   5.0  /* ... up to 5 s */
#define GIVE_UP_S     60.0 /* without --forever */
#define RESP_MAX      (1 << 20)

struct batch {
    int64_t seq;
    char *body;
    size_t len;
};

#define URLS_MAX 8

struct poster {
    CURL *curl;
    char *url;            /* the server now: urls[cur] */
    char *urls[URLS_MAX]; /* base URLs, no trailing slash, in order of preference */
    int nurls, cur;
    int moved;  /* moved since the last failed attempt's wait: retry at once */
    int tried;  /* servers tried since the last answer that was not a move */
    char *auth; /* "Authorization: Bearer ..." or NULL */
    char source[128];
    char instance[80]; /* "" when none */
    int taken;         /* another instance holds the source */
    int64_t seq;       /* last sequence number handed out */
    FILE *out;
    int retry_forever, verbose;
    struct poster_stats st;
    volatile sig_atomic_t *stop;
    int64_t lag_bytes; /* < 0: no lag headers */
    double lag_seconds;
    uint64_t rng;        /* xorshift state for the jitter */
    long refused_status; /* the last poster_send that returned 1 */
    int refused_line;
    char *refused_error;
    struct batch *open; /* the batches of the open spill, oldest first */
    size_t nopen, capopen;
    char *resp; /* the last response body, NUL-terminated */
    size_t resp_len;
};

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct poster *p = ud;
    size_t len = size * n;
    if (p->resp_len + len > RESP_MAX)
        return 0; /* an answer this big is not ours: fail the transfer */
    char *r = realloc(p->resp, p->resp_len + len + 1);
    if (!r)
        return 0;
    memcpy(r + p->resp_len, data, len);
    p->resp = r;
    p->resp_len += len;
    p->resp[p->resp_len] = 0;
    return len;
}

int poster_make_instance(char out[POSTER_INSTANCE_LEN + 1])
{
    unsigned char r[POSTER_INSTANCE_LEN / 2];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            perror("collect: getrandom");
            return -1;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

int poster_source_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 100 && strspn(s, POSTER_SOURCE_CHARS) == n;
}

struct poster *poster_new(const struct poster_opts *o)
{
    struct poster *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->out = o->out;
    p->retry_forever = o->retry_forever;
    p->verbose = o->verbose;
    p->lag_bytes = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    p->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
             0x9E3779B97F4A7C15ull;
    snprintf(p->source, sizeof p->source, "%s", o->source);
    snprintf(p->instance, sizeof p->instance, "%s", o->instance ? o->instance : "");
    if (!o->url && o->nurls <= 0)
        return p;
    const char *one[1] = {o->url};
    const char *const *urls = o->nurls > 0 ? o->urls : one;
    int n = o->nurls > 0 ? o->nurls : 1;
    for (int i = 0; i < n && i < URLS_MAX; i++) {
        if (!(p->urls[i] = strdup(urls[i])))
            goto fail;
        size_t l = strlen(p->urls[i]);
        while (l > 0 && p->urls[i][l - 1] == '/')
            p->urls[i][--l] = 0;
        p->nurls++;
    }
    p->url = p->urls[0];
    if (o->token && asprintf(&p->auth, "Authorization: Bearer %s", o->token) < 0) {
        p->auth = NULL;
        goto fail;
    }
    p->curl = curl_easy_init();
    if (!p->curl)
        goto fail;
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, 120L); /* a spill_end answers after the commit */
    curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    return p;
fail:
    poster_free(p);
    return NULL;
}

static void open_clear(struct poster *p)
{
    for (size_t i = 0; i < p->nopen; i++)
        free(p->open[i].body);
    p->nopen = 0;
}

void poster_free(struct poster *p)
{
    if (!p)
        return;
    if (p->curl)
        curl_easy_cleanup(p->curl);
    open_clear(p);
    free(p->open);
    for (int i = 0; i < p->nurls; i++)
        free(p->urls[i]);
    free(p->auth);
    free(p->resp);
    free(p->refused_error);
    free(p);
}

void poster_set_stop_flag(struct poster *p, volatile sig_atomic_t *flag)
{
    p->stop = flag;
}

static int stopping(const struct poster *p)
{
    return p->stop && *p->stop;
}

uint64_t poster_late(const struct poster *p)
{
    return p->st.late;
}

const struct poster_stats *poster_stats(const struct poster *p)
{
    return &p->st;
}

void poster_set_lag(struct poster *p, int64_t bytes, double seconds)
{
    p->lag_bytes = bytes;
    p->lag_seconds = seconds;
}

int64_t poster_next_seq(const struct poster *p)
{
    return p->seq + 1;
}

void poster_set_seq(struct poster *p, int64_t seq)
{
    p->seq = seq;
}

long poster_refusal(const struct poster *p, const char **error, int *line)
{
    *error = p->refused_error ? p->refused_error : "";
    *line = p->refused_line;
    return p->refused_status;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sleeps d seconds in short steps, returning early when the stop flag goes up. */
static void nap(const struct poster *p, double d)
{
    double until = mono_s() + d;
    while (!stopping(p)) {
        double left = until - mono_s();
        if (left <= 0)
            return;
        usleep((useconds_t)(fmin(left, 0.1) * 1e6));
    }
}

/* A wait drawn uniformly from [d/2, d]: collectors restarted together do not come back in step. */
static double jitter(struct poster *p, double d)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return d * (0.5 + 0.5 * (double)(p->rng >> 11) / 9007199254740992.0);
}

/* The wait after a failed attempt: the server's Retry-After when it sent one (503 writer queue full,
 * 429), else the backoff delay with jitter; then the delay doubles up to RETRY_MAX_S. */
static double backoff(struct poster *p, double *delay)
{
    curl_off_t ra = -1;
    double d;
    if (p->moved) { /* another server to try: at once, until each one was tried */
        p->moved = 0;
        if (p->tried < p->nurls)
            return 0.05;
    }
    if (p->curl && curl_easy_getinfo(p->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        d = fmin((double)ra, 60.0) + jitter(p, 0.2);
    else
        d = jitter(p, *delay);
    *delay = fmin(RETRY_MAX_S, *delay * 2);
    return d;
}

static const char *resp_text(const struct poster *p)
{
    return p->resp && p->resp_len ? p->resp : "(no body)";
}

/* The "error" text of the last answer, or the whole body when it has none; the caller frees it. */
static char *error_text(const struct poster *p)
{
    json_t *j = json_loads(p->resp ? p->resp : "", 0, NULL);
    const char *e = json_string_value(json_object_get(j, "error"));
    char *t = strdup(e ? e : resp_text(p));
    json_decref(j);
    return t;
}

/* Several servers (nurls > 1): after an attempt that found p->url unreachable (status 0) or a
 * standby (503 with "role": "standby"), the next one becomes p->url: the active server the standby
 * named when it is in the list, else the next in order. The caller's retry then reads the
 * watermark there and resends from it, as after a restart. */
static void move_on(struct poster *p, long status)
{
    if (p->nurls < 2)
        return;
    int next = (p->cur + 1) % p->nurls;
    const char *why = "unreachable";
    char named[256] = "";
    if (status != 0) {
        json_t *j = json_loads(p->resp ? p->resp : "", 0, NULL);
        const char *role = json_string_value(json_object_get(j, "role"));
        const char *active = json_string_value(json_object_get(j, "active"));
        if (status != 503 || !role || strcmp(role, "standby")) {
            json_decref(j);
            p->tried = 0; /* an answer of the server itself: no move */
            return;
        }
        why = "a standby";
        if (active) {
            snprintf(named, sizeof named, "%s", active);
            size_t l = strlen(named);
            while (l > 0 && named[l - 1] == '/')
                named[--l] = 0;
            for (int i = 0; i < p->nurls; i++)
                if (i != p->cur && !strcmp(p->urls[i], named))
                    next = i;
        }
        json_decref(j);
    }
    fprintf(stderr, "collect: %s is %s%s%s: moved to %s\n", p->url, why, named[0] ? ", naming " : "", named,
            p->urls[next]);
    p->cur = next;
    p->url = p->urls[next];
    p->moved = 1;
    p->tried++;
    p->st.moves++;
}

/* One HTTP exchange: a POST of body to path when body is set, else a GET of path.
 * Returns the status, or 0 when the server could not be reached (logged). */
static long exchange(struct poster *p, const char *path, const struct batch *body)
{
    char url[1024], src[160], seq[64], lagb[64], lags[64], inst[128];
    struct curl_slist *h = NULL;
    snprintf(url, sizeof url, "%s%s", p->url, path);
    p->resp_len = 0;
    if (p->resp)
        p->resp[0] = 0;
    curl_easy_setopt(p->curl, CURLOPT_URL, url);
    if (body) {
        snprintf(src, sizeof src, "X-Spillwatch-Source: %s", p->source);
        snprintf(seq, sizeof seq, "X-Spillwatch-Seq: %lld", (long long)body->seq);
        h = curl_slist_append(h, "Content-Type: application/x-ndjson");
        h = curl_slist_append(h, src);
        h = curl_slist_append(h, seq);
        h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
        if (p->lag_bytes >= 0) {
            snprintf(lagb, sizeof lagb, "X-Spillwatch-Lag-Bytes: %lld", (long long)p->lag_bytes);
            snprintf(lags, sizeof lags, "X-Spillwatch-Lag-Seconds: %.3f", p->lag_seconds);
            h = curl_slist_append(h, lagb);
            h = curl_slist_append(h, lags);
        }
        curl_easy_setopt(p->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body->body);
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    } else
        curl_easy_setopt(p->curl, CURLOPT_HTTPGET, 1L);
    if (p->instance[0]) {
        snprintf(inst, sizeof inst, "X-Spillwatch-Instance: %s", p->instance);
        h = curl_slist_append(h, inst);
    }
    if (p->auth)
        h = curl_slist_append(h, p->auth);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(p->curl);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        fprintf(stderr, "collect: %s %s: %s\n", body ? "POST" : "GET", url, curl_easy_strerror(rc));
        move_on(p, 0);
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 503)
        move_on(p, status);
    else
        p->tried = 0;
    return status;
}

static int transient(long status)
{
    return status == 0 || status >= 500 || status == 429;
}

/* A 409 that says another collector instance holds the source (its "held_by"): printed with what to
 * do. 1 when it was one. */
static int held_elsewhere(struct poster *p, long status)
{
    if (status != 409)
        return 0;
    json_t *j = json_loads(p->resp ? p->resp : "", 0, NULL);
    json_t *held = json_object_get(j, "held_by");
    if (json_is_object(held)) {
        p->taken = 1;
        fprintf(stderr,
                "collect: error: source \"%s\" is in use by another collector instance (%s, its last batch "
                "%.0f s ago; this collector is %s): %s\n"
                "collect: two collectors must not share a source id: give this one its own --source and "
                "--state, or stop the other one. Spills the server already has then answer 409 (late) and "
                "are not counted twice.\n",
                p->source, json_string_value(json_object_get(held, "instance")),
                json_number_value(json_object_get(held, "idle_s")), p->instance,
                json_string_value(json_object_get(j, "error"))
                    ? json_string_value(json_object_get(j, "error"))
                    : "");
    }
    json_decref(j);
    return p->taken;
}

int poster_source_taken(const struct poster *p)
{
    return p->taken;
}

void poster_release(struct poster *p)
{
    if (!p->url || !p->instance[0])
        return;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/sources/%s/release", p->source);
    char nothing[1] = "";
    struct batch empty = {.body = nothing, .len = 0, .seq = 0};
    long status = exchange(p, path, &empty);
    if (status != 200 && p->verbose)
        fprintf(stderr, "collect: releasing source %s: status %ld: %s\n", p->source, status, resp_text(p));
}

/* GET the watermark once. Returns the status (0: unreachable, -1: an answer without a seq); on 200
 * fills *m, otherwise leaves it empty (seq 0, run and spill -1). */
static long get_mark(struct poster *p, struct poster_mark *m)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/sources/%s", p->source); /* [A-Za-z0-9._-]: no escaping */
    long status = exchange(p, path, NULL);
    m->seq = m->committed_seq = 0;
    m->run = m->spill = -1;
    if (status != 200)
        return status;
    json_t *j = json_loads(p->resp ? p->resp : "", 0, NULL);
    /* run and spill: under "committed" (the server's shape), or flat, as docs/design.md §6.5 allows */
    json_t *c = json_object_get(j, "committed");
    json_t *cs = json_object_get(j, "committed_seq");
    if (!json_is_object(c))
        c = j;
    if (!json_is_integer(json_object_get(j, "seq"))) {
        fprintf(stderr, "collect: source %s: a watermark without an integer \"seq\": %s\n", p->source,
                resp_text(p));
        status = -1;
    } else {
        m->seq = json_integer_value(json_object_get(j, "seq"));
        m->committed_seq = json_is_integer(cs) ? json_integer_value(cs) : 0;
        if (json_is_integer(json_object_get(c, "run")) && json_is_integer(json_object_get(c, "spill"))) {
            m->run = json_integer_value(json_object_get(c, "run"));
            m->spill = json_integer_value(json_object_get(c, "spill"));
        }
    }
    json_decref(j);
    return status;
}

/* Reads the watermark, retrying while the server is unreachable or answers 5xx. started: when the
 * retries began (the 60 s budget). Returns 0 (also for a 404: then an empty mark) or -1 (printed). */
static int wait_mark(struct poster *p, struct poster_mark *m, double started, double *delay)
{
    for (;;) {
        long status = get_mark(p, m);
        if (status == 200 || status == 404)
            return 0;
        if (held_elsewhere(p, status))
            return -1;
        if (!transient(status)) {
            if (status > 0)
                fprintf(stderr, "collect: source %s: reading the watermark: status %ld: %s\n", p->source,
                        status, resp_text(p));
            return -1;
        }
        if (stopping(p)) {
            fprintf(stderr, "collect: stopped while waiting for the server\n");
            return -1;
        }
        if (!p->retry_forever && mono_s() - started > GIVE_UP_S) {
            fprintf(stderr, "collect: giving up: the server did not answer for %.0f s\n", GIVE_UP_S);
            return -1;
        }
        double d = backoff(p, delay);
        if (p->verbose)
            fprintf(stderr, "collect: retrying in %.1f s\n", d);
        nap(p, d);
    }
}

int poster_resume(struct poster *p, struct poster_mark *mark)
{
    mark->seq = mark->committed_seq = 0;
    mark->run = mark->spill = -1;
    if (!p->url)
        return 0;
    double delay = RETRY_FIRST_S;
    struct poster_mark m;
    if (wait_mark(p, &m, mono_s(), &delay) != 0)
        return -1;
    *mark = m;
    if (m.seq > 0)
        fprintf(stderr, "collect: source %s resumes after seq %lld\n", p->source, (long long)m.seq);
    p->seq = m.seq;
    return 0;
}

/* Keeps a copy of the batch (with the current seq) for a replay. */
static struct batch *open_push(struct poster *p, const char *body, size_t len)
{
    if (p->nopen == p->capopen) {
        size_t cap = p->capopen ? p->capopen * 2 : 16;
        struct batch *b = realloc(p->open, cap * sizeof *b);
        if (!b)
            return NULL;
        p->open = b;
        p->capopen = cap;
    }
    struct batch *b = &p->open[p->nopen];
    b->body = malloc(len + 1);
    if (!b->body)
        return NULL;
    memcpy(b->body, body, len);
    b->body[len] = 0;
    b->len = len;
    b->seq = p->seq;
    p->nopen++;
    return b;
}

int poster_keep(struct poster *p, const char *body, size_t len, int closes_spill)
{
    p->seq++;
    if (!p->url)
        return 0;
    if (!open_push(p, body, len))
        return -1;
    if (closes_spill)
        open_clear(p);
    return 0;
}

/* Remembers why the batch just sent was refused (the server's "error" and "line"). */
static void note_refusal(struct poster *p, long status)
{
    json_t *j = json_loads(p->resp ? p->resp : "", 0, NULL);
    const char *e = json_string_value(json_object_get(j, "error"));
    json_t *line = json_object_get(j, "line");
    free(p->refused_error);
    p->refused_error = strdup(e ? e : resp_text(p));
    p->refused_status = status;
    p->refused_line =
        json_is_integer(line) && json_integer_value(line) > 0 && json_integer_value(line) < INT32_MAX
            ? (int)json_integer_value(line)
            : 0;
    json_decref(j);
}

int poster_send(struct poster *p, const char *body, size_t len, int closes_spill)
{
    p->seq++;
    if (!p->url) {
        if (fwrite(body, 1, len, p->out) != len || fflush(p->out) != 0) {
            perror("collect: write");
            return -1;
        }
        return 0;
    }
    if (!open_push(p, body, len)) {
        fprintf(stderr, "collect: out of memory keeping seq %lld\n", (long long)p->seq);
        return -1;
    }
    size_t i = p->nopen - 1; /* the next batch to send */
    double failed_at = NAN, delay = RETRY_FIRST_S;
    char what[64];
    while (i < p->nopen) {
        const struct batch *b = &p->open[i];
        int replay = i + 1 < p->nopen;
        snprintf(what, sizeof what, "seq %lld", (long long)b->seq);
        long status = exchange(p, "/api/v1/ingest", b);
        if (status == 200) {
            json_t *j = json_loads(p->resp ? p->resp : "", 0, NULL);
            if (json_is_true(json_object_get(j, "duplicate"))) {
                p->st.duplicates++;
                if (p->verbose)
                    fprintf(stderr, "collect: %s: duplicate, the server had it\n", what);
            } else {
                p->st.sent++;
                p->st.replays += replay;
            }
            json_decref(j);
            i++;
            failed_at = NAN;
            delay = RETRY_FIRST_S;
            continue;
        }
        if (held_elsewhere(p, status))
            return -1;
        if (status == 409) { /* the spill was closed already: the server counts it late */
            char *e = error_text(p);
            fprintf(stderr, "collect: warning: %s refused as late (409): %s\n", what, e ? e : "");
            free(e);
            p->st.late++;
            i++;
            continue;
        }
        if ((status == 400 || status == 413) && !replay) {
            /* A bad batch: nothing of it was applied, so its seq is free for the next one. */
            note_refusal(p, status);
            p->st.refused++;
            free(p->open[--p->nopen].body);
            p->seq--;
            return 1;
        }
        if (!transient(status)) {
            fprintf(stderr, "collect: %s%s refused with status %ld: %s\n", what, replay ? " (a replay)" : "",
                    status, resp_text(p));
            return -1;
        }
        /* Unreachable, 5xx or 429: wait, ask the server what it has, and resend from there. */
        p->st.retries++;
        if (status > 0) {
            char *e = error_text(p);
            fprintf(stderr, "collect: %s: status %ld: %s\n", what, status, e ? e : "");
            free(e);
        }
        if (isnan(failed_at))
            failed_at = mono_s();
        if (stopping(p)) {
            fprintf(stderr, "collect: stopped while retrying %s\n", what);
            return -1;
        }
        if (!p->retry_forever && mono_s() - failed_at > GIVE_UP_S) {
            fprintf(stderr, "collect: giving up on %s after %.0f s\n", what, GIVE_UP_S);
            return -1;
        }
        double d = backoff(p, &delay);
        if (p->verbose)
            fprintf(stderr, "collect: retrying %s in %.1f s\n", what, d);
        nap(p, d);
        struct poster_mark m;
        if (wait_mark(p, &m, failed_at, &delay) != 0)
            return -1;
        size_t k = 0;
        while (k < p->nopen && p->open[k].seq <= m.seq)
            k++;
        if (k < i)
            fprintf(stderr,
                    "collect: the server has up to seq %lld only (it lost the open spill): "
                    "resending from seq %lld\n",
                    (long long)m.seq, (long long)p->open[k].seq);
        else if (k > i && p->verbose)
            fprintf(stderr, "collect: the server had up to seq %lld already\n", (long long)m.seq);
        i = k;
    }
    if (closes_spill)
        open_clear(p);
    return 0;
}
