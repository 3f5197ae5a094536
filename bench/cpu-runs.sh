#!/usr/bin/env bash
# Repeated, interleaved CPU benches on this machine (other engineers' tests share its 2 cores):
# every round runs each configuration once, so load drifts hit them alike. One JSON line per run
# (tagged) on stdout; BENCHMARKS.md reports medians. Usage: bench/cpu-runs.sh ROUNDS [BASE_MAIN_JS]
# BASE_MAIN_JS: an older build's dist/server/cli/main.js to compare against (the "before" column).
set -u
rounds=${1:-5}
base=${2:-}
cd "$(dirname "$0")/.." || exit 1
run() { # tag main.js args...
  local tag=$1 main=$2; shift 2
  local out
  out=$(node "$main" bench --frames 100 --json "$@" 2>/dev/null | tail -1)
  [[ $out == \{* ]] && echo "{\"tag\":\"$tag\",${out:1}" || echo "{\"tag\":\"$tag\",\"error\":true}"
}
for ((r = 1; r <= rounds; r++)); do
  [[ -n $base ]] && run before "$base" --clients 4
  run after dist/server/cli/main.js --clients 4
  run after-deflate dist/server/cli/main.js --clients 4 --mask-encoding deflate
  run after-t1 dist/server/cli/main.js --clients 4 --threads 1
  run after-1client dist/server/cli/main.js --clients 1
done
