// Shadow mode: a candidate model sees a sample of the live frames (shadowRate), one at a time and at
// a lower priority (its worker's threads are niced, model-set.ts), and is never shown to viewers.
// Its agreement with the live model goes to /metrics (histograms) and /api/shadow (a rolling
// summary); the frames where they disagree most are kept on disk, at most shadowKeep of them, in
// <dataDir>/shadow/<candidate>/<frame>/ {image.jpg, live.png, shadow.png, info.json}.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { MaskComparer } from '../inference/agreement.js';
import type { ExtraModel } from '../inference/model-set.js';
import type { Logger } from '../log/logger.js';
import { writeFileSynced } from '../storage/atomic.js';
import { AgreementStats } from './agreement-stats.js';

export interface ShadowOptions {
  model: ExtraModel;
  live: { name: string; version: string; thresholdByte: number };
  rate: number;
  keep: number;
  dataDir: string;
  width: number;
  height: number;
  comparer: MaskComparer;
  log: Logger;
  /** each compared frame's IoU and F1, for the Prometheus histograms */
  observe?: (iou: number, f1: number) => void;
}

export interface KeptFrame {
  frameId: number;
  capturedAt: number;
  iou: number;
  f1: number;
  livePixels: number;
  shadowPixels: number;
  dir: string;
}

export class ShadowRunner {
  readonly stats: AgreementStats;
  readonly counters = { offered: 0, sampled: 0, skippedBusy: 0 };
  readonly dir: string;
  private credit = 0;
  private busy: Promise<void> | null = null;
  private kept: KeptFrame[] = [];
  private writes: Promise<unknown> = Promise.resolve();
  private stopped = false;
  readonly ready: Promise<void>;

  constructor(private readonly opts: ShadowOptions) {
    this.stats = new AgreementStats(opts.observe);
    this.dir = path.join(opts.dataDir, 'shadow', opts.model.files.manifest.name.replace(/[^\w.-]+/g, '_'));
    this.ready = this.loadKept();
  }

  /** What earlier runs left: the bound on disk holds across restarts. */
  private async loadKept() {
    await fs.mkdir(this.dir, { recursive: true });
    for (const name of await fs.readdir(this.dir)) {
      try {
        const info = JSON.parse(await fs.readFile(path.join(this.dir, name, 'info.json'), 'utf8')) as KeptFrame;
        this.kept.push({ ...info, dir: name });
      } catch {
        await fs.rm(path.join(this.dir, name), { recursive: true, force: true }); // half-written: drop it
      }
    }
    this.kept.sort((a, b) => a.iou - b.iou);
    await this.trim();
  }

  /**
   * The pipeline offers every live frame while its buffer is still valid. Sampled ones are copied
   * and run later; a frame offered while the previous one still runs is skipped (counted).
   */
  offer(frame: { frameId: number; capturedAt: number; rgb: Uint8Array }, liveMask: Uint8Array) {
    if (this.stopped) return;
    this.counters.offered++;
    this.credit = Math.min(1, this.credit + this.opts.rate);
    if (this.credit < 1 - 1e-9) return;
    // the sample is spent either way: a busy shadow skips this sample, not every frame until it is free
    this.credit -= 1;
    if (this.busy) {
      this.counters.skippedBusy++;
      return;
    }
    this.counters.sampled++;
    const rgb = new Uint8Array(frame.rgb); // the source reuses its buffer once the live frame is done
    this.busy = this.run(frame.frameId, frame.capturedAt, rgb, liveMask).finally(() => (this.busy = null));
  }

  private async run(frameId: number, capturedAt: number, rgb: Uint8Array, liveMask: Uint8Array) {
    const { model, live, comparer, width, height } = this.opts;
    const t0 = performance.now();
    let mask: Uint8Array;
    try {
      mask = await model.session.run(rgb, height, width);
    } catch (err) {
      const n = ++this.stats.errors;
      if (Number.isInteger(Math.log10(n))) this.opts.log.warn('shadow.error', { err: (err as Error).message, failures: n }); // 1st, 10th, 100th, …
      return;
    }
    const inferenceMs = performance.now() - t0;
    const r = await comparer.agreement(liveMask, mask, live.thresholdByte, model.thresholdByte);
    this.stats.record({ ...r, inferenceMs });
    if (this.opts.keep > 0 && r.iou < 1 && (this.kept.length < this.opts.keep || r.iou < this.kept.at(-1)!.iou)) {
      const k: KeptFrame = {
        frameId,
        capturedAt,
        iou: r.iou,
        f1: r.f1,
        livePixels: r.a,
        shadowPixels: r.b,
        dir: `${new Date(capturedAt).toISOString().replace(/[:.]/g, '')}-f${frameId}`,
      };
      this.writes = this.writes
        .then(() => this.keep(k, rgb, liveMask, mask))
        .catch((err) => this.opts.log.warn('shadow.keep_failed', { err: (err as Error).message }));
    }
  }

  private async keep(k: KeptFrame, rgb: Uint8Array, liveMask: Uint8Array, mask: Uint8Array) {
    if (this.stopped) return;
    const { width, height, model, live } = this.opts;
    const dir = path.join(this.dir, k.dir);
    await fs.mkdir(dir, { recursive: true });
    const png = (m: Uint8Array) =>
      sharp(m, { raw: { width, height, channels: 1 } })
        .toColourspace('b-w')
        .png({ compressionLevel: 6 })
        .toBuffer();
    const [jpg, livePng, shadowPng] = await Promise.all([
      sharp(rgb, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer(),
      png(liveMask),
      png(mask),
    ]);
    await writeFileSynced(path.join(dir, 'image.jpg'), jpg);
    await writeFileSynced(path.join(dir, 'live.png'), livePng);
    await writeFileSynced(path.join(dir, 'shadow.png'), shadowPng);
    // info.json last: a folder without it is unfinished and is removed at the next start
    const info = { ...k, live: { name: live.name, version: live.version }, shadow: { name: model.files.manifest.name, version: model.files.manifest.version } };
    await writeFileSynced(path.join(dir, 'info.json'), JSON.stringify(info, null, 2) + '\n');
    this.kept.push(k);
    this.kept.sort((a, b) => a.iou - b.iou);
    await this.trim();
  }

  private async trim() {
    while (this.kept.length > this.opts.keep) {
      const gone = this.kept.pop()!;
      await fs.rm(path.join(this.dir, gone.dir), { recursive: true, force: true });
    }
  }

  summary() {
    const m = this.opts.model;
    return {
      model: { name: m.files.manifest.name, version: m.files.manifest.version, provider: m.session.providerLabel },
      live: { name: this.opts.live.name, version: this.opts.live.version },
      rate: this.opts.rate,
      framesOffered: this.counters.offered,
      framesCompared: this.stats.frames,
      framesSkippedBusy: this.counters.skippedBusy,
      ...this.stats.summary(),
      kept: { dir: this.dir, limit: this.opts.keep, frames: this.kept.map((k) => ({ ...k, dir: path.join(this.dir, k.dir) })) },
    };
  }

  async stop() {
    this.stopped = true;
    await this.busy?.catch(() => undefined);
    await this.writes.catch(() => undefined);
  }
}

export type ShadowSummary = ReturnType<ShadowRunner['summary']>;
