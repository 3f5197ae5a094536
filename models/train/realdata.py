"""Real labelled crack photographs: the set index, training crops and the validation list.

A real-data folder (built by models/train/prepare_real.py, never committed) holds:
  sets.json                 [{"name", "source", "commit", "licence", "surface", "train": [ids], "val": [ids]}]
  <name>/img/<id>.webp|jpg  RGB photograph (longest side <= 1024 px)
  <name>/lab/<id>.png       crack label, 0 / 255, same size; sets marked "coarse" (polygon labels wider
                            than the crack) carry three levels: 255 centre line, 128 may be crack, 0 not

Coarse labels: with levels=True a label is 0 (not crack), 1 (centre line: certainly crack) or
2 (inside the polygon, off its centre line: may be crack); train.py turns these into targets and an
ignore mask (--coarse naive|edge|centre).

Training crops are augmented here (scale, flips, light, blur, noise, JPEG); the 90-degree rotations
happen on the GPU in train.py, as for the procedural samples.
"""
from __future__ import annotations

import json
import os

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset

cv2.setNumThreads(1)


def load_index(root):
    with open(os.path.join(root, "sets.json")) as f:
        return json.load(f)


def load_pair(root, name, sid, levels=False):
    img = None
    for ext in (".webp", ".jpg"):
        p = os.path.join(root, name, "img", sid + ext)
        if os.path.exists(p):
            img = cv2.imread(p, cv2.IMREAD_COLOR)
            break
    lab = cv2.imread(os.path.join(root, name, "lab", sid + ".png"), cv2.IMREAD_GRAYSCALE)
    if img is None or lab is None:
        raise FileNotFoundError(f"{root}/{name}: {sid}")
    if levels:
        out = np.zeros(lab.shape, np.uint8)
        out[lab > 64] = 2
        out[lab > 191] = 1
        return img[..., ::-1].copy(), out
    return img[..., ::-1].copy(), (lab > 64).astype(np.uint8)


def load_split(root, split, sets=None, exclude=(), levels=False):
    """[(set name, surface, id, rgb, label)] for one split ('train' or 'val')."""
    out = []
    for s in load_index(root):
        if (sets and s["name"] not in sets) or s["name"] in exclude:
            continue
        for sid in s.get(split, []):
            img, lab = load_pair(root, s["name"], sid, levels)
            out.append((s["name"], s["surface"], sid, img, lab))
    return out


def resize_label(lab, size_wh, interp):
    """Resize a 0/1/2 label: a level survives where it covers >= 0.3 of a pixel (a 1-px crack scaled by
    0.5 covers half a pixel: kept, as the synth labels are at 0.45)."""
    crack = cv2.resize((lab > 0).astype(np.float32), size_wh, interpolation=interp) >= 0.3
    centre = cv2.resize((lab == 1).astype(np.float32), size_wh, interpolation=interp) >= 0.3
    out = crack.astype(np.uint8) * 2
    out[centre] = 1
    return out


def augment(rng, img, lab, size, zoom=1.3):
    """Random scale (0.5 to zoom, log-uniform), crop (reflect-padded when small), flips and camera-like
    photometric changes. A zoom above 1.3 shows the net wider cracks than the sets hold (brick masonry's
    open joints and wide cracks were missed at 1.3)."""
    s = float(np.exp(rng.uniform(np.log(0.5), np.log(zoom))))
    h, w = lab.shape
    nh, nw = max(8, int(round(h * s))), max(8, int(round(w * s)))
    if (nh, nw) != (h, w):
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        img = cv2.resize(img, (nw, nh), interpolation=interp)
        lab = resize_label(lab, (nw, nh), interp)
    if nh < size or nw < size:
        py, px = max(0, size - nh), max(0, size - nw)
        img = cv2.copyMakeBorder(img, py // 2, py - py // 2, px // 2, px - px // 2, cv2.BORDER_REFLECT_101)
        lab = cv2.copyMakeBorder(lab, py // 2, py - py // 2, px // 2, px - px // 2, cv2.BORDER_REFLECT_101)
        nh, nw = lab.shape
    # prefer crops that hold some crack (3 tries), so the real share is not mostly background
    for _ in range(3):
        y, x = int(rng.integers(0, nh - size + 1)), int(rng.integers(0, nw - size + 1))
        if lab[y:y + size, x:x + size].any():
            break
    img, lab = img[y:y + size, x:x + size], lab[y:y + size, x:x + size]
    if rng.random() < 0.5:
        img, lab = img[:, ::-1], lab[:, ::-1]
    f = img.astype(np.float32) / 255.0
    f = f * rng.uniform(0.65, 1.3) + rng.uniform(-0.08, 0.08)                 # exposure, offset
    m = f.mean()
    f = (f - m) * rng.uniform(0.7, 1.3) + m                                    # contrast
    f = f * (1 + rng.normal(0, 0.05, 3)).astype(np.float32)                    # colour cast
    if rng.random() < 0.3:                                                    # desaturate
        g = f @ np.array([0.299, 0.587, 0.114], np.float32)
        a = rng.uniform(0.2, 0.9)
        f = f * (1 - a) + g[..., None] * a
    f = np.clip(f, 0, 1) ** rng.uniform(0.75, 1.35)                           # gamma
    if rng.random() < 0.25:
        k = rng.uniform(0.4, 1.2)
        f = cv2.GaussianBlur(f, (0, 0), k)
    if rng.random() < 0.4:
        f = f + rng.normal(0, rng.uniform(0.005, 0.03), f.shape).astype(np.float32)
    out = np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 96))])
        out = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    return np.ascontiguousarray(out), np.ascontiguousarray(lab)


class RealCrops(IterableDataset):
    """Endless augmented crops from the training split of every set (weighted by set: each set is
    drawn as often as its share of images, but no set less than 1/4 as often as the largest)."""

    def __init__(self, root, seed, phase, size, sets=None, exclude=(), zoom=1.3):
        self.root, self.seed, self.phase, self.size, self.sets, self.zoom = root, seed, phase, size, sets, zoom
        self.exclude = tuple(exclude)

    def __iter__(self):
        wi = torch.utils.data.get_worker_info()
        wid = wi.id if wi else 0
        rng = np.random.default_rng([self.seed, self.phase, 10_000 + wid])
        data = load_split(self.root, "train", self.sets, self.exclude, levels=True)
        coarse = {s["name"] for s in load_index(self.root) if s.get("coarse")}
        by_set = {}
        for d in data:
            by_set.setdefault(d[0], []).append(d)
        names = sorted(by_set)
        n = np.array([len(by_set[k]) for k in names], np.float64)
        wts = np.maximum(n, n.max() / 4)
        wts /= wts.sum()
        while True:
            k = names[int(rng.choice(len(names), p=wts))]
            _, _, _, img, lab = by_set[k][int(rng.integers(len(by_set[k])))]
            a, b = augment(rng, img, lab, self.size, self.zoom)
            yield torch.from_numpy(a), torch.from_numpy(b), torch.tensor(k in coarse)
