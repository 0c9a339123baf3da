/*
 * ctl_escalate: inboxctl's text for the escalation commands (oncall,
 * incidents, incident, ack, resolve-incident; docs/inboxctl.md). Pure,
 * like the rest of ctl: the JSON answers of /v1/oncall and
 * /v1/incidents into a few lines for people. Text that came from users
 * or the config is shown with control characters as '?'.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "ctl.h"

static const char *
ctl_esc_str(json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : def;
}

/* At most max bytes of s, control characters as '?'. */
static int
ctl_esc_text(struct buf *out, const char *s, size_t max)
{
    size_t n = 0;
    char c;

    for (; s != NULL && *s != '\0' && n < max; s++, n++) {
        c = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
        if (buf_append(out, &c, 1) == -1)
            return -1;
    }
    if (s != NULL && *s != '\0')
        return buf_puts(out, "...");
    return 0;
}

static int
ctl_esc_oncall(json_t *resp, struct buf *out)
{
    json_t *t, *next;
    size_t i;

    if (buf_printf(out, "%-16s %-14s %-14s %-14s %-6s %s\n", "TEAM",
        "ONCALL", "BACKUP", "LEAD", "HOURS", "NEXT") == -1)
        return -1;
    json_array_foreach(json_object_get(resp, "teams"), i, t) {
        next = json_object_get(t, "next");
        if (buf_printf(out, "%-16s %-14s %-14s %-14s %-6s ",
            ctl_esc_str(t, "team", "?"), ctl_esc_str(t, "oncall", "-"),
            ctl_esc_str(t, "backup", "-"), ctl_esc_str(t, "lead", "-"),
            json_is_true(json_object_get(t, "business_hours")) ? "open" :
            "closed") == -1)
            return -1;
        if (next != NULL) {
            if (buf_printf(out, "%s from %s\n", ctl_esc_str(next, "oncall",
                "nobody"), ctl_esc_str(next, "local_time", "?")) == -1)
                return -1;
        } else if (buf_puts(out, "-\n") == -1) {
            return -1;
        }
    }
    return 0;
}

static int
ctl_esc_list(json_t *resp, struct buf *out)
{
    json_t *list = json_object_get(resp, "incidents"), *v;
    size_t i;

    if (json_array_size(list) == 0)
        return buf_puts(out, "no open incidents\n");
    if (buf_printf(out, "%-6s %-8s %-9s %-12s %-24s %-12s %s\n", "ID",
        "STATE", "SEVERITY", "TEAM", "OPENED", "PAGED", "TITLE") == -1)
        return -1;
    json_array_foreach(list, i, v) {
        if (buf_printf(out, "%-6s %-8s %-9s %-12s %-24s %-12s ",
            ctl_esc_str(v, "id", "?"), ctl_esc_str(v, "state", "?"),
            ctl_esc_str(v, "severity", "-"), ctl_esc_str(v, "team", "-"),
            ctl_esc_str(v, "opened_at", "-"), ctl_esc_str(v, "paged", "-"))
            == -1 || ctl_esc_text(out, ctl_esc_str(v, "title", ""), 100) ==
            -1 || buf_puts(out, "\n") == -1)
            return -1;
    }
    return 0;
}

/* One timeline event: "page step 2: bob via tg". */
static int
ctl_esc_event(struct buf *out, json_t *e)
{
    const char *ev = ctl_esc_str(e, "event", "?");
    json_t *via = json_object_get(e, "via"), *v;
    size_t i;

    if (buf_printf(out, "  %-24s %s", ctl_esc_str(e, "at", "?"), ev) == -1)
        return -1;
    if (strcmp(ev, "page") == 0) {
        if (buf_printf(out, " step %lld%s: %s via ", (long long)
            json_integer_value(json_object_get(e, "step")),
            json_integer_value(json_object_get(e, "repeat")) > 0 ?
            " (again)" : "", ctl_esc_str(e, "to", "?")) == -1)
            return -1;
        json_array_foreach(via, i, v) {
            if (buf_printf(out, "%s%s", i > 0 ? "," : "",
                json_string_value(v) ? json_string_value(v) : "?") == -1)
                return -1;
        }
    } else if (strcmp(ev, "nobody") == 0) {
        if (buf_printf(out, " step %lld: no %s to page", (long long)
            json_integer_value(json_object_get(e, "step")),
            ctl_esc_str(e, "role", "?")) == -1)
            return -1;
    } else if (json_object_get(e, "by") != NULL) {
        if (buf_printf(out, " by %s", ctl_esc_str(e, "by", "?")) == -1)
            return -1;
    } else if (strcmp(ev, "alert_failed") == 0) {
        if (buf_printf(out, " %s to %s: ", ctl_esc_str(e, "channel", "?"),
            ctl_esc_str(e, "to", "?")) == -1 ||
            ctl_esc_text(out, ctl_esc_str(e, "detail", ""), 120) == -1)
            return -1;
    }
    return buf_puts(out, "\n");
}

static int
ctl_esc_show(json_t *v, struct buf *out)
{
    json_t *e;
    size_t i;

    if (buf_printf(out, "incident %s  %s  %s  (%s team, policy %s)\n  ",
        ctl_esc_str(v, "id", "?"), ctl_esc_str(v, "state", "?"),
        ctl_esc_str(v, "severity", "-"), ctl_esc_str(v, "team", "-"),
        ctl_esc_str(v, "policy", "-")) == -1 ||
        ctl_esc_text(out, ctl_esc_str(v, "title", ""), 300) == -1 ||
        buf_printf(out, "\n  cause: %s\n  opened: %s", ctl_esc_str(v,
        "cause", "-"), ctl_esc_str(v, "opened_at", "-")) == -1)
        return -1;
    if (json_object_get(v, "acked_at") != NULL &&
        buf_printf(out, ", acknowledged by %s at %s", ctl_esc_str(v,
        "acked_by", "?"), ctl_esc_str(v, "acked_at", "?")) == -1)
        return -1;
    if (json_object_get(v, "resolved_at") != NULL &&
        buf_printf(out, ", resolved by %s at %s", ctl_esc_str(v,
        "resolved_by", "?"), ctl_esc_str(v, "resolved_at", "?")) == -1)
        return -1;
    if (buf_puts(out, "\n") == -1)
        return -1;
    if (json_array_size(json_object_get(v, "timeline")) > 0 &&
        buf_puts(out, "timeline:\n") == -1)
        return -1;
    json_array_foreach(json_object_get(v, "timeline"), i, e) {
        if (ctl_esc_event(out, e) == -1)
            return -1;
    }
    return 0;
}

int
ctl_render_escalation(enum ctl_cmd cmd, json_t *resp, struct buf *out)
{
    switch (cmd) {
    case CTL_ONCALL:
        return ctl_esc_oncall(resp, out);
    case CTL_INCIDENTS:
        return ctl_esc_list(resp, out);
    case CTL_INCIDENT:
        return ctl_esc_show(resp, out);
    case CTL_ACK:
        return buf_printf(out, "incident %s acknowledged by %s\n",
            ctl_esc_str(resp, "id", "?"), ctl_esc_str(resp, "acked_by", "?"));
    case CTL_RESOLVE_INCIDENT:
        return buf_printf(out, "incident %s resolved by %s\n",
            ctl_esc_str(resp, "id", "?"), ctl_esc_str(resp, "resolved_by",
            "?"));
    default:
        return 0;
    }
}
