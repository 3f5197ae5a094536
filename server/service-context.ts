// What the daemon's parts share. Built once in server/cli/serve.ts and handed to each module.
import type { EventEmitter } from 'node:events';
import type { Config } from './config/schema.js';
import type { Logger } from './log/logger.js';
import { CaptureStore } from './storage/captures.js';
import { CalibrationStore } from './storage/calibration.js';
import { LazyCampaignStore } from './campaign/lazy-store.js';
import type { ModelManifest } from './inference/manifest.js';
import type { ProviderFallback, ProviderName, ServiceState, StageTimings } from './protocol/wire-format.js';
import type { EncodedMask } from './protocol/mask-encoding.js';
import type { FrameComparison, FrameComparer } from './pipeline/compare.js';

/** A frame after inference: what the stream sends and what a capture saves. */
export interface ProcessedFrame {
  frameId: number;
  /** ms since epoch when the frame left the source */
  capturedAt: number;
  width: number;
  height: number;
  /** display image, JPEG */
  jpeg: Buffer;
  /** crack probability ×255, width×height, row-major */
  mask: Uint8Array;
  /** the same mask as it goes on the wire, in the configured encoding (encoded once, when published) */
  wireMask: EncodedMask;
  timings: StageTimings;
  /** the comparison models' masks and agreement on this frame (serve --compare) */
  comparisons?: FrameComparison[];
}

export interface InferenceInfo {
  provider: ProviderName;
  /** e.g. "TensorRT FP16", "CPU" */
  providerLabel: string;
  fallbacks: ProviderFallback[];
}

export type { ServiceState };

export interface PipelineStatus {
  state: ServiceState;
  reason?: string;
  fps: number;
  framesProcessed: number;
  framesDropped: number;
  badFrames: number;
  /** ms since epoch of the last processed frame, 0 if none yet */
  lastFrameAt: number;
}

/** What the pipeline emits: every processed frame, and its status whenever that changes. */
export type PipelineEvents = { frame: [ProcessedFrame]; status: [PipelineStatus] };

/** The running pipeline. */
export interface PipelineHandle extends EventEmitter<PipelineEvents> {
  status(): PipelineStatus;
  /** the time one frame took to hand to every viewer (the 'send' stage) */
  recordSend(ms: number): void;
  /** How long the oldest unfinished model run has been going (ms, 0 when idle): the watchdog's view of the inference worker. */
  inferenceBusyMs?(): number;
  /** A recently processed frame by id (a small ring is kept, so a frozen kiosk frame can be saved), or the latest. */
  recent(frameId?: number): ProcessedFrame | undefined;
}

export interface ServiceContext {
  config: Config;
  log: Logger;
  manifest: ModelManifest;
  inference: InferenceInfo;
  pipeline: PipelineHandle;
  /** comparison and shadow models, when configured */
  comparer?: FrameComparer;
}

/**
 * The daemon's stores, one of each: the HTTP routes, /healthz and /metrics read the same capture
 * store (its quota state), and shutdown closes the campaign connection. Surveys have no store of
 * their own: the routes read config.surveyDir, which `crackscope survey` writes.
 */
export interface ServiceStores {
  captures: CaptureStore;
  calibration: CalibrationStore;
  /** the campaign Redis of `serve --worker-redis` (connected on first use), null without one */
  campaigns: LazyCampaignStore | null;
}

/** Builds the stores for `config` (nothing is read or connected yet: the capture store indexes on init()). */
export function openServiceStores(config: Config, log: Logger): ServiceStores {
  return {
    captures: new CaptureStore({ dataDir: config.dataDir, quotaMb: config.captureQuotaMb, log: log.child({ module: 'captures' }) }),
    calibration: new CalibrationStore(config.dataDir, log.child({ module: 'captures' })),
    campaigns: config.workerRedis ? new LazyCampaignStore(config.workerRedis, { name: 'crackscope-serve-kiosk', timeoutMs: 3000 }) : null,
  };
}
