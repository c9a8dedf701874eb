/* fuzz.h — shared by the libFuzzer targets in tests/fuzz: the server config (and so the NA64mu
 * profile) every target runs against, loaded once the way the server loads it.
 *
 * Threads: libFuzzer runs a target on one thread; nothing here locks.
 */
#ifndef SW_FUZZ_H
#define SW_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include "config.h"

/* The server config the targets use: SW_FUZZ_CONFIG from the environment, else the repository's
 * config/spillwatch.json (compiled in by tests/fuzz/CMakeLists.txt). */
static inline const char *sw_fuzz_config_path(void)
{
    const char *env = getenv("SW_FUZZ_CONFIG");
    return env && *env ? env : SW_FUZZ_DEFAULT_CONFIG;
}

/* Loads the config into cfg as sw_config_load does at server start-up; on failure prints every
 * problem and exits, since a target without its profile would fuzz nothing. */
static inline void sw_fuzz_load_config(struct sw_config *cfg)
{
    struct sw_diag d = {0};
    if (sw_config_load(cfg, sw_fuzz_config_path(), &d) != 0) {
        for (int i = 0; i < d.n; i++)
            fprintf(stderr, "fuzz: %s\n", d.msg[i]);
        fprintf(stderr, "fuzz: cannot load the config \"%s\"\n", sw_fuzz_config_path());
        exit(1);
    }
    sw_diag_release(&d);
}

#endif
