/* col_cli.c — see col_cli.h */
#include "col_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "post.h"

int col_common_opt(struct col_common *co, int c, const char *arg)
{
    switch (c) {
    case COL_O_URL:
        if (co->nurls == COL_URLS_MAX) {
            fprintf(stderr, "spillwatch-collect: at most %d --url\n", COL_URLS_MAX);
            exit(COL_EXIT_USAGE);
        }
        if (!co->url)
            co->url = arg;
        co->urls[co->nurls++] = arg;
        return 1;
    case COL_O_TOKEN:
        co->token = arg;
        return 1;
    case COL_O_SOURCE:
        co->source = arg;
        return 1;
    case COL_O_QUIET:
        co->quiet = 1;
        return 1;
    case COL_O_VERBOSE:
        co->verbose = 1;
        return 1;
    default:
        return 0;
    }
}

int col_opt_error(const char *cmd, char **argv)
{
    if (optopt >= COL_O_FIRST)
        fprintf(stderr, "spillwatch-collect %s: option \"%s\" needs a value\n", cmd, argv[optind - 1]);
    else
        fprintf(stderr, "spillwatch-collect %s: unknown option \"%s\" (see --help)\n", cmd, argv[optind - 1]);
    return COL_EXIT_USAGE;
}

int col_no_more_args(const char *cmd, int argc, char **argv)
{
    if (optind >= argc)
        return 0;
    fprintf(stderr, "spillwatch-collect %s: unexpected argument \"%s\" (see --help)\n", cmd, argv[optind]);
    return COL_EXIT_USAGE;
}

int col_arg_ll(const char *arg, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(arg, &end, 10);
    return !*arg || *end || errno ? -1 : 0;
}

int col_arg_ull(const char *arg, unsigned long long *v)
{
    char *end;
    errno = 0;
    *v = strtoull(arg, &end, 10);
    return !*arg || *end || errno ? -1 : 0;
}

int col_arg_double(const char *arg, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(arg, &end);
    return !*arg || *end || errno ? -1 : 0;
}

int col_bad_arg(const char *cmd, const char *name, const char *arg, const char *what)
{
    fprintf(stderr, "spillwatch-collect %s: --%s \"%s\": %s\n", cmd, name, arg, what);
    return COL_EXIT_USAGE;
}

static int out_of_range(const char *cmd, const char *name, const char *arg, double lo, double hi)
{
    fprintf(stderr, "spillwatch-collect %s: --%s \"%s\": must be a number within [%g, %g]\n", cmd, name, arg,
            lo, hi);
    return COL_EXIT_USAGE;
}

int col_arg_ll_in(const char *cmd, const char *name, const char *arg, long long lo, long long hi,
                  long long *v)
{
    if (col_arg_ll(arg, v) != 0 || !(*v >= lo && *v <= hi))
        return out_of_range(cmd, name, arg, (double)lo, (double)hi);
    return 0;
}

int col_arg_double_in(const char *cmd, const char *name, const char *arg, double lo, double hi, double *v)
{
    if (col_arg_double(arg, v) != 0 || !(*v >= lo && *v <= hi))
        return out_of_range(cmd, name, arg, lo, hi);
    return 0;
}

int col_source_check(const char *cmd, const char *source)
{
    if (poster_source_ok(source))
        return 0;
    fprintf(stderr, "spillwatch-collect %s: --source \"%s\": 1 to 100 characters of [A-Za-z0-9._-]\n", cmd,
            source);
    return COL_EXIT_USAGE;
}

int col_token_exclusive(const char *cmd, const char *token, const char *token_file)
{
    if (!token || !token_file)
        return 0;
    fprintf(stderr, "spillwatch-collect %s: --token and --token-file exclude each other\n", cmd);
    return COL_EXIT_USAGE;
}

char *col_read_token_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "spillwatch-collect: --token-file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n > 0 && strchr("\r\n \t", buf[n - 1]))
        buf[--n] = 0;
    if (!n) {
        fprintf(stderr, "spillwatch-collect: --token-file %s is empty\n", path);
        return NULL;
    }
    return strdup(buf);
}

void col_usage_option(FILE *f, int width, const char *option, const char *text)
{
    fprintf(f, "  %-*s %s\n", width, option, text);
}

void col_usage_url(FILE *f, int width)
{
    col_usage_option(f, width, "--url URL",
                     "server base URL, e.g. http://127.0.0.1:8080; give it again for each");
    col_usage_option(f, width, "",
                     "server on one PostgreSQL database, in order of preference: the collector");
    col_usage_option(f, width, "",
                     "moves to the next when one is unreachable or a standby (the one it names)");
}

void col_usage_token(FILE *f, int width, const char *more)
{
    fprintf(f, "  %-*s bearer token (ingest role)%s\n", width, "--token T", more);
}

void col_usage_source(FILE *f, int width, const char *default_id)
{
    fprintf(f, "  %-*s X-Spillwatch-Source, 1-100 of [A-Za-z0-9._-] (default %s)\n", width, "--source ID",
            default_id);
}

void col_usage_exit(FILE *f, const char *ok_note, const char *fail_note)
{
    fprintf(f, "Exit status: 0 ok%s, 1 runtime failure%s, 2 usage error.\n", ok_note, fail_note);
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

volatile sig_atomic_t *col_catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &stop_requested;
}
