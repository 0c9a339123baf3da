#!/bin/sh
# Install what is missing, build, and run every test twice: a plain
# -Werror build, then the same suite under AddressSanitizer and
# UndefinedBehaviorSanitizer; then fuzz every parser briefly (clang,
# libFuzzer: tests/fuzz/run.sh, FUZZ_SECONDS per target, default 20).
# Exits non-zero on the first failure.
set -eu
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)

contrib/install-deps.sh
# The browser tests' one module, pinned by tests/e2e/package-lock.json.
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

echo "== plain build (-Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINBOXD_WERROR=ON >/dev/null
cmake --build build -j "$JOBS"
(cd build && ctest --output-on-failure --timeout 300)

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DINBOXD_WERROR=ON \
    -DINBOXD_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$JOBS"
(cd build-asan &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure --timeout 600)

echo "== libFuzzer targets (clang, ASan + UBSan), ${FUZZ_SECONDS:-20}s each"
tests/fuzz/run.sh "${FUZZ_SECONDS:-20}"
