// rtsp://host/path — an IP camera. Live; reconnects are the generic restart-with-backoff.
// On a Jetson decodebin picks nvv4l2decoder (rank PRIMARY+11), whose output is NV12 in NVMM memory,
// which videoconvert cannot take: nvvidconv (NVMM or system memory in, system memory out) goes first.
import { onJetson } from './crop.js';
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { fraction } from './test-pattern.js';

/** After decodebin: copy out of NVMM on a Jetson, else nothing. */
export function afterDecodebin(jetson = onJetson()): string[] {
  return jetson ? ['!', 'nvvidconv', '!', 'video/x-raw,format=RGBA'] : [];
}

export function rtspPipeline(uri: string, g: FrameGeometry, jetson = onJetson()): GstPipelineSpec {
  return {
    elements: [
      'rtspsrc',
      `location=${uri}`,
      'latency=200',
      'protocols=tcp',
      '!',
      'decodebin',
      ...afterDecodebin(jetson),
      '!',
      'videoconvert',
      '!',
      'videorate',
      'drop-only=true',
      '!',
      `video/x-raw,framerate=${fraction(g.fps)}`,
    ],
    loops: false,
  };
}
