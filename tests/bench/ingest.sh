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
contrib/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DINBOXD_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target inboxd >/dev/null

DIR=$(mktemp -d /tmp/inboxd-bench.XXXXXX)
cleanup() {
    [ -f "$DIR/inboxd.pid" ] && kill "$(cat "$DIR/inboxd.pid")" 2>/dev/null || true
    [ -f "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    sleep 0.3
    rm -rf "$DIR"
}
trap cleanup EXIT
redis-server --port 0 --unixsocket "$DIR/redis.sock" --dir "$DIR" \
    --appendonly yes --appendfsync everysec --save "" --daemonize yes \
    --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
for _ in $(seq 50); do
    redis-cli -s "$DIR/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.1
done

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo 18080)
cat > "$DIR/inboxd.yml" <<YML
listen: 127.0.0.1:$PORT
redis:
  address: unix:$DIR/redis.sock
rules:
  dirs: [${RULES_DIR:-$(pwd)/rules}]
tokens:
  - name: bench
    role: ingest
    token_env: BENCH_TOKEN
queues:
  names: [general, moderation, sales, support]
  ingest_maxlen: 100000000
routes:
  - queue: moderation
    category: [spam, abuse]
  - queue: sales
    category: lead
  - queue: support
    category: question
log:
  level: warn
YML
BENCH_TOKEN=bench-token build-bench/inboxd -c "$DIR/inboxd.yml" 2>"$DIR/inboxd.log" &
echo $! > "$DIR/inboxd.pid"
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1
done

echo "== ceiling: redis-benchmark XADD, $CONNS clients, same redis-server"
redis-benchmark -s "$DIR/redis.sock" -c "$CONNS" -n 200000 -q \
    XADD bench:ceiling '*' id facebook:bench 2>/dev/null | tr '\r' '\n' | grep -i "per second" | tail -1

echo "== inboxd: wrk, 1 thread, $CONNS connections, ${SECS}s"
OUT=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s tests/bench/post_item.lua \
    "http://127.0.0.1:$PORT/v1/items")
LINE=$(echo "$OUT" | grep '^BENCH')
echo "$LINE"
req=$(echo "$LINE" | sed 's/.*requests=\([0-9]*\).*/\1/')
non2xx=$(echo "$LINE" | sed 's/.*non2xx=\([0-9]*\).*/\1/')
secs=$(echo "$LINE" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
p99=$(echo "$LINE" | sed 's/.*p99_ms=\([0-9.]*\).*/\1/')
acked=$((req - non2xx))
stored=$(redis-cli -s "$DIR/redis.sock" XLEN inboxd:ingest)
rate=$(awk -v a="$acked" -v s="$secs" 'BEGIN { printf "%.0f", a / s }')
echo "acknowledged=$acked stored=$stored items/s=$rate p99_ms=$p99"
[ "$stored" -ge "$acked" ] || echo "LOSS: fewer items stored than acknowledged"
awk -v r="$rate" -v p="$p99" 'BEGIN {
    printf "target 10000 items/s with p99 < 20 ms: %s\n",
        (r >= 10000 && p < 20) ? "met" : "NOT met" }'
