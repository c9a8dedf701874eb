/* col_sim_cmd.c — see col_sim_cmd.h */
#include "col_sim_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "col_cli.h"
#include "post.h"
#include "sim.h"

#define MAX_FAULTS 64
#define W          22 /* --help: the width of the option column */

struct fault_at {
    unsigned fault;
    int64_t first, last;
};

/* The command line of `sim`. */
struct sim_opts {
    const char *url, *out, *token, *source;
    const char *urls[COL_URLS_MAX]; /* every --url (nurls), url the first */
    int nurls;
    long long run, first, spills, batch;
    unsigned long long seed;       /* 0 = from the clock */
    unsigned long long conditions; /* --conditions: 0 = the nominal run */
    double momentum;               /* GeV/c */
    int forever, spills_given, realtime, columns, quiet, verbose, daq_sources;
    struct sim_params params;
    double mot_goal; /* --mot-goal: written to run_start.meta.mot_goal; 0: none */
    double cycle;    /* s, --realtime */
    struct fault_at faults[MAX_FAULTS];
    int nfaults;
};

void col_sim_usage(FILE *f)
{
    fprintf(f,
            "usage: spillwatch-collect sim (--url URL | --out FILE) [options]\n"
            "\n"
            "Simulates NA64mu spills (160 GeV/c muons, 4.8 s spills) and sends them to a spillwatch server.\n"
            "\n");
    col_usage_url(f, W);
    col_usage_option(f, W, "--out FILE", "write the NDJSON to FILE instead ('-' = stdout)");
    col_usage_token(f, W, "");
    fprintf(f,
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
            "  --no-daq-sources       no daq_sources in spill_end (a DAQ without integrity counts)\n",
            sim_fault_list);
    col_usage_source(f, W, "sim-run<N>");
    fprintf(f, "  --quiet                no per-spill lines\n"
               "  --verbose              debug lines (duplicates, retries, replays)\n"
               "  --help, --version\n"
               "\n");
    col_usage_exit(f, "", " (server refused or unreachable)");
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

static void sleep_until(volatile sig_atomic_t *stop, double t)
{
    while (!*stop) {
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

/* Parses and checks the options into *o. Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct sim_opts *o)
{
    enum {
        O_OUT = COL_O_NEXT,
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
        O_MOT_GOAL,
        O_CONDITIONS,
        O_MOMENTUM,
        O_NO_DAQ,
        O_VERSION
    };
    static const struct option opts[] = {
        COL_COMMON_OPTIONS,
        {"out", 1, NULL, O_OUT},
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
        {"mot-goal", 1, NULL, O_MOT_GOAL},
        {"conditions", 1, NULL, O_CONDITIONS},
        {"momentum", 1, NULL, O_MOMENTUM},
        {"no-daq-sources", 0, NULL, O_NO_DAQ},
        {"version", 0, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct col_common co = {0};
    struct sim_params *params = &o->params;
    int c, li = 0;
    opterr = 0;
    /* A number in an option value; cond decides whether it is acceptable, what says what is. */
#define NUMBER(parse, var, cond, what)                              \
    do {                                                            \
        if (parse(optarg, &(var)) != 0 || !(cond))                  \
            return col_bad_arg("sim", opts[li].name, optarg, what); \
    } while (0)
    while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
        if (col_common_opt(&co, c, optarg))
            continue;
        switch (c) {
        case O_OUT:
            o->out = optarg;
            break;
        case O_RUN:
            NUMBER(col_arg_ll, o->run, o->run >= 0, "must be an integer >= 0");
            break;
        case O_FIRST:
            NUMBER(col_arg_ll, o->first, o->first >= 0, "must be an integer >= 0");
            break;
        case O_SPILLS:
            NUMBER(col_arg_ll, o->spills, o->spills >= 1, "must be an integer >= 1");
            o->spills_given = 1;
            break;
        case O_FOREVER:
            o->forever = 1;
            break;
        case O_SCALE:
            NUMBER(col_arg_double, params->scale, params->scale > 0 && params->scale <= 100,
                   "must be in (0, 100]");
            break;
        case O_FAULT: {
            int e = o->nfaults == MAX_FAULTS ? -3 : parse_fault(optarg, &o->faults[o->nfaults]);
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
                return COL_EXIT_USAGE;
            o->nfaults++;
            break;
        }
        case O_REALTIME:
            o->realtime = 1;
            break;
        case O_FAST:
            o->realtime = 0;
            break;
        case O_CYCLE:
            NUMBER(col_arg_double, o->cycle, o->cycle >= 1 && o->cycle <= 3600, "must be within [1, 3600] s");
            break;
        case O_LENGTH:
            NUMBER(col_arg_double, params->spill_length,
                   params->spill_length >= 0.1 && params->spill_length <= 60, "must be within [0.1, 60] s");
            break;
        case O_FORMAT:
            if (strcmp(optarg, "rows") && strcmp(optarg, "columns")) {
                fprintf(stderr, "spillwatch-collect sim: --format \"%s\": rows or columns\n", optarg);
                return COL_EXIT_USAGE;
            }
            o->columns = strcmp(optarg, "columns") == 0;
            break;
        case O_BATCH:
            NUMBER(col_arg_ll, o->batch, o->batch >= 1 && o->batch <= 1000000, "must be within [1, 1000000]");
            break;
        case O_SEED:
            NUMBER(col_arg_ull, o->seed, optarg[0] != '-', "must be an integer >= 0");
            break;
        case O_MOT_GOAL:
            NUMBER(col_arg_double, o->mot_goal, o->mot_goal > 0 && o->mot_goal < 1e18,
                   "must be a number of muons > 0");
            break;
        case O_CONDITIONS:
            NUMBER(col_arg_ull, o->conditions,
                   optarg[0] != '-' && o->conditions >= 1 && o->conditions <= 1ull << 53,
                   "must be an integer within [1, 2^53]");
            break;
        case O_MOMENTUM:
            NUMBER(col_arg_double, o->momentum, o->momentum >= 20 && o->momentum <= 400,
                   "must be within [20, 400] GeV/c");
            break;
        case O_NO_DAQ:
            o->daq_sources = 0;
            break;
        case COL_O_HELP:
            col_sim_usage(stdout);
            return COL_EXIT_OK;
        case O_VERSION:
            printf("spillwatch-collect %s\n", SW_VERSION);
            return COL_EXIT_OK;
        default:
            return col_opt_error("sim", argv);
        }
    }
#undef NUMBER
    o->url = co.url;
    memcpy(o->urls, co.urls, sizeof o->urls);
    o->nurls = co.nurls;
    o->token = co.token;
    o->source = co.source;
    o->quiet = co.quiet;
    o->verbose = co.verbose;
    int e = col_no_more_args("sim", argc, argv);
    if (e)
        return e;
    if (!!o->url == !!o->out) {
        fprintf(stderr, "spillwatch-collect sim: exactly one of --url and --out is required\n");
        return COL_EXIT_USAGE;
    }
    if (o->forever && o->spills_given) {
        fprintf(stderr, "spillwatch-collect sim: --spills and --forever exclude each other\n");
        return COL_EXIT_USAGE;
    }
    if (o->realtime && params->spill_length > o->cycle) {
        fprintf(stderr, "spillwatch-collect sim: --spill-length must not exceed --cycle\n");
        return COL_EXIT_USAGE;
    }
    if (o->source && (e = col_source_check("sim", o->source)))
        return e;
    return -1;
}

/* Sends the run: run_start, the spills, run_end, through a poster to the server or into outf.
 * Returns the exit status. */
static int simulate(struct sim_opts *o, FILE *outf, const char *src, volatile sig_atomic_t *stop)
{
    int rc = COL_EXIT_FAIL;
    struct sim_buf b = {0}, scratch = {0};
    char *run_start = NULL;
    /* A simulator has no state directory: each run of it is a collector instance of its own, which
     * gives its source up when it ends (a killed one holds it for the server's source_lease). */
    char instance[POSTER_INSTANCE_LEN + 1] = "";
    struct poster_opts po = {.url = o->url,
                             .urls = o->urls,
                             .nurls = o->nurls,
                             .out = outf,
                             .token = o->token,
                             .source = src,
                             .instance = instance,
                             .retry_forever = o->forever,
                             .verbose = o->verbose};
    struct poster *p = poster_make_instance(instance) == 0 ? poster_new(&po) : NULL;
    if (!p) {
        fprintf(stderr, "spillwatch-collect sim: cannot set up the HTTP client\n");
        goto done;
    }
    poster_set_stop_flag(p, stop);
    struct poster_mark mark;
    if (poster_resume(p, &mark) != 0)
        goto done;
    /* A restart of a run this source already sent skips what the server committed. The skipped spills
     * are still drawn, so the random stream, and with it every later spill, is what an uninterrupted
     * run would have sent. */
    int64_t done_through = mark.run == o->run ? mark.spill : -1;
    if (done_through >= o->first)
        fprintf(stderr, "sim: run %lld: the server has spills up to %lld from source %s; going on after it\n",
                o->run, (long long)done_through, src);
    struct sim_rng rng;
    sim_rng_seed(&rng, o->seed);

    double t0 = now_s();
    if (mark.run != o->run) { /* travels with the first spill's first batch, or with run_end */
        run_start = run_start_line(o->run, t0, o->seed, o->params.scale, o->columns, o->faults, o->nfaults,
                                   o->mot_goal, &o->params.cond);
        if (!run_start) {
            fprintf(stderr, "spillwatch-collect sim: out of memory\n");
            goto done;
        }
    }
    int64_t live = 0; /* spills sent, for the realtime schedule */
    char fault_text[200] = "";
    for (long long k = 0; o->forever || k < o->spills; k++) {
        if (*stop)
            break;
        int64_t spill = o->first + k;
        unsigned fl = 0;
        for (int i = 0; i < o->nfaults; i++)
            if (spill >= o->faults[i].first && spill <= o->faults[i].last)
                fl |= o->faults[i].fault;
        struct sim_spill sp;
        if (spill <= done_through) {
            sim_spill_begin(&rng, &o->params, &sp, o->run, spill, fl);
            while (sim_events(&rng, &sp, &scratch, o->batch, o->columns) > 0)
                sim_buf_clear(&scratch);
            continue;
        }
        if (o->realtime) {
            sleep_until(stop, t0 + (double)live * o->cycle);
            if (*stop) /* between spills: just stop */
                break;
        }
        live++;
        sim_spill_begin(&rng, &o->params, &sp, o->run, spill, fl);
        double t_start = now_s();
        if (run_start) {
            sim_buf_printf(&b, "%s", run_start);
            free(run_start);
            run_start = NULL;
        }
        sim_buf_printf(&b, "{\"type\":\"spill_start\",\"run\":%lld,\"spill\":%lld,\"time\":%.3f}\n", o->run,
                       (long long)spill, t_start);
        /* Batches spread evenly over the spill; the last one travels with spill_end, so the batch that
         * carries spill_end ends the spill's POSTs and one POST never mixes two spills. After a stop
         * request the rest of the spill goes out at once, then its spill_end. */
        int64_t nbatches = (sp.recorded + o->batch - 1) / o->batch, made = 0;
        while (made < nbatches && sim_events(&rng, &sp, &b, o->batch, o->columns) > 0) {
            made++;
            if (made == nbatches)
                break;
            if (o->realtime)
                sleep_until(stop, t_start + sp.duration * (double)made / (double)nbatches);
            if (sim_send(p, &b, 0) != 0)
                goto done;
            sim_buf_clear(&b);
        }
        if (o->realtime)
            sleep_until(stop, t_start + sp.duration);
        sim_spill_end(&sp, &b, o->realtime && !*stop ? t_start + sp.duration : now_s(), o->daq_sources);
        if (sim_send(p, &b, 1) != 0)
            goto done;
        sim_buf_clear(&b);
        if (!o->quiet) {
            sim_fault_names(fl, fault_text, sizeof fault_text);
            fprintf(stderr, "sim: run %lld spill %lld sent %lld events, mot %lld%s%s\n", o->run,
                    (long long)spill, (long long)sp.recorded, (long long)sp.mot, fl ? ", faults: " : "",
                    fault_text);
        }
    }
    if (run_start) /* stopped before the first spill */
        sim_buf_printf(&b, "%s", run_start);
    sim_buf_printf(&b, "{\"type\":\"run_end\",\"run\":%lld,\"time\":%.3f}\n", o->run, now_s());
    if (sim_send(p, &b, 1) != 0)
        goto done;
    rc = COL_EXIT_OK;
    poster_release(p);
    if (poster_late(p))
        fprintf(stderr, "sim: %llu batches were refused as late\n", (unsigned long long)poster_late(p));
done:
    free(run_start);
    poster_free(p);
    sim_buf_release(&b);
    sim_buf_release(&scratch);
    return rc;
}

int col_sim_cmd(int argc, char **argv)
{
    struct sim_opts o = {.run = 1,
                         .first = 1,
                         .spills = 10,
                         .batch = 1000,
                         .seed = 1,       /* fixed by default: runs are reproducible */
                         .momentum = 160, /* GeV/c, M2 muon beam setting: S1 [V] */
                         .columns = 1,
                         .daq_sources = 1,
                         .params = {.scale = 1.0, .spill_length = 4.8}, /* 4.8 s: docs/physics.md S5 [V] */
                         .cycle =
                             16.8}; /* SPS supercycle, North Area alone 14.4-16.8 s: docs/physics.md [R] */
    int e = parse(argc, argv, &o);
    if (e >= 0)
        return e;
    char src[128];
    if (o.source)
        snprintf(src, sizeof src, "%s", o.source);
    else
        snprintf(src, sizeof src, "sim-run%lld", o.run); /* a restart of the same run resumes */
    if (o.seed == 0)
        o.seed = (unsigned long long)time(NULL);
    o.params.seed = o.seed;
    if (o.conditions)
        sim_conditions_draw(&o.params.cond, o.conditions, o.momentum);
    else
        sim_conditions_nominal(&o.params.cond, o.momentum);

    FILE *outf = NULL;
    if (o.out)
        outf = strcmp(o.out, "-") == 0 ? stdout : fopen(o.out, "w");
    if (o.out && !outf) {
        fprintf(stderr, "spillwatch-collect sim: --out \"%s\": %s\n", o.out, strerror(errno));
        return COL_EXIT_FAIL;
    }
    int rc = simulate(&o, outf, src, col_catch_signals());
    if (outf && outf != stdout) {
        if (fclose(outf) != 0 && rc == COL_EXIT_OK) {
            perror("spillwatch-collect sim: --out");
            rc = COL_EXIT_FAIL;
        }
    } else if (outf && fflush(outf) != 0 && rc == COL_EXIT_OK) {
        perror("spillwatch-collect sim: stdout");
        rc = COL_EXIT_FAIL;
    }
    return rc;
}
