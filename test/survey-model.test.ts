// crackscope survey with the shipped crack model (models/default.json) on a synthetic plaster
// wall with tortuous dark cracks: every crack found, nothing else, and no seams: along the tile
// borders the survey's mask equals what the model gives in one pass over a window centred there.
// Numbers are held loosely enough that any reasonable crack model meets them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../server/config/schema.js';
import { resolveModel } from '../server/inference/manifest.js';
import { createOrtSession, type CrackSession } from '../server/inference/session.js';
import { createLogger } from '../server/log/logger.js';
import { runCli } from './helpers/daemon.js';
import { wavyCracks, writePlasterCrackImage, type TruthCrack } from './helpers/synthetic-wall.js';
import { distToPolyline } from './helpers/geometry.js';

const W = 2560,
  H = 1920,
  CORE = 640;
let tmp: string, img: string, truth: TruthCrack[];
let session: CrackSession;
const model = resolveModel(path.join(PROJECT_ROOT, 'models'), '');
const cut = Math.ceil(model.manifest.threshold * 255);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-survey-model-'));
  truth = wavyCracks(W, H, 5, 21, [3, 5, 5], 7);
  img = path.join(tmp, 'plaster.jpg');
  await writePlasterCrackImage(img, W, H, truth, 3);
  session = await createOrtSession({ model, providers: ['cpu'], threads: 0, log: createLogger('error', {}, () => {}) });
}, 60_000);
afterAll(async () => {
  await session?.release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function survey(name: string, extra: string[] = []) {
  const out = path.join(tmp, name);
  const r = await runCli(['survey', img, '--out', out, '--providers', 'cpu', '--mm-per-px', '0.1', '--no-pdf', ...extra], { timeoutMs: 300_000 });
  expect(r.code, r.stderr).toBe(0);
  return path.join(out, 'plaster');
}

/** Windows of 512×512 (origin on the 32-px grid) centred where a crack crosses a vertical tile border. */
function seamWindows() {
  const wins: { x: number; y: number }[] = [];
  for (const t of truth) {
    for (let k = 1; k * CORE < W; k++) {
      const bx = k * CORE;
      const p = t.points.find((q, i) => i > 0 && (t.points[i - 1][0] - bx) * (q[0] - bx) <= 0);
      if (!p) continue;
      const y = Math.max(0, Math.min(H - 512, Math.round((p[1] - 256) / 32) * 32));
      wins.push({ x: bx - 256, y });
    }
  }
  return wins;
}

/** Disagreement of the survey mask with single passes over the windows, on each window's inner 320×320. */
async function seamDisagreement(maskTif: string) {
  let differ = 0,
    crack = 0,
    absDiff = 0,
    n = 0;
  for (const w of seamWindows()) {
    const rgb = await sharp(img).extract({ left: w.x, top: w.y, width: 512, height: 512 }).removeAlpha().raw().toBuffer();
    const single = await session.run(rgb, 512, 512);
    const surveyed = await sharp(maskTif).extract({ left: w.x, top: w.y, width: 512, height: 512 }).extractChannel(0).raw().toBuffer();
    for (let y = 96; y < 416; y++) {
      for (let x = 96; x < 416; x++) {
        const i = y * 512 + x,
          a = single[i] >= cut,
          b = surveyed[i] >= cut;
        if (a !== b) differ++;
        if (a || b) crack++;
        absDiff += Math.abs(single[i] - surveyed[i]);
        n++;
      }
    }
  }
  return { windows: seamWindows().length, differ, crack, share: differ / Math.max(1, crack), meanAbs: absDiff / n };
}

describe('survey with the shipped model', () => {
  let dir: string;
  let geo: any, summary: any;
  beforeAll(async () => {
    dir = await survey('out');
    geo = JSON.parse(fs.readFileSync(path.join(dir, 'crackmap.geojson'), 'utf8'));
    summary = JSON.parse(fs.readFileSync(path.join(dir, 'survey.json'), 'utf8'));
  }, 300_000);

  test('finds every crack along nearly all of its length, and nothing that is not a crack', () => {
    const lines = geo.features.map((f: any) => f.geometry.coordinates as [number, number][]);
    // coverage: points along each drawn crack with a mapped line within 4 px
    for (const t of truth) {
      const samples = t.points.filter((_, i) => i % 5 === 0);
      const covered = samples.filter((p) => lines.some((l: [number, number][]) => distToPolyline(p, l) < 4)).length;
      expect(covered / samples.length, `crack of width ${t.width}`).toBeGreaterThan(0.9);
    }
    // precision: every mapped vertex lies on a drawn crack (within 7 px of its centre line: crackunet-v3
    // at 0.5 marks a 5-px crack up to 2 px wider, and a branch end's vertex measured 6.2 px off)
    for (const l of lines) for (const p of l) expect(Math.min(...truth.map((t) => distToPolyline(p, t.points)))).toBeLessThan(7);
    // total length: the drawn polylines zigzag at a scale below the cracks' width, which the
    // centre line of a 3–5 px crack does not follow: measured ≈ 5 % shorter (see server/survey/README.md)
    const drawn = truth.reduce((s, t) => s + t.length, 0);
    expect(summary.totals.length_px / drawn).toBeGreaterThan(0.85);
    expect(summary.totals.length_px / drawn).toBeLessThan(1.03);
  });

  test('no seams: along tile borders the mask equals a single pass over a window centred there', async () => {
    const d = await seamDisagreement(path.join(dir, 'mask.tif'));
    expect(d.windows).toBeGreaterThanOrEqual(10);
    expect(d.crack).toBeGreaterThan(5000);
    // crackunet-v3 3.2.0 measured 0.965-1.124 % in four runs (thread-order rounding near 0.5), 3.3.0 1.022 %, 3.3.1 1.084 %;
    // without context (--margin 0) 5.68-5.77 %, 4.98 % and 5.42 %: the bound leaves room for the first, the 3x check below for the second
    expect(d.share, JSON.stringify(d)).toBeLessThan(0.015);
    expect(d.meanAbs).toBeLessThan(0.5);
    // the same check on a survey without context (--margin 0) sees the seams: it can fail
    const bare = await seamDisagreement(path.join(await survey('out-bare', ['--margin', '0']), 'mask.tif'));
    expect(bare.share).toBeGreaterThan(3 * d.share);
    console.log(
      `seams: margin 96: ${d.differ} of ${d.crack} crack pixels differ (${(100 * d.share).toFixed(3)} %), mean |Δ| ${d.meanAbs.toFixed(3)}; margin 0: ${(100 * bare.share).toFixed(3)} %, mean |Δ| ${bare.meanAbs.toFixed(3)}`,
    );
  }, 300_000);
});
