// Admin actions (delete captures, change settings, read config) need the admin token, sent as
// "Authorization: Bearer <token>" — never in a URL, never logged. Without a configured token, admin
// actions are allowed only from this device itself (loopback).
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Config } from '../config/schema.js';

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (!expected || !given) return false;
  const a = crypto.createHash('sha256').update(expected).digest();
  const b = crypto.createHash('sha256').update(given).digest();
  return crypto.timingSafeEqual(a, b);
}

export function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}

export function requireAdmin(config: Config): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (config.adminToken ? tokenMatches(config.adminToken, given) : isLoopback(req.socket.remoteAddress)) return next();
    res.status(config.adminToken ? 401 : 403).json({
      error: config.adminToken ? 'admin token required (Authorization: Bearer …)' : 'admin actions are allowed only from this device until an admin token is configured',
    });
  };
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
