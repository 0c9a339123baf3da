#!/bin/sh
# Quality evaluation of the shipped rule sets: every labelled dataset in
# $DATASETS (default /work/shared/datasets) and our own lead sets
# (tests/eval/leads*.jsonl) go through `inboxd classify` with the rules
# in rules/, and through the npm packages a user might use instead
# (tests/eval/peers.js). Prints precision, recall and F1 per dataset and
# category, and writes the same as markdown to tests/eval/results.md.
# See docs/quality.md.
#
#   tests/eval/run.sh [--rules] [--show NAME:fp|fn[:N]]
#
# INBOXD=/path/to/inboxd uses that binary instead of building one in
# build-eval/. EVAL_KEEP=DIR keeps the items and results there.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
EVAL=$ROOT/tests/eval
DATASETS=${DATASETS:-/work/shared/datasets}

if [ -z "${INBOXD:-}" ]; then
    contrib/install-deps.sh
    cmake -S . -B build-eval -DCMAKE_BUILD_TYPE=Release \
        -DINBOXD_BUILD_TESTS=OFF >/dev/null
    cmake --build build-eval -j "$(nproc 2>/dev/null || echo 2)" \
        --target inboxd >/dev/null
    INBOXD=$ROOT/build-eval/inboxd
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1
then
    echo "eval: installing nodejs and npm"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm \
        >/dev/null
fi
# npm ci only when the lock file changed since the last install.
if [ ! -f "$EVAL/node_modules/.package-lock.json" ] ||
    ! cmp -s "$EVAL/package-lock.json" "$EVAL/node_modules/.lock-installed"
then
    (cd "$EVAL" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$EVAL/package-lock.json" "$EVAL/node_modules/.lock-installed"
fi

if [ -n "${EVAL_KEEP:-}" ]; then
    WORK=$EVAL_KEEP
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/inboxd-eval.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
fi

# The shipped rules, every language; items carry their dataset's lang.
cat >"$WORK/inboxd.yml" <<EOF
rules:
  dirs: [$ROOT/rules]
log:
  level: warn
EOF
"$INBOXD" -n -c "$WORK/inboxd.yml"
echo "rule files: $(cd rules && find . -name '*.yml' -o -name '*.yaml' |
    sort | sed 's|^\./||' | tr '\n' ' ')"

# One classify process and one peers process per dataset, all at once.
for f in "$DATASETS"/*.jsonl "$EVAL"/leads*.jsonl; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .jsonl)
    (
        node "$EVAL/items.js" "$f" |
            "$INBOXD" classify -c "$WORK/inboxd.yml" \
            >"$WORK/$name.out.jsonl" ||
            echo "eval: $name: inboxd classify failed" >&2
    ) &
    node "$EVAL/peers.js" "$f" >"$WORK/$name.peers.jsonl" &
done
wait

echo
node "$EVAL/report.js" --datasets "$DATASETS" --own "$EVAL" \
    --work "$WORK" --md "$EVAL/results.md" "$@"
echo
echo "markdown: tests/eval/results.md"
