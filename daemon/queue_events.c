/*
 * queue_events: the events script, part of the queue module (it knows
 * the stream and key names; docs/redis.md, "Events"). The events hub
 * (events.c) reads the new entries of the ingest and audit streams with
 * it, through queue_events(), on the shared connection: never a BLOCK,
 * since every other command waits behind a blocked one.
 *
 * KEYS: <prefix>ingest, <prefix>audit. ARGV: key prefix, mode, count,
 * the ingest entry id to read after, the audit one.
 *
 *   next   XREAD COUNT <count> of both streams after the two ids: what
 *          was added since the last read.
 *   last   per stream, the newest <count> entries after its id (XREVRANGE,
 *          so a client resuming from far back gets the latest ones), and
 *          "ends": each stream's last entry id ("0-0" when empty), where
 *          a new reader starts.
 *
 * Audit entries name an item but not its queue, which a reader filters
 * on: the script adds the item's queue as it is now (one HGET each; ""
 * when the item is gone). The answer is one JSON document (cjson):
 *
 *   {"ingest": [[id, {field: value...}]...],
 *    "audit": [[id, {field: value...}, queue]...], "ends": [i, a]}
 *
 * cjson writes an empty list as {}; readers take a non-array as empty.
 */
#include "queue_internal.h"

const char queue_events_lua[] =
    "local P, MODE, N = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "local AFTER = {ARGV[4], ARGV[5]}\n"
    "local got, ends = {{}, {}}, {}\n"
    "if MODE == 'next' then\n"
    "  local r = redis.call('XREAD', 'COUNT', N, 'STREAMS', KEYS[1],\n"
    "    KEYS[2], AFTER[1], AFTER[2])\n"
    "  if r then\n"
    "    for _, s in ipairs(r) do\n"
    "      got[s[1] == KEYS[1] and 1 or 2] = s[2]\n"
    "    end\n"
    "  end\n"
    "else\n"
    "  for i = 1, 2 do\n"
    "    if N > 0 then\n"
    "      local r = redis.call('XREVRANGE', KEYS[i], '+', AFTER[i],\n"
    "        'COUNT', N + 1)\n"
    "      local t = {}\n"
    "      for j = #r, 1, -1 do\n"
    "        if r[j][1] ~= AFTER[i] then t[#t + 1] = r[j] end\n"
    "      end\n"
    "      while #t > N do table.remove(t, 1) end\n"
    "      got[i] = t\n"
    "    end\n"
    "    local e = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)\n"
    "    ends[i] = e[1] and e[1][1] or '0-0'\n"
    "  end\n"
    "end\n"
    "local function fields(f)\n"
    "  local o = {}\n"
    "  for j = 1, #f, 2 do o[f[j]] = f[j + 1] end\n"
    "  return o\n"
    "end\n"
    "local res = {ingest = {}, audit = {}}\n"
    "for _, e in ipairs(got[1]) do\n"
    "  res.ingest[#res.ingest + 1] = {e[1], fields(e[2])}\n"
    "end\n"
    "for _, e in ipairs(got[2]) do\n"
    "  local f = fields(e[2])\n"
    "  local q = f.item and redis.call('HGET', P .. 'item:' .. f.item,\n"
    "    'queue')\n"
    "  res.audit[#res.audit + 1] = {e[1], f, q or ''}\n"
    "end\n"
    "if MODE ~= 'next' then res.ends = ends end\n"
    "return cjson.encode(res)\n";
