// GET /metrics: a prom-client registry per service. The pipeline's stage-latency histogram is
// observed on the frame loop (pipeline/stage-stats.ts); the counters and gauges here read, at
// scrape time, the counters the pipeline, the stream and the source keep anyway (/healthz and
// the status messages show the same numbers), so nothing is counted twice on the hot path.
// Node's own process metrics (event-loop lag, GC, heap, handles, CPU) come from prom-client's
// default collectors, unprefixed (process_*, nodejs_*), as dashboards expect them.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { FramePipeline } from '../pipeline/frame-pipeline.js';
import type { ServiceContext } from '../service-context.js';
import type { FrameStream } from '../stream/ws-server.js';
import type { QuotaState } from '../storage/captures.js';

export interface SourceCounters {
  framesRead: number;
  restarts: number;
}

export interface CaptureCounters {
  quota: () => QuotaState;
  refusals: { rateLimited: number };
}

export function createMetricsRegistry(
  ctx: ServiceContext,
  pipeline: FramePipeline,
  stream: FrameStream,
  sourceStats: () => SourceCounters,
  captures?: CaptureCounters,
): Registry {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  /** A counter whose value another module keeps: read at scrape time. */
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });

  counter('crackscope_frames_processed_total', 'Frames that went through the model.', () => pipeline.status().framesProcessed);
  counter(
    'crackscope_frames_dropped_total',
    'Frames the source delivered that were replaced by a newer one before the model was free.',
    () => pipeline.status().framesDropped,
  );
  counter('crackscope_frames_read_total', 'Frames read from the capture process.', () => sourceStats().framesRead);
  counter('crackscope_bad_frames_total', 'Short or corrupt frames discarded.', () => pipeline.status().badFrames);
  counter('crackscope_source_restarts_total', 'Capture process restarts.', () => sourceStats().restarts);
  counter('crackscope_inference_errors_total', 'Failed model runs.', () => pipeline.counters.inferenceErrors);
  gauge('crackscope_fps', 'Processed frames per second over the last 3 s.', () => Math.round(pipeline.status().fps * 100) / 100);
  gauge('crackscope_up', '1 while frames flow.', () => (pipeline.status().state === 'live' ? 1 : 0));
  new Gauge({
    name: 'crackscope_provider_info',
    help: 'The execution provider that runs the model.',
    labelNames: ['provider', 'label', 'model', 'version'] as const,
    registers,
  }).set({ provider: ctx.inference.provider, label: ctx.inference.providerLabel, model: ctx.manifest.name, version: ctx.manifest.version }, 1);
  gauge('crackscope_clients', 'Connected WebSocket viewers.', () => stream.clients.size);
  counter('crackscope_ws_frames_sent_total', 'Frame messages sent to viewers.', () => stream.counters.framesSent);
  counter('crackscope_ws_frames_skipped_total', 'Frame messages skipped for slow viewers.', () => stream.counters.framesSkipped);
  counter('crackscope_ws_clients_dropped_total', 'Viewers dropped for not reading.', () => stream.counters.clientsDropped);
  counter('crackscope_ws_messages_rejected_total', 'Invalid or rate-limited client messages.', () => stream.counters.messagesRejected);
  registry.registerMetric(pipeline.stageLatency.histogram);
  if (captures) {
    const { quota, refusals } = captures;
    new Gauge({
      name: 'crackscope_capture_bytes',
      help: 'Bytes of saved captures, by who saved them (protected = curator, never evicted).',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        const q = quota();
        this.set({ kind: 'protected' }, q.protectedBytes);
        this.set({ kind: 'visitor' }, q.visitorBytes);
      },
    });
    new Gauge({
      name: 'crackscope_captures',
      help: 'Saved captures, by who saved them.',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        const q = quota();
        this.set({ kind: 'protected' }, q.protectedCount);
        this.set({ kind: 'visitor' }, q.visitorCount);
      },
    });
    gauge('crackscope_capture_quota_bytes', 'The capture quota (captureQuotaMb).', () => quota().quotaBytes);
    gauge('crackscope_capture_quota_full', '1 while protected captures fill the quota and visitor saves are refused.', () => (quota().full ? 1 : 0));
    counter('crackscope_capture_evictions_total', 'Visitor captures evicted to keep within the quota.', () => quota().evicted);
    new Counter({
      name: 'crackscope_capture_saves_refused_total',
      help: 'Visitor saves refused: quota-protected (protected captures fill the quota), rate-limit (too soon after the last ones).',
      labelNames: ['reason'] as const,
      registers,
      collect() {
        this.reset();
        this.inc({ reason: 'quota-protected' }, quota().refused);
        this.inc({ reason: 'rate-limit' }, refusals.rateLimited);
      },
    });
  }
  ctx.comparer?.registerMetrics(registry); // comparison and shadow models' agreement
  // kept from before the default collectors (add, never rename): dashboards may use them
  gauge('crackscope_rss_bytes', 'Resident memory of the daemon.', () => process.memoryUsage.rss());
  gauge('crackscope_heap_used_bytes', 'V8 heap in use (main thread).', () => process.memoryUsage().heapUsed);
  gauge('crackscope_external_bytes', 'Memory of Buffers and other objects outside the V8 heap.', () => process.memoryUsage().external);
  gauge(
    'crackscope_active_handles',
    'Active libuv handles and requests (sockets, timers, child processes, files).',
    () => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate').length,
  );
  gauge('crackscope_active_timers', 'Active timers.', () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length);
  return registry;
}
