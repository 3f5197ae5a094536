// csi://N — a Jetson CSI camera through nvarguscamerasrc. Argus is asked for 1280×720 at the
// configured rate (not more: nvvidconv would convert frames only to drop them, and a 30 fps cap
// limits exposure to 33 ms in dim interiors); nvvidconv crops the 16:9 frame to the model's aspect
// (centred; 5:3 keeps 1200×720) and scales in hardware (VIC, NVMM), then hands RGBA to system
// memory, since it cannot produce packed RGB itself. videorate stays only as a guard.
import { cropToAspect } from './crop.js';
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { fraction } from './test-pattern.js';

export const CSI_CAPTURE = { width: 1280, height: 720 };

export function csiPipeline(sensorId: string, g: FrameGeometry): GstPipelineSpec {
  if (!/^\d+$/.test(sensorId)) throw new Error(`csi:// needs a sensor number like csi://0, got ${JSON.stringify(sensorId)}`);
  const { width: cw, height: ch } = CSI_CAPTURE;
  const c = cropToAspect(cw, ch, g.width, g.height);
  // nvvidconv's left/right/top/bottom are the crop rectangle's edges, in source pixels
  return {
    elements: [
      'nvarguscamerasrc',
      `sensor-id=${sensorId}`,
      '!',
      `video/x-raw(memory:NVMM),width=${cw},height=${ch},framerate=${fraction(g.fps)}`,
      '!',
      'nvvidconv',
      `left=${c.left}`,
      `right=${cw - c.right}`,
      `top=${c.top}`,
      `bottom=${ch - c.bottom}`,
      '!',
      `video/x-raw,format=RGBA,width=${g.width},height=${g.height},pixel-aspect-ratio=1/1`,
      '!',
      'videorate',
      'drop-only=true',
      '!',
      `video/x-raw,framerate=${fraction(g.fps)}`,
      '!',
      'videoconvert',
    ],
    loops: false,
    crop: `${c.width}x${c.height} of ${cw}x${ch} (left ${c.left}, top ${c.top})`,
  };
}
