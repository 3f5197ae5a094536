#!/usr/bin/env bash
# Interleaved before/after benches for issue 14: BEFORE=<an older build's dist dir> bench/issue14-runs.sh > runs.jsonl
cd "$(dirname "$0")/.." || exit 1
for r in 1 2 3 4; do
  for tag in before after; do
    main=dist/server/cli/main.js; [[ $tag == before ]] && main=${BEFORE:-.before/dist}/server/cli/main.js
    out=$(node "$main" bench --frames 100 --clients 4 --json 2>/dev/null | tail -1)
    [[ $out == \{* ]] && echo "{\"tag\":\"$tag\",\"round\":$r,${out:1}" || echo "{\"tag\":\"$tag\",\"round\":$r,\"error\":true}"
  done
done
