/* http_log.h — part of http: libmicrohttpd's messages to the server log, each kind at most once per
 * 10 s with a count of those held back (a flood at the connection limit repeats them per connection);
 * a client that went away is info, not a warning.
 *
 * Threads: any (MHD's threads); its own mutex.
 */
#ifndef SW_HTTP_LOG_H
#define SW_HTTP_LOG_H

#include <stdarg.h>

/* MHD_OPTION_EXTERNAL_LOGGER. */
__attribute__((format(printf, 2, 0))) void sw_http_log(void *cls, const char *fmt, va_list ap);

#endif
