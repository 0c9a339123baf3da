#!/bin/sh
# What the HTTP limits cost per request, in instructions (callgrind), so
# the figure holds on a busy machine:
#
# 1. ratelimit_bench under callgrind: the source table's work per
#    request in three shapes (ratelimit_bench.c).
# 2. inboxd under callgrind, with loopback not exempt and a rate no one
#    reaches, while wrk posts items (tests/bench/post_item.lua) for a few
#    seconds: the instructions of http_guard per request and per
#    connection, against the whole request's.
#
#   tests/bench/guard_cost.sh BUILD_DIR [seconds]
#
# BUILD_DIR is a configured build tree (RelWithDebInfo or Release); the
# script builds inboxd and ratelimit_bench in it.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${1:?usage: guard_cost.sh BUILD_DIR [seconds]}
SECS=${2:-10}
cmake --build "$BUILD" -j 2 --target inboxd ratelimit_bench >/dev/null

DIR=$(mktemp -d /tmp/inboxd-guardcost.XXXXXX)
cleanup() {
    [ -f "$DIR/inboxd.pid" ] && kill "$(cat "$DIR/inboxd.pid")" 2>/dev/null || true
    [ -f "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    sleep 0.3
    rm -rf "$DIR"
}
trap cleanup EXIT

# callgrind_annotate, run away from the source tree: there it merges the
# relative and absolute names of a file and loses the callers.
annotate() {
    (cd / && callgrind_annotate --threshold=100 --auto=no "$@" 2>/dev/null)
}
# Inclusive instructions of function $2 in callgrind file $1.
incl() {
    annotate --inclusive=yes "$1" |
        awk -v f="$2" 'index($0, ":" f " [") {
            gsub(",", "", $1); print $1; exit }'
}
# Calls of function $2 in callgrind file $1: the "(Nx)" of its callers,
# listed ("<") just above its own line ("*") in the caller tree.
calls() {
    annotate --tree=caller "$1" |
        awk -v f="$2" '
            /^ *$/ { s = 0; next }
            / < / { n = $0; sub(/.*\(/, "", n); sub(/x\).*/, "", n);
                gsub(",", "", n); s += n; next }
            / \* / && index($0, ":" f " ") { t += s; s = 0 }
            END { print t + 0 }'
}

echo "== the source table alone (ratelimit_bench, 1,000,000 each)"
valgrind --tool=callgrind --callgrind-out-file="$DIR/bench.cg" \
    "$BUILD/ratelimit_bench" 1000000 >/dev/null 2>&1
for f in bench_take bench_lookup bench_churn; do
    ir=$(incl "$DIR/bench.cg" "$f")
    awk -v f="$f" -v ir="$ir" 'BEGIN {
        printf "%-13s %6.1f instructions per request\n", f, ir / 1e6 }'
done

echo "== inboxd, wrk 4 connections, ${SECS}s, under callgrind"
redis-server --port 0 --unixsocket "$DIR/redis.sock" --dir "$DIR" \
    --save "" --daemonize yes --pidfile "$DIR/redis.pid" \
    --logfile "$DIR/redis.log"
for _ in $(seq 50); do
    redis-cli -s "$DIR/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.1
done
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
# No rules: the request's own cost is what the guard is weighed against.
mkdir "$DIR/rules"
cat > "$DIR/inboxd.yml" <<YML
listen: 127.0.0.1:$PORT
redis:
  address: unix:$DIR/redis.sock
rules:
  dirs: [$DIR/rules]
tokens:
  - {name: bench, role: ingest, token_env: BENCH_TOKEN}
queues:
  names: [general]
  ingest_maxlen: 100000000
http:
  sources:
    exempt: []
    rate: 1000000
    burst: 10000000
log:
  level: warn
YML
BENCH_TOKEN=bench-token valgrind --tool=callgrind \
    --callgrind-out-file="$DIR/inboxd.cg" "$BUILD/inboxd" \
    -c "$DIR/inboxd.yml" 2>"$DIR/inboxd.log" &
echo $! > "$DIR/inboxd.pid"
for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
    sleep 0.1
done
wrk -t1 -c4 -d"${SECS}s" -s tests/bench/post_item.lua \
    "http://127.0.0.1:$PORT/v1/items" | grep '^BENCH'
kill -TERM "$(cat "$DIR/inboxd.pid")"
for _ in $(seq 300); do
    kill -0 "$(cat "$DIR/inboxd.pid")" 2>/dev/null || break; sleep 0.1
done
rm -f "$DIR/inboxd.pid"

reqs=$(calls "$DIR/inboxd.cg" http_guard_request)
conns=$(calls "$DIR/inboxd.cg" http_guard_bev_cb)
echo "requests=$reqs connections=$conns"
# event_base_loop: everything the loop did (accept, parse, pipeline,
# Redis, replies), against which the guard's share is measured.
for f in event_base_loop http_guard_request http_guard_reply_done \
    http_guard_bev_cb http_guard_admit_cb http_guard_close_cb; do
    echo "$f $(incl "$DIR/inboxd.cg" "$f")"
done | awk -v r="$reqs" -v c="$conns" '
    { ir[$1] = $2 + 0 }
    END {
        g = ir["http_guard_request"] + ir["http_guard_reply_done"]
        printf "per request: the loop %.0f instructions, the guard %.0f", ir["event_base_loop"] / r, g / r
        printf " (http_guard_request %.0f, http_guard_reply_done %.0f),", ir["http_guard_request"] / r, ir["http_guard_reply_done"] / r
        printf " %.2f %% of the loop\n", 100 * g / ir["event_base_loop"]
        printf "per connection: bev_cb %.0f, admission %.0f, close %.0f instructions\n", ir["http_guard_bev_cb"] / c, ir["http_guard_admit_cb"] / c, ir["http_guard_close_cb"] / c
    }'
