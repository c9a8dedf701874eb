/* spool.c — see spool.h */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct spool {
    char dir[4096];
    int in;             /* borrowed */
    size_t segment_max; /* bytes */
    pthread_t thread;
    atomic_int stop, eof;
    char buf[1 << 16];
};

void spool_segment_path(const char *dir, uint64_t n, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%010llu.ndjson", dir, (unsigned long long)n);
}

uint64_t spool_segment_number(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (strlen(b) != 17 || strcmp(b + 10, ".ndjson") != 0 || strspn(b, "0123456789") != 10)
        return 0;
    return strtoull(b, NULL, 10);
}

void spool_range(const char *dir, uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t n = spool_segment_number(e->d_name);
        if (!n)
            continue;
        if (!*lo || n < *lo)
            *lo = n;
        if (n > *hi)
            *hi = n;
    }
    closedir(d);
}

void spool_prune(const char *dir, uint64_t n)
{
    uint64_t lo, hi;
    spool_range(dir, &lo, &hi);
    char path[4200];
    for (uint64_t k = lo; lo && k < n && k <= hi; k++) {
        spool_segment_path(dir, k, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT)
            fprintf(stderr, "collect: spool: deleting %s: %s\n", path, strerror(errno));
    }
}

static int open_segment(const struct spool *s, uint64_t n)
{
    char path[4200];
    spool_segment_path(s->dir, n, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        fprintf(stderr, "collect: spool: creating %s: %s\n", path, strerror(errno));
    return fd;
}

/* Writes all of buf, retrying every second while the disk is full (or another error lasts). Returns 0,
 * or -1 when asked to stop meanwhile. */
static int write_all(struct spool *s, int fd, const char *buf, size_t len)
{
    int complained = 0;
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w > 0) {
            buf += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (!complained++)
            fprintf(stderr, "collect: spool: write: %s; stdin is not read until it works again\n",
                    w < 0 ? strerror(errno) : "no progress");
        if (atomic_load(&s->stop))
            return -1;
        sleep(1);
    }
    if (complained)
        fprintf(stderr, "collect: spool: writing works again\n");
    return 0;
}

static void *pump(void *arg)
{
    struct spool *s = arg;
    uint64_t lo, hi;
    spool_range(s->dir, &lo, &hi);
    uint64_t n = hi + 1; /* never append to a segment a killed collector may have left mid-line */
    int fd = -1;
    size_t written = 0;
    char last = '\n';
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->in, .events = POLLIN};
        int r = poll(&pfd, 1, 200);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "collect: stdin: poll: %s\n", strerror(errno));
            break;
        }
        if (r <= 0)
            continue;
        ssize_t got = read(s->in, s->buf, sizeof s->buf);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            fprintf(stderr, "collect: stdin: read: %s\n", strerror(errno));
            got = 0; /* treated as the end of the input */
        }
        if (got == 0) {
            if (fd >= 0 && last != '\n' && write_all(s, fd, "\n", 1) != 0)
                break;
            if (fd >= 0)
                close(fd);
            fd = -1;
            atomic_store(&s->eof, 1);
            return NULL;
        }
        const char *p = s->buf;
        size_t left = (size_t)got;
        while (left > 0) {
            while (fd < 0 && (fd = open_segment(s, n)) < 0 && !atomic_load(&s->stop))
                sleep(1);
            if (fd < 0)
                goto out;
            /* Once the segment is full, the next one starts after the chunk's last line end. */
            size_t take = left;
            const char *nl = written + left >= s->segment_max ? memrchr(p, '\n', left) : NULL;
            if (nl)
                take = (size_t)(nl - p) + 1;
            if (write_all(s, fd, p, take) != 0)
                goto out;
            written += take;
            last = p[take - 1];
            p += take;
            left -= take;
            if (nl) {
                close(fd);
                fd = -1;
                written = 0;
                n++;
            }
        }
    }
out:
    if (fd >= 0)
        close(fd);
    return NULL;
}

struct spool *spool_start(const char *dir, int fd, size_t segment_max)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "collect: spool: creating %s: %s\n", dir, strerror(errno));
        return NULL;
    }
    struct spool *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->in = fd;
    s->segment_max = segment_max;
    if (pthread_create(&s->thread, NULL, pump, s) != 0) {
        fprintf(stderr, "collect: spool: cannot start the stdin thread\n");
        free(s);
        return NULL;
    }
    return s;
}

void spool_stop(struct spool *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    free(s);
}

int spool_eof(const struct spool *s)
{
    return atomic_load(&s->eof);
}
