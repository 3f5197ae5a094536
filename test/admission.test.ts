// Request admission, as pure functions (server/http/admission.ts, admin-auth.ts): the admin token comparison,
// which Host names the service answers to (DNS rebinding), and which Origins may change state or
// open the WebSocket. The daemon-level checks are in security.test.ts; these ask every branch.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { requireAdmin, tokenMatches } from '../server/http/admin-auth.js';
import type { IncomingMessage } from 'node:http';
import { admitRequests, admitUpgrade, hostAllowed, isLoopback, originAllowed, pathIsSafe } from '../server/http/admission.js';
import type { Config } from '../server/config/schema.js';
import type { Logger } from '../server/log/logger.js';

describe('tokenMatches', () => {
  const token = 'field-tablet-secret-0123456789';
  it('only the exact token matches; nothing matches an unset token', () => {
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(token, token + 'x')).toBe(false);
    expect(tokenMatches(token, token.slice(0, -1))).toBe(false);
    expect(tokenMatches(token, token.toUpperCase())).toBe(false);
    expect(tokenMatches(token, undefined)).toBe(false);
    expect(tokenMatches(token, '')).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
    expect(tokenMatches('', 'anything')).toBe(false);
  });
});

describe('isLoopback', () => {
  it('IPv4 127/8, ::1 and IPv4-mapped 127/8 are this device; nothing else is', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['192.0.2.2', '10.0.0.1', '::ffff:10.0.0.1', 'fd00::2', '::', '0.0.0.0', '128.0.0.1', '', undefined])
      expect(isLoopback(a), String(a)).toBe(false);
  });
});

describe('requireAdmin', () => {
  const run = (adminToken: string | undefined, remoteAddress: string, authorization?: string) => {
    let status = 0,
      body: any = null,
      passed = false;
    const res = { status: (s: number) => ((status = s), res), json: (b: unknown) => ((body = b), res) } as any;
    const req = { get: (h: string) => (h.toLowerCase() === 'authorization' ? authorization : undefined), socket: { remoteAddress } } as any;
    requireAdmin({ adminToken } as unknown as Config)(req, res, () => (passed = true));
    return passed ? 'next' : { status, error: body?.error as string };
  };
  const token = 'field-tablet-secret-0123456789';
  it('with a token: the Bearer token from anywhere, nothing else, not even from loopback', () => {
    expect(run(token, '192.0.2.2', `Bearer ${token}`)).toBe('next');
    expect(run(token, '127.0.0.1', `Bearer ${token}`)).toBe('next');
    expect(run(token, '127.0.0.1')).toEqual({ status: 401, error: 'admin token required (Authorization: Bearer …)' });
    expect(run(token, '192.0.2.2', `bearer ${token}`)).toMatchObject({ status: 401 });
    expect(run(token, '192.0.2.2', token)).toMatchObject({ status: 401 });
    expect(run(token, '192.0.2.2', `Bearer ${token} `)).toMatchObject({ status: 401 });
    expect(run(token, '192.0.2.2', 'Bearer wrong-token-wrong-token')).toMatchObject({ status: 401 });
  });
  it('without a token: only from this device (403 from the network)', () => {
    expect(run(undefined, '::1')).toBe('next');
    expect(run(undefined, '192.0.2.2')).toEqual({ status: 403, error: 'admin actions are allowed only from this device until an admin token is configured' });
  });
});

describe('hostAllowed', () => {
  const cfg = { allowedOrigins: ['https://kiosk.example:8443', 'not a url'] };
  const ok = (host: string | undefined) => hostAllowed(host, cfg, 'Gallery-Pi');
  it('IP literals, localhost, this machine by name (and .local), and the hosts of allowedOrigins', () => {
    for (const h of [
      undefined,
      '127.0.0.1',
      '127.0.0.1:8080',
      '192.0.2.2:8080',
      '10.20.30.40',
      '172.16.254.100:8080',
      '[::1]:8080',
      '[fd00::2]',
      'localhost',
      'localhost:8080',
      'app.localhost',
      'gallery-pi',
      'GALLERY-PI:8080',
      'gallery-pi.local',
      'kiosk.example',
      'KIOSK.example:8080',
    ])
      expect(ok(h), String(h)).toBe(true);
  });
  it('any other name is refused (DNS rebinding), as are malformed Host headers', () => {
    for (const h of [
      'evil.example',
      'evil.example:8080',
      'localhost.evil.example',
      'gallery-pi.evil',
      'evil-gallery-pi',
      'gallery-pi.local.evil',
      'kiosk.example.evil',
      '999.1.1.1.1',
      'a b',
      'host/x',
      '1.2.3.4.evil.example',
    ])
      expect(ok(h), h).toBe(false);
  });
});

describe('originAllowed', () => {
  const cfg = { allowedOrigins: ['http://kiosk.example:8080'] };
  it("no Origin (not a browser), the page's own origin, or a listed one", () => {
    expect(originAllowed(undefined, '127.0.0.1:8080', cfg)).toBe(true);
    expect(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080', cfg)).toBe(true);
    expect(originAllowed('https://127.0.0.1:8080', '127.0.0.1:8080', cfg)).toBe(true);
    expect(originAllowed('http://kiosk.example:8080', '127.0.0.1:8080', cfg)).toBe(true);
    expect(originAllowed('http://kiosk.example:8080', undefined, cfg)).toBe(true);
  });
  it('anything else is refused', () => {
    expect(originAllowed('http://127.0.0.1:8081', '127.0.0.1:8080', cfg)).toBe(false);
    expect(originAllowed('ws://127.0.0.1:8080', '127.0.0.1:8080', cfg)).toBe(false);
    expect(originAllowed('http://kiosk.example', '127.0.0.1:8080', cfg)).toBe(false);
    expect(originAllowed('http://evil.example', undefined, cfg)).toBe(false);
    expect(originAllowed('null', '127.0.0.1:8080', cfg)).toBe(false);
    expect(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080', { allowedOrigins: [] })).toBe(true);
    expect(originAllowed('http://kiosk.example:8080', '127.0.0.1:8080', { allowedOrigins: [] })).toBe(false);
  });
});

describe('pathIsSafe', () => {
  it("refuses '..' and '.' segments, backslashes and NULs, raw or encoded once", () => {
    for (const u of ['/..', '/a/../b', '/a/%2e%2e/b', '/a/.', '/./a', '/a/%2E/b', '/a\\b', '/a%5cb', '/a%00b', '/a\0b', '/..?x=1'])
      expect(pathIsSafe(u), u).toBe(false);
  });
  it('refuses dots, slashes and backslashes encoded twice, and broken percent-encoding', () => {
    for (const u of ['/a/%252e%252e/b', '/a%252fb', '/a%255cb', '/a%252Eb', '/a%2', '/a%zz', '/%E0%A4%A']) expect(pathIsSafe(u), u).toBe(false);
  });
  it('lets ordinary paths through, whatever the query says', () => {
    for (const u of ['/', '/healthz', '/api/captures/2026-12-07.png', '/a/..b/c.', '/a%20b', '/x?path=../../etc&y=%zz', '/x?a=\\'])
      expect(pathIsSafe(u), u).toBe(true);
  });
});

describe('admitUpgrade', () => {
  const cfg = { allowedOrigins: ['http://kiosk.example:8080'] };
  const upgrade = (headers: Record<string, string>) => admitUpgrade({ headers } as unknown as IncomingMessage, cfg, 'gallery-pi');
  it('a foreign Host is 421 bad-host, a foreign Origin 403 bad-origin; otherwise admitted', () => {
    expect(upgrade({ host: 'evil.example' })).toEqual({ status: 421, code: 'bad-host', error: 'unknown Host header' });
    expect(upgrade({ host: 'evil.example', origin: 'http://evil.example' })).toMatchObject({ code: 'bad-host' });
    expect(upgrade({ host: '127.0.0.1:8080', origin: 'http://evil.example' })).toEqual({
      status: 403,
      code: 'bad-origin',
      error: 'cross-site request refused',
    });
    expect(upgrade({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' })).toBeNull();
    expect(upgrade({ host: 'gallery-pi:8080', origin: 'http://kiosk.example:8080' })).toBeNull();
    expect(upgrade({ host: '127.0.0.1:8080' })).toBeNull();
    expect(upgrade({})).toBeNull();
  });
  it("uses this machine's hostname when none is given", () => {
    const req = { headers: { host: `${os.hostname()}:8080` } } as unknown as IncomingMessage;
    expect(admitUpgrade(req, cfg)).toBeNull();
  });
});

describe('admitRequests', () => {
  const cfg = { allowedOrigins: ['http://kiosk.example:8080'] };
  const limits = { maxBodyBytes: 1000, maxBody: '1kb' };
  /** The middleware on a stand-in request: what it answered (or 'next'), and what it logged. */
  const admit = (opts: { method?: string; url?: string; headers?: Record<string, string>; machineName?: string }) => {
    const logged: [string, Record<string, unknown> | undefined][] = [];
    const log = { warn: (event: string, fields?: Record<string, unknown>) => logged.push([event, fields]) } as unknown as Logger;
    const headers: Record<string, string> = { host: '127.0.0.1:8080', ...opts.headers };
    const contentType = headers['content-type']?.split(';')[0].trim();
    const req = { method: opts.method ?? 'GET', originalUrl: opts.url ?? '/', headers, is: (t: string) => (contentType === t ? t : false) } as any;
    const sent: { status?: number; headers: Record<string, string>; body?: unknown } = { headers: {} };
    const res = {
      status: (s: number) => ((sent.status = s), res),
      set: (k: string, v: string) => ((sent.headers[k] = v), res),
      json: (b: unknown) => ((sent.body = b), res),
    } as any;
    let nextCalls = 0;
    const mw = opts.machineName === undefined ? admitRequests(cfg, log, limits) : admitRequests(cfg, log, limits, opts.machineName);
    mw(req, res, () => nextCalls++);
    return { nextCalls, answered: sent.status === undefined ? undefined : sent, logged };
  };
  const refused = (status: number, code: string, error: string) => ({ status, headers: { Connection: 'close' }, body: { error, code } });

  it('admits an ordinary GET once, answering and logging nothing', () => {
    expect(admit({ url: '/healthz' })).toEqual({ nextCalls: 1, answered: undefined, logged: [] });
    expect(admit({ url: '/', headers: { host: `${os.hostname()}:8080` } }).nextCalls).toBe(1);
  });
  it('a foreign Host: 421 bad-host, the connection closed, and an http.refused line', () => {
    const r = admit({ method: 'POST', url: '/api/x?y=1', headers: { host: 'evil.example' }, machineName: 'gallery-pi' });
    expect(r.nextCalls).toBe(0);
    expect(r.answered).toEqual(refused(421, 'bad-host', 'unknown Host header'));
    expect(r.logged).toEqual([['http.refused', { status: 421, code: 'bad-host', method: 'POST', path: '/api/x?y=1' }]]);
  });
  it("a '..' path: 400 bad-path; the logged path is cut at 200 characters", () => {
    const url = '/../' + 'a'.repeat(300);
    const r = admit({ url });
    expect(r.nextCalls).toBe(0);
    expect(r.answered).toEqual(refused(400, 'bad-path', 'path not allowed'));
    expect(r.logged).toEqual([['http.refused', { status: 400, code: 'bad-path', method: 'GET', path: url.slice(0, 200) }]]);
    expect((r.logged[0][1]!.path as string).length).toBe(200);
  });
  it('a body of exactly maxBodyBytes is admitted; one byte more, or a length that is not a number, is 413', () => {
    const json = { 'content-type': 'application/json' };
    expect(admit({ method: 'POST', headers: { ...json, 'content-length': '1000' } }).nextCalls).toBe(1);
    for (const len of ['1001', 'abc', 'Infinity']) {
      const r = admit({ method: 'POST', headers: { ...json, 'content-length': len } });
      expect(r.nextCalls, len).toBe(0);
      expect(r.answered, len).toEqual(refused(413, 'too-large', 'request body larger than 1kb'));
      expect(r.logged[0][1], len).toMatchObject({ status: 413, code: 'too-large' });
    }
  });
  it('a cross-site Origin is refused for POST but not for GET, HEAD or OPTIONS', () => {
    const origin = { origin: 'http://evil.example' };
    for (const method of ['GET', 'HEAD', 'OPTIONS']) expect(admit({ method, headers: origin }).nextCalls, method).toBe(1);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = admit({ method, headers: origin });
      expect(r.nextCalls, method).toBe(0);
      expect(r.answered, method).toEqual(refused(403, 'bad-origin', 'cross-site request refused'));
    }
    expect(admit({ method: 'POST', headers: { origin: 'http://127.0.0.1:8080' } }).nextCalls).toBe(1);
  });
  it('a state-changing body must be JSON; a chunked body counts as a body; no body needs no type', () => {
    expect(admit({ method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '10' } }).nextCalls).toBe(1);
    expect(admit({ method: 'POST' }).nextCalls).toBe(1);
    expect(admit({ method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': '0' } }).nextCalls).toBe(1);
    for (const headers of [
      { 'content-type': 'text/plain', 'content-length': '10' },
      { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
      { 'content-length': '1' },
    ] as Record<string, string>[]) {
      const r = admit({ method: 'POST', headers });
      expect(r.nextCalls, JSON.stringify(headers)).toBe(0);
      expect(r.answered).toEqual(refused(415, 'bad-type', 'request bodies must be application/json'));
    }
    expect(admit({ method: 'GET', headers: { 'content-type': 'text/plain', 'content-length': '10' } }).nextCalls).toBe(1);
  });
});
