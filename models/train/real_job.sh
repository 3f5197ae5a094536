#!/usr/bin/env bash
# One device call for crackunet-v2 (see models/README.md, "How to retrain"): fine-tune three
# variants from the 1.1.0 weights side by side, then judge them on real photographs, on the
# procedural validation set, on crack-free real photographs and on rough surfaces; export each.
# Run from the repo root on the GPU machine with carry [".device-out/carry"] (prepare_real.py).
#   VARIANTS="A:--arch v1 ..." TRAIN_SECONDS=300 bash models/train/real_job.sh
set -uo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-.device-out/out}
C=.device-out/carry
W=/tmp/job
mkdir -p "$OUT" "$W"
LOG="$OUT/log.txt"
exec > >(tee -a "$LOG") 2>&1
T=${TRAIN_SECONDS:-270}
COMMON="--init models/train/crackunet-v1.pt --batch 24 --crop 256 --lr 8e-4 --photos $C/photos --time-budget $T"
# name:arguments (on top of COMMON); 16 cores: 5 data workers each
VARIANTS=${VARIANTS:-"A:--arch v1 --hard4 0.3 --photo 0.3 --rough-crack 0.8
B:--arch w125 --hard4 0.3 --photo 0.3 --rough-crack 0.8
C:--arch v1 --hard4 0.15 --photo 0.3 --rough-crack 0.9 --pos-weight 2"}
nproc; nvidia-smi -L
python3 -c "import torch, onnxruntime, cv2, skimage; print(torch.__version__, onnxruntime.__version__, cv2.__version__, skimage.__version__)"
python3 models/train/net.py
names=() pids=()
while IFS= read -r line; do
  [[ -z $line ]] && continue
  n=${line%%:*}; a=${line#*:}; names+=("$n")
  mkdir -p "$W/$n"
  [[ ${SKIP_TRAIN:-0} == 1 && -f $W/$n/weights.pt ]] && continue   # a warm machine keeps /tmp/job
  echo "### train $n: $a"
  # shellcheck disable=SC2086 # word splitting of the argument lists is intended
  python3 models/train/train.py --out "$W/$n" $COMMON $a --workers "${WORKERS:-5}" > "$W/$n/train.log" 2>&1 &
  pids+=($!)
done <<< "$VARIANTS"
# wait for these PIDs only: a bare `wait` would also wait for the tee behind `exec > >(...)`
for p in "${pids[@]}"; do wait "$p"; done
for n in "${names[@]}"; do echo "### $n"; grep -E "params|measured|step [0-9]+00/|done|Error|error" "$W/$n/train.log" | tail -6; done
ckpts=(models/train/crackunet-v1.pt)
for n in "${names[@]}"; do
  [[ -f $W/$n/weights.pt ]] && ckpts+=("$W/$n/weights.pt") && cp "$W/$n/weights.pt" "$OUT/weights-$n.pt"
done
echo "### real photographs"
python3 models/train/real_eval.py --real $C/real --out "$W/eval-real.json" --card "$W/card" "${ckpts[@]}"
thr() { python3 -c "import json,sys; print(json.load(open('$W/eval-real.json'))[sys.argv[1]]['best_threshold'])" "$1"; }
pids=()
echo "### procedural validation, FP16, ONNX export (threshold from the real photographs)"
for n in "${names[@]}"; do
  [[ -f $W/$n/weights.pt ]] || continue
  python3 models/train/evaluate.py --ckpt "$W/$n/weights.pt" --out "$W/pkg-$n" --name "crackunet-v2$n" \
    --version 2.0.0 --nval 110 --workers 5 --assets 0 --threshold "$(thr "$W/$n/weights.pt")" > "$W/eval-$n.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for n in "${names[@]}"; do echo "### $n"; tail -1 "$W/eval-$n.log" | cut -c1-900; done
echo "### crack-free real photographs (scikit-image samples) and rough surfaces"
for ck in "${ckpts[@]}"; do
  echo "## $ck"; python3 models/train/real_check.py "$ck" --threshold "$(thr "$ck")" --sweep 0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.5 | tail -3
done
python3 models/train/rough_eval.py "${ckpts[@]}" 2>&1 | tail -8
# back: weights and ONNX of every variant, and one tar of the rest
for n in "${names[@]}"; do
  [[ -f $W/pkg-$n/crackunet-v2$n.onnx ]] && cp "$W/pkg-$n/crackunet-v2$n.onnx" "$OUT/"
done
tar -C "$W" -czf "$OUT/rest.tgz" --exclude='*.pt' --exclude='*.onnx' .
ls -la "$OUT"
