#!/bin/sh
# Spool benchmark: a Release inboxd with spool.dir set; Redis is stopped,
# wrk posts unique items for a while (every 202 is an item fsynced to the
# spool), then Redis is started and the replay timed until /healthz says
# the spool is idle. Prints the intake rate and latency while spooling,
# how many writes each fdatasync covered (the group commit), the bytes a
# record takes, the replay rate, and checks that Redis holds exactly the
# acknowledged items (or a few more: wrk stops with requests in flight).
#
#   tests/bench/spool.sh [seconds] [connections]
set -eu
cd "$(dirname "$0")/../.."
SECS=${1:-10}
CONNS=${2:-32}
# Relative to the config file: $DIR/spool.
BENCH_EXTRA_YML="spool:
  dir: spool
  max_bytes: 1GiB"
. tests/bench/lib.sh
metric() {
    curl -fs "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
redis_start() {
    redis-server --port 0 --unixsocket "$DIR/redis.sock" --dir "$DIR" \
        --appendonly yes --appendfsync everysec --save "" --daemonize yes \
        --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
}

redis-cli -s "$DIR/redis.sock" SHUTDOWN >/dev/null 2>&1 || true
sleep 0.5
echo "== spooling: Redis stopped; wrk, 1 thread, $CONNS connections, ${SECS}s"
bench_wrk "$SECS"
echo "$LINE"
spooled=$(metric 'inboxd_spool_spooled_total{op="new"}')
syncs=$(metric inboxd_spool_sync_seconds_count)
syncsum=$(metric inboxd_spool_sync_seconds_sum)
bytes=$(metric inboxd_spool_bytes)
records=$(metric inboxd_spool_records)
awk -v a="$spooled" -v s="$syncs" -v t="$syncsum" -v b="$bytes" -v r="$records" 'BEGIN {
    printf "spooled=%d fdatasyncs=%d writes/fdatasync=%.1f mean fdatasync=%.2f ms bytes/record=%.0f\n",
        a, s, a / s, 1000 * t / s, b / r }'

echo "== replay: Redis started"
redis_start
# inboxd reconnects with backoff (up to redis.reconnect_max, 5 s): time
# the replay from its first store.
for _ in $(seq 6000); do
    [ "$(redis-cli -s "$DIR/redis.sock" XLEN inboxd:ingest 2>/dev/null || echo 0)" -gt 0 ] && break
    sleep 0.01
done
t0=$(date +%s.%N)
# The CPU inboxd spends on the replay, when perf is there: far below one
# core means the replay waits on Redis, not on inboxd.
PERF_OUT="$DIR/perf.txt"
if command -v perf >/dev/null 2>&1; then
    perf stat -e task-clock -p "$(cat "$DIR/inboxd.pid")" \
        -o "$PERF_OUT" 2>/dev/null &
    PERF_PID=$!
fi
for _ in $(seq 60000); do
    curl -fs "http://127.0.0.1:$PORT/healthz" | grep -q '"state":"idle"' && break
    sleep 0.01
done
t1=$(date +%s.%N)
if [ -n "${PERF_PID:-}" ]; then
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    awk -v n="$records" -v a="$t0" -v b="$t1" '/task-clock/ { gsub(",", "", $1); c = $1 }
        END { if (c > 0) printf "replay: inboxd used %.0f ms of CPU (%.0f%% of a core, %.1f us a record)\n",
            c, 100 * c / (1000 * (b - a)), 1000 * c / n }' "$PERF_OUT"
fi
stored=$(redis-cli -s "$DIR/redis.sock" XLEN inboxd:ingest)
awk -v n="$records" -v a="$t0" -v b="$t1" 'BEGIN {
    printf "replayed %d records in %.2f s: %.0f records/s\n", n, b - a, n / (b - a) }'
echo "acknowledged=$acked stored=$stored"
# A few more may be stored: wrk stops with requests in flight.
[ "$stored" -ge "$acked" ] || echo "LOSS: fewer items stored than acknowledged"
