// Request admission, as pure functions (server/http/admission.ts, admin-auth.ts): the admin token comparison,
// which Host names the service answers to (DNS rebinding), and which Origins may change state or
// open the WebSocket. The daemon-level checks are in security.test.ts; these ask every branch.
import { describe, expect, it } from 'vitest';
import { requireAdmin, tokenMatches } from '../server/http/admin-auth.js';
import { hostAllowed, isLoopback, originAllowed } from '../server/http/admission.js';
import type { Config } from '../server/config/schema.js';

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
