/* display.h — how the dashboards show what they show: the display time zone and the kiosk rotation
 * (config "display", docs/configuration.md), parsed at start-up and served read-only as
 * GET /api/v1/display (docs/api.md). Owned by the config; read by MHD pool threads.
 */
#ifndef SW_DISPLAY_H
#define SW_DISPLAY_H

#include <jansson.h>

#include "cfgkit.h"

struct sw_reply;

#define SW_DISPLAY_PAGES 8

struct sw_display {
    char timezone[64];                /* IANA name, e.g. Europe/Zurich */
    char pages[SW_DISPLAY_PAGES][64]; /* kiosk rotation, site paths */
    int npages;
    double seconds; /* kiosk: s on each page */
};

/* Parses "display" (may be NULL: the defaults). The zone defaults to the server's own: $TZ, else
 * /etc/timezone, else the zone /etc/localtime links to, else UTC. Problems go to d under $.display. */
void sw_display_parse(struct sw_display *disp, json_t *obj, struct sw_diag *d);
/* GET /api/v1/display -> {"timezone", "kiosk": {"pages", "seconds"}} */
void sw_display_reply(const struct sw_display *disp, struct sw_reply *r);

#endif
