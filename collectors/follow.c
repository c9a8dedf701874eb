/* follow.c — see follow.h */
#include "follow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

#define SKIP_HEAD 256 /* bytes of a too-long line kept for the dead-letter entry */

struct follower {
    enum follow_kind kind;
    char path[PATH_MAX]; /* FOLLOW_PATH: the file; FOLLOW_SPOOL: the directory */
    char dir[PATH_MAX];  /* where rotated files are looked for */
    size_t line_max;
    int fd; /* -1: no file open yet (waiting for one) */
    struct follow_file cur;
    struct follow_file ret; /* the file of the line returned last */
    int64_t off;            /* file offset of buf[head] */
    char *buf;
    size_t head, tail, cap;
    int skipping; /* inside a too-long line */
    int64_t skip_start;
    char skip_head[SKIP_HEAD];
    size_t skip_len;
    int rechecked; /* read once more after noticing a newer file (a writer may still have appended) */
    int at_end, drain, waiting_told;
};

/* Fills *id with the identity of an open descriptor, named name. */
static void follow_identify(int fd, const char *name, struct follow_file *id)
{
    struct stat st;
    memset(id, 0, sizeof *id);
    size_t n = strlen(name);
    if (n >= sizeof id->name)
        n = sizeof id->name - 1;
    memcpy(id->name, name, n);
    if (fstat(fd, &st) == 0) {
        id->dev = (uint64_t)st.st_dev;
        id->ino = (uint64_t)st.st_ino;
    }
}

static int same_file(const struct stat *st, const struct follow_file *id)
{
    return (uint64_t)st->st_dev == id->dev && (uint64_t)st->st_ino == id->ino;
}

struct follower *follow_new(enum follow_kind kind, const char *path, size_t line_max)
{
    struct follower *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->kind = kind;
    f->fd = -1;
    f->line_max = line_max < 1024 ? 1024 : line_max;
    snprintf(f->path, sizeof f->path, "%s", path);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(f->dir, sizeof f->dir, "%s", kind == FOLLOW_PATH ? dirname(tmp) : path);
    f->cap = 1 << 20;
    if (f->cap > f->line_max + 1)
        f->cap = f->line_max + 1;
    f->buf = malloc(f->cap);
    if (!f->buf) {
        free(f);
        return NULL;
    }
    return f;
}

void follow_free(struct follower *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    free(f);
}

void follow_set_drain(struct follower *f, int on)
{
    f->drain = on;
}

int follow_at_end(const struct follower *f)
{
    return f->at_end && (f->fd >= 0 || f->kind == FOLLOW_SPOOL); /* a file not there yet is waited for */
}

/* Opens the file identified by id: under its name, or (a rotated file) under any name in the followed
 * path's directory. Fills *found with the name it has now. Returns the descriptor or -1. */
static int open_identity(const struct follower *f, const struct follow_file *id, struct follow_file *found)
{
    struct stat st;
    int fd = open(id->name, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && same_file(&st, id)) {
        *found = *id;
        return fd;
    }
    if (fd >= 0)
        close(fd);
    DIR *d = opendir(f->dir);
    if (!d)
        return -1;
    struct dirent *e;
    fd = -1;
    while (fd < 0 && (e = readdir(d))) {
        char p[PATH_MAX + 256];
        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) || !same_file(&st, id))
            continue;
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            follow_identify(fd, p, found);
            if (!(found->dev == id->dev && found->ino == id->ino)) {
                close(fd);
                fd = -1;
            }
        }
    }
    closedir(d);
    return fd;
}

static void reset_buffer(struct follower *f, int64_t off)
{
    f->head = f->tail = 0;
    f->off = off;
    f->skipping = 0;
    f->rechecked = 0;
}

static void use_fd(struct follower *f, int fd, const char *name, int64_t off)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = fd;
    follow_identify(fd, name, &f->cur);
    reset_buffer(f, off);
}

/* The name of the file after the current one, or NULL when there is none (yet). */
static const char *newer_file(struct follower *f, char *buf, size_t len)
{
    struct stat st;
    if (f->kind == FOLLOW_PATH) {
        if (stat(f->path, &st) != 0 || same_file(&st, &f->cur))
            return NULL;
        snprintf(buf, len, "%s", f->path);
        return buf;
    }
    uint64_t n = spool_segment_number(f->cur.name);
    spool_segment_path(f->path, n + 1, buf, len);
    return stat(buf, &st) == 0 ? buf : NULL;
}

/* No file open: opens the input's first file. Returns 0, or -1 when there is none yet. */
static int open_first(struct follower *f)
{
    char name[PATH_MAX + 32];
    if (f->kind == FOLLOW_PATH) {
        snprintf(name, sizeof name, "%s", f->path);
    } else {
        uint64_t lo, hi;
        spool_range(f->path, &lo, &hi);
        if (!lo)
            return -1;
        spool_segment_path(f->path, lo, name, sizeof name);
    }
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            fprintf(stderr, "collect: %s: %s\n", name, strerror(errno));
        else if (!f->waiting_told && f->kind == FOLLOW_PATH)
            fprintf(stderr, "collect: waiting for %s to appear\n", name);
        f->waiting_told = 1;
        return -1;
    }
    if (f->waiting_told && f->kind == FOLLOW_PATH)
        fprintf(stderr, "collect: %s appeared\n", name);
    use_fd(f, fd, name, 0);
    return 0;
}

int follow_start(struct follower *f, const struct follow_file *file, int64_t offset)
{
    if (!file)
        return 0;
    struct follow_file found;
    int fd = open_identity(f, file, &found);
    if (fd < 0) {
        fprintf(stderr,
                "collect: %s (device %llu inode %llu) is gone; reading the input from its current file\n",
                file->name, (unsigned long long)file->dev, (unsigned long long)file->ino);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size < offset) {
        fprintf(stderr,
                "collect: warning: %s shrank to %lld bytes below the saved position %lld: truncated, "
                "reading it again from its start\n",
                found.name, (long long)st.st_size, (long long)offset);
        offset = 0;
    }
    if (lseek(fd, offset, SEEK_SET) < 0) {
        fprintf(stderr, "collect: %s: seek: %s\n", found.name, strerror(errno));
        close(fd);
        return -1;
    }
    use_fd(f, fd, found.name, offset);
    if (strcmp(found.name, file->name) != 0)
        fprintf(stderr, "collect: continuing in %s (rotated from %s)\n", found.name, file->name);
    return 0;
}

/* Hands out buf[head, head + len) as a line ending at head + len + nl bytes. */
static int emit(struct follower *f, struct follow_line *out, size_t len, int nl)
{
    f->ret = f->cur;
    out->file = &f->ret;
    out->unterminated = !nl;
    if (f->skipping) {
        out->p = f->skip_head;
        out->len = f->skip_len;
        out->start = f->skip_start;
        out->too_long = 1;
        f->skipping = 0;
    } else {
        out->p = f->buf + f->head;
        out->len = len;
        out->start = f->off;
        out->too_long = 0;
    }
    f->head += len + (size_t)nl;
    f->off += (int64_t)(len + (size_t)nl);
    out->end = f->off;
    f->at_end = 0;
    return 1;
}

int follow_next(struct follower *f, struct follow_line *out)
{
    for (;;) {
        if (f->fd < 0 && open_first(f) != 0) {
            f->at_end = 1;
            return 0;
        }
        size_t have = f->tail - f->head;
        char *nl = have ? memchr(f->buf + f->head, '\n', have) : NULL;
        if (nl)
            return emit(f, out, (size_t)(nl - (f->buf + f->head)), 1);
        if (have >= f->line_max || (f->skipping && have)) { /* too long: keep its head, drop the rest */
            if (!f->skipping) {
                f->skipping = 1;
                f->skip_start = f->off;
                f->skip_len = have < SKIP_HEAD ? have : SKIP_HEAD;
                memcpy(f->skip_head, f->buf + f->head, f->skip_len);
            }
            f->off += (int64_t)have;
            f->head = f->tail = 0;
            have = 0;
        }
        if (f->head > 0) {
            memmove(f->buf, f->buf + f->head, have);
            f->tail = have;
            f->head = 0;
        }
        if (f->tail == f->cap) {
            size_t cap = f->cap * 2 > f->line_max + 1 ? f->line_max + 1 : f->cap * 2;
            char *b = realloc(f->buf, cap);
            if (!b) {
                fprintf(stderr, "collect: out of memory reading %s\n", f->cur.name);
                return -1;
            }
            f->buf = b;
            f->cap = cap;
        }
        ssize_t n = read(f->fd, f->buf + f->tail, f->cap - f->tail);
        if (n > 0) {
            f->tail += (size_t)n;
            f->rechecked = 0;
            continue;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "collect: reading %s: %s\n", f->cur.name, strerror(errno));
            return -1;
        }
        /* End of the current file. */
        int64_t pos = f->off + (int64_t)(f->tail - f->head);
        struct stat st;
        if (fstat(f->fd, &st) == 0 && st.st_size < pos) {
            fprintf(stderr,
                    "collect: warning: %s was truncated to %lld bytes (read up to %lld): reading it "
                    "again from its start\n",
                    f->cur.name, (long long)st.st_size, (long long)pos);
            if (lseek(f->fd, 0, SEEK_SET) == 0)
                reset_buffer(f, 0);
            continue;
        }
        char name[PATH_MAX + 32];
        const char *next = newer_file(f, name, sizeof name);
        if (next && !f->rechecked) {
            f->rechecked = 1;
            continue;
        }
        if (next) {
            if (f->tail > f->head || f->skipping)
                return emit(f, out, f->tail - f->head, 0);
            int fd = open(next, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                f->at_end = 1;
                return 0; /* gone again meanwhile: look next time */
            }
            if (f->kind == FOLLOW_PATH)
                fprintf(stderr, "collect: %s was rotated; reading the new file\n", f->path);
            use_fd(f, fd, next, 0);
            continue;
        }
        if (f->drain && (f->tail > f->head || f->skipping))
            return emit(f, out, f->tail - f->head, 0);
        f->at_end = 1;
        return 0;
    }
}

int64_t follow_lag_bytes(struct follower *f)
{
    struct stat st;
    int64_t lag = 0;
    if (f->fd >= 0 && fstat(f->fd, &st) == 0 && st.st_size > f->off)
        lag = st.st_size - f->off;
    if (f->kind == FOLLOW_PATH) {
        if (stat(f->path, &st) == 0 && (f->fd < 0 || !same_file(&st, &f->cur)))
            lag += st.st_size;
        return lag;
    }
    uint64_t lo, hi, n = f->fd >= 0 ? spool_segment_number(f->cur.name) + 1 : 0;
    spool_range(f->path, &lo, &hi);
    for (uint64_t k = n > lo ? n : lo; lo && k <= hi; k++) {
        char p[PATH_MAX + 32];
        spool_segment_path(f->path, k, p, sizeof p);
        if (stat(p, &st) == 0)
            lag += st.st_size;
    }
    return lag;
}

char *follow_read_range(struct follower *f, const struct follow_file *file, int64_t start, int64_t end,
                        size_t *len)
{
    struct follow_file found;
    int fd = open_identity(f, file, &found);
    if (fd < 0) {
        fprintf(stderr, "collect: %s (device %llu inode %llu) is gone\n", file->name,
                (unsigned long long)file->dev, (unsigned long long)file->ino);
        return NULL;
    }
    size_t n = (size_t)(end - start), got = 0;
    char *b = malloc(n + 1);
    while (b && got < n) {
        ssize_t r = pread(fd, b + got, n - got, start + (int64_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!b || got < n) {
        fprintf(stderr, "collect: %s: bytes %lld-%lld cannot be read again (%s)\n", found.name,
                (long long)start, (long long)end, b ? "the file is shorter" : "out of memory");
        free(b);
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}
