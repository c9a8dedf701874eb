/* err.c — see err.h */
#include "err.h"

const char *sw_strerror(int err)
{
    switch (err) {
    case SW_OK:
        return "ok";
#define SW__ERR_MSG(name, code, status, msg) \
    case name:                               \
        return msg;
        SW_ERR_MAP(SW__ERR_MSG)
#undef SW__ERR_MSG
    }
    return "unknown error";
}

unsigned sw_err_http_status(int err)
{
    switch (err) {
    case SW_OK:
        return 200;
#define SW__ERR_STATUS(name, code, status, msg) \
    case name:                                  \
        return status;
        SW_ERR_MAP(SW__ERR_STATUS)
#undef SW__ERR_STATUS
    }
    return 500;
}
