/* Unit tests of the alarm state machine (server/alarms.c, with silence.c and alarm_store.c):
 * `for` (pending before firing, a false spill resets), `for_seconds` of a live rule, hysteresis
 * (recover_above), latch and reset, acknowledgement (no repeats while acknowledged, escalation goes
 * on) and its expiry, silences muting firing notices and repeats (the held-back notice goes out when
 * the silence ends), and the states restored from the store at start-up.
 *
 * Time: advance() moves both clocks forward through the test-only sw_clock_offset (clock.h); the
 * timer's work (live rules, expiries, escalations, repeats) is then one tick() with a sample taken
 * from the clocks, as the server's timer thread takes it.
 * Notices: this file defines sw_hooks_notify and sw_hooks_held, which the linker then takes instead
 * of hooks.c's (no thread, no network): every notice, and every notice a silence held back (status
 * "held"), is recorded here. A real store in a temporary directory keeps
 * the transitions. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alarms.h"
#include "check.h"
#include "clock.h"
#include "err.h"
#include "hooks.h"
#include "store.h"

/* ---- notices ---- */

#define MAX_NOTICES 256
static struct {
    char alarm[SW_NAME_MAX], status[16];
    int hook;
} notices[MAX_NOTICES];
static int nnotices;

void sw_hooks_notify(struct sw_hooks *h, int hook, const struct sw_notice *n)
{
    (void)h;
    if (nnotices == MAX_NOTICES)
        return;
    snprintf(notices[nnotices].alarm, sizeof notices[nnotices].alarm, "%s", n->alarm);
    snprintf(notices[nnotices].status, sizeof notices[nnotices].status, "%s", n->status);
    notices[nnotices].hook = hook;
    nnotices++;
}

void sw_hooks_held(struct sw_hooks *h, int hook, const struct sw_notice *n)
{
    struct sw_notice held = *n;
    snprintf(held.status, sizeof held.status, "held");
    sw_hooks_notify(h, hook, &held);
}

/* Notices of alarm with status (NULL: any) to hook (-1: any) since the last take(). */
static int mark;
static int count(const char *alarm, const char *status, int hook)
{
    int n = 0;
    for (int i = mark; i < nnotices; i++)
        n += !strcmp(notices[i].alarm, alarm) && (!status || !strcmp(notices[i].status, status)) &&
             (hook < 0 || notices[i].hook == hook);
    return n;
}
static void take(void)
{
    mark = nnotices;
}

/* ---- the rules ---- */

/* Hooks: 0 "shift" repeats every 100 s; 1 "pager" (exec, /bin/true: never run here). */
static const char *profile_json =
    "{\"name\":\"t\",\"version\":\"v1\",\"fields\":{\"x\":1},"
    "\"histograms\":[{\"name\":\"x\",\"x\":{\"source\":\"x\",\"bins\":10,\"min\":0,\"max\":10}}],"
    "\"checks\":[],"
    "\"hooks\":[{\"name\":\"shift\",\"type\":\"exec\",\"command\":[\"/bin/true\"],\"repeat_interval\":100},"
    "{\"name\":\"pager\",\"type\":\"exec\",\"command\":[\"/bin/true\"]}],"
    "\"alarms\":["
    /* dead time above 0.3 for 3 spills, resolves below 0.2 */
    "{\"name\":\"dt\",\"severity\":\"warning\",\"summary\":\"s\",\"labels\":{\"category\":\"daq\"},"
    "\"quantity\":{\"spill\":\"dead_time\"},\"above\":0.3,\"recover_above\":0.2,\"for\":3,"
    "\"requires_beam\":false,\"hooks\":[\"shift\",{\"hook\":\"pager\",\"after\":600}]},"
    /* latched, at once */
    "{\"name\":\"lat\",\"severity\":\"critical\",\"summary\":\"s\",\"quantity\":{\"spill\":\"dead_time\"},"
    "\"above\":0.9,\"latched\":true,\"requires_beam\":false,\"hooks\":[\"shift\"]},"
    /* no data for 60 s, held 10 s */
    "{\"name\":\"stall\",\"severity\":\"critical\",\"summary\":\"s\",\"live\":\"seconds_since_data\","
    "\"above\":60,\"for_seconds\":10,\"requires_beam\":false,\"hooks\":[\"shift\"]}"
    "]}";

static struct sw_alarms *alarms;

/* One closed spill with this dead time. */
static void spill(double dead_time)
{
    static int64_t n;
    struct sw_quality_input in = {.duration = 5, .dead_time = dead_time, .decode_errors = 0, .events = 1};
    sw_alarms_spill(alarms, NULL, &in, SW_GOOD, NULL, 1, ++n, 1);
}

/* The rule's entry in sw_alarms_json (a new reference), or NULL. */
static json_t *rule(const char *name)
{
    json_t *all = sw_alarms_json(alarms), *one = NULL, *r;
    size_t i;
    json_array_foreach(json_object_get(all, "alarms"), i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "name")), name))
            one = json_incref(r);
    }
    json_decref(all);
    return one;
}

static char state_buf[32];
static const char *state(const char *name)
{
    json_t *r = rule(name);
    snprintf(state_buf, sizeof state_buf, "%s", r ? json_string_value(json_object_get(r, "state")) : "?");
    json_decref(r);
    return state_buf;
}

static int64_t silenced_by(const char *name)
{
    json_t *r = rule(name);
    int64_t id = r ? json_integer_value(json_object_get(r, "silenced_by")) : -1;
    json_decref(r);
    return id;
}

static void advance(double seconds)
{
    atomic_store(&sw_clock_offset, atomic_load(&sw_clock_offset) + seconds); /* this thread only writes */
}

/* One timer tick now; data last seen `quiet` s ago during a run (quiet NaN: no run going on). */
static void tick(double quiet)
{
    double now = sw_wall();
    struct sw_live l = {.now = now,
                        .mono = sw_mono(),
                        .last_data = isnan(quiet) ? NAN : now - quiet,
                        .run_active = !isnan(quiet),
                        .beam = 1,
                        .run = 1,
                        .spill = 1};
    sw_alarms_tick(alarms, &l);
}

/* ---- the tests ---- */

/* `for`: pending for the first spills, firing at the third in a row; a false spill resets. */
static void test_for(void)
{
    take();
    spill(0.5);
    CHECK_STR(state("dt"), "pending");
    spill(0.5);
    CHECK_STR(state("dt"), "pending");
    spill(0.1); /* condition false: the count starts again */
    CHECK_STR(state("dt"), "inactive");
    spill(0.5);
    spill(0.5);
    CHECK_STR(state("dt"), "pending");
    CHECK_INT(count("dt", NULL, -1), 0); /* nothing is said while pending */
    spill(0.5);
    CHECK_STR(state("dt"), "firing");
    CHECK_INT(count("dt", "firing", 0), 1); /* shift at once */
    CHECK_INT(count("dt", "firing", 1), 0); /* pager only after 600 s */
}

/* Hysteresis: below `above` but not below `recover_above` stays firing; below it resolves, and the
 * hooks told of the firing hear of the end. */
static void test_hysteresis(void)
{
    take();
    spill(0.25);
    CHECK_STR(state("dt"), "firing");
    spill(0.3); /* not above: still not recovered */
    CHECK_STR(state("dt"), "firing");
    spill(0.15);
    CHECK_STR(state("dt"), "resolved");
    CHECK_INT(count("dt", "resolved", 0), 1);
    CHECK_INT(count("dt", "resolved", 1), 0); /* pager never heard of it */
    spill(0.5);                               /* resolved -> pending again: `for` counts from zero */
    CHECK_STR(state("dt"), "pending");
    spill(0.1);
}

/* Latch: stays firing after the value recovers until a shifter resets it. */
static void test_latch(void)
{
    char err[300];
    take();
    spill(0.95);
    CHECK_STR(state("lat"), "firing");
    CHECK_INT(count("lat", "firing", 0), 1);
    spill(0.1);
    spill(0.1);
    CHECK_STR(state("lat"), "firing");
    CHECK_INT(count("lat", "resolved", -1), 0);
    CHECK_INT(sw_alarms_reset(alarms, "dt", "tok", NULL, NULL, err, sizeof err),
              SW_ECONFLICT); /* not firing */
    CHECK_INT(sw_alarms_reset(alarms, "nope", "tok", NULL, NULL, err, sizeof err), SW_ENOTFOUND);
    CHECK_INT(sw_alarms_reset(alarms, "lat", "tok", "Ann", "checked", err, sizeof err), 0);
    CHECK_STR(state("lat"), "resolved");
    CHECK_INT(count("lat", "resolved", 0), 1);
    CHECK_INT(sw_alarms_reset(alarms, "lat", "tok", NULL, NULL, err, sizeof err), SW_ECONFLICT);

    /* A rule that is not latched cannot be reset. */
    for (int i = 0; i < 3; i++)
        spill(0.5);
    CHECK_STR(state("dt"), "firing");
    CHECK_INT(sw_alarms_reset(alarms, "dt", "tok", NULL, NULL, err, sizeof err), SW_ECONFLICT);
    CHECK_STR(state("dt"), "firing");
    spill(0.1);
    CHECK_STR(state("dt"), "resolved");
}

/* Acknowledgement: no repeats while acknowledged, the escalation still goes out; when it expires the
 * alarm fires again and repeats resume. */
static void test_ack(void)
{
    char err[300];
    take();
    CHECK_INT(sw_alarms_ack(alarms, "dt", "tok", NULL, NULL, 0, err, sizeof err),
              SW_ECONFLICT); /* resolved */
    for (int i = 0; i < 3; i++)
        spill(0.5);
    CHECK_STR(state("dt"), "firing");
    CHECK_INT(count("dt", "firing", 0), 1);
    advance(50);
    tick(NAN);
    CHECK_INT(count("dt", "firing", 0), 1); /* not yet */
    advance(51);
    tick(NAN); /* 101 s: repeat_interval passed, a repeat */
    CHECK_INT(count("dt", "firing", 0), 2);

    CHECK_INT(sw_alarms_ack(alarms, "dt", "tok", "Ann", "on it", sw_wall() + 60, err, sizeof err), 0);
    CHECK_STR(state("dt"), "acknowledged");
    json_t *r = rule("dt");
    CHECK_STR(json_string_value(json_object_get(json_object_get(r, "acknowledged"), "by")), "Ann");
    json_decref(r);
    advance(59);
    tick(NAN); /* a repeat would be due (160 s): none while acknowledged */
    CHECK_INT(count("dt", "firing", 0), 2);
    CHECK_STR(state("dt"), "acknowledged");
    advance(2);
    tick(NAN); /* 61 s: expired, firing again */
    CHECK_STR(state("dt"), "firing");
    CHECK_INT(count("dt", "firing", 0), 2); /* the last repeat was 61 s ago */
    advance(40);
    tick(NAN); /* repeats resume */
    CHECK_INT(count("dt", "firing", 0), 3);

    /* The escalation to the pager (after 600 s of firing) is not stopped by an acknowledgement. */
    CHECK_INT(count("dt", "firing", 1), 0);
    CHECK_INT(sw_alarms_ack(alarms, "dt", "tok", NULL, NULL, 0, err, sizeof err), 0); /* no expiry */
    advance(400);
    tick(NAN); /* 602 s of firing */
    CHECK_INT(count("dt", "firing", 1), 1);
    CHECK_INT(count("dt", "firing", 0), 3);
    CHECK_STR(state("dt"), "acknowledged");

    /* An acknowledgement covers one episode. */
    spill(0.1);
    CHECK_STR(state("dt"), "resolved");
    CHECK_INT(count("dt", "resolved", 0), 1);
    CHECK_INT(count("dt", "resolved", 1), 1); /* the pager was told of the firing */
    for (int i = 0; i < 3; i++)
        spill(0.5);
    CHECK_STR(state("dt"), "firing");
    spill(0.1);
}

/* for_seconds on a live rule: pending until the condition held 10 s without a break. */
static void test_for_seconds(void)
{
    take();
    tick(100);
    CHECK_STR(state("stall"), "pending");
    advance(5);
    tick(105);
    CHECK_STR(state("stall"), "pending");
    advance(1);
    tick(NAN); /* no run: not evaluable, the wait starts again */
    CHECK_STR(state("stall"), "inactive");
    advance(1);
    tick(107);
    advance(9);
    tick(116);
    CHECK_STR(state("stall"), "pending");
    CHECK_INT(count("stall", NULL, -1), 0);
    advance(1);
    tick(117);
    CHECK_STR(state("stall"), "firing");
    CHECK_INT(count("stall", "firing", 0), 1);
    advance(1);
    tick(0); /* data again: 0 s is below the threshold */
    CHECK_STR(state("stall"), "resolved");
    CHECK_INT(count("stall", "resolved", 0), 1);
}

/* Silences: a matching one mutes the firing notice and repeats; the notice goes out when it is
 * expired by hand, or when it ends; a silence that does not match mutes nothing. */
static void test_silences(void)
{
    double w = sw_wall();
    take();
    struct sw_silence other = {.id = 7, .starts_at = w - 1, .ends_at = w + 3600, .nmatchers = 2};
    strcpy(other.matchers[0][0], "alertname");
    strcpy(other.matchers[0][1], "dt");
    strcpy(other.matchers[1][0], "category");
    strcpy(other.matchers[1][1], "beam"); /* dt's category is daq */
    CHECK_INT(sw_alarms_silence_add(alarms, &other), 0);
    struct sw_silence s = {.id = 8, .starts_at = w - 1, .ends_at = w + 3600, .nmatchers = 1};
    strcpy(s.matchers[0][0], "category");
    strcpy(s.matchers[0][1], "daq");
    json_t *names = sw_alarms_silence_matches(alarms, &s);
    CHECK_INT(json_array_size(names), 1);
    CHECK_STR(json_string_value(json_array_get(names, 0)), "dt");
    json_decref(names);
    CHECK_INT(sw_alarms_silence_add(alarms, &s), 0);
    int counts[5], nsil;
    sw_alarms_counts(alarms, counts, &nsil);
    CHECK_INT(nsil, 2);

    for (int i = 0; i < 3; i++)
        spill(0.5);
    CHECK_STR(state("dt"), "firing");
    CHECK_INT(silenced_by("dt"), 8);
    CHECK_INT(count("dt", "firing", -1), 0); /* muted */
    CHECK_INT(count("dt", "held", 0), 1);    /* and logged as held back, once */
    advance(1);
    tick(NAN);
    CHECK_INT(count("dt", "firing", -1), 0);
    CHECK_INT(count("dt", "held", -1), 1);
    CHECK_INT(sw_alarms_silence_expire(alarms, 8), 0); /* held back: out at once */
    CHECK_INT(count("dt", "firing", 0), 1);
    CHECK_INT(silenced_by("dt"), 0);
    CHECK_INT(sw_alarms_silence_expire(alarms, 8), SW_ENOTFOUND);

    /* Muted repeats, and a silence that ends by time. */
    s.id = 9;
    s.starts_at = sw_wall() - 1;
    s.ends_at = sw_wall() + 150;
    CHECK_INT(sw_alarms_silence_add(alarms, &s), 0);
    advance(120);
    tick(NAN); /* a repeat is due, but muted (only a first notice is logged as held) */
    CHECK_INT(count("dt", "firing", 0), 1);
    CHECK_INT(count("dt", "held", -1), 1);
    advance(31);
    tick(NAN); /* the silence ended: the repeat goes out */
    CHECK_INT(count("dt", "firing", 0), 2);
    sw_alarms_counts(alarms, counts, &nsil);
    CHECK_INT(nsil, 1); /* 7 only */

    /* The resolved notice is never muted. */
    s.id = 10;
    s.starts_at = sw_wall() - 1;
    s.ends_at = sw_wall() + 3600;
    CHECK_INT(sw_alarms_silence_add(alarms, &s), 0);
    spill(0.1);
    CHECK_STR(state("dt"), "resolved");
    CHECK_INT(count("dt", "resolved", 0), 1);
    CHECK_INT(sw_alarms_silence_expire(alarms, 10), 0);
    CHECK_INT(sw_alarms_silence_expire(alarms, 7), 0);
}

int main(void)
{
    char dir[] = "/tmp/sw-test-alarms-XXXXXX", path[64], err[256];
    if (!mkdtemp(dir))
        return 2;
    snprintf(path, sizeof path, "%s/sw.db", dir);
    struct sw_store *store = sw_store_open(path, 1000, err, sizeof err);
    if (!store) {
        fprintf(stderr, "store: %s\n", err);
        return 2;
    }
    struct sw_profile value = {0};
    struct sw_diag d = {0};
    json_t *root = json_loads(profile_json, 0, NULL);
    if (!root || sw_profile_parse(&value, root, "test profile", &d) != 0) {
        for (int i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.msg[i]);
        return 2;
    }
    json_decref(root);
    sw_diag_release(&d);
    struct sw_profile *p = sw_profile_adopt(&value);
    static int fake_hooks; /* never dereferenced: sw_hooks_notify is this file's */
    alarms = sw_alarms_new(p, store, (struct sw_hooks *)&fake_hooks);
    CHECK(alarms != NULL);
    CHECK_STR(state("dt"), "inactive");

    test_for();
    test_hysteresis();
    test_latch();
    test_ack();
    test_for_seconds();
    test_silences();

    /* The states come back from the store: lat acknowledged with who took it, stall resolved, dt
     * (pending at the restart) inactive: a pending count is not kept. */
    spill(0.95);
    char e[300];
    CHECK_INT(sw_alarms_ack(alarms, "lat", "tok", "Bob", "seen", 0, e, sizeof e), 0);
    CHECK_INT(sw_store_sync(store), 0);
    sw_alarms_free(alarms);
    take();
    alarms = sw_alarms_new(p, store, (struct sw_hooks *)&fake_hooks);
    CHECK_STR(state("lat"), "acknowledged");
    CHECK_STR(state("dt"), "inactive");
    CHECK_STR(state("stall"), "resolved");
    json_t *r = rule("lat");
    CHECK_STR(json_string_value(json_object_get(json_object_get(r, "acknowledged"), "by")), "Bob");
    json_decref(r);
    sw_alarms_free(alarms);

    sw_profile_unref(p);
    sw_store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
