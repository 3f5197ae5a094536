#!/bin/bash
# Issue 21: the browser and fault suites N times in a row with both cores kept busy
# (stress-ng --cpu 2 beside whatever else the machine runs). One line per run in the log:
#   run <i> <pass|FAIL> <seconds>s load=<1-min load at the end> [failed test files]
# Usage: bench/loaded-runs.sh [runs=20] [log=test-results/loaded-runs.log]
set -u
runs=${1:-20}
log=${2:-test-results/loaded-runs.log}
cd "$(dirname "$0")/.." || exit 1
mkdir -p "$(dirname "$log")"
command -v stress-ng >/dev/null || { echo "stress-ng is missing (apt-get install stress-ng)" >&2; exit 1; }
stress-ng --cpu 2 --timeout 0 --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null' EXIT
echo "# $(date -u +%FT%TZ) $runs runs of test/kiosk-*.test.ts test/faults-*.test.ts beside stress-ng --cpu 2 (pid $stress); $(nproc) cores" >>"$log"
passed=0
for i in $(seq 1 "$runs"); do
  t0=$(date +%s)
  out=$(mktemp)
  if npx vitest run test/kiosk-*.test.ts test/faults-*.test.ts --reporter=default >"$out" 2>&1; then
    verdict=pass
    passed=$((passed + 1))
  else
    verdict=FAIL
  fi
  failed=$(grep -E '^ *(FAIL|❯) test/' "$out" | sed 's/\x1b\[[0-9;]*m//g' | awk '{print $2}' | sort -u | tr '\n' ' ')
  skipped=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^ *Tests ' | head -1)
  echo "run $i $verdict $(( $(date +%s) - t0 ))s load=$(cut -d' ' -f1 /proc/loadavg) ${skipped# } ${failed}" >>"$log"
  [ "$verdict" = FAIL ] && cp "$out" "${log%.log}-run$i-fail.txt"
  rm -f "$out"
done
echo "# $(date -u +%FT%TZ) $passed of $runs passed" >>"$log"
