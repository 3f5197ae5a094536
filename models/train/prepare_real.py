"""Build the real-photograph folders the training job reads (never committed; see models/README.md).

  python3 models/train/prepare_real.py --mirror /work/.mirror --out .device-out/carry

Inputs are repository snapshots fetched by the search tool's `fetch` (bare git directories under
MIRROR/<owner>+<name>/repo); every source, its commit and licence is in SOURCES below and in the
model card. Writes:
  OUT/real/    labelled crack photographs, realdata.py layout (validation only: see `use`)
  OUT/photos/  crack-free CC0 texture photographs, backgrounds for procedural cracks (synth.py)
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import tarfile

import cv2
import numpy as np

# CrackForest / CFD is never used, in any form: it is the held-out judge.
SOURCES = {
    "uav75": {"repo": "ben-z-original/uav75", "commit": "eb552d046fe50b3325e89644aa9ae75e7bc7cbcc",
              "licence": "GPL-3.0", "surface": "concrete (bridge, drone)", "use": "validation only",
              "paper": "Benz et al., IVCNZ 2019"},
    "masonry-dais": {"repo": "dimitrisdais/crack_detection_CNN_masonry",
                     "commit": "83c371c70a27852f22ab3386269c6058a203ef38", "licence": "GPL-3.0",
                     "surface": "brick masonry", "use": "validation only",
                     "paper": "Dais et al., Automation in Construction 2021"},
    "sut-crack": {"repo": "large-road-damage-datalake/sut-crack-segmentation",
                  "commit": "dc7b3a79ccd5e096ffe38275788cabf9ea37c6d3",
                  "licence": "CC BY 4.0 (SUT-Crack, Mendeley Data doi:10.17632/gsbmknrhkv.6)",
                  "surface": "asphalt", "use": "validation and CI fixture",
                  "paper": "Sabouri & Sepidbar, Data in Brief 2023"},
}
PHOTOS = {
    "SimonWadsack/SimonWadsack.github.io": {
        "commit": "9525c39466fad9e03d4d0472bf0fdee55dae61fc", "licence": "CC0 1.0 (ambientCG)",
        "files": ["textures/rock/albedo.jpg", "textures/mossyrock/albedo.jpg", "textures/bark/albedo.jpg",
                  "textures/onyx/albedo.jpg", "textures/facade/albedo.jpg"]},
    "RobotLocomotion/models": {
        "commit": "4723170e1c8ee8bc59c342bb5c491ab8f263f1fb", "licence": "CC0 1.0 (Poly Haven)",
        "files": ["tutorials/models/assets/textures/rosewood_veneer1_diff_1k.jpg",
                  "tutorials/models/assets/textures/wood_table_worn_diff_1k.jpg",
                  "tutorials/models/assets/textures/wooden_table_02_diff_1k.jpg"]},
}


def git_dir(mirror, repo):
    return os.path.join(mirror, repo.replace("/", "+"), "repo")


def read_blob(mirror, repo, commit, path):
    return subprocess.run(["git", "--git-dir", git_dir(mirror, repo), "show", f"{commit}:{path}"],
                          check=True, capture_output=True).stdout


def ls(mirror, repo, commit, prefix):
    out = subprocess.run(["git", "--git-dir", git_dir(mirror, repo), "ls-tree", "-r", "--name-only", commit, prefix],
                         check=True, capture_output=True, text=True).stdout
    return sorted(x for x in out.splitlines() if x)


def decode(b, flags=cv2.IMREAD_COLOR):
    return cv2.imdecode(np.frombuffer(b, np.uint8), flags)


def save(out, name, sid, bgr, lab):
    os.makedirs(os.path.join(out, name, "img"), exist_ok=True)
    os.makedirs(os.path.join(out, name, "lab"), exist_ok=True)
    cv2.imwrite(os.path.join(out, name, "img", sid + ".jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(os.path.join(out, name, "lab", sid + ".png"), (lab > 0).astype(np.uint8) * 255)


def uav75(mirror, out, s):
    ids = []
    for split in ("train", "val", "test"):
        for p in ls(mirror, s["repo"], s["commit"], f"{split}_img/"):
            sid = os.path.splitext(os.path.basename(p))[0]
            img = decode(read_blob(mirror, s["repo"], s["commit"], p))
            lab = decode(read_blob(mirror, s["repo"], s["commit"], f"{split}_lab/{sid}.png"), cv2.IMREAD_UNCHANGED)
            save(out, "uav75", sid, img, lab[..., 0] == 255)  # 255 crack, 204 planking pattern (not crack)
            ids.append(sid)
    return ids


def masonry(mirror, out, s):
    ids = []
    for p in ls(mirror, s["repo"], s["commit"], "dataset/crack_detection_224_images/"):
        sid = os.path.splitext(os.path.basename(p))[0]
        img = decode(read_blob(mirror, s["repo"], s["commit"], p))
        lab = decode(read_blob(mirror, s["repo"], s["commit"], f"dataset/crack_detection_224_masks/{sid}.png"),
                     cv2.IMREAD_GRAYSCALE)
        save(out, "masonry-dais", sid, img, lab > 127)
        ids.append(sid)
    return ids


def sut(mirror, out, s):
    """10 sample photographs (960x1280, crack contours traced from the set's masks), saved at half size."""
    ids = []
    for p in ls(mirror, s["repo"], s["commit"], "visualizations/samples/"):
        if not p.endswith(".jpg"):
            continue
        sid = os.path.basename(p).split("_c1_")[0]
        img = decode(read_blob(mirror, s["repo"], s["commit"], p))
        ann = json.loads(read_blob(mirror, s["repo"], s["commit"],
                                   f"visualizations/samples/annotations/{sid}_c1_crack_annotation.polygons.json"))
        lab = np.zeros(img.shape[:2], np.uint8)
        for poly in ann["polygons"]:
            cv2.fillPoly(lab, [np.asarray(poly["points"], np.int32)], 1)
            for hole in poly.get("holes", []):  # the crack's outline encloses uncracked ground
                cv2.fillPoly(lab, [np.asarray(hole, np.int32)], 0)
        h, w = img.shape[:2]
        img = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        lab = (cv2.resize(lab.astype(np.float32), (w // 2, h // 2), interpolation=cv2.INTER_AREA) >= 0.3)
        save(out, "sut-crack", sid, img, lab)
        ids.append(sid)
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default="/work/.mirror")
    ap.add_argument("--out", default=".device-out/carry")
    a = ap.parse_args()
    real = os.path.join(a.out, "real")
    os.makedirs(real, exist_ok=True)
    index = []
    for name, fn in (("uav75", uav75), ("masonry-dais", masonry), ("sut-crack", sut)):
        s = SOURCES[name]
        ids = fn(a.mirror, real, s)
        index.append({"name": name, **s, "train": [], "val": ids})
        print(f"{name}: {len(ids)} validation photographs ({s['licence']})")
    with open(os.path.join(real, "sets.json"), "w") as f:
        json.dump(index, f, indent=1)
    photos = os.path.join(a.out, "photos")
    os.makedirs(photos, exist_ok=True)
    credits = []
    for repo, p in PHOTOS.items():
        for path in p["files"]:
            img = decode(read_blob(a.mirror, repo, p["commit"], path))
            s = min(1.0, 1024 / max(img.shape[:2]))
            img = cv2.resize(img, (int(img.shape[1] * s), int(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
            name = path.split("/")[-2] if path.endswith("albedo.jpg") else os.path.basename(path).split("_diff")[0]
            cv2.imwrite(os.path.join(photos, name + ".jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
            credits.append({"file": name + ".jpg", "repo": repo, "commit": p["commit"], "path": path,
                            "licence": p["licence"]})
    with open(os.path.join(photos, "credits.json"), "w") as f:
        json.dump(credits, f, indent=1)
    print(f"photos: {len(credits)} CC0 texture photographs")


if __name__ == "__main__":
    main()
