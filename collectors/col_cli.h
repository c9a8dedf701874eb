/* col_cli.h — the command-line pieces every subcommand of spillwatch-collect shares (`sim` in
 * col_sim_cmd.c, `file` and `stdin` in col_tail_cmd.c): the exit codes, the options they have in
 * common (--url, --token, --source, --quiet, --verbose, --help), getopt_long's errors, numbers in
 * option values, --source and --token-file, the common lines of --help, and SIGINT/SIGTERM.
 *
 * Every message starts "spillwatch-collect CMD: " where CMD is the subcommand (sim, file, stdin);
 * a function that finds a usage error prints it and returns COL_EXIT_USAGE, for the caller to return
 * from its command. Nothing here keeps state but the stop flag.
 *
 * Single-threaded: called from the main thread while a command parses its options; the stop flag is
 * written by the signal handler and read by the main thread. */
#ifndef SW_COL_CLI_H
#define SW_COL_CLI_H

#include <signal.h>
#include <stdio.h>

#ifndef SW_VERSION
#define SW_VERSION "dev" /* CMake defines it; a standalone build says so */
#endif

/* Exit status of spillwatch-collect and of each command. */
enum { COL_EXIT_OK = 0, COL_EXIT_FAIL = 1, COL_EXIT_USAGE = 2 };

/* Option values for getopt_long. A command numbers its own options from COL_O_NEXT on; every option
 * value is >= COL_O_FIRST, so an optopt >= COL_O_FIRST after an error names an option that lacks its
 * value (col_opt_error). */
enum {
    COL_O_FIRST = 256,
    COL_O_URL = COL_O_FIRST,
    COL_O_TOKEN,
    COL_O_SOURCE,
    COL_O_QUIET,
    COL_O_VERBOSE,
    COL_O_HELP,
    COL_O_NEXT
};

/* The entries of COL_O_URL ... COL_O_HELP, for a command's struct option table. */
#define COL_COMMON_OPTIONS                                                                           \
    {"url", 1, NULL, COL_O_URL}, {"token", 1, NULL, COL_O_TOKEN}, {"source", 1, NULL, COL_O_SOURCE}, \
        {"quiet", 0, NULL, COL_O_QUIET}, {"verbose", 0, NULL, COL_O_VERBOSE},                        \
    {                                                                                                \
        "help", 0, NULL, COL_O_HELP                                                                  \
    }

/* What the common options set; the strings are borrowed from argv. */
#define COL_URLS_MAX 8
struct col_common {
    const char *url;                /* --url: server base URL (the first one given) */
    const char *urls[COL_URLS_MAX]; /* every --url in order of preference (several servers on one
                                     * PostgreSQL database: the collector moves to the next one) */
    int nurls;
    const char *token;  /* --token: bearer token (ingest role) */
    const char *source; /* --source: X-Spillwatch-Source, not checked yet (col_source_check) */
    int quiet, verbose;
};

/* Stores option c (a getopt_long result) when it is one of COL_O_URL ... COL_O_VERBOSE: 1, else 0.
 * --help is the command's own (its usage text). */
int col_common_opt(struct col_common *co, int c, const char *arg);

/* After getopt_long returned '?' (opterr = 0): prints that the option needs a value, or that it is
 * unknown, and returns COL_EXIT_USAGE. */
int col_opt_error(const char *cmd, char **argv);

/* When argv[optind] exists: prints "unexpected argument" and returns COL_EXIT_USAGE; else 0. */
int col_no_more_args(const char *cmd, int argc, char **argv);

/* An option value as a number: all of arg (not empty), in range (errno). 0, or -1 (nothing printed).
 * Base 10 for the integers, as strtoll, strtoull and strtod read them. */
int col_arg_ll(const char *arg, long long *v);
int col_arg_ull(const char *arg, unsigned long long *v);
int col_arg_double(const char *arg, double *v);

/* Prints "--NAME "ARG": WHAT" and returns COL_EXIT_USAGE. */
int col_bad_arg(const char *cmd, const char *name, const char *arg, const char *what);

/* An integer or a real option value within [lo, hi]: 0 with *v, or COL_EXIT_USAGE with "must be a number
 * within [lo, hi]" printed. */
int col_arg_ll_in(const char *cmd, const char *name, const char *arg, long long lo, long long hi,
                  long long *v);
int col_arg_double_in(const char *cmd, const char *name, const char *arg, double lo, double hi, double *v);

/* A --source given by the user: 0 when it is a valid source id (poster_source_ok), else
 * COL_EXIT_USAGE, printed. */
int col_source_check(const char *cmd, const char *source);

/* --token and --token-file exclude each other: 0, or COL_EXIT_USAGE, printed. */
int col_token_exclusive(const char *cmd, const char *token, const char *token_file);

/* The token in the file path, without trailing white space: a malloc'd string the caller frees, or
 * NULL (printed) when it cannot be read or is empty (a usage error). */
char *col_read_token_file(const char *path);

/* Lines of --help: "  OPTION<padding> TEXT" with TEXT at column width + 3, and the exit status line
 * ("Exit status: 0 ok<ok_note>, 1 runtime failure<fail_note>, 2 usage error."). */
void col_usage_option(FILE *f, int width, const char *option, const char *text);
void col_usage_url(FILE *f, int width);                            /* --url URL */
void col_usage_token(FILE *f, int width, const char *more);        /* --token T, then more */
void col_usage_source(FILE *f, int width, const char *default_id); /* --source ID */
void col_usage_exit(FILE *f, const char *ok_note, const char *fail_note);

/* Installs the SIGINT and SIGTERM handler, which raises the stop flag, and ignores SIGPIPE (a closed
 * pipe or socket is an error to report, not a death). Returns the flag (for poster_set_stop_flag and
 * the command's loops): 0 until a signal came. */
volatile sig_atomic_t *col_catch_signals(void);

#endif
