#!/usr/bin/env bash
# Cross-family catalog load (issue 14): the catalog of SigmaHQ alone against SigmaHQ plus the Splunk, Chronicle
# and Panther families of ../shared/corpus/families (≈ 6,650 rules), in the same run, best of 5 loads each
# (release build of the `load_time` example); then, with WEB=1, `sigil serve` start-up to the first answer for
# both (best of 3; builds the release binary).
#
#   bench/families_bench.sh
#   SHARED=/path/to/shared WEB=1 bench/families_bench.sh
#
# Figures go to stdout; the ratio is all-families / Sigma-only.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED=${SHARED:-../shared}
SIGMA="$SHARED/corpus/sigmahq/rules"
FAM="$SHARED/corpus/families"
PORT=${PORT:-18191}
[ -d "$SIGMA" ] && [ -d "$FAM/splunk" ] || { echo "no corpus under $SHARED (set SHARED=...)" >&2; exit 2; }

cargo build --release --locked -j 2 -p sigil_catalog --example load_time >&2
EX=target/release/examples/load_time
ALL=("sigma=$SIGMA" "splunk=$FAM/splunk" "chronicle=$FAM/chronicle" "panther=$FAM/panther")

best_of() { sed -n 's/.*best load \([0-9.]*\)s.*/\1/p'; }
sigma=$(NOSEARCH=1 "$EX" "sigma=$SIGMA" 2>/dev/null | tee /dev/stderr | best_of)
all=$(NOSEARCH=1 "$EX" "${ALL[@]}" 2>/dev/null | tee /dev/stderr | best_of)
echo "catalog load: Sigma only ${sigma} s, all families ${all} s, ratio $(awk "BEGIN{printf \"%.2f\", $all/$sigma}")"

[ "${WEB:-0}" = 1 ] || exit 0
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }
cargo build --release --locked -j 2 -p sigil >&2
BIN=target/release/sigil
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
startup() {
    local best=""
    for _ in 1 2 3; do
        local t0 t1 ms pid
        t0=$(date +%s%N)
        "$BIN" serve "$@" --addr "127.0.0.1:$PORT" >"$LOG" 2>&1 &
        pid=$!
        until curl -sf -o /dev/null "http://127.0.0.1:$PORT/api"; do
            kill -0 "$pid" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
            sleep 0.005
        done
        t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000000 ))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
        kill "$pid"; wait "$pid" 2>/dev/null || true
    done
    echo "$best"
}
args_all=()
for a in "${ALL[@]}"; do args_all+=(--rules "$a"); done
ws=$(startup --rules "sigma=$SIGMA")
wa=$(startup "${args_all[@]}")
echo "web start-up to first answer: Sigma only ${ws} ms, all families ${wa} ms, ratio $(awk "BEGIN{printf \"%.2f\", $wa/$ws}")"
