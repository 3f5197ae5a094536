// Many and slow viewers, and bad WebSocket input, against the real daemon: 50 clients of which 10
// never read → memory stays bounded, the 10 are dropped after clientStallMs, the other 40 get
// every frame; malformed, oversized, binary, invalid-UTF-8 and flooding messages get an error
// back (or a close code) and a counter, and the daemon keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collectFrames, type Daemon } from './helpers/daemon.js';
import { metrics, sleep, startFast, tinyModel, waitHealth, useFastDaemon } from './faults-util.js';

const log = (msg: string) => process.stdout.write(`[faults-clients] ${msg}\n`);

interface TestClient {
  ws: WebSocket;
  frames: number;
  texts: any[];
  closed: { code: number; reason: string } | null;
}

function connect(port: number, opts: { noRead?: boolean; headers?: Record<string, string> } = {}): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: opts.headers });
    const c: TestClient = { ws, frames: 0, texts: [], closed: null };
    ws.on('message', (data, isBinary) => {
      if (isBinary) c.frames++;
      else c.texts.push(JSON.parse(data.toString()));
    });
    ws.on('close', (code, reason) => (c.closed = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
    ws.once('open', () => {
      // a viewer that never reads: its socket stops pulling bytes off the wire
      if (opts.noRead) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      resolve(c);
    });
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function nextText(c: TestClient, pred: (m: any) => boolean, timeoutMs = 3000, start = c.texts.length): Promise<any> {
  return new Promise((resolve, reject) => {
    const end = Date.now() + timeoutMs;
    const poll = () => {
      const hit = c.texts.slice(start).find(pred);
      if (hit) return resolve(hit);
      if (Date.now() > end) return reject(new Error(`no matching message; got ${JSON.stringify(c.texts.slice(start))}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

describe('50 viewers, 10 of which never read', () => {
  let d: Daemon;
  beforeAll(async () => {
    // 192×320 frames: raw mask 60 KB + JPEG of a noise pattern per frame, 15 fps
    d = await startFast(['--source', 'test://snow', '--max-clients', '64'], { model: tinyModel(192, 320) });
    await waitHealth(d, (h) => h.code === 200, 20_000);
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
  });

  it('bounded memory, non-readers dropped after clientStallMs, readers at the full rate', async () => {
    await sleep(1500);
    const base = await metrics(d);
    const fast: TestClient[] = [];
    const stuck: TestClient[] = [];
    for (let i = 0; i < 50; i++) {
      if (i % 5 === 4) stuck.push(await connect(d.port, { noRead: true }));
      else fast.push(await connect(d.port));
    }
    // all 50 were taken in; on a loaded machine connecting them can outlast clientStallMs, so the
    // first non-readers may already have been dropped: connected + dropped is the invariant
    const m0 = await metrics(d);
    expect(m0.crackscope_clients + m0.crackscope_ws_clients_dropped_total).toBe(50);
    expect(fast.every((c) => c.closed === null)).toBe(true);
    const tConnected = Date.now();
    let peakRss = 0;
    // clientStallMs is 2 s: the kernel buffers of a non-reader fill first, then 2 s of no progress
    let m: typeof base;
    for (;;) {
      m = await metrics(d);
      peakRss = Math.max(peakRss, m.crackscope_rss_bytes);
      if (m.crackscope_ws_clients_dropped_total >= 10 || Date.now() - tConnected > 15_000) break;
      await sleep(250);
    }
    const dropMs = Date.now() - tConnected;
    expect(m.crackscope_ws_clients_dropped_total).toBe(10);
    expect(m.crackscope_clients).toBe(40);
    expect(fast.every((c) => c.closed === null)).toBe(true);
    expect(d.logs.filter((l) => l.event === 'ws.client_dropped')).toHaveLength(10);

    // the 40 readers over a 4 s window, against the frames the pipeline produced in it
    const f0 = fast.map((c) => c.frames);
    const p0 = (await metrics(d)).crackscope_frames_processed_total;
    await sleep(4000);
    const mEnd = await metrics(d);
    peakRss = Math.max(peakRss, mEnd.crackscope_rss_bytes);
    const produced = mEnd.crackscope_frames_processed_total - p0;
    const got = fast.map((c, i) => c.frames - f0[i]);
    const minShare = Math.min(...got) / produced;
    const growthMb = (peakRss - base.crackscope_rss_bytes) / 1048576;
    log(
      `non-readers dropped after ${dropMs} ms; RSS ${(base.crackscope_rss_bytes / 1048576).toFixed(0)} MB with 0 viewers → peak ${(peakRss / 1048576).toFixed(0)} MB with 50 (+${growthMb.toFixed(0)} MB); ` +
        `heap ${(mEnd.crackscope_heap_used_bytes / 1048576).toFixed(1)} MB; window: ${produced} frames produced, readers got min ${Math.min(...got)} max ${Math.max(...got)}; fps ${mEnd.crackscope_fps}`,
    );
    expect(produced).toBeGreaterThan(30);
    expect(minShare).toBeGreaterThanOrEqual(0.9);
    expect(growthMb).toBeLessThan(120);
    expect(dropMs).toBeLessThan(10_000);
    for (const c of [...fast, ...stuck]) c.ws.terminate();
    await sleep(300);
    expect((await metrics(d)).crackscope_clients).toBe(0);
  });
});

describe('bad WebSocket input', () => {
  let d: Daemon;
  useFastDaemon(['--source', 'test://ball'], (daemon) => (d = daemon));

  it('malformed messages: an error message back for each, a counter, the connection stays', async () => {
    const c = await connect(d.port);
    await nextText(c, (m) => m.type === 'hello', 3000, 0); // it may have come with the handshake
    const before = (await metrics(d)).crackscope_ws_messages_rejected_total;
    const cases: [string | Buffer, RegExp, string][] = [
      ['not json', /not valid JSON/, 'bad-message'],
      ['[1,2,3]', /JSON object/, 'bad-message'],
      ['{"type":"reboot"}', /unknown message type "reboot"/, 'bad-message'],
      ['{"type":"ping"}', /numeric t/, 'bad-message'],
      ['{"type":"ping","t":"now"}', /numeric t/, 'bad-message'],
      ['{"type":{"$gt":""}}', /unknown message type/, 'bad-message'],
      ['x'.repeat(10_000), /limit is 4096/, 'too-large'],
      [Buffer.from([0, 1, 2, 3]), /binary/, 'bad-message'],
    ];
    for (const [msg, re, code] of cases) {
      const reply = nextText(c, (m) => m.type === 'error');
      c.ws.send(msg);
      const err = await reply;
      expect(err.code).toBe(code);
      expect(err.message).toMatch(re);
      await sleep(60); // stay under the rate limit
    }
    const pong = nextText(c, (m) => m.type === 'pong');
    c.ws.send(JSON.stringify({ type: 'ping', t: 42 }));
    expect((await pong).t).toBe(42);
    expect(c.closed).toBeNull();
    expect((await metrics(d)).crackscope_ws_messages_rejected_total - before).toBe(cases.length);
    c.ws.close();
  });

  it('oversized frame → closed with 1009; invalid UTF-8 → 1007; both counted', async () => {
    const before = (await metrics(d)).crackscope_ws_messages_rejected_total;
    const big = await connect(d.port);
    big.ws.send('y'.repeat(200_000));
    const utf = await connect(d.port);
    utf.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    await sleep(500);
    expect(big.closed?.code).toBe(1009);
    expect(utf.closed?.code).toBe(1007);
    expect((await metrics(d)).crackscope_ws_messages_rejected_total - before).toBe(2);
  });

  it('a flood: rate-limited with errors, closed with 1008 after repeated violations', async () => {
    const c = await connect(d.port);
    for (let i = 0; i < 200; i++) c.ws.send(JSON.stringify({ type: 'ping', t: i }));
    await sleep(800);
    const limited = c.texts.filter((m) => m.type === 'error' && m.code === 'rate-limited');
    expect(limited.length).toBeGreaterThan(0);
    expect(c.texts.filter((m) => m.type === 'pong').length).toBeLessThanOrEqual(25);
    expect(c.closed?.code).toBe(1008);
  });

  it('still serving frames afterwards', async () => {
    const { frames } = await collectFrames(d.port, 5, 10_000);
    expect(frames).toHaveLength(5);
    expect((await waitHealth(d, (h) => h.code === 200, 3000)).code).toBe(200);
  });
});
