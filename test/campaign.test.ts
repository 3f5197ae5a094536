// Survey campaigns over BullMQ on a real redis-server of the test's own, with real worker
// processes (dist/server/cli/main.js worker): a campaign of 20 + 3 photographs served by three
// workers, one SIGKILLed while it holds a job; idempotent re-adds; a corrupt photograph; Redis
// restarted (append-only file on) mid-campaign; a full disk; a re-run with a second model and its
// comparison; bad Redis URLs (exit 69). The tiny test models: mask = max(R,G,B) or mean(R,G,B), so
// red cracks are found by the first and lost by the second.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { freePort, MAIN, runCli, startDaemon } from './helpers/daemon.js';
import { haveRedis, startRedis, type TestRedis } from './helpers/redis.js';
import { tinyCampaignAdd } from './helpers/campaign-args.js';
import { crackSvg, wavyCracks } from './helpers/synthetic-wall.js';
import { writeTinyModel } from './helpers/tiny-model.js';
import { haveChromium } from './helpers/browser.js';

const N = 20;
let redis: TestRedis, tmp: string, modelsDir: string, out: string;
const workers: { child: ChildProcess; logs: any[]; id: number; metricsPort?: number }[] = [];

/** grey cracks (found by both tiny models) and red ones (found by 'max', lost by 'mean') on a dark ground */
async function photo(file: string, seed: number, w = 512, h = 384) {
  // grey cracks in the upper two thirds, the red one in the lower third: they never cross
  const grey = wavyCracks(w, Math.round((2 * h) / 3), 2, seed, [3, 5]);
  const red = wavyCracks(w, Math.round(h / 3), 1, seed + 1000, [4]).map((c) => ({
    ...c,
    points: c.points.map(([x, y]) => [x, y + Math.round((2 * h) / 3)] as [number, number]),
  }));
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: 25, g: 25, b: 25 } } })
    .composite([{ input: Buffer.from(crackSvg(w, h, grey, '#f0f0f0')) }, { input: Buffer.from(crackSvg(w, h, red, '#f00000')) }])
    .png()
    .toFile(file);
}

const cli = (args: string[], timeoutMs = 120_000) => runCli([...args, '--models-dir', modelsDir, '--providers', 'cpu'], { timeoutMs });

function startWorker(id: number, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [MAIN, 'worker', '--redis', redis.url, '--models-dir', modelsDir, '--providers', 'cpu', '--threads', '1', '--lock-ms', '3000', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const w = { child, logs: [] as any[], id };
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      try {
        w.logs.push(JSON.parse(l));
      } catch {
        w.logs.push({ event: 'non-json', line: l });
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => w.logs.push({ event: 'stderr', line: d.toString() }));
  workers.push(w);
  return w;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 240_000, everyMs = 500): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function status(name: string) {
  const r = await cli(['campaign', 'status', name, '--redis', redis.url, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
const finished = async (name: string) => {
  const s = await status(name);
  return s.counts.waiting + s.counts.active + s.counts.retrying === 0 ? s : undefined;
};

/** the image folders of a campaign's output (hidden work folders and the report files apart) */
const outputs = (name: string) =>
  fs
    .readdirSync(path.join(out, name), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();

beforeAll(async () => {
  // no skipping: `npm test` installs redis-server (scripts/setup.sh); without it these tests fail here
  if (!haveRedis()) throw new Error('redis-server is not installed (apt-get install redis-server; scripts/setup.sh --test does it)');
  redis = await startRedis();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-campaign-'));
  modelsDir = path.join(tmp, 'models');
  writeTinyModel(modelsDir, 'tinymean', { dynamic: true, mode: 'mean', width: 640, height: 384 });
  writeTinyModel(modelsDir, 'tiny', { dynamic: true, mode: 'max', width: 640, height: 384 });
  out = path.join(tmp, 'out');
  fs.mkdirSync(path.join(tmp, 'photos'));
  fs.mkdirSync(path.join(tmp, 'later'));
  for (let i = 0; i < N; i++) await photo(path.join(tmp, 'photos', `wall-${String(i).padStart(2, '0')}.png`), i + 1);
  await photo(path.join(tmp, 'later', 'late-a.png'), 101);
  await photo(path.join(tmp, 'later', 'late-b.png'), 102);
  fs.writeFileSync(path.join(tmp, 'later', 'broken.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(3000, 7)]));
}, 120_000);

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await redis?.stop();
  if (tmp) {
    try {
      execFileSync('umount', [path.join(tmp, 'small')], { stdio: 'ignore' });
    } catch {
      /* not mounted */
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (redis) fs.rmSync(redis.dir, { recursive: true, force: true });
});

describe('campaigns on Redis + BullMQ', () => {
  test('a bad --redis URL or no server there: one line, exit 69', async () => {
    const bad = await cli(['campaign', 'status', 'x', '--redis', 'http://127.0.0.1:6379']);
    expect(bad.code).toBe(69);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/not a Redis URL/);
    const none = await cli(['worker', '--redis', `redis://127.0.0.1:${await freePort()}`]);
    expect(none.code).toBe(69);
    expect(none.stderr.trim().split('\n')).toEqual([expect.stringMatching(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/)]);
    const usage = await cli(['worker', '--redis', redis.url, '--concurrency', '0']);
    expect(usage.code).toBe(64);
  }, 180_000);

  test('add: one job per photograph; adding the same folder again adds nothing', async () => {
    const args = tinyCampaignAdd('walls', path.join(tmp, 'photos'), redis.url, out, '--attempts', '2', '--backoff-ms', '200', '--mm-per-px', '0.1');
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`campaign walls: ${N} images added, 0 already there; ${N} in the campaign`));
    const again = await cli([...args, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim())).toMatchObject({ added: 0, already: N, total: N });
    const s = await status('walls');
    expect(s.counts).toMatchObject({ total: N, waiting: N, done: 0, failed: 0 });
    // another model or other flags on the same campaign: refused (a re-run is its own campaign)
    const other = await cli([...args.filter((a) => a !== '--no-pdf'), '--no-pdf', '--threshold', '0.7']);
    expect(other.code).toBe(64);
  }, 180_000);

  test('three workers, one SIGKILLed while it holds a job, photos added meanwhile (one corrupt): each output exactly once', async () => {
    const metricsPort = await freePort();
    const victim = startWorker(1);
    await waitFor('the first worker to take a job', () => victim.logs.find((l) => l.event === 'campaign.job.start'), 60_000, 50);
    victim.child.kill('SIGKILL');
    const killedJob = victim.logs.find((l) => l.event === 'campaign.job.start').job;
    expect(victim.logs.some((l) => l.event === 'campaign.job.done' && l.job === killedJob)).toBe(false);
    const a = startWorker(2, ['--metrics-port', String(metricsPort)]);
    (a as any).metricsPort = metricsPort;
    startWorker(3, ['--concurrency', '2']);
    // new photographs while the campaign runs: only they are added (one is not an image)
    const later = await cli([
      'campaign',
      'add',
      'walls',
      path.join(tmp, 'later'),
      path.join(tmp, 'photos'),
      '--redis',
      redis.url,
      '--model',
      'tiny',
      '--tile',
      '128',
      '--no-pdf',
      '--attempts',
      '2',
      '--backoff-ms',
      '200',
      '--mm-per-px',
      '0.1',
    ]);
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toMatch(/3 images added, 20 already there; 23 in the campaign/);
    const s = await waitFor('the campaign to finish', () => finished('walls'));
    expect(s.counts).toMatchObject({ total: N + 3, done: N + 2, failed: 1, waiting: 0, active: 0 });
    expect(s.failures).toHaveLength(1);
    expect(s.failures[0]).toMatchObject({ name: 'broken', attempts: 2 });
    expect(s.failures[0].reason).toMatch(/cannot (read|decode) the image|not an image/);
    expect(s.throughput_mp_per_s).toBeGreaterThan(0);
    expect(s.eta_s).toBe(0);
    // every photograph's folder exactly once, complete, with its job's marker; no work folders left
    const names = outputs('walls');
    expect(names).toEqual([...Array.from({ length: N }, (_, i) => `wall-${String(i).padStart(2, '0')}`), 'late-a', 'late-b'].sort());
    const jobs = new Set<string>();
    for (const n of names) {
      const dir = path.join(out, 'walls', n);
      for (const f of ['survey.json', 'mask.tif', 'overlay.jpg', 'crackmap.geojson', 'report.html', 'campaign-job.json'])
        expect(fs.existsSync(path.join(dir, f)), `${n}/${f}`).toBe(true);
      const marker = JSON.parse(fs.readFileSync(path.join(dir, 'campaign-job.json'), 'utf8'));
      jobs.add(marker.job);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'survey.json'), 'utf8')).totals.cracks).toBeGreaterThanOrEqual(2);
    }
    expect(jobs.size).toBe(N + 2);
    expect(jobs.has(killedJob)).toBe(true);
    const killedMarker = names
      .map((n) => JSON.parse(fs.readFileSync(path.join(out, 'walls', n, 'campaign-job.json'), 'utf8')))
      .find((m) => m.job === killedJob);
    expect(killedMarker.worker).not.toMatch(new RegExp(`:${victim.child.pid}$`)); // taken up by another worker after the lock expired
    const work = path.join(out, 'walls', '.work');
    expect(fs.existsSync(work) ? fs.readdirSync(work) : []).toEqual([]);
    expect(fs.readdirSync(path.join(out, 'walls')).filter((f) => f.includes('partial'))).toEqual([]);
    // both live workers did work
    const doneBy = new Set(workers.filter((w) => w.logs.some((l) => l.event === 'campaign.job.done')).map((w) => w.id));
    expect([...doneBy].sort()).toEqual([2, 3]);
    // the text status names the failure with its reason
    const text = await cli(['campaign', 'status', 'walls', '--redis', redis.url]);
    expect(text.stdout).toMatch(/campaign walls: 22\/23 done, 0 active, 0 waiting, 1 failed/);
    expect(text.stdout).toMatch(/FAILED broken \(.*broken\.jpg\) after 2 attempts: /);
    // /metrics: queue depth, durations, failures
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/crackscope_campaign_queue_jobs\{state="completed"\} 22/);
    expect(metrics).toMatch(/crackscope_campaign_queue_jobs\{state="failed"\} 1/);
    expect(metrics).toMatch(/crackscope_campaign_job_seconds_count\{outcome="completed"\} [1-9]/);
    expect(metrics).toMatch(/crackscope_campaign_jobs_total\{outcome="completed"\} [1-9]/);
  }, 300_000);

  test('Redis restarted mid-campaign (append-only file): the campaign goes on, each output once', async () => {
    fs.mkdirSync(path.join(tmp, 'more'));
    for (let i = 0; i < 8; i++) await photo(path.join(tmp, 'more', `pier-${i}.png`), 200 + i);
    // a list file: one path a line, relative to the list, # comments
    fs.writeFileSync(path.join(tmp, 'piers.txt'), `# the pier photographs\n${Array.from({ length: 8 }, (_, i) => `more/pier-${i}.png`).join('\n')}\n`);
    const add = await cli(tinyCampaignAdd('piers', path.join(tmp, 'piers.txt'), redis.url, out, '--backoff-ms', '200'));
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/campaign piers: 8 images added/);
    const doneSoFar = () => workers.reduce((s, w) => s + w.logs.filter((l) => l.event === 'campaign.job.done' && l.campaign === 'piers').length, 0);
    await waitFor('two piers surveyed', () => doneSoFar() >= 2, 120_000, 100);
    await redis.restart();
    const s = await waitFor('the piers campaign to finish after the restart', () => finished('piers'));
    expect(s.counts).toMatchObject({ total: 8, done: 8, failed: 0 });
    expect(outputs('piers')).toEqual(Array.from({ length: 8 }, (_, i) => `pier-${i}`));
    for (const w of workers.slice(1)) expect(w.child.exitCode).toBe(null); // the workers lived through it
  }, 300_000);

  test.skipIf(process.getuid?.() !== 0)(
    'a full disk fails the job, not the worker',
    async () => {
      const small = path.join(tmp, 'small');
      fs.mkdirSync(small);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', small]);
      fs.mkdirSync(path.join(tmp, 'big'));
      await photo(path.join(tmp, 'big', 'facade.png'), 300, 1024, 768);
      const add = await cli([
        'campaign',
        'add',
        'full',
        path.join(tmp, 'big'),
        '--redis',
        redis.url,
        '--out',
        small,
        '--model',
        'tiny',
        '--no-pdf',
        '--attempts',
        '1',
      ]);
      expect(add.code, add.stderr).toBe(0);
      const s = await waitFor(
        'the job on the full disk to fail',
        async () => {
          const x = await status('full');
          return x.counts.failed === 1 ? x : undefined;
        },
        120_000,
      );
      expect(s.failures[0].reason).toMatch(/disk full|ENOSPC|no space/i);
      expect(fs.readdirSync(small).filter((f) => !f.startsWith('.'))).toEqual(['full']);
      expect(fs.readdirSync(path.join(small, 'full')).filter((f) => !f.startsWith('.'))).toEqual([]);
      for (const w of workers.slice(1)) expect(w.child.exitCode).toBe(null);
    },
    180_000,
  );

  test('report: HTML (+ PDF) with totals, width classes, the per-image table and links to each survey', async () => {
    const r = await cli(['campaign', 'report', 'walls', '--redis', redis.url, ...(haveChromium() ? [] : ['--no-pdf'])], 180_000);
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(path.join(out, 'walls', 'campaign-report.html'), 'utf8');
    expect(html).toMatch(/23 images .*: 22 surveyed, 1 failed/);
    expect(html).toContain('href="wall-07/report.html"');
    expect(html).toMatch(/broken.*after 2 attempts/);
    expect(html).toMatch(/<td><span class="sw"[^>]*><\/span>(hairline|fine|medium|wide|open)<\/td>/);
    if (haveChromium()) expect(fs.statSync(path.join(out, 'walls', 'campaign-report.pdf')).size).toBeGreaterThan(5000);
  }, 200_000);

  test('rerun with a second model: a new campaign and the comparison (red cracks lost, none added)', async () => {
    const r = await cli(
      ['campaign', 'rerun', 'walls', '--model', 'tinymean', '--as', 'walls-mean', '--wait', '--timeout-s', '280', '--no-pdf', '--json', '--redis', redis.url],
      300_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(j.counts).toMatchObject({ total: N + 3, done: N + 2, failed: 1 });
    const cmp = JSON.parse(fs.readFileSync(path.join(out, 'walls-mean', 'comparison.json'), 'utf8'));
    expect(cmp.images).toHaveLength(N + 2);
    expect(cmp.base).toBe('walls');
    // each photograph has one red crack: the mean model does not see it
    for (const im of cmp.images) {
      expect(im.lost, im.name).toBe(1);
      expect(im.added, im.name).toBe(0);
      expect(im.cracks_new).toBe(im.cracks_base - 1);
      expect(im.iou).toBeLessThan(1);
    }
    expect(cmp.totals.lost).toBe(N + 2);
    expect(fs.readFileSync(path.join(out, 'walls-mean', 'campaign-report.html'), 'utf8')).toMatch(/Compared with walls/);
    // re-running again adds nothing
    const again = await cli(['campaign', 'rerun', 'walls', '--model', 'tinymean', '--as', 'walls-mean', '--redis', redis.url]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/0 images added \(23 in all\)/);
  }, 320_000);

  test('workers stop on SIGTERM (exit 0); serve --worker-redis surveys beside the live view and waits while a visitor uses the kiosk', async () => {
    // the standalone workers go first, so that the daemon's worker is the only one
    for (const w of workers.filter((x) => x.child.exitCode === null && x.child.signalCode === null)) {
      const code = await new Promise<number | null>((resolve) => {
        w.child.once('exit', (c) => resolve(c));
        w.child.kill('SIGTERM');
      });
      expect(code).toBe(0);
    }
    const d = await startDaemon([
      '--source',
      'test://',
      '--models-dir',
      modelsDir,
      '--model',
      'tiny',
      '--providers',
      'cpu',
      '--threads',
      '1',
      '--worker-redis',
      redis.url,
      '--worker-idle-s',
      '4',
    ]);
    try {
      await waitFor("the daemon's campaign worker", () => d.logs.find((l) => l.event === 'campaign.worker.start'), 30_000, 100);
      const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws`);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const touch = () => ws.send(JSON.stringify({ type: 'ping', t: Date.now() }));
      touch();
      const toucher = setInterval(touch, 1500);
      fs.mkdirSync(path.join(tmp, 'kiosk-side'));
      for (let i = 0; i < 3; i++) await photo(path.join(tmp, 'kiosk-side', `niche-${i}.png`), 400 + i);
      const add = await cli(tinyCampaignAdd('niches', path.join(tmp, 'kiosk-side'), redis.url, out));
      expect(add.code, add.stderr).toBe(0);
      await waitFor('the worker to pause for the visitor', () => d.logs.find((l) => l.event === 'campaign.worker.paused'), 30_000, 100);
      await new Promise((r) => setTimeout(r, 3000));
      expect((await status('niches')).counts.done).toBe(0); // nothing surveyed while the visitor touches
      clearInterval(toucher);
      ws.close();
      const s = await waitFor('the niches after the visitor left', () => finished('niches'), 120_000);
      expect(s.counts).toMatchObject({ total: 3, done: 3, failed: 0 });
      expect(d.logs.some((l) => l.event === 'campaign.worker.resumed')).toBe(true);
      expect(s.workers).toEqual([expect.stringMatching(/^serve@/)]);
      const metrics = await (await fetch(`${d.url}/metrics`)).text();
      expect(metrics).toMatch(/crackscope_campaign_queue_jobs\{state="completed"\} \d+/);
      expect(metrics).toMatch(/crackscope_campaign_worker_paused 0/);
      expect(metrics).toMatch(/crackscope_frames_processed_total [1-9]/); // the live view ran all along
    } finally {
      await d.stop();
    }
  }, 240_000);
});
