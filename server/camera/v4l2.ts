// v4l2:///dev/videoN — a USB/UVC camera through v4l2src. A live source: frames come at the camera's pace.
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { fraction } from './test-pattern.js';

export function v4l2Pipeline(device: string, g: FrameGeometry): GstPipelineSpec {
  if (!/^\/dev\/video\d+$/.test(device)) throw new Error(`v4l2:// needs a device like v4l2:///dev/video0, got ${device}`);
  return {
    elements: ['v4l2src', `device=${device}`, '!', 'videoconvert', '!', 'videorate', 'drop-only=true', '!', `video/x-raw,framerate=${fraction(g.fps)}`],
    loops: false,
    requiredPaths: [device],
  };
}
