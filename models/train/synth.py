"""Procedural heritage-surface crack generator (numpy + OpenCV only).

make_sample(rng, h, w) -> (rgb uint8 HxWx3, label uint8 HxW in {0,1}, info dict)

The label is the crack's own footprint: the pixels whose area is at least ~half covered by the
rendered crack (rendered at 2x and area-averaged), carried through the same geometric warp as the
image. Everything that is *not* a crack (brush strokes, calligraphy, painted outlines, mortar
joints, carved grooves and characters, wood grain, stains and tide lines, cast shadows, hairs and
fibres, pores) is drawn into the image but never into the label.
"""
from __future__ import annotations

import math
import os

import cv2
import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import lfilter

cv2.setNumThreads(1)

SURFACES = ["plaster", "mural", "stone", "stele", "brick", "terracotta", "glaze", "paper",
            "silk", "wood", "concrete"]


# ----------------------------------------------------------------------------- noise helpers
def fbm(rng, h, w, scales=(64, 16, 4), weights=None, ):
    """Sum of bicubic-upsampled white noise at several scales, ~unit std."""
    out = np.zeros((h, w), np.float32)
    weights = weights or [1.0] * len(scales)
    tot = 0.0
    for s, wt in zip(scales, weights):
        s = max(1.0, float(s))
        gh, gw = int(h / s) + 3, int(w / s) + 3
        g = rng.standard_normal((gh, gw)).astype(np.float32)
        big = cv2.resize(g, (int(gw * s), int(gh * s)), interpolation=cv2.INTER_CUBIC)
        oy, ox = rng.integers(0, max(1, big.shape[0] - h)), rng.integers(0, max(1, big.shape[1] - w))
        out += wt * big[oy:oy + h, ox:ox + w]
        tot += wt * wt
    return out / math.sqrt(tot)


def rand_color(rng, base, jitter=0.06):
    c = np.array(base, np.float32) + rng.normal(0, jitter, 3).astype(np.float32)
    return np.clip(c, 0.0, 1.0)


def lum(img):
    return img @ np.array([0.299, 0.587, 0.114], np.float32)


def smooth_path(rng, p0, angle, length, step=3.0, bend=0.04):
    """Smooth curve (for strokes, hairs, outlines): low-curvature random walk (vectorised)."""
    n = max(2, int(length / step))
    da = np.clip(rng.normal(0, bend) + np.cumsum(rng.normal(0, bend * 0.3, n)), -0.2, 0.2)
    a = angle + np.cumsum(da)
    d = step * np.stack([np.cos(a), np.sin(a)], 1)
    pts = np.concatenate([np.zeros((1, 2)), np.cumsum(d, 0)]) + np.asarray(p0, np.float64)
    return pts.astype(np.float32)


def draw_path(canvas, pts, widths, scale=2, value=255, aa=True):
    """Draw a polyline with per-vertex width (pixels, at 1x) onto a canvas that is `scale` x."""
    sh = 3
    f = scale * (1 << sh)
    lt = cv2.LINE_AA if aa else cv2.LINE_8
    for i in range(len(pts) - 1):
        wdt = 0.5 * (widths[i] + widths[i + 1]) * scale
        t = max(1, int(round(wdt)))
        p0 = (int(pts[i][0] * f), int(pts[i][1] * f))
        p1 = (int(pts[i + 1][0] * f), int(pts[i + 1][1] * f))
        cv2.line(canvas, p0, p1, value, t, lt, sh)


def down2(c2):
    h, w = c2.shape[0] // 2, c2.shape[1] // 2
    return cv2.resize(c2, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


# ----------------------------------------------------------------------------- surfaces
PIGMENTS = [(0.72, 0.32, 0.18), (0.62, 0.15, 0.12), (0.80, 0.60, 0.25), (0.25, 0.45, 0.35),
            (0.20, 0.30, 0.55), (0.10, 0.10, 0.10), (0.90, 0.88, 0.82), (0.55, 0.40, 0.30),
            (0.35, 0.55, 0.55), (0.85, 0.70, 0.55)]


def base_texture(rng, h, w, color, amp_lo=0.02, amp_hi=0.10, grain=0.03):
    img = np.empty((h, w, 3), np.float32)
    img[:] = color
    big = fbm(rng, h, w, (rng.uniform(80, 250), rng.uniform(20, 60), rng.uniform(3, 8)),
              [1.0, 0.6, 0.4])
    img *= (1.0 + rng.uniform(amp_lo, amp_hi) * big)[..., None]
    tint = fbm(rng, h, w, (rng.uniform(60, 200),))
    img += (rng.uniform(0, 0.04) * tint)[..., None] * rng.normal(0, 1, 3).astype(np.float32)
    img *= (1.0 + grain * rng.uniform(0.3, 1.0) * rng.standard_normal((h, w)).astype(np.float32))[..., None]
    return img


def add_pores(rng, img, density=1.0, dark=(0.3, 0.7)):
    h, w = img.shape[:2]
    n = int(rng.poisson(density * h * w / 1500))
    if n == 0:
        return
    m = np.zeros((h * 2, w * 2), np.uint8)
    for _ in range(n):
        r = rng.uniform(0.6, 3.5) * (2 if rng.random() < 0.1 else 1)
        c = (int(rng.uniform(0, w) * 16), int(rng.uniform(0, h) * 16))
        ax = (int(r * 16), int(r * rng.uniform(0.5, 1.0) * 16))
        cv2.ellipse(m, c, ax, rng.uniform(0, 180), 0, 360, int(rng.uniform(120, 255)), -1,
                    cv2.LINE_AA, 3)
    cov = down2(m)
    img *= (1.0 - rng.uniform(*dark) * cov)[..., None]


def region_masks(rng, h, w, n, scale):
    out = []
    for _ in range(n):
        f = fbm(rng, h, w, (scale, scale / 4), [1.0, 0.25])
        t = rng.uniform(0.3, 1.2)
        m = (f > t).astype(np.float32)
        out.append(cv2.GaussianBlur(m, (0, 0), rng.uniform(0.6, 1.5)))
    return out


def paint_layer(rng, img, n_regions=None, outlines=True):
    h, w = img.shape[:2]
    n_regions = n_regions if n_regions is not None else rng.integers(1, 5)
    for m in region_masks(rng, h, w, n_regions, rng.uniform(60, 220)):
        col = rand_color(rng, PIGMENTS[rng.integers(len(PIGMENTS))], 0.05)
        tex = 1.0 + 0.08 * fbm(rng, h, w, (rng.uniform(4, 20),))
        wear = np.clip((fbm(rng, h, w, (rng.uniform(8, 40), 3), [1, 0.5]) + rng.uniform(0.6, 2.5)), 0, 1)
        a = m * wear * rng.uniform(0.6, 1.0)
        img[:] = img * (1 - a[..., None]) + (col[None, None] * tex[..., None]) * a[..., None]
        if outlines and rng.random() < 0.7:  # painted outline along the region boundary
            cs, _ = cv2.findContours((m > 0.5).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
            col2 = rand_color(rng, [(0.12, 0.08, 0.06), (0.45, 0.12, 0.08), (0.05, 0.05, 0.08)][rng.integers(3)], 0.03)
            c2 = np.zeros((h * 2, w * 2), np.uint8)
            wd = rng.uniform(1.0, 4.0)
            for c in cs:
                if len(c) < 20:
                    continue
                pts = c[:, 0, :].astype(np.float32)
                k = 7
                pts = uniform_filter1d(pts, k, axis=0, mode="wrap") if len(pts) > k else pts
                pts = pts[:: 2]
                wid = np.clip(wd * (1 + 0.25 * np.sin(np.linspace(0, rng.uniform(3, 20), len(pts)))), 0.8, 6)
                draw_path(c2, pts, wid)
            a2 = down2(c2) * rng.uniform(0.6, 0.95)
            img[:] = img * (1 - a2[..., None]) + col2 * a2[..., None]


def brush_strokes(rng, img, n, ink=None, wmin=2.0, wmax=14.0, lmin=10, lmax=60, cluster=None):
    """Calligraphy-like strokes: smooth paths, pressure-shaped width, tapered ends, dry brush."""
    h, w = img.shape[:2]
    c2 = np.zeros((h * 2, w * 2), np.uint8)
    for i in range(n):
        if cluster is not None:
            cx, cy, cs = cluster[i % len(cluster)]
            p0 = (cx + rng.uniform(-cs, cs) / 2, cy + rng.uniform(-cs, cs) / 2)
            L = rng.uniform(lmin, min(lmax, cs * 1.2))
        else:
            p0 = (rng.uniform(0, w), rng.uniform(0, h))
            L = rng.uniform(lmin, lmax)
        ang = rng.choice([0, math.pi / 2, math.pi / 4, -math.pi / 4, 3 * math.pi / 4]) + rng.normal(0, 0.2)
        pts = smooth_path(rng, p0, ang, L, step=2.0, bend=rng.uniform(0.01, 0.08))
        s = np.linspace(0, 1, len(pts))
        w0 = rng.uniform(wmin, wmax)
        prof = w0 * np.clip(np.sin(np.pi * np.clip(s * rng.uniform(0.9, 1.3), 0, 1)) ** 0.4, 0.25, 1)
        prof = prof * (1 + 0.15 * np.sin(s * rng.uniform(2, 6)))
        draw_path(c2, pts, prof)
    a = down2(c2)
    if rng.random() < 0.5:  # dry brush: streaky alpha
        streak = fbm(rng, h, w, (rng.uniform(2, 5), 1.5), [1, 0.5])
        a *= np.clip(1.2 + 0.5 * streak, 0, 1)
    a = cv2.GaussianBlur(a, (0, 0), rng.uniform(0.3, 0.9)) * rng.uniform(0.75, 1.0)
    col = ink if ink is not None else rand_color(rng, (0.06, 0.05, 0.05), 0.03)
    img[:] = img * (1 - a[..., None]) + col * a[..., None]


def char_cluster(rng, h, w, size):
    cells = []
    cols = max(1, int(w / (size * 1.3)))
    rows = max(1, int(h / (size * 1.3)))
    x0, y0 = rng.uniform(0, size), rng.uniform(0, size)
    for r in range(rows):
        for c in range(cols):
            if rng.random() < 0.75:
                cells.append((x0 + c * size * 1.3 + size / 2, y0 + r * size * 1.3 + size / 2, size))
    return cells


def groove_shade(rng, m, light, depth):
    """Carved groove / relief shading from a coverage mask m: dark floor, lit and shadowed walls."""
    mb = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.8, 1.8))
    gx = cv2.Sobel(mb, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(mb, cv2.CV_32F, 0, 1, ksize=3)
    emb = (gx * light[0] + gy * light[1])
    return 1.0 - depth * mb + rng.uniform(0.3, 0.8) * emb


def carved_strokes(rng, img, light, n=None, size=None, straight=False):
    h, w = img.shape[:2]
    size = size or rng.uniform(30, 80)
    c2 = np.zeros((h * 2, w * 2), np.uint8)
    cells = char_cluster(rng, h, w, size)
    if straight:  # incised border lines
        for _ in range(rng.integers(1, 4)):
            if rng.random() < 0.5:
                y = rng.uniform(0, h)
                pts = np.array([[0, y], [w, y + rng.normal(0, 3)]], np.float32)
            else:
                x = rng.uniform(0, w)
                pts = np.array([[x, 0], [x + rng.normal(0, 3), h]], np.float32)
            draw_path(c2, pts, [rng.uniform(1.0, 5.0)] * 2)
    if cells:
        n = n or len(cells) * rng.integers(3, 8)
        for i in range(n):
            cx, cy, cs = cells[i % len(cells)]
            p0 = (cx + rng.uniform(-cs, cs) / 2, cy + rng.uniform(-cs, cs) / 2)
            ang = rng.choice([0, math.pi / 2, math.pi / 4, -math.pi / 4]) + rng.normal(0, 0.1)
            pts = smooth_path(rng, p0, ang, rng.uniform(cs * 0.2, cs * 0.9), 2.0, 0.02)
            draw_path(c2, pts, np.full(len(pts), cs * rng.uniform(0.06, 0.14)))
    m = down2(c2)
    fill = rng.random()
    shade = groove_shade(rng, m, light, rng.uniform(0.15, 0.5))
    img *= shade[..., None]
    if fill < 0.25:  # characters filled with pigment (gold / red / white)
        col = rand_color(rng, [(0.8, 0.65, 0.3), (0.6, 0.1, 0.08), (0.9, 0.9, 0.88)][rng.integers(3)], 0.05)
        a = m * rng.uniform(0.5, 0.9)
        img[:] = img * (1 - a[..., None]) + col * a[..., None]


def surface(rng, kind, h, w, light, brick=None):
    """Returns (img float32 HxWx3, substrate colour for crack interiors). For brick, a `brick` dict
    scales the courses by brick["scale"] and gets the wall's geometry back (for joint_cracks); it
    draws nothing more from rng, so the samples stay those of brick=None at scale 1."""
    if kind in ("plaster", "mural"):
        img = base_texture(rng, h, w, rand_color(rng, (0.84, 0.79, 0.68), 0.07), grain=0.03)
        add_pores(rng, img, rng.uniform(0, 1.0), (0.1, 0.4))
        if kind == "mural":
            paint_layer(rng, img)
            if rng.random() < 0.5:
                brush_strokes(rng, img, rng.integers(2, 12), wmin=1.5, wmax=8, lmin=20, lmax=150,
                              ink=rand_color(rng, PIGMENTS[rng.integers(len(PIGMENTS))], 0.05))
        sub = rand_color(rng, (0.9, 0.87, 0.8), 0.05)
    elif kind in ("stone", "stele"):
        g = rng.uniform(0.3, 0.7)
        img = base_texture(rng, h, w, rand_color(rng, (g, g * 0.98, g * 0.95), 0.04), 0.04, 0.15,
                           grain=rng.uniform(0.04, 0.12))
        add_pores(rng, img, rng.uniform(0, 2.0))
        if kind == "stele" or rng.random() < 0.3:
            carved_strokes(rng, img, light, straight=rng.random() < 0.5)
        sub = img.reshape(-1, 3).mean(0) * rng.uniform(0.9, 1.2)
    elif kind == "concrete":
        g = rng.uniform(0.35, 0.75)
        img = base_texture(rng, h, w, rand_color(rng, (g, g, g * 0.97), 0.03), 0.05, 0.2,
                           grain=rng.uniform(0.05, 0.15))
        # aggregate: blobs of different grey
        agg = fbm(rng, h, w, (rng.uniform(3, 8), 1.5), [1, 0.4])
        img *= (1 + rng.uniform(0.05, 0.2) * np.sign(agg) * (np.abs(agg) > 1.0))[..., None]
        add_pores(rng, img, rng.uniform(0.5, 4.0))
        sub = img.reshape(-1, 3).mean(0)
    elif kind == "brick":
        scale = brick["scale"] if brick else 1.0
        bh = rng.uniform(18, 45) * scale
        bw = bh * rng.uniform(2.0, 3.5)
        joint = rng.uniform(3, 10) * scale ** 0.5
        mortar = rand_color(rng, (0.7, 0.68, 0.62), 0.08)
        img = base_texture(rng, h, w, mortar, grain=0.08)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ang = rng.normal(0, 0.03)
        oy = rng.uniform(0, bh)
        yr = yy * math.cos(ang) + xx * math.sin(ang) + oy
        xr = xx * math.cos(ang) - yy * math.sin(ang)
        row = np.floor(yr / bh)
        ox = rng.uniform(0, bw)
        xs = xr + (row % 2) * bw / 2 + ox
        if brick is not None:
            brick.update(bh=bh, bw=bw, joint=joint, ang=ang, oy=oy, ox=ox)
        col = np.floor(xs / bw)
        fy, fx = yr - row * bh, xs - col * bw
        inside = ((fy > joint / 2) & (fy < bh - joint / 2) & (fx > joint / 2) & (fx < bw - joint / 2))
        inside = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.8)
        bcol = rand_color(rng, [(0.62, 0.32, 0.22), (0.55, 0.45, 0.38), (0.7, 0.5, 0.35)][rng.integers(3)], 0.05)
        idx = (row * 7919 + col * 104729).astype(np.int64) % 997
        var = (np.sin(idx * 12.9898) * 43758.5453 % 1.0).astype(np.float32)
        brick = base_texture(rng, h, w, bcol, 0.05, 0.15, 0.06) * (0.85 + 0.3 * var)[..., None]
        # recessed mortar joints: shadow under the upper brick edge
        jshade = 1.0 - rng.uniform(0.1, 0.45) * (1 - inside)
        img = img * jshade[..., None] * (1 - inside[..., None]) + brick * inside[..., None]
        add_pores(rng, img, rng.uniform(0, 1.5))
        sub = mortar
    elif kind == "terracotta":
        img = base_texture(rng, h, w, rand_color(rng, (0.68, 0.38, 0.24), 0.06), 0.05, 0.15, 0.05)
        add_pores(rng, img, rng.uniform(0, 1.5))
        if rng.random() < 0.4:
            paint_layer(rng, img, rng.integers(1, 3))
        if rng.random() < 0.3:
            carved_strokes(rng, img, light, size=rng.uniform(40, 120))
        sub = img.reshape(-1, 3).mean(0) * 1.1
    elif kind == "glaze":
        img = base_texture(rng, h, w, rand_color(rng, [(0.62, 0.72, 0.62), (0.9, 0.9, 0.86),
                                                      (0.75, 0.78, 0.82), (0.3, 0.4, 0.6),
                                                      (0.55, 0.35, 0.2)][rng.integers(5)], 0.05),
                           0.01, 0.05, 0.01)
        if rng.random() < 0.5:  # painted blue-and-white decoration
            brush_strokes(rng, img, rng.integers(3, 20), ink=rand_color(rng, (0.15, 0.25, 0.6), 0.06),
                          wmin=1.5, wmax=10, lmin=20, lmax=160)
        # specular highlight band
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = rng.uniform(0, math.pi)
        d = (xx * math.cos(a) + yy * math.sin(a)) - rng.uniform(0, w + h)
        img += (rng.uniform(0, 0.35) * np.exp(-(d / rng.uniform(10, 60)) ** 2))[..., None]
        sub = img.reshape(-1, 3).mean(0)
    elif kind in ("paper", "silk"):
        img = base_texture(rng, h, w, rand_color(rng, (0.86, 0.8, 0.64), 0.06), 0.02, 0.06, 0.02)
        fib = fbm(rng, h, w, (rng.uniform(1, 2), 12), [1, 0.3]) if kind == "paper" else None
        if kind == "silk":  # weave
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            p = rng.uniform(2.0, 4.0)
            fib = np.sin(xx * 2 * np.pi / p) * np.sin(yy * 2 * np.pi / p)
        img *= (1 + rng.uniform(0.01, 0.04) * fib)[..., None]
        cells = char_cluster(rng, h, w, rng.uniform(25, 80))
        if cells:
            brush_strokes(rng, img, len(cells) * rng.integers(2, 6), cluster=cells,
                          wmin=1.5, wmax=9)
        if rng.random() < 0.3:
            paint_layer(rng, img, rng.integers(1, 3))
        sub = img.reshape(-1, 3).mean(0) * 0.9
    elif kind == "wood":
        img = base_texture(rng, h, w, rand_color(rng, (0.55, 0.38, 0.22), 0.08), 0.03, 0.1, 0.03)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = rng.uniform(0, math.pi)
        u = xx * math.cos(a) + yy * math.sin(a)
        v = -xx * math.sin(a) + yy * math.cos(a)
        warp = fbm(rng, h, w, (rng.uniform(80, 200), 30), [1, 0.3]) * rng.uniform(5, 25)
        period = rng.uniform(5, 18)
        ph = (v + warp + 0.02 * u) / period
        streak = fbm(rng, h, w, (1.5, 6), [1, 0.5])
        band = (0.5 + 0.5 * np.cos(2 * np.pi * ph)) ** rng.uniform(1, 4)
        img *= (1 - rng.uniform(0.1, 0.35) * band)[..., None]
        lines = (np.abs(np.cos(np.pi * ph)) > rng.uniform(0.97, 0.995)).astype(np.float32)
        lines = cv2.GaussianBlur(lines, (0, 0), rng.uniform(0.4, 1.0))
        img *= (1 - rng.uniform(0.1, 0.5) * lines * np.clip(1 + streak, 0, 1))[..., None]
        img *= (1 + 0.04 * streak)[..., None]
        sub = img.reshape(-1, 3).mean(0) * 0.7
    else:
        raise ValueError(kind)
    return img, np.asarray(sub, np.float32)


# ----------------------------------------------------------------------------- cracks
def crack_tree(rng, canvas, p0, ang, length, w0, jag, depth=0, taper="tip"):
    step = rng.uniform(2.0, 4.0)
    n = max(3, int(length / step))
    tort = rng.uniform(0.15, 0.6)
    # direction: mean-reverting jitter (jagged) + slow wander, kept within ~70 degrees of `ang`
    dev = lfilter([1.0], [1.0, -rng.uniform(0.6, 0.9)], rng.normal(0, tort, n))
    dev = np.clip(dev + np.cumsum(rng.normal(0, 0.04, n)) + rng.normal(0, 0.1), -1.2, 1.2)
    a = ang + dev
    d = step * np.stack([np.cos(a), np.sin(a)], 1)
    pts = (np.concatenate([np.zeros((1, 2)), np.cumsum(d, 0)]) + np.asarray(p0, np.float64)).astype(np.float32)
    pts += rng.normal(0, jag, pts.shape).astype(np.float32)  # jagged edges
    s = np.linspace(0, 1, len(pts))
    if taper == "tip":
        prof = w0 * (1 - s) ** rng.uniform(0.3, 1.0)
    else:  # both ends
        prof = w0 * np.sin(np.pi * s) ** rng.uniform(0.3, 0.8)
    prof = prof * np.exp(0.25 * fbm(rng, 1, len(pts), (rng.uniform(3, 10),))[0])
    prof = np.maximum(prof, 1.0)
    draw_path(canvas, pts, prof, aa=False)
    if depth < 3:
        nb = rng.poisson(length / 120.0)
        for _ in range(nb):
            i = rng.integers(1, max(2, len(pts) - 2))
            side = rng.choice([-1, 1])
            crack_tree(rng, canvas, pts[i], ang + side * rng.uniform(0.3, 1.2),
                       length * rng.uniform(0.15, 0.6) * (1 - s[i] * 0.5),
                       max(1.0, prof[i] * rng.uniform(0.4, 0.85)), jag, depth + 1, "tip")


def craquelure(rng, h, w, cell, width):
    """Voronoi crack network at 2x with wavy boundaries, limited to a blob region."""
    H, W = 2 * h, 2 * w
    n = int(H * W / (2 * cell) ** 2) + 1
    seeds = np.ones((H, W), np.uint8)
    ys, xs = rng.integers(0, H, n), rng.integers(0, W, n)
    seeds[ys, xs] = 0
    _, lab = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    amp = rng.uniform(0.1, 0.35) * 2 * cell
    dx = fbm(rng, H, W, (2 * cell * 0.6, 2 * cell * 0.2), [1, 0.4]) * amp
    dy = fbm(rng, H, W, (2 * cell * 0.6, 2 * cell * 0.2), [1, 0.4]) * amp
    gx, gy = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    lab = cv2.remap(lab.astype(np.float32), gx + dx, gy + dy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
    e = np.zeros((H, W), np.uint8)
    e[:, :-1] |= (lab[:, :-1] != lab[:, 1:])
    e[:-1, :] |= (lab[:-1, :] != lab[1:, :])
    k = max(1, int(round(2 * width)) - 1)
    if k > 1:
        e = cv2.dilate(e, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    # drop some edges (open network) and limit to a region
    keep = fbm(rng, H, W, (2 * cell * 1.5,)) > rng.uniform(-1.5, 0.0)
    region = fbm(rng, H, W, (rng.uniform(100, 300),)) > rng.uniform(-2.0, 0.5)
    return e * 255 * (keep & region).astype(np.uint8)


def render_cracks(rng, h, w, kind):
    c2 = np.zeros((2 * h, 2 * w), np.uint8)
    style = rng.choice(["single", "multi", "hairline", "craq", "mixed"],
                       p=[0.3, 0.2, 0.15, 0.15, 0.2] if kind not in ("glaze", "mural", "paper", "silk")
                       else [0.2, 0.15, 0.15, 0.35, 0.15])
    n_main = {"single": 1, "multi": rng.integers(2, 5), "hairline": rng.integers(2, 7),
              "craq": 0, "mixed": rng.integers(1, 3)}[style]
    wide = rng.random() < 0.35
    for _ in range(n_main):
        if rng.random() < 0.6:  # start at an edge and cross
            side = rng.integers(4)
            p = [(rng.uniform(0, w), -5), (w + 5, rng.uniform(0, h)), (rng.uniform(0, w), h + 5),
                 (-5, rng.uniform(0, h))][side]
            ang = [math.pi / 2, math.pi, -math.pi / 2, 0][side] + rng.normal(0, 0.5)
            taper = "tip"
        else:
            p = (rng.uniform(0, w), rng.uniform(0, h))
            ang = rng.uniform(0, 2 * math.pi)
            taper = "both"
        if kind == "wood":
            ang = rng.uniform(0, 2 * math.pi)
        L = rng.uniform(0.3, 1.3) * max(h, w)
        if style == "hairline":
            w0 = rng.uniform(1.0, 2.2)
            L *= rng.uniform(0.2, 0.7)
        elif wide:
            w0 = math.exp(rng.uniform(math.log(4), math.log(20 if rng.random() < 0.8 else 32)))
        else:
            w0 = math.exp(rng.uniform(math.log(1.2), math.log(7)))
        crack_tree(rng, c2, p, ang, L, w0, rng.uniform(0.0, 0.9), 0, taper)
    if style in ("craq", "mixed"):
        c2 = np.maximum(c2, craquelure(rng, h, w, rng.uniform(12, 50), rng.uniform(0.8, 2.2)))
    return c2


def joint_cracks(rng, g, h, w):
    """Masonry cracks that follow the mortar (generator v6): stair-steps down head and bed joints, and
    runs along a bed joint, on the wall geometry `g` that surface(..., brick=g) recorded. Real brick
    walls crack this way (the masonry validation photographs); v5 only drew cracks across bricks, so
    an opened, darkened joint was never a crack to the model. Returns the 2x coverage canvas."""
    c2 = np.zeros((2 * h, 2 * w), np.uint8)
    bh, bw, ca, sa = g["bh"], g["bw"], math.cos(g["ang"]), math.sin(g["ang"])
    for _ in range(rng.integers(1, 3)):
        x0, y0 = rng.uniform(0, w), rng.uniform(-bh, 0.6 * h)
        yr, xr = y0 * ca + x0 * sa + g["oy"], x0 * ca - y0 * sa
        row = math.floor(yr / bh)
        xj = round((xr + (row % 2) * bw / 2 + g["ox"]) / bw) * bw - (row % 2) * bw / 2 - g["ox"]
        d = rng.choice([-1, 1])
        pts = [(xj, row * bh)]
        for _ in range(rng.integers(2, 10)):
            pts.append((xj, (row + 1) * bh))  # down a head joint
            row += 1
            xj += d * (bw / 2 + bw * (rng.integers(1, 3) if rng.random() < 0.3 else 0))  # along the bed joint
            pts.append((xj, row * bh))
        r = np.asarray(pts, np.float64)
        r[:, 1] -= g["oy"]
        xy = np.stack([r[:, 0] * ca + r[:, 1] * sa, r[:, 1] * ca - r[:, 0] * sa], 1)
        seg = np.linalg.norm(np.diff(xy, axis=0), axis=1)
        t = np.concatenate([[0], np.cumsum(seg)])
        s = np.arange(0, t[-1], 2.0)
        line = np.stack([np.interp(s, t, xy[:, 0]), np.interp(s, t, xy[:, 1])], 1)
        line += lfilter([1.0], [1.0, -0.8], rng.normal(0, 0.12 * g["joint"], line.shape), axis=0) * 0.5
        w0 = rng.uniform(1.2, min(14.0, 1.3 * g["joint"]))
        prof = np.maximum(w0 * np.exp(0.35 * fbm(rng, 1, len(line), (rng.uniform(4, 15),))[0]), 1.0)
        draw_path(c2, line.astype(np.float32), prof, aa=False)
    return c2


def map_cracks(rng, h, w):
    """Map (alligator) cracking (generator v7): a network of polygons 40-130 px across, several times
    larger than the surface's grains, on fine asphalt, render and concrete. The real wall set's worst
    misses were such networks on pavement (median probability 0 on them): v4's rough scenes teach that
    a network of dark gaps between grains is not a crack, and craquelure's cells (12-50 px, Poisson
    seeds) overlap the grain sizes. Returns the 2x coverage canvas."""
    cell = math.exp(rng.uniform(math.log(40), math.log(130)))
    _, dist = voronoi_grains(rng, 2 * h, 2 * w, 2 * cell, warp=rng.uniform(0.1, 0.3))
    half = rng.uniform(0.7, 2.4) * np.exp(0.4 * fbm(rng, 2 * h, 2 * w, (2 * cell,)))  # 1x width, varying
    e = dist < half
    keep = fbm(rng, 2 * h, 2 * w, (3 * cell,)) > rng.uniform(-1.5, -0.3)  # some open cells
    region = fbm(rng, 2 * h, 2 * w, (rng.uniform(200, 600),)) > rng.uniform(-2.0, 0.0)
    c2 = (e & keep & region).astype(np.uint8) * 255
    for _ in range(rng.integers(0, 3)):  # often one or two longer cracks through it
        crack_tree(rng, c2, (rng.uniform(0, w), rng.uniform(0, h)), rng.uniform(0, 2 * math.pi),
                   rng.uniform(0.4, 1.2) * max(h, w), math.exp(rng.uniform(0.2, 1.6)), rng.uniform(0.2, 0.9), 0, "both")
    return c2


def apply_cracks(rng, img, c2, sub, light, faint=False):
    """Darken the crack coverage c2 (2x) into img; faint (generator v7): shallow hairlines that only
    shade the surface by 25-50 % (v6 and before: 45-92 %), like fine cracks in textured render."""
    h, w = img.shape[:2]
    cov = down2(c2)
    label = (cov >= 0.45).astype(np.uint8)
    if label.sum() == 0:
        return label
    m = (c2 > 127).astype(np.uint8)
    dist = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    dist = cv2.resize(dist, (w, h), interpolation=cv2.INTER_AREA) / 2.0  # px at 1x from the wall
    depth = np.clip(dist / rng.uniform(1.0, 3.0), 0, 1)
    dark_base = rng.uniform(0.25, 0.5) if faint else rng.uniform(0.45, 0.92)
    along = np.clip(dark_base + 0.12 * fbm(rng, h, w, (rng.uniform(20, 80),)), 0.1 if faint else 0.35, 0.97)
    dark = along * (0.75 + 0.25 * depth)
    covs = cv2.GaussianBlur(cov, (0, 0), rng.uniform(0.3, 0.5))
    interior = np.clip(img * (1 - dark[..., None]), 0, 1)
    if rng.random() < 0.25:  # open crack showing substrate / dust, still shadowed at the walls
        mix = np.clip(depth - 0.5, 0, 1)[..., None] * rng.uniform(0.3, 0.8)
        interior = interior * (1 - mix) + (sub * rng.uniform(0.3, 0.7)) * mix
    out = img * (1 - covs[..., None]) + interior * covs[..., None]
    # lit rim on the wall facing the light, shadow rim on the other side (open cracks only)
    if dist.max() > 1.5:
        sh = rng.uniform(0.7, 2.0)
        M = np.float32([[1, 0, light[0] * sh], [0, 1, light[1] * sh]])
        shifted = cv2.warpAffine(covs, M, (w, h))
        rim = np.clip(shifted - covs, 0, 1)
        out = out * (1 + rng.uniform(0.05, 0.25) * rim[..., None])
    # chipped / spalled edges: lighter, irregular zone hugging wide cracks (not labelled)
    if rng.random() < 0.35 and dist.max() > 2:
        zone = cv2.dilate(label, np.ones((5, 5), np.uint8)).astype(np.float32) - label
        zone *= (fbm(rng, h, w, (3, 1.5), [1, 0.5]) > 0.3)
        zone = cv2.GaussianBlur(zone, (0, 0), 0.6)
        out = out * (1 - 0.5 * zone[..., None]) + (sub * 1.05) * 0.5 * zone[..., None]
    img[:] = out
    return label


# ----------------------------------------------------------------------------- overlays (negatives)
def stains(rng, img, n):
    h, w = img.shape[:2]
    for _ in range(n):
        m = region_masks(rng, h, w, 1, rng.uniform(30, 150))[0]
        m = cv2.GaussianBlur(m, (0, 0), rng.uniform(2, 10))
        col = rand_color(rng, [(0.45, 0.35, 0.2), (0.3, 0.3, 0.3), (0.5, 0.45, 0.3)][rng.integers(3)], 0.05)
        a = m * rng.uniform(0.1, 0.45)
        img[:] = img * (1 - a[..., None]) + col * img.mean() * 1.4 * a[..., None]
        if rng.random() < 0.5:  # tide line on the stain's border
            e = cv2.morphologyEx((m > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
            e = cv2.GaussianBlur(e.astype(np.float32), (0, 0), rng.uniform(0.7, 1.6))
            img *= (1 - rng.uniform(0.05, 0.25) * e)[..., None]


def hairs(rng, img, n):
    h, w = img.shape[:2]
    for _ in range(n):
        c2 = np.zeros((2 * h, 2 * w), np.uint8)
        pts = smooth_path(rng, (rng.uniform(0, w), rng.uniform(0, h)), rng.uniform(0, 6.3),
                          rng.uniform(20, 200), 2.0, rng.uniform(0.01, 0.06))
        draw_path(c2, pts, np.full(len(pts), rng.uniform(0.7, 1.8)))
        a = cv2.GaussianBlur(down2(c2), (0, 0), rng.uniform(0.3, 1.0)) * rng.uniform(0.3, 0.9)
        col = rand_color(rng, (0.1, 0.08, 0.07), 0.03) if rng.random() < 0.7 else rand_color(rng, (0.9, 0.9, 0.88))
        img[:] = img * (1 - a[..., None]) + col * a[..., None]


def thin_lines(rng, img, n):
    """Painted lines / thin straight shadows of wires and strings."""
    h, w = img.shape[:2]
    for _ in range(n):
        c2 = np.zeros((2 * h, 2 * w), np.uint8)
        pts = smooth_path(rng, (rng.uniform(0, w), rng.uniform(0, h)), rng.uniform(0, 6.3),
                          rng.uniform(60, 600), 3.0, rng.uniform(0.0, 0.02))
        draw_path(c2, pts, np.full(len(pts), rng.uniform(1.0, 4.0)))
        a = cv2.GaussianBlur(down2(c2), (0, 0), rng.uniform(0.3, 2.5))
        if rng.random() < 0.5:
            img *= (1 - rng.uniform(0.2, 0.6) * a)[..., None]  # shadow
        else:
            col = rand_color(rng, PIGMENTS[rng.integers(len(PIGMENTS))], 0.05)
            a = a * rng.uniform(0.5, 0.95)
            img[:] = img * (1 - a[..., None]) + col * a[..., None]


def dark_patches(rng, img, n):
    """Compact dark areas that are not cracks: dark paint, holes, dark objects (textured, hard or ragged edges)."""
    h, w = img.shape[:2]
    for _ in range(n):
        m = np.zeros((h, w), np.float32)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(15, 110)
        k = rng.integers(5, 12)
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.55, 1.0, k)
        asp = rng.uniform(1.0, 2.5)
        pts = np.stack([cx + rad * np.cos(ang) * asp, cy + rad * np.sin(ang)], 1).astype(np.int32)
        cv2.fillPoly(m, [pts], 1.0)
        if rng.random() < 0.5:  # ragged edge
            m = (cv2.GaussianBlur(m, (0, 0), 3) + 0.25 * fbm(rng, h, w, (4, 2), [1, 0.5]) > 0.5).astype(np.float32)
        m = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.5, 1.5))
        col = rand_color(rng, [(0.08, 0.07, 0.06), (0.2, 0.12, 0.1), (0.1, 0.12, 0.2), (0.15, 0.15, 0.15)][rng.integers(4)], 0.04)
        tex = 1 + rng.uniform(0.05, 0.4) * fbm(rng, h, w, (rng.uniform(2, 10), 1.5), [1, 0.5])
        a = m * rng.uniform(0.7, 1.0)
        img[:] = img * (1 - a[..., None]) + (col * tex[..., None]) * a[..., None]


FONTS = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
         cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_PLAIN]


def printed_text(rng, img):
    """Printed or painted lettering (labels, inscriptions, page text): thin dark strokes, not cracks."""
    h, w = img.shape[:2]
    c = np.zeros((h, w), np.uint8)
    scale = rng.uniform(0.35, 1.6)
    font = FONTS[rng.integers(len(FONTS))]
    th = max(1, int(round(scale * rng.uniform(1.0, 2.5))))
    y = rng.uniform(10, 40)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,;-"
    nl = rng.integers(1, 12)
    x0 = rng.uniform(-20, w * 0.5)
    for _ in range(nl):
        txt = "".join(alphabet[i] for i in rng.integers(0, len(alphabet), rng.integers(5, 40)))
        cv2.putText(c, txt, (int(x0), int(y)), font, scale, 255, th, cv2.LINE_AA)
        y += scale * rng.uniform(28, 45)
        if y > h:
            break
    M = cv2.getRotationMatrix2D((w / 2, h / 2), rng.normal(0, 8), 1.0)
    a = cv2.warpAffine(c, M, (w, h)).astype(np.float32) / 255 * rng.uniform(0.6, 1.0)
    col = rand_color(rng, [(0.05, 0.05, 0.05), (0.35, 0.08, 0.06), (0.1, 0.1, 0.3)][rng.integers(3)], 0.03)
    img[:] = img * (1 - a[..., None]) + col * a[..., None]


def dark_background(rng, img):
    """The object ends: a dark, textured background (museum photo) over part of the frame. Returns its mask."""
    h, w = img.shape[:2]
    m = np.zeros((h, w), np.float32)
    if rng.random() < 0.5:  # straight-ish object edge
        side = rng.integers(4)
        d = rng.uniform(0.1, 0.35)
        poly = {0: [(0, 0), (w * d + rng.normal(0, 20), 0), (w * d + rng.normal(0, 20), h), (0, h)],
                1: [(w, 0), (w * (1 - d) + rng.normal(0, 20), 0), (w * (1 - d) + rng.normal(0, 20), h), (w, h)],
                2: [(0, 0), (w, 0), (w, h * d + rng.normal(0, 15)), (0, h * d + rng.normal(0, 15))],
                3: [(0, h), (w, h), (w, h * (1 - d) + rng.normal(0, 15)), (0, h * (1 - d) + rng.normal(0, 15))]}[side]
        cv2.fillPoly(m, [np.array(poly, np.int32)], 1.0)
    else:  # the object is a round-ish shape, the background is outside it
        cv2.ellipse(m, (int(w / 2 + rng.normal(0, w / 8)), int(h / 2 + rng.normal(0, h / 8))),
                    (int(w * rng.uniform(0.35, 0.6)), int(h * rng.uniform(0.35, 0.6))), rng.uniform(0, 180), 0, 360, 1.0, -1)
        m = 1 - m
    m = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.5, 2.0))
    g = rng.uniform(0.02, 0.15)
    bg = np.full_like(img, g) * rand_color(rng, (1, 1, 1), 0.1) * (1 + 0.3 * fbm(rng, h, w, (rng.uniform(3, 60),)))[..., None]
    img[:] = img * (1 - m[..., None]) + bg * m[..., None]
    return m


def cast_shadow(rng, img):
    h, w = img.shape[:2]
    pts = np.array([(rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h) for _ in range(rng.integers(3, 7))],
                   np.int32)
    m = np.zeros((h, w), np.float32)
    cv2.fillPoly(m, [cv2.convexHull(pts)], 1.0)
    m = cv2.GaussianBlur(m, (0, 0), rng.uniform(1, 25))
    img *= (1 - rng.uniform(0.2, 0.6) * m)[..., None]



# ----------------------------------------------------------------------------- v4: rough / granular surfaces
# Added after the real-photo check (gravel 13.5%, coins on black 6%, a crescent shadow in a cup):
# irregular networks of dark gaps between grains are not cracks. Used only with make_sample(hard4=p > 0),
# so the v3 validation set (seed 7001), the CI fixture and the demo frames are drawn exactly as before.
ROUGH = ["gravel", "pebbles", "sand", "aggregate", "render", "pitted"]
MAP_SURFACES = ["sand", "render", "concrete", "plaster"]  # generator v7: map cracking on these


def voronoi_grains(rng, h, w, cell, warp=0.2):
    """Warped Voronoi cells on jittered-grid seeds: (label per pixel, distance to the nearest cell border in px)."""
    gy, gx = np.mgrid[-1:h / cell + 1, -1:w / cell + 1]
    jit = rng.uniform(0.3, 0.9)
    ys = ((gy + 0.5 + rng.uniform(-jit, jit, gy.shape) / 2) * cell).ravel()
    xs = ((gx + 0.5 + rng.uniform(-jit, jit, gx.shape) / 2) * cell).ravel()
    ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    seeds = np.ones((h, w), np.uint8)
    seeds[ys[ok].astype(int), xs[ok].astype(int)] = 0
    _, lab = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    if warp > 0:
        amp = warp * cell
        dx = fbm(rng, h, w, (cell * 1.2, cell * 0.5), [1, 0.3]) * amp
        dy = fbm(rng, h, w, (cell * 1.2, cell * 0.5), [1, 0.3]) * amp
        mx, my = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        lab = cv2.remap(lab.astype(np.float32), mx + dx, my + dy, cv2.INTER_NEAREST,
                        borderMode=cv2.BORDER_REFLECT).astype(np.int32)
    e = np.zeros((h, w), np.uint8)
    e[:, :-1] |= (lab[:, :-1] != lab[:, 1:])
    e[:-1, :] |= (lab[:-1, :] != lab[1:, :])
    dist = cv2.distanceTransform(1 - e, cv2.DIST_L2, 3)
    return lab, dist


def grain_field(rng, h, w, cell, gap, light, round_=0.15, drop=0.0, warp=0.2):
    """Grains separated by gaps: (grain mask 0..1, shading, per-pixel grain id, gap depth 0..1)."""
    lab, dist = voronoi_grains(rng, h, w, cell, warp)
    m = (dist > gap).astype(np.float32)
    if drop > 0:  # missing grains: wider voids
        keep = (rng.random(int(lab.max()) + 2) > drop).astype(np.float32)
        m *= keep[lab]
    if round_ > 0:  # rounded grains, bigger voids at the junctions
        m = (cv2.GaussianBlur(m, (0, 0), max(0.5, cell * round_)) > rng.uniform(0.45, 0.6)).astype(np.float32)
    # ragged grain outlines
    m = (cv2.GaussianBlur(m, (0, 0), 0.8) + min(0.25, cell / 60) * fbm(rng, h, w, (max(2.0, cell / 6), 1.5), [1, 0.5]) > 0.5)
    m = m.astype(np.float32)
    din = cv2.distanceTransform((m > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    hgt = np.sqrt(np.clip(din / (cell * rng.uniform(0.2, 0.45)), 0, 1))
    hb = cv2.GaussianBlur(hgt, (0, 0), 1.0)
    gx = cv2.Sobel(hb, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(hb, cv2.CV_32F, 0, 1, ksize=3)
    k = rng.uniform(0.08, 0.25) * cell / 8  # Sobel gain 8; hgt rises over ~0.3 cell
    shade = np.clip(1 - k * (gx * light[0] + gy * light[1]), 0.5, 1.5) * (0.6 + 0.4 * hgt)
    dout = cv2.distanceTransform((m < 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    depth = np.clip(dout / rng.uniform(1.0, 4.0), 0, 1)
    return cv2.GaussianBlur(m, (0, 0), rng.uniform(0.4, 0.9)), shade, lab, depth


def rough_surface(rng, kind, h, w, light, fine=False):
    """Granular / aggregate surfaces whose dark gaps form irregular networks (never labelled);
    fine: grains of 3-10 px whatever the kind (asphalt under map cracking, generator v7)."""
    g = rng.uniform(0.35, 0.8)
    base = rand_color(rng, [(g, g, g * 0.97), (g, g * 0.9, g * 0.75), (g * 0.95, g * 0.85, g * 0.8),
                            (g * 0.8, g * 0.8, g * 0.85)][rng.integers(4)], 0.04)
    if kind in ("gravel", "pebbles", "aggregate", "sand"):
        cell = (3, 10) if fine else {"gravel": (12, 50), "pebbles": (18, 80), "aggregate": (8, 35), "sand": (3.5, 9)}[kind]
        cell = math.exp(rng.uniform(math.log(cell[0]), math.log(cell[1])))
        gap = rng.uniform(0.5, max(0.8, cell * (0.09 if kind != "aggregate" else 0.15)))  # half-width
        m, shade, lab, depth = grain_field(rng, h, w, cell, gap, light,
                                           round_=rng.uniform(0.05, 0.3) if kind != "gravel" else rng.uniform(0.0, 0.15),
                                           drop=rng.uniform(0, 0.25) if kind != "aggregate" else 0.0,
                                           warp=rng.uniform(0.05, 0.35))
        ng = int(lab.max()) + 2
        spread = rng.uniform(0.15, 0.6)
        gb = np.clip(1 + spread * rng.standard_normal(ng), 0.35, 1.8).astype(np.float32)
        gcol = base[None] * gb[:, None] * (1 + rng.normal(0, spread * 0.1, (ng, 3))).astype(np.float32)
        if rng.random() < 0.4:  # mixed gravel: some grains of another colour
            alt = rand_color(rng, [(0.75, 0.7, 0.62), (0.45, 0.3, 0.22), (0.25, 0.25, 0.27), (0.85, 0.85, 0.82)][rng.integers(4)], 0.05)
            sel = rng.random(ng) < rng.uniform(0.1, 0.5)
            gcol[sel] = alt * gb[sel, None]
        gimg = gcol[lab] * (1 + rng.uniform(0.03, 0.15) * fbm(rng, h, w, (rng.uniform(1.5, 5), 1.0), [1, 0.5]))[..., None]
        gimg *= shade[..., None]
        if kind == "aggregate" and rng.random() < 0.6:  # grains set in a lighter matrix (exposed aggregate)
            mat = rand_color(rng, (0.7, 0.68, 0.63), 0.08) * (1 - rng.uniform(0.0, 0.4) * depth)[..., None]
        else:  # open gaps: shadowed, darker where deeper
            dk = rng.uniform(0.08, 0.5)
            mat = base * dk * (1 - rng.uniform(0.2, 0.7) * depth)[..., None]
        mat = mat * (1 + 0.2 * fbm(rng, h, w, (rng.uniform(2, 8),)))[..., None]
        img = gimg * m[..., None] + mat * (1 - m[..., None])
        if kind == "sand" and rng.random() < 0.5:  # larger stones in the sand
            m2, sh2, lab2, _ = grain_field(rng, h, w, rng.uniform(20, 60), rng.uniform(1, 4), light, 0.3, 0.7)
            c2 = base[None] * np.clip(1 + 0.4 * rng.standard_normal(int(lab2.max()) + 2), 0.4, 1.6)[:, None]
            img = img * (1 - m2[..., None]) + (c2[lab2] * sh2[..., None]) * m2[..., None]
    elif kind == "render":  # rough render / roughcast: fine grains, pits, trowel marks
        img = base_texture(rng, h, w, base, 0.05, 0.2, grain=rng.uniform(0.05, 0.15))
        m, shade, lab, depth = grain_field(rng, h, w, rng.uniform(3, 8), rng.uniform(0.5, 1.5), light, 0.2, 0.3)
        img *= (1 - rng.uniform(0.1, 0.35) * (1 - m) + rng.uniform(0.0, 0.3) * (shade - 1) * m)[..., None]
        add_pores(rng, img, rng.uniform(1.0, 6.0), (0.3, 0.8))
    else:  # pitted stone: dissolved pits and vugs, irregular, some elongated
        img = base_texture(rng, h, w, base, 0.05, 0.2, grain=rng.uniform(0.04, 0.12))
        add_pores(rng, img, rng.uniform(2.0, 8.0), (0.3, 0.85))
        f = fbm(rng, h, w, (rng.uniform(4, 14), rng.uniform(1.5, 3)), [1, 0.4])
        if rng.random() < 0.5:  # elongated along a bedding direction
            a = rng.uniform(0, 180)
            M = cv2.getRotationMatrix2D((w / 2, h / 2), a, 1.0)
            M[:, :2] *= np.array([[1.0], [rng.uniform(1.5, 3.0)]])
            f = cv2.warpAffine(f, M, (w, h), borderMode=cv2.BORDER_REFLECT)
        pit = np.clip((f - rng.uniform(1.2, 2.0)) * 2, 0, 1)
        img *= (1 - rng.uniform(0.4, 0.85) * pit)[..., None]
        if rng.random() < 0.5:
            m, shade, lab, depth = grain_field(rng, h, w, rng.uniform(6, 20), rng.uniform(0.5, 1.2), light, 0.1)
            img *= (1 - rng.uniform(0.1, 0.3) * (1 - m))[..., None]
    sub = img.reshape(-1, 3).mean(0) * rng.uniform(0.7, 1.0)
    return img.astype(np.float32), np.asarray(sub, np.float32)


def objects_on_dark(rng, img, light):
    """Bright objects (coins, pebbles, tiles) on a dark background, dark gaps between them. Returns the background mask."""
    h, w = img.shape[:2]
    cell = rng.uniform(25, 110)
    m, shade, lab, _ = grain_field(rng, h, w, cell, cell * rng.uniform(0.06, 0.25), light,
                                   round_=rng.uniform(0.15, 0.35), drop=rng.uniform(0.0, 0.5), warp=rng.uniform(0, 0.15))
    if rng.random() < 0.4:  # only part of the frame
        region = (fbm(rng, h, w, (rng.uniform(100, 300),)) > rng.uniform(-1.0, 0.5)).astype(np.float32)
        region = cv2.GaussianBlur(region, (0, 0), 2.0)
    else:
        region = np.ones((h, w), np.float32)
    bgm = (1 - m) * region
    ng = int(lab.max()) + 2
    boost = np.clip(rng.uniform(0.9, 1.5) + 0.2 * rng.standard_normal(ng), 0.6, 2.0).astype(np.float32)
    obj = img * (boost[lab] * shade)[..., None]
    if rng.random() < 0.5:  # rim of the coin / lip of the object
        e = cv2.morphologyEx((m > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        obj *= (1 + rng.uniform(-0.3, 0.3) * cv2.GaussianBlur(e.astype(np.float32), (0, 0), 1.0))[..., None]
    g = rng.uniform(0.01, 0.15)
    bg = np.full_like(img, g) * rand_color(rng, (1, 1, 1), 0.1) * \
        np.clip(1 + 0.3 * fbm(rng, h, w, (rng.uniform(3, 60),)), 0.3, 2)[..., None]
    out = obj * m[..., None] + bg * (1 - m[..., None])
    img[:] = img * (1 - region[..., None]) + out * region[..., None]
    return bgm


def crescent_shadows(rng, img, n):
    """Curved soft shadow bands and crescents (cups, bowls, curved rims): never labelled."""
    h, w = img.shape[:2]
    for _ in range(n):
        m = np.zeros((h, w), np.float32)
        cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        a = rng.uniform(30, 0.8 * max(h, w))
        b = a * rng.uniform(0.4, 1.0)
        ang = rng.uniform(0, 180)
        if rng.random() < 0.6:  # crescent: ellipse minus a shifted ellipse
            cv2.ellipse(m, (int(cx), int(cy)), (int(a), int(b)), ang, 0, 360, 1.0, -1, cv2.LINE_AA)
            t = rng.uniform(0, 2 * math.pi)
            off = rng.uniform(0.05, 0.35) * a
            cv2.ellipse(m, (int(cx + off * math.cos(t)), int(cy + off * math.sin(t))),
                        (int(a * rng.uniform(0.95, 1.05)), int(b * rng.uniform(0.95, 1.05))), ang, 0, 360, 0.0, -1, cv2.LINE_AA)
        else:  # curved band (arc of an ellipse)
            a0 = rng.uniform(0, 360)
            cv2.ellipse(m, (int(cx), int(cy)), (int(a), int(b)), ang, a0, a0 + rng.uniform(40, 200), 1.0,
                        int(rng.uniform(4, 30)), cv2.LINE_AA)
        m = cv2.GaussianBlur(m, (0, 0), rng.uniform(1.5, 12))
        img *= (1 - rng.uniform(0.25, 0.75) * m)[..., None]


# ----------------------------------------------------------------------------- camera
def lighting(rng, img):
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * math.pi)
    g = ((xx - w / 2) * math.cos(a) + (yy - h / 2) * math.sin(a)) / max(h, w)
    L = 1 + rng.uniform(0, 0.9) * g + rng.uniform(0, 0.25) * fbm(rng, h, w, (rng.uniform(150, 400),))
    r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
    L *= 1 - rng.uniform(0, 0.45) * r2  # vignetting
    L *= rng.uniform(0.55, 1.25)
    img *= np.clip(L, 0.1, 2.0)[..., None]
    img *= rng.uniform(0.85, 1.15, 3).astype(np.float32)  # colour cast


def perspective(rng, img, cov):
    h, w = img.shape[:2]
    d = rng.uniform(0.02, 0.10) * min(h, w)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-d, d, (4, 2)).astype(np.float32)
    # zoom in slightly so no border is empty
    c = dst.mean(0)
    dst = (dst - c) * 1.12 + c
    M = cv2.getPerspectiveTransform(src, dst)
    img = cv2.warpPerspective(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    cov = cv2.warpPerspective(cov, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return img, cov


def camera(rng, img, rscale=True):
    h, w = img.shape[:2]
    if rng.random() < 0.6:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.1))
    elif rng.random() < 0.1:
        k = rng.integers(3, 6)
        ker = np.zeros((k, k), np.float32)
        ker[k // 2, :] = 1.0 / k
        ker = cv2.warpAffine(ker, cv2.getRotationMatrix2D((k / 2 - .5, k / 2 - .5), rng.uniform(0, 180), 1), (k, k))
        img = cv2.filter2D(img, -1, ker / max(ker.sum(), 1e-6))
    if rscale and rng.random() < 0.15:
        f = rng.uniform(0.6, 0.9)
        img = cv2.resize(cv2.resize(img, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA), (w, h),
                         interpolation=cv2.INTER_LINEAR)
    # gamma / contrast / saturation
    img = np.clip(img, 0, 1) ** rng.uniform(0.75, 1.3)
    gray = lum(img)[..., None]
    img = gray + (img - gray) * rng.uniform(0.6, 1.4)
    sig = rng.uniform(0.003, 0.035)
    img = img + rng.normal(0, 1, img.shape).astype(np.float32) * (sig * np.sqrt(np.clip(img, 0.02, 1)) / 0.7)
    if rng.random() < 0.3:
        img += cv2.GaussianBlur(rng.normal(0, sig, img.shape).astype(np.float32), (0, 0), 1.0)
    out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.uniform(35, 95))])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(out)


# ----------------------------------------------------------------------------- sample
# ----------------------------------------------------------------------------- real photo backgrounds
PHOTO_BANK: list = []


def set_photo_dir(path):
    """Load crack-free real photographs (JPEG/PNG) as backgrounds for the `photo` surface kind."""
    PHOTO_BANK.clear()
    for n in sorted(os.listdir(path)):
        if n.lower().endswith((".jpg", ".jpeg", ".png")):
            im = cv2.imread(os.path.join(path, n), cv2.IMREAD_COLOR)
            if im is not None:
                PHOTO_BANK.append(im[..., ::-1].astype(np.float32) / 255.0)
    return len(PHOTO_BANK)


def photo_surface(rng, h, w):
    """A random view of a real photograph: scale, quarter turn, flip, crop, colour and tone changes."""
    src = PHOTO_BANK[rng.integers(len(PHOTO_BANK))]
    s = math.exp(rng.uniform(math.log(0.35), math.log(1.2)))
    need = max(h, w) / min(src.shape[:2])
    s = max(s, need * 1.02)
    im = cv2.resize(src, (int(src.shape[1] * s) + 1, int(src.shape[0] * s) + 1),
                    interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    im = np.rot90(im, int(rng.integers(4)))
    if rng.random() < 0.5:
        im = im[:, ::-1]
    y, x = int(rng.integers(0, im.shape[0] - h + 1)), int(rng.integers(0, im.shape[1] - w + 1))
    img = np.ascontiguousarray(im[y:y + h, x:x + w]) if im.shape[0] >= h and im.shape[1] >= w else \
        cv2.resize(np.ascontiguousarray(im), (w, h))
    if rng.random() < 0.4:
        g = lum(img)[..., None]
        a = rng.uniform(0.3, 1.0)
        img = img * (1 - a) + g * a
    img = img * rand_color(rng, (1.0, 1.0, 1.0), 0.08) * rng.uniform(0.7, 1.2)
    img = np.clip(img, 0, 1) ** rng.uniform(0.8, 1.25)
    sub = img.reshape(-1, 3).mean(0) * rng.uniform(0.7, 1.0)
    return img.astype(np.float32), np.asarray(sub, np.float32)


def make_sample(rng, h, w, kind=None, p_crack=0.85, cracks=None, cam=True, p_ss=0.2, hard4=0.0, photo=0.0,
                rough_crack=0.6, joint_crack=0.0, map_crack=0.0, faint=0.0):
    """hard4 > 0 (generator v4, training phase 3): that share of scenes is a rough/granular surface
    (ROUGH), and bright objects on dark ground and crescent shadows are added; hard4 = 0 draws
    exactly the v3 samples (validation set, CI fixture, demo frames). photo > 0 (generator v5): that
    share of scenes is a real crack-free photograph (set_photo_dir) with procedural cracks on it;
    rough_crack is the crack share on rough scenes. joint_crack > 0 (generator v6): that share of scenes
    is a brick wall at up to 2.5x the course height whose cracks follow the mortar (joint_cracks).
    map_crack > 0 (generator v7): that share of scenes is asphalt-like, render or concrete with map
    cracking (map_cracks); faint > 0: that share of cracked scenes that are not rough has faint
    cracks (apply_cracks; on grains they would be invisible, and a label on nothing teaches false marks).
    Each option draws no random number while it is 0, so earlier generators' samples are unchanged."""
    brick = None
    mapped = False
    if joint_crack > 0 and kind is None and rng.random() < joint_crack:
        kind, brick = "brick", {"scale": math.exp(rng.uniform(0, math.log(2.5)))}
    if map_crack > 0 and kind is None and rng.random() < map_crack:
        kind, mapped = MAP_SURFACES[rng.integers(len(MAP_SURFACES))], True
    if hard4 > 0 and kind is None and rng.random() < hard4:
        kind = ROUGH[rng.integers(len(ROUGH))]
    if photo > 0 and kind is None and PHOTO_BANK and rng.random() < photo:
        kind = "photo"
    kind = kind or SURFACES[rng.integers(len(SURFACES))]
    if kind in ROUGH:
        p_crack = min(p_crack, rough_crack)
    oh, ow = h, w
    ss = rng.random() < p_ss
    if ss:  # render 1.5x larger and area-downsample, like a high-resolution photo scaled down
        h, w = int(h * 1.5), int(w * 1.5)
    la = rng.uniform(0, 2 * math.pi)
    light = np.array([math.cos(la), math.sin(la)], np.float32)
    if kind == "photo":
        img, sub = photo_surface(rng, h, w)
    else:
        img, sub = rough_surface(rng, kind, h, w, light, fine=mapped) if kind in ROUGH else surface(rng, kind, h, w, light, brick)
    # under-layer negatives
    if rng.random() < 0.35:
        thin_lines(rng, img, rng.integers(1, 4))
    if rng.random() < 0.2 and kind not in ("paper", "silk"):
        brush_strokes(rng, img, rng.integers(1, 8), wmin=2, wmax=12, lmin=20, lmax=120)
    if rng.random() < 0.3:
        stains(rng, img, rng.integers(1, 3))
    if rng.random() < 0.2:
        dark_patches(rng, img, rng.integers(1, 4))
    if rng.random() < 0.12:
        printed_text(rng, img)
    has = (rng.random() < p_crack) if cracks is None else cracks
    cov = np.zeros((h, w), np.float32)
    if has:
        if mapped:
            c2 = map_cracks(rng, h, w)
        elif brick is None:
            c2 = render_cracks(rng, h, w, kind)
        else:
            c2 = joint_cracks(rng, brick, h, w)
            if rng.random() < 0.3:  # and one across the bricks
                crack_tree(rng, c2, (rng.uniform(0, w), rng.uniform(0, h)), rng.uniform(0, 2 * math.pi),
                           rng.uniform(0.2, 0.8) * max(h, w), math.exp(rng.uniform(0.2, 1.8)),
                           rng.uniform(0.0, 0.6), 0, "both")
        lab = apply_cracks(rng, img, c2, sub, light,
                           faint=faint > 0 and kind not in ROUGH and rng.random() < faint)
        cov = down2(c2)
    # over-layer negatives
    if rng.random() < 0.25:
        hairs(rng, img, rng.integers(1, 4))
    if rng.random() < 0.25:
        cast_shadow(rng, img)
    if rng.random() < 0.1:  # dark background around the object: no crack there
        bgm = dark_background(rng, img)
        cov = cov * (1 - bgm)
    if hard4 > 0:
        if rng.random() < 0.35 * hard4:  # bright objects on dark ground: no crack on the ground
            cov = cov * (1 - objects_on_dark(rng, img, light))
        if rng.random() < 0.6 * hard4:
            crescent_shadows(rng, img, rng.integers(1, 4))
    lighting(rng, img)
    if ss:
        img = cv2.resize(img, (ow, oh), interpolation=cv2.INTER_AREA)
        cov = cv2.resize(cov, (ow, oh), interpolation=cv2.INTER_AREA)
    if cam and rng.random() < 0.5:
        img, cov = perspective(rng, img, cov)
    label = (cov >= 0.45).astype(np.uint8)
    out = camera(rng, img) if cam else np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return out, label, {"kind": kind, "cracks": bool(has)}


if __name__ == "__main__":
    import sys
    import time
    rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    t = time.time()
    for i in range(20):
        make_sample(rng, 256, 256)
    print("ms/sample 256^2:", (time.time() - t) / 20 * 1000)
