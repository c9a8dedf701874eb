/* err.h — the one error convention: 0 or a negative sw_err_t, each with a message and the HTTP
 * status it maps to (chosen here, in one place). Any thread. */
#ifndef SW_ERR_H
#define SW_ERR_H

#define SW_ERR_MAP(X)                                             \
    X(SW_EINVAL, -1, 400, "invalid request")                      \
    X(SW_ENOTFOUND, -2, 404, "not found")                         \
    X(SW_ECLOSED, -3, 409, "spill already closed")                \
    X(SW_ETOOBIG, -4, 413, "request too large")                   \
    X(SW_ENOMEM, -5, 503, "out of memory")                        \
    X(SW_EDB, -6, 503, "database error")                          \
    X(SW_EUNAUTH, -7, 401, "missing or unknown token")            \
    X(SW_EFORBIDDEN, -8, 403, "token lacks the role")             \
    X(SW_EMETHOD, -9, 405, "method not allowed")                  \
    X(SW_EBUSY, -10, 503, "server shutting down")                 \
    X(SW_ECONFLICT, -11, 409, "conflicts with the current state") \
    X(SW_EFULL, -12, 503, "writer queue full")                    \
    X(SW_EGAP, -13, 503, "batches missing before this seq")       \
    X(SW_ELIMIT, -14, 429, "too many open spills")                \
    X(SW_EHELD, -15, 409, "source held by another collector")

typedef enum {
    SW_OK = 0,
#define SW__ERR_ENUM(name, code, status, msg) name = code,
    SW_ERR_MAP(SW__ERR_ENUM)
#undef SW__ERR_ENUM
} sw_err_t;

/* Generic message of an error code ("unknown error" for anything else). */
const char *sw_strerror(int err);
/* HTTP status for an error code; 200 for SW_OK, 500 for unknown codes. */
unsigned sw_err_http_status(int err);

#endif
