/* state.c — see state.h */
#include "state.h"
#include "post.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_VERSION 1

static void path_of(const struct state *s, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", s->dir, name);
}

static json_t *file_json(const struct follow_file *f)
{
    return json_pack("{s:s, s:I, s:I}", "name", f->name, "dev", (json_int_t)f->dev, "ino",
                     (json_int_t)f->ino);
}

static int file_from_json(json_t *j, struct follow_file *f)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    json_t *dev = json_object_get(j, "dev"), *ino = json_object_get(j, "ino");
    if (!name || !json_is_integer(dev) || !json_is_integer(ino))
        return -1;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->dev = (uint64_t)json_integer_value(dev);
    f->ino = (uint64_t)json_integer_value(ino);
    return 0;
}

static void batch_free(struct state_batch *b)
{
    free(b->drop);
    b->drop = NULL;
    b->ndrop = 0;
}

int state_journal_add(struct state *s, const struct state_batch *b)
{
    if (s->njournal == s->capjournal) {
        size_t cap = s->capjournal ? s->capjournal * 2 : 16;
        struct state_batch *j = realloc(s->journal, cap * sizeof *j);
        if (!j)
            return -1;
        s->journal = j;
        s->capjournal = cap;
    }
    struct state_batch *c = &s->journal[s->njournal];
    *c = *b;
    c->drop = NULL;
    if (b->ndrop) {
        c->drop = malloc(b->ndrop * sizeof *c->drop);
        if (!c->drop)
            return -1;
        memcpy(c->drop, b->drop, b->ndrop * sizeof *c->drop);
    }
    s->njournal++;
    return 0;
}

void state_journal_shift(struct state *s, size_t n)
{
    if (n > s->njournal)
        n = s->njournal;
    for (size_t i = 0; i < n; i++)
        batch_free(&s->journal[i]);
    memmove(s->journal, s->journal + n, (s->njournal - n) * sizeof *s->journal);
    s->njournal -= n;
}

void state_journal_remove(struct state *s, size_t i)
{
    if (i >= s->njournal)
        return;
    batch_free(&s->journal[i]);
    memmove(s->journal + i, s->journal + i + 1, (s->njournal - i - 1) * sizeof *s->journal);
    s->njournal--;
}

static int load(struct state *s, const char *source, const char *input)
{
    char p[4300];
    path_of(s, "state.json", p, sizeof p);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    if (!j) {
        if (access(p, F_OK) != 0 && errno == ENOENT) {
            s->fresh = 1;
            return 0;
        }
        fprintf(stderr, "collect: %s: line %d: %s\n", p, err.line, err.text);
        return -1;
    }
    int rc = -1;
    const char *src = json_string_value(json_object_get(j, "source"));
    const char *in = json_string_value(json_object_get(j, "input"));
    json_t *seq = json_object_get(j, "seq"), *journal = json_object_get(j, "journal");
    json_t *pos = json_object_get(j, "pos");
    if (json_integer_value(json_object_get(j, "version")) != STATE_VERSION || !src || !in ||
        !json_is_integer(seq) || !json_is_array(journal)) {
        fprintf(stderr, "collect: %s: not a state file of this collector version\n", p);
        goto out;
    }
    if (strcmp(src, source) != 0 || strcmp(in, input) != 0) {
        fprintf(stderr,
                "collect: %s belongs to source \"%s\" reading %s, not to source \"%s\" reading %s; give each "
                "collector its own --state\n",
                s->dir, src, in, source, input);
        goto out;
    }
    s->seq = json_integer_value(seq);
    const char *inst = json_string_value(json_object_get(j, "instance"));
    if (inst && strlen(inst) == POSTER_INSTANCE_LEN &&
        strspn(inst, "0123456789abcdef") == POSTER_INSTANCE_LEN)
        snprintf(s->instance, sizeof s->instance, "%s", inst);
    if (json_is_object(pos)) {
        if (file_from_json(pos, &s->pos) != 0 || !json_is_integer(json_object_get(pos, "offset")))
            goto bad;
        s->pos_off = json_integer_value(json_object_get(pos, "offset"));
        s->has_pos = 1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(journal, i, e)
    {
        struct state_batch b = {0};
        json_t *drop = json_object_get(e, "drop");
        if (file_from_json(json_object_get(e, "file"), &b.file) != 0 || !json_is_array(drop))
            goto bad;
        b.seq = json_integer_value(json_object_get(e, "seq"));
        b.start = json_integer_value(json_object_get(e, "start"));
        b.end = json_integer_value(json_object_get(e, "end"));
        b.closes = json_is_true(json_object_get(e, "closes"));
        b.ndrop = json_array_size(drop);
        b.drop = malloc((b.ndrop + 1) * sizeof *b.drop);
        for (size_t k = 0; b.drop && k < b.ndrop; k++)
            b.drop[k] = json_integer_value(json_array_get(drop, k));
        int ok = b.drop && b.seq > 0 && b.end >= b.start && state_journal_add(s, &b) == 0;
        free(b.drop);
        if (!ok)
            goto bad;
    }
    rc = 0;
    goto out;
bad:
    fprintf(stderr, "collect: %s: a malformed entry\n", p);
out:
    json_decref(j);
    return rc;
}

int state_open(struct state *s, const char *dir, const char *source, const char *input, int fsync)
{
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    s->fsync = fsync;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->source, sizeof s->source, "%s", source);
    snprintf(s->input, sizeof s->input, "%s", input);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "collect: --state %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char p[4300];
    path_of(s, "lock", p, sizeof p);
    s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->lock_fd < 0) {
        fprintf(stderr, "collect: %s: %s\n", p, strerror(errno));
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "?";
        ssize_t n = pread(s->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 1] = 0;
        fprintf(stderr, "collect: --state %s is in use by another collector (pid %s)\n", dir, pid);
        close(s->lock_fd);
        s->lock_fd = -1;
        return -1;
    }
    char me[32];
    int n = snprintf(me, sizeof me, "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, me, (size_t)n, 0) != n)
        fprintf(stderr, "collect: warning: %s: cannot record the pid\n", p);
    if (load(s, source, input) != 0)
        return -1;
    if (s->instance[0]) /* a state of an older collector has none: it gets one now */
        return 0;
    return poster_make_instance(s->instance) == 0 && state_save(s) == 0 ? 0 : -1;
}

int state_peek_source(const char *dir, char *buf, size_t len)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/state.json", dir);
    json_t *j = json_load_file(p, 0, NULL);
    const char *src = json_string_value(json_object_get(j, "source"));
    int rc = src ? 0 : -1;
    if (src)
        snprintf(buf, len, "%s", src);
    json_decref(j);
    return rc;
}

void state_close(struct state *s)
{
    for (size_t i = 0; i < s->njournal; i++)
        batch_free(&s->journal[i]);
    free(s->journal);
    s->journal = NULL;
    s->njournal = s->capjournal = 0;
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    s->lock_fd = -1;
}

int state_save(struct state *s)
{
    json_t *journal = json_array();
    for (size_t i = 0; i < s->njournal; i++) {
        const struct state_batch *b = &s->journal[i];
        json_t *drop = json_array();
        for (size_t k = 0; k < b->ndrop; k++)
            json_array_append_new(drop, json_integer((json_int_t)b->drop[k]));
        json_array_append_new(journal,
                              json_pack("{s:I, s:o, s:I, s:I, s:b, s:o}", "seq", (json_int_t)b->seq, "file",
                                        file_json(&b->file), "start", (json_int_t)b->start, "end",
                                        (json_int_t)b->end, "closes", b->closes, "drop", drop));
    }
    json_t *j =
        json_pack("{s:i, s:s, s:s, s:s, s:I, s:o}", "version", STATE_VERSION, "source", s->source, "instance",
                  s->instance, "input", s->input, "seq", (json_int_t)s->seq, "journal", journal);
    if (j && s->has_pos) {
        json_t *pos = file_json(&s->pos);
        json_object_set_new(pos, "offset", json_integer((json_int_t)s->pos_off));
        json_object_set_new(j, "pos", pos);
    }
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        fprintf(stderr, "collect: out of memory saving the state\n");
        return -1;
    }
    char tmp[4300], p[4300];
    path_of(s, "state.json.tmp", tmp, sizeof tmp);
    path_of(s, "state.json", p, sizeof p);
    int rc = -1;
    size_t len = strlen(text);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd >= 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
        (!s->fsync || fdatasync(fd) == 0) && close(fd) == 0) {
        fd = -1;
        if (rename(tmp, p) == 0) {
            rc = 0;
            if (s->fsync) {
                int d = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d < 0 || fsync(d) != 0)
                    rc = -1;
                if (d >= 0)
                    close(d);
            }
        }
    }
    if (rc != 0)
        fprintf(stderr, "collect: saving %s: %s\n", p, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(text);
    return rc;
}

int state_dead_letter(struct state *s, const char *line, size_t len, const struct follow_file *file,
                      int64_t offset, int64_t seq, long status, const char *error)
{
    json_t *rec = json_stringn(line, len);
    int lossy = 0;
    if (!rec) { /* not UTF-8, or a NUL inside */
        char *c = malloc(len + 1);
        for (size_t i = 0; c && i < len; i++)
            c[i] = (unsigned char)line[i] >= 0x80 || line[i] == 0 ? '?' : line[i];
        rec = c ? json_stringn(c, len) : NULL;
        free(c);
        lossy = 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_t *j =
        json_pack("{s:f, s:s, s:s, s:I, s:i, s:s, s:o}", "time", (double)ts.tv_sec + ts.tv_nsec * 1e-9,
                  "source", s->source, "file", file ? file->name : "", "offset", (json_int_t)offset, "status",
                  (int)status, "error", error, "record", rec ? rec : json_null());
    if (j && seq > 0)
        json_object_set_new(j, "seq", json_integer((json_int_t)seq));
    if (j && lossy)
        json_object_set_new(j, "lossy", json_true());
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    char p[4300];
    path_of(s, "dead-letter.ndjson", p, sizeof p);
    FILE *f = text ? fopen(p, "a") : NULL;
    int rc = f && fprintf(f, "%s\n", text) > 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "collect: writing %s: %s\n", p, text ? strerror(errno) : "out of memory");
    free(text);
    return rc;
}
