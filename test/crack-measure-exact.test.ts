// analyzeMask, crackAt and reportToJson on small hand-made masks whose answers are known: the exact
// thresholds at their boundaries, speck rules, hysteresis, widths on a faint rim, bridged pieces,
// every mm field, tap hit-testing at the image's edges and the JSON rounding (issue 21: each of
// these was a surviving mutant of server/analysis/crack-measure.ts).
import { describe, expect, test } from 'vitest';
import {
  analyzeMask,
  crackAt,
  defaultMinArea,
  identityOptions,
  reportToJson,
  type AnalyzeOptions,
  type CrackReport,
} from '../server/analysis/crack-measure.js';
import { IDENTITY_DEFAULTS } from '../server/analysis/crack-graph.js';

const W = 120,
  H = 40;

/** Sets the pixels x0 ≤ x < x1, y0 ≤ y < y1 to `value`. */
function rect(m: Uint8Array, w: number, x0: number, y0: number, x1: number, y1: number, value = 255) {
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = value;
}

function mask(...rects: [number, number, number, number, number?][]) {
  const m = new Uint8Array(W * H);
  for (const [x0, y0, x1, y1, v] of rects) rect(m, W, x0, y0, x1, y1, v);
  return m;
}

const run = (m: Uint8Array, opts: AnalyzeOptions) => analyzeMask(m, W, H, opts);

/** How many label pixels carry crack id k. */
const labelled = (r: CrackReport, k: number) => r.labels.reduce((n, v) => n + (v === k ? 1 : 0), 0);

describe('thresholds at their exact boundaries', () => {
  test('the shipped threshold 0.6 is 153/255: a crack of value 153 is a crack, one of 152 is not', () => {
    const at = (v: number) => run(mask([10, 10, 100, 11, v]), { threshold: 0.6 });
    const r = at(153);
    expect(r.crack_count).toBe(1);
    expect(r.crack_pixels).toBe(90);
    expect(r.cracks[0].length_px).toBe(90);
    expect(at(152).crack_count).toBe(0);
    // 0.5 is 127.5/255: 128 is at or above it, 127 is not
    expect(run(mask([10, 10, 100, 11, 128]), { threshold: 0.5 }).crack_count).toBe(1);
    expect(run(mask([10, 10, 100, 11, 127]), { threshold: 0.5 }).crack_count).toBe(0);
    // threshold 1: only 255 counts
    expect(run(mask([10, 10, 100, 11, 255]), { threshold: 1 }).crack_count).toBe(1);
    expect(run(mask([10, 10, 100, 11, 254]), { threshold: 1 }).crack_count).toBe(0);
  });

  test('hysteresis: at 0.6 a crack continues through 102/255 (0.4 = 0.6 × 2/3), not through 101', () => {
    // 50 px seen at 255, then 30 px at the continue level
    const at = (v: number, opts: Partial<AnalyzeOptions> = {}) => run(mask([10, 10, 60, 11], [60, 10, 90, 11, v]), { threshold: 0.6, ...opts });
    const r = at(102);
    expect(r.identity.continue_threshold).toBe(102 / 255);
    expect(r.crack_count).toBe(1);
    expect(r.cracks[0].bbox).toEqual({ x: 10, y: 10, w: 80, h: 1 });
    expect(crackAt(r, 75, 10)).toBe(1); // the faint stretch answers a tap
    expect(labelled(r, 1)).toBe(80);
    expect(r.cracks[0].length_px).toBeGreaterThan(78);
    // the crack's area is its pixels at or above the threshold; the faint ones only continue it
    expect(r.crack_pixels).toBe(50);
    expect(r.cracks[0].area_px).toBe(50);
    // the centroid is of all its pixels, faint ones too: x = 10 … 89
    expect(r.cracks[0].centroid).toEqual({ x: 49.5, y: 10 });

    const below = at(101);
    expect(below.cracks[0].bbox).toEqual({ x: 10, y: 10, w: 50, h: 1 });
    expect(crackAt(below, 75, 10)).toBe(0);
    expect(below.cracks[0].length_px).toBe(50);
    expect(below.cracks[0].centroid).toEqual({ x: 34.5, y: 10 });

    // no hysteresis: the crack stops where the threshold does
    const off = at(152, { hysteresis: false });
    expect(off.identity.continue_threshold).toBe(153 / 255);
    expect(off.cracks[0].bbox.w).toBe(50);
    expect(at(152).cracks[0].bbox.w).toBe(80);
  });

  test('continueThreshold and continueRatio set the continue level exactly', () => {
    const at = (v: number, opts: Partial<AnalyzeOptions>) => run(mask([10, 10, 60, 11], [60, 10, 90, 11, v]), { threshold: 0.6, ...opts });
    // 0.2 × 255 = 51
    expect(at(51, { continueThreshold: 0.2 }).cracks[0].bbox.w).toBe(80);
    expect(at(50, { continueThreshold: 0.2 }).cracks[0].bbox.w).toBe(50);
    expect(at(50, { continueThreshold: 0.2 }).identity.continue_threshold).toBe(51 / 255);
    // 0.6 × 0.5 × 255 = 76.5 → 77
    expect(at(77, { continueRatio: 0.5 }).cracks[0].bbox.w).toBe(80);
    expect(at(76, { continueRatio: 0.5 }).cracks[0].bbox.w).toBe(50);
    expect(at(76, { continueRatio: 0.5 }).identity.continue_threshold).toBe(77 / 255);
    // continueThreshold wins over continueRatio; the threshold itself is allowed
    expect(at(76, { continueThreshold: 0.2, continueRatio: 0.9 }).cracks[0].bbox.w).toBe(80);
    expect(at(152, { continueThreshold: 0.6 }).cracks[0].bbox.w).toBe(50);
  });

  test('a faint piece with no pixel at the threshold is neither a crack nor a speck', () => {
    const r = run(mask([10, 10, 100, 11, 152]), { threshold: 0.6 });
    expect(r.crack_count).toBe(0);
    expect(r.speck_count).toBe(0);
    expect(r.speck_pixels).toBe(0);
    expect(r.labels.every((v) => v === 0)).toBe(true);
  });
});

describe('bad arguments are refused with a reason', () => {
  const m = new Uint8Array(16);
  test.each([
    [4, 0, { threshold: 0.5 }, /bad size 4x0/],
    [0, 4, { threshold: 0.5 }, /bad size 0x4/],
    [-4, -4, { threshold: 0.5 }, /bad size -4x-4/],
    [4.5, 2, { threshold: 0.5 }, /bad size 4.5x2/],
    [2, 4.5, { threshold: 0.5 }, /bad size 2x4.5/],
    [5, 4, { threshold: 0.5 }, /mask has 16 bytes, need 20/],
    [4, 4, { threshold: 0 }, /threshold must be in \(0, 1\], got 0/],
    [4, 4, { threshold: 1.01 }, /threshold must be in \(0, 1\], got 1.01/],
    [4, 4, { threshold: NaN }, /threshold must be in/],
    [4, 4, { threshold: 0.5, mmPerPx: 0 }, /mmPerPx must be > 0, got 0/],
    [4, 4, { threshold: 0.5, mmPerPx: -1 }, /mmPerPx must be > 0, got -1/],
    [4, 4, { threshold: 0.5, mmPerPx: Infinity }, /mmPerPx must be > 0, got Infinity/],
    [4, 4, { threshold: 0.5, continueThreshold: 0.6 }, /continueThreshold must be in \(0, threshold\], got 0.6/],
    [4, 4, { threshold: 0.5, continueThreshold: 0 }, /continueThreshold must be in \(0, threshold\], got 0/],
    [4, 4, { threshold: 0.5, continueRatio: 1.5 }, /continueThreshold must be in \(0, threshold\], got 0.75/],
  ] as [number, number, AnalyzeOptions, RegExp][])('%s×%s %o', (w, h, opts, message) => {
    expect(() => analyzeMask(m, w, h, opts)).toThrow(RangeError);
    expect(() => analyzeMask(m, w, h, opts)).toThrow(message);
  });

  test('the limits themselves are accepted', () => {
    // a mask exactly width × height long, threshold 1, continue level = threshold, any mmPerPx > 0
    expect(analyzeMask(new Uint8Array(20), 5, 4, { threshold: 1, continueThreshold: 1, mmPerPx: 1e-9 }).crack_count).toBe(0);
    expect(analyzeMask(new Uint8Array(1), 1, 1, { threshold: 0.5, continueRatio: 1 }).identity.continue_threshold).toBe(128 / 255);
  });
});

describe('specks and the settings', () => {
  test('the default speck size: 10 pixels, or 0.001 % of a large image (rounded)', () => {
    expect(defaultMinArea(640, 384)).toBe(10);
    expect(defaultMinArea(1000, 1000)).toBe(10);
    expect(defaultMinArea(4000, 3000)).toBe(120);
    expect(defaultMinArea(1000, 1050)).toBe(11); // 10.5 rounds up
    expect(defaultMinArea(1000, 1149)).toBe(11); // 11.49 rounds down
    expect(run(new Uint8Array(W * H), { threshold: 0.5 }).min_area_px).toBe(10);
    expect(analyzeMask(new Uint8Array(4000 * 30), 4000, 30, { threshold: 0.5 }).min_area_px).toBe(10);
  });

  test('a piece of exactly min_area_px pixels is kept, one pixel fewer is a speck', () => {
    const opts = { threshold: 0.5, minLengthPx: 0 };
    const ten = run(mask([10, 10, 20, 11]), opts);
    expect(ten.crack_count).toBe(1);
    expect(ten.speck_count).toBe(0);
    expect(ten.cracks[0].area_px).toBe(10);
    const nine = run(mask([10, 10, 19, 11]), opts);
    expect(nine.crack_count).toBe(0);
    expect(nine.speck_count).toBe(1);
    expect(nine.speck_pixels).toBe(9);
    expect(crackAt(nine, 12, 10)).toBe(0);
    // minAreaPx given: 9 px kept at 9, two 5-px specks at 6
    expect(run(mask([10, 10, 19, 11]), { ...opts, minAreaPx: 9 }).crack_count).toBe(1);
    const two = run(mask([10, 10, 19, 11], [10, 20, 15, 21], [30, 20, 35, 21]), { ...opts, minAreaPx: 6 });
    expect([two.crack_count, two.speck_count, two.speck_pixels, two.min_area_px]).toEqual([1, 2, 10, 6]);
  });

  test('a crack shorter than min_length_px is a speck: its pixels at the threshold are counted, faint ones not', () => {
    // 30 px seen + 5 px faint (0.4 at 0.6): 35 px long, under the default 40
    const m = mask([10, 10, 40, 11], [40, 10, 45, 11, 110], [10, 20, 100, 21]);
    const r = run(m, { threshold: 0.6 });
    expect(r.crack_count).toBe(1);
    expect(r.speck_count).toBe(1);
    expect(r.speck_pixels).toBe(30);
    expect(r.crack_pixels).toBe(90);
    expect(crackAt(r, 20, 10)).toBe(0);
    expect(crackAt(r, 20, 20)).toBe(1);
    // both kept at min_length_px 30
    const all = run(m, { threshold: 0.6, minLengthPx: 30 });
    expect([all.crack_count, all.speck_count, all.speck_pixels, all.crack_pixels]).toEqual([2, 0, 0, 120]);
  });

  test('the identity settings are reported as given, their defaults otherwise', () => {
    const m = mask([10, 10, 100, 11]);
    expect(run(m, { threshold: 0.5 }).identity).toEqual({
      continue_threshold: 85 / 255,
      min_area_px: 10,
      min_length_px: IDENTITY_DEFAULTS.minLengthPx,
      max_gap_px: IDENTITY_DEFAULTS.maxGapPx,
      max_gap_angle_deg: IDENTITY_DEFAULTS.maxGapAngleDeg,
      bridge_min_prob: IDENTITY_DEFAULTS.bridgeMinProb,
      gap_lateral_widths: IDENTITY_DEFAULTS.gapLateralWidths,
    });
    const given = { minAreaPx: 7, minLengthPx: 12, maxGapPx: 13, maxGapAngleDeg: 14, bridgeMinProb: 0.15, gapLateralWidths: 2 };
    const r = run(m, { threshold: 0.5, ...given, mmPerPx: 0.5 });
    expect(r.identity).toEqual({
      continue_threshold: 85 / 255,
      min_area_px: 7,
      min_length_px: 12,
      max_gap_px: 13,
      max_gap_angle_deg: 14,
      bridge_min_prob: 0.15,
      gap_lateral_widths: 2,
      min_length_mm: 6,
      max_gap_mm: 6.5,
    });
    expect(r.min_area_px).toBe(7);
  });

  test('identityOptions maps the config keys one to one; crackMinAreaPx 0 leaves the default rule', () => {
    const c = {
      crackContinueRatio: 0.7,
      crackMinAreaPx: 25,
      crackMinLengthPx: 30,
      crackMaxGapPx: 20,
      crackMaxGapAngleDeg: 35,
      crackBridgeMinProb: 0.2,
      crackGapLateralWidths: 1.5,
    };
    expect(identityOptions(c)).toEqual({
      continueRatio: 0.7,
      minAreaPx: 25,
      minLengthPx: 30,
      maxGapPx: 20,
      maxGapAngleDeg: 35,
      bridgeMinProb: 0.2,
      gapLateralWidths: 1.5,
    });
    const d = identityOptions({ ...c, crackMinAreaPx: 0 });
    expect('minAreaPx' in d).toBe(false);
    expect(run(mask([10, 10, 100, 11]), { threshold: 0.5, ...d }).min_area_px).toBe(10);
  });
});

describe('pieces, boxes and widths', () => {
  test('every piece is found wherever it lies: top right, bottom left, both diagonals, the corners', () => {
    const m = new Uint8Array(W * H);
    for (let i = 0; i < 30; i++) {
      m[(2 + i) * W + 110 - i] = 255; // "/" from (110, 2) down-left to (81, 31)
      m[(5 + i) * W + 40 + i] = 255; // "\" from (40, 5) to (69, 34)
    }
    rect(m, W, 0, 36, 30, 37); // bottom left, touching the left edge
    rect(m, W, 90, 0, 120, 1); // the top edge, touching the right edge
    const r = run(m, { threshold: 0.5, minLengthPx: 20 });
    expect(r.crack_count).toBe(4);
    const boxes = r.cracks.map((c) => c.bbox).sort((a, b) => a.x - b.x || a.y - b.y);
    expect(boxes).toEqual([
      { x: 0, y: 36, w: 30, h: 1 },
      { x: 40, y: 5, w: 30, h: 30 },
      { x: 81, y: 2, w: 30, h: 30 },
      { x: 90, y: 0, w: 30, h: 1 },
    ]);
    for (const c of r.cracks) expect(labelled(r, c.id)).toBe(c.area_px);
    expect(r.crack_pixels).toBe(120);
    expect(crackAt(r, 0, 36)).not.toBe(0);
    expect(crackAt(r, 119, 0)).not.toBe(0);
  });

  test('a faint rim continues a crack, it does not widen it: a 3 px crack in a 5 px band is 3 px wide', () => {
    const r = run(mask([10, 9, 100, 14, 110], [10, 10, 100, 13]), { threshold: 0.6 });
    expect(r.crack_count).toBe(1);
    const c = r.cracks[0];
    expect(c.max_width_px).toBe(3);
    expect(c.area_px).toBe(270);
    expect(c.bbox).toEqual({ x: 10, y: 9, w: 90, h: 5 });
    expect(labelled(r, 1)).toBe(450);
    expect(c.mean_width_px).toBeCloseTo(270 / (c.length_px - c.inferred_length_px), 12);
    // the same band all at the threshold is 5 px wide
    expect(run(mask([10, 9, 100, 14]), { threshold: 0.6 }).cracks[0].max_width_px).toBe(5);
  });

  test('wide cracks (past the local search): 21 px, with and without a faint rim, and at the image edge', () => {
    expect(run(mask([10, 6, 100, 27]), { threshold: 0.6 }).cracks[0].max_width_px).toBe(21);
    const rim = run(mask([10, 5, 100, 28, 110], [10, 6, 100, 27]), { threshold: 0.6 });
    expect(rim.cracks[0].max_width_px).toBe(21);
    expect(rim.cracks[0].area_px).toBe(21 * 90);
    // the rim on one side only
    const one = run(mask([10, 6, 100, 28, 110], [10, 6, 100, 27]), { threshold: 0.6 });
    expect(one.cracks[0].max_width_px).toBe(21);
    // touching the top, bottom and right edges: the band is the full height
    const edge = run(mask([60, 0, 120, 40]), { threshold: 0.6, minLengthPx: 10 });
    expect(edge.cracks[0].bbox).toEqual({ x: 60, y: 0, w: 60, h: 40 });
    expect(edge.cracks[0].max_width_px).toBeGreaterThanOrEqual(39);
    expect(edge.cracks[0].max_width_px).toBeLessThanOrEqual(41);
    // two wide cracks in one frame, one at the top edge, one with a rim
    const both = run(mask([5, 0, 115, 17], [5, 20, 115, 39, 110], [5, 21, 115, 38]), { threshold: 0.6 });
    expect(both.cracks.map((c) => c.max_width_px)).toEqual([17, 17]);
    expect(both.crack_pixels).toBe(2 * 17 * 110);
  });

  // A faint rim on one side pulls the centre line (thinned on the hysteresis mask) off the crack's
  // middle: the width must still be the crack's own, not the distance from the shifted line.
  test('a faint rim on one side neither narrows nor widens a crack: 7 px with a 1 or 3 px rim above or below is 7 px', () => {
    // rows 10…16 at 200 (0.78 ≥ 0.6), rim at 110 (0.43: between 0.4 and 0.6), 90 px long
    const crack: [number, number, number, number, number] = [10, 10, 100, 17, 200];
    const plain = run(mask(crack), { threshold: 0.6 });
    expect(plain.cracks[0].max_width_px).toBe(7);
    for (const rim of [
      [10, 17, 100, 18, 110], // 1 px below
      [10, 17, 100, 20, 110], // 3 px below
      [10, 9, 100, 10, 110], // 1 px above
      [10, 7, 100, 10, 110], // 3 px above
    ] as [number, number, number, number, number][]) {
      const r = run(mask(rim, crack), { threshold: 0.6 });
      expect(r.crack_count, `rim ${rim}`).toBe(1);
      const c = r.cracks[0];
      expect(c.max_width_px, `rim ${rim}`).toBe(7);
      expect(c.area_px).toBe(7 * 90);
      expect(c.bbox.h).toBe(7 + rim[3] - rim[1]);
    }
    // upright, the rim 2 px on the left or the right: 7 px too
    const upright = (x0: number) => run(mask([x0, 2, x0 + 9, 38, 110], [50, 2, 57, 38, 200]), { threshold: 0.6, minLengthPx: 10 });
    expect(upright(48).cracks[0].max_width_px).toBe(7);
    expect(upright(50).cracks[0].max_width_px).toBe(7);
  });

  test('a wide crack (past the local search) with a 3 px rim on one side is 21 px', () => {
    const crack: [number, number, number, number, number] = [10, 6, 100, 27, 200];
    expect(run(mask([10, 6, 100, 30, 110], crack), { threshold: 0.6 }).cracks[0].max_width_px).toBe(21);
    expect(run(mask([10, 3, 100, 27, 110], crack), { threshold: 0.6 }).cracks[0].max_width_px).toBe(21);
    // the crack exactly at the threshold, the rim below
    expect(run(mask([10, 6, 100, 30, 110], [10, 6, 100, 27, 153]), { threshold: 0.6 }).cracks[0].max_width_px).toBe(21);
  });

  // Upright, the rim pulls the centre line sideways: the width search must look across the crack
  // (along x), on the local path (7 px) and on the whole-frame transform (21 px, past the local search).
  test('upright cracks with a 1 or 3 px rim on the left or the right keep their width: 7 px and 21 px', () => {
    const w = 90,
      h = 100;
    const upright = (x0: number, width: number, rimLeft: number, rimRight: number) => {
      const m = new Uint8Array(w * h);
      rect(m, w, x0 - rimLeft, 5, x0 + width + rimRight, 95, 110);
      rect(m, w, x0, 5, x0 + width, 95, 200);
      return analyzeMask(m, w, h, { threshold: 0.6, minLengthPx: 10 });
    };
    for (const width of [7, 21])
      for (const [left, right] of [
        [0, 0],
        [1, 0],
        [3, 0],
        [0, 1],
        [0, 3],
        [2, 0],
        [0, 2],
        [5, 0],
        [0, 5],
      ]) {
        const r = upright(30, width, left, right);
        expect(r.crack_count, `${width} px, rim ${left}/${right}`).toBe(1);
        expect(r.cracks[0].max_width_px, `${width} px, rim ${left}/${right}`).toBe(width);
        expect(r.cracks[0].area_px).toBe(width * 90);
        expect(r.cracks[0].bbox).toEqual({ x: 30 - left, y: 5, w: width + left + right, h: 90 });
      }
  });

  test('a crack whose pixels are exactly at the threshold has its full width inside a faint rim', () => {
    // the crack 153/255 at threshold 0.6: 3 px in a 5 px band, and 21 px (past the local search) in 23
    expect(run(mask([10, 9, 100, 14, 110], [10, 10, 100, 13, 153]), { threshold: 0.6 }).cracks[0].max_width_px).toBe(3);
    const wide = run(mask([10, 5, 100, 28, 110], [10, 6, 100, 27, 153]), { threshold: 0.6 });
    expect(wide.cracks[0].max_width_px).toBe(21);
    expect(wide.crack_pixels).toBe(21 * 90);
  });

  test('a 2×2 blob that thinning erases keeps one centre-line point: length 1, width 1, its 4 pixels', () => {
    const r = run(mask([5, 5, 7, 7], [50, 20, 52, 22], [10, 30, 100, 31]), { threshold: 0.5, minLengthPx: 0, minAreaPx: 1 });
    expect(r.crack_count).toBe(3);
    const blobs = r.cracks.filter((c) => c.area_px === 4);
    expect(blobs).toHaveLength(2);
    for (const b of blobs) {
      expect(b.length_px).toBe(1);
      expect(b.max_width_px).toBe(1);
      expect(b.mean_width_px).toBe(4);
      expect(labelled(r, b.id)).toBe(4);
    }
    expect(blobs.map((b) => b.centroid)).toEqual([
      { x: 5.5, y: 5.5 },
      { x: 50.5, y: 20.5 },
    ]);
    expect(r.cracks[0].length_px).toBe(90);
  });

  test('a blob alone in the frame, and a 3×2 one, also keep their point', () => {
    for (const [w, h] of [
      [2, 2],
      [3, 2],
      [2, 3],
    ]) {
      const r = run(mask([5, 5, 5 + w, 5 + h]), { threshold: 0.6, minLengthPx: 0, minAreaPx: 1 });
      expect(r.crack_count).toBe(1);
      expect(r.cracks[0].length_px).toBe(1);
      expect(r.cracks[0].area_px).toBe(w * h);
      expect(labelled(r, 1)).toBe(w * h);
    }
  });
});

describe('bridged pieces are one crack', () => {
  // two 3 px pieces, x 10–49 and 60–99, with 10 px of bare wall between (bridged at bridgeMinProb 0)
  const m = mask([10, 10, 50, 13], [60, 10, 100, 13]);

  test('one crack: its area, box, centroid and labels span both pieces; the gap is inferred length', () => {
    const r = run(m, { threshold: 0.5, bridgeMinProb: 0 });
    expect(r.crack_count).toBe(1);
    expect(r.speck_count).toBe(0);
    const c = r.cracks[0];
    expect(c.area_px).toBe(240);
    expect(r.crack_pixels).toBe(240);
    expect(c.bbox).toEqual({ x: 10, y: 10, w: 90, h: 3 });
    expect(c.centroid).toEqual({ x: 54.5, y: 11 });
    expect(labelled(r, 1)).toBe(240);
    expect(crackAt(r, 10, 10)).toBe(1);
    expect(crackAt(r, 99, 12)).toBe(1);
    expect(crackAt(r, 55, 11)).toBe(0); // the bridge is not painted
    expect(c.bridges).toBe(1);
    expect(r.bridges).toHaveLength(1);
    expect(r.bridges[0].crack).toBe(1);
    expect(Math.abs(c.inferred_length_px - 10)).toBeLessThanOrEqual(1);
    expect(Math.abs(c.length_px - 90)).toBeLessThanOrEqual(1);
    expect(r.inferred_length_px).toBe(c.inferred_length_px);
    expect(r.total_length_px).toBe(c.length_px);
    // widths: of the drawn part only (area over the length less the bridge)
    expect(c.max_width_px).toBe(3);
    expect(c.mean_width_px).toBeCloseTo(240 / (c.length_px - c.inferred_length_px), 12);
    expect(r.mean_width_px).toBeCloseTo(240 / (r.total_length_px - r.inferred_length_px), 12);
    expect(r.max_width_px).toBe(3);
    // not bridged over bare wall by default: two cracks (each under the default 40 px long)
    const apart = run(m, { threshold: 0.5, minLengthPx: 30 });
    expect(apart.crack_count).toBe(2);
    expect(apart.bridges).toEqual([]);
    expect(apart.cracks.map((k) => k.bbox.x).sort((a, b) => a - b)).toEqual([10, 60]);
  });

  test('calibrated: every mm field is its px field × mm_per_px (× mm_per_px² for areas)', () => {
    const k = 0.5; // exact in binary: the products are exact
    const px = run(m, { threshold: 0.5, bridgeMinProb: 0 });
    const r = run(m, { threshold: 0.5, bridgeMinProb: 0, mmPerPx: k });
    const c = r.cracks[0];
    expect(c.area_mm2).toBe(240 * k * k);
    expect(c.length_mm).toBe(c.length_px * k);
    expect(c.inferred_length_mm).toBe(c.inferred_length_px * k);
    expect(c.max_width_mm).toBe(3 * k);
    expect(c.mean_width_mm).toBe(c.mean_width_px * k);
    expect(c.bbox_mm).toEqual({ x: 10 * k, y: 10 * k, w: 90 * k, h: 3 * k });
    expect(c.centroid_mm).toEqual({ x: 54.5 * k, y: 11 * k });
    expect(r.bridges[0].length_mm).toBe(r.bridges[0].length_px * k);
    expect(r.total_length_mm).toBe(r.total_length_px * k);
    expect(r.inferred_length_mm).toBe(r.inferred_length_px * k);
    expect(r.max_width_mm).toBe(3 * k);
    expect(r.mean_width_mm).toBe(r.mean_width_px * k);
    expect(r.crack_area_mm2).toBe(240 * k * k);
    expect(r.identity.min_length_mm).toBe(40 * k);
    expect(r.identity.max_gap_mm).toBe(50 * k);
    // uncalibrated: no mm field anywhere
    const mmKeys = (o: object) => JSON.stringify(reportToJson(o as CrackReport)).match(/_mm2?"/g) ?? [];
    expect(px.mm_per_px).toBeNull();
    expect(mmKeys(px)).toEqual([]);
    expect(mmKeys(r).length).toBe(5 + 2 + 1 + 7); // report, identity, bridge, crack
  });
});

describe('bridges along the image edge', () => {
  // a 1 px crack on the first column / first row with a 5–6 px stretch of value v in it: faint
  // (60/255 = 0.24) it is bridged; bare wall (20/255 = 0.08 < bridge_min_prob 0.1) leaves two cracks.
  // A crack's length counts its centre-line pixels, the bridged ones included.
  test.each([
    {
      edge: 'left',
      withGap: (v: number) => mask([0, 2, 1, 18], [0, 18, 1, 23, v], [0, 23, 1, 38]),
      bbox: { x: 0, y: 2, w: 1, h: 36 },
      length: 36,
      gap: 5,
    },
    {
      edge: 'top',
      withGap: (v: number) => mask([10, 0, 50, 1], [50, 0, 56, 1, v], [56, 0, 100, 1]),
      bbox: { x: 10, y: 0, w: 90, h: 1 },
      length: 90,
      gap: 6,
    },
  ])('a faint gap in a crack on the $edge edge is bridged, with its mean probability', ({ withGap, bbox, length, gap }) => {
    const at = (v: number) => run(withGap(v), { threshold: 0.6, minLengthPx: 10 });
    const r = at(60);
    expect(r.crack_count).toBe(1);
    expect(r.bridges.map((b) => b.mean_prob)).toEqual([60 / 255]);
    expect(r.cracks[0].bbox).toEqual(bbox);
    expect(r.cracks[0].length_px).toBe(length);
    expect(r.cracks[0].inferred_length_px).toBe(gap);
    expect(at(20).crack_count).toBe(2);
  });
});

describe('crackAt: a tap at the image edges', () => {
  // a crack along the top row and one along the bottom row, both from x 0 to the right edge
  // (computed in each test, not at collection: Stryker's per-test coverage would see the whole
  // module as "static" and run every test for every mutant)
  const edges = () => {
    const r = run(mask([0, 0, W, 1], [0, H - 1, W, H]), { threshold: 0.5 });
    return { r, top: crackAt(r, 0, 0), bottom: crackAt(r, 0, H - 1) };
  };

  test('the first and last pixels answer, a fraction in is the same pixel', () => {
    const { r, top, bottom } = edges();
    expect(new Set([top, bottom])).toEqual(new Set([1, 2]));
    expect(crackAt(r, W - 1, 0)).toBe(top);
    expect(crackAt(r, W - 0.01, 0.99)).toBe(top);
    expect(crackAt(r, 0.5, H - 0.5)).toBe(bottom);
    expect(crackAt(r, 5, 1)).toBe(0);
    expect(crackAt(r, 5, H - 2 + 0.99)).toBe(0);
  });

  test('outside the image is no crack, never the next row or a neighbour across the edge', () => {
    const { r } = edges();
    expect(crackAt(r, W, 0)).toBe(0); // would be (0, 1) in the next row: 0 anyway, see below
    expect(crackAt(r, W, H - 2)).toBe(0); // (0, H-1) is the bottom crack
    expect(crackAt(r, W + 0.5, H - 2)).toBe(0);
    expect(crackAt(r, -0.01, 0)).toBe(0);
    expect(crackAt(r, -1, 1)).toBe(0); // (W-1, 0) is the top crack
    expect(crackAt(r, 0, H)).toBe(0);
    expect(crackAt(r, 0, -0.01)).toBe(0);
    expect(crackAt(r, 3, -1)).toBe(0);
  });
});

describe('reportToJson', () => {
  // a hand-made report: which fields get 2 digits (px) and which 4 (mm), nested ones included
  const report = {
    width: 10,
    height: 10,
    threshold: 0.123456,
    mm_per_px: 0.0123456,
    total_length_px: 12.345678,
    total_length_mm: 1.23456789,
    crack_area_mm2: 0.00123456,
    crack_count: 1,
    identity: { continue_threshold: 0.4, max_gap_mm: 0.6172839 },
    cracks: [
      {
        id: 1,
        mean_width_px: 2.004999,
        mean_width_mm: 0.02470001,
        bbox: { x: 1, y: 2, w: 3, h: 4 },
        bbox_mm: { x: 0.0123456, y: 0.0246912, w: 0.03, h: 0.05 },
        centroid: { x: 3.14159, y: -2.71828 },
        centroid_mm: { x: 0.038785, y: -0.03356 },
      },
    ],
    bridges: [{ crack: 1, line: [[1.23456, 2.34567]], length_px: 10.006, mean_prob: 0.33333, length_mm: 0.1234567 }],
    labels: new Int32Array(100),
  } as unknown as CrackReport;

  test('rounds px values to 0.01 and mm values (and mm_per_px) to 0.0001, at every depth; drops labels', () => {
    const j = reportToJson(report) as unknown as Record<string, unknown>;
    expect(j).toEqual({
      width: 10,
      height: 10,
      threshold: 0.12,
      mm_per_px: 0.0123,
      total_length_px: 12.35,
      total_length_mm: 1.2346,
      crack_area_mm2: 0.0012,
      crack_count: 1,
      identity: { continue_threshold: 0.4, max_gap_mm: 0.6173 },
      cracks: [
        {
          id: 1,
          mean_width_px: 2,
          mean_width_mm: 0.0247,
          bbox: { x: 1, y: 2, w: 3, h: 4 },
          bbox_mm: { x: 0.0123, y: 0.0247, w: 0.03, h: 0.05 },
          centroid: { x: 3.14, y: -2.72 },
          centroid_mm: { x: 0.0388, y: -0.0336 },
        },
      ],
      bridges: [{ crack: 1, line: [[1.23, 2.35]], length_px: 10.01, mean_prob: 0.33, length_mm: 0.1235 }],
    });
    expect('labels' in j).toBe(false);
    // the report itself is left as it was
    expect(report.threshold).toBe(0.123456);
    expect(report.labels).toHaveLength(100);
  });

  test('an uncalibrated report (mm_per_px null) keeps its null and integers as they are', () => {
    const r = run(mask([10, 10, 100, 11]), { threshold: 0.5 });
    const j = reportToJson(r) as unknown as Record<string, unknown>;
    expect(j.mm_per_px).toBeNull();
    expect(j.crack_pixels).toBe(90);
    expect(j.threshold).toBe(0.5);
    expect(j.identity).toMatchObject({ continue_threshold: 0.33, bridge_min_prob: 0.1 });
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
});
