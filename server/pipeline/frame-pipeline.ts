// The frame loop, with its stages overlapped: frame N+1 is read from the source while the model
// works on frame N (timed to arrive as the model frees up, so it does not wait long), libvips encodes
// N's display JPEG beside the model, and N is published (mask encoding, WebSocket send) while N+1 is
// in the model. Never a queue: the source keeps only its newest frame, and at most three frames are
// in the pipeline at once (arriving, in the model, being published), in the source's fixed pool of
// reused frame buffers. Results go to whoever listens ('frame'), in frame order.
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import type { FrameSource, RawFrame } from '../camera/frame-source.js';
import type { CrackSession } from '../inference/session.js';
import type { Logger } from '../log/logger.js';
import type { PipelineEvents, PipelineHandle, PipelineStatus, ProcessedFrame, ServiceState } from '../service-context.js';
import type { StageTimings } from '../protocol/wire-format.js';
import { deflateMask, type EncodedMask } from '../protocol/mask-encoding.js';
import { RateMeter, RecentTimes, StageLatency } from './stage-stats.js';
import type { FrameComparer, FrameComparison, PendingComparison } from './compare.js';

// One libvips thread for the display JPEG: the model needs the cores more; no cache of past frames.
// No Huffman optimisation pass: it halves the encoder's time (1.8 → 0.85 ms for 640×384 on one
// core) for a JPEG ~15% larger, which matters less than the millisecond on loopback or a LAN.
sharp.concurrency(1);
sharp.cache(false);
const RECENT_FRAMES = 8;
/** consecutive inference errors before the session is recreated and health turns red */
const ERRORS_BEFORE_RECREATE = 3;
/** how many recent frames the read-ahead timing learns from */
const TIMING_WINDOW = 16;
/** a read-ahead frame is asked for this much earlier than strictly needed (timer and scheduling slack) */
const READ_AHEAD_MARGIN_MS = 1;

/** One frame from the moment it is handed to the model until it is published. */
interface InFlight {
  frame: RawFrame;
  /** performance.now() when the frame was handed to the model, and when the hand-off returned */
  handedAt: number;
  modelStartedAt: number;
  inference: Promise<Uint8Array>;
  inferenceMs: number;
  jpeg: Promise<Buffer>;
  encodeMs: number;
  /** the comparison models' runs on this frame (serve --compare), finished once the live mask is back */
  comparing?: PendingComparison;
  comparisons?: Promise<FrameComparison[]>;
  /** called when the comparison runs are done with the frame's buffer (finished or abandoned) */
  comparisonDone: () => void;
}

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

export class FramePipeline extends EventEmitter<PipelineEvents> implements PipelineHandle {
  readonly stageLatency = new StageLatency();
  readonly counters = { framesProcessed: 0, inferenceErrors: 0, sessionRecreated: 0 };
  private readonly rate = new RateMeter();
  private readonly recentFrames: ProcessedFrame[] = [];
  private readonly abort = new AbortController();
  private session: CrackSession;
  private running: Promise<void> | null = null;
  private lastFrameAt = 0;
  /** start time (ms since epoch) of each model run not yet settled */
  private readonly runsInFlight = new Map<object, number>();
  private consecutiveErrors = 0;
  private modelError: string | undefined;
  private sourceReason: string | undefined;
  private sourceDown = false;
  private stopping = false;
  private lastState: ServiceState = 'starting';
  private healthTimer: NodeJS.Timeout | null = null;
  /** the frame being published (mask encoding, JPEG, 'frame' event); settles, never rejects */
  private publishing: Promise<void> = Promise.resolve();
  /** recent model round trips and paced reads, for timing the read-ahead */
  private readonly recentInference = new RecentTimes(TIMING_WINDOW);
  private readonly recentCapture = new RecentTimes(TIMING_WINDOW);

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
    let next = this.take();
    while (!this.stopping) {
      const frame = await next;
      if (!frame) {
        next = this.take();
        continue;
      }
      if (this.stopping) {
        frame.release();
        break;
      }
      const job = this.begin(frame);
      next = this.readAhead(job);
      let mask: Uint8Array;
      try {
        mask = await job.inference;
      } catch (err) {
        await job.comparing?.abandon();
        job.comparisonDone();
        if (await this.onInferenceError(err as Error)) {
          // after a backoff the frame read ahead is stale: take the newest instead
          const stale = await next;
          stale?.release();
          next = this.take();
        }
        continue;
      }
      this.consecutiveErrors = 0;
      this.modelError = undefined;
      // the comparison models' masks against this one, measured while the next frame is in the live model
      job.comparisons = job.comparing?.finish(mask, { frameId: job.frame.seq, capturedAt: job.frame.capturedAt }).finally(job.comparisonDone);
      const previous = this.publishing;
      this.publishing = this.publish(job, mask, performance.now(), previous).catch((err: Error) => {
        // a 'frame' listener that throws loses that frame for the listeners after it, not the loop
        this.opts.log.error('publish.failed', { err: err.message });
      });
    }
    (await next)?.release();
    await this.publishing;
  }

  /** The newest frame from the source, or null when stopping (or the source refused). */
  private async take(): Promise<RawFrame | null> {
    try {
      return await this.opts.source.nextFrame(this.abort.signal);
    } catch {
      return null;
    }
  }

  /** Hands the frame to the model and starts its display JPEG beside it. */
  private begin(frame: RawFrame): InFlight {
    const { width, height } = this.opts;
    const handedAt = performance.now();
    // The model first: handing the frame to the inference worker is one postMessage, while setting up
    // the libvips JPEG pipeline costs ~0.3 ms on the main thread; that setup then overlaps the model.
    const run = this.session.run(frame.rgb, height, width);
    // for the systemd watchdog: a model run that never returns is a hung inference worker
    const token = {};
    this.runsInFlight.set(token, Date.now());
    void run.then(
      () => this.runsInFlight.delete(token),
      () => this.runsInFlight.delete(token),
    );
    const comparing = this.opts.comparer?.begin(frame.rgb, height, width);
    const modelStartedAt = performance.now();
    let comparisonDone = () => {};
    const comparisonSettled = comparing ? new Promise<void>((resolve) => (comparisonDone = resolve)) : Promise.resolve();
    const job: InFlight = { frame, handedAt, modelStartedAt, inference: run, inferenceMs: 0, jpeg: null!, encodeMs: 0, comparing, comparisonDone };
    job.inference = run.then((mask) => {
      job.inferenceMs = performance.now() - modelStartedAt;
      this.recentInference.record(job.inferenceMs);
      return mask;
    });
    const encodeStartedAt = performance.now();
    job.jpeg = sharp(frame.rgb, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: this.opts.jpegQuality, optimiseCoding: false })
      .toBuffer()
      .then((buf) => {
        job.encodeMs = performance.now() - encodeStartedAt;
        return buf;
      });
    // the frame's buffer goes back to the source's pool once neither the models nor the encoder read it
    // (the shadow model copies a sampled frame when its comparison finishes)
    void Promise.allSettled([job.inference, job.jpeg, comparisonSettled]).then(() => frame.release());
    return job;
  }

  /**
   * The frame after `job`, read while the model works on `job`. A live source (camera, stream) fills
   * its newest-frame slot by itself, so it is taken the moment the model is free: the newest, not one
   * picked a few ms early. A paced source (file, pattern) produces a frame when asked, so it is asked
   * a typical read's time (the median of recent reads) before the model is likely done (the 3rd
   * quartile of recent model times), or at once when the model is done sooner. Asking late costs at
   * most one read of model idle time; asking early makes the frame wait for the model, which is
   * latency the viewer sees. So it reads ahead only while the read takes longer than the model's
   * spread (interquartile range): with a steady model (a GPU, TensorRT) it does, on a loaded shared
   * CPU, where the model's time varies by far more than a read, it asks when the model is free.
   * Frame N−1 must have left the pipeline first: at most three frames in it at any time.
   */
  private async readAhead(job: InFlight): Promise<RawFrame | null> {
    await this.publishing;
    const readMs = this.recentCapture.percentile(50);
    const modelSpread = this.recentInference.percentile(75) - this.recentInference.percentile(25);
    // Reading ahead saves at most one read of model idle time and risks about the model's spread of
    // waiting: worth it only when the read is the larger (a steady model: a GPU, TensorRT). Frames
    // from memory (a read of next to nothing) gain nothing from it at all.
    const worthIt = this.recentCapture.count === 0 || (readMs >= READ_AHEAD_MARGIN_MS && readMs >= modelSpread);
    const askWhenFree = this.opts.source.mode === 'live' || !worthIt;
    const untilAsk = askWhenFree ? Infinity : job.modelStartedAt + this.recentInference.percentile(75) - readMs - READ_AHEAD_MARGIN_MS - performance.now();
    if (untilAsk > 1) await this.waitFor(job.inference, untilAsk);
    if (this.stopping) return null;
    const frame = await this.take();
    if (frame) this.recentCapture.record(frame.readMs);
    return frame;
  }

  /** Resolves after `ms`, or sooner when `work` settles or the pipeline stops. */
  private waitFor(work: Promise<unknown>, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const signal = this.abort.signal;
      const timer = Number.isFinite(ms) ? setTimeout(() => done(), ms) : null;
      const done = () => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      if (signal.aborted) return done();
      signal.addEventListener('abort', done);
      work.then(done, done);
    });
  }

  /** Mask encoding and the 'frame' event for `job`, after the previous frame's and after the next frame's hand-off. */
  private async publish(job: InFlight, mask: Uint8Array, maskAt: number, previous: Promise<void>) {
    // let the next frame's hand-off to the model go first when it is already here
    await nextTurn();
    await previous;
    const { width, height } = this.opts;
    const { frame } = job;
    const tPost = performance.now();
    const encoded: EncodedMask = this.opts.maskEncoding === 'deflate' ? { bytes: deflateMask(mask), encoding: 'deflate' } : { bytes: mask, encoding: 'raw' };
    const postprocessMs = performance.now() - tPost;
    const comparisons = job.comparisons ? await job.comparisons : undefined;
    let jpeg: Buffer;
    try {
      jpeg = await job.jpeg;
    } catch (err) {
      this.opts.log.warn('encode.failed', { err: (err as Error).message });
      return;
    }
    const publishedAt = performance.now();
    const capturedAt = frame.capturedAt - performance.timeOrigin;
    const timings: StageTimings = {
      capture: frame.readMs,
      preprocess: job.modelStartedAt - job.handedAt, // handing the frame to the model (the encoder is set up while it runs)
      inference: job.inferenceMs,
      postprocess: postprocessMs,
      encode: job.encodeMs,
      send: 0,
      // waiting for the model to free up, and from the mask to publishing (its JPEG, comparison models, the next frame's hand-off)
      queue: Math.max(0, job.handedAt - capturedAt) + Math.max(0, publishedAt - maskAt - postprocessMs),
    };
    const processed: ProcessedFrame = { frameId: frame.seq, capturedAt: frame.capturedAt, width, height, jpeg, mask, wireMask: encoded, timings, comparisons };
    for (const stage of ['capture', 'preprocess', 'inference', 'postprocess', 'encode', 'queue'] as const) this.stageLatency.record(stage, timings[stage]);
    // the frame's own end to end inside the daemon: last byte from the camera → handed to the viewers
    this.stageLatency.record('total', publishedAt - capturedAt);
    this.counters.framesProcessed++;
    this.lastFrameAt = Date.now();
    this.rate.tick();
    this.recentFrames.push(processed);
    if (this.recentFrames.length > RECENT_FRAMES) this.recentFrames.shift();
    this.emit('frame', processed);
    if (this.lastState !== 'live') this.publishStatus();
  }

  /** Counts and logs a failed run; after several in a row, backs off and recreates the session (returns true then). */
  private async onInferenceError(err: Error): Promise<boolean> {
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
        if (!waited) return true;
        try {
          const fresh = await this.opts.recreateSession();
          if (this.stopping) {
            await fresh.release().catch(() => undefined);
            return true;
          }
          await this.session.release().catch(() => undefined);
          this.session = fresh;
          this.counters.sessionRecreated++;
          this.opts.log.warn('inference.session_recreated', { provider: fresh.provider });
        } catch (e) {
          this.opts.log.error('inference.recreate_failed', { err: (e as Error).message });
        }
      }
      return true;
    }
    return false;
  }

  recordSend(ms: number) {
    this.stageLatency.record('send', ms);
  }

  /** How long the oldest unfinished model run has been going, ms; 0 when none is. */
  inferenceBusyMs(): number {
    let oldest = Infinity;
    for (const t of this.runsInFlight.values()) oldest = Math.min(oldest, t);
    return oldest === Infinity ? 0 : Date.now() - oldest;
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
