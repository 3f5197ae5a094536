// Survey campaigns for the kiosk's gallery (issue 19), read-only, mounted at /api by app.ts:
//   GET /api/campaigns   {enabled, campaigns: [{name, model, base, counts, megapixels, throughputMpPerS, etaS}]}
// Read from the campaign Redis the service works for (`serve --worker-redis URL`, config key
// workerRedis) through the same status code as `crackscope campaign status`. Without one: enabled
// false and an empty list, and the kiosk shows nothing more. The connection is made on the first
// request (Redis may come up after the kiosk) and kept; an unreachable Redis is a 503 with one
// line (the URL's password never leaves the server) and a log line, retried on the next request.
// Answers are cached for two seconds: a gallery polling on many kiosks costs Redis one status a
// campaign every two seconds at most.
import express from 'express';
import type { Redis } from 'ioredis';
import type { ServiceContext } from '../service-context.js';
import type { CampaignList, CampaignSummary } from '../protocol/api-types.js';

const CACHE_MS = 2000;

export interface CampaignsRouter extends express.Router {
  /** closes the Redis connection (service shutdown) */
  close(): Promise<void>;
}

export function campaignsRouter(ctx: ServiceContext): CampaignsRouter {
  const url = ctx.config.workerRedis;
  const router = express.Router() as CampaignsRouter;
  let conn: Promise<{ redis: Redis; queue: import('bullmq').Queue<any> }> | null = null;
  let cached: { at: number; body: CampaignList } | null = null;
  let pending: Promise<CampaignList> | null = null;
  let closed = false;
  let lastError = '';

  const connect = () =>
    (conn ??= (async () => {
      const { connectRedis } = await import('../campaign/redis.js');
      const { openQueue } = await import('../campaign/store.js');
      const redis = await connectRedis(url, { name: 'crackscope-serve-kiosk', timeoutMs: 3000 });
      redis.on('error', () => undefined); // ioredis reconnects; a request meanwhile fails and says so
      return { redis, queue: openQueue(redis) };
    })().catch((err) => {
      conn = null;
      throw err;
    }));

  const load = async (): Promise<CampaignList> => {
    const { redis, queue } = await connect();
    const { CampaignStore } = await import('../campaign/store.js');
    const { campaignStatus } = await import('../campaign/status.js');
    const store = new CampaignStore(redis);
    const campaigns: CampaignSummary[] = [];
    for (const name of await store.names()) {
      const meta = await store.meta(name);
      if (!meta) continue;
      const s = await campaignStatus(store, queue, meta);
      campaigns.push({
        name: s.campaign,
        model: s.model,
        base: s.base,
        counts: s.counts,
        megapixels: { total: s.megapixels.total, done: s.megapixels.done },
        throughputMpPerS: s.throughput_mp_per_s,
        etaS: s.eta_s,
      });
    }
    return { enabled: true, campaigns };
  };

  router.get('/campaigns', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (!url) return void res.json({ enabled: false, campaigns: [] } satisfies CampaignList);
    if (cached && Date.now() - cached.at < CACHE_MS) return void res.json(cached.body);
    try {
      const body = await (pending ??= load().finally(() => {
        pending = null;
      }));
      cached = { at: Date.now(), body };
      if (lastError) {
        ctx.log.info('campaigns.redis.back', {});
        lastError = '';
      }
      res.json(body);
    } catch (err) {
      const why = String((err as Error).message ?? err).split('\n')[0];
      if (why !== lastError) ctx.log.error('campaigns.redis.unavailable', { reason: why });
      lastError = why;
      res.status(503).json({ error: why.replace(/^crackscope: /, ''), code: 'campaigns-unavailable' });
    }
  });

  router.close = async () => {
    if (closed) return;
    closed = true;
    const c = conn;
    conn = null;
    if (!c) return;
    try {
      const { redis, queue } = await c;
      await queue.close().catch(() => undefined);
      redis.disconnect();
    } catch {
      /* never connected */
    }
  };
  return router;
}
