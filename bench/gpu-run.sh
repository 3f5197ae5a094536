#!/usr/bin/env bash
# The one GPU call (see BENCHMARKS.md). Run on the lent machine from the repo root with carry:
#   .gpucarry/node.xz .gpucarry/ortn.tar.xz .gpucarry/nm-extra.tar.xz .gpucarry/unpack.sh .gl dist
# (.gpucarry/* from ../shared/gpu-node/pack.sh, plus nm-extra.tar.xz = sharp, @img, ws from
# node_modules; dist from `npm run build`). Everything goes to $OUT/gpu.log.
set -uo pipefail
LOG=${OUT:-/tmp}/gpu.log
exec > >(tee -a "$LOG") 2>&1
# shellcheck source=bench/gpu-env.sh
source bench/gpu-env.sh
step machine; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv; nproc; grep -m1 'model name' /proc/cpuinfo; echo /dev/nvidia* /dev/dri/*
step "product bench, raw, WebGPU"; $N dist/server/cli/main.js bench --providers webgpu --raw-only --frames 300 --json
step "product bench, raw, CPU, all cores"; $N dist/server/cli/main.js bench --providers cpu --raw-only --frames 100 --json
step "product bench, raw, CPU, 2 cores (taskset -c 0,1)"; taskset -c 0,1 $N dist/server/cli/main.js bench --providers cpu --threads 2 --raw-only --frames 60 --json
step "WebGPU vs CPU masks"; $N bench/gpu-pipeline.mjs agree
step "memory pipeline, WebGPU, raw masks"; $N bench/gpu-pipeline.mjs pipeline webgpu raw 300 4
step "memory pipeline, WebGPU, deflate masks"; $N bench/gpu-pipeline.mjs pipeline webgpu deflate 300 4
[[ ${SKIP_TORCH:-0} == 1 ]] || { step "PyTorch reference"; PYTHONUNBUFFERED=1 timeout 240 python3 bench/torch_ref.py; }
step "done"
