#!/bin/sh
# Build the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and
# fuzz each for SECONDS (default 20), as many at a time as there are
# cores. Exits non-zero when any target crashes, leaks, runs past the
# per-input timeout or the memory limit, or breaks a promise it checks;
# the input is kept in build-fuzz/crashes/<name>/. docs/fuzzing.md.
#
#   tests/fuzz/run.sh [SECONDS] [NAME...]     e.g. tests/fuzz/run.sh 3600 meta
#
# What a run finds is kept in build-fuzz/corpus/<name>/ and used again
# by the next run; the seeds in tests/fuzz/corpus/ are only read.
set -eu
cd "$(dirname "$0")/../.."

SECS=${1:-20}
[ $# -gt 0 ] && shift
case $SECS in
*[!0-9]* | '' | 0) echo "usage: $0 [SECONDS] [NAME...]" >&2; exit 2 ;;
esac
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
if [ $# -gt 0 ]; then
    NAMES="$*"
else
    NAMES=$(for f in tests/fuzz/*_fuzz.c; do basename "$f" _fuzz.c; done)
fi
for name in $NAMES; do
    if [ ! -f "tests/fuzz/${name}_fuzz.c" ]; then
        echo "$0: no fuzz target $name (tests/fuzz/${name}_fuzz.c)" >&2
        exit 2
    fi
done

echo "== fuzz build ($BUILD, clang, ASan + UBSan)"
CC=${FUZZ_CC:-clang} cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DINBOXD_WERROR=ON -DINBOXD_FUZZ=ON -DINBOXD_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target fuzz

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The config and rules targets write their input to a scratch directory.
mkdir -p "$BUILD/tmp"
TMPDIR=$(cd "$BUILD/tmp" && pwd)
export TMPDIR
LSAN_SUPP=$PWD/tests/fuzz/lsan.supp
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$LSAN_SUPP:print_suppressions=0}

# libfyaml is built without frame pointers: for the YAML targets the
# slow unwinder finds the libfyaml function a leak came from, so that
# lsan.supp can tell its known leak from one of ours. It costs them
# four fifths of their speed; a leak hidden in libfyaml's frames would
# cost more.
asan_options_of() {
    case $1 in
    config | rules)
        echo "$ASAN_OPTIONS:fast_unwind_on_malloc=0:malloc_context_size=10" ;;
    *) echo "$ASAN_OPTIONS" ;;
    esac
}

dict_of() {
    case $1 in
    meta | vk | telegram | youtube | item | desk) echo tests/fuzz/json.dict ;;
    config | rules) echo tests/fuzz/yaml.dict ;;
    esac
}

# One target in the background; its log is $BUILD/fuzz-logs/NAME.log.
run_one() {
    name=$1
    bin=$BUILD/tests/fuzz/${name}_fuzz
    corpus=$BUILD/corpus/$name
    crashes=$BUILD/crashes/$name
    dict=$(dict_of "$name")
    mkdir -p "$corpus" "$crashes" "$BUILD/fuzz-logs"
    set -- -max_total_time="$SECS" -timeout=5 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/"
    [ -n "$dict" ] && set -- "$@" -dict="$dict"
    set -- "$@" "$corpus" "tests/fuzz/corpus/$name"
    [ -d "tests/fuzz/regressions/$name" ] &&
        set -- "$@" "tests/fuzz/regressions/$name"
    ASAN_OPTIONS=$(asan_options_of "$name") \
        "$bin" "$@" >"$BUILD/fuzz-logs/$name.log" 2>&1
}

# NAME runs exec/s cov ft corpus rss, from libFuzzer's final lines.
report() {
    log=$BUILD/fuzz-logs/$1.log
    awk -v name="$1" -v verdict="$2" '
        /(DONE|INITED) *cov:/ { for (i = 1; i < NF; i++) {
            if ($i == "cov:") cov = $(i + 1)
            if ($i == "ft:") ft = $(i + 1)
            if ($i == "corp:") corp = $(i + 1) } }
        /^stat::number_of_executed_units:/ { runs = $2 }
        /^stat::average_exec_per_sec:/ { eps = $2 }
        /^stat::peak_rss_mb:/ { rss = $2 }
        END { printf "%-10s %-6s %10s %8s %6s %7s %8s %6s\n", name, verdict,
            runs, eps, cov, ft, corp, rss }' "$log"
}

failed=""
echo "== fuzzing each target for ${SECS}s, $JOBS at a time"
set -- $NAMES
while [ $# -gt 0 ]; do
    batch=""
    i=0
    while [ $i -lt "$JOBS" ] && [ $# -gt 0 ]; do
        run_one "$1" &
        batch="$batch $!:$1"
        i=$((i + 1))
        shift
    done
    for job in $batch; do
        wait "${job%%:*}" || failed="$failed ${job#*:}"
    done
done

printf "%-10s %-6s %10s %8s %6s %7s %8s %6s\n" target result runs exec/s \
    cov ft corpus rss_mb
for name in $NAMES; do
    case " $failed " in
    *" $name "*) report "$name" FAILED ;;
    *) report "$name" ok ;;
    esac
done
for name in $failed; do
    echo
    echo "== $name failed: the end of $BUILD/fuzz-logs/$name.log"
    tail -n 40 "$BUILD/fuzz-logs/$name.log"
    echo "kept inputs:"
    ls -1 "$BUILD/crashes/$name/" 2>/dev/null |
        sed "s|^|  $BUILD/crashes/$name/|"
done
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed (docs/fuzzing.md: minimize, fix, keep)" >&2
    exit 1
fi
echo "fuzz: every target ran ${SECS}s without a finding"
