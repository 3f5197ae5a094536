// A FrameSource backed by a gst-launch-1.0 child process that scales and converts to packed RGB at the
// model's size and writes raw frames to its fd 3 (fdsink fd=3), a pipe of their own: NVIDIA's
// plugins printf status text to stdout (nvarguscamerasrc's "GST_ARGUS: …", "CONSUMER: …", the
// decoders' "NvMMLiteOpen …"), which on the frame pipe would shift every later frame by its length.
// stdout and stderr are logged instead. Node only copies whole chunks into pooled frame buffers.
// The process is restarted with backoff when it dies, hangs or its input goes away; it is stopped
// with SIGINT under `gst-launch-1.0 -e`, so sources send EOS and close their sessions (an Argus
// client killed hard is a classic way to wedge nvargus-daemon), and killed only if that hangs.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { Logger } from '../log/logger.js';
import { displayUri } from '../config/source-uri.js';
import { type FrameGeometry, type FrameSource, type GstPipelineSpec, type RawFrame, type SourceState } from './frame-source.js';

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
/** the child's descriptor that carries raw frames (0-2 are stdin, stdout, stderr) */
export const FRAME_FD = 3;
/** how long a child may take to reach EOS after SIGINT before it is killed */
const EOS_GRACE_MS = 1500;
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
      '-q',
      '-e',
      ...spec.elements,
      '!',
      'videoscale',
      'add-borders=true',
      '!',
      'videoconvert',
      '!',
      `video/x-raw,format=RGB,width=${width},height=${height},pixel-aspect-ratio=1/1`,
      '!',
      'fdsink',
      `fd=${FRAME_FD}`,
      `sync=${this.mode === 'paced'}`,
    ];
    this.setState(this.counters.framesRead === 0 && this.counters.restarts === 0 ? 'starting' : 'restarting', this.reason);
    this.stderrTail = '';
    this.killReason = undefined;
    this.resetFill();
    const child = spawn(this.opts.gstLaunch ?? 'gst-launch-1.0', args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.lastDataAt = Date.now();
    this.opts.log.info('source.spawn', { uri: this.shownUri, pid: child.pid, crop: spec.crop });
    const frames = framePipe(child);
    frames.on('data', (chunk: Buffer) => this.onData(chunk));
    frames.on('error', () => undefined); // the child died: 'close' reports it
    // text on stdout (NVIDIA plugins' printf) is logged and kept for the exit reason, never read as frames
    let outPartial = '';
    child.stdout!.on('data', (d: Buffer) => {
      const text = d.toString();
      this.stderrTail = (this.stderrTail + text).slice(-2000);
      const lines = (outPartial + text).split('\n');
      outPartial = lines.pop()!.slice(-1000);
      for (const line of lines
        .map((l) => l.trim())
        .filter(Boolean)
        .slice(0, 20))
        this.opts.log.info('source.stdout', { uri: this.shownUri, pid: child.pid, line: line.slice(0, 300) });
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2000)));
    // a spawn failure (gst-launch-1.0 not installed) also ends in 'close', which schedules the restart
    child.on('error', (err) => {
      this.stderrTail += `\n${err.message}`;
      this.opts.log.error('source.spawn_failed', { uri: this.shownUri, err: err.message });
    });
    child.on('close', (code, signal) => this.onExit(child, code, signal));
    if (this.mode === 'paced' && !this.waiter) frames.pause();
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
    if (code === 0 && this.spec?.loops && !this.killReason) {
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
    // once a hung child is being ended, later checks leave it be: a second SIGINT makes gst-launch -e
    // abandon its EOS ("Interrupt while waiting for EOS"), and each would log and arm another kill
    if (!this.child || this.stopping || this.killReason) return;
    const wanted = this.mode === 'live' || this.waiter !== null;
    if (wanted && Date.now() - this.lastDataAt > this.opts.stallMs) {
      const reason = `no data from the capture process for ${((Date.now() - this.lastDataAt) / 1000).toFixed(1)} s`;
      this.opts.log.warn('source.stalled', { uri: this.shownUri, pid: this.child.pid, reason });
      this.killReason = reason;
      // SIGINT first (EOS, a clean Argus teardown), SIGKILL if it does not end; onExit schedules the restart
      // no SIGCONT: a stopped process is not woken to deliver stale frames; it is killed after the grace
      endChild(this.child, Math.min(EOS_GRACE_MS, Math.max(200, this.opts.stallMs / 2)), false);
    }
  }

  private pauseFrames() {
    if (this.child) framePipe(this.child).pause();
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
    if (this.stopping || this.killReason) return; // draining to EOS, or ending a hung child
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
    if (this.failures > 0 && this.counters.framesRead % 30 === 0) this.failures = 0;
    if (this.state !== 'running') this.setState('running');
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      if (this.mode === 'paced') this.pauseFrames();
      return w(frame);
    }
    if (this.latest) {
      this.latest.release();
      this.counters.framesDropped++;
    }
    this.latest = frame;
    if (this.mode === 'paced') this.pauseFrames();
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
      if (this.mode === 'paced' && this.child) framePipe(this.child).resume();
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
      // a paced source's frame pipe may be paused with a frame pending: read on (and drop) until EOS
      framePipe(child).resume();
      endChild(child, EOS_GRACE_MS);
      await exited;
    }
    this.child = null;
    this.spec?.cleanup?.();
    this.setState('stopped');
  }

  stats() {
    return { ...this.counters, state: this.state, reason: this.reason, pid: this.child?.pid };
  }
}

/** The child's frame pipe (stdio[FRAME_FD]). */
function framePipe(child: ChildProcess): NodeJS.ReadableStream & { pause(): unknown; resume(): unknown } {
  return child.stdio[FRAME_FD] as unknown as NodeJS.ReadableStream & { pause(): unknown; resume(): unknown };
}

/**
 * Ends a capture child as gst-launch -e expects: SIGINT (it sends EOS and waits for it to reach the
 * sink), SIGCONT so a stopped process sees it (`wake`), SIGKILL after `graceMs` if it has not exited.
 */
function endChild(child: ChildProcess, graceMs: number, wake = true) {
  child.kill('SIGINT');
  if (wake) child.kill('SIGCONT');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  child.once('close', () => clearTimeout(timer));
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.at(-1) ?? '').replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@').slice(0, 300);
}
