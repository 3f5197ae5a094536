// The HTTP side: the kiosk page, /healthz, /metrics and the /api routes, behind security headers.
import path from 'node:path';
import express, { type ErrorRequestHandler } from 'express';
import { PROJECT_ROOT } from '../config/schema.js';
import type { FramePipeline } from '../pipeline/frame-pipeline.js';
import type { ServiceContext } from '../service-context.js';
import type { FrameStream } from '../stream/ws-server.js';
import { capturesRouter } from './captures-routes.js';
import { renderMetrics } from './metrics.js';

export const KIOSK_DIR = path.join(PROJECT_ROOT, 'kiosk', 'dist');
const MAX_BODY = '64kb';

const CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self' ws: wss:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function createHttpApp(ctx: ServiceContext, pipeline: FramePipeline, stream: FrameStream, sourceStats: () => Record<string, unknown>) {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((_req, res, next) => {
    res.set({
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    const s = pipeline.status();
    const body = {
      status: s.state === 'live' ? 'ok' : s.state,
      source: ctx.config.source,
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
    };
    res.status(s.state === 'live' ? 200 : 503).set('Cache-Control', 'no-store').json(body);
  });

  app.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4').set('Cache-Control', 'no-store').send(renderMetrics(ctx, pipeline, stream, sourceStats));
  });

  app.use('/api', express.json({ limit: MAX_BODY }), capturesRouter(ctx));
  app.use(express.static(KIOSK_DIR, { index: 'index.html', dotfiles: 'deny', fallthrough: true }));
  app.use((_req, res) => res.status(404).json({ error: 'not found' }));

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = typeof err.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
    if (status >= 500) ctx.log.error('http.error', { err: err.message });
    const message = err.type === 'entity.too.large' ? `request body larger than ${MAX_BODY}` : err.type === 'entity.parse.failed' ? 'request body is not valid JSON' : status >= 500 ? 'internal error' : err.message;
    if (!res.headersSent) res.status(status).json({ error: message });
  };
  app.use(onError);
  return app;
}
