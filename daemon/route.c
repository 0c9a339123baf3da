/*
 * route: labels -> destination queue. The table comes from the config
 * (config.c fills it); rules are tried in order and the first whose every
 * condition holds names the queue, else the default queue does.
 */
#include <string.h>

#include "alloc.h"
#include "item.h"
#include "route.h"

static bool
route_in(char *const *list, size_t n, const char *v)
{
    if (v == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], v) == 0)
            return true;
    }
    return false;
}

/* Did the item's classification decide any of the rule's categories? */
static bool
route_category_match(const struct route_rule *r, const struct item_cls *cls)
{
    for (size_t i = 0; cls != NULL && i < cls->nscores; i++) {
        if (cls->scores[i].decided && route_in(r->categories,
            r->ncategories, cls->scores[i].category))
            return true;
    }
    return false;
}

/* Highest score among the rule's categories, or among all when none. */
static double
route_score(const struct route_rule *r, const struct item_cls *cls)
{
    double best = 0;

    for (size_t i = 0; cls != NULL && i < cls->nscores; i++) {
        if (r->ncategories && !route_in(r->categories, r->ncategories,
            cls->scores[i].category))
            continue;
        if (cls->scores[i].score > best)
            best = cls->scores[i].score;
    }
    return best;
}

static bool
route_rule_match(const struct route_rule *r, const struct item *it,
    const struct item_cls *cls)
{
    if (r->ncategories && !route_category_match(r, cls))
        return false;
    if (r->nplatforms && !route_in(r->platforms, r->nplatforms,
        item_platform(it)))
        return false;
    if (r->naccounts && !route_in(r->accounts, r->naccounts,
        item_account(it)))
        return false;
    if (r->nlangs) {
        const char *lang = item_lang(it);

        if (lang == NULL && cls != NULL)
            lang = cls->lang;
        if (!route_in(r->langs, r->nlangs, lang))
            return false;
    }
    if (r->kinds && !(r->kinds & (1u << item_kind(it))))
        return false;
    if (r->min_score > 0 && route_score(r, cls) < r->min_score)
        return false;
    return true;
}

const char *
route_pick(const struct route_table *t, const struct item *it)
{
    const struct item_cls *cls = item_cls(it);

    for (size_t i = 0; i < t->nrules; i++) {
        if (route_rule_match(&t->rules[i], it, cls))
            return t->rules[i].queue;
    }
    return t->default_queue;
}

static void
route_list_free(char ***list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        xfree((*list)[i]);
    XFREE(list);
    *n = 0;
}

void
route_table_clear(struct route_table *t)
{
    for (size_t i = 0; i < t->nrules; i++) {
        struct route_rule *r = &t->rules[i];

        route_list_free(&r->categories, &r->ncategories);
        route_list_free(&r->platforms, &r->nplatforms);
        route_list_free(&r->accounts, &r->naccounts);
        route_list_free(&r->langs, &r->nlangs);
        xfree(r->queue);
    }
    XFREE(&t->rules);
    t->nrules = 0;
    XFREE(&t->default_queue);
}
