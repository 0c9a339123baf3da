#!/bin/sh
# The integration tests with every inboxd they start running under
# valgrind's memcheck (a plain Debug build, no sanitizers): any invalid
# access, or memory definitely lost at exit, fails the run. The checks of
# uninitialised values are off: the rules' JIT and SIMD code trips them
# by design (ASan and UBSan cover that ground in tests/run.sh). Processes the
# tests kill with SIGKILL write no leak summary; their access errors still
# count.
#
#   tests/valgrind.sh [ctest -R regex]     default: the suites that stop
#                                         their daemons with SIGTERM
set -eu
cd "$(dirname "$0")/.."
TESTS=${1:-'integration\.(ingest|queue|webhook|claims)_test'}
contrib/install-deps.sh
cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-valgrind -j "$(nproc 2>/dev/null || echo 2)"
LOGS=$(mktemp -d /tmp/inboxd-valgrind.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
(cd build-valgrind && IT_VALGRIND_DIR=$LOGS ctest --output-on-failure \
    --timeout 900 -R "$TESTS")
n=$(ls "$LOGS" | wc -l)
bad=$(grep -l -E "definitely lost: [1-9]|Invalid (read|write|free)|ERROR SUMMARY: [1-9]" "$LOGS"/* 2>/dev/null || true)
if [ -n "$bad" ]; then
    for f in $bad; do echo "== $f"; cat "$f"; done
    echo "valgrind: $(echo "$bad" | wc -w) of $n inboxd processes reported errors"
    exit 1
fi
echo "valgrind: $n inboxd processes, no errors, nothing definitely lost"
