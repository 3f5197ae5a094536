"""Pseudo-labels for unlabelled real photographs, from a teacher checkpoint, as a training set.

  python3 models/train/pseudo_label.py --real .gpucarry/real --teacher CKPT [--name walls-supervisely-pseudo]
                                       [--hi 0.7] [--lo 0.3]

Reads the photographs that pack_real.py --unlabeled put in <real>/<name>/img/, predicts each with the
teacher averaged over the 8 flips and quarter turns, and writes three-level labels in the coarse
format (realdata.py): 255 where the teacher is sure of a crack (p >= hi), 128 where it is unsure
(lo <= p < hi: ignored by train.py --coarse edge, with a 2-px band around it), 0 elsewhere. The set
is added to sets.json as training data only ("coarse": true, "pseudo": true). Photographs where more
than --max-unsure of the pixels are unsure teach little and are left out.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from net import load_weights  # noqa: E402
from real_eval import padded_tensor  # noqa: E402


@torch.no_grad()
def predict_tta(net, img, dev):
    """Mean crack probability over the 8 symmetries of the square, for one HxWx3 RGB image."""
    h, w = img.shape[:2]
    t = padded_tensor(img, dev)
    acc = torch.zeros(t.shape[2:], device=dev)
    for flip in (False, True):
        u = torch.flip(t, (3,)) if flip else t
        for k in range(4):
            p = torch.sigmoid(net(torch.rot90(u, k, (2, 3))).float())[0, 0]
            p = torch.rot90(p, -k, (0, 1))
            acc += torch.flip(p, (1,)) if flip else p
    return (acc / 8)[:h, :w].cpu().numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", required=True)
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--name", default="walls-supervisely-pseudo")
    ap.add_argument("--hi", type=float, default=0.7)
    ap.add_argument("--lo", type=float, default=0.3)
    ap.add_argument("--max-unsure", type=float, default=0.08)
    a = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    net = load_weights(a.teacher).to(dev).eval()
    index_path = os.path.join(a.real, "sets.json")
    index = json.load(open(index_path))
    entry = next((s for s in index if s["name"] == a.name), None)
    if entry is None:
        raise SystemExit(f"{a.name}: not in {index_path} (pack it with pack_real.py --unlabeled)")
    os.makedirs(os.path.join(a.real, a.name, "lab"), exist_ok=True)
    kept, dropped, crack_share = [], [], []
    for p in sorted(glob.glob(os.path.join(a.real, a.name, "img", "*"))):
        sid = os.path.splitext(os.path.basename(p))[0]
        img = cv2.imread(p, cv2.IMREAD_COLOR)[..., ::-1].copy()
        prob = predict_tta(net, img, dev)
        lab = np.zeros(prob.shape, np.uint8)
        lab[prob >= a.lo] = 128
        lab[prob >= a.hi] = 255
        unsure = float(((prob >= a.lo) & (prob < a.hi)).mean())
        if unsure > a.max_unsure:
            dropped.append(sid)
            continue
        cv2.imwrite(os.path.join(a.real, a.name, "lab", sid + ".png"), lab, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        kept.append(sid)
        crack_share.append(float((prob >= a.hi).mean()))
    entry.update(train=kept, val=[], coarse=True, pseudo=True,
                 teacher=os.path.basename(a.teacher), hi=a.hi, lo=a.lo, dropped=len(dropped))
    with open(index_path, "w") as f:
        json.dump(index, f, indent=1)
    print(f"{a.name}: {len(kept)} pseudo-labelled, {len(dropped)} left out (> {a.max_unsure:.0%} unsure); "
          f"median sure-crack share {100 * float(np.median(crack_share or [0])):.2f}%", flush=True)


if __name__ == "__main__":
    main()
