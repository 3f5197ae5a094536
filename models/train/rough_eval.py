"""Cracks on rough / granular surfaces (generator v4 scenes, never seen by phases 0-2).

  python3 models/train/rough_eval.py CKPT [CKPT ...] [--n 66]

Seed 7003, 384x640, kinds cycling over synth.ROUGH (gravel, pebbles, sand, aggregate, render,
pitted), 2 of every 3 with cracks, hard4=0.3 (so some get objects on dark ground / crescent
shadows). Prints, per checkpoint, P/R/F1 (2 px) on the images with cracks and the share of pixels
marked on the crack-free ones (all false alarms).
"""
import argparse
import json
import os
import sys
from multiprocessing import Pool

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import counts, predict, prf, u8  # noqa: E402
from net import load_weights  # noqa: E402
from synth import ROUGH, make_sample  # noqa: E402


def gen(i):
    rng = np.random.default_rng([7003, i])
    return make_sample(rng, 384, 640, kind=ROUGH[i % len(ROUGH)], cracks=i % 3 != 2, hard4=0.3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpts", nargs="+")
    ap.add_argument("--n", type=int, default=66)
    ap.add_argument("--threshold", type=float, default=0.5)
    a = ap.parse_args()
    with Pool(min(16, os.cpu_count() or 2)) as pool:
        data = pool.map(gen, range(a.n))
    imgs = [d[0] for d in data]
    labs = [d[1] for d in data]
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    for ck in a.ckpts:
        net = load_weights(ck).to(dev).eval()
        q = u8(predict(net, imgs, dev)) >= a.threshold * 255
        pos = [i for i in range(a.n) if labs[i].sum() > 0]
        neg = [i for i in range(a.n) if labs[i].sum() == 0]
        r = prf(sum(counts(q[i], labs[i]) for i in pos))
        r["fa_share_crack_free"] = round(float(np.mean([q[i].mean() for i in neg])), 5)
        r["by_kind_f1"] = {k: prf(sum((counts(q[i], labs[i]) for i in pos if data[i][2]["kind"] == k), np.zeros(6, np.int64)))["f1_tol2"]
                           for k in ROUGH}
        r["by_kind_fa"] = {k: round(float(np.mean([q[i].mean() for i in neg if data[i][2]["kind"] == k] or [0])), 4)
                           for k in ROUGH}
        print(ck, json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
