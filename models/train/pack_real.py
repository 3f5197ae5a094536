"""Pack the real labelled photographs in ../shared/data/real into the realdata.py layout for a GPU call.

  python3 models/train/pack_real.py --src ../shared/data/real --out .gpucarry/real [--exclude walls-crackseg]
                                    [--mirror /work/.mirror] [--unlabeled]

The packed folder is never committed (.gitignore: /.gpucarry/); it only travels to the GPU machine,
which takes at most 64 MiB a call, so photographs are re-encoded as WebP (WEBP_Q). Splits are fixed:
a set's own validation split where it has one, otherwise every k-th photograph by sorted name.

Labels are written as 0 / 255 PNGs, except for the coarse polygon labels of walls-crackseg, which
are written in three levels (see realdata.py, "coarse labels"):
  255  the polygon's centre line (its skeleton, widened to 3 px): certainly crack
  128  the rest of the polygon: may be crack (a polygon is often wider than the crack it outlines)
    0  outside: not crack
With --mirror, the brick masonry set (GPL-3.0, validation only, never trained on) is added from the
fetched repository snapshot (prepare_real.py's masonry()).
CrackForest / CFD is never used, in any form.
"""
from __future__ import annotations

import argparse
import base64
import glob
import hashlib
import json
import os
import sys
import zlib

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# name -> provenance (models/README.md repeats it for the card); "surface" groups sets in reports
SETS = {
    "walls-crackseg": {
        "surface": "painted and plastered walls", "licence": "CC BY 4.0",
        "source": "Ultralytics crack-seg (Roboflow Universe university-bswxt/crack-bphdr v2), copied in "
                  "laijin8078/crack-detection-system datasets/crack-seg/",
        "commit": "62c5377a9e03300dd0dc4ea7b0253b6c0184a68e", "coarse": True,
        "changed": "one of three augmented copies kept; polygons rasterised; centre line + may-be-crack levels; WebP"},
    "walls-supervisely": {
        "surface": "painted and plastered walls", "licence": "CC BY 4.0",
        "source": "supervisely-ecosystem/cracks-synthetic-dataset project/validation/",
        "commit": "e9779cb3ef89fa6d271e7f1abe9383855422a836", "coarse": False,
        "changed": "bitmaps decoded to masks; WebP; validation only (threshold choice)"},
    "concrete-uav": {
        "surface": "concrete (drone)", "licence": "CC0 1.0 (as labelled on Kaggle, ziya07)",
        "source": "jakki-Guan/ground-to-uav-crack-segmentation kaggle_release/",
        "commit": "9d0c6d594c11f355d3a9c3655eb08294f91bd171", "coarse": False,
        "changed": "WebP re-encode; every 5th photograph held out for validation"},
    "pavement-sut": {
        "surface": "pavement", "licence": "CC BY 4.0 (SUT-Crack, Sabouri & Sepidbar, Data in Brief 2023)",
        "source": "fredyGabriel/crackseg data/sut/",
        "commit": "094ff8435cd38000f6301a7586819c98a03d1084", "coarse": False,
        "changed": "WebP re-encode; every 4th photograph held out for validation"},
}
MASONRY = {"surface": "brick masonry", "licence": "GPL-3.0", "use": "validation only, never trained on",
           "source": "dimitrisdais/crack_detection_CNN_masonry dataset/crack_detection_224_*",
           "commit": "83c371c70a27852f22ab3386269c6058a203ef38", "coarse": False}
# WebP quality per set, chosen so the whole folder stays under ~35 MB beside the repository
# (these photographs are noisy: the source JPEGs of walls-crackseg average 20 kB at 416 px). The
# training augmentation re-encodes at JPEG quality 40-95 anyway.
WEBP_Q = {"walls-crackseg": 36, "concrete-uav": 60, "pavement-sut": 36, "walls-supervisely": 75, "masonry-dais": 75,
          "walls-supervisely-pseudo": 40}
PSEUDO = {"surface": "painted and plastered walls", "licence": "CC BY 4.0",
          "source": "supervisely-ecosystem/cracks-synthetic-dataset project/target_unlabeled/",
          "commit": "e9779cb3ef89fa6d271e7f1abe9383855422a836",
          "changed": "no labels: pseudo-labels from a teacher (pseudo_label.py); photographs of the walls in "
                     "walls-supervisely/validation (same base name, or taken within 60 s / 2 numbers of one) left out; "
                     "longest side <= 640; WebP"}


def sid_of(path):
    return os.path.splitext(os.path.basename(path))[0].split(".rf.")[0]


def held_out(sid, every):
    """A fixed split that does not depend on the file order: every k-th by hash of the name."""
    return int(hashlib.sha1(sid.encode()).hexdigest(), 16) % every == 0


def coarse_levels(poly_mask):
    """0 / 128 / 255 label from a filled-polygon mask (see the module docstring)."""
    from skimage.morphology import skeletonize
    m = poly_mask > 0
    sk = skeletonize(m).astype(np.uint8)
    centre = cv2.dilate(sk, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))) & m.astype(np.uint8)
    out = np.where(m, 128, 0).astype(np.uint8)
    out[centre > 0] = 255
    return out


def write(out, name, sid, rgb_bgr, lab):
    os.makedirs(os.path.join(out, name, "img"), exist_ok=True)
    os.makedirs(os.path.join(out, name, "lab"), exist_ok=True)
    cv2.imwrite(os.path.join(out, name, "img", sid + ".webp"), rgb_bgr, [cv2.IMWRITE_WEBP_QUALITY, WEBP_Q[name]])
    cv2.imwrite(os.path.join(out, name, "lab", sid + ".png"), lab, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def crackseg(src, out):
    split = {"train": [], "val": []}
    for part, key in (("train", "train"), ("valid", "val")):
        for p in sorted(glob.glob(os.path.join(src, "walls-crackseg", part, "images", "*.jpg"))):
            img = cv2.imread(p, cv2.IMREAD_COLOR)
            h, w = img.shape[:2]
            lab = np.zeros((h, w), np.uint8)
            lp = os.path.join(os.path.dirname(os.path.dirname(p)), "labels", os.path.splitext(os.path.basename(p))[0] + ".txt")
            if os.path.exists(lp):
                for line in open(lp):
                    v = line.split()
                    if len(v) < 7:
                        continue
                    pts = np.array(v[1:], np.float64).reshape(-1, 2) * (w, h)
                    cv2.fillPoly(lab, [np.round(pts).astype(np.int32)], 255)
            sid = sid_of(p)
            write(out, "walls-crackseg", sid, img, coarse_levels(lab))
            split[key].append(sid)
    return split


def supervisely(src, out):
    ids = []
    for p in sorted(glob.glob(os.path.join(src, "walls-supervisely", "validation", "img", "*"))):
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        ann = json.load(open(os.path.join(src, "walls-supervisely", "validation", "ann", os.path.basename(p) + ".json")))
        lab = np.zeros((h, w), np.uint8)
        for o in ann["objects"]:
            if o.get("geometryType") != "bitmap":
                continue
            png = zlib.decompress(base64.b64decode(o["bitmap"]["data"]))
            bm = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
            bm = (bm[..., 3] if bm.ndim == 3 and bm.shape[2] == 4 else (bm if bm.ndim == 2 else bm[..., 0])) > 0
            x0, y0 = o["bitmap"]["origin"]
            bh, bw = bm.shape
            lab[y0:y0 + bh, x0:x0 + bw][bm[:h - y0, :w - x0]] = 255
        sid = sid_of(p).split(".")[0]
        write(out, "walls-supervisely", sid, img, lab)
        ids.append(sid)
    return {"train": [], "val": ids}


def shot(sid):
    """(place, number) of a photograph's base name: 20220820_181249_x -> ('20220820', seconds of the day),
    wall_0104_x -> ('wall', 104). Variants of one photograph share it; neighbours are close in number."""
    a, b = (sid.split("_") + ["0"])[:2]
    if a.isdigit() and len(b) == 6 and b.isdigit():
        return a, int(b[:2]) * 3600 + int(b[2:4]) * 60 + int(b[4:]), 60
    return a, int(b) if b.isdigit() else -10 ** 6, 2


def unlabeled(src, out, val_ids, max_side=640):
    """The unlabelled wall photographs, minus any of a validation photograph's wall (see PSEUDO)."""
    near = [shot(v) for v in val_ids]
    ids, skipped = [], 0
    for p in sorted(glob.glob(os.path.join(src, "walls-supervisely", "unlabeled", "*.jpg"))):
        sid = sid_of(p).split(".")[0]
        place, n, tol = shot(sid)
        if any(place == vp and abs(n - vn) <= tol for vp, vn, _ in near):
            skipped += 1
            continue
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        s = min(1.0, max_side / max(h, w))
        if s < 1:
            img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        os.makedirs(os.path.join(out, "walls-supervisely-pseudo", "img"), exist_ok=True)
        cv2.imwrite(os.path.join(out, "walls-supervisely-pseudo", "img", sid + ".webp"), img,
                    [cv2.IMWRITE_WEBP_QUALITY, WEBP_Q["walls-supervisely-pseudo"]])
        ids.append(sid)
    return ids, skipped


def paired(src, out, name, every, mask_ext):
    split = {"train": [], "val": []}
    for p in sorted(glob.glob(os.path.join(src, name, "images", "*.jpg"))):
        sid = sid_of(p)
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        m = cv2.imread(os.path.join(src, name, "masks", sid + mask_ext), cv2.IMREAD_GRAYSCALE)
        if img is None or m is None:
            raise SystemExit(f"{name}: cannot read {sid}")
        write(out, name, sid, img, np.where(m > 127, 255, 0).astype(np.uint8))
        split["val" if held_out(sid, every) else "train"].append(sid)
    return split


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join("..", "shared", "data", "real"))
    ap.add_argument("--out", default=".gpucarry/real")
    ap.add_argument("--exclude", default="", help="leave these sets out (comma-separated names)")
    ap.add_argument("--mirror", default="", help="add brick masonry (validation only) from this mirror folder")
    ap.add_argument("--unlabeled", action="store_true",
                    help="add the unlabelled wall photographs, for pseudo_label.py (training only)")
    a = ap.parse_args()
    if not os.path.isdir(a.src):
        raise SystemExit(f"no real data at {a.src} (it lives beside the project, in ../shared/data/real)")
    excl = {x for x in a.exclude.split(",") if x}
    unknown = excl - set(SETS)
    if unknown:
        raise SystemExit(f"--exclude: unknown set(s) {sorted(unknown)}; known: {sorted(SETS)}")
    os.makedirs(a.out, exist_ok=True)
    makers = {"walls-crackseg": lambda: crackseg(a.src, a.out),
              "walls-supervisely": lambda: supervisely(a.src, a.out),
              "concrete-uav": lambda: paired(a.src, a.out, "concrete-uav", 5, ".png"),
              "pavement-sut": lambda: paired(a.src, a.out, "pavement-sut", 4, ".png")}
    index = []
    for name, meta in SETS.items():
        if name in excl:
            print(f"{name}: left out (--exclude)")
            continue
        split = makers[name]()
        index.append({"name": name, **meta, **split})
        print(f"{name}: train {len(split['train'])}, val {len(split['val'])}")
    if a.unlabeled and "walls-supervisely" not in excl:
        val_ids = next(s["val"] for s in index if s["name"] == "walls-supervisely")
        ids, skipped = unlabeled(a.src, a.out, val_ids)
        # labels come later, on the GPU machine (pseudo_label.py); until then the set trains nothing
        index.append({"name": "walls-supervisely-pseudo", **PSEUDO, "train": [], "val": [], "unlabeled": ids})
        print(f"walls-supervisely-pseudo: {len(ids)} unlabelled photographs ({skipped} of validation walls left out)")
    if a.mirror:
        from prepare_real import masonry
        ids = masonry(a.mirror, a.out, {"repo": "dimitrisdais/crack_detection_CNN_masonry", "commit": MASONRY["commit"]})
        # prepare_real writes JPEG; keep them (224 px, small)
        index.append({"name": "masonry-dais", **MASONRY, "train": [], "val": ids})
        print(f"masonry-dais: val {len(ids)} (validation only)")
    with open(os.path.join(a.out, "sets.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
