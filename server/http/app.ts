// The HTTP side: the kiosk page, /healthz, /metrics and the /api routes, behind security headers.
import os from 'node:os';
import path from 'node:path';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import helmet from 'helmet';
import { displayUri } from '../config/source-uri.js';
import { requireAdmin } from './admin-auth.js';
import { admitRequests } from './admission.js';
import type { HttpErrorCode } from '../protocol/errors.js';
import { PROJECT_ROOT } from '../config/schema.js';
import type { FramePipeline } from '../pipeline/frame-pipeline.js';
import type { ServiceContext, ServiceStores } from '../service-context.js';
import type { FrameStream } from '../stream/ws-server.js';
import { capturesRouter, type CaptureRefusals } from './captures-routes.js';
import { kioskLanguagesRouter, loadKioskLanguages, type KioskLanguages } from './kiosk-languages.js';
import { surveysRouter } from './surveys-routes.js';
import { campaignsRouter } from './campaigns-routes.js';
import { redactConfig } from '../config/load.js';
import { createMetricsRegistry, type SourceCounters } from './metrics.js';

export const KIOSK_DIR = path.join(PROJECT_ROOT, 'kiosk', 'dist');
const MAX_BODY = '64kb';
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Requests that change state (capture saves, deletes, calibration), counted so that shutdown can
 * let the ones in flight finish before the process exits; refused with 503 once shutdown began.
 */
export class InflightWrites {
  private count = 0;
  private waiters: (() => void)[] = [];
  /** the responses of the writes in flight, so that shutdown can still answer them */
  private open = new Set<import('express').Response>();
  closing = false;

  get active() {
    return this.count;
  }

  readonly middleware: RequestHandler = (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    if (this.closing) {
      res.status(503).set('Connection', 'close').json({ error: 'the service is shutting down', code: 'stopping' });
      return;
    }
    this.count++;
    this.open.add(res);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.open.delete(res);
      if (--this.count === 0) for (const w of this.waiters.splice(0)) w();
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };

  /**
   * Shutdown cannot wait longer: answers every write still in flight with 503 (it may or may not
   * have been saved), so that no client is left with a closed connection. Returns how many.
   */
  answerUnfinished(): number {
    let n = 0;
    for (const res of this.open) {
      if (res.headersSent) continue;
      res.status(503).set('Connection', 'close').json({ error: 'the service stopped before this was finished: it may not have been saved', code: 'stopping' });
      n++;
    }
    return n;
  }

  /** Refuses new writes and waits (at most timeoutMs) for those in flight; true if all finished. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.closing = true;
    if (this.count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      new Promise<boolean>((r) => this.waiters.push(() => r(true))),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return finished;
  }
}

/**
 * Our header policy, through helmet: a strict CSP for the kiosk (WebSocket to itself, blob: images
 * for the frames, no framing), no referrer, same-origin opener and resources. No HSTS and no
 * upgrade-insecure-requests: the service speaks plain HTTP on a LAN or loopback (a TLS proxy in
 * front sets its own). helmet has no Permissions-Policy; that one header is set beside it.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      imgSrc: ["'self'", 'blob:', 'data:'],
      connectSrc: ["'self'", 'ws:', 'wss:'],
      styleSrc: ["'self'", "'unsafe-inline'"],
      scriptSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
  strictTransportSecurity: false,
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
});
const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=()';

export interface HttpAppOptions {
  /** the service's stores, built once by startService (service-context.ts: openServiceStores) */
  stores: ServiceStores;
  writes?: InflightWrites;
  /** the kiosk's languages, loaded (and checked) at start; loaded here when absent */
  kioskLanguages?: KioskLanguages;
}

export function createHttpApp(ctx: ServiceContext, pipeline: FramePipeline, stream: FrameStream, sourceStats: () => SourceCounters, opts: HttpAppOptions) {
  const { stores } = opts;
  const writes = opts.writes ?? new InflightWrites();
  const kioskLanguages = opts.kioskLanguages ?? loadKioskLanguages(ctx.config, ctx.log);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const machineName = os.hostname();
  app.use(securityHeaders, (_req, res, next) => {
    res.set('Permissions-Policy', PERMISSIONS_POLICY);
    next();
  });

  // Who and what may reach the routes at all (admission.ts: the same checks as WebSocket upgrades)
  app.use(admitRequests(ctx.config, ctx.log, { maxBodyBytes: MAX_BODY_BYTES, maxBody: MAX_BODY }, machineName));
  app.use(writes.middleware);

  // one capture store for the API, /healthz and /metrics (its quota state is shown by both)
  const { captures } = stores;
  const captureRefusals: CaptureRefusals = { rateLimited: 0 };

  app.get('/healthz', (_req, res) => {
    const s = pipeline.status();
    const q = captures.quota();
    // warnings do not change the status code: frames flow, but someone should look
    const warnings: string[] = [];
    if (q.full)
      warnings.push(
        `captures: protected (curator) captures fill the quota (${Math.round(q.protectedBytes / 1048576)} of ${Math.round(q.quotaBytes / 1048576)} MB); visitor saves are refused until a curator deletes some or captureQuotaMb is raised`,
      );
    const body = {
      status: s.state === 'live' ? 'ok' : s.state,
      source: displayUri(ctx.config.source),
      provider: ctx.inference.provider,
      providerLabel: ctx.inference.providerLabel,
      fallbacks: ctx.inference.fallbacks,
      fps: Math.round(s.fps * 10) / 10,
      model: `${ctx.manifest.name}@${ctx.manifest.version}`,
      framesProcessed: s.framesProcessed,
      framesDropped: s.framesDropped,
      badFrames: s.badFrames,
      lastFrameAgeMs: s.lastFrameAt ? Date.now() - s.lastFrameAt : null,
      clients: stream.clients.size,
      ...(s.reason ? { reason: s.reason } : {}),
      ...(warnings.length ? { warnings } : {}),
    };
    res
      .status(s.state === 'live' ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(body);
  });

  const metrics = createMetricsRegistry(ctx, pipeline, stream, sourceStats, { quota: () => captures.quota(), refusals: captureRefusals });
  app.get('/metrics', async (_req, res) => {
    res
      .type(metrics.contentType)
      .set('Cache-Control', 'no-store')
      .send(await metrics.metrics());
  });

  // the running config, secrets masked: for a technician, so behind the admin token
  app.get('/api/config', requireAdmin(ctx.config), (_req, res) => {
    res.set('Cache-Control', 'no-store').json(redactConfig(ctx.config));
  });
  // comparison models' agreement since start (what the kiosk shows per frame, summed up)
  app.get('/api/compare', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ live: { name: ctx.manifest.name, version: ctx.manifest.version }, models: ctx.comparer?.summary() ?? [] });
  });
  // the shadow model is never shown to viewers: its summary is for the technician (admin)
  app.get('/api/shadow', requireAdmin(ctx.config), (_req, res) => {
    const shadow = ctx.comparer?.shadow;
    if (!shadow) return void res.status(404).json({ error: 'no shadow model: start the service with --shadow NAME', code: 'no-shadow' });
    res.set('Cache-Control', 'no-store').json(shadow.summary());
  });
  app.use('/api', express.json({ limit: MAX_BODY }), capturesRouter(ctx, { captures, calibration: stores.calibration, refusals: captureRefusals }));
  app.use('/api', surveysRouter(ctx));
  app.use('/api', campaignsRouter(ctx, stores.campaigns));
  app.use('/api', kioskLanguagesRouter(kioskLanguages));
  app.use(express.static(KIOSK_DIR, { index: 'index.html', dotfiles: 'deny', fallthrough: true }));
  app.use((_req, res) => res.status(404).json({ error: 'not found', code: 'not-found' satisfies HttpErrorCode }));

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = err instanceof URIError ? 400 : typeof err.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
    if (status >= 500) ctx.log.error('http.error', { err: err.message });
    const message =
      err.type === 'entity.too.large'
        ? `request body larger than ${MAX_BODY}`
        : err.type === 'entity.parse.failed'
          ? 'request body is not valid JSON'
          : status >= 500
            ? 'internal error'
            : err.message;
    const code: HttpErrorCode =
      err.type === 'entity.too.large'
        ? 'too-large'
        : err.type === 'entity.parse.failed'
          ? 'bad-json'
          : status >= 500
            ? 'internal'
            : status === 404
              ? 'not-found'
              : 'bad-request';
    if (!res.headersSent) res.status(status).json({ error: message, code });
  };
  app.use(onError);
  return Object.assign(app, { writes, metricsRegistry: metrics });
}
