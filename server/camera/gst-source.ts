// A FrameSource backed by a gst-launch-1.0 child process that scales and converts to packed RGB at the
// model's size and writes raw frames to stdout (fdsink). Node only copies whole chunks into pooled
// frame buffers. The process is restarted with backoff when it dies, hangs or its input goes away.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { Logger } from '../log/logger.js';
import { displayUri, type FrameGeometry, type FrameSource, type GstPipelineSpec, type RawFrame, type SourceState } from './frame-source.js';

export interface GstSourceOptions {
  uri: string;
  geometry: FrameGeometry;
  /** builds the pipeline; called before every (re)start so a folder is re-read (and its images re-checked) */
  spec: () => GstPipelineSpec | Promise<GstPipelineSpec>;
  log: Logger;
  /** no bytes this long while frames are wanted = the source is hung: kill and restart */
  stallMs: number;
  mode: 'live' | 'paced';
  gstLaunch?: string;
}

const POOL_MAX = 6;
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

export class GstSource extends EventEmitter implements FrameSource {
  readonly uri: string;
  /** the URI without credentials, for logs and reasons */
  private readonly shownUri: string;
  readonly mode: 'live' | 'paced';
  private readonly frameBytes: number;
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private fill: Buffer | null = null;
  private fillOffset = 0;
  private fillStartedAt = 0;
  private discarding = 0;
  private latest: RawFrame | null = null;
  private waiter: ((f: RawFrame) => void) | null = null;
  private child: ChildProcess | null = null;
  private spec: GstPipelineSpec | null = null;
  private state: SourceState = 'stopped';
  private reason: string | undefined;
  private stderrTail = '';
  private seq = 0;
  private counters = { framesRead: 0, framesDropped: 0, badFrames: 0, restarts: 0 };
  private failures = 0;
  private lastDataAt = 0;
  private lastFrameAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** bumps on every launch, so a spec that resolves after stop() or a newer launch is thrown away */
  private launchGen = 0;
  /** why we killed the child ourselves (a stall), reported instead of "exited (SIGKILL)" */
  private killReason: string | undefined;

  constructor(private readonly opts: GstSourceOptions) {
    super();
    this.uri = opts.uri;
    this.shownUri = displayUri(opts.uri);
    this.frameBytes = opts.geometry.width * opts.geometry.height * 3;
    this.mode = opts.mode;
  }

  start(): void {
    this.stopping = false;
    this.stallTimer ??= setInterval(() => this.checkStall(), Math.min(1000, this.opts.stallMs / 2));
    this.launch();
  }

  private setState(state: SourceState, reason?: string) {
    if (state === this.state && reason === this.reason) return;
    this.state = state;
    this.reason = reason;
    this.emit('state', { state, reason });
  }

  private launch() {
    this.restartTimer = null;
    if (this.stopping) return;
    this.spec?.cleanup?.();
    this.spec = null;
    const gen = ++this.launchGen;
    let pending: GstPipelineSpec | Promise<GstPipelineSpec>;
    try {
      pending = this.opts.spec();
    } catch (err) {
      return this.scheduleRestart(`cannot open ${this.shownUri}: ${(err as Error).message}`);
    }
    const go = (spec: GstPipelineSpec) => {
      if (this.stopping || gen !== this.launchGen) return spec.cleanup?.();
      for (const bad of spec.skipped ?? []) {
        this.counters.badFrames++;
        this.emit('badframe', bad);
      }
      const missing = spec.requiredPaths?.find((p) => !fs.existsSync(p));
      if (missing) {
        spec.cleanup?.();
        return this.scheduleRestart(`cannot open ${this.shownUri}: ${missing} is missing`);
      }
      this.spawnChild(spec);
    };
    const fail = (err: unknown) => {
      if (this.stopping || gen !== this.launchGen) return;
      this.scheduleRestart(`cannot open ${this.shownUri}: ${(err as Error).message}`);
    };
    if (pending instanceof Promise) pending.then(go, fail);
    else go(pending);
  }

  private spawnChild(spec: GstPipelineSpec) {
    this.spec = spec;
    const { width, height } = this.opts.geometry;
    const args = [
      '-q', ...spec.elements,
      '!', 'videoscale', 'add-borders=true', '!', 'videoconvert',
      '!', `video/x-raw,format=RGB,width=${width},height=${height},pixel-aspect-ratio=1/1`,
      '!', 'fdsink', 'fd=1', `sync=${this.mode === 'paced'}`,
    ];
    this.setState(this.counters.framesRead === 0 && this.counters.restarts === 0 ? 'starting' : 'restarting', this.reason);
    this.stderrTail = '';
    this.killReason = undefined;
    this.resetFill();
    const child = spawn(this.opts.gstLaunch ?? 'gst-launch-1.0', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.lastDataAt = Date.now();
    this.opts.log.info('source.spawn', { uri: this.shownUri, pid: child.pid });
    child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr!.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2000)));
    // a spawn failure (gst-launch-1.0 not installed) also ends in 'close', which schedules the restart
    child.on('error', (err) => {
      this.stderrTail += `\n${err.message}`;
      this.opts.log.error('source.spawn_failed', { uri: this.shownUri, err: err.message });
    });
    child.on('close', (code, signal) => this.onExit(child, code, signal));
    if (this.mode === 'paced' && !this.waiter) child.stdout!.pause();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null) {
    if (this.child !== child) return;
    this.child = null;
    if (this.fillOffset > 0) {
      this.counters.badFrames++;
      this.emit('badframe', `incomplete frame (${this.fillOffset} of ${this.frameBytes} bytes) when the capture process ended`);
    }
    this.resetFill();
    if (this.stopping) return this.setState('stopped');
    const detail = lastLine(this.stderrTail);
    if (code === 0 && this.spec?.loops) {
      this.opts.log.info('source.loop', { uri: this.shownUri });
      this.counters.restarts++;
      return this.launch();
    }
    const why = this.killReason
      ? `the capture process was killed: ${this.killReason}`
      : code === 0
        ? 'the capture process reached end of stream'
        : `the capture process exited (${signal ?? `code ${code}`})${detail ? ': ' + detail : ''}`;
    this.killReason = undefined;
    this.scheduleRestart(why);
  }

  private scheduleRestart(reason: string) {
    if (this.stopping) return;
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    this.failures++;
    this.counters.restarts++;
    this.setState('restarting', reason);
    this.opts.log.warn('source.down', { uri: this.shownUri, reason, retry_in_ms: delay });
    this.restartTimer = setTimeout(() => this.launch(), delay);
  }

  private checkStall() {
    if (!this.child || this.stopping) return;
    const wanted = this.mode === 'live' || this.waiter !== null;
    if (wanted && Date.now() - this.lastDataAt > this.opts.stallMs) {
      const reason = `no data from the capture process for ${((Date.now() - this.lastDataAt) / 1000).toFixed(1)} s`;
      this.opts.log.warn('source.stalled', { uri: this.shownUri, pid: this.child.pid, reason });
      this.killReason = reason;
      this.child.kill('SIGKILL'); // works on a SIGSTOPped process too; onExit schedules the restart
    }
  }

  private resetFill() {
    if (this.fill) this.free.push(this.fill);
    this.fill = null;
    this.fillOffset = 0;
    this.discarding = 0;
  }

  private takeBuffer(): Buffer | null {
    const b = this.free.pop();
    if (b) return b;
    if (this.allocated >= POOL_MAX) return null;
    this.allocated++;
    // shared memory, so the inference worker reads the frame without a copy
    return Buffer.from(new SharedArrayBuffer(this.frameBytes));
  }

  private onData(chunk: Buffer) {
    this.lastDataAt = Date.now();
    let pos = 0;
    while (pos < chunk.length) {
      if (this.discarding > 0) {
        const n = Math.min(this.discarding, chunk.length - pos);
        this.discarding -= n;
        pos += n;
        continue;
      }
      if (!this.fill) {
        this.fill = this.takeBuffer();
        this.fillStartedAt = performance.now();
        if (!this.fill) {
          // every pooled buffer is held downstream: skip this frame's bytes
          this.counters.framesDropped++;
          this.discarding = this.frameBytes;
          continue;
        }
      }
      const n = chunk.copy(this.fill, this.fillOffset, pos, Math.min(chunk.length, pos + this.frameBytes - this.fillOffset));
      this.fillOffset += n;
      pos += n;
      if (this.fillOffset === this.frameBytes) this.completeFrame();
    }
  }

  private completeFrame() {
    const rgb = this.fill!;
    this.fill = null;
    this.fillOffset = 0;
    const now = Date.now();
    let released = false;
    const frame: RawFrame = {
      seq: ++this.seq,
      capturedAt: performance.timeOrigin + performance.now(),
      readMs: performance.now() - this.fillStartedAt,
      rgb,
      release: () => {
        if (released) return;
        released = true;
        this.free.push(rgb);
      },
    };
    this.counters.framesRead++;
    if (now - this.lastFrameAt > 0) this.lastFrameAt = now;
    if (this.failures > 0 && this.counters.framesRead % 30 === 0) this.failures = 0;
    if (this.state !== 'running') this.setState('running');
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      if (this.mode === 'paced') this.child?.stdout?.pause();
      return w(frame);
    }
    if (this.latest) {
      this.latest.release();
      this.counters.framesDropped++;
    }
    this.latest = frame;
    if (this.mode === 'paced') this.child?.stdout?.pause();
  }

  nextFrame(signal?: AbortSignal): Promise<RawFrame> {
    if (this.latest) {
      const f = this.latest;
      this.latest = null;
      return Promise.resolve(f);
    }
    if (this.waiter) return Promise.reject(new Error('nextFrame is already pending'));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiter = null;
        reject(signal!.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = (f) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(f);
      };
      this.lastDataAt = Date.now();
      // a paced frame's first bytes may have come before the pause: time the read from the ask
      if (this.mode === 'paced' && this.fill) this.fillStartedAt = performance.now();
      if (this.mode === 'paced') this.child?.stdout?.resume();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.launchGen++;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
    const child = this.child;
    if (child) {
      const exited = new Promise<void>((r) => child.once('close', () => r()));
      // a paced source's stdout may be paused with a frame pending: 'close' waits for the pipe to end
      child.stdout?.destroy();
      child.kill('SIGTERM');
      child.kill('SIGCONT'); // a stopped (SIGSTOPped, hung) process must wake up to see the SIGTERM
      const timer = setTimeout(() => child.kill('SIGKILL'), 1500);
      await exited;
      clearTimeout(timer);
    }
    this.child = null;
    this.spec?.cleanup?.();
    this.setState('stopped');
  }

  stats() {
    return { ...this.counters, state: this.state, reason: this.reason, pid: this.child?.pid };
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? '').replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@').slice(0, 300);
}
