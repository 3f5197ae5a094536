// The frame loop's overlap, step by step: the next frame is read while the model works, frame N is
// published while N+1 is in the model, never more than three frames are held, every frame goes
// back to the source's pool, and the published timings add up. A real onnxruntime session (the
// model-free stand-in: mask = max(R, G, B)), real libvips JPEGs; the test holds each model run open
// until it has seen what it checks, so nothing here depends on how fast the machine is.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FrameSource, RawFrame } from '../server/camera/frame-source.js';
import { resolveModel } from '../server/inference/manifest.js';
import { writePassthroughModel } from '../server/inference/passthrough-model.js';
import { createOrtSession, type CrackSession } from '../server/inference/session.js';
import { createLogger } from '../server/log/logger.js';
import { FramePipeline } from '../server/pipeline/frame-pipeline.js';
import type { ProcessedFrame } from '../server/service-context.js';

const W = 96;
const H = 64;

/** Distinct frames (each a flat colour), handed out on demand; it records who holds which frame. */
class CountingSource extends EventEmitter implements FrameSource {
  readonly uri = 'memory://test';
  asked = 0;
  readonly held = new Set<number>();
  maxHeld = 0;
  readonly released: number[] = [];
  constructor(
    readonly mode: 'paced' | 'live',
    private readonly images: Buffer[],
    private readonly readMs: number,
  ) {
    super();
  }
  start() {
    setImmediate(() => this.emit('state', { state: 'running' }));
  }
  async nextFrame(signal?: AbortSignal): Promise<RawFrame> {
    signal?.throwIfAborted();
    const seq = ++this.asked;
    this.held.add(seq);
    this.maxHeld = Math.max(this.maxHeld, this.held.size);
    let done = false;
    return {
      seq,
      capturedAt: performance.timeOrigin + performance.now(),
      readMs: this.readMs,
      rgb: this.images[(seq - 1) % this.images.length],
      release: () => {
        if (done) return;
        done = true;
        this.held.delete(seq);
        this.released.push(seq);
      },
    };
  }
  async stop() {}
  stats() {
    return { framesRead: this.asked, framesDropped: 0, badFrames: 0, restarts: 0, state: 'running' as const };
  }
}

/** The real session, with each run held open until the test lets it finish (or all of them: `free`). */
function gated(real: CrackSession) {
  const runs: { rgb: Uint8Array; finish: () => void; finished: boolean }[] = [];
  let free = false;
  const session: CrackSession = {
    ...real,
    async run(rgb, height, width) {
      const run = { rgb, finish: () => undefined as void, finished: false };
      const open = new Promise<void>(
        (resolve) =>
          (run.finish = () => {
            run.finished = true;
            resolve();
          }),
      );
      runs.push(run);
      if (free) run.finish();
      const mask = Uint8Array.from(await real.run(rgb, height, width));
      await open;
      return mask;
    },
  };
  return {
    session,
    runs,
    freeAll: () => {
      free = true;
      for (const r of runs) r.finish();
    },
  };
}

/** readMs: how long each frame took to arrive, as the source reports it (5 ms: as from a capture process, worth reading ahead) */
async function setup(mode: 'paced' | 'live', readMs = 5) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-overlap-'));
  writePassthroughModel(dir, { height: H, width: W });
  const real = await createOrtSession({ model: resolveModel(dir, 'passthrough'), providers: ['cpu'], threads: 1, log: createLogger('error') });
  const colours = [
    [200, 10, 30],
    [5, 150, 90],
    [40, 60, 250],
    [120, 120, 120],
  ];
  const images = colours.map(([r, g, b]) => {
    const buf = Buffer.alloc(W * H * 3);
    for (let i = 0; i < W * H; i++) buf.set([r, g, b], i * 3);
    return buf;
  });
  const source = new CountingSource(mode, images, readMs);
  const g = gated(real);
  const pipeline = new FramePipeline({
    source,
    session: g.session,
    width: W,
    height: H,
    jpegQuality: 80,
    maskEncoding: 'raw',
    sourceStallMs: 5000,
    log: createLogger('error'),
  });
  const published: { frame: ProcessedFrame; at: number; runsStarted: number; openRuns: number }[] = [];
  pipeline.on('frame', (frame: ProcessedFrame) => {
    published.push({ frame, at: performance.timeOrigin + performance.now(), runsStarted: g.runs.length, openRuns: g.runs.filter((r) => !r.finished).length });
  });
  cleanups.push(async () => {
    g.freeAll();
    await pipeline.stop();
    await real.release();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { source, pipeline, ...g, published, colours };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('frame pipeline overlap', () => {
  it('paced source: frame N+1 is read while N is in the model, and N is published while N+1 is in the model', async () => {
    const { source, pipeline, runs, published, freeAll } = await setup('paced');
    pipeline.start();
    await vi.waitFor(() => expect(runs).toHaveLength(1));
    // the model still holds frame 1, and frame 2 has already been taken from the source
    await vi.waitFor(() => expect(source.asked).toBe(2));
    expect(published).toHaveLength(0);
    runs[0].finish();
    await vi.waitFor(() => expect(published).toHaveLength(1));
    // when frame 1 went out, frame 2 was already in the model, its run not finished
    expect(published[0].frame.frameId).toBe(1);
    expect(published[0].runsStarted).toBe(2);
    expect(published[0].openRuns).toBe(1);
    // and frame 3 is read while frame 2 is still in the model
    await vi.waitFor(() => expect(source.asked).toBe(3), { timeout: 10_000 });
    expect(runs[1].finished).toBe(false);

    freeAll();
    await vi.waitFor(() => expect(published.length).toBeGreaterThanOrEqual(30), { timeout: 20_000 });
    await pipeline.stop();
    const ids = published.map((p) => p.frame.frameId);
    // in order, none lost on the way (a paced source drops nothing)
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    // a fixed number of frames in the pipeline at once, and every frame back in the source's pool
    expect(source.maxHeld).toBeLessThanOrEqual(3);
    expect(source.held.size).toBe(0);
    expect(source.released.sort((a, b) => a - b)).toEqual(Array.from({ length: source.asked }, (_, i) => i + 1));
  });

  it('each published frame carries its own mask and JPEG, and its timings add up to its time in the pipeline', async () => {
    const { pipeline, published, freeAll, colours } = await setup('paced');
    freeAll();
    pipeline.start();
    await vi.waitFor(() => expect(published.length).toBeGreaterThanOrEqual(12), { timeout: 20_000 });
    await pipeline.stop();
    for (const { frame, at } of published) {
      const [r, g, b] = colours[(frame.frameId - 1) % colours.length];
      // the stand-in's mask is max(R, G, B) of this very frame, not a neighbour's
      expect(frame.mask[0]).toBe(Math.max(r, g, b));
      expect(frame.mask[W * H - 1]).toBe(Math.max(r, g, b));
      const px = await sharp(frame.jpeg).raw().toBuffer();
      expect(Math.abs(px[0] - r) + Math.abs(px[1] - g) + Math.abs(px[2] - b)).toBeLessThan(30);
      const t = frame.timings;
      for (const v of Object.values(t)) expect(v).toBeGreaterThanOrEqual(0);
      // the frame's critical path (waiting + hand-off + model + mask encoding) is its time from capture to publication
      const inPipeline = at - frame.capturedAt;
      expect(t.queue + t.preprocess + t.inference + t.postprocess).toBeLessThanOrEqual(inPipeline + 0.01);
      expect(t.inference).toBeGreaterThan(0);
    }
    // /metrics' histogram has each published frame's wait and its own end to end
    const { values } = await pipeline.stageLatency.histogram.get();
    const count = (stage: string) => values.find((v) => v.metricName === 'crackscope_stage_latency_ms_count' && v.labels.stage === stage)?.value;
    expect(count('total')).toBe(published.length);
    expect(count('queue')).toBe(published.length);
  });

  it('live source: the next frame is taken only when the model is free (the newest one, not one picked early)', async () => {
    const { source, pipeline, runs, published } = await setup('live');
    pipeline.start();
    await vi.waitFor(() => expect(runs).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 100));
    expect(source.asked).toBe(1);
    runs[0].finish();
    await vi.waitFor(() => expect(source.asked).toBe(2));
    await vi.waitFor(() => expect(published).toHaveLength(1));
    expect(source.maxHeld).toBeLessThanOrEqual(2);
  });

  it('paced source whose frames arrive instantly (from memory): after the first, the next frame is asked only when the model is free', async () => {
    const { source, pipeline, runs, published } = await setup('paced', 0);
    pipeline.start();
    // nothing known yet about reads: the first read-ahead goes at once
    await vi.waitFor(() => expect(source.asked).toBe(2));
    runs[0].finish();
    await vi.waitFor(() => expect(runs).toHaveLength(2));
    await vi.waitFor(() => expect(published).toHaveLength(1));
    // reads take no time: asking while frame 2 is in the model would only make frame 3 wait
    await new Promise((r) => setTimeout(r, 100));
    expect(source.asked).toBe(2);
    runs[1].finish();
    await vi.waitFor(() => expect(source.asked).toBe(3));
  });

  it('paced source with a model whose time varies by more than a read: no reading ahead, the frame would only wait', async () => {
    const { source, pipeline, runs, published } = await setup('paced', 5);
    pipeline.start();
    // eight runs of 0 or 200 ms: the model's spread (~200 ms) dwarfs the 5 ms read
    for (let k = 0; k < 8; k++) {
      await vi.waitFor(() => expect(runs).toHaveLength(k + 1), { timeout: 10_000 });
      if (k % 2) await new Promise((r) => setTimeout(r, 200));
      runs[k].finish();
    }
    await vi.waitFor(() => expect(runs).toHaveLength(9), { timeout: 10_000 });
    await vi.waitFor(() => expect(published).toHaveLength(8), { timeout: 10_000 });
    // longer than the 3rd quartile of the model's times (200 ms), when a read-ahead would have gone
    await new Promise((r) => setTimeout(r, 300));
    expect(source.asked).toBe(9); // frame 10 is not asked for while frame 9 is in the model
    runs[8].finish();
    await vi.waitFor(() => expect(source.asked).toBe(10));
  });

  it('stop() while the model holds a frame and the next one is read: returns, and every frame goes back', async () => {
    const { source, pipeline, runs } = await setup('paced');
    pipeline.start();
    await vi.waitFor(() => expect(source.asked).toBe(2));
    const stopped = pipeline.stop();
    runs[0].finish();
    await stopped;
    await vi.waitFor(() => expect(source.held.size).toBe(0));
  });
});
