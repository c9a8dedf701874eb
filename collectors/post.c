/* post.c — see post.h */
#include "post.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct poster {
    CURL *curl;
    char *url;  /* base URL, no trailing slash */
    char *auth; /* "Authorization: Bearer ..." or NULL */
    char source[128];
    int64_t seq; /* last sent */
    FILE *out;
    int retry_forever;
    uint64_t late;
    volatile sig_atomic_t *stop;
    char *resp;
    size_t resp_len;
};

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct poster *p = ud;
    size_t len = size * n;
    char *r = realloc(p->resp, p->resp_len + len + 1);
    if (!r)
        return 0;
    memcpy(r + p->resp_len, data, len);
    p->resp = r;
    p->resp_len += len;
    p->resp[p->resp_len] = 0;
    return len;
}

struct poster *poster_new(const char *url, const char *token, const char *source, FILE *out,
                          int retry_forever)
{
    struct poster *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->out = out;
    p->retry_forever = retry_forever;
    snprintf(p->source, sizeof p->source, "%s", source);
    if (!url)
        return p;
    p->url = strdup(url);
    if (!p->url)
        goto fail;
    size_t l = strlen(p->url);
    while (l > 0 && p->url[l - 1] == '/')
        p->url[--l] = 0;
    if (token && asprintf(&p->auth, "Authorization: Bearer %s", token) < 0) {
        p->auth = NULL;
        goto fail;
    }
    p->curl = curl_easy_init();
    if (!p->curl)
        goto fail;
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
    return p;
fail:
    poster_free(p);
    return NULL;
}

void poster_free(struct poster *p)
{
    if (!p)
        return;
    if (p->curl)
        curl_easy_cleanup(p->curl);
    free(p->url);
    free(p->auth);
    free(p->resp);
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
    return p->late;
}

/* One HTTP exchange. Returns the status, or 0 when the server could not be reached. */
static long exchange(struct poster *p, const char *path, const char *body, size_t len,
                     struct curl_slist *headers)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", p->url, path);
    p->resp_len = 0;
    if (p->resp)
        p->resp[0] = 0;
    curl_easy_setopt(p->curl, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(p->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else
        curl_easy_setopt(p->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(p->curl);
    if (rc != CURLE_OK) {
        fprintf(stderr, "collect: %s: %s\n", url, curl_easy_strerror(rc));
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int poster_resume(struct poster *p)
{
    if (!p->url)
        return 0;
    struct curl_slist *h = p->auth ? curl_slist_append(NULL, p->auth) : NULL;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/sources/%s", p->source);
    double start = now_s(), delay = 0.2;
    long status;
    while ((status = exchange(p, path, NULL, 0, h)) == 0 || status >= 500) {
        if ((!p->retry_forever && now_s() - start > 60) || stopping(p))
            break;
        usleep((useconds_t)(delay * 1e6));
        delay = delay * 2 > 5 ? 5 : delay * 2;
    }
    curl_slist_free_all(h);
    if (status == 200) {
        json_t *j = json_loads(p->resp ? p->resp : "", 0, NULL);
        p->seq = json_integer_value(json_object_get(j, "seq"));
        json_decref(j);
        fprintf(stderr, "collect: source %s resumes after seq %lld\n", p->source, (long long)p->seq);
        return 0;
    }
    if (status == 404)
        return 0;
    fprintf(stderr, "collect: cannot read the watermark of source %s (status %ld): %s\n", p->source, status,
            p->resp ? p->resp : "");
    return -1;
}

int poster_send(struct poster *p, const char *body, size_t len)
{
    p->seq++;
    if (!p->url) {
        if (fwrite(body, 1, len, p->out) != len) {
            perror("collect: write");
            return -1;
        }
        return 0;
    }
    char src[200], seq[64];
    snprintf(src, sizeof src, "X-Spillwatch-Source: %s", p->source);
    snprintf(seq, sizeof seq, "X-Spillwatch-Seq: %lld", (long long)p->seq);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
    h = curl_slist_append(h, src);
    h = curl_slist_append(h, seq);
    h = curl_slist_append(h, "Expect:");
    if (p->auth)
        h = curl_slist_append(h, p->auth);
    double start = now_s(), delay = 0.2;
    long status;
    int rc = -1;
    for (;;) {
        status = exchange(p, "/api/v1/ingest", body, len, h);
        if (status != 0 && status < 500)
            break;
        if (stopping(p)) {
            fprintf(stderr, "collect: stopped while retrying seq %lld\n", (long long)p->seq);
            goto out;
        }
        if (!p->retry_forever && now_s() - start > 60) {
            fprintf(stderr, "collect: giving up on seq %lld after 60 s\n", (long long)p->seq);
            goto out;
        }
        usleep((useconds_t)(delay * 1e6));
        delay = delay * 2 > 5 ? 5 : delay * 2;
    }
    if (status == 200)
        rc = 0;
    else if (status == 409) {
        p->late++;
        fprintf(stderr, "collect: seq %lld refused as late: %s\n", (long long)p->seq, p->resp ? p->resp : "");
        rc = 0;
    } else
        fprintf(stderr, "collect: seq %lld refused with status %ld: %s\n", (long long)p->seq, status,
                p->resp ? p->resp : "");
out:
    curl_slist_free_all(h);
    return rc;
}
