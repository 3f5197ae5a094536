// Quality gate for the shipped crack model: runs models/<default>.onnx through onnxruntime-node on
// the CPU and scores it with a 2-pixel tolerance, exactly as models/train/evaluate.py and
// real_eval.py do:
//   test/fixtures/eval/     16 procedural 384x640 images (JPEG q95, two without cracks, seed 7002)
//   ../shared/data/real/    6 validation photographs of each of four real sets (never trained on:
//                           bench/real-photos.ts picks them from the split pack_real.py holds out);
//                           the test skips with one line where that folder is absent (a user's clone)
//   precision = predicted pixels within 2 px (dx^2+dy^2 <= 4) of a label pixel / predicted pixels
//   recall    = label pixels within 2 px of a predicted pixel / label pixels
// at the manifest threshold (mask = output >= threshold * 255).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { REAL_SETS, countTol2, loadPhoto, pickValidation, predict, prf, realDataRoot, threshold, addCounts, zeroCounts } from '../bench/real-photos.js';

const root = join(import.meta.dirname, '..');
const fixDir = join(root, 'test', 'fixtures', 'eval');
const realRoot = realDataRoot(root);
const modelName: string = JSON.parse(readFileSync(join(root, 'models', 'default.json'), 'utf8')).model;

// Procedural fixture, measured here (onnxruntime-node + sharp decode): crackunet-v3 3.3.1 at 0.5 F1
// 0.9047 (P 0.9638, R 0.8525; 3.3.0: P 0.9629, R 0.8531); 3.2.0 at 0.5 F1 0.8936 (P 0.9627, R 0.8337);
// 3.1.0 at 0.5 F1 0.8931 (P 0.9532, R 0.8401); 3.0.0 at 0.5 F1 0.8775 (P 0.8883, R 0.8669); crackunet-v2
// at 0.6 F1 0.8947 (P 0.9048, R 0.8850); crackunet-v1 at 0.5 F1 0.8951 (P 0.919, R 0.872). The floors
// sit ~0.03 below the shipped model's figures, so decoder or runtime rounding never trips them but a
// real regression does (3.1.0 and 3.2.0 trade recall on these 16 images for precision; on the 110-image
// procedural validation set 3.2.0's recall is 0.9025 and its F1 0.9357).
const F1_FLOOR = 0.87;
const PRECISION_FLOOR = 0.93;
const RECALL_FLOOR = 0.82;
// Real photographs, 6 per set, measured here with onnxruntime-node at each model's manifest threshold
// (crackunet-v3 3.3.1 at 0.5: walls-crackseg 0.9686, walls-supervisely 0.5359, concrete-uav 0.9217,
// pavement-sut 0.9245; 3.3.0: 0.9691, 0.5391, 0.9217, 0.9249; 3.2.0: 0.9705, 0.5302, 0.8967, 0.9171;
// 3.1.0: 0.9695, 0.6191, 0.8854, 0.9183; 3.0.0: 0.9746, 0.5970, 0.8443, 0.9026; crackunet-v2 at 0.6:
// 0.8562, 0.3605, 0.7800, 0.7699). The floors sit ~0.05 below the shipped model's figures, so decoding
// or runtime rounding never trips them but a broken model or export does. 3.2.0's walls-supervisely
// figure is 0.089 below 3.1.0's on these 6 photographs and 0.008 below on all 70 (models/README.md, the
// trade for brick masonry +0.068), so its floor moved from 0.57 to 0.48; with 3.3.0 and 3.3.1 the
// concrete floor moved from 0.84 to 0.87. The default model must also not fall behind the one it
// replaced (mean over sets).
const REAL_FLOOR: Record<string, number> = { 'walls-crackseg': 0.92, 'walls-supervisely': 0.48, 'concrete-uav': 0.87, 'pavement-sut': 0.87 };
const REAL_PER_SET = 6;
const PREVIOUS = 'crackunet-v2';
// The darkness filter (local 31x31 mean minus grey > t, t tuned on validation) measured F1 0.29 here.
const BASELINE_MARGIN = 0.3;

/** Darkness-filter baseline: (mean of grey over a (2r+1)^2 box clipped at the border) - grey > t. */
function darkness(rgb: Uint8Array, w: number, h: number, t: number, r = 15): Uint8Array {
  const ii = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      const k = (y * w + x) * 3;
      row += 0.299 * rgb[k] + 0.587 * rgb[k + 1] + 0.114 * rgb[k + 2];
      ii[(y + 1) * (w + 1) + x + 1] = ii[y * (w + 1) + x + 1] + row;
    }
  }
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(w, x + r + 1);
      const s = ii[y1 * (w + 1) + x1] - ii[y0 * (w + 1) + x1] - ii[y1 * (w + 1) + x0] + ii[y0 * (w + 1) + x0];
      const k = (y * w + x) * 3;
      const g = 0.299 * rgb[k] + 0.587 * rgb[k + 1] + 0.114 * rgb[k + 2];
      out[y * w + x] = s / ((y1 - y0) * (x1 - x0)) - g > t ? 1 : 0;
    }
  }
  return out;
}

type Scored = { model: ReturnType<typeof prf>; base: ReturnType<typeof prf>; negFalsePixels: number; n: number };

/** Runs one model over every NAME.jpg + NAME.png pair of a fixture folder at its manifest threshold. */
async function scoreFixture(name: string, dir: string): Promise<Scored> {
  const man = JSON.parse(readFileSync(join(root, 'models', `${name}.json`), 'utf8'));
  const session = await ort.InferenceSession.create(join(root, 'models', `${name}.onnx`), { executionProviders: ['cpu'] });
  const thr = man.threshold * 255;
  const baseT: number = man.metrics?.darkness_baseline?.t ?? 15;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort();
  let model = zeroCounts();
  let base = zeroCounts();
  let negFalsePixels = 0;
  for (const f of files) {
    const img = await sharp(join(dir, f)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const { width: w, height: h, channels } = img.info;
    expect(channels).toBe(3);
    const lab = await sharp(join(dir, f.replace(/\.jpg$/, '.png')))
      .greyscale()
      .raw()
      .toBuffer();
    const gt = new Uint8Array(w * h);
    for (let i = 0; i < w * h; i++) gt[i] = lab[i] > 127 ? 1 : 0;
    const input = new ort.Tensor('uint8', new Uint8Array(img.data), [1, h, w, 3]);
    const out = (await session.run({ [man.input.name]: input }))[man.output.name];
    expect(out.type).toBe('uint8');
    expect(out.dims).toEqual([1, h, w]);
    const prob = out.data as Uint8Array;
    const pred = new Uint8Array(w * h);
    for (let i = 0; i < w * h; i++) pred[i] = prob[i] >= thr ? 1 : 0;
    const c = countTol2(pred, gt, w, h);
    model = addCounts(model, c);
    if (c.nGt === 0) negFalsePixels += c.nPred;
    base = addCounts(base, countTol2(darkness(new Uint8Array(img.data), w, h, baseT), gt, w, h));
  }
  await session.release?.();
  return { model: prf(model), base: prf(base), negFalsePixels, n: files.length };
}

const fmt = (m: ReturnType<typeof prf>) => `P ${m.precision.toFixed(4)} R ${m.recall.toFixed(4)} F1 ${m.f1.toFixed(4)}`;

describe(`model quality: ${modelName}`, () => {
  it('procedural fixture: meets the F1 floor with 2-px tolerance and clearly beats a darkness filter', async () => {
    const r = await scoreFixture(modelName, fixDir);
    expect(r.n).toBeGreaterThanOrEqual(12);
    console.log(
      `model-quality ${modelName} procedural: ${fmt(r.model)} | darkness baseline F1 ${r.base.f1.toFixed(4)}` +
        ` | false pixels on crack-free images ${r.negFalsePixels}`,
    );
    expect(r.model.f1).toBeGreaterThanOrEqual(F1_FLOOR);
    expect(r.model.precision).toBeGreaterThanOrEqual(PRECISION_FLOOR);
    expect(r.model.recall).toBeGreaterThanOrEqual(RECALL_FLOOR);
    expect(r.model.f1 - r.base.f1).toBeGreaterThanOrEqual(BASELINE_MARGIN);
  });
});

async function scoreReal(name: string, photos: Awaited<ReturnType<typeof loadPhoto>>[]) {
  const man = JSON.parse(readFileSync(join(root, 'models', `${name}.json`), 'utf8'));
  const session = await ort.InferenceSession.create(join(root, 'models', `${name}.onnx`), { executionProviders: ['cpu'] });
  const bySet = new Map<string, ReturnType<typeof zeroCounts>>();
  for (const p of photos) {
    const m = threshold(await predict(session, man, p), man.threshold);
    bySet.set(p.set, addCounts(bySet.get(p.set) ?? zeroCounts(), countTol2(m, p.label, p.width, p.height)));
  }
  await session.release();
  const f1 = Object.fromEntries([...bySet].map(([k, c]) => [k, prf(c).f1]));
  const mean = Object.values(f1).reduce((a, b) => a + b, 0) / Object.keys(f1).length;
  return { f1, mean, threshold: man.threshold as number };
}

if (!realRoot) console.log("model-quality: ../shared/data/real is absent (as in a user's clone): the real-photograph check is skipped");

describe.skipIf(!realRoot)(`model quality on real photographs: ${modelName}`, () => {
  it('every surface meets its floor at the one manifest threshold, and the model is not behind the one it replaced', async () => {
    const photos = [];
    for (const set of REAL_SETS) for (const e of pickValidation(realRoot!, set, REAL_PER_SET)) photos.push(await loadPhoto(realRoot!, e));
    expect(photos.length).toBe(REAL_SETS.length * REAL_PER_SET);
    expect(photos.every((p) => p.label.some((v) => v === 1))).toBe(true);
    const cur = await scoreReal(modelName, photos);
    const prev = await scoreReal(PREVIOUS, photos);
    const line = (r: typeof cur) => REAL_SETS.map((s) => `${s} ${r.f1[s].toFixed(4)}`).join(', ') + ` (mean ${r.mean.toFixed(4)})`;
    console.log(`model-quality real: ${modelName} at ${cur.threshold}: ${line(cur)} | ${PREVIOUS} at ${prev.threshold}: ${line(prev)}`);
    for (const set of REAL_SETS) expect(cur.f1[set], set).toBeGreaterThanOrEqual(REAL_FLOOR[set]);
    expect(cur.mean).toBeGreaterThanOrEqual(prev.mean - 0.005);
  });
});
