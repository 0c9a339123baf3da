#!/bin/sh
# Classification benchmark (docs/performance.md, "Classification"): one
# run that
#   1. builds classify_bench and inboxd (Release) in a private directory,
#   2. runs classify_bench: rules_eval at ~1,000 rules (shipped sets plus
#      generated ones), plain loop against prefilter, and the time a load
#      (= a SIGHUP reload) of those rules takes,
#   3. times `inboxd classify` over the same comments and rules, as a
#      whole process (start, config and rules load, JSON in and out) and
#      without its start-up (an empty input timed alone), best of five
#      runs, with the prefilter and with a second build without it
#      (INBOXD_PREFILTER=OFF), and
#   4. times the npm packages a user might use instead
#      (tests/bench/classify_bench.js, with tests/eval/node_modules) when
#      node and those modules are there.
#
#   tests/bench/classify_bench.sh [-n items] [-t seconds] [-q]
#
# -q skips the second build and the npm peers. BUILD=DIR builds there
# (default: $TMPDIR/inboxd-bench-build); nothing is written to the tree.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
N=20000
T=3
QUICK=0
while getopts n:t:q opt; do
    case $opt in
    n) N=$OPTARG ;;
    t) T=$OPTARG ;;
    q) QUICK=1 ;;
    *) echo "usage: $0 [-n items] [-t seconds] [-q]" >&2; exit 2 ;;
    esac
done
BUILD=${BUILD:-${TMPDIR:-/tmp}/inboxd-bench-build}
JOBS=$(nproc 2>/dev/null || echo 2)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/inboxd-classify-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "== build ($BUILD)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target classify_bench inboxd >/dev/null
if [ "$QUICK" -eq 0 ]; then
    cmake -S . -B "$BUILD-plain" -DCMAKE_BUILD_TYPE=Release \
        -DINBOXD_PREFILTER=OFF -DINBOXD_BUILD_TESTS=OFF >/dev/null
    cmake --build "$BUILD-plain" -j "$JOBS" --target inboxd >/dev/null
fi

echo "== rules_eval (classify_bench -n $N -t $T)"
"$BUILD/classify_bench" -n "$N" -t "$T" -j "$WORK/corpus.jsonl" \
    -d "$WORK/rules"

cat >"$WORK/inboxd.yml" <<EOF
rules:
  dirs: [$ROOT/rules, $WORK/rules]
log:
  level: error
EOF

# Seconds a command takes, to the millisecond.
elapsed() {
    s=$(date +%s.%N)
    "$@"
    e=$(date +%s.%N)
    echo "$s $e" | awk '{ printf "%.3f", $2 - $1 }'
}

# The best of five runs of inboxd classify over a file: the machine may
# be shared, and the best run is the one least disturbed.
best5() {
    bin=$1
    in=$2
    best=
    for i in 1 2 3 4 5; do
        t=$(elapsed sh -c "'$bin' classify -c '$WORK/inboxd.yml' \
            <'$in' >'$WORK/out.jsonl'")
        best=$(echo "$t ${best:-$t}" | awk '{ print ($1 < $2) ? $1 : $2 }')
    done
    echo "$best"
}

# inboxd classify over the corpus: items/s of the whole process, and
# without its start-up (config and rules load, timed on an empty input).
classify() {
    bin=$1
    label=$2
    : >"$WORK/empty.jsonl"
    start=$(best5 "$bin" "$WORK/empty.jsonl")
    secs=$(best5 "$bin" "$WORK/corpus.jsonl")
    lines=$(wc -l <"$WORK/out.jsonl")
    printf '%-30s ' "$label"
    echo "$secs $lines $start" | awk '{ printf "%6d items in %6.3f s: " \
        "%7.0f items/s; start-up %.3f s, then %7.0f items/s\n", $2, $1, \
        $2 / $1, $3, ($1 > $3) ? $2 / ($1 - $3) : 0 }'
}

echo "== inboxd classify (one process, $N items, same rules; best of 5)"
classify "$BUILD/inboxd" "inboxd classify, prefilter"
if [ "$QUICK" -eq 0 ]; then
    cp "$WORK/out.jsonl" "$WORK/out-prefilter.jsonl"
    classify "$BUILD-plain/inboxd" "inboxd classify, plain loop"
    if cmp -s "$WORK/out.jsonl" "$WORK/out-prefilter.jsonl"; then
        echo "same output with and without the prefilter"
    else
        echo "OUTPUT DIFFERS with and without the prefilter" >&2
        exit 1
    fi
fi

if [ "$QUICK" -eq 0 ] && command -v node >/dev/null 2>&1 &&
    [ -d "$ROOT/tests/eval/node_modules" ]; then
    echo "== npm peers (node, same comments)"
    node "$ROOT/tests/bench/classify_bench.js" "$WORK/corpus.jsonl"
fi
