// csi://N — a Jetson CSI camera through nvarguscamerasrc; nvvidconv scales in hardware (NVMM) and
// hands RGBA to system memory, since it cannot produce packed RGB itself.
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { fraction } from './test-pattern.js';

export function csiPipeline(sensorId: string, g: FrameGeometry): GstPipelineSpec {
  if (!/^\d+$/.test(sensorId)) throw new Error(`csi:// needs a sensor number like csi://0, got ${JSON.stringify(sensorId)}`);
  return {
    elements: [
      'nvarguscamerasrc', `sensor-id=${sensorId}`, '!', `video/x-raw(memory:NVMM),width=1280,height=720,framerate=${fraction(Math.max(g.fps, 30))}`,
      '!', 'nvvidconv', '!', `video/x-raw,format=RGBA,width=${g.width},height=${g.height}`,
      '!', 'videorate', 'drop-only=true', '!', `video/x-raw,framerate=${fraction(g.fps)}`, '!', 'videoconvert',
    ],
    loops: false,
  };
}
