// Real labelled crack photographs from ../shared/data/real (see its README): the validation split that
// models/train/pack_real.py holds out of training, read straight from the sets' own files, and the
// 2-pixel-tolerance scoring that models/train/evaluate.py uses. The one loader of these photographs:
// bench/real-eval.ts (pixel F1), bench/real-validate.ts (crack counts and lengths) and
// test/model-quality.test.ts all read them through here. Nothing here is committed data: a
// user's clone has no ../shared, and callers skip with one line when realDataRoot() is null.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

export const REAL_SETS = ['walls-crackseg', 'walls-supervisely', 'concrete-uav', 'pavement-sut'] as const;
export type RealSet = (typeof REAL_SETS)[number];
export const SURFACE: Record<RealSet, string> = {
  'walls-crackseg': 'painted and plastered walls (polygon labels)',
  'walls-supervisely': 'walls: plaster, render, concrete',
  'concrete-uav': 'concrete seen from a drone',
  'pavement-sut': 'pavement',
};

export type Photo = { set: RealSet; id: string; width: number; height: number; rgb: Uint8Array; label: Uint8Array };
export type Entry = { set: RealSet; id: string; image: string };

/** The real-data folder, or null when it is absent (as in a user's clone). CRACKSCOPE_REAL_DATA overrides. */
export function realDataRoot(repoRoot: string): string | null {
  const dir = process.env.CRACKSCOPE_REAL_DATA ?? join(repoRoot, '..', 'shared', 'data', 'real');
  return existsSync(join(dir, 'README.md')) ? dir : null;
}

/** pack_real.py's held_out(): every k-th photograph by the SHA-1 of its name, independent of file order. */
function heldOut(id: string, every: number): boolean {
  return BigInt('0x' + createHash('sha1').update(id).digest('hex')) % BigInt(every) === 0n;
}

const stem = (p: string) => basename(p, extname(p)).split('.rf.')[0];
const jpgs = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort();

/** The photographs of one set that training never saw, in a fixed order. */
export function validationEntries(root: string, set: RealSet): Entry[] {
  switch (set) {
    case 'walls-crackseg': {
      const dir = join(root, set, 'valid', 'images');
      return jpgs(dir).map((f) => ({ set, id: stem(f), image: join(dir, f) }));
    }
    case 'walls-supervisely': {
      const dir = join(root, set, 'validation', 'img');
      return jpgs(dir).map((f) => ({ set, id: stem(f), image: join(dir, f) }));
    }
    case 'concrete-uav':
    case 'pavement-sut': {
      const dir = join(root, set, 'images');
      const every = set === 'concrete-uav' ? 5 : 4;
      return jpgs(dir)
        .filter((f) => heldOut(stem(f), every))
        .map((f) => ({ set, id: stem(f), image: join(dir, f) }));
    }
  }
}

/** A fixed, spread-out selection of n validation photographs of a set (for CI: a few, never trained on). */
export function pickValidation(root: string, set: RealSet, n: number): Entry[] {
  const all = validationEntries(root, set);
  const step = all.length / n;
  return Array.from({ length: Math.min(n, all.length) }, (_, i) => all[Math.floor(i * step)]);
}

async function greyMask(input: Buffer | string, width: number, height: number): Promise<Uint8Array> {
  const g = await sharp(input).resize(width, height, { fit: 'fill', kernel: 'nearest' }).greyscale().raw().toBuffer();
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = g[i] > 127 ? 1 : 0;
  return out;
}

/** YOLO segmentation polygons (class, then x y pairs in 0..1), rasterised as filled polygons. */
async function polygonLabel(file: string, width: number, height: number): Promise<Uint8Array> {
  const polys = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+/).slice(1).map(Number))
        .filter((v) => v.length >= 6)
    : [];
  const shapes = polys.map((v) => {
    const pts: string[] = [];
    for (let i = 0; i + 1 < v.length; i += 2) pts.push(`${(v[i] * width).toFixed(2)},${(v[i + 1] * height).toFixed(2)}`);
    return `<polygon points="${pts.join(' ')}" fill="#fff"/>`;
  });
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" shape-rendering="crispEdges">` +
    `<rect width="100%" height="100%" fill="#000"/>${shapes.join('')}</svg>`;
  return greyMask(Buffer.from(svg), width, height);
}

/** Supervisely bitmaps: base64 of a zlib-compressed PNG, placed at bitmap.origin. */
async function supervislyLabel(file: string, width: number, height: number): Promise<Uint8Array> {
  const ann = JSON.parse(readFileSync(file, 'utf8')) as { objects: { geometryType: string; bitmap?: { data: string; origin: [number, number] } }[] };
  const out = new Uint8Array(width * height);
  for (const o of ann.objects) {
    if (o.geometryType !== 'bitmap' || !o.bitmap) continue;
    const png = inflateSync(Buffer.from(o.bitmap.data, 'base64'));
    const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const [x0, y0] = o.bitmap.origin;
    for (let y = 0; y < info.height && y0 + y < height; y++) {
      for (let x = 0; x < info.width && x0 + x < width; x++) {
        if (data[(y * info.width + x) * 4 + 3] > 0) out[(y0 + y) * width + x0 + x] = 1;
      }
    }
  }
  return out;
}

/** A photograph's label as a 0/1 mask at the photograph's size, from its set's own label format. */
export async function loadLabel(root: string, e: Entry, width: number, height: number): Promise<Uint8Array> {
  if (e.set === 'walls-crackseg') return polygonLabel(join(root, e.set, 'valid', 'labels', basename(e.image, extname(e.image)) + '.txt'), width, height);
  if (e.set === 'walls-supervisely') return supervislyLabel(join(root, e.set, 'validation', 'ann', basename(e.image) + '.json'), width, height);
  return greyMask(join(root, e.set, 'masks', e.id + '.png'), width, height);
}

export async function loadPhoto(root: string, e: Entry): Promise<Photo> {
  const img = await sharp(e.image).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const { width, height } = img.info;
  return { set: e.set, id: e.id, width, height, rgb: new Uint8Array(img.data), label: await loadLabel(root, e, width, height) };
}

export type Counts = { tpPred: number; nPred: number; tpGt: number; nGt: number };
export const zeroCounts = (): Counts => ({ tpPred: 0, nPred: 0, tpGt: 0, nGt: 0 });
export const addCounts = (a: Counts, b: Counts): Counts => ({
  tpPred: a.tpPred + b.tpPred,
  nPred: a.nPred + b.nPred,
  tpGt: a.tpGt + b.tpGt,
  nGt: a.nGt + b.nGt,
});

const DISC2: [number, number][] = [];
for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (dx * dx + dy * dy <= 4) DISC2.push([dx, dy]);

/** Dilate a 0/1 mask by the 13-pixel disc dx^2 + dy^2 <= 4. */
export function dilate2(m: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!m[y * w + x]) continue;
      for (const [dx, dy] of DISC2) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx >= 0 && xx < w && yy >= 0 && yy < h) out[yy * w + xx] = 1;
      }
    }
  }
  return out;
}

/** Tolerance counts: a predicted pixel is right within 2 px of a label pixel, a label pixel found within 2 px of a prediction. */
export function countTol2(pred: Uint8Array, gt: Uint8Array, w: number, h: number): Counts {
  const gd = dilate2(gt, w, h);
  const pd = dilate2(pred, w, h);
  const c = zeroCounts();
  for (let i = 0; i < w * h; i++) {
    if (pred[i]) {
      c.nPred++;
      if (gd[i]) c.tpPred++;
    }
    if (gt[i]) {
      c.nGt++;
      if (pd[i]) c.tpGt++;
    }
  }
  return c;
}

export function prf(c: Counts) {
  const precision = c.tpPred / Math.max(c.nPred, 1);
  const recall = c.tpGt / Math.max(c.nGt, 1);
  return { precision, recall, f1: (2 * precision * recall) / Math.max(precision + recall, 1e-9) };
}

type Manifest = { input: { name: string }; output: { name: string }; threshold: number };

/** The model's uint8 probability map for a photograph at its own size (padded by mirroring to a multiple of 32, cropped back). */
export async function predict(session: ort.InferenceSession, man: Manifest, p: Photo): Promise<Uint8Array> {
  const ph = (32 - (p.height % 32)) % 32;
  const pw = (32 - (p.width % 32)) % 32;
  const W = p.width + pw;
  const H = p.height + ph;
  const data =
    ph || pw
      ? new Uint8Array(
          await sharp(p.rgb, { raw: { width: p.width, height: p.height, channels: 3 } })
            .extend({ bottom: ph, right: pw, extendWith: 'mirror' })
            .raw()
            .toBuffer(),
        )
      : p.rgb;
  const out = (await session.run({ [man.input.name]: new ort.Tensor('uint8', data, [1, H, W, 3]) }))[man.output.name].data as Uint8Array;
  if (!ph && !pw) return out;
  const crop = new Uint8Array(p.width * p.height);
  for (let y = 0; y < p.height; y++) crop.set(out.subarray(y * W, y * W + p.width), y * p.width);
  return crop;
}

export function threshold(prob: Uint8Array, t: number): Uint8Array {
  const cut = t * 255;
  const m = new Uint8Array(prob.length);
  for (let i = 0; i < prob.length; i++) m[i] = prob[i] >= cut ? 1 : 0;
  return m;
}
