#!/usr/bin/env bash
# Issue 11: `crackscope survey` throughput through WebGPU on the lent GPU machine. Run from the repo
# root with carry: .gpucarry/node.xz .gpucarry/ortn.tar.xz .gpucarry/nm-extra.tar.xz .gpucarry/unpack.sh dist
# (as bench/gpu-run.sh; nm-extra = sharp, @img, ws, detect-libc, semver and, since issue 14's CLI,
# commander, zod, pino with its dependencies: whatever `node dist/server/cli/main.js --help` needs).
# Makes a synthetic 12000×9000 plaster wall, surveys it twice with --providers webgpu (no PDF: no Chromium there) and once a 6000×4000 wall
# on the CPU for comparison. About 3 minutes. Everything goes to $OUT/gpu-issue-11.log; the
# "summary" lines are what BENCHMARKS.md takes.
set -uo pipefail
LOG=${OUT:-/tmp}/gpu-issue-11.log
exec > >(tee -a "$LOG") 2>&1
# shellcheck source=bench/gpu-env.sh
source bench/gpu-env.sh
step machine; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; grep -m1 'model name' /proc/cpuinfo
step "survey 12000x9000, WebGPU, 2 runs"; timeout 150 $N bench/survey-bench.mjs --width 12000 --height 9000 --runs 2 --providers webgpu
step "survey 6000x4000, CPU (all cores), 1 run"; timeout 90 $N bench/survey-bench.mjs --width 6000 --height 4000 --runs 1 --providers cpu
step finished
