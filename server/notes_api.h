/* notes_api.h — handover notes: what one shift leaves the next in words, shown with the shift
 * summary (docs/api.md, "Shift handover notes").
 *
 *   POST /api/v1/shift/notes {"shifter" (required), "text" (required, 1..8000 bytes), "from", "to"
 *        (Unix s, the shift range the note covers: both or neither, to >= from)}
 *        -> 201 {"note": NOTE}; stored (table handover_notes) and audited (action "handover", run
 *        null) in one transaction on the store's writer thread. A human write: the route table
 *        refuses it while the store refuses writes (503).
 *   GET  /api/v1/shift/notes?from=&to=&limit= -> {"notes": [NOTE...]}, newest first: the notes whose
 *        time or covered range overlaps [from, to] (either end may be absent: open).
 *
 * NOTE = {"id", "time", "who", "shifter", "text", "from", "to"} ("from", "to": null when the note
 * names no range). Every bad request gets a 400 naming the field.
 *
 * Threads: MHD pool threads; the write is queued to the writer (defer.h), reads use the calling thread's
 * read-only connection. No state of its own.
 */
#ifndef SW_NOTES_API_H
#define SW_NOTES_API_H

#include <stddef.h>

#include "ctx.h"
#include "reply.h"

/* The longest note text, in bytes. */
#define SW_NOTE_TEXT_MAX 8000

/* POST /api/v1/shift/notes; who is the token's name. */
void sw_notes_api_post(const struct sw_api *api, const char *who, const char *body, size_t len,
                       struct sw_reply *r);
/* GET /api/v1/shift/notes?from=&to=&limit= */
void sw_notes_api_list(const struct sw_api *api, struct MHD_Connection *c, struct sw_reply *r);

#endif
