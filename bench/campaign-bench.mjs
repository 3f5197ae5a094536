// Campaign throughput on this machine: the same photographs through `crackscope survey` (one
// process, all cores) and through a campaign served by 1, 2 and 4 worker processes (each with
// cores/workers inference threads, at least 1), on a redis-server of its own. Wall time from the
// add to the last job done (workers started and ready before), MP/s = image megapixels / wall time.
//   node bench/campaign-bench.mjs [IMAGES=8] [WIDTH=2400] [HEIGHT=1800] [WORKERS=1,2,4] [MODEL=<default>]
// Prints one line per configuration and a JSON line at the end.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

const [nImages = '8', W = '2400', H = '1800', workersArg = '1,2,4', model = ''] = process.argv.slice(2);
const MAIN = path.resolve(import.meta.dirname, '..', 'dist', 'server', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-campaign-bench-'));
const photos = path.join(tmp, 'photos');
fs.mkdirSync(photos);
const cores = os.availableParallelism();
const modelArgs = model ? ['--model', model] : [];

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

// plaster-like ground with dark wavy cracks (what the shipped model finds), a few per image
for (let i = 0; i < Number(nImages); i++) {
  const w = Number(W),
    h = Number(H);
  const lines = Array.from({ length: 5 }, (_, k) => {
    const y0 = ((k + 0.5) * h) / 5,
      pts = [];
    for (let x = 0.05 * w; x < 0.95 * w; x += 12)
      pts.push(`${x.toFixed(0)},${(y0 + 40 * Math.sin(x / (90 + 13 * i + 7 * k)) + 9 * Math.sin(x / 7)).toFixed(1)}`);
    return `<polyline points="${pts.join(' ')}" stroke-width="${3 + (k % 3) * 2}"/>`;
  }).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><g fill="none" stroke="#2a231c">${lines}</g></svg>`;
  const ground = await sharp({ create: { width: w, height: h, channels: 3, noise: { type: 'gaussian', mean: 195, sigma: 12 } } })
    .blur(1.2)
    .toColourspace('srgb')
    .png()
    .toBuffer();
  await sharp(ground)
    .composite([{ input: Buffer.from(svg) }])
    .jpeg({ quality: 92 })
    .toFile(path.join(photos, `wall-${i}.jpg`));
}
const mp = (Number(W) * Number(H) * Number(nImages)) / 1e6;
const results = [];
const load = () => os.loadavg()[0].toFixed(1);

// single-machine survey (run before and after the campaigns: the load on a shared machine drifts)
const survey = (label) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MAIN, 'survey', photos, '--out', path.join(tmp, 'survey'), '--no-pdf', '--providers', 'cpu', ...modelArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`survey failed: ${r.stderr}`);
  results.push({ config: `survey (1 process, ${label})`, workers: 0, seconds: +s.toFixed(1), mp_per_s: +(mp / s).toFixed(3), load1: load() });
  console.log(JSON.stringify(results.at(-1)));
  fs.rmSync(path.join(tmp, 'survey'), { recursive: true, force: true });
};
survey('before');

const port = await freePort();
const rdir = path.join(tmp, 'redis');
fs.mkdirSync(rdir);
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', rdir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;
await new Promise((r) => setTimeout(r, 500));
const cli = (args) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
try {
  for (const n of workersArg.split(',').map(Number)) {
    const threads = Math.max(1, Math.floor(cores / n));
    const procs = [];
    const ready = [];
    let finishedJobs = 0;
    for (let i = 0; i < n; i++) {
      const p = spawn(process.execPath, [MAIN, 'worker', '--redis', url, '--providers', 'cpu', '--threads', String(threads), ...modelArgs], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      procs.push(p);
      // the end of each job is read from the workers' own log lines (polling `campaign status` would cost CPU here)
      ready.push(
        new Promise((resolve) => {
          let buf = '';
          p.stdout.on('data', (d) => {
            buf += d;
            const lines = buf.split('\n');
            buf = lines.pop();
            for (const l of lines) {
              if (l.includes('campaign.worker.start')) resolve();
              if (l.includes('"campaign.job.done"') || (l.includes('"campaign.job.failed"') && l.includes('"final":true'))) finishedJobs++;
            }
          });
        }),
      );
    }
    await Promise.all(ready);
    const name = `bench-${n}w-${Date.now()}`;
    const t0 = performance.now();
    const add = cli(['campaign', 'add', name, photos, '--redis', url, '--out', path.join(tmp, 'campaigns'), '--no-pdf', ...modelArgs]);
    if (add.status !== 0) throw new Error(`add failed: ${add.stderr}`);
    while (finishedJobs < Number(nImages)) await new Promise((r) => setTimeout(r, 100));
    const s = (performance.now() - t0) / 1000;
    const st = JSON.parse(cli(['campaign', 'status', name, '--redis', url, '--json']).stdout);
    results.push({
      config: `campaign, ${n} worker${n > 1 ? 's' : ''} × ${threads} thread${threads > 1 ? 's' : ''}`,
      workers: n,
      seconds: +s.toFixed(1),
      mp_per_s: +(mp / s).toFixed(3),
      status_mp_per_s: st.throughput_mp_per_s,
      failed: st.counts.failed,
      load1: load(),
    });
    console.log(JSON.stringify(results.at(-1)));
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)))));
  }
  survey('after');
} finally {
  redis.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify({ images: Number(nImages), size: `${W}x${H}`, megapixels: +mp.toFixed(1), cores, model: model || 'default', results }));
