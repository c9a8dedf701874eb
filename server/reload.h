/* reload.h — the profile in force, and replacing it while the server runs (issue 7): SIGHUP and
 * POST /api/v1/admin/reload re-read the profile file the config names (config.profile_path) and
 * apply it. Only the profile is reloaded; the rest of the config (listen, db, www, threads,
 * tokens, limits, spill timeout, stream settings, log level) stays as it was at start-up.
 *
 * How threads hold the profile: the profile is an immutable, reference-counted heap object
 * (config.h: sw_profile_adopt / sw_profile_ref / sw_profile_unref). This module holds the current
 * one behind a mutex; sw_reload_profile hands out a new reference, which a request keeps until it
 * has answered. The engine, the alarm rules and the hooks hold references of their own, which a
 * reload replaces through their set_profile functions; each open spill holds the profile it was
 * opened with until it closes (engine.h). The last reference frees a profile.
 *
 * A reload, in order: parse and validate the file (refused with every problem, nothing changed);
 * identical version (content hash) -> nothing to do; build the new profile's check references
 * from the database; start new hook threads when the hook definitions changed; switch the engine
 * (spills opened from now on), the alarm rules (state carried by rule name) and the current
 * pointer; stop the replaced hooks (their queued notices get one last attempt: a reload that
 * changes hooks waits up to about a second plus one delivery timeout). Reloads run one at a time.
 *
 * Threads: sw_reload_profile and sw_reload_apply from any thread (apply may block as said above:
 * the main thread for SIGHUP, one HTTP thread for the endpoint); new/free from the main thread.
 */
#ifndef SW_RELOAD_H
#define SW_RELOAD_H

#include <jansson.h>

#include "config.h"

struct sw_reload;
struct sw_engine;
struct sw_alarms;
struct sw_hooks;
struct sw_store;

/* Takes over the caller's reference to p (the profile in force) and hooks (started with p; stopped
 * by sw_reload_free, or by a reload that replaces them); borrows the rest, which must outlive it.
 * dashboard is passed to hooks started by reloads. NULL on out of memory (nothing taken over). */
struct sw_reload *sw_reload_new(const struct sw_config *cfg, struct sw_profile *p, struct sw_store *store,
                                struct sw_engine *engine, struct sw_alarms *alarms, struct sw_hooks *hooks,
                                const char *dashboard);
/* Stops the hooks and drops the references. Call after the engine, the alarms and the HTTP
 * server are gone. Accepts NULL. */
void sw_reload_free(struct sw_reload *r);

/* The profile in force: a new reference (sw_profile_unref when done). Never NULL. */
struct sw_profile *sw_reload_profile(struct sw_reload *r);

/* Reloads the profile file. who names the requester for the log and the audit log (the token
 * name, or "SIGHUP"). Returns 0 when the new profile is in force (or was already: "changed":
 * false), or -1 when it was refused (the old one stays). *answer (new reference) is the JSON the
 * endpoint sends: {"reloaded", "changed", "old": {"name","version"}, "new": {...}, "not_reloaded":
 * [config keys], "open_spills_on_old_profile", "alarms": {"kept","dropped","added"}} on success;
 * {"error", "problems": [...], "profile": {"name","version"}} when refused. Everything is logged. */
int sw_reload_apply(struct sw_reload *r, const char *who, json_t **answer);

#endif
