"""Evaluate, export and package a trained CrackUNet.

  python3 models/train/evaluate.py --ckpt CKPT --out DIR [--name crackunet-v1] [--nval 96]

Writes into DIR: <name>.onnx, <name>.json (manifest per DESIGN.md), assets/ (demo frames + labels,
eval fixture, model-card pictures), eval.json (all numbers).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from multiprocessing import Pool

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from net import Deploy, count_gflops, count_params, load_weights  # noqa: E402
from synth import SURFACES, make_sample  # noqa: E402

H, W = 384, 640
VAL_SEED, FIX_SEED = 7001, 7002
# 2-pixel tolerance: offsets with dx^2 + dy^2 <= 4 (13 pixels); test/model-quality.test.ts uses the same.
TOL = np.array([[0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0]], np.uint8)


def counts(pred, gt):
    """Tolerance counts: (tp_pred, n_pred, tp_gt, n_gt, inter, union)."""
    pred = pred.astype(np.uint8)
    gt = gt.astype(np.uint8)
    gd = cv2.dilate(gt, TOL)
    pd = cv2.dilate(pred, TOL)
    return np.array([int((pred & gd).sum()), int(pred.sum()), int((gt & pd).sum()), int(gt.sum()),
                     int((pred & gt).sum()), int((pred | gt).sum())], np.int64)


def prf(c):
    p = c[0] / max(c[1], 1)
    r = c[2] / max(c[3], 1)
    f = 2 * p * r / max(p + r, 1e-9)
    return {"precision_tol2": round(float(p), 4), "recall_tol2": round(float(r), 4),
            "f1_tol2": round(float(f), 4), "iou": round(float(c[4] / max(c[5], 1)), 4)}


def local_darkness(img, r=15):
    """Darkness filter baseline: local mean (box (2r+1)^2, window clipped at the border) - gray."""
    g = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    h, w = g.shape
    ii = np.zeros((h + 1, w + 1))
    ii[1:, 1:] = g.cumsum(0).cumsum(1)
    ys, xs = np.arange(h), np.arange(w)
    y0, y1 = np.clip(ys - r, 0, h), np.clip(ys + r + 1, 0, h)
    x0, x1 = np.clip(xs - r, 0, w), np.clip(xs + r + 1, 0, w)
    s = ii[y1][:, x1] - ii[y0][:, x1] - ii[y1][:, x0] + ii[y0][:, x0]
    n = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    return s / n - g


def gen(args):
    seed, i, kind, cracks = args
    rng = np.random.default_rng([seed, i])
    img, lab, info = make_sample(rng, H, W, kind=kind, cracks=cracks)
    return img, lab, info


def make_set(seed, n, pool, plan=None):
    plan = plan or [(seed, i, SURFACES[i % len(SURFACES)], None) for i in range(n)]
    return pool.map(gen, plan)


@torch.no_grad()
def predict(net, imgs, dev, half=False, bs=8):
    out = []
    m = net.half() if half else net.float()
    for i in range(0, len(imgs), bs):
        x = torch.from_numpy(np.stack(imgs[i:i + bs])).to(dev).permute(0, 3, 1, 2).float()
        if half:
            x = x.half()
        out.append(torch.sigmoid(m(x).float())[:, 0].cpu().numpy())
    net.float()
    return np.concatenate(out)


def u8(p):
    return np.clip(np.round(p * 255), 0, 255).astype(np.uint8)


def montage(rows, path, scale=0.33):
    if not rows:
        return
    tiles = []
    for img, lab, pred in rows:
        l3 = np.repeat((lab * 255).astype(np.uint8)[..., None], 3, 2)
        p3 = img.copy()
        p3[pred > 0] = (255, 0, 255)
        tiles.append(np.concatenate([img, l3, p3], 1))
    m = np.concatenate(tiles, 0)
    m = cv2.resize(m, (int(m.shape[1] * scale), int(m.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(path, m[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])


def gpu_timing(net, dev):
    res = {}
    if dev != "cuda":
        return res
    for name, half in (("fp32", False), ("fp16", True)):
        m = copy.deepcopy(net).to(dev)
        m.eval()
        x = torch.rand(1, 3, H, W, device=dev) * 255
        if half:
            m, x = m.half(), x.half()
        torch.backends.cudnn.benchmark = True
        with torch.no_grad():
            for _ in range(20):
                m(x)
            torch.cuda.synchronize()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(5):
                    m(x)
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                y = m(x)
            for _ in range(20):
                g.replay()
            torch.cuda.synchronize()
            ts = []
            for _ in range(300):
                a, b = torch.cuda.Event(True), torch.cuda.Event(True)
                a.record()
                g.replay()
                b.record()
                b.synchronize()
                ts.append(a.elapsed_time(b))
        res[f"gpu_{name}_cudagraph_ms_p50"] = round(float(np.median(ts)), 4)
        res[f"gpu_{name}_cudagraph_ms_p90"] = round(float(np.percentile(ts, 90)), 4)
    res["gpu"] = torch.cuda.get_device_name(0)
    res["torch"] = torch.__version__
    return res


def export_onnx(net, path):
    dep = Deploy(net).eval().cpu()
    x = torch.randint(0, 256, (1, H, W, 3), dtype=torch.uint8)
    kw = dict(input_names=["image"], output_names=["crack"], opset_version=17,
              dynamic_axes={"image": {1: "height", 2: "width"}, "crack": {1: "height", 2: "width"}},
              do_constant_folding=True)
    try:
        torch.onnx.export(dep, (x,), path, dynamo=False, **kw)
    except TypeError:  # old torch: no dynamo argument
        torch.onnx.export(dep, (x,), path, **kw)
    except Exception as e:  # legacy exporter gone: dynamo exporter (dynamic_axes -> dynamic_shapes)
        print("legacy ONNX export failed, using dynamo:", repr(e)[:300], flush=True)
        kw["opset_version"] = 18
        torch.onnx.export(dep, (x,), path, dynamo=True, external_data=False, **kw)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="crackunet-v1")
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--nval", type=int, default=110)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--assets", type=int, default=1)
    ap.add_argument("--threshold", type=float, default=0, help="use this threshold (chosen elsewhere, e.g. on real photographs)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    A = os.path.join(args.out, "assets")
    for d in ("demo/labels", "eval", "card"):
        os.makedirs(os.path.join(A, d), exist_ok=True)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    ck = torch.load(args.ckpt, map_location="cpu")
    arch = ck.get("args", {}).get("arch", "v1")
    net = load_weights(args.ckpt).to(dev).eval()
    res = {"params": count_params(net), "gflops": round(count_gflops(net), 3)}
    t = time.time()
    pool = Pool(args.workers)
    val = make_set(VAL_SEED, args.nval, pool)
    print(f"val set {len(val)} in {time.time() - t:.1f}s", flush=True)
    imgs = [v[0] for v in val]
    labs = [v[1] for v in val]
    prob = predict(net, imgs, dev)
    q = u8(prob)
    # threshold sweep on validation (on the uint8 output, as the service sees it)
    sweep = {}
    for th in (0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        c = sum(counts(q[i] >= th * 255, labs[i]) for i in range(len(labs)))
        sweep[th] = prf(c)
    best = max(sweep, key=lambda k: sweep[k]["f1_tol2"])
    thr = 0.5 if sweep[0.5]["f1_tol2"] >= sweep[best]["f1_tol2"] - 0.003 else best
    if args.threshold:
        thr = args.threshold
        c = sum(counts(q[i] >= thr * 255, labs[i]) for i in range(len(labs)))
        sweep[thr] = prf(c)
    res["threshold"] = thr
    res["arch"] = arch
    res["sweep"] = {str(k): v for k, v in sweep.items()}
    res.update(sweep[thr])
    per = [prf(counts(q[i] >= thr * 255, labs[i])) for i in range(len(labs))]
    by_kind = {}
    for i, v in enumerate(val):
        by_kind.setdefault(v[2]["kind"], []).append(counts(q[i] >= thr * 255, labs[i]))
    res["by_surface"] = {k: prf(sum(v))["f1_tol2"] for k, v in by_kind.items()}
    # darkness baseline (oracle threshold chosen on the validation set itself)
    dk = [local_darkness(im) for im in imgs]
    bl = {}
    for t_ in (6, 10, 15, 20, 25, 30, 40, 50):
        bl[t_] = prf(sum(counts(dk[i] > t_, labs[i]) for i in range(len(labs))))
    bt = max(bl, key=lambda k: bl[k]["f1_tol2"])
    res["darkness_baseline"] = {"filter": "local mean (31x31 box) minus gray > t", "t": bt, **bl[bt]}
    res["darkness_baseline_f1"] = bl[bt]["f1_tol2"]
    print(json.dumps({k: res[k] for k in ("threshold", "f1_tol2", "precision_tol2", "recall_tol2", "iou",
                                          "darkness_baseline_f1")}), flush=True)
    # FP16 vs FP32
    if dev == "cuda":
        p16 = u8(predict(net, imgs, dev, half=True))
        a, b = q >= thr * 255, p16 >= thr * 255
        res["fp16_iou_vs_fp32"] = round(float((a & b).sum() / max((a | b).sum(), 1)), 5)
        res["fp16_pixel_agreement"] = round(float((a == b).mean()), 6)
        c16 = sum(counts(p16[i] >= thr * 255, labs[i]) for i in range(len(labs)))
        res["fp16_f1_tol2"] = prf(c16)["f1_tol2"]
        res["fp16_iou_by_threshold"] = {
            str(t): round(float(((q >= t * 255) & (p16 >= t * 255)).sum() / max(((q >= t * 255) | (p16 >= t * 255)).sum(), 1)), 5)
            for t in (0.1, 0.2, 0.3, 0.4, 0.5)}
    # ONNX export + onnxruntime check
    onnx_path = os.path.join(args.out, args.name + ".onnx")
    export_onnx(net, onnx_path)
    try:
        import onnxruntime as ort
        so = ort.SessionOptions()
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        agree, tot = 0, 0
        for i in range(min(32, len(imgs))):
            o = sess.run(None, {"image": imgs[i][None]})[0][0]
            agree += int(((o >= thr * 255) == (q[i] >= thr * 255)).sum())
            tot += o.size
        res["onnx_agreement"] = round(agree / tot, 6)
        o = sess.run(None, {"image": imgs[0][None, :256, :320]})[0]
        res["onnx_dynamic_shape_ok"] = list(o.shape) == [1, 256, 320] and o.dtype == np.uint8
        x = imgs[0][None]
        for _ in range(3):
            sess.run(None, {"image": x})
        ts = []
        for _ in range(10):
            t1 = time.perf_counter()
            sess.run(None, {"image": x})
            ts.append((time.perf_counter() - t1) * 1000)
        res["ort_cpu_ms_p50_device_host"] = round(float(np.median(ts)), 2)
        res["onnxruntime"] = ort.__version__
    except ImportError:
        sess = None
        print("onnxruntime missing: ONNX check skipped", flush=True)
    res.update(gpu_timing(net, dev))
    # pictures for the model card: worst and best validation images with cracks
    order = sorted([i for i in range(len(val)) if labs[i].sum() > 500], key=lambda i: per[i]["f1_tol2"])
    negs = [i for i in range(len(val)) if labs[i].sum() == 0]
    negs = sorted(negs, key=lambda i: -int((q[i] >= thr * 255).sum()))
    res["card"] = {"fail": [(val[i][2]["kind"], per[i]) for i in order[:3]],
                   "ok": [(val[i][2]["kind"], per[i]) for i in order[-3:]],
                   "neg_fp": [(val[i][2]["kind"], int((q[i] >= thr * 255).sum())) for i in negs[:2]]}
    montage([(imgs[i], labs[i], q[i] >= thr * 255) for i in order[:3]], os.path.join(A, "card", "failures.png"))
    montage([(imgs[i], labs[i], q[i] >= thr * 255) for i in order[-3:]], os.path.join(A, "card", "successes.png"))
    montage([(imgs[i], labs[i], q[i] >= thr * 255) for i in negs[:2]], os.path.join(A, "card", "negatives.png"))
    med = order[len(order) // 2: len(order) // 2 + 3]
    montage([(imgs[i], labs[i], q[i] >= thr * 255) for i in med], os.path.join(A, "card", "typical.png"))
    if args.assets:
        # eval fixture: 16 images (2 without cracks), saved as JPEG q95 + label PNG
        plan = [(FIX_SEED, i, SURFACES[i % len(SURFACES)], None if i < 14 else False) for i in range(16)]
        fx = pool.map(gen, plan)
        fc, fb = np.zeros(6, np.int64), np.zeros(6, np.int64)
        for i, (im, lb, info) in enumerate(fx):
            p = os.path.join(A, "eval", f"{i:02d}.jpg")
            cv2.imwrite(p, im[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(os.path.join(A, "eval", f"{i:02d}.png"), lb * 255)
            im2 = cv2.imread(p)[..., ::-1].copy()
            if sess is not None:
                o = sess.run(None, {"image": im2[None]})[0][0]
            else:
                o = u8(predict(net, [im2], dev))[0]
            fc += counts(o >= thr * 255, lb)
            fb += counts(local_darkness(im2) > res["darkness_baseline"]["t"], lb)
        res["fixture"] = {"model": prf(fc), "darkness": prf(fb), "kinds": [f[2]["kind"] for f in fx]}
        # demo sequence (models/demo): panned views over generated surfaces (see make_demo.py)
        from make_demo import write_demo
        write_demo(os.path.join(A, "demo"))
    pool.close()
    manifest = {
        "name": args.name, "version": args.version,
        "input": {"name": "image", "dtype": "uint8", "layout": "NHWC", "height": H, "width": W},
        "output": {"name": "crack", "dtype": "uint8", "meaning": "crack probability x 255", "layout": "NHW"},
        "threshold": thr, "params": res["params"], "gflops": res["gflops"],
        "metrics": {k: res[k] for k in ("f1_tol2", "precision_tol2", "recall_tol2", "iou", "fp16_iou_vs_fp32",
                                        "onnx_agreement", "darkness_baseline_f1") if k in res},
        "training": {"seed": ck["args"]["seed"], "steps": sum(h["steps"] for h in ck["state"]["history"]) + ck["state"]["step"],
                     "phases": ck["state"]["history"] + [{"phase": ck["state"]["phase"], "steps": ck["state"]["step"],
                                                          "lr": ck["state"]["lr"], "batch": ck["args"]["batch"],
                                                          "crop": ck["args"]["crop"]}],
                     "data": "procedural heritage surfaces (models/train/synth.py), generated on the fly",
                     "loss": "BCE + soft Dice", "precision": "bf16 autocast", "optimizer": "AdamW, cosine"},
    }
    manifest["metrics"].update({"validation_images": len(val), "tolerance_px": 2,
                                "validation": f"procedural, seed {VAL_SEED}, {H}x{W}"})
    with open(os.path.join(args.out, args.name + ".json"), "w") as f:
        json.dump(manifest, f, indent=2)
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    print(json.dumps({k: v for k, v in res.items() if k not in ("sweep", "card")}, default=str), flush=True)


if __name__ == "__main__":
    main()
