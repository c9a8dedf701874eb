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
#include "jsonnum.h"
#include "log.h"
#include "metrics.h"

#define QUEUE_MAX    1000
#define MAX_ATTEMPTS 8

extern char **environ;

struct item {
    struct sw_notice n;
    int attempts;
    double due; /* monotonic s */
    struct item *next;
};

struct worker {
    const struct sw_hook_def *def;
    const char *dashboard;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct item *head; /* ordered by arrival; retries keep their place */
    int len, stop, started;
};

struct sw_hooks {
    struct worker *w;
    int n;
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

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    return s * n;
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

static int deliver_webhook(const struct worker *w, const struct sw_notice *n)
{
    char *body = payload(w, n);
    CURL *c = curl_easy_init();
    char sig[128];
    if (!body || !c || (w->def->secret && signature_header(w->def->secret, body, sig, sizeof sig) != 0)) {
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
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(w->def->timeout * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(w->def->timeout * 1000));
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status < 200 || status >= 300)
        sw_warn("hooks", "%s: %s %s: %s", w->def->name, n->alarm, n->status,
                rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP status not 2xx");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
    return rc == CURLE_OK && status >= 200 && status < 300 ? 0 : -1;
}

static int deliver_exec(const struct worker *w, const struct sw_notice *n)
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
    if (pid < 0)
        return -1;
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
        if (r < 0 && errno != EINTR)
            return -1;
        if (sw_mono() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            sw_warn("hooks", "%s: command killed after %.1f s", w->def->name, w->def->timeout);
            return -1;
        }
        usleep(10000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        sw_warn("hooks", "%s: command exited with status %d", w->def->name,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
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
            if ((*link)->due <= now || w->stop) {
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
        int rc = w->def->type == SW_HOOK_WEBHOOK ? deliver_webhook(w, &it->n) : deliver_exec(w, &it->n);
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

struct sw_hooks *sw_hooks_start(const struct sw_profile *p, const char *dashboard)
{
    struct sw_hooks *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    snprintf(h->dashboard, sizeof h->dashboard, "%s", dashboard ? dashboard : "");
    h->w = calloc((size_t)p->nhooks + 1, sizeof *h->w);
    if (!h->w) {
        free(h);
        return NULL;
    }
    for (int i = 0; i < p->nhooks; i++) {
        struct worker *w = &h->w[i];
        w->def = &p->hooks[i];
        w->dashboard = h->dashboard;
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
    it->due = sw_mono();
    pthread_mutex_lock(&w->mu);
    if (w->len >= QUEUE_MAX && w->head) { /* drop the oldest */
        struct item *old = w->head;
        w->head = old->next;
        free(old);
        w->len--;
        atomic_fetch_add(&sw_metrics.hook_failures, 1);
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
