// Crack measurement on a probability mask: components, skeleton length and widths.
// How the numbers are defined is written down in server/analysis/README.md; keep the two in step.
//
// Runs off the hot path (a frozen frame, a capture, a still image): plain typed-array loops,
// O(pixels) plus O(crack pixels × small constant).
import { countNeighbours, distanceTransform, neighbourOffsets, pruneSpurs, removeStaircases, zhangSuen } from './skeleton.js';

const W_ORTH = 1, W_DIAG = Math.SQRT2, W_CORNER = 0.089;

export interface Box { x: number; y: number; w: number; h: number }
export interface Point { x: number; y: number }

export interface Crack {
  /** 1-based; cracks are numbered by length, longest first; the same id is used in `labels` */
  id: number;
  area_px: number;
  /** skeleton length, end to end, in pixels */
  length_px: number;
  /** widest point: 2·d − 1 at the skeleton pixel with the largest distance d to the background */
  max_width_px: number;
  /** area / length */
  mean_width_px: number;
  bbox: Box;
  centroid: Point;
  /** number of skeleton end points (a straight crack has 2, each extra branch adds about one) */
  endpoints: number;
  area_mm2?: number;
  length_mm?: number;
  max_width_mm?: number;
  mean_width_mm?: number;
  bbox_mm?: Box;
  centroid_mm?: Point;
}

export interface CrackReport {
  width: number;
  height: number;
  /** probability threshold used (0..1): a pixel is crack when mask ≥ threshold × 255 */
  threshold: number;
  /** components smaller than this many pixels are ignored as specks */
  min_area_px: number;
  /** millimetres per pixel, or null when the image is not calibrated */
  mm_per_px: number | null;
  /** pixels of the cracks that were kept (specks excluded) */
  crack_pixels: number;
  crack_count: number;
  total_length_px: number;
  max_width_px: number;
  /** crack_pixels / total_length_px: the length-weighted mean width of all cracks */
  mean_width_px: number;
  /** pixels at or above the threshold that were dropped as specks, and how many specks */
  speck_pixels: number;
  speck_count: number;
  total_length_mm?: number;
  max_width_mm?: number;
  mean_width_mm?: number;
  crack_area_mm2?: number;
  cracks: Crack[];
  /** crack id per pixel (0 = none), width×height row-major: for tap hit-testing. Not in JSON. */
  labels: Int32Array;
}

export interface AnalyzeOptions {
  /** probability threshold 0..1 (usually the manifest's) */
  threshold: number;
  /** millimetres per pixel (from calibration); adds the *_mm fields */
  mmPerPx?: number;
  /** components with fewer pixels are specks and ignored; default max(10, width·height / 100000) */
  minAreaPx?: number;
}

/** The default speck rule: fewer than 10 pixels, or 0.001 % of the image on large images. */
export function defaultMinArea(width: number, height: number): number {
  return Math.max(10, Math.round((width * height) / 100_000));
}

export function analyzeMask(mask: Uint8Array, width: number, height: number, opts: AnalyzeOptions): CrackReport {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`analyzeMask: bad size ${width}x${height}`);
  }
  if (mask.length < width * height) throw new RangeError(`analyzeMask: mask has ${mask.length} bytes, need ${width * height}`);
  const { threshold } = opts;
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`analyzeMask: threshold must be in (0, 1], got ${threshold}`);
  const mmPerPx = opts.mmPerPx;
  if (mmPerPx !== undefined && !(mmPerPx > 0 && Number.isFinite(mmPerPx))) throw new RangeError(`analyzeMask: mmPerPx must be > 0, got ${mmPerPx}`);
  const minArea = opts.minAreaPx ?? defaultMinArea(width, height);
  const cut = threshold * 255;

  // ---- threshold into a padded grid (1-cell background ring) --------------------------------
  const pw = width + 2, ph = height + 2;
  const bin = new Uint8Array(pw * ph);
  let fgCount = 0;
  let bx0 = pw, by0 = ph, bx1 = -1, by1 = -1; // bounding box of all foreground, padded coords
  for (let y = 0; y < height; y++) {
    const row = y * width, prow = (y + 1) * pw + 1;
    let any = false;
    for (let x = 0; x < width; x++) {
      if (mask[row + x] >= cut) {
        bin[prow + x] = 1; fgCount++; any = true;
        if (x + 1 < bx0) bx0 = x + 1;
        if (x + 1 > bx1) bx1 = x + 1;
      }
    }
    if (any) { if (y + 1 < by0) by0 = y + 1; by1 = y + 1; }
  }

  // ---- 8-connected components (iterative flood fill) ----------------------------------------
  const nb = neighbourOffsets(pw);
  const comp = new Int32Array(pw * ph); // provisional component index + 1
  const stack = new Int32Array(Math.max(1, fgCount));
  const cArea: number[] = [], cSx: number[] = [], cSy: number[] = [];
  const cX0: number[] = [], cY0: number[] = [], cX1: number[] = [], cY1: number[] = [];
  const fgKept: number[] = [];
  let speckPixels = 0, speckCount = 0;
  if (fgCount > 0) {
    for (let y = by0; y <= by1; y++) {
      for (let x = bx0; x <= bx1; x++) {
        const p0 = y * pw + x;
        if (!bin[p0] || comp[p0]) continue;
        const c = cArea.length + 1;
        let sp = 0, area = 0, sx = 0, sy = 0, x0 = x, x1 = x, y0 = y, y1 = y;
        stack[sp++] = p0; comp[p0] = c;
        const startIdx = fgKept.length;
        while (sp > 0) {
          const p = stack[--sp];
          const py = (p / pw) | 0, px = p - py * pw;
          area++; sx += px; sy += py;
          if (px < x0) x0 = px; else if (px > x1) x1 = px;
          if (py < y0) y0 = py; else if (py > y1) y1 = py;
          fgKept.push(p);
          for (let k = 0; k < 8; k++) {
            const q = p + nb[k];
            if (bin[q] && !comp[q]) { comp[q] = c; stack[sp++] = q; }
          }
        }
        if (area < minArea) {
          // a speck: clear it and forget it
          for (let i = startIdx; i < fgKept.length; i++) { bin[fgKept[i]] = 0; comp[fgKept[i]] = -1; }
          fgKept.length = startIdx;
          speckPixels += area; speckCount++;
          continue;
        }
        cArea.push(area); cSx.push(sx); cSy.push(sy);
        cX0.push(x0); cY0.push(y0); cX1.push(x1); cY1.push(y1);
      }
    }
  }
  const nComp = cArea.length;

  // ---- distance transform and skeleton ----------------------------------------------------
  const cLen = new Float64Array(nComp + 1), cMaxD = new Float64Array(nComp + 1), cEnds = new Int32Array(nComp + 1);
  const cSkel = new Int32Array(nComp + 1);
  if (nComp > 0) {
    const box = { x0: Math.max(0, bx0 - 1), y0: Math.max(0, by0 - 1), x1: Math.min(pw - 1, bx1 + 1), y1: Math.min(ph - 1, by1 + 1) };
    const dist = distanceTransform(bin, pw, ph, box);
    let maxD = 0;
    for (const p of fgKept) if (dist[p] > maxD) maxD = dist[p];
    const sk = bin.slice();
    let skel = zhangSuen(sk, pw, fgKept);
    skel = removeStaircases(sk, pw, skel);
    skel = pruneSpurs(sk, pw, skel, dist, maxD);
    skel = removeStaircases(sk, pw, skel);
    for (const p of skel) cSkel[comp[p]]++;
    // Zhang–Suen can erase a tiny blob (a 2×2 square) completely: give such a component back
    // one skeleton pixel, its deepest one.
    let missing = 0;
    for (let c = 1; c <= nComp; c++) if (cSkel[c] === 0) missing++;
    if (missing > 0) {
      const best = new Int32Array(nComp + 1).fill(-1);
      for (const p of fgKept) {
        const c = comp[p];
        if (cSkel[c] === 0 && (best[c] < 0 || dist[p] > dist[best[c]])) best[c] = p;
      }
      for (let c = 1; c <= nComp; c++) if (best[c] >= 0) { sk[best[c]] = 1; skel.push(best[c]); cSkel[c] = 1; }
    }
    // length: the Vossepoel–Smeulders (1982) chain-code estimator, 0.980·n_e + 1.406·n_o − 0.091·n_c
    // (n_e orthogonal steps, n_o diagonal steps, n_c corners). Plain 1/√2 step weights over-count
    // lines at in-between angles by up to 8 %; this one stays within about 2 % at every angle.
    // Forward edges only (E, S, SE, SW) so each edge counts once; a diagonal edge counts only when
    // the two pixels are not also joined through a shared 4-neighbour (no triangles).
    const E = 1, S = pw, SE = pw + 1, SW = pw - 1, W = -1;
    for (const p of skel) {
      const c = comp[p];
      let len = 0;
      const e = sk[p + E], s = sk[p + S];
      if (e) len += W_ORTH;
      if (s) len += W_ORTH;
      if (sk[p + SE] && !e && !s) len += W_DIAG;
      if (sk[p + SW] && !sk[p + W] && !s) len += W_DIAG;
      const n = countNeighbours(sk, p, nb);
      // each end point extends the skeleton to the crack's tip: d − 0.5 (centre of the end
      // pixel → the far edge of the last crack pixel); an isolated skeleton pixel has two ends
      const d = dist[p];
      if (n === 1) { len += d - 0.5; cEnds[c]++; } else if (n === 0) { len += 2 * (d - 0.5); cEnds[c] += 2; } else if (n === 2) {
        // a corner: the path through p changes direction
        let k1 = -1, k2 = -1;
        for (let k = 0; k < 8; k++) if (sk[p + nb[k]]) { if (k1 < 0) k1 = k; else k2 = k; }
        if (k2 - k1 !== 4) len -= W_CORNER;
      }
      cLen[c] += len;
      if (d > cMaxD[c]) cMaxD[c] = d;
    }
  }

  // ---- cracks, longest first; relabel ---------------------------------------------------
  const order = Array.from({ length: nComp }, (_, i) => i + 1).sort((a, b) => cLen[b] - cLen[a] || a - b);
  const newId = new Int32Array(nComp + 1);
  order.forEach((c, i) => { newId[c] = i + 1; });
  const labels = new Int32Array(width * height);
  for (const p of fgKept) {
    const py = (p / pw) | 0, px = p - py * pw;
    labels[(py - 1) * width + (px - 1)] = newId[comp[p]];
  }
  const cracks: Crack[] = order.map((c, i) => {
    const area = cArea[c - 1];
    const length = cLen[c];
    const maxW = Math.max(1, 2 * cMaxD[c] - 1);
    const meanW = length > 0 ? area / length : maxW;
    const crack: Crack = {
      id: i + 1,
      area_px: area,
      length_px: length,
      max_width_px: maxW,
      mean_width_px: meanW,
      bbox: { x: cX0[c - 1] - 1, y: cY0[c - 1] - 1, w: cX1[c - 1] - cX0[c - 1] + 1, h: cY1[c - 1] - cY0[c - 1] + 1 },
      centroid: { x: cSx[c - 1] / area - 1, y: cSy[c - 1] / area - 1 },
      endpoints: cEnds[c],
    };
    if (mmPerPx !== undefined) {
      const k = mmPerPx;
      crack.area_mm2 = area * k * k;
      crack.length_mm = length * k;
      crack.max_width_mm = maxW * k;
      crack.mean_width_mm = meanW * k;
      crack.bbox_mm = { x: crack.bbox.x * k, y: crack.bbox.y * k, w: crack.bbox.w * k, h: crack.bbox.h * k };
      crack.centroid_mm = { x: crack.centroid.x * k, y: crack.centroid.y * k };
    }
    return crack;
  });

  const crackPixels = fgKept.length;
  const totalLength = cracks.reduce((s, c) => s + c.length_px, 0);
  const report: CrackReport = {
    width, height, threshold, min_area_px: minArea, mm_per_px: mmPerPx ?? null,
    crack_pixels: crackPixels,
    crack_count: cracks.length,
    total_length_px: totalLength,
    max_width_px: cracks.reduce((m, c) => Math.max(m, c.max_width_px), 0),
    mean_width_px: totalLength > 0 ? crackPixels / totalLength : 0,
    speck_pixels: speckPixels,
    speck_count: speckCount,
    cracks,
    labels,
  };
  if (mmPerPx !== undefined) {
    report.total_length_mm = report.total_length_px * mmPerPx;
    report.max_width_mm = report.max_width_px * mmPerPx;
    report.mean_width_mm = report.mean_width_px * mmPerPx;
    report.crack_area_mm2 = crackPixels * mmPerPx * mmPerPx;
  }
  return report;
}

/** The crack id under pixel (x, y), 0 for none: kiosk tap hit-testing. */
export function crackAt(report: CrackReport, x: number, y: number): number {
  const xi = Math.floor(x), yi = Math.floor(y);
  if (xi < 0 || yi < 0 || xi >= report.width || yi >= report.height) return 0;
  return report.labels[yi * report.width + xi];
}

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** The report as plain JSON (no `labels`), rounded to 0.01 px and 0.0001 mm. */
export function reportToJson(report: CrackReport): Omit<CrackReport, 'labels'> {
  const { labels: _labels, ...rest } = report;
  const walk = (value: unknown, mm: boolean): unknown => {
    if (typeof value === 'number') return Number.isInteger(value) ? value : round(value, mm ? 4 : 2);
    if (Array.isArray(value)) return value.map((v) => walk(v, mm));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, mm || /_mm2?$/.test(k) || k === 'mm_per_px')]));
    }
    return value;
  };
  return walk(rest, false) as Omit<CrackReport, 'labels'>;
}
