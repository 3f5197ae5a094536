// systemd integration for `crackscope serve` under Type=notify (systemd/crackscope.service):
//   READY=1     once HTTP listens and the model is loaded (attachSystemd is called then), whether
//               or not a camera delivers: a missing or unplugged camera must not make systemd
//               kill and restart the service (and re-initialise CUDA/TensorRT) every TimeoutStartSec;
//   WATCHDOG=1  every WATCHDOG_USEC/2 while the process is healthy: the event loop runs (the ping
//               timer fires) and no model run has been in flight for longer than the watchdog
//               timeout (a hung inference worker). Camera loss does not stop the pings: the source
//               restarts its capture process itself, and the loss shows in STATUS= and /healthz;
//   STATUS=...  a line a person can read (`systemctl status crackscope`) on every state change;
//   STOPPING=1  from notifyStopping(), called by serve.ts on SIGTERM before it shuts down.
// Without NOTIFY_SOCKET (not under systemd) everything here is a no-op.
import type { PipelineStatus, ProcessedFrame, ServiceContext } from '../service-context.js';
import { DatagramSender } from './unix-dgram.js';

export interface SystemdHandle {
  /** Stops the watchdog timer and listeners and closes the socket (after notifyStopping). */
  stop(): void;
  /** Sends STOPPING=1 with a STATUS line. Same as the module-level notifyStopping(). */
  notifyStopping(reason?: string): void;
}

interface Notifier {
  send(fields: Record<string, string | number>): boolean;
  close(): void;
}

let active: Notifier | undefined;

/** Parses WATCHDOG_USEC (honouring WATCHDOG_PID as sd_watchdog_enabled does); 0 = no watchdog. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return 0;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return 0;
  return Math.max(1, Math.floor(usec / 2 / 1000));
}

/** STATUS= must be one line; systemctl shows it as is. */
const statusLine = (s: string) => s.replace(/[\r\n]+/g, ' ').slice(0, 400);

export function describeStatus(s: PipelineStatus, ctx: Pick<ServiceContext, 'inference' | 'manifest'>): string {
  const engine = `${ctx.inference.providerLabel || ctx.inference.provider}, model ${ctx.manifest.name} ${ctx.manifest.version}`.trim();
  switch (s.state) {
    case 'starting':
      return `ready, waiting for the first frame${s.reason && s.reason !== 'waiting for the first frame' ? `: ${s.reason}` : ''} (${engine})`;
    case 'live':
      return `live: ${s.fps.toFixed(1)} fps on ${engine}; ${s.framesProcessed} frames processed, ${s.framesDropped} dropped`;
    case 'source-down':
      return `source down: ${s.reason ?? 'no frames'}; retrying (the service stays up)`;
    case 'model-error':
      return `model error: ${s.reason ?? 'inference failed'}`;
    case 'stopping':
      return `stopping${s.reason ? `: ${s.reason}` : ''}`;
    default:
      return `${String(s.state)}${s.reason ? `: ${s.reason}` : ''}`;
  }
}

/** " — not tensorrt: <reason>; not cuda: <reason>" when earlier providers were passed over. */
function fellBack(ctx: Pick<ServiceContext, 'inference'>): string {
  const f = ctx.inference.fallbacks ?? [];
  return f.length ? ` — ${f.map((x) => `not ${x.provider}: ${x.reason}`).join('; ')}` : '';
}

function openNotifier(ctx: ServiceContext, socketPath: string): Notifier | undefined {
  let sender: DatagramSender;
  try {
    sender = new DatagramSender(socketPath);
  } catch (err) {
    ctx.log.warn('systemd.notify_unavailable', { socket: socketPath, err: (err as Error).message });
    return undefined;
  }
  let warned = false;
  return {
    send(fields) {
      const msg = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? statusLine(v) : v}`)
        .join('\n');
      try {
        sender.send(msg);
        ctx.log.debug('systemd.notify', { msg: msg.replace(/\n/g, ' | ') });
        return true;
      } catch (err) {
        if (!warned) ctx.log.warn('systemd.notify_failed', { socket: socketPath, err: (err as Error).message });
        warned = true;
        return false;
      }
    },
    close: () => sender.close(),
  };
}

/**
 * Attaches the daemon to systemd. Call once, after the pipeline exists and before frames flow.
 * Returns a handle whose stop() detaches; call notifyStopping() first on SIGTERM.
 */
export function attachSystemd(ctx: ServiceContext, env: NodeJS.ProcessEnv = process.env): SystemdHandle {
  const socketPath = env.NOTIFY_SOCKET;
  if (!socketPath) {
    return { stop() {}, notifyStopping() {} };
  }
  if (!socketPath.startsWith('/') && !socketPath.startsWith('@')) {
    ctx.log.warn('systemd.notify_unavailable', { socket: socketPath, err: 'only unix socket paths (/path or @abstract) are supported' });
    return { stop() {}, notifyStopping() {} };
  }
  const notifier = openNotifier(ctx, socketPath);
  if (!notifier) return { stop() {}, notifyStopping() {} };
  active = notifier;

  const intervalMs = watchdogIntervalMs(env);
  // as sd_notify(unset_environment=1): the capture processes we spawn must not inherit these
  if (env === process.env) {
    delete process.env.NOTIFY_SOCKET;
    delete process.env.WATCHDOG_USEC;
    delete process.env.WATCHDOG_PID;
  }
  let stopped = false;
  let firstFrame = false;
  let lastStatusKey = '';
  let lastStatusSentAt = 0;
  let pinging = true;
  // a model run in flight for longer than the watchdog timeout is a hung inference worker
  const hungAfterMs = Math.max(2 * intervalMs, 1000);

  const sendStatus = (s: PipelineStatus, force = false) => {
    const key = `${s.state}|${s.reason ?? ''}`;
    const now = Date.now();
    // state changes at once; while live, refresh the fps figures at most every 10 s
    if (!force && key === lastStatusKey && (s.state !== 'live' || now - lastStatusSentAt < 10_000)) return;
    lastStatusKey = key;
    lastStatusSentAt = now;
    notifier.send({ STATUS: describeStatus(s, ctx) });
  };

  const onFrame = (_frame: ProcessedFrame) => {
    if (firstFrame || stopped) return;
    firstFrame = true;
    const s = ctx.pipeline.status();
    lastStatusKey = `live|`;
    lastStatusSentAt = Date.now();
    notifier.send({
      STATUS: `live: first mask produced on ${ctx.inference.providerLabel || ctx.inference.provider} (model ${ctx.manifest.name} ${ctx.manifest.version}, source ${ctx.config.source})${fellBack(ctx)}`,
    });
    ctx.log.info('systemd.first_frame', { framesProcessed: s.framesProcessed });
  };

  const onStatus = (s: PipelineStatus) => {
    if (stopped) return;
    if (s.state === 'live' && !firstFrame) return; // the first-mask STATUS carries it
    sendStatus(s);
  };

  const tick = () => {
    if (stopped) return;
    const busy = ctx.pipeline.inferenceBusyMs?.() ?? 0;
    if (busy <= hungAfterMs) {
      notifier.send({ WATCHDOG: 1 });
      if (!pinging) ctx.log.info('systemd.watchdog_resumed', {});
      pinging = true;
      sendStatus(ctx.pipeline.status());
    } else if (pinging) {
      pinging = false;
      ctx.log.error('systemd.watchdog_paused', { inferenceBusyMs: busy, limitMs: hungAfterMs });
      notifier.send({
        STATUS: `hung: a model run has not returned for ${(busy / 1000).toFixed(1)} s; watchdog pings paused, systemd will restart the service`,
      });
      lastStatusKey = 'hung|';
    }
  };

  const timer = intervalMs ? setInterval(tick, intervalMs) : undefined;
  timer?.unref();
  ctx.pipeline.on('frame', onFrame);
  ctx.pipeline.on('status', onStatus);
  // HTTP listens and the model is loaded: ready, camera or not
  const first = ctx.pipeline.status();
  lastStatusKey = `${first.state}|${first.reason ?? ''}`;
  lastStatusSentAt = Date.now();
  notifier.send({
    READY: 1,
    MAINPID: process.pid,
    STATUS: `${describeStatus(first, ctx)}${fellBack(ctx)}`,
  });
  ctx.log.info('systemd.ready', { socket: socketPath, watchdogMs: intervalMs * 2 || undefined, state: first.state });
  if (intervalMs) tick();

  const notifyStoppingHere = (reason = 'SIGTERM') => {
    if (stopped) return;
    notifier.send({ STOPPING: 1, STATUS: `stopping: ${reason}` });
  };

  return {
    notifyStopping: notifyStoppingHere,
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      ctx.pipeline.off('frame', onFrame);
      ctx.pipeline.off('status', onStatus);
      notifier.close();
      if (active === notifier) active = undefined;
    },
  };
}

/**
 * Tells systemd the service is stopping (STOPPING=1). Safe to call when not under systemd or
 * before attachSystemd(); serve.ts calls it first thing in its SIGTERM/SIGINT handler.
 */
export function notifyStopping(reason = 'SIGTERM'): void {
  active?.send({ STOPPING: 1, STATUS: `stopping: ${reason}` });
}
