// Real-photograph validation of shipped models: every validation photograph of ../shared/data/real
// (the split pack_real.py keeps out of training), F1 with 2-px tolerance per set at the manifest's
// one threshold and at each set's own best, so the gap a single threshold costs is visible.
//   npm run eval:real -- [model names...]        (default: crackunet-v1 crackunet-v2 and the default model)
//   CRACKSCOPE_REAL_DATA=DIR to read the sets from elsewhere; --json for one JSON object on the last line
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  REAL_SETS,
  addCounts,
  countTol2,
  loadPhoto,
  predict,
  prf,
  realDataRoot,
  threshold,
  validationEntries,
  zeroCounts,
  type Counts,
  type Photo,
} from './real-photos.js';

const repo = process.cwd();
const THRESHOLDS = [0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9];
const args = process.argv.slice(2);
const json = args.includes('--json');
const def = JSON.parse(readFileSync(join(repo, 'models', 'default.json'), 'utf8')).model as string;
const names = args.filter((a) => !a.startsWith('--'));
const models = names.length ? names : [...new Set(['crackunet-v1', 'crackunet-v2', def])];
const root = realDataRoot(repo);
if (!root) {
  console.error('real-eval: no ../shared/data/real here (set CRACKSCOPE_REAL_DATA): nothing to evaluate');
  process.exit(69);
}
const photos: Photo[] = [];
for (const set of REAL_SETS) for (const e of validationEntries(root, set)) photos.push(await loadPhoto(root, e));
console.error(`real-eval: ${photos.length} validation photographs: ` + REAL_SETS.map((s) => `${s} ${photos.filter((p) => p.set === s).length}`).join(', '));
const result: Record<string, unknown> = {};
for (const name of models) {
  const man = JSON.parse(readFileSync(join(repo, 'models', `${name}.json`), 'utf8'));
  const session = await ort.InferenceSession.create(join(repo, 'models', `${name}.onnx`), { executionProviders: ['cpu'] });
  const at = new Map<string, Counts>();
  for (const p of photos) {
    const prob = await predict(session, man, p);
    for (const t of new Set([...THRESHOLDS, man.threshold])) {
      const k = `${p.set}@${t}`;
      at.set(k, addCounts(at.get(k) ?? zeroCounts(), countTol2(threshold(prob, t), p.label, p.width, p.height)));
    }
  }
  await session.release();
  const perSet: Record<string, unknown> = {};
  for (const set of REAL_SETS) {
    const m = prf(at.get(`${set}@${man.threshold}`)!);
    const best = THRESHOLDS.map((t) => ({ t, ...prf(at.get(`${set}@${t}`)!) })).reduce((a, b) => (b.f1 > a.f1 ? b : a));
    perSet[set] = {
      f1: +m.f1.toFixed(4),
      precision: +m.precision.toFixed(4),
      recall: +m.recall.toFixed(4),
      best_threshold: best.t,
      best_f1: +best.f1.toFixed(4),
    };
    if (!json) {
      console.log(
        `${name.padEnd(14)} ${set.padEnd(18)} at ${man.threshold}: F1 ${m.f1.toFixed(4)} (P ${m.precision.toFixed(4)} R ${m.recall.toFixed(4)})` +
          ` | own best ${best.t}: F1 ${best.f1.toFixed(4)}`,
      );
    }
  }
  result[name] = { threshold: man.threshold, sets: perSet };
}
if (json) console.log(JSON.stringify({ photographs: photos.length, models: result }));
