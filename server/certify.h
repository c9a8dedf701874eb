/* certify.h — the human side of quality (docs/design.md §8): manual flags on one spill or a range, the
 * audit log, run sign-off and re-opening (the good-spill exports: export_api.h).
 *
 * Writes are queued to the store's writer thread (defer.h: the connection waits suspended, not its
 * thread), so there is still one writer; reads use the calling thread's read-only connection.
 * Threads: MHD pool threads.
 * Every function fills the reply (JSON errors with the right status included).
 */
#ifndef SW_CERTIFY_H
#define SW_CERTIFY_H

#include <stdint.h>

#include "ctx.h"
#include "reply.h"

/* PUT /api/v1/runs/{run}/spills/{first[-last]}/flag with {"flag", "reason", "comment", "shifter"};
 * "flag": null removes the manual flag. who is the token name. */
void sw_certify_put_flag(const struct sw_api *api, const char *who, int64_t run, int64_t first, int64_t last,
                         const char *body, size_t len, struct sw_reply *r);

/* POST /api/v1/runs/{run}/signoff {"comment", "shifter", "force"} and /reopen {"reason", "comment",
 * "shifter"}. A run is signed off after its run_end; before, only with "force": true by a token with
 * the admin role (admin != 0), audited as such. A signed-off run takes no new spills (engine.h). */
void sw_certify_signoff(const struct sw_api *api, const char *who, int admin, int64_t run, const char *body,
                        size_t len, struct sw_reply *r);
void sw_certify_reopen(const struct sw_api *api, const char *who, int64_t run, const char *body, size_t len,
                       struct sw_reply *r);

/* GET /api/v1/audit?run=&spill=&limit=&before= */
void sw_certify_audit(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r);

#endif
