// The campaign store of a Redis that may come up after the service (`serve --worker-redis URL`):
// connected on first use, connected again on the next use after a failure, and kept once
// connected. The daemon builds one (server/cli/serve.ts) and the kiosk's campaign list reads
// through it (http/campaigns-routes.ts). ioredis and BullMQ are loaded on the first connection,
// so a service without campaigns never loads them.
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import type { CampaignStore, JobData } from './store.js';

export interface CampaignConnection {
  store: CampaignStore;
  queue: Queue<JobData>;
}

export class LazyCampaignStore {
  private conn: Promise<CampaignConnection & { redis: Redis }> | null = null;
  private closed = false;

  /** `name`: the Redis client name (CLIENT LIST shows it); `timeoutMs`: how long one connection attempt may take. */
  constructor(
    readonly url: string,
    private readonly opts: { name: string; timeoutMs?: number },
  ) {}

  /** The store and queue; rejects with one line (RedisUnavailableError) when Redis does not answer. */
  connect(): Promise<CampaignConnection> {
    if (this.closed) return Promise.reject(new Error('the campaign store is closed'));
    return (this.conn ??= (async () => {
      const { connectRedis } = await import('./redis.js');
      const { CampaignStore, openQueue } = await import('./store.js');
      const redis = await connectRedis(this.url, { name: this.opts.name, timeoutMs: this.opts.timeoutMs ?? 3000 });
      redis.on('error', () => undefined); // ioredis reconnects; a request meanwhile fails and says so
      return { redis, store: new CampaignStore(redis), queue: openQueue(redis) };
    })().catch((err) => {
      this.conn = null;
      throw err;
    }));
  }

  /** Closes the queue and the connection (service shutdown); later connects are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const c = this.conn;
    this.conn = null;
    if (!c) return;
    try {
      const { redis, queue } = await c;
      await queue.close().catch(() => undefined);
      redis.disconnect();
    } catch {
      /* never connected */
    }
  }
}
