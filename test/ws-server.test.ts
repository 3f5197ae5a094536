// The WebSocket server (server/stream/ws-server.ts) in-process, as a viewer sees it: the hello and
// status messages field by field, what each client message does, the answers to bad ones (rate,
// size, binary, unknown comparison model), refusals of a foreign Host or Origin, the drop of a
// viewer that reads nothing, and shutdown's 1001. Frames are the test's own (FakePipeline).
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { FrameComparer } from '../server/pipeline/compare.js';
import { HTTP_ERRORS, WS_ERRORS } from '../server/protocol/errors.js';
import { deflateMask } from '../server/protocol/mask-encoding.js';
import { decodeBinaryMessage, MASK_DEFLATE, MASK_RAW, PROTOCOL_VERSION } from '../server/protocol/wire-format.js';
import { makeFrame, startInProcess, type InProcessService } from './helpers/in-process.js';

let svc: InProcessService | undefined;
afterEach(async () => {
  await svc?.close();
  svc = undefined;
});

interface Viewer {
  ws: WebSocket;
  texts: any[];
  frames: number[];
  /** comparison-mask messages: frame id, model index, mask encoding and bytes */
  comparisons: { frameId: number; index: number; encoding: number; bytes: Buffer }[];
  /** the binary messages in arrival order: "f<frameId>" or "c<frameId>.<index>" */
  order: string[];
  closed: Promise<{ code: number; reason: string }>;
}
function connect(port: number, headers: Record<string, string> = {}): Promise<Viewer | { status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    const v: Viewer = {
      ws,
      texts: [],
      frames: [],
      comparisons: [],
      order: [],
      closed: new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() }))),
    };
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return void v.texts.push(JSON.parse(data.toString()));
      const m = decodeBinaryMessage(new Uint8Array(data as Buffer));
      if (m.kind === 'frame') {
        v.frames.push(m.frame.frameId);
        v.order.push(`f${m.frame.frameId}`);
      } else {
        const c = m.comparison;
        v.comparisons.push({ frameId: c.frameId, index: c.index, encoding: c.mask.encoding, bytes: Buffer.from(c.maskBytes) });
        v.order.push(`c${c.frameId}.${c.index}`);
      }
    });
    ws.on('error', () => undefined);
    ws.once('open', () => resolve(v));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode! }));
  });
}
async function viewer(port: number): Promise<Viewer> {
  const v = await connect(port);
  if (!('ws' in v)) throw new Error(`refused: ${v.status}`);
  await until(() => v.texts.some((t) => t.type === 'status'));
  return v;
}
const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};
const errors = (v: Viewer) => v.texts.filter((t) => t.type === 'error');

describe('the WebSocket server, as a viewer sees it', () => {
  it('hello first (model, provider, mask size, source without its password), then the status', async () => {
    svc = await startInProcess({ source: 'rtsp://admin:Sup3rSecret@10.0.0.5/stream1' }, { width: 96, height: 64, threshold: 0.6 });
    svc.pipeline.state = { ...svc.pipeline.state, state: 'live', fps: 14.96, reason: undefined } as any;
    const v = await viewer(svc.port);
    expect(v.texts[0]).toEqual({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      model: { name: 'fake', version: '0.0.1-test', threshold: 0.6, input: { height: 64, width: 96 } },
      provider: 'cpu',
      providerLabel: 'CPU',
      fallbacks: [],
      mask: { width: 96, height: 64 },
      source: expect.not.stringContaining('Sup3rSecret'),
    });
    expect(v.texts[0].source).toMatch(/^rtsp:\/\/.*10\.0\.0\.5\/stream1$/);
    expect(v.texts[1]).toEqual({ type: 'status', state: 'live', fps: 15, clients: 1 });
    expect(svc.logs.find((l) => l.event === 'ws.connect')).toMatchObject({ remote: '127.0.0.1', clients: 1 });
    // no permessage-deflate, though the client offers it (the JPEG gains nothing; a mask has its own deflate encoding)
    expect(v.ws.extensions).toBe('');
    v.ws.close();
    await until(() => svc!.logs.some((l) => l.event === 'ws.disconnect'));
    expect(svc.logs.find((l) => l.event === 'ws.disconnect')).toMatchObject({ clients: 0, skipped: 0 });
  });

  it('status messages: pushed on a pipeline change and every second, fps to one decimal, the viewer count', async () => {
    svc = await startInProcess();
    const a = await viewer(svc.port);
    const b = await viewer(svc.port);
    svc.pipeline.emit('status', { ...svc.pipeline.state, state: 'source-down', reason: 'camera unplugged', fps: 2.345 });
    await until(() => a.texts.some((t) => t.state === 'source-down'));
    expect(a.texts.find((t) => t.state === 'source-down')).toEqual({ type: 'status', state: 'source-down', reason: 'camera unplugged', fps: 2.3, clients: 2 });
    const before = b.texts.length;
    await until(() => b.texts.length >= before + 2, 5000); // the once-a-second status
    expect(b.texts.at(-1)).toMatchObject({ type: 'status', clients: 2 });
  });

  it('ping is answered with its t and the server time; pause stops frames, resume brings them back', async () => {
    svc = await startInProcess();
    const v = await viewer(svc.port);
    const before = Date.now();
    v.ws.send(JSON.stringify({ type: 'ping', t: 42.5 }));
    await until(() => v.texts.some((t) => t.type === 'pong'));
    const pong = v.texts.find((t) => t.type === 'pong');
    expect(pong.t).toBe(42.5);
    expect(pong.serverTime).toBeGreaterThanOrEqual(before);
    expect(pong.serverTime).toBeLessThanOrEqual(Date.now());
    expect(svc.stream.lastActivityAt).toBeGreaterThanOrEqual(before);
    const frame = await makeFrame(0, 64, 32, new Uint8Array(64 * 32));
    svc.pipeline.publish({ ...frame, frameId: 1 });
    await until(() => v.frames.includes(1));
    v.ws.send(JSON.stringify({ type: 'pause' }));
    await until(() => svc!.stream.lastActivityAt > 0 && [...svc!.stream.clients][0].paused);
    svc.pipeline.publish({ ...frame, frameId: 2 });
    v.ws.send(JSON.stringify({ type: 'resume' }));
    await until(() => ![...svc!.stream.clients][0].paused);
    svc.pipeline.publish({ ...frame, frameId: 3 });
    await until(() => v.frames.includes(3));
    expect(v.frames).toEqual([1, 3]);
    expect(svc.stream.counters.framesSent).toBe(2);
    expect(errors(v)).toEqual([]);
  });

  it('bad messages get an error naming what was wrong, are counted, and 50 of them close the connection', async () => {
    svc = await startInProcess();
    const v = await viewer(svc.port);
    v.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    v.ws.send('x'.repeat(5000));
    v.ws.send(JSON.stringify({ type: 'compare', model: 0 }));
    v.ws.send('{"type":"zoom"}');
    await until(() => errors(v).length === 4);
    expect(errors(v)).toEqual([
      { type: 'error', code: 'bad-message', message: 'binary messages are not accepted' },
      { type: 'error', code: 'too-large', message: 'message of 5000 bytes; the limit is 4096' },
      { type: 'error', code: 'bad-message', message: 'no comparison models (start with --compare NAME)' },
      { type: 'error', code: 'bad-message', message: expect.stringMatching(/^unknown message type "zoom"/) },
    ]);
    expect(svc.stream.counters.messagesRejected).toBe(4);
    // one catalogue, one spelling: the codes are errors.ts's, and a too-large message is HTTP's too-large
    for (const e of errors(v)) expect(Object.keys(WS_ERRORS)).toContain(e.code);
    expect(HTTP_ERRORS['too-large']).toBe(413);
    // compare null (stop comparing) is always fine
    v.ws.send(JSON.stringify({ type: 'compare', model: null }));
    await new Promise((r) => setTimeout(r, 100));
    expect(errors(v)).toHaveLength(4);
    // more than 50 violations: closed with 1008 (sent slowly enough not to be rate-limited)
    for (let i = 0; i < 47; i++) {
      v.ws.send('{}');
      await new Promise((r) => setTimeout(r, 60));
    }
    const closed = await v.closed;
    expect(closed).toEqual({ code: 1008, reason: 'too many invalid messages' });
    expect(errors(v).length).toBe(51);
  });

  it('more than 20 messages a second are refused as rate-limited', async () => {
    svc = await startInProcess();
    const v = await viewer(svc.port);
    for (let i = 0; i < 30; i++) v.ws.send(JSON.stringify({ type: 'ping', t: i }));
    await until(() => v.texts.filter((t) => t.type === 'pong').length + errors(v).length === 30);
    const limited = errors(v).filter((e) => e.code === 'rate-limited');
    expect(limited.length).toBeGreaterThanOrEqual(8);
    expect(limited.length).toBeLessThanOrEqual(10);
    expect(limited[0].message).toBe('more than 20 messages per second');
    expect(
      v.texts
        .filter((t) => t.type === 'pong')
        .map((t) => t.t)
        .slice(0, 20),
    ).toEqual([...Array(20).keys()]);
  });

  it('a foreign Host (421) or Origin (403) is refused before the upgrade, counted and logged', async () => {
    svc = await startInProcess();
    expect(await connect(svc.port, { host: 'evil.example' })).toEqual({ status: 421 });
    expect(await connect(svc.port, { origin: 'http://evil.example' })).toEqual({ status: 403 });
    expect(svc.stream.counters.connectionsRefused).toBe(2);
    expect(svc.logs.find((l) => l.event === 'ws.host_refused')).toMatchObject({ host: 'evil.example' });
    expect(svc.logs.find((l) => l.event === 'ws.origin_refused')).toMatchObject({ origin: 'http://evil.example' });
    expect(svc.stream.clients.size).toBe(0);
  });

  it('a viewer that reads nothing for clientStallMs is dropped, counted and logged; shutdown closes the rest with 1001', async () => {
    svc = await startInProcess({ clientStallMs: 1500 }, { width: 512, height: 512 });
    const reader = await viewer(svc.port);
    const stuck = await viewer(svc.port);
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const frame = await makeFrame(0, 512, 512, new Uint8Array(512 * 512).fill(9));
    let id = 0;
    await until(() => {
      svc!.pipeline.publish({ ...frame, frameId: ++id });
      return svc!.stream.counters.clientsDropped === 1;
    }, 20_000);
    expect(svc.stream.clients.size).toBe(1);
    expect(svc.logs.find((l) => l.event === 'ws.client_dropped')).toMatchObject({ reason: 'read nothing for 1500 ms', buffered: expect.any(Number) });
    expect((svc.logs.find((l) => l.event === 'ws.client_dropped') as any).buffered).toBeGreaterThan(0);
    await svc.stream.close();
    expect(await reader.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    // and after shutdown began, a new viewer is refused
    expect(await connect(svc.port)).toEqual({ status: 503 });
  });

  it('comparison models: listed in the hello; a viewer that asks for one gets its mask right after each frame, the others none', async () => {
    svc = await startInProcess();
    const models = [
      { index: 0, name: 'crackunet-b', version: '2.0.0', threshold: 0.5, providerLabel: 'CPU' },
      { index: 1, name: 'crackunet-c', version: '3.1.0', threshold: 0.55, providerLabel: 'CPU' },
    ];
    svc.ctx.comparer = { models } as unknown as FrameComparer;
    const [a, b, c] = [await viewer(svc.port), await viewer(svc.port), await viewer(svc.port)];
    expect(a.texts[0].compare).toEqual(models);
    a.ws.send(JSON.stringify({ type: 'compare', model: 7 }));
    await until(() => errors(a).length === 1);
    expect(errors(a)).toEqual([{ type: 'error', code: 'bad-message', message: 'no comparison model 7; there are 0 (crackunet-b), 1 (crackunet-c)' }]);
    a.ws.send(JSON.stringify({ type: 'compare', model: 1 }));
    c.ws.send(JSON.stringify({ type: 'compare', model: 0 }));
    const clients = () => [...svc!.stream.clients];
    await until(() => clients().filter((x) => x.compare !== null).length === 2);
    expect(clients().map((x) => x.compare)).toEqual([1, null, 0]);

    const mask = new Uint8Array(64 * 32).fill(3);
    const m0 = new Uint8Array(64 * 32).fill(100),
      m1 = new Uint8Array(64 * 32).map((_, i) => i % 251);
    const comparisons = [
      { index: 0, inferenceMs: 4, iou: 0.5, f1: 0.6, mask: m0 },
      { index: 1, inferenceMs: 5, iou: 0.7, f1: 0.8, mask: m1 },
    ];
    const frame = await makeFrame(0, 64, 32, mask);
    const all = [a, b, c];
    // each frame is published once every viewer has all it was sent before (a viewer still
    // receiving would have the next frame skipped: back-pressure)
    const publish = async (f: typeof frame, ...expected: [Viewer, string][]) => {
      svc!.pipeline.publish(f);
      await until(() => all.every((v) => v.frames.includes(f.frameId)) && expected.every(([v, e]) => v.order.includes(e)));
    };
    await publish({ ...frame, frameId: 1, comparisons }, [a, 'c1.1'], [c, 'c1.0']);
    // a frame whose comparison run failed has no comparison mask to follow it
    await publish({ ...frame, frameId: 2 });
    // deflated frames get deflated comparison masks
    await publish({ ...frame, frameId: 3, wireMask: { bytes: deflateMask(mask), encoding: 'deflate' }, comparisons }, [a, 'c3.1'], [c, 'c3.0']);
    // "stop comparing"
    a.ws.send(JSON.stringify({ type: 'compare', model: null }));
    await until(() => clients()[0].compare === null);
    await publish({ ...frame, frameId: 4, comparisons }, [c, 'c4.0']);

    expect(a.order).toEqual(['f1', 'c1.1', 'f2', 'f3', 'c3.1', 'f4']);
    expect(b.order).toEqual(['f1', 'f2', 'f3', 'f4']);
    expect(c.order).toEqual(['f1', 'c1.0', 'f2', 'f3', 'c3.0', 'f4', 'c4.0']);
    const [a1, a3] = a.comparisons;
    expect([a1.frameId, a1.index, a1.encoding]).toEqual([1, 1, MASK_RAW]);
    expect(new Uint8Array(a1.bytes)).toEqual(m1);
    expect([a3.frameId, a3.index, a3.encoding]).toEqual([3, 1, MASK_DEFLATE]);
    expect(new Uint8Array(zlib.inflateSync(a3.bytes))).toEqual(m1);
    expect(new Uint8Array(c.comparisons[0].bytes)).toEqual(m0);
    expect(new Uint8Array(zlib.inflateSync(c.comparisons[1].bytes))).toEqual(m0);
    // frames counted, not their comparison masks
    expect(svc.stream.counters.framesSent).toBe(12);
    expect(errors(b)).toEqual([]);
    expect(errors(c)).toEqual([]);
  });

  it('a comparer with no models: no compare list in the hello', async () => {
    svc = await startInProcess();
    svc.ctx.comparer = { models: [] } as unknown as FrameComparer;
    const v = await viewer(svc.port);
    expect(v.texts[0].type).toBe('hello');
    expect('compare' in v.texts[0]).toBe(false);
  });

  it('a message over 64 KiB is not even read: closed with 1009, counted and logged', async () => {
    svc = await startInProcess();
    const v = await viewer(svc.port);
    v.ws.send('x'.repeat(64 * 1024 + 1));
    expect((await v.closed).code).toBe(1009);
    await until(() => svc!.stream.counters.messagesRejected === 1);
    expect(svc.logs.find((l) => l.event === 'ws.error')).toMatchObject({
      level: 'warn',
      code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      err: 'Max payload size exceeded',
    });
    expect(errors(v)).toEqual([]);
  });

  it('a refused Host or Origin is logged cut to 100 characters', async () => {
    svc = await startInProcess();
    const host = `${'h'.repeat(120)}.example`,
      origin = `http://${'o'.repeat(120)}.example`;
    expect(await connect(svc.port, { host })).toEqual({ status: 421 });
    expect(await connect(svc.port, { origin })).toEqual({ status: 403 });
    expect(svc.logs.find((l) => l.event === 'ws.host_refused')).toMatchObject({ level: 'warn', host: host.slice(0, 100) });
    expect(svc.logs.find((l) => l.event === 'ws.origin_refused')).toMatchObject({ level: 'warn', origin: origin.slice(0, 100) });
  });
});
