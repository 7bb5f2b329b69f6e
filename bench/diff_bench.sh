#!/usr/bin/env bash
# Times `sigil diff` of one rule against a corpus, with `sigil check` of the same corpus (which loads and parses
# every rule, as diff must) as the baseline, measured in the same run, best of N. Prints both and their ratio.
#
#   bench/diff_bench.sh BIN [N] -- NEW_RULE CORPUS_PATH...
#   bench/diff_bench.sh target/release/sigil 5 -- new.yml ../shared/corpus/sigmahq/rules*
set -euo pipefail
bin=$1; shift
n=5
if [[ ${1:-} != "--" ]]; then n=$1; shift; fi
[[ ${1:-} == "--" ]] && shift
new=$1; shift
best() {
  local best_ms=""
  for _ in $(seq "$n"); do
    local t0 t1 ms
    t0=$(date +%s%N)
    "$@" > /dev/null || true
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    if [[ -z $best_ms || $ms -lt $best_ms ]]; then best_ms=$ms; fi
  done
  echo "$best_ms"
}
b=$(best "$bin" check --format json "$@")
c=$(best "$bin" diff "$new" --format json --rules "$@")
echo "check (baseline) ${b} ms"
echo "diff  (one rule) ${c} ms"
awk -v b="$b" -v c="$c" 'BEGIN { printf "ratio            %.2f (diff / check)\n", c / b }'
