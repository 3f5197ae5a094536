// Aligning two surveys of the same surface: a similarity transform (scale, rotation, shift) that
// takes survey B's image pixels to survey A's. Two ways, and the result says which was used:
//  - feature matching: ORB keypoints on the two overview pictures (OpenCV.js, WebAssembly, no
//    native build), ratio-tested Hamming matches, RANSAC over two-point similarity hypotheses,
//    least squares on the inliers; then refined at full resolution on the crack maps themselves
//    (iterated closest points between B's crack vertices and A's crack lines, most cracks being
//    unchanged between visits);
//  - point pairs given by the user (--points FILE: {"a": [[x, y], …], "b": [[x, y], …]}, image
//    pixels, at least two pairs): least squares, no refinement.
import { createRequire } from 'node:module';
import sharp from 'sharp';

export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
} // x' = a·x − b·y + tx, y' = b·x + a·y + ty

export const applySim = (t: Similarity, [x, y]: [number, number]): [number, number] => [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
export function invertSim(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d,
    b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}
export const simScale = (t: Similarity) => Math.hypot(t.a, t.b);
export const simAngleDeg = (t: Similarity) => (Math.atan2(t.b, t.a) * 180) / Math.PI;

/** Least-squares similarity taking src to dst (Umeyama without reflection). */
export function fitSimilarity(src: [number, number][], dst: [number, number][]): Similarity {
  const n = src.length;
  if (n < 2) throw new Error('at least two point pairs are needed');
  let sx = 0,
    sy = 0,
    dx = 0,
    dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i][0];
    sy += src[i][1];
    dx += dst[i][0];
    dy += dst[i][1];
  }
  sx /= n;
  sy /= n;
  dx /= n;
  dy /= n;
  let sab = 0,
    sa2 = 0,
    sc = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i][0] - sx,
      py = src[i][1] - sy,
      qx = dst[i][0] - dx,
      qy = dst[i][1] - dy;
    sab += px * qx + py * qy;
    sc += px * qy - py * qx;
    sa2 += px * px + py * py;
  }
  if (sa2 === 0) throw new Error('the points coincide');
  const a = sab / sa2,
    b = sc / sa2;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

const rms = (t: Similarity, src: [number, number][], dst: [number, number][]) =>
  Math.sqrt(
    src.reduce((s, p, i) => {
      const q = applySim(t, p);
      return s + (q[0] - dst[i][0]) ** 2 + (q[1] - dst[i][1]) ** 2;
    }, 0) / Math.max(1, src.length),
  );

export interface Alignment {
  method: 'feature-matching' | 'point-pairs';
  transform: Similarity;
  scale: number;
  rotation_deg: number;
  /** matches (feature matching) or pairs that agree with the transform */
  inliers: number;
  matches: number;
  /** residual of those, in A's image pixels */
  rms_px: number;
  refined?: { pairs: number; rms_px: number };
}

// OpenCV.js's module object is a thenable that resolves to itself: it is handed around in a
// wrapper, since returning or awaiting it directly would never settle.
let cvPromise: Promise<{ cv: any }> | null = null;
function loadCv(): Promise<{ cv: any }> {
  cvPromise ??= new Promise((resolve) => {
    const cv = createRequire(import.meta.url)('@techstark/opencv-js');
    if (cv.Mat) resolve({ cv });
    else cv.onRuntimeInitialized = () => resolve({ cv });
  });
  return cvPromise;
}

async function orb(cv: any, file: string, nfeatures: number) {
  const { data, info } = await sharp(file).greyscale().raw().toBuffer({ resolveWithObject: true });
  const mat = cv.matFromArray(info.height, info.width, cv.CV_8UC1, data);
  const det = new cv.ORB(nfeatures);
  const kp = new cv.KeyPointVector(),
    des = new cv.Mat(),
    none = new cv.Mat();
  try {
    det.detectAndCompute(mat, none, kp, des);
    const pts: [number, number][] = [];
    for (let i = 0; i < kp.size(); i++) {
      const k = kp.get(i);
      pts.push([k.pt.x, k.pt.y]);
    }
    return { pts, des, width: info.width };
  } finally {
    mat.delete();
    det.delete();
    kp.delete();
    none.delete();
  }
}

/** Matches B's overview to A's; points are returned in each survey's full-resolution pixels. */
export async function alignByFeatures(a: { overview: string; width: number }, b: { overview: string; width: number }, seed = 1): Promise<Alignment> {
  const { cv } = await loadCv();
  const fa = await orb(cv, a.overview, 4000),
    fb = await orb(cv, b.overview, 4000);
  const ka = a.width / fa.width,
    kb = b.width / fb.width; // full-res px per overview px
  const src: [number, number][] = [],
    dst: [number, number][] = [];
  const bf = new cv.BFMatcher(cv.NORM_HAMMING, false);
  const knn = new cv.DMatchVectorVector();
  try {
    if (fa.des.rows > 1 && fb.des.rows > 1) bf.knnMatch(fb.des, fa.des, knn, 2);
    for (let i = 0; i < knn.size(); i++) {
      const m = knn.get(i);
      if (m.size() < 2) continue;
      const m0 = m.get(0),
        m1 = m.get(1);
      if (m0.distance < 0.8 * m1.distance) {
        const p = fb.pts[m0.queryIdx],
          q = fa.pts[m0.trainIdx];
        src.push([p[0] * kb, p[1] * kb]);
        dst.push([q[0] * ka, q[1] * ka]);
      }
    }
  } finally {
    bf.delete();
    knn.delete();
    fa.des.delete();
    fb.des.delete();
  }
  if (src.length < 6) throw new Error(`feature matching found only ${src.length} matches between the overviews; give point pairs with --points`);
  // RANSAC over two-point similarities (deterministic PRNG, so a rerun gives the same answer)
  const tol = 3 * ka;
  let state = seed >>> 0;
  const rnd = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
  let best: number[] = [];
  for (let it = 0; it < 2000; it++) {
    const i = Math.floor(rnd() * src.length),
      j = Math.floor(rnd() * src.length);
    if (i === j) continue;
    let t: Similarity;
    try {
      t = fitSimilarity([src[i], src[j]], [dst[i], dst[j]]);
    } catch {
      continue;
    }
    const s = simScale(t);
    if (s < 0.5 || s > 2) continue;
    const inl: number[] = [];
    for (let k = 0; k < src.length; k++) {
      const q = applySim(t, src[k]);
      if (Math.hypot(q[0] - dst[k][0], q[1] - dst[k][1]) < tol) inl.push(k);
    }
    if (inl.length > best.length) best = inl;
  }
  if (best.length < 6) throw new Error(`feature matching: only ${best.length} of ${src.length} matches agree on one transform; give point pairs with --points`);
  let t = fitSimilarity(
    best.map((k) => src[k]),
    best.map((k) => dst[k]),
  );
  const inl = src
    .map((_, k) => k)
    .filter((k) => {
      const q = applySim(t, src[k]);
      return Math.hypot(q[0] - dst[k][0], q[1] - dst[k][1]) < tol;
    });
  t = fitSimilarity(
    inl.map((k) => src[k]),
    inl.map((k) => dst[k]),
  );
  return {
    method: 'feature-matching',
    transform: t,
    scale: simScale(t),
    rotation_deg: simAngleDeg(t),
    inliers: inl.length,
    matches: src.length,
    rms_px: rms(
      t,
      inl.map((k) => src[k]),
      inl.map((k) => dst[k]),
    ),
  };
}

export function alignByPoints(pairs: { a: [number, number][]; b: [number, number][] }): Alignment {
  if (!Array.isArray(pairs.a) || !Array.isArray(pairs.b) || pairs.a.length !== pairs.b.length)
    throw new Error('points: "a" and "b" must be lists of the same length');
  const ok = (p: unknown) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!pairs.a.every(ok) || !pairs.b.every(ok)) throw new Error('points: every point is [x, y] in image pixels');
  const t = fitSimilarity(pairs.b, pairs.a);
  return {
    method: 'point-pairs',
    transform: t,
    scale: simScale(t),
    rotation_deg: simAngleDeg(t),
    inliers: pairs.a.length,
    matches: pairs.a.length,
    rms_px: rms(t, pairs.b, pairs.a),
  };
}

/** A grid index over polyline segments, for nearest-line queries. */
export class SegmentIndex {
  private cells = new Map<number, number[]>();
  private segs: [number, number, number, number, number][] = []; // x0, y0, x1, y1, owner
  constructor(private readonly cell = 32) {}
  add(line: [number, number][], owner: number): void {
    for (let i = 1; i < line.length; i++) {
      const s = this.segs.length;
      const [x0, y0] = line[i - 1],
        [x1, y1] = line[i];
      this.segs.push([x0, y0, x1, y1, owner]);
      const c = this.cell;
      for (let cy = Math.floor(Math.min(y0, y1) / c); cy <= Math.floor(Math.max(y0, y1) / c); cy++) {
        for (let cx = Math.floor(Math.min(x0, x1) / c); cx <= Math.floor(Math.max(x0, x1) / c); cx++) {
          const k = cy * 1_000_003 + cx;
          const l = this.cells.get(k);
          if (l) l.push(s);
          else this.cells.set(k, [s]);
        }
      }
    }
  }
  /** nearest point on any segment within `within` px: distance, owner and the point */
  nearest(x: number, y: number, within: number): { d: number; owner: number; p: [number, number] } | null {
    const c = this.cell,
      r = Math.ceil(within / c);
    const cx0 = Math.floor(x / c),
      cy0 = Math.floor(y / c);
    let best: { d: number; owner: number; p: [number, number] } | null = null;
    const seen = new Set<number>();
    for (let cy = cy0 - r; cy <= cy0 + r; cy++)
      for (let cx = cx0 - r; cx <= cx0 + r; cx++) {
        for (const s of this.cells.get(cy * 1_000_003 + cx) ?? []) {
          if (seen.has(s)) continue;
          seen.add(s);
          const [x0, y0, x1, y1, owner] = this.segs[s];
          const dx = x1 - x0,
            dy = y1 - y0,
            l2 = dx * dx + dy * dy;
          const u = l2 ? Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / l2)) : 0;
          const px = x0 + u * dx,
            py = y0 + u * dy,
            d = Math.hypot(x - px, y - py);
          if (d <= within && (!best || d < best.d)) best = { d, owner, p: [px, py] };
        }
      }
    return best;
  }
}

/** Iterated closest points on the crack maps: B's vertices (already roughly aligned by t) to A's lines. */
export function refineOnCracks(
  t: Similarity,
  linesA: [number, number][][],
  linesB: [number, number][][],
  radius = 12,
  rounds = 6,
): { transform: Similarity; pairs: number; rms_px: number } {
  const idx = new SegmentIndex();
  linesA.forEach((l, i) => idx.add(l, i));
  const ptsB = linesB.flatMap((l) => l);
  let cur = t,
    pairs = 0,
    r = Infinity;
  for (let k = 0; k < rounds; k++) {
    const src: [number, number][] = [],
      dst: [number, number][] = [];
    for (const p of ptsB) {
      const n = idx.nearest(...applySim(cur, p), k === 0 ? radius : Math.max(3, radius / 2));
      if (n) {
        src.push(p);
        dst.push(n.p);
      }
    }
    if (src.length < 10) break;
    cur = fitSimilarity(src, dst);
    pairs = src.length;
    r = rms(cur, src, dst);
  }
  return { transform: cur, pairs, rms_px: Number.isFinite(r) ? r : 0 };
}
