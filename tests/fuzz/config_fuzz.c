/*
 * config_fuzz: the config file (config.c, libfyaml). The input is
 * written as inboxd.yml into a scratch directory and loaded with
 * config_load, as inboxd -n does. The directory also holds links to
 * everything in tests/data/config (secret files, token files, rule
 * directories) and the environment has the variables the config tests
 * use, so relative paths and *_file / *_env keys resolve as they do
 * there. A config that does not load must say why; one that loads must
 * be consistent: routes name configured queues, the connector view of
 * each account is that account, and a snapshot differs from nothing in
 * itself.
 *
 * A config that leaves rules.dirs out gets the whole shipped rule set,
 * and compiling it takes half a second under ASan: such inputs are
 * skipped, or they would take over the run. Rule files have a target of
 * their own (rules_fuzz), and config_test loads the shipped set.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfyaml.h>

#include "buf.h"
#include "config.h"
#include "fuzz.h"
#include "util.h"

#define CONFIG_FUZZ_DATA FUZZ_SOURCE_DIR "/tests/data/config"

static char config_fuzz_file[128];

/* Link every entry of the config tests' data directory into dir. */
static void
config_fuzz_link_data(const char *dir)
{
    char from[1024], to[1024];
    struct dirent *de;
    DIR *d;

    if ((d = opendir(CONFIG_FUZZ_DATA)) == NULL) {
        perror(CONFIG_FUZZ_DATA);
        exit(1);
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "inboxd.yml") == 0)
            continue;
        snprintf(from, sizeof(from), "%s/%s", CONFIG_FUZZ_DATA, de->d_name);
        snprintf(to, sizeof(to), "%s/%s", dir, de->d_name);
        if (symlink(from, to) == -1) {
            perror(to);
            exit(1);
        }
    }
    closedir(d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir;

    (void)argc;
    (void)argv;
    fuzz_setup();
    dir = fuzz_tmpdir();
    config_fuzz_link_data(dir);
    snprintf(config_fuzz_file, sizeof(config_fuzz_file), "%s/inboxd.yml",
        dir);
    setenv("CONFIG_TEST_LEAD_TOKEN", "lead-env-token", 1);
    setenv("CONFIG_TEST_VK_SECRET", "vk-env-secret", 1);
    setenv("CONFIG_TEST_YT_OAUTH", "yt-oauth-env", 1);
    return 0;
}

/*
 * Would config_load fall back to the shipped rules? When the input is a
 * YAML mapping without rules.dirs (parsed as config.c parses it), it
 * may; anything else fails before rules are loaded, or loads the ones
 * named. Like config.c, never hand libfyaml bytes that are not UTF-8.
 */
static bool
config_fuzz_default_rules(const uint8_t *data, size_t size)
{
    struct fy_parse_cfg pcfg = {
        .flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS,
    };
    struct fy_document *doc;
    struct fy_node *root;
    bool dflt;

    if (!util_utf8_valid((const char *)data, size, NULL) ||
        (doc = fy_document_build_from_string(&pcfg, (const char *)data,
        size)) == NULL)
        return false;
    root = fy_document_root(doc);
    dflt = root != NULL && fy_node_is_mapping(root) &&
        fy_node_by_path(root, "/rules/dirs", FY_NT, FYNWF_DONT_FOLLOW) ==
        NULL;
    fy_document_destroy(doc);
    return dflt;
}

static bool
config_fuzz_has_queue(const struct config *cfg, const char *q)
{
    for (size_t i = 0; i < cfg->queue.nnames; i++)
        if (strcmp(cfg->queue.names[i], q) == 0)
            return true;
    return false;
}

static void
config_fuzz_check(const struct config *cfg)
{
    char diff[512];

    FUZZ_CHECK(cfg->refcnt == 1 && cfg->ruleset != NULL);
    FUZZ_CHECK(cfg->queue.nnames > 0);
    FUZZ_CHECK(cfg->routes.default_queue != NULL &&
        config_fuzz_has_queue(cfg, cfg->routes.default_queue));
    for (size_t i = 0; i < cfg->routes.nrules; i++)
        FUZZ_CHECK(config_fuzz_has_queue(cfg, cfg->routes.rules[i].queue));
    for (size_t i = 0; i < cfg->naccounts; i++) {
        FUZZ_CHECK(cfg->conn_accounts[i].platform ==
            cfg->accounts[i].platform);
        FUZZ_CHECK(cfg->conn_accounts[i].id == cfg->accounts[i].id);
    }
    for (size_t i = 0; i < cfg->ntokens; i++)
        FUZZ_CHECK(cfg->tokens[i].name != NULL &&
            cfg->tokens[i].name[0] != '\0');
    config_diff_immutable(cfg, cfg, diff, sizeof(diff));
    FUZZ_CHECK(diff[0] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *cfg;
    struct buf errors;

    if (config_fuzz_default_rules(data, size))
        return 0;
    if (fuzz_write_file(config_fuzz_file, data, size) == -1) {
        perror(config_fuzz_file);
        abort();
    }
    buf_init(&errors, 1 << 20);
    if ((cfg = config_load(config_fuzz_file, &errors)) == NULL)
        FUZZ_CHECK(errors.len > 0);
    else
        config_fuzz_check(cfg);
    config_unref(cfg);
    buf_free(&errors);
    return 0;
}
