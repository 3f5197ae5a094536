// A campaign worker: takes survey jobs from the BullMQ queue and runs the existing tiled survey
// (server/survey/run-survey.ts) on each, writing <out>/<campaign>/<image>/.
//
// Exactly once, whatever is killed when:
//  1. the survey is made in <out>/<campaign>/.work/<job>-<random>/ (runSurvey's own atomic folder
//     inside it), with a marker file campaign-job.json naming the job;
//  2. before publishing, the worker renews its BullMQ lock: a worker that has lost the job (its
//     lock expired and another took it) throws its work away;
//  3. publishing is one rename(2) onto <out>/<campaign>/<image>/; a folder already there with the
//     same job's marker means an earlier attempt got this far (and was killed before BullMQ heard
//     of it): that one is kept, the new one dropped; a folder of another job (a replaced
//     photograph of the same name) is replaced, as `survey` replaces an earlier survey;
//  4. a job that starts and finds its marker in place completes at once without surveying again.
// A worker killed with SIGKILL leaves its .work folder; the next attempt of that job removes it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { identityOptions } from '../analysis/crack-measure.js';
import { resolveModel, type ModelFiles } from '../inference/manifest.js';
import { createCrackSession, type CrackSession } from '../inference/session.js';
import type { Logger } from '../log/logger.js';
import { fsyncPathSync } from '../storage/atomic.js';
import { runSurvey } from '../survey/run-survey.js';
import { DEFAULT_WIDTH_CLASSES, parseWidthClasses } from '../survey/width-classes.js';
import { openQueue, QUEUE, type JobData } from './store.js';
import { oneLine } from '../log/one-line.js';

export const MARKER = 'campaign-job.json';

export interface JobResult {
  name: string;
  folder: string;
  width: number;
  height: number;
  megapixels: number;
  cracks: number;
  length_px: number;
  seconds: number;
  infer_mp_per_s: number;
  provider: string;
  worker: string;
  /** true when an earlier attempt had already published the folder */
  reused: boolean;
}

export interface CampaignWorkerOptions {
  redis: Redis;
  config: Config;
  log: Logger;
  concurrency: number;
  /** ms a job's lock lasts without renewal; a killed worker's job is taken up again after it (BullMQ lockDuration) */
  lockMs?: number;
  /** raise the sessions' nice value (serve's background worker) */
  nice?: number;
  /** awaited before each tile: a paused worker holds its job (its lock renewed) and waits here */
  gate?: () => Promise<void>;
  registry?: Registry;
  /** what the log and the markers call this worker */
  id?: string;
}

/** Sessions per model, at most `max` in all; a job takes an idle one or makes one. */
class SessionPool {
  private idle = new Map<string, CrackSession[]>();
  private count = 0;
  constructor(
    private readonly max: number,
    private readonly make: (model: ModelFiles) => Promise<CrackSession>,
  ) {}
  async acquire(key: string, model: ModelFiles): Promise<CrackSession> {
    const free = this.idle.get(key);
    if (free?.length) return free.pop()!;
    if (this.count >= this.max) {
      // every slot busy is impossible (one job per slot): drop an idle session of another model
      for (const [k, list] of this.idle) {
        const s = list.pop();
        if (s) {
          this.count--;
          if (!list.length) this.idle.delete(k);
          await s.release();
          break;
        }
      }
    }
    this.count++;
    try {
      return await this.make(model);
    } catch (err) {
      this.count--;
      throw err;
    }
  }
  release(key: string, s: CrackSession) {
    const list = this.idle.get(key) ?? [];
    list.push(s);
    this.idle.set(key, list);
  }
  async close() {
    for (const list of this.idle.values()) for (const s of list) await s.release();
    this.idle.clear();
    this.count = 0;
  }
}

const readMarker = (folder: string): { job?: string } | null => {
  try {
    return JSON.parse(fs.readFileSync(path.join(folder, MARKER), 'utf8'));
  } catch {
    return null;
  }
};

/** One line for a job's failure (BullMQ keeps it as failedReason; `campaign status` shows it). */
export function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const first = oneLine(e);
  if (e?.code === 'ENOSPC' || /ENOSPC|no space left/i.test(first)) return `disk full: ${first}`;
  return first;
}

/**
 * libvips reports a full disk as a bare "write error" (no errno), which run-survey.ts words as a
 * decoding problem; so after any failure the output's disk is looked at: with less free space
 * than the survey's work files need (about 4 bytes a pixel, 16 MB at least) the reason says so.
 */
export function diskFull(err: unknown, dir: string, image: { width: number; height: number }): string | null {
  let free: number;
  try {
    const st = fs.statfsSync(dir);
    free = st.bavail * st.bsize;
  } catch {
    return null;
  }
  const need = Math.max(16 << 20, image.width * image.height * 4);
  if ((err as NodeJS.ErrnoException)?.code !== 'ENOSPC' && free >= need) return null;
  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
  return `disk full: ${mb(free)} free on the output's disk (${dir}), about ${mb(need)} needed; ${reasonOf(err).replace(/^disk full: /, '')}`;
}

export function workerMetrics(registry: Registry, queue: ReturnType<typeof openQueue>) {
  const registers = [registry];
  new Gauge({
    name: 'crackscope_campaign_queue_jobs',
    help: 'Survey jobs in the BullMQ queue (all campaigns) by state.',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      try {
        const c = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
        for (const [state, n] of Object.entries(c)) this.set({ state }, n);
      } catch {
        /* Redis away: keep the last values */
      }
    },
  });
  return {
    duration: new Histogram({
      name: 'crackscope_campaign_job_seconds',
      help: 'Survey job duration on this worker, by outcome.',
      labelNames: ['outcome'] as const,
      buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    jobs: new Counter({
      name: 'crackscope_campaign_jobs_total',
      help: 'Survey jobs finished on this worker: completed, failed (an attempt), failed_final (no attempts left).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    megapixels: new Counter({ name: 'crackscope_campaign_megapixels_total', help: 'Image megapixels surveyed by this worker.', registers }),
    active: new Gauge({ name: 'crackscope_campaign_jobs_active', help: 'Jobs this worker is running now.', registers }),
    paused: new Gauge({ name: 'crackscope_campaign_worker_paused', help: '1 while the worker waits (serve: visitors are using the kiosk).', registers }),
  };
}

export type WorkerMetrics = ReturnType<typeof workerMetrics>;

export async function startCampaignWorker(opts: CampaignWorkerOptions) {
  const { config, log } = opts;
  const id = opts.id ?? `${os.hostname()}:${process.pid}`;
  const cores = os.availableParallelism();
  const threads = config.threads || Math.max(1, Math.floor(cores / opts.concurrency));
  // within one process only one onnxruntime session may use WebGPU (two crashed onnxruntime-node
  // 1.30, see README: comparing models): with --concurrency > 1 the others take the next provider
  const webgpu = new Set<CrackSession>();
  const pool = new SessionPool(opts.concurrency, async (model) => {
    const providers = webgpu.size ? config.providers.filter((p) => p !== 'webgpu') : config.providers;
    const s = await createCrackSession({
      model,
      providers: providers.length ? providers : ['cpu'],
      threads,
      log: log.child({ model: model.manifest.name }),
      logLevel: config.logLevel,
      nice: opts.nice,
      resolveTensorrt: () => ({ ok: false, reason: 'survey runs tiles of their own size; the TensorRT engine is built for the live size only' }),
    });
    if (s.provider !== 'webgpu') return s;
    webgpu.add(s);
    return {
      ...s,
      release: async () => {
        webgpu.delete(s);
        await s.release();
      },
    };
  });
  const queue = openQueue(opts.redis);
  const metrics = opts.registry ? workerMetrics(opts.registry, queue) : null;
  const lockMs = opts.lockMs ?? 60_000;
  let active = 0;

  const processor = async (job: Job<JobData>, token?: string): Promise<JobResult> => {
    const d = job.data;
    const t0 = performance.now();
    const campaignDir = path.join(d.out, d.campaign);
    const finalDir = path.join(campaignDir, d.image.name);
    const base = { job: job.id, campaign: d.campaign, image: d.image.path, attempt: job.attemptsMade + 1 };
    log.info('campaign.job.start', base);
    const done = (folder: string, reused: boolean): JobResult => {
      const s = JSON.parse(fs.readFileSync(path.join(folder, 'survey.json'), 'utf8'));
      return {
        name: d.image.name,
        folder,
        width: s.input.width,
        height: s.input.height,
        megapixels: s.megapixels,
        cracks: s.totals.cracks,
        length_px: s.totals.length_px,
        seconds: Math.round((performance.now() - t0) / 10) / 100,
        infer_mp_per_s: s.infer_mp_per_s,
        provider: s.provider_label ?? s.provider,
        worker: id,
        reused,
      };
    };
    // 4. published by an earlier attempt that was killed before BullMQ heard of it
    if (readMarker(finalDir)?.job === job.id) {
      log.info('campaign.job.reused', { ...base, folder: finalDir });
      return done(finalDir, true);
    }
    // the campaign's model, from this worker's models folder (a worker without it fails the job with the reason)
    const modelRef = d.model.ref.endsWith('.onnx') && fs.existsSync(d.model.ref) ? d.model.ref : d.model.name;
    const model = resolveModel(config.modelsDir, modelRef);
    if (model.manifest.version !== d.model.version)
      throw new Error(`this worker's model ${model.manifest.name} is version ${model.manifest.version}; the campaign asks for ${d.model.version}`);
    const workRoot = path.join(campaignDir, '.work');
    fs.mkdirSync(workRoot, { recursive: true });
    const safeId = String(job.id).replace(/[^A-Za-z0-9._-]/g, '_');
    for (const f of fs.readdirSync(workRoot)) if (f.startsWith(`${safeId}-`)) fs.rmSync(path.join(workRoot, f), { recursive: true, force: true }); // a killed attempt's leftovers
    const work = path.join(workRoot, `${safeId}-${crypto.randomBytes(4).toString('hex')}`);
    const key = `${model.onnxPath}@${model.manifest.version}`;
    const session = await pool.acquire(key, model);
    const runSession: CrackSession = opts.gate
      ? {
          ...session,
          run: async (rgb, h, w) => {
            await opts.gate!();
            return session.run(rgb, h, w);
          },
        }
      : session;
    let lastPct = -1;
    try {
      fs.mkdirSync(work);
      const o = d.options;
      const r = await runSurvey({
        input: d.image.path,
        outDir: work,
        name: d.image.name,
        session: runSession,
        threshold: o.threshold ?? model.manifest.threshold,
        mmPerPx: o.mmPerPx,
        calibrationSource: o.mmPerPx === null ? undefined : '--mm-per-px (campaign)',
        classes: parseWidthClasses(o.widthClasses ?? DEFAULT_WIDTH_CLASSES),
        core: o.tile ?? undefined,
        margin: o.margin ?? undefined,
        minLengthPx: o.minLengthPx ?? undefined,
        identity: identityOptions(config),
        chromium: o.pdf ? (process.env.CRACKSCOPE_CHROMIUM ?? '/usr/bin/chromium') : null,
        onProgress: (p) => {
          if (p.phase !== 'tiles') return;
          const pct = Math.floor((100 * p.done) / p.total / 10) * 10;
          if (pct !== lastPct) {
            lastPct = pct;
            job.updateProgress(pct).catch(() => undefined);
          }
        },
      });
      const sha = (r.summary.input as { sha256: string }).sha256;
      if (sha !== d.image.sha256)
        throw new Error(`the image changed since it was added to the campaign (SHA-256 ${sha.slice(0, 12)}…, added as ${d.image.sha256.slice(0, 12)}…)`);
      const made = path.join(work, d.image.name);
      fs.writeFileSync(
        path.join(made, MARKER),
        JSON.stringify(
          {
            job: job.id,
            campaign: d.campaign,
            image: d.image.path,
            sha256: sha,
            model: d.model,
            attempt: job.attemptsMade + 1,
            worker: id,
            finished: new Date().toISOString(),
          },
          null,
          2,
        ) + '\n',
      );
      fsyncPathSync(path.join(made, MARKER));
      // 2. still ours? (a lost lock: another worker has the job; our copy is dropped)
      if (token && (await job.extendLock(token, lockMs)) !== 1)
        throw new Error('lost the job lock (another worker has taken the job up); this attempt is dropped');
      // 3. publish
      const there = readMarker(finalDir);
      if (there?.job === job.id) {
        log.info('campaign.job.reused', { ...base, folder: finalDir });
      } else {
        let old: string | null = null;
        if (fs.existsSync(finalDir)) {
          old = path.join(work, '.replaced');
          fs.renameSync(finalDir, old);
        }
        fs.renameSync(made, finalDir);
        fsyncPathSync(campaignDir);
        if (old) fs.rmSync(old, { recursive: true, force: true });
      }
      const result = done(finalDir, false);
      metrics?.megapixels.inc(result.megapixels);
      metrics?.duration.observe({ outcome: 'completed' }, (performance.now() - t0) / 1000);
      log.info('campaign.job.done', { ...base, folder: finalDir, cracks: result.cracks, seconds: result.seconds, provider: result.provider });
      return result;
    } catch (err) {
      metrics?.duration.observe({ outcome: 'failed' }, (performance.now() - t0) / 1000);
      throw new Error(diskFull(err, campaignDir, d.image) ?? reasonOf(err));
    } finally {
      pool.release(key, session);
      fs.rmSync(work, { recursive: true, force: true });
    }
  };

  const blocking = opts.redis.duplicate(); // BullMQ leaves a connection it was given open on close: ours to close
  blocking.on('error', () => undefined);
  const worker = new Worker<JobData, JobResult>(
    QUEUE,
    async (job, token) => {
      active++;
      metrics?.active.set(active);
      try {
        return await processor(job, token);
      } finally {
        active--;
        metrics?.active.set(active);
      }
    },
    {
      connection: blocking,
      concurrency: opts.concurrency,
      lockDuration: lockMs,
      stalledInterval: Math.max(1000, Math.round(lockMs / 2)),
      maxStalledCount: 3,
      autorun: true,
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1);
    metrics?.jobs.inc({ outcome: final ? 'failed_final' : 'failed' });
    log.warn('campaign.job.failed', {
      job: job.id,
      campaign: job.data.campaign,
      image: job.data.image.path,
      attempt: job.attemptsMade,
      final,
      reason: err.message,
    });
  });
  worker.on('completed', () => metrics?.jobs.inc({ outcome: 'completed' }));
  worker.on('error', (err) => log.warn('campaign.worker.error', { err: reasonOf(err) }));
  log.info('campaign.worker.start', {
    worker: id,
    queue: QUEUE,
    concurrency: opts.concurrency,
    threads,
    lock_ms: lockMs,
    providers: config.providers.join(','),
  });
  return {
    worker,
    queue,
    metrics,
    get active() {
      return active;
    },
    /** force: do not wait for the running surveys (their jobs are taken up again after the lock expires) */
    async close(force = false) {
      await worker.close(force);
      await queue.close();
      await pool.close();
      blocking.disconnect();
    },
  };
}
