#!/usr/bin/env bash
# Web catalog benchmark (`sigil serve`): start-up time with the SigmaHQ corpus, then latency of the search page,
# the JSON search and the rule page under wrk on loopback.
#
#   bench/web.sh                      # SigmaHQ from ../shared/corpus/sigmahq
#   SIGMA=~/sigma DURATION=30s bench/web.sh
#
# Needs wrk (apt-get install wrk) and curl. Builds the release binary first. Latency is measured with one
# connection (the time a user waits); throughput with CONNS connections. Figures go to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

SIGMA=${SIGMA:-../shared/corpus/sigmahq}
PORT=${PORT:-18181}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-8}
THREADS=${THREADS:-2}
RULE=${RULE:-74a2b202-73e0-4693-9a3a-9d36146d0775}

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }
[ -d "$SIGMA/rules" ] || { echo "no SigmaHQ checkout at $SIGMA (set SIGMA=...)" >&2; exit 2; }

cargo build --release --locked -p sigil >&2
BIN=target/release/sigil
LOG=$(mktemp)
URL="http://127.0.0.1:$PORT"

# Start-up: from exec to the first answered request (catalog load, index build, bind), best of 3.
best=""
for _ in 1 2 3; do
    t0=$(date +%s%N)
    "$BIN" serve --rules "sigma=$SIGMA/rules*" --addr "127.0.0.1:$PORT" >"$LOG" 2>&1 &
    pid=$!
    until curl -sf -o /dev/null "$URL/api"; do
        kill -0 "$pid" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
        sleep 0.005
    done
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    kill "$pid"; wait "$pid" 2>/dev/null || true
done
"$BIN" serve --rules "sigma=$SIGMA/rules*" --addr "127.0.0.1:$PORT" >"$LOG" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$LOG"' EXIT
until curl -sf -o /dev/null "$URL/api"; do sleep 0.005; done
rules=$(curl -s "$URL/api/stats" | sed -n 's/^{"pages":\([0-9]*\).*/\1/p')
echo "corpus: $rules rules from $SIGMA"
echo "start-up to first answer: ${best} ms (best of 3; $(grep -o 'ready in [0-9]* ms' "$LOG"))"
echo

run() {
    local name=$1 path=$2 script=${3:-}
    local args=()
    if [ -n "$script" ]; then args=(-s "$script"); fi
    # Warm up, then measure.
    wrk -t1 -c1 -d1s "${args[@]}" "$URL$path" >/dev/null
    local one many
    one=$(wrk -t1 -c1 -d"$DURATION" --latency "${args[@]}" "$URL$path")
    many=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${args[@]}" "$URL$path")
    printf '%-28s p50 %8s  p90 %8s  p99 %8s  | %s conns: p50 %8s  p99 %8s  %8s req/s\n' "$name" \
        "$(awk '/ 50%/{print $2}' <<<"$one")" "$(awk '/ 90%/{print $2}' <<<"$one")" "$(awk '/ 99%/{print $2}' <<<"$one")" \
        "$CONNS" "$(awk '/ 50%/{print $2}' <<<"$many")" "$(awk '/ 99%/{print $2}' <<<"$many")" \
        "$(awk '/Requests\/sec/{print $2}' <<<"$many")"
}

echo "latency, 1 connection, $DURATION each (then $CONNS connections, $THREADS wrk threads)"
run "search mix (24 queries)" "/" bench/web-queries.lua
run "search page (all rules)" "/"
run "search page q=powershell" "/?q=powershell"
run "search page q+facets" "/?q=meshagent&tactic=command-and-control&level=medium"
run "search page q=exe sort" "/?q=exe&sort=newest"
run "api search q=mimikatz" "/api/rules?q=mimikatz"
run "rule page" "/rules/$RULE"
run "rule page by file stem" "/rules/sigma/proc_creation_win_remote_access_tools_meshagent_exec"
run "api rule" "/api/rules/$RULE"
run "attack heat map" "/attack"
run "event page Sysmon 1" "/events/Sysmon/1"
run "stats page" "/stats"
