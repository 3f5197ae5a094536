// The HTTP side (server/http/app.ts) in-process, as a client sees it over real HTTP: /healthz when
// frames flow and when the source is down, admission refusals (foreign Host, cross-site Origin,
// a '..' path) with the status and code of server/protocol/errors.ts, an unknown path, admin
// actions refused from the network, and a capture saved from the frame the pipeline holds.
// Frames are the test's own (FakePipeline, helpers/in-process.ts).
import http from 'node:http';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { HTTP_ERRORS } from '../server/protocol/errors.js';
import { makeFrame, startInProcess, type InProcessService } from './helpers/in-process.js';

let svc: InProcessService | undefined;
afterEach(async () => {
  await svc?.close();
  svc = undefined;
});

/** A raw request: fetch does not let a client choose its Host header, node:http does. */
function rawRequest(port: number, opts: { method?: string; path: string; headers?: Record<string, string> }): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An address of this machine that is not loopback (the "network" for the admin rule), if it has one. */
const networkAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe('the HTTP app, as a client sees it', () => {
  it('/healthz while frames flow: 200, status ok, the source without its password, model, provider, counters, no-store', async () => {
    svc = await startInProcess({ source: 'rtsp://admin:Sup3rSecret@10.0.0.5/stream1' }, { width: 96, height: 64 });
    svc.pipeline.publish(await makeFrame(7, 96, 64, new Uint8Array(96 * 64)));
    svc.pipeline.state = { ...svc.pipeline.state, fps: 14.96, framesDropped: 3, badFrames: 1 };
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body).toEqual({
      status: 'ok',
      source: 'rtsp://***@10.0.0.5/stream1',
      provider: 'cpu',
      providerLabel: 'CPU',
      fallbacks: [],
      fps: 15,
      model: 'fake@0.0.1-test',
      framesProcessed: 1,
      framesDropped: 3,
      badFrames: 1,
      lastFrameAgeMs: expect.any(Number),
      clients: 0,
    });
    expect(body.lastFrameAgeMs).toBeGreaterThanOrEqual(0);
    expect(body.lastFrameAgeMs).toBeLessThan(5000);
  });

  it('/healthz with the source down: 503, the state as status, the reason, no frame age before the first frame', async () => {
    svc = await startInProcess();
    svc.pipeline.state = { ...svc.pipeline.state, state: 'source-down', reason: 'camera unplugged', fps: 0, lastFrameAt: 0 };
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'source-down',
      source: 'demo://',
      provider: 'cpu',
      providerLabel: 'CPU',
      fallbacks: [],
      fps: 0,
      model: 'fake@0.0.1-test',
      framesProcessed: 0,
      framesDropped: 0,
      badFrames: 0,
      lastFrameAgeMs: null,
      clients: 0,
      reason: 'camera unplugged',
    });
  });

  it('admission: a foreign Host is 421 bad-host, a cross-site write 403 bad-origin, a ".." path 400 bad-path; each closes and is logged', async () => {
    svc = await startInProcess();
    const host = await rawRequest(svc.port, { path: '/healthz', headers: { host: 'evil.example' } });
    expect(host).toEqual({ status: 421, body: { error: 'unknown Host header', code: 'bad-host' } });
    expect(HTTP_ERRORS['bad-host']).toBe(421);

    const origin = await fetch(`${svc.url}/api/captures`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(origin.status).toBe(403);
    expect(origin.headers.get('connection')).toBe('close');
    expect(await origin.json()).toEqual({ error: 'cross-site request refused', code: 'bad-origin' });
    expect(HTTP_ERRORS['bad-origin']).toBe(403);

    // the page's own origin is admitted (the request reaches the route: no frame yet, 409)
    const own = await fetch(`${svc.url}/api/captures`, {
      method: 'POST',
      headers: { origin: svc.url, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(own.status).toBe(409);
    expect(await own.json()).toEqual({ error: 'no frame has been processed yet', code: 'no-frame' });

    // a GET with a foreign Origin is not refused: only writes must come from our own page
    expect((await fetch(`${svc.url}/healthz`, { headers: { origin: 'http://evil.example' } })).status).toBe(200);

    const dots = await rawRequest(svc.port, { path: '/api/%2e%2e/etc/passwd' });
    expect(dots).toEqual({ status: 400, body: { error: 'path not allowed', code: 'bad-path' } });

    const refused = svc.logs.filter((l) => l.event === 'http.refused');
    expect(refused.map((l) => [l.status, l.code])).toEqual([
      [421, 'bad-host'],
      [403, 'bad-origin'],
      [400, 'bad-path'],
    ]);
  });

  it('an unknown path is 404 not-found, as JSON', async () => {
    svc = await startInProcess();
    const res = await fetch(`${svc.url}/no/such/thing`);
    expect(res.status).toBe(404);
    expect(HTTP_ERRORS['not-found']).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found', code: 'not-found' });
    const api = await fetch(`${svc.url}/api/nothing-here`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: 'not found', code: 'not-found' });
  });

  it('admin actions with an admin token configured: 401 admin-needed without it or with a wrong one, 200 with it', async () => {
    const token = 'a-long-admin-token-0123456789';
    svc = await startInProcess({ adminToken: token });
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: token }]) {
      const res = await fetch(`${svc.url}/api/config`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'admin token required (Authorization: Bearer …)', code: 'admin-needed' });
    }
    const ok = await fetch(`${svc.url}/api/config`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    const config = await ok.json();
    expect(config.adminToken).not.toBe(token);
    expect(JSON.stringify(config)).not.toContain(token);
    // a delete is refused the same way, before the store is asked
    const del = await fetch(`${svc.url}/api/captures/20260101-000000-abcdef`, { method: 'DELETE' });
    expect(del.status).toBe(401);
    expect((await del.json()).code).toBe('admin-needed');
  });

  it.skipIf(!networkAddress)('admin actions without a token configured: 403 admin-needed from the network, allowed from this device', async () => {
    svc = await startInProcess({ listen: '0.0.0.0' });
    const fromNetwork = await fetch(`http://${networkAddress}:${svc.port}/api/config`);
    expect(fromNetwork.status).toBe(403);
    expect(await fromNetwork.json()).toEqual({
      error: 'admin actions are allowed only from this device until an admin token is configured',
      code: 'admin-needed',
    });
    const del = await fetch(`http://${networkAddress}:${svc.port}/api/captures/20260101-000000-abcdef`, { method: 'DELETE' });
    expect(del.status).toBe(403);
    expect((await del.json()).code).toBe('admin-needed');
    // the same request from loopback is let through
    expect((await fetch(`${svc.url}/api/config`)).status).toBe(200);
  });

  it('a capture saves the frame the pipeline holds: 201, its report (frame, model, threshold, mask size), its files served back', async () => {
    svc = await startInProcess({}, { width: 64, height: 32, threshold: 0.6 });
    const mask = new Uint8Array(64 * 32);
    for (let x = 10; x < 50; x++) mask[16 * 64 + x] = 255; // one horizontal crack, 40 px long
    svc.pipeline.publish(await makeFrame(41, 64, 32, mask));
    const res = await fetch(`${svc.url}/api/captures`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lang: 'fr' }),
    });
    expect(res.status).toBe(201);
    const saved = await res.json();
    expect(saved.report).toMatchObject({
      id: saved.id,
      source: 'demo://',
      frameId: 41,
      savedBy: 'visitor',
      language: 'fr',
      protected: false,
      image: { width: 64, height: 32 },
      mask: { width: 64, height: 32, file: 'mask.png', meaning: 'crack probability x 255' },
      model: { name: 'fake', version: '0.0.1-test' },
      provider: 'cpu',
      threshold: 0.6,
      calibration: null,
    });
    expect(saved.report.cracks).toHaveLength(1);

    const list = await (await fetch(`${svc.url}/api/captures`)).json();
    expect(list.captures.map((c: { id: string }) => c.id)).toEqual([saved.id]);
    const png = await fetch(`${svc.url}/api/captures/${saved.id}/mask.png`);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    const { pngToMask } = await import('../server/http/captures-routes.js');
    const back = await pngToMask(Buffer.from(await png.arrayBuffer()));
    expect([back.width, back.height]).toEqual([64, 32]);
    expect(Buffer.from(back.mask).equals(Buffer.from(mask))).toBe(true);

    // the frame asked for by id that the pipeline no longer holds: 404 frame-gone
    const gone = await fetch(`${svc.url}/api/captures`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"frameId":3}' });
    expect(gone.status).toBe(404);
    expect((await gone.json()).code).toBe('frame-gone');
  });
});
