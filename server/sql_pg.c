/* sql_pg.c — sql.h's PostgreSQL engine, on libpq: a statement's text with ?N turned into $N, its
 * parameters sent typed by their bind call (bytea in binary, the rest as text), its rows read from
 * one result (text format) one step at a time. sql.h says how types and errors map. */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_int.h"

/* PostgreSQL's type oids (pg_type.dat): the ones the columns are read by. */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700,
};

struct sw_pg {
    PGconn *conn;
    unsigned epoch;     /* +1 at each reconnection: named statements are then prepared again */
    unsigned next_name; /* names of the persistent statements */
};

struct param {
    int type; /* SW_SQL_*; SW_SQL_NULL also for a parameter never bound */
    char *val;
    size_t len;
    int owned;
    char num[32]; /* an integer's or a double's text */
};

struct sw_pg_stmt {
    char *sql; /* with $N */
    int nparams;
    struct param *p;
    char name[24]; /* persistent: its prepared statement's name, prepared in epoch */
    unsigned epoch;
    int prepared;
    PGresult *res;
    int row, nrows, ran;
    unsigned char **blob; /* per column: the current row's bytea, decoded */
    size_t *bloblen;
    int blobrow;
    int nf; /* columns of blob and bloblen */
};

/* ---- errors ---- */

static int map_sqlstate(const char *s)
{
    if (!s)
        return SW_SQL_IOERR; /* no answer: the connection */
    if (!strncmp(s, "08", 2) || !strncmp(s, "57P", 3) || !strcmp(s, "58030"))
        return SW_SQL_IOERR; /* connection, shutdown, I/O */
    if (!strcmp(s, "53100")) /* disk_full */
        return SW_SQL_FULL;
    if (!strncmp(s, "53", 2)) /* out of memory, too many connections */
        return SW_SQL_NOMEM;
    if (!strcmp(s, "25006")) /* read_only_sql_transaction */
        return SW_SQL_READONLY;
    if (!strcmp(s, "40001") || !strcmp(s, "40P01") || !strcmp(s, "55P03"))
        return SW_SQL_BUSY; /* serialisation, deadlock, lock timeout */
    if (!strncmp(s, "23", 2))
        return SW_SQL_CONSTRAINT;
    if (!strcmp(s, "XX001") || !strcmp(s, "XX002"))
        return SW_SQL_CORRUPT;
    return SW_SQL_ERROR;
}

static void set_err(sw_sql *db, int code, const char *msg)
{
    db->code = code;
    snprintf(db->err, sizeof db->err, "%s", msg && *msg ? msg : "PostgreSQL error");
    size_t n = strlen(db->err);
    while (n && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
        db->err[--n] = 0;
    for (char *p = db->err; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

static int result_err(sw_sql *db, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int code = map_sqlstate(state);
    if (!state && PQstatus(db->pg->conn) == CONNECTION_OK && res)
        code = SW_SQL_ERROR;
    set_err(db, code, res ? PQresultErrorMessage(res) : PQerrorMessage(db->pg->conn));
    return code;
}

/* ---- connections ---- */

static void quiet(void *arg, const char *msg)
{
    (void)arg, (void)msg; /* NOTICEs (IF NOT EXISTS and the like) are not the server's business */
}

static int session_setup(sw_sql *db)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SET TIME ZONE 'UTC'; SET extra_float_digits = 1; SET client_min_messages = warning; "
             "SET default_transaction_read_only = %s",
             db->readonly ? "on" : "off");
    PGresult *res = PQexec(db->pg->conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        result_err(db, res);
    PQclear(res);
    return ok ? SW_SQL_OK : db->code;
}

int sw_sql_pg_open(sw_sql *db, const char *uri)
{
    db->pg = calloc(1, sizeof *db->pg);
    if (!db->pg)
        return set_err(db, SW_SQL_NOMEM, "out of memory"), SW_SQL_NOMEM;
    /* The URI's own settings win over these defaults (expand_dbname: later keywords override). */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"5", "spillwatch", uri, NULL};
    db->pg->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->pg->conn)
        return set_err(db, SW_SQL_NOMEM, "out of memory"), SW_SQL_NOMEM;
    PQsetNoticeProcessor(db->pg->conn, quiet, NULL);
    if (PQstatus(db->pg->conn) != CONNECTION_OK) {
        set_err(db, SW_SQL_CANTOPEN, PQerrorMessage(db->pg->conn));
        return SW_SQL_CANTOPEN;
    }
    return session_setup(db);
}

void sw_sql_pg_close(sw_sql *db)
{
    if (db->pg->conn)
        PQfinish(db->pg->conn);
    free(db->pg);
    db->pg = NULL;
}

/* Before a statement outside a transaction: a connection that was lost is opened again (a server
 * restart, a failover of the database), so that a retried write or the next read works. */
static int alive(sw_sql *db)
{
    PGconn *c = db->pg->conn;
    if (PQstatus(c) == CONNECTION_OK)
        return SW_SQL_OK;
    PQreset(c);
    if (PQstatus(c) != CONNECTION_OK) {
        set_err(db, SW_SQL_IOERR, PQerrorMessage(c));
        return SW_SQL_IOERR;
    }
    db->pg->epoch++;
    return session_setup(db);
}

void sw_sql_pg_busy_timeout(sw_sql *db, int ms)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SET lock_timeout = %d", ms);
    PQclear(PQexec(db->pg->conn, sql));
}

int sw_sql_pg_autocommit(sw_sql *db)
{
    PGTransactionStatusType t = PQtransactionStatus(db->pg->conn);
    return t == PQTRANS_IDLE || t == PQTRANS_UNKNOWN;
}

int sw_sql_pg_exec(sw_sql *db, const char *sql, char **errmsg)
{
    char *copy = NULL;
    if (!strncmp(sql, "BEGIN IMMEDIATE", 15)) { /* SQLite's write lock at once: PostgreSQL's rows lock */
        if (asprintf(&copy, "BEGIN%s", sql + 15) < 0)
            return set_err(db, SW_SQL_NOMEM, "out of memory"), SW_SQL_NOMEM;
        sql = copy;
    } else if (!strcmp(sql, "BEGIN") && db->readonly)
        sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    if (sw_sql_pg_autocommit(db) && alive(db) != SW_SQL_OK) {
        if (errmsg)
            *errmsg = strdup(db->err);
        free(copy);
        return db->code;
    }
    PGresult *res = PQexec(db->pg->conn, sql);
    free(copy);
    ExecStatusType s = PQresultStatus(res);
    int rc = SW_SQL_OK;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY) {
        rc = result_err(db, res);
        if (errmsg)
            *errmsg = strdup(db->err);
    }
    PQclear(res);
    return rc;
}

/* ---- statements ---- */

/* ?N -> $N and ? -> $(largest so far + 1), outside quotes and comments; *nparams gets the largest. */
static char *convert(const char *sql, size_t len, int *nparams)
{
    char *out = malloc(len * 2 + 1), *o = out;
    if (!out)
        return NULL;
    int maxp = 0;
    for (size_t i = 0; i < len;) {
        char c = sql[i];
        if (c == '\'' || c == '"') {
            size_t j = i + 1;
            while (j < len && sql[j] != c)
                j++;
            j = j < len ? j + 1 : j; /* '' inside a string is two strings back to back: the same */
            memcpy(o, sql + i, j - i);
            o += j - i;
            i = j;
        } else if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                *o++ = sql[i++];
        } else if (c == '?') {
            int n = 0;
            size_t j = i + 1;
            while (j < len && sql[j] >= '0' && sql[j] <= '9' && n < 100000)
                n = n * 10 + (sql[j++] - '0');
            if (j == i + 1)
                n = maxp + 1;
            if (n > maxp)
                maxp = n;
            o += sprintf(o, "$%d", n);
            i = j;
        } else
            *o++ = sql[i++];
    }
    *o = 0;
    *nparams = maxp;
    return out;
}

int sw_sql_pg_prepare(sw_stmt *st, const char *sql, int len, int persistent)
{
    sw_sql *db = st->db;
    struct sw_pg_stmt *p = calloc(1, sizeof *p);
    if (!p)
        return set_err(db, SW_SQL_NOMEM, "out of memory"), SW_SQL_NOMEM;
    p->sql = convert(sql, len < 0 ? strlen(sql) : (size_t)len, &p->nparams);
    p->p = calloc((size_t)p->nparams + 1, sizeof *p->p);
    if (!p->sql || !p->p) {
        free(p->sql);
        free(p->p);
        free(p);
        return set_err(db, SW_SQL_NOMEM, "out of memory"), SW_SQL_NOMEM;
    }
    for (int i = 0; i <= p->nparams; i++)
        p->p[i].type = SW_SQL_NULL;
    if (persistent)
        snprintf(p->name, sizeof p->name, "sw%u", ++db->pg->next_name);
    st->pg = p;
    /* Errors in the text show at the first step, as PostgreSQL parses it then (SQLite: here). */
    return SW_SQL_OK;
}

static void clear_rows(struct sw_pg_stmt *p)
{
    if (p->res)
        PQclear(p->res);
    p->res = NULL;
    p->row = p->nrows = p->ran = 0;
    p->blobrow = -1;
}

static void free_param(struct param *q)
{
    if (q->owned)
        free(q->val);
    q->val = NULL;
    q->owned = 0;
    q->type = SW_SQL_NULL;
}

int sw_sql_pg_finalize(sw_stmt *st)
{
    struct sw_pg_stmt *p = st->pg;
    clear_rows(p);
    if (p->prepared && p->epoch == st->db->pg->epoch && PQstatus(st->db->pg->conn) == CONNECTION_OK &&
        sw_sql_pg_autocommit(st->db)) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", p->name);
        PQclear(PQexec(st->db->pg->conn, sql));
    }
    for (int i = 0; i <= p->nparams; i++)
        free_param(&p->p[i]);
    for (int c = 0; p->blob && c < p->nf; c++)
        free(p->blob[c]);
    free(p->p);
    free(p->sql);
    free(p->blob);
    free(p->bloblen);
    free(p);
    return SW_SQL_OK;
}

int sw_sql_pg_reset(sw_stmt *st)
{
    clear_rows(st->pg);
    return SW_SQL_OK;
}

int sw_sql_pg_clear_bindings(sw_stmt *st)
{
    for (int i = 0; i <= st->pg->nparams; i++)
        free_param(&st->pg->p[i]);
    return SW_SQL_OK;
}

int sw_sql_pg_bind(sw_stmt *st, int i, int type, const void *v, size_t len, sw_sql_destructor d)
{
    struct sw_pg_stmt *p = st->pg;
    if (i < 1 || i > p->nparams)
        return set_err(st->db, SW_SQL_ERROR, "bind: no such parameter"), 25; /* SQLITE_RANGE */
    struct param *q = &p->p[i];
    free_param(q);
    q->type = type;
    q->len = len;
    if (type == SW_SQL_INTEGER) {
        snprintf(q->num, sizeof q->num, "%" PRId64, *(const int64_t *)v);
        q->val = q->num;
    } else if (type == SW_SQL_FLOAT) {
        double x = *(const double *)v;
        if (isnan(x))
            snprintf(q->num, sizeof q->num, "NaN");
        else if (isinf(x))
            snprintf(q->num, sizeof q->num, "%sInfinity", x < 0 ? "-" : "");
        else
            snprintf(q->num, sizeof q->num, "%.17g", x);
        q->val = q->num;
    } else if (type == SW_SQL_TEXT || type == SW_SQL_BLOB) {
        if (d == SW_SQL_STATIC && type == SW_SQL_BLOB) {
            q->val = (char *)v;
        } else {
            /* text is sent NUL-terminated: a copy unless it already ends at len */
            q->val = malloc(len + 1);
            if (!q->val)
                return q->type = SW_SQL_NULL, set_err(st->db, SW_SQL_NOMEM, "out of memory"), SW_SQL_NOMEM;
            memcpy(q->val, v, len);
            q->val[len] = 0;
            q->owned = 1;
        }
        if (d != SW_SQL_STATIC && d != SW_SQL_TRANSIENT)
            d((void *)v);
    }
    return SW_SQL_OK;
}

static int run(sw_stmt *st)
{
    sw_sql *db = st->db;
    struct sw_pg_stmt *p = st->pg;
    if (sw_sql_pg_autocommit(db) && alive(db) != SW_SQL_OK)
        return db->code;
    int n = p->nparams;
    Oid types[n + 1];
    const char *vals[n + 1];
    int lens[n + 1], fmts[n + 1];
    for (int i = 0; i < n; i++) {
        const struct param *q = &p->p[i + 1];
        types[i] = q->type == SW_SQL_INTEGER ? OID_INT8
                   : q->type == SW_SQL_FLOAT ? OID_FLOAT8
                   : q->type == SW_SQL_BLOB  ? OID_BYTEA
                                             : 0;
        vals[i] = q->type == SW_SQL_NULL ? NULL : q->val;
        lens[i] = (int)q->len;
        fmts[i] = q->type == SW_SQL_BLOB;
    }
    PGresult *res;
    if (p->name[0]) {
        if (!p->prepared || p->epoch != db->pg->epoch) {
            res = PQprepare(db->pg->conn, p->name, p->sql, n, types);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                int rc = result_err(db, res);
                PQclear(res);
                return rc;
            }
            PQclear(res);
            p->prepared = 1;
            p->epoch = db->pg->epoch;
        }
        res = PQexecPrepared(db->pg->conn, p->name, n, vals, lens, fmts, 0);
    } else
        res = PQexecParams(db->pg->conn, p->sql, n, types, vals, lens, fmts, 0);
    ExecStatusType s = PQresultStatus(res);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
        int rc = result_err(db, res);
        PQclear(res);
        return rc;
    }
    p->res = res;
    p->nrows = PQntuples(res);
    p->row = -1;
    p->ran = 1;
    p->blobrow = -1;
    int nf = PQnfields(res);
    if (nf && !p->blob) {
        p->blob = calloc((size_t)nf, sizeof *p->blob);
        p->bloblen = calloc((size_t)nf, sizeof *p->bloblen);
        if (!p->blob || !p->bloblen)
            return set_err(db, SW_SQL_NOMEM, "out of memory"), SW_SQL_NOMEM;
        p->nf = nf;
    }
    return SW_SQL_OK;
}

int sw_sql_pg_step(sw_stmt *st)
{
    struct sw_pg_stmt *p = st->pg;
    if (p->ran && p->row >= p->nrows) /* stepped past the end: runs again, as SQLite's autoreset */
        clear_rows(p);
    if (!p->ran) {
        int rc = run(st);
        if (rc != SW_SQL_OK)
            return rc;
    }
    p->row++;
    return p->row < p->nrows ? SW_SQL_ROW : SW_SQL_DONE;
}

/* ---- columns ---- */

static int has(struct sw_pg_stmt *p, int i)
{
    return p->res && p->row >= 0 && p->row < p->nrows && i >= 0 && i < PQnfields(p->res);
}

int sw_sql_pg_column_count(sw_stmt *st)
{
    return st->pg->res ? PQnfields(st->pg->res) : 0;
}

static int integral_text(const char *s)
{
    return !strpbrk(s, ".eEnNI");
}

int sw_sql_pg_column_type(sw_stmt *st, int i)
{
    struct sw_pg_stmt *p = st->pg;
    if (!has(p, i) || PQgetisnull(p->res, p->row, i))
        return SW_SQL_NULL;
    switch (PQftype(p->res, i)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        return SW_SQL_INTEGER;
    case OID_FLOAT4:
    case OID_FLOAT8:
        return SW_SQL_FLOAT;
    case OID_NUMERIC:
        return integral_text(PQgetvalue(p->res, p->row, i)) ? SW_SQL_INTEGER : SW_SQL_FLOAT;
    case OID_BYTEA:
        return SW_SQL_BLOB;
    default:
        return SW_SQL_TEXT;
    }
}

static const char *raw(sw_stmt *st, int i)
{
    struct sw_pg_stmt *p = st->pg;
    if (!has(p, i) || PQgetisnull(p->res, p->row, i))
        return NULL;
    return PQgetvalue(p->res, p->row, i);
}

int64_t sw_sql_pg_column_int64(sw_stmt *st, int i)
{
    const char *s = raw(st, i);
    if (!s)
        return 0;
    if (PQftype(st->pg->res, i) == OID_BOOL)
        return s[0] == 't';
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end) {
        double d = strtod(s, NULL);
        return isfinite(d) ? (int64_t)d : 0;
    }
    return v;
}

double sw_sql_pg_column_double(sw_stmt *st, int i)
{
    const char *s = raw(st, i);
    if (!s)
        return 0.0;
    if (PQftype(st->pg->res, i) == OID_BOOL)
        return s[0] == 't';
    return strtod(s, NULL);
}

const char *sw_sql_pg_column_text(sw_stmt *st, int i)
{
    const char *s = raw(st, i);
    if (s && PQftype(st->pg->res, i) == OID_BOOL)
        return s[0] == 't' ? "1" : "0";
    if (s && PQftype(st->pg->res, i) == OID_BYTEA)
        return sw_sql_pg_column_blob(st, i);
    return s;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

const void *sw_sql_pg_column_blob(sw_stmt *st, int i)
{
    struct sw_pg_stmt *p = st->pg;
    const char *s = raw(st, i);
    if (!s)
        return NULL;
    if (PQftype(p->res, i) != OID_BYTEA)
        return s;
    if (p->blobrow != p->row) { /* decoded blobs belong to one row */
        for (int c = 0; c < p->nf; c++) {
            free(p->blob[c]);
            p->blob[c] = NULL;
        }
        p->blobrow = p->row;
    }
    if (i >= p->nf)
        return NULL;
    if (p->blob[i])
        return p->blob[i];
    size_t n = (size_t)PQgetlength(p->res, p->row, i);
    unsigned char *out = malloc(n / 2 + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    if (n >= 2 && s[0] == '\\' && s[1] == 'x') {
        for (size_t j = 2; j + 1 < n; j += 2) {
            int hi = hexval(s[j]), lo = hexval(s[j + 1]);
            if (hi < 0 || lo < 0)
                break;
            out[k++] = (unsigned char)(hi << 4 | lo);
        }
    } else { /* the escape format: only if bytea_output was changed for the session */
        size_t len;
        unsigned char *u = PQunescapeBytea((const unsigned char *)s, &len);
        if (u) {
            free(out);
            out = malloc(len + 1);
            if (out)
                memcpy(out, u, len);
            k = len;
            PQfreemem(u);
        }
        if (!out)
            return NULL;
    }
    out[k] = 0;
    p->blob[i] = out;
    p->bloblen[i] = k;
    return out;
}

int sw_sql_pg_column_bytes(sw_stmt *st, int i)
{
    struct sw_pg_stmt *p = st->pg;
    const char *s = raw(st, i);
    if (!s)
        return 0;
    if (PQftype(p->res, i) == OID_BYTEA)
        return sw_sql_pg_column_blob(st, i) ? (int)p->bloblen[i] : 0;
    if (PQftype(p->res, i) == OID_BOOL)
        return 1;
    return PQgetlength(p->res, p->row, i);
}
