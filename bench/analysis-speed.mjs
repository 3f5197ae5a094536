#!/usr/bin/env node
// CPU time of the crack analysis (server/analysis/crack-measure.js, built) per 384×640 frame:
// the default model's masks of the 16 demo frames (made once with `crackscope infer`, cached) and
// the dense synthetic craquelure frame of test/crack-measure.test.ts. CPU time (process.cpuUsage),
// not wall time, so a shared machine's load disturbs it less; median of 3 (demo) / 40 (dense) runs.
//   node bench/analysis-speed.mjs [--module path/to/crack-measure.js] [--cache DIR]
// --module compares another build of the analysis (e.g. main's, bundled with esbuild).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const mod = await import(path.resolve(arg('module', path.join(root, 'dist', 'server', 'analysis', 'crack-measure.js'))));
const model = JSON.parse(fs.readFileSync(path.join(root, 'models', 'default.json'), 'utf8')).model;
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'models', `${model}.json`), 'utf8'));
const dir = path.resolve(arg('cache', path.join(os.tmpdir(), 'crackscope-analysis-speed')), `${manifest.name}@${manifest.version}`);
if (!fs.existsSync(dir) || !fs.readdirSync(dir).some((f) => f.endsWith('.mask.png'))) {
  const r = spawnSync(
    process.execPath,
    [path.join(root, 'dist', 'server', 'cli', 'main.js'), 'infer', path.join(root, 'models', 'demo'), '--out', dir, '--providers', 'cpu'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`crackscope infer failed: ${r.stderr.slice(-500)}`);
}
const cpuMs = (f) => {
  const c = process.cpuUsage();
  const r = f();
  const d = process.cpuUsage(c);
  return [(d.user + d.system) / 1000, r];
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const masks = [];
for (const f of fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.mask.png'))
  .sort()) {
  const { data, info } = await sharp(path.join(dir, f)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  masks.push({ m: new Uint8Array(data), w: info.width, h: info.height });
}
const demo = [];
let cracks = 0;
for (let rep = 0; rep < 3; rep++)
  for (const x of masks) {
    const [ms, r] = cpuMs(() => mod.analyzeMask(x.m, x.w, x.h, { threshold: manifest.threshold }));
    demo.push(ms);
    if (rep === 0) cracks += r.crack_count;
  }

// the dense frame (test/crack-measure.test.ts, 'a crack network at 384×640')
const W = 640,
  H = 384,
  m = new Uint8Array(W * H);
function capsule(x0, y0, x1, y1, r, value = 255) {
  const dx = x1 - x0,
    dy = y1 - y0,
    l2 = dx * dx + dy * dy || 1;
  for (let y = Math.max(0, Math.floor(Math.min(y0, y1) - r - 1)); y <= Math.min(H - 1, Math.ceil(Math.max(y0, y1) + r + 1)); y++) {
    for (let x = Math.max(0, Math.floor(Math.min(x0, x1) - r - 1)); x <= Math.min(W - 1, Math.ceil(Math.max(x0, x1) + r + 1)); x++) {
      const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / l2));
      const ex = x0 + t * dx - x,
        ey = y0 + t * dy - y;
      if (ex * ex + ey * ey <= r * r) m[y * W + x] = Math.max(m[y * W + x], value);
    }
  }
}
let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
for (let gy = 0; gy <= H; gy += 48)
  for (let gx = 0; gx <= W; gx += 48) {
    const x = gx + rnd() * 16,
      y = gy + rnd() * 16;
    capsule(x, y, x + 48 + rnd() * 10, y + rnd() * 12 - 6, 0.5 + rnd(), 160 + Math.round(rnd() * 95));
    capsule(x, y, x + rnd() * 12 - 6, y + 48 + rnd() * 10, 0.5 + rnd(), 160 + Math.round(rnd() * 95));
  }
capsule(0, 50, 640, 330, 7);
capsule(320, 0, 250, 384, 4);
const dense = [];
for (let i = 0; i < 40; i++) dense.push(cpuMs(() => mod.analyzeMask(m, W, H, { threshold: 0.5 }))[0]);
const out = {
  model: `${manifest.name}@${manifest.version}`,
  demo_frames: masks.length,
  demo_cpu_ms_p50: Math.round(median(demo) * 10) / 10,
  demo_cracks: cracks,
  dense_cpu_ms_p50: Math.round(median(dense) * 10) / 10,
  load_1m: os.loadavg()[0],
};
console.log(
  `demo masks (${masks.length}): CPU p50 ${out.demo_cpu_ms_p50} ms, ${cracks} cracks; dense frame: CPU p50 ${out.dense_cpu_ms_p50} ms (load ${out.load_1m.toFixed(1)})`,
);
console.log(JSON.stringify(out));
