"""A bank of procedural training samples, made once per GPU call and reused with fresh augmentation.

  python3 models/train/make_bank.py --out /tmp/bank --seconds 75 --workers 14 [--hard4 0.3 --rough-crack 0.8 --joint-crack 0.2 --map-crack 0.15 --faint 0.15]

Why: synth.make_sample costs ~0.1 s of CPU per 256 px sample, so drawing every procedural sample
fresh starved the GPU (about 5 it/s per run, three runs on 16 cores). A bank drawn in the first
minute of a call and replayed with flips, light and noise (train.py --bank) lets the real crops and
the GPU set the pace. Each worker w draws from default_rng([seed, 7919, w]) until the time is up and
writes <out>/bank-<w>.npz (img: N×S×S×3 uint8, lab: N×S×S uint8).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synth import make_sample  # noqa: E402


def work(job):
    w, a = job
    rng = np.random.default_rng([a.seed, 7919, w])
    t_end = time.time() + a.seconds
    imgs, labs = [], []
    while time.time() < t_end and len(imgs) < a.max_per_worker:
        img, lab, _ = make_sample(rng, a.size, a.size, hard4=a.hard4, rough_crack=a.rough_crack,
                                joint_crack=a.joint_crack, map_crack=a.map_crack, faint=a.faint)
        imgs.append(img)
        labs.append(lab.astype(np.uint8))
    path = os.path.join(a.out, f"bank-{w}.npz")
    np.savez(path, img=np.stack(imgs), lab=np.stack(labs))
    return len(imgs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=20251207)
    ap.add_argument("--hard4", type=float, default=0.3)
    ap.add_argument("--rough-crack", type=float, default=0.8)
    ap.add_argument("--joint-crack", type=float, default=0.0,
                    help="share of brick walls cracked along the mortar (generator v6; 0 draws v5's bank)")
    ap.add_argument("--map-crack", type=float, default=0.0,
                    help="share of scenes with map cracking on fine asphalt, render or concrete (generator v7)")
    ap.add_argument("--faint", type=float, default=0.0,
                    help="share of cracked smooth scenes whose cracks are faint (generator v7)")
    ap.add_argument("--max-per-worker", type=int, default=4000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    with mp.get_context("fork").Pool(a.workers) as pool:
        counts = pool.map(work, [(w, a) for w in range(a.workers)])
    print(f"bank: {sum(counts)} samples of {a.size}px from {a.workers} workers in {time.time() - t0:.0f}s "
          f"-> {a.out}", flush=True)


if __name__ == "__main__":
    main()
