import { describe, expect, test } from 'vitest';
import { analyzeMask, crackAt, reportToJson } from '../server/analysis/crack-measure.js';

const W = 640,
  H = 384;

/** Paints a capsule: every pixel whose centre lies within r of the segment (x0,y0)–(x1,y1). */
function capsule(m: Uint8Array, w: number, x0: number, y0: number, x1: number, y1: number, r: number, value = 255) {
  const h = m.length / w;
  const dx = x1 - x0,
    dy = y1 - y0,
    l2 = dx * dx + dy * dy || 1;
  const xa = Math.max(0, Math.floor(Math.min(x0, x1) - r - 1)),
    xb = Math.min(w - 1, Math.ceil(Math.max(x0, x1) + r + 1));
  const ya = Math.max(0, Math.floor(Math.min(y0, y1) - r - 1)),
    yb = Math.min(h - 1, Math.ceil(Math.max(y0, y1) + r + 1));
  for (let y = ya; y <= yb; y++)
    for (let x = xa; x <= xb; x++) {
      const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / l2));
      const ex = x0 + t * dx - x,
        ey = y0 + t * dy - y;
      if (ex * ex + ey * ey <= r * r) m[y * w + x] = Math.max(m[y * w + x], value);
    }
}

/** A straight crack of width `width` and tip-to-tip length `length` through the image centre. */
function line(width: number, length: number, angleDeg: number) {
  const m = new Uint8Array(W * H);
  const a = (angleDeg * Math.PI) / 180,
    half = (length - width) / 2;
  const cx = 320 + (width % 2 ? 0 : 0.5),
    cy = 192 + (width % 2 ? 0 : 0.5);
  capsule(m, W, cx - Math.cos(a) * half, cy - Math.sin(a) * half, cx + Math.cos(a) * half, cy + Math.sin(a) * half, width / 2);
  return m;
}

describe('analyzeMask', () => {
  test('empty mask: zeros', () => {
    const r = analyzeMask(new Uint8Array(W * H), W, H, { threshold: 0.5 });
    expect(r.crack_count).toBe(0);
    expect(r.crack_pixels).toBe(0);
    expect(r.total_length_px).toBe(0);
    expect(r.max_width_px).toBe(0);
    expect(r.mean_width_px).toBe(0);
    expect(r.cracks).toEqual([]);
    expect(r.bridges).toEqual([]);
    expect(r.labels.every((v) => v === 0)).toBe(true);
  });

  test('below-threshold probabilities are not cracks', () => {
    const m = new Uint8Array(W * H);
    capsule(m, W, 100, 100, 400, 100, 3, 120); // p = 0.47
    expect(analyzeMask(m, W, H, { threshold: 0.5 }).crack_count).toBe(0);
    expect(analyzeMask(m, W, H, { threshold: 0.4 }).crack_count).toBe(1);
  });

  for (const width of [1, 2, 3, 5, 9, 15]) {
    for (const angle of [0, 12, 30, 45, 71, 90]) {
      test(`straight crack ${width} px wide at ${angle}°: length within 3 %, width within ±1 px`, () => {
        const length = 260;
        const r = analyzeMask(line(width, length, angle), W, H, { threshold: 0.5 });
        expect(r.crack_count).toBe(1);
        const c = r.cracks[0];
        expect(Math.abs(c.length_px / length - 1)).toBeLessThan(0.03);
        expect(Math.abs(c.max_width_px - width)).toBeLessThanOrEqual(1);
        expect(Math.abs(c.mean_width_px - width)).toBeLessThanOrEqual(1);
        expect(c.endpoints).toBe(2);
        expect(c.area_px).toBe(r.crack_pixels);
      });
    }
  }

  test('axis-aligned rectangle: exact width and bbox', () => {
    const m = new Uint8Array(W * H);
    for (let y = 50; y < 57; y++) for (let x = 100; x < 300; x++) m[y * W + x] = 200;
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    const c = r.cracks[0];
    expect(c.max_width_px).toBe(7);
    expect(c.mean_width_px).toBeCloseTo(7, 0);
    expect(c.bbox).toEqual({ x: 100, y: 50, w: 200, h: 7 });
    expect(c.centroid.x).toBeCloseTo(199.5, 6);
    expect(c.centroid.y).toBeCloseTo(53, 6);
    expect(c.area_px).toBe(1400);
  });

  test('two separate cracks: count 2, longest first, labels match', () => {
    const m = new Uint8Array(W * H);
    capsule(m, W, 50, 50, 250, 60, 2);
    capsule(m, W, 400, 100, 420, 350, 3);
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    expect(r.crack_count).toBe(2);
    expect(r.cracks.map((c) => c.id)).toEqual([1, 2]);
    expect(r.cracks[0].length_px).toBeGreaterThan(r.cracks[1].length_px);
    expect(r.cracks[0].bbox.x).toBeGreaterThan(390); // the vertical one is longer
    expect(crackAt(r, 410, 225)).toBe(1);
    expect(crackAt(r, 150, 55)).toBe(2);
    expect(crackAt(r, 5, 5)).toBe(0);
    expect(crackAt(r, -1, 5000)).toBe(0);
    let n1 = 0,
      n2 = 0;
    for (const v of r.labels) {
      if (v === 1) n1++;
      else if (v === 2) n2++;
    }
    expect([n1, n2]).toEqual([r.cracks[0].area_px, r.cracks[1].area_px]);
    expect(r.total_length_px).toBeCloseTo(r.cracks[0].length_px + r.cracks[1].length_px, 9);
    expect(r.max_width_px).toBe(Math.max(r.cracks[0].max_width_px, r.cracks[1].max_width_px));
  });

  test('diagonal-touching cracks are one component (8-connectivity)', () => {
    const m = new Uint8Array(W * H);
    for (let x = 10; x < 60; x++) m[20 * W + x] = 255;
    for (let x = 60; x < 110; x++) m[21 * W + x] = 255; // touches (59,20) diagonally
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    expect(r.crack_count).toBe(1);
    expect(r.cracks[0].length_px).toBeGreaterThan(98);
    expect(r.cracks[0].length_px).toBeLessThan(102);
  });

  test('branching crack: one component, length ≈ sum of branches, 3 end points', () => {
    const m = new Uint8Array(W * H);
    capsule(m, W, 100, 200, 300, 200, 2.5); // trunk, 200 px between centres
    capsule(m, W, 200, 200, 280, 120, 1.5); // branch, 113 px
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    expect(r.crack_count).toBe(1);
    const c = r.cracks[0];
    expect(c.endpoints).toBe(3);
    const expected = 205 + Math.hypot(80, 80) + 1.5; // trunk tip to tip + branch to its tip
    expect(Math.abs(c.length_px / expected - 1)).toBeLessThan(0.04);
    expect(c.max_width_px).toBeGreaterThanOrEqual(4);
    expect(c.max_width_px).toBeLessThanOrEqual(6);
  });

  test('jagged edges do not add spurs to the length', () => {
    // a 9 px crack whose edges wobble by ±1–2 px, as a thresholded model output does
    const m = new Uint8Array(W * H);
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let x = 100; x < 500; x++) {
      const top = 200 - 4 - Math.round(rnd() * 2),
        bot = 200 + 4 + Math.round(rnd() * 2);
      for (let y = top; y <= bot; y++) m[y * W + x] = 255;
    }
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    expect(r.crack_count).toBe(1);
    expect(Math.abs(r.cracks[0].length_px / 400 - 1)).toBeLessThan(0.05);
    expect(r.cracks[0].endpoints).toBeLessThanOrEqual(4);
  });

  test('specks below min_area_px are ignored and counted as specks', () => {
    const m = new Uint8Array(W * H);
    capsule(m, W, 100, 100, 200, 100, 1.5);
    m[300 * W + 300] = 255;
    m[300 * W + 301] = 255;
    m[301 * W + 300] = 255; // 3 px
    for (let y = 10; y < 13; y++) for (let x = 500; x < 503; x++) m[y * W + x] = 255; // 9 px
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    expect(r.min_area_px).toBe(10);
    expect(r.crack_count).toBe(1);
    expect(r.speck_count).toBe(2);
    expect(r.speck_pixels).toBe(12);
    expect(crackAt(r, 300, 300)).toBe(0);
    const keepAll = analyzeMask(m, W, H, { threshold: 0.5, minAreaPx: 1, minLengthPx: 0 });
    expect(keepAll.crack_count).toBe(3);
    // a 2×2 blob (which Zhang–Suen would erase) still gets a length and a width
    const blob = keepAll.cracks.find((c) => c.area_px === 3)!;
    expect(blob.length_px).toBeGreaterThan(0);
    expect(blob.max_width_px).toBeGreaterThanOrEqual(1);
  });

  test('mm values are exactly proportional to mmPerPx', () => {
    const m = line(5, 200, 30);
    capsule(m, W, 20, 20, 20, 300, 1);
    const px = analyzeMask(m, W, H, { threshold: 0.5 });
    expect(px.mm_per_px).toBeNull();
    expect(px.total_length_mm).toBeUndefined();
    for (const k of [0.05, 0.2, 1.7]) {
      const mm = analyzeMask(m, W, H, { threshold: 0.5, mmPerPx: k });
      expect(mm.mm_per_px).toBe(k);
      expect(mm.total_length_mm).toBeCloseTo(px.total_length_px * k, 10);
      expect(mm.max_width_mm).toBeCloseTo(px.max_width_px * k, 10);
      expect(mm.mean_width_mm).toBeCloseTo(px.mean_width_px * k, 10);
      expect(mm.crack_area_mm2).toBeCloseTo(px.crack_pixels * k * k, 10);
      mm.cracks.forEach((c, i) => {
        const p = px.cracks[i];
        expect(c.length_mm).toBeCloseTo(p.length_px * k, 10);
        expect(c.max_width_mm).toBeCloseTo(p.max_width_px * k, 10);
        expect(c.mean_width_mm).toBeCloseTo(p.mean_width_px * k, 10);
        expect(c.area_mm2).toBeCloseTo(p.area_px * k * k, 10);
        expect(c.bbox_mm!.w).toBeCloseTo(p.bbox.w * k, 10);
        expect(c.centroid_mm!.x).toBeCloseTo(p.centroid.x * k, 10);
      });
      // the pixel numbers do not change with calibration
      expect(mm.total_length_px).toBe(px.total_length_px);
    }
  });

  test('cracks touching the image border are measured', () => {
    const m = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < 3; x++) m[y * W + x] = 255;
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    expect(r.crack_count).toBe(1);
    expect(r.cracks[0].bbox).toEqual({ x: 0, y: 0, w: 3, h: H });
    expect(Math.abs(r.cracks[0].length_px / H - 1)).toBeLessThan(0.03);
    expect(r.cracks[0].max_width_px).toBe(3);
  });

  test('reportToJson drops labels and rounds', () => {
    const r = analyzeMask(line(3, 100, 20), W, H, { threshold: 0.5, mmPerPx: 0.1 });
    const j = reportToJson(r) as unknown as Record<string, unknown>;
    expect(j.labels).toBeUndefined();
    const text = JSON.stringify(j);
    expect(text).not.toMatch(/\d\.\d{5,}/);
    expect((j.cracks as unknown[]).length).toBe(1);
    expect(j.crack_count).toBe(1);
  });

  test('bad arguments throw', () => {
    expect(() => analyzeMask(new Uint8Array(10), 4, 4, { threshold: 0.5 })).toThrow(RangeError);
    expect(() => analyzeMask(new Uint8Array(16), 4, 4, { threshold: 0 })).toThrow(RangeError);
    expect(() => analyzeMask(new Uint8Array(16), 4, 4, { threshold: 0.5, mmPerPx: -1 })).toThrow(RangeError);
  });

  test('a crack network at 384×640 (craquelure and two open cracks): every pixel at the threshold is a crack or a speck', () => {
    // its speed is measured by `crackscope bench` (the measure stage), not here
    // craquelure: a jittered grid of thin cracks, plus a few wide open cracks
    const m = new Uint8Array(W * H);
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let gy = 0; gy <= H; gy += 48)
      for (let gx = 0; gx <= W; gx += 48) {
        const x = gx + rnd() * 16,
          y = gy + rnd() * 16;
        capsule(m, W, x, y, x + 48 + rnd() * 10, y + rnd() * 12 - 6, 0.5 + rnd(), 160 + Math.round(rnd() * 95));
        capsule(m, W, x, y, x + rnd() * 12 - 6, y + 48 + rnd() * 10, 0.5 + rnd(), 160 + Math.round(rnd() * 95));
      }
    capsule(m, W, 0, 50, 640, 330, 7);
    capsule(m, W, 320, 0, 250, 384, 4);
    let cover = 0;
    for (const v of m) if (v >= 128) cover++;
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    console.log(`craquelure: ${r.crack_count} cracks, ${r.crack_pixels} + ${r.speck_pixels} specks of ${cover} px`);
    expect(r.crack_count).toBeGreaterThan(0);
    expect(r.crack_pixels + r.speck_pixels).toBe(cover);
  });
});

/** Paints a crack along a polyline with a probability per point along it: value(t), t = distance from the start. */
function profiledCrack(m: Uint8Array, w: number, pts: [number, number][], r: number, value: (t: number) => number) {
  let t = 0;
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1],
      [x1, y1] = pts[i];
    const len = Math.hypot(x1 - x0, y1 - y0);
    for (let s = 0; s < len; s += 0.5) {
      const x = x0 + ((x1 - x0) * s) / len,
        y = y0 + ((y1 - y0) * s) / len;
      const v = value(t + s);
      if (v > 0) capsule(m, w, x, y, x, y, r, v);
    }
    t += len;
  }
  return t;
}

describe('crack identity: one crack is one crack', () => {
  // the church-wall case: a crack with one branch that the model traces well at both ends and only
  // faintly in the middle (below the crack threshold, and in one place hardly at all)
  const threshold = 0.6; // crackunet-v2's manifest threshold
  const trunk: [number, number][] = [
    [40, 200],
    [140, 180],
    [240, 215],
    [340, 190],
    [440, 210],
    [600, 185],
  ];
  const profile = (t: number) => {
    if (t > 180 && t < 260) return 110; // faint: p = 0.43, under the threshold, over the continue level
    if (t > 300 && t < 316) return 45; // almost nothing for 16 px: p = 0.18
    if (t > 316 && t < 360) return 108; // faint again
    return 235;
  };
  const wall = () => {
    const m = new Uint8Array(W * H);
    const length = profiledCrack(m, W, trunk, 1.5, profile);
    capsule(m, W, 500, 202, 560, 300, 1.5, 230); // a branch leaving the trunk near its right end
    return { m, length: length + Math.hypot(60, 98) };
  };

  test('a crack whose middle is faint is one crack, with its branch; its length counts the bridged gap as inferred', () => {
    const { m, length } = wall();
    const r = analyzeMask(m, W, H, { threshold });
    expect(r.crack_count).toBe(1);
    const c = r.cracks[0];
    expect(c.branches).toBe(4); // the trunk's seen part left of the gap; right of it, split at the junction; the branch
    expect(c.endpoints).toBe(3);
    expect(c.bridges).toBe(1);
    expect(r.bridges).toHaveLength(1);
    expect(r.bridges[0].crack).toBe(1);
    // the faint 16 px (plus the few pixels the two tips fall short) are inferred, not seen
    expect(c.inferred_length_px).toBeGreaterThan(12);
    expect(c.inferred_length_px).toBeLessThan(25);
    expect(Math.abs(c.length_px / length - 1)).toBeLessThan(0.04);
    // every pixel of the crack, faint ones included, answers a tap with the same crack
    expect(crackAt(r, 232, 212)).toBe(1); // in the faint stretch
    expect(crackAt(r, 60, 196)).toBe(1);
    expect(crackAt(r, 580, 188)).toBe(1);
    // before issue 20 (one threshold, connected pixels): the same crack in three pieces, each shorter
    const old = analyzeMask(m, W, H, { threshold, hysteresis: false, maxGapPx: 0 });
    expect(old.crack_count).toBeGreaterThanOrEqual(3);
    expect(old.total_length_px).toBeLessThan(0.85 * length);
  });

  test('each limit is a named setting, reported in px and, when calibrated, in mm', () => {
    const { m } = wall();
    const r = analyzeMask(m, W, H, { threshold, mmPerPx: 0.2 });
    expect(r.identity).toMatchObject({
      continue_threshold: expect.closeTo(0.4, 2),
      min_length_px: 40,
      max_gap_px: 50,
      max_gap_angle_deg: 40,
      bridge_min_prob: 0.1,
      gap_lateral_widths: 1,
    });
    expect(r.identity.max_gap_mm).toBeCloseTo(10, 10);
    expect(r.identity.min_length_mm).toBeCloseTo(8, 10);
    expect(r.cracks[0].inferred_length_mm).toBeCloseTo(r.cracks[0].inferred_length_px * 0.2, 10);
    // a gap longer than max_gap_px stays a gap: two cracks
    expect(analyzeMask(m, W, H, { threshold, maxGapPx: 10 }).crack_count).toBe(2);
  });

  test('gaps are bridged only between ends that line up, over a faint stretch', () => {
    const m = new Uint8Array(W * H);
    capsule(m, W, 50, 100, 250, 100, 1.5, 230);
    capsule(m, W, 270, 100, 450, 100, 1.5, 230); // 20 px gap on bare wall (p = 0)
    capsule(m, W, 50, 250, 250, 250, 1.5, 230);
    capsule(m, W, 265, 255, 265, 370, 1.5, 230); // 15 px away, but at a right angle
    capsule(m, W, 251, 250, 264, 250, 1.5, 60); // (faint stretch between them: p = 0.24)
    const r = analyzeMask(m, W, H, { threshold: 0.6 });
    expect(r.bridges).toEqual([]);
    expect(r.crack_count).toBe(4);
    // with the faint stretch under the first gap too, those two ends are one crack
    capsule(m, W, 251, 100, 269, 100, 1.5, 60);
    const r2 = analyzeMask(m, W, H, { threshold: 0.6 });
    expect(r2.crack_count).toBe(3);
    expect(r2.bridges).toHaveLength(1);
    expect(r2.bridges[0].line[0][1]).toBeCloseTo(100, 0);
  });

  test('the church-wall crack as crackunet-v3 marks it (7 px wide, threshold 0.5) is one crack too', () => {
    const m = new Uint8Array(W * H);
    const length = profiledCrack(m, W, trunk, 3.5, profile);
    capsule(m, W, 500, 202, 560, 300, 3.5, 230);
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    expect(r.crack_count).toBe(1);
    expect(r.cracks[0].bridges).toBe(1);
    expect(r.cracks[0].endpoints).toBe(3);
    expect(Math.abs(r.cracks[0].length_px / (length + Math.hypot(60, 98)) - 1)).toBeLessThan(0.05);
    expect(r.cracks[0].max_width_px).toBeGreaterThanOrEqual(6);
  });

  test('the end of a wide crack points only to within its width: a bridge past the angle but within gap_lateral_widths widths is taken', () => {
    const m = new Uint8Array(W * H);
    capsule(m, W, 100, 200, 300, 200, 4, 230); // 9 px wide
    capsule(m, W, 314, 207, 500, 207, 4, 230); // the same crack, 5 px on and 7 px to the side
    capsule(m, W, 300, 200, 314, 207, 1.5, 60); // faint between (p = 0.24)
    const r = analyzeMask(m, W, H, { threshold: 0.5 });
    expect(r.identity.gap_lateral_widths).toBe(1);
    expect(r.crack_count).toBe(1);
    expect(r.bridges).toHaveLength(1);
    // the angle alone (about 45° between the ends) would keep them apart
    expect(analyzeMask(m, W, H, { threshold: 0.5, gapLateralWidths: 0 }).crack_count).toBe(2);
  });

  test('specks shorter than min_length_px are dropped; faint pieces without a seed are not cracks', () => {
    const m = new Uint8Array(W * H);
    capsule(m, W, 100, 100, 300, 100, 1.5, 230);
    capsule(m, W, 100, 300, 125, 300, 1.5, 230); // 28 px long: a speck
    capsule(m, W, 300, 300, 500, 300, 1.5, 120); // long but never above the threshold (p 0.47 < 0.6)
    const r = analyzeMask(m, W, H, { threshold: 0.6 });
    expect(r.crack_count).toBe(1);
    expect(crackAt(r, 106, 300)).toBe(0);
    expect(crackAt(r, 400, 300)).toBe(0);
    expect(analyzeMask(m, W, H, { threshold: 0.6, minLengthPx: 20 }).crack_count).toBe(2);
  });
});
