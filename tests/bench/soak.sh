#!/bin/sh
# Soak test: sustained posting for minutes against a Release inboxd with a
# private redis-server (tests/bench/lib.sh), in rounds of ROUND seconds.
# After each round it samples inboxd's resident memory and the round's
# p99, and at the end compares the last rounds' RSS with the second
# round's (the first warms caches and the allocator): RSS must stay flat
# (under +10%), p99 under 20 ms, and every acknowledged item be stored.
#
#   tests/bench/soak.sh [minutes] [connections]     default 5 minutes, 8
set -eu
cd "$(dirname "$0")/../.."
MINUTES=${1:-5}
CONNS=${2:-8}
ROUND=30
. tests/bench/lib.sh

PID=$(cat "$DIR/inboxd.pid")
rounds=$((MINUTES * 60 / ROUND))
[ "$rounds" -ge 3 ] || rounds=3
total=0
echo "== soak: $rounds rounds of ${ROUND}s, $CONNS connections"
printf '%-6s %10s %10s %9s %9s\n' round requests items/s p99_ms rss_kib
i=1
while [ "$i" -le "$rounds" ]; do
    bench_wrk "$ROUND"
    rss=$(ps -o rss= -p "$PID" | tr -d ' ')
    total=$((total + acked))
    printf '%-6s %10s %10s %9s %9s\n' "$i" "$req" "$((req / ROUND))" \
        "$p99" "$rss"
    [ "$i" -eq 2 ] && base=$rss
    last=$rss
    worst=$(awk -v a="${worst:-0}" -v b="$p99" 'BEGIN{print (b>a)?b:a}')
    i=$((i + 1))
done
stored=$(redis-cli -s "$DIR/redis.sock" XLEN inboxd:ingest)
echo "acknowledged=$total stored=$stored rss_round2_kib=$base rss_last_kib=$last worst_p99_ms=$worst"
fail=0
[ "$stored" -ge "$total" ] || { echo "LOSS: fewer items stored than acknowledged"; fail=1; }
awk -v b="$base" -v l="$last" 'BEGIN { exit !(l <= b * 1.10) }' ||
    { echo "RSS grew more than 10% after the warm-up round"; fail=1; }
awk -v p="$worst" 'BEGIN { exit !(p < 20) }' ||
    { echo "p99 reached ${worst} ms (target < 20 ms)"; fail=1; }
[ "$fail" -eq 0 ] && echo "soak: RSS flat, p99 under 20 ms, nothing lost"
exit "$fail"
