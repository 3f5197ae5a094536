// The one small interface every camera backend meets (jetson-utils' videoSource, by URI).
import type { EventEmitter } from 'node:events';

export interface FrameGeometry {
  /** model input size: frames arrive as RGB uint8 width×height×3 */
  width: number;
  height: number;
  fps: number;
}

/** One captured frame. `rgb` belongs to the source's pool: call release() when done with it. */
export interface RawFrame {
  seq: number;
  /** ms since epoch when the whole frame had arrived from the capture process */
  capturedAt: number;
  /** ms spent reading this frame from the capture process */
  readMs: number;
  rgb: Buffer;
  release(): void;
}

export type SourceState = 'starting' | 'running' | 'restarting' | 'stopped';

/**
 * Emits 'state' ({state, reason}) and 'badframe' (reason) as they happen.
 * nextFrame() resolves with the newest frame not yet taken (waiting for one if needed).
 */
export interface FrameSource extends EventEmitter {
  readonly uri: string;
  /** 'live' sources (cameras, streams) run at their own pace; 'paced' ones (files, patterns) deliver on demand. */
  readonly mode: 'live' | 'paced';
  start(): void;
  nextFrame(signal?: AbortSignal): Promise<RawFrame>;
  stop(): Promise<void>;
  stats(): { framesRead: number; framesDropped: number; badFrames: number; restarts: number; state: SourceState; reason?: string; pid?: number };
}

/** What a backend module turns a URI into. */
export interface GstPipelineSpec {
  /** gst-launch-1.0 arguments up to (not including) the final RGB caps + fdsink */
  elements: string[];
  /** a clean end of stream is normal (a video file): restart at once instead of backing off */
  loops: boolean;
  /** files to check before each start; a missing one is reported as the reason */
  requiredPaths?: string[];
  /** inputs left out because they cannot be decoded (newly found ones only): counted as bad frames */
  skipped?: string[];
  /** the part of the camera frame kept (cropped to the model's aspect), for the log */
  crop?: string;
  cleanup?(): void;
}

export class SourceUriError extends Error {
  readonly exitCode = 78;
}
