// Crack identity on a skeleton: one crack is one crack.
//
// Input: the centre-line pixels of the crack mask (a sparse, sorted point set with each point's
// distance to the crack's edge), from analyzeMask (one frame, a capture, a still image) or from the
// survey's block-wise thinning (a whole wall). Output: cracks made of branches, each branch a
// sub-pixel polyline, and the bridges that join pieces of one crack across a faint stretch.
// The same code runs for the live analysis, captures, `infer`, `survey` and (through the survey's
// maps) `survey-diff`, so a crack has the same identity everywhere. The steps and the measured
// defaults are written down in server/analysis/README.md ("Crack identity").
//
// 1. Pieces: 8-connected pieces of the skeleton (4-neighbours always link, a diagonal only when no
//    shared 4-neighbour does, so a staircase is a chain). A piece with no seed point (hysteresis:
//    no pixel at or above the crack threshold in its mask component) is dropped.
// 2. Branches: the piece's graph split at junctions and tips; spurs (tip → junction no longer than
//    1.5·d(junction) + 1) pruned; each branch smoothed (±4 px moving average) and simplified
//    (Douglas–Peucker 0.5 px); tips extended by d − 0.5 (thinning stops half a width short).
// 3. Bridges: two tips of different pieces are joined when they are at most `maxGapPx` apart, the
//    bridge runs within `maxGapAngleDeg` of the direction each tip points in (or, turning more, the
//    other tip lies ahead within `gapLateralWidths` crack widths of the tip's line), and the mean crack
//    probability along it is at least `bridgeMinProb` (the faint stretch is still faintly there).
//    Greedy, shortest and straightest first, each tip used once, never closing a loop.
// 4. Cracks: pieces joined by bridges; a crack whose drawn (not bridged) length is below
//    `minLengthPx` is a speck and dropped. Length = drawn length + bridged length; the bridged part
//    is reported as inferred.
import type { CrackBridge } from '../protocol/analysis-report.js';

export type { CrackBridge };

export interface SparseSkeleton {
  width: number;
  height: number;
  /** skeleton pixels as y·width + x, ascending */
  keys: Float64Array;
  /** distance transform at each skeleton pixel (same order as keys) */
  dist: Float32Array;
  /** mask pixels at or above the threshold */
  crackPixels: number;
  /** 1 where the point's mask component holds a seed (a pixel ≥ the crack threshold); absent = all seeded */
  seed?: Uint8Array;
}

/** The limits of crack identity, each a named setting (README: "Crack identity", how each default was measured). */
export interface IdentitySettings {
  /** a crack whose drawn centre line (bridges not counted) is shorter is a speck */
  minLengthPx: number;
  /** the longest gap between two centre-line ends that may be bridged */
  maxGapPx: number;
  /** how far the bridge may turn away from the direction each end points in */
  maxGapAngleDeg: number;
  /** the mean crack probability (0..1) the bridge must cross: a faint stretch, not bare wall */
  bridgeMinProb: number;
  /**
   * a bridge that turns more than maxGapAngleDeg is still taken when the other end lies within this
   * many crack widths of the line an end points along: the direction of a wide crack's end is only
   * known to about its width (0 = the angle alone decides)
   */
  gapLateralWidths: number;
}

export const IDENTITY_DEFAULTS: IdentitySettings = { minLengthPx: 40, maxGapPx: 50, maxGapAngleDeg: 40, bridgeMinProb: 0.1, gapLateralWidths: 1 };

export interface TraceOptions extends Partial<IdentitySettings> {
  /** Douglas–Peucker tolerance for the polylines (default 0.5 px) */
  simplifyPx?: number;
  /** crack probability × 255 at a pixel, for the bridge test; without it that test is skipped */
  probAt?: (x: number, y: number) => number;
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
  /** drawn length + bridged (inferred) length */
  length_px: number;
  /** the bridged part of length_px */
  inferred_length_px: number;
  bridges: number;
  /** length-weighted mean of its branches' mean widths */
  mean_width_px: number;
  max_width_px: number;
  branches: number;
  endpoints: number;
  bbox: { x: number; y: number; w: number; h: number };
}

export interface TraceResult {
  cracks: SurveyCrack[];
  branches: CrackBranch[];
  bridges: CrackBridge[];
  /** crack id (1-based) of each skeleton point, 0 = dropped (unseeded, spur, or part of a speck) */
  pointCrack: Int32Array;
}

/** half-window of the chain smoothing, in skeleton pixels */
const SMOOTH_K = 4;
/** how far back from a tip its direction is taken: this, or two crack widths when wider */
const DIR_PX = 10;
/** a branch shorter than this gives its tip no direction */
const MIN_DIR_PX = 4;
/** ends this close are joined whatever their directions */
const TOUCH_PX = 2.5;

const N8: [number, number][] = [
  [0, -1],
  [1, -1],
  [1, 0],
  [1, 1],
  [0, 1],
  [-1, 1],
  [-1, 0],
  [-1, -1],
];

/** Index of each point by pixel: a dense grid up to this many pixels (a frame, a photo), else binary search (a survey). */
const DENSE_INDEX_MAX = 8_000_000;

/** Neighbour links over the alive points: 4-neighbours always; a diagonal only when neither shared 4-neighbour is a point (no triangles, so staircases are chains). */
function adjacency(s: SparseSkeleton, alive: Uint8Array, dense: Int32Array | null) {
  const { keys, width: W, height: H } = s;
  const n = keys.length;
  const find = dense
    ? (x: number, y: number): number => {
        if (x < 0 || y < 0 || x >= W || y >= H) return -1;
        const i = dense[y * W + x];
        return i >= 0 && alive[i] ? i : -1;
      }
    : (x: number, y: number): number => {
        if (x < 0 || y < 0 || x >= W || y >= H) return -1;
        const k = y * W + x;
        let lo = 0,
          hi = n - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1,
            v = keys[mid];
          if (v === k) return alive[mid] ? mid : -1;
          if (v < k) lo = mid + 1;
          else hi = mid - 1;
        }
        return -1;
      };
  const nbr = new Int32Array(n * 8).fill(-1);
  const deg = new Uint8Array(n);
  const at = new Int32Array(8);
  for (let i = 0; i < n; i++) {
    if (!alive[i]) continue;
    const y = Math.floor(keys[i] / W),
      x = keys[i] - y * W;
    for (let k = 0; k < 8; k++) at[k] = find(x + N8[k][0], y + N8[k][1]);
    for (let k = 0; k < 8; k++) {
      if (at[k] < 0) continue;
      // diagonal k (odd) sits between 4-neighbours k−1 and k+1
      if (k % 2 === 1 && (at[k - 1] >= 0 || at[(k + 1) % 8] >= 0)) continue;
      nbr[i * 8 + deg[i]++] = at[k];
    }
  }
  return { nbr, deg };
}

interface RawEdge {
  pts: number[];
  closed: boolean;
}

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
    let prev = start,
      cur = first;
    markLink(start, first);
    while (deg[cur] === 2 && cur !== start) {
      pts.push(cur);
      seen[cur] = 1;
      const a = nbr[cur * 8],
        b = nbr[cur * 8 + 1];
      const next = a === prev ? b : a;
      markLink(cur, next);
      prev = cur;
      cur = next;
    }
    pts.push(cur);
    return { pts, closed: cur === start };
  };
  for (let i = 0; i < n; i++) {
    if (!alive[i] || deg[i] === 2) continue;
    seen[i] = 1;
    if (deg[i] === 0) {
      edges.push({ pts: [i], closed: false });
      continue;
    }
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
    const [ax, ay] = pts[a],
      [bx, by] = pts[b];
    const dx = bx - ax,
      dy = by - ay,
      len = Math.hypot(dx, dy);
    let best = -1,
      bestD = eps;
    for (let i = a + 1; i < b; i++) {
      const [px, py] = pts[i];
      const d = len > 0 ? Math.abs(dy * (px - ax) - dx * (py - ay)) / len : Math.hypot(px - ax, py - ay);
      if (d > bestD) {
        bestD = d;
        best = i;
      }
    }
    if (best > 0) {
      keep[best] = 1;
      stack.push([a, best], [best, b]);
    }
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
    let sx = 0,
      sy = 0;
    for (let j = -h; j <= h; j++) {
      const q = pts[(i + j + n) % n];
      sx += q[0];
      sy += q[1];
    }
    return [sx / (2 * h + 1), sy / (2 * h + 1)];
  });
}

export const polyLength = (l: [number, number][]) => {
  let s = 0;
  for (let i = 1; i < l.length; i++) s += Math.hypot(l[i][0] - l[i - 1][0], l[i][1] - l[i - 1][1]);
  return s;
};

/** Unit direction a polyline's end points in (from about `back` px back along it), or null when too short. */
function endDirection(line: [number, number][], end: 0 | 1, backPx: number): [number, number] | null {
  const n = line.length;
  if (n < 2) return null;
  const tip = end === 0 ? line[0] : line[n - 1];
  let acc = 0,
    back = tip;
  for (let k = 1; k < n; k++) {
    const p = end === 0 ? line[k] : line[n - 1 - k],
      q = end === 0 ? line[k - 1] : line[n - k];
    acc += Math.hypot(p[0] - q[0], p[1] - q[1]);
    back = p;
    if (acc >= backPx) break;
  }
  if (acc < MIN_DIR_PX) return null;
  const dx = tip[0] - back[0],
    dy = tip[1] - back[1],
    l = Math.hypot(dx, dy) || 1;
  return [dx / l, dy / l];
}

/** Traces the skeleton into cracks: pieces, branches, bridges over faint gaps, specks dropped (see the file's header). */
export function traceCracks(s: SparseSkeleton, opts: TraceOptions = {}): TraceResult {
  const set: IdentitySettings = {
    minLengthPx: opts.minLengthPx ?? IDENTITY_DEFAULTS.minLengthPx,
    maxGapPx: opts.maxGapPx ?? IDENTITY_DEFAULTS.maxGapPx,
    maxGapAngleDeg: opts.maxGapAngleDeg ?? IDENTITY_DEFAULTS.maxGapAngleDeg,
    bridgeMinProb: opts.bridgeMinProb ?? IDENTITY_DEFAULTS.bridgeMinProb,
    gapLateralWidths: opts.gapLateralWidths ?? IDENTITY_DEFAULTS.gapLateralWidths,
  };
  const eps = opts.simplifyPx ?? 0.5;
  const n = s.keys.length,
    W = s.width;
  const alive = new Uint8Array(n).fill(1);
  const xy = (i: number): [number, number] => {
    const y = Math.floor(s.keys[i] / W);
    return [s.keys[i] - y * W, y];
  };

  // spurs: a branch from a tip to a junction no longer than 1.5·d(junction) + 1 steps comes
  // from a jagged mask edge (crack-measure.ts's rule); one round, then the graph is rebuilt
  let dense: Int32Array | null = null;
  if (s.width * s.height <= DENSE_INDEX_MAX && n > 0) {
    dense = new Int32Array(s.width * s.height).fill(-1);
    for (let i = 0; i < n; i++) dense[s.keys[i]] = i;
  }
  let { nbr, deg } = adjacency(s, alive, dense);
  let pruned = false;
  for (const e of traceEdges(n, alive, nbr, deg)) {
    if (e.closed || e.pts.length < 2) continue;
    const a = e.pts[0],
      b = e.pts[e.pts.length - 1];
    const tipA = deg[a] === 1,
      tipB = deg[b] === 1;
    if (tipA === tipB) continue;
    const junction = tipA ? b : a;
    if (deg[junction] >= 3 && e.pts.length - 1 <= 1.5 * s.dist[junction] + 1)
      for (const p of e.pts)
        if (p !== junction) {
          alive[p] = 0;
          pruned = true;
        }
  }
  if (pruned) ({ nbr, deg } = adjacency(s, alive, dense));

  // pieces = connected components of the alive points; hysteresis: a piece needs a seed point
  const comp = new Int32Array(n).fill(-1);
  const seeded: boolean[] = [];
  const stack: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!alive[i] || comp[i] >= 0) continue;
    const c = seeded.length;
    let seed = !s.seed;
    comp[i] = c;
    stack.push(i);
    while (stack.length) {
      const p = stack.pop()!;
      if (!seed && s.seed![p]) seed = true;
      for (let k = 0; k < deg[p]; k++) {
        const q = nbr[p * 8 + k];
        if (comp[q] < 0) {
          comp[q] = c;
          stack.push(q);
        }
      }
    }
    seeded.push(seed);
  }
  if (s.seed) {
    let dropped = false;
    for (let i = 0; i < n; i++)
      if (alive[i] && !seeded[comp[i]]) {
        alive[i] = 0;
        dropped = true;
      }
    if (dropped) ({ nbr, deg } = adjacency(s, alive, dense));
  }
  const edges = traceEdges(n, alive, nbr, deg);
  const nPieces = seeded.length;

  interface Measured {
    comp: number;
    pts: number[];
    line: [number, number][];
    closed: boolean;
    length: number;
    mean: number;
    max: number;
    tips: number;
  }
  interface Tip {
    piece: number;
    at: [number, number];
    dir: [number, number] | null;
    width: number;
  }
  const measured: Measured[] = [];
  const tips: Tip[] = [];
  for (const e of edges) {
    const a = e.pts[0],
      b = e.pts[e.pts.length - 1];
    const tipA = deg[a] <= 1,
      tipB = deg[b] <= 1;
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
      if (line.length === 1) {
        const [x, y] = line[0];
        line = [
          [x - ext, y],
          [x + ext, y],
        ];
        return;
      }
      const [p, q] = end === 0 ? [line[0], line[1]] : [line[line.length - 1], line[line.length - 2]];
      const len = Math.hypot(p[0] - q[0], p[1] - q[1]) || 1;
      const np: [number, number] = [p[0] + ((p[0] - q[0]) / len) * ext, p[1] + ((p[1] - q[1]) / len) * ext];
      if (end === 0) line[0] = np;
      else line[line.length - 1] = np;
    };
    if (e.pts.length === 1) extend(0, s.dist[a]);
    else if (!e.closed) {
      if (tipA) extend(0, s.dist[a]);
      if (tipB) extend(1, s.dist[b]);
    }
    // widths along the branch; a junction pixel's distance belongs to the wider crack it joins
    const inner = e.pts.length >= 3 ? e.pts.slice(1, -1) : e.pts;
    let sum = 0,
      max = 0;
    for (const p of inner) {
      const w = Math.max(1, 2 * s.dist[p] - 1);
      sum += w;
      if (w > max) max = w;
    }
    const m: Measured = {
      comp: comp[a],
      pts: e.pts,
      line,
      closed: e.closed,
      length: polyLength(line),
      mean: sum / inner.length,
      max,
      tips: e.pts.length === 1 ? 2 : (tipA ? 1 : 0) + (tipB && !e.closed ? 1 : 0),
    };
    measured.push(m);
    if (e.pts.length === 1) {
      const c = xy(a);
      tips.push({ piece: m.comp, at: [c[0] + 0.5, c[1] + 0.5], dir: null, width: Math.max(1, 2 * s.dist[a] - 1) });
    } else if (!e.closed) {
      const at = (p: [number, number]): [number, number] => [p[0] + 0.5, p[1] + 0.5];
      // a tip's width: the branch's mean (the tip pixel itself sits in the rounded end)
      if (tipA) tips.push({ piece: m.comp, at: at(line[0]), dir: endDirection(line, 0, Math.max(DIR_PX, 2 * m.mean)), width: m.mean });
      if (tipB) tips.push({ piece: m.comp, at: at(line[line.length - 1]), dir: endDirection(line, 1, Math.max(DIR_PX, 2 * m.mean)), width: m.mean });
    }
  }

  // ---- bridges: tip pairs of different pieces, greedy (shortest, straightest first) -------------
  const parent = Int32Array.from({ length: nPieces }, (_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const cosMax = Math.cos((set.maxGapAngleDeg * Math.PI) / 180);
  // typed arrays and a counting-sorted cell grid: a frame of noisy masks holds thousands of tips
  const nt = tips.length;
  const TX = new Float64Array(nt),
    TY = new Float64Array(nt),
    DX = new Float64Array(nt),
    DY = new Float64Array(nt);
  const HAS = new Uint8Array(nt),
    PIECE = new Int32Array(nt),
    TW = new Float64Array(nt);
  tips.forEach((t, i) => {
    TX[i] = t.at[0];
    TY[i] = t.at[1];
    PIECE[i] = t.piece;
    TW[i] = t.width;
    if (t.dir) {
      HAS[i] = 1;
      DX[i] = t.dir[0];
      DY[i] = t.dir[1];
    }
  });
  const pa: number[] = [],
    pb: number[] = [],
    pcost: number[] = [],
    pd: number[] = [],
    pprob: (number | null)[] = [];
  if (set.maxGapPx > 0 && nt > 1) {
    const cell = Math.max(1, set.maxGapPx),
      max2 = set.maxGapPx * set.maxGapPx;
    const gw = Math.ceil(s.width / cell) + 2,
      gh = Math.ceil(s.height / cell) + 2;
    const cellIdx = new Int32Array(nt);
    const start = new Int32Array(gw * gh + 1);
    for (let i = 0; i < nt; i++) {
      cellIdx[i] = (Math.floor(TY[i] / cell) + 1) * gw + Math.floor(TX[i] / cell) + 1;
      start[cellIdx[i] + 1]++;
    }
    for (let c = 0; c < gw * gh; c++) start[c + 1] += start[c];
    const items = new Int32Array(nt),
      fill = start.slice(0, gw * gh);
    for (let i = 0; i < nt; i++) items[fill[cellIdx[i]]++] = i;
    for (let i = 0; i < nt; i++) {
      const c0 = cellIdx[i];
      for (let oy = -gw; oy <= gw; oy += gw)
        for (let ox = -1; ox <= 1; ox++) {
          const c = c0 + oy + ox;
          if (c < 0 || c >= gw * gh) continue;
          for (let q = start[c], qe = start[c + 1]; q < qe; q++) {
            const j = items[q];
            if (j <= i || PIECE[j] === PIECE[i]) continue;
            const dx = TX[j] - TX[i],
              dy = TY[j] - TY[i],
              d2 = dx * dx + dy * dy;
            if (d2 > max2) continue;
            const d = Math.sqrt(d2);
            let cost = d;
            if (d > TOUCH_PX) {
              if (!HAS[i] && !HAS[j]) continue;
              const vx = dx / d,
                vy = dy / d;
              const ci = HAS[i] ? DX[i] * vx + DY[i] * vy : 1,
                cj = HAS[j] ? -(DX[j] * vx + DY[j] * vy) : 1;
              // within the angle, or (ahead, and) within gapLateralWidths crack widths of the end's line
              const lat = set.gapLateralWidths * Math.max(TW[i], TW[j]);
              const okI = ci >= cosMax || (ci > 0 && d * Math.sqrt(1 - ci * ci) <= lat);
              const okJ = cj >= cosMax || (cj > 0 && d * Math.sqrt(1 - cj * cj) <= lat);
              if (!okI || !okJ) continue;
              cost = d * (1 + (1 - ci) + (1 - cj));
            }
            let prob: number | null = null;
            if (opts.probAt && d > 1) {
              const steps = Math.max(1, Math.round(d));
              let sum = 0,
                k = 0;
              for (let t = 1; t < steps; t++, k++) sum += opts.probAt(Math.floor(TX[i] + (dx * t) / steps), Math.floor(TY[i] + (dy * t) / steps));
              prob = k > 0 ? sum / k / 255 : null;
              if (prob !== null && prob < set.bridgeMinProb) continue;
            }
            pa.push(i);
            pb.push(j);
            pcost.push(cost);
            pd.push(d);
            pprob.push(prob);
          }
        }
    }
  }
  const order = Uint32Array.from(pa.keys()).sort((x, y) => pcost[x] - pcost[y]);
  const tipUsed = new Uint8Array(nt);
  const accepted: { a: number; b: number; d: number; prob: number | null }[] = [];
  for (const k of order) {
    const a = pa[k],
      b = pb[k];
    if (tipUsed[a] || tipUsed[b]) continue;
    const ra = root(PIECE[a]),
      rb = root(PIECE[b]);
    if (ra === rb) continue; // never close a loop
    parent[ra] = rb;
    tipUsed[a] = tipUsed[b] = 1;
    accepted.push({ a, b, d: pd[k], prob: pprob[k] });
  }

  // ---- cracks: joined pieces; specks dropped; numbered longest first ------------------------------
  const groups = new Map<number, { bs: Measured[]; bridges: typeof accepted; drawn: number; bridged: number }>();
  const groupOf = (r: number) => {
    let g = groups.get(r);
    if (!g) {
      g = { bs: [], bridges: [], drawn: 0, bridged: 0 };
      groups.set(r, g);
    }
    return g;
  };
  for (const m of measured) {
    const g = groupOf(root(m.comp));
    g.bs.push(m);
    g.drawn += m.length;
  }
  for (const b of accepted) {
    const g = groupOf(root(tips[b.a].piece));
    g.bridges.push(b);
    g.bridged += b.d;
  }
  const kept = [...groups.values()]
    .filter((g) => g.bs.length > 0 && g.drawn >= set.minLengthPx)
    .sort((a, b) => b.drawn + b.bridged - (a.drawn + a.bridged) || a.bs[0].line[0][1] - b.bs[0].line[0][1] || a.bs[0].line[0][0] - b.bs[0].line[0][0]);
  const cracks: SurveyCrack[] = [];
  const branches: CrackBranch[] = [];
  const bridges: CrackBridge[] = [];
  const pointCrack = new Int32Array(n);
  kept.forEach((g, i) => {
    const id = i + 1;
    let x0 = Infinity,
      y0 = Infinity,
      x1 = -Infinity,
      y1 = -Infinity;
    g.bs.sort((a, b) => b.length - a.length);
    g.bs.forEach((b, j) => {
      for (const [x, y] of b.line) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
      for (const p of b.pts) pointCrack[p] = id;
      branches.push({ id: `${id}.${j + 1}`, crack: id, line: b.line, closed: b.closed, length_px: b.length, mean_width_px: b.mean, max_width_px: b.max });
    });
    for (const b of g.bridges) {
      const from = tips[b.a].at,
        to = tips[b.b].at;
      bridges.push({
        crack: id,
        line: [
          [from[0] - 0.5, from[1] - 0.5],
          [to[0] - 0.5, to[1] - 0.5],
        ],
        length_px: b.d,
        mean_prob: b.prob,
      });
    }
    cracks.push({
      id,
      length_px: g.drawn + g.bridged,
      inferred_length_px: g.bridged,
      bridges: g.bridges.length,
      mean_width_px: g.drawn > 0 ? g.bs.reduce((t, b) => t + b.mean * b.length, 0) / g.drawn : 1,
      max_width_px: Math.max(...g.bs.map((b) => b.max)),
      branches: g.bs.length,
      endpoints: g.bs.reduce((t, b) => t + b.tips, 0) - 2 * g.bridges.length,
      bbox: { x: Math.floor(x0), y: Math.floor(y0), w: Math.ceil(x1) - Math.floor(x0) + 1, h: Math.ceil(y1) - Math.floor(y0) + 1 },
    });
  });
  return { cracks, branches, bridges, pointCrack };
}
