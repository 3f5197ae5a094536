// A bounded fuzz run (~10 s, seeded: CRACKSCOPE_FUZZ_SEED replays one) against the real daemon:
// random bytes, random JSON and random sizes to the WebSocket; random methods, paths, headers and
// bodies to the HTTP routes; garbage on the raw TCP port. Afterwards the daemon must still be up,
// healthy and serving frames, and no request may have produced a 5xx.
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collectFrames, type Daemon } from './helpers/daemon.js';
import { metrics, rng, sleep, waitHealth, useFastDaemon } from './faults-util.js';

const SEED = Number(process.env.CRACKSCOPE_FUZZ_SEED ?? Date.now() % 1_000_000);
if (!Number.isSafeInteger(SEED) || SEED < 0)
  throw new Error(`CRACKSCOPE_FUZZ_SEED must be a non-negative integer, got ${JSON.stringify(process.env.CRACKSCOPE_FUZZ_SEED)}`);
// printed before the run, so a run that hangs or crashes still tells how to replay its inputs
process.stdout.write(`[fuzz] seed ${SEED} (replay: CRACKSCOPE_FUZZ_SEED=${SEED} npx vitest run test/fuzz.test.ts)\n`);
const DURATION_MS = 10_000;

type R = ReturnType<typeof rng>;

function randomString(r: R, max: number): string {
  const alphabets = ['abcdefghijklmnopqrstuvwxyz', '0123456789', '{}[]":,\\/.%$<>\'`', '\u0000\u0007\u001b\u00ff\u2028\ud83d\ude00\u202e', ' \t\r\n'];
  let s = '';
  const n = r.int(max);
  for (let i = 0; i < n; i++) s += r.pick(r.pick(alphabets).split(''));
  return s;
}

function randomJson(r: R, depth = 0): unknown {
  const kinds = depth > 3 ? 4 : 7;
  switch (r.int(kinds)) {
    case 0:
      return r.next() * 1e6 - 5e5;
    case 1:
      return randomString(r, 20);
    case 2:
      return r.pick([null, true, false, NaN, 1e308, -0, Number.MAX_SAFE_INTEGER]);
    case 3:
      return r.pick(['ping', 'pause', 'resume', 'hello', 'capture', '__proto__', 'constructor']);
    case 4:
      return Array.from({ length: r.int(5) }, () => randomJson(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--)
        o[r.pick(['type', 't', '__proto__', 'constructor', 'frameId', 'threshold', 'mmPerPx', 'source', randomString(r, 8)])] = randomJson(r, depth + 1);
      if (r.next() < 0.5) o.type = r.pick(['ping', 'pause', 'resume', 'nope', 1, null]);
      return o;
    }
  }
}

const PATHS = [
  '/',
  '/healthz',
  '/metrics',
  '/ws',
  '/index.html',
  '/app.js',
  '/api',
  '/api/captures',
  '/api/captures/20240101T000000000Z-abcdef',
  '/api/captures/20240101T000000000Z-abcdef/image.jpg',
  '/api/captures/20240101T000000000Z-abcdef/analysis',
  '/api/calibration',
  '/api/frames/1/analysis',
  '/api/frames/99999999999/analysis',
  '/api/config',
];

/** percent-encodes every byte outside printable ASCII (lone surrogates become U+FFFD first) */
const pct = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) => (b > 0x20 && b < 0x7f && b !== 0x25 && b !== 0x3f && b !== 0x23 ? String.fromCharCode(b) : '%' + b.toString(16).padStart(2, '0')))
    .join('');

function randomPath(r: R): string {
  let p = r.pick(PATHS);
  for (let i = r.int(3); i > 0; i--)
    p += '/' + r.pick(['..', '%2e%2e', '%2f', '%00', '%ff', '.', 'x'.repeat(r.int(300)), pct(randomString(r, 10)), '~', '%252e']);
  if (r.next() < 0.3)
    p += '?' + r.pick(['threshold=', 'threshold=2', 'threshold=0.3', 'source=' + pct(randomString(r, 30)), 'download=1', 'a[b]=c', '__proto__[x]=1']);
  return p;
}

function httpFuzz(port: number, r: R, stats: { requests: number; byStatus: Record<number, number>; fivexx: string[] }): Promise<void> {
  const method = r.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'GET', 'POST']);
  const path = randomPath(r);
  const bodyKind = r.int(5);
  const body =
    bodyKind === 0
      ? undefined
      : bodyKind === 1
        ? Buffer.from(JSON.stringify(randomJson(r)) ?? 'null')
        : bodyKind === 2
          ? r.bytes(r.int(2048))
          : bodyKind === 3
            ? Buffer.from(randomString(r, 500))
            : Buffer.alloc(r.pick([10, 70_000, 300_000]), 0x7b);
  const headers: Record<string, string> = {};
  if (r.next() < 0.7)
    headers['content-type'] = r.pick([
      'application/json',
      'text/plain',
      'application/octet-stream',
      'application/json; charset=utf-16',
      'multipart/form-data; boundary=x',
      '',
    ]);
  if (r.next() < 0.2) headers.origin = r.pick(['http://evil.example', 'null', `http://127.0.0.1:${port}`]);
  if (r.next() < 0.2) headers.authorization = r.pick(['Bearer ', 'Bearer x', 'Basic YTpi', randomString(r, 40).replace(/[^\x20-\x7e]/g, '')]);
  if (r.next() < 0.1) headers.range = r.pick(['bytes=0-1', 'bytes=-1', 'bytes=99999999-', 'bytes=a-b']);
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      stats.requests++;
      stats.byStatus[res.statusCode!] = (stats.byStatus[res.statusCode!] ?? 0) + 1;
      if (res.statusCode! >= 500) stats.fivexx.push(`${method} ${path} → ${res.statusCode}`);
      res.resume();
      res.on('end', resolve);
      res.on('error', () => resolve());
    });
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => resolve());
    if (body && method !== 'GET' && method !== 'HEAD') req.write(body);
    req.end();
  });
}

function wsFuzz(port: number, r: R, stats: { messages: number; sessions: number }): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const done = () => {
      ws.terminate();
      resolve();
    };
    const timer = setTimeout(done, 1500);
    ws.on('error', () => undefined);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('open', async () => {
      stats.sessions++;
      for (let i = r.int(40); i > 0 && ws.readyState === WebSocket.OPEN; i--) {
        const k = r.int(6);
        try {
          if (k === 0) ws.send(r.bytes(r.int(5000)));
          else if (k === 1) ws.send(JSON.stringify(randomJson(r)));
          else if (k === 2) ws.send(randomString(r, 3000));
          else if (k === 3)
            ws.send(r.bytes(r.int(100)), { binary: false }); // invalid UTF-8, often
          else if (k === 4) ws.send(JSON.stringify({ type: 'ping', t: r.next() }));
          else ws.send('z'.repeat(r.pick([4097, 60_000, 70_000])));
          stats.messages++;
        } catch {
          break;
        }
        if (r.next() < 0.3) await sleep(r.int(30));
      }
      setTimeout(done, r.int(300));
    });
  });
}

function tcpFuzz(port: number, r: R): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      const prefix = r.pick([
        '',
        'GET / HTTP/1.1\r\n',
        'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\n\r\n',
        'POST /api/captures HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n',
      ]);
      s.write(Buffer.concat([Buffer.from(prefix), r.bytes(r.int(4000))]));
      setTimeout(() => s.destroy(), r.int(200));
    });
    s.resume();
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
}

describe(`fuzz (seed ${SEED})`, () => {
  let d: Daemon;
  useFastDaemon(['--source', 'test://ball'], (daemon) => (d = daemon));

  it('random input for 10 s: no crash, no 5xx, still serving frames', async () => {
    const r = rng(SEED);
    const stats = { requests: 0, byStatus: {} as Record<number, number>, fivexx: [] as string[], messages: 0, sessions: 0 };
    const end = Date.now() + DURATION_MS;
    const worker = async (kind: number) => {
      while (Date.now() < end) {
        if (kind === 0) await httpFuzz(d.port, r, stats);
        else if (kind === 1) await wsFuzz(d.port, r, stats);
        else await tcpFuzz(d.port, r);
      }
    };
    await Promise.all([worker(0), worker(0), worker(1), worker(1), worker(2)]);
    const m = await metrics(d);
    process.stdout.write(
      `[fuzz] seed ${SEED}: ${stats.requests} HTTP requests ${JSON.stringify(stats.byStatus)}, ${stats.sessions} WS sessions / ${stats.messages} messages, ` +
        `${m.crackscope_ws_messages_rejected_total} rejected; rss ${(m.crackscope_rss_bytes / 1048576).toFixed(0)} MB\n`,
    );
    expect(d.child.exitCode).toBeNull();
    expect(stats.fivexx).toEqual([]);
    expect(stats.requests).toBeGreaterThan(100);
    expect(m.crackscope_ws_messages_rejected_total).toBeGreaterThan(10);
    expect(d.logs.some((l) => l.event === 'non-json-output')).toBe(false);
    expect((await waitHealth(d, (h) => h.code === 200, 5000)).code).toBe(200);
    const { frames } = await collectFrames(d.port, 5, 10_000);
    expect(frames).toHaveLength(5);
  });
});
