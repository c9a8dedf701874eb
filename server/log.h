/* log.h — leveled log lines to stderr: "2026-11-24T15:00:00.123Z warn ingest: message".
 * Any thread (one fprintf per line; stderr is unbuffered, lines do not interleave in practice). */
#ifndef SW_LOG_H
#define SW_LOG_H

enum sw_log_level { SW_LOG_DEBUG = 0, SW_LOG_INFO, SW_LOG_WARN, SW_LOG_ERROR };

/* Lines below this level are dropped. Set once at start-up, before threads. */
void sw_log_set_level(enum sw_log_level level);
/* "debug" | "info" | "warn" | "error" -> level, or -1. */
int sw_log_parse_level(const char *name);

void sw_log(enum sw_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define sw_debug(mod, ...) sw_log(SW_LOG_DEBUG, mod, __VA_ARGS__)
#define sw_info(mod, ...)  sw_log(SW_LOG_INFO, mod, __VA_ARGS__)
#define sw_warn(mod, ...)  sw_log(SW_LOG_WARN, mod, __VA_ARGS__)
#define sw_error(mod, ...) sw_log(SW_LOG_ERROR, mod, __VA_ARGS__)

#endif
