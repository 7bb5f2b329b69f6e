#!/usr/bin/env bash
# Times `sigil check` on rule folders: a candidate binary against a baseline binary (e.g. one built from main),
# measured in the same run, best of N. Prints both times and their ratio.
#
#   bench/check_bench.sh BASE_BIN NEW_BIN [N] -- RULE_PATH...
#   bench/check_bench.sh /tmp/sigil-main target/release/sigil 5 -- ../shared/corpus/sigmahq/rules*
set -euo pipefail
base=$1; new=$2; shift 2
n=5
if [[ ${1:-} != "--" ]]; then n=$1; shift; fi
[[ ${1:-} == "--" ]] && shift
best() {
  local bin=$1; shift
  local best_ms=""
  for _ in $(seq "$n"); do
    local t0 t1 ms
    t0=$(date +%s%N)
    "$bin" check --format json "$@" > /dev/null || true
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    if [[ -z $best_ms || $ms -lt $best_ms ]]; then best_ms=$ms; fi
  done
  echo "$best_ms"
}
b=$(best "$base" "$@")
c=$(best "$new" "$@")
echo "baseline  ${b} ms  ($base)"
echo "candidate ${c} ms  ($new)"
awk -v b="$b" -v c="$c" 'BEGIN { printf "ratio     %.2f (candidate / baseline)\n", c / b }'
