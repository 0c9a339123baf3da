#!/bin/sh
# The daemon's work per ingested item, in instructions: inboxd (Release)
# runs under callgrind while wrk posts items for a while; the event loop's
# instructions divided by the items stored. Instruction counts do not
# depend on what else the machine runs, so this compares changes on a busy
# machine, where ingest.sh's items/s cannot (docs/performance.md).
#
#   tests/bench/ingest_cost.sh [seconds=10]
#   KEEP=file tests/bench/ingest_cost.sh     keep the callgrind profile
set -eu
cd "$(dirname "$0")/../.."
SECS=${1:-10}
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null
INBOXD_WRAP="valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=/tmp/inboxd-cost.$$.out"
START_TRIES=600
. tests/bench/lib.sh

wrk -t1 -c8 -d"${SECS}s" -s tests/bench/post_item.lua \
    "http://127.0.0.1:$PORT/v1/items" | grep '^BENCH'
items=$(redis-cli -s "$DIR/redis.sock" XLEN inboxd:ingest)
pid=$(cat "$DIR/inboxd.pid")
kill "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
out=/tmp/inboxd-cost.$$.out
loop=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
    awk '/event_base_loop /{ gsub(",", "", $1); print $1; exit }')
echo "items=$items loop_instructions=$loop per_item=$((loop / items))"
if [ -n "${KEEP:-}" ]; then mv "$out" "$KEEP"; else rm -f "$out"; fi
