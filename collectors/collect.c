/* collect.c — spillwatch-collect: sends DAQ event summaries to a spillwatch server.
 * Subcommands: `sim` (the built-in NA64mu simulator, docs/simulator.md), `file` and `stdin` (followers of
 * DAQ output, tail.h and docs/collector.md). */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "post.h"
#include "sim.h"
#include "tail.h"

#ifndef SW_VERSION
#define SW_VERSION "dev" /* CMake defines it; a standalone build says so */
#endif

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
            "Simulates NA64mu spills (160 GeV/c muons, 4.8 s spills) and sends them to a spillwatch server.\n"
            "\n"
            "  --url URL              server base URL, e.g. http://127.0.0.1:8080\n"
            "  --out FILE             write the NDJSON to FILE instead ('-' = stdout)\n"
            "  --token T              bearer token (ingest role)\n"
            "  --run N                run number (default 1)\n"
            "  --first-spill N        first spill number (default 1)\n"
            "  --spills N             number of spills (default 10), then run_end\n"
            "  --forever              spills until SIGINT/SIGTERM, then run_end\n"
            "  --scale F              intensity multiplier: MOT and every MOT-driven count (default 1)\n"
            "  --conditions SEED      draw the run's nominal levels (MOT, rates, beam, scales,\n"
            "                         offsets) from the run-to-run ranges with SEED (>= 1, a stream\n"
            "                         apart from --seed); default: the nominal run\n"
            "  --momentum P           beam momentum setting in GeV/c (default 160)\n"
            "  --fault NAME@SPILL     inject a fault into a spill (NAME@A-B for a range; @1-N from the\n"
            "                         first spill); repeatable, several may hit one spill; each acts on\n"
            "                         the run's own level.\n"
            "                         NAME: %s\n"
            "  --realtime             follow the SPS cycle: a spill of --spill-length s every --cycle s\n"
            "  --fast                 send as fast as the server answers (default)\n"
            "  --cycle S              SPS supercycle for --realtime (default 16.8)\n"
            "  --spill-length S       spill length (default 4.8)\n"
            "  --format rows|columns  `event` rows or columnar `events` records (default columns)\n"
            "  --batch N              events per request (default 1000)\n"
            "  --seed N               random seed (default 1; 0 = from the clock)\n"
            "  --mot-goal N           the run's MOT goal, written to run_start meta (the overview shows it)\n"
            "  --no-daq-sources       no daq_sources in spill_end (a DAQ without integrity counts)\n"
            "  --source ID            X-Spillwatch-Source, 1-100 of [A-Za-z0-9._-] (default sim-run<N>)\n"
            "  --quiet                no per-spill lines\n"
            "  --verbose              debug lines (duplicates, retries, replays)\n"
            "  --help, --version\n"
            "\n"
            "Exit status: 0 ok, 1 runtime failure (server refused or unreachable), 2 usage error.\n",
            sim_fault_list);
}

/* NAME@SPILL or NAME@A-B. Returns 0, -1 for bad syntax, -2 for an unknown name. */
static int parse_fault(const char *arg, struct fault_at *fa)
{
    char name[64];
    const char *at = strchr(arg, '@');
    if (!at || at == arg || (size_t)(at - arg) >= sizeof name)
        return -1;
    snprintf(name, sizeof name, "%.*s", (int)(at - arg), arg);
    fa->fault = sim_fault_parse(name);
    if (!fa->fault)
        return -2;
    char *end;
    errno = 0;
    fa->first = strtoll(at + 1, &end, 10);
    fa->last = fa->first;
    if (end != at + 1 && *end == '-') {
        const char *b = end + 1;
        fa->last = strtoll(b, &end, 10);
        if (end == b)
            return -1;
    }
    return end == at + 1 || *end || errno || fa->first < 0 || fa->last < fa->first ? -1 : 0;
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

/* A number as JSON: an integer when it is one (160, not 160.0), else a real. New reference. */
static json_t *number(double v)
{
    return v == floor(v) && fabs(v) < 1e15 ? json_integer((json_int_t)v) : json_real(v);
}

/* meta.conditions: every drawn level, so a test or a benchmark can read the run back. New reference. */
static json_t *conditions_json(const struct sim_conditions *c)
{
    static const char *const axes[2] = {"x", "y"}, *const vetoes[3] = {"v1", "vm1", "vm2"};
    char key[48];
    json_t *j = json_object(), *hcal = json_array();
    json_object_set_new(j, "seed", json_integer((json_int_t)c->seed));
    json_object_set_new(j, "mot", number(c->mot));
    json_object_set_new(j, "veto_factor", number(c->veto_factor));
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "%s_factor", vetoes[i]);
        json_object_set_new(j, key, number(c->veto_each[i]));
        snprintf(key, sizeof key, "%s_per_mot", vetoes[i]);
        json_object_set_new(j, key, number(c->veto_per_mot[i]));
    }
    json_object_set_new(j, "veto_hit_fraction", number(c->veto_hit_fraction));
    json_object_set_new(j, "phys_per_mot", number(c->phys_per_mot));
    json_object_set_new(j, "beam_fraction", number(c->beam_fraction));
    json_object_set_new(j, "random_hz", number(c->random_hz));
    json_object_set_new(j, "p_offset", number(c->p_offset));
    json_object_set_new(j, "p_mean", number(c->p_mean));
    for (int i = 0; i < 2; i++) {
        snprintf(key, sizeof key, "sigma_%s_factor", axes[i]);
        json_object_set_new(j, key, number(c->sigma_factor[i]));
        snprintf(key, sizeof key, "sigma_%s", axes[i]);
        json_object_set_new(j, key, number(c->sigma[i]));
        snprintf(key, sizeof key, "centre_%s", axes[i]);
        json_object_set_new(j, key, number(c->centre[i]));
    }
    json_object_set_new(j, "dead_time", number(c->dead_time));
    json_object_set_new(j, "ecal_scale", number(c->ecal_scale));
    for (int m = 0; m < 4; m++)
        json_array_append_new(hcal, number(c->hcal_scale[m]));
    json_object_set_new(j, "hcal_scale", hcal);
    json_object_set_new(j, "t_ecal", number(c->t_ecal));
    json_object_set_new(j, "t_hcal", number(c->t_hcal));
    return j;
}

/* The run_start record, '\n'-terminated: meta says how the data was made. NULL on out of memory;
 * the caller frees it. */
static char *run_start_line(long long run, double time, unsigned long long seed, double scale, int columns,
                            const struct fault_at *faults, int nfaults, double mot_goal,
                            const struct sim_conditions *cond)
{
    json_t *list = json_array();
    for (int i = 0; i < nfaults; i++) {
        char f[128];
        if (faults[i].first == faults[i].last)
            snprintf(f, sizeof f, "%s@%lld", sim_fault_name(faults[i].fault), (long long)faults[i].first);
        else
            snprintf(f, sizeof f, "%s@%lld-%lld", sim_fault_name(faults[i].fault), (long long)faults[i].first,
                     (long long)faults[i].last);
        json_array_append_new(list, json_string(f));
    }
    /* "o" steals list, also when json_pack fails */
    json_t *j = json_pack("{s:s, s:I, s:f, s:{s:s, s:s, s:I, s:f, s:s, s:o}}", "type", "run_start", "run",
                          (json_int_t)run, "time", round(time * 1000) / 1000, "meta", "source",
                          "spillwatch-collect sim", "version", SW_VERSION, "seed", (json_int_t)seed, "scale",
                          scale, "format", columns ? "columns" : "rows", "faults", list);
    json_t *meta = json_object_get(j, "meta");
    if (meta && mot_goal > 0) /* the run's MOT goal, shown against the good MOT on the overview */
        json_object_set_new(meta, "mot_goal", json_real(mot_goal));
    if (meta) { /* the run conditions a monitor matches runs on: the same conditions seed, the same run */
        char beam[64] = "M2 mu+ nominal", trigger[64] = "nominal";
        if (cond->seed) {
            snprintf(beam, sizeof beam, "M2 mu+ tune %llu", (unsigned long long)cond->seed);
            snprintf(trigger, sizeof trigger, "trigger config %llu", (unsigned long long)cond->seed);
        }
        json_object_set_new(meta, "beam", json_string(beam));
        json_object_set_new(meta, "momentum", number(cond->momentum));
        json_object_set_new(meta, "trigger", json_string(trigger));
        json_object_set_new(meta, "target", json_string("ECAL 5x6"));
        if (cond->seed)
            json_object_set_new(meta, "conditions", conditions_json(cond));
    }
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(j);
    char *line = NULL;
    if (s && asprintf(&line, "%s\n", s) < 0)
        line = NULL;
    free(s);
    return line;
}

/* The simulator has no dead-letter file: a refused batch is a bug worth stopping for. */
static int sim_send(struct poster *p, const struct sim_buf *b, int closes)
{
    int rc = poster_send(p, b->p, b->len, closes);
    if (rc == 1) {
        const char *e;
        int line;
        long status = poster_refusal(p, &e, &line);
        fprintf(stderr, "sim: seq %lld refused with status %ld: %s\n", (long long)poster_next_seq(p), status,
                e);
    }
    return rc;
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
        O_VERBOSE,
        O_MOT_GOAL,
        O_CONDITIONS,
        O_MOMENTUM,
        O_NO_DAQ,
        O_HELP,
        O_VERSION
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
        {"verbose", 0, NULL, O_VERBOSE},
        {"mot-goal", 1, NULL, O_MOT_GOAL},
        {"conditions", 1, NULL, O_CONDITIONS},
        {"momentum", 1, NULL, O_MOMENTUM},
        {"no-daq-sources", 0, NULL, O_NO_DAQ},
        {"help", 0, NULL, O_HELP},
        {"version", 0, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *out = NULL, *token = NULL, *source = NULL;
    long long run = 1, first = 1, spills = 10, batch = 1000;
    unsigned long long seed = 1;       /* fixed by default: runs are reproducible */
    unsigned long long conditions = 0; /* --conditions: 0 = the nominal run */
    double momentum = 160;             /* GeV/c, M2 muon beam setting: S1 [V] */
    int forever = 0, spills_given = 0, realtime = 0, columns = 1, quiet = 0, verbose = 0, daq_sources = 1;
    struct sim_params params = {.scale = 1.0, .spill_length = 4.8}; /* 4.8 s: docs/physics.md S5 [V] */
    double mot_goal = 0; /* --mot-goal: written to run_start.meta.mot_goal */
    double cycle = 16.8; /* SPS supercycle, North Area alone 14.4-16.8 s: docs/physics.md [R] */
    struct fault_at faults[MAX_FAULTS];
    int nfaults = 0, c, li = 0;
    char *end;
    opterr = 0;
#define NUMBER(var, conv, cond, what)                                                                  \
    do {                                                                                               \
        errno = 0;                                                                                     \
        var = conv(optarg, &end);                                                                      \
        if (!*optarg || *end || errno || !(cond)) {                                                    \
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
            spills_given = 1;
            break;
        case O_FOREVER:
            forever = 1;
            break;
        case O_SCALE:
            NUMBER(params.scale, strtod, params.scale > 0 && params.scale <= 100, "must be in (0, 100]");
            break;
        case O_FAULT: {
            int e = nfaults == MAX_FAULTS ? -3 : parse_fault(optarg, &faults[nfaults]);
            if (e == -2)
                fprintf(stderr, "spillwatch-collect sim: --fault \"%s\": unknown fault; known: %s\n", optarg,
                        sim_fault_list);
            else if (e == -3)
                fprintf(stderr, "spillwatch-collect sim: --fault: at most %d\n", MAX_FAULTS);
            else if (e != 0)
                fprintf(stderr,
                        "spillwatch-collect sim: --fault \"%s\": expected NAME@SPILL or NAME@A-B (A <= B)\n",
                        optarg);
            if (e != 0)
                return 2;
            nfaults++;
            break;
        }
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
                fprintf(stderr, "spillwatch-collect sim: --format \"%s\": rows or columns\n", optarg);
                return 2;
            }
            columns = strcmp(optarg, "columns") == 0;
            break;
        case O_BATCH:
            NUMBER(batch, STRTOLL, batch >= 1 && batch <= 1000000, "must be within [1, 1000000]");
            break;
        case O_SEED:
            NUMBER(seed, STRTOULL, optarg[0] != '-', "must be an integer >= 0");
            break;
        case O_SOURCE:
            source = optarg;
            break;
        case O_QUIET:
            quiet = 1;
            break;
        case O_VERBOSE:
            verbose = 1;
            break;
        case O_MOT_GOAL:
            NUMBER(mot_goal, strtod, mot_goal > 0 && mot_goal < 1e18, "must be a number of muons > 0");
            break;
        case O_CONDITIONS:
            NUMBER(conditions, STRTOULL, optarg[0] != '-' && conditions >= 1 && conditions <= 1ull << 53,
                   "must be an integer within [1, 2^53]");
            break;
        case O_MOMENTUM:
            NUMBER(momentum, strtod, momentum >= 20 && momentum <= 400, "must be within [20, 400] GeV/c");
            break;
        case O_NO_DAQ:
            daq_sources = 0;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        case O_VERSION:
            printf("spillwatch-collect %s\n", SW_VERSION);
            return 0;
        default:
            if (optopt >= O_URL)
                fprintf(stderr, "spillwatch-collect sim: option \"%s\" needs a value\n", argv[optind - 1]);
            else
                fprintf(stderr, "spillwatch-collect sim: unknown option \"%s\" (see --help)\n",
                        argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spillwatch-collect sim: unexpected argument \"%s\" (see --help)\n", argv[optind]);
        return 2;
    }
    if (!!url == !!out) {
        fprintf(stderr, "spillwatch-collect sim: exactly one of --url and --out is required\n");
        return 2;
    }
    if (forever && spills_given) {
        fprintf(stderr, "spillwatch-collect sim: --spills and --forever exclude each other\n");
        return 2;
    }
    if (realtime && params.spill_length > cycle) {
        fprintf(stderr, "spillwatch-collect sim: --spill-length must not exceed --cycle\n");
        return 2;
    }
    if (source && !poster_source_ok(source)) {
        fprintf(stderr, "spillwatch-collect sim: --source \"%s\": 1 to 100 characters of [A-Za-z0-9._-]\n",
                source);
        return 2;
    }
    char src[128];
    if (source)
        snprintf(src, sizeof src, "%s", source);
    else
        snprintf(src, sizeof src, "sim-run%lld", run); /* a restart of the same run resumes */
    if (seed == 0)
        seed = (unsigned long long)time(NULL);
    params.seed = seed;
    if (conditions)
        sim_conditions_draw(&params.cond, conditions, momentum);
    else
        sim_conditions_nominal(&params.cond, momentum);

    FILE *outf = NULL;
    if (out)
        outf = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
    if (out && !outf) {
        fprintf(stderr, "spillwatch-collect sim: --out \"%s\": %s\n", out, strerror(errno));
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed pipe or socket is an error to report, not a death */

    int rc = 1;
    struct sim_buf b = {0}, scratch = {0};
    char *run_start = NULL;
    /* A simulator has no state directory: each run of it is a collector instance of its own, which
     * gives its source up when it ends (a killed one holds it for the server's source_lease). */
    char instance[POSTER_INSTANCE_LEN + 1] = "";
    struct poster_opts po = {.url = url,
                             .out = outf,
                             .token = token,
                             .source = src,
                             .instance = instance,
                             .retry_forever = forever,
                             .verbose = verbose};
    struct poster *p = poster_make_instance(instance) == 0 ? poster_new(&po) : NULL;
    if (!p) {
        fprintf(stderr, "spillwatch-collect sim: cannot set up the HTTP client\n");
        goto out;
    }
    poster_set_stop_flag(p, &stop_requested);
    struct poster_mark mark;
    if (poster_resume(p, &mark) != 0)
        goto out;
    /* A restart of a run this source already sent skips what the server committed. The skipped spills
     * are still drawn, so the random stream, and with it every later spill, is what an uninterrupted
     * run would have sent. */
    int64_t done_through = mark.run == run ? mark.spill : -1;
    if (done_through >= first)
        fprintf(stderr, "sim: run %lld: the server has spills up to %lld from source %s; going on after it\n",
                run, (long long)done_through, src);
    struct sim_rng rng;
    sim_rng_seed(&rng, seed);

    double t0 = now_s();
    if (mark.run != run) { /* travels with the first spill's first batch, or with run_end */
        run_start =
            run_start_line(run, t0, seed, params.scale, columns, faults, nfaults, mot_goal, &params.cond);
        if (!run_start) {
            fprintf(stderr, "spillwatch-collect sim: out of memory\n");
            goto out;
        }
    }
    int64_t live = 0; /* spills sent, for the realtime schedule */
    char fault_text[200] = "";
    for (long long k = 0; forever || k < spills; k++) {
        if (stop_requested)
            break;
        int64_t spill = first + k;
        unsigned fl = 0;
        for (int i = 0; i < nfaults; i++)
            if (spill >= faults[i].first && spill <= faults[i].last)
                fl |= faults[i].fault;
        struct sim_spill sp;
        if (spill <= done_through) {
            sim_spill_begin(&rng, &params, &sp, run, spill, fl);
            while (sim_events(&rng, &sp, &scratch, batch, columns) > 0)
                sim_buf_clear(&scratch);
            continue;
        }
        if (realtime) {
            sleep_until(t0 + (double)live * cycle);
            if (stop_requested) /* between spills: just stop */
                break;
        }
        live++;
        sim_spill_begin(&rng, &params, &sp, run, spill, fl);
        double t_start = now_s();
        if (run_start) {
            sim_buf_printf(&b, "%s", run_start);
            free(run_start);
            run_start = NULL;
        }
        sim_buf_printf(&b, "{\"type\":\"spill_start\",\"run\":%lld,\"spill\":%lld,\"time\":%.3f}\n", run,
                       (long long)spill, t_start);
        /* Batches spread evenly over the spill; the last one travels with spill_end, so the batch that
         * carries spill_end ends the spill's POSTs and one POST never mixes two spills. After a stop
         * request the rest of the spill goes out at once, then its spill_end. */
        int64_t nbatches = (sp.recorded + batch - 1) / batch, made = 0;
        while (made < nbatches && sim_events(&rng, &sp, &b, batch, columns) > 0) {
            made++;
            if (made == nbatches)
                break;
            if (realtime)
                sleep_until(t_start + sp.duration * (double)made / (double)nbatches);
            if (sim_send(p, &b, 0) != 0)
                goto out;
            sim_buf_clear(&b);
        }
        if (realtime)
            sleep_until(t_start + sp.duration);
        sim_spill_end(&sp, &b, realtime && !stop_requested ? t_start + sp.duration : now_s(), daq_sources);
        if (sim_send(p, &b, 1) != 0)
            goto out;
        sim_buf_clear(&b);
        if (!quiet) {
            sim_fault_names(fl, fault_text, sizeof fault_text);
            fprintf(stderr, "sim: run %lld spill %lld sent %lld events, mot %lld%s%s\n", run,
                    (long long)spill, (long long)sp.recorded, (long long)sp.mot, fl ? ", faults: " : "",
                    fault_text);
        }
    }
    if (run_start) /* stopped before the first spill */
        sim_buf_printf(&b, "%s", run_start);
    sim_buf_printf(&b, "{\"type\":\"run_end\",\"run\":%lld,\"time\":%.3f}\n", run, now_s());
    if (sim_send(p, &b, 1) != 0)
        goto out;
    rc = 0;
    poster_release(p);
    if (poster_late(p))
        fprintf(stderr, "sim: %llu batches were refused as late\n", (unsigned long long)poster_late(p));
out:
    free(run_start);
    poster_free(p);
    sim_buf_release(&b);
    sim_buf_release(&scratch);
    if (outf && outf != stdout) {
        if (fclose(outf) != 0 && rc == 0) {
            perror("spillwatch-collect sim: --out");
            rc = 1;
        }
    } else if (outf && fflush(outf) != 0 && rc == 0) {
        perror("spillwatch-collect sim: stdout");
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
        printf("spillwatch-collect %s\n", SW_VERSION);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(
            f, "usage: spillwatch-collect sim|file|stdin [options]   (spillwatch-collect SUBCOMMAND --help)\n"
               "  sim        simulate NA64mu spills\n"
               "  file PATH  follow a growing NDJSON file like tail -F\n"
               "  stdin      read NDJSON from a pipe\n\n");
        usage(f);
        return argc < 2 ? 2 : 0;
    }
    int sim = !strcmp(argv[1], "sim"), file = !strcmp(argv[1], "file"), in = !strcmp(argv[1], "stdin");
    if (!sim && !file && !in) {
        fprintf(stderr, "spillwatch-collect: unknown subcommand \"%s\" (available: sim, file, stdin)\n",
                argv[1]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = sim ? cmd_sim(argc - 1, argv + 1) : cmd_tail(argc - 1, argv + 1, in);
    curl_global_cleanup();
    return rc;
}
