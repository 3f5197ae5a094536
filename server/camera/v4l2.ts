// v4l2:///dev/videoN — a USB/UVC camera through v4l2src. A live source: frames come at the camera's pace.
// Caps are asked for explicitly: left alone, v4l2src picks the largest raw mode (1080p YUYV at
// ~5 fps on USB 2, then a software scale on one core). Even attempts ask for MJPEG 1280×720 at the
// configured rate (decoded by jpegdec); odd attempts — after a failure, e.g. a camera without
// MJPEG — fall back to raw 640×480. The frame is cropped to the model's aspect before scaling.
import { cropToAspect } from './crop.js';
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { fraction } from './test-pattern.js';

export function v4l2Pipeline(device: string, g: FrameGeometry, attempt = 0): GstPipelineSpec {
  if (!/^\/dev\/video\d+$/.test(device)) throw new Error(`v4l2:// needs a device like v4l2:///dev/video0, got ${device}`);
  const mjpeg = attempt % 2 === 0;
  const [cw, ch] = mjpeg ? [1280, 720] : [640, 480];
  const c = cropToAspect(cw, ch, g.width, g.height);
  const head = mjpeg
    ? ['v4l2src', `device=${device}`, '!', `image/jpeg,width=${cw},height=${ch},framerate=${fraction(Math.max(1, Math.round(g.fps)))}`, '!', 'jpegdec']
    : ['v4l2src', `device=${device}`, '!', `video/x-raw,width=${cw},height=${ch}`];
  return {
    elements: [
      ...head,
      '!',
      'videoconvert',
      '!',
      'videocrop',
      `left=${c.left}`,
      `right=${c.right}`,
      `top=${c.top}`,
      `bottom=${c.bottom}`,
      '!',
      'videorate',
      'drop-only=true',
      '!',
      `video/x-raw,framerate=${fraction(g.fps)}`,
    ],
    loops: false,
    requiredPaths: [device],
    crop: `${c.width}x${c.height} of ${cw}x${ch} ${mjpeg ? 'MJPEG' : 'raw'} (left ${c.left}, top ${c.top})`,
  };
}
