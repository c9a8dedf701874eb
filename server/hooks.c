/* hooks.c — see hooks.h */
#include "hooks.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "delivery_log.h"
#include "jsonnum.h"
#include "log.h"
#include "metrics.h"

#define QUEUE_MAX    1000
#define MAX_ATTEMPTS 8

extern char **environ;

struct item {
    struct sw_notice n;
    int64_t notice; /* sw_delivery_notice_id: the attempts of this notice share it in the log */
    int attempts;
    double due; /* monotonic s */
    struct item *next;
};

struct worker {
    const struct sw_hook_def *def;
    const char *dashboard;
    struct sw_delivery_log *log; /* borrowed; may be NULL */
    char target[160];            /* the hook's target without secrets, for the log */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct item *head; /* ordered by arrival; retries keep their place */
    int len, stop, started;
};

struct sw_hooks {
    struct worker *w;
    int n;
    struct sw_delivery_log *log;
    char dashboard[256];
};

static void rfc3339(double t, char *buf, size_t len)
{
    if (t <= 0) {
        snprintf(buf, len, "0001-01-01T00:00:00Z"); /* Alertmanager's "not ended" */
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static char *payload(const struct worker *w, const struct sw_notice *n)
{
    char run[32], spill[32], starts[40], ends[40], value[40], threshold[40];
    snprintf(run, sizeof run, "%lld", (long long)n->run);
    snprintf(spill, sizeof spill, "%lld", (long long)n->spill);
    snprintf(value, sizeof value, "%.6g", n->value);
    snprintf(threshold, sizeof threshold, "%.6g", n->threshold);
    rfc3339(n->starts_at, starts, sizeof starts);
    rfc3339(n->ends_at, ends, sizeof ends);
    json_t *j;
    if (w->def->text) {
        char text[600];
        snprintf(text, sizeof text, "[%s] %s (%s) run %s spill %s: value %s, threshold %s. %s%s%s",
                 strcmp(n->status, "firing") ? "RESOLVED" : "FIRING", n->alarm, n->severity, run, spill,
                 value, threshold, n->summary, w->dashboard[0] ? " " : "", w->dashboard);
        j = json_pack("{s:s}", "text", text);
    } else {
        json_t *labels = json_pack("{s:s, s:s, s:s, s:s, s:s}", "alertname", n->alarm, "severity",
                                   n->severity, "run", run, "spill", spill, "source", "spillwatch");
        for (int i = 0; labels && i < n->nlabels; i++)
            json_object_set_new(labels, n->labels[i][0], json_string(n->labels[i][1]));
        json_t *ann =
            json_pack("{s:s, s:s, s:s}", "summary", n->summary, "value", value, "threshold", threshold);
        json_t *alert = json_pack("{s:s, s:O, s:O, s:s, s:s, s:s, s:s}", "status", n->status, "labels",
                                  labels, "annotations", ann, "startsAt", starts, "endsAt", ends,
                                  "generatorURL", w->dashboard, "fingerprint", n->fingerprint);
        char group[100];
        snprintf(group, sizeof group, "{}:{alertname=\"%s\"}", n->alarm);
        j = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:o, s:o, s:s, s:[o], s:I, s:I, s:o, s:o, s:s}",
                      "version", "4", "groupKey", group, "status", n->status, "receiver", w->def->name,
                      "groupLabels", "alertname", n->alarm, "commonLabels", labels, "commonAnnotations", ann,
                      "externalURL", w->dashboard, "alerts", alert, "run", (json_int_t)n->run, "spill",
                      (json_int_t)n->spill, "value", num(n->value), "threshold", num(n->threshold),
                      "dashboard", w->dashboard);
    }
    char *s = j ? sw_json_text(j, JSON_COMPACT, NULL) : NULL;
    json_decref(j);
    return s;
}

/* What one attempt gave, for the delivery log. */
struct attempt {
    int http_status; /* 0: no HTTP answer */
    int exit_code;   /* -1: none */
    char error[300];
};

/* The start of a response body, kept for the log when the status is not 2xx. */
struct excerpt {
    char text[161];
    size_t len;
};

static size_t keep_excerpt(char *p, size_t s, size_t n, void *u)
{
    struct excerpt *e = u;
    size_t room = sizeof e->text - 1 - e->len, take = s * n < room ? s * n : room;
    memcpy(e->text + e->len, p, take);
    e->len += take;
    e->text[e->len] = 0;
    return s * n;
}

/* The excerpt on one line: control characters as spaces, trailing blanks cut. */
static void one_line(char *t)
{
    for (char *c = t; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    for (size_t n = strlen(t); n && t[n - 1] == ' '; n--)
        t[n - 1] = 0;
}

/* "X-Spillwatch-Signature: sha256=<hex HMAC-SHA256 of body>" into out; -1 when it cannot be made. */
static int signature_header(const char *secret, const char *body, char *out, size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body), mac,
              &maclen))
        return -1;
    int off = snprintf(out, len, "X-Spillwatch-Signature: sha256=");
    for (unsigned i = 0; i < maclen && off + 3 < (int)len; i++)
        off += snprintf(out + off, len - (size_t)off, "%02x", mac[i]);
    return 0;
}

static int deliver_webhook(const struct worker *w, const struct sw_notice *n, struct attempt *a)
{
    char *body = payload(w, n);
    CURL *c = curl_easy_init();
    char sig[128];
    if (!body || !c || (w->def->secret && signature_header(w->def->secret, body, sig, sizeof sig) != 0)) {
        snprintf(a->error, sizeof a->error, "the request could not be built (out of memory)");
        free(body);
        if (c)
            curl_easy_cleanup(c);
        return -1;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (w->def->secret)
        h = curl_slist_append(h, sig);
    curl_easy_setopt(c, CURLOPT_URL, w->def->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    struct excerpt ex = {.len = 0};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_excerpt);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(w->def->timeout * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(w->def->timeout * 1000));
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    a->http_status = (int)status;
    if (rc != CURLE_OK) /* curl's detailed message when it has one (it names host and port) */
        snprintf(a->error, sizeof a->error, "%s%s", rc == CURLE_OPERATION_TIMEDOUT ? "timeout: " : "",
                 cerr[0] ? cerr : curl_easy_strerror(rc));
    if (rc == CURLE_OK && (status < 200 || status >= 300)) {
        one_line(ex.text);
        snprintf(a->error, sizeof a->error, "HTTP %ld%s%s", status, ex.text[0] ? ": " : "", ex.text);
    }
    if (rc != CURLE_OK || status < 200 || status >= 300)
        sw_warn("hooks", "%s: %s %s: %s", w->def->name, n->alarm, n->status,
                rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP status not 2xx");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
    return rc == CURLE_OK && status >= 200 && status < 300 ? 0 : -1;
}

static int deliver_exec(const struct worker *w, const struct sw_notice *n, struct attempt *a)
{
    char env[12][300];
    snprintf(env[0], sizeof env[0], "SW_ALARM=%s", n->alarm);
    snprintf(env[1], sizeof env[1], "SW_STATUS=%s", n->status);
    snprintf(env[2], sizeof env[2], "SW_SEVERITY=%s", n->severity);
    snprintf(env[3], sizeof env[3], "SW_RUN=%lld", (long long)n->run);
    snprintf(env[4], sizeof env[4], "SW_SPILL=%lld", (long long)n->spill);
    snprintf(env[5], sizeof env[5], "SW_VALUE=%.6g", n->value);
    snprintf(env[6], sizeof env[6], "SW_THRESHOLD=%.6g", n->threshold);
    snprintf(env[7], sizeof env[7], "SW_SUMMARY=%s", n->summary);
    snprintf(env[8], sizeof env[8], "SW_STARTS_AT=%.3f", n->starts_at);
    snprintf(env[9], sizeof env[9], "SW_FINGERPRINT=%s", n->fingerprint);
    snprintf(env[10], sizeof env[10], "SW_DASHBOARD=%s", w->dashboard);
    snprintf(env[11], sizeof env[11], "PATH=/usr/local/bin:/usr/bin:/bin");
    char *envp[13];
    for (int i = 0; i < 12; i++)
        envp[i] = env[i];
    envp[12] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(a->error, sizeof a->error, "cannot start the command: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* The child: only async-signal-safe calls until exec. */
        execve(w->def->argv[0], w->def->argv, envp);
        _exit(127);
    }
    double deadline = sw_mono() + w->def->timeout;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            snprintf(a->error, sizeof a->error, "waitpid: %s", strerror(errno));
            return -1;
        }
        if (sw_mono() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            sw_warn("hooks", "%s: command killed after %.1f s", w->def->name, w->def->timeout);
            snprintf(a->error, sizeof a->error, "timeout: the command was killed after %.1f s",
                     w->def->timeout);
            return -1;
        }
        usleep(10000);
    }
    a->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (WIFSIGNALED(status))
        snprintf(a->error, sizeof a->error, "the command was killed by signal %d", WTERMSIG(status));
    else if (WEXITSTATUS(status) == 127)
        snprintf(a->error, sizeof a->error,
                 "exit status 127 (the command was not found or could not be run)");
    else if (WEXITSTATUS(status) != 0)
        snprintf(a->error, sizeof a->error, "exit status %d", WEXITSTATUS(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        sw_warn("hooks", "%s: command exited with status %d", w->def->name,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    return 0;
}

/* One row of the delivery log about item it (its notice) on worker w. */
static void log_row(const struct worker *w, const struct item *it, int attempt, enum sw_delivery_outcome o,
                    const struct attempt *at, double latency)
{
    if (!w->log)
        return;
    const struct sw_notice *n = &it->n;
    struct sw_delivery d = {.time = sw_wall(),
                            .episode = n->starts_at,
                            .notice = it->notice,
                            .run = n->run,
                            .spill = n->spill,
                            .attempt = attempt,
                            .outcome = o,
                            .http_status = at ? at->http_status : 0,
                            .exit_code = at ? at->exit_code : -1,
                            .latency = latency};
    snprintf(d.alarm, sizeof d.alarm, "%s", n->alarm);
    snprintf(d.fingerprint, sizeof d.fingerprint, "%s", n->fingerprint);
    snprintf(d.status, sizeof d.status, "%s", n->status);
    snprintf(d.hook, sizeof d.hook, "%s", w->def->name);
    snprintf(d.kind, sizeof d.kind, "%s", w->def->type == SW_HOOK_WEBHOOK ? "webhook" : "exec");
    snprintf(d.target, sizeof d.target, "%s", w->target);
    snprintf(d.error, sizeof d.error, "%s", at ? at->error : "");
    if (o == SW_QUEUE_FULL)
        snprintf(d.error, sizeof d.error, "the hook's queue was full (%d notices): the oldest was dropped",
                 QUEUE_MAX);
    else if (o == SW_SILENCED)
        snprintf(d.error, sizeof d.error, "held back by a silence");
    sw_delivery_log_add(w->log, &d);
}

/* 1 when an earlier notice of the same episode waits in w's queue (a retry): a notice never
 * overtakes one about its own episode, so a receiver never hears "resolved" before "firing". */
static int behind(const struct worker *w, const struct item *it)
{
    for (const struct item *i = w->head; i && i != it; i = i->next)
        if (!strcmp(i->n.fingerprint, it->n.fingerprint) && !strcmp(i->n.alarm, it->n.alarm) &&
            i->notice < it->notice)
            return 1;
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        double now = sw_mono();
        struct item *it = NULL, **link;
        for (link = &w->head; *link; link = &(*link)->next)
            if (((*link)->due <= now || w->stop) && !behind(w, *link)) {
                it = *link;
                *link = it->next;
                w->len--;
                break;
            }
        if (!it) {
            if (w->stop)
                break;
            double next = INFINITY;
            for (struct item *i = w->head; i; i = i->next)
                if (!behind(w, i))
                    next = fmin(next, i->due);
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double wait = isfinite(next) ? fmax(0.01, next - now) : 1.0;
            ts.tv_sec += (time_t)wait;
            ts.tv_nsec += (long)((wait - floor(wait)) * 1e9);
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            continue;
        }
        int stopping = w->stop;
        pthread_mutex_unlock(&w->mu);
        struct attempt at = {.exit_code = -1};
        double t0 = sw_mono();
        int rc =
            w->def->type == SW_HOOK_WEBHOOK ? deliver_webhook(w, &it->n, &at) : deliver_exec(w, &it->n, &at);
        double latency = sw_mono() - t0;
        int last = rc != 0 && (it->attempts + 1 >= MAX_ATTEMPTS || stopping);
        if (last && stopping && it->attempts + 1 < MAX_ATTEMPTS)
            snprintf(at.error + strlen(at.error), sizeof at.error - strlen(at.error), " (server stopping)");
        log_row(w, it, it->attempts + 1,
                rc == 0 ? SW_DELIVERED
                : last  ? SW_DROPPED
                        : SW_RETRYING,
                &at, latency);
        pthread_mutex_lock(&w->mu);
        if (rc == 0) {
            atomic_fetch_add(&sw_metrics.hook_deliveries, 1);
            free(it);
        } else if (++it->attempts >= MAX_ATTEMPTS || stopping) {
            atomic_fetch_add(&sw_metrics.hook_failures, 1);
            sw_error("hooks", "%s: %s %s dropped after %d attempts", w->def->name, it->n.alarm, it->n.status,
                     it->attempts);
            free(it);
        } else {
            atomic_fetch_add(&sw_metrics.hook_retries, 1);
            it->due = sw_mono() + fmin(60.0, pow(2.0, it->attempts - 1));
            it->next = w->head; /* back in the queue; retried when due */
            w->head = it;
            w->len++;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct sw_hooks *sw_hooks_start(const struct sw_profile *p, const char *dashboard,
                                struct sw_delivery_log *log)
{
    struct sw_hooks *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    snprintf(h->dashboard, sizeof h->dashboard, "%s", dashboard ? dashboard : "");
    h->log = log;
    h->w = calloc((size_t)p->nhooks + 1, sizeof *h->w);
    if (!h->w) {
        free(h);
        return NULL;
    }
    for (int i = 0; i < p->nhooks; i++) {
        struct worker *w = &h->w[i];
        w->def = &p->hooks[i];
        w->dashboard = h->dashboard;
        w->log = log;
        if (w->def->type == SW_HOOK_WEBHOOK)
            sw_delivery_webhook_target(w->def->url, w->target, sizeof w->target);
        else
            snprintf(w->target, sizeof w->target, "%s", w->def->argv[0] ? w->def->argv[0] : "");
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
        h->n++;
    }
    return h;
}

void sw_hooks_notify(struct sw_hooks *h, int hook, const struct sw_notice *n)
{
    if (!h || hook < 0 || hook >= h->n)
        return;
    struct worker *w = &h->w[hook];
    struct item *it = calloc(1, sizeof *it);
    if (!it)
        return;
    it->n = *n;
    it->notice = sw_delivery_notice_id();
    it->due = sw_mono();
    pthread_mutex_lock(&w->mu);
    if (w->len >= QUEUE_MAX && w->head) { /* drop the oldest */
        struct item *old = w->head;
        w->head = old->next;
        w->len--;
        atomic_fetch_add(&sw_metrics.hook_failures, 1);
        log_row(w, old, old->attempts, SW_QUEUE_FULL, NULL, NAN); /* only queues: fine under w->mu */
        free(old);
    }
    struct item **link = &w->head;
    while (*link)
        link = &(*link)->next;
    *link = it;
    w->len++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void sw_hooks_stop(struct sw_hooks *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n; i++) {
        struct worker *w = &h->w[i];
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        if (w->started)
            pthread_join(w->thread, NULL);
        while (w->head) {
            struct item *it = w->head;
            w->head = it->next;
            free(it);
        }
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    free(h->w);
    free(h);
}

void sw_hooks_held(struct sw_hooks *h, int hook, const struct sw_notice *n)
{
    if (!h || hook < 0 || hook >= h->n)
        return;
    struct item it = {.n = *n, .notice = sw_delivery_notice_id()};
    log_row(&h->w[hook], &it, 0, SW_SILENCED, NULL, NAN);
}

struct sw_delivery_log *sw_hooks_log(const struct sw_hooks *h)
{
    return h ? h->log : NULL;
}
