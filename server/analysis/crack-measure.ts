// Crack measurement on a probability mask: hysteresis components, centre lines, crack identity
// (crack-graph.ts: branches, bridges over faint gaps, specks), lengths and widths.
// How the numbers are defined is written down in server/analysis/README.md; keep the two in step.
//
// Runs off the hot path (a frozen frame, a capture, a still image): typed-array passes over the
// mask (threshold, components, distance transform, thinning), then graph work over the skeleton.
import { IDENTITY_DEFAULTS, traceCracks, type IdentitySettings, type TraceResult } from './crack-graph.js';
import { distanceTransform, localDistance, neighbourOffsets, pruneSpurs, removeStaircases, zhangSuen } from './skeleton.js';
import type { Box, Crack, CrackReport, IdentityReport, Point } from '../protocol/analysis-report.js';

// the report's shape is the protocol's (the kiosk reads it); these names stay importable from here
export type { Box, Crack, CrackReport, IdentityReport, Point };

/** Hysteresis: a crack continues down to this fraction of the crack threshold (README: measured). */
export const CONTINUE_RATIO = 2 / 3;
/** distances searched pixel by pixel up to this radius; a wider crack gets a distance transform */
const LOCAL_MAX_R = 8;

export interface AnalyzeOptions extends Partial<IdentitySettings> {
  /** probability threshold 0..1 (usually the manifest's): a crack holds at least one pixel at or above it */
  threshold: number;
  /** hysteresis: a crack continues through pixels at or above this (0..1); default threshold × continueRatio */
  continueThreshold?: number;
  /** hysteresis as a fraction of the threshold (0..1], so it follows a threshold slider; default CONTINUE_RATIO */
  continueRatio?: number;
  /** false: no hysteresis (continueThreshold = threshold), e.g. for a binary label mask */
  hysteresis?: boolean;
  /** millimetres per pixel (from calibration); adds the *_mm fields */
  mmPerPx?: number;
  /** mask components with fewer pixels are ignored before thinning; default max(10, width·height / 100000) */
  minAreaPx?: number;
}

/** The crack-identity config keys (server/config/schema.ts: each a config key, env variable and flag). */
export interface IdentityConfig {
  crackContinueRatio: number;
  crackMinAreaPx: number;
  crackMinLengthPx: number;
  crackMaxGapPx: number;
  crackMaxGapAngleDeg: number;
  crackBridgeMinProb: number;
  crackGapLateralWidths: number;
}

/** The analysis options a config sets: what infer, survey, captures and the kiosk's freeze all pass to analyzeMask. */
export function identityOptions(c: IdentityConfig): Omit<AnalyzeOptions, 'threshold'> {
  return {
    continueRatio: c.crackContinueRatio,
    ...(c.crackMinAreaPx > 0 ? { minAreaPx: c.crackMinAreaPx } : {}),
    minLengthPx: c.crackMinLengthPx,
    maxGapPx: c.crackMaxGapPx,
    maxGapAngleDeg: c.crackMaxGapAngleDeg,
    bridgeMinProb: c.crackBridgeMinProb,
    gapLateralWidths: c.crackGapLateralWidths,
  };
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
  const ident: IdentitySettings = {
    minLengthPx: opts.minLengthPx ?? IDENTITY_DEFAULTS.minLengthPx,
    maxGapPx: opts.maxGapPx ?? IDENTITY_DEFAULTS.maxGapPx,
    maxGapAngleDeg: opts.maxGapAngleDeg ?? IDENTITY_DEFAULTS.maxGapAngleDeg,
    bridgeMinProb: opts.bridgeMinProb ?? IDENTITY_DEFAULTS.bridgeMinProb,
    gapLateralWidths: opts.gapLateralWidths ?? IDENTITY_DEFAULTS.gapLateralWidths,
  };
  // integer cuts: seed = value ≥ high, continue = value ≥ low
  const high = Math.ceil(threshold * 255 - 1e-9);
  const cont = opts.hysteresis === false ? threshold : (opts.continueThreshold ?? threshold * (opts.continueRatio ?? CONTINUE_RATIO));
  if (!(cont > 0 && cont <= threshold)) throw new RangeError(`analyzeMask: continueThreshold must be in (0, threshold], got ${cont}`);
  const low = Math.min(high, Math.ceil(cont * 255 - 1e-9));

  // ---- threshold into a padded grid (1-cell background ring) --------------------------------
  const pw = width + 2,
    ph = height + 2;
  const bin = new Uint8Array(pw * ph);
  let fgCount = 0;
  let bx0 = pw,
    by0 = ph,
    // Stryker disable next-line UnaryOperator: equivalent: a foreground pixel sets the box at x + 1 >= 1, so a start of +1 gives the same box
    bx1 = -1,
    // Stryker disable next-line UnaryOperator: equivalent: as bx1 (the padded box is only used when a pixel is foreground)
    by1 = -1; // bounding box of all foreground, padded coords
  // Stryker disable next-line EqualityOperator: equivalent: the row past the end reads undefined, never >= low
  for (let y = 0; y < height; y++) {
    const row = y * width,
      prow = (y + 1) * pw + 1;
    // Stryker disable next-line BooleanLiteral: equivalent: a taller box only scans empty rows (flood fill and transforms give the same)
    let any = false;
    for (let x = 0; x < width; x++) {
      if (mask[row + x] >= low) {
        bin[prow + x] = 1;
        fgCount++;
        any = true;
        // Stryker disable next-line EqualityOperator,ArithmeticOperator: equivalent: the equal case sets the same value; x - 1 only widens the scanned box
        if (x + 1 < bx0) bx0 = x + 1;
        // Stryker disable next-line EqualityOperator: equivalent: the equal case sets the same value
        if (x + 1 > bx1) bx1 = x + 1;
      }
    }
    // Stryker disable next-line ConditionalExpression: equivalent: a taller box only scans empty rows
    if (any) {
      if (y + 1 < by0) by0 = y + 1;
      by1 = y + 1;
    }
  }

  // ---- 8-connected components (iterative flood fill) ----------------------------------------
  const nb = neighbourOffsets(pw);
  const comp = new Int32Array(pw * ph); // provisional component index + 1
  const stack = new Int32Array(Math.max(1, fgCount));
  const cArea: number[] = [],
    cSx: number[] = [],
    cSy: number[] = [];
  const cX0: number[] = [],
    cY0: number[] = [],
    cX1: number[] = [],
    cY1: number[] = [];
  const fgKept: number[] = [];
  let speckPixels = 0,
    speckCount = 0,
    faint = 0;
  const cN: number[] = []; // all pixels (centroid); cArea: pixels at or above the threshold
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent: with no foreground the box is empty (by0 > by1) and the loop does not run
  if (fgCount > 0) {
    for (let y = by0; y <= by1; y++) {
      for (let x = bx0; x <= bx1; x++) {
        const p0 = y * pw + x;
        if (!bin[p0] || comp[p0]) continue;
        const c = cArea.length + 1;
        let sp = 0,
          area = 0,
          sx = 0,
          sy = 0,
          x0 = x,
          x1 = x,
          y0 = y,
          y1 = y,
          seed = false,
          faintHere = 0;
        stack[sp++] = p0;
        comp[p0] = c;
        const startIdx = fgKept.length;
        while (sp > 0) {
          const p = stack[--sp];
          const py = (p / pw) | 0,
            px = p - py * pw;
          area++;
          sx += px;
          sy += py;
          if (mask[(py - 1) * width + px - 1] >= high) seed = true;
          else faintHere++;
          // Stryker disable next-line EqualityOperator: equivalent: the equal case sets the same value
          if (px < x0) x0 = px;
          else if (px > x1) x1 = px;
          // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent: the fill starts at the top row of its component (raster order), so py < y0 never holds
          if (py < y0) y0 = py;
          else if (py > y1) y1 = py;
          fgKept.push(p);
          // Stryker disable next-line EqualityOperator: equivalent: nb[8] is undefined, bin[NaN] is undefined: skipped
          for (let k = 0; k < 8; k++) {
            // Stryker disable next-line ArithmeticOperator: equivalent: the eight neighbour offsets are symmetric (-nb is the same set)
            const q = p + nb[k];
            if (bin[q] && !comp[q]) {
              comp[q] = c;
              stack[sp++] = q;
            }
          }
        }
        if (area < minArea || !seed) {
          // a speck, or a faint component with no seed (hysteresis): clear it and forget it
          for (let i = startIdx; i < fgKept.length; i++) {
            bin[fgKept[i]] = 0;
            comp[fgKept[i]] = -1;
          }
          fgKept.length = startIdx;
          if (seed) {
            speckPixels += area;
            speckCount++;
          }
          continue;
        }
        // Stryker disable next-line AssignmentOperator: equivalent: faint is only compared with 0 and every faintHere is >= 0
        faint += faintHere;
        cArea.push(area - faintHere);
        cSx.push(sx);
        cSy.push(sy);
        cN.push(area);
        cX0.push(x0);
        cY0.push(y0);
        cX1.push(x1);
        cY1.push(y1);
      }
    }
  }
  const nComp = cArea.length;

  // ---- distance transform and skeleton ----------------------------------------------------
  const cSkel = new Int32Array(nComp + 1);
  let trace: TraceResult = { cracks: [], branches: [], bridges: [], pointCrack: new Int32Array(0) };
  // Stryker disable next-line ArrayDeclaration: equivalent: replaced whenever a component exists; with none, pointCrack[0] is undefined and never > 0
  let skelPts: number[] = [];
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent: with no component the skeleton is empty and traceCracks returns no cracks
  if (nComp > 0) {
    // Distances (as distanceTransform: pixel centre to the nearest background centre) are needed
    // at centre-line pixels only, so they are found there, ring by ring (localDistance): on the
    // thinned (hysteresis) mask for the spur rule, and on the mask at the crack threshold for widths
    // and tip extensions — a faint rim continues a crack, it neither widens nor narrows it (widthDistAt).
    // Stryker disable next-line ConditionalExpression: equivalent: a local search that never finds background returns -1 and the whole-frame transform answers (slower, same distance)
    const inLow = (x: number, y: number) => bin[(y + 1) * pw + x + 1] === 1;
    // Stryker disable next-line ConditionalExpression: equivalent: as inLow (the whole-frame transform of the mask at the threshold answers)
    const inHigh = (x: number, y: number) => bin[(y + 1) * pw + x + 1] === 1 && mask[y * width + x] >= high;
    // a wide crack (a search past LOCAL_MAX_R) makes one transform of the frame cheaper
    // Stryker disable next-line MethodExpression: equivalent: Math.min(0, ...) and Math.max(pw - 1, ...) only widen the transformed box; a wider box gives the same distances
    const box = { x0: Math.max(0, bx0 - 1), y0: Math.max(0, by0 - 1), x1: Math.min(pw - 1, bx1 + 1), y1: Math.min(ph - 1, by1 + 1) };
    let lowDT: Float32Array | null = null,
      highDT: Float32Array | null = null;
    const dist = new Float32Array(pw * ph);
    const distAt = (p: number) => {
      // Stryker disable next-line ConditionalExpression: equivalent: a cache; the local search or a new transform gives the same distance
      if (lowDT) return lowDT[p];
      const py = (p / pw) | 0,
        d = localDistance(inLow, p - py * pw - 1, py - 1, LOCAL_MAX_R);
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent: a foreground pixel is never at distance 0, and the whole-frame transform gives the same distance
      if (d >= 0) return d;
      lowDT = distanceTransform(bin, pw, ph, box);
      return lowDT[p];
    };
    // distance to the edge of the mask at the crack threshold (highSeen: found + 1, 0 = not yet)
    let highSeen: Float32Array | null = null;
    const highDistAt = (p: number) => {
      // Stryker disable next-line ConditionalExpression: equivalent: a cache
      if (highDT) return highDT[p];
      const seen = highSeen!;
      // Stryker disable next-line ConditionalExpression: equivalent: a cache
      if (seen[p] > 0) return seen[p] - 1;
      const py = (p / pw) | 0,
        d = localDistance(inHigh, p - py * pw - 1, py - 1, LOCAL_MAX_R);
      if (d >= 0) {
        seen[p] = d + 1;
        return d;
      }
      const hb = new Uint8Array(pw * ph);
      for (const q of fgKept) if (mask[((q / pw) | 0) * width - width + (q % pw) - 1] >= high) hb[q] = 1;
      highDT = distanceTransform(hb, pw, ph, box);
      return highDT[p];
    };
    // A centre-line point's width distance. The line is thinned on the hysteresis mask, so a faint rim
    // on one side pulls it off the crack's middle, nearer the crack's edge; the crack's own middle is
    // then within the rim's reach (hysteresis distance − crack distance): the width distance is the
    // largest crack distance within that reach (all of it inside the component). No rim: the point's own.
    const widthDistAt = (p: number) => {
      // Stryker disable next-line ConditionalExpression: equivalent: with no faint pixel the two masks are one, dHigh = dist[p] and reach = 0 returns it
      if (faint === 0) return dist[p];
      // Stryker disable next-line ArithmeticOperator: equivalent: a short cache ignores writes past its end and misses (recomputes) on reads
      highSeen ??= new Float32Array(pw * ph);
      const dHigh = highDistAt(p),
        reach = dist[p] - dHigh;
      // Stryker disable next-line ConditionalExpression: equivalent: r = 0 scans only p itself, whose distance is dHigh
      if (reach < 1) return dHigh;
      const r = Math.floor(reach),
        r2 = reach * reach;
      let best = dHigh;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) {
          if (dx * dx + dy * dy > r2) continue;
          const q = p + dy * pw + dx;
          if (!bin[q] || mask[((q / pw) | 0) * width - width + (q % pw) - 1] < high) continue;
          const d = highDistAt(q);
          // Stryker disable next-line EqualityOperator: equivalent: the equal case sets the same value
          if (d > best) best = d;
        }
      return best;
    };
    const sk = bin.slice();
    let skel = zhangSuen(sk, pw, fgKept);
    skel = removeStaircases(sk, pw, skel);
    let maxD = 0;
    for (const p of skel) {
      const d = (dist[p] = distAt(p));
      if (d > maxD) maxD = d;
    }
    skel = pruneSpurs(sk, pw, skel, dist, maxD);
    skel = removeStaircases(sk, pw, skel);
    // Stryker disable next-line UpdateOperator: equivalent: cSkel is only compared with 0
    for (const p of skel) cSkel[comp[p]]++;
    // Zhang–Suen can erase a tiny blob (a 2×2 square) completely: give such a component back
    // one skeleton pixel, its deepest one.
    let missing = 0;
    // Stryker disable next-line ConditionalExpression: equivalent: the block below skips every component that has a skeleton
    for (let c = 1; c <= nComp; c++) if (cSkel[c] === 0) missing++;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent: with none missing the block below changes nothing
    if (missing > 0) {
      const best = new Int32Array(nComp + 1).fill(-1);
      for (const p of fgKept) {
        const c = comp[p];
        if (cSkel[c] !== 0) continue;
        dist[p] = distAt(p);
        // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent: Zhang-Suen erases only components two pixels thick, whose pixels are all at distance 1 (any is the deepest)
        if (best[c] < 0 || dist[p] > dist[best[c]]) best[c] = p;
      }
      for (let c = 1; c <= nComp; c++)
        if (best[c] >= 0) {
          sk[best[c]] = 1;
          skel.push(best[c]);
          cSkel[c] = 1;
        }
    }
    // ---- crack identity on the centre lines (crack-graph.ts, shared with the survey) -------------
    // skeleton points in image coordinates, sorted (row-major padded order is image order)
    skelPts = skel.sort((a, b) => a - b);
    const keys = new Float64Array(skelPts.length),
      sd = new Float32Array(skelPts.length);
    for (let i = 0; i < skelPts.length; i++) {
      const p = skelPts[i],
        py = (p / pw) | 0;
      keys[i] = (py - 1) * width + (p - py * pw - 1);
      sd[i] = widthDistAt(p);
    }
    trace = traceCracks(
      { width, height, keys, dist: sd, crackPixels: fgKept.length },
      {
        ...ident,
        probAt: (x, y) => (x >= 0 && y >= 0 && x < width && y < height ? mask[y * width + x] : 0),
      },
    );
  }

  // ---- mask components → cracks (bridged pieces share a crack; dropped pieces are specks) ---------
  const compCrack = new Int32Array(nComp + 1);
  for (let i = 0; i < skelPts.length; i++) {
    const c = trace.pointCrack[i];
    if (c > compCrack[comp[skelPts[i]]]) compCrack[comp[skelPts[i]]] = c;
  }
  const nCracks = trace.cracks.length;
  const kN = new Float64Array(nCracks + 1),
    kArea = new Float64Array(nCracks + 1),
    kSx = new Float64Array(nCracks + 1),
    kSy = new Float64Array(nCracks + 1);
  const kX0 = new Int32Array(nCracks + 1).fill(pw),
    kY0 = new Int32Array(nCracks + 1).fill(ph),
    // Stryker disable next-line UnaryOperator: equivalent: maxed with padded coordinates, which are >= 1
    kX1 = new Int32Array(nCracks + 1).fill(-1),
    // Stryker disable next-line UnaryOperator: equivalent: as kX1
    kY1 = new Int32Array(nCracks + 1).fill(-1);
  for (let c = 1; c <= nComp; c++) {
    const k = compCrack[c];
    if (k === 0) {
      speckPixels += cArea[c - 1];
      speckCount++;
      continue;
    }
    kN[k] += cN[c - 1];
    kArea[k] += cArea[c - 1];
    kSx[k] += cSx[c - 1];
    kSy[k] += cSy[c - 1];
    kX0[k] = Math.min(kX0[k], cX0[c - 1]);
    kY0[k] = Math.min(kY0[k], cY0[c - 1]);
    kX1[k] = Math.max(kX1[k], cX1[c - 1]);
    kY1[k] = Math.max(kY1[k], cY1[c - 1]);
  }
  const labels = new Int32Array(width * height);
  let crackPixels = 0;
  for (const p of fgKept) {
    const k = compCrack[comp[p]];
    // Stryker disable next-line ConditionalExpression: equivalent: labels start at 0
    if (k === 0) continue;
    const py = (p / pw) | 0,
      px = p - py * pw;
    labels[(py - 1) * width + (px - 1)] = k;
  }
  for (let k = 1; k <= nCracks; k++) crackPixels += kArea[k];
  const cracks: Crack[] = trace.cracks.map((t) => {
    const k = t.id,
      area = kArea[k];
    const drawn = t.length_px - t.inferred_length_px;
    const maxW = Math.max(1, t.max_width_px);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent so far: every kept crack has drawn length >= 1 (a lone point is 1 px long); the guard stays for safety
    const meanW = drawn > 0 ? area / drawn : maxW;
    const crack: Crack = {
      id: k,
      area_px: area,
      length_px: t.length_px,
      inferred_length_px: t.inferred_length_px,
      max_width_px: maxW,
      mean_width_px: meanW,
      bbox: { x: kX0[k] - 1, y: kY0[k] - 1, w: kX1[k] - kX0[k] + 1, h: kY1[k] - kY0[k] + 1 },
      centroid: { x: kSx[k] / kN[k] - 1, y: kSy[k] / kN[k] - 1 },
      endpoints: t.endpoints,
      branches: t.branches,
      bridges: t.bridges,
    };
    if (mmPerPx !== undefined) {
      const m = mmPerPx;
      crack.area_mm2 = area * m * m;
      crack.length_mm = t.length_px * m;
      crack.inferred_length_mm = t.inferred_length_px * m;
      crack.max_width_mm = maxW * m;
      crack.mean_width_mm = meanW * m;
      crack.bbox_mm = { x: crack.bbox.x * m, y: crack.bbox.y * m, w: crack.bbox.w * m, h: crack.bbox.h * m };
      crack.centroid_mm = { x: crack.centroid.x * m, y: crack.centroid.y * m };
    }
    return crack;
  });

  const totalLength = cracks.reduce((s, c) => s + c.length_px, 0);
  const inferred = cracks.reduce((s, c) => s + c.inferred_length_px, 0);
  const settings: IdentityReport = {
    continue_threshold: low / 255,
    min_area_px: minArea,
    min_length_px: ident.minLengthPx,
    max_gap_px: ident.maxGapPx,
    max_gap_angle_deg: ident.maxGapAngleDeg,
    bridge_min_prob: ident.bridgeMinProb,
    gap_lateral_widths: ident.gapLateralWidths,
    ...(mmPerPx !== undefined ? { min_length_mm: ident.minLengthPx * mmPerPx, max_gap_mm: ident.maxGapPx * mmPerPx } : {}),
  };
  const report: CrackReport = {
    width,
    height,
    threshold,
    min_area_px: minArea,
    mm_per_px: mmPerPx ?? null,
    crack_pixels: crackPixels,
    crack_count: cracks.length,
    total_length_px: totalLength,
    inferred_length_px: inferred,
    max_width_px: cracks.reduce((m, c) => Math.max(m, c.max_width_px), 0),
    // Stryker disable next-line ArithmeticOperator: equivalent: inferred <= totalLength always, so the sign test is the same
    mean_width_px: totalLength - inferred > 0 ? crackPixels / (totalLength - inferred) : 0,
    speck_pixels: speckPixels,
    speck_count: speckCount,
    identity: settings,
    cracks,
    bridges: trace.bridges.map((b) => ({ ...b, ...(mmPerPx !== undefined ? { length_mm: b.length_px * mmPerPx } : {}) })),
    labels,
  };
  if (mmPerPx !== undefined) {
    report.total_length_mm = report.total_length_px * mmPerPx;
    report.inferred_length_mm = inferred * mmPerPx;
    report.max_width_mm = report.max_width_px * mmPerPx;
    report.mean_width_mm = report.mean_width_px * mmPerPx;
    report.crack_area_mm2 = crackPixels * mmPerPx * mmPerPx;
  }
  return report;
}

/** The crack id under pixel (x, y), 0 for none: kiosk tap hit-testing. */
export function crackAt(report: CrackReport, x: number, y: number): number {
  const xi = Math.floor(x),
    yi = Math.floor(y);
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
    // Stryker disable next-line ConditionalExpression: equivalent: a report holds only numbers, null, arrays and objects (no strings or booleans)
    if (value && typeof value === 'object') {
      // Stryker disable next-line Regex: equivalent: every mm key ends in _mm or _mm2
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, mm || /_mm2?$/.test(k) || k === 'mm_per_px')]));
    }
    return value;
  };
  return walk(rest, false) as Omit<CrackReport, 'labels'>;
}
