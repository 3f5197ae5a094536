// Crack counts and lengths against real labelled photographs (issue 20).
//
//   npm run validate:real -- [--sets a,b] [--limit N] [--half even|odd] [--model NAME] [--cache DIR]
//                            [--json FILE] [--providers cpu] [--threads 2] [--opts '{"maxGapPx":40}'] [--grid FILE]
//
// (npm run build first: the masks come from the built `crackscope infer`; this script is bundled
// with esbuild, so the analysis it scores is server/analysis/ as it stands in the working tree.)
// CRACKSCOPE_REAL_DATA=DIR reads the sets from elsewhere (default ../shared/data/real).
//
// --opts: analysis options on top of the defaults (crack-measure.ts AnalyzeOptions). --grid: a JSON
// list of such option objects; every photo is loaded once and each is scored (one line per set
// and option set): how the defaults in server/analysis/README.md were chosen. --half even|odd: only
// every other photograph of each set (by its place in the set's sorted validation list), so that
// settings can be chosen on one half and checked on the other.
//
// The photographs and their labels are read by bench/real-photos.ts (the one loader of
// ../shared/data/real; the validation split that models/train/pack_real.py holds out of training).
// The shipped model runs through the project's own `crackscope infer` (masks cached per
// model@version under --cache, so a re-run after a change to the analysis costs seconds), and the
// analysis (server/analysis/crack-measure.ts, the code the service runs) counts and measures the
// cracks at the manifest threshold. The labels are counted as the issue defines them: 8-connected
// pieces of at least 20 px, and measured the same way (the same centre-line length, no hysteresis or
// gap bridging: a label is already binary and its pieces are what we count).
// Per set: the share of photos whose count is within ±1 of the label's, the median count ratio
// and the median length ratio (over photos whose label has a crack), median counts; and, to tell
// the labels' own breaks from the analysis', `within1_joined`: the share within ±1 of the label
// counted with its pieces joined across gaps as the analysis joins the prediction's.
// Prints one line per set and a JSON summary as the last line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { analyzeMask, type AnalyzeOptions } from '../server/analysis/crack-measure.js';
import { REAL_SETS, loadLabel, realDataRoot, validationEntries, type RealSet } from './real-photos.js';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const root = fs.existsSync(path.join(repo, 'package.json')) ? repo : process.cwd();
const arg = (name: string, dflt: string | null = null): string | null => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const LIMIT = Number(arg('limit', '0'));
const HALF = arg('half');
/** the definition of a label's crack: an 8-connected piece of at least this many pixels */
export const LABEL_MIN_AREA = 20;

const REAL = realDataRoot(root);
if (!REAL) {
  console.log(`real-validate: skipped, no labelled photographs at ${process.env.CRACKSCOPE_REAL_DATA ?? path.join(root, '..', 'shared', 'data', 'real')}`);
  process.exit(0);
}
const modelName = arg('model') ?? JSON.parse(fs.readFileSync(path.join(root, 'models', 'default.json'), 'utf8')).model;
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'models', `${modelName}.json`), 'utf8'));
const CACHE = path.resolve(arg('cache') ?? path.join(os.tmpdir(), 'crackscope-real-validate'), `${manifest.name}@${manifest.version}`);
const stem = (f: string) => path.basename(f).replace(/\.[^.]+$/, '');

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b),
    m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r3 = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);

/** Masks from `crackscope infer` (the project's own inference), run only for the images not yet cached. */
function inferMasks(set: string, images: string[]) {
  const dir = path.join(CACHE, set);
  fs.mkdirSync(dir, { recursive: true });
  const todo = images.filter((im) => !fs.existsSync(path.join(dir, `${stem(im)}.mask.png`)));
  for (let i = 0; i < todo.length; i += 40) {
    const r = spawnSync(
      process.execPath,
      [
        path.join(root, 'dist', 'server', 'cli', 'main.js'),
        'infer',
        ...todo.slice(i, i + 40),
        '--out',
        dir,
        '--model',
        modelName,
        '--models-dir',
        path.join(root, 'models'),
        '--providers',
        arg('providers', 'cpu')!,
        '--threads',
        arg('threads', '0')!,
        '--json',
      ],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    if (r.status !== 0) throw new Error(`crackscope infer failed (${r.status}): ${r.stderr.slice(-800)}`);
    for (const f of fs.readdirSync(dir)) if (/\.overlay\.png$/.test(f)) fs.rmSync(path.join(dir, f));
  }
  return (im: string) => path.join(dir, `${stem(im)}.mask.png`);
}

type Loaded = { photo: string; pred: Uint8Array; width: number; height: number; label: Uint8Array; label_count: number; label_length_px: number };
type Opts = Partial<AnalyzeOptions>;

const baseOpts: Opts = JSON.parse(arg('opts', '{}')!);
const grid: Opts[] | null = arg('grid') ? JSON.parse(fs.readFileSync(arg('grid')!, 'utf8')) : null;
const summary: { model: string; threshold: number; label_min_area_px: number; half: string | null; sets: Record<string, Record<string, unknown>> } = {
  model: `${manifest.name}@${manifest.version}`,
  threshold: manifest.threshold,
  label_min_area_px: LABEL_MIN_AREA,
  half: HALF,
  sets: {},
};
const wanted = (arg('sets') || REAL_SETS.join(',')).split(',') as RealSet[];
for (const set of wanted) {
  if (!REAL_SETS.includes(set)) throw new Error(`unknown set ${set}; known: ${REAL_SETS.join(', ')}`);
  let entries = validationEntries(REAL, set);
  if (HALF) entries = entries.filter((_, i) => i % 2 === (HALF === 'odd' ? 1 : 0));
  if (LIMIT > 0) entries = entries.slice(0, LIMIT);
  const maskOf = inferMasks(
    set,
    entries.map((e) => e.image),
  );
  const loaded: Loaded[] = [];
  for (const e of entries) {
    const pred = await sharp(maskOf(e.image)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    const { width, height } = pred.info;
    const meta = await sharp(e.image).metadata();
    if (meta.width !== width || meta.height !== height) throw new Error(`${e.image}: mask ${width}x${height} vs photo ${meta.width}x${meta.height}`);
    const label = (await loadLabel(REAL, e, width, height)).map((v) => v * 255);
    // the labels: pieces ≥ 20 px, centre lines measured the same way, nothing bridged or dropped by length
    const l = analyzeMask(label, width, height, { threshold: 0.5, minAreaPx: LABEL_MIN_AREA, hysteresis: false, maxGapPx: 0, minLengthPx: 0 });
    loaded.push({
      photo: path.basename(e.image),
      pred: new Uint8Array(pred.data),
      width,
      height,
      label,
      label_count: l.crack_count,
      label_length_px: Math.round(l.total_length_px * 10) / 10,
    });
  }
  const score = (opts: Opts) => {
    const o: AnalyzeOptions = { threshold: manifest.threshold, ...opts };
    const photos = loaded.map((x) => {
      const p = analyzeMask(x.pred, x.width, x.height, o);
      // the label's pieces joined across gaps as the prediction's are (distance and direction; a
      // binary label has no faint stretch to sample, so no probability test), specks kept
      const j = analyzeMask(x.label, x.width, x.height, {
        ...o,
        threshold: 0.5,
        minAreaPx: LABEL_MIN_AREA,
        hysteresis: false,
        minLengthPx: 0,
        bridgeMinProb: 0,
      });
      return {
        photo: x.photo,
        label_count: x.label_count,
        label_count_joined: j.crack_count,
        count: p.crack_count,
        label_length_px: x.label_length_px,
        length_px: Math.round(p.total_length_px * 10) / 10,
        bridges: p.bridges.length,
      };
    });
    const withCrack = photos.filter((p) => p.label_count > 0);
    return {
      photos,
      s: {
        photos: photos.length,
        within1: r3(photos.filter((p) => Math.abs(p.count - p.label_count) <= 1).length / Math.max(1, photos.length)),
        median_count_ratio: r3(median(withCrack.map((p) => p.count / p.label_count))),
        median_length_ratio: r3(median(photos.filter((p) => p.label_length_px > 0).map((p) => p.length_px / p.label_length_px))),
        median_label_count: median(photos.map((p) => p.label_count)),
        median_count: median(photos.map((p) => p.count)),
        within1_joined: r3(photos.filter((p) => Math.abs(p.count - p.label_count_joined) <= 1).length / Math.max(1, photos.length)),
        bridges: photos.reduce((t, p) => t + p.bridges, 0),
      } as Record<string, unknown>,
    };
  };
  const pct = (v: unknown) => (100 * (v as number)).toFixed(0).padStart(3);
  if (grid) {
    for (const g of grid) {
      const { s } = score({ ...baseOpts, ...g });
      console.log(
        `${set.padEnd(18)} ±1 ${pct(s.within1)} %  count ratio ${String(s.median_count_ratio).padEnd(5)}  length ratio ${String(s.median_length_ratio).padEnd(5)}  (±1 of joined labels ${pct(s.within1_joined)} %)  ${JSON.stringify(g)}`,
      );
    }
    continue;
  }
  const { photos, s } = score(baseOpts);
  summary.sets[set] = s;
  if (arg('json')) s.per_photo = photos;
  console.log(
    `${set.padEnd(18)} ${String(s.photos).padStart(4)} photos  count within ±1 ${pct(s.within1)} %  median count ratio ${s.median_count_ratio}  median length ratio ${s.median_length_ratio}  median counts ${s.median_count} vs label ${s.median_label_count}  (±1 of joined labels ${pct(s.within1_joined)} %)  bridges ${s.bridges}`,
  );
}
if (arg('json')) fs.writeFileSync(arg('json')!, JSON.stringify(summary, null, 1) + '\n');
const short = JSON.parse(JSON.stringify(summary));
for (const s of Object.values<Record<string, unknown>>(short.sets)) delete s.per_photo;
console.log(JSON.stringify(short));
