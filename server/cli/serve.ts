// `crackscope serve`: config → model → source → pipeline → HTTP + WebSocket, until SIGTERM.
import http from 'node:http';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { AUTO_SOURCE, detectSource } from '../camera/auto-source.js';
import { openSource } from '../camera/open-source.js';
import { redactConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { resolveModel } from '../inference/manifest.js';
import { createCrackSession } from '../inference/session.js';
import { createLogger } from '../log/logger.js';
import { FramePipeline } from '../pipeline/frame-pipeline.js';
import { openServiceStores, type ServiceContext } from '../service-context.js';
import { FrameStream } from '../stream/ws-server.js';
import { admitUpgrade } from '../http/admission.js';
import { createHttpApp } from '../http/app.js';
import { loadKioskLanguages } from '../http/kiosk-languages.js';
import { attachSystemd, notifyStopping } from '../systemd/index.js';
import { tensorrtResolver } from '../inference/providers.js';
import { loadExtraModels, threadsPerModel } from '../inference/model-set.js';
import { thresholdByte } from '../inference/agreement.js';
import { FrameComparer } from '../pipeline/compare.js';

/** The whole daemon, started; tests and bench use it in-process too. */
export async function startService(config: Config) {
  const log = createLogger(config.quiet ? 'warn' : config.logLevel, { service: 'crackscope' });
  if (config.source === AUTO_SOURCE) {
    const hasArgus = spawnSync('gst-inspect-1.0', ['nvarguscamerasrc'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
    const choice = detectSource('/', { hasArgus });
    log.info('source.auto', { source: choice.uri, why: choice.why });
    config = { ...config, source: choice.uri };
  }
  log.info('service.start', { config: redactConfig(config), pid: process.pid, node: process.version });
  fs.mkdirSync(config.dataDir, { recursive: true });
  const kioskLanguages = loadKioskLanguages(config, log); // a bad kioskLanguages / kioskDefaultLanguage stops here (78)
  const model = resolveModel(config.modelsDir, config.model);
  const makeSession = () =>
    createCrackSession({
      model,
      providers: config.providers,
      threads: threadsPerModel(config),
      log: log.child({ component: 'inference' }),
      resolveTensorrt: tensorrtResolver(config),
    });
  const session = await makeSession();
  const { height, width } = model.manifest.input;
  const extra = await loadExtraModels(config, model, log.child({ component: 'inference' }), session.provider).catch(async (err) => {
    await session.release().catch(() => undefined);
    throw err;
  });
  const comparer =
    extra.compare.length || extra.shadow
      ? await FrameComparer.create({
          compare: extra.compare,
          shadow: extra.shadow,
          live: { name: model.manifest.name, version: model.manifest.version, thresholdByte: thresholdByte(model.manifest.threshold) },
          shadowRate: config.shadowRate,
          shadowKeep: config.shadowKeep,
          dataDir: config.dataDir,
          width,
          height,
          log: log.child({ component: 'compare' }),
        })
      : undefined;
  const source = openSource(config.source, { width, height, fps: config.fps }, { log, stallMs: config.sourceStallMs });
  const pipeline = new FramePipeline({
    source,
    session,
    recreateSession: makeSession,
    width,
    height,
    jpegQuality: config.jpegQuality,
    maskEncoding: config.maskEncoding,
    sourceStallMs: config.sourceStallMs,
    log: log.child({ component: 'pipeline' }),
    comparer,
  });
  const ctx: ServiceContext = {
    config,
    log,
    manifest: model.manifest,
    inference: { provider: session.provider, providerLabel: session.providerLabel, fallbacks: session.fallbacks },
    pipeline,
    comparer,
  };
  // one of each store, for the routes, /healthz, /metrics and shutdown
  const stores = openServiceStores(config, log);
  const stream = new FrameStream(ctx, pipeline);
  const app = createHttpApp(ctx, pipeline, stream, () => source.stats(), { stores, kioskLanguages });
  const server = http.createServer(app);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // connections accepted whose first request has not been read yet: shutdown reads (and answers)
  // those before it closes them, so a request that reached the service always gets an answer
  const unread = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    unread.add(socket);
    socket.once('close', () => unread.delete(socket));
  });
  server.on('request', (req) => unread.delete(req.socket as import('node:net').Socket));
  server.on('upgrade', (req) => unread.delete(req.socket as import('node:net').Socket));
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname === '/ws') stream.handleUpgrade(req, socket, head, admitUpgrade(req, config));
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.listen, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  log.info('http.listening', { url: `http://${config.listen.includes(':') ? `[${config.listen}]` : config.listen}:${port}/`, port });
  const systemd = attachSystemd(ctx);
  pipeline.start();
  const campaignWorker = config.workerRedis ? await startBackgroundWorker(config, log, stream, app.metricsRegistry) : null;

  // Shutdown, within config.stopTimeoutS of the signal (systemd's TimeoutStopSec is above it): refuse
  // new writes (503) and read the requests already sent, stop accepting (HTTP and WebSocket); then,
  // all at once, let the capture writes in flight finish (until 1 s before the deadline: a save
  // under load is seconds of measurement on this thread), close viewers with 1001, stop the
  // campaign worker, and stop the capture process and release the models. None of these needs
  // another, so none waits for another: the stop takes as long as the slowest, not their sum.
  // How long each part took (ms) goes in the service.stopped line, and the parts still running in
  // service.stop_timeout's: a slow stop in the journal says where its time went.
  const phases: Record<string, number> = {};
  const running = new Set<string>();
  const timed = async (name: string, work: () => Promise<unknown> | unknown): Promise<void> => {
    const started = Date.now();
    running.add(name);
    try {
      await work();
    } finally {
      running.delete(name);
      phases[name] = Date.now() - started;
    }
  };
  let stopping: Promise<void> | null = null;
  const stop = (reason: string) =>
    (stopping ??= (async () => {
      const t0 = Date.now();
      const writesBy = t0 + config.stopTimeoutS * 1000 - 1000;
      log.info('service.stopping', { reason, timeout_s: config.stopTimeoutS });
      notifyStopping(reason);
      // new writes get 503 from here; requests already sent are read and answered (at most 0.5 s)
      // before the listener closes: connections waiting to be accepted would be reset by close()
      app.writes.closing = true;
      await timed('read', async () => {
        const readBy = Date.now() + 500;
        do await new Promise((r) => setTimeout(r, 20));
        while (unread.size > 0 && Date.now() < readBy);
      });
      server.close();
      const inflight = app.writes.active;
      await Promise.all([
        timed('writes', async () => {
          const waited = Math.max(0, writesBy - Date.now());
          if (!(await app.writes.drain(waited)))
            log.error('service.writes_unfinished', { active: app.writes.active, waited_ms: waited, answered_503: app.writes.answerUnfinished() });
        }),
        timed('viewers', () => stream.close()),
        timed('campaign', async () => {
          await campaignWorker?.close(); // a survey in progress stops; its job is taken up again after its lock expires
          await stores.campaigns?.close();
        }),
        timed('pipeline', () => pipeline.stop()).then(() =>
          // the models, once no frame is in them (the pipeline may have replaced the first session
          // after inference errors); a capture save in flight has its mask already
          timed('models', () => Promise.all([pipeline.currentSession.release().catch(() => undefined), comparer?.stop(), extra.release()])),
        ),
      ]);
      systemd.stop();
      server.closeAllConnections();
      log.info('service.stopped', { ms: Date.now() - t0, phases_ms: phases, writes_finished: inflight - app.writes.active });
    })());
  return {
    ctx,
    pipeline,
    stream,
    server,
    port,
    stop,
    stopProgress: () => ({ phases_ms: { ...phases }, running: [...running] }),
    answerUnfinished: () => app.writes.answerUnfinished(),
  };
}

/**
 * `serve --worker-redis URL`: a campaign worker beside the live view, one survey at a time, its
 * model session at nice 10 (below the live model, as shadow models run), waiting before each tile
 * while a viewer has used the kiosk in the last workerIdleS seconds (the kiosk pings on touches).
 * Redis unreachable at start: the service runs on and says so in the log (a kiosk is not stopped
 * for a campaign).
 */
async function startBackgroundWorker(
  config: Config,
  log: ReturnType<typeof createLogger>,
  stream: FrameStream,
  registry: import('prom-client').Registry | undefined,
) {
  const { connectRedis } = await import('../campaign/redis.js');
  const { startCampaignWorker } = await import('../campaign/worker.js');
  const wlog = log.child({ component: 'campaign-worker' });
  let redis;
  try {
    redis = await connectRedis(config.workerRedis, { name: 'crackscope-serve-worker' });
  } catch (err) {
    wlog.error('campaign.worker.unavailable', { reason: (err as Error).message });
    return null;
  }
  redis.on('error', () => undefined);
  const idleMs = config.workerIdleS * 1000;
  const busy = () => stream.lastActivityAt > 0 && Date.now() - stream.lastActivityAt < idleMs;
  let metrics: { paused: { set(v: number): void } } | null = null;
  let pausedLogged = false;
  const gate = async () => {
    while (busy()) {
      if (!pausedLogged) {
        pausedLogged = true;
        metrics?.paused.set(1);
        wlog.info('campaign.worker.paused', { reason: 'a visitor is using the kiosk', idle_s: config.workerIdleS });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (pausedLogged) {
      pausedLogged = false;
      metrics?.paused.set(0);
      wlog.info('campaign.worker.resumed', {});
    }
  };
  const w = await startCampaignWorker({
    redis,
    config,
    log: wlog,
    concurrency: 1,
    nice: 10,
    gate,
    registry,
    id: `serve@${(await import('node:os')).hostname()}:${process.pid}`,
  });
  metrics = w.metrics;
  return {
    close: async () => {
      await w.close(true).catch(() => undefined);
      redis.disconnect();
    },
  };
}

/** Runs the daemon until SIGTERM/SIGINT; the exit code. */
export async function serve(config: Config): Promise<number> {
  const service = await startService(config);
  return new Promise<number>((resolve) => {
    const onSignal = (sig: string) => {
      // an exit within stopTimeoutS, even if something hangs, before systemd's TimeoutStopSec kills us
      const afterMs = config.stopTimeoutS * 1000;
      setTimeout(() => {
        // no capture request is left without an answer, even now
        service.ctx.log.error('service.stop_timeout', { after_ms: afterMs, ...service.stopProgress(), answered_503: service.answerUnfinished() });
        process.exit(1);
      }, afterMs).unref();
      void service.stop(sig).then(() => {
        resolve(0);
        // whatever still holds the event loop (a worker winding down) must not keep us past systemd's patience
        setTimeout(() => process.exit(0), 500).unref();
      });
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
}
