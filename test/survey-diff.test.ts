// crackscope survey-diff: two renderings of the same synthetic wall, the second rotated by 2° and
// shifted, surveyed with the shipped model. Planted between them: one new crack, one crack grown
// longer, one crack opened wider. The diff must find exactly those, where they are, and nothing
// between the wall and an unchanged re-rendering of it. Alignment by feature matching, and by
// user-given point pairs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/daemon.js';
import { crackSvg, polylineLength, wavyCracks, type TruthCrack } from './helpers/synthetic-wall.js';

const W = 2560,
  H = 1920,
  M = 200,
  ANGLE = 2,
  SHIFT: [number, number] = [37, -23];
const BW = W + 2 * M,
  BH = H + 2 * M;
let tmp: string, surveys: string;
let cracks: TruthCrack[], grownCut: number;

/** base (margin) coords → A's pixels */
const toA = ([x, y]: [number, number]): [number, number] => [x - M, y - M];

/** B's pixels for a base point: sharp rotates about the centre onto a canvas grown to fit, then we crop. */
function toB([x, y]: [number, number]): [number, number] {
  const t = (ANGLE * Math.PI) / 180,
    c = Math.cos(t),
    s = Math.sin(t);
  const RW = Math.abs(BW * c) + Math.abs(BH * s),
    RH = Math.abs(BW * s) + Math.abs(BH * c);
  const dx = x - BW / 2,
    dy = y - BH / 2;
  return [dx * c - dy * s + RW / 2 - ((RW - W) / 2 + SHIFT[0]), dx * s + dy * c + RH / 2 - ((RH - H) / 2 + SHIFT[1])];
}

async function render(file: string, texture: Buffer, list: TruthCrack[], rotated: boolean) {
  let img = sharp(
    await sharp(texture)
      .composite([{ input: Buffer.from(crackSvg(BW, BH, list, '#2a231c')) }])
      .png()
      .toBuffer(),
  );
  if (rotated) {
    const t = (ANGLE * Math.PI) / 180;
    const RW = Math.round(Math.abs(BW * Math.cos(t)) + Math.abs(BH * Math.sin(t)));
    img = sharp(await img.rotate(ANGLE, { background: '#c8c8c8' }).png().toBuffer());
    const meta = await img.metadata();
    expect(Math.abs(meta.width! - RW)).toBeLessThanOrEqual(1);
    await img
      .extract({ left: Math.round((meta.width! - W) / 2 + SHIFT[0]), top: Math.round((meta.height! - H) / 2 + SHIFT[1]), width: W, height: H })
      .jpeg({ quality: 92 })
      .toFile(file);
  } else {
    await img.extract({ left: M, top: M, width: W, height: H }).jpeg({ quality: 92 }).toFile(file);
  }
}

async function survey(img: string) {
  const r = await runCli(['survey', img, '--out', surveys, '--providers', 'cpu', '--mm-per-px', '0.1', '--no-pdf'], { timeoutMs: 300_000 });
  expect(r.code, r.stderr).toBe(0);
}

async function diff(a: string, b: string, extra: string[] = []) {
  const out = path.join(tmp, `diff-${a}-${b}-${extra.length}`);
  const r = await runCli(['survey-diff', path.join(surveys, a), path.join(surveys, b), '--out', out, '--json', '--no-pdf', ...extra], { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  return { doc: JSON.parse(r.stdout.trim().split('\n').pop()!), out, line: r.stderr };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-survey-diff-'));
  surveys = path.join(tmp, 'surveys');
  // six cracks in the margin-framed wall; 0–3 and 5 are in both visits, 4 only in the second
  cracks = wavyCracks(BW, BH, 6, 33, [3, 5, 3, 5, 5, 3], 7).map((c) => ({ ...c, points: c.points.filter(([x]) => x > M + 60 && x < M + W - 60) }));
  const texture = await sharp({
    create: {
      width: BW,
      height: BH,
      channels: 3,
      background: '#000' /* sharp's types want one; unused with noise */,
      noise: { type: 'gaussian', mean: 200, sigma: 10 },
    },
  })
    .blur(1.2)
    .toColourspace('srgb')
    .png()
    .toBuffer();
  grownCut = Math.floor(cracks[1].points.length * 0.75);
  const first = [cracks[0], { ...cracks[1], points: cracks[1].points.slice(0, grownCut) }, { ...cracks[2], width: 3 }, cracks[3], cracks[5]];
  const second = [cracks[0], cracks[1], { ...cracks[2], width: 9 }, cracks[3], cracks[4], cracks[5]];
  await render(path.join(tmp, 'visit1.jpg'), texture, first, false);
  await render(path.join(tmp, 'visit2.jpg'), texture, second, true);
  await render(path.join(tmp, 'visit1-again.jpg'), texture, first, true);
  for (const f of ['visit1.jpg', 'visit2.jpg', 'visit1-again.jpg']) await survey(path.join(tmp, f));
}, 600_000);
afterAll(() => {
  if (!process.env.CRACKSCOPE_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  else console.log('kept', tmp);
});

/** p within d px of one of the polylines (distance to their segments) */
const near = (lines: [number, number][][], p: [number, number], d: number) =>
  lines.some((l) =>
    l.some((q, i) => {
      if (i === 0) return Math.hypot(q[0] - p[0], q[1] - p[1]) < d;
      const [ax, ay] = l[i - 1],
        dx = q[0] - ax,
        dy = q[1] - ay,
        l2 = dx * dx + dy * dy;
      const u = l2 ? Math.max(0, Math.min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / l2)) : 0;
      return Math.hypot(p[0] - (ax + u * dx), p[1] - (ay + u * dy)) < d;
    }),
  );

describe('survey-diff', () => {
  test('feature matching recovers the 2° rotation and the shift', async () => {
    const { doc } = await diff('visit1', 'visit2');
    expect(doc.alignment.method).toBe('feature-matching');
    expect(Math.abs(Math.abs(doc.alignment.rotation_deg) - ANGLE)).toBeLessThan(0.05);
    expect(Math.abs(doc.alignment.scale - 1)).toBeLessThan(0.002);
    expect(doc.alignment.inliers).toBeGreaterThan(50);
    // a point of the wall seen in B lands where it is in A
    const t = doc.alignment.transform;
    for (const p of [
      [300, 300],
      [2400, 400],
      [1300, 1700],
    ] as [number, number][]) {
      const base: [number, number] = [p[0] + M, p[1] + M];
      const [bx, by] = toB(base);
      const ax = t.a * bx - t.b * by + t.tx,
        ay = t.b * bx + t.a * by + t.ty;
      expect(Math.hypot(ax - p[0], ay - p[1])).toBeLessThan(2);
    }
  }, 120_000);

  test('finds the new crack, the grown one and the widened one — and only those', async () => {
    const { doc, out, line } = await diff('visit1', 'visit2');
    expect(line).toMatch(/1 new, 1 longer, 1 wider/);
    expect(doc.counts).toEqual({ new: 1, longer: 1, wider: 1 });
    const geo = JSON.parse(fs.readFileSync(path.join(out, 'diff.geojson'), 'utf8'));
    const lines = (kind: string) =>
      geo.features
        .filter((f: any) => f.properties.change === kind)
        .flatMap((f: any) => (f.geometry.type === 'LineString' ? [f.geometry.coordinates] : f.geometry.coordinates));
    // the new one lies along crack 4, in A's pixels
    const c4 = cracks[4].points.map(toA);
    expect(c4.filter((_, i) => i % 40 === 0).every((p) => near(lines('new'), p, 8))).toBe(true);
    const fresh = doc.changes.find((c: any) => c.kind === 'new');
    expect(Math.abs(fresh.length_px - polylineLength(c4)) / polylineLength(c4)).toBeLessThan(0.12);
    // the growth is the last quarter of crack 1
    const grown = cracks[1].points.slice(grownCut).map(toA);
    const grewBy = polylineLength(grown);
    const longer = doc.changes.find((c: any) => c.kind === 'longer');
    expect(Math.abs(longer.length_px - grewBy) / grewBy).toBeLessThan(0.2);
    expect(grown.filter((_, i) => i > 10 && i % 20 === 0).every((p) => near(lines('longer'), p, 8))).toBe(true);
    // the wider one is crack 2: 3 px → 9 px
    const wider = doc.changes.find((c: any) => c.kind === 'wider');
    expect(wider.width_b_px - wider.width_a_px).toBeGreaterThan(3);
    expect(near(lines('wider'), toA(cracks[2].points[Math.floor(cracks[2].points.length / 2)]), 8)).toBe(true);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('alignment by <b>feature matching');
    expect(html.match(/<tr><td>\d+<\/td>/g)).toHaveLength(3);
  }, 120_000);

  test('nothing new, longer or wider between the wall and an unchanged, rotated re-rendering', async () => {
    const { doc } = await diff('visit1', 'visit1-again');
    expect(doc.counts).toEqual({ new: 0, longer: 0, wider: 0 });
    expect(doc.not_found_in_b).toEqual([]);
  }, 120_000);

  test('point pairs given by the user align as well (and the method is named)', async () => {
    const basePts: [number, number][] = [
      [M + 200, M + 150],
      [M + 2300, M + 200],
      [M + 400, M + 1750],
      [M + 2200, M + 1700],
    ];
    const pairs = { a: basePts.map(toA), b: basePts.map(toB) };
    const f = path.join(tmp, 'points.json');
    fs.writeFileSync(f, JSON.stringify(pairs));
    const { doc } = await diff('visit1', 'visit2', ['--points', f]);
    expect(doc.alignment.method).toBe('point-pairs');
    expect(doc.alignment.rms_px).toBeLessThan(1);
    expect(doc.counts).toEqual({ new: 1, longer: 1, wider: 1 });
    const bad = await runCli(['survey-diff', path.join(surveys, 'visit1'), path.join(tmp, 'nope')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/nope: not a survey folder/);
  }, 120_000);
});
