// The frame loop: take the newest frame from the source (never a queue), run the model on it while
// libvips encodes the display JPEG in parallel, then hand the result to whoever listens ('frame').
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import sharp from 'sharp';
import type { FrameSource, RawFrame } from '../camera/frame-source.js';
import type { CrackSession } from '../inference/session.js';
import type { Logger } from '../log/logger.js';
import type { PipelineHandle, PipelineStatus, ProcessedFrame, ServiceState } from '../service-context.js';
import type { StageTimings } from '../stream/wire-format.js';
import { RateMeter, StageLatency } from './stage-stats.js';
import type { FrameComparer } from './compare.js';

/**
 * zlib stream (what the kiosk's DecompressionStream('deflate') reads) with the run-length strategy:
 * on crackunet-v1's masks of the demo frames it is both smaller and faster than level 1's default
 * strategy (e.g. 59.7 KB in 1.15 ms vs 72.2 KB in 1.50 ms for the busiest frame, 245.8 KB raw).
 * Synchronous: it is shorter than a hop to the libuv pool and back.
 */
export function deflateMask(mask: Uint8Array): Buffer {
  return zlib.deflateSync(mask, { level: 1, strategy: zlib.constants.Z_RLE });
}
// One libvips thread for the display JPEG: the model needs the cores more; no cache of past frames.
// No Huffman optimisation pass: it halves the encoder's time (1.8 → 0.85 ms for 640×384 on one
// core) for a JPEG ~15% larger, which matters less than the millisecond on loopback or a LAN.
sharp.concurrency(1);
sharp.cache(false);
const RECENT_FRAMES = 8;
/** consecutive inference errors before the session is recreated and health turns red */
const ERRORS_BEFORE_RECREATE = 3;

export interface FramePipelineOptions {
  source: FrameSource;
  session: CrackSession;
  /** recreates the session after repeated inference errors */
  recreateSession?: () => Promise<CrackSession>;
  width: number;
  height: number;
  jpegQuality: number;
  maskEncoding: 'raw' | 'deflate';
  sourceStallMs: number;
  log: Logger;
  /** comparison and shadow models (serve --compare / --shadow), see compare.ts */
  comparer?: FrameComparer;
}

export interface EncodedMask {
  bytes: Uint8Array;
  encoding: 'raw' | 'deflate';
}

export class FramePipeline extends EventEmitter implements PipelineHandle {
  readonly stageLatency = new StageLatency();
  readonly counters = { framesProcessed: 0, inferenceErrors: 0, sessionRecreated: 0 };
  private readonly rate = new RateMeter();
  private readonly recentFrames: ProcessedFrame[] = [];
  private readonly abort = new AbortController();
  private session: CrackSession;
  private running: Promise<void> | null = null;
  private lastFrameAt = 0;
  private consecutiveErrors = 0;
  private modelError: string | undefined;
  private sourceReason: string | undefined;
  private sourceDown = false;
  private stopping = false;
  private lastState: ServiceState = 'starting';
  private healthTimer: NodeJS.Timeout | null = null;
  /** masks for the wire, in the configured encoding, keyed by frame id (only the latest) */
  encodedMask: { frameId: number; mask: EncodedMask } | null = null;

  constructor(private readonly opts: FramePipelineOptions) {
    super();
    this.session = opts.session;
    opts.source.on('state', ({ state, reason }: { state: string; reason?: string }) => {
      this.sourceDown = state === 'restarting';
      if (reason) this.sourceReason = reason;
      if (state === 'running') this.sourceReason = undefined;
      this.publishStatus();
    });
    opts.source.on('badframe', (reason: string) => opts.log.warn('source.bad_frame', { reason }));
  }

  get currentSession() {
    return this.session;
  }

  start() {
    this.opts.source.start();
    this.running = this.loop();
    this.healthTimer = setInterval(() => this.publishStatus(), 500);
  }

  async stop() {
    this.stopping = true;
    this.publishStatus();
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.abort.abort(new Error('stopping'));
    await this.opts.source.stop();
    await this.running?.catch(() => undefined);
  }

  private async loop() {
    while (!this.stopping) {
      let frame: RawFrame;
      try {
        frame = await this.opts.source.nextFrame(this.abort.signal);
      } catch {
        if (this.stopping) return;
        continue;
      }
      try {
        await this.process(frame);
      } finally {
        frame.release();
      }
    }
  }

  private async process(frame: RawFrame) {
    const { width, height } = this.opts;
    const t0 = performance.now();
    // The model first: handing the frame to the inference worker is one postMessage, while setting up
    // the libvips JPEG pipeline costs ~0.3 ms on the main thread; that setup now overlaps the model.
    const inference = this.session.run(frame.rgb, height, width);
    const comparing = this.opts.comparer?.begin(frame.rgb, height, width);
    const tInfer = performance.now();
    let encodeMs = 0;
    const jpegPromise = sharp(frame.rgb, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: this.opts.jpegQuality, optimiseCoding: false })
      .toBuffer()
      .then((buf) => {
        encodeMs = performance.now() - tInfer;
        return buf;
      });
    let mask: Uint8Array;
    try {
      mask = await inference;
    } catch (err) {
      await jpegPromise.catch(() => undefined);
      await comparing?.abandon();
      return this.onInferenceError(err as Error);
    }
    const inferenceMs = performance.now() - tInfer;
    const comparisons = comparing ? await comparing.finish(mask, { frameId: frame.seq, capturedAt: frame.capturedAt }) : undefined;
    this.consecutiveErrors = 0;
    this.modelError = undefined;
    const tPost = performance.now();
    const encoded: EncodedMask =
      this.opts.maskEncoding === 'deflate' ? { bytes: deflateMask(mask), encoding: 'deflate' } : { bytes: mask, encoding: 'raw' };
    const postprocessMs = performance.now() - tPost;
    let jpeg: Buffer;
    try {
      jpeg = await jpegPromise;
    } catch (err) {
      this.opts.log.warn('encode.failed', { err: (err as Error).message });
      return;
    }
    const timings: StageTimings = {
      capture: frame.readMs,
      preprocess: tInfer - t0, // handing the frame to the model (the encoder is set up while it runs)
      inference: inferenceMs,
      postprocess: postprocessMs,
      encode: encodeMs,
      send: 0,
    };
    const processed: ProcessedFrame = { frameId: frame.seq, capturedAt: frame.capturedAt, width, height, jpeg, mask, timings, comparisons };
    this.encodedMask = { frameId: frame.seq, mask: encoded };
    for (const stage of ['capture', 'preprocess', 'inference', 'postprocess', 'encode'] as const) this.stageLatency.record(stage, timings[stage]);
    this.stageLatency.record('total', performance.now() - t0 + frame.readMs);
    this.counters.framesProcessed++;
    this.lastFrameAt = Date.now();
    this.rate.tick();
    this.recentFrames.push(processed);
    if (this.recentFrames.length > RECENT_FRAMES) this.recentFrames.shift();
    this.emit('frame', processed);
    if (this.lastState !== 'live') this.publishStatus();
  }

  private async onInferenceError(err: Error) {
    this.counters.inferenceErrors++;
    this.consecutiveErrors++;
    this.opts.log.error('inference.error', { err: err.message, consecutive: this.consecutiveErrors });
    if (this.consecutiveErrors >= ERRORS_BEFORE_RECREATE) {
      this.modelError = `inference failed ${this.consecutiveErrors} times in a row: ${err.message}`;
      this.publishStatus();
      if (this.opts.recreateSession) {
        // wait a little longer each time, so a broken model turns health red instead of spinning
        // (abortable: SIGTERM must not wait out the backoff)
        const waited = await sleep(Math.min(10_000, 500 * this.consecutiveErrors), true, { signal: this.abort.signal }).catch(() => false);
        if (!waited) return;
        try {
          const fresh = await this.opts.recreateSession();
          if (this.stopping) return void (await fresh.release().catch(() => undefined));
          await this.session.release().catch(() => undefined);
          this.session = fresh;
          this.counters.sessionRecreated++;
          this.opts.log.warn('inference.session_recreated', { provider: fresh.provider });
        } catch (e) {
          this.opts.log.error('inference.recreate_failed', { err: (e as Error).message });
        }
      }
    }
  }

  recordSend(ms: number) {
    this.stageLatency.record('send', ms);
  }

  status(): PipelineStatus {
    const src = this.opts.source.stats();
    const stalledFor = this.lastFrameAt ? Date.now() - this.lastFrameAt : 0;
    let state: ServiceState;
    let reason: string | undefined;
    if (this.stopping) state = 'stopping';
    else if (this.modelError) [state, reason] = ['model-error', this.modelError];
    else if (this.sourceDown) [state, reason] = ['source-down', this.sourceReason ?? 'the camera source is restarting'];
    else if (this.lastFrameAt === 0) [state, reason] = ['starting', this.sourceReason ?? 'waiting for the first frame'];
    else if (stalledFor > this.opts.sourceStallMs) [state, reason] = ['source-down', `no frame for ${(stalledFor / 1000).toFixed(1)} s`];
    else state = 'live';
    return {
      state,
      reason,
      fps: this.rate.rate(),
      framesProcessed: this.counters.framesProcessed,
      framesDropped: src.framesDropped,
      badFrames: src.badFrames,
      lastFrameAt: this.lastFrameAt,
    };
  }

  private publishStatus() {
    const s = this.status();
    if (s.state !== this.lastState) {
      this.opts.log.info('pipeline.state', { state: s.state, reason: s.reason, previous: this.lastState });
      this.lastState = s.state;
      this.emit('status', s);
    }
  }

  recent(frameId?: number): ProcessedFrame | undefined {
    if (frameId === undefined) return this.recentFrames.at(-1);
    return this.recentFrames.find((f) => f.frameId === frameId);
  }
}
