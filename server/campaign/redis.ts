// The Redis connection of campaigns: a URL checked before use, and a server that must answer
// within a few seconds. A bad URL or an unreachable server is one line and exit 69
// (EX_UNAVAILABLE, printed by cli/main.ts); once a worker runs, a lost connection is retried for
// ever (ioredis reconnects; BullMQ carries on where it was when the server is back).
import { Redis, type RedisOptions } from 'ioredis';

import { RedisUnavailableError } from './errors.js';

export { RedisUnavailableError };

/** The URL without its password, for messages and logs. */
export function maskRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** redis://[user:password@]host[:port][/db] or rediss://… (TLS); anything else throws RedisUnavailableError. */
export function parseRedisUrl(url: string): { host: string; port: number; db: number; tls: boolean } {
  const bad = (why: string) =>
    new RedisUnavailableError(
      `crackscope: --redis ${JSON.stringify(maskRedisUrl(url))} is not a Redis URL (${why}); expected redis://[user:password@]host[:port][/db]`,
    );
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('cannot be parsed');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`scheme ${u.protocol.replace(/:$/, '')}`);
  if (!u.hostname) throw bad('no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) throw bad(`database ${JSON.stringify(dbText)} is not a number`);
  return { host: u.hostname, port, db: dbText === '' ? 0 : Number(dbText), tls: u.protocol === 'rediss:' };
}

/**
 * Connects and checks that the server answers (PING) within `timeoutMs`; throws
 * RedisUnavailableError with one line otherwise. The connection returned reconnects for ever,
 * as BullMQ's workers need (maxRetriesPerRequest: null).
 */
export async function connectRedis(url: string, opts: { timeoutMs?: number; name?: string } = {}): Promise<Redis> {
  parseRedisUrl(url);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const options: RedisOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: opts.name,
    retryStrategy: (times) => Math.min(200 * times, 3000),
  };
  const redis = new Redis(url, options);
  let lastError = '';
  redis.on('error', (err: Error) => {
    lastError = err.message;
  }); // reconnects; the last reason is kept for the message
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref());
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), timer]);
  } catch (err) {
    redis.disconnect();
    const why = lastError || (err as Error).message;
    throw new RedisUnavailableError(
      `crackscope: cannot reach Redis at ${maskRedisUrl(url)}: ${why === 'timeout' ? `no answer within ${timeoutMs / 1000} s` : why}`,
    );
  }
  return redis;
}
