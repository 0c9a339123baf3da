/*
 * rules_test: the rules module against the shipped rule sets (rules/en,
 * rules/ru: every category matches what it should and not what it
 * should not, contrib/samples classify as a person would) and against
 * the small directories under tests/data/rules/: override and disable by
 * id, one "file:line:col:" error per kind of bad file, the match limit,
 * byte offsets on UTF-8 text, and the shape of the classification JSON.
 * No sockets.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "item.h"
#include "log.h"
#include "rules.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "/work/main/tests/data"
#endif

#define DATA TEST_DATA_DIR "/rules/"
#define SAMPLES TEST_DATA_DIR "/../../contrib/samples/"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static struct rules *
rules_test_load(const char *const *dirs, size_t ndirs,
    const struct rules_limits *lim)
{
    struct rules *r;
    struct buf errors;

    buf_init(&errors, 64 * 1024);
    if ((r = rules_load(dirs, ndirs, lim, &errors)) == NULL)
        fprintf(stderr, "  rules_load failed:\n%s",
            errors.data ? errors.data : "(no errors)\n");
    buf_free(&errors);
    return r;
}

static struct rules *
rules_test_load1(const char *dir)
{
    return rules_test_load(&dir, 1, NULL);
}

/* Load a directory expected to fail; returns its error text (xfree it). */
static char *
rules_test_errors(const char *dir)
{
    struct rules *r;
    struct buf errors;

    buf_init(&errors, 64 * 1024);
    if ((r = rules_load(&dir, 1, NULL, &errors)) != NULL) {
        fprintf(stderr, "  %s: loaded, expected errors\n", dir);
        rules_free(r);
        buf_free(&errors);
        return NULL;
    }
    return buf_steal(&errors);
}

/* Classify text as an item in lang (NULL: let rules guess). */
static json_t *
rules_test_eval(struct rules *r, const char *text, const char *lang)
{
    char err[128];
    struct item *it;
    json_t *cls;

    it = item_new("test", "n1", ITEM_KIND_COMMENT, "acct", "author", text,
        err, sizeof(err));
    if (it == NULL) {
        fprintf(stderr, "  item_new: %s\n", err);
        return NULL;
    }
    if (lang != NULL && item_set_lang(it, lang) == -1) {
        item_free(it);
        return NULL;
    }
    cls = rules_eval(r, it);
    item_free(it);
    return cls;
}

static bool
rules_test_decided(json_t *cls, const char *category)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(cls, "categories"), i, v) {
        if (strcmp(json_string_value(v), category) == 0)
            return true;
    }
    return false;
}

/* The hit of rule id, or NULL. Borrowed. */
static json_t *
rules_test_hit(json_t *cls, const char *id)
{
    size_t i;
    json_t *h;

    json_array_foreach(json_object_get(cls, "hits"), i, h) {
        if (strcmp(json_string_value(json_object_get(h, "rule")), id) == 0)
            return h;
    }
    return NULL;
}

/* Decided categories joined by commas, in their order, into out. */
static const char *
rules_test_cats(json_t *cls, char *out, size_t len)
{
    size_t i, n = 0;
    json_t *v;

    out[0] = '\0';
    json_array_foreach(json_object_get(cls, "categories"), i, v) {
        int w = snprintf(out + n, len - n, "%s%s", i ? "," : "",
            json_string_value(v));

        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
    return out;
}

static size_t
rules_test_lines(const char *s)
{
    size_t n = 0;

    for (; s != NULL && *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/* Per-rule counters, collected by rules_foreach_stat. */
struct rules_test_stat {
    const char *want;       /* rule to report on */
    uint64_t hits;
    uint64_t limit_errors;
    size_t nrules;          /* rules visited */
    size_t nlimit;          /* rules with any limit error */
    bool seen;
    bool ids_ok;            /* en. and ru. ids are "<lang>.<category>.*" */
};

static void
rules_test_stat_cb(const char *rule_id, const char *category, uint64_t hits,
    uint64_t limit_errors, uint64_t match_ns, void *arg)
{
    struct rules_test_stat *st = arg;
    const char *dot = strchr(rule_id, '.');
    size_t clen = strlen(category);

    (void)match_ns;
    st->nrules++;
    if (limit_errors > 0)
        st->nlimit++;
    if ((strncmp(rule_id, "en.", 3) == 0 || strncmp(rule_id, "ru.", 3) == 0)
        && (strncmp(dot + 1, category, clen) != 0 || dot[1 + clen] != '.')) {
        fprintf(stderr, "  rule id %s does not name category %s\n",
            rule_id, category);
        st->ids_ok = false;
    }
    if (st->want != NULL && strcmp(rule_id, st->want) == 0) {
        st->seen = true;
        st->hits = hits;
        st->limit_errors = limit_errors;
    }
}

/* Everything logged while fp was the log stream, as a new string. */
static char *
rules_test_log_text(FILE *fp)
{
    long n;
    char *s;

    fflush(fp);
    if ((n = ftell(fp)) < 0 || (s = xmalloc((size_t)n + 1)) == NULL)
        return NULL;
    rewind(fp);
    n = (long)fread(s, 1, (size_t)n, fp);
    s[n] = '\0';
    return s;
}

static size_t
rules_test_count(const char *hay, const char *needle)
{
    size_t n = 0;

    while (hay != NULL && (hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* The shipped rule sets                                               */
/* ------------------------------------------------------------------ */

static int
test_shipped_load(void)
{
    struct rules_test_stat st = { .ids_ok = true };
    struct rules *r = rules_test_load1(INBOXD_RULES_DIR);
    int rc = 0;

    CHECK(r != NULL);
    CHECK(rules_count(r) > 0);
    rules_foreach_stat(r, rules_test_stat_cb, &st);
    CHECK(st.nrules == rules_count(r));
    CHECK(st.ids_ok);
out:
    rules_free(r);
    return rc;
}

struct rules_test_case {
    const char *lang;
    const char *category;
    const char *text;
    bool want;
};

/* Positive and negative examples, written for these tests. */
static const struct rules_test_case rules_test_cases[] = {
    { "en", "spam", "FREE bitcoin giveaway!!! claim now at "
        "https://bit.ly/abc", true },
    { "en", "spam", "Check out my profile, link in bio", true },
    { "en", "spam", "Buy 5k real followers cheap and fast", true },
    { "en", "spam", "Earn $500 per day from home, no experience", true },
    { "en", "spam", "Congrats! You have been selected to receive a gift",
        true },
    { "en", "spam", "Do you accept bitcoin as payment?", false },
    { "en", "spam", "Congratulations to the winner of your giveaway!",
        false },
    { "en", "spam", "Can you check my account? The order is missing",
        false },

    { "en", "abuse", "You are all idiots", true },
    { "en", "abuse", "Keep it up and I will kill you", true },
    { "en", "abuse", "f*ck you and your lamp", true },
    { "en", "abuse", "what a c*nt", true },
    { "en", "abuse", "This is fucking great, love it", false },
    { "en", "abuse", "Thank you, you are amazing", false },
    { "en", "abuse", "Focus on the cocktail, Scunthorpe fans", false },

    { "en", "negative", "I want a full refund, this is unacceptable",
        true },
    { "en", "negative", "Waited for three weeks and nobody answers", true },
    { "en", "negative", "The lamp arrived broken", true },
    { "en", "negative", "Worst customer service ever", true },
    { "en", "negative", "What is your refund policy?", false },
    { "en", "negative", "Arrived fast and was not damaged at all", false },
    { "en", "negative", "I'm not disappointed at all", false },

    { "en", "question", "how do i reset my password", true },
    { "en", "question", "Is it waterproof?", true },
    { "en", "question", "Any idea when the sale starts", true },
    { "en", "question", "Great lamp!", false },
    { "en", "question", "More at https://example.com/?ref=abc today",
        false },
    { "en", "question", "When I opened the box I smiled", false },

    { "en", "lead", "How much is it?", true },
    { "en", "lead", "Where can I buy this", true },
    { "en", "lead", "Do you ship to Canada?", true },
    { "en", "lead", "I would like to order two", true },
    { "en", "lead", "Is it still available in black?", true },
    { "en", "lead", "When will my order arrive?", false },
    { "en", "lead", "Thanks, the package arrived today", false },

    { "ru", "spam", "Раздача биткоинов! Переходи по ссылке", true },
    { "ru", "spam", "Загляни в мой профиль, там интересно", true },
    { "ru", "spam", "Накрутка подписчиков в инстаграм недорого", true },
    { "ru", "spam", "Заработок от 5000 руб в день без вложений", true },
    { "ru", "spam", "Можно оплатить криптовалютой?", false },
    { "ru", "spam", "Спасибо, всё пришло вовремя", false },

    { "ru", "abuse", "Вы там в поддержке совсем тупые", true },
    { "ru", "abuse", "иди нахуй", true },
    { "ru", "abuse", "Я тебя найду и урою", true },
    { "ru", "abuse", "Ты мудак", true },
    { "ru", "abuse", "Страхуйте посылки, купила хлеба, небо, ребёнок",
        false },
    { "ru", "abuse", "Это пиздец как круто", false },
    { "ru", "abuse", "Вы не подумайте, что я идиот", false },

    { "ru", "negative", "Верните деньги!", true },
    { "ru", "negative", "Жду уже третью неделю", true },
    { "ru", "negative", "На письма никто не отвечает", true },
    { "ru", "negative", "Товар пришёл сломанным", true },
    { "ru", "negative", "Не рекомендую этот магазин", true },
    { "ru", "negative", "Всё отлично, спасибо", false },
    { "ru", "negative", "Когда будет доставка?", false },

    { "ru", "question", "Как сбросить пароль", true },
    { "ru", "question", "Есть ли у вас скидки", true },
    { "ru", "question", "Подскажите размер", true },
    { "ru", "question", "Какая красота!", false },
    { "ru", "question", "Когда я открыла коробку, обрадовалась", false },

    { "ru", "lead", "Сколько стоит?", true },
    { "ru", "lead", "Хочу купить два", true },
    { "ru", "lead", "Доставляете ли в Казань", true },
    { "ru", "lead", "Есть в наличии синий?", true },
    { "ru", "lead", "Когда будет доставка? Заказ уже оформлен", false },
    { "ru", "lead", "Хочу вернуть деньги", false },
};

static int
rules_test_table(const char *lang)
{
    struct rules *r = rules_test_load1(INBOXD_RULES_DIR);
    json_t *cls = NULL;
    size_t n = 0;
    int rc = 0;

    CHECK(r != NULL);
    for (size_t i = 0; i < sizeof(rules_test_cases) /
        sizeof(rules_test_cases[0]); i++) {
        const struct rules_test_case *c = &rules_test_cases[i];

        if (strcmp(c->lang, lang) != 0)
            continue;
        n++;
        cls = rules_test_eval(r, c->text, c->lang);
        CHECK(cls != NULL);
        if (rules_test_decided(cls, c->category) != c->want) {
            char *s = json_dumps(cls, JSON_COMPACT);

            fprintf(stderr, "  %s: \"%s\" %s be %s: %s\n", c->lang,
                c->text, c->want ? "should" : "should not", c->category, s);
            xfree(s);
            rc = -1;
        }
        json_decref(cls);
        cls = NULL;
    }
    CHECK(n > 0);
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

static int
test_shipped_en(void)
{
    return rules_test_table("en");
}

static int
test_shipped_ru(void)
{
    return rules_test_table("ru");
}

/* What tests/integration/ingest_test.c relies on. */
static int
test_shipped_ingest_texts(void)
{
    struct rules *r = rules_test_load1(INBOXD_RULES_DIR);
    json_t *cls = NULL;
    int rc = 0;

    CHECK(r != NULL);
    /* Spam must come first: routes look at the whole list, people and
     * logs at the head of it. No lang given: the guess is used. */
    cls = rules_test_eval(r, "FREE bitcoin giveaway!!! claim now at "
        "https://bit.ly/abc", NULL);
    CHECK(cls != NULL);
    CHECK_STR(json_string_value(json_array_get(json_object_get(cls,
        "categories"), 0)), "spam");
    json_decref(cls);
    cls = rules_test_eval(r, "How much is it? I want to order two for my "
        "shop", NULL);
    CHECK(cls != NULL);
    CHECK(rules_test_decided(cls, "lead"));
    CHECK(rules_test_decided(cls, "question"));
    CHECK(!rules_test_decided(cls, "spam"));
    CHECK(!rules_test_decided(cls, "abuse"));
    json_decref(cls);
    cls = rules_test_eval(r, "Thanks, the package arrived today", NULL);
    CHECK(cls != NULL);
    CHECK(json_array_size(json_object_get(cls, "categories")) == 0);
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

/* contrib/samples: what a person reading each one would say. */
static int
test_shipped_samples(void)
{
    static const struct {
        const char *file;
        const char *cats;
    } want[] = {
        { "01-fb-comment-reset-question.json", "question" },
        { "02-fb-comment-crypto-giveaway.json", "spam" },
        { "03-fb-messenger-refund-angry.json", "negative" },
        { "04-ig-comment-follower-spam.json", "spam,question" },
        { "05-ig-comment-buying-intent.json", "lead,question" },
        { "06-ig-dm-thank-you.json", "" },
        { "07-vk-wall-comment-delivery-ru.json", "question" },
        { "08-vk-wall-reply-insult-ru.json", "abuse,question" },
        { "09-vk-dm-buying-intent-ru.json", "lead,question" },
        { "10-tg-group-waiting-days.json", "negative,question" },
        { "11-tg-group-reply-complaint-ru.json", "negative" },
        { "12-tg-private-reset-question-ru.json", "question" },
        { "13-yt-comment-threat.json", "abuse" },
        { "14-yt-reply-question.json", "question" },
        { "15-ig-mention-photo.json", "" },
        { "16-fb-comment-crypto-giveaway-duplicate.json", "spam" },
    };
    struct rules *r = rules_test_load1(INBOXD_RULES_DIR);
    struct item *it = NULL;
    json_t *obj = NULL, *cls = NULL;
    char path[512], err[256], cats[128];
    int rc = 0;

    CHECK(r != NULL);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", SAMPLES, want[i].file);
        obj = json_load_file(path, 0, NULL);
        CHECK(obj != NULL);
        it = item_from_json(obj, NULL, err, sizeof(err));
        CHECK(it != NULL);
        cls = rules_eval(r, it);
        CHECK(cls != NULL);
        if (strcmp(rules_test_cats(cls, cats, sizeof(cats)),
            want[i].cats) != 0) {
            fprintf(stderr, "  %s: categories \"%s\", want \"%s\"\n",
                want[i].file, cats, want[i].cats);
            rc = -1;
        }
        json_decref(cls);
        cls = NULL;
        item_free(it);
        it = NULL;
        json_decref(obj);
        obj = NULL;
    }
out:
    json_decref(cls);
    item_free(it);
    json_decref(obj);
    rules_free(r);
    return rc;
}

/*
 * Long hostile texts must not push any shipped pattern into its match
 * limit: that would be a silent "no match" on real traffic.
 */
static int
test_shipped_no_limit_on_long_text(void)
{
    static const char *const units[] = {
        "a", "aa ", "f u ", "you ", "how ", "? ", "1", "$", ".", "x",
        "the giveaway ", "send 1 btc ", "earn 5", "а", "пи", "ты ",
        "я вы ", "ё6", "хуе", "бл", "🚀",
    };
    struct rules_test_stat st = { .ids_ok = true };
    struct rules *r = rules_test_load1(INBOXD_RULES_DIR);
    size_t max = 65536;
    char *text = xmalloc(max + 1);
    json_t *cls = NULL;
    int rc = 0;

    CHECK(r != NULL && text != NULL);
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        size_t ul = strlen(units[u]), n = 0;

        while (n + ul <= max) {
            memcpy(text + n, units[u], ul);
            n += ul;
        }
        text[n] = '\0';
        for (int l = 0; l < 2; l++) {
            cls = rules_test_eval(r, text, l ? "ru" : "en");
            CHECK(cls != NULL);
            json_decref(cls);
            cls = NULL;
        }
    }
    rules_foreach_stat(r, rules_test_stat_cb, &st);
    CHECK(st.nlimit == 0);
out:
    json_decref(cls);
    xfree(text);
    rules_free(r);
    return rc;
}

/* A site directory switches a shipped rule off and replaces another. */
static int
test_shipped_site_override(void)
{
    const char *dirs[] = { INBOXD_RULES_DIR, DATA "shipped_site" };
    struct rules_test_stat st = { .want = "en.question.mark",
        .ids_ok = true };
    struct rules *base = rules_test_load1(INBOXD_RULES_DIR);
    struct rules *r = rules_test_load(dirs, 2, NULL);
    json_t *cls = NULL, *h;
    int rc = 0;

    CHECK(base != NULL && r != NULL);
    CHECK(rules_count(r) == rules_count(base) - 1);
    rules_foreach_stat(r, rules_test_stat_cb, &st);
    CHECK(!st.seen);

    /* Shipped, "Really?" is a question; with the site's rules it is not. */
    cls = rules_test_eval(base, "Really?", "en");
    CHECK(rules_test_decided(cls, "question"));
    json_decref(cls);
    cls = rules_test_eval(r, "Really?", "en");
    CHECK(rules_test_hit(cls, "en.question.mark") == NULL);
    CHECK(!rules_test_decided(cls, "question"));
    json_decref(cls);

    /* Shipped, a shortened link is a hint (3); the site makes it 5. */
    cls = rules_test_eval(base, "see bit.ly/x1", "en");
    CHECK(!rules_test_decided(cls, "spam"));
    json_decref(cls);
    cls = rules_test_eval(r, "see bit.ly/x1", "en");
    CHECK((h = rules_test_hit(cls, "en.spam.shortener")) != NULL);
    CHECK(json_real_value(json_object_get(h, "score")) == 5.0);
    CHECK(rules_test_decided(cls, "spam"));
out:
    json_decref(cls);
    rules_free(r);
    rules_free(base);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Loading: override, disable, errors                                  */
/* ------------------------------------------------------------------ */

static int
test_override_and_disable(void)
{
    const char *dirs[] = { DATA "basic", DATA "site" };
    struct rules_test_stat st = { .want = "en.delta.hello" };
    struct rules *base = rules_test_load1(DATA "basic");
    struct rules *r = NULL;
    FILE *logf = tmpfile();
    char *logged = NULL;
    json_t *cls = NULL, *h;
    int rc = 0;

    CHECK(base != NULL && logf != NULL);
    /* basic: 11 rules, one of them disabled in its own file. */
    CHECK(rules_count(base) == 10);
    log_set_stream(logf);
    r = rules_load(dirs, 2, NULL, NULL);
    log_set_stream(NULL);
    CHECK(r != NULL);
    /* One replaced in place, one switched off, none added. */
    CHECK(rules_count(r) == 9);
    rules_foreach_stat(r, rules_test_stat_cb, &st);
    CHECK(!st.seen);
    CHECK(st.nrules == 9);
    /* Switching off a rule nobody loaded is worth a warning only. */
    logged = rules_test_log_text(logf);
    CHECK_CONTAINS(logged, "site.yml:17: rule 'no.such.rule' to disable "
        "is not loaded");
    /* A later directory may change a threshold without a word. */
    CHECK(strstr(logged, "replaces") == NULL);

    cls = rules_test_eval(r, "hello beta omega", "en");
    CHECK(cls != NULL);
    CHECK(rules_test_hit(cls, "en.delta.hello") == NULL);
    /* any.beta.one now has the site's pattern and score. */
    CHECK((h = rules_test_hit(cls, "any.beta.one")) != NULL);
    CHECK_STR(json_string_value(json_object_get(h, "match")), "omega");
    CHECK(json_real_value(json_object_get(h, "score")) == 1.0);
    CHECK(rules_test_decided(cls, "beta"));
    json_decref(cls);
    /* ...and the site file's lang: it no longer runs for Russian. */
    cls = rules_test_eval(r, "beta omega привет", "ru");
    CHECK(rules_test_hit(cls, "any.beta.one") == NULL);
    /* The site raised delta's threshold from 1 to 5. */
    CHECK(rules_test_hit(cls, "ru.delta.privet") != NULL);
    CHECK(json_real_value(json_object_get(json_object_get(cls, "scores"),
        "delta")) == 2.0);
    CHECK(!rules_test_decided(cls, "delta"));
    json_decref(cls);
    cls = rules_test_eval(base, "привет", "ru");
    CHECK(rules_test_decided(cls, "delta"));
out:
    log_set_stream(NULL);
    json_decref(cls);
    xfree(logged);
    if (logf != NULL)
        fclose(logf);
    rules_free(r);
    rules_free(base);
    return rc;
}

/* Thresholds belong to the category: the last file wins, and two files
 * of one directory that disagree get a warning. */
static int
test_threshold_conflict(void)
{
    const char *dir = DATA "thresholds";
    FILE *logf = tmpfile();
    struct rules *r = NULL;
    char *logged = NULL;
    json_t *cls = NULL;
    int rc = 0;

    CHECK(logf != NULL);
    log_set_stream(logf);
    r = rules_load(&dir, 1, NULL, NULL);
    log_set_stream(NULL);
    CHECK(r != NULL);
    logged = rules_test_log_text(logf);
    CHECK_CONTAINS(logged, DATA "thresholds/b.yml: thresholds.spam: 3 "
        "replaces 5 set in " DATA "thresholds/a.yml");
    cls = rules_test_eval(r, "buy now", "en");
    CHECK(rules_test_decided(cls, "spam"));
out:
    log_set_stream(NULL);
    json_decref(cls);
    xfree(logged);
    if (logf != NULL)
        fclose(logf);
    rules_free(r);
    return rc;
}

/* Two files of one directory may not share an id. */
static int
test_duplicate_across_files(void)
{
    char *e = rules_test_errors(DATA "dup");
    int rc = 0;

    CHECK(e != NULL);
    CHECK_STR(e, DATA "dup/b.yml:6:9: duplicate rule id 'dup.same' "
        "(first defined at " DATA "dup/a.yml:2)\n");
out:
    xfree(e);
    return rc;
}

/* Every file under bad/ holds exactly one mistake. */
#define BAD DATA "bad/"

static int
test_errors_one_per_file(void)
{
    char *e = rules_test_errors(DATA "bad");
    const char *p, *nl;
    int rc = 0;

    CHECK(e != NULL);
    CHECK(rules_test_lines(e) == 24);
    for (p = e; *p != '\0'; p = nl + 1) {
        CHECK(strncmp(p, BAD, strlen(BAD)) == 0);
        CHECK((nl = strchr(p, '\n')) != NULL);
    }
out:
    xfree(e);
    return rc;
}

static int
test_errors_yaml(void)
{
    char *e = rules_test_errors(DATA "bad");
    int rc = 0;

    CHECK(e != NULL);
    CHECK_CONTAINS(e, BAD "syntax.yml:4:4: invalid YAML: ");
    CHECK_CONTAINS(e, BAD "dup_key.yml:5:5: invalid YAML: duplicate key\n");
    CHECK_CONTAINS(e, BAD "two_docs.yml:2:1: only one YAML document per "
        "file\n");
    CHECK_CONTAINS(e, BAD "root_list.yml:1:1: root must be a mapping");
    /* Refused before parsing: libfyaml 0.7 loops forever on this one. */
    CHECK_CONTAINS(e, BAD "utf8.yml:3:2: not valid UTF-8 (byte 0xff)\n");
    CHECK_CONTAINS(e, BAD "alias.yml:5:");
    CHECK_CONTAINS(e, "pattern: anchors and aliases are not supported\n");
out:
    xfree(e);
    return rc;
}

static int
test_errors_keys_and_types(void)
{
    char *e = rules_test_errors(DATA "bad");
    int rc = 0;

    CHECK(e != NULL);
    CHECK_CONTAINS(e, BAD "unknown_key.yml:6:5: unknown key "
        "'case_senstive' in rule (known: id, category, score, description, "
        "pattern, words, words_match, all, any, field, case_sensitive, "
        "unless, when, examples, shadow, disabled)\n");
    CHECK_CONTAINS(e, BAD "unknown_root.yml:2:1: unknown key 'rule' "
        "(known: set, lang, shadow, thresholds, rules)\n");
    CHECK_CONTAINS(e, BAD "type_score.yml:4:12: score: must be a number\n");
    CHECK_CONTAINS(e, BAD "type_bool.yml:5:21: case_sensitive: must be "
        "true or false\n");
    CHECK_CONTAINS(e, BAD "type_list.yml:3:16: category: must be a "
        "string\n");
    CHECK_CONTAINS(e, BAD "type_rules.yml:3:3: rules: must be a list\n");
    CHECK_CONTAINS(e, BAD "bad_id.yml:2:9: bad rule id 'Bad Id' (want "
        "[a-z0-9_.-]{1,96})\n");
    CHECK_CONTAINS(e, BAD "bad_lang.yml:2:7: lang: must be a lowercase "
        "ISO 639 code such as 'en'\n");
    CHECK_CONTAINS(e, BAD "threshold.yml:2:9: thresholds.spam: must be "
        "greater than 0\n");
out:
    xfree(e);
    return rc;
}

/* A pcre2 error points at the character it names, through quoting. */
static int
test_errors_regex(void)
{
    char *e = rules_test_errors(DATA "bad");
    int rc = 0;

    CHECK(e != NULL);
    /* 'ab)c': the ')' is two characters after the quote's column 14. */
    CHECK_CONTAINS(e, BAD "regex.yml:5:17: rule 'bad.regex': bad pattern: "
        "unmatched closing parenthesis (at offset 2)\n");
    /* A (?x) literal block: the ')' on the pattern's third line. */
    CHECK_CONTAINS(e, BAD "regex_block.yml:8:11: rule 'bad.regex_block': "
        "bad pattern: unmatched closing parenthesis (at offset 13)\n");
    /* "caf\u00e9)x": the escape is six columns but two bytes. */
    CHECK_CONTAINS(e, BAD "regex_escape.yml:5:24: rule 'bad.regex_escape': "
        "bad pattern: unmatched closing parenthesis (at offset 5)\n");
    CHECK_CONTAINS(e, BAD "empty_match.yml:5:15: rule 'bad.empty_match': "
        "pattern can match an empty string\n");
out:
    xfree(e);
    return rc;
}

static int
test_errors_rule_shape(void)
{
    char *e = rules_test_errors(DATA "bad");
    int rc = 0;

    CHECK(e != NULL);
    CHECK_CONTAINS(e, BAD "dup_id.yml:6:9: duplicate rule id 'bad.dup_id' "
        "(first defined at " BAD "dup_id.yml:2)\n");
    CHECK_CONTAINS(e, BAD "missing_pattern.yml:2:5: rule "
        "'bad.missing_pattern': needs 'pattern', 'words', 'all' or "
        "'any'\n");
    CHECK_CONTAINS(e, BAD "missing_score.yml:2:5: rule "
        "'bad.missing_score': missing 'score'\n");
    CHECK_CONTAINS(e, BAD "both.yml:6:5: rule 'bad.both': 'pattern' and "
        "'words' are exclusive; give one\n");
    CHECK_CONTAINS(e, BAD "words_empty.yml:5:5: rule 'bad.words_empty': "
        "words: list is empty\n");
out:
    xfree(e);
    return rc;
}

static int
test_errors_missing_dir(void)
{
    const char *dirs[] = { DATA "basic", DATA "no-such-dir" };
    struct rules *r;
    struct buf errors;
    int rc = 0;

    buf_init(&errors, 4096);
    r = rules_load(dirs, 2, NULL, &errors);
    CHECK(r == NULL);
    CHECK_CONTAINS(errors.data, DATA "no-such-dir:1:1: cannot open rules "
        "directory: ");
    /* No error buffer: still refused, still no leak. */
    CHECK(rules_load(dirs, 2, NULL, NULL) == NULL);
out:
    rules_free(r);
    buf_free(&errors);
    return rc;
}

static int
test_empty_dir(void)
{
    struct rules *r = rules_test_load1(DATA "empty");
    json_t *cls = NULL;
    int rc = 0;

    CHECK(r != NULL);
    CHECK(rules_count(r) == 0);
    cls = rules_test_eval(r, "anything at all", "en");
    CHECK(cls != NULL);
    CHECK(json_array_size(json_object_get(cls, "categories")) == 0);
    CHECK(json_object_size(json_object_get(cls, "scores")) == 0);
    CHECK(json_array_size(json_object_get(cls, "hits")) == 0);
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

/*
 * (a+)+$ against "aaaa...b" backtracks exponentially. The match limit
 * stops it: no match, counted every time, logged once, and quickly.
 */
static int
test_match_limit(void)
{
    const char *dir = DATA "limit";
    struct rules_limits lim = { .match_limit = 10000 };
    struct rules_test_stat st = { .want = "limit.evil" };
    struct rules *r = rules_test_load(&dir, 1, &lim);
    struct rules *rdef = rules_test_load1(dir);
    FILE *logf = tmpfile();
    char text[4002], *logged = NULL;
    struct timespec t0, t1;
    json_t *cls = NULL;
    double secs;
    int rc = 0;

    CHECK(r != NULL && rdef != NULL && logf != NULL);
    memset(text, 'a', 4000);
    text[4000] = 'b';
    text[4001] = '\0';
    log_set_stream(logf);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 2; i++) {
        json_decref(cls);
        cls = rules_test_eval(r, text, "en");
        CHECK(cls != NULL);
        CHECK(rules_test_hit(cls, "limit.evil") == NULL);
        /* The other rule of the set is unaffected. */
        CHECK(rules_test_hit(cls, "limit.fine") != NULL);
    }
    json_decref(cls);
    /* The default limits stop it too. */
    cls = rules_test_eval(rdef, text, "en");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    log_set_stream(NULL);
    CHECK(cls != NULL);
    CHECK(rules_test_hit(cls, "limit.evil") == NULL);
    secs = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(secs < 2.0);

    rules_foreach_stat(r, rules_test_stat_cb, &st);
    CHECK(st.seen);
    CHECK(st.limit_errors == 2);
    CHECK(st.hits == 0);
    CHECK(st.nlimit == 1);
    st = (struct rules_test_stat){ .want = "limit.evil" };
    rules_foreach_stat(rdef, rules_test_stat_cb, &st);
    CHECK(st.limit_errors == 1);

    /* Once per rule per snapshot: two snapshots, two lines. */
    logged = rules_test_log_text(logf);
    CHECK(rules_test_count(logged, "rule limit.evil (") == 2);
    CHECK_CONTAINS(logged, "evil.yml:4): match limit exceeded; treated as "
        "no match");
out:
    log_set_stream(NULL);
    json_decref(cls);
    xfree(logged);
    if (logf != NULL)
        fclose(logf);
    rules_free(r);
    rules_free(rdef);
    return rc;
}

/* start/end are byte offsets; match is the text, cut on a boundary. */
static int
test_utf8_offsets(void)
{
    static const char text[] = "Привет, мир! Ёлка и c++ рядом";
    struct rules *r = rules_test_load1(DATA "basic");
    const char *mir = strstr(text, "мир"), *elka = strstr(text, "Ёлка");
    char euros[3 * 40 + 3];
    json_t *cls = NULL, *h;
    int rc = 0;

    CHECK(r != NULL && mir != NULL && elka != NULL);
    cls = rules_test_eval(r, text, "ru");
    CHECK(cls != NULL);
    CHECK((h = rules_test_hit(cls, "ru.delta.privet")) != NULL);
    CHECK(json_integer_value(json_object_get(h, "start")) == 0);
    CHECK(json_integer_value(json_object_get(h, "end")) == 12);
    CHECK_STR(json_string_value(json_object_get(h, "match")), "Привет");
    CHECK((h = rules_test_hit(cls, "ru.utf.mir")) != NULL);
    CHECK(json_integer_value(json_object_get(h, "start")) == mir - text);
    CHECK(json_integer_value(json_object_get(h, "end")) == mir - text + 6);
    CHECK_STR(json_string_value(json_object_get(h, "match")), "мир");
    /* Caseless on Cyrillic; the match is the text as written. */
    CHECK((h = rules_test_hit(cls, "any.alpha.words")) != NULL);
    CHECK(json_integer_value(json_object_get(h, "start")) == elka - text);
    CHECK(json_integer_value(json_object_get(h, "end")) ==
        elka - text + (json_int_t)strlen("Ёлка"));
    CHECK_STR(json_string_value(json_object_get(h, "match")), "Ёлка");
    json_decref(cls);

    /* 40 euro signs are 120 bytes; the match text stops at 99, never
     * inside a character. */
    for (int i = 0; i < 40; i++)
        memcpy(euros + 3 * i, "€", 3);
    memcpy(euros + 120, " x", 3);
    cls = rules_test_eval(r, euros, "ru");
    CHECK((h = rules_test_hit(cls, "ru.utf.euros")) != NULL);
    CHECK(json_integer_value(json_object_get(h, "start")) == 0);
    CHECK(json_integer_value(json_object_get(h, "end")) == 120);
    CHECK(json_string_length(json_object_get(h, "match")) == 99);
    CHECK(strncmp(json_string_value(json_object_get(h, "match")), euros,
        99) == 0);
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

static int
test_json_shape(void)
{
    static const char *const hit_keys[] = {
        "rule", "category", "score", "start", "end", "match",
    };
    struct rules *r = rules_test_load1(DATA "basic");
    json_t *cls = NULL, *hits, *h, *v;
    const char *k;
    size_t i;
    int rc = 0;

    CHECK(r != NULL);
    cls = rules_test_eval(r, "hello, check my profile", "en");
    CHECK(json_is_object(cls));
    CHECK(json_object_size(cls) == 4);
    CHECK_STR(json_string_value(json_object_get(cls, "lang")), "en");
    CHECK(json_is_array(json_object_get(cls, "categories")));
    json_array_foreach(json_object_get(cls, "categories"), i, v)
        CHECK(json_is_string(v));
    CHECK(json_is_object(json_object_get(cls, "scores")));
    json_object_foreach(json_object_get(cls, "scores"), k, v)
        CHECK(json_is_real(v));
    hits = json_object_get(cls, "hits");
    CHECK(json_array_size(hits) == 2);
    json_array_foreach(hits, i, h) {
        CHECK(json_object_size(h) == 6);
        for (size_t j = 0; j < 6; j++)
            CHECK(json_object_get(h, hit_keys[j]) != NULL);
        CHECK(json_is_string(json_object_get(h, "rule")));
        CHECK(json_is_string(json_object_get(h, "category")));
        CHECK(json_is_real(json_object_get(h, "score")));
        CHECK(json_is_integer(json_object_get(h, "start")));
        CHECK(json_is_integer(json_object_get(h, "end")));
        CHECK(json_is_string(json_object_get(h, "match")));
    }
    h = rules_test_hit(cls, "en.delta.hello");
    CHECK(h != NULL);
    CHECK_STR(json_string_value(json_object_get(h, "category")), "delta");
    CHECK(json_real_value(json_object_get(h, "score")) == 2.0);
    CHECK(json_real_value(json_object_get(json_object_get(cls, "scores"),
        "delta")) == 2.0);
    json_decref(cls);

    /* Nothing to guess from: lang is null and every file applies. */
    cls = rules_test_eval(r, "你好你好你好你好你好你好你好 hello привет",
        NULL);
    CHECK(cls != NULL);
    CHECK(json_is_null(json_object_get(cls, "lang")));
    CHECK(rules_test_hit(cls, "en.delta.hello") != NULL);
    CHECK(rules_test_hit(cls, "ru.delta.privet") != NULL);
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

/* A file's lang limits its rules to items in that language. */
static int
test_lang_scope(void)
{
    struct rules *r = rules_test_load1(DATA "basic");
    json_t *cls = NULL;
    int rc = 0;

    CHECK(r != NULL);
    cls = rules_test_eval(r, "hello привет", "en");
    CHECK(rules_test_hit(cls, "en.delta.hello") != NULL);
    CHECK(rules_test_hit(cls, "ru.delta.privet") == NULL);
    json_decref(cls);
    cls = rules_test_eval(r, "hello привет", "ru");
    CHECK(rules_test_hit(cls, "en.delta.hello") == NULL);
    CHECK(rules_test_hit(cls, "ru.delta.privet") != NULL);
    json_decref(cls);
    cls = rules_test_eval(r, "hello привет beta", "fr");
    CHECK(rules_test_hit(cls, "en.delta.hello") == NULL);
    CHECK(rules_test_hit(cls, "ru.delta.privet") == NULL);
    /* A file without lang runs for every language. */
    CHECK(rules_test_hit(cls, "any.beta.one") != NULL);
    json_decref(cls);
    /* No lang on the item: the guess picks the files. */
    cls = rules_test_eval(r, "hello there, how are you", NULL);
    CHECK_STR(json_string_value(json_object_get(cls, "lang")), "en");
    CHECK(rules_test_hit(cls, "en.delta.hello") != NULL);
    json_decref(cls);
    cls = rules_test_eval(r, "привет, как дела у тебя, hello", NULL);
    CHECK_STR(json_string_value(json_object_get(cls, "lang")), "ru");
    CHECK(rules_test_hit(cls, "en.delta.hello") == NULL);
    CHECK(rules_test_hit(cls, "ru.delta.privet") != NULL);
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

static int
test_scores_and_order(void)
{
    struct rules *r = rules_test_load1(DATA "basic");
    json_t *cls = NULL, *scores;
    char cats[64];
    int rc = 0;

    CHECK(r != NULL);
    /* alpha 1 and casey 1 tie and go by name; beta is 0.7 + 0.2 + 0.1,
     * a hair under 1 in floating point, and must still be decided. */
    cls = rules_test_eval(r, "beta gamma epsilon ABC check my profile",
        "en");
    CHECK_STR(rules_test_cats(cls, cats, sizeof(cats)), "alpha,casey,beta");
    scores = json_object_get(cls, "scores");
    CHECK(json_object_size(scores) == 3);
    CHECK(json_real_value(json_object_get(scores, "beta")) < 1.0);
    CHECK(json_real_value(json_object_get(scores, "beta")) > 0.99);
    json_decref(cls);
    /* A negative score lowers the sum below the threshold; the category
     * keeps its score but is not decided. */
    cls = rules_test_eval(r, "check my profile, not really", "en");
    CHECK(json_real_value(json_object_get(json_object_get(cls, "scores"),
        "alpha")) == 0.5);
    CHECK(!rules_test_decided(cls, "alpha"));
    json_decref(cls);
    /* Higher score first. */
    cls = rules_test_eval(r, "hello ABC", "en");
    CHECK_STR(rules_test_cats(cls, cats, sizeof(cats)), "delta,casey");
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

static int
test_words_and_case(void)
{
    static const struct {
        const char *text;
        const char *rule;
        bool want;
    } cases[] = {
        { "CHECK\tMY   PROFILE", "any.alpha.words", true },
        { "checkmy profile", "any.alpha.words", false },
        { "recheck my profile", "any.alpha.words", false },
        { "check my profiles", "any.alpha.words", false },
        { "I code in C++ daily", "any.alpha.words", true },
        { "ABC", "any.casey.upper", true },
        { "abc", "any.casey.upper", false },
        { "never ever", "any.alpha.off", false },
    };
    struct rules *r = rules_test_load1(DATA "basic");
    json_t *cls = NULL;
    int rc = 0;

    CHECK(r != NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cls = rules_test_eval(r, cases[i].text, "en");
        CHECK(cls != NULL);
        if ((rules_test_hit(cls, cases[i].rule) != NULL) != cases[i].want) {
            fprintf(stderr, "  \"%s\": %s %s\n", cases[i].text,
                cases[i].rule, cases[i].want ? "missed" : "hit");
            rc = -1;
        }
        json_decref(cls);
        cls = NULL;
    }
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

static int
test_stats(void)
{
    struct rules_test_stat st = { .want = "en.delta.hello" };
    struct rules *r = rules_test_load1(DATA "basic");
    json_t *cls = NULL;
    int rc = 0;

    CHECK(r != NULL);
    for (int i = 0; i < 3; i++) {
        json_decref(cls);
        cls = rules_test_eval(r, i == 1 ? "goodbye" : "hello", "en");
        CHECK(cls != NULL);
    }
    rules_foreach_stat(r, rules_test_stat_cb, &st);
    CHECK(st.seen);
    CHECK(st.hits == 2);
    CHECK(st.limit_errors == 0);
    /* Disabled rules are not listed. */
    CHECK(st.nrules == rules_count(r));
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

/* Fail every allocation from the N-th on, for each N: a set loads whole
 * or not at all, and eval answers in full or NULL; no leak, no crash. */
static int
test_alloc_failures(void)
{
    const char *dirs[] = { DATA "basic", DATA "site" };
    FILE *logf = tmpfile();
    struct rules *r = NULL;
    struct item *it = NULL;
    struct buf errors;
    json_t *cls = NULL;
    unsigned long total;
    char err[128];
    int rc = 0;

    buf_init(&errors, 64 * 1024);
    CHECK(logf != NULL);
    /* Room for the errors before allocations start failing. */
    for (int i = 0; i < 64; i++)
        CHECK(buf_puts(&errors, "0123456789abcdef") == 0);
    it = item_new("test", "n1", ITEM_KIND_COMMENT, "acct", "author",
        "beta omega привет", err, sizeof(err));
    CHECK(it != NULL && item_set_lang(it, "ru") == 0);
    log_set_stream(logf);
    buf_reset(&errors);
    alloc_fail_after(0);
    r = rules_load(dirs, 2, NULL, &errors);
    cls = r ? rules_eval(r, it) : NULL;
    total = alloc_fail_after(0);
    CHECK(r != NULL && cls != NULL);
    CHECK(total > 50);
    for (unsigned long n = 1; n <= total; n++) {
        json_decref(cls);
        cls = NULL;
        rules_free(r);
        buf_reset(&errors);
        alloc_fail_after(n);
        r = rules_load(dirs, 2, NULL, &errors);
        cls = r ? rules_eval(r, it) : NULL;
        alloc_fail_after(0);
        if (r == NULL) {
            /* Every line says so; the error buffer itself may not have
             * got its memory either. */
            CHECK(rules_test_count(errors.data, "out of memory\n") ==
                rules_test_lines(errors.data));
            continue;
        }
        CHECK(rules_count(r) == 9);
        if (cls != NULL) {
            CHECK(rules_test_hit(cls, "ru.delta.privet") != NULL);
            CHECK(json_array_size(json_object_get(cls, "hits")) == 1);
        }
    }
out:
    alloc_fail_after(0);
    log_set_stream(NULL);
    if (logf != NULL)
        fclose(logf);
    json_decref(cls);
    rules_free(r);
    item_free(it);
    buf_free(&errors);
    return rc;
}

static const struct check_case cases[] = {
    { "shipped_load", test_shipped_load },
    { "shipped_en", test_shipped_en },
    { "shipped_ru", test_shipped_ru },
    { "shipped_ingest_texts", test_shipped_ingest_texts },
    { "shipped_samples", test_shipped_samples },
    { "shipped_no_limit_on_long_text", test_shipped_no_limit_on_long_text },
    { "shipped_site_override", test_shipped_site_override },
    { "override_and_disable", test_override_and_disable },
    { "threshold_conflict", test_threshold_conflict },
    { "duplicate_across_files", test_duplicate_across_files },
    { "errors_one_per_file", test_errors_one_per_file },
    { "errors_yaml", test_errors_yaml },
    { "errors_keys_and_types", test_errors_keys_and_types },
    { "errors_regex", test_errors_regex },
    { "errors_rule_shape", test_errors_rule_shape },
    { "errors_missing_dir", test_errors_missing_dir },
    { "empty_dir", test_empty_dir },
    { "match_limit", test_match_limit },
    { "utf8_offsets", test_utf8_offsets },
    { "json_shape", test_json_shape },
    { "lang_scope", test_lang_scope },
    { "scores_and_order", test_scores_and_order },
    { "words_and_case", test_words_and_case },
    { "stats", test_stats },
    { "alloc_failures", test_alloc_failures },
};

CHECK_MAIN(cases)
