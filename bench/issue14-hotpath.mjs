// Per-frame cost of what issue 14 changed on the frame loop, in isolation (the full bench is
// noisy on a shared 2-core machine): recording the 7 stage timings of one frame, hand-written
// LatencyStats (an older build's dist, given as argv[2]) vs prom-client's Histogram; a log call
// below the level and one that is written (to a null sink); one /metrics render.
// Usage: node bench/issue14-hotpath.mjs <OLD_DIST_DIR>   (after npm run build)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const oldDist = path.resolve(process.argv[2] ?? '.before/dist');
const imp = (dist, f) => import(pathToFileURL(path.join(dist, f)).href);
const STAGES = ['capture', 'preprocess', 'inference', 'postprocess', 'encode', 'send', 'total'];

function time(label, n, fn) {
  for (let i = 0; i < Math.min(n, 20000); i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label.padEnd(58)} ${ns.toFixed(0).padStart(7)} ns`);
  return ns;
}

const N = 200_000;
const old = await imp(oldDist, 'server/pipeline/stage-stats.js');
const oldStats = old.createStageStats();
time('old: LatencyStats.record x7 (one frame)', N, (i) => {
  for (const s of STAGES) oldStats[s].record((i % 97) * 0.7);
});
const neu = await imp('dist', 'server/pipeline/stage-stats.js');
const lat = new neu.StageLatency();
time('new: prom-client Histogram observe x7 (one frame)', N, (i) => {
  for (const s of STAGES) lat.record(s, (i % 97) * 0.7);
});

const oldLog = (await imp(oldDist, 'server/log/logger.js')).createLogger('info', { service: 'x' }, () => undefined);
const newLog = (await imp('dist', 'server/log/logger.js')).createLogger('info', { service: 'x' }, () => undefined);
time('old: log.debug below the level', N, (i) => oldLog.debug('systemd.notify', { msg: 'WATCHDOG=1', i }));
time('new: log.debug below the level (pino)', N, (i) => newLog.debug('systemd.notify', { msg: 'WATCHDOG=1', i }));
time('old: log.info written', N / 4, (i) => oldLog.info('ws.connect', { remote: '127.0.0.1', clients: i }));
time('new: log.info written (pino)', N / 4, (i) => newLog.info('ws.connect', { remote: '127.0.0.1', clients: i }));

// one scrape of /metrics with the same state behind it
const ctx = { inference: { provider: 'cpu', providerLabel: 'CPU' }, manifest: { name: 'm', version: '1' } };
const status = () => ({ framesProcessed: 1000, framesDropped: 3, badFrames: 0, fps: 14.9, state: 'live' });
const stream = { clients: new Set([1, 2]), counters: { framesSent: 9, framesSkipped: 1, clientsDropped: 0, messagesRejected: 0 } };
const src = () => ({ framesRead: 1003, restarts: 0 });
const oldRender = (await imp(oldDist, 'server/http/metrics.js')).renderMetrics;
const oldPipe = { status, counters: { inferenceErrors: 0 }, stats: oldStats };
time('old: /metrics render (hand-written text)', 2000, () => oldRender(ctx, oldPipe, stream, src));
const reg = (await imp('dist', 'server/http/metrics.js')).createMetricsRegistry(
  ctx,
  { status, counters: { inferenceErrors: 0 }, stageLatency: lat },
  stream,
  src,
);
let _pending = 0; // a sink, so the render is not optimised away
const t0 = performance.now();
for (let i = 0; i < 2000; i++) _pending += (await reg.metrics()).length;
console.log(`${'new: /metrics render (prom-client, + default metrics)'.padEnd(58)} ${(((performance.now() - t0) * 1e6) / 2000).toFixed(0).padStart(7)} ns`);
process.exit(0);
