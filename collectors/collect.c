/* collect.c — spillwatch-collect: sends DAQ event summaries to a spillwatch server.
 * Subcommands: `sim` (the built-in NA64mu simulator). File and stdin followers come later. */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "post.h"
#include "sim.h"

#define MAX_FAULTS 64

struct fault_at {
    unsigned fault;
    int64_t first, last;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spillwatch-collect sim (--url URL | --out FILE) [options]\n"
            "\n"
            "Simulates NA64mu spills (160 GeV muons, 4.8 s spills) and posts them to a spillwatch server.\n"
            "\n"
            "  --url URL            server base URL, e.g. http://127.0.0.1:8080\n"
            "  --out FILE           write the NDJSON to FILE instead ('-' = stdout)\n"
            "  --token T            bearer token (ingest role)\n"
            "  --run N              run number (default 1)\n"
            "  --first-spill N      first spill number (default 1)\n"
            "  --spills N           number of spills (default 10)\n"
            "  --forever            spills until SIGINT/SIGTERM\n"
            "  --scale F            intensity multiplier (MOT and triggers; default 1)\n"
            "  --fault NAME@SPILL   inject a fault in a spill (NAME@A-B for a range); repeatable.\n"
            "                       NAME: %s\n"
            "  --realtime           follow the SPS cycle: spill of --spill-length s every --cycle s\n"
            "  --fast               send as fast as the server answers (default)\n"
            "  --cycle S            SPS supercycle for --realtime (default 16.8)\n"
            "  --spill-length S     spill length (default 4.8)\n"
            "  --format rows|columns  event records (default columns)\n"
            "  --batch N            events per request (default 1000)\n"
            "  --seed N             random seed (default 1; 0 = from the clock)\n"
            "  --source ID          X-Spillwatch-Source (default sim-run<N>)\n"
            "  --quiet              no per-spill lines\n"
            "  --help, --version\n",
            sim_fault_list);
}

static int parse_fault(const char *arg, struct fault_at *fa)
{
    char name[64];
    const char *at = strchr(arg, '@');
    if (!at || at == arg || (size_t)(at - arg) >= sizeof name)
        return -1;
    snprintf(name, sizeof name, "%.*s", (int)(at - arg), arg);
    fa->fault = sim_fault_parse(name);
    if (!fa->fault)
        return -1;
    char *end;
    fa->first = strtoll(at + 1, &end, 10);
    fa->last = fa->first;
    if (*end == '-')
        fa->last = strtoll(end + 1, &end, 10);
    return end == at + 1 || *end || fa->first < 0 || fa->last < fa->first ? -1 : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_until(double t)
{
    while (!stop_requested) {
        double d = t - now_s();
        if (d <= 0)
            return;
        usleep((useconds_t)(d > 0.2 ? 200000 : d * 1e6));
    }
}

static int cmd_sim(int argc, char **argv)
{
    enum {
        O_URL = 256,
        O_OUT,
        O_TOKEN,
        O_RUN,
        O_FIRST,
        O_SPILLS,
        O_FOREVER,
        O_SCALE,
        O_FAULT,
        O_REALTIME,
        O_FAST,
        O_CYCLE,
        O_LENGTH,
        O_FORMAT,
        O_BATCH,
        O_SEED,
        O_SOURCE,
        O_QUIET,
        O_HELP
    };
    static const struct option opts[] = {
        {"url", 1, NULL, O_URL},
        {"out", 1, NULL, O_OUT},
        {"token", 1, NULL, O_TOKEN},
        {"run", 1, NULL, O_RUN},
        {"first-spill", 1, NULL, O_FIRST},
        {"spills", 1, NULL, O_SPILLS},
        {"forever", 0, NULL, O_FOREVER},
        {"scale", 1, NULL, O_SCALE},
        {"fault", 1, NULL, O_FAULT},
        {"realtime", 0, NULL, O_REALTIME},
        {"fast", 0, NULL, O_FAST},
        {"cycle", 1, NULL, O_CYCLE},
        {"spill-length", 1, NULL, O_LENGTH},
        {"format", 1, NULL, O_FORMAT},
        {"batch", 1, NULL, O_BATCH},
        {"seed", 1, NULL, O_SEED},
        {"source", 1, NULL, O_SOURCE},
        {"quiet", 0, NULL, O_QUIET},
        {"help", 0, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *out = NULL, *token = NULL, *source = NULL;
    long long run = 1, first = 1, spills = 10, batch = 1000;
    unsigned long long seed = 1;
    int forever = 0, realtime = 0, columns = 1, quiet = 0;
    struct sim_params params = {.scale = 1.0, .spill_length = 4.8};
    double cycle = 16.8;
    struct fault_at faults[MAX_FAULTS];
    int nfaults = 0, c, li = 0;
    char *end;
#define NUMBER(var, conv, cond, what)                                                                  \
    do {                                                                                               \
        var = conv(optarg, &end);                                                                      \
        if (!*optarg || *end || !(cond)) {                                                             \
            fprintf(stderr, "spillwatch-collect sim: --%s \"%s\": %s\n", opts[li].name, optarg, what); \
            return 2;                                                                                  \
        }                                                                                              \
    } while (0)
#define STRTOLL(s, e)  strtoll(s, e, 10)
#define STRTOULL(s, e) strtoull(s, e, 10)
    while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
        switch (c) {
        case O_URL:
            url = optarg;
            break;
        case O_OUT:
            out = optarg;
            break;
        case O_TOKEN:
            token = optarg;
            break;
        case O_RUN:
            NUMBER(run, STRTOLL, run >= 0, "must be an integer >= 0");
            break;
        case O_FIRST:
            NUMBER(first, STRTOLL, first >= 0, "must be an integer >= 0");
            break;
        case O_SPILLS:
            NUMBER(spills, STRTOLL, spills >= 1, "must be an integer >= 1");
            break;
        case O_FOREVER:
            forever = 1;
            break;
        case O_SCALE:
            NUMBER(params.scale, strtod, params.scale > 0 && params.scale <= 100, "must be in (0, 100]");
            break;
        case O_FAULT:
            if (nfaults == MAX_FAULTS || parse_fault(optarg, &faults[nfaults]) != 0) {
                fprintf(stderr,
                        "spillwatch-collect sim: --fault \"%s\": expected NAME@SPILL or NAME@A-B, NAME one "
                        "of %s\n",
                        optarg, sim_fault_list);
                return 2;
            }
            nfaults++;
            break;
        case O_REALTIME:
            realtime = 1;
            break;
        case O_FAST:
            realtime = 0;
            break;
        case O_CYCLE:
            NUMBER(cycle, strtod, cycle >= 1 && cycle <= 3600, "must be within [1, 3600] s");
            break;
        case O_LENGTH:
            NUMBER(params.spill_length, strtod, params.spill_length >= 0.1 && params.spill_length <= 60,
                   "must be within [0.1, 60] s");
            break;
        case O_FORMAT:
            if (strcmp(optarg, "rows") && strcmp(optarg, "columns")) {
                fprintf(stderr, "spillwatch-collect sim: --format: rows or columns\n");
                return 2;
            }
            columns = strcmp(optarg, "columns") == 0;
            break;
        case O_BATCH:
            NUMBER(batch, STRTOLL, batch >= 1 && batch <= 1000000, "must be within [1, 1000000]");
            break;
        case O_SEED:
            NUMBER(seed, STRTOULL, 1, "must be an integer");
            break;
        case O_SOURCE:
            source = optarg;
            break;
        case O_QUIET:
            quiet = 1;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!!url == !!out) {
        fprintf(stderr, "spillwatch-collect sim: exactly one of --url and --out is required\n");
        return 2;
    }
    if (realtime && params.spill_length > cycle) {
        fprintf(stderr, "spillwatch-collect sim: --spill-length must not exceed --cycle\n");
        return 2;
    }
    char src[128];
    snprintf(src, sizeof src, "%s", source ? source : "");
    if (!source)
        snprintf(src, sizeof src, "sim-run%lld", run);
    if (seed == 0)
        seed = (unsigned long long)time(NULL);

    FILE *outf = NULL;
    if (out)
        outf = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
    if (out && !outf) {
        perror(out);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = 1;
    struct sim_buf b = {0};
    struct poster *p = poster_new(url, token, src, outf, forever);
    if (!p)
        goto out;
    poster_set_stop_flag(p, &stop_requested);
    if (poster_resume(p) != 0)
        goto out;
    struct sim_rng rng;
    sim_rng_seed(&rng, seed);
    double t0 = now_s();

    char fault_text[200] = "";
    sim_buf_printf(
        &b,
        "{\"type\":\"run_start\",\"run\":%lld,\"time\":%.3f,\"meta\":{\"source\":\"spillwatch-collect "
        "sim\",\"seed\":%llu,\"scale\":%g,\"format\":\"%s\"}}\n",
        run, t0, seed, params.scale, columns ? "columns" : "rows");
    for (long long k = 0; forever || k < spills; k++) {
        if (stop_requested)
            break;
        int64_t spill = first + k;
        unsigned fl = 0;
        for (int i = 0; i < nfaults; i++)
            if (spill >= faults[i].first && spill <= faults[i].last)
                fl |= faults[i].fault;
        double start = t0 + (double)k * cycle; /* --fast keeps the same (synthetic) timeline */
        if (realtime)
            sleep_until(start);
        struct sim_spill sp;
        sim_spill_begin(&rng, &params, &sp, run, spill, fl);
        sim_buf_printf(&b, "{\"type\":\"spill_start\",\"run\":%lld,\"spill\":%lld,\"time\":%.3f}\n", run,
                       (long long)spill, start);
        int64_t nbatches = (sp.recorded + batch - 1) / batch, sent = 0;
        for (int64_t i = 0; sim_events(&rng, &sp, &b, batch, columns) > 0; i++) {
            if (realtime && !stop_requested)
                sleep_until(start + sp.duration * (double)(i + 1) / (double)(nbatches + 1));
            if (sent + 1 < nbatches || nbatches == 0) {
                if (poster_send(p, b.p, b.len) != 0)
                    goto out;
                sim_buf_clear(&b);
            }
            sent++;
        }
        if (realtime)
            sleep_until(start + sp.duration);
        sim_spill_end(&sp, &b, start + sp.duration);
        if (poster_send(p, b.p, b.len) != 0) /* the last events travel with spill_end */
            goto out;
        sim_buf_clear(&b);
        if (!quiet) {
            sim_fault_names(fl, fault_text, sizeof fault_text);
            fprintf(stderr, "sim: run %lld spill %lld sent %lld events, mot %lld%s%s\n", run,
                    (long long)spill, (long long)sp.recorded, (long long)sp.mot, fl ? ", faults: " : "",
                    fault_text);
        }
    }
    sim_buf_printf(&b, "{\"type\":\"run_end\",\"run\":%lld,\"time\":%.3f}\n", run, now_s());
    if (poster_send(p, b.p, b.len) != 0)
        goto out;
    rc = 0;
    if (poster_late(p))
        fprintf(stderr, "sim: %llu batches were refused as late\n", (unsigned long long)poster_late(p));
out:
    poster_free(p);
    sim_buf_release(&b);
    if (outf && outf != stdout)
        fclose(outf);
    else if (outf)
        fflush(outf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
        printf("spillwatch-collect %s\n", SW_VERSION);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "sim") != 0) {
        fprintf(stderr, "spillwatch-collect: unknown subcommand \"%s\" (available: sim)\n", argv[1]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmd_sim(argc - 1, argv + 1);
    curl_global_cleanup();
    return rc;
}
