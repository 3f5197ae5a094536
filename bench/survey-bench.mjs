#!/usr/bin/env node
// Survey throughput: makes a synthetic plaster wall of W×H pixels with tortuous dark cracks,
// runs `crackscope survey` on it RUNS times and prints one JSON line per run and a summary line
// (medians): megapixels per second of the tile inference alone (tile reads included) and of the
// whole survey (decode, tiles, measurement, every output but the PDF), and peak RSS.
//   node bench/survey-bench.mjs [--width 6000] [--height 4000] [--runs 3] [--providers cpu] [--threads 0] [--keep DIR]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const W = Number(arg('width', 6000)),
  H = Number(arg('height', 4000)),
  RUNS = Number(arg('runs', 3));
const providers = arg('providers', 'cpu'),
  threads = arg('threads', '0');
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const tmp = arg('keep', null) ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cs-survey-bench-'));
fs.mkdirSync(tmp, { recursive: true });

// the same kind of wall as test/helpers/synthetic-wall.ts (tortuous cracks, one per band)
let seed = 7;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const count = Math.max(3, Math.round(H / 500));
const lines = [];
for (let i = 0; i < count; i++) {
  const band = H / count,
    yc = band * (i + 0.5),
    amp = band * 0.2,
    wl = W * (0.2 + 0.2 * rnd()),
    ph = rnd() * 6.28;
  const x0 = W * 0.05,
    x1 = W * 0.95,
    pts = [];
  let x = x0,
    y = yc + amp * Math.sin(ph),
    dev = 0;
  while (x < x1) {
    dev = 0.85 * dev + 0.7 * (rnd() * 2 - 1);
    const off = y - (yc + amp * Math.sin(ph + (6.283 * (x - x0)) / wl));
    const a = Math.atan(((amp * 6.283) / wl) * Math.cos(ph + (6.283 * (x - x0)) / wl)) + dev - Math.max(-0.5, Math.min(0.5, 0.01 * off));
    x += 3 * Math.cos(a);
    y += 3 * Math.sin(a);
    pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  lines.push(`<polyline points="${pts.join(' ')}" stroke-width="${[3, 5][i % 2]}"/>`);
}
const img = path.join(tmp, `wall-${W}x${H}.jpg`);
if (!fs.existsSync(img)) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><g fill="none" stroke="#2a231c">${lines.join('')}</g></svg>`;
  await sharp({ create: { width: W, height: H, channels: 3, noise: { type: 'gaussian', mean: 200, sigma: 10 } } })
    .toColourspace('srgb')
    .composite([{ input: Buffer.from(svg), limitInputPixels: false }])
    .jpeg({ quality: 92 })
    .toFile(img);
}
const runs = [];
for (let r = 0; r < RUNS; r++) {
  const out = path.join(tmp, `out-${r}`);
  const t0 = Date.now();
  const p = spawnSync(
    process.execPath,
    [path.join(root, 'dist/server/cli/main.js'), 'survey', img, '--out', out, '--providers', providers, '--threads', threads, '--no-pdf', '--json'],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (p.status !== 0) {
    process.stderr.write(p.stderr);
    process.exit(1);
  }
  const s = JSON.parse(fs.readFileSync(path.join(out, 'wall-' + `${W}x${H}`, 'survey.json'), 'utf8'));
  const run = {
    width: W,
    height: H,
    megapixels: s.megapixels,
    provider: s.provider,
    tiles: s.tiling.tiles,
    core: s.tiling.core,
    margin: s.tiling.margin,
    infer_s: s.timings_s.inference,
    total_s: s.timings_s.total,
    infer_mp_per_s: s.infer_mp_per_s,
    survey_mp_per_s: Math.round((s.megapixels / s.timings_s.total) * 1000) / 1000,
    wall_s: (Date.now() - t0) / 1000,
    peak_rss_mb: s.peak_rss_mb,
    cracks: s.totals.cracks,
    load1: Math.round(os.loadavg()[0] * 100) / 100,
  };
  runs.push(run);
  console.log(JSON.stringify(run));
  fs.rmSync(out, { recursive: true, force: true });
}
const med = (k) => {
  const v = runs.map((r) => r[k]).sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
};
console.log(
  JSON.stringify({
    summary: true,
    runs: runs.length,
    provider: runs[0].provider,
    megapixels: runs[0].megapixels,
    infer_mp_per_s: med('infer_mp_per_s'),
    survey_mp_per_s: med('survey_mp_per_s'),
    peak_rss_mb: med('peak_rss_mb'),
  }),
);
if (!arg('keep', null)) fs.rmSync(tmp, { recursive: true, force: true });
