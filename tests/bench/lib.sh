# Shared by the benchmarks that post items: build a Release inboxd, start
# a private redis-server (AOF, fsync every second) on a Unix socket and
# inboxd on a free loopback port, with the shipped rules (or RULES_DIR).
# Sets DIR and PORT; the EXIT trap stops both and removes DIR.
# BENCH_EXTRA_YML, when set, is appended to inboxd's config; the build goes
# to BENCH_BUILD_DIR (default build-bench).
# shellcheck shell=sh
contrib/install-deps.sh
BUILD=${BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DINBOXD_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target inboxd >/dev/null

DIR=$(mktemp -d /tmp/inboxd-bench.XXXXXX)
cleanup() {
    [ -f "$DIR/inboxd.pid" ] && kill "$(cat "$DIR/inboxd.pid")" 2>/dev/null || true
    [ -f "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    sleep 0.3
    rm -rf "$DIR"
}
trap cleanup EXIT
# REDIS_WRAP, like INBOXD_WRAP, runs redis-server under a tool.
if [ -n "${REDIS_WRAP:-}" ]; then
    $REDIS_WRAP redis-server --port 0 --unixsocket "$DIR/redis.sock" \
        --dir "$DIR" --appendonly yes --appendfsync everysec --save "" \
        --logfile "$DIR/redis.log" &
    echo $! > "$DIR/redis.pid"
else
    redis-server --port 0 --unixsocket "$DIR/redis.sock" --dir "$DIR" \
        --appendonly yes --appendfsync everysec --save "" --daemonize yes \
        --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
fi
for _ in $(seq "${START_TRIES:-50}"); do
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
${BENCH_EXTRA_YML:-}
YML
BENCH_TOKEN=bench-token ${INBOXD_WRAP:-} "$BUILD"/inboxd -c "$DIR/inboxd.yml" 2>"$DIR/inboxd.log" &
echo $! > "$DIR/inboxd.pid"
# START_TRIES: a daemon under valgrind needs far longer than 10 s to load.
for _ in $(seq "${START_TRIES:-100}"); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1
done

# bench_wrk SECS: wrk (1 thread, $CONNS connections) posts unique items
# for SECS seconds; sets LINE (its BENCH line), req, non2xx, acked, secs
# and p99.
# shellcheck disable=SC2034  # read by the scripts that source this one
bench_wrk() {
    LINE=$(wrk -t1 -c"$CONNS" -d"$1s" --latency -s tests/bench/post_item.lua \
        "http://127.0.0.1:$PORT/v1/items" | grep '^BENCH')
    req=$(echo "$LINE" | sed 's/.*requests=\([0-9]*\).*/\1/')
    non2xx=$(echo "$LINE" | sed 's/.*non2xx=\([0-9]*\).*/\1/')
    secs=$(echo "$LINE" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
    p99=$(echo "$LINE" | sed 's/.*p99_ms=\([0-9.]*\).*/\1/')
    acked=$((req - non2xx))
}
