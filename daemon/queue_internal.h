/*
 * queue_internal: what the files of the queue module share (queue.c,
 * queue_desk.c and queue_events.c). Not for other modules:
 * include/queue.h is the module's face.
 */
#ifndef INBOXD_QUEUE_INTERNAL_H
#define INBOXD_QUEUE_INTERNAL_H

/*
 * Lua the desk and the actions script start with (and the store script's
 * intake, queue.c), after setting P (the key prefix), NOW (ms) and AUDIT
 * (the audit stream's cap): number formatting, the item key, and
 * record(), which appends one entry to an item's history and the same to
 * the audit stream (docs/redis.md).
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

/*
 * The desk's intake (docs/redis.md, "The desk"), shared by the desk
 * script and the store script, which takes a new item in as it stores
 * it. Expects P, G, LEASE, AUDIT, BATCH (a string: the XREADGROUP
 * COUNT), NOW (ms; nil to read Redis's TIME when first needed) and N
 * (the assigned counter), and follows QUEUE_LUA_COMMON.
 *
 * intake(q, own) moves the entries of q's stream no one has read yet
 * into the group's pending list under inboxd:waiting and takes each in:
 * an entry whose item is gone, deleted, resolved, elsewhere or no longer
 * its stream_id is XACKed and XDELed; a held item's goes to its holder;
 * an item taken in for the first time gets its priority and conversation
 * (decoded from its JSON when it was stored without them) and goes to
 * the agent who holds its conversation (not away), else into ready:<q>.
 * An entry marked "taken" (the store script put its item in ready:<q>
 * already) is only moved; the hashes of all such entries of a read are
 * checked with one EXISTS, and the entry of an item that has expired
 * since is XACKed and XDELed. A missing group is created at 0 and the
 * read tried again. own, when set, is the item the calling store script
 * has just written ({id, stream_id, queue, state, prio, conv,
 * received_at}): it is known new and is not read back. Returns the
 * entries read and whether own was among them.
 */
#define QUEUE_LUA_INTAKE                                                  \
    "local WAIT, SYS, UNIT = 'inboxd:waiting', 'inboxd', 4398046511104\n" \
    "local function clock()\n"                                            \
    "  if NOW then return end\n"                                          \
    "  local tm = redis.call('TIME')\n"                                   \
    "  NOW = tonumber(tm[1]) * 1000 +\n"                                  \
    "    math.floor(tonumber(tm[2]) / 1000)\n"                             \
    "end\n"                                                               \
    "local function qkey(q) return P .. 'q:' .. q end\n"                  \
    "local function rkey(q) return P .. 'ready:' .. q end\n"              \
    "local function hkey(a) return P .. 'held:' .. a end\n"               \
    "local function akey(a) return P .. 'agent:' .. a end\n"              \
    "local function ckey(c) return P .. 'conv:' .. c end\n"               \
    "local F = {'state', 'queue', 'stream_id', 'holder', 'lease_until',\n"\
    "  'received_at', 'conv', 'prio', 'seen', 'fresh'}\n"                 \
    "local function load(id)\n"                                           \
    "  local v = redis.call('HMGET', ikey(id), unpack(F))\n"              \
    "  local h = {}\n"                                                    \
    "  for i, f in ipairs(F) do if v[i] then h[f] = v[i] end end\n"       \
    "  if not h.state then return nil end\n"                              \
    "  return h\n"                                                        \
    "end\n"                                                               \
    "local function conv_add(conv, agent, n)\n"                           \
    "  if not conv or conv == '' then return end\n"                       \
    "  local k = ckey(conv)\n"                                            \
    "  if redis.call('HINCRBY', k, agent, n) <= 0 then\n"                 \
    "    redis.call('HDEL', k, agent)\n"                                  \
    "  end\n"                                                             \
    "  if n > 0 then redis.call('PEXPIRE', k, 2 * LEASE) end\n"           \
    "end\n"                                                               \
    "local function hold(id, h, agent, seen)\n"                           \
    "  clock()\n"                                                         \
    "  redis.call('XCLAIM', qkey(h.queue), G, agent, 0, h.stream_id,\n"   \
    "    'JUSTID')\n"                                                     \
    "  redis.call('ZREM', rkey(h.queue), id)\n"                           \
    "  local lu = num(NOW + LEASE)\n"                                     \
    "  redis.call('HSET', ikey(id), 'holder', agent, 'lease_until', lu,\n"\
    "    'claimed_at', num(NOW), 'seen', seen)\n"                         \
    "  redis.call('ZADD', P .. 'leases', lu, id)\n"                       \
    "  redis.call('ZADD', hkey(agent), num(NOW), id)\n"                   \
    "  conv_add(h.conv, agent, 1)\n"                                      \
    "  redis.call('SADD', P .. 'agents', agent)\n"                        \
    "  redis.call('HINCRBY', akey(agent), 'claims', 1)\n"                 \
    "  h.holder, h.lease_until = agent, lu\n"                             \
    "end\n"                                                               \
    "local function prio_of(item, rcv)\n"                                 \
    "  local m = 0\n"                                                     \
    "  local c = type(item) == 'table' and item.classification\n"         \
    "  if type(c) == 'table' and type(c.scores) == 'table' then\n"        \
    "    for _, v in pairs(c.scores) do\n"                                \
    "      if type(v) == 'number' and v > m then m = v end\n"             \
    "    end\n"                                                           \
    "  end\n"                                                             \
    "  local b = math.floor(m * 10 + 1e-6)\n"                             \
    "  if b > 2000 then b = 2000 end\n"                                   \
    "  return num(rcv - b * UNIT)\n"                                      \
    "end\n"                                                               \
    "local function conv_of(item)\n"                                      \
    "  if type(item) ~= 'table' or type(item.conversation) ~= 'string' then\n"\
    "    return ''\n"                                                     \
    "  end\n"                                                             \
    "  local acc = type(item.account) == 'table' and item.account.id or ''\n"\
    "  return tostring(item.platform) .. ':' .. tostring(acc) .. ':' ..\n"\
    "    item.conversation\n"                                             \
    "end\n"                                                               \
    "local function sticky(conv)\n"                                       \
    "  if not conv or conv == '' then return nil end\n"                   \
    "  local v = redis.call('HGETALL', ckey(conv))\n"                     \
    "  for i = 1, #v, 2 do\n"                                             \
    "    if tonumber(v[i + 1]) > 0 and\n"                                 \
    "      redis.call('HGET', akey(v[i]), 'away') ~= '1' then\n"          \
    "      return v[i]\n"                                                 \
    "    end\n"                                                           \
    "  end\n"                                                             \
    "  return nil\n"                                                      \
    "end\n"                                                               \
    "local function group(q)\n"                                           \
    "  redis.pcall('XGROUP', 'CREATE', qkey(q), G, '0', 'MKSTREAM')\n"    \
    "end\n"                                                               \
    "local function readgroup(q)\n"                                       \
    "  return redis.pcall('XREADGROUP', 'GROUP', G, WAIT, 'COUNT', BATCH,\n"\
    "    'STREAMS', qkey(q), '>')\n"                                      \
    "end\n"                                                               \
    "local function intake(q, own)\n"                                     \
    "  local r = readgroup(q)\n"                                          \
    "  if type(r) == 'table' and r.err then\n"                            \
    "    group(q)\n"                                                      \
    "    r = readgroup(q)\n"                                              \
    "  end\n"                                                             \
    "  if type(r) ~= 'table' or r.err then return 0, false end\n"         \
    "  local met, tsid, tkey = false, {}, {}\n"                           \
    "  for _, e in ipairs(r[1][2]) do\n"                                  \
    "    local sid, f, id, taken = e[1], e[2], nil, false\n"              \
    "    for i = 1, #f, 2 do\n"                                           \
    "      if f[i] == 'id' then id = f[i + 1] end\n"                      \
    "      if f[i] == 'taken' then taken = true end\n"                    \
    "    end\n"                                                           \
    "    local h\n"                                                       \
    "    if own and id == own.id and sid == own.stream_id then\n"         \
    "      h, met = own, true\n"                                          \
    "    elseif taken and id then\n"                                      \
    "      h = false\n"                                                   \
    "    else\n"                                                          \
    "      clock()\n"                                                     \
    "      h = id and load(id)\n"                                         \
    "    end\n"                                                           \
    "    if h == false then\n"                                            \
    "      tsid[#tsid + 1], tkey[#tkey + 1] = sid, ikey(id)\n"            \
    "    elseif not h or h.stream_id ~= sid or h.queue ~= q or\n"         \
    "      h.state == 'deleted' or h.state == 'resolved' then\n"          \
    "      redis.call('XACK', qkey(q), G, sid)\n"                         \
    "      redis.call('XDEL', qkey(q), sid)\n"                            \
    "    elseif h.holder then\n"                                          \
    "      redis.call('XCLAIM', qkey(q), G, h.holder, 0, sid, 'JUSTID')\n"\
    "    else\n"                                                          \
    "      local first = h == own or not h.prio or h.fresh == '1'\n"      \
    "      if h.fresh == '1' then\n"                                      \
    "        redis.call('HDEL', ikey(id), 'fresh')\n"                     \
    "      elseif first and h ~= own then\n"                              \
    "        local ok, item = pcall(cjson.decode,\n"                      \
    "          redis.call('HGET', ikey(id), 'json') or '')\n"             \
    "        if not ok then item = nil end\n"                             \
    "        h.prio = prio_of(item, tonumber(h.received_at) or NOW)\n"    \
    "        h.conv = conv_of(item)\n"                                    \
    "        redis.call('HSET', ikey(id), 'prio', h.prio, 'conv', h.conv)\n"\
    "        if h.conv ~= '' then\n"                                      \
    "          local k = P .. 'convitems:' .. h.conv\n"                   \
    "          redis.call('ZADD', k, h.received_at or num(NOW), id)\n"    \
    "          local ttl = redis.call('PTTL', ikey(id))\n"                \
    "          if ttl > 0 and redis.call('PTTL', k) < ttl then\n"         \
    "            redis.call('PEXPIRE', k, ttl)\n"                         \
    "          end\n"                                                     \
    "        end\n"                                                       \
    "      end\n"                                                         \
    "      local who = first and sticky(h.conv)\n"                        \
    "      if who then\n"                                                 \
    "        hold(id, h, who, '0')\n"                                     \
    "        redis.call('HSET', ikey(id), 'state', 'claimed')\n"          \
    "        record(id, 'assigned', SYS,\n"                               \
    "          {'to', who, 'reason', 'conversation'})\n"                  \
    "        N.assigned = N.assigned + 1\n"                               \
    "      else\n"                                                        \
    "        redis.call('ZADD', rkey(q), h.prio, id)\n"                   \
    "        if h.state ~= 'queued' then\n"                               \
    "          redis.call('HSET', ikey(id), 'state', 'queued')\n"         \
    "        end\n"                                                       \
    "      end\n"                                                         \
    "    end\n"                                                           \
    "  end\n"                                                             \
    "  if #tkey > 0 and redis.call('EXISTS', unpack(tkey)) < #tkey then\n"\
    "    for i, k in ipairs(tkey) do\n"                                   \
    "      if redis.call('EXISTS', k) == 0 then\n"                        \
    "        redis.call('XACK', qkey(q), G, tsid[i])\n"                   \
    "        redis.call('XDEL', qkey(q), tsid[i])\n"                      \
    "      end\n"                                                         \
    "    end\n"                                                           \
    "  end\n"                                                             \
    "  return #r[1][2], met\n"                                            \
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
