// The WebSocket server (server/stream/ws-server.ts) in-process, as a viewer sees it: the hello and
// status messages field by field, what each client message does, the answers to bad ones (rate,
// size, binary, unknown comparison model), refusals of a foreign Host or Origin, the drop of a
// viewer that reads nothing, and shutdown's 1001. Frames are the test's own (FakePipeline).
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HTTP_ERRORS, WS_ERRORS } from '../server/protocol/errors.js';
import { decodeBinaryMessage, PROTOCOL_VERSION } from '../server/protocol/wire-format.js';
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
  closed: Promise<{ code: number; reason: string }>;
}
function connect(port: number, headers: Record<string, string> = {}): Promise<Viewer | { status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    const v: Viewer = { ws, texts: [], frames: [], closed: new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() }))) };
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return void v.texts.push(JSON.parse(data.toString()));
      const m = decodeBinaryMessage(new Uint8Array(data as Buffer));
      if (m.kind === 'frame') v.frames.push(m.frame.frameId);
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
});
