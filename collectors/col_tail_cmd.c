/* col_tail_cmd.c — see col_tail_cmd.h */
#include "col_tail_cmd.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_cli.h"
#include "col_recover.h"
#include "tail.h"

#define W 18 /* --help: the width of the option column */

static void usage(FILE *f, int from_stdin)
{
    fprintf(f,
            "usage: spillwatch-collect %s --url URL --state DIR [options]\n"
            "\n"
            "%s"
            "sends it to a spillwatch server in batches, exactly once per spill across crashes of the\n"
            "collector and of the server (the journal in --state).\n"
            "\n",
            from_stdin ? "stdin" : "file PATH",
            from_stdin
                ? "Reads wire-format v1 NDJSON from standard input, copies it to a spool in --state, and\n"
                : "Follows PATH like `tail -F` (rotation, truncation, a file that appears later), and\n");
    col_usage_url(f, W);
    fprintf(f, "  --state DIR        durable state: journal, dead-letter file%s (required)\n",
            from_stdin ? ", spool of stdin" : "");
    col_usage_source(f, W, from_stdin ? "<host>-stdin" : "<host>-<file name>");
    col_usage_token(f, W, "; --token-file F reads it from F");
    fprintf(
        f,
        "  --batch N          events per batch (default 1000)\n"
        "  --batch-bytes N    bytes per batch (default 4194304)\n"
        "  --flush-ms N       send a batch at the latest N ms after its first line (default 500)\n"
        "  --line-max N       longest line in bytes (default 8388608); longer lines are dead-lettered\n"
        "  --exit-at-eof      %s\n"
        "  --no-fsync         do not fsync the journal (survives a collector crash, not a machine crash)\n"
        "  --progress S       a progress line every S seconds (default 10, 0 = never)\n"
        "  --quiet, --verbose\n"
        "\n",
        from_stdin ? "implied: the collector ends once stdin has ended and all is sent"
                   : "end once the end of PATH is reached and all is sent");
    col_usage_exit(f, " (also after SIGINT/SIGTERM)", "");
}

/* The default source id: <host>-<name>-<8 hex digits of a hash of what it reads (the absolute path
 * of the file, or the state directory for stdin)>, cut to [A-Za-z0-9._-] and 100 characters: two
 * files of one name in two directories are two sources. */
static void default_source(const char *name, const char *what, char *buf, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = what; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    char *dot = strchr(host, '.');
    if (dot)
        *dot = 0;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    char tag[16];
    snprintf(tag, sizeof tag, "-%08x", (unsigned)h);
    snprintf(buf, len, "%s-%s", host, base); /* len >= 101 */
    buf[100 - strlen(tag)] = 0;
    strcat(buf, tag);
    for (char *c = buf; *c; c++)
        if (!strchr(POSTER_SOURCE_CHARS, *c))
            *c = '_';
}

/* Parses the options into *o and *token_file. Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, int from_stdin, struct tail_opts *o, const char **token_file)
{
    const char *cmd = from_stdin ? "stdin" : "file";
    enum {
        O_TOKEN_FILE = COL_O_NEXT,
        O_STATE,
        O_BATCH,
        O_BATCH_BYTES,
        O_FLUSH,
        O_LINE_MAX,
        O_EXIT_EOF,
        O_NO_FSYNC,
        O_PROGRESS,
        O_POLL
    };
    static const struct option opts[] = {
        COL_COMMON_OPTIONS,
        {"token-file", 1, NULL, O_TOKEN_FILE},
        {"state", 1, NULL, O_STATE},
        {"batch", 1, NULL, O_BATCH},
        {"batch-bytes", 1, NULL, O_BATCH_BYTES},
        {"flush-ms", 1, NULL, O_FLUSH},
        {"line-max", 1, NULL, O_LINE_MAX},
        {"exit-at-eof", 0, NULL, O_EXIT_EOF},
        {"no-fsync", 0, NULL, O_NO_FSYNC},
        {"progress", 1, NULL, O_PROGRESS},
        {"poll-ms", 1, NULL, O_POLL},
        {NULL, 0, NULL, 0},
    };
    struct col_common co = {0};
    int c, li = 0, e = 0;
    long long n;
    double ms;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
        if (col_common_opt(&co, c, optarg))
            continue;
        const char *name = opts[li].name;
        switch (c) {
        case O_TOKEN_FILE:
            *token_file = optarg;
            break;
        case O_STATE:
            o->state = optarg;
            break;
        case O_BATCH:
            if (!(e = col_arg_ll_in(cmd, name, optarg, 1, 1000000, &n)))
                o->batch_events = n;
            break;
        case O_BATCH_BYTES:
            if (!(e = col_arg_ll_in(cmd, name, optarg, 1024, 1 << 30, &n)))
                o->batch_bytes = n;
            break;
        case O_FLUSH:
            if (!(e = col_arg_double_in(cmd, name, optarg, 1, 3600000, &ms)))
                o->flush_s = ms / 1000;
            break;
        case O_LINE_MAX:
            if (!(e = col_arg_ll_in(cmd, name, optarg, 1024, 1 << 30, &n)))
                o->line_max = n;
            break;
        case O_EXIT_EOF:
            o->exit_at_eof = 1;
            break;
        case O_NO_FSYNC:
            o->fsync = 0;
            break;
        case O_PROGRESS:
            e = col_arg_double_in(cmd, name, optarg, 0, 86400, &o->progress_s);
            break;
        case O_POLL:
            if (!(e = col_arg_double_in(cmd, name, optarg, 1, 10000, &ms)))
                o->poll_s = ms / 1000;
            break;
        case COL_O_HELP:
            usage(stdout, from_stdin);
            return COL_EXIT_OK;
        default:
            return col_opt_error(cmd, argv);
        }
        if (e)
            return e;
    }
    o->url = co.url;
    static const char *urls[COL_URLS_MAX];
    memcpy(urls, co.urls, sizeof urls);
    o->urls = urls;
    o->nurls = co.nurls;
    o->token = co.token;
    o->source = co.source;
    o->quiet = co.quiet;
    o->verbose = co.verbose;
    if (!from_stdin) {
        if (optind >= argc) {
            fprintf(stderr, "spillwatch-collect file: the PATH to follow is missing (see --help)\n");
            return COL_EXIT_USAGE;
        }
        o->path = argv[optind++];
    }
    if ((e = col_no_more_args(cmd, argc, argv)))
        return e;
    if (!o->url || !o->state) {
        fprintf(stderr, "spillwatch-collect %s: --url and --state are required\n", cmd);
        return COL_EXIT_USAGE;
    }
    if ((e = col_token_exclusive(cmd, o->token, *token_file)))
        return e;
    return -1;
}

int col_tail_cmd(int argc, char **argv, int from_stdin)
{
    const char *cmd = from_stdin ? "stdin" : "file";
    struct tailer t = {.o = {.batch_events = 1000,
                             .batch_bytes = 4 << 20,
                             .line_max = 8 << 20,
                             .flush_s = 0.5,
                             .progress_s = 10,
                             .poll_s = 0.05,
                             .fsync = 1,
                             .from_stdin = from_stdin},
                       .behind_since = NAN};
    const char *token_file = NULL;
    int e = parse(argc, argv, from_stdin, &t.o, &token_file);
    if (e >= 0)
        return e;
    char input[4200];
    if (from_stdin)
        snprintf(input, sizeof input, "stdin");
    else {
        char *abs = realpath(t.o.path, NULL); /* the state names the file the same way from any cwd */
        if (!abs && t.o.path[0] != '/') {
            char cwd[4096];
            snprintf(input, sizeof input, "file:%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".", t.o.path);
        } else
            snprintf(input, sizeof input, "file:%s", abs ? abs : t.o.path);
        free(abs);
    }
    char src[128];
    if (t.o.source) {
        if ((e = col_source_check(cmd, t.o.source)))
            return e;
        snprintf(src, sizeof src, "%s", t.o.source);
    } else if (state_peek_source(t.o.state, src, sizeof src) != 0 || !poster_source_ok(src)) {
        /* no state yet: the default; a state keeps the source it was made with */
        char *dir = realpath(t.o.state, NULL);
        default_source(from_stdin ? "stdin" : t.o.path, from_stdin ? (dir ? dir : t.o.state) : input, src,
                       sizeof src);
        free(dir);
    }
    char *token_buf = NULL;
    if (token_file && !(token_buf = col_read_token_file(token_file)))
        return COL_EXIT_USAGE;
    int rc = COL_EXIT_FAIL;
    if (state_open(&t.st, t.o.state, src, input, t.o.fsync) != 0) {
        state_close(&t.st);
        free(token_buf);
        return COL_EXIT_FAIL;
    }
    t.stop = col_catch_signals();

    struct poster_opts po = {.url = t.o.url,
                             .urls = t.o.urls,
                             .nurls = t.o.nurls,
                             .token = token_buf ? token_buf : t.o.token,
                             .source = src,
                             .instance = t.st.instance,
                             .retry_forever = 1,
                             .verbose = t.o.verbose};
    snprintf(t.spool_dir, sizeof t.spool_dir, "%s/spool", t.o.state);
    t.p = poster_new(&po);
    t.f = follow_new(from_stdin ? FOLLOW_SPOOL : FOLLOW_PATH, from_stdin ? t.spool_dir : input + 5,
                     (size_t)t.o.line_max);
    col_batch_reset(&t.b);
    if (!t.p || !t.f) {
        fprintf(stderr, "spillwatch-collect %s: out of memory\n", cmd);
        goto out;
    }
    poster_set_stop_flag(t.p, t.stop);
    if (from_stdin && !(t.spool = spool_start(t.spool_dir, 0, 16 << 20)))
        goto out;
    if (!t.o.quiet)
        fprintf(stderr, "collect: source %s, %s, state %s\n", src, input, t.o.state);
    if (col_recover(&t) != 0)
        goto out;
    rc = tail_run(&t) == 0 || *t.stop ? COL_EXIT_OK : COL_EXIT_FAIL;
    tail_progress(&t, 1);
    if (t.lost)
        rc = COL_EXIT_FAIL;
    if (rc == COL_EXIT_OK)
        poster_release(t.p); /* stopped cleanly: another collector may take the source at once */
out:
    spool_stop(t.spool);
    poster_free(t.p);
    follow_free(t.f);
    col_batch_free(&t.b);
    state_close(&t.st);
    free(token_buf);
    return rc;
}
