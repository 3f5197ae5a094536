#!/usr/bin/env node
// Crack counts and lengths against real labelled photographs (issue 20).
//
//   node bench/real-validate.mjs [--real ../shared/data/real] [--sets a,b] [--limit N] [--model NAME]
//                                [--cache DIR] [--json FILE] [--providers cpu] [--threads 2]
//                                [--opts '{"maxGapPx":40}'] [--grid FILE]
//
// --opts: analysis options on top of the defaults (crack-measure.ts AnalyzeOptions). --grid: a JSON
// list of such option objects; every photo is loaded once and each is scored (one line per set
// and option set): how the defaults in server/analysis/README.md were chosen.
//
// For each set's validation part (../shared/data/real/README.md; for the two sets without a split of
// their own, the photographs models/train/pack_real.py holds out: sha1(name) % k == 0, k = 5 for
// concrete-uav, 4 for pavement-sut), the shipped model runs through the project's own `crackscope infer`
// (masks cached per model@version under --cache, so a re-run after a change to the analysis costs
// seconds), and the analysis (dist/server/analysis/crack-measure.js, the code the service runs) counts
// and measures the cracks at the manifest threshold. The labels are counted as the issue defines them:
// 8-connected pieces of at least 20 px, and measured the same way (the same centre-line length,
// no hysteresis or gap bridging: a label is already binary and its pieces are what we count).
// Per set: the share of photos whose count is within ±1 of the label's, the median count ratio
// and the median length ratio (over photos whose label has a crack), median counts.
// Needs `npm run build` first. Prints one line per set and a JSON summary as the last line.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const REAL = path.resolve(arg('real', path.join(root, '..', 'shared', 'data', 'real')));
const LIMIT = Number(arg('limit', 0));
const LABEL_MIN_AREA = 20;

if (!fs.existsSync(REAL)) {
  console.log(`real-validate: skipped, no labelled photographs at ${REAL}`);
  process.exit(0);
}
const { analyzeMask } = await import(path.join(root, 'dist', 'server', 'analysis', 'crack-measure.js'));
const modelName = arg('model', JSON.parse(fs.readFileSync(path.join(root, 'models', 'default.json'), 'utf8')).model);
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'models', `${modelName}.json`), 'utf8'));
const CACHE = path.resolve(arg('cache', path.join(os.tmpdir(), 'crackscope-real-validate')), `${manifest.name}@${manifest.version}`);

const stem = (f) => path.basename(f).replace(/\.[^.]+$/, '');
const heldOut = (sid, k) => BigInt('0x' + crypto.createHash('sha1').update(sid).digest('hex')) % BigInt(k) === 0n;
const jpgs = (dir) => fs.readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => path.join(dir, f));

async function binaryPng(file) {
  const { data, info } = await sharp(file).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  const m = new Uint8Array(info.width * info.height);
  for (let i = 0; i < m.length; i++) m[i] = data[i * info.channels] > 127 ? 255 : 0;
  return { mask: m, width: info.width, height: info.height };
}

const SETS = {
  'walls-crackseg': () => jpgs(path.join(REAL, 'walls-crackseg', 'valid', 'images')).map((image) => ({
    image,
    label: async () => {
      const { width, height } = await sharp(image).metadata();
      const txt = path.join(path.dirname(path.dirname(image)), 'labels', `${stem(image)}.txt`);
      const polys = fs.existsSync(txt) ? fs.readFileSync(txt, 'utf8').split('\n').map((l) => l.trim().split(/\s+/).slice(1).map(Number)).filter((v) => v.length >= 6) : [];
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="black"/>`
        + polys.map((v) => `<polygon fill="white" points="${v.map((c, i) => (c * (i % 2 ? height : width)).toFixed(2)).join(' ')}"/>`).join('') + '</svg>';
      return binaryPng(Buffer.from(svg));
    },
  })),
  'walls-supervisely': () => jpgs(path.join(REAL, 'walls-supervisely', 'validation', 'img')).map((image) => ({
    image,
    label: async () => {
      const ann = JSON.parse(fs.readFileSync(path.join(path.dirname(path.dirname(image)), 'ann', `${path.basename(image)}.json`), 'utf8'));
      const { width, height } = ann.size;
      const m = new Uint8Array(width * height);
      for (const o of ann.objects) {
        if (o.geometryType !== 'bitmap') continue;
        const png = zlib.inflateSync(Buffer.from(o.bitmap.data, 'base64'));
        const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
        const [ox, oy] = o.bitmap.origin, ch = info.channels;
        for (let y = 0; y < info.height && y + oy < height; y++) for (let x = 0; x < info.width && x + ox < width; x++) {
          const v = ch === 4 || ch === 2 ? data[(y * info.width + x) * ch + ch - 1] : data[(y * info.width + x) * ch];
          if (v > 0) m[(y + oy) * width + x + ox] = 255;
        }
      }
      return { mask: m, width, height };
    },
  })),
  'concrete-uav': () => jpgs(path.join(REAL, 'concrete-uav', 'images')).filter((f) => heldOut(stem(f), 5))
    .map((image) => ({ image, label: () => binaryPng(path.join(REAL, 'concrete-uav', 'masks', `${stem(image)}.png`)) })),
  'pavement-sut': () => jpgs(path.join(REAL, 'pavement-sut', 'images')).filter((f) => heldOut(stem(f), 4))
    .map((image) => ({ image, label: () => binaryPng(path.join(REAL, 'pavement-sut', 'masks', `${stem(image)}.png`)) })),
};

const median = (xs) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r3 = (v) => (v === null ? null : Math.round(v * 1000) / 1000);

/** Masks from `crackscope infer` (the project's own inference), run only for the images not yet cached. */
function inferMasks(set, images) {
  const dir = path.join(CACHE, set);
  fs.mkdirSync(dir, { recursive: true });
  const todo = images.filter((im) => !fs.existsSync(path.join(dir, `${stem(im)}.mask.png`)));
  for (let i = 0; i < todo.length; i += 40) {
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'server', 'cli', 'main.js'), 'infer', ...todo.slice(i, i + 40), '--out', dir,
      '--model', modelName, '--models-dir', path.join(root, 'models'), '--providers', arg('providers', 'cpu'), '--threads', arg('threads', '0'), '--json'],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`crackscope infer failed (${r.status}): ${r.stderr.slice(-800)}`);
    for (const f of fs.readdirSync(dir)) if (/\.overlay\.png$/.test(f)) fs.rmSync(path.join(dir, f));
  }
  return (im) => path.join(dir, `${stem(im)}.mask.png`);
}

const baseOpts = JSON.parse(arg('opts', '{}'));
const grid = arg('grid', null) ? JSON.parse(fs.readFileSync(arg('grid'), 'utf8')) : null;
const summary = { model: `${manifest.name}@${manifest.version}`, threshold: manifest.threshold, label_min_area_px: LABEL_MIN_AREA, sets: {} };
const wanted = (arg('sets', '') || Object.keys(SETS).join(',')).split(',');
for (const set of wanted) {
  if (!SETS[set]) throw new Error(`unknown set ${set}; known: ${Object.keys(SETS).join(', ')}`);
  let items = SETS[set]();
  if (LIMIT > 0) items = items.slice(0, LIMIT);
  const maskOf = inferMasks(set, items.map((i) => i.image));
  const loaded = [];
  for (const it of items) {
    const lab = await it.label();
    const pred = await sharp(maskOf(it.image)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    if (pred.info.width !== lab.width || pred.info.height !== lab.height) throw new Error(`${it.image}: mask ${pred.info.width}x${pred.info.height} vs label ${lab.width}x${lab.height}`);
    // the labels: pieces ≥ 20 px, centre lines measured the same way, nothing bridged or dropped by length
    const l = analyzeMask(lab.mask, lab.width, lab.height, { threshold: 0.5, minAreaPx: LABEL_MIN_AREA, hysteresis: false, maxGapPx: 0, minLengthPx: 0 });
    loaded.push({ photo: path.basename(it.image), pred: new Uint8Array(pred.data), width: lab.width, height: lab.height, label_count: l.crack_count, label_length_px: Math.round(l.total_length_px * 10) / 10 });
  }
  const score = (opts) => {
    const photos = loaded.map((x) => {
      const p = analyzeMask(x.pred, x.width, x.height, { threshold: manifest.threshold, ...opts });
      return { photo: x.photo, label_count: x.label_count, count: p.crack_count, label_length_px: x.label_length_px, length_px: Math.round(p.total_length_px * 10) / 10, bridges: p.bridges?.length ?? 0 };
    });
    const withCrack = photos.filter((p) => p.label_count > 0);
    return { photos, s: {
      photos: photos.length,
      within1: r3(photos.filter((p) => Math.abs(p.count - p.label_count) <= 1).length / Math.max(1, photos.length)),
      median_count_ratio: r3(median(withCrack.map((p) => p.count / p.label_count))),
      median_length_ratio: r3(median(photos.filter((p) => p.label_length_px > 0).map((p) => p.length_px / p.label_length_px))),
      median_label_count: median(photos.map((p) => p.label_count)),
      median_count: median(photos.map((p) => p.count)),
      bridges: photos.reduce((t, p) => t + p.bridges, 0),
    } };
  };
  if (grid) {
    for (const g of grid) {
      const { s } = score({ ...baseOpts, ...g });
      console.log(`${set.padEnd(18)} ±1 ${(100 * s.within1).toFixed(0).padStart(3)} %  count ratio ${String(s.median_count_ratio).padEnd(5)}  length ratio ${String(s.median_length_ratio).padEnd(5)}  ${JSON.stringify(g)}`);
    }
    continue;
  }
  const { photos, s } = score(baseOpts);
  summary.sets[set] = s;
  if (arg('json', null)) summary.sets[set].per_photo = photos;
  console.log(`${set.padEnd(18)} ${String(s.photos).padStart(4)} photos  count within ±1 ${(100 * s.within1).toFixed(0).padStart(3)} %  median count ratio ${s.median_count_ratio}  median length ratio ${s.median_length_ratio}  median counts ${s.median_count} vs label ${s.median_label_count}  bridges ${s.bridges}`);
}
if (arg('json', null)) fs.writeFileSync(arg('json'), JSON.stringify(summary, null, 1) + '\n');
const short = JSON.parse(JSON.stringify(summary));
for (const s of Object.values(short.sets)) delete s.per_photo;
console.log(JSON.stringify(short));
