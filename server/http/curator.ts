// Curator mode and the visitor save limit (issue 22).
//
// A request is a *curator's* when it carries the admin token (Authorization: Bearer …) or the
// operator PIN (X-Operator-PIN: …), each only if configured. Loopback alone is not enough: the
// gallery kiosk itself runs on this device, and its visitors must not count as curators.
// Wrong PINs are counted per client address: after PIN_FAILURES_MAX within PIN_WINDOW_MS that
// address is refused (429) until the window has passed, so four to twelve digits cannot be guessed.
//
// Visitor saves are limited per kiosk (client address) with a token bucket: `captureVisitorBurst`
// saves in a row, then one per `captureVisitorIntervalS` seconds. 0 s = no limit.
import type { Request } from 'express';
import type { Config } from '../config/schema.js';
import { tokenMatches } from './admin-auth.js';
import { isLoopback } from './admission.js';
import type { HttpErrorCode } from '../protocol/errors.js';

export const PIN_HEADER = 'x-operator-pin';
const PIN_FAILURES_MAX = 5;
const PIN_WINDOW_MS = 5 * 60_000;

export type CuratorCheck =
  | { curator: true; via: 'admin-token' | 'operator-pin' | 'this-device' }
  | { curator: false; problem?: { status: 401 | 429; code: HttpErrorCode; message: string; retryAfterS?: number } };

export class CuratorAuth {
  private failures = new Map<string, number[]>();
  constructor(private readonly config: Pick<Config, 'adminToken' | 'operatorPin'>) {}

  /** Whether curator mode can be entered at all on this device. */
  get available(): boolean {
    return !!(this.config.adminToken || this.config.operatorPin);
  }

  /**
   * Who sent `req`. Credentials that are present but wrong are a problem (401, or 429 after too many
   * wrong PINs); no credentials at all is simply a visitor. With `deviceIsCurator`, a request from
   * this device counts as a curator's while no token and no PIN are configured (deletes keep
   * working as before on an unconfigured device).
   */
  check(req: Request, deviceIsCurator = false): CuratorCheck {
    const addr = req.socket.remoteAddress ?? '';
    const header = req.get('authorization') ?? '';
    const bearer = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    const pin = req.get(PIN_HEADER);
    if (bearer !== undefined && this.config.adminToken) {
      if (tokenMatches(this.config.adminToken, bearer)) return { curator: true, via: 'admin-token' };
      return { curator: false, problem: { status: 401, code: 'bad-token', message: 'the admin token is not right' } };
    }
    if (pin !== undefined && pin !== '') {
      const now = Date.now();
      const recent = (this.failures.get(addr) ?? []).filter((t) => now - t < PIN_WINDOW_MS);
      if (recent.length >= PIN_FAILURES_MAX) {
        const retryAfterS = Math.ceil((recent[0] + PIN_WINDOW_MS - now) / 1000);
        return { curator: false, problem: { status: 429, code: 'pin-locked', message: `too many wrong PINs: try again in ${retryAfterS} s`, retryAfterS } };
      }
      if (this.config.operatorPin && tokenMatches(this.config.operatorPin, pin)) {
        this.failures.delete(addr);
        return { curator: true, via: 'operator-pin' };
      }
      recent.push(now);
      this.failures.set(addr, recent);
      const message = this.config.operatorPin ? 'the PIN is not right' : 'no operator PIN is configured on this device (operatorPin)';
      return { curator: false, problem: { status: 401, code: 'bad-pin', message } };
    }
    if (deviceIsCurator && !this.available && isLoopback(addr)) return { curator: true, via: 'this-device' };
    return { curator: false };
  }
}

/** Visitor saves per kiosk: a burst, then one per interval (token bucket). */
export class VisitorSaveLimit {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly intervalS: number,
    private readonly burst: number,
  ) {}

  /** 0 if a save may go ahead now (and takes its token), else the seconds to wait. */
  take(key: string, now = Date.now()): number {
    if (this.intervalS <= 0) return 0;
    if (this.buckets.size > 1000) this.buckets.clear(); // bounded: a LAN has a handful of kiosks
    const ms = this.intervalS * 1000;
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) / ms);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) * this.intervalS));
  }

  /** Gives a token back (the save failed for another reason: it should not count). */
  refund(key: string): void {
    const b = this.buckets.get(key);
    if (b) b.tokens = Math.min(this.burst, b.tokens + 1);
  }
}
