/*
 * config_test: load the YAML files under tests/data/config/ and check the
 * snapshot field by field, the defaults, one error line per kind of bad
 * file (file:line:col and the key path), token lookup, refcounting and the
 * reload diff. No sockets; rules.dirs point at small directories here.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "config.h"
#include "crypto.h"
#include "item.h"

#define DATA TEST_DATA_DIR "/config/"

/* Load a file expected to fail; returns its error text (xfree it). */
static char *
config_test_errors(const char *name)
{
    struct config *cfg;
    struct buf errors;
    char path[512];

    snprintf(path, sizeof(path), "%s%s", DATA, name);
    buf_init(&errors, 64 * 1024);
    cfg = config_load(path, &errors);
    if (cfg != NULL) {
        fprintf(stderr, "  %s: loaded, expected errors\n", name);
        config_unref(cfg);
        buf_free(&errors);
        return NULL;
    }
    return buf_steal(&errors);
}

/* The variables good.yml reads secrets from. */
static void
config_test_env(void)
{
    setenv("CONFIG_TEST_LEAD_TOKEN", "lead-env-token", 1);
    setenv("CONFIG_TEST_VK_SECRET", "vk-env-secret", 1);
    setenv("CONFIG_TEST_YT_OAUTH", "yt-oauth-env", 1);
    setenv("CONFIG_TEST_VK_USER", "vk-user-env", 1);
}

static struct config *
config_test_load(const char *name)
{
    struct config *cfg;
    struct buf errors;
    char path[512];

    config_test_env();
    snprintf(path, sizeof(path), "%s%s", DATA, name);
    buf_init(&errors, 64 * 1024);
    if ((cfg = config_load(path, &errors)) == NULL)
        fprintf(stderr, "  %s: %s", name, errors.data ? errors.data : "?\n");
    buf_free(&errors);
    return cfg;
}

static size_t
config_test_lines(const char *s)
{
    size_t n = 0;

    for (; s != NULL && *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static bool
config_test_hash_is(const struct config_token *t, const char *secret)
{
    unsigned char h[CRYPTO_SHA256_LEN];

    crypto_sha256(secret, strlen(secret), h);
    return memcmp(h, t->sha256, sizeof(h)) == 0;
}

static int
test_good(void)
{
    struct config *cfg = config_test_load("good.yml");
    const struct route_rule *r;
    int rc = 0;

    CHECK(cfg != NULL);
    CHECK(cfg->refcnt == 1);
    CHECK_STR(cfg->path, DATA "good.yml");
    CHECK_STR(cfg->http.host, "::1");
    CHECK(cfg->http.port == 9090);
    CHECK(cfg->http.max_body == 2 * 1024 * 1024);
    CHECK(cfg->http.max_headers == 32 * 1024);
    CHECK(cfg->http.timeout_ms == 45000);
    CHECK(!cfg->http.metrics_public);

    CHECK(cfg->redis.host == NULL);
    CHECK_STR(cfg->redis.unix_path, "/tmp/config-test/redis.sock");
    CHECK_STR(cfg->redis.password, "redis-file-password");
    CHECK(cfg->redis.db == 3);
    CHECK_STR(cfg->redis.prefix, "test:");
    CHECK(cfg->redis.timeout_ms == 1500);
    CHECK(cfg->redis.reconnect_min_ms == 200);
    CHECK(cfg->redis.reconnect_max_ms == 10000);

    CHECK(cfg->rules.ndirs == 2);
    CHECK_STR(cfg->rules.dirs[0], DATA "rules_main");
    CHECK_STR(cfg->rules.dirs[1], DATA "rules_site");
    CHECK(cfg->rules.limits.match_limit == 5000);
    CHECK(cfg->rules.limits.depth_limit == 500);
    CHECK(cfg->rules.limits.heap_limit_kib == 4096);
    CHECK(cfg->ruleset != NULL);

    CHECK(cfg->ntokens == 4);
    CHECK_STR(cfg->tokens[0].name, "ingest-bot");
    CHECK(cfg->tokens[0].role == CONFIG_ROLE_INGEST);
    CHECK(config_test_hash_is(&cfg->tokens[0], "s3cret-ingest"));
    CHECK_STR(cfg->tokens[1].name, "agent.anna");
    CHECK(cfg->tokens[1].role == CONFIG_ROLE_AGENT);
    CHECK(config_test_hash_is(&cfg->tokens[1], "agent-file-token"));
    CHECK_STR(cfg->tokens[2].name, "lead_1");
    CHECK(cfg->tokens[2].role == CONFIG_ROLE_LEAD);
    CHECK(config_test_hash_is(&cfg->tokens[2], "lead-env-token"));
    CHECK_STR(cfg->tokens[3].name, "root");
    CHECK(cfg->tokens[3].role == CONFIG_ROLE_ADMIN);
    CHECK(config_test_hash_is(&cfg->tokens[3], "admin-secret"));

    CHECK(cfg->queue.nnames == 3);
    CHECK_STR(cfg->queue.names[0], "general");
    CHECK_STR(cfg->queue.names[1], "moderation");
    CHECK_STR(cfg->queue.names[2], "sales");
    CHECK_STR(cfg->routes.default_queue, "sales");
    CHECK_STR(cfg->queue.group, "workers");
    CHECK(cfg->queue.item_ttl_ms == 7LL * 86400 * 1000);
    CHECK(cfg->queue.ingest_maxlen == 5000);
    CHECK(cfg->queue.retry_after_s == 9);
    CHECK(cfg->queue.deadletter_maxlen == 50);

    CHECK(cfg->routes.nrules == 2);
    r = &cfg->routes.rules[0];
    CHECK_STR(r->queue, "moderation");
    CHECK(r->ncategories == 2);
    CHECK_STR(r->categories[0], "spam");
    CHECK_STR(r->categories[1], "abuse");
    CHECK(r->nplatforms == 1);
    CHECK_STR(r->platforms[0], "facebook");
    CHECK(r->naccounts == 2);
    CHECK_STR(r->accounts[0], "1234");
    CHECK_STR(r->accounts[1], "5678");
    CHECK(r->nlangs == 1);
    CHECK_STR(r->langs[0], "ru");
    CHECK(r->kinds == ((1u << ITEM_KIND_COMMENT) | (1u << ITEM_KIND_DM)));
    CHECK(r->min_score == 2.5);
    r = &cfg->routes.rules[1];
    CHECK_STR(r->queue, "general");
    CHECK(r->ncategories == 0 && r->nplatforms == 0 && r->naccounts == 0);
    CHECK(r->kinds == 1u << ITEM_KIND_MENTION);
    CHECK(r->min_score == 0);

    CHECK(cfg->limits.max_text == 8192);
    CHECK(cfg->limits.max_attachments == 4);
    CHECK(cfg->shutdown.drain_timeout_ms == 3000);
    CHECK(cfg->log.level == LOG_LEVEL_WARN);
    CHECK_STR(cfg->log.debug, "queue,http");

out:
    config_unref(cfg);
    return rc;
}

static int
test_defaults(void)
{
    struct config *cfg = config_test_load("defaults.yml");
    int rc = 0;

    CHECK(cfg != NULL);
    CHECK_STR(cfg->http.host, "127.0.0.1");
    CHECK(cfg->http.port == 8080);
    CHECK(cfg->http.max_body == 1024 * 1024);
    CHECK(cfg->http.max_headers == 16 * 1024);
    CHECK(cfg->http.timeout_ms == 30000);
    CHECK(cfg->http.metrics_public);
    CHECK_STR(cfg->redis.host, "127.0.0.1");
    CHECK(cfg->redis.port == 6379);
    CHECK(cfg->redis.unix_path == NULL);
    CHECK(cfg->redis.password == NULL);
    CHECK(cfg->redis.db == 0);
    CHECK_STR(cfg->redis.prefix, "inboxd:");
    CHECK(cfg->redis.timeout_ms == 2000);
    CHECK(cfg->redis.reconnect_min_ms == 100);
    CHECK(cfg->redis.reconnect_max_ms == 5000);
    CHECK(cfg->rules.ndirs == 1);
    CHECK_STR(cfg->rules.dirs[0], INBOXD_RULES_DIR);
    CHECK(cfg->rules.limits.match_limit == 100000);
    CHECK(cfg->rules.limits.depth_limit == 10000);
    CHECK(cfg->rules.limits.heap_limit_kib == 20480);
    CHECK(cfg->ntokens == 0 && cfg->tokens == NULL);
    CHECK(cfg->queue.nnames == 1);
    CHECK_STR(cfg->queue.names[0], "general");
    CHECK_STR(cfg->routes.default_queue, "general");
    CHECK(cfg->routes.nrules == 0);
    CHECK_STR(cfg->queue.group, "responders");
    CHECK(cfg->queue.item_ttl_ms == 30LL * 86400 * 1000);
    CHECK(cfg->queue.ingest_maxlen == 100000);
    CHECK(cfg->queue.retry_after_s == 5);
    CHECK(cfg->queue.deadletter_maxlen == 1000);
    CHECK(cfg->naccounts == 0 && cfg->accounts == NULL);
    CHECK(cfg->conn_accounts == NULL);
    CHECK(cfg->limits.max_text == 64 * 1024);
    CHECK(cfg->limits.max_attachments == 32);
    CHECK(cfg->shutdown.drain_timeout_ms == 10000);
    CHECK(cfg->log.level == LOG_LEVEL_INFO);
    CHECK(cfg->log.debug == NULL);

out:
    config_unref(cfg);
    return rc;
}

static int
test_accounts(void)
{
    struct config *cfg = config_test_load("good.yml");
    const struct connector_account *c;
    const struct config_account *a;
    int rc = 0;

    CHECK(cfg != NULL);
    CHECK(cfg->naccounts == 5);
    CHECK(cfg->conn_accounts != NULL);

    a = &cfg->accounts[0];
    c = &cfg->conn_accounts[0];
    CHECK_STR(a->platform, CONNECTOR_FACEBOOK);
    CHECK_STR(a->id, "137542570280222");
    CHECK_STR(a->name, "acme-page");
    /* The file's trailing newline is not part of the secret. */
    CHECK_STR(a->app_secret, "meta-app-secret-from-file");
    CHECK_STR(a->verify_token, "meatyhamhock");
    CHECK(a->nself_ids == 1);
    CHECK_STR(a->self_ids[0], "1440971912666228");
    CHECK(a->vk_secret == NULL && a->webhook_secret == NULL);
    /* The connectors' view borrows the same strings. */
    CHECK(c->platform == a->platform && c->id == a->id);
    CHECK(c->app_secret == a->app_secret);
    CHECK(c->verify_token == a->verify_token);
    CHECK(c->nself_ids == 1 && c->self_ids[0] == a->self_ids[0]);

    a = &cfg->accounts[1];
    CHECK_STR(a->platform, CONNECTOR_INSTAGRAM);
    CHECK_STR(a->id, "17841400000000000");
    CHECK(a->name == NULL);
    CHECK_STR(a->app_secret, "ig-app-secret");
    CHECK(a->verify_token == NULL);

    a = &cfg->accounts[2];
    c = &cfg->conn_accounts[2];
    CHECK_STR(a->platform, CONNECTOR_VK);
    CHECK_STR(a->id, "192764727");
    CHECK_STR(a->name, "acme.vk");
    CHECK_STR(a->vk_confirmation, "693d0ba9");
    CHECK_STR(a->vk_secret, "vk-env-secret");
    CHECK(a->nself_ids == 2);
    CHECK_STR(a->self_ids[0], "-192764727");
    CHECK_STR(a->self_ids[1], "499047616");
    CHECK(c->vk_confirmation == a->vk_confirmation);
    CHECK(c->vk_secret == a->vk_secret);
    CHECK(c->app_secret == NULL);

    a = &cfg->accounts[3];
    c = &cfg->conn_accounts[3];
    CHECK_STR(a->platform, CONNECTOR_TELEGRAM);
    CHECK_STR(a->id, "123456789");
    CHECK_STR(a->webhook_secret, "tg-Webhook_secret-1");
    CHECK_STR(a->bot_token, "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw");
    CHECK(c->telegram_secret == a->webhook_secret);

    a = &cfg->accounts[4];
    CHECK_STR(a->platform, CONNECTOR_YOUTUBE);
    CHECK_STR(a->id, "UC_x5XG1OV2P6uZZ5FSM9Ttw");
    CHECK_STR(a->api_key, "yt-api-key");
    CHECK_STR(a->oauth_token, "yt-oauth-env");

out:
    config_unref(cfg);
    return rc;
}

static int
test_bad_accounts(void)
{
    char *e = NULL, *e2 = NULL;
    int rc = 0;

    config_test_env();
    unsetenv("CONFIG_TEST_UNSET_VAR");
    e = config_test_errors("bad_accounts.yml");
    CHECK_CONTAINS(e, "bad_accounts.yml:2:15: accounts[0].platform: "
        "unknown platform \"myspace\"; expected facebook, instagram, vk, "
        "telegram or youtube\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:4:5: accounts[1].id: missing\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:7:9: accounts[2].id: must be a "
        "positive whole number of at most 20 digits\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:11:5: accounts[3].app_secret: "
        "only for facebook and instagram accounts\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:12:22: accounts[3].webhook_secret: "
        "must be 1 to 256 of A-Z a-z 0-9 _ - (Telegram's rule)\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:16:5: accounts[4].app_secret_env: "
        "give only one of app_secret, app_secret_file, app_secret_env\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:17:5: accounts[5].app_secret: "
        "missing (instagram accounts need it)\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:21:17: accounts[6].bot_token: "
        "is the token of another bot: the number before ':' must equal "
        "id\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:25:5: accounts[7].colour: "
        "unknown key\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:24:17: accounts[7].secret_env: "
        "variable CONFIG_TEST_UNSET_VAR is not set\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:29:5: accounts[9]: duplicate "
        "account youtube:UCabc (as accounts[8])\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:31:5: accounts[10].name: "
        "duplicate account name \"tube\"\n");
    CHECK_CONTAINS(e, "bad_accounts.yml:34:5: accounts[11]: expected a "
        "mapping with platform and id\n");
    CHECK(config_test_lines(e) == 13);
    /* No secret is ever quoted, not even a rejected one. */
    CHECK(strstr(e, "fb-secret") == NULL);
    CHECK(strstr(e, "vk-secret") == NULL);
    CHECK(strstr(e, "meta-secret") == NULL);
    CHECK(strstr(e, "has space") == NULL);
    CHECK(strstr(e, "AAHdq") == NULL);
    CHECK(strstr(e, "vk-env-secret") == NULL);

    e2 = config_test_errors("bad_accounts_shape.yml");
    CHECK_CONTAINS(e2, "bad_accounts_shape.yml:1:11: accounts: expected a "
        "list of accounts\n");

out:
    xfree(e);
    xfree(e2);
    return rc;
}

static int
test_unknown_key(void)
{
    char *e = config_test_errors("bad_unknown_key.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "bad_unknown_key.yml:3:3: redis.adress: unknown key\n");
    CHECK_CONTAINS(e, "bad_unknown_key.yml:4:1: colour: unknown key\n");
    CHECK(config_test_lines(e) == 2);

out:
    xfree(e);
    return rc;
}

static int
test_wrong_type(void)
{
    char *e = config_test_errors("bad_type.yml");
    int rc = 0;

    CHECK_CONTAINS(e,
        "bad_type.yml:2:14: http.max_body: expected a size like 1MiB\n");
    CHECK_CONTAINS(e,
        "bad_type.yml:3:19: http.metrics_public: expected true or false\n");
    CHECK_CONTAINS(e, "bad_type.yml:5:11: queues.names: expected a list");

out:
    xfree(e);
    return rc;
}

static int
test_bad_size(void)
{
    char *e = config_test_errors("bad_size.yml");
    int rc = 0;

    CHECK_CONTAINS(e,
        "bad_size.yml:2:13: http.max_body: expected a size like 1MiB\n");
    CHECK_CONTAINS(e, "bad_size.yml:3:16: http.max_headers: "
        "must be between 1KiB and 1MiB\n");
    CHECK_CONTAINS(e, "bad_size.yml:5:15: rules.heap_limit: "
        "must be a multiple of 1KiB\n");

out:
    xfree(e);
    return rc;
}

static int
test_bad_duration(void)
{
    char *e = config_test_errors("bad_duration.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "bad_duration.yml:2:12: http.timeout: "
        "expected a duration like 30s\n");
    CHECK_CONTAINS(e, "bad_duration.yml:4:16: queues.retry_after: "
        "must be a multiple of 1s\n");
    CHECK_CONTAINS(e, "bad_duration.yml:7:18: redis.reconnect_max: "
        "must be at least redis.reconnect_min (2s)\n");

out:
    xfree(e);
    return rc;
}

static int
test_bad_addr(void)
{
    char *e = config_test_errors("bad_addr.yml");
    int rc = 0;

    CHECK_CONTAINS(e,
        "bad_addr.yml:1:9: listen: expected host:port or [v6]:port\n");
    CHECK_CONTAINS(e, "bad_addr.yml:3:12: redis.address: expected "
        "host:port, [v6]:port or unix:/path\n");

out:
    xfree(e);
    return rc;
}

static int
test_bad_role(void)
{
    char *e = config_test_errors("bad_role.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "bad_role.yml:3:11: tokens[0].role: "
        "unknown role \"boss\"");
    CHECK_CONTAINS(e, "bad_role.yml:5:5: tokens[1].name: missing\n");

out:
    xfree(e);
    return rc;
}

static int
test_route_unknown_queue(void)
{
    char *e = config_test_errors("bad_route_queue.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "bad_route_queue.yml:4:12: routes[1].queue: "
        "queue \"nowhere\" is not in queues.names\n");
    CHECK_CONTAINS(e, "bad_route_queue.yml:7:16: routes[2].kind[1]: "
        "unknown kind");
    CHECK_CONTAINS(e, "bad_route_queue.yml:10:12: queues.default: "
        "queue \"elsewhere\" is not in queues.names\n");
    CHECK(config_test_lines(e) == 3);

out:
    xfree(e);
    return rc;
}

static int
test_duplicate_token(void)
{
    char *e = config_test_errors("bad_dup_token.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "bad_dup_token.yml:5:5: tokens[1].name: "
        "duplicate token name \"bot\"\n");
    CHECK_CONTAINS(e, "bad_dup_token.yml:8:5: tokens[2]: same token as");
    CHECK(strstr(e, "token-one") == NULL);

out:
    xfree(e);
    return rc;
}

static int
test_token_env_unset(void)
{
    char *e;
    int rc = 0;

    unsetenv("CONFIG_TEST_UNSET_VAR");
    e = config_test_errors("bad_token_env.yml");
    CHECK_CONTAINS(e, "bad_token_env.yml:4:16: tokens[0].token_env: "
        "variable CONFIG_TEST_UNSET_VAR is not set\n");

out:
    xfree(e);
    return rc;
}

static int
test_two_secrets(void)
{
    char *e;
    int rc = 0;

    setenv("CONFIG_TEST_LEAD_TOKEN", "lead-env-token", 1);
    e = config_test_errors("bad_two_secrets.yml");
    CHECK_CONTAINS(e, "bad_two_secrets.yml:5:5: tokens[0].token_env: "
        "give only one of token, token_file, token_env, token_sha256\n");
    CHECK_CONTAINS(e, "bad_two_secrets.yml:8:3: redis.password_env: "
        "give only one of password, password_file, password_env\n");
    CHECK(strstr(e, "hunter") == NULL);
    CHECK(strstr(e, "lead-env-token") == NULL);

out:
    xfree(e);
    return rc;
}

static int
test_syntax_error(void)
{
    char *e = config_test_errors("bad_syntax.yml");
    int rc = 0;

    /* The place is libfyaml's; that there is one is ours. */
    CHECK_CONTAINS(e, "bad_syntax.yml:5:3: YAML syntax: ");
    CHECK(config_test_lines(e) >= 1);

out:
    xfree(e);
    return rc;
}

/*
 * Bytes that are not UTF-8 are refused before libfyaml sees them: on a
 * directive line, libfyaml 0.7 would loop forever (and so would a
 * reload). A directory is not a config.
 */
static int
test_not_utf8(void)
{
    char *e = config_test_errors("bad_utf8.yml"), *e2 = NULL;
    int rc = 0;

    CHECK_STR(e, DATA "bad_utf8.yml:3:2: not valid UTF-8 (byte 0xff)\n");
    e2 = config_test_errors("rules_main");
    CHECK_CONTAINS(e2, "rules_main: is a directory\n");

out:
    xfree(e);
    xfree(e2);
    return rc;
}

static int
test_empty_and_root(void)
{
    char *e = config_test_errors("empty.yml"), *e2 = NULL, *e3 = NULL;
    int rc = 0;

    CHECK_CONTAINS(e, "empty.yml:1:1: empty config\n");
    e2 = config_test_errors("bad_root.yml");
    CHECK_CONTAINS(e2, "bad_root.yml:1:3: the top level must be a mapping");
    e3 = config_test_errors("no-such-file.yml");
    CHECK_CONTAINS(e3, "no-such-file.yml: cannot open: ");

out:
    xfree(e);
    xfree(e2);
    xfree(e3);
    return rc;
}

static int
test_duplicate_key_and_alias(void)
{
    char *e = config_test_errors("bad_dup_key.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "bad_dup_key.yml:3:3: http.timeout: duplicate key\n");
    CHECK_CONTAINS(e, "bad_dup_key.yml:6:12: shutdown: YAML aliases");

out:
    xfree(e);
    return rc;
}

static int
test_bad_rule_dir(void)
{
    char *e = config_test_errors("bad_rule_dir.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "bad_rule_dir.yml:2:22: rules.dirs[1]: "
        DATA "no-such-dir: No such file or directory\n");

out:
    xfree(e);
    return rc;
}

static int
test_rules_load_fails(void)
{
    char *e = config_test_errors("bad_rules_load.yml");
    int rc = 0;

    /* The rule file's own line comes from rules_load; ours follows. */
    CHECK_CONTAINS(e, DATA "rules_broken/broken.yml:");
    CHECK_CONTAINS(e, "bad_rules_load.yml:2:10: rules.dirs: "
        "the rules did not load");

out:
    xfree(e);
    return rc;
}

static int
test_error_cap(void)
{
    char *e = config_test_errors("bad_many.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "bad_many.yml:20:1: unknown_20: unknown key\n");
    CHECK(strstr(e, "unknown_21") == NULL);
    CHECK_CONTAINS(e, "too many errors");
    CHECK(config_test_lines(e) == 21);

out:
    xfree(e);
    return rc;
}

static int
test_find_token(void)
{
    struct config *cfg = config_test_load("good.yml");
    const struct config_token *t;
    int rc = 0;

    CHECK(cfg != NULL);
    t = config_find_token(cfg, "s3cret-ingest", 13);
    CHECK(t != NULL);
    CHECK_STR(t->name, "ingest-bot");
    CHECK(t->role == CONFIG_ROLE_INGEST);
    t = config_find_token(cfg, "admin-secret", 12);
    CHECK(t != NULL && t->role == CONFIG_ROLE_ADMIN);
    t = config_find_token(cfg, "agent-file-token", 16);
    CHECK(t != NULL && t->role == CONFIG_ROLE_AGENT);
    t = config_find_token(cfg, "lead-env-token", 14);
    CHECK(t != NULL && t->role == CONFIG_ROLE_LEAD);
    /* Wrong, a prefix, an extension, the unstripped file content. */
    CHECK(config_find_token(cfg, "s3cret-ingesT", 13) == NULL);
    CHECK(config_find_token(cfg, "s3cret-ingest", 12) == NULL);
    CHECK(config_find_token(cfg, "s3cret-ingestX", 14) == NULL);
    CHECK(config_find_token(cfg, "agent-file-token\n", 17) == NULL);
    CHECK(config_find_token(cfg, "", 0) == NULL);
    CHECK_STR(config_role_name(CONFIG_ROLE_INGEST), "ingest");
    CHECK_STR(config_role_name(CONFIG_ROLE_AGENT), "agent");
    CHECK_STR(config_role_name(CONFIG_ROLE_LEAD), "lead");
    CHECK_STR(config_role_name(CONFIG_ROLE_ADMIN), "admin");

out:
    config_unref(cfg);
    return rc;
}

static int
test_refcount(void)
{
    struct config *cfg = config_test_load("good.yml");
    int rc = 0;

    CHECK(cfg != NULL);
    CHECK(config_ref(cfg) == cfg);
    CHECK(cfg->refcnt == 2);
    config_unref(cfg);
    /* Still alive: ASan would flag this read after a premature free. */
    CHECK(cfg->refcnt == 1);
    CHECK_STR(cfg->queue.group, "workers");
    config_unref(NULL);
    CHECK(config_ref(NULL) == NULL);

out:
    /* The last reference: everything goes (LeakSanitizer checks). */
    config_unref(cfg);
    return rc;
}

static int
test_diff_immutable(void)
{
    struct config *a = config_test_load("good.yml");
    struct config *b = config_test_load("good.yml");
    char diff[128];
    int rc = 0;

    CHECK(a != NULL && b != NULL);
    config_diff_immutable(a, b, diff, sizeof(diff));
    CHECK_STR(diff, "");

    /* Reloadable keys do not show. */
    b->http.max_body = 1024;
    b->log.level = LOG_LEVEL_DEBUG;
    config_diff_immutable(a, b, diff, sizeof(diff));
    CHECK_STR(diff, "");

    b->http.port = 9091;
    config_diff_immutable(a, b, diff, sizeof(diff));
    CHECK_STR(diff, "listen");

    b->redis.db = 4;
    crypto_free_secret(b->redis.password);
    b->redis.password = NULL;
    config_diff_immutable(a, b, diff, sizeof(diff));
    CHECK_STR(diff, "listen, redis.db, redis.password");

    /* A short buffer is cut, never overrun. */
    config_diff_immutable(a, b, diff, 8);
    CHECK_STR(diff, "listen");

out:
    config_unref(a);
    config_unref(b);
    return rc;
}

/* Fail each allocation of a good load in turn: NULL or whole, no leaks. */
static int
test_alloc_failures(void)
{
    struct config *cfg;
    struct buf errors;
    unsigned long total;
    int rc = 0;

    config_test_env();
    buf_init(&errors, 64 * 1024);
    alloc_fail_after(0);
    cfg = config_load(DATA "good.yml", &errors);
    total = alloc_fail_after(0);
    CHECK(cfg != NULL);
    config_unref(cfg);
    CHECK(total > 50);
    for (unsigned long n = 1; n <= total; n++) {
        buf_reset(&errors);
        alloc_fail_after(n);
        cfg = config_load(DATA "good.yml", &errors);
        alloc_fail_after(0);
        if (cfg != NULL) {
            CHECK(cfg->ntokens == 4 && cfg->routes.nrules == 2);
            CHECK(cfg->naccounts == 5 && cfg->conn_accounts != NULL);
            config_unref(cfg);
        }
    }

out:
    alloc_fail_after(0);
    buf_free(&errors);
    return rc;
}

/* ----------------------------------------- the responders' desk keys */

static int
test_desk_keys(void)
{
    struct config *cfg = config_test_load("desk.yml");
    struct config *def = config_test_load("defaults.yml");
    int rc = 0;

    CHECK(cfg != NULL && def != NULL);
    CHECK(cfg->queue.lease_ms == 90000);
    CHECK(cfg->queue.audit_maxlen == 5000);
    CHECK(cfg->ncanned == 2);
    CHECK_STR(cfg->canned[0].name, "thanks");
    CHECK_STR(cfg->canned[0].text, "Thanks {author_name}!");
    CHECK_STR(cfg->canned[1].name, "shipping");
    CHECK_STR(cfg->canned[1].text, "Hi {author_name}, {agent} here: "
        "parcels leave within {{2}} days.\n");
    CHECK(def->queue.lease_ms == 15 * 60 * 1000);
    CHECK(def->queue.audit_maxlen == 100000);
    CHECK(def->ncanned == 0 && def->canned == NULL);
out:
    config_unref(cfg);
    config_unref(def);
    return rc;
}

static int
test_moderation(void)
{
    struct config *cfg = config_test_load("moderation.yml");
    struct config *def = config_test_load("defaults.yml");
    const struct config_account *a;
    char *const *cats;
    const char *action;
    size_t n;
    bool dry;
    int rc = 0;

    CHECK(cfg != NULL && def != NULL);
    CHECK(cfg->actions.concurrency == 4 && cfg->actions.timeout_ms == 2000);
    CHECK(cfg->actions.max_attempts == 3);
    CHECK(def->actions.concurrency == 16 && def->actions.interval_ms == 250);
    CHECK(def->actions.backoff_min_ms == 1000);
    CHECK(def->actions.backoff_max_ms == 300000);
    CHECK_STR(cfg->platforms.vk.api_base, "http://127.0.0.1:9/method");
    CHECK_STR(cfg->platforms.vk.version, "5.131");
    CHECK_STR(def->platforms.facebook.api_base,
        "https://graph.facebook.com/v21.0");
    /* Nothing acts by default. */
    config_moderation(def, NULL, &cats, &n, &action, &dry);
    CHECK(action == NULL && n == 0);

    CHECK((a = config_find_account(cfg, "facebook", "1")) != NULL);
    CHECK_STR(a->access_token, "page-token");
    config_moderation(cfg, a, &cats, &n, &action, &dry);
    CHECK(n == 2 && strcmp(cats[1], "abuse") == 0);
    CHECK_STR(action, "hide");
    CHECK(!dry);

    CHECK((a = config_find_account(cfg, "vk", "2")) != NULL);
    CHECK_STR(a->user_token, "vk-user-env");
    config_moderation(cfg, a, &cats, &n, &action, &dry);
    CHECK(n == 1 && strcmp(cats[0], "spam") == 0);
    CHECK_STR(action, "delete");
    CHECK(dry);

    /* Telegram cannot hide: it inherits nothing, and deletes when told. */
    config_moderation(cfg, config_find_account(cfg, "telegram", "3"), &cats,
        &n, &action, &dry);
    CHECK(action == NULL);
    config_moderation(cfg, config_find_account(cfg, "telegram", "4"), &cats,
        &n, &action, &dry);
    CHECK_STR(action, "delete");
    /* moderate: [] turns it off for the account. */
    config_moderation(cfg, config_find_account(cfg, "instagram", "5"), &cats,
        &n, &action, &dry);
    CHECK(action == NULL);
    CHECK(config_find_account(cfg, "vk", "9") == NULL);
out:
    config_unref(cfg);
    config_unref(def);
    return rc;
}

static int
test_bad_moderation(void)
{
    char *e = config_test_errors("bad_moderation.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "moderation.categories[0]:");
    CHECK_CONTAINS(e, "moderation.action: expected hide or delete");
    CHECK_CONTAINS(e, "accounts[0].moderate_action: telegram messages "
        "cannot be hidden, only deleted");
    CHECK_CONTAINS(e, "accounts[0].dry_run: expected true or false");
    CHECK_CONTAINS(e, "accounts[1].access_token: only for");
    CHECK(config_test_lines(e) == 5);
out:
    xfree(e);
    return rc;
}

static int
test_bad_canned(void)
{
    char *e = config_test_errors("bad_canned.yml");
    char *f = config_test_errors("bad_canned_shape.yml");
    int rc = 0;

    CHECK_CONTAINS(e, "bad_canned.yml:4:10: queues.lease: must be between "
        "1s and 7d\n");
    CHECK_CONTAINS(e, "bad_canned.yml:6:3: canned.Thanks: a canned reply "
        "name must be 1 to 64 of a-z 0-9 _ -\n");
    CHECK_CONTAINS(e, "bad_canned.yml:7:11: canned.empty: expected the "
        "reply text\n");
    CHECK_CONTAINS(e, "bad_canned.yml:8:10: canned.typo: unknown "
        "placeholder");
    CHECK_CONTAINS(e, "canned.list: expected the reply text\n");
    CHECK(config_test_lines(e) == 5);
    CHECK_CONTAINS(f, "bad_canned_shape.yml:3:10: canned: expected a mapping "
        "of names to reply texts\n");
out:
    xfree(e);
    xfree(f);
    return rc;
}

/* web: off by default; root relative to the file; checked when on. */
static int
test_web_keys(void)
{
    struct config *cfg = config_test_load("web.yml");
    struct config *def = config_test_load("defaults.yml");
    char diff[256];
    char *err = NULL;
    int rc = 0;

    CHECK(cfg != NULL && def != NULL);
    CHECK(def->web.host == NULL);
    CHECK_STR(def->web.root, INBOXD_WEB_DIR);
    CHECK_STR(cfg->web.host, "127.0.0.1");
    CHECK(cfg->web.port == 0);
    CHECK_STR(cfg->web.root, DATA "rules_site");
    config_diff_immutable(def, cfg, diff, sizeof(diff));
    CHECK_STR(diff, "web.listen");
    err = config_test_errors("bad_web.yml");
    CHECK_CONTAINS(err, "web.root: ");
    CHECK_CONTAINS(err, "no_such_dir");
out:
    xfree(err);
    config_unref(cfg);
    config_unref(def);
    return rc;
}

/* Is the address text in the networks v[0..n)? */
static bool
config_test_in(const struct ratelimit_cidr *v, size_t n, const char *addr)
{
    struct ratelimit_key k;

    return ratelimit_key_parse(addr, strlen(addr), &k) == 0 &&
        ratelimit_cidr_match(v, n, &k);
}

/* The connection and source limits (http_guard.h), and their errors. */
static int
test_limits_keys(void)
{
    struct config *cfg = config_test_load("limits.yml");
    struct config *def = config_test_load("defaults.yml");
    char *err = NULL;
    int rc = 0;

    CHECK(cfg != NULL && def != NULL);
    /* Defaults, as docs/config.md gives them. */
    CHECK(def->http.request_timeout_ms == 30000);
    CHECK(def->http.max_connections == 4096);
    CHECK(def->http.ntrusted_proxies == 0);
    CHECK(def->http.sources.limits.connections == 64);
    CHECK(def->http.sources.limits.rate == 200);
    CHECK(def->http.sources.limits.burst == 2000);
    CHECK(def->http.sources.streams == 16);
    CHECK(def->http.sources.ipv6_prefix == 64);
    CHECK(def->http.sources.max_tracked == 16384);
    CHECK(def->http.sources.log_interval_ms == 60000);
    CHECK(def->web.sources.connections == 128);
    CHECK(def->web.sources.rate == 50);
    CHECK(def->web.sources.burst == 500);
    CHECK(def->http.sources.nexempt == 2);
    CHECK(config_test_in(def->http.sources.exempt, 2, "127.0.0.9"));
    CHECK(config_test_in(def->http.sources.exempt, 2, "::1"));
    CHECK(!config_test_in(def->http.sources.exempt, 2, "10.0.0.1"));

    CHECK(cfg->http.request_timeout_ms == 5000);
    CHECK(cfg->http.max_connections == 100);
    CHECK(cfg->http.ntrusted_proxies == 3);
    CHECK(config_test_in(cfg->http.trusted_proxies, 3, "10.0.0.1"));
    CHECK(config_test_in(cfg->http.trusted_proxies, 3, "2001:db8:1::5"));
    CHECK(config_test_in(cfg->http.trusted_proxies, 3, "192.0.2.7"));
    CHECK(!config_test_in(cfg->http.trusted_proxies, 3, "192.0.2.8"));
    CHECK(cfg->http.sources.limits.connections == 3);
    CHECK(cfg->http.sources.limits.rate == 10);
    CHECK(cfg->http.sources.limits.burst == 20);
    CHECK(cfg->http.sources.streams == 0);
    CHECK(cfg->http.sources.nexempt == 0);
    CHECK(cfg->http.sources.ipv6_prefix == 48);
    CHECK(cfg->http.sources.max_tracked == 128);
    CHECK(cfg->http.sources.log_interval_ms == 10000);
    CHECK(cfg->web.sources.connections == 0);
    CHECK(cfg->web.sources.rate == 1);
    CHECK(cfg->web.sources.burst == 1);

    err = config_test_errors("bad_limits.yml");
    CHECK_CONTAINS(err, "bad_limits.yml:5:21: http.trusted_proxies[0]: "
        "\"10.0.0.1/8\" is not an address or a network");
    CHECK_CONTAINS(err, "http.trusted_proxies[2]: \"localhost\" is not");
    CHECK_CONTAINS(err, "http.trusted_proxies[3]: expected an address or "
        "a network");
    CHECK(strstr(err, "trusted_proxies[1]") == NULL);
    CHECK_CONTAINS(err, "bad_limits.yml:7:13: http.sources.exempt: "
        "expected a list of networks");
    CHECK_CONTAINS(err, "http.sources.ipv6_prefix: must be between 32 "
        "and 128");
    CHECK_CONTAINS(err, "bad_limits.yml:9:18: http.sources.max_tracked: "
        "http.sources.max_tracked (500) must be above "
        "http.max_connections (500)");
out:
    xfree(err);
    config_unref(cfg);
    config_unref(def);
    return rc;
}

/*
 * spool: off by default; dir relative to the file, not created or
 * checked at load (the daemon makes it); its size keys must agree.
 */
static int
test_spool_keys(void)
{
    struct config *cfg = config_test_load("spool.yml");
    struct config *def = config_test_load("defaults.yml");
    char diff[256];
    char *err = NULL;
    int rc = 0;

    CHECK(cfg != NULL && def != NULL);
    CHECK(def->spool.dir == NULL);
    CHECK(def->spool.max_bytes == 256u << 20);
    CHECK(def->spool.segment_bytes == 4u << 20);
    CHECK(def->spool.retry_after_s == 30);
    CHECK_STR(cfg->spool.dir, DATA "spool_here");
    CHECK(cfg->spool.max_bytes == 1u << 20);
    CHECK(cfg->spool.segment_bytes == 64u << 10);
    CHECK(cfg->spool.retry_after_s == 60);
    config_diff_immutable(def, cfg, diff, sizeof(diff));
    CHECK_STR(diff, "spool.dir");
    err = config_test_errors("bad_spool.yml");
    CHECK_CONTAINS(err, "bad_spool.yml:4:9: spool.dir: must not be empty\n");
    CHECK_CONTAINS(err, "spool.segment_bytes: must not be above "
        "spool.max_bytes\n");
out:
    xfree(err);
    config_unref(cfg);
    config_unref(def);
    return rc;
}

static const struct check_case cases[] = {
    { "limits_keys", test_limits_keys },
    { "spool_keys", test_spool_keys },
    { "web_keys", test_web_keys },
    { "good", test_good },
    { "defaults", test_defaults },
    { "accounts", test_accounts },
    { "bad_accounts", test_bad_accounts },
    { "unknown_key", test_unknown_key },
    { "wrong_type", test_wrong_type },
    { "bad_size", test_bad_size },
    { "bad_duration", test_bad_duration },
    { "bad_addr", test_bad_addr },
    { "bad_role", test_bad_role },
    { "route_unknown_queue", test_route_unknown_queue },
    { "duplicate_token", test_duplicate_token },
    { "token_env_unset", test_token_env_unset },
    { "two_secrets", test_two_secrets },
    { "syntax_error", test_syntax_error },
    { "not_utf8", test_not_utf8 },
    { "empty_and_root", test_empty_and_root },
    { "duplicate_key_and_alias", test_duplicate_key_and_alias },
    { "bad_rule_dir", test_bad_rule_dir },
    { "rules_load_fails", test_rules_load_fails },
    { "error_cap", test_error_cap },
    { "find_token", test_find_token },
    { "refcount", test_refcount },
    { "diff_immutable", test_diff_immutable },
    { "alloc_failures", test_alloc_failures },
    { "desk_keys", test_desk_keys },
    { "bad_canned", test_bad_canned },
    { "moderation", test_moderation },
    { "bad_moderation", test_bad_moderation },
};

CHECK_MAIN(cases)
