// file:///path/video.mp4 — decoded by decodebin; restarted at end of stream so it loops.
// On a Jetson decodebin's NVMM output goes through nvvidconv first (see rtsp.ts).
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { afterDecodebin } from './rtsp.js';
import { onJetson } from './crop.js';
import { fraction } from './test-pattern.js';

export function videoFilePipeline(file: string, g: FrameGeometry, jetson = onJetson()): GstPipelineSpec {
  return {
    elements: [
      'filesrc',
      `location=${file}`,
      '!',
      'decodebin',
      ...afterDecodebin(jetson),
      '!',
      'videoconvert',
      '!',
      'videorate',
      '!',
      `video/x-raw,framerate=${fraction(g.fps)}`,
    ],
    loops: true,
    requiredPaths: [file],
  };
}
