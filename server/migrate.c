/* migrate.c — see migrate.h: a SQLite database copied into an empty PostgreSQL one. */
#include "migrate.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "sql.h"
#include "store.h"

#define TABLES_MAX 64

/* Kept by the target's own triggers as the rows arrive (compared with the source afterwards), or
 * the triggers' scratch, which the copy empties. */
static const char *const DERIVED[] = {"run_totals", NULL};
static const char *const SCRATCH[] = {"run_hist_moves", NULL};

struct table {
    char name[64];
    char deps[8][64]; /* tables its foreign keys reference */
    int ndeps, done;
    long long rows;
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static int listed(const char *const *list, const char *name)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], name))
            return 1;
    return 0;
}

/* One value of a one-row query (-1 on error). */
static long long scalar(sw_sql *db, const char *sql)
{
    sw_stmt *st;
    long long v = -1;
    if (sw_sql_prepare(db, sql, -1, &st, NULL) != SW_SQL_OK)
        return -1;
    if (sw_sql_step(st) == SW_SQL_ROW)
        v = sw_sql_column_int64(st, 0);
    sw_sql_finalize(st);
    return v;
}

/* The source's tables, in an order where each comes after the tables it references. */
static int source_tables(sw_sql *src, struct table *t, int *n, char *err, size_t len)
{
    sw_stmt *st;
    *n = 0;
    if (sw_sql_prepare(src,
                       "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                       "ORDER BY name",
                       -1, &st, NULL) != SW_SQL_OK)
        return fail(err, len, "source: %s", sw_sql_errmsg(src));
    while (sw_sql_step(st) == SW_SQL_ROW && *n < TABLES_MAX) {
        struct table *x = &t[(*n)++];
        memset(x, 0, sizeof *x);
        snprintf(x->name, sizeof x->name, "%s", (const char *)sw_sql_column_text(st, 0));
    }
    sw_sql_finalize(st);
    for (int i = 0; i < *n; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('%.63s')",
                 t[i].name);
        if (sw_sql_prepare(src, sql, -1, &st, NULL) != SW_SQL_OK)
            return fail(err, len, "source: %s", sw_sql_errmsg(src));
        while (sw_sql_step(st) == SW_SQL_ROW && t[i].ndeps < 8)
            snprintf(t[i].deps[t[i].ndeps++], 64, "%s", (const char *)sw_sql_column_text(st, 0));
        sw_sql_finalize(st);
    }
    /* foreign-key order */
    struct table sorted[TABLES_MAX];
    int m = 0;
    for (int pass = 0; pass < *n && m < *n; pass++)
        for (int i = 0; i < *n; i++) {
            if (t[i].done)
                continue;
            int ready = 1;
            for (int d = 0; d < t[i].ndeps && ready; d++)
                for (int k = 0; k < *n; k++)
                    if (!strcmp(t[k].name, t[i].deps[d]) && !t[k].done && k != i)
                        ready = 0;
            if (ready) {
                t[i].done = 1;
                sorted[m++] = t[i];
            }
        }
    if (m != *n)
        return fail(err, len, "source: a cycle of foreign keys between its tables");
    memcpy(t, sorted, sizeof *t * (size_t)m);
    return 0;
}

/* The columns of table in the source, as a quoted list ("a", "b") and their number. */
static int columns(sw_sql *src, const char *table, char *list, size_t len, int *n)
{
    char sql[128];
    sw_stmt *st;
    snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%.63s') ORDER BY cid", table);
    if (sw_sql_prepare(src, sql, -1, &st, NULL) != SW_SQL_OK)
        return -1;
    size_t used = 0;
    list[0] = 0;
    *n = 0;
    while (sw_sql_step(st) == SW_SQL_ROW) {
        int w = snprintf(list + used, len - used, "%s\"%s\"", *n ? ", " : "",
                         (const char *)sw_sql_column_text(st, 0));
        if (w < 0 || (size_t)w >= len - used) {
            sw_sql_finalize(st);
            return -1;
        }
        used += (size_t)w;
        (*n)++;
    }
    sw_sql_finalize(st);
    return *n > 0 ? 0 : -1;
}

static int copy_table(sw_sql *src, sw_sql *dst, struct table *t, char *err, size_t len)
{
    char cols[4096], sql[8192];
    int n;
    if (columns(src, t->name, cols, sizeof cols, &n) != 0)
        return fail(err, len, "source table %s: cannot read its columns", t->name);
    sw_stmt *rd, *wr;
    snprintf(sql, sizeof sql, "SELECT %.4000s FROM \"%.63s\"", cols, t->name);
    if (sw_sql_prepare(src, sql, -1, &rd, NULL) != SW_SQL_OK)
        return fail(err, len, "source table %s: %s", t->name, sw_sql_errmsg(src));
    size_t used = (size_t)snprintf(sql, sizeof sql, "INSERT INTO \"%.63s\"(%.4000s) VALUES (", t->name, cols);
    for (int i = 0; i < n && used < sizeof sql - 8; i++)
        used += (size_t)snprintf(sql + used, sizeof sql - used, "%s?%d", i ? ", " : "", i + 1);
    snprintf(sql + used, sizeof sql - used, ")");
    if (sw_sql_prepare_persistent(dst, sql, &wr) != SW_SQL_OK) {
        sw_sql_finalize(rd);
        return fail(err, len, "target table %s: %s", t->name, sw_sql_errmsg(dst));
    }
    int rc, bad = 0;
    t->rows = 0;
    while (!bad && (rc = sw_sql_step(rd)) == SW_SQL_ROW) {
        for (int i = 0; i < n; i++)
            sw_sql_bind_column(wr, i + 1, rd, i);
        if (sw_sql_step(wr) != SW_SQL_DONE)
            bad = 1;
        sw_sql_reset(wr);
        sw_sql_clear_bindings(wr);
        t->rows++;
    }
    if (bad)
        fail(err, len, "target table %s, row %lld: %s", t->name, t->rows, sw_sql_errmsg(dst));
    else if (rc != SW_SQL_DONE)
        fail(err, len, "source table %s: %s", t->name, sw_sql_errmsg(src));
    sw_sql_finalize(rd);
    sw_sql_finalize(wr);
    return bad || rc != SW_SQL_DONE ? -1 : 0;
}

/* The identity columns of the target continue after the highest id copied. */
static int advance_identities(sw_sql *dst, char *err, size_t len)
{
    sw_stmt *st;
    if (sw_sql_prepare(dst,
                       "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
                       "current_schema() AND is_identity = 'YES'",
                       -1, &st, NULL) != SW_SQL_OK)
        return fail(err, len, "target: %s", sw_sql_errmsg(dst));
    char todo[TABLES_MAX][2][64];
    int n = 0;
    while (sw_sql_step(st) == SW_SQL_ROW && n < TABLES_MAX) {
        snprintf(todo[n][0], 64, "%s", (const char *)sw_sql_column_text(st, 0));
        snprintf(todo[n][1], 64, "%s", (const char *)sw_sql_column_text(st, 1));
        n++;
    }
    sw_sql_finalize(st);
    for (int i = 0; i < n; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT setval(pg_get_serial_sequence('\"%.63s\"', '%.63s'), max(\"%.63s\")) FROM \"%.63s\" "
                 "HAVING max(\"%.63s\") IS NOT NULL",
                 todo[i][0], todo[i][1], todo[i][1], todo[i][0], todo[i][1]);
        if (sw_sql_exec(dst, sql, NULL) != SW_SQL_OK)
            return fail(err, len, "target: identity of %s: %s", todo[i][0], sw_sql_errmsg(dst));
    }
    return 0;
}

/* The target's run_totals, built by its triggers, against the source's: row for row. */
static int compare_totals(sw_sql *src, sw_sql *dst, char *err, size_t len)
{
    static const char *sql = "SELECT run, spills, events, mot, good_mot, n_good, n_warn, n_bad, n_unknown, "
                             "n_excluded FROM run_totals ORDER BY run";
    sw_stmt *a, *b;
    if (sw_sql_prepare(src, sql, -1, &a, NULL) != SW_SQL_OK)
        return fail(err, len, "source: %s", sw_sql_errmsg(src));
    if (sw_sql_prepare(dst, sql, -1, &b, NULL) != SW_SQL_OK) {
        sw_sql_finalize(a);
        return fail(err, len, "target: %s", sw_sql_errmsg(dst));
    }
    int rc = 0;
    for (;;) {
        int ra = sw_sql_step(a), rb = sw_sql_step(b);
        if (ra != rb) {
            rc = fail(err, len, "run_totals: the target has %s rows than the source",
                      ra == SW_SQL_ROW ? "fewer" : "more");
            break;
        }
        if (ra != SW_SQL_ROW)
            break;
        for (int c = 0; c < 10; c++)
            if (sw_sql_column_double(a, c) != sw_sql_column_double(b, c)) {
                rc = fail(err, len,
                          "run_totals: run %lld differs in column %d (%.17g in the source, %.17g copied)",
                          (long long)sw_sql_column_int64(a, 0), c, sw_sql_column_double(a, c),
                          sw_sql_column_double(b, c));
                break;
            }
        if (rc)
            break;
    }
    sw_sql_finalize(a);
    sw_sql_finalize(b);
    return rc;
}

int sw_migrate_run(const char *from, const char *to, char *err, size_t errlen)
{
    char shown[512];
    sw_sql_display(to, shown, sizeof shown);
    if (sw_sql_target_is_pg(from) || !sw_sql_target_is_pg(to))
        return fail(err, errlen, "migrate: --from is a SQLite file and --to a postgresql:// URI");
    /* The target at this server's schema version (its migrations applied, as a server would). */
    if (sw_store_migrate(to, err, errlen) != 0)
        return -1;
    sw_sql *src = NULL, *dst = NULL;
    int rc = -1;
    if (sw_sql_open(from, SW_SQL_OPEN_READONLY, &src) != SW_SQL_OK) {
        fail(err, errlen, "cannot open \"%s\": %s", from, sw_sql_errmsg(src));
        goto out;
    }
    if (sw_sql_open(to, SW_SQL_OPEN_READWRITE, &dst) != SW_SQL_OK) {
        fail(err, errlen, "cannot connect to PostgreSQL at %s: %s", shown, sw_sql_errmsg(dst));
        goto out;
    }
    long long sv = scalar(src, "PRAGMA user_version"),
              tv = scalar(dst, "SELECT max(version) FROM schema_version");
    if (sv != tv) {
        fail(
            err, errlen,
            "\"%s\" is at schema version %lld and this server's is %lld: start this version of the server on "
            "it once (it migrates the file), then migrate",
            from, sv, tv);
        goto out;
    }
    struct table t[TABLES_MAX];
    int n;
    if (sw_sql_exec(src, "BEGIN", NULL) != SW_SQL_OK) /* one snapshot of the source */
        goto db_src;
    if (source_tables(src, t, &n, err, errlen) != 0)
        goto out;
    for (int i = 0; i < n; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%.63s\"", t[i].name);
        long long rows = scalar(dst, sql);
        if (rows < 0) {
            fail(err, errlen, "the target has no table %s (a schema of another version?): %s", t[i].name,
                 sw_sql_errmsg(dst));
            goto out;
        }
        if (rows > 0 && !listed(DERIVED, t[i].name)) {
            fail(err, errlen, "the target is not empty (%s has %lld rows): migrate only into a new database",
                 t[i].name, rows);
            goto out;
        }
    }
    double t0 = sw_mono();
    if (sw_sql_exec(dst, "BEGIN", NULL) != SW_SQL_OK)
        goto db_dst;
    for (int i = 0; i < n; i++) {
        if (listed(DERIVED, t[i].name) || listed(SCRATCH, t[i].name))
            continue;
        if (!strcmp(t[i].name, "run_hist_sums") &&
            sw_sql_exec(dst,
                        "DELETE FROM run_hist_moves; DELETE FROM run_hist_sums; DELETE FROM run_hist_stale",
                        NULL) != SW_SQL_OK)
            goto db_dst; /* the sums as the source has them, not what the copy's triggers queued */
        if (copy_table(src, dst, &t[i], err, errlen) != 0) {
            sw_sql_exec(dst, "ROLLBACK", NULL);
            goto out;
        }
        printf("migrate: %-18s %10lld rows\n", t[i].name, t[i].rows);
        fflush(stdout);
    }
    if (sw_sql_exec(dst, "DELETE FROM run_hist_moves", NULL) != SW_SQL_OK ||
        advance_identities(dst, err, errlen) || compare_totals(src, dst, err, errlen)) {
        if (!err[0])
            fail(err, errlen, "target: %s", sw_sql_errmsg(dst));
        sw_sql_exec(dst, "ROLLBACK", NULL);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%.63s\"", t[i].name);
        long long a = scalar(src, sql), b = scalar(dst, sql);
        if (a != b) {
            fail(err, errlen, "table %s: %lld rows in the source, %lld in the copy", t[i].name, a, b);
            sw_sql_exec(dst, "ROLLBACK", NULL);
            goto out;
        }
    }
    if (sw_sql_exec(dst, "COMMIT", NULL) != SW_SQL_OK)
        goto db_dst;
    /* The planner's statistics of the copied tables now, not when autovacuum comes round to them: a
     * server started right after the copy would otherwise plan its reads on empty tables' guesses. */
    if (sw_sql_exec(dst, "ANALYZE", NULL) != SW_SQL_OK)
        fprintf(stderr, "spillwatch migrate: ANALYZE failed (%s); the copy is complete\n",
                sw_sql_errmsg(dst));
    long long runs = scalar(dst, "SELECT count(*) FROM runs"),
              spills = scalar(dst, "SELECT count(*) FROM spills");
    printf(
        "migrate: %s -> %s: %lld runs, %lld spills, every table's rows and the run totals checked, %.1f s\n",
        from, shown, runs, spills, sw_mono() - t0);
    rc = 0;
    goto out;
db_src:
    fail(err, errlen, "source: %s", sw_sql_errmsg(src));
    goto out;
db_dst:
    fail(err, errlen, "target: %s", sw_sql_errmsg(dst));
    sw_sql_exec(dst, "ROLLBACK", NULL);
out:
    if (src && sw_sql_sqlite(src))
        sw_sql_exec(src, "COMMIT", NULL);
    sw_sql_close(src);
    sw_sql_close(dst);
    return rc;
}

int sw_migrate_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    const char *from = NULL, *to = NULL;
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'f')
            from = optarg;
        else if (c == 't')
            to = optarg;
        else
            bad = 1;
    }
    if (bad || !from || !to || optind != argc) {
        fprintf(stderr, "usage: spillwatch migrate --from FILE.db --to postgresql://USER@HOST:PORT/DB\n"
                        "  copies a SQLite database into an empty PostgreSQL database\n");
        return 2;
    }
    char err[1024] = "";
    if (sw_migrate_run(from, to, err, sizeof err) != 0) {
        fprintf(stderr, "spillwatch migrate: %s (no data was written to the target)\n", err);
        return 1;
    }
    return 0;
}
