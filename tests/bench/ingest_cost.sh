#!/bin/sh
# The work per ingested item, in instructions: inboxd (Release) runs under
# callgrind while wrk posts items for a while; the event loop's
# instructions divided by the items stored. With REDIS=1, redis-server
# runs under callgrind as well and its instructions per item (everything
# it ran while the items came: commands, scripts, the AOF) are printed
# too. Instruction counts do not depend on what else the machine runs,
# so this compares changes on a busy machine, where ingest.sh's items/s
# cannot (docs/performance.md).
#
#   tests/bench/ingest_cost.sh [seconds=10]
#   REDIS=1 tests/bench/ingest_cost.sh      inboxd and redis-server
#   KEEP=file tests/bench/ingest_cost.sh    keep the profile(s): file,
#                                           file.redis
#   CG_OPTS=--toggle-collect=event_base_loop  profile only the loop
set -eu
cd "$(dirname "$0")/../.."
SECS=${1:-10}
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null
out=/tmp/inboxd-cost.$$.out
rout=/tmp/redis-cost.$$.out
INBOXD_WRAP="valgrind --tool=callgrind --dump-instr=no ${CG_OPTS:-} --callgrind-out-file=$out"
if [ -n "${REDIS:-}" ]; then
    REDIS_WRAP="valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=$rout"
fi
START_TRIES=600
. tests/bench/lib.sh

# The redis-server's start (and the daemon's first calls) are not items:
# zero its counters once inboxd answers.
[ -n "${REDIS:-}" ] && callgrind_control -z "$(cat "$DIR/redis.pid")" >/dev/null 2>&1
wrk -t1 -c8 -d"${SECS}s" -s tests/bench/post_item.lua \
    "http://127.0.0.1:$PORT/v1/items" | grep '^BENCH'
items=$(redis-cli -s "$DIR/redis.sock" XLEN inboxd:ingest)
if [ -n "${REDIS:-}" ]; then
    callgrind_control -d "$(cat "$DIR/redis.pid")" >/dev/null 2>&1
fi
pid=$(cat "$DIR/inboxd.pid")
kill "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
loop=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
    awk '/event_base_loop /{ gsub(",", "", $1); print $1; exit }')
echo "items=$items loop_instructions=$loop per_item=$((loop / items))"
if [ -n "${REDIS:-}" ]; then
    # The dump after the items is the last numbered part.
    part=$(ls -t "$rout".* 2>/dev/null | head -1)
    total=$(callgrind_annotate "$part" 2>/dev/null |
        awk '/PROGRAM TOTALS/{ gsub(",", "", $1); print $1; exit }')
    echo "redis-server instructions=$total per_item=$((total / items))"
fi
if [ -n "${KEEP:-}" ]; then
    mv "$out" "$KEEP"
    [ -n "${part:-}" ] && mv "$part" "$KEEP.redis"
fi
rm -f "$out" "$rout" "$rout".*
