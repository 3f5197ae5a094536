// file:///path/video.mp4 — decoded by decodebin; restarted at end of stream so it loops.
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { fraction } from './test-pattern.js';

export function videoFilePipeline(file: string, g: FrameGeometry): GstPipelineSpec {
  return {
    elements: ['filesrc', `location=${file}`, '!', 'decodebin', '!', 'videoconvert', '!', 'videorate', '!', `video/x-raw,framerate=${fraction(g.fps)}`],
    loops: true,
    requiredPaths: [file],
  };
}
