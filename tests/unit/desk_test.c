/*
 * desk: the pure parts of the responders' API. Canned reply templates
 * (checked at config load, expanded per reply) and the decoding of item
 * ids from request paths.
 */
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "desk.h"

static json_t *
item_json(const char *name, const char *username)
{
    return json_pack("{s:s,s:s,s:s,s:{s:s,s:s?,s:s?}}", "id", "vk:-1_2",
        "platform", "vk", "queue", "support", "author", "id", "7", "name",
        name, "username", username);
}

static int
test_template_check(void)
{
    int rc = 0;

    CHECK(desk_template_check("Hi {author_name}, {agent} here.") == NULL);
    CHECK(desk_template_check("plain text") == NULL);
    CHECK(desk_template_check("") == NULL);
    CHECK(desk_template_check("{{literal}} and }}") == NULL);
    CHECK(desk_template_check("{platform} {queue} {id} {author_username}")
        == NULL);
    CHECK_CONTAINS(desk_template_check("Hi {name}"), "unknown placeholder");
    CHECK_CONTAINS(desk_template_check("Hi {author_name"),
        "unknown placeholder");
    CHECK_CONTAINS(desk_template_check("a } b"), "lone }");
    CHECK_CONTAINS(desk_template_check("{}"), "unknown placeholder");
out:
    return rc;
}

static int
test_expand(void)
{
    json_t *it = item_json("Ольга", "olga_s");
    char *s = NULL;
    int rc = 0;

    s = desk_expand("Hi {author_name} (@{author_username}), {agent} of "
        "{{team}} on {platform}/{queue}: {id}}}", it, "alice", NULL);
    CHECK_STR(s, "Hi Ольга (@olga_s), alice of {team} on vk/support: "
        "vk:-1_2}");
    XFREE(&s);
    /* The queue the desk knows wins over the JSON's. */
    s = desk_expand("{queue}", it, "alice", "care");
    CHECK_STR(s, "care");
    XFREE(&s);
    s = desk_expand("", it, "alice", NULL);
    CHECK_STR(s, "");
    XFREE(&s);
    /* Invalid templates are refused, never half expanded. */
    CHECK(desk_expand("{nope}", it, "alice", NULL) == NULL);
out:
    xfree(s);
    json_decref(it);
    return rc;
}

static int
test_expand_fallbacks(void)
{
    json_t *no_name = item_json(NULL, "olga_s");
    json_t *empty = item_json("", NULL);
    char *s = NULL;
    int rc = 0;

    s = desk_expand("Hi {author_name}!", no_name, "bob", NULL);
    CHECK_STR(s, "Hi olga_s!");
    XFREE(&s);
    s = desk_expand("Hi {author_name}! {author_username}.", empty, "bob",
        NULL);
    CHECK_STR(s, "Hi ! .");
    XFREE(&s);
    s = desk_expand("Hi {author_name}", NULL, "bob", NULL);
    CHECK_STR(s, "Hi ");
out:
    xfree(s);
    json_decref(no_name);
    json_decref(empty);
    return rc;
}

static int
test_unescape(void)
{
    char out[32];
    int rc = 0;

    CHECK(desk_unescape("facebook%3Ax%2F1", 16, out, sizeof(out)) == 0);
    CHECK_STR(out, "facebook:x/1");
    CHECK(desk_unescape("vk:-1_2", 7, out, sizeof(out)) == 0);
    CHECK_STR(out, "vk:-1_2");
    /* len bounds the input: the rest is not read. */
    CHECK(desk_unescape("ab/reply", 2, out, sizeof(out)) == 0);
    CHECK_STR(out, "ab");
    CHECK(desk_unescape("%41%4a%4A", 9, out, sizeof(out)) == 0);
    CHECK_STR(out, "AJJ");
    CHECK(desk_unescape("", 0, out, sizeof(out)) == 0);
    CHECK_STR(out, "");
    CHECK(desk_unescape("%", 1, out, sizeof(out)) == -1);
    CHECK(desk_unescape("%2", 2, out, sizeof(out)) == -1);
    CHECK(desk_unescape("%zz", 3, out, sizeof(out)) == -1);
    CHECK(desk_unescape("a%00b", 5, out, sizeof(out)) == -1);
    CHECK(desk_unescape("abcd", 4, out, 4) == -1);
    CHECK(desk_unescape("abc", 3, out, 4) == 0);
    CHECK_STR(out, "abc");
out:
    return rc;
}

static const struct check_case cases[] = {
    {"template_check", test_template_check},
    {"expand", test_expand},
    {"expand_fallbacks", test_expand_fallbacks},
    {"unescape", test_unescape},
};

CHECK_MAIN(cases)
