// GET /metrics in the Prometheus text format.
import type { FramePipeline } from '../pipeline/frame-pipeline.js';
import { BUCKETS_MS } from '../pipeline/stage-stats.js';
import type { ServiceContext } from '../service-context.js';
import type { FrameStream } from '../stream/ws-server.js';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(ctx: ServiceContext, pipeline: FramePipeline, stream: FrameStream, sourceStats: () => Record<string, unknown>): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, lines: string[]) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  const st = pipeline.status();
  const src = sourceStats() as { framesRead: number; restarts: number };
  metric('crackscope_frames_processed_total', 'counter', 'Frames that went through the model.', [`crackscope_frames_processed_total ${st.framesProcessed}`]);
  metric('crackscope_frames_dropped_total', 'counter', 'Frames the source delivered that were replaced by a newer one before the model was free.', [`crackscope_frames_dropped_total ${st.framesDropped}`]);
  metric('crackscope_frames_read_total', 'counter', 'Frames read from the capture process.', [`crackscope_frames_read_total ${src.framesRead}`]);
  metric('crackscope_bad_frames_total', 'counter', 'Short or corrupt frames discarded.', [`crackscope_bad_frames_total ${st.badFrames}`]);
  metric('crackscope_source_restarts_total', 'counter', 'Capture process restarts.', [`crackscope_source_restarts_total ${src.restarts}`]);
  metric('crackscope_inference_errors_total', 'counter', 'Failed model runs.', [`crackscope_inference_errors_total ${pipeline.counters.inferenceErrors}`]);
  metric('crackscope_fps', 'gauge', 'Processed frames per second over the last 3 s.', [`crackscope_fps ${st.fps.toFixed(2)}`]);
  metric('crackscope_up', 'gauge', '1 while frames flow.', [`crackscope_up ${st.state === 'live' ? 1 : 0}`]);
  metric('crackscope_provider_info', 'gauge', 'The execution provider that runs the model.', [
    `crackscope_provider_info{provider="${ctx.inference.provider}",label="${esc(ctx.inference.providerLabel)}",model="${esc(ctx.manifest.name)}",version="${esc(ctx.manifest.version)}"} 1`,
  ]);
  metric('crackscope_clients', 'gauge', 'Connected WebSocket viewers.', [`crackscope_clients ${stream.clients.size}`]);
  metric('crackscope_ws_frames_sent_total', 'counter', 'Frame messages sent to viewers.', [`crackscope_ws_frames_sent_total ${stream.counters.framesSent}`]);
  metric('crackscope_ws_frames_skipped_total', 'counter', 'Frame messages skipped for slow viewers.', [`crackscope_ws_frames_skipped_total ${stream.counters.framesSkipped}`]);
  metric('crackscope_ws_clients_dropped_total', 'counter', 'Viewers dropped for not reading.', [`crackscope_ws_clients_dropped_total ${stream.counters.clientsDropped}`]);
  metric('crackscope_ws_messages_rejected_total', 'counter', 'Invalid or rate-limited client messages.', [`crackscope_ws_messages_rejected_total ${stream.counters.messagesRejected}`]);
  const lines: string[] = [];
  for (const [stage, s] of Object.entries(pipeline.stats)) {
    BUCKETS_MS.forEach((le, i) => lines.push(`crackscope_stage_latency_ms_bucket{stage="${stage}",le="${le}"} ${s.buckets[i]}`));
    lines.push(`crackscope_stage_latency_ms_bucket{stage="${stage}",le="+Inf"} ${s.count}`);
    lines.push(`crackscope_stage_latency_ms_sum{stage="${stage}"} ${s.sum.toFixed(3)}`);
    lines.push(`crackscope_stage_latency_ms_count{stage="${stage}"} ${s.count}`);
  }
  metric('crackscope_stage_latency_ms', 'histogram', 'Per-stage latency in milliseconds.', lines);
  const mem = process.memoryUsage();
  metric('crackscope_rss_bytes', 'gauge', 'Resident memory of the daemon.', [`crackscope_rss_bytes ${mem.rss}`]);
  metric('crackscope_heap_used_bytes', 'gauge', 'V8 heap in use (main thread).', [`crackscope_heap_used_bytes ${mem.heapUsed}`]);
  metric('crackscope_external_bytes', 'gauge', 'Memory of Buffers and other objects outside the V8 heap.', [`crackscope_external_bytes ${mem.external}`]);
  const resources = process.getActiveResourcesInfo();
  metric('crackscope_active_handles', 'gauge', 'Active libuv handles and requests (sockets, timers, child processes, files).', [
    `crackscope_active_handles ${resources.filter((r) => r !== 'Timeout' && r !== 'Immediate').length}`,
  ]);
  metric('crackscope_active_timers', 'gauge', 'Active timers.', [`crackscope_active_timers ${resources.filter((r) => r === 'Timeout').length}`]);
  return out.join('\n') + '\n';
}
