/* err.h — the one error convention: 0 or a negative sw_err_t, each with a message and the HTTP
 * status it maps to (chosen here, in one place). Any thread. */
#ifndef SW_ERR_H
#define SW_ERR_H

/* Codes start at -1000, so that no code is confused with the -1 many functions return. */
#define SW_ERR_MAP(X)                                                                   \
    X(SW_EINVAL, -1001, 400, "invalid request")                                         \
    X(SW_ENOTFOUND, -1002, 404, "not found")                                            \
    X(SW_ECLOSED, -1003, 409, "spill already closed")                                   \
    X(SW_ETOOBIG, -1004, 413, "request too large")                                      \
    X(SW_ENOMEM, -1005, 503, "out of memory")                                           \
    X(SW_EDB, -1006, 503, "database error")                                             \
    X(SW_EUNAUTH, -1007, 401, "missing or unknown token")                               \
    X(SW_EFORBIDDEN, -1008, 403, "token lacks the role")                                \
    X(SW_EMETHOD, -1009, 405, "method not allowed")                                     \
    X(SW_EBUSY, -1010, 503, "server shutting down")                                     \
    X(SW_ECONFLICT, -1011, 409, "conflicts with the current state")                     \
    X(SW_EFULL, -1012, 503, "writer queue full")                                        \
    X(SW_EGAP, -1013, 503, "batches missing before this seq")                           \
    X(SW_ELIMIT, -1014, 429, "too many open spills")                                    \
    X(SW_EHELD, -1015, 409, "source held by another collector")                         \
    X(SW_EGONE, -1016, 410, "no longer kept")                                           \
    X(SW_EUNPROCESSABLE, -1017, 422, "well-formed but not valid")                       \
    X(SW_EUNAVAILABLE, -1018, 503, "unavailable now (database, store or random bytes)") \
    X(SW_ERATE, -1019, 429, "too many requests from this client")                       \
    X(SW_ETIMEOUT, -1020, 408, "request not complete in time")

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
