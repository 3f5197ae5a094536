#!/usr/bin/env bash
# Issue 12 on the lent GPU: FP32 vs FP16 of the shipped model through WebGPU, and what one extra
# (comparison) model costs the live model there. Run from the repo root with carry:
#   .gpucarry/node.xz .gpucarry/ortn.tar.xz .gpucarry/nm-extra.tar.xz .gpucarry/unpack.sh .gl dist
# (as bench/gpu-run.sh; the machine's python3 needs the onnx package for scripts/onnx_fp16.py).
# About 2-3 minutes. Everything goes to $OUT/gpu-issue-12.log.
set -uo pipefail
LOG=${OUT:-/tmp}/gpu-issue-12.log
exec > >(tee -a "$LOG") 2>&1
# shellcheck source=bench/gpu-env.sh
source bench/gpu-env.sh
M=$(python3 -c 'import json; print(json.load(open("models/default.json"))["model"])')
F16=/tmp/fp16/$M-fp16.onnx
step machine; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; python3 -c 'import onnx; print("onnx", onnx.__version__)'
step "FP16 conversion (scripts/onnx_fp16.py)"; python3 scripts/onnx_fp16.py "models/$M.onnx" "$F16" || { echo "FP16 conversion failed"; exit 1; }
step "compare FP32 vs FP16, both on WebGPU, eval fixtures with labels"
timeout 120 $N dist/server/cli/main.js compare "$M" "$F16" test/fixtures/eval test/fixtures/eval --providers webgpu --json | tail -4
step "compare FP32 on CPU vs FP16 on WebGPU, demo frames with labels"
timeout 120 $N dist/server/cli/main.js compare "$M" "$F16" models/demo models/demo/labels --providers cpu --providers-b webgpu --json | tail -4
step "raw FP32, WebGPU"; timeout 60 $N dist/server/cli/main.js bench --providers webgpu --raw-only --frames 300 --json | tail -1
step "raw FP16, WebGPU"; timeout 60 $N dist/server/cli/main.js bench --providers webgpu --raw-only --frames 300 --json --model "$F16" | tail -1
step "memory pipeline, WebGPU, live model alone"; timeout 90 $N bench/gpu-pipeline.mjs pipeline webgpu raw 300 1 | tail -1
step "memory pipeline, WebGPU, live + one comparison model (the FP32 model again)"; COMPARE="$M" timeout 90 $N bench/gpu-pipeline.mjs pipeline webgpu raw 300 1 | tail -1
step "memory pipeline, WebGPU, live + one comparison model (FP16)"; COMPARE="$F16" timeout 90 $N bench/gpu-pipeline.mjs pipeline webgpu raw 300 1 | tail -1
step "one comparison model's cost, WebGPU, interleaved (bench/compare-cost.mjs): same model"; timeout 120 $N bench/compare-cost.mjs 5 40 "$M" webgpu | tail -1
step "one comparison model's cost, WebGPU, interleaved: FP16 copy"; timeout 120 $N bench/compare-cost.mjs 5 40 "$F16" webgpu | tail -1
step finished
