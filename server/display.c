/* display.c — the "display" section of the config and GET /api/v1/display (display.h). */
#include "display.h"

#include "reply.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int zone_name_ok(const char *z)
{
    if (!z[0] || z[0] == '/' || strstr(z, ".."))
        return 0;
    for (const char *p = z; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("/_+-", *p)))
            return 0;
    return 1;
}

/* Where the zone database is, the name must be in it (a typo would silently show UTC in browsers). */
static int zone_known(const char *z)
{
    struct stat st;
    if (stat("/usr/share/zoneinfo", &st) != 0)
        return 1; /* no database here to ask: the browser's own decides */
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", z);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void server_zone(char *out, size_t n)
{
    const char *tz = getenv("TZ");
    if (tz && *tz == ':')
        tz++;
    if (tz && zone_name_ok(tz) && zone_known(tz)) {
        snprintf(out, n, "%s", tz);
        return;
    }
    char buf[256] = "";
    FILE *f = fopen("/etc/timezone", "r");
    if (f) {
        if (fgets(buf, sizeof buf, f))
            buf[strcspn(buf, " \n")] = 0;
        fclose(f);
        if (zone_name_ok(buf) && zone_known(buf)) {
            snprintf(out, n, "%s", buf);
            return;
        }
    }
    ssize_t len = readlink("/etc/localtime", buf, sizeof buf - 1);
    if (len > 0) {
        buf[len] = 0;
        const char *z = strstr(buf, "zoneinfo/");
        if (z && zone_name_ok(z + 9) && zone_known(z + 9)) {
            snprintf(out, n, "%s", z + 9);
            return;
        }
    }
    snprintf(out, n, "UTC");
}

void sw_display_parse(struct sw_display *disp, json_t *obj, struct sw_diag *d)
{
    static const char *const known[] = {"timezone", "kiosk_pages", "kiosk_seconds", NULL};
    static const char *const defpages[] = {"/", "/run.html", "/alarms.html"};
    memset(disp, 0, sizeof *disp);
    disp->seconds = 30;
    for (size_t i = 0; i < sizeof defpages / sizeof defpages[0]; i++)
        snprintf(disp->pages[disp->npages++], sizeof disp->pages[0], "%s", defpages[i]);
    server_zone(disp->timezone, sizeof disp->timezone);
    if (!obj)
        return;
    if (!json_is_object(obj)) {
        sw_diag_add(d, "$.display: must be an object");
        return;
    }
    sw_cfg_check_keys(obj, known, "$.display", d);
    const char *tz = sw_cfg_get_string(obj, "timezone", NULL, "$.display", d);
    if (tz) {
        if (strlen(tz) >= sizeof disp->timezone || !zone_name_ok(tz) || !zone_known(tz))
            sw_diag_add(
                d, "$.display.timezone: \"%s\" is not a time zone name (e.g. \"Europe/Zurich\", \"UTC\")",
                tz);
        else
            snprintf(disp->timezone, sizeof disp->timezone, "%s", tz);
    }
    disp->seconds = sw_cfg_get_number(obj, "kiosk_seconds", disp->seconds, 5, 3600, "$.display", d);
    json_t *pages = json_object_get(obj, "kiosk_pages");
    if (!pages)
        return;
    if (!json_is_array(pages) || json_array_size(pages) < 1 || json_array_size(pages) > SW_DISPLAY_PAGES) {
        sw_diag_add(d, "$.display.kiosk_pages: must be a list of 1 to %d site paths", SW_DISPLAY_PAGES);
        return;
    }
    disp->npages = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pages, i, p)
    {
        const char *s = json_string_value(p);
        if (!s || s[0] != '/' || strlen(s) >= sizeof disp->pages[0] || strstr(s, "//") || strchr(s, ':')) {
            sw_diag_add(d, "$.display.kiosk_pages[%zu]: must be a path on this site, e.g. \"/run.html\"", i);
            continue;
        }
        snprintf(disp->pages[disp->npages++], sizeof disp->pages[0], "%s", s);
    }
}

void sw_display_reply(const struct sw_display *disp, struct sw_reply *r)
{
    json_t *pages = json_array();
    for (int i = 0; i < disp->npages; i++)
        json_array_append_new(pages, json_string(disp->pages[i]));
    sw_reply_json(r, 200,
                  json_pack("{s:s, s:{s:o, s:f}}", "timezone", disp->timezone, "kiosk", "pages", pages,
                            "seconds", disp->seconds));
}
