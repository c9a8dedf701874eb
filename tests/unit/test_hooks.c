/* Unit test of the hooks (server/hooks.c) with the delivery log (server/delivery_log.c) on a real
 * store: a webhook to a loopback port nobody listens on, and more notices than its queue holds.
 * Every notice must end exactly once in the log: dropped from the full queue (queue_full, the
 * oldest first) or, when the hooks stop, dropped after its last attempt ("(server stopping)");
 * every attempt is logged with consecutive attempt numbers, curl's error and the target without
 * the URL's path, query or credentials. The rows reach SQLite through the store's writer. */
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "delivery_log.h"
#include "hooks.h"
#include "log.h"
#include "store.h"

#define NOTICES 1100 /* the queue holds 1,000 */

/* A loopback port nobody listens on (bound, then closed). */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len))
        return 9;
    close(fd);
    return ntohs(a.sin_port);
}

static long long one(sw_sql *db, const char *sql)
{
    sw_stmt *st;
    long long v = -1;
    if (sw_sql_prepare(db, sql, -1, &st, NULL) == SW_SQL_OK && sw_sql_step(st) == SW_SQL_ROW)
        v = sw_sql_column_int64(st, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, sw_sql_errmsg(db));
    sw_sql_finalize(st);
    return v;
}

int main(void)
{
    char dir[] = "/tmp/sw-test-hooks-XXXXXX", path[64], err[256];
    if (!mkdtemp(dir))
        return 2;
    snprintf(path, sizeof path, "%s/sw.db", dir);
    sw_log_set_level(SW_LOG_ERROR + 1); /* thousands of failed attempts: not worth a line each */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sw_store *store = sw_store_open(path, 1000, err, sizeof err);
    struct sw_delivery_log *log = sw_delivery_log_new(store);
    if (!store || !log) {
        fprintf(stderr, "store: %s\n", err);
        return 2;
    }
    static struct sw_hook_def hook = {.name = "pager", .type = SW_HOOK_WEBHOOK, .timeout = 2};
    int port = dead_port();
    snprintf(hook.url, sizeof hook.url, "http://user:secret@127.0.0.1:%d/hooks/T0KEN?key=v", port);
    struct sw_profile p = {.hooks = &hook, .nhooks = 1};
    struct sw_hooks *h = sw_hooks_start(&p, "", log);
    CHECK(h != NULL);
    CHECK(sw_hooks_log(h) == log);
    for (int i = 0; i < NOTICES; i++) {
        struct sw_notice n = {.run = 7, .spill = i, .starts_at = 1000 + i, .value = 1, .threshold = 0.5};
        snprintf(n.alarm, sizeof n.alarm, "rule%d", i);
        snprintf(n.status, sizeof n.status, "firing");
        snprintf(n.fingerprint, sizeof n.fingerprint, "%016x", i);
        sw_hooks_notify(h, 0, &n);
    }
    sw_hooks_stop(h); /* the notices still queued get their last attempt */
    CHECK_INT(sw_store_sync(store), 0);

    sw_sql *db = sw_store_reader(store);
    CHECK(db != NULL);
    /* Every notice ends once: from the full queue, or dropped at the stop; none delivered. */
    CHECK_INT(one(db, "SELECT count(DISTINCT notice) FROM alarm_deliveries"), NOTICES);
    CHECK_INT(one(db, "SELECT count(*) FROM alarm_deliveries WHERE outcome IN ('queue_full', 'dropped')"),
              NOTICES);
    CHECK_INT(one(db, "SELECT count(*) FROM alarm_deliveries WHERE outcome = 'delivered'"), 0);
    long long full = one(db, "SELECT count(*) FROM alarm_deliveries WHERE outcome = 'queue_full'");
    CHECK(full >= NOTICES - 1001); /* at most 1,000 queued and one being attempted */
    CHECK_INT(one(db, "SELECT count(*) FROM alarm_deliveries WHERE outcome = 'queue_full' AND error NOT LIKE "
                      "'the hook''s queue was full (1000 notices)%'"),
              0);
    /* The oldest go first: the last notice was never dropped from the queue. */
    CHECK_INT(
        one(db, "SELECT count(*) FROM alarm_deliveries WHERE outcome = 'queue_full' AND alarm = 'rule1099'"),
        0);
    CHECK_INT(one(db, "SELECT count(*) FROM alarm_deliveries WHERE outcome = 'dropped' AND error NOT LIKE "
                      "'%(server stopping)'"),
              0);
    /* The attempts of each notice are 1, 2, ... with curl's error, no HTTP status, a latency. */
    CHECK_INT(one(db, "SELECT count(*) FROM (SELECT notice, count(*) c, max(attempt) m, min(attempt) f FROM "
                      "alarm_deliveries WHERE outcome IN ('retrying', 'dropped') GROUP BY notice) "
                      "WHERE c != m OR f != 1"),
              0);
    CHECK_INT(one(db,
                  "SELECT count(*) FROM alarm_deliveries WHERE outcome IN ('retrying', 'dropped') AND "
                  "(error NOT LIKE '%connect%' OR http_status IS NOT NULL OR latency IS NULL OR exit_code "
                  "IS NOT NULL)"),
              0);
    char want[160], sql[300];
    snprintf(want, sizeof want, "http://127.0.0.1:%d", port);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM alarm_deliveries WHERE target != '%s' OR hook != 'pager' OR "
             "kind != 'webhook'",
             want);
    CHECK_INT(one(db, sql), 0);
    /* The notice's own fields. */
    CHECK_INT(one(db, "SELECT count(*) FROM alarm_deliveries WHERE alarm = 'rule5' AND (episode != 1005 OR "
                      "fingerprint != '0000000000000005' OR run != 7 OR spill != 5 OR status != 'firing')"),
              0);

    sw_store_close(store);
    sw_delivery_log_free(log);
    curl_global_cleanup();
    snprintf(sql, sizeof sql, "rm -rf %s", dir);
    if (system(sql) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
