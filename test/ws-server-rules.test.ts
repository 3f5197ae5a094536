// The WebSocket server's rules that depend on the clock and on a viewer's send buffer, checked at
// their exact bounds: the rate limiter's refill, when a viewer that reads nothing is dropped, the
// status-text backlog, skipped frames, the frame header, its sentAt and the send stage's time, the
// 4096-byte message limit, socket errors, the shutdown refusal. The FrameStream is the real one; its viewers' sockets are stand-ins whose unsent byte
// count and state the test sets (a real socket's buffer depends on the kernel), and Date and
// setInterval are fake, so the once-a-second check runs when the test advances the clock.
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import zlib from 'node:zlib';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../server/config/load.js';
import type { Refusal } from '../server/protocol/errors.js';
import type { ConfigKey } from '../server/config/schema.js';
import { createLogger } from '../server/log/logger.js';
import type { FramePipeline } from '../server/pipeline/frame-pipeline.js';
import { deflateMask } from '../server/protocol/mask-encoding.js';
import { decodeBinaryMessage, MASK_DEFLATE, MASK_RAW, type FrameMessage } from '../server/protocol/wire-format.js';
import type { ProcessedFrame, ServiceContext } from '../server/service-context.js';
import { FrameStream } from '../server/stream/ws-server.js';
import { FakePipeline, fakeManifest } from './helpers/in-process.js';

/** A viewer's socket as FrameStream sees it: what was sent to it, its unsent bytes, its state. */
class StandInSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  readonly sent: (string | Buffer)[] = [];
  closedWith: { code: number; reason: string } | null = null;
  terminated = false;
  send(data: string | Buffer) {
    this.sent.push(data);
  }
  close(code: number, reason: string) {
    this.closedWith = { code, reason };
  }
  terminate() {
    this.terminated = true;
  }
  texts(): any[] {
    return this.sent.filter((d) => typeof d === 'string').map((d) => JSON.parse(d));
  }
  frames(): FrameMessage[] {
    return this.sent.flatMap((d) => {
      if (typeof d === 'string') return [];
      const m = decodeBinaryMessage(new Uint8Array(d));
      return m.kind === 'frame' ? [m.frame] : [];
    });
  }
  /** a text message from the viewer */
  says(msg: object) {
    this.emit('message', Buffer.from(JSON.stringify(msg)), false);
  }
  /** the kinds of answer it got after its first `from` text messages */
  answersSince(from: number): string[] {
    return this.texts()
      .slice(from)
      .filter((t) => t.type !== 'status')
      .map((t) => (t.type === 'error' ? t.code : t.type));
  }
}

/** A stand-in for the raw socket of an HTTP upgrade: only what a refusal writes to it. */
class StandInUpgradeSocket extends EventEmitter {
  written: string | null = null;
  end(text: string) {
    this.written = text;
  }
}

let stream: FrameStream | undefined;
afterEach(async () => {
  await stream?.close();
  stream = undefined;
  vi.useRealTimers();
});

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);

function start(flags: Partial<Record<ConfigKey, unknown>> = {}) {
  vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'], now: T0 });
  const config = loadConfig({ env: {}, flags: { dataDir: os.tmpdir(), ...flags } });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger('debug', {}, (l) => logs.push(JSON.parse(l)));
  const pipeline = new FakePipeline();
  const ctx: ServiceContext = { config, log, manifest: fakeManifest(), inference: { provider: 'cpu', providerLabel: 'CPU', fallbacks: [] }, pipeline };
  const s = new FrameStream(ctx, pipeline as unknown as FramePipeline);
  stream = s;
  /** a viewer admitted and connected now */
  const connect = () => {
    const socket = new StandInSocket();
    s.wss.handleUpgrade = ((_req: IncomingMessage, _sock: Duplex, _head: Buffer, done: (ws: WebSocket) => void) =>
      done(socket as unknown as WebSocket)) as typeof s.wss.handleUpgrade;
    s.handleUpgrade(upgradeRequest(), new StandInUpgradeSocket() as unknown as Duplex, Buffer.alloc(0), null);
    return socket;
  };
  return { stream: s, pipeline, logs, connect };
}

const upgradeRequest = () => ({ headers: { host: '127.0.0.1' }, socket: { remoteAddress: '10.1.2.3' } }) as unknown as IncomingMessage;

/** the clock `n` seconds on: each second runs the status broadcast and the stuck-viewer check */
const tick = (n = 1) => vi.advanceTimersByTime(n * 1000);

function frame(frameId: number): ProcessedFrame {
  const mask = new Uint8Array(64 * 32).fill(7);
  const timings = { capture: 1, preprocess: 1, inference: 1, postprocess: 1, encode: 1, send: 0, queue: 0 };
  return {
    frameId,
    capturedAt: T0,
    width: 64,
    height: 32,
    jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]),
    mask,
    wireMask: { bytes: mask, encoding: 'raw' },
    timings,
  };
}

describe('the rate limiter (20 messages a second, refilled continuously)', () => {
  it('takes 20 at once and refuses the 21st; then one more per 50 ms, half a token is not enough; a long pause refills 20, no more', () => {
    const { connect } = start();
    const v = connect();
    const ping = (n: number) => {
      const from = v.texts().length;
      for (let i = 0; i < n; i++) v.says({ type: 'ping', t: i });
      return v.answersSince(from);
    };
    expect(ping(21)).toEqual([...Array(20).fill('pong'), 'rate-limited']);
    expect(v.texts().at(-1)).toEqual({ type: 'error', code: 'rate-limited', message: 'more than 20 messages per second' });
    vi.advanceTimersByTime(25);
    expect(ping(1)).toEqual(['rate-limited']); // half a token
    vi.advanceTimersByTime(25);
    expect(ping(2)).toEqual(['pong', 'rate-limited']); // the half kept from the refused message, and half more
    vi.advanceTimersByTime(100);
    expect(ping(3)).toEqual(['pong', 'pong', 'rate-limited']);
    vi.advanceTimersByTime(60_000);
    expect(ping(21)).toEqual([...Array(20).fill('pong'), 'rate-limited']);
  });
});

describe('a viewer that reads nothing', () => {
  it('is dropped once its unsent data has not shrunk for more than clientStallMs; an idle or slowly reading viewer is kept', () => {
    const { stream, logs, connect } = start({ clientStallMs: 2000 });
    const idle = connect(); // nothing to send, ever
    const slow = connect(); // always behind, but reading: its unsent data shrinks every second
    const stuck = connect(); // reads until the 2 s tick, then stops with 500 bytes unsent
    slow.bufferedAmount = 100_000;
    let droppedAt = 0;
    for (let s = 1; s <= 10; s++) {
      slow.bufferedAmount -= 1000;
      if (s === 3) stuck.bufferedAmount = 500;
      tick();
      if (stuck.terminated && !droppedAt) droppedAt = s;
    }
    // progress last seen at 2 s; at 4 s it is exactly clientStallMs old (kept), at 5 s more (dropped)
    expect(droppedAt).toBe(5);
    expect([idle.terminated, slow.terminated]).toEqual([false, false]);
    expect(stream.counters.clientsDropped).toBe(1);
    expect(stream.clients.size).toBe(2);
    const dropped = logs.filter((l) => l.event === 'ws.client_dropped');
    expect(dropped).toEqual([expect.objectContaining({ level: 'warn', reason: 'read nothing for 2000 ms', buffered: 500 })]);
  });
});

describe('status text to a viewer that is behind', () => {
  it('is not queued behind 256 KiB of unsent data (one byte less still gets it), nor sent to a closing socket', () => {
    const { pipeline, connect } = start();
    const [under, at, closing] = [connect(), connect(), connect()];
    under.bufferedAmount = 256 * 1024 - 1;
    at.bufferedAmount = 256 * 1024;
    closing.readyState = WebSocket.CLOSING;
    const before = [under, at, closing].map((v) => v.texts().length);
    pipeline.emit('status', { ...pipeline.status(), state: 'source-down', reason: 'camera unplugged' });
    const got = [under, at, closing].map((v, i) => v.texts().slice(before[i]!));
    expect(got).toEqual([[{ type: 'status', state: 'source-down', reason: 'camera unplugged', fps: 15, clients: 3 }], [], []]);
  });
});

describe('frames to viewers', () => {
  it('a viewer still sending the last frame skips this one; its skips are counted and logged when it leaves', () => {
    const { stream, pipeline, logs, connect } = start();
    const [fast, slow, paused, closing] = [connect(), connect(), connect(), connect()];
    paused.says({ type: 'pause' });
    closing.readyState = WebSocket.CLOSING;
    pipeline.publish(frame(1));
    slow.bufferedAmount = 10_000;
    pipeline.publish(frame(2));
    pipeline.publish(frame(3));
    pipeline.publish(frame(4));
    slow.bufferedAmount = 0;
    pipeline.publish(frame(5));
    expect(fast.frames().map((f) => f.frameId)).toEqual([1, 2, 3, 4, 5]);
    expect(slow.frames().map((f) => f.frameId)).toEqual([1, 5]);
    expect([paused.frames(), closing.frames()]).toEqual([[], []]);
    expect(stream.counters).toMatchObject({ framesSent: 7, framesSkipped: 3 });
    slow.emit('close');
    expect(logs.filter((l) => l.event === 'ws.disconnect')).toEqual([expect.objectContaining({ level: 'info', clients: 3, skipped: 3 })]);
    fast.emit('close');
    expect(logs.filter((l) => l.event === 'ws.disconnect').at(-1)).toMatchObject({ clients: 2, skipped: 0 });
  });

  it('a frame message carries the frame as published: its id, capture time, sizes, timings, JPEG and mask, raw or deflated', () => {
    const { pipeline, connect } = start();
    const v = connect();
    const raw = frame(1);
    const deflated = { ...frame(2), wireMask: { bytes: deflateMask(raw.mask), encoding: 'deflate' as const } };
    pipeline.publish(raw);
    pipeline.publish(deflated);
    const [a, b] = v.frames();
    const { sentAt: _, jpeg, maskBytes, ...header } = a!;
    expect(header).toEqual({
      frameId: 1,
      capturedAt: T0,
      image: { width: 64, height: 32 },
      mask: { width: 64, height: 32, encoding: MASK_RAW },
      timings: raw.timings,
      comparisons: [],
    });
    expect([Buffer.from(jpeg), Buffer.from(maskBytes)]).toEqual([raw.jpeg, Buffer.from(raw.mask)]);
    expect(b!.mask.encoding).toBe(MASK_DEFLATE);
    expect(new Uint8Array(zlib.inflateSync(b!.maskBytes))).toEqual(raw.mask);
  });

  it('each frame is stamped with the time it was sent, and the time to hand it to every viewer goes to the send stage', () => {
    const { pipeline, connect } = start();
    const sendTimes = pipeline.sendTimes;
    pipeline.publish(frame(1)); // no viewer: nothing sent, no send time
    expect(sendTimes).toEqual([]);
    const v = connect();
    const before = performance.now();
    pipeline.publish(frame(2));
    const after = performance.now();
    const [sent] = v.frames();
    expect(sent!.sentAt).toBeGreaterThanOrEqual(performance.timeOrigin + before);
    expect(sent!.sentAt).toBeLessThanOrEqual(performance.timeOrigin + after);
    expect(sendTimes).toHaveLength(1);
    expect(sendTimes[0]).toBeGreaterThanOrEqual(0);
    expect(sendTimes[0]).toBeLessThanOrEqual(after - before);
  });
});

describe('what a viewer sends', () => {
  it('a message of exactly 4096 bytes is read; one byte more is refused as too large', () => {
    const { connect } = start();
    const v = connect();
    const ping = (bytes: number) => {
      const head = '{"type":"ping","t":1,"pad":"';
      return `${head}${'x'.repeat(bytes - head.length - 2)}"}`;
    };
    const from = v.texts().length;
    v.emit('message', Buffer.from(ping(4096)), false);
    v.emit('message', Buffer.from(ping(4097)), false);
    expect(v.answersSince(from)).toEqual(['pong', 'too-large']);
    expect(v.texts().at(-1).message).toBe('message of 4097 bytes; the limit is 4096');
  });

  it("a socket error is logged; only ws's own (a broken frame) counts as a rejected message", () => {
    const { stream, logs, connect } = start();
    const v = connect();
    v.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    v.emit('error', new Error('something without a code'));
    expect(stream.counters.messagesRejected).toBe(0);
    v.emit('error', Object.assign(new Error('Invalid UTF-8 sequence'), { code: 'WS_ERR_INVALID_UTF8' }));
    expect(stream.counters.messagesRejected).toBe(1);
    expect(logs.filter((l) => l.event === 'ws.error')).toEqual([
      expect.objectContaining({ level: 'warn', err: 'read ECONNRESET', code: 'ECONNRESET' }),
      expect.objectContaining({ level: 'warn', err: 'something without a code' }),
      expect.objectContaining({ level: 'warn', err: 'Invalid UTF-8 sequence', code: 'WS_ERR_INVALID_UTF8' }),
    ]);
  });
});

describe('a message from a viewer whose socket is closing', () => {
  it('is not answered', () => {
    const { connect } = start();
    const v = connect();
    const from = v.texts().length;
    v.readyState = WebSocket.CLOSING;
    v.says({ type: 'ping', t: 1 });
    v.says({ type: 'zoom' });
    expect(v.texts().slice(from)).toEqual([]);
  });
});

describe('the handshake', () => {
  it('a connection reset during it does not crash the daemon, whether the upgrade was refused or taken', () => {
    const { stream } = start();
    const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const refusal: Refusal = { status: 421, code: 'bad-host', error: 'not this host' };
    const refused = new StandInUpgradeSocket();
    stream.handleUpgrade(upgradeRequest(), refused as unknown as Duplex, Buffer.alloc(0), refusal);
    expect(() => refused.emit('error', reset())).not.toThrow();
    const taken = new StandInUpgradeSocket();
    stream.wss.handleUpgrade = (() => undefined) as typeof stream.wss.handleUpgrade; // the handshake still under way
    stream.handleUpgrade(upgradeRequest(), taken as unknown as Duplex, Buffer.alloc(0), null);
    expect(() => taken.emit('error', reset())).not.toThrow();
  });
});

describe('shutdown', () => {
  it('closes viewers with 1001, and refuses a new one with 503, counted and logged', async () => {
    const { stream, logs, connect } = start();
    const v = connect();
    await stream.close();
    expect(v.closedWith).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(v.terminated).toBe(true);
    expect(vi.getTimerCount()).toBe(0); // the once-a-second status and check stop with it
    const socket = new StandInUpgradeSocket();
    stream.handleUpgrade(upgradeRequest(), socket as unknown as Duplex, Buffer.alloc(0), null);
    expect(socket.written).toBe('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    expect(stream.counters.connectionsRefused).toBe(1);
    expect(logs.filter((l) => l.event === 'ws.refused')).toEqual([expect.objectContaining({ level: 'warn', reason: 'shutting down' })]);
  });
});
