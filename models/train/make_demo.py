"""Demo sequence for the service's demo:// source: panned views over generated heritage surfaces.

  python3 models/train/make_demo.py models/demo

Each scene is one wide surface; consecutive frames pan across it (110 px a frame), like a camera
moved along a wall. For scenes with cracks, seeds are searched (deterministically) until every frame
shows a clear crack (>= 3000 label pixels, and an open crack at least ~5 px wide); the last two scenes have none.
Writes NNN.jpg (640x384, JPEG q85) and labels/NNN.png (0/255).
"""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synth import make_sample  # noqa: E402

H, W, STEP, SEED = 384, 640, 110, 7003
SCENES = [("mural", True, 4), ("stone", True, 3), ("brick", True, 3), ("glaze", True, 2),
          ("plaster", True, 2), ("paper", False, 1), ("wood", False, 1)]


def write_demo(out):
    os.makedirs(os.path.join(out, "labels"), exist_ok=True)
    k = 0
    for si, (kind, cracks, nf) in enumerate(SCENES):
        for attempt in range(200):
            rng = np.random.default_rng([SEED, si, attempt])
            im, lb, _ = make_sample(rng, H, W + STEP * (nf - 1), kind=kind, cracks=cracks)
            views = [(im[:, x:x + W], lb[:, x:x + W]) for x in range(0, STEP * nf, STEP)]
            if not cracks or all(int(l.sum()) >= 3000 and cv2.distanceTransform(l, cv2.DIST_L2, 3).max() >= 2.5
                                 for _, l in views):
                break
        for v, l in views:
            cv2.imwrite(os.path.join(out, f"{k:03d}.jpg"), np.ascontiguousarray(v[..., ::-1]),
                        [cv2.IMWRITE_JPEG_QUALITY, 85])
            cv2.imwrite(os.path.join(out, "labels", f"{k:03d}.png"), np.ascontiguousarray(l * 255))
            k += 1
    return k


if __name__ == "__main__":
    print(write_demo(sys.argv[1] if len(sys.argv) > 1 else "models/demo"), "frames")
