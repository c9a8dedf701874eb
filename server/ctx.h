/* ctx.h — what every REST handler works with: the server's configuration and the modules it
 * borrows (engine, store, alarms, profile reloads, the live stream and its tickets). Built once by the HTTP
 * server before serving and read-only afterwards; handlers on MHD pool threads share it.
 */
#ifndef SW_CTX_H
#define SW_CTX_H

#include "config.h"
#include "engine.h"
#include "store.h"

struct sw_alarms;
struct sw_reload;
struct sw_stream;
struct sw_tickets;
struct sw_api {
    const struct sw_config *cfg; /* its profile member is not used: the profile in force comes from
                                  * sw_reload_profile(reload), a reference held for the request */
    struct sw_engine *engine;
    struct sw_store *store;
    struct sw_alarms *alarms;
    struct sw_reload *reload;
    struct sw_stream *stream;   /* the live stream; may be NULL */
    struct sw_tickets *tickets; /* stream tickets (owned by the HTTP server) */
    struct sw_ha *ha;           /* several servers on one PostgreSQL database (ha.h); NULL: this one only */
};

#endif
