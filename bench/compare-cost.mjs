// What one comparison model costs the live model, without GStreamer or sockets in the way: the
// product's worker-thread sessions (dist/), demo frames from memory, configurations interleaved
// round by round (in a rotating order) so drifting load on a shared machine hits them alike. Besides
// wall time it reports CPU time per frame (process.cpuUsage: all threads), which other load barely moves.
//   node bench/compare-cost.mjs [ROUNDS=5] [FRAMES=20] [COMPARE_MODEL=<the live model>] [PROVIDER=cpu]
// Per frame (median over all rounds):
//   alone       the live model alone, all cores (what serve runs without --compare)
//   own         the comparison model alone, all cores: its own cost
//   split       both at once, the cores split between them (serve --compare with --threads 0)
//   shared      both at once, each with all cores (serve --compare --threads <cores>)
//   agreement   counting IoU/F1 of the two masks (agreement.ts graph)
// Prints one JSON line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../dist/server/config/load.js';
import { resolveModel } from '../dist/server/inference/manifest.js';
import { createCrackSession } from '../dist/server/inference/session.js';
import { MaskComparer } from '../dist/server/inference/agreement.js';
import { createLogger } from '../dist/server/log/logger.js';

const [rounds = '5', framesArg = '20', compareName = '', provider = 'cpu'] = process.argv.slice(2);
const config = loadConfig({ flags: {} });
const live = resolveModel(config.modelsDir, config.model);
const other = resolveModel(config.modelsDir, compareName || config.model);
const { height, width } = live.manifest.input;
const log = createLogger('error');
const demo = path.join(config.modelsDir, 'demo');
const frames = [];
for (const f of fs
  .readdirSync(demo)
  .filter((f) => /\.jpg$/.test(f))
  .sort()) {
  frames.push(new Uint8Array(await sharp(path.join(demo, f)).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer()));
}
const cores = os.availableParallelism();
const half = Math.max(1, Math.floor(cores / 2));
const open = (m, threads) => createCrackSession({ model: m, providers: [provider], threads, log, logLevel: 'error' });
const s = { liveAll: await open(live, cores), otherAll: await open(other, cores), liveHalf: await open(live, half), otherHalf: await open(other, half) };
const cmp = await MaskComparer.create();
const n = Number(framesArg);
const times = { alone: [], own: [], split: [], shared: [], agreement: [] };
const cpu = { alone: [], own: [], split: [], shared: [] };
let k = 0;
const next = () => frames[k++ % frames.length];
async function measure(name, fn) {
  for (let i = 0; i < 2; i++) await fn(next()); // warm-up
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const rgb = next();
    const t = performance.now();
    await fn(rgb);
    times[name].push(performance.now() - t);
  }
  const c = process.cpuUsage(c0);
  cpu[name].push((c.user + c.system) / 1000 / n);
}
const load0 = os.loadavg()[0];
const configs = [
  ['alone', (rgb) => s.liveAll.run(rgb, height, width)],
  ['own', (rgb) => s.otherAll.run(rgb, height, width)],
  ['split', (rgb) => Promise.all([s.liveHalf.run(rgb, height, width), s.otherHalf.run(rgb, height, width)])],
  ['shared', (rgb) => Promise.all([s.liveAll.run(rgb, height, width), s.otherAll.run(rgb, height, width)])],
];
for (let r = 0; r < Number(rounds); r++) {
  for (let j = 0; j < configs.length; j++) await measure(...configs[(r + j) % configs.length]);
}
const a = await s.liveAll.run(frames[4], height, width);
const b = await s.otherAll.run(frames[4], height, width);
for (let i = 0; i < 200; i++) {
  const t = performance.now();
  await cmp.counts(a, b, 128, 128);
  times.agreement.push(performance.now() - t);
}
const med = (xs) => {
  const v = [...xs].sort((x, y) => x - y);
  return Math.round(v[Math.floor(v.length / 2)] * 100) / 100;
};
const m = Object.fromEntries(Object.entries(times).map(([key, v]) => [key, med(v)]));
const mc = Object.fromEntries(Object.entries(cpu).map(([key, v]) => [key, Math.round(med(v) * 10) / 10]));
console.log(
  JSON.stringify({
    check: 'compare_cost',
    provider,
    cores,
    threads: { alone: cores, split: `${half}+${half}`, shared: `${cores}+${cores}` },
    live: `${live.manifest.name}@${live.manifest.version}`,
    compare: `${other.manifest.name}@${other.manifest.version} (${path.basename(other.onnxPath)})`,
    input: `${height}x${width}`,
    rounds: Number(rounds),
    frames_per_round: n,
    frame_ms_p50: m,
    cpu_ms_per_frame: mc,
    cpu_added_ms: { split: Math.round((mc.split - mc.alone) * 10) / 10, shared: Math.round((mc.shared - mc.alone) * 10) / 10 },
    added_ms: { split: Math.round((m.split - m.alone) * 10) / 10, shared: Math.round((m.shared - m.alone) * 10) / 10 },
    within_own_cost: { split: m.split - m.alone <= m.own, shared: m.shared - m.alone <= m.own },
    load_1m: [Math.round(load0 * 100) / 100, Math.round(os.loadavg()[0] * 100) / 100],
  }),
);
for (const x of Object.values(s)) await x.release();
await cmp.release();
process.exit(0);
