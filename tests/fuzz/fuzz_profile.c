/* fuzz_profile.c — libFuzzer target: the config and profile loader.
 *
 * Each input is
 *   1. a profile as the API receives one (reeval dry runs): json_loadb, then sw_profile_parse;
 *   2. a profile file named by a fixed server config: sw_config_load of that config;
 *   3. a server config file itself: sw_config_load of the input (its "profile", when it names
 *      "profile.json", is the input again).
 * Files go to a private temporary directory made once and removed at exit. A parse either
 * succeeds or reports at least one problem; everything it allocated is released (leaks are
 * findings under ASan).
 *
 * Input: JSON text (a profile such as config/na64mu.json, or a server config). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], profile_path[96], config_path[96];

static void remove_dir(void)
{
    unlink(profile_path);
    unlink(config_path);
    rmdir(dir);
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%.40s/swfuzz.XXXXXX", tmp && *tmp && strlen(tmp) <= 40 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        abort();
    }
    snprintf(profile_path, sizeof profile_path, "%s/profile.json", dir);
    snprintf(config_path, sizeof config_path, "%s/spillwatch.json", dir);
    static const char config[] = "{\"profile\": \"profile.json\"}\n";
    write_file(config_path, config, sizeof config - 1);
    atexit(remove_dir);
    /* A token_file or secret_file of "/dev/stdin" must not wait for a terminal. */
    if (!freopen("/dev/null", "r", stdin))
        abort();
    return 0;
}

static void check_result(int rc, struct sw_diag *d)
{
    if ((rc == 0) != (d->n == 0))
        abort();
    sw_diag_release(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sw_diag d = {0};
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (root) {
        struct sw_profile prof;
        int rc = sw_profile_parse(&prof, root, "body", &d);
        check_result(rc, &d);
        sw_profile_release(&prof);
        json_decref(root);
    }

    write_file(profile_path, data, size);
    struct sw_config cfg;
    check_result(sw_config_load(&cfg, config_path, &d), &d);
    sw_config_release(&cfg);
    check_result(sw_config_load(&cfg, profile_path, &d), &d);
    sw_config_release(&cfg);
    return 0;
}
