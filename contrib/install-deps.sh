#!/bin/sh
# Install the Debian packages inboxd needs to build, test and run.
# Safe to run again: it installs only what is missing.
set -eu
# clang with libclang-rt-dev (compiler-rt: libFuzzer and the sanitizer
# runtimes, libclang_rt.fuzzer-*.a) builds tests/fuzz.
PKGS="build-essential cmake pkg-config clang libclang-rt-dev git curl
libevent-dev libcurl4-openssl-dev libjansson-dev libpcre2-dev
libhiredis-dev libfyaml-dev libssl-dev libutf8proc-dev libvectorscan-dev
redis-server
redis-tools wrk jq valgrind chromium"
# node and npm for the web inbox's browser tests (tests/e2e): Debian's,
# unless a node is installed already (which brings its own npm).
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
command -v npm >/dev/null 2>&1 || case "$PKGS" in *npm*) ;; *) PKGS="$PKGS npm" ;; esac
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
