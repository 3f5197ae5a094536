// The survey's measurement for large masks (server/survey/crack-graph.ts): block-wise thinning
// must give the whole-image skeleton, and the traced polylines the cracks' lengths and widths.
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { analyzeMask } from '../server/analysis/crack-measure.js';
import { skeletonFromMask, traceCracks } from '../server/survey/crack-graph.js';
import { classify, parseWidthClasses } from '../server/survey/width-classes.js';
import { diffMaps, type MapBranch } from '../server/survey/diff.js';
import { tileFetch, tileGrid } from '../server/survey/tiling.js';
import { crackSvg, wavyCracks, type TruthCrack } from './helpers/synthetic-wall.js';

async function renderMask(width: number, height: number, cracks: TruthCrack[], extraSvg = ''): Promise<Uint8Array> {
  const svg = crackSvg(width, height, cracks, '#ffffff').replace('</svg>', `${extraSvg}</svg>`);
  const buf = await sharp({ create: { width, height, channels: 3, background: '#000' } })
    .composite([{ input: Buffer.from(svg) }])
    .extractChannel(0)
    .raw()
    .toBuffer();
  return new Uint8Array(buf);
}
const rowsOf = (mask: Uint8Array, width: number) => (y: number, rows: number) => mask.subarray(y * width, (y + rows) * width);

describe('block-wise thinning', () => {
  test('gives exactly the whole-image skeleton, for crossing cracks of widths 1–15 px cut by many block borders', async () => {
    const W = 1500,
      H = 1100;
    const cracks = wavyCracks(W, H, 7, 3, [1, 3, 5, 9, 15, 2, 6], 6);
    // crossings and a branching network across block corners
    const extra =
      '<g stroke="#fff" fill="none"><path d="M100,50 L1400,1050" stroke-width="7"/><path d="M1400,60 L90,1000" stroke-width="4"/><circle cx="512" cy="512" r="120" stroke-width="5"/></g>';
    const mask = await renderMask(W, H, cracks, extra);
    const whole = await skeletonFromMask(rowsOf(mask, W), W, H, { threshold: 0.5, block: 4096 });
    const blocked = await skeletonFromMask(rowsOf(mask, W), W, H, { threshold: 0.5, block: 256, margin: 64 });
    expect(whole.keys.length).toBeGreaterThan(5000);
    expect(blocked.crackPixels).toBe(whole.crackPixels);
    expect(Array.from(blocked.keys)).toEqual(Array.from(whole.keys));
    expect(Array.from(blocked.dist)).toEqual(Array.from(whole.dist));
    // and the margin matters: without it, the cut ends at block borders change the skeleton
    const noMargin = await skeletonFromMask(rowsOf(mask, W), W, H, { threshold: 0.5, block: 256, margin: 0 });
    expect(Array.from(noMargin.keys)).not.toEqual(Array.from(whole.keys));
  });
});

describe('tracing', () => {
  test.each([0, 10, 27, 45, 63, 90, 120])('a straight crack at %i°, 5 px wide and 400 px long: length within 1 %, max width 5', async (deg) => {
    const W = 700,
      H = 700,
      a = (deg * Math.PI) / 180;
    const c: TruthCrack = {
      points: [
        [350 - 200 * Math.cos(a), 350 - 200 * Math.sin(a)],
        [350 + 200 * Math.cos(a), 350 + 200 * Math.sin(a)],
      ],
      width: 5,
      length: 400,
    };
    const mask = await renderMask(W, H, [c]);
    const { cracks, branches } = traceCracks(await skeletonFromMask(rowsOf(mask, W), W, H, { threshold: 0.5, block: 256 }));
    expect(cracks).toHaveLength(1);
    expect(branches).toHaveLength(1);
    expect(Math.abs(cracks[0].length_px - 400) / 400).toBeLessThan(0.01);
    expect(Math.abs(cracks[0].max_width_px - 5)).toBeLessThanOrEqual(1);
    expect(cracks[0].mean_width_px).toBeGreaterThan(3.8);
    expect(cracks[0].mean_width_px).toBeLessThanOrEqual(5.01);
  });

  test('a Y is one crack of three branches whose lengths add up; agrees with analyzeMask on one buffer', async () => {
    const W = 600,
      H = 600;
    const arms: TruthCrack[] = [
      {
        points: [
          [300, 300],
          [300, 40],
        ],
        width: 5,
        length: 260,
      },
      {
        points: [
          [300, 300],
          [80, 520],
        ],
        width: 5,
        length: Math.hypot(220, 220),
      },
      {
        points: [
          [300, 300],
          [540, 480],
        ],
        width: 5,
        length: 300,
      },
    ];
    const mask = await renderMask(W, H, arms);
    const { cracks, branches } = traceCracks(await skeletonFromMask(rowsOf(mask, W), W, H, { threshold: 0.5, block: 200 }));
    expect(cracks).toHaveLength(1);
    expect(cracks[0].branches).toBe(3);
    expect(cracks[0].endpoints).toBe(3);
    expect(branches.map((b) => b.crack)).toEqual([1, 1, 1]);
    const truth = arms.reduce((s, a) => s + a.length, 0);
    expect(Math.abs(cracks[0].length_px - truth) / truth).toBeLessThan(0.02);
    const ref = analyzeMask(mask, W, H, { threshold: 0.5 });
    expect(ref.crack_count).toBe(1);
    expect(Math.abs(cracks[0].length_px - ref.total_length_px) / ref.total_length_px).toBeLessThan(0.02);
    expect(Math.abs(cracks[0].max_width_px - ref.max_width_px)).toBeLessThanOrEqual(0.5); // the two skeletons differ by analyzeMask's staircase clean-up
  });

  test('a ring is one closed branch; specks shorter than the minimum are dropped', async () => {
    const W = 400,
      H = 400;
    const svg = '<g stroke="#fff" fill="none"><circle cx="200" cy="200" r="100" stroke-width="3"/><path d="M20,20 L30,20" stroke-width="3"/></g>';
    const mask = await renderMask(W, H, [], svg);
    const { cracks, branches } = traceCracks(await skeletonFromMask(rowsOf(mask, W), W, H, { threshold: 0.5 }), { minLengthPx: 20 });
    expect(cracks).toHaveLength(1);
    expect(branches[0].closed).toBe(true);
    expect(Math.abs(cracks[0].length_px - 2 * Math.PI * 100) / (2 * Math.PI * 100)).toBeLessThan(0.01);
    expect(cracks[0].endpoints).toBe(0);
  });

  test('a crack with a faint middle is one crack across block borders, as in analyzeMask (hysteresis, one bridge)', async () => {
    const W = 800,
      H = 500;
    const mask = new Uint8Array(W * H);
    // 3 px wide along y = 300; seen at both ends, faint from x 150 to 330 (across the block border
    // at 256, with no seed pixel in the second block or its margin), nearly nothing from 330 to 346
    const value = (x: number) => (x < 150 ? 235 : x < 330 ? 110 : x < 346 ? 45 : 235);
    for (let x = 40; x < 700; x++) for (let y = 299; y <= 301; y++) mask[y * W + x] = value(x);
    const opts = { threshold: 0.6, continueThreshold: 0.3, block: 256, margin: 64 };
    const s = await skeletonFromMask(rowsOf(mask, W), W, H, opts);
    expect(s.seed).toBeDefined();
    const { cracks, bridges } = traceCracks(s, { probAt: (x, y) => mask[y * W + x] });
    expect(cracks).toHaveLength(1);
    expect(bridges).toHaveLength(1);
    expect(cracks[0].inferred_length_px).toBeGreaterThan(14);
    expect(cracks[0].inferred_length_px).toBeLessThan(20);
    expect(Math.abs(cracks[0].length_px - 660) / 660).toBeLessThan(0.01);
    const ref = analyzeMask(mask, W, H, { threshold: 0.6, continueThreshold: 0.3 });
    expect(ref.crack_count).toBe(1);
    expect(Math.abs(ref.total_length_px - cracks[0].length_px)).toBeLessThan(2);
    // one threshold, no bridges: two pieces, the faint 196 px between them lost
    const plain = traceCracks(await skeletonFromMask(rowsOf(mask, W), W, H, { threshold: 0.6, block: 256 }), { maxGapPx: 0, minLengthPx: 0 });
    expect(plain.cracks).toHaveLength(2);
  });

  test('a faint rim on one side does not narrow a crack: 7 px with a 3 px rim above or below is 7 px, as in analyzeMask', async () => {
    const W = 300,
      H = 120;
    for (const rim of [
      [57, 60],
      [47, 50],
      [57, 58],
    ]) {
      const mask = new Uint8Array(W * H);
      for (let x = 20; x < 280; x++) {
        for (let y = 50; y < 57; y++) mask[y * W + x] = 200;
        for (let y = rim[0]; y < rim[1]; y++) mask[y * W + x] = 110;
      }
      const s = await skeletonFromMask(rowsOf(mask, W), W, H, { threshold: 0.6, continueThreshold: 0.4, block: 256, margin: 64 });
      const { cracks } = traceCracks(s);
      expect(cracks.map((c) => c.max_width_px)).toEqual([7]);
      expect(analyzeMask(mask, W, H, { threshold: 0.6, continueThreshold: 0.4 }).cracks.map((c) => c.max_width_px)).toEqual([7]);
    }
  });

  test('an empty mask gives no cracks', async () => {
    const s = await skeletonFromMask(() => new Uint8Array(300 * 200), 300, 200, { threshold: 0.5 });
    expect(traceCracks(s)).toMatchObject({ cracks: [], branches: [], bridges: [] });
  });
});

describe('width classes and tiles', () => {
  test('the default classes, a custom list, and one clear error for a bad one', () => {
    const d = parseWidthClasses('hairline:0.1,fine:0.3,medium:1,wide:3,open');
    expect([0.05, 0.1, 0.29, 0.3, 0.99, 2.5, 3, 40].map((w) => classify(d, w).name)).toEqual([
      'hairline',
      'fine',
      'fine',
      'medium',
      'medium',
      'wide',
      'open',
      'open',
    ]);
    expect(parseWidthClasses('narrow:1,broad').map((c) => c.maxMm)).toEqual([1, null]);
    expect(() => parseWidthClasses('a:1,b:0.5,c')).toThrow(/increasing/);
    expect(() => parseWidthClasses('a:1,b:2')).toThrow(/last/);
    expect(() => parseWidthClasses('')).toThrow(/give 1 to/);
  });

  test('tile cores cover every pixel exactly once; inputs start on multiples of 32 and mirror only past the edge', () => {
    const W = 2000,
      H = 1300;
    const g = tileGrid(W, H, { core: 640, margin: 64 });
    const hits = new Uint8Array(W * H);
    for (const t of g.tiles) {
      for (let y = t.core.y; y < t.core.y + t.core.h; y++) for (let x = t.core.x; x < t.core.x + t.core.w; x++) hits[y * W + x]++;
      expect(((t.input.x % 32) + 32) % 32).toBe(0);
      expect(((t.input.y % 32) + 32) % 32).toBe(0);
      expect(t.input.w % 32).toBe(0);
      expect(t.input.h % 32).toBe(0);
      expect(t.core.x - t.input.x).toBe(64);
      expect(t.input.x + t.input.w - (t.core.x + t.core.w)).toBeGreaterThanOrEqual(64);
      const f = tileFetch(t, W, H);
      expect(f.extract.width + f.pad.left + f.pad.right).toBe(t.input.w);
      expect(f.extract.height + f.pad.top + f.pad.bottom).toBe(t.input.h);
      if (t.input.x >= 0) expect(f.pad.left).toBe(0);
    }
    expect(hits.every((v) => v === 1)).toBe(true);
    expect(() => tileGrid(W, H, { core: 100, margin: 64 })).toThrow(/multiple of 32/);
  });
});

describe('survey-diff keeps crack identity', () => {
  const ID = { a: 1, b: 0, tx: 0, ty: 0 };
  const branch = (crack: number, line: [number, number][], extra: Partial<MapBranch> = {}): MapBranch => ({
    id: `${crack}.1`,
    crack,
    line,
    mean_width_px: 3,
    max_width_px: 3,
    length_px: Math.hypot(line[1][0] - line[0][0], line[1][1] - line[0][1]),
    ...extra,
  });
  test('a crack that grew to ten times its length is "longer", not "new"', () => {
    const a = [
      branch(1, [
        [100, 100],
        [160, 100],
      ]),
    ];
    const b = [
      branch(1, [
        [100, 100],
        [700, 100],
      ]),
    ];
    const d = diffMaps(a, b, ID, { sizeA: { width: 800, height: 300 }, sizeB: { width: 800, height: 300 } });
    expect(d.changes.map((c) => c.kind)).toEqual(['longer']);
    expect(d.changes[0].length_px).toBeGreaterThan(520);
    expect(d.changes[0].length_px).toBeLessThan(560);
    expect(d.not_found_in_b).toEqual([]);
  });
  test('a gap bridged in the earlier survey (inferred) is matched, and has no width to compare', () => {
    const a = [
      branch(1, [
        [100, 100],
        [300, 100],
      ]),
      {
        ...branch(
          1,
          [
            [300, 100],
            [340, 100],
          ],
          { inferred: true, mean_width_px: 0, max_width_px: 0 },
        ),
        id: '1.bridge1',
      },
      {
        ...branch(1, [
          [340, 100],
          [600, 100],
        ]),
        id: '1.2',
      },
    ];
    const b = [
      branch(7, [
        [100, 100],
        [600, 100],
      ]),
    ];
    const d = diffMaps(a, b, ID, { sizeA: { width: 800, height: 300 }, sizeB: { width: 800, height: 300 } });
    expect(d.changes).toEqual([]);
    expect(d.matched_cracks).toBe(1);
  });
});
