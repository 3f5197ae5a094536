"""False alarms on real, crack-free photographs (scikit-image's bundled sample images).

  python3 models/train/real_check.py [models/train/crackunet-v1.pt] [--card models/card/real-photos.png]

Needs torch, OpenCV and scikit-image's data folder (Debian: python3-skimage). Prints, for each
photograph, the share of pixels the model marks as crack at the manifest threshold; none of these
photographs shows a crack, so every marked pixel is a false alarm. The card picture uses only
images with no copyright restrictions (gravel CC0, coins: no known restrictions, coffee CC0).
"""
import json
import os
import sys

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from net import load_weights  # noqa: E402

NAMES = ["brick.png", "grass.png", "gravel.png", "page.png", "text.png", "camera.png", "coffee.png",
         "chelsea.png", "astronaut.png", "moon.png", "rocket.jpg", "coins.png", "motorcycle_left.png",
         "hubble_deep_field.jpg", "retina.jpg"]
CARD = ["gravel.png", "coins.png", "coffee.png"]


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("weights", nargs="?", default=os.path.join(os.path.dirname(__file__), "crackunet-v1.pt"))
    ap.add_argument("--card", default=None)
    ap.add_argument("--threshold", type=float, default=0, help="default: the shipped manifest's")
    ap.add_argument("--sweep", default="", help="also print the mean marked share at these thresholds (0.1,0.2,...)")
    a = ap.parse_args()
    weights, card = a.weights, a.card
    here = os.path.dirname(os.path.abspath(__file__))
    default = json.load(open(os.path.join(here, "..", "default.json")))["model"]
    thr = a.threshold or json.load(open(os.path.join(here, "..", default + ".json")))["threshold"]
    import skimage
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    net = load_weights(weights).eval()
    tiles, total, swept = [], [], {}
    sweep = [float(t) for t in a.sweep.split(",") if t]
    for n in NAMES:
        im = cv2.imread(os.path.join(data, n), cv2.IMREAD_COLOR)
        if im is None:
            continue
        h, w = im.shape[:2]
        s = min(1.0, 640 / max(h, w))
        im = cv2.resize(im, (int(w * s) // 32 * 32, int(h * s) // 32 * 32), interpolation=cv2.INTER_AREA)
        with torch.no_grad():
            x = torch.from_numpy(im[..., ::-1].copy()).permute(2, 0, 1)[None].float()
            p = torch.sigmoid(net(x))[0, 0].numpy()
        m = np.round(p * 255) >= thr * 255
        total.append(m.mean())
        for t in sweep:
            swept.setdefault(t, []).append((np.round(p * 255) >= t * 255).mean())
        print(f"{n:24s} {im.shape[1]}x{im.shape[0]}  marked {100 * m.mean():6.2f}%")
        if n in CARD:
            ov = im.copy()
            ov[m] = (255, 0, 255)
            t = np.concatenate([im, ov], 1)
            tiles.append(cv2.resize(t, (480, int(480 * t.shape[0] / t.shape[1])), interpolation=cv2.INTER_AREA))
    print(f"mean marked share over {len(total)} photographs: {100 * np.mean(total):.2f}%")
    if swept:
        print("sweep " + json.dumps({str(t): round(float(np.mean(v)), 5) for t, v in swept.items()}))
    if card:
        cv2.imwrite(card, np.concatenate(tiles, 0), [cv2.IMWRITE_PNG_COMPRESSION, 9])


if __name__ == "__main__":
    main()
