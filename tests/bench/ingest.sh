#!/bin/sh
# Ingest benchmark: wrk posts unique items to a Release inboxd over
# loopback, with a private redis-server (AOF, fsync every second) on a Unix
# socket. In the same run, redis-benchmark XADD against that redis-server
# gives the ceiling. Prints acknowledged items/s, p50/p90/p99 latency,
# checks that Redis holds exactly the acknowledged items, and compares
# with the target (10,000 items/s, p99 < 20 ms on 2 cores).
#
#   tests/bench/ingest.sh [seconds] [connections]
#   RULES_DIR=/empty/dir tests/bench/ingest.sh     the same without rules
set -eu
cd "$(dirname "$0")/../.."
SECS=${1:-15}
CONNS=${2:-32}
. tests/bench/lib.sh

echo "== ceiling: redis-benchmark XADD, $CONNS clients, same redis-server"
redis-benchmark -s "$DIR/redis.sock" -c "$CONNS" -n 200000 -q \
    XADD bench:ceiling '*' id facebook:bench 2>/dev/null | tr '\r' '\n' | grep -i "per second" | tail -1

echo "== inboxd: wrk, 1 thread, $CONNS connections, ${SECS}s"
bench_wrk "$SECS"
echo "$LINE"
stored=$(redis-cli -s "$DIR/redis.sock" XLEN inboxd:ingest)
rate=$(awk -v a="$acked" -v s="$secs" 'BEGIN { printf "%.0f", a / s }')
echo "acknowledged=$acked stored=$stored items/s=$rate p99_ms=$p99"
[ "$stored" -ge "$acked" ] || echo "LOSS: fewer items stored than acknowledged"
awk -v r="$rate" -v p="$p99" 'BEGIN {
    printf "target 10000 items/s with p99 < 20 ms: %s\n",
        (r >= 10000 && p < 20) ? "met" : "NOT met" }'
