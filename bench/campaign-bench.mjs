// Campaign throughput on this machine: the same photographs through `crackscope survey` (one
// process, all cores) and through a campaign served by 1, 2 and 4 worker processes (each with
// cores/workers inference threads, at least 1), on a redis-server of its own. Wall time from the
// add to the last job done (workers started and ready before), MP/s = image megapixels / wall time.
//   node bench/campaign-bench.mjs [IMAGES=8] [WIDTH=2400] [HEIGHT=1800] [WORKERS=1,2,4] [MODEL=<default>]
// Prints one line per configuration and a JSON line at the end.
// Each WORKERS entry is N or N:PROVIDERS or N:PROVIDERS:THREADS (threads per worker). Environment:
//   PROVIDERS=cpu         execution providers (--providers) of the workers and the surveys; every
//                         worker is its own process with its own session (within one process only
//                         one onnxruntime session may use WebGPU), --concurrency 1
//   THREADS=<n>           threads per worker (default cores / workers, at least 1)
//   SURVEYS=<PROVIDERS>   the `survey` rows before the campaigns, one per provider list (`;` between
//                         lists, e.g. `webgpu;cpu`); SURVEYS_AFTER (default SURVEYS) the rows after;
//                         empty = none
//   SURVEY_THREADS=<n>    --threads for `survey` (default: its own, all cores)
//   CONFIG_TIMEOUT_S=900  a campaign configuration still unfinished after this is recorded as timed
//                         out, its workers are killed and the campaigns end there (the after rows
//                         still run)
// (PROVIDERS in a WORKERS entry is one provider: `,` separates the entries.) A `survey` that fails
// is recorded with its error (stderr's end) and the bench goes on.
// Rows whose providers are not `cpu` carry `providers`; every row carries `provider_used`, what the
// surveys' survey.json files say ran (a WebGPU request that fell back to the CPU shows here), and
// `infer_s`, their inference seconds summed over the images.
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
const env = (k, d) => (process.env[k] === undefined ? d : process.env[k]);
const PROVIDERS = env('PROVIDERS', 'cpu');
const lists = (v) => v.split(';').filter(Boolean);
const SURVEYS = lists(env('SURVEYS', PROVIDERS));
const SURVEYS_AFTER = lists(env('SURVEYS_AFTER', SURVEYS.join(';')));
const surveyThreadArgs = process.env.SURVEY_THREADS ? ['--threads', process.env.SURVEY_THREADS] : [];
const configTimeoutMs = Number(env('CONFIG_TIMEOUT_S', '900')) * 1000;
const providerTag = (p) => (p === 'cpu' ? {} : { providers: p });
// what ran, from every survey.json under dir: the provider(s), and the model's share (the surveys'
// inference seconds, summed over the images)
const whatRan = (dir) => {
  const seen = new Set();
  let infer = 0;
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }) : []) {
    if (path.basename(f) !== 'survey.json') continue;
    try {
      const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      seen.add(j.provider ?? '?');
      infer += j.timings_s?.inference ?? 0;
    } catch {
      seen.add('?');
    }
  }
  return { provider_used: [...seen].sort().join(','), infer_s: +infer.toFixed(1) };
};

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

// plaster-like ground with dark wavy cracks (what the shipped model finds), a few per image
const tMake = performance.now();
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
console.error(`${nImages} photographs of ${W}x${H} made in ${((performance.now() - tMake) / 1000).toFixed(1)} s`);
const results = [];
// SIGTERM/SIGINT (e.g. `timeout`): the workers (whose own shutdown waits for their job) and
// redis-server are killed, the rows so far printed as the JSON line with "partial": true
const children = new Set();
let stopping = false;
const stop = (sig) => {
  if (stopping) return; // timeout signals the bench and then its whole process group: twice
  stopping = true;
  for (const c of children) c.kill('SIGKILL');
  console.log(
    JSON.stringify({
      partial: true,
      signal: sig,
      images: Number(nImages),
      size: `${W}x${H}`,
      megapixels: +mp.toFixed(1),
      cores,
      model: model || 'default',
      providers: PROVIDERS,
      results,
    }),
  );
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(143);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const load = () => os.loadavg()[0].toFixed(1);

// single-machine survey (run before and after the campaigns: the load on a shared machine drifts)
const survey = (label, providers) => {
  const t0 = performance.now();
  const out = path.join(tmp, 'survey');
  const r = spawnSync(process.execPath, [MAIN, 'survey', photos, '--out', out, '--no-pdf', '--providers', providers, ...surveyThreadArgs, ...modelArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const s = (performance.now() - t0) / 1000;
  const tag = providers === 'cpu' ? label : `${providers}, ${label}`;
  if (r.status !== 0) {
    results.push({ config: `survey (1 process, ${tag})`, workers: 0, providers, error: `exit ${r.status ?? r.signal}: ${String(r.stderr).slice(-600)}` });
    console.log(JSON.stringify(results.at(-1)));
    fs.rmSync(out, { recursive: true, force: true });
    return;
  }
  results.push({
    config: `survey (1 process, ${tag})`,
    workers: 0,
    ...providerTag(providers),
    seconds: +s.toFixed(1),
    mp_per_s: +(mp / s).toFixed(3),
    load1: load(),
    ...whatRan(out),
  });
  console.log(JSON.stringify(results.at(-1)));
  fs.rmSync(out, { recursive: true, force: true });
};
for (const p of SURVEYS) survey('before', p);

const port = await freePort();
const rdir = path.join(tmp, 'redis');
fs.mkdirSync(rdir);
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', rdir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
children.add(redis);
const url = `redis://127.0.0.1:${port}`;
await new Promise((r) => setTimeout(r, 500));
const cli = (args) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
try {
  for (const entry of workersArg.split(',')) {
    const [nArg, providers = PROVIDERS, threadsArg = process.env.THREADS] = entry.split(':');
    const n = Number(nArg);
    const threads = threadsArg ? Number(threadsArg) : Math.max(1, Math.floor(cores / n));
    const procs = [];
    const ready = [];
    let finishedJobs = 0;
    for (let i = 0; i < n; i++) {
      const p = spawn(process.execPath, [MAIN, 'worker', '--redis', url, '--providers', providers, '--threads', String(threads), ...modelArgs], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      procs.push(p);
      children.add(p);
      p.once('exit', () => children.delete(p));
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
    while (finishedJobs < Number(nImages) && performance.now() - t0 < configTimeoutMs) await new Promise((r) => setTimeout(r, 100));
    const s = (performance.now() - t0) / 1000;
    const timedOut = finishedJobs < Number(nImages);
    const st = JSON.parse(cli(['campaign', 'status', name, '--redis', url, '--json']).stdout);
    results.push({
      config: `campaign, ${n} worker${n > 1 ? 's' : ''} × ${threads} thread${threads > 1 ? 's' : ''}${providers === 'cpu' ? '' : `, ${providers}`}`,
      workers: n,
      ...providerTag(providers),
      seconds: +s.toFixed(1),
      mp_per_s: +(mp / s).toFixed(3),
      status_mp_per_s: st.throughput_mp_per_s,
      failed: st.counts.failed,
      load1: load(),
      ...(timedOut ? { timed_out: true, finished_jobs: finishedJobs } : {}),
      ...whatRan(path.join(tmp, 'campaigns', name)),
    });
    console.log(JSON.stringify(results.at(-1)));
    // a timed-out configuration's workers are killed and its jobs left behind: the next
    // configuration's workers would take them up, so the campaigns end there
    for (const p of procs) p.kill(timedOut ? 'SIGKILL' : 'SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)))));
    if (timedOut) break;
  }
  for (const p of SURVEYS_AFTER) survey('after', p);
} finally {
  redis.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(
  JSON.stringify({ images: Number(nImages), size: `${W}x${H}`, megapixels: +mp.toFixed(1), cores, model: model || 'default', providers: PROVIDERS, results }),
);
