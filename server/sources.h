/* sources.h — the engine's source table (engine-private; engine_impl.h has the state): one entry per
 * collector source (X-Spillwatch-Source) with its seq watermark, the seq last committed with a
 * spill, the lag it reported, and the collector instance that holds it (docs/design.md §6.4, §6.5).
 * The public side is in engine.h: sw_engine_source_seq, _holder, _release, _report, sw_engine_sources.
 *
 * Threads: the eng_* functions are called with e->mu held; the sw_engine_* ones take it. Entries
 * are never removed, so a pointer stays valid until the next eng_source_add and an index (spill
 * ->src) for the engine's life.
 */
#ifndef SW_SOURCES_H
#define SW_SOURCES_H

#include "engine_impl.h"

/* The source named name, or NULL. */
struct source *eng_source_find(struct sw_engine *e, const char *name);
/* The source named name, added with seq (and no watermark) when it is not known. NULL on out of
 * memory. */
struct source *eng_source_add(struct sw_engine *e, const char *name, int64_t seq);

/* Start-up: a watermark committed with a spill (the store's sources table). */
void eng_source_load(struct sw_engine *e, const char *name, int64_t seq);
/* Start-up: an open-spill marker of source opened at seq. A source without a committed spill yet
 * has no watermark in the sources table: the marker says it must resend from the batch that opened
 * the spill (its earliest marker counts). */
void eng_source_marker(struct sw_engine *e, const char *name, int64_t seq);

/* A collector instance takes or keeps its source before its batch is looked at (docs/design.md
 * §6.4). SW_OK; SW_EHELD with held, held_by, held_idle and error filled; or
 * SW_ENOMEM. instance NULL, or limits.source_lease 0, is never refused and takes nothing. */
int eng_source_hold(struct sw_engine *e, const char *source, const char *instance, int64_t seq,
                    struct sw_ingest_result *res);

/* The spills of a batch with seq were committed (the watermark went to disk with them). Takes
 * e->mu. */
void eng_source_committed(struct sw_engine *e, const char *source, int64_t seq);

#endif
