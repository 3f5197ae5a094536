#!/usr/bin/env bash
# One device call: train (or resume), then evaluate/export/package. Everything lands in $OUT.
#   TRAIN_ARGS="--time-budget 400" bash models/train/device_job.sh
set -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-.device-out/out}
mkdir -p "$OUT" .device-out/pkg
{
  nproc; nvidia-smi -L
  python3 -c "import torch, onnxruntime, cv2, scipy, numpy; print(torch.__version__, onnxruntime.__version__, cv2.__version__, numpy.__version__)"
  python3 models/train/train.py --out "$OUT" $TRAIN_ARGS || exit 1
  python3 models/train/evaluate.py --ckpt "$OUT/ckpt.pt" --out .device-out/pkg $EVAL_ARGS || exit 2
  cp .device-out/pkg/*.onnx .device-out/pkg/*.json "$OUT/"
  tar -C .device-out/pkg -cf "$OUT/assets.tar" assets
  ls -la "$OUT"
} 2>&1 | tee "$OUT/log.txt"
