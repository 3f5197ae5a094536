#!/usr/bin/env bash
# Issue 13 on the lent GPU machine (no GStreamer there, so frames come from memory): the WebGPU
# memory-fed pipeline against raw session.run (target ≥ 0.95 ×), the model-free pass-through
# ceiling on that machine's CPU, and the CPU provider on 2 quiet cores (the development machine's
# shape without its neighbours' load), each for the code before (.before/dist) and after (dist),
# interleaved round by round. Run from the repo root with carry:
#   .gpucarry/node.xz .gpucarry/ortn.tar.xz .gpucarry/nm-extra.tar.xz .gpucarry/unpack.sh .gl dist .before
# (.gpucarry/* and .gl from ../shared/gpu-node/pack.sh; nm-extra.tar.xz = the production packages of
# node_modules but onnxruntime-*: as for bench/gpu-issue-11.sh — sharp, @img, ws, detect-libc, semver,
# commander, zod, pino and its dependencies — plus prom-client, @opentelemetry/api, tdigest and bintrees, which the frame
# loop's stage histogram imports; dist from `npm run build`;
# .before from `bench/make-before.sh <rev of main before issue 13>`). Without .before it measures
# only the code after. ROUNDS=3 by default; about 2–3 minutes. Output: $OUT/gpu-issue-13.log and
# one JSON line per run in $OUT/gpu-issue-13.jsonl (tagged before/after).
set -uo pipefail
OUTDIR=${OUT:-/tmp}
LOG=$OUTDIR/gpu-issue-13.log
JSONL=$OUTDIR/gpu-issue-13.jsonl
exec > >(tee -a "$LOG") 2>&1
# shellcheck source=bench/gpu-env.sh
source bench/gpu-env.sh
ROUNDS=${ROUNDS:-3}
# run TAG DIST ENV... -- ARGS: one memory-pipeline run, its JSON line tagged into $JSONL
run() {
  local tag=$1 dist=$2; shift 2
  local out
  out=$(env DIST="$dist" "$@" 2>&1 | tail -1)
  echo "$tag: $out"
  [[ $out == \{* ]] && echo "{\"tag\":\"$tag\",${out:1}" >> "$JSONL" || echo "{\"tag\":\"$tag\",\"error\":true}" >> "$JSONL"
}
step machine; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv; nproc; grep -m1 'model name' /proc/cpuinfo; uptime
builds=(after:dist)
[[ -d .before/dist ]] && builds=(before:.before/dist after:dist) && echo "before = $(cat .before/REV 2>/dev/null || echo '?')"
for ((r = 1; r <= ROUNDS; r++)); do
  step "round $r: WebGPU, crack model, memory-fed pipeline vs raw (300 frames, 4 clients)"
  for b in "${builds[@]}"; do run "${b%%:*}-webgpu" "${b#*:}" $N bench/gpu-pipeline.mjs pipeline webgpu raw 300 4; done
  step "round $r: CPU, pass-through stand-in, memory-fed: the non-model ceiling (600 frames, 4 clients)"
  for b in "${builds[@]}"; do run "${b%%:*}-passthrough-cpu" "${b#*:}" PASSTHROUGH=1 $N bench/gpu-pipeline.mjs pipeline cpu raw 600 4; done
  step "round $r: CPU provider on 2 quiet cores (taskset -c 0,1), crack model, memory-fed vs raw (60 frames, 4 clients)"
  for b in "${builds[@]}"; do run "${b%%:*}-cpu2" "${b#*:}" taskset -c 0,1 $N bench/gpu-pipeline.mjs pipeline cpu raw 60 4; done
done
step "the product's bench, after, raw only (WebGPU)"; $N dist/server/cli/main.js bench --providers webgpu --raw-only --frames 300 --json
step summary
python3 - "$JSONL" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tags = sorted({r['tag'] for r in rows})
keys = ['raw_infer_ms_p50', 'raw_fps', 'pipeline_fps', 'pipeline_vs_raw', 'e2e_latency_ms_p50', 'e2e_minus_raw_ms', 'e2e_minus_inference_ms_p50', 'e2e_minus_inference_ms_p95', 'non_inference_ms_p50']
print('median over runs ' + ' | '.join(tags))
for k in keys:
    vals = []
    for t in tags:
        xs = [r[k] for r in rows if r['tag'] == t and not r.get('error') and k in r]
        vals.append(f"{statistics.median(xs):.2f} (n={len(xs)})" if xs else '-')
    print(f"{k:22} " + ' | '.join(vals))
EOF
step "done"
