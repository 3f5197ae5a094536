"""Write a montage of generated samples (image | label overlay) for eyeballing."""
import sys
import cv2
import numpy as np
from synth import make_sample, SURFACES

def montage(seed, out, h=256, w=256, n=12, kinds=None):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        k = kinds[i % len(kinds)] if kinds else None
        img, lab, info = make_sample(rng, h, w, kind=k)
        ov = img.copy()
        ov[lab > 0] = (255, 0, 255)
        rows.append(np.concatenate([img, ov], 1))
    grid = [np.concatenate(rows[i:i + 3], 1) for i in range(0, n, 3)]
    cv2.imwrite(out, np.concatenate(grid, 0)[..., ::-1])

if __name__ == "__main__":
    montage(int(sys.argv[1]), sys.argv[2], kinds=sys.argv[3].split(",") if len(sys.argv) > 3 else None)
