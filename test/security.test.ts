// Who may do what, against the real daemon: traversal paths, oversized and wrong-type bodies,
// security headers with the kiosk's CSP, foreign Host (DNS rebinding) and Origin (CSRF, WebSocket),
// and, listening on the network with an admin token, admin actions that need it.
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Daemon } from './helpers/daemon.js';
import { startFast, waitHealth, useFastDaemon } from './faults-util.js';

/** A raw request, so the path goes out exactly as written (no client-side normalisation). */
function raw(
  port: number,
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: rawPath,
        headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function wsStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.on('error', () => resolve(-1));
  });
}

describe('default daemon (loopback)', () => {
  let d: Daemon;
  useFastDaemon(['--source', 'test://ball'], (daemon) => (d = daemon));

  it('traversal paths are refused with 4xx and never reveal a file', async () => {
    const paths = [
      '/..%2f..%2fetc/passwd',
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%5c..%5cetc%5cpasswd',
      '/%252e%252e/etc/passwd',
      '/api/captures/..%2f..',
      '/api/captures/..%2f..%2f..%2fetc%2fpasswd/image.jpg',
      '/api/captures/../../package.json',
      '/api/captures/%2e%2e/report.json',
      '/api/captures/%ff/image.jpg',
      '/index.html%00.js',
      '/.git/config',
      '/assets/..%2f..%2fpackage.json',
    ];
    for (const p of paths) {
      const r = await raw(d.port, 'GET', p);
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.status, p).toBeLessThan(500);
      expect(r.body, p).not.toMatch(/root:|"name": "crackscope"|\[core\]/);
    }
    const del = await raw(d.port, 'DELETE', '/api/captures/..%2f..');
    expect(del.status).toBeGreaterThanOrEqual(400);
    expect(del.status).toBeLessThan(500);
  });

  it('bad API parameters: 400 naming the parameter; the service goes on', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: [string, string, string | undefined, RegExp][] = [
      ['GET', '/api/frames/abc/analysis', undefined, /frameId must be a non-negative integer/],
      ['GET', '/api/frames/99999999999/analysis', undefined, /frameId/],
      ['POST', '/api/captures', '{"frameId":-1}', /frameId/],
      ['POST', '/api/captures', '{"frameId":1.5}', /frameId/],
      ['POST', '/api/captures', '{"threshold":2}', /threshold must be a number between 0 and 1/],
      ['POST', '/api/captures', '{"threshold":"half"}', /threshold/],
      ['GET', '/api/calibration?source=' + 'x'.repeat(600), undefined, /source must be a source URI string/],
    ];
    for (const [method, p, body, message] of cases) {
      const r = await raw(d.port, method, p, body ? json : {}, body);
      expect(r.status, `${method} ${p} ${body}`).toBe(400);
      expect(JSON.parse(r.body).error, `${method} ${p} ${body}`).toMatch(message);
    }
    expect((await raw(d.port, 'GET', '/healthz')).status).toBe(200);
  });

  it('oversized bodies → 413; non-JSON bodies → 415', async () => {
    const big = Buffer.alloc(200 * 1024, 0x20);
    expect((await raw(d.port, 'POST', '/api/captures', { 'content-type': 'application/json' }, big)).status).toBe(413);
    expect((await raw(d.port, 'POST', '/api/captures', { 'content-type': 'application/octet-stream' }, big)).status).toBe(413);
    expect((await raw(d.port, 'PUT', '/api/calibration', { 'content-type': 'application/json' }, big)).status).toBe(413);
    // chunked, no length given: the JSON parser's own limit
    const chunked = await new Promise<number>((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: d.port,
          method: 'POST',
          path: '/api/captures',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', () => resolve(-1));
      for (let i = 0; i < 20; i++) req.write(Buffer.alloc(10 * 1024, 0x20));
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await raw(d.port, 'POST', '/api/captures', { 'content-type': 'text/plain' }, '{}')).status).toBe(415);
  });

  it('security headers, CSP included, on the kiosk page and the API', async () => {
    for (const p of ['/', '/healthz', '/api/captures', '/nope']) {
      const r = await raw(d.port, 'GET', p);
      const csp = String(r.headers['content-security-policy']);
      expect(csp, p).toContain("default-src 'self'");
      expect(csp, p).toContain("script-src 'self'");
      expect(csp, p).toContain("frame-ancestors 'none'");
      expect(csp, p).toContain("object-src 'none'");
      expect(r.headers['x-content-type-options'], p).toBe('nosniff');
      expect(r.headers['x-frame-options'], p).toBe('DENY');
      expect(r.headers['referrer-policy'], p).toBe('no-referrer');
      expect(r.headers['x-powered-by'], p).toBeUndefined();
      expect(r.headers['cross-origin-opener-policy'], p).toBe('same-origin');
      expect(r.headers['cross-origin-resource-policy'], p).toBe('same-origin');
      expect(r.headers['permissions-policy'], p).toBe('camera=(), microphone=(), geolocation=()');
      // the kiosk is served over plain HTTP on a LAN: nothing may push it to https
      expect(csp, p).not.toContain('upgrade-insecure-requests');
      expect(r.headers['strict-transport-security'], p).toBeUndefined();
      // frames arrive as blob: images over ws: to the page's own host
      expect(csp, p).toMatch(/img-src 'self' blob: data:/);
      expect(csp, p).toMatch(/connect-src 'self' ws: wss:/);
    }
    expect((await raw(d.port, 'GET', '/')).headers['content-type']).toMatch(/text\/html/);
  });

  it('a foreign Host (DNS rebinding) is refused on HTTP and WebSocket', async () => {
    const r = await raw(d.port, 'GET', '/healthz', { host: `evil.example:${d.port}` });
    expect(r.status).toBe(421);
    expect(await wsStatus(d.port, { host: `evil.example:${d.port}`, origin: `http://evil.example:${d.port}` })).toBe(421);
    expect((await raw(d.port, 'GET', '/healthz', { host: `localhost:${d.port}` })).status).toBe(200);
    expect((await raw(d.port, 'GET', '/healthz', { host: `${os.hostname()}:${d.port}` })).status).toBe(200);
  });

  it('cross-site state changes are refused (CSRF), same-origin ones pass', async () => {
    const evil = await raw(d.port, 'POST', '/api/captures', { origin: 'http://evil.example', 'content-type': 'application/json' }, '{}');
    expect(evil.status).toBe(403);
    const own = await raw(d.port, 'POST', '/api/captures', { origin: `http://127.0.0.1:${d.port}`, 'content-type': 'application/json' }, '{}');
    expect(own.status).toBe(201);
  });

  it('raw garbage on the TCP port does not hurt', async () => {
    await new Promise<void>((resolve) => {
      const s = net.connect(d.port, '127.0.0.1', () => {
        s.write(Buffer.from('\x16\x03\x01\x02\x00GARBAGE\r\n\r\n\x00\xff'));
        s.end();
      });
      s.resume();
      s.setTimeout(3000, () => s.destroy());
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    expect((await waitHealth(d, (h) => h.code === 200, 3000)).code).toBe(200);
  });
});

describe('listening on the network with an admin token', () => {
  const token = 'field-tablet-secret-0123456789';
  let d: Daemon;
  let id: string;
  beforeAll(async () => {
    d = await startFast(['--source', 'test://ball', '--listen', '0.0.0.0', '--admin-token', token]);
    await waitHealth(d, (h) => h.code === 200, 20_000);
    const r = await raw(d.port, 'POST', '/api/captures', { 'content-type': 'application/json' }, '{}');
    expect(r.status).toBe(201);
    id = JSON.parse(r.body).id;
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
  });

  it('viewers may watch and list; delete and settings need the token (401 without, 204 with)', async () => {
    expect((await raw(d.port, 'GET', '/api/captures')).status).toBe(200);
    expect((await raw(d.port, 'DELETE', `/api/captures/${id}`)).status).toBe(401);
    expect((await raw(d.port, 'DELETE', `/api/captures/${id}`, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await raw(d.port, 'DELETE', `/api/captures/${id}?token=${token}`)).status).toBe(401); // never in a URL
    expect((await raw(d.port, 'PUT', '/api/calibration', { 'content-type': 'application/json' }, JSON.stringify({ mmPerPx: 0.1 }))).status).toBe(401);
    expect((await raw(d.port, 'DELETE', '/api/calibration')).status).toBe(401);
    expect((await raw(d.port, 'DELETE', `/api/captures/${id}`, { authorization: `Bearer ${token}` })).status).toBe(204);
  });

  it('reading the config needs the token, and even then shows no secret', async () => {
    expect((await raw(d.port, 'GET', '/api/config')).status).toBe(401);
    const r = await raw(d.port, 'GET', '/api/config', { authorization: `Bearer ${token}` });
    expect(r.status).toBe(200);
    const config = JSON.parse(r.body);
    expect(config).toMatchObject({ listen: '0.0.0.0', source: 'test://ball', adminToken: '(set)' });
    expect(r.body).not.toContain(token);
  });

  it("a WebSocket from a foreign origin is refused; the page's own origin is accepted", async () => {
    expect(await wsStatus(d.port, { origin: 'http://evil.example' })).toBe(403);
    expect(await wsStatus(d.port, { origin: `http://127.0.0.1:${d.port}` })).toBe(101);
    expect(await wsStatus(d.port, {})).toBe(101);
  });

  it('reachable on a non-loopback address, and the token never appears in the journal', async () => {
    const ip = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (ip) {
      const r = await fetch(`http://${ip}:${d.port}/healthz`);
      expect(r.status).toBe(200);
    }
    const journal = d.logs.map((l) => JSON.stringify(l)).join('\n') + d.stderr();
    expect(journal).not.toContain(token);
    expect(journal).toContain('"adminToken":"(set)"');
  });
});
