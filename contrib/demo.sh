#!/bin/sh
# The five-minute tour: install what is missing, build, start a private
# redis-server in /tmp/inboxd-demo, start inboxd with contrib/inboxd.yml,
# post every sample from contrib/samples/ and print what happened to each.
#
#   contrib/demo.sh          run the tour, then stop everything
#   contrib/demo.sh --keep   leave redis-server and inboxd running
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEMO=/tmp/inboxd-demo
KEEP=${1:-}
export INBOXD_TOKEN=demo-ingest-token

contrib/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target inboxd inboxctl >/dev/null

if [ -f "$DEMO/redis.pid" ]; then kill "$(cat "$DEMO/redis.pid")" 2>/dev/null || true; fi
if [ -f "$DEMO/inboxd.pid" ]; then kill "$(cat "$DEMO/inboxd.pid")" 2>/dev/null || true; fi
sleep 0.2
rm -rf "$DEMO" && mkdir -p "$DEMO"

cleanup() {
    [ "$KEEP" = "--keep" ] && return
    [ -f "$DEMO/inboxd.pid" ] && kill "$(cat "$DEMO/inboxd.pid")" 2>/dev/null || true
    [ -f "$DEMO/redis.pid" ] && kill "$(cat "$DEMO/redis.pid")" 2>/dev/null || true
}
trap cleanup EXIT

redis-server --port 0 --unixsocket "$DEMO/redis.sock" --unixsocketperm 700 \
    --dir "$DEMO" --appendonly yes --save "" --daemonize yes \
    --pidfile "$DEMO/redis.pid" --logfile "$DEMO/redis.log"
for _ in $(seq 50); do
    redis-cli -s "$DEMO/redis.sock" ping >/dev/null 2>&1 && break
    sleep 0.1
done

build/inboxd -n -c contrib/inboxd.yml
build/inboxd -c contrib/inboxd.yml >"$DEMO/inboxd.log" 2>&1 &
echo $! > "$DEMO/inboxd.pid"
URL=http://127.0.0.1:8080
for _ in $(seq 100); do
    curl -fs "$URL/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "$URL/healthz" >/dev/null || { cat "$DEMO/inboxd.log"; exit 1; }

printf '\n%-44s %-10s %-14s %s\n' ITEM STATUS QUEUE CATEGORIES
for f in contrib/samples/*.json; do
    resp=$(curl -s -H "Authorization: Bearer $INBOXD_TOKEN" \
        -H 'Content-Type: application/json' --data-binary "@$f" "$URL/v1/items")
    echo "$resp" | jq -r '[.id // "-", .status // .error.code,
        .queue // "-", ((.categories // []) | join(",")) ] |
        @tsv' | awk -F'\t' '{ id = length($1) > 44 ? substr($1, 1, 41) "..." : $1
            printf "%-44s %-10s %-14s %s\n", id, $2, $3, ($4 == "" ? "-" : $4) }'
done

printf '\nQueue depths (Redis streams):\n'
for q in $(redis-cli -s "$DEMO/redis.sock" --scan --pattern 'inboxd:q:*' | sort); do
    printf '  %-24s %s\n' "${q#inboxd:q:}" "$(redis-cli -s "$DEMO/redis.sock" XLEN "$q")"
done
printf '\nWhy was the first spam item flagged? (rules that fired)\n'
first=$(redis-cli -s "$DEMO/redis.sock" XRANGE inboxd:q:moderation - + COUNT 1 | sed -n 3p)
[ -n "$first" ] && redis-cli -s "$DEMO/redis.sock" HGET "inboxd:item:$first" json |
    jq -r '.id as $id | .classification.hits[] | "  \($id)  \(.rule)  +\(.score) \(.category)  \"\(.match)\""'
printf '\nMetrics: curl %s/metrics   Health: curl %s/healthz\n' "$URL" "$URL"
printf 'Web inbox: http://127.0.0.1:8081/ (token demo-agent-token; with --keep)\n'
printf 'Daemon log: %s/inboxd.log\n' "$DEMO"
if [ "$KEEP" = "--keep" ]; then
    printf 'Still running (inboxd pid %s). Stop: kill %s %s\n' \
        "$(cat "$DEMO/inboxd.pid")" "$(cat "$DEMO/inboxd.pid")" "$(cat "$DEMO/redis.pid")"
fi
