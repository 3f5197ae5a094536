// The GStreamer capture source (server/camera/gst-source.ts) in-process, against a fake
// gst-launch-1.0 child (node:child_process's spawn mocked): the command line it runs, how the raw
// byte stream becomes whole frames, the pool of six frame buffers, keep-newest-frame (live) and
// deliver-on-demand (paced), restart with backoff 0.25 s → 8 s and the reasons a user sees, stall
// detection, stop() with EOS (SIGINT) and a kill only if that hangs. Fast and deterministic: this
// is what StrykerJS runs against the module's mutants. The real child process is exercised by
// test/frame-reader.test.ts and test/promises-core.test.ts.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GstPipelineSpec, RawFrame } from '../server/camera/frame-source.js';
import { GstSource, type GstSourceOptions } from '../server/camera/gst-source.js';
import { memLog } from './helpers/mem-log.js';

const spawner = vi.hoisted(() => ({ spawn: null as null | ((...args: unknown[]) => unknown) }));
vi.mock('node:child_process', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:child_process')>()),
  spawn: (...args: unknown[]) => spawner.spawn!(...args),
}));

/** stands in for the child's frame pipe (fd 3): data is handed over as the test sends it */
class FakePipe extends EventEmitter {
  paused = false;
  pause() {
    this.paused = true;
    return this;
  }
  resume() {
    this.paused = false;
    return this;
  }
}

let nextPid = 4000;
class FakeChild extends EventEmitter {
  readonly pid = nextPid++;
  readonly stdout = new EventEmitter();
  readonly stderr = new EventEmitter();
  readonly frames = new FakePipe();
  readonly stdio = [null, this.stdout, this.stderr, this.frames];
  /** signals received, with the (possibly fake) time they came at */
  readonly signals: { sig: string; at: number }[] = [];
  /** gst-launch -e: SIGINT sends EOS and the process ends cleanly; false = a hung process */
  endsOnSigint = true;
  closed = false;
  constructor(
    readonly command: string,
    readonly args: string[],
    readonly options: unknown,
  ) {
    super();
  }
  kill(sig: string) {
    this.signals.push({ sig, at: Date.now() });
    if (sig === 'SIGINT' && this.endsOnSigint) queueMicrotask(() => this.exit(0));
    if (sig === 'SIGKILL') queueMicrotask(() => this.exit(null, 'SIGKILL'));
    return true;
  }
  send(bytes: Buffer) {
    this.frames.emit('data', bytes);
  }
  print(text: string) {
    this.stdout.emit('data', Buffer.from(text));
  }
  printErr(text: string) {
    this.stderr.emit('data', Buffer.from(text));
  }
  exit(code: number | null, signal: string | null = null) {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', code, signal);
  }
}

const W = 4;
const H = 2;
const FRAME = W * H * 3;
/** frame i: every byte differs from its neighbours and from frame i±1's, so a shifted frame shows */
const frame = (i: number) => Buffer.from(Array.from({ length: FRAME }, (_, k) => (i * 31 + k * 7) & 255));
const frames = (...ids: number[]) => Buffer.concat(ids.map(frame));
const idOf = (f: RawFrame) => {
  const i = [...Array(256).keys()].find((n) => frame(n).equals(f.rgb));
  if (i === undefined) throw new Error('not a whole, aligned frame');
  return i;
};
const turn = () => new Promise((r) => setImmediate(r));
/** the outcome of a promise that must have settled by now: a mutant that leaves it pending fails at once instead of hanging */
async function settled<T>(p: Promise<T>): Promise<T> {
  const pending = Symbol('pending');
  const r = await Promise.race([p, turn().then(() => pending)]);
  if (r === pending) throw new Error('still pending');
  return r as T;
}
const FAKE_TIME: Parameters<typeof vi.useFakeTimers>[0] = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] };

let sources: GstSource[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of sources) await s.stop();
  sources = [];
});

function setup(over: Partial<GstSourceOptions> = {}) {
  const children: FakeChild[] = [];
  spawner.spawn = (cmd, args, options) => {
    const c = new FakeChild(cmd as string, args as string[], options);
    children.push(c);
    return c;
  };
  const { log, lines, raw } = memLog();
  const src = new GstSource({
    uri: 'rtsp://admin:Sup3rSecret@10.0.0.5/stream1',
    geometry: { width: W, height: H, fps: 30 },
    spec: () => ({ elements: ['fakesrc'], loops: false }),
    log,
    stallMs: 60_000,
    mode: 'live',
    ...over,
  });
  sources.push(src);
  const states: { state: string; reason?: string }[] = [];
  const bad: string[] = [];
  src.on('state', (s) => states.push(s));
  src.on('badframe', (b) => bad.push(b));
  const child = () => children.at(-1)!;
  const events = (name: string) => lines.filter((l) => l.event === name);
  return { src, children, child, lines, raw, states, bad, events };
}

describe('the command line', () => {
  it("runs gst-launch-1.0 -q -e with the backend's elements, then scale with borders, convert, RGB caps at the model's size, frames to fd 3", () => {
    const t = setup({
      spec: () => ({
        elements: ['rtspsrc', 'location=rtsp://admin:Sup3rSecret@10.0.0.5/stream1', 'latency=200', '!', 'decodebin'],
        loops: false,
        crop: '1920x1080+0+0',
      }),
    });
    t.src.start();
    expect(t.children).toHaveLength(1);
    const c = t.child();
    expect(c.command).toBe('gst-launch-1.0');
    expect(c.args).toEqual([
      '-q',
      '-e',
      'rtspsrc',
      'location=rtsp://admin:Sup3rSecret@10.0.0.5/stream1',
      'latency=200',
      '!',
      'decodebin',
      '!',
      'videoscale',
      'add-borders=true',
      '!',
      'videoconvert',
      '!',
      'video/x-raw,format=RGB,width=4,height=2,pixel-aspect-ratio=1/1',
      '!',
      'fdsink',
      'fd=3',
      'sync=false',
    ]);
    // frames on a pipe of their own (fd 3); stdout and stderr are read as text
    expect(c.options).toEqual({ stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    expect(t.events('source.spawn')).toEqual([
      expect.objectContaining({ level: 'info', uri: 'rtsp://***@10.0.0.5/stream1', pid: c.pid, crop: '1920x1080+0+0' }),
    ]);
    expect(t.raw.join('')).not.toContain('Sup3rSecret');
    expect(t.src.stats()).toEqual({ framesRead: 0, framesDropped: 0, badFrames: 0, restarts: 0, state: 'starting', reason: undefined, pid: c.pid });
    expect(t.states).toEqual([{ state: 'starting', reason: undefined }]);
  });

  it('a paced source (a file, a folder) syncs the sink to the clock; another gst-launch can be named', () => {
    const t = setup({ mode: 'paced', gstLaunch: '/opt/gst/bin/gst-launch-1.0', geometry: { width: 640, height: 360, fps: 30 } });
    t.src.start();
    expect(t.child().command).toBe('/opt/gst/bin/gst-launch-1.0');
    expect(t.child().args.slice(-5, -1)).toEqual(['video/x-raw,format=RGB,width=640,height=360,pixel-aspect-ratio=1/1', '!', 'fdsink', 'fd=3']);
    expect(t.child().args.at(-1)).toBe('sync=true');
    expect(t.src.mode).toBe('paced');
    expect(t.src.uri).toBe('rtsp://admin:Sup3rSecret@10.0.0.5/stream1');
  });
});

describe('frames from the byte stream', () => {
  it('splits the stream into whole frames wherever the chunks break', async () => {
    const t = setup();
    t.src.start();
    const p1 = t.src.nextFrame();
    // two and a half frames in one chunk: the first to the waiting reader, the second kept
    t.child().send(frames(1, 2, 3).subarray(0, FRAME * 2 + FRAME / 2));
    const f1 = await settled(p1);
    const f2 = await t.src.nextFrame();
    const p3 = t.src.nextFrame();
    // the rest of frame 3 one byte and then the others; frame 4 a byte at a time
    t.child().send(frame(3).subarray(FRAME / 2, FRAME / 2 + 1));
    t.child().send(frame(3).subarray(FRAME / 2 + 1));
    const f3 = await settled(p3);
    const p4 = t.src.nextFrame();
    for (const b of frame(4)) t.child().send(Buffer.from([b]));
    const f4 = await settled(p4);
    expect([f1, f2, f3, f4].map(idOf)).toEqual([1, 2, 3, 4]);
    expect([f1, f2, f3, f4].map((f) => f.seq)).toEqual([1, 2, 3, 4]);
    expect(f1.rgb.length).toBe(FRAME);
    // shared memory, so the inference worker reads it without a copy
    expect(f1.rgb.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(t.src.stats()).toMatchObject({ framesRead: 4, framesDropped: 0, badFrames: 0, state: 'running' });
    expect(t.states).toEqual([
      { state: 'starting', reason: undefined },
      { state: 'running', reason: undefined },
    ]);
  });

  it('live: keeps only the newest frame; each one it replaces is counted as dropped', async () => {
    const t = setup();
    t.src.start();
    t.child().send(frames(1, 2, 3, 4, 5));
    expect(t.src.stats()).toMatchObject({ framesRead: 5, framesDropped: 4 });
    const f = await t.src.nextFrame();
    expect([idOf(f), f.seq]).toEqual([5, 5]);
    // nothing newer yet: the next ask waits for the next frame, not an older one kept somewhere
    let got: RawFrame | undefined;
    const p = t.src.nextFrame().then((x) => (got = x));
    await turn();
    expect(got).toBeUndefined();
    t.child().send(frame(6));
    await settled(p);
    expect([idOf(got!), got!.seq]).toEqual([6, 6]);
    // the live pipe is never paused
    expect(t.child().frames.paused).toBe(false);
  });

  it('when all six buffers are held downstream, new frames are skipped whole (counted) and the stream stays aligned', async () => {
    const t = setup();
    t.src.start();
    const held: RawFrame[] = [];
    for (let i = 1; i <= 6; i++) {
      const p = t.src.nextFrame();
      t.child().send(frame(i));
      held.push(await settled(p));
    }
    expect(held.map(idOf)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(held.map((f) => f.rgb.buffer)).size).toBe(6);
    // frames 7 and 8 and the start of 9 in chunks of 10 bytes: no buffer for any of them
    const bytes = frames(7, 8, 9);
    const upTo = FRAME * 2 + 5;
    for (let at = 0; at < upTo; at += 10) t.child().send(bytes.subarray(at, Math.min(upTo, at + 10)));
    // frame 9 began while nothing was free: it is skipped too, whatever is released meanwhile
    expect(t.src.stats()).toMatchObject({ framesRead: 6, framesDropped: 3 });
    held[0].release();
    t.child().send(bytes.subarray(upTo));
    expect(t.src.stats()).toMatchObject({ framesRead: 6, framesDropped: 3 });
    const p = t.src.nextFrame();
    t.child().send(frame(10));
    const f10 = await settled(p);
    expect(idOf(f10)).toBe(10);
    expect(f10.rgb.buffer).toBe(held[0].rgb.buffer);
  });

  it('a frame released twice goes back to the pool once: two later frames never share a buffer', async () => {
    const t = setup();
    t.src.start();
    const p1 = t.src.nextFrame();
    t.child().send(frame(1));
    const f1 = await settled(p1);
    f1.release();
    f1.release();
    const p2 = t.src.nextFrame();
    t.child().send(frame(2));
    const f2 = await settled(p2);
    const p3 = t.src.nextFrame();
    t.child().send(frame(3));
    const f3 = await settled(p3);
    expect([idOf(f2), idOf(f3)]).toEqual([2, 3]);
    expect(f2.rgb.buffer).not.toBe(f3.rgb.buffer);
  });

  it('times the read of a live frame from its first byte, and stamps its capture time', async () => {
    const t = setup();
    t.src.start();
    t.child().send(frame(1).subarray(0, 5));
    await new Promise((r) => setTimeout(r, 40));
    const p = t.src.nextFrame();
    t.child().send(frame(1).subarray(5));
    const f = await settled(p);
    expect(f.readMs).toBeGreaterThanOrEqual(35);
    expect(f.readMs).toBeLessThan(2000);
    expect(Math.abs(f.capturedAt - Date.now())).toBeLessThan(1000);
  });
});

describe('a paced source (files, folders, patterns)', () => {
  it('reads a frame only when one is asked for: the pipe is paused between asks', async () => {
    const t = setup({ mode: 'paced' });
    t.src.start();
    expect(t.child().frames.paused).toBe(true);
    const p = t.src.nextFrame();
    expect(t.child().frames.paused).toBe(false);
    t.child().send(frame(1));
    expect(idOf(await settled(p))).toBe(1);
    expect(t.child().frames.paused).toBe(true);
    // a frame that comes without an ask (already in the pipe) is kept, and the pipe paused again
    t.child().frames.resume();
    t.child().send(frame(2));
    expect(t.child().frames.paused).toBe(true);
    expect(idOf(await t.src.nextFrame())).toBe(2);
  });

  it("times a paced frame's read from the ask, not from bytes that came before the pause", async () => {
    const t = setup({ mode: 'paced' });
    t.src.start();
    t.child().send(frame(1).subarray(0, 5));
    await new Promise((r) => setTimeout(r, 60));
    const p = t.src.nextFrame();
    t.child().send(frame(1).subarray(5));
    const f = await settled(p);
    expect(idOf(f)).toBe(1);
    expect(f.readMs).toBeLessThan(50);
  });

  it('a frame asked for before start() or during a restart comes from the new process, whose pipe is not paused', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup({ mode: 'paced' });
    const p = t.src.nextFrame();
    t.src.start();
    expect(t.child().frames.paused).toBe(false);
    t.child().send(frame(1));
    expect(idOf(await settled(p))).toBe(1);
    const p2 = t.src.nextFrame();
    t.child().exit(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(t.children).toHaveLength(2);
    expect(t.child().frames.paused).toBe(false);
    t.child().send(frame(2));
    expect(idOf(await settled(p2))).toBe(2);
  });
});

describe('nextFrame()', () => {
  it('one ask at a time: a second one while the first waits is refused', async () => {
    const t = setup();
    t.src.start();
    const first = t.src.nextFrame();
    await expect(settled(t.src.nextFrame())).rejects.toThrow(/^nextFrame is already pending$/);
    t.child().send(frame(1));
    expect(idOf(await settled(first))).toBe(1);
  });

  it('an abort rejects with the signal’s reason and frees the slot; an abort after the frame came cancels nothing later', async () => {
    const t = setup();
    t.src.start();
    const ac = new AbortController();
    const p = t.src.nextFrame(ac.signal);
    const why = new Error('the viewer left');
    ac.abort(why);
    await expect(settled(p)).rejects.toBe(why);
    // already aborted: refused at once, and nothing is left waiting
    const gone = new AbortController();
    gone.abort();
    await expect(settled(t.src.nextFrame(gone.signal))).rejects.toBe(gone.signal.reason);
    const ac2 = new AbortController();
    const p2 = t.src.nextFrame(ac2.signal);
    t.child().send(frame(1));
    expect(idOf(await settled(p2))).toBe(1);
    const p3 = t.src.nextFrame();
    ac2.abort(); // too late to matter: must not cancel p3
    t.child().send(frame(2));
    expect(idOf(await settled(p3))).toBe(2);
  });
});

describe('what the process prints', () => {
  it('stdout text is logged line by line (trimmed, blank lines left out), never read as frames', async () => {
    const t = setup();
    t.src.start();
    const c = t.child();
    c.print('GST_AR');
    c.print('GUS: Creating output stream\n   \nCONSUMER: Waiting until producer is connected... \n  NvMM');
    c.send(frame(1));
    c.print('LiteOpen : Block : BlockType = 261\n');
    const got = t.events('source.stdout');
    expect(got.map((l) => l.line)).toEqual([
      'GST_ARGUS: Creating output stream',
      'CONSUMER: Waiting until producer is connected...',
      'NvMMLiteOpen : Block : BlockType = 261',
    ]);
    expect(got[0]).toMatchObject({ level: 'info', uri: 'rtsp://***@10.0.0.5/stream1', pid: c.pid });
    expect(idOf(await t.src.nextFrame())).toBe(1);
  });

  it('at most 20 lines of one chunk and 300 characters of a line are logged; a line with no end keeps its last 1000 characters', () => {
    const t = setup();
    t.src.start();
    const c = t.child();
    c.print(Array.from({ length: 25 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect(t.events('source.stdout').map((l) => l.line)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i}`));
    c.print('x'.repeat(400) + '\n');
    expect(t.events('source.stdout').at(-1).line).toBe('x'.repeat(300));
    c.print('o'.repeat(500) + 'a'.repeat(1000));
    c.print('\n');
    expect(t.events('source.stdout').at(-1).line).toBe('a'.repeat(300));
  });
});

describe('restarts and the reasons a user sees', () => {
  it('backoff 0.25, 0.5, 1 s … reset after 30 frames read; each reason is the last line the process printed, without the password', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup();
    t.src.start();
    const failAndWait = async (delay: number) => {
      const before = t.children.length;
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(t.children.length, `restarted before ${delay} ms`).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(t.children.length, `not restarted after ${delay} ms`).toBe(before + 1);
    };
    const refused = 'ERROR: Could not open resource rtsp://admin:Sup3rSecret@10.0.0.5/stream1 for reading';
    t.child().printErr(`Setting pipeline to PAUSED ...\n${refused}\n\n  \n`);
    t.child().exit(1);
    const reason1 = 'the capture process exited (code 1): ERROR: Could not open resource rtsp://***@10.0.0.5/stream1 for reading';
    expect(t.src.stats()).toMatchObject({ state: 'restarting', reason: reason1, restarts: 1, pid: undefined });
    await failAndWait(250);
    t.child().printErr(`${refused}\n`);
    t.child().exit(1);
    await failAndWait(500);
    t.child().printErr(`${refused}\n`);
    t.child().exit(1);
    await failAndWait(1000);
    // 29 frames, then the process dies: not yet reset (next wait 2 s)
    t.child().send(frames(...Array.from({ length: 29 }, (_, i) => i + 1)));
    t.child().exit(null, 'SIGSEGV');
    expect(t.src.stats().reason).toBe('the capture process exited (SIGSEGV)');
    await failAndWait(2000);
    // the 30th frame: the source counts as healthy again, the next wait is 0.25 s
    t.child().send(frame(30));
    t.child().exit(2);
    expect(t.src.stats().reason).toBe('the capture process exited (code 2)');
    expect(t.events('source.down').map((l) => l.retry_in_ms)).toEqual([250, 500, 1000, 2000, 250]);
    expect(t.events('source.down')[0]).toMatchObject({ level: 'warn', uri: 'rtsp://***@10.0.0.5/stream1', reason: reason1 });
    await failAndWait(250);
    expect(t.raw.join('')).not.toContain('Sup3rSecret');
    expect(t.src.stats()).toMatchObject({ framesRead: 30, restarts: 5, badFrames: 0 });
    // a state event only when state or reason changes (not at every failed retry)
    expect(t.states).toEqual([
      { state: 'starting', reason: undefined },
      { state: 'restarting', reason: reason1 },
      { state: 'running', reason: undefined },
      { state: 'restarting', reason: 'the capture process exited (SIGSEGV)' },
      { state: 'running', reason: undefined },
      { state: 'restarting', reason: 'the capture process exited (code 2)' },
    ]);
  });

  it('the wait stays at 8 s after six failures', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup();
    t.src.start();
    for (let k = 0; k < 8; k++) {
      t.child().exit(1);
      await vi.advanceTimersByTimeAsync(8000);
    }
    expect(t.events('source.down').map((l) => l.retry_in_ms)).toEqual([250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('an end of stream that does not loop, a spawn failure, and output on stdout as the reason', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup({ uri: 'file:///data/clip.mp4' });
    t.src.start();
    t.child().exit(0);
    expect(t.src.stats().reason).toBe('the capture process reached end of stream');
    await vi.advanceTimersByTimeAsync(250);
    // gst-launch-1.0 not installed: node reports 'error', then 'close'
    t.child().emit('error', new Error('spawn gst-launch-1.0 ENOENT'));
    t.child().exit(-2);
    expect(t.src.stats().reason).toBe('the capture process exited (code -2): spawn gst-launch-1.0 ENOENT');
    expect(t.events('source.spawn_failed')).toEqual([
      expect.objectContaining({ level: 'error', uri: 'file:///data/clip.mp4', err: 'spawn gst-launch-1.0 ENOENT' }),
    ]);
    await vi.advanceTimersByTimeAsync(500);
    t.child().print('NvMMLiteOpen : Block : BlockType = 261\n  GST_ARGUS: Failed to create CaptureSession \n');
    t.child().exit(255);
    expect(t.src.stats().reason).toBe('the capture process exited (code 255): GST_ARGUS: Failed to create CaptureSession');
  });

  it('the reason shows at most 300 characters, from the last 2000 printed, with every password in it masked', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup();
    t.src.start();
    t.child().printErr('ERROR: from RTSPS://u:p4ss@cam-a/x (again rtsp://v:w0rd@cam-b/y), see rtsp://cam-c/z user@example\n');
    t.child().exit(1);
    expect(t.src.stats().reason).toBe(
      'the capture process exited (code 1): ERROR: from RTSPS://***@cam-a/x (again rtsp://***@cam-b/y), see rtsp://cam-c/z user@example',
    );
    await vi.advanceTimersByTimeAsync(250);
    t.child().printErr('A'.repeat(600));
    t.child().printErr('B'.repeat(1899) + '\n');
    t.child().exit(1);
    expect(t.src.stats().reason).toBe('the capture process exited (code 1): ' + 'A'.repeat(100) + 'B'.repeat(200));
    await vi.advanceTimersByTimeAsync(500);
    t.child().print('S'.repeat(600));
    t.child().print('T'.repeat(1899) + '\n');
    t.child().exit(1);
    expect(t.src.stats().reason).toBe('the capture process exited (code 1): ' + 'S'.repeat(100) + 'T'.repeat(200));
  });

  it('a frame cut short by the process ending is counted as bad; the restart loses no buffer', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup();
    t.src.start();
    t.child().send(frames(1).subarray(0, 10));
    t.child().exit(1);
    expect(t.bad).toEqual([`incomplete frame (10 of ${FRAME} bytes) when the capture process ended`]);
    expect(t.src.stats().badFrames).toBe(1);
    await vi.advanceTimersByTimeAsync(250);
    // whole frames, then an end: nothing bad
    t.child().send(frames(2));
    t.child().exit(1);
    expect(t.src.stats().badFrames).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    // all six buffers are there for the new process's frames (none leaked by the cut frame)
    const held: RawFrame[] = [];
    held.push(await t.src.nextFrame()); // frame 2, kept
    for (let i = 3; i <= 7; i++) {
      const p = t.src.nextFrame();
      t.child().send(frame(i));
      held.push(await settled(p));
    }
    expect(held.map(idOf)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(t.src.stats().framesDropped).toBe(0);
  });

  it('a looping source (a video file) starts again at once at its end, with a fresh spec; an error still backs off', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const cleanups: number[] = [];
    let n = 0;
    const t = setup({
      uri: 'file:///data/clip.mp4',
      mode: 'paced',
      spec: () => {
        const k = ++n;
        return { elements: ['filesrc', `location=/tmp/clip-${k}.mp4`], loops: true, cleanup: () => void cleanups.push(k) };
      },
    });
    t.src.start();
    const p = t.src.nextFrame();
    t.child().send(frame(1));
    await settled(p);
    t.child().exit(0);
    expect(t.children).toHaveLength(2);
    expect(t.child().args).toContain('location=/tmp/clip-2.mp4');
    expect(cleanups).toEqual([1]);
    expect(t.events('source.loop')).toEqual([expect.objectContaining({ uri: 'file:///data/clip.mp4' })]);
    expect(t.events('source.down')).toEqual([]);
    expect(t.src.stats()).toMatchObject({ restarts: 1, state: 'restarting' });
    // a decoder error in the file: not a loop, a restart after 0.25 s
    t.child().printErr('ERROR: from element /GstPipeline:pipeline0/GstQTDemux:qtdemux0: Internal data stream error.\n');
    t.child().exit(1);
    expect(t.children).toHaveLength(2);
    expect(t.src.stats().reason).toBe(
      'the capture process exited (code 1): ERROR: from element /GstPipeline:pipeline0/GstQTDemux:qtdemux0: Internal data stream error.',
    );
    await vi.advanceTimersByTimeAsync(250);
    expect(t.children).toHaveLength(3);
    expect(cleanups).toEqual([1, 2]);
  });
});

describe('a hung source', () => {
  it('no data for stallMs while frames are wanted: SIGINT, SIGKILL after half of stallMs; reported as killed, then restarted', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup({ stallMs: 600 });
    t.src.start();
    const c = t.child();
    c.endsOnSigint = false;
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(899);
    expect(c.signals).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    // no SIGCONT: a stopped process is not woken to deliver stale frames
    expect(c.signals).toEqual([{ sig: 'SIGINT', at: t0 + 900 }]);
    expect(t.events('source.stalled')).toEqual([
      expect.objectContaining({ level: 'warn', uri: 'rtsp://***@10.0.0.5/stream1', pid: c.pid, reason: 'no data from the capture process for 0.9 s' }),
    ]);
    // what a hung process still sends while it is being ended is not taken
    c.send(frame(1));
    expect(t.src.stats().framesRead).toBe(0);
    await vi.advanceTimersByTimeAsync(299);
    expect(c.signals.map((s) => s.sig)).toEqual(['SIGINT']);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.signals).toEqual([
      { sig: 'SIGINT', at: t0 + 900 },
      { sig: 'SIGKILL', at: t0 + 1200 },
    ]);
    c.exit(null, 'SIGKILL');
    expect(t.src.stats()).toMatchObject({ state: 'restarting', reason: 'the capture process was killed: no data from the capture process for 0.9 s' });
    await vi.advanceTimersByTimeAsync(250);
    expect(t.children).toHaveLength(2);
    // the next process's own end is reported as its own
    t.child().exit(1);
    expect(t.src.stats().reason).toBe('the capture process exited (code 1)');
  });

  it('a hung looping source that ends cleanly on SIGINT is not taken for a loop', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup({ stallMs: 4000, spec: () => ({ elements: ['filesrc'], loops: true }) });
    t.src.start();
    const c = t.child();
    await vi.advanceTimersByTimeAsync(5000);
    // stallMs 4000: checked every second, ended with a grace of 1.5 s at most
    expect(c.signals.map((s) => s.sig)).toEqual(['SIGINT']);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.src.stats().reason).toBe('the capture process was killed: no data from the capture process for 5.0 s');
    expect(t.events('source.loop')).toEqual([]);
    expect(t.children).toHaveLength(1);
  });

  it('the kill of a hung process waits at least 0.2 s, at most 1.5 s', async () => {
    vi.useFakeTimers(FAKE_TIME);
    for (const [stallMs, detectAt, grace] of [
      [200, 300, 200],
      [10_000, 11_000, 1500],
    ]) {
      const t = setup({ stallMs });
      t.src.start();
      const c = t.child();
      c.endsOnSigint = false;
      const t0 = Date.now();
      await vi.advanceTimersByTimeAsync(detectAt + grace);
      expect(c.signals).toEqual([
        { sig: 'SIGINT', at: t0 + detectAt },
        { sig: 'SIGKILL', at: t0 + detectAt + grace },
      ]);
      c.exit(null, 'SIGKILL');
      await t.src.stop();
    }
  });

  it('data keeps a live source alive; a paced source is not hung while nobody asks for a frame', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const live = setup({ stallMs: 600 });
    live.src.start();
    for (let k = 0; k < 6; k++) {
      await vi.advanceTimersByTimeAsync(500);
      live.child().send(Buffer.from([k]));
    }
    expect(live.child().signals).toEqual([]);
    await live.src.stop();
    const paced = setup({ stallMs: 600, mode: 'paced' });
    paced.src.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(paced.child().signals).toEqual([]);
    // asked for a frame: the stall clock runs from the ask
    void paced.src.nextFrame().catch(() => undefined);
    await vi.advanceTimersByTimeAsync(600);
    expect(paced.child().signals).toEqual([]);
    await vi.advanceTimersByTimeAsync(300);
    expect(paced.child().signals.map((s) => s.sig)).toEqual(['SIGINT']);
  });
});

describe('building the pipeline (the spec)', () => {
  it("a spec that throws or rejects is the reason, without the URI's password, and is retried with backoff", async () => {
    vi.useFakeTimers(FAKE_TIME);
    let calls = 0;
    const t = setup({
      spec: () => {
        calls++;
        if (calls === 1) throw new Error('no such camera');
        if (calls === 2) return Promise.reject(new Error('folder is empty'));
        return Promise.resolve({ elements: ['fakesrc'], loops: false });
      },
    });
    t.src.start();
    expect(t.children).toHaveLength(0);
    expect(t.src.stats()).toMatchObject({ state: 'restarting', reason: 'cannot open rtsp://***@10.0.0.5/stream1: no such camera', restarts: 1 });
    await vi.advanceTimersByTimeAsync(250);
    expect(t.src.stats().reason).toBe('cannot open rtsp://***@10.0.0.5/stream1: folder is empty');
    await vi.advanceTimersByTimeAsync(500);
    expect(t.children).toHaveLength(1);
    expect(t.events('source.down').map((l) => l.retry_in_ms)).toEqual([250, 500]);
  });

  it("a spec's skipped inputs are bad frames; a missing required file is the reason and nothing is run", async () => {
    vi.useFakeTimers(FAKE_TIME);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-gst-src-'));
    const here = path.join(dir, 'a.jpg');
    fs.writeFileSync(here, 'x');
    const gone = path.join(dir, 'b.jpg');
    const cleaned: string[] = [];
    let paths = [here, gone, path.join(dir, 'c.jpg')];
    const t = setup({
      uri: `file://${dir}`,
      spec: () => ({
        elements: ['multifilesrc'],
        loops: true,
        requiredPaths: paths,
        skipped: ['broken.jpg: not a JPEG', 'empty.png: 0 bytes'],
        cleanup: () => void cleaned.push('x'),
      }),
    });
    t.src.start();
    expect(t.bad).toEqual(['broken.jpg: not a JPEG', 'empty.png: 0 bytes']);
    expect(t.src.stats()).toMatchObject({ badFrames: 2, state: 'restarting', reason: `cannot open file://${dir}: ${gone} is missing` });
    expect(t.children).toHaveLength(0);
    expect(cleaned).toHaveLength(1);
    paths = [here];
    await vi.advanceTimersByTimeAsync(250);
    expect(t.children).toHaveLength(1);
    expect(t.src.stats().badFrames).toBe(4);
  });

  it('a spec that resolves after stop() is cleaned up and never run; stop then start runs only the newer one', async () => {
    const pending: { resolve: (s: GstPipelineSpec) => void; reject: (e: Error) => void }[] = [];
    const cleaned: number[] = [];
    const t = setup({ spec: () => new Promise((resolve, reject) => pending.push({ resolve, reject })) });
    t.src.start();
    await t.src.stop();
    t.src.start();
    expect(pending).toHaveLength(2);
    pending[0].resolve({ elements: ['old'], loops: false, cleanup: () => void cleaned.push(0) });
    await turn();
    expect(t.children).toHaveLength(0);
    expect(cleaned).toEqual([0]);
    pending[1].resolve({ elements: ['new'], loops: false, cleanup: () => void cleaned.push(1) });
    await turn();
    expect(t.children.map((c) => c.args[2])).toEqual(['new']);
    await t.src.stop();
    expect(cleaned).toEqual([0, 1]);
    // a spec that fails after stop() is no reason to restart
    t.src.start();
    await t.src.stop();
    pending[2].reject(new Error('late'));
    await turn();
    expect(t.events('source.down')).toEqual([]);
    expect(t.src.stats()).toMatchObject({ state: 'stopped', restarts: 0 });
  });
});

describe('stop()', () => {
  it('ends the process with SIGINT and SIGCONT (EOS), kills it after 1.5 s if it hangs, takes no frame meanwhile, leaves no timer', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const cleaned: string[] = [];
    const t = setup({ mode: 'paced', spec: () => ({ elements: ['fakesrc'], loops: true, cleanup: () => void cleaned.push('x') }) });
    t.src.start();
    const c = t.child();
    c.endsOnSigint = false;
    c.send(frame(1).subarray(0, 4));
    expect(c.frames.paused).toBe(true);
    const t0 = Date.now();
    let done = false;
    const stopped = t.src.stop().then(() => (done = true));
    expect(c.signals).toEqual([
      { sig: 'SIGINT', at: t0 },
      { sig: 'SIGCONT', at: t0 },
    ]);
    // a paused pipe is read on (and dropped) until the process ends
    expect(c.frames.paused).toBe(false);
    c.send(frame(1).subarray(4));
    expect(t.src.stats().framesRead).toBe(0);
    await vi.advanceTimersByTimeAsync(1499);
    expect(c.signals).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.signals.at(-1)).toEqual({ sig: 'SIGKILL', at: t0 + 1500 });
    await stopped;
    expect(done).toBe(true);
    expect(t.src.stats()).toEqual({ framesRead: 0, framesDropped: 0, badFrames: 1, restarts: 0, state: 'stopped', reason: undefined, pid: undefined });
    expect(t.states.map((s) => s.state)).toEqual(['starting', 'stopped']);
    expect(t.events('source.loop')).toEqual([]);
    expect(cleaned).toEqual(['x']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a process that ends on SIGINT is not killed; a stop during the backoff wait starts nothing more', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup({ spec: () => ({ elements: ['fakesrc'], loops: true }) });
    t.src.start();
    const c = t.child();
    await t.src.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(c.signals.map((s) => s.sig)).toEqual(['SIGINT', 'SIGCONT']);
    expect(t.src.stats()).toMatchObject({ state: 'stopped', restarts: 0 });
    expect(t.events('source.loop')).toEqual([]);
    t.src.start();
    t.child().exit(1);
    await t.src.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.children).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
    expect(t.src.stats().state).toBe('stopped');
  });

  it('started again after stop(), a hung process is still found', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup({ stallMs: 600 });
    t.src.start();
    await t.src.stop();
    t.src.start();
    await vi.advanceTimersByTimeAsync(900);
    expect(t.child().signals.map((s) => s.sig)).toEqual(['SIGINT']);
  });
});

describe('odd moments', () => {
  it('a source not started yet reports stopped', () => {
    const t = setup();
    expect(t.src.stats()).toEqual({ framesRead: 0, framesDropped: 0, badFrames: 0, restarts: 0, state: 'stopped', reason: undefined, pid: undefined });
  });

  it('a spec with no cleanup, naming a missing file or resolving too late, is dropped without an error', async () => {
    const t = setup({ spec: () => ({ elements: ['multifilesrc'], loops: true, requiredPaths: ['/nonexistent/crackscope/a.jpg'] }) });
    expect(() => t.src.start()).not.toThrow();
    expect(t.src.stats().reason).toBe('cannot open rtsp://***@10.0.0.5/stream1: /nonexistent/crackscope/a.jpg is missing');
    await t.src.stop();
    const pending: ((s: GstPipelineSpec) => void)[] = [];
    const late = setup({ spec: () => new Promise((resolve) => void pending.push(resolve)) });
    late.src.start();
    await late.src.stop();
    late.src.start();
    const errors: unknown[] = [];
    const onUnhandled = (e: unknown) => void errors.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      pending[0]({ elements: ['old'], loops: false });
      await turn();
      await turn();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(errors).toEqual([]);
    expect(late.children).toHaveLength(0);
  });

  it("stop() then start(): the first start's spec failing late starts nothing", async () => {
    vi.useFakeTimers(FAKE_TIME);
    const pending: { resolve: (s: GstPipelineSpec) => void; reject: (e: Error) => void }[] = [];
    const t = setup({ spec: () => new Promise((resolve, reject) => void pending.push({ resolve, reject })) });
    t.src.start();
    await t.src.stop();
    t.src.start();
    pending[0].reject(new Error('camera busy'));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.events('source.down')).toEqual([]);
    pending[1].resolve({ elements: ['fakesrc'], loops: false });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.children).toHaveLength(1);
    expect(t.src.stats()).toMatchObject({ state: 'starting', restarts: 0 });
  });

  it('an error on the frame pipe (the process died mid-read) throws nothing; the exit reports it', () => {
    const t = setup();
    t.src.start();
    expect(() => t.child().frames.emit('error', new Error('read ECONNRESET'))).not.toThrow();
    t.child().exit(null, 'SIGBUS');
    expect(t.src.stats().reason).toBe('the capture process exited (SIGBUS)');
  });

  it('a live source waiting out its backoff is not taken for hung', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup({ stallMs: 600 });
    t.src.start();
    await vi.advanceTimersByTimeAsync(850);
    t.child().exit(1);
    // stall checks at 900 and 1200 ms: no process, nothing to end (the restart comes at 1100 ms)
    await vi.advanceTimersByTimeAsync(300);
    expect(t.events('source.stalled')).toEqual([]);
    expect(t.children).toHaveLength(2);
  });

  it('a buffer released before a restart is used again after it', async () => {
    vi.useFakeTimers(FAKE_TIME);
    const t = setup();
    t.src.start();
    const held: RawFrame[] = [];
    for (let i = 1; i <= 6; i++) {
      const p = t.src.nextFrame();
      t.child().send(frame(i));
      held.push(await settled(p));
    }
    held[2].release();
    t.child().exit(1);
    await vi.advanceTimersByTimeAsync(250);
    const p = t.src.nextFrame();
    t.child().send(frame(7));
    const f7 = await settled(p);
    expect(idOf(f7)).toBe(7);
    expect(f7.rgb.buffer).toBe(held[2].rgb.buffer);
    expect(t.src.stats().framesDropped).toBe(0);
  });

  it('a password is masked in a line that begins with the URI', async () => {
    const t = setup();
    t.src.start();
    t.child().printErr('rtsp://admin:Sup3rSecret@10.0.0.5/stream1: 401 Unauthorized\n');
    t.child().exit(1);
    expect(t.src.stats().reason).toBe('the capture process exited (code 1): rtsp://***@10.0.0.5/stream1: 401 Unauthorized');
  });
});
