/* auth.c — see auth.h */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

/* ---- auth (docs/design.md §12): bearer tokens compared in constant time ---- */

static int ct_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < lb; i++)
        d |= (unsigned char)(a[i % (la ? la : 1)] ^ b[i]);
    return d == 0 && la == lb;
}

int sw_auth_has_role(const struct sw_api *api, struct MHD_Connection *c, unsigned role)
{
    struct sw_reply r = {0};
    int ok = sw_auth_require(api, c, role, &r, NULL) == 0;
    free(r.body);
    return ok;
}

int sw_auth_require(const struct sw_api *api, struct MHD_Connection *c, unsigned role, struct sw_reply *r,
                    const char **who)
{
    if (who)
        *who = "open";
    if (api->cfg->ntokens == 0 || (role == SW_ROLE_READ && !api->cfg->read_requires_token))
        return 0;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0) {
        sw_reply_fail(r, SW_EUNAUTH, "missing bearer token (Authorization: Bearer <token>)");
        return -1;
    }
    const struct sw_token *found = NULL;
    for (int i = 0; i < api->cfg->ntokens; i++)
        if (ct_equal(api->cfg->tokens[i].secret, h + 7))
            found = &api->cfg->tokens[i];
    if (!found) {
        sw_reply_fail(r, SW_EUNAUTH, "unknown token");
        return -1;
    }
    if (!(found->roles & role)) {
        sw_reply_fail(r, SW_EFORBIDDEN, "token \"%s\" lacks the role this request needs", found->name);
        return -1;
    }
    if (who)
        *who = found->name;
    return 0;
}
