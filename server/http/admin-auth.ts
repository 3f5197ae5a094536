// Admin actions (delete captures, change settings, read config) need the admin token, sent as
// "Authorization: Bearer <token>" — never in a URL, never logged. Without a configured token, admin
// actions are allowed only from this device itself (loopback). Who may reach the service at all
// (Host, Origin, path) is admission.ts.
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Config } from '../config/schema.js';
import { isLoopback } from './admission.js';
import type { HttpErrorCode } from '../protocol/errors.js';

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (!expected || !given) return false;
  const a = crypto.createHash('sha256').update(expected).digest();
  const b = crypto.createHash('sha256').update(given).digest();
  return crypto.timingSafeEqual(a, b);
}

export function requireAdmin(config: Config): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (config.adminToken ? tokenMatches(config.adminToken, given) : isLoopback(req.socket.remoteAddress)) return next();
    res.status(config.adminToken ? 401 : 403).json({
      error: config.adminToken
        ? 'admin token required (Authorization: Bearer …)'
        : 'admin actions are allowed only from this device until an admin token is configured',
      code: 'admin-needed' satisfies HttpErrorCode,
    });
  };
}
