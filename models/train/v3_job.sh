#!/usr/bin/env bash
# GPU calls for crackunet-v3 (models/README.md, "How to retrain"). Run from the repo root on the GPU
# machine with carry [".gpucarry"]; .gpucarry/real is made here by pack_real.py from ../shared/data/real.
#
#   JOB=variants bash models/train/v3_job.sh   # side by side, from the v2 weights: label modes and widths
#   JOB=final WINNER=B bash models/train/v3_job.sh   # go on with one variant, judge it, export it
#   JOB=pseudo bash models/train/v3_job.sh           # pseudo-labels on the unlabelled walls from v3, then
#                                                    # v3 trained on with (P) and without (N) them, and with
#                                                    # them and real crops zoomed to 2.2x (Z), side by side
#   JOB=export WINNER=F VERSION=3.1.0 THRESHOLD=0.5 bash models/train/v3_job.sh  # package .gpucarry/F.pt
#   JOB=resume NAME=S3 LR=1e-3 VERSION=3.2.0 bash models/train/v3_job.sh
#                                                    # a fresh bank (BANK_SEED; JOINT_CRACK: share of brick
#                                                    # walls cracked along the mortar; MAP_CRACK: share of map-cracked
#                                                    # asphalt, render and concrete; FAINT: share of faint cracks),
#                                                    # then the shipped v3 (or FROM)
#                                                    # trained on alone in a new phase, judged beside it, exported;
#                                                    # EMA=0.999 also judges and returns the weights' moving average
#   JOB=bank bash models/train/v3_job.sh             # a procedural bank made in the first minute
#                                                    # (make_bank.py), then v3 trained on fed from it (F),
#                                                    # F with real crops zoomed to 1.8x (FZ), and the same
#                                                    # width trained from scratch on a 50/50 mix (S)
#
# Weights come back in $OUT with each call and also stay in /tmp/v3 while the machine is warm; a
# later call resumes from /tmp/v3/<name>/ckpt.pt, or from .gpucarry/<name>.pt when the machine is new.
set -uo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-.device-out/out}
C=.gpucarry
# the photographs travel as one tar (thousands of small files count for more than their bytes)
[[ -f $C/real.tar && ! -d $C/real ]] && tar -C $C -xf $C/real.tar
W=/tmp/v3
mkdir -p "$OUT" "$W"
exec > >(tee -a "$OUT/log.txt") 2>&1
T=${TRAIN_SECONDS:-380}
# real-share 0.75: real crops are cheap to make, procedural ones are what starved the GPU before
COMMON="--batch 24 --crop 256 --real $C/real --real-share 0.75 --hard4 0.3 --rough-crack 0.8 --time-budget $T ${EXCLUDE:+--exclude $EXCLUDE}"
nproc; nvidia-smi -L
python3 -c "import torch, onnxruntime, cv2, skimage; print(torch.__version__, onnxruntime.__version__, cv2.__version__, skimage.__version__)"
python3 models/train/net.py

train() {  # name, then arguments on top of COMMON
  local n=$1; shift
  mkdir -p "$W/$n"
  echo "### train $n: $*"
  # shellcheck disable=SC2086 # word splitting of COMMON is intended
  python3 models/train/train.py --out "$W/$n" $COMMON "$@" > "$W/$n/train.log" 2>&1
}

SETS=walls-crackseg,walls-supervisely,concrete-uav,pavement-sut  # the threshold is chosen on these only
judge() {  # checkpoints to compare on the real validation photographs and crack-free photographs
  python3 models/train/real_eval.py --real $C/real --sets $SETS --out "$W/eval-real.json" --card "$W/card" "$@"
  cp "$W/eval-real.json" "$OUT/"
  for ck in "$@"; do
    t=$(python3 -c "import json,sys; print(json.load(open('$W/eval-real.json'))[sys.argv[1]]['best_threshold'])" "$ck")
    echo "## crack-free photographs: $ck at $t"
    python3 models/train/real_check.py "$ck" --threshold "$t" | grep -E "gravel|mean|brick|grass"
  done
}

masonry() {  # brick masonry (GPL, validation only): never used to choose a threshold; at 0.5 and at each best
  python3 models/train/real_eval.py --real $C/real --sets masonry-dais --out "$W/eval-masonry.json" "$@" | grep -vE "^    "
  cp "$W/eval-masonry.json" "$OUT/"
  python3 -c "import json; r=json.load(open('$W/eval-masonry.json'))
for k,v in r.items(): print('masonry', k, 'at 0.5:', v['at_0.5']['by_set']['masonry-dais'], 'best', v['best_threshold'])"
}

judge_arms() {  # the base checkpoint, then the arms trained beside each other from it: judged in one go
  local base=$1; shift
  local cks=("$base") n
  for n in "$@"; do
    echo "### $n"; grep -E "params|bank|measured|batch|done|Error|error" "$W/$n/train.log" | tail -6
    cks+=("$W/$n/weights.pt")
    if [[ -f $W/$n/ema.pt ]]; then cks+=("$W/$n/ema.pt"); fi
  done
  python3 models/train/real_eval.py --real $C/real --sets $SETS --out "$W/eval-real.json" --card "$W/card" "${cks[@]}"
  cp "$W/eval-real.json" "$OUT/"
  masonry "${cks[@]}"
  for ck in "${cks[@]}"; do
    echo "## crack-free photographs: $ck at 0.5"
    python3 models/train/real_check.py "$ck" --threshold 0.5 --sweep 0.5,0.6,0.7 | grep -E "gravel|mean|brick|grass|sweep"
  done
  for n in "$@"; do
    cp "$W/$n/weights.pt" "$OUT/$n.pt"
    if [[ -f $W/$n/ema.pt ]]; then cp "$W/$n/ema.pt" "$OUT/$n-ema.pt"; fi
  done
}

package() {  # checkpoint, version, threshold: the ONNX model, its manifest and eval.json into $OUT
  python3 models/train/evaluate.py --ckpt "$1" --out "$W/pkg" --name crackunet-v3 \
    --version "$2" --nval 110 --workers 16 --assets 0 --threshold "$3" > "$W/eval.log" 2>&1
  tail -1 "$W/eval.log" | cut -c1-1500
  cp "$W/pkg/crackunet-v3.onnx" "$W/pkg/crackunet-v3.json" "$W/pkg/eval.json" "$OUT/"
}

if [[ ${JOB:-variants} == export ]]; then
  # package an arm brought back by an earlier call (.gpucarry/<WINNER>.pt) without training it further
  n=${WINNER:?WINNER=<arm name>}
  src=$W/$n/weights.pt
  [[ -f $src ]] || src=$C/$n.pt
  package "$src" "${VERSION:?VERSION=3.x.y}" "${THRESHOLD:?}"
  python3 models/train/rough_eval.py "$src" --threshold "$THRESHOLD" 2>&1 | tail -3
elif [[ ${JOB:-variants} == resume ]]; then
  # one run alone on the GPU (51.6 steps/s alone against 15.7 beside two others), resumed from FROM
  from=${FROM:-models/train/crackunet-v3.pt}
  if [[ -n ${FROM_ARM:-} ]]; then
    # a warm machine still has the arm in /tmp; a new one needs it carried as .gpucarry/<arm>.pt.
    # Without either, stop: falling back to the shipped weights silently trained the wrong arm once (K2)
    if [[ -f $W/$FROM_ARM/weights.pt ]]; then from=$W/$FROM_ARM/weights.pt
    elif [[ -f $C/$FROM_ARM.pt ]]; then from=$C/$FROM_ARM.pt
    else echo "FROM_ARM=$FROM_ARM: neither $W/$FROM_ARM/weights.pt (the machine is new) nor $C/$FROM_ARM.pt"; exit 2
    fi
  fi
  n=${NAME:?NAME=<arm name>}
  rm -rf "$W/bank"
  python3 models/train/make_bank.py --out "$W/bank" --seconds "${BANK_SECONDS:-60}" --workers 15 --hard4 0.3 \
    --rough-crack "${ROUGH_CRACK:-0.8}" --joint-crack "${JOINT_CRACK:-0}" \
    --map-crack "${MAP_CRACK:-0}" --faint "${FAINT:-0}" --seed "${BANK_SEED:-20261207}" &
  bank=$!
  python3 models/train/pseudo_label.py --real $C/real --teacher "$from"
  wait "$bank"
  train "$n" --resume "$from" --new-phase --lr "${LR:?}" --real-share 0.5 --coarse edge --arch w125 \
    --bank "$W/bank" --workers 3 --real-workers 12 --ema-decay "${EMA:-0}"
  judge_arms "$from" "$n"
  if [[ -n ${VERSION:-} ]]; then
    package "$W/$n/weights.pt" "$VERSION" "${THRESHOLD:-0.5}"
  fi
elif [[ ${JOB:-variants} == bank ]]; then
  V3=models/train/crackunet-v3.pt
  # the bank (CPU) and the pseudo-labels (GPU) at the same time
  python3 models/train/make_bank.py --out "$W/bank" --seconds "${BANK_SECONDS:-75}" --workers 15 --hard4 0.3 --rough-crack 0.8 &
  bank=$!
  python3 models/train/pseudo_label.py --real $C/real --teacher "$V3"
  wait "$bank"
  S=(--bank "$W/bank" --workers 1 --real-workers 4)
  F=(--init "$V3" --arch w125 --coarse edge --lr 3e-4)
  pids=()
  train F "${S[@]}" "${F[@]}" & pids+=($!)
  train FZ "${S[@]}" "${F[@]}" --real-zoom 1.8 & pids+=($!)
  train S "${S[@]}" --arch w125 --coarse edge --lr 3e-3 --real-share 0.5 & pids+=($!)
  for p in "${pids[@]}"; do wait "$p"; done
  judge_arms "$V3" F FZ S
elif [[ ${JOB:-variants} == pseudo ]]; then
  V3=models/train/crackunet-v3.pt
  python3 models/train/pseudo_label.py --real $C/real --teacher "$V3"
  # three arms on one GPU, 6 loader processes each (16 cores): P with the pseudo-labels, N without
  # (the control: as much more training), Z as P with real crops zoomed up to 2.2x (wide cracks)
  S=(--init "$V3" --arch w125 --coarse edge --lr 3e-4 --workers 4 --real-workers 2)
  pids=()
  train P "${S[@]}" & pids+=($!)
  train N "${S[@]}" --exclude walls-supervisely-pseudo & pids+=($!)
  train Z "${S[@]}" --real-zoom 2.2 & pids+=($!)
  for p in "${pids[@]}"; do wait "$p"; done
  judge_arms "$V3" P N Z
elif [[ ${JOB:-variants} == variants ]]; then
  V2=models/train/crackunet-v2.pt
  S=(--init "$V2" --lr 1e-3 --workers 2 --real-workers 2)
  pids=()
  train A "${S[@]}" --arch v1 --coarse naive & pids+=($!)
  train B "${S[@]}" --arch v1 --coarse edge & pids+=($!)
  train C "${S[@]}" --arch v1 --coarse centre & pids+=($!)
  train D "${S[@]}" --arch w125 --coarse edge & pids+=($!)
  # these PIDs only: a bare `wait` also waits for the tee behind `exec > >(...)`, which never ends
  # (the first call of crackunet-v3 lost four minutes of GPU time to that)
  for p in "${pids[@]}"; do wait "$p"; done
  for n in A B C D; do echo "### $n"; grep -E "params|measured|done|Error|error" "$W/$n/train.log" | tail -4; done
  judge models/train/crackunet-v1.pt "$V2" $W/A/weights.pt $W/B/weights.pt $W/C/weights.pt $W/D/weights.pt
  for n in A B C D; do cp "$W/$n/weights.pt" "$OUT/$n.pt"; done
else
  n=${WINNER:?WINNER=<variant name>}
  src=$W/$n/weights.pt
  [[ -f $src ]] || src=$C/$n.pt
  cp "$src" "$W/$n-phase1.pt"
  # shellcheck disable=SC2086 # FINAL_ARGS is a list of arguments
  train "$n-final" --init "$W/$n-phase1.pt" --lr 4e-4 --workers 9 --real-workers 5 ${FINAL_ARGS:-}
  grep -E "params|measured|done|Error|error" "$W/$n-final/train.log" | tail -4
  judge "${BASE:-models/train/crackunet-v2.pt}" "$W/$n-phase1.pt" "$W/$n-final/weights.pt"
  [[ -d $C/real/masonry-dais ]] && masonry "${BASE:-models/train/crackunet-v2.pt}" "$W/$n-phase1.pt" "$W/$n-final/weights.pt"
  cp "$W/$n-final/weights.pt" "$OUT/$n-final.pt"
  best=$(python3 -c "import json; r=json.load(open('$W/eval-real.json')); print(r['$W/$n-final/weights.pt']['best_threshold'])")
  package "$W/$n-final/weights.pt" "${VERSION:-3.0.0}" "${THRESHOLD:-$best}"
  python3 models/train/rough_eval.py "$W/$n-final/weights.pt" --threshold "${THRESHOLD:-$best}" 2>&1 | tail -3
fi
tar -C "$W" -czf "$OUT/rest.tgz" --exclude='*.pt' --exclude='*.onnx' --exclude=pkg --exclude=bank .
ls -la "$OUT"
