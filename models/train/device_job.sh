#!/usr/bin/env bash
# One device call: train (or resume), then evaluate/export/package. Everything lands in $OUT
# (ckpt.pt, <name>.onnx, <name>.json, eval.json, assets.tar, log.txt).
#   TRAIN_ARGS="--time-budget 420 --batch 24 --crop 256 --workers 15" bash models/train/device_job.sh
#   CKPT=.gpucarry/ckpt.pt bash models/train/device_job.sh      # evaluate/export only, no training
set -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-.device-out/out}
mkdir -p "$OUT" .device-out/pkg
{
  nproc; nvidia-smi -L
  python3 -c "import torch, onnxruntime, cv2, scipy, numpy; print(torch.__version__, onnxruntime.__version__, cv2.__version__, numpy.__version__)"
  if [ -z "$CKPT" ]; then
    python3 models/train/train.py --out "$OUT" $TRAIN_ARGS || exit 1
    CKPT="$OUT/ckpt.pt"
  fi
  python3 models/train/evaluate.py --ckpt "$CKPT" --out .device-out/pkg $EVAL_ARGS || exit 2
  cp .device-out/pkg/*.onnx .device-out/pkg/*.json "$OUT/"
  tar -C .device-out/pkg -cf "$OUT/assets.tar" assets
  ls -la "$OUT"
} 2>&1 | tee "$OUT/log.txt"
