"""Train CrackUNet on procedurally generated heritage-surface cracks.

One command, seeded, resumable:
  python3 models/train/train.py --out CKPT_DIR [--steps N | --time-budget SEC] [--resume CKPT]

Data is generated on the fly by worker processes (models/train/synth.py); worker w of phase p
draws from numpy's default_rng([seed, p, w]), so a run is reproducible for a given worker count.
With --bank the procedural samples are replayed from make_bank.py's files instead (see there why).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from net import ARCHS, CrackUNet, count_gflops, count_params, widen_from  # noqa: E402
from realdata import RealCrops  # noqa: E402
from synth import make_sample, set_photo_dir  # noqa: E402


class Synth(IterableDataset):
    def __init__(self, seed, phase, size, hard4=0.0, photo=0.0, rough_crack=0.6):
        self.seed, self.phase, self.size, self.hard4 = seed, phase, size, hard4
        self.photo, self.rough_crack = photo, rough_crack

    def __iter__(self):
        wi = torch.utils.data.get_worker_info()
        wid = wi.id if wi else 0
        rng = np.random.default_rng([self.seed, self.phase, wid])
        while True:
            img, lab, _ = make_sample(rng, self.size, self.size, hard4=self.hard4, photo=self.photo,
                                      rough_crack=self.rough_crack)
            yield torch.from_numpy(img), torch.from_numpy(lab)


class Bank(IterableDataset):
    """Procedural samples from make_bank.py's files, each replayed with fresh flips, zoom, light and noise."""

    def __init__(self, folder, seed, phase, size):
        self.files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".npz"))
        self.seed, self.phase, self.size = seed, phase, size

    def __iter__(self):
        import cv2
        cv2.setNumThreads(1)
        wi = torch.utils.data.get_worker_info()
        wid = wi.id if wi else 0
        rng = np.random.default_rng([self.seed, self.phase, 104729, wid])
        parts = [np.load(f) for f in self.files]
        imgs = np.concatenate([p["img"] for p in parts])
        labs = np.concatenate([p["lab"] for p in parts])
        n, s = len(imgs), self.size
        while True:
            i = int(rng.integers(n))
            img, lab = imgs[i], labs[i]
            h = img.shape[0]
            c = int(h * rng.uniform(0.7, 1.0))  # a zoomed-in window, so a replay is not the same picture
            y0, x0 = int(rng.integers(h - c + 1)), int(rng.integers(h - c + 1))
            img, lab = img[y0:y0 + c, x0:x0 + c], lab[y0:y0 + c, x0:x0 + c]
            if c != s:
                img = cv2.resize(img, (s, s), interpolation=cv2.INTER_LINEAR)
                lab = cv2.resize(lab, (s, s), interpolation=cv2.INTER_NEAREST)
            if rng.random() < 0.5:
                img, lab = img[:, ::-1], lab[:, ::-1]
            x = img.astype(np.float32)
            x = x * rng.uniform(0.75, 1.25) * rng.uniform(0.92, 1.08, 3) + rng.uniform(-20, 20)
            x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** rng.uniform(0.8, 1.25)
            if rng.random() < 0.3:
                x += rng.normal(0, rng.uniform(1, 6), x.shape)
            img = np.clip(x + 0.5, 0, 255).astype(np.uint8)
            yield torch.from_numpy(np.ascontiguousarray(img)), torch.from_numpy(np.ascontiguousarray(lab))


def loss_fn(logits, y, pos_weight=1.0, w=None):
    """BCE + soft Dice; pixels where w == 0 (ignored: 'may be crack' in a coarse label) count in neither."""
    pw = torch.tensor(pos_weight, device=logits.device) if pos_weight != 1.0 else None
    if w is None:
        w = torch.ones_like(y)
    bce = (F.binary_cross_entropy_with_logits(logits, y, pos_weight=pw, reduction="none") * w).sum() / w.sum().clamp(min=1)
    p = torch.sigmoid(logits) * w
    inter = (p * y).sum()
    dice = 1 - (2 * inter + 1) / (p.sum() + (y * w).sum() + 1)
    return bce + dice, bce.item(), dice.item()


def targets(lab, coarse, mode):
    """Target and weight (N1HW float) from 0/1/2 labels (realdata.py) and a per-sample coarse flag.

    naive:  the whole polygon is crack (a thin, correct prediction inside a wide polygon is punished)
    edge:   the polygon shrunk by 2 px, plus its centre line, is crack; a band 2 px either side of the
            polygon's edge is ignored (a 2-px-tolerance judge still counts every polygon pixel found)
    centre: only the centre line is crack; the rest of the polygon and 2 px around it are ignored
    Labels of sets that are not coarse (and procedural ones) are used as they are.
    """
    crack = (lab > 0).float()
    if mode == "naive" or not bool(coarse.any()):
        return crack, torch.ones_like(crack)
    centre = (lab == 1).float()
    grown = F.max_pool2d(crack, 5, 1, 2)
    if mode == "edge":
        shrunk = -F.max_pool2d(-crack, 5, 1, 2)
        pos = torch.maximum(shrunk, centre)
    else:
        pos = centre
    ignore = (grown - pos).clamp(min=0)
    c = coarse.view(-1, 1, 1, 1).float()
    y = c * pos + (1 - c) * crack
    w = 1 - c * ignore
    return y, w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20251123)
    ap.add_argument("--steps", type=int, default=0, help="total steps of this phase (0: from --time-budget)")
    ap.add_argument("--time-budget", type=float, default=360, help="seconds for this call")
    ap.add_argument("--stop-at", type=int, default=0, help="stop this phase at this step (schedule still spans --steps)")
    ap.add_argument("--resume", default="")
    ap.add_argument("--new-phase", action="store_true", help="start a new fine-tuning phase from --resume")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--hard4", type=float, default=0.0,
                    help="generator v4: share of rough/granular scenes (+ objects on dark ground, crescent shadows)")
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--arch", default="v1", choices=sorted(ARCHS), help="channel widths (net.ARCHS)")
    ap.add_argument("--init", default="", help="start a new run from these weights (widened if --arch is wider)")
    ap.add_argument("--real", default="", help="real-data folder (models/train/realdata.py); mixed into every batch")
    ap.add_argument("--real-share", type=float, default=0.5, help="share of each batch drawn from --real")
    ap.add_argument("--real-workers", type=int, default=3)
    ap.add_argument("--real-zoom", type=float, default=1.3, help="largest random scale of real crops (smallest 0.5)")
    ap.add_argument("--photos", default="", help="folder of crack-free real photographs (generator v5 backgrounds)")
    ap.add_argument("--photo", type=float, default=0.0, help="share of scenes drawn on a --photos background")
    ap.add_argument("--rough-crack", type=float, default=0.6, help="crack share on rough/granular scenes")
    ap.add_argument("--pos-weight", type=float, default=1.0, help="BCE weight of crack pixels")
    ap.add_argument("--coarse", default="edge", choices=("naive", "edge", "centre"),
                    help="how coarse polygon labels are used (see targets())")
    ap.add_argument("--bank", default="", help="procedural samples from make_bank.py instead of drawing them fresh")
    ap.add_argument("--exclude", default="", help="leave these real sets out of training (comma-separated names)")
    ap.add_argument("--ema-decay", type=float, default=0.0,
                    help="also keep an exponential moving average of the weights, saved as ema.pt (0: off)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    net = CrackUNet(ARCHS[args.arch])
    init_ck = None
    if args.init:
        init_ck = torch.load(args.init, map_location="cpu")
        widen_from(net, init_ck["model"])
        print(f"initialised from {args.init}", flush=True)
    net = net.to(dev).to(memory_format=torch.channels_last)
    print(f"params {count_params(net)}  gflops@384x640 {count_gflops(net):.3f}", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    state = {"step": 0, "total": args.steps, "phase": 0, "history": [], "lr": args.lr}
    if init_ck is not None and "state" in init_ck:  # a new phase on top of the initial weights' history
        old = init_ck["state"]
        state["history"] = old["history"] + [{"phase": old["phase"], "steps": old["step"], "lr": old["lr"],
                                              "batch": init_ck.get("args", {}).get("batch", args.batch),
                                              "crop": init_ck.get("args", {}).get("crop", args.crop)}]
        state["phase"] = old["phase"] + 1
    if args.resume:
        ck = torch.load(args.resume, map_location=dev)
        net.load_state_dict(ck["model"])
        state = ck["state"]
        if args.new_phase or state["step"] >= state["total"]:
            state["history"].append({"phase": state["phase"], "steps": state["step"], "lr": state["lr"],
                                     "batch": args.batch, "crop": args.crop})
            state.update(step=0, total=args.steps, phase=state["phase"] + 1, lr=args.lr)
        else:
            opt.load_state_dict(ck["opt"])
        print("resumed", json.dumps(state), flush=True)
    lr0 = state["lr"]
    warm = 300 if state["phase"] == 0 else 50
    n_real = int(round(args.batch * args.real_share)) if args.real else 0
    dphase = state["phase"] * 1000 + state["step"] // 1000
    if args.photos:
        print(f"photo backgrounds: {set_photo_dir(args.photos)} from {args.photos}", flush=True)
    if args.bank:
        ds = Bank(args.bank, args.seed, dphase, args.crop)
        print(f"procedural samples from the bank {args.bank} ({len(ds.files)} files)", flush=True)
    else:
        ds = Synth(args.seed, dphase, args.crop, args.hard4, args.photo, args.rough_crack)
    dl = DataLoader(ds, batch_size=args.batch - n_real, num_workers=args.workers, pin_memory=dev == "cuda",
                    prefetch_factor=4 if args.workers else None, persistent_workers=args.workers > 0)
    it_real = None
    if n_real:
        excl = [x for x in args.exclude.split(",") if x]
        dr = DataLoader(RealCrops(args.real, args.seed, dphase, args.crop, exclude=excl, zoom=args.real_zoom), batch_size=n_real,
                        num_workers=args.real_workers, pin_memory=dev == "cuda", prefetch_factor=4,
                        persistent_workers=True)
        it_real = iter(dr)
        print(f"batch: {args.batch - n_real} procedural + {n_real} real crops from {args.real}", flush=True)
    t0 = time.time()
    last_ck = t0
    it = iter(dl)
    rate_t = None
    ema = None
    # the average starts at the weights this call begins with (a resumed call does not reload an earlier
    # ema.pt); BatchNorm's running statistics are averaged too
    avg = {k: v.detach().clone() for k, v in net.state_dict().items()} if args.ema_decay else None
    if avg is not None:
        live = net.state_dict()
        fkeys = [k for k, v in live.items() if v.is_floating_point()]
        avg_f, live_f = [avg[k] for k in fkeys], [live[k] for k in fkeys]
        ikeys = [k for k in live if k not in fkeys]
    net.train()

    def save(tag="ckpt.pt"):
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "state": state,
                    "args": vars(args)}, os.path.join(args.out, tag))
        torch.save({"model": net.state_dict(), "state": state, "args": vars(args)},
                   os.path.join(args.out, "weights.pt"))
        if avg is not None:
            torch.save({"model": avg, "state": state, "args": vars(args)}, os.path.join(args.out, "ema.pt"))

    while True:
        if state["total"] and state["step"] >= state["total"]:
            break
        if args.stop_at and state["step"] >= args.stop_at:
            print("stop-at reached", flush=True)
            break
        if time.time() - t0 > args.time_budget and state["total"]:
            print("time budget reached", flush=True)
            break
        x, y = next(it)
        coarse = torch.zeros(len(x), dtype=torch.bool)
        if it_real is not None:
            xr, yr, cr = next(it_real)
            x, y, coarse = torch.cat([x, xr]), torch.cat([y, yr]), torch.cat([coarse, cr])
        x = x.to(dev, non_blocking=True).permute(0, 3, 1, 2).float().contiguous(memory_format=torch.channels_last)
        y, wt = targets(y.to(dev, non_blocking=True)[:, None], coarse.to(dev), args.coarse)
        k = int(torch.randint(0, 4, (1,)))
        if k:
            x, y, wt = torch.rot90(x, k, (2, 3)), torch.rot90(y, k, (2, 3)), torch.rot90(wt, k, (2, 3))
        s = state["step"]
        T = state["total"] or 10 ** 9
        lr = lr0 * min(1.0, (s + 1) / warm) * (0.5 * (1 + math.cos(math.pi * min(1.0, s / T))) * 0.98 + 0.02)
        for g in opt.param_groups:
            g["lr"] = lr
        if dev == "cuda":
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
                logits = net(x)
        else:
            logits = net(x)
        loss, bce, dice = loss_fn(logits.float(), y, args.pos_weight, wt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        if avg is not None:
            with torch.no_grad():
                torch._foreach_mul_(avg_f, args.ema_decay)  # _foreach_lerp_ is missing from Debian's torch
                torch._foreach_add_(avg_f, live_f, alpha=1 - args.ema_decay)
                for k in ikeys:
                    avg[k].copy_(live[k])
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if not state["total"]:
            if state["step"] == 100:
                rate_t = time.time()
            if state["step"] == 400:
                rate = 300 / (time.time() - rate_t)
                remaining = args.time_budget - (time.time() - t0)
                state["total"] = int(400 + rate * remaining * 0.97)
                print(f"measured {rate:.1f} it/s -> total steps {state['total']}", flush=True)
        if state["step"] % 200 == 0:
            print(f"step {state['step']}/{state['total']} loss {ema:.4f} bce {bce:.4f} dice {dice:.4f} "
                  f"lr {lr:.2e} t {time.time() - t0:.0f}s", flush=True)
        if time.time() - last_ck > 90:
            save()
            last_ck = time.time()
    save()
    print(json.dumps({"done": state["step"] >= state["total"], **{k: v for k, v in state.items()}}), flush=True)


if __name__ == "__main__":
    main()
