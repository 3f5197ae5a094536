// The captures, calibration and measurement API, mounted at /api by app.ts.
//   POST   /api/captures {frameId?, threshold?}        save a recent frame: image.jpg, mask.png, thumb.jpg, report.json
//   GET    /api/captures                                list, newest first
//   GET    /api/captures/:id/(image.jpg|mask.png|thumb.jpg|report.json)[?download=1]
//   GET    /api/captures/:id/analysis[?threshold=]      measure a saved capture with the current calibration
//   DELETE /api/captures/:id                            admin; a protected (curator's) capture: a curator only
//   POST   /api/curator                                 checks curator credentials (admin token or X-Operator-PIN)
//   GET    /api/calibration[?source=]                   this source's px→mm calibration (null if none)
//   PUT    /api/calibration {source?, mmPerPx | points+distanceMm, mask?}   admin
//   DELETE /api/calibration[?source=]                   admin
//   GET    /api/frames/:frameId/analysis[?threshold=]   measure a recent live frame (kiosk freeze)
import express from 'express';
import sharp from 'sharp';
import { z } from 'zod';
import type { ServiceContext, ProcessedFrame } from '../service-context.js';
import { requireAdmin } from './admin-auth.js';
import { displayUri } from '../config/source-uri.js';
import {
  type CaptureStore,
  CaptureNotFoundError,
  CaptureProtectedError,
  QuotaFullError,
  isCaptureId,
  isCaptureFile,
  newCaptureId,
} from '../storage/captures.js';
import { CuratorAuth, VisitorSaveLimit, type CuratorCheck } from './curator.js';
import { isLoopback } from './admission.js';
import { type CalibrationStore, CalibrationError, parseCalibrationInput } from '../storage/calibration.js';
import { DiskFullError } from '../storage/atomic.js';
import { analyze } from '../storage/analyzer.js';
import { identityOptions } from '../analysis/crack-measure.js';
import type { HttpErrorCode } from '../protocol/errors.js';

const CONTENT_TYPES: Record<string, string> = {
  'image.jpg': 'image/jpeg',
  'thumb.jpg': 'image/jpeg',
  'mask.png': 'image/png',
  'report.json': 'application/json; charset=utf-8',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: HttpErrorCode = 'bad-request',
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

/** Refusals of the capture API, by reason: read by /metrics. */
export interface CaptureRefusals {
  rateLimited: number;
}

// Query and body fields of this API; absent or '' = the default. Query values arrive as text.
const ThresholdSchema = z
  .union([
    z.number(),
    z
      .string()
      .trim()
      .regex(/^[\d.eE+-]+$/)
      .transform(Number),
  ])
  .pipe(z.number().gt(0).lt(1));
const FrameIdSchema = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d{1,10}$/)
      .transform(Number),
  ])
  .pipe(z.int().min(0).max(0xffffffff));
const SourceSchema = z.string().max(512);
const LanguageSchema = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/);

function param<T>(schema: z.ZodType<T>, raw: unknown, fallback: T, problem: string): T {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, problem, 'bad-request');
  return parsed.data;
}
const parseThreshold = (raw: unknown, fallback: number) => param(ThresholdSchema, raw, fallback, 'threshold must be a number between 0 and 1');
const parseFrameId = (raw: unknown) => param<number | undefined>(FrameIdSchema, raw, undefined, 'frameId must be a non-negative integer');
const sourceParam = (raw: unknown, fallback: string) => param(SourceSchema, raw, fallback, 'source must be a source URI string');

/** Mask (uint8, one channel) → PNG; PNG → mask. */
export async function maskToPng(mask: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength), { raw: { width, height, channels: 1 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
export async function pngToMask(png: Buffer): Promise<{ mask: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { mask: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

export interface CapturesRouterOptions {
  /** the service's stores (serve.ts builds them once; /healthz and /metrics read the same capture store) */
  captures: CaptureStore;
  calibration: CalibrationStore;
  /** counters this router keeps, for /metrics */
  refusals?: CaptureRefusals;
}

export function capturesRouter(ctx: ServiceContext, opts: CapturesRouterOptions): express.Router {
  const log = ctx.log.child({ module: 'captures' });
  // reports and calibration keys name the source without camera credentials (rtsp://user:pass@…)
  const shownSource = displayUri(ctx.config.source);
  const store = opts.captures;
  const calibration = opts.calibration;
  const ready = store.init().catch((err) => log.error('capture.init_failed', { dir: store.dir, err: (err as Error).message }));
  const admin = requireAdmin(ctx.config);
  const curatorAuth = new CuratorAuth(ctx.config);
  const visitorLimit = new VisitorSaveLimit(ctx.config.captureVisitorIntervalS, ctx.config.captureVisitorBurst);
  const refusals = opts.refusals ?? { rateLimited: 0 };
  const who = (req: express.Request, deviceIsCurator = false): CuratorCheck & { curator: boolean } => {
    const c = curatorAuth.check(req, deviceIsCurator);
    if (!c.curator && c.problem) throw new HttpError(c.problem.status, c.problem.message, c.problem.code, c.problem.retryAfterS);
    return c;
  };
  const defaultThreshold = ctx.manifest.threshold;
  const identity = identityOptions(ctx.config); // crack identity (config keys crack*)
  const r = express.Router();
  const json = express.json({ limit: '16kb' });

  const mmPerPxFor = async (source: string) => (await calibration.get(source))?.mmPerPx ?? null;

  // Frames a kiosk has measured stay reachable here after the pipeline's ring has moved on, so a
  // frozen frame can be re-measured (threshold, calibration) and saved minutes later.
  const pinned = new Map<number, ProcessedFrame>();
  const pin = (f: ProcessedFrame) => {
    pinned.delete(f.frameId);
    pinned.set(f.frameId, f);
    while (pinned.size > 8) pinned.delete(pinned.keys().next().value as number);
  };
  function frameOr404(frameId: number | undefined): ProcessedFrame {
    const f = (frameId !== undefined ? pinned.get(frameId) : undefined) ?? ctx.pipeline.recent(frameId);
    if (!f) {
      if (frameId === undefined) throw new HttpError(409, 'no frame has been processed yet', 'no-frame');
      throw new HttpError(404, `frame ${frameId} is no longer held in memory; capture a newer frame`, 'frame-gone');
    }
    return f;
  }

  r.post('/captures', json, async (req, res) => {
    await ready;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object', 'bad-request');
    const curator = who(req).curator;
    const frame = frameOr404(parseFrameId(body.frameId));
    const threshold = parseThreshold(body.threshold, defaultThreshold);
    const language = param<string | null>(LanguageSchema, body.lang, null, 'lang must be a language code such as en, fr or pt-BR');
    // visitors: a few saves in a row, then one per interval, per kiosk (its address)
    const kiosk = req.socket.remoteAddress ?? '';
    if (!curator) {
      const wait = visitorLimit.take(kiosk);
      if (wait > 0) {
        refusals.rateLimited++;
        throw new HttpError(429, `saved a moment ago: the next picture can be saved in ${wait} s`, 'too-soon', wait);
      }
    }
    try {
      res.status(201).json(await saveFrame(frame, threshold, curator, language));
    } catch (err) {
      if (!curator) visitorLimit.refund(kiosk); // a save that did not happen does not count
      throw err;
    }
  });

  async function saveFrame(frame: ProcessedFrame, threshold: number, curator: boolean, language: string | null) {
    const source = shownSource;
    const mmPerPx = await mmPerPxFor(source);
    const id = newCaptureId();
    const [maskPng, thumb] = await Promise.all([
      maskToPng(frame.mask, frame.width, frame.height),
      sharp(frame.jpeg).resize({ width: 320, height: 320, fit: 'inside' }).jpeg({ quality: 75 }).toBuffer(),
    ]);
    const meta = await sharp(frame.jpeg).metadata();
    const a = analyze(frame.mask, frame.width, frame.height, threshold, mmPerPx, identity);
    const report = {
      id,
      createdAt: new Date().toISOString(),
      source,
      frameId: frame.frameId,
      capturedAt: new Date(frame.capturedAt).toISOString(),
      savedBy: curator ? 'curator' : 'visitor',
      // the kiosk's language when it was saved: how the people who made it read the numbers
      ...(language ? { language } : {}),
      protected: curator,
      image: { width: meta.width, height: meta.height },
      mask: { width: frame.width, height: frame.height, file: 'mask.png', meaning: 'crack probability x 255' },
      model: { name: ctx.manifest.name, version: ctx.manifest.version },
      provider: ctx.inference.provider,
      providerLabel: ctx.inference.providerLabel,
      threshold,
      calibration: mmPerPx ? { mmPerPx, unit: 'mm per mask pixel' } : null,
      analysis: { ...a.report, cracks: undefined },
      cracks: a.report.cracks,
      timings: frame.timings,
    };
    const saved = await store.save(
      { 'image.jpg': frame.jpeg, 'mask.png': maskPng, 'thumb.jpg': thumb, 'report.json': JSON.stringify(report, null, 2) + '\n' },
      id,
      curator ? 'curator' : 'visitor',
    );
    return { ...saved, report };
  }

  // curator mode: the kiosk checks a PIN (or the admin token) before it offers protected saves
  r.post('/curator', (req, res) => {
    const c = who(req);
    if (c.curator) return void res.json({ curator: true, via: c.via });
    if (!curatorAuth.available)
      throw new HttpError(409, 'curator mode is not set up on this device: set operatorPin (or adminToken) in the config', 'no-curator-secret');
    throw new HttpError(401, 'an operator PIN or the admin token is needed', 'pin-needed');
  });
  r.get('/captures', async (_req, res) => {
    await ready;
    res.json({ captures: await store.list() });
  });

  r.get('/captures/:id/analysis', async (req, res) => {
    const id = req.params.id;
    if (!isCaptureId(id)) throw new HttpError(404, 'no such capture', 'not-found');
    const report = JSON.parse((await store.read(id, 'report.json')).toString('utf8'));
    const { mask, width, height } = await pngToMask(await store.read(id, 'mask.png'));
    const source = typeof report.source === 'string' ? report.source : shownSource;
    const threshold = parseThreshold(req.query.threshold, typeof report.threshold === 'number' ? report.threshold : defaultThreshold);
    res.json({ captureId: id, source, ...analyze(mask, width, height, threshold, await mmPerPxFor(source), identity) });
  });

  r.get('/captures/:id/:file', async (req, res) => {
    const { id, file } = req.params;
    if (!isCaptureId(id) || !isCaptureFile(file)) throw new HttpError(404, 'no such capture file', 'not-found');
    const p = await store.filePath(id, file);
    res.setHeader('Content-Type', CONTENT_TYPES[file]);
    res.setHeader('Cache-Control', 'private, max-age=3600, immutable');
    if (req.query.download) res.attachment(`crackscope-${id}-${file}`);
    res.sendFile(p);
  });

  // Deleting: a curator may delete any capture; otherwise the admin rule (loopback while no token
  // is configured) applies, and to visitors' captures only.
  r.delete('/captures/:id', async (req, res) => {
    const c = who(req, true);
    if (!c.curator) {
      if (ctx.config.adminToken) throw new HttpError(401, 'admin token required (Authorization: Bearer …)', 'admin-needed');
      if (!isLoopback(req.socket.remoteAddress))
        throw new HttpError(403, 'admin actions are allowed only from this device until an admin token is configured', 'admin-needed');
    }
    await store.remove(req.params.id as string, c.curator);
    res.status(204).end();
  });

  r.get('/calibration', async (req, res) => {
    const source = sourceParam(req.query.source, shownSource);
    res.json({ source, calibration: await calibration.get(source) });
  });

  r.put('/calibration', admin, json, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const source = sourceParam(body.source, shownSource);
    const cal = await calibration.set(source, parseCalibrationInput(body));
    res.json({ source, calibration: cal });
  });

  r.delete('/calibration', admin, async (req, res) => {
    const source = sourceParam(req.query.source, shownSource);
    await calibration.remove(source);
    res.status(204).end();
  });

  r.get('/frames/:frameId/analysis', async (req, res) => {
    const frame = frameOr404(parseFrameId(req.params.frameId));
    pin(frame);
    const threshold = parseThreshold(req.query.threshold, defaultThreshold);
    const source = shownSource;
    res.json({ frameId: frame.frameId, source, ...analyze(frame.mask, frame.width, frame.height, threshold, await mmPerPxFor(source), identity) });
  });

  // Errors of this router as JSON the kiosk can show.
  r.use(((err, _req, res, _next) => {
    let status = 500;
    let code: HttpErrorCode = 'internal';
    let message = 'internal error';
    if (err instanceof HttpError) ({ status, code, message } = err);
    else if (err instanceof CaptureNotFoundError) [status, code, message] = [404, 'not-found', err.message];
    else if (err instanceof CalibrationError) [status, code, message] = [400, err.code, err.message];
    else if (err instanceof DiskFullError) [status, code, message] = [507, err.code, err.message];
    else if (err instanceof QuotaFullError) [status, code, message] = [507, err.code, err.message];
    else if (err instanceof CaptureProtectedError) [status, code, message] = [403, err.code, err.message];
    else if (err?.type === 'entity.too.large') [status, code, message] = [413, 'too-large', 'request body too large'];
    else if (err?.type === 'entity.parse.failed') [status, code, message] = [400, 'bad-json', 'request body is not valid JSON'];
    else log.error('api.error', { err: (err as Error)?.message });
    if (res.headersSent) return;
    const retryAfterS = err instanceof HttpError ? err.retryAfterS : undefined;
    if (retryAfterS) res.set('Retry-After', String(retryAfterS));
    res.status(status).json({ error: message, code, ...(retryAfterS ? { retryAfterS } : {}) });
  }) as express.ErrorRequestHandler);

  return r;
}
