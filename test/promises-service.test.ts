// Promises of the README's "Faults and security" and "HTTP and WebSocket" sections that no other test
// held (issue 21), each asked exactly of the real express app and WebSocket server in this process,
// fed with frames the test chose: admin actions from the network without a token, allowedOrigins,
// maxClients, back-pressure to a viewer that does not read, camera passwords in /healthz, the
// hello and capture reports, and a capture of the frozen frame at the viewer's threshold.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { requireAdmin } from '../server/http/admin-auth.js';
import type { Config } from '../server/config/schema.js';
import { makeFrame, startInProcess, type InProcessService } from './helpers/in-process.js';

let svc: InProcessService | undefined;
afterEach(async () => {
  await svc?.close();
  svc = undefined;
});

/** this machine's first non-loopback IPv4 address, if it has one */
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

interface Viewer {
  ws: WebSocket;
  texts: any[];
  frames: number;
  closed: Promise<{ code: number; reason: string }>;
}

function connect(port: number, headers: Record<string, string> = {}, host = '127.0.0.1'): Promise<Viewer | { status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${host}:${port}/ws`, { headers });
    const v: Viewer = { ws, texts: [], frames: 0, closed: new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() }))) };
    ws.on('message', (data, isBinary) => (isBinary ? v.frames++ : v.texts.push(JSON.parse(data.toString()))));
    ws.on('error', () => undefined);
    ws.once('open', () => resolve(v));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode! }));
  });
}
const isViewer = (v: Viewer | { status: number }): v is Viewer => 'ws' in v;
const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('admin actions without a token', () => {
  it('are refused (403) to a request from the network, and allowed from the device itself', async () => {
    // the middleware itself, with a request as the socket reports it from a LAN peer and from loopback
    const config = { adminToken: undefined } as unknown as Config;
    const ask = (remoteAddress: string, authorization?: string) => {
      let status = 0,
        passed = false;
      const res = { status: (s: number) => ((status = s), res), json: () => res } as any;
      requireAdmin(config)(
        { get: (h: string) => (h === 'authorization' ? authorization : undefined), socket: { remoteAddress } } as any,
        res,
        () => (passed = true),
      );
      return passed ? 'next' : status;
    };
    expect(ask('192.168.1.20')).toBe(403);
    expect(ask('::ffff:10.0.0.7')).toBe(403);
    expect(ask('fd00::2', 'Bearer anything-at-all-1234')).toBe(403); // no token configured: no token can pass
    expect(ask('127.0.0.1')).toBe('next');
    expect(ask('::1')).toBe('next');
    expect(ask('::ffff:127.0.0.1')).toBe('next');
  });

  it.skipIf(!lanAddress)('end to end: listening on 0.0.0.0, a delete from the LAN address is refused and the capture stays', async () => {
    svc = await startInProcess({ listen: '0.0.0.0' });
    svc.pipeline.publish(await makeFrame(1, 64, 32, new Uint8Array(64 * 32)));
    const saved = await post(`${svc.url}/api/captures`, {});
    expect(saved.status).toBe(201);
    const { id } = (await saved.json()) as { id: string };
    const lan = `http://${lanAddress}:${svc.port}`;
    const del = await fetch(`${lan}/api/captures/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(403);
    expect(((await del.json()) as { error: string }).error).toMatch(/only from this device until an admin token is configured/);
    expect((await fetch(`${lan}/api/config`)).status).toBe(403);
    expect((await fetch(`${lan}/api/calibration`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"mmPerPx":0.1}' })).status).toBe(
      403,
    );
    // viewers on the network may still watch and list
    expect((await fetch(`${lan}/api/captures`)).status).toBe(200);
    expect(fs.existsSync(path.join(svc.config.dataDir, 'captures', id, 'report.json'))).toBe(true);
    // from the device itself the same delete goes through
    expect((await fetch(`${svc.url}/api/captures/${id}`, { method: 'DELETE' })).status).toBe(204);
  });
});

describe('allowedOrigins', () => {
  it('an origin listed there may open the WebSocket and change state; any other is refused', async () => {
    const kiosk = 'http://kiosk.example:8080';
    svc = await startInProcess({ allowedOrigins: kiosk });
    svc.pipeline.publish(await makeFrame(1, 64, 32, new Uint8Array(64 * 32)));
    const ok = await connect(svc.port, { origin: kiosk });
    expect(isViewer(ok)).toBe(true);
    if (isViewer(ok)) ok.ws.close();
    expect(await connect(svc.port, { origin: 'http://evil.example' })).toEqual({ status: 403 });
    expect(await connect(svc.port, { origin: 'http://kiosk.example:8081' })).toEqual({ status: 403 });
    expect((await post(`${svc.url}/api/captures`, {}, { origin: kiosk })).status).toBe(201);
    expect((await post(`${svc.url}/api/captures`, {}, { origin: 'http://evil.example' })).status).toBe(403);
    expect(svc.logs.filter((l) => l.event === 'ws.origin_refused')).toHaveLength(2);
  });

  it('without it, the same foreign origin is refused (the list is what lets it in)', async () => {
    svc = await startInProcess({});
    expect(await connect(svc.port, { origin: 'http://kiosk.example:8080' })).toEqual({ status: 403 });
    expect((await post(`${svc.url}/api/captures`, {}, { origin: 'http://kiosk.example:8080' })).status).toBe(403);
  });
});

describe('maxClients', () => {
  it('one viewer past the limit is closed with 1013 and no hello; a freed place is taken again', async () => {
    svc = await startInProcess({ maxClients: 3 });
    const three = (await Promise.all([0, 1, 2].map(() => connect(svc!.port)))) as Viewer[];
    await until(() => three.every((v) => v.texts.some((t) => t.type === 'hello')));
    const fourth = (await connect(svc.port)) as Viewer;
    const closed = await Promise.race([fourth.closed, new Promise((r) => setTimeout(() => r('still open after 5 s'), 5000))]);
    expect(closed).toEqual({ code: 1013, reason: 'too many viewers' });
    expect(fourth.texts).toEqual([]);
    expect(svc.stream.clients.size).toBe(3);
    expect(svc.stream.counters.connectionsRefused).toBe(1);
    three[0].ws.close();
    await until(() => svc!.stream.clients.size === 2);
    const again = (await connect(svc.port)) as Viewer;
    await until(() => again.texts.some((t) => t.type === 'hello'));
    expect(svc.stream.clients.size).toBe(3);
    for (const v of [...three, again]) v.ws.terminate();
  });
});

describe('back-pressure', () => {
  it('a viewer that does not read gets frames skipped, never more than one frame queued for it; a reader gets them all', async () => {
    const W = 512,
      H = 512; // 256 KB raw mask per frame
    svc = await startInProcess({}, { width: W, height: H });
    const reader = (await connect(svc.port)) as Viewer;
    const stuck = (await connect(svc.port)) as Viewer;
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // reads nothing from now on
    await until(() => svc!.stream.clients.size === 2);
    const mask = new Uint8Array(W * H).fill(7);
    const frame = await makeFrame(0, W, H, mask);
    const N = 60;
    let maxQueued = 0;
    const serverSide = () => [...svc!.stream.clients];
    for (let i = 1; i <= N; i++) {
      svc.pipeline.publish({ ...frame, frameId: i });
      // the reader has it before the next one (a frame the reader skipped would be a test bug)
      await until(() => reader.frames === i);
      for (const c of serverSide()) maxQueued = Math.max(maxQueued, c.ws.bufferedAmount);
    }
    const messageBytes = 64 + 256 + frame.jpeg.length + W * H; // header (≤ 256) + JPEG + mask
    // what the process holds for the non-reader: at most the one frame that did not fit the socket
    expect(maxQueued).toBeLessThanOrEqual(messageBytes);
    // the kernel's socket buffers take a few frames; the rest were skipped, for the non-reader only
    expect(svc.stream.counters.framesSkipped).toBeGreaterThanOrEqual(N - 30);
    expect(svc.stream.counters.framesSent).toBe(N + (N - svc.stream.counters.framesSkipped));
    expect(reader.frames).toBe(N);
    reader.ws.terminate();
    stuck.ws.terminate();
  });
});

describe('camera passwords', () => {
  const SECRET = 'Sup3rSecret-pw';
  const source = `rtsp://admin:${SECRET}@10.0.0.5:554/stream1`;

  it('never appear in /healthz (up or down), the hello, capture reports, the captures list or the log', async () => {
    svc = await startInProcess({ source });
    const health = await (await fetch(`${svc.url}/healthz`)).text();
    expect(JSON.parse(health).source).toBe('rtsp://***@10.0.0.5:554/stream1');
    expect(health).not.toContain(SECRET);
    svc.pipeline.state = { ...svc.pipeline.state, state: 'source-down', reason: 'the capture process exited (code 1)' };
    const down = await fetch(`${svc.url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.text()).not.toContain(SECRET);
    svc.pipeline.state = { ...svc.pipeline.state, state: 'live', reason: undefined };

    const v = (await connect(svc.port)) as Viewer;
    await until(() => v.texts.some((t) => t.type === 'hello'));
    const hello = v.texts.find((t) => t.type === 'hello');
    expect(hello.source).toBe('rtsp://***@10.0.0.5:554/stream1');
    expect(JSON.stringify(v.texts)).not.toContain(SECRET);
    v.ws.close();

    svc.pipeline.publish(await makeFrame(1, 64, 32, new Uint8Array(64 * 32)));
    const r = await post(`${svc.url}/api/captures`, {});
    const text = await r.text();
    expect(r.status).toBe(201);
    expect(text).not.toContain(SECRET);
    const { id } = JSON.parse(text);
    const onDisk = fs.readFileSync(path.join(svc.config.dataDir, 'captures', id, 'report.json'), 'utf8');
    expect(JSON.parse(onDisk).source).toBe('rtsp://***@10.0.0.5:554/stream1');
    expect(onDisk).not.toContain(SECRET);
    expect(await (await fetch(`${svc.url}/api/captures`)).text()).not.toContain(SECRET);
    expect(await (await fetch(`${svc.url}/api/captures/${id}/analysis`)).text()).not.toContain(SECRET);
    expect(svc.journal()).not.toContain(SECRET);
  });
});

describe('capture of a frozen frame', () => {
  /** a W×H mask with horizontal lines of the given values, 3 px thick, across most of the width */
  function linesMask(w: number, h: number, lines: [y: number, value: number][]): Uint8Array {
    const m = new Uint8Array(w * h);
    for (const [y0, value] of lines) for (let y = y0; y < y0 + 3; y++) for (let x = 8; x < w - 8; x++) m[y * w + x] = value;
    return m;
  }

  it("saves the frame the viewer froze, at the viewer's threshold, not the newest frame at the default", async () => {
    const W = 160,
      H = 96;
    svc = await startInProcess({}, { width: W, height: H, threshold: 0.6 });
    // the frozen frame: a strong crack (220) and a faint one (110: 0.43, below the default 0.6)
    const frozenMask = linesMask(W, H, [
      [20, 220],
      [60, 110],
    ]);
    const frozenJpeg = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .jpeg()
      .toBuffer();
    svc.pipeline.publish(await makeFrame(41, W, H, frozenMask, frozenJpeg));
    // the live view has moved on: newer frames, one with a crack elsewhere, the newest with none
    svc.pipeline.publish(await makeFrame(42, W, H, linesMask(W, H, [[40, 250]])));
    svc.pipeline.publish(await makeFrame(43, W, H, new Uint8Array(W * H)));

    const r = await post(`${svc.url}/api/captures`, { frameId: 41, threshold: 0.4 });
    expect(r.status).toBe(201);
    const { id, report } = (await r.json()) as { id: string; report: any };
    expect(report.frameId).toBe(41);
    expect(report.threshold).toBe(0.4);
    expect(report.analysis.threshold).toBe(0.4);
    expect(report.analysis.crack_count).toBe(2); // at 0.4 the faint crack counts; at 0.6 it would not
    const dir = path.join(svc.config.dataDir, 'captures', id);
    const { data, info } = await sharp(fs.readFileSync(path.join(dir, 'mask.png')))
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([W, H, 1]);
    expect(Buffer.compare(data, Buffer.from(frozenMask))).toBe(0); // the frozen mask, byte for byte
    const { data: img } = await sharp(fs.readFileSync(path.join(dir, 'image.jpg')))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(img[0]).toBeGreaterThan(150); // the frozen frame's red picture, not the newest grey one
    expect(img[1]).toBeLessThan(80);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')).frameId).toBe(41);

    // without a threshold, the model's (0.6): only the strong crack
    const d = await post(`${svc.url}/api/captures`, { frameId: 41 });
    expect(((await d.json()) as any).report.analysis.crack_count).toBe(1);
  });
});
