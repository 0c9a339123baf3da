/*
 * queue_internal: what the files of the queue module share (queue.c,
 * queue_desk.c and queue_events.c). Not for other modules:
 * include/queue.h is the module's face.
 */
#ifndef INBOXD_QUEUE_INTERNAL_H
#define INBOXD_QUEUE_INTERNAL_H

/*
 * Lua both the desk and the actions script start with, after setting P
 * (the key prefix), NOW (ms) and AUDIT (the audit stream's cap): number
 * formatting, the item key, and record(), which appends one entry to an
 * item's history and the same to the audit stream (docs/redis.md).
 */
#define QUEUE_LUA_COMMON                                                  \
    "local function num(x) return string.format('%.0f', x) end\n"        \
    "local function ikey(id) return P .. 'item:' .. id end\n"            \
    "local function record(id, action, by, extra)\n"                     \
    "  local f = {'action', action, 'by', by, 'at', num(NOW)}\n"         \
    "  for _, x in ipairs(extra or {}) do f[#f + 1] = x end\n"           \
    "  local k = P .. 'history:' .. id\n"                                \
    "  redis.call('XADD', k, '*', unpack(f))\n"                          \
    "  local ttl = redis.call('PTTL', ikey(id))\n"                       \
    "  if ttl > 0 then redis.call('PEXPIRE', k, ttl) end\n"              \
    "  redis.call('XADD', P .. 'audit', 'MAXLEN', '~', AUDIT, '*',\n"    \
    "    'item', id, unpack(f))\n"                                       \
    "end\n"

/* The desk script (queue_desk.c), loaded and run by queue.c. */
extern const char queue_desk_lua[];
/* The outbound actions script (queue_actions.c), likewise. */
extern const char queue_actions_lua[];
/* The escalation script (queue_escalate.c), likewise. */
extern const char queue_escalate_lua[];

/* The events script (queue_events.c): new entries of ingest and audit. */
extern const char queue_events_lua[];

#endif
