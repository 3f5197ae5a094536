// Survey campaigns for the kiosk's gallery (issue 19), read-only, mounted at /api by app.ts:
//   GET /api/campaigns   {enabled, campaigns: [{name, model, base, counts, megapixels, throughputMpPerS, etaS}]}
// Read from the campaign Redis the service works for (`serve --worker-redis URL`, config key
// workerRedis) through the same status code as `crackscope campaign status`. Without one: enabled
// false and an empty list, and the kiosk shows nothing more. The store is the service's
// (campaign/lazy-store.ts, built in serve.ts): connected on the first request (Redis may come up
// after the kiosk) and kept; an unreachable Redis is a 503 with one
// line (the URL's password never leaves the server) and a log line, retried on the next request.
// Answers are cached for two seconds: a gallery polling on many kiosks costs Redis one status a
// campaign every two seconds at most.
import express from 'express';
import type { ServiceContext } from '../service-context.js';
import type { LazyCampaignStore } from '../campaign/lazy-store.js';
import type { CampaignList, CampaignSummary } from '../protocol/api-types.js';
import { oneLine } from '../log/one-line.js';

const CACHE_MS = 2000;

/** `campaigns`: the store the service built for its workerRedis (serve.ts), null without one. */
export function campaignsRouter(ctx: ServiceContext, campaigns: LazyCampaignStore | null): express.Router {
  const router = express.Router();
  let cached: { at: number; body: CampaignList } | null = null;
  let pending: Promise<CampaignList> | null = null;
  let lastError = '';

  const load = async (c: LazyCampaignStore): Promise<CampaignList> => {
    const { store, queue } = await c.connect();
    const { campaignStatus } = await import('../campaign/status.js');
    const list: CampaignSummary[] = [];
    for (const name of await store.names()) {
      const meta = await store.meta(name);
      if (!meta) continue;
      const s = await campaignStatus(store, queue, meta);
      list.push({
        name: s.campaign,
        model: s.model,
        base: s.base,
        counts: s.counts,
        megapixels: { total: s.megapixels.total, done: s.megapixels.done },
        throughputMpPerS: s.throughput_mp_per_s,
        etaS: s.eta_s,
      });
    }
    return { enabled: true, campaigns: list };
  };

  router.get('/campaigns', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (!campaigns) return void res.json({ enabled: false, campaigns: [] } satisfies CampaignList);
    if (cached && Date.now() - cached.at < CACHE_MS) return void res.json(cached.body);
    try {
      const body = await (pending ??= load(campaigns).finally(() => {
        pending = null;
      }));
      cached = { at: Date.now(), body };
      if (lastError) {
        ctx.log.info('campaigns.redis.back', {});
        lastError = '';
      }
      res.json(body);
    } catch (err) {
      const why = oneLine(err);
      if (why !== lastError) ctx.log.error('campaigns.redis.unavailable', { reason: why });
      lastError = why;
      res.status(503).json({ error: why.replace(/^crackscope: /, ''), code: 'campaigns-unavailable' });
    }
  });

  return router;
}
