#!/usr/bin/env bash
# Seeds the reader fuzzers' corpora (fuzz/corpus/<target>/, not committed) from the shared samples beside the
# repository: the SigmaHQ regression EVTX files and their JSON renderings, the non-Windows logs, and SigmaHQ rules
# (for the YAML reader, taken as they are).
# Each seed gets the one leading byte the targets read as options (0: defaults).
set -euo pipefail
cd "$(dirname "$0")"
shared=../../shared/corpus
[ -d "$shared/sigmahq-regression" ] || { echo "no shared corpus at $shared" >&2; exit 1; }
mkdir -p corpus/flatten_json corpus/read_json corpus/read_evtx corpus/yaml_reader
i=0
while IFS= read -r -d '' f; do
    i=$((i + 1))
    cp "$f" "corpus/flatten_json/r$i"
    { printf '\x00'; cat "$f"; } > "corpus/read_json/r$i"
done < <(find "$shared/sigmahq-regression" -name '*.json' -print0 | sort -z)
while IFS= read -r -d '' f; do
    i=$((i + 1))
    { printf '\x05'; head -c 20000 "$f"; } > "corpus/read_json/l$i"
done < <(find "$shared/logs" -type f \( -name '*.json' -o -name '*.jsonl' -o -name '*.ndjson' \) -print0 | sort -z)
while IFS= read -r -d '' f; do
    i=$((i + 1))
    { printf '\x00'; cat "$f"; } > "corpus/read_evtx/e$i"
done < <(find "$shared/sigmahq-regression" -name '*.evtx' -print0 | sort -z | head -z -n 40)
while IFS= read -r -d '' f; do
    i=$((i + 1))
    cp "$f" "corpus/yaml_reader/y$i"
done < <(find "$shared/sigmahq/rules" "$shared/sigma-specification" -name '*.yml' -print0 | sort -z | head -z -n 400)
echo "seeded: $(ls corpus/flatten_json | wc -l) flatten_json, $(ls corpus/read_json | wc -l) read_json, $(ls corpus/read_evtx | wc -l) read_evtx, $(ls corpus/yaml_reader | wc -l) yaml_reader"
