/* auth.h — bearer tokens and roles (docs/api.md, tokens): which token a request carries and
 * whether it has the role a route needs. Tokens are compared in constant time. Any thread; reads
 * the configuration only.
 */
#ifndef SW_AUTH_H
#define SW_AUTH_H

#include <microhttpd.h>

#include "ctx.h"
#include "reply.h"

/* Checks the bearer token for role. 0 when allowed, with *who (may be NULL) set to the token's name
 * ("open" when no tokens are configured, or for a read when reads need none); else -1 with a
 * 401/403 reply. */
int sw_auth_require(const struct sw_api *api, struct MHD_Connection *c, unsigned role, struct sw_reply *r,
                    const char **who);

/* 1 when the request's token has role (or no tokens are configured), else 0; replies nothing. */
int sw_auth_has_role(const struct sw_api *api, struct MHD_Connection *c, unsigned role);

#endif
