// rtsp://host/path — an IP camera. Live; reconnects are the generic restart-with-backoff.
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { fraction } from './test-pattern.js';

export function rtspPipeline(uri: string, g: FrameGeometry): GstPipelineSpec {
  return {
    elements: ['rtspsrc', `location=${uri}`, 'latency=200', 'protocols=tcp', '!', 'decodebin', '!', 'videoconvert', '!', 'videorate', 'drop-only=true', '!', `video/x-raw,framerate=${fraction(g.fps)}`],
    loops: false,
  };
}
