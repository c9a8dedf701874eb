/* export_api.h — the good-spill exports, self-describing (docs/api.md "Good-spill exports",
 * docs/exports.md): what an analysis takes from spillwatch to select its data.
 *
 * GET /api/v1/runs/{run}/good-spills?format=json|csv|ranges: the run's GOOD spills (effective flag,
 * a manual one over the checks' verdict) with a header that says what the list is: the run's start
 * and end, the profile (name, the versions that judged the spills), the sign-off (who, when,
 * comment) or "provisional" with the reasons (not signed off, still running, a spill open), the MOT
 * totals, the server's version and when the export was made. Every time is given as Unix seconds
 * and as ISO 8601 in UTC ("...Z"). JSON: the old fields plus "header" and "ranges"; CSV: "#" comment
 * lines, then the columns (the old six, then started_iso, ended_iso); ranges: {"<run>": [[first,
 * last], ...]}, the shape of CMS's golden JSON. Every answer names a file (Content-Disposition):
 * spillwatch-run<R>-good-spills[-provisional].json|csv, spillwatch-run<R>-good-spill-ranges[...].json.
 *
 * GET /api/v1/good-spills?runs=A[-B]&format=ranges|json&provisional=0|1: the same over a period
 * (every stored run without runs), the signed-off runs only unless provisional=1 (then the file name
 * says -provisional).
 *
 * Reads on the calling thread's read-only connection, the engine's live view (open spills) and the
 * profile in force. Threads: MHD pool threads. Every function fills the reply (errors included).
 */
#ifndef SW_EXPORT_API_H
#define SW_EXPORT_API_H

#include <microhttpd.h>
#include <stdint.h>

#include "ctx.h"
#include "reply.h"

/* GET /api/v1/runs/{run}/good-spills (query: format). */
void sw_export_api_run(const struct sw_api *api, struct MHD_Connection *c, int64_t run, struct sw_reply *r);

/* GET /api/v1/good-spills (query: runs, format, provisional). */
void sw_export_api_period(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r);

/* t (Unix s) as ISO 8601 UTC with milliseconds, "2026-12-02T16:51:42.123Z" (out: 32 bytes); ""
 * when t is not finite or out of range. */
void sw_export_iso_utc(double t, char *out, size_t outlen);

#endif
