// Who and what may reach the service at all, in one place for HTTP requests (the middleware in
// app.ts) and WebSocket upgrades (serve.ts hands admitUpgrade's answer to the stream): a known
// Host (no DNS rebinding), a clean path, a bounded body, and for anything that changes state or
// opens a socket from a browser, our own origin (no cross-site requests).
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import type { RequestHandler } from 'express';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Refusal } from '../protocol/errors.js';

export function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}

/**
 * Hosts this service answers to. A page on a foreign site can point its own name at 127.0.0.1 (DNS
 * rebinding) and then talk to us as "same origin"; refusing Host names we do not know stops that.
 * Allowed: IP literals, localhost, this machine's hostname (and .local), and the hosts of
 * allowedOrigins.
 */
export function hostAllowed(hostHeader: string | undefined, config: Pick<Config, 'allowedOrigins'>, machineName: string): boolean {
  if (!hostHeader) return true; // HTTP/1.0 clients send none; they are not browsers
  let host: string;
  try {
    host = new URL(`http://${hostHeader}`).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return true;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const me = machineName.toLowerCase();
  if (host === me || host === `${me}.local`) return true;
  return config.allowedOrigins.some((o) => {
    try {
      return new URL(o).hostname.toLowerCase() === host;
    } catch {
      return false;
    }
  });
}

/** Browser requests that change state must come from the page's own origin (or a configured one). */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined, config: Pick<Config, 'allowedOrigins'>): boolean {
  if (!origin) return true; // not a browser, or a same-origin GET
  if (hostHeader && (origin === `http://${hostHeader}` || origin === `https://${hostHeader}`)) return true;
  return config.allowedOrigins.includes(origin);
}

/** The raw path, decoded once: a '..' or '.' segment, a backslash or a NUL anywhere is refused. */
export function pathIsSafe(rawUrl: string): boolean {
  const rawPath = rawUrl.split('?')[0];
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return false;
  }
  if (/[\\\0]/.test(decoded)) return false;
  // twice-encoded dots or slashes (%252e, %252f) are refused too: nothing here needs them
  if (/%2e|%2f|%5c/i.test(decoded)) return false;
  return !decoded.split('/').some((seg) => seg === '..' || seg === '.');
}

const BAD_HOST: Refusal = { status: 421, code: 'bad-host', error: 'unknown Host header' };
const BAD_ORIGIN: Refusal = { status: 403, code: 'bad-origin', error: 'cross-site request refused' };

/** A WebSocket upgrade: a known Host, and a browser's Origin ours or a configured one (non-browser clients send none). */
export function admitUpgrade(req: IncomingMessage, config: Pick<Config, 'allowedOrigins'>, machineName = os.hostname()): Refusal | null {
  if (!hostAllowed(req.headers.host, config, machineName)) return BAD_HOST;
  if (!originAllowed(req.headers.origin, req.headers.host, config)) return BAD_ORIGIN;
  return null;
}

/** The HTTP middleware: every request passes here before any route. Refusals close the connection. */
export function admitRequests(
  config: Pick<Config, 'allowedOrigins'>,
  log: Logger,
  limits: { maxBodyBytes: number; maxBody: string },
  machineName = os.hostname(),
): RequestHandler {
  return (req, res, next) => {
    const refuse = ({ status, code, error }: Refusal) => {
      log.warn('http.refused', { status, code, method: req.method, path: req.originalUrl.slice(0, 200) });
      res.status(status).set('Connection', 'close').json({ error, code });
    };
    if (!hostAllowed(req.headers.host, config, machineName)) return refuse(BAD_HOST);
    if (!pathIsSafe(req.originalUrl)) return refuse({ status: 400, code: 'bad-path', error: 'path not allowed' });
    const length = Number(req.headers['content-length'] ?? 0);
    if (!Number.isFinite(length) || length > limits.maxBodyBytes)
      return refuse({ status: 413, code: 'too-large', error: `request body larger than ${limits.maxBody}` });
    const safe = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
    if (!safe && !originAllowed(req.headers.origin, req.headers.host, config)) return refuse(BAD_ORIGIN);
    const hasBody = length > 0 || req.headers['transfer-encoding'] !== undefined;
    if (!safe && hasBody && !req.is('application/json')) return refuse({ status: 415, code: 'bad-type', error: 'request bodies must be application/json' });
    next();
  };
}
