/*
 * escalate_config: the escalation: section of the config file into a
 * struct escalate_config (escalate.h; docs/escalation.md, "Config").
 * config.c hands the section over as JSON (every scalar a string) and
 * turns the key paths of our complaints back into file positions; this
 * file knows the section's shape: teams (sched.c parses each), people,
 * channels, policies, and the triggers that use them.
 *
 * Time zones are read here, from escalation.zoneinfo, so that sched
 * stays free of I/O. Channel secrets (a Slack webhook URL, a bot token,
 * a routing key, an HMAC key) come as <key>, <key>_env or <key>_file
 * like every other secret, and are wiped when the snapshot goes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "alloc.h"
#include "crypto.h"
#include "escalate.h"
#include "sched.h"
#include "util.h"

#define EC_PATH_MAX     256
#define EC_TZIF_MAX     (1u << 20)
#define EC_SECRET_MAX   4096
#define EC_TEXT_MAX     4096
#define EC_LIST_MAX     256
#define EC_STEPS_MAX    16

struct ec_ctx {
    escalate_err_fn *err;
    void *arg;
    int nerr;
    const char *dir;
    struct escalate_config *ec;
};

static const char *const ec_channel_types[] = {
    [ESCALATE_CH_SLACK] = "slack",
    [ESCALATE_CH_TELEGRAM] = "telegram",
    [ESCALATE_CH_PAGERDUTY] = "pagerduty",
    [ESCALATE_CH_WEBHOOK] = "webhook",
};

const char *
escalate_channel_type_name(enum escalate_channel_type t)
{
    return ec_channel_types[t];
}

static void __attribute__((format(printf, 3, 4)))
ec_err(struct ec_ctx *c, const char *path, const char *fmt, ...)
{
    char msg[320];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->nerr++;
    c->err(c->arg, path, msg);
}

static void
ec_sched_err(void *arg, const char *path, const char *msg)
{
    struct ec_ctx *c = arg;

    c->nerr++;
    c->err(c->arg, path, msg);
}

/* A path this long is cut; the message still names its start. */
static void
ec_join(char *out, const char *base, const char *key)
{
    int n = snprintf(out, EC_PATH_MAX, "%s.%s", base, key);

    if (n < 0 || n >= EC_PATH_MAX)
        out[EC_PATH_MAX - 1] = '\0';
}

static void
ec_index(char *out, const char *base, size_t i)
{
    int n = snprintf(out, EC_PATH_MAX, "%s[%zu]", base, i);

    if (n < 0 || n >= EC_PATH_MAX)
        out[EC_PATH_MAX - 1] = '\0';
}

/* Report keys of obj not in keys (NULL-terminated). */
static void
ec_known(struct ec_ctx *c, const char *path, json_t *obj,
    const char *const *keys)
{
    char sub[EC_PATH_MAX];
    const char *k;
    json_t *v;
    size_t i;

    json_object_foreach(obj, k, v) {
        for (i = 0; keys[i] != NULL && strcmp(keys[i], k) != 0; i++)
            ;
        if (keys[i] == NULL) {
            ec_join(sub, path, k);
            ec_err(c, sub, "unknown key");
        }
    }
}

static bool
ec_name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || strchr("_.@-", ch) != NULL))
            return false;
    }
    return true;
}

static int
ec_duration(struct ec_ctx *c, const char *path, json_t *obj,
    const char *key, const char *def, int64_t min, int64_t max,
    int64_t *out)
{
    char sub[EC_PATH_MAX];
    json_t *v = json_object_get(obj, key);
    const char *s = v != NULL ? json_string_value(v) : def;

    ec_join(sub, path, key);
    if (s == NULL || util_parse_duration_ms(s, out) == -1) {
        ec_err(c, sub, "expected a duration like 15m");
        return -1;
    }
    if (*out < min || *out > max) {
        ec_err(c, sub, "out of range");
        return -1;
    }
    return 0;
}

static int
ec_int(struct ec_ctx *c, const char *path, json_t *obj, const char *key,
    const char *def, long min, long max, int64_t *out)
{
    char sub[EC_PATH_MAX];
    json_t *v = json_object_get(obj, key);
    const char *s = v != NULL ? json_string_value(v) : def;
    long n;

    ec_join(sub, path, key);
    if (s == NULL || util_parse_long(s, min, max, &n) == -1) {
        ec_err(c, sub, "expected a whole number from %ld to %ld", min, max);
        return -1;
    }
    *out = n;
    return 0;
}

static bool
ec_bool(struct ec_ctx *c, const char *path, json_t *obj, const char *key,
    bool def)
{
    char sub[EC_PATH_MAX];
    json_t *v = json_object_get(obj, key);
    const char *s = json_string_value(v);

    if (v == NULL)
        return def;
    if (s != NULL && strcmp(s, "true") == 0)
        return true;
    if (s != NULL && strcmp(s, "false") == 0)
        return false;
    ec_join(sub, path, key);
    ec_err(c, sub, "expected true or false");
    return def;
}

static char *
ec_dup(struct ec_ctx *c, const char *path, const char *s)
{
    char *d = xstrdup(s);

    if (d == NULL)
        ec_err(c, path, "out of memory");
    return d;
}

static void
ec_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xfree(v[i]);
    xfree(v);
}

/* A list of strings (or one string) at obj[key]; check may be NULL. */
static void
ec_strlist(struct ec_ctx *c, const char *path, json_t *obj, const char *key,
    bool (*check)(const char *), char ***out, size_t *n)
{
    char sub[EC_PATH_MAX], at[EC_PATH_MAX];
    json_t *v = json_object_get(obj, key), *e;
    size_t i;

    ec_join(sub, path, key);
    if (v == NULL)
        return;
    if (json_is_string(v)) {
        json_t *one = json_array();

        if (one == NULL || json_array_append(one, v) == -1) {
            json_decref(one);
            ec_err(c, sub, "out of memory");
            return;
        }
        v = one;
    } else if (!json_is_array(v) || json_array_size(v) > EC_LIST_MAX) {
        ec_err(c, sub, "expected a list of at most %d names", EC_LIST_MAX);
        return;
    } else {
        json_incref(v);
    }
    if (json_array_size(v) > 0 &&
        (*out = xcalloc(json_array_size(v), sizeof(char *))) == NULL) {
        ec_err(c, sub, "out of memory");
        json_decref(v);
        return;
    }
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);

        ec_index(at, sub, i);
        if (s == NULL || *s == '\0' || (check != NULL && !check(s))) {
            ec_err(c, at, "not a valid name");
            continue;
        }
        if (((*out)[*n] = ec_dup(c, at, s)) != NULL)
            (*n)++;
    }
    json_decref(v);
}

/* "platform:id". */
static bool
ec_account_ok(const char *s)
{
    const char *colon = strchr(s, ':');

    return colon != NULL && colon != s && colon[1] != '\0';
}

static bool
ec_kind_ok(const char *s)
{
    return strcmp(s, "comment") == 0 || strcmp(s, "reply") == 0 ||
        strcmp(s, "dm") == 0 || strcmp(s, "mention") == 0;
}

static bool
ec_url_ok(const char *s)
{
    return s != NULL && (util_str_has_prefix(s, "http://") ||
        util_str_has_prefix(s, "https://")) && strchr(s, ' ') == NULL;
}

/* Read a secret from a file, one trailing newline dropped. */
static char *
ec_read_file(struct ec_ctx *c, const char *path, const char *file)
{
    char full[4096], buf[EC_SECRET_MAX + 2];
    size_t n;
    FILE *fp;

    if (file[0] == '/')
        snprintf(full, sizeof(full), "%s", file);
    else
        snprintf(full, sizeof(full), "%s/%s", c->dir ? c->dir : ".", file);
    if ((fp = fopen(full, "r")) == NULL) {
        ec_err(c, path, "cannot read: %s", strerror(errno));
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    if (n > EC_SECRET_MAX) {
        crypto_wipe(buf, sizeof(buf));
        ec_err(c, path, "longer than %d bytes", EC_SECRET_MAX);
        return NULL;
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (n == 0 || memchr(buf, '\0', n) != NULL) {
        crypto_wipe(buf, sizeof(buf));
        ec_err(c, path, "empty");
        return NULL;
    }
    {
        char *s = ec_dup(c, path, buf);

        crypto_wipe(buf, sizeof(buf));
        return s;
    }
}

/* A secret given as key, key_env or key_file: exactly one. */
static char *
ec_secret(struct ec_ctx *c, const char *path, json_t *obj, const char *key,
    bool required)
{
    char sub[EC_PATH_MAX], name[64];
    const char *forms[3] = { "", "_env", "_file" };
    const char *given = NULL, *val = NULL;
    int which = -1, count = 0;

    for (int i = 0; i < 3; i++) {
        const char *s;

        snprintf(name, sizeof(name), "%s%s", key, forms[i]);
        if ((s = json_string_value(json_object_get(obj, name))) != NULL) {
            count++;
            which = i;
            val = s;
            given = forms[i];
        }
    }
    ec_join(sub, path, key);
    if (count > 1) {
        ec_err(c, sub, "give one of %s, %s_env, %s_file", key, key, key);
        return NULL;
    }
    if (count == 0) {
        if (required)
            ec_err(c, sub, "missing (give %s, %s_env or %s_file)", key, key,
                key);
        return NULL;
    }
    snprintf(sub, sizeof(sub), "%s.%s%s", path, key, given);
    if (which == 1) {
        const char *env = getenv(val);

        if (env == NULL || *env == '\0') {
            ec_err(c, sub, "the environment variable is not set");
            return NULL;
        }
        return ec_dup(c, sub, env);
    }
    if (which == 2)
        return ec_read_file(c, sub, val);
    if (*val == '\0') {
        ec_err(c, sub, "empty");
        return NULL;
    }
    return ec_dup(c, sub, val);
}

/* ---------------------------------------------------------------- zones */

static struct sched_zone *
ec_zone_load(void *arg, const char *name, char *err, size_t errlen)
{
    struct ec_ctx *c = arg;
    char path[4096];
    unsigned char *data;
    struct sched_zone *z;
    struct stat st;
    size_t n;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", c->ec->zoneinfo, name);
    if ((fp = fopen(path, "rb")) == NULL) {
        snprintf(err, errlen, "no such time zone in %s", c->ec->zoneinfo);
        return NULL;
    }
    if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode) ||
        st.st_size <= 0 || (size_t)st.st_size > EC_TZIF_MAX) {
        fclose(fp);
        snprintf(err, errlen, "not a time zone file");
        return NULL;
    }
    if ((data = xmalloc((size_t)st.st_size)) == NULL) {
        fclose(fp);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n = fread(data, 1, (size_t)st.st_size, fp);
    fclose(fp);
    z = sched_zone_parse(name, data, n, err, errlen);
    xfree(data);
    return z;
}

/* ------------------------------------------------------------- sections */

static void
ec_parse_teams(struct ec_ctx *c, json_t *teams)
{
    struct escalate_config *ec = c->ec;
    char sub[EC_PATH_MAX];
    const char *k;
    json_t *v;

    if (!json_is_object(teams) || json_object_size(teams) == 0) {
        ec_err(c, "escalation.teams", "expected a mapping of team names");
        return;
    }
    if ((ec->teams = xcalloc(json_object_size(teams),
        sizeof(*ec->teams))) == NULL) {
        ec_err(c, "escalation.teams", "out of memory");
        return;
    }
    json_object_foreach(teams, k, v) {
        struct sched *s;

        ec_join(sub, "escalation.teams", k);
        if (!ec_name_ok(k)) {
            ec_err(c, sub, "a team name is [A-Za-z0-9_.@-]{1,64}");
            continue;
        }
        s = sched_parse(k, v, sub, ec_zone_load, c, ec_sched_err, c);
        if (s != NULL)
            ec->teams[ec->nteams++] = s;
    }
}

static void
ec_parse_people(struct ec_ctx *c, json_t *people)
{
    static const char *const keys[] = { "telegram", "slack", NULL };
    struct escalate_config *ec = c->ec;
    char sub[EC_PATH_MAX];
    const char *k, *s;
    json_t *v;

    if (!json_is_object(people)) {
        ec_err(c, "escalation.people", "expected a mapping of names");
        return;
    }
    if (json_object_size(people) == 0)
        return;
    if ((ec->people = xcalloc(json_object_size(people),
        sizeof(*ec->people))) == NULL) {
        ec_err(c, "escalation.people", "out of memory");
        return;
    }
    json_object_foreach(people, k, v) {
        struct escalate_person *p = &ec->people[ec->npeople];

        ec_join(sub, "escalation.people", k);
        if (!ec_name_ok(k)) {
            ec_err(c, sub, "a name is [A-Za-z0-9_.@-]{1,64}");
            continue;
        }
        if (!json_is_object(v)) {
            ec_err(c, sub, "expected a mapping (telegram, slack)");
            continue;
        }
        ec_known(c, sub, v, keys);
        p->name = ec_dup(c, sub, k);
        if ((s = json_string_value(json_object_get(v, "telegram"))) != NULL)
            p->telegram = ec_dup(c, sub, s);
        if ((s = json_string_value(json_object_get(v, "slack"))) != NULL)
            p->slack = ec_dup(c, sub, s);
        ec->npeople++;
    }
}

static int
ec_channel_type(const char *s)
{
    for (size_t i = 0; s != NULL && i < nitems(ec_channel_types); i++) {
        if (strcmp(ec_channel_types[i], s) == 0)
            return (int)i;
    }
    return -1;
}

static void
ec_parse_channel(struct ec_ctx *c, const char *path, const char *name,
    json_t *v, struct escalate_channel *ch)
{
    static const char *const keys[] = {
        "type", "url", "url_env", "url_file", "bot_token", "bot_token_env",
        "bot_token_file", "chat_id", "api_base", "routing_key",
        "routing_key_env", "routing_key_file", "secret", "secret_env",
        "secret_file", NULL,
    };
    char sub[EC_PATH_MAX];
    const char *s;
    int t;

    ec_known(c, path, v, keys);
    ch->name = ec_dup(c, path, name);
    ec_join(sub, path, "type");
    if ((t = ec_channel_type(json_string_value(json_object_get(v,
        "type")))) < 0) {
        ec_err(c, sub, "expected slack, telegram, pagerduty or webhook");
        return;
    }
    ch->type = (enum escalate_channel_type)t;
    switch (ch->type) {
    case ESCALATE_CH_SLACK:
        ch->url = ec_secret(c, path, v, "url", true);
        break;
    case ESCALATE_CH_TELEGRAM:
        ch->secret = ec_secret(c, path, v, "bot_token", true);
        s = json_string_value(json_object_get(v, "api_base"));
        ch->url = ec_dup(c, path, s != NULL ? s : "https://api.telegram.org");
        if ((s = json_string_value(json_object_get(v, "chat_id"))) != NULL)
            ch->chat_id = ec_dup(c, path, s);
        break;
    case ESCALATE_CH_PAGERDUTY:
        ch->secret = ec_secret(c, path, v, "routing_key", true);
        s = json_string_value(json_object_get(v, "url"));
        ch->url = ec_dup(c, path, s != NULL ? s :
            "https://events.pagerduty.com/v2/enqueue");
        break;
    case ESCALATE_CH_WEBHOOK:
        ch->secret = ec_secret(c, path, v, "secret", true);
        if ((s = json_string_value(json_object_get(v, "url"))) != NULL)
            ch->url = ec_dup(c, path, s);
        break;
    }
    ec_join(sub, path, ch->type == ESCALATE_CH_TELEGRAM ? "api_base" : "url");
    if (ch->url != NULL && !ec_url_ok(ch->url))
        ec_err(c, sub, "expected an http:// or https:// URL");
    else if (ch->url == NULL && ch->type == ESCALATE_CH_WEBHOOK)
        ec_err(c, sub, "missing");
}

static void
ec_parse_channels(struct ec_ctx *c, json_t *chans)
{
    struct escalate_config *ec = c->ec;
    char sub[EC_PATH_MAX];
    const char *k;
    json_t *v;

    if (!json_is_object(chans) || json_object_size(chans) == 0) {
        ec_err(c, "escalation.channels", "expected a mapping of channel "
            "names");
        return;
    }
    if ((ec->channels = xcalloc(json_object_size(chans),
        sizeof(*ec->channels))) == NULL) {
        ec_err(c, "escalation.channels", "out of memory");
        return;
    }
    json_object_foreach(chans, k, v) {
        ec_join(sub, "escalation.channels", k);
        if (!ec_name_ok(k)) {
            ec_err(c, sub, "a channel name is [A-Za-z0-9_.@-]{1,64}");
            continue;
        }
        if (!json_is_object(v)) {
            ec_err(c, sub, "expected a mapping (type, ...)");
            continue;
        }
        ec_parse_channel(c, sub, k, v, &ec->channels[ec->nchannels++]);
    }
}

static int
ec_channel_index(const struct escalate_config *ec, const char *name)
{
    for (size_t i = 0; i < ec->nchannels; i++) {
        if (ec->channels[i].name != NULL &&
            strcmp(ec->channels[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* The policy as the script reads it (escalate.h, ladder). */
static char *
ec_ladder_json(const struct escalate_config *ec,
    const struct escalate_policy *p)
{
    json_t *steps = json_array(), *o;
    char *s = NULL;

    if (steps == NULL)
        return NULL;
    for (size_t i = 0; i < p->nsteps; i++) {
        json_t *via = json_array(), *st;

        st = json_pack("{s:I,s:s,s:o}", "after", (json_int_t)
            p->steps[i].after_ms, "notify", p->steps[i].notify, "via",
            via != NULL ? via : json_null());
        if (st == NULL || via == NULL) {
            json_decref(st);
            goto out;
        }
        for (size_t j = 0; j < p->steps[i].nvia; j++) {
            const struct escalate_channel *ch =
                &ec->channels[p->steps[i].via[j]];

            json_array_append_new(via, json_pack("{s:s,s:s}", "ch",
                ch->name, "type", escalate_channel_type_name(ch->type)));
        }
        json_array_append_new(steps, st);
    }
    o = json_pack("{s:s,s:O,s:I,s:I,s:I}", "name", p->name, "steps", steps,
        "repeat", (json_int_t)p->repeat_ms, "times",
        (json_int_t)p->repeat_times, "quiet", (json_int_t)p->quiet_ms);
    if (o != NULL)
        s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
out:
    json_decref(steps);
    return s;
}

static void
ec_parse_step(struct ec_ctx *c, const char *path, json_t *v,
    struct escalate_step *st)
{
    static const char *const keys[] = { "after", "notify", "via", NULL };
    char sub[EC_PATH_MAX], **via = NULL;
    size_t nvia = 0;
    const char *who;

    if (!json_is_object(v)) {
        ec_err(c, path, "expected a mapping (after, notify, via)");
        return;
    }
    ec_known(c, path, v, keys);
    ec_duration(c, path, v, "after", "0", 0, 30LL * 86400000, &st->after_ms);
    ec_join(sub, path, "notify");
    who = json_string_value(json_object_get(v, "notify"));
    if (!ec_name_ok(who))
        ec_err(c, sub, "expected oncall, backup, lead or a person's name");
    else
        st->notify = ec_dup(c, sub, who);
    ec_strlist(c, path, v, "via", ec_name_ok, &via, &nvia);
    ec_join(sub, path, "via");
    if (nvia == 0)
        ec_err(c, sub, "expected one or more channel names");
    if (nvia > 0 && (st->via = xcalloc(nvia, sizeof(*st->via))) == NULL)
        ec_err(c, sub, "out of memory");
    for (size_t i = 0; st->via != NULL && i < nvia; i++) {
        int x = ec_channel_index(c->ec, via[i]);

        if (x < 0)
            ec_err(c, sub, "no channel named %s", via[i]);
        else
            st->via[st->nvia++] = (size_t)x;
    }
    ec_strv_free(via, nvia);
}

static void
ec_parse_policies(struct ec_ctx *c, json_t *pols)
{
    static const char *const keys[] = {
        "steps", "repeat", "repeat_times", "quiet", NULL,
    };
    struct escalate_config *ec = c->ec;
    char sub[EC_PATH_MAX], at[EC_PATH_MAX], ssub[EC_PATH_MAX];
    const char *k;
    json_t *v, *steps, *e;
    size_t i;

    if (!json_is_object(pols) || json_object_size(pols) == 0) {
        ec_err(c, "escalation.policies", "expected a mapping of policy "
            "names");
        return;
    }
    if ((ec->policies = xcalloc(json_object_size(pols),
        sizeof(*ec->policies))) == NULL) {
        ec_err(c, "escalation.policies", "out of memory");
        return;
    }
    json_object_foreach(pols, k, v) {
        struct escalate_policy *p = &ec->policies[ec->npolicies];

        ec_join(sub, "escalation.policies", k);
        if (!ec_name_ok(k) || !json_is_object(v)) {
            ec_err(c, sub, "expected a mapping (steps, repeat, "
                "repeat_times, quiet) under a name [A-Za-z0-9_.@-]{1,64}");
            continue;
        }
        ec->npolicies++;
        ec_known(c, sub, v, keys);
        p->name = ec_dup(c, sub, k);
        steps = json_object_get(v, "steps");
        ec_join(ssub, sub, "steps");
        if (!json_is_array(steps) || json_array_size(steps) == 0 ||
            json_array_size(steps) > EC_STEPS_MAX) {
            ec_err(c, ssub, "expected a list of 1 to %d steps",
                EC_STEPS_MAX);
            continue;
        }
        if ((p->steps = xcalloc(json_array_size(steps),
            sizeof(*p->steps))) == NULL) {
            ec_err(c, ssub, "out of memory");
            continue;
        }
        json_array_foreach(steps, i, e) {
            ec_index(at, ssub, i);
            ec_parse_step(c, at, e, &p->steps[p->nsteps++]);
        }
        ec_duration(c, sub, v, "repeat", "0", 0, 30LL * 86400000,
            &p->repeat_ms);
        ec_int(c, sub, v, "repeat_times", p->repeat_ms > 0 ? "3" : "0", 0,
            1000, &p->repeat_times);
        ec_duration(c, sub, v, "quiet", "0", 0, 30LL * 86400000,
            &p->quiet_ms);
        if (c->nerr == 0 && (p->ladder = ec_ladder_json(ec, p)) == NULL)
            ec_err(c, sub, "out of memory");
    }
}

/* The team and policy a trigger names, as indexes. */
static void
ec_refs(struct ec_ctx *c, const char *path, json_t *v, size_t *team,
    size_t *policy, bool want_policy)
{
    struct escalate_config *ec = c->ec;
    const char *t = json_string_value(json_object_get(v, "team"));
    const char *p = json_string_value(json_object_get(v, "policy"));
    char sub[EC_PATH_MAX];
    size_t i;

    ec_join(sub, path, "team");
    if (t == NULL && ec->nteams == 1) {
        *team = 0;
    } else if (t == NULL) {
        ec_err(c, sub, "missing (there is more than one team)");
    } else {
        for (i = 0; i < ec->nteams && strcmp(sched_name(ec->teams[i]), t);
            i++)
            ;
        if (i == ec->nteams)
            ec_err(c, sub, "no team named %s", t);
        *team = i;
    }
    if (!want_policy)
        return;
    ec_join(sub, path, "policy");
    if (p == NULL) {
        ec_err(c, sub, "missing");
        return;
    }
    for (i = 0; i < ec->npolicies && (ec->policies[i].name == NULL ||
        strcmp(ec->policies[i].name, p) != 0); i++)
        ;
    if (i == ec->npolicies)
        ec_err(c, sub, "no policy named %s", p);
    *policy = i;
}

static void
ec_parse_match(struct ec_ctx *c, const char *path, json_t *v,
    struct escalate_match *m)
{
    ec_strlist(c, path, v, "queues", NULL, &m->queues, &m->nqueues);
    ec_strlist(c, path, v, "categories", NULL, &m->categories,
        &m->ncategories);
    ec_strlist(c, path, v, "rules", NULL, &m->rules, &m->nrules);
    ec_strlist(c, path, v, "kinds", ec_kind_ok, &m->kinds, &m->nkinds);
    ec_strlist(c, path, v, "accounts", ec_account_ok, &m->accounts,
        &m->naccounts);
}

static void
ec_match_free(struct escalate_match *m)
{
    ec_strv_free(m->queues, m->nqueues);
    ec_strv_free(m->categories, m->ncategories);
    ec_strv_free(m->rules, m->nrules);
    ec_strv_free(m->kinds, m->nkinds);
    ec_strv_free(m->accounts, m->naccounts);
}

/* A list section: each entry a mapping, parsed by fn into array[i]. */
static void *
ec_list(struct ec_ctx *c, const char *path, json_t *list, size_t size,
    size_t *n)
{
    void *arr;

    if (!json_is_array(list) || json_array_size(list) > EC_LIST_MAX) {
        ec_err(c, path, "expected a list of at most %d entries",
            EC_LIST_MAX);
        return NULL;
    }
    if (json_array_size(list) == 0)
        return NULL;
    if ((arr = xcalloc(json_array_size(list), size)) == NULL) {
        ec_err(c, path, "out of memory");
        return NULL;
    }
    *n = 0;
    return arr;
}

static const char *const ec_match_keys[] = {
    "queues", "categories", "rules", "kinds", "accounts",
};

static bool
ec_known_with_match(struct ec_ctx *c, const char *path, json_t *v,
    const char *const *own)
{
    const char *keys[32];
    size_t n = 0;

    if (!json_is_object(v)) {
        ec_err(c, path, "expected a mapping");
        return false;
    }
    for (size_t i = 0; own[i] != NULL && n < 24; i++)
        keys[n++] = own[i];
    for (size_t i = 0; i < nitems(ec_match_keys); i++)
        keys[n++] = ec_match_keys[i];
    keys[n] = NULL;
    ec_known(c, path, v, keys);
    return true;
}

static void
ec_parse_sla(struct ec_ctx *c, json_t *list)
{
    static const char *const own[] = {
        "name", "team", "policy", "first_response", "resolution",
        "warn_before", "business_hours", NULL,
    };
    struct escalate_config *ec = c->ec;
    char sub[EC_PATH_MAX];
    json_t *v;
    size_t i;
    const char *name;

    ec->sla = ec_list(c, "escalation.sla", list, sizeof(*ec->sla),
        &ec->nsla);
    json_array_foreach(list, i, v) {
        struct escalate_sla *s;

        if (ec->sla == NULL)
            break;
        ec_index(sub, "escalation.sla", i);
        if (!ec_known_with_match(c, sub, v, own))
            continue;
        s = &ec->sla[ec->nsla++];
        name = json_string_value(json_object_get(v, "name"));
        s->name = ec_dup(c, sub, name != NULL ? name : "sla");
        ec_parse_match(c, sub, v, &s->match);
        ec_refs(c, sub, v, &s->team, &s->policy, true);
        ec_duration(c, sub, v, "first_response", "0", 0, 365LL * 86400000,
            &s->first_response_ms);
        ec_duration(c, sub, v, "resolution", "0", 0, 365LL * 86400000,
            &s->resolution_ms);
        ec_duration(c, sub, v, "warn_before", "0", 0, 365LL * 86400000,
            &s->warn_ms);
        s->business_hours = ec_bool(c, sub, v, "business_hours", false);
        if (s->first_response_ms == 0 && s->resolution_ms == 0)
            ec_err(c, sub, "give first_response, resolution or both");
    }
}

static void
ec_parse_critical(struct ec_ctx *c, json_t *list)
{
    static const char *const own[] = { "name", "team", "policy", NULL };
    struct escalate_config *ec = c->ec;
    char sub[EC_PATH_MAX];
    json_t *v;
    size_t i;
    const char *name;

    ec->critical = ec_list(c, "escalation.critical", list,
        sizeof(*ec->critical), &ec->ncritical);
    json_array_foreach(list, i, v) {
        struct escalate_critical *k;

        if (ec->critical == NULL)
            break;
        ec_index(sub, "escalation.critical", i);
        if (!ec_known_with_match(c, sub, v, own))
            continue;
        k = &ec->critical[ec->ncritical++];
        name = json_string_value(json_object_get(v, "name"));
        k->name = ec_dup(c, sub, name != NULL ? name : "critical");
        ec_parse_match(c, sub, v, &k->match);
        ec_refs(c, sub, v, &k->team, &k->policy, true);
        if (k->match.ncategories == 0 && k->match.nrules == 0)
            ec_err(c, sub, "give categories, rules or both");
    }
}

static void
ec_parse_surge(struct ec_ctx *c, json_t *list)
{
    static const char *const own[] = {
        "name", "team", "policy", "count", "window", "per", NULL,
    };
    struct escalate_config *ec = c->ec;
    char sub[EC_PATH_MAX], psub[EC_PATH_MAX];
    json_t *v;
    size_t i;
    const char *name, *per;

    ec->surge = ec_list(c, "escalation.surge", list, sizeof(*ec->surge),
        &ec->nsurge);
    json_array_foreach(list, i, v) {
        struct escalate_surge *s;

        if (ec->surge == NULL)
            break;
        ec_index(sub, "escalation.surge", i);
        if (!ec_known_with_match(c, sub, v, own))
            continue;
        s = &ec->surge[ec->nsurge++];
        name = json_string_value(json_object_get(v, "name"));
        s->name = ec_dup(c, sub, name != NULL ? name : "surge");
        if (s->name != NULL && !ec_name_ok(s->name))
            ec_err(c, sub, "name: [A-Za-z0-9_.@-]{1,64}");
        ec_parse_match(c, sub, v, &s->match);
        ec_refs(c, sub, v, &s->team, &s->policy, true);
        ec_int(c, sub, v, "count", NULL, 2, 1000000, &s->count);
        ec_duration(c, sub, v, "window", NULL, 1000, 7LL * 86400000,
            &s->window_ms);
        per = json_string_value(json_object_get(v, "per"));
        ec_join(psub, sub, "per");
        if (per == NULL || strcmp(per, "conversation") == 0)
            s->per = ESCALATE_PER_CONVERSATION;
        else if (strcmp(per, "account") == 0)
            s->per = ESCALATE_PER_ACCOUNT;
        else
            ec_err(c, psub, "expected conversation or account");
    }
}

static void
ec_parse_texts(struct ec_ctx *c, const char *path, json_t *v,
    struct escalate_ooh *o)
{
    char sub[EC_PATH_MAX];
    const char *k;
    json_t *t;

    ec_join(sub, path, "text");
    if (json_is_string(v)) {
        if ((o->texts = xcalloc(1, sizeof(*o->texts))) == NULL) {
            ec_err(c, sub, "out of memory");
            return;
        }
        o->texts[0].lang = ec_dup(c, sub, "default");
        o->texts[0].text = ec_dup(c, sub, json_string_value(v));
        o->ntexts = 1;
    } else if (json_is_object(v) && json_object_size(v) > 0) {
        if ((o->texts = xcalloc(json_object_size(v),
            sizeof(*o->texts))) == NULL) {
            ec_err(c, sub, "out of memory");
            return;
        }
        json_object_foreach(v, k, t) {
            char at[EC_PATH_MAX];

            ec_join(at, sub, k);
            if (!json_is_string(t)) {
                ec_err(c, at, "expected a text");
                continue;
            }
            o->texts[o->ntexts].lang = ec_dup(c, at, k);
            o->texts[o->ntexts].text = ec_dup(c, at, json_string_value(t));
            o->ntexts++;
        }
    } else {
        ec_err(c, sub, "expected a text, or a mapping of languages (and "
            "default) to texts");
        return;
    }
    for (size_t i = 0; i < o->ntexts; i++) {
        if (o->texts[i].text != NULL && (o->texts[i].text[0] == '\0' ||
            strlen(o->texts[i].text) > EC_TEXT_MAX))
            ec_err(c, sub, "a text is 1 to %d bytes", EC_TEXT_MAX);
    }
}

static void
ec_parse_ooh(struct ec_ctx *c, json_t *list)
{
    static const char *const own[] = { "team", "text", NULL };
    struct escalate_config *ec = c->ec;
    char sub[EC_PATH_MAX];
    size_t i, policy;
    json_t *v;

    ec->ooh = ec_list(c, "escalation.out_of_hours", list, sizeof(*ec->ooh),
        &ec->nooh);
    json_array_foreach(list, i, v) {
        struct escalate_ooh *o;

        if (ec->ooh == NULL)
            break;
        ec_index(sub, "escalation.out_of_hours", i);
        if (!ec_known_with_match(c, sub, v, own))
            continue;
        o = &ec->ooh[ec->nooh++];
        ec_parse_match(c, sub, v, &o->match);
        ec_refs(c, sub, v, &o->team, &policy, false);
        ec_parse_texts(c, sub, json_object_get(v, "text"), o);
        if (o->match.nkinds == 0) {
            if ((o->match.kinds = xcalloc(1, sizeof(char *))) == NULL ||
                (o->match.kinds[0] = xstrdup("dm")) == NULL)
                ec_err(c, sub, "out of memory");
            else
                o->match.nkinds = 1;
        }
    }
}

static void
ec_parse_alerts(struct ec_ctx *c, json_t *v)
{
    static const char *const keys[] = {
        "timeout", "backoff_min", "backoff_max", "max_attempts",
        "concurrency", NULL,
    };
    struct escalate_config *ec = c->ec;
    const char *p = "escalation.alerts";
    json_t *empty = NULL;

    if (v == NULL)
        v = empty = json_object();
    if (!json_is_object(v)) {
        ec_err(c, p, "expected a mapping");
        return;
    }
    ec_known(c, p, v, keys);
    ec_duration(c, p, v, "timeout", "10s", 100, 300000,
        &ec->alerts.timeout_ms);
    ec_duration(c, p, v, "backoff_min", "1s", 10, 3600000,
        &ec->alerts.backoff_min_ms);
    ec_duration(c, p, v, "backoff_max", "5m", 10, 86400000,
        &ec->alerts.backoff_max_ms);
    ec_int(c, p, v, "max_attempts", "10", 1, 1000, &ec->alerts.max_attempts);
    ec_int(c, p, v, "concurrency", "8", 1, 256, &ec->alerts.concurrency);
    if (ec->alerts.backoff_max_ms < ec->alerts.backoff_min_ms)
        ec_err(c, "escalation.alerts.backoff_max", "must be at least "
            "backoff_min");
    json_decref(empty);
}

struct escalate_config *
escalate_config_parse(json_t *def, const char *dir, escalate_err_fn *err,
    void *arg)
{
    static const char *const keys[] = {
        "interval", "clock_file", "zoneinfo", "teams", "people", "channels",
        "policies", "sla", "critical", "surge", "out_of_hours", "alerts",
        NULL,
    };
    struct ec_ctx c = { err, arg, 0, dir, NULL };
    struct escalate_config *ec;
    const char *s;
    json_t *v;

    if (!json_is_object(def)) {
        ec_err(&c, "escalation", "expected a mapping of keys");
        return NULL;
    }
    if ((ec = xcalloc(1, sizeof(*ec))) == NULL) {
        ec_err(&c, "escalation", "out of memory");
        return NULL;
    }
    c.ec = ec;
    ec_known(&c, "escalation", def, keys);
    ec_duration(&c, "escalation", def, "interval", "1s", 10, 60000,
        &ec->interval_ms);
    if ((s = json_string_value(json_object_get(def, "clock_file"))) != NULL)
        ec->clock_file = ec_dup(&c, "escalation.clock_file", s);
    s = json_string_value(json_object_get(def, "zoneinfo"));
    ec->zoneinfo = ec_dup(&c, "escalation.zoneinfo", s != NULL ? s :
        "/usr/share/zoneinfo");
    if (ec->zoneinfo != NULL) {
        ec_parse_teams(&c, json_object_get(def, "teams"));
        if ((v = json_object_get(def, "people")) != NULL)
            ec_parse_people(&c, v);
        /* Out-of-hours replies alone need neither. */
        if ((v = json_object_get(def, "channels")) != NULL)
            ec_parse_channels(&c, v);
        if ((v = json_object_get(def, "policies")) != NULL)
            ec_parse_policies(&c, v);
        if ((v = json_object_get(def, "sla")) != NULL)
            ec_parse_sla(&c, v);
        if ((v = json_object_get(def, "critical")) != NULL)
            ec_parse_critical(&c, v);
        if ((v = json_object_get(def, "surge")) != NULL)
            ec_parse_surge(&c, v);
        if ((v = json_object_get(def, "out_of_hours")) != NULL)
            ec_parse_ooh(&c, v);
        ec_parse_alerts(&c, json_object_get(def, "alerts"));
    }
    if (c.nerr > 0) {
        escalate_config_free(ec);
        return NULL;
    }
    return ec;
}

static int
ec_check_queues(const struct escalate_match *m, const char *path,
    char *const *names, size_t n, escalate_err_fn *err, void *arg)
{
    char sub[EC_PATH_MAX], msg[160];
    int bad = 0;

    for (size_t i = 0; i < m->nqueues; i++) {
        size_t j;

        for (j = 0; j < n && strcmp(names[j], m->queues[i]) != 0; j++)
            ;
        if (j < n)
            continue;
        snprintf(sub, sizeof(sub), "%s.queues[%zu]", path, i);
        snprintf(msg, sizeof(msg), "queue \"%.64s\" is not in queues.names",
            m->queues[i]);
        err(arg, sub, msg);
        bad++;
    }
    return bad;
}

int
escalate_config_check(const struct escalate_config *ec,
    char *const *queue_names, size_t nqueues, escalate_err_fn *err,
    void *arg)
{
    char path[EC_PATH_MAX];
    int bad = 0;

    for (size_t i = 0; i < ec->nsla; i++) {
        ec_index(path, "escalation.sla", i);
        bad += ec_check_queues(&ec->sla[i].match, path, queue_names,
            nqueues, err, arg);
    }
    for (size_t i = 0; i < ec->ncritical; i++) {
        ec_index(path, "escalation.critical", i);
        bad += ec_check_queues(&ec->critical[i].match, path, queue_names,
            nqueues, err, arg);
    }
    for (size_t i = 0; i < ec->nsurge; i++) {
        ec_index(path, "escalation.surge", i);
        bad += ec_check_queues(&ec->surge[i].match, path, queue_names,
            nqueues, err, arg);
    }
    for (size_t i = 0; i < ec->nooh; i++) {
        ec_index(path, "escalation.out_of_hours", i);
        bad += ec_check_queues(&ec->ooh[i].match, path, queue_names,
            nqueues, err, arg);
    }
    return bad;
}

void
escalate_config_free(struct escalate_config *ec)
{
    if (ec == NULL)
        return;
    xfree(ec->clock_file);
    xfree(ec->zoneinfo);
    for (size_t i = 0; i < ec->nteams; i++)
        sched_free(ec->teams[i]);
    xfree(ec->teams);
    for (size_t i = 0; i < ec->npeople; i++) {
        xfree(ec->people[i].name);
        xfree(ec->people[i].telegram);
        xfree(ec->people[i].slack);
    }
    xfree(ec->people);
    for (size_t i = 0; i < ec->nchannels; i++) {
        xfree(ec->channels[i].name);
        /* A Slack webhook URL is its secret. */
        crypto_free_secret(ec->channels[i].url);
        crypto_free_secret(ec->channels[i].secret);
        xfree(ec->channels[i].chat_id);
    }
    xfree(ec->channels);
    for (size_t i = 0; i < ec->npolicies; i++) {
        struct escalate_policy *p = &ec->policies[i];

        for (size_t j = 0; j < p->nsteps; j++) {
            xfree(p->steps[j].notify);
            xfree(p->steps[j].via);
        }
        xfree(p->steps);
        xfree(p->name);
        xfree(p->ladder);       /* json_dumps: through alloc_init's hooks */
    }
    xfree(ec->policies);
    for (size_t i = 0; i < ec->nsla; i++) {
        xfree(ec->sla[i].name);
        ec_match_free(&ec->sla[i].match);
    }
    xfree(ec->sla);
    for (size_t i = 0; i < ec->ncritical; i++) {
        xfree(ec->critical[i].name);
        ec_match_free(&ec->critical[i].match);
    }
    xfree(ec->critical);
    for (size_t i = 0; i < ec->nsurge; i++) {
        xfree(ec->surge[i].name);
        ec_match_free(&ec->surge[i].match);
    }
    xfree(ec->surge);
    for (size_t i = 0; i < ec->nooh; i++) {
        for (size_t j = 0; j < ec->ooh[i].ntexts; j++) {
            xfree(ec->ooh[i].texts[j].lang);
            xfree(ec->ooh[i].texts[j].text);
        }
        xfree(ec->ooh[i].texts);
        ec_match_free(&ec->ooh[i].match);
    }
    xfree(ec->ooh);
    xfree(ec);
}

const struct escalate_channel *
escalate_config_channel(const struct escalate_config *ec, const char *name)
{
    int i = ec_channel_index(ec, name);

    return i < 0 ? NULL : &ec->channels[i];
}

const struct escalate_person *
escalate_config_person(const struct escalate_config *ec, const char *name)
{
    for (size_t i = 0; i < ec->npeople; i++) {
        if (ec->people[i].name != NULL &&
            strcmp(ec->people[i].name, name) == 0)
            return &ec->people[i];
    }
    return NULL;
}

struct sched *
escalate_config_team(const struct escalate_config *ec, const char *name)
{
    for (size_t i = 0; i < ec->nteams; i++) {
        if (strcmp(sched_name(ec->teams[i]), name) == 0)
            return ec->teams[i];
    }
    return NULL;
}
