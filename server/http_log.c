/* http_log.c — see http_log.h */
#include "http_log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"

/* MHD's messages can repeat at the rate of connections (a flood at the connection limit): each kind
 * (its first 48 characters) is logged at most once per LOG_WINDOW seconds, and the next one that is
 * logged says how many were held back. */
#define LOG_WINDOW 10.0
#define LOG_KINDS  8
static struct {
    pthread_mutex_t mu;
    struct {
        char kind[49];
        double last;
        unsigned long held;
    } k[LOG_KINDS];
    int next;
} mhd_log = {.mu = PTHREAD_MUTEX_INITIALIZER};

void sw_http_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    double now = sw_mono();
    unsigned long held = 0;
    int say = 1;
    pthread_mutex_lock(&mhd_log.mu);
    int i = 0;
    while (i < LOG_KINDS && strncmp(mhd_log.k[i].kind, msg, 48) != 0)
        i++;
    if (i == LOG_KINDS) { /* a new kind takes the oldest slot */
        i = mhd_log.next;
        mhd_log.next = (mhd_log.next + 1) % LOG_KINDS;
        snprintf(mhd_log.k[i].kind, sizeof mhd_log.k[i].kind, "%.48s", msg);
        mhd_log.k[i].last = -1e300;
        mhd_log.k[i].held = 0;
    }
    if (now - mhd_log.k[i].last < LOG_WINDOW) {
        mhd_log.k[i].held++;
        say = 0;
    } else {
        held = mhd_log.k[i].held;
        mhd_log.k[i].held = 0;
        mhd_log.k[i].last = now;
    }
    pthread_mutex_unlock(&mhd_log.mu);
    /* A client that went away (a browser tab closed on the live stream, a dropped connection) is
     * routine: info, not a warning the shift crew learns to ignore. */
    int gone = strstr(msg, "socket is no longer available") || strstr(msg, "Connection reset") ||
               strstr(msg, "Broken pipe") || strstr(msg, "forcibly closed");
    if (say && held)
        sw_log(gone ? SW_LOG_INFO : SW_LOG_WARN, "http",
               "%s (and %lu more like it in the last %.0f s, not logged)", msg, held, LOG_WINDOW);
    else if (say)
        sw_log(gone ? SW_LOG_INFO : SW_LOG_WARN, "http", "%s", msg);
}
