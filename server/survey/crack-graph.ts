// Crack measurement for images too large for one buffer: the survey's mask is thinned block by
// block, the skeleton kept as a sparse point set, and cracks traced as polylines over it.
//
// Why this equals thinning the whole mask: Zhang–Suen is a parallel local operator, so a pixel's
// fate after k passes depends only on pixels within about 2k of it, and the number of passes is
// about half the widest crack. Each block is thinned with `margin` pixels of the mask around it
// and only skeleton pixels inside the block are kept; for cracks narrower than the margin the
// result is the whole-image result (test/survey-graph.test.ts checks it against analyzeMask's
// skeleton on one buffer). Staircases and spurs, whose clean-up in crack-measure.ts is
// sequential and so would depend on the block order, are handled on the global point set here.
//
// Widths: the distance transform d of each skeleton pixel (server/analysis/skeleton.ts) gives a
// local width 2·d − 1, the convention of crack-measure.ts (exact for odd widths, w − 1 for even
// widths on axis-aligned cracks).
import { distanceTransform, zhangSuen } from '../analysis/skeleton.js';

export interface SparseSkeleton {
  width: number;
  height: number;
  /** skeleton pixels as y·width + x, ascending */
  keys: Float64Array;
  /** distance transform at each skeleton pixel (same order as keys) */
  dist: Float32Array;
  /** mask pixels at or above the threshold */
  crackPixels: number;
}

export interface SkeletonOptions {
  /** probability threshold 0..1 */
  threshold: number;
  /** block side (default 2048) */
  block?: number;
  /** context around each block (default 64): must exceed the widest crack's half-width */
  margin?: number;
  signal?: AbortSignal;
  onBlock?: (done: number, total: number) => void;
}

/** Reads full-width rows [y, y + rows) of the mask. */
export type MaskRows = (y: number, rows: number) => Uint8Array | Promise<Uint8Array>;

/** Thins the mask block by block, reading one band of block rows (with its margins) at a time. */
export async function skeletonFromMask(readRows: MaskRows, width: number, height: number, opts: SkeletonOptions): Promise<SparseSkeleton> {
  const B = opts.block ?? 2048, M = opts.margin ?? 64;
  const cut = Math.ceil(opts.threshold * 255 - 1e-9);
  const keys: number[] = [];
  const dists: number[] = [];
  let crackPixels = 0;
  const total = Math.ceil(width / B) * Math.ceil(height / B);
  let done = 0;
  for (let by = 0; by < height; by += B) {
    opts.signal?.throwIfAborted();
    const ch = Math.min(B, height - by);
    const y0 = Math.max(0, by - M), y1 = Math.min(height, by + ch + M), bh = y1 - y0;
    const rows = await readRows(y0, bh);
    for (let bx = 0; bx < width; bx += B) {
      opts.signal?.throwIfAborted();
      const cw = Math.min(B, width - bx);
      const x0 = Math.max(0, bx - M), x1 = Math.min(width, bx + cw + M), bw = x1 - x0;
      // threshold into a padded grid (1-cell background ring), as crack-measure.ts does
      const pw = bw + 2, ph = bh + 2;
      const bin = new Uint8Array(pw * ph);
      const fg: number[] = [];
      for (let y = 0; y < bh; y++) {
        const row = y * width + x0, prow = (y + 1) * pw + 1;
        const inCoreY = y + y0 >= by && y + y0 < by + ch;
        for (let x = 0; x < bw; x++) {
          if (rows[row + x] >= cut) {
            bin[prow + x] = 1; fg.push(prow + x);
            if (inCoreY && x + x0 >= bx && x + x0 < bx + cw) crackPixels++;
          }
        }
      }
      if (fg.length > 0) {
        const dist = distanceTransform(bin, pw, ph);
        const skel = zhangSuen(bin, pw, fg);
        for (const p of skel) {
          const py = ((p / pw) | 0) - 1 + y0, px = (p % pw) - 1 + x0;
          if (px >= bx && px < bx + cw && py >= by && py < by + ch) { keys.push(py * width + px); dists.push(dist[p]); }
        }
      }
      opts.onBlock?.(++done, total);
    }
  }
  const order = Uint32Array.from(keys.keys()).sort((a, b) => keys[a] - keys[b]);
  return {
    width, height, crackPixels,
    keys: Float64Array.from(order, (i) => keys[i]),
    dist: Float32Array.from(order, (i) => dists[i]),
  };
}

export interface CrackBranch {
  /** "<crack>.<n>" */
  id: string;
  crack: number;
  /** polyline in image pixels (x, y), along the centre line, tip to tip */
  line: [number, number][];
  closed: boolean;
  length_px: number;
  mean_width_px: number;
  max_width_px: number;
}

export interface SurveyCrack {
  /** 1-based, longest first */
  id: number;
  length_px: number;
  /** length-weighted mean of its branches' mean widths */
  mean_width_px: number;
  max_width_px: number;
  branches: number;
  endpoints: number;
  bbox: { x: number; y: number; w: number; h: number };
}

export interface TraceOptions {
  /** cracks shorter than this are dropped as specks (default 20 px) */
  minLengthPx?: number;
  /** Douglas–Peucker tolerance for the polylines (default 0.5 px) */
  simplifyPx?: number;
}

/** half-window of the chain smoothing, in skeleton pixels */
const SMOOTH_K = 4;

const N8: [number, number][] = [[0, -1], [1, -1], [1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1]];

/** Neighbour links over the alive points: 4-neighbours always; a diagonal only when neither shared 4-neighbour is a point (no triangles, so staircases are chains). */
function adjacency(s: SparseSkeleton, alive: Uint8Array) {
  const { keys, width: W, height: H } = s;
  const n = keys.length;
  const find = (x: number, y: number): number => {
    if (x < 0 || y < 0 || x >= W || y >= H) return -1;
    const k = y * W + x;
    let lo = 0, hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1, v = keys[mid];
      if (v === k) return alive[mid] ? mid : -1;
      if (v < k) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  };
  const nbr = new Int32Array(n * 8).fill(-1);
  const deg = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!alive[i]) continue;
    const y = Math.floor(keys[i] / W), x = keys[i] - y * W;
    const at = N8.map(([dx, dy]) => find(x + dx, y + dy));
    for (let k = 0; k < 8; k++) {
      if (at[k] < 0) continue;
      // diagonal k (odd) sits between 4-neighbours k−1 and k+1
      if (k % 2 === 1 && (at[k - 1] >= 0 || at[(k + 1) % 8] >= 0)) continue;
      nbr[i * 8 + deg[i]++] = at[k];
    }
  }
  return { nbr, deg };
}

interface RawEdge { pts: number[]; closed: boolean }

/** Splits the point graph into edges between nodes (degree ≠ 2), plus closed rings. */
function traceEdges(n: number, alive: Uint8Array, nbr: Int32Array, deg: Uint8Array): RawEdge[] {
  const usedLink = new Uint8Array(n * 8);
  const seen = new Uint8Array(n);
  const edges: RawEdge[] = [];
  const markLink = (a: number, b: number) => {
    for (let k = 0; k < deg[a]; k++) if (nbr[a * 8 + k] === b) usedLink[a * 8 + k] = 1;
    for (let k = 0; k < deg[b]; k++) if (nbr[b * 8 + k] === a) usedLink[b * 8 + k] = 1;
  };
  const walk = (start: number, first: number): RawEdge => {
    const pts = [start];
    let prev = start, cur = first;
    markLink(start, first);
    while (deg[cur] === 2 && cur !== start) {
      pts.push(cur); seen[cur] = 1;
      const a = nbr[cur * 8], b = nbr[cur * 8 + 1];
      const next = a === prev ? b : a;
      markLink(cur, next);
      prev = cur; cur = next;
    }
    pts.push(cur);
    return { pts, closed: cur === start };
  };
  for (let i = 0; i < n; i++) {
    if (!alive[i] || deg[i] === 2) continue;
    seen[i] = 1;
    if (deg[i] === 0) { edges.push({ pts: [i], closed: false }); continue; }
    for (let k = 0; k < deg[i]; k++) if (!usedLink[i * 8 + k]) edges.push(walk(i, nbr[i * 8 + k]));
  }
  for (let i = 0; i < n; i++) {
    if (!alive[i] || seen[i]) continue;
    seen[i] = 1; // a ring with no node: start anywhere
    edges.push(walk(i, nbr[i * 8]));
  }
  return edges;
}

function simplify(pts: [number, number][], eps: number): [number, number][] {
  if (pts.length <= 2) return pts.slice();
  const keep = new Uint8Array(pts.length);
  keep[0] = keep[pts.length - 1] = 1;
  const stack: [number, number][] = [[0, pts.length - 1]];
  while (stack.length) {
    const [a, b] = stack.pop()!;
    const [ax, ay] = pts[a], [bx, by] = pts[b];
    const dx = bx - ax, dy = by - ay, len = Math.hypot(dx, dy);
    let best = -1, bestD = eps;
    for (let i = a + 1; i < b; i++) {
      const [px, py] = pts[i];
      const d = len > 0 ? Math.abs(dy * (px - ax) - dx * (py - ay)) / len : Math.hypot(px - ax, py - ay);
      if (d > bestD) { bestD = d; best = i; }
    }
    if (best > 0) { keep[best] = 1; stack.push([a, best], [best, b]); }
  }
  return pts.filter((_, i) => keep[i]);
}

/**
 * Moving average along the pixel chain (±k points, the window shrinking near the ends so the
 * ends stay put): takes out the ±½-pixel zigzag of a digital line, which would add several per
 * cent to the length of a curved crack, while bending a curve of radius R by only about k²/6R.
 */
function smooth(pts: [number, number][], k: number, closed: boolean): [number, number][] {
  const n = pts.length;
  if (n < 3 || k < 1) return pts;
  return pts.map((_, i) => {
    const h = closed ? Math.min(k, Math.floor((n - 1) / 2)) : Math.min(k, i, n - 1 - i);
    let sx = 0, sy = 0;
    for (let j = -h; j <= h; j++) { const q = pts[(i + j + n) % n]; sx += q[0]; sy += q[1]; }
    return [sx / (2 * h + 1), sy / (2 * h + 1)];
  });
}

const polyLength = (l: [number, number][]) => {
  let s = 0;
  for (let i = 1; i < l.length; i++) s += Math.hypot(l[i][0] - l[i - 1][0], l[i][1] - l[i - 1][1]);
  return s;
};

/** Traces the sparse skeleton into cracks (8-connected pieces) made of branches (junction to junction or tip). */
export function traceCracks(s: SparseSkeleton, opts: TraceOptions = {}): { cracks: SurveyCrack[]; branches: CrackBranch[] } {
  const minLength = opts.minLengthPx ?? 20, eps = opts.simplifyPx ?? 0.5;
  const n = s.keys.length, W = s.width;
  const alive = new Uint8Array(n).fill(1);
  const xy = (i: number): [number, number] => { const y = Math.floor(s.keys[i] / W); return [s.keys[i] - y * W, y]; };

  // spurs: a branch from a tip to a junction no longer than 1.5·d(junction) + 1 steps comes
  // from a jagged mask edge (crack-measure.ts's rule); one round, then the graph is rebuilt
  let { nbr, deg } = adjacency(s, alive);
  for (const e of traceEdges(n, alive, nbr, deg)) {
    if (e.closed || e.pts.length < 2) continue;
    const a = e.pts[0], b = e.pts[e.pts.length - 1];
    const tipA = deg[a] === 1, tipB = deg[b] === 1;
    if (tipA === tipB) continue;
    const junction = tipA ? b : a;
    if (deg[junction] >= 3 && e.pts.length - 1 <= 1.5 * s.dist[junction] + 1) for (const p of e.pts) if (p !== junction) alive[p] = 0;
  }
  ({ nbr, deg } = adjacency(s, alive));
  const edges = traceEdges(n, alive, nbr, deg);

  // pieces = connected components of the alive points
  const comp = new Int32Array(n).fill(-1);
  let nComp = 0;
  const stack: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!alive[i] || comp[i] >= 0) continue;
    comp[i] = nComp; stack.push(i);
    while (stack.length) {
      const p = stack.pop()!;
      for (let k = 0; k < deg[p]; k++) { const q = nbr[p * 8 + k]; if (comp[q] < 0) { comp[q] = nComp; stack.push(q); } }
    }
    nComp++;
  }

  interface Measured { comp: number; line: [number, number][]; closed: boolean; length: number; mean: number; max: number; tips: number }
  const measured: Measured[] = [];
  for (const e of edges) {
    const a = e.pts[0], b = e.pts[e.pts.length - 1];
    const tipA = deg[a] <= 1, tipB = deg[b] <= 1;
    // two junction pixels side by side: a link of about one pixel inside a junction, not a branch
    if (!e.closed && e.pts.length === 2 && !tipA && !tipB) continue;
    let line: [number, number][];
    if (e.closed && e.pts.length > 3) {
      const ring = smooth(e.pts.slice(0, -1).map(xy), SMOOTH_K, true);
      line = [...simplify(ring, eps), ring[0]];
    } else line = simplify(smooth(e.pts.map(xy), SMOOTH_K, false), eps);
    // thinning stops about half a width short of a tip: extend the line there by d − 0.5
    const extend = (end: 0 | 1, d: number) => {
      const ext = Math.max(0, d - 0.5);
      if (ext === 0) return;
      if (line.length === 1) { const [x, y] = line[0]; line = [[x - ext, y], [x + ext, y]]; return; }
      const [p, q] = end === 0 ? [line[0], line[1]] : [line[line.length - 1], line[line.length - 2]];
      const len = Math.hypot(p[0] - q[0], p[1] - q[1]) || 1;
      const np: [number, number] = [p[0] + ((p[0] - q[0]) / len) * ext, p[1] + ((p[1] - q[1]) / len) * ext];
      if (end === 0) line[0] = np; else line[line.length - 1] = np;
    };
    if (e.pts.length === 1) extend(0, s.dist[a]);
    else if (!e.closed) { if (tipA) extend(0, s.dist[a]); if (tipB) extend(1, s.dist[b]); }
    // widths along the branch; a junction pixel's distance belongs to the wider crack it joins
    const inner = e.pts.length >= 3 ? e.pts.slice(1, -1) : e.pts;
    let sum = 0, max = 0;
    for (const p of inner) { const w = Math.max(1, 2 * s.dist[p] - 1); sum += w; if (w > max) max = w; }
    measured.push({ comp: comp[a], line, closed: e.closed, length: polyLength(line), mean: sum / inner.length, max, tips: e.pts.length === 1 ? 2 : (tipA ? 1 : 0) + (tipB && !e.closed ? 1 : 0) });
  }

  // per piece; drop the short ones; number longest first
  const byComp = new Map<number, Measured[]>();
  for (const m of measured) { const l = byComp.get(m.comp); if (l) l.push(m); else byComp.set(m.comp, [m]); }
  const pieces = [...byComp.values()].map((bs) => ({ bs, length: bs.reduce((t, b) => t + b.length, 0) }))
    .filter((p) => p.length >= minLength)
    .sort((a, b) => b.length - a.length || a.bs[0].line[0][1] - b.bs[0].line[0][1] || a.bs[0].line[0][0] - b.bs[0].line[0][0]);
  const cracks: SurveyCrack[] = [];
  const branches: CrackBranch[] = [];
  pieces.forEach((p, i) => {
    const id = i + 1;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    p.bs.sort((a, b) => b.length - a.length);
    p.bs.forEach((b, j) => {
      for (const [x, y] of b.line) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
      branches.push({ id: `${id}.${j + 1}`, crack: id, line: b.line, closed: b.closed, length_px: b.length, mean_width_px: b.mean, max_width_px: b.max });
    });
    cracks.push({
      id, length_px: p.length,
      mean_width_px: p.bs.reduce((t, b) => t + b.mean * b.length, 0) / p.length,
      max_width_px: Math.max(...p.bs.map((b) => b.max)),
      branches: p.bs.length,
      endpoints: p.bs.reduce((t, b) => t + b.tips, 0),
      bbox: { x: Math.floor(x0), y: Math.floor(y0), w: Math.ceil(x1) - Math.floor(x0) + 1, h: Math.ceil(y1) - Math.floor(y0) + 1 },
    });
  });
  return { cracks, branches };
}
