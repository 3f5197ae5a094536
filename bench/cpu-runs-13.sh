#!/usr/bin/env bash
# Issue 13's interleaved CPU benches on this machine (shared cores: every round runs each
# configuration once, so load drifts hit them alike). One tagged JSON line per run on stdout.
# Usage: bench/cpu-runs-13.sh ROUNDS [BEFORE_DIST]   (BEFORE_DIST from bench/make-before.sh; default .before/dist)
# Both sides are measured by this checkout's bench; `--daemon` runs the before build's daemon.
#   before / after                      the crack model, demo:// through GStreamer, 4 clients (the ★ bench)
#   before-passthrough / after-passthrough   the model-free stand-in, same path: the non-model ceiling
#                                       (demo:// is paced at most 120 fps, the config's highest rate)
#   before-memory-pt / after-memory-pt  the stand-in with frames from memory (bench/gpu-pipeline.mjs,
#                                       in one process, no GStreamer): the ceiling above the source's pace
set -u
rounds=${1:-5}
before=${2:-.before/dist}
cd "$(dirname "$0")/.." || exit 1
tag() { # tag, then a command printing JSON on its last line
  local t=$1 out
  shift
  out=$("$@" 2>/dev/null | tail -1)
  [[ $out == \{* ]] && echo "{\"tag\":\"$t\",${out:1}" || echo "{\"tag\":\"$t\",\"error\":true}"
}
for ((r = 1; r <= rounds; r++)); do
  tag before node dist/server/cli/main.js bench --frames 100 --json --clients 4 --daemon "$before/server/cli/main.js"
  tag after node dist/server/cli/main.js bench --frames 100 --json --clients 4
  tag before-passthrough node dist/server/cli/main.js bench --frames 300 --json --clients 4 --passthrough --daemon "$before/server/cli/main.js"
  tag after-passthrough node dist/server/cli/main.js bench --frames 300 --json --clients 4 --passthrough
  tag before-memory-pt env DIST="$before" PASSTHROUGH=1 node bench/gpu-pipeline.mjs pipeline cpu raw 600 4
  tag after-memory-pt env PASSTHROUGH=1 node bench/gpu-pipeline.mjs pipeline cpu raw 600 4
done
