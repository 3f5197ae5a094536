"""Polygraphy data loader for crackscope INT8 calibration (deploy/jetson/README.md, "INT8").

Feeds the model's uint8 NHWC input with the images in $CRACKSCOPE_CALIB_DIR, resized to
$CRACKSCOPE_CALIB_HEIGHT x $CRACKSCOPE_CALIB_WIDTH, under the input name $CRACKSCOPE_CALIB_INPUT.
Used as: polygraphy convert MODEL.onnx --int8 --data-loader-script deploy/jetson/calib-loader.py ...
Not yet run on a Jetson.
"""
import os
import sys

import numpy as np
from PIL import Image

EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def load_data():
    folder = os.environ["CRACKSCOPE_CALIB_DIR"]
    height = int(os.environ.get("CRACKSCOPE_CALIB_HEIGHT", "384"))
    width = int(os.environ.get("CRACKSCOPE_CALIB_WIDTH", "640"))
    name = os.environ.get("CRACKSCOPE_CALIB_INPUT", "image")
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(EXTS))
    if not files:
        sys.exit(f"calib-loader: no images in {folder}")
    for f in files:
        img = Image.open(os.path.join(folder, f)).convert("RGB").resize((width, height), Image.BILINEAR)
        yield {name: np.asarray(img, dtype=np.uint8)[None, ...]}
