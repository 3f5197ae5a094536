// The daemon's HTTP app and WebSocket server in the test's own process, fed by a pipeline the test
// drives frame by frame. The modules are the real ones (express app, FrameStream, captures router,
// CaptureStore); only the camera and the model are replaced by frames the test chooses, so a test
// can ask exact questions (this frame, this threshold, this many frames to a slow viewer).
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../../server/config/load.js';
import type { Config, ConfigKey } from '../../server/config/schema.js';
import { admitUpgrade } from '../../server/http/admission.js';
import { createHttpApp } from '../../server/http/app.js';
import { validateManifest, type ModelManifest } from '../../server/inference/manifest.js';
import { createLogger } from '../../server/log/logger.js';
import type { FramePipeline } from '../../server/pipeline/frame-pipeline.js';
import { StageLatency } from '../../server/pipeline/stage-stats.js';
import { openServiceStores, type PipelineEvents, type PipelineStatus, type ProcessedFrame, type ServiceContext } from '../../server/service-context.js';
import { FrameStream } from '../../server/stream/ws-server.js';

export class FakePipeline extends EventEmitter<PipelineEvents> {
  readonly frames: ProcessedFrame[] = [];
  readonly counters = { inferenceErrors: 0 };
  readonly stageLatency = new StageLatency();
  state: PipelineStatus = { state: 'live', fps: 15, framesProcessed: 0, framesDropped: 0, badFrames: 0, lastFrameAt: 0 };
  status(): PipelineStatus {
    return { ...this.state };
  }
  recent(frameId?: number): ProcessedFrame | undefined {
    return frameId === undefined ? this.frames.at(-1) : this.frames.find((f) => f.frameId === frameId);
  }
  /** the send stage's times, one per frame handed to the viewers */
  readonly sendTimes: number[] = [];
  recordSend(ms: number): void {
    this.sendTimes.push(ms);
  }
  /** hands a processed frame to the stream (and keeps the last eight, as the real ring does) */
  publish(f: ProcessedFrame): void {
    this.frames.push(f);
    if (this.frames.length > 8) this.frames.shift();
    this.state = { ...this.state, framesProcessed: this.state.framesProcessed + 1, lastFrameAt: Date.now() };
    this.emit('frame', f);
  }
}

const TIMINGS = { capture: 1, preprocess: 1, inference: 1, postprocess: 1, encode: 1, send: 0, queue: 0 };

/** A processed frame with the given mask; its display image is a real JPEG of a flat grey. */
export async function makeFrame(frameId: number, width: number, height: number, mask: Uint8Array, jpeg?: Buffer): Promise<ProcessedFrame> {
  jpeg ??= await sharp({ create: { width, height, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .jpeg({ quality: 80 })
    .toBuffer();
  return { frameId, capturedAt: Date.now(), width, height, jpeg, mask, wireMask: { bytes: mask, encoding: 'raw' }, timings: { ...TIMINGS } };
}

/** The manifest of the fake model: 64×32 input, threshold 0.6 unless given. */
export function fakeManifest(manifest: { width?: number; height?: number; threshold?: number } = {}): ModelManifest {
  return validateManifest(
    {
      name: 'fake',
      version: '0.0.1-test',
      input: { name: 'image', dtype: 'uint8', layout: 'NHWC', height: manifest.height ?? 32, width: manifest.width ?? 64 },
      output: { name: 'mask', dtype: 'uint8', meaning: 'crack probability x 255', layout: 'NHW' },
      threshold: manifest.threshold ?? 0.6,
      params: 0,
      gflops: 0,
    },
    'fake.json',
  );
}

export interface InProcessService {
  url: string;
  port: number;
  config: Config;
  ctx: ServiceContext;
  pipeline: FakePipeline;
  stream: FrameStream;
  /** every log line, parsed */
  logs: Record<string, unknown>[];
  /** the log as written (for "never appears in the journal" checks) */
  journal(): string;
  close(): Promise<void>;
}

/** The real HTTP app + WebSocket server on a free port, with `flags` as command-line config values. */
export async function startInProcess(
  flags: Partial<Record<ConfigKey, unknown>> = {},
  manifest: { width?: number; height?: number; threshold?: number } = {},
): Promise<InProcessService> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-inproc-'));
  const config = loadConfig({ env: {}, flags: { dataDir, port: 0, ...flags } });
  const raw: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = createLogger('debug', {}, (l) => {
    raw.push(l);
    logs.push(JSON.parse(l));
  });
  const m = fakeManifest(manifest);
  const pipeline = new FakePipeline();
  const ctx: ServiceContext = { config, log, manifest: m, inference: { provider: 'cpu', providerLabel: 'CPU', fallbacks: [] }, pipeline };
  const stream = new FrameStream(ctx, pipeline as unknown as FramePipeline);
  const app = createHttpApp(ctx, pipeline as unknown as FramePipeline, stream, () => ({ framesRead: 0, framesDropped: 0, badFrames: 0, restarts: 0 }), {
    stores: openServiceStores(config, log),
  });
  const server = http.createServer(app);
  server.on('upgrade', (req, socket, head) => stream.handleUpgrade(req, socket, head, admitUpgrade(req, config)));
  await new Promise<void>((r) => server.listen(0, config.listen, () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    config,
    ctx,
    pipeline,
    stream,
    logs,
    journal: () => raw.join(''),
    async close() {
      await stream.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
