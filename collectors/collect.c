/* collect.c — spillwatch-collect: sends DAQ event summaries to a spillwatch server.
 * main: --version, --help and the dispatch to the subcommands: `sim` (the built-in NA64mu simulator,
 * col_sim_cmd.h, docs/simulator.md), `file` and `stdin` (followers of DAQ output, col_tail_cmd.h and
 * docs/collector.md). curl's global state is set up here, once, on the main thread. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "col_cli.h"
#include "col_sim_cmd.h"
#include "col_tail_cmd.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
        printf("spillwatch-collect %s\n", SW_VERSION);
        return COL_EXIT_OK;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(
            f, "usage: spillwatch-collect sim|file|stdin [options]   (spillwatch-collect SUBCOMMAND --help)\n"
               "  sim        simulate NA64mu spills\n"
               "  file PATH  follow a growing NDJSON file like tail -F\n"
               "  stdin      read NDJSON from a pipe\n\n");
        col_sim_usage(f);
        return argc < 2 ? COL_EXIT_USAGE : COL_EXIT_OK;
    }
    int sim = !strcmp(argv[1], "sim"), file = !strcmp(argv[1], "file"), in = !strcmp(argv[1], "stdin");
    if (!sim && !file && !in) {
        fprintf(stderr, "spillwatch-collect: unknown subcommand \"%s\" (available: sim, file, stdin)\n",
                argv[1]);
        return COL_EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = sim ? col_sim_cmd(argc - 1, argv + 1) : col_tail_cmd(argc - 1, argv + 1, in);
    curl_global_cleanup();
    return rc;
}
