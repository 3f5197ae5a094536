"""Quality on real labelled photographs (the validation split of a real-data folder, realdata.py).

  python3 models/train/real_eval.py --real DIR CKPT [CKPT ...] [--out eval-real.json] [--card DIR]

For every checkpoint: a threshold sweep, the threshold with the best mean per-set F1 (2-px
tolerance, as evaluate.py), and at that threshold and at 0.5: P/R/F1 per set and per surface. Images run at their stored size, padded to a multiple of 32 (reflect) and
cropped back. With --card, each checkpoint's best and worst validation photographs are drawn (photo | label |
prediction) into DIR/m<i>/real-successes.png and real-failures.png (i: the checkpoint's position).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import counts, prf  # noqa: E402
from net import load_weights  # noqa: E402
from realdata import load_split  # noqa: E402

THRESHOLDS = (0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)


def padded_tensor(img, dev):
    """1x3xHxW float tensor of an HxWx3 RGB image, reflect-padded to multiples of 32 (crop back to H, W)."""
    h, w = img.shape[:2]
    ph, pw = (-h) % 32, (-w) % 32
    x = cv2.copyMakeBorder(img, 0, ph, 0, pw, cv2.BORDER_REFLECT_101) if ph or pw else img
    return torch.from_numpy(np.ascontiguousarray(x)).to(dev).permute(2, 0, 1)[None].float()


@torch.no_grad()
def predict_u8(net, img, dev):
    """uint8 probability x 255 for one HxWx3 RGB image of any size (as the service's output)."""
    h, w = img.shape[:2]
    p = torch.sigmoid(net(padded_tensor(img, dev)).float())[0, 0, :h, :w].cpu().numpy()
    return np.clip(np.round(p * 255), 0, 255).astype(np.uint8)


def set_counts(probs, val, th):
    by_set, by_surface = {}, {}
    for p, v in zip(probs, val):
        c = counts(p >= th * 255, v[4])
        by_set[v[0]] = by_set.get(v[0], 0) + c
        by_surface[v[1]] = by_surface.get(v[1], 0) + c
    return by_set, by_surface


def evaluate(net, val, dev, at=()):
    """Threshold chosen by the mean of the per-set F1 (each set counts the same, whatever its size)."""
    probs = [predict_u8(net, v[3], dev) for v in val]
    sweep = {}
    for th in THRESHOLDS:
        by_set, _ = set_counts(probs, val, th)
        f1s = [prf(c)["f1_tol2"] for c in by_set.values()]
        sweep[th] = {"mean_set_f1": round(float(np.mean(f1s)), 4), **prf(sum(by_set.values()))}
    best = max(sweep, key=lambda k: sweep[k]["mean_set_f1"])

    def breakdown(th):
        by_set, by_surface = set_counts(probs, val, th)
        return {"mean_set_f1": round(float(np.mean([prf(c)["f1_tol2"] for c in by_set.values()])), 4),
                "pooled": prf(sum(by_set.values())),
                "by_set": {k: prf(c) for k, c in sorted(by_set.items())},
                "by_surface": {k: prf(c) for k, c in sorted(by_surface.items())}}

    r = {"best_threshold": best, "sweep": {str(k): v for k, v in sweep.items()},
         "at_best": breakdown(best), "at_0.5": breakdown(0.5)}
    for th in at:
        r[f"at_{th}"] = breakdown(th)
    return probs, r


def card(val, probs, th, out_dir, width=960):
    per = [(prf(counts(p >= th * 255, v[4]))["f1_tol2"], i) for i, (p, v) in enumerate(zip(probs, val))
           if v[4].sum() > 200]
    per.sort()

    def draw(idx, path):
        rows = []
        for i in idx:
            img, lab = val[i][3], val[i][4]
            pred = probs[i] >= th * 255
            l3 = np.repeat((lab * 255).astype(np.uint8)[..., None], 3, 2)
            ov = img.copy()
            ov[pred] = (255, 0, 255)
            row = np.concatenate([img, l3, ov], 1)
            s = width / row.shape[1]
            rows.append(cv2.resize(row, (width, int(row.shape[0] * s)), interpolation=cv2.INTER_AREA))
        cv2.imwrite(path, np.concatenate(rows, 0)[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])

    os.makedirs(out_dir, exist_ok=True)
    draw([i for _, i in per[:3]], os.path.join(out_dir, "real-failures.png"))
    draw([i for _, i in per[-3:]], os.path.join(out_dir, "real-successes.png"))
    return {"failures": [(val[i][0], val[i][2], round(f, 4)) for f, i in per[:3]],
            "successes": [(val[i][0], val[i][2], round(f, 4)) for f, i in per[-3:]]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpts", nargs="+")
    ap.add_argument("--real", required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--card", default="")
    ap.add_argument("--sets", default="", help="only these sets (comma-separated), e.g. those whose licence lets the card show them")
    ap.add_argument("--at", default="", help="thresholds, one per checkpoint (comma-separated): also report "
                                              "at these, and draw the card at them")
    a = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    val = load_split(a.real, "val", [x for x in a.sets.split(",") if x] or None)
    print(f"{len(val)} validation photographs: " +
          ", ".join(f"{k} {sum(1 for v in val if v[0] == k)}" for k in sorted({v[0] for v in val})), flush=True)
    res = {}
    at = [float(t) for t in a.at.split(",") if t]
    for i, path in enumerate(a.ckpts):
        net = load_weights(path).to(dev).eval()
        arch = torch.load(path, map_location="cpu").get("args", {}).get("arch", "v1")
        probs, r = evaluate(net, val, dev, at[i:i + 1])
        r["arch"] = arch
        if a.card:
            r["card"] = card(val, probs, at[i] if at else r["best_threshold"], os.path.join(a.card, f"m{i}"))
        res[path] = r
        b, h = r["at_best"], r["at_0.5"]
        print(f"{path} [{arch}]  best thr {r['best_threshold']}: mean set F1 {b['mean_set_f1']} (pooled "
              f"{b['pooled']['f1_tol2']});  at 0.5: mean set F1 {h['mean_set_f1']}", flush=True)
        key = f"at_{at[i]}" if at else "at_best"
        print(f"    at {key[3:]}: mean set F1 {r[key]['mean_set_f1']}", flush=True)
        for k, v in r[key]["by_set"].items():
            print(f"    {k:24s} F1 {v['f1_tol2']}  P {v['precision_tol2']}  R {v['recall_tol2']}", flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
